//! The eleven behaviours as the wrist sees them: where each holds the forearm (posture = the "up" direction in the
//! wrist frame, which the accelerometer reads as gravity) and how it moves the wrist (rotation angles, hand
//! displacement, impacts). The wrist frame: x along the forearm toward the hand, y across the wrist toward the
//! thumb, z out of the watch face (a watch on the left wrist).

use std::f64::consts::TAU;

use super::noise::{SimRng, SmoothNoise, SmoothNoise3, exponential, normal, normal_v3, sign, uniform};
use super::vec3::{V3, ZERO, add, bump, minimum_jerk, normalize, rotate, scale};

pub(crate) const EAR_RUBBING: usize = 0;
pub(crate) const FOREHEAD_RUBBING: usize = 1;
pub(crate) const HAIR_PULLING: usize = 2;
pub(crate) const HAND_SCRATCHING: usize = 3;
pub(crate) const HAND_TAPPING: usize = 4;
pub(crate) const KNUCKLES_CRACKING: usize = 5;
pub(crate) const NAIL_BITING: usize = 6;
pub(crate) const NAPE_RUBBING: usize = 7;
pub(crate) const SITTING: usize = 8;
pub(crate) const SMOKING: usize = 9;
pub(crate) const STANDING: usize = 10;

/// Number of behaviours (the thesis classes, `crate::classes::THESIS_CLASSES` order).
pub const CLASS_COUNT: usize = 11;

const DEG: f64 = std::f64::consts::PI / 180.0;

/// Where a bout holds the forearm: `base`, and `alt` where the behaviour's own movement takes it (the mouth when
/// smoking, the pulled-down hand when pulling hair); `lift` in a [`MotionFrame`] blends from one to the other.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posture {
    pub base: V3,
    pub alt: V3,
}

/// The "up" direction in the wrist frame for a forearm raised `elevation` degrees above horizontal (negative: the
/// hand below the elbow) and a wrist rolled `roll` degrees about the forearm (0: watch face up, 90: thumb up,
/// 180: face down).
pub(crate) fn forearm(elevation: f64, roll: f64) -> V3 {
    let (se, ce) = (elevation * DEG).sin_cos();
    let (sr, cr) = (roll * DEG).sin_cos();
    [se, ce * sr, ce * cr]
}

/// Hand at the mouth, palm toward the face (nail biting and the smoking puff).
const AT_MOUTH: (f64, f64) = (49.0, 190.0);

/// Picks a posture for one bout: the behaviour's typical forearm orientation (one of a few variants for sitting
/// and standing), tilted a little at random. The face-touching behaviours sit close together (they differ mostly
/// by movement); a few variants of different behaviours overlap on purpose (arms crossed while standing and hands
/// in the lap while sitting; the puff of smoking and nail biting).
pub(crate) fn bout_posture(class: usize, rng: &mut SimRng) -> Posture {
    let same = |p: (f64, f64)| (p, p);
    let ((e, r), (alt_e, alt_r)) = match class {
        EAR_RUBBING => same((52.0, 147.0)),
        FOREHEAD_RUBBING => same((48.0, 176.0)),
        // Pulling brings the hand down and turns the palm toward the face.
        HAIR_PULLING => ((64.0, 145.0), (38.0, 157.0)),
        HAND_SCRATCHING => same((1.0, 10.0)),
        HAND_TAPPING => same((-7.0, 6.0)),
        // Hands clasped in front of the chest, thumbs up.
        KNUCKLES_CRACKING => same((10.0, 100.0)),
        NAIL_BITING => (AT_MOUTH, (AT_MOUTH.0 + 6.0 * normal(rng), AT_MOUTH.1 + 8.0 * normal(rng))),
        // Hand behind the neck, elbow up, the back of the hand (the watch face) turned backward.
        NAPE_RUBBING => same((45.0, 80.0)),
        // Hands on the thighs, forearm on an armrest, or hands in the lap palms up.
        SITTING => same([(-14.0, 9.0), (0.0, 45.0), (-9.0, 165.0)][pick(rng, &[0.35, 0.35, 0.3])]),
        // Between puffs the cigarette hand rests raised, elbow on an armrest or the other arm.
        SMOKING => ((30.0, 130.0), AT_MOUTH),
        // Arm hanging, hand in a pocket, arms crossed.
        _ => same([(-74.0, 143.0), (-44.0, 155.0), (5.0, 150.0)][pick(rng, &[0.65, 0.25, 0.1])]),
    };
    let tilt = normal_v3(rng, 7.0 * DEG);
    Posture { base: rotate(forearm(e, r), tilt), alt: rotate(forearm(alt_e, alt_r), tilt) }
}

