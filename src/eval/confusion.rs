//! The confusion matrix: counts of windows by (true class, predicted class), rows = true, columns = predicted,
//! in the model card's class order (scikit-learn's `confusion_matrix(y_true, y_pred, labels=range(n))`).

use serde::{Deserialize, Serialize};

use super::EvalError;

/// Counts of windows by true class (row) and predicted class (column) over `n` classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<u64>>", into = "Vec<Vec<u64>>")]
pub struct ConfusionMatrix {
    n_classes: usize,
    /// Row-major `n_classes × n_classes` counts.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An all-zero matrix over `n_classes` classes.
    pub fn new(n_classes: usize) -> Self {
        Self { n_classes, counts: vec![0; n_classes * n_classes] }
    }

    /// Builds the matrix from `(true, predicted)` class-index pairs.
    pub fn from_pairs(n_classes: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Result<Self, EvalError> {
        let mut matrix = Self::new(n_classes);
        for (true_class, predicted) in pairs {
            matrix.add(true_class, predicted)?;
        }
        Ok(matrix)
    }

    /// Rebuilds a matrix from its rows (as stored in `report.json`); every row must have one cell per row.
    pub fn from_rows(rows: &[Vec<u64>]) -> Result<Self, EvalError> {
        let n_classes = rows.len();
        let mut counts = Vec::with_capacity(n_classes * n_classes);
        for (row, cells) in rows.iter().enumerate() {
            if cells.len() != n_classes {
                return Err(EvalError::RaggedMatrix { row, len: cells.len(), n_classes });
            }
            counts.extend_from_slice(cells);
        }
        Ok(Self { n_classes, counts })
    }

    /// Counts one window whose true class is `true_class` and which was predicted as `predicted`.
    pub fn add(&mut self, true_class: usize, predicted: usize) -> Result<(), EvalError> {
        self.add_count(true_class, predicted, 1)
    }

    /// Counts `count` windows at once in cell (`true_class`, `predicted`).
    pub fn add_count(&mut self, true_class: usize, predicted: usize, count: u64) -> Result<(), EvalError> {
        let n_classes = self.n_classes;
        for index in [true_class, predicted] {
            if index >= n_classes {
                return Err(EvalError::ClassOutOfRange { index, n_classes });
            }
        }
        if let Some(cell) = self.counts.get_mut(true_class * n_classes + predicted) {
            *cell = cell.saturating_add(count);
        }
        Ok(())
    }

    /// Adds every count of `other` (same number of classes) into this matrix.
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<(), EvalError> {
        if other.n_classes != self.n_classes {
            return Err(EvalError::SizeMismatch { left: self.n_classes, right: other.n_classes });
        }
        for (cell, add) in self.counts.iter_mut().zip(&other.counts) {
            *cell = cell.saturating_add(*add);
        }
        Ok(())
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// The count in cell (`true_class`, `predicted`); 0 outside the matrix.
    pub fn count(&self, true_class: usize, predicted: usize) -> u64 {
        if true_class >= self.n_classes || predicted >= self.n_classes {
            return 0;
        }
        self.counts.get(true_class * self.n_classes + predicted).copied().unwrap_or(0)
    }

    /// Row `true_class` (one count per predicted class); empty outside the matrix.
    pub fn row(&self, true_class: usize) -> &[u64] {
        let start = true_class.saturating_mul(self.n_classes);
        self.counts.get(start..start.saturating_add(self.n_classes)).unwrap_or(&[])
    }

    /// All rows, as nested vectors (the `confusion_matrix` of `report.json`).
    pub fn rows(&self) -> Vec<Vec<u64>> {
        (0..self.n_classes).map(|i| self.row(i).to_vec()).collect()
    }

    /// Number of windows counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Number of windows predicted right (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..self.n_classes).map(|i| self.count(i, i)).sum()
    }

    /// Windows per true class (row sums): the support of each class.
    pub fn true_totals(&self) -> Vec<u64> {
        (0..self.n_classes).map(|i| self.row(i).iter().sum()).collect()
    }

    /// Windows per predicted class (column sums).
    pub fn predicted_totals(&self) -> Vec<u64> {
        (0..self.n_classes).map(|j| (0..self.n_classes).map(|i| self.count(i, j)).sum()).collect()
    }

    /// Each row divided by its sum (the share of a true class's windows that went to each prediction). A row with
    /// no windows stays all zero.
    pub fn row_normalized(&self) -> Vec<Vec<f64>> {
        (0..self.n_classes)
            .map(|i| {
                let row = self.row(i);
                let sum: u64 = row.iter().sum();
                row.iter().map(|&c| if sum == 0 { 0.0 } else { c as f64 / sum as f64 }).collect()
            })
            .collect()
    }
}

impl TryFrom<Vec<Vec<u64>>> for ConfusionMatrix {
    type Error = EvalError;

