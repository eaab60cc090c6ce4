//! The session recorder: tees what the worker sees into a folder (docs/FORMATS.md §4, "Session recordings").
//!
//! It lives in the worker because the event channel to the UI may drop events: every sample and every window the
//! worker classifies reaches the recorder. The files are append-only; whole lines are collected in memory and
//! written (one `write` per file) at least every [`FLUSH_EVERY`], so a process killed with `kill -9` loses at most
//! that much, and a torn line can only be the very last one (which the CSV loader counts as a bad row).
//! `session.json` is replaced atomically: at the start, when the first source opens, and at the end.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::LivePrediction;
use crate::data::GAP_PERIODS;
use crate::eval::format_float;
use crate::model::ModelCard;
use crate::monitor::alerts::{Alert, AlertKind};
use crate::source::{SampleBatch, SourceInfo, SourceKind, SourceSpec};

/// Longest time between two writes of the buffered lines.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// The jump the recording clock makes at a segment break that the source time alone would not show.
const SEGMENT_JUMP_S: f64 = 1.0;
/// Format tag of `session.json`.
pub const SESSION_FORMAT: &str = "har-session/1";

/// Where to record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordTarget {
    /// This folder: created when missing; refused when it exists and is not empty.
    Dir(PathBuf),
    /// A new folder named after the start time (`2026-12-02_10-17-20`, `-2`, `-3` ... when taken) inside this one.
    NewUnder(PathBuf),
}

/// What the worker tells the watchers about the recorder.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordingEvent {
    /// Recording into `dir` began.
    Started { dir: PathBuf },
    /// The recording in `dir` ended and its files are complete; `error` says why when it ended on a failure.
    Stopped { dir: PathBuf, samples: u64, predictions: u64, error: Option<String> },
    /// A recording could not start.
    Failed { message: String },
}

/// A failure of the recorder, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("cannot record into {0}: the folder exists and is not empty (a recording is never overwritten)")]
    NotEmpty(PathBuf),
    #[error("cannot record into {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RecorderError + '_ {
    move |source| RecorderError::Io { path: path.to_path_buf(), source }
}

