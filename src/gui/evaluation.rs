//! The analyst's screen: evaluate the model on a labeled recording and see where it goes wrong. Headline numbers,
//! the confusion matrix (the centrepiece), per-class and per-user tables, and for any cell the windows in it with
//! their six signals and class probabilities. The numbers come from the batch scorer and report that
//! `har-monitor evaluate` uses; the job runs on its own thread and this view only draws its state.

mod calibration;
mod compare;
mod matrix;
mod state;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use egui::{Align, Color32, Layout, RichText, Sense, Ui, vec2};
use egui_extras::{Column, TableBuilder};
use egui_plot::{AxisHints, Line, Plot, PlotPoints};

pub use crate::session::evaluation::{Evaluation, EvaluationJob, EvaluationProgress, JobRequest, JobStatus, Wake};
pub use state::{ClassColumn, EvaluationState, ExportStatus, Phase, SideTab, WindowColumn};

use super::action::Action;
use super::layout;
use super::palette::{self, class_color};
use super::settings::Settings;
use super::widgets;
use crate::eval::write_report_dir;
use crate::pipeline::compare::CompareRequest;
use crate::session::compare::{CompareJob, CompareState, CompareStatus};
use crate::session::registry::PickerModel;

/// Width of the panel beside the matrix at full size; a narrower window gives it a share of its width.
const SIDE_WIDTH: f32 = 600.0;
/// The side panel's share of the view's width when the window is narrow.
const SIDE_SHARE: f32 = 0.47;

/// How the view answers a job's news: progress is drawn at most once a second ([`PROGRESS_REPAINT`]), the result
/// at once.
pub(crate) fn repaint_for(ctx: &egui::Context, news: Wake) {
    match news {
        Wake::Progress => ctx.request_repaint_after(PROGRESS_REPAINT),
        Wake::Finished => ctx.request_repaint(),
    }
}

/// How often the view redraws to show a running job's progress. A frame rendered in software (Mesa's lavapipe,
/// no GPU) costs ~90 ms of CPU at 1280×800 on a 2-core machine: at 1 Hz the job keeps ~95 % of the machine.
pub(crate) const PROGRESS_REPAINT: Duration = Duration::from_millis(1000);

#[derive(Debug, Default)]
pub struct EvaluationView {
    state: EvaluationState,
    job: Option<EvaluationJob>,
    export: Option<mpsc::Receiver<Result<Vec<PathBuf>, String>>>,
    /// When the running job started.
    started: Option<Instant>,
    /// The last evaluation asked for: its model is model A of a comparison, its file the file compared on.
    last_request: Option<JobRequest>,
    compare: CompareState,
    compare_job: Option<CompareJob>,
    /// A model B to compare with as soon as the evaluation is done (`gui --compare`).
    pending_compare: Option<PathBuf>,
}

impl Drop for EvaluationView {
    /// Closing the app stops a running evaluation and waits for its thread (at most the current batch, or the
    /// rest of loading the file), so ONNX Runtime is not torn down under it.
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            job.cancel_and_wait();
        }
        if let Some(job) = self.compare_job.take() {
            job.cancel_and_wait();
        }
    }
}

impl EvaluationView {
    /// Starts evaluating `request.data` (a running evaluation is cancelled first).
    pub fn start(&mut self, ctx: &egui::Context, request: JobRequest) {
        let file = request.data.path().to_path_buf();
        self.job = None;
        self.started = Some(Instant::now());
        self.last_request = Some(request.clone());
        self.state.started(file.clone());
        let wake = ctx.clone();
        // The job's news is shown a few times a second: redrawing on every batch would take the cores it scores on.
        match EvaluationJob::spawn(request, move |news| repaint_for(&wake, news)) {
            Ok(job) => self.job = Some(job),
            Err(e) => self.state.failed_to_start(file, format!("the evaluation thread could not start: {e}")),
        }
    }

    /// Shows `job`, started for `request` before the view existed (`gui --evaluate`: see `gui::early`), as if
    /// [`EvaluationView::start`] had started it.
    pub(crate) fn adopt(&mut self, job: EvaluationJob, request: JobRequest) {
        self.started = Some(job.started());
        self.state.started(request.data.path().to_path_buf());
        self.last_request = Some(request);
        self.job = Some(job);
    }

    /// Whether an evaluation is running.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Compares the evaluated model (A) with `model_b` on the evaluated file, on a thread. Refused with a message
    /// when nothing has been evaluated yet.
    pub fn start_compare(&mut self, ctx: &egui::Context, model_b: PathBuf) {
        self.compare_job = None;
        self.pending_compare = None;
        let Some(request) = self.last_request.clone().filter(|_| self.state.result.is_some()) else {
            self.compare.model_b = Some(model_b);
            self.compare.refused(
                "Evaluate a labeled file first: model B is compared with the evaluated model on the evaluated file."
                    .into(),
            );
            return;
        };
        let compare = CompareRequest {
            model_a: request.model.clone(),
            model_b: model_b.clone(),
            data: request.data.clone(),
            engine: request.engine.clone(),
            batch: request.batch.clone(),
        };
        self.compare.started(request.model, model_b, request.data.path().to_path_buf());
        let wake = ctx.clone();
        match CompareJob::spawn(compare, move |news| repaint_for(&wake, news)) {
            Ok(job) => self.compare_job = Some(job),
            Err(e) => self.compare.refused(format!("the comparison thread could not start: {e}")),
        }
    }

    /// Compares with `model_b` once the evaluation under way is done.
    pub fn queue_compare(&mut self, model_b: PathBuf) {
        self.compare.open = true;
        self.compare.model_b = Some(model_b.clone());
        self.pending_compare = Some(model_b);
    }

