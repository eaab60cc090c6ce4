//! The rows a first pass over a sensor file kept, in a compact binary form, so that the second pass (after the
//! whole-file decisions: timestamp kind, accelerometer unit, unknown labels) reads them back without parsing the
//! CSV again. The file itself is read once, so a pipe (`--data <(zcat f)`) works like a regular file.
//!
//! A spool lives in memory (for a loader that keeps every row anyway) or, for streaming, in memory up to
//! [`SPILL_BYTES`] and beyond that in an anonymous temporary file, so memory does not grow with the file and a
//! small file never touches the disk.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Buffer of the temporary file's reader and writer.
const FILE_BUFFER: usize = 256 * 1024;

/// Bytes a streaming spool keeps in memory before it moves to a temporary file (about 110,000 rows of six
/// channels).
pub(crate) const SPILL_BYTES: usize = 4 * 1024 * 1024;

/// One kept row as the first pass saw it (values in the file's unit, the timestamp as written).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SpooledRow {
    /// Raw timestamp (a number as written, or epoch seconds of an ISO-8601 date-time); 0 without a time column.
    pub raw_time: f64,
    /// 0-based data row in the file.
    pub file_row: u32,
    /// Label code of the first pass (a class index, or past the classes for an unknown label); 0 without labels.
    pub label_code: u32,
    /// User index; 0 without users.
    pub user: u32,
}

/// Bytes of one row with `channels` values.
fn record_len(channels: usize) -> usize {
    4 * channels + 8 + 4 + 4 + 4
}

/// Where a spool keeps its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpoolPlace {
    Memory,
    /// In memory up to [`SPILL_BYTES`], then in a temporary file.
    TemporaryFile,
}

/// A temporary file that is removed when dropped (on Unix it is unlinked as soon as it is open).
#[derive(Debug)]
struct TemporaryPath(Option<PathBuf>);

impl Drop for TemporaryPath {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn temporary_file() -> io::Result<(File, TemporaryPath)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = dir.join(format!("har-monitor-rows-{}-{n}-{nanos}.bin", std::process::id()));
        match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(file) => {
                let mut guard = TemporaryPath(Some(path));
                if cfg!(unix) && guard.0.as_deref().is_some_and(|p| std::fs::remove_file(p).is_ok()) {
                    guard.0 = None;
                }
                return Ok((file, guard));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a temporary file"))
}

/// The writing end of a spool.
#[derive(Debug)]
pub(crate) struct SpoolWriter {
    channels: usize,
    /// Move to a temporary file once the memory holds this many bytes (`None`: stay in memory).
    spill_at: Option<usize>,
    rows: u64,
    buffer: Vec<u8>,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Memory(Vec<u8>),
    File { file: BufWriter<File>, guard: TemporaryPath },
}

impl SpoolWriter {
    pub fn new(place: SpoolPlace, channels: usize) -> io::Result<SpoolWriter> {
        let spill_at = match place {
            SpoolPlace::Memory => None,
            SpoolPlace::TemporaryFile => Some(SPILL_BYTES),
        };
        Ok(SpoolWriter {
            channels,
            spill_at,
            rows: 0,
            buffer: Vec::with_capacity(record_len(channels)),
            sink: Sink::Memory(Vec::new()),
        })
    }

