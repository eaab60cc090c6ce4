//! The real app, driven headless with egui_kittest: the live view starts, plays, shows predictions, pauses, reports
//! a broken CSV without stopping, keeps a startup error on screen, switches models, remembers only what the user
//! changed; and a snapshot of the view (tests/snapshots/live_view.png).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::sim::{SimFileOptions, write_csv_file};

use common::gui::{self, fixture_model, step_until};

/// A small labeled recording from the generator: 2 users × 2 minutes.
fn recording(dir: &Path) -> PathBuf {
    let path = dir.join("rec.csv");
    let options = SimFileOptions { users: 2, minutes_per_user: 2.0, seed: 3, ..SimFileOptions::default() };
    write_csv_file(&path, &options).unwrap();
    path
}

fn harness(options: GuiOptions) -> Harness<'static, HarApp> {
    gui::harness(gui::SIZE, GuiOptions { view: Some(View::Live), ..options })
}

fn predictions(app: &HarApp) -> usize {
    app.live_state().predictions.len()
}

#[test]
fn the_live_view_plays_shows_predictions_and_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(recording(dir.path())),
        speed: Some(20.0),
        ..Default::default()
    });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) >= 3), "predictions appear while playing");
    // What is happening now is on screen: the predicted class's name, large.
    let current = h.state().live_state().current().map(|p| p.predicted).unwrap();
    let name = har_monitor::classes::THESIS_CLASSES[current].replace('_', " ");
    assert!(h.query_by_label(&name).is_some(), "the current behaviour `{name}` is shown");

    h.get_by_label("⏸ Pause").click();
    assert!(step_until(&mut h, Duration::from_secs(5), |a| !a.live_state().status.playing), "the worker paused");
    // In-flight events drain, then nothing new arrives.
    step_until(&mut h, Duration::from_millis(300), |_| false);
    let n = predictions(h.state());
    step_until(&mut h, Duration::from_millis(1500), |_| false);
    assert_eq!(predictions(h.state()), n, "no predictions while paused");

    h.get_by_label("▶ Play").click();
    assert!(step_until(&mut h, Duration::from_secs(20), |a| predictions(a) > n), "play resumes");
}

#[test]
fn a_broken_csv_shows_an_error_and_the_app_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let good = recording(dir.path());
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "timestamp,Ax,Ay,Az\n1,2,3,4\n").unwrap();
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(good.clone()),
        speed: Some(20.0),
        ..Default::default()
    });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) >= 1));
    h.state_mut().open_file(broken);
    // The error is shown (in the live view and in its log) naming the file and the missing channel.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut message = None;
    while message.is_none() && Instant::now() < deadline {
        h.step();
        // A label's text is its accesskit value.
        message = h.query_all_by_label_contains("broken.csv").find_map(|n| n.accesskit_node().value());
        std::thread::sleep(Duration::from_millis(10));
    }
    let message = message.expect("an error naming broken.csv is shown");
    assert!(message.contains("Gx"), "{message}");
    // The app is still alive and plays the next file.
    h.state_mut().open_file(good);
    let before = h.state().live_state().status.windows;
    assert!(
        step_until(&mut h, Duration::from_secs(20), |a| predictions(a) >= 2 && a.live_state().status.windows != before)
    );
}

#[test]
fn switching_models_keeps_the_replay_going_with_the_new_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(recording(dir.path())),
        speed: Some(20.0),
        ..Default::default()
    });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) >= 1));
    assert!(h.query_by_label("fixture-keras-bilstm 1.0.0").is_some(), "the model's name is in the top bar");
    h.state_mut().open_file(fixture_model("torch_style_nct.onnx"));
    let switched = step_until(&mut h, Duration::from_secs(20), |a| {
        a.live_state().model.as_ref().is_some_and(|m| m.path.ends_with("torch_style_nct.onnx")) && predictions(a) >= 1
    });
    assert!(switched, "the new model is loaded and predicting");
    let name = h.state().live_state().model.as_ref().map(|m| format!("{} {}", m.card.name, m.card.version)).unwrap();
    assert!(h.query_by_label(&name).is_some(), "the top bar shows {name}");
}

#[test]
fn live_view_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(recording(dir.path())),
        paused: true,
        ..Default::default()
    });
    // Paused: the pre-rolled first window is classified and shown, nothing else moves.
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) == 1 && a.live_state().status.windows == 1));
    step_until(&mut h, Duration::from_millis(500), |_| false);
    h.run_steps(3);
    // The status bar holds measured latencies, which differ from run to run.
    h.mask(egui::Rect::from_min_max(egui::pos2(0.0, 770.0), egui::pos2(1280.0, 800.0)));
    h.snapshot_options("live_view", &egui_kittest::SnapshotOptions::new().max_failed_pixels(200));
}

