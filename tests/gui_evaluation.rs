//! The evaluation view driven through the real app with egui_kittest (rendered by wgpu; Mesa's lavapipe here):
//! `--evaluate` at launch, the headline against the library's own report, a confusion cell opened, a window
//! picked, a snapshot of it all. And the files the view must refuse with a message instead of a crash.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use egui_kittest::kittest::{NodeT as _, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use har_monitor::eval::{EvaluationReport, windows_in_cell};
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::model::{Engine, EngineOptions};
use har_monitor::pipeline::batch::{BatchOptions, score_file};

use common::gui::{self, Dropped, fixture_model, has_label, manifest};

fn fixture(relative: &str) -> PathBuf {
    manifest("tests/fixtures").join(relative)
}

fn model() -> PathBuf {
    fixture_model("keras_bilstm.onnx")
}

fn app(evaluate: Option<PathBuf>, render: bool) -> Harness<'static, HarApp> {
    let options = GuiOptions { model: Some(model()), evaluate, view: Some(View::Evaluation), ..Default::default() };
    if render { gui::harness(gui::SIZE, options) } else { gui::headless(gui::SIZE, options) }
}

/// Steps frames (real time passes: the job runs on its own thread) until `done` holds.
fn step_until(harness: &mut Harness<'_, HarApp>, what: &str, done: impl Fn(&Harness<'_, HarApp>) -> bool) {
    assert!(gui::step_until_shown(harness, Duration::from_secs(180), done), "timed out waiting for {what}");
}

/// `--evaluate` at launch: the replay behind the evaluation view waits until the evaluation is done (filling its
/// plots would take CPU from the job on a small machine), then starts by itself.
#[test]
fn the_replay_behind_a_launch_evaluation_starts_once_it_is_done() {
    let mut harness = app(Some(fixture("gui/labeled_small.csv")), false);
    harness.step();
    assert!(harness.state().evaluation_running(), "the evaluation asked for at launch runs");
    assert!(!harness.state().live_pipeline_started(), "the replay waits while the evaluation runs");
    step_until(&mut harness, "the evaluation's end", |h| !h.state().evaluation_running());
    step_until(&mut harness, "the replay's first prediction", |h| !h.state().live_state().predictions.is_empty());
}

/// The report `har-monitor evaluate` would write for this file: the independent reference for what the view shows.
fn library_report(data: &Path) -> (EvaluationReport, Vec<har_monitor::eval::WindowPrediction>) {
    let mut engine = Engine::load(&model(), &EngineOptions::default()).unwrap();
    let scored = score_file(&mut engine, data, &BatchOptions::default(), &mut |_, _| true).unwrap();
    let report = scored.evaluation_report(&engine).unwrap();
    (report, scored.predictions)
}

