//! `har-monitor gui` (and `har-monitor` alone): the desktop app.

use std::path::{Path, PathBuf};

use clap::Args;
use har_monitor::gui::{GuiOptions, View};

use super::InputError;
use super::limits::{self, number};

#[derive(Debug, Args, Default)]
pub struct GuiArgs {
    /// ONNX model (its `<stem>.model.json` card beside it), or a registry version: NAME, NAME@VERSION or
    /// NAME@ALIAS. Default: last used, else the bundled demo model.
    #[arg(long, value_name = "M.onnx|NAME@ALIAS")]
    pub model: Option<String>,
    /// Replay this CSV in the live view. Default: last used, else the bundled demo production file.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "simulate")]
    pub replay: Option<PathBuf>,
    /// Use the simulated sensor instead of a replay.
    #[arg(long, conflicts_with = "serial")]
    pub simulate: bool,
    /// Start on a live serial sensor speaking the line protocol (a port, or the virtual device's path).
    #[arg(long, value_name = "PORT", conflicts_with = "replay")]
    pub serial: Option<String>,
    /// Baud rate of --serial.
    #[arg(long, default_value_t = har_monitor::source::serial::DEFAULT_BAUD, value_name = "B")]
    pub baud: u32,
    /// Evaluate this labeled CSV in the evaluation view (or prepared windows NAME_X.npy, with the NAME_y.npy
    /// beside them as labels).
    #[arg(long, value_name = "LABELED.csv|X.npy")]
    pub evaluate: Option<PathBuf>,
    /// Compare the evaluated model with this model B on the --evaluate file (the evaluation view's comparison
    /// panel: deltas, both confusion matrices, McNemar's test): a file or a registry version, as --model.
    #[arg(long, value_name = "B.onnx|NAME@ALIAS", requires = "evaluate")]
    pub compare: Option<String>,
    /// View to open: live, evaluation, drift or mlflow.
    #[arg(long, value_name = "VIEW")]
    pub view: Option<View>,
    /// The MLflow tracking server the MLflow view lists (default: the one last used, else MLFLOW_TRACKING_URI).
    #[arg(long, value_name = "URL")]
    pub mlflow: Option<String>,
    /// Replay speed, 0.25 to 100.
    #[arg(long, value_name = "X", value_parser = number(limits::SPEED))]
    pub speed: Option<f64>,
    /// Open with the replay paused (the first window is still classified and shown).
    #[arg(long)]
    pub paused: bool,
    /// Stop at the end of the replay instead of starting it over.
    #[arg(long)]
    pub no_loop: bool,
    /// Save a screenshot of the window to this PNG, then quit (implies --fresh).
    #[arg(long, value_name = "OUT.png")]
    pub screenshot: Option<PathBuf>,
    /// Seconds to wait before the screenshot, 0 to 3600.
    #[arg(long, value_name = "SECS", default_value_t = 3.0, requires = "screenshot",
          value_parser = number(limits::SCREENSHOT_AFTER))]
    pub screenshot_after: f64,
    /// Capture the window as an animated GIF (a path ending in .gif) or a numbered PNG sequence (a folder), then
    /// quit (implies --fresh).
    #[arg(long, value_name = "OUT.gif|DIR")]
    pub record_gif: Option<PathBuf>,
    /// Seconds to capture, 0.1 to 600.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, requires = "record_gif",
          value_parser = number((0.1, 600.0)))]
    pub record_seconds: f64,
    /// Seconds to wait before the capture starts, 0 to 3600.
    #[arg(long, value_name = "SECS", default_value_t = 2.0, requires = "record_gif",
          value_parser = number(limits::SCREENSHOT_AFTER))]
    pub record_after: f64,
    /// Start from defaults: ignore and do not save the remembered settings (on Linux
    /// ~/.local/share/har-monitor/app.ron). The other flags apply to one run only in any case.
    #[arg(long)]
    pub fresh: bool,
    /// ONNX Runtime shared library to load.
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
    /// Serve the live session's Prometheus metrics (the service's names) on this address, e.g. 127.0.0.1:9108.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Where the Record button puts its recordings (default: recordings/ in the app's data folder,
    /// ~/.local/share/har-monitor/recordings on Linux).
    #[arg(long, value_name = "DIR")]
    pub recordings: Option<PathBuf>,
}

