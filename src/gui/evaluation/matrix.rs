//! The confusion matrix as a heatmap: rows are true classes, columns predicted ones, each cell shows its count and
//! its share of the true class. Correct cells (the diagonal) shade green and confusions red, so mistakes stand
//! out; the shade follows the row share or the count. Hovering says the cell in words; a click selects it.

use std::f32::consts::FRAC_1_SQRT_2;
use std::sync::Arc;

use egui::epaint::TextShape;
use egui::{Align2, Color32, FontId, Galley, Rect, Role, Sense, Stroke, StrokeKind, Ui, WidgetInfo, pos2, vec2};

use crate::eval::EvaluationReport;
use crate::format::percent;
use crate::gui::palette::class_color;

/// Shade of correct windows (the diagonal).
pub const CORRECT: Color32 = Color32::from_rgb(0x3C, 0xB3, 0x71);
/// Shade of confused windows (off the diagonal).
pub const CONFUSED: Color32 = Color32::from_rgb(0xE4, 0x5A, 0x4F);

/// How strongly a cell is shaded, in 0..=1: its share of the true class (`normalised`), or its count over the
/// largest count in the matrix.
pub fn shade(count: u64, row_total: u64, max_count: u64, normalised: bool) -> f32 {
    let denominator = if normalised { row_total } else { max_count };
    if denominator == 0 { 0.0 } else { (count as f64 / denominator as f64).clamp(0.0, 1.0) as f32 }
}

/// The name kittest and screen readers know a cell by.
pub fn cell_label(true_name: &str, predicted_name: &str) -> String {
    format!("cell {true_name} → {predicted_name}")
}

fn mix(a: Color32, b: Color32, t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let channel = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(channel(a.r(), b.r()), channel(a.g(), b.g()), channel(a.b(), b.b()))
}

/// Dark text on light fills, light text on dark ones.
fn text_on(fill: Color32) -> Color32 {
    let luma = 0.299 * fill.r() as f32 + 0.587 * fill.g() as f32 + 0.114 * fill.b() as f32;
    if luma > 150.0 { Color32::from_gray(20) } else { Color32::from_gray(240) }
}

