//! Can the model's confidence be believed? Reliability bins (scikit-learn's `calibration_curve`, both of its
//! strategies), the expected and maximum calibration error, the Brier score (multiclass and one-vs-rest) and the
//! log loss (scikit-learn's `brier_score_loss` and `log_loss`), and temperature scaling: one scalar `T` that
//! divides the model's log-probabilities, fitted by minimising the log loss on labelled windows
//! (docs/FORMATS.md §4, the `calibration` block of `report.json`).
//!
//! Every function takes plain slices, so the evaluation report, the drift monitor's reference and the tests
//! share one computation.

use serde::{Deserialize, Serialize};

/// Bins of the reliability diagram and of the ECE unless told otherwise (the common choice since Guo et al.,
/// "On Calibration of Modern Neural Networks", 2017).
pub const DEFAULT_BINS: usize = 15;

/// Largest top-label ECE (equal-width bins) at which a model's probabilities are called well calibrated, by the
/// evaluation's verdict and by the drift view's label-free estimate, which needs calibrated probabilities.
pub const WELL_CALIBRATED_ECE: f64 = 0.03;

/// How confidences are cut into bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binning {
    /// `n` bins of equal width over [0, 1] (scikit-learn's `strategy="uniform"`).
    EqualWidth,
    /// Bin edges at the quantiles of the confidences, so the bins hold about as many windows each (the
    /// "adaptive" ECE; scikit-learn's `strategy="quantile"`).
    EqualMass,
}

/// One non-empty bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// The bin's edges: it holds the confidences in (`lower`, `upper`], the first bin also `lower` itself.
    pub lower: f64,
    pub upper: f64,
    /// Windows in the bin.
    pub count: u64,
    /// Their mean confidence (scikit-learn's `prob_pred`).
    pub mean_confidence: f64,
    /// The share of them that were right (scikit-learn's `prob_true`).
    pub accuracy: f64,
}

impl ReliabilityBin {
    /// |accuracy − mean confidence|: how far the bin is from the diagonal.
    pub fn gap(&self) -> f64 {
        (self.accuracy - self.mean_confidence).abs()
    }
}

/// The bin edges scikit-learn's `calibration_curve` uses: `np.linspace(0, 1, n + 1)` for equal width,
/// `np.percentile(confidences, np.linspace(0, 1, n + 1) * 100)` for equal mass. Empty for no bins or (equal
/// mass) no confidences.
pub fn bin_edges(confidences: &[f64], n_bins: usize, binning: Binning) -> Vec<f64> {
    if n_bins == 0 {
        return Vec::new();
    }
    // numpy's linspace: start + j * step, the last value set to stop.
    let step = 1.0 / n_bins as f64;
    let fractions: Vec<f64> = (0..=n_bins).map(|j| if j == n_bins { 1.0 } else { j as f64 * step }).collect();
    match binning {
        Binning::EqualWidth => fractions,
        Binning::EqualMass => {
            let mut sorted: Vec<f64> = confidences.to_vec();
            if sorted.is_empty() {
                return Vec::new();
            }
            sorted.sort_by(f64::total_cmp);
            fractions.iter().map(|&f| numpy_percentile_linear(&sorted, (f * 100.0) / 100.0)).collect()
        }
    }
}

/// numpy's `percentile(..., method="linear")` of sorted values at quantile `q` (already divided by 100), with its
/// interpolation formula (`_lerp`), so edges that fall on a value are that value exactly.
fn numpy_percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let virtual_index = last as f64 * q;
    let previous = virtual_index.floor().clamp(0.0, last as f64);
    let gamma = virtual_index - previous;
    let below = previous as usize;
    let above = (below + 1).min(last);
    let (a, b) = (sorted[below], sorted[above]);
    let diff = b - a;
    if gamma >= 0.5 { b - diff * (1.0 - gamma) } else { a + diff * gamma }
}

