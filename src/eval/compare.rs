//! Two models compared on the same windows of one labeled file (`har-monitor compare`, docs/FORMATS.md §4
//! `compare.json`): the headline and per-class deltas of their two evaluation reports, and McNemar's test on the
//! paired per-window correctness — whether the difference is more than chance.
//!
//! McNemar's test, as `statsmodels.stats.contingency_tables.mcnemar` computes it (checked against it by
//! `tests/fixtures/compare/make_fixtures.py`): with `b` windows only A got right and `c` only B got right,
//! - the **exact** test (`exact=True`): the two-sided binomial p-value `min(1, 2·P(X ≤ min(b, c)))`,
//!   X ~ Binomial(b + c, ½);
//! - the **chi-square** test with Edwards' continuity correction (`exact=False, correction=True`): the statistic
//!   `(|b − c| − 1)² / (b + c)` and its upper tail under χ²(1). Like statsmodels, `b = c` gives `1 / (b + c)`, not 0
//!   (the correction is not clipped).
//!
//! **Which p-value is primary:** the exact one when `b + c < 25`, else the chi-square one. statsmodels calls the
//! chi-square distribution "the approximation to the distribution of the test statistic for large sample sizes";
//! 25 discordant windows is the usual threshold below which the approximation is not trusted (e.g. Wikipedia's
//! *McNemar's test*, after Rosner). Both are always reported.
//!
//! **No discordant window (`b + c = 0`):** the models are right and wrong on exactly the same windows; the exact
//! p-value is 1 and the chi-square statistic is undefined (`None`, JSON `null`; statsmodels divides by zero and
//! returns an infinite statistic with p = 0, which would read as a certain difference).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plot::CompareFigure;
use super::{EvalError, EvaluationReport};
use crate::output::{AtomicFile, OutputError, commit_all};

/// Significance level of the verdict.
pub const ALPHA: f64 = 0.05;

/// Below this many discordant windows (`b + c`) the exact p-value is the primary one.
pub const EXACT_BELOW: u64 = 25;

/// How one McNemar p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum McNemarMethod {
    /// Two-sided exact binomial test.
    Exact,
    /// Chi-square with continuity correction.
    ChiSquare,
}

/// McNemar's test on the paired correctness of two models over the same windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Windows both models got right (a).
    pub both_right: u64,
    /// Windows only model A got right (b).
    pub only_a_right: u64,
    /// Windows only model B got right (c).
    pub only_b_right: u64,
    /// Windows both got wrong (d).
    pub both_wrong: u64,
    /// `b + c`, the windows on which the test rests.
    pub discordant: u64,
    /// statsmodels' `exact=True` statistic: `min(b, c)`.
    pub exact_statistic: u64,
    /// Two-sided exact binomial p-value.
    pub exact_p: f64,
    /// `(|b − c| − 1)² / (b + c)`; `None` when `b + c = 0`.
    pub chi2_statistic: Option<f64>,
    /// Its χ²(1) upper tail; `None` when `b + c = 0`.
    pub chi2_p: Option<f64>,
    /// Which p-value the verdict uses (see [`EXACT_BELOW`]).
    pub primary: McNemarMethod,
    /// The primary p-value.
    pub p_value: f64,
    /// The rule that chose `primary`, in words.
    pub rule: String,
}

impl McNemar {
    /// The test on the 2×2 table `[[both right, only A right], [only B right, both wrong]]`.
    pub fn from_counts(both_right: u64, only_a_right: u64, only_b_right: u64, both_wrong: u64) -> McNemar {
        let (b, c) = (only_a_right, only_b_right);
        let discordant = b.saturating_add(c);
        let exact_statistic = b.min(c);
        let exact_p = exact_p_value(b, c);
        let (chi2_statistic, chi2_p) = match chi2_corrected(b, c) {
            Some((statistic, p)) => (Some(statistic), Some(p)),
            None => (None, None),
        };
        let primary = if discordant < EXACT_BELOW { McNemarMethod::Exact } else { McNemarMethod::ChiSquare };
        let p_value = match (primary, chi2_p) {
            (McNemarMethod::ChiSquare, Some(p)) => p,
            _ => exact_p,
        };
        McNemar {
            both_right,
            only_a_right,
            only_b_right,
            both_wrong,
            discordant,
            exact_statistic,
            exact_p,
            chi2_statistic,
            chi2_p,
            primary,
            p_value,
            rule: format!(
                "exact binomial p-value when fewer than {EXACT_BELOW} windows are discordant (b + c), else \
                 chi-square with continuity correction; here b + c = {discordant}"
            ),
        }
    }

