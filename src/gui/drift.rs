//! The drift view: is the sensor still the one the model was built for? The verdict first (largest), then the four
//! sensor checks with their numbers against their thresholds, the drift distances over the session, the raw
//! channels, the label-free estimate of the model's accuracy over time (with its band, and shown as untrusted where
//! it should not be believed), and the predicted-class mix and confidence of recent windows beside the baseline's
//! (information, not an alarm). Without a baseline the view says how to build one.

use egui::{Align, Align2, Color32, FontId, Layout, Rect, RichText, Sense, Shape, Stroke, Ui, pos2, vec2};
use egui_extras::{Size, StripBuilder};
use egui_plot::{
    AxisHints, GridInput, GridMark, HLine, HoverPosition, Line, LineStyle, Plot, PlotPoints, Points, Polygon, Span,
    VLine,
};

use super::action::Action;
use super::layout;
use super::palette::{self, class_color};
use super::widgets::{self, clock};
use crate::format::thousands;
use crate::monitor::alerts::AlertKind;
use crate::session::drift::{
    BaselineState, CheckLevel, CheckReading, DriftState, HistoryPoint, SensorCheck, VerdictLevel,
};
use crate::session::live::LiveState;

/// Neutral colour for "no verdict yet" and "not checked".
const MUTED: Color32 = Color32::from_rgb(0x8A, 0x90, 0x99);
/// The baseline's bars and markers.
const BASELINE_COLOR: Color32 = Color32::from_rgb(0xB8, 0xBE, 0xC6);

#[derive(Debug, Default)]
pub struct DriftView {
    /// Drift alerts dismissed by the user (index into the alert log).
    dismissed_up_to: usize,
}

fn level_color(level: CheckLevel) -> Color32 {
    match level {
        CheckLevel::NotChecked => MUTED,
        CheckLevel::Ok => palette::OK,
        CheckLevel::Near => palette::WARN,
        CheckLevel::Drift => palette::BAD,
    }
}

fn level_word(level: CheckLevel) -> &'static str {
    match level {
        CheckLevel::NotChecked => "not checked",
        CheckLevel::Ok => "ok",
        CheckLevel::Near => "near",
        CheckLevel::Drift => "drift",
    }
}

/// A titled panel filling the space it is given.
fn titled_panel_ui(ui: &mut Ui, title: &str, subtitle: &str, add_contents: impl FnOnce(&mut Ui)) {
    egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(12, 8)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.set_height(ui.available_height());
        ui.horizontal(|ui| {
            ui.label(RichText::new(title).size(16.0).strong());
            if !subtitle.is_empty() {
                ui.add(egui::Label::new(RichText::new(subtitle).small().weak()).truncate());
            }
        });
        ui.add_space(2.0);
        add_contents(ui);
    });
}

impl DriftView {
    /// Draws the view from the drift and live states. Nothing here changes the session yet, so no action is
    /// returned; the signature is the one every view has.
    pub fn ui(&mut self, ui: &mut Ui, drift: &DriftState, live: &LiveState) -> Vec<Action> {
        layout::central_ui(ui, |ui| {
            self.alert_banner_ui(ui, live);
            verdict_ui(ui, drift, live);
            ui.add_space(8.0);
            match &drift.baseline {
                BaselineState::Loaded { .. } => {
                    // Below this height the panels would clip their rows: scroll instead.
                    let height = ui.available_height();
                    if height >= MIN_BODY_HEIGHT {
                        body_ui(ui, drift, live);
                    } else {
                        egui::ScrollArea::vertical().id_salt("drift_body").show(ui, |ui| {
                            let size = vec2(ui.available_width(), MIN_BODY_HEIGHT);
                            ui.allocate_ui(size, |ui| {
                                ui.set_min_size(size);
                                body_ui(ui, drift, live)
                            });
                        });
                    }
                }
                BaselineState::Missing { command, expected } => how_to_build_ui(ui, command, Some(expected)),
                BaselineState::Unusable { command, .. } => how_to_build_ui(ui, command, None),
                BaselineState::Waiting => {}
            }
        });
        Vec::new()
    }

    /// The newest input-drift alert as the same banner the live view shows, for as long as there.
    fn alert_banner_ui(&mut self, ui: &mut Ui, live: &LiveState) {
        let Some((index, logged)) =
            live.alerts.iter().enumerate().rev().find(|(_, a)| a.alert.kind == AlertKind::InputDrift)
        else {
            return;
        };
        let age = chrono::Local::now().signed_duration_since(logged.wall).num_seconds();
        if index < self.dismissed_up_to || age > widgets::ALERT_BANNER_SECONDS {
            return;
        }
        if widgets::alert_banner_ui(ui, logged) {
            self.dismissed_up_to = index + 1;
        }
        ui.add_space(6.0);
    }
}

