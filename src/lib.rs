//! HAR Monitor: operate a wearable-sensor human-activity-recognition model — live monitoring, evaluation and
//! drift — from one library that the GUI and the command line share.

pub mod about;
pub mod assets;
pub mod classes;
pub mod data;
pub mod device;
pub mod eval;
pub mod format;
pub mod gui;
pub mod mlflow;
pub mod model;
pub mod monitor;
pub mod numeric;
pub mod output;
pub mod pipeline;
pub mod registry;
pub mod serve;
pub mod session;
pub mod sim;
pub mod source;
