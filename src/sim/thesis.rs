//! The `thesis` profile: the simulator calibrated on the thesis' published statistics of its real recordings
//! (`models/training_baseline.json` of the thesis repository: per class the mean and std of each channel over
//! 3,852 windows) and judged with the thesis' retrained model. The physics is the classic profile's; what differs
//! is how the watch sits and where each behaviour holds and moves the forearm:
//!
//! - The thesis watch frame is the wrist frame turned 180° about the forearm (x toward the hand, y away from the
//!   thumb, z into the wrist): a hand flat on a desk reads Az ≈ −g, an arm hanging Ax ≈ −g.
//! - About one user in six wears the watch turned 180° about its z axis (crown toward the elbow), which flips the
//!   signs of x and y. The published per-class means are only consistent with |a| ≈ g with such a share.
//! - Each behaviour has three posture modes (forearm elevation and roll, fitted to the published per-class means and
//!   stds by `models/tools/calibrate_sim.py fit`), each user preferring one or the other.
//! - Each behaviour's movement is the classic one plus a larger quasi-periodic wrist rotation (mostly pronation
//!   and supination, about x) sized to the published gyroscope stds; bouts last about a minute.

use std::f64::consts::PI;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SimError;
use super::behaviour::{CLASS_COUNT, RubSpec};
use super::noise::{SimRng, exponential, normal, normal_v3, uniform};
use super::vec3::{V3, angle_between, cross, normalize, rotate, scale, smoothstep};

const DEG: f64 = PI / 180.0;

/// Share of users whose watch is turned 180° about its z axis.
pub const TURNED_SHARE: f64 = 0.17;

/// Posture modes per behaviour.
pub const MODE_COUNT: usize = 3;

/// One way of holding the forearm during a behaviour: weight among the behaviour's modes, forearm elevation and
/// wrist roll in degrees (as `behaviour::forearm`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mode {
    pub weight: f64,
    pub elevation: f64,
    pub roll: f64,
}

const fn m(weight: f64, elevation: f64, roll: f64) -> Mode {
    Mode { weight, elevation, roll }
}

/// Posture modes per behaviour (thesis class order), written by `models/tools/calibrate_sim.py fit`.
pub const MODES: [[Mode; MODE_COUNT]; CLASS_COUNT] = [
    // BEGIN MODES
    [m(0.21, 68.1, 54.7), m(0.06, -60.6, -125.0), m(0.73, 68.5, 57.9)],
    [m(0.35, 71.7, -49.6), m(0.18, 72.4, -52.8), m(0.47, 71.3, -47.2)],
    [m(0.33, 80.0, 41.2), m(0.10, -20.4, -125.4), m(0.57, 79.6, 41.2)],
    [m(0.23, 44.7, -43.3), m(0.16, -21.5, 97.0), m(0.61, 41.2, -83.1)],
    [m(0.42, 0.1, -9.1), m(0.26, 5.7, -29.1), m(0.32, 5.8, -29.1)],
    [m(0.30, 41.2, -66.8), m(0.42, 15.5, 9.1), m(0.28, 41.1, -67.3)],
    [m(0.33, 62.1, -59.0), m(0.33, 62.2, -58.2), m(0.35, -61.3, 54.1)],
    [m(0.18, 2.3, -60.1), m(0.65, 21.4, 62.1), m(0.17, 20.5, 58.7)],
    [m(0.25, 11.7, 46.3), m(0.09, -10.7, -94.9), m(0.65, -17.4, -41.1)],
    [m(0.31, 63.6, -39.1), m(0.19, 63.6, -38.4), m(0.50, 69.7, -157.9)],
    [m(0.35, -61.6, -52.1), m(0.31, -61.8, -52.2), m(0.34, -61.1, -50.7)],
    // END MODES
];

/// How the thesis profile moves the wrist in a behaviour: the classic movement's rotation scaled per axis (`gain`,
/// wrist frame) plus an extra quasi-periodic rotation (`extra`: frequency range in Hz, rotation amplitude per axis
/// in degrees, displacement in mm), sized to the published gyroscope stds.
/// `duty` is the share of the time the extra rotation is under way: below 1 it comes in bursts (about 2 s)
/// between calmer stretches, at the same overall std.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    pub gain: V3,
    /// Factor on the classic movement's hand displacement, per axis (wrist frame).
    pub disp_gain: V3,
    pub extra: RubSpec,
    pub duty: f64,
}

