//! The shell: starts the pipeline, drains its events each frame, keeps the settings, and lays out the top bar,
//! the status bar and the current view. Views return [`Action`]s; the shell applies them in one place
//! ([`HarApp::apply`]), and only there are the settings changed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use egui::RichText;

use super::action::Action;
use super::capture::{Capture, CaptureTarget};
use super::drift::DriftView;
use super::evaluation::{EvaluationView, JobRequest};
use super::live::LiveView;
use super::mlflow::MlflowView;
use super::settings::{STORAGE_KEY, Settings, View};
use super::{GuiOptions, layout, palette, widgets};
use crate::data::Normalised;
use crate::model::EngineOptions;
use crate::pipeline::batch::{BatchOptions, DataInput};
use crate::pipeline::recorder::RecordTarget;
use crate::pipeline::{Command, Event, PipelineConfig, PipelineHandle};
use crate::session::drift::DriftState;
use crate::session::live::LiveState;
use crate::session::mlflow::MlflowState;
use crate::session::registry::RegistryState;
use crate::session::sensor::SensorState;
use crate::source::SourceSpec;

/// How often the screen is redrawn for the live pipeline's news while the evaluation view is showing. Software
/// rendering on two cores pays ~40–80 ms of CPU for each frame, which an evaluation job would otherwise lose.
pub const BACKGROUND_REPAINT: Duration = Duration::from_millis(1000);
/// The shortest time between two frames drawn for the pipeline's news (30 frames a second at most).
pub const LIVE_FRAME_MIN: Duration = Duration::from_millis(33);
/// The pipeline's news is drawn at most once per this many frame costs, so drawing takes at most half a core
/// however slow the renderer (Mesa's software renderer takes ~60–100 ms a frame on two cores; a GPU 1–2 ms).
const FRAME_COST_SHARE: f64 = 2.0;

/// The time between two live frames: [`LIVE_FRAME_MIN`], or longer when frames are expensive.
fn live_frame_interval(frame_cost_s: f64) -> Duration {
    let paced = if frame_cost_s.is_finite() && frame_cost_s > 0.0 { frame_cost_s * FRAME_COST_SHARE } else { 0.0 };
    LIVE_FRAME_MIN.max(Duration::from_secs_f64(paced.min(1.0)))
}

/// A file chosen in a native dialog, and what it was chosen for.
enum Picked {
    Model(PathBuf),
    Replay(PathBuf),
    /// A labeled file to evaluate.
    Evaluate(PathBuf),
    /// The labels of prepared windows: `(windows, labels)`.
    Labels(PathBuf, PathBuf),
    /// The folder to export the evaluation report into.
    ExportFolder(PathBuf),
    /// Model B of a comparison.
    CompareModel(PathBuf),
}

/// A pending `--screenshot` request.
struct ScreenshotPlan {
    path: PathBuf,
    /// Seconds of app time (egui's clock) before it is taken.
    after: f64,
    requested: bool,
}

/// A short message shown at the bottom right for a few seconds.
struct Toast {
    text: String,
    error: bool,
    /// egui time (seconds) when it goes.
    until: f64,
}

/// Seconds a toast stays.
const TOAST_SECONDS: f64 = 6.0;

/// An error of the live pipeline as the log keeps it.
#[derive(Debug, Clone)]
pub struct LoggedError {
    pub message: String,
    pub wall: chrono::DateTime<chrono::Local>,
}

/// What a run of the app reports when its window closes.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Why the `--screenshot` could not be written (the message names the file).
    pub screenshot_error: Option<String>,
}

pub struct HarApp {
    /// What is remembered for the next run: changed only by what the user does in the UI.
    remembered: Settings,
    /// What this run uses: the remembered settings with this run's command-line flags on top.
    current: Settings,
    persist: bool,
    pipeline: Option<PipelineHandle>,
    /// The live pipeline, not started yet: it waits for the evaluation asked for at start (`--evaluate`).
    deferred_pipeline: Option<PipelineConfig>,
    /// Whether the About window is open.
    about_open: bool,
    /// Whether the pipeline's news is on screen (the live and drift views): the pipeline's wake-ups repaint at
    /// once then, at [`BACKGROUND_REPAINT`] otherwise.
    live_on_screen: Arc<AtomicBool>,
    /// Milliseconds between two frames drawn for the pipeline's news (see [`live_frame_interval`]), shared with
    /// the pipeline's wake function.
    live_interval_ms: Arc<std::sync::atomic::AtomicU64>,
    /// A running average of what a frame costs (the process' CPU time per frame), seconds.
    frame_cost: f64,
    /// The process' CPU time at the last frame.
    last_cpu: Option<f64>,
    live: LiveState,
    live_view: LiveView,
    /// Every error of the live pipeline in this run, oldest first (the live view's log shows them; stderr too).
    error_log: Vec<LoggedError>,
    drift: DriftState,
    drift_view: DriftView,
    screenshot: Option<ScreenshotPlan>,
    screenshot_rx: mpsc::Receiver<Result<PathBuf, String>>,
    screenshot_tx: mpsc::Sender<Result<PathBuf, String>>,
    outcome: Arc<std::sync::Mutex<RunOutcome>>,
    picked_rx: mpsc::Receiver<Picked>,
    picked_tx: mpsc::Sender<Picked>,
    toasts: Vec<Toast>,
    model_path: Option<PathBuf>,
    evaluation: EvaluationView,
    /// How the evaluation view loads its own engine (same runtime library as the pipeline).
    evaluation_engine: EngineOptions,
    /// The context the app was created with, for work started outside a frame (dropped files, tests).
    ctx: egui::Context,
    /// Serial ports and BLE scan results for the Sensor panel.
    sensor: SensorState,
    /// The MLflow view's server, listing and pull.
    mlflow: MlflowState,
    mlflow_view: MlflowView,
    /// The model registry as the top bar's picker lists it.
    registry: RegistryState,
    /// The GIF / PNG-sequence capture in progress.
    capture: Option<Capture>,
    /// A scripted capture (`gui --record-gif`): where, for how long, after how long; the app quits after it.
    capture_plan: Option<(PathBuf, f64, f64)>,
    /// Where the Record button records (a new folder inside, named by the start time).
    recordings: PathBuf,
    /// The live session's metrics, when `--metrics-addr` serves them, and where.
    live_metrics: Option<crate::session::metrics::LiveMetrics>,
    metrics_addr: Option<std::net::SocketAddr>,
    /// Captures being finished (encoders completing their files) report here.
    capture_done_rx: mpsc::Receiver<(PathBuf, Result<usize, String>, bool)>,
    capture_done_tx: mpsc::Sender<(PathBuf, Result<usize, String>, bool)>,
}

