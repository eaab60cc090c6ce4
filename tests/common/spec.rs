//! Key lists of the docs/FORMATS.md §4 formats, written once for every test that checks them.

// Each test file uses a part of this module.
#![allow(dead_code)]

/// The keys of each chunk of `har-monitor drift`'s JSON (docs/FORMATS.md §4).
pub const DRIFT_CHUNK_KEYS: [&str; 12] = [
    "start_window",
    "windows",
    "class_distribution",
    "baseline_distribution",
    "js_distance",
    "psi",
    "chi2_p",
    "mean_confidence",
    "low_confidence_share",
    "channels",
    "prediction_drift",
    "input_drift",
];

/// The keys of each entry of a chunk's `channels` (docs/FORMATS.md §4).
pub const DRIFT_CHANNEL_KEYS: [&str; 7] = ["channel", "mean", "std", "wasserstein_std", "ks_statistic", "ks_p", "psi"];