fn pick(rng: &mut SimRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut r = uniform(rng, 0.0, total);
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len().saturating_sub(1)
}

/// Range of a bout's length in seconds.
pub(crate) fn bout_seconds(class: usize) -> (f64, f64) {
    match class {
        SMOKING => (25.0, 60.0),
        SITTING | STANDING => (15.0, 45.0),
        HAND_SCRATCHING | KNUCKLES_CRACKING => (8.0, 25.0),
        NAIL_BITING => (10.0, 35.0),
        _ => (10.0, 30.0),
    }
}

/// One sample of a behaviour's movement, in the wrist frame, before the user's style and amplitude are applied.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MotionFrame {
    /// 0 = the posture's `base`, 1 = its `alt`.
    pub lift: f64,
    /// Small rotation of the wrist (rotation vector, radians).
    pub theta: V3,
    /// Hand displacement (metres); the accelerometer sees its second derivative.
    pub disp: V3,
    /// Short impact accelerations (m/s²) added directly.
    pub accel_impulse: V3,
    /// Short angular-rate spikes (rad/s) added directly.
    pub gyro_impulse: V3,
}

/// A behaviour's movement generator for one bout.
// One lives per bout and it is stepped every sample: keeping the variants inline is cheaper than boxing them.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Motion {
    Rub(Rub),
    Tap(Tap),
    Crack(Crack),
    Pull(Pull),
    Bite(Bite),
    Smoke(Smoke),
    Still(Still),
}

impl Motion {
    /// A new generator for a bout of `class`; `tempo` > 1 makes everything faster.
    pub(crate) fn new(class: usize, tempo: f64, dt: f64, rng: &mut SimRng) -> Motion {
        match class {
            EAR_RUBBING => Motion::Rub(Rub::new(&EAR, tempo, true, dt, rng)),
            FOREHEAD_RUBBING => Motion::Rub(Rub::new(&FOREHEAD, tempo, true, dt, rng)),
            NAPE_RUBBING => Motion::Rub(Rub::new(&NAPE, tempo, true, dt, rng)),
            HAND_SCRATCHING => Motion::Rub(Rub::new(&SCRATCH, tempo, true, dt, rng)),
            HAND_TAPPING => Motion::Tap(Tap::new(tempo, rng)),
            KNUCKLES_CRACKING => Motion::Crack(Crack::new(tempo, dt, rng)),
            HAIR_PULLING => Motion::Pull(Pull::new(tempo, dt, rng)),
            NAIL_BITING => Motion::Bite(Bite::new(tempo, dt, rng)),
            SMOKING => Motion::Smoke(Smoke::new(dt, rng)),
            SITTING => Motion::Still(Still::new(false, dt, rng)),
            _ => Motion::Still(Still::new(true, dt, rng)),
        }
    }

    /// The movement at bout time `t` seconds (called once per sample, in order).
    pub(crate) fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        match self {
            Motion::Rub(m) => m.step(t, rng),
            Motion::Tap(m) => m.step(t, rng),
            Motion::Crack(m) => m.step(t, rng),
            Motion::Pull(m) => m.step(t, rng),
            Motion::Bite(m) => m.step(t, rng),
            Motion::Smoke(m) => m.step(t, rng),
            Motion::Still(m) => m.step(t, rng),
        }
    }
}

/// An oscillating rub or scratch: frequency range (Hz), rotation amplitude per axis (degrees), displacement
/// amplitude per axis (mm).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubSpec {
    pub freq: (f64, f64),
    pub rot_deg: V3,
    pub disp_mm: V3,
}

impl RubSpec {
    pub(crate) const fn new(freq: (f64, f64), rot_deg: V3, disp_mm: V3) -> RubSpec {
        RubSpec { freq, rot_deg, disp_mm }
    }
}

