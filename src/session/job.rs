//! A computation on its own thread that a face polls: the evaluation view's evaluation and comparison. The job
//! writes its progress into atomics of its own kind (`P`) that the UI reads each frame, checks a cancel flag after
//! every batch, and sends its result once; a job nobody watches any more stops at its next batch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Why a job ended without a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("cancelled")]
    Cancelled,
    /// The message names the file and the problem (it comes from the library's errors).
    #[error("{0}")]
    Failed(String),
}

/// Why a job wakes the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Progress to show; the UI may show it a little later (redrawing takes the CPU the job runs on).
    Progress,
    /// The result is there: show it now.
    Finished,
}

/// Least time between two wake-ups of the UI from a job thread.
const WAKE_INTERVAL: Duration = Duration::from_millis(50);

/// What the job's thread is given: its progress to write, the cancel flag, and the UI's wake-up.
pub struct JobContext<'a, P> {
    pub progress: &'a P,
    cancel: &'a AtomicBool,
    wake: &'a (dyn Fn(Wake) + Send),
    last_wake: Option<Instant>,
}

impl<P> JobContext<'_, P> {
    /// Whether the job was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Tells the UI there is progress to show (such as the end of loading).
    pub fn wake(&mut self) {
        self.last_wake = Some(Instant::now());
        (self.wake)(Wake::Progress);
    }

    /// Tells the UI there is progress unless it was told less than 50 ms ago (news after every batch).
    pub fn wake_throttled(&mut self) {
        if self.last_wake.is_none_or(|t| t.elapsed() >= WAKE_INTERVAL) {
            self.wake();
        }
    }
}

/// A job running on its own thread.
#[derive(Debug)]
pub struct Job<T, P> {
    progress: Arc<P>,
    cancel: Arc<AtomicBool>,
    started: Instant,
    result: mpsc::Receiver<Result<T, JobError>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<T: Send + 'static, P: Send + Sync + 'static> Job<T, P> {
    /// Runs `work` on a thread named `name`. `wake` is called with [`Wake::Progress`] when there is news for the UI
    /// (through [`JobContext`]) and with [`Wake::Finished`] once the result is there.
    pub fn spawn(
        name: &str,
        progress: P,
        wake: impl Fn(Wake) + Send + 'static,
        work: impl FnOnce(&mut JobContext<'_, P>) -> Result<T, JobError> + Send + 'static,
    ) -> std::io::Result<Job<T, P>> {
        let progress = Arc::new(progress);
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (thread_progress, thread_cancel) = (Arc::clone(&progress), Arc::clone(&cancel));
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            let mut context =
                JobContext { progress: &*thread_progress, cancel: &thread_cancel, wake: &wake, last_wake: None };
            let outcome = work(&mut context);
            // The receiver is gone when the view started another job or closed: nobody wants this result.
            let _ = tx.send(outcome);
            wake(Wake::Finished);
        })?;
        Ok(Job { progress, cancel, started: Instant::now(), result: rx, thread: Some(thread) })
    }
}

impl<T, P> Job<T, P> {
    /// What the job wrote so far.
    pub fn progress(&self) -> &P {
        &self.progress
    }

    /// When the job was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Asks the job to stop after the current batch.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the job was asked to stop.
    pub fn cancelling(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Cancels the job and waits for its thread to end.
    pub fn cancel_and_wait(mut self) {
        self.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// The result once the job has ended; a thread that ended without one (it panicked) is reported as the
    /// failure `stopped`.
    pub fn result(&mut self, stopped: impl FnOnce() -> String) -> Option<Result<T, JobError>> {
        match self.result.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Disconnected) => Some(Err(JobError::Failed(stopped()))),
            Err(mpsc::TryRecvError::Empty) => None,
        }
    }
}

impl<T, P> Drop for Job<T, P> {
    /// A job nobody watches any more stops at its next batch.
    fn drop(&mut self) {
        self.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn wait<T, P>(job: &mut Job<T, P>) -> Result<T, JobError> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(outcome) = job.result(|| "stopped".into()) {
                return outcome;
            }
            assert!(Instant::now() < deadline, "the job did not end");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The result arrives once, the progress written by the thread is read by the poller, and the UI is woken
    /// at the end.
    #[test]
    fn a_job_reports_its_progress_and_result() {
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&woken);
        let mut job = Job::spawn(
            "test-job",
            AtomicUsize::new(0),
            move |wake| {
                if wake == Wake::Finished {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            },
            |c| {
                c.progress.store(7, Ordering::Relaxed);
                Ok(42)
            },
        )
        .unwrap();
        assert_eq!(wait(&mut job), Ok(42));
        assert_eq!(job.progress().load(Ordering::Relaxed), 7);
        assert_eq!(woken.load(Ordering::Relaxed), 1, "one wake-up for the result");
    }

    /// Cancelling is seen by the work, and a thread that panics is reported as stopped, not waited for forever.
    #[test]
    fn cancelling_is_seen_and_a_panic_is_a_failure() {
        let mut job = Job::spawn(
            "test-cancel",
            (),
            |_| {},
            |c| {
                while !c.cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err::<(), _>(JobError::Cancelled)
            },
        )
        .unwrap();
        job.cancel();
        assert_eq!(wait(&mut job), Err(JobError::Cancelled));

        let mut job = Job::spawn("test-panic", (), |_| {}, |_| -> Result<(), JobError> { panic!("boom") }).unwrap();
        assert_eq!(wait(&mut job), Err(JobError::Failed("stopped".into())));
    }
}
