//! Classification metrics computed from a confusion matrix, with scikit-learn's definitions and
//! `zero_division=0`, over ALL the card's classes (`labels=range(n)`), plus per-user accuracy.
//!
//! Degenerate cases, decided once here (scikit-learn 1.9 behaviour in brackets):
//! - A class with no true windows has support 0 and recall 0; a class never predicted has precision 0; a class
//!   with neither has F1 0. Such classes still count in the macro average [same, with `zero_division=0`].
//! - Cohen's kappa is `None` when it is undefined: when there are no windows, or when the expected agreement is 1
//!   (every window of one class, and every prediction that class) [scikit-learn returns NaN and warns]. A report
//!   writes `None` as JSON `null`.
//! - With no windows at all, accuracy and every average are 0 and kappa is `None` [scikit-learn raises]. Callers
//!   that need at least one window check [`ClassificationMetrics::windows`].

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::ConfusionMatrix;

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Windows whose true class is this one.
    pub support: u64,
    /// Windows predicted as this class.
    pub predicted: u64,
}

/// An average of per-class precision, recall and F1 (macro: unweighted; weighted: by support).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AveragedMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Every metric of docs/FORMATS.md §4 for one confusion matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationMetrics {
    /// Number of windows scored.
    pub windows: u64,
    /// Number predicted right.
    pub correct: u64,
    /// `correct / windows` (0 with no windows).
    pub accuracy: f64,
    /// Cohen's kappa; `None` when undefined (see the module notes).
    pub cohen_kappa: Option<f64>,
    /// One entry per class, in card order.
    pub per_class: Vec<ClassMetrics>,
    pub macro_avg: AveragedMetrics,
    pub weighted_avg: AveragedMetrics,
}

/// `numerator / denominator`, or 0 when the denominator is 0 (scikit-learn's `zero_division=0`).
fn divide_or_zero(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 { 0.0 } else { numerator / denominator }
}

impl ClassificationMetrics {
    pub fn from_confusion(matrix: &ConfusionMatrix) -> Self {
        let n = matrix.n_classes();
        let true_totals = matrix.true_totals();
        let predicted_totals = matrix.predicted_totals();
        let windows = matrix.total();
        let correct = matrix.correct();

        let per_class: Vec<ClassMetrics> = (0..n)
            .map(|i| {
                let tp = matrix.count(i, i) as f64;
                let support = true_totals.get(i).copied().unwrap_or(0);
                let predicted = predicted_totals.get(i).copied().unwrap_or(0);
                ClassMetrics {
                    precision: divide_or_zero(tp, predicted as f64),
                    recall: divide_or_zero(tp, support as f64),
                    // scikit-learn's form: (1 + β²)·tp / ((1 + β²)·tp + β²·fn + fp) with β = 1.
                    f1: divide_or_zero(2.0 * tp, support as f64 + predicted as f64),
                    support,
                    predicted,
                }
            })
            .collect();

        let macro_avg = average(&per_class, |_| 1.0);
        // scikit-learn falls back to the unweighted mean when every weight is 0 (only possible with no windows).
        let weighted_avg = if windows == 0 { macro_avg } else { average(&per_class, |class| class.support as f64) };

        Self {
            windows,
            correct,
            accuracy: divide_or_zero(correct as f64, windows as f64),
            cohen_kappa: cohen_kappa(matrix),
            per_class,
            macro_avg,
            weighted_avg,
        }
    }
}

/// `Σ wᵢ·xᵢ / Σ wᵢ` of precision, recall and F1 (0 for no classes).
fn average(per_class: &[ClassMetrics], weight: impl Fn(&ClassMetrics) -> f64) -> AveragedMetrics {
    let total_weight: f64 = per_class.iter().map(&weight).sum();
    let weighted_sum = |value: fn(&ClassMetrics) -> f64| -> f64 {
        let sum: f64 = per_class.iter().map(|class| value(class) * weight(class)).sum();
        divide_or_zero(sum, total_weight)
    };
    AveragedMetrics {
        precision: weighted_sum(|c| c.precision),
        recall: weighted_sum(|c| c.recall),
        f1: weighted_sum(|c| c.f1),
    }
}

