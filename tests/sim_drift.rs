//! Each drift option of the simulator does what docs/FORMATS.md §4 says, from `after_s` on and only then; the same seed gives
//! the same session.

mod sim_common;

use har_monitor::model::AccelUnit;
use har_monitor::sim::{ClassWeights, DriftOptions, SensorSim, SimError, SimSample};
use sim_common::*;

fn session(user: u32, seconds: f64, drift: DriftOptions) -> Vec<SimSample> {
    let mut sim = SensorSim::new(21, user);
    sim.set_drift(drift).unwrap();
    (0..(seconds * RATE) as usize).map(|_| sim.next_sample()).collect()
}

fn azimuth_deg(v: [f64; 3]) -> f64 {
    v[1].atan2(v[0]).to_degrees()
}

#[test]
fn the_same_seed_gives_the_same_session_and_another_seed_does_not() {
    let a = session(4, 60.0, DriftOptions::default());
    let b = session(4, 60.0, DriftOptions::default());
    assert_eq!(a, b);
    let mut other = SensorSim::new(22, 4);
    let c: Vec<SimSample> = (0..a.len()).map(|_| other.next_sample()).collect();
    assert_ne!(a, c);
}

#[test]
fn rotation_turns_the_mean_accel_direction_by_the_angle_about_z() {
    // Ear rubbing holds gravity well off the z axis, so the azimuth of the mean is well defined.
    let run = |rotate_deg: f64| {
        let mut sim = SensorSim::new(21, 5);
        sim.set_script(har_monitor::sim::Script::Fixed(class_index("ear_rubbing"))).unwrap();
        sim.set_drift(DriftOptions { rotate_deg, ..DriftOptions::default() }).unwrap();
        (0..6000).map(|_| sim.next_sample()).skip(250).collect::<Vec<SimSample>>()
    };
    let plain = run(0.0);
    for deg in [60.0, -25.0] {
        let turned = run(deg);
        let (a, b) = (mean_vector(&plain, 0), mean_vector(&turned, 0));
        let mut shift = azimuth_deg(b) - azimuth_deg(a);
        shift = (shift + 540.0) % 360.0 - 180.0;
        // The sensor's own bias (≈0.1 m/s²) and per-axis gain (≈1 %) do not turn with the watch: allow 2°.
        assert!((shift - deg).abs() < 2.0, "azimuth moved {shift:.2}°, expected {deg}°");
        assert!((b[2] - a[2]).abs() < 0.05, "z is untouched by a turn about z");
        // The gyroscope turns with it: per sample, its xy length is kept (up to the unturned bias).
        for (p, t) in plain.iter().zip(&turned) {
            let xy = |s: &SimSample| f64::from(s.values[3]).hypot(f64::from(s.values[4]));
            assert!((xy(p) - xy(t)).abs() < 3.0, "{} vs {}", xy(p), xy(t));
        }
    }
}

#[test]
fn accel_unit_scales_the_accelerometer_only() {
    let plain = session(6, 60.0, DriftOptions::default());
    for (unit, per_mps2) in [(AccelUnit::G, 1.0 / 9.80665), (AccelUnit::MilliG, 1.0 / 0.00981)] {
        let other = session(6, 60.0, DriftOptions { accel_unit: unit, ..DriftOptions::default() });
        for (p, o) in plain.iter().zip(&other) {
            assert_eq!(o.accel_unit, unit);
            for c in 0..3 {
                let expected = f64::from(p.values[c]) * per_mps2;
                assert!((f64::from(o.values[c]) - expected).abs() <= 1e-5 * expected.abs().max(1.0));
            }
            assert_eq!(p.values[3..], o.values[3..]);
        }
    }
}