/// The reliability diagram of binary outcomes against their predicted probabilities: for the top label,
/// `confidences` are the predicted class' probabilities and `outcomes` whether the prediction was right; one
/// versus rest, a class' probabilities and whether the window is of that class. Only non-empty bins are
/// returned, in order (as scikit-learn's `calibration_curve`, which puts a value on an inner edge in the bin
/// below it). Non-finite confidences are left out. Panics never; mismatched lengths use the shorter.
pub fn reliability(confidences: &[f64], outcomes: &[bool], n_bins: usize, binning: Binning) -> Vec<ReliabilityBin> {
    let pairs: Vec<(f64, bool)> =
        confidences.iter().zip(outcomes).filter(|(c, _)| c.is_finite()).map(|(&c, &o)| (c, o)).collect();
    let finite: Vec<f64> = pairs.iter().map(|&(c, _)| c).collect();
    let edges = bin_edges(&finite, n_bins, binning);
    if edges.len() < 2 || pairs.is_empty() {
        return Vec::new();
    }
    let inner = &edges[1..edges.len() - 1];
    let mut count = vec![0u64; n_bins];
    let mut sum_confidence = vec![0.0f64; n_bins];
    let mut right = vec![0u64; n_bins];
    for &(c, o) in &pairs {
        // np.searchsorted(inner, c, side="left"): the number of inner edges strictly below c.
        let bin = inner.partition_point(|&edge| edge < c);
        count[bin] += 1;
        sum_confidence[bin] += c;
        right[bin] += u64::from(o);
    }
    (0..n_bins)
        .filter(|&b| count[b] > 0)
        .map(|b| ReliabilityBin {
            lower: edges[b],
            upper: edges[b + 1],
            count: count[b],
            mean_confidence: sum_confidence[b] / count[b] as f64,
            accuracy: right[b] as f64 / count[b] as f64,
        })
        .collect()
}

/// Expected calibration error of reliability bins: Σ (bin count / total) · |accuracy − mean confidence|. 0 for
/// no bins.
pub fn ece_of_bins(bins: &[ReliabilityBin]) -> f64 {
    let total: u64 = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter().map(|b| b.count as f64 / total as f64 * b.gap()).sum()
}

/// Maximum calibration error: the largest |accuracy − mean confidence| of a non-empty bin. 0 for no bins.
pub fn mce_of_bins(bins: &[ReliabilityBin]) -> f64 {
    bins.iter().map(ReliabilityBin::gap).fold(0.0, f64::max)
}

/// The top-label expected calibration error with `n_bins` equal-width bins: `confidences` are the predicted
/// class' probabilities, `correct` whether each prediction was right.
pub fn expected_calibration_error(confidences: &[f64], correct: &[bool], n_bins: usize) -> f64 {
    ece_of_bins(&reliability(confidences, correct, n_bins, Binning::EqualWidth))
}

/// Mean squared difference between probabilities and outcomes of one binary question (scikit-learn's
/// `brier_score_loss` for two classes): 0 is perfect, 1 the worst. `None` when empty.
pub fn brier_binary(probabilities: &[f64], outcomes: &[bool]) -> Option<f64> {
    let n = probabilities.len().min(outcomes.len());
    if n == 0 {
        return None;
    }
    let sum: f64 = probabilities.iter().zip(outcomes).map(|(&p, &o)| (p - f64::from(u8::from(o))).powi(2)).sum();
    Some(sum / n as f64)
}

/// The multiclass Brier score: the mean over windows of Σ_k (p_k − [k = label])² (scikit-learn's
/// `brier_score_loss(..., scale_by_half=False)`), between 0 (perfect) and 2. `probabilities` holds `n_classes`
/// values per window. `None` when there are no windows or a label is outside the classes.
pub fn brier_multiclass(probabilities: &[f32], labels: &[usize], n_classes: usize) -> Option<f64> {
    let rows = rows(probabilities, labels, n_classes)?;
    let sum: f64 = rows
        .map(|(row, label)| {
            row.iter()
                .enumerate()
                .map(|(k, &p)| (f64::from(p) - if k == label { 1.0 } else { 0.0 }).powi(2))
                .sum::<f64>()
        })
        .sum();
    Some(sum / labels.len() as f64)
}

/// The log loss (negative log-likelihood of the true class, natural log, mean over windows), with
/// probabilities clipped to [ε, 1 − ε] (ε of f64) as scikit-learn's `log_loss`. `None` when there are no windows or
/// a label is outside the classes.
pub fn log_loss(probabilities: &[f32], labels: &[usize], n_classes: usize) -> Option<f64> {
    let rows = rows(probabilities, labels, n_classes)?;
    let sum: f64 = rows.map(|(row, label)| -f64::from(row[label]).clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()).sum();
    Some(sum / labels.len() as f64)
}