/// Per behaviour (thesis class order), written by `models/tools/calibrate_sim.py fit --motion`.
#[rustfmt::skip]
pub const MOTION: [Movement; CLASS_COUNT] = [
    // BEGIN MOTION
    Movement { gain: [0.343, 0.22, 0.242], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((3.5, 5.5), [0.88, 0.18, 0.22], [1.0, 2.0, 2.0]), duty: 1.0 },
    Movement { gain: [0.605, 0.248, 0.475], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((1.5, 2.7), [2.17, 0.2, 0.77], [1.0, 4.0, 2.0]), duty: 1.0 },
    Movement { gain: [1.238, 0.021, 0.433], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((0.5, 1.0), [13.62, 0.03, 0.94], [2.0, 2.0, 2.0]), duty: 1.0 },
    Movement { gain: [0.851, 0.415, 0.441], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((3.0, 4.5), [2.55, 0.49, 0.4], [1.0, 1.0, 1.0]), duty: 0.15 },
    Movement { gain: [1.194, 0.43, 1.262], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((2.5, 4.0), [0.95, 0.2, 0.63], [0.5, 0.5, 0.5]), duty: 1.0 },
    Movement { gain: [0.428, 0.363, 0.371], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((3.0, 5.0), [3.43, 0.91, 0.74], [2.0, 2.0, 2.0]), duty: 1.0 },
    Movement { gain: [0.927, 0.05, 0.066], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((1.5, 2.5), [7.87, 0.04, 0.07], [1.0, 1.0, 1.0]), duty: 0.25 },
    Movement { gain: [0.565, 0.481, 0.72], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((1.4, 2.6), [1.7, 0.71, 1.08], [2.0, 2.0, 2.0]), duty: 1.0 },
    Movement { gain: [1.033, 0.909, 0.37], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((0.6, 1.2), [2.07, 1.36, 0.38], [1.0, 1.0, 1.0]), duty: 0.3 },
    Movement { gain: [1.268, 0.971, 0.156], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((0.8, 1.6), [7.62, 2.14, 0.28], [2.0, 2.0, 2.0]), duty: 1.0 },
    Movement { gain: [1.27, 0.043, 0.152], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((0.6, 1.2), [1.66, 0.03, 0.12], [1.0, 1.0, 1.0]), duty: 0.5 },
    // END MOTION
];

/// Level of the extra rotation between bursts.
const QUIET: f64 = 0.15;
/// Mean length of a burst, seconds.
const BURST_S: f64 = 2.0;
/// Ramp between calm and burst, seconds.
const BURST_RAMP_S: f64 = 0.3;

/// Bursts of the extra rotation: alternating active and calm stretches of random (exponential) length, the
/// active share of the time `duty`, smoothly ramped (the rotation, and with it the gyroscope, stays continuous).
#[derive(Debug, Clone)]
pub(crate) struct Bursts {
    duty: f64,
    active: bool,
    changed: f64,
    next: f64,
}

impl Bursts {
    pub(crate) fn new(duty: f64, rng: &mut SimRng) -> Bursts {
        let mut bursts = Bursts { duty, active: uniform(rng, 0.0, 1.0) < duty, changed: f64::NEG_INFINITY, next: 0.0 };
        bursts.next = bursts.stretch(rng) * uniform(rng, 0.0, 1.0);
        bursts
    }

    fn stretch(&self, rng: &mut SimRng) -> f64 {
        let mean = if self.active { BURST_S } else { BURST_S * (1.0 - self.duty) / self.duty };
        0.5 + exponential(rng, mean)
    }

    /// Factor on the extra rotation at bout time `t` (called once per sample, in order).
    pub(crate) fn gate(&mut self, t: f64, rng: &mut SimRng) -> f64 {
        if self.duty >= 1.0 {
            return 1.0;
        }
        if t >= self.next {
            self.active = !self.active;
            self.changed = t;
            self.next = t + self.stretch(rng);
        }
        let s = smoothstep((t - self.changed) / BURST_RAMP_S);
        let level = if self.active { QUIET + (1.0 - QUIET) * s } else { 1.0 - (1.0 - QUIET) * s };
        level / self.duty.sqrt()
    }
}

/// Range of a bout's length in seconds: most of a minute (the thesis recorded each behaviour for minutes).
pub(crate) fn bout_seconds(_class: usize) -> (f64, f64) {
    (25.0, 65.0)
}

/// How strongly a user prefers each mode of each behaviour (multiplies the mode weights).
pub(crate) fn mode_preferences(rng: &mut SimRng) -> [[f64; MODE_COUNT]; CLASS_COUNT] {
    std::array::from_fn(|_| std::array::from_fn(|_| (0.6 * normal(rng)).exp()))
}

/// The "up" direction for a bout: one of the behaviour's `modes` (by the user's weights), tilted a little.
pub(crate) fn mode_up(modes: &[Mode; MODE_COUNT], preference: &[f64; MODE_COUNT], rng: &mut SimRng) -> V3 {
    let weights: [f64; MODE_COUNT] = std::array::from_fn(|k| modes[k].weight * preference[k]);
    let mut r = uniform(rng, 0.0, weights.iter().sum());
    let mut chosen = &modes[MODE_COUNT - 1];
    for (mode, w) in modes.iter().zip(weights) {
        if r < w {
            chosen = mode;
            break;
        }
        r -= w;
    }
    let up = super::behaviour::forearm(chosen.elevation, chosen.roll);
    rotate(up, normal_v3(rng, 7.0 * DEG))
}

