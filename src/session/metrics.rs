//! Prometheus metrics, in the text exposition format (0.0.4), under the thesis service's names so its Grafana
//! dashboard and alert rules work unchanged (docs/FORMATS.md §8 says what each counts). `serve` fills them from the
//! requests it answers; [`LiveMetrics`] fills them from a live session's pipeline events (the app's and `record`'s
//! `--metrics-addr`).
//!
//! Hand-written rather than through a metrics crate: the names, the label sets and the units are a compatibility
//! contract (`har_api_requests_total` without labels, `har_inference_latency_ms` in milliseconds next to
//! `har_inference_latency_seconds`, a label-free `har_drift_detected`), and the format must pass `promtool check
//! metrics` as it is. Every value is an atomic or sits behind a short lock; rendering takes a snapshot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (stored as the bits of an f64).
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }

    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A histogram with fixed upper bounds (cumulative counts are computed when rendering).
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
    /// Sum of observations, as f64 bits (updated with a compare-and-swap loop).
    sum: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Histogram {
        Histogram {
            bounds: bounds.to_vec(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        if !v.is_finite() {
            return;
        }
        let i = self.bounds.iter().position(|&b| v <= b).unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| Some((f64::from_bits(bits) + v).to_bits()));
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Values of one metric by label value (a single label).
#[derive(Debug, Default)]
pub struct Family<V> {
    values: Mutex<BTreeMap<Vec<(String, String)>, V>>,
}

impl<V: Default> Family<V> {
    /// Runs `f` on the value for these labels (created at its default the first time).
    pub fn with(&self, labels: &[(&str, &str)], f: impl FnOnce(&mut V)) {
        let key: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut values = self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(values.entry(key).or_default());
    }

    fn snapshot<T>(&self, read: impl Fn(&V) -> T) -> Vec<(Vec<(String, String)>, T)> {
        let values = self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        values.iter().map(|(k, v)| (k.clone(), read(v))).collect()
    }

    /// Forgets every label set (a new upload replaces the per-feature gauges).
    pub fn clear(&self) {
        self.values.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// Buckets of `har_inference_latency_seconds` (the thesis' `prometheus_metrics.py`).
pub const LATENCY_SECONDS_BUCKETS: [f64; 7] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// Buckets of `har_inference_latency_ms` (the thesis' `src/api/app.py`).
pub const LATENCY_MS_BUCKETS: [f64; 9] = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];
/// Buckets of `har_confidence_histogram`.
pub const CONFIDENCE_BUCKETS: [f64; 7] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// Every metric the service exports.
#[derive(Debug)]
pub struct Metrics {
    pub api_requests: Counter,
    pub predictions: Family<f64>,
    pub samples_processed: Counter,
    pub latency_seconds: Histogram,
    pub latency_ms: Histogram,
    pub confidence_histogram: Histogram,
    pub confidence_mean: Gauge,
    pub entropy_mean: Gauge,
    pub flip_rate: Gauge,
    pub drift_detected: Gauge,
    pub drift_psi: Family<f64>,
    pub drift_ks: Family<f64>,
    /// Our own sensor checks of the last upload: the measurement and whether it fired.
    pub input_check_value: Family<f64>,
    pub input_check_fired: Family<f64>,
    /// The label-free performance estimate of the last upload (or live drift report), rendered as the
    /// `har_estimated_*` gauges when there is one.
    pub performance: Mutex<Option<crate::monitor::PerformanceEstimate>>,
    pub request_errors: Family<f64>,
    /// Filled at scrape time from `baseline_file`: its age in days (-1 when missing).
    pub baseline_age_days: Gauge,
    /// The drift baseline whose age `har_baseline_age_days` reports.
    pub baseline_file: Mutex<Option<std::path::PathBuf>>,
    /// The request metrics (`har_api_requests_total`, `har_inference_latency_ms`, `har_request_errors_total`) are
    /// rendered: a service has requests, a live session does not.
    pub serves_requests: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            api_requests: Counter::default(),
            predictions: Family::default(),
            samples_processed: Counter::default(),
            latency_seconds: Histogram::new(&LATENCY_SECONDS_BUCKETS),
            latency_ms: Histogram::new(&LATENCY_MS_BUCKETS),
            confidence_histogram: Histogram::new(&CONFIDENCE_BUCKETS),
            confidence_mean: Gauge::default(),
            entropy_mean: Gauge::default(),
            flip_rate: Gauge::default(),
            drift_detected: Gauge::default(),
            drift_psi: Family::default(),
            drift_ks: Family::default(),
            input_check_value: Family::default(),
            input_check_fired: Family::default(),
            performance: Mutex::new(None),
            request_errors: Family::default(),
            baseline_age_days: Gauge::default(),
            baseline_file: Mutex::new(None),
            serves_requests: true,
        }
    }
}

/// A number as Prometheus writes it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// `{a="x",b="y"}` with the values escaped (backslash, quote, newline).
fn labels(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    header(out, name, "histogram", help);
    let mut cumulative = 0u64;
    for (i, bound) in h.bounds.iter().enumerate() {
        cumulative += h.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", number(*bound));
    }
    cumulative += h.counts.last().map_or(0, |c| c.load(Ordering::Relaxed));
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", number(f64::from_bits(h.sum.load(Ordering::Relaxed))));
    let _ = writeln!(out, "{name}_count {cumulative}");
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, f: &Family<f64>) {
    let values = f.snapshot(|v| *v);
    if values.is_empty() {
        return;
    }
    header(out, name, kind, help);
    for (l, v) in values {
        let _ = writeln!(out, "{name}{} {}", labels(&l), number(v));
    }
}

impl Metrics {
    /// The metrics of a live session (no request metrics).
    pub fn for_live_session() -> Metrics {
        Metrics { serves_requests: false, ..Metrics::default() }
    }

    /// Sets the drift gauges from a drift report over recent windows: the verdict (only when the report has
    /// enough windows for one), each channel's PSI and KS statistic, each sensor check's measurement.
    pub fn set_drift(&self, chunk: &crate::monitor::ChunkReport, min_verdict_windows: usize) {
        use crate::monitor::CheckOutcome;
        self.drift_psi.clear();
        self.drift_ks.clear();
        self.input_check_value.clear();
        self.input_check_fired.clear();
        for c in &chunk.channels {
            self.drift_psi.with(&[("feature", &c.channel)], |v| *v = c.psi);
            self.drift_ks.with(&[("feature", &c.channel)], |v| *v = c.ks_statistic);
        }
        for check in &chunk.evidence.checks {
            let name =
                serde_json::to_value(check.check).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let (value, fired) = match &check.outcome {
                CheckOutcome::NotChecked { .. } => continue,
                CheckOutcome::Ok { value, .. } => (*value, 0.0),
                CheckOutcome::Drift { value, .. } => (*value, 1.0),
            };
            self.input_check_value.with(&[("check", &name)], |v| *v = value);
            self.input_check_fired.with(&[("check", &name)], |v| *v = fired);
        }
        let verdict = chunk.windows >= min_verdict_windows;
        self.drift_detected.set(if verdict && chunk.input_drift { 1.0 } else { 0.0 });
        self.set_performance(chunk.performance.clone());
    }

    /// Replaces the estimate behind the `har_estimated_*` gauges (`None`: they are not rendered).
    pub fn set_performance(&self, estimate: Option<crate::monitor::PerformanceEstimate>) {
        *self.performance.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = estimate;
    }

    /// The `har_estimated_*` gauges and `har_reference_accuracy`, when an estimate exists.
    fn render_performance(&self, out: &mut String) {
        let estimate = self.performance.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let Some(e) = estimate else { return };
        let mut gauges = vec![
            (
                "har_estimated_accuracy",
                "Label-free (confidence-based) estimate of the accuracy on the last upload's windows, 0 to 1",
                e.estimated_accuracy,
            ),
            (
                "har_estimated_accuracy_lower",
                "Lower end of the 95% band of har_estimated_accuracy (from the number of windows)",
                e.accuracy_lower,
            ),
            ("har_estimated_accuracy_upper", "Upper end of the 95% band of har_estimated_accuracy", e.accuracy_upper),
            (
                "har_estimated_macro_f1",
                "Label-free estimate of the macro-F1 on the last upload's windows",
                e.estimated_macro_f1,
            ),
            (
                "har_estimated_accuracy_trusted",
                "1 if the accuracy estimate can be trusted (calibrated on the reference, no input drift, enough windows), else 0",
                if e.trusted { 1.0 } else { 0.0 },
            ),
        ];
        if let Some(reference) = e.reference_accuracy {
            gauges.push((
                "har_reference_accuracy",
                "Realised accuracy of the model on the drift baseline's labeled reference windows",
                reference,
            ));
        }
        for (name, help, value) in gauges {
            header(out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", number(value));
        }
    }

    /// The exposition text (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let file = self.baseline_file.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(path) = file {
            let age = match std::fs::metadata(&path).and_then(|m| m.modified()) {
                Ok(modified) => modified.elapsed().map_or(0.0, |d| d.as_secs_f64() / 86_400.0),
                Err(_) => -1.0,
            };
            self.baseline_age_days.set(age);
        }
        let mut out = String::with_capacity(4096);
        if self.serves_requests {
            header(
                &mut out,
                "har_api_requests_total",
                "counter",
                "Total inference requests answered successfully (/predict, /predict/batch, /api/upload)",
            );
            let _ = writeln!(out, "har_api_requests_total {}", self.api_requests.get());
        }
        family(
            &mut out,
            "har_predictions_total",
            "counter",
            "Total number of predictions made, by predicted class (activity_class = class index, activity = name)",
            &self.predictions,
        );
        header(&mut out, "har_samples_processed_total", "counter", "Total windows classified");
        let _ = writeln!(out, "har_samples_processed_total {}", self.samples_processed.get());
        histogram(
            &mut out,
            "har_inference_latency_seconds",
            "Model time per inference request in seconds",
            &self.latency_seconds,
        );
        if self.serves_requests {
            histogram(
                &mut out,
                "har_inference_latency_ms",
                "End-to-end inference request latency in milliseconds",
                &self.latency_ms,
            );
        }
        histogram(
            &mut out,
            "har_confidence_histogram",
            "Distribution of prediction confidences",
            &self.confidence_histogram,
        );
        for (name, help, gauge) in [
            ("har_confidence_mean", "Mean prediction confidence of the last batch", &self.confidence_mean),
            ("har_entropy_mean", "Mean normalised prediction entropy of the last batch (0 to 1)", &self.entropy_mean),
            (
                "har_flip_rate",
                "Activity transition rate (flip rate) of the last sequence of windows, a fraction",
                &self.flip_rate,
            ),
            (
                "har_drift_detected",
                "1 if the last upload's input drift check (layer 3) raised a warning, else 0",
                &self.drift_detected,
            ),
            (
                "har_baseline_age_days",
                "Age of the drift baseline file in days (-1 = file missing)",
                &self.baseline_age_days,
            ),
        ] {
            header(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", number(gauge.get()));
        }
        family(
            &mut out,
            "har_drift_psi",
            "gauge",
            "Population Stability Index of each channel in the last upload against the baseline",
            &self.drift_psi,
        );
        family(
            &mut out,
            "har_drift_ks_stat",
            "gauge",
            "Kolmogorov-Smirnov statistic of each channel in the last upload against the baseline",
            &self.drift_ks,
        );
        family(
            &mut out,
            "har_input_check_value",
            "gauge",
            "Measurement of each sensor check (rotation in degrees, gain and noise as ratios, gyro offset in the card's unit) in the last upload",
            &self.input_check_value,
        );
        family(
            &mut out,
            "har_input_check_fired",
            "gauge",
            "1 when the sensor check fired in the last upload, else 0",
            &self.input_check_fired,
        );
        self.render_performance(&mut out);
        family(
            &mut out,
            "har_request_errors_total",
            "counter",
            "Requests answered with an error, by endpoint and status code",
            &self.request_errors,
        );
        out
    }
}

/// Predictions the rolling confidence, entropy and flip-rate gauges of a live session average over.
pub const ROLLING_WINDOWS: usize = 50;

/// A live session's metrics, kept from the pipeline's events (the same events the app's views draw).
pub struct LiveMetrics {
    pub metrics: std::sync::Arc<Metrics>,
    classes: Vec<String>,
    /// The last [`ROLLING_WINDOWS`] predictions: class, confidence, normalised entropy.
    recent: std::collections::VecDeque<(usize, f64, f64)>,
}

impl Default for LiveMetrics {
    fn default() -> Self {
        LiveMetrics {
            metrics: std::sync::Arc::new(Metrics::for_live_session()),
            classes: Vec::new(),
            recent: std::collections::VecDeque::new(),
        }
    }
}

/// `-Σ p ln p / ln k` with p clipped to [1e-9, 1] (the thesis service's normalised entropy).
pub fn normalised_entropy(p: &[f32]) -> f64 {
    let k = p.len();
    if k < 2 {
        return 0.0;
    }
    let h: f64 = p.iter().map(|&x| f64::from(x).clamp(1e-9, 1.0)).map(|x| -x * x.ln()).sum();
    h / (k as f64).ln()
}

impl LiveMetrics {
    /// Takes one pipeline event.
    pub fn apply(&mut self, event: &crate::pipeline::Event) {
        use crate::pipeline::{DriftStatus, Event};
        let m = &self.metrics;
        match event {
            Event::ModelLoaded(model) => {
                self.classes = model.card.classes.clone();
                self.recent.clear();
            }
            Event::SourceOpened { .. } | Event::Seeked { .. } | Event::SourceClosed => self.recent.clear(),
            Event::Prediction(p) => {
                let name = self.classes.get(p.predicted).map_or("", String::as_str);
                let id = p.predicted.to_string();
                m.predictions.with(&[("activity_class", &id), ("activity", name)], |v| *v += 1.0);
                m.samples_processed.inc_by(1);
                m.latency_seconds.observe(p.latency.as_secs_f64());
                m.confidence_histogram.observe(f64::from(p.confidence));
                if self.recent.len() == ROLLING_WINDOWS {
                    self.recent.pop_front();
                }
                self.recent.push_back((p.predicted, f64::from(p.confidence), normalised_entropy(&p.probabilities)));
                let n = self.recent.len() as f64;
                m.confidence_mean.set(self.recent.iter().map(|r| r.1).sum::<f64>() / n);
                m.entropy_mean.set(self.recent.iter().map(|r| r.2).sum::<f64>() / n);
                let flips = self.recent.iter().zip(self.recent.iter().skip(1)).filter(|(a, b)| a.0 != b.0).count();
                m.flip_rate.set(if self.recent.len() > 1 { flips as f64 / (n - 1.0) } else { 0.0 });
            }
            Event::DriftStatus(status) => {
                let path = match status {
                    DriftStatus::Missing { expected } => expected.clone(),
                    DriftStatus::Unusable { path, .. } | DriftStatus::Loaded { path, .. } => path.clone(),
                };
                *m.baseline_file.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path);
            }
            Event::DriftChunk(chunk) | Event::DriftRolling(chunk) => {
                m.set_drift(chunk, crate::monitor::DriftConfig::default().min_verdict_windows);
            }
            _ => {}
        }
    }
}

