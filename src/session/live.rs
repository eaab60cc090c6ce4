//! What the live view knows, built from pipeline events: the signal history (columnar, bounded), the predictions
//! of the session, alerts and status. Plain data, so it is tested without a UI.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::model::{AccelUnit, ModelCard};
use crate::monitor::SensorLayout;
use crate::monitor::alerts::Alert;
use crate::pipeline::{LivePrediction, LoadedModel, Status};
use crate::source::{LabelSpan, SampleBatch, SourceInfo, SourceKind};

/// Samples kept for the signal plots: one hour at 50 Hz.
pub const SIGNAL_CAPACITY: usize = 50 * 3600;
/// Predictions kept for the timeline.
pub const PREDICTION_CAPACITY: usize = 200_000;
/// Alerts kept in the log.
pub const ALERT_CAPACITY: usize = 1000;
/// Signal gaps kept for the plots.
pub const GAP_CAPACITY: usize = 1000;

/// Columnar ring of recent samples.
#[derive(Debug, Clone, Default)]
pub struct SignalHistory {
    pub time: VecDeque<f64>,
    pub channels: Vec<VecDeque<f32>>,
    capacity: usize,
}

impl SignalHistory {
    pub fn new(channels: usize, capacity: usize) -> Self {
        SignalHistory { time: VecDeque::new(), channels: vec![VecDeque::new(); channels], capacity }
    }

    pub fn clear(&mut self) {
        self.time.clear();
        self.channels.iter_mut().for_each(VecDeque::clear);
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn push(&mut self, batch: &SampleBatch) {
        if batch.channels.len() != self.channels.len() {
            *self = SignalHistory::new(batch.channels.len(), self.capacity);
        }
        self.time.extend(&batch.time);
        for (dst, src) in self.channels.iter_mut().zip(&batch.channels) {
            dst.extend(src);
        }
        let excess = self.time.len().saturating_sub(self.capacity);
        if excess > 0 {
            self.time.drain(..excess);
            for c in &mut self.channels {
                c.drain(..excess.min(c.len()));
            }
        }
    }

    /// Index range of the samples with time in `[t0, t1]`.
    pub fn range(&self, t0: f64, t1: f64) -> std::ops::Range<usize> {
        let start = self.time.partition_point(|&t| t < t0);
        let end = self.time.partition_point(|&t| t <= t1);
        start..end.max(start)
    }

    /// `range` cut at the gaps: the index ranges of the samples between them.
    pub fn pieces(
        &self,
        range: std::ops::Range<usize>,
        gaps: impl Iterator<Item = (f64, f64)>,
    ) -> Vec<std::ops::Range<usize>> {
        let mut pieces = Vec::new();
        let mut start = range.start;
        for (_, after) in gaps {
            // The first sample after the gap starts a new piece.
            let cut = self.time.partition_point(|&t| t < after).clamp(start, range.end);
            if cut > start {
                pieces.push(start..cut);
            }
            start = cut;
        }
        if range.end > start {
            pieces.push(start..range.end);
        }
        pieces
    }

    /// Points of channel `c` in `range`, reduced to at most about `2 × buckets` points: the minimum and maximum of
    /// each bucket, in time order, so peaks survive however long the range.
    pub fn decimated(&self, c: usize, range: std::ops::Range<usize>, buckets: usize) -> Vec<[f64; 2]> {
        let Some(values) = self.channels.get(c) else { return Vec::new() };
        let n = range.len();
        let buckets = buckets.max(1);
        if n <= 2 * buckets {
            return range.map(|i| [self.time[i], f64::from(values[i])]).collect();
        }
        let mut out = Vec::with_capacity(2 * buckets + 2);
        for b in 0..buckets {
            let lo = range.start + b * n / buckets;
            let hi = range.start + (b + 1) * n / buckets;
            if lo >= hi {
                continue;
            }
            let (mut imin, mut imax) = (lo, lo);
            for i in lo..hi {
                if values[i] < values[imin] {
                    imin = i;
                }
                if values[i] > values[imax] {
                    imax = i;
                }
            }
            let (a, b2) = if imin <= imax { (imin, imax) } else { (imax, imin) };
            out.push([self.time[a], f64::from(values[a])]);
            if b2 != a {
                out.push([self.time[b2], f64::from(values[b2])]);
            }
        }
        out
    }
}

/// A fired alert with the wall-clock time it reached the UI.
#[derive(Debug, Clone)]
pub struct LoggedAlert {
    pub alert: Alert,
    pub wall: chrono::DateTime<chrono::Local>,
}

/// Everything the live view shows.
#[derive(Debug, Default)]
pub struct LiveState {
    pub model: Option<Arc<LoadedModel>>,
    pub source: Option<SourceInfo>,
    pub label_track: Option<Arc<Vec<LabelSpan>>>,
    pub signals: SignalHistory,
    pub predictions: VecDeque<LivePrediction>,
    pub alerts: VecDeque<LoggedAlert>,
    pub status: Status,
    pub errors: Vec<String>,
    pub ended: bool,
    /// Latest source time seen (end of the newest samples).
    pub now: f64,
    /// Breaks in the signal (a live link that dropped, a device reboot): (last sample before, first after), in
    /// source seconds. The plots leave them empty and shade them.
    pub gaps: VecDeque<(f64, f64)>,
    /// The folder being recorded into, while a recording runs.
    pub recording: Option<std::path::PathBuf>,
    /// What the recorder last reported (started, stopped with its counts, failed).
    pub last_recording: Option<crate::pipeline::recorder::RecordingEvent>,
}

impl LiveState {
    /// The live link's status (from the last `Status` event), `None` for replay and simulation.
    pub fn link(&self) -> Option<&crate::source::link::LinkStatus> {
        self.status.link.as_deref()
    }

