//! The drift monitor on synthetic wrist-IMU windows built here from simple physics: each behaviour has a posture
//! (gravity direction in the watch frame), a wrist oscillation (rotation about an axis at a frequency, which the
//! gyroscope sees as angular rate) and a linear shake; users differ in posture and vigour; the sensor adds white
//! noise. A nearest-centroid "model" trained on reference windows gives the probabilities, so that sensor changes
//! also change predictions the way a real model's would. Sensor changes (rotation about z, units, noise, gyro bias)
//! must raise `input_drift`; another behaviour mix with the same sensor must not.

mod common;

use std::f64::consts::PI;

use har_monitor::classes::THESIS_CLASSES;
use har_monitor::model::ModelCard;
use har_monitor::monitor::{
    Baseline, ChunkReport, DriftConfig, DriftMonitor, DriftReport, InputCheck, WindowObservation, drift_report,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const WINDOW: usize = 200;
const RATE: f64 = 50.0;
const G: f64 = 9.80665;
const ACCEL_NOISE: f64 = 0.04;
const GYRO_NOISE: f64 = 0.25;

/// One behaviour: posture, wrist oscillation and linear shake.
struct Behaviour {
    gravity: [f64; 3],
    wobble_axis: [f64; 3],
    wobble_deg: f64,
    frequency_hz: f64,
    shake: [f64; 3],
}

fn behaviours() -> Vec<Behaviour> {
    let b = |gravity, wobble_axis, wobble_deg, frequency_hz, shake| Behaviour {
        gravity: normalise(gravity),
        wobble_axis: normalise(wobble_axis),
        wobble_deg,
        frequency_hz,
        shake,
    };
    vec![
        b([0.6, 0.5, -0.3], [0.0, 0.0, 1.0], 15.0, 2.5, [0.8, 0.0, 0.0]), // ear_rubbing
        b([0.7, -0.2, -0.5], [0.0, 1.0, 0.0], 12.0, 2.0, [0.0, 0.8, 0.0]), // forehead_rubbing
        b([0.8, 0.4, 0.2], [1.0, 0.0, 0.0], 20.0, 0.8, [0.0, 0.0, 1.2]),  // hair_pulling
        b([-0.2, 0.1, 0.95], [0.0, 0.0, 1.0], 8.0, 4.0, [1.5, 0.0, 0.0]), // hand_scratching
        b([0.1, -0.3, 0.95], [0.0, 1.0, 0.0], 10.0, 5.0, [0.0, 0.0, 3.0]), // hand_tapping
        b([0.0, 0.7, 0.7], [1.0, 0.0, 0.0], 25.0, 1.2, [0.5, 0.5, 0.0]),  // knuckles_cracking
        b([0.9, -0.1, -0.2], [0.0, 1.0, 0.0], 6.0, 3.0, [0.0, 0.0, 0.6]), // nail_biting
        b([0.5, 0.8, -0.2], [0.0, 0.0, 1.0], 18.0, 1.8, [0.6, 0.0, 0.0]), // nape_rubbing
        b([0.1, 0.0, 0.99], [1.0, 0.0, 0.0], 1.0, 0.25, [0.0, 0.0, 0.02]), // sitting
        b([0.6, -0.6, 0.3], [0.0, 1.0, 0.0], 35.0, 0.3, [0.3, 0.0, 0.0]), // smoking
        b([-0.95, 0.15, 0.25], [0.0, 1.0, 0.0], 1.5, 0.3, [0.02, 0.0, 0.0]), // standing
    ]
}

fn normalise(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Rotates `v` by `angle` (radians) about the unit `axis` (Rodrigues).
fn rotate(v: [f64; 3], axis: [f64; 3], angle: f64) -> [f64; 3] {
    let (s, c) = angle.sin_cos();
    let k = cross(axis, v);
    let dot = axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2];
    [0, 1, 2].map(|i| v[i] * c + k[i] * s + axis[i] * dot * (1.0 - c))
}

/// A wearer: how their postures and vigour differ from the textbook.
struct User {
    posture_axis: [f64; 3],
    posture_tilt: f64,
    vigour: f64,
    tempo: f64,
}

fn user(rng: &mut ChaCha8Rng) -> User {
    let axis = normalise([rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5]);
    User {
        posture_axis: axis,
        posture_tilt: (rng.random::<f64>() * 10.0).to_radians(),
        vigour: 0.8 + 0.4 * rng.random::<f64>(),
        tempo: 0.9 + 0.2 * rng.random::<f64>(),
    }
}

/// What happens to the sensor or its mounting.
#[derive(Clone, Copy, Default)]
struct SensorChange {
    rotate_z_deg: f64,
    accel_divisor: Option<f64>,
    noise_scale: Option<f64>,
    gyro_bias: Option<f64>,
}

/// One window of behaviour `class` by `user`: `[t][Ax Ay Az Gx Gy Gz]`, accel in m/s², gyro in deg/s.
fn window(rng: &mut ChaCha8Rng, b: &Behaviour, user: &User, change: SensorChange) -> Vec<f32> {
    let noise_scale = change.noise_scale.unwrap_or(1.0);
    let accel_noise = Normal::new(0.0, ACCEL_NOISE * noise_scale).unwrap();
    let gyro_noise = Normal::new(0.0, GYRO_NOISE * noise_scale).unwrap();
    let posture = rotate(b.gravity, user.posture_axis, user.posture_tilt);
    let frequency = b.frequency_hz * user.tempo;
    let amplitude = (b.wobble_deg * user.vigour * (0.85 + 0.3 * rng.random::<f64>())).to_radians();
    let phase = 2.0 * PI * rng.random::<f64>();
    let shake_phase = 2.0 * PI * rng.random::<f64>();
    let (rs, rc) = change.rotate_z_deg.to_radians().sin_cos();
    let mut out = Vec::with_capacity(WINDOW * 6);
    for t in 0..WINDOW {
        let time = t as f64 / RATE;
        let w = 2.0 * PI * frequency;
        let angle = amplitude * (w * time + phase).sin();
        let rate = amplitude * w * (w * time + phase).cos();
        let gravity = rotate(posture, b.wobble_axis, angle);
        let shake = (w * time + shake_phase).sin() * user.vigour;
        let mut accel = [0, 1, 2].map(|i| G * gravity[i] + b.shake[i] * shake + accel_noise.sample(rng));
        let mut gyro = [0, 1, 2].map(|i| (b.wobble_axis[i] * rate).to_degrees() + gyro_noise.sample(rng));
        // The watch turned on the wrist by an angle about its z axis: both sensors see the rotated frame.
        for v in [&mut accel, &mut gyro] {
            let (x, y) = (v[0], v[1]);
            v[0] = rc * x - rs * y;
            v[1] = rs * x + rc * y;
        }
        if let Some(divisor) = change.accel_divisor {
            accel = accel.map(|a| a / divisor);
        }
        if let Some(bias) = change.gyro_bias {
            gyro = gyro.map(|g| g + bias);
        }
        out.extend(accel.iter().chain(&gyro).map(|&v| v as f32));
    }
    out
}

/// A labelled window and its raw values.
struct Sample {
    raw: Vec<f32>,
    label: usize,
}

/// `count` windows from `users` new wearers, behaviours drawn with `weights` (uniform when `None`).
fn stream(seed: u64, count: usize, users: usize, weights: Option<&[f64]>, change: SensorChange) -> Vec<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let behaviours = behaviours();
    let wearers: Vec<User> = (0..users).map(|_| user(&mut rng)).collect();
    let uniform = vec![1.0; behaviours.len()];
    let weights = weights.unwrap_or(&uniform);
    let total: f64 = weights.iter().sum();
    (0..count)
        .map(|i| {
            let wearer = &wearers[i * users / count];
            let mut pick = rng.random::<f64>() * total;
            let mut label = 0;
            for (c, w) in weights.iter().enumerate() {
                if pick < *w {
                    label = c;
                    break;
                }
                pick -= w;
            }
            Sample { raw: window(&mut rng, &behaviours[label], wearer, change), label }
        })
        .collect()
}

