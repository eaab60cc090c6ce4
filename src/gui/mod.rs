//! The desktop app (eframe/egui): a view over the pipeline. One file per view; widgets shared between views live
//! in `widgets`; every number shown comes from the library code the CLI uses too.

mod about;
mod action;
mod app;
pub mod capture;
mod drift;
mod early;
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
    /// Compare the evaluated model with this model B once the evaluation is done (the comparison panel).
    pub compare: Option<PathBuf>,
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

/// The app's icon: `dist/icons/har-monitor-256.png`, rendered from `dist/icons/har-monitor.svg` (the packages'
/// `.desktop` entry uses the same file).
pub const ICON_PNG: &[u8] = include_bytes!("../../dist/icons/har-monitor-256.png");

/// The window's icon, decoded from [`ICON_PNG`].
pub fn icon() -> Result<egui::IconData, image::ImageError> {
    let image = image::load_from_memory_with_format(ICON_PNG, image::ImageFormat::Png)?.into_rgba8();
    Ok(egui::IconData { width: image.width(), height: image.height(), rgba: image.into_raw() })
}

/// Opens the app window and runs until it is closed; says what went wrong in the run (a `--screenshot` that
/// could not be written).
pub fn run(options: GuiOptions) -> anyhow::Result<RunOutcome> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("HAR Monitor")
        .with_app_id(early::APP_ID)
        .with_inner_size(DEFAULT_SIZE)
        .with_min_inner_size([960.0, 640.0])
        .with_drag_and_drop(true);
    match icon() {
        Ok(icon) => viewport = viewport.with_icon(std::sync::Arc::new(icon)),
        // A window without its icon still works; say why once.
        Err(e) => eprintln!("har-monitor: the window icon could not be decoded: {e}"),
    }
    let native = eframe::NativeOptions { viewport, persist_window: !options.fresh, ..Default::default() };
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(RunOutcome::default()));
    let app_outcome = std::sync::Arc::clone(&outcome);
    // `--evaluate`: the job reads and scores the file while the window opens.
    let early = early::EarlyEvaluation::start(&options);
    eframe::run_native(
        "har-monitor",
        native,
        Box::new(move |cc| Ok(Box::new(HarApp::with_early_evaluation(cc, options, app_outcome, early)))),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))?;
    let outcome = outcome.lock().map(|o| o.clone()).unwrap_or_default();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    /// The window icon decodes to the 256-pixel square with transparent corners (the rounded square) and an
    /// opaque middle.
    #[test]
    fn the_icon_decodes_to_a_rounded_square() {
        let icon = super::icon().unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        let alpha = |x: usize, y: usize| icon.rgba[(y * 256 + x) * 4 + 3];
        assert_eq!(alpha(0, 0), 0);
        assert_eq!(alpha(255, 255), 0);
        assert_eq!(alpha(128, 128), 255);
    }
}