/// Defect 3: a startup error (here a model whose card is missing) stays where the prediction would be, with what
/// to do, and is in the log, long after the 6 s a toast lasts: the harness steps 15 s of app time.
#[test]
fn a_startup_error_stays_visible_in_the_live_view() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("no_card.onnx");
    std::fs::copy(fixture_model("keras_bilstm.onnx"), &model).unwrap();
    let mut h = egui_kittest::Harness::builder().with_size(egui::vec2(1280.0, 800.0)).with_step_dt(0.5).build_eframe(
        move |cc| {
            HarApp::new(
                cc,
                GuiOptions { fresh: true, view: Some(View::Live), model: Some(model), ..Default::default() },
            )
        },
    );
    let card = "no_card.model.json";
    assert!(
        gui::step_until_shown(&mut h, Duration::from_secs(30), |h| h
            .query_all_by_label_contains(card)
            .next()
            .is_some()),
        "the error naming the missing card is shown"
    );
    // 30 steps of 0.5 s: 15 s of app time.
    h.run_steps(30);
    assert!(h.state().live_state().model.is_none());
    let shown: Vec<String> =
        h.query_all_by_label_contains(card).filter_map(|n| n.accesskit_node().value()).collect::<Vec<_>>();
    assert!(shown.len() >= 2, "the error is in the live view and in the log after 15 s: {shown:?}");
    assert!(h.query_by_label_contains("No model is running").is_some(), "it is said where the prediction would be");
    assert!(h.query_by_label_contains("What to do: open a model").is_some(), "with what to do");
    assert!(h.query_by_label("loading model…").is_none(), "no endless `loading model…`");
    assert!(h.state().error_log().iter().any(|e| e.message.contains(card)), "the error is logged");
}

/// Defect 12: flags given for one run are not remembered; what the user changes in the UI is.
#[test]
fn flags_apply_to_one_run_and_ui_changes_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let replay = recording(dir.path());
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(replay.clone()),
        speed: Some(100.0),
        looping: Some(false),
        view: Some(View::Live),
        ..Default::default()
    });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) >= 1));
    let defaults = har_monitor::gui::Settings::default();
    let current = h.state().current_settings().clone();
    assert_eq!((current.speed, current.looping), (100.0, false), "this run plays as the flags say");
    assert_eq!(current.replay.as_deref(), Some(replay.as_path()));
    let remembered = h.state().remembered_settings().clone();
    assert_eq!(remembered.speed, defaults.speed, "--speed is not remembered");
    assert_eq!(remembered.looping, defaults.looping, "--no-loop is not remembered");
    assert_eq!(remembered.replay, None, "--replay is not remembered");
    assert_eq!(remembered.model, None, "--model is not remembered");

    // A speed chosen in the UI is remembered (and used). A click lands where the button was in the last frame. On a
    // loaded machine it once fell beside it: this short 100× replay ended in between, and "⏸ Pause" became the
    // narrower "▶ Play", moving the rest of the row. The button now keeps one width; the test still clicks on a
    // settled row, after the end.
    assert!(step_until(&mut h, Duration::from_secs(30), |a| !a.live_state().status.playing), "the replay ended");
    h.run_steps(2);
    h.get_by_label("10×").click();
    h.run_steps(2);
    assert_eq!(h.state().remembered_settings().speed, 10.0);
    assert_eq!(h.state().current_settings().speed, 10.0);
    assert!(
        step_until(&mut h, Duration::from_secs(5), |a| a.live_state().status.speed == 10.0),
        "the worker plays at 10×"
    );
}

/// Defect 9: at 1280 px the replay clock of an hour-long recording at 100× (the widest texts) overlaps none of the
/// replay controls.
#[test]
fn the_replay_clock_overlaps_no_control_at_1280_px() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.csv");
    let options = SimFileOptions { users: 2, minutes_per_user: 31.0, seed: 3, ..SimFileOptions::default() };
    write_csv_file(&path, &options).unwrap();
    let mut h = harness(GuiOptions {
        model: Some(fixture_model("keras_bilstm.onnx")),
        replay: Some(path),
        speed: Some(100.0),
        paused: true,
        ..Default::default()
    });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| predictions(a) >= 1));
    h.run_steps(3);
    let clock = h.get_by_label_contains(" / 1:02:00").rect();
    assert!(clock.right() <= 1280.0 - 330.0, "the clock is inside the central area: {clock:?}");
    let mut controls: Vec<egui::Rect> = ["▶ Play", "⏮ Restart", "🔁 Loop", "1×", "10×", "100×", "Open CSV…", "Start"]
        .iter()
        .map(|label| h.get_by_label(label).rect())
        .collect();
    controls.extend(h.query_all_by_label("speed").map(|n| n.rect()));
    controls.extend(h.query_all_by_label("plot").map(|n| n.rect()));
    assert!(controls.len() >= 10);
    for control in controls {
        assert!(!clock.intersects(control), "the clock {clock:?} overlaps a control at {control:?}");
    }
}
