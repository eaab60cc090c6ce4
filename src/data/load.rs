//! Loading a sensor CSV file (docs/FORMATS.md §1) into a columnar `Recording`: header matched to the model card, timestamps
//! understood, accelerometer unit detected and converted, bad rows skipped and reported, never silently used.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::columns::{ColumnMap, KnownChannel, Sensor, map_header};
use super::error::{DataError, Shown};
use super::recording::Recording;
use super::report::{BadRowKind, ColumnsUsed, LoadReport};
use super::sample::MedianSample;
use super::spool::{SpoolPlace, SpoolReader, SpoolWriter, SpooledRow};
use super::timestamp::{RawTime, TimestampKind, parse_time, step_is_milliseconds};
use super::units::{UnitDecision, UnitSource, decide};
use crate::format::thousands;
use crate::model::{AccelUnit, ModelCard};

/// The label index given to rows whose label is not one of the card's classes, when the user asked to ignore them.
pub const IGNORED_LABEL: u16 = u16::MAX;

/// A timestamp step larger than this many sample periods starts a new segment (docs/FORMATS.md §3).
pub const GAP_PERIODS: f64 = 2.5;

/// How much of the file's start is read to recognise it (binary data, UTF-16, the delimiter).
const SNIFF_BYTES: usize = 8 * 1024;
/// The csv reader's buffer.
const CSV_BUFFER: usize = 64 * 1024;
/// Records handed from the first pass's reading thread to its parsing thread at a time.
const RECORD_BATCH: usize = 1024;

/// Records of the first pass on their way from the thread that splits the bytes to the one that parses them:
/// `records[..len]` with the 1-based line of each.
#[derive(Default)]
struct RecordBatch {
    records: Vec<csv::ByteRecord>,
    lines: Vec<u64>,
    len: usize,
}
/// Distinct unknown labels remembered by name (the row count covers them all).
const MAX_UNKNOWN_LABEL_NAMES: usize = 1000;

/// Choices the user makes about a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--accel-unit`: the unit the file's accelerometer values are in. Beats both detection and the card's
    /// `as-is`; `Some(AsIs)` turns detection and conversion off.
    pub accel_unit: Option<AccelUnit>,
    /// Keep rows whose label is not one of the card's classes (label `IGNORED_LABEL`) instead of refusing the file.
    pub ignore_unknown_labels: bool,
}

/// A loaded file and what loading it did.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub recording: Recording,
    pub report: LoadReport,
}

/// Loads a sensor CSV file for a model (see the module documentation and docs/FORMATS.md §1).
pub fn load_csv(path: &Path, card: &ModelCard, opts: &LoadOptions) -> Result<Loaded, DataError> {
    let file = open_input(path)?;
    load(file, path.to_path_buf(), card, opts)
}

/// Loads sensor CSV text from any reader; `name` stands for the file in messages and in `Recording::source`.
pub fn load_csv_from_reader<R: Read>(
    reader: R,
    name: impl AsRef<Path>,
    card: &ModelCard,
    opts: &LoadOptions,
) -> Result<Loaded, DataError> {
    load(reader, name.as_ref().to_path_buf(), card, opts)
}

/// A reader that notes where the line breaks are (`\n`, `\r\n` or a lone `\r`) as the csv reader pulls bytes
/// through it, so that each record gets its true 1-based line (the csv crate's own line count goes wrong after
/// empty lines and with `\r\n` endings). It also remembers the last byte, to tell whether the file ended with a
/// line break.
struct LineTracker<R> {
    inner: R,
    /// Offset of the next byte to be read.
    offset: u64,
    /// Offsets of the line breaks read but not yet passed by `line_at`.
    breaks: VecDeque<u64>,
    /// Line breaks already passed.
    passed: u64,
    /// The previous byte was `\r`: a break at it, or at the `\n` that follows.
    pending_cr: bool,
    last: Option<u8>,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker { inner, offset: 0, breaks: VecDeque::new(), passed: 0, pending_cr: false, last: None }
    }

    /// Number of line breaks before byte `offset`, plus one: the line that byte is on. Offsets must not decrease
    /// from one call to the next.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.breaks.front().is_some_and(|&b| b < offset) {
            self.breaks.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = buf.get(..n).unwrap_or_default();
        if bytes.is_empty() {
            if std::mem::take(&mut self.pending_cr) {
                self.breaks.push_back(self.offset.saturating_sub(1));
            }
            return Ok(n);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            // Skip eight bytes at a time while none of them is `\r` or `\n` (most of a CSV file).
            if !self.pending_cr
                && let Some(chunk) = rest.first_chunk::<8>()
                && !has_line_break(u64::from_le_bytes(*chunk))
            {
                self.offset += 8;
                rest = rest.get(8..).unwrap_or_default();
                continue;
            }
            let Some((&b, tail)) = rest.split_first() else { break };
            rest = tail;
            if std::mem::take(&mut self.pending_cr) {
                if b == b'\n' {
                    self.breaks.push_back(self.offset);
                    self.offset += 1;
                    continue;
                }
                self.breaks.push_back(self.offset.saturating_sub(1));
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => self.breaks.push_back(self.offset),
                _ => {}
            }
            self.offset += 1;
        }
        self.last = bytes.last().copied();
        Ok(n)
    }
}

/// Whether any of the eight bytes packed in `word` is `\n` or `\r` (the classic "has a zero byte" bit trick).
fn has_line_break(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    has_zero(word ^ (ONES * u64::from(b'\n'))) || has_zero(word ^ (ONES * u64::from(b'\r')))
}