/// The verdict: what the supervisor needs to know, in the largest type on the screen.
fn verdict_ui(ui: &mut Ui, drift: &DriftState, live: &LiveState) {
    let verdict = drift.verdict();
    let (color, icon) = match verdict.level {
        VerdictLevel::SensorOk => (palette::OK, "✔"),
        VerdictLevel::InputDrift => (palette::BAD, "⚠"),
        VerdictLevel::NoBaseline => (palette::WARN, "ℹ"),
        VerdictLevel::Waiting => (MUTED, "⏳"),
    };
    egui::Frame::new()
        .fill(color.gamma_multiply(0.12))
        .stroke(Stroke::new(1.5, color.gamma_multiply(0.8)))
        .corner_radius(8.0)
        .inner_margin(egui::Margin { left: 16, right: 16, top: 8, bottom: 10 })
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new("SENSOR & DRIFT").small().weak());
                if let Some(b) = drift.reference() {
                    ui.label(
                        RichText::new(format!(
                            "against the baseline of {} windows ({})",
                            thousands(b.windows as u64),
                            if b.source.is_empty() { "reference data" } else { file_name(&b.source) }
                        ))
                        .small()
                        .weak(),
                    );
                }
                if drift.reference().is_some() {
                    ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                        ui.label(RichText::new(position_text(drift, live)).monospace().weak());
                    });
                }
            });
            ui.horizontal(|ui| {
                ui.label(RichText::new(icon).size(30.0).color(color));
                ui.add(egui::Label::new(RichText::new(&verdict.headline).size(28.0).strong().color(color)).wrap());
            });
            if !verdict.detail.is_empty() {
                ui.add(egui::Label::new(RichText::new(&verdict.detail).size(14.0)).wrap());
            }
            if let Some(notice) = drift.units_notice() {
                ui.add_space(4.0);
                egui::Frame::new()
                    .fill(palette::WARN.gamma_multiply(0.18))
                    .corner_radius(4.0)
                    .inner_margin(egui::Margin::symmetric(8, 4))
                    .show(ui, |ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!("⚠ Units look wrong: {notice}")).color(palette::WARN).strong(),
                            )
                            .wrap(),
                        );
                    });
            }
            if let Some(mix) = drift.class_mix() {
                let text = if mix.changed {
                    format!(
                        "ℹ The class mix differs from the baseline's (JS distance {:.2} > {}): information, not an \
                         alarm. People do other things for a while; it matters when the sensor checks also fire.",
                        mix.js_distance, mix.threshold
                    )
                } else {
                    format!(
                        "ℹ The class mix is close to the baseline's (JS distance {:.2} ≤ {}).",
                        mix.js_distance, mix.threshold
                    )
                };
                ui.add(egui::Label::new(RichText::new(text).color(palette::ACCENT)).truncate());
            }
        });
}

