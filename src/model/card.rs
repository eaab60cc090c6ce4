//! The model card (`<stem>.model.json` beside `<stem>.onnx`, docs/FORMATS.md §2): what the network expects and what its
//! outputs mean. Also reads the thesis project's own `config.json` + `label_mapping.json` pair.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The card format this build writes and understands.
pub const CARD_FORMAT: &str = "har-model-card/1";

/// Errors reading or checking a model card. Every message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("cannot read model card {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("model card {path} is not valid JSON for a model card: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("model card {path}: field `{field}` {problem}")]
    Invalid { path: PathBuf, field: &'static str, problem: String },
    #[error(
        "no model card for {model}: expected {expected} beside it (see docs/FORMATS.md §2, or build one with models/tools/keras_to_onnx.py)"
    )]
    Missing { model: PathBuf, expected: PathBuf },
}

/// Accelerometer unit as the model expects it (card `units.accel`), or as detected in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AccelUnit {
    #[serde(rename = "m/s^2", alias = "m/s2", alias = "mps2")]
    #[default]
    MetersPerSecond2,
    #[serde(rename = "g")]
    G,
    #[serde(rename = "milli-g", alias = "mg")]
    MilliG,
    /// No detection, no conversion: the numbers are used as they are.
    #[serde(rename = "as-is")]
    AsIs,
}

/// Standard gravity in m/s², the factor between g and m/s².
pub const STANDARD_GRAVITY: f64 = 9.80665;

impl AccelUnit {
    /// Factor that converts a value in this unit to m/s² (`None` for `AsIs`).
    pub fn to_mps2(self) -> Option<f64> {
        match self {
            AccelUnit::MetersPerSecond2 => Some(1.0),
            AccelUnit::G => Some(STANDARD_GRAVITY),
            // The thesis' production files: milli-g, factor 0.00981 to m/s² (docs/FORMATS.md §1).
            AccelUnit::MilliG => Some(0.00981),
            AccelUnit::AsIs => None,
        }
    }

    /// The spelling used on the command line and in cards.
    pub fn as_str(self) -> &'static str {
        match self {
            AccelUnit::MetersPerSecond2 => "m/s^2",
            AccelUnit::G => "g",
            AccelUnit::MilliG => "milli-g",
            AccelUnit::AsIs => "as-is",
        }
    }
}

impl fmt::Display for AccelUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AccelUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "m/s2" | "m/s^2" | "mps2" | "m/s²" => Ok(AccelUnit::MetersPerSecond2),
            "g" => Ok(AccelUnit::G),
            "milli-g" | "millig" | "mg" => Ok(AccelUnit::MilliG),
            "as-is" | "asis" | "raw" => Ok(AccelUnit::AsIs),
            other => Err(format!("unknown accelerometer unit `{other}` (expected as-is, g, milli-g or m/s2)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Units {
    #[serde(default)]
    pub accel: AccelUnit,
    #[serde(default = "default_gyro_unit")]
    pub gyro: String,
}

fn default_gyro_unit() -> String {
    "deg/s".to_string()
}

impl Default for Units {
    fn default() -> Self {
        Units { accel: AccelUnit::MetersPerSecond2, gyro: default_gyro_unit() }
    }
}

/// Axis order of the model input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum InputLayout {
    /// `[batch, window, channels]` (Keras).
    #[default]
    #[serde(rename = "NTC")]
    Ntc,
    /// `[batch, channels, window]` (PyTorch Conv1d).
    #[serde(rename = "NCT")]
    Nct,
}

impl fmt::Display for InputLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputLayout::Ntc => "NTC",
            InputLayout::Nct => "NCT",
        })
    }
}

/// What the graph's output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OutputKind {
    /// Softmax is inside the graph.
    #[default]
    #[serde(rename = "probabilities")]
    Probabilities,
    /// Raw scores: the app applies softmax.
    #[serde(rename = "logits")]
    Logits,
}

