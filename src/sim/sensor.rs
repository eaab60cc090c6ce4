//! The streaming simulator: one user's session, one sample at a time.

use std::f64::consts::{PI, TAU};
use std::sync::Arc;

use rand::SeedableRng;

use super::behaviour::{CLASS_COUNT, Motion, Posture, Rub, bout_posture, bout_seconds};
use super::noise::{SimRng, SmoothNoise, SmoothNoise3, normal, normal_v3, uniform};
use super::profile::UserProfile;
use super::vec3::{
    V3, ZERO, add, angle_between, bump, cross, minimum_jerk, mul, normalize, rotate, rotate_z, scale, slerp,
    smoothstep, sub,
};
use super::{ClassWeights, DriftOptions, SAMPLE_RATE_HZ, Script, SimError, SimProfile, thesis};
use crate::model::{AccelUnit, card::STANDARD_GRAVITY};

const DEG: f64 = PI / 180.0;
const DT: f64 = 1.0 / SAMPLE_RATE_HZ;
/// Movement fades out over this long at the end of a bout.
const RAMP_OUT_S: f64 = 0.4;

/// One simulated sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimSample {
    /// Sample number in the session (0, 1, 2, ...).
    pub index: u64,
    /// Session time in seconds (`index / 50`).
    pub t: f64,
    /// Ax, Ay, Az (in `accel_unit`), Gx, Gy, Gz (deg/s), in the watch frame.
    pub values: [f32; 6],
    /// Unit of Ax..Az: m/s² unless a drift option changed it.
    pub accel_unit: AccelUnit,
    /// True behaviour (index into `THESIS_CLASSES`).
    pub activity: usize,
    pub user: u32,
}

/// The bout being performed.
#[derive(Debug, Clone)]
struct Bout {
    class: usize,
    start: u64,
    end: u64,
    posture: Posture,
    /// Posture at the bout's start, blended into `posture` over `transition_s`.
    from: V3,
    transition_s: f64,
    /// Hand travel during the transition (metres, wrist frame).
    travel: V3,
    /// Peak turn about the gravity axis during the transition (rad/s), which only the gyroscope sees.
    yaw_rate: f64,
    motion: Motion,
    /// Thesis profile: the behaviour's larger wrist rotation, on top of `motion`, and its bursts.
    extra: Option<(Rub, thesis::Bursts)>,
    amplitude: f64,
    axis_offset: V3,
}

/// A simulated watch on one user's wrist. Deterministic: the same seed and user give the same samples.
#[derive(Debug, Clone)]
pub struct SensorSim {
    user: u32,
    profile: UserProfile,
    /// Thesis profile: the posture modes and movements.
    tables: Arc<thesis::ThesisTables>,
    rng: SimRng,
    script: Script,
    drift: DriftOptions,
    drift_start: u64,
    n: u64,
    /// `None` before the first sample: the first bout is chosen then, under the script and drift set by then.
    bout: Option<Bout>,
    credit: [f64; CLASS_COUNT],
    /// Posture before wander at the previous sample.
    posture: V3,
    wander: SmoothNoise3,
    prev_up: V3,
    prev_theta: V3,
    disp_history: [V3; 2],
    tremor_phase: f64,
    tremor_amp: SmoothNoise,
}

impl SensorSim {
    /// A new session of `user` (ids name people: a profile depends on the id only) with session randomness from
    /// `seed`, in the default (thesis) profile.
    pub fn new(seed: u64, user: u32) -> SensorSim {
        SensorSim::with_profile(seed, user, SimProfile::default())
    }

    /// A new session as [`SensorSim::new`] in the given profile.
    pub fn with_profile(seed: u64, user: u32, kind: SimProfile) -> SensorSim {
        SensorSim::with_tables(seed, user, kind, Arc::new(thesis::ThesisTables::builtin()))
    }

