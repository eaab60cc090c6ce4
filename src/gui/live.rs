//! The supervisor's screen: what is happening now (largest), the signals, every class's probability, the session
//! timeline, replay controls and alerts.

use egui::{Align, Layout, RichText, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Span};

use super::action::Action;
use super::app::LoggedError;
use super::layout;
use super::palette::{self, class_color};
use super::settings::Settings;
use super::widgets::{self, TimelineBand};
use crate::monitor::alerts::AlertConfig;
use crate::session::live::LiveState;
use crate::session::sensor::{BleScan, SensorState};
use crate::source::link::{LinkState, LinkStatus};
use crate::source::{SourceKind, SourceSpec};

/// Speeds offered as buttons beside the speed slider.
const SPEED_PRESETS: [f64; 3] = [1.0, 10.0, 100.0];
/// Width of the class-probability and alert panel.
const SIDE_WIDTH: f32 = 330.0;

#[derive(Debug, Default)]
pub struct LiveView {
    /// Alert banners dismissed by the user (index into the alert log).
    dismissed_up_to: usize,
    /// Behaviour chosen for the simulated sensor (`None` = random script).
    sim_behaviour: Option<String>,
    /// The Sensor panel is open.
    sensor_open: bool,
    /// What the user typed or picked in the Sensor panel (filled from the settings on first show).
    serial_path: Option<String>,
    baud: Option<u32>,
    ble_target: Option<String>,
}

/// Baud rates offered: those of the usual USB-serial devices (USB CDC ignores it).
const BAUDS: [u32; 8] = [9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600];

