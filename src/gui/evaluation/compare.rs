//! The evaluation view's comparison panel: model A (the evaluated one) against a model B on the same file —
//! the verdict of McNemar's test with its 2×2 counts, the headline numbers of both with their differences, both
//! confusion matrices side by side (the evaluation's matrix widget) and the per-class F1 differences. Draws
//! `session::compare::CompareState` and returns actions; the numbers come from `pipeline::compare`.

use std::path::Path;

use egui::{Align, Color32, Layout, RichText, Sense, Ui, vec2};
use egui_extras::{Column, TableBuilder};

use super::{file_name, matrix, number_cell_ui, problem_frame_ui, swatch_ui};
use crate::eval::EvaluationReport;
use crate::eval::compare::Comparison;
use crate::gui::action::Action;
use crate::gui::palette::{self, class_color};
use crate::session::compare::{ComparePhase, CompareState, DeltaRow, Leader};
use crate::session::registry::PickerModel;

/// Least height given to each confusion matrix (with its labels, totals and legend).
const MIN_MATRIX_HEIGHT: f32 = 420.0;

/// Colour of a number where B does better, and where A does.
const B_BETTER: Color32 = palette::OK;
const A_BETTER: Color32 = palette::BAD;

fn leader_color(ui: &Ui, leader: Leader) -> Color32 {
    match leader {
        Leader::B => B_BETTER,
        Leader::A => A_BETTER,
        Leader::Tie => ui.visuals().weak_text_color(),
    }
}

fn model_text(report: &EvaluationReport) -> String {
    format!("{} {}", report.model.name, report.model.version)
}

/// The whole panel. `evaluated` is the evaluation the view shows (model A and the file).
pub fn compare_ui(
    ui: &mut Ui,
    state: &CompareState,
    evaluated: &EvaluationReport,
    registry: &[PickerModel],
    normalised: bool,
    actions: &mut Vec<Action>,
) {
    let data = Path::new(&evaluated.data);
    ui.horizontal(|ui| {
        if ui.button("⏴ Evaluation").on_hover_text("Back to the evaluation of model A").clicked() {
            actions.push(Action::ShowCompare(false));
        }
        ui.label(RichText::new("Compare two models on").size(17.0).strong());
        ui.label(RichText::new(file_name(data)).size(17.0).strong()).on_hover_text(&evaluated.data);
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            let running = matches!(state.phase, ComparePhase::Running { .. });
            if !running {
                if let Some(b) = &state.model_b
                    && ui.button("Run again").on_hover_text("Compare A and B again on this file").clicked()
                {
                    actions.push(Action::CompareWith(b.clone()));
                }
                let pick = if state.model_b.is_some() { "Another model B…" } else { "Pick model B…" };
                if ui.button(pick).on_hover_text("An .onnx model with its .model.json beside it").clicked() {
                    actions.push(Action::PickCompareModel);
                }
                registry_menu_ui(ui, registry, actions);
            }
        });
    });
    ui.horizontal(|ui| {
        ui.label(RichText::new("A").strong().color(A_BETTER));
        ui.label(RichText::new(model_text(evaluated)).monospace()).on_hover_text(&evaluated.model.path);
        ui.label(RichText::new("vs").weak());
        ui.label(RichText::new("B").strong().color(B_BETTER));
        let b_text = match (state.result.as_deref(), &state.model_b) {
            (Some(c), _) => model_text(&c.b),
            (None, Some(path)) => file_name(path),
            (None, None) => "not chosen yet".to_owned(),
        };
        let hover = state.model_b.as_ref().map_or_else(String::new, |p| p.display().to_string());
        ui.label(RichText::new(b_text).monospace()).on_hover_text(hover);
    });
    let model_a = Path::new(&evaluated.model.path);
    if state.is_stale(Some(model_a), Some(data)) {
        ui.label(
            RichText::new("These numbers are of another model A or file than the evaluation shows now: run again.")
                .color(palette::WARN),
        );
    }
    ui.add_space(6.0);
    match &state.phase {
        ComparePhase::Idle => {
            ui.add_space(30.0);
            ui.vertical_centered(|ui| {
                ui.label(
                    RichText::new(
                        "Pick a second model to score the same windows of this file: both confusion matrices, the \
                         differences, and McNemar's test on which windows each got right.",
                    )
                    .weak(),
                );
            });
        }
        ComparePhase::Running { cancelling, .. } => {
            let (fraction, text) = state.progress().unwrap_or((0.0, String::new()));
            ui.add(egui::ProgressBar::new(fraction).desired_height(22.0).text(text));
            ui.add_space(6.0);
            if *cancelling {
                ui.label(RichText::new("Cancelling…").weak());
            } else if ui.button("Cancel").clicked() {
                actions.push(Action::CancelCompare);
            }
        }
        ComparePhase::Failed { message } => problem_frame_ui(ui, palette::BAD, |ui| {
            ui.label(RichText::new("The models could not be compared").size(16.0).strong());
            ui.label(RichText::new(message).color(palette::BAD));
        }),
        ComparePhase::Cancelled => problem_frame_ui(ui, palette::WARN, |ui| {
            ui.label("The comparison was cancelled.");
        }),
        ComparePhase::Done => {
            if let Some(c) = state.result.as_deref() {
                egui::ScrollArea::vertical().id_salt("compare_scroll").auto_shrink([false, false]).show(ui, |ui| {
                    result_ui(ui, state, c, normalised);
                });
            }
        }
    }
}

