//! `har-monitor predict` and `har-monitor evaluate`: score a file window by window, and (with labels) write the
//! full evaluation report (docs/FORMATS.md §4).

use std::path::{Path, PathBuf};

use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use har_monitor::data::{LoadOptions, LoadReport, Normalised, WindowingMode};
use har_monitor::eval::{
    EvaluationAccumulator, ModelInfo as ReportModel, PredictionColumns, PredictionWriter, REPORT_FILES, ReportContext,
    write_report_files,
};
use har_monitor::model::{AccelUnit, Engine, ModelCard};
use har_monitor::output::AtomicFile;
use har_monitor::pipeline::batch::{
    self, BatchError, BatchOptions, DataInput, FileScorer, ScoredWindow, StreamSummary,
};
use har_monitor::registry::{EvaluationSummary, Registry};

use super::outputs::Inputs;
use super::{InputError, ModelArgs, limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum WindowingArg {
    /// New segments at user changes and timestamp gaps (default).
    #[default]
    Segments,
    /// One segment for the whole file: the thesis pipeline exactly.
    Contiguous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum NormalisedArg {
    /// Decide from the windows' per-channel statistics (default).
    #[default]
    Auto,
    /// Already scaled with the card's scaler: fed to the model as they are.
    Yes,
    /// In the card's raw units: scaled with the card's scaler first.
    No,
}

/// Options shared by the commands that read a data file.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Sensor CSV (labeled or production schema, docs/FORMATS.md §1).
    #[arg(long, value_name = "FILE.csv", required_unless_present = "windows", conflicts_with = "windows")]
    pub data: Option<PathBuf>,
    /// Prepared windows instead of a CSV: a NumPy array windows x window x channels (float32 or float64, the
    /// thesis' test_X.npy), docs/FORMATS.md §3.
    #[arg(long, value_name = "X.npy")]
    pub windows: Option<PathBuf>,
    /// Labels of --windows: one class index per window (int or float), or one-hot windows x classes.
    #[arg(long, value_name = "y.npy", conflicts_with = "data")]
    pub labels: Option<PathBuf>,
    /// Whether --windows are already normalised with the card's scaler (auto: decided from their statistics).
    #[arg(long, value_enum, value_name = "yes|no|auto", default_value_t = NormalisedArg::Auto, conflicts_with = "data")]
    pub normalised: NormalisedArg,
    /// How windows are cut (docs/FORMATS.md §3).
    #[arg(long, value_enum, default_value_t = WindowingArg::Segments)]
    pub windowing: WindowingArg,
    /// The unit the file's accelerometer is in; overrides detection and the card (as-is, g, milli-g, m/s2).
    #[arg(long, value_name = "UNIT", conflicts_with = "windows")]
    pub accel_unit: Option<AccelUnit>,
    /// Keep rows whose label is not one of the model's classes (they are not scored) instead of refusing the file.
    #[arg(long, conflicts_with = "windows")]
    pub ignore_unknown_labels: bool,
    /// Windows per inference call, 0 to 4096 (0: the default, 64; a fixed-batch model uses its own).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = limits::count(limits::BATCH))]
    pub batch: usize,
    /// Exit 0 even when bad rows were skipped (they are always reported). Without it, the outputs are still
    /// written but the exit code is 2, so a script notices that the input was not clean.
    #[arg(long)]
    pub allow_bad_rows: bool,
}

impl DataArgs {
    /// The data file (the windows, for --windows).
    pub fn path(&self) -> &Path {
        self.windows.as_deref().or(self.data.as_deref()).unwrap_or(Path::new(""))
    }

    /// What the command reads.
    pub fn input(&self) -> DataInput {
        match &self.windows {
            Some(windows) => DataInput::Windows {
                windows: windows.clone(),
                labels: self.labels.clone(),
                normalised: match self.normalised {
                    NormalisedArg::Auto => Normalised::Auto,
                    NormalisedArg::Yes => Normalised::Yes,
                    NormalisedArg::No => Normalised::No,
                },
            },
            None => DataInput::Csv(self.path().to_path_buf()),
        }
    }

    /// The input files, for the check that no output replaces one of them.
    pub fn inputs(&self) -> Inputs {
        let inputs = Inputs::new().with("data file", self.path());
        match &self.labels {
            Some(labels) => inputs.with("labels file", labels),
            None => inputs,
        }
    }

    /// Why the data cannot be evaluated without labels, in words.
    pub fn no_labels_message(&self) -> String {
        if self.windows.is_some() {
            let beside = har_monitor::data::labels_beside(self.path())
                .map(|p| format!(" (such as {} beside it)", p.display()))
                .unwrap_or_default();
            format!(
                "{}: no labels for these windows, so they cannot be evaluated; pass --labels y.npy{beside}",
                self.path().display()
            )
        } else {
            format!(
                "{}: the file has no label column (`activity`, `label` or `class`), so it cannot be evaluated",
                self.path().display()
            )
        }
    }

    /// After the outputs are written: exit 2 when rows were skipped, unless the user accepts that.
    pub fn check_bad_rows(&self, load_report: &LoadReport) -> anyhow::Result<()> {
        let bad = load_report.bad_rows;
        if bad > 0 && !self.allow_bad_rows {
            return Err(InputError(format!(
                "{}: {bad} bad row{} skipped (listed above with their line numbers); the outputs were written \
                 without them. Pass --allow-bad-rows to accept such files with exit code 0",
                self.path().display(),
                if bad == 1 { " was" } else { "s were" }
            ))
            .into());
        }
        Ok(())
    }

    pub fn batch_options(&self) -> BatchOptions {
        BatchOptions {
            load: LoadOptions { accel_unit: self.accel_unit, ignore_unknown_labels: self.ignore_unknown_labels },
            windowing: match self.windowing {
                WindowingArg::Segments => WindowingMode::Segments,
                WindowingArg::Contiguous => WindowingMode::Contiguous,
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output CSV, one row per window.
    #[arg(long, value_name = "predictions.csv")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Report directory (created): report.json, confusion_matrix.csv/.png, per_class.csv, predictions.csv.
    #[arg(long, value_name = "REPORT_DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub mlflow: super::mlflow::EvaluateLogArgs,
}

/// Loads the model (one session per core) and reads the file once (the first pass: every row checked,
/// timestamps and units decided), at the same time.
pub fn open(model: &ModelArgs, data: &DataArgs) -> anyhow::Result<(Vec<Engine>, FileScorer)> {
    let mut options = model.engine_options();
    options.batch_size = data.batch;
    let path = model.model_path()?;
    let card = ModelCard::load_for_model(&path)?;
    Ok(batch::open_with_model(&path, &card, options, &data.input(), &data.batch_options())?)
}

/// Streams the file's windows through the model into `sink`, then prints what loading did.
pub fn run(
    engines: &mut [Engine],
    scorer: FileScorer,
    sink: &mut dyn FnMut(ScoredWindow<'_>) -> Result<(), BatchError>,
) -> anyhow::Result<StreamSummary> {
    let summary = scorer.run_on(engines, sink)?;
    eprint!("{}", summary.load_report);
    Ok(summary)
}

/// The model's classes (every session has the same card).
fn scorer_classes(engines: &[Engine]) -> anyhow::Result<Vec<String>> {
    engines.first().map(|e| e.card().classes.clone()).context("no model session")
}

fn eval_error(e: har_monitor::eval::EvalError) -> BatchError {
    BatchError::Output(e.to_string())
}

/// A failed write of the output file at `path`, named as such (exit 2, like every other output failure).
fn write_error(path: &std::path::Path) -> impl Fn(har_monitor::eval::EvalError) -> BatchError + '_ {
    move |e| match e {
        har_monitor::eval::EvalError::CsvStream(source) => {
            BatchError::Write(har_monitor::output::OutputError::new(path, std::io::Error::from(source)))
        }
        har_monitor::eval::EvalError::Io { source, .. } => {
            BatchError::Write(har_monitor::output::OutputError::new(path, source))
        }
        other => eval_error(other),
    }
}

pub fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let model = args.model.model_path()?;
    args.data.inputs().with_model(&model, true).refuse_as_output("--out", &args.out)?;
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    let classes = scorer_classes(&engines)?;
    let columns = PredictionColumns { true_label: scorer.has_labels(), user: false };
    let file = AtomicFile::create(&args.out)?;
    let mut writer = PredictionWriter::new(file, &classes, columns).map_err(write_error(&args.out))?;
    let summary = run(&mut engines, scorer, &mut |w| writer.write(w.prediction).map_err(write_error(&args.out)))?;
    let file = writer.finish().map_err(write_error(&args.out))?;
    file.commit()?;
    eprintln!(
        "{} windows ({} skipped) in {:.2} s → {}",
        summary.windows,
        summary.windowing.skipped_non_finite,
        summary.timing.total,
        args.out.display()
    );
    args.data.check_bad_rows(&summary.load_report)
}

pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let resolved = args.model.resolved()?;
    let model = resolved.path.clone();
    let inputs = args.data.inputs().with_model(&model, true);
    inputs.refuse_in_dir("--out", &args.out, &REPORT_FILES)?;
    let mlflow = args.mlflow.client()?;
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    if !scorer.has_labels() {
        return Err(InputError(args.data.no_labels_message()).into());
    }
    let card = engines.first().map(|e| e.card().clone()).context("no model session")?;
    let model_path = engines.first().map(|e| e.model_path().display().to_string()).unwrap_or_default();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let predictions_path = args.out.join("predictions.csv");
    let columns = PredictionColumns { true_label: true, user: scorer.has_users() };
    let file = AtomicFile::create(&predictions_path)?;
    let mut writer = PredictionWriter::new(file, &card.classes, columns).map_err(write_error(&predictions_path))?;
    let mut accumulator = EvaluationAccumulator::new(card.classes.len());
    let summary = run(&mut engines, scorer, &mut |w| {
        accumulator.add(w.prediction).map_err(eval_error)?;
        writer.write(w.prediction).map_err(write_error(&predictions_path))
    })?;
    let written = Instant::now();
    let predictions_file = writer.finish().map_err(write_error(&predictions_path))?;
    let context = ReportContext {
        model: ReportModel { name: card.name.clone(), version: card.version.clone(), path: model_path },
        data: args.data.path().display().to_string(),
        windows_skipped: summary.windowing.skipped_non_finite as u64,
        seconds: summary.timing.total,
        notes: summary.report_notes(),
    };
    // The model's memory is not needed for the report files: free it before the figure is drawn.
    drop(engines);
    let mut report = accumulator
        .finish(context, &card.classes)
        .map_err(|e| InputError(format!("{}: {e}", args.data.path().display())))?;
    // Every file is complete before any replaces an earlier report; report.json, written last, carries the timing.
    let mut timing = summary.timing;
    let files = write_report_files(&args.out, &mut report, &card.classes, predictions_file, |report| {
        timing.writing += written.elapsed().as_secs_f64();
        timing.total += written.elapsed().as_secs_f64();
        report.timing = Some(timing);
    })?;
    let kappa = report.cohen_kappa.map(|k| format!("{k:.4}")).unwrap_or_else(|| "undefined".into());
    println!(
        "accuracy {:.4}  macro-F1 {:.4}  weighted-F1 {:.4}  kappa {kappa}  windows {} used, {} skipped  ({:.2} s)",
        report.accuracy,
        report.macro_avg.f1,
        report.weighted.f1,
        report.windows.used,
        report.windows.skipped,
        report.seconds
    );
    println!(
        "time: load {:.2} s, windowing {:.2} s, inference {:.2} s, writing {:.2} s, total {:.2} s",
        timing.load, timing.windowing, timing.inference, timing.writing, timing.total
    );
    for f in files {
        println!("wrote {}", f.display());
    }
    // A registry version keeps the run with it (`models show` lists them).
    if let Some(version) = &resolved.version {
        let summary = EvaluationSummary {
            accuracy: report.accuracy,
            macro_f1: report.macro_avg.f1,
            cohen_kappa: report.cohen_kappa,
            windows: report.windows.used as u64,
            data: args.data.path().display().to_string(),
            seconds: report.seconds,
        };
        Registry::open_default()?.record_evaluation(version, &args.out, &summary).with_context(|| {
            format!(
                "the report was written to {}, but could not be recorded with {}",
                args.out.display(),
                version.spec()
            )
        })?;
        println!("recorded with {} in the registry (`har-monitor models show {}`)", version.spec(), version.spec());
    }
    if let Some(client) = &mlflow {
        let windowing = match args.data.windowing {
            WindowingArg::Segments => "segments",
            WindowingArg::Contiguous => "contiguous",
        };
        let mut params = vec![("windowing".to_string(), windowing.to_string())];
        if let Some(version) = &resolved.version {
            params.push(("registry_version".to_string(), version.spec()));
            params.push(("model_sha256".to_string(), version.sha256.clone()));
        }
        args.mlflow.log(client, &args.out, &card, params)?;
    }
    args.data.check_bad_rows(&summary.load_report)
}
