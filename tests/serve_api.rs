//! `har-monitor serve` on a loopback port, as a client of the thesis service would use it: every endpoint, the
//! probabilities equal `predict`'s for the same windows, each kind of bad input gets its 4xx with the field named,
//! the token and the body limit hold, `/metrics` counts what was served, and SIGTERM stops it cleanly.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli::{bin, run, signal_and_wait};
use common::serve::{agent, start};
use serde_json::{Value, json};

/// Status and body of a request.
fn send(method: &str, url: &str, content_type: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let a = agent();
    let response = match method {
        "GET" => {
            let mut r = a.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        _ => {
            let mut r = a.post(url);
            if let Some(ct) = content_type {
                r = r.header("Content-Type", ct);
            }
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body)
        }
    }
    .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    (status, text)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"))
}

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let (s, t) = send("POST", url, Some("application/json"), &[], body.to_string().as_bytes());
    (s, json_of(&t))
}

/// An unlabeled simulated file (production schema) and `predict`'s output for it.
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let data = dir.join("data.csv");
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "1", "--minutes-per-user", "1.2", "--seed", "9", "--unlabeled", "--out"])
        .arg(&data));
    assert_eq!(code, 0, "{err}");
    let predicted = dir.join("p.csv");
    let (code, _, err) = run(bin().arg("predict").arg("--data").arg(&data).arg("--out").arg(&predicted));
    assert_eq!(code, 0, "{err}");
    (data, predicted)
}

/// The data rows of the file as `[Ax..Gz]` (the production schema's columns after the timestamp).
fn rows(data: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(data).expect("data");
    text.lines().skip(1).map(|l| l.split(',').skip(1).map(|v| v.parse().expect("number")).collect()).collect()
}

/// `predict`'s rows: (start_row, end_row, predicted, probabilities).
fn predict_rows(path: &Path) -> Vec<(usize, usize, String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).expect("predictions");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let probs = f[7..18].iter().map(|v| v.parse().expect("p")).collect();
            (f[1].parse().expect("start"), f[2].parse().expect("end"), f[5].to_string(), probs)
        })
        .collect()
}

fn window(rows: &[Vec<f64>], start: usize, end: usize) -> Value {
    json!(rows[start..end])
}

fn assert_probabilities(got: &Value, want: &[f64], classes: &[&str]) {
    for (c, w) in classes.iter().zip(want) {
        let g = got[*c].as_f64().unwrap_or(f64::NAN);
        assert!((g - w).abs() < 1e-5, "{c}: {g} vs {w}");
    }
}

const CLASSES: [&str; 11] = har_monitor::classes::THESIS_CLASSES;

