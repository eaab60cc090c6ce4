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
//!   stds by `models/tools/calibrate_sim.py fit`), each user preferring one or the other; each bout leaves its mode
//!   by a small random tilt whose size is the behaviour's own (`Movement::tilt_deg`: a hanging arm repeats its
//!   posture more closely than a hand rubbing an ear).
//! - Each behaviour's movement is the classic one (its rotation and displacement scaled per axis) plus a larger
//!   quasi-periodic wrist rotation (mostly pronation and supination, about x) sized to the published gyroscope
//!   stds; how far it lifts the arm (hair pulling's pull, smoking's puff) is scaled too (`Movement::lift_gain`);
//!   bouts last about a minute.
//! - The tables were then searched, behaviour by behaviour, toward windows the judge recognises within the
//!   published statistics ([`ThesisTables`], `simulate --thesis-tables`).

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

/// Posture modes per behaviour (thesis class order), written by `models/tools/calibrate_sim.py fit`, then `search`
/// and `pick` (data/demo/README.md says in which order).
pub const MODES: [[Mode; MODE_COUNT]; CLASS_COUNT] = [
    // BEGIN MODES
    [m(0.45, 67.2, 38.3), m(0.0, -89.7, -40.3), m(0.472, 71.9, 72.3)],
    [m(0.956, 71.9, -64.8), m(0.011, 53.4, 108.3), m(0.034, 44.2, 0.4)],
    [m(0.13, 20.0, -23.4), m(0.002, 23.4, -110.4), m(0.868, 79.5, 79.3)],
    [m(0.218, 53.3, -2.2), m(0.143, -20.4, 82.6), m(0.639, 40.2, -83.5)],
    [m(0.269, -4.5, -10.2), m(0.39, 8.4, -20.2), m(0.341, 3.9, 4.0)],
    [m(0.364, -2.0, 21.7), m(0.218, 40.8, -51.1), m(0.418, 37.1, -52.7)],
    [m(0.419, 63.1, -58.6), m(0.58, 67.0, -49.7), m(0.001, 22.9, 79.1)],
    [m(0.276, 12.1, -73.3), m(0.591, 16.1, 60.3), m(0.133, 33.5, 76.2)],
    [m(0.273, 15.3, 49.6), m(0.09, -10.3, -98.3), m(0.637, -18.4, -40.6)],
    [m(0.67, 77.8, -137.9), m(0.14, 74.1, -99.8), m(0.19, 80.3, 179.0)],
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
    /// How much each bout's posture is tilted away from its mode, degrees (std per axis; 7 unless a table says).
    #[serde(default = "default_tilt")]
    pub tilt_deg: f64,
    /// Factor on how far the classic movement takes the arm from its bout posture and back (hair pulling's pull,
    /// smoking's puff, nail biting's hand at the mouth): 1 as the classic movement does (when a table leaves it
    /// out), 0 none.
    #[serde(default = "default_lift")]
    pub lift_gain: f64,
}

fn default_lift() -> f64 {
    1.0
}

/// A bout's posture tilt when a table does not give one, degrees.
pub const DEFAULT_TILT_DEG: f64 = 7.0;

fn default_tilt() -> f64 {
    DEFAULT_TILT_DEG
}