/// A small stand-in for the real network: nearest centroid on posture, vigour and tempo features, trained on
/// reference windows. Softmax over negative squared standardised distances.
struct ToyModel {
    centroids: Vec<Vec<f64>>,
    scale: Vec<f64>,
}

fn model_features(raw: &[f32]) -> Vec<f64> {
    let rows: Vec<[f64; 6]> = raw.chunks_exact(6).map(|r| std::array::from_fn(|i| f64::from(r[i]))).collect();
    let n = rows.len() as f64;
    let mean = |i: usize| rows.iter().map(|r| r[i]).sum::<f64>() / n;
    let accel_mean = [mean(0), mean(1), mean(2)];
    let norm = accel_mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-9);
    let magnitude: Vec<f64> = rows.iter().map(|r| (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]).sqrt()).collect();
    let m_mean = magnitude.iter().sum::<f64>() / n;
    let m_std = (magnitude.iter().map(|m| (m - m_mean).powi(2)).sum::<f64>() / n).sqrt();
    let gyro_rms = (rows.iter().map(|r| r[3] * r[3] + r[4] * r[4] + r[5] * r[5]).sum::<f64>() / n).sqrt();
    // Tempo: zero crossings of the most active gyroscope axis.
    let axis = (3..6).max_by(|&a, &b| {
        let var = |i: usize| rows.iter().map(|r| (r[i] - mean(i)).powi(2)).sum::<f64>();
        var(a).total_cmp(&var(b))
    });
    let axis = axis.unwrap_or(3);
    let centre = mean(axis);
    let crossings = rows.windows(2).filter(|w| (w[0][axis] - centre) * (w[1][axis] - centre) < 0.0).count();
    vec![
        accel_mean[0] / norm,
        accel_mean[1] / norm,
        accel_mean[2] / norm,
        (m_std + 0.05).ln(),
        (gyro_rms + 0.5).ln(),
        crossings as f64 / (2.0 * WINDOW as f64 / RATE),
    ]
}

