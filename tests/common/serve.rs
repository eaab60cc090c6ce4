//! `har-monitor serve` on a free loopback port for the service's tests and its load benchmark (which includes this
//! file by path), and an HTTP client that returns error statuses as answers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server and its base URL (`http://127.0.0.1:PORT`); killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --addr 127.0.0.1:0 --workers 2 EXTRA...` and reads where it listens; `None` when it does not start.
pub fn try_start(extra: &[&str]) -> Option<Server> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_har-monitor"))
        .env_remove("ORT_DYLIB_PATH")
        .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.strip_prefix("listening on ").and_then(|r| r.split_whitespace().next()).map(str::to_string);
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    let server = Server { child, url: url.unwrap_or_default() };
    server.url.starts_with("http://").then_some(server)
}

/// Like [`try_start`]; a server that does not start fails the test.
pub fn start(extra: &[&str]) -> Server {
    try_start(extra).unwrap_or_else(|| panic!("serve {extra:?} did not say where it listens"))
}

/// A client whose 4xx/5xx answers are answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}
