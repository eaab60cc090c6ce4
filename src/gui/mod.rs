//! The desktop app (eframe/egui): a view over the pipeline. One file per view; widgets shared between views live
//! in `widgets`; every number shown comes from the library code the CLI uses too.

mod action;
mod app;
pub mod capture;
mod drift;
mod evaluation;
mod layout;
mod live;
mod mlflow;
pub mod palette;
mod registry;
pub mod settings;
mod widgets;

use std::path::PathBuf;

pub use action::Action;
pub use app::{HarApp, LoggedError, RunOutcome};
pub use settings::{Settings, View};

/// How the GUI was asked to start (docs/FORMATS.md §4 `gui` options). Anything not given comes from the saved settings, then
/// from the bundled demo. These options apply to this run only: they are never saved as settings.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    pub model: Option<PathBuf>,
    /// The registry version `model` was chosen by (`NAME@ALIAS`, `NAME@VERSION`): the app follows a rollback of
    /// that alias.
    pub model_spec: Option<String>,
    /// The registry the model picker lists (default: `HAR_MONITOR_REGISTRY`, else the user data folder's).
    pub registry: Option<PathBuf>,
    pub replay: Option<PathBuf>,
    pub simulate: bool,
    /// Start on a live serial sensor (path, baud) instead of a replay.
    pub serial: Option<(String, u32)>,
    pub evaluate: Option<PathBuf>,
    pub view: Option<View>,
    pub speed: Option<f64>,
    /// Open with the replay paused (the first window is still shown).
    pub paused: bool,
    /// Start (or not) the replay over when it ends; `None` keeps the saved setting.
    pub looping: Option<bool>,
    /// Save a screenshot here after `screenshot_after` seconds, then quit.
    pub screenshot: Option<PathBuf>,
    pub screenshot_after: f64,
    /// Capture the window into this GIF (or PNG-sequence folder) for `record_seconds`, then quit.
    pub record_gif: Option<PathBuf>,
    pub record_seconds: f64,
    /// Seconds to wait before the capture starts.
    pub record_after: f64,
    pub ort_lib: Option<PathBuf>,
    /// Serve the live session's Prometheus metrics on this address (`/metrics`; port 0 picks a free one).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Where the Record button puts its recordings (default: `recordings/` in the app's data folder).
    pub recordings: Option<PathBuf>,
    /// The MLflow tracking server for the MLflow view (listed at start); default: the remembered one, else
    /// MLFLOW_TRACKING_URI.
    pub mlflow_uri: Option<String>,
    /// Ignore saved settings and do not save (tests, scripted screenshots).
    pub fresh: bool,
}

/// Window size the app opens with; screenshots for the README are taken at this size.
pub const DEFAULT_SIZE: [f32; 2] = [1280.0, 800.0];

/// Opens the app window and runs until it is closed; says what went wrong in the run (a `--screenshot` that
/// could not be written).
pub fn run(options: GuiOptions) -> anyhow::Result<RunOutcome> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("HAR Monitor")
            .with_app_id("har-monitor")
            .with_inner_size(DEFAULT_SIZE)
            .with_min_inner_size([960.0, 640.0])
            .with_drag_and_drop(true),
        persist_window: !options.fresh,
        ..Default::default()
    };
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(RunOutcome::default()));
    let app_outcome = std::sync::Arc::clone(&outcome);
    eframe::run_native(
        "har-monitor",
        native,
        Box::new(move |cc| Ok(Box::new(HarApp::with_outcome(cc, options, app_outcome)))),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    let outcome = outcome.lock().map(|o| o.clone()).unwrap_or_default();
    Ok(outcome)
}