impl HarApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: GuiOptions) -> Self {
        Self::with_outcome(cc, options, Arc::default())
    }

    /// Like [`HarApp::new`]; what the run reports at its end goes into `outcome`.
    pub fn with_outcome(
        cc: &eframe::CreationContext<'_>,
        options: GuiOptions,
        outcome: Arc<std::sync::Mutex<RunOutcome>>,
    ) -> Self {
        Self::with_early_evaluation(cc, options, outcome, None)
    }

    /// Like [`HarApp::with_outcome`], adopting the evaluation `gui::run` started before the window opened when it
    /// is the one this app wants.
    pub(crate) fn with_early_evaluation(
        cc: &eframe::CreationContext<'_>,
        options: GuiOptions,
        outcome: Arc<std::sync::Mutex<RunOutcome>>,
        early: Option<super::early::EarlyEvaluation>,
    ) -> Self {
        let stored: Option<Settings> =
            if options.fresh { None } else { cc.storage.and_then(|s| eframe::get_value(s, STORAGE_KEY)) };
        let remembered = stored.unwrap_or_default();
        super::widgets::apply_theme(&cc.egui_ctx);

        // Command-line options first, then what was used last time (if it still exists), then the bundled demo.
        // Flags apply to this run only: they go into `current`, never into `remembered`.
        let mut current = remembered.clone();
        let model_path = options
            .model
            .clone()
            .or_else(|| current.model.clone().filter(|p| p.is_file()))
            .or_else(crate::assets::demo_model);
        let source = if let Some((path, baud)) = &options.serial {
            Some(SourceSpec::Serial { path: path.clone(), baud: *baud, accel_unit: None })
        } else if options.simulate {
            Some(SourceSpec::Simulated { behaviour: None, seed: 7 })
        } else {
            options
                .replay
                .clone()
                .or_else(|| current.replay.clone().filter(|p| p.is_file()))
                .or_else(|| crate::assets::demo_data(crate::assets::DEMO_REPLAY))
                .map(|path| SourceSpec::Replay { path })
        };
        current.model = model_path.clone();
        match &source {
            Some(SourceSpec::Replay { path }) => current.replay = Some(path.clone()),
            // The Sensor panel shows the port this run was started on.
            Some(SourceSpec::Serial { path, baud, .. }) => {
                current.serial_path = Some(path.clone());
                current.baud = *baud;
            }
            _ => {}
        }
        if let Some(speed) = options.speed {
            current.speed = speed;
        }
        if let Some(looping) = options.looping {
            current.looping = looping;
        }
        // `--evaluate` opens the evaluation view unless another view is asked for.
        current.view = options.view.or(options.evaluate.as_ref().map(|_| View::Evaluation)).unwrap_or(current.view);
        let drift_config = crate::monitor::DriftConfig::default();
        let (screenshot_tx, screenshot_rx) = mpsc::channel();
        let (picked_tx, picked_rx) = mpsc::channel();
        let (capture_done_tx, capture_done_rx) = mpsc::channel();
        let mlflow = MlflowState::new(options.mlflow_uri.clone().or_else(|| current.mlflow_uri.clone()));
        let mut app = HarApp {
            live_on_screen: Arc::new(AtomicBool::new(matches!(current.view, View::Live | View::Drift))),
            live_interval_ms: Arc::new(std::sync::atomic::AtomicU64::new(LIVE_FRAME_MIN.as_millis() as u64)),
            frame_cost: 0.0,
            last_cpu: None,
            remembered,
            current,
            persist: !options.fresh,
            pipeline: None,
            deferred_pipeline: None,
            live: LiveState::new(),
            live_view: LiveView::default(),
            error_log: Vec::new(),
            drift: DriftState::new(drift_config),
            drift_view: DriftView::default(),
            screenshot: options.screenshot.clone().map(|path| ScreenshotPlan {
                path,
                after: options.screenshot_after.max(0.0),
                requested: false,
            }),
            screenshot_rx,
            screenshot_tx,
            outcome,
            picked_rx,
            picked_tx,
            toasts: Vec::new(),
            model_path: model_path.clone(),
            evaluation: EvaluationView::default(),
            // The job runs as `evaluate` does (one single-threaded model session per core on alternate batches,
            // `pipeline::batch::session_layout`); while it runs, the UI redraws only every few seconds.
            evaluation_engine: super::early::evaluation_engine(options.ort_lib.clone()),
            ctx: cc.egui_ctx.clone(),
            sensor: SensorState::default(),
            mlflow,
            mlflow_view: MlflowView::default(),
            registry: RegistryState::open(options.registry.as_deref(), options.model_spec.clone()),
            capture: None,
            capture_plan: options
                .record_gif
                .clone()
                .map(|p| (p, options.record_seconds.max(0.1), options.record_after.max(0.0))),
            capture_done_rx,
            capture_done_tx,
            recordings: options.recordings.clone().unwrap_or_else(crate::about::recordings_dir),
            about_open: false,
            live_metrics: None,
            metrics_addr: None,
        };
        // A server given on the command line is listed at once.
        if options.mlflow_uri.is_some() {
            let ctx = app.ctx.clone();
            app.mlflow.refresh(move || ctx.request_repaint());
        }
        if let Some(addr) = options.metrics_addr {
            let live = crate::session::metrics::LiveMetrics::default();
            match crate::session::metrics::spawn_exporter(addr, std::sync::Arc::clone(&live.metrics)) {
                Ok(bound) => {
                    eprintln!("metrics on http://{bound}/metrics");
                    app.metrics_addr = Some(bound);
                    app.live_metrics = Some(live);
                }
                Err(e) => app.live_error(format!("--metrics-addr {addr}: cannot listen: {e}")),
            }
        }
        match model_path {
            Some(model) => {
                let config = PipelineConfig {
                    model,
                    source,
                    speed: app.current.speed,
                    looping: app.current.looping,
                    playing: !options.paused,
                    alerts: app.current.alerts.clone(),
                    engine: EngineOptions { runtime_library: options.ort_lib.clone(), ..Default::default() },
                    drift: drift_config,
                    record: None,
                };
                // `--evaluate` at start: the replay behind the evaluation view waits until the evaluation is done
                // (or another view is opened), so that filling its plots takes no CPU from the job. A live device
                // starts at once: its samples cannot wait.
                let live_device = matches!(config.source, Some(SourceSpec::Serial { .. } | SourceSpec::Ble { .. }));
                if options.evaluate.is_some() && !live_device {
                    app.deferred_pipeline = Some(config);
                } else {
                    app.spawn_pipeline(config);
                }
            }
            None => app.live_error("no model: the bundled demo model (models/demo) was not found".into()),
        }
        if let Some(path) = options.evaluate.clone() {
            let adopted = early.and_then(|e| e.adopt(&app.ctx, app.model_path.as_deref(), &path));
            match adopted {
                Some((job, request)) => {
                    app.current.last_evaluation = Some(path);
                    app.evaluation.adopt(job, request);
                }
                None => app.start_evaluation(path, false),
            }
        }
        if let Some(model_b) = options.compare.clone() {
            app.evaluation.queue_compare(model_b);
        }
        app
    }

    /// What the live view currently knows (for tests and the frame-time benchmark).
    pub fn live_state(&self) -> &LiveState {
        &self.live
    }

    /// Whether the live pipeline has been started (it waits for an evaluation asked for at start).
    pub fn live_pipeline_started(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Whether the evaluation view's job is running.
    pub fn evaluation_running(&self) -> bool {
        self.evaluation.running()
    }

    /// Where the live session's metrics are served (`--metrics-addr`), once listening.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// What the drift view currently knows (for tests).
    pub fn drift_state(&self) -> &DriftState {
        &self.drift
    }

    /// The settings saved for the next run (for tests): what the user changed in the UI, never this run's flags.
    pub fn remembered_settings(&self) -> &Settings {
        &self.remembered
    }

    /// The MLflow view's state.
    pub fn mlflow_state(&self) -> &MlflowState {
        &self.mlflow
    }

    /// The settings this run uses: the remembered ones with the command-line flags on top.
    pub fn current_settings(&self) -> &Settings {
        &self.current
    }

    /// Every error of the live pipeline in this run, oldest first.
    pub fn error_log(&self) -> &[LoggedError] {
        &self.error_log
    }

    /// Changes a setting for this run and the next ones: the one place settings change.
    fn remember(&mut self, change: impl Fn(&mut Settings)) {
        change(&mut self.current);
        change(&mut self.remembered);
    }

    /// Applies what a view asked for.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::TogglePlay => self.send(Command::TogglePlay),
            Action::Restart => self.send(Command::Restart),
            Action::Seek(t) => self.send(Command::Seek(t)),
            Action::SetSpeed(speed) => {
                self.remember(|s| s.speed = speed);
                self.send(Command::SetSpeed(speed));
            }
            Action::SetLoop(looping) => {
                self.remember(|s| s.looping = looping);
                self.send(Command::SetLoop(looping));
            }
            Action::SetAlerts(alerts) => {
                self.remember(|s| s.alerts = alerts.clone());
                self.send(Command::SetAlerts(alerts));
            }
            Action::OpenSource(spec) => {
                match &spec {
                    SourceSpec::Replay { path } => self.remember(|s| s.replay = Some(path.clone())),
                    SourceSpec::Serial { path, baud, .. } => self.remember(|s| {
                        s.serial_path = Some(path.clone());
                        s.baud = *baud;
                    }),
                    SourceSpec::Ble { target, .. } => self.remember(|s| s.ble_target = Some(target.clone())),
                    SourceSpec::Simulated { .. } => {}
                }
                self.send(Command::OpenSource(spec));
                self.send(Command::Play);
            }
            Action::CloseSource => self.send(Command::CloseSource),
            Action::ToggleRecording => {
                if self.live.recording.is_some() {
                    self.send(Command::StopRecording);
                } else {
                    self.send(Command::StartRecording(RecordTarget::NewUnder(self.recordings.clone())));
                }
            }
            Action::ToggleGifCapture => match self.capture.is_some() {
                true => self.finish_capture(false),
                false => {
                    let path = pictures_dir()
                        .join(format!("har-monitor-{}.gif", chrono::Local::now().format("%Y%m%d-%H%M%S")));
                    self.start_capture(CaptureTarget::Gif(path), None);
                }
            },
            Action::RefreshPorts => self.sensor.refresh_ports(),
            Action::ScanBle => {
                let ctx = self.ctx.clone();
                self.sensor.start_scan(move || ctx.request_repaint());
            }
            Action::MlflowConnect(uri) => {
                self.mlflow.tracking_uri = uri.clone();
                self.remember(|s| s.mlflow_uri = Some(uri.clone()));
                let ctx = self.ctx.clone();
                self.mlflow.refresh(move || ctx.request_repaint());
            }
            // Into the registry the model picker lists.
            Action::MlflowPull { name, version } => match self
                .registry
                .root()
                .map_or_else(crate::registry::Registry::open_default, crate::registry::Registry::open)
            {
                Ok(registry) => {
                    let ctx = self.ctx.clone();
                    let engine = EngineOptions { intra_threads: 1, ..self.evaluation_engine.clone() };
                    self.mlflow.pull(&name, &version, registry, engine, move || ctx.request_repaint());
                }
                Err(e) => self.toast(format!("Cannot open the local model registry: {e}"), true),
            },
            Action::ShowView(view) => self.remember(|s| s.view = view),
            Action::SetPlotSeconds(seconds) => self.remember(|s| s.plot_seconds = seconds),
            Action::SetNormalisedMatrix(on) => self.remember(|s| s.normalised_matrix = on),
            Action::DismissLiveErrors => self.live.errors.clear(),
            Action::Screenshot => self.request_screenshot(screenshot_path()),
            Action::ShowAbout(show) => self.about_open = show,
            Action::PickModel => self.pick_file(FileDialog::Model),
            Action::PickReplay => self.pick_file(FileDialog::Replay),
            Action::PickEvaluationData => self.pick_file(FileDialog::EvaluationData),
            Action::PickEvaluationLabels(windows) => self.pick_file(FileDialog::EvaluationLabels(windows)),
            Action::PickExportFolder => self.pick_file(FileDialog::ExportFolder),
            Action::UseRegistryModel(spec) => match self.registry.choose(&spec) {
                Ok(switch) => {
                    self.toast(switch.message, false);
                    self.open_model(switch.path);
                }
                Err(e) => self.toast(e, true),
            },
            Action::RollbackAlias { name, alias } => {
                let live = self.live.model.as_ref().map(|m| m.path.clone()).or_else(|| self.model_path.clone());
                match self.registry.rollback(&name, &alias, live.as_deref()) {
                    Ok(outcome) => {
                        self.toast(outcome.message, false);
                        if let Some(switch) = outcome.switch {
                            self.open_model(switch.path);
                        }
                    }
                    Err(e) => self.toast(e, true),
                }
            }
            Action::RefreshRegistry => self.registry.refresh(),
            Action::Evaluate(path) => self.start_evaluation(path, true),
            Action::EvaluateWindows { windows, labels } => self.start_evaluation_of(
                windows.clone(),
                DataInput::Windows { windows, labels: Some(labels), normalised: Normalised::Auto },
                true,
            ),
            Action::CancelEvaluation => self.evaluation.cancel(),
            Action::ShowCompare(open) => self.evaluation.show_compare(open),
            Action::PickCompareModel => self.pick_file(FileDialog::CompareModel),
            Action::CompareWith(path) => self.evaluation.start_compare(&self.ctx, path),
            Action::CancelCompare => self.evaluation.cancel_compare(),
        }
    }

    /// Evaluates a labeled file with the current model (the one the pipeline loaded, else the one asked for).
    /// `remember`: the file is offered again next time (chosen in the UI, not given on the command line).
    /// A `.npy` file is prepared windows; its labels are the file beside it by the thesis' naming (`test_X.npy` →
    /// `test_y.npy`), else the view asks for them.
    fn start_evaluation(&mut self, path: PathBuf, remember: bool) {
        let data = DataInput::from_path(&path);
        if let DataInput::Windows { labels: None, .. } = &data {
            let expected = crate::data::labels_name(&path)
                .map(|name| format!("no {name} beside it"))
                .unwrap_or_else(|| "none beside it".into());
            self.evaluation.refuse(
                path.clone(),
                format!(
                    "{}: prepared windows need their labels, and there are {expected} (the thesis' naming: \
                     test_y.npy beside test_X.npy). Choose the labels file (class indices or one-hot).",
                    path.display()
                ),
            );
            return;
        }
        self.start_evaluation_of(path, data, remember);
    }

    fn start_evaluation_of(&mut self, path: PathBuf, data: DataInput, remember: bool) {
        let model = self.live.model.as_ref().map(|m| m.path.clone()).or_else(|| self.model_path.clone());
        let Some(model) = model else {
            self.evaluation.refuse(path, "No model is loaded: open an ONNX model first (top bar).".into());
            return;
        };
        if remember {
            self.remember(|s| s.last_evaluation = Some(path.clone()));
        } else {
            self.current.last_evaluation = Some(path.clone());
        }
        let request =
            JobRequest { model, data, engine: self.evaluation_engine.clone(), batch: BatchOptions::default() };
        self.evaluation.start(&self.ctx, request);
    }

    /// Starts capturing the window (one capture at a time).
    fn start_capture(&mut self, target: CaptureTarget, seconds: Option<f64>) {
        let now = self.ctx.input(|i| i.time);
        let path = target.path().to_path_buf();
        match Capture::start(target, now, seconds) {
            Ok(c) => {
                self.capture = Some(c);
                // A scripted capture (with a length) records a clean window; the button's says what it does.
                if seconds.is_none() {
                    self.toast(format!("Capturing the window into {}", path.display()), false);
                }
            }
            Err(e) => {
                self.report_capture(path, Err(e), seconds.is_some());
            }
        }
    }

    /// Stops the capture; its encoder completes the file on its own thread and reports when done.
    fn finish_capture(&mut self, quit: bool) {
        let Some(capture) = self.capture.take() else { return };
        let tx = self.capture_done_tx.clone();
        let ctx = self.ctx.clone();
        let path = capture.target().path().to_path_buf();
        let _ = std::thread::Builder::new().name("har-capture-finish".into()).spawn(move || {
            let result = capture.finish();
            let _ = tx.send((path, result, quit));
            ctx.request_repaint();
        });
    }

    fn report_capture(&mut self, path: PathBuf, result: Result<usize, String>, quit: bool) {
        match (&result, quit) {
            (Ok(n), true) => eprintln!("captured {n} frames into {}", path.display()),
            (Ok(n), false) => self.toast(format!("Saved {n} frames: {}", path.display()), false),
            (Err(e), true) => {
                eprintln!("error: {e}");
                if let Ok(mut outcome) = self.outcome.lock() {
                    outcome.screenshot_error = Some(e.clone());
                }
            }
            (Err(e), false) => self.toast(e.clone(), true),
        }
        if quit {
            self.ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Starts a scripted capture when due, requests frames while capturing, ends it when its time is up.
    fn handle_capture(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        if let Some((path, seconds, after)) = self.capture_plan.clone() {
            if now >= after {
                self.capture_plan = None;
                self.start_capture(CaptureTarget::from_path(&path), Some(seconds));
            } else {
                ctx.request_repaint_after(Duration::from_secs_f64(after - now));
            }
        }
        if let Some(capture) = self.capture.as_mut() {
            if capture.expired(now) {
                self.finish_capture(true);
            } else {
                if capture.due(now)
                    && let Some(sink) = capture.sink()
                {
                    ctx.request_screenshot(move |shot| sink.send(shot, now));
                }
                ctx.request_repaint_after(super::capture::FRAME_INTERVAL);
            }
        }
        while let Ok((path, result, quit)) = self.capture_done_rx.try_recv() {
            self.report_capture(path, result, quit);
        }
    }

    /// Starts the live pipeline with the wake function that repaints the app.
    fn spawn_pipeline(&mut self, config: PipelineConfig) {
        let ctx = self.ctx.clone();
        let on_screen = Arc::clone(&self.live_on_screen);
        let interval = Arc::clone(&self.live_interval_ms);
        let wake = move || {
            if on_screen.load(Ordering::Relaxed) {
                // News is drawn within one live frame interval (not at once: a 50 Hz sensor sends samples
                // every tick, and a frame per tick would take all the CPU a software renderer has).
                ctx.request_repaint_after(Duration::from_millis(interval.load(Ordering::Relaxed)));
            } else {
                ctx.request_repaint_after(BACKGROUND_REPAINT);
            }
        };
        match PipelineHandle::spawn(config, Box::new(wake)) {
            Ok(p) => self.pipeline = Some(p),
            Err(e) => self.live_error(format!("the pipeline thread could not start: {e}")),
        }
    }

    /// Starts the pipeline that waited for the start-up evaluation, once that is done or another view is shown.
    fn start_deferred_pipeline(&mut self, now: bool) {
        let due = now || self.current.view != View::Evaluation || !self.evaluation.running();
        if due && let Some(config) = self.deferred_pipeline.take() {
            self.spawn_pipeline(config);
        }
    }

    fn send(&mut self, command: Command) {
        self.start_deferred_pipeline(true);
        if let Some(p) = &self.pipeline {
            p.send(command);
        }
    }

    fn toast(&mut self, text: impl Into<String>, error: bool) {
        let now = self.ctx.input(|i| i.time);
        self.toasts.push(Toast { text: text.into(), error, until: now + TOAST_SECONDS });
    }

    /// An error of the live pipeline: it stays in the live view (where the prediction would be) until a model or
    /// a source opens, goes into the log, and to stderr.
    fn live_error(&mut self, message: String) {
        eprintln!("error: {message}");
        self.error_log.push(LoggedError { message: message.clone(), wall: chrono::Local::now() });
        if self.current.view != View::Live {
            self.toast(message.clone(), true);
        }
        self.live.errors.push(message);
    }

    fn drain_events(&mut self) {
        let Some(pipeline) = &self.pipeline else { return };
        let events: Vec<_> = pipeline.drain().collect();
        for event in events {
            if let Some(m) = self.live_metrics.as_mut() {
                m.apply(&event);
            }
            match event {
                Event::Error(message) => self.live_error(message),
                event => {
                    // A model or a source that opens resolves what went wrong before it.
                    let resolves = matches!(event, Event::ModelLoaded(_) | Event::SourceOpened { .. });
                    self.drift.apply(&event);
                    self.live.apply(event);
                    if resolves {
                        self.live.errors.clear();
                    }
                }
            }
        }
    }

    fn open_model(&mut self, path: PathBuf) {
        self.remember(|s| s.model = Some(path.clone()));
        self.model_path = Some(path.clone());
        self.send(Command::LoadModel(path));
    }

    /// Opens a dropped or chosen file: a `.onnx` model or a `.csv` recording (evaluated when the evaluation view
    /// is showing, replayed otherwise).
    pub fn open_file(&mut self, path: PathBuf) {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("onnx") => {
                self.registry.forget_choice();
                self.open_model(path);
            }
            // A recording dropped on the evaluation view is evaluated; elsewhere it is replayed.
            Some("csv") | Some("txt") if self.current.view == View::Evaluation => self.start_evaluation(path, true),
            // Prepared windows are only evaluated (they have no time line to replay).
            Some("npy") => {
                self.apply(Action::ShowView(View::Evaluation));
                self.start_evaluation(path, true);
            }
            Some("csv") | Some("txt") => self.apply(Action::OpenSource(SourceSpec::Replay { path })),
            _ => self.toast(format!("{}: not a .csv recording, .npy windows or an .onnx model", path.display()), true),
        }
    }

    /// Opens a native file dialog on its own thread, so the UI keeps drawing.
    fn pick_file(&self, dialog: FileDialog) {
        let tx = self.picked_tx.clone();
        let ctx = self.ctx.clone();
        let start = match dialog {
            FileDialog::Model => self.model_path.clone(),
            FileDialog::CompareModel => {
                self.evaluation.compare_state().model_b.clone().or_else(|| self.model_path.clone())
            }
            FileDialog::Replay => self.current.replay.clone(),
            FileDialog::EvaluationData | FileDialog::ExportFolder => self.current.last_evaluation.clone(),
            FileDialog::EvaluationLabels(ref windows) => Some(windows.clone()),
        };
        let start_dir = start.and_then(|p| p.parent().map(Path::to_path_buf));
        let _ = std::thread::Builder::new().name("file-dialog".into()).spawn(move || {
            let mut files = rfd::FileDialog::new();
            if let Some(dir) = start_dir {
                files = files.set_directory(dir);
            }
            let picked = match dialog {
                FileDialog::Model => files
                    .add_filter("ONNX model", &["onnx"])
                    .set_title("Open a model (its .model.json must be beside it)")
                    .pick_file()
                    .map(Picked::Model),
                FileDialog::Replay => files
                    .add_filter("Sensor CSV", &["csv", "txt"])
                    .set_title("Open a recording to replay")
                    .pick_file()
                    .map(Picked::Replay),
                FileDialog::EvaluationData => files
                    .add_filter("Labeled sensor CSV or prepared windows", &["csv", "txt", "npy"])
                    .set_title("Evaluate the model on a labeled recording or prepared windows (X.npy)")
                    .pick_file()
                    .map(Picked::Evaluate),
                FileDialog::EvaluationLabels(windows) => files
                    .add_filter("Labels (NumPy)", &["npy"])
                    .set_title(format!("The labels of {}", windows.display()))
                    .pick_file()
                    .map(|labels| Picked::Labels(windows, labels)),
                FileDialog::ExportFolder => files
                    .set_title("Export the evaluation report into a folder")
                    .pick_folder()
                    .map(Picked::ExportFolder),
                FileDialog::CompareModel => files
                    .add_filter("ONNX model", &["onnx"])
                    .set_title("Model B to compare with (its .model.json must be beside it)")
                    .pick_file()
                    .map(Picked::CompareModel),
            };
            if let Some(picked) = picked {
                let _ = tx.send(picked);
                ctx.request_repaint();
            }
        });
    }

    fn request_screenshot(&mut self, path: PathBuf) {
        let tx = self.screenshot_tx.clone();
        let repaint = self.ctx.clone();
        self.ctx.request_screenshot(move |image| {
            let result = save_png(&image, &path).map(|()| path.clone());
            let _ = tx.send(result);
            repaint.request_repaint();
        });
    }

    fn handle_screenshots(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        if let Some(plan) = self.screenshot.as_mut()
            && !plan.requested
        {
            if now >= plan.after {
                plan.requested = true;
                let path = plan.path.clone();
                self.request_screenshot(path);
            } else {
                // One frame when it is due, not a frame every few milliseconds until then.
                ctx.request_repaint_after(Duration::from_secs_f64(plan.after - now));
            }
        }
        while let Ok(result) = self.screenshot_rx.try_recv() {
            // The command-line screenshot reports on stderr and ends the run; the toolbar's keeps running.
            let quit = self.screenshot.as_ref().is_some_and(|p| p.requested);
            match result {
                Ok(path) if quit => eprintln!("screenshot saved to {}", path.display()),
                Ok(path) => self.toast(format!("Screenshot saved: {}", path.display()), false),
                Err(e) if quit => {
                    eprintln!("error: {e}");
                    if let Ok(mut outcome) = self.outcome.lock() {
                        outcome.screenshot_error = Some(e);
                    }
                }
                Err(e) => self.toast(e, true),
            }
            if quit {
                self.screenshot = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        for path in dropped {
            self.open_file(path);
        }
        while let Ok(picked) = self.picked_rx.try_recv() {
            match picked {
                Picked::Model(p) => {
                    self.registry.forget_choice();
                    self.open_model(p);
                }
                Picked::Replay(path) => self.apply(Action::OpenSource(SourceSpec::Replay { path })),
                Picked::Evaluate(p) => self.start_evaluation(p, true),
                Picked::Labels(windows, labels) => self.apply(Action::EvaluateWindows { windows, labels }),
                Picked::ExportFolder(dir) => self.evaluation.export_to(ctx, dir),
                Picked::CompareModel(p) => self.evaluation.start_compare(ctx, p),
            }
        }
        let typing = ctx.memory(|m| m.focused().is_some());
        if !typing && ctx.input(|i| i.key_pressed(egui::Key::Space)) {
            self.send(Command::TogglePlay);
        }
    }

    fn top_bar_ui(&self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("HAR Monitor").strong().size(18.0).color(palette::ACCENT));
            ui.add_space(12.0);
            for v in View::ALL {
                if ui.selectable_label(self.current.view == v, RichText::new(v.label()).size(15.0)).clicked() {
                    actions.push(Action::ShowView(v));
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let (gif_label, gif_hover) = match &self.capture {
                    Some(c) => ("⏹ GIF", format!("Stop capturing into {}", c.target().path().display())),
                    None => ("🎞 GIF", "Capture the window as an animated GIF (pictures folder)".to_string()),
                };
                if ui.button(gif_label).on_hover_text(gif_hover).clicked() {
                    actions.push(Action::ToggleGifCapture);
                }
                if ui.button("About").on_hover_text("Versions, and where HAR Monitor keeps its files").clicked() {
                    actions.push(Action::ShowAbout(!self.about_open));
                }
                if ui.button("📷 Screenshot").on_hover_text("Save the window as a PNG").clicked() {
                    actions.push(Action::Screenshot);
                }
                if ui.button("Open model…").clicked() {
                    actions.push(Action::PickModel);
                }
                let live_model = self.live.model.as_ref().map(|m| m.path.as_path());
                super::registry::picker_ui(ui, &self.registry, live_model, actions);
                let model = match &self.live.model {
                    Some(m) => match self.registry.live_label(Some(&m.path)) {
                        Some(spec) => format!("{} {} · {spec}", m.card.name, m.card.version),
                        None => format!("{} {}", m.card.name, m.card.version),
                    },
                    None => "no model".to_string(),
                };
                let hover = self
                    .live
                    .model
                    .as_ref()
                    .map(|m| {
                        format!(
                            "{}\n{} classes, window {} @ {} Hz\nONNX Runtime {}",
                            m.path.display(),
                            m.card.classes.len(),
                            m.card.window,
                            m.card.sample_rate_hz,
                            m.runtime_version
                        )
                    })
                    .unwrap_or_default();
                ui.label(RichText::new(model).monospace()).on_hover_text(hover);
                ui.label(RichText::new("model").weak());
            });
        });
    }

    fn status_bar_ui(&self, ui: &mut egui::Ui) {
        let s = &self.live.status;
        ui.horizontal(|ui| {
            let source = self.live.source.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| "no source".into());
            widgets::status_item_ui(ui, "source", &source);
            let rate_ok = s.rate_expected <= 0.0 || s.rate_received >= 0.8 * s.rate_expected;
            ui.separator();
            ui.label(RichText::new("rate").weak());
            ui.label(
                RichText::new(format!("{:.0} / {:.0} Hz", s.rate_received, s.rate_expected))
                    .monospace()
                    .color(if rate_ok { ui.visuals().text_color() } else { palette::WARN }),
            )
            .on_hover_text("samples received per second / expected at this speed");
            ui.separator();
            widgets::status_item_ui(ui, "latency", &format!("{:.2} / {:.2} ms", s.latency_p50_ms, s.latency_p95_ms))
                .on_hover_text("time of the model call per window: median / 95th percentile");
            ui.separator();
            widgets::status_item_ui(ui, "windows", &s.windows.to_string());
            ui.separator();
            ui.label(RichText::new("dropped").weak());
            ui.label(RichText::new(s.dropped_events.to_string()).monospace().color(if s.dropped_events > 0 {
                palette::WARN
            } else {
                ui.visuals().text_color()
            }))
            .on_hover_text("events the UI could not take in time (counted, never hidden)");
            if s.skipped_windows > 0 {
                ui.separator();
                widgets::status_item_ui(ui, "skipped (non-finite)", &s.skipped_windows.to_string());
            }
            if let Some(link) = self.live.link() {
                ui.separator();
                ui.label(RichText::new("link").weak());
                ui.label(RichText::new(link.state.as_str()).monospace().color(palette::link_color(link.state)))
                    .on_hover_text(link.message.clone().unwrap_or_else(|| link.endpoint.clone()));
                // One compact item, so the bar still fits a 1280-pixel window: device rate, lines good/bad,
                // reconnects, time since the last sample.
                let mut parts = vec![
                    link.measured_rate_hz.map_or_else(|| "– Hz".to_string(), |r| format!("{r:.1} Hz")),
                    format!("{}/{} bad", crate::format::thousands(link.lines.good), link.lines.bad()),
                    format!("{} reconn.", link.reconnects),
                ];
                if let Some(age) = link.since_last_sample_s {
                    parts.push(format!("last {age:.1} s"));
                }
                ui.label(RichText::new(parts.join(" · ")).monospace()).on_hover_text(link.summary());
            }
            if let Some(r) = &s.recording {
                ui.separator();
                ui.label(RichText::new("⏺ REC").strong().color(palette::BAD))
                    .on_hover_text(format!("Recording into {}", r.dir.display()));
                ui.label(
                    RichText::new(format!(
                        "{} · {} rows",
                        widgets::clock(r.seconds),
                        crate::format::thousands(r.samples)
                    ))
                    .monospace(),
                );
            }
        });
    }

    fn toasts_ui(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        self.toasts.retain(|t| t.until > now);
        if self.toasts.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::unique("toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, [-12.0, -40.0])
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                for t in &self.toasts {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_max_width(520.0);
                        let color = if t.error { palette::BAD } else { palette::OK };
                        ui.label(RichText::new(&t.text).color(color));
                    });
                }
            });
        ctx.request_repaint_after(Duration::from_millis(500));
    }
}

