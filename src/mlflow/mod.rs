//! MLflow: a client of a tracking server's REST API and artifact proxy (`client`), pushing and pulling models
//! through its model registry (`transfer`: versions, aliases, `get-download-uri`), and logging an evaluation under
//! the thesis' metric, tag and artifact names (`evaluation`). Blocking HTTP (`ureq`), no Python at run time; the
//! app runs these calls on a background thread (`session::mlflow`).

pub mod client;
pub mod error;
pub mod evaluation;
pub mod transfer;

pub use client::{Client, ModelVersion, RegisteredModel};
pub use error::MlflowError;
pub use transfer::{DEFAULT_EXPERIMENT, DownloadedVersion, PushOutcome, PushRequest, VersionSelector};