/// The windows as (probabilities, label) pairs, checked: `None` when empty, when the lengths do not match or when
/// a label is out of range.
fn rows<'a>(
    probabilities: &'a [f32],
    labels: &'a [usize],
    n_classes: usize,
) -> Option<impl Iterator<Item = (&'a [f32], usize)> + 'a> {
    if labels.is_empty() || n_classes == 0 || probabilities.len() != labels.len() * n_classes {
        return None;
    }
    if labels.iter().any(|&l| l >= n_classes) {
        return None;
    }
    Some(probabilities.chunks_exact(n_classes).zip(labels.iter().copied()))
}

pub use crate::numeric::{TEMPERATURE_RANGE, apply_temperature};

/// A temperature fitted to labelled windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The temperature that minimises the log loss on the windows, relative to the probabilities given.
    pub temperature: f64,
    /// Log loss before (T = 1) and after.
    pub log_loss_before: f64,
    pub log_loss_after: f64,
    /// Windows fitted on.
    pub windows: u64,
    /// The optimum lies at an end of [`TEMPERATURE_RANGE`] (the probabilities are all right, or all wrong).
    pub at_bound: bool,
}

/// Why a temperature cannot be fitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("no labelled windows to fit a temperature on")]
    NoWindows,
    #[error("{probabilities} probabilities for {windows} windows of {classes} classes")]
    Shape { probabilities: usize, windows: usize, classes: usize },
    #[error("window {window}: label {label} is outside the {classes} classes")]
    Label { window: usize, label: usize, classes: usize },
}

/// Fits the temperature that minimises the log loss of softmax(ln p / T) on labelled windows. The loss is
/// convex in β = 1/T, so the zero of its derivative is found by safeguarded Newton steps within
/// [`TEMPERATURE_RANGE`].
pub fn fit_temperature(probabilities: &[f32], labels: &[usize], n_classes: usize) -> Result<TemperatureFit, FitError> {
    if labels.is_empty() {
        return Err(FitError::NoWindows);
    }
    if n_classes == 0 || probabilities.len() != labels.len() * n_classes {
        return Err(FitError::Shape { probabilities: probabilities.len(), windows: labels.len(), classes: n_classes });
    }
    if let Some((window, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= n_classes) {
        return Err(FitError::Label { window, label, classes: n_classes });
    }
    // Log-probabilities, zeros floored at the smallest positive f32 so every term stays finite.
    let logs: Vec<f64> = probabilities.iter().map(|&p| f64::from(p.max(f32::MIN_POSITIVE)).ln()).collect();
    let windows: Vec<(&[f64], usize)> = logs.chunks_exact(n_classes).zip(labels.iter().copied()).collect();
    let objective = |beta: f64| -> (f64, f64, f64) {
        // Mean NLL, its first and second derivative in β.
        let (mut loss, mut d1, mut d2) = (0.0, 0.0, 0.0);
        for &(z, label) in &windows {
            let top = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = z.iter().map(|&v| (beta * (v - top)).exp()).collect();
            let sum: f64 = weights.iter().sum();
            let mean: f64 = weights.iter().zip(z).map(|(w, v)| w * v).sum::<f64>() / sum;
            let second: f64 = weights.iter().zip(z).map(|(w, v)| w * (v - mean).powi(2)).sum::<f64>() / sum;
            loss += beta * top + sum.ln() - beta * z[label];
            d1 += mean - z[label];
            d2 += second;
        }
        let n = windows.len() as f64;
        (loss / n, d1 / n, d2 / n)
    };
    let (mut lo, mut hi) = (1.0 / TEMPERATURE_RANGE.1, 1.0 / TEMPERATURE_RANGE.0);
    let (before, _, _) = objective(1.0);
    let (_, d_lo, _) = objective(lo);
    let (_, d_hi, _) = objective(hi);
    let (beta, at_bound) = if d_lo >= 0.0 {
        (lo, true)
    } else if d_hi <= 0.0 {
        (hi, true)
    } else {
        let mut beta: f64 = 1.0_f64.clamp(lo, hi);
        for _ in 0..100 {
            let (_, d, dd) = objective(beta);
            if d > 0.0 {
                hi = beta;
            } else {
                lo = beta;
            }
            let newton = if dd > 0.0 { beta - d / dd } else { f64::NAN };
            let next = if newton.is_finite() && newton > lo && newton < hi { newton } else { 0.5 * (lo + hi) };
            let done = (next - beta).abs() <= 1e-12 * beta.max(1.0) || hi - lo <= 1e-12 * hi;
            beta = next;
            if done {
                break;
            }
        }
        (beta, false)
    };
    let (after, _, _) = objective(beta);
    Ok(TemperatureFit {
        temperature: 1.0 / beta,
        log_loss_before: before,
        log_loss_after: after,
        windows: labels.len() as u64,
        at_bound,
    })
}

/// One class' calibration, one versus rest: its probability against whether the window is of the class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCalibration {
    pub class: String,
    /// ECE of the class' probability (equal-width bins).
    pub ece: f64,
    /// Brier score of the class' probability (binary, 0 to 1).
    pub brier: f64,
    /// The mean probability the model gave the class, and the share of windows that are of it: equal when the
    /// model predicts the class as often as it occurs.
    pub mean_probability: f64,
    pub frequency: f64,
}

