//! The local model registry (docs/FORMATS.md §9): ONNX models with their cards and baselines, stored by SHA-256
//! in numbered, immutable versions per model name, with aliases (`production`, `staging`, any name) whose every
//! move is kept, so that a rollback is one call.
//!
//! Layout under the root (`HAR_MONITOR_REGISTRY`, else the user data folder + `registry`):
//!
//! ```text
//! ROOT/.lock                          taken (flock) by every change; reads take no lock
//! ROOT/.staging/                      versions being imported or removed (renamed into or out of place)
//! ROOT/models/NAME/aliases.json       last version number, current aliases, every alias move
//! ROOT/models/NAME/N/manifest.json    name, version, when, by whom, from where, each file's SHA-256 and size
//! ROOT/models/NAME/N/<stem>.onnx, <stem>.model.json, [<baseline>.json]   the files as imported
//! ROOT/models/NAME/N/evaluations.json every evaluation run recorded against the version
//! ```
//!
//! Every file is replaced atomically (a temporary file renamed over it) and a version folder appears in one
//! rename, complete with its manifest: a crash never leaves a half-written entry. A damaged entry (a missing file,
//! a SHA-256 that does not match, a manifest or aliases file that does not parse) is reported for that entry and
//! leaves the others usable.

mod error;
mod manifest;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

pub use error::RegistryError;
pub use manifest::{AliasFile, EvaluationRecord, FileRole, MANIFEST_FILE, Manifest, MoveKind, MoveRecord, StoredFile};

use crate::model::{Engine, EngineOptions, ModelCard};
use crate::monitor::Baseline;

/// The environment variable that puts the registry somewhere else than the user data folder.
pub const REGISTRY_ENV: &str = "HAR_MONITOR_REGISTRY";
/// The pseudo-alias for the highest version (`NAME` alone means the same).
pub const LATEST: &str = "latest";
/// The longest model name or alias.
const MAX_NAME: usize = 64;

/// A registry on disk. Cheap to create: nothing is read until asked.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

/// How to import a model.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The registry name (default: the card's `name`, else the file's stem).
    pub name: Option<String>,
    /// Point this alias at the version (new or existing) after the import.
    pub alias: Option<String>,
    /// Free text kept in the manifest.
    pub note: Option<String>,
    /// Where the files came from, e.g. `mlflow http://127.0.0.1:5000 har-model v3` (default: the path imported).
    pub source: Option<String>,
    /// How to load the model to check it against its card (the ONNX Runtime library).
    pub engine: EngineOptions,
}

/// One stored, checked version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: u32,
    /// The stored `.onnx`; the card (and the baseline) beside it under their usual names.
    pub model_path: PathBuf,
    pub card_path: PathBuf,
    pub baseline_path: Option<PathBuf>,
    /// SHA-256 of the ONNX file.
    pub sha256: String,
    /// The aliases pointing at it, sorted.
    pub aliases: Vec<String>,
    pub imported_at: String,
    pub source: Option<String>,
    pub note: Option<String>,
    pub imported_by: String,
    pub card_name: String,
    pub card_version: String,
    /// Every stored file with its SHA-256 and size (model, card, baseline).
    pub files: Vec<StoredFile>,
    /// The version folder.
    pub dir: PathBuf,
}

impl ModelVersion {
    /// `NAME@VERSION`.
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A version folder as listed: checked, or what is wrong with it.
#[derive(Debug)]
pub struct VersionEntry {
    pub version: u32,
    pub dir: PathBuf,
    pub entry: Result<ModelVersion, RegistryError>,
}

/// A model name with its versions and aliases.
#[derive(Debug)]
pub struct RegisteredModel {
    pub name: String,
    pub dir: PathBuf,
    /// Ascending by version number; damaged ones included, with their problem.
    pub versions: Vec<VersionEntry>,
    /// Where each alias points now (empty when `problem` is set).
    pub aliases: BTreeMap<String, u32>,
    /// Why the model's `aliases.json` cannot be used, if it cannot.
    pub problem: Option<String>,
}

impl RegisteredModel {
    /// The highest version number present (damaged or not).
    pub fn latest(&self) -> Option<u32> {
        self.versions.last().map(|v| v.version)
    }
}

/// One alias move (see [`MoveKind`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasMove {
    pub name: String,
    pub alias: String,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub action: MoveKind,
    pub by: String,
    pub at: String,
}

