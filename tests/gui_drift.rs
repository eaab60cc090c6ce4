//! The drift view in the real app, driven headless with egui_kittest: a replay of the demo model's drift scenario
//! (the watch turned 60° about z) updates the view chunk by chunk, the verdict names the rotation, the alert is
//! raised; a model without a baseline gets the command that builds one; and a snapshot of the view at the end of
//! the replay (tests/snapshots/drift_view.png).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::monitor::alerts::AlertKind;
use har_monitor::monitor::{PerformanceEstimate, UntrustedReason};
use har_monitor::session::drift::{SensorCheck, VerdictLevel};

use common::gui::{self, manifest, step_until};

/// Rows of the demo production file taken from minute 5 on (the rotation starts at its minute 10).
const CLIP_FIRST_ROW: usize = 5 * 60 * 50;
/// 300 windows of 200 rows with a step of 100: exactly two drift chunks of 150 windows, so the replay ends on a
/// closed chunk and the view's final state does not depend on when the rolling reports happened to be made.
const CLIP_ROWS: usize = 200 + 299 * 100;

/// Ten minutes of the demo drift scenario (1.3 MB): the watch is worn as for the baseline for five minutes, then
/// turned 60° about its z axis.
fn drift_clip(dir: &Path) -> PathBuf {
    let source = std::fs::File::open(manifest("data/demo/production_drift.csv")).unwrap();
    let path = dir.join("drift_clip.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut lines = BufReader::new(source).lines();
    writeln!(out, "{}", lines.next().unwrap().unwrap()).unwrap();
    for line in lines.skip(CLIP_FIRST_ROW).take(CLIP_ROWS) {
        writeln!(out, "{}", line.unwrap()).unwrap();
    }
    out.flush().unwrap();
    path
}

/// The estimate panel's headline for an estimate.
fn estimate_headline(e: &PerformanceEstimate) -> String {
    if e.trusted {
        format!(
            "Estimated accuracy {:.0}% (95% band {:.0}–{:.0}%) · macro-F1 ≈ {:.2}",
            100.0 * e.estimated_accuracy,
            100.0 * e.accuracy_lower,
            100.0 * e.accuracy_upper,
            e.estimated_macro_f1
        )
    } else {
        let reasons: Vec<&str> = e.untrusted_because.iter().map(|r| r.short()).collect();
        format!("Estimated accuracy not trusted: {}", reasons.join(", "))
    }
}

fn harness(options: GuiOptions) -> Harness<'static, HarApp> {
    gui::harness(gui::SIZE, GuiOptions { view: Some(View::Drift), looping: Some(false), ..options })
}

#[test]
fn a_turned_watch_shows_as_input_drift_in_the_drift_view() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(GuiOptions {
        model: Some(manifest("models/demo/demo-1dcnn-bilstm.onnx")),
        replay: Some(drift_clip(dir.path())),
        speed: Some(100.0),
        ..Default::default()
    });

    // The view updates while the replay plays: first chunk closed, with its count on screen.
    assert!(
        step_until(&mut h, Duration::from_secs(60), |a| a.drift_state().chunks_closed >= 1),
        "a drift chunk arrives"
    );
    h.run_steps(2);
    assert!(h.query_by_label_contains("1 chunk closed ·").is_some(), "the chunk count is shown");
    let first_verdict = h.state().drift_state().verdict();
    assert_ne!(first_verdict.level, VerdictLevel::NoBaseline);
    assert!(h.query_by_label(&first_verdict.headline).is_some(), "the verdict `{}` is shown", first_verdict.headline);
    // The label-free estimate of the unturned chunk: no input drift against it.
    let first_estimate = h.state().drift_state().estimate().cloned().expect("an estimate of the first chunk");
    assert!(!first_estimate.untrusted_because.contains(&UntrustedReason::InputDrift), "{first_estimate:?}");
    assert!(h.query_by_label(&estimate_headline(&first_estimate)).is_some(), "{}", estimate_headline(&first_estimate));

    // The replay ends on the second chunk: the rotated five minutes.
    let ended =
        step_until(&mut h, Duration::from_secs(90), |a| a.live_state().ended && a.drift_state().chunks_closed == 2);
    assert!(ended, "the replay ends with two closed chunks");
    step_until(&mut h, Duration::from_millis(300), |_| false);

    let drift = h.state().drift_state();
    let verdict = drift.verdict();
    assert_eq!(verdict.level, VerdictLevel::InputDrift, "{verdict:?}");
    assert!(verdict.headline.contains("watch rotated ~"), "{}", verdict.headline);
    // The rotation is dated from the chunk that holds it: minute 5 of the clip.
    let rotation = drift.readings().into_iter().find(|r| r.check == SensorCheck::Rotation).unwrap();
    assert!(rotation.fired && rotation.since == Some(300.0), "{rotation:?}");
    let angle: f64 = rotation.value.as_deref().unwrap().trim_end_matches('°').parse().unwrap();
    assert!((45.0..=75.0).contains(&angle.abs()), "rotation {angle}° for a watch turned 60°");
    assert!(h.query_by_label(&verdict.headline).is_some(), "the verdict is on screen");
    assert!(h.query_by_label_contains("Watch rotation about z: DRIFT since 5:00").is_some());
    assert!(h.query_by_label_contains("2 chunks closed · at 10:02 / 10:02").is_some());
    // The same kind of alert as the live view's.
    let alerts: Vec<_> =
        h.state().live_state().alerts.iter().filter(|a| a.alert.kind == AlertKind::InputDrift).collect();
    assert!(alerts.iter().any(|a| a.alert.message.contains("rotated")), "an input-drift alert names the rotation");
    // The estimate of the turned watch is not a confident number: it says why not to trust it.
    let drift = h.state().drift_state();
    let estimate = drift.estimate().cloned().expect("an estimate of the last chunk");
    assert!(!estimate.trusted);
    assert!(estimate.untrusted_because.contains(&UntrustedReason::InputDrift), "{estimate:?}");
    assert!(
        drift.history.iter().filter(|p| p.closed).all(|p| p.performance.is_some()),
        "every chunk's estimate is kept"
    );
    let headline = estimate_headline(&estimate);
    assert!(headline.starts_with("Estimated accuracy not trusted: ") && headline.contains("input drift"), "{headline}");
    assert!(h.query_by_label(&headline).is_some(), "`{headline}` is shown");
    assert!(h.query_by_label_contains("it would read").is_some(), "the untrusted number is only an aside");

    // The banner shows for a few seconds after the alert; dismiss it so that the snapshot does not depend on time.
    if let Some(dismiss) = h.query_by_label("Dismiss") {
        dismiss.click();
    }
    h.remove_cursor();
    h.run_steps(3);
    assert!(h.query_by_label("Dismiss").is_none());
    // The status bar holds measured latencies and rates, which differ from run to run.
    h.mask(egui::Rect::from_min_max(egui::pos2(0.0, 770.0), egui::pos2(1280.0, 800.0)));
    h.snapshot_options("drift_view", &egui_kittest::SnapshotOptions::new().max_failed_pixels(200));
}