/// Line breaks inside a record (in quoted fields).
fn breaks_inside(record: &csv::ByteRecord) -> u64 {
    // Almost every record has none: one pass over its bytes tells.
    if !record.as_slice().iter().any(|&b| b == b'\n' || b == b'\r') {
        return 0;
    }
    record
        .iter()
        .map(|field| {
            let lf = field.iter().filter(|&&b| b == b'\n').count();
            let lone_cr = field.windows(2).filter(|w| w[0] == b'\r' && w[1] != b'\n').count()
                + usize::from(field.last() == Some(&b'\r'));
            (lf + lone_cr) as u64
        })
        .sum()
}

/// Reads the start of the file (at least `SNIFF_BYTES`, and on to the end of the first line when it is longer).
/// Also says whether that was the whole file.
fn read_prefix<R: Read>(reader: &mut R, file: &Path) -> Result<(Vec<u8>, bool), DataError> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok((prefix, true)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(DataError::Io { file: file.to_path_buf(), source }),
        };
        prefix.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if prefix.len() >= SNIFF_BYTES && (prefix.contains(&b'\n') || prefix.len() >= 16 * SNIFF_BYTES) {
            return Ok((prefix, false));
        }
    }
}

/// Refuses what is clearly not CSV text.
fn check_text(prefix: &[u8], file: &Path) -> Result<(), DataError> {
    let not_text = |reason: &str| DataError::NotText { file: file.to_path_buf(), reason: reason.to_string() };
    if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
        return Err(not_text("it is UTF-16 text; save it as UTF-8"));
    }
    // A NUL byte in the header line, or many near the start, mean binary data; a stray one in a row only spoils
    // that row.
    let first_line = prefix.split(|&b| b == b'\n').next().unwrap_or_default();
    let nuls = prefix.iter().filter(|&&b| b == 0).count();
    if first_line.contains(&0) || nuls * 10 > prefix.len() {
        return Err(not_text("it holds binary data (NUL bytes near its start)"));
    }
    Ok(())
}

/// A line of nothing but blanks (the csv reader itself skips only empty lines). It is not a row.
fn is_blank_line(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// The delimiter of the first line: the most frequent of `,` `;` tab `|` outside quotes (`,` when none occurs).
fn sniff_delimiter(prefix: &[u8]) -> u8 {
    let first_line =
        prefix.split(|&b| b == b'\n').find(|line| !line.iter().all(u8::is_ascii_whitespace)).unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts.iter().fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best }).0
}

/// The header as text, or why it is not text.
fn header_names(header: &csv::ByteRecord, file: &Path) -> Result<Vec<String>, DataError> {
    let mut names = Vec::with_capacity(header.len());
    for (i, field) in header.iter().enumerate() {
        let text = std::str::from_utf8(field).map_err(|_| DataError::NotText {
            file: file.to_path_buf(),
            reason: format!("the header line is not UTF-8 text (column {}: `{}`)", i + 1, Shown(field)),
        })?;
        let text = if i == 0 { text.trim_start_matches('\u{FEFF}') } else { text };
        names.push(text.trim().to_string());
    }
    Ok(names)
}

/// A bad value found while parsing a row.
struct Bad {
    kind: BadRowKind,
    reason: String,
}

fn bad(kind: BadRowKind, reason: String) -> Bad {
    Bad { kind, reason }
}

/// A field as trimmed text, or why not.
fn text_field<'a>(field: &'a [u8], column: &str) -> Result<&'a str, Bad> {
    let text = std::str::from_utf8(field)
        .map_err(|_| bad(BadRowKind::NotUtf8, format!("column `{column}`: `{}` is not UTF-8 text", Shown(field))))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(BadRowKind::EmptyField, format!("column `{column}` is empty")));
    }
    Ok(text)
}

/// With a delimiter other than `,` (a spreadsheet export), a number may be written with a decimal comma: `1,5`.
fn with_decimal_point(text: &str, decimal_comma: bool) -> Cow<'_, str> {
    if decimal_comma && !text.contains('.') && text.bytes().filter(|&b| b == b',').count() == 1 {
        Cow::Owned(text.replace(',', "."))
    } else {
        Cow::Borrowed(text)
    }
}

/// A sensor value: a finite number that fits in `f32`.
fn parse_value(text: &str, column: &str, decimal_comma: bool) -> Result<f32, Bad> {
    let parsed = match text.parse::<f64>() {
        Ok(v) => Ok(v),
        Err(e) => with_decimal_point(text, decimal_comma).parse::<f64>().map_err(|_| e),
    };
    let v = parsed.map_err(|_| {
        bad(BadRowKind::NotANumber, format!("column `{column}`: `{}` is not a number", Shown(text.as_bytes())))
    })?;
    let narrow = v as f32;
    if !narrow.is_finite() {
        let what = if v.is_finite() { "is too large" } else { "is not finite" };
        return Err(bad(BadRowKind::NonFinite, format!("column `{column}`: `{text}` {what}")));
    }
    Ok(narrow)
}

/// Looks up names (labels or users) with a one-entry cache, since they come in long runs.
struct NameCache<T: Copy> {
    last: Option<(String, T)>,
}

impl<T: Copy> NameCache<T> {
    fn new() -> Self {
        NameCache { last: None }
    }

    fn get_or(&mut self, name: &str, lookup: impl FnOnce(&str) -> T) -> T {
        if let Some((last, value)) = &self.last
            && last == name
        {
            return *value;
        }
        let value = lookup(name);
        self.last = Some((name.to_string(), value));
        value
    }
}

/// Values kept exactly for each whole-file median (beyond that, a thinned sample: see `MedianSample`).
const MEDIAN_SAMPLE: usize = 1 << 17;