impl AliasMove {
    fn from_record(name: &str, r: &MoveRecord) -> AliasMove {
        AliasMove {
            name: name.to_string(),
            alias: r.alias.clone(),
            from: r.from,
            to: r.to,
            action: r.action,
            by: r.by.clone(),
            at: r.at.clone(),
        }
    }

    /// True when nothing moved (the alias already pointed there).
    pub fn unchanged(&self) -> bool {
        self.from == self.to
    }

    /// `har@production moved from v2 to v3` (plain text: every face can show it).
    pub fn describe(&self) -> String {
        let v = |x: Option<u32>| x.map_or_else(|| "nothing".to_string(), |v| format!("v{v}"));
        format!("{}@{} moved from {} to {}", self.name, self.alias, v(self.from), v(self.to))
    }
}

/// The headline of an evaluation run, as kept with the version it scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSummary {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// `null` when undefined (a single class everywhere).
    pub cohen_kappa: Option<f64>,
    /// Windows scored.
    pub windows: u64,
    /// The labeled data file.
    pub data: String,
    /// Wall time of the evaluation, seconds.
    pub seconds: f64,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    pub version: ModelVersion,
    /// False when the same bytes were already stored under the name (that version is returned).
    pub created: bool,
    /// The alias move asked for with [`ImportOptions::alias`].
    pub alias_move: Option<AliasMove>,
}

/// What a removal did.
#[derive(Debug, Clone)]
pub struct Removed {
    pub name: String,
    pub version: u32,
    /// Aliases deleted with it (`--force`).
    pub alias_moves: Vec<AliasMove>,
}

/// A model argument resolved: the file to load, and the registry version when it came from the registry.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub path: PathBuf,
    pub version: Option<ModelVersion>,
}

/// What `--model VALUE` means everywhere: an existing file path wins; else NAME / NAME@VERSION / NAME@ALIAS in the
/// default registry; else an error that says both were tried.
pub fn resolve_model_arg(value: &str) -> Result<ResolvedModel, RegistryError> {
    let path = Path::new(value);
    if path.exists() {
        return Ok(ResolvedModel { path: path.to_path_buf(), version: None });
    }
    let registry = match Registry::open_default() {
        Ok(r) => r,
        Err(e) => return Err(RegistryError::NotFound { value: value.to_string(), registry: Box::new(e) }),
    };
    registry.resolve_arg(value)
}

/// A parsed `NAME[@VERSION|@ALIAS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(u32),
    Alias(String),
}

/// Splits `NAME[@VERSION|@ALIAS]` and checks both parts.
pub fn parse_spec(spec: &str) -> Result<(String, Selector), RegistryError> {
    let invalid = |problem: &str| RegistryError::InvalidSpec { spec: spec.to_string(), problem: problem.to_string() };
    let (name, selector) = match spec.split_once('@') {
        Some((n, s)) => (n, Some(s)),
        None => (spec, None),
    };
    check_name(name, "model name").map_err(|e| invalid(&e.to_string()))?;
    let selector = match selector {
        None => Selector::Latest,
        Some("") => return Err(invalid("nothing after `@`")),
        Some(s) if s == LATEST => Selector::Latest,
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => {
            Selector::Version(s.parse().map_err(|_| invalid("the version number is too large"))?)
        }
        Some(s) => {
            check_alias(s).map_err(|e| invalid(&e.to_string()))?;
            Selector::Alias(s.to_string())
        }
    };
    Ok((name.to_string(), selector))
}

fn name_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    if value.len() > MAX_NAME {
        return Some(format!("it is longer than {MAX_NAME} characters"));
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() {
        return Some("it must start with a letter or a digit".into());
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Some(format!("`{c}` is not allowed (letters, digits, `.`, `_` and `-` are)"));
    }
    None
}

/// Checks a model name: 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_name(value: &str, what: &'static str) -> Result<(), RegistryError> {
    match name_problem(value) {
        Some(problem) => Err(RegistryError::InvalidName { what, value: value.to_string(), problem }),
        None => Ok(()),
    }
}

