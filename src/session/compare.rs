//! The evaluation view's comparison of two models: the background job (on its own thread, with its own engines,
//! through [`crate::pipeline::compare`] — the computation behind `har-monitor compare`) and the state the view
//! draws: which model B, the phase, the result, and the rows of numbers as they are shown. The UI reads progress
//! through atomics each frame; cancelling sets a flag checked after every batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::eval::compare::{Comparison, Delta, McNemarMethod, format_p};
use crate::pipeline::compare::{CompareError, CompareOutcome, CompareProgress, CompareRequest, Side, compare_models};

pub use crate::session::job::JobError;
use crate::session::job::{Job, Wake};

/// `total` while a side is still loading.
const UNKNOWN: usize = usize::MAX;

#[derive(Debug)]
struct Shared {
    /// 0 for model A, 1 for model B.
    side: AtomicUsize,
    done: AtomicUsize,
    total: AtomicUsize,
}

/// A comparison running on its own thread.
#[derive(Debug)]
pub struct CompareJob {
    request: CompareRequest,
    job: Job<Box<CompareOutcome>, Shared>,
}

/// What [`CompareJob::poll`] found.
#[derive(Debug)]
pub enum CompareStatus {
    Running { progress: CompareProgress, cancelling: bool },
    Finished(Result<Box<CompareOutcome>, JobError>),
}

impl From<CompareError> for JobError {
    fn from(e: CompareError) -> Self {
        match e {
            CompareError::Cancelled => JobError::Cancelled,
            other => JobError::Failed(other.to_string()),
        }
    }
}

impl CompareJob {
    /// Starts the job. `wake` is called (at most every 50 ms) when there is progress, and when it has ended.
    pub fn spawn(request: CompareRequest, wake: impl Fn(Wake) + Send + 'static) -> std::io::Result<CompareJob> {
        let shared = Shared { side: AtomicUsize::new(0), done: AtomicUsize::new(0), total: AtomicUsize::new(UNKNOWN) };
        let thread_request = request.clone();
        let job = Job::spawn("har-compare", shared, wake, move |context| {
            let outcome = compare_models(&thread_request, &mut |p: CompareProgress| {
                let shared = context.progress;
                shared.side.store(usize::from(p.side == Side::B), Ordering::Relaxed);
                shared.total.store(p.total.unwrap_or(UNKNOWN), Ordering::Relaxed);
                shared.done.store(p.done, Ordering::Relaxed);
                context.wake_throttled();
                !context.cancelled()
            });
            outcome.map(Box::new).map_err(JobError::from)
        })?;
        Ok(CompareJob { request, job })
    }

    pub fn request(&self) -> &CompareRequest {
        &self.request
    }

    /// Asks the job to stop after the current batch.
    pub fn cancel(&self) {
        self.job.cancel();
    }

    /// Cancels the job and waits for its thread to end.
    pub fn cancel_and_wait(self) {
        self.job.cancel_and_wait();
    }

    pub fn poll(&mut self) -> CompareStatus {
        let data = self.request.data.path();
        if let Some(outcome) = self.job.result(|| format!("{}: the comparison stopped unexpectedly", data.display())) {
            return CompareStatus::Finished(outcome);
        }
        let shared = self.job.progress();
        let side = if shared.side.load(Ordering::Relaxed) == 1 { Side::B } else { Side::A };
        let total = shared.total.load(Ordering::Relaxed);
        let progress = CompareProgress {
            side,
            done: shared.done.load(Ordering::Relaxed),
            total: (total != UNKNOWN).then_some(total),
        };
        CompareStatus::Running { progress, cancelling: self.job.cancelling() }
    }
}

/// Where the comparison is.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparePhase {
    /// No comparison asked for yet.
    Idle,
    Running {
        progress: Option<CompareProgress>,
        cancelling: bool,
    },
    Failed {
        message: String,
    },
    Cancelled,
    /// `CompareState::result` holds the comparison.
    Done,
}

/// Which model does better on a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leader {
    A,
    B,
    Tie,
}

/// One headline number of both models, as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaRow {
    pub caption: &'static str,
    pub a: String,
    pub b: String,
    /// `B − A`, signed (`+0.123`), or `—` when undefined.
    pub delta: String,
    pub leader: Leader,
}

/// The comparison panel's state: model B, the job's phase, the result and what it was computed on.
#[derive(Debug, Clone)]
pub struct CompareState {
    /// The panel is shown instead of the single model's evaluation.
    pub open: bool,
    pub model_b: Option<PathBuf>,
    pub phase: ComparePhase,
    pub result: Option<Arc<Comparison>>,
    /// `(model A, data)` of the running job or the result.
    pub basis: Option<(PathBuf, PathBuf)>,
}

