//! `confusion_matrix.png`: the confusion matrix drawn for people — class names on both axes, each cell's count
//! and share of its true class, cells coloured by that row share with a colour bar, and a title with the model
//! and its headline numbers. Shapes are drawn with `plotters` into memory, text with `ab_glyph` (see `text.rs`),
//! and the result is encoded with `image` and written through `crate::output` (a failed write keeps the
//! earlier file).

use std::io::Write;
use std::path::Path;

use image::codecs::png::PngEncoder;

use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::Shift;
use plotters::prelude::*;

mod compare;
mod reliability;

pub use compare::{COMPARE_FIGURE_SIZE, CompareFigure};
pub use reliability::{RELIABILITY_FIGURE_SIZE, ReliabilityFigure};

use super::text::{Anchor, Direction, TextLook, Typesetter, Weight};
use super::{ConfusionMatrix, EvalError, EvaluationReport};
use crate::format::{percent, thousands};
use crate::output::{AtomicFile, OutputError};

/// Size of `confusion_matrix.png` in pixels.
pub const DEFAULT_FIGURE_SIZE: (u32, u32) = (1400, 1200);

/// Smallest and largest figure side accepted, pixels.
const MIN_SIDE: u32 = 300;
const MAX_SIDE: u32 = 8000;

/// What the figure shows.
#[derive(Debug, Clone)]
pub struct ConfusionFigure<'a> {
    pub matrix: &'a ConfusionMatrix,
    /// One name per row/column of `matrix`.
    pub classes: &'a [String],
    pub title: String,
    /// A line of headline numbers under the title.
    pub subtitle: String,
}

impl<'a> ConfusionFigure<'a> {
    /// The figure of an evaluation report: model name and version in the title; accuracy, macro-F1, kappa, the
    /// number of windows and the data file under it.
    pub fn from_report(report: &'a EvaluationReport) -> Self {
        let model = if report.model.version.is_empty() {
            report.model.name.clone()
        } else {
            format!("{} {}", report.model.name, report.model.version)
        };
        let kappa = report.cohen_kappa.map_or_else(|| "undefined".to_owned(), |k| format!("{k:.3}"));
        let data = Path::new(&report.data)
            .file_name()
            .map_or_else(|| report.data.clone(), |name| name.to_string_lossy().into_owned());
        let mut subtitle = format!(
            "accuracy {:.1}%   ·   macro-F1 {:.3}   ·   Cohen's κ {kappa}   ·   {} windows",
            report.accuracy * 100.0,
            report.macro_avg.f1,
            thousands(report.windows.used),
        );
        if !data.is_empty() {
            subtitle.push_str(&format!("   ·   {data}"));
        }
        Self {
            matrix: &report.confusion_matrix,
            classes: &report.classes,
            title: format!("Confusion matrix — {model}"),
            subtitle,
        }
    }

