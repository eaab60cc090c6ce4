//! Drift statistics written out by hand, each matching its scipy counterpart (checked against fixtures made by
//! `tests/fixtures/drift/make_fixtures.py`): Jensen–Shannon distance, population stability index, the chi-square
//! goodness-of-fit p-value and the 1-D Wasserstein distance. The two-sample Kolmogorov–Smirnov test lives in
//! [`super::ks`].

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Proportion that stands in for an empty bin in [`psi`] (Evidently's convention): without it one empty bin
/// makes the index infinite.
pub const PSI_EMPTY_BIN: f64 = 1e-4;

/// Inputs a statistic cannot work with. Messages name the argument and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("`{what}` is empty")]
    Empty { what: &'static str },
    #[error("`{first}` has {first_len} entries but `{second}` has {second_len}")]
    LengthMismatch { first: &'static str, first_len: usize, second: &'static str, second_len: usize },
    #[error("`{what}[{index}]` is {value}: it must be a finite number{extra}")]
    BadValue { what: &'static str, index: usize, value: f64, extra: &'static str },
    #[error("`{what}` sums to zero: it has no distribution to compare")]
    ZeroSum { what: &'static str },
}

/// Checks that a distribution (counts or proportions) is non-empty, finite, non-negative and not all zero, and
/// returns its sum.
fn check_distribution(what: &'static str, values: &[f64]) -> Result<f64, StatsError> {
    if values.is_empty() {
        return Err(StatsError::Empty { what });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
        return Err(StatsError::BadValue { what, index, value, extra: " and not negative" });
    }
    let sum: f64 = values.iter().sum();
    if sum <= 0.0 {
        return Err(StatsError::ZeroSum { what });
    }
    Ok(sum)
}

fn check_same_length(first: &'static str, a: &[f64], second: &'static str, b: &[f64]) -> Result<(), StatsError> {
    if a.len() != b.len() {
        return Err(StatsError::LengthMismatch { first, first_len: a.len(), second, second_len: b.len() });
    }
    Ok(())
}

/// Checks that a sample is non-empty and finite.
pub(crate) fn check_sample(what: &'static str, values: &[f64]) -> Result<(), StatsError> {
    if values.is_empty() {
        return Err(StatsError::Empty { what });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StatsError::BadValue { what, index, value, extra: "" });
    }
    Ok(())
}

/// `x · ln(x / y)` with scipy's `rel_entr` conventions for zeros.
fn relative_entropy_term(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Jensen–Shannon distance with base-2 logarithms, as `scipy.spatial.distance.jensenshannon(p, q, base=2)`:
/// both inputs are first scaled to sum to 1, so counts work as well as proportions. The result lies in [0, 1].
pub fn js_distance(p: &[f64], q: &[f64]) -> Result<f64, StatsError> {
    check_same_length("p", p, "q", q)?;
    let p_sum = check_distribution("p", p)?;
    let q_sum = check_distribution("q", q)?;
    let mut left = 0.0;
    let mut right = 0.0;
    for (&pi, &qi) in p.iter().zip(q) {
        let pi = pi / p_sum;
        let qi = qi / q_sum;
        let mi = (pi + qi) / 2.0;
        left += relative_entropy_term(pi, mi);
        right += relative_entropy_term(qi, mi);
    }
    let js = (left + right) / std::f64::consts::LN_2;
    // Rounding can leave a tiny negative number for identical inputs; scipy would return NaN there, we return 0.
    Ok((js / 2.0).max(0.0).sqrt())
}

/// Population stability index of `actual` against `expected` over the same bins or classes:
/// `Σ (a_i − e_i) · ln(a_i / e_i)` on proportions. Both inputs are scaled to sum to 1 (counts work too); a
/// proportion that is exactly zero is replaced by [`PSI_EMPTY_BIN`] (1e-4) without renormalising, as Evidently
/// does. Rules of thumb: below 0.1 stable, 0.1–0.25 moderate shift, above 0.25 major shift.
pub fn psi(expected: &[f64], actual: &[f64]) -> Result<f64, StatsError> {
    check_same_length("expected", expected, "actual", actual)?;
    let e_sum = check_distribution("expected", expected)?;
    let a_sum = check_distribution("actual", actual)?;
    let floor = |x: f64| if x == 0.0 { PSI_EMPTY_BIN } else { x };
    Ok(expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let e = floor(e / e_sum);
            let a = floor(a / a_sum);
            (a - e) * (a / e).ln()
        })
        .sum())
}