    /// Windows paired.
    pub fn windows(&self) -> u64 {
        self.both_right
            .saturating_add(self.only_a_right)
            .saturating_add(self.only_b_right)
            .saturating_add(self.both_wrong)
    }
}

/// statsmodels' exact McNemar p-value: `min(1, 2·P(X ≤ min(b, c)))` with X ~ Binomial(b + c, ½); 1 when `b + c = 0`.
pub fn exact_p_value(b: u64, c: u64) -> f64 {
    let n = b.saturating_add(c);
    let k = b.min(c);
    (2.0 * binomial_half_cdf(k, n)).min(1.0)
}

/// The continuity-corrected chi-square statistic `(|b − c| − 1)² / (b + c)` and its χ²(1) upper tail; `None` when
/// `b + c = 0`.
pub fn chi2_corrected(b: u64, c: u64) -> Option<(f64, f64)> {
    let n = b.saturating_add(c);
    if n == 0 {
        return None;
    }
    let diff = b.abs_diff(c) as f64 - 1.0;
    let statistic = diff * diff / n as f64;
    Some((statistic, chi2_1_sf(statistic)))
}

/// Upper tail of the χ² distribution with one degree of freedom: `erfc(√(x/2))`.
fn chi2_1_sf(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    libm::erfc((x / 2.0).sqrt())
}

/// `P(X ≤ k)` for X ~ Binomial(n, ½) and `k ≤ n / 2`-ish (any `k` works; `k ≥ n` gives 1).
///
/// Summed in ratio form so that it keeps full relative precision far into the tail (p-values of 1e-300 and
/// below) and for large `n`: `C(n, k)` is a product of `k` ratios kept with a separate binary exponent, and
/// `Σ_{i≤k} C(n, i) / C(n, k)` is summed from `i = k` down, each term the previous one times `i / (n − i + 1)`.
/// The relative error grows like `k` rounding errors (about 1e-13 for `k` in the thousands); statrs' `Binomial`
/// goes through a log-gamma front factor whose absolute error grows with `n · ln n`, too much for agreement
/// with scipy to 1e-12.
fn binomial_half_cdf(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    // C(n, k) = mantissa · 2^exponent, as the product of (n − k + i) / i for i = 1..=k.
    let mut mantissa = 1.0f64;
    let mut exponent: i64 = 0;
    for i in 1..=k {
        mantissa *= (n - k + i) as f64 / i as f64;
        if mantissa > 1e280 {
            let (m, e) = libm::frexp(mantissa);
            mantissa = m;
            exponent += i64::from(e);
        }
    }
    // Σ_{i≤k} C(n, i) / C(n, k).
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    let mut i = k;
    while i > 0 {
        term *= i as f64 / (n - i + 1) as f64;
        sum += term;
        if term < sum * 1e-18 {
            break;
        }
        i -= 1;
    }
    // C(n, k) · sum · 2^(−n), scaled in steps that stay inside i32.
    let (m, e) = libm::frexp(mantissa * sum);
    let total_exponent = exponent + i64::from(e) - n as i64;
    // Below 2^-1100 the result is not representable (the smallest subnormal is 2^-1074).
    match i32::try_from(total_exponent.max(-1100)) {
        Ok(step) => libm::scalbn(m, step).min(1.0),
        Err(_) => 0.0,
    }
}

/// One number of both models and their difference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub a: f64,
    pub b: f64,
    /// `b − a`: positive when B is higher.
    pub delta: f64,
}

impl Delta {
    pub fn new(a: f64, b: f64) -> Delta {
        Delta { a, b, delta: b - a }
    }
}

/// A number that may be undefined on one side (Cohen's kappa).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionalDelta {
    pub a: Option<f64>,
    pub b: Option<f64>,
    /// `b − a`; `None` when either is undefined.
    pub delta: Option<f64>,
}