    /// A new session as [`SensorSim::with_profile`], the thesis profile with `tables` instead of the built-in
    /// ones (the classic profile ignores them).
    pub fn with_tables(seed: u64, user: u32, kind: SimProfile, tables: Arc<thesis::ThesisTables>) -> SensorSim {
        let profile = UserProfile::for_user(user, kind);
        let mut rng = SimRng::seed_from_u64(seed);
        rng.set_stream(u64::from(user));
        let credit = std::array::from_fn(|_| uniform(&mut rng, 0.0, CLASS_COUNT as f64));
        let wander = SmoothNoise3::new(&mut rng, [1.5 * DEG; 3], 2.0, DT);
        let tremor_amp = SmoothNoise::new(&mut rng, 0.3, 0.5, DT);
        let tremor_phase = uniform(&mut rng, 0.0, TAU);
        SensorSim {
            user,
            profile,
            tables,
            rng,
            script: Script::Random,
            drift: DriftOptions::default(),
            drift_start: 0,
            n: 0,
            bout: None,
            credit,
            posture: [0.0, 0.0, 1.0],
            wander,
            prev_up: [0.0, 0.0, 1.0],
            prev_theta: ZERO,
            disp_history: [ZERO; 2],
            tremor_phase,
            tremor_amp,
        }
    }

    pub fn user(&self) -> u32 {
        self.user
    }

    /// Chooses what the user does from now on. A change of behaviour ends the current bout within 0.4 s;
    /// `Fixed(c)` then performs `c` in one continuous bout until the script changes again.
    pub fn set_script(&mut self, script: Script) -> Result<(), SimError> {
        if let Script::Fixed(class) = script
            && class >= CLASS_COUNT
        {
            return Err(super::invalid("script", format!("behaviour index {class} is not below {CLASS_COUNT}")));
        }
        if script != self.script {
            self.script = script;
            if let Some(bout) = &mut self.bout {
                if matches!(script, Script::Fixed(c) if c == bout.class) {
                    // Already doing it: go on without a break.
                    bout.end = u64::MAX / 2;
                } else {
                    bout.end = bout.end.min(self.n + (RAMP_OUT_S * SAMPLE_RATE_HZ) as u64);
                }
            }
        }
        Ok(())
    }

    /// Sets the drift options (sensor effects apply from `after_s` of the session clock; class weights from the
    /// first bout that starts then).
    pub fn set_drift(&mut self, drift: DriftOptions) -> Result<(), SimError> {
        drift.validate()?;
        self.drift_start = (drift.after_s * SAMPLE_RATE_HZ).round() as u64;
        self.drift = drift;
        Ok(())
    }

    fn drifting(&self) -> bool {
        self.n >= self.drift_start
    }

    /// Picks the next behaviour: weighted round robin with jitter, so that the long-run mix follows the weights
    /// while the order stays random; a behaviour does not follow itself (`previous`) unless it is the only one
    /// allowed.
    fn next_class(&mut self, previous: Option<usize>) -> usize {
        if let Script::Fixed(class) = self.script {
            return class;
        }
        let uniform_weights = ClassWeights::default();
        let weights = match &self.drift.class_weights {
            Some(w) if self.drifting() => w.as_array(),
            _ => uniform_weights.as_array(),
        };
        let total: f64 = weights.iter().sum();
        let allowed = weights.iter().filter(|w| **w > 0.0).count();
        let mut best: Option<usize> = None;
        for (class, weight) in weights.iter().enumerate() {
            if *weight <= 0.0 {
                continue;
            }
            self.credit[class] += weight * uniform(&mut self.rng, 0.5, 1.5);
            if allowed > 1 && Some(class) == previous {
                continue;
            }
            if best.is_none_or(|b| self.credit[class] > self.credit[b]) {
                best = Some(class);
            }
        }
        // Weights always hold a positive entry (ClassWeights checks), so `best` is set.
        let chosen = best.unwrap_or(0);
        self.credit[chosen] -= total;
        chosen
    }