#[test]
fn noise_scale_raises_high_frequency_power() {
    // Sitting is near-static: the sample-to-sample differences are mostly sensor noise.
    let power = |scale: f64| {
        let mut sim = SensorSim::new(21, 7);
        sim.set_script(har_monitor::sim::Script::Fixed(class_index("sitting"))).unwrap();
        sim.set_drift(DriftOptions { noise_scale: scale, ..DriftOptions::default() }).unwrap();
        let run: Vec<SimSample> = (0..3000).map(|_| sim.next_sample()).skip(500).collect();
        let diff: Vec<f64> = run.windows(2).map(|w| f64::from(w[1].values[0] - w[0].values[0])).collect();
        diff.iter().map(|d| d * d).sum::<f64>() / diff.len() as f64
    };
    let (one, four) = (power(1.0), power(4.0));
    // Noise is white, so four times the noise is sixteen times its share of the difference power; the movement's
    // own share stays.
    assert!(four > 3.0 * one, "noise x4: difference power {four:.4} vs {one:.4}");
}

#[test]
fn gyro_bias_shifts_every_gyro_axis_by_the_offset() {
    let plain = session(8, 30.0, DriftOptions::default());
    let biased = session(8, 30.0, DriftOptions { gyro_bias_dps: 2.5, ..DriftOptions::default() });
    for (p, b) in plain.iter().zip(&biased) {
        assert_eq!(p.values[..3], b.values[..3]);
        for c in 3..6 {
            assert!((b.values[c] - p.values[c] - 2.5).abs() < 1e-3);
        }
    }
}

#[test]
fn drift_starts_at_its_time_on_the_session_clock() {
    let plain = session(9, 120.0, DriftOptions::default());
    let drifted = session(9, 120.0, DriftOptions { after_s: 60.0, rotate_deg: 90.0, ..DriftOptions::default() });
    let start = (60.0 * RATE) as usize;
    assert_eq!(plain[..start], drifted[..start], "nothing changes before the drift time");
    assert!(plain[start..].iter().zip(&drifted[start..]).all(|(p, d)| p.values[..2] != d.values[..2]));
}

#[test]
fn class_weights_change_the_behaviour_mix() {
    let share = |weights: Option<ClassWeights>, class: usize| {
        let mut rows = 0usize;
        let mut hits = 0usize;
        for user in 1..=6 {
            for s in session(user, 1800.0, DriftOptions { class_weights: weights.clone(), ..DriftOptions::default() }) {
                rows += 1;
                hits += usize::from(s.activity == class);
            }
        }
        hits as f64 / rows as f64
    };
    let smoking = class_index("smoking");
    let standing = class_index("standing");
    let base = share(None, smoking);
    let boosted = ClassWeights::parse("smoking=5").unwrap();
    assert!(share(Some(boosted), smoking) > 2.5 * base, "smoking share rises from {base:.3}");
    let without = ClassWeights::parse("standing=0").unwrap();
    assert_eq!(share(Some(without), standing), 0.0);
}

#[test]
fn bad_settings_name_their_option() {
    let message = |e: SimError| e.to_string();
    let text = message(ClassWeights::parse("smokin=2").unwrap_err());
    assert!(text.contains("--class-weights") && text.contains("smokin"), "{text}");
    let err = ClassWeights::parse("smoking=-1").unwrap_err();
    assert!(message(err).contains("--class-weights"));
    let err = ClassWeights::parse("smoking=0,sitting=0,standing=0,ear_rubbing=0,forehead_rubbing=0,hair_pulling=0,hand_scratching=0,hand_tapping=0,knuckles_cracking=0,nail_biting=0,nape_rubbing=0").unwrap_err();
    assert!(message(err).contains("at least one"));
    let mut sim = SensorSim::new(1, 1);
    let err = sim.set_drift(DriftOptions { noise_scale: -1.0, ..DriftOptions::default() }).unwrap_err();
    assert!(message(err).contains("--noise-scale"));
    let err = sim.set_drift(DriftOptions { accel_unit: AccelUnit::AsIs, ..DriftOptions::default() }).unwrap_err();
    assert!(message(err).contains("--accel-unit"));
    assert!(sim.set_script(har_monitor::sim::Script::Fixed(11)).is_err());
}

#[test]
fn weights_set_before_the_first_sample_decide_the_first_bout() {
    for user in 1..=8 {
        let run = only_class_run("nail_biting", user, 3, 40.0);
        assert!(run.iter().all(|s| s.activity == class_index("nail_biting")), "user {user}");
    }
}