#[test]
fn evaluate_at_launch_open_a_cell_and_a_window() {
    let data = fixture("gui/labeled_small.csv");
    let (report, predictions) = library_report(&data);
    let mut harness = app(Some(data), true);

    step_until(&mut harness, "the evaluation and the model name in the top bar", |h| {
        has_label(h, "accuracy") && h.query_all_by_label("fixture-keras-bilstm 1.0.0").count() == 2
    });
    // The headline is the library's report.
    for value in [
        format!("{:.1}%", report.accuracy * 100.0),
        format!("{:.3}", report.macro_avg.f1),
        format!("{:.3}", report.weighted.f1),
        report.windows.used.to_string(),
    ] {
        assert!(has_label(&harness, &value), "headline value {value} not shown");
    }

    // The confusion the analyst would look at first: the biggest cell off the diagonal.
    let n = report.classes.len();
    let (t, p) = (0..n * n)
        .map(|k| (k / n, k % n))
        .filter(|(i, j)| i != j)
        .max_by_key(|&(i, j)| (report.confusion_matrix.count(i, j), std::cmp::Reverse((i, j))))
        .unwrap();
    let count = report.confusion_matrix.count(t, p) as usize;
    assert!(count >= 2, "the fixture should confuse at least two windows in one cell");
    let (true_name, predicted_name) = (&report.classes[t], &report.classes[p]);
    harness.get_by_label(&format!("cell {true_name} → {predicted_name}")).click();
    harness.run_steps(4);

    // The cell's tab lists exactly its windows, in time order.
    assert!(has_label(&harness, &format!("Windows in cell ({count})")));
    let expected: Vec<usize> = windows_in_cell(&predictions, t, p).map(|w| w.window).collect();
    assert_eq!(expected.len(), count);
    assert!(has_label(&harness, &format!("window {}", expected[0])), "first window listed");
    assert!(has_label(&harness, &format!("window {}", expected[1])), "second window listed");
    let listed: Vec<usize> = harness
        .query_all_by_label_contains("window ")
        .filter_map(|node| node.accesskit_node().label().and_then(|l| l.strip_prefix("window ")?.parse().ok()))
        .collect();
    assert!(listed.len() >= 2, "rows are labelled `window <n>`");
    assert!(listed.iter().all(|k| expected.contains(k)), "only windows of the cell are listed: {listed:?}");

    // The first window is shown; picking the second shows it instead.
    assert!(has_label(&harness, &format!("Window #{}", expected[0])));
    let second = format!("window {}", expected[1]);
    let node = harness.get_by_label(&second);
    node.click();
    harness.run_steps(4);
    assert!(has_label(&harness, &format!("Window #{}", expected[1])));
    assert!(!has_label(&harness, &format!("Window #{}", expected[0])));

    // A deterministic picture: no pointer, no tooltip.
    harness.remove_cursor();
    harness.run_steps(4);
    mask_what_changes(&mut harness);
    harness.snapshot_options("evaluation_view", &snapshot_options());

    // Shade by count, back to the per-class table, sorted by F1 (best first; ties keep the card's order).
    harness.get_by_label("count").click();
    harness.get_by_label("Classes & users").click();
    harness.run_steps(4);
    harness.get_by_label("F1").click();
    harness.run_steps(4);
    let mut by_f1: Vec<usize> = (0..n).collect();
    by_f1.sort_by(|&a, &b| report.per_class[b].f1.total_cmp(&report.per_class[a].f1).then(a.cmp(&b)));
    let shown_y: Vec<f32> = by_f1.iter().map(|&i| harness.get_by_label(&report.classes[i]).rect().top()).collect();
    assert!(shown_y.windows(2).all(|w| w[0] < w[1]), "rows in F1 order: {by_f1:?} at {shown_y:?}");
    harness.remove_cursor();
    harness.run_steps(4);
    mask_what_changes(&mut harness);
    harness.snapshot_options("evaluation_view_by_count_classes", &snapshot_options());
}

/// Masks what differs from run to run: the wall-clock time the evaluation took, and the live pipeline's status bar
/// (a demo replay may be running behind the evaluation view).
fn mask_what_changes(harness: &mut Harness<'_, HarApp>) {
    let time = harness.get_by_label("time taken").rect();
    let status = harness.get_by_label("source").rect();
    harness.mask(egui::Rect::from_min_size(time.min - egui::vec2(2.0, 2.0), egui::vec2(190.0, 66.0)));
    harness.mask(egui::Rect::from_min_max(egui::pos2(0.0, status.top() - 4.0), egui::pos2(1280.0, 800.0)));
}

/// egui's default per-pixel tolerance (0.6, meant to absorb antialiasing differences between wgpu backends) and at
/// most 10 failing pixels: runs on this machine are pixel-identical, and one added short label already fails ~235.
fn snapshot_options() -> SnapshotOptions {
    SnapshotOptions::new().threshold(0.6).max_failed_pixels(10)
}

/// The labeled fixture rewritten by `edit` into a temporary file.
fn edited_fixture(dir: &tempfile::TempDir, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(fixture("gui/labeled_small.csv")).unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, edit(&text)).unwrap();
    path
}

#[test]
fn a_file_without_labels_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let unlabeled = edited_fixture(&dir, "unlabeled.csv", |text| {
        text.lines().map(|line| line.split(',').take(7).collect::<Vec<_>>().join(",") + "\n").collect()
    });
    let mut harness = app(Some(unlabeled), false);
    step_until(&mut harness, "the refusal", |h| has_label(h, "unlabeled.csv could not be evaluated"));
    assert!(harness.query_by_label_contains("no label column").is_some());
    assert!(has_label(&harness, "Open labeled CSV or windows (.npy)…"), "the user can pick another file");
}

#[test]
fn unknown_labels_are_named_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let odd = edited_fixture(&dir, "odd_labels.csv", |text| text.replace("nail_biting", "pen_chewing"));
    let mut harness = app(Some(odd), false);
    step_until(&mut harness, "the refusal", |h| has_label(h, "odd_labels.csv could not be evaluated"));
    assert!(harness.query_by_label_contains("pen_chewing").is_some());
}

