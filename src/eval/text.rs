//! Text for the report figures, rasterised with `ab_glyph` from the embedded DejaVu Sans and blended onto a
//! plotters drawing area. (plotters 0.3.7's own `ab_glyph` text drops each glyph's side bearing, which leaves
//! visible gaps inside words such as "foreh ead"; here glyphs keep their exact sub-pixel positions and kerning.)

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::prelude::*;

use super::EvalError;

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Normal,
    Bold,
}

/// Where the anchor point sits along the text: its start, its middle or its end. Across the text, the anchor is
/// always the middle of the line box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn fraction(self) -> f32 {
        match self {
            Anchor::Start => 0.0,
            Anchor::Middle => 0.5,
            Anchor::End => 1.0,
        }
    }
}

/// Which way the text runs on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Left to right.
    Horizontal,
    /// Bottom to top (rotated a quarter turn counter-clockwise), as for a y-axis title.
    Upward,
}

/// How a piece of text looks and sits: size in pixels (the font's ascent-to-descent height), face, colour,
/// anchor along the text and direction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextLook {
    pub size: f64,
    pub weight: Weight,
    pub color: RGBColor,
    pub anchor: Anchor,
    pub direction: Direction,
}

struct Faces {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn faces() -> Result<&'static Faces, EvalError> {
    static FACES: OnceLock<Result<Faces, String>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(DEJAVU_SANS)
                .map_err(|e| format!("the embedded DejaVu Sans font cannot be read: {e}"))?;
            let bold = FontRef::try_from_slice(DEJAVU_SANS_BOLD)
                .map_err(|e| format!("the embedded DejaVu Sans Bold font cannot be read: {e}"))?;
            Ok(Faces { regular, bold })
        })
        .as_ref()
        .map_err(|message| EvalError::Draw(message.clone()))
}

/// Lays out and draws single lines of text.
pub(crate) struct Typesetter {
    faces: &'static Faces,
}

/// A laid-out line: glyph ids with their pen positions (pixels from the line start), and its width.
struct Line {
    glyphs: Vec<(GlyphId, f32)>,
    width: f32,
}

impl Typesetter {
    pub(crate) fn new() -> Result<Self, EvalError> {
        Ok(Self { faces: faces()? })
    }

    fn face(&self, weight: Weight) -> &FontRef<'static> {
        match weight {
            Weight::Normal => &self.faces.regular,
            Weight::Bold => &self.faces.bold,
        }
    }

    fn layout(&self, text: &str, size: f32, weight: Weight) -> Line {
        let font = self.face(weight).as_scaled(PxScale::from(size));
        let mut caret = 0.0f32;
        let mut previous: Option<GlyphId> = None;
        let mut glyphs = Vec::with_capacity(text.len());
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(prev) = previous {
                caret += font.kern(prev, id);
            }
            glyphs.push((id, caret));
            caret += font.h_advance(id);
            previous = Some(id);
        }
        Line { glyphs, width: caret }
    }

    /// Width in pixels of `text` at `size` pixels (the font's ascent-to-descent height).
    pub(crate) fn width(&self, text: &str, size: f64, weight: Weight) -> f64 {
        f64::from(self.layout(text, size as f32, weight).width)
    }

    /// Draws `text` with its anchor at `at`, blending glyph coverage into the drawing area.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        text: &str,
        at: (f64, f64),
        look: TextLook,
    ) -> Result<(), EvalError> {
        let TextLook { size, weight, color, anchor, direction } = look;
        let size = size as f32;
        if size <= 0.0 || !size.is_finite() {
            return Ok(());
        }
        let scale = PxScale::from(size);
        let font = self.face(weight).as_scaled(scale);
        let line = self.layout(text, size, weight);
        // Text coordinates: u along the line from its start, v down from the middle of the line box.
        let u0 = -line.width * anchor.fraction();
        let baseline_v = (font.ascent() + font.descent()) / 2.0;
        let (ax, ay) = (at.0 as f32, at.1 as f32);
        for (id, offset) in line.glyphs {
            let glyph = id.with_scale_and_position(scale, point(u0 + offset, baseline_v));
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let mut failure = None;
            outline.draw(|x, y, coverage| {
                if failure.is_some() || coverage <= 0.0 {
                    return;
                }
                let u = bounds.min.x + x as f32;
                let v = bounds.min.y + y as f32;
                let (px, py) = match direction {
                    Direction::Horizontal => (ax + u, ay + v),
                    Direction::Upward => (ax + v, ay - u),
                };
                let pixel = (px.round() as i32, py.round() as i32);
                if let Err(e) = area.draw_pixel(pixel, &color.mix(f64::from(coverage.min(1.0)))) {
                    failure = Some(e.to_string());
                }
            });
            if let Some(message) = failure {
                return Err(EvalError::Draw(message));
            }
        }
        Ok(())
    }
}