/// "chunk 4 closed · 15:00 / 20:00"
fn position_text(drift: &DriftState, live: &LiveState) -> String {
    let position = match live.source.as_ref().and_then(|s| s.duration) {
        Some(d) => format!("{} / {}", clock(drift.now), clock(d)),
        None => clock(drift.now),
    };
    let chunks = match drift.chunks_closed {
        1 => "1 chunk closed".to_string(),
        n => format!("{n} chunks closed"),
    };
    format!("{chunks} · at {position}")
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The view under the verdict when the model has a baseline.
/// Height the panels under the verdict need to show every row.
const MIN_BODY_HEIGHT: f32 = 480.0;
/// Height of the predicted-classes and confidence panels: 11 class rows of 13 points, the title and the JS line.
const CLASSES_PANEL_HEIGHT: f32 = 220.0;

fn body_ui(ui: &mut Ui, drift: &DriftState, live: &LiveState) {
    let duration = live.source.as_ref().and_then(|s| s.duration).unwrap_or(0.0);
    let t_max = drift.history.iter().map(|p| p.t_end).fold(duration.max(drift.now), f64::max).max(60.0);
    StripBuilder::new(ui).size(Size::exact(490.0)).size(Size::remainder()).horizontal(|mut strip| {
        strip.strip(|builder| {
            builder.size(Size::exact(CHECK_ROW_HEIGHT * 4.0 + 50.0)).size(Size::remainder()).vertical(|mut strip| {
                strip.cell(|ui| checks_ui(ui, drift, t_max));
                strip.cell(|ui| channels_ui(ui, drift));
            });
        });
        strip.strip(|builder| {
            // The class rows need their height whatever the window's; the two plots share the rest.
            builder.size(Size::remainder()).size(Size::exact(CLASSES_PANEL_HEIGHT)).vertical(|mut strip| {
                strip.strip(|builder| {
                    builder.size(Size::relative(0.45)).size(Size::remainder()).vertical(|mut strip| {
                        strip.cell(|ui| history_ui(ui, drift, t_max));
                        strip.cell(|ui| estimate_ui(ui, drift, t_max));
                    });
                });
                strip.strip(|builder| {
                    builder.size(Size::relative(0.56)).size(Size::remainder()).horizontal(|mut strip| {
                        strip.cell(|ui| classes_ui(ui, drift));
                        strip.cell(|ui| confidence_ui(ui, drift));
                    });
                });
            });
        });
    });
}

/// The four sensor checks: status, value against threshold, and the value's history as a share of the threshold.
fn checks_ui(ui: &mut Ui, drift: &DriftState, t_max: f64) {
    titled_panel_ui(ui, "Sensor checks", "input drift = one of them fires", |ui| {
        let readings = drift.readings();
        ui.spacing_mut().item_spacing.y = 0.0;
        for check in SensorCheck::ALL {
            let reading = readings.iter().find(|r| r.check == check);
            check_row_ui(ui, drift, check, reading, t_max);
        }
    });
}

const CHECK_ROW_HEIGHT: f32 = 52.0;
const SPARKLINE_WIDTH: f32 = 118.0;

fn check_row_ui(ui: &mut Ui, drift: &DriftState, check: SensorCheck, reading: Option<&CheckReading>, t_max: f64) {
    let level = reading.map_or(CheckLevel::NotChecked, CheckReading::level);
    let color = level_color(level);
    let (rect, response) = ui.allocate_exact_size(vec2(ui.available_width(), CHECK_ROW_HEIGHT), Sense::hover());
    let painter = ui.painter_at(rect);
    let strong = ui.visuals().strong_text_color();
    let text = ui.visuals().text_color();
    let weak = ui.visuals().weak_text_color();
    painter.rect_filled(Rect::from_min_size(rect.min + vec2(0.0, 4.0), vec2(4.0, CHECK_ROW_HEIGHT - 8.0)), 2.0, color);
    let spark = Rect::from_min_max(
        pos2(rect.right() - SPARKLINE_WIDTH, rect.top() + 5.0),
        pos2(rect.right() - 2.0, rect.bottom() - 15.0),
    );
    let left = rect.left() + 12.0;
    let right = spark.left() - 10.0;
    let y = |offset: f32| rect.top() + offset;

    painter.text(pos2(left, y(11.0)), Align2::LEFT_CENTER, check.label(), FontId::proportional(14.0), strong);
    let status = match (level, reading.and_then(|r| r.since)) {
        (CheckLevel::Drift, Some(since)) => format!("DRIFT since {}", clock(since)),
        _ => level_word(level).to_uppercase(),
    };
    painter.text(pos2(right, y(11.0)), Align2::RIGHT_CENTER, &status, FontId::proportional(12.0), color);

    let value = reading.and_then(|r| r.value.clone()).unwrap_or_else(|| "–".into());
    // What a screen reader (and a test) reads for the row.
    let summary = format!("{}: {status}, {value}", check.label());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &summary));
    let value_rect = painter.text(pos2(left, y(29.0)), Align2::LEFT_CENTER, value, FontId::monospace(16.0), text);
    if let Some(r) = reading {
        let x = value_rect.right() + 12.0;
        text_fitted(ui, &painter, pos2(x, y(30.0)), &r.threshold, right - x, FontId::proportional(12.0), weak);
    }
    let detail = reading.map(|r| r.detail.clone()).unwrap_or_else(|| check.meaning().to_string());
    text_fitted(ui, &painter, pos2(left, y(45.0)), &detail, right - left, FontId::proportional(11.5), weak);
    sparkline(ui, &painter, spark, drift, check, t_max);
    let hover = match reading {
        Some(r) => format!("{}: {}\n{}\n{}", check.label(), check.meaning(), r.threshold, r.detail),
        None => format!("{}: {}", check.label(), check.meaning()),
    };
    response.on_hover_text(hover);
}

/// Paints one line of text left-aligned at `pos` (vertically centred), cut to `width` with "…" when wider.
fn text_fitted(
    ui: &Ui,
    painter: &egui::Painter,
    pos: egui::Pos2,
    text: &str,
    width: f32,
    font: FontId,
    color: Color32,
) {
    let mut job = egui::text::LayoutJob::simple_singleline(text.to_string(), font, color);
    job.wrap = egui::text::TextWrapping::truncate_at_width(width.max(0.0));
    let galley = ui.fonts_mut(|f| f.layout_job(job));
    let top_left = pos2(pos.x, pos.y - galley.size().y / 2.0);
    painter.galley(top_left, galley, color);
}

/// A check's history as a share of its threshold (the dashed line at 1; the band above it is the alarm zone),
/// clamped to twice the threshold. Red dots: the check fired.
fn sparkline(ui: &Ui, painter: &egui::Painter, rect: Rect, drift: &DriftState, check: SensorCheck, t_max: f64) {
    let index = SensorCheck::ALL.iter().position(|&c| c == check).unwrap_or(0);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let y_of = |share: f64| rect.bottom() - 2.0 - (share.clamp(0.0, 2.0) / 2.0) as f32 * (rect.height() - 4.0);
    let x_of = |t: f64| rect.left() + 2.0 + (t / t_max.max(1e-9)).clamp(0.0, 1.0) as f32 * (rect.width() - 4.0);
    painter.rect_filled(
        Rect::from_min_max(pos2(rect.left(), rect.top()), pos2(rect.right(), y_of(1.0))),
        3.0,
        palette::BAD.gamma_multiply(0.10),
    );
    painter.extend(Shape::dashed_line(
        &[pos2(rect.left(), y_of(1.0)), pos2(rect.right(), y_of(1.0))],
        Stroke::new(1.0, palette::BAD.gamma_multiply(0.7)),
        3.0,
        3.0,
    ));
    for current in [false, true] {
        let points: Vec<(&HistoryPoint, egui::Pos2)> = drift
            .history
            .iter()
            .filter(|p| p.current == current)
            .filter_map(|p| p.severity[index].map(|s| (p, pos2(x_of(p.t_end), y_of(s)))))
            .collect();
        let base = if current { palette::ACCENT } else { MUTED.gamma_multiply(0.5) };
        if points.len() >= 2 {
            painter.add(Shape::line(points.iter().map(|(_, pos)| *pos).collect(), Stroke::new(1.2, base)));
        }
        for (p, pos) in &points {
            let c = if p.fired[index] { palette::BAD } else { base };
            painter.circle_filled(*pos, if p.closed { 2.6 } else { 1.6 }, c);
        }
    }
    let label_y = rect.bottom() + 7.0;
    let weak = ui.visuals().weak_text_color();
    painter.text(pos2(rect.left(), label_y), Align2::LEFT_CENTER, "0:00", FontId::monospace(9.0), weak);
    painter.text(pos2(rect.right(), label_y), Align2::RIGHT_CENTER, clock(t_max), FontId::monospace(9.0), weak);
}

