//! One model prediction per window, and the `predictions.csv` that `predict` and `evaluate` write (docs/FORMATS.md §4):
//! `window,start_row,end_row,t_start,t_end,predicted,confidence,p_<class>...` then `true` (evaluate) and `user`
//! (when known). Extra columns always come after the listed ones.

use std::fmt::Debug;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EvalError;

/// The model's output for one window of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowPrediction {
    /// 0-based index of the window in the recording (its position in the prediction list).
    pub window: usize,
    /// First data row of the window in the file (0-based).
    pub start_row: usize,
    /// One past the last data row of the window in the file (end exclusive).
    pub end_row: usize,
    /// Time of the window's first row, seconds.
    pub t_start: f64,
    /// Time of the window's last row, seconds.
    pub t_end: f64,
    /// One probability per class, in card order.
    pub probabilities: Vec<f32>,
    /// Majority true label (card class index) when the file is labelled.
    pub true_label: Option<usize>,
    /// User of the window when the file has a user column.
    pub user: Option<String>,
}

impl WindowPrediction {
    /// The predicted class: the index of the largest probability, ties to the smallest index (numpy's `argmax`).
    /// NaN probabilities are passed over; with no usable probability at all the answer is class 0.
    pub fn predicted(&self) -> usize {
        crate::numeric::argmax(&self.probabilities).map_or(0, |(index, _)| index)
    }

    /// The probability of the predicted class (NaN when there are no probabilities).
    pub fn confidence(&self) -> f32 {
        self.probabilities.get(self.predicted()).copied().unwrap_or(f32::NAN)
    }

    /// Whether the prediction matches the true label; `None` when the window has no true label.
    pub fn is_correct(&self) -> Option<bool> {
        self.true_label.map(|t| t == self.predicted())
    }
}

/// The predictions that fall in cell (`true_class`, `predicted`) of the confusion matrix.
pub fn windows_in_cell(
    predictions: &[WindowPrediction],
    true_class: usize,
    predicted: usize,
) -> impl Iterator<Item = &WindowPrediction> {
    predictions.iter().filter(move |p| p.true_label == Some(true_class) && p.predicted() == predicted)
}

/// Which optional columns `predictions.csv` carries after the ones docs/FORMATS.md §4 lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PredictionColumns {
    /// A `true` column with the true class name (empty for a window without a label); `evaluate` sets it.
    pub true_label: bool,
    /// A `user` column (empty when unknown).
    pub user: bool,
}

/// A number with full precision: the shortest text that reads back to the same value, always with a decimal point
/// or an exponent (`2.0`, `0.1`, `1.5e-7`, `NaN`), like Python's `repr` (Rust's `Debug` for floats).
pub fn format_float<T: Into<f64> + Debug>(x: T) -> String {
    format!("{x:?}")
}

fn class_name(classes: &[String], index: usize) -> String {
    classes.get(index).cloned().unwrap_or_else(|| index.to_string())
}

/// Writes `predictions.csv` one window at a time (see [`write_predictions`]).
pub struct PredictionWriter<W: Write> {
    out: csv::Writer<W>,
    classes: Vec<String>,
    columns: PredictionColumns,
    record: Vec<String>,
}