/// Model B from the registry: every usable version, with its aliases.
fn registry_menu_ui(ui: &mut Ui, registry: &[PickerModel], actions: &mut Vec<Action>) {
    let usable = registry.iter().flat_map(|m| m.versions.iter()).any(|v| v.model_path.is_some());
    if !usable {
        return;
    }
    ui.menu_button("Registry version ⏷", |ui| {
        for model in registry {
            for version in &model.versions {
                let Some(path) = &version.model_path else { continue };
                let aliases = if version.aliases.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", version.aliases.join(", "))
                };
                let label = format!("{}@{}{aliases}", model.name, version.version);
                if ui.button(label).on_hover_text(&version.card).clicked() {
                    actions.push(Action::CompareWith(path.clone()));
                    ui.close();
                }
            }
        }
    });
}

fn result_ui(ui: &mut Ui, state: &CompareState, c: &Comparison, normalised: bool) {
    ui.horizontal_top(|ui| {
        let box_w = 340.0;
        let left_w = (ui.available_width() - box_w - 12.0).max(300.0);
        ui.allocate_ui_with_layout(vec2(left_w, 0.0), Layout::top_down(Align::Min), |ui| {
            ui.set_width(left_w);
            verdict_ui(ui, c);
            ui.add_space(6.0);
            headline_ui(ui, &state.headline_rows());
        });
        ui.add_space(6.0);
        ui.allocate_ui_with_layout(vec2(box_w, 0.0), Layout::top_down(Align::Min), |ui| {
            ui.set_width(box_w);
            mcnemar_ui(ui, state, c);
        });
    });
    ui.add_space(8.0);
    let half = ((ui.available_width() - 16.0) / 2.0).floor();
    // What is left of the window (at least enough for readable cells); the per-class table is below, scrolled to.
    let matrix_height = (ui.available_height() - 24.0).max(MIN_MATRIX_HEIGHT);
    ui.horizontal_top(|ui| {
        for (side, report) in [("A", &c.a), ("B", &c.b)] {
            ui.allocate_ui_with_layout(vec2(half, matrix_height), Layout::top_down(Align::Min), |ui| {
                ui.set_width(half);
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("Confusion matrix {side}")).size(15.0).strong());
                    ui.label(RichText::new(model_text(report)).monospace().weak());
                });
                ui.push_id(("compare_matrix", side), |ui| {
                    // Cells are not selectable here: the windows behind a cell are in the evaluation.
                    let _ = matrix::confusion_matrix_ui(ui, report, normalised, None, false);
                });
            });
            ui.add_space(8.0);
        }
    });
    ui.add_space(8.0);
    per_class_ui(ui, c);
}

fn verdict_ui(ui: &mut Ui, c: &Comparison) {
    let color = match c.verdict.better.as_deref() {
        Some("B") => B_BETTER,
        Some(_) => A_BETTER,
        None => ui.visuals().text_color(),
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.0, color))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(12, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(&c.verdict.text).size(20.0).strong().color(color));
            ui.label(RichText::new(&c.verdict.detail).weak());
        });
}

