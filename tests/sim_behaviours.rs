//! Each simulated behaviour has the physical signature it is meant to have: where gravity falls in the watch
//! frame (posture), the frequency band of its movement, impacts for tapping, bursts of pops for knuckle cracking,
//! a 10-20 s hand-to-mouth cycle for smoking. Frequencies are measured with a Goertzel filter bank (tests/sim_common).
//! These are the classic profile's (`--profile classic`: watch face out on the left wrist); tests/sim_thesis.rs
//! checks the thesis profile.

mod sim_common;

use sim_common::*;

const USERS: [u32; 3] = [3, 17, 40];

/// Mean accelerometer vector over a run, in units of g.
fn gravity_direction(class: &str, user: u32) -> [f64; 3] {
    let run = fixed_run(class, user, 5, 120.0);
    mean_vector(&run, 0).map(|v| v / G)
}

#[test]
fn hand_at_the_head_or_mouth_points_the_forearm_up() {
    // With the hand raised to the ear, forehead, hair, nape or mouth, the forearm (watch x axis, toward the hand)
    // points upward, so gravity's reaction reads positive on x. At the ear, forehead, hair and mouth the palm turns
    // toward the head and the watch face away from the sky (z < 0); behind the neck the thumb side is up (y > 0).
    for class in ["ear_rubbing", "forehead_rubbing", "hair_pulling", "nape_rubbing", "nail_biting"] {
        for user in USERS {
            let g = gravity_direction(class, user);
            assert!(g[0] > 0.3, "{class} user {user}: x = {:.2} g should be clearly positive", g[0]);
            if class == "nape_rubbing" {
                assert!(g[1] > 0.4, "{class} user {user}: y = {:.2} g should be positive", g[1]);
            } else {
                assert!(g[2] < -0.2, "{class} user {user}: z = {:.2} g should be negative", g[2]);
            }
        }
    }
}

#[test]
fn tapping_and_scratching_rest_the_forearm_face_up_on_a_surface() {
    for class in ["hand_tapping", "hand_scratching"] {
        for user in USERS {
            let g = gravity_direction(class, user);
            assert!(g[2] > 0.8, "{class} user {user}: z = {:.2} g, the watch face should point up", g[2]);
            assert!(g[0].abs() < 0.45, "{class} user {user}: x = {:.2} g, the forearm should be near level", g[0]);
        }
    }
}

#[test]
fn standing_mostly_hangs_the_arm_and_sitting_does_not() {
    // Posture is what tells sitting from standing: a hanging arm points the hand down (x ≈ -1 g).
    let mut hanging = [0usize; 2];
    let mut total = [0usize; 2];
    for (k, class) in ["standing", "sitting"].iter().enumerate() {
        for user in 1..=6 {
            let run = only_class_run(class, user, 9, 300.0);
            hanging[k] += run.iter().filter(|s| f64::from(s.values[0]) < -0.6 * G).count();
            total[k] += run.len();
        }
    }
    let standing = hanging[0] as f64 / total[0] as f64;
    let sitting = hanging[1] as f64 / total[1] as f64;
    assert!(standing > 0.5, "standing: only {standing:.2} of samples with the arm hanging");
    assert!(sitting < 0.05, "sitting: {sitting:.2} of samples with the arm hanging");
}

#[test]
fn near_static_behaviours_read_one_g_and_little_rotation() {
    for class in ["sitting", "standing"] {
        for user in USERS {
            let run = fixed_run(class, user, 5, 120.0);
            let magnitude: Vec<f64> =
                run.iter().map(|s| s.values[..3].iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt()).collect();
            assert!((mean(&magnitude) - G).abs() < 0.3, "{class} user {user}: |a| = {:.2}", mean(&magnitude));
            assert!(std(&magnitude) < 0.3, "{class} user {user}: |a| std {:.2}", std(&magnitude));
            for c in 3..6 {
                let sd = std(&channel(&run, c));
                assert!(sd < 12.0, "{class} user {user}: gyro channel {c} std {sd:.1} deg/s is not near-static");
            }
        }
    }
}

