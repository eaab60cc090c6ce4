//! The MLflow view: a tracking server's model registry — its registered models, their versions with aliases, where
//! each version's files are — and a Pull button per version that downloads it, checks it and imports it into the
//! local registry (the work runs on a background thread, `session::mlflow`).

use egui::{Color32, RichText, Ui};

use super::action::Action;
use super::layout;
use super::palette;
use crate::session::mlflow::{Job, Listing, MlflowState};

/// The width of the Source column (longer sources are cut, the whole on hover).
const SOURCE_WIDTH: f32 = 430.0;
/// Neutral colour for hints.
const MUTED: Color32 = Color32::from_rgb(0x8A, 0x90, 0x99);

#[derive(Debug, Default)]
pub struct MlflowView {
    /// The URL being typed (copied from the state the first time the view is drawn).
    uri: Option<String>,
}

impl MlflowView {
    pub fn ui(&mut self, ui: &mut Ui, state: &MlflowState) -> Vec<Action> {
        let mut actions = Vec::new();
        let uri = self.uri.get_or_insert_with(|| state.tracking_uri.clone());
        layout::central_ui(ui, |ui| {
            ui.label(RichText::new("MLflow model registry").size(18.0).strong());
            ui.label(
                RichText::new(
                    "The registered models of an MLflow tracking server. Pull downloads a version, checks that its \
                     card is there and its ONNX loads, and imports it into the local model registry.",
                )
                .color(MUTED),
            );
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.label("Tracking server");
                let field = ui.add(
                    egui::TextEdit::singleline(uri)
                        .hint_text("http://127.0.0.1:5000")
                        .desired_width(360.0)
                        .id_salt("mlflow-uri"),
                );
                let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                let label = if matches!(state.listing, Job::Done(Ok(_))) && *uri == state.tracking_uri {
                    "⟳ Refresh"
                } else {
                    "Connect"
                };
                let button = ui.add_enabled(!state.listing.is_running(), egui::Button::new(label));
                if (button.clicked() || entered) && !state.listing.is_running() {
                    actions.push(Action::MlflowConnect(uri.trim().to_string()));
                }
                if let Job::Running { what, .. } = &state.listing {
                    ui.spinner();
                    ui.label(RichText::new(format!("{what}…")).color(MUTED));
                }
            });
            ui.add_space(4.0);
            pull_status_ui(ui, state, &mut actions);
            ui.add_space(4.0);
            match &state.listing {
                Job::Idle => {
                    ui.label(
                        RichText::new(
                            "Enter the tracking server's URL (as given to `mlflow server`, or MLFLOW_TRACKING_URI) and \
                             press Connect.",
                        )
                        .color(MUTED),
                    );
                }
                Job::Running { .. } => {}
                Job::Done(Err(e)) => {
                    ui.label(RichText::new(e).color(palette::BAD));
                }
                Job::Done(Ok(listing)) => listing_ui(ui, listing, state, &mut actions),
            }
        });
        actions
    }
}

fn pull_status_ui(ui: &mut Ui, state: &MlflowState, actions: &mut Vec<Action>) {
    match &state.pull {
        Job::Idle => {}
        Job::Running { what, since, .. } => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("{what}: downloading, checking, importing… ({:.0} s)", since.elapsed().as_secs_f64()));
            });
        }
        Job::Done(Ok(p)) => {
            ui.horizontal(|ui| {
                let what = if p.created { "imported as" } else { "already in the local registry as" };
                ui.label(
                    RichText::new(format!("Pulled {} version {}: {what} {}", p.name, p.version, p.local))
                        .color(palette::OK),
                );
                if ui.button("Load it").on_hover_text(format!("Run {} in the live session", p.local)).clicked() {
                    actions.push(Action::UseRegistryModel(p.local.clone()));
                }
            });
        }
        Job::Done(Err(e)) => {
            ui.label(RichText::new(format!("Pull failed: {e}")).color(palette::BAD));
        }
    }
}

fn listing_ui(ui: &mut Ui, listing: &Listing, state: &MlflowState, actions: &mut Vec<Action>) {
    let n = listing.models.len();
    ui.label(
        RichText::new(format!(
            "{n} registered model{} at {} (listed {:.0} s ago)",
            if n == 1 { "" } else { "s" },
            listing.url,
            listing.at.elapsed().as_secs_f64()
        ))
        .color(MUTED),
    );
    if n == 0 {
        ui.label("No registered models yet: `har-monitor mlflow push --model M.onnx --alias production` adds one.");
        return;
    }
    ui.add_space(4.0);
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        // One table, so the columns line up across models; a model's name heads its first row.
        egui::Grid::new("mlflow-versions").striped(true).spacing([16.0, 6.0]).show(ui, |ui| {
            for h in ["Model", "Version", "Aliases", "Created", "Source", ""] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for model in &listing.models {
                if model.versions.is_empty() {
                    ui.label(RichText::new(&model.name).strong());
                    ui.label(RichText::new("no versions").color(MUTED));
                    ui.end_row();
                }
                for (i, v) in model.versions.iter().enumerate() {
                    if i == 0 {
                        ui.label(RichText::new(&model.name).strong());
                    } else {
                        ui.label("");
                    }
                    ui.label(format!("v{}", v.version)).on_hover_text(format!("run {}\nstatus {}", v.run_id, v.status));
                    if v.aliases.is_empty() {
                        ui.label(RichText::new("–").color(MUTED));
                    } else {
                        let text = v.aliases.iter().map(|a| format!("@{a}")).collect::<Vec<_>>().join(" ");
                        ui.label(RichText::new(text).color(palette::ACCENT).strong());
                    }
                    ui.label(&v.created);
                    // Cut to the column (the whole source shows on hover), left-aligned.
                    let source = egui::Label::new(RichText::new(&v.source).small().monospace()).truncate();
                    ui.allocate_ui_with_layout(
                        egui::vec2(SOURCE_WIDTH, 18.0),
                        egui::Layout::left_to_right(egui::Align::Center),
                        |ui| {
                            ui.set_min_width(SOURCE_WIDTH);
                            ui.add(source);
                        },
                    );
                    let button = ui
                        .add_enabled(!state.pull.is_running(), egui::Button::new(format!("Pull v{}", v.version)))
                        .on_hover_text(format!(
                            "Download {} version {}, check it and import it into the local registry",
                            model.name, v.version
                        ));
                    if button.clicked() {
                        actions.push(Action::MlflowPull { name: model.name.clone(), version: v.version.clone() });
                    }
                    ui.end_row();
                }
            }
        });
    });
}