impl LiveView {
    /// Draws the view from the live state, this run's settings and the error log; returns what the user asked for.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        live: &LiveState,
        sensor: &SensorState,
        settings: &Settings,
        log: &[LoggedError],
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        layout::side_panel_ui(ui, "live_side", SIDE_WIDTH, |ui| {
            self.side_panel_ui(ui, live, settings, log, &mut actions)
        });
        layout::central_ui(ui, |ui| {
            // The panel's width before anything is laid out: a row that overflows (a narrow window) must not widen
            // the plots under the side panel.
            let width = ui.available_width();
            self.alert_banner_ui(ui, live);
            link_banner_ui(ui, live);
            if live.errors.is_empty() {
                now_ui(ui, live);
            } else {
                errors_ui(ui, live, &mut actions);
            }
            ui.add_space(4.0);
            self.controls_ui(ui, live, settings, &mut actions);
            if self.sensor_open || live.is_live_device() {
                ui.add_space(4.0);
                self.sensor_panel_ui(ui, live, sensor, settings, &mut actions);
            }
            ui.add_space(4.0);
            let two_bands = live.label_track.is_some() || live.source.as_ref().is_some_and(|s| s.has_labels);
            let timeline_h = if two_bands { 64.0 } else { 44.0 };
            let plots_h = (ui.available_height() - timeline_h - 16.0).max(160.0);
            signal_plots_ui(ui, live, settings, plots_h, width);
            ui.add_space(6.0);
            // Only a source that can seek is sent there (a live device cannot go back in time).
            if let Some(t) = session_timeline_ui(ui, live)
                && live.source.as_ref().is_some_and(|s| s.seekable)
            {
                actions.push(Action::Seek(t));
            }
        });
        actions
    }

    fn alert_banner_ui(&mut self, ui: &mut Ui, live: &LiveState) {
        let Some((index, logged)) = live.alerts.iter().enumerate().next_back() else { return };
        if index < self.dismissed_up_to {
            return;
        }
        let age = chrono::Local::now().signed_duration_since(logged.wall).num_seconds();
        if age > widgets::ALERT_BANNER_SECONDS {
            return;
        }
        if widgets::alert_banner_ui(ui, logged) {
            self.dismissed_up_to = index + 1;
        }
        ui.add_space(6.0);
    }

    fn controls_ui(&mut self, ui: &mut Ui, live: &LiveState, settings: &Settings, actions: &mut Vec<Action>) {
        // Narrow windows: shorter sliders, and the rows wrap instead of pushing the plots under the side panel.
        if ui.available_width() < 760.0 {
            ui.spacing_mut().slider_width = 70.0;
        }
        let device = live.is_live_device();
        ui.horizontal_wrapped(|ui| {
            if !device {
                self.replay_controls_ui(ui, live, settings, actions);
                ui.separator();
            }
            let plot_label = ui.label("plot");
            let mut plot_seconds = settings.plot_seconds;
            if ui
                .add(
                    egui::Slider::new(&mut plot_seconds, 4.0..=60.0)
                        .suffix(" s")
                        .integer()
                        .clamping(egui::SliderClamping::Always),
                )
                .labelled_by(plot_label.id)
                .changed()
            {
                actions.push(Action::SetPlotSeconds(plot_seconds));
            }
            ui.separator();
            let recording = live.recording.is_some();
            let label = if recording { "⏹ Stop recording" } else { "⏺ Record" };
            let hover = match &live.recording {
                Some(dir) => format!("Recording into {}", dir.display()),
                None => "Record this session (samples, predictions, events) into a new folder".to_string(),
            };
            if ui.button(label).on_hover_text(hover).clicked() {
                actions.push(Action::ToggleRecording);
            }
        });
        self.source_row_ui(ui, live, actions);
    }

    /// Play/pause, restart, loop and speed: for sources on the worker's clock (replay, simulation).
    fn replay_controls_ui(&mut self, ui: &mut Ui, live: &LiveState, settings: &Settings, actions: &mut Vec<Action>) {
        let s = &live.status;
        {
            const PLAY_LABELS: [&str; 2] = ["⏸ Pause", "▶ Play"];
            let play_label = PLAY_LABELS[usize::from(!s.playing)];
            // As wide as the wider label, so that the row does not move when playing starts or stops.
            let font = egui::FontId::proportional(15.0);
            let widest = PLAY_LABELS
                .iter()
                .map(|l| ui.painter().layout_no_wrap((*l).to_owned(), font.clone(), egui::Color32::WHITE).size().x)
                .fold(0.0, f32::max);
            let play = egui::Button::new(RichText::new(play_label).size(15.0))
                .min_size(egui::vec2(widest + 2.0 * ui.spacing().button_padding.x, 0.0));
            if ui.add(play).on_hover_text("Space").clicked() {
                actions.push(Action::TogglePlay);
            }
            if ui.button("⏮ Restart").clicked() {
                actions.push(Action::Restart);
            }
            let mut looping = settings.looping;
            if ui.toggle_value(&mut looping, "🔁 Loop").changed() {
                actions.push(Action::SetLoop(looping));
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
                actions.push(Action::SetSpeed(speed));
            }
            for preset in SPEED_PRESETS {
                if ui.small_button(format!("{preset}×")).clicked() {
                    actions.push(Action::SetSpeed(preset));
                }
            }
        }
    }

    /// The source now, and the ways to open another: a CSV, the simulated sensor, a live device.
    fn source_row_ui(&mut self, ui: &mut Ui, live: &LiveState, actions: &mut Vec<Action>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("source");
            let current = match &live.source {
                Some(info) => match info.kind {
                    SourceKind::Replay => format!("Replay · {}", info.name),
                    SourceKind::Simulated => format!("Simulated · {}", info.name),
                    SourceKind::Serial => format!("Serial · {}", info.name),
                    SourceKind::Ble => format!("BLE · {}", info.name),
                },
                None => "none".into(),
            };
            ui.label(RichText::new(current).monospace());
            if ui.button("Open CSV…").on_hover_text("Replay a recording (or drop a .csv on the window)").clicked() {
                actions.push(Action::PickReplay);
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
                actions.push(Action::OpenSource(spec));
            }
            ui.separator();
            let label = if self.sensor_open { "🔌 Sensor ⏶" } else { "🔌 Sensor…" };
            if ui
                .selectable_label(self.sensor_open, label)
                .on_hover_text("Connect a live sensor: a serial port (USB, or the virtual device) or BLE")
                .clicked()
            {
                self.sensor_open = !self.sensor_open;
                if self.sensor_open {
                    actions.push(Action::RefreshPorts);
                }
            }
            if let Some(info) = &live.source
                && !info.notes.is_empty()
            {
                ui.label(RichText::new("ℹ").color(palette::ACCENT)).on_hover_text(info.notes.join("\n"));
            }
        });
    }

    /// The Sensor panel: the live link's state, serial ports (refresh, typed path, baud) and BLE devices (scan,
    /// connect). Connecting replaces the current source; the device is remembered for next time.
    fn sensor_panel_ui(
        &mut self,
        ui: &mut Ui,
        live: &LiveState,
        sensor: &SensorState,
        settings: &Settings,
        actions: &mut Vec<Action>,
    ) {
        let path = self.serial_path.get_or_insert_with(|| {
            settings.serial_path.clone().or_else(|| sensor.ports.first().map(|p| p.path.clone())).unwrap_or_default()
        });
        let baud = self.baud.get_or_insert(settings.baud);
        let ble_target = self.ble_target.get_or_insert_with(|| settings.ble_target.clone().unwrap_or_default());
        egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(10, 6)).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("Sensor").strong());
                match live.link() {
                    Some(link) => {
                        link_state_ui(ui, link);
                        if ui.button("⏏ Disconnect").clicked() {
                            actions.push(Action::CloseSource);
                        }
                    }
                    None => {
                        ui.label(RichText::new("not connected: the source is a replay or the simulator").weak());
                    }
                }
            });
            serial_row_ui(ui, sensor, path, baud, actions);
            ble_rows_ui(ui, sensor, ble_target, actions);
        });
    }
    fn side_panel_ui(
        &mut self,
        ui: &mut Ui,
        live: &LiveState,
        settings: &Settings,
        log: &[LoggedError],
        actions: &mut Vec<Action>,
    ) {
        ui.heading("Class probabilities");
        ui.add_space(4.0);
        let classes = live.classes();
        match live.current() {
            Some(p) => widgets::probability_bars_ui(ui, classes, &p.probabilities, p.true_label),
            None => widgets::probability_bars_ui(ui, classes, &vec![0.0; classes.len()], None),
        }
        ui.add_space(8.0);
        ui.separator();
        ui.horizontal(|ui| {
            ui.heading("Alerts");
            ui.label(RichText::new(format!("{}", live.alerts.len())).weak());
        });
        if let Some(alerts) = alert_rules_ui(ui, classes, &settings.alerts) {
            actions.push(Action::SetAlerts(alerts));
        }
        event_log_ui(ui, live, log);
    }
}