impl<W: Write> PredictionWriter<W> {
    /// Writes the header.
    pub fn new(writer: W, classes: &[String], columns: PredictionColumns) -> Result<Self, EvalError> {
        let mut out = csv::Writer::from_writer(writer);
        let mut header: Vec<String> = ["window", "start_row", "end_row", "t_start", "t_end", "predicted", "confidence"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        header.extend(classes.iter().map(|c| format!("p_{c}")));
        if columns.true_label {
            header.push("true".into());
        }
        if columns.user {
            header.push("user".into());
        }
        out.write_record(&header).map_err(EvalError::CsvStream)?;
        Ok(Self { out, classes: classes.to_vec(), columns, record: Vec::with_capacity(header.len()) })
    }

    /// Writes one window's row; it must have one probability per class.
    pub fn write(&mut self, p: &WindowPrediction) -> Result<(), EvalError> {
        let classes = &self.classes;
        if p.probabilities.len() != classes.len() {
            return Err(EvalError::ProbabilityCount {
                window: p.window,
                got: p.probabilities.len(),
                expected: classes.len(),
            });
        }
        let record = &mut self.record;
        record.clear();
        record.push(p.window.to_string());
        record.push(p.start_row.to_string());
        record.push(p.end_row.to_string());
        record.push(format_float(p.t_start));
        record.push(format_float(p.t_end));
        record.push(class_name(classes, p.predicted()));
        record.push(format_float(p.confidence()));
        record.extend(p.probabilities.iter().map(|&x| format_float(x)));
        if self.columns.true_label {
            record.push(p.true_label.map(|t| class_name(classes, t)).unwrap_or_default());
        }
        if self.columns.user {
            record.push(p.user.clone().unwrap_or_default());
        }
        self.out.write_record(&*record).map_err(EvalError::CsvStream)
    }

    /// Flushes and gives the writer back.
    pub fn finish(self) -> Result<W, EvalError> {
        self.out.into_inner().map_err(|e| EvalError::CsvStream(e.into_error().into()))
    }
}

/// Writes the predictions as CSV to `writer`. Every prediction must have one probability per class.
pub fn write_predictions<W: Write>(
    writer: W,
    predictions: &[WindowPrediction],
    classes: &[String],
    columns: PredictionColumns,
) -> Result<(), EvalError> {
    for p in predictions {
        if p.probabilities.len() != classes.len() {
            return Err(EvalError::ProbabilityCount {
                window: p.window,
                got: p.probabilities.len(),
                expected: classes.len(),
            });
        }
    }
    let mut out = PredictionWriter::new(writer, classes, columns)?;
    for p in predictions {
        out.write(p)?;
    }
    out.finish()?;
    Ok(())
}

/// Writes the predictions to the CSV file `path` (see [`write_predictions`]); errors name the file, and a failed
/// write leaves an earlier file as it was.
pub fn write_predictions_csv(
    path: &Path,
    predictions: &[WindowPrediction],
    classes: &[String],
    columns: PredictionColumns,
) -> Result<(), EvalError> {
    let io_error = |e: crate::output::OutputError| EvalError::Io { path: e.path, source: e.source };
    let mut file = crate::output::AtomicFile::create(path).map_err(io_error)?;
    write_predictions(&mut file, predictions, classes, columns).map_err(|e| match e {
        EvalError::CsvStream(source) => EvalError::Csv { path: path.to_owned(), source },
        other => other,
    })?;
    file.commit().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(probabilities: Vec<f32>) -> WindowPrediction {
        WindowPrediction {
            window: 0,
            start_row: 0,
            end_row: 200,
            t_start: 0.0,
            t_end: 3.98,
            probabilities,
            true_label: None,
            user: None,
        }
    }

    #[test]
    fn argmax_ties_go_to_the_smallest_index() {
        assert_eq!(prediction(vec![0.2, 0.4, 0.4]).predicted(), 1);
        assert_eq!(prediction(vec![0.5, 0.5]).predicted(), 0);
        assert_eq!(prediction(vec![0.1, 0.2, 0.7]).predicted(), 2);
        assert_eq!(prediction(vec![0.1, 0.2, 0.7]).confidence(), 0.7);
    }

    #[test]
    fn nan_and_empty_probabilities_do_not_panic() {
        assert_eq!(prediction(vec![f32::NAN, 0.3, 0.6]).predicted(), 2);
        assert_eq!(prediction(vec![f32::NAN, f32::NAN]).predicted(), 0);
        assert_eq!(prediction(vec![]).predicted(), 0);
        assert!(prediction(vec![]).confidence().is_nan());
    }

    #[test]
    fn floats_read_back_exactly() {
        for x in [0.1f32, 1.0 / 3.0, 1e-7, 3.4e38, 1.2e-38, 0.999_999_94, 0.0] {
            assert_eq!(format_float(x).parse::<f32>().unwrap(), x, "{x}");
        }
        for x in [1_700_000_000.123_456_7f64, 0.02, 1e-300, 1e20] {
            assert_eq!(format_float(x).parse::<f64>().unwrap(), x, "{x}");
        }
        assert_eq!(format_float(0.5f32), "0.5");
        assert_eq!(format_float(2.0f64), "2.0");
        assert_eq!(format_float(1.5e-7f32), "1.5e-7");
    }
}