/// Per-channel standardisation applied before the model: `(x - mean) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalerParams {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

/// A model card, docs/FORMATS.md §2. Only `classes`, `channels`, `window`, `sample_rate_hz` and `scaler` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    #[serde(default = "default_format")]
    pub format: String,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub classes: Vec<String>,
    pub channels: Vec<String>,
    #[serde(default)]
    pub units: Units,
    pub sample_rate_hz: f64,
    pub window: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default)]
    pub input_layout: InputLayout,
    pub scaler: ScalerParams,
    #[serde(default)]
    pub output: OutputKind,
    /// Temperature scaling of the model's probabilities (softmax(ln p / T)), fitted by `evaluate
    /// --fit-temperature`; applied by the engine, so by every face. Absent = 1 (the model as trained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// File name of the drift baseline, relative to the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub provenance: serde_json::Value,
}

fn default_format() -> String {
    CARD_FORMAT.to_string()
}
fn default_name() -> String {
    "unnamed-model".to_string()
}
fn default_version() -> String {
    "0.0.0".to_string()
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputKind::Probabilities => "probabilities",
            OutputKind::Logits => "logits",
        })
    }
}

impl ModelCard {
    /// Path of the card that belongs to a model file: `<stem>.model.json` beside `<stem>.onnx`.
    pub fn path_for_model(model: &Path) -> PathBuf {
        let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        model.with_file_name(format!("{stem}.model.json"))
    }

    /// Reads the card beside a model file, with a message that says where it was looked for.
    pub fn load_for_model(model: &Path) -> Result<ModelCard, CardError> {
        let path = Self::path_for_model(model);
        if !path.exists() {
            return Err(CardError::Missing { model: model.to_path_buf(), expected: path });
        }
        Self::load(&path)
    }

