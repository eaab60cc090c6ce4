//! Replay of a CSV file on the worker's clock. Gaps in the file (between users, recording pauses) are closed up on
//! the replay clock so playback never stalls; the windower still sees them as segment breaks.

use std::path::Path;

use super::{LabelSpan, ReadState, SampleBatch, Source, SourceError, SourceInfo, SourceKind};
use crate::data::{self, GAP_PERIODS, LoadOptions, Recording};
use crate::model::ModelCard;

pub struct ReplaySource {
    info: SourceInfo,
    recording: Recording,
    /// Replay-clock time of each row (seconds from the first row, gaps closed up).
    play_time: Vec<f64>,
    /// Whether a segment break (user change or gap) lies just before each row.
    breaks_before: Vec<bool>,
    next: usize,
    /// The next batch starts a new segment (at the start and after a seek).
    restart: bool,
}

impl ReplaySource {
    pub fn open(path: &Path, card: &ModelCard) -> Result<Self, SourceError> {
        let loaded = data::load_csv(path, card, &LoadOptions::default())?;
        let report = &loaded.report;
        let mut notes: Vec<String> = report.notes.iter().chain(&report.warnings).cloned().collect();
        if report.bad_rows > 0 {
            notes.push(format!("{} bad rows skipped: {}", report.bad_rows, report.first_bad_rows(3)));
        }
        Ok(Self::from_recording(loaded.recording, card, notes))
    }

    /// Replays an already loaded recording.
    pub fn from_recording(recording: Recording, card: &ModelCard, notes: Vec<String>) -> Self {
        let period = 1.0 / card.sample_rate_hz;
        let n = recording.len();
        let mut play_time = Vec::with_capacity(n);
        let mut breaks_before = Vec::with_capacity(n);
        let mut clock = 0.0;
        for i in 0..n {
            if i > 0 {
                let dt = recording.time[i] - recording.time[i - 1];
                let user_change = recording.users.as_ref().is_some_and(|u| u[i] != u[i - 1]);
                let gap = !(dt > 0.0 && dt <= GAP_PERIODS * period);
                clock += if gap { period } else { dt };
                breaks_before.push(gap || user_change);
            } else {
                breaks_before.push(false);
            }
            play_time.push(clock);
        }
        let name = recording
            .source
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| recording.source.display().to_string());
        let info = SourceInfo {
            name,
            kind: SourceKind::Replay,
            rate_hz: card.sample_rate_hz,
            duration: play_time.last().copied(),
            has_labels: recording.labels.is_some(),
            seekable: true,
            notes,
        };
        ReplaySource { info, recording, play_time, breaks_before, next: 0, restart: true }
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Replay-clock time of each row.
    pub fn play_time(&self) -> &[f64] {
        &self.play_time
    }

    /// True when a segment break lies just before row `i` (the windower must restart there).
    pub fn break_before(&self, i: usize) -> bool {
        self.breaks_before.get(i).copied().unwrap_or(false)
    }

    /// Index of the next row to be read.
    pub fn next_row(&self) -> usize {
        self.next
    }
}

impl Source for ReplaySource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn paced(&self) -> bool {
        true
    }

    fn read(&mut self, until: f64, max: usize, out: &mut SampleBatch) -> Result<ReadState, SourceError> {
        out.clear();
        let start = self.next;
        let mut end = start;
        while end < self.play_time.len() && end - start < max && self.play_time[end] <= until {
            // A segment break ends the batch, so that each batch is continuous.
            if end > start && self.breaks_before[end] {
                break;
            }
            end += 1;
        }
        if end > start {
            out.starts_segment = self.restart || self.breaks_before[start];
            self.restart = false;
            out.time.extend_from_slice(&self.play_time[start..end]);
            for (dst, src) in out.channels.iter_mut().zip(&self.recording.channels) {
                dst.extend_from_slice(&src[start..end]);
            }
            if let Some(labels) = &self.recording.labels {
                out.labels.get_or_insert_with(Vec::new).extend_from_slice(&labels[start..end]);
            } else {
                out.labels = None;
            }
        }
        self.next = end;
        Ok(if end >= self.play_time.len() { ReadState::Ended } else { ReadState::Open })
    }

    fn seek(&mut self, t: f64) -> Result<(), SourceError> {
        self.next = self.play_time.partition_point(|&p| p < t);
        self.restart = true;
        Ok(())
    }

    fn label_track(&self) -> Option<Vec<LabelSpan>> {
        let labels = self.recording.labels.as_ref()?;
        let period = 1.0 / self.info.rate_hz;
        let mut spans: Vec<LabelSpan> = Vec::new();
        for (i, (&l, &t)) in labels.iter().zip(&self.play_time).enumerate() {
            let class = (l != u16::MAX).then_some(l as usize);
            match spans.last_mut() {
                Some(last) if last.class == class && !self.breaks_before[i] => last.t_end = t + period,
                _ => spans.push(LabelSpan { t_start: t, t_end: t + period, class }),
            }
        }
        Some(spans)
    }

    fn position(&self) -> f64 {
        self.play_time.get(self.next).copied().or(self.info.duration).unwrap_or(0.0)
    }
}
