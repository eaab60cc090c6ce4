//! The in-memory shape of a loaded sensor file and of the windows cut from it.

use std::path::PathBuf;

/// A loaded sensor file: columnar `f32` per channel, in the model card's channel order, units converted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    /// Where the data came from (a path, or a description such as `simulated`).
    pub source: PathBuf,
    /// Channel names in the card's order (`channels[i]` holds the values of `channel_names[i]`).
    pub channel_names: Vec<String>,
    /// `channels[c][row]`.
    pub channels: Vec<Vec<f32>>,
    /// Time of each row in seconds. Absolute (epoch) when the file had ISO-8601 or epoch timestamps, otherwise as
    /// written; rows are taken at the card's rate (`row / rate`) when the file has no timestamp column.
    pub time: Vec<f64>,
    /// 0-based data row in the file of each kept row (bad rows are skipped, so this can jump).
    pub file_row: Vec<u32>,
    /// True label of each row as an index into the card's `classes`; `None` when the file has no label column.
    /// `u16::MAX` marks a label the user asked to ignore.
    pub labels: Option<Vec<u16>>,
    /// User of each row as an index into `user_names`; `None` when the file has no user column.
    pub users: Option<Vec<u32>>,
    pub user_names: Vec<String>,
}

impl Recording {
    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }
}

/// A window: `window` consecutive kept rows `[start, end)` of a `Recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    /// Majority true label (card class index), ties to the smallest index; `None` without labels (or when every
    /// label in the window is an ignored one).
    pub label: Option<usize>,
    /// User of the window's first row.
    pub user: Option<u32>,
    /// Segment index (a new segment starts at a user change or a timestamp gap, docs/FORMATS.md §3).
    pub segment: u32,
}

/// How windows may be cut from a file (docs/FORMATS.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowingMode {
    /// Windows never span a change of user or a gap larger than 2.5 sample periods.
    #[default]
    Segments,
    /// One segment for the whole file: the thesis pipeline exactly.
    Contiguous,
}

/// The windows of a recording and what was left out.
#[derive(Debug, Clone, Default)]
pub struct Windowing {
    pub windows: Vec<Window>,
    /// Windows that held a non-finite value.
    pub skipped_non_finite: usize,
    /// Number of segments the file was cut into.
    pub segments: usize,
    /// Segments shorter than one window (their rows are in no window).
    pub short_segments: usize,
}
