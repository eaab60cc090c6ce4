//! The real app, driven headless with egui_kittest: the live view starts, plays, shows predictions, pauses, reports
//! a broken CSV without stopping, switches models; and a snapshot of the view (tests/snapshots/live_view.png).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::sim::{SimFileOptions, write_csv_file};

fn fixture_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models").join(name)
}

/// A small labeled recording from the generator: 2 users × 2 minutes.
fn recording(dir: &Path) -> PathBuf {
    let path = dir.join("rec.csv");
    let options = SimFileOptions { users: 2, minutes_per_user: 2.0, seed: 3, ..SimFileOptions::default() };
    write_csv_file(&path, &options).unwrap();
    path
}

fn harness(options: GuiOptions) -> Harness<'static, HarApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .wgpu()
        .build_eframe(move |cc| HarApp::new(cc, GuiOptions { fresh: true, view: Some(View::Live), ..options }))
}

/// Steps frames (the worker runs in real time) until `done` or the timeout; true when done.
fn step_until(h: &mut Harness<'_, HarApp>, timeout: Duration, done: impl Fn(&HarApp) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        h.step();
        if done(h.state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
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
    // The error arrives as a toast naming the file and the missing channel.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut message = None;
    while message.is_none() && Instant::now() < deadline {
        h.step();
        // A label's text is its accesskit value.
        message = h.query_by_label_contains("broken.csv").and_then(|n| n.accesskit_node().value());
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