/// The headline numbers of both models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadlineDeltas {
    pub accuracy: Delta,
    pub macro_f1: Delta,
    pub weighted_f1: Delta,
    pub cohen_kappa: OptionalDelta,
    pub macro_precision: Delta,
    pub macro_recall: Delta,
}

/// One class's F1 in both models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassDelta {
    pub class: String,
    /// Windows of this true class (the same for both: the windows are the same).
    pub support: u64,
    pub f1_a: f64,
    pub f1_b: f64,
    /// `f1_b − f1_a`.
    pub delta: f64,
    pub precision_a: f64,
    pub precision_b: f64,
    pub recall_a: f64,
    pub recall_b: f64,
}

/// The verdict in plain words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `"A"` or `"B"` when one is significantly better at [`ALPHA`], else `None`.
    pub better: Option<String>,
    pub significant: bool,
    /// E.g. `"B is better, p = 0.003"`, `"no significant difference (p = 0.41)"`.
    pub text: String,
    /// A sentence with the counts behind it.
    pub detail: String,
}

/// Two evaluation reports of the same windows, their differences and McNemar's test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `har-compare/1`.
    pub format: String,
    /// The data file, as given.
    pub data: String,
    pub classes: Vec<String>,
    /// Windows scored by both (the same windows).
    pub windows: u64,
    pub deltas: HeadlineDeltas,
    pub per_class: Vec<ClassDelta>,
    pub mcnemar: McNemar,
    pub verdict: Verdict,
    pub alpha: f64,
    /// Model A's full evaluation report (as `har-monitor evaluate` writes it).
    pub a: EvaluationReport,
    pub b: EvaluationReport,
    pub notes: Vec<String>,
}

/// The paired correctness of two models, window by window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairedCounts {
    pub both_right: u64,
    pub only_a_right: u64,
    pub only_b_right: u64,
    pub both_wrong: u64,
}

impl PairedCounts {
    /// Counts one window both models scored.
    pub fn add(&mut self, a_right: bool, b_right: bool) {
        let cell = match (a_right, b_right) {
            (true, true) => &mut self.both_right,
            (true, false) => &mut self.only_a_right,
            (false, true) => &mut self.only_b_right,
            (false, false) => &mut self.both_wrong,
        };
        *cell += 1;
    }

    pub fn total(&self) -> u64 {
        self.both_right + self.only_a_right + self.only_b_right + self.both_wrong
    }
}

/// Why two reports cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareMismatch {
    #[error("{0}")]
    Classes(String),
    #[error(
        "the paired counts cover {paired} windows but the reports scored {a} (A) and {b} (B): they are not of the \
         same windows"
    )]
    Windows { paired: u64, a: u64, b: u64 },
}

/// Says how two class lists differ, or `None` when they are equal.
pub fn class_difference(a: &[String], b: &[String]) -> Option<String> {
    if a == b {
        return None;
    }
    let only_a: Vec<&str> = a.iter().filter(|c| !b.contains(c)).map(String::as_str).collect();
    let only_b: Vec<&str> = b.iter().filter(|c| !a.contains(c)).map(String::as_str).collect();
    let mut parts = Vec::new();
    if !only_a.is_empty() {
        parts.push(format!("only A has {}", only_a.join(", ")));
    }
    if !only_b.is_empty() {
        parts.push(format!("only B has {}", only_b.join(", ")));
    }
    if parts.is_empty() {
        let first = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
        parts.push(format!(
            "the same classes in another order (output {first} is {} in A and {} in B)",
            a.get(first).map_or("?", String::as_str),
            b.get(first).map_or("?", String::as_str)
        ));
    }
    Some(format!(
        "the two models have different class lists ({} classes in A, {} in B): {}. Windows can only be compared \
         between models that predict the same classes in the same order",
        a.len(),
        b.len(),
        parts.join("; ")
    ))
}