/// The largest factor a unit conversion can apply (milli-g to g is 1000; m/s² to milli-g about 102).
const MAX_UNIT_FACTOR: f64 = 1024.0;

/// Timestamps "repeat" when at least this share of the steps between kept rows is zero (phone exports that
/// stamp several samples at once): the rows are then taken as consecutive samples at the card's rate.
const REPEATED_STEP_SHARE: f64 = 0.25;

/// A kept row whose accelerometer values are so large that a unit conversion may overflow `f32`: whether it does
/// is known only once the unit is decided, after the first pass.
struct AtRisk {
    ordinal: u64,
    line: u64,
    label_code: u32,
    accel: Vec<f32>,
}

/// The first pass over a file: parses every row, keeps the good ones in a spool, and gathers what the
/// whole-file decisions need.
struct Loader<'a> {
    card: &'a ModelCard,
    file: PathBuf,
    columns: ColumnMap,
    report: LoadReport,
    spool: SpoolWriter,
    /// The kind of the first valid timestamp; later rows must agree.
    time_is_iso: Option<bool>,
    /// Every kept timestamp is integer-like (a condition for milliseconds).
    times_integer: bool,
    previous_raw_time: Option<f64>,
    raw_steps: MedianSample,
    positive_raw_steps: MedianSample,
    zero_steps: u64,
    first_raw_time: Option<f64>,
    /// |(ax, ay, az)| of each kept row, for the unit decision.
    magnitudes: MedianSample,
    accel: Vec<usize>,
    accel_xyz: Option<[usize; 3]>,
    at_risk: Vec<AtRisk>,
    class_index: HashMap<&'a str, u16>,
    class_index_lower: HashMap<String, u16>,
    /// Label code of a kept row: a class index, or `classes + k` for the k-th unknown label name
    /// (`classes + MAX_UNKNOWN_LABEL_NAMES` for any further one).
    label_cache: NameCache<u32>,
    unknown_names: Vec<String>,
    unknown_code: HashMap<String, u32>,
    /// Kept rows per unknown label code (index `code - classes`).
    unknown_counts: Vec<usize>,
    user_index: HashMap<String, u32>,
    user_cache: NameCache<u32>,
    user_names: Vec<String>,
    decimal_comma: bool,
    row_values: Vec<f32>,
}

/// Loads a sensor file for a model, keeping every row in memory (see the module documentation and docs/FORMATS.md §1).
fn load<R: Read>(reader: R, file: PathBuf, card: &ModelCard, opts: &LoadOptions) -> Result<Loaded, DataError> {
    let mut rows = first_pass(reader, file, card, opts, SpoolPlace::Memory)?;
    let mut rec = rows.empty_recording(card);
    while let Some(row) = rows.next_row()? {
        rec.push_row(&row);
    }
    rec.user_names = rows.user_names.clone();
    let report = rows.finish();
    Ok(Loaded { recording: rec, report })
}

/// Opens a sensor file for streaming: a first pass reads it once (checking every row and deciding the timestamp
/// kind and the accelerometer unit from the whole file), then [`RowStream::next_row`] gives the kept rows in
/// order, converted, from a temporary spool, so memory does not grow with the file. Works on pipes too.
pub fn open_csv(path: &Path, card: &ModelCard, opts: &LoadOptions) -> Result<RowStream, DataError> {
    let file = open_input(path)?;
    let regular = file.metadata().is_ok_and(|m| m.is_file());
    let mut rows = first_pass(file, path.to_path_buf(), card, opts, SpoolPlace::TemporaryFile)?;
    if !regular {
        rows.report.notes.push(format!(
            "{} is not a regular file (a pipe?): it was read once, its rows kept in a temporary file in {} for the \
             second pass",
            path.display(),
            std::env::temp_dir().display()
        ));
    }
    Ok(rows)
}

/// Opens `path` for reading, refusing (with what it is) a directory, a device or a socket; a pipe is fine.
pub fn open_input(path: &Path) -> Result<File, DataError> {
    let not_a_file = |what: &str| DataError::NotAFile { file: path.to_path_buf(), what: what.to_string() };
    let meta = std::fs::metadata(path).map_err(|source| DataError::Io { file: path.to_path_buf(), source })?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(not_a_file("a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return Err(not_a_file("a character device"));
        }
        if kind.is_block_device() {
            return Err(not_a_file("a block device"));
        }
        if kind.is_socket() {
            return Err(not_a_file("a socket"));
        }
    }
    File::open(path).map_err(|source| DataError::Io { file: path.to_path_buf(), source })
}

