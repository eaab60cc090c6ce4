//! The simulated sensor: the synthetic IMU generator (`crate::sim`) live, on the worker's clock. It plays either
//! one chosen behaviour or a random script of bouts, and knows the true label of every sample.

use super::{ReadState, SampleBatch, Source, SourceError, SourceInfo, SourceKind};
use crate::classes::THESIS_CLASSES;
use crate::data::{KnownChannel, Sensor};
use crate::model::{AccelUnit, ModelCard};
use crate::sim::{Script, SensorSim};

pub struct SimulatedSource {
    info: SourceInfo,
    sim: SensorSim,
    /// For each card channel, the generator's value index (Ax..Az = 0..2, Gx..Gz = 3..5).
    channel_map: Vec<usize>,
    /// Factor from the generator's m/s² to the card's accelerometer unit.
    accel_factor: f32,
    /// Card class index of each generator class.
    class_map: Vec<u16>,
    /// The next sample, generated but not yet handed out.
    pending: Option<crate::sim::SimSample>,
}

impl SimulatedSource {
    /// A simulated wearer (`seed`) performing `behaviour` (a class name) or, with `None`, a random script.
    pub fn new(card: &ModelCard, seed: u64, behaviour: Option<&str>) -> Result<Self, SourceError> {
        let mut channel_map = Vec::with_capacity(card.channels.len());
        for name in &card.channels {
            let known = KnownChannel::from_name(name).ok_or_else(|| {
                SourceError::Unsupported(format!(
                    "the simulated sensor gives accelerometer and gyroscope x/y/z; the model's channel `{name}` is none of them"
                ))
            })?;
            let axis = match known.axis {
                'x' => 0,
                'y' => 1,
                _ => 2,
            };
            channel_map.push(if known.sensor == Sensor::Accel { axis } else { 3 + axis });
        }
        let accel_factor = match card.units.accel.to_mps2() {
            Some(to_mps2) => (1.0 / to_mps2) as f32,
            None => 1.0,
        };
        let class_map = THESIS_CLASSES.iter().map(|c| card.class_index(c).map_or(u16::MAX, |i| i as u16)).collect();
        let mut sim = SensorSim::new(seed, 1);
        let script = match behaviour {
            None => Script::Random,
            Some(name) => {
                let index = THESIS_CLASSES
                    .iter()
                    .position(|c| *c == name)
                    .ok_or_else(|| SourceError::Unsupported(format!("the simulated sensor cannot perform `{name}`")))?;
                Script::Fixed(index)
            }
        };
        sim.set_script(script).map_err(|e| SourceError::Unsupported(e.to_string()))?;
        let name = behaviour.map_or_else(|| "random script".to_string(), str::to_string);
        let unit_note = (card.units.accel != AccelUnit::MetersPerSecond2 && card.units.accel != AccelUnit::AsIs)
            .then(|| format!("accelerometer given in {} as the model's card asks", card.units.accel));
        let info = SourceInfo {
            name,
            kind: SourceKind::Simulated,
            rate_hz: card.sample_rate_hz,
            duration: None,
            has_labels: true,
            seekable: false,
            notes: unit_note.into_iter().collect(),
        };
        Ok(SimulatedSource { info, sim, channel_map, accel_factor, class_map, pending: None })
    }
}

impl Source for SimulatedSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn paced(&self) -> bool {
        true
    }

    fn read(&mut self, until: f64, max: usize, out: &mut SampleBatch) -> Result<ReadState, SourceError> {
        out.clear();
        let labels = out.labels.get_or_insert_with(Vec::new);
        labels.clear();
        while out.time.len() < max {
            let sample = match self.pending.take() {
                Some(s) => s,
                None => self.sim.next_sample(),
            };
            if sample.t > until {
                self.pending = Some(sample);
                break;
            }
            out.time.push(sample.t);
            for (dst, &src) in out.channels.iter_mut().zip(&self.channel_map) {
                let v = sample.values.get(src).copied().unwrap_or(f32::NAN);
                dst.push(if src < 3 { v * self.accel_factor } else { v });
            }
            labels.push(self.class_map.get(sample.activity).copied().unwrap_or(u16::MAX));
        }
        if out.time.first().is_some_and(|&t| t == 0.0) {
            out.starts_segment = true;
        }
        Ok(ReadState::Open)
    }

    fn position(&self) -> f64 {
        self.pending.map_or(0.0, |s| s.t)
    }
}