/// The serial row of the Sensor panel: the port list (with refresh), a typed path, the baud rate, Connect.
fn serial_row_ui(ui: &mut Ui, sensor: &SensorState, path: &mut String, baud: &mut u32, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        let port_label = ui.label("serial port");
        let shown = sensor
            .ports
            .iter()
            .find(|p| p.path == *path)
            .map_or_else(|| path.clone(), |p| format!("{} — {}", p.path, p.description));
        egui::ComboBox::from_id_salt("serial_ports")
            .selected_text(if shown.is_empty() { "choose…".to_string() } else { shown })
            .width(260.0)
            .show_ui(ui, |ui| {
                if sensor.ports.is_empty() {
                    ui.label(RichText::new("no serial ports found; type a path").weak());
                }
                for p in &sensor.ports {
                    ui.selectable_value(path, p.path.clone(), format!("{} — {}", p.path, p.description));
                }
            })
            .response
            .labelled_by(port_label.id);
        if ui.button("⟳").on_hover_text("List the serial ports again").clicked() {
            actions.push(Action::RefreshPorts);
        }
        let typed = ui.label("path");
        ui.add(egui::TextEdit::singleline(path).desired_width(170.0).hint_text("/dev/ttyACM0")).labelled_by(typed.id);
        let baud_label = ui.label("baud");
        egui::ComboBox::from_id_salt("baud")
            .selected_text(baud.to_string())
            .show_ui(ui, |ui| {
                for b in BAUDS {
                    ui.selectable_value(baud, b, b.to_string());
                }
            })
            .response
            .labelled_by(baud_label.id);
        let ok = !path.trim().is_empty();
        if ui.add_enabled(ok, egui::Button::new("Connect serial")).clicked() {
            actions.push(Action::OpenSource(SourceSpec::Serial {
                path: path.trim().to_string(),
                baud: *baud,
                accel_unit: None,
            }));
        }
    });
}

