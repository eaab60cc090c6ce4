//! `compare.png`: two models' confusion matrices side by side (each drawn exactly as `confusion_matrix.png`), the
//! per-class F1 deltas as bars under them, and McNemar's 2×2 table with the verdict.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;

use super::super::compare::{Comparison, McNemarMethod, format_p};
use super::super::{EvalError, EvaluationReport};
use super::{
    Anchor, ConfusionFigure, GRID_FRAME, INK, MUTED, Pen, Typesetter, Weight, display_name, encode_figure,
    render_figure,
};
use crate::format::thousands;

/// Size of `compare.png` in pixels.
pub const COMPARE_FIGURE_SIZE: (u32, u32) = (2400, 1560);

/// Height of the title band, of each matrix and of the band under them.
const TITLE_H: u32 = 110;
const MATRIX_H: u32 = 1000;

const BETTER: RGBColor = RGBColor(0x2e, 0x8b, 0x57);
const WORSE: RGBColor = RGBColor(0xc8, 0x3c, 0x32);

/// The comparison figure.
pub struct CompareFigure<'a> {
    pub comparison: &'a Comparison,
}

fn side_title(side: &str, report: &EvaluationReport) -> String {
    if report.model.version.is_empty() {
        format!("{side}: {}", report.model.name)
    } else {
        format!("{side}: {} {}", report.model.name, report.model.version)
    }
}