fn first_pass<R: Read>(
    mut reader: R,
    file: PathBuf,
    card: &ModelCard,
    opts: &LoadOptions,
    place: SpoolPlace,
) -> Result<RowStream, DataError> {
    let (prefix, whole_file) = read_prefix(&mut reader, &file)?;
    if whole_file && prefix.iter().all(u8::is_ascii_whitespace) {
        return Err(DataError::Empty { file });
    }
    check_text(&prefix, &file)?;
    let delimiter = sniff_delimiter(&prefix);
    let source = LineTracker::new(io::Cursor::new(prefix).chain(reader));
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(source);
    let io_error = |file: &Path, e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io { file: file.to_path_buf(), source },
        other => DataError::Io { file: file.to_path_buf(), source: io::Error::other(format!("{other:?}")) },
    };

    let mut record = csv::ByteRecord::new();
    loop {
        if !csv.read_byte_record(&mut record).map_err(|e| io_error(&file, e))? {
            return Err(DataError::Empty { file });
        }
        if !is_blank_line(&record) {
            break;
        }
    }
    let header = header_names(&record, &file)?;
    let columns = match map_header(header.clone(), &card.channels) {
        Ok(map) => map,
        Err(missing) => return Err(DataError::MissingChannels { file, missing, found: header }),
    };
    let spool = SpoolWriter::new(place, card.channels.len())
        .map_err(|source| DataError::Spool { file: file.clone(), source })?;
    let file_name = file.clone();
    let loader = Loader::new(card, file, columns, delimiter, spool);

    // Two threads share the first pass: this one splits the bytes into records and finds their lines, the
    // other parses and checks the fields (each about half the work). Records travel in batches, which come back
    // to be reused; the order of the rows is kept.
    let (records_tx, records_rx) = crossbeam_channel::bounded::<Result<RecordBatch, DataError>>(4);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<RecordBatch>(8);
    let (mut loader, ended_with_newline, last_bad) = std::thread::scope(|scope| -> Result<_, DataError> {
        let parser = scope.spawn(move || -> Result<(Loader<'_>, Option<(u64, BadRowKind)>), DataError> {
            let mut loader = loader;
            let mut data_row: u64 = 0;
            let mut last_bad: Option<(u64, BadRowKind)> = None;
            for batch in records_rx {
                let batch = batch?;
                for (record, &line) in batch.records.iter().zip(&batch.lines).take(batch.len) {
                    if data_row > u64::from(u32::MAX) {
                        return Err(DataError::TooManyRows { file: loader.file, max: u64::from(u32::MAX) });
                    }
                    loader.report.rows_read += 1;
                    last_bad = match loader.read_row(record, data_row as u32, line) {
                        Ok(()) => None,
                        Err(RowError::Bad(b)) => {
                            loader.report.add_bad_row(line, b.kind, || b.reason);
                            Some((line, b.kind))
                        }
                        Err(RowError::Spool(source)) => return Err(DataError::Spool { file: loader.file, source }),
                    };
                    data_row += 1;
                }
                // The reader may have stopped; a batch it does not take back is simply dropped.
                let _ = spare_tx.try_send(batch);
            }
            Ok((loader, last_bad))
        });
        let mut batch = RecordBatch::default();
        loop {
            if batch.len == batch.records.len() {
                batch.records.push(csv::ByteRecord::new());
                batch.lines.push(0);
            }
            let (Some(record), Some(line_slot)) = (batch.records.get_mut(batch.len), batch.lines.get_mut(batch.len))
            else {
                break;
            };
            match csv.read_byte_record(record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // The parser ends on this error; if it already ended on its own, its error comes first.
                    let _ = records_tx.send(Err(io_error(&file_name, e)));
                    break;
                }
            }
            if is_blank_line(record) {
                continue;
            }
            // The csv reader stops just after the first byte of the record's terminator (or at the end of the
            // file): the line of the byte before that is the record's last line.
            let end = csv.position().byte();
            *line_slot = csv.get_mut().line_at(end.saturating_sub(1)).saturating_sub(breaks_inside(record));
            batch.len += 1;
            if batch.len == RECORD_BATCH {
                let full = std::mem::replace(&mut batch, spare_rx.try_recv().unwrap_or_default());
                batch.len = 0;
                if records_tx.send(Ok(full)).is_err() {
                    // The parser stopped on an error: it is the one to report.
                    break;
                }
            }
        }
        if batch.len > 0 {
            let _ = records_tx.send(Ok(batch));
        }
        drop(records_tx);
        let ended_with_newline = matches!(csv.get_ref().last, Some(b'\n' | b'\r'));
        let (parsed, last_bad) = parser.join().map_err(|_| DataError::Io {
            file: file_name.clone(),
            source: io::Error::other("the row-parsing thread failed"),
        })??;
        Ok((parsed, ended_with_newline, last_bad))
    })?;
    if let Some((line, kind)) = last_bad
        && !ended_with_newline
    {
        loader.report.reclassify_last_bad_row(
            line,
            kind,
            BadRowKind::TruncatedLastLine,
            "last line is incomplete (no newline at the end of the file)",
        );
    }
    loader.finish(opts)
}

/// Why a row was not kept: bad data, or the spool could not take it.
enum RowError {
    Bad(Bad),
    Spool(io::Error),
}

impl From<Bad> for RowError {
    fn from(b: Bad) -> Self {
        RowError::Bad(b)
    }
}

