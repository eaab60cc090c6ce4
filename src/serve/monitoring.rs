//! The `monitoring` block of `/api/upload`: the thesis service's three layers, with its field names and thresholds,
//! where layer 3 is our drift monitor (the code behind the app's drift view and `har-monitor drift`) rather than
//! the thesis' z-score of raw channel means, and the last upload's drift numbers go into the metrics.

use serde_json::{Value, json};

use super::ServeState;
use crate::monitor::CheckOutcome;
use crate::monitor::ChunkReport;

/// A window is uncertain below this top probability (the thesis' `uncertain_window_threshold`).
pub const UNCERTAIN_WINDOW: f64 = 0.50;
/// Layer 1 passes with a mean confidence of at least this ...
pub const CONFIDENCE_WARN: f64 = 0.60;
/// ... and at most this percentage of uncertain windows.
pub const UNCERTAIN_PCT: f64 = 30.0;
/// Layer 2 passes with at most this percentage of window-to-window changes of the predicted class.
pub const TRANSITION_PCT: f64 = 50.0;
/// The thesis' layer-3 rule, reported beside ours: |chunk mean − baseline mean| / baseline std of a channel.
pub const DRIFT_ZSCORE: f64 = 2.0;

/// `x` rounded to `digits` decimals (the thesis service rounds its JSON numbers so).
pub(super) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The three layers for one upload; also sets the drift gauges.
pub fn layers(state: &ServeState, predicted: &[usize], confidences: &[f64], drift: Option<&ChunkReport>) -> Value {
    let n = confidences.len().max(1) as f64;
    let mean_conf = confidences.iter().sum::<f64>() / n;
    let uncertain = confidences.iter().filter(|&&c| c < UNCERTAIN_WINDOW).count() as f64 / n * 100.0;
    let l1 = if mean_conf >= CONFIDENCE_WARN && uncertain <= UNCERTAIN_PCT { "PASS" } else { "WARNING" };
    let transitions = predicted.windows(2).filter(|w| w[0] != w[1]).count();
    let rate = transitions as f64 / (predicted.len().saturating_sub(1).max(1)) as f64 * 100.0;
    let l2 = if rate <= TRANSITION_PCT { "PASS" } else { "WARNING" };
    let l3 = layer3(state, drift);
    let l3_status = l3.get("status").and_then(Value::as_str).unwrap_or("SKIPPED").to_string();
    let overall =
        if [l1, l2, l3_status.as_str()].iter().all(|s| *s == "PASS" || *s == "SKIPPED") { "PASS" } else { "WARNING" };
    json!({
        "overall_status": overall,
        "layer1_confidence": {
            "status": l1,
            "mean_confidence": round(mean_conf, 4),
            "uncertain_pct": round(uncertain, 2),
            "threshold_conf": CONFIDENCE_WARN,
            "threshold_uncertain": UNCERTAIN_PCT,
        },
        "layer2_temporal": {
            "status": l2,
            "transitions": transitions,
            "transition_rate_pct": round(rate, 2),
            "threshold_pct": TRANSITION_PCT,
        },
        "layer3_drift": l3,
    })
}

/// Layer 3 from the drift monitor's report on all of the upload's windows.
fn layer3(state: &ServeState, drift: Option<&ChunkReport>) -> Value {
    let m = &state.metrics;
    let (Some(baseline), Some(chunk)) = (state.baseline.as_ref(), drift) else {
        m.drift_psi.clear();
        m.drift_ks.clear();
        m.input_check_value.clear();
        m.input_check_fired.clear();
        m.drift_detected.set(0.0);
        m.set_performance(None);
        let reason = if state.baseline.is_none() {
            "no drift baseline for this model (har-monitor baseline builds one)"
        } else {
            "no window to compare"
        };
        return json!({"status": "SKIPPED", "channel_drift": {}, "max_drift": 0.0, "reason": reason});
    };
    // The thesis' per-channel score, against our baseline's channel statistics.
    let mut channel_drift = serde_json::Map::new();
    let mut max_drift = 0.0f64;
    for (i, (c, b)) in chunk.channels.iter().zip(&baseline.channel_stats).enumerate() {
        let std = if b.std > 0.0 { b.std } else { 1.0 };
        let z = (c.mean - b.mean).abs() / std;
        max_drift = max_drift.max(z);
        channel_drift.insert(format!("channel_{i}"), json!(round(z, 4)));
    }
    m.set_drift(chunk, crate::monitor::DriftConfig::default().min_verdict_windows);
    let mut checks = Vec::new();
    for check in &chunk.evidence.checks {
        let name =
            serde_json::to_value(check.check).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        match &check.outcome {
            CheckOutcome::NotChecked { reason } => {
                checks.push(json!({"check": name, "state": "not_checked", "reason": reason}))
            }
            CheckOutcome::Ok { value, limit, .. } => {
                checks.push(json!({"check": name, "state": "ok", "value": value, "limit": limit}));
            }
            CheckOutcome::Drift { value, limit, explanation, .. } => {
                checks.push(json!({"check": name, "state": "drift", "value": value, "limit": limit, "explanation": explanation}));
            }
        }
    }
    let verdict = chunk.windows >= crate::monitor::DriftConfig::default().min_verdict_windows;
    let status = if !verdict {
        "SKIPPED"
    } else if chunk.input_drift {
        "WARNING"
    } else {
        "PASS"
    };
    let mut out = json!({
        "status": status,
        "channel_drift": channel_drift,
        "max_drift": round(max_drift, 4),
        "zscore_threshold": DRIFT_ZSCORE,
        "input_drift": chunk.input_drift,
        "prediction_drift": chunk.prediction_drift,
        "js_distance": chunk.js_distance,
        "psi": chunk.psi,
        "windows": chunk.windows,
        "checks": checks,
        "performance": chunk.performance,
        "rule": "status is har-monitor's input-drift rule (a change of the sensor or its mounting, docs/FORMATS.md §4); channel_drift is the thesis' |mean - baseline mean| / baseline std per channel",
    });
    if !verdict {
        out["reason"] = json!(format!(
            "{} windows: no verdict under {}",
            chunk.windows,
            crate::monitor::DriftConfig::default().min_verdict_windows
        ));
    }
    out
}
