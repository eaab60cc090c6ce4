//! A real MLflow tracking server for the tests: `HAR_MONITOR_MLFLOW_URI` names it (`.ci/run` starts one),
//! `HAR_MONITOR_MLFLOW_PYTHON` the Python that has `mlflow` installed (for versions logged the Python way). When
//! unset, a test prints why and passes without checking anything, unless `HAR_MONITOR_REQUIRE_MLFLOW=1`, which
//! turns the skip into a failure (CI). Reads go through plain REST calls here, not through the code under test.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

pub const URI_ENV: &str = "HAR_MONITOR_MLFLOW_URI";
pub const PYTHON_ENV: &str = "HAR_MONITOR_MLFLOW_PYTHON";
pub const REQUIRE_ENV: &str = "HAR_MONITOR_REQUIRE_MLFLOW";

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// Skips (printing why) or, when required, fails.
fn skip(test: &str, why: &str) -> Option<String> {
    assert!(!required(), "{test}: {why}, and {REQUIRE_ENV}=1 requires the MLflow tests to run");
    eprintln!("SKIPPED {test}: {why} (set {URI_ENV} to a running `mlflow server`, see .ci/run)");
    None
}

/// The tracking server's URL, checked with `GET /health`.
pub fn server(test: &str) -> Option<String> {
    let Ok(uri) = std::env::var(URI_ENV) else {
        return skip(test, &format!("{URI_ENV} is not set"));
    };
    let uri = uri.trim_end_matches('/').to_string();
    match agent().get(format!("{uri}/health")).call() {
        Ok(r) if r.status().as_u16() == 200 => Some(uri),
        Ok(r) => skip(test, &format!("{uri}/health answered {}", r.status())),
        Err(e) => skip(test, &format!("{uri} cannot be reached: {e}")),
    }
}

/// The Python with `mlflow`, for the Python-logged versions.
pub fn python(test: &str) -> Option<PathBuf> {
    match std::env::var(PYTHON_ENV) {
        Ok(p) if Path::new(&p).is_file() => Some(PathBuf::from(p)),
        Ok(p) => skip(test, &format!("{PYTHON_ENV}={p} is not a file")).map(PathBuf::from),
        Err(_) => skip(test, &format!("{PYTHON_ENV} is not set")).map(PathBuf::from),
    }
}

/// A name no other test (or earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// A client whose 4xx/5xx answers are answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `GET /api/2.0/mlflow/<endpoint>?query`, which must succeed; its JSON.
pub fn get(uri: &str, endpoint: &str, query: &[(&str, &str)]) -> Value {
    let mut request = agent().get(format!("{uri}/api/2.0/mlflow/{endpoint}"));
    for (k, v) in query {
        request = request.query(*k, *v);
    }
    let mut response = request.call().unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{endpoint} {query:?}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// `POST /api/2.0/mlflow/<endpoint>`, which must succeed; its JSON.
pub fn post(uri: &str, endpoint: &str, body: &Value) -> Value {
    let mut response = agent()
        .post(format!("{uri}/api/2.0/mlflow/{endpoint}"))
        .content_type("application/json")
        .send(body.to_string())
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{endpoint} {body}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The bytes of an artifact (`mlflow-artifacts:` proxy path).
pub fn artifact(uri: &str, path: &str) -> Vec<u8> {
    let mut response = agent().get(format!("{uri}/api/2.0/mlflow-artifacts/artifacts/{path}")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "artifact {path}");
    response.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap()
}

/// The files directly under an artifact folder: (name, is_dir).
pub fn artifact_list(uri: &str, path: &str) -> Vec<(String, bool)> {
    let mut response =
        agent().get(format!("{uri}/api/2.0/mlflow-artifacts/artifacts")).query("path", path).call().unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["path"].as_str().unwrap().to_string(), f["is_dir"].as_bool().unwrap_or(false)))
                .collect()
        })
        .unwrap_or_default()
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

/// Every file under `dir` with its bytes, sorted by path: to show that a failed command left a folder as it was.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), Vec::new()));
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}
