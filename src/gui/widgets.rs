//! Widgets shared by the views: theme, probability bars, the class timeline, small status items.

use egui::{Align2, Color32, FontId, Rect, RichText, Sense, Stroke, StrokeKind, Ui, pos2, vec2};

use super::palette::{self, class_color};
pub use crate::format::clock;
use crate::session::live::LoggedAlert;
use crate::source::LabelSpan;

/// Dark theme with slightly larger text: the app is read from a distance during demos.
pub fn apply_theme(ctx: &egui::Context) {
    ctx.set_theme(egui::Theme::Dark);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = vec2(8.0, 6.0);
        style.spacing.button_padding = vec2(8.0, 4.0);
        for (text_style, font) in style.text_styles.iter_mut() {
            font.size = match text_style {
                egui::TextStyle::Small => 11.0,
                egui::TextStyle::Body | egui::TextStyle::Button => 14.0,
                egui::TextStyle::Monospace => 13.0,
                egui::TextStyle::Heading => 20.0,
                egui::TextStyle::Name(_) => font.size,
            };
        }
    });
}

/// `label value` pair for the status bar.
pub fn status_item_ui(ui: &mut Ui, label: &str, value: &str) -> egui::Response {
    ui.label(RichText::new(label).weak());
    ui.label(RichText::new(value).monospace())
}

/// One horizontal bar per class: swatch, name, bar, percentage. The predicted class is drawn bright, the others
/// dimmed; the true class (when known) is outlined.
pub fn probability_bars_ui(ui: &mut Ui, classes: &[String], probabilities: &[f32], true_label: Option<usize>) {
    let predicted = crate::numeric::argmax(probabilities).map(|(i, _)| i);
    let row_h = 20.0;
    let width = ui.available_width();
    let name_w = 132.0_f32.min(width * 0.45);
    let pct_w = 48.0;
    let bar_w = (width - name_w - pct_w - 16.0).max(20.0);
    for (i, name) in classes.iter().enumerate() {
        let p = probabilities.get(i).copied().unwrap_or(0.0).clamp(0.0, 1.0);
        let (rect, response) = ui.allocate_exact_size(vec2(width, row_h), Sense::hover());
        let painter = ui.painter_at(rect);
        let color = class_color(i);
        let is_pred = predicted == Some(i);
        let text_color = if is_pred { ui.visuals().strong_text_color() } else { ui.visuals().text_color() };
        painter.rect_filled(Rect::from_min_size(rect.min + vec2(0.0, 5.0), vec2(10.0, 10.0)), 2.0, color);
        painter.text(
            rect.min + vec2(16.0, row_h / 2.0),
            Align2::LEFT_CENTER,
            name,
            FontId::proportional(13.0),
            text_color,
        );
        let bar_rect = Rect::from_min_size(rect.min + vec2(name_w + 8.0, 3.0), vec2(bar_w, row_h - 6.0));
        painter.rect_filled(bar_rect, 3.0, ui.visuals().extreme_bg_color);
        let fill = Rect::from_min_size(bar_rect.min, vec2(bar_w * p, bar_rect.height()));
        painter.rect_filled(fill, 3.0, if is_pred { color } else { color.gamma_multiply(0.55) });
        if true_label == Some(i) {
            painter.rect_stroke(bar_rect, 3.0, Stroke::new(1.5, Color32::WHITE), StrokeKind::Outside);
        }
        painter.text(
            pos2(rect.right() - 2.0, rect.center().y),
            Align2::RIGHT_CENTER,
            format!("{:.1}%", p * 100.0),
            FontId::monospace(12.0),
            text_color,
        );
        response.on_hover_text(format!(
            "{name}: {:.2}%{}",
            p * 100.0,
            if true_label == Some(i) { " (true label)" } else { "" }
        ));
    }
}

/// How long an alert stays on screen as a banner.
pub const ALERT_BANNER_SECONDS: i64 = 15;

/// A fired alert as a banner across the view: kind, message (one line; the whole text on hover) and source time.
/// Returns true when the user dismissed it.
pub fn alert_banner_ui(ui: &mut Ui, logged: &LoggedAlert) -> bool {
    let color = logged.alert.class.map(class_color).unwrap_or(palette::WARN);
    let (kind, message) = (logged.alert.kind.label(), &logged.alert.message);
    let text = if message.starts_with(kind) {
        format!("{message} at {}", clock(logged.alert.time))
    } else {
        format!("{kind} · {message} at {}", clock(logged.alert.time))
    };
    let mut dismissed = false;
    egui::Frame::new()
        .fill(color.gamma_multiply(0.25))
        .stroke(Stroke::new(1.5, color))
        .corner_radius(6.0)
        .inner_margin(egui::Margin::symmetric(12, 8))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new("⚠").size(20.0).color(color));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    dismissed = ui.button("Dismiss").clicked();
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        ui.add(egui::Label::new(RichText::new(&text).size(16.0).strong()).truncate())
                            .on_hover_text(&text);
                    });
                });
            });
        });
    dismissed
}

