//! A blocking client of MLflow's REST API (`/api/2.0/mlflow/...`) and of the tracking server's artifact proxy
//! (`/api/2.0/mlflow-artifacts/artifacts/...`). Plain HTTP through `ureq`; nothing of MLflow's Python is needed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{MlflowError, Result};

/// How long one request may take (an artifact upload or download included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long connecting may take (a server that is not there answers at once on loopback; a remote host may not).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JSON answer read (MLflow's pages are far smaller).
const MAX_JSON: u64 = 64 * 1024 * 1024;

/// Characters escaped in one segment of an artifact path.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// An experiment (`experiments/get-by-name`, `experiments/create`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_location: String,
}

/// A run's identity and where its artifacts go.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    #[serde(default)]
    pub run_name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub artifact_uri: String,
}

/// A metric as MLflow stores it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub step: i64,
}

/// A parameter or a tag.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// A run (`runs/get`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
}

impl Run {
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data.params.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data.tags.iter().find(|p| p.key == key).map(|p| p.value.as_str())
    }
}

/// An alias of a registered model and the version it points at.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AliasEntry {
    pub alias: String,
    pub version: String,
}

/// A registered model (`registered-models/get`, `registered-models/search`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<AliasEntry>,
    #[serde(default)]
    pub latest_versions: Vec<ModelVersion>,
}

/// A version of a registered model.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub creation_timestamp: i64,
}

impl ModelVersion {
    /// The version number (MLflow sends it as a string).
    pub fn number(&self) -> Option<u32> {
        self.version.parse().ok()
    }
}

/// One entry of an artifact listing; `path` is relative to the listed directory's root as MLflow gives it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FileInfo {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub file_size: Option<i64>,
}

/// MLflow's protobuf JSON writes 64-bit integers as numbers or as strings, depending on the field and version.
fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    Ok(lenient_opt_i64(d)?.unwrap_or(0))
}

fn lenient_opt_i64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

/// A metric to log (`runs/log-batch`).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub key: String,
    pub value: f64,
}

/// Where a set of artifacts lives on the tracking server's artifact proxy: the path under
/// `/api/2.0/mlflow-artifacts/artifacts/` (e.g. `1/<run_id>/artifacts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRoot(pub String);

impl ArtifactRoot {
    /// The proxy path of an `mlflow-artifacts:` URI (`mlflow-artifacts:/1/abc/artifacts`, or with a host:
    /// `mlflow-artifacts://host:5000/1/abc/artifacts`); `None` for any other scheme.
    pub fn from_uri(uri: &str) -> Option<ArtifactRoot> {
        let rest = uri.strip_prefix("mlflow-artifacts:")?;
        let path = match rest.strip_prefix("//") {
            // An authority, then the path.
            Some(after) => after.split_once('/').map_or("", |(_, p)| p),
            None => rest,
        };
        Some(ArtifactRoot(path.trim_matches('/').to_string()))
    }

    /// A path below this one.
    pub fn join(&self, rel: &str) -> ArtifactRoot {
        let rel = rel.trim_matches('/');
        if rel.is_empty() {
            self.clone()
        } else if self.0.is_empty() {
            ArtifactRoot(rel.to_string())
        } else {
            ArtifactRoot(format!("{}/{rel}", self.0))
        }
    }
}

/// A client of one tracking server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// The tracking URI given by the user, checked: `http://host[:port][/prefix]`.
pub fn normalise_uri(uri: &str) -> Result<String> {
    let trimmed = uri.trim().trim_end_matches('/');
    let bad = |reason: &str| MlflowError::BadUri { uri: uri.to_string(), reason: reason.to_string() };
    if trimmed.is_empty() {
        return Err(bad("empty; give the tracking server's URL, e.g. http://127.0.0.1:5000"));
    }
    if trimmed.starts_with("https://") {
        return Err(bad(
            "https is not supported by this build (no TLS); reach the server over http, e.g. through an SSH tunnel \
             to http://127.0.0.1:5000",
        ));
    }
    let Some(rest) = trimmed.strip_prefix("http://") else {
        return Err(bad(
            "not an http:// URL; har-monitor talks to a tracking server (`mlflow server`), not to a local mlruns \
             folder or a database, e.g. http://127.0.0.1:5000",
        ));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("no host; e.g. http://127.0.0.1:5000"));
    }
    Ok(trimmed.to_string())
}

