//! A synthetic wrist-worn IMU (accelerometer in m/s² with gravity, gyroscope in deg/s, 50 Hz) performing the
//! thesis' eleven behaviours, for demos, tests and drift scenarios. [`SensorSim`] streams one user's session
//! sample by sample (the GUI's simulated sensor); [`write_csv`] writes whole files in the docs/FORMATS.md §1 schemas through
//! the same code (`har-monitor simulate`).
//!
//! Physics in short: a behaviour sets the forearm's posture (where gravity falls in the watch frame) and moves the
//! wrist (rotations seen by the gyroscope and as a tilt of gravity, hand displacements whose second derivative the
//! accelerometer adds, impacts). Each user has their own amplitude, tempo, style, watch mounting and sensor errors;
//! a session is a sequence of bouts of random length and order with smooth posture transitions between them.
//!
//! Two calibrations ([`SimProfile`]): `thesis` (the default) holds the watch frame, posture modes and movement
//! sizes fitted to the thesis' published statistics of its real recordings (`thesis.rs`); `classic` is the first
//! generator, kept byte for byte.

mod behaviour;
mod noise;
mod profile;
mod sensor;
mod thesis;
mod vec3;
mod writer;

use std::path::PathBuf;

use crate::classes::THESIS_CLASSES;
use crate::model::AccelUnit;

pub use behaviour::{CLASS_COUNT, RubSpec};
pub use sensor::{SensorSim, SimSample};
pub use thesis::{Mode, Movement, ThesisTables};
pub use writer::{SimFileOptions, SimSummary, write_csv, write_csv_file};

/// Sample rate of the simulated watch.
pub const SAMPLE_RATE_HZ: f64 = 50.0;
/// Time between samples in milliseconds (files carry integer epoch milliseconds).
pub const SAMPLE_PERIOD_MS: i64 = 20;
/// Epoch milliseconds of the first sample of the first user in a file (2024-03-04 09:00:00 UTC).
pub const FILE_START_EPOCH_MS: i64 = 1_709_542_800_000;
/// Pause between one user's session and the next in a file.
pub const PAUSE_BETWEEN_USERS_MS: i64 = 60_000;

/// The accepted ranges of the simulator's settings, shared by [`SimFileOptions::validate`] and the command line's
/// argument parser. Beyond them the physics stops being a sensor's (values overflow to infinity and the files
/// would fill with `nan`).
pub mod limits {
    /// Users (sessions) in one file.
    pub const USERS: (u32, u32) = (1, 1000);
    /// Minutes per user: more than 0, at most a week.
    pub const MINUTES_PER_USER: (f64, f64) = (0.0, 7.0 * 24.0 * 60.0);
    /// Minute of each session from which the drift options apply.
    pub const DRIFT_AFTER_MIN: (f64, f64) = (0.0, 7.0 * 24.0 * 60.0);
    /// Mounting rotation about the watch's z axis, degrees.
    pub const ROTATE_DEG: (f64, f64) = (-360.0, 360.0);
    /// Factor on the sensor noise.
    pub const NOISE_SCALE: (f64, f64) = (0.0, 100.0);
    /// Gyroscope offset, deg/s (a MEMS gyroscope's full scale is ±2000 deg/s).
    pub const GYRO_BIAS_DPS: (f64, f64) = (-2000.0, 2000.0);
    /// Largest relative weight of a behaviour.
    pub const CLASS_WEIGHT_MAX: f64 = 1e6;
}

/// `problem` text for a number outside `[min, max]`.
fn out_of_range(value: f64, (min, max): (f64, f64)) -> String {
    format!("must be a number from {min} to {max}, not {value}")
}

/// Errors in simulator settings or writing its output. Setting errors name the option as the command line spells it.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{option}: {problem}")]
    Invalid { option: &'static str, problem: String },
    #[error(
        "user {user}, row {row}: the simulated {column} is {value}, not a number a file can hold; the drift options \
         are too extreme (nothing was written)"
    )]
    NotFinite { user: u32, row: u64, column: &'static str, value: f64 },
    #[error("{path}: {problem}")]
    Tables { path: PathBuf, problem: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn invalid(option: &'static str, problem: impl Into<String>) -> SimError {
    SimError::Invalid { option, problem: problem.into() }
}

/// Which calibration of the simulator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SimProfile {
    /// Calibrated on the thesis' published statistics of its real recordings and judged with the thesis'
    /// retrained model (the thesis watch frame, posture modes per behaviour, minute-long bouts): what the thesis'
    /// models recognise. See `models/tools/calibrate_sim.py` and data/demo/README.md.
    #[default]
    Thesis,
    /// The first generator (a watch on the left wrist, face out; bouts of 10-60 s), which real models do not
    /// recognise; kept for files made with it.
    Classic,
}

impl SimProfile {
    /// Every profile, default first.
    pub const ALL: [SimProfile; 2] = [SimProfile::Thesis, SimProfile::Classic];

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            SimProfile::Thesis => "thesis",
            SimProfile::Classic => "classic",
        }
    }
}