/// The raw channels of the current report against the baseline's, coloured by PSI.
fn channels_ui(ui: &mut Ui, drift: &DriftState) {
    let (Some(timed), Some(baseline)) = (drift.judged(), drift.reference()) else {
        titled_panel_ui(ui, "Input channels", "", |ui| {
            ui.label(RichText::new("No report with a verdict yet.").weak());
        });
        return;
    };
    let r = &timed.report;
    let values = r.windows * baseline.window;
    let sample = baseline.channel_stats.first().map_or(0, |c| c.sample.len());
    let subtitle = format!(
        "n = {} windows ({} values/channel) vs baseline sample of {}",
        r.windows,
        thousands(values as u64),
        thousands(sample as u64)
    );
    titled_panel_ui(ui, "Input channels", &subtitle, |ui| {
        let cell = |text: String| RichText::new(text).monospace().size(12.0);
        egui::Grid::new("drift_channels").striped(true).num_columns(7).spacing(vec2(10.0, 2.0)).show(ui, |ui| {
            for h in ["", "mean (base)", "std (base)", "W/σ", "KS D", "PSI", ""] {
                ui.label(RichText::new(h).small().weak());
            }
            ui.end_row();
            for (c, ch) in r.channels.iter().enumerate() {
                let base = baseline.channel_stats.get(c);
                let level = DriftState::channel_level(ch.psi);
                let color = level_color(level);
                ui.label(cell(ch.channel.clone()).strong());
                ui.label(cell(format!("{:.2} ({:.2})", ch.mean, base.map_or(f64::NAN, |b| b.mean))));
                ui.label(cell(format!("{:.2} ({:.2})", ch.std, base.map_or(f64::NAN, |b| b.std))));
                ui.label(cell(format!("{:.2}", ch.wasserstein_std)))
                    .on_hover_text("Wasserstein distance to the baseline sample, in baseline standard deviations");
                ui.label(cell(format!("{:.2}", ch.ks_statistic))).on_hover_text(format!(
                    "Kolmogorov–Smirnov D {:.3}, p = {:.1e}: with this many values even a small shift is significant",
                    ch.ks_statistic, ch.ks_p
                ));
                ui.label(cell(format!("{:.2}", ch.psi)).color(color));
                let word = if level == CheckLevel::Near { "warning" } else { level_word(level) };
                ui.label(RichText::new(word).size(12.0).color(color).strong());
                ui.end_row();
            }
        });
        ui.add_space(2.0);
        ui.add(
            egui::Label::new(
                RichText::new(format!(
                    "PSI: warning ≥ {}, drift ≥ {}. People doing other things move raw channels too: the sensor \
                     checks decide.",
                    crate::session::drift::CHANNEL_PSI_WARNING,
                    crate::session::drift::CHANNEL_PSI_DRIFT
                ))
                .small()
                .weak(),
            )
            .truncate(),
        );
    });
}

