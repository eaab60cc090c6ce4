//! `reliability.png`: the top-label reliability diagram of an evaluation — per confidence bin, the share of
//! windows the model got right against the diagonal of perfect calibration, the gap shaded (above the bar: the
//! model was more confident than right), the windows per bin under it, and the calibration numbers in the title.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;

use super::super::EvalError;
use super::super::calibration::CalibrationReport;
use super::{Anchor, GRID_FRAME, INK, MUTED, Pen, Typesetter, Weight, draw_error, encode_figure, render_figure};
use crate::format::thousands;

/// Size of `reliability.png` in pixels.
pub const RELIABILITY_FIGURE_SIZE: (u32, u32) = (1200, 1100);

const BAR: RGBColor = RGBColor(0x21, 0x71, 0xb5);
const OVER: RGBColor = RGBColor(0xf4, 0xb6, 0xa8);
const UNDER: RGBColor = RGBColor(0xb7, 0xdf, 0xc3);
const DIAGONAL: RGBColor = RGBColor(0x1b, 0x24, 0x30);
const COUNT_BAR: RGBColor = RGBColor(0x9e, 0xca, 0xe1);

/// The figure of one evaluation's calibration.
pub struct ReliabilityFigure<'a> {
    pub calibration: &'a CalibrationReport,
    /// The model, as the title names it.
    pub model: String,
}