/// Rubbing behind the ear: quick small circles, mostly a twist of the forearm.
const EAR: RubSpec = RubSpec { freq: (1.9, 3.2), rot_deg: [6.0, 2.0, 2.5], disp_mm: [1.5, 4.0, 5.0] };
/// Rubbing the forehead: slower side-to-side sweeps across the brow.
const FOREHEAD: RubSpec = RubSpec { freq: (1.5, 2.7), rot_deg: [5.0, 1.5, 2.5], disp_mm: [2.0, 14.0, 4.0] };
/// Rubbing the nape: up-and-down strokes along the neck, the wrist flexing.
const NAPE: RubSpec = RubSpec { freq: (1.4, 2.6), rot_deg: [5.0, 3.0, 1.5], disp_mm: [11.0, 3.0, 5.0] };
/// Scratching the back of the other hand: fast small finger and wrist flexions.
const SCRATCH: RubSpec = RubSpec { freq: (3.6, 5.8), rot_deg: [1.5, 2.0, 1.0], disp_mm: [4.0, 1.5, 2.0] };
/// Kneading the clasped hands before cracking the knuckles.
const KNEAD: RubSpec = RubSpec { freq: (0.35, 0.8), rot_deg: [8.0, 6.0, 3.0], disp_mm: [8.0, 10.0, 5.0] };
/// Idle fiddling with the hair between pulls.
const GROOM: RubSpec = RubSpec { freq: (0.9, 1.8), rot_deg: [2.5, 1.5, 1.5], disp_mm: [2.0, 2.0, 3.0] };

/// A quasi-periodic oscillation with wandering frequency and amplitude, a second harmonic and short pauses.
#[derive(Debug, Clone)]
pub(crate) struct Rub {
    dt: f64,
    freq: f64,
    phase: f64,
    freq_mod: SmoothNoise,
    amp_mod: SmoothNoise,
    rot: V3,
    rot_offset: V3,
    disp: V3,
    disp_offset: V3,
    harmonic: f64,
    harmonic_phase: f64,
    pauses: Option<Pauses>,
}

impl Rub {
    pub(crate) fn new(spec: &RubSpec, tempo: f64, pauses: bool, dt: f64, rng: &mut SimRng) -> Rub {
        let rot = spec.rot_deg.map(|a| a * DEG * uniform(rng, 0.8, 1.2));
        let disp = spec.disp_mm.map(|a| a * 1e-3 * uniform(rng, 0.8, 1.2));
        let rot_offset = [0.0, uniform(rng, 0.0, TAU), uniform(rng, 0.0, TAU)];
        let disp_offset = [uniform(rng, 0.0, TAU), uniform(rng, 0.0, TAU), uniform(rng, 0.0, TAU)];
        Rub {
            dt,
            freq: uniform(rng, spec.freq.0, spec.freq.1) * tempo,
            phase: uniform(rng, 0.0, TAU),
            freq_mod: SmoothNoise::new(rng, 0.06, 1.0, dt),
            amp_mod: SmoothNoise::new(rng, 0.15, 0.8, dt),
            rot,
            rot_offset,
            disp,
            disp_offset,
            harmonic: uniform(rng, 0.1, 0.35),
            harmonic_phase: uniform(rng, 0.0, TAU),
            pauses: if pauses { Some(Pauses::new(rng)) } else { None },
        }
    }

    pub(crate) fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        self.phase = (self.phase + TAU * self.freq * (1.0 + self.freq_mod.step(rng)) * self.dt) % TAU;
        let gate = self.pauses.as_mut().map_or(1.0, |p| p.gate(t, rng));
        let amp = (1.0 + self.amp_mod.step(rng)).max(0.0) * gate;
        let wave = |offset: f64| {
            (self.phase + offset).sin() + self.harmonic * (2.0 * (self.phase + offset) + self.harmonic_phase).sin()
        };
        let mut frame = MotionFrame::default();
        for i in 0..3 {
            frame.theta[i] = self.rot[i] * amp * wave(self.rot_offset[i]);
            frame.disp[i] = self.disp[i] * amp * wave(self.disp_offset[i]);
        }
        frame
    }
}

/// Short breaks in a rhythmic movement (the hand rests a moment, then goes on).
#[derive(Debug, Clone)]
struct Pauses {
    next: f64,
    start: f64,
    length: f64,
}

impl Pauses {
    fn new(rng: &mut SimRng) -> Pauses {
        Pauses { next: 2.0 + exponential(rng, 9.0), start: f64::NEG_INFINITY, length: 0.0 }
    }

