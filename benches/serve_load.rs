//! `HAR_BENCH_PYTHON=/path/to/python cargo bench --bench serve_load`: `har-monitor serve` against its Python peer
//! ([benches/python_serve.py]: FastAPI + uvicorn + onnxruntime, the thesis service's way) on loopback, in the same
//! run, alternating. For each server: `POST /predict` (one window, JSON) at concurrency 1, 8 and 64 for
//! `HAR_BENCH_SECONDS` each (default 10), and `POST /api/upload` of a one-hour CSV (180,000 rows) at
//! concurrency 1 and 4, `HAR_BENCH_UPLOADS` requests each (default 6). Reports requests/s and p50/p99 latency.
//! The peer needs a Python with fastapi, uvicorn, python-multipart, onnxruntime, pandas and numpy.
//!
//! Both servers get the same two cores as the load generator; `serve` runs `--workers 2` (one model session per
//! core), the peer one uvicorn worker with one ONNX Runtime session (as the thesis' Docker image).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

// The service tests' server and client, shared with them.
#[allow(dead_code)]
#[path = "../tests/common/serve.rs"]
mod serve;

use serve::{Server, agent};

/// One request against a base URL; true when it was answered with 200.
type Request = Arc<dyn Fn(&ureq::Agent, &str) -> bool + Send + Sync>;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|v: &f64| *v > 0.0).unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(18_080, |a| a.port())
}

fn wait_healthy(url: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if agent().get(&format!("{url}/health")).call().is_ok_and(|r| r.status().as_u16() == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn ours(model: &Path) -> Option<Server> {
    let server = serve::try_start(&["--model", &model.to_string_lossy()])?;
    wait_healthy(&server.url).then_some(server)
}

fn peer(python: &Path, model: &Path) -> Option<Server> {
    let port = free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_serve.py");
    let child = Command::new(python)
        .arg(script)
        .arg(model)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server { child, url: format!("http://127.0.0.1:{port}") };
    wait_healthy(&server.url).then_some(server)
}

/// Requests/s and latency percentiles of `concurrency` clients sending `request` for `seconds` (or `count` requests
/// in all when given).
fn load(url: &str, concurrency: usize, seconds: f64, count: Option<usize>, request: Request) -> (f64, f64, f64, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(count.unwrap_or(usize::MAX)));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..concurrency {
        let (stop, remaining, request, url) =
            (Arc::clone(&stop), Arc::clone(&remaining), Arc::clone(&request), url.to_string());
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let mut times = Vec::new();
            let mut failed = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if remaining.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err() {
                    break;
                }
                let t = Instant::now();
                if request(&a, &url) {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failed += 1;
                }
            }
            (times, failed)
        }));
    }
    if count.is_none() {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for h in handles {
        if let Ok((t, f)) = h.join() {
            all.extend(t);
            failed += f;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |q: f64| all.get(((q * all.len() as f64).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    (all.len() as f64 / elapsed, pct(0.5), pct(0.99), failed)
}

fn main() {
    let model = har_monitor::assets::demo_model().expect("the demo model");
    let python = PathBuf::from(std::env::var("HAR_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()));
    let seconds = env_f64("HAR_BENCH_SECONDS", 10.0);
    let uploads = env_f64("HAR_BENCH_UPLOADS", 6.0) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("hour.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_har-monitor"))
        .args(["simulate", "--users", "1", "--minutes-per-user", "60", "--unlabeled", "--out"])
        .arg(&csv)
        .stdout(Stdio::null())
        .status();
    assert!(status.is_ok_and(|s| s.success()), "simulate");
    let csv_bytes = Arc::new(std::fs::read(&csv).expect("csv"));
    let window: Vec<Vec<f64>> = (0..200).map(|i| vec![0.3, 9.6, 0.8, (i % 9) as f64 - 4.0, 1.5, -0.5]).collect();
    let one = Arc::new(serde_json::json!({"window": window}).to_string());
    let predict: Request = {
        let one = Arc::clone(&one);
        Arc::new(move |a: &ureq::Agent, url: &str| {
            a.post(&format!("{url}/predict"))
                .header("Content-Type", "application/json")
                .send(one.as_bytes())
                .is_ok_and(|r| r.status().as_u16() == 200 && r.into_body().read_to_vec().is_ok())
        })
    };
    let upload: Request = {
        let boundary = "har-bench-boundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hour.csv\"\r\nContent-Type: text/csv\r\n\r\n").into_bytes();
        body.extend_from_slice(&csv_bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body = Arc::new(body);
        Arc::new(move |a: &ureq::Agent, url: &str| {
            a.post(&format!("{url}/api/upload"))
                .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
                .send(&body[..])
                .is_ok_and(|r| r.status().as_u16() == 200 && r.into_body().read_to_vec().is_ok())
        })
    };
    let mut rows = Vec::new();
    let mut scenario = |name: &str, what: &Request, c: usize, count: Option<usize>| {
        let mut line = format!("| {name} | {c} |");
        for which in ["ours", "peer"] {
            let server = if which == "ours" { ours(&model) } else { peer(&python, &model) };
            match server {
                Some(s) => {
                    // Warm up: the first requests load pages, caches, the peer's lazy imports.
                    let _ = load(&s.url, 1, 0.0, Some(2), Arc::clone(what));
                    let (rps, p50, p99, failed) = load(&s.url, c, seconds, count, Arc::clone(what));
                    let failed = if failed > 0 { format!(" ({failed} failed)") } else { String::new() };
                    line += &format!(" {rps:.1} req/s, p50 {p50:.1} ms, p99 {p99:.1} ms{failed} |");
                }
                None => line += " not run |",
            }
        }
        println!("{line}");
        rows.push(line);
    };
    println!("| request | concurrency | har-monitor serve | Python peer (FastAPI + uvicorn + onnxruntime) |");
    println!("|---|---:|---|---|");
    for c in [1, 8, 64] {
        scenario("`POST /predict` (one window)", &predict, c, None);
    }
    for c in [1, 4] {
        scenario("`POST /api/upload` (1 h, 180,000 rows)", &upload, c, Some(uploads));
    }
}