/// JS distance of the class mix over the session with its threshold, and where input drift was found.
fn history_ui(ui: &mut Ui, drift: &DriftState, t_max: f64) {
    titled_panel_ui(ui, "Drift over time", "JS distance of the class mix: information, not an alarm", |ui| {
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            legend_swatch_ui(ui, palette::ACCENT, &format!("per chunk of {}", drift.config.chunk_windows));
            ui.add_space(8.0);
            legend_swatch_ui(
                ui,
                palette::ACCENT.gamma_multiply(0.5),
                &format!("last {} windows", drift.config.chunk_windows),
            );
            ui.add_space(8.0);
            legend_swatch_ui(ui, palette::WARN, &format!("threshold {}", drift.config.js_threshold));
            ui.add_space(8.0);
            legend_swatch_ui(ui, palette::BAD, "input drift (dots, shaded chunks)");
        });
        let threshold = drift.config.js_threshold;
        let y_max = drift.history.iter().map(|p| p.js_distance).filter(|v| v.is_finite()).fold(0.3, f64::max) * 1.15;
        let now = drift.now;
        let now_color = ui.visuals().strong_text_color();
        time_plot("drift_history", ui.available_height())
            .custom_y_axes(vec![compact_y_axis("JS distance", |v| {
                format!("{v:.2}").trim_end_matches('0').trim_end_matches('.').to_string()
            })])
            .x_axis_formatter(|mark, _| clock(mark.value))
            .x_grid_spacer(clock_grid)
            .y_grid_spacer(distance_grid)
            .show_crosshair(false)
            .label_formatter(|hover| match hover {
                HoverPosition::NearDataPoint { plot_name, position, .. } if !plot_name.is_empty() => {
                    Some(format!("{plot_name}\n{}: JS {:.3}", clock(position.x), position.y))
                }
                HoverPosition::NearDataPoint { position, .. } => {
                    Some(format!("{}: JS {:.3}", clock(position.x), position.y))
                }
                HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot_ui| {
                plot_ui.set_auto_bounds([false, false]);
                plot_ui.set_plot_bounds_x(0.0..=t_max);
                plot_ui.set_plot_bounds_y(0.0..=y_max);
                for p in drift.history.iter().filter(|p| p.closed && p.input_drift) {
                    let color = if p.current { palette::BAD } else { MUTED };
                    plot_ui.span(Span::new("", p.t_start..=p.t_end).fill(color.gamma_multiply(0.12)).border_width(0.0));
                }
                plot_ui.hline(
                    HLine::new(format!("threshold {threshold}"), threshold)
                        .color(palette::WARN.gamma_multiply(0.8))
                        .style(LineStyle::dashed_loose())
                        .width(1.0),
                );
                for current in [false, true] {
                    let color = if current { palette::ACCENT } else { MUTED.gamma_multiply(0.7) };
                    let rolling: Vec<[f64; 2]> = drift
                        .history
                        .iter()
                        .filter(|p| !p.closed && p.current == current)
                        .map(|p| [p.t_end, p.js_distance])
                        .collect();
                    let name = if current { "last windows" } else { "" };
                    if !rolling.is_empty() {
                        plot_ui.line(
                            Line::new(name, PlotPoints::from(rolling)).color(color.gamma_multiply(0.7)).width(1.2),
                        );
                    }
                    for (i, p) in drift.history.iter().filter(|p| p.closed && p.current == current).enumerate() {
                        let name = if current && i == 0 { "per chunk" } else { "" };
                        plot_ui.line(
                            Line::new(
                                name,
                                PlotPoints::from(vec![[p.t_start, p.js_distance], [p.t_end, p.js_distance]]),
                            )
                            .color(color)
                            .width(3.0),
                        );
                    }
                    let drifting: Vec<[f64; 2]> = drift
                        .history
                        .iter()
                        .filter(|p| p.input_drift && p.current == current)
                        .map(|p| [p.t_end, p.js_distance])
                        .collect();
                    if !drifting.is_empty() {
                        let name = if current { "input drift" } else { "" };
                        plot_ui.points(
                            Points::new(name, PlotPoints::from(drifting))
                                .color(if current { palette::BAD } else { MUTED })
                                .radius(3.0),
                        );
                    }
                }
                plot_ui.vline(VLine::new("", now).color(now_color).width(1.5));
            });
    });
}