impl ReliabilityFigure<'_> {
    /// Draws the figure into an RGB image of [`RELIABILITY_FIGURE_SIZE`].
    pub fn render(&self) -> Result<image::RgbImage, EvalError> {
        render_figure(RELIABILITY_FIGURE_SIZE, |root| self.draw(root))
    }

    /// Draws the figure and encodes it as PNG into `writer`; `path` names the file in messages.
    pub fn encode_png<W: Write>(&self, writer: W, path: &Path) -> Result<(), EvalError> {
        encode_figure(&self.render()?, writer, path)
    }

    fn draw(&self, root: &super::Canvas<'_>) -> Result<(), EvalError> {
        let c = self.calibration;
        let (width, _) = RELIABILITY_FIGURE_SIZE;
        let pen = Pen { root, typesetter: Typesetter::new()? };
        let centre = (width / 2) as i32;
        let title = pen.fit(&format!("Reliability — {}", self.model), 30.0, Weight::Bold, f64::from(width) - 60.0)?;
        pen.text(&title, (centre, 36), 30.0, Weight::Bold, INK, Anchor::Middle)?;
        let data =
            Path::new(&c.data).file_name().map_or_else(|| c.data.clone(), |name| name.to_string_lossy().into_owned());
        let numbers = format!(
            "ECE {:.3} (equal-mass {:.3})   ·   MCE {:.3}   ·   Brier {:.3}   ·   log loss {:.3}",
            c.ece, c.ece_equal_mass, c.mce, c.brier, c.log_loss
        );
        pen.text(&numbers, (centre, 76), 19.0, Weight::Normal, INK, Anchor::Middle)?;
        let temperature =
            if c.temperature == 1.0 { String::new() } else { format!("   ·   T = {:.3}", c.temperature) };
        let line = format!(
            "mean confidence {:.1}%, accuracy {:.1}%   ·   {} windows of {data}{temperature}",
            c.mean_confidence * 100.0,
            c.accuracy * 100.0,
            thousands(c.windows)
        );
        let line = pen.fit(&line, 17.0, Weight::Normal, f64::from(width) - 60.0)?;
        pen.text(&line, (centre, 106), 17.0, Weight::Normal, MUTED, Anchor::Middle)?;

        // The diagram: x = confidence, y = accuracy, both 0..1.
        let (x0, y0, side) = (150.0, 150.0, 680.0);
        let x = |v: f64| x0 + v.clamp(0.0, 1.0) * side;
        let y = |v: f64| y0 + side - v.clamp(0.0, 1.0) * side;
        pen.frame((x0, y0), (x0 + side, y0 + side), GRID_FRAME)?;
        for tick in 0..=10 {
            let v = f64::from(tick) / 10.0;
            let label = format!("{v:.1}");
            pen.text(&label, ((x(v)) as i32, (y0 + side + 22.0) as i32), 15.0, Weight::Normal, MUTED, Anchor::Middle)?;
            pen.text(&label, ((x0 - 10.0) as i32, y(v) as i32), 15.0, Weight::Normal, MUTED, Anchor::End)?;
            if tick > 0 && tick < 10 {
                pen.rect((x(v), y0), (x(v) + 0.5, y0 + side), RGBColor(0xee, 0xf1, 0xf4))?;
                pen.rect((x0, y(v)), (x0 + side, y(v) + 0.5), RGBColor(0xee, 0xf1, 0xf4))?;
            }
        }
        for bin in &c.reliability {
            let (left, right) = (x(bin.lower) + 2.0, x(bin.upper) - 2.0);
            pen.rect((left, y(bin.accuracy)), (right, y(0.0)), BAR)?;
            let (from, to, shade) = if bin.mean_confidence > bin.accuracy {
                (bin.mean_confidence, bin.accuracy, OVER)
            } else {
                (bin.accuracy, bin.mean_confidence, UNDER)
            };
            if (from - to) * side >= 1.0 {
                pen.rect((left, y(from)), (right, y(to)), shade)?;
            }
            // The bin's mean confidence against its accuracy.
            let (px, py) = (x(bin.mean_confidence), y(bin.accuracy));
            root.draw(&Circle::new((px as i32, py as i32), 6, INK.filled())).map_err(draw_error)?;
        }
        root.draw(&PathElement::new(
            vec![(x(0.0) as i32, y(0.0) as i32), (x(1.0) as i32, y(1.0) as i32)],
            DIAGONAL.stroke_width(2),
        ))
        .map_err(draw_error)?;
        pen.text(
            "confidence (the predicted class' probability)",
            (x(0.5) as i32, (y0 + side + 54.0) as i32),
            19.0,
            Weight::Bold,
            INK,
            Anchor::Middle,
        )?;
        pen.text_rotated(
            "share of windows right",
            ((x0 - 62.0) as i32, y(0.5) as i32),
            19.0,
            Weight::Bold,
            INK,
            Anchor::Middle,
        )?;

        // The legend, right of the diagram.
        let lx = x0 + side + 30.0;
        let mut ly = y0 + 10.0;
        for (color, text) in [(BAR, "accuracy in the bin"), (OVER, "overconfident gap"), (UNDER, "underconfident gap")]
        {
            pen.rect((lx, ly), (lx + 22.0, ly + 22.0), color)?;
            pen.text(text, ((lx + 30.0) as i32, (ly + 11.0) as i32), 15.0, Weight::Normal, INK, Anchor::Start)?;
            ly += 34.0;
        }
        pen.text("● mean confidence", (lx as i32, (ly + 11.0) as i32), 15.0, Weight::Normal, INK, Anchor::Start)?;
        pen.text("— perfect calibration", (lx as i32, (ly + 45.0) as i32), 15.0, Weight::Normal, INK, Anchor::Start)?;

        // Windows per bin, under the diagram, on a log scale: a good model puts most windows in the top bin, and
        // the few elsewhere must stay visible.
        let hy = y0 + side + 100.0;
        let hh = 130.0;
        let most = c.reliability.iter().map(|b| b.count).max().unwrap_or(0).max(1);
        let scale = |count: u64| (1.0 + count as f64).log10() / (1.0 + most as f64).log10();
        pen.text(
            "windows per bin",
            ((x0 - 10.0) as i32, (hy + hh / 2.0 - 10.0) as i32),
            15.0,
            Weight::Bold,
            MUTED,
            Anchor::End,
        )?;
        pen.text(
            "(log scale)",
            ((x0 - 10.0) as i32, (hy + hh / 2.0 + 10.0) as i32),
            13.0,
            Weight::Normal,
            MUTED,
            Anchor::End,
        )?;
        pen.rect((x0, hy + hh), (x0 + side, hy + hh + 1.0), GRID_FRAME)?;
        for bin in &c.reliability {
            let (left, right) = (x(bin.lower) + 2.0, x(bin.upper) - 2.0);
            let top = hy + hh - scale(bin.count) * (hh - 24.0);
            pen.rect((left, top), (right, hy + hh), COUNT_BAR)?;
            let label = thousands(bin.count);
            let size = pen.shrink_to_fit(&label, 13.0, Weight::Normal, right - left)?;
            pen.text(
                &label,
                (((left + right) / 2.0) as i32, (top - 10.0) as i32),
                size,
                Weight::Normal,
                MUTED,
                Anchor::Middle,
            )?;
        }
        Ok(())
    }
}
