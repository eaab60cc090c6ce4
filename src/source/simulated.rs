//! The simulated sensor: the synthetic IMU generator, live, on the worker's clock.

use super::{ReadState, SampleBatch, Source, SourceError, SourceInfo};
use crate::model::ModelCard;

pub struct SimulatedSource {
    info: SourceInfo,
}

impl SimulatedSource {
    pub fn new(card: &ModelCard, seed: u64, behaviour: Option<&str>) -> Result<Self, SourceError> {
        let _ = (card, seed, behaviour);
        Err(SourceError::Unsupported("the simulated sensor is not available yet".into()))
    }
}

impl Source for SimulatedSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }
    fn paced(&self) -> bool {
        true
    }
    fn read(&mut self, _until: f64, _max: usize, out: &mut SampleBatch) -> Result<ReadState, SourceError> {
        out.clear();
        Ok(ReadState::Open)
    }
    fn position(&self) -> f64 {
        0.0
    }
}
