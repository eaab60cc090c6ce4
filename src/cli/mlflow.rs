//! `har-monitor mlflow push | pull | list` (docs/FORMATS.md §4/§5): models to and from an MLflow model registry,
//! and the `--mlflow URL` option of `evaluate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use har_monitor::mlflow::client::Client;
use har_monitor::mlflow::evaluation::{EvaluationLog, log_evaluation};
use har_monitor::mlflow::transfer::{self, PullRequest, PushRequest, VersionSelector};
use har_monitor::model::{EngineOptions, ModelCard};
use har_monitor::registry::Registry;

use super::InputError;

/// The environment variable MLflow's own clients read; the default of `--tracking-uri`.
pub const TRACKING_URI_ENV: &str = "MLFLOW_TRACKING_URI";

#[derive(Debug, Args)]
pub struct MlflowArgs {
    #[command(subcommand)]
    pub command: MlflowCommand,
}

#[derive(Debug, Subcommand)]
pub enum MlflowCommand {
    /// Log a model's ONNX, card and baseline as run artifacts, register a version from them, set an alias.
    Push(PushArgs),
    /// Download a version (by alias or number), check it (card present, ONNX loads) and import it into the local
    /// registry.
    Pull(PullArgs),
    /// The server's registered models, their versions and aliases.
    List(ListArgs),
}

/// The server to talk to.
#[derive(Debug, Args, Clone, Default)]
pub struct ServerArgs {
    /// The tracking server, e.g. http://127.0.0.1:5000 (default: MLFLOW_TRACKING_URI).
    #[arg(long, value_name = "URL")]
    pub tracking_uri: Option<String>,
}

impl ServerArgs {
    pub fn client(&self) -> anyhow::Result<Client> {
        let uri = match &self.tracking_uri {
            Some(uri) => uri.clone(),
            None => std::env::var(TRACKING_URI_ENV).map_err(|_| {
                InputError(format!(
                    "no --tracking-uri given and {TRACKING_URI_ENV} is not set; give the tracking server's URL, \
                     e.g. --tracking-uri http://127.0.0.1:5000"
                ))
            })?,
        };
        Ok(Client::new(&uri)?)
    }
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The model: an ONNX file (card beside it) or NAME[@VERSION|@ALIAS] from the local registry.
    #[arg(long, value_name = "M")]
    pub model: String,
    /// The registered model's name in MLflow (default: the card's `name`).
    #[arg(long, value_name = "N")]
    pub name: Option<String>,
    /// Point this alias (e.g. production, staging) at the new version.
    #[arg(long, value_name = "A")]
    pub alias: Option<String>,
    /// The experiment the push run is logged in (created if missing).
    #[arg(long, value_name = "E", default_value = transfer::DEFAULT_EXPERIMENT)]
    pub experiment: String,
    /// The version's description (default: the card's name and version and the ONNX's SHA-256).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// ONNX Runtime shared library to load (to check the model before pushing it).
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["alias", "version"])))]
pub struct PullArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The registered model's name in MLflow.
    #[arg(long, value_name = "N")]
    pub name: String,
    /// The version this alias points at.
    #[arg(long, value_name = "A")]
    pub alias: Option<String>,
    /// This version number.
    #[arg(long, value_name = "V")]
    pub version: Option<u32>,
    /// The name in the local registry (default: the MLflow name).
    #[arg(long, value_name = "NAME")]
    pub local_name: Option<String>,
    /// Point this local alias at the imported version.
    #[arg(long, value_name = "A")]
    pub local_alias: Option<String>,
    /// ONNX Runtime shared library to load (to check the model).
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// `evaluate --mlflow URL [--experiment NAME]`.
#[derive(Debug, Args, Clone, Default)]
pub struct EvaluateLogArgs {
    /// Also log the evaluation as a run on this MLflow tracking server (the thesis' metric, tag and artifact names).
    #[arg(long, value_name = "URL")]
    pub mlflow: Option<String>,
    /// The MLflow experiment of that run (created if missing).
    #[arg(long, value_name = "NAME", requires = "mlflow", default_value = transfer::DEFAULT_EXPERIMENT)]
    pub experiment: String,
}

