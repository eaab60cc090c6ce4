//! The binary as a user runs it: a command with a clean environment, the fixture model, and running it to its exit
//! code and output (never a panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `har-monitor` with no `ORT_DYLIB_PATH` from the environment (the runtime is found as on a user's machine).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_har-monitor"));
    c.env_remove("ORT_DYLIB_PATH");
    c
}

/// The Keras-converted fixture model of the thesis architecture (its card beside it).
pub fn fixture_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/keras_bilstm.onnx")
}

/// Runs the command: exit code, stdout, stderr. Never a panic or a signal (an abort is a crash too).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    let code = status.code().unwrap_or_else(|| panic!("killed by a signal ({status}): {stderr}"));
    (code, String::from_utf8_lossy(&stdout).into_owned(), stderr)
}
