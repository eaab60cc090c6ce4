//! The endpoints, with the thesis service's request and response fields (docs/FORMATS.md §8). Handlers parse and
//! validate on the async runtime (cheap), and run the model and the CSV scoring on the engine pool's blocking
//! threads. Every failure is a JSON error `{"detail": ...}` with a 4xx status naming the field or the line.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Value, json};

use super::ServeState;
use super::monitoring::round;
use crate::data::Scaler;
use crate::eval::{PredictionColumns, PredictionWriter, WindowPrediction};
use crate::monitor::{DriftConfig, DriftMonitor};
use crate::numeric::argmax;
use crate::pipeline::batch::{BatchError, BatchOptions, open_scoring};

/// An error answer: a status and FastAPI's `{"detail": ...}` body (a string, or a list of `{loc, msg, type}`).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, detail: Value::String(message.into()) }
    }

    /// A validation error in FastAPI's shape: 422 with `[{"loc": ["body", ...], "msg", "type"}]`.
    pub fn invalid(loc: &[Value], message: impl Into<String>) -> ApiError {
        let mut path = vec![json!("body")];
        path.extend_from_slice(loc);
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{"loc": path, "msg": message.into(), "type": "value_error"}]),
        }
    }

    pub(super) fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {} MiB (--max-body-mb)", limit / (1024 * 1024)),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"detail": self.detail}))).into_response()
    }
}

/// The body, or 413 when it is over the limit.
fn body(state: &ServeState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(state.max_body)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, format!("cannot read the request body: {e}"))
        }
    })
}

/// Local time as Python's `datetime.now().isoformat()` writes it (what the thesis service returns).
pub fn iso_now() -> String {
    chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Class name → probability, in card order (a JSON object keeps the model's class order).
struct Probabilities<'a> {
    classes: &'a [String],
    values: &'a [f32],
}

impl Serialize for Probabilities<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (c, p) in self.classes.iter().zip(self.values) {
            map.serialize_entry(c, &f64::from(*p))?;
        }
        map.end()
    }
}

/// One window's answer, as the thesis' `PredictionResponse`.
fn prediction_json(state: &ServeState, probabilities: &[f32], with_probabilities: bool) -> Value {
    let classes = &state.card.classes;
    let (id, confidence) = argmax(probabilities).unwrap_or((0, f32::NAN));
    let probs = with_probabilities
        .then(|| serde_json::to_value(Probabilities { classes, values: probabilities }).unwrap_or(Value::Null));
    json!({
        "activity": classes.get(id).cloned().unwrap_or_default(),
        "activity_id": id,
        "confidence": f64::from(confidence),
        "probabilities": probs,
        "timestamp": iso_now(),
        "model_version": state.card.version,
    })
}