impl<'a> Loader<'a> {
    fn new(card: &'a ModelCard, file: PathBuf, columns: ColumnMap, delimiter: u8, spool: SpoolWriter) -> Loader<'a> {
        let name = |i: Option<usize>| i.and_then(|i| columns.header.get(i)).cloned();
        let used = ColumnsUsed {
            channels: card
                .channels
                .iter()
                .zip(&columns.channels)
                .map(|(c, &i)| (c.clone(), columns.header.get(i).cloned().unwrap_or_default()))
                .collect(),
            time: name(columns.time),
            label: name(columns.label),
            user: name(columns.user),
            ignored: columns.ignored.iter().filter_map(|&i| columns.header.get(i).cloned()).collect(),
        };
        let mut report = LoadReport::new(file.clone());
        report.delimiter = delimiter;
        report.columns = used;
        report.notes.extend(columns.notes.iter().cloned());
        // Class indices fit in u16 below IGNORED_LABEL; a card with more classes has the rest unreachable.
        let class_index: HashMap<&str, u16> = card
            .classes
            .iter()
            .take(usize::from(IGNORED_LABEL))
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u16))
            .collect();
        let mut class_index_lower = HashMap::new();
        for (name, &i) in &class_index {
            class_index_lower.entry(name.to_lowercase()).or_insert(i);
        }
        let (accel, accel_xyz) = accel_channels(card);
        Loader {
            card,
            file,
            columns,
            report,
            spool,
            time_is_iso: None,
            times_integer: true,
            previous_raw_time: None,
            raw_steps: MedianSample::new(MEDIAN_SAMPLE),
            positive_raw_steps: MedianSample::new(MEDIAN_SAMPLE),
            zero_steps: 0,
            first_raw_time: None,
            magnitudes: MedianSample::new(MEDIAN_SAMPLE),
            accel,
            accel_xyz,
            at_risk: Vec::new(),
            class_index,
            class_index_lower,
            label_cache: NameCache::new(),
            unknown_names: Vec::new(),
            unknown_code: HashMap::new(),
            unknown_counts: Vec::new(),
            user_index: HashMap::new(),
            user_cache: NameCache::new(),
            user_names: Vec::new(),
            decimal_comma: delimiter != b',',
            row_values: vec![0.0; card.channels.len()],
        }
    }

    fn column_name(&self, i: usize) -> &str {
        self.columns.header.get(i).map_or("?", String::as_str)
    }

    /// Parses one record; keeps it only when every field it needs is good.
    fn read_row(&mut self, record: &csv::ByteRecord, data_row: u32, line: u64) -> Result<(), RowError> {
        let expected = self.columns.header.len();
        if record.len() != expected {
            return Err(bad(
                BadRowKind::FieldCount,
                format!("expected {expected} fields as in the header, found {}", record.len()),
            )
            .into());
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        for (slot, &col) in self.row_values.iter_mut().zip(&self.columns.channels) {
            let name = self.columns.header.get(col).map_or("?", String::as_str);
            let text = text_field(field(col), name)?;
            *slot = parse_value(text, name, self.decimal_comma)?;
        }
        let time = match self.columns.time {
            None => None,
            Some(col) => {
                let name = self.column_name(col);
                let text = text_field(field(col), name)?;
                let raw = parse_time(&with_decimal_point(text, self.decimal_comma)).ok_or_else(|| {
                    bad(
                        BadRowKind::BadTimestamp,
                        format!(
                            "column `{name}`: `{}` is neither a number nor an ISO-8601 date-time",
                            Shown(text.as_bytes())
                        ),
                    )
                })?;
                let (value, is_iso) = match raw {
                    RawTime::Number(v) => (v, false),
                    RawTime::Iso(v) => (v, true),
                };
                if let Some(file_is_iso) = self.time_is_iso
                    && file_is_iso != is_iso
                {
                    let (this, earlier) =
                        if is_iso { ("an ISO-8601 date-time", "numbers") } else { ("a number", "ISO-8601 date-times") };
                    return Err(bad(
                        BadRowKind::BadTimestamp,
                        format!("column `{name}`: `{text}` is {this} but earlier rows have {earlier}"),
                    )
                    .into());
                }
                Some((value, is_iso))
            }
        };
        let label = match self.columns.label {
            None => None,
            Some(col) => Some(text_field(field(col), self.column_name(col))?),
        };
        let user = match self.columns.user {
            None => None,
            Some(col) => Some(text_field(field(col), self.column_name(col))?),
        };

        // Every field is good: keep the row.
        let ordinal = self.spool.rows();
        let mut raw_time = 0.0;
        if let Some((value, is_iso)) = time {
            self.time_is_iso = Some(is_iso);
            raw_time = value;
            self.times_integer &= value.fract() == 0.0;
            if let Some(previous) = self.previous_raw_time {
                let step = value - previous;
                self.raw_steps.offer(step);
                if step > 0.0 {
                    self.positive_raw_steps.offer(step);
                } else if step == 0.0 {
                    self.zero_steps += 1;
                }
            }
            self.previous_raw_time = Some(value);
            self.first_raw_time.get_or_insert(value);
        }
        let mut label_code = 0;
        if let Some(label) = label {
            let (exact, lower) = (&self.class_index, &self.class_index_lower);
            let (names, codes) = (&mut self.unknown_names, &mut self.unknown_code);
            let known = exact.len() as u32;
            label_code = self.label_cache.get_or(label, |l| {
                if let Some(&i) = exact.get(l).or_else(|| lower.get(&l.to_lowercase())) {
                    return u32::from(i);
                }
                if let Some(&code) = codes.get(l) {
                    return code;
                }
                if names.len() >= MAX_UNKNOWN_LABEL_NAMES {
                    return known + MAX_UNKNOWN_LABEL_NAMES as u32;
                }
                let code = known + names.len() as u32;
                names.push(l.to_string());
                codes.insert(l.to_string(), code);
                code
            });
            if let Some(k) = label_code.checked_sub(known) {
                let k = k as usize;
                if self.unknown_counts.len() <= k {
                    self.unknown_counts.resize(k + 1, 0);
                }
                if let Some(c) = self.unknown_counts.get_mut(k) {
                    *c += 1;
                }
            }
        }
        let mut user_id = 0;
        if let Some(user) = user {
            let (index, names) = (&mut self.user_index, &mut self.user_names);
            user_id = self.user_cache.get_or(user, |u| {
                let next = names.len() as u32;
                *index.entry(u.to_string()).or_insert_with(|| {
                    names.push(u.to_string());
                    next
                })
            });
        }
        if let Some([x, y, z]) = self.accel_xyz {
            let v = |c: usize| f64::from(self.row_values.get(c).copied().unwrap_or(f32::NAN));
            self.magnitudes.offer((v(x).powi(2) + v(y).powi(2) + v(z).powi(2)).sqrt());
        }
        let limit = f64::from(f32::MAX) / MAX_UNIT_FACTOR;
        if self.accel.iter().any(|&c| self.row_values.get(c).is_some_and(|v| f64::from(v.abs()) >= limit)) {
            let accel = self.accel.iter().filter_map(|&c| self.row_values.get(c).copied()).collect();
            self.at_risk.push(AtRisk { ordinal, line, label_code, accel });
        }
        let row = SpooledRow { raw_time, file_row: data_row, label_code, user: user_id };
        self.spool.push(&self.row_values, row).map_err(RowError::Spool)?;
        self.report.rows_kept += 1;
        Ok(())
    }

    /// The whole-file decisions, then the stream of kept rows.
    fn finish(mut self, opts: &LoadOptions) -> Result<RowStream, DataError> {
        if self.report.rows_read == 0 {
            return Err(DataError::HeaderOnly { file: self.file });
        }
        if self.report.rows_kept == 0 {
            return Err(DataError::NoUsableRows { file: self.file, report: Box::new(self.report) });
        }
        let factor = self.decide_unit(opts);
        let dropped = self.drop_non_finite_after_conversion(factor);
        if self.report.rows_kept == 0 {
            return Err(DataError::NoUsableRows { file: self.file, report: Box::new(self.report) });
        }
        if self.columns.label.is_some() {
            self.check_labels(opts)?;
        }
        let time = self.decide_time()?;
        let rate = self.card.sample_rate_hz;
        let spool = self.spool.into_reader().map_err(|source| DataError::Spool { file: self.file.clone(), source })?;
        Ok(RowStream {
            file: self.file,
            report: self.report,
            spool,
            values: vec![0.0; self.card.channels.len()],
            accel: self.accel,
            factor,
            dropped,
            ordinal: 0,
            known_classes: self.class_index.len() as u32,
            has_labels: self.columns.label.is_some(),
            has_users: self.columns.user.is_some(),
            user_names: self.user_names,
            rate,
            time,
            first_file_row: None,
            previous_time: None,
            steps: MedianSample::new(MEDIAN_SAMPLE),
        })
    }

    /// Refuses unknown labels unless asked to ignore them (then counts them in the report).
    fn check_labels(&mut self, opts: &LoadOptions) -> Result<(), DataError> {
        let counts = &self.unknown_counts;
        let rows: usize = counts.iter().sum();
        if rows == 0 {
            return Ok(());
        }
        let mut named: Vec<(String, usize)> =
            self.unknown_names.iter().cloned().zip(counts.iter().copied()).filter(|(_, n)| *n > 0).collect();
        named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Some(&further) = counts.get(MAX_UNKNOWN_LABEL_NAMES).filter(|&&n| n > 0) {
            named.push((format!("(more than {MAX_UNKNOWN_LABEL_NAMES} other names)"), further));
        }
        if !opts.ignore_unknown_labels {
            let file = self.file.clone();
            return Err(DataError::UnknownLabels { file, labels: named, classes: self.card.classes.clone() });
        }
        self.report.ignored_label_rows = rows;
        self.report.ignored_labels = named;
        Ok(())
    }

    /// Decides the accelerometer unit from the median magnitude (docs/FORMATS.md §1); returns the factor to apply.
    fn decide_unit(&mut self, opts: &LoadOptions) -> f64 {
        if self.accel.is_empty() {
            self.report.accel_unit = UnitDecision::NotApplicable;
            if opts.accel_unit.is_some() || self.card.units.accel != AccelUnit::AsIs {
                self.report.notes.push(
                    "no accelerometer channel among the card's channels is known by name: unit not checked".into(),
                );
            }
            return 1.0;
        }
        let median = self.accel_xyz.and_then(|_| self.magnitudes.median());
        if median.is_none() && opts.accel_unit.is_none() && self.card.units.accel != AccelUnit::AsIs {
            self.report.notes.push(
                "unit detection needs the accelerometer's x, y and z channels; the values are used as they are".into(),
            );
        }
        let decision = decide(self.card.units.accel, opts.accel_unit, median);
        let factor = decision.factor();
        match &decision {
            UnitDecision::Ambiguous { .. } => self.report.warnings.push(
                "the accelerometer unit could not be told from the data (see above); if you know it, say so with \
                 --accel-unit"
                    .into(),
            ),
            UnitDecision::NoTarget { .. } => self
                .report
                .warnings
                .push("the model card's accelerometer unit is as-is, so --accel-unit has nothing to convert to".into()),
            _ => {}
        }
        if matches!(decision, UnitDecision::Known { source: UnitSource::Detected, .. }) && !self.magnitudes.is_exact() {
            self.report.notes.push(format!(
                "the median |a| is estimated from an evenly spaced sample of {} of the file's {} rows",
                thousands(self.magnitudes.sampled() as u64),
                thousands(self.magnitudes.offered())
            ));
        }
        self.report.accel_unit = decision;
        factor
    }

    /// Rows whose values overflow `f32` in the unit conversion become bad rows; returns their ordinals.
    fn drop_non_finite_after_conversion(&mut self, factor: f64) -> Vec<u64> {
        if factor == 1.0 || self.at_risk.is_empty() {
            return Vec::new();
        }
        let unit = self.report.accel_unit.clone();
        let known = self.class_index.len() as u32;
        let mut dropped = Vec::new();
        for row in std::mem::take(&mut self.at_risk) {
            if row.accel.iter().all(|&v| converted(v, factor).is_finite()) {
                continue;
            }
            self.report.add_bad_row(row.line, BadRowKind::NonFiniteAfterConversion, || {
                format!("a value is too large for the model's unit after conversion ({unit})")
            });
            self.report.rows_kept -= 1;
            if self.columns.label.is_some()
                && let Some(k) = row.label_code.checked_sub(known)
                && let Some(c) = self.unknown_counts.get_mut(k as usize)
            {
                *c = c.saturating_sub(1);
            }
            dropped.push(row.ordinal);
        }
        dropped
    }

    /// The timestamp kind (docs/FORMATS.md §1) and what the rows' times are made of.
    fn decide_time(&mut self) -> Result<TimeRule, DataError> {
        let rate = self.card.sample_rate_hz;
        let kind = match (self.columns.time, self.time_is_iso) {
            (None, _) | (_, None) => TimestampKind::Absent,
            (Some(_), Some(true)) => TimestampKind::Iso8601,
            (Some(_), Some(false)) => TimestampKind::Seconds,
        };
        self.report.timestamps = kind;
        if kind == TimestampKind::Absent {
            return Ok(TimeRule::RowsAtRate { offset: 0.0 });
        }
        let steps = self.raw_steps.offered();
        let median = self.raw_steps.median();
        if let Some(m) = median
            && m < 0.0
        {
            return Err(DataError::TimeReversed { file: self.file.clone(), median_step: m, steps });
        }
        let repeated = steps > 0 && self.zero_steps as f64 >= REPEATED_STEP_SHARE * steps as f64;
        // Milliseconds: every value integer-like and the typical forward step nearer the card's period as ms.
        let typical = if repeated { self.positive_raw_steps.median() } else { median };
        let kind = match kind {
            TimestampKind::Seconds if self.times_integer && typical.is_some_and(|s| step_is_milliseconds(s, rate)) => {
                TimestampKind::Milliseconds
            }
            other => other,
        };
        self.report.timestamps = kind;
        let divisor = if kind == TimestampKind::Milliseconds { 1000.0 } else { 1.0 };
        if !repeated {
            return Ok(TimeRule::FromFile { divisor });
        }
        let zero_share = 100.0 * self.zero_steps as f64 / steps as f64;
        self.report.median_step_s = median.map(|m| m / divisor);
        self.report.notes.push(format!(
            "timestamps repeat: {} of {} steps between rows are zero ({zero_share:.0}%), as when a phone stamps \
             several samples at once; the rows are taken as consecutive samples at the model's {rate} Hz from the \
             first timestamp (segments still break at user changes and skipped rows, not at timestamp jumps)",
            thousands(self.zero_steps),
            thousands(steps),
        ));
        let offset = self.first_raw_time.unwrap_or(0.0) / divisor;
        Ok(TimeRule::RowsAtRate { offset })
    }
}

