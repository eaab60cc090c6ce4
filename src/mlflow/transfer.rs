//! Moving models between the local files and an MLflow model registry: `push` logs a model's files (ONNX, card,
//! drift baseline) as the artifacts of a run and registers a version from them; `download_version` resolves a
//! version (by number or alias) with `get-download-uri`, downloads its files into a temporary folder and checks
//! them (the card is there, the ONNX loads against it) before anything is handed on.

use std::path::{Path, PathBuf};

use super::client::{ArtifactRoot, Client, FileInfo, ModelVersion, RunInfo};
use super::error::{MlflowError, Result};
use crate::model::{Engine, EngineOptions, ModelCard};

/// Artifacts of a pushed model go under this folder of the run.
pub const MODEL_ARTIFACT_DIR: &str = "model";
/// The experiment runs are logged to when none is given: the thesis' own (`config/mlflow_config.yaml`).
pub const DEFAULT_EXPERIMENT: &str = "anxiety-activity-recognition";
/// The most files looked at under a version's artifacts.
const MAX_FILES: usize = 10_000;

/// The run tags the thesis puts on every run (`config/mlflow_config.yaml`, `run_defaults.tags`).
pub fn thesis_tags(card: Option<&ModelCard>) -> Vec<(String, String)> {
    let model_type = card
        .and_then(|c| c.provenance.get("model_type").or_else(|| c.provenance.get("architecture")))
        .and_then(|v| v.as_str())
        .unwrap_or("1D-CNN-BiLSTM");
    vec![
        ("project".into(), "MasterArbeit_MLops".into()),
        ("model_type".into(), model_type.into()),
        ("task".into(), "activity-recognition".into()),
        ("mlflow.source.name".into(), "har-monitor".into()),
        ("mlflow.source.type".into(), "LOCAL".into()),
        ("har_monitor.version".into(), env!("CARGO_PKG_VERSION").into()),
    ]
}

/// Which version to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSelector {
    Version(String),
    Alias(String),
}

impl std::fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionSelector::Version(v) => write!(f, "version {v}"),
            VersionSelector::Alias(a) => write!(f, "alias `{a}`"),
        }
    }
}

/// The local files of a model: the ONNX, its card beside it, and its drift baseline when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFiles {
    pub model: PathBuf,
    pub card: PathBuf,
    pub baseline: Option<PathBuf>,
}

impl ModelFiles {
    /// The files of the model at `model`; its card must load.
    pub fn for_model(model: &Path) -> std::result::Result<(ModelFiles, ModelCard), crate::model::CardError> {
        let card = ModelCard::load_for_model(model)?;
        let baseline = crate::monitor::Baseline::path_for_model(model, &card);
        let files = ModelFiles {
            model: model.to_path_buf(),
            card: ModelCard::path_for_model(model),
            baseline: baseline.is_file().then_some(baseline),
        };
        Ok((files, card))
    }

    fn all(&self) -> Vec<&Path> {
        let mut out = vec![self.model.as_path(), self.card.as_path()];
        out.extend(self.baseline.as_deref());
        out
    }
}

/// What to push.
#[derive(Debug, Clone)]
pub struct PushRequest {
    pub model: PathBuf,
    /// The registered model's name (default: the card's `name`).
    pub name: Option<String>,
    pub alias: Option<String>,
    pub experiment: String,
    /// Free text for the version's description.
    pub description: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq)]
pub struct PushOutcome {
    pub name: String,
    pub version: String,
    pub run_id: String,
    pub experiment_id: String,
    pub source: String,
    /// The artifacts uploaded (path under the run's artifacts, bytes).
    pub files: Vec<(String, u64)>,
    pub alias: Option<String>,
    pub run_page: String,
}

