//! The shell: starts the pipeline, drains its events each frame, keeps the settings, and lays out the top bar,
//! the status bar and the current view. Views return what they want done; the shell does it in one place.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use egui::RichText;

use super::drift::DriftView;
use crate::session::drift::DriftState;
use super::evaluation::{EvalAction, EvaluationView, JobRequest};
use super::live::{LiveAction, LiveView};
use crate::session::live::LiveState;
use super::palette;
use super::settings::{STORAGE_KEY, Settings, View};
use super::{GuiOptions, widgets};
use crate::model::EngineOptions;
use crate::pipeline::batch::BatchOptions;
use crate::pipeline::{Command, PipelineConfig, PipelineHandle};
use crate::source::SourceSpec;

/// A file chosen in a native dialog, and what it was chosen for.
enum Picked {
    Model(PathBuf),
    Replay(PathBuf),
    /// A labeled file to evaluate.
    Evaluate(PathBuf),
    /// The folder to export the evaluation report into.
    ExportFolder(PathBuf),
}

/// A pending `--screenshot` request.
struct ScreenshotPlan {
    path: PathBuf,
    after: Duration,
    requested: bool,
    /// Quit once saved (the command-line screenshot); the toolbar button keeps running.
    quit: bool,
}

/// A short message shown at the bottom right for a few seconds.
struct Toast {
    text: String,
    error: bool,
    until: Instant,
}

pub struct HarApp {
    settings: Settings,
    persist: bool,
    pipeline: Option<PipelineHandle>,
    live: LiveState,
    live_view: LiveView,
    drift: DriftState,
    drift_view: DriftView,
    view: View,
    screenshot: Option<ScreenshotPlan>,
    screenshot_rx: mpsc::Receiver<Result<PathBuf, String>>,
    screenshot_tx: mpsc::Sender<Result<PathBuf, String>>,
    picked_rx: mpsc::Receiver<Picked>,
    picked_tx: mpsc::Sender<Picked>,
    toasts: Vec<Toast>,
    started: Instant,
    model_path: Option<PathBuf>,
    source: Option<SourceSpec>,
    evaluation: EvaluationView,
    /// How the evaluation view loads its own engine (same runtime library as the pipeline).
    evaluation_engine: EngineOptions,
    /// The context the app was created with, for work started outside a frame (dropped files, tests).
    ctx: egui::Context,
}

impl HarApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: GuiOptions) -> Self {
        let stored: Option<Settings> =
            if options.fresh { None } else { cc.storage.and_then(|s| eframe::get_value(s, STORAGE_KEY)) };
        let mut settings = stored.unwrap_or_default();
        super::widgets::apply_theme(&cc.egui_ctx);

