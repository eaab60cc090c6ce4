//! What the drift view knows, built from pipeline events: the model's baseline (or why there is none), the drift
//! reports of the stream placed on the source clock, the history of drift distances and sensor checks over the
//! session, and the verdict for the supervisor. Plain data, so it is tested without a UI.
//!
//! Two kinds of report arrive: closed chunks (every `chunk_windows` windows, the same chunks as `har-monitor drift`)
//! and rolling reports on the most recent `chunk_windows` windows (about once a second). The view shows the newer of
//! the two. An input-drift alarm is raised by either and cleared only by a closed chunk in which no sensor check
//! fired: a rolling report can flicker near a threshold, a closed chunk is the monitor's considered word.
//!
//! The history of the session holds the closed chunks, and the rolling reports made since the last of them (the
//! live tip of the plots).
//!
//! The drift monitor restarts after a seek, a loop or a new source (a new *epoch*). The history keeps what earlier
//! epochs measured at source times the current epoch has not reached yet, so a looping replay still shows the whole
//! file; the current epoch overwrites them as it plays.
//!
//! Each report carries the model's label-free performance estimate ([`crate::monitor::estimate`]); the history keeps
//! it per report, for the view's "Estimated accuracy" plot.
//!
//! The `drift` command judges a file's closed chunks through this same state ([`judge_report`]), so its JSON carries
//! the verdict and check readings the view shows for each chunk.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::eval::WindowPrediction;
use crate::format::clock;
use crate::monitor::{
    Baseline, CONFIDENCE_BINS, CheckOutcome, ChunkReport, DriftConfig, DriftReport, InputCheck, InputEvidence,
    PerformanceEstimate, ReferencePerformance, confidence_bin, unit_reading,
};
use crate::pipeline::{DriftStatus, Event, LivePrediction, LoadedModel};

/// History points kept: closed chunks (one per 5 minutes at 1×, so 20,000 are about 70 days) and the rolling reports
/// since the last of them.
pub const HISTORY_CAPACITY: usize = 20_000;
/// A check whose value reaches this share of its alarm threshold is shown as "near" the threshold.
pub const NEAR_SHARE: f64 = 0.75;
/// Per-channel PSI from which a raw channel is shown as a warning, and as drift (the usual PSI reading: below 0.1
/// no significant change, 0.1–0.25 moderate, above 0.25 significant).
pub const CHANNEL_PSI_WARNING: f64 = 0.1;
pub const CHANNEL_PSI_DRIFT: f64 = 0.25;

/// The four sensor checks of the input-drift rule (see [`crate::monitor`]), as the view groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorCheck {
    /// Accelerometer magnitude: units or gain.
    Magnitude,
    /// Gravity direction: the watch turned about its z axis.
    Rotation,
    /// High-frequency noise floor of the accelerometer and the gyroscope.
    Noise,
    /// Mean angular rate: a gyroscope bias.
    GyroOffset,
}

impl SensorCheck {
    pub const ALL: [SensorCheck; 4] =
        [SensorCheck::Magnitude, SensorCheck::Rotation, SensorCheck::Noise, SensorCheck::GyroOffset];

    pub fn label(self) -> &'static str {
        match self {
            SensorCheck::Magnitude => "Accelerometer magnitude",
            SensorCheck::Rotation => "Watch rotation about z",
            SensorCheck::Noise => "Sensor noise floor",
            SensorCheck::GyroOffset => "Gyroscope offset",
        }
    }

    /// What a change of this check means.
    pub fn meaning(self) -> &'static str {
        match self {
            SensorCheck::Magnitude => "units or gain of the accelerometer",
            SensorCheck::Rotation => "the watch sits turned on the wrist",
            SensorCheck::Noise => "another sensor, filter or noise level",
            SensorCheck::GyroOffset => "a bias of the gyroscope",
        }
    }

    fn index(self) -> usize {
        match self {
            SensorCheck::Magnitude => 0,
            SensorCheck::Rotation => 1,
            SensorCheck::Noise => 2,
            SensorCheck::GyroOffset => 3,
        }
    }

    /// The rule's checks this group shows (the noise floor: the accelerometer's and the gyroscope's).
    pub fn checks(self) -> &'static [InputCheck] {
        match self {
            SensorCheck::Magnitude => &[InputCheck::AccelScale],
            SensorCheck::Rotation => &[InputCheck::MountRotation],
            SensorCheck::Noise => &[InputCheck::AccelNoise, InputCheck::GyroNoise],
            SensorCheck::GyroOffset => &[InputCheck::GyroOffset],
        }
    }

    fn fired_in(self, evidence: &InputEvidence) -> bool {
        evidence.fired.iter().any(|c| self.checks().contains(c))
    }

    /// The group's severity: the largest of its checks' (see [`CheckOutcome::severity`]).
    fn severity_in(self, evidence: &InputEvidence) -> Option<f64> {
        self.checks().iter().filter_map(|&c| evidence.outcome(c)).filter_map(CheckOutcome::severity).reduce(f64::max)
    }

    /// Why the group's checks could not be made, in sentences (`None` when one of them was made).
    fn not_checked_in(self, evidence: &InputEvidence) -> Option<String> {
        let mut reasons = Vec::new();
        for &check in self.checks() {
            match evidence.outcome(check) {
                Some(CheckOutcome::NotChecked { reason }) => {
                    reasons.push(format!("{} not checked: {reason}", check.subject()))
                }
                Some(_) => return None,
                None => {}
            }
        }
        Some(if reasons.is_empty() { "not checked in these windows".to_string() } else { reasons.join("; ") })
    }
}

/// How a value stands against its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckLevel {
    NotChecked,
    Ok,
    /// Below the alarm threshold but at least [`NEAR_SHARE`] of it, or over it without the rest of the rule agreeing.
    Near,
    /// The check fired, in this report or in an earlier one that no clean closed chunk has cleared.
    Drift,
}

/// One sensor check's numbers in the report the view shows (and in each chunk of the `drift` JSON, `checks`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReading {
    pub check: SensorCheck,
    /// Where the value stands ([`CheckReading::level`]).
    #[serde(rename = "state")]
    pub level: CheckLevel,
    /// The measured value as text (`×1.003`, `+58°`, ...); `None` when the check could not be made.
    pub value: Option<String>,
    /// The alarm threshold as text.
    pub threshold: String,
    /// The value as a share of its alarm threshold (1 = at the threshold).
    pub severity: Option<f64>,
    pub fired: bool,
    /// A sentence under the numbers: what was measured, or why it was not.
    pub detail: String,
    /// Source time since which this check's alarm stands.
    pub since: Option<f64>,
}

impl CheckReading {
    /// Drift while the check's alarm stands (it fired in this report, or in an earlier one and no closed chunk has
    /// passed it since), otherwise how close the value is to the threshold.
    pub fn level(&self) -> CheckLevel {
        self.level
    }

    fn level_of(fired: bool, since: Option<f64>, severity: Option<f64>) -> CheckLevel {
        match (fired || since.is_some(), severity) {
            (true, _) => CheckLevel::Drift,
            (false, None) => CheckLevel::NotChecked,
            (false, Some(s)) if s >= NEAR_SHARE => CheckLevel::Near,
            (false, Some(_)) => CheckLevel::Ok,
        }
    }
}

