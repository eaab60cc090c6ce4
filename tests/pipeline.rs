//! The live pipeline without a UI: a replay at 100× gives exactly the windows and probabilities that batch
//! scoring of the same file gives; pause stops predictions; a broken file is reported and the worker keeps
//! running; switching models works; seeking restarts the windows there.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use har_monitor::model::{Engine, EngineOptions};
use har_monitor::monitor::DriftConfig;
use har_monitor::monitor::alerts::AlertConfig;
use har_monitor::pipeline::batch::{BatchOptions, score_file};
use har_monitor::pipeline::{Command, Event, LivePrediction, PipelineConfig, PipelineHandle};
use har_monitor::source::SourceSpec;

const CLASSES: [&str; 11] = har_monitor::classes::THESIS_CLASSES;

fn fixture_model(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models").join(name)
}

/// A labeled recording: two users of `seconds` each, 50 Hz, a slow posture change plus a few-Hz oscillation whose
/// frequency follows the label, so windows differ.
fn write_labeled_csv(path: &Path, seconds: usize) {
    let mut text = String::from("timestamp,Ax_w,Ay_w,Az_w,Gx_w,Gy_w,Gz_w,activity,User\n");
    let mut t_ms: u64 = 1_700_000_000_000;
    for user in 1..=2 {
        for i in 0..seconds * 50 {
            let t = i as f64 / 50.0;
            let class = (i / 600 + user) % CLASSES.len();
            let f = 1.0 + class as f64 * 0.4;
            let w = 2.0 * std::f64::consts::PI * f * t;
            let ax = 9.0 * (t / 7.0).cos() + 1.5 * w.sin();
            let ay = 3.0 * (t / 5.0).sin() + 0.8 * (2.0 * w).cos();
            let az = -2.0 + 0.5 * w.cos();
            let (gx, gy, gz) = (60.0 * w.cos(), 20.0 * (w * 0.5).sin(), 10.0 * (t / 3.0).sin());
            text += &format!("{t_ms},{ax:.4},{ay:.4},{az:.4},{gx:.3},{gy:.3},{gz:.3},{},{user}\n", CLASSES[class]);
            t_ms += 20;
        }
        // A pause between users: the replay closes it up, the windows must not span it.
        t_ms += 60_000;
    }
    std::fs::write(path, text).unwrap();
}

fn start(model: &Path, source: Option<SourceSpec>, speed: f64, playing: bool) -> PipelineHandle {
    let config = PipelineConfig {
        model: model.to_path_buf(),
        source,
        speed,
        looping: false,
        playing,
        alerts: AlertConfig::default(),
        engine: EngineOptions::default(),
        drift: DriftConfig::default(),
        record: None,
    };
    PipelineHandle::spawn(config, Box::new(|| {})).unwrap()
}

/// Collects events until `done` says so or the timeout passes.
fn collect_until(p: &PipelineHandle, timeout: Duration, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let deadline = Instant::now() + timeout;
    let mut events = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = p.recv_timeout(Duration::from_millis(50)) {
            let stop = done(&e);
            events.push(e);
            if stop {
                break;
            }
        }
    }
    events
}

fn predictions(events: &[Event]) -> Vec<&LivePrediction> {
    events.iter().filter_map(|e| if let Event::Prediction(p) = e { Some(p) } else { None }).collect()
}

#[test]
fn replay_gives_the_same_windows_and_probabilities_as_batch_scoring() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("two_users.csv");
    write_labeled_csv(&csv, 40);
    let model = fixture_model("keras_bilstm.onnx");

    let mut engine = Engine::load(&model, &EngineOptions::default()).unwrap();
    let batch = score_file(&mut engine, &csv, &BatchOptions::default(), &mut |_, _| true).unwrap();
    assert!(batch.predictions.len() > 30);

    let p = start(&model, Some(SourceSpec::Replay { path: csv.clone() }), 100.0, true);
    let events = collect_until(&p, Duration::from_secs(60), |e| matches!(e, Event::Ended));
    assert!(events.iter().any(|e| matches!(e, Event::Ended)), "the replay reached its end");
    assert!(!events.iter().any(|e| matches!(e, Event::Error(_))), "no errors");
    let live = predictions(&events);
    assert_eq!(live.len(), batch.predictions.len(), "one live prediction per batch window");
    for (l, b) in live.iter().zip(&batch.predictions) {
        assert_eq!(l.true_label, b.true_label, "window {}", b.window);
        let diff = l.probabilities.iter().zip(&b.probabilities).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "window {}: probabilities differ by {diff}", b.window);
        assert_eq!(l.predicted, b.predicted());
        assert!((l.t_end - l.t_start - 4.0).abs() < 1e-6, "4-second windows");
    }
}