    /// Reads and validates a card file.
    pub fn load(path: &Path) -> Result<ModelCard, CardError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CardError::Io { path: path.to_path_buf(), source })?;
        Self::from_json(&text, path)
    }

    /// Parses and validates card JSON; `path` is only used in messages.
    pub fn from_json(text: &str, path: &Path) -> Result<ModelCard, CardError> {
        let card: ModelCard =
            serde_json::from_str(text).map_err(|source| CardError::Parse { path: path.to_path_buf(), source })?;
        card.validate(path)?;
        Ok(card)
    }

    /// Builds a card from the thesis project's `config.json` (`scaler_mean`, `scaler_scale`, optionally
    /// `window_size`, `step`/`step_size`, `sampling_rate`) or the retrained model's `scaler_config.json` (`mean`,
    /// `scale`, the same optional keys), and `label_mapping.json` (`{"0": "ear_rubbing", ...}`).
    pub fn from_thesis_files(config: &Path, label_mapping: &Path) -> Result<ModelCard, CardError> {
        let read_json = |p: &Path| -> Result<serde_json::Value, CardError> {
            let text = std::fs::read_to_string(p).map_err(|source| CardError::Io { path: p.to_path_buf(), source })?;
            serde_json::from_str(&text).map_err(|source| CardError::Parse { path: p.to_path_buf(), source })
        };
        let cfg = read_json(config)?;
        let labels = read_json(label_mapping)?;
        let invalid = |path: &Path, field: &'static str, problem: &str| CardError::Invalid {
            path: path.to_path_buf(),
            field,
            problem: problem.to_string(),
        };
        // `config.json` spells the scaler `scaler_mean`/`scaler_scale`; the retrained model's `scaler_config.json`
        // spells it `mean`/`scale`. Whichever spelling the file uses, both lists must be in it.
        let thesis_names = cfg.get("scaler_mean").is_some() || cfg.get("scaler_scale").is_some();
        let bare_names = cfg.get("mean").is_some() || cfg.get("scale").is_some();
        if !cfg.is_object() {
            return Err(invalid(
                config,
                "scaler_mean",
                "cannot be read: the file is not a JSON object with `scaler_mean`/`scaler_scale` (config.json) or \
                 `mean`/`scale` (scaler_config.json)",
            ));
        }
        if !thesis_names && !bare_names {
            return Err(invalid(
                config,
                "scaler_mean",
                "is missing: the scaler is `scaler_mean` and `scaler_scale` (config.json) or `mean` and `scale` \
                 (scaler_config.json), one number per channel",
            ));
        }
        let (mean_field, scale_field) = if thesis_names { ("scaler_mean", "scaler_scale") } else { ("mean", "scale") };
        let numbers = |field: &'static str| -> Result<Vec<f64>, CardError> {
            let value = cfg.get(field).ok_or_else(|| {
                invalid(config, field, "is missing (the scaler needs both lists, one number per channel)")
            })?;
            value
                .as_array()
                .ok_or_else(|| invalid(config, field, "is not a list of numbers"))?
                .iter()
                .map(|v| v.as_f64().ok_or_else(|| invalid(config, field, "holds a value that is not a number")))
                .collect()
        };
        let mean = numbers(mean_field)?;
        let scale = numbers(scale_field)?;
        let map = labels
            .as_object()
            .ok_or_else(|| invalid(label_mapping, "label_mapping", "must be an object {\"0\": \"class\", ...}"))?;
        let mut by_index = BTreeMap::new();
        for (k, v) in map {
            let i: usize = k
                .trim()
                .parse()
                .map_err(|_| invalid(label_mapping, "label_mapping", &format!("key `{k}` is not an index")))?;
            let name = v
                .as_str()
                .ok_or_else(|| invalid(label_mapping, "label_mapping", &format!("value of `{k}` is not a string")))?;
            by_index.insert(i, name.to_string());
        }
        let classes: Vec<String> = by_index.values().cloned().collect();
        if by_index.keys().copied().ne(0..classes.len()) {
            return Err(invalid(label_mapping, "label_mapping", "indices must run 0, 1, 2, ... without gaps"));
        }
        let get_usize =
            |keys: &[&str]| keys.iter().find_map(|k| cfg.get(*k).and_then(|v| v.as_u64())).map(|v| v as usize);
        let window = get_usize(&["window_size", "window", "time_steps"]).unwrap_or(200);
        let step = get_usize(&["step", "step_size", "stride"]);
        let rate = ["sampling_rate", "sample_rate_hz", "sample_rate", "fs"]
            .iter()
            .find_map(|k| cfg.get(*k).and_then(|v| v.as_f64()))
            .unwrap_or(50.0);
        let card = ModelCard {
            format: default_format(),
            name: default_name(),
            version: default_version(),
            description: String::new(),
            classes,
            channels: ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"].iter().map(|s| s.to_string()).collect(),
            units: Units::default(),
            sample_rate_hz: rate,
            window,
            step,
            input_layout: InputLayout::Ntc,
            scaler: ScalerParams { mean, scale },
            output: OutputKind::Probabilities,
            temperature: None,
            baseline: None,
            provenance: serde_json::Value::Null,
        };
        card.validate(config)?;
        Ok(card)
    }

    /// Checks the card on its own (the graph is checked against it when the model loads).
    pub fn validate(&self, path: &Path) -> Result<(), CardError> {
        let invalid =
            |field: &'static str, problem: String| CardError::Invalid { path: path.to_path_buf(), field, problem };
        if self.classes.is_empty() {
            return Err(invalid("classes", "is empty".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.classes {
            if c.trim().is_empty() {
                return Err(invalid("classes", "holds an empty name".into()));
            }
            if !seen.insert(c.as_str()) {
                return Err(invalid("classes", format!("names `{c}` twice")));
            }
        }
        if self.channels.is_empty() {
            return Err(invalid("channels", "is empty".into()));
        }
        // Channels are matched to the file's columns by name, ignoring case (docs/FORMATS.md §1): two entries that differ
        // only in case would claim the same column, and the file would be blamed for a missing one.
        for (i, c) in self.channels.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(invalid("channels", format!("entry {i} is an empty name")));
            }
            if let Some(first) = self.channels[..i].iter().position(|d| d.trim().eq_ignore_ascii_case(c.trim())) {
                return Err(invalid(
                    "channels",
                    format!("names `{c}` twice (entries {first} and {i}); each input channel must be named once"),
                ));
            }
        }
        if self.window == 0 {
            return Err(invalid("window", "must be at least 1".into()));
        }
        if let Some(step) = self.step
            && step == 0
        {
            return Err(invalid("step", "must be at least 1".into()));
        }
        if !(self.sample_rate_hz.is_finite() && self.sample_rate_hz > 0.0) {
            return Err(invalid("sample_rate_hz", format!("must be a positive number, not {}", self.sample_rate_hz)));
        }
        let n = self.channels.len();
        if self.scaler.mean.len() != n {
            return Err(invalid(
                "scaler",
                format!("`mean` has {} numbers but `channels` names {n}", self.scaler.mean.len()),
            ));
        }
        if self.scaler.scale.len() != n {
            return Err(invalid(
                "scaler",
                format!("`scale` has {} numbers but `channels` names {n}", self.scaler.scale.len()),
            ));
        }
        if let Some((i, s)) = self.scaler.scale.iter().enumerate().find(|(_, s)| !(s.is_finite() && **s > 0.0)) {
            return Err(invalid("scaler", format!("`scale[{i}]` must be a positive number, not {s}")));
        }
        if let Some((i, m)) = self.scaler.mean.iter().enumerate().find(|(_, m)| !m.is_finite()) {
            return Err(invalid("scaler", format!("`mean[{i}]` must be a finite number, not {m}")));
        }
        if let Some(t) = self.temperature {
            let (low, high) = crate::numeric::TEMPERATURE_RANGE;
            if !(t.is_finite() && (low..=high).contains(&t)) {
                return Err(invalid("temperature", format!("must be a number from {low} to {high}, not {t}")));
            }
        }
        Ok(())
    }

    /// Rows between the starts of consecutive windows (`window / 2` when the card does not say).
    pub fn step(&self) -> usize {
        self.step.unwrap_or((self.window / 2).max(1))
    }

    /// Index of a class by name.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }

    /// Length of one window in seconds.
    pub fn window_seconds(&self) -> f64 {
        self.window as f64 / self.sample_rate_hz
    }

    /// Writes the card as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serialising a plain struct of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_json() -> &'static str {
        r#"{
          "format": "har-model-card/1", "name": "t", "version": "1",
          "classes": ["a", "b"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
          "units": {"accel": "milli-g", "gyro": "deg/s"},
          "sample_rate_hz": 50.0, "window": 200, "input_layout": "NCT",
          "scaler": {"mean": [0,0,0,0,0,0], "scale": [1,1,1,1,1,1]}, "output": "logits"
        }"#
    }

    #[test]
    fn parses_spec_card_with_defaults() {
        let card = ModelCard::from_json(demo_json(), Path::new("t.model.json")).unwrap();
        assert_eq!(card.units.accel, AccelUnit::MilliG);
        assert_eq!(card.input_layout, InputLayout::Nct);
        assert_eq!(card.output, OutputKind::Logits);
        assert_eq!(card.step(), 100, "step defaults to window / 2");
    }

    #[test]
    fn scaler_length_mismatch_names_field_and_numbers() {
        let text = demo_json().replace("\"mean\": [0,0,0,0,0,0]", "\"mean\": [0,0,0]");
        let err = ModelCard::from_json(&text, Path::new("x.model.json")).unwrap_err().to_string();
        assert!(
            err.contains("x.model.json") && err.contains("scaler") && err.contains("3") && err.contains("6"),
            "{err}"
        );
    }

    #[test]
    fn a_channel_named_twice_is_refused_naming_the_card() {
        for twice in [r#"["Ax","Ay","Az","Gx","Gy","Gy"]"#, r#"["Ax","Ay","Az","Gx","Gy","gy"]"#] {
            let text = demo_json().replace(r#"["Ax","Ay","Az","Gx","Gy","Gz"]"#, twice);
            let err = ModelCard::from_json(&text, Path::new("x.model.json")).unwrap_err().to_string();
            assert!(
                err.contains("x.model.json") && err.contains("channels") && err.contains("twice"),
                "{twice}: {err}"
            );
        }
    }

    #[test]
    fn missing_required_field_is_reported() {
        let text = demo_json().replace("\"window\": 200,", "");
        let err = ModelCard::from_json(&text, Path::new("x.model.json")).unwrap_err().to_string();
        assert!(err.contains("window"), "{err}");
    }

    #[test]
    fn thesis_files_map_onto_a_card() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.json");
        let map = dir.path().join("label_mapping.json");
        std::fs::write(&cfg, r#"{"scaler_mean": [1,2,3,4,5,6], "scaler_scale": [1,1,1,2,2,2], "window_size": 200}"#)
            .unwrap();
        std::fs::write(&map, r#"{"1": "b", "0": "a", "2": "c"}"#).unwrap();
        let card = ModelCard::from_thesis_files(&cfg, &map).unwrap();
        assert_eq!(card.classes, vec!["a", "b", "c"]);
        assert_eq!(card.scaler.mean[5], 6.0);
        std::fs::write(&map, r#"{"0": "a", "2": "c"}"#).unwrap();
        assert!(ModelCard::from_thesis_files(&cfg, &map).is_err());
    }

    #[test]
    fn scaler_config_json_maps_onto_the_same_card() {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("label_mapping.json");
        std::fs::write(&map, r#"{"1": "b", "0": "a", "2": "c"}"#).unwrap();
        let cfg = dir.path().join("config.json");
        std::fs::write(&cfg, r#"{"scaler_mean": [1,2,3,4,5,6], "scaler_scale": [1,1,1,2,2,2]}"#).unwrap();
        let scaler_cfg = dir.path().join("scaler_config.json");
        std::fs::write(&scaler_cfg, r#"{"mean": [1,2,3,4,5,6], "scale": [1,1,1,2,2,2]}"#).unwrap();
        let from_config = ModelCard::from_thesis_files(&cfg, &map).unwrap();
        let from_scaler_config = ModelCard::from_thesis_files(&scaler_cfg, &map).unwrap();
        assert_eq!(from_config, from_scaler_config);
        assert_eq!(from_scaler_config.scaler.scale, vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        assert_eq!((from_scaler_config.window, from_scaler_config.step()), (200, 100));
    }

    #[test]
    fn a_scaler_list_missing_is_named_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let map = dir.path().join("label_mapping.json");
        std::fs::write(&map, r#"{"0": "a"}"#).unwrap();
        let cfg = dir.path().join("scaler_config.json");
        for (text, field) in [
            (r#"{"mean": [1,2,3,4,5,6]}"#, "`scale`"),
            (r#"{"scaler_scale": [1,1,1,1,1,1]}"#, "`scaler_mean`"),
            (r#"{"window_size": 200}"#, "`scaler_mean`"),
            (r#"[1, 2]"#, "`scaler_mean`"),
        ] {
            std::fs::write(&cfg, text).unwrap();
            let err = ModelCard::from_thesis_files(&cfg, &map).unwrap_err().to_string();
            assert!(err.contains("scaler_config.json") && err.contains(field), "{text}: {err}");
        }
        std::fs::write(&cfg, r#"{"window_size": 200}"#).unwrap();
        let err = ModelCard::from_thesis_files(&cfg, &map).unwrap_err().to_string();
        assert!(err.contains("`mean`") && err.contains("missing"), "{err}");
    }
}