/// Whether drift can be monitored for the loaded model.
#[derive(Debug, Clone, Default)]
pub enum BaselineState {
    /// No word from the pipeline yet.
    #[default]
    Waiting,
    /// The model has no baseline file: how to build one ([`Baseline::build_command`]).
    Missing {
        expected: PathBuf,
        command: String,
    },
    /// A baseline exists but cannot be used (or monitoring stopped); the message says why, the command how to
    /// build a new one.
    Unusable {
        path: PathBuf,
        message: String,
        command: String,
    },
    Loaded {
        path: PathBuf,
        baseline: Arc<Baseline>,
        message: String,
    },
}

/// A drift report placed on the source clock, with the confidence histogram of its windows.
#[derive(Debug, Clone)]
pub struct TimedReport {
    pub report: ChunkReport,
    /// Source time of the first window's start and the last window's end.
    pub t_start: f64,
    pub t_end: f64,
    /// A closed chunk (true) or a rolling report on the most recent windows.
    pub closed: bool,
    /// Share of the report's windows in each of [`CONFIDENCE_BINS`] confidence bins (the baseline's bins).
    pub confidence_histogram: Vec<f64>,
}

/// One report in the history of the session.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPoint {
    pub t_start: f64,
    pub t_end: f64,
    pub closed: bool,
    /// Measured in the current epoch (false: before the last seek or loop, not yet overwritten).
    pub current: bool,
    epoch: u64,
    pub windows: usize,
    pub js_distance: f64,
    pub prediction_drift: bool,
    pub input_drift: bool,
    /// Each check's value as a share of its threshold, in [`SensorCheck::ALL`] order.
    pub severity: [Option<f64>; 4],
    pub fired: [bool; 4],
    /// The report's label-free performance estimate (the "Estimated accuracy" plot).
    pub performance: Option<PerformanceEstimate>,
}

/// The supervisor's one-line answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictLevel {
    /// Nothing to judge yet (no model, no windows, fewer than the minimum).
    Waiting,
    /// Drift cannot be checked: no usable baseline.
    NoBaseline,
    SensorOk,
    InputDrift,
}

/// The drift verdict: the view's headline and the sentence under it (and each chunk's `verdict` in the `drift`
/// JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub level: VerdictLevel,
    pub headline: String,
    pub detail: String,
}

/// How the predicted-class mix compares with the baseline's: information, not an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMix {
    pub js_distance: f64,
    pub threshold: f64,
    pub changed: bool,
    /// The classes whose share moved most: (class index, baseline share, recent share), largest move first.
    pub largest_moves: Vec<(usize, f64, f64)>,
}

/// One sensor check's standing alarm.
#[derive(Debug, Clone, PartialEq)]
struct Alarm {
    since: f64,
    /// The newest report in which the check fired (a rolling report or a closed chunk).
    latest: Finding,
    /// The newest closed chunk in which it fired: what the newest input-drift alert (the banner) says.
    last_chunk: Option<Finding>,
}

/// What one report said about one check that fired.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    /// The finding in a few words ("watch rotated ~58° about z").
    description: String,
    closed: bool,
    start_window: usize,
    windows: usize,
    /// Source time of the report's end (for a closed chunk, when its alert was raised).
    t_end: f64,
}

/// Start and end time and confidence of one classified window of the current epoch.
#[derive(Debug, Clone, Copy)]
struct WindowMark {
    t_start: f64,
    t_end: f64,
    confidence: f32,
}

/// Everything the drift view shows.
#[derive(Debug, Default)]
pub struct DriftState {
    pub config: DriftConfig,
    pub model: Option<Arc<LoadedModel>>,
    pub baseline: BaselineState,
    /// What loading the source said about the data (units detected or not, bad rows).
    pub source_notes: Vec<String>,
    /// The newest rolling report and closed chunk of the current epoch.
    pub rolling: Option<TimedReport>,
    pub last_chunk: Option<TimedReport>,
    /// Chunks closed since the source opened (all epochs).
    pub chunks_closed: usize,
    /// Reports of the session with a verdict, ordered by end time.
    pub history: VecDeque<HistoryPoint>,
    /// Source time of the newest classified window.
    pub now: f64,
    epoch: u64,
    /// Source time where the current epoch started.
    epoch_start: f64,
    /// The most recent windows of the epoch (at least a chunk's worth) and how many the epoch has seen.
    marks: VecDeque<WindowMark>,
    windows_in_epoch: usize,
    alarms: [Option<Alarm>; 4],
}

impl DriftState {
    pub fn new(config: DriftConfig) -> Self {
        DriftState { config, ..Default::default() }
    }

    pub fn classes(&self) -> &[String] {
        self.model.as_ref().map(|m| m.card.classes.as_slice()).unwrap_or(&[])
    }

    pub fn reference(&self) -> Option<&Baseline> {
        match &self.baseline {
            BaselineState::Loaded { baseline, .. } => Some(baseline),
            _ => None,
        }
    }

    /// The baseline's realised accuracy, macro-F1 and calibration on its labeled reference windows, when it has them.
    pub fn reference_performance(&self) -> Option<&ReferencePerformance> {
        self.reference()?.reference_performance.as_ref()
    }

    /// The label-free performance estimate of the report the view shows (see [`crate::monitor::estimate`]).
    pub fn estimate(&self) -> Option<&PerformanceEstimate> {
        self.current()?.report.performance.as_ref()
    }

    /// Windows the drift monitor has seen since it last restarted.
    pub fn windows_in_epoch(&self) -> usize {
        self.windows_in_epoch
    }

    /// The report the view shows: the newer of the rolling report and the last closed chunk (the chunk on a tie).
    pub fn current(&self) -> Option<&TimedReport> {
        match (&self.rolling, &self.last_chunk) {
            (Some(r), Some(c)) => Some(if r.report.end_window() > c.report.end_window() { r } else { c }),
            (r, c) => r.as_ref().or(c.as_ref()),
        }
    }

    /// The current report when it has enough windows for a verdict.
    pub fn judged(&self) -> Option<&TimedReport> {
        self.current().filter(|r| r.report.windows >= self.config.min_verdict_windows)
    }