/// A p-value as people read it: `0.003`, `0.41`, `2.2e-5`, `< 1e-300`.
pub fn format_p(p: f64) -> String {
    if !p.is_finite() {
        return "undefined".to_owned();
    }
    if p >= 0.995 {
        "1.00".to_owned()
    } else if p >= 0.01 {
        format!("{p:.2}")
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else if p > 0.0 {
        format!("{p:.1e}")
    } else {
        "< 1e-300".to_owned()
    }
}

impl Comparison {
    /// Compares the reports of models A and B on the same windows, with their paired correctness.
    pub fn new(a: EvaluationReport, b: EvaluationReport, paired: PairedCounts) -> Result<Comparison, CompareMismatch> {
        if let Some(difference) = class_difference(&a.classes, &b.classes) {
            return Err(CompareMismatch::Classes(difference));
        }
        let windows = paired.total();
        if windows != a.windows.used || windows != b.windows.used {
            return Err(CompareMismatch::Windows { paired: windows, a: a.windows.used, b: b.windows.used });
        }
        let mcnemar =
            McNemar::from_counts(paired.both_right, paired.only_a_right, paired.only_b_right, paired.both_wrong);
        let deltas = HeadlineDeltas {
            accuracy: Delta::new(a.accuracy, b.accuracy),
            macro_f1: Delta::new(a.macro_avg.f1, b.macro_avg.f1),
            weighted_f1: Delta::new(a.weighted.f1, b.weighted.f1),
            cohen_kappa: OptionalDelta {
                a: a.cohen_kappa,
                b: b.cohen_kappa,
                delta: a.cohen_kappa.zip(b.cohen_kappa).map(|(x, y)| y - x),
            },
            macro_precision: Delta::new(a.macro_avg.precision, b.macro_avg.precision),
            macro_recall: Delta::new(a.macro_avg.recall, b.macro_avg.recall),
        };
        let per_class = a
            .per_class
            .iter()
            .zip(&b.per_class)
            .map(|(x, y)| ClassDelta {
                class: x.class.clone(),
                support: x.support,
                f1_a: x.f1,
                f1_b: y.f1,
                delta: y.f1 - x.f1,
                precision_a: x.precision,
                precision_b: y.precision,
                recall_a: x.recall,
                recall_b: y.recall,
            })
            .collect();
        let verdict = verdict(&mcnemar);
        let mut notes = Vec::new();
        if a.model.path == b.model.path {
            notes.push("A and B are the same model file.".to_owned());
        }
        Ok(Comparison {
            format: "har-compare/1".to_owned(),
            data: a.data.clone(),
            classes: a.classes.clone(),
            windows,
            deltas,
            per_class,
            mcnemar,
            verdict,
            alpha: ALPHA,
            a,
            b,
            notes,
        })
    }
}

/// The plain-language verdict of McNemar's test at [`ALPHA`].
pub fn verdict(m: &McNemar) -> Verdict {
    let method = match m.primary {
        McNemarMethod::Exact => "exact McNemar test",
        McNemarMethod::ChiSquare => "McNemar chi-square test with continuity correction",
    };
    let counts = format!(
        "B is right on {} window{} where A is wrong, A on {} where B is wrong",
        m.only_b_right,
        if m.only_b_right == 1 { "" } else { "s" },
        m.only_a_right
    );
    if m.discordant == 0 {
        return Verdict {
            better: None,
            significant: false,
            text: "no difference: both are right and wrong on the same windows".to_owned(),
            detail: format!(
                "The models disagree on no window's correctness ({} windows paired), so McNemar's test has nothing \
                 to weigh (exact p = 1).",
                m.windows()
            ),
        };
    }
    let p = format_p(m.p_value);
    let p_text = if p.starts_with('<') { format!("p {p}") } else { format!("p = {p}") };
    if m.p_value < ALPHA && m.only_a_right != m.only_b_right {
        let better = if m.only_b_right > m.only_a_right { "B" } else { "A" };
        Verdict {
            better: Some(better.to_owned()),
            significant: true,
            text: format!("{better} is better, {p_text}"),
            detail: format!(
                "{counts}; a split this uneven would happen by chance with probability {p} ({method}, α = {ALPHA})."
            ),
        }
    } else {
        Verdict {
            better: None,
            significant: false,
            text: format!("no significant difference ({p_text})"),
            detail: format!(
                "{counts}; a split like this is well within chance ({method}, p ≥ α = {ALPHA}). The difference in \
                 the numbers may not be real."
            ),
        }
    }
}

/// The files of a comparison directory, in the order [`write_compare_dir`] returns them.
pub const COMPARE_FILES: [&str; 2] = ["compare.json", "compare.png"];

/// Creates `dir` (and its parents) and writes `compare.json` and `compare.png` into it. Both are written to
/// temporary files first and replace earlier ones only when both are complete.
pub fn write_compare_dir(dir: &Path, comparison: &Comparison) -> Result<Vec<PathBuf>, EvalError> {
    let output_error = |e: OutputError| EvalError::Io { path: e.path, source: e.source };
    std::fs::create_dir_all(dir).map_err(|source| EvalError::CreateDir { path: dir.to_owned(), source })?;
    let json = dir.join("compare.json");
    let mut json_file = AtomicFile::create(&json).map_err(output_error)?;
    let mut text =
        serde_json::to_string_pretty(comparison).map_err(|source| EvalError::Json { path: json.clone(), source })?;
    text.push('\n');
    json_file.write_all(text.as_bytes()).map_err(|source| EvalError::Io { path: json.clone(), source })?;
    let png = dir.join("compare.png");
    let mut png_file = AtomicFile::create(&png).map_err(output_error)?;
    CompareFigure { comparison }.encode_png(&mut png_file, &png)?;
    commit_all(vec![json_file, png_file]).map_err(output_error)?;
    Ok(vec![json, png])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_discordant_window_gives_p_one_and_no_chi_square() {
        let m = McNemar::from_counts(10, 0, 0, 3);
        assert_eq!(m.exact_p, 1.0);
        assert_eq!((m.chi2_statistic, m.chi2_p), (None, None));
        assert_eq!(m.primary, McNemarMethod::Exact);
        let v = verdict(&m);
        assert!(!v.significant && v.better.is_none());
        assert!(v.text.starts_with("no difference"), "{}", v.text);
    }

    #[test]
    fn small_binomial_tails_are_exact_fractions() {
        // n = 10, k = 2: (1 + 10 + 45) / 1024.
        assert!((binomial_half_cdf(2, 10) - 56.0 / 1024.0).abs() < 1e-17);
        assert_eq!(binomial_half_cdf(0, 1), 0.5);
        assert_eq!(binomial_half_cdf(5, 5), 1.0);
        // 2^-2000 underflows a double's exponent range only below 2^-1074.
        assert_eq!(binomial_half_cdf(0, 2000), 0.0);
        assert!((binomial_half_cdf(0, 1000) - 2f64.powi(-1000)).abs() <= 2f64.powi(-1000) * 1e-15);
    }

    #[test]
    fn the_primary_p_value_switches_at_25_discordant_windows() {
        assert_eq!(McNemar::from_counts(0, 20, 4, 0).primary, McNemarMethod::Exact);
        let m = McNemar::from_counts(0, 20, 5, 0);
        assert_eq!(m.primary, McNemarMethod::ChiSquare);
        assert_eq!(Some(m.p_value), m.chi2_p);
        let v = verdict(&m);
        assert_eq!(v.better.as_deref(), Some("A"));
        assert!(v.text.starts_with("A is better, p = "), "{}", v.text);
    }

    #[test]
    fn class_lists_that_differ_are_named() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let text = class_difference(&s(&["a", "b", "c"]), &s(&["a", "b"])).unwrap();
        assert!(text.contains("only A has c"), "{text}");
        let text = class_difference(&s(&["a", "b"]), &s(&["b", "a"])).unwrap();
        assert!(text.contains("another order (output 0 is a in A and b in B)"), "{text}");
        assert_eq!(class_difference(&s(&["a"]), &s(&["a"])), None);
    }

    #[test]
    fn p_values_read_as_people_write_them() {
        assert_eq!(format_p(0.0031), "0.003");
        assert_eq!(format_p(0.41), "0.41");
        assert_eq!(format_p(2.2e-5), "2.2e-5");
        assert_eq!(format_p(1.0), "1.00");
        assert_eq!(format_p(0.0), "< 1e-300");
    }
}
