//! The evaluation job: on its own thread it loads its own engine (the live pipeline's engine is not shared),
//! scores a labeled file with the batch scorer behind `har-monitor evaluate`, and builds the same report. The UI
//! reads progress through atomics each frame; cancelling sets a flag that the scorer checks after every batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::time::{Duration, Instant};

use crate::eval::{EvaluationReport, Timing, WindowPrediction};
use crate::model::{EngineOptions, ModelCard};
use crate::pipeline::batch::{BatchError, BatchOptions, DataInput, ScoredFile, ScoredWindow, open_with_model};

/// A finished evaluation: the report and the scored file behind it (recording, windows, predictions).
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub report: EvaluationReport,
    pub scored: ScoredFile,
    /// Units of the recording's channels: the model card's (the loader converts to them).
    pub accel_unit: String,
    pub gyro_unit: String,
}

/// What to evaluate with what.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub model: PathBuf,
    /// A labeled CSV, or prepared windows with their labels.
    pub data: DataInput,
    pub engine: EngineOptions,
    pub batch: BatchOptions,
}

pub use super::job::JobError;
pub use super::job::Wake;
use super::job::{Job, JobContext};

impl From<BatchError> for JobError {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Cancelled => JobError::Cancelled,
            other => JobError::Failed(other.to_string()),
        }
    }
}

/// How far a running job is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvaluationProgress {
    /// Windows scored so far.
    pub done: usize,
    /// Windows in the file (at most this many until the end: segment breaks make fewer); `None` while the file
    /// and the model are still loading.
    pub total: Option<usize>,
    /// Since the job started.
    pub elapsed: Duration,
    /// Estimated from the scoring rate so far.
    pub left: Option<Duration>,
    pub cancelling: bool,
}

/// What [`EvaluationJob::poll`] found.
#[derive(Debug)]
pub enum JobStatus {
    Running(EvaluationProgress),
    Finished(Result<Box<Evaluation>, JobError>),
}

/// Written by the job thread, read by the UI.
#[derive(Debug, Default)]
struct Shared {
    done: AtomicUsize,
    total: AtomicUsize,
    /// Set once the file's first pass ended (`total` holds the most windows it can give from then on, and the
    /// exact count at the end).
    scoring: AtomicBool,
}

/// A running evaluation on its own thread.
#[derive(Debug)]
pub struct EvaluationJob {
    data: PathBuf,
    job: Job<Box<Evaluation>, Shared>,
    /// When the UI first saw scoring under way, and how many windows were done then (for the time left).
    scoring_seen: Option<(Instant, usize)>,
}

impl EvaluationJob {
    /// Starts the job. `wake` is called (at most every 50 ms) when there is progress, and when it has ended.
    pub fn spawn(request: JobRequest, wake: impl Fn(Wake) + Send + 'static) -> std::io::Result<EvaluationJob> {
        let data = request.data.path().to_path_buf();
        let job = Job::spawn("har-evaluation", Shared::default(), wake, move |context| run(&request, context))?;
        Ok(EvaluationJob { data, job, scoring_seen: None })
    }

    /// When the job was started.
    pub fn started(&self) -> Instant {
        self.job.started()
    }

    /// The file being evaluated.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Asks the job to stop after the current batch (or as soon as loading ends).
    pub fn cancel(&self) {
        self.job.cancel();
    }

    /// Cancels the job and waits for its thread to end.
    pub fn cancel_and_wait(self) {
        self.job.cancel_and_wait();
    }

    /// The result when the job has ended, else its progress.
    pub fn poll(&mut self) -> JobStatus {
        let data = &self.data;
        if let Some(outcome) = self.job.result(|| format!("{}: the evaluation stopped unexpectedly", data.display())) {
            return JobStatus::Finished(outcome);
        }
        let now = Instant::now();
        let shared = self.job.progress();
        let scoring = shared.scoring.load(Ordering::Acquire);
        let done = shared.done.load(Ordering::Relaxed);
        let total = scoring.then(|| shared.total.load(Ordering::Relaxed));
        let mut left = None;
        if let Some(total) = total {
            let (since, done_then) = *self.scoring_seen.get_or_insert((now, done));
            left = time_left(done_then, now.duration_since(since), done, total);
        }
        JobStatus::Running(EvaluationProgress {
            done,
            total,
            elapsed: now.duration_since(self.job.started()),
            left,
            cancelling: self.job.cancelling(),
        })
    }
}

/// Time left when `done_then` windows were done `since` ago and `done` of `total` are done now; `None` until the
/// rate can be told (some windows scored over at least a fifth of a second).
pub fn time_left(done_then: usize, since: Duration, done: usize, total: usize) -> Option<Duration> {
    let progressed = done.checked_sub(done_then)?;
    if progressed == 0 || since < Duration::from_millis(200) {
        return None;
    }
    let rate = progressed as f64 / since.as_secs_f64();
    Some(Duration::from_secs_f64(total.saturating_sub(done) as f64 / rate))
}