    /// 1 while moving, down to 0.1 during a pause, with 0.2 s ramps.
    fn gate(&mut self, t: f64, rng: &mut SimRng) -> f64 {
        if t >= self.next {
            self.start = t;
            self.length = uniform(rng, 0.5, 1.8);
            self.next = t + self.length + 2.0 + exponential(rng, 9.0);
        }
        let into = t - self.start;
        if into > self.length {
            return 1.0;
        }
        let depth = (into / 0.2).min((self.length - into) / 0.2);
        1.0 - 0.9 * super::vec3::smoothstep(depth)
    }
}

/// An impact as a 50 Hz watch records it (its anti-alias filter spreads a sharp knock over a few samples): a jolt
/// of `width` seconds that started `age` seconds ago, then a smaller rebound the other way.
fn jolt(age: f64, amp: f64, width: f64) -> f64 {
    amp * (bump(age / width) - 0.4 * bump((age - width) / (1.2 * width)))
}

/// Finger tapping on a desk: sharp periodic impacts in groups, the hand bobbing a little with each tap.
#[derive(Debug, Clone)]
pub(crate) struct Tap {
    interval: f64,
    next: f64,
    group_left: u32,
    last: f64,
    amp: f64,
    gyro_amp: f64,
    base_amp: f64,
    base_gyro: f64,
    width: f64,
    axis: V3,
    gyro_axis: V3,
    bob_m: f64,
    bob_rad: f64,
}

