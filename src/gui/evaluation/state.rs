//! The evaluation view's state as plain data: the job's phase, the finished evaluation, the selected
//! confusion-matrix cell and window, and the orders of the tables. No drawing here, so it is tested without a window.

use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;

use crate::eval::{WindowPrediction, natural_cmp, windows_in_cell};
use crate::session::evaluation::{Evaluation, EvaluationProgress, JobError};

/// Where the evaluation is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Nothing evaluated yet.
    Empty,
    Running {
        file: PathBuf,
        progress: Option<EvaluationProgress>,
    },
    Failed {
        file: PathBuf,
        message: String,
    },
    Cancelled {
        file: PathBuf,
    },
    /// `EvaluationState::result` holds the evaluation.
    Done,
}

/// Columns of the per-class table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassColumn {
    /// The model card's order.
    Class,
    Precision,
    Recall,
    F1,
    Support,
}

/// Columns of the table of windows in the selected cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowColumn {
    /// Window order, which is time order within the file.
    Time,
    User,
    Confidence,
    StartRow,
}

/// Which column a table is sorted by, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortOrder<C> {
    pub column: C,
    pub descending: bool,
}

impl<C: Copy + PartialEq> SortOrder<C> {
    /// A click on a column header: the sorted column flips its direction; another column becomes the sort key,
    /// in its natural direction (`descending` for numbers where bigger is more interesting).
    pub fn click(&mut self, column: C, natural_descending: bool) {
        if self.column == column {
            self.descending = !self.descending;
        } else {
            *self = SortOrder { column, descending: natural_descending };
        }
    }

    fn apply(&self, ordering: Ordering) -> Ordering {
        if self.descending { ordering.reverse() } else { ordering }
    }
}

/// The tabs beside the confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideTab {
    /// Per-class metrics and per-user accuracy.
    Classes,
    /// The windows of the selected cell and the picked window.
    Cell,
    /// The reliability diagram and calibration numbers.
    Calibration,
}

/// Where the last export of the report stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportStatus {
    None,
    Writing(PathBuf),
    Written { dir: PathBuf, files: Vec<PathBuf> },
    Failed(String),
}

/// The six signals of one window, from the recording (physical units, the card's channel order).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSignals {
    /// Seconds since the window's first row.
    pub seconds: Vec<f64>,
    /// `(channel name, values)`, one entry per channel.
    pub channels: Vec<(String, Vec<f32>)>,
}

#[derive(Debug, Clone)]
pub struct EvaluationState {
    pub phase: Phase,
    pub result: Option<Arc<Evaluation>>,
    /// The selected confusion-matrix cell: (true class, predicted class).
    pub cell: Option<(usize, usize)>,
    /// The predictions in the selected cell (indices into `scored.predictions`), in `window_order`.
    pub cell_windows: Vec<usize>,
    pub window_order: SortOrder<WindowColumn>,
    /// The prediction whose signals and probabilities are shown (index into `scored.predictions`).
    pub picked: Option<usize>,
    pub class_order: SortOrder<ClassColumn>,
    pub tab: SideTab,
    pub export: ExportStatus,
    /// The notes and loading details are shown under the headline.
    pub notes_open: bool,
}

impl Default for EvaluationState {
    fn default() -> Self {
        EvaluationState {
            phase: Phase::Empty,
            result: None,
            cell: None,
            cell_windows: Vec::new(),
            window_order: SortOrder { column: WindowColumn::Time, descending: false },
            picked: None,
            class_order: SortOrder { column: ClassColumn::Class, descending: false },
            tab: SideTab::Classes,
            export: ExportStatus::None,
            notes_open: false,
        }
    }
}

impl EvaluationState {
    /// A new job started on `file`: the previous result and everything selected in it go.
    pub fn started(&mut self, file: PathBuf) {
        self.phase = Phase::Running { file, progress: None };
        self.result = None;
        self.clear_cell();
        self.tab = SideTab::Classes;
        self.export = ExportStatus::None;
    }

    /// The running job reports progress.
    pub fn progressed(&mut self, update: EvaluationProgress) {
        if let Phase::Running { progress, .. } = &mut self.phase {
            *progress = Some(update);
        }
    }

    /// The job on `file` ended.
    pub fn finished(&mut self, file: PathBuf, outcome: Result<Evaluation, JobError>) {
        match outcome {
            Ok(evaluation) => {
                self.result = Some(Arc::new(evaluation));
                self.phase = Phase::Done;
            }
            Err(JobError::Cancelled) => self.phase = Phase::Cancelled { file },
            Err(JobError::Failed(message)) => self.phase = Phase::Failed { file, message },
        }
    }