#[test]
fn a_csv_dropped_on_the_evaluation_view_is_evaluated() {
    let mut harness = app(None, false);
    harness.run_steps(2);
    assert!(has_label(&harness, "Evaluate the model on a labeled recording"));
    harness.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(fixture("gui/labeled_small.csv"))));
    step_until(&mut harness, "the evaluation of the dropped file", |h| has_label(h, "accuracy"));
    assert!(has_label(&harness, "labeled_small.csv"));
}

/// Defect 17: at 1024×700 the confusion matrix's header texts do not overlap, and the matrix with its support
/// column and the per-class table with its support column fit beside each other.
#[test]
fn the_evaluation_view_fits_a_small_window() {
    let options = GuiOptions {
        model: Some(model()),
        evaluate: Some(fixture("gui/labeled_small.csv")),
        view: Some(View::Evaluation),
        ..Default::default()
    };
    let mut harness = gui::headless([1024.0, 700.0], options);
    step_until(&mut harness, "the evaluation", |h| has_label(h, "accuracy"));
    harness.run_steps(2);
    let title = harness.get_by_label("Confusion matrix").rect();
    let caption = harness.get_by_label("rows: true class · columns: predicted class").rect();
    let shade_by = harness.get_by_label("shade by").rect();
    let row_share = harness.get_by_label("row share").rect();
    for (a, b, what) in [
        (title, caption, "title and caption"),
        (caption, shade_by, "caption and `shade by`"),
        (shade_by, row_share, "`shade by` and its switch"),
    ] {
        assert!(!a.intersects(b), "{what} overlap: {a:?} {b:?}");
    }
    // The matrix's last column, then its support column (54 px), end before the side panel begins.
    let (report, _) = library_report(&fixture("gui/labeled_small.csv"));
    let last = report.classes.last().unwrap();
    let corner = harness.get_by_label(&format!("cell {last} → {last}")).rect();
    let side = harness.get_by_label("Classes & users").rect();
    assert!(corner.right() + 54.0 <= side.left(), "the support column is clipped: {corner:?}, side panel at {side:?}");
    // The per-class table's support column is inside the window.
    let support = harness.get_by_label("support").rect();
    assert!(support.right() <= 1024.0, "the table's support column is clipped: {support:?}");
}

/// The Calibration tab shows the report's calibration block: the verdict, the numbers and the reliability diagram
/// (the demo model on the demo's unseen users, as the README shows it).
#[test]
fn the_calibration_tab_shows_the_reports_reliability_and_verdict() {
    let data = manifest("data/demo/labeled_unseen_users.csv");
    let demo = manifest("models/demo/demo-1dcnn-bilstm.onnx");
    let mut engine = Engine::load(&demo, &EngineOptions::default()).unwrap();
    let scored = score_file(&mut engine, &data, &BatchOptions::default(), &mut |_, _| true).unwrap();
    let report = scored.evaluation_report(&engine).unwrap();
    let calibration = report.calibration.clone().expect("a labeled evaluation has a calibration block");

    let options =
        GuiOptions { model: Some(demo), evaluate: Some(data), view: Some(View::Evaluation), ..Default::default() };
    let mut harness = gui::harness(gui::SIZE, options);
    let shown = format!("{} {}", engine.card().name, engine.card().version);
    // The model name in the top bar too (the live session behind the view loads it): a steady picture.
    step_until(&mut harness, "the evaluation and the model name in the top bar", |h| {
        has_label(h, "accuracy") && h.query_all_by_label(&shown).count() == 2
    });
    harness.get_by_label("Calibration").click();
    harness.run_steps(4);
    assert!(has_label(&harness, &calibration.verdict()), "the verdict is shown");
    for value in [
        format!("{:.4}", calibration.ece),
        format!("{:.4}", calibration.ece_equal_mass),
        format!("{:.4}", calibration.brier),
        format!("{:.4}", calibration.log_loss),
    ] {
        assert!(has_label(&harness, &value), "calibration value {value} not shown");
    }
    assert!(has_label(&harness, "Per class (one versus rest)"));
    harness.remove_cursor();
    harness.run_steps(4);
    // The README's picture of the tab, unmasked: `HAR_MONITOR_DOCS_SCREENSHOTS=1 cargo test --test gui_evaluation`.
    if std::env::var_os("HAR_MONITOR_DOCS_SCREENSHOTS").is_some() {
        let image = harness.render().expect("rendered");
        image.save(manifest("docs/evaluation_calibration.png")).expect("docs/evaluation_calibration.png written");
    }
    mask_what_changes(&mut harness);
    harness.snapshot_options("evaluation_calibration", &snapshot_options());
}
