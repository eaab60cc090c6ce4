//! What can go wrong talking to an MLflow tracking server. Every message names the server and what was asked
//! of it; an error MLflow itself reports carries its `error_code` and `message`.

use std::path::PathBuf;

/// An MLflow failure. All of them are faults of what the user pointed at (the URL, the model, the version, the
/// server's contents), so the CLI exits with 2.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    #[error("tracking URI `{uri}`: {reason}")]
    BadUri { uri: String, reason: String },
    #[error(
        "cannot reach the MLflow server at {url} ({endpoint}): {reason}; is `mlflow server` running there (check the \
         host, the port and --tracking-uri / MLFLOW_TRACKING_URI)?"
    )]
    Unreachable { url: String, endpoint: String, reason: String },
    /// MLflow answered with its JSON error (`{"error_code": ..., "message": ...}`).
    #[error("MLflow at {url}: {endpoint} failed with HTTP {status} {error_code}: {message}")]
    Api { url: String, endpoint: String, status: u16, error_code: String, message: String },
    /// An HTTP error that is not MLflow's JSON (a proxy, a different service on that port).
    #[error("MLflow at {url}: {endpoint} failed with HTTP {status}: {body} (is this an MLflow tracking server?)")]
    Http { url: String, endpoint: String, status: u16, body: String },
    #[error("MLflow at {url}: {endpoint} answered something unexpected: {reason}")]
    BadResponse { url: String, endpoint: String, reason: String },
    #[error("MLflow at {url}: there is no registered model `{name}`{known}")]
    ModelNotFound { url: String, name: String, known: String },
    #[error("MLflow at {url}: registered model `{name}` has no version {version}{known}")]
    VersionNotFound { url: String, name: String, version: String, known: String },
    #[error("MLflow at {url}: registered model `{name}` has no alias `{alias}` ({known})")]
    AliasMissing { url: String, name: String, alias: String, known: String },
    #[error("MLflow at {url}: artifact `{path}` is missing ({endpoint} answered HTTP {status}{detail})")]
    ArtifactMissing { url: String, path: String, endpoint: String, status: u16, detail: String },
    #[error(
        "MLflow at {url}: the artifacts of {what} are at `{uri}`, which this client cannot read: only the tracking \
         server's artifact proxy (`mlflow-artifacts:` URIs; start the server with --artifacts-destination, the \
         default of `mlflow server`) is supported"
    )]
    NotProxied { url: String, what: String, uri: String },
    #[error("MLflow at {url}: {what} has no model card (`<stem>.model.json` beside `<stem>.onnx`); its files: {files}")]
    CardMissing { url: String, what: String, files: String },
    #[error("MLflow at {url}: {what} has no ONNX model (`*.onnx`); its files: {files}")]
    OnnxMissing { url: String, what: String, files: String },
    #[error(
        "MLflow at {url}: {what} has {count} ONNX models with a card beside them ({files}); cannot tell which to use"
    )]
    Ambiguous { url: String, what: String, count: usize, files: String },
    #[error("MLflow at {url}: {what} cannot be used: {reason}")]
    InvalidModel { url: String, what: String, reason: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("MLflow at {url}: {reason}")]
    Other { url: String, reason: String },
    /// The downloaded version could not be imported into the local registry (nothing was added to it).
    #[error("{what} was downloaded and checked, but importing it into the local registry failed: {source}")]
    Registry {
        what: String,
        #[source]
        source: Box<crate::registry::RegistryError>,
    },
}

impl MlflowError {
    /// MLflow's `error_code`, when the server gave one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            MlflowError::Api { error_code, .. } => Some(error_code),
            _ => None,
        }
    }

    /// The server said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            MlflowError::Api { error_code, status, .. } => error_code == "RESOURCE_DOES_NOT_EXIST" || *status == 404,
            MlflowError::Http { status, .. } => *status == 404,
            MlflowError::ModelNotFound { .. }
            | MlflowError::VersionNotFound { .. }
            | MlflowError::AliasMissing { .. }
            | MlflowError::ArtifactMissing { .. } => true,
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, MlflowError>;
