//! The About window, opened from the top bar: the app's version, the places `about::places` lists (the same list
//! `har-monitor info` prints), and it closes again.

use std::time::Duration;

mod common;

use egui_kittest::kittest::Queryable;
use har_monitor::gui::GuiOptions;

use common::gui::{self, fixture_model, has_label};

#[test]
fn about_shows_the_versions_and_where_files_are_kept() {
    let options = GuiOptions { model: Some(fixture_model("keras_bilstm.onnx")), paused: true, ..Default::default() };
    let mut harness = gui::harness(gui::SIZE, options);
    assert!(gui::step_until(&mut harness, Duration::from_secs(60), |app| app.live_state().model.is_some()));
    harness.get_by_label("About").click();
    gui::step_for(&mut harness, Duration::from_millis(300));
    assert!(has_label(&harness, &har_monitor::about::app_version()));
    for place in har_monitor::about::places() {
        assert!(has_label(&harness, place.what), "the About window lists {}", place.what);
    }
    if let Ok(image) = harness.render() {
        image.save(std::env::temp_dir().join("har-monitor-about.png")).unwrap();
    }
    harness.get_by_label("Close").click();
    gui::step_for(&mut harness, Duration::from_millis(200));
    assert!(!has_label(&harness, &har_monitor::about::app_version()));
}