/// The label-free estimate of the model's accuracy: the current report's number with its band (or why it is not to
/// be trusted), and over the session the estimate per chunk with its band, the realised accuracy when the data is
/// labeled, and the reference's realised accuracy as a line. Untrusted chunks are drawn grey and dashed.
fn estimate_ui(ui: &mut Ui, drift: &DriftState, t_max: f64) {
    let subtitle = "from the model's probabilities: no labels needed (CBPE)";
    titled_panel_ui(ui, "Estimated accuracy", subtitle, |ui| {
        let reference = drift.reference_performance();
        let estimate = drift.estimate();
        ui.horizontal(|ui| {
            let (summary, color, hover) = match estimate {
                None => ("Estimated accuracy: no report yet".to_string(), MUTED, String::new()),
                Some(e) if e.trusted => (
                    format!(
                        "Estimated accuracy {:.0}% (95% band {:.0}–{:.0}%) · macro-F1 ≈ {:.2}",
                        100.0 * e.estimated_accuracy,
                        100.0 * e.accuracy_lower,
                        100.0 * e.accuracy_upper,
                        e.estimated_macro_f1
                    ),
                    ui.visuals().strong_text_color(),
                    format!("over the last {} windows", e.windows),
                ),
                Some(e) => {
                    let reasons: Vec<&str> = e.untrusted_because.iter().map(|r| r.short()).collect();
                    (
                        format!("Estimated accuracy not trusted: {}", reasons.join(", ")),
                        palette::WARN,
                        format!("{}.", e.untrusted_text()),
                    )
                }
            };
            let response =
                ui.add(egui::Label::new(RichText::new(&summary).size(13.5).strong().color(color)).truncate());
            if !hover.is_empty() {
                response.on_hover_text(hover);
            }
            if let Some(e) = estimate {
                if let Some(realised) = e.realised_accuracy {
                    ui.label(RichText::new(format!("realised {:.0}%", 100.0 * realised)).color(palette::OK));
                }
                if !e.trusted {
                    ui.label(
                        RichText::new(format!("(it would read {:.0}%)", 100.0 * e.estimated_accuracy)).small().weak(),
                    );
                }
            }
        });
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 4.0;
            legend_swatch_ui(ui, palette::ACCENT, "estimate per chunk ±95%");
            ui.add_space(6.0);
            legend_swatch_ui(ui, MUTED, "untrusted (dashed)");
            if drift.history.iter().any(|p| p.performance.as_ref().is_some_and(|e| e.realised_accuracy.is_some())) {
                ui.add_space(6.0);
                legend_swatch_ui(ui, palette::OK, "realised");
            }
            ui.add_space(6.0);
            let reference_text = match reference {
                Some(r) => format!("reference {:.0}% (ECE {:.3})", 100.0 * r.accuracy, r.ece),
                None => "no reference calibration in the baseline".to_string(),
            };
            legend_swatch_ui(ui, BASELINE_COLOR, &reference_text);
        });
        // The axis starts a little under the lowest value shown (in steps of 10 %), so that estimates near 100 %
        // stay apart.
        let lowest = drift
            .history
            .iter()
            .filter_map(|p| p.performance.as_ref())
            .flat_map(|e| [Some(e.accuracy_lower), e.realised_accuracy])
            .flatten()
            .chain(reference.map(|r| r.accuracy))
            .fold(1.0, f64::min);
        let y_min = (((lowest - 0.05) * 10.0).floor() / 10.0).clamp(0.0, 0.8);
        let now = drift.now;
        let now_color = ui.visuals().strong_text_color();
        time_plot("drift_estimate", ui.available_height())
            .custom_y_axes(vec![compact_y_axis("accuracy", |v| format!("{:.0}%", 100.0 * v))])
            .x_axis_formatter(|mark, _| clock(mark.value))
            .x_grid_spacer(clock_grid)
            .y_grid_spacer(accuracy_grid)
            .show_crosshair(false)
            .label_formatter(|hover| match hover {
                HoverPosition::NearDataPoint { plot_name, position, .. } => {
                    Some(format!("{plot_name}\n{}: {:.1}%", clock(position.x), 100.0 * position.y))
                }
                HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot_ui| {
                plot_ui.set_auto_bounds([false, false]);
                plot_ui.set_plot_bounds_x(0.0..=t_max);
                plot_ui.set_plot_bounds_y(y_min..=1.0 + 0.04 * (1.0 - y_min));
                if let Some(r) = reference {
                    plot_ui.hline(
                        HLine::new(format!("reference accuracy {:.1}%", 100.0 * r.accuracy), r.accuracy)
                            .color(BASELINE_COLOR)
                            .style(LineStyle::dashed_loose())
                            .width(1.2),
                    );
                }
                let mut realised = Vec::new();
                for p in drift.history.iter().filter(|p| p.closed) {
                    let Some(e) = &p.performance else { continue };
                    let color = if !p.current {
                        MUTED.gamma_multiply(0.5)
                    } else if e.trusted {
                        palette::ACCENT
                    } else {
                        MUTED
                    };
                    let band = vec![
                        [p.t_start, e.accuracy_lower],
                        [p.t_end, e.accuracy_lower],
                        [p.t_end, e.accuracy_upper],
                        [p.t_start, e.accuracy_upper],
                    ];
                    plot_ui.add(
                        Polygon::new("", PlotPoints::from(band))
                            .fill_color(color.gamma_multiply(if e.trusted { 0.30 } else { 0.15 }))
                            .stroke(Stroke::NONE)
                            .allow_hover(false),
                    );
                    let name = if e.trusted {
                        format!("estimate {:.0}–{:.0}%", 100.0 * e.accuracy_lower, 100.0 * e.accuracy_upper)
                    } else {
                        let reasons: Vec<&str> = e.untrusted_because.iter().map(|r| r.short()).collect();
                        format!("untrusted: {}", reasons.join(", "))
                    };
                    let line = Line::new(
                        name,
                        PlotPoints::from(vec![[p.t_start, e.estimated_accuracy], [p.t_end, e.estimated_accuracy]]),
                    )
                    .color(color)
                    .width(if e.trusted { 3.0 } else { 2.0 });
                    plot_ui.line(if e.trusted { line } else { line.style(LineStyle::dashed_dense()) });
                    if let Some(a) = e.realised_accuracy {
                        realised.push((p.t_start, p.t_end, a));
                    }
                }
                let rolling: Vec<[f64; 2]> = drift
                    .history
                    .iter()
                    .filter(|p| !p.closed && p.current)
                    .filter_map(|p| p.performance.as_ref().map(|e| [p.t_end, e.estimated_accuracy]))
                    .collect();
                if !rolling.is_empty() {
                    plot_ui.line(
                        Line::new("estimate, last windows", PlotPoints::from(rolling))
                            .color(palette::ACCENT.gamma_multiply(0.6))
                            .width(1.2),
                    );
                }
                for (i, (t_start, t_end, a)) in realised.into_iter().enumerate() {
                    let name = if i == 0 { "realised" } else { "" };
                    let segment = PlotPoints::from(vec![[t_start, a], [t_end, a]]);
                    plot_ui.line(Line::new(name, segment).color(palette::OK).width(2.0));
                }
                plot_ui.vline(VLine::new("", now).color(now_color).width(1.5));
            });
    });
}

/// Grid marks on round clock steps (30 s, 1, 2, 5, 10, 15, 30 min, 1 h, ...), about six across the plot.
fn clock_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = (hi - lo).max(1.0);
    let step = [30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0]
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or(86400.0);
    let mut marks = Vec::new();
    let mut t = (lo / step).ceil() * step;
    while t <= hi {
        marks.push(GridMark { value: t, step_size: step });
        t += step;
    }
    marks
}

