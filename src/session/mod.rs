//! Monitoring state below the GUI: what a live session knows (signals, predictions, alerts, status), the drift
//! verdict built from the pipeline's drift reports, the background evaluation job and the comparison of two
//! models. The desktop app draws it, the CLI prints it and `serve` exposes it; none of it depends on egui.

pub mod compare;
pub mod drift;
pub mod evaluation;
pub mod job;
pub mod live;
pub mod metrics;
pub mod mlflow;
pub mod registry;
pub mod sensor;
