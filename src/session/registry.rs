//! The app's model picker below the GUI: what the registry holds as the picker lists it, which entry the live
//! session runs, and what choosing a version or rolling back an alias does to the live session. The GUI draws
//! [`RegistryState`] and turns clicks into actions; the shell calls [`RegistryState::choose`] and
//! [`RegistryState::rollback`] and loads the model file they return into the running pipeline.

use std::path::{Path, PathBuf};

use crate::registry::{Registry, RegistryError};

/// One version as the picker lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerVersion {
    pub version: u32,
    pub aliases: Vec<String>,
    /// `card-name 1.0.0`, empty for a damaged version.
    pub card: String,
    pub imported_at: String,
    /// The stored ONNX file (`None` when the version is damaged).
    pub model_path: Option<PathBuf>,
    /// Why the version cannot be used.
    pub problem: Option<String>,
}

/// One alias as the picker lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerAlias {
    pub alias: String,
    pub version: u32,
    /// Where a rollback would move it (`None`: no earlier version).
    pub rollback_to: Option<u32>,
}

/// One model name with its versions (highest first) and aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerModel {
    pub name: String,
    pub versions: Vec<PickerVersion>,
    pub aliases: Vec<PickerAlias>,
    /// Why the model's aliases cannot be read.
    pub problem: Option<String>,
}

/// A model to load into the live session, and what to tell the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    pub path: PathBuf,
    /// The spec it was chosen by (`har@production`, `har@3`).
    pub spec: String,
    pub message: String,
}

/// What a rollback did: the message, and the model to load when the live session follows the alias.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackOutcome {
    pub message: String,
    pub switch: Option<Switch>,
}

/// The picker's state.
#[derive(Debug)]
pub struct RegistryState {
    registry: Option<Registry>,
    /// The registry's models, sorted by name (as of the last refresh).
    pub models: Vec<PickerModel>,
    /// Why the registry could not be listed.
    pub error: Option<String>,
    /// The registry spec the live model was chosen by, if it came from the registry.
    pub chosen: Option<String>,
}

impl RegistryState {
    /// The registry at `root` (default: [`Registry::open_default`]), listed once. `chosen`: the spec the starting
    /// model was given by (`gui --model har@production`).
    pub fn open(root: Option<&Path>, chosen: Option<String>) -> RegistryState {
        let registry = match root {
            Some(r) => Registry::open(r),
            None => Registry::open_default(),
        };
        let mut state = RegistryState { registry: None, models: Vec::new(), error: None, chosen };
        match registry {
            Ok(r) => {
                state.registry = Some(r);
                state.refresh();
            }
            Err(e) => state.error = Some(e.to_string()),
        }
        state
    }

    pub fn root(&self) -> Option<&Path> {
        self.registry.as_ref().map(Registry::root)
    }