/// Checks an alias: like a name, starting with a letter, and not `latest` (which always means the highest version).
pub fn check_alias(value: &str) -> Result<(), RegistryError> {
    let invalid = |problem: String| RegistryError::InvalidName { what: "alias", value: value.to_string(), problem };
    if let Some(problem) = name_problem(value) {
        return Err(invalid(problem));
    }
    if !value.as_bytes()[0].is_ascii_alphabetic() {
        return Err(invalid("an alias must start with a letter (a number would read as a version)".into()));
    }
    if value == LATEST {
        return Err(invalid("`latest` always means the highest version and cannot be set".into()));
    }
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Who is making a change: the login name, else `unknown`.
fn user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut hasher = sha2::Sha256::new();
    let mut file = File::open(path)?;
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    Ok((hasher.finalize().iter().map(|b| format!("{b:02x}")).collect(), bytes))
}

/// The exclusive lock every change holds; released when dropped.
struct Lock {
    _file: File,
}

/// A file imported, read into memory.
struct Incoming {
    role: FileRole,
    file: String,
    bytes: Vec<u8>,
    sha256: String,
}

impl Registry {
    /// `HAR_MONITOR_REGISTRY` if set (tests use a temporary folder), else the user data folder + `registry`
    /// (on Linux `~/.local/share/har-monitor/registry`).
    pub fn open_default() -> Result<Registry, RegistryError> {
        Registry::open(&Registry::default_root()?)
    }

    /// Where [`Registry::open_default`] looks.
    pub fn default_root() -> Result<PathBuf, RegistryError> {
        if let Some(dir) = std::env::var_os(REGISTRY_ENV).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        directories::ProjectDirs::from("", "", "har-monitor")
            .map(|d| d.data_dir().join("registry"))
            .ok_or(RegistryError::NoDataDir)
    }