impl EvaluateLogArgs {
    /// The client, checked before the evaluation runs (a wrong URL or a server that is down is said at once).
    pub fn client(&self) -> anyhow::Result<Option<Client>> {
        let Some(uri) = &self.mlflow else { return Ok(None) };
        let client = Client::new(uri)?;
        client.health()?;
        Ok(Some(client))
    }

    /// Logs the report folder `dir` and prints the run.
    pub fn log(
        &self,
        client: &Client,
        dir: &std::path::Path,
        card: &ModelCard,
        params: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        let log =
            EvaluationLog { experiment: &self.experiment, report_dir: dir, card: Some(card), params, run_name: None };
        let run = log_evaluation(client, &log)
            .with_context(|| format!("the report was written to {}, but logging it to MLflow failed", dir.display()))?;
        println!("logged to MLflow: run {} in experiment `{}`: {}", run.run_id, self.experiment, run.run_page);
        Ok(())
    }
}

pub fn run(args: MlflowArgs) -> anyhow::Result<()> {
    match args.command {
        MlflowCommand::Push(a) => push(a),
        MlflowCommand::Pull(a) => pull(a),
        MlflowCommand::List(a) => list(a),
    }
}

fn engine_options(ort_lib: &Option<PathBuf>) -> EngineOptions {
    EngineOptions { runtime_library: ort_lib.clone(), intra_threads: 1, batch_size: 0 }
}

fn push(args: PushArgs) -> anyhow::Result<()> {
    let client = args.server.client()?;
    let resolved = har_monitor::registry::resolve_model_arg(&args.model)?;
    let request = PushRequest {
        model: resolved.path.clone(),
        name: args.name.clone(),
        alias: args.alias.clone(),
        experiment: args.experiment.clone(),
        description: args.description.clone(),
    };
    let outcome = transfer::push(&client, &request, &engine_options(&args.ort_lib))?;
    let alias = outcome.alias.as_ref().map(|a| format!(" (alias `{a}`)")).unwrap_or_default();
    println!(
        "pushed {} to {} as `{}` version {}{alias}",
        resolved.path.display(),
        client.url(),
        outcome.name,
        outcome.version
    );
    println!("  run {} in experiment `{}`: {}", outcome.run_id, args.experiment, outcome.run_page);
    println!("  source {}", outcome.source);
    for (path, bytes) in &outcome.files {
        println!("  artifact {path} ({bytes} bytes)");
    }
    Ok(())
}

fn pull(args: PullArgs) -> anyhow::Result<()> {
    let client = args.server.client()?;
    // Opened first: a registry that cannot be used is said before anything is downloaded.
    let registry = Registry::open_default()?;
    let selector = match (&args.alias, args.version) {
        (Some(alias), _) => VersionSelector::Alias(alias.clone()),
        (None, Some(v)) => VersionSelector::Version(v.to_string()),
        (None, None) => return Err(InputError("give --alias A or --version V".into()).into()),
    };
    let request = PullRequest {
        name: args.name.clone(),
        selector: selector.clone(),
        local_name: args.local_name.clone(),
        local_alias: args.local_alias.clone(),
    };
    let outcome = transfer::pull(&client, &registry, &request, &engine_options(&args.ort_lib))?;
    println!(
        "pulled `{}` version {} ({selector}) from {}: {} (download URI {})",
        outcome.version.name,
        outcome.version.version,
        client.url(),
        outcome.files.join(", "),
        outcome.download_uri
    );
    let version = &outcome.imported.version;
    let what = if outcome.imported.created { "imported as" } else { "already in the local registry as" };
    println!("{what} {} ({})", version.spec(), version.dir.display());
    if let Some(moved) = &outcome.imported.alias_move {
        println!("{}", moved.describe());
    }
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let client = args.server.client()?;
    let listing = har_monitor::session::mlflow::list(client.url())?;
    let n = listing.models.len();
    if n == 0 {
        println!("{}: no registered models", listing.url);
        return Ok(());
    }
    println!("{}: {n} registered model{}", listing.url, if n == 1 { "" } else { "s" });
    for model in listing.models {
        println!("{}", model.name);
        if model.versions.is_empty() {
            println!("  (no versions)");
        }
        for v in model.versions {
            let aliases = if v.aliases.is_empty() { String::new() } else { format!("  @{}", v.aliases.join(" @")) };
            println!("  v{:<4} {}  {}{aliases}", v.version, v.created, v.source);
        }
    }
    Ok(())
}
