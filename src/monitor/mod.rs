//! Drift monitoring (docs/FORMATS.md §4 `baseline`, `drift`): a [`Baseline`] of what a model's outputs and raw inputs looked
//! like on reference data, and a [`DriftMonitor`] that compares consecutive chunks of windows with it, live (one
//! window at a time) or for a whole file ([`drift_report`]).
//!
//! # Prediction drift
//! The chunk's predicted-class shares against the baseline's: Jensen–Shannon distance (base 2), PSI and a
//! chi-square p-value. `prediction_drift` is `js_distance > 0.1` (Evidently / NannyML's default).
//!
//! # Input drift: the sensor or its mounting changed
//! Raw channel statistics (the per-channel `mean`, `std`, `wasserstein_std`, `ks_*`, `psi` of each chunk, computed
//! as docs/FORMATS.md §4 asks) move whenever people do other things: a chunk of hand tapping has other accelerometer
//! distributions than a chunk of sitting, with the same watch worn the same way. So `input_drift` does not use
//! them. It fires when one of four checks finds a change that behaviour cannot explain:
//!
//! 1. **Accelerometer magnitude** (units, gain). The median of `|a(t)|` over a window is close to g whatever the
//!    wearer does. Per predicted class, the chunk's median window value is divided by the baseline's for the same
//!    class (like with like), and the ratios are pooled by a median weighted by the chunk's windows (classes need
//!    5 chunk and 10 baseline windows; with none, all windows are compared). Fires outside ×[1/1.1, 1.1]: a 10 %
//!    gain error, and any unit mix-up (g vs m/s² is ×9.8), which the note names ("units look like g instead of
//!    m/s^2"). A pooled median only moves when most of the chunk changed, so the check also fires when 10 % or
//!    more of the chunk's windows lie outside every baseline window's magnitude by more than ×1.25 (part of a
//!    recording in other units: `accel_off_scale_share`).
//! 2. **Gravity direction, rotation about z** (the watch mounted turned on the wrist). Each window's mean
//!    acceleration points along gravity in the watch frame. Behaviours differ in posture, but a change of
//!    behaviour mix only re-weights postures that the baseline has already seen, whereas a rotation about z moves
//!    every posture's direction by the same angle around z. The check measures how far the chunk's directions lie
//!    from the nearest baseline direction (mean angle, each capped at 30°), then searches the rotation about z
//!    (every 5°, refined to 1°) that, undone, brings them closest. Only directions at least ~17° off the z axis
//!    (x-y share ≥ 0.3) take part: a rotation about z hardly moves the others. It fires when the best angle is at
//!    least 20° (new wearers differ by up to ~10°; unseen users' estimates reached 17°), undoing it reduces the
//!    mismatch by at least 1.5° (unseen users: under 0.8°) and to at most 0.6 of it. A single posture can be
//!    rotated onto another baseline posture of the same tilt, so the check is only made when the directions' azimuths
//!    spread (mean resultant length at most 0.95; a chunk of one behaviour is noted as not checked). It does not use the predicted class: a rotated watch makes the model pick classes whose postures look
//!    like the rotated ones, which would hide the rotation in a per-class comparison.
//! 3. **High-frequency noise floor** (added noise, another sensor or filter). A window's noise floor per axis is
//!    the mean of the smallest 75 % of `|Δ²x|` scaled to white noise's σ (second differences suppress slow body
//!    motion; trimming drops bursts; a mean rather than a median because rounded recordings make `Δ²x` a multiple
//!    of the rounding step, and a median then jumps in steps of ×1.25–×1.5), the
//!    smallest of the three axes (motion rarely reaches all three), separately for accelerometer and gyroscope. Per
//!    predicted class, the lower quartile of the chunk's windows is divided by the baseline's (body motion only adds
//!    energy, so the quieter windows show the sensor), in the baseline's quiet classes (floor at most twice the
//!    quietest class's), pooled as in 1. The accelerometer ratio is divided by the magnitude ratio of check 1, so
//!    that a unit or gain change is reported once, as such. Fires outside ×[1/2, 2] (people differ: tremor and
//!    sensors of unseen users gave ×0.8–×1.65).
//! 4. **Gyroscope offset** (bias). A window's mean angular rate is near zero for any behaviour (the wrist comes
//!    back), so the chunk's per-axis median of window means should equal the baseline's. Fires when the offset
//!    vector exceeds both 3 deg/s (converted for a card in rad/s; watches differ: unseen users' own biases gave
//!    up to 2.0 deg/s) and four standard errors of the chunk median
//!    (1.2533 × robust spread / √n, from the chunk's own spread: one vigorous behaviour has wide window means).
//!
//! Each check has a structured outcome ([`CheckOutcome`]: not checked with the reason, or measured with the value,
//! the limit and the severity, and whether it fired), carried in the JSON as `input_checks.checks`. `fired` and the
//! `notes` (in words, which check fired with what numbers, and which could not be made) are derived from them.
//! No verdict (both flags false) is given for a chunk of fewer than 30 windows.
//!
//! # Performance without labels
//! Each chunk also carries [`estimate::PerformanceEstimate`]: the accuracy and macro-F1 the model's own
//! probabilities promise (CBPE), with 95 % bands, the realised values when the data is labeled, and why the estimate
//! should not be trusted (too few windows, input drift, a baseline without or with a bad reference calibration,
//! [`ReferencePerformance`]). See [`estimate`].
//!
//! # Statistics
//! Hand-written and checked against scipy through committed fixtures: [`js_distance`], [`psi`],
//! [`chi_square_test`], [`ks_2samp`], [`wasserstein_distance`].