/// The BLE rows of the Sensor panel: Scan, a typed name or address, Connect, and the devices the scan found.
fn ble_rows_ui(ui: &mut Ui, sensor: &SensorState, ble_target: &mut String, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        ui.label("BLE");
        let scanning = matches!(sensor.ble, BleScan::Scanning { .. });
        let scan_label = if scanning { "scanning…" } else { "Scan" };
        if ui
            .add_enabled(!scanning, egui::Button::new(scan_label))
            .on_hover_text("Look for devices with the Nordic UART Service for a few seconds")
            .clicked()
        {
            actions.push(Action::ScanBle);
        }
        let target_label = ui.label("name or address");
        ui.add(egui::TextEdit::singleline(ble_target).desired_width(170.0).hint_text("HAR-IMU"))
            .labelled_by(target_label.id);
        let ok = !ble_target.trim().is_empty();
        if ui.add_enabled(ok, egui::Button::new("Connect BLE")).clicked() {
            actions
                .push(Action::OpenSource(SourceSpec::Ble { target: ble_target.trim().to_string(), accel_unit: None }));
        }
    });
    match &sensor.ble {
        BleScan::Done(Err(e)) => {
            ui.label(RichText::new(format!("BLE scan: {e}")).color(palette::WARN));
        }
        BleScan::Done(Ok(found)) if found.is_empty() => {
            ui.label(RichText::new("BLE scan: no devices found").weak());
        }
        BleScan::Done(Ok(found)) => {
            egui::Grid::new("ble_devices").num_columns(4).striped(true).show(ui, |ui| {
                for d in found {
                    ui.label(d.name.clone().unwrap_or_else(|| "(no name)".into()));
                    ui.label(RichText::new(&d.address).monospace());
                    ui.label(d.rssi.map_or_else(|| "–".into(), |r| format!("{r} dBm")));
                    let label = if d.has_nus { "Connect" } else { "Connect (no UART service seen)" };
                    if ui.small_button(label).clicked() {
                        actions
                            .push(Action::OpenSource(SourceSpec::Ble { target: d.address.clone(), accel_unit: None }));
                    }
                    ui.end_row();
                }
            });
        }
        _ => {}
    }
}

/// The link in a line: state, measured rate, lines good/bad, reconnects, time since the last sample.
fn link_state_ui(ui: &mut Ui, link: &LinkStatus) {
    ui.label(RichText::new(format!("⏺ {}", link.state)).strong().color(palette::link_color(link.state)));
    ui.label(RichText::new(&link.endpoint).monospace());
    if let Some(rate) = link.measured_rate_hz {
        ui.label(format!("{rate:.1} Hz measured"));
    }
    let bad = link.lines.bad();
    let lines = ui.label(RichText::new(format!("{} good / {bad} bad lines", link.lines.good)).color(if bad > 0 {
        palette::WARN
    } else {
        ui.visuals().text_color()
    }));
    if bad > 0 {
        let reasons: Vec<String> = link.lines.bad_by_reason().iter().map(|(r, n)| format!("{r}: {n}")).collect();
        lines.on_hover_text(reasons.join("\n"));
    }
    ui.label(format!("{} reconnects", link.reconnects));
    if let Some(age) = link.since_last_sample_s {
        ui.label(format!("last sample {age:.1} s ago"));
    }
    if !link.notes.is_empty() {
        ui.label(RichText::new("ℹ").color(palette::ACCENT)).on_hover_text(link.notes.join("\n"));
    }
}

/// A live link that is down: a banner over the view until it is back.
fn link_banner_ui(ui: &mut Ui, live: &LiveState) {
    let Some(link) = live.link().filter(|_| live.link_down()) else { return };
    egui::Frame::new()
        .fill(palette::WARN.gamma_multiply(0.15))
        .stroke(egui::Stroke::new(1.5, palette::WARN.gamma_multiply(0.8)))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(14, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            let never_connected = link.samples == 0 && link.disconnects == 0;
            let title = match link.state {
                LinkState::Connecting => "Connecting to the sensor…".to_string(),
                _ if never_connected => "Cannot reach the sensor".to_string(),
                _ => format!("Sensor {}", link.state),
            };
            ui.label(RichText::new(format!("⚠ {title}: {}", link.endpoint)).size(18.0).strong().color(palette::WARN));
            let mut detail = link.message.clone().unwrap_or_default();
            if let Some(retry) = link.retry_in_s {
                detail += &format!(" · next try in {retry:.1} s");
            }
            if never_connected {
                detail += " · it is tried again until it answers (check the path, the cable and the baud rate)";
            } else {
                detail += &format!(
                    " · {} reconnects so far; the plots show the gap, predictions resume when it is back",
                    link.reconnects
                );
            }
            ui.label(detail);
        });
    ui.add_space(6.0);
}