    /// Shows the comparison panel (or the evaluation again).
    pub fn show_compare(&mut self, open: bool) {
        self.compare.open = open;
    }

    /// Asks the running comparison (if any) to stop after its current batch.
    pub fn cancel_compare(&self) {
        if let Some(job) = &self.compare_job {
            job.cancel();
        }
    }

    /// The comparison's state (what the panel shows).
    pub fn compare_state(&self) -> &CompareState {
        &self.compare
    }

    /// Asks the running job (if any) to stop after its current batch.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Shows why an evaluation of `file` could not start (no model, ...).
    pub fn refuse(&mut self, file: PathBuf, message: String) {
        self.job = None;
        self.state.failed_to_start(file, message);
    }

    /// Writes the report directory of the current evaluation into `dir`, on a thread.
    pub fn export_to(&mut self, ctx: &egui::Context, dir: PathBuf) {
        let Some(result) = self.state.result.clone() else { return };
        let (tx, rx) = mpsc::channel();
        let wake = ctx.clone();
        let target = dir.clone();
        let spawned = std::thread::Builder::new().name("har-export".into()).spawn(move || {
            let outcome = write_report_dir(&target, &result.report, &result.scored.predictions, &result.report.classes)
                .map_err(|e| e.to_string());
            let _ = tx.send(outcome);
            wake.request_repaint();
        });
        match spawned {
            Ok(_) => {
                self.state.export = ExportStatus::Writing(dir);
                self.export = Some(rx);
            }
            Err(e) => self.state.export = ExportStatus::Failed(format!("the export thread could not start: {e}")),
        }
    }

    /// Takes in what the job and the export thread report. Called every frame.
    pub fn poll(&mut self) {
        if let Some(job) = self.job.as_mut() {
            match job.poll() {
                JobStatus::Running(progress) => self.state.progressed(progress),
                JobStatus::Finished(outcome) => {
                    let file = job.data().to_path_buf();
                    self.job = None;
                    if let (Ok(evaluation), Some(started)) = (&outcome, self.started.take()) {
                        // Until the result is on screen, as the user waits for it (stderr, for scripts and benches).
                        let model = self.last_request.as_ref().map(|r| r.model.display().to_string());
                        eprintln!(
                            "evaluated {} with {}: {} windows in {:.2} s",
                            file.display(),
                            model.unwrap_or_default(),
                            evaluation.report.windows.used,
                            started.elapsed().as_secs_f64()
                        );
                    }
                    self.state.finished(file, outcome.map(|evaluation| *evaluation));
                }
            }
        }
        if let Some(job) = self.compare_job.as_mut() {
            match job.poll() {
                CompareStatus::Running { progress, cancelling } => self.compare.progressed(progress, cancelling),
                CompareStatus::Finished(outcome) => {
                    self.compare_job = None;
                    self.compare.finished(outcome.map(|o| o.comparison));
                }
            }
        }
        if let Some(rx) = &self.export {
            let outcome = match rx.try_recv() {
                Ok(outcome) => Some(outcome),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => Some(Err("the export stopped unexpectedly".into())),
            };
            if let Some(outcome) = outcome {
                self.export = None;
                self.state.export = match (outcome, &self.state.export) {
                    (Ok(files), ExportStatus::Writing(dir)) => ExportStatus::Written { dir: dir.clone(), files },
                    (Ok(files), _) => ExportStatus::Written { dir: PathBuf::new(), files },
                    (Err(message), _) => ExportStatus::Failed(message),
                };
            }
        }
    }