/// How trustworthy the probabilities of an evaluation were: the `calibration` block of `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The file these numbers come from.
    pub data: String,
    /// Labelled windows they are computed on.
    pub windows: u64,
    /// The temperature the model's probabilities had (the card's `temperature`; 1 without one).
    pub temperature: f64,
    /// Bins of the reliability diagrams.
    pub bins: usize,
    /// Top-label expected calibration error, equal-width bins.
    pub ece: f64,
    /// Top-label ECE with equal-mass (adaptive) bins.
    pub ece_equal_mass: f64,
    /// Top-label maximum calibration error, equal-width bins.
    pub mce: f64,
    /// Multiclass Brier score (0 to 2).
    pub brier: f64,
    /// Mean negative log-likelihood of the true class (natural log).
    pub log_loss: f64,
    /// Mean confidence and accuracy: a confidence above the accuracy is an overconfident model.
    pub mean_confidence: f64,
    pub accuracy: f64,
    /// The top-label reliability diagram (non-empty equal-width bins).
    pub reliability: Vec<ReliabilityBin>,
    /// The same with equal-mass bins.
    pub reliability_equal_mass: Vec<ReliabilityBin>,
    /// One versus rest, card order.
    pub per_class: Vec<ClassCalibration>,
    /// A temperature fitted by `evaluate --fit-temperature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<TemperatureReport>,
}

/// What a temperature fit did, and where each number comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureReport {
    /// The labelled file the temperature was fitted on.
    pub fitted_on: String,
    /// Whether that is another file than the one evaluated (`false`: the numbers after are in-sample, optimistic).
    pub held_out: bool,
    /// Windows fitted on.
    pub windows: u64,
    /// The card's temperature before, and the new one (the product of the old and the fitted factor).
    pub previous_temperature: f64,
    pub temperature: f64,
    /// The fitted optimum lies at an end of the allowed range.
    pub at_bound: bool,
    /// Log loss on the file fitted on, before and after.
    pub fit_log_loss_before: f64,
    pub fit_log_loss_after: f64,
    /// On the evaluated file (`data` of the calibration block), before and after.
    pub ece_before: f64,
    pub ece_after: f64,
    pub log_loss_before: f64,
    pub log_loss_after: f64,
    pub brier_before: f64,
    pub brier_after: f64,
    /// The model card the new temperature was written to, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