/// What is happening now, in the largest type: the predicted behaviour, its confidence, the window and, for a
/// replay, where it is.
fn now_ui(ui: &mut Ui, live: &LiveState) {
    egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(14, 10)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            match live.current() {
                Some(p) => prediction_ui(ui, live, p),
                None => {
                    ui.vertical(|ui| {
                        ui.label(RichText::new("NOW").small().weak());
                        let text =
                            if live.model.is_none() { "loading model…" } else { "waiting for the first window…" };
                        ui.label(RichText::new(text).size(28.0).weak());
                    });
                }
            }
            ui.with_layout(Layout::right_to_left(Align::Min), |ui| position_ui(ui, live));
        });
    });
}

/// The current prediction's columns: class, confidence, window, true label.
fn prediction_ui(ui: &mut Ui, live: &LiveState, p: &crate::pipeline::LivePrediction) {
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
        ui.label(RichText::new(format!("{} – {}", widgets::clock(p.t_start), widgets::clock(p.t_end))).monospace());
        if watched {
            ui.label(RichText::new("anxiety-related").color(palette::WARN));
        }
    });
    if let Some(t) = p.true_label {
        ui.add_space(18.0);
        ui.vertical(|ui| {
            ui.label(RichText::new("true label").small().weak());
            let ok = t == p.predicted;
            ui.label(RichText::new(live.class_name(t)).size(16.0).color(if ok { palette::OK } else { palette::BAD }));
            ui.label(RichText::new(if ok { "correct" } else { "missed" }).small().weak());
        });
    }
}

/// Where the source is: `position / duration` for a replay, the source clock otherwise (right-aligned in the
/// panel, in its own space so it never runs into the controls).
fn position_ui(ui: &mut Ui, live: &LiveState) {
    let replay = live.source.as_ref().is_some_and(|s| s.kind == SourceKind::Replay);
    let position = match live.status.duration {
        Some(d) if replay => format!("{} / {}", widgets::clock(live.now), widgets::clock(d)),
        _ => widgets::clock(live.now),
    };
    ui.vertical(|ui| {
        ui.with_layout(Layout::top_down(Align::Max), |ui| {
            ui.label(RichText::new(if replay { "replay position" } else { "source time" }).small().weak());
            ui.label(RichText::new(position).monospace().size(18.0));
        });
    });
}

/// What went wrong, where the prediction would be, with what to do about it. It stays until a model or a source
/// opens, or the user dismisses it (the log keeps it).
fn errors_ui(ui: &mut Ui, live: &LiveState, actions: &mut Vec<Action>) {
    let no_model = live.model.is_none();
    egui::Frame::new()
        .fill(palette::BAD.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.5, palette::BAD.gamma_multiply(0.8)))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(14, 10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                let title = if no_model { "No model is running" } else { "The source could not be opened" };
                ui.label(RichText::new(format!("⚠ {title}")).size(22.0).strong().color(palette::BAD));
                ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                    if !no_model && ui.button("Dismiss error").clicked() {
                        actions.push(Action::DismissLiveErrors);
                    }
                });
            });
            for message in &live.errors {
                ui.label(RichText::new(message).color(palette::BAD));
            }
            ui.add_space(4.0);
            let what_to_do = if no_model {
                "What to do: open a model with Open model… (top bar); its .model.json card must be beside the .onnx \
                 file. From the command line: har-monitor gui --model M.onnx. `har-monitor info` checks the ONNX \
                 Runtime library."
            } else {
                "What to do: open another recording with Open CSV… (or drop it on the window), or start the \
                 simulated sensor below."
            };
            ui.label(RichText::new(what_to_do).weak());
        });
}