impl Client {
    /// A client of the server at `tracking_uri` (`http://host:port`); nothing is sent yet.
    pub fn new(tracking_uri: &str) -> Result<Client> {
        let base = normalise_uri(tracking_uri)?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .build()
            .into();
        Ok(Client { base, agent })
    }

    /// The server's URL, as used in messages.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The address of a run in MLflow's web UI.
    pub fn run_page(&self, experiment_id: &str, run_id: &str) -> String {
        format!("{}/#/experiments/{experiment_id}/runs/{run_id}", self.base)
    }

    fn api(&self, endpoint: &str) -> String {
        format!("{}/api/2.0/mlflow/{endpoint}", self.base)
    }

    fn unreachable(&self, endpoint: &str, err: ureq::Error) -> MlflowError {
        let reason = match &err {
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused (nothing listens on that port)".to_string()
            }
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            ureq::Error::HostNotFound => "host not found".to_string(),
            ureq::Error::Timeout(t) => format!("timed out ({t})"),
            other => other.to_string(),
        };
        MlflowError::Unreachable { url: self.base.clone(), endpoint: endpoint.to_string(), reason }
    }

    /// Reads an answer: JSON on success, MLflow's error otherwise.
    fn answer(
        &self,
        endpoint: &str,
        response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value> {
        let mut response = response.map_err(|e| self.unreachable(endpoint, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_JSON)
            .read_to_string()
            .map_err(|e| self.unreachable(endpoint, e))?;
        if (200..300).contains(&status) {
            if text.trim().is_empty() {
                return Ok(Value::Object(Default::default()));
            }
            return serde_json::from_str(&text).map_err(|e| MlflowError::BadResponse {
                url: self.base.clone(),
                endpoint: endpoint.to_string(),
                reason: format!("not JSON ({e}): {}", snippet(&text)),
            });
        }
        Err(self.http_error(endpoint, status, &text))
    }

    fn http_error(&self, endpoint: &str, status: u16, text: &str) -> MlflowError {
        if let Ok(value) = serde_json::from_str::<Value>(text)
            && let Some(code) = value.get("error_code").and_then(Value::as_str)
        {
            let message = value.get("message").and_then(Value::as_str).unwrap_or("").to_string();
            return MlflowError::Api {
                url: self.base.clone(),
                endpoint: endpoint.to_string(),
                status,
                error_code: code.to_string(),
                message,
            };
        }
        MlflowError::Http { url: self.base.clone(), endpoint: endpoint.to_string(), status, body: snippet(text) }
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value> {
        let mut request = self.agent.get(self.api(endpoint));
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        self.answer(endpoint, request.call())
    }

    fn post(&self, endpoint: &str, body: &Value) -> Result<Value> {
        let request = self.agent.post(self.api(endpoint)).content_type("application/json");
        self.answer(endpoint, request.send(body.to_string()))
    }

    fn patch(&self, endpoint: &str, body: &Value) -> Result<Value> {
        let request = self.agent.patch(self.api(endpoint)).content_type("application/json");
        self.answer(endpoint, request.send(body.to_string()))
    }

    /// MLflow reads a DELETE's parameters from a JSON body.
    fn delete(&self, endpoint: &str, body: &Value) -> Result<Value> {
        let request = self.agent.delete(self.api(endpoint)).force_send_body().content_type("application/json");
        self.answer(endpoint, request.send(body.to_string()))
    }

    fn parse<T: DeserializeOwned>(&self, endpoint: &str, value: &Value, field: &str) -> Result<T> {
        let part = value.get(field).cloned().unwrap_or(Value::Null);
        serde_json::from_value(part).map_err(|e| MlflowError::BadResponse {
            url: self.base.clone(),
            endpoint: endpoint.to_string(),
            reason: format!("`{field}`: {e}"),
        })
    }

    /// `GET /health`: the server is there and answers.
    pub fn health(&self) -> Result<()> {
        let endpoint = "/health";
        let response = self.agent.get(format!("{}/health", self.base)).call();
        let mut response = response.map_err(|e| self.unreachable(endpoint, e))?;
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(());
        }
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Err(self.http_error(endpoint, status, &text))
    }

    // --- Experiments and runs ---

    /// The experiment of that name, if there is one.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let endpoint = "experiments/get-by-name";
        match self.get(endpoint, &[("experiment_name", name)]) {
            Ok(v) => self.parse(endpoint, &v, "experiment").map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The experiment of that name, created when missing (by us or, at the same moment, by someone else).
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        if let Some(found) = self.experiment_by_name(name)? {
            return Ok(found);
        }
        let endpoint = "experiments/create";
        match self.post(endpoint, &json!({ "name": name })) {
            Ok(_) => {}
            Err(e) if e.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {}
            Err(e) => return Err(e),
        }
        self.experiment_by_name(name)?.ok_or_else(|| MlflowError::BadResponse {
            url: self.base.clone(),
            endpoint: endpoint.to_string(),
            reason: format!("experiment `{name}` was created but cannot be found"),
        })
    }

    /// Starts a run in `experiment_id`.
    pub fn create_run(&self, experiment_id: &str, run_name: &str, tags: &[(String, String)]) -> Result<RunInfo> {
        let endpoint = "runs/create";
        let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
        let body = json!({
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": now_ms(),
            "tags": tags,
        });
        let v = self.post(endpoint, &body)?;
        let run: Run = self.parse(endpoint, &v, "run")?;
        Ok(run.info)
    }

    /// Logs metrics, parameters and tags in batches of MLflow's limits (1,000 metrics, 100 params, 100 tags).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[MetricValue],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        let endpoint = "runs/log-batch";
        let timestamp = now_ms();
        let metric_json: Vec<Value> = metrics
            .iter()
            .map(|m| json!({"key": m.key, "value": m.value, "timestamp": timestamp, "step": 0}))
            .collect();
        let kv = |items: &[(String, String)]| -> Vec<Value> {
            items.iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
        };
        let (params, tags) = (kv(params), kv(tags));
        let mut m = metric_json.chunks(1000);
        let mut p = params.chunks(100);
        let mut t = tags.chunks(100);
        loop {
            let (mc, pc, tc) = (m.next(), p.next(), t.next());
            if mc.is_none() && pc.is_none() && tc.is_none() {
                return Ok(());
            }
            let body = json!({
                "run_id": run_id,
                "metrics": mc.unwrap_or_default(),
                "params": pc.unwrap_or_default(),
                "tags": tc.unwrap_or_default(),
            });
            self.post(endpoint, &body)?;
        }
    }

    /// Ends a run: `FINISHED`, `FAILED` or `KILLED`.
    pub fn terminate_run(&self, run_id: &str, status: &str) -> Result<()> {
        let body = json!({"run_id": run_id, "status": status, "end_time": now_ms()});
        self.post("runs/update", &body).map(|_| ())
    }

    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        let endpoint = "runs/get";
        let v = self.get(endpoint, &[("run_id", run_id)])?;
        self.parse(endpoint, &v, "run")
    }

    // --- Artifacts, through the server's proxy ---

    fn artifact_url(&self, path: &ArtifactRoot) -> String {
        let encoded: Vec<String> =
            path.0.split('/').filter(|s| !s.is_empty()).map(|s| utf8_percent_encode(s, SEGMENT).to_string()).collect();
        format!("{}/api/2.0/mlflow-artifacts/artifacts/{}", self.base, encoded.join("/"))
    }

    /// Uploads `local` to the artifact `path`.
    pub fn upload_artifact(&self, path: &ArtifactRoot, local: &Path) -> Result<()> {
        let endpoint = format!("PUT mlflow-artifacts/artifacts/{}", path.0);
        let file = std::fs::File::open(local).map_err(|source| MlflowError::Io {
            action: "cannot read",
            path: local.to_path_buf(),
            source,
        })?;
        let request = self.agent.put(self.artifact_url(path)).content_type("application/octet-stream");
        self.answer(&endpoint, request.send(file)).map(|_| ())
    }

    /// Downloads the artifact `path` into the file `dest` (created or replaced), returning its size. A missing
    /// artifact is [`MlflowError::ArtifactMissing`].
    pub fn download_artifact(&self, path: &ArtifactRoot, dest: &Path) -> Result<u64> {
        let endpoint = format!("GET mlflow-artifacts/artifacts/{}", path.0);
        let response = self.agent.get(self.artifact_url(path)).call();
        let mut response = response.map_err(|e| self.unreachable(&endpoint, e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let err = self.http_error(&endpoint, status, &text);
            if status == 404 || err.is_not_found() {
                let detail = match &err {
                    MlflowError::Api { error_code, message, .. } => format!(": {error_code}: {message}"),
                    _ => String::new(),
                };
                return Err(MlflowError::ArtifactMissing {
                    url: self.base.clone(),
                    path: path.0.clone(),
                    endpoint,
                    status,
                    detail,
                });
            }
            return Err(err);
        }
        let io = |action: &'static str| {
            let dest = dest.to_path_buf();
            move |source| MlflowError::Io { action, path: dest, source }
        };
        let mut file = std::fs::File::create(dest).map_err(io("cannot create"))?;
        let mut reader = response.body_mut().as_reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| MlflowError::Unreachable {
                url: self.base.clone(),
                endpoint: endpoint.clone(),
                reason: format!("the download broke off after {total} bytes: {e}"),
            })?;
            if n == 0 {
                break;
            }
            file.write_all(&buf[..n]).map_err(io("cannot write"))?;
            total += n as u64;
        }
        file.sync_all().map_err(io("cannot write"))?;
        Ok(total)
    }

    /// Lists one directory of artifacts; entries' paths are relative to `path`.
    pub fn list_artifacts(&self, path: &ArtifactRoot) -> Result<Vec<FileInfo>> {
        let endpoint = "mlflow-artifacts/artifacts (list)";
        let mut request = self.agent.get(format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base));
        if !path.0.is_empty() {
            request = request.query("path", &path.0);
        }
        let v = self.answer(endpoint, request.call())?;
        let files: Option<Vec<FileInfo>> = self.parse(endpoint, &v, "files")?;
        Ok(files.unwrap_or_default())
    }

    /// Every file below `path` (recursively; paths relative to `path`), at most `limit` of them.
    pub fn list_files_recursive(&self, path: &ArtifactRoot, limit: usize) -> Result<Vec<FileInfo>> {
        let mut out = Vec::new();
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            for entry in self.list_artifacts(&path.join(&dir))? {
                // The proxy answers with names relative to the listed directory.
                let name = entry.path.rsplit('/').next().unwrap_or(&entry.path).to_string();
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                if entry.is_dir {
                    dirs.push(rel);
                } else {
                    out.push(FileInfo { path: rel, ..entry });
                    if out.len() > limit {
                        return Err(MlflowError::Other {
                            url: self.base.clone(),
                            reason: format!("artifacts under `{}`: more than {limit} files", path.0),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    // --- The model registry ---

    /// The registered model, `None` when there is none of that name.
    pub fn get_registered_model(&self, name: &str) -> Result<Option<RegisteredModel>> {
        let endpoint = "registered-models/get";
        match self.get(endpoint, &[("name", name)]) {
            Ok(v) => self.parse(endpoint, &v, "registered_model").map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the registered model unless it exists; returns it.
    pub fn ensure_registered_model(&self, name: &str, description: &str) -> Result<RegisteredModel> {
        if let Some(found) = self.get_registered_model(name)? {
            return Ok(found);
        }
        let endpoint = "registered-models/create";
        match self.post(endpoint, &json!({"name": name, "description": description})) {
            Ok(v) => self.parse(endpoint, &v, "registered_model"),
            Err(e) if e.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {
                self.get_registered_model(name)?.ok_or_else(|| MlflowError::ModelNotFound {
                    url: self.base.clone(),
                    name: name.into(),
                    known: String::new(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Every registered model (all pages), by name.
    pub fn search_registered_models(&self) -> Result<Vec<RegisteredModel>> {
        let endpoint = "registered-models/search";
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![("max_results", "1000")];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let v = self.get(endpoint, &query)?;
            let page: Option<Vec<RegisteredModel>> = self.parse(endpoint, &v, "registered_models")?;
            out.extend(page.unwrap_or_default());
            match v.get("next_page_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Registers a new version of `name` from the artifacts at `source` (logged by `run_id`).
    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        description: &str,
    ) -> Result<ModelVersion> {
        let endpoint = "model-versions/create";
        let body = json!({"name": name, "source": source, "run_id": run_id, "description": description});
        let v = self.post(endpoint, &body)?;
        self.parse(endpoint, &v, "model_version")
    }

    /// One version; a missing model or version is [`MlflowError::ModelNotFound`] / [`MlflowError::VersionNotFound`].
    pub fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let endpoint = "model-versions/get";
        match self.get(endpoint, &[("name", name), ("version", version)]) {
            Ok(v) => self.parse(endpoint, &v, "model_version"),
            Err(e) if e.is_not_found() => Err(self.not_found(name, Some(version))?),
            Err(e) => Err(e),
        }
    }

    /// The precise error for a model or version that is not there, listing what is.
    fn not_found(&self, name: &str, version: Option<&str>) -> Result<MlflowError> {
        let Some(_model) = self.get_registered_model(name)? else {
            let names: Vec<String> = self.search_registered_models()?.into_iter().map(|m| m.name).collect();
            let known = match names.len() {
                0 => " (the server has no registered models)".to_string(),
                1..=10 => format!(" (registered models: {})", names.join(", ")),
                n => format!(
                    " (registered models: {}, … {} more; see `har-monitor mlflow list`)",
                    names[..10].join(", "),
                    n - 10
                ),
            };
            return Ok(MlflowError::ModelNotFound { url: self.base.clone(), name: name.into(), known });
        };
        let versions: Vec<String> = self.search_model_versions(name)?.into_iter().map(|v| v.version).collect();
        let known = if versions.is_empty() {
            " (it has no versions)".to_string()
        } else {
            format!(" (versions: {})", versions.join(", "))
        };
        Ok(MlflowError::VersionNotFound {
            url: self.base.clone(),
            name: name.into(),
            version: version.unwrap_or("?").into(),
            known,
        })
    }

    /// Every version of `name`, newest first.
    pub fn search_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let endpoint = "model-versions/search";
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![("filter", filter.as_str()), ("max_results", "1000")];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let v = self.get(endpoint, &query)?;
            let page: Option<Vec<ModelVersion>> = self.parse(endpoint, &v, "model_versions")?;
            out.extend(page.unwrap_or_default());
            match v.get("next_page_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        out.sort_by_key(|v| std::cmp::Reverse(v.number().unwrap_or(0)));
        Ok(out)
    }

    /// Points `alias` of `name` at `version` (moving it if it pointed elsewhere).
    pub fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        let body = json!({"name": name, "alias": alias, "version": version});
        self.post("registered-models/alias", &body).map(|_| ())
    }

    /// The version `alias` points at; a missing alias is [`MlflowError::AliasMissing`] naming the aliases there are.
    pub fn get_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let endpoint = "registered-models/alias";
        match self.get(endpoint, &[("name", name), ("alias", alias)]) {
            Ok(v) => self.parse(endpoint, &v, "model_version"),
            // MLflow 3 answers a missing alias with 400 INVALID_PARAMETER_VALUE ("alias ... not found").
            Err(e) if e.is_not_found() || e.error_code() == Some("INVALID_PARAMETER_VALUE") => {
                let Some(model) = self.get_registered_model(name)? else {
                    return Err(self.not_found(name, None)?);
                };
                if model.aliases.iter().any(|a| a.alias == alias) {
                    return Err(e);
                }
                let known = if model.aliases.is_empty() {
                    "it has no aliases".to_string()
                } else {
                    let list: Vec<String> =
                        model.aliases.iter().map(|a| format!("{} (v{})", a.alias, a.version)).collect();
                    format!("its aliases: {}", list.join(", "))
                };
                Err(MlflowError::AliasMissing { url: self.base.clone(), name: name.into(), alias: alias.into(), known })
            }
            Err(e) => Err(e),
        }
    }

    /// Removes `alias` from `name`.
    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.delete("registered-models/alias", &json!({"name": name, "alias": alias})).map(|_| ())
    }

    /// Sets the description of a version.
    pub fn update_model_version_description(&self, name: &str, version: &str, description: &str) -> Result<()> {
        let body = json!({"name": name, "version": version, "description": description});
        self.patch("model-versions/update", &body).map(|_| ())
    }

    /// The artifact URI of an MLflow 3 logged model (`models:/m-ID` sources).
    pub fn logged_model_artifact_uri(&self, model_id: &str) -> Result<String> {
        let endpoint = format!("logged-models/{model_id}");
        let v = self.get(&endpoint, &[])?;
        v.pointer("/model/info/artifact_uri").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
            MlflowError::BadResponse {
                url: self.base.clone(),
                endpoint,
                reason: "no `model.info.artifact_uri` in the answer".into(),
            }
        })
    }

    /// Where the files of a version are (`model-versions/get-download-uri`), as the server resolves it: for a
    /// version whose source is `models:/…` or `runs:/…`, the artifact location behind it.
    pub fn download_uri(&self, name: &str, version: &str) -> Result<String> {
        let endpoint = "model-versions/get-download-uri";
        match self.get(endpoint, &[("name", name), ("version", version)]) {
            Ok(v) => v.get("artifact_uri").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                MlflowError::BadResponse {
                    url: self.base.clone(),
                    endpoint: endpoint.to_string(),
                    reason: "no `artifact_uri` in the answer".into(),
                }
            }),
            Err(e) if e.is_not_found() => Err(self.not_found(name, Some(version))?),
            Err(e) => Err(e),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The start of a body, for a message.
fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        format!("{}…", one_line.chars().take(200).collect::<String>())
    } else if one_line.is_empty() {
        "(empty body)".into()
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris_map_to_proxy_paths() {
        assert_eq!(ArtifactRoot::from_uri("mlflow-artifacts:/1/abc/artifacts").unwrap().0, "1/abc/artifacts");
        assert_eq!(
            ArtifactRoot::from_uri("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts/model").unwrap().0,
            "1/abc/artifacts/model"
        );
        assert_eq!(ArtifactRoot::from_uri("s3://bucket/1/abc"), None);
        assert_eq!(ArtifactRoot("1/a".into()).join("/model/"), ArtifactRoot("1/a/model".into()));
    }

    #[test]
    fn tracking_uris_are_checked() {
        assert_eq!(normalise_uri(" http://127.0.0.1:5000/ ").unwrap(), "http://127.0.0.1:5000");
        for bad in ["", "127.0.0.1:5000", "file:///tmp/mlruns", "https://x", "http://", "sqlite:///m.db"] {
            let err = normalise_uri(bad).unwrap_err().to_string();
            assert!(err.contains("tracking URI"), "{bad}: {err}");
        }
    }
}