impl CalibrationReport {
    /// The calibration of labelled windows (`n_classes = classes.len()` probabilities each, labels as class
    /// indices). `None` when there are no windows or the shapes do not match.
    pub fn compute(
        data: &str,
        temperature: f64,
        probabilities: &[f32],
        labels: &[usize],
        classes: &[String],
        n_bins: usize,
    ) -> Option<CalibrationReport> {
        let n = classes.len();
        let brier = brier_multiclass(probabilities, labels, n)?;
        let log_loss = log_loss(probabilities, labels, n)?;
        let (confidences, correct) = top_label(probabilities, labels, n);
        let equal_width = reliability(&confidences, &correct, n_bins, Binning::EqualWidth);
        let equal_mass = reliability(&confidences, &correct, n_bins, Binning::EqualMass);
        let windows = labels.len();
        let per_class = classes
            .iter()
            .enumerate()
            .map(|(k, class)| {
                let p: Vec<f64> = probabilities.chunks_exact(n).map(|row| f64::from(row[k])).collect();
                let is_k: Vec<bool> = labels.iter().map(|&l| l == k).collect();
                ClassCalibration {
                    class: class.clone(),
                    ece: expected_calibration_error(&p, &is_k, n_bins),
                    brier: brier_binary(&p, &is_k).unwrap_or(0.0),
                    mean_probability: p.iter().sum::<f64>() / windows as f64,
                    frequency: is_k.iter().filter(|&&b| b).count() as f64 / windows as f64,
                }
            })
            .collect();
        Some(CalibrationReport {
            data: data.to_owned(),
            windows: windows as u64,
            temperature,
            bins: n_bins,
            ece: ece_of_bins(&equal_width),
            ece_equal_mass: ece_of_bins(&equal_mass),
            mce: mce_of_bins(&equal_width),
            brier,
            log_loss,
            mean_confidence: confidences.iter().sum::<f64>() / windows as f64,
            accuracy: correct.iter().filter(|&&c| c).count() as f64 / windows as f64,
            reliability: equal_width,
            reliability_equal_mass: equal_mass,
            per_class,
            fit: None,
        })
    }
}

impl CalibrationReport {
    /// The calibration in one sentence, for every face: well calibrated, or over/underconfident by how much.
    pub fn verdict(&self) -> String {
        let gap = (self.mean_confidence - self.accuracy) * 100.0;
        if self.ece <= WELL_CALIBRATED_ECE {
            format!(
                "Well calibrated: ECE {:.3} (at most {WELL_CALIBRATED_ECE}); its confidence can be read as the \
                 chance of being right.",
                self.ece
            )
        } else if gap > 0.0 {
            format!(
                "Overconfident: {:.1}% mean confidence for {:.1}% accuracy ({gap:.1} points too sure; ECE {:.3}). \
                 `evaluate --fit-temperature` can fix this.",
                self.mean_confidence * 100.0,
                self.accuracy * 100.0,
                self.ece
            )
        } else {
            format!(
                "Underconfident: {:.1}% mean confidence for {:.1}% accuracy ({:.1} points too unsure; ECE {:.3}). \
                 `evaluate --fit-temperature` can fix this.",
                self.mean_confidence * 100.0,
                self.accuracy * 100.0,
                -gap,
                self.ece
            )
        }
    }

    /// Whether the verdict is "well calibrated".
    pub fn well_calibrated(&self) -> bool {
        self.ece <= WELL_CALIBRATED_ECE
    }
}

/// The top-label view of labelled windows: each window's confidence (its largest probability) and whether the
/// predicted class (the one [`crate::numeric::argmax`] picks) is the true one.
pub fn top_label(probabilities: &[f32], labels: &[usize], n_classes: usize) -> (Vec<f64>, Vec<bool>) {
    if n_classes == 0 {
        return (Vec::new(), Vec::new());
    }
    probabilities
        .chunks_exact(n_classes)
        .zip(labels)
        .map(|(row, &label)| match crate::numeric::argmax(row) {
            Some((predicted, confidence)) => (f64::from(confidence), predicted == label),
            None => (f64::NAN, false),
        })
        .unzip()
}

