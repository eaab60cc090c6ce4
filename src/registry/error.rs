//! What can go wrong with the registry. Every message names the registry's folder (or the file in it) and what is
//! missing, so the user knows where to look.

use std::path::PathBuf;

use crate::model::ModelError;
use crate::monitor::DriftError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("model registry: cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "model registry: no user data folder is known on this machine (set HAR_MONITOR_REGISTRY to the folder to keep the registry in)"
    )]
    NoDataDir,
    #[error("model registry {root}: it is not a folder")]
    NotAFolder { root: PathBuf },
    #[error("{what} `{value}` is not valid: {problem}")]
    InvalidName { what: &'static str, value: String, problem: String },
    #[error("`{spec}` is not a registry model: {problem} (write NAME, NAME@VERSION or NAME@ALIAS)")]
    InvalidSpec { spec: String, problem: String },
    #[error("no model named `{name}` in the registry at {root} ({})", known_models(known))]
    UnknownModel { root: PathBuf, name: String, known: Vec<String> },
    #[error(
        "model `{name}` in the registry at {root} has no versions left (import one with `har-monitor models import`)"
    )]
    NoVersions { root: PathBuf, name: String },
    #[error("model `{name}` has no version {version} in the registry at {root} (versions: {})", list_or_none(known))]
    UnknownVersion { root: PathBuf, name: String, version: u32, known: Vec<String> },
    #[error("model `{name}` has no alias `{alias}` in the registry at {root} (aliases: {})", list_or_none(known))]
    UnknownAlias { root: PathBuf, name: String, alias: String, known: Vec<String> },
    #[error("model registry: {path} is damaged: {problem}")]
    Corrupt { path: PathBuf, problem: String },
    #[error("cannot import {path}: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: ModelError,
    },
    #[error("cannot import {path}: its baseline is unusable: {source}")]
    Baseline {
        path: PathBuf,
        #[source]
        source: DriftError,
    },
    #[error("cannot import {path}: {problem}")]
    Import { path: PathBuf, problem: String },
    #[error(
        "{name}@{version} is what {} point{} at; move {} first (`har-monitor models alias {name} VERSION ALIAS`) or remove it with --force, which deletes {}",
        aliases.join(", "), if aliases.len() == 1 { "s" } else { "" },
        if aliases.len() == 1 { "it" } else { "them" }, if aliases.len() == 1 { "that alias" } else { "those aliases" }
    )]
    AliasInUse { name: String, version: u32, aliases: Vec<String> },
    #[error("alias `{alias}` of model `{name}` has no earlier version to go back to (its history: {history})")]
    NoEarlierVersion { name: String, alias: String, history: String },
    #[error("model {value}: no such file (nor a registry model: those are NAME, NAME@VERSION or NAME@ALIAS)")]
    NoSuchFile { value: String },
    #[error("model `{value}`: no such file, and not in the model registry either: {registry}")]
    NotFound {
        value: String,
        #[source]
        registry: Box<RegistryError>,
    },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "none".to_string() } else { items.join(", ") }
}

fn known_models(known: &[String]) -> String {
    if known.is_empty() {
        "it holds no models yet; import one with `har-monitor models import M.onnx`".to_string()
    } else {
        format!("models: {}", known.join(", "))
    }
}

impl RegistryError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io { action, path, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, problem: impl Into<String>) -> RegistryError {
        RegistryError::Corrupt { path: path.into(), problem: problem.into() }
    }

    /// True when the store entry itself is damaged (a missing file, a SHA-256 mismatch, a bad manifest).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, RegistryError::Corrupt { .. })
    }
}