impl Tap {
    fn new(tempo: f64, rng: &mut SimRng) -> Tap {
        let interval = 1.0 / (uniform(rng, 2.5, 5.0) * tempo);
        Tap {
            interval,
            next: uniform(rng, 0.0, interval),
            group_left: group_size(rng),
            last: f64::NEG_INFINITY,
            amp: 0.0,
            gyro_amp: 0.0,
            base_amp: uniform(rng, 2.0, 5.0),
            base_gyro: uniform(rng, 8.0, 20.0) * DEG,
            width: uniform(rng, 0.035, 0.05),
            axis: normalize([0.25 * normal(rng), 0.2 * normal(rng), -1.0]),
            gyro_axis: normalize([0.2 * normal(rng), 1.0, 0.2 * normal(rng)]),
            bob_m: uniform(rng, 0.5, 1.2) * 1e-3,
            bob_rad: uniform(rng, 0.8, 2.0) * DEG,
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        while t >= self.next {
            self.last = self.next;
            self.amp = self.base_amp * uniform(rng, 0.7, 1.3);
            self.gyro_amp = self.base_gyro * uniform(rng, 0.7, 1.3);
            self.group_left = self.group_left.saturating_sub(1);
            if self.group_left == 0 {
                self.next += self.interval + uniform(rng, 0.4, 1.4);
                self.group_left = group_size(rng);
            } else {
                self.next += self.interval * (1.0 + 0.06 * normal(rng)).max(0.5);
            }
        }
        let age = t - self.last;
        let cycle = (age / self.interval).min(1.0);
        let bob = 0.5 * (1.0 - (TAU * cycle).cos());
        MotionFrame {
            lift: 0.0,
            theta: [0.0, self.bob_rad * bob, 0.0],
            disp: [0.0, 0.0, self.bob_m * bob],
            accel_impulse: scale(self.axis, jolt(age, self.amp, self.width)),
            gyro_impulse: scale(self.gyro_axis, jolt(age, self.gyro_amp, 1.3 * self.width)),
        }
    }
}

fn group_size(rng: &mut SimRng) -> u32 {
    uniform(rng, 4.0, 15.0) as u32
}

/// Knuckle cracking: slow kneading of the clasped hands with bursts of sharp pops every few seconds.
#[derive(Debug, Clone)]
pub(crate) struct Crack {
    knead: Rub,
    tempo: f64,
    next_burst: f64,
    pops_left: u32,
    next_pop: f64,
    last_pop: f64,
    pop_amp: f64,
    pop_axis: V3,
    pop_gyro: V3,
}

impl Crack {
    fn new(tempo: f64, dt: f64, rng: &mut SimRng) -> Crack {
        Crack {
            knead: Rub::new(&KNEAD, tempo, false, dt, rng),
            tempo,
            next_burst: uniform(rng, 0.5, 2.5),
            pops_left: 0,
            next_pop: f64::INFINITY,
            last_pop: f64::NEG_INFINITY,
            pop_amp: 0.0,
            pop_axis: ZERO,
            pop_gyro: ZERO,
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        let mut frame = self.knead.step(t, rng);
        if self.pops_left == 0 && t >= self.next_burst {
            self.pops_left = uniform(rng, 2.0, 6.0) as u32;
            self.next_pop = t;
            self.next_burst = t + uniform(rng, 1.5, 4.0) / self.tempo;
        }
        if self.pops_left > 0 && t >= self.next_pop {
            self.last_pop = self.next_pop;
            self.pop_amp = uniform(rng, 4.0, 10.0);
            self.pop_axis = scale(normalize([0.4 * normal(rng), 1.0, 0.4 * normal(rng)]), sign(rng));
            let gyro = uniform(rng, 30.0, 80.0) * DEG * sign(rng);
            self.pop_gyro = scale(normalize([1.0, 0.5 * normal(rng), 0.5 * normal(rng)]), gyro);
            self.pops_left -= 1;
            self.next_pop += uniform(rng, 0.1, 0.3);
        }
        let age = t - self.last_pop;
        frame.accel_impulse = scale(self.pop_axis, jolt(age, self.pop_amp, 0.04));
        frame.gyro_impulse = scale(self.pop_gyro, jolt(age, 1.0, 0.05));
        frame
    }
}

/// Rise, hold and release shape of a pull or a hand-to-mouth movement: 0 → 1 → 0.
fn rise_hold_fall(age: f64, rise: f64, hold: f64, fall: f64) -> f64 {
    if age < 0.0 {
        0.0
    } else if age < rise {
        minimum_jerk(age / rise)
    } else if age < rise + hold {
        1.0
    } else {
        1.0 - minimum_jerk((age - rise - hold) / fall)
    }
}

/// Hair pulling: slow pulls every few seconds (the hand moves down and away while the wrist twists), idle
/// fiddling between them.
#[derive(Debug, Clone)]
pub(crate) struct Pull {
    groom: Rub,
    tempo: f64,
    twist_sign: f64,
    next: f64,
    start: f64,
    rise: f64,
    hold: f64,
    fall: f64,
    twist: f64,
    reach: V3,
}

impl Pull {
    fn new(tempo: f64, dt: f64, rng: &mut SimRng) -> Pull {
        Pull {
            groom: Rub::new(&GROOM, tempo, false, dt, rng),
            tempo,
            twist_sign: sign(rng),
            next: uniform(rng, 0.3, 2.0),
            start: f64::NEG_INFINITY,
            rise: 0.5,
            hold: 0.5,
            fall: 0.5,
            twist: 0.0,
            reach: ZERO,
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        if t >= self.next {
            self.start = t;
            self.rise = uniform(rng, 0.3, 0.6) / self.tempo;
            self.hold = uniform(rng, 0.2, 0.7);
            self.fall = uniform(rng, 0.4, 0.8) / self.tempo;
            self.twist = uniform(rng, 15.0, 30.0) * DEG * self.twist_sign;
            let distance = uniform(rng, 0.02, 0.045);
            self.reach = scale(normalize([-1.0, 0.2 * normal(rng), 0.5]), distance);
            self.next = t + self.rise + self.hold + self.fall + uniform(rng, 0.8, 2.5) / self.tempo;
        }
        let s = rise_hold_fall(t - self.start, self.rise, self.hold, self.fall);
        let groom = self.groom.step(t, rng);
        MotionFrame {
            lift: 0.7 * s,
            theta: add(scale(groom.theta, 1.0 - s), [self.twist * s, 0.3 * self.twist * s, 0.0]),
            disp: add(scale(groom.disp, 1.0 - s), scale(self.reach, s)),
            ..MotionFrame::default()
        }
    }
}

/// Nail biting: small irregular jitters at the mouth, quick jerks when the teeth catch the nail, and now and then
/// another finger.
#[derive(Debug, Clone)]
pub(crate) struct Bite {
    tempo: f64,
    jitter_rot: SmoothNoise3,
    jitter_disp: SmoothNoise3,
    finger: SmoothNoise,
    next: f64,
    last: f64,
    width: f64,
    amp: f64,
    dir: V3,
    twitch: f64,
}

impl Bite {
    fn new(tempo: f64, dt: f64, rng: &mut SimRng) -> Bite {
        Bite {
            tempo,
            jitter_rot: SmoothNoise3::new(rng, [0.4 * DEG, 0.9 * DEG, 0.8 * DEG], 0.04, dt),
            jitter_disp: SmoothNoise3::new(rng, [0.6e-3; 3], 0.04, dt),
            finger: SmoothNoise::new(rng, 1.5, 3.0, dt),
            next: uniform(rng, 0.1, 1.0),
            last: f64::NEG_INFINITY,
            width: 0.05,
            amp: 0.0,
            dir: ZERO,
            twitch: 0.0,
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        if t >= self.next {
            self.last = t;
            self.width = uniform(rng, 0.03, 0.06);
            self.amp = uniform(rng, 2.0, 4.5) * 1e-3;
            self.dir = normalize([1.0, 0.3 * normal(rng), 0.3 * normal(rng)]);
            self.twitch = uniform(rng, 1.0, 3.0) * DEG * sign(rng);
            self.next = t + 0.25 + exponential(rng, 0.8 / self.tempo);
        }
        let age = t - self.last;
        let jerk =
            if age < 6.0 * self.width { (-0.5 * ((age - 2.5 * self.width) / self.width).powi(2)).exp() } else { 0.0 };
        let theta = add(self.jitter_rot.step(rng), [0.0, 0.0, self.twitch * jerk]);
        let disp = add(self.jitter_disp.step(rng), scale(self.dir, self.amp * jerk));
        let lift = 1.0 / (1.0 + (-2.0 * self.finger.step(rng)).exp());
        MotionFrame { lift, theta, disp, ..MotionFrame::default() }
    }
}

/// Smoking: a hand-to-mouth cycle every 10-20 s (raise, puff, lower), resting in between with the odd flick of ash.
#[derive(Debug, Clone)]
pub(crate) struct Smoke {
    start: f64,
    period: f64,
    rise: f64,
    hold: f64,
    fall: f64,
    twist: f64,
    reach: V3,
    flick_at: f64,
    flicks: u32,
    flick_interval: f64,
    flick_gyro: f64,
    rest: SmoothNoise3,
}

impl Smoke {
    /// The cycle keeps its 10-20 s whatever the person's tempo.
    fn new(dt: f64, rng: &mut SimRng) -> Smoke {
        let mut smoke = Smoke {
            start: 0.0,
            period: 15.0,
            rise: 1.0,
            hold: 1.0,
            fall: 1.0,
            twist: 0.0,
            reach: ZERO,
            flick_at: f64::INFINITY,
            flicks: 0,
            flick_interval: 0.2,
            flick_gyro: 0.0,
            rest: SmoothNoise3::new(rng, [1.0 * DEG; 3], 0.6, dt),
        };
        smoke.new_cycle(0.0, rng);
        // Enter the cycle at a random point, so that bouts do not all start with a puff.
        smoke.start = -uniform(rng, 0.0, smoke.period);
        smoke.flick_at += smoke.start;
        smoke
    }