/// A y axis whose tick labels stay readable on a short plot (labels from 14 points apart, not egui_plot's 20).
fn compact_y_axis<'a>(label: &str, format: impl Fn(f64) -> String + 'a) -> AxisHints<'a> {
    AxisHints::new_y()
        .label(label)
        .formatter(move |mark, _| format(mark.value))
        .min_thickness(40.0)
        .label_spacing(14.0..=18.0)
}

/// Grid marks of the accuracy axis, at most five, on steps of 5, 10 or 25 % up to 100 %.
fn accuracy_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = (hi.min(1.0) - lo).max(1e-6);
    let step = [0.05, 0.1, 0.25].into_iter().find(|s| span / s <= 4.0 + 1e-9).unwrap_or(0.25);
    let mut marks = Vec::new();
    let mut k = (lo / step - 1e-9).ceil() as i64;
    while k as f64 * step <= hi.min(1.0) + 1e-9 {
        marks.push(GridMark { value: k as f64 * step, step_size: step });
        k += 1;
    }
    marks
}

/// Grid marks for a distance axis on round steps (0.05, 0.1, 0.2, 0.25, 0.5, 1), at most five (the plot is short).
fn distance_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let span = (hi - lo).max(1e-6);
    let step = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0].into_iter().find(|s| span / s <= 4.0).unwrap_or(10.0);
    let mut marks = Vec::new();
    let mut k = (lo / step).ceil() as i64;
    while k as f64 * step <= hi + 1e-9 {
        marks.push(GridMark { value: k as f64 * step, step_size: step });
        k += 1;
    }
    marks
}

/// Predicted-class shares of the current report beside the baseline's.
fn classes_ui(ui: &mut Ui, drift: &DriftState) {
    let Some(timed) = drift.judged() else {
        titled_panel_ui(ui, "Predicted classes", "", |ui| {
            ui.label(RichText::new("No report with a verdict yet.").weak());
        });
        return;
    };
    let r = &timed.report;
    let subtitle = format!("last {} windows (bar) vs baseline (line)", r.windows);
    titled_panel_ui(ui, "Predicted classes", &subtitle, |ui| {
        let classes = drift.classes();
        let max_share = r.class_distribution.iter().chain(&r.baseline_distribution).copied().fold(0.05, f64::max);
        let scale = (max_share * 1.1).min(1.0);
        let rows = classes.len().max(1) as f32;
        ui.spacing_mut().item_spacing.y = 0.0;
        let row_h = ((ui.available_height() - 20.0) / rows).clamp(12.0, 22.0);
        let width = ui.available_width();
        let name_w = 128.0;
        let pct_w = 78.0;
        let bar_w = (width - name_w - pct_w - 8.0).max(20.0);
        for (i, name) in classes.iter().enumerate() {
            let now = r.class_distribution.get(i).copied().unwrap_or(0.0);
            let base = r.baseline_distribution.get(i).copied().unwrap_or(0.0);
            let (rect, response) = ui.allocate_exact_size(vec2(width, row_h), Sense::hover());
            let painter = ui.painter_at(rect);
            let color = class_color(i);
            painter.rect_filled(
                Rect::from_center_size(pos2(rect.left() + 5.0, rect.center().y), vec2(9.0, 9.0)),
                2.0,
                color,
            );
            painter.text(
                pos2(rect.left() + 14.0, rect.center().y),
                Align2::LEFT_CENTER,
                name.replace('_', " "),
                FontId::proportional(12.5),
                ui.visuals().text_color(),
            );
            let track = Rect::from_min_size(pos2(rect.left() + name_w, rect.top() + 2.0), vec2(bar_w, row_h - 4.0));
            painter.rect_filled(track, 2.0, ui.visuals().extreme_bg_color);
            let w = |share: f64| (share / scale).clamp(0.0, 1.0) as f32 * bar_w;
            painter.rect_filled(
                Rect::from_min_size(track.min, vec2(w(now), track.height())),
                2.0,
                color.gamma_multiply(0.85),
            );
            let x = track.left() + w(base);
            painter.line_segment(
                [pos2(x, track.top() - 1.0), pos2(x, track.bottom() + 1.0)],
                Stroke::new(2.5, BASELINE_COLOR),
            );
            painter.text(
                pos2(rect.right(), rect.center().y),
                Align2::RIGHT_CENTER,
                format!("{:>3.0}% ({:.0}%)", now * 100.0, base * 100.0),
                FontId::monospace(11.5),
                ui.visuals().text_color(),
            );
            let summary = format!(
                "{name}: {:.1}% of the last {} windows, {:.1}% of the baseline",
                now * 100.0,
                r.windows,
                base * 100.0
            );
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &summary));
            response.on_hover_text(summary);
        }
        let mix_color = if r.prediction_drift { palette::ACCENT } else { ui.visuals().weak_text_color() };
        ui.label(
            RichText::new(format!(
                "JS distance {:.3} ({} {}) · PSI {:.2} · χ² p {:.3}",
                r.js_distance,
                if r.prediction_drift { "above" } else { "within" },
                drift.config.js_threshold,
                r.psi,
                r.chi2_p
            ))
            .small()
            .color(mix_color),
        );
    });
}