/// Serves `GET /metrics` (and `/health`) for a live session on its own thread; returns the bound address (port 0
/// picks a free one). The thread ends with the process.
pub fn spawn_exporter(
    addr: std::net::SocketAddr,
    metrics: std::sync::Arc<Metrics>,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new().name("har-metrics".into()).spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            let render = move || {
                let text = metrics.render();
                async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text) }
            };
            let app = axum::Router::new().route("/metrics", axum::routing::get(render)).route(
                "/health",
                axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "healthy"})) }),
            );
            let _ = axum::serve(listener, app).await;
        });
    })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_keep_their_names() {
        let m = Metrics::default();
        m.api_requests.inc_by(2);
        m.latency_ms.observe(12.0);
        m.latency_ms.observe(7000.0);
        m.predictions.with(&[("activity_class", "4"), ("activity", "hand_tapping")], |v| *v += 3.0);
        let text = m.render();
        assert!(text.contains("har_api_requests_total 2\n"), "{text}");
        assert!(text.contains("har_inference_latency_ms_bucket{le=\"10\"} 0\n"));
        assert!(text.contains("har_inference_latency_ms_bucket{le=\"25\"} 1\n"));
        assert!(text.contains("har_inference_latency_ms_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("har_inference_latency_ms_sum 7012\n"));
        assert!(text.contains("har_predictions_total{activity_class=\"4\",activity=\"hand_tapping\"} 3\n"));
        assert!(!text.contains("har_drift_psi"), "no per-feature gauge before an upload gave one");
    }

    #[test]
    fn the_estimate_gauges_follow_the_latest_drift_report_of_a_live_session() {
        use crate::pipeline::Event;
        let chunk = |performance: serde_json::Value| -> crate::monitor::ChunkReport {
            serde_json::from_value(serde_json::json!({
                "start_window": 0, "windows": 150, "class_distribution": [], "baseline_distribution": [],
                "js_distance": 0.1, "psi": 0.1, "chi2_p": 0.5, "mean_confidence": 0.8, "low_confidence_share": 0.1,
                "channels": [], "prediction_drift": false, "input_drift": true, "performance": performance
            }))
            .unwrap()
        };
        let mut live = LiveMetrics::default();
        assert!(!live.metrics.render().contains("har_estimated_accuracy"), "no estimate before a drift report");
        let estimate = serde_json::json!({
            "windows": 150, "estimated_accuracy": 0.8125, "accuracy_lower": 0.75, "accuracy_upper": 0.875,
            "estimated_macro_f1": 0.5, "macro_f1_lower": 0.4, "macro_f1_upper": 0.6, "realised_accuracy": null,
            "realised_macro_f1": null, "reference_accuracy": 0.9, "trusted": false, "untrusted_because": ["input_drift"]
        });
        live.apply(&Event::DriftRolling(Box::new(chunk(estimate))));
        let text = live.metrics.render();
        for line in [
            "har_estimated_accuracy 0.8125\n",
            "har_estimated_accuracy_lower 0.75\n",
            "har_estimated_accuracy_upper 0.875\n",
            "har_estimated_macro_f1 0.5\n",
            "har_estimated_accuracy_trusted 0\n",
            "har_reference_accuracy 0.9\n",
            "# TYPE har_estimated_accuracy gauge\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        // A report without an estimate (an older one) removes the gauges rather than keeping a stale number.
        live.apply(&Event::DriftChunk(Box::new(chunk(serde_json::Value::Null))));
        assert!(!live.metrics.render().contains("har_estimated_accuracy"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("a".into(), "x\"y\\z".into())]), "{a=\"x\\\"y\\\\z\"}");
    }
}