/// Logs the model's files as artifacts of a new run, registers a version of `name` from them and sets the alias.
/// The model is loaded first (the card must fit the graph), so a model that cannot run is never pushed. A failure
/// after the run was created marks the run `FAILED`; no version is registered unless every file was uploaded.
pub fn push(client: &Client, request: &PushRequest, engine: &EngineOptions) -> Result<PushOutcome> {
    let what = format!("model {}", request.model.display());
    let invalid = |reason: String| MlflowError::InvalidModel { url: client.url().into(), what: what.clone(), reason };
    let (files, card) = ModelFiles::for_model(&request.model).map_err(|e| invalid(e.to_string()))?;
    Engine::load(&request.model, engine).map_err(|e| invalid(e.to_string()))?;
    let name = request.name.clone().unwrap_or_else(|| card.name.clone());
    if name.trim().is_empty() {
        return Err(invalid("no --name given and the card has no `name`".into()));
    }
    let sha256 = sha256_file(&files.model)?;

    let experiment = client.get_or_create_experiment(&request.experiment)?;
    let mut tags = thesis_tags(Some(&card));
    tags.push(("har_monitor.kind".into(), "push".into()));
    let run = client.create_run(&experiment.experiment_id, &format!("push {name}"), &tags)?;
    let result = push_into_run(client, &run, &files, &card, &name, &sha256, request);
    let status = if result.is_ok() { "FINISHED" } else { "FAILED" };
    let ended = client.terminate_run(&run.run_id, status);
    let mut outcome = result?;
    ended?;
    outcome.experiment_id = experiment.experiment_id.clone();
    outcome.run_page = client.run_page(&experiment.experiment_id, &run.run_id);
    Ok(outcome)
}

fn push_into_run(
    client: &Client,
    run: &RunInfo,
    files: &ModelFiles,
    card: &ModelCard,
    name: &str,
    sha256: &str,
    request: &PushRequest,
) -> Result<PushOutcome> {
    let root = ArtifactRoot::from_uri(&run.artifact_uri).ok_or_else(|| MlflowError::NotProxied {
        url: client.url().into(),
        what: format!("run {}", run.run_id),
        uri: run.artifact_uri.clone(),
    })?;
    let params = vec![
        ("model_name".to_string(), card.name.clone()),
        ("model_version".to_string(), card.version.clone()),
        ("model_sha256".to_string(), sha256.to_string()),
        ("model_file".to_string(), file_name(&files.model)),
        ("window_size".to_string(), card.window.to_string()),
        ("step_size".to_string(), card.step().to_string()),
        ("sample_rate_hz".to_string(), card.sample_rate_hz.to_string()),
        ("n_classes".to_string(), card.classes.len().to_string()),
        ("channels".to_string(), card.channels.join(",")),
    ];
    client.log_batch(&run.run_id, &[], &params, &[])?;
    let mut uploaded = Vec::new();
    for path in files.all() {
        let rel = format!("{MODEL_ARTIFACT_DIR}/{}", file_name(path));
        client.upload_artifact(&root.join(&rel), path)?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        uploaded.push((rel, size));
    }
    client.ensure_registered_model(name, "HAR Monitor model (ONNX + har-model-card)")?;
    let source = format!("{}/{MODEL_ARTIFACT_DIR}", run.artifact_uri.trim_end_matches('/'));
    let description = request.description.clone().unwrap_or_else(|| {
        format!("{} {} ({}), sha256 {sha256}, pushed by har-monitor", card.name, card.version, file_name(&files.model))
    });
    let version = client.create_model_version(name, &source, &run.run_id, &description)?;
    let version = wait_ready(client, version)?;
    if let Some(alias) = &request.alias {
        client.set_alias(name, alias, &version.version).map_err(|e| MlflowError::Other {
            url: client.url().into(),
            reason: format!(
                "version {} of `{name}` was registered, but the alias `{alias}` could not be set: {e}",
                version.version
            ),
        })?;
    }
    Ok(PushOutcome {
        name: name.to_string(),
        version: version.version,
        run_id: run.run_id.clone(),
        experiment_id: run.experiment_id.clone(),
        source,
        files: uploaded,
        alias: request.alias.clone(),
        run_page: String::new(),
    })
}

/// Waits (up to a minute) while the server says the version is still being registered.
fn wait_ready(client: &Client, mut version: ModelVersion) -> Result<ModelVersion> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while version.status == "PENDING_REGISTRATION" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        version = client.get_model_version(&version.name, &version.version)?;
    }
    if version.status == "FAILED_REGISTRATION" {
        return Err(MlflowError::Other {
            url: client.url().into(),
            reason: format!("registering version {} of `{}` failed on the server", version.version, version.name),
        });
    }
    Ok(version)
}

/// The version a selector names.
pub fn resolve_version(client: &Client, name: &str, selector: &VersionSelector) -> Result<ModelVersion> {
    match selector {
        VersionSelector::Version(v) => client.get_model_version(name, v),
        VersionSelector::Alias(a) => client.get_version_by_alias(name, a),
    }
}

