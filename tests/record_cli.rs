//! `har-monitor record` and `har-monitor device` as a user runs them: a recording replays and evaluates like any
//! file and matches what `predict` says about it, Ctrl-C ends it cleanly, `kill -9` loses at most the last second,
//! and the virtual device's pseudo-terminal records through the serial source.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::cli::{bin, run, signal_and_wait};
use har_monitor::data::{self, LoadOptions};
use har_monitor::model::ModelCard;

fn card() -> ModelCard {
    ModelCard::load_for_model(&har_monitor::assets::demo_model().expect("demo model")).expect("card")
}

fn session(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).expect("session.json")).expect("json")
}

/// Rows of a CSV without its header, split into fields.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("csv");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// Spawns the binary with stdout piped; every stdout line is sent with the time it was read.
fn spawn(args: &[&str]) -> (Child, mpsc::Receiver<(Instant, String)>) {
    let mut child = bin().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    (child, rx)
}

#[test]
fn a_recording_replays_evaluates_and_matches_predict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rec");
    let (code, stdout, err) =
        run(bin().args(["record", "--simulate", "--speed", "25", "--seconds", "6", "--out"]).arg(&out));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("samples and") && stdout.contains("predictions recorded"), "{stdout}");
    let s = session(&out);
    assert_eq!((s["complete"].as_bool(), s["labels"].as_bool()), (Some(true), Some(true)));
    assert_eq!(s["source"]["kind"], "simulated");
    assert_eq!(s["format"], "har-session/1");
    assert_eq!(s["model"]["sha256"].as_str().map(str::len), Some(64));

    // The samples load as a labeled sensor file with every row good.
    let loaded = data::load_csv(&out.join("samples.csv"), &card(), &LoadOptions::default()).expect("loads");
    assert_eq!(loaded.report.bad_rows, 0);
    assert_eq!(Some(loaded.recording.len() as u64), s["samples"].as_u64());
    assert!(loaded.recording.len() > 2000, "{} rows", loaded.recording.len());

    // `predict` on the recorded samples cuts the same windows and says the same as the live session did.
    let predicted = dir.path().join("p.csv");
    let (code, _, err) =
        run(bin().arg("predict").arg("--data").arg(out.join("samples.csv")).arg("--out").arg(&predicted));
    assert_eq!(code, 0, "{err}");
    let live = rows(&out.join("predictions.csv"));
    let batch = rows(&predicted);
    assert!(live.len() >= 10, "{} windows", live.len());
    assert_eq!(live.len(), batch.len());
    for (l, b) in live.iter().zip(&batch) {
        assert_eq!(l[..6], b[..6], "window, rows, times and class");
        let (cl, cb): (f64, f64) = (l[6].parse().expect("conf"), b[6].parse().expect("conf"));
        assert!((cl - cb).abs() < 1e-5, "confidence {cl} vs {cb}");
    }

    // It evaluates like any labeled file.
    let report = dir.path().join("report");
    let (code, _, err) =
        run(bin().arg("evaluate").arg("--data").arg(out.join("samples.csv")).arg("--out").arg(&report));
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).expect("report")).expect("json");
    assert_eq!(report["windows"]["used"].as_u64(), Some(live.len() as u64));

    // And replays: recording the replay gives the same windows again.
    let again = dir.path().join("again");
    let (code, _, err) = run(bin()
        .args(["record", "--speed", "100", "--quiet", "--replay"])
        .arg(out.join("samples.csv"))
        .arg("--out")
        .arg(&again));
    assert_eq!(code, 0, "{err}");
    let replayed = rows(&again.join("predictions.csv"));
    assert_eq!(replayed.len(), live.len());
    for (l, r) in live.iter().zip(&replayed) {
        assert_eq!(l[5], r[5], "same class");
    }
}

#[test]
fn ctrl_c_ends_a_recording_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rec");
    let out_s = out.to_string_lossy().into_owned();
    let (mut child, lines) = spawn(&["record", "--simulate", "--speed", "10", "--out", &out_s]);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok((_, line)) = lines.recv_timeout(Duration::from_millis(200))
            && line.contains("window")
        {
            break;
        }
    }
    let status = signal_and_wait(&mut child, libc::SIGINT, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    let s = session(&out);
    assert_eq!(s["complete"], true);
    let events = std::fs::read_to_string(out.join("events.jsonl")).expect("events");
    assert!(events.lines().last().is_some_and(|l| l.contains("\"type\":\"stop\"")), "{events}");
    let printed: Vec<String> = lines.try_iter().map(|(_, l)| l).collect();
    assert!(printed.iter().any(|l| l.starts_with("interrupted:")), "{printed:?}");
}