/// Confidence of the current report's windows beside the baseline's: histogram, mean and low-confidence share.
fn confidence_ui(ui: &mut Ui, drift: &DriftState) {
    let (Some(timed), Some(baseline)) = (drift.judged(), drift.reference()) else {
        titled_panel_ui(ui, "Confidence", "", |ui| {
            ui.label(RichText::new("No report with a verdict yet.").weak());
        });
        return;
    };
    let r = &timed.report;
    titled_panel_ui(ui, "Confidence", "top probability per window", |ui| {
        let low = baseline.low_confidence_threshold;
        let text_h = 78.0;
        let height = (ui.available_height() - text_h).max(60.0);
        let width = ui.available_width();
        let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
        let painter = ui.painter_at(rect);
        let plot = Rect::from_min_max(rect.min + vec2(4.0, 4.0), rect.max - vec2(4.0, 16.0));
        painter.rect_filled(plot, 3.0, ui.visuals().extreme_bg_color);
        let bins = timed.confidence_histogram.len().max(baseline.confidence_histogram.len()).max(1);
        let top = timed.confidence_histogram.iter().chain(&baseline.confidence_histogram).copied().fold(0.05, f64::max);
        let bin_w = plot.width() / bins as f32;
        for b in 0..bins {
            let x0 = plot.left() + b as f32 * bin_w;
            let h = |share: f64| (share / top).clamp(0.0, 1.0) as f32 * (plot.height() - 4.0);
            let now = timed.confidence_histogram.get(b).copied().unwrap_or(0.0);
            let base = baseline.confidence_histogram.get(b).copied().unwrap_or(0.0);
            let bar = |x: f32, share: f64| {
                Rect::from_min_max(pos2(x, plot.bottom() - h(share)), pos2(x + bin_w * 0.38, plot.bottom()))
            };
            painter.rect_filled(bar(x0 + bin_w * 0.10, now), 1.0, palette::ACCENT);
            painter.rect_filled(bar(x0 + bin_w * 0.50, base), 1.0, BASELINE_COLOR.gamma_multiply(0.55));
        }
        let x_low = plot.left() + low as f32 * plot.width();
        painter.extend(Shape::dashed_line(
            &[pos2(x_low, plot.top()), pos2(x_low, plot.bottom())],
            Stroke::new(1.0, palette::WARN),
            3.0,
            3.0,
        ));
        for (v, align) in [(0.0, Align2::LEFT_CENTER), (low, Align2::CENTER_CENTER), (1.0, Align2::RIGHT_CENTER)] {
            painter.text(
                pos2(plot.left() + v as f32 * plot.width(), rect.bottom() - 7.0),
                align,
                format!("{:.0}%", v * 100.0),
                FontId::monospace(10.0),
                ui.visuals().weak_text_color(),
            );
        }
        ui.horizontal(|ui| {
            legend_swatch_ui(ui, palette::ACCENT, &format!("last {}", r.windows));
            legend_swatch_ui(ui, BASELINE_COLOR.gamma_multiply(0.55), "baseline");
        });
        let low_color = if r.low_confidence_share > baseline.low_confidence_share + 0.1 {
            palette::WARN
        } else {
            ui.visuals().text_color()
        };
        ui.label(RichText::new(format!(
            "mean {:.0}% (baseline {:.0}%)",
            r.mean_confidence * 100.0,
            baseline.mean_confidence * 100.0
        )));
        ui.label(
            RichText::new(format!(
                "below {:.0}%: {:.1}% (baseline {:.1}%)",
                low * 100.0,
                r.low_confidence_share * 100.0,
                baseline.low_confidence_share * 100.0
            ))
            .color(low_color),
        );
    });
}

fn legend_swatch_ui(ui: &mut Ui, color: Color32, label: &str) {
    let (rect, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
    ui.label(RichText::new(label).small());
}

/// What to do when the model has no usable baseline: the exact command, and what reference data means.
fn how_to_build_ui(ui: &mut Ui, command: &str, expected: Option<&std::path::PathBuf>) {
    egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(16, 12)).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("How to build a baseline").size(18.0).strong());
        ui.add_space(4.0);
        ui.label(
            "A baseline records what the model's predictions and the raw sensor looked like on reference data: \
             recordings of the same watch, worn the usual way, that the model is known to work on (for example the \
             data it was validated on). Drift is measured against it.",
        );
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            egui::Frame::new()
                .fill(ui.visuals().extreme_bg_color)
                .corner_radius(4.0)
                .inner_margin(egui::Margin::symmetric(10, 6))
                .show(ui, |ui| {
                    ui.label(RichText::new(command).monospace().size(14.0));
                });
            if ui.button("Copy").on_hover_text("Copy the command").clicked() {
                ui.ctx().copy_text(command.to_string());
            }
        });
        ui.add_space(6.0);
        if let Some(path) = expected {
            ui.label(format!(
                "Replace REFERENCE.csv with your reference recording. The baseline is written to {}, where the app \
                 finds it; load the model again (or restart) to start monitoring.",
                path.display()
            ));
        }
    });
}

/// A plot over the session's clock that does not move under the pointer (the drift view's two time plots).
fn time_plot(id: &str, height: f32) -> Plot<'static> {
    Plot::new(id)
        .height(height)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(true)
}