/// Per behaviour (thesis class order), written by `models/tools/calibrate_sim.py fit --motion`, then `search` and
/// `pick`.
#[rustfmt::skip]
// Fitted numbers: a 3.14° amplitude is not π.
#[allow(clippy::approx_constant)]
pub const MOTION: [Movement; CLASS_COUNT] = [
    // BEGIN MOTION
    Movement { gain: [0.12, 0.204, 0.462], disp_gain: [0.94, 0.585, 1.018], extra: RubSpec::new((3.2, 3.42), [1.31, 0.29, 0.2], [0.8, 1.7, 0.9]), duty: 1.0, tilt_deg: 2.0, lift_gain: 1.0 },
    Movement { gain: [0.288, 0.061, 0.809], disp_gain: [0.512, 0.293, 1.193], extra: RubSpec::new((1.29, 1.51), [3.34, 0.26, 1.27], [1.5, 1.1, 2.2]), duty: 1.0, tilt_deg: 1.73, lift_gain: 0.959 },
    Movement { gain: [0.378, 0.019, 0.745], disp_gain: [0.652, 0.847, 0.944], extra: RubSpec::new((1.36, 1.4), [13.63, 0.01, 1.92], [3.6, 2.8, 0.8]), duty: 1.0, tilt_deg: 0.7, lift_gain: 0.065 },
    Movement { gain: [0.837, 0.612, 0.64], disp_gain: [0.828, 0.702, 1.502], extra: RubSpec::new((2.47, 4.44), [4.23, 0.35, 0.42], [0.9, 1.4, 2.6]), duty: 0.56, tilt_deg: 2.37, lift_gain: 1.225 },
    Movement { gain: [1.093, 0.384, 1.188], disp_gain: [1.488, 0.848, 1.033], extra: RubSpec::new((3.4, 4.89), [0.62, 0.24, 0.38], [0.5, 0.3, 0.5]), duty: 1.0, tilt_deg: 1.81, lift_gain: 1.0 },
    Movement { gain: [0.557, 0.945, 0.291], disp_gain: [1.054, 0.582, 1.912], extra: RubSpec::new((4.41, 8.34), [2.93, 0.33, 0.42], [1.4, 1.1, 1.5]), duty: 1.0, tilt_deg: 2.0, lift_gain: 1.0 },
    Movement { gain: [1.503, 0.062, 0.084], disp_gain: [0.568, 0.646, 0.731], extra: RubSpec::new((1.77, 1.79), [6.04, 0.04, 0.11], [0.6, 1.0, 0.7]), duty: 0.2, tilt_deg: 0.57, lift_gain: 0.868 },
    Movement { gain: [0.428, 0.472, 0.629], disp_gain: [0.854, 1.569, 0.53], extra: RubSpec::new((1.22, 2.61), [1.11, 1.28, 1.2], [1.4, 2.5, 2.8]), duty: 1.0, tilt_deg: 1.89, lift_gain: 0.966 },
    Movement { gain: [1.067, 1.021, 0.668], disp_gain: [1.066, 0.935, 0.959], extra: RubSpec::new((0.6, 1.13), [2.21, 1.23, 0.67], [1.0, 1.1, 1.0]), duty: 0.3, tilt_deg: 1.0, lift_gain: 0.885 },
    Movement { gain: [2.43, 1.128, 0.28], disp_gain: [0.3, 0.476, 0.458], extra: RubSpec::new((1.27, 1.34), [1.35, 3.96, 0.38], [2.0, 4.8, 2.4]), duty: 1.0, tilt_deg: 2.0, lift_gain: 1.0 },
    Movement { gain: [1.27, 0.787, 1.158], disp_gain: [1.0, 1.0, 1.0], extra: RubSpec::new((0.6, 1.2), [1.66, 0.54, 0.91], [1.0, 1.0, 1.0]), duty: 0.5, tilt_deg: 2.0, lift_gain: 1.0 },
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

/// The "up" direction for a bout: one of the behaviour's `modes` (by the user's weights), tilted a little
/// (`tilt_deg`, std per axis).
pub(crate) fn mode_up(
    modes: &[Mode; MODE_COUNT],
    preference: &[f64; MODE_COUNT],
    tilt_deg: f64,
    rng: &mut SimRng,
) -> V3 {
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
    rotate(up, normal_v3(rng, tilt_deg * DEG))
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

/// Largest gain on the classic movement's rotation or displacement.
const MAX_GAIN: f64 = 5.0;
/// Largest extra-rotation amplitude a table may ask for, degrees (a forearm twists through less than a turn).
const MAX_ROTATION_DEG: f64 = 90.0;
/// Largest extra-displacement amplitude, millimetres.
const MAX_DISPLACEMENT_MM: f64 = 100.0;
/// Smallest burst duty: a burst's amplitude grows as 1/√duty, to keep the overall std.
const MIN_DUTY: f64 = 0.01;
/// Largest factor on the classic movement's arm lift.
const MAX_LIFT_GAIN: f64 = 2.0;
/// Largest posture tilt of a bout, degrees.
const MAX_TILT_DEG: f64 = 30.0;
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
                within(&field("elevation"), mode.elevation, -90.0, 90.0, " degrees")?;
                within(&field("roll"), mode.roll, -360.0, 360.0, " degrees")?;
            }
            if modes.iter().map(|m| m.weight).sum::<f64>() <= 0.0 {
                return Err(format!("modes.{name}: the weights sum to 0"));
            }
            let movement = &self.motion[c];
            let field = |f: &str| format!("motion.{name}.{f}");
            axes_within(&field("gain"), movement.gain, MAX_GAIN, "")?;
            axes_within(&field("disp_gain"), movement.disp_gain, MAX_GAIN, "")?;
            let (lo, hi) = movement.extra.freq;
            if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo <= hi && hi <= MAX_FREQUENCY_HZ) {
                return Err(format!(
                    "{}: ({lo}, {hi}) is not a frequency range within 0..{MAX_FREQUENCY_HZ} Hz",
                    field("extra.freq")
                ));
            }
            axes_within(&field("extra.rot_deg"), movement.extra.rot_deg, MAX_ROTATION_DEG, " degrees")?;
            axes_within(&field("extra.disp_mm"), movement.extra.disp_mm, MAX_DISPLACEMENT_MM, " mm")?;
            within(&field("duty"), movement.duty, MIN_DUTY, 1.0, "")?;
            within(&field("lift_gain"), movement.lift_gain, 0.0, MAX_LIFT_GAIN, "")?;
            within(&field("tilt_deg"), movement.tilt_deg, 0.0, MAX_TILT_DEG, " degrees")?;
        }
        Ok(())
    }
}

/// `value` finite and within `lo..=hi` (`unit` follows the range in the message).
fn within(field: &str, value: f64, lo: f64, hi: f64, unit: &str) -> Result<(), String> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(format!("{field}: {value} is not within {lo}..{hi}{unit}"))
    }
}

/// Every axis of `values` finite and within 0..=`max` (`unit` follows the range in the message).
fn axes_within(field: &str, values: V3, max: f64, unit: &str) -> Result<(), String> {
    if values.iter().all(|v| v.is_finite() && (0.0..=max).contains(v)) {
        Ok(())
    } else {
        Err(format!("{field}: {values:?} is not within 0..{max}{unit}"))
    }
}