/// The headline numbers: one card per metric with A, B and the difference coloured by who leads.
fn headline_ui(ui: &mut Ui, rows: &[DeltaRow]) {
    ui.columns(rows.len().max(1), |columns| {
        for (ui, row) in columns.iter_mut().zip(rows) {
            egui::Frame::new()
                .fill(ui.visuals().faint_bg_color)
                .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
                .corner_radius(6.0)
                .inner_margin(egui::Margin::symmetric(8, 6))
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(RichText::new(row.caption).small().weak());
                    let color = leader_color(ui, row.leader);
                    ui.label(RichText::new(&row.delta).size(18.0).strong().color(color));
                    ui.label(RichText::new(format!("A {}", row.a)).small().monospace());
                    ui.label(RichText::new(format!("B {}", row.b)).small().monospace());
                });
        }
    });
}

/// McNemar's 2×2 table (rows A right/wrong, columns B right/wrong) and its p-values.
fn mcnemar_ui(ui: &mut Ui, state: &CompareState, c: &Comparison) {
    let m = &c.mcnemar;
    egui::Frame::new()
        .fill(ui.visuals().faint_bg_color)
        .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(10, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new("McNemar's test").strong())
                .on_hover_text("Do the models differ in which windows they get right? Only the windows one gets right and the other wrong count.");
            ui.label(RichText::new(format!("{} paired windows", c.windows)).small().weak());
            egui::Grid::new("mcnemar_grid").num_columns(3).spacing(vec2(14.0, 4.0)).show(ui, |ui| {
                ui.label("");
                ui.label(RichText::new("B right").weak());
                ui.label(RichText::new("B wrong").weak());
                ui.end_row();
                ui.label(RichText::new("A right").weak());
                ui.label(RichText::new(m.both_right.to_string()).monospace());
                ui.label(RichText::new(m.only_a_right.to_string()).monospace().strong().color(A_BETTER))
                    .on_hover_text("only A right (b)");
                ui.end_row();
                ui.label(RichText::new("A wrong").weak());
                ui.label(RichText::new(m.only_b_right.to_string()).monospace().strong().color(B_BETTER))
                    .on_hover_text("only B right (c)");
                ui.label(RichText::new(m.both_wrong.to_string()).monospace());
                ui.end_row();
            });
            ui.add_space(4.0);
            for line in state.mcnemar_lines() {
                ui.label(RichText::new(line).small());
            }
        });
}

/// Per class: support, F1 of both and the difference as a bar around zero.
fn per_class_ui(ui: &mut Ui, c: &Comparison) {
    ui.label(RichText::new("Per-class F1").size(15.0).strong());
    let largest = c.per_class.iter().map(|d| d.delta.abs()).fold(0.05f64, f64::max);
    let bar_w = 220.0;
    TableBuilder::new(ui)
        .id_salt("compare_per_class")
        .striped(true)
        .vscroll(false)
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::exact(170.0))
        .columns(Column::exact(70.0), 4)
        .column(Column::exact(bar_w))
        .header(22.0, |mut header| {
            for label in ["class", "support", "F1 A", "F1 B", "B − A", ""] {
                header.col(|ui| {
                    ui.label(RichText::new(label).weak());
                });
            }
        })
        .body(|mut body| {
            for (i, d) in c.per_class.iter().enumerate() {
                body.row(20.0, |mut row| {
                    row.col(|ui| {
                        swatch_ui(ui, class_color(i));
                        ui.label(&d.class);
                    });
                    row.col(|ui| number_cell_ui(ui, &d.support.to_string()));
                    row.col(|ui| number_cell_ui(ui, &format!("{:.3}", d.f1_a)));
                    row.col(|ui| number_cell_ui(ui, &format!("{:.3}", d.f1_b)));
                    let leader = if d.delta >= 5e-4 {
                        Leader::B
                    } else if d.delta <= -5e-4 {
                        Leader::A
                    } else {
                        Leader::Tie
                    };
                    row.col(|ui| {
                        let color = leader_color(ui, leader);
                        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                            ui.add_space(8.0);
                            ui.label(RichText::new(format!("{:+.3}", d.delta)).monospace().color(color));
                        });
                    });
                    row.col(|ui| {
                        let (rect, _) = ui.allocate_exact_size(vec2(bar_w - 8.0, 12.0), Sense::hover());
                        let mid = rect.center().x;
                        let len = (d.delta / largest) as f32 * (rect.width() / 2.0);
                        let bar = egui::Rect::from_x_y_ranges(mid.min(mid + len)..=mid.max(mid + len), rect.y_range());
                        ui.painter().rect_filled(bar, 2.0, leader_color(ui, leader));
                        ui.painter().line_segment(
                            [egui::pos2(mid, rect.top() - 2.0), egui::pos2(mid, rect.bottom() + 2.0)],
                            egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
                        );
                    });
                });
            }
        });
}
