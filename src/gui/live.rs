//! The supervisor's screen: what is happening now (largest), the signals, every class's probability, the session
//! timeline, replay controls and alerts.

use egui::{Align, Color32, Layout, RichText, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Span};

use crate::session::live::LiveState;
use super::palette::{self, class_color};
use super::settings::Settings;
use super::widgets::{self, TimelineBand};
use crate::pipeline::Command;
use crate::source::{SourceKind, SourceSpec};

/// What the live view asks the shell to do.
#[derive(Debug, Clone)]
pub enum LiveAction {
    Command(Command),
    PickReplay,
}

/// Speeds offered by the speed control.
const SPEEDS: [f64; 10] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 100.0];

#[derive(Debug, Default)]
pub struct LiveView {
    /// Alert banners dismissed by the user (index into the alert log).
    dismissed_up_to: usize,
    /// Behaviour chosen for the simulated sensor (`None` = random script).
    sim_behaviour: Option<String>,
}

impl LiveView {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveState, settings: &mut Settings) -> Vec<LiveAction> {
        let mut actions = Vec::new();
        egui::Panel::right("live_side")
            .resizable(false)
            .exact_size(330.0)
            .show(ui, |ui| self.side_panel(ui, live, settings, &mut actions));
        egui::CentralPanel::default_margins().show(ui, |ui| {
            self.alert_banner(ui, live);
            self.now_card(ui, live);
            ui.add_space(4.0);
            self.controls(ui, live, settings, &mut actions);
            ui.add_space(4.0);
            let two_bands = live.label_track.is_some() || live.source.as_ref().is_some_and(|s| s.has_labels);
            let timeline_h = if two_bands { 64.0 } else { 44.0 };
            let plots_h = (ui.available_height() - timeline_h - 16.0).max(160.0);
            self.signal_plots(ui, live, settings, plots_h);
            ui.add_space(6.0);
            if let Some(t) = self.timeline(ui, live) {
                actions.push(LiveAction::Command(Command::Seek(t)));
            }
        });
        actions
    }

    fn alert_banner(&mut self, ui: &mut Ui, live: &LiveState) {
        let Some((index, logged)) = live.alerts.iter().enumerate().next_back() else { return };
        if index < self.dismissed_up_to {
            return;
        }
        let age = chrono::Local::now().signed_duration_since(logged.wall).num_seconds();
        if age > widgets::ALERT_BANNER_SECONDS {
            return;
        }
        if widgets::alert_banner(ui, logged) {
            self.dismissed_up_to = index + 1;
        }
        ui.add_space(6.0);
    }

    fn now_card(&self, ui: &mut Ui, live: &LiveState) {
        egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(14, 10)).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| match live.current() {
                Some(p) => {
                    let name = live.class_name(p.predicted).replace('_', " ");
                    let color = class_color(p.predicted);
                    ui.vertical(|ui| {
                        ui.label(RichText::new("NOW").small().weak());
                        ui.label(RichText::new(name).size(40.0).strong().color(color));
                    });
                    ui.add_space(18.0);
                    ui.vertical(|ui| {
                        ui.label(RichText::new("confidence").small().weak());
                        ui.label(RichText::new(format!("{:.0}%", p.confidence * 100.0)).size(30.0).strong());
                    });
                    ui.add_space(18.0);
                    ui.vertical(|ui| {
                        let watched = live
                            .model
                            .as_ref()
                            .is_some_and(|_| crate::classes::DEFAULT_WATCHED.contains(&live.class_name(p.predicted)));
                        ui.label(RichText::new("window").small().weak());
                        ui.label(
                            RichText::new(format!("{} – {}", widgets::clock(p.t_start), widgets::clock(p.t_end)))
                                .monospace(),
                        );
                        if watched {
                            ui.label(RichText::new("anxiety-related").color(palette::WARN));
                        }
                    });
                    if let Some(t) = p.true_label {
                        ui.add_space(18.0);
                        ui.vertical(|ui| {
                            ui.label(RichText::new("true label").small().weak());
                            let ok = t == p.predicted;
                            ui.label(RichText::new(live.class_name(t)).size(16.0).color(if ok {
                                palette::OK
                            } else {
                                palette::BAD
                            }));
                            ui.label(RichText::new(if ok { "correct" } else { "missed" }).small().weak());
                        });
                    }
                }
                None => {
                    ui.vertical(|ui| {
                        ui.label(RichText::new("NOW").small().weak());
                        let text =
                            if live.model.is_none() { "loading model…" } else { "waiting for the first window…" };
                        ui.label(RichText::new(text).size(28.0).weak());
                    });
                }
            });
        });
    }

    fn controls(&mut self, ui: &mut Ui, live: &LiveState, settings: &mut Settings, actions: &mut Vec<LiveAction>) {
        let s = &live.status;
        let replay = live.source.as_ref().is_some_and(|s| s.kind == SourceKind::Replay);
        ui.horizontal(|ui| {
            let play_label = if s.playing { "⏸ Pause" } else { "▶ Play" };
            if ui.button(RichText::new(play_label).size(15.0)).on_hover_text("Space").clicked() {
                actions.push(LiveAction::Command(Command::TogglePlay));
            }
            if ui.button("⏮ Restart").clicked() {
                actions.push(LiveAction::Command(Command::Restart));
            }
            let mut looping = settings.looping;
            if ui.toggle_value(&mut looping, "🔁 Loop").changed() {
                actions.push(LiveAction::Command(Command::SetLoop(looping)));
            }
            ui.separator();
            let speed_label = ui.label("speed");
            let mut speed = settings.speed;
            let response = ui.add(
                egui::Slider::new(&mut speed, 0.25..=100.0)
                    .logarithmic(true)
                    .custom_formatter(|v, _| format!("{v:.2}×"))
                    .clamping(egui::SliderClamping::Always),
            );
            let response = response.labelled_by(speed_label.id);
            if response.changed() {
                actions.push(LiveAction::Command(Command::SetSpeed(speed)));
                settings.speed = speed;
            }
            for preset in [1.0, 10.0, 100.0] {
                if ui.small_button(format!("{preset}×")).clicked() {
                    settings.speed = preset;
                    actions.push(LiveAction::Command(Command::SetSpeed(preset)));
                }
            }
            let _ = SPEEDS;
            ui.separator();
            let plot_label = ui.label("plot");
            ui.add(
                egui::Slider::new(&mut settings.plot_seconds, 4.0..=60.0)
                    .suffix(" s")
                    .integer()
                    .clamping(egui::SliderClamping::Always),
            )
            .labelled_by(plot_label.id);
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                let position = match s.duration {
                    Some(d) if replay => format!("{} / {}", widgets::clock(live.now), widgets::clock(d)),
                    _ => widgets::clock(live.now),
                };
                ui.label(RichText::new(position).monospace().size(15.0));
            });
        });
        ui.horizontal(|ui| {
            ui.label("source");
            let current = match &live.source {
                Some(info) => match info.kind {
                    SourceKind::Replay => format!("Replay · {}", info.name),
                    SourceKind::Simulated => format!("Simulated · {}", info.name),
                    _ => info.name.clone(),
                },
                None => "none".into(),
            };
            ui.label(RichText::new(current).monospace());
            if ui.button("Open CSV…").on_hover_text("Replay a recording (or drop a .csv on the window)").clicked() {
                actions.push(LiveAction::PickReplay);
            }
            ui.separator();
            let sim_label = ui.label("simulated sensor");
            let classes = live.classes();
            let selected = self.sim_behaviour.clone().unwrap_or_else(|| "random script".into());
            egui::ComboBox::from_id_salt("sim_behaviour")
                .selected_text(selected)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.sim_behaviour, None, "random script");
                    for c in classes {
                        ui.selectable_value(&mut self.sim_behaviour, Some(c.clone()), c);
                    }
                })
                .response
                .labelled_by(sim_label.id);
            if ui.button("Start").clicked() {
                let spec = SourceSpec::Simulated { behaviour: self.sim_behaviour.clone(), seed: 7 };
                actions.push(LiveAction::Command(Command::OpenSource(spec)));
                actions.push(LiveAction::Command(Command::Play));
            }
            if let Some(info) = &live.source
                && !info.notes.is_empty()
            {
                ui.label(RichText::new("ℹ").color(palette::ACCENT)).on_hover_text(info.notes.join("\n"));
            }
        });
    }

    fn signal_plots(&self, ui: &mut Ui, live: &LiveState, settings: &Settings, height: f32) {
        let Some(model) = &live.model else {
            ui.allocate_space(vec2(ui.available_width(), height));
            return;
        };
        let channels = &model.card.channels;
        let t1 = live.now.max(settings.plot_seconds);
        let t0 = t1 - settings.plot_seconds;
        let range = live.signals.range(t0, t1);
        let buckets = ui.available_width().max(100.0) as usize;
        let groups: [(&str, &str, std::ops::Range<usize>); 2] = [
            ("accelerometer", "m/s²", 0..3.min(channels.len())),
            ("gyroscope", "deg/s", 3.min(channels.len())..channels.len()),
        ];
        let link = egui::Id::unique("live_plots");
        let each = (height - 8.0) / 2.0;
        for (g, (title, unit, chans)) in groups.into_iter().enumerate() {
            if chans.is_empty() {
                continue;
            }
            let current = live.current();
            let unit = unit.to_string();
            Plot::new(("signal", g))
                .height(each)
                .legend(Legend::default().position(egui_plot::Corner::RightTop))
                .allow_zoom(false)
                .allow_drag(false)
                .allow_scroll(false)
                .allow_boxed_zoom(false)
                .show_x(true)
                .y_axis_label(format!("{title} [{unit}]"))
                .y_axis_min_width(58.0)
                .link_cursor(link, [true, false])
                .x_axis_formatter(|mark, _| widgets::clock(mark.value))
                .show(ui, |plot_ui| {
                    plot_ui.set_auto_bounds([false, true]);
                    plot_ui.set_plot_bounds_x(t0..=t1);
                    if let Some(p) = current {
                        plot_ui.span(
                            Span::new("", p.t_start..=p.t_end)
                                .fill(class_color(p.predicted).gamma_multiply(0.12))
                                .border(egui::Stroke::new(1.0, class_color(p.predicted).gamma_multiply(0.6))),
                        );
                    }
                    for (k, c) in chans.clone().enumerate() {
                        let pts = live.signals.decimated(c, range.clone(), buckets);
                        let name = channels.get(c).cloned().unwrap_or_default();
                        plot_ui.line(Line::new(name, PlotPoints::from(pts)).color(palette::AXES[k % 3]).width(1.3));
                    }
                });
        }
    }

    fn timeline(&self, ui: &mut Ui, live: &LiveState) -> Option<f64> {
        let model = live.model.as_ref()?;
        let step_s = model.card.step() as f64 / model.card.sample_rate_hz;
        let duration = live.source.as_ref().and_then(|s| s.duration).unwrap_or(live.now).max(live.now).max(1.0);
        let mut bands = vec![TimelineBand {
            label: "predicted",
            spans: widgets::prediction_spans(live.predictions.iter(), step_s),
        }];
        if let Some(track) = &live.label_track {
            bands.push(TimelineBand { label: "true", spans: widgets::label_spans(track) });
        } else if live.source.as_ref().is_some_and(|s| s.has_labels) {
            // A live source that knows its labels (the simulated sensor): the true band grows with the predictions.
            let spans =
                live.predictions.iter().map(|p| ((p.t_end - step_s).max(p.t_start), p.t_end, p.true_label)).collect();
            bands.push(TimelineBand { label: "true", spans });
        }
        let describe = |t: f64| -> String {
            let mut text = widgets::clock(t).to_string();
            if let Some(p) = live.prediction_at(t, step_s) {
                text += &format!("\npredicted {} ({:.0}%)", live.class_name(p.predicted), p.confidence * 100.0);
            }
            if let Some(track) = &live.label_track {
                let i = track.partition_point(|s| s.t_end <= t);
                if let Some(s) = track.get(i).filter(|s| s.t_start <= t) {
                    text += &format!("\ntrue {}", s.class.map(|c| live.class_name(c)).unwrap_or("unknown"));
                }
            }
            text + "\nclick to seek here"
        };
        ui.label(RichText::new("session").small().weak());
        widgets::timeline(ui, &bands, 0.0, duration, live.now, &describe)
    }

    fn side_panel(&mut self, ui: &mut Ui, live: &LiveState, settings: &mut Settings, actions: &mut Vec<LiveAction>) {
        ui.add_space(6.0);
        ui.heading("Class probabilities");
        ui.add_space(4.0);
        let classes = live.classes();
        match live.current() {
            Some(p) => widgets::probability_bars(ui, classes, &p.probabilities, p.true_label),
            None => widgets::probability_bars(ui, classes, &vec![0.0; classes.len()], None),
        }
        ui.add_space(8.0);
        ui.separator();
        ui.horizontal(|ui| {
            ui.heading("Alerts");
            ui.label(RichText::new(format!("{}", live.alerts.len())).weak());
        });
        let mut alerts = settings.alerts.clone();
        let mut changed = false;
        egui::CollapsingHeader::new("Alert rules").default_open(false).show(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("fire after");
                changed |=
                    ui.add(egui::DragValue::new(&mut alerts.consecutive).range(1..=50)).labelled_by(l.id).changed();
                let l = ui.label("windows ≥");
                let mut pct = alerts.min_confidence * 100.0;
                if ui.add(egui::DragValue::new(&mut pct).range(0.0..=100.0).suffix("%")).labelled_by(l.id).changed() {
                    alerts.min_confidence = pct / 100.0;
                    changed = true;
                }
            });
            ui.horizontal(|ui| {
                let l = ui.label("low confidence <");
                let mut pct = alerts.low_confidence * 100.0;
                if ui.add(egui::DragValue::new(&mut pct).range(0.0..=100.0).suffix("%")).labelled_by(l.id).changed() {
                    alerts.low_confidence = pct / 100.0;
                    changed = true;
                }
                let l = ui.label("for");
                changed |= ui
                    .add(egui::DragValue::new(&mut alerts.low_confidence_windows).range(1..=100))
                    .labelled_by(l.id)
                    .changed();
            });
            ui.label(RichText::new("watched behaviours").small().weak());
            egui::Grid::new("watched").num_columns(2).show(ui, |ui| {
                for (i, c) in classes.iter().enumerate() {
                    let mut on = alerts.watched.contains(c);
                    if ui.checkbox(&mut on, RichText::new(c.as_str()).color(class_color(i))).changed() {
                        if on {
                            alerts.watched.push(c.clone());
                        } else {
                            alerts.watched.retain(|w| w != c);
                        }
                        changed = true;
                    }
                    if i % 2 == 1 {
                        ui.end_row();
                    }
                }
            });
        });
        if changed {
            settings.alerts = alerts.clone();
            actions.push(LiveAction::Command(Command::SetAlerts(alerts)));
        }
        egui::ScrollArea::vertical().id_salt("alert_log").show(ui, |ui| {
            if live.alerts.is_empty() {
                ui.label(RichText::new("No alerts yet.").weak());
            }
            for logged in live.alerts.iter().rev().take(200) {
                let color = logged.alert.class.map(class_color).unwrap_or(palette::WARN);
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(logged.wall.format("%H:%M:%S").to_string()).monospace().weak());
                    ui.label(RichText::new(widgets::clock(logged.alert.time)).monospace());
                    ui.label(RichText::new(&logged.alert.message).color(color));
                });
            }
        });
        let _ = Color32::TRANSPARENT;
    }
}
