//! The label-free performance estimate (CBPE, `monitor::estimate`): its arithmetic against values computed by hand,
//! a well-calibrated synthetic stream on which the estimate must match the realised accuracy (and an overconfident
//! one on which it must not), and the reasons it gives for not being trusted.

use har_monitor::monitor::estimate::{
    EstimateContext, MAX_REFERENCE_ECE, MIN_ESTIMATE_WINDOWS, PerformanceEstimate, ReferencePerformance,
    UntrustedReason, Z_95, estimate_performance,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn reference(ece: f64) -> ReferencePerformance {
    ReferencePerformance {
        windows: 1000,
        accuracy: 0.9,
        macro_f1: 0.85,
        ece,
        ece_bins: 15,
        source: "reference.csv".into(),
    }
}

fn calibrated() -> ReferencePerformance {
    reference(0.01)
}

fn context(reference: Option<&ReferencePerformance>) -> EstimateContext<'_> {
    EstimateContext { input_drift: false, reference, min_windows: MIN_ESTIMATE_WINDOWS }
}

fn estimate(windows: &[(Vec<f32>, Option<usize>)], k: usize, ctx: EstimateContext<'_>) -> PerformanceEstimate {
    estimate_performance(windows.iter().map(|(p, t)| (p.as_slice(), *t)), k, ctx).expect("an estimate")
}

#[test]
fn the_arithmetic_matches_a_hand_computation() {
    // Three windows of three classes; predicted classes 0, 1, 0 with top probabilities 0.7, 0.6, 0.5.
    let windows =
        vec![(vec![0.7f32, 0.2, 0.1], Some(0)), (vec![0.1f32, 0.6, 0.3], Some(2)), (vec![0.5f32, 0.25, 0.25], Some(0))];
    let e = estimate(&windows, 3, context(None));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    // Expected accuracy (0.7 + 0.6 + 0.5) / 3; σ² = (0.21 + 0.24 + 0.25) / 9.
    assert!(close(e.estimated_accuracy, 0.6), "{e:?}");
    let sigma = (0.7f64 / 9.0).sqrt();
    assert!(close(e.accuracy_lower, 0.6 - Z_95 * sigma), "{e:?}");
    assert_eq!(e.accuracy_upper, 1.0, "0.6 + 1.96 × 0.279 is clamped to 1");
    // Expected F1 per class: class 0 TP 1.2, FP 0.8, FN 0.1 → 2.4/3.3; class 1 TP 0.6, FP 0.4, FN 0.45 → 1.2/2.05;
    // class 2 is never predicted (TP 0) → 0. Macro over the three classes.
    let macro_f1 = (2.4 / 3.3 + 1.2 / 2.05 + 0.0) / 3.0;
    assert!(close(e.estimated_macro_f1, macro_f1), "{} vs {macro_f1}", e.estimated_macro_f1);
    assert!(e.macro_f1_lower <= e.estimated_macro_f1 && e.estimated_macro_f1 <= e.macro_f1_upper);
    // Realised: windows 0 and 2 right, window 1 wrong. F1: class 0 = 1 (2 TP), class 1 = 0 (1 FP), class 2 = 0
    // (1 FN) → macro 1/3.
    assert!(close(e.realised_accuracy.unwrap(), 2.0 / 3.0));
    assert!(close(e.realised_macro_f1.unwrap(), 1.0 / 3.0));
    // Three windows and no reference calibration: two reasons, in this order.
    assert!(!e.trusted);
    assert_eq!(e.untrusted_because, [UntrustedReason::TooFewWindows, UntrustedReason::NoReferenceCalibration]);
    assert_eq!(e.reference_accuracy, None);
}

#[test]
fn without_labels_there_is_no_realised_value_and_the_bootstrap_is_repeatable() {
    let windows: Vec<(Vec<f32>, Option<usize>)> =
        (0..60).map(|i| (if i % 3 == 0 { vec![0.8f32, 0.15, 0.05] } else { vec![0.2f32, 0.7, 0.1] }, None)).collect();
    let a = estimate(&windows, 3, context(Some(&calibrated())));
    let b = estimate(&windows, 3, context(Some(&calibrated())));
    assert_eq!(a, b, "a fixed seed: the same chunk gets the same band");
    assert_eq!(a.realised_accuracy, None);
    assert_eq!(a.realised_macro_f1, None);
    assert!(a.trusted, "{:?}", a.untrusted_because);
    assert_eq!(a.reference_accuracy, Some(0.9));
    assert!(a.macro_f1_upper > a.macro_f1_lower, "the bootstrap gives the macro-F1 a band: {a:?}");
    // One unlabeled window in an otherwise labeled chunk: no realised value either.
    let mut partly: Vec<(Vec<f32>, Option<usize>)> = windows.iter().map(|(p, _)| (p.clone(), Some(1))).collect();
    partly[5].1 = None;
    assert_eq!(estimate(&partly, 3, context(Some(&calibrated()))).realised_accuracy, None);
}