/// The card's accelerometer channels, and its x, y and z axes when all three are there.
fn accel_channels(card: &ModelCard) -> (Vec<usize>, Option<[usize; 3]>) {
    let known: Vec<Option<KnownChannel>> = card.channels.iter().map(|c| KnownChannel::from_name(c)).collect();
    let accel: Vec<usize> = known
        .iter()
        .enumerate()
        .filter(|(_, k)| k.is_some_and(|k| k.sensor == Sensor::Accel))
        .map(|(i, _)| i)
        .collect();
    let axis = |a: char| known.iter().position(|k| *k == Some(KnownChannel { sensor: Sensor::Accel, axis: a }));
    let xyz = match (axis('x'), axis('y'), axis('z')) {
        (Some(x), Some(y), Some(z)) => Some([x, y, z]),
        _ => None,
    };
    (accel, xyz)
}

/// An accelerometer value in the model's unit.
#[inline]
fn converted(v: f32, factor: f64) -> f32 {
    (f64::from(v) * factor) as f32
}

/// How the second pass gives each row its time in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeRule {
    /// The file's timestamp divided by `divisor` (1000 for milliseconds).
    FromFile { divisor: f64 },
    /// `offset + file_row / rate` (relative to the first kept row when there is an offset): no timestamp column,
    /// or timestamps that repeat.
    RowsAtRate { offset: f64 },
}