#[test]
fn rubbing_oscillates_at_a_few_hertz_and_scratching_faster() {
    let gyro = [3, 4, 5];
    for user in USERS {
        let mut rub_freqs = Vec::new();
        for class in ["ear_rubbing", "forehead_rubbing", "nape_rubbing"] {
            let f = dominant_frequency(&fixed_run(class, user, 5, 60.0), &gyro, 0.5, 12.0);
            assert!((1.1..=4.6).contains(&f), "{class} user {user}: dominant {f:.1} Hz");
            rub_freqs.push(f);
        }
        let scratch = dominant_frequency(&fixed_run("hand_scratching", user, 5, 60.0), &[0, 1, 2], 0.5, 12.0);
        assert!((3.0..=8.0).contains(&scratch), "hand_scratching user {user}: dominant {scratch:.1} Hz");
        let slowest_rub = rub_freqs.iter().cloned().fold(f64::MAX, f64::min);
        assert!(scratch > slowest_rub, "user {user}: scratching {scratch:.1} Hz vs rubbing {rub_freqs:?}");
    }
}

#[test]
fn rubbing_is_mostly_a_twist_of_the_forearm() {
    // Ear rubbing turns the forearm about its own axis: the gyroscope's x axis carries the most power at the
    // rubbing frequency (the user's mounting turns the frame by at most a few degrees about z, not about x).
    for user in USERS {
        let run = fixed_run("ear_rubbing", user, 5, 60.0);
        let sd: Vec<f64> = (3..6).map(|c| std(&channel(&run, c))).collect();
        assert!(sd[0] > sd[1] && sd[0] > sd[2], "user {user}: gyro std {sd:?}");
    }
}

/// Peaks of the accelerometer's sample-to-sample change above `threshold` m/s², merged within 120 ms (an impact
/// and its rebound).
fn impacts(run: &[har_monitor::sim::SimSample], threshold: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for w in run.windows(2) {
        let jump: f64 =
            (0..3).map(|c| (f64::from(w[1].values[c]) - f64::from(w[0].values[c])).powi(2)).sum::<f64>().sqrt();
        if jump > threshold && out.last().is_none_or(|t| w[1].t - t > 0.12) {
            out.push(w[1].t);
        }
    }
    out
}

#[test]
fn tapping_is_a_train_of_sharp_periodic_impacts() {
    for user in USERS {
        let run = fixed_run("hand_tapping", user, 5, 60.0);
        let taps = impacts(&run, 1.0);
        let rate = taps.len() as f64 / 60.0;
        assert!((1.5..=7.0).contains(&rate), "user {user}: {rate:.1} impacts per second");
        // Periodic: most intervals sit close to the typical one (groups are separated by short pauses).
        let mut gaps: Vec<f64> = taps.windows(2).map(|w| w[1] - w[0]).collect();
        gaps.sort_by(f64::total_cmp);
        let median = gaps[gaps.len() / 2];
        let regular = gaps.iter().filter(|g| (**g - median).abs() < 0.3 * median).count() as f64 / gaps.len() as f64;
        assert!(regular > 0.6, "user {user}: only {regular:.2} of tap intervals near {median:.2} s");
        // Sharp: the accelerometer's sample-to-sample changes are heavy-tailed (high kurtosis), unlike a smooth rub.
        let kurtosis = |run: &[har_monitor::sim::SimSample]| {
            let d: Vec<f64> = run.windows(2).map(|w| f64::from(w[1].values[2] - w[0].values[2])).collect();
            let (m, s) = (mean(&d), std(&d));
            d.iter().map(|v| ((v - m) / s).powi(4)).sum::<f64>() / d.len() as f64
        };
        let rub = fixed_run("ear_rubbing", user, 5, 60.0);
        let (tap_k, rub_k) = (kurtosis(&run), kurtosis(&rub));
        assert!(tap_k > 5.0 && tap_k > 1.5 * rub_k, "user {user}: kurtosis {tap_k:.1} vs rubbing {rub_k:.1}");
    }
}

