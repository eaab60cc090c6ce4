//! What loading a sensor file did: rows read and kept, every bad row counted (the first ones with their line and
//! reason), how timestamps and units were understood, which columns were used. The CLI prints its `Display`.

use std::fmt;
use std::path::PathBuf;

use super::timestamp::TimestampKind;
use super::units::UnitDecision;
use crate::format::thousands;

/// Line-level details are kept for this many bad rows; the counts always cover all of them.
pub const MAX_BAD_ROW_DETAILS: usize = 1000;

/// How many bad rows the summary prints.
const SUMMARY_BAD_ROWS: usize = 5;

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BadRowKind {
    /// Fewer or more fields than the header.
    FieldCount,
    /// The last line of a file that does not end with a newline, and is not a complete row.
    TruncatedLastLine,
    /// A field that is not valid UTF-8 text.
    NotUtf8,
    /// A sensor value that is not a number.
    NotANumber,
    /// A sensor value that is NaN or infinite (or too large for `f32`).
    NonFinite,
    /// A sensor value that became infinite when converted to the model's unit.
    NonFiniteAfterConversion,
    /// A timestamp that is neither a number nor an ISO-8601 date-time, or not of the kind the file started with.
    BadTimestamp,
    /// An empty field (sensor value, timestamp, label or user).
    EmptyField,
}

impl BadRowKind {
    pub const ALL: [BadRowKind; 8] = [
        BadRowKind::FieldCount,
        BadRowKind::TruncatedLastLine,
        BadRowKind::NotUtf8,
        BadRowKind::NotANumber,
        BadRowKind::NonFinite,
        BadRowKind::NonFiniteAfterConversion,
        BadRowKind::BadTimestamp,
        BadRowKind::EmptyField,
    ];

    /// A short plural description for counts.
    pub fn describe(self) -> &'static str {
        match self {
            BadRowKind::FieldCount => "wrong number of fields",
            BadRowKind::TruncatedLastLine => "truncated last line",
            BadRowKind::NotUtf8 => "not UTF-8 text",
            BadRowKind::NotANumber => "value not a number",
            BadRowKind::NonFinite => "value not finite",
            BadRowKind::NonFiniteAfterConversion => "value not finite after unit conversion",
            BadRowKind::BadTimestamp => "bad timestamp",
            BadRowKind::EmptyField => "empty field",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One skipped row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line in the file where the row starts (the header is line 1).
    pub line: u64,
    pub kind: BadRowKind,
    /// What was wrong, naming the column and the value.
    pub reason: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Which file column fed what.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnsUsed {
    /// `(card channel, file column)` in card order.
    pub channels: Vec<(String, String)>,
    pub time: Option<String>,
    pub label: Option<String>,
    pub user: Option<String>,
    pub ignored: Vec<String>,
}

/// The load report. `rows_read == rows_kept + bad_rows` always holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub source: PathBuf,
    /// Data records in the file (the header and blank lines not counted).
    pub rows_read: usize,
    pub rows_kept: usize,
    /// Rows skipped, all reasons together.
    pub bad_rows: usize,
    /// Count of bad rows per reason, indexed like `BadRowKind::ALL`.
    bad_row_counts: [usize; BadRowKind::ALL.len()],
    /// The first `MAX_BAD_ROW_DETAILS` bad rows, in file order.
    pub bad_row_details: Vec<BadRow>,
    /// The field delimiter found in the header line.
    pub delimiter: u8,
    pub timestamps: TimestampKind,
    /// Median step between kept rows' timestamps, in seconds.
    pub median_step_s: Option<f64>,
    /// Steps larger than 2.5 sample periods of the card, and steps backwards in time (both start a new segment).
    pub time_gaps: usize,
    pub time_backwards: usize,
    pub accel_unit: UnitDecision,
    pub columns: ColumnsUsed,
    /// Kept rows whose label is not one of the card's classes (only with `ignore_unknown_labels`), by label.
    pub ignored_labels: Vec<(String, usize)>,
    pub ignored_label_rows: usize,
    /// Things the user may want to know.
    pub notes: Vec<String>,
    /// Things that may make results wrong.
    pub warnings: Vec<String>,
    /// Set when the input was a prepared window array (`.npy`) rather than a CSV file: what it held and the
    /// normalisation decision. The row and column fields above then stay empty.
    pub windows: Option<super::npy::WindowsReport>,
}

impl LoadReport {
    pub(crate) fn new(source: PathBuf) -> LoadReport {
        LoadReport { source, delimiter: b',', ..LoadReport::default() }
    }

    /// The report of a prepared window array (`rows_read`/`rows_kept` count its windows' rows).
    pub fn of_windows(
        source: PathBuf,
        windows: super::npy::WindowsReport,
        notes: Vec<String>,
        warnings: Vec<String>,
    ) -> LoadReport {
        let rows = windows.windows * windows.window;
        LoadReport {
            rows_read: rows,
            rows_kept: rows,
            notes,
            warnings,
            windows: Some(windows),
            ..LoadReport::new(source)
        }
    }

