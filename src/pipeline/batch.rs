//! Scoring a whole file: load, window, scale, run the model in batches. The one computation behind `predict`,
//! `evaluate`, `baseline`, `drift` and the GUI's evaluation view, with progress and cancellation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::data::{
    self, DataError, GAP_PERIODS, LoadOptions, LoadReport, Normalised, Recording, Scaler, WindowFile, Windowing,
    WindowingMode,
};
use crate::eval::{EvaluationReport, ModelInfo as ReportModel, ReportContext, Timing, WindowPrediction};
use crate::model::{Engine, EngineOptions, ModelCard, ModelError};
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
    /// A consumer of the scored windows failed (writing the predictions, building a baseline, ...).
    #[error("{0}")]
    Output(String),
    /// Writing an output file failed (a full disk, a file-size limit); the message names the file.
    #[error(transparent)]
    Write(crate::output::OutputError),
    #[error("cancelled")]
    Cancelled,
}

impl BatchError {
    /// True when the user's input is at fault (exit code 2).
    pub fn is_input_error(&self) -> bool {
        match self {
            BatchError::Data(_) | BatchError::Input { .. } | BatchError::Write(_) => true,
            BatchError::Model(e) => e.is_input_error(),
            BatchError::Output(_) | BatchError::Cancelled => false,
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
    if scored.predictions.is_empty() {
        let card = engine.card();
        let segments = data::segments(&scored.recording, card.sample_rate_hz, options.windowing);
        let longest = segments.iter().map(|(a, b)| b - a).max().unwrap_or(0);
        let rows = scored.recording.len();
        let reason =
            no_windows_reason(rows, longest, card.window, &scored.windowing, &loaded.report, options.windowing);
        return Err(DataError::NoWindows { file: path.to_path_buf(), reason }.into());
    }
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
    /// The evaluation report of this file (docs/FORMATS.md §4 `report.json`): one computation for the CLI and the GUI.
    pub fn evaluation_report(&self, engine: &Engine) -> Result<EvaluationReport, BatchError> {
        let card = engine.card();
        if self.recording.labels.is_none() {
            return Err(BatchError::Input {
                path: self.path.clone(),
                problem: "the file has no label column (`activity`, `label` or `class`), so it cannot be evaluated"
                    .into(),
            });
        }
        let notes = report_notes(&self.load_report, &self.windowing);
        let context = ReportContext {
            model: ReportModel {
                name: card.name.clone(),
                version: card.version.clone(),
                path: engine.model_path().display().to_string(),
                temperature: card.temperature,
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
}

/// One scored window of a streamed file, with its raw rows (physical units, `[t][c]`).
#[derive(Debug, Clone, Copy)]
pub struct ScoredWindow<'a> {
    pub prediction: &'a WindowPrediction,
    pub raw: &'a [f32],
}

impl<'a> ScoredWindow<'a> {
    /// The window as the drift layer takes it.
    pub fn observation(&self) -> WindowObservation<'a> {
        WindowObservation {
            raw: self.raw,
            probabilities: &self.prediction.probabilities,
            true_label: self.prediction.true_label,
        }
    }
}

/// What scoring a streamed file did (its windows went to the caller's sink).
#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub path: PathBuf,
    pub load_report: LoadReport,
    /// Segment and skip counts (`windowing.windows` is empty: the windows were streamed).
    pub windowing: Windowing,
    /// Windows scored.
    pub windows: usize,
    /// Where the time went; `total` is the time until the last window left the sink.
    pub timing: Timing,
    /// Every kept row, when asked for with [`FileScorer::keeping_recording`] (then `windowing.windows` holds the
    /// windows too, indexed by the predictions' `window`).
    pub recording: Option<Recording>,
}

impl StreamSummary {
    /// Notes for the evaluation report (the same as [`ScoredFile::evaluation_report`] writes).
    pub fn report_notes(&self) -> Vec<String> {
        report_notes(&self.load_report, &self.windowing)
    }
}

/// What a scoring job reads.
#[derive(Debug, Clone, PartialEq)]
pub enum DataInput {
    /// A sensor CSV (docs/FORMATS.md §1), windowed as §3 says.
    Csv(PathBuf),
    /// Prepared windows: `X.npy` of windows × window × channels, optional labels (class indices or one-hot).
    Windows { windows: PathBuf, labels: Option<PathBuf>, normalised: Normalised },
}

impl DataInput {
    /// The data file (the windows, for a window array).
    pub fn path(&self) -> &Path {
        match self {
            DataInput::Csv(path) => path,
            DataInput::Windows { windows, .. } => windows,
        }
    }

    /// The input a path names: a `.npy` file is a window array with the labels beside it by the thesis' naming
    /// (`test_X.npy` → `test_y.npy`, when it exists) and the normalisation detected; anything else a CSV file.
    pub fn from_path(path: &Path) -> DataInput {
        if data::is_npy(path) {
            DataInput::Windows {
                windows: path.to_path_buf(),
                labels: data::labels_beside(path),
                normalised: Normalised::Auto,
            }
        } else {
            DataInput::Csv(path.to_path_buf())
        }
    }
}

/// Where the windows of a [`FileScorer`] come from.
#[derive(Debug)]
enum Source {
    /// The rows of a CSV file, cut into windows as they stream.
    Rows(data::RowStream),
    /// A prepared window array, with its load report.
    Windows(WindowFile, LoadReport),
}

/// A file after the first pass, ready to be scored window by window ([`open_scoring`], [`open_data`]).
#[derive(Debug)]
pub struct FileScorer {
    path: PathBuf,
    source: Source,
    windowing: WindowingMode,
    started: Instant,
    load_seconds: f64,
    keep_recording: bool,
}

/// Reads `path` once for a model card (the first pass: checks every row, decides timestamps and units, see
/// [`data::open_csv`]); the windows are scored by [`FileScorer::run`] with an engine of the same card. The
/// engine may be loading meanwhile on another thread.
pub fn open_scoring(card: &ModelCard, path: &Path, options: &BatchOptions) -> Result<FileScorer, BatchError> {
    let started = Instant::now();
    let rows = data::open_csv(path, card, &options.load)?;
    Ok(FileScorer {
        path: path.to_path_buf(),
        source: Source::Rows(rows),
        windowing: options.windowing,
        started,
        load_seconds: started.elapsed().as_secs_f64(),
        keep_recording: false,
    })
}

/// Opens a CSV file ([`open_scoring`]) or a window array (checked against the card: shape, finite values, labels;
/// the normalisation decided) for scoring.
pub fn open_data(card: &ModelCard, data: &DataInput, options: &BatchOptions) -> Result<FileScorer, BatchError> {
    match data {
        DataInput::Csv(path) => open_scoring(card, path, options),
        DataInput::Windows { windows, labels, normalised } => {
            let started = Instant::now();
            let file = WindowFile::open(windows, labels.as_deref(), card, *normalised)?;
            let report = windows_load_report(&file);
            Ok(FileScorer {
                path: windows.clone(),
                source: Source::Windows(file, report),
                windowing: options.windowing,
                started,
                load_seconds: started.elapsed().as_secs_f64(),
                keep_recording: false,
            })
        }
    }
}

/// The load report of a window array: what it holds, the normalisation decision (a note for the evaluation
/// report), its warning.
fn windows_load_report(file: &WindowFile) -> LoadReport {
    let report = file.report();
    let mut notes = vec![format!("{}: {}", file.path().display(), report.normalisation)];
    if file.is_normalised() {
        notes.push(
            "drift and baseline statistics of already normalised windows are taken in the card's units: the \
             windows scaled back with the card's scaler"
                .into(),
        );
    }
    let warnings = report.normalisation.warning.iter().cloned().collect();
    LoadReport::of_windows(file.path().to_path_buf(), report.clone(), notes, warnings)
}

/// Model sessions at most when scoring a file (one per core).
const MAX_SESSIONS: usize = 2;
/// Windows per call and session when several sessions run at once (their memory adds up).
const PARALLEL_BATCH: usize = 32;

/// How many sessions score a file on this machine, and with which options. Unless threads were asked for
/// (`intra_threads > 0`), one single-threaded session per core working on alternate batches: recurrent models
/// gain more from that than from threads inside one call (benches/inference.rs).
pub fn session_layout(mut options: EngineOptions) -> (usize, EngineOptions) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sessions = if options.intra_threads == 0 && cores > 1 { cores.min(MAX_SESSIONS) } else { 1 };
    if sessions > 1 {
        options.intra_threads = 1;
        if options.batch_size == 0 {
            options.batch_size = PARALLEL_BATCH;
        }
    }
    (sessions, options)
}

/// Loads the model at `model` (its sessions as [`session_layout`] gives them, each on its own thread) while the
/// first pass reads `data` ([`open_scoring`]): neither waits for the other. The one start of `predict`,
/// `evaluate`, `drift`, `baseline` and the evaluation view.
pub fn open_with_model(
    model: &Path,
    card: &ModelCard,
    options: EngineOptions,
    data: &DataInput,
    batch: &BatchOptions,
) -> Result<(Vec<Engine>, FileScorer), BatchError> {
    let (sessions, options) = session_layout(options);
    let loading: Vec<_> = (0..sessions)
        .map(|_| {
            let (path, options) = (model.to_path_buf(), options.clone());
            std::thread::Builder::new().name("har-model-load".into()).spawn(move || Engine::load(&path, &options))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| BatchError::Output(format!("cannot start the model-loading threads: {e}")))?;
    let scorer = open_data(card, data, batch);
    let mut engines = Vec::with_capacity(sessions);
    for handle in loading {
        engines.push(handle.join().map_err(|_| BatchError::Output("a model-loading thread failed".into()))??);
    }
    Ok((engines, scorer?))
}

/// A batch of windows waiting for the model.
struct PendingBatch {
    /// Scaled model input and raw values, `per` floats each per window.
    input: Vec<f32>,
    raw: Vec<f32>,
    windows: Vec<WindowPrediction>,
}

impl FileScorer {
    pub fn has_labels(&self) -> bool {
        match &self.source {
            Source::Rows(rows) => rows.has_labels(),
            Source::Windows(file, _) => file.labels().is_some(),
        }
    }

    pub fn has_users(&self) -> bool {
        match &self.source {
            Source::Rows(rows) => rows.has_users(),
            Source::Windows(..) => false,
        }
    }

    /// Keeps every row and window in memory while scoring (the evaluation view shows any window's signals); the
    /// summary's `recording` and `windowing.windows` hold them.
    pub fn keeping_recording(mut self) -> Self {
        self.keep_recording = true;
        self
    }

    /// Windows the file will give at most (its kept rows in one segment), known after the first pass: an upper
    /// bound for progress; segment breaks and non-finite windows make the real count smaller.
    pub fn windows_hint(&self, card: &ModelCard) -> usize {
        let rows = match &self.source {
            Source::Rows(rows) => rows.rows_hint(),
            Source::Windows(file, _) => return file.windows(),
        };
        let (size, step) = (card.window.max(1), card.step().max(1));
        if rows < size { 0 } else { (rows - size) / step + 1 }
    }

    /// The load report of the first pass (timestamp statistics come with the summary).
    pub fn load_report(&self) -> &LoadReport {
        match &self.source {
            Source::Rows(rows) => rows.report(),
            Source::Windows(_, report) => report,
        }
    }

    /// Streams rows → windows → batches → engine, handing each scored window to `sink` in window order.
    /// A file that gives no window at all is an error naming the file and why.
    pub fn run(
        self,
        engine: &mut Engine,
        sink: &mut dyn FnMut(ScoredWindow<'_>) -> Result<(), BatchError>,
    ) -> Result<StreamSummary, BatchError> {
        self.run_on(std::slice::from_mut(engine), sink)
    }

    /// Like [`FileScorer::run`] with several sessions of the same model (e.g. one per core, each on one thread):
    /// batches go to them in turn and run at the same time; the windows still reach `sink` in order. `timing`'s
    /// `inference` is then the sessions' busy time divided by their number.
    pub fn run_on(
        mut self,
        engines: &mut [Engine],
        sink: &mut dyn FnMut(ScoredWindow<'_>) -> Result<(), BatchError>,
    ) -> Result<StreamSummary, BatchError> {
        let Some(first) = engines.first() else {
            return Err(BatchError::Output("no model session to score with".into()));
        };
        let card = first.card().clone();
        let per = first.window_len();
        let batch = first.batch_size().max(1);
        let sessions = engines.len();
        let scaler = Scaler::from_card(&card);
        let period = 1.0 / card.sample_rate_hz;
        let mut windower = data::RowWindower::new(&card, self.windowing);
        let mut timing = Timing { load: self.load_seconds, ..Timing::default() };
        let pass_started = Instant::now();
        let path = self.path.clone();
        let scale_error = |e: data::ScaleError| BatchError::Input { path: path.clone(), problem: e.to_string() };
        let mut scored = 0usize;
        let mut busy = 0.0f64;
        let mut recording = self.keep_recording.then(|| match &self.source {
            Source::Rows(rows) => rows.empty_recording(&card),
            Source::Windows(file, _) => windows_recording(file, &card),
        });
        let mut kept_windows = Vec::new();
        let source = &mut self.source;
        std::thread::scope(|scope| -> Result<(), BatchError> {
            let mut lanes = Vec::with_capacity(sessions);
            for engine in engines.iter_mut() {
                let (job_tx, job_rx) = crossbeam_channel::bounded::<Vec<f32>>(1);
                let (done_tx, done_rx) = crossbeam_channel::bounded::<(Vec<f32>, Result<Vec<f32>, ModelError>, f64)>(1);
                scope.spawn(move || {
                    for input in job_rx {
                        let t = Instant::now();
                        let out = engine.predict(&input);
                        if done_tx.send((input, out, t.elapsed().as_secs_f64())).is_err() {
                            break;
                        }
                    }
                });
                lanes.push((job_tx, done_rx));
            }
            // Batches sent to a session and not yet handed to the sink, oldest first (with their raw values).
            let mut in_flight: std::collections::VecDeque<(usize, PendingBatch)> = std::collections::VecDeque::new();
            let mut spare: Vec<Vec<f32>> = Vec::new();
            let mut next_lane = 0usize;
            let new_pending = |spare: &mut Vec<Vec<f32>>| PendingBatch {
                input: spare.pop().unwrap_or_else(|| vec![0.0; batch * per]),
                raw: vec![0.0; batch * per],
                windows: Vec::with_capacity(batch),
            };
            let mut pending = new_pending(&mut spare);
            let mut counted = 0usize;
            // Hands the oldest batch in flight to the sink.
            let mut finish_oldest = |in_flight: &mut std::collections::VecDeque<(usize, PendingBatch)>,
                                     spare: &mut Vec<Vec<f32>>,
                                     timing: &mut Timing,
                                     busy: &mut f64|
             -> Result<usize, BatchError> {
                let Some((lane, mut done)) = in_flight.pop_front() else { return Ok(0) };
                let Some((_, done_rx)) = lanes.get(lane) else { return Ok(0) };
                let (input, probabilities, seconds) =
                    done_rx.recv().map_err(|_| BatchError::Output("a model session stopped".into()))?;
                *busy += seconds;
                spare.push(input);
                let probabilities = probabilities?;
                let k = card.classes.len();
                let t = Instant::now();
                for (i, (window, p)) in done.windows.iter_mut().zip(probabilities.chunks_exact(k)).enumerate() {
                    window.probabilities = p.to_vec();
                    let raw = done.raw.get(i * per..(i + 1) * per).unwrap_or_default();
                    sink(ScoredWindow { prediction: window, raw })?;
                }
                timing.writing += t.elapsed().as_secs_f64();
                Ok(done.windows.len())
            };
            let submit = |pending: &mut PendingBatch,
                          in_flight: &mut std::collections::VecDeque<(usize, PendingBatch)>,
                          spare: &mut Vec<Vec<f32>>,
                          next_lane: &mut usize|
             -> Result<(), BatchError> {
                let n = pending.windows.len();
                let mut input = std::mem::take(&mut pending.input);
                input.truncate(n * per);
                let lane = *next_lane % sessions;
                *next_lane += 1;
                let Some((job_tx, _)) = lanes.get(lane) else { return Ok(()) };
                job_tx.send(input).map_err(|_| BatchError::Output("a model session stopped".into()))?;
                let full = std::mem::replace(pending, new_pending(spare));
                in_flight.push_back((lane, full));
                Ok(())
            };
            // Takes one window into the batch: its raw values (the card's units, `[t][c]`) and, when the input is
            // already scaled, the model input; sends the batch when it is full. The one path of every window,
            // whether cut from CSV rows or read from a window array.
            let mut accept =
                |raw_values: &[f32], scaled: Option<&[f32]>, mut meta: WindowPrediction| -> Result<(), BatchError> {
                    let i = pending.windows.len();
                    if pending.input.len() < batch * per {
                        pending.input.resize(batch * per, 0.0);
                    }
                    let (Some(input), Some(raw)) =
                        (pending.input.get_mut(i * per..(i + 1) * per), pending.raw.get_mut(i * per..(i + 1) * per))
                    else {
                        return Err(BatchError::Output("a window does not fit the batch".into()));
                    };
                    if raw_values.len() != per || scaled.is_some_and(|s| s.len() != per) {
                        let channels = card.channels.len();
                        return Err(scale_error(data::ScaleError::RaggedRows { found: raw_values.len(), channels }));
                    }
                    match scaled {
                        Some(scaled) => input.copy_from_slice(scaled),
                        None => scaler.fill_rows(raw_values, input).map_err(scale_error)?,
                    }
                    raw.copy_from_slice(raw_values);
                    meta.window = counted;
                    pending.windows.push(meta);
                    counted += 1;
                    if pending.windows.len() == batch {
                        submit(&mut pending, &mut in_flight, &mut spare, &mut next_lane)?;
                        if in_flight.len() >= sessions {
                            scored += finish_oldest(&mut in_flight, &mut spare, &mut timing, &mut busy)?;
                        }
                    }
                    Ok(())
                };
            match source {
                Source::Rows(rows) => {
                    let user_names = rows.user_names().to_vec();
                    while let Some(row) = rows.next_row()? {
                        if let Some(recording) = recording.as_mut() {
                            recording.push_row(&row);
                        }
                        let Some(cut) = windower.push(&row) else { continue };
                        let meta = WindowPrediction {
                            window: 0,
                            start_row: cut.first_file_row as usize,
                            end_row: cut.last_file_row as usize + 1,
                            t_start: cut.first_time,
                            t_end: cut.last_time + period,
                            probabilities: Vec::new(),
                            true_label: cut.window.label,
                            user: cut.window.user.and_then(|u| user_names.get(u as usize).cloned()),
                        };
                        accept(cut.raw, None, meta)?;
                        if recording.is_some() {
                            kept_windows.push(cut.window);
                        }
                    }
                }
                Source::Windows(file, _) => {
                    let view = file.view()?;
                    let normalised = file.is_normalised();
                    let mut values = vec![0.0f32; per];
                    let mut raw = vec![0.0f32; per];
                    let size = card.window;
                    for i in 0..file.windows() {
                        view.copy_window(i, &mut values);
                        let label = file.labels().and_then(|l| l.get(i)).map(|&l| usize::from(l));
                        let meta = window_meta(i, size, period, label);
                        let raw = if normalised {
                            // Drift and baselines are measured in the card's units: undo the card's scaler.
                            scaler.unscale_rows(&values, &mut raw).map_err(scale_error)?;
                            accept(&raw, Some(&values), meta)?;
                            &raw
                        } else {
                            accept(&values, None, meta)?;
                            &values
                        };
                        if let Some(recording) = recording.as_mut() {
                            let (start, end) = (i * size, (i + 1) * size);
                            let code = label.map(|l| l as u16);
                            for (t, values) in raw.chunks_exact(card.channels.len()).enumerate() {
                                let row = start + t;
                                let time = row as f64 * period;
                                let file_row = u32::try_from(row).unwrap_or(u32::MAX);
                                recording.push_row(&data::Row { values, time, file_row, label: code, user: None });
                            }
                            kept_windows.push(data::Window { start, end, label, user: None, segment: i as u32 });
                        }
                    }
                }
            }
            if !pending.windows.is_empty() {
                submit(&mut pending, &mut in_flight, &mut spare, &mut next_lane)?;
            }
            while !in_flight.is_empty() {
                scored += finish_oldest(&mut in_flight, &mut spare, &mut timing, &mut busy)?;
            }
            // Leaving the scope drops the job senders, which ends the sessions' threads.
            Ok(())
        })?;
        timing.inference = busy / sessions as f64;
        let pass = pass_started.elapsed().as_secs_f64();
        timing.windowing = (pass - timing.inference - timing.writing).max(0.0);
        timing.total = self.started.elapsed().as_secs_f64();
        let (load_report, windowing) = match self.source {
            Source::Rows(rows) => {
                let tally = windower.tally();
                let mut windowing = windower.finish();
                windowing.windows = kept_windows;
                let load_report = rows.finish();
                if scored == 0 {
                    let reason = no_windows_reason(
                        tally.rows,
                        tally.longest_segment,
                        card.window,
                        &windowing,
                        &load_report,
                        self.windowing,
                    );
                    return Err(DataError::NoWindows { file: self.path, reason }.into());
                }
                (load_report, windowing)
            }
            Source::Windows(file, load_report) => {
                // Every window is its own segment: nothing is known of what lies between them.
                let windowing = Windowing {
                    windows: kept_windows,
                    skipped_non_finite: 0,
                    segments: file.windows(),
                    short_segments: 0,
                };
                (load_report, windowing)
            }
        };
        Ok(StreamSummary { path: self.path, load_report, windowing, windows: scored, timing, recording })
    }
}

/// A window of a window array as a prediction row (docs/FORMATS.md §4): the windows are taken as laid end to end
/// at the card's rate, so window `i` covers rows `i·window .. (i+1)·window` of the array read as
/// (windows·window) × channels, and `t_start`/`t_end` are those rows in seconds from the first.
fn window_meta(i: usize, window: usize, period: f64, label: Option<usize>) -> WindowPrediction {
    let (start, end) = (i * window, (i + 1) * window);
    WindowPrediction {
        window: i,
        start_row: start,
        end_row: end,
        t_start: start as f64 * period,
        t_end: end as f64 * period,
        probabilities: Vec::new(),
        true_label: label,
        user: None,
    }
}

/// An empty recording for the rows of a window array (laid end to end, as [`window_meta`] counts them), to be
/// filled while scoring when the caller keeps the recording.
fn windows_recording(file: &WindowFile, card: &ModelCard) -> Recording {
    let rows = file.windows() * card.window;
    Recording {
        source: file.path().to_path_buf(),
        channel_names: card.channels.clone(),
        channels: vec![Vec::with_capacity(rows); card.channels.len()],
        labels: file.labels().map(|_| Vec::with_capacity(rows)),
        ..Recording::default()
    }
}

/// Why a file gave no window, in words (for [`DataError::NoWindows`]).
fn no_windows_reason(
    rows: usize,
    longest_segment: usize,
    window: usize,
    windowing: &Windowing,
    report: &LoadReport,
    mode: WindowingMode,
) -> String {
    if rows < window {
        return format!(
            "it has {rows} usable row{}, and a window needs {window} (the model card's `window`)",
            if rows == 1 { "" } else { "s" }
        );
    }
    if windowing.skipped_non_finite > 0 {
        return format!("all {} windows hold non-finite values", windowing.skipped_non_finite);
    }
    if mode == WindowingMode::Segments && windowing.segments > 1 {
        return format!(
            "its {rows} rows fall into {} segments and none is as long as a window of {window} rows (the longest \
             has {longest_segment}); segments break at user changes and at timestamp steps backwards or larger \
             than {GAP_PERIODS} sample periods ({} gap(s), {} step(s) back in time here). `--windowing \
             contiguous` ignores the breaks",
            windowing.segments, report.time_gaps, report.time_backwards
        );
    }
    format!("its {rows} rows gave no window of {window} rows")
}

/// The notes of an evaluation report that come from loading and windowing.
fn report_notes(load_report: &LoadReport, windowing: &Windowing) -> Vec<String> {
    let mut notes: Vec<String> = load_report.notes.iter().chain(&load_report.warnings).cloned().collect();
    if load_report.bad_rows > 0 {
        notes.push(format!("{} bad rows skipped while loading", load_report.bad_rows));
    }
    if windowing.skipped_non_finite > 0 {
        notes.push(format!("{} windows skipped for non-finite values", windowing.skipped_non_finite));
    }
    notes
}