pub fn run(args: GuiArgs) -> anyhow::Result<()> {
    // A registry version is resolved here, and the app told which spec it came from (it follows the alias).
    let model = match &args.model {
        Some(value) => {
            let resolved = har_monitor::registry::resolve_model_arg(value)?;
            if !resolved.path.is_file() {
                return Err(InputError(format!("--model {value}: not a file")).into());
            }
            Some((resolved.path, resolved.version.map(|_| value.clone())))
        }
        None => None,
    };
    // Model B of `--compare` is resolved like `--model`: a file, or NAME / NAME@VERSION / NAME@ALIAS.
    let compare = match &args.compare {
        Some(value) => {
            let resolved = har_monitor::registry::resolve_model_arg(value)?;
            if !resolved.path.is_file() {
                return Err(InputError(format!("--compare {value}: not a file")).into());
            }
            Some(resolved.path)
        }
        None => None,
    };
    for (what, path) in [("--replay", &args.replay), ("--evaluate", &args.evaluate)] {
        if let Some(p) = path
            && !p.is_file()
        {
            return Err(InputError(format!("{what} {}: no such file", p.display())).into());
        }
    }
    if let Some(speed) = args.speed
        && !(0.25..=100.0).contains(&speed)
    {
        return Err(InputError(format!("--speed {speed}: must be between 0.25 and 100")).into());
    }
    if !(args.screenshot_after.is_finite() && args.screenshot_after >= 0.0) {
        return Err(InputError("--screenshot-after must be a number of seconds ≥ 0".into()).into());
    }
    if let Some(out) = &args.screenshot {
        check_screenshot_target(out, "--screenshot")?;
    }
    if let Some(out) = &args.record_gif
        && out.extension().is_some_and(|e| e.eq_ignore_ascii_case("gif"))
    {
        check_screenshot_target(out, "--record-gif")?;
    }
    // A scripted screenshot shows the defaults, not what the user last did, and leaves the settings alone.
    let fresh = args.fresh || args.screenshot.is_some() || args.record_gif.is_some();
    let outcome = har_monitor::gui::run(GuiOptions {
        model_spec: model.as_ref().and_then(|(_, spec)| spec.clone()),
        model: model.map(|(path, _)| path),
        registry: None,
        replay: args.replay,
        simulate: args.simulate,
        serial: args.serial.map(|p| (p, args.baud)),
        evaluate: args.evaluate,
        compare,
        view: args.view,
        speed: args.speed,
        paused: args.paused,
        looping: args.no_loop.then_some(false),
        screenshot: args.screenshot,
        screenshot_after: args.screenshot_after,
        record_gif: args.record_gif,
        record_seconds: args.record_seconds,
        record_after: args.record_after,
        ort_lib: args.ort_lib,
        recordings: args.recordings,
        metrics_addr: args.metrics_addr,
        mlflow_uri: args.mlflow,
        fresh,
    })?;
    match outcome.screenshot_error {
        Some(message) => Err(InputError(message).into()),
        None => Ok(()),
    }
}

/// Refuses a `--screenshot` path that cannot be written before a window opens: its folder must exist and the path
/// must not be a folder.
fn check_screenshot_target(out: &Path, flag: &str) -> anyhow::Result<()> {
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(InputError(format!(
            "{flag} {}: cannot write the file: the folder {} does not exist",
            out.display(),
            dir.display()
        ))
        .into());
    }
    if out.is_dir() {
        return Err(InputError(format!("{flag} {}: cannot write the file: it is a folder", out.display())).into());
    }
    Ok(())
}
