//! The About window: the app's, ONNX Runtime's and the model's versions, and where files are kept
//! ([`crate::about::places`], the same list `har-monitor info` prints).

use egui::{RichText, Ui};

use super::action::Action;
use super::palette;
use crate::pipeline::LoadedModel;

/// Draws the About window; returns [`Action::ShowAbout`]`(false)` when it is closed.
pub fn about_ui(ctx: &egui::Context, model: Option<(&LoadedModel, Option<String>)>) -> Option<Action> {
    let mut open = true;
    let mut close = false;
    egui::Window::new("About HAR Monitor")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_width(620.0)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(crate::about::app_version()).strong().size(18.0).color(palette::ACCENT));
            });
            ui.label("Watch and evaluate a wearable-sensor activity-recognition model.");
            ui.add_space(8.0);
            versions_ui(ui, model);
            ui.add_space(8.0);
            ui.label(RichText::new("Where files are kept").strong());
            places_ui(ui);
            ui.add_space(8.0);
            if ui.button("Close").clicked() {
                close = true;
            }
        });
    (!open || close).then_some(Action::ShowAbout(false))
}

fn versions_ui(ui: &mut Ui, model: Option<(&LoadedModel, Option<String>)>) {
    egui::Grid::new("about_versions").num_columns(2).spacing([16.0, 4.0]).show(ui, |ui| {
        ui.label("ONNX Runtime");
        match crate::model::runtime::loaded() {
            Some(rt) => ui.label(format!("{} ({})", rt.version, rt.path.display())),
            None => ui.label(RichText::new("not loaded yet").weak()),
        };
        ui.end_row();
        ui.label("Model");
        match model {
            Some((m, registry)) => {
                let mut text = format!("{} {}", m.card.name, m.card.version);
                if let Some(spec) = registry {
                    text.push_str(&format!(" · registry {spec}"));
                }
                ui.label(text);
                ui.end_row();
                ui.label("");
                ui.label(RichText::new(m.path.display().to_string()).small().weak());
            }
            None => {
                ui.label(RichText::new("none loaded").weak());
            }
        }
        ui.end_row();
    });
}

fn places_ui(ui: &mut Ui) {
    egui::Grid::new("about_places").num_columns(2).spacing([16.0, 4.0]).show(ui, |ui| {
        for place in crate::about::places() {
            ui.label(place.what);
            let text = if place.exists {
                RichText::new(place.path.display().to_string())
            } else {
                RichText::new(format!("{} (not created yet)", place.path.display())).weak()
            };
            ui.label(text);
            ui.end_row();
        }
    });
}
