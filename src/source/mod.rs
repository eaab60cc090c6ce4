//! Where samples come from: a CSV replayed in (scaled) real time, the simulated sensor, and live devices.
//!
//! Every source hands the pipeline worker batches of timestamped samples in the model card's channel order and
//! physical units. Paced sources (replay, simulation) follow the worker's clock, so play/pause/speed/seek are the
//! worker's business; live devices deliver whatever has arrived. The views never see a source, only its events.

pub mod ble;
pub mod link;
pub mod live;
pub mod protocol;
mod replay;
pub mod resample;
pub mod serial;
mod simulated;

use std::path::PathBuf;

pub use replay::ReplaySource;
pub use simulated::SimulatedSource;

use crate::model::ModelCard;

/// A batch of consecutive samples: `channels[c][i]` at `time[i]` (source seconds, starting near 0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleBatch {
    pub time: Vec<f64>,
    pub channels: Vec<Vec<f32>>,
    /// True label per sample (card class index; `u16::MAX` = unknown label) when the source knows it.
    pub labels: Option<Vec<u16>>,
    /// The first sample does not continue the previous batch (start, seek, gap, user change): windows restart.
    pub starts_segment: bool,
}

impl SampleBatch {
    pub fn with_channels(n: usize) -> Self {
        SampleBatch { time: Vec::new(), channels: vec![Vec::new(); n], labels: None, starts_segment: false }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn clear(&mut self) {
        self.time.clear();
        self.channels.iter_mut().for_each(Vec::clear);
        if let Some(l) = self.labels.as_mut() {
            l.clear();
        }
        self.starts_segment = false;
    }
}

/// A run of true labels for the session timeline: `class` from `t_start` to `t_end` (source seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSpan {
    pub t_start: f64,
    pub t_end: f64,
    pub class: Option<usize>,
}

/// What kind of source this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Replay,
    Simulated,
    Serial,
    Ble,
}

/// Static facts about an open source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// A short name for the status bar (file name, `simulated sensor`, port name).
    pub name: String,
    pub kind: SourceKind,
    /// Expected sample rate in Hz.
    pub rate_hz: f64,
    /// Length in source seconds when known (replay).
    pub duration: Option<f64>,
    pub has_labels: bool,
    pub seekable: bool,
    /// Lines for the user about how the data was read (units converted, bad rows skipped, ...).
    pub notes: Vec<String>,
}

/// How to open a source; what the GUI and the settings remember.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SourceSpec {
    /// Replay a CSV file.
    Replay { path: PathBuf },
    /// The synthetic sensor: `behaviour` fixes one class by name; `None` plays a random script of bouts.
    Simulated { behaviour: Option<String>, seed: u64 },
    /// A serial port (USB, RFCOMM, a pseudo-terminal) speaking the line protocol.
    Serial {
        path: String,
        baud: u32,
        /// Forces the accelerometer unit instead of detecting it.
        #[serde(default)]
        accel_unit: Option<crate::model::AccelUnit>,
    },
    /// A BLE device with the Nordic UART Service, by name or address, speaking the line protocol.
    Ble {
        target: String,
        #[serde(default)]
        accel_unit: Option<crate::model::AccelUnit>,
    },
}

impl SourceSpec {
    /// Opens the source for a model card (the card fixes channel order, units and rate).
    pub fn open(&self, card: &ModelCard) -> Result<Box<dyn Source>, SourceError> {
        match self {
            SourceSpec::Replay { path } => Ok(Box::new(ReplaySource::open(path, card)?)),
            SourceSpec::Simulated { behaviour, seed } => {
                Ok(Box::new(SimulatedSource::new(card, *seed, behaviour.as_deref())?))
            }
            SourceSpec::Serial { path, baud, accel_unit } => {
                let options = live::LiveOptions { decoder: protocol::DecoderOptions { accel_unit: *accel_unit } };
                let transport = Box::new(serial::SerialTransport::new(path.clone(), *baud));
                Ok(Box::new(live::LiveSource::start(transport, SourceKind::Serial, card, options)?))
            }
            SourceSpec::Ble { target, accel_unit } => {
                let options = live::LiveOptions { decoder: protocol::DecoderOptions { accel_unit: *accel_unit } };
                let transport = Box::new(ble::BleTransport::new(target)?);
                Ok(Box::new(live::LiveSource::start(transport, SourceKind::Ble, card, options)?))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Device(String),
}

/// Whether a source can give more samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadState {
    /// More samples may come.
    Open,
    /// A replay reached its end.
    Ended,
}

/// A producer of samples for the pipeline worker.
pub trait Source: Send {
    fn info(&self) -> &SourceInfo;

    /// True when the worker's clock paces this source (replay, simulation); false for live devices.
    fn paced(&self) -> bool;

    /// Replaces the contents of `out` with the next continuous run of samples with source time `<= until` (paced
    /// sources; live ones ignore `until`), at most `max` of them. An empty batch means nothing is due yet.
    fn read(&mut self, until: f64, max: usize, out: &mut SampleBatch) -> Result<ReadState, SourceError>;

    /// Moves to source time `t` (seekable sources only). The next read starts at the first sample at or after `t`.
    fn seek(&mut self, t: f64) -> Result<(), SourceError> {
        let _ = t;
        Err(SourceError::Unsupported(format!("{} cannot seek", self.info().name)))
    }

    /// Source time of the next sample to be read.
    fn position(&self) -> f64;

    /// The whole true-label track, when the source knows it in advance (a labeled replay).
    fn label_track(&self) -> Option<Vec<LabelSpan>> {
        None
    }

    /// The state of the live link (serial, BLE); `None` for sources without one (replay, simulation).
    fn link_status(&self) -> Option<link::LinkStatus> {
        None
    }
}