    /// Applies one pipeline event (the events the drift view does not need are ignored).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ModelLoaded(info) => {
                self.model = Some(Arc::clone(info));
                self.baseline = BaselineState::Waiting;
                self.clear_session();
            }
            Event::DriftStatus(status) => {
                let model_path = self.model.as_ref().map(|m| m.path.clone()).unwrap_or_default();
                self.baseline = match status {
                    DriftStatus::Loaded { path, baseline } => BaselineState::Loaded {
                        path: path.clone(),
                        baseline: Arc::clone(baseline),
                        message: status.message(&model_path),
                    },
                    DriftStatus::Missing { expected } => BaselineState::Missing {
                        expected: expected.clone(),
                        command: Baseline::build_command(&model_path),
                    },
                    DriftStatus::Unusable { path, why } => BaselineState::Unusable {
                        path: path.clone(),
                        message: why.clone(),
                        command: Baseline::build_command(&model_path),
                    },
                };
                self.new_epoch(self.now);
            }
            Event::SourceOpened { info, .. } => {
                self.source_notes = info.notes.clone();
                self.clear_session();
            }
            Event::Seeked { position } => self.new_epoch(*position),
            Event::Prediction(p) => {
                self.now = p.t_end;
                let keep = 2 * self.config.chunk_windows.max(1);
                if self.marks.len() >= keep {
                    self.marks.pop_front();
                }
                self.marks.push_back(WindowMark { t_start: p.t_start, t_end: p.t_end, confidence: p.confidence });
                self.windows_in_epoch += 1;
            }
            Event::DriftChunk(report) => {
                let timed = self.place(report, true);
                self.chunks_closed += 1;
                self.record(&timed);
                self.last_chunk = Some(timed);
            }
            Event::DriftRolling(report) => {
                let timed = self.place(report, false);
                self.record(&timed);
                self.rolling = Some(timed);
            }
            Event::Samples(_)
            | Event::Alert(_)
            | Event::Status(_)
            | Event::Ended
            | Event::Error(_)
            | Event::SourceClosed
            | Event::Recording(_) => {}
        }
    }

    /// A new source or model: nothing measured so far applies.
    fn clear_session(&mut self) {
        self.history.clear();
        self.chunks_closed = 0;
        self.now = 0.0;
        self.new_epoch(0.0);
    }

    /// The drift monitor restarted at source time `position`.
    fn new_epoch(&mut self, position: f64) {
        self.epoch += 1;
        self.epoch_start = position;
        self.now = position;
        self.marks.clear();
        self.windows_in_epoch = 0;
        self.rolling = None;
        self.last_chunk = None;
        self.alarms = Default::default();
        for point in &mut self.history {
            point.current = false;
        }
    }

    /// Window `index` of the epoch, when it is still kept.
    fn mark(&self, index: usize) -> Option<&WindowMark> {
        let first = self.windows_in_epoch - self.marks.len();
        index.checked_sub(first).and_then(|i| self.marks.get(i))
    }

    /// Places a report on the source clock from the windows it covers. When some of them never arrived (a dropped
    /// event), the times are counted back from the newest window in steps of the card's step.
    fn place(&self, report: &ChunkReport, closed: bool) -> TimedReport {
        let step_s = self.model.as_ref().map_or(2.0, |m| m.card.step() as f64 / m.card.sample_rate_hz);
        let window_s = self.model.as_ref().map_or(4.0, |m| m.card.window_seconds());
        let last = report.end_window().saturating_sub(1);
        let t_end = self.mark(last).map_or(self.now, |m| m.t_end);
        let t_start = self
            .mark(report.start_window)
            .map_or_else(|| t_end - window_s - step_s * last.saturating_sub(report.start_window) as f64, |m| m.t_start);
        let mut counts = [0usize; CONFIDENCE_BINS];
        for index in report.start_window..report.end_window() {
            if let Some(m) = self.mark(index) {
                counts[confidence_bin(f64::from(m.confidence))] += 1;
            }
        }
        let total = counts.iter().sum::<usize>().max(1) as f64;
        TimedReport {
            report: report.clone(),
            t_start,
            t_end,
            closed,
            confidence_histogram: counts.iter().map(|&c| c as f64 / total).collect(),
        }
    }

    /// Adds a report to the history and updates the sensor alarms.
    fn record(&mut self, timed: &TimedReport) {
        let report = &timed.report;
        if report.windows < self.config.min_verdict_windows {
            return;
        }
        let superseded = self.last_chunk.as_ref().is_some_and(|c| report.end_window() <= c.report.end_window());
        if !timed.closed && superseded {
            return;
        }
        let evidence = &report.evidence;
        let point = HistoryPoint {
            t_start: timed.t_start,
            t_end: timed.t_end,
            closed: timed.closed,
            current: true,
            epoch: self.epoch,
            windows: report.windows,
            js_distance: report.js_distance,
            prediction_drift: report.prediction_drift,
            input_drift: report.input_drift,
            severity: SensorCheck::ALL.map(|c| c.severity_in(evidence)),
            fired: SensorCheck::ALL.map(|c| c.fired_in(evidence)),
            performance: report.performance.clone(),
        };
        // What an earlier epoch measured up to this time is replaced, and a closed chunk replaces the rolling
        // reports within its span: the history keeps the chunks (as `har-monitor drift` reports them) and the
        // rolling reports since the last of them.
        let (from, to) = (self.epoch_start, point.t_end);
        let epoch = self.epoch;
        let closed = point.closed;
        self.history.retain(|p| {
            let earlier_pass = p.epoch != epoch && p.t_end >= from && p.t_end <= to;
            let rolled_into_chunk = closed && p.epoch == epoch && !p.closed && p.t_end <= to;
            !earlier_pass && !rolled_into_chunk
        });
        let at = self.history.partition_point(|p| p.t_end <= point.t_end);
        self.history.insert(at, point);
        while self.history.len() > HISTORY_CAPACITY {
            self.history.pop_front();
        }

        for check in SensorCheck::ALL {
            if check.fired_in(evidence) {
                // A closed chunk vouches for its whole span; a rolling report only for the moment it was made.
                let seen = if timed.closed { timed.t_start } else { timed.t_end };
                let earlier = self.alarms[check.index()].take();
                let since = earlier.as_ref().map_or(seen, |a| a.since.min(seen));
                let latest = Finding {
                    description: self.describe(check, evidence),
                    closed: timed.closed,
                    start_window: report.start_window,
                    windows: report.windows,
                    t_end: timed.t_end,
                };
                let last_chunk = if timed.closed { Some(latest.clone()) } else { earlier.and_then(|a| a.last_chunk) };
                self.alarms[check.index()] = Some(Alarm { since, latest, last_chunk });
            } else if timed.closed {
                self.alarms[check.index()] = None;
            }
        }
    }

    /// The check's finding in a few words, for the headline: "watch rotated ~60° about z" (the library's wording,
    /// the same as the input-drift alert's).
    fn describe(&self, check: SensorCheck, e: &InputEvidence) -> String {
        let (limits, units) = (&self.config.input, self.reference().map(|b| &b.units));
        match check {
            SensorCheck::Magnitude => e.finding(InputCheck::AccelScale, limits, units),
            SensorCheck::Rotation => e.finding(InputCheck::MountRotation, limits, units),
            SensorCheck::Noise => {
                let parts: Vec<String> = e
                    .fired
                    .iter()
                    .filter(|c| matches!(c, InputCheck::AccelNoise | InputCheck::GyroNoise))
                    .map(|&c| e.finding(c, limits, units))
                    .collect();
                if parts.is_empty() { "sensor noise changed".into() } else { parts.join(", ") }
            }
            SensorCheck::GyroOffset => e.finding(InputCheck::GyroOffset, limits, units),
        }
    }

    fn gyro_unit(&self) -> String {
        self.reference().map_or_else(|| "deg/s".to_string(), |b| b.units.gyro.clone())
    }

    /// "units look like g instead of m/s^2" when the magnitude ratio matches the factor between two units.
    fn units_reading(&self, e: &InputEvidence) -> Option<String> {
        let baseline = self.reference()?;
        e.accel_scale.and_then(|r| unit_reading(baseline.units.accel, r))
    }

    /// The four checks' numbers in the current report (empty before a report with a verdict).
    pub fn readings(&self) -> Vec<CheckReading> {
        let Some(timed) = self.judged() else { return Vec::new() };
        let e = &timed.report.evidence;
        let t = &self.config.input;
        SensorCheck::ALL
            .into_iter()
            .map(|check| {
                let not_checked = || check.not_checked_in(e).unwrap_or_else(|| "not checked in these windows".into());
                let (value, threshold, detail) = match check {
                    SensorCheck::Magnitude => (
                        e.accel_scale.map(|r| format!("×{r:.3}")),
                        format!("alarm outside ×{:.2}–×{:.2}", 1.0 / t.accel_scale, t.accel_scale),
                        match (e.accel_scale, self.units_reading(e)) {
                            (_, Some(reading)) => format!("{reading}: check the units the watch exports"),
                            (Some(_), None) if e.fired.contains(&InputCheck::AccelScale) => format!(
                                "{:.0}% of windows off the baseline's scale: part of the recording in other units \
                                 or gain",
                                100.0 * e.accel_off_scale_share.unwrap_or(0.0)
                            ),
                            (Some(_), None) => "median |a| per predicted class against the baseline".into(),
                            (None, None) => not_checked(),
                        },
                    ),
                    SensorCheck::Rotation => (
                        e.rotation.map(|r| format!("{:+.0}°", r.angle_deg)),
                        format!("alarm from {:.0}° if undoing it fits", t.rotation_deg),
                        match e.rotation {
                            Some(r) => format!(
                                "postures off by {:.1}°; {:.1}° once undone ({} windows)",
                                r.mismatch_deg, r.mismatch_undone_deg, r.windows
                            ),
                            None => not_checked(),
                        },
                    ),
                    SensorCheck::Noise => (
                        match (e.accel_noise_ratio, e.gyro_noise_ratio) {
                            (None, None) => None,
                            (a, g) => Some(format!("{} · {}", ratio_text(a), ratio_text(g))),
                        },
                        format!("alarm outside ×{:.2}–×{:.2}", 1.0 / t.noise_ratio, t.noise_ratio),
                        if e.accel_noise_ratio.is_some() || e.gyro_noise_ratio.is_some() {
                            "accelerometer · gyroscope noise in quiet windows vs baseline".into()
                        } else {
                            not_checked()
                        },
                    ),
                    SensorCheck::GyroOffset => {
                        let unit = self.gyro_unit();
                        (
                            e.gyro_offset.map(|o| format!("{:.2} {unit}", norm(o))),
                            match e.gyro_offset_threshold {
                                Some(limit) => format!("alarm above {limit:.2} {unit}"),
                                None => "alarm above the offset threshold".into(),
                            },
                            match e.gyro_offset {
                                Some(o) => {
                                    format!("mean angular rate off by ({:+.2}, {:+.2}, {:+.2})", o[0], o[1], o[2])
                                }
                                None => not_checked(),
                            },
                        )
                    }
                };
                let (severity, fired) = (check.severity_in(e), check.fired_in(e));
                let since = self.alarms[check.index()].as_ref().map(|a| a.since);
                CheckReading {
                    check,
                    level: CheckReading::level_of(fired, since, severity),
                    value,
                    threshold,
                    severity,
                    fired,
                    detail,
                    since,
                }
            })
            .collect()
    }

    /// The headline for the supervisor.
    pub fn verdict(&self) -> Verdict {
        let waiting = |headline: String, detail: String| Verdict { level: VerdictLevel::Waiting, headline, detail };
        let Some(model) = &self.model else {
            return waiting("Waiting for the model…".into(), String::new());
        };
        match &self.baseline {
            BaselineState::Waiting => return waiting("Looking for the drift baseline…".into(), String::new()),
            BaselineState::Missing { expected, .. } => {
                return Verdict {
                    level: VerdictLevel::NoBaseline,
                    headline: "No baseline for this model: drift cannot be checked".into(),
                    detail: format!(
                        "{} {} has no baseline at {}. Build one from data the model is known to work on (below).",
                        model.card.name,
                        model.card.version,
                        expected.display()
                    ),
                };
            }
            BaselineState::Unusable { message, .. } => {
                return Verdict {
                    level: VerdictLevel::NoBaseline,
                    headline: "The drift baseline cannot be used".into(),
                    detail: message.clone(),
                };
            }
            BaselineState::Loaded { .. } => {}
        }
        let alarms: Vec<(SensorCheck, &Alarm)> =
            SensorCheck::ALL.into_iter().filter_map(|c| self.alarms[c.index()].as_ref().map(|a| (c, a))).collect();
        if let Some(since) = alarms.iter().map(|(_, a)| a.since).reduce(f64::min) {
            let what: Vec<&str> = alarms.iter().map(|(_, a)| a.latest.description.as_str()).collect();
            let mut detail = Self::rolling_against_alert(&alarms);
            detail.push_str(&format!(
                "The sensor or the way it is worn changed, not just what people do: predictions may be wrong. The \
                 alarm clears when a chunk of {} windows passes every sensor check.",
                self.config.chunk_windows
            ));
            return Verdict {
                level: VerdictLevel::InputDrift,
                headline: format!("Input drift since {}: {}", clock(since), what.join("; ")),
                detail,
            };
        }
        match self.judged() {
            Some(timed) => Verdict {
                level: VerdictLevel::SensorOk,
                headline: "Sensor OK".into(),
                detail: format!(
                    "None of the four sensor checks fired over the last {} windows ({}–{}): the watch reads as it \
                     did for the baseline.",
                    timed.report.windows,
                    clock(timed.t_start),
                    clock(timed.t_end)
                ),
            },
            None => waiting(
                if self.windows_in_epoch < self.config.min_verdict_windows {
                    format!(
                        "Collecting windows for a first verdict: {} of {}",
                        self.windows_in_epoch, self.config.min_verdict_windows
                    )
                } else {
                    format!("First verdict with the next drift update ({} windows so far)", self.windows_in_epoch)
                },
                format!(
                    "The drift monitor compares the most recent {} windows with the baseline; it gives no verdict on \
                     fewer than {}.",
                    self.config.chunk_windows, self.config.min_verdict_windows
                ),
            ),
        }
    }

    /// When the headline's numbers come from a rolling report, which windows they were measured over and what the
    /// newest alert (raised by a closed chunk, the banner's text) measured instead: the two can differ (a rotation of
    /// ~66° over the last 150 windows, ~58° in the chunk that raised the alarm). Empty when they agree.
    fn rolling_against_alert(alarms: &[(SensorCheck, &Alarm)]) -> String {
        let rolling: Vec<&Alarm> = alarms.iter().map(|(_, a)| *a).filter(|a| !a.latest.closed).collect();
        let Some(newest) = rolling.iter().map(|a| &a.latest).max_by(|a, b| a.t_end.total_cmp(&b.t_end)) else {
            return String::new();
        };
        let chunks: Vec<&Finding> = rolling.iter().filter_map(|a| a.last_chunk.as_ref()).collect();
        let measured =
            format!("Measured over the {} most recent windows (to {}).", newest.windows, clock(newest.t_end));
        let Some(alert) = chunks.iter().max_by(|a, b| a.t_end.total_cmp(&b.t_end)) else {
            return format!("{measured} No closed chunk has confirmed it yet, so no alert was raised. ");
        };
        let differs =
            rolling.iter().any(|a| a.last_chunk.as_ref().is_some_and(|c| c.description != a.latest.description));
        if !differs {
            return String::new();
        }
        let alert_said: Vec<&str> = chunks.iter().map(|c| c.description.as_str()).collect();
        format!(
            "{measured} The alert at {} measured the closed chunk of windows {}–{}: {}. ",
            clock(alert.t_end),
            alert.start_window,
            (alert.start_window + alert.windows).saturating_sub(1),
            alert_said.join("; ")
        )
    }

    /// A notice when the accelerometer's units look wrong: the drift monitor finds |a| at the factor between two
    /// units (or off by more than ×2, which no gain error explains), or loading the file could not tell the unit.
    pub fn units_notice(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(timed) = self.judged() {
            let e = &timed.report.evidence;
            match (e.accel_scale, self.units_reading(e)) {
                (Some(ratio), Some(reading)) => parts.push(format!(
                    "|a| is ×{ratio:.3} of the baseline's: {reading}. Check what the watch exports, or set \
                     --accel-unit."
                )),
                (Some(ratio), None) if e.fired.contains(&InputCheck::AccelScale) && !(0.5..=2.0).contains(&ratio) => {
                    parts.push(format!(
                        "|a| is ×{ratio:.2} of the baseline's, more than a gain error: a unit or scale mix-up? \
                         Check what the watch exports, or set --accel-unit."
                    ))
                }
                _ => {}
            }
        }
        parts.extend(
            self.source_notes
                .iter()
                .filter(|n| n.to_ascii_lowercase().contains("unit"))
                .map(|n| format!("Loading: {n}.")),
        );
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The predicted-class mix of the current report against the baseline's.
    pub fn class_mix(&self) -> Option<ClassMix> {
        let r = &self.judged()?.report;
        let mut moves: Vec<(usize, f64, f64)> = r
            .baseline_distribution
            .iter()
            .zip(&r.class_distribution)
            .enumerate()
            .map(|(c, (&before, &after))| (c, before, after))
            .collect();
        moves.sort_by(|a, b| (b.2 - b.1).abs().total_cmp(&(a.2 - a.1).abs()));
        moves.truncate(3);
        Some(ClassMix {
            js_distance: r.js_distance,
            threshold: self.config.js_threshold,
            changed: r.prediction_drift,
            largest_moves: moves,
        })
    }

    /// PSI level of one raw channel of the current report.
    pub fn channel_level(psi: f64) -> CheckLevel {
        if !psi.is_finite() {
            CheckLevel::NotChecked
        } else if psi >= CHANNEL_PSI_DRIFT {
            CheckLevel::Drift
        } else if psi >= CHANNEL_PSI_WARNING {
            CheckLevel::Near
        } else {
            CheckLevel::Ok
        }
    }
}