/// A band of class-coloured spans over `[t0, t1]`; returns the time clicked, if any.
pub struct TimelineBand<'a> {
    pub label: &'a str,
    /// `(start, end, class)`; `None` class draws as "unknown".
    pub spans: Vec<(f64, f64, Option<usize>)>,
}

/// The session timeline: bands stacked under each other with a time axis, a marker at `now`, hover details from
/// `describe(t)` and click-to-seek.
pub fn timeline_ui(
    ui: &mut Ui,
    bands: &[TimelineBand<'_>],
    t0: f64,
    t1: f64,
    now: f64,
    describe: &dyn Fn(f64) -> String,
) -> Option<f64> {
    let label_w = 74.0;
    let band_h = 16.0;
    let gap = 4.0;
    let axis_h = 14.0;
    let width = ui.available_width();
    let height = bands.len() as f32 * (band_h + gap) + axis_h;
    let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::click());
    let painter = ui.painter_at(rect);
    let area = Rect::from_min_max(pos2(rect.left() + label_w, rect.top()), pos2(rect.right() - 4.0, rect.bottom()));
    let span = (t1 - t0).max(1e-9);
    let x_of = |t: f64| area.left() + ((t - t0) / span).clamp(0.0, 1.0) as f32 * area.width();
    for (b, band) in bands.iter().enumerate() {
        let y = rect.top() + b as f32 * (band_h + gap);
        painter.text(
            pos2(rect.left(), y + band_h / 2.0),
            Align2::LEFT_CENTER,
            band.label,
            FontId::proportional(12.0),
            ui.visuals().weak_text_color(),
        );
        let band_rect = Rect::from_min_size(pos2(area.left(), y), vec2(area.width(), band_h));
        painter.rect_filled(band_rect, 2.0, ui.visuals().extreme_bg_color);
        // Spans narrower than a pixel are merged into their neighbour of the same class by the painter's overlap.
        let mut last_x = f32::NEG_INFINITY;
        let mut last_class = usize::MAX - 1;
        for &(s, e, class) in &band.spans {
            let (x0, x1) = (x_of(s), x_of(e).max(x_of(s) + 1.0));
            let key = class.unwrap_or(usize::MAX);
            if x1 <= last_x && key == last_class {
                continue;
            }
            last_x = x1;
            last_class = key;
            let color = class.map(class_color).unwrap_or(palette::NONE_COLOR);
            painter.rect_filled(Rect::from_x_y_ranges(x0..=x1, y..=y + band_h), 0.0, color);
        }
    }
    // Time axis: about one tick per 100 px, at round steps.
    let axis_y = rect.bottom() - axis_h / 2.0;
    let ticks = (area.width() / 100.0).max(2.0) as f64;
    let raw_step = span / ticks;
    let step = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0]
        .into_iter()
        .find(|s| *s >= raw_step)
        .unwrap_or(7200.0);
    let mut t = (t0 / step).ceil() * step;
    while t <= t1 {
        let x = x_of(t);
        painter.text(
            pos2(x, axis_y),
            Align2::CENTER_CENTER,
            clock(t),
            FontId::monospace(10.0),
            ui.visuals().weak_text_color(),
        );
        t += step;
    }
    // Where the replay is now.
    let x = x_of(now);
    painter.line_segment(
        [pos2(x, rect.top()), pos2(x, rect.bottom() - axis_h)],
        Stroke::new(2.0, ui.visuals().strong_text_color()),
    );
    let pointer_time = response
        .hover_pos()
        .filter(|p| p.x >= area.left())
        .map(|p| t0 + ((p.x - area.left()) / area.width()).clamp(0.0, 1.0) as f64 * span);
    if let Some(t) = pointer_time {
        let x = x_of(t);
        painter.line_segment([pos2(x, rect.top()), pos2(x, rect.bottom() - axis_h)], Stroke::new(1.0, Color32::GRAY));
    }
    let clicked = response.clicked();
    if let Some(t) = pointer_time {
        response.on_hover_text(describe(t));
    }
    if clicked { pointer_time } else { None }
}

/// Turns predictions into timeline spans: each window paints its last `step` seconds so the band tiles.
pub fn prediction_spans<'a>(
    predictions: impl Iterator<Item = &'a crate::pipeline::LivePrediction>,
    step_s: f64,
) -> Vec<(f64, f64, Option<usize>)> {
    predictions.map(|p| ((p.t_end - step_s).max(p.t_start), p.t_end, Some(p.predicted))).collect()
}

pub fn label_spans(spans: &[LabelSpan]) -> Vec<(f64, f64, Option<usize>)> {
    spans.iter().map(|s| (s.t_start, s.t_end, s.class)).collect()
}