#[test]
fn knuckle_cracking_comes_in_short_bursts_of_pops() {
    for user in USERS {
        let run = fixed_run("knuckles_cracking", user, 5, 120.0);
        let pops = impacts(&run, 2.5);
        // A burst: pops less than 0.35 s apart.
        let mut bursts: Vec<usize> = vec![1];
        for w in pops.windows(2) {
            if w[1] - w[0] < 0.35 {
                if let Some(last) = bursts.last_mut() {
                    *last += 1;
                }
            } else {
                bursts.push(1);
            }
        }
        let per_minute = bursts.len() as f64 / 2.0;
        assert!((8.0..=45.0).contains(&per_minute), "user {user}: {per_minute} bursts per minute");
        let multi = bursts.iter().filter(|n| **n >= 2).count() as f64 / bursts.len() as f64;
        assert!(multi > 0.5, "user {user}: only {multi:.2} of bursts hold several pops ({bursts:?})");
        assert!(bursts.iter().all(|n| *n <= 7), "user {user}: a burst is too long ({bursts:?})");
    }
}

#[test]
fn smoking_raises_the_hand_to_the_mouth_every_10_to_20_seconds() {
    for user in USERS {
        let run = fixed_run("smoking", user, 5, 300.0);
        // The hand at the mouth points the forearm up (x high); at rest it lies level. Smooth over 1 s and count
        // upward crossings of the midpoint.
        let ax = channel(&run, 0);
        let smooth: Vec<f64> = ax.windows(50).map(mean).collect();
        let (lo, hi) = smooth.iter().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(hi - lo > 0.3 * G, "user {user}: the hand never rises ({lo:.1}..{hi:.1})");
        let mid = 0.5 * (lo + hi);
        let mut rises = Vec::new();
        for (i, w) in smooth.windows(2).enumerate() {
            if w[0] < mid && w[1] >= mid && rises.last().is_none_or(|j| i - j > 200) {
                rises.push(i);
            }
        }
        let periods: Vec<f64> = rises.windows(2).map(|w| (w[1] - w[0]) as f64 / RATE).collect();
        assert!(periods.len() >= 10, "user {user}: only {} cycles in 5 minutes", periods.len());
        assert!(periods.iter().all(|p| (8.0..=23.0).contains(p)), "user {user}: periods {periods:?}");
        let mean_period = mean(&periods);
        assert!((12.0..=18.0).contains(&mean_period), "user {user}: mean period {mean_period:.1} s");
    }
}

#[test]
fn hair_pulling_is_slow_and_twists_the_wrist() {
    for user in USERS {
        let run = fixed_run("hair_pulling", user, 5, 60.0);
        let slow = band_share(&run, &[3], 0.2, 1.5);
        let fast = band_share(&run, &[3], 3.0, 20.0);
        assert!(slow > fast, "user {user}: Gx power below 1.5 Hz {slow:.2} vs above 3 Hz {fast:.2}");
        assert!(std(&channel(&run, 3)) > 10.0, "user {user}: the wrist barely twists");
    }
}

#[test]
fn nail_biting_is_small_irregular_jitter_at_the_mouth() {
    for user in USERS {
        let bite = fixed_run("nail_biting", user, 5, 60.0);
        let rub = fixed_run("ear_rubbing", user, 5, 60.0);
        let gyro_rms =
            |run: &[har_monitor::sim::SimSample]| (3..6).map(|c| std(&channel(run, c)).powi(2)).sum::<f64>().sqrt();
        assert!(gyro_rms(&bite) < 0.6 * gyro_rms(&rub), "user {user}: {:.1} vs {:.1}", gyro_rms(&bite), gyro_rms(&rub));
        // Irregular: no single frequency dominates, unlike rubbing.
        let peakiness = |run: &[har_monitor::sim::SimSample]| {
            let s = spectrum(run, &[3, 4, 5], 0.5, 12.0);
            let max = s.iter().map(|p| p.1).fold(0.0, f64::max);
            max / (s.iter().map(|p| p.1).sum::<f64>() / s.len() as f64)
        };
        assert!(
            peakiness(&bite) < 0.5 * peakiness(&rub),
            "user {user}: {:.1} vs {:.1}",
            peakiness(&bite),
            peakiness(&rub)
        );
    }
}