/// One window of a file as the drift view would have seen it: its span on the source clock (start, just after the
/// last sample) and the model's confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowTiming {
    pub t_start: f64,
    pub t_end: f64,
    pub confidence: f32,
}

/// Places the windows of a scored file on the replay's clock, one at a time as they are scored: seconds from the
/// first window's start, each window ending one sample period after its last row, as the live pipeline places them.
#[derive(Debug, Clone, Default)]
pub struct WindowClock {
    t0: Option<f64>,
    period: f64,
    pub windows: Vec<WindowTiming>,
}

impl WindowClock {
    pub fn new(sample_rate_hz: f64) -> Self {
        let period = if sample_rate_hz > 0.0 { 1.0 / sample_rate_hz } else { 0.0 };
        WindowClock { t0: None, period, windows: Vec::new() }
    }

    pub fn push(&mut self, p: &WindowPrediction) {
        let t0 = *self.t0.get_or_insert(p.t_start);
        self.windows.push(WindowTiming {
            t_start: p.t_start - t0,
            t_end: p.t_end - t0 + self.period,
            confidence: p.confidence(),
        });
    }
}

/// A chunk of the `drift` command's report with the verdict and the sensor-check readings the drift view shows when
/// that chunk closes. Serialises to the chunk's docs/FORMATS.md §4 object plus `verdict` and `checks`.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedChunk {
    #[serde(flatten)]
    pub chunk: ChunkReport,
    pub verdict: Verdict,
    pub checks: Vec<CheckReading>,
}