fn run(request: &JobRequest, context: &mut JobContext<'_, Shared>) -> Result<Box<Evaluation>, JobError> {
    if context.cancelled() {
        return Err(JobError::Cancelled);
    }
    let shared = context.progress;
    let started = Instant::now();
    let card = ModelCard::load_for_model(&request.model).map_err(|e| JobError::Failed(e.to_string()))?;
    // The same start as `har-monitor evaluate`: the model's sessions load while the first pass reads the file.
    let (mut engines, scorer) =
        open_with_model(&request.model, &card, request.engine.clone(), &request.data, &request.batch)?;
    if context.cancelled() {
        return Err(JobError::Cancelled);
    }
    shared.total.store(scorer.windows_hint(&card), Ordering::Relaxed);
    shared.scoring.store(true, Ordering::Release);
    context.wake();
    let mut predictions: Vec<WindowPrediction> = Vec::new();
    let mut sink = |window: ScoredWindow<'_>| {
        predictions.push(window.prediction.clone());
        shared.done.store(predictions.len(), Ordering::Relaxed);
        context.wake_throttled();
        if context.cancelled() { Err(BatchError::Cancelled) } else { Ok(()) }
    };
    let summary = scorer.keeping_recording().run_on(&mut engines, &mut sink)?;
    shared.total.store(predictions.len(), Ordering::Relaxed);
    let Some(engine) = engines.first() else {
        return Err(JobError::Failed("no model session".into()));
    };
    let scored = ScoredFile {
        path: summary.path,
        recording: summary.recording.unwrap_or_default(),
        load_report: summary.load_report,
        windowing: summary.windowing,
        predictions,
        seconds: started.elapsed().as_secs_f64(),
        inference_seconds: summary.timing.inference,
    };
    let mut report = scored.evaluation_report(engine)?;
    report.timing = Some(Timing { total: scored.seconds, ..summary.timing });
    let units = &engine.card().units;
    Ok(Box::new(Evaluation {
        report,
        scored,
        accel_unit: units.accel.as_str().to_string(),
        gyro_unit: units.gyro.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
    }

    fn request(data: PathBuf) -> JobRequest {
        JobRequest {
            model: fixture("models/keras_bilstm.onnx"),
            data: DataInput::Csv(data),
            engine: EngineOptions::default(),
            batch: BatchOptions::default(),
        }
    }

    fn wait(job: &mut EvaluationJob) -> Result<Box<Evaluation>, JobError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let JobStatus::Finished(outcome) = job.poll() {
                return outcome;
            }
            assert!(Instant::now() < deadline, "the job did not finish in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn time_left_follows_the_rate_so_far() {
        // 100 windows in 2 s is 50 windows/s; 400 left take 8 s.
        assert_eq!(time_left(0, Duration::from_secs(2), 100, 500), Some(Duration::from_secs(8)));
        // Counted from when scoring was first seen, not from zero.
        assert_eq!(time_left(100, Duration::from_secs(1), 200, 500), Some(Duration::from_secs(3)));
        assert_eq!(time_left(0, Duration::from_millis(50), 10, 500), None, "too early to tell");
        assert_eq!(time_left(10, Duration::from_secs(1), 10, 500), None, "no progress yet");
        assert_eq!(time_left(0, Duration::from_secs(1), 500, 500), Some(Duration::ZERO));
    }

    #[test]
    fn a_job_gives_the_report_that_the_in_memory_scorer_gives() {
        use crate::model::Engine;
        use crate::pipeline::batch::score_file;

        let data = fixture("gui/labeled_small.csv");
        let mut job = EvaluationJob::spawn(request(data.clone()), |_| {}).unwrap();
        let evaluation = wait(&mut job).unwrap();

        let mut engine = Engine::load(&fixture("models/keras_bilstm.onnx"), &EngineOptions::default()).unwrap();
        let scored = score_file(&mut engine, &data, &BatchOptions::default(), &mut |_, _| true).unwrap();
        let report = scored.evaluation_report(&engine).unwrap();
        assert_eq!(evaluation.report.confusion_matrix, report.confusion_matrix);
        assert_eq!(evaluation.report.accuracy, report.accuracy);
        assert_eq!(evaluation.scored.predictions, scored.predictions);
        // The streamed job keeps what the view shows of a window: the same rows and the same windows.
        assert_eq!(evaluation.scored.recording, scored.recording);
        assert_eq!(evaluation.scored.windowing.windows, scored.windowing.windows);
        assert_eq!(evaluation.scored.load_report.rows_kept, scored.load_report.rows_kept);
        assert!(evaluation.report.timing.is_some_and(|t| t.inference > 0.0 && t.total >= t.inference));
        assert_eq!(evaluation.accel_unit, "m/s^2");
    }

    #[test]
    fn a_cancelled_job_ends_as_cancelled() {
        let mut job = EvaluationJob::spawn(request(fixture("gui/labeled_small.csv")), |_| {}).unwrap();
        job.cancel();
        assert_eq!(wait(&mut job).unwrap_err(), JobError::Cancelled);
    }

    #[test]
    fn a_missing_file_is_a_message_naming_it() {
        let mut job = EvaluationJob::spawn(request(fixture("gui/no_such_file.csv")), |_| {}).unwrap();
        match wait(&mut job) {
            Err(JobError::Failed(message)) => assert!(message.contains("no_such_file.csv"), "{message}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