    /// The evaluation could not even start (no model, no thread).
    pub fn failed_to_start(&mut self, file: PathBuf, message: String) {
        self.phase = Phase::Failed { file, message };
        self.result = None;
        self.clear_cell();
    }

    fn predictions(&self) -> &[WindowPrediction] {
        self.result.as_deref().map_or(&[], |r| r.scored.predictions.as_slice())
    }

    /// Number of classes of the current result (0 without one).
    fn n_classes(&self) -> usize {
        self.result.as_deref().map_or(0, |r| r.report.classes.len())
    }

    /// Selects cell (`true_class`, `predicted`): lists its windows, picks the first of them and shows the cell's
    /// tab. A cell outside the matrix is ignored.
    pub fn select_cell(&mut self, true_class: usize, predicted: usize) {
        let n = self.n_classes();
        if true_class >= n || predicted >= n {
            return;
        }
        // A prediction's `window` is its position in the list (the batch scorer numbers them so).
        let mut windows: Vec<usize> =
            windows_in_cell(self.predictions(), true_class, predicted).map(|p| p.window).collect();
        self.sort_window_list(&mut windows);
        self.cell = Some((true_class, predicted));
        self.picked = windows.first().copied();
        self.cell_windows = windows;
        self.tab = SideTab::Cell;
    }

    pub fn clear_cell(&mut self) {
        self.cell = None;
        self.cell_windows.clear();
        self.picked = None;
    }

    /// A click on a header of the window table.
    pub fn sort_windows(&mut self, column: WindowColumn) {
        self.window_order.click(column, column == WindowColumn::Confidence);
        let mut windows = std::mem::take(&mut self.cell_windows);
        self.sort_window_list(&mut windows);
        self.cell_windows = windows;
    }

    fn sort_window_list(&self, windows: &mut [usize]) {
        let predictions = self.predictions();
        let order = self.window_order;
        windows.sort_by(|&a, &b| {
            let (Some(pa), Some(pb)) = (predictions.get(a), predictions.get(b)) else { return a.cmp(&b) };
            let key = match order.column {
                WindowColumn::Time => pa.t_start.total_cmp(&pb.t_start),
                WindowColumn::User => natural_cmp(pa.user.as_deref().unwrap_or(""), pb.user.as_deref().unwrap_or("")),
                WindowColumn::Confidence => pa.confidence().total_cmp(&pb.confidence()),
                WindowColumn::StartRow => pa.start_row.cmp(&pb.start_row),
            };
            order.apply(key).then(a.cmp(&b))
        });
    }

    /// Picks a window of the selected cell to show.
    pub fn pick_window(&mut self, prediction: usize) {
        if self.cell_windows.contains(&prediction) {
            self.picked = Some(prediction);
        }
    }

    /// A click on a header of the per-class table.
    pub fn sort_classes(&mut self, column: ClassColumn) {
        self.class_order.click(column, column != ClassColumn::Class);
    }

    /// The rows of the per-class table (class indices) in `class_order`; ties keep the card's order.
    pub fn class_rows(&self) -> Vec<usize> {
        let Some(result) = self.result.as_deref() else { return Vec::new() };
        let per_class = &result.report.per_class;
        let mut rows: Vec<usize> = (0..per_class.len()).collect();
        let order = self.class_order;
        rows.sort_by(|&a, &b| {
            let (Some(ca), Some(cb)) = (per_class.get(a), per_class.get(b)) else { return a.cmp(&b) };
            let key = match order.column {
                ClassColumn::Class => a.cmp(&b),
                ClassColumn::Precision => ca.precision.total_cmp(&cb.precision),
                ClassColumn::Recall => ca.recall.total_cmp(&cb.recall),
                ClassColumn::F1 => ca.f1.total_cmp(&cb.f1),
                ClassColumn::Support => ca.support.cmp(&cb.support),
            };
            order.apply(key).then(a.cmp(&b))
        });
        rows
    }

    /// Seconds from the first row of the recording to `seconds` (recordings may carry epoch timestamps).
    pub fn file_time(&self, seconds: f64) -> f64 {
        let first = self.result.as_deref().and_then(|r| r.scored.recording.time.first().copied()).unwrap_or(0.0);
        seconds - first
    }