/// The rotation (rotation vector) that turns unit vector `from` onto `to` along the shortest arc.
pub(crate) fn rotation_between(from: V3, to: V3) -> V3 {
    let axis = cross(from, to);
    let angle = angle_between(from, to);
    if angle < 1e-9 {
        return [0.0; 3];
    }
    if angle > PI - 1e-6 {
        // Opposite: any axis perpendicular to `from`.
        let helper = if from[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
        return scale(normalize(cross(from, helper)), angle);
    }
    scale(normalize(axis), angle)
}

/// The thesis profile's tables: the posture modes and movements of every behaviour. The built-in ones
/// ([`ThesisTables::builtin`], [`MODES`] and [`MOTION`]) are what `simulate --profile thesis` uses; a calibration
/// run (`models/tools/calibrate_sim.py search`) tries others from a JSON file (`simulate --thesis-tables FILE`,
/// this struct as JSON) before writing the chosen ones into this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThesisTables {
    pub modes: [[Mode; MODE_COUNT]; CLASS_COUNT],
    pub motion: [Movement; CLASS_COUNT],
}

impl Default for ThesisTables {
    fn default() -> Self {
        ThesisTables::builtin()
    }
}

/// Largest extra-rotation amplitude a table may ask for, degrees (a forearm twists through less than a turn).
const MAX_ROTATION_DEG: f64 = 90.0;
/// Largest extra-displacement amplitude, millimetres.
const MAX_DISPLACEMENT_MM: f64 = 100.0;
/// Largest extra-movement frequency, Hz (the thesis samples at 50 Hz; wrist movements stay far below).
const MAX_FREQUENCY_HZ: f64 = 12.0;

impl ThesisTables {
    /// The calibrated tables of this file.
    pub fn builtin() -> ThesisTables {
        ThesisTables { modes: MODES, motion: MOTION }
    }

    /// Reads tables from a JSON file (this struct's fields) and checks every value; the error names the file and
    /// the field.
    pub fn from_json_file(path: &Path) -> Result<ThesisTables, SimError> {
        let problem = |problem: String| SimError::Tables { path: path.to_path_buf(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
        let tables: ThesisTables =
            serde_json::from_str(&text).map_err(|e| problem(format!("not thesis tables: {e}")))?;
        tables.validate().map_err(problem)?;
        Ok(tables)
    }

    /// Checks that every value is one a wrist can make: finite, weights not negative with a positive sum,
    /// elevations within ±90°, frequencies positive and ordered, amplitudes and duty in range.
    pub fn validate(&self) -> Result<(), String> {
        let names = crate::classes::THESIS_CLASSES;
        for (c, modes) in self.modes.iter().enumerate() {
            let name = names[c];
            for (k, mode) in modes.iter().enumerate() {
                let field = |f: &str| format!("modes.{name}[{k}].{f}");
                if !(mode.weight.is_finite() && mode.weight >= 0.0) {
                    return Err(format!("{}: {} is not a weight (0 or more)", field("weight"), mode.weight));
                }
                if !(mode.elevation.is_finite() && mode.elevation.abs() <= 90.0) {
                    return Err(format!("{}: {} is not within -90..90 degrees", field("elevation"), mode.elevation));
                }
                if !(mode.roll.is_finite() && mode.roll.abs() <= 360.0) {
                    return Err(format!("{}: {} is not within -360..360 degrees", field("roll"), mode.roll));
                }
            }
            if modes.iter().map(|m| m.weight).sum::<f64>() <= 0.0 {
                return Err(format!("modes.{name}: the weights sum to 0"));
            }
            let movement = &self.motion[c];
            let field = |f: &str| format!("motion.{name}.{f}");
            if movement.gain.iter().any(|g| !(g.is_finite() && (0.0..=5.0).contains(g))) {
                return Err(format!("{}: {:?} is not within 0..5", field("gain"), movement.gain));
            }
            if movement.disp_gain.iter().any(|g| !(g.is_finite() && (0.0..=5.0).contains(g))) {
                return Err(format!("{}: {:?} is not within 0..5", field("disp_gain"), movement.disp_gain));
            }
            let (lo, hi) = movement.extra.freq;
            if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi && hi <= MAX_FREQUENCY_HZ) {
                return Err(format!(
                    "{}: ({lo}, {hi}) is not a frequency range within 0..{MAX_FREQUENCY_HZ} Hz",
                    field("extra.freq")
                ));
            }
            if movement.extra.rot_deg.iter().any(|a| !(a.is_finite() && (0.0..=MAX_ROTATION_DEG).contains(a))) {
                return Err(format!(
                    "{}: {:?} is not within 0..{MAX_ROTATION_DEG} degrees",
                    field("extra.rot_deg"),
                    movement.extra.rot_deg
                ));
            }
            if movement.extra.disp_mm.iter().any(|a| !(a.is_finite() && (0.0..=MAX_DISPLACEMENT_MM).contains(a))) {
                return Err(format!(
                    "{}: {:?} is not within 0..{MAX_DISPLACEMENT_MM} mm",
                    field("extra.disp_mm"),
                    movement.extra.disp_mm
                ));
            }
            if !(movement.duty.is_finite() && movement.duty > 0.0 && movement.duty <= 1.0) {
                return Err(format!("{}: {} is not within (0, 1]", field("duty"), movement.duty));
            }
        }
        Ok(())
    }
}