    /// Draws the figure into an RGB image of `size` (width, height) pixels.
    pub fn render(&self, size: (u32, u32)) -> Result<image::RgbImage, EvalError> {
        let (width, height) = size;
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(EvalError::Draw(format!(
                "figure size {width}×{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side"
            )));
        }
        let typesetter = Typesetter::new()?;
        render_figure(size, |root| self.draw(root, typesetter, size))
    }

    /// Draws the figure and saves it as a PNG file at `path`. A failed write leaves an earlier file as it was.
    pub fn write_png(&self, path: &Path, size: (u32, u32)) -> Result<(), EvalError> {
        let io_error = |e: OutputError| EvalError::Io { path: e.path, source: e.source };
        let mut file = AtomicFile::create(path).map_err(io_error)?;
        self.encode_png(&mut file, path, size)?;
        file.commit().map_err(io_error)
    }

    /// Draws the figure and encodes it as PNG into `writer`; `path` names the file in messages.
    pub(crate) fn encode_png<W: Write>(&self, writer: W, path: &Path, size: (u32, u32)) -> Result<(), EvalError> {
        encode_figure(&self.render(size)?, writer, path)
    }

    fn draw(&self, root: &Canvas<'_>, typesetter: Typesetter, size: (u32, u32)) -> Result<(), EvalError> {
        let pen = Pen { root, typesetter };
        let n = self.matrix.n_classes().min(self.classes.len());
        let labels: Vec<String> = self.classes.iter().take(n).map(|c| display_name(c)).collect();
        let layout = Layout::new(&pen, size, &labels)?;
        let s = layout.s;
        let centre_x = (size.0 / 2) as i32;

        pen.text(&self.title, (centre_x, layout.px(34.0)), 30.0 * s, Weight::Bold, INK, Anchor::Middle)?;
        let subtitle = pen.fit(&self.subtitle, 19.0 * s, Weight::Normal, f64::from(size.0) - 40.0 * s)?;
        pen.text(&subtitle, (centre_x, layout.px(74.0)), 19.0 * s, Weight::Normal, MUTED, Anchor::Middle)?;
        if n == 0 {
            let middle = (centre_x, (size.1 / 2) as i32);
            return pen.text("no classes", middle, 24.0 * s, Weight::Normal, MUTED, Anchor::Middle);
        }
        self.draw_cells(&pen, &layout, n)?;
        draw_row_labels(&pen, &layout, &labels)?;
        draw_column_labels(&pen, &layout, &labels)?;
        self.draw_window_counts(&pen, &layout, n)?;
        draw_colour_bar(&pen, &layout)
    }

    /// Cells coloured by row share, each with its count and row percentage when there is room.
    fn draw_cells(&self, pen: &Pen<'_, '_>, layout: &Layout, n: usize) -> Result<(), EvalError> {
        let cell = layout.cell;
        let shares = self.matrix.row_normalized();
        let gap = if cell >= 12.0 { 1.0 } else { 0.0 };
        let count_size = (cell * 0.25).clamp(7.0, 24.0);
        let share_size = (cell * 0.175).clamp(7.0, 17.0);
        for i in 0..n {
            for j in 0..n {
                let count = self.matrix.count(i, j);
                let share = shares.get(i).and_then(|row| row.get(j)).copied().unwrap_or(0.0);
                let fill = if count == 0 { EMPTY_CELL } else { blues(share) };
                let (x, y) = (layout.cell_x(j), layout.cell_y(i));
                pen.rect((x + gap, y + gap), (x + cell - gap, y + cell - gap), fill)?;
                if i == j {
                    // A thin frame marks the diagonal (the right answers) even where it is pale.
                    pen.frame((x + gap, y + gap), (x + cell - gap, y + cell - gap), DIAGONAL_FRAME)?;
                }
                let centre = ((x + cell / 2.0) as i32, (y + cell / 2.0) as i32);
                if count == 0 {
                    if cell >= 18.0 {
                        pen.text("0", centre, share_size, Weight::Normal, ZERO_INK, Anchor::Middle)?;
                    }
                    continue;
                }
                let ink = if share > 0.55 { WHITE } else { INK };
                let count_text = thousands(count);
                let size = pen.shrink_to_fit(&count_text, count_size, Weight::Bold, cell - 6.0)?;
                if cell >= 44.0 {
                    let count_at = (centre.0, (y + cell * 0.40) as i32);
                    let share_at = (centre.0, (y + cell * 0.70) as i32);
                    pen.text(&count_text, count_at, size, Weight::Bold, ink, Anchor::Middle)?;
                    pen.text(&percent(share), share_at, share_size, Weight::Normal, ink, Anchor::Middle)?;
                } else if cell >= 16.0 {
                    pen.text(&count_text, centre, size, Weight::Bold, ink, Anchor::Middle)?;
                }
            }
        }
        pen.frame((layout.x0, layout.y0), (layout.x0 + layout.grid, layout.y0 + layout.grid), GRID_FRAME)
    }

    /// Windows per true class, in a column right of the grid.
    fn draw_window_counts(&self, pen: &Pen<'_, '_>, layout: &Layout, n: usize) -> Result<(), EvalError> {
        let s = layout.s;
        let x = layout.counts_x() as i32;
        pen.text("windows", (x, (layout.y0 - 14.0 * s) as i32), 14.0 * s, Weight::Bold, MUTED, Anchor::Start)?;
        let size = (layout.cell * 0.3).min(16.0 * s).max(8.0);
        if layout.cell < 7.0 {
            return Ok(());
        }
        for (i, total) in self.matrix.true_totals().iter().enumerate().take(n) {
            let at = (x, (layout.cell_y(i) + layout.cell / 2.0) as i32);
            pen.text(&thousands(*total), at, size, Weight::Normal, MUTED, Anchor::Start)?;
        }
        Ok(())
    }
}

