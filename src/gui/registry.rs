//! The model picker of the top bar: the registry's models, their aliases (each with a rollback) and versions,
//! from [`RegistryState`]. Drawing only: a click returns an [`Action`].

use std::path::Path;

use egui::RichText;

use super::action::Action;
use super::palette;
use crate::session::registry::RegistryState;

/// The "Registry" menu: one click on a version or an alias loads it into the live session, one click on
/// "Roll back ALIAS" moves the alias back (the live session follows it when it runs that alias).
pub fn picker_ui(ui: &mut egui::Ui, state: &RegistryState, live_model: Option<&Path>, actions: &mut Vec<Action>) {
    let count: usize = state.models.iter().map(|m| m.versions.len()).sum();
    let title = if count == 0 { "Registry".to_string() } else { format!("Registry ({count})") };
    ui.menu_button(title, |ui| {
        ui.set_min_width(340.0);
        ui.horizontal(|ui| {
            ui.label(RichText::new("Model registry").strong());
            if ui.small_button("Refresh").on_hover_text("List the registry again").clicked() {
                actions.push(Action::RefreshRegistry);
            }
        });
        if let Some(root) = state.root() {
            ui.label(RichText::new(root.display().to_string()).weak().small());
        }
        if let Some(e) = &state.error {
            ui.label(RichText::new(e).color(palette::BAD));
        }
        if state.models.is_empty() && state.error.is_none() {
            ui.label("No models yet. Import one with\n`har-monitor models import M.onnx --alias production`.");
        }
        for model in &state.models {
            ui.separator();
            ui.label(RichText::new(&model.name).strong().color(palette::ACCENT));
            if let Some(p) = &model.problem {
                ui.label(RichText::new(format!("aliases unusable: {p}")).color(palette::BAD).small());
            }
            for alias in &model.aliases {
                let spec = format!("{}@{}", model.name, alias.alias);
                ui.horizontal(|ui| {
                    let chosen = state.chosen.as_deref() == Some(spec.as_str());
                    let text = format!("{}: v{}", alias.alias, alias.version);
                    if ui
                        .selectable_label(chosen, RichText::new(text).monospace())
                        .on_hover_text(format!("Run {spec} in the live session and follow the alias"))
                        .clicked()
                    {
                        actions.push(Action::UseRegistryModel(spec.clone()));
                    }
                    let label = format!("Roll back {}", alias.alias);
                    let hover = match alias.rollback_to {
                        Some(v) => format!("Move {spec} back to v{v} (kept in the alias history)"),
                        None => format!("{spec} has no earlier version to go back to"),
                    };
                    let button =
                        ui.add_enabled(alias.rollback_to.is_some(), egui::Button::new(label).small().frame(true));
                    if button.on_hover_text(hover.clone()).on_disabled_hover_text(hover).clicked() {
                        actions.push(Action::RollbackAlias { name: model.name.clone(), alias: alias.alias.clone() });
                    }
                });
            }
            for v in &model.versions {
                let live = RegistryState::is_live(v, live_model);
                let mut text = format!("v{}", v.version);
                if !v.aliases.is_empty() {
                    text.push_str(&format!("  [{}]", v.aliases.join(", ")));
                }
                match &v.problem {
                    Some(problem) => {
                        ui.add_enabled(false, egui::Button::selectable(false, RichText::new(text).monospace()))
                            .on_disabled_hover_text(problem.clone());
                        ui.label(RichText::new(format!("damaged: {problem}")).color(palette::BAD).small());
                    }
                    None => {
                        if live {
                            text.push_str("  (live)");
                        }
                        let spec = format!("{}@{}", model.name, v.version);
                        let hover = format!("{spec}: {}, imported {}", v.card, v.imported_at);
                        if ui.selectable_label(live, RichText::new(text).monospace()).on_hover_text(hover).clicked() {
                            actions.push(Action::UseRegistryModel(spec));
                        }
                    }
                }
            }
        }
    });
}