    /// Lists the registry again (every version checked against its manifest).
    pub fn refresh(&mut self) {
        let Some(registry) = &self.registry else { return };
        match registry.list() {
            Ok(models) => {
                self.error = None;
                self.models = models
                    .into_iter()
                    .map(|m| PickerModel {
                        aliases: m
                            .aliases
                            .iter()
                            .map(|(alias, &version)| PickerAlias {
                                alias: alias.clone(),
                                version,
                                rollback_to: registry.rollback_target(&m.name, alias).ok().flatten(),
                            })
                            .collect(),
                        versions: m
                            .versions
                            .iter()
                            .rev()
                            .map(|e| match &e.entry {
                                Ok(v) => PickerVersion {
                                    version: v.version,
                                    aliases: v.aliases.clone(),
                                    card: format!("{} {}", v.card_name, v.card_version),
                                    imported_at: v.imported_at.clone(),
                                    model_path: Some(v.model_path.clone()),
                                    problem: None,
                                },
                                Err(err) => PickerVersion {
                                    version: e.version,
                                    aliases: m
                                        .aliases
                                        .iter()
                                        .filter(|(_, v)| **v == e.version)
                                        .map(|(a, _)| a.clone())
                                        .collect(),
                                    card: String::new(),
                                    imported_at: String::new(),
                                    model_path: None,
                                    problem: Some(err.to_string()),
                                },
                            })
                            .collect(),
                        name: m.name,
                        problem: m.problem,
                    })
                    .collect();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Whether the live session runs this version (its stored file is the live model's).
    pub fn is_live(version: &PickerVersion, live_model: Option<&Path>) -> bool {
        match (&version.model_path, live_model) {
            (Some(stored), Some(live)) => stored == live || crate::output::same_file(stored, live),
            _ => false,
        }
    }

    /// How the top bar names the live model when it is a registry version: `har@3`, or `har@production (v3)`
    /// when the session follows that alias.
    pub fn live_label(&self, live_model: Option<&Path>) -> Option<String> {
        self.models.iter().find_map(|m| {
            let v = m.versions.iter().find(|v| RegistryState::is_live(v, live_model))?;
            let alias =
                self.chosen.as_deref().and_then(|c| c.strip_prefix(&format!("{}@", m.name)).map(str::to_string));
            Some(match alias {
                Some(a) if v.aliases.contains(&a) => format!("{}@{a} (v{})", m.name, v.version),
                _ => format!("{}@{}", m.name, v.version),
            })
        })
    }

    fn registry(&self) -> Result<&Registry, String> {
        self.registry.as_ref().ok_or_else(|| self.error.clone().unwrap_or_else(|| "no model registry".to_string()))
    }

    /// Choosing `spec` (`har@3`, `har@production`) in the picker: the version is checked and its file returned
    /// for the live session to load; the live session then follows `spec` (a rollback of that alias moves it).
    pub fn choose(&mut self, spec: &str) -> Result<Switch, String> {
        let version = self.registry()?.resolve(spec).map_err(|e| e.to_string())?;
        self.chosen = Some(spec.to_string());
        let via = if spec == version.spec() { String::new() } else { format!(" ({spec})") };
        Ok(Switch {
            path: version.model_path.clone(),
            spec: spec.to_string(),
            message: format!("Loading {}{via}: {} {}", version.spec(), version.card_name, version.card_version),
        })
    }

    /// A model file chosen outside the registry (a dialog, a dropped file): the live session follows no alias.
    pub fn forget_choice(&mut self) {
        self.chosen = None;
    }

    /// Rolls `alias` of `name` back. The live session follows when it was chosen by that alias, or runs the
    /// version the alias pointed at until now (it then follows the alias from here on).
    pub fn rollback(&mut self, name: &str, alias: &str, live_model: Option<&Path>) -> Result<RollbackOutcome, String> {
        let registry = self.registry()?;
        let spec = format!("{name}@{alias}");
        let before = registry.resolve(&spec).ok();
        let moved = registry.rollback(name, alias).map_err(|e: RegistryError| e.to_string())?;
        let runs_it = before.as_ref().is_some_and(|v| {
            live_model.is_some_and(|live| v.model_path == live || crate::output::same_file(&v.model_path, live))
        });
        let follows = self.chosen.as_deref() == Some(spec.as_str()) || runs_it;
        let v = |x: Option<u32>| x.map_or_else(|| "nothing".to_string(), |v| format!("v{v}"));
        let mut message = format!("Rolled back {spec} from {} to {}", v(moved.from), v(moved.to));
        let switch = match (follows, moved.to) {
            (true, Some(to)) => {
                let version = registry.resolve(&format!("{name}@{to}")).map_err(|e| e.to_string())?;
                self.chosen = Some(spec.clone());
                message.push_str("; the live session now runs it");
                Some(Switch { path: version.model_path, spec, message: message.clone() })
            }
            _ => None,
        };
        self.refresh();
        Ok(RollbackOutcome { message, switch })
    }
}
