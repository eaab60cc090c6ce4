//! Order statistics and the arg-max of class scores, each defined once for every layer (loading, drift, the live
//! pipeline, evaluation). Where two definitions differ on purpose (a numpy-style interpolated quantile for the drift
//! statistics, a nearest-rank percentile for latencies), the name says which one it is.

/// Median of a slice (reordered in place); the mean of the two middle values for an even length (numpy's
/// `median`). `None` when empty.
pub fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper_mid, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper_mid = *upper_mid;
    if n % 2 == 1 {
        return Some(upper_mid);
    }
    let lower_mid = lower.iter().copied().max_by(f64::total_cmp)?;
    Some((lower_mid + upper_mid) / 2.0)
}

/// [`median_in_place`] of the values an iterator yields.
pub fn median_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    median_in_place(&mut values)
}

/// Quantile `q` (in [0, 1], clamped) of sorted values with linear interpolation between the two nearest ranks
/// (numpy's default `quantile`, method "linear"). `None` when empty.
pub fn quantile_linear_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(last);
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// [`quantile_linear_sorted`] of the values an iterator yields (in any order).
pub fn quantile_linear_of(values: impl Iterator<Item = f64>, q: f64) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    quantile_linear_sorted(&values, q)
}

/// Nearest-rank percentile `q` (in [0, 1]) of sorted values: the smallest value with at least `q` of the values at
/// or below it, always one of the values (for latency figures). 0 when empty.
pub fn percentile_nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Index and value of the largest score (a class probability or logit). NaN never wins; ties go to the smallest
/// index (numpy's `argmax` on NaN-free input). `None` when there is no score that is not NaN.
pub fn argmax(scores: &[f32]) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    for (index, &score) in scores.iter().enumerate() {
        if score.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, value)| score > value) {
            best = Some((index, score));
        }
    }
    best
}

/// Smallest and largest temperature a fit may return.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.05, 20.0);

/// Rescales one window's probabilities by a temperature: softmax(ln p / T). T > 1 softens an overconfident
/// model, T < 1 sharpens; T = 1 changes nothing and the predicted class never changes. A zero probability stays
/// zero; a row that is not a distribution (all zero, NaN) is left as it is.
pub fn apply_temperature(row: &mut [f32], temperature: f64) {
    if temperature == 1.0 || !temperature.is_finite() || temperature <= 0.0 {
        return;
    }
    let beta = 1.0 / temperature;
    let logs: Vec<f64> = row.iter().map(|&p| f64::from(p).ln() * beta).collect();
    let Some(top) = logs.iter().copied().filter(|l| !l.is_nan()).reduce(f64::max) else { return };
    if !top.is_finite() {
        return;
    }
    let exps: Vec<f64> = logs.iter().map(|&l| (l - top).exp()).collect();
    let sum: f64 = exps.iter().sum();
    if !(sum.is_finite() && sum > 0.0) {
        return;
    }
    for (p, e) in row.iter_mut().zip(exps) {
        *p = (e / sum) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median_in_place(&mut []), None);
        assert_eq!(median_of([5.0, -1.0].into_iter()), Some(2.0));
    }

    #[test]
    fn linear_quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 1]) == [1, 1.75, 2.5, 4]
        let sorted = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> =
            [0.0, 0.25, 0.5, 1.0].iter().map(|&q| quantile_linear_sorted(&sorted, q).unwrap()).collect();
        assert_eq!(got, [1.0, 1.75, 2.5, 4.0]);
        assert_eq!(quantile_linear_of([4.0, 1.0, 3.0, 2.0].into_iter(), 0.25), Some(1.75));
        assert_eq!(quantile_linear_sorted(&[], 0.5), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile_nearest_rank(&v, 0.5), 50.0);
        assert_eq!(percentile_nearest_rank(&v, 0.95), 95.0);
        assert_eq!(percentile_nearest_rank(&[], 0.5), 0.0);
        // Unlike the interpolated quantile, the answer is always one of the values.
        assert_eq!(percentile_nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.0);
    }

    #[test]
    fn argmax_ties_to_the_smallest_index_and_nan_never_wins() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), Some((1, 0.4)));
        assert_eq!(argmax(&[0.5, 0.5]), Some((0, 0.5)));
        assert_eq!(argmax(&[f32::NAN, 0.3, 0.6]), Some((2, 0.6)));
        // A NaN after the largest value does not take its place (the probability bars' old fold let it win).
        assert_eq!(argmax(&[0.7, f32::NAN, 0.2]), Some((0, 0.7)));
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), None);
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[f32::NEG_INFINITY, -1.0]), Some((1, -1.0)));
    }
}