#[test]
fn every_endpoint_answers_as_the_thesis_service_and_agrees_with_predict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, predicted) = fixture(dir.path());
    let rows = rows(&data);
    let expected = predict_rows(&predicted);
    assert!(expected.len() >= 5);
    let server = start(&[]);
    let u = |p: &str| format!("{}{p}", server.url);

    for path in ["/health", "/api/health"] {
        let (s, t) = send("GET", &u(path), None, &[], b"");
        let h = json_of(&t);
        assert_eq!(s, 200);
        assert_eq!((h["status"].as_str(), h["model_loaded"].as_bool()), (Some("healthy"), Some(true)));
        assert_eq!(h["baseline_loaded"], true, "the demo model has a baseline");
        assert!(h["uptime_seconds"].as_f64().is_some() && h["timestamp"].as_str().is_some_and(|t| t.contains('T')));
    }
    for path in ["/model-info", "/model/info", "/api/model/info"] {
        let (s, t) = send("GET", &u(path), None, &[], b"");
        let m = json_of(&t);
        assert_eq!(s, 200);
        assert_eq!(m["input_shape"], json!([200, 6]));
        assert_eq!(m["output_classes"], 11);
        assert_eq!(m["activity_classes"]["0"], "ear_rubbing");
        assert_eq!(m["model_name"], m["name"]);
        assert_eq!(m["card"]["window"], 200);
    }

    // One window, as JSON: the probabilities `predict` gave for the same rows.
    let (start, end, class, probs) = &expected[2];
    let (s, p) =
        post_json(&u("/predict"), &json!({"window": window(&rows, *start, *end), "return_probabilities": true}));
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["activity"].as_str(), Some(class.as_str()));
    assert_eq!(p["activity_id"].as_u64(), CLASSES.iter().position(|c| c == class).map(|i| i as u64));
    assert_probabilities(&p["probabilities"], probs, &CLASSES);
    assert_eq!(p["model_version"], "1.0.0");
    let keys: Vec<&String> = p["probabilities"].as_object().expect("probabilities").keys().collect();
    assert_eq!(keys, CLASSES.iter().map(|c| c.to_string()).collect::<Vec<_>>().iter().collect::<Vec<_>>());
    let (_, p) = post_json(&u("/predict"), &json!({"window": window(&rows, *start, *end)}));
    assert_eq!(p["probabilities"], Value::Null, "not asked for");

    // A batch.
    let windows: Vec<Value> = expected[..3].iter().map(|(a, b, _, _)| window(&rows, *a, *b)).collect();
    let (s, b) = post_json(&u("/predict/batch"), &json!({"windows": windows, "return_probabilities": true}));
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["total_windows"], 3);
    assert!(b["processing_time_ms"].as_f64().is_some());
    for (got, (_, _, class, probs)) in b["predictions"].as_array().expect("predictions").iter().zip(&expected) {
        assert_eq!(got["activity"].as_str(), Some(class.as_str()));
        assert_probabilities(&got["probabilities"], probs, &CLASSES);
    }

    // A whole CSV: as JSON, and as CSV byte for byte what `predict` wrote.
    let csv = std::fs::read(&data).expect("data");
    let (s, t) = send("POST", &u("/predict"), Some("text/csv"), &[], &csv);
    let j = json_of(&t);
    assert_eq!(s, 200, "{t}");
    assert_eq!(j["total_windows"].as_u64(), Some(expected.len() as u64));
    assert_probabilities(&j["windows"][1]["probabilities"], &expected[1].3, &CLASSES);
    let (s, t) = send("POST", &u("/predict"), Some("text/csv"), &[("Accept", "text/csv")], &csv);
    assert_eq!(s, 200);
    assert_eq!(t, std::fs::read_to_string(&predicted).expect("predict's file"), "the same rows as `predict`");

    // The thesis' upload.
    let boundary = "har-monitor-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"session.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (s, t) =
        send("POST", &u("/api/upload"), Some(&format!("multipart/form-data; boundary={boundary}")), &[], &body);
    let up = json_of(&t);
    assert_eq!(s, 200, "{t}");
    assert_eq!(up["filename"], "session.csv");
    assert_eq!(up["total_rows"].as_u64(), Some(rows.len() as u64));
    assert_eq!(up["sensor_columns"], json!(["Ax", "Ay", "Az", "Gx", "Gy", "Gz"]));
    assert_eq!(up["windows_created"].as_u64(), Some(expected.len() as u64));
    for (got, (_, _, class, _)) in up["predictions"].as_array().expect("predictions").iter().zip(&expected) {
        assert_eq!(got["activity"].as_str(), Some(class.as_str()));
    }
    let summed: u64 = up["activity_summary"].as_object().expect("summary").values().filter_map(Value::as_u64).sum();
    assert_eq!(summed, expected.len() as u64);
    let m = &up["monitoring"];
    assert!(["PASS", "WARNING"].contains(&m["overall_status"].as_str().unwrap_or("")), "{m}");
    assert!(m["layer1_confidence"]["mean_confidence"].as_f64().is_some());
    assert_eq!(m["layer2_temporal"]["threshold_pct"], 50.0);
    let l3 = &m["layer3_drift"];
    assert!(["PASS", "WARNING", "SKIPPED"].contains(&l3["status"].as_str().unwrap_or("")), "{l3}");
    assert_eq!(l3["channel_drift"].as_object().map(|o| o.len()), Some(6), "{l3}");
    let stats = &up["confidence_stats"];
    assert!(stats["min"].as_f64() <= stats["mean"].as_f64() && stats["mean"].as_f64() <= stats["max"].as_f64());
    // The label-free estimate over the upload's windows: the expected accuracy is the mean top probability.
    let performance = &l3["performance"];
    let estimated = performance["estimated_accuracy"].as_f64().expect("an estimate");
    assert!((estimated - stats["mean"].as_f64().unwrap()).abs() < 1e-4, "{performance} vs {stats}");
    let (lower, upper) =
        (performance["accuracy_lower"].as_f64().unwrap(), performance["accuracy_upper"].as_f64().unwrap());
    assert!(lower <= estimated && estimated <= upper, "{performance}");
    assert_eq!(performance["realised_accuracy"], Value::Null, "an unlabeled upload has no realised accuracy");
    let demo_baseline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.baseline.json"),
    )
    .unwrap();
    let reasons = performance["untrusted_because"].as_array().expect("reasons");
    if !demo_baseline.contains("\"reference_performance\"") {
        assert!(reasons.contains(&json!("no_reference_calibration")), "{performance}");
    }
    assert_eq!(performance["trusted"].as_bool(), Some(reasons.is_empty()));

    // What was served is counted.
    let (s, metrics) = send("GET", &u("/metrics"), None, &[], b"");
    assert_eq!(s, 200);
    assert!(metrics.contains("har_api_requests_total 6\n"), "{metrics}");
    let windows_served = 1 + 1 + 3 + 2 * expected.len() + expected.len();
    assert!(metrics.contains(&format!("har_samples_processed_total {windows_served}\n")), "{metrics}");
    assert!(metrics.contains("har_predictions_total{activity_class=\""));
    assert!(metrics.contains("har_inference_latency_ms_bucket{le=\"+Inf\"} 6\n"));
    assert!(metrics.contains("har_inference_latency_seconds_count 6\n"));
    assert!(metrics.contains("har_drift_psi{feature=\"Ax\"}"));
    assert!(metrics.contains("har_baseline_age_days "));
    // The last upload's estimate, as the upload's JSON gave it.
    let gauge = |name: &str| -> Option<f64> {
        metrics.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.parse().ok())
    };
    assert_eq!(gauge("har_estimated_accuracy"), Some(estimated), "{metrics}");
    assert_eq!(gauge("har_estimated_accuracy_lower"), Some(lower));
    assert_eq!(gauge("har_estimated_accuracy_upper"), Some(upper));
    assert_eq!(gauge("har_estimated_macro_f1"), performance["estimated_macro_f1"].as_f64());
    assert_eq!(gauge("har_estimated_accuracy_trusted"), Some(if reasons.is_empty() { 1.0 } else { 0.0 }));
    assert_eq!(gauge("har_reference_accuracy"), performance["reference_accuracy"].as_f64());
    let (s, t) = send("GET", &u("/openapi.json"), None, &[], b"");
    assert_eq!(s, 200);
    assert_eq!(json_of(&t)["paths"]["/api/upload"]["post"]["requestBody"]["required"], true);
}