#[test]
fn pause_stops_predictions_and_play_resumes_them() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rec.csv");
    write_labeled_csv(&csv, 60);
    let p = start(&fixture_model("keras_bilstm.onnx"), Some(SourceSpec::Replay { path: csv }), 20.0, true);
    // The pre-roll gives a first prediction at once; then more follow while playing.
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen < 3 && Instant::now() < deadline {
        if let Some(Event::Prediction(_)) = p.recv_timeout(Duration::from_millis(50)) {
            seen += 1;
        }
    }
    assert_eq!(seen, 3, "predictions flow while playing");
    assert!(p.send(Command::Pause));
    // Let in-flight events arrive, then watch for a while: nothing new may come.
    std::thread::sleep(Duration::from_millis(300));
    let _: Vec<_> = p.drain().collect();
    let quiet = collect_until(&p, Duration::from_millis(1500), |_| false);
    assert!(predictions(&quiet).is_empty(), "no predictions while paused");
    assert!(p.send(Command::Play));
    let resumed = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    assert!(!predictions(&resumed).is_empty(), "play resumes predictions");
}

#[test]
fn a_broken_file_is_reported_and_the_worker_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.csv");
    std::fs::write(&bad, "timestamp,Ax,Ay\n1,2,3\n").unwrap();
    let good = dir.path().join("good.csv");
    write_labeled_csv(&good, 20);
    let p = start(&fixture_model("keras_bilstm.onnx"), None, 50.0, true);
    assert!(p.send(Command::OpenSource(SourceSpec::Replay { path: bad })));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Error(_)));
    let message = events.iter().find_map(|e| if let Event::Error(m) = e { Some(m.clone()) } else { None });
    let message = message.expect("an error event");
    assert!(message.contains("broken.csv") && message.contains("Az"), "names the file and the channel: {message}");
    assert!(p.send(Command::OpenSource(SourceSpec::Replay { path: good })));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    assert!(!predictions(&events).is_empty(), "the next file plays");
}

#[test]
fn switching_models_reloads_and_keeps_predicting() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rec.csv");
    write_labeled_csv(&csv, 60);
    let p = start(&fixture_model("keras_bilstm.onnx"), Some(SourceSpec::Replay { path: csv }), 20.0, true);
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    assert!(!predictions(&events).is_empty());
    assert!(p.send(Command::LoadModel(fixture_model("torch_style_nct.onnx"))));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::ModelLoaded(_)));
    let loaded = events.iter().find_map(|e| if let Event::ModelLoaded(m) = e { Some(m.clone()) } else { None });
    let loaded = loaded.expect("the new model loads");
    assert!(loaded.path.ends_with("torch_style_nct.onnx"));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    let first = predictions(&events);
    assert!(!first.is_empty(), "predictions continue with the new model");
    // A model that fails to load leaves the current one in place.
    assert!(p.send(Command::LoadModel(PathBuf::from("/nonexistent/model.onnx"))));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Error(_)));
    assert!(events.iter().any(|e| matches!(e, Event::Error(m) if m.contains("/nonexistent/model.onnx"))));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    assert!(!predictions(&events).is_empty(), "still predicting with the previous model");
}

#[test]
fn seeking_restarts_the_windows_at_the_new_position() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rec.csv");
    write_labeled_csv(&csv, 60);
    let p = start(&fixture_model("keras_bilstm.onnx"), Some(SourceSpec::Replay { path: csv }), 1.0, false);
    // Paused: the pre-roll alone gives the first window.
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    let first = predictions(&events);
    assert_eq!(first.len(), 1);
    assert!(first[0].t_start.abs() < 1e-9);
    assert!(p.send(Command::Seek(30.0)));
    let events = collect_until(&p, Duration::from_secs(20), |e| matches!(e, Event::Prediction(_)));
    assert!(events.iter().any(|e| matches!(e, Event::Seeked { position } if (*position - 30.0).abs() < 1e-9)));
    let after = predictions(&events);
    assert_eq!(after.len(), 1, "one pre-rolled window after the seek");
    assert!((after[0].t_start - 30.0).abs() < 0.05, "the window starts at the seek position: {}", after[0].t_start);
}