impl Default for CompareState {
    fn default() -> Self {
        CompareState { open: false, model_b: None, phase: ComparePhase::Idle, result: None, basis: None }
    }
}

impl CompareState {
    /// A comparison of `model_a` with `model_b` on `data` started: the previous result goes.
    pub fn started(&mut self, model_a: PathBuf, model_b: PathBuf, data: PathBuf) {
        self.open = true;
        self.model_b = Some(model_b);
        self.basis = Some((model_a, data));
        self.result = None;
        self.phase = ComparePhase::Running { progress: None, cancelling: false };
    }

    pub fn progressed(&mut self, update: CompareProgress, is_cancelling: bool) {
        if let ComparePhase::Running { progress, cancelling } = &mut self.phase {
            *progress = Some(update);
            *cancelling = is_cancelling;
        }
    }

    pub fn finished(&mut self, outcome: Result<Comparison, JobError>) {
        match outcome {
            Ok(comparison) => {
                self.result = Some(Arc::new(comparison));
                self.phase = ComparePhase::Done;
            }
            Err(JobError::Cancelled) => self.phase = ComparePhase::Cancelled,
            Err(JobError::Failed(message)) => self.phase = ComparePhase::Failed { message },
        }
    }

    /// The comparison could not start (no evaluated file, no model, no thread).
    pub fn refused(&mut self, message: String) {
        self.open = true;
        self.result = None;
        self.phase = ComparePhase::Failed { message };
    }

    /// True when the result (or the running job) is of another model A or file than `model_a` and `data`: the
    /// view says so rather than show old numbers as current.
    pub fn is_stale(&self, model_a: Option<&Path>, data: Option<&Path>) -> bool {
        match &self.basis {
            Some((a, d)) => model_a != Some(a.as_path()) || data != Some(d.as_path()),
            None => false,
        }
    }

    /// How far the job is over both models, 0..=1 (model A is the first half), and a sentence saying it.
    pub fn progress(&self) -> Option<(f32, String)> {
        let ComparePhase::Running { progress, .. } = &self.phase else { return None };
        let Some(p) = progress else { return Some((0.0, "starting…".to_owned())) };
        let offset = if p.side == Side::B { 0.5 } else { 0.0 };
        Some(match p.total {
            None => (offset, format!("model {}: loading the file and the model…", p.side)),
            Some(total) => {
                let share = if total == 0 { 1.0 } else { (p.done as f32 / total as f32).min(1.0) };
                (offset + share / 2.0, format!("model {}: {} / {} windows", p.side, p.done, total))
            }
        })
    }

    /// The headline rows: accuracy, macro-F1, weighted-F1, Cohen's κ, macro precision and recall.
    pub fn headline_rows(&self) -> Vec<DeltaRow> {
        let Some(c) = self.result.as_deref() else { return Vec::new() };
        let d = &c.deltas;
        let row = |caption: &'static str, x: &Delta| DeltaRow {
            caption,
            a: format!("{:.3}", x.a),
            b: format!("{:.3}", x.b),
            delta: format!("{:+.3}", x.delta),
            leader: leader(Some(x.delta)),
        };
        let mut rows = vec![
            DeltaRow {
                caption: "accuracy",
                a: format!("{:.1}%", d.accuracy.a * 100.0),
                b: format!("{:.1}%", d.accuracy.b * 100.0),
                delta: format!("{:+.1} pts", d.accuracy.delta * 100.0),
                leader: leader(Some(d.accuracy.delta)),
            },
            row("macro-F1", &d.macro_f1),
            row("weighted-F1", &d.weighted_f1),
        ];
        let k = &d.cohen_kappa;
        let text = |v: Option<f64>| v.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.3}"));
        rows.push(DeltaRow {
            caption: "Cohen's κ",
            a: text(k.a),
            b: text(k.b),
            delta: k.delta.map_or_else(|| "—".to_owned(), |v| format!("{v:+.3}")),
            leader: leader(k.delta),
        });
        rows.push(row("macro precision", &d.macro_precision));
        rows.push(row("macro recall", &d.macro_recall));
        rows
    }

    /// McNemar's box as lines of text: the p-values and which one decides.
    pub fn mcnemar_lines(&self) -> Vec<String> {
        let Some(c) = self.result.as_deref() else { return Vec::new() };
        let m = &c.mcnemar;
        let chi2 = match (m.chi2_statistic, m.chi2_p) {
            (Some(s), Some(p)) => format!("χ² = {s:.3} (continuity-corrected), p = {}", format_p(p)),
            _ => "χ² undefined (no discordant window)".to_owned(),
        };
        let primary = match m.primary {
            McNemarMethod::Exact => "exact test",
            McNemarMethod::ChiSquare => "chi-square test",
        };
        vec![
            format!("exact binomial p = {}", format_p(m.exact_p)),
            chi2,
            format!("decides: the {primary} (exact when b + c < 25; b + c = {})", m.discordant),
        ]
    }
}

