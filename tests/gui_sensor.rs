//! The Sensor panel, driven as a user would: open it, type the virtual device's path, connect, see predictions
//! from the live sensor with the replay-only controls gone, see the disconnect banner and the gap when the device
//! is unplugged, see it resume on the replug, and disconnect.
#![cfg(unix)]

use std::time::Duration;

mod common;

use egui_kittest::kittest::{NodeT, Queryable};
use har_monitor::device::{DeviceOptions, VirtualDevice};
use har_monitor::gui::{GuiOptions, View};
use har_monitor::source::SourceKind;
use har_monitor::source::link::LinkState;

use common::gui::{self, has_label, step_until, step_until_shown};

#[test]
fn the_sensor_panel_connects_to_the_virtual_device_and_survives_an_unplug() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("har-imu");
    let device = VirtualDevice::start(DeviceOptions {
        link: Some(link.clone()),
        unplug_after: Some(Duration::from_secs(6)),
        replug_after: Duration::from_millis(1500),
        behaviour: Some(4), // hand_tapping
        ..Default::default()
    })
    .expect("a pseudo-terminal");
    let mut h = gui::headless(gui::SIZE, GuiOptions { view: Some(View::Live), ..Default::default() });
    assert!(step_until(&mut h, Duration::from_secs(30), |a| a.live_state().model.is_some()), "the model loads");

    h.get_by_label("🔌 Sensor…").click();
    h.run_steps(2);
    let field = h
        .query_all_by_label("path")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::TextInput)
        .expect("the path field");
    field.focus();
    h.run_steps(1);
    h.query_all_by_label("path")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::TextInput)
        .expect("the path field")
        .type_text(&link.to_string_lossy());
    h.run_steps(1);
    h.get_by_label("Connect serial").click();

    let live =
        |a: &har_monitor::gui::HarApp| a.live_state().source.as_ref().is_some_and(|s| s.kind == SourceKind::Serial);
    assert!(
        step_until(&mut h, Duration::from_secs(20), |a| live(a) && !a.live_state().predictions.is_empty()),
        "predictions from the live sensor"
    );
    assert_eq!(
        h.state().remembered_settings().serial_path.as_deref(),
        Some(link.to_string_lossy().as_ref()),
        "the device is remembered"
    );
    // Replay-only controls are gone; the link and its state are shown.
    assert!(!has_label(&h, "⏮ Restart") && !has_label(&h, "🔁 Loop"));
    assert!(has_label(&h, "⏏ Disconnect"));
    assert!(h.query_all_by_label_contains("good /").next().is_some(), "line counts are shown");

    // The device unplugs: a banner says so, and the app keeps running.
    assert!(
        step_until_shown(&mut h, Duration::from_secs(15), |h| {
            h.query_all_by_label_contains("Sensor disconnected").next().is_some()
                || h.query_all_by_label_contains("Sensor reconnecting").next().is_some()
        }),
        "the disconnect banner"
    );
    let before = h.state().live_state().predictions.len();
    // It comes back: the link reconnects and predictions resume, after a gap in the signal.
    assert!(
        step_until(&mut h, Duration::from_secs(25), |a| {
            let s = a.live_state();
            s.link().is_some_and(|l| l.state == LinkState::Connected && l.reconnects >= 1)
                && s.predictions.len() > before
        }),
        "the replug resumes without restarting the app"
    );
    assert!(!h.state().live_state().gaps.is_empty(), "the gap is kept for the plots");
    assert!(h.query_all_by_label_contains("Sensor disconnected").next().is_none(), "the banner is gone");

    h.get_by_label("⏏ Disconnect").click();
    assert!(step_until(&mut h, Duration::from_secs(5), |a| a.live_state().source.is_none()), "disconnected");
    drop(device);
}

#[test]
fn the_record_button_records_the_session_into_a_new_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recordings = dir.path().join("recordings");
    let mut h = gui::headless(
        gui::SIZE,
        GuiOptions {
            view: Some(View::Live),
            simulate: true,
            speed: Some(10.0),
            recordings: Some(recordings.clone()),
            ..Default::default()
        },
    );
    assert!(step_until(&mut h, Duration::from_secs(30), |a| !a.live_state().predictions.is_empty()), "playing");
    h.get_by_label("⏺ Record").click();
    assert!(step_until(&mut h, Duration::from_secs(5), |a| a.live_state().recording.is_some()), "recording");
    let dir_now = h.state().live_state().recording.clone().expect("the folder");
    assert!(dir_now.starts_with(&recordings), "{}", dir_now.display());
    let start = h.state().live_state().predictions.len();
    assert!(
        step_until(&mut h, Duration::from_secs(30), |a| a.live_state().predictions.len() >= start + 8),
        "windows while recording"
    );
    assert!(step_until_shown(&mut h, Duration::from_secs(3), |h| h.query_by_label("⏺ REC").is_some()), "REC is shown");
    let live_at_stop = h.state().live_state().predictions.len() - start;
    h.get_by_label("⏹ Stop recording").click();
    assert!(step_until(&mut h, Duration::from_secs(10), |a| a.live_state().recording.is_none()), "stopped");
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir_now.join("session.json")).expect("session")).expect("json");
    assert_eq!(session["complete"], true);
    assert_eq!(session["labels"], true, "the simulator's labels are recorded");
    // Windows that began before the recording are not in it (their rows are not in samples.csv): at most the two
    // that overlapped its start are missing.
    let recorded = session["predictions"].as_u64().unwrap_or(0) as usize;
    assert!(recorded + 2 >= live_at_stop && recorded >= 6, "{recorded} recorded, {live_at_stop} seen: {session}");
    let text = std::fs::read_to_string(dir_now.join("predictions.csv")).expect("predictions");
    assert_eq!(text.lines().count() as u64, session["predictions"].as_u64().unwrap_or(0) + 1);
}

#[test]
fn the_app_serves_its_live_session_as_prometheus_metrics() {
    let mut h = gui::headless(
        gui::SIZE,
        GuiOptions {
            view: Some(View::Live),
            simulate: true,
            speed: Some(10.0),
            metrics_addr: Some("127.0.0.1:0".parse().expect("an address")),
            ..Default::default()
        },
    );
    assert!(step_until(&mut h, Duration::from_secs(30), |a| a.live_state().predictions.len() >= 6), "playing");
    let addr = h.state().metrics_addr().expect("listening");
    let seen = h.state().live_state().predictions.len();
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).build().into();
    let text = agent
        .get(&format!("http://{addr}/metrics"))
        .call()
        .expect("the exporter answers")
        .into_body()
        .read_to_string()
        .expect("text");
    let counted: f64 = text
        .lines()
        .filter(|l| l.starts_with("har_predictions_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    // The app drains events each frame: what the metrics counted is what the live view got.
    assert!(counted as usize >= seen, "{counted} counted, {seen} seen:\n{text}");
    let value = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))?.parse::<f64>().ok()).unwrap_or(f64::NAN)
    };
    assert!((0.0..=1.0).contains(&value("har_confidence_mean")), "{text}");
    assert!((0.0..=1.0).contains(&value("har_entropy_mean")), "{text}");
    assert!((0.0..=1.0).contains(&value("har_flip_rate")), "{text}");
    assert_eq!(value("har_samples_processed_total"), counted);
    assert!(!text.contains("har_api_requests_total"), "a live session answers no requests");
}
