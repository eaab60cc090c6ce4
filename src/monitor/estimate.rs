//! The label-free performance estimate of a chunk of windows (confidence-based performance estimation, CBPE, as
//! NannyML's): what accuracy and macro-F1 the model should have on windows nobody labeled, read from its own class
//! probabilities, with a 95 % band from the chunk's size, and why the number should not be trusted when it should
//! not (docs/FORMATS.md §4 `performance`).
//!
//! # What it computes
//! For windows with calibrated probabilities `p_i` (class `c` with probability `p_ic`) and the predicted class
//! `ŷ_i = argmax p_i`:
//! - **Expected accuracy** `Σ p_iŷ / n`: window `i` is right with probability `p_iŷ` when the model is calibrated.
//!   The number of right windows is then a sum of independent Bernoulli draws (Poisson-binomial) with variance
//!   `Σ p_iŷ (1 − p_iŷ)`, so the band is `±1.96 σ` with `σ² = Σ p_iŷ (1 − p_iŷ) / n²`: where the realised accuracy
//!   falls 95 % of the time if the probabilities are right.
//! - **Expected macro-F1**: per class `c`, the expected true positives `TP_c = Σ_{ŷ_i = c} p_ic`, false positives
//!   `FP_c = Σ_{ŷ_i = c} (1 − p_ic)` and false negatives `FN_c = Σ_{ŷ_i ≠ c} p_ic`, `F1_c = 2TP / (2TP + FP + FN)`
//!   (0 when the denominator is 0), averaged over every class of the card, as [`crate::eval`]'s macro-F1 is. Its
//!   band is `±1.96` standard deviations of the macro-F1 of [`BOOTSTRAP_DRAWS`] label sets drawn from the
//!   probabilities (a fixed seed: the same chunk always gets the same band).
//! - When the windows are labeled, the **realised** accuracy and macro-F1 beside them (the project's metrics).
//!
//! # When not to trust it
//! The estimate holds when the probabilities are calibrated and the change is a covariate shift (other behaviours,
//! other people: `p(y | x)` unchanged). It does not hold when the sensor or its mounting changed: a rotated watch
//! gives windows the model never saw, and it is confidently wrong on them. So a chunk's estimate carries
//! `untrusted_because`, a list of [`UntrustedReason`]s: too few windows, input drift in the chunk, no reference
//! calibration in the baseline, or a reference calibration error above [`MAX_REFERENCE_ECE`]. Views show such an
//! estimate as untrusted, with the reason, not as a confident number.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::eval::{ClassificationMetrics, ConfusionMatrix};
use crate::numeric::argmax;

/// Fewer windows than this in a chunk: the estimate is [`UntrustedReason::TooFewWindows`] (the drift verdict's
/// minimum, [`super::DriftConfig::min_verdict_windows`], by default).
pub const MIN_ESTIMATE_WINDOWS: usize = 30;
/// A reference expected calibration error above this makes every estimate [`UntrustedReason::ReferenceMiscalibrated`]:
/// an accuracy estimate is only as good as the probabilities it averages. The evaluation's "well calibrated" line.
pub const MAX_REFERENCE_ECE: f64 = crate::eval::calibration::WELL_CALIBRATED_ECE;
/// Equal-width bins of the reference calibration error (top label).
pub const ECE_BINS: usize = 15;
/// Label sets drawn from the probabilities for the macro-F1 band.
pub const BOOTSTRAP_DRAWS: usize = 200;
/// The two-sided 95 % normal quantile.
pub const Z_95: f64 = 1.959_963_984_540_054;
/// Seed of the macro-F1 bootstrap.
const BOOTSTRAP_SEED: u64 = 0x4342_5045_5f42_4f4f;

/// How the model did on the baseline's labeled reference windows: what the estimate is compared with, and whether
/// its probabilities can be trusted (docs/FORMATS.md §4 `reference_performance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePerformance {
    /// Labeled reference windows the numbers are measured on.
    pub windows: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Expected calibration error of the top label over [`ECE_BINS`] equal-width bins.
    pub ece: f64,
    pub ece_bins: usize,
    /// Where the labeled windows came from (free text, e.g. the CSV path; `baseline --calibration-data`).
    #[serde(default)]
    pub source: String,
}

