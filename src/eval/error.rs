//! What can go wrong while scoring predictions or writing a report; every message names the file or the window.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("class index {index} is out of range: there are {n_classes} classes")]
    ClassOutOfRange { index: usize, n_classes: usize },

    #[error("confusion matrices of different sizes cannot be combined ({left} and {right} classes)")]
    SizeMismatch { left: usize, right: usize },

    #[error("confusion matrix row {row} has {len} cells, expected {n_classes}")]
    RaggedMatrix { row: usize, len: usize, n_classes: usize },

    #[error("window {window}: {got} probabilities, but there are {expected} classes")]
    ProbabilityCount { window: usize, got: usize, expected: usize },

    #[error("no labelled windows to evaluate: every window was skipped or had no true label")]
    NoLabelledWindows,

    #[error("cannot create report directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },

    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("cannot write CSV: {0}")]
    CsvStream(csv::Error),

    #[error("cannot write {path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },

    #[error("cannot write {path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },

    #[error("cannot write {path}: {source}")]
    Image { path: PathBuf, source: image::ImageError },

    #[error("cannot draw the confusion matrix figure: {0}")]
    Draw(String),
}
