//! The worker thread behind [`super::PipelineHandle`]: owns the source, the clock, the windower, the engine and
//! the alert engine, and does all the heavy work so the UI thread never has to.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::recorder::{RecordTarget, Recorder, RecordingEvent};
use super::{Command, DriftStatus, Event, LivePrediction, LoadedModel, PipelineConfig, RecordingStatus, Status};
use crate::data::{Scaler, StreamWindower};
use crate::model::{Engine, EngineOptions};
use crate::monitor::alerts::{Alert, AlertConfig, AlertEngine, AlertKind};
use crate::monitor::{Baseline, DriftConfig, DriftMonitor, WindowObservation};
use crate::numeric::{argmax, percentile_nearest_rank};
use crate::source::{ReadState, SampleBatch, Source, SourceSpec};

/// How often the worker wakes while playing.
const TICK: Duration = Duration::from_millis(10);
/// How often a status event is sent.
const STATUS_EVERY: Duration = Duration::from_millis(250);
/// Most samples read from a source per tick: bounds the work of one tick when the clock jumps.
const MAX_SAMPLES_PER_TICK: usize = 50_000;
/// Least wall time between two rolling drift updates (each costs tens of milliseconds).
const ROLLING_EVERY: Duration = Duration::from_millis(1000);
/// Latencies kept for the percentiles.
const LATENCY_HISTORY: usize = 512;

pub const MIN_SPEED: f64 = 0.25;
pub const MAX_SPEED: f64 = 100.0;

struct Worker {
    events: Sender<Event>,
    wake: Box<dyn Fn() + Send>,
    engine_options: EngineOptions,
    engine: Option<Engine>,
    source: Option<Box<dyn Source>>,
    source_spec: Option<SourceSpec>,
    windower: Option<StreamWindower>,
    scaler: Option<Scaler>,
    alerts: Option<AlertEngine>,
    alert_config: AlertConfig,
    drift_config: DriftConfig,
    baseline: Option<Arc<Baseline>>,
    /// Where `baseline` was read from.
    baseline_path: std::path::PathBuf,
    drift: Option<DriftMonitor>,
    last_rolling: Option<Instant>,
    windows_since_rolling: usize,
    playing: bool,
    looping: bool,
    speed: f64,
    /// Source time the clock has reached.
    position: f64,
    window_index: u64,
    batch: SampleBatch,
    latencies: VecDeque<f64>,
    received: VecDeque<(Instant, usize)>,
    dropped: u64,
    skipped_windows: u64,
    sent_anything: bool,
    /// The recording in progress: every sample and window the worker handles is teed into it.
    recorder: Option<Recorder>,
    /// The link state last written to the recording's events.
    recorded_link: Option<(crate::source::link::LinkState, Option<String>)>,
    /// A recording to start when the first source opens.
    pending_record: Option<RecordTarget>,
}

