//! `har-monitor baseline` and `har-monitor drift` (docs/FORMATS.md §4): build the reference a model's drift is measured
//! against, and compare a file with it chunk by chunk.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use har_monitor::monitor::{Baseline, BaselineBuilder, DriftConfig, DriftError, DriftMonitor, ReferencePerformance};
use har_monitor::pipeline::LoadedModel;
use har_monitor::pipeline::batch::BatchError;
use har_monitor::session::drift::{WindowClock, judge_report};

use super::score::{DataArgs, open, run};
use super::{InputError, ModelArgs, limits};

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
    /// `<stem>.baseline.json`). Required without --model: the bundled demo model's baseline is never replaced
    /// implicitly.
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
    /// Labeled data the model did not learn from (e.g. a validation set of other people), on which the reference
    /// accuracy and calibration of the label-free estimate are measured (`reference_performance`). Default: --data,
    /// when it is labeled.
    #[arg(long, value_name = "LABELED.csv")]
    pub calibration_data: Option<PathBuf>,
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
    /// Windows per chunk, 1 to 10000.
    #[arg(long, value_name = "N", default_value_t = 150, value_parser = limits::count(limits::CHUNK))]
    pub chunk: usize,
    /// Baseline file (default: the one named by the model's card, beside the model).
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// Prediction drift when the Jensen–Shannon distance (0 to 1) exceeds this.
    #[arg(long, value_name = "X", default_value_t = 0.1, value_parser = limits::number(limits::JS_THRESHOLD))]
    pub js_threshold: f64,
}

pub fn baseline(args: BaselineArgs) -> anyhow::Result<()> {
    let resolved = args.model.resolved()?;
    let model = resolved.path.clone();
    let beside_model = || -> anyhow::Result<PathBuf> {
        Ok(Baseline::path_for_model(&model, &har_monitor::model::ModelCard::load_for_model(&model)?))
    };
    let out = match (&args.out, &args.model.model) {
        (Some(out), _) => out.clone(),
        (None, Some(_))
            if resolved.version.is_some()
                || har_monitor::registry::Registry::open_default().is_ok_and(|r| r.holds(&model)) =>
        {
            let spec = resolved.version.as_ref().map_or_else(|| model.display().to_string(), |v| v.spec());
            return Err(InputError(format!(
                "--model {spec}: a registry version's files never change, so its baseline cannot be written beside it. \
                 Pass --out FILE.json; to keep the baseline with the model, put it beside a copy of the model and \
                 import that as a new version"
            ))
            .into());
        }
        (None, Some(_)) => beside_model()?,
        (None, None) => {
            return Err(InputError(format!(
                "no --model given: the baseline would replace the bundled demo model's own ({}). Pass --out FILE.json \
                 to write it elsewhere, or --model {} to replace the demo's baseline on purpose",
                beside_model()?.display(),
                model.display()
            ))
            .into());
        }
    };
    let mut inputs = args.data.inputs().with_model(&model, false);
    if let Some(calibration) = &args.calibration_data {
        inputs = inputs.with("calibration data file", calibration);
    }
    inputs.refuse_as_output("--out", &out)?;
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    let card = engines.first().map(|e| e.card().clone()).context("no model session")?;
    let mut builder = BaselineBuilder::new(&card);
    let summary = run(&mut engines, scorer, &mut |w| builder.push(w.observation()).map_err(drift_error))?;
    let mut baseline = builder.finish()?;
    baseline.source = args.data.path().display().to_string();
    if let Some(path) = &args.calibration_data {
        baseline.reference_performance = Some(reference_performance(&mut engines, &card, path, &args.data)?);
    } else if let Some(r) = baseline.reference_performance.as_mut() {
        r.source = baseline.source.clone();
    }
    baseline.save(&out)?;
    println!(
        "wrote the baseline of {} windows from {} to {}",
        baseline.windows,
        args.data.path().display(),
        out.display()
    );
    let max_ece = har_monitor::monitor::estimate::MAX_REFERENCE_ECE;
    match &baseline.reference_performance {
        Some(r) => println!(
            "reference performance on {} labeled windows of {}: accuracy {:.3}, macro-F1 {:.3}, calibration error \
             (ECE, {} bins) {:.3}{}",
            r.windows,
            r.source,
            r.accuracy,
            r.macro_f1,
            r.ece_bins,
            r.ece,
            if r.ece > max_ece {
                format!(
                    " (above {max_ece}: drift's label-free accuracy estimates will not be trusted; a `temperature` in \
                     the model card can calibrate the probabilities)"
                )
            } else {
                String::new()
            }
        ),
        None => println!(
            "the reference data has no labels: no reference calibration, so drift's label-free accuracy estimates \
             will not be trusted"
        ),
    }
    // The same rule as the other commands: skipped bad rows exit 2 unless --allow-bad-rows.
    args.data.check_bad_rows(&summary.load_report)
}

