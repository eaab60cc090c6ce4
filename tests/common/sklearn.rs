//! The scikit-learn reference cases of tests/fixtures/metrics/sklearn_metrics.json (written by make_fixtures.py
//! with scikit-learn): labels, predictions and the numbers scikit-learn computed for them.

// Each test file uses a part of this module.
#![allow(dead_code)]

use serde::Deserialize;

/// Agreement with scikit-learn required of every metric.
pub const TOLERANCE: f64 = 1e-12;

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub cases: Vec<Case>,
}

/// A macro or weighted average as scikit-learn reports it.
#[derive(Debug, Deserialize)]
pub struct Average {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// One user's line of the per-user accuracy.
#[derive(Debug, Deserialize)]
pub struct UserRef {
    pub user: String,
    pub windows: u64,
    pub accuracy: f64,
}

/// One reference case: true and predicted class indices and scikit-learn's numbers for them.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub n_classes: usize,
    pub y_true: Vec<usize>,
    pub y_pred: Vec<usize>,
    pub accuracy: f64,
    pub cohen_kappa: Option<f64>,
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub f1: Vec<f64>,
    pub support: Vec<u64>,
    #[serde(rename = "macro")]
    pub macro_avg: Average,
    pub weighted: Average,
    pub confusion_matrix: Vec<Vec<u64>>,
    pub users: Option<Vec<String>>,
    pub per_user: Option<Vec<UserRef>>,
}

/// Every reference case.
pub fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics/sklearn_metrics.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The reference case called `name`.
pub fn case(name: &str) -> Case {
    fixture().cases.into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no sklearn case {name}"))
}