    fn new_cycle(&mut self, start: f64, rng: &mut SimRng) {
        self.start = start;
        self.period = uniform(rng, 10.0, 20.0);
        self.rise = uniform(rng, 0.9, 1.5);
        self.hold = uniform(rng, 1.2, 2.5);
        self.fall = uniform(rng, 0.9, 1.5);
        self.twist = uniform(rng, 20.0, 35.0) * DEG;
        self.reach = scale(normalize([0.4, 0.1 * normal(rng), 1.0]), uniform(rng, 0.2, 0.35));
        let rest_from = self.rise + self.hold + self.fall + 1.0;
        if uniform(rng, 0.0, 1.0) < 0.45 && self.period - 1.5 > rest_from {
            self.flick_at = start + uniform(rng, rest_from, self.period - 1.5);
            self.flicks = uniform(rng, 1.0, 4.0) as u32;
            self.flick_interval = 1.0 / uniform(rng, 4.0, 6.0);
            self.flick_gyro = uniform(rng, 100.0, 200.0) * DEG;
        } else {
            self.flick_at = f64::INFINITY;
            self.flicks = 0;
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        if t - self.start >= self.period {
            let next = self.start + self.period;
            self.new_cycle(next, rng);
        }
        let lift = rise_hold_fall(t - self.start, self.rise, self.hold, self.fall);
        let rest = scale(self.rest.step(rng), 1.0 - lift);
        let mut frame = MotionFrame {
            lift,
            theta: add(rest, [self.twist * lift, 0.0, 0.0]),
            disp: scale(self.reach, lift),
            ..MotionFrame::default()
        };
        let since = t - self.flick_at;
        if since >= 0.0 && since < self.flicks as f64 * self.flick_interval {
            let age = since % self.flick_interval;
            frame.gyro_impulse = [0.0, jolt(age, self.flick_gyro, 0.08), 0.0];
            frame.accel_impulse = [0.0, 0.0, jolt(age, 3.0, 0.05)];
        }
        frame
    }
}

/// Sitting or standing still: breathing and body sway, physiological micro-movements and the odd fidget that
/// resettles the hand.
#[derive(Debug, Clone)]
pub(crate) struct Still {
    sway: Rub,
    breath: Rub,
    fidget_mean_s: f64,
    fidget_sigma: f64,
    next_fidget: f64,
    fidget_start: f64,
    fidget_length: f64,
    fidget_from: V3,
    fidget_to: V3,
}

/// Body sway while standing (the arm hangs from a swaying shoulder).
const SWAY_STANDING: RubSpec = RubSpec { freq: (0.15, 0.4), rot_deg: [1.6, 2.2, 0.8], disp_mm: [4.0, 6.0, 3.0] };
/// Breathing while sitting, felt through the thighs or the armrest.
const SWAY_SITTING: RubSpec = RubSpec { freq: (0.2, 0.33), rot_deg: [0.3, 0.4, 0.2], disp_mm: [0.5, 0.5, 1.5] };
/// A hanging arm's small pendulum motion.
const PENDULUM: RubSpec = RubSpec { freq: (0.8, 1.1), rot_deg: [0.2, 0.5, 0.2], disp_mm: [0.5, 2.0, 0.5] };
/// Micro-movements of a resting hand.
const RESTING_HAND: RubSpec = RubSpec { freq: (0.5, 1.5), rot_deg: [0.3, 0.3, 0.3], disp_mm: [0.3, 0.3, 0.3] };

impl Still {
    fn new(standing: bool, dt: f64, rng: &mut SimRng) -> Still {
        let (sway, breath) = if standing { (&SWAY_STANDING, &PENDULUM) } else { (&SWAY_SITTING, &RESTING_HAND) };
        let fidget_mean_s = if standing { 10.0 } else { 8.0 };
        Still {
            sway: Rub::new(sway, 1.0, false, dt, rng),
            breath: Rub::new(breath, 1.0, false, dt, rng),
            fidget_mean_s,
            fidget_sigma: if standing { 2.0 * DEG } else { 2.5 * DEG },
            next_fidget: exponential(rng, fidget_mean_s),
            fidget_start: f64::NEG_INFINITY,
            fidget_length: 1.0,
            fidget_from: ZERO,
            fidget_to: ZERO,
        }
    }

    fn step(&mut self, t: f64, rng: &mut SimRng) -> MotionFrame {
        if t >= self.next_fidget {
            self.fidget_from = self.fidget_offset(t);
            self.fidget_to = normal_v3(rng, self.fidget_sigma);
            self.fidget_start = t;
            self.fidget_length = uniform(rng, 0.6, 1.2);
            self.next_fidget = t + self.fidget_length + exponential(rng, self.fidget_mean_s);
        }
        let sway = self.sway.step(t, rng);
        let breath = self.breath.step(t, rng);
        let fidget = self.fidget_offset(t);
        // A fidget moves the hand a couple of centimetres as well as turning it.
        let shift = 0.01 * bump((t - self.fidget_start) / self.fidget_length);
        MotionFrame {
            lift: 0.0,
            theta: add(add(sway.theta, breath.theta), fidget),
            disp: add(add(sway.disp, breath.disp), [shift, 0.5 * shift, shift]),
            ..MotionFrame::default()
        }
    }

    fn fidget_offset(&self, t: f64) -> V3 {
        let s = minimum_jerk((t - self.fidget_start) / self.fidget_length);
        add(scale(self.fidget_from, 1.0 - s), scale(self.fidget_to, s))
    }
}
