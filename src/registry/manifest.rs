//! The registry's JSON files (docs/FORMATS.md §9): a version's `manifest.json`, a model's `aliases.json` (the
//! alias moves, from which the current aliases and the rollback order follow) and a version's
//! `evaluations.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RegistryError;

pub const MANIFEST_FORMAT: &str = "har-registry-version/1";
pub const ALIASES_FORMAT: &str = "har-registry-aliases/1";
pub const EVALUATIONS_FORMAT: &str = "har-registry-evaluations/1";

pub const MANIFEST_FILE: &str = "manifest.json";
pub const ALIASES_FILE: &str = "aliases.json";
pub const EVALUATIONS_FILE: &str = "evaluations.json";

/// What a stored file is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileRole {
    Model,
    Card,
    Baseline,
}

/// One stored file of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    pub role: FileRole,
    /// Its name in the version folder (the name it was imported with).
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

/// `manifest.json` of a version folder: written last, into a staging folder that is renamed into place, so a
/// version folder without a readable manifest is damaged, never half-imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub name: String,
    pub version: u32,
    pub imported_at: String,
    pub imported_by: String,
    /// Where the files came from: the path imported, or what the importer said (`mlflow URL NAME vN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The card's own name and version (the registry's name may differ).
    pub card_name: String,
    pub card_version: String,
    /// SHA-256 of the ONNX file (the model's identity, as `session.json` records it).
    pub sha256: String,
    pub files: Vec<StoredFile>,
}

impl Manifest {
    pub fn file(&self, role: FileRole) -> Option<&StoredFile> {
        self.files.iter().find(|f| f.role == role)
    }

    /// The bytes that make the version: each role's SHA-256 (file names aside).
    pub fn content(&self) -> BTreeMap<FileRole, String> {
        self.files.iter().map(|f| (f.role, f.sha256.clone())).collect()
    }
}

/// What an alias move was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    /// `models alias` or `import --alias`: the alias now points at `to`.
    Set,
    /// `models rollback`: the alias went back to the version it pointed at before (`to`).
    Rollback,
    /// The version it pointed at was removed (`remove --force`): the alias is gone.
    Removed,
}

/// One alias move, as `aliases.json` keeps it (the model's name is the file's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub alias: String,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub action: MoveKind,
    pub by: String,
    pub at: String,
}

/// `aliases.json` of a model folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasFile {
    pub format: String,
    pub name: String,
    /// The highest version number ever given (numbers of removed versions are never given again).
    pub last_version: u32,
    /// Where each alias points now: follows from `history`, written for readers.
    pub aliases: BTreeMap<String, u32>,
    /// Every alias move, oldest first.
    pub history: Vec<MoveRecord>,
}

impl AliasFile {
    pub fn new(name: &str) -> AliasFile {
        AliasFile {
            format: ALIASES_FORMAT.to_string(),
            name: name.to_string(),
            last_version: 0,
            aliases: BTreeMap::new(),
            history: Vec::new(),
        }
    }

    /// Each alias' versions, oldest first; the last is where it points now. A `set` pushes, a `rollback` pops
    /// back to its `to`, a `removed` empties it.
    pub fn stacks(&self) -> BTreeMap<String, Vec<u32>> {
        let mut stacks: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for m in &self.history {
            let stack = stacks.entry(m.alias.clone()).or_default();
            match (m.action, m.to) {
                (MoveKind::Set, Some(to)) => stack.push(to),
                (MoveKind::Rollback, Some(to)) => {
                    stack.pop();
                    while stack.last().is_some_and(|&v| v != to) {
                        stack.pop();
                    }
                    if stack.is_empty() {
                        stack.push(to);
                    }
                }
                _ => stack.clear(),
            }
        }
        stacks.retain(|_, s| !s.is_empty());
        stacks
    }

    /// Where each alias points, from the history.
    pub fn current(&self) -> BTreeMap<String, u32> {
        self.stacks().into_iter().filter_map(|(a, s)| s.last().map(|&v| (a, v))).collect()
    }

    /// The aliases pointing at `version`, sorted.
    pub fn aliases_of(&self, version: u32) -> Vec<String> {
        self.current().into_iter().filter(|(_, v)| *v == version).map(|(a, _)| a).collect()
    }

    /// Reads and checks the file; a missing file is a model without aliases.
    pub fn read(path: &Path, name: &str) -> Result<AliasFile, RegistryError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AliasFile::new(name)),
            Err(e) => return Err(RegistryError::io("read", path)(e)),
        };
        let file: AliasFile = serde_json::from_str(&text)
            .map_err(|e| RegistryError::corrupt(path, format!("not a valid aliases file ({e})")))?;
        if file.format != ALIASES_FORMAT {
            return Err(RegistryError::corrupt(
                path,
                format!("`format` is `{}`, this build reads `{ALIASES_FORMAT}`", file.format),
            ));
        }
        if file.name != name {
            return Err(RegistryError::corrupt(path, format!("it is the file of `{}`, not of `{name}`", file.name)));
        }
        Ok(file)
    }
}

/// One evaluation run kept with the version it scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    /// When it was recorded (UTC, RFC 3339).
    pub at: String,
    /// The report directory `evaluate` wrote.
    pub report_dir: String,
    #[serde(flatten)]
    pub summary: super::EvaluationSummary,
}

/// `evaluations.json` of a version folder: the only file there that changes after the import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationFile {
    pub format: String,
    pub evaluations: Vec<EvaluationRecord>,
}

impl EvaluationFile {
    pub fn read(path: &Path) -> Result<EvaluationFile, RegistryError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(EvaluationFile { format: EVALUATIONS_FORMAT.to_string(), evaluations: Vec::new() });
            }
            Err(e) => return Err(RegistryError::io("read", path)(e)),
        };
        let file: EvaluationFile = serde_json::from_str(&text)
            .map_err(|e| RegistryError::corrupt(path, format!("not a valid evaluations file ({e})")))?;
        if file.format != EVALUATIONS_FORMAT {
            return Err(RegistryError::corrupt(
                path,
                format!("`format` is `{}`, this build reads `{EVALUATIONS_FORMAT}`", file.format),
            ));
        }
        Ok(file)
    }
}