/// Where on the artifact proxy the files of `uri` are: `mlflow-artifacts:` directly; `runs:/RUN/PATH` through the
/// run's artifact URI; `models:/m-ID` (MLflow 3's logged models) through the logged model's; `models:/NAME/V`
/// through that version's download URI.
pub fn resolve_artifact_root(client: &Client, uri: &str, what: &str) -> Result<ArtifactRoot> {
    resolve_depth(client, uri, what, 0)
}

fn resolve_depth(client: &Client, uri: &str, what: &str, depth: usize) -> Result<ArtifactRoot> {
    let not_proxied =
        || MlflowError::NotProxied { url: client.url().into(), what: what.to_string(), uri: uri.to_string() };
    if depth > 4 {
        return Err(not_proxied());
    }
    if let Some(root) = ArtifactRoot::from_uri(uri) {
        return Ok(root);
    }
    if let Some(rest) = uri.strip_prefix("runs:/") {
        let rest = rest.trim_start_matches('/');
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let run = client.get_run(run_id)?;
        return Ok(resolve_depth(client, &run.info.artifact_uri, what, depth + 1)?.join(path));
    }
    if let Some(rest) = uri.strip_prefix("models:/") {
        let rest = rest.trim_start_matches('/');
        if let Some(id) = rest.strip_prefix("m-").map(|_| rest.split('/').next().unwrap_or(rest)) {
            let artifact_uri = client.logged_model_artifact_uri(id)?;
            let path = rest.strip_prefix(id).unwrap_or("");
            return Ok(resolve_depth(client, &artifact_uri, what, depth + 1)?.join(path));
        }
        let (model, version) = rest.split_once('/').unwrap_or((rest, ""));
        let selector = match version.strip_prefix('@') {
            Some(alias) => VersionSelector::Alias(alias.to_string()),
            None => VersionSelector::Version(version.to_string()),
        };
        let target = resolve_version(client, model, &selector)?;
        let inner = client.download_uri(model, &target.version)?;
        return resolve_depth(client, &inner, what, depth + 1);
    }
    Err(not_proxied())
}

/// A version's files downloaded into a temporary folder and checked. The folder goes when this is dropped.
#[derive(Debug)]
pub struct DownloadedVersion {
    pub dir: tempfile::TempDir,
    pub files: ModelFiles,
    pub card: ModelCard,
    pub version: ModelVersion,
    /// What `get-download-uri` said.
    pub download_uri: String,
    /// Every file under the version's artifacts (relative paths), for messages.
    pub listing: Vec<String>,
}

impl DownloadedVersion {
    /// `mlflow <url> <name> v<version>`: where it came from, for the local registry.
    pub fn source_text(&self, client: &Client) -> String {
        format!("mlflow {} {} v{}", client.url(), self.version.name, self.version.version)
    }
}

/// Resolves, downloads and checks one version. `temp_parent`: where the temporary folder goes (default: the
/// system's temp dir).
pub fn download_version(
    client: &Client,
    name: &str,
    selector: &VersionSelector,
    engine: &EngineOptions,
    temp_parent: Option<&Path>,
) -> Result<DownloadedVersion> {
    let version = resolve_version(client, name, selector)?;
    let what = format!("version {} of `{name}`", version.version);
    let download_uri = client.download_uri(name, &version.version)?;
    let root = resolve_artifact_root(client, &download_uri, &what)?;
    let listing = client.list_files_recursive(&root, MAX_FILES)?;
    let names: Vec<String> = listing.iter().map(|f| f.path.clone()).collect();
    let (onnx, card_rel) = pick_model(client, &format!("{what} (artifacts at {download_uri})"), &listing)?;

    let dir = match temp_parent {
        Some(parent) => tempfile::Builder::new().prefix(".har-mlflow-").tempdir_in(parent),
        None => tempfile::Builder::new().prefix("har-mlflow-").tempdir(),
    }
    .map_err(|source| MlflowError::Io {
        action: "cannot create a temporary folder in",
        path: temp_parent.map_or_else(std::env::temp_dir, Path::to_path_buf),
        source,
    })?;
    let local = |rel: &str| dir.path().join(rel.rsplit('/').next().unwrap_or(rel));
    let model_path = local(&onnx);
    let card_path = local(&card_rel);
    client.download_artifact(&root.join(&onnx), &model_path)?;
    client.download_artifact(&root.join(&card_rel), &card_path)?;
    // Messages name the artifact, not the temporary copy (gone when this returns).
    let temp_text = dir.path().display().to_string();
    let invalid = |reason: String| MlflowError::InvalidModel {
        url: client.url().into(),
        what: what.clone(),
        reason: reason.replace(&format!("{temp_text}/"), &format!("{}/", download_uri.trim_end_matches('/'))),
    };
    let card = ModelCard::load_for_model(&model_path).map_err(|e| invalid(format!("its card: {e}")))?;
    // The baseline the card names (or `<stem>.baseline.json`), when the version has it beside the ONNX.
    let baseline_local = crate::monitor::Baseline::path_for_model(&model_path, &card);
    let baseline_name = file_name(&baseline_local);
    let dir_of_onnx = onnx.rsplit_once('/').map_or("", |(d, _)| d);
    let baseline_rel = if dir_of_onnx.is_empty() { baseline_name } else { format!("{dir_of_onnx}/{baseline_name}") };
    let baseline = if names.contains(&baseline_rel) {
        client.download_artifact(&root.join(&baseline_rel), &baseline_local)?;
        Some(baseline_local)
    } else {
        None
    };
    Engine::load(&model_path, engine).map_err(|e| invalid(format!("its ONNX model does not load: {e}")))?;
    Ok(DownloadedVersion {
        dir,
        files: ModelFiles { model: model_path, card: card_path, baseline },
        card,
        version,
        download_uri,
        listing: names,
    })
}