    fn try_from(rows: Vec<Vec<u64>>) -> Result<Self, Self::Error> {
        Self::from_rows(&rows)
    }
}

impl From<ConfusionMatrix> for Vec<Vec<u64>> {
    fn from(matrix: ConfusionMatrix) -> Self {
        matrix.rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_true_columns_are_predicted() {
        let m = ConfusionMatrix::from_pairs(3, [(0, 1), (0, 1), (2, 2), (1, 0)]).unwrap();
        assert_eq!(m.rows(), vec![vec![0, 2, 0], vec![1, 0, 0], vec![0, 0, 1]]);
        assert_eq!(m.total(), 4);
        assert_eq!(m.correct(), 1);
        assert_eq!(m.true_totals(), vec![2, 1, 1]);
        assert_eq!(m.predicted_totals(), vec![1, 2, 1]);
    }

    #[test]
    fn out_of_range_index_is_an_error_not_a_panic() {
        let mut m = ConfusionMatrix::new(2);
        assert!(matches!(m.add(2, 0), Err(EvalError::ClassOutOfRange { index: 2, n_classes: 2 })));
        assert!(matches!(m.add(0, 5), Err(EvalError::ClassOutOfRange { index: 5, n_classes: 2 })));
        assert_eq!(m.total(), 0);
        assert_eq!(m.count(7, 7), 0);
        assert!(m.row(9).is_empty());
    }

    #[test]
    fn row_normalised_rows_sum_to_one_and_empty_rows_stay_zero() {
        let m = ConfusionMatrix::from_pairs(3, [(0, 0), (0, 1), (0, 1), (2, 2)]).unwrap();
        let n = m.row_normalized();
        assert_eq!(n[0], vec![1.0 / 3.0, 2.0 / 3.0, 0.0]);
        assert_eq!(n[1], vec![0.0, 0.0, 0.0]);
        assert_eq!(n[2], vec![0.0, 0.0, 1.0]);
    }

    #[test]
    fn merge_adds_counts_and_refuses_other_sizes() {
        let mut a = ConfusionMatrix::from_pairs(2, [(0, 0), (1, 0)]).unwrap();
        let b = ConfusionMatrix::from_pairs(2, [(1, 0), (1, 1)]).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.rows(), vec![vec![1, 0], vec![2, 1]]);
        assert!(matches!(a.merge(&ConfusionMatrix::new(3)), Err(EvalError::SizeMismatch { left: 2, right: 3 })));
    }

    #[test]
    fn json_round_trip_is_nested_rows_and_refuses_ragged_rows() {
        let m = ConfusionMatrix::from_pairs(2, [(0, 1), (1, 1)]).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, "[[0,1],[0,1]]");
        assert_eq!(serde_json::from_str::<ConfusionMatrix>(&text).unwrap(), m);
        assert!(serde_json::from_str::<ConfusionMatrix>("[[0,1],[0]]").is_err());
    }
}
