//! `har-monitor predict` and `har-monitor evaluate`: score a file window by window, and (with labels) write the
//! full evaluation report (docs/FORMATS.md §4).

use std::path::{Path, PathBuf};

use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use har_monitor::data::{LoadOptions, LoadReport, Normalised, WindowingMode};
use har_monitor::eval::calibration::{DEFAULT_BINS, TemperatureReport, temperature_report};
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
    #[command(flatten)]
    pub temperature: TemperatureArgs,
}

/// Temperature scaling (docs/FORMATS.md §4, `calibration.fit`).
#[derive(Debug, Args, Clone)]
pub struct TemperatureArgs {
    /// Fit the temperature that calibrates the model's probabilities (the lowest log loss on labeled windows) and
    /// write it into the model card as `temperature`, which every command, the app and `serve` then apply. The
    /// report shows ECE, log loss and Brier on --data before and after.
    #[arg(long)]
    pub fit_temperature: bool,
    /// Fit on this labeled CSV instead of --data, so the numbers after are held out (without it they are
    /// in-sample, and the report says so).
    #[arg(long, value_name = "FILE.csv", requires = "fit_temperature")]
    pub fit_on: Option<PathBuf>,
    /// Write the card with the new temperature to this file instead of beside the model (needed for a registry
    /// version or the bundled demo model, which are not changed in place).
    #[arg(long, value_name = "CARD.model.json", requires = "fit_temperature")]
    pub card_out: Option<PathBuf>,
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
    let mut inputs = args.data.inputs().with_model(&model, true);
    if let Some(fit_on) = &args.temperature.fit_on {
        inputs = inputs.with("--fit-on file", fit_on);
    }
    inputs.refuse_in_dir("--out", &args.out, &REPORT_FILES)?;
    let card_target = if args.temperature.fit_temperature {
        let target = card_target(&args.temperature, &model, resolved.version.is_some())?;
        // The card itself is what --fit-temperature rewrites; every other input must survive.
        let mut others = args.data.inputs().with("model", &model);
        if let Some(fit_on) = &args.temperature.fit_on {
            others = others.with("--fit-on file", fit_on);
        }
        others.refuse_as_output("--card-out", &target)?;
        Some(target)
    } else {
        None
    };
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
        model: ReportModel {
            name: card.name.clone(),
            version: card.version.clone(),
            path: model_path,
            temperature: card.temperature,
        },
        data: args.data.path().display().to_string(),
        windows_skipped: summary.windowing.skipped_non_finite as u64,
        seconds: summary.timing.total,
        notes: summary.report_notes(),
    };
    let fit = match &card_target {
        Some(target) => Some(fit_temperature(&args, &accumulator, &card, target)?),
        None => None,
    };
    // The model's memory is not needed for the report files: free it before the figure is drawn.
    drop(engines);
    let mut report = accumulator
        .finish(context, &card.classes)
        .map_err(|e| InputError(format!("{}: {e}", args.data.path().display())))?;
    if let (Some(calibration), Some(fit)) = (report.calibration.as_mut(), fit) {
        calibration.fit = Some(fit);
    }
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
    if let Some(c) = &report.calibration {
        println!(
            "calibration: ECE {:.4} (equal-mass {:.4})  MCE {:.4}  Brier {:.4}  log loss {:.4}  mean confidence {:.4}",
            c.ece, c.ece_equal_mass, c.mce, c.brier, c.log_loss, c.mean_confidence
        );
        if let Some(fit) = &c.fit {
            println!(
                "temperature {:.4} (was {:.4}) fitted on {} ({} windows{}): on {}, ECE {:.4} -> {:.4}, log loss {:.4} -> {:.4}",
                fit.temperature,
                fit.previous_temperature,
                fit.fitted_on,
                fit.windows,
                if fit.held_out { "" } else { ", the evaluated file itself: in-sample" },
                c.data,
                fit.ece_before,
                fit.ece_after,
                fit.log_loss_before,
                fit.log_loss_after,
            );
        }
    }
    for f in files {
        println!("wrote {}", f.display());
    }
    if let (Some(target), Some(fit)) = (&card_target, report.calibration.as_ref().and_then(|c| c.fit.as_ref())) {
        write_temperature(&model, target, fit.temperature).with_context(|| {
            format!("the report was written to {}, but the card with the temperature was not", args.out.display())
        })?;
        println!("wrote {} (temperature {:.4})", target.display(), fit.temperature);
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

/// Where `--fit-temperature` writes the card: `--card-out`, else the card beside the model, which is refused for a
/// registry version (its files are fixed by their SHA-256) and for the bundled demo model.
fn card_target(args: &TemperatureArgs, model: &Path, registry_version: bool) -> anyhow::Result<PathBuf> {
    if let Some(out) = &args.card_out {
        return Ok(out.clone());
    }
    let beside = ModelCard::path_for_model(model);
    let is_demo = har_monitor::assets::demo_model()
        .and_then(|demo| demo.canonicalize().ok())
        .is_some_and(|demo| model.canonicalize().is_ok_and(|m| m == demo));
    if registry_version || is_demo {
        let what = if registry_version {
            "a registry version's files are fixed"
        } else {
            "the bundled demo model is not changed"
        };
        return Err(InputError(format!(
            "--fit-temperature: {what}; pass --card-out FILE.model.json to write the card with the temperature \
             elsewhere (copy the model beside it, or `har-monitor models import` the pair as a new version)"
        ))
        .into());
    }
    Ok(beside)
}

/// Fits the temperature (on --fit-on, else on the evaluated windows) and measures it on the evaluated windows; the
/// card is written by [`write_temperature`] once the report is.
fn fit_temperature(
    args: &EvaluateArgs,
    evaluated: &EvaluationAccumulator,
    card: &ModelCard,
    target: &Path,
) -> anyhow::Result<TemperatureReport> {
    let previous = card.temperature.unwrap_or(1.0);
    let n = card.classes.len();
    let fit_accumulator;
    let (fit, fitted_on, held_out) = match &args.temperature.fit_on {
        Some(fit_on) => {
            let mut data = args.data.clone();
            data.data = Some(fit_on.clone());
            data.windows = None;
            data.labels = None;
            let (mut engines, scorer) = open(&args.model, &data)?;
            if !scorer.has_labels() {
                return Err(InputError(format!("--fit-on: {}", data.no_labels_message())).into());
            }
            let mut accumulator = EvaluationAccumulator::new(n);
            run(&mut engines, scorer, &mut |w| accumulator.add(w.prediction).map_err(eval_error))?;
            fit_accumulator = accumulator;
            (fit_accumulator.labelled(), fit_on.display().to_string(), true)
        }
        None => (evaluated.labelled(), args.data.path().display().to_string(), false),
    };
    let mut report = temperature_report(fit, evaluated.labelled(), n, &fitted_on, held_out, previous, DEFAULT_BINS)
        .map_err(|e| InputError(format!("--fit-temperature on {fitted_on}: {e}")))?;
    report.card = Some(target.display().to_string());
    Ok(report)
}

/// Writes the card of `model` with `temperature` set to `target`: the card's JSON as it was, with that one field
/// changed, written to a temporary file and renamed (a failed write keeps the card as it was).
fn write_temperature(model: &Path, target: &Path, temperature: f64) -> anyhow::Result<()> {
    let source = ModelCard::path_for_model(model);
    let text = std::fs::read_to_string(&source).with_context(|| format!("reading {}", source.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", source.display()))?;
    let Some(object) = json.as_object_mut() else {
        return Err(InputError(format!("{}: a model card is a JSON object", source.display())).into());
    };
    object.insert("temperature".to_owned(), serde_json::json!(temperature));
    let mut out = serde_json::to_string_pretty(&json)?;
    out.push('\n');
    let mut file = AtomicFile::create(target)?;
    std::io::Write::write_all(&mut file, out.as_bytes()).with_context(|| format!("writing {}", target.display()))?;
    file.commit()?;
    Ok(())
}
