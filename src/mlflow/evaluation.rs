//! Logging an evaluation report to MLflow under the thesis' names (`src/mlflow_tracking.py`,
//! `log_classification_report` and `log_confusion_matrix`): metrics `accuracy`, `f1_macro`, `precision_macro`,
//! `recall_macro`, `f1_weighted`, `kappa`, per-class metrics; artifacts `evaluation/confusion_matrix.png`,
//! `evaluation/confusion_matrix.csv`, `evaluation/classification_report.json`; tags `project`, `model_type`,
//! `task`. Beyond the thesis: the calibration (`ece`, `ece_equal_mass`, `mce`, `brier`, `log_loss`,
//! `mean_confidence`, `temperature`) and `evaluation/reliability.png`. The files are the ones `evaluate` wrote into its report folder.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::client::{ArtifactRoot, Client, MetricValue};
use super::error::{MlflowError, Result};
use super::transfer::thesis_tags;
use crate::eval::EvaluationReport;
use crate::model::ModelCard;

/// The artifact folder of an evaluation run (the thesis' `artifact_path="evaluation"`).
pub const EVALUATION_DIR: &str = "evaluation";

/// The report-folder files logged under `evaluation/`, besides the generated `classification_report.json`.
pub const LOGGED_REPORT_FILES: [&str; 4] =
    ["confusion_matrix.png", "confusion_matrix.csv", "report.json", "per_class.csv"];

/// The reliability diagram, logged as `evaluation/reliability.png` when the report folder has it.
pub const RELIABILITY_FILE: &str = "reliability.png";

/// A logged evaluation run.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRun {
    pub run_id: String,
    pub experiment_id: String,
    pub run_page: String,
    /// The artifacts uploaded (paths under the run's artifacts).
    pub artifacts: Vec<String>,
}

/// An MLflow metric key from a class name (letters, digits, `_ - . / space` are allowed; anything else becomes `_`).
pub fn metric_key(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || "_-./ ".contains(c) { c } else { '_' }).collect()
}

/// The metrics of a report under the thesis' names. `kappa` (and its other thesis name `cohen_kappa`) is left out
/// when it is undefined; per class: `precision_<class>`, `recall_<class>`, `f1_<class>`, `support_<class>`, and
/// `f1_class_<i>` as `src/train.py` names them.
pub fn report_metrics(report: &EvaluationReport) -> Vec<MetricValue> {
    let mut out = Vec::new();
    let mut put = |key: String, value: f64| {
        if value.is_finite() {
            out.push(MetricValue { key, value });
        }
    };
    put("accuracy".into(), report.accuracy);
    put("f1_macro".into(), report.macro_avg.f1);
    put("precision_macro".into(), report.macro_avg.precision);
    put("recall_macro".into(), report.macro_avg.recall);
    put("f1_weighted".into(), report.weighted.f1);
    put("precision_weighted".into(), report.weighted.precision);
    put("recall_weighted".into(), report.weighted.recall);
    if let Some(kappa) = report.cohen_kappa {
        put("kappa".into(), kappa);
        put("cohen_kappa".into(), kappa);
    }
    if let Some(c) = &report.calibration {
        put("ece".into(), c.ece);
        put("ece_equal_mass".into(), c.ece_equal_mass);
        put("mce".into(), c.mce);
        put("brier".into(), c.brier);
        put("log_loss".into(), c.log_loss);
        put("mean_confidence".into(), c.mean_confidence);
        put("temperature".into(), c.temperature);
        if let Some(fit) = &c.fit {
            put("fitted_temperature".into(), fit.temperature);
            put("ece_after_temperature".into(), fit.ece_after);
            put("log_loss_after_temperature".into(), fit.log_loss_after);
        }
    }
    put("n_windows".into(), report.windows.used as f64);
    put("windows_skipped".into(), report.windows.skipped as f64);
    for (i, class) in report.per_class.iter().enumerate() {
        let name = metric_key(&class.class);
        put(format!("precision_{name}"), class.precision);
        put(format!("recall_{name}"), class.recall);
        put(format!("f1_{name}"), class.f1);
        put(format!("support_{name}"), class.support as f64);
        put(format!("f1_class_{i}"), class.f1);
    }
    out
}

/// The report as scikit-learn's `classification_report(..., output_dict=True)`, the thesis' artifact: one entry per
/// class `{"precision", "recall", "f1-score", "support"}`, then `accuracy`, `macro avg`, `weighted avg`.
pub fn classification_report(report: &EvaluationReport) -> Value {
    let mut map = Map::new();
    let total: u64 = report.per_class.iter().map(|c| c.support).sum();
    for class in &report.per_class {
        map.insert(
            class.class.clone(),
            json!({"precision": class.precision, "recall": class.recall, "f1-score": class.f1, "support": class.support}),
        );
    }
    map.insert("accuracy".into(), json!(report.accuracy));
    let avg = |m: &crate::eval::AveragedMetrics| json!({"precision": m.precision, "recall": m.recall, "f1-score": m.f1, "support": total});
    map.insert("macro avg".into(), avg(&report.macro_avg));
    map.insert("weighted avg".into(), avg(&report.weighted));
    Value::Object(map)
}