    /// A registry at `root` (created by the first change; a missing folder is an empty registry).
    pub fn open(root: &Path) -> Result<Registry, RegistryError> {
        if root.exists() && !root.is_dir() {
            return Err(RegistryError::NotAFolder { root: root.to_path_buf() });
        }
        Ok(Registry { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` is a file inside this registry's store (whose files must never be written).
    pub fn holds(&self, path: &Path) -> bool {
        let canonical = |p: &Path| std::fs::canonicalize(p).ok();
        let (Some(models), Some(dir)) = (canonical(&self.models_dir()), path.parent().and_then(canonical)) else {
            return false;
        };
        dir.starts_with(models)
    }

    fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    fn model_dir(&self, name: &str) -> PathBuf {
        self.models_dir().join(name)
    }

    fn aliases_path(&self, name: &str) -> PathBuf {
        self.model_dir(name).join(manifest::ALIASES_FILE)
    }

    fn lock(&self) -> Result<Lock, RegistryError> {
        std::fs::create_dir_all(self.models_dir()).map_err(RegistryError::io("create", self.models_dir()))?;
        let path = self.root.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(RegistryError::io("open the lock file", &path))?;
        file.lock().map_err(RegistryError::io("lock", &path))?;
        Ok(Lock { _file: file })
    }

    /// The names in the registry, sorted.
    pub fn names(&self) -> Result<Vec<String>, RegistryError> {
        let dir = self.models_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RegistryError::io("read", &dir)(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(RegistryError::io("read", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && name_problem(&name).is_none() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// The version numbers present in a model's folder (damaged ones too), ascending.
    fn version_numbers(&self, name: &str) -> Result<Vec<u32>, RegistryError> {
        let dir = self.model_dir(name);
        let entries = std::fs::read_dir(&dir).map_err(RegistryError::io("read", &dir))?;
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(RegistryError::io("read", &dir))?;
            let file_name = entry.file_name();
            let Some(text) = file_name.to_str() else { continue };
            if entry.path().is_dir()
                && text.bytes().all(|b| b.is_ascii_digit())
                && let Ok(v) = text.parse::<u32>()
            {
                versions.push(v);
            }
        }
        versions.sort_unstable();
        Ok(versions)
    }

    fn unknown_model(&self, name: &str) -> RegistryError {
        RegistryError::UnknownModel {
            root: self.root.clone(),
            name: name.to_string(),
            known: self.names().unwrap_or_default(),
        }
    }

    /// Reads a version folder and checks every file against its manifest.
    fn load_version(&self, name: &str, version: u32, aliases: &[String]) -> Result<ModelVersion, RegistryError> {
        let dir = self.model_dir(name).join(version.to_string());
        let manifest_path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&manifest_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RegistryError::corrupt(&dir, format!("{MANIFEST_FILE} is missing")),
            _ => RegistryError::corrupt(&manifest_path, format!("cannot be read ({e})")),
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| RegistryError::corrupt(&manifest_path, format!("not a valid manifest ({e})")))?;
        let bad = |problem: String| Err(RegistryError::corrupt(&manifest_path, problem));
        if manifest.format != manifest::MANIFEST_FORMAT {
            return bad(format!("`format` is `{}`, this build reads `{}`", manifest.format, manifest::MANIFEST_FORMAT));
        }
        if manifest.name != name || manifest.version != version {
            return bad(format!("it describes {}@{}, not {name}@{version}", manifest.name, manifest.version));
        }
        for f in &manifest.files {
            if Path::new(&f.file).file_name().is_none_or(|n| n != f.file.as_str()) {
                return bad(format!("file `{}` is not a plain file name", f.file));
            }
            let path = dir.join(&f.file);
            let (sha, bytes) = sha256_file(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => RegistryError::corrupt(&path, "the file is missing"),
                _ => RegistryError::corrupt(&path, format!("cannot be read ({e})")),
            })?;
            if sha != f.sha256 || bytes != f.bytes {
                return Err(RegistryError::corrupt(
                    &path,
                    format!(
                        "its SHA-256 is {sha} ({bytes} bytes), the manifest recorded {} ({} bytes): the file was changed after the import",
                        f.sha256, f.bytes
                    ),
                ));
            }
        }
        let Some(model) = manifest.file(FileRole::Model) else { return bad("it lists no model file".into()) };
        let Some(card) = manifest.file(FileRole::Card) else { return bad("it lists no card file".into()) };
        let model_path = dir.join(&model.file);
        if ModelCard::path_for_model(&model_path) != dir.join(&card.file) {
            return bad(format!("the card `{}` is not the one beside `{}`", card.file, model.file));
        }
        if model.sha256 != manifest.sha256 {
            return bad("`sha256` is not the model file's".into());
        }
        Ok(ModelVersion {
            name: manifest.name.clone(),
            version,
            card_path: dir.join(&card.file),
            baseline_path: manifest.file(FileRole::Baseline).map(|b| dir.join(&b.file)),
            model_path,
            sha256: manifest.sha256.clone(),
            aliases: aliases.to_vec(),
            imported_at: manifest.imported_at.clone(),
            source: manifest.source.clone(),
            note: manifest.note.clone(),
            imported_by: manifest.imported_by.clone(),
            card_name: manifest.card_name.clone(),
            card_version: manifest.card_version.clone(),
            files: manifest.files.clone(),
            dir,
        })
    }

    /// A model's alias file, or why it cannot be used.
    fn aliases(&self, name: &str) -> Result<AliasFile, RegistryError> {
        AliasFile::read(&self.aliases_path(name), name)
    }

    /// Every model with its versions (each checked) and aliases. A damaged entry is listed with its problem.
    pub fn list(&self) -> Result<Vec<RegisteredModel>, RegistryError> {
        self.names()?.into_iter().map(|name| self.model(&name)).collect()
    }

    /// One model with its versions and aliases.
    pub fn model(&self, name: &str) -> Result<RegisteredModel, RegistryError> {
        check_name(name, "model name")?;
        let dir = self.model_dir(name);
        if !dir.is_dir() {
            return Err(self.unknown_model(name));
        }
        let (aliases, problem) = match self.aliases(name) {
            Ok(a) => (a.current(), None),
            Err(e) => (BTreeMap::new(), Some(e.to_string())),
        };
        let versions = self
            .version_numbers(name)?
            .into_iter()
            .map(|version| {
                let of: Vec<String> = aliases.iter().filter(|(_, v)| **v == version).map(|(a, _)| a.clone()).collect();
                VersionEntry {
                    version,
                    dir: dir.join(version.to_string()),
                    entry: self.load_version(name, version, &of),
                }
            })
            .collect();
        Ok(RegisteredModel { name: name.to_string(), dir, versions, aliases, problem })
    }

    /// NAME (the highest version), NAME@7, NAME@production (NAME@latest = NAME). The version is checked: a damaged
    /// one is an error naming the file and the problem.
    pub fn resolve(&self, spec: &str) -> Result<ModelVersion, RegistryError> {
        let (name, selector) = parse_spec(spec)?;
        if !self.model_dir(&name).is_dir() {
            return Err(self.unknown_model(&name));
        }
        let versions = self.version_numbers(&name)?;
        let version = match &selector {
            Selector::Latest => match versions.last() {
                Some(&v) => v,
                None => return Err(RegistryError::NoVersions { root: self.root.clone(), name }),
            },
            Selector::Version(v) => *v,
            Selector::Alias(alias) => {
                let aliases = self.aliases(&name)?.current();
                match aliases.get(alias) {
                    Some(&v) => v,
                    None => {
                        return Err(RegistryError::UnknownAlias {
                            root: self.root.clone(),
                            name,
                            alias: alias.clone(),
                            known: aliases.iter().map(|(a, v)| format!("{a} (v{v})")).collect(),
                        });
                    }
                }
            }
        };
        if !versions.contains(&version) {
            return Err(RegistryError::UnknownVersion {
                root: self.root.clone(),
                name,
                version,
                known: versions.iter().map(u32::to_string).collect(),
            });
        }
        // The aliases are for display: a damaged aliases file does not stop NAME@7 from resolving.
        let aliases = self.aliases(&name).map(|a| a.aliases_of(version)).unwrap_or_default();
        self.load_version(&name, version, &aliases)
    }

    /// `--model VALUE` against this registry (see [`resolve_model_arg`]).
    pub fn resolve_arg(&self, value: &str) -> Result<ResolvedModel, RegistryError> {
        let path = Path::new(value);
        if path.exists() {
            return Ok(ResolvedModel { path: path.to_path_buf(), version: None });
        }
        if parse_spec(value).is_err() {
            // A path (`models/m.onnx`), not a registry name: say only what is wrong with it.
            return Err(RegistryError::NoSuchFile { value: value.to_string() });
        }
        match self.resolve(value) {
            Ok(version) => Ok(ResolvedModel { path: version.model_path.clone(), version: Some(version) }),
            Err(e) => Err(RegistryError::NotFound { value: value.to_string(), registry: Box::new(e) }),
        }
    }

    /// The alias moves of a model, oldest first.
    pub fn history(&self, name: &str) -> Result<Vec<AliasMove>, RegistryError> {
        check_name(name, "model name")?;
        if !self.model_dir(name).is_dir() {
            return Err(self.unknown_model(name));
        }
        Ok(self.aliases(name)?.history.iter().map(|r| AliasMove::from_record(name, r)).collect())
    }

    /// Imports `model` (.onnx) with its card `<stem>.model.json` beside it (required; the model is loaded with the
    /// engine, so a model that does not fit its card is refused with the engine's message) and the baseline the
    /// card names (default `<stem>.baseline.json`) if present (checked against the card). The same bytes as an
    /// existing version of that name return that version.
    pub fn import(&self, model: &Path, options: &ImportOptions) -> Result<ModelVersion, RegistryError> {
        self.import_model(model, options).map(|i| i.version)
    }

    /// [`Registry::import`], saying whether a version was created and what the alias did.
    pub fn import_model(&self, model: &Path, options: &ImportOptions) -> Result<Imported, RegistryError> {
        if let Some(n) = &options.name {
            check_name(n, "model name")?;
        }
        if let Some(alias) = &options.alias {
            check_alias(alias)?;
        }
        let engine = Engine::load(model, &options.engine)
            .map_err(|source| RegistryError::Model { path: model.to_path_buf(), source })?;
        let card = engine.card().clone();
        drop(engine);
        let name = match &options.name {
            Some(n) => n.clone(),
            None => default_name(model, &card)?,
        };
        let import_error = |problem: String| RegistryError::Import { path: model.to_path_buf(), problem };
        let file_name = |p: &Path| -> Result<String, RegistryError> {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| import_error(format!("{} has no file name", p.display())))
        };
        let read = |role: FileRole, p: &Path| -> Result<Incoming, RegistryError> {
            let bytes = std::fs::read(p).map_err(RegistryError::io("read", p))?;
            Ok(Incoming { role, file: file_name(p)?, sha256: sha256_hex(&bytes), bytes })
        };
        let card_path = ModelCard::path_for_model(model);
        let mut files = vec![read(FileRole::Model, model)?, read(FileRole::Card, &card_path)?];
        let baseline_path = Baseline::path_for_model(model, &card);
        if baseline_path.is_file() {
            if card.baseline.as_deref().is_some_and(|b| Path::new(b).file_name().is_none_or(|n| n != b)) {
                return Err(import_error(format!(
                    "its card names the baseline `{}`, which is not a file beside the card: the registry keeps a \
                     version's files in one folder. Copy the baseline beside the model and name it by its file name",
                    card.baseline.as_deref().unwrap_or_default()
                )));
            }
            Baseline::load(&baseline_path)
                .and_then(|b| b.check_card(&card, &baseline_path))
                .map_err(|source| RegistryError::Baseline { path: model.to_path_buf(), source })?;
            files.push(read(FileRole::Baseline, &baseline_path)?);
        }
        let content: BTreeMap<FileRole, String> = files.iter().map(|f| (f.role, f.sha256.clone())).collect();
        let source = options.source.clone().or_else(|| {
            Some(std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf()).display().to_string())
        });

        let _lock = self.lock()?;
        let model_dir = self.model_dir(&name);
        let mut aliases = if model_dir.is_dir() { self.aliases(&name)? } else { AliasFile::new(&name) };
        let existing = if model_dir.is_dir() { self.version_numbers(&name)? } else { Vec::new() };
        // The same bytes under this name: that version, not a new one.
        for &v in existing.iter().rev() {
            if let Ok(found) = self.load_version(&name, v, &[])
                && found.files.iter().map(|f| (f.role, f.sha256.clone())).collect::<BTreeMap<_, _>>() == content
            {
                let alias_move = match &options.alias {
                    Some(alias) => Some(self.move_alias_locked(&name, &mut aliases, v, alias)?),
                    None => None,
                };
                let version = self.load_version(&name, v, &aliases.aliases_of(v))?;
                return Ok(Imported { version, created: false, alias_move });
            }
        }
        let version = aliases.last_version.max(existing.last().copied().unwrap_or(0)) + 1;
        let manifest = Manifest {
            format: manifest::MANIFEST_FORMAT.to_string(),
            name: name.clone(),
            version,
            imported_at: now(),
            imported_by: user(),
            source,
            note: options.note.clone(),
            card_name: card.name.clone(),
            card_version: card.version.clone(),
            sha256: files[0].sha256.clone(),
            files: files
                .iter()
                .map(|f| StoredFile {
                    role: f.role,
                    file: f.file.clone(),
                    sha256: f.sha256.clone(),
                    bytes: f.bytes.len() as u64,
                })
                .collect(),
        };
        let staging = self.staging_dir(&format!("import-{name}-{version}"))?;
        let written = (|| -> Result<(), RegistryError> {
            for f in &files {
                write_synced(&staging.join(&f.file), &f.bytes)?;
            }
            let text = serde_json::to_string_pretty(&manifest)
                .map_err(|e| RegistryError::corrupt(&staging, format!("manifest not serialisable: {e}")))?;
            write_synced(&staging.join(MANIFEST_FILE), text.as_bytes())?;
            std::fs::create_dir_all(&model_dir).map_err(RegistryError::io("create", &model_dir))?;
            let target = model_dir.join(version.to_string());
            std::fs::rename(&staging, &target).map_err(RegistryError::io("move the new version into", &target))?;
            sync_dir(&model_dir);
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        aliases.last_version = version;
        let alias_move = match &options.alias {
            Some(alias) => Some(self.move_alias_locked(&name, &mut aliases, version, alias)?),
            None => {
                self.write_aliases(&name, &mut aliases)?;
                None
            }
        };
        let version = self.load_version(&name, version, &aliases.aliases_of(version))?;
        Ok(Imported { version, created: true, alias_move })
    }

    /// A fresh folder under `.staging/`; leftovers of crashed runs are removed first (the lock is held, so no
    /// other process is using them).
    fn staging_dir(&self, label: &str) -> Result<PathBuf, RegistryError> {
        let staging = self.root.join(".staging");
        if let Ok(entries) = std::fs::read_dir(&staging) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = staging.join(format!("{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(RegistryError::io("create", &dir))?;
        Ok(dir)
    }

    fn write_aliases(&self, name: &str, aliases: &mut AliasFile) -> Result<(), RegistryError> {
        aliases.aliases = aliases.current();
        let path = self.aliases_path(name);
        let text = serde_json::to_string_pretty(&*aliases)
            .map_err(|e| RegistryError::corrupt(&path, format!("not serialisable: {e}")))?;
        crate::output::write_bytes(&path, text.as_bytes()).map_err(|e| RegistryError::Io {
            action: "write",
            path: path.clone(),
            source: e.source,
        })
    }

    /// Moves an alias (the lock is held) and records the move; the alias already there is no move.
    fn move_alias_locked(
        &self,
        name: &str,
        aliases: &mut AliasFile,
        version: u32,
        alias: &str,
    ) -> Result<AliasMove, RegistryError> {
        let from = aliases.current().get(alias).copied();
        let record = MoveRecord {
            alias: alias.to_string(),
            from,
            to: Some(version),
            action: MoveKind::Set,
            by: user(),
            at: now(),
        };
        if from != Some(version) {
            aliases.history.push(record.clone());
        }
        self.write_aliases(name, aliases)?;
        Ok(AliasMove::from_record(name, &record))
    }

    /// The model's alias file for a change (the lock is held): it must exist and be readable.
    fn aliases_for_change(&self, name: &str) -> Result<AliasFile, RegistryError> {
        check_name(name, "model name")?;
        if !self.model_dir(name).is_dir() {
            return Err(self.unknown_model(name));
        }
        self.aliases(name)
    }

    /// Points `alias` at `version` (which must be a sound stored version) and records the move.
    pub fn set_alias(&self, name: &str, version: u32, alias: &str) -> Result<AliasMove, RegistryError> {
        check_alias(alias)?;
        let _lock = self.lock()?;
        let mut aliases = self.aliases_for_change(name)?;
        self.resolve(&format!("{name}@{version}"))?;
        self.move_alias_locked(name, &mut aliases, version, alias)
    }

    /// Where [`Registry::rollback`] would move `alias`: `None` when it has no earlier version left.
    pub fn rollback_target(&self, name: &str, alias: &str) -> Result<Option<u32>, RegistryError> {
        let aliases = self.aliases_for_change(name)?;
        let present = self.version_numbers(name)?;
        Ok(aliases.stacks().get(alias).and_then(|stack| {
            stack[..stack.len().saturating_sub(1)].iter().rev().find(|v| present.contains(v)).copied()
        }))
    }

    /// Moves `alias` back to the version it pointed at before its last move (skipping versions removed since),
    /// and records that. Repeated rollbacks walk further back.
    pub fn rollback(&self, name: &str, alias: &str) -> Result<AliasMove, RegistryError> {
        check_alias(alias)?;
        let _lock = self.lock()?;
        let mut aliases = self.aliases_for_change(name)?;
        let stacks = aliases.stacks();
        let Some(stack) = stacks.get(alias) else {
            return Err(RegistryError::UnknownAlias {
                root: self.root.clone(),
                name: name.to_string(),
                alias: alias.to_string(),
                known: aliases.current().iter().map(|(a, v)| format!("{a} (v{v})")).collect(),
            });
        };
        let present = self.version_numbers(name)?;
        let current = stack.last().copied();
        let target = stack[..stack.len().saturating_sub(1)].iter().rev().find(|v| present.contains(v)).copied();
        let Some(target) = target else {
            let history: Vec<String> = stack.iter().map(u32::to_string).collect();
            return Err(RegistryError::NoEarlierVersion {
                name: name.to_string(),
                alias: alias.to_string(),
                history: if history.len() <= 1 {
                    format!("it has only ever pointed at {}", history.join(""))
                } else {
                    format!("{} (the earlier ones were removed)", history.join(", then "))
                },
            });
        };
        self.resolve(&format!("{name}@{target}"))?;
        let record = MoveRecord {
            alias: alias.to_string(),
            from: current,
            to: Some(target),
            action: MoveKind::Rollback,
            by: user(),
            at: now(),
        };
        aliases.history.push(record.clone());
        self.write_aliases(name, &mut aliases)?;
        Ok(AliasMove::from_record(name, &record))
    }

    /// Removes a version. Refused while an alias points at it, unless `force`, which deletes those aliases (the
    /// moves are recorded). A damaged version can be removed too. Its number is never given again.
    pub fn remove(&self, name: &str, version: u32, force: bool) -> Result<Removed, RegistryError> {
        check_name(name, "model name")?;
        let _lock = self.lock()?;
        if !self.model_dir(name).is_dir() {
            return Err(self.unknown_model(name));
        }
        let present = self.version_numbers(name)?;
        if !present.contains(&version) {
            return Err(RegistryError::UnknownVersion {
                root: self.root.clone(),
                name: name.to_string(),
                version,
                known: present.iter().map(u32::to_string).collect(),
            });
        }
        let mut aliases = self.aliases(name)?;
        let pointing = aliases.aliases_of(version);
        if !pointing.is_empty() && !force {
            return Err(RegistryError::AliasInUse { name: name.to_string(), version, aliases: pointing });
        }
        let dir = self.model_dir(name).join(version.to_string());
        let staging = self.staging_dir(&format!("remove-{name}-{version}"))?;
        let parked = staging.join("version");
        std::fs::rename(&dir, &parked).map_err(RegistryError::io("move away", &dir))?;
        let mut moves = Vec::new();
        for alias in pointing {
            let record =
                MoveRecord { alias, from: Some(version), to: None, action: MoveKind::Removed, by: user(), at: now() };
            aliases.history.push(record.clone());
            moves.push(AliasMove::from_record(name, &record));
        }
        aliases.last_version = aliases.last_version.max(present.last().copied().unwrap_or(0));
        self.write_aliases(name, &mut aliases)?;
        let _ = std::fs::remove_dir_all(&staging);
        Ok(Removed { name: name.to_string(), version, alias_moves: moves })
    }

    /// Keeps an evaluation run with the version it scored (`evaluations.json` in the version folder).
    pub fn record_evaluation(
        &self,
        version: &ModelVersion,
        report_dir: &Path,
        summary: &EvaluationSummary,
    ) -> Result<(), RegistryError> {
        let _lock = self.lock()?;
        let dir = self.model_dir(&version.name).join(version.version.to_string());
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(RegistryError::UnknownVersion {
                root: self.root.clone(),
                name: version.name.clone(),
                version: version.version,
                known: self.version_numbers(&version.name).unwrap_or_default().iter().map(u32::to_string).collect(),
            });
        }
        let path = dir.join(manifest::EVALUATIONS_FILE);
        let mut file = manifest::EvaluationFile::read(&path)?;
        let report_dir = std::fs::canonicalize(report_dir).unwrap_or_else(|_| report_dir.to_path_buf());
        file.evaluations.push(EvaluationRecord {
            at: now(),
            report_dir: report_dir.display().to_string(),
            summary: summary.clone(),
        });
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| RegistryError::corrupt(&path, format!("not serialisable: {e}")))?;
        crate::output::write_bytes(&path, text.as_bytes()).map_err(|e| RegistryError::Io {
            action: "write",
            path: path.clone(),
            source: e.source,
        })
    }

    /// The evaluation runs recorded against a version, oldest first.
    pub fn evaluations(&self, version: &ModelVersion) -> Result<Vec<EvaluationRecord>, RegistryError> {
        let path = self.model_dir(&version.name).join(version.version.to_string()).join(manifest::EVALUATIONS_FILE);
        Ok(manifest::EvaluationFile::read(&path)?.evaluations)
    }
}

/// The registry name a model gets without `--name`: its card's name, else its file stem.
fn default_name(model: &Path, card: &ModelCard) -> Result<String, RegistryError> {
    if name_problem(&card.name).is_none() && card.name != "unnamed-model" {
        return Ok(card.name.clone());
    }
    let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if name_problem(&stem).is_none() {
        return Ok(stem);
    }
    Err(RegistryError::InvalidName {
        what: "model name",
        value: card.name.clone(),
        problem: format!(
            "{} (the card's name; the file stem `{stem}` does not fit either): give one with --name",
            name_problem(&card.name).unwrap_or_else(|| "it is the card's default".into())
        ),
    })
}

/// Writes a new file and syncs it to the disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let mut file =
        File::options().write(true).create_new(true).open(path).map_err(RegistryError::io("create", path))?;
    file.write_all(bytes).map_err(RegistryError::io("write", path))?;
    file.sync_all().map_err(RegistryError::io("write", path))
}

/// Makes a rename in `dir` durable (best effort: not every platform can sync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