    /// True when the source is a live device whose link is not up now.
    pub fn link_down(&self) -> bool {
        self.link().is_some_and(|l| l.state != crate::source::link::LinkState::Connected)
    }

    /// True when the source is a live device (serial, BLE): no seeking, no speed, no loop.
    pub fn is_live_device(&self) -> bool {
        self.source.as_ref().is_some_and(|s| matches!(s.kind, SourceKind::Serial | SourceKind::Ble))
    }

    /// The gaps that overlap `[t0, t1]`.
    pub fn gaps_in(&self, t0: f64, t1: f64) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.gaps.iter().copied().filter(move |&(a, b)| b >= t0 && a <= t1)
    }
}

/// Channels plotted together: one sensor's axes, found from the card's channel names.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalGroup {
    pub title: &'static str,
    /// The unit the values are in (the card's, to which loading converts).
    pub unit: String,
    /// Indices into the card's channels.
    pub channels: Vec<usize>,
}

/// The card's channels grouped by sensor ([`SensorLayout`]): the accelerometer's axes, the gyroscope's, and any
/// channel that is neither (or every channel in one group when the names say nothing).
pub fn signal_groups(card: &ModelCard) -> Vec<SignalGroup> {
    let layout = SensorLayout::from_channel_names(&card.channels);
    let accel_unit = match card.units.accel {
        AccelUnit::MetersPerSecond2 => "m/s²".to_string(),
        AccelUnit::AsIs => "as recorded".to_string(),
        other => other.as_str().to_string(),
    };
    let mut groups = Vec::new();
    if let Some(axes) = layout.accel {
        groups.push(SignalGroup { title: "accelerometer", unit: accel_unit, channels: axes.to_vec() });
    }
    if let Some(axes) = layout.gyro {
        groups.push(SignalGroup { title: "gyroscope", unit: card.units.gyro.clone(), channels: axes.to_vec() });
    }
    let known: Vec<usize> = groups.iter().flat_map(|g| g.channels.iter().copied()).collect();
    let rest: Vec<usize> = (0..card.channels.len()).filter(|c| !known.contains(c)).collect();
    if !rest.is_empty() {
        let title = if known.is_empty() { "signals" } else { "other channels" };
        groups.push(SignalGroup { title, unit: String::new(), channels: rest });
    }
    groups
}

impl LiveState {
    pub fn new() -> Self {
        LiveState { signals: SignalHistory::new(6, SIGNAL_CAPACITY), ..Default::default() }
    }

    /// The newest prediction.
    pub fn current(&self) -> Option<&LivePrediction> {
        self.predictions.back()
    }

    pub fn classes(&self) -> &[String] {
        self.model.as_ref().map(|m| m.card.classes.as_slice()).unwrap_or(&[])
    }

    pub fn class_name(&self, i: usize) -> &str {
        self.classes().get(i).map(String::as_str).unwrap_or("?")
    }