/// Cohen's kappa as scikit-learn computes it: `1 − Σ_{i≠j} C_ij / Σ_{i≠j} E_ij` with
/// `E_ij = predicted_i · true_j / N`; `None` when `N = 0` or the expected disagreement is 0.
fn cohen_kappa(matrix: &ConfusionMatrix) -> Option<f64> {
    let total = matrix.total();
    if total == 0 {
        return None;
    }
    let true_totals = matrix.true_totals();
    let predicted_totals = matrix.predicted_totals();
    let mut observed_disagreement = 0.0;
    let mut expected_disagreement = 0.0;
    for (i, &predicted) in predicted_totals.iter().enumerate() {
        for (j, &truth) in true_totals.iter().enumerate() {
            if i != j {
                observed_disagreement += matrix.count(i, j) as f64;
                expected_disagreement += predicted as f64 * truth as f64 / total as f64;
            }
        }
    }
    if expected_disagreement == 0.0 { None } else { Some(1.0 - observed_disagreement / expected_disagreement) }
}

/// Accuracy over the windows of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAccuracy {
    pub user: String,
    pub windows: u64,
    pub correct: u64,
    pub accuracy: f64,
}

/// Accuracy per user from `(user, true class, predicted class)` rows, users in natural order ([`natural_cmp`]).
pub fn per_user<S: AsRef<str>>(rows: &[(S, usize, usize)]) -> Vec<UserAccuracy> {
    let mut counts: std::collections::HashMap<&str, (u64, u64)> = std::collections::HashMap::new();
    for (user, true_class, predicted) in rows {
        let entry = counts.entry(user.as_ref()).or_default();
        entry.0 += 1;
        entry.1 += u64::from(true_class == predicted);
    }
    per_user_from_counts(counts)
}

/// Accuracy per user from `user -> (windows, correct)` counts, users in natural order ([`natural_cmp`]).
pub fn per_user_from_counts<S: AsRef<str>>(counts: impl IntoIterator<Item = (S, (u64, u64))>) -> Vec<UserAccuracy> {
    let mut users: Vec<UserAccuracy> = counts
        .into_iter()
        .map(|(user, (windows, correct))| UserAccuracy {
            user: user.as_ref().to_owned(),
            windows,
            correct,
            accuracy: divide_or_zero(correct as f64, windows as f64),
        })
        .collect();
    users.sort_by(|a, b| natural_cmp(&a.user, &b.user));
    users
}

/// Numeric-aware ordering of names: runs of ASCII digits compare as numbers (`"2" < "10"`, `"user2" < "user10"`),
/// other runs as text (by code point, so upper case before lower case); a digit run sorts before a text run; a
/// name that is a prefix of another comes first; equal-valued names (`"01"`, `"1"`) fall back to plain text order.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut left = chunks(a);
    let mut right = chunks(b);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (is_digits(x), is_digits(y)) {
                    (true, true) => compare_digit_runs(x, y).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

fn is_digits(run: &str) -> bool {
    run.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

/// Compares two runs of ASCII digits by value, without overflow on long runs.
fn compare_digit_runs(x: &str, y: &str) -> Ordering {
    let x = x.trim_start_matches('0');
    let y = y.trim_start_matches('0');
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

/// Splits a name into maximal runs of ASCII digits and of everything else.
fn chunks(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = name;
    std::iter::from_fn(move || {
        let first = rest.bytes().next()?;
        let digits = first.is_ascii_digit();
        let end = rest.bytes().position(|b| b.is_ascii_digit() != digits).unwrap_or(rest.len());
        // Digit bytes are ASCII, so `end` is always on a character boundary.
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_numbers_by_value() {
        let mut names = vec!["10", "2", "user10", "user2", "1", "a", "01", "a1", "User1"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, vec!["01", "1", "2", "10", "User1", "a", "a1", "user2", "user10"]);
    }

    #[test]
    fn natural_order_handles_huge_numbers_and_non_ascii() {
        assert_eq!(natural_cmp("99999999999999999999999", "100000000000000000000000"), Ordering::Less);
        assert_eq!(natural_cmp("é2", "é10"), Ordering::Less);
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }

    #[test]
    fn empty_matrix_gives_zeros_and_no_kappa() {
        let m = ClassificationMetrics::from_confusion(&ConfusionMatrix::new(3));
        assert_eq!(m.windows, 0);
        assert_eq!(m.accuracy, 0.0);
        assert_eq!(m.cohen_kappa, None);
        assert_eq!(m.macro_avg, AveragedMetrics::default());
        assert_eq!(m.weighted_avg, AveragedMetrics::default());
        assert_eq!(m.per_class.len(), 3);
    }

    #[test]
    fn zero_classes_do_not_panic() {
        let m = ClassificationMetrics::from_confusion(&ConfusionMatrix::new(0));
        assert!(m.per_class.is_empty());
        assert_eq!(m.cohen_kappa, None);
    }
}