    /// Draws the view. `model` is the model an evaluation would use; `registry` the registry's models (the
    /// comparison's model B may be one of their versions).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        settings: &Settings,
        model: Option<&Path>,
        registry: &[PickerModel],
    ) -> Vec<Action> {
        self.poll();
        // `gui --compare`: once the evaluation is done, model B is scored on the same file.
        if self.job.is_none()
            && self.state.result.is_some()
            && let Some(model_b) = self.pending_compare.take()
        {
            self.start_compare(&ui.ctx().clone(), model_b);
        }
        let mut actions = Vec::new();
        match self.state.result.clone() {
            Some(result) if self.compare.open => {
                layout::central_ui(ui, |ui| {
                    let normalised = settings.normalised_matrix;
                    compare::compare_ui(ui, &self.compare, &result.report, registry, normalised, &mut actions)
                });
            }
            Some(result) => {
                layout::header_ui(ui, "eval_header", |ui| self.header_ui(ui, &result, &mut actions));
                let side_width = SIDE_WIDTH.min((ui.available_width() * SIDE_SHARE).floor());
                layout::side_panel_ui(ui, "eval_side", side_width, |ui| self.side_ui(ui, &result));
                layout::central_ui(ui, |ui| self.matrix_ui(ui, &result, settings, &mut actions));
            }
            None => layout::central_ui(ui, |ui| self.start_ui(ui, settings, model, &mut actions)),
        }
        if self.job.is_some() {
            ui.ctx().request_repaint_after(PROGRESS_REPAINT);
        }
        if self.compare_job.is_some() {
            ui.ctx().request_repaint_after(PROGRESS_REPAINT);
        }
        drop_hint(ui.ctx());
        actions
    }

    /// Before there is a result: what to do, the running job, or why the last one failed.
    fn start_ui(&mut self, ui: &mut Ui, settings: &Settings, model: Option<&Path>, actions: &mut Vec<Action>) {
        let width = ui.available_width().min(620.0);
        ui.add_space((ui.available_height() * 0.18).min(140.0));
        ui.vertical_centered(|ui| {
            ui.set_max_width(width);
            match self.state.phase.clone() {
                Phase::Running { file, progress } => progress_ui(ui, &file, progress, actions),
                Phase::Failed { file, message } => {
                    problem_frame_ui(ui, palette::BAD, |ui| {
                        ui.label(
                            RichText::new(format!("{} could not be evaluated", file_name(&file))).size(18.0).strong(),
                        );
                        ui.add_space(4.0);
                        ui.label(RichText::new(message).color(palette::BAD));
                        if crate::data::is_npy(&file) {
                            ui.add_space(6.0);
                            if ui.button("Choose the labels file (y.npy)…").clicked() {
                                actions.push(Action::PickEvaluationLabels(file.clone()));
                            }
                        }
                    });
                    ui.add_space(16.0);
                    self.choices_ui(ui, settings, model, actions);
                }
                Phase::Cancelled { file } => {
                    problem_frame_ui(ui, palette::WARN, |ui| {
                        ui.label(
                            RichText::new(format!("The evaluation of {} was cancelled.", file_name(&file))).size(16.0),
                        );
                    });
                    ui.add_space(16.0);
                    self.choices_ui(ui, settings, model, actions);
                }
                Phase::Empty | Phase::Done => {
                    ui.label(RichText::new("Evaluate the model on a labeled recording").size(22.0).strong());
                    ui.add_space(6.0);
                    ui.label(
                        RichText::new(
                            "Every window of the file is scored by the current model and compared with its majority \
                             label: accuracy, F1, Cohen's kappa, the confusion matrix, and the windows behind each \
                             mistake.",
                        )
                        .weak(),
                    );
                    ui.add_space(16.0);
                    self.choices_ui(ui, settings, model, actions);
                }
            }
        });
    }

    fn choices_ui(&self, ui: &mut Ui, settings: &Settings, model: Option<&Path>, actions: &mut Vec<Action>) {
        match model {
            Some(m) => ui
                .label(RichText::new(format!("model: {}", file_name(m))).monospace())
                .on_hover_text(m.display().to_string()),
            None => ui.label(RichText::new("No model is loaded: open one first (top bar).").color(palette::WARN)),
        };
        ui.add_space(8.0);
        if ui.button(RichText::new("Open labeled CSV or windows (.npy)…").size(16.0)).clicked() {
            actions.push(Action::PickEvaluationData);
        }
        if let Some(demo) = crate::assets::demo_data(crate::assets::DEMO_LABELED)
            && ui.button(format!("Evaluate the demo file ({})", crate::assets::DEMO_LABELED)).clicked()
        {
            actions.push(Action::Evaluate(demo));
        }
        if let Some(last) = settings.last_evaluation.as_ref().filter(|p| p.is_file())
            && ui
                .button(format!("Evaluate again: {}", file_name(last)))
                .on_hover_text(last.display().to_string())
                .clicked()
        {
            actions.push(Action::Evaluate(last.clone()));
        }
        ui.add_space(8.0);
        ui.label(
            RichText::new("or drop a .csv on this window · columns timestamp, Ax_w … Gz_w, activity, User")
                .small()
                .weak(),
        );
        ui.label(
            RichText::new("or prepared windows: test_X.npy (windows × 200 × 6), labels test_y.npy beside it")
                .small()
                .weak(),
        );
    }

    /// File, model, the buttons, the headline numbers and the notes.
    fn header_ui(&mut self, ui: &mut Ui, result: &Evaluation, actions: &mut Vec<Action>) {
        let report = &result.report;
        ui.horizontal(|ui| {
            ui.label(RichText::new(file_name(Path::new(&report.data))).size(17.0).strong())
                .on_hover_text(load_summary(result));
            ui.label(RichText::new("evaluated with").weak());
            ui.label(RichText::new(format!("{} {}", report.model.name, report.model.version)).monospace())
                .on_hover_text(&report.model.path);
            ui.add_space(8.0);
            // The report's notes and what the loader did open below the headline numbers (a collapsible section whose
            // switch sits on this line, to leave the matrix its height).
            let arrow = if self.state.notes_open { "⏷" } else { "⏵" };
            let title = match report.notes.len() {
                0 => format!("{arrow} how the file was read"),
                n => format!("{arrow} notes ({n})"),
            };
            let warned = !result.scored.load_report.warnings.is_empty();
            let text = if warned { RichText::new(title).color(palette::WARN) } else { RichText::new(title) };
            if ui
                .selectable_label(self.state.notes_open, text)
                .on_hover_text("Notes on the data, columns used, timestamps and the accelerometer unit")
                .clicked()
            {
                self.state.notes_open = !self.state.notes_open;
            }
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if ui
                    .button("Export report…")
                    .on_hover_text(
                        "report.json, CSVs, confusion_matrix.png and reliability.png, as `har-monitor evaluate` writes them",
                    )
                    .clicked()
                {
                    actions.push(Action::PickExportFolder);
                }
                if ui.button("Open labeled CSV…").clicked() {
                    actions.push(Action::PickEvaluationData);
                }
                if ui
                    .button("Compare…")
                    .on_hover_text("Score this file with a second model: deltas, both matrices, McNemar's test")
                    .clicked()
                {
                    actions.push(Action::ShowCompare(true));
                }
                export_status_ui(ui, &self.state.export);
            });
        });
        ui.add_space(4.0);
        let kappa = report.cohen_kappa.map_or_else(|| "undefined".to_string(), |k| format!("{k:.3}"));
        let correct: u64 = (0..report.classes.len()).map(|i| report.confusion_matrix.count(i, i)).sum();
        let headline = [
            (
                "accuracy",
                format!("{:.1}%", report.accuracy * 100.0),
                format!("{correct} of {} windows", report.windows.used),
            ),
            (
                "macro-F1",
                format!("{:.3}", report.macro_avg.f1),
                format!("P {:.3} · R {:.3}", report.macro_avg.precision, report.macro_avg.recall),
            ),
            (
                "weighted-F1",
                format!("{:.3}", report.weighted.f1),
                format!("P {:.3} · R {:.3}", report.weighted.precision, report.weighted.recall),
            ),
            ("Cohen's κ", kappa, "agreement beyond chance".to_string()),
            ("windows used", report.windows.used.to_string(), format!("{} skipped", report.windows.skipped)),
            (
                "time taken",
                format!("{:.2} s", report.seconds),
                format!("{:.2} s in the model", result.scored.inference_seconds),
            ),
        ];
        ui.columns(headline.len(), |columns| {
            for (ui, (caption, value, detail)) in columns.iter_mut().zip(headline) {
                headline_stat_ui(ui, caption, &value, &detail);
            }
        });
        if self.state.notes_open {
            ui.add_space(4.0);
            // Bounded, so that the matrix keeps most of the height.
            egui::ScrollArea::vertical()
                .id_salt("eval_notes_scroll")
                .min_scrolled_height(100.0)
                .max_height(110.0)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    for note in &report.notes {
                        ui.label(format!("• {note}"));
                    }
                    ui.label(RichText::new(result.scored.load_report.to_string().trim_end()).monospace().weak());
                });
        }
    }

    fn matrix_ui(&mut self, ui: &mut Ui, result: &Evaluation, settings: &Settings, actions: &mut Vec<Action>) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Confusion matrix").size(16.0).strong());
            // Right to left: the shade switch keeps its place and the caption takes what is left, shortened when
            // the window is narrow (its full text on hover).
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if ui
                    .selectable_label(!settings.normalised_matrix, "count")
                    .on_hover_text("Shade cells by their count")
                    .clicked()
                {
                    actions.push(Action::SetNormalisedMatrix(false));
                }
                if ui
                    .selectable_label(settings.normalised_matrix, "row share")
                    .on_hover_text("Shade cells by their share of the true class")
                    .clicked()
                {
                    actions.push(Action::SetNormalisedMatrix(true));
                }
                ui.label(RichText::new("shade by").weak());
                ui.add_space(8.0);
                ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                    let caption = "rows: true class · columns: predicted class";
                    ui.add(egui::Label::new(RichText::new(caption).weak()).truncate()).on_hover_text(caption);
                });
            });
        });
        ui.add_space(4.0);
        // Scrolls only when even the smallest cells do not fit (many classes, a small window).
        let clicked = egui::ScrollArea::both()
            .id_salt("eval_matrix_scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                matrix::confusion_matrix_ui(ui, &result.report, settings.normalised_matrix, self.state.cell, true)
            })
            .inner;
        if let Some((i, j)) = clicked {
            self.state.select_cell(i, j);
        }
    }

    fn side_ui(&mut self, ui: &mut Ui, result: &Evaluation) {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if ui
                .selectable_label(self.state.tab == SideTab::Classes, RichText::new("Classes & users").size(15.0))
                .clicked()
            {
                self.state.tab = SideTab::Classes;
            }
            let cell_tab = match self.state.cell {
                Some(_) => format!("Windows in cell ({})", self.state.cell_windows.len()),
                None => "Windows in cell".to_string(),
            };
            if ui.selectable_label(self.state.tab == SideTab::Cell, RichText::new(cell_tab).size(15.0)).clicked() {
                self.state.tab = SideTab::Cell;
            }
            let calibration = ui
                .selectable_label(self.state.tab == SideTab::Calibration, RichText::new("Calibration").size(15.0))
                .on_hover_text("Can the confidence be believed? Reliability diagram, ECE, Brier score, log loss");
            if calibration.clicked() {
                self.state.tab = SideTab::Calibration;
            }
        });
        ui.separator();
        match self.state.tab {
            SideTab::Classes => {
                egui::ScrollArea::vertical().id_salt("eval_classes_scroll").auto_shrink([false, false]).show(
                    ui,
                    |ui| {
                        ui.spacing_mut().item_spacing.y = 2.0;
                        self.class_table_ui(ui, result);
                        ui.add_space(12.0);
                        user_bars_ui(ui, result);
                    },
                );
            }
            SideTab::Cell => self.cell_ui(ui, result),
            SideTab::Calibration => {
                egui::ScrollArea::vertical()
                    .id_salt("eval_calibration_scroll")
                    .auto_shrink([false, false])
                    .show(ui, |ui| calibration::calibration_ui(ui, &result.report));
            }
        }
    }

    fn class_table_ui(&mut self, ui: &mut Ui, result: &Evaluation) {
        let report = &result.report;
        ui.label(RichText::new("Per class").strong());
        let rows = self.state.class_rows();
        let order = self.state.class_order;
        let mut clicked = None;
        // The numbers narrow before the names do, so that the table fits the panel at any window size.
        let free = ui.available_width() - 4.0 * ui.spacing().item_spacing.x - 4.0;
        let number_w = ((free - 140.0) / 4.0).clamp(58.0, 80.0).floor();
        let name_w = (free - 4.0 * number_w).max(110.0).floor();
        TableBuilder::new(ui)
            .id_salt("eval_per_class")
            .striped(true)
            .vscroll(false)
            .cell_layout(Layout::left_to_right(Align::Center))
            .column(Column::exact(name_w))
            .columns(Column::exact(number_w), 4)
            .header(24.0, |mut header| {
                // A narrow panel abbreviates the longest header (its hover names it in full).
                let precision = if number_w >= 76.0 { "precision" } else { "prec." };
                for (column, label) in [
                    (ClassColumn::Class, "class"),
                    (ClassColumn::Precision, precision),
                    (ClassColumn::Recall, "recall"),
                    (ClassColumn::F1, "F1"),
                    (ClassColumn::Support, "support"),
                ] {
                    header.col(|ui| {
                        if sort_header_ui(ui, label, order.column == column, order.descending) {
                            clicked = Some(column);
                        }
                    });
                }
            })
            .body(|mut body| {
                for i in rows {
                    let Some(c) = report.per_class.get(i) else { continue };
                    body.row(20.0, |mut row| {
                        row.col(|ui| {
                            swatch_ui(ui, class_color(i));
                            ui.label(&c.class);
                        });
                        for value in [c.precision, c.recall, c.f1] {
                            row.col(|ui| number_cell_ui(ui, &format!("{value:.3}")));
                        }
                        row.col(|ui| number_cell_ui(ui, &c.support.to_string()));
                    });
                }
                for (name, avg) in [("macro avg", &report.macro_avg), ("weighted avg", &report.weighted)] {
                    body.row(20.0, |mut row| {
                        row.set_overline(name == "macro avg");
                        row.col(|ui| {
                            ui.add_space(16.0);
                            ui.label(RichText::new(name).italics().weak());
                        });
                        for value in [avg.precision, avg.recall, avg.f1] {
                            row.col(|ui| number_cell_ui(ui, &format!("{value:.3}")));
                        }
                        row.col(|ui| number_cell_ui(ui, &report.windows.used.to_string()));
                    });
                }
            });
        if let Some(column) = clicked {
            self.state.sort_classes(column);
        }
    }

    fn cell_ui(&mut self, ui: &mut Ui, result: &Evaluation) {
        let report = &result.report;
        let Some((t, p)) = self.state.cell else {
            ui.add_space(20.0);
            ui.vertical_centered(|ui| {
                ui.label(RichText::new("Click a cell of the confusion matrix to list its windows.").weak());
            });
            return;
        };
        let name = |i: usize| report.classes.get(i).map_or("?", String::as_str);
        let count = self.state.cell_windows.len();
        let row_total: u64 = (0..report.classes.len()).map(|j| report.confusion_matrix.count(t, j)).sum();
        let share = if row_total == 0 { 0.0 } else { count as f64 / row_total as f64 };
        ui.horizontal(|ui| {
            ui.label(RichText::new("true").weak());
            swatch_ui(ui, class_color(t));
            ui.label(RichText::new(name(t)).strong());
            ui.label(RichText::new("→").monospace().weak());
            ui.label(RichText::new("predicted").weak());
            swatch_ui(ui, class_color(p));
            ui.label(RichText::new(name(p)).strong());
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                if ui.small_button("🗙").on_hover_text("Clear the selection").clicked() {
                    self.state.clear_cell();
                    self.state.tab = SideTab::Classes;
                }
                let verdict = if t == p { "correct" } else { "confused" };
                ui.label(
                    RichText::new(format!(
                        "{count} {} · {}",
                        if count == 1 { "window" } else { "windows" },
                        crate::format::percent(share)
                    ))
                    .weak(),
                )
                .on_hover_text(format!(
                    "{} of the {} windows are {verdict} this way",
                    crate::format::percent(share),
                    name(t)
                ));
            });
        });
        if count == 0 {
            ui.add_space(12.0);
            ui.label(RichText::new("No window fell in this cell.").weak());
            return;
        }
        self.window_table_ui(ui, result);
        ui.add_space(6.0);
        ui.separator();
        if let Some(picked) = self.state.picked {
            self.window_detail_ui(ui, result, picked);
        }
    }

    fn window_table_ui(&mut self, ui: &mut Ui, result: &Evaluation) {
        let predictions = &result.scored.predictions;
        let order = self.state.window_order;
        let windows = self.state.cell_windows.clone();
        let picked = self.state.picked;
        let mut sort = None;
        let mut pick = None;
        let has_users = predictions.iter().any(|p| p.user.is_some());
        // Columns share the panel's width (less the gaps between them and a scroll bar).
        let spacing = ui.spacing().item_spacing.x;
        let free = (ui.available_width() - 4.0 * spacing - 14.0).max(300.0);
        let widths = [0.15, 0.19, 0.16, 0.25, 0.25].map(|share| (free * share).floor());
        // A click anywhere on a row picks it: the labels in it must not take the click for text selection.
        ui.style_mut().interaction.selectable_labels = false;
        TableBuilder::new(ui)
            .id_salt("eval_cell_windows")
            .striped(true)
            .sense(Sense::click())
            .min_scrolled_height(130.0)
            .max_scroll_height(130.0)
            .cell_layout(Layout::left_to_right(Align::Center))
            .columns(Column::exact(widths[0]), 1)
            .columns(Column::exact(widths[1]), 1)
            .columns(Column::exact(widths[2]), 1)
            .columns(Column::exact(widths[3]), 1)
            .columns(Column::exact(widths[4]), 1)
            .header(22.0, |mut header| {
                header.col(|ui| {
                    ui.label(RichText::new("window").weak());
                });
                for (column, label) in [
                    (WindowColumn::Time, "time"),
                    (WindowColumn::User, "user"),
                    (WindowColumn::Confidence, "confidence"),
                    (WindowColumn::StartRow, "start row"),
                ] {
                    header.col(|ui| {
                        if sort_header_ui(ui, label, order.column == column, order.descending) {
                            sort = Some(column);
                        }
                    });
                }
            })
            .body(|body| {
                body.rows(20.0, windows.len(), |mut row| {
                    let Some(&index) = windows.get(row.index()) else { return };
                    let Some(p) = predictions.get(index) else { return };
                    row.set_selected(picked == Some(index));
                    row.col(|ui| {
                        ui.label(RichText::new(format!("#{}", p.window)).monospace());
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(precise_clock(self.state.file_time(p.t_start))).monospace());
                    });
                    row.col(|ui| {
                        ui.label(p.user.as_deref().unwrap_or(if has_users { "?" } else { "–" }));
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(format!("{:.1}%", p.confidence() * 100.0)).monospace());
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(p.start_row.to_string()).monospace());
                    });
                    let response = row.response();
                    let label = format!("window {}", p.window);
                    response.widget_info(|| {
                        egui::WidgetInfo::selected(egui::Role::Row, true, picked == Some(index), &label)
                    });
                    if response.clicked() {
                        pick = Some(index);
                    }
                });
            });
        if let Some(column) = sort {
            self.state.sort_windows(column);
        }
        if let Some(index) = pick {
            self.state.pick_window(index);
        }
    }

    fn window_detail_ui(&self, ui: &mut Ui, result: &Evaluation, index: usize) {
        let Some(p) = result.scored.predictions.get(index) else { return };
        let classes = &result.report.classes;
        let name = |i: usize| classes.get(i).map_or("?", String::as_str);
        let predicted = p.predicted();
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(format!("Window #{}", p.window)).size(15.0).strong());
            ui.label(
                RichText::new(format!(
                    "{} – {} · rows {}–{}{}",
                    precise_clock(self.state.file_time(p.t_start)),
                    precise_clock(self.state.file_time(p.t_end)),
                    p.start_row,
                    p.end_row.saturating_sub(1),
                    p.user.as_ref().map(|u| format!(" · user {u}")).unwrap_or_default()
                ))
                .monospace()
                .weak(),
            );
        });
        ui.horizontal(|ui| {
            if let Some(t) = p.true_label {
                ui.label(RichText::new("true").weak());
                ui.label(RichText::new(name(t)).color(class_color(t)).strong());
            }
            ui.label(RichText::new("predicted").weak());
            ui.label(RichText::new(name(predicted)).color(class_color(predicted)).strong());
            ui.label(RichText::new(format!("{:.1}%", p.confidence() * 100.0)).monospace());
        });
        ui.add_space(4.0);
        let bars_w = 280.0;
        let height = ui.available_height().max(120.0);
        ui.horizontal_top(|ui| {
            let plots_w = (ui.available_width() - bars_w - 12.0).max(160.0);
            ui.allocate_ui_with_layout(vec2(plots_w, height), Layout::top_down(Align::Min), |ui| {
                window_signals_ui(ui, result, &self.state, index, plots_w, height);
            });
            ui.add_space(4.0);
            ui.allocate_ui_with_layout(vec2(bars_w, height), Layout::top_down(Align::Min), |ui| {
                ui.set_width(bars_w);
                ui.label(RichText::new("class probabilities (true class outlined)").small().weak());
                widgets::probability_bars_ui(ui, classes, &p.probabilities, p.true_label);
            });
        });
    }
}

