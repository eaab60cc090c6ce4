//! Settings that survive a restart: last model and file, replay speed, plot window, alerts, view. They are what the
//! user changed in the app (command-line flags apply to one run only), saved by eframe in `app.ron` in the app's
//! data folder: `$XDG_DATA_HOME/har-monitor` or `~/.local/share/har-monitor` on Linux,
//! `~/Library/Application Support/har-monitor` on macOS, `%APPDATA%\har-monitor\data` on Windows. Deleting that
//! file resets them; `--fresh` ignores them for one run.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::monitor::alerts::AlertConfig;

/// The app's screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum View {
    #[default]
    Live,
    Evaluation,
    Drift,
    Mlflow,
}

impl View {
    pub const ALL: [View; 4] = [View::Live, View::Evaluation, View::Drift, View::Mlflow];

    pub fn label(self) -> &'static str {
        match self {
            View::Live => "Live",
            View::Evaluation => "Evaluation",
            View::Drift => "Drift",
            View::Mlflow => "MLflow",
        }
    }
}

impl std::str::FromStr for View {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "live" => Ok(View::Live),
            "evaluation" | "eval" => Ok(View::Evaluation),
            "drift" => Ok(View::Drift),
            "mlflow" => Ok(View::Mlflow),
            other => Err(format!("unknown view `{other}` (expected live, evaluation, drift or mlflow)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub model: Option<PathBuf>,
    pub replay: Option<PathBuf>,
    pub speed: f64,
    pub looping: bool,
    /// Seconds of signal shown in the plots (4–60).
    pub plot_seconds: f64,
    pub alerts: AlertConfig,
    pub view: View,
    pub last_evaluation: Option<PathBuf>,
    /// Colour confusion-matrix cells by row-normalised share rather than by count.
    pub normalised_matrix: bool,
    /// The serial port last connected (path) and its baud rate.
    pub serial_path: Option<String>,
    pub baud: u32,
    /// The BLE device last connected (name or address).
    pub ble_target: Option<String>,
    /// The MLflow tracking server the MLflow view last connected to.
    pub mlflow_uri: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: None,
            replay: None,
            speed: 1.0,
            looping: true,
            plot_seconds: 10.0,
            alerts: AlertConfig::default(),
            view: View::Live,
            last_evaluation: None,
            normalised_matrix: true,
            serial_path: None,
            baud: crate::source::serial::DEFAULT_BAUD,
            ble_target: None,
            mlflow_uri: None,
        }
    }
}

/// Key under which the settings are stored.
pub const STORAGE_KEY: &str = "har-monitor-settings";
