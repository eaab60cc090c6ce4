//! The two-sample Kolmogorov–Smirnov test as `scipy.stats.ks_2samp(a, b)` computes it by default
//! (`alternative='two-sided'`, `method='auto'`), written out from scipy 1.17's algorithms:
//!
//! - The statistic is the largest gap between the two empirical CDFs, evaluated after every tie (scipy's
//!   `searchsorted(side='right')`).
//! - When both samples have at most 10,000 values the p-value is exact: Hodges' lattice-path count (scipy's
//!   `_compute_prob_outside_square` for equal sizes, the "inside method" with Viehmann's recursion for 1 − p
//!   otherwise), and the statistic is rounded to the lattice `h / lcm(n1, n2)` as scipy does.
//! - Otherwise (or when the exact count fails numerically) the p-value is the survival function of the one-sample
//!   two-sided Kolmogorov distribution `kstwo` at `n = round(n1·n2 / (n1 + n2))`, which scipy evaluates with the
//!   Simard–L'Ecuyer choice between Ruben–Gambino, Durbin (Marsaglia–Tsang–Wang), Pomeranz, Pelz–Good and
//!   Smirnov's one-sided formula; each of those is reproduced here.

use super::stats::{StatsError, check_sample};

/// Largest sample size for which `method='auto'` computes the exact p-value.
const MAX_EXACT_N: usize = 10_000;

/// Two-sample Kolmogorov–Smirnov test: returns `(statistic, p_value)` as `scipy.stats.ks_2samp(a, b)`.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<(f64, f64), StatsError> {
    check_sample("a", a)?;
    check_sample("b", b)?;
    let mut a_sorted = a.to_vec();
    let mut b_sorted = b.to_vec();
    a_sorted.sort_by(f64::total_cmp);
    b_sorted.sort_by(f64::total_cmp);
    Ok(ks_2samp_sorted(&a_sorted, &b_sorted))
}

/// [`ks_2samp`] on samples that are non-empty, finite and sorted ascending.
pub(crate) fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d = ks_statistic_sorted(a, b);
    let (n1, n2) = (a.len(), b.len());
    if n1.max(n2) <= MAX_EXACT_N
        && let Some((d_exact, p)) = exact_two_sided(n1 as i64, n2 as i64, d)
    {
        return (d_exact, p.clamp(0.0, 1.0));
    }
    // The exact count was not tried or failed: Smirnov's asymptotics through `kstwo`.
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even();
    (d, kstwo_sf(d, en as u64).clamp(0.0, 1.0))
}