impl std::fmt::Display for SimProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SimProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<SimProfile, String> {
        SimProfile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown profile `{s}` (known: thesis, classic)"))
    }
}

/// Which behaviours a session performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Script {
    /// Bouts of random behaviours in random order, as often as the class weights say.
    #[default]
    Random,
    /// One behaviour (index into `THESIS_CLASSES`) in back-to-back bouts.
    Fixed(usize),
}

/// How often each behaviour's bouts are chosen, relative to each other (thesis class order).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassWeights([f64; CLASS_COUNT]);

impl Default for ClassWeights {
    fn default() -> Self {
        ClassWeights([1.0; CLASS_COUNT])
    }
}

impl ClassWeights {
    /// Parses `name=w,name=w` (unlisted behaviours keep weight 1). Names are the thesis class names.
    pub fn parse(spec: &str) -> Result<ClassWeights, SimError> {
        const OPTION: &str = "--class-weights";
        let mut weights = [1.0; CLASS_COUNT];
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| invalid(OPTION, format!("`{item}` is not of the form name=weight")))?;
            let name = name.trim();
            let class = THESIS_CLASSES.iter().position(|c| c.eq_ignore_ascii_case(name)).ok_or_else(|| {
                invalid(OPTION, format!("unknown behaviour `{name}` (known: {})", THESIS_CLASSES.join(", ")))
            })?;
            let weight: f64 = value
                .trim()
                .parse()
                .map_err(|_| invalid(OPTION, format!("weight `{}` of `{name}` is not a number", value.trim())))?;
            if !(weight.is_finite() && (0.0..=limits::CLASS_WEIGHT_MAX).contains(&weight)) {
                return Err(invalid(
                    OPTION,
                    format!("weight of `{name}` must be a number from 0 to {}, not {weight}", limits::CLASS_WEIGHT_MAX),
                ));
            }
            weights[class] = weight;
        }
        ClassWeights::new(weights)
    }

    /// Weights in thesis class order; at least one must be positive, none negative or non-finite.
    pub fn new(weights: [f64; CLASS_COUNT]) -> Result<ClassWeights, SimError> {
        if let Some((i, w)) =
            weights.iter().enumerate().find(|(_, w)| !(w.is_finite() && (0.0..=limits::CLASS_WEIGHT_MAX).contains(*w)))
        {
            let name = THESIS_CLASSES.get(i).copied().unwrap_or("?");
            return Err(invalid(
                "--class-weights",
                format!("weight of `{name}` must be a number from 0 to {}, not {w}", limits::CLASS_WEIGHT_MAX),
            ));
        }
        if weights.iter().all(|w| *w == 0.0) {
            return Err(invalid("--class-weights", "every weight is 0: at least one behaviour must be able to occur"));
        }
        Ok(ClassWeights(weights))
    }

    pub fn as_array(&self) -> &[f64; CLASS_COUNT] {
        &self.0
    }
}

/// Changes of the sensor, its mounting or the behaviour mix that start `after_s` seconds into each session.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    /// Session time (seconds, each user's own clock) from which the options below apply.
    pub after_s: f64,
    /// Unit the accelerometer is written in.
    pub accel_unit: AccelUnit,
    /// The watch turned by this many degrees about its z axis (accelerometer and gyroscope vectors rotate).
    pub rotate_deg: f64,
    /// Factor on the sensor's white noise.
    pub noise_scale: f64,
    /// Constant offset added to all three gyroscope axes (deg/s).
    pub gyro_bias_dps: f64,
    /// Bout frequencies; `None` = all behaviours equally often.
    pub class_weights: Option<ClassWeights>,
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            after_s: 0.0,
            accel_unit: AccelUnit::MetersPerSecond2,
            rotate_deg: 0.0,
            noise_scale: 1.0,
            gyro_bias_dps: 0.0,
            class_weights: None,
        }
    }
}

impl DriftOptions {
    /// Checks every value; the error names the offending option.
    pub fn validate(&self) -> Result<(), SimError> {
        let within = |v: f64, (min, max): (f64, f64)| v.is_finite() && v >= min && v <= max;
        if !within(self.after_s / 60.0, limits::DRIFT_AFTER_MIN) {
            return Err(invalid("--drift-after-min", out_of_range(self.after_s / 60.0, limits::DRIFT_AFTER_MIN)));
        }
        if self.accel_unit == AccelUnit::AsIs {
            return Err(invalid("--accel-unit", "the simulator writes a definite unit: m/s2, g or milli-g"));
        }
        if !within(self.rotate_deg, limits::ROTATE_DEG) {
            return Err(invalid("--rotate-deg", out_of_range(self.rotate_deg, limits::ROTATE_DEG)));
        }
        if !within(self.noise_scale, limits::NOISE_SCALE) {
            return Err(invalid("--noise-scale", out_of_range(self.noise_scale, limits::NOISE_SCALE)));
        }
        if !within(self.gyro_bias_dps, limits::GYRO_BIAS_DPS) {
            return Err(invalid("--gyro-bias", out_of_range(self.gyro_bias_dps, limits::GYRO_BIAS_DPS)));
        }
        Ok(())
    }
}