/// Checks one window (`[[Ax, Ay, Az, Gx, Gy, Gz] × window]`) and appends its rows to `raw`; `loc` names it.
fn window_rows(state: &ServeState, window: &Value, loc: &[Value], raw: &mut Vec<f32>) -> Result<(), ApiError> {
    let (size, channels) = (state.card.window, state.card.channels.len());
    let rows = window.as_array().ok_or_else(|| ApiError::invalid(loc, "a window must be a list of timesteps"))?;
    if rows.len() != size {
        return Err(ApiError::invalid(loc, format!("Window must have {size} timesteps, got {}", rows.len())));
    }
    for (t, row) in rows.iter().enumerate() {
        let mut at = loc.to_vec();
        at.push(json!(t));
        let values = row.as_array().ok_or_else(|| ApiError::invalid(&at, "a timestep must be a list of numbers"))?;
        if values.len() != channels {
            return Err(ApiError::invalid(
                &at,
                format!(
                    "Each timestep must have {channels} sensor values ({}), timestep {t} has {}",
                    state.card.channels.join(", "),
                    values.len()
                ),
            ));
        }
        for (c, v) in values.iter().enumerate() {
            let x = v.as_f64().map(|x| x as f32).filter(|x| x.is_finite());
            match x {
                Some(x) => raw.push(x),
                None => {
                    let mut at = at.clone();
                    at.push(json!(c));
                    return Err(ApiError::invalid(
                        &at,
                        format!("{} at timestep {t} is {v}, not a finite number", state.card.channels[c]),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Scales `raw` (n windows of rows) and runs the model on a pool session: probabilities and the model's time.
async fn classify(state: &Arc<ServeState>, raw: Vec<f32>) -> Result<(Vec<f32>, f64), ApiError> {
    let scaler = Arc::clone(&state.scaler);
    let result = state
        .pool
        .run(move |engine| scale_and_predict(engine, &scaler, &raw))
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    result.map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))
}

/// Scales `raw` (whole windows of rows) with the card's scaler and runs the model: probabilities and the model's
/// time. The one model call of `/predict/batch` and of the batcher's shared calls.
pub(super) fn scale_and_predict(
    engine: &mut crate::model::Engine,
    scaler: &Scaler,
    raw: &[f32],
) -> Result<(Vec<f32>, f64), String> {
    let mut input = vec![0.0f32; raw.len()];
    let per = engine.window_len().max(1);
    for (src, dst) in raw.chunks(per).zip(input.chunks_mut(per)) {
        scaler.fill_rows(src, dst).map_err(|e| e.to_string())?;
    }
    let t = Instant::now();
    let out = engine.predict(&input).map_err(|e| e.to_string())?;
    Ok((out, t.elapsed().as_secs_f64()))
}

/// Counts a batch of predictions in the metrics; `sequence` = consecutive windows of one recording.
fn observe(state: &ServeState, probabilities: &[f32], model_s: f64, started: Instant, sequence: bool) {
    let m = &state.metrics;
    let k = state.card.classes.len().max(1);
    let mut confidences = Vec::new();
    let mut entropy = 0.0;
    let mut predicted = Vec::new();
    for p in probabilities.chunks(k) {
        let (id, c) = argmax(p).unwrap_or((0, f32::NAN));
        confidences.push(f64::from(c));
        predicted.push(id);
        let name = state.card.classes.get(id).map_or("", String::as_str);
        let id_text = id.to_string();
        m.predictions.with(&[("activity_class", &id_text), ("activity", name)], |v| *v += 1.0);
        m.confidence_histogram.observe(f64::from(c));
        entropy += crate::session::metrics::normalised_entropy(p);
    }
    let n = confidences.len();
    if n == 0 {
        return;
    }
    m.api_requests.inc_by(1);
    m.samples_processed.inc_by(n as u64);
    m.latency_seconds.observe(model_s);
    m.latency_ms.observe(started.elapsed().as_secs_f64() * 1000.0);
    m.confidence_mean.set(confidences.iter().sum::<f64>() / n as f64);
    m.entropy_mean.set(entropy / n as f64);
    if sequence && n > 1 {
        let flips = predicted.windows(2).filter(|w| w[0] != w[1]).count();
        m.flip_rate.set(flips as f64 / (n - 1) as f64);
    }
}

/// `POST /predict`: one window as JSON (the thesis' request), or a sensor CSV (`text/csv`) → every window.
pub async fn predict(
    State(state): State<Arc<ServeState>>,
    headers: HeaderMap,
    raw_body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let bytes = body(&state, raw_body)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media.as_str() {
        "text/csv" | "application/csv" | "text/plain" => {
            let csv_out =
                headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
            predict_csv(state, bytes, csv_out, started).await
        }
        "application/json" | "" => {
            let request: Value = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::invalid(&[], format!("the body is not valid JSON: {e}")))?;
            let window =
                request.get("window").ok_or_else(|| ApiError::invalid(&[json!("window")], "Field required"))?;
            let with_probabilities = flag(&request, "return_probabilities")?;
            let mut raw = Vec::with_capacity(state.card.window * state.card.channels.len());
            window_rows(&state, window, &[json!("window")], &mut raw)?;
            let (probabilities, model_s) =
                state.batcher.classify(raw).await.map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
            observe(&state, &probabilities, model_s, started, false);
            Ok(axum::Json(prediction_json(&state, &probabilities, with_probabilities)).into_response())
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content type `{other}` is not accepted: send application/json (one window) or text/csv (a sensor file)"
            ),
        )),
    }
}

/// A boolean field that may be missing (false).
fn flag(request: &Value, name: &str) -> Result<bool, ApiError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::invalid(&[json!(name)], format!("must be true or false, got {other}"))),
    }
}

/// `POST /predict/batch`: `{"windows": [...], "return_probabilities"}`.
pub async fn predict_batch(
    State(state): State<Arc<ServeState>>,
    raw_body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let bytes = body(&state, raw_body)?;
    let request: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid(&[], format!("the body is not valid JSON: {e}")))?;
    let windows = request
        .get("windows")
        .ok_or_else(|| ApiError::invalid(&[json!("windows")], "Field required"))?
        .as_array()
        .ok_or_else(|| ApiError::invalid(&[json!("windows")], "must be a list of windows"))?;
    if windows.is_empty() {
        return Err(ApiError::invalid(&[json!("windows")], "must hold at least one window"));
    }
    let with_probabilities = flag(&request, "return_probabilities")?;
    let per = state.card.window * state.card.channels.len();
    let mut raw = Vec::with_capacity(windows.len() * per);
    for (i, w) in windows.iter().enumerate() {
        window_rows(&state, w, &[json!("windows"), json!(i)], &mut raw)?;
    }
    let (probabilities, model_s) = classify(&state, raw).await?;
    observe(&state, &probabilities, model_s, started, true);
    let k = state.card.classes.len().max(1);
    let predictions: Vec<Value> =
        probabilities.chunks(k).map(|p| prediction_json(&state, p, with_probabilities)).collect();
    Ok(axum::Json(json!({
        "predictions": predictions,
        "total_windows": predictions.len(),
        "processing_time_ms": started.elapsed().as_secs_f64() * 1000.0,
    }))
    .into_response())
}