        // Command-line options first, then what was used last time (if it still exists), then the bundled demo.
        let model_path = options
            .model
            .clone()
            .or_else(|| settings.model.clone().filter(|p| p.is_file()))
            .or_else(crate::assets::demo_model);
        let source = if options.simulate {
            Some(SourceSpec::Simulated { behaviour: None, seed: 7 })
        } else {
            options
                .replay
                .clone()
                .or_else(|| settings.replay.clone().filter(|p| p.is_file()))
                .or_else(|| crate::assets::demo_data(crate::assets::DEMO_REPLAY))
                .map(|path| SourceSpec::Replay { path })
        };
        if let Some(speed) = options.speed {
            settings.speed = speed;
        }
        if let Some(looping) = options.looping {
            settings.looping = looping;
        }
        // `--evaluate` opens the evaluation view unless another view is asked for.
        let view = options.view.or(options.evaluate.as_ref().map(|_| View::Evaluation)).unwrap_or(settings.view);
        let drift_config = crate::monitor::DriftConfig::default();
        let (screenshot_tx, screenshot_rx) = mpsc::channel();
        let (picked_tx, picked_rx) = mpsc::channel();
        let mut app = HarApp {
            settings,
            persist: !options.fresh,
            pipeline: None,
            live: LiveState::new(),
            live_view: LiveView::default(),
            drift: DriftState::new(drift_config),
            drift_view: DriftView::default(),
            view,
            screenshot: options.screenshot.clone().map(|path| ScreenshotPlan {
                path,
                after: Duration::from_secs_f64(options.screenshot_after.max(0.0)),
                requested: false,
                quit: true,
            }),
            screenshot_rx,
            screenshot_tx,
            picked_rx,
            picked_tx,
            toasts: Vec::new(),
            started: Instant::now(),
            model_path: model_path.clone(),
            source: source.clone(),
            evaluation: EvaluationView::default(),
            // Leave a core to the UI and the live pipeline while a file is scored.
            evaluation_engine: EngineOptions {
                runtime_library: options.ort_lib.clone(),
                intra_threads: std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)),
                ..Default::default()
            },
            ctx: cc.egui_ctx.clone(),
        };
        match model_path {
            Some(model) => {
                let ctx = cc.egui_ctx.clone();
                let config = PipelineConfig {
                    model,
                    source,
                    speed: app.settings.speed,
                    looping: app.settings.looping,
                    playing: !options.paused,
                    alerts: app.settings.alerts.clone(),
                    engine: EngineOptions { runtime_library: options.ort_lib.clone(), ..Default::default() },
                    drift: drift_config,
                };
                match PipelineHandle::spawn(config, Box::new(move || ctx.request_repaint())) {
                    Ok(p) => app.pipeline = Some(p),
                    Err(e) => app.live.errors.push(format!("the pipeline thread could not start: {e}")),
                }
            }
            None => app.live.errors.push(
                "No model: the bundled demo model was not found. Open an ONNX model (with its .model.json card)."
                    .into(),
            ),
        }
        if let Some(path) = options.evaluate.clone() {
            app.start_evaluation(path);
        }
        app
    }

    /// What the live view currently knows (for tests and the frame-time benchmark).
    pub fn live_state(&self) -> &LiveState {
        &self.live
    }

    /// What the drift view currently knows (for tests).
    pub fn drift_state(&self) -> &DriftState {
        &self.drift
    }

    /// Evaluates a labeled file with the current model (the one the pipeline loaded, else the one asked for).
    fn start_evaluation(&mut self, path: PathBuf) {
        let model = self.live.model.as_ref().map(|m| m.path.clone()).or_else(|| self.model_path.clone());
        let Some(model) = model else {
            self.evaluation.refuse(path, "No model is loaded: open an ONNX model first (top bar).".into());
            return;
        };
        self.settings.last_evaluation = Some(path.clone());
        let request =
            JobRequest { model, data: path, engine: self.evaluation_engine.clone(), batch: BatchOptions::default() };
        self.evaluation.start(&self.ctx, request);
    }

    fn send(&mut self, command: Command) {
        if let Some(p) = &self.pipeline {
            p.send(command);
        }
    }

    fn toast(&mut self, text: impl Into<String>, error: bool) {
        self.toasts.push(Toast { text: text.into(), error, until: Instant::now() + Duration::from_secs(6) });
    }

    fn drain_events(&mut self) {
        let Some(pipeline) = &self.pipeline else { return };
        let events: Vec<_> = pipeline.drain().collect();
        for event in events {
            if let crate::pipeline::Event::Error(e) = &event {
                self.toast(e.clone(), true);
            }
            self.drift.apply(&event);
            self.live.apply(event);
        }
    }

    fn open_model(&mut self, path: PathBuf) {
        self.settings.model = Some(path.clone());
        self.model_path = Some(path.clone());
        self.send(Command::LoadModel(path));
    }

    fn open_replay(&mut self, path: PathBuf) {
        self.settings.replay = Some(path.clone());
        let spec = SourceSpec::Replay { path };
        self.source = Some(spec.clone());
        self.send(Command::OpenSource(spec));
        self.send(Command::Play);
    }

    /// Opens a dropped or chosen file: a `.onnx` model or a `.csv` recording (evaluated when the evaluation view
    /// is showing, replayed otherwise).
    pub fn open_file(&mut self, path: PathBuf) {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("onnx") => self.open_model(path),
            // A recording dropped on the evaluation view is evaluated; elsewhere it is replayed.
            Some("csv") | Some("txt") if self.view == View::Evaluation => self.start_evaluation(path),
            Some("csv") | Some("txt") => self.open_replay(path),
            _ => self.toast(format!("{}: not a .csv recording or an .onnx model", path.display()), true),
        }
    }

    /// Opens a native file dialog on its own thread, so the UI keeps drawing.
    fn pick_file(&self, model: bool, ctx: &egui::Context) {
        let tx = self.picked_tx.clone();
        let ctx = ctx.clone();
        let start_dir = if model { self.model_path.clone() } else { self.settings.replay.clone() }
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let _ = std::thread::Builder::new().name("file-dialog".into()).spawn(move || {
            let mut dialog = rfd::FileDialog::new();
            dialog = if model {
                dialog.add_filter("ONNX model", &["onnx"]).set_title("Open a model (its .model.json must be beside it)")
            } else {
                dialog.add_filter("Sensor CSV", &["csv", "txt"]).set_title("Open a recording to replay")
            };
            if let Some(dir) = start_dir {
                dialog = dialog.set_directory(dir);
            }
            if let Some(path) = dialog.pick_file() {
                let _ = tx.send(if model { Picked::Model(path) } else { Picked::Replay(path) });
                ctx.request_repaint();
            }
        });
    }

    /// Native dialogs of the evaluation view: a labeled CSV to evaluate, or the folder to export the report into.
    fn pick_for_evaluation(&self, export: bool, ctx: &egui::Context) {
        let tx = self.picked_tx.clone();
        let ctx = ctx.clone();
        let start_dir = self.settings.last_evaluation.as_ref().and_then(|p| p.parent().map(Path::to_path_buf));
        let _ = std::thread::Builder::new().name("file-dialog".into()).spawn(move || {
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = start_dir {
                dialog = dialog.set_directory(dir);
            }
            let picked = if export {
                dialog.set_title("Export the evaluation report into a folder").pick_folder().map(Picked::ExportFolder)
            } else {
                dialog
                    .add_filter("Labeled sensor CSV", &["csv", "txt"])
                    .set_title("Evaluate the model on a labeled recording")
                    .pick_file()
                    .map(Picked::Evaluate)
            };
            if let Some(picked) = picked {
                let _ = tx.send(picked);
                ctx.request_repaint();
            }
        });
    }

    fn request_screenshot(&mut self, ctx: &egui::Context, path: PathBuf) {
        let tx = self.screenshot_tx.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let result = save_png(&image, &path).map(|()| path.clone());
            let _ = tx.send(result);
            repaint.request_repaint();
        });
    }

    fn handle_screenshots(&mut self, ctx: &egui::Context) {
        if let Some(plan) = self.screenshot.as_mut()
            && !plan.requested
            && self.started.elapsed() >= plan.after
        {
            plan.requested = true;
            let path = plan.path.clone();
            self.request_screenshot(ctx, path);
        }
        if let Some(plan) = &self.screenshot
            && !plan.requested
        {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        while let Ok(result) = self.screenshot_rx.try_recv() {
            let quit = self.screenshot.as_ref().is_some_and(|p| p.quit && p.requested);
            match result {
                Ok(path) => {
                    if quit {
                        eprintln!("screenshot saved to {}", path.display());
                    }
                    self.toast(format!("Screenshot saved: {}", path.display()), false);
                }
                Err(e) => {
                    if quit {
                        eprintln!("error: {e}");
                    }
                    self.toast(e, true);
                }
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
                Picked::Model(p) => self.open_model(p),
                Picked::Replay(p) => self.open_replay(p),
                Picked::Evaluate(p) => self.start_evaluation(p),
                Picked::ExportFolder(dir) => self.evaluation.export_to(ctx, dir),
            }
        }
        let typing = ctx.memory(|m| m.focused().is_some());
        if !typing && ctx.input(|i| i.key_pressed(egui::Key::Space)) {
            self.send(Command::TogglePlay);
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("HAR Monitor").strong().size(18.0).color(palette::ACCENT));
            ui.add_space(12.0);
            for v in View::ALL {
                if ui.selectable_label(self.view == v, RichText::new(v.label()).size(15.0)).clicked() {
                    self.view = v;
                    self.settings.view = v;
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button("📷 Screenshot").on_hover_text("Save the window as a PNG").clicked() {
                    let path = screenshot_path();
                    self.request_screenshot(ui.ctx(), path);
                }
                if ui.button("Open model…").clicked() {
                    self.pick_file(true, ui.ctx());
                }
                let model = match &self.live.model {
                    Some(m) => format!("{} {}", m.card.name, m.card.version),
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

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        let s = &self.live.status;
        ui.horizontal(|ui| {
            let source = self.live.source.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| "no source".into());
            widgets::status_item(ui, "source", &source);
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
            widgets::status_item(
                ui,
                "latency p50/p95",
                &format!("{:.2} / {:.2} ms", s.latency_p50_ms, s.latency_p95_ms),
            );
            ui.separator();
            widgets::status_item(ui, "windows", &s.windows.to_string());
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
                widgets::status_item(ui, "skipped (non-finite)", &s.skipped_windows.to_string());
            }
        });
    }

    fn toasts_ui(&mut self, ctx: &egui::Context) {
        let now = Instant::now();
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

impl eframe::App for HarApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.drain_events();
        self.handle_input(&ctx);
        self.handle_screenshots(&ctx);

        egui::Panel::top("top_bar")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(10, 6)))
            .show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("status_bar")
            .frame(egui::Frame::side_top_panel(ui.style()).inner_margin(egui::Margin::symmetric(10, 4)))
            .show(ui, |ui| self.status_bar(ui));

        let actions = match self.view {
            View::Live => self.live_view.ui(ui, &self.live, &mut self.settings),
            View::Drift => {
                self.drift_view.ui(ui, &self.drift, &self.live);
                Vec::new()
            }
            View::Evaluation => {
                let model = self.live.model.as_ref().map(|m| m.path.clone()).or_else(|| self.model_path.clone());
                for action in self.evaluation.ui(ui, &mut self.settings, model.as_deref()) {
                    match action {
                        EvalAction::PickData => self.pick_for_evaluation(false, &ctx),
                        EvalAction::PickExportFolder => self.pick_for_evaluation(true, &ctx),
                        EvalAction::Evaluate(path) => self.start_evaluation(path),
                    }
                }
                Vec::new()
            }
        };
        for action in actions {
            match action {
                LiveAction::Command(c) => {
                    if let Command::SetSpeed(x) = c {
                        self.settings.speed = x;
                    }
                    if let Command::SetLoop(l) = c {
                        self.settings.looping = l;
                    }
                    if let Command::SetAlerts(a) = &c {
                        self.settings.alerts = a.clone();
                    }
                    if let Command::OpenSource(spec) = &c {
                        self.source = Some(spec.clone());
                    }
                    self.send(c);
                }
                LiveAction::PickReplay => self.pick_file(false, &ctx),
            }
        }
        // Errors from the pipeline also stay in the live state; toasts show them once.
        self.live.errors.clear();
        self.toasts_ui(&ctx);
        // Keep the clock moving smoothly while playing.
        if self.live.status.playing {
            ctx.request_repaint_after(Duration::from_millis(33));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, STORAGE_KEY, &self.settings);
        }
    }
}

/// Where the toolbar's screenshot goes: the user's pictures folder (or home), named by time.
fn screenshot_path() -> PathBuf {
    let dir = directories::UserDirs::new()
        .and_then(|d| d.picture_dir().map(Path::to_path_buf).or_else(|| Some(d.home_dir().to_path_buf())))
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join(format!("har-monitor-{}.png", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

/// Saves an egui screenshot as PNG; the message names the file when it fails.
fn save_png(image: &egui::ColorImage, path: &Path) -> Result<(), String> {
    let [w, h] = image.size;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for p in &image.pixels {
        rgba.extend_from_slice(&p.to_srgba_unmultiplied());
    }
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or_else(|| format!("screenshot {}: the image has an unexpected size", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    buffer.save(path).map_err(|e| format!("cannot write screenshot {}: {e}", path.display()))
}