/// Where everything goes. Lengths are designed for 1400×1200 and scaled by `s` with the figure; the grid is
/// square and as large as the room left by the labels and the colour bar allows.
struct Layout {
    s: f64,
    label_size: f64,
    row_label_w: f64,
    bottom: f64,
    /// Top-left corner of the grid, the side of a cell and of the grid.
    x0: f64,
    y0: f64,
    cell: f64,
    grid: f64,
}

const AXIS_TITLE_W: f64 = 44.0;
const COUNTS_W: f64 = 78.0;
const BAR_GAP: f64 = 18.0;
const BAR_W: f64 = 24.0;
const TICKS_W: f64 = 54.0;
const BAR_TITLE_W: f64 = 34.0;
const TOP: f64 = 116.0;
const BOTTOM: f64 = 124.0;

impl Layout {
    /// The layout for these class labels. Column labels are first given room for up to three wrapped lines; when
    /// they do not fit that way they stand vertically, and the room below the grid grows to show more of them.
    fn new(pen: &Pen<'_, '_>, size: (u32, u32), labels: &[String]) -> Result<Self, EvalError> {
        let s = (f64::from(size.0) / 1400.0).min(f64::from(size.1) / 1200.0);
        let mut widest = 0.0f64;
        for label in labels {
            widest = widest.max(pen.width(label, 17.0 * s, Weight::Normal)?);
        }
        let layout = Self::with_bottom(size, labels.len(), widest, BOTTOM * s);
        if wrap_column_labels(pen, &layout, labels)?.is_some() {
            return Ok(layout);
        }
        let bottom = (widest + 60.0 * s).min(f64::from(size.1) * 0.25).max(BOTTOM * s);
        Ok(Self::with_bottom(size, labels.len(), widest, bottom))
    }

    fn with_bottom((width, height): (u32, u32), n: usize, widest_label: f64, bottom: f64) -> Self {
        let (w, h) = (f64::from(width), f64::from(height));
        let s = (w / 1400.0).min(h / 1200.0);
        let n = n.max(1) as f64;
        let label_size = 17.0 * s;
        let row_label_w = (widest_label + 14.0 * s).min(w * 0.24);
        let right_w = (COUNTS_W + BAR_GAP + BAR_W + TICKS_W + BAR_TITLE_W) * s;
        let top = TOP * s;
        let grid_avail_w = w - AXIS_TITLE_W * s - row_label_w - right_w - 24.0 * s;
        let grid_avail_h = h - top - bottom;
        let cell = (grid_avail_w.min(grid_avail_h) / n).floor().max(1.0);
        let grid = cell * n;
        let content_w = AXIS_TITLE_W * s + row_label_w + grid + right_w;
        Self {
            s,
            // Labels never grow taller than their row.
            label_size: label_size.min(cell * 0.8),
            row_label_w,
            bottom,
            x0: ((w - content_w) / 2.0).max(0.0) + AXIS_TITLE_W * s + row_label_w,
            y0: top + ((grid_avail_h - grid) / 2.0).max(0.0),
            cell,
            grid,
        }
    }

    /// Font size of the column labels.
    fn column_label_size(&self) -> f64 {
        self.label_size.min(16.0 * self.s)
    }

    /// Room below the grid for the column labels (the rest is for the axis title).
    fn column_label_room(&self) -> f64 {
        self.bottom - 48.0 * self.s
    }

    fn px(&self, x: f64) -> i32 {
        (x * self.s).round() as i32
    }

    fn cell_x(&self, j: usize) -> f64 {
        self.x0 + j as f64 * self.cell
    }

    fn cell_y(&self, i: usize) -> f64 {
        self.y0 + i as f64 * self.cell
    }

