//! What a view asks the shell to do. Every view draws from the state it is given and returns these; the shell
//! (`app.rs`) applies them in one place, and only there are the remembered settings changed.

use std::path::PathBuf;

use super::settings::View;
use crate::monitor::alerts::AlertConfig;
use crate::source::SourceSpec;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    // The live pipeline.
    TogglePlay,
    Restart,
    /// Jump the replay to this source time (seconds).
    Seek(f64),
    SetSpeed(f64),
    SetLoop(bool),
    SetAlerts(AlertConfig),
    /// Replace the live source (and play it).
    OpenSource(SourceSpec),
    /// Close the source (disconnect a live device).
    CloseSource,
    /// Start recording the session into a new folder under the recordings folder, or stop the recording.
    ToggleRecording,
    /// Start or stop capturing the window as an animated GIF.
    ToggleGifCapture,

    // The Sensor panel.
    /// List the serial ports again.
    RefreshPorts,
    /// Scan for BLE devices.
    ScanBle,

    // The MLflow view.
    /// Connect to this tracking server (remembered) and list its registered models.
    MlflowConnect(String),
    /// Pull this version into the local registry.
    MlflowPull {
        name: String,
        version: String,
    },

    // Screens and display settings.
    ShowView(View),
    /// Seconds of signal in the live plots.
    SetPlotSeconds(f64),
    /// Shade the confusion matrix by row share (true) or count (false).
    SetNormalisedMatrix(bool),
    /// Forget the live view's current errors (they stay in the log).
    DismissLiveErrors,
    /// Save the window as a PNG in the pictures folder.
    Screenshot,
    /// Show or hide the About window (versions, where files are kept).
    ShowAbout(bool),

    // Native file dialogs.
    PickModel,
    PickReplay,
    /// A labeled CSV, or prepared windows (`X.npy`), to evaluate.
    PickEvaluationData,
    /// The labels (`y.npy`) of these prepared windows, which have none beside them.
    PickEvaluationLabels(PathBuf),
    /// The folder to export the evaluation report into.
    PickExportFolder,

    // The model registry (the top bar's picker).
    /// Run this registry version (`NAME@VERSION`) or alias (`NAME@ALIAS`, then followed) in the live session.
    UseRegistryModel(String),
    /// Move an alias back to its previous version (the live session follows when it runs that alias).
    RollbackAlias {
        name: String,
        alias: String,
    },
    /// List the registry again.
    RefreshRegistry,

    // The evaluation job.
    /// Evaluate this labeled file with the current model (a `.npy` file: prepared windows, with the labels
    /// beside them by the thesis' naming, `test_X.npy` → `test_y.npy`).
    Evaluate(PathBuf),
    /// Evaluate prepared windows with these labels.
    EvaluateWindows {
        windows: PathBuf,
        labels: PathBuf,
    },
    CancelEvaluation,

    // Comparing two models (the evaluation view's comparison panel).
    /// Show the comparison panel (true) or the evaluation (false).
    ShowCompare(bool),
    /// Choose model B in a file dialog (then compare).
    PickCompareModel,
    /// Compare the evaluated model with this model B on the evaluated file.
    CompareWith(PathBuf),
    CancelCompare,
}