/// The one `.onnx` with a card beside it.
fn pick_model(client: &Client, what: &str, listing: &[FileInfo]) -> Result<(String, String)> {
    let names: Vec<&str> = listing.iter().map(|f| f.path.as_str()).collect();
    let shown = || if names.is_empty() { "none (nothing is stored there)".to_string() } else { names.join(", ") };
    let onnx: Vec<&str> = names.iter().copied().filter(|n| n.ends_with(".onnx")).collect();
    if onnx.is_empty() {
        return Err(MlflowError::OnnxMissing { url: client.url().into(), what: what.into(), files: shown() });
    }
    let with_card: Vec<(String, String)> = onnx
        .iter()
        .filter_map(|o| {
            let card = format!("{}.model.json", o.strip_suffix(".onnx").unwrap_or(o));
            names.contains(&card.as_str()).then(|| (o.to_string(), card))
        })
        .collect();
    match with_card.len() {
        0 => Err(MlflowError::CardMissing { url: client.url().into(), what: what.into(), files: shown() }),
        1 => Ok(with_card.into_iter().next().unwrap_or_default()),
        n => Err(MlflowError::Ambiguous {
            url: client.url().into(),
            what: what.into(),
            count: n,
            files: with_card.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).map_err(|source| MlflowError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| MlflowError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// What to pull into the local registry.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub name: String,
    pub selector: VersionSelector,
    /// The local name (default: the MLflow name).
    pub local_name: Option<String>,
    /// A local alias to point at the imported version.
    pub local_alias: Option<String>,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The MLflow version pulled.
    pub version: ModelVersion,
    pub download_uri: String,
    /// The files downloaded (names).
    pub files: Vec<String>,
    pub imported: crate::registry::Imported,
}

/// Downloads and checks a version ([`download_version`], into a temporary folder) and imports it with the source `mlflow <url> <name> v<version>`. On any
/// failure the registry is as it was and the temporary folder is gone.
pub fn pull(
    client: &Client,
    registry: &crate::registry::Registry,
    request: &PullRequest,
    engine: &EngineOptions,
) -> Result<PullOutcome> {
    let downloaded = download_version(client, &request.name, &request.selector, engine, None)?;
    let options = crate::registry::ImportOptions {
        name: Some(request.local_name.clone().unwrap_or_else(|| request.name.clone())),
        alias: request.local_alias.clone(),
        note: None,
        source: Some(downloaded.source_text(client)),
        engine: engine.clone(),
    };
    let imported =
        registry.import_model(&downloaded.files.model, &options).map_err(|source| MlflowError::Registry {
            what: format!("version {} of `{}` from {}", downloaded.version.version, request.name, client.url()),
            source: Box::new(source),
        })?;
    let files = downloaded.files.all().iter().map(|p| file_name(p)).collect();
    Ok(PullOutcome {
        version: downloaded.version.clone(),
        download_uri: downloaded.download_uri.clone(),
        files,
        imported,
    })
}
