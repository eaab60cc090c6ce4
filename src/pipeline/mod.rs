//! The live pipeline: a worker thread that reads a source on its own clock, cuts windows, runs the model and
//! sends events to whoever watches (the GUI, a test). Commands go the other way. Both channels are bounded;
//! an event that does not fit is dropped and counted, never blocking the worker and never hidden.

pub mod batch;
pub mod compare;
pub mod recorder;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::model::{Engine, ModelCard, TensorInfo};
use crate::monitor::Baseline;
use crate::monitor::alerts::{Alert, AlertConfig};
use crate::source::{LabelSpan, SampleBatch, SourceInfo, SourceSpec};

/// Capacity of the event channel: a few seconds of events at 100× replay.
pub const EVENT_CAPACITY: usize = 4096;

/// What the worker should do. Sent by the UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Play,
    Pause,
    TogglePlay,
    /// Jump to this source time (seconds).
    Seek(f64),
    /// Replay speed factor (clamped to 0.25–100).
    SetSpeed(f64),
    SetLoop(bool),
    /// Back to the start of the source.
    Restart,
    OpenSource(SourceSpec),
    /// Close the source (a live device is released); the model stays loaded.
    CloseSource,
    LoadModel(PathBuf),
    SetAlerts(AlertConfig),
    /// Start recording the session (samples, predictions, events) into a folder.
    StartRecording(recorder::RecordTarget),
    /// Stop the recording in progress (its files are completed).
    StopRecording,
    Shutdown,
}

/// A model the worker has loaded: where it is, its card, its tensors and the runtime that runs it. (The evaluation
/// report's short description of a model is [`crate::eval::ModelInfo`].)
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub path: PathBuf,
    pub card: ModelCard,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub runtime_version: String,
}

impl LoadedModel {
    /// What `engine` loaded.
    pub fn of(engine: &Engine) -> LoadedModel {
        LoadedModel {
            path: engine.model_path().to_path_buf(),
            card: engine.card().clone(),
            inputs: engine.inputs().to_vec(),
            outputs: engine.outputs().to_vec(),
            runtime_version: engine.runtime().version.clone(),
        }
    }
}

/// Whether drift can be monitored for the loaded model, and against which baseline (or why not).
#[derive(Debug, Clone)]
pub enum DriftStatus {
    /// The model has no baseline file where its card says (`expected`).
    Missing { expected: PathBuf },
    /// The baseline file at `path` cannot be used, or monitoring against it stopped; `why` says why.
    Unusable { path: PathBuf, why: String },
    /// Drift is monitored against this baseline (the drift view compares with its histograms and channel stats).
    Loaded { path: PathBuf, baseline: Arc<Baseline> },
}

impl DriftStatus {
    /// The status in a sentence, with what to do about it; `model` is the loaded model's path.
    pub fn message(&self, model: &std::path::Path) -> String {
        match self {
            DriftStatus::Missing { expected } => {
                format!("no drift baseline at {}: {}", expected.display(), Baseline::how_to_build(model))
            }
            DriftStatus::Unusable { why, .. } => format!("{why}; {}", Baseline::how_to_build(model)),
            DriftStatus::Loaded { path, baseline } => format!(
                "drift baseline {}: {} reference windows from {}",
                path.display(),
                baseline.windows,
                baseline.source
            ),
        }
    }
}

/// One classified window.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePrediction {
    /// Running number of the window since the source opened.
    pub index: u64,
    /// Source time of the window's first sample and just after its last.
    pub t_start: f64,
    pub t_end: f64,
    pub probabilities: Vec<f32>,
    pub predicted: usize,
    pub confidence: f32,
    /// Majority true label when the source knows labels.
    pub true_label: Option<usize>,
    /// Time the model took for the call that classified this window.
    pub latency: Duration,
}

/// Periodic state for the status bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub playing: bool,
    pub position: f64,
    pub duration: Option<f64>,
    pub speed: f64,
    pub looping: bool,
    /// Samples per second received over the last second of wall time, and what the source should give.
    pub rate_received: f64,
    pub rate_expected: f64,
    pub windows: u64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    /// Events that did not fit into the channel.
    pub dropped_events: u64,
    /// Windows skipped because they held non-finite values.
    pub skipped_windows: u64,
    /// The live link (serial, BLE): state, line counts, reconnects, measured rate; `None` for replay/simulation.
    pub link: Option<Box<crate::source::link::LinkStatus>>,
    /// The recording in progress: its folder, rows in `samples.csv` and windows in `predictions.csv`.
    pub recording: Option<RecordingStatus>,
}

/// A recording in progress, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStatus {
    pub dir: PathBuf,
    pub samples: u64,
    pub predictions: u64,
    pub seconds: f64,
}

/// What the worker tells its watchers.
#[derive(Debug, Clone)]
pub enum Event {
    ModelLoaded(Arc<LoadedModel>),
    /// A source opened; `labels` holds the whole file's true-label track when known in advance (replay).
    SourceOpened {
        info: SourceInfo,
        labels: Option<Arc<Vec<LabelSpan>>>,
    },
    /// The source was closed on request.
    SourceClosed,
    Samples(SampleBatch),
    Prediction(LivePrediction),
    Alert(Alert),
    /// The source clock jumped (seek, restart, loop): views drop the signal history after this point.
    Seeked {
        position: f64,
    },
    Status(Status),
    /// Whether drift can be monitored for the loaded model, and against which baseline (or why not).
    DriftStatus(DriftStatus),
    /// A drift chunk closed (every `chunk_windows` windows).
    DriftChunk(Box<crate::monitor::ChunkReport>),
    /// Drift over the most recent `chunk_windows` windows (sent at most about once a second).
    DriftRolling(Box<crate::monitor::ChunkReport>),
    /// A recording started, stopped or could not start.
    Recording(recorder::RecordingEvent),
    /// A replay reached its end (and does not loop).
    Ended,
    /// Something failed; the worker keeps running with what it had.
    Error(String),
}

/// The UI side of a running pipeline.
pub struct PipelineHandle {
    /// `None` only while dropping: dropping the sender is what tells the worker to stop.
    commands: Option<Sender<Command>>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

/// How to start a pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub model: PathBuf,
    pub source: Option<SourceSpec>,
    pub speed: f64,
    pub looping: bool,
    pub playing: bool,
    pub alerts: AlertConfig,
    pub engine: crate::model::EngineOptions,
    pub drift: crate::monitor::DriftConfig,
    /// Record from the start (before the source opens, so nothing of it is missed).
    pub record: Option<recorder::RecordTarget>,
}

impl PipelineHandle {
    /// Starts the worker. `wake` is called after events are sent (the GUI passes `ctx.request_repaint`).
    pub fn spawn(config: PipelineConfig, wake: Box<dyn Fn() + Send>) -> std::io::Result<PipelineHandle> {
        let (command_tx, command_rx) = bounded(256);
        let (event_tx, event_rx) = bounded(EVENT_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("har-pipeline".into())
            .spawn(move || worker::run(config, command_rx, event_tx, wake))?;
        Ok(PipelineHandle { commands: Some(command_tx), events: event_rx, thread: Some(thread) })
    }

    /// Sends a command; false when the worker is gone.
    pub fn send(&self, command: Command) -> bool {
        self.commands.as_ref().is_some_and(|c| c.try_send(command).is_ok())
    }

    /// Events received so far, without waiting.
    pub fn drain(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.try_iter()
    }

    /// Waits up to `timeout` for the next event (for tests and headless use).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for PipelineHandle {
    fn drop(&mut self) {
        // The worker stops when its command channel disconnects, even if the channel is full.
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