/// A copy of the demo model in `dir` whose baseline is the demo's (the same sensor checks) with a reference
/// calibration measured on a simulated labeled recording of other users (`reference_performance`, as `har-monitor
/// baseline` writes it from labeled data); `card_extra` is merged into the copy of the card.
fn demo_with_reference_calibration(dir: &Path, card_extra: serde_json::Value) -> PathBuf {
    use har_monitor::model::{Engine, EngineOptions};
    use har_monitor::monitor::{Baseline, ReferencePerformance};
    use har_monitor::pipeline::batch::{BatchOptions, score_file};

    let model = dir.join("calibrated.onnx");
    std::fs::copy(manifest("models/demo/demo-1dcnn-bilstm.onnx"), &model).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest("models/demo/demo-1dcnn-bilstm.model.json")).unwrap())
            .unwrap();
    card["baseline"] = "calibrated.baseline.json".into();
    if let (Some(card), Some(extra)) = (card.as_object_mut(), card_extra.as_object()) {
        card.extend(extra.clone());
    }
    std::fs::write(dir.join("calibrated.model.json"), card.to_string()).unwrap();

    let reference = dir.join("reference.csv");
    let (code, _, err) = common::cli::run(
        common::cli::bin()
            .args(["simulate", "--users", "4", "--minutes-per-user", "4", "--seed", "31", "--first-user", "701"])
            .arg("--out")
            .arg(&reference),
    );
    assert_eq!(code, 0, "{err}");
    let mut engine = Engine::load(&model, &EngineOptions::default()).unwrap();
    let scored = score_file(&mut engine, &reference, &BatchOptions::default(), &mut |_, _| true).unwrap();
    let labeled = scored.predictions.iter().filter_map(|p| Some((p.probabilities.as_slice(), p.true_label?)));
    let performance = ReferencePerformance::measure(labeled, engine.card().classes.len()).unwrap();
    let mut baseline = Baseline::load(&manifest("models/demo/demo-1dcnn-bilstm.baseline.json")).unwrap();
    baseline.reference_performance = Some(performance);
    baseline.save(&dir.join("calibrated.baseline.json")).unwrap();
    model
}

/// A labeled simulated recording of one user the model never saw, cut to exactly two drift chunks (300 windows:
/// one user has no gap, so rows = 200 + 299 × 100), so the replay ends on a closed chunk.
fn labeled_clip(dir: &Path) -> PathBuf {
    let full = dir.join("unseen_user.csv");
    let (code, _, err) = common::cli::run(
        common::cli::bin()
            .args(["simulate", "--users", "1", "--minutes-per-user", "10.5", "--seed", "41", "--first-user", "801"])
            .arg("--out")
            .arg(&full),
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&full).unwrap();
    let clip: Vec<&str> = text.lines().take(1 + CLIP_ROWS).collect();
    assert_eq!(clip.len(), 1 + CLIP_ROWS);
    let path = dir.join("unseen_user_clip.csv");
    std::fs::write(&path, clip.join("\n") + "\n").unwrap();
    path
}

