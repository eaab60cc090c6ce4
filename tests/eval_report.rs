//! The evaluation report directory: numbers in report.json against scikit-learn (tests/fixtures/metrics), the exact
//! key set of docs/FORMATS.md §4, the CSV files read back with a CSV reader, and confusion_matrix.png decoded with `image`.

mod common;

use std::path::Path;

use common::sklearn::{Case, TOLERANCE, case};
use har_monitor::classes::THESIS_CLASSES;
use har_monitor::eval::{
    ConfusionMatrix, EvalError, EvaluationReport, ModelInfo, ReportContext, WindowPrediction, windows_in_cell,
    write_report_dir,
};
use serde_json::Value;

fn classes(n: usize) -> Vec<String> {
    if n == THESIS_CLASSES.len() {
        THESIS_CLASSES.iter().map(|c| c.to_string()).collect()
    } else {
        (0..n).map(|i| format!("class_{i}")).collect()
    }
}

/// A small xorshift generator, so that the probabilities are irregular floats but the test is deterministic.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// One prediction per fixture sample whose argmax is the fixture's predicted class.
fn predictions(case: &Case) -> Vec<WindowPrediction> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    (0..case.y_true.len())
        .map(|k| {
            let mut p: Vec<f32> = (0..case.n_classes).map(|_| noise.next() * 0.5).collect();
            p[case.y_pred[k]] = 0.5 + noise.next() * 0.5 + 1e-3;
            let sum: f32 = p.iter().sum();
            p.iter_mut().for_each(|x| *x /= sum);
            WindowPrediction {
                window: k,
                start_row: k * 100,
                end_row: k * 100 + 200,
                t_start: 1_700_000_000.0 + k as f64 * 2.0,
                t_end: 1_700_000_000.0 + k as f64 * 2.0 + 3.98,
                probabilities: p,
                true_label: Some(case.y_true[k]),
                user: case.users.as_ref().map(|u| u[k].clone()),
            }
        })
        .collect()
}

fn context() -> ReportContext {
    ReportContext {
        model: ModelInfo {
            name: "demo-1dcnn-bilstm".into(),
            version: "1.0.0".into(),
            path: "models/demo/m.onnx".into(),
            temperature: None,
        },
        data: "data/demo/labeled.csv".into(),
        windows_skipped: 4,
        seconds: 1.5,
        notes: vec!["accelerometer converted from milli-g".into()],
    }
}

fn close(what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= TOLERANCE, "{what} = {got}, scikit-learn says {want}");
}

