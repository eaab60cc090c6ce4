//! Why a sensor file could not be loaded. Every message names the file and says what was wrong with it; all of
//! these are faults of the input, not of the program (CLI exit code 2).

use std::fmt;
use std::path::PathBuf;

use super::columns::MissingChannel;
use super::report::LoadReport;

/// A file that could not be turned into a `Recording`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file} is empty: expected a CSV header line and data rows")]
    Empty { file: PathBuf },
    #[error("{file} has a header line but no data rows")]
    HeaderOnly { file: PathBuf },
    #[error("{file} is not a CSV text file: {reason}")]
    NotText { file: PathBuf, reason: String },
    #[error(
        "{file}: the header has no column for {}; columns found: {}{}",
        list_missing(missing),
        list_found(found),
        header_hint(found)
    )]
    MissingChannels { file: PathBuf, missing: Vec<MissingChannel>, found: Vec<String> },
    #[error(
        "{file}: {} not among the model's classes: {}. The model's classes are: {}. To load the file anyway, \
         pass --ignore-unknown-labels (their rows then count for no class)",
        plural(labels.len(), "label is", "labels are"),
        list_labels(labels),
        classes.join(", ")
    )]
    UnknownLabels { file: PathBuf, labels: Vec<(String, usize)>, classes: Vec<String> },
    #[error(
        "{file}: no usable rows: all {} data rows were bad ({})",
        report.rows_read,
        report.first_bad_rows(3)
    )]
    NoUsableRows { file: PathBuf, report: Box<LoadReport> },
    #[error("{file} has more than {max} data rows, which this program cannot hold")]
    TooManyRows { file: PathBuf, max: u64 },
    #[error("{file} is {what}, not a data file")]
    NotAFile { file: PathBuf, what: String },
    #[error("{file}: cannot keep the rows read in a temporary file (in {}): {source}", std::env::temp_dir().display())]
    Spool {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{file}: the timestamps go backwards (median step {median_step} over {steps} steps): the rows seem to be in \
         reverse time order; sort the file by its timestamp column"
    )]
    TimeReversed { file: PathBuf, median_step: f64, steps: u64 },
    /// A prepared window array (`.npy`) or its labels that cannot be used: the wrong shape, type or values.
    #[error("{file}: {problem}")]
    Npy { file: PathBuf, problem: String },
    #[error("{file}: no windows to score: {reason}")]
    NoWindows { file: PathBuf, reason: String },
}

impl DataError {
    /// The file the error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            DataError::Io { file, .. }
            | DataError::Empty { file }
            | DataError::HeaderOnly { file }
            | DataError::NotText { file, .. }
            | DataError::MissingChannels { file, .. }
            | DataError::UnknownLabels { file, .. }
            | DataError::NoUsableRows { file, .. }
            | DataError::TooManyRows { file, .. }
            | DataError::NotAFile { file, .. }
            | DataError::Spool { file, .. }
            | DataError::TimeReversed { file, .. }
            | DataError::NoWindows { file, .. }
            | DataError::Npy { file, .. } => file,
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}

fn list_missing(missing: &[MissingChannel]) -> String {
    let parts: Vec<String> = missing.iter().map(ToString::to_string).collect();
    format!("channel{} {}", if missing.len() == 1 { "" } else { "s" }, parts.join("; "))
}

fn list_found(found: &[String]) -> String {
    if found.is_empty() {
        return "none".to_string();
    }
    found.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

/// A hint when the first line looks like data rather than a header.
fn header_hint(found: &[String]) -> String {
    let numeric = !found.is_empty() && found.iter().all(|c| c.trim().parse::<f64>().is_ok());
    if numeric {
        " (the first line looks like data: the file needs a header line naming its columns, see docs/FORMATS.md §1)"
            .to_string()
    } else {
        String::new()
    }
}

/// `` `walking` (1,200 rows), `jogging` (30 rows) ``, at most 20 labels.
fn list_labels(labels: &[(String, usize)]) -> String {
    const SHOWN: usize = 20;
    let mut parts: Vec<String> = labels
        .iter()
        .take(SHOWN)
        .map(|(l, n)| format!("`{l}` ({} row{})", crate::format::thousands(*n as u64), if *n == 1 { "" } else { "s" }))
        .collect();
    if labels.len() > SHOWN {
        parts.push(format!("and {} more", labels.len() - SHOWN));
    }
    parts.join(", ")
}

/// Shown where a short, safe rendering of raw bytes is needed in a message.
pub(crate) struct Shown<'a>(pub &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 40;
        let text = String::from_utf8_lossy(self.0);
        let mut shown: String = text.chars().take(MAX).flat_map(char::escape_debug).collect();
        if text.chars().count() > MAX {
            shown.push('…');
        }
        f.write_str(&shown)
    }
}
