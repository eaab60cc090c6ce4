//! Command-line parsing (docs/FORMATS.md §4) and dispatch to the library. Errors caused by the user's input exit with 2,
//! anything else with 1.

mod compare;
mod device;
mod drift;
mod gui;
mod info;
mod limits;
mod mlflow;
mod models;
mod outputs;
mod record;
mod score;
mod serve;
mod signals;
mod simulate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use har_monitor::model::{EngineOptions, ModelError};
use har_monitor::registry::ResolvedModel;

#[derive(Debug, Parser)]
#[command(name = "har-monitor", version, about = "Watch and evaluate a wearable-sensor activity-recognition model")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop app (the default when no command is given).
    Gui(gui::GuiArgs),
    /// Print the model card, the graph's inputs/outputs and the ONNX Runtime in use.
    Info(info::InfoArgs),
    /// Classify every window of a sensor CSV; one row per window.
    Predict(score::PredictArgs),
    /// Score a labeled CSV: accuracy, per-class P/R/F1, Cohen's kappa, confusion matrix, into a report directory.
    Evaluate(score::EvaluateArgs),
    /// Compare two models on one labeled CSV (the same windows for both): metric deltas, both confusion matrices
    /// and McNemar's test, into DIR/compare.json and DIR/compare.png.
    Compare(compare::CompareArgs),
    /// Build the drift baseline of a model from reference data (writes `<stem>.baseline.json` beside --model, or
    /// --out, which is required for the bundled demo model).
    Baseline(drift::BaselineArgs),
    /// Compare a file with the model's baseline, chunk by chunk: prediction drift and input (sensor) drift.
    Drift(drift::DriftArgs),
    /// Generate a synthetic wrist-IMU recording of the 11 behaviours (labeled, or unlabeled production schema).
    Simulate(simulate::SimulateArgs),
    /// Record and classify a live sensor (serial or BLE) or a replay without a window: DIR/samples.csv,
    /// predictions.csv, events.jsonl, session.json; one line per prediction and alert on stdout.
    Record(record::RecordArgs),
    /// A virtual sensor: the simulator streamed in the live line protocol over a pseudo-terminal.
    Device(device::DeviceArgs),
    /// The model over HTTP: the thesis service's endpoints (/predict, /predict/batch, /api/upload, /health,
    /// /model-info, /metrics, /openapi.json).
    Serve(serve::ServeArgs),
    /// Models to and from an MLflow tracking server's model registry: push, pull (into the local registry), list.
    Mlflow(mlflow::MlflowArgs),
    /// The local model registry: list, import, show, alias, rollback, remove (versions by SHA-256, aliases with
    /// their history). Anywhere --model is taken, NAME, NAME@VERSION and NAME@ALIAS name a registry version.
    Models(models::ModelsArgs),
}

/// Options shared by the commands that read a model.
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// ONNX model (its card `<stem>.model.json` beside it), or a registry version: NAME (the highest),
    /// NAME@VERSION or NAME@ALIAS (an existing file of that name wins). Default: the bundled demo model.
    #[arg(long, value_name = "M.onnx|NAME@ALIAS")]
    pub model: Option<String>,
    /// ONNX Runtime shared library to load (default: ORT_DYLIB_PATH, beside the executable, the per-user cache,
    /// else fetched once from PyPI).
    #[arg(long, value_name = "LIB", global = true)]
    pub ort_lib: Option<PathBuf>,
    /// Threads per inference call, 0 to the number of cores (0: for predict/evaluate/drift/baseline one single-threaded
    /// model session per core on alternate batches, in the app one session with one thread per core).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = limits::threads())]
    pub threads: usize,
}

impl ModelArgs {
    /// The model to use: the file given, the registry version named, or the bundled demo model.
    pub fn resolved(&self) -> anyhow::Result<ResolvedModel> {
        match &self.model {
            Some(value) => Ok(har_monitor::registry::resolve_model_arg(value)?),
            None => {
                har_monitor::assets::demo_model().map(|path| ResolvedModel { path, version: None }).ok_or_else(|| {
                    InputError("no --model given and the bundled demo model (models/demo) was not found".into()).into()
                })
            }
        }
    }

    /// The model file to use (see [`ModelArgs::resolved`]).
    pub fn model_path(&self) -> anyhow::Result<PathBuf> {
        Ok(self.resolved()?.path)
    }

    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions { runtime_library: self.ort_lib.clone(), intra_threads: self.threads, batch_size: 0 }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    // `serve` shuts down gracefully on its own signal handling (requests in flight finish).
    if !matches!(cli.command, Some(Command::Serve(_))) {
        signals::install()?;
    }
    match cli.command {
        None => gui::run(gui::GuiArgs::default()),
        Some(Command::Gui(args)) => gui::run(args),
        Some(Command::Info(args)) => info::run(args),
        Some(Command::Predict(args)) => score::predict(args),
        Some(Command::Evaluate(args)) => score::evaluate(args),
        Some(Command::Compare(args)) => compare::run(args),
        Some(Command::Baseline(args)) => drift::baseline(args),
        Some(Command::Drift(args)) => drift::drift(args),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Record(args)) => record::run(args),
        Some(Command::Device(args)) => device::run(args),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Mlflow(args)) => mlflow::run(args),
        Some(Command::Models(args)) => models::run(args),
    }
}

/// The message of an error and its causes, each cause once: library errors often repeat their source's text
/// in their own message (`cannot write X: No space left on device`), and printing the chain would say it twice.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// A marker error: the user's input (arguments, files) was at fault. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Exit code for an error: 2 when any cause in the chain is the user's input, else 1 (docs/FORMATS.md §4).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let input = err.chain().any(|cause| {
        cause.is::<InputError>()
            || cause.is::<har_monitor::model::CardError>()
            || cause.is::<har_monitor::model::RuntimeError>()
            || cause.downcast_ref::<ModelError>().is_some_and(ModelError::is_input_error)
            || cause.is::<har_monitor::data::DataError>()
            || cause.downcast_ref::<har_monitor::pipeline::batch::BatchError>().is_some_and(|e| e.is_input_error())
            || cause.downcast_ref::<har_monitor::pipeline::compare::CompareError>().is_some_and(|e| e.is_input_error())
            || cause.is::<har_monitor::eval::EvalError>()
            || cause.is::<har_monitor::monitor::DriftError>()
            || cause.is::<har_monitor::output::OutputError>()
            || cause.is::<har_monitor::mlflow::MlflowError>()
            || cause.is::<har_monitor::registry::RegistryError>()
            || cause.is::<std::io::Error>()
    });
    if input { 2 } else { 1 }
}
