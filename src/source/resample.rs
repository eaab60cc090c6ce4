//! Resampling a device's samples to the model card's rate by linear interpolation on the device timestamps.
//!
//! IMUs commonly run at 52, 100 or 104 Hz while the model reads 50 Hz windows. The resampler looks at the first
//! [`DECIDE_SAMPLES`] samples of each segment: when their mean step is within [`PASS_TOLERANCE`] of the target period
//! the samples pass through untouched (a 50 Hz device reaches the windower sample for sample); otherwise each output
//! sample at `t0 + k / rate` is interpolated between the two device samples around it. Segments (a reboot, a gap, a
//! reconnect) are resampled on their own, so no output sample is made up across a break.
//!
//! The virtual device uses the same code the other way, to play the 50 Hz simulator at 52 or 104 Hz.

use super::protocol::DecodedSample;

/// Samples a segment's rate is judged from (about a third of a second at 50 Hz).
pub const DECIDE_SAMPLES: usize = 16;
/// Relative difference between the device's and the target period below which samples pass through.
pub const PASS_TOLERANCE: f64 = 0.01;

/// How the current segment is handled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResampleMode {
    /// Still collecting the first samples of the segment.
    Deciding,
    /// The device runs at the target rate: samples pass unchanged.
    PassThrough,
    /// The device runs at `device_hz`: samples are interpolated to the target rate.
    Interpolate { device_hz: f64 },
}

/// A streaming resampler to a fixed rate. Feed samples in time order; segment starts are marked on the samples.
#[derive(Debug, Clone)]
pub struct Resampler {
    period: f64,
    mode: ResampleMode,
    /// The first samples of a segment, held while deciding.
    pending: Vec<DecodedSample>,
    /// The last input sample (interpolation's left end).
    prev: Option<DecodedSample>,
    /// Time of the segment's first output sample and the index of the next output sample after it.
    grid_start: f64,
    next_k: u64,
    /// The next output sample starts a segment.
    segment_open: bool,
}

impl Resampler {
    /// A resampler to `rate_hz` (a positive, finite rate; anything else is taken as 50 Hz).
    pub fn new(rate_hz: f64) -> Resampler {
        let rate = if rate_hz.is_finite() && rate_hz > 0.0 { rate_hz } else { 50.0 };
        Resampler {
            period: 1.0 / rate,
            mode: ResampleMode::Deciding,
            pending: Vec::with_capacity(DECIDE_SAMPLES),
            prev: None,
            grid_start: 0.0,
            next_k: 0,
            segment_open: false,
        }
    }

    /// The target rate in Hz.
    pub fn rate_hz(&self) -> f64 {
        1.0 / self.period
    }

    /// How the current segment is being handled.
    pub fn mode(&self) -> ResampleMode {
        self.mode
    }

    /// Takes one input sample; appends the output samples it completes to `out`.
    pub fn push(&mut self, sample: DecodedSample, out: &mut Vec<DecodedSample>) {
        if sample.starts_segment || self.prev.is_none() && self.pending.is_empty() {
            self.finish_segment(out);
            self.mode = ResampleMode::Deciding;
            self.segment_open = true;
        }
        match self.mode {
            ResampleMode::Deciding => {
                self.pending.push(sample);
                if self.pending.len() >= DECIDE_SAMPLES {
                    self.decide(out);
                }
            }
            ResampleMode::PassThrough => self.pass(sample, out),
            ResampleMode::Interpolate { .. } => self.interpolate(sample, out),
        }
    }

    /// Releases the samples held while deciding (the stream ended or paused); the segment stays open.
    pub fn flush(&mut self, out: &mut Vec<DecodedSample>) {
        if self.mode == ResampleMode::Deciding && !self.pending.is_empty() {
            self.decide(out);
        }
    }

    /// Ends the current segment: what was held is released, and the next sample starts afresh.
    fn finish_segment(&mut self, out: &mut Vec<DecodedSample>) {
        self.flush(out);
        self.prev = None;
        self.next_k = 0;
    }

    /// Chooses pass-through or interpolation from the held samples' mean step, then processes them.
    fn decide(&mut self, out: &mut Vec<DecodedSample>) {
        let held = std::mem::take(&mut self.pending);
        self.mode = match (held.first(), held.last()) {
            (Some(first), Some(last)) if held.len() >= 2 && last.t > first.t => {
                let step = (last.t - first.t) / (held.len() - 1) as f64;
                if ((step - self.period) / self.period).abs() <= PASS_TOLERANCE {
                    ResampleMode::PassThrough
                } else {
                    ResampleMode::Interpolate { device_hz: 1.0 / step }
                }
            }
            // One sample (or no time span) tells nothing: pass it on.
            _ => ResampleMode::PassThrough,
        };
        for sample in held {
            match self.mode {
                ResampleMode::Interpolate { .. } => self.interpolate(sample, out),
                _ => self.pass(sample, out),
            }
        }
        self.pending = Vec::with_capacity(DECIDE_SAMPLES);
    }

    fn pass(&mut self, mut sample: DecodedSample, out: &mut Vec<DecodedSample>) {
        sample.starts_segment = std::mem::take(&mut self.segment_open);
        self.prev = Some(sample.clone());
        out.push(sample);
    }

