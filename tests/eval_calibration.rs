//! The calibration measures against scikit-learn, numpy and scipy (tests/fixtures/calibration/make_fixtures.py):
//! reliability bins of both strategies, ECE and MCE, the Brier score (multiclass and one-vs-rest), the log loss
//! and the fitted temperature.

use har_monitor::eval::calibration::{
    Binning, ReliabilityBin, apply_temperature, brier_binary, brier_multiclass, ece_of_bins, fit_temperature, log_loss,
    mce_of_bins, reliability,
};
use serde_json::Value;

const TOLERANCE: f64 = 1e-12;

struct Case {
    name: String,
    n_classes: usize,
    n_bins: usize,
    labels: Vec<usize>,
    probabilities: Vec<f32>,
    reference: Value,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/calibration/sklearn_calibration.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let root: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let list = root["cases"].as_array().unwrap_or_else(|| panic!("{path}: no cases"));
    list.iter()
        .map(|c| {
            let n_classes = c["n_classes"].as_u64().unwrap_or(0) as usize;
            let probabilities: Vec<f32> = c["probabilities"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|row| row.as_array().into_iter().flatten().map(|p| p.as_f64().unwrap_or(f64::NAN) as f32))
                .collect();
            Case {
                name: c["name"].as_str().unwrap_or("?").to_owned(),
                n_classes,
                n_bins: c["n_bins"].as_u64().unwrap_or(0) as usize,
                labels: c["labels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| l.as_u64().unwrap_or(0) as usize)
                    .collect(),
                probabilities,
                reference: c.clone(),
            }
        })
        .collect()
}

fn numbers(value: &Value) -> Vec<f64> {
    value.as_array().into_iter().flatten().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()
}

fn close(case: &str, what: &str, got: f64, want: f64, tolerance: f64) {
    assert!((got - want).abs() <= tolerance, "{case}: {what} = {got}, scikit-learn says {want}");
}

/// Our bins against `calibration_curve`'s non-empty bins, with their counts and the ECE/MCE made from them.
fn check_curve(case: &str, what: &str, bins: &[ReliabilityBin], reference: &Value) {
    let accuracy = numbers(&reference["accuracy"]);
    let confidence = numbers(&reference["mean_confidence"]);
    let count = numbers(&reference["count"]);
    let lower = numbers(&reference["lower"]);
    assert_eq!(bins.len(), accuracy.len(), "{case}: {what}: non-empty bins");
    for (i, bin) in bins.iter().enumerate() {
        close(case, &format!("{what} bin {i} accuracy"), bin.accuracy, accuracy[i], TOLERANCE);
        close(case, &format!("{what} bin {i} mean confidence"), bin.mean_confidence, confidence[i], TOLERANCE);
        assert_eq!(bin.count as f64, count[i], "{case}: {what} bin {i} count");
        close(case, &format!("{what} bin {i} lower edge"), bin.lower, lower[i], TOLERANCE);
    }
    close(case, &format!("{what} ECE"), ece_of_bins(bins), reference["ece"].as_f64().unwrap_or(f64::NAN), TOLERANCE);
    close(case, &format!("{what} MCE"), mce_of_bins(bins), reference["mce"].as_f64().unwrap_or(f64::NAN), TOLERANCE);
}

fn top_label(case: &Case) -> (Vec<f64>, Vec<bool>) {
    case.probabilities
        .chunks_exact(case.n_classes)
        .zip(&case.labels)
        .map(|(row, &label)| {
            let (predicted, confidence) = har_monitor::numeric::argmax(row).unwrap_or((0, f32::NAN));
            (f64::from(confidence), predicted == label)
        })
        .unzip()
}

#[test]
fn the_fixture_covers_both_directions_of_miscalibration_and_bin_edges() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    for want in ["overconfident_11_classes", "underconfident_11_classes", "edges_and_ties"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
}

#[test]
fn top_label_reliability_ece_and_mce_match_calibration_curve() {
    for case in cases() {
        let (confidences, correct) = top_label(&case);
        for (binning, key) in [(Binning::EqualWidth, "uniform"), (Binning::EqualMass, "quantile")] {
            let bins = reliability(&confidences, &correct, case.n_bins, binning);
            check_curve(&case.name, &format!("top label {key}"), &bins, &case.reference["top_label"][key]);
        }
    }
}

#[test]
fn one_vs_rest_reliability_and_brier_match_scikit_learn_per_class() {
    for case in cases() {
        for k in 0..case.n_classes {
            let p: Vec<f64> = case.probabilities.chunks_exact(case.n_classes).map(|row| f64::from(row[k])).collect();
            let is_k: Vec<bool> = case.labels.iter().map(|&l| l == k).collect();
            let reference = &case.reference["per_class"][k];
            let bins = reliability(&p, &is_k, case.n_bins, Binning::EqualWidth);
            check_curve(&case.name, &format!("class {k}"), &bins, &reference["uniform"]);
            let brier = brier_binary(&p, &is_k).unwrap_or(f64::NAN);
            close(
                &case.name,
                &format!("class {k} Brier"),
                brier,
                reference["brier"].as_f64().unwrap_or(0.0),
                TOLERANCE,
            );
        }
    }
}

#[test]
fn multiclass_brier_and_log_loss_match_scikit_learn() {
    for case in cases() {
        let brier = brier_multiclass(&case.probabilities, &case.labels, case.n_classes).unwrap_or(f64::NAN);
        close(&case.name, "Brier", brier, case.reference["brier"].as_f64().unwrap_or(f64::NAN), TOLERANCE);
        let loss = log_loss(&case.probabilities, &case.labels, case.n_classes).unwrap_or(f64::NAN);
        close(&case.name, "log loss", loss, case.reference["log_loss"].as_f64().unwrap_or(f64::NAN), TOLERANCE);
    }
}

#[test]
fn the_fitted_temperature_matches_scipy_and_lowers_the_loss() {
    for case in cases() {
        let reference = &case.reference["temperature"];
        let fit = fit_temperature(&case.probabilities, &case.labels, case.n_classes)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let want = reference["temperature"].as_f64().unwrap_or(f64::NAN);
        close(&case.name, "temperature", fit.temperature, want, 1e-6 * want);
        close(
            &case.name,
            "loss before",
            fit.log_loss_before,
            reference["log_loss_before"].as_f64().unwrap_or(0.0),
            1e-10,
        );
        close(&case.name, "loss after", fit.log_loss_after, reference["log_loss_after"].as_f64().unwrap_or(0.0), 1e-10);
        assert!(fit.log_loss_after < fit.log_loss_before, "{}: {fit:?}", case.name);
    }
}

#[test]
fn a_temperature_fitted_on_one_half_lowers_the_loss_on_the_other() {
    // Held out: fit on the even windows, score the odd ones (the honest way the report describes).
    let case = cases().into_iter().find(|c| c.name == "overconfident_11_classes").unwrap_or_else(|| panic!("case"));
    let n = case.n_classes;
    let split = |parity: usize| -> (Vec<f32>, Vec<usize>) {
        let mut p = Vec::new();
        let mut l = Vec::new();
        for (i, (row, &label)) in case.probabilities.chunks_exact(n).zip(&case.labels).enumerate() {
            if i % 2 == parity {
                p.extend_from_slice(row);
                l.push(label);
            }
        }
        (p, l)
    };
    let (fit_p, fit_l) = split(0);
    let (held_p, held_l) = split(1);
    let fit = fit_temperature(&fit_p, &fit_l, n).unwrap_or_else(|e| panic!("{e}"));
    let before = log_loss(&held_p, &held_l, n).unwrap_or(f64::NAN);
    let mut scaled = held_p.clone();
    scaled.chunks_exact_mut(n).for_each(|row| apply_temperature(row, fit.temperature));
    let after = log_loss(&scaled, &held_l, n).unwrap_or(f64::NAN);
    assert!(fit.temperature > 1.0, "an overconfident model is softened: {fit:?}");
    assert!(after < before - 0.01, "held-out log loss {before} -> {after} with T = {}", fit.temperature);
}