/// The two-sided statistic: `max |F_a(x) − F_b(x)|` over every value of either sample.
fn ks_statistic_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_diff = f64::NEG_INFINITY;
    let mut min_diff = f64::INFINITY;
    while i < a.len() || j < b.len() {
        let x = match (a.get(i), b.get(j)) {
            (Some(&p), Some(&q)) => p.min(q),
            (Some(&p), None) => p,
            (None, Some(&q)) => q,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&p| p <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&q| q <= x) {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_side = (-min_diff).clamp(0.0, 1.0);
    if min_side > max_diff { min_side } else { max_diff }
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The exact two-sided p-value (scipy's `_attempt_exact_2kssamp`): `None` when it fails numerically.
fn exact_two_sided(n1: i64, n2: i64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as i64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 { prob_outside_square(n1, h) } else { outer_prob_inside_method(n1, n2, g, h)? };
    (0.0..=1.0).contains(&p).then_some((d, p))
}

/// `P(D_{n,n} >= h/n)` for two samples of size `n` (Drion / Gnedenko–Korolyuk alternating sum, factored into a
/// Horner-like product to avoid cancellation).
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Share of lattice paths from (0, 0) to (m, n) that leave the band `|x/m − y/n| < h / lcm(m, n)`, computed
/// directly as 1 − p with a sliding window over one column (Hodges' inside method, Viehmann's recursion).
/// `None` when the window arithmetic leaves its buffer (scipy would fail there too).
fn outer_prob_inside_method(m: i64, n: i64, g: i64, h: i64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let ceil_div = |a: i64, b: i64| (a as f64 / b as f64).ceil() as i64;
    let floor_div = |a: i64, b: i64| (a as f64 / b as f64).floor() as i64;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut col = vec![1.0f64; len_a];
    for slot in col.iter_mut().take(maxj as usize) {
        *slot = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let previous = *col.get((jj + minj - lastminj) as usize)?;
            val = (previous * i as f64 + val * j as f64) / (i + j) as f64;
            *col.get_mut(jj as usize)? = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(col.len());
            for slot in col.iter_mut().take(end).skip(start) {
                *slot = 1.0;
            }
        }
    }
    col.get((maxj - minj - 1) as usize).copied()
}

const TWO_POW_128: f64 = 340282366920938463463374607431768211456.0;
const TWO_POW_MINUS_128: f64 = 1.0 / TWO_POW_128;
const LN_2PI: f64 = 1.8378770664093453;
const SQRT_2PI: f64 = 2.5066282746310002;
/// Below this `exp` underflows (scipy's `_MIN_LOG`).
const MIN_LOG: f64 = -708.0;
/// Cephes' `MINLOG`, the log of the smallest normal double.
const CEPHES_MINLOG: f64 = -708.396_418_532_264_1;

/// Survival function `P(D_n >= x)` of the one-sample two-sided Kolmogorov statistic, as `scipy.stats.kstwo.sf(x,
/// n)`.
pub fn kstwo_sf(x: f64, n: u64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    let nf = n as f64;
    // The support is [1/(2n), 1].
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.5 / nf {
        return 1.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/(2n) <= x <= 1/n.
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |acc, i| acc * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        // Ruben–Gambino at the top of the range.
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nx_squared = t * x;
    if n <= 140 {
        if nx_squared <= 0.754693 {
            return (1.0 - kolmogorov_cdf_durbin(n, x)).clamp(0.0, 1.0);
        }
        if nx_squared <= 4.0 {
            return (1.0 - kolmogorov_cdf_pomeranz(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nx_squared >= 370.0 {
        return 0.0;
    }
    if nx_squared >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nx_squared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogorov_cdf_durbin(n, x)
    } else {
        kolmogorov_cdf_pelz_good(nf, x)
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// `ln(n! / n^n)` by Stirling's series with the `n ln n` removed up front.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // B_{2j} / (2j (2j - 1)) for j = 8, ..., 1.
    const STIRLING: [f64; 8] = [
        -3617.0 / 122400.0,
        1.0 / 156.0,
        -691.0 / 360360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let rn = 1.0 / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * (rn / n) + c);
    n.ln() / 2.0 - n + LN_2PI / 2.0 + rn * poly
}

/// `P(D_n <= d)` by Durbin's matrix algorithm in the Marsaglia–Tsang–Wang form: the k-th diagonal entry of
/// `(n!/n^n) H^n`, with power-of-two rescaling so that nothing overflows.
fn kolmogorov_cdf_durbin(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hmat = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hmat[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hmat[r * m] = v[r];
    }
    for c in 0..m {
        hmat[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut power = identity(m);
    let mut nn = n;
    let mut exponent: i64 = 0;
    let mut h_exponent: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            power = mat_mul(&power, &hmat, m);
            exponent += h_exponent;
        }
        hmat = mat_mul(&hmat, &hmat, m);
        h_exponent *= 2;
        if hmat[(k - 1) * m + (k - 1)].abs() > TWO_POW_128 {
            for e in hmat.iter_mut() {
                *e /= TWO_POW_128;
            }
            h_exponent += 128;
        }
        nn /= 2;
    }
    let mut p = power[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < TWO_POW_MINUS_128 {
            p *= TWO_POW_128;
            exponent -= 128;
        }
    }
    ldexp(p, exponent).clamp(0.0, 1.0)
}

fn identity(m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        out[i * m + i] = 1.0;
    }
    out
}

fn mat_mul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for l in 0..m {
            let a_il = a[i * m + l];
            if a_il == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += a_il * b[l * m + j];
            }
        }
    }
    out
}

/// `x · 2^e` for exponents far outside what one `powi` can hold.
fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

/// Endpoints of the non-zero stretch of row `i` in Pomeranz's recursion.
fn pomeranz_j1_j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
        if odd == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n <= x)` by Pomeranz's recursion (used for n <= 140 in the middle of the range).
fn kolmogorov_cdf_pomeranz(n: u64, x: f64) -> f64 {
    let n = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut exponent: i64 = 0;
    let (mut j1, _) = pomeranz_j1_j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let (new_j1, j2) = pomeranz_j1_j2(i, n, ll, ceilf, roundf);
        j1 = new_j1;
        let powers = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // numpy slicing clamps to the array's end; so do we.
            let start = (k1 - v0s).max(0) as usize;
            let end = (start + ln2 as usize).min(v0.len());
            let a = v0.get(start..end).unwrap_or(&[]);
            let b = &powers[..(ln2 as usize).min(powers.len())];
            let conv = convolve(a, b);
            let conv_start = (j1 - k1).max(0) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (slot, value) in v1.iter_mut().zip(conv.iter().skip(conv_start)).take(conv_len) {
                *slot = *value;
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < TWO_POW_MINUS_128 {
                for e in v1.iter_mut() {
                    *e *= TWO_POW_128;
                }
                exponent -= 128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = usize::try_from(n - v1s).ok().and_then(|i| v1.get(i)).copied().unwrap_or(f64::NAN);
    for m in 1..=n {
        if ans.abs() > TWO_POW_128 {
            ans *= TWO_POW_MINUS_128;
            exponent += 128;
        }
        ans *= m as f64;
    }
    ldexp(ans, exponent).clamp(0.0, 1.0)
}

/// Full discrete convolution, as `numpy.convolve(a, b)`.
fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        for (j, &y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// Pelz–Good approximation of `P(D_n <= x)`, suited to small `x·sqrt(n)` with large `n`.
fn kolmogorov_cdf_pelz_good(n: f64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < MIN_LOG {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    let mut terms = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powi((8 * k) as i32);
        let coeffs = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (term, c) in terms.iter_mut().zip(coeffs) {
            *term = *term * qpower + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (term, divisor) in terms.iter_mut().zip(divisors) {
        *term = *term * q * SQRT_2PI / divisor;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let k2 = kf * kf;
        let qk = q.powf(k2);
        k2extra += k2 * qk;
        let kpi = PI * kf;
        k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
    }
    terms[2] += k2extra * pi2 * SQRT_2PI / (-36.0 * z3);
    terms[3] += k3extra * pi2 * SQRT_2PI / (216.0 * z6);
    for (i, term) in terms.iter_mut().enumerate() {
        *term /= n.powf(i as f64 / 2.0);
    }
    terms.iter().sum()
}

/// Survival function of the one-sided Smirnov statistic, `P(D_n^+ >= x)` (`scipy.special.smirnov(n, x)`), by the
/// Birnbaum–Tingey sum `x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v)`. Every term is positive,
/// so the sum is accurate; terms are formed in logarithms with the binomial coefficient carried as
/// mantissa × 2^exponent.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let mut nx_floor = nx.floor();
    let mut alpha = nx - nx_floor;
    if alpha >= 1.0 {
        nx_floor += 1.0;
        alpha = 0.0;
    }
    if nx_floor == 0.0 || (nx_floor == 1.0 && alpha == 0.0) {
        let cdf = x * (1.0 + x).powf(nf - 1.0);
        return 1.0 - cdf;
    }
    if -2.0 * nf * x * x < CEPHES_MINLOG {
        return 0.0;
    }
    if nx_floor >= nf - 1.0 {
        return (1.0 - x).powf(nf);
    }
    if n > 1_000_000 {
        // Cephes' approximation for very large n: p ~ exp(-(6nx+1)^2 / 18n).
        let logp = -(6.0 * nx + 1.0).powi(2) / 18.0 / nf;
        return if logp < -std::f64::consts::LN_2 { logp.exp() } else { 1.0 + logp.exp_m1() };
    }
    // Terms v = 0 ..= last, leaving out a final term whose base (1 - x - v/n) is exactly zero.
    let last = {
        let mut last = n as i64 - nx_floor as i64 - i64::from(alpha != 0.0);
        if alpha == 0.0 {
            last -= 1;
        }
        last
    };
    let mut binom_mantissa = 1.0f64;
    let mut binom_exponent: i64 = 0;
    let mut sum = 0.0;
    for v in 0..=last {
        let vf = v as f64;
        let ln_binom = binom_mantissa.ln() + binom_exponent as f64 * std::f64::consts::LN_2;
        let up = x + vf / nf;
        let down = (nf - vf) / nf - x;
        if down > 0.0 {
            sum += (ln_binom + (vf - 1.0) * up.ln() + (nf - vf) * down.ln()).exp();
        }
        binom_mantissa *= (nf - vf) / (vf + 1.0);
        if binom_mantissa > TWO_POW_128 {
            binom_mantissa *= TWO_POW_MINUS_128;
            binom_exponent += 128;
        } else if binom_mantissa < TWO_POW_MINUS_128 && binom_mantissa > 0.0 {
            binom_mantissa *= TWO_POW_128;
            binom_exponent -= 128;
        }
    }
    (x * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_zero_statistic_and_p_one() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(ks_2samp(&a, &a).unwrap(), (0.0, 1.0));
    }

    #[test]
    fn disjoint_small_samples_have_statistic_one() {
        let (d, p) = ks_2samp(&[1.0, 2.0, 3.0], &[10.0, 11.0, 12.0]).unwrap();
        assert_eq!(d, 1.0);
        // Exact: 2 / C(6, 3) = 0.1.
        assert!((p - 0.1).abs() < 1e-12, "{p}");
    }

    #[test]
    fn empty_sample_is_an_error() {
        assert!(matches!(ks_2samp(&[], &[1.0]), Err(StatsError::Empty { what: "a" })));
    }

    #[test]
    fn smirnov_matches_closed_form_at_small_n() {
        // n = 2: P(D+ >= x) = 1 - x(1+x) for x <= 1/2 ... closed form for x in (1/2, 1): (1 - x)^2.
        assert!((smirnov_sf(2, 0.75) - 0.0625).abs() < 1e-15);
    }
}
