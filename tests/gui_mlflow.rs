//! The MLflow view against a real tracking server (`HAR_MONITOR_MLFLOW_URI`, see tests/common/mlflow.rs): a
//! version pushed with an alias is listed with it, Pull imports it into the local registry with the pushed bytes,
//! Load it opens it in the live view; a server that is down is said on the view.

use std::time::Duration;

mod common;

use egui_kittest::kittest::Queryable;
use har_monitor::gui::{GuiOptions, View};
use har_monitor::mlflow::transfer::{PushRequest, push};
use har_monitor::session::mlflow::Job;

use common::gui::{self, has_label, step_until, step_until_shown};
use common::mlflow::{closed_port, server, unique};

#[test]
fn the_mlflow_view_lists_versions_with_aliases_and_pulls_one_into_the_local_registry() {
    let Some(uri) = server("the_mlflow_view_lists_versions_with_aliases_and_pulls_one_into_the_local_registry") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");

    // A version with an alias, pushed through the library; sorted first among the server's models.
    let name = unique("aaa-gui");
    let model = gui::manifest("models/demo/demo-1dcnn-bilstm.onnx");
    let client = har_monitor::mlflow::Client::new(&uri).unwrap();
    let request = PushRequest {
        model: model.clone(),
        name: Some(name.clone()),
        alias: Some("production".into()),
        experiment: unique("gui-exp"),
        description: None,
    };
    push(&client, &request, &Default::default()).unwrap();

    // The app's registry (the picker's) is where Pull imports.
    let options = GuiOptions {
        view: Some(View::Mlflow),
        mlflow_uri: Some(uri.clone()),
        registry: Some(registry.clone()),
        ..Default::default()
    };
    let mut h = gui::headless([1280.0, 1400.0], options);
    let listed = |a: &har_monitor::gui::HarApp| matches!(&a.mlflow_state().listing, Job::Done(Ok(l)) if l.models.iter().any(|m| m.name == name));
    assert!(step_until(&mut h, Duration::from_secs(30), listed), "the server's models are listed");
    h.run_steps(2);
    assert!(has_label(&h, &name), "the model's row");
    assert!(has_label(&h, "@production"), "the alias beside its version");

    // Pull the version in this model's row.
    let row_y = h.get_by_label(&name).rect().center().y;
    let button = h
        .query_all_by_label("Pull v1")
        .min_by(|a, b| (a.rect().center().y - row_y).abs().total_cmp(&(b.rect().center().y - row_y).abs()))
        .expect("a Pull button");
    assert!((button.rect().center().y - row_y).abs() < 4.0, "the button is on the model's row");
    button.click();
    let imported = format!("Pulled {name} version 1: imported as {name}@1");
    assert!(
        step_until_shown(&mut h, Duration::from_secs(60), |h| has_label(h, &imported)),
        "the pull completes and says what it imported: {:?}",
        h.state().mlflow_state().pull
    );
    let local = har_monitor::registry::Registry::open(&registry).unwrap().resolve(&name).unwrap();
    assert_eq!(std::fs::read(&local.model_path).unwrap(), std::fs::read(&model).unwrap(), "the pushed bytes");
    assert_eq!(local.source.as_deref(), Some(format!("mlflow {uri} {name} v1").as_str()));

    // Load it: the live view runs the pulled model.
    h.get_by_label("Load it").click();
    assert!(
        step_until(&mut h, Duration::from_secs(30), |a| {
            a.live_state().model.as_ref().is_some_and(|m| m.path == local.model_path)
        }),
        "the pulled model is loaded"
    );

    // A server that is down: the view says so, naming it.
    let down = format!("http://127.0.0.1:{}", closed_port());
    let options = GuiOptions { view: Some(View::Mlflow), mlflow_uri: Some(down.clone()), ..Default::default() };
    let mut h = gui::headless(gui::SIZE, options);
    let failed = |a: &har_monitor::gui::HarApp| matches!(a.mlflow_state().listing, Job::Done(Err(_)));
    assert!(step_until(&mut h, Duration::from_secs(30), failed), "the listing fails");
    h.run_steps(2);
    let Job::Done(Err(e)) = &h.state().mlflow_state().listing else { unreachable!() };
    assert!(e.contains(&format!("cannot reach the MLflow server at {down}")), "{e}");
    assert!(has_label(&h, e), "the error is on the view");
}
