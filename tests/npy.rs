//! Prepared windows (`--windows X.npy [--labels y.npy]`, docs/FORMATS.md §3 and §4) against the CSV path: the
//! fixtures are written by numpy (tests/fixtures/npy/make_fixtures.py) from a slice of the demo file, windowed the
//! way our windower does and normalised with the demo card's scaler, so evaluating the windows and evaluating the
//! CSV must give the same report. Every bad file is exit 2 with a message naming it and the problem.

mod common;

use common::cli::{bin, run};

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/npy").join(name)
}

/// The bundled demo model: the fixtures are normalised with its card's scaler.
fn model() -> PathBuf {
    root().join("models/demo/demo-1dcnn-bilstm.onnx")
}

fn command(name: &str, input: &[&str], out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.arg(name).arg("--model").arg(model());
    for (i, a) in input.iter().enumerate() {
        // Flags as given, file names under the fixture folder.
        if i % 2 == 1 {
            cmd.arg(fixture(a))
        } else {
            cmd.arg(a)
        };
    }
    run(cmd.arg("--out").arg(out).args(extra))
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// The predictions file as rows of fields (header first).
fn predictions(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// The metrics a user reads off an evaluation: everything but paths, times and notes.
fn metrics(report: &Value) -> Value {
    let keep = [
        "accuracy",
        "cohen_kappa",
        "macro",
        "weighted",
        "per_class",
        "confusion_matrix",
        "confusion_matrix_normalized",
        "classes",
        "windows",
    ];
    Value::Object(keep.iter().map(|k| (k.to_string(), report[*k].clone())).collect())
}

fn meta() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("meta.json")).unwrap()).unwrap()
}

#[test]
fn the_fixtures_were_made_with_this_cards_scaler() {
    let card: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("models/demo/demo-1dcnn-bilstm.model.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta()["scaler"],
        card["scaler"],
        "the demo card's scaler changed: rerun tests/fixtures/npy/make_fixtures.py"
    );
}

#[test]
fn evaluating_the_windows_gives_the_report_of_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (csv_dir, npy_dir, raw_dir) = (dir.path().join("csv"), dir.path().join("npy"), dir.path().join("raw"));
    let (code, _, err) = command("evaluate", &["--data", "slice.csv"], &csv_dir, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = command("evaluate", &["--windows", "slice_X.npy", "--labels", "slice_y.npy"], &npy_dir, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("accuracy"), "{out}");
    assert!(err.contains("30 windows x 200 samples x 6 channels, float32, C order, memory-mapped"), "{err}");
    assert!(err.contains("30 class indices (int64)"), "{err}");
    assert!(err.contains("normalisation: detected already normalised"), "{err}");
    let (code, _, err) =
        command("evaluate", &["--windows", "slice_raw_X.npy", "--labels", "slice_y.npy"], &raw_dir, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("normalisation: detected raw units, scaled with the card's scaler"), "{err}");

    let csv = report(&csv_dir);
    assert_eq!(csv["windows"]["used"], 30, "the CSV slice gives the 30 windows numpy cut");
    for other in [report(&npy_dir), report(&raw_dir)] {
        assert_eq!(metrics(&other), metrics(&csv));
    }
    // The true labels are numpy's majority labels: the matrix's row sums are its counts.
    let classes: Vec<String> = serde_json::from_value(csv["classes"].clone()).unwrap();
    let matrix: Vec<Vec<u64>> = serde_json::from_value(csv["confusion_matrix"].clone()).unwrap();
    for (class, row) in classes.iter().zip(&matrix) {
        let expected = meta()["label_counts"][class].as_u64().unwrap_or(0);
        assert_eq!(row.iter().sum::<u64>(), expected, "{class}");
    }
    // Window by window: the same class and (nearly) the same probabilities.
    let (a, b) = (predictions(&csv_dir.join("predictions.csv")), predictions(&npy_dir.join("predictions.csv")));
    assert_eq!(a.len(), 31);
    // The same columns; the CSV has a user column, prepared windows have no users.
    assert_eq!(a[0].last().map(String::as_str), Some("user"));
    assert_eq!(a[0][..a[0].len() - 1], b[0][..]);
    let predicted = a[0].iter().position(|c| c == "predicted").unwrap();
    for (x, y) in a.iter().zip(&b).skip(1) {
        assert_eq!(x[predicted], y[predicted]);
        for (p, q) in x.iter().zip(y).skip(predicted + 1) {
            if let (Ok(p), Ok(q)) = (p.parse::<f64>(), q.parse::<f64>()) {
                assert!((p - q).abs() < 1e-5, "{p} vs {q}");
            }
        }
    }
}

#[test]
fn predictions_of_windows_count_rows_of_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("predictions.csv");
    let (code, _, err) = command("predict", &["--windows", "slice_X.npy"], &out, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("labels: none"), "{err}");
    let rows = predictions(&out);
    assert_eq!(&rows[0][..7], ["window", "start_row", "end_row", "t_start", "t_end", "predicted", "confidence"]);
    assert!(!rows[0].contains(&"true".to_string()), "no labels, no `true` column");
    assert_eq!(rows.len(), 31);
    // Window 3: rows 600..800 of the array read as (windows x 200) x 6, 12 s to 16 s at 50 Hz.
    assert_eq!(&rows[4][..5], ["3", "600", "800", "12.0", "16.0"]);
}

