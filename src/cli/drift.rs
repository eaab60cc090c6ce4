//! `har-monitor baseline` and `har-monitor drift` (SPEC §4): build the reference a model's drift is measured
//! against, and compare a file with it chunk by chunk.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use har_monitor::monitor::{Baseline, BaselineBuilder, DriftConfig, DriftError, DriftMonitor};
use har_monitor::pipeline::batch::BatchError;

use super::ModelArgs;
use super::score::{DataArgs, open, run};

fn drift_error(e: DriftError) -> BatchError {
    BatchError::Output(e.to_string())
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Reference data (e.g. the training set); labels are used when present.
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the baseline (default: the card's `baseline` file beside the model, else
    /// `<stem>.baseline.json`).
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output JSON.
    #[arg(long, value_name = "drift.json")]
    pub out: PathBuf,
    /// Windows per chunk.
    #[arg(long, value_name = "N", default_value_t = 150)]
    pub chunk: usize,
    /// Baseline file (default: the one named by the model's card, beside the model).
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// Prediction drift when the Jensen–Shannon distance exceeds this.
    #[arg(long, value_name = "X", default_value_t = 0.1)]
    pub js_threshold: f64,
}

pub fn baseline(args: BaselineArgs) -> anyhow::Result<()> {
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    let card = engines.first().map(|e| e.card().clone()).context("no model session")?;
    let model_path = engines.first().map(|e| e.model_path().to_path_buf()).unwrap_or_default();
    let mut builder = BaselineBuilder::new(&card);
    run(&mut engines, scorer, &mut |w| builder.push(w.observation()).map_err(drift_error))?;
    let mut baseline = builder.finish()?;
    baseline.source = args.data.data.display().to_string();
    let out = args.out.unwrap_or_else(|| Baseline::path_for_model(&model_path, &card));
    baseline.save(&out)?;
    println!("baseline of {} windows from {} → {}", baseline.windows, args.data.data.display(), out.display());
    Ok(())
}

pub fn drift(args: DriftArgs) -> anyhow::Result<()> {
    let model_path = args.model.model_path()?;
    let card = har_monitor::model::ModelCard::load_for_model(&model_path)?;
    let baseline_path = args.baseline.clone().unwrap_or_else(|| Baseline::path_for_model(&model_path, &card));
    if !baseline_path.is_file() {
        return Err(super::InputError(format!(
            "no baseline for this model at {}; build one with `har-monitor baseline --model {} --data REFERENCE.csv`",
            baseline_path.display(),
            model_path.display()
        ))
        .into());
    }
    let baseline = Baseline::load(&baseline_path)?;
    baseline.check_card(&card, &baseline_path)?;
    let config = DriftConfig { chunk_windows: args.chunk, js_threshold: args.js_threshold, ..DriftConfig::default() };
    let mut monitor = DriftMonitor::new(baseline, config)?;
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    let summary = run(&mut engines, scorer, &mut |w| monitor.push(w.observation()).map(drop).map_err(drift_error))?;
    monitor.finish();
    let report = monitor.report(&baseline_path.display().to_string());
    let json = serde_json::to_string_pretty(&report).context("serialising the drift report")?;
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{:>8} {:>7} {:>7} {:>7} {:>9} {:>10} {:>6}",
        "window", "windows", "JS", "PSI", "mean conf", "prediction", "input"
    );
    for c in &report.chunks {
        println!(
            "{:>8} {:>7} {:>7.3} {:>7.3} {:>9.3} {:>10} {:>6}",
            c.start_window,
            c.windows,
            c.js_distance,
            c.psi,
            c.mean_confidence,
            if c.prediction_drift { "DRIFT" } else { "ok" },
            if c.input_drift { "DRIFT" } else { "ok" }
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    println!("wrote {}", args.out.display());
    args.data.check_bad_rows(&summary.load_report)
}
