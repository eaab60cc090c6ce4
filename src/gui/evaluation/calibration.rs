//! The evaluation view's Calibration tab: the reliability diagram of the report's `calibration` block, its
//! numbers, the verdict, and one-vs-rest figures per class. Everything shown is computed in
//! `eval::calibration`; this only draws it.

use egui::{Color32, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Bar, BarChart, Corner, Legend, Line, Plot, PlotPoints, Points};

use super::super::palette::{self, class_color};
use crate::eval::EvaluationReport;
use crate::eval::calibration::CalibrationReport;

/// The tab's content.
pub(super) fn calibration_ui(ui: &mut Ui, report: &EvaluationReport) {
    let Some(c) = &report.calibration else {
        ui.label(RichText::new("This report has no calibration block.").weak());
        return;
    };
    let color = if c.well_calibrated() { palette::OK } else { palette::WARN };
    ui.label(RichText::new(c.verdict()).color(color));
    ui.add_space(4.0);
    numbers_ui(ui, c);
    ui.add_space(6.0);
    reliability_plot_ui(ui, c);
    ui.add_space(8.0);
    per_class_ui(ui, report, c);
}

fn numbers_ui(ui: &mut Ui, c: &CalibrationReport) {
    egui::Grid::new("calibration_numbers").num_columns(4).spacing([18.0, 2.0]).show(ui, |ui| {
        let cell = |ui: &mut Ui, caption: &str, value: String, hover: &str| {
            ui.label(RichText::new(caption).weak()).on_hover_text(hover);
            ui.label(RichText::new(value).monospace().strong()).on_hover_text(hover);
        };
        let bins = c.bins;
        cell(ui, "ECE", format!("{:.4}", c.ece), &format!("Expected calibration error, {bins} equal-width bins"));
        cell(ui, "ECE (equal-mass)", format!("{:.4}", c.ece_equal_mass), "Bins holding equal numbers of windows");
        ui.end_row();
        cell(ui, "MCE", format!("{:.4}", c.mce), "Maximum calibration error: the worst bin's gap");
        cell(ui, "Brier", format!("{:.4}", c.brier), "Multiclass Brier score, 0 (perfect) to 2");
        ui.end_row();
        cell(ui, "Log loss", format!("{:.4}", c.log_loss), "Mean negative log-likelihood of the true class");
        let temperature = if c.temperature == 1.0 { "none".to_owned() } else { format!("{:.3}", c.temperature) };
        cell(ui, "Temperature", temperature, "The model card's temperature, applied to these probabilities");
        ui.end_row();
        cell(ui, "Confidence", format!("{:.1}%", c.mean_confidence * 100.0), "Mean probability of the predicted class");
        cell(ui, "Accuracy", format!("{:.1}%", c.accuracy * 100.0), "Share of windows predicted right");
        ui.end_row();
    });
}

/// Accuracy per confidence bin as bars, each bin's mean confidence as a point, and the diagonal.
fn reliability_plot_ui(ui: &mut Ui, c: &CalibrationReport) {
    let total: u64 = c.reliability.iter().map(|b| b.count).sum();
    let bars: Vec<Bar> = c
        .reliability
        .iter()
        .map(|b| {
            let share = b.count as f64 / total.max(1) as f64;
            Bar::new((b.lower + b.upper) / 2.0, b.accuracy)
                .width((b.upper - b.lower) * 0.92)
                .name(format!(
                    "confidence {:.2}–{:.2}: {} windows ({:.1}%), {:.1}% right, mean confidence {:.1}%",
                    b.lower,
                    b.upper,
                    b.count,
                    share * 100.0,
                    b.accuracy * 100.0,
                    b.mean_confidence * 100.0
                ))
                .fill(palette::ACCENT.gamma_multiply(0.35 + 0.65 * share.sqrt() as f32))
        })
        .collect();
    let points: Vec<[f64; 2]> = c.reliability.iter().map(|b| [b.mean_confidence, b.accuracy]).collect();
    let height = (ui.available_width() * 0.45).clamp(180.0, 260.0);
    Plot::new("calibration_reliability")
        .height(height)
        .include_x(0.0)
        .include_x(1.0)
        .include_y(0.0)
        .include_y(1.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .x_axis_label("confidence")
        .y_axis_label("share right")
        .legend(Legend::default().position(Corner::LeftTop))
        .show(ui, |plot_ui| {
            plot_ui.bar_chart(BarChart::new("accuracy per bin (brighter: more windows)", bars).color(palette::ACCENT));
            plot_ui.line(
                Line::new("perfect calibration", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]))
                    .color(Color32::GRAY)
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
            plot_ui.points(Points::new("mean confidence", points).radius(3.5).color(palette::WARN));
        });
}

/// One versus rest: each class' ECE and Brier score, and its mean probability against its frequency.
fn per_class_ui(ui: &mut Ui, report: &EvaluationReport, c: &CalibrationReport) {
    ui.label(RichText::new("Per class (one versus rest)").strong());
    TableBuilder::new(ui)
        .id_salt("calibration_per_class")
        .striped(true)
        .column(Column::exact(150.0))
        .columns(Column::exact(72.0), 4)
        .header(20.0, |mut header| {
            for (title, hover) in [
                ("class", ""),
                ("ECE", "The class' probability against whether the window is of it, 15 bins"),
                ("Brier", "Binary Brier score of the class' probability"),
                ("mean p", "Mean probability the model gives the class"),
                ("share", "Share of windows that are of the class"),
            ] {
                header.col(|ui| {
                    let label = ui.label(RichText::new(title).strong());
                    if !hover.is_empty() {
                        label.on_hover_text(hover);
                    }
                });
            }
        })
        .body(|mut body| {
            for (k, class) in c.per_class.iter().enumerate() {
                body.row(18.0, |mut row| {
                    row.col(|ui| {
                        let name = report.classes.get(k).map_or(class.class.as_str(), String::as_str);
                        ui.label(RichText::new(name).color(class_color(k)));
                    });
                    for value in [class.ece, class.brier, class.mean_probability, class.frequency] {
                        row.col(|ui| {
                            ui.label(RichText::new(format!("{value:.3}")).monospace());
                        });
                    }
                });
            }
        });
}