/// The `drift` command's output: docs/FORMATS.md §4's report with each chunk judged as the drift view judges it.
#[derive(Debug, Clone, Serialize)]
pub struct JudgedDriftReport {
    pub baseline: String,
    pub chunks: Vec<JudgedChunk>,
    pub notes: Vec<String>,
}

/// Judges the closed chunks of a file's drift report one after the other, through the same [`DriftState`] the
/// drift view reads (one computation): alarms stand from chunk to chunk until a chunk passes every check, as live.
/// `windows` holds every window of the stream in order (see [`WindowClock`]).
pub fn judge_report(
    report: &DriftReport,
    model: Arc<LoadedModel>,
    baseline_path: PathBuf,
    baseline: Arc<Baseline>,
    config: DriftConfig,
    windows: &[WindowTiming],
) -> JudgedDriftReport {
    let mut state = DriftState::new(config);
    state.apply(&Event::ModelLoaded(model));
    state.apply(&Event::DriftStatus(DriftStatus::Loaded { path: baseline_path, baseline }));
    let mut fed = 0;
    let mut chunks = Vec::with_capacity(report.chunks.len());
    for chunk in &report.chunks {
        let end = chunk.end_window().min(windows.len());
        for (index, w) in windows.iter().enumerate().take(end).skip(fed) {
            state.apply(&Event::Prediction(LivePrediction {
                index: index as u64,
                t_start: w.t_start,
                t_end: w.t_end,
                probabilities: Vec::new(),
                predicted: 0,
                confidence: w.confidence,
                true_label: None,
                latency: Duration::ZERO,
            }));
        }
        fed = fed.max(end);
        state.apply(&Event::DriftChunk(Box::new(chunk.clone())));
        chunks.push(JudgedChunk { chunk: chunk.clone(), verdict: state.verdict(), checks: state.readings() });
    }
    JudgedDriftReport { baseline: report.baseline.clone(), chunks, notes: report.notes.clone() }
}