/// The native dialogs the app opens.
#[derive(Debug, Clone)]
enum FileDialog {
    Model,
    Replay,
    EvaluationData,
    /// The labels of these prepared windows.
    EvaluationLabels(PathBuf),
    ExportFolder,
    CompareModel,
}

impl eframe::App for HarApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        // What the last frame cost: the whole process' CPU time since the frame before (a software renderer
        // rasterises on its own threads, which eframe's per-frame time does not see), else eframe's figure.
        let cpu_now = process_cpu_seconds();
        let cost = match (cpu_now, self.last_cpu) {
            (Some(now), Some(before)) => Some(now - before),
            _ => frame.info().cpu_usage.map(f64::from),
        };
        self.last_cpu = cpu_now;
        if let Some(cost) = cost.filter(|c| c.is_finite() && *c >= 0.0) {
            self.frame_cost = if self.frame_cost == 0.0 { cost } else { 0.8 * self.frame_cost + 0.2 * cost };
            let interval = live_frame_interval(self.frame_cost);
            self.live_interval_ms.store(interval.as_millis() as u64, Ordering::Relaxed);
        }
        self.start_deferred_pipeline(false);
        self.drain_events();
        self.handle_input(&ctx);
        self.handle_screenshots(&ctx);
        self.handle_capture(&ctx);
        self.sensor.poll();
        // The MLflow view lists its server (remembered, or MLFLOW_TRACKING_URI) the first time it is shown.
        if self.current.view == View::Mlflow
            && matches!(self.mlflow.listing, crate::session::mlflow::Job::Idle)
            && !self.mlflow.tracking_uri.trim().is_empty()
        {
            let ctx = self.ctx.clone();
            self.mlflow.refresh(move || ctx.request_repaint());
        }
        if let Some(pulled) = self.mlflow.poll() {
            let what = if pulled.created { "imported as" } else { "already in the local registry as" };
            self.toast(
                format!("Pulled {} v{} from MLflow: {what} {}", pulled.name, pulled.version, pulled.local),
                false,
            );
            // The model picker lists it now.
            self.registry.refresh();
        }

        let mut actions = Vec::new();
        layout::top_bar(ui, |ui| self.top_bar_ui(ui, &mut actions));
        layout::status_bar(ui, |ui| self.status_bar_ui(ui));
        let model = self.live.model.as_ref().map(|m| m.path.clone()).or_else(|| self.model_path.clone());
        actions.extend(match self.current.view {
            View::Live => self.live_view.ui(ui, &self.live, &self.sensor, &self.current, &self.error_log),
            View::Drift => self.drift_view.ui(ui, &self.drift, &self.live),
            View::Evaluation => self.evaluation.ui(ui, &self.current, model.as_deref(), &self.registry.models),
            View::Mlflow => self.mlflow_view.ui(ui, &self.mlflow),
        });
        for action in actions {
            self.apply(action);
        }
        self.toasts_ui(&ctx);
        if self.about_open {
            let model = self.live.model.as_ref().map(|m| (m.as_ref(), self.registry.live_label(Some(&m.path))));
            if let Some(action) = super::about::about_ui(&ctx, model) {
                self.apply(action);
            }
        }
        // The live and drift views draw the pipeline's news as it comes; behind the evaluation view once a second
        // is enough.
        self.live_on_screen.store(matches!(self.current.view, View::Live | View::Drift), Ordering::Relaxed);
        // Keep the live view's clock moving while playing.
        if self.live.status.playing && self.current.view == View::Live {
            ctx.request_repaint_after(live_frame_interval(self.frame_cost));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, STORAGE_KEY, &self.remembered);
        }
    }
}