/// The accelerometer and gyroscope of one window, each group in its own plot.
fn window_signals_ui(ui: &mut Ui, result: &Evaluation, state: &EvaluationState, index: usize, width: f32, height: f32) {
    let Some(signals) = state.window_signals(index) else {
        ui.label(RichText::new("The window's rows are not in the recording.").weak());
        return;
    };
    let n = signals.channels.len();
    let split = 3.min(n);
    let groups = [
        ("accelerometer", unit_text(&result.accel_unit), 0..split),
        ("gyroscope", unit_text(&result.gyro_unit), split..n),
    ];
    axes_legend_ui(ui);
    let each = ((height - 30.0) / 2.0).clamp(90.0, 200.0);
    let end = signals.seconds.last().copied().unwrap_or(1.0);
    for (g, (title, unit, range)) in groups.into_iter().enumerate() {
        if range.is_empty() {
            continue;
        }
        Plot::new(("eval_signal", g))
            .width(width)
            .height(each)
            .allow_zoom(false)
            .allow_drag(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .default_x_bounds(0.0, end)
            .y_axis_label(format!("{title} [{unit}]"))
            .y_axis_min_width(40.0)
            // Whole seconds, closer together than egui_plot's default spacing allows for a narrow plot.
            .custom_x_axes(vec![
                AxisHints::new_x()
                    .formatter(|mark, _| {
                        let whole = (mark.value - mark.value.round()).abs() < 1e-6;
                        if whole { format!("{:.0} s", mark.value) } else { String::new() }
                    })
                    .label_spacing(30.0..=40.0),
            ])
            .show(ui, |plot_ui| {
                for (k, c) in range.enumerate() {
                    let Some((name, values)) = signals.channels.get(c) else { continue };
                    let points: Vec<[f64; 2]> =
                        signals.seconds.iter().zip(values).map(|(t, v)| [*t, f64::from(*v)]).collect();
                    plot_ui
                        .line(Line::new(name.clone(), PlotPoints::from(points)).color(palette::AXES[k % 3]).width(1.3));
                }
            });
    }
}

/// One legend for both signal plots: the x, y and z axes' colours.
fn axes_legend_ui(ui: &mut Ui) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("signals").small().weak());
        for (k, axis) in ["x", "y", "z"].into_iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(vec2(16.0, 12.0), Sense::hover());
            ui.painter()
                .line_segment([rect.left_center(), rect.right_center()], egui::Stroke::new(2.0, palette::AXES[k]));
            ui.label(RichText::new(axis).small());
        }
    });
}

