//! `har-monitor predict` and `har-monitor evaluate`: score a file window by window, and (with labels) write the
//! full evaluation report (SPEC §4).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use har_monitor::data::{LoadOptions, WindowingMode};
use har_monitor::eval::{PredictionColumns, REPORT_FILES, write_predictions_csv, write_report_dir};
use har_monitor::model::AccelUnit;
use har_monitor::pipeline::batch::{BatchOptions, ScoredFile, score_file};

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

/// Options shared by the commands that read a data file.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Sensor CSV (labeled or production schema, SPEC §1).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// How windows are cut (SPEC §3).
    #[arg(long, value_enum, default_value_t = WindowingArg::Segments)]
    pub windowing: WindowingArg,
    /// The unit the file's accelerometer is in; overrides detection and the card (as-is, g, milli-g, m/s2).
    #[arg(long, value_name = "UNIT")]
    pub accel_unit: Option<AccelUnit>,
    /// Keep rows whose label is not one of the model's classes (they are not scored) instead of refusing the file.
    #[arg(long)]
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
    /// After the outputs are written: exit 2 when rows were skipped, unless the user accepts that.
    pub fn check_bad_rows(&self, scored: &ScoredFile) -> anyhow::Result<()> {
        let bad = scored.load_report.bad_rows;
        if bad > 0 && !self.allow_bad_rows {
            return Err(InputError(format!(
                "{}: {bad} bad row{} skipped (listed above with their line numbers); the outputs were written \
                 without them. Pass --allow-bad-rows to accept such files with exit code 0",
                self.data.display(),
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
}

/// Loads the model and scores the file, printing what loading did.
pub fn score(model: &ModelArgs, data: &DataArgs) -> anyhow::Result<(har_monitor::model::Engine, ScoredFile)> {
    if !data.data.is_file() {
        return Err(InputError(format!("{}: no such file", data.data.display())).into());
    }
    let mut options = model.engine_options();
    options.batch_size = data.batch;
    let path = model.model_path()?;
    let mut engine = har_monitor::model::Engine::load(&path, &options)?;
    let scored = score_file(&mut engine, &data.data, &data.batch_options(), &mut |_, _| true)?;
    eprint!("{}", scored.load_report);
    Ok((engine, scored))
}

pub fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let model = args.model.model_path()?;
    Inputs::new().with("data file", &args.data.data).with_model(&model, true).refuse_as_output("--out", &args.out)?;
    let (engine, scored) = score(&args.model, &args.data)?;
    let columns = PredictionColumns { true_label: scored.recording.labels.is_some(), user: false };
    write_predictions_csv(&args.out, &scored.predictions, &engine.card().classes, columns)?;
    eprintln!(
        "{} windows ({} skipped) in {:.2} s → {}",
        scored.predictions.len(),
        scored.windowing.skipped_non_finite,
        scored.seconds,
        args.out.display()
    );
    args.data.check_bad_rows(&scored)
}

pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<()> {
    let model = args.model.model_path()?;
    let inputs = Inputs::new().with("data file", &args.data.data).with_model(&model, true);
    inputs.refuse_in_dir("--out", &args.out, &REPORT_FILES)?;
    let (engine, scored) = score(&args.model, &args.data)?;
    let report = scored.evaluation_report(&engine)?;
    let files = write_report_dir(&args.out, &report, &scored.predictions, &engine.card().classes)?;
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
    for f in files {
        println!("wrote {}", f.display());
    }
    args.data.check_bad_rows(&scored)
}