    fn counts_x(&self) -> f64 {
        self.x0 + self.grid + 12.0 * self.s
    }

    fn bar_x(&self) -> f64 {
        self.x0 + self.grid + (COUNTS_W + BAR_GAP) * self.s
    }
}

/// True classes left of the grid, right-aligned, and the "True class" axis title.
fn draw_row_labels(pen: &Pen<'_, '_>, layout: &Layout, labels: &[String]) -> Result<(), EvalError> {
    let s = layout.s;
    if layout.label_size >= 6.0 {
        for (i, label) in labels.iter().enumerate() {
            let label = pen.fit(label, layout.label_size, Weight::Normal, layout.row_label_w - 12.0 * s)?;
            let at = ((layout.x0 - 10.0 * s) as i32, (layout.cell_y(i) + layout.cell / 2.0) as i32);
            pen.text(&label, at, layout.label_size, Weight::Normal, INK, Anchor::End)?;
        }
    }
    let title_x = layout.x0 - layout.row_label_w - AXIS_TITLE_W * s / 2.0;
    let at = (title_x as i32, (layout.y0 + layout.grid / 2.0) as i32);
    pen.text_rotated("True class", at, 20.0 * s, Weight::Bold, INK, Anchor::Middle)
}

/// Predicted classes below the grid — wrapped on word breaks when every name fits its column that way, else
/// vertical and shortened in the middle — and the "Predicted class" axis title.
/// Every column label wrapped on word breaks into lines that fit its column, or `None` when one does not fit.
fn wrap_column_labels(
    pen: &Pen<'_, '_>,
    layout: &Layout,
    labels: &[String],
) -> Result<Option<Vec<Vec<String>>>, EvalError> {
    let size = layout.column_label_size();
    let max_lines = ((layout.column_label_room() / (size * 1.2)).floor() as usize).min(3);
    let mut wrapped = Vec::with_capacity(labels.len());
    for label in labels {
        match pen.wrap(label, size, layout.cell - 4.0 * layout.s, max_lines)? {
            Some(lines) => wrapped.push(lines),
            None => return Ok(None),
        }
    }
    Ok(Some(wrapped))
}

fn draw_column_labels(pen: &Pen<'_, '_>, layout: &Layout, labels: &[String]) -> Result<(), EvalError> {
    let s = layout.s;
    let below = layout.y0 + layout.grid;
    let room = layout.column_label_room();
    let size = layout.column_label_size();
    let line_h = size * 1.2;
    let labels_h = if let Some(wrapped) = wrap_column_labels(pen, layout, labels)? {
        for (j, lines) in wrapped.iter().enumerate() {
            let cx = (layout.cell_x(j) + layout.cell / 2.0) as i32;
            for (k, line) in lines.iter().enumerate() {
                let at = (cx, (below + 10.0 * s + line_h * (k as f64 + 0.5)) as i32);
                pen.text(line, at, size, Weight::Normal, INK, Anchor::Middle)?;
            }
        }
        let most_lines = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        10.0 * s + most_lines as f64 * line_h
    } else {
        if size >= 6.0 {
            for (j, label) in labels.iter().enumerate() {
                let cx = (layout.cell_x(j) + layout.cell / 2.0) as i32;
                let label = pen.fit(label, size, Weight::Normal, room)?;
                pen.text_rotated(&label, (cx, (below + 8.0 * s) as i32), size, Weight::Normal, INK, Anchor::End)?;
            }
        }
        8.0 * s + room
    };
    let at = ((layout.x0 + layout.grid / 2.0) as i32, (below + labels_h + 26.0 * s) as i32);
    pen.text("Predicted class", at, 20.0 * s, Weight::Bold, INK, Anchor::Middle)
}

