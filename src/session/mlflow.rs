//! What the MLflow panel knows: the tracking server's URL, its registered models with their versions and aliases
//! (listed on a background thread), and the pull under way (download, check, import into the local registry, on
//! its own thread). Each job is polled once a frame; `wake` is called when it ends.

use std::sync::mpsc;
use std::time::Instant;

use crate::mlflow::client::Client;
use crate::mlflow::transfer::{self, PullRequest, VersionSelector};
use crate::model::EngineOptions;
use crate::registry::Registry;

/// One version as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub version: String,
    pub aliases: Vec<String>,
    pub source: String,
    pub run_id: String,
    /// Creation time, `YYYY-MM-DD HH:MM UTC`.
    pub created: String,
    pub status: String,
}

/// A registered model and its versions, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub name: String,
    pub versions: Vec<VersionRow>,
}

/// The server's registry as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub url: String,
    pub models: Vec<ModelRow>,
    /// When it was listed.
    pub at: Instant,
}

/// A pull that completed.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    pub name: String,
    pub version: String,
    /// `NAME@V` in the local registry.
    pub local: String,
    /// False when the same bytes were already there.
    pub created: bool,
    /// The stored `.onnx`.
    pub model_path: std::path::PathBuf,
}

/// A background job: not started, running (its result comes on the channel), or done.
#[derive(Debug, Default)]
pub enum Job<T> {
    #[default]
    Idle,
    Running {
        since: Instant,
        what: String,
        result: mpsc::Receiver<Result<T, String>>,
    },
    Done(Result<T, String>),
}

impl<T> Job<T> {
    pub fn is_running(&self) -> bool {
        matches!(self, Job::Running { .. })
    }

    /// Starts `work` on its own thread (a job under way is left to finish).
    fn start(
        &mut self,
        what: String,
        wake: impl Fn() + Send + 'static,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) where
        T: Send + 'static,
    {
        if self.is_running() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("har-mlflow".into()).spawn(move || {
            let _ = tx.send(work());
            wake();
        });
        *self = match spawned {
            Ok(_) => Job::Running { since: Instant::now(), what, result: rx },
            Err(e) => Job::Done(Err(format!("cannot start a thread: {e}"))),
        };
    }

    /// Takes the result when it has come; true when it just did.
    fn poll(&mut self) -> bool {
        if let Job::Running { result, .. } = self {
            match result.try_recv() {
                Ok(done) => {
                    *self = Job::Done(done);
                    return true;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    *self = Job::Done(Err("the job ended without a result".into()));
                    return true;
                }
            }
        }
        false
    }
}

/// The MLflow panel's state.
#[derive(Debug, Default)]
pub struct MlflowState {
    /// The URL in the panel's field.
    pub tracking_uri: String,
    pub listing: Job<Listing>,
    pub pull: Job<Pulled>,
    /// The last pull that completed, until the next starts (for the panel and the model picker to notice).
    pub last_pulled: Option<Pulled>,
}

impl MlflowState {
    /// A state for `tracking_uri` (the remembered one, or `MLFLOW_TRACKING_URI`).
    pub fn new(tracking_uri: Option<String>) -> MlflowState {
        let uri = tracking_uri
            .filter(|u| !u.trim().is_empty())
            .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok())
            .unwrap_or_default();
        MlflowState { tracking_uri: uri, ..Default::default() }
    }

    /// Lists the server's registered models, versions and aliases in the background.
    pub fn refresh(&mut self, wake: impl Fn() + Send + 'static) {
        let uri = self.tracking_uri.trim().to_string();
        self.listing.start(format!("listing {uri}"), wake, move || list(&uri).map_err(|e| e.to_string()));
    }

    /// Pulls `name` version `version` into `registry` in the background.
    pub fn pull(
        &mut self,
        name: &str,
        version: &str,
        registry: Registry,
        engine: EngineOptions,
        wake: impl Fn() + Send + 'static,
    ) {
        let uri = self.tracking_uri.trim().to_string();
        let request = PullRequest {
            name: name.to_string(),
            selector: VersionSelector::Version(version.to_string()),
            local_name: None,
            local_alias: None,
        };
        self.pull.start(format!("pulling {name} v{version}"), wake, move || {
            let client = Client::new(&uri).map_err(|e| e.to_string())?;
            let outcome = transfer::pull(&client, &registry, &request, &engine).map_err(|e| e.to_string())?;
            Ok(Pulled {
                name: request.name.clone(),
                version: outcome.version.version.clone(),
                local: outcome.imported.version.spec(),
                created: outcome.imported.created,
                model_path: outcome.imported.version.model_path.clone(),
            })
        });
    }

    /// Takes finished jobs' results. Returns a pull that has just completed (once).
    pub fn poll(&mut self) -> Option<Pulled> {
        self.listing.poll();
        if self.pull.poll()
            && let Job::Done(Ok(pulled)) = &self.pull
        {
            self.last_pulled = Some(pulled.clone());
            return Some(pulled.clone());
        }
        None
    }

    /// True while anything runs (the UI keeps redrawing for the spinner).
    pub fn busy(&self) -> bool {
        self.listing.is_running() || self.pull.is_running()
    }
}

/// The registered models of the server at `uri`, with their versions and aliases.
pub fn list(uri: &str) -> Result<Listing, crate::mlflow::MlflowError> {
    let client = Client::new(uri)?;
    let mut models = Vec::new();
    for model in client.search_registered_models()? {
        let versions = client
            .search_model_versions(&model.name)?
            .into_iter()
            .map(|v| VersionRow {
                aliases: model.aliases.iter().filter(|a| a.version == v.version).map(|a| a.alias.clone()).collect(),
                created: chrono::DateTime::from_timestamp_millis(v.creation_timestamp)
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default(),
                version: v.version,
                source: v.source,
                run_id: v.run_id,
                status: v.status,
            })
            .collect();
        models.push(ModelRow { name: model.name, versions });
    }
    Ok(Listing { url: client.url().to_string(), models, at: Instant::now() })
}
