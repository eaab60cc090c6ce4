//! The card's StandardScaler: model input is `(x - mean) / scale` per channel (docs/FORMATS.md §2), written `[t][c]` (NTC).
//! Transposing to the card's `input_layout` is the engine's job.

use super::recording::{Recording, Window};
use crate::model::ModelCard;

/// A window that cannot be scaled as asked: these are mistakes of the caller, reported instead of panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("the scaler has {scaler} channels but the data has {data}")]
    Channels { scaler: usize, data: usize },
    #[error("the output buffer holds {found} values but {rows} rows x {channels} channels need {needed}")]
    OutputLength { found: usize, needed: usize, rows: usize, channels: usize },
    #[error("window rows {start}..{end} are outside the recording's {len} rows")]
    OutOfRange { start: usize, end: usize, len: usize },
    #[error("{found} raw values are not whole rows of {channels} channels")]
    RaggedRows { found: usize, channels: usize },
}

/// Per-channel standardisation taken from a model card.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Scaler {
    /// The card's scaler (the card has been validated: one positive finite scale and one finite mean per channel).
    pub fn from_card(card: &ModelCard) -> Scaler {
        Scaler { mean: card.scaler.mean.clone(), scale: card.scaler.scale.clone() }
    }

    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// One standardised value, computed in `f64` as scikit-learn does, then narrowed to `f32`.
    #[inline]
    fn apply(x: f32, mean: f64, scale: f64) -> f32 {
        ((f64::from(x) - mean) / scale) as f32
    }

    /// Writes window `w` of `rec` into `out` as `[t][c]` scaled values; `out.len()` must be `rows x channels`.
    pub fn fill(&self, rec: &Recording, w: &Window, out: &mut [f32]) -> Result<(), ScaleError> {
        let channels = self.channels();
        if rec.channels.len() != channels {
            return Err(ScaleError::Channels { scaler: channels, data: rec.channels.len() });
        }
        let rows = w.end.saturating_sub(w.start);
        let needed = rows * channels;
        if out.len() != needed {
            return Err(ScaleError::OutputLength { found: out.len(), needed, rows, channels });
        }
        for (c, ((column, &mean), &scale)) in rec.channels.iter().zip(&self.mean).zip(&self.scale).enumerate() {
            let values = column.get(w.start..w.end).ok_or(ScaleError::OutOfRange {
                start: w.start,
                end: w.end,
                len: column.len(),
            })?;
            for (slot, &x) in out.iter_mut().skip(c).step_by(channels).zip(values) {
                *slot = Self::apply(x, mean, scale);
            }
        }
        Ok(())
    }

    /// The inverse: standardised rows (`[t][c]`) back to raw values, `x * scale + mean` (in `f64`, narrowed to
    /// `f32`), into `out` of the same length.
    pub fn unscale_rows(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ScaleError> {
        self.map_rows(rows, out, |x, mean, scale| (f64::from(x) * scale + mean) as f32)
    }

    /// Scales raw rows (`[t][c]`, as a `StreamWindow` holds them) into `out` of the same length.
    pub fn fill_rows(&self, rows: &[f32], out: &mut [f32]) -> Result<(), ScaleError> {
        self.map_rows(rows, out, Self::apply)
    }

    /// `f(x, mean, scale)` for every value of `rows` (`[t][c]`) into `out` of the same length, after checking
    /// that both are whole rows of this scaler's channels.
    fn map_rows(&self, rows: &[f32], out: &mut [f32], f: impl Fn(f32, f64, f64) -> f32) -> Result<(), ScaleError> {
        let channels = self.channels();
        if channels == 0 || !rows.len().is_multiple_of(channels) {
            return Err(ScaleError::RaggedRows { found: rows.len(), channels });
        }
        if out.len() != rows.len() {
            let n = rows.len() / channels;
            return Err(ScaleError::OutputLength { found: out.len(), needed: rows.len(), rows: n, channels });
        }
        for (row_in, row_out) in rows.chunks_exact(channels).zip(out.chunks_exact_mut(channels)) {
            for (((slot, &x), &mean), &scale) in row_out.iter_mut().zip(row_in).zip(&self.mean).zip(&self.scale) {
                *slot = f(x, mean, scale);
            }
        }
        Ok(())
    }
}