impl CompareFigure<'_> {
    /// Draws the figure into an RGB image of [`COMPARE_FIGURE_SIZE`].
    pub fn render(&self) -> Result<image::RgbImage, EvalError> {
        render_figure(COMPARE_FIGURE_SIZE, |root| self.draw(root))
    }

    /// Draws the figure and encodes it as PNG into `writer`; `path` names the file in messages.
    pub fn encode_png<W: Write>(&self, writer: W, path: &Path) -> Result<(), EvalError> {
        encode_figure(&self.render()?, writer, path)
    }

    fn draw(&self, root: &super::Canvas<'_>) -> Result<(), EvalError> {
        let c = self.comparison;
        let (width, height) = COMPARE_FIGURE_SIZE;
        let pen = Pen { root, typesetter: Typesetter::new()? };
        let centre = (width / 2) as i32;
        let data =
            Path::new(&c.data).file_name().map_or_else(|| c.data.clone(), |name| name.to_string_lossy().into_owned());
        let title = format!("{}   vs   {}", side_title("A", &c.a), side_title("B", &c.b));
        let title = pen.fit(&title, 32.0, Weight::Bold, f64::from(width) - 60.0)?;
        pen.text(&title, (centre, 36), 32.0, Weight::Bold, INK, Anchor::Middle)?;
        let verdict_color = match c.verdict.better.as_deref() {
            Some("B") => BETTER,
            Some(_) => WORSE,
            None => INK,
        };
        let line = format!("{}   ·   {} windows of {data}", c.verdict.text, thousands(c.windows));
        pen.text(&line, (centre, 82), 22.0, Weight::Bold, verdict_color, Anchor::Middle)?;

        let half = width / 2;
        for (k, (side, report)) in [("A", &c.a), ("B", &c.b)].into_iter().enumerate() {
            let x = half * k as u32;
            let area = root.clone().shrink((x, TITLE_H), (half, MATRIX_H));
            let mut figure = ConfusionFigure::from_report(report);
            figure.title = side_title(side, report);
            figure.draw(&area, Typesetter::new()?, (half, MATRIX_H))?;
        }
        pen.rect(
            (f64::from(half) - 1.0, f64::from(TITLE_H) + 20.0),
            (f64::from(half) + 1.0, f64::from(TITLE_H + MATRIX_H) - 20.0),
            GRID_FRAME,
        )?;

        let band_top = f64::from(TITLE_H + MATRIX_H);
        let band_h = f64::from(height) - band_top;
        let box_w = 700.0;
        self.draw_f1_deltas(&pen, (40.0, band_top + 20.0), (f64::from(width) - box_w - 120.0, band_h - 40.0))?;
        self.draw_mcnemar(&pen, (f64::from(width) - box_w - 40.0, band_top + 40.0), (box_w, band_h - 80.0))
    }

    /// Bars of `F1(B) − F1(A)` per class around a zero line, with the values and the supports.
    fn draw_f1_deltas(&self, pen: &Pen<'_, '_>, at: (f64, f64), size: (f64, f64)) -> Result<(), EvalError> {
        let c = self.comparison;
        let (x0, y0) = at;
        let (w, h) = size;
        pen.text("Per-class F1: B − A", (x0 as i32, (y0 + 14.0) as i32), 22.0, Weight::Bold, INK, Anchor::Start)?;
        let legend = "green: B higher · red: A higher · under each class its support (windows)";
        pen.text(legend, ((x0 + w) as i32, (y0 + 14.0) as i32), 16.0, Weight::Normal, MUTED, Anchor::End)?;
        let n = c.per_class.len().max(1);
        let plot_top = y0 + 56.0;
        let labels_h = 70.0;
        let plot_h = h - 56.0 - labels_h;
        // The zero line sits where the largest gains and losses both fit (in the middle when there are none).
        let gain = c.per_class.iter().map(|d| d.delta).fold(0.0f64, f64::max);
        let loss = c.per_class.iter().map(|d| -d.delta).fold(0.0f64, f64::max);
        let span = (gain + loss).max(0.05);
        let room = plot_h - 44.0;
        let zero = if gain + loss > 0.0 { plot_top + 22.0 + room * gain / span } else { plot_top + plot_h / 2.0 };
        let scale = room / span;
        let slot = w / n as f64;
        pen.rect((x0, zero - 0.5), (x0 + w, zero + 0.5), MUTED)?;
        for (i, d) in c.per_class.iter().enumerate() {
            let cx = x0 + slot * (i as f64 + 0.5);
            let bar_w = (slot * 0.6).min(70.0);
            let top = zero - d.delta.max(0.0) * scale;
            let bottom = zero - d.delta.min(0.0) * scale;
            let color = if d.delta >= 0.0 { BETTER } else { WORSE };
            if bottom - top >= 1.0 {
                pen.rect((cx - bar_w / 2.0, top), (cx + bar_w / 2.0, bottom), color)?;
            }
            let value = format!("{:+.3}", d.delta);
            let value_y = if d.delta >= 0.0 { top - 12.0 } else { bottom + 12.0 };
            pen.text(&value, (cx as i32, value_y as i32), 15.0, Weight::Bold, INK, Anchor::Middle)?;
            let name = pen.fit(&display_name(&d.class), 15.0, Weight::Normal, slot - 6.0)?;
            let label_y = plot_top + plot_h + 16.0;
            pen.text(&name, (cx as i32, label_y as i32), 15.0, Weight::Normal, INK, Anchor::Middle)?;
            let support = format!("n = {}", thousands(d.support));
            pen.text(&support, (cx as i32, (label_y + 22.0) as i32), 13.0, Weight::Normal, MUTED, Anchor::Middle)?;
        }
        Ok(())
    }

    /// McNemar's 2×2 table of paired correctness, both p-values, and which one decides.
    fn draw_mcnemar(&self, pen: &Pen<'_, '_>, at: (f64, f64), size: (f64, f64)) -> Result<(), EvalError> {
        let m = &self.comparison.mcnemar;
        let (x0, y0) = at;
        let (w, _) = size;
        pen.text("McNemar's test (paired windows)", (x0 as i32, y0 as i32), 22.0, Weight::Bold, INK, Anchor::Start)?;
        let cell_w = 190.0;
        let cell_h = 56.0;
        let gx = x0 + 200.0;
        let gy = y0 + 56.0;
        pen.text(
            "B right",
            ((gx + cell_w / 2.0) as i32, (gy - 14.0) as i32),
            16.0,
            Weight::Bold,
            MUTED,
            Anchor::Middle,
        )?;
        let b_wrong_x = (gx + cell_w * 1.5) as i32;
        pen.text("B wrong", (b_wrong_x, (gy - 14.0) as i32), 16.0, Weight::Bold, MUTED, Anchor::Middle)?;
        let rows = [("A right", m.both_right, m.only_a_right), ("A wrong", m.only_b_right, m.both_wrong)];
        for (r, (name, left, right)) in rows.into_iter().enumerate() {
            let y = gy + cell_h * r as f64;
            pen.text(name, ((gx - 14.0) as i32, (y + cell_h / 2.0) as i32), 16.0, Weight::Bold, MUTED, Anchor::End)?;
            for (k, count) in [left, right].into_iter().enumerate() {
                let x = gx + cell_w * k as f64;
                let discordant = r != k;
                if discordant {
                    pen.rect((x + 1.0, y + 1.0), (x + cell_w - 1.0, y + cell_h - 1.0), RGBColor(0xfd, 0xf1, 0xd6))?;
                }
                pen.frame((x, y), (x + cell_w, y + cell_h), GRID_FRAME)?;
                let at = ((x + cell_w / 2.0) as i32, (y + cell_h / 2.0) as i32);
                pen.text(&thousands(count), at, 22.0, Weight::Bold, INK, Anchor::Middle)?;
            }
        }
        let mut y = gy + 2.0 * cell_h + 34.0;
        let chi2 = match (m.chi2_statistic, m.chi2_p) {
            (Some(s), Some(p)) => format!("χ² = {s:.3} (continuity-corrected), p = {}", format_p(p)),
            _ => "χ²: undefined (no discordant window)".to_owned(),
        };
        let primary = match m.primary {
            McNemarMethod::Exact => "exact",
            McNemarMethod::ChiSquare => "chi-square",
        };
        let lines = [
            format!("discordant windows b + c = {}", thousands(m.discordant)),
            format!("exact binomial p = {}", format_p(m.exact_p)),
            chi2,
            format!("primary: {primary} (exact when b + c < 25)"),
        ];
        for line in lines {
            let line = pen.fit(&line, 17.0, Weight::Normal, w)?;
            pen.text(&line, (x0 as i32, y as i32), 17.0, Weight::Normal, INK, Anchor::Start)?;
            y += 28.0;
        }
        Ok(())
    }
}
