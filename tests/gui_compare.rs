//! The evaluation view's comparison panel driven through the real app with egui_kittest: two fixture models
//! compared on a labeled file (`gui --evaluate F --compare B`), what the panel shows checked against the library's
//! own comparison (`pipeline::compare`, the computation behind `har-monitor compare`), back to the evaluation and
//! again, and a model B that cannot be compared refused with the reason.

use std::path::PathBuf;
use std::time::Duration;

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::model::EngineOptions;
use har_monitor::pipeline::batch::{BatchOptions, DataInput};
use har_monitor::pipeline::compare::{CompareRequest, compare_models};

use common::gui::{self, fixture_model, has_label, manifest};

fn data() -> PathBuf {
    manifest("tests/fixtures/gui/labeled_small.csv")
}

fn demo() -> PathBuf {
    manifest("models/demo/demo-1dcnn-bilstm.onnx")
}

fn app(model_b: PathBuf) -> Harness<'static, HarApp> {
    let options = GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        evaluate: Some(data()),
        compare: Some(model_b),
        view: Some(View::Evaluation),
        ..Default::default()
    };
    gui::headless(gui::SIZE, options)
}

fn step_until(harness: &mut Harness<'_, HarApp>, what: &str, done: impl Fn(&Harness<'_, HarApp>) -> bool) {
    assert!(gui::step_until_shown(harness, Duration::from_secs(240), done), "timed out waiting for {what}");
}

#[test]
fn two_models_compared_side_by_side_with_mcnemar() {
    let request = CompareRequest {
        model_a: fixture_model("keras_bilstm.onnx"),
        model_b: demo(),
        data: DataInput::Csv(data()),
        engine: EngineOptions::default(),
        batch: BatchOptions::default(),
    };
    let reference = compare_models(&request, &mut |_| true).unwrap().comparison;
    let mut harness = app(demo());
    step_until(&mut harness, "the comparison", |h| has_label(h, "McNemar's test"));

    // The verdict and the numbers are the library's.
    assert!(has_label(&harness, &reference.verdict.text), "verdict {} shown", reference.verdict.text);
    let d = &reference.deltas;
    for text in [
        format!("{:+.1} pts", d.accuracy.delta * 100.0),
        format!("{:+.3}", d.macro_f1.delta),
        format!("{:+.3}", d.weighted_f1.delta),
        format!("A {:.1}%", d.accuracy.a * 100.0),
        format!("B {:.1}%", d.accuracy.b * 100.0),
        format!("{} paired windows", reference.windows),
    ] {
        assert!(has_label(&harness, &text), "{text} shown");
    }
    let m = &reference.mcnemar;
    for (count, hover) in [(m.only_a_right, "only A right"), (m.only_b_right, "only B right")] {
        assert!(has_label(&harness, &count.to_string()), "{hover}: {count} shown");
    }
    assert!(harness.query_by_label_contains("exact binomial p = ").is_some());
    // Both confusion matrices, one cell of each per (true, predicted) pair.
    let first = &reference.classes[0];
    assert_eq!(harness.query_all_by_label(&format!("cell {first} → {first}")).count(), 2, "two matrices");
    // The per-class table: a row per class with its F1 difference.
    for class in &reference.per_class {
        assert!(has_label(&harness, &format!("{:+.3}", class.delta)), "F1 delta of {} shown", class.class);
    }

    // Back to the evaluation of model A, and to the comparison again (kept, not recomputed).
    harness.get_by_label("⏴ Evaluation").click();
    harness.run_steps(3);
    assert!(has_label(&harness, "Confusion matrix") && !has_label(&harness, "McNemar's test"));
    harness.get_by_label("Compare…").click();
    harness.run_steps(3);
    assert!(has_label(&harness, &reference.verdict.text));
    assert!(has_label(&harness, "Run again"));
}

#[test]
fn a_model_b_with_other_classes_is_refused_naming_them() {
    let mut harness = app(fixture_model("torch_style_nct_10_classes.onnx"));
    step_until(&mut harness, "the refusal", |h| has_label(h, "The models could not be compared"));
    assert!(harness.query_by_label_contains("only A has standing").is_some());
    assert!(has_label(&harness, "Another model B…"), "the user can pick another model B");
}

/// Model B picked from the registry's versions in the panel: version 1 (the fixture, the evaluated model A) against
/// version 2 (the demo model, alias `production`).
#[test]
fn a_registry_version_is_compared_with_the_evaluated_model() {
    use har_monitor::registry::{ImportOptions, Registry};

    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path()).unwrap();
    let import = |model: PathBuf, alias: Option<&str>| {
        let options = ImportOptions { name: Some("har".into()), alias: alias.map(Into::into), ..Default::default() };
        registry.import(&model, &options).unwrap()
    };
    let v1 = import(fixture_model("keras_bilstm.onnx"), None);
    let v2 = import(demo(), Some("production"));
    let request = CompareRequest {
        model_a: v1.model_path.clone(),
        model_b: v2.model_path.clone(),
        data: DataInput::Csv(data()),
        engine: EngineOptions::default(),
        batch: BatchOptions::default(),
    };
    let reference = compare_models(&request, &mut |_| true).unwrap().comparison;

    let options = GuiOptions {
        model: Some(v1.model_path.clone()),
        evaluate: Some(data()),
        view: Some(View::Evaluation),
        registry: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let mut harness = gui::headless(gui::SIZE, options);
    step_until(&mut harness, "the evaluation", |h| has_label(h, "Compare…"));
    harness.get_by_label("Compare…").click();
    harness.run_steps(3);
    assert!(has_label(&harness, "Pick model B…"));
    harness.get_by_label("Registry version ⏷").click();
    harness.run_steps(3);
    harness.get_by_label("har@2  (production)").click();
    step_until(&mut harness, "the comparison", |h| has_label(h, "McNemar's test"));
    assert!(has_label(&harness, &reference.verdict.text), "verdict {} shown", reference.verdict.text);
    assert!(has_label(&harness, "demo-1dcnn-bilstm 1.0.0"), "model B named by its card");
}