/// Fits a temperature on `fit` (probabilities and labels of the file fitted on) and measures what it does to the
/// evaluated windows. `previous` is the temperature the probabilities already had (the card's).
pub fn temperature_report(
    fit: (&[f32], &[usize]),
    evaluated: (&[f32], &[usize]),
    n_classes: usize,
    fitted_on: &str,
    held_out: bool,
    previous: f64,
    n_bins: usize,
) -> Result<TemperatureReport, FitError> {
    let fitted = fit_temperature(fit.0, fit.1, n_classes)?;
    let (probabilities, labels) = evaluated;
    let mut scaled = probabilities.to_vec();
    scaled.chunks_exact_mut(n_classes.max(1)).for_each(|row| apply_temperature(row, fitted.temperature));
    let ece = |p: &[f32]| {
        let (c, ok) = top_label(p, labels, n_classes);
        expected_calibration_error(&c, &ok, n_bins)
    };
    let or_nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
    Ok(TemperatureReport {
        fitted_on: fitted_on.to_owned(),
        held_out,
        windows: fitted.windows,
        previous_temperature: previous,
        temperature: previous * fitted.temperature,
        at_bound: fitted.at_bound,
        fit_log_loss_before: fitted.log_loss_before,
        fit_log_loss_after: fitted.log_loss_after,
        ece_before: ece(probabilities),
        ece_after: ece(&scaled),
        log_loss_before: or_nan(log_loss(probabilities, labels, n_classes)),
        log_loss_after: or_nan(log_loss(&scaled, labels, n_classes)),
        brier_before: or_nan(brier_multiclass(probabilities, labels, n_classes)),
        brier_after: or_nan(brier_multiclass(&scaled, labels, n_classes)),
        card: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_width_bins_put_edge_values_in_the_bin_below() {
        let bins = reliability(&[0.0, 0.2, 0.21, 1.0], &[true, false, true, true], 5, Binning::EqualWidth);
        let counts: Vec<(f64, u64)> = bins.iter().map(|b| (b.lower, b.count)).collect();
        assert_eq!(counts, vec![(0.0, 2), (0.2, 1), (0.8, 1)]);
        assert_eq!(bins[0].accuracy, 0.5);
    }

    #[test]
    fn a_perfectly_calibrated_bin_has_no_error_and_an_overconfident_one_does() {
        let confidences = [0.9; 10];
        let mut correct = [true; 10];
        correct[0] = false;
        assert!(expected_calibration_error(&confidences, &correct, 15) < 1e-12);
        let all_wrong = [false; 10];
        assert!((expected_calibration_error(&confidences, &all_wrong, 15) - 0.9).abs() < 1e-12);
    }

    #[test]
    fn temperature_one_changes_nothing_and_never_the_predicted_class() {
        let mut row = [0.7f32, 0.2, 0.1];
        apply_temperature(&mut row, 1.0);
        assert_eq!(row, [0.7, 0.2, 0.1]);
        apply_temperature(&mut row, 2.0);
        assert!(row[0] > row[1] && row[1] > row[2]);
        assert!(row[0] < 0.7, "a temperature above 1 softens: {row:?}");
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // softmax(ln p / 2) = sqrt(p) / Σ sqrt(p).
        let s = 0.7f64.sqrt() + 0.2f64.sqrt() + 0.1f64.sqrt();
        assert!((f64::from(row[0]) - 0.7f64.sqrt() / s).abs() < 1e-6);
    }

    #[test]
    fn the_fitted_temperature_is_where_the_loss_is_lowest() {
        // An overconfident model: 0.95 on the top class, right 70 % of the time.
        let mut probabilities = Vec::new();
        let mut labels = Vec::new();
        for i in 0..100 {
            probabilities.extend_from_slice(&[0.95f32, 0.03, 0.02]);
            labels.push(if i % 10 < 7 { 0 } else { 1 + i % 2 });
        }
        let fit = fit_temperature(&probabilities, &labels, 3).unwrap_or_else(|e| panic!("{e}"));
        assert!(fit.temperature > 1.0 && !fit.at_bound, "{fit:?}");
        assert!(fit.log_loss_after < fit.log_loss_before);
        let loss_at = |t: f64| {
            let mut scaled = probabilities.clone();
            scaled.chunks_exact_mut(3).for_each(|row| apply_temperature(row, t));
            log_loss(&scaled, &labels, 3).unwrap_or(f64::NAN)
        };
        for t in [fit.temperature * 0.95, fit.temperature * 1.05] {
            assert!(loss_at(t) > fit.log_loss_after, "T = {t}");
        }
        assert!((loss_at(fit.temperature) - fit.log_loss_after).abs() < 1e-6);
    }

    #[test]
    fn a_fit_on_nothing_or_bad_labels_says_why() {
        assert_eq!(fit_temperature(&[], &[], 3), Err(FitError::NoWindows));
        assert!(matches!(fit_temperature(&[0.5, 0.5], &[2], 2), Err(FitError::Label { window: 0, label: 2, .. })));
        assert!(matches!(fit_temperature(&[0.5], &[0], 2), Err(FitError::Shape { .. })));
    }
}