#[test]
fn a_labeled_replay_shows_the_estimate_with_its_band_beside_the_realised_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let model = demo_with_reference_calibration(dir.path(), serde_json::json!({}));
    let mut h = harness(GuiOptions {
        model: Some(model),
        replay: Some(labeled_clip(dir.path())),
        speed: Some(100.0),
        ..Default::default()
    });
    let ended =
        step_until(&mut h, Duration::from_secs(60), |a| a.live_state().ended && a.drift_state().chunks_closed == 2);
    assert!(
        ended,
        "the labeled clip (300 windows) ends with two chunks closed: ended {}, {} chunks",
        h.state().live_state().ended,
        h.state().drift_state().chunks_closed
    );
    step_until(&mut h, Duration::from_millis(300), |_| false);

    let drift = h.state().drift_state();
    let reference = drift.reference_performance().cloned().expect("the baseline's reference calibration");
    let full: Vec<&PerformanceEstimate> =
        drift.history.iter().filter(|p| p.closed && p.windows == 150).filter_map(|p| p.performance.as_ref()).collect();
    assert_eq!(full.len(), 2, "two full chunks of 150 windows");
    for e in &full {
        // A labeled replay: the realised accuracy of each chunk beside its estimate.
        let realised = e.realised_accuracy.expect("labeled windows have a realised accuracy");
        assert!((0.0..=1.0).contains(&realised));
        assert!(e.accuracy_lower < e.estimated_accuracy && e.estimated_accuracy <= e.accuracy_upper, "{e:?}");
        assert_eq!(e.reference_accuracy, Some(reference.accuracy));
        // Unseen users on the sensor of the baseline: nothing but the reference calibration can stand against it.
        assert!(
            e.untrusted_because.iter().all(|r| *r == UntrustedReason::ReferenceMiscalibrated),
            "{:?}",
            e.untrusted_because
        );
        assert_eq!(e.trusted, reference.ece <= har_monitor::monitor::estimate::MAX_REFERENCE_ECE);
    }
    let shown = drift.estimate().cloned().expect("the shown report's estimate");
    assert!(h.query_by_label(&estimate_headline(&shown)).is_some(), "`{}` is shown", estimate_headline(&shown));
    assert!(h.query_by_label_contains(&format!("reference {:.0}% (ECE", 100.0 * reference.accuracy)).is_some());
    let realised = format!("realised {:.0}%", 100.0 * shown.realised_accuracy.expect("a labeled report"));
    assert!(h.query_by_label(&realised).is_some(), "`{realised}` is shown beside the estimate");

    h.remove_cursor();
    h.run_steps(3);
    h.mask(egui::Rect::from_min_max(egui::pos2(0.0, 770.0), egui::pos2(1280.0, 800.0)));
    h.snapshot_options("drift_view_estimate", &egui_kittest::SnapshotOptions::new().max_failed_pixels(200));
}

#[test]
fn a_model_without_a_baseline_gets_the_command_that_builds_one() {
    let dir = tempfile::tempdir().unwrap();
    // The fixture model has no baseline beside it.
    let model = dir.path().join("no_baseline.onnx");
    std::fs::copy(manifest("tests/fixtures/models/keras_bilstm.onnx"), &model).unwrap();
    std::fs::copy(manifest("tests/fixtures/models/keras_bilstm.model.json"), dir.path().join("no_baseline.model.json"))
        .unwrap();
    let mut h = harness(GuiOptions {
        model: Some(model.clone()),
        replay: Some(drift_clip(dir.path())),
        paused: true,
        ..Default::default()
    });
    assert!(
        step_until(&mut h, Duration::from_secs(30), |a| a.drift_state().verdict().level == VerdictLevel::NoBaseline)
    );
    h.run_steps(2);
    assert!(h.query_by_label_contains("No baseline for this model").is_some());
    let command = format!("har-monitor baseline --model {} --data REFERENCE.csv", model.display());
    assert!(h.query_by_label(&command).is_some(), "the exact command `{command}` is shown");
    assert!(h.query_by_label("Copy").is_some());
}

#[test]
fn the_symbols_of_the_drift_view_are_in_the_app_fonts() {
    // A glyph missing from egui's fonts draws as an empty box (as "ⓘ" and "→" do in the proportional font).
    let ctx = egui::Context::default();
    let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
    output.textures_delta.clear();
    for (font, symbols) in
        [(egui::FontId::proportional(14.0), "✔⚠ℹ⏳×°σ≥≤…–·χ²|≈"), (egui::FontId::monospace(14.0), "×°–·")]
    {
        for c in symbols.chars() {
            assert!(ctx.fonts_mut(|f| f.has_glyph(&font, c)), "{c:?} is missing from {font:?}");
        }
    }
}