/// `n` windows of `k` classes with random probabilities (a peaked softmax of Gaussian scores); the true label is
/// drawn from `truth_of(p)`.
fn synthetic(
    rng: &mut ChaCha8Rng,
    n: usize,
    k: usize,
    truth_of: impl Fn(&[f32]) -> Vec<f32>,
) -> Vec<(Vec<f32>, Option<usize>)> {
    (0..n)
        .map(|_| {
            let peak = rng.random_range(0..k);
            let sharpness = 0.5 + 3.5 * rng.random::<f64>();
            let scores: Vec<f64> =
                (0..k).map(|c| if c == peak { sharpness } else { 0.0 } + rng.random::<f64>()).collect();
            let total: f64 = scores.iter().map(|s| s.exp()).sum();
            let p: Vec<f32> = scores.iter().map(|s| (s.exp() / total) as f32).collect();
            let q = truth_of(&p);
            let u = rng.random::<f64>() * q.iter().map(|&v| f64::from(v)).sum::<f64>();
            let mut cumulative = 0.0;
            let label = q
                .iter()
                .position(|&v| {
                    cumulative += f64::from(v);
                    u < cumulative
                })
                .unwrap_or(k - 1);
            (p, Some(label))
        })
        .collect()
}

#[test]
fn on_calibrated_probabilities_the_estimate_matches_the_realised_accuracy() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let k = 11;
    // Labels drawn from the probabilities themselves: calibrated by construction.
    let windows = synthetic(&mut rng, 150 * 40, k, |p| p.to_vec());
    let (mut errors, mut f1_errors, mut inside) = (Vec::new(), Vec::new(), 0);
    let reference = calibrated();
    for chunk in windows.chunks(150) {
        let e = estimate(chunk, k, context(Some(&reference)));
        assert!(e.trusted);
        let realised = e.realised_accuracy.unwrap();
        errors.push((e.estimated_accuracy - realised).abs());
        f1_errors.push((e.estimated_macro_f1 - e.realised_macro_f1.unwrap()).abs());
        if (e.accuracy_lower..=e.accuracy_upper).contains(&realised) {
            inside += 1;
        }
    }
    let mae = errors.iter().sum::<f64>() / errors.len() as f64;
    let f1_mae = f1_errors.iter().sum::<f64>() / f1_errors.len() as f64;
    // The sampling error of 150 windows at ~55 % accuracy is ~4 points (σ); its mean absolute value ~3.2.
    assert!(mae < 0.045, "MAE {mae:.3}");
    assert!(f1_mae < 0.06, "macro-F1 MAE {f1_mae:.3}");
    // A 95 % band: about 38 of 40 chunks; 34 is what a binomial draw stays above with 99 % probability.
    assert!(inside >= 34, "{inside} of 40 chunks inside their band");

    // Overconfident probabilities (the labels follow a flatter distribution than the model says): the estimate is
    // too high, by more than the band explains.
    let flatter = |p: &[f32]| {
        let q: Vec<f32> = p.iter().map(|v| v.powf(0.4)).collect();
        let total: f32 = q.iter().sum();
        q.iter().map(|v| v / total).collect()
    };
    let windows = synthetic(&mut rng, 150 * 10, k, flatter);
    for chunk in windows.chunks(150) {
        let e = estimate(chunk, k, context(Some(&reference)));
        let realised = e.realised_accuracy.unwrap();
        assert!(e.estimated_accuracy - realised > 0.1, "estimate {:.3} realised {realised:.3}", e.estimated_accuracy);
        assert!(e.accuracy_lower > realised, "the band misses an overconfident model's accuracy: {e:?}");
    }
}