impl ToyModel {
    fn train(samples: &[Sample], classes: usize) -> ToyModel {
        let features: Vec<Vec<f64>> = samples.iter().map(|s| model_features(&s.raw)).collect();
        let dims = features[0].len();
        let scale: Vec<f64> = (0..dims)
            .map(|d| {
                let m = features.iter().map(|f| f[d]).sum::<f64>() / features.len() as f64;
                (features.iter().map(|f| (f[d] - m).powi(2)).sum::<f64>() / features.len() as f64).sqrt()
            })
            .collect();
        let centroids = (0..classes)
            .map(|c| {
                let of_class: Vec<&Vec<f64>> =
                    samples.iter().zip(&features).filter(|(s, _)| s.label == c).map(|(_, f)| f).collect();
                (0..dims).map(|d| of_class.iter().map(|f| f[d]).sum::<f64>() / of_class.len() as f64).collect()
            })
            .collect();
        ToyModel { centroids, scale }
    }

    fn probabilities(&self, raw: &[f32]) -> Vec<f32> {
        let f = model_features(raw);
        let logits: Vec<f64> = self
            .centroids
            .iter()
            .map(|c| -c.iter().zip(&f).zip(&self.scale).map(|((c, x), s)| ((x - c) / s).powi(2)).sum::<f64>())
            .collect();
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.iter().map(|e| (e / sum) as f32).collect()
    }
}

fn card() -> ModelCard {
    let json = serde_json::json!({
        "name": "synthetic", "version": "1",
        "classes": THESIS_CLASSES, "channels": ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"],
        "sample_rate_hz": RATE, "window": WINDOW,
        "scaler": {"mean": [0, 0, 0, 0, 0, 0], "scale": [1, 1, 1, 1, 1, 1]}
    });
    ModelCard::from_json(&json.to_string(), std::path::Path::new("synthetic.model.json")).unwrap()
}

/// The reference set-up shared by the tests: a toy model trained on one set of wearers, and a baseline built from
/// another reference recording.
struct Setup {
    model: ToyModel,
    baseline: Baseline,
}

fn setup() -> Setup {
    let training = stream(1, 2200, 8, None, SensorChange::default());
    let model = ToyModel::train(&training, THESIS_CLASSES.len());
    let reference = stream(2, 1650, 6, None, SensorChange::default());
    let probabilities: Vec<Vec<f32>> = reference.iter().map(|s| model.probabilities(&s.raw)).collect();
    let observations = reference.iter().zip(&probabilities).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: Some(s.label),
    });
    let baseline = Baseline::build(&card(), observations).unwrap();
    Setup { model, baseline }
}

fn run(setup: &Setup, samples: &[Sample]) -> DriftReport {
    let probabilities: Vec<Vec<f32>> = samples.iter().map(|s| setup.model.probabilities(&s.raw)).collect();
    let observations = samples.iter().zip(&probabilities).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: None,
    });
    drift_report(setup.baseline.clone(), "synthetic.baseline.json", DriftConfig::default(), observations).unwrap()
}

fn describe(chunk: &ChunkReport) -> String {
    format!(
        "windows {}..{}: js {:.3} prediction_drift {} input_drift {} evidence {:?} notes {:#?}",
        chunk.start_window,
        chunk.end_window(),
        chunk.js_distance,
        chunk.prediction_drift,
        chunk.input_drift,
        chunk.evidence,
        chunk.notes
    )
}

/// Three full chunks (450 windows) of new wearers, the given behaviour mix and sensor change.
fn three_chunks(setup: &Setup, seed: u64, weights: Option<&[f64]>, change: SensorChange) -> Vec<ChunkReport> {
    let report = run(setup, &stream(seed, 450, 3, weights, change));
    assert_eq!(report.chunks.len(), 3);
    for chunk in &report.chunks {
        eprintln!("{}", describe(chunk));
    }
    report.chunks
}

fn weights(pairs: &[(&str, f64)]) -> Vec<f64> {
    THESIS_CLASSES.iter().map(|c| pairs.iter().find(|(name, _)| name == c).map(|(_, w)| *w).unwrap_or(0.0)).collect()
}

#[test]
fn same_sensor_and_mix_with_new_wearers_is_not_input_drift() {
    let setup = setup();
    for chunk in three_chunks(&setup, 10, None, SensorChange::default()) {
        assert!(!chunk.input_drift, "{}", describe(&chunk));
        assert!(chunk.notes.iter().all(|n| !n.contains("rotated")), "{:?}", chunk.notes);
    }
}

