//! Scoring a whole file: load, window, scale, run the model in batches. The one computation behind `predict`,
//! `evaluate`, `baseline`, `drift` and the GUI's evaluation view, with progress and cancellation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::{self, DataError, LoadOptions, LoadReport, Recording, Scaler, Windowing, WindowingMode};
use crate::eval::{EvaluationReport, ModelInfo as ReportModel, ReportContext, WindowPrediction};
use crate::model::{Engine, ModelError};
use crate::monitor::WindowObservation;

/// How to read and window a file.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    pub load: LoadOptions,
    pub windowing: WindowingMode,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path}: {problem}")]
    Input { path: PathBuf, problem: String },
    #[error("cancelled")]
    Cancelled,
}

impl BatchError {
    /// True when the user's input is at fault (exit code 2).
    pub fn is_input_error(&self) -> bool {
        match self {
            BatchError::Data(_) | BatchError::Input { .. } => true,
            BatchError::Model(e) => e.is_input_error(),
            BatchError::Cancelled => false,
        }
    }
}

/// A scored file: what was read, how it was windowed, and one prediction per window.
#[derive(Debug, Clone)]
pub struct ScoredFile {
    pub path: PathBuf,
    pub recording: Recording,
    pub load_report: LoadReport,
    pub windowing: Windowing,
    /// One per window, in window order. `window` is the index into `windowing.windows`.
    pub predictions: Vec<WindowPrediction>,
    /// Wall time of the whole job (load + windowing + inference), seconds.
    pub seconds: f64,
    /// Wall time spent in the model, seconds.
    pub inference_seconds: f64,
}

/// Progress callback: `(windows done, windows total)`; return `false` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// Loads `path` for the engine's card and scores every window.
pub fn score_file(
    engine: &mut Engine,
    path: &Path,
    options: &BatchOptions,
    progress: Progress<'_>,
) -> Result<ScoredFile, BatchError> {
    let started = Instant::now();
    let loaded = data::load_csv(path, engine.card(), &options.load)?;
    let mut scored = score_recording(engine, loaded.recording, options.windowing, progress)?;
    scored.path = path.to_path_buf();
    scored.load_report = loaded.report;
    scored.seconds = started.elapsed().as_secs_f64();
    Ok(scored)
}

/// Scores every window of an already loaded recording.
pub fn score_recording(
    engine: &mut Engine,
    recording: Recording,
    mode: WindowingMode,
    progress: Progress<'_>,
) -> Result<ScoredFile, BatchError> {
    let started = Instant::now();
    let card = engine.card().clone();
    let windowing = data::window(&recording, &card, mode);
    let scaler = Scaler::from_card(&card);
    let per = engine.window_len();
    let k = card.classes.len();
    let total = windowing.windows.len();
    let batch = engine.batch_size().max(1);
    let mut predictions = Vec::with_capacity(total);
    let mut input = vec![0.0f32; batch * per];
    let mut inference_seconds = 0.0;
    let period = 1.0 / card.sample_rate_hz;
    if !progress(0, total) {
        return Err(BatchError::Cancelled);
    }
    for (chunk_index, chunk) in windowing.windows.chunks(batch).enumerate() {
        let n = chunk.len();
        for (i, w) in chunk.iter().enumerate() {
            scaler
                .fill(&recording, w, &mut input[i * per..(i + 1) * per])
                .map_err(|e| BatchError::Input { path: recording.source.clone(), problem: e.to_string() })?;
        }
        let t = Instant::now();
        let probabilities = engine.predict(&input[..n * per])?;
        inference_seconds += t.elapsed().as_secs_f64();
        for (i, (w, p)) in chunk.iter().zip(probabilities.chunks_exact(k)).enumerate() {
            let user = w.user.and_then(|u| recording.user_names.get(u as usize).cloned());
            predictions.push(WindowPrediction {
                window: chunk_index * batch + i,
                start_row: recording.file_row.get(w.start).map_or(w.start, |r| *r as usize),
                end_row: recording.file_row.get(w.end.saturating_sub(1)).map_or(w.end, |r| *r as usize + 1),
                t_start: recording.time.get(w.start).copied().unwrap_or(0.0),
                t_end: recording.time.get(w.end.saturating_sub(1)).map_or(0.0, |t| t + period),
                probabilities: p.to_vec(),
                true_label: w.label,
                user,
            });
        }
        if !progress(predictions.len(), total) {
            return Err(BatchError::Cancelled);
        }
    }
    Ok(ScoredFile {
        path: recording.source.clone(),
        load_report: LoadReport::default(),
        recording,
        windowing,
        predictions,
        seconds: started.elapsed().as_secs_f64(),
        inference_seconds,
    })
}

impl ScoredFile {
    /// The evaluation report of this file (SPEC §4 `report.json`): one computation for the CLI and the GUI.
    pub fn evaluation_report(&self, engine: &Engine) -> Result<EvaluationReport, BatchError> {
        let card = engine.card();
        if self.recording.labels.is_none() {
            return Err(BatchError::Input {
                path: self.path.clone(),
                problem: "the file has no label column (`activity`, `label` or `class`), so it cannot be evaluated"
                    .into(),
            });
        }
        let mut notes: Vec<String> = self.load_report.notes.iter().chain(&self.load_report.warnings).cloned().collect();
        if self.load_report.bad_rows > 0 {
            notes.push(format!("{} bad rows skipped while loading", self.load_report.bad_rows));
        }
        if self.windowing.skipped_non_finite > 0 {
            notes.push(format!("{} windows skipped for non-finite values", self.windowing.skipped_non_finite));
        }
        let context = ReportContext {
            model: ReportModel {
                name: card.name.clone(),
                version: card.version.clone(),
                path: engine.model_path().display().to_string(),
            },
            data: self.path.display().to_string(),
            windows_skipped: self.windowing.skipped_non_finite as u64,
            seconds: self.seconds,
            notes,
        };
        EvaluationReport::build(context, &card.classes, &self.predictions)
            .map_err(|e| BatchError::Input { path: self.path.clone(), problem: e.to_string() })
    }
}

impl ScoredFile {
    /// Raw values (physical units, `[t][c]`) of window `i`.
    pub fn window_raw(&self, i: usize) -> Vec<f32> {
        let Some(w) = self.windowing.windows.get(i) else { return Vec::new() };
        let channels = &self.recording.channels;
        let mut raw = Vec::with_capacity((w.end - w.start) * channels.len());
        for row in w.start..w.end {
            raw.extend(channels.iter().map(|c| c.get(row).copied().unwrap_or(f32::NAN)));
        }
        raw
    }

    /// Raw values of every window, in window order (for the drift statistics).
    pub fn all_window_raw(&self) -> Vec<Vec<f32>> {
        (0..self.windowing.windows.len()).map(|i| self.window_raw(i)).collect()
    }

    /// Drift observations of every window, borrowing `raw` (from [`Self::all_window_raw`]).
    pub fn observations<'a>(&'a self, raw: &'a [Vec<f32>]) -> impl Iterator<Item = WindowObservation<'a>> + 'a {
        raw.iter().zip(&self.predictions).map(|(raw, p)| WindowObservation {
            raw,
            probabilities: &p.probabilities,
            true_label: p.true_label,
        })
    }
}
