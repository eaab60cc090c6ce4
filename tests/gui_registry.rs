//! The top bar's model picker, driven headless with egui_kittest: it lists the registry's versions with their
//! aliases; one click on a version switches the running live session to it, one click on "Roll back production"
//! moves the alias back and the live session (which runs production) follows, without a restart.

use std::path::Path;
use std::time::Duration;

mod common;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use har_monitor::gui::{GuiOptions, HarApp, View};
use har_monitor::registry::{ImportOptions, Registry};

use common::gui::{self, step_until};
use common::registry::{demo, keras};

fn live_model(app: &HarApp) -> Option<std::path::PathBuf> {
    app.live_state().model.as_ref().map(|m| m.path.clone())
}

/// `har` v1 = the demo model, v2 = the keras fixture; production → 1 then → 2.
fn registry(root: &Path) -> Registry {
    let reg = Registry::open(root).unwrap();
    let named = |alias: Option<&str>| ImportOptions {
        name: Some("har".into()),
        alias: alias.map(str::to_string),
        ..Default::default()
    };
    reg.import(&demo(), &named(Some("production"))).unwrap();
    reg.import(&keras(), &named(None)).unwrap();
    reg.set_alias("har", 2, "production").unwrap();
    reg
}

fn harness(root: &Path, model: &Path, spec: Option<&str>) -> Harness<'static, HarApp> {
    gui::harness(
        gui::SIZE,
        GuiOptions {
            model: Some(model.to_path_buf()),
            model_spec: spec.map(str::to_string),
            registry: Some(root.to_path_buf()),
            replay: common::registry::repo("data/demo/production_drift.csv").into(),
            speed: Some(10.0),
            view: Some(View::Live),
            ..Default::default()
        },
    )
}

#[test]
fn picking_a_registry_version_switches_the_live_session() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let v1 = reg.resolve("har@1").unwrap();
    let v2 = reg.resolve("har@2").unwrap();
    let mut h = harness(dir.path(), &v1.model_path, None);
    assert!(step_until(&mut h, Duration::from_secs(30), |a| live_model(a).as_ref() == Some(&v1.model_path)));
    step_until(&mut h, Duration::from_secs(30), |a| !a.live_state().predictions.is_empty());

    h.get_by_label("Registry (2)").click();
    h.run_steps(2);
    // The picker lists both versions with their aliases, and marks the one running.
    assert!(h.query_by_label("v2  [production]").is_some(), "version 2 with its alias");
    assert!(h.query_by_label("v1  (live)").is_some(), "version 1 is live");
    assert!(h.query_by_label("production: v2").is_some(), "the alias row");
    h.get_by_label("v2  [production]").click();
    assert!(
        step_until(&mut h, Duration::from_secs(30), |a| live_model(a).as_ref() == Some(&v2.model_path)),
        "the live session runs version 2"
    );
    // It keeps classifying with the new model, in the same session (no restart: the source is still open).
    let n = h.state().live_state().predictions.len();
    assert!(step_until(&mut h, Duration::from_secs(30), |a| a.live_state().predictions.len() > n));
    assert!(h.state().live_state().source.is_some());
    assert!(h.query_by_label("fixture-keras-bilstm 1.0.0 · har@2").is_some(), "the top bar names the model");
}

#[test]
fn rolling_back_production_moves_the_alias_and_the_live_session_follows() {
    let dir = tempfile::tempdir().unwrap();
    let reg = registry(dir.path());
    let v1 = reg.resolve("har@1").unwrap();
    let v2 = reg.resolve("har@production").unwrap();
    assert_eq!(v2.version, 2);
    let mut h = harness(dir.path(), &v2.model_path, Some("har@production"));
    assert!(step_until(&mut h, Duration::from_secs(30), |a| live_model(a).as_ref() == Some(&v2.model_path)));
    assert!(h.query_by_label_contains("har@production (v2)").is_some(), "the top bar says it follows production");

    h.get_by_label("Registry (2)").click();
    h.run_steps(2);
    h.get_by_label("Roll back production").click();
    assert!(
        step_until(&mut h, Duration::from_secs(30), |a| live_model(a).as_ref() == Some(&v1.model_path)),
        "the live session follows production back to version 1"
    );
    // The registry itself moved, with the move in the history.
    assert_eq!(reg.resolve("har@production").unwrap().version, 1);
    let last = reg.history("har").unwrap().pop().unwrap();
    assert_eq!((last.from, last.to), (Some(2), Some(1)));
    // The picker shows the new state: nothing earlier to roll back to.
    h.run_steps(2);
    if h.query_by_label("Roll back production").is_none() {
        h.get_by_label("Registry (2)").click();
        h.run_steps(2);
    }
    assert!(h.query_by_label("production: v1").is_some());
}