    /// Applies one pipeline event.
    pub fn apply(&mut self, event: crate::pipeline::Event) {
        use crate::pipeline::Event;
        match event {
            Event::ModelLoaded(info) => {
                self.signals = SignalHistory::new(info.card.channels.len(), SIGNAL_CAPACITY);
                self.predictions.clear();
                self.model = Some(info);
            }
            Event::SourceOpened { info, labels } => {
                self.source = Some(info);
                self.label_track = labels;
                self.signals.clear();
                self.predictions.clear();
                self.gaps.clear();
                self.ended = false;
                self.now = 0.0;
            }
            Event::SourceClosed => {
                self.source = None;
                self.label_track = None;
                self.status.link = None;
                self.status.playing = false;
            }
            Event::Samples(batch) => {
                let period = self.model.as_ref().map_or(0.02, |m| 1.0 / m.card.sample_rate_hz);
                if let (Some(&last), Some(&first)) = (self.signals.time.back(), batch.time.first())
                    && batch.starts_segment
                    && first - last > crate::data::GAP_PERIODS * period
                {
                    if self.gaps.len() == GAP_CAPACITY {
                        self.gaps.pop_front();
                    }
                    self.gaps.push_back((last, first));
                }
                if let Some(&t) = batch.time.last() {
                    self.now = t;
                }
                self.signals.push(&batch);
            }
            Event::Recording(event) => {
                use crate::pipeline::recorder::RecordingEvent;
                match &event {
                    RecordingEvent::Started { dir } => self.recording = Some(dir.clone()),
                    RecordingEvent::Stopped { .. } | RecordingEvent::Failed { .. } => self.recording = None,
                }
                self.last_recording = Some(event);
            }
            Event::Prediction(p) => {
                // After a backwards seek, predictions from the future of the new position are replaced.
                while self.predictions.back().is_some_and(|q| q.t_end > p.t_start + 1e-9 && q.t_start >= p.t_start) {
                    self.predictions.pop_back();
                }
                if self.predictions.len() == PREDICTION_CAPACITY {
                    self.predictions.pop_front();
                }
                self.predictions.push_back(p);
            }
            Event::Alert(alert) => {
                if self.alerts.len() == ALERT_CAPACITY {
                    self.alerts.pop_front();
                }
                self.alerts.push_back(LoggedAlert { alert, wall: chrono::Local::now() });
            }
            Event::Seeked { position } => {
                self.signals.clear();
                self.gaps.clear();
                self.now = position;
                self.ended = false;
                // Predictions at or after the new position will come again.
                while self.predictions.back().is_some_and(|q| q.t_end > position) {
                    self.predictions.pop_back();
                }
            }
            Event::Status(s) => self.status = s,
            Event::Ended => self.ended = true,
            Event::DriftStatus { .. } | Event::DriftChunk(_) | Event::DriftRolling(_) => {}
            Event::Error(e) => self.errors.push(e),
        }
    }

    /// Prediction whose span (its last `step` seconds) covers time `t`.
    pub fn prediction_at(&self, t: f64, step_s: f64) -> Option<&LivePrediction> {
        let i = self.predictions.partition_point(|p| p.t_end < t);
        self.predictions.get(i).filter(|p| p.t_end - step_s.min(p.t_end - p.t_start) <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(t0: f64, n: usize) -> SampleBatch {
        let time: Vec<f64> = (0..n).map(|i| t0 + i as f64 * 0.02).collect();
        let ch: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        SampleBatch { time, channels: vec![ch; 6], labels: None, starts_segment: false }
    }

    fn card_with_channels(channels: &[&str]) -> ModelCard {
        let json = serde_json::json!({
            "classes": ["a", "b"], "channels": channels, "sample_rate_hz": 50.0, "window": 200,
            "scaler": {"mean": vec![0.0; channels.len()], "scale": vec![1.0; channels.len()]}
        });
        ModelCard::from_json(&json.to_string(), std::path::Path::new("m.model.json")).unwrap()
    }

    #[test]
    fn signal_groups_follow_the_card_not_the_column_order() {
        // Gyroscope first in the card: the old fixed 0..3 / 3..6 split plotted it as the accelerometer.
        let groups = signal_groups(&card_with_channels(&["gyro_x", "gyro_y", "gyro_z", "Ax", "Ay", "Az"]));
        let summary: Vec<(&str, Vec<usize>)> = groups.iter().map(|g| (g.title, g.channels.clone())).collect();
        assert_eq!(summary, [("accelerometer", vec![3, 4, 5]), ("gyroscope", vec![0, 1, 2])]);
        assert_eq!(groups[0].unit, "m/s²");
        assert_eq!(groups[1].unit, "deg/s");
        // Channels the names say nothing about are plotted together.
        let groups = signal_groups(&card_with_channels(&["Ax", "Ay", "Az", "temperature"]));
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[1].title, groups[1].channels.clone()), ("other channels", vec![3]));
    }

    #[test]
    fn history_is_bounded_and_columnar() {
        let mut h = SignalHistory::new(6, 100);
        h.push(&batch(0.0, 80));
        h.push(&batch(1.6, 80));
        assert_eq!(h.len(), 100);
        assert!(h.channels.iter().all(|c| c.len() == 100));
        assert!((h.time[0] - 1.2).abs() < 1e-9, "oldest samples dropped first");
    }

    #[test]
    fn decimation_keeps_extremes_and_bounds_points() {
        let mut h = SignalHistory::new(1, 100_000);
        let n = 50_000;
        let time: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut v: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.01).sin()).collect();
        v[12_345] = 40.0;
        v[33_333] = -40.0;
        h.push(&SampleBatch { time, channels: vec![v], labels: None, starts_segment: false });
        let pts = h.decimated(0, h.range(0.0, n as f64), 500);
        assert!(pts.len() <= 1000, "{}", pts.len());
        assert!(pts.iter().any(|p| p[1] == 40.0) && pts.iter().any(|p| p[1] == -40.0), "spikes survive");
        assert!(pts.windows(2).all(|w| w[0][0] <= w[1][0]), "time order");
        let few = h.decimated(0, h.range(10.0, 20.0), 500);
        assert_eq!(few.len(), 11, "short ranges are not decimated");
    }
}