    /// Plans the bout that follows `previous` (`None`: the session's first bout, which starts in its posture).
    fn plan_bout(&mut self, previous: Option<usize>) -> Bout {
        let first = previous.is_none();
        let class = self.next_class(previous);
        let profile = &self.profile;
        let tempo = profile.tempo * profile.class_tempo[class];
        let offset = profile.posture_offset[class];
        let thesis = profile.kind == SimProfile::Thesis;
        let mut raw = bout_posture(class, &mut self.rng);
        if thesis {
            // The thesis posture mode, reached by turning the classic posture (and with it where the behaviour's
            // own movement takes the arm).
            let movement = &self.tables.motion[class];
            let up = thesis::mode_up(
                &self.tables.modes[class],
                &profile.mode_preference[class],
                movement.tilt_deg,
                &mut self.rng,
            );
            let turn = thesis::rotation_between(raw.base, up);
            let alt = rotate(raw.alt, turn);
            // The arm's lift scaled (1: exactly the classic movement's).
            let alt = if movement.lift_gain == 1.0 { alt } else { slerp(up, alt, movement.lift_gain) };
            raw = Posture { base: up, alt };
        }
        let posture = Posture { base: rotate(raw.base, offset), alt: rotate(raw.alt, offset) };
        let (lo, hi) = if thesis { thesis::bout_seconds(class) } else { bout_seconds(class) };
        let length = match self.script {
            // A fixed behaviour goes on until the script changes.
            Script::Fixed(_) => u64::MAX / 2,
            Script::Random => (uniform(&mut self.rng, lo, hi) * SAMPLE_RATE_HZ) as u64,
        };
        let from = if first { posture.base } else { self.posture };
        let turn = (angle_between(from, posture.base) / (PI / 2.0)).min(1.5);
        let transition_s = if first { 0.0 } else { (0.6 + 1.2 * turn) * uniform(&mut self.rng, 0.8, 1.25) };
        let travel = scale(normalize(normal_v3(&mut self.rng, 1.0)), 0.35 * turn.min(1.0));
        let yaw_rate = normal(&mut self.rng) * 40.0 * DEG * turn.min(1.0);
        let motion = Motion::new(class, tempo, DT, &mut self.rng);
        let extra = thesis.then(|| {
            let movement = &self.tables.motion[class];
            let rub = Rub::new(&movement.extra, tempo, true, DT, &mut self.rng);
            (rub, thesis::Bursts::new(movement.duty, &mut self.rng))
        });
        let amplitude = profile.amplitude * profile.class_amplitude[class] * uniform(&mut self.rng, 0.75, 1.25);
        Bout {
            class,
            start: self.n,
            end: self.n + length.max(1),
            posture,
            from,
            transition_s,
            travel,
            yaw_rate,
            motion,
            extra,
            amplitude,
            axis_offset: profile.axis_offset[class],
        }
    }

    /// The next sample of the session.
    pub fn next_sample(&mut self) -> SimSample {
        let mut bout = match self.bout.take() {
            Some(bout) if self.n < bout.end => bout,
            finished => self.plan_bout(finished.map(|b| b.class)),
        };
        let sample = self.step(&mut bout);
        self.bout = Some(bout);
        sample
    }