#[test]
fn float64_fortran_and_big_endian_windows_and_every_label_form_give_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.csv");
    let (code, _, err) = command("predict", &["--windows", "slice_X.npy", "--labels", "slice_y.npy"], &reference, &[]);
    assert_eq!(code, 0, "{err}");
    let reference = predictions(&reference);
    let cases = [
        ("slice_f64_X.npy", "slice8_y.npy", "float64, C order, memory-mapped", "8 class indices (int32)"),
        ("slice_fortran_X.npy", "slice8_onehot_y.npy", "float32, Fortran order, memory-mapped", "8 one-hot rows"),
        ("slice_bigendian_X.npy", "slice8_float_y.npy", "float32, C order, read into memory", "(float64)"),
    ];
    for (x, y, layout, labels) in cases {
        let out = dir.path().join(format!("{x}.csv"));
        let (code, _, err) = command("predict", &["--windows", x, "--labels", y], &out, &[]);
        assert_eq!(code, 0, "{x}: {err}");
        assert!(err.contains(layout) && err.contains(labels), "{x}: {err}");
        let got = predictions(&out);
        assert_eq!(got.len(), 9, "{x}");
        for (g, r) in got.iter().zip(&reference) {
            assert_eq!(g, r, "{x}: the same values give the same row, to the last digit");
        }
    }
}

#[test]
fn normalisation_can_be_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.csv");
    let (code, _, err) = command("predict", &["--windows", "slice_raw_X.npy"], &out, &["--normalised", "yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already normalised, fed to the model as they are (--normalised yes)"), "{err}");
    let (code, _, err) = command("predict", &["--windows", "slice_X.npy"], &out, &["--normalised", "no"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("raw units, scaled with the card's scaler (--normalised no)"), "{err}");
}

#[test]
fn baseline_and_drift_read_windows_in_the_cards_units() {
    let dir = tempfile::tempdir().unwrap();
    let (from_csv, from_npy) = (dir.path().join("csv.baseline.json"), dir.path().join("npy.baseline.json"));
    let (code, _, err) = command("baseline", &["--data", "slice.csv"], &from_csv, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = command("baseline", &["--windows", "slice_X.npy", "--labels", "slice_y.npy"], &from_npy, &[]);
    assert_eq!(code, 0, "{err}");
    let read = |p: &Path| -> Value { serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap() };
    let (a, b) = (read(&from_csv), read(&from_npy));
    assert_eq!(a["windows"], b["windows"]);
    assert_eq!(a["predicted_counts"], b["predicted_counts"]);
    assert_eq!(a["true_counts"], b["true_counts"]);
    // Normalised windows are scaled back with the card's scaler: the raw statistics agree with the CSV's.
    for (x, y) in a["channel_stats"].as_array().unwrap().iter().zip(b["channel_stats"].as_array().unwrap()) {
        for key in ["mean", "std"] {
            let (p, q) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!((p - q).abs() < 1e-4 * (1.0 + p.abs()), "{}: {key} {p} vs {q}", x["channel"]);
        }
    }
    let drift = dir.path().join("drift.json");
    let (code, _, err) = run(bin()
        .args(["drift", "--model"])
        .arg(model())
        .arg("--windows")
        .arg(fixture("slice_X.npy"))
        .arg("--baseline")
        .arg(&from_csv)
        .arg("--out")
        .arg(&drift));
    assert_eq!(code, 0, "{err}");
    let report = read(&drift);
    assert_eq!(report["chunks"][0]["windows"], 30);
    assert_eq!(report["chunks"][0]["input_drift"], false, "the same windows as the baseline: {report}");
}

fn expect_input_error(input: &[&str], fragments: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = command("evaluate", input, &dir.path().join("report"), &[]);
    assert_eq!(code, 2, "{input:?}: {err}");
    for f in fragments {
        assert!(err.contains(f), "{input:?}: `{f}` not in {err}");
    }
}

#[test]
fn bad_windows_and_labels_are_input_errors_naming_the_file() {
    expect_input_error(
        &["--windows", "wrong_shape_X.npy", "--labels", "slice8_y.npy"],
        &["wrong_shape_X.npy", "shape (8, 6, 200)", "200 samples x 6 channels", "transposed"],
    );
    expect_input_error(
        &["--windows", "nan_X.npy", "--labels", "slice8_y.npy"],
        &["nan_X.npy", "window 3", "sample 17", "channel Gy", "NaN"],
    );
    expect_input_error(
        &["--windows", "slice_fortran_X.npy", "--labels", "out_of_range_y.npy"],
        &["out_of_range_y.npy", "window 5", "is 11", "0 to 10"],
    );
    expect_input_error(
        &["--windows", "slice_fortran_X.npy", "--labels", "short_y.npy"],
        &["short_y.npy", "shape (7,)", "8 windows"],
    );
    expect_input_error(
        &["--windows", "slice_fortran_X.npy", "--labels", "slice_y.npy"],
        &["slice_y.npy", "shape (30,)", "8 windows"],
    );
    expect_input_error(&["--windows", "slice.csv", "--labels", "slice_y.npy"], &["slice.csv", "not a NumPy .npy file"]);
    expect_input_error(&["--windows", "slice_y.npy", "--labels", "slice_y.npy"], &["slice_y.npy", "int64", "float32"]);
    expect_input_error(&["--windows", "slice_fortran_X.npy"], &["slice_fortran_X.npy", "no labels", "--labels"]);
    expect_input_error(&["--windows", "missing_X.npy"], &["missing_X.npy"]);
}

#[test]
fn windows_and_data_are_one_or_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.csv");
    let (code, _, err) = command("predict", &["--windows", "slice_X.npy", "--data", "slice.csv"], &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--data") && err.contains("--windows"), "{err}");
    let (code, _, err) = command("predict", &["--data", "slice.csv", "--labels", "slice_y.npy"], &out, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--labels") && err.contains("--data"), "--labels goes with --windows only: {err}");
    let (code, _, err) = command("predict", &["--windows", "slice_X.npy"], &out, &["--accel-unit", "g"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--accel-unit"), "{err}");
}