/// One kept row in the model's channel order and units.
#[derive(Debug, Clone, Copy)]
pub struct Row<'r> {
    pub values: &'r [f32],
    /// Seconds (see `Recording::time`).
    pub time: f64,
    /// 0-based data row in the file.
    pub file_row: u32,
    /// Class index (`IGNORED_LABEL` for an ignored label); `None` without a label column.
    pub label: Option<u16>,
    /// Index into [`RowStream::user_names`]; `None` without a user column.
    pub user: Option<u32>,
}

impl Recording {
    /// Appends a kept row of a [`RowStream`] (whose [`RowStream::empty_recording`] this is).
    pub fn push_row(&mut self, row: &Row<'_>) {
        for (column, &v) in self.channels.iter_mut().zip(row.values) {
            column.push(v);
        }
        self.time.push(row.time);
        self.file_row.push(row.file_row);
        if let (Some(labels), Some(l)) = (self.labels.as_mut(), row.label) {
            labels.push(l);
        }
        if let (Some(users), Some(u)) = (self.users.as_mut(), row.user) {
            users.push(u);
        }
    }
}

/// The kept rows of a file after the first pass, in file order (see [`open_csv`]). The load report is complete
/// once every row was read ([`RowStream::finish`]).
#[derive(Debug)]
pub struct RowStream {
    file: PathBuf,
    report: LoadReport,
    spool: SpoolReader,
    values: Vec<f32>,
    accel: Vec<usize>,
    factor: f64,
    /// Ordinals of spooled rows dropped after conversion, ascending.
    dropped: Vec<u64>,
    ordinal: u64,
    known_classes: u32,
    has_labels: bool,
    has_users: bool,
    user_names: Vec<String>,
    rate: f64,
    time: TimeRule,
    first_file_row: Option<u32>,
    previous_time: Option<f64>,
    steps: MedianSample,
}