/// Accuracy per user as horizontal bars, with the overall accuracy marked.
fn user_bars_ui(ui: &mut Ui, result: &Evaluation) {
    let report = &result.report;
    ui.label(RichText::new("Per user").strong());
    if report.per_user.is_empty() {
        ui.label(RichText::new("The file has no user column.").weak());
        return;
    }
    let name_w = 90.0;
    let text_w = 150.0;
    let width = ui.available_width();
    let bar_w = (width - name_w - text_w - 12.0).max(60.0);
    let visuals = ui.visuals().clone();
    for user in &report.per_user {
        let (rect, response) = ui.allocate_exact_size(vec2(width, 20.0), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.text(
            rect.left_center() + vec2(4.0, 0.0),
            egui::Align2::LEFT_CENTER,
            format!("user {}", user.user),
            egui::FontId::proportional(13.0),
            visuals.text_color(),
        );
        let bar = egui::Rect::from_min_size(rect.min + vec2(name_w, 3.0), vec2(bar_w, 14.0));
        painter.rect_filled(bar, 3.0, visuals.extreme_bg_color);
        let fill = egui::Rect::from_min_size(bar.min, vec2(bar_w * user.accuracy.clamp(0.0, 1.0) as f32, bar.height()));
        painter.rect_filled(fill, 3.0, palette::ACCENT.gamma_multiply(0.8));
        let overall_x = bar.left() + bar_w * report.accuracy.clamp(0.0, 1.0) as f32;
        painter.line_segment(
            [egui::pos2(overall_x, rect.top()), egui::pos2(overall_x, rect.bottom())],
            egui::Stroke::new(1.0, visuals.strong_text_color()),
        );
        painter.text(
            egui::pos2(bar.right() + 8.0, rect.center().y),
            egui::Align2::LEFT_CENTER,
            format!("{:.1}%  ({} windows)", user.accuracy * 100.0, user.windows),
            egui::FontId::monospace(12.0),
            visuals.text_color(),
        );
        response.on_hover_text(format!(
            "user {}: {} of {} windows correct ({:.1}%); the line marks the overall {:.1}%",
            user.user,
            user.correct,
            user.windows,
            user.accuracy * 100.0,
            report.accuracy * 100.0
        ));
    }
}

/// A running job: the file, a progress bar with the time left, and Cancel.
fn progress_ui(ui: &mut Ui, file: &Path, progress: Option<EvaluationProgress>, actions: &mut Vec<Action>) {
    ui.label(RichText::new(format!("Evaluating {}", file_name(file))).size(20.0).strong())
        .on_hover_text(file.display().to_string());
    ui.add_space(10.0);
    let cancelling = progress.is_some_and(|p| p.cancelling);
    match progress.and_then(|p| p.total.map(|t| (p, t))) {
        Some((p, total)) => {
            let fraction = if total == 0 { 1.0 } else { p.done as f32 / total as f32 };
            let left = p.left.map(|d| format!(" · about {} left", duration_text(d))).unwrap_or_default();
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(ui.available_width())
                    .desired_height(22.0)
                    .text(format!("{} / {} windows{left}", p.done, total)),
            );
        }
        None => {
            ui.horizontal(|ui| {
                // Not a spinner: it would redraw every frame and take the cores the job loads on.
                ui.label("⏳ Loading the file and the model…");
            });
        }
    }
    ui.add_space(10.0);
    if cancelling {
        ui.label(RichText::new("Cancelling…").weak());
    } else if ui.button("Cancel").clicked() {
        actions.push(Action::CancelEvaluation);
    }
}