pub(super) fn run(
    config: PipelineConfig,
    commands: Receiver<Command>,
    events: Sender<Event>,
    wake: Box<dyn Fn() + Send>,
) {
    let mut worker = Worker {
        events,
        wake,
        engine_options: config.engine.clone(),
        engine: None,
        source: None,
        source_spec: None,
        windower: None,
        scaler: None,
        alerts: None,
        alert_config: config.alerts.clone(),
        drift_config: config.drift,
        baseline: None,
        baseline_path: std::path::PathBuf::new(),
        drift: None,
        last_rolling: None,
        windows_since_rolling: 0,
        playing: config.playing,
        looping: config.looping,
        speed: config.speed.clamp(MIN_SPEED, MAX_SPEED),
        position: 0.0,
        window_index: 0,
        batch: SampleBatch::default(),
        latencies: VecDeque::with_capacity(LATENCY_HISTORY),
        received: VecDeque::new(),
        dropped: 0,
        skipped_windows: 0,
        sent_anything: false,
        recorder: None,
        recorded_link: None,
        pending_record: None,
    };
    worker.load_model(&config.model);
    match (config.record, &config.source) {
        // With a source, the recording starts as it opens (before its first samples), so it knows its labels.
        (Some(target), Some(_)) => worker.pending_record = Some(target),
        (Some(target), None) => worker.start_recording(&target),
        (None, _) => {}
    }
    if let Some(spec) = config.source {
        worker.open_source(spec);
    }
    worker.send_status();
    let mut last_tick = Instant::now();
    let mut last_status = Instant::now();
    loop {
        let timeout = if worker.is_running() { TICK } else { Duration::from_millis(100) };
        match commands.recv_timeout(timeout) {
            Ok(command) => {
                if !worker.handle(command) {
                    break;
                }
                // Apply everything that queued up before doing work.
                let mut stop = false;
                while let Ok(command) = commands.try_recv() {
                    if !worker.handle(command) {
                        stop = true;
                        break;
                    }
                }
                if stop {
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        let dt = now.duration_since(last_tick);
        last_tick = now;
        worker.advance(dt);
        if now.duration_since(last_status) >= STATUS_EVERY {
            last_status = now;
            worker.send_status();
        }
        worker.tick_recording();
        worker.flush_wake();
    }
    worker.stop_recording("shutdown");
    worker.flush_wake();
}

impl Worker {
    fn is_running(&self) -> bool {
        self.source.as_ref().is_some_and(|s| !s.paced() || self.playing)
    }

    fn send(&mut self, event: Event) {
        match self.events.try_send(event) {
            Ok(()) => self.sent_anything = true,
            Err(TrySendError::Full(_)) => self.dropped += 1,
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn flush_wake(&mut self) {
        if self.sent_anything {
            self.sent_anything = false;
            (self.wake)();
        }
    }

    fn error(&mut self, message: String) {
        self.send(Event::Error(message));
    }

    /// Applies a command; false means stop.
    fn handle(&mut self, command: Command) -> bool {
        match command {
            Command::Play => self.playing = true,
            Command::Pause => self.playing = false,
            Command::TogglePlay => self.playing = !self.playing,
            Command::Seek(t) => self.seek(t, true),
            Command::SetSpeed(x) => {
                if x.is_finite() {
                    self.speed = x.clamp(MIN_SPEED, MAX_SPEED);
                }
            }
            Command::SetLoop(l) => self.looping = l,
            Command::Restart => {
                self.seek(0.0, true);
                self.playing = true;
            }
            Command::OpenSource(spec) => self.open_source(spec),
            Command::CloseSource => {
                if self.source.take().is_some() {
                    self.source_spec = None;
                    self.playing = false;
                    self.reset_stream();
                    if let Some(r) = self.recorder.as_mut() {
                        r.event("source_closed", serde_json::json!({}));
                    }
                    self.send(Event::SourceClosed);
                }
            }
            Command::LoadModel(path) => self.load_model(&path),
            Command::SetAlerts(config) => {
                self.alert_config = config.clone();
                if let Some(engine) = &self.engine {
                    self.alerts = Some(AlertEngine::new(config, &engine.card().classes));
                }
            }
            Command::StartRecording(target) => self.start_recording(&target),
            Command::StopRecording => self.stop_recording("stopped"),
            Command::Shutdown => return false,
        }
        self.send_status();
        true
    }

    /// Starts a recording (one at a time: a running one is completed first).
    fn start_recording(&mut self, target: &RecordTarget) {
        self.stop_recording("stopped");
        let Some(engine) = &self.engine else {
            self.send(Event::Recording(RecordingEvent::Failed {
                message: "no model is loaded, so there is nothing to record".into(),
            }));
            return;
        };
        let source = self.source.as_ref().map(|s| (s.info(), self.source_spec.as_ref()));
        match Recorder::start(target, engine.model_path(), engine.card(), source) {
            Ok(recorder) => {
                let dir = recorder.dir().to_path_buf();
                self.recorder = Some(recorder);
                self.recorded_link = None;
                self.send(Event::Recording(RecordingEvent::Started { dir }));
            }
            Err(e) => self.send(Event::Recording(RecordingEvent::Failed { message: e.to_string() })),
        }
    }

    /// Completes the recording in progress, if any; `reason` goes into its `stop` event and `session.json`.
    fn stop_recording(&mut self, reason: &str) {
        self.end_recording(reason, None);
    }

    /// Ends the recording because something failed: `failure` is what the watchers are told, even when
    /// completing the files then fails too (a full disk fails both; the first cause is the one that matters).
    fn fail_recording(&mut self, failure: String) {
        self.end_recording(&failure.clone(), Some(failure));
    }

    fn end_recording(&mut self, reason: &str, failure: Option<String>) {
        let Some(recorder) = self.recorder.take() else { return };
        let dir = recorder.dir().to_path_buf();
        let (samples, predictions) = (recorder.samples(), recorder.predictions());
        let event = match recorder.finish(reason) {
            Ok(RecordingEvent::Stopped { dir, samples, predictions, .. }) if failure.is_some() => {
                RecordingEvent::Stopped { dir, samples, predictions, error: failure }
            }
            Ok(event) => event,
            Err(e) => RecordingEvent::Stopped { dir, samples, predictions, error: failure.or(Some(e.to_string())) },
        };
        self.send(Event::Recording(event));
    }

    /// Writes what the recorder buffered once it is due; a write failure ends the recording and says why.
    fn tick_recording(&mut self) {
        let Some(recorder) = self.recorder.as_mut() else { return };
        if let Err(e) = recorder.tick() {
            self.fail_recording(e.to_string());
        }
    }

    fn load_model(&mut self, path: &Path) {
        match Engine::load(path, &self.engine_options) {
            Ok(engine) => {
                let card = engine.card().clone();
                let info = LoadedModel { path: path.to_path_buf(), ..LoadedModel::of(&engine) };
                self.alerts = Some(AlertEngine::new(self.alert_config.clone(), &card.classes));
                self.windower = Some(StreamWindower::new(&card));
                self.scaler = Some(Scaler::from_card(&card));
                self.engine = Some(engine);
                if let Some(r) = self.recorder.as_mut()
                    && !r.model_loaded(path, &card)
                {
                    self.fail_recording(
                        "the new model's classes, channels or window differ from the recording's".into(),
                    );
                }
                self.send(Event::ModelLoaded(Arc::new(info)));
                self.load_baseline(path, &card);
                // The card fixes channel order and units: reopen the source for the new model.
                if let Some(spec) = self.source_spec.clone() {
                    self.open_source(spec);
                }
            }
            Err(e) => self.error(format!("{e}")),
        }
    }

    /// Finds the model's drift baseline; without one, drift is off and the views say why.
    fn load_baseline(&mut self, model: &Path, card: &crate::model::ModelCard) {
        let path = Baseline::path_for_model(model, card);
        self.drift = None;
        self.baseline = None;
        if !path.is_file() {
            self.send(Event::DriftStatus(DriftStatus::Missing { expected: path }));
            return;
        }
        match Baseline::load(&path).and_then(|b| b.check_card(card, &path).map(|()| b)) {
            Ok(baseline) => {
                let baseline = Arc::new(baseline);
                self.baseline = Some(Arc::clone(&baseline));
                self.baseline_path = path.clone();
                self.reset_drift();
                self.send(Event::DriftStatus(DriftStatus::Loaded { path, baseline }));
            }
            Err(e) => self.send(Event::DriftStatus(DriftStatus::Unusable { path, why: e.to_string() })),
        }
    }

    fn reset_drift(&mut self) {
        self.windows_since_rolling = 0;
        self.drift = self.baseline.as_ref().and_then(|b| DriftMonitor::new(Arc::clone(b), self.drift_config).ok());
    }

    /// Feeds one classified window to the drift monitor; reports closed chunks, rolling state and drift alerts.
    fn observe_drift(&mut self, raw: &[f32], probabilities: &[f32], true_label: Option<usize>, time: f64) {
        let Some(monitor) = self.drift.as_mut() else { return };
        let observation = WindowObservation { raw, probabilities, true_label };
        let closed = match monitor.push(observation) {
            Ok(closed) => closed,
            Err(e) => {
                self.drift = None;
                let path = self.baseline_path.clone();
                self.send(Event::DriftStatus(DriftStatus::Unusable {
                    path,
                    why: format!("drift monitoring stopped: {e}"),
                }));
                return;
            }
        };
        self.windows_since_rolling += 1;
        let due = self.last_rolling.is_none_or(|t| t.elapsed() >= ROLLING_EVERY);
        let rolling = if due && self.windows_since_rolling >= 5 {
            self.windows_since_rolling = 0;
            self.last_rolling = Some(Instant::now());
            monitor.rolling()
        } else {
            None
        };
        if let Some(chunk) = closed {
            if chunk.input_drift {
                // A few words per fired check; the drift view and the report's notes have the full sentences.
                let what = chunk.evidence.headline(&monitor.config().input, Some(&monitor.baseline().units));
                let what = if what.is_empty() { "a sensor check fired".to_string() } else { what };
                self.send(Event::Alert(Alert {
                    kind: AlertKind::InputDrift,
                    time,
                    class: None,
                    message: format!(
                        "input drift: {what} (windows {}–{}; see the Drift view)",
                        chunk.start_window,
                        chunk.end_window().saturating_sub(1)
                    ),
                }));
            }
            self.send(Event::DriftChunk(Box::new(chunk)));
        }
        if let Some(r) = rolling {
            self.send(Event::DriftRolling(Box::new(r)));
        }
    }

    fn open_source(&mut self, spec: SourceSpec) {
        let Some(engine) = &self.engine else {
            self.error("no model is loaded, so the source cannot be opened".into());
            return;
        };
        match spec.open(engine.card()) {
            Ok(source) => {
                let labels = source.label_track().map(Arc::new);
                let info = source.info().clone();
                self.batch = SampleBatch::with_channels(engine.card().channels.len());
                self.source = Some(source);
                self.source_spec = Some(spec);
                self.position = 0.0;
                self.window_index = 0;
                self.latencies.clear();
                self.skipped_windows = 0;
                self.reset_stream();
                if let Some(target) = self.pending_record.take() {
                    self.start_recording(&target);
                }
                let spec_ref = self.source_spec.as_ref();
                if let Some(r) = self.recorder.as_mut()
                    && let Err(e) = r.source_opened(&info, spec_ref)
                {
                    self.fail_recording(e.to_string());
                }
                self.send(Event::SourceOpened { info, labels });
                self.preroll();
            }
            Err(e) => self.error(format!("{e}")),
        }
    }

    fn reset_stream(&mut self) {
        if let Some(w) = self.windower.as_mut() {
            w.reset();
        }
        self.reset_drift();
        if let Some(a) = self.alerts.as_mut() {
            a.reset();
        }
    }

    /// Moves the source to `t`; `preroll` fills the first window at once (not when looping, which happens mid-pump).
    fn seek(&mut self, t: f64, preroll: bool) {
        let Some(source) = self.source.as_mut() else { return };
        let duration = source.info().duration.unwrap_or(f64::INFINITY);
        let t = if t.is_finite() { t.clamp(0.0, duration) } else { 0.0 };
        match source.seek(t) {
            Ok(()) => {
                self.position = t;
                self.reset_stream();
                self.send(Event::Seeked { position: t });
                if preroll {
                    self.preroll();
                }
            }
            Err(e) => self.error(format!("{e}")),
        }
    }

    /// Moves the clock by `dt` of wall time and processes what the source gives up to there.
    fn advance(&mut self, dt: Duration) {
        let Some(source) = self.source.as_ref() else { return };
        if !source.paced() {
            self.pump(f64::INFINITY);
            return;
        }
        if !self.playing {
            return;
        }
        self.position += dt.as_secs_f64() * self.speed;
        self.pump(self.position);
    }

    /// Reads the first window's worth of samples at once after a source opens or seeks, so the views have
    /// signals and a prediction immediately instead of after one window of waiting.
    fn preroll(&mut self) {
        let (Some(source), Some(engine)) = (self.source.as_ref(), self.engine.as_ref()) else { return };
        if !source.paced() {
            return;
        }
        self.position = source.position() + engine.card().window_seconds();
        self.pump(self.position);
    }

    /// Processes everything the source has up to source time `until`, within one tick's budget.
    fn pump(&mut self, until: f64) {
        let mut budget = MAX_SAMPLES_PER_TICK;
        loop {
            let Some(source) = self.source.as_mut() else { return };
            let mut batch = std::mem::take(&mut self.batch);
            match source.read(until, budget, &mut batch) {
                Err(e) => {
                    self.batch = batch;
                    self.playing = false;
                    self.error(format!("{e}"));
                    return;
                }
                Ok(state) => {
                    let n = batch.len();
                    if n > 0 {
                        self.received.push_back((Instant::now(), n));
                        if let Some(r) = self.recorder.as_mut() {
                            r.samples_batch(&batch);
                        }
                        self.process(&batch);
                        self.send(Event::Samples(batch.clone()));
                    }
                    self.batch = batch;
                    budget = budget.saturating_sub(n);
                    if state == ReadState::Ended && n == 0 {
                        self.end_of_source();
                        return;
                    }
                    if n == 0 || budget == 0 {
                        return;
                    }
                }
            }
        }
    }

    fn end_of_source(&mut self) {
        if self.looping {
            self.seek(0.0, false);
        } else {
            self.playing = false;
            if let Some(d) = self.source.as_ref().and_then(|s| s.info().duration) {
                self.position = d;
            }
            self.send(Event::Ended);
        }
    }

    /// Windows the batch, classifies the finished windows in one call, and reports them.
    fn process(&mut self, batch: &SampleBatch) {
        let (Some(windower), Some(scaler), Some(engine)) =
            (self.windower.as_mut(), self.scaler.as_ref(), self.engine.as_mut())
        else {
            return;
        };
        if batch.starts_segment {
            windower.reset();
        }
        let period = 1.0 / engine.card().sample_rate_hz;
        let per_window = engine.window_len();
        let channels = batch.channels.len();
        let mut sample = vec![0.0f32; channels];
        let mut input: Vec<f32> = Vec::new();
        // (t_start, t_end, true label) of each window in `input`, and its raw rows for the drift monitor.
        let mut spans: Vec<(f64, f64, Option<usize>)> = Vec::new();
        // The sample of the batch at which each window ended (for the recorder's row numbers).
        let mut ends: Vec<usize> = Vec::new();
        let mut raws: Vec<Vec<f32>> = Vec::new();
        let skipped_before = windower.breaks().non_finite;
        let mut failure = None;
        for i in 0..batch.len() {
            for (c, v) in sample.iter_mut().enumerate() {
                *v = batch.channels[c][i];
            }
            let label = batch.labels.as_ref().and_then(|l| l.get(i).copied());
            match windower.push(batch.time[i], &sample, label) {
                Ok(Some(w)) => {
                    let start = input.len();
                    input.resize(start + per_window, 0.0);
                    if scaler.fill_rows(w.rows, &mut input[start..]).is_ok() {
                        spans.push((w.t_start, w.t_end + period, w.label));
                        ends.push(i);
                        raws.push(w.rows.to_vec());
                    } else {
                        input.truncate(start);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(message) = failure {
            self.playing = false;
            self.error(message);
            return;
        }
        // A non-finite sample restarts the window: what it would have spoiled is counted as skipped.
        self.skipped_windows += self.windower.as_ref().map_or(0, |w| w.breaks().non_finite - skipped_before);
        if spans.is_empty() {
            return;
        }
        let Some(engine) = self.engine.as_mut() else { return };
        let started = Instant::now();
        let result = engine.predict(&input);
        let latency = started.elapsed();
        let k = engine.n_classes();
        match result {
            Err(e) => {
                self.playing = false;
                self.error(format!("{e}"));
            }
            Ok(probabilities) => {
                for ((((t_start, t_end, true_label), p), raw), end) in
                    spans.into_iter().zip(probabilities.chunks_exact(k)).zip(raws).zip(ends)
                {
                    // A window whose scores are all NaN is class 0 with an unknown (NaN) confidence.
                    let (predicted, confidence) = argmax(p).unwrap_or((0, f32::NAN));
                    let prediction = LivePrediction {
                        index: self.window_index,
                        t_start,
                        t_end,
                        probabilities: p.to_vec(),
                        predicted,
                        confidence,
                        true_label,
                        latency,
                    };
                    self.window_index += 1;
                    if self.latencies.len() == LATENCY_HISTORY {
                        self.latencies.pop_front();
                    }
                    self.latencies.push_back(latency.as_secs_f64() * 1000.0);
                    let fired = self.alerts.as_mut().map(|a| a.observe(t_end, predicted, confidence));
                    if let Some(r) = self.recorder.as_mut() {
                        r.prediction(&prediction, end);
                        for alert in fired.iter().flatten() {
                            r.alert(alert);
                        }
                    }
                    self.send(Event::Prediction(prediction));
                    for alert in fired.into_iter().flatten() {
                        self.send(Event::Alert(alert));
                    }
                    self.observe_drift(&raw, p, true_label, t_end);
                }
            }
        }
    }

    /// A link state change (connected, lost and why, reconnecting) goes into the recording's events.
    fn record_link_change(&mut self, link: Option<&crate::source::link::LinkStatus>) {
        let (Some(recorder), Some(link)) = (self.recorder.as_mut(), link) else { return };
        let now = (link.state, link.message.clone());
        if self.recorded_link.as_ref() == Some(&now) {
            return;
        }
        recorder.event(
            "link",
            serde_json::json!({
                "state": link.state.as_str(),
                "endpoint": link.endpoint,
                "message": link.message,
                "reconnects": link.reconnects,
                "lines_good": link.lines.good,
                "lines_bad": link.lines.bad(),
            }),
        );
        self.recorded_link = Some(now);
    }

    fn send_status(&mut self) {
        let now = Instant::now();
        while self.received.front().is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(1)) {
            self.received.pop_front();
        }
        let rate_received = self.received.iter().map(|(_, n)| *n).sum::<usize>() as f64;
        let (duration, rate, paced) = match &self.source {
            Some(s) => (s.info().duration, s.info().rate_hz, s.paced()),
            None => (None, 0.0, true),
        };
        let running = self.is_running();
        let rate_expected = if !running {
            0.0
        } else if paced {
            rate * self.speed
        } else {
            rate
        };
        let mut sorted: Vec<f64> = self.latencies.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let status = Status {
            playing: self.playing,
            position: self.position,
            duration,
            speed: self.speed,
            looping: self.looping,
            rate_received,
            rate_expected,
            windows: self.window_index,
            latency_p50_ms: percentile_nearest_rank(&sorted, 0.50),
            latency_p95_ms: percentile_nearest_rank(&sorted, 0.95),
            dropped_events: self.dropped,
            skipped_windows: self.skipped_windows,
            link: self.source.as_ref().and_then(|s| s.link_status()).map(Box::new),
            recording: self.recorder.as_ref().map(|r| RecordingStatus {
                dir: r.dir().to_path_buf(),
                samples: r.samples(),
                predictions: r.predictions(),
                seconds: r.seconds(),
            }),
        };
        self.record_link_change(status.link.as_deref());
        self.send(Event::Status(status));
    }
}