/// Who leads on a difference `B − A` (a difference under 5e-4 is a tie at the shown precision).
fn leader(delta: Option<f64>) -> Leader {
    match delta {
        Some(d) if d >= 5e-4 => Leader::B,
        Some(d) if d <= -5e-4 => Leader::A,
        _ => Leader::Tie,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvaluationReport, ModelInfo, PairedCounts, ReportContext, WindowPrediction};

    fn report(name: &str, pairs: &[(usize, usize)]) -> EvaluationReport {
        let classes: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let predictions: Vec<WindowPrediction> = pairs
            .iter()
            .enumerate()
            .map(|(i, &(t, p))| WindowPrediction {
                window: i,
                start_row: i * 10,
                end_row: i * 10 + 10,
                t_start: 0.0,
                t_end: 0.0,
                probabilities: (0..2).map(|c| if c == p { 0.9 } else { 0.1 }).collect(),
                true_label: Some(t),
                user: None,
            })
            .collect();
        let context = ReportContext {
            model: ModelInfo {
                name: name.into(),
                version: "1".into(),
                path: format!("{name}.onnx"),
                temperature: None,
            },
            data: "d.csv".into(),
            windows_skipped: 0,
            seconds: 0.0,
            notes: Vec::new(),
        };
        EvaluationReport::build(context, &classes, &predictions).unwrap()
    }

    fn comparison() -> Comparison {
        // A right on windows 0, 1; B right on 0, 1, 2, 3.
        let truth = [0, 1, 0, 1];
        let a: Vec<(usize, usize)> =
            truth.iter().enumerate().map(|(i, &t)| (t, if i < 2 { t } else { 1 - t })).collect();
        let b: Vec<(usize, usize)> = truth.iter().map(|&t| (t, t)).collect();
        let mut paired = PairedCounts::default();
        for ((t, pa), (_, pb)) in a.iter().zip(&b) {
            paired.add(pa == t, pb == t);
        }
        Comparison::new(report("A", &a), report("B", &b), paired).unwrap()
    }

    #[test]
    fn rows_show_both_numbers_the_signed_difference_and_who_leads() {
        let mut state = CompareState::default();
        state.started("a.onnx".into(), "b.onnx".into(), "d.csv".into());
        state.finished(Ok(comparison()));
        assert_eq!(state.phase, ComparePhase::Done);
        let rows = state.headline_rows();
        assert_eq!(rows[0].caption, "accuracy");
        assert_eq!((rows[0].a.as_str(), rows[0].b.as_str()), ("50.0%", "100.0%"));
        assert_eq!(rows[0].delta, "+50.0 pts");
        assert_eq!(rows[0].leader, Leader::B);
        assert_eq!(rows.len(), 6);
        let lines = state.mcnemar_lines();
        assert!(lines[0].starts_with("exact binomial p = 0.50"), "{lines:?}");
        assert!(lines[2].contains("b + c = 2"), "{lines:?}");
    }

    #[test]
    fn a_result_of_another_file_or_model_is_stale() {
        let mut state = CompareState::default();
        assert!(!state.is_stale(None, None));
        state.started("a.onnx".into(), "b.onnx".into(), "d.csv".into());
        assert!(!state.is_stale(Some(Path::new("a.onnx")), Some(Path::new("d.csv"))));
        assert!(state.is_stale(Some(Path::new("a.onnx")), Some(Path::new("other.csv"))));
        assert!(state.is_stale(Some(Path::new("c.onnx")), Some(Path::new("d.csv"))));
    }

    #[test]
    fn progress_runs_over_both_models() {
        let mut state = CompareState::default();
        state.started("a.onnx".into(), "b.onnx".into(), "d.csv".into());
        assert_eq!(state.progress().unwrap().0, 0.0);
        state.progressed(CompareProgress { side: Side::A, done: 10, total: Some(20) }, false);
        assert_eq!(state.progress().unwrap(), (0.25, "model A: 10 / 20 windows".to_owned()));
        state.progressed(CompareProgress { side: Side::B, done: 20, total: Some(20) }, false);
        assert_eq!(state.progress().unwrap().0, 1.0);
        state.finished(Err(JobError::Failed("b.onnx: no card".into())));
        assert_eq!(state.phase, ComparePhase::Failed { message: "b.onnx: no card".into() });
        assert_eq!(state.progress(), None);
    }
}