    fn interpolate(&mut self, sample: DecodedSample, out: &mut Vec<DecodedSample>) {
        let Some(prev) = self.prev.take() else {
            // The segment's first sample is its first output sample.
            self.grid_start = sample.t;
            self.next_k = 1;
            self.pass(sample, out);
            return;
        };
        let span = sample.t - prev.t;
        if span > 0.0 {
            loop {
                let g = self.grid_start + self.next_k as f64 * self.period;
                if g > sample.t {
                    break;
                }
                let w = ((g - prev.t) / span) as f32;
                let values = prev.values.iter().zip(&sample.values).map(|(a, b)| a + w * (b - a)).collect();
                let starts_segment = std::mem::take(&mut self.segment_open);
                out.push(DecodedSample { t: g, values, starts_segment, timeless: sample.timeless });
                self.next_k += 1;
            }
        }
        // A sample at the same time as the last one adds nothing (the decoder already drops repeated times).
        self.prev = Some(if span > 0.0 { sample } else { prev });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, v: f32, starts: bool) -> DecodedSample {
        DecodedSample { t, values: vec![v, -v], starts_segment: starts, timeless: false }
    }

    fn run(r: &mut Resampler, input: impl IntoIterator<Item = DecodedSample>) -> Vec<DecodedSample> {
        let mut out = Vec::new();
        for s in input {
            r.push(s, &mut out);
        }
        r.flush(&mut out);
        out
    }

    #[test]
    fn a_device_at_the_target_rate_passes_through_unchanged() {
        let input: Vec<_> = (0..100).map(|i| sample(i as f64 * 0.02, (i as f32).sin(), i == 0)).collect();
        let mut r = Resampler::new(50.0);
        let out = run(&mut r, input.clone());
        assert_eq!(out, input);
        assert_eq!(r.mode(), ResampleMode::PassThrough);
    }

    #[test]
    fn a_104_hz_sine_becomes_a_50_hz_sine_within_the_interpolation_error() {
        let f = 1.3; // Hz
        let signal = |t: f64| (std::f64::consts::TAU * f * t).sin() as f32;
        let input: Vec<_> = (0..1040).map(|i| sample(i as f64 / 104.0, signal(i as f64 / 104.0), i == 0)).collect();
        let mut r = Resampler::new(50.0);
        let out = run(&mut r, input);
        match r.mode() {
            ResampleMode::Interpolate { device_hz } => assert!((device_hz - 104.0).abs() < 1e-6, "{device_hz}"),
            other => panic!("{other:?}"),
        }
        // 10 s at 50 Hz: samples at 0, 0.02, ..., up to the last input time (1039/104 s).
        assert_eq!(out.len(), (1039.0 / 104.0 * 50.0) as usize + 1);
        // Linear interpolation errs by at most h²/8 · max|f''| with h = 1/104 s.
        let bound = (1.0 / 104.0f64).powi(2) / 8.0 * (std::f64::consts::TAU * f).powi(2) + 1e-6;
        for (k, s) in out.iter().enumerate() {
            assert!((s.t - k as f64 * 0.02).abs() < 1e-9, "sample {k} at {}", s.t);
            assert!(((s.values[0] - signal(s.t)) as f64).abs() <= bound, "sample {k}: {} vs {}", s.values[0], signal(s.t));
            assert_eq!(s.values[1], -s.values[0]);
            assert_eq!(s.starts_segment, k == 0);
        }
    }

    #[test]
    fn a_50_hz_signal_played_at_52_hz_comes_back_at_50_hz() {
        let mut up = Resampler::new(52.0);
        let base: Vec<_> = (0..500).map(|i| sample(i as f64 * 0.02, (i as f32 * 0.1).cos(), i == 0)).collect();
        let at_52 = run(&mut up, base);
        assert!(matches!(up.mode(), ResampleMode::Interpolate { device_hz } if (device_hz - 50.0).abs() < 1e-6));
        let mut down = Resampler::new(50.0);
        let back = run(&mut down, at_52.clone());
        assert!(matches!(down.mode(), ResampleMode::Interpolate { device_hz } if (device_hz - 52.0).abs() < 1e-6));
        let span = at_52.last().map_or(0.0, |s| s.t);
        assert_eq!(back.len(), (span / 0.02 + 1e-9) as usize + 1);
    }

    #[test]
    fn segments_are_resampled_on_their_own_and_keep_their_start_marks() {
        let mut input: Vec<_> = (0..40).map(|i| sample(i as f64 / 104.0, 1.0, i == 0)).collect();
        // A reconnect 2 s later; the new segment's grid starts at its own first sample.
        input.extend((0..40).map(|i| sample(2.5 + i as f64 / 104.0, 2.0, i == 0)));
        let mut r = Resampler::new(50.0);
        let out = run(&mut r, input);
        let starts: Vec<f64> = out.iter().filter(|s| s.starts_segment).map(|s| s.t).collect();
        assert_eq!(starts, vec![0.0, 2.5]);
        // No sample between the segments and none mixing their values.
        assert!(out.iter().all(|s| s.t < 39.0 / 104.0 + 1e-9 || s.t >= 2.5));
        assert!(out.iter().all(|s| if s.t < 2.0 { s.values[0] == 1.0 } else { s.values[0] == 2.0 }));
    }

    #[test]
    fn a_short_segment_is_released_when_the_next_one_starts() {
        let mut r = Resampler::new(50.0);
        let mut out = Vec::new();
        for i in 0..3 {
            r.push(sample(i as f64 * 0.02, 1.0, i == 0), &mut out);
        }
        assert!(out.is_empty(), "still deciding");
        r.push(sample(5.0, 2.0, true), &mut out);
        assert_eq!(out.len(), 3);
        assert!(out[0].starts_segment && !out[1].starts_segment);
    }
}