/// The colour scale: a vertical Blues bar from 0 % (bottom) to 100 % (top) of the true class's windows.
fn draw_colour_bar(pen: &Pen<'_, '_>, layout: &Layout) -> Result<(), EvalError> {
    let s = layout.s;
    let (x, y0, grid) = (layout.bar_x(), layout.y0, layout.grid);
    let bar_w = BAR_W * s;
    let rows = grid.round().max(1.0) as i32;
    for k in 0..rows {
        let share = 1.0 - f64::from(k) / f64::from((rows - 1).max(1));
        let y = y0 + f64::from(k);
        pen.rect((x, y), (x + bar_w, y + 1.0), blues(share))?;
    }
    pen.frame((x, y0), (x + bar_w, y0 + grid), GRID_FRAME)?;
    for tick in 0..=4 {
        let share = f64::from(tick) / 4.0;
        let y = y0 + (1.0 - share) * grid;
        pen.rect((x + bar_w, y - 0.5), (x + bar_w + 6.0 * s, y + 0.5), MUTED)?;
        let at = ((x + bar_w + 10.0 * s) as i32, y as i32);
        pen.text(&format!("{:.0}%", share * 100.0), at, 15.0 * s, Weight::Normal, INK, Anchor::Start)?;
    }
    let at = ((x + bar_w + (TICKS_W + 10.0) * s) as i32, (y0 + grid / 2.0) as i32);
    pen.text_rotated("share of the true class's windows", at, 16.0 * s, Weight::Normal, MUTED, Anchor::Middle)
}

type Canvas<'b> = DrawingArea<BitMapBackend<'b, RGBPixel>, Shift>;

const INK: RGBColor = RGBColor(0x1b, 0x24, 0x30);
const MUTED: RGBColor = RGBColor(0x5a, 0x64, 0x70);
const ZERO_INK: RGBColor = RGBColor(0xb4, 0xbd, 0xc7);
const EMPTY_CELL: RGBColor = RGBColor(0xf6, 0xf8, 0xfa);
const GRID_FRAME: RGBColor = RGBColor(0x9a, 0xa5, 0xb1);
const DIAGONAL_FRAME: RGBColor = RGBColor(0x08, 0x30, 0x6b);