/// The folder for `target`, created (and empty).
fn prepare_dir(target: &RecordTarget) -> Result<PathBuf, RecorderError> {
    match target {
        RecordTarget::Dir(dir) => {
            match std::fs::read_dir(dir) {
                Ok(mut entries) => {
                    if entries.next().is_some() {
                        return Err(RecorderError::NotEmpty(dir.clone()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir).map_err(io_error(dir))?,
                Err(e) => return Err(io_error(dir)(e)),
            }
            Ok(dir.clone())
        }
        RecordTarget::NewUnder(parent) => {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
            let stem = chrono::Local::now().format("%Y-%m-%d_%H-%M-%S").to_string();
            for n in 1..1000 {
                let name = if n == 1 { stem.clone() } else { format!("{stem}-{n}") };
                let dir = parent.join(name);
                match std::fs::create_dir(&dir) {
                    Ok(()) => return Ok(dir),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(io_error(&dir)(e)),
                }
            }
            Err(RecorderError::NotEmpty(parent.join(stem)))
        }
    }
}

/// An append-only text file whose complete lines are buffered and written together.
struct Appender {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
}

impl Appender {
    fn create(path: PathBuf) -> Result<Appender, RecorderError> {
        let file = OpenOptions::new().append(true).create_new(true).open(&path).map_err(io_error(&path))?;
        Ok(Appender { path, file, pending: Vec::with_capacity(1 << 16) })
    }

    fn line(&mut self, text: &str) {
        self.pending.extend_from_slice(text.as_bytes());
        self.pending.push(b'\n');
    }

    fn flush(&mut self) -> Result<(), RecorderError> {
        if !self.pending.is_empty() {
            let result = self.file.write_all(&self.pending);
            self.pending.clear();
            result.map_err(io_error(&self.path))?;
        }
        Ok(())
    }
}

/// One CSV field: quoted when it holds a delimiter, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// SHA-256 of a file as lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let mut file = File::open(path)?;
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn model_json(path: &Path, card: &ModelCard) -> Value {
    json!({
        "name": card.name,
        "version": card.version,
        "path": path.display().to_string(),
        "sha256": sha256_file(path).ok(),
    })
}

fn source_json(info: &SourceInfo, spec: Option<&SourceSpec>) -> Value {
    let kind = match info.kind {
        SourceKind::Replay => "replay",
        SourceKind::Simulated => "simulated",
        SourceKind::Serial => "serial",
        SourceKind::Ble => "ble",
    };
    json!({
        "kind": kind,
        "name": info.name,
        "rate_hz": info.rate_hz,
        "has_labels": info.has_labels,
        "spec": spec.and_then(|s| serde_json::to_value(s).ok()),
    })
}

fn alert_kind(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Behaviour => "behaviour",
        AlertKind::LowConfidence => "low_confidence",
        AlertKind::PredictionDrift => "prediction_drift",
        AlertKind::InputDrift => "input_drift",
    }
}

/// A recording in progress.
pub struct Recorder {
    dir: PathBuf,
    samples: Appender,
    predictions: Appender,
    events: Appender,
    session: Value,
    classes: Vec<String>,
    channels: usize,
    window: usize,
    period: f64,
    labels: bool,
    started: Instant,
    started_epoch_ms: i64,
    last_flush: Instant,
    /// Rows written to `samples.csv`.
    rows: u64,
    /// Windows written to `predictions.csv`.
    windows: u64,
    alerts: u64,
    /// Recording-clock milliseconds (from the start) of the last `window` + batch rows, oldest first.
    recent_ms: std::collections::VecDeque<i64>,
    /// Source time and recording time (seconds) of the last row written.
    last: Option<(f64, f64)>,
    /// Recording time = source time + `offset` within a segment.
    offset: f64,
    /// The first row of the batch being processed.
    batch_row: u64,
    source_seen: bool,
}

impl Recorder {
    /// Starts a recording of a session with this model; `source` is the open source, if any (its labels decide
    /// whether `samples.csv` has an `activity` column).
    pub fn start(
        target: &RecordTarget,
        model: &Path,
        card: &ModelCard,
        source: Option<(&SourceInfo, Option<&SourceSpec>)>,
    ) -> Result<Recorder, RecorderError> {
        let dir = prepare_dir(target)?;
        let labels = source.is_some_and(|(info, _)| info.has_labels);
        let now = chrono::Utc::now();
        let session = json!({
            "format": SESSION_FORMAT,
            "started": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "started_epoch_ms": now.timestamp_millis(),
            "ended": null,
            "complete": false,
            "model": model_json(model, card),
            "models": [],
            "source": source.map(|(info, spec)| source_json(info, spec)),
            "rate_hz": card.sample_rate_hz,
            "channels": card.channels,
            "classes": card.classes,
            "window": card.window,
            "step": card.step(),
            "labels": labels,
            "files": {"samples": "samples.csv", "predictions": "predictions.csv", "events": "events.jsonl"},
            "samples": 0,
            "predictions": 0,
            "alerts": 0,
            "stop_reason": null,
        });
        let mut recorder = Recorder {
            samples: Appender::create(dir.join("samples.csv"))?,
            predictions: Appender::create(dir.join("predictions.csv"))?,
            events: Appender::create(dir.join("events.jsonl"))?,
            dir,
            session,
            classes: card.classes.clone(),
            channels: card.channels.len(),
            window: card.window,
            period: 1.0 / card.sample_rate_hz,
            labels,
            started: Instant::now(),
            started_epoch_ms: now.timestamp_millis(),
            last_flush: Instant::now(),
            rows: 0,
            windows: 0,
            alerts: 0,
            recent_ms: std::collections::VecDeque::new(),
            last: None,
            offset: 0.0,
            batch_row: 0,
            source_seen: source.is_some(),
        };
        let mut header: Vec<String> = vec!["timestamp".into()];
        header.extend(card.channels.iter().map(|c| csv_field(c)));
        if labels {
            header.push("activity".into());
        }
        recorder.samples.line(&header.join(","));
        let mut header: Vec<String> =
            ["window", "start_row", "end_row", "t_start", "t_end", "predicted", "confidence"].map(String::from).into();
        header.extend(card.classes.iter().map(|c| csv_field(&format!("p_{c}"))));
        if labels {
            header.push("true".into());
        }
        recorder.predictions.line(&header.join(","));
        recorder.write_session()?;
        let model = recorder.session["model"].clone();
        recorder.session["models"] = json!([model.clone()]);
        recorder.event("start", json!({"dir": recorder.dir.display().to_string(), "model": model}));
        recorder.flush()?;
        Ok(recorder)
    }

    /// The recording's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rows written to `samples.csv` so far.
    pub fn samples(&self) -> u64 {
        self.rows
    }

    /// Windows written to `predictions.csv` so far.
    pub fn predictions(&self) -> u64 {
        self.windows
    }

    /// Seconds since the recording started.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn write_session(&self) -> Result<(), RecorderError> {
        let path = self.dir.join("session.json");
        let mut text = serde_json::to_string_pretty(&self.session).unwrap_or_default();
        text.push('\n');
        crate::output::write_bytes(&path, text.as_bytes())
            .map_err(|e| RecorderError::Io { path: e.path, source: e.source })
    }

    /// One line of `events.jsonl`: `{"type", "wall" (UTC), "t" (recording seconds), ...fields}`.
    pub fn event(&mut self, kind: &str, fields: Value) {
        let mut object = serde_json::Map::new();
        object.insert("type".into(), json!(kind));
        object.insert("wall".into(), json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
        object.insert("t".into(), json!(self.started.elapsed().as_secs_f64()));
        if let Value::Object(map) = fields {
            object.extend(map);
        }
        self.events.line(&Value::Object(object).to_string());
    }

    /// An alert the worker raised.
    pub fn alert(&mut self, alert: &Alert) {
        self.alerts += 1;
        let class = alert.class.and_then(|c| self.classes.get(c).cloned());
        self.event(
            "alert",
            json!({"kind": alert_kind(alert.kind), "source_time": alert.time, "class": class, "message": alert.message}),
        );
    }

    /// A source opened (the first one is also written into `session.json`).
    pub fn source_opened(&mut self, info: &SourceInfo, spec: Option<&SourceSpec>) -> Result<(), RecorderError> {
        let source = source_json(info, spec);
        self.event("source", json!({"source": source.clone()}));
        if !self.source_seen {
            self.source_seen = true;
            self.session["source"] = source;
            self.write_session()?;
        }
        Ok(())
    }

    /// Another model was loaded; false when its card does not fit the recording's columns (the caller stops it).
    pub fn model_loaded(&mut self, path: &Path, card: &ModelCard) -> bool {
        let model = model_json(path, card);
        self.event("model", json!({"model": model.clone()}));
        if let Value::Array(models) = &mut self.session["models"] {
            models.push(model);
        }
        card.classes == self.classes && card.channels.len() == self.channels && card.window == self.window
    }

    /// Appends a batch to `samples.csv`. Rows get integer epoch milliseconds on the recording clock: the source
    /// time from the recording's start, with a jump of at least one second at every segment break, so that a
    /// file loader cuts windows where the worker did and the timestamps always advance.
    pub fn samples_batch(&mut self, batch: &SampleBatch) {
        self.batch_row = self.rows;
        let mut line = String::with_capacity(128);
        for i in 0..batch.len() {
            let t = batch.time[i];
            let rec = match self.last {
                None => {
                    self.offset = -t;
                    0.0
                }
                Some((last_src, last_rec)) => {
                    if i == 0 && batch.starts_segment {
                        let jump = t - last_src;
                        let jump = if jump > (GAP_PERIODS + 0.5) * self.period { jump } else { SEGMENT_JUMP_S };
                        self.offset = last_rec + jump - t;
                    }
                    let rec = t + self.offset;
                    // A source clock that goes back inside a segment (it should not) still gives advancing rows.
                    if rec <= last_rec { last_rec + self.period } else { rec }
                }
            };
            self.last = Some((t, rec));
            let ms = (rec * 1000.0).round() as i64;
            // A window may end anywhere in this batch: keep its rows and the window before them.
            if self.recent_ms.len() >= self.window + batch.len() {
                self.recent_ms.pop_front();
            }
            self.recent_ms.push_back(ms);
            line.clear();
            line.push_str(&(self.started_epoch_ms + ms).to_string());
            for c in &batch.channels {
                line.push(',');
                line.push_str(&c.get(i).map(|&v| format_float(v)).unwrap_or_default());
            }
            if self.labels {
                line.push(',');
                let label = batch.labels.as_ref().and_then(|l| l.get(i)).and_then(|&l| self.classes.get(l as usize));
                if let Some(name) = label {
                    line.push_str(&csv_field(name));
                }
            }
            self.samples.line(&line);
            self.rows += 1;
        }
    }

    /// Appends a window that ended at sample `end_in_batch` of the batch last given to [`Self::samples_batch`].
    /// A window that began before the recording did is left out, so `predictions.csv` holds exactly the windows
    /// that `predict` cuts from `samples.csv`.
    pub fn prediction(&mut self, p: &LivePrediction, end_in_batch: usize) {
        let end_row = self.batch_row + end_in_batch as u64 + 1;
        let Some(start_row) = end_row.checked_sub(self.window as u64) else { return };
        // `recent_ms` ends at the batch's last row.
        let back = (self.rows - end_row) as usize;
        let n = self.recent_ms.len();
        let (Some(&last_ms), Some(&first_ms)) = (
            n.checked_sub(1 + back).and_then(|i| self.recent_ms.get(i)),
            n.checked_sub(self.window + back).and_then(|i| self.recent_ms.get(i)),
        ) else {
            return;
        };
        let t_start = (self.started_epoch_ms + first_ms) as f64 / 1000.0;
        let t_end = (self.started_epoch_ms + last_ms) as f64 / 1000.0 + self.period;
        let class = |i: usize| self.classes.get(i).cloned().unwrap_or_else(|| i.to_string());
        let mut fields = vec![
            self.windows.to_string(),
            start_row.to_string(),
            end_row.to_string(),
            format_float(t_start),
            format_float(t_end),
            csv_field(&class(p.predicted)),
            format_float(p.confidence),
        ];
        fields.extend(p.probabilities.iter().map(|&x| format_float(x)));
        if self.labels {
            fields.push(p.true_label.map(|t| csv_field(&class(t))).unwrap_or_default());
        }
        self.predictions.line(&fields.join(","));
        self.windows += 1;
    }

    /// Writes what is buffered when [`FLUSH_EVERY`] has passed since the last write.
    pub fn tick(&mut self) -> Result<(), RecorderError> {
        if self.last_flush.elapsed() >= FLUSH_EVERY { self.flush() } else { Ok(()) }
    }

    /// Writes what is buffered now.
    pub fn flush(&mut self) -> Result<(), RecorderError> {
        self.last_flush = Instant::now();
        self.samples.flush()?;
        self.predictions.flush()?;
        self.events.flush()
    }

    /// Ends the recording: the last lines, a `stop` event, the files synced and `session.json` completed.
    /// `reason` is `stopped`, `shutdown`, `ended` or an error message.
    pub fn finish(mut self, reason: &str) -> Result<RecordingEvent, RecorderError> {
        let seconds = self.started.elapsed().as_secs_f64();
        self.event(
            "stop",
            json!({"reason": reason, "samples": self.rows, "predictions": self.windows, "alerts": self.alerts}),
        );
        let flushed = self.flush();
        for f in [&self.samples, &self.predictions, &self.events] {
            let _ = f.file.sync_data();
        }
        let now = chrono::Utc::now();
        self.session["ended"] = json!(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        self.session["seconds"] = json!(seconds);
        self.session["samples"] = json!(self.rows);
        self.session["predictions"] = json!(self.windows);
        self.session["alerts"] = json!(self.alerts);
        self.session["stop_reason"] = json!(reason);
        self.session["complete"] = json!(flushed.is_ok());
        let written = self.write_session();
        flushed?;
        written?;
        Ok(RecordingEvent::Stopped {
            dir: self.dir.clone(),
            samples: self.rows,
            predictions: self.windows,
            error: None,
        })
    }
}
