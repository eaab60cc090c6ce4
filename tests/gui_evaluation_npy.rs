//! The evaluation view on prepared windows (`.npy`, docs/FORMATS.md §3): a `test_X.npy` dropped on the window is
//! evaluated with the `test_y.npy` beside it through the same background job, and shows the headline of the CSV the
//! windows were cut from (tests/fixtures/npy/make_fixtures.py); windows without labels beside them ask for them.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use har_monitor::gui::{Action, GuiOptions, HarApp, View};
use har_monitor::model::{Engine, EngineOptions};
use har_monitor::pipeline::batch::{BatchOptions, score_file};

use common::gui::{self, Dropped, has_label, manifest};

fn fixture(name: &str) -> PathBuf {
    manifest("tests/fixtures/npy").join(name)
}

/// The fixtures are normalised with the demo card's scaler.
fn model() -> PathBuf {
    manifest("models/demo/demo-1dcnn-bilstm.onnx")
}

fn app(evaluate: Option<PathBuf>) -> Harness<'static, HarApp> {
    let options = GuiOptions { model: Some(model()), evaluate, view: Some(View::Evaluation), ..Default::default() };
    gui::headless(gui::SIZE, options)
}

fn step_until(harness: &mut Harness<'_, HarApp>, what: &str, done: impl Fn(&Harness<'_, HarApp>) -> bool) {
    assert!(gui::step_until_shown(harness, Duration::from_secs(180), done), "timed out waiting for {what}");
}

/// The thesis' naming: `test_X.npy` and `test_y.npy` side by side (copies of the fixtures).
fn thesis_pair(dir: &Path, with_labels: bool) -> PathBuf {
    let x = dir.join("test_X.npy");
    std::fs::copy(fixture("slice_X.npy"), &x).unwrap();
    if with_labels {
        std::fs::copy(fixture("slice_y.npy"), dir.join("test_y.npy")).unwrap();
    }
    x
}

#[test]
fn dropped_windows_are_evaluated_with_the_labels_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let x = thesis_pair(dir.path(), true);
    // The reference: the library's report of the CSV the windows were cut from.
    let mut engine = Engine::load(&model(), &EngineOptions::default()).unwrap();
    let scored = score_file(&mut engine, &fixture("slice.csv"), &BatchOptions::default(), &mut |_, _| true).unwrap();
    let report = scored.evaluation_report(&engine).unwrap();

    let mut harness = app(None);
    harness.run_steps(2);
    assert!(has_label(&harness, "Open labeled CSV or windows (.npy)…"));
    harness.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(x)));
    step_until(&mut harness, "the evaluation of the dropped windows", |h| has_label(h, "accuracy"));
    assert!(has_label(&harness, "test_X.npy"));
    for value in [
        format!("{:.1}%", report.accuracy * 100.0),
        format!("{:.3}", report.macro_avg.f1),
        report.windows.used.to_string(),
    ] {
        assert!(has_label(&harness, &value), "headline value {value} not shown");
    }
    // The normalisation decision is among the notes, as for the CLI.
    harness.get_by_label_contains("notes (").click();
    harness.run_steps(3);
    assert!(harness.query_all_by_label_contains("detected already normalised").next().is_some());
}

#[test]
fn windows_without_labels_beside_them_ask_for_the_labels_file() {
    let dir = tempfile::tempdir().unwrap();
    let x = thesis_pair(dir.path(), false);
    let mut harness = app(Some(x.clone()));
    step_until(&mut harness, "the request for labels", |h| has_label(h, "test_X.npy could not be evaluated"));
    assert!(harness.query_by_label_contains("there are no test_y.npy beside it").is_some());
    assert!(has_label(&harness, "Choose the labels file (y.npy)…"));
    // What choosing them in the dialog does: the same job, with these labels.
    harness.state_mut().apply(Action::EvaluateWindows { windows: x, labels: fixture("slice_y.npy") });
    step_until(&mut harness, "the evaluation with the chosen labels", |h| has_label(h, "accuracy"));
    assert!(has_label(&harness, "30"), "the 30 windows are scored");
}