fn headline_stat_ui(ui: &mut Ui, caption: &str, value: &str, detail: &str) {
    egui::Frame::new()
        .fill(ui.visuals().faint_bg_color)
        .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(10, 6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(caption).small().weak());
            ui.label(RichText::new(value).size(22.0).strong());
            ui.label(RichText::new(detail).small().weak());
        });
}

fn export_status_ui(ui: &mut Ui, status: &ExportStatus) {
    match status {
        ExportStatus::None => {}
        ExportStatus::Writing(dir) => {
            ui.label(RichText::new(format!("⏳ writing to {}…", dir.display())).weak());
        }
        ExportStatus::Written { dir, files } => {
            let names: Vec<String> = files.iter().map(|f| file_name(f)).collect();
            ui.label(RichText::new(format!("✔ report written to {}", dir.display())).color(palette::OK))
                .on_hover_text(names.join("\n"));
        }
        ExportStatus::Failed(message) => {
            ui.label(RichText::new(format!("✖ export failed: {message}")).color(palette::BAD));
        }
    }
}

/// A clickable column header that shows the sort direction; true when clicked.
fn sort_header_ui(ui: &mut Ui, label: &str, sorted: bool, descending: bool) -> bool {
    let arrow = match (sorted, descending) {
        (false, _) => "",
        (true, true) => " ⏷",
        (true, false) => " ⏶",
    };
    let text = RichText::new(format!("{label}{arrow}"));
    ui.selectable_label(sorted, if sorted { text.strong() } else { text })
        .on_hover_text(format!("Sort by {label}"))
        .clicked()
}