/// The reference accuracy and calibration measured on `path`'s labeled windows (`baseline --calibration-data`).
fn reference_performance(
    engines: &mut [har_monitor::model::Engine],
    card: &har_monitor::model::ModelCard,
    path: &std::path::Path,
    data: &DataArgs,
) -> anyhow::Result<ReferencePerformance> {
    let input = har_monitor::pipeline::batch::DataInput::from_path(path);
    let scorer = har_monitor::pipeline::batch::open_data(card, &input, &data.batch_options())?;
    if !scorer.has_labels() {
        return Err(InputError(format!(
            "--calibration-data {}: the file has no label column (activity, label or class): the calibration is \
             measured on labeled windows",
            path.display()
        ))
        .into());
    }
    let mut labeled: Vec<(Vec<f32>, usize)> = Vec::new();
    let summary = run(engines, scorer, &mut |w| {
        if let Some(truth) = w.prediction.true_label {
            labeled.push((w.prediction.probabilities.clone(), truth));
        }
        Ok(())
    })?;
    if summary.load_report.bad_rows > 0 && !data.allow_bad_rows {
        return Err(InputError(format!(
            "--calibration-data {}: {} bad row(s) skipped (listed above with their line numbers). Pass \
             --allow-bad-rows to accept such files",
            path.display(),
            summary.load_report.bad_rows
        ))
        .into());
    }
    let mut measured =
        ReferencePerformance::measure(labeled.iter().map(|(p, t)| (p.as_slice(), *t)), card.classes.len())
            .ok_or_else(|| InputError(format!("--calibration-data {}: no labeled window", path.display())))?;
    measured.source = path.display().to_string();
    Ok(measured)
}

pub fn drift(args: DriftArgs) -> anyhow::Result<()> {
    let model_path = args.model.model_path()?;
    let card = har_monitor::model::ModelCard::load_for_model(&model_path)?;
    let baseline_path = args.baseline.clone().unwrap_or_else(|| Baseline::path_for_model(&model_path, &card));
    if !baseline_path.is_file() {
        return Err(InputError(format!(
            "no baseline for this model at {}; {}",
            baseline_path.display(),
            Baseline::how_to_build(&model_path)
        ))
        .into());
    }
    args.data
        .inputs()
        .with_model(&model_path, true)
        .with("baseline", &baseline_path)
        .refuse_as_output("--out", &args.out)?;
    let baseline = Baseline::load(&baseline_path)?;
    baseline.check_card(&card, &baseline_path)?;
    let baseline = Arc::new(baseline);
    let config = DriftConfig { chunk_windows: args.chunk, js_threshold: args.js_threshold, ..DriftConfig::default() };
    let mut monitor = DriftMonitor::new(Arc::clone(&baseline), config)?;
    let (mut engines, scorer) = open(&args.model, &args.data)?;
    let mut clock = WindowClock::new(card.sample_rate_hz);
    let summary = run(&mut engines, scorer, &mut |w| {
        clock.push(w.prediction);
        monitor.push(w.observation()).map(drop).map_err(drift_error)
    })?;
    monitor.finish();
    let report = monitor.report(&baseline_path.display().to_string());
    // Each chunk also carries the drift view's verdict and sensor-check readings for it (one computation).
    let engine = engines.first().context("no model session")?;
    let model = Arc::new(LoadedModel::of(engine));
    let judged = judge_report(&report, model, baseline_path.clone(), baseline, config, &clock.windows);
    let json = serde_json::to_string_pretty(&judged).context("serialising the drift report")?;
    har_monitor::output::write_bytes(&args.out, json.as_bytes())?;
    println!(
        "{:>8} {:>7} {:>7} {:>7} {:>9} {:>10} {:>6} {:>17} {:>8}  estimate",
        "window", "windows", "JS", "PSI", "mean conf", "prediction", "input", "est. acc (95%)", "realised"
    );
    for c in &report.chunks {
        let (estimate, realised, trust) = match &c.performance {
            Some(p) => (
                format!("{:.3} ({:.2}–{:.2})", p.estimated_accuracy, p.accuracy_lower, p.accuracy_upper),
                p.realised_accuracy.map_or_else(|| "–".to_string(), |a| format!("{a:.3}")),
                if p.trusted {
                    "trusted".to_string()
                } else {
                    let reasons: Vec<&str> = p.untrusted_because.iter().map(|r| r.short()).collect();
                    format!("untrusted: {}", reasons.join(", "))
                },
            ),
            None => ("–".to_string(), "–".to_string(), String::new()),
        };
        println!(
            "{:>8} {:>7} {:>7.3} {:>7.3} {:>9.3} {:>10} {:>6} {:>17} {:>8}  {}",
            c.start_window,
            c.windows,
            c.js_distance,
            c.psi,
            c.mean_confidence,
            if c.prediction_drift { "DRIFT" } else { "ok" },
            if c.input_drift { "DRIFT" } else { "ok" },
            estimate,
            realised,
            trust
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    println!("wrote {}", args.out.display());
    args.data.check_bad_rows(&summary.load_report)
}
