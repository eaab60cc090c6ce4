//! The command line as a user meets it (docs/FORMATS.md §4): outputs and their columns, and for each kind of bad input a
//! clear message on stderr naming the file and the problem, exit code 2, and never a panic.

mod common;

use common::cli::{bin, fixture_model, run};

use std::path::{Path, PathBuf};

/// A labeled file of two simulated users, a few minutes each.
fn labeled(dir: &Path) -> PathBuf {
    let path = dir.join("labeled.csv");
    let (code, _, err) =
        run(bin().args(["simulate", "--users", "2", "--minutes-per-user", "2", "--seed", "5"]).arg("--out").arg(&path));
    assert_eq!(code, 0, "{err}");
    path
}

fn evaluate(data: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    run(bin()
        .arg("evaluate")
        .arg("--model")
        .arg(fixture_model())
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(extra))
}

#[test]
fn info_names_tensors_and_runtime() {
    let (code, out, err) = run(bin().arg("info").arg("--model").arg(fixture_model()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input_layer") && out.contains("Identity:0"), "{out}");
    assert!(out.contains("ONNX Runtime 1.32"), "{out}");
}

#[test]
fn predict_writes_one_row_per_window_with_the_spec_columns() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path());
    let out = dir.path().join("predictions.csv");
    let (code, _, err) =
        run(bin().arg("predict").arg("--model").arg(fixture_model()).arg("--data").arg(&data).arg("--out").arg(&out));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut expected = String::from("window,start_row,end_row,t_start,t_end,predicted,confidence");
    for c in har_monitor::classes::THESIS_CLASSES {
        expected += &format!(",p_{c}");
    }
    assert!(header.starts_with(&expected), "{header}");
    // 2 users × 6000 rows, windows of 200 every 100 inside each user: 2 × 59.
    assert_eq!(lines.count(), 118);
}

#[test]
fn evaluate_writes_the_report_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path());
    let out = dir.path().join("report");
    let (code, stdout, err) = evaluate(&data, &out, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("accuracy"), "{stdout}");
    for f in [
        "report.json",
        "confusion_matrix.csv",
        "confusion_matrix.png",
        "per_class.csv",
        "predictions.csv",
        "reliability.png",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["windows"]["used"], 118);
    assert_eq!(report["per_class"].as_array().unwrap().len(), 11);
    assert_eq!(report["per_user"].as_array().unwrap().len(), 2);
    let matrix_total: u64 = report["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(matrix_total, 118);
}