#[test]
fn same_mix_in_a_long_chunk_is_not_prediction_drift() {
    // With 11 classes, 150 windows drawn from the very baseline mix already give js_distance ≈ 0.11 on average
    // (multinomial sampling noise, see the report), so the 0.1 threshold is only meaningful on longer chunks.
    let setup = setup();
    let samples = stream(19, 900, 4, None, SensorChange::default());
    let probabilities: Vec<Vec<f32>> = samples.iter().map(|s| setup.model.probabilities(&s.raw)).collect();
    let observations = samples.iter().zip(&probabilities).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: None,
    });
    let config = DriftConfig { chunk_windows: 900, ..Default::default() };
    let report = drift_report(setup.baseline.clone(), "b.json", config, observations).unwrap();
    let chunk = &report.chunks[0];
    assert!(!chunk.prediction_drift && !chunk.input_drift, "{}", describe(chunk));
    assert!(chunk.chi2_p > 0.001, "{}", describe(chunk));
}

#[test]
fn watch_rotated_60_degrees_about_z_is_input_drift_with_the_angle() {
    let setup = setup();
    let change = SensorChange { rotate_z_deg: 60.0, ..Default::default() };
    for chunk in three_chunks(&setup, 11, None, change) {
        assert!(chunk.input_drift, "{}", describe(&chunk));
        assert!(chunk.evidence.fired.contains(&InputCheck::MountRotation), "{}", describe(&chunk));
        let angle = chunk.evidence.rotation.unwrap().angle_deg;
        assert!((angle - 60.0).abs() <= 5.0, "estimated {angle}° for a 60° rotation");
        assert!(chunk.notes.iter().any(|n| n.contains("rotated") && n.contains("about z")), "{:?}", chunk.notes);
    }
}

#[test]
fn rotations_of_minus_30_and_180_degrees_are_found_with_their_sign() {
    let setup = setup();
    for degrees in [-30.0, 180.0] {
        let change = SensorChange { rotate_z_deg: degrees, ..Default::default() };
        let report = run(&setup, &stream(22, 150, 2, None, change));
        let chunk = &report.chunks[0];
        assert!(chunk.evidence.fired.contains(&InputCheck::MountRotation), "{}", describe(chunk));
        let angle = chunk.evidence.rotation.unwrap().angle_deg;
        let error = (angle - degrees + 540.0).rem_euclid(360.0) - 180.0;
        assert!(error.abs() <= 5.0, "estimated {angle}° for a {degrees}° rotation");
    }
}

#[test]
fn a_small_rotation_within_what_wearers_differ_by_is_not_input_drift() {
    let setup = setup();
    let change = SensorChange { rotate_z_deg: 8.0, ..Default::default() };
    for chunk in three_chunks(&setup, 23, None, change) {
        assert!(!chunk.input_drift, "{}", describe(&chunk));
    }
}

#[test]
fn accelerometer_in_g_instead_of_m_s2_is_input_drift_named_as_units() {
    let setup = setup();
    let change = SensorChange { accel_divisor: Some(G), ..Default::default() };
    for chunk in three_chunks(&setup, 12, None, change) {
        assert!(chunk.input_drift, "{}", describe(&chunk));
        assert!(chunk.evidence.fired.contains(&InputCheck::AccelScale), "{}", describe(&chunk));
        let scale = chunk.evidence.accel_scale.unwrap();
        assert!((scale * G - 1.0).abs() < 0.05, "magnitude ratio {scale}");
        assert!(chunk.notes.iter().any(|n| n.contains("units look like g")), "{:?}", chunk.notes);
    }
}

#[test]
fn a_ten_percent_gain_error_is_input_drift() {
    let setup = setup();
    let change = SensorChange { accel_divisor: Some(1.0 / 1.15), ..Default::default() };
    for chunk in three_chunks(&setup, 13, None, change) {
        assert!(chunk.evidence.fired.contains(&InputCheck::AccelScale), "{}", describe(&chunk));
    }
}

#[test]
fn three_times_the_sensor_noise_is_input_drift() {
    let setup = setup();
    let change = SensorChange { noise_scale: Some(3.0), ..Default::default() };
    for chunk in three_chunks(&setup, 14, None, change) {
        assert!(chunk.input_drift, "{}", describe(&chunk));
        let fired = &chunk.evidence.fired;
        assert!(fired.contains(&InputCheck::AccelNoise) || fired.contains(&InputCheck::GyroNoise), "{fired:?}");
        let ratio = chunk.evidence.accel_noise_ratio.unwrap();
        assert!(ratio > 2.0, "accelerometer noise ratio {ratio}");
    }
}

