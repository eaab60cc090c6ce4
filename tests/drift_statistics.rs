//! The drift statistics against scipy: every expected number below comes from
//! `tests/fixtures/drift/statistics.json`, written by `tests/fixtures/drift/make_fixtures.py` with scipy 1.17.

use har_monitor::monitor::{
    chi_square_test, class_counts_chi2_p, js_distance, ks_2samp, kstwo_sf, psi, smirnov_sf, wasserstein_distance,
};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/drift/statistics.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// Relative closeness with an absolute floor for numbers near zero.
fn close(actual: f64, expected: f64, rel: f64, abs: f64) -> bool {
    (actual - expected).abs() <= abs + rel * expected.abs()
}

fn cases<'a>(all: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = all[key].as_array().unwrap();
    assert!(!list.is_empty(), "no {key} cases in the fixture");
    list
}

#[test]
fn js_distance_matches_scipy_jensenshannon_base_2() {
    let all = fixtures();
    for case in cases(&all, "js_distance") {
        let got = js_distance(&numbers(&case["p"]), &numbers(&case["q"])).unwrap();
        let want = case["expected"].as_f64().unwrap();
        assert!(close(got, want, 1e-12, 1e-12), "{}: {got} vs scipy {want}", case["name"]);
    }
}

#[test]
fn psi_matches_the_documented_formula() {
    let all = fixtures();
    for case in cases(&all, "psi") {
        let got = psi(&numbers(&case["expected_dist"]), &numbers(&case["actual_dist"])).unwrap();
        let want = case["expected"].as_f64().unwrap();
        assert!(close(got, want, 1e-12, 1e-14), "{}: {got} vs {want}", case["name"]);
    }
}

#[test]
fn chi_square_matches_scipy_chisquare() {
    let all = fixtures();
    for case in cases(&all, "chi_square") {
        let test = chi_square_test(&numbers(&case["observed"]), &numbers(&case["expected_freq"])).unwrap();
        let (stat, p) = (case["statistic"].as_f64().unwrap(), case["p"].as_f64().unwrap());
        assert!(close(test.statistic, stat, 1e-12, 1e-12), "{}: statistic {} vs {stat}", case["name"], test.statistic);
        assert!(close(test.p_value, p, 1e-9, 1e-300), "{}: p {} vs {p}", case["name"], test.p_value);
    }
}

#[test]
fn class_count_chi2_policy_matches_the_script() {
    let all = fixtures();
    for case in cases(&all, "chi2_policy") {
        let got = class_counts_chi2_p(&counts(&case["chunk_counts"]), &counts(&case["baseline_counts"])).unwrap();
        let want = case["p"].as_f64().unwrap();
        assert!(close(got, want, 1e-9, 1e-300), "{}: {got} vs {want}", case["name"]);
    }
}

#[test]
fn wasserstein_matches_scipy() {
    let all = fixtures();
    for case in cases(&all, "wasserstein") {
        let got = wasserstein_distance(&numbers(&case["u"]), &numbers(&case["v"])).unwrap();
        let want = case["expected"].as_f64().unwrap();
        assert!(close(got, want, 1e-10, 1e-12), "{}: {got} vs {want}", case["name"]);
    }
}

#[test]
fn ks_2samp_matches_scipy_auto_method() {
    let all = fixtures();
    for case in cases(&all, "ks_2samp") {
        let (d, p) = ks_2samp(&numbers(&case["a"]), &numbers(&case["b"])).unwrap();
        let (want_d, want_p) = (case["statistic"].as_f64().unwrap(), case["p"].as_f64().unwrap());
        assert!(close(d, want_d, 1e-12, 1e-15), "{}: statistic {d} vs {want_d}", case["name"]);
        assert!(close(p, want_p, 1e-8, 1e-300), "{}: p {p:e} vs {want_p:e}", case["name"]);
    }
}

#[test]
fn kstwo_survival_function_matches_scipy_on_every_branch() {
    let all = fixtures();
    let mut worst = (0.0f64, String::new());
    for case in cases(&all, "kstwo_sf") {
        let (n, x, want) = (case["n"].as_u64().unwrap(), case["x"].as_f64().unwrap(), case["sf"].as_f64().unwrap());
        let got = kstwo_sf(x, n);
        let err = (got - want).abs() / want.abs().max(1e-300);
        if err > worst.0 {
            worst = (err, format!("n={n} x={x}: {got:e} vs {want:e}"));
        }
        assert!(close(got, want, 1e-8, 1e-300), "n={n} x={x}: {got:e} vs scipy {want:e}");
    }
    eprintln!("kstwo.sf worst relative error {:e} ({})", worst.0, worst.1);
}

#[test]
fn smirnov_matches_scipy_special_smirnov() {
    let all = fixtures();
    for case in cases(&all, "smirnov_sf") {
        let (n, x, want) = (case["n"].as_u64().unwrap(), case["x"].as_f64().unwrap(), case["sf"].as_f64().unwrap());
        let got = smirnov_sf(n, x);
        assert!(close(got, want, 1e-10, 1e-300), "n={n} x={x}: {got:e} vs scipy {want:e}");
    }
}