/// CPU time (user + system) of the whole process so far, in seconds.
#[cfg(unix)]
fn process_cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given and reads nothing from it.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
    if !ok {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

#[cfg(not(unix))]
fn process_cpu_seconds() -> Option<f64> {
    None
}

/// The user's pictures folder (or home, or the working folder).
fn pictures_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|d| d.picture_dir().map(Path::to_path_buf).or_else(|| Some(d.home_dir().to_path_buf())))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the toolbar's screenshot goes: the pictures folder, named by time.
fn screenshot_path() -> PathBuf {
    pictures_dir().join(format!("har-monitor-{}.png", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

/// Saves an egui screenshot as PNG through [`crate::output::AtomicFile`]: a failed write never leaves a partial
/// file or destroys an earlier one. The message names the file.
fn save_png(image: &egui::ColorImage, path: &Path) -> Result<(), String> {
    let buffer = super::capture::rgba_image(image)
        .ok_or_else(|| format!("screenshot {}: the image has an unexpected size", path.display()))?;
    let failed = |e: String| format!("cannot write screenshot {}: {e}", path.display());
    let mut file = crate::output::AtomicFile::create(path).map_err(|e| failed(e.source.to_string()))?;
    buffer.write_with_encoder(image::codecs::png::PngEncoder::new(&mut file)).map_err(|e| failed(e.to_string()))?;
    file.commit().map_err(|e| failed(e.source.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_frames_are_paced_by_what_a_frame_costs() {
        assert_eq!(live_frame_interval(0.0), LIVE_FRAME_MIN);
        assert_eq!(live_frame_interval(0.002), LIVE_FRAME_MIN, "a GPU: 30 frames a second");
        assert_eq!(live_frame_interval(0.08), Duration::from_millis(160), "software rendering: half a core");
        assert_eq!(live_frame_interval(f64::NAN), LIVE_FRAME_MIN);
        assert_eq!(live_frame_interval(5.0), Duration::from_secs(1), "never slower than a frame a second");
    }
}