#[test]
fn a_gyroscope_bias_is_input_drift() {
    let setup = setup();
    let change = SensorChange { gyro_bias: Some(3.0), ..Default::default() };
    for chunk in three_chunks(&setup, 15, None, change) {
        assert!(chunk.input_drift, "{}", describe(&chunk));
        assert!(chunk.evidence.fired.contains(&InputCheck::GyroOffset), "{}", describe(&chunk));
        let offset = chunk.evidence.gyro_offset.unwrap();
        for axis in offset {
            assert!((axis - 3.0).abs() < 0.75, "offset {offset:?} for a bias of 3 deg/s on each axis");
        }
    }
}

#[test]
fn another_behaviour_mix_with_the_same_sensor_is_prediction_drift_only() {
    let setup = setup();
    let mix = weights(&[("sitting", 5.0), ("standing", 3.0), ("smoking", 2.0), ("nail_biting", 1.0)]);
    for chunk in three_chunks(&setup, 16, Some(&mix), SensorChange::default()) {
        assert!(chunk.prediction_drift, "{}", describe(&chunk));
        assert!(!chunk.input_drift, "{}", describe(&chunk));
    }
}

#[test]
fn only_vigorous_behaviours_with_the_same_sensor_is_not_input_drift() {
    let setup = setup();
    let mix = weights(&[("hand_tapping", 3.0), ("hand_scratching", 2.0), ("knuckles_cracking", 2.0)]);
    for chunk in three_chunks(&setup, 17, Some(&mix), SensorChange::default()) {
        assert!(chunk.prediction_drift, "{}", describe(&chunk));
        assert!(!chunk.input_drift, "{}", describe(&chunk));
    }
}

#[test]
fn a_single_behaviour_all_chunk_long_is_not_input_drift() {
    let setup = setup();
    for name in ["sitting", "hair_pulling"] {
        let mix = weights(&[(name, 1.0)]);
        for chunk in three_chunks(&setup, 18, Some(&mix), SensorChange::default()) {
            assert!(!chunk.input_drift, "{name}: {}", describe(&chunk));
        }
    }
}

#[test]
fn report_json_has_exactly_the_spec_keys_and_a_short_last_chunk_has_no_verdict() {
    let setup = setup();
    let change = SensorChange { rotate_z_deg: 90.0, ..Default::default() };
    let report = run(&setup, &stream(20, 170, 2, None, change));
    assert_eq!(report.chunks.len(), 2);
    let last = &report.chunks[1];
    assert_eq!((last.start_window, last.windows), (150, 20));
    assert!(!last.input_drift && !last.prediction_drift, "no verdict under 30 windows");
    assert!(
        report.notes.iter().any(|n| n.starts_with("windows 150–169") && n.contains("no verdict")),
        "{:#?}",
        report.notes
    );
    assert!(report.chunks[0].input_drift, "a 90° rotation in the full chunk");

    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&json), ["baseline", "chunks", "notes"]);
    assert_eq!(json["baseline"], "synthetic.baseline.json");
    let mut spec_chunk = common::spec::DRIFT_CHUNK_KEYS.to_vec();
    // docs/FORMATS.md §4's keys, and `input_checks`: the measurements behind `input_drift` (an addition the original contract is silent on).
    spec_chunk.push("input_checks");
    // And `performance`: the label-free performance estimate (issue 13).
    spec_chunk.push("performance");
    spec_chunk.sort();
    let mut spec_channel = common::spec::DRIFT_CHANNEL_KEYS.to_vec();
    spec_channel.sort();
    for chunk in json["chunks"].as_array().unwrap() {
        assert_eq!(keys(chunk), spec_chunk);
        let shares: Vec<f64> =
            chunk["class_distribution"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(shares.len(), THESIS_CLASSES.len());
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let channels = chunk["channels"].as_array().unwrap();
        assert_eq!(channels.len(), 6);
        assert_eq!(channels[0]["channel"], "Ax");
        for channel in channels {
            assert_eq!(keys(channel), spec_channel);
        }
    }
}

#[test]
fn live_monitor_closes_chunks_and_rolls_over_the_last_chunk_of_windows() {
    let setup = setup();
    let samples = stream(21, 200, 2, None, SensorChange::default());
    let config = DriftConfig { chunk_windows: 80, ..Default::default() };
    let mut monitor = DriftMonitor::new(setup.baseline.clone(), config).unwrap();
    assert!(monitor.rolling().is_none());
    let mut closed = Vec::new();
    for s in &samples {
        let p = setup.model.probabilities(&s.raw);
        if let Some(chunk) =
            monitor.push(WindowObservation { raw: &s.raw, probabilities: &p, true_label: None }).unwrap()
        {
            closed.push((chunk.start_window, chunk.windows));
        }
    }
    assert_eq!(closed, [(0, 80), (80, 80)]);
    assert_eq!(monitor.open_windows(), 40);
    let rolling = monitor.rolling().unwrap();
    assert_eq!((rolling.start_window, rolling.windows), (120, 80), "the last 80 windows");
    let last = monitor.finish().unwrap();
    assert_eq!((last.start_window, last.windows), (160, 40));
    assert_eq!(monitor.closed_chunks().len(), 3);
}

