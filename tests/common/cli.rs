//! The binary as a user runs it: a command with a clean environment, the fixture model, and running it to its exit
//! code and output (never a panic).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

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

/// Sends `signal` to `child` (a process the test started) and waits up to `timeout` for it to end; a child still
/// running then is killed and the test fails.
pub fn signal_and_wait(child: &mut Child, signal: i32, timeout: Duration) -> ExitStatus {
    // SAFETY: a signal to a child process of this test.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not end within {timeout:?} of signal {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