impl ReferencePerformance {
    /// The reference numbers from labeled windows: `(probabilities, true class)` each. `None` without windows.
    pub fn measure<'a>(windows: impl IntoIterator<Item = (&'a [f32], usize)>, n_classes: usize) -> Option<Self> {
        let mut matrix = ConfusionMatrix::new(n_classes);
        let (mut confidences, mut correct) = (Vec::new(), Vec::new());
        for (probabilities, truth) in windows {
            let (predicted, confidence) = argmax(probabilities)?;
            matrix.add(truth, predicted).ok()?;
            confidences.push(f64::from(confidence));
            correct.push(predicted == truth);
        }
        if confidences.is_empty() {
            return None;
        }
        let metrics = ClassificationMetrics::from_confusion(&matrix);
        Some(ReferencePerformance {
            windows: confidences.len(),
            accuracy: metrics.accuracy,
            macro_f1: metrics.macro_avg.f1,
            ece: crate::eval::calibration::expected_calibration_error(&confidences, &correct, ECE_BINS),
            ece_bins: ECE_BINS,
            source: String::new(),
        })
    }
}

/// Why an estimate should not be trusted (serialised in snake_case: `too_few_windows`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UntrustedReason {
    /// Fewer than [`MIN_ESTIMATE_WINDOWS`] windows: the band is too wide to say anything.
    TooFewWindows,
    /// A sensor check fired in the chunk: not a covariate shift, the probabilities no longer mean what they did.
    InputDrift,
    /// The baseline was built without labels (or before this estimate existed): nothing says the probabilities
    /// are calibrated.
    NoReferenceCalibration,
    /// The probabilities were miscalibrated on the reference (ECE above [`MAX_REFERENCE_ECE`]).
    ReferenceMiscalibrated,
}

impl UntrustedReason {
    /// The reason in a few words, for a view or a note.
    pub fn describe(self) -> &'static str {
        match self {
            UntrustedReason::TooFewWindows => "too few windows for an estimate",
            UntrustedReason::InputDrift => "input drift: the sensor changed, so the probabilities do not hold",
            UntrustedReason::NoReferenceCalibration => {
                "the baseline has no reference calibration (build it from labeled data)"
            }
            UntrustedReason::ReferenceMiscalibrated => "the model was miscalibrated on the reference data",
        }
    }

    /// The reason in one or two words (a plot label).
    pub fn short(self) -> &'static str {
        match self {
            UntrustedReason::TooFewWindows => "too few windows",
            UntrustedReason::InputDrift => "input drift",
            UntrustedReason::NoReferenceCalibration => "no reference calibration",
            UntrustedReason::ReferenceMiscalibrated => "miscalibrated on reference",
        }
    }
}

/// What the chunk's trust depends on besides its probabilities.
#[derive(Debug, Clone, Copy)]
pub struct EstimateContext<'a> {
    /// The chunk's input-drift verdict.
    pub input_drift: bool,
    /// The baseline's reference numbers, when it has them.
    pub reference: Option<&'a ReferencePerformance>,
    /// Fewer windows than this: too few (see [`MIN_ESTIMATE_WINDOWS`]).
    pub min_windows: usize,
}

/// One chunk's estimate (the `performance` object of a drift chunk, docs/FORMATS.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceEstimate {
    pub windows: usize,
    pub estimated_accuracy: f64,
    /// The 95 % band of the realised accuracy if the probabilities are calibrated, clamped to [0, 1].
    pub accuracy_lower: f64,
    pub accuracy_upper: f64,
    pub estimated_macro_f1: f64,
    pub macro_f1_lower: f64,
    pub macro_f1_upper: f64,
    /// Measured from the labels, when every window of the chunk has one.
    pub realised_accuracy: Option<f64>,
    pub realised_macro_f1: Option<f64>,
    /// The baseline's realised accuracy on its reference windows, for comparison.
    pub reference_accuracy: Option<f64>,
    /// No reason against it.
    pub trusted: bool,
    pub untrusted_because: Vec<UntrustedReason>,
}

/// Expected per-class F1 from probabilities and predicted classes, averaged over the `k` classes.
fn expected_macro_f1(windows: &[(&[f32], usize)], k: usize) -> f64 {
    let (mut tp, mut fp, mut fn_) = (vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; k]);
    for &(p, predicted) in windows {
        for (c, &pc) in p.iter().enumerate().take(k) {
            let pc = f64::from(pc);
            if c == predicted {
                tp[c] += pc;
                fp[c] += 1.0 - pc;
            } else {
                fn_[c] += pc;
            }
        }
    }
    macro_f1_of(&tp, &fp, &fn_)
}

/// Macro-F1 from per-class TP, FP, FN (counts or expectations); a class with 2TP + FP + FN = 0 has F1 0.
fn macro_f1_of(tp: &[f64], fp: &[f64], fn_: &[f64]) -> f64 {
    let k = tp.len().max(1) as f64;
    tp.iter()
        .zip(fp)
        .zip(fn_)
        .map(|((&tp, &fp), &fn_)| {
            let d = 2.0 * tp + fp + fn_;
            if d > 0.0 { 2.0 * tp / d } else { 0.0 }
        })
        .sum::<f64>()
        / k
}