#[test]
fn a_window_of_the_wrong_shape_is_refused_with_its_index() {
    let setup = setup();
    let mut monitor = DriftMonitor::new(setup.baseline.clone(), DriftConfig::default()).unwrap();
    let p = vec![1.0 / 11.0; 11];
    let raw = vec![0.0f32; WINDOW * 6];
    monitor.push(WindowObservation { raw: &raw, probabilities: &p, true_label: None }).unwrap();
    let err = monitor.push(WindowObservation { raw: &raw[..600], probabilities: &p, true_label: None }).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("window 1:") && message.contains("600"), "{message}");
    let mut bad = raw.clone();
    bad[7] = f32::NAN;
    let err = monitor.push(WindowObservation { raw: &bad, probabilities: &p, true_label: None }).unwrap_err();
    assert!(err.to_string().contains("row 1, channel 1"), "{err}");
}

#[test]
fn baseline_round_trips_through_its_file_and_names_the_file_in_errors() {
    let setup = setup();
    let b = &setup.baseline;
    assert_eq!(b.windows, 1650);
    assert!((b.predicted_distribution.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!((b.true_distribution.as_ref().unwrap().iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!((b.confidence_histogram.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(b.channel_stats[2].channel, "Az");
    assert!(b.channel_stats.iter().all(|c| c.sample.len() == har_monitor::monitor::CHANNEL_SAMPLE_SIZE));
    assert_eq!(b.window_features.len(), 1650);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.baseline.json");
    b.save(&path).unwrap();
    let loaded = Baseline::load(&path).unwrap();
    // serde_json reads floats back to within an ulp or so, not always bit for bit.
    assert_eq!((&loaded.classes, &loaded.channels, loaded.windows), (&b.classes, &b.channels, b.windows));
    assert_eq!(loaded.predicted_counts, b.predicted_counts);
    assert_eq!(loaded.window_features.len(), b.window_features.len());
    for (l, o) in loaded.channel_stats.iter().zip(&b.channel_stats) {
        assert_eq!(l.sample, o.sample);
        assert!((l.mean - o.mean).abs() <= 1e-12 * o.mean.abs().max(1.0) && (l.std - o.std).abs() <= 1e-12 * o.std);
    }
    loaded.check_card(&card(), &path).unwrap();

    let mut other = card();
    other.classes.swap(0, 1);
    let err = loaded.check_card(&other, &path).unwrap_err().to_string();
    assert!(err.contains("synthetic.baseline.json") && err.contains("classes"), "{err}");

    std::fs::write(&path, "{\"format\": \"har-drift-baseline/1\"").unwrap();
    let err = Baseline::load(&path).unwrap_err().to_string();
    assert!(err.contains("synthetic.baseline.json"), "{err}");
    let err = Baseline::load(&dir.path().join("missing.baseline.json")).unwrap_err().to_string();
    assert!(err.contains("missing.baseline.json"), "{err}");
}

#[test]
fn the_baseline_is_the_same_for_the_same_reference_data() {
    let first = setup();
    let again = setup();
    assert_eq!(first.baseline, again.baseline);
}

#[test]
fn baseline_path_follows_the_card() {
    let mut card = card();
    let model = std::path::Path::new("/models/demo.onnx");
    assert_eq!(Baseline::path_for_model(model, &card), std::path::Path::new("/models/demo.baseline.json"));
    card.baseline = Some("other.baseline.json".into());
    assert_eq!(Baseline::path_for_model(model, &card), std::path::Path::new("/models/other.baseline.json"));
}

/// The `drift` JSON and the drift view say the same thing about the same chunks: the view's state is fed as the
/// live pipeline feeds it (every window, a rolling report now and then, the chunk when it closes) and at every
/// closed chunk its verdict and check readings equal the JSON chunk's `verdict` and `checks`.
#[test]
fn drift_json_carries_the_verdict_and_checks_the_drift_view_shows() {
    use std::sync::Arc;

    use har_monitor::pipeline::{DriftStatus, Event, LivePrediction, LoadedModel};
    use har_monitor::session::drift::{DriftState, WindowTiming, judge_report};

    let setup = setup();
    let mut samples = stream(30, 150, 2, None, SensorChange::default());
    samples.extend(stream(31, 300, 2, None, SensorChange { rotate_z_deg: 60.0, ..Default::default() }));
    let probabilities: Vec<Vec<f32>> = samples.iter().map(|s| setup.model.probabilities(&s.raw)).collect();
    let timing: Vec<WindowTiming> = probabilities
        .iter()
        .enumerate()
        .map(|(i, p)| WindowTiming {
            t_start: i as f64 * 2.0,
            t_end: i as f64 * 2.0 + 4.0,
            confidence: p.iter().copied().fold(0.0, f32::max),
        })
        .collect();
    let model = Arc::new(LoadedModel {
        path: "synthetic.onnx".into(),
        card: card(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        runtime_version: String::new(),
    });
    let baseline = Arc::new(setup.baseline.clone());
    let config = DriftConfig::default();

    // The file's path: the `drift` command's report, judged.
    let report = run(&setup, &samples);
    let judged = judge_report(&report, Arc::clone(&model), "b.json".into(), Arc::clone(&baseline), config, &timing);
    let json = serde_json::to_value(&judged).unwrap();
    let chunks = json["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3);
    for chunk in chunks {
        // docs/FORMATS.md §4's keys stay; `verdict` and `checks` are added.
        for key in ["start_window", "js_distance", "channels", "input_drift", "input_checks", "verdict", "checks"] {
            assert!(chunk.get(key).is_some(), "chunk key {key}");
        }
    }
    assert_eq!(chunks[0]["verdict"]["level"], "sensor_ok");
    assert_eq!(chunks[1]["verdict"]["level"], "input_drift");
    assert!(chunks[1]["verdict"]["headline"].as_str().unwrap().contains("watch rotated"), "{}", chunks[1]["verdict"]);
    let rotation = chunks[1]["checks"].as_array().unwrap().iter().find(|c| c["check"] == "rotation").unwrap();
    assert_eq!(rotation["state"], "drift");
    assert_eq!(rotation["fired"], true);
    assert!(rotation["severity"].as_f64().unwrap() >= 1.0, "{rotation}");

    // The live path: the drift view's state fed window by window, with rolling reports in between.
    let mut state = DriftState::new(config);
    state.apply(&Event::ModelLoaded(model));
    state.apply(&Event::DriftStatus(DriftStatus::Loaded { path: "b.json".into(), baseline: Arc::clone(&baseline) }));
    let mut monitor = DriftMonitor::new(baseline, config).unwrap();
    let mut closed = 0;
    for (i, (s, p)) in samples.iter().zip(&probabilities).enumerate() {
        state.apply(&Event::Prediction(LivePrediction {
            index: i as u64,
            t_start: timing[i].t_start,
            t_end: timing[i].t_end,
            probabilities: p.clone(),
            predicted: 0,
            confidence: timing[i].confidence,
            true_label: None,
            latency: std::time::Duration::ZERO,
        }));
        let chunk = monitor.push(WindowObservation { raw: &s.raw, probabilities: p, true_label: None }).unwrap();
        if i % 25 == 24 {
            state.apply(&Event::DriftRolling(Box::new(monitor.rolling().unwrap())));
        }
        if let Some(chunk) = chunk {
            state.apply(&Event::DriftChunk(Box::new(chunk)));
            assert_eq!(serde_json::to_value(state.verdict()).unwrap(), chunks[closed]["verdict"], "chunk {closed}");
            assert_eq!(serde_json::to_value(state.readings()).unwrap(), chunks[closed]["checks"], "chunk {closed}");
            closed += 1;
        }
    }
    assert_eq!(closed, 3);
    assert!(monitor.finish().is_none());
}

#[test]
fn a_rotation_is_found_in_one_chunk_as_long_as_a_whole_upload() {
    // 1,500 windows in one chunk (the service's upload is one chunk per file): the rotation search scores an
    // evenly spread subset of the chunk's gravity directions; the estimate and the verdict must not change.
    let setup = setup();
    let change = SensorChange { rotate_z_deg: 40.0, ..Default::default() };
    let samples = stream(31, 1500, 4, None, change);
    let probabilities: Vec<Vec<f32>> = samples.iter().map(|s| setup.model.probabilities(&s.raw)).collect();
    let observations = samples.iter().zip(&probabilities).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: None,
    });
    let config = DriftConfig { chunk_windows: 1500, ..DriftConfig::default() };
    let report = drift_report(setup.baseline.clone(), "synthetic.baseline.json", config, observations).unwrap();
    let chunk = &report.chunks[0];
    assert_eq!(chunk.windows, 1500);
    assert!(chunk.evidence.fired.contains(&InputCheck::MountRotation), "{}", describe(chunk));
    let rotation = chunk.evidence.rotation.unwrap();
    assert!((rotation.angle_deg - 40.0).abs() <= 5.0, "estimated {}°", rotation.angle_deg);
    assert!(rotation.windows > 600, "every window that took part is counted: {}", rotation.windows);
}

#[test]
fn chunks_carry_the_label_free_estimate_beside_the_realised_accuracy() {
    use har_monitor::monitor::UntrustedReason;
    use har_monitor::monitor::estimate::MAX_REFERENCE_ECE;

    let setup = setup();
    // The baseline was built from labeled windows: it knows how the model did on them.
    let reference = setup.baseline.reference_performance.clone().expect("a labeled reference has its performance");
    let reference_stream = stream(2, 1650, 6, None, SensorChange::default());
    let right = reference_stream
        .iter()
        .filter(|s| {
            let p = setup.model.probabilities(&s.raw);
            har_monitor::numeric::argmax(&p).map(|(c, _)| c) == Some(s.label)
        })
        .count();
    assert_eq!(reference.windows, 1650);
    assert!((reference.accuracy - right as f64 / 1650.0).abs() < 1e-12, "{reference:?}");
    assert!(reference.ece.is_finite() && reference.ece >= 0.0);

    // New wearers, labeled; then the watch turned 90°.
    let mut samples = stream(40, 300, 3, None, SensorChange::default());
    samples.extend(stream(41, 150, 3, None, SensorChange { rotate_z_deg: 90.0, ..Default::default() }));
    let probabilities: Vec<Vec<f32>> = samples.iter().map(|s| setup.model.probabilities(&s.raw)).collect();
    let observations = samples.iter().zip(&probabilities).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: Some(s.label),
    });
    let report =
        drift_report(setup.baseline.clone(), "synthetic.baseline.json", DriftConfig::default(), observations).unwrap();
    assert_eq!(report.chunks.len(), 3);
    assert!(report.notes.iter().any(|n| n.starts_with("performance: ")), "{:#?}", report.notes);
    let miscalibrated = reference.ece > MAX_REFERENCE_ECE;
    for (i, chunk) in report.chunks.iter().enumerate() {
        let e = chunk.performance.as_ref().expect("every chunk has an estimate");
        assert_eq!(e.windows, 150);
        // The mean top probability of the chunk's windows, and the share predicted right.
        let span = chunk.start_window..chunk.end_window();
        let top: f64 =
            probabilities[span.clone()].iter().map(|p| f64::from(p.iter().copied().fold(0.0, f32::max))).sum();
        assert!((e.estimated_accuracy - top / 150.0).abs() < 1e-9);
        let right = span
            .clone()
            .filter(|&w| har_monitor::numeric::argmax(&probabilities[w]).map(|(c, _)| c) == Some(samples[w].label))
            .count();
        assert!((e.realised_accuracy.unwrap() - right as f64 / 150.0).abs() < 1e-12);
        assert_eq!(e.reference_accuracy, Some(reference.accuracy));
        assert!(e.accuracy_lower <= e.estimated_accuracy && e.estimated_accuracy <= e.accuracy_upper);
        assert_eq!(e.untrusted_because.contains(&UntrustedReason::ReferenceMiscalibrated), miscalibrated);
        assert_eq!(e.untrusted_because.contains(&UntrustedReason::InputDrift), chunk.input_drift, "chunk {i}");
        assert_eq!(e.trusted, e.untrusted_because.is_empty());
    }
    assert!(report.chunks[2].input_drift, "{}", describe(&report.chunks[2]));
    assert!(!report.chunks[2].performance.as_ref().unwrap().trusted, "a turned watch's estimate is not trusted");

    // Without labels in the reference, no reference calibration: nothing is trusted.
    let mut unlabeled = setup.baseline.clone();
    unlabeled.reference_performance = None;
    let json = serde_json::to_string(&unlabeled).unwrap();
    assert!(!json.contains("reference_performance"), "an absent block is not written");
    let observations = samples.iter().zip(&probabilities).take(150).map(|(s, p)| WindowObservation {
        raw: &s.raw,
        probabilities: p,
        true_label: None,
    });
    let report = drift_report(unlabeled, "b.json", DriftConfig::default(), observations).unwrap();
    let e = report.chunks[0].performance.as_ref().unwrap();
    assert!(e.untrusted_because.contains(&UntrustedReason::NoReferenceCalibration));
    assert_eq!(e.realised_accuracy, None);
    assert_eq!(e.reference_accuracy, None);
}

#[test]
fn a_baseline_written_before_the_estimate_still_loads() {
    // The bundled demo baseline predates `reference_performance`.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.baseline.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let baseline = Baseline::load(&path).unwrap();
    assert_eq!(baseline.reference_performance.is_some(), text.contains("\"reference_performance\""));
    // And a baseline with the block reads it back as written.
    let setup = setup();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("b.json");
    setup.baseline.save(&saved).unwrap();
    let back = Baseline::load(&saved).unwrap();
    assert_eq!(back.reference_performance, setup.baseline.reference_performance);
    assert!(back.reference_performance.is_some());
    // A reference block with impossible numbers is refused, naming it.
    let mut broken = setup.baseline.clone();
    if let Some(r) = broken.reference_performance.as_mut() {
        r.ece = 1.5;
    }
    broken.save(&saved).unwrap();
    let message = Baseline::load(&saved).unwrap_err().to_string();
    assert!(message.contains("reference_performance") && message.contains("ece 1.5"), "{message}");
}