/// Draws the matrix in the space available and returns the cell clicked this frame, if any.
pub fn confusion_matrix_ui(
    ui: &mut Ui,
    report: &EvaluationReport,
    normalised: bool,
    selected: Option<(usize, usize)>,
) -> Option<(usize, usize)> {
    let classes = &report.classes;
    let n = classes.len();
    let matrix = &report.confusion_matrix;
    if n == 0 || matrix.n_classes() != n {
        ui.label("The report has no confusion matrix.");
        return None;
    }
    let row_totals: Vec<u64> = (0..n).map(|i| (0..n).map(|j| matrix.count(i, j)).sum()).collect();
    let col_totals: Vec<u64> = (0..n).map(|j| (0..n).map(|i| matrix.count(i, j)).sum()).collect();
    let max_count = (0..n * n).map(|k| matrix.count(k / n, k % n)).max().unwrap_or(0);

    let visuals = ui.visuals().clone();
    let label_font = FontId::proportional(13.0);
    let small_font = FontId::proportional(11.0);
    let text_painter = ui.painter().clone();
    let layout = |text: String, font: &FontId| text_painter.layout_no_wrap(text, font.clone(), Color32::PLACEHOLDER);
    let names: Vec<Arc<Galley>> = classes.iter().map(|c| layout(c.clone(), &label_font)).collect();
    let name_w = names.iter().map(|g| g.size().x).fold(0.0, f32::max);
    let text_h = names.first().map_or(16.0, |g| g.size().y);

    // Geometry: row labels | cells | support column; rotated column labels above, the totals row and the legend
    // below. Column labels rise at 45° from their column, so the last ones reach past the support column.
    const SWATCH: f32 = 10.0;
    const TOTAL_W: f32 = 54.0;
    const TOTAL_H: f32 = 22.0;
    const LEGEND_H: f32 = 24.0;
    let row_label_w = SWATCH + 6.0 + name_w + 12.0;
    let rise = (name_w + 18.0) * FRAC_1_SQRT_2 + text_h * FRAC_1_SQRT_2;
    let col_label_h = rise + 8.0;
    let overhang = ((name_w + 18.0) * FRAC_1_SQRT_2 - TOTAL_W).max(0.0) + 4.0;
    let available = ui.available_size();
    let cell = ((available.x - row_label_w - TOTAL_W - overhang) / n as f32)
        .min((available.y - col_label_h - TOTAL_H - LEGEND_H) / n as f32)
        .clamp(22.0, 72.0)
        .floor();
    let width = row_label_w + n as f32 * cell + TOTAL_W + overhang;
    let height = col_label_h + n as f32 * cell + TOTAL_H + LEGEND_H;
    let (rect, _) = ui.allocate_exact_size(vec2(available.x.max(width), height), Sense::hover());
    let left = rect.left() + ((rect.width() - width) / 2.0).max(0.0);
    let grid_left = left + row_label_w;
    let grid_top = rect.top() + col_label_h;
    let grid_right = grid_left + n as f32 * cell;
    let grid_bottom = grid_top + n as f32 * cell;
    let cell_rect = |i: usize, j: usize| {
        Rect::from_min_size(pos2(grid_left + j as f32 * cell, grid_top + i as f32 * cell), vec2(cell, cell))
    };

    // Interaction first, so labels can light up for the hovered cell.
    let base_id = ui.scope_id().with("confusion_cells");
    let mut hovered = None;
    let mut clicked = None;
    for i in 0..n {
        for j in 0..n {
            let response = ui.interact(cell_rect(i, j), base_id.with((i, j)), Sense::click());
            let (true_name, predicted_name) = (&classes[i], &classes[j]);
            response.widget_info(|| {
                WidgetInfo::selected(
                    Role::Button,
                    true,
                    selected == Some((i, j)),
                    cell_label(true_name, predicted_name),
                )
            });
            if response.hovered() {
                hovered = Some((i, j));
            }
            if response.clicked() {
                clicked = Some((i, j));
            }
            let count = matrix.count(i, j);
            let share = if row_totals[i] == 0 { 0.0 } else { count as f64 / row_totals[i] as f64 };
            let verdict = if i == j { " (correct)" } else { "" };
            let windows = if count == 1 { "window" } else { "windows" };
            let mut text = format!(
                "true {true_name}, predicted {predicted_name}{verdict}: {count} {windows}, {} of {true_name}",
                percent(share)
            );
            if count > 0 {
                text.push_str("\nClick to list them.");
            }
            response.on_hover_text(text);
        }
    }

    let painter = ui.painter_at(rect.expand(2.0));
    let text_color = visuals.text_color();
    let strong = visuals.strong_text_color();
    let weak = visuals.weak_text_color();
    let background = visuals.extreme_bg_color;
    let focus = clicked.or(hovered).or(selected);

    // Corner: which way is which.
    let corner_y = grid_top - 6.0;
    // The arrows are only in the monospace font.
    let arrow_font = FontId::monospace(12.0);
    let down = painter_text_width(ui, "true ", &small_font);
    painter.text(pos2(left, corner_y), Align2::LEFT_BOTTOM, "true ", small_font.clone(), weak);
    painter.text(pos2(left + down, corner_y + 1.0), Align2::LEFT_BOTTOM, "↓", arrow_font.clone(), weak);
    painter.text(pos2(grid_left - 8.0, corner_y + 1.0), Align2::RIGHT_BOTTOM, "→", arrow_font.clone(), weak);
    let arrow_w = painter_text_width(ui, "→", &arrow_font);
    painter.text(
        pos2(grid_left - 8.0 - arrow_w, corner_y),
        Align2::RIGHT_BOTTOM,
        "predicted ",
        small_font.clone(),
        weak,
    );

    // Row labels: swatch and name.
    for (i, name) in names.iter().enumerate() {
        let cy = grid_top + (i as f32 + 0.5) * cell;
        let swatch = Rect::from_center_size(pos2(left + SWATCH / 2.0, cy), vec2(SWATCH, SWATCH));
        painter.rect_filled(swatch, 2.0, class_color(i));
        let lit = focus.is_some_and(|(r, _)| r == i);
        painter.galley(
            pos2(left + SWATCH + 6.0, cy - name.size().y / 2.0),
            name.clone(),
            if lit { strong } else { text_color },
        );
    }

    // Column labels: a swatch on the column, the name rising at 45° from it.
    let angle = -std::f32::consts::FRAC_PI_4;
    for (j, name) in names.iter().enumerate() {
        let cx = grid_left + (j as f32 + 0.5) * cell;
        let swatch = Rect::from_center_size(pos2(cx, grid_top - 8.0), vec2(SWATCH - 2.0, SWATCH - 2.0));
        painter.rect_filled(swatch, 2.0, class_color(j));
        let lit = focus.is_some_and(|(_, c)| c == j);
        let anchor = pos2(cx + 4.0, grid_top - 16.0);
        let shape = TextShape::new(
            anchor - vec2(0.0, name.size().y / 2.0),
            name.clone(),
            if lit { strong } else { text_color },
        )
        .with_angle_and_anchor(angle, Align2::LEFT_CENTER);
        painter.add(shape);
    }
    let support_label = layout("support".into(), &small_font);
    let sx = grid_right + TOTAL_W / 2.0;
    painter.add(
        TextShape::new(pos2(sx - 2.0, grid_top - 8.0 - support_label.size().y / 2.0), support_label, weak)
            .with_angle_and_anchor(angle, Align2::LEFT_CENTER),
    );

    // Cells.
    let count_font = FontId::proportional(if cell >= 44.0 { 15.0 } else { 13.0 });
    let share_font = FontId::proportional(if cell >= 44.0 { 11.5 } else { 10.5 });
    let two_lines = cell >= 34.0;
    for (i, &row_total) in row_totals.iter().enumerate() {
        for j in 0..n {
            let r = cell_rect(i, j);
            let count = matrix.count(i, j);
            let share = if row_total == 0 { 0.0 } else { count as f64 / row_total as f64 };
            let diagonal = i == j;
            let fill = if count == 0 {
                background
            } else {
                let t = shade(count, row_total, max_count, normalised);
                mix(background, if diagonal { CORRECT } else { CONFUSED }, 0.18 + 0.82 * t)
            };
            let inner = r.shrink(1.0);
            painter.rect_filled(inner, 3.0, fill);
            if diagonal {
                painter.rect_stroke(inner, 3.0, Stroke::new(1.0, CORRECT.gamma_multiply(0.7)), StrokeKind::Inside);
            }
            let ink = if count == 0 { weak.gamma_multiply(0.6) } else { text_on(fill) };
            if count == 0 {
                painter.text(r.center(), Align2::CENTER_CENTER, "0", share_font.clone(), ink);
            } else if two_lines {
                painter.text(
                    r.center() - vec2(0.0, 1.0),
                    Align2::CENTER_BOTTOM,
                    count.to_string(),
                    count_font.clone(),
                    ink,
                );
                painter.text(r.center() + vec2(0.0, 1.0), Align2::CENTER_TOP, percent(share), share_font.clone(), ink);
            } else {
                painter.text(r.center(), Align2::CENTER_CENTER, count.to_string(), share_font.clone(), ink);
            }
        }
    }
    if let Some((i, j)) = hovered {
        painter.rect_stroke(cell_rect(i, j).shrink(1.0), 3.0, Stroke::new(1.5, strong), StrokeKind::Inside);
    }
    if let Some((i, j)) = selected.filter(|&(i, j)| i < n && j < n) {
        painter.rect_stroke(cell_rect(i, j).shrink(0.5), 3.0, Stroke::new(2.5, Color32::WHITE), StrokeKind::Outside);
    }

    // Totals: windows per true class at the right, per predicted class below.
    let mono = FontId::monospace(12.0);
    for (i, total) in row_totals.iter().enumerate() {
        let cy = grid_top + (i as f32 + 0.5) * cell;
        painter.text(
            pos2(grid_right + TOTAL_W - 10.0, cy),
            Align2::RIGHT_CENTER,
            total.to_string(),
            mono.clone(),
            weak,
        );
    }
    let totals_y = grid_bottom + TOTAL_H / 2.0;
    painter.text(pos2(grid_left - 8.0, totals_y), Align2::RIGHT_CENTER, "predicted", small_font.clone(), weak);
    for (j, total) in col_totals.iter().enumerate() {
        let cx = grid_left + (j as f32 + 0.5) * cell;
        painter.text(pos2(cx, totals_y), Align2::CENTER_CENTER, total.to_string(), mono.clone(), weak);
    }
    painter.text(
        pos2(grid_right + TOTAL_W - 10.0, totals_y),
        Align2::RIGHT_CENTER,
        report.windows.used.to_string(),
        mono,
        text_color,
    );

    // Legend.
    let legend_y = grid_bottom + TOTAL_H + LEGEND_H / 2.0 + 2.0;
    let mut x = left;
    let item = |x: &mut f32, swatch: Option<Color32>, text: String, color: Color32| {
        if let Some(c) = swatch {
            painter.rect_filled(Rect::from_center_size(pos2(*x + 6.0, legend_y), vec2(12.0, 12.0)), 2.0, c);
            *x += 18.0;
        }
        let g = painter.layout_no_wrap(text, small_font.clone(), color);
        let w = g.size().x;
        painter.galley(pos2(*x, legend_y - g.size().y / 2.0), g, color);
        *x += w + 16.0;
    };
    item(&mut x, Some(CORRECT), "correct (diagonal)".into(), text_color);
    item(&mut x, Some(CONFUSED), "confused".into(), text_color);
    let scale = if normalised {
        "shade: share of the true class (row %)".to_string()
    } else {
        format!("shade: count (largest cell {max_count})")
    };
    item(&mut x, None, scale, weak);
    item(&mut x, None, "click a cell to see its windows".into(), weak);

    clicked
}

fn painter_text_width(ui: &Ui, text: &str, font: &FontId) -> f32 {
    ui.painter().layout_no_wrap(text.to_string(), font.clone(), Color32::PLACEHOLDER).size().x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shade_is_the_row_share_or_the_share_of_the_largest_cell() {
        assert_eq!(shade(30, 120, 60, true), 0.25);
        assert_eq!(shade(30, 120, 60, false), 0.5);
        assert_eq!(shade(0, 0, 0, true), 0.0, "an empty row does not divide by zero");
        assert_eq!(shade(5, 10, 0, false), 0.0);
    }

    #[test]
    fn text_stays_readable_on_both_ends_of_the_ramps() {
        assert_eq!(text_on(Color32::from_gray(25)), Color32::from_gray(240));
        assert_eq!(text_on(Color32::from_rgb(0xCC, 0xEE, 0xCC)), Color32::from_gray(20));
        assert_eq!(mix(Color32::BLACK, Color32::WHITE, 0.5), Color32::from_gray(128));
    }
}