fn signal_plots_ui(ui: &mut Ui, live: &LiveState, settings: &Settings, height: f32, width: f32) {
    let Some(model) = &live.model else {
        ui.allocate_space(vec2(ui.available_width(), height));
        return;
    };
    let channels = &model.card.channels;
    let t1 = live.now.max(settings.plot_seconds);
    let t0 = t1 - settings.plot_seconds;
    let range = live.signals.range(t0, t1);
    let buckets = width.max(100.0) as usize;
    let groups = crate::session::live::signal_groups(&model.card);
    let link = egui::Id::unique("live_plots");
    let each = (height - 8.0) / 2.0;
    for (g, group) in groups.into_iter().take(2).enumerate() {
        let (title, unit, chans) = (group.title, group.unit, group.channels);
        let current = live.current();
        Plot::new(("signal", g))
            .width(width)
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
                // The span's name labels it and gives it a legend entry that says what the shading means. (A text
                // item placed at the plot's top would take part in the automatic y bounds and push them up.)
                for (a, b) in live.gaps_in(t0, t1) {
                    plot_ui.span(
                        Span::new("link down", a..=b)
                            .fill(palette::WARN.gamma_multiply(0.10))
                            .border(egui::Stroke::new(1.0, palette::WARN.gamma_multiply(0.5))),
                    );
                }
                // One line per continuous piece: a gap (a dropped link) is left empty, not bridged.
                let pieces = live.signals.pieces(range.clone(), live.gaps_in(t0, t1));
                for (k, &c) in chans.iter().enumerate() {
                    let name = channels.get(c).cloned().unwrap_or_default();
                    for piece in &pieces {
                        let share = (buckets * piece.len() / range.len().max(1)).max(1);
                        let pts = live.signals.decimated(c, piece.clone(), share);
                        plot_ui.line(
                            Line::new(name.clone(), PlotPoints::from(pts)).color(palette::AXES[k % 3]).width(1.3),
                        );
                    }
                }
            });
    }
}

/// The session timeline; a click returns the time to seek to.
fn session_timeline_ui(ui: &mut Ui, live: &LiveState) -> Option<f64> {
    let model = live.model.as_ref()?;
    let step_s = model.card.step() as f64 / model.card.sample_rate_hz;
    let duration = live.source.as_ref().and_then(|s| s.duration).unwrap_or(live.now).max(live.now).max(1.0);
    let mut bands =
        vec![TimelineBand { label: "predicted", spans: widgets::prediction_spans(live.predictions.iter(), step_s) }];
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
        if live.source.as_ref().is_some_and(|s| s.seekable) { text + "\nclick to seek here" } else { text }
    };
    ui.label(RichText::new("session").small().weak());
    widgets::timeline_ui(ui, &bands, 0.0, duration, live.now, &describe)
}

/// The alert rules, folded away; returns the new rules when the user changed one.
fn alert_rules_ui(ui: &mut Ui, classes: &[String], current: &AlertConfig) -> Option<AlertConfig> {
    let mut alerts = current.clone();
    let mut changed = false;
    egui::CollapsingHeader::new("Alert rules").default_open(false).show(ui, |ui| {
        ui.horizontal(|ui| {
            let l = ui.label("fire after");
            changed |= ui.add(egui::DragValue::new(&mut alerts.consecutive).range(1..=50)).labelled_by(l.id).changed();
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
    changed.then_some(alerts)
}

/// The log of this run, newest first: fired alerts and the pipeline's errors, with their wall-clock times.
fn event_log_ui(ui: &mut Ui, live: &LiveState, log: &[LoggedError]) {
    egui::ScrollArea::vertical().id_salt("alert_log").show(ui, |ui| {
        if live.alerts.is_empty() && log.is_empty() {
            ui.label(RichText::new("No alerts yet.").weak());
        }
        let mut alerts = live.alerts.iter().rev().take(200).peekable();
        let mut errors = log.iter().rev().take(200).peekable();
        loop {
            let error_next = match (alerts.peek(), errors.peek()) {
                (Some(a), Some(e)) => e.wall >= a.wall,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            ui.horizontal_wrapped(|ui| {
                if error_next && let Some(e) = errors.next() {
                    ui.label(RichText::new(e.wall.format("%H:%M:%S").to_string()).monospace().weak());
                    ui.label(RichText::new("error").monospace().color(palette::BAD));
                    ui.label(RichText::new(&e.message).color(palette::BAD));
                } else if let Some(logged) = alerts.next() {
                    let color = logged.alert.class.map(class_color).unwrap_or(palette::WARN);
                    ui.label(RichText::new(logged.wall.format("%H:%M:%S").to_string()).monospace().weak());
                    ui.label(RichText::new(widgets::clock(logged.alert.time)).monospace());
                    ui.label(RichText::new(&logged.alert.message).color(color));
                }
            });
        }
    });
}
