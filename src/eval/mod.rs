//! Scoring and reporting: the confusion matrix, scikit-learn-compatible classification metrics, per-window
//! predictions and their CSV, and the evaluation report directory (`report.json`, CSVs, `confusion_matrix.png`)
//! that `har-monitor evaluate`/`predict` write and the GUI's evaluation view shows (docs/FORMATS.md §4).

pub mod calibration;
pub mod compare;
mod confusion;
mod error;
mod metrics;
mod plot;
mod prediction;
mod report;
mod text;

pub use compare::{Comparison, McNemar, McNemarMethod, PairedCounts};
pub use confusion::ConfusionMatrix;
pub use error::EvalError;
pub use metrics::{
    AveragedMetrics, ClassMetrics, ClassificationMetrics, UserAccuracy, natural_cmp, per_user, per_user_from_counts,
};
pub use plot::{
    COMPARE_FIGURE_SIZE, CompareFigure, ConfusionFigure, DEFAULT_FIGURE_SIZE, RELIABILITY_FIGURE_SIZE,
    ReliabilityFigure,
};
pub use prediction::{
    PredictionColumns, PredictionWriter, WindowPrediction, format_float, windows_in_cell, write_predictions,
    write_predictions_csv,
};
pub use report::{
    ClassReport, EvaluationAccumulator, EvaluationReport, ModelInfo, REPORT_FILES, ReportContext, Timing, WindowCounts,
    write_confusion_csv, write_per_class_csv, write_report_dir, write_report_files,
};