#[test]
fn bad_input_is_a_4xx_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(&[]);
    let u = |p: &str| format!("{}{p}", server.url);
    let row = json!([0.1, 9.8, 0.2, 1.0, 2.0, 3.0]);
    let good: Vec<Value> = (0..200).map(|_| row.clone()).collect();

    let short: Vec<Value> = good[..199].to_vec();
    let (s, e) = post_json(&u("/predict"), &json!({"window": short}));
    assert_eq!(s, 422);
    assert_eq!(e["detail"][0]["loc"], json!(["body", "window"]));
    assert!(e["detail"][0]["msg"].as_str().is_some_and(|m| m.contains("200 timesteps, got 199")), "{e}");

    let mut five = good.clone();
    five[17] = json!([1.0, 2.0, 3.0, 4.0, 5.0]);
    let (s, e) = post_json(&u("/predict"), &json!({"window": five}));
    assert_eq!(s, 422);
    assert_eq!(e["detail"][0]["loc"], json!(["body", "window", 17]), "{e}");

    let mut huge = good.clone();
    huge[3] = json!([1.0, 2.0, 1e39, 4.0, 5.0, 6.0]);
    let (s, e) = post_json(&u("/predict"), &json!({"window": huge}));
    assert_eq!(s, 422);
    assert_eq!(e["detail"][0]["loc"], json!(["body", "window", 3, 2]), "{e}");
    assert!(e["detail"][0]["msg"].as_str().is_some_and(|m| m.contains("Az") && m.contains("finite")), "{e}");

    let mut text = good.clone();
    text[0] = json!([1.0, "x", 1.0, 4.0, 5.0, 6.0]);
    let (s, _) = post_json(&u("/predict"), &json!({"window": text}));
    assert_eq!(s, 422);

    let (s, e) = post_json(&u("/predict"), &json!({"windows": []}));
    assert_eq!((s, e["detail"][0]["msg"].as_str()), (422, Some("Field required")));
    let (s, t) = send("POST", &u("/predict"), Some("application/json"), &[], b"{\"window\": [[1,2");
    assert_eq!(s, 422, "{t}");
    assert!(t.contains("not valid JSON"), "{t}");
    let (s, _) = post_json(&u("/predict"), &json!({"window": good, "return_probabilities": "yes"}));
    assert_eq!(s, 422);
    let (s, e) = post_json(&u("/predict/batch"), &json!({"windows": []}));
    assert_eq!(s, 422, "{e}");
    let (s, e) = post_json(&u("/predict/batch"), &json!({"windows": [good, short]}));
    assert_eq!(s, 422);
    assert_eq!(e["detail"][0]["loc"], json!(["body", "windows", 1]), "{e}");

    let (s, t) = send("POST", &u("/predict"), Some("application/xml"), &[], b"<window/>");
    assert_eq!(s, 415, "{t}");
    assert!(json_of(&t)["detail"].as_str().is_some_and(|d| d.contains("application/xml")));

    // CSVs that give nothing: the message names the problem (and the client's name, not the server's temp file).
    let (s, t) = send("POST", &u("/predict"), Some("text/csv"), &[], b"timestamp,Ax,Ay,Az\n1,2,3,4\n");
    assert_eq!(s, 422, "{t}");
    assert!(!t.contains("har-monitor-upload-"), "{t}");
    assert!(t.contains("Gx") || t.contains("gyro"), "names what is missing: {t}");
    let few = "timestamp,Ax,Ay,Az,Gx,Gy,Gz\n1000,0,0,9.8,0,0,0\n1020,0,0,9.8,0,0,0\n";
    let (s, t) = send("POST", &u("/predict"), Some("text/csv"), &[], few.as_bytes());
    assert_eq!(s, 422, "{t}");
    let (s, t) = send(
        "POST",
        &u("/api/upload"),
        Some("multipart/form-data; boundary=x"),
        &[],
        b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhi\r\n--x--\r\n",
    );
    assert_eq!(s, 422, "{t}");
    assert_eq!(json_of(&t)["detail"][0]["loc"], json!(["body", "file"]));
    let (s, _) = send("POST", &u("/api/upload"), Some("application/json"), &[], b"{}");
    assert_eq!(s, 415);

    let (s, t) = send("GET", &u("/no/such/path"), None, &[], b"");
    assert_eq!((s, json_of(&t)["detail"].as_str()), (404, Some("Not Found")));
    // Errors are counted, by endpoint and code.
    let (_, metrics) = send("GET", &u("/metrics"), None, &[], b"");
    assert!(metrics.contains("har_request_errors_total{endpoint=\"/predict\",code=\"422\"}"), "{metrics}");
    drop(dir);
}

