//! The evaluation report (`report.json`, docs/FORMATS.md §4) built from per-window predictions, and the report directory:
//! `report.json`, `confusion_matrix.csv`, `per_class.csv`, `predictions.csv` and `confusion_matrix.png`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::calibration::{CalibrationReport, DEFAULT_BINS};
use super::metrics::per_user_from_counts;
use super::plot::{ConfusionFigure, DEFAULT_FIGURE_SIZE, ReliabilityFigure};
use super::prediction::{PredictionColumns, WindowPrediction, format_float, write_predictions};
use super::{AveragedMetrics, ClassificationMetrics, ConfusionMatrix, EvalError, UserAccuracy};
use crate::output::{AtomicFile, OutputError, commit_all};

/// Which model was evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    /// The ONNX file, as given.
    pub path: String,
    /// The card's temperature, when it has one (its probabilities were rescaled by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

/// Windows scored and windows left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    pub used: u64,
    pub skipped: u64,
}

/// One class's line of `per_class`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Windows whose true class is this one.
    pub support: u64,
    /// Windows predicted as this class (an extra beyond docs/FORMATS.md §4).
    pub predicted: u64,
}

/// What the caller knows about an evaluation run besides the predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportContext {
    pub model: ModelInfo,
    /// The data file, as given.
    pub data: String,
    /// Windows the caller left out before prediction (non-finite values, ...).
    pub windows_skipped: u64,
    /// Time the evaluation took, seconds.
    pub seconds: f64,
    /// Notes to carry into the report (unit conversions, skipped rows, ...).
    pub notes: Vec<String>,
}

/// The content of `report.json`. The keys docs/FORMATS.md §4 lists come first and are exact; `classes`,
/// `confusion_matrix_normalized` and `notes` are extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub model: ModelInfo,
    pub data: String,
    pub windows: WindowCounts,
    pub accuracy: f64,
    /// `null` when undefined (one class only, so the expected agreement is 1); scikit-learn returns NaN there.
    pub cohen_kappa: Option<f64>,
    #[serde(rename = "macro")]
    pub macro_avg: AveragedMetrics,
    pub weighted: AveragedMetrics,
    pub per_class: Vec<ClassReport>,
    /// Rows = true class, columns = predicted class, card order.
    pub confusion_matrix: ConfusionMatrix,
    /// Users in natural order ("2" before "10"); empty when the data has no user column.
    pub per_user: Vec<UserAccuracy>,
    pub seconds: f64,
    /// Where the time went (the CLI's `evaluate` fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    /// The card's classes, naming the rows and columns of the matrices.
    pub classes: Vec<String>,
    /// `confusion_matrix` with each row divided by its sum (all zero for a class with no windows).
    pub confusion_matrix_normalized: Vec<Vec<f64>>,
    /// Plain-language notes about the data and the numbers.
    pub notes: Vec<String>,
    /// Whether the probabilities can be believed: reliability, ECE, Brier, log loss (absent in reports written
    /// before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationReport>,
}

/// Where the time of an evaluation went, seconds (an addition to docs/FORMATS.md §4's keys): `load` is the first pass over
/// the file, `windowing` reading the rows back, cutting and scaling windows, `inference` the model, `writing`
/// the per-window outputs and the report files written before `report.json`; `total` the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub load: f64,
    pub windowing: f64,
    pub inference: f64,
    pub writing: f64,
    pub total: f64,
}

/// The evaluation report built window by window, holding counts only (no per-window data): the one computation
/// behind [`EvaluationReport::build`] and the streaming `evaluate`.
#[derive(Debug, Clone)]
pub struct EvaluationAccumulator {
    n_classes: usize,
    matrix: ConfusionMatrix,
    /// `user -> (windows, correct)` of the labelled windows.
    users: HashMap<String, (u64, u64)>,
    unlabelled: u64,
    labelled_without_user: u64,
    /// The labelled windows' probabilities (`n_classes` each) and labels, for the calibration measures, which
    /// need every window (equal-mass bins sort them; a temperature fit revisits them): 4 bytes a class and a label.
    probabilities: Vec<f32>,
    labels: Vec<usize>,
}