/// A CSV body written to a temporary file (the loader reads files: two passes, line numbers in its messages).
fn spool(bytes: &[u8]) -> Result<tempfile::TempPath, ApiError> {
    use std::io::Write as _;
    let failed =
        |e: std::io::Error| ApiError::new(StatusCode::INSUFFICIENT_STORAGE, format!("cannot store the upload: {e}"));
    let mut file = tempfile::Builder::new().prefix("har-monitor-upload-").suffix(".csv").tempfile().map_err(failed)?;
    file.write_all(bytes).and_then(|()| file.flush()).map_err(failed)?;
    Ok(file.into_temp_path())
}

/// What scoring an uploaded file gave.
struct Scored {
    predictions: Vec<WindowPrediction>,
    total_rows: usize,
    sensor_columns: Vec<String>,
    notes: Vec<String>,
    drift: Option<crate::monitor::ChunkReport>,
    model_seconds: f64,
}

/// Scores a spooled CSV on a pool session, with the drift monitor over all its windows when there is a baseline.
async fn score_csv(state: &Arc<ServeState>, path: tempfile::TempPath, name: String) -> Result<Scored, ApiError> {
    let card = state.card.clone();
    let baseline = state.baseline.clone();
    let spooled = path.to_string_lossy().into_owned();
    let result = state
        .pool
        .run_all(move |engines| -> Result<Scored, BatchError> {
            let scorer = open_scoring(&card, &path, &BatchOptions::default())?;
            let report = scorer.load_report().clone();
            let mut monitor = match &baseline {
                Some(b) => Some(
                    DriftMonitor::new(
                        Arc::clone(b),
                        DriftConfig { chunk_windows: usize::MAX / 4, ..Default::default() },
                    )
                    .map_err(|e| BatchError::Output(e.to_string()))?,
                ),
                None => None,
            };
            let mut predictions = Vec::new();
            let summary = scorer.run_on(engines, &mut |w| {
                if let Some(m) = monitor.as_mut() {
                    m.push(w.observation()).map_err(|e| BatchError::Output(e.to_string()))?;
                }
                predictions.push(w.prediction.clone());
                Ok(())
            })?;
            let drift = monitor.as_mut().and_then(DriftMonitor::finish);
            let sensor_columns = report.columns.channels.iter().map(|(_, column)| column.clone()).collect();
            let mut notes = summary.report_notes();
            notes.retain(|n| !n.is_empty());
            drop(path);
            Ok(Scored {
                predictions,
                total_rows: report.rows_read,
                sensor_columns,
                notes,
                drift,
                model_seconds: summary.timing.inference,
            })
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    result.map_err(|e| {
        let status =
            if e.is_input_error() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::INTERNAL_SERVER_ERROR };
        // The loader names the spooled temporary file; the client knows it by its own name.
        ApiError::new(status, e.to_string().replace(&spooled, &name))
    })
}

async fn predict_csv(
    state: Arc<ServeState>,
    bytes: Bytes,
    csv_out: bool,
    started: Instant,
) -> Result<Response, ApiError> {
    let path = spool(&bytes)?;
    let scored = score_csv(&state, path, "the CSV body".into()).await?;
    let k = state.card.classes.len();
    let probabilities: Vec<f32> = scored.predictions.iter().flat_map(|p| p.probabilities.iter().copied()).collect();
    observe(&state, &probabilities, scored.model_seconds, started, true);
    if csv_out {
        let columns =
            PredictionColumns { true_label: scored.predictions.iter().any(|p| p.true_label.is_some()), user: false };
        let mut writer = PredictionWriter::new(Vec::new(), &state.card.classes, columns)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        for p in &scored.predictions {
            writer.write(p).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        }
        let text = writer.finish().map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response());
    }
    let windows: Vec<Value> = scored
        .predictions
        .iter()
        .map(|p| {
            let id = p.predicted();
            json!({
                "window": p.window,
                "start_row": p.start_row,
                "end_row": p.end_row,
                "t_start": p.t_start,
                "t_end": p.t_end,
                "predicted": state.card.classes.get(id),
                "activity_id": id,
                "confidence": f64::from(p.confidence()),
                "probabilities": Probabilities { classes: &state.card.classes, values: &p.probabilities[..k.min(p.probabilities.len())] },
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "total_rows": scored.total_rows,
        "windows": windows,
        "total_windows": windows.len(),
        "processing_time_ms": started.elapsed().as_secs_f64() * 1000.0,
        "model_version": state.card.version,
        "notes": scored.notes,
    }))
    .into_response())
}

