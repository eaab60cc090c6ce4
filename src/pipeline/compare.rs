//! Two models scored on one labeled file, window by window, through the streaming scorer behind
//! `har-monitor evaluate` ([`super::batch`]): each side's report is exactly what `evaluate` writes for that model,
//! and the windows of both are checked to be the same ones (rows and true label) before they are paired for
//! McNemar's test ([`crate::eval::compare`]). The one computation behind `har-monitor compare` and the evaluation
//! view's comparison.
//!
//! The file is read once per model (each model's card decides its units and timestamps, as `evaluate` would);
//! model A's sessions are freed before model B's load, so the memory is one model's at a time. Per window only
//! its rows, true label and A's predicted class are kept in between.

use std::fmt;
use std::path::{Path, PathBuf};

use super::batch::{BatchError, BatchOptions, DataInput, StreamSummary, open_with_model};
use crate::eval::compare::{CompareMismatch, class_difference};
use crate::eval::{
    Comparison, EvaluationAccumulator, EvaluationReport, ModelInfo as ReportModel, PairedCounts, ReportContext,
};
use crate::model::{CardError, EngineOptions, ModelCard};

/// Which of the two models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

/// What to compare on what.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    pub model_a: PathBuf,
    pub model_b: PathBuf,
    pub data: DataInput,
    pub engine: EngineOptions,
    pub batch: BatchOptions,
}

/// How far a comparison is: which model is scoring, and its windows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareProgress {
    pub side: Side,
    pub done: usize,
    /// At most this many windows (known once the side's first pass ended); `None` while it loads.
    pub total: Option<usize>,
}

/// Why a comparison could not be made. Every message names the model or file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("model {side} ({}): {source}", model.display())]
    Card { side: Side, model: PathBuf, source: CardError },
    #[error("model {side} ({}): {source}", model.display())]
    Scoring { side: Side, model: PathBuf, source: BatchError },
    /// The class lists differ (the message names the difference).
    #[error("{0}")]
    Classes(String),
    /// The two models do not give the same windows (the message says how).
    #[error("{0}")]
    Windows(String),
    #[error("{}: the file has no label column (`activity`, `label` or `class`), so the models cannot be compared on it", path.display())]
    NoLabels { path: PathBuf },
    #[error("{}: {problem}", path.display())]
    Report { path: PathBuf, problem: String },
    #[error("cancelled")]
    Cancelled,
}

impl CompareError {
    /// True when the user's input is at fault (exit code 2).
    pub fn is_input_error(&self) -> bool {
        match self {
            CompareError::Scoring { source, .. } => source.is_input_error(),
            CompareError::Cancelled => false,
            _ => true,
        }
    }
}

/// A finished comparison and what reading the file did for each model.
#[derive(Debug, Clone)]
pub struct CompareOutcome {
    pub comparison: Comparison,
    pub a: StreamSummary,
    pub b: StreamSummary,
}

/// What is kept of a window of model A until model B has scored it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WindowKey {
    start_row: usize,
    end_row: usize,
    true_label: Option<usize>,
    predicted: usize,
}

/// Scores `request.data` with both models and compares them. `progress` is called as windows are scored; when
/// it returns false the comparison stops with [`CompareError::Cancelled`].
pub fn compare_models(
    request: &CompareRequest,
    progress: &mut dyn FnMut(CompareProgress) -> bool,
) -> Result<CompareOutcome, CompareError> {
    let card = |side: Side, model: &Path| {
        ModelCard::load_for_model(model).map_err(|source| CompareError::Card {
            side,
            model: model.to_path_buf(),
            source,
        })
    };
    let card_a = card(Side::A, &request.model_a)?;
    let card_b = card(Side::B, &request.model_b)?;
    check_cards(&card_a, &card_b)?;

    let (report_a, summary_a, keys) = score_side(request, Side::A, &card_a, progress, |_, _| Ok(()))?;
    let mut paired = PairedCounts::default();
    let mut mismatch: Option<String> = None;
    let mut seen = 0usize;
    let (report_b, summary_b, _) = score_side(request, Side::B, &card_b, progress, |i, key| {
        seen = i + 1;
        match keys.get(i) {
            Some(a) if a.start_row == key.start_row && a.end_row == key.end_row && a.true_label == key.true_label => {
                if let Some(truth) = key.true_label {
                    paired.add(a.predicted == truth, key.predicted == truth);
                }
                Ok(())
            }
            Some(a) => {
                mismatch = Some(format!(
                    "window {i} is not the same for both models: A's covers data rows {}–{}{}, B's rows {}–{}{}. The \
                     file was read differently for each model (their cards' units or channels, bad rows); McNemar's \
                     test needs the same windows",
                    a.start_row,
                    a.end_row,
                    label_text(a.true_label, &card_a.classes),
                    key.start_row,
                    key.end_row,
                    label_text(key.true_label, &card_b.classes)
                ));
                Err(BatchError::Cancelled)
            }
            None => {
                mismatch = Some(format!(
                    "model B gives more windows than model A's {}: the file was read differently for each model; \
                     McNemar's test needs the same windows",
                    keys.len()
                ));
                Err(BatchError::Cancelled)
            }
        }
    })
    .map_err(|e| match (e, mismatch.take()) {
        (CompareError::Cancelled, Some(message)) => CompareError::Windows(message),
        (e, _) => e,
    })?;
    if seen != keys.len() {
        return Err(CompareError::Windows(format!(
            "model A gives {} windows and model B {seen}: the file was read differently for each model; McNemar's \
             test needs the same windows",
            keys.len()
        )));
    }
    let comparison = Comparison::new(report_a, report_b, paired).map_err(|e| match e {
        CompareMismatch::Classes(text) => CompareError::Classes(text),
        other => CompareError::Windows(other.to_string()),
    })?;
    Ok(CompareOutcome { comparison, a: summary_a, b: summary_b })
}