#[test]
fn a_missing_channel_column_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("no_gz.csv");
    std::fs::write(&data, "timestamp,Ax,Ay,Az,Gx,Gy\n0,1,2,3,4,5\n").unwrap();
    let (code, _, err) = evaluate(&data, &dir.path().join("r"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no_gz.csv") && err.contains("Gz"), "{err}");
}

#[test]
fn text_in_a_number_field_is_skipped_reported_by_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = labeled(dir.path());
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Line 11 of the file (header = line 1) gets text in its Ay field.
    let mut fields: Vec<String> = lines[10].split(',').map(str::to_string).collect();
    fields[2] = "abc".into();
    lines[10] = fields.join(",");
    let bad = dir.path().join("text_field.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("r");
    let (code, _, err) = evaluate(&bad, &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 11") && err.contains("abc"), "the bad row is named: {err}");
    assert!(out.join("report.json").is_file(), "nothing is lost: the report is still written");
    let (code, _, err) = evaluate(&bad, &out, &["--allow-bad-rows"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_truncated_last_line_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = labeled(dir.path());
    let mut text = std::fs::read_to_string(&good).unwrap();
    text.truncate(text.len() - 12);
    let bad = dir.path().join("truncated.csv");
    std::fs::write(&bad, text).unwrap();
    let (code, _, err) = evaluate(&bad, &dir.path().join("r"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("truncated.csv") && err.contains("incomplete"), "{err}");
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = evaluate(&empty, &dir.path().join("r"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");
}

#[test]
fn a_model_whose_card_disagrees_with_its_graph_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let model = dir.path().join("m.onnx");
    std::fs::copy(fixtures.join("keras_bilstm.onnx"), &model).unwrap();
    std::fs::copy(fixtures.join("keras_bilstm_window100.model.json"), dir.path().join("m.model.json")).unwrap();
    let (code, _, err) = run(bin().arg("info").arg("--model").arg(&model));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("200") && err.contains("100") && err.contains("m.model.json"), "{err}");
}

#[test]
fn a_missing_runtime_library_says_how_to_get_it() {
    // An empty per-user cache: with a library there, the message offers that one instead (tests/cli_defects.rs).
    let cache = tempfile::tempdir().unwrap();
    let (code, _, err) = run(bin()
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .env("XDG_CACHE_HOME", cache.path())
        .env("HOME", cache.path())
        .arg("info")
        .arg("--model")
        .arg(fixture_model()));
    assert_eq!(code, 2, "{err}");
    let how = err.contains("pip download onnxruntime==") || err.contains("pypi.org/project/onnxruntime/");
    assert!(err.contains("/nonexistent/libonnxruntime.so") && how, "{err}");
}

#[test]
fn bad_arguments_and_missing_files_exit_2() {
    let (code, _, _) = run(bin().arg("no-such-command"));
    assert_eq!(code, 2);
    let (code, _, err) = run(bin().args([
        "predict",
        "--model",
        "/nonexistent/m.onnx",
        "--data",
        "/nonexistent/d.csv",
        "--out",
        "/tmp/x.csv",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/"), "{err}");
}

#[test]
fn baseline_then_drift_writes_the_spec_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path());
    let baseline = dir.path().join("b.json");
    let (code, out, err) = run(bin()
        .arg("baseline")
        .arg("--model")
        .arg(fixture_model())
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&baseline));
    assert_eq!(code, 0, "{err}");
    // Labeled reference data: the baseline keeps how the model did on it (issue 13).
    assert!(
        out.contains(&format!("reference performance on 118 labeled windows of {}: accuracy ", data.display())),
        "{out}"
    );
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let reference = &written["reference_performance"];
    assert_eq!(reference["windows"], 118, "{reference}");
    assert_eq!(reference["ece_bins"], 15);
    assert_eq!(reference["source"], data.display().to_string());
    for key in ["accuracy", "macro_f1", "ece"] {
        assert!(reference[key].as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)), "{key}: {reference}");
    }
    let out = dir.path().join("drift.json");
    let (code, _, err) = run(bin()
        .arg("drift")
        .arg("--model")
        .arg(fixture_model())
        .arg("--data")
        .arg(&data)
        .arg("--baseline")
        .arg(&baseline)
        .arg("--chunk")
        .arg("50")
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let chunks = report["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3, "118 windows in chunks of 50");
    let keys: std::collections::BTreeSet<&str> = chunks[0].as_object().unwrap().keys().map(String::as_str).collect();
    for k in common::spec::DRIFT_CHUNK_KEYS {
        assert!(keys.contains(k), "chunk key {k}");
    }
    let dist: f64 = chunks[0]["class_distribution"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum();
    assert!((dist - 1.0).abs() < 1e-9);
    assert_eq!(chunks[0]["input_drift"], false, "the same data as the baseline is no input drift");
    // Each chunk's label-free estimate, with the realised accuracy of the labeled file beside it.
    for chunk in chunks {
        let p = &chunk["performance"];
        assert_eq!(p["windows"], chunk["windows"], "{p}");
        let estimated = p["estimated_accuracy"].as_f64().unwrap();
        assert!((estimated - chunk["mean_confidence"].as_f64().unwrap()).abs() < 1e-12, "the mean top probability");
        assert!(p["realised_accuracy"].as_f64().is_some(), "a labeled file: {p}");
        assert_eq!(p["reference_accuracy"], reference["accuracy"]);
        assert!(p["untrusted_because"].is_array());
    }
    // The last chunk holds 18 windows: too few for a trusted estimate.
    assert!(chunks[2]["performance"]["untrusted_because"].as_array().unwrap().contains(&"too_few_windows".into()));
}

#[test]
fn baseline_measures_the_reference_calibration_on_the_calibration_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path());
    let other = dir.path().join("other_users.csv");
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "1", "--minutes-per-user", "2", "--seed", "8", "--first-user", "50", "--out"])
        .arg(&other));
    assert_eq!(code, 0, "{err}");
    let baseline = dir.path().join("b.json");
    let build = |calibration: &Path| {
        run(bin()
            .arg("baseline")
            .arg("--model")
            .arg(fixture_model())
            .arg("--data")
            .arg(&data)
            .arg("--calibration-data")
            .arg(calibration)
            .arg("--out")
            .arg(&baseline))
    };
    let (code, out, err) = build(&other);
    assert_eq!(code, 0, "{err}");
    // Two minutes of one user at 50 Hz: (6000 - 200) / 100 + 1 = 59 windows.
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let reference = &written["reference_performance"];
    assert_eq!(reference["windows"], 59, "{reference}");
    assert_eq!(reference["source"], other.display().to_string());
    assert_eq!(written["windows"], 118, "the sensor reference is still --data");
    assert!(out.contains(&format!("reference performance on 59 labeled windows of {}", other.display())), "{out}");

    // An unlabeled calibration file is refused, naming it.
    let unlabeled = dir.path().join("unlabeled.csv");
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "1", "--minutes-per-user", "1", "--seed", "8", "--unlabeled", "--out"])
        .arg(&unlabeled));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = build(&unlabeled);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--calibration-data") && err.contains("unlabeled.csv") && err.contains("no label"), "{err}");
}