fn number_cell_ui(ui: &mut Ui, text: &str) {
    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
        ui.add_space(8.0);
        ui.label(RichText::new(text).monospace());
    });
}

fn swatch_ui(ui: &mut Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

fn problem_frame_ui(ui: &mut Ui, color: Color32, add: impl FnOnce(&mut Ui)) {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.0, color))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(16, 12))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui);
        });
}

/// While files are dragged over the window: say what dropping does here.
fn drop_hint(ctx: &egui::Context) {
    if ctx.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("eval_drop_hint")));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, Color32::from_black_alpha(170));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop a labeled CSV to evaluate it",
        egui::FontId::proportional(26.0),
        Color32::WHITE,
    );
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// What loading the file did, for the hover on the file name.
fn load_summary(result: &Evaluation) -> String {
    let load = &result.scored.load_report;
    if load.windows.is_some() {
        return load.to_string().trim_end().to_string();
    }
    let windowing = &result.scored.windowing;
    format!(
        "{}\n{} rows read, {} kept, {} bad\n{} windows in {} segments",
        result.report.data,
        load.rows_read,
        load.rows_kept,
        load.bad_rows,
        windowing.windows.len(),
        windowing.segments
    )
}

fn unit_text(unit: &str) -> String {
    match unit {
        "m/s^2" => "m/s²".into(),
        "as-is" => "file units".into(),
        other => other.into(),
    }
}

