//! Cutting a recording into model windows (docs/FORMATS.md §3): `card.window` rows, a new window every `card.step()` rows,
//! never across a segment break (user change, timestamp gap, step back in time) unless the thesis' contiguous mode
//! is asked for; each window's true label is its majority label, ties to the smallest class index.

use super::load::{GAP_PERIODS, IGNORED_LABEL, Row};
use super::recording::{Recording, Window, Windowing, WindowingMode};
use crate::model::ModelCard;

/// The rows `[start, end)` of each segment of a recording.
pub fn segments(rec: &Recording, sample_rate_hz: f64, mode: WindowingMode) -> Vec<(usize, usize)> {
    let n = rec.len();
    if n == 0 {
        return Vec::new();
    }
    if mode == WindowingMode::Contiguous {
        return vec![(0, n)];
    }
    let max_step = GAP_PERIODS / sample_rate_hz;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..n {
        let user_change = rec.users.as_ref().is_some_and(|u| u.get(i) != u.get(i - 1));
        let dt = match (rec.time.get(i), rec.time.get(i - 1)) {
            (Some(t), Some(prev)) => t - prev,
            _ => 0.0,
        };
        // `!(dt >= 0)` also breaks on a NaN step.
        let time_break = !(0.0..=max_step).contains(&dt);
        if user_change || time_break {
            out.push((start, i));
            start = i;
        }
    }
    out.push((start, n));
    out
}

/// The majority label of a run of labels over `n_classes` classes: ties go to the smallest index; ignored labels
/// (`IGNORED_LABEL`, or any index outside the classes) do not vote; `None` when nothing voted.
/// `counts` is scratch space, resized as needed.
pub fn majority_label(labels: impl IntoIterator<Item = u16>, n_classes: usize, counts: &mut Vec<u32>) -> Option<usize> {
    counts.clear();
    counts.resize(n_classes, 0);
    for l in labels {
        if l != IGNORED_LABEL
            && let Some(c) = counts.get_mut(usize::from(l))
        {
            *c += 1;
        }
    }
    let mut best: Option<(usize, u32)> = None;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 && best.is_none_or(|(_, b)| c > b) {
            best = Some((i, c));
        }
    }
    best.map(|(i, _)| i)
}

/// Cuts a recording into windows for a model (docs/FORMATS.md §3): its rows through a [`RowWindower`].
pub fn window(rec: &Recording, card: &ModelCard, mode: WindowingMode) -> Windowing {
    let mut windower = RowWindower::new(card, mode);
    let mut windows = Vec::new();
    let mut values = vec![0.0f32; rec.channels.len()];
    for i in 0..rec.len() {
        for (slot, column) in values.iter_mut().zip(&rec.channels) {
            *slot = column.get(i).copied().unwrap_or(f32::NAN);
        }
        let row = Row {
            values: &values,
            time: rec.time.get(i).copied().unwrap_or(f64::NAN),
            file_row: rec.file_row.get(i).copied().unwrap_or(i as u32),
            label: rec.labels.as_ref().and_then(|l| l.get(i).copied()),
            user: rec.users.as_ref().and_then(|u| u.get(i).copied()),
        };
        if let Some(cut) = windower.push(&row) {
            windows.push(cut.window);
        }
    }
    let mut out = windower.finish();
    out.windows = windows;
    out
}

/// A window as the [`RowWindower`] cuts it, with its rows.
#[derive(Debug, Clone, Copy)]
pub struct CutWindow<'a> {
    /// Rows `[start, end)` are ordinals of the rows pushed (kept rows of the file).
    pub window: Window,
    /// `window × channels` raw values, `[t][c]`.
    pub raw: &'a [f32],
    /// Time of the first and of the last row, seconds.
    pub first_time: f64,
    pub last_time: f64,
    /// File data rows of the first and of the last row.
    pub first_file_row: u32,
    pub last_file_row: u32,
}

/// What a windower saw besides its windows, for the "no windows" message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowingTally {
    pub rows: usize,
    pub longest_segment: usize,
}

/// Cuts rows into windows as they come (docs/FORMATS.md §3): the same windows as cutting the whole file at once, holding no
/// more than about two windows of rows.
#[derive(Debug, Clone)]
pub struct RowWindower {
    size: usize,
    step: usize,
    channels: usize,
    n_classes: usize,
    mode: WindowingMode,
    max_step: f64,
    /// The rows from `buffer_start` on: values `[t][c]`, times, file rows, labels, users, finiteness.
    values: Vec<f32>,
    times: Vec<f64>,
    file_rows: Vec<u32>,
    labels: Vec<u16>,
    users: Vec<Option<u32>>,
    finite: Vec<bool>,
    buffer_start: usize,
    /// Ordinal of the next row, of the current segment's first row, and of the next window's first row.
    next: usize,
    segment_start: usize,
    window_start: usize,
    previous: Option<(f64, Option<u32>)>,
    has_labels: bool,
    counts: Vec<u32>,
    out: Windowing,
    tally: WindowingTally,
}