fn label_text(label: Option<usize>, classes: &[String]) -> String {
    match label.and_then(|l| classes.get(l)) {
        Some(name) => format!(" (true class {name})"),
        None => " (no true label)".to_owned(),
    }
}

/// Refuses two cards whose classes differ or that cut a file into different windows.
fn check_cards(a: &ModelCard, b: &ModelCard) -> Result<(), CompareError> {
    if let Some(difference) = class_difference(&a.classes, &b.classes) {
        return Err(CompareError::Classes(difference));
    }
    let cut = |c: &ModelCard| (c.window, c.step(), c.sample_rate_hz);
    if cut(a) != cut(b) {
        let describe =
            |c: &ModelCard| format!("windows of {} rows every {} rows at {} Hz", c.window, c.step(), c.sample_rate_hz);
        return Err(CompareError::Windows(format!(
            "the two models cut the file into different windows: A takes {}, B {}. McNemar's test pairs the same \
             windows, so both cards need the same `window`, `step` and `sample_rate_hz`",
            describe(a),
            describe(b)
        )));
    }
    Ok(())
}

/// Scores the file with one model as `evaluate` does, handing each window's key to `each` (with its index).
fn score_side(
    request: &CompareRequest,
    side: Side,
    card: &ModelCard,
    progress: &mut dyn FnMut(CompareProgress) -> bool,
    mut each: impl FnMut(usize, WindowKey) -> Result<(), BatchError>,
) -> Result<(EvaluationReport, StreamSummary, Vec<WindowKey>), CompareError> {
    let model = match side {
        Side::A => &request.model_a,
        Side::B => &request.model_b,
    };
    let scoring = |source: BatchError| match source {
        BatchError::Cancelled => CompareError::Cancelled,
        source => CompareError::Scoring { side, model: model.clone(), source },
    };
    if !progress(CompareProgress { side, done: 0, total: None }) {
        return Err(CompareError::Cancelled);
    }
    let (mut engines, scorer) =
        open_with_model(model, card, request.engine.clone(), &request.data, &request.batch).map_err(scoring)?;
    if !scorer.has_labels() {
        return Err(CompareError::NoLabels { path: request.data.path().to_path_buf() });
    }
    let total = scorer.windows_hint(card);
    if !progress(CompareProgress { side, done: 0, total: Some(total) }) {
        return Err(CompareError::Cancelled);
    }
    let model_path = engines.first().map(|e| e.model_path().display().to_string()).unwrap_or_default();
    let mut accumulator = EvaluationAccumulator::new(card.classes.len());
    // Only model A's keys are kept (B's are checked against them as they come).
    let mut keys = Vec::new();
    let mut done = 0usize;
    let summary = scorer
        .run_on(&mut engines, &mut |window| {
            let p = window.prediction;
            accumulator.add(p).map_err(|e| BatchError::Output(e.to_string()))?;
            let key = WindowKey {
                start_row: p.start_row,
                end_row: p.end_row,
                true_label: p.true_label,
                predicted: p.predicted(),
            };
            each(done, key)?;
            if side == Side::A {
                keys.push(key);
            }
            done += 1;
            if progress(CompareProgress { side, done, total: Some(total) }) {
                Ok(())
            } else {
                Err(BatchError::Cancelled)
            }
        })
        .map_err(scoring)?;
    drop(engines);
    let context = ReportContext {
        model: ReportModel {
            name: card.name.clone(),
            version: card.version.clone(),
            path: model_path,
            temperature: card.temperature,
        },
        data: request.data.path().display().to_string(),
        windows_skipped: summary.windowing.skipped_non_finite as u64,
        seconds: summary.timing.total,
        notes: summary.report_notes(),
    };
    let mut report = accumulator
        .finish(context, &card.classes)
        .map_err(|e| CompareError::Report { path: request.data.path().to_path_buf(), problem: e.to_string() })?;
    report.timing = Some(summary.timing);
    Ok((report, summary, keys))
}
