//! A simulated person: how they move (amplitude, tempo, their own way of doing each behaviour) and the watch they
//! wear (how it sits on the wrist, sensor bias, gain and noise). A profile depends only on the user id, so user 7
//! is the same person in every file and every session.

use rand::SeedableRng;

use super::SimProfile;
use super::behaviour::CLASS_COUNT;
use super::noise::{SimRng, normal, normal_v3, uniform};
use super::thesis;
use super::vec3::{V3, normalize, rotate, rotate_z};

const DEG: f64 = std::f64::consts::PI / 180.0;

/// Salt that separates profile randomness from session randomness.
const PROFILE_SALT: u64 = 0x4841_525f_5553_4552;

#[derive(Debug, Clone)]
pub(crate) struct UserProfile {
    /// Overall movement amplitude (1 = typical).
    pub amplitude: f64,
    /// Overall tempo (1 = typical; 1.2 = 20 % faster rubbing, tapping, ...).
    pub tempo: f64,
    /// Rotation (rotation vector, radians) from the wrist frame to this user's watch frame: the watch sits turned
    /// about its z axis by up to ±10° and tilted a few degrees.
    pub mounting: V3,
    /// Per behaviour: how this person holds the forearm differently from the typical posture (rotation vector).
    pub posture_offset: [V3; CLASS_COUNT],
    /// Per behaviour: how this person's movement axes differ from the typical ones (rotation vector).
    pub axis_offset: [V3; CLASS_COUNT],
    pub class_amplitude: [f64; CLASS_COUNT],
    pub class_tempo: [f64; CLASS_COUNT],
    /// Accelerometer bias (m/s²) and gain per axis.
    pub accel_bias: V3,
    pub accel_gain: V3,
    /// Gyroscope bias per axis (deg/s).
    pub gyro_bias_dps: V3,
    /// White sensor noise, standard deviation: accelerometer in m/s², gyroscope in deg/s.
    pub accel_noise: f64,
    pub gyro_noise_dps: f64,
    /// Physiological tremor: frequency (Hz), angular-rate amplitude (deg/s), axis.
    pub tremor_hz: f64,
    pub tremor_dps: f64,
    pub tremor_axis: V3,
    /// Which calibration this person belongs to.
    pub kind: SimProfile,
    /// Thesis profile: the watch is turned 180° about its z axis (crown toward the elbow).
    pub turned: bool,
    /// Thesis profile: how much this person prefers each posture mode of each behaviour.
    pub mode_preference: [[f64; thesis::MODE_COUNT]; CLASS_COUNT],
}

impl UserProfile {
    pub(crate) fn for_user(user: u32, kind: SimProfile) -> UserProfile {
        let mut rng = SimRng::seed_from_u64(PROFILE_SALT ^ u64::from(user).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let rng = &mut rng;
        let mut per_class =
            |f: &mut dyn FnMut(&mut SimRng) -> f64| -> [f64; CLASS_COUNT] { std::array::from_fn(|_| f(rng)) };
        let class_amplitude = per_class(&mut |r| uniform(r, 0.85, 1.15));
        let class_tempo = per_class(&mut |r| uniform(r, 0.9, 1.1));
        let posture_offset = std::array::from_fn(|_| normal_v3(rng, 5.0 * DEG));
        let axis_offset = std::array::from_fn(|_| normal_v3(rng, 8.0 * DEG));
        let mut profile = UserProfile {
            amplitude: uniform(rng, 0.8, 1.25),
            tempo: uniform(rng, 0.85, 1.2),
            mounting: [normal(rng) * 3.0 * DEG, normal(rng) * 3.0 * DEG, uniform(rng, -10.0, 10.0) * DEG],
            posture_offset,
            axis_offset,
            class_amplitude,
            class_tempo,
            accel_bias: normal_v3(rng, 0.08),
            accel_gain: normal_v3(rng, 0.01).map(|g| 1.0 + g),
            gyro_bias_dps: normal_v3(rng, 0.6),
            accel_noise: uniform(rng, 0.02, 0.045),
            gyro_noise_dps: uniform(rng, 0.25, 0.55),
            tremor_hz: uniform(rng, 8.0, 11.0),
            tremor_dps: uniform(rng, 0.4, 1.5),
            tremor_axis: normalize(normal_v3(rng, 1.0)),
            kind,
            turned: false,
            mode_preference: [[1.0; thesis::MODE_COUNT]; CLASS_COUNT],
        };
        // Drawn after everything the classic profile draws, so that a classic person stays who they were.
        if kind == SimProfile::Thesis {
            profile.turned = uniform(rng, 0.0, 1.0) < thesis::TURNED_SHARE;
            profile.mode_preference = thesis::mode_preferences(rng);
        }
        profile
    }

    /// A vector in the wrist frame as this person's watch reads it.
    pub(crate) fn to_watch(&self, v: V3) -> V3 {
        match self.kind {
            SimProfile::Classic => rotate(v, self.mounting),
            SimProfile::Thesis => {
                let v = rotate(rotate(v, [std::f64::consts::PI, 0.0, 0.0]), self.mounting);
                if self.turned { rotate_z(v, std::f64::consts::PI) } else { v }
            }
        }
    }
}