/// `m:ss.s` (or `h:mm:ss.s`): window starts are a fraction of a second apart in some files.
fn precise_clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    let tenths = (s * 10.0).round() as u64;
    let (whole, tenth) = (tenths / 10, tenths % 10);
    if whole >= 3600 {
        format!("{}:{:02}:{:02}.{tenth}", whole / 3600, (whole / 60) % 60, whole % 60)
    } else {
        format!("{}:{:02}.{tenth}", whole / 60, whole % 60)
    }
}

fn duration_text(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 { format!("{s:.0} s") } else { widgets::clock(s) }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::model::EngineOptions;
    use crate::pipeline::batch::BatchOptions;

    fn poll_until(view: &mut EvaluationView, what: &str, done: impl Fn(&EvaluationState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            view.poll();
            if done(&view.state) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn export_writes_the_files_of_har_monitor_evaluate_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        let mut view = EvaluationView::default();
        view.state.started("test.csv".into());
        view.state.finished("test.csv".into(), Ok(state::tests::evaluation(&state::tests::MIXED)));
        view.export_to(&egui::Context::default(), target.clone());
        assert_eq!(view.state.export, ExportStatus::Writing(target.clone()));
        poll_until(&mut view, "the export", |s| !matches!(s.export, ExportStatus::Writing(_)));
        let ExportStatus::Written { dir: written, files } = view.state.export.clone() else {
            panic!("export failed: {:?}", view.state.export)
        };
        assert_eq!(written, target);
        let names: Vec<String> = files.iter().map(|f| file_name(f)).collect();
        assert_eq!(
            names,
            [
                "report.json",
                "confusion_matrix.csv",
                "per_class.csv",
                "predictions.csv",
                "confusion_matrix.png",
                "reliability.png"
            ]
        );
        assert!(files.iter().all(|f| f.is_file()));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(target.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["windows"]["used"], 6);
    }

    #[test]
    fn an_export_that_cannot_write_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a_file");
        std::fs::write(&blocker, "not a folder").unwrap();
        let mut view = EvaluationView::default();
        view.state.finished("test.csv".into(), Ok(state::tests::evaluation(&state::tests::MIXED)));
        view.export_to(&egui::Context::default(), blocker.join("report"));
        poll_until(&mut view, "the export", |s| !matches!(s.export, ExportStatus::Writing(_)));
        match &view.state.export {
            ExportStatus::Failed(message) => assert!(message.contains("a_file"), "{message}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn cancelling_from_the_view_ends_in_the_cancelled_phase() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let data = fixtures.join("gui/labeled_small.csv");
        let request = JobRequest {
            model: fixtures.join("models/keras_bilstm.onnx"),
            data: crate::pipeline::batch::DataInput::Csv(data.clone()),
            engine: EngineOptions::default(),
            batch: BatchOptions::default(),
        };
        let mut view = EvaluationView::default();
        view.start(&egui::Context::default(), request);
        assert!(matches!(view.state.phase, Phase::Running { .. }));
        if let Some(job) = &view.job {
            job.cancel();
        }
        poll_until(&mut view, "the job to end", |s| !matches!(s.phase, Phase::Running { .. }));
        assert_eq!(view.state.phase, Phase::Cancelled { file: data });
        assert!(view.job.is_none() && view.state.result.is_none());
    }

    #[test]
    fn clocks_keep_tenths() {
        assert_eq!(precise_clock(0.0), "0:00.0");
        assert_eq!(precise_clock(62.04), "1:02.0");
        assert_eq!(precise_clock(3725.26), "1:02:05.3");
        assert_eq!(precise_clock(-3.0), "0:00.0");
    }

    #[test]
    fn units_read_as_units() {
        assert_eq!(unit_text("m/s^2"), "m/s²");
        assert_eq!(unit_text("deg/s"), "deg/s");
    }

    #[test]
    fn a_cell_is_named_by_its_classes() {
        assert_eq!(matrix::cell_label("nail_biting", "hair_pulling"), "cell nail_biting → hair_pulling");
    }

    #[test]
    fn time_left_reads_in_seconds_then_minutes() {
        assert_eq!(duration_text(Duration::from_secs(12)), "12 s");
        assert_eq!(duration_text(Duration::from_secs(125)), "2:05");
    }
}
