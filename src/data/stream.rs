//! Windowing for live sources: samples arrive one at a time; once `window` of them are buffered a window is emitted,
//! then one every `step` samples. A timestamp gap (or a step back in time) or a non-finite sample starts over, as a
//! segment break does for files (docs/FORMATS.md §3). The buffer is a fixed-size ring: no sample is ever shifted.

use std::collections::VecDeque;

use super::load::{GAP_PERIODS, IGNORED_LABEL};
use super::window::majority_label;
use crate::model::ModelCard;

/// A sample that does not fit the windower.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("a live sample has {found} channel values but the model expects {expected}")]
    ChannelCount { expected: usize, found: usize },
}

/// A window cut from a live stream. `rows` holds `window` rows of raw (unscaled) values, `[t][c]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamWindow<'a> {
    /// Number of the window's first sample among all samples pushed (0-based).
    pub first_sample: u64,
    pub t_start: f64,
    /// Time of the window's last sample.
    pub t_end: f64,
    pub rows: &'a [f32],
    /// Majority true label when the source carries labels (ties to the smallest class index).
    pub label: Option<usize>,
}

/// Why the stream started over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamBreaks {
    /// Steps larger than 2.5 sample periods.
    pub gaps: u64,
    /// Steps back in time.
    pub backwards: u64,
    /// Samples with a NaN or infinite value (dropped).
    pub non_finite: u64,
}

/// The live windower. Push samples with `push`; it returns a window when one is due.
#[derive(Debug, Clone)]
pub struct StreamWindower {
    window: usize,
    step: usize,
    channels: usize,
    n_classes: usize,
    max_step_s: f64,
    /// Raw values, `channels` per sample, oldest first; at most `window` samples.
    values: VecDeque<f32>,
    times: VecDeque<f64>,
    labels: VecDeque<u16>,
    /// Samples since the last emitted window (or since the start of the run before the first one).
    since_emit: usize,
    /// Whether the current run has emitted its first window.
    emitted_in_run: bool,
    samples_pushed: u64,
    windows_emitted: u64,
    breaks: StreamBreaks,
    counts: Vec<u32>,
}

impl StreamWindower {
    /// A windower with the card's window, step, channel count and sample rate.
    pub fn new(card: &ModelCard) -> StreamWindower {
        let window = card.window.max(1);
        let channels = card.channels.len();
        StreamWindower {
            window,
            step: card.step().max(1),
            channels,
            n_classes: card.classes.len(),
            max_step_s: GAP_PERIODS / card.sample_rate_hz,
            values: VecDeque::with_capacity(window * channels),
            times: VecDeque::with_capacity(window),
            labels: VecDeque::with_capacity(window),
            since_emit: 0,
            emitted_in_run: false,
            samples_pushed: 0,
            windows_emitted: 0,
            breaks: StreamBreaks::default(),
            counts: Vec::new(),
        }
    }

    /// Forgets the buffered samples (after a gap, or when the source seeks).
    pub fn reset(&mut self) {
        self.values.clear();
        self.times.clear();
        self.labels.clear();
        self.since_emit = 0;
        self.emitted_in_run = false;
    }

    /// Adds one sample (`values` in the card's channel order, raw units as loaded) with its time in seconds and its
    /// true label (a card class index) when the source knows it. Returns the window that this sample completes.
    pub fn push(
        &mut self,
        t: f64,
        values: &[f32],
        label: Option<u16>,
    ) -> Result<Option<StreamWindow<'_>>, StreamError> {
        if values.len() != self.channels {
            return Err(StreamError::ChannelCount { expected: self.channels, found: values.len() });
        }
        let sample = self.samples_pushed;
        self.samples_pushed += 1;
        if !t.is_finite() || values.iter().any(|v| !v.is_finite()) {
            self.breaks.non_finite += 1;
            self.reset();
            return Ok(None);
        }
        if let Some(&last) = self.times.back() {
            let dt = t - last;
            if dt < 0.0 {
                self.breaks.backwards += 1;
                self.reset();
            } else if dt > self.max_step_s {
                self.breaks.gaps += 1;
                self.reset();
            }
        }
        if self.times.len() == self.window {
            self.times.pop_front();
            self.labels.pop_front();
            self.values.drain(..self.channels);
        }
        self.times.push_back(t);
        self.labels.push_back(label.unwrap_or(IGNORED_LABEL));
        self.values.extend(values.iter().copied());
        self.since_emit += 1;

        let due = if self.emitted_in_run { self.since_emit >= self.step } else { self.times.len() == self.window };
        if !due {
            return Ok(None);
        }
        self.since_emit = 0;
        self.emitted_in_run = true;
        self.windows_emitted += 1;
        let label = majority_label(self.labels.iter().copied(), self.n_classes, &mut self.counts);
        let first_sample = sample + 1 - self.window as u64;
        let t_start = self.times.front().copied().unwrap_or(t);
        Ok(Some(StreamWindow { first_sample, t_start, t_end: t, rows: self.values.make_contiguous(), label }))
    }

    /// Samples pushed so far (including dropped ones).
    pub fn samples_pushed(&self) -> u64 {
        self.samples_pushed
    }

    pub fn windows_emitted(&self) -> u64 {
        self.windows_emitted
    }

    /// How often the stream started over, and why.
    pub fn breaks(&self) -> StreamBreaks {
        self.breaks
    }

    /// Samples buffered now (at most `window`).
    pub fn buffered(&self) -> usize {
        self.times.len()
    }
}