    /// Records a skipped row.
    pub(crate) fn add_bad_row(&mut self, line: u64, kind: BadRowKind, reason: impl FnOnce() -> String) {
        self.bad_rows += 1;
        if let Some(count) = self.bad_row_counts.get_mut(kind.index()) {
            *count += 1;
        }
        if self.bad_row_details.len() < MAX_BAD_ROW_DETAILS {
            self.bad_row_details.push(BadRow { line, kind, reason: reason() });
        }
    }

    /// Re-labels the last bad row recorded (at `line`, of kind `old`) as another kind, prefixing its reason.
    pub(crate) fn reclassify_last_bad_row(&mut self, line: u64, old: BadRowKind, new: BadRowKind, prefix: &str) {
        if let Some(last) = self.bad_row_details.last_mut().filter(|b| b.line == line) {
            last.kind = new;
            last.reason = format!("{prefix}: {}", last.reason);
        }
        if let Some(c) = self.bad_row_counts.get_mut(old.index()) {
            *c = c.saturating_sub(1);
        }
        if let Some(c) = self.bad_row_counts.get_mut(new.index()) {
            *c += 1;
        }
    }

    /// Number of bad rows skipped for one reason.
    pub fn bad_rows_of(&self, kind: BadRowKind) -> usize {
        self.bad_row_counts.get(kind.index()).copied().unwrap_or(0)
    }

    /// `(reason, count)` for every reason that occurred.
    pub fn bad_row_counts(&self) -> Vec<(BadRowKind, usize)> {
        BadRowKind::ALL.iter().map(|&k| (k, self.bad_rows_of(k))).filter(|(_, n)| *n > 0).collect()
    }

    /// The first few bad rows as one line each, for error messages.
    pub fn first_bad_rows(&self, n: usize) -> String {
        self.bad_row_details.iter().take(n).map(|b| b.to_string()).collect::<Vec<_>>().join("; ")
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(windows) = &self.windows {
            // The notes repeat the decision for the evaluation report; the windows' report already says it.
            return write!(f, "{}: {windows}", self.source.display());
        }
        writeln!(
            f,
            "{}: {} rows read, {} kept, {} bad row{} skipped",
            self.source.display(),
            thousands(self.rows_read as u64),
            thousands(self.rows_kept as u64),
            thousands(self.bad_rows as u64),
            if self.bad_rows == 1 { "" } else { "s" }
        )?;
        if self.bad_rows > 0 {
            let counts: Vec<String> = self
                .bad_row_counts()
                .iter()
                .map(|(k, n)| format!("{} {}", thousands(*n as u64), k.describe()))
                .collect();
            writeln!(f, "  bad rows: {}", counts.join(", "))?;
            for b in self.bad_row_details.iter().take(SUMMARY_BAD_ROWS) {
                writeln!(f, "    {b}")?;
            }
            if self.bad_rows > SUMMARY_BAD_ROWS {
                writeln!(f, "    ... and {} more", thousands((self.bad_rows - SUMMARY_BAD_ROWS) as u64))?;
            }
        }
        let c = &self.columns;
        let mut used: Vec<String> = c
            .channels
            .iter()
            .map(|(card, file)| if card == file { card.clone() } else { format!("{card} <- {file}") })
            .collect();
        for (what, col) in [("time", &c.time), ("label", &c.label), ("user", &c.user)] {
            if let Some(col) = col {
                used.push(format!("{what} <- {col}"));
            }
        }
        write!(f, "  columns: {}", used.join(", "))?;
        if !c.ignored.is_empty() {
            write!(f, "; ignored: {}", c.ignored.join(", "))?;
        }
        writeln!(f)?;
        if self.delimiter != b',' {
            writeln!(f, "  delimiter: {:?}", char::from(self.delimiter))?;
        }
        write!(f, "  timestamps: {}", self.timestamps)?;
        if let Some(step) = self.median_step_s {
            if step > 0.0 {
                write!(f, " (median step {:.6} s, {:.2} Hz)", step, 1.0 / step)?;
            } else {
                write!(f, " (median step {step} s)")?;
            }
        }
        if self.time_gaps + self.time_backwards > 0 {
            write!(f, "; {} gap(s), {} step(s) back in time", self.time_gaps, self.time_backwards)?;
        }
        writeln!(f)?;
        writeln!(f, "  accelerometer: {}", self.accel_unit)?;
        if self.ignored_label_rows > 0 {
            let labels: Vec<String> = self.ignored_labels.iter().map(|(l, n)| format!("`{l}` x {n}")).collect();
            writeln!(
                f,
                "  ignored labels (not in the model's classes): {} rows: {}",
                thousands(self.ignored_label_rows as u64),
                labels.join(", ")
            )?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_the_detail_limit() {
        let mut r = LoadReport::new("x.csv".into());
        for line in 0..(MAX_BAD_ROW_DETAILS as u64 + 10) {
            r.add_bad_row(line + 2, BadRowKind::NotANumber, || "bad".into());
        }
        assert_eq!(r.bad_rows, MAX_BAD_ROW_DETAILS + 10);
        assert_eq!(r.bad_row_details.len(), MAX_BAD_ROW_DETAILS);
        assert_eq!(r.bad_rows_of(BadRowKind::NotANumber), MAX_BAD_ROW_DETAILS + 10);
    }
}
