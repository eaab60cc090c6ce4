//! `har-monitor gui` (and `har-monitor` alone): the desktop app.

use std::path::{Path, PathBuf};

use clap::Args;
use har_monitor::gui::{GuiOptions, View};

use super::InputError;
use super::limits::{self, number};

#[derive(Debug, Args, Default)]
pub struct GuiArgs {
    /// ONNX model (its `<stem>.model.json` card beside it). Default: last used, else the bundled demo model.
    #[arg(long, value_name = "M.onnx")]
    pub model: Option<PathBuf>,
    /// Replay this CSV in the live view. Default: last used, else the bundled demo production file.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "simulate")]
    pub replay: Option<PathBuf>,
    /// Use the simulated sensor instead of a replay.
    #[arg(long)]
    pub simulate: bool,
    /// Evaluate this labeled CSV in the evaluation view.
    #[arg(long, value_name = "LABELED.csv")]
    pub evaluate: Option<PathBuf>,
    /// View to open: live, evaluation or drift.
    #[arg(long, value_name = "VIEW")]
    pub view: Option<View>,
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
    /// Start from defaults: ignore and do not save the remembered settings (on Linux
    /// ~/.local/share/har-monitor/app.ron). The other flags apply to one run only in any case.
    #[arg(long)]
    pub fresh: bool,
    /// ONNX Runtime shared library to load.
    #[arg(long, value_name = "LIB")]
    pub ort_lib: Option<PathBuf>,
}

pub fn run(args: GuiArgs) -> anyhow::Result<()> {
    for (what, path) in [("--model", &args.model), ("--replay", &args.replay), ("--evaluate", &args.evaluate)] {
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
        check_screenshot_target(out)?;
    }
    // A scripted screenshot shows the defaults, not what the user last did, and leaves the settings alone.
    let fresh = args.fresh || args.screenshot.is_some();
    let outcome = har_monitor::gui::run(GuiOptions {
        model: args.model,
        replay: args.replay,
        simulate: args.simulate,
        evaluate: args.evaluate,
        view: args.view,
        speed: args.speed,
        paused: args.paused,
        looping: args.no_loop.then_some(false),
        screenshot: args.screenshot,
        screenshot_after: args.screenshot_after,
        ort_lib: args.ort_lib,
        fresh,
    })?;
    match outcome.screenshot_error {
        Some(message) => Err(InputError(message).into()),
        None => Ok(()),
    }
}

/// Refuses a `--screenshot` path that cannot be written before a window opens: its folder must exist and the path
/// must not be a folder.
fn check_screenshot_target(out: &Path) -> anyhow::Result<()> {
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(InputError(format!(
            "--screenshot {}: cannot write the screenshot: the folder {} does not exist",
            out.display(),
            dir.display()
        ))
        .into());
    }
    if out.is_dir() {
        return Err(
            InputError(format!("--screenshot {}: cannot write the screenshot: it is a folder", out.display())).into()
        );
    }
    Ok(())
}