#[test]
fn the_token_and_the_body_limit_hold_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").expect("token");
    let mut server = start(&["--token-file", &token.to_string_lossy(), "--max-body-mb", "1"]);
    let u = |p: &str| format!("{}{p}", server.url);
    let window: Vec<Value> = (0..200).map(|_| json!([0.1, 9.8, 0.2, 1.0, 2.0, 3.0])).collect();
    let body = json!({"window": window}).to_string();
    let (s, t) = send("POST", &u("/predict"), Some("application/json"), &[], body.as_bytes());
    assert_eq!(s, 401, "{t}");
    let (s, _) =
        send("POST", &u("/predict"), Some("application/json"), &[("Authorization", "Bearer wrong")], body.as_bytes());
    assert_eq!(s, 401);
    let auth = [("Authorization", "Bearer s3cret-token")];
    let (s, t) = send("POST", &u("/predict"), Some("application/json"), &auth, body.as_bytes());
    assert_eq!(s, 200, "{t}");
    let (s, _) = send("GET", &u("/health"), None, &[], b"");
    assert_eq!(s, 200, "health checks need no token");
    let (s, _) = send("GET", &u("/metrics"), None, &[], b"");
    assert_eq!(s, 401);

    let big = vec![b'1'; 2 * 1024 * 1024];
    let (s, t) = send("POST", &u("/predict"), Some("text/csv"), &auth, &big);
    assert_eq!(s, 413, "{t}");
    assert!(json_of(&t)["detail"].as_str().is_some_and(|d| d.contains("1 MiB")), "{t}");

    let status = signal_and_wait(&mut server.child, libc::SIGTERM, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_bad_model_or_address_is_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, err) =
        run(bin().args(["serve", "--addr", "127.0.0.1:0", "--model"]).arg(dir.path().join("none.onnx")));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) =
        run(bin().args(["serve", "--addr", "127.0.0.1:0", "--token-file"]).arg(dir.path().join("missing")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--token-file"), "{err}");
}

#[test]
fn concurrent_windows_share_model_calls_and_each_gets_its_own_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, predicted) = fixture(dir.path());
    let rows = std::sync::Arc::new(rows(&data));
    let expected = predict_rows(&predicted);
    let server = start(&[]);
    // Many requests at once against two sessions: they queue and are classified together; each answer must be its
    // own window's (the probabilities `predict` gave for those rows).
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let (start, end, class, probs) = expected[i % expected.len()].clone();
            let (rows, url) = (std::sync::Arc::clone(&rows), server.url.clone());
            std::thread::spawn(move || {
                let body = json!({"window": window(&rows, start, end), "return_probabilities": true});
                let (s, p) = post_json(&format!("{url}/predict"), &body);
                assert_eq!(s, 200, "{p}");
                assert_eq!(p["activity"].as_str(), Some(class.as_str()), "request {i}");
                assert_probabilities(&p["probabilities"], &probs, &CLASSES);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("every request answered correctly");
    }
}