    /// The signals of prediction `prediction`'s window, from the recording.
    pub fn window_signals(&self, prediction: usize) -> Option<WindowSignals> {
        let result = self.result.as_deref()?;
        let p = result.scored.predictions.get(prediction)?;
        let window = result.scored.windowing.windows.get(p.window)?;
        let recording = &result.scored.recording;
        let times = recording.time.get(window.start..window.end)?;
        let t0 = times.first().copied().unwrap_or(0.0);
        let channels = recording
            .channel_names
            .iter()
            .zip(&recording.channels)
            .map(|(name, values)| Some((name.clone(), values.get(window.start..window.end)?.to_vec())))
            .collect::<Option<Vec<_>>>()?;
        Some(WindowSignals { seconds: times.iter().map(|t| t - t0).collect(), channels })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::data::{Recording, Window, Windowing};
    use crate::eval::{EvaluationReport, ModelInfo, ReportContext};
    use crate::pipeline::batch::ScoredFile;

    const CLASSES: [&str; 3] = ["hair_pulling", "nail_biting", "sitting"];

    /// A recording of `rows` rows at 50 Hz starting at epoch second 1000, with channel `c` holding `c*1000 + row`,
    /// and one 10-row window every 10 rows, one per entry of `windows`: (true class, predicted class, confidence,
    /// user).
    pub(in crate::gui) fn evaluation(windows: &[(usize, usize, f32, &str)]) -> Evaluation {
        let rows = windows.len() * 10;
        let recording = Recording {
            source: "test.csv".into(),
            channel_names: ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"].iter().map(|s| s.to_string()).collect(),
            channels: (0..6).map(|c| (0..rows).map(|r| (c * 1000 + r) as f32).collect()).collect(),
            time: (0..rows).map(|r| 1000.0 + r as f64 / 50.0).collect(),
            file_row: (0..rows as u32).collect(),
            labels: Some(vec![0; rows]),
            users: None,
            user_names: Vec::new(),
        };
        let mut predictions = Vec::new();
        let mut cut = Vec::new();
        for (k, &(truth, predicted, confidence, user)) in windows.iter().enumerate() {
            let start = k * 10;
            let rest = (1.0 - confidence) / (CLASSES.len() - 1) as f32;
            let probabilities = (0..CLASSES.len()).map(|c| if c == predicted { confidence } else { rest }).collect();
            cut.push(Window { start, end: start + 10, label: Some(truth), user: None, segment: 0 });
            predictions.push(WindowPrediction {
                window: k,
                start_row: start,
                end_row: start + 10,
                t_start: recording.time[start],
                t_end: recording.time[start + 9] + 0.02,
                probabilities,
                true_label: Some(truth),
                user: Some(user.to_string()),
            });
        }
        let classes: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
        let context = ReportContext {
            model: ModelInfo { name: "m".into(), version: "1".into(), path: "m.onnx".into(), temperature: None },
            data: "test.csv".into(),
            windows_skipped: 0,
            seconds: 0.0,
            notes: Vec::new(),
        };
        let report = EvaluationReport::build(context, &classes, &predictions).unwrap();
        Evaluation {
            report,
            scored: ScoredFile {
                path: "test.csv".into(),
                recording,
                load_report: Default::default(),
                windowing: Windowing { windows: cut, ..Default::default() },
                predictions,
                seconds: 0.0,
                inference_seconds: 0.0,
            },
            accel_unit: "m/s^2".into(),
            gyro_unit: "deg/s".into(),
        }
    }

    fn state(windows: &[(usize, usize, f32, &str)]) -> EvaluationState {
        let mut state = EvaluationState::default();
        state.started("test.csv".into());
        state.finished("test.csv".into(), Ok(evaluation(windows)));
        state
    }

    /// nail_biting (1) taken for hair_pulling (0) in windows 1, 3 and 4.
    pub(in crate::gui) const MIXED: [(usize, usize, f32, &str); 6] =
        [(0, 0, 0.9, "2"), (1, 0, 0.6, "10"), (1, 1, 0.8, "2"), (1, 0, 0.95, "2"), (1, 0, 0.7, "1"), (2, 2, 0.5, "1")];

    #[test]
    fn selecting_a_cell_lists_exactly_its_windows_and_picks_the_first() {
        let mut s = state(&MIXED);
        s.select_cell(1, 0);
        assert_eq!(s.cell, Some((1, 0)));
        assert_eq!(s.cell_windows, vec![1, 3, 4]);
        assert_eq!(s.picked, Some(1));
        assert_eq!(s.tab, SideTab::Cell);
        // The count of the list is the count the matrix shows for that cell.
        let count = s.result.as_ref().unwrap().report.confusion_matrix.count(1, 0);
        assert_eq!(s.cell_windows.len() as u64, count);

        s.select_cell(2, 1);
        assert!(s.cell_windows.is_empty(), "an empty cell lists nothing");
        assert_eq!(s.picked, None);
    }

    #[test]
    fn a_cell_outside_the_matrix_is_ignored() {
        let mut s = state(&MIXED);
        s.select_cell(1, 0);
        s.select_cell(3, 0);
        s.select_cell(0, 7);
        assert_eq!(s.cell, Some((1, 0)));
        let mut empty = EvaluationState::default();
        empty.select_cell(0, 0);
        assert_eq!(empty.cell, None, "nothing to select without a result");
    }

    #[test]
    fn only_windows_of_the_cell_can_be_picked() {
        let mut s = state(&MIXED);
        s.select_cell(1, 0);
        s.pick_window(4);
        assert_eq!(s.picked, Some(4));
        s.pick_window(2);
        assert_eq!(s.picked, Some(4), "window 2 is in another cell");
        s.clear_cell();
        assert_eq!((s.cell, s.picked, s.cell_windows.len()), (None, None, 0));
    }

    #[test]
    fn the_window_list_sorts_by_confidence_user_and_back() {
        let mut s = state(&MIXED);
        s.select_cell(1, 0);
        s.sort_windows(WindowColumn::Confidence);
        assert_eq!(s.cell_windows, vec![3, 4, 1], "most confident mistakes first");
        s.sort_windows(WindowColumn::Confidence);
        assert_eq!(s.cell_windows, vec![1, 4, 3]);
        s.sort_windows(WindowColumn::User);
        assert_eq!(s.cell_windows, vec![4, 3, 1], "users in natural order: 1, 2, 10");
        s.sort_windows(WindowColumn::Time);
        assert_eq!(s.cell_windows, vec![1, 3, 4]);
        // A new cell keeps the chosen order.
        s.sort_windows(WindowColumn::Time);
        s.select_cell(1, 0);
        assert_eq!(s.cell_windows, vec![4, 3, 1]);
    }

    #[test]
    fn the_class_table_sorts_by_each_column() {
        let s0 = state(&MIXED);
        // Recall: hair_pulling 1/1, nail_biting 1/4, sitting 1/1. Precision: 1/4, 1/1, 1/1. Support: 1, 4, 1.
        let mut s = s0.clone();
        assert_eq!(s.class_rows(), vec![0, 1, 2], "card order at first");
        s.sort_classes(ClassColumn::Recall);
        assert_eq!(s.class_rows(), vec![0, 2, 1], "descending; ties keep the card's order");
        s.sort_classes(ClassColumn::Recall);
        assert_eq!(s.class_rows(), vec![1, 0, 2]);
        s.sort_classes(ClassColumn::Precision);
        assert_eq!(s.class_rows(), vec![1, 2, 0]);
        s.sort_classes(ClassColumn::Support);
        assert_eq!(s.class_rows(), vec![1, 0, 2]);
        s.sort_classes(ClassColumn::Class);
        assert_eq!(s.class_rows(), vec![0, 1, 2]);
        s.sort_classes(ClassColumn::Class);
        assert_eq!(s.class_rows(), vec![2, 1, 0]);
        s.sort_classes(ClassColumn::F1);
        // F1: hair_pulling 2·(1/4·1)/(5/4) = 0.4, nail_biting 2·(1·1/4)/(5/4) = 0.4, sitting 1.
        assert_eq!(s.class_rows(), vec![2, 0, 1]);
    }

    #[test]
    fn window_signals_are_the_recording_rows_of_the_window() {
        let s = state(&MIXED);
        let signals = s.window_signals(3).unwrap();
        assert_eq!(signals.channels.len(), 6);
        assert_eq!(signals.channels[0].0, "Ax");
        assert_eq!(signals.channels[4].1, (30..40).map(|r| (4000 + r) as f32).collect::<Vec<_>>());
        assert_eq!(signals.seconds.len(), 10);
        assert_eq!(signals.seconds[0], 0.0);
        assert!((signals.seconds[9] - 0.18).abs() < 1e-9);
        assert_eq!(s.window_signals(99), None);
        // Times in the list are counted from the first row of the file, not from the epoch.
        let p = &s.result.as_ref().unwrap().scored.predictions[3];
        assert!((s.file_time(p.t_start) - 0.6).abs() < 1e-9);
    }

    #[test]
    fn a_new_job_clears_the_old_result_and_failures_keep_the_message() {
        let mut s = state(&MIXED);
        s.select_cell(1, 0);
        s.export = ExportStatus::Written { dir: "/tmp/r".into(), files: Vec::new() };
        s.started("other.csv".into());
        assert!(matches!(s.phase, Phase::Running { .. }));
        assert!(s.result.is_none());
        assert_eq!((s.cell, s.picked, s.tab), (None, None, SideTab::Classes));
        assert_eq!(s.export, ExportStatus::None);
        s.finished("other.csv".into(), Err(JobError::Failed("other.csv: no label column".into())));
        assert_eq!(s.phase, Phase::Failed { file: "other.csv".into(), message: "other.csv: no label column".into() });
        s.started("third.csv".into());
        s.finished("third.csv".into(), Err(JobError::Cancelled));
        assert_eq!(s.phase, Phase::Cancelled { file: "third.csv".into() });
    }
}
