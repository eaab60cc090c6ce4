//! Comparing two models (`har-monitor compare`, `pipeline::compare`): McNemar's test against statsmodels, the
//! deltas of two real models on the same windows against scikit-learn, each side equal to what `evaluate`
//! writes, and the inputs that must be refused with exit 2 (fixtures: tests/fixtures/compare/make_fixtures.py).

mod common;

use std::path::{Path, PathBuf};

use har_monitor::eval::compare::{Comparison, McNemar, McNemarMethod};
use har_monitor::model::EngineOptions;
use har_monitor::pipeline::batch::{BatchOptions, DataInput};
use har_monitor::pipeline::compare::{CompareError, CompareRequest, compare_models};
use serde::Deserialize;
use serde_json::Value;

use common::cli::{bin, run};

/// Agreement required with statsmodels and scikit-learn.
const TOLERANCE: f64 = 1e-12;

fn manifest(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn keras() -> PathBuf {
    manifest("tests/fixtures/models/keras_bilstm.onnx")
}

fn demo() -> PathBuf {
    manifest("models/demo/demo-1dcnn-bilstm.onnx")
}

fn small_file() -> PathBuf {
    manifest("tests/fixtures/gui/labeled_small.csv")
}

fn demo_file() -> PathBuf {
    manifest("data/demo/labeled_unseen_users.csv")
}

/// `x` equals `reference` to [`TOLERANCE`] relative (exactly, for a reference of 0).
fn close(x: f64, reference: f64, what: &str) {
    let scale = reference.abs().max(f64::MIN_POSITIVE);
    assert!((x - reference).abs() <= TOLERANCE * scale, "{what}: {x:e} vs reference {reference:e}");
}

/// Cohen's kappa, (p_o − p_e) / (1 − p_e), equals `reference` to [`TOLERANCE`] relative to the proportions it is
/// made of (both at most 1): for a model at chance level the two nearly cancel, and a result near 0 carries the
/// rounding of terms near 1.
fn close_kappa(x: f64, reference: f64, what: &str) {
    let scale = reference.abs().max(1.0);
    assert!((x - reference).abs() <= TOLERANCE * scale, "{what}: {x:e} vs reference {reference:e}");
}

fn request(a: &Path, b: &Path, data: &Path) -> CompareRequest {
    CompareRequest {
        model_a: a.to_path_buf(),
        model_b: b.to_path_buf(),
        data: DataInput::Csv(data.to_path_buf()),
        engine: EngineOptions::default(),
        batch: BatchOptions::default(),
    }
}

#[derive(Debug, Deserialize)]
struct McNemarCase {
    name: String,
    table: [[u64; 2]; 2],
    exact_statistic: f64,
    exact_p: f64,
    chi2_statistic: Option<f64>,
    chi2_p: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct McNemarFixture {
    cases: Vec<McNemarCase>,
}

#[test]
fn mcnemar_matches_statsmodels_exact_and_chi_square() {
    let text = std::fs::read_to_string(manifest("tests/fixtures/compare/mcnemar.json")).unwrap();
    let fixture: McNemarFixture = serde_json::from_str(&text).unwrap();
    assert!(fixture.cases.len() >= 10);
    for case in &fixture.cases {
        let [[a, b], [c, d]] = case.table;
        let m = McNemar::from_counts(a, b, c, d);
        let name = &case.name;
        assert_eq!((m.both_right, m.only_a_right, m.only_b_right, m.both_wrong), (a, b, c, d), "{name}");
        assert_eq!(m.discordant, b + c, "{name}");
        assert_eq!(m.exact_statistic as f64, case.exact_statistic, "{name}");
        close(m.exact_p, case.exact_p, &format!("{name}: exact p"));
        match (case.chi2_statistic, case.chi2_p) {
            (Some(statistic), Some(p)) => {
                close(m.chi2_statistic.unwrap(), statistic, &format!("{name}: chi-square"));
                close(m.chi2_p.unwrap(), p, &format!("{name}: chi-square p"));
            }
            // b + c = 0: statsmodels divides by zero; we call the statistic undefined.
            _ => assert_eq!((m.chi2_statistic, m.chi2_p, b + c), (None, None, 0), "{name}"),
        }
        // The rule: exact below 25 discordant windows, else the chi-square.
        let expected = if b + c < 25 { McNemarMethod::Exact } else { McNemarMethod::ChiSquare };
        assert_eq!(m.primary, expected, "{name}");
        let primary_p = if expected == McNemarMethod::Exact { m.exact_p } else { m.chi2_p.unwrap() };
        assert_eq!(m.p_value, primary_p, "{name}");
    }
    let names: Vec<&str> = fixture.cases.iter().map(|c| c.name.as_str()).collect();
    for edge in ["no_discordant", "one_discordant_a", "discordant_24", "discordant_25", "large", "very_unbalanced"] {
        assert!(names.contains(&edge), "fixture case {edge} missing");
    }
}

#[derive(Debug, Deserialize)]
struct SideRef {
    accuracy: f64,
    macro_f1: f64,
    weighted_f1: f64,
    macro_precision: f64,
    macro_recall: f64,
    cohen_kappa: Option<f64>,
    f1: Vec<f64>,
    confusion_matrix: Vec<Vec<u64>>,
}

#[derive(Debug, Deserialize)]
struct PairedMcNemar {
    table: [[u64; 2]; 2],
    exact_p: f64,
    chi2_statistic: Option<f64>,
    chi2_p: f64,
}

#[derive(Debug, Deserialize)]
struct PairedFixture {
    windows: u64,
    a: SideRef,
    b: SideRef,
    deltas: std::collections::HashMap<String, f64>,
    f1_deltas: Vec<f64>,
    support: Vec<u64>,
    mcnemar: PairedMcNemar,
}

/// Two real models on the demo file: the confusion matrices are those of the committed paired predictions, and
/// every delta, per-class F1 delta and McNemar number is scikit-learn's / statsmodels' for them.
#[test]
fn two_models_on_the_demo_file_match_scikit_learn_and_statsmodels() {
    let text = std::fs::read_to_string(manifest("tests/fixtures/compare/sklearn_paired.json")).unwrap();
    let reference: PairedFixture = serde_json::from_str(&text).unwrap();
    let outcome = compare_models(&request(&keras(), &demo(), &demo_file()), &mut |_| true).unwrap();
    let c: &Comparison = &outcome.comparison;
    assert_eq!(c.windows, reference.windows);
    assert_eq!(c.a.confusion_matrix.rows(), reference.a.confusion_matrix, "A's windows are the fixture's");
    assert_eq!(c.b.confusion_matrix.rows(), reference.b.confusion_matrix, "B's windows are the fixture's");
    for (side, ours, theirs) in [("A", &c.a, &reference.a), ("B", &c.b, &reference.b)] {
        close(ours.accuracy, theirs.accuracy, &format!("{side} accuracy"));
        close(ours.macro_avg.f1, theirs.macro_f1, &format!("{side} macro-F1"));
        close(ours.weighted.f1, theirs.weighted_f1, &format!("{side} weighted-F1"));
        close(ours.macro_avg.precision, theirs.macro_precision, &format!("{side} macro precision"));
        close(ours.macro_avg.recall, theirs.macro_recall, &format!("{side} macro recall"));
        close_kappa(ours.cohen_kappa.unwrap(), theirs.cohen_kappa.unwrap(), &format!("{side} kappa"));
        for (k, (x, y)) in ours.per_class.iter().zip(&theirs.f1).enumerate() {
            close(x.f1, *y, &format!("{side} F1 of class {k}"));
        }
    }
    let d = &c.deltas;
    for (name, ours) in [
        ("accuracy", d.accuracy.delta),
        ("macro_f1", d.macro_f1.delta),
        ("weighted_f1", d.weighted_f1.delta),
        ("macro_precision", d.macro_precision.delta),
        ("macro_recall", d.macro_recall.delta),
        ("cohen_kappa", d.cohen_kappa.delta.unwrap()),
    ] {
        close(ours, reference.deltas[name], &format!("delta {name}"));
    }
    assert_eq!(c.per_class.len(), reference.f1_deltas.len());
    for ((ours, delta), support) in c.per_class.iter().zip(&reference.f1_deltas).zip(&reference.support) {
        close(ours.delta, *delta, &format!("F1 delta of {}", ours.class));
        assert_eq!(ours.support, *support, "support of {}", ours.class);
    }
    let m = &c.mcnemar;
    let [[a, b], [cc, dd]] = reference.mcnemar.table;
    assert_eq!((m.both_right, m.only_a_right, m.only_b_right, m.both_wrong), (a, b, cc, dd));
    close(m.exact_p, reference.mcnemar.exact_p, "exact p");
    close(m.chi2_statistic.unwrap(), reference.mcnemar.chi2_statistic.unwrap(), "chi-square");
    close(m.chi2_p.unwrap(), reference.mcnemar.chi2_p, "chi-square p");
    // The trained demo model beats random weights by far: a real difference.
    assert_eq!(c.verdict.better.as_deref(), Some("B"), "{:?}", c.verdict);
    assert!(c.verdict.text.starts_with("B is better, p "), "{}", c.verdict.text);
}

#[test]
fn a_model_compared_with_itself_has_no_discordant_window() {
    let outcome = compare_models(&request(&keras(), &keras(), &small_file()), &mut |_| true).unwrap();
    let c = outcome.comparison;
    assert_eq!(c.mcnemar.discordant, 0);
    assert_eq!(c.mcnemar.exact_p, 1.0);
    assert_eq!(c.mcnemar.chi2_statistic, None);
    assert!(!c.verdict.significant && c.verdict.better.is_none());
    assert_eq!(c.deltas.accuracy.delta, 0.0);
    assert!(c.per_class.iter().all(|d| d.delta == 0.0));
    assert_eq!(c.a.confusion_matrix, c.b.confusion_matrix);
    assert!(c.notes.iter().any(|n| n.contains("same model file")), "{:?}", c.notes);
}

#[test]
fn cancelling_stops_the_comparison() {
    let mut calls = 0;
    let result = compare_models(&request(&keras(), &demo(), &small_file()), &mut |_| {
        calls += 1;
        calls < 3
    });
    assert!(matches!(result, Err(CompareError::Cancelled)), "{result:?}");
}

/// A copy of the torch-style fixture model in `dir` with its card edited by `edit`.
fn edited_model(dir: &Path, stem: &str, edit: impl Fn(&mut Value)) -> PathBuf {
    let source = manifest("tests/fixtures/models/torch_style_nct");
    let model = dir.join(format!("{stem}.onnx"));
    std::fs::copy(source.with_extension("onnx"), &model).unwrap();
    let mut card: Value =
        serde_json::from_str(&std::fs::read_to_string(source.with_extension("model.json")).unwrap()).unwrap();
    edit(&mut card);
    std::fs::write(dir.join(format!("{stem}.model.json")), card.to_string()).unwrap();
    model
}

fn compare_cli(models: &[&Path], data: &Path, out: &Path) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.arg("compare");
    for m in models {
        cmd.arg("--model").arg(m);
    }
    run(cmd.arg("--data").arg(data).arg("--out").arg(out))
}

/// A report's metrics (what `evaluate` and `compare` must agree on), without the run's wall times and paths.
fn metrics_of(report: &Value) -> Value {
    let mut report = report.clone();
    let object = report.as_object_mut().unwrap();
    for key in ["seconds", "timing"] {
        object.remove(key);
    }
    object.get_mut("model").unwrap().as_object_mut().unwrap().remove("path");
    report
}

#[test]
fn the_cli_writes_compare_json_and_png_and_each_side_is_what_evaluate_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let (code, stdout, stderr) = compare_cli(&[&keras(), &demo()], &small_file(), &out);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("accuracy") && stdout.contains("B − A"), "{stdout}");
    assert!(stdout.contains("McNemar on") && stdout.contains("verdict: "), "{stdout}");
    assert!(stderr.contains("model A: ") && stderr.contains("rows read"), "the load report is printed: {stderr}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert_eq!(json["format"], "har-compare/1");
    for key in ["data", "classes", "windows", "deltas", "per_class", "mcnemar", "verdict", "alpha", "a", "b", "notes"] {
        assert!(json.get(key).is_some(), "compare.json has `{key}`");
    }
    for key in ["accuracy", "macro_f1", "weighted_f1", "cohen_kappa", "macro_precision", "macro_recall"] {
        let d = &json["deltas"][key];
        assert!(d.get("a").is_some() && d.get("b").is_some() && d.get("delta").is_some(), "deltas.{key}: {d}");
    }
    let m = &json["mcnemar"];
    for key in ["both_right", "only_a_right", "only_b_right", "both_wrong", "exact_p", "chi2_statistic", "chi2_p"] {
        assert!(m.get(key).is_some(), "mcnemar.{key}");
    }
    assert!(["exact", "chi_square"].contains(&m["primary"].as_str().unwrap()));
    let windows = json["windows"].as_u64().unwrap();
    let counted: u64 =
        ["both_right", "only_a_right", "only_b_right", "both_wrong"].iter().map(|k| m[k].as_u64().unwrap()).sum();
    assert_eq!(counted, windows, "every paired window is in one cell");
    assert_eq!(json["per_class"].as_array().unwrap().len(), 11);

    let png = image::open(out.join("compare.png")).unwrap();
    assert_eq!((png.width(), png.height()), har_monitor::eval::COMPARE_FIGURE_SIZE);

    // Each side equals `har-monitor evaluate`'s report.json on the same model and file.
    for (side, model) in [("a", keras()), ("b", demo())] {
        let report_dir = dir.path().join(format!("eval_{side}"));
        let (code, _, stderr) = run(bin()
            .args(["evaluate", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(small_file())
            .arg("--out")
            .arg(&report_dir));
        assert_eq!(code, 0, "{stderr}");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(metrics_of(&json[side]), metrics_of(&report), "side {side} differs from evaluate's report");
    }
}

#[test]
fn exactly_two_models_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let (code, _, stderr) = compare_cli(&[&keras()], &small_file(), &out);
    assert_eq!(code, 2);
    assert!(stderr.contains("--model exactly twice") && stderr.contains("1 given"), "{stderr}");
    let (code, _, stderr) = compare_cli(&[&keras(), &demo(), &keras()], &small_file(), &out);
    assert_eq!(code, 2);
    assert!(stderr.contains("3 given"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn models_with_different_classes_or_windows_are_refused_naming_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let ten = manifest("tests/fixtures/models/torch_style_nct_10_classes.onnx");
    let (code, _, stderr) = compare_cli(&[&keras(), &ten], &small_file(), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("different class lists") && stderr.contains("only A has standing"), "{stderr}");

    let reordered = edited_model(dir.path(), "reordered", |card| {
        card["classes"].as_array_mut().unwrap().swap(0, 1);
    });
    let (code, _, stderr) = compare_cli(&[&keras(), &reordered], &small_file(), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("another order") && stderr.contains("ear_rubbing"), "{stderr}");

    let half_step = edited_model(dir.path(), "half_step", |card| card["step"] = 50.into());
    let (code, _, stderr) = compare_cli(&[&keras(), &half_step], &small_file(), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("different windows") && stderr.contains("every 50 rows"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn bad_inputs_exit_2_and_outputs_never_replace_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    // A file without labels.
    let unlabeled = dir.path().join("unlabeled.csv");
    let text = std::fs::read_to_string(small_file()).unwrap();
    let stripped: String =
        text.lines().map(|line| line.split(',').take(7).collect::<Vec<_>>().join(",") + "\n").collect();
    std::fs::write(&unlabeled, stripped).unwrap();
    let (code, _, stderr) = compare_cli(&[&keras(), &demo()], &unlabeled, &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unlabeled.csv") && stderr.contains("no label column"), "{stderr}");

    // A model that does not exist.
    let missing = dir.path().join("missing.onnx");
    let (code, _, stderr) = compare_cli(&[&keras(), &missing], &small_file(), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("model B") && stderr.contains("missing"), "{stderr}");

    // The data file would be overwritten by compare.json.
    let trap = dir.path().join("trap");
    std::fs::create_dir(&trap).unwrap();
    let data = trap.join("compare.json");
    std::fs::copy(small_file(), &data).unwrap();
    let (code, _, stderr) = compare_cli(&[&keras(), &demo()], &data, &trap);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("would destroy the input"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), text, "the data file is untouched");
}

/// `--model NAME@VERSION` and `NAME@ALIAS` pick registry versions, as everywhere a model is taken.
#[test]
fn registry_versions_are_compared_by_name() {
    use har_monitor::registry::{ImportOptions, Registry};

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("registry");
    let registry = Registry::open(&store).unwrap();
    for (model, alias) in [(keras(), None), (demo(), Some("production"))] {
        let options = ImportOptions { name: Some("har".into()), alias: alias.map(Into::into), ..Default::default() };
        registry.import(&model, &options).unwrap();
    }
    let out = dir.path().join("cmp");
    let (code, stdout, stderr) = run(bin()
        .env("HAR_MONITOR_REGISTRY", &store)
        .args(["compare", "--model", "har@1", "--model", "har@production", "--data"])
        .arg(small_file())
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("A: fixture-keras-bilstm 1.0.0") && stdout.contains("B: demo-1dcnn-bilstm 1.0.0"),
        "{stdout}"
    );
    let (code, _, stderr) = run(bin()
        .env("HAR_MONITOR_REGISTRY", &store)
        .args(["compare", "--model", "har@1", "--model", "har@staging", "--data"])
        .arg(small_file())
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("model B") && stderr.contains("staging"), "{stderr}");
}

/// `evaluate`'s data options mean the same here: an unknown label is refused naming it, unless
/// `--ignore-unknown-labels` is given, and then both sides skip the same windows.
#[test]
fn unknown_labels_are_refused_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd.csv");
    std::fs::write(&odd, std::fs::read_to_string(small_file()).unwrap().replace("nail_biting", "pen_chewing")).unwrap();
    let out = dir.path().join("cmp");
    let (code, _, stderr) = compare_cli(&[&keras(), &demo()], &odd, &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pen_chewing"), "{stderr}");
    let (code, _, stderr) = run(bin()
        .args(["compare", "--ignore-unknown-labels", "--threads", "1", "--model"])
        .arg(keras())
        .arg("--model")
        .arg(demo())
        .arg("--data")
        .arg(&odd)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    let skipped = json["a"]["windows"]["skipped"].as_u64().unwrap();
    assert!(skipped > 0, "windows of the unknown label are not scored");
    assert_eq!(json["b"]["windows"]["skipped"], skipped);
    assert_eq!(json["windows"], json["a"]["windows"]["used"]);
}
