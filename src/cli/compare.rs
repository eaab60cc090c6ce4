//! `har-monitor compare`: two models on one labeled file, the same windows for both — headline and per-class
//! deltas, both confusion matrices and McNemar's test — into DIR/compare.json and DIR/compare.png
//! (docs/FORMATS.md §4).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use har_monitor::eval::compare::{COMPARE_FILES, Comparison, McNemarMethod, format_p, write_compare_dir};
use har_monitor::model::EngineOptions;
use har_monitor::pipeline::compare::{CompareRequest, compare_models};
use har_monitor::registry::resolve_model_arg;

use super::score::DataArgs;
use super::{InputError, limits};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The two models, given twice: first model A, then model B. Each an ONNX file (its card `<stem>.model.json`
    /// beside it) or a registry version: NAME, NAME@VERSION or NAME@ALIAS. Deltas are B − A.
    #[arg(long = "model", value_name = "M.onnx|NAME@ALIAS", required = true)]
    pub models: Vec<String>,
    /// ONNX Runtime shared library to load (default: ORT_DYLIB_PATH, beside the executable, the per-user cache,
    /// else fetched once from PyPI).
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
    /// Threads per inference call, 0 to the number of cores (0: one single-threaded model session per core on
    /// alternate batches).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = limits::threads())]
    pub threads: usize,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output directory (created): compare.json and compare.png.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let [spec_a, spec_b] = <[String; 2]>::try_from(args.models.clone()).map_err(|models| {
        InputError(format!("compare takes --model exactly twice (model A, then model B); {} given", models.len()))
    })?;
    // A file, or a registry version (NAME, NAME@VERSION, NAME@ALIAS), like every other --model.
    let resolve = |side: &str, spec: &str| {
        resolve_model_arg(spec).map(|r| r.path).with_context(|| format!("model {side} (--model {spec})"))
    };
    let (model_a, model_b) = (resolve("A", &spec_a)?, resolve("B", &spec_b)?);
    let inputs = args.data.inputs().with_model(&model_a, true).with_model(&model_b, true);
    inputs.refuse_in_dir("--out", &args.out, &COMPARE_FILES)?;
    let request = CompareRequest {
        model_a,
        model_b,
        data: args.data.input(),
        engine: EngineOptions {
            runtime_library: args.ort_lib.clone(),
            intra_threads: args.threads,
            batch_size: args.data.batch,
        },
        batch: args.data.batch_options(),
    };
    let outcome = compare_models(&request, &mut |_| true)?;
    eprint!("model A: {}", outcome.a.load_report);
    if outcome.b.load_report.to_string() != outcome.a.load_report.to_string() {
        eprint!("model B: {}", outcome.b.load_report);
    }
    let files = write_compare_dir(&args.out, &outcome.comparison)?;
    print!("{}", table(&outcome.comparison));
    for file in files {
        println!("wrote {}", file.display());
    }
    args.data.check_bad_rows(&outcome.a.load_report)
}

/// The short table `compare` prints: the headline numbers of both models and their difference, McNemar's counts
/// and p-values, and the verdict.
pub fn table(c: &Comparison) -> String {
    let name = |r: &har_monitor::eval::EvaluationReport| format!("{} {}", r.model.name, r.model.version);
    let (a, b) = (format!("A: {}", name(&c.a)), format!("B: {}", name(&c.b)));
    let width = a.len().max(b.len()).max(10);
    let mut out = format!("{:<16} {a:>width$} {b:>width$} {:>9}\n", "", "B − A");
    let d = &c.deltas;
    for (label, x) in [
        ("accuracy", &d.accuracy),
        ("macro-F1", &d.macro_f1),
        ("weighted-F1", &d.weighted_f1),
        ("macro precision", &d.macro_precision),
        ("macro recall", &d.macro_recall),
    ] {
        out.push_str(&format!("{label:<16} {:>width$.4} {:>width$.4} {:>+9.4}\n", x.a, x.b, x.delta));
    }
    let k = &d.cohen_kappa;
    let text = |v: Option<f64>, signed: bool| match v {
        Some(v) if signed => format!("{v:+.4}"),
        Some(v) => format!("{v:.4}"),
        None => "undefined".to_owned(),
    };
    out.push_str(&format!(
        "{:<16} {:>width$} {:>width$} {:>9}\n",
        "Cohen's kappa",
        text(k.a, false),
        text(k.b, false),
        text(k.delta, true)
    ));
    let m = &c.mcnemar;
    out.push_str(&format!(
        "McNemar on {} paired windows: both right {}, only A right {}, only B right {}, both wrong {}\n",
        c.windows, m.both_right, m.only_a_right, m.only_b_right, m.both_wrong
    ));
    let chi2 = match (m.chi2_statistic, m.chi2_p) {
        (Some(s), Some(p)) => format!("chi-square {s:.4} (continuity-corrected) p = {}", format_p(p)),
        _ => "chi-square undefined (b + c = 0)".to_owned(),
    };
    let primary = match m.primary {
        McNemarMethod::Exact => "exact",
        McNemarMethod::ChiSquare => "chi-square",
    };
    out.push_str(&format!(
        "  exact p = {}; {chi2}; primary: {primary} (exact when b + c < 25; b + c = {})\n",
        format_p(m.exact_p),
        m.discordant
    ));
    out.push_str(&format!("verdict: {}\n", c.verdict.text));
    out
}