pub mod alerts;
mod baseline;
mod chunks;
pub mod estimate;
mod features;
mod ks;
mod rule;
mod stats;

use std::path::PathBuf;

pub use baseline::{
    BASELINE_FORMAT, Baseline, BaselineBuilder, CHANNEL_PSI_BINS, CHANNEL_SAMPLE_SIZE, CONFIDENCE_BINS,
    ChannelBaseline, LOW_CONFIDENCE_THRESHOLD, WINDOW_SAMPLE_SIZE, confidence_bin,
};
pub use chunks::{ChannelDrift, ChunkReport, DriftConfig, DriftMonitor, DriftReport, drift_report};
pub use estimate::{PerformanceEstimate, ReferencePerformance, UntrustedReason};
pub use features::{SensorLayout, WindowFeatures, WindowObservation, noise_floor};
pub use ks::{ks_2samp, kstwo_sf, smirnov_sf};
pub use rule::{
    CheckOutcome, CheckResult, InputCheck, InputDriftThresholds, InputEvidence, RotationEstimate, unit_reading,
};
pub use stats::{ChiSquareTest, PSI_EMPTY_BIN, StatsError, chi_square_test, js_distance, psi, wasserstein_distance};

/// Expected count given to a class that the baseline never predicted, in [`class_counts_chi2_p`].
pub const CHI2_ZERO_BASELINE_COUNT: f64 = 0.5;

/// Errors of the drift layer. Messages name the file, window or setting and the problem.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("cannot read or write drift baseline {path}: {source}")]
    BaselineIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("drift baseline {path} is not valid baseline JSON: {source}")]
    BaselineParse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("drift baseline {path} cannot be used: {problem}")]
    BaselineInvalid { path: PathBuf, problem: String },
    #[error("window {index}: {problem}")]
    Observation { index: usize, problem: String },
    #[error("{what} holds no windows")]
    NoWindows { what: String },
    #[error("drift settings: {0}")]
    Config(String),
}

/// p-value of the chi-square test of a chunk's predicted-class counts against the baseline's class shares
/// (`scipy.stats.chisquare(f_obs, f_exp)` with `f_exp` scaled to the chunk's total).
///
/// Classes with zero expected count: a class that neither the baseline nor the chunk predicts is left out (it
/// carries no information and would only add a degree of freedom). A class the baseline never predicted but the
/// chunk does gets an expected baseline count of [`CHI2_ZERO_BASELINE_COUNT`] (half a window) instead of zero, so
/// that one such window lowers the p-value in proportion to how large the baseline was, instead of forcing it to
/// exactly 0. With fewer than two classes left the test has no degree of freedom and the result is 1. `None` when
/// the lengths differ or the chunk is empty.
pub fn class_counts_chi2_p(chunk_counts: &[u64], baseline_counts: &[u64]) -> Option<f64> {
    if chunk_counts.len() != baseline_counts.len() || chunk_counts.iter().all(|&c| c == 0) {
        return None;
    }
    let (observed, expected): (Vec<f64>, Vec<f64>) = chunk_counts
        .iter()
        .zip(baseline_counts)
        .filter(|(o, e)| **o > 0 || **e > 0)
        .map(|(&o, &e)| (o as f64, if e == 0 { CHI2_ZERO_BASELINE_COUNT } else { e as f64 }))
        .unzip();
    if observed.len() < 2 {
        return Some(1.0);
    }
    chi_square_test(&observed, &expected).ok().map(|t| t.p_value)
}