impl EvaluationAccumulator {
    pub fn new(n_classes: usize) -> Self {
        Self {
            n_classes,
            matrix: ConfusionMatrix::new(n_classes),
            users: HashMap::new(),
            unlabelled: 0,
            labelled_without_user: 0,
            probabilities: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The labelled windows so far: their probabilities (`n_classes` per window) and true classes.
    pub fn labelled(&self) -> (&[f32], &[usize]) {
        (&self.probabilities, &self.labels)
    }

    /// Counts one window's prediction. Errors: a probability count other than the class count, or a true label
    /// outside the classes.
    pub fn add(&mut self, p: &WindowPrediction) -> Result<(), EvalError> {
        if p.probabilities.len() != self.n_classes {
            return Err(EvalError::ProbabilityCount {
                window: p.window,
                got: p.probabilities.len(),
                expected: self.n_classes,
            });
        }
        let Some(true_class) = p.true_label else {
            self.unlabelled += 1;
            return Ok(());
        };
        let predicted = p.predicted();
        self.matrix.add(true_class, predicted)?;
        self.probabilities.extend_from_slice(&p.probabilities);
        self.labels.push(true_class);
        match &p.user {
            Some(user) => {
                let entry = match self.users.get_mut(user.as_str()) {
                    Some(entry) => entry,
                    None => self.users.entry(user.clone()).or_default(),
                };
                entry.0 += 1;
                entry.1 += u64::from(true_class == predicted);
            }
            None => self.labelled_without_user += 1,
        }
        Ok(())
    }

    /// The report. Errors: no labelled window at all.
    pub fn finish(self, context: ReportContext, classes: &[String]) -> Result<EvaluationReport, EvalError> {
        let matrix = self.matrix;
        let (unlabelled, labelled_without_user) = (self.unlabelled, self.labelled_without_user);
        if matrix.total() == 0 {
            return Err(EvalError::NoLabelledWindows);
        }

        let metrics = ClassificationMetrics::from_confusion(&matrix);
        let calibration = CalibrationReport::compute(
            &context.data,
            context.model.temperature.unwrap_or(1.0),
            &self.probabilities,
            &self.labels,
            classes,
            DEFAULT_BINS,
        );
        let mut notes = context.notes;
        if unlabelled > 0 {
            notes.push(format!(
                "{unlabelled} window(s) had no usable true label and are counted as skipped, not scored."
            ));
        }
        if metrics.cohen_kappa.is_none() {
            notes.push(
                "Cohen's kappa is undefined here (every window and every prediction is the same class, so the \
                 expected agreement is 1); it is written as null (scikit-learn returns NaN)."
                    .to_owned(),
            );
        }
        let absent: Vec<&str> = metrics
            .per_class
            .iter()
            .zip(classes)
            .filter(|(m, _)| m.support == 0)
            .map(|(_, name)| name.as_str())
            .collect();
        if !absent.is_empty() {
            notes.push(format!(
                "No true windows of: {}. Their recall and F1 are 0 by convention (zero_division=0) and they still \
                 count in the macro average.",
                absent.join(", ")
            ));
        }
        if !self.users.is_empty() && labelled_without_user > 0 {
            notes.push(format!("{labelled_without_user} scored window(s) had no user and are not in per_user."));
        }

        let per_class = metrics
            .per_class
            .iter()
            .zip(classes)
            .map(|(m, name)| ClassReport {
                class: name.clone(),
                precision: m.precision,
                recall: m.recall,
                f1: m.f1,
                support: m.support,
                predicted: m.predicted,
            })
            .collect();

        Ok(EvaluationReport {
            model: context.model,
            data: context.data,
            windows: WindowCounts { used: metrics.windows, skipped: context.windows_skipped + unlabelled },
            accuracy: metrics.accuracy,
            cohen_kappa: metrics.cohen_kappa,
            macro_avg: metrics.macro_avg,
            weighted: metrics.weighted_avg,
            per_class,
            confusion_matrix_normalized: matrix.row_normalized(),
            confusion_matrix: matrix,
            per_user: per_user_from_counts(self.users),
            seconds: context.seconds,
            timing: None,
            classes: classes.to_vec(),
            notes,
            calibration,
        })
    }
}

impl EvaluationReport {
    /// Scores the predictions that have a true label. Predictions without one are counted as skipped.
    ///
    /// Errors: a prediction whose probability count differs from `classes.len()`, a true label outside the
    /// classes, or no labelled prediction at all.
    pub fn build(
        context: ReportContext,
        classes: &[String],
        predictions: &[WindowPrediction],
    ) -> Result<Self, EvalError> {
        let mut accumulator = EvaluationAccumulator::new(classes.len());
        for p in predictions {
            accumulator.add(p)?;
        }
        accumulator.finish(context, classes)
    }
}

fn csv_error(path: &Path) -> impl FnOnce(csv::Error) -> EvalError + '_ {
    move |source| EvalError::Csv { path: path.to_owned(), source }
}

fn output_error(error: OutputError) -> EvalError {
    EvalError::Io { path: error.path, source: error.source }
}

/// Writes `confusion_matrix.csv`: a header of predicted classes (first cell `true\predicted`), then one row per
/// true class starting with its name. A failed write leaves an earlier file as it was.
pub fn write_confusion_csv(path: &Path, matrix: &ConfusionMatrix, classes: &[String]) -> Result<(), EvalError> {
    let mut file = AtomicFile::create(path).map_err(output_error)?;
    confusion_csv_to(&mut file, path, matrix, classes)?;
    file.commit().map_err(output_error)
}

fn confusion_csv_to(
    writer: &mut AtomicFile,
    path: &Path,
    matrix: &ConfusionMatrix,
    classes: &[String],
) -> Result<(), EvalError> {
    let mut out = csv::Writer::from_writer(writer);
    let mut header = vec!["true\\predicted".to_owned()];
    header.extend(classes.iter().cloned());
    out.write_record(&header).map_err(csv_error(path))?;
    for (i, name) in classes.iter().enumerate() {
        let mut record = vec![name.clone()];
        record.extend((0..classes.len()).map(|j| matrix.count(i, j).to_string()));
        out.write_record(&record).map_err(csv_error(path))?;
    }
    out.flush().map_err(|source| EvalError::Io { path: path.to_owned(), source })
}

/// Writes `per_class.csv`: `class,precision,recall,f1,support,predicted`, card order. A failed write leaves an
/// earlier file as it was.
pub fn write_per_class_csv(path: &Path, per_class: &[ClassReport]) -> Result<(), EvalError> {
    let mut file = AtomicFile::create(path).map_err(output_error)?;
    per_class_csv_to(&mut file, path, per_class)?;
    file.commit().map_err(output_error)
}

fn per_class_csv_to(writer: &mut AtomicFile, path: &Path, per_class: &[ClassReport]) -> Result<(), EvalError> {
    let mut out = csv::Writer::from_writer(writer);
    out.write_record(["class", "precision", "recall", "f1", "support", "predicted"]).map_err(csv_error(path))?;
    for c in per_class {
        out.write_record([
            c.class.clone(),
            format_float(c.precision),
            format_float(c.recall),
            format_float(c.f1),
            c.support.to_string(),
            c.predicted.to_string(),
        ])
        .map_err(csv_error(path))?;
    }
    out.flush().map_err(|source| EvalError::Io { path: path.to_owned(), source })
}

fn json_to(writer: &mut AtomicFile, path: &Path, report: &EvaluationReport) -> Result<(), EvalError> {
    let mut text =
        serde_json::to_string_pretty(report).map_err(|source| EvalError::Json { path: path.to_owned(), source })?;
    text.push('\n');
    writer.write_all(text.as_bytes()).map_err(|source| EvalError::Io { path: path.to_owned(), source })
}

/// The files of a report directory, in the order [`write_report_dir`] returns them (`reliability.png` when the
/// report has its calibration block, which every report of labelled windows has).
pub const REPORT_FILES: [&str; 6] = [
    "report.json",
    "confusion_matrix.csv",
    "per_class.csv",
    "predictions.csv",
    "confusion_matrix.png",
    "reliability.png",
];

/// Creates `dir` (and its parents) and writes the report directory of `evaluate` into it. Returns the files
/// written: `report.json`, `confusion_matrix.csv`, `per_class.csv`, `predictions.csv`, `confusion_matrix.png`,
/// `reliability.png`. All are written to temporary files first and replace the earlier ones only when every one is complete,
/// so a failed write (a full disk) leaves an earlier report whole.
pub fn write_report_dir(
    dir: &Path,
    report: &EvaluationReport,
    predictions: &[WindowPrediction],
    classes: &[String],
) -> Result<Vec<PathBuf>, EvalError> {
    std::fs::create_dir_all(dir).map_err(|source| EvalError::CreateDir { path: dir.to_owned(), source })?;
    let predictions_csv = dir.join("predictions.csv");
    let mut predictions_file = AtomicFile::create(&predictions_csv).map_err(output_error)?;
    let columns = PredictionColumns { true_label: true, user: predictions.iter().any(|p| p.user.is_some()) };
    write_predictions(&mut predictions_file, predictions, classes, columns).map_err(|e| match e {
        EvalError::CsvStream(source) => EvalError::Csv { path: predictions_csv.clone(), source },
        other => other,
    })?;
    write_report_files(dir, &mut report.clone(), classes, predictions_file, |_| {})
}

/// Writes the report directory around a `predictions.csv` that the caller has already written (a streaming
/// `evaluate` writes it as the windows come) but not yet committed: `confusion_matrix.csv`, `per_class.csv` and
/// `confusion_matrix.png` and `reliability.png` are written, then `before_json` may complete the report (e.g. its
/// timing), then `report.json`; only when all are complete do they replace the earlier files, so a failed write leaves an
/// earlier report whole. `dir` must exist. Returns the files in [`REPORT_FILES`] order.
pub fn write_report_files(
    dir: &Path,
    report: &mut EvaluationReport,
    classes: &[String],
    predictions: AtomicFile,
    before_json: impl FnOnce(&mut EvaluationReport),
) -> Result<Vec<PathBuf>, EvalError> {
    let create = |name: &str| {
        let path = dir.join(name);
        AtomicFile::create(&path).map(|file| (path, file)).map_err(output_error)
    };
    let (confusion, mut confusion_file) = create("confusion_matrix.csv")?;
    confusion_csv_to(&mut confusion_file, &confusion, &report.confusion_matrix, classes)?;
    let (per_class, mut per_class_file) = create("per_class.csv")?;
    per_class_csv_to(&mut per_class_file, &per_class, &report.per_class)?;
    let (png, mut png_file) = create("confusion_matrix.png")?;
    ConfusionFigure::from_report(report).encode_png(&mut png_file, &png, DEFAULT_FIGURE_SIZE)?;
    let reliability = match &report.calibration {
        Some(calibration) => {
            let (path, mut file) = create("reliability.png")?;
            let model = if report.model.version.is_empty() {
                report.model.name.clone()
            } else {
                format!("{} {}", report.model.name, report.model.version)
            };
            ReliabilityFigure { calibration, model }.encode_png(&mut file, &path)?;
            Some((path, file))
        }
        None => None,
    };
    before_json(report);
    let (json, mut json_file) = create("report.json")?;
    json_to(&mut json_file, &json, report)?;
    let predictions_csv = predictions.path().to_path_buf();
    let mut files = vec![json_file, confusion_file, per_class_file, predictions, png_file];
    let mut paths = vec![json, confusion, per_class, predictions_csv, png];
    if let Some((path, file)) = reliability {
        files.push(file);
        paths.push(path);
    }
    commit_all(files).map_err(output_error)?;
    Ok(paths)
}