#[test]
fn the_band_narrows_with_the_size_of_the_chunk() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let windows = synthetic(&mut rng, 600, 5, |p| p.to_vec());
    let reference = calibrated();
    let small = estimate(&windows[..150], 5, context(Some(&reference)));
    let large = estimate(&windows, 5, context(Some(&reference)));
    let width = |e: &PerformanceEstimate| e.accuracy_upper - e.accuracy_lower;
    // σ ∝ 1/√n: four times the windows, about half the width.
    let ratio = width(&small) / width(&large);
    assert!((1.6..2.5).contains(&ratio), "accuracy band ratio {ratio:.2}");
    let f1_width = |e: &PerformanceEstimate| e.macro_f1_upper - e.macro_f1_lower;
    let ratio = f1_width(&small) / f1_width(&large);
    assert!((1.4..2.8).contains(&ratio), "macro-F1 band ratio {ratio:.2}");
}

#[test]
fn each_reason_not_to_trust_the_estimate_is_given() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let windows = synthetic(&mut rng, 40, 4, |p| p.to_vec());
    let good = calibrated();
    assert!(estimate(&windows, 4, context(Some(&good))).trusted);

    let drifted = EstimateContext { input_drift: true, ..context(Some(&good)) };
    assert_eq!(estimate(&windows, 4, drifted).untrusted_because, [UntrustedReason::InputDrift]);

    let bad = reference(MAX_REFERENCE_ECE + 0.01);
    assert_eq!(estimate(&windows, 4, context(Some(&bad))).untrusted_because, [UntrustedReason::ReferenceMiscalibrated]);
    // At the limit it is still trusted.
    assert!(estimate(&windows, 4, context(Some(&reference(MAX_REFERENCE_ECE)))).trusted);

    assert_eq!(estimate(&windows, 4, context(None)).untrusted_because, [UntrustedReason::NoReferenceCalibration]);

    let few = estimate(&windows[..MIN_ESTIMATE_WINDOWS - 1], 4, context(Some(&good)));
    assert_eq!(few.untrusted_because, [UntrustedReason::TooFewWindows]);
    assert!(estimate(&windows[..MIN_ESTIMATE_WINDOWS], 4, context(Some(&good))).trusted);

    // All of them at once, serialised as the JSON carries them.
    let all = EstimateContext { input_drift: true, reference: Some(&bad), min_windows: MIN_ESTIMATE_WINDOWS };
    let e = estimate(&windows[..10], 4, all);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json["untrusted_because"],
        serde_json::json!(["too_few_windows", "input_drift", "reference_miscalibrated"])
    );
    assert_eq!(json["trusted"], false);
    let back: PerformanceEstimate = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
    assert_eq!(
        serde_json::to_value(UntrustedReason::NoReferenceCalibration).unwrap(),
        serde_json::json!("no_reference_calibration")
    );
}

#[test]
fn no_estimate_without_windows_or_with_bad_probabilities() {
    let none: Vec<(&[f32], Option<usize>)> = Vec::new();
    assert!(estimate_performance(none, 3, context(None)).is_none());
    let short: Vec<(&[f32], Option<usize>)> = vec![(&[0.5, 0.5], None)];
    assert!(estimate_performance(short, 3, context(None)).is_none(), "two probabilities for three classes");
    let nan: Vec<(&[f32], Option<usize>)> = vec![(&[f32::NAN, 0.5, 0.5], None)];
    assert!(estimate_performance(nan, 3, context(None)).is_none());
}

#[test]
fn the_reference_performance_is_measured_from_labeled_windows() {
    // Four windows: three right; confidences 0.9, 0.8, 0.6, 0.7 (the last one wrong).
    let windows: Vec<(Vec<f32>, usize)> =
        vec![(vec![0.9, 0.1], 0), (vec![0.2, 0.8], 1), (vec![0.6, 0.4], 0), (vec![0.3, 0.7], 0)];
    let r = ReferencePerformance::measure(windows.iter().map(|(p, t)| (p.as_slice(), *t)), 2).unwrap();
    assert_eq!(r.windows, 4);
    assert!((r.accuracy - 0.75).abs() < 1e-12);
    // F1: class 0 TP 2, FN 1 → 0.8; class 1 TP 1, FP 1 → 2/3.
    assert!((r.macro_f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{}", r.macro_f1);
    // ECE over 15 equal bins, each window in its own bin: |0.9-1| + |0.8-1| + |0.6-1| + |0.7-0|, over 4.
    assert!((r.ece - (0.1 + 0.2 + 0.4 + 0.7) / 4.0).abs() < 1e-6, "{}", r.ece);
    assert_eq!(r.ece_bins, 15);
    assert!(ReferencePerformance::measure(std::iter::empty(), 2).is_none());
}
