//! Calibration end to end: `evaluate` writes the `calibration` block and `reliability.png`; `--fit-temperature
//! --fit-on` fits a temperature on one file, reports before/after on another, writes it into the card, and the
//! next run applies it; the bundled demo model and registry versions are not changed in place.

mod common;

use common::cli::{bin, run};

use std::path::{Path, PathBuf};

use serde_json::Value;

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo").join(name)
}

/// The demo model and its card copied into `dir`, so the test may change the card.
fn model_copy(dir: &Path) -> PathBuf {
    let model = dir.join("m.onnx");
    std::fs::copy(demo("demo-1dcnn-bilstm.onnx"), &model).unwrap();
    std::fs::copy(demo("demo-1dcnn-bilstm.model.json"), dir.join("m.model.json")).unwrap();
    model
}

fn simulate(dir: &Path, name: &str, seed: &str) -> PathBuf {
    let path = dir.join(name);
    // Eight users, so that a fit on one file holds for another (with two or three, one user's quirks decide T).
    let args = ["simulate", "--users", "8", "--minutes-per-user", "4", "--seed", seed];
    let (code, _, err) = run(bin().args(args).arg("--out").arg(&path));
    assert_eq!(code, 0, "{err}");
    path
}

fn evaluate(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(bin().arg("evaluate").arg("--model").arg(model).arg("--data").arg(data).arg("--out").arg(out).args(extra))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn number(value: &Value, what: &str) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {value}"))
}

#[test]
fn a_temperature_fitted_on_one_file_is_reported_on_another_written_to_the_card_and_applied_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let card_before = json(&dir.path().join("m.model.json"));
    let fit_on = simulate(dir.path(), "fit.csv", "101");
    let data = simulate(dir.path(), "test.csv", "202");

    let first = dir.path().join("first");
    let fit_arg = fit_on.to_str().unwrap();
    let (code, stdout, err) = evaluate(&model, &data, &first, &["--fit-temperature", "--fit-on", fit_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("temperature") && stdout.contains("ECE"), "{stdout}");
    assert!(first.join("reliability.png").is_file());
    let report = json(&first.join("report.json"));
    let calibration = &report["calibration"];
    assert_eq!(calibration["data"], data.display().to_string());
    let fit = &calibration["fit"];
    assert_eq!(fit["held_out"], true);
    assert_eq!(fit["fitted_on"], fit_on.display().to_string());
    let temperature = number(&fit["temperature"], "temperature");
    assert_eq!(number(&fit["previous_temperature"], "previous"), 1.0);
    // Held out: the loss on the evaluated file, which the fit never saw, is lower with the temperature.
    let (before, after) = (number(&fit["log_loss_before"], "before"), number(&fit["log_loss_after"], "after"));
    assert!(after < before, "held-out log loss {before} -> {after} with T = {temperature}");
    assert!(number(&fit["fit_log_loss_after"], "fit after") <= number(&fit["fit_log_loss_before"], "fit before"));
    assert_eq!(number(&calibration["log_loss"], "log loss"), before, "the block itself is the model as it was");

    // The card: the same JSON with `temperature` added.
    let card_after = json(&dir.path().join("m.model.json"));
    assert_eq!(number(&card_after["temperature"], "card temperature"), temperature);
    let mut without = card_after.clone();
    without.as_object_mut().unwrap().remove("temperature");
    assert_eq!(without, card_before, "nothing else in the card changed");

    // The next run applies it: the numbers "after" are now the model's own, and no prediction changed.
    let second = dir.path().join("second");
    let (code, _, err) = evaluate(&model, &data, &second, &[]);
    assert_eq!(code, 0, "{err}");
    let again = json(&second.join("report.json"));
    assert_eq!(number(&again["model"]["temperature"], "model temperature"), temperature);
    assert_eq!(number(&again["calibration"]["temperature"], "calibration temperature"), temperature);
    let log_loss = number(&again["calibration"]["log_loss"], "log loss");
    assert!((log_loss - after).abs() < 1e-6, "applied by the engine: {log_loss}, fitted: {after}");
    let ece = number(&again["calibration"]["ece"], "ece");
    let ece_after = number(&fit["ece_after"], "ece after");
    assert!((ece - ece_after).abs() < 1e-6, "ECE {ece} vs {ece_after}");
    assert_eq!(again["accuracy"], report["accuracy"]);
    assert_eq!(again["confusion_matrix"], report["confusion_matrix"]);
}

#[test]
fn a_fit_on_the_evaluated_file_itself_says_it_is_in_sample() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let data = simulate(dir.path(), "test.csv", "303");
    let out = dir.path().join("report");
    let (code, stdout, err) = evaluate(&model, &data, &out, &["--fit-temperature"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("in-sample"), "{stdout}");
    let fit = &json(&out.join("report.json"))["calibration"]["fit"];
    assert_eq!(fit["held_out"], false);
    assert_eq!(fit["fitted_on"], data.display().to_string());
}

#[test]
fn the_bundled_demo_model_is_not_changed_in_place_but_can_be_written_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let data = simulate(dir.path(), "test.csv", "404");
    let card = demo("demo-1dcnn-bilstm.model.json");
    let original = std::fs::read(&card).unwrap();
    let out = dir.path().join("report");
    let (code, _, err) = evaluate(&demo("demo-1dcnn-bilstm.onnx"), &data, &out, &["--fit-temperature"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--card-out") && err.contains("bundled demo model"), "{err}");
    assert_eq!(std::fs::read(&card).unwrap(), original);

    let elsewhere = dir.path().join("demo-calibrated.model.json");
    let card_out = elsewhere.to_str().unwrap();
    let (code, _, err) =
        evaluate(&demo("demo-1dcnn-bilstm.onnx"), &data, &out, &["--fit-temperature", "--card-out", card_out]);
    assert_eq!(code, 0, "{err}");
    assert!(json(&elsewhere)["temperature"].is_f64());
    assert_eq!(std::fs::read(&card).unwrap(), original, "the bundled card is untouched");
}

#[test]
fn fit_options_without_fit_temperature_and_bad_temperatures_in_a_card_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_copy(dir.path());
    let data = simulate(dir.path(), "test.csv", "505");
    let out = dir.path().join("report");
    let (code, _, err) = evaluate(&model, &data, &out, &["--fit-on", data.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--fit-temperature"), "{err}");

    let card_path = dir.path().join("m.model.json");
    let mut card = json(&card_path);
    card["temperature"] = serde_json::json!(-1.0);
    std::fs::write(&card_path, serde_json::to_string(&card).unwrap()).unwrap();
    let (code, _, err) = evaluate(&model, &data, &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("temperature") && err.contains("m.model.json"), "{err}");
}