#[test]
fn kill_9_loses_at_most_the_last_second() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rec");
    let out_s = out.to_string_lossy().into_owned();
    let (mut child, lines) = spawn(&["record", "--simulate", "--speed", "10", "--out", &out_s]);
    // Window numbers as printed, with when they were printed.
    let mut seen: Vec<(Instant, u64)> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        if let Ok((at, line)) = lines.recv_timeout(Duration::from_millis(50))
            && let Some(n) = line.split("window").nth(1).and_then(|r| r.split_whitespace().next()?.parse().ok())
        {
            seen.push((at, n));
        }
    }
    child.kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = child.wait();
    assert!(seen.len() >= 20, "{} windows printed before the kill", seen.len());

    // Every window printed more than a second before the kill is in predictions.csv.
    let recorded: Vec<u64> =
        rows(&out.join("predictions.csv")).iter().filter_map(|r| r.first()?.parse().ok()).collect();
    let old: Vec<u64> =
        seen.iter().filter(|(at, _)| killed.duration_since(*at) > Duration::from_secs(1)).map(|(_, n)| *n).collect();
    assert!(!old.is_empty());
    for n in &old {
        assert!(
            recorded.contains(n),
            "window {n}, printed over a second before the kill, was lost ({} kept)",
            recorded.len()
        );
    }
    // The samples load; at most the last line is torn.
    let loaded = data::load_csv(&out.join("samples.csv"), &card(), &LoadOptions::default()).expect("loads");
    assert!(loaded.report.bad_rows <= 1, "{:?}", loaded.report.bad_rows);
    assert!(loaded.recording.len() >= 200 * old.len().min(1));
    // The session says it is not complete.
    assert_eq!(session(&out)["complete"], false);
}

#[test]
fn the_virtual_device_records_through_the_serial_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("har-imu");
    let link_s = link.to_string_lossy().into_owned();
    let (mut device, device_lines) =
        spawn(&["device", "--out-pty", "--link", &link_s, "--rate", "104", "--garbage-every", "20", "--seconds", "30"]);
    let first = device_lines.recv_timeout(Duration::from_secs(10)).expect("the device prints its path").1;
    assert!(first.starts_with("virtual device on /dev/"), "{first}");
    let out = dir.path().join("rec");
    let (code, stdout, err) = run(bin().args(["record", "--serial", &link_s, "--seconds", "7", "--out"]).arg(&out));
    let _ = device.kill();
    let _ = device.wait();
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("link: connected"), "{stdout}");
    assert!(stdout.contains(" window "), "predictions are printed: {stdout}");
    let s = session(&out);
    assert_eq!((s["complete"].as_bool(), s["source"]["kind"].as_str()), (Some(true), Some("serial")));
    let predictions = rows(&out.join("predictions.csv"));
    assert!(!predictions.is_empty());
    let events = std::fs::read_to_string(out.join("events.jsonl")).expect("events");
    assert!(events.contains("\"lines_bad\":"), "{events}");
}

#[test]
fn bad_record_and_device_arguments_are_clear() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("x"), "taken").expect("write");
    let (code, _, err) = run(bin().args(["record", "--simulate", "--seconds", "1", "--out"]).arg(dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not empty"), "{err}");
    let (code, _, err) = run(bin().args(["record", "--out", "x"]));
    assert_eq!(code, 2);
    assert!(err.contains("--serial") || err.contains("required"), "{err}");
    let (code, _, err) = run(bin().args(["device", "--out-pty", "--rate", "1000"]));
    assert_eq!(code, 2);
    assert!(err.contains("--rate"), "{err}");
    let (code, _, err) = run(bin().args(["device", "--out-pty", "--behaviour", "dancing", "--seconds", "1"]));
    assert_eq!(code, 2);
    assert!(err.contains("dancing"), "{err}");
}
