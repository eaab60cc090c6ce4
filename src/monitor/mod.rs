//! Drift statistics, baselines and alerts.

pub mod alerts;