/// What to log with an evaluation.
#[derive(Debug, Clone)]
pub struct EvaluationLog<'a> {
    pub experiment: &'a str,
    /// The report folder `evaluate` wrote (report.json and the files of [`LOGGED_REPORT_FILES`]).
    pub report_dir: &'a Path,
    pub card: Option<&'a ModelCard>,
    /// More parameters (e.g. the windowing, the data file).
    pub params: Vec<(String, String)>,
    /// The run's name (default: `evaluate <model> on <data file>`).
    pub run_name: Option<String>,
}

/// Logs the evaluation in `log.report_dir` as a new run of `log.experiment`. A failure after the run was created
/// marks it `FAILED`.
pub fn log_evaluation(client: &Client, log: &EvaluationLog<'_>) -> Result<LoggedRun> {
    let report_path = log.report_dir.join("report.json");
    let text = std::fs::read_to_string(&report_path).map_err(|source| MlflowError::Io {
        action: "cannot read",
        path: report_path.clone(),
        source,
    })?;
    let report: EvaluationReport = serde_json::from_str(&text).map_err(|e| MlflowError::Io {
        action: "cannot parse",
        path: report_path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    for name in LOGGED_REPORT_FILES {
        let path = log.report_dir.join(name);
        if !path.is_file() {
            return Err(MlflowError::Io {
                action: "cannot read",
                path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "the report file is missing"),
            });
        }
    }
    let experiment = client.get_or_create_experiment(log.experiment)?;
    let data_name = Path::new(&report.data).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let run_name = log.run_name.clone().unwrap_or_else(|| format!("evaluate {} on {data_name}", report.model.name));
    let mut tags = thesis_tags(log.card);
    tags.push(("har_monitor.kind".into(), "evaluate".into()));
    let run = client.create_run(&experiment.experiment_id, &run_name, &tags)?;
    let result = log_into_run(client, &run.artifact_uri, &run.run_id, &report, log);
    let status = if result.is_ok() { "FINISHED" } else { "FAILED" };
    let ended = client.terminate_run(&run.run_id, status);
    let artifacts = result?;
    ended?;
    Ok(LoggedRun {
        run_page: client.run_page(&experiment.experiment_id, &run.run_id),
        run_id: run.run_id,
        experiment_id: experiment.experiment_id,
        artifacts,
    })
}

fn log_into_run(
    client: &Client,
    artifact_uri: &str,
    run_id: &str,
    report: &EvaluationReport,
    log: &EvaluationLog<'_>,
) -> Result<Vec<String>> {
    let root = ArtifactRoot::from_uri(artifact_uri).ok_or_else(|| MlflowError::NotProxied {
        url: client.url().into(),
        what: format!("run {run_id}"),
        uri: artifact_uri.to_string(),
    })?;
    let mut params = vec![
        ("model_name".to_string(), report.model.name.clone()),
        ("model_version".to_string(), report.model.version.clone()),
        ("model_path".to_string(), report.model.path.clone()),
        ("data_file".to_string(), report.data.clone()),
        ("n_classes".to_string(), report.classes.len().to_string()),
        ("n_windows".to_string(), report.windows.used.to_string()),
    ];
    if let Some(card) = log.card {
        params.push(("window_size".into(), card.window.to_string()));
        params.push(("step_size".into(), card.step().to_string()));
        params.push(("sample_rate_hz".into(), card.sample_rate_hz.to_string()));
    }
    params.extend(log.params.iter().cloned());
    // MLflow keeps parameter values up to 6,000 characters.
    for (_, value) in params.iter_mut() {
        if value.chars().count() > 6000 {
            *value = value.chars().take(6000).collect();
        }
    }
    client.log_batch(run_id, &report_metrics(report), &params, &[])?;

    let mut uploaded = Vec::new();
    let generated = tempfile::NamedTempFile::new().map_err(|source| MlflowError::Io {
        action: "cannot create a temporary file in",
        path: std::env::temp_dir(),
        source,
    })?;
    let json_text = serde_json::to_string_pretty(&classification_report(report)).unwrap_or_default();
    std::fs::write(generated.path(), json_text).map_err(|source| MlflowError::Io {
        action: "cannot write",
        path: generated.path().to_path_buf(),
        source,
    })?;
    let mut files: Vec<(String, PathBuf)> =
        LOGGED_REPORT_FILES.iter().map(|n| (n.to_string(), log.report_dir.join(n))).collect();
    // Reports written before calibration existed have no reliability diagram.
    let reliability = log.report_dir.join(RELIABILITY_FILE);
    if reliability.is_file() {
        files.push((RELIABILITY_FILE.to_string(), reliability));
    }
    files.push(("classification_report.json".into(), generated.path().to_path_buf()));
    for (name, path) in files {
        let rel = format!("{EVALUATION_DIR}/{name}");
        client.upload_artifact(&root.join(&rel), &path)?;
        uploaded.push(rel);
    }
    Ok(uploaded)
}