    pub fn push(&mut self, values: &[f32], row: SpooledRow) -> io::Result<()> {
        let b = &mut self.buffer;
        b.clear();
        for v in values.iter().take(self.channels) {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&row.raw_time.to_le_bytes());
        b.extend_from_slice(&row.file_row.to_le_bytes());
        b.extend_from_slice(&row.label_code.to_le_bytes());
        b.extend_from_slice(&row.user.to_le_bytes());
        if let Sink::Memory(bytes) = &self.sink
            && self.spill_at.is_some_and(|limit| bytes.len() + b.len() > limit)
        {
            self.spill()?;
        }
        match &mut self.sink {
            Sink::Memory(bytes) => bytes.extend_from_slice(&self.buffer),
            Sink::File { file, .. } => file.write_all(&self.buffer)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Moves the rows held in memory to a temporary file; later rows go there too.
    fn spill(&mut self) -> io::Result<()> {
        let (file, guard) = temporary_file()?;
        let mut file = BufWriter::with_capacity(FILE_BUFFER, file);
        if let Sink::Memory(bytes) = &self.sink {
            file.write_all(bytes)?;
        }
        self.sink = Sink::File { file, guard };
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Ends writing; the rows can now be read back in order.
    pub fn into_reader(self) -> io::Result<SpoolReader> {
        let source = match self.sink {
            Sink::Memory(bytes) => Source::Memory { bytes, at: 0 },
            Sink::File { file, guard, .. } => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.seek(SeekFrom::Start(0))?;
                Source::File { file: BufReader::with_capacity(FILE_BUFFER, file), _guard: guard }
            }
        };
        Ok(SpoolReader {
            channels: self.channels,
            rows_left: self.rows,
            record: vec![0; record_len(self.channels)],
            source,
        })
    }
}

/// The reading end of a spool: the rows in the order they were written.
#[derive(Debug)]
pub(crate) struct SpoolReader {
    channels: usize,
    rows_left: u64,
    record: Vec<u8>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Memory { bytes: Vec<u8>, at: usize },
    File { file: BufReader<File>, _guard: TemporaryPath },
}

fn le_f32(bytes: &[u8], at: usize) -> f32 {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(f32::NAN, f32::from_le_bytes)
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes)
}

fn le_f64(bytes: &[u8], at: usize) -> f64 {
    bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(f64::NAN, f64::from_le_bytes)
}

impl SpoolReader {
    /// Reads the next row's values into `values` (length `channels`); `None` after the last row.
    pub fn next_row(&mut self, values: &mut [f32]) -> io::Result<Option<SpooledRow>> {
        if self.rows_left == 0 {
            return Ok(None);
        }
        let len = self.record.len();
        let record: &[u8] = match &mut self.source {
            Source::Memory { bytes, at } => {
                let Some(r) = bytes.get(*at..*at + len) else {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the spooled rows end early"));
                };
                *at += len;
                r
            }
            Source::File { file, .. } => {
                file.read_exact(&mut self.record)?;
                &self.record
            }
        };
        for (c, slot) in values.iter_mut().enumerate().take(self.channels) {
            *slot = le_f32(record, 4 * c);
        }
        let at = 4 * self.channels;
        self.rows_left -= 1;
        Ok(Some(SpooledRow {
            raw_time: le_f64(record, at),
            file_row: le_u32(record, at + 8),
            label_code: le_u32(record, at + 12),
            user: le_u32(record, at + 16),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(place: SpoolPlace, n: u32) -> bool {
        let mut w = SpoolWriter::new(place, 2).unwrap();
        for i in 0..n {
            let row = SpooledRow { raw_time: f64::from(i) * 0.02, file_row: i + 3, label_code: i % 7, user: i / 100 };
            w.push(&[i as f32, -(i as f32)], row).unwrap();
        }
        assert_eq!(w.rows(), u64::from(n));
        let in_file = matches!(w.sink, Sink::File { .. });
        let mut r = w.into_reader().unwrap();
        let mut values = [0.0f32; 2];
        for i in 0..n {
            let row = r.next_row(&mut values).unwrap().unwrap();
            assert_eq!(values, [i as f32, -(i as f32)]);
            assert_eq!(row.raw_time, f64::from(i) * 0.02);
            assert_eq!((row.file_row, row.label_code, row.user), (i + 3, i % 7, i / 100));
        }
        assert!(r.next_row(&mut values).unwrap().is_none());
        in_file
    }

    #[test]
    fn rows_come_back_in_memory_and_from_a_file() {
        let past_the_limit = (SPILL_BYTES / record_len(2)) as u32 + 10;
        assert!(!round_trip(SpoolPlace::Memory, past_the_limit), "a memory spool stays in memory");
        assert!(!round_trip(SpoolPlace::TemporaryFile, 1000), "a small streaming spool stays in memory");
        assert!(round_trip(SpoolPlace::TemporaryFile, past_the_limit), "a large one moves to a file");
    }
}