fn norm(v: [f64; 3]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_string(), |r| format!("×{r:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccelUnit, ModelCard};
    use crate::monitor::{ChannelBaseline, InputDriftThresholds, RotationEstimate};
    use crate::pipeline::LivePrediction;
    use crate::source::{SourceInfo, SourceKind};
    use std::path::Path;
    use std::time::Duration;

    const STEP_S: f64 = 2.0;
    const WINDOW_S: f64 = 4.0;

    fn card() -> ModelCard {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.model.json");
        ModelCard::load(&path).unwrap()
    }

    fn model_at(path: &Path) -> Event {
        Event::ModelLoaded(Arc::new(LoadedModel {
            path: path.to_path_buf(),
            card: card(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            runtime_version: String::new(),
        }))
    }

    /// A small baseline with the card's shape; the view only reads its summary numbers.
    fn baseline() -> Baseline {
        let card = card();
        let k = card.classes.len();
        Baseline {
            format: crate::monitor::BASELINE_FORMAT.into(),
            model: card.name.clone(),
            model_version: card.version.clone(),
            classes: card.classes.clone(),
            channels: card.channels.clone(),
            units: card.units.clone(),
            window: card.window,
            sample_rate_hz: card.sample_rate_hz,
            source: "reference.csv".into(),
            windows: 1000,
            predicted_counts: vec![1000 / k as u64; k],
            predicted_distribution: vec![1.0 / k as f64; k],
            true_counts: None,
            true_distribution: None,
            mean_confidence: 0.95,
            low_confidence_threshold: 0.6,
            low_confidence_share: 0.05,
            confidence_histogram: vec![0.1; CONFIDENCE_BINS],
            channel_stats: card
                .channels
                .iter()
                .map(|c| ChannelBaseline {
                    channel: c.clone(),
                    mean: 0.0,
                    std: 1.0,
                    psi_edges: Vec::new(),
                    psi_shares: vec![1.0],
                    sample: vec![0.0; 10],
                })
                .collect(),
            window_features: Vec::new(),
            reference_performance: None,
        }
    }

    fn source_opened() -> Event {
        Event::SourceOpened {
            info: SourceInfo {
                name: "rec.csv".into(),
                kind: SourceKind::Replay,
                rate_hz: 50.0,
                duration: Some(1200.0),
                has_labels: false,
                seekable: true,
                notes: Vec::new(),
            },
            labels: None,
        }
    }

    /// A state with the demo card, a loaded baseline and an open source.
    fn loaded() -> DriftState {
        let mut state = DriftState::new(DriftConfig::default());
        state.apply(&model_at(Path::new("/models/demo.onnx")));
        state.apply(&Event::DriftStatus(DriftStatus::Loaded {
            path: "/models/demo.baseline.json".into(),
            baseline: Arc::new(baseline()),
        }));
        state.apply(&source_opened());
        state
    }

    /// Window `i` of a stream that starts at `t0`: it starts `i` steps later and lasts one window.
    fn prediction(i: u64, t0: f64, confidence: f32) -> Event {
        let t_start = t0 + i as f64 * STEP_S;
        Event::Prediction(LivePrediction {
            index: i,
            t_start,
            t_end: t_start + WINDOW_S,
            probabilities: Vec::new(),
            predicted: 0,
            confidence,
            true_label: None,
            latency: Duration::ZERO,
        })
    }

    fn report(start_window: usize, windows: usize, fired: &[InputCheck]) -> ChunkReport {
        let k = card().classes.len();
        ChunkReport {
            start_window,
            windows,
            class_distribution: vec![1.0 / k as f64; k],
            baseline_distribution: vec![1.0 / k as f64; k],
            js_distance: 0.05,
            psi: 0.01,
            chi2_p: 0.9,
            mean_confidence: 0.9,
            low_confidence_share: 0.1,
            channels: Vec::new(),
            prediction_drift: false,
            input_drift: !fired.is_empty() && windows >= 30,
            evidence: InputEvidence {
                accel_scale: Some(1.0),
                accel_off_scale_share: Some(0.0),
                rotation: Some(RotationEstimate {
                    angle_deg: if fired.contains(&InputCheck::MountRotation) { 58.0 } else { 2.0 },
                    mismatch_deg: 7.0,
                    mismatch_undone_deg: 1.5,
                    windows,
                }),
                accel_noise_ratio: Some(1.0),
                gyro_noise_ratio: Some(1.0),
                gyro_offset: Some([0.1, 0.0, 0.0]),
                gyro_offset_threshold: Some(1.0),
                fired: fired.to_vec(),
                checks: Vec::new(),
                notes: Vec::new(),
            }
            .with_outcomes(&InputDriftThresholds::default()),
            performance: None,
            notes: Vec::new(),
        }
    }

    /// Outcomes again after a test changed the measurements of `r`.
    fn remeasured(mut r: ChunkReport) -> ChunkReport {
        r.evidence = r.evidence.with_outcomes(&InputDriftThresholds::default());
        r
    }

    /// Feeds windows `from..to` of a stream starting at source time 0, confidences cycling 0.95, 0.55, 0.15.
    fn feed(state: &mut DriftState, from: u64, to: u64) {
        for i in from..to {
            let confidence = [0.95, 0.55, 0.15][i as usize % 3];
            state.apply(&prediction(i, 0.0, confidence));
        }
    }

    #[test]
    fn a_closed_chunk_is_placed_on_the_source_clock_with_its_confidence_histogram() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        let chunk = state.last_chunk.as_ref().unwrap();
        // Window 0 starts at 0 s; window 149 starts 149 steps later and lasts one window.
        assert_eq!((chunk.t_start, chunk.t_end), (0.0, 149.0 * STEP_S + WINDOW_S));
        // A third of the windows in each of the bins of 0.95, 0.55 and 0.15 (bins of width 0.1).
        let mut expected = vec![0.0; CONFIDENCE_BINS];
        for bin in [9, 5, 1] {
            expected[bin] = 1.0 / 3.0;
        }
        for (got, want) in chunk.confidence_histogram.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-12, "{:?}", chunk.confidence_histogram);
        }
        assert_eq!(state.chunks_closed, 1);
        assert_eq!(state.history.len(), 1);
    }

    #[test]
    fn the_view_shows_the_newer_of_the_rolling_report_and_the_last_chunk() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        state.apply(&Event::DriftRolling(Box::new(report(0, 150, &[]))));
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        assert!(state.current().unwrap().closed, "a tie goes to the closed chunk");
        assert_eq!(state.history.len(), 1, "the chunk replaces the rolling report over its span");
        assert!(state.history[0].closed);
        feed(&mut state, 150, 200);
        state.apply(&Event::DriftRolling(Box::new(report(50, 150, &[]))));
        let current = state.current().unwrap();
        assert!(!current.closed);
        assert_eq!(current.t_start, 50.0 * STEP_S);
        assert_eq!(state.history.len(), 2, "a rolling report after the chunk is the live tip");
        // A rolling report over the same windows as the last chunk, sent after it, adds nothing.
        feed(&mut state, 200, 300);
        state.apply(&Event::DriftChunk(Box::new(report(150, 150, &[]))));
        state.apply(&Event::DriftRolling(Box::new(report(150, 150, &[]))));
        assert!(state.history.iter().all(|p| p.closed), "{:?}", state.history);
    }

    #[test]
    fn no_verdict_before_the_minimum_number_of_windows() {
        let mut state = loaded();
        feed(&mut state, 0, 20);
        state.apply(&Event::DriftRolling(Box::new(report(0, 20, &[InputCheck::MountRotation]))));
        let verdict = state.verdict();
        assert_eq!(verdict.level, VerdictLevel::Waiting);
        assert!(verdict.headline.contains("20 of 30"), "{}", verdict.headline);
        assert!(state.history.is_empty(), "reports without a verdict are not history");
        assert!(state.readings().is_empty());
    }

    #[test]
    fn input_drift_names_the_check_and_since_when_and_clears_only_with_a_clean_chunk() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        assert_eq!(state.verdict().level, VerdictLevel::SensorOk);
        assert_eq!(state.verdict().headline, "Sensor OK");

        // The rotation is first seen by a rolling report: dated when it was seen (its end).
        feed(&mut state, 150, 250);
        state.apply(&Event::DriftRolling(Box::new(report(100, 150, &[InputCheck::MountRotation]))));
        let seen_at = 249.0 * STEP_S + WINDOW_S;
        let verdict = state.verdict();
        assert_eq!(verdict.level, VerdictLevel::InputDrift);
        assert_eq!(verdict.headline, format!("Input drift since {}: watch rotated ~58° about z", clock(seen_at)));

        // The closed chunk that holds it vouches for its whole span: the onset moves back to the chunk's start.
        feed(&mut state, 250, 300);
        state.apply(&Event::DriftChunk(Box::new(report(150, 150, &[InputCheck::MountRotation]))));
        assert!(state.verdict().headline.starts_with("Input drift since 5:00:"), "{}", state.verdict().headline);

        // A rolling report in which the check does not fire does not clear the alarm ...
        feed(&mut state, 300, 350);
        state.apply(&Event::DriftRolling(Box::new(report(200, 150, &[]))));
        assert_eq!(state.verdict().level, VerdictLevel::InputDrift);
        let rotation = state.readings().into_iter().find(|r| r.check == SensorCheck::Rotation).unwrap();
        assert!(!rotation.fired);
        assert_eq!(rotation.level(), CheckLevel::Drift, "the alarm stands");
        assert_eq!(rotation.since, Some(300.0));

        // ... a closed chunk that passes every check does.
        feed(&mut state, 350, 450);
        state.apply(&Event::DriftChunk(Box::new(report(300, 150, &[]))));
        assert_eq!(state.verdict().level, VerdictLevel::SensorOk);
    }

    #[test]
    fn a_verdict_from_a_rolling_report_says_what_the_alert_measured_instead() {
        // Issue 8 item 11: the banner (the alert of a closed chunk) said ~58°, the verdict (the rolling report) ~66°.
        let mut state = loaded();
        feed(&mut state, 0, 300);
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        // Before any chunk confirms it, a rolling report's alarm says that no alert was raised.
        state.apply(&Event::DriftRolling(Box::new(report(100, 150, &[InputCheck::MountRotation]))));
        let verdict = state.verdict();
        assert_eq!(verdict.level, VerdictLevel::InputDrift);
        assert!(verdict.detail.starts_with("Measured over the 150 most recent windows"), "{}", verdict.detail);
        assert!(
            verdict.detail.contains("No closed chunk has confirmed it yet, so no alert was raised"),
            "{}",
            verdict.detail
        );

        // The chunk closes (its alert says ~58°): the verdict shows that chunk, so both agree and nothing is added.
        state.apply(&Event::DriftChunk(Box::new(report(150, 150, &[InputCheck::MountRotation]))));
        let verdict = state.verdict();
        assert!(verdict.headline.ends_with("watch rotated ~58° about z"), "{}", verdict.headline);
        assert!(verdict.detail.starts_with("The sensor or the way it is worn changed"), "{}", verdict.detail);

        // A newer rolling report measures ~66°: the headline follows it and the detail names the alert's ~58°.
        feed(&mut state, 300, 350);
        let mut r = report(200, 150, &[InputCheck::MountRotation]);
        if let Some(rotation) = r.evidence.rotation.as_mut() {
            rotation.angle_deg = 66.0;
        }
        state.apply(&Event::DriftRolling(Box::new(remeasured(r))));
        let verdict = state.verdict();
        assert!(verdict.headline.ends_with("watch rotated ~66° about z"), "{}", verdict.headline);
        let alert_at = clock(299.0 * STEP_S + WINDOW_S);
        assert!(
            verdict.detail.contains(&format!(
                "The alert at {alert_at} measured the closed chunk of windows 150–299: watch rotated ~58° about z."
            )),
            "{}",
            verdict.detail
        );
        assert!(verdict.detail.starts_with("Measured over the 150 most recent windows (to "), "{}", verdict.detail);
    }

    #[test]
    fn several_checks_are_named_together_from_the_earliest_onset() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[InputCheck::GyroOffset]);
        r.evidence.gyro_offset = Some([3.0, 4.0, 0.0]);
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        feed(&mut state, 150, 300);
        let mut r = report(150, 150, &[InputCheck::GyroOffset, InputCheck::AccelNoise]);
        r.evidence.gyro_offset = Some([3.0, 4.0, 0.0]);
        r.evidence.accel_noise_ratio = Some(2.5);
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        assert_eq!(
            state.verdict().headline,
            "Input drift since 0:00: accelerometer noise ×2.50; gyroscope offset 5.0 deg/s"
        );
    }

    #[test]
    fn accelerometer_units_that_look_wrong_raise_a_notice() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[InputCheck::AccelScale]);
        // Values in g where the baseline has m/s².
        r.evidence.accel_scale = Some(1.0 / 9.80665);
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        let notice = state.units_notice().expect("a units notice");
        assert!(notice.contains("units look like g instead of m/s^2"), "{notice}");
        assert!(state.verdict().headline.contains("accelerometer units look like g instead of m/s^2"));
        let magnitude = state.readings().into_iter().find(|r| r.check == SensorCheck::Magnitude).unwrap();
        assert_eq!(magnitude.value.as_deref(), Some("×0.102"));
        assert!(magnitude.detail.contains("units"), "{}", magnitude.detail);

        // A 5 % gain change is not a unit mix-up ...
        let mut state = loaded();
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[]);
        r.evidence.accel_scale = Some(1.05);
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        assert_eq!(state.units_notice(), None);
        // ... nor is a 30 % one, which fires as a gain change; ×9.8 the other way round (m/s² read as g) is.
        for (ratio, notice) in [(1.3, false), (9.80665, true)] {
            let mut state = loaded();
            feed(&mut state, 0, 150);
            let mut r = report(0, 150, &[InputCheck::AccelScale]);
            r.evidence.accel_scale = Some(ratio);
            state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
            assert_eq!(state.units_notice().is_some(), notice, "ratio {ratio}: {:?}", state.units_notice());
        }
    }

    #[test]
    fn a_file_whose_unit_could_not_be_told_raises_the_notice_before_any_verdict() {
        let mut state = loaded();
        let Event::SourceOpened { mut info, labels } = source_opened() else { unreachable!() };
        info.notes = vec![
            "3 bad rows skipped: line 4".into(),
            "the accelerometer unit could not be told from the data; say so with --accel-unit".into(),
        ];
        state.apply(&Event::SourceOpened { info, labels });
        let notice = state.units_notice().expect("a notice");
        assert!(notice.contains("could not be told"), "{notice}");
        assert!(!notice.contains("bad rows"), "{notice}");
    }

    #[test]
    fn readings_put_each_value_against_its_threshold() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[]);
        r.evidence.accel_scale = Some(1.05);
        r.evidence.rotation =
            Some(RotationEstimate { angle_deg: -16.0, mismatch_deg: 3.0, mismatch_undone_deg: 2.5, windows: 90 });
        r.evidence.accel_noise_ratio = Some(1.2);
        r.evidence.gyro_noise_ratio = Some(1.0 / 2.0);
        r.evidence.gyro_offset = Some([0.3, 0.4, 0.0]);
        r.evidence.gyro_offset_threshold = Some(1.25);
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        let readings = state.readings();
        let get = |c: SensorCheck| readings.iter().find(|r| r.check == c).unwrap();
        // Ratios are judged on a log scale, symmetric in both directions.
        let magnitude = get(SensorCheck::Magnitude);
        assert!((magnitude.severity.unwrap() - 1.05f64.ln() / 1.1f64.ln()).abs() < 1e-12);
        assert_eq!(magnitude.level(), CheckLevel::Ok);
        let rotation = get(SensorCheck::Rotation);
        assert!((rotation.severity.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(rotation.level(), CheckLevel::Near, "16° of 20° is near the threshold");
        assert_eq!(rotation.value.as_deref(), Some("-16°"));
        // The larger of the two noise ratios: the gyroscope's ÷2 sits at the threshold.
        let noise = get(SensorCheck::Noise);
        assert!((noise.severity.unwrap() - 1.0).abs() < 1e-12);
        let offset = get(SensorCheck::GyroOffset);
        assert!((offset.severity.unwrap() - 0.4).abs() < 1e-12, "|(0.3, 0.4, 0)| = 0.5 of 1.25");
        assert_eq!(offset.threshold, "alarm above 1.25 deg/s");

        // A check the rule could not make says why.
        let mut r = report(150, 150, &[]);
        r.evidence.rotation = None;
        let reason = "only 3 windows with gravity away from the z axis".to_string();
        for result in &mut r.evidence.checks {
            if result.check == InputCheck::MountRotation {
                result.outcome = CheckOutcome::NotChecked { reason: reason.clone() };
            }
        }
        feed(&mut state, 150, 300);
        state.apply(&Event::DriftChunk(Box::new(r)));
        let rotation = state.readings().into_iter().find(|r| r.check == SensorCheck::Rotation).unwrap();
        assert_eq!(rotation.level(), CheckLevel::NotChecked);
        assert!(rotation.detail.contains("only 3 windows"), "{}", rotation.detail);
    }

    #[test]
    fn a_changed_class_mix_is_information_not_an_alarm() {
        let mut state = loaded();
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[]);
        let k = r.class_distribution.len();
        r.class_distribution = vec![0.0; k];
        r.class_distribution[2] = 0.5;
        r.class_distribution[5] = 0.5;
        r.js_distance = 0.6;
        r.prediction_drift = true;
        state.apply(&Event::DriftChunk(Box::new(remeasured(r))));
        assert_eq!(state.verdict().level, VerdictLevel::SensorOk, "the class mix alone is no alarm");
        let mix = state.class_mix().unwrap();
        assert!(mix.changed);
        let moved: Vec<usize> = mix.largest_moves.iter().map(|m| m.0).collect();
        assert!(moved.starts_with(&[2, 5]) || moved.starts_with(&[5, 2]), "{moved:?}");
    }

    #[test]
    fn without_a_baseline_the_state_says_how_to_build_one() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        let mut state = DriftState::new(DriftConfig::default());
        state.apply(&model_at(&model));
        assert_eq!(state.verdict().level, VerdictLevel::Waiting);
        state.apply(&Event::DriftStatus(DriftStatus::Missing { expected: Baseline::path_for_model(&model, &card()) }));
        let BaselineState::Missing { expected, command } = &state.baseline else { panic!("{:?}", state.baseline) };
        assert_eq!(command, &format!("har-monitor baseline --model {} --data REFERENCE.csv", model.display()));
        assert_eq!(expected, &Baseline::path_for_model(&model, &card()));
        let verdict = state.verdict();
        assert_eq!(verdict.level, VerdictLevel::NoBaseline);
        assert!(verdict.headline.starts_with("No baseline for this model"));

        // A baseline file that is there but was refused is reported with the worker's reason.
        let path = Baseline::path_for_model(&model, &card());
        state.apply(&Event::DriftStatus(DriftStatus::Unusable { path, why: "not valid JSON".into() }));
        assert!(matches!(&state.baseline, BaselineState::Unusable { message, .. } if message == "not valid JSON"));
        assert_eq!(state.verdict().detail, "not valid JSON");
    }

    #[test]
    fn after_a_seek_the_earlier_pass_stays_in_the_history_until_overwritten() {
        let mut state = loaded();
        for c in 0..3u64 {
            feed(&mut state, c * 150, (c + 1) * 150);
            state.apply(&Event::DriftChunk(Box::new(report(c as usize * 150, 150, &[]))));
        }
        assert_eq!(state.history.len(), 3);
        // The replay loops: the monitor restarts at 0.
        state.apply(&Event::Seeked { position: 0.0 });
        assert!(state.history.iter().all(|p| !p.current));
        assert!(state.current().is_none());
        assert_eq!(state.verdict().level, VerdictLevel::Waiting);
        // The first chunk of the new pass replaces the old one over the same span, not the later ones.
        feed(&mut state, 0, 150);
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        let current: Vec<bool> = state.history.iter().map(|p| p.current).collect();
        assert_eq!(current, [true, false, false]);
        assert!(state.history.iter().zip(state.history.iter().skip(1)).all(|(a, b)| a.t_end <= b.t_end));
        assert_eq!(state.chunks_closed, 4);
        // A new source starts the session over.
        state.apply(&source_opened());
        assert!(state.history.is_empty());
        assert_eq!(state.chunks_closed, 0);
    }

    #[test]
    fn a_lost_prediction_event_does_not_break_the_clock() {
        let mut state = loaded();
        feed(&mut state, 0, 100);
        // Window 100 was dropped by the channel: the monitor counts 150 windows, the state saw 149.
        for i in 101..150 {
            state.apply(&prediction(i, 0.0, 0.9));
        }
        state.apply(&Event::DriftChunk(Box::new(report(0, 150, &[]))));
        let chunk = state.last_chunk.as_ref().unwrap();
        assert!(chunk.t_end.is_finite() && chunk.t_start.is_finite() && chunk.t_start <= chunk.t_end);
        assert!((chunk.confidence_histogram.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    fn estimate(accuracy: f64, trusted: bool) -> PerformanceEstimate {
        PerformanceEstimate {
            windows: 150,
            estimated_accuracy: accuracy,
            accuracy_lower: accuracy - 0.05,
            accuracy_upper: accuracy + 0.05,
            estimated_macro_f1: accuracy - 0.1,
            macro_f1_lower: accuracy - 0.2,
            macro_f1_upper: accuracy,
            realised_accuracy: None,
            realised_macro_f1: None,
            reference_accuracy: None,
            trusted,
            untrusted_because: if trusted { Vec::new() } else { vec![crate::monitor::UntrustedReason::InputDrift] },
        }
    }

    #[test]
    fn the_estimate_of_the_shown_report_and_of_each_chunk_is_kept() {
        let mut state = loaded();
        assert!(state.estimate().is_none());
        assert!(state.reference_performance().is_none(), "the test baseline has no reference calibration");
        feed(&mut state, 0, 150);
        let mut r = report(0, 150, &[]);
        r.performance = Some(estimate(0.8, true));
        state.apply(&Event::DriftChunk(Box::new(r)));
        assert_eq!(state.estimate().map(|e| e.estimated_accuracy), Some(0.8));
        // A newer rolling report is what the view shows, and the tip of the history.
        feed(&mut state, 150, 200);
        let mut r = report(50, 150, &[InputCheck::MountRotation]);
        r.performance = Some(estimate(0.6, false));
        state.apply(&Event::DriftRolling(Box::new(r)));
        assert_eq!(state.estimate().map(|e| e.trusted), Some(false));
        let kept: Vec<(bool, Option<f64>)> =
            state.history.iter().map(|p| (p.closed, p.performance.as_ref().map(|e| e.estimated_accuracy))).collect();
        assert_eq!(kept, [(true, Some(0.8)), (false, Some(0.6))]);
        // The baseline's reference numbers are read from it.
        let mut with_reference = baseline();
        with_reference.reference_performance = Some(ReferencePerformance {
            windows: 900,
            accuracy: 0.91,
            macro_f1: 0.88,
            ece: 0.02,
            ece_bins: 15,
            source: String::new(),
        });
        state.apply(&Event::DriftStatus(DriftStatus::Loaded {
            path: "/models/demo.baseline.json".into(),
            baseline: Arc::new(with_reference),
        }));
        assert_eq!(state.reference_performance().map(|r| r.accuracy), Some(0.91));
    }

    #[test]
    fn channel_levels_follow_the_usual_psi_reading() {
        assert_eq!(DriftState::channel_level(0.05), CheckLevel::Ok);
        assert_eq!(DriftState::channel_level(0.1), CheckLevel::Near);
        assert_eq!(DriftState::channel_level(0.25), CheckLevel::Drift);
        assert_eq!(DriftState::channel_level(f64::NAN), CheckLevel::NotChecked);
        let _ = AccelUnit::MetersPerSecond2;
    }
}