#[test]
fn report_numbers_match_sklearn() {
    for name in ["random_11_imbalanced", "classes_never_true", "classes_never_predicted", "tiny_mixed"] {
        let case = case(name);
        let classes = classes(case.n_classes);
        let report = EvaluationReport::build(context(), &classes, &predictions(&case)).unwrap();
        close(&format!("{name} accuracy"), report.accuracy, case.accuracy);
        close(&format!("{name} kappa"), report.cohen_kappa.unwrap(), case.cohen_kappa.unwrap());
        for (key, got, want) in
            [("macro", &report.macro_avg, &case.macro_avg), ("weighted", &report.weighted, &case.weighted)]
        {
            close(&format!("{name} {key} precision"), got.precision, want.precision);
            close(&format!("{name} {key} recall"), got.recall, want.recall);
            close(&format!("{name} {key} f1"), got.f1, want.f1);
        }
        assert_eq!(report.per_class.len(), case.n_classes);
        for (i, c) in report.per_class.iter().enumerate() {
            assert_eq!(c.class, classes[i]);
            close(&format!("{name} precision[{i}]"), c.precision, case.precision[i]);
            close(&format!("{name} recall[{i}]"), c.recall, case.recall[i]);
            close(&format!("{name} f1[{i}]"), c.f1, case.f1[i]);
            assert_eq!(c.support, case.support[i]);
        }
        assert_eq!(report.confusion_matrix.rows(), case.confusion_matrix);
        assert_eq!(report.windows.used, case.y_true.len() as u64);
        assert_eq!(report.windows.skipped, 4);
        if let Some(reference) = &case.per_user {
            assert_eq!(report.per_user.len(), reference.len());
            for (got, want) in report.per_user.iter().zip(reference) {
                assert_eq!(got.user, want.user);
                assert_eq!(got.windows, want.windows);
                close(&format!("{name} accuracy of {}", got.user), got.accuracy, want.accuracy);
            }
        }
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn has_all(v: &Value, wanted: &[&str], what: &str) {
    let present = keys(v);
    for key in wanted {
        assert!(present.contains(key), "{what} lacks the docs/FORMATS.md §4 key {key:?}; it has {present:?}");
    }
}

#[test]
fn report_json_has_the_spec_keys_and_reads_back() {
    let case = case("random_11_imbalanced");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/report");
    write_report_dir(&out, &report, &predictions, &classes).unwrap();

    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    let spec_top = [
        "model",
        "data",
        "windows",
        "accuracy",
        "cohen_kappa",
        "macro",
        "weighted",
        "per_class",
        "confusion_matrix",
        "per_user",
        "seconds",
    ];
    has_all(&json, &spec_top, "report.json");
    assert_eq!(keys(&json["model"]), vec!["name", "path", "version"]);
    assert_eq!(json["model"]["name"], "demo-1dcnn-bilstm");
    assert_eq!(json["data"], "data/demo/labeled.csv");
    assert_eq!(keys(&json["windows"]), vec!["skipped", "used"]);
    assert_eq!(json["windows"]["used"], 2000);
    assert_eq!(json["windows"]["skipped"], 4);
    assert_eq!(json["seconds"], 1.5);
    for average in ["macro", "weighted"] {
        assert_eq!(keys(&json[average]), vec!["f1", "precision", "recall"]);
    }
    let per_class = json["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 11);
    for (entry, name) in per_class.iter().zip(&classes) {
        has_all(entry, &["class", "precision", "recall", "f1", "support"], "per_class entry");
        assert_eq!(entry["class"], name.as_str());
    }
    let matrix: Vec<Vec<u64>> = serde_json::from_value(json["confusion_matrix"].clone()).unwrap();
    assert_eq!(matrix, case.confusion_matrix);
    for entry in json["per_user"].as_array().unwrap() {
        has_all(entry, &["user", "windows", "accuracy"], "per_user entry");
    }
    assert!(json["notes"].as_array().unwrap().iter().any(|n| n == "accelerometer converted from milli-g"));

    // serde_json (without its `float_roundtrip` feature) may read a float back 1 ulp off, so floats compare loosely.
    let read_back: EvaluationReport = serde_json::from_str(&text).unwrap();
    assert_eq!(read_back.confusion_matrix, report.confusion_matrix);
    assert_eq!(read_back.classes, report.classes);
    assert_eq!(read_back.windows, report.windows);
    assert_eq!(read_back.per_class.len(), report.per_class.len());
    for (a, b) in read_back.per_class.iter().zip(&report.per_class) {
        assert_eq!((&a.class, a.support, a.predicted), (&b.class, b.support, b.predicted));
        close("f1 read back", a.f1, b.f1);
    }
    close("kappa read back", read_back.cohen_kappa.unwrap(), report.cohen_kappa.unwrap());
    close("macro f1 read back", read_back.macro_avg.f1, report.macro_avg.f1);
}

#[test]
fn undefined_kappa_is_null_with_a_note() {
    let case = case("single_class_all_right");
    assert_eq!(case.cohen_kappa, None, "scikit-learn gives NaN here");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    assert_eq!(report.cohen_kappa, None);
    close("accuracy", report.accuracy, case.accuracy);
    let json: Value = serde_json::to_value(&report).unwrap();
    assert!(json["cohen_kappa"].is_null());
    assert!(report.notes.iter().any(|n| n.contains("kappa")));
    assert!(report.notes.iter().any(|n| n.contains("No true windows of: ear_rubbing")));
}

#[test]
fn csv_files_hold_the_report_numbers() {
    let case = case("classes_never_true");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_report_dir(dir.path(), &report, &predictions, &classes).unwrap();

    let mut reader = csv::Reader::from_path(dir.path().join("confusion_matrix.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[0], "true\\predicted");
    assert_eq!(&header[1..], &classes[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), classes.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(&row[0], classes[i]);
        let counts: Vec<u64> = row.iter().skip(1).map(|c| c.parse().unwrap()).collect();
        assert_eq!(counts, case.confusion_matrix[i], "row {}", classes[i]);
    }

    let mut reader = csv::Reader::from_path(dir.path().join("per_class.csv")).unwrap();
    assert_eq!(reader.headers().unwrap(), vec!["class", "precision", "recall", "f1", "support", "predicted"]);
    for (i, row) in reader.records().map(Result::unwrap).enumerate() {
        assert_eq!(&row[0], classes[i]);
        close("precision", row[1].parse().unwrap(), case.precision[i]);
        close("recall", row[2].parse().unwrap(), case.recall[i]);
        close("f1", row[3].parse().unwrap(), case.f1[i]);
        assert_eq!(row[4].parse::<u64>().unwrap(), case.support[i]);
    }
}

#[test]
fn predictions_csv_has_the_spec_columns_and_full_precision() {
    let case = case("random_11_imbalanced");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_report_dir(dir.path(), &report, &predictions, &classes).unwrap();

    let mut reader = csv::Reader::from_path(dir.path().join("predictions.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let mut expected: Vec<String> = ["window", "start_row", "end_row", "t_start", "t_end", "predicted", "confidence"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.extend(classes.iter().map(|c| format!("p_{c}")));
    expected.push("true".into());
    expected.push("user".into());
    assert_eq!(header, expected);

    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), predictions.len());
    for (row, p) in rows.iter().zip(&predictions) {
        assert_eq!(row[0].parse::<usize>().unwrap(), p.window);
        assert_eq!(row[1].parse::<usize>().unwrap(), p.start_row);
        assert_eq!(row[2].parse::<usize>().unwrap(), p.end_row);
        assert_eq!(row[3].parse::<f64>().unwrap(), p.t_start);
        assert_eq!(row[4].parse::<f64>().unwrap(), p.t_end);
        assert_eq!(&row[5], classes[case.y_pred[p.window]], "predicted is the argmax class");
        let probabilities: Vec<f32> = (7..7 + classes.len()).map(|c| row[c].parse().unwrap()).collect();
        assert_eq!(probabilities, p.probabilities, "probabilities read back bit for bit");
        let max = probabilities.iter().copied().fold(f32::MIN, f32::max);
        assert_eq!(row[6].parse::<f32>().unwrap(), max, "confidence is the largest probability");
        assert_eq!(&row[7 + classes.len()], classes[case.y_true[p.window]]);
        assert_eq!(Some(&row[8 + classes.len()]), p.user.as_deref());
    }
}

#[test]
fn confusion_png_is_written_and_decodes_at_figure_size() {
    let case = case("random_11_imbalanced");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let written = write_report_dir(dir.path(), &report, &predictions, &classes).unwrap();
    let png = dir.path().join("confusion_matrix.png");
    assert!(written.contains(&png));

    let image = image::open(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (1400, 1200));
    let pixels = image.pixels().count();
    let white = image.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    assert!(white < pixels * 8 / 10, "the figure is mostly empty: {white} of {pixels} pixels white");
    // The darkest cells use the end of the Blues map (a dark navy); text is near-black.
    let navy = image.pixels().filter(|p| p.0[2] > 90 && p.0[0] < 40 && p.0[1] < 90).count();
    assert!(navy > 10_000, "the well-predicted diagonal should be drawn dark blue ({navy} pixels)");
}

#[test]
fn windows_without_a_label_are_skipped_and_none_at_all_is_an_error() {
    let case = case("tiny_mixed");
    let classes = classes(case.n_classes);
    let mut predictions = predictions(&case);
    predictions[0].true_label = None;
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    assert_eq!(report.windows.used, case.y_true.len() as u64 - 1);
    assert_eq!(report.windows.skipped, 4 + 1);
    assert!(report.notes.iter().any(|n| n.contains("no usable true label")));

    predictions.iter_mut().for_each(|p| p.true_label = None);
    assert!(matches!(EvaluationReport::build(context(), &classes, &predictions), Err(EvalError::NoLabelledWindows)));
}

#[test]
fn malformed_predictions_are_errors_naming_the_window() {
    let case = case("tiny_mixed");
    let classes = classes(case.n_classes);
    let mut predictions = predictions(&case);
    predictions[3].probabilities.pop();
    let error = EvaluationReport::build(context(), &classes, &predictions).unwrap_err();
    assert!(error.to_string().contains("window 3"), "{error}");

    let mut predictions = self::predictions(&case);
    predictions[2].true_label = Some(9);
    let error = EvaluationReport::build(context(), &classes, &predictions).unwrap_err();
    assert!(matches!(error, EvalError::ClassOutOfRange { index: 9, n_classes: 4 }), "{error}");
}

#[test]
fn unwritable_report_directory_is_an_error_naming_it() {
    let case = case("tiny_mixed");
    let classes = classes(case.n_classes);
    let predictions = predictions(&case);
    let report = EvaluationReport::build(context(), &classes, &predictions).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not_a_directory");
    std::fs::write(&blocker, "x").unwrap();
    let error = write_report_dir(&blocker.join("report"), &report, &predictions, &classes).unwrap_err();
    assert!(error.to_string().contains(&*blocker.to_string_lossy()), "{error}");
}

#[test]
fn windows_in_a_cell_are_the_ones_the_matrix_counts() {
    let case = case("random_11_imbalanced");
    let predictions = predictions(&case);
    let matrix = ConfusionMatrix::from_rows(&case.confusion_matrix).unwrap();
    for (i, j) in [(0, 0), (2, 3), (9, 0), (7, 6)] {
        let cell: Vec<usize> = windows_in_cell(&predictions, i, j).map(|p| p.window).collect();
        assert_eq!(cell.len() as u64, matrix.count(i, j), "cell ({i}, {j})");
        assert!(cell.iter().all(|&k| case.y_true[k] == i && case.y_pred[k] == j));
    }
}

#[test]
fn the_figure_refuses_absurd_sizes_without_panicking() {
    let case = case("tiny_mixed");
    let classes = classes(case.n_classes);
    let report = EvaluationReport::build(context(), &classes, &predictions(&case)).unwrap();
    let figure = har_monitor::eval::ConfusionFigure::from_report(&report);
    assert!(figure.render((10, 10)).is_err());
    assert!(figure.render((100_000, 800)).is_err());
    let small = figure.render((400, 340)).unwrap();
    assert_eq!(small.dimensions(), (400, 340));
    assert!(
        figure
            .write_png(Path::new("/nonexistent-dir/x.png"), (400, 340))
            .unwrap_err()
            .to_string()
            .contains("/nonexistent-dir/x.png")
    );
}
