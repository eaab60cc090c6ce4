//! The service with the real Prometheus tools (Debian's `prometheus` package: `.ci/run` downloads and unpacks it
//! and points `HAR_MONITOR_PROMETHEUS_BIN` at its `usr/bin`): `/metrics` parses with `promtool check metrics`
//! (its only lint findings being the thesis' own metric names, kept for its dashboards), the alert rules in
//! `dist/` pass `promtool check rules` and their unit tests, and a real Prometheus scraping `serve` gets data for
//! every expression of the dashboard and of the alert rules.
//!
//! Without the tools the tests say so and pass, unless `HAR_MONITOR_REQUIRE_PROMETHEUS=1` (CI), where a missing
//! tool fails.
#![cfg(unix)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::serve::agent;
use serde_json::Value;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `promtool` or `prometheus` from `HAR_MONITOR_PROMETHEUS_BIN`, else from PATH; `None` (skip) when missing.
fn tool(name: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os("HAR_MONITOR_PROMETHEUS_BIN") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => PathBuf::from(name),
    };
    let works = Command::new(&candidate).arg("--version").output().is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("HAR_MONITOR_REQUIRE_PROMETHEUS").is_none(),
        "{name} is required here but was not found ({})",
        candidate.display()
    );
    eprintln!(
        "{name} not found: skipped (apt-get download prometheus && dpkg -x prometheus_*.deb DIR; HAR_MONITOR_PROMETHEUS_BIN=DIR/usr/bin)"
    );
    None
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(url: &str) -> String {
    agent().get(url).call().expect("answer").into_body().read_to_string().unwrap_or_default()
}

/// Some traffic of every kind, so every metric family has series: windows, a batch, an upload of the drifted demo.
fn traffic(url: &str) {
    let a = agent();
    let window: Vec<Vec<f64>> = (0..200).map(|i| vec![0.1, 9.7, 0.3, (i % 7) as f64, 1.0, -1.0]).collect();
    let one = serde_json::json!({"window": window}).to_string();
    let batch = serde_json::json!({"windows": [window.clone(), window]}).to_string();
    for _ in 0..3 {
        let r = a.post(&format!("{url}/predict")).header("Content-Type", "application/json").send(one.as_bytes());
        assert_eq!(r.expect("answer").status().as_u16(), 200);
    }
    let r = a.post(&format!("{url}/predict/batch")).header("Content-Type", "application/json").send(batch.as_bytes());
    assert_eq!(r.expect("answer").status().as_u16(), 200);
    let csv = std::fs::read(repo("data/demo/production_drift.csv")).expect("the demo file");
    let boundary = "b0undary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n\r\n")
        .into_bytes();
    body.extend_from_slice(&csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = a
        .post(&format!("{url}/api/upload"))
        .header("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send(&body[..]);
    assert_eq!(r.expect("answer").status().as_u16(), 200);
    // One error, so the error counter has a series.
    let r = a.post(&format!("{url}/predict")).header("Content-Type", "application/json").send(&b"{}"[..]);
    assert_eq!(r.expect("answer").status().as_u16(), 422);
}

/// Metric names the thesis' dashboards and rules use that Prometheus' naming lint dislikes; kept as they are.
const CONTRACT_NAMES: [&str; 3] = ["har_baseline_age_days", "har_confidence_histogram", "har_inference_latency_ms"];

#[test]
fn metrics_parse_and_only_the_thesis_names_are_linted() {
    let Some(promtool) = tool("promtool") else { return };
    let server = common::serve::start(&[]);
    let url = server.url.clone();
    traffic(&url);
    let text = get(&format!("{url}/metrics"));
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("promtool ends");
    let findings = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Exit 0: clean; 3: lint findings only (1 would be a format error).
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "promtool: {findings}\n{text}");
    for line in findings.lines().filter(|l| !l.trim().is_empty()) {
        assert!(CONTRACT_NAMES.iter().any(|n| line.starts_with(n)), "an unexpected finding: {line}");
    }
}

#[test]
fn the_alert_rules_check_and_their_unit_tests_pass() {
    let Some(promtool) = tool("promtool") else { return };
    for args in [
        vec!["check", "rules", "dist/prometheus/rules/har_alerts.yml"],
        vec!["test", "rules", "dist/prometheus/rules/har_alerts.test.yml"],
        vec!["check", "config", "dist/prometheus/prometheus.yml"],
    ] {
        let out = Command::new(&promtool).args(&args).current_dir(repo("")).output().expect("promtool");
        assert!(
            out.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The `expr:` of every rule in a rules file (single-line expressions, as ours are written).
fn rule_expressions(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("rules");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .map(|e| e.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .collect()
}

/// The left side of a rule's final comparison (`rate(x[5m]) == 0` → `rate(x[5m])`): what must have data for the
/// rule to be able to fire.
fn measured_part(expr: &str) -> String {
    let bytes = expr.as_bytes();
    let mut depth = 0i32;
    let mut cut = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'<' | b'>' | b'=' | b'!' if depth == 0 => {
                cut = Some(i);
                break;
            }
            _ => {}
        }
    }
    cut.map_or(expr, |i| &expr[..i]).trim().to_string()
}

#[test]
fn a_real_prometheus_gets_data_for_every_dashboard_and_rule_expression() {
    let Some(prometheus) = tool("prometheus") else { return };
    let server = common::serve::start(&[]);
    let url = server.url.clone();
    let target = url.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let rules = repo("dist/prometheus/rules/har_alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: har_inference\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n",
        rules.display()
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).expect("config");
    let _prom = Process(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let api = format!("http://127.0.0.1:{port}/api/v1/query");
    let query = |q: &str| -> Value {
        let text = agent()
            .post(&api)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("query={}", urlencode(q)).as_bytes())
            .ok()
            .and_then(|r| r.into_body().read_to_string().ok())
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    // Scrapes before and after the traffic, so rates and increases have two points.
    let deadline = Instant::now() + Duration::from_secs(60);
    while query("up{job=\"har_inference\"} == 1")["data"]["result"].as_array().is_none_or(Vec::is_empty) {
        assert!(Instant::now() < deadline, "Prometheus never scraped the service");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(2));
    traffic(&url);
    std::thread::sleep(Duration::from_secs(4));

    let dashboard = std::fs::read_to_string(repo("dist/grafana/dashboards/expressions.txt")).expect("expressions");
    let mut expressions: Vec<String> =
        dashboard.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    expressions.extend(rule_expressions(&rules).iter().map(|e| measured_part(e)));
    assert!(expressions.len() >= 15, "{expressions:?}");
    let mut missing = Vec::new();
    for e in &expressions {
        let answer = query(e);
        assert_eq!(answer["status"], "success", "{e}: {answer}");
        if answer["data"]["result"].as_array().is_none_or(Vec::is_empty) {
            missing.push(e.clone());
        }
    }
    assert!(missing.is_empty(), "expressions without data: {missing:#?}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn the_measured_part_of_a_rule_is_left_of_its_comparison() {
    assert_eq!(measured_part("rate(har_api_requests_total[5m]) == 0"), "rate(har_api_requests_total[5m])");
    assert_eq!(measured_part("up{job=\"har_inference\"} == 0"), "up{job=\"har_inference\"}");
    assert_eq!(
        measured_part("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 500"),
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))"
    );
    assert_eq!(measured_part("har_flip_rate"), "har_flip_rate");
}