/// matplotlib's "Blues" colour map (its nine ColorBrewer anchors), linearly interpolated; `share` in [0, 1].
fn blues(share: f64) -> RGBColor {
    const ANCHORS: [(u8, u8, u8); 9] = [
        (0xf7, 0xfb, 0xff),
        (0xde, 0xeb, 0xf7),
        (0xc6, 0xdb, 0xef),
        (0x9e, 0xca, 0xe1),
        (0x6b, 0xae, 0xd6),
        (0x42, 0x92, 0xc6),
        (0x21, 0x71, 0xb5),
        (0x08, 0x51, 0x9c),
        (0x08, 0x30, 0x6b),
    ];
    let position = if share.is_finite() { share.clamp(0.0, 1.0) } else { 0.0 } * (ANCHORS.len() - 1) as f64;
    let lower = (position.floor() as usize).min(ANCHORS.len() - 2);
    let t = position - lower as f64;
    let (a, b) = (ANCHORS[lower], ANCHORS[lower + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A class name as people read it: underscores become spaces.
fn display_name(class: &str) -> String {
    class.replace('_', " ")
}

/// Draws a figure of `size` pixels on white with `draw`, into an RGB image (every figure of the report folder).
fn render_figure(
    size: (u32, u32),
    draw: impl FnOnce(&Canvas<'_>) -> Result<(), EvalError>,
) -> Result<image::RgbImage, EvalError> {
    let (width, height) = size;
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buffer, size).map_err(draw_error)?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    image::RgbImage::from_raw(width, height, buffer)
        .ok_or_else(|| EvalError::Draw("the drawing buffer does not match the figure size".to_owned()))
}

/// Encodes a figure as PNG into `writer`; `path` names the file in messages.
fn encode_figure<W: Write>(image: &image::RgbImage, writer: W, path: &Path) -> Result<(), EvalError> {
    image
        .write_with_encoder(PngEncoder::new(writer))
        .map_err(|source| EvalError::Image { path: path.to_owned(), source })
}

fn draw_error<E: std::fmt::Display>(error: E) -> EvalError {
    EvalError::Draw(error.to_string())
}

/// Small text and shape helpers over the drawing area.
struct Pen<'c, 'b> {
    root: &'c Canvas<'b>,
    typesetter: Typesetter,
}

impl Pen<'_, '_> {
    fn text(
        &self,
        text: &str,
        at: (i32, i32),
        size: f64,
        weight: Weight,
        color: RGBColor,
        anchor: Anchor,
    ) -> Result<(), EvalError> {
        let at = (f64::from(at.0), f64::from(at.1));
        let look = TextLook { size, weight, color, anchor, direction: Direction::Horizontal };
        self.typesetter.draw(self.root, text, at, look)
    }

    /// Text reading bottom to top; `anchor` is along the text (`End`: the text ends at `at` and runs downward).
    fn text_rotated(
        &self,
        text: &str,
        at: (i32, i32),
        size: f64,
        weight: Weight,
        color: RGBColor,
        anchor: Anchor,
    ) -> Result<(), EvalError> {
        let at = (f64::from(at.0), f64::from(at.1));
        let look = TextLook { size, weight, color, anchor, direction: Direction::Upward };
        self.typesetter.draw(self.root, text, at, look)
    }

    fn width(&self, text: &str, size: f64, weight: Weight) -> Result<f64, EvalError> {
        Ok(self.typesetter.width(text, size, weight))
    }

    /// `text`, shortened with an ellipsis in the middle (so that both a shared prefix and the distinguishing end
    /// stay visible) until it is at most `max_width` wide.
    fn fit(&self, text: &str, size: f64, weight: Weight, max_width: f64) -> Result<String, EvalError> {
        if self.width(text, size, weight)? <= max_width {
            return Ok(text.to_owned());
        }
        let chars: Vec<char> = text.chars().collect();
        for keep in (1..chars.len()).rev() {
            let tail = keep / 2;
            let head = keep - tail;
            let candidate: String = chars
                .iter()
                .take(head)
                .chain(std::iter::once(&'…'))
                .chain(chars.iter().skip(chars.len() - tail))
                .collect();
            if self.width(&candidate, size, weight)? <= max_width {
                return Ok(candidate);
            }
        }
        Ok(String::new())
    }

    /// The largest font size up to `size` at which `text` is at most `max_width` wide (not below 6 px).
    fn shrink_to_fit(&self, text: &str, size: f64, weight: Weight, max_width: f64) -> Result<f64, EvalError> {
        let width = self.width(text, size, weight)?;
        if width <= max_width || width <= 0.0 {
            return Ok(size);
        }
        Ok((size * max_width / width).max(6.0))
    }

    /// Greedy word wrap of `text` into at most `max_lines` lines no wider than `max_width`; `None` when a word does
    /// not fit on a line or more lines would be needed.
    fn wrap(&self, text: &str, size: f64, max_width: f64, max_lines: usize) -> Result<Option<Vec<String>>, EvalError> {
        let mut lines: Vec<String> = Vec::new();
        for word in text.split_whitespace() {
            if self.width(word, size, Weight::Normal)? > max_width {
                return Ok(None);
            }
            if let Some(last) = lines.last_mut() {
                let joined = format!("{last} {word}");
                if self.width(&joined, size, Weight::Normal)? <= max_width {
                    *last = joined;
                    continue;
                }
            }
            lines.push(word.to_owned());
        }
        Ok(if lines.len() <= max_lines { Some(lines) } else { None })
    }

    fn rect(&self, from: (f64, f64), to: (f64, f64), color: RGBColor) -> Result<(), EvalError> {
        let corners = [(from.0.round() as i32, from.1.round() as i32), (to.0.round() as i32, to.1.round() as i32)];
        self.root.draw(&Rectangle::new(corners, color.filled())).map_err(draw_error)
    }

    fn frame(&self, from: (f64, f64), to: (f64, f64), color: RGBColor) -> Result<(), EvalError> {
        let corners = [(from.0.round() as i32, from.1.round() as i32), (to.0.round() as i32, to.1.round() as i32)];
        self.root.draw(&Rectangle::new(corners, color.stroke_width(1))).map_err(draw_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends_are_blues_ends() {
        assert_eq!(blues(0.0), RGBColor(0xf7, 0xfb, 0xff));
        assert_eq!(blues(1.0), RGBColor(0x08, 0x30, 0x6b));
        assert_eq!(blues(f64::NAN), RGBColor(0xf7, 0xfb, 0xff));
    }
}