/// Standard deviation of the macro-F1 of label sets drawn from the probabilities.
fn bootstrap_macro_f1_std(windows: &[(&[f32], usize)], k: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut draws = Vec::with_capacity(BOOTSTRAP_DRAWS);
    let (mut tp, mut fp, mut fn_) = (vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; k]);
    for _ in 0..BOOTSTRAP_DRAWS {
        tp.iter_mut().chain(fp.iter_mut()).chain(fn_.iter_mut()).for_each(|v| *v = 0.0);
        for &(p, predicted) in windows {
            let total: f64 = p.iter().take(k).map(|&v| f64::from(v.max(0.0))).sum();
            let u = rng.random::<f64>() * total;
            let mut cumulative = 0.0;
            let mut label = predicted;
            for (c, &pc) in p.iter().enumerate().take(k) {
                cumulative += f64::from(pc.max(0.0));
                if u < cumulative {
                    label = c;
                    break;
                }
            }
            if label == predicted {
                tp[predicted] += 1.0;
            } else {
                fp[predicted] += 1.0;
                fn_[label] += 1.0;
            }
        }
        draws.push(macro_f1_of(&tp, &fp, &fn_));
    }
    let mean = draws.iter().sum::<f64>() / draws.len().max(1) as f64;
    (draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / draws.len().max(1) as f64).sqrt()
}

/// The estimate for a chunk: each window's class probabilities (card order) and, when labeled, its true class.
/// `None` for an empty chunk or one whose probabilities are not `k` finite numbers each.
pub fn estimate_performance<'a>(
    windows: impl IntoIterator<Item = (&'a [f32], Option<usize>)>,
    k: usize,
    context: EstimateContext<'_>,
) -> Option<PerformanceEstimate> {
    let mut scored: Vec<(&[f32], usize)> = Vec::new();
    let mut labels = Vec::new();
    for (p, truth) in windows {
        if p.len() != k || p.iter().any(|v| !v.is_finite()) {
            return None;
        }
        scored.push((p, argmax(p)?.0));
        labels.push(truth);
    }
    let n = scored.len();
    if n == 0 || k == 0 {
        return None;
    }
    let top: Vec<f64> = scored.iter().map(|&(p, c)| f64::from(p[c]).clamp(0.0, 1.0)).collect();
    let accuracy = top.iter().sum::<f64>() / n as f64;
    let sigma = top.iter().map(|p| p * (1.0 - p)).sum::<f64>().sqrt() / n as f64;
    let macro_f1 = expected_macro_f1(&scored, k);
    let f1_sigma = bootstrap_macro_f1_std(&scored, k);

    let realised = labels.iter().all(Option::is_some).then(|| {
        let mut matrix = ConfusionMatrix::new(k);
        for (&(_, predicted), truth) in scored.iter().zip(&labels) {
            if let Some(t) = truth {
                // A label outside the card was refused when the window was observed.
                let _ = matrix.add(*t, predicted);
            }
        }
        let m = ClassificationMetrics::from_confusion(&matrix);
        (m.accuracy, m.macro_avg.f1)
    });

    let mut untrusted_because = Vec::new();
    if n < context.min_windows {
        untrusted_because.push(UntrustedReason::TooFewWindows);
    }
    if context.input_drift {
        untrusted_because.push(UntrustedReason::InputDrift);
    }
    match context.reference {
        None => untrusted_because.push(UntrustedReason::NoReferenceCalibration),
        // A NaN calibration error counts as miscalibrated.
        Some(r) if r.ece > MAX_REFERENCE_ECE || r.ece.is_nan() => {
            untrusted_because.push(UntrustedReason::ReferenceMiscalibrated)
        }
        Some(_) => {}
    }
    Some(PerformanceEstimate {
        windows: n,
        estimated_accuracy: accuracy,
        accuracy_lower: (accuracy - Z_95 * sigma).clamp(0.0, 1.0),
        accuracy_upper: (accuracy + Z_95 * sigma).clamp(0.0, 1.0),
        estimated_macro_f1: macro_f1,
        macro_f1_lower: (macro_f1 - Z_95 * f1_sigma).clamp(0.0, 1.0),
        macro_f1_upper: (macro_f1 + Z_95 * f1_sigma).clamp(0.0, 1.0),
        realised_accuracy: realised.map(|r| r.0),
        realised_macro_f1: realised.map(|r| r.1),
        reference_accuracy: context.reference.map(|r| r.accuracy),
        trusted: untrusted_because.is_empty(),
        untrusted_because,
    })
}

impl PerformanceEstimate {
    /// Why not to trust it, in words ("" when trusted).
    pub fn untrusted_text(&self) -> String {
        self.untrusted_because.iter().map(|r| r.describe()).collect::<Vec<_>>().join("; ")
    }
}
