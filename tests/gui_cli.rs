//! `har-monitor gui` as a user runs it, in a real window under Xvfb (`xvfb-run`; the tests say so and pass when it
//! is not installed): a screenshot that cannot be written exits 2 naming the file, a startup error reaches
//! stderr, and `--evaluate` evaluates the file with the model the app opens.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::gui::fixture_model;

/// `har-monitor gui ARGS` in a 1280×800 Xvfb screen; `None` when `xvfb-run` is not installed (CI sets
/// `HAR_MONITOR_REQUIRE_XVFB=1`, so there a missing Xvfb fails instead of skipping).
fn gui(args: &[&str]) -> Option<Output> {
    let available = Command::new("xvfb-run").arg("--help").output().is_ok();
    if !available {
        assert!(std::env::var_os("HAR_MONITOR_REQUIRE_XVFB").is_none(), "xvfb-run is required here but not installed");
        eprintln!("xvfb-run is not installed: skipped (apt install xvfb)");
        return None;
    }
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", env!("CARGO_BIN_EXE_har-monitor"), "gui", "--fresh"])
        .args(args)
        .output()
        .unwrap();
    Some(output)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_screenshot_into_a_missing_folder_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/folder/shot.png");
    let out_text = out.display().to_string();
    let Some(output) = gui(&["--screenshot", &out_text, "--screenshot-after", "0"]) else { return };
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains(&out_text), "the message names the file: {}", stderr(&output));
    assert!(!out.exists());
}

#[test]
fn a_screenshot_that_cannot_be_written_exits_2_naming_the_file() {
    // /proc exists as a folder but takes no new files (not even for root): the window opens, the write fails.
    let out = Path::new("/proc/har-monitor-shot.png");
    let Some(output) = gui(&["--screenshot", "/proc/har-monitor-shot.png", "--screenshot-after", "1"]) else { return };
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot write screenshot /proc/har-monitor-shot.png"), "{}", stderr(&output));
    assert!(!out.exists());
}

#[test]
fn a_screenshot_is_written_whole_and_replaces_the_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shot.png");
    std::fs::write(&out, b"an earlier file").unwrap();
    let out_text = out.display().to_string();
    let Some(output) = gui(&["--screenshot", &out_text, "--screenshot-after", "1"]) else { return };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let image = image::open(&out).unwrap();
    assert_eq!((image.width(), image.height()), (1280, 800));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
}

#[test]
fn a_startup_error_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("no_card.onnx");
    std::fs::copy(fixture_model("keras_bilstm.onnx"), &model).unwrap();
    let shot = dir.path().join("shot.png");
    let (model_text, shot_text) = (model.display().to_string(), shot.display().to_string());
    let Some(output) = gui(&["--model", &model_text, "--screenshot", &shot_text, "--screenshot-after", "1"]) else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("error: no model card for"), "{}", stderr(&output));
    assert!(stderr(&output).contains("no_card.model.json"), "{}", stderr(&output));
}

/// `gui --evaluate FILE --model M`: the evaluation started while the window opens (`gui::early`) is the one the
/// view shows: the model asked for, on the file asked for, with as many windows as `har-monitor evaluate` scores.
#[test]
fn the_evaluation_asked_for_at_start_is_shown_with_the_model_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture_model("keras_bilstm.onnx");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gui/labeled_small.csv");
    let shot = dir.path().join("shot.png");
    let (model_text, data_text, shot_text) =
        (model.display().to_string(), data.display().to_string(), shot.display().to_string());
    let Some(output) =
        gui(&["--model", &model_text, "--evaluate", &data_text, "--screenshot", &shot_text, "--screenshot-after", "6"])
    else {
        return;
    };
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let cli_out = dir.path().join("cli");
    let cli = Command::new(env!("CARGO_BIN_EXE_har-monitor"))
        .args(["evaluate", "--model", &model_text, "--data", &data_text, "--out"])
        .arg(&cli_out)
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cli_out.join("report.json")).unwrap()).unwrap();
    let windows = report["windows"]["used"].as_u64().unwrap();
    let expected = format!("evaluated {data_text} with {model_text}: {windows} windows in");
    assert!(stderr(&output).contains(&expected), "wanted {expected:?} in:\n{}", stderr(&output));
}