impl RowWindower {
    pub fn new(card: &ModelCard, mode: WindowingMode) -> RowWindower {
        RowWindower {
            size: card.window.max(1),
            step: card.step().max(1),
            channels: card.channels.len(),
            n_classes: card.classes.len(),
            mode,
            max_step: GAP_PERIODS / card.sample_rate_hz,
            values: Vec::new(),
            times: Vec::new(),
            file_rows: Vec::new(),
            labels: Vec::new(),
            users: Vec::new(),
            finite: Vec::new(),
            buffer_start: 0,
            next: 0,
            segment_start: 0,
            window_start: 0,
            previous: None,
            has_labels: false,
            counts: Vec::new(),
            out: Windowing::default(),
            tally: WindowingTally::default(),
        }
    }

    fn close_segment(&mut self) {
        let len = self.next - self.segment_start;
        self.out.segments += 1;
        self.tally.longest_segment = self.tally.longest_segment.max(len);
        if len < self.size {
            self.out.short_segments += 1;
        }
    }

    fn clear_buffer(&mut self, from: usize) {
        self.values.clear();
        self.times.clear();
        self.file_rows.clear();
        self.labels.clear();
        self.users.clear();
        self.finite.clear();
        self.buffer_start = from;
    }

    /// Drops buffered rows before `ordinal`.
    fn drop_before(&mut self, ordinal: usize) {
        let n = ordinal.saturating_sub(self.buffer_start).min(self.times.len());
        if n == 0 {
            return;
        }
        self.values.drain(..n * self.channels);
        self.times.drain(..n);
        self.file_rows.drain(..n);
        self.labels.drain(..n.min(self.labels.len()));
        self.users.drain(..n);
        self.finite.drain(..n);
        self.buffer_start += n;
    }

    /// Takes the next row; returns the window that ends with it, if one does (and is usable).
    pub fn push(&mut self, row: &Row<'_>) -> Option<CutWindow<'_>> {
        let i = self.next;
        if let Some((previous_time, previous_user)) = self.previous {
            let user_change = row.user != previous_user;
            let dt = row.time - previous_time;
            // `!(dt >= 0)` also breaks on a NaN step.
            let time_break = !(0.0..=self.max_step).contains(&dt);
            if self.mode == WindowingMode::Segments && (user_change || time_break) {
                self.close_segment();
                self.segment_start = i;
                self.window_start = i;
                self.clear_buffer(i);
            }
        }
        self.previous = Some((row.time, row.user));
        self.next += 1;
        self.tally.rows += 1;
        // Rows before the next window's start are not needed any more; trim now and then, not on every row.
        if self.times.len() >= 2 * self.size {
            self.drop_before(self.window_start);
        }
        if i < self.window_start {
            // Between windows (a step larger than the window): the row is in no window.
            self.clear_buffer(i + 1);
            return None;
        }
        if self.times.is_empty() {
            self.buffer_start = i;
        }
        self.values.extend(row.values.iter().copied().take(self.channels));
        self.values.resize((self.times.len() + 1) * self.channels, f32::NAN);
        self.times.push(row.time);
        self.file_rows.push(row.file_row);
        if let Some(label) = row.label {
            self.has_labels = true;
            self.labels.push(label);
        }
        self.users.push(row.user);
        self.finite.push(row.values.iter().all(|v| v.is_finite()) && row.time.is_finite());
        if i + 1 - self.window_start < self.size {
            return None;
        }
        let start = self.window_start;
        self.window_start += self.step;
        let from = start - self.buffer_start;
        let to = from + self.size;
        if !self.finite.get(from..to).is_some_and(|f| f.iter().all(|&ok| ok)) {
            self.out.skipped_non_finite += 1;
            return None;
        }
        let label = if self.has_labels {
            let run = self.labels.get(from..to).unwrap_or_default();
            majority_label(run.iter().copied(), self.n_classes, &mut self.counts)
        } else {
            None
        };
        let window = Window {
            start,
            end: start + self.size,
            label,
            user: self.users.get(from).copied().flatten(),
            segment: self.out.segments as u32,
        };
        Some(CutWindow {
            window,
            raw: self.values.get(from * self.channels..to * self.channels).unwrap_or_default(),
            first_time: self.times.get(from).copied().unwrap_or(0.0),
            last_time: self.times.get(to - 1).copied().unwrap_or(0.0),
            first_file_row: self.file_rows.get(from).copied().unwrap_or(0),
            last_file_row: self.file_rows.get(to - 1).copied().unwrap_or(0),
        })
    }

    /// Rows seen and the longest segment so far.
    pub fn tally(&self) -> WindowingTally {
        let open = self.next - self.segment_start;
        WindowingTally { longest_segment: self.tally.longest_segment.max(open), ..self.tally }
    }

    /// Ends the stream: the segment counts (`windows` is left empty).
    pub fn finish(mut self) -> Windowing {
        if self.next > 0 {
            self.close_segment();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_ties_go_to_the_smallest_index() {
        let mut counts = Vec::new();
        assert_eq!(majority_label([2, 1, 2, 1], 3, &mut counts), Some(1));
        assert_eq!(majority_label([2, 2, 1], 3, &mut counts), Some(2));
        assert_eq!(majority_label([IGNORED_LABEL, IGNORED_LABEL, 0], 3, &mut counts), Some(0));
        assert_eq!(majority_label([IGNORED_LABEL, 7], 3, &mut counts), None);
        assert_eq!(majority_label([], 3, &mut counts), None);
    }
}