    /// One sample of `bout`, which is the bout under way at sample `self.n`.
    fn step(&mut self, bout: &mut Bout) -> SimSample {
        let bout_start = self.n == bout.start;
        let t = (self.n - bout.start) as f64 * DT;
        let end_t = (bout.end - bout.start) as f64 * DT;
        let mut frame = bout.motion.step(t, &mut self.rng);
        if let Some((extra, bursts)) = &mut bout.extra {
            let movement = &self.tables.motion[bout.class];
            frame.theta = mul(frame.theta, movement.gain);
            frame.gyro_impulse = mul(frame.gyro_impulse, movement.gain);
            frame.disp = mul(frame.disp, movement.disp_gain);
            let more = extra.step(t, &mut self.rng);
            let level = bursts.gate(t, &mut self.rng);
            frame.theta = add(frame.theta, scale(more.theta, level));
            frame.disp = add(frame.disp, scale(more.disp, level));
        }

        // Posture: the behaviour's own (blended by lift), reached smoothly from where the last bout left the arm.
        let target = slerp(bout.posture.base, bout.posture.alt, frame.lift);
        let arrival = if bout.transition_s > 0.0 { minimum_jerk(t / bout.transition_s) } else { 1.0 };
        self.posture = slerp(bout.from, target, arrival);
        let up = rotate(self.posture, self.wander.step(&mut self.rng));

        // The behaviour's movement fades in as the arm arrives and out at the end of the bout.
        let fade_in = if bout.transition_s > 0.0 {
            smoothstep((t - 0.5 * bout.transition_s) / (0.5 * bout.transition_s + 0.3))
        } else {
            1.0
        };
        let envelope = fade_in * smoothstep((end_t - t) / RAMP_OUT_S) * bout.amplitude;
        let style = |v: V3| rotate(scale(v, envelope), bout.axis_offset);
        let theta = style(frame.theta);
        let travel = scale(bout.travel, arrival);
        let disp = add(style(frame.disp), travel);
        let accel_impulse = style(frame.accel_impulse);
        let gyro_impulse = style(frame.gyro_impulse);
        let yaw = if bout.transition_s > 0.0 { bout.yaw_rate * bump(t / bout.transition_s) } else { 0.0 };

        if bout_start {
            self.prev_theta = theta;
            self.disp_history = [disp, disp];
            if self.n == 0 {
                self.prev_up = up;
            }
        }
        let lin_acc = scale(add(sub(disp, scale(self.disp_history[0], 2.0)), self.disp_history[1]), 1.0 / (DT * DT));
        self.disp_history = [disp, self.disp_history[0]];

        // Physiological tremor: a narrow band around 8-11 Hz, seen mostly by the gyroscope.
        let p = &self.profile;
        self.tremor_phase = (self.tremor_phase + TAU * p.tremor_hz * DT) % TAU;
        let tremor_gain = (1.0 + self.tremor_amp.step(&mut self.rng)).max(0.0);
        let tremor_rate = scale(p.tremor_axis, p.tremor_dps * DEG * tremor_gain * self.tremor_phase.cos());
        let tremor_acc = scale(p.tremor_axis, 0.04 * tremor_gain * self.tremor_phase.sin());

        // Gravity tilted by the wrist rotation, plus the hand's acceleration; angular rate from the posture change,
        // the wrist rotation and the spikes.
        let gravity = scale(rotate(up, scale(theta, -1.0)), STANDARD_GRAVITY);
        let accel_wrist = add(add(gravity, lin_acc), add(accel_impulse, tremor_acc));
        let posture_rate = scale(cross(self.prev_up, up), -1.0 / DT);
        let theta_rate = scale(sub(theta, self.prev_theta), 1.0 / DT);
        let gyro_wrist = add(add(posture_rate, theta_rate), add(add(gyro_impulse, tremor_rate), scale(up, yaw)));
        self.prev_up = up;
        self.prev_theta = theta;

        // The watch: its mounting on this wrist, then the sensor's own errors, then any drift.
        let mut accel = p.to_watch(accel_wrist);
        let mut gyro = scale(p.to_watch(gyro_wrist), 1.0 / DEG);
        let drifting = self.drifting();
        if drifting && self.drift.rotate_deg != 0.0 {
            accel = rotate_z(accel, self.drift.rotate_deg * DEG);
            gyro = rotate_z(gyro, self.drift.rotate_deg * DEG);
        }
        let noise_scale = if drifting { self.drift.noise_scale } else { 1.0 };
        let accel_noise = normal_v3(&mut self.rng, p.accel_noise * noise_scale);
        let gyro_noise = normal_v3(&mut self.rng, p.gyro_noise_dps * noise_scale);
        let unit = if drifting { self.drift.accel_unit } else { AccelUnit::MetersPerSecond2 };
        let per_unit = 1.0 / unit.to_mps2().unwrap_or(1.0);
        let extra_gyro_bias = if drifting { self.drift.gyro_bias_dps } else { 0.0 };
        let mut values = [0.0f32; 6];
        for i in 0..3 {
            values[i] = ((accel[i] * p.accel_gain[i] + p.accel_bias[i] + accel_noise[i]) * per_unit) as f32;
            values[i + 3] = (gyro[i] + p.gyro_bias_dps[i] + gyro_noise[i] + extra_gyro_bias) as f32;
        }
        let sample = SimSample {
            index: self.n,
            t: self.n as f64 * DT,
            values,
            accel_unit: unit,
            activity: bout.class,
            user: self.user,
        };
        self.n += 1;
        sample
    }
}
