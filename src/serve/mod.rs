//! `har-monitor serve`: the model over HTTP, a drop-in for the thesis' FastAPI service (same paths, fields and
//! metric names; docs/FORMATS.md §8), on the same library code as the app and the CLI: CSV loading and
//! `pipeline::batch` for files, the card's scaler and the engine for windows, the drift monitor for layer 3.
//!
//! A third face beside `gui` and `cli`, without egui. Requests are parsed on the async runtime; the model runs on
//! a pool of single-threaded sessions on blocking threads ([`pool::EnginePool`]), so requests run in parallel and
//! never stall the runtime.

pub mod api;
mod batcher;
mod monitoring;
mod openapi;
pub mod pool;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::model::{EngineOptions, ModelCard};
use crate::monitor::Baseline;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub model: PathBuf,
    pub addr: SocketAddr,
    /// Requests must carry `Authorization: Bearer <token>` (health checks excepted).
    pub token: Option<String>,
    pub max_body_bytes: usize,
    /// Model sessions (requests classified at the same time).
    pub workers: usize,
    pub request_timeout: Duration,
    pub engine: EngineOptions,
}

/// What every handler shares.
pub struct ServeState {
    pub card: ModelCard,
    pub model_path: PathBuf,
    pub pool: Arc<pool::EnginePool>,
    /// Single windows go through this (they share model calls under load).
    pub batcher: batcher::Batcher,
    /// The card's scaler, built once.
    pub scaler: Arc<crate::data::Scaler>,
    pub baseline: Option<Arc<Baseline>>,
    pub baseline_path: PathBuf,
    pub metrics: crate::session::metrics::Metrics,
    pub started: Instant,
    pub loaded_at: String,
    pub runtime_version: String,
    pub max_body: usize,
    token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

impl ServeError {
    /// True when the user's input is at fault (a model that does not load, an address that cannot be bound).
    pub fn is_input_error(&self) -> bool {
        match self {
            ServeError::Model(e) => e.is_input_error(),
            ServeError::Bind { .. } => true,
            ServeError::Io(_) => false,
        }
    }
}

impl ServeState {
    /// Loads the model's sessions and its baseline (missing or unusable: layer 3 says SKIPPED and why). Must be
    /// called on a tokio runtime (it starts the batching task).
    pub fn load(config: &ServeConfig) -> Result<ServeState, ServeError> {
        let pool = Arc::new(pool::EnginePool::load(&config.model, config.workers, &config.engine)?);
        let card = pool.card().ok_or_else(|| ServeError::Io(std::io::Error::other("no model session")))?;
        let runtime_version = pool.runtime_version();
        let baseline_path = Baseline::path_for_model(&config.model, &card);
        let baseline =
            Baseline::load(&baseline_path).ok().filter(|b| b.check_card(&card, &baseline_path).is_ok()).map(Arc::new);
        let metrics = crate::session::metrics::Metrics::default();
        *metrics.baseline_file.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(baseline_path.clone());
        let scaler = Arc::new(crate::data::Scaler::from_card(&card));
        let batcher = batcher::Batcher::start(Arc::clone(&pool), Arc::clone(&scaler), card.classes.len());
        Ok(ServeState {
            batcher,
            scaler,
            card,
            model_path: config.model.clone(),
            pool,
            baseline,
            baseline_path,
            metrics,
            started: Instant::now(),
            loaded_at: api::iso_now(),
            runtime_version,
            max_body: config.max_body_bytes,
            token: config.token.clone(),
        })
    }
}

/// Refuses a request without the right bearer token (when one is configured); health checks pass.
async fn authorize(State(state): State<Arc<ServeState>>, request: Request, next: Next) -> Response {
    let Some(token) = state.token.as_deref() else { return next.run(request).await };
    let path = request.uri().path();
    if path == "/health" || path == "/api/health" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Compared in constant time: a wrong token's length and prefix tell nothing.
    let ok = given.is_some_and(|g| {
        g.len() == token.len() && g.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if ok {
        next.run(request).await
    } else {
        let mut response = api::ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer <token>)",
        )
        .into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        response
    }
}

/// Bytes of an over-long body read and dropped before answering 413, so the client sees the answer instead of a
/// reset connection; beyond this the connection is simply closed.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// Answers a body declared larger than the limit (`Content-Length`) with 413 before any handler runs. The body
/// is read and dropped first (up to [`DRAIN_LIMIT`]): a server that answers and closes while the client is still
/// sending makes the client's operating system discard the answer.
async fn limit_body(State(state): State<Arc<ServeState>>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_none_or(|n| n <= state.max_body as u64) {
        return next.run(request).await;
    }
    use http_body_util::BodyExt;
    let mut body = request.into_body();
    let mut read = 0u64;
    while read <= DRAIN_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
    }
    let mut response = api::ApiError::too_large(state.max_body).into_response();
    response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}

/// Counts error answers by endpoint and status (4xx and 5xx), for `har_request_errors_total`.
async fn count_errors(State(state): State<Arc<ServeState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let known = ["/predict", "/predict/batch", "/api/upload", "/metrics", "/model-info", "/health"];
        let endpoint = if known.contains(&path.as_str()) { path.as_str() } else { "other" };
        let code = status.as_u16().to_string();
        state.metrics.request_errors.with(&[("endpoint", endpoint), ("code", &code)], |v| *v += 1.0);
    }
    response
}

/// The routes, with the token check, the body limit and the request timeout.
pub fn router(state: Arc<ServeState>, timeout: Duration) -> Router {
    Router::new()
        .route("/predict", post(api::predict))
        .route("/predict/batch", post(api::predict_batch))
        .route("/api/upload", post(api::upload))
        .route("/health", get(api::health))
        .route("/api/health", get(api::health))
        .route("/model-info", get(api::model_info))
        .route("/model/info", get(api::model_info))
        .route("/api/model/info", get(api::model_info))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(api::openapi))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), limit_body))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), authorize))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), count_errors))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state)
}

/// Serves until `shutdown` completes; requests in flight finish first. `bound` learns the address (port 0 picks
/// a free port).
pub async fn serve(
    config: ServeConfig,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = Arc::new(ServeState::load(&config)?);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind { addr: config.addr, source })?;
    let addr = listener.local_addr()?;
    bound(addr);
    let app = router(state, config.request_timeout);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