impl RowStream {
    /// The file, as given.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Whether rows carry labels and users.
    pub fn has_labels(&self) -> bool {
        self.has_labels
    }

    pub fn has_users(&self) -> bool {
        self.has_users
    }

    /// Names of the users met in the file (`Row::user` indexes them).
    pub fn user_names(&self) -> &[String] {
        &self.user_names
    }

    /// The load report so far (the timestamp statistics are added by [`RowStream::finish`]).
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// Rows the stream will give.
    /// An empty recording shaped for this file's rows (fill it with [`Recording::push_row`]).
    pub fn empty_recording(&self, card: &ModelCard) -> Recording {
        Recording {
            source: self.file.clone(),
            channel_names: card.channels.clone(),
            channels: vec![Vec::with_capacity(self.rows_hint()); card.channels.len()],
            labels: self.has_labels.then(Vec::new),
            users: self.has_users.then(Vec::new),
            user_names: self.user_names.clone(),
            ..Recording::default()
        }
    }

    pub fn rows_hint(&self) -> usize {
        self.report.rows_kept
    }

    /// The next kept row, `None` after the last.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, DataError> {
        loop {
            let Some(spooled) = self
                .spool
                .next_row(&mut self.values)
                .map_err(|source| DataError::Spool { file: self.file.clone(), source })?
            else {
                return Ok(None);
            };
            let ordinal = self.ordinal;
            self.ordinal += 1;
            if self.factor != 1.0 {
                for &c in &self.accel {
                    if let Some(v) = self.values.get_mut(c) {
                        *v = converted(*v, self.factor);
                    }
                }
            }
            if self.dropped.first() == Some(&ordinal) {
                self.dropped.remove(0);
                continue;
            }
            let time = match self.time {
                TimeRule::FromFile { divisor } => {
                    let t = if divisor == 1.0 { spooled.raw_time } else { spooled.raw_time / divisor };
                    self.note_step(t);
                    t
                }
                TimeRule::RowsAtRate { offset } => {
                    let first = *self.first_file_row.get_or_insert(spooled.file_row);
                    if offset == 0.0 && self.report.timestamps == TimestampKind::Absent {
                        f64::from(spooled.file_row) / self.rate
                    } else {
                        offset + f64::from(spooled.file_row - first) / self.rate
                    }
                }
            };
            let code = if spooled.label_code < self.known_classes { spooled.label_code as u16 } else { IGNORED_LABEL };
            let label = self.has_labels.then_some(code);
            let user = self.has_users.then_some(spooled.user);
            return Ok(Some(Row { values: &self.values, time, file_row: spooled.file_row, label, user }));
        }
    }

    /// Counts gaps and steps back in time (on the file's own timestamps).
    fn note_step(&mut self, t: f64) {
        if let Some(previous) = self.previous_time.replace(t) {
            let dt = t - previous;
            self.steps.offer(dt);
            if dt < 0.0 {
                self.report.time_backwards += 1;
            } else if dt > GAP_PERIODS / self.rate {
                self.report.time_gaps += 1;
            }
        }
    }

    /// The complete load report (call after the last row).
    pub fn finish(mut self) -> LoadReport {
        if let TimeRule::FromFile { .. } = self.time {
            let rate = self.rate;
            let kind = self.report.timestamps;
            let step = self.steps.median();
            self.report.median_step_s = step;
            if let Some(step) = step {
                if step <= 0.0 {
                    self.report.warnings.push(format!(
                        "the median step between timestamps is {step} s: the timestamps do not advance, so every \
                         row is its own segment"
                    ));
                } else if ((1.0 / step) / rate - 1.0).abs() > 0.1 {
                    self.report.warnings.push(format!(
                        "the timestamps say {:.2} Hz ({kind}), but the model expects {rate} Hz",
                        1.0 / step
                    ));
                }
            }
        }
        self.report.bad_row_details.sort_by_key(|b| b.line);
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_break_bit_trick_agrees_with_a_plain_search() {
        let samples: [&[u8; 8]; 6] =
            [b"abcdefgh", b"abc\ndefg", b"\rbcdefgh", b"abcdefg\n", b"\x8a\x0b\x0c\x09\x8d\xff\x00\x01", b"1.234,5\r"];
        for s in samples {
            let plain = s.iter().any(|&b| b == b'\n' || b == b'\r');
            assert_eq!(has_line_break(u64::from_le_bytes(*s)), plain, "{s:?}");
        }
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            assert_eq!(has_line_break(word), b == b'\n' || b == b'\r', "byte {b}");
        }
    }

    #[test]
    fn delimiter_is_sniffed_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a,b,c\n1,2,3"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter(b"abc"), b',');
    }

    #[test]
    fn values_parse_with_reasons() {
        assert_eq!(parse_value("1.5", "Ax", false).ok(), Some(1.5));
        assert_eq!(parse_value("1,5", "Ax", true).ok(), Some(1.5));
        assert!(parse_value("1,5", "Ax", false).is_err());
        let e = parse_value("NaN", "Ax", false).err().unwrap();
        assert_eq!(e.kind, BadRowKind::NonFinite);
        let e = parse_value("1e39", "Ax", false).err().unwrap();
        assert!(e.reason.contains("too large"), "{}", e.reason);
        let e = parse_value("abc", "Ay", false).err().unwrap();
        assert_eq!(e.kind, BadRowKind::NotANumber);
        assert!(e.reason.contains("`Ay`") && e.reason.contains("abc"));
    }
}