/// Result of a chi-square goodness-of-fit test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquareTest {
    pub statistic: f64,
    pub degrees_of_freedom: usize,
    /// `NaN` when there is only one category (no degree of freedom), like scipy.
    pub p_value: f64,
}

/// Chi-square goodness-of-fit test of observed counts against expected frequencies, as
/// `scipy.stats.chisquare(f_obs, f_exp * f_obs.sum() / f_exp.sum())`: the expected frequencies are scaled to the
/// observed total, the statistic is `Σ (o − e)² / e` and the p-value is the chi-square survival function with
/// `k − 1` degrees of freedom. Every expected frequency must be positive: leaving out or smoothing categories with
/// zero expectation is the caller's decision (see [`super::class_counts_chi2_p`]).
pub fn chi_square_test(observed: &[f64], expected: &[f64]) -> Result<ChiSquareTest, StatsError> {
    check_same_length("observed", observed, "expected", expected)?;
    let o_sum = check_distribution("observed", observed)?;
    let e_sum = check_distribution("expected", expected)?;
    if let Some((index, &value)) = expected.iter().enumerate().find(|(_, e)| **e <= 0.0) {
        return Err(StatsError::BadValue { what: "expected", index, value, extra: " above zero" });
    }
    let statistic: f64 = observed
        .iter()
        .zip(expected)
        .map(|(&o, &e)| {
            let e = e * o_sum / e_sum;
            (o - e) * (o - e) / e
        })
        .sum();
    let degrees_of_freedom = observed.len() - 1;
    let p_value = match ChiSquared::new(degrees_of_freedom as f64) {
        Ok(dist) => dist.sf(statistic),
        Err(_) => f64::NAN,
    };
    Ok(ChiSquareTest { statistic, degrees_of_freedom, p_value })
}

/// First Wasserstein (earth mover's) distance between two 1-D samples, as `scipy.stats.wasserstein_distance(u, v)`
/// without weights: the area between the two empirical CDFs.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    check_sample("u", u)?;
    check_sample("v", v)?;
    let mut u_sorted = u.to_vec();
    let mut v_sorted = v.to_vec();
    u_sorted.sort_by(f64::total_cmp);
    v_sorted.sort_by(f64::total_cmp);
    Ok(wasserstein_sorted(&u_sorted, &v_sorted))
}

/// [`wasserstein_distance`] on samples that are already sorted ascending and finite.
pub(crate) fn wasserstein_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    // Walk the merged sorted values; between consecutive values x_k < x_{k+1} both CDFs are constant, equal to the
    // share of each sample that is <= x_k.
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut previous: Option<f64> = None;
    while i < u.len() || j < v.len() {
        let next = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        if let Some(x) = previous {
            let cdf_u = i as f64 / nu;
            let cdf_v = j as f64 / nv;
            total += (cdf_u - cdf_v).abs() * (next - x);
        }
        while u.get(i).is_some_and(|&a| a <= next) {
            i += 1;
        }
        while v.get(j).is_some_and(|&b| b <= next) {
            j += 1;
        }
        previous = Some(next);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_distance_is_zero_for_identical_and_one_for_disjoint() {
        assert_eq!(js_distance(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap(), 0.0);
        assert!((js_distance(&[1.0, 0.0], &[0.0, 1.0]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psi_rejects_mismatched_lengths_and_empty_distributions() {
        assert!(matches!(psi(&[1.0], &[1.0, 2.0]), Err(StatsError::LengthMismatch { .. })));
        assert!(matches!(psi(&[0.0, 0.0], &[1.0, 2.0]), Err(StatsError::ZeroSum { what: "expected" })));
        assert!(matches!(js_distance(&[-1.0, 2.0], &[1.0, 2.0]), Err(StatsError::BadValue { index: 0, .. })));
    }

    #[test]
    fn chi_square_refuses_zero_expectation() {
        let err = chi_square_test(&[1.0, 2.0], &[0.0, 1.0]).unwrap_err();
        assert!(err.to_string().contains("expected[0]"), "{err}");
    }

    #[test]
    fn wasserstein_of_shifted_sample_is_the_shift() {
        let u = [0.0, 1.0, 3.0];
        let v = [2.5, 3.5, 5.5];
        assert!((wasserstein_distance(&u, &v).unwrap() - 2.5).abs() < 1e-12);
    }
}