/// `POST /api/upload`: a multipart `file` with a sensor CSV → the thesis' `UploadResult`.
pub async fn upload(
    State(state): State<Arc<ServeState>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected a multipart/form-data body with a `file` field: {e}"),
        )
    })?;
    let mut file: Option<(String, Bytes)> = None;
    loop {
        let field = multipart.next_field().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.max_body)
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, format!("cannot read the multipart body: {e}"))
            }
        })?;
        let Some(field) = field else { break };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("unknown.csv").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.max_body)
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, format!("cannot read the `file` field: {e}"))
            }
        })?;
        file = Some((name, bytes));
        break;
    }
    let Some((filename, bytes)) = file else {
        return Err(ApiError::invalid(&[json!("file")], "Field required"));
    };
    let path = spool(&bytes)?;
    let scored = score_csv(&state, path, filename.clone()).await?;
    let classes = &state.card.classes;
    let predicted: Vec<usize> = scored.predictions.iter().map(WindowPrediction::predicted).collect();
    let confidences: Vec<f64> = scored.predictions.iter().map(|p| f64::from(p.confidence())).collect();
    let predictions: Vec<Value> = scored
        .predictions
        .iter()
        .map(|p| {
            let id = p.predicted();
            json!({"window": p.window, "activity": classes.get(id), "activity_id": id, "confidence": round(f64::from(p.confidence()), 4)})
        })
        .collect();
    // Count per class, most frequent first; ties in order of first appearance (as the thesis' sorted Counter).
    let mut order: Vec<(usize, u64)> = Vec::new();
    for &id in &predicted {
        match order.iter_mut().find(|(c, _)| *c == id) {
            Some((_, n)) => *n += 1,
            None => order.push((id, 1)),
        }
    }
    order.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let mut summary = serde_json::Map::new();
    for (id, n) in order {
        summary.insert(classes.get(id).cloned().unwrap_or_default(), json!(n));
    }
    let probabilities: Vec<f32> = scored.predictions.iter().flat_map(|p| p.probabilities.iter().copied()).collect();
    let monitoring = super::monitoring::layers(&state, &predicted, &confidences, scored.drift.as_ref());
    observe(&state, &probabilities, scored.model_seconds, started, true);
    let n = confidences.len().max(1) as f64;
    let mean = confidences.iter().sum::<f64>() / n;
    let std = (confidences.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n).sqrt();
    let min = confidences.iter().copied().fold(f64::INFINITY, f64::min);
    let max = confidences.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok(axum::Json(json!({
        "filename": filename,
        "total_rows": scored.total_rows,
        "sensor_columns": scored.sensor_columns,
        "windows_created": predictions.len(),
        "processing_time_ms": round(started.elapsed().as_secs_f64() * 1000.0, 1),
        "predictions": predictions,
        "activity_summary": summary,
        "monitoring": monitoring,
        "confidence_stats": {"mean": round(mean, 4), "std": round(std, 4), "min": round(min, 4), "max": round(max, 4)},
        "notes": scored.notes,
    }))
    .into_response())
}

/// `GET /health` and `/api/health`.
pub async fn health(State(state): State<Arc<ServeState>>) -> Response {
    axum::Json(json!({
        "status": "healthy",
        "model_loaded": !state.pool.is_empty(),
        "baseline_loaded": state.baseline.is_some(),
        "timestamp": iso_now(),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
    }))
    .into_response()
}

/// `GET /model-info`, `/model/info`, `/api/model/info`: both of the thesis apps' key sets, and the card.
pub async fn model_info(State(state): State<Arc<ServeState>>) -> Response {
    let card = &state.card;
    let classes: serde_json::Map<String, Value> =
        card.classes.iter().enumerate().map(|(i, c)| (i.to_string(), json!(c))).collect();
    axum::Json(json!({
        "model_name": card.name,
        "model_version": card.version,
        "name": card.name,
        "version": card.version,
        "input_shape": [card.window, card.channels.len()],
        "output_classes": card.classes.len(),
        "activity_classes": classes,
        "loaded_at": state.loaded_at,
        "model_path": state.model_path.display().to_string(),
        "sessions": state.pool.len(),
        "onnx_runtime": state.runtime_version,
        "scaler_applied": true,
        "card": serde_json::to_value(card).unwrap_or(Value::Null),
    }))
    .into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<Arc<ServeState>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}

/// `GET /openapi.json`.
pub async fn openapi(State(state): State<Arc<ServeState>>) -> Response {
    axum::Json(super::openapi::spec(&state.card)).into_response()
}

/// Anything else.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}
