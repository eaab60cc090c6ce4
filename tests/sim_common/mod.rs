//! Helpers shared by the simulator tests: runs of the streaming simulator and a Goertzel spectrum.
#![allow(dead_code)]

use har_monitor::sim::{Script, SensorSim, SimProfile, SimSample};

pub const RATE: f64 = 50.0;
pub const G: f64 = 9.80665;

pub fn class_index(name: &str) -> usize {
    har_monitor::classes::THESIS_CLASSES.iter().position(|c| *c == name).unwrap()
}

/// `seconds` of one user doing only `class` from the first sample on (one continuous bout), classic profile.
pub fn fixed_run(class: &str, user: u32, seed: u64, seconds: f64) -> Vec<SimSample> {
    fixed_run_in(SimProfile::Classic, class, user, seed, seconds)
}

/// As [`fixed_run`] in the given profile.
pub fn fixed_run_in(profile: SimProfile, class: &str, user: u32, seed: u64, seconds: f64) -> Vec<SimSample> {
    let mut sim = SensorSim::with_profile(seed, user, profile);
    sim.set_script(Script::Fixed(class_index(class))).unwrap();
    let out: Vec<SimSample> = (0..(seconds * RATE) as usize).map(|_| sim.next_sample()).collect();
    assert!(out.iter().all(|s| s.activity == class_index(class)), "the run holds only {class}");
    out
}

/// `seconds` of one user in bouts of `class` only (each bout with its own posture variant and movement), through
/// class weights that allow no other behaviour; classic profile.
pub fn only_class_run(class: &str, user: u32, seed: u64, seconds: f64) -> Vec<SimSample> {
    only_class_run_in(SimProfile::Classic, class, user, seed, seconds)
}

/// As [`only_class_run`] in the given profile.
pub fn only_class_run_in(profile: SimProfile, class: &str, user: u32, seed: u64, seconds: f64) -> Vec<SimSample> {
    let mut weights = [0.0; har_monitor::sim::CLASS_COUNT];
    weights[class_index(class)] = 1.0;
    let mut sim = SensorSim::with_profile(seed, user, profile);
    let class_weights = Some(har_monitor::sim::ClassWeights::new(weights).unwrap());
    sim.set_drift(har_monitor::sim::DriftOptions { class_weights, ..Default::default() }).unwrap();
    (0..(seconds * RATE) as usize).map(|_| sim.next_sample()).collect()
}

pub fn channel(samples: &[SimSample], c: usize) -> Vec<f64> {
    samples.iter().map(|s| f64::from(s.values[c])).collect()
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

pub fn std(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

pub fn mean_vector(samples: &[SimSample], first: usize) -> [f64; 3] {
    [mean(&channel(samples, first)), mean(&channel(samples, first + 1)), mean(&channel(samples, first + 2))]
}

/// Power of `x` (mean removed) at `freq` Hz by the Goertzel recurrence, normalised by the length.
pub fn goertzel(x: &[f64], freq: f64) -> f64 {
    let m = mean(x);
    let w = 2.0 * std::f64::consts::PI * freq / RATE;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for v in x {
        let s0 = (v - m) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / x.len() as f64
}

/// Power spectrum summed over the given channels, averaged over 10 s segments, at `lo..=hi` Hz in 0.1 Hz steps.
pub fn spectrum(samples: &[SimSample], channels: &[usize], lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let seg = (10.0 * RATE) as usize;
    let steps = ((hi - lo) / 0.1).round() as usize;
    (0..=steps)
        .map(|k| {
            let f = lo + k as f64 * 0.1;
            let mut p = 0.0;
            for c in channels {
                let x = channel(samples, *c);
                for chunk in x.chunks_exact(seg) {
                    p += goertzel(chunk, f);
                }
            }
            (f, p)
        })
        .collect()
}

/// Frequency (Hz) of the largest power in `lo..=hi`.
pub fn dominant_frequency(samples: &[SimSample], channels: &[usize], lo: f64, hi: f64) -> f64 {
    spectrum(samples, channels, lo, hi).into_iter().fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a }).0
}

/// Share of the power in `lo..hi` Hz among 0.3..20 Hz.
pub fn band_share(samples: &[SimSample], channels: &[usize], lo: f64, hi: f64) -> f64 {
    let s = spectrum(samples, channels, 0.3, 20.0);
    let total: f64 = s.iter().map(|p| p.1).sum();
    s.iter().filter(|p| p.0 >= lo && p.0 < hi).map(|p| p.1).sum::<f64>() / total
}

/// Angle in degrees between two vectors.
pub fn angle_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
    let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let na = (a.iter().map(|v| v * v).sum::<f64>()).sqrt();
    let nb = (b.iter().map(|v| v * v).sum::<f64>()).sqrt();
    (dot / (na * nb)).clamp(-1.0, 1.0).acos().to_degrees()
}
