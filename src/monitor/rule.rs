//! The input-drift rule: evidence that the sensor or its mounting changed (rotation about z, unit or gain error,
//! added noise, gyroscope bias), from checks chosen so that a different mix of behaviours does not fire them.
//! The rule itself is described in the documentation of [`crate::monitor`].

use serde::{Deserialize, Serialize};

use super::baseline::Baseline;
use super::features::WindowFeatures;
use crate::model::AccelUnit;
use crate::model::card::Units;
use crate::numeric::{median_of, quantile_linear_of};

/// Thresholds of the input-drift rule (defaults documented in [`crate::monitor`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputDriftThresholds {
    /// Fire when the accelerometer magnitude changed by more than this factor (either way).
    pub accel_scale: f64,
    /// Also fire when at least this share of the chunk's windows is off scale (see [`OFF_SCALE_MARGIN`]): the
    /// pooled median of the magnitude check only moves when most of the chunk changed.
    pub accel_off_scale_share: f64,
    /// Smallest rotation about z that fires, in degrees.
    pub rotation_deg: f64,
    /// Undoing the rotation must reduce the posture mismatch by at least this many degrees ...
    pub rotation_gain_deg: f64,
    /// ... and to at most this share of the mismatch without undoing it.
    pub rotation_residual_share: f64,
    /// Fire when the high-frequency noise floor changed by more than this factor (either way).
    pub noise_ratio: f64,
    /// Smallest mean angular-rate offset that fires, in deg/s (converted when the card's gyroscope is in rad/s).
    pub gyro_offset_deg_s: f64,
    /// The offset must also exceed this many standard errors of the chunk's median.
    pub gyro_offset_standard_errors: f64,
    /// A class takes part in a per-class comparison when the chunk has at least this many windows of it ...
    pub min_chunk_class_windows: usize,
    /// ... and the baseline at least this many.
    pub min_baseline_class_windows: usize,
}

impl Default for InputDriftThresholds {
    fn default() -> Self {
        InputDriftThresholds {
            accel_scale: 1.10,
            accel_off_scale_share: 0.1,
            rotation_deg: 20.0,
            rotation_gain_deg: 1.5,
            rotation_residual_share: 0.6,
            noise_ratio: 2.0,
            gyro_offset_deg_s: 3.0,
            gyro_offset_standard_errors: 4.0,
            min_chunk_class_windows: 5,
            min_baseline_class_windows: 10,
        }
    }
}

/// One check of the input-drift rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputCheck {
    /// The accelerometer magnitude (≈ g) moved: units or gain.
    AccelScale,
    /// The gravity directions match the baseline's postures only after a rotation about z.
    MountRotation,
    /// The accelerometer's high-frequency noise floor moved.
    AccelNoise,
    /// The gyroscope's high-frequency noise floor moved.
    GyroNoise,
    /// The mean angular rate moved away from the baseline's: a gyroscope bias.
    GyroOffset,
}

impl InputCheck {
    /// Every check, in the order the rule makes them.
    pub const ALL: [InputCheck; 5] = [
        InputCheck::AccelScale,
        InputCheck::MountRotation,
        InputCheck::AccelNoise,
        InputCheck::GyroNoise,
        InputCheck::GyroOffset,
    ];

    /// What the check measures, as the subject of a sentence ("mount rotation not checked: ...").
    pub fn subject(self) -> &'static str {
        match self {
            InputCheck::AccelScale => "accelerometer magnitude",
            InputCheck::MountRotation => "mount rotation",
            InputCheck::AccelNoise => "accelerometer noise floor",
            InputCheck::GyroNoise => "gyroscope noise floor",
            InputCheck::GyroOffset => "gyroscope offset",
        }
    }
}

/// How one check came out for a chunk. A measured check carries its value, its alarm limit and its severity (the
/// value as a share of the limit: 1 = at the limit). What `value` and `limit` are, per check: the magnitude ratio
/// chunk / baseline and the factor allowed either way (`accel_scale`); the rotation about z in degrees and the
/// smallest angle that fires; the noise ratio and the factor allowed either way; the gyroscope offset's size in the
/// card's unit and the size that fires for this chunk. Ratios are judged on a log scale (`|ln value| / ln limit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The check could not be made on these windows; `reason` says why.
    NotChecked { reason: String },
    /// Measured; the check did not fire (a severity of 1 or more is possible when the rest of the rule disagrees,
    /// e.g. a rotation that undoing does not explain).
    Ok { value: f64, limit: f64, severity: f64 },
    /// Measured, and the check fired; `explanation` says what changed, in sentences (the report's notes).
    Drift { value: f64, limit: f64, severity: f64, explanation: Vec<String> },
}

impl CheckOutcome {
    /// The value as a share of its limit, when the check was made (and the share is a number).
    pub fn severity(&self) -> Option<f64> {
        match self {
            CheckOutcome::NotChecked { .. } => None,
            CheckOutcome::Ok { severity, .. } | CheckOutcome::Drift { severity, .. } => {
                Some(*severity).filter(|s| !s.is_nan())
            }
        }
    }

    pub fn fired(&self) -> bool {
        matches!(self, CheckOutcome::Drift { .. })
    }
}

/// One check and how it came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: InputCheck,
    #[serde(flatten)]
    pub outcome: CheckOutcome,
}

/// The estimate behind the rotation check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RotationEstimate {
    /// Best rotation about z in degrees, in (-180, 180].
    pub angle_deg: f64,
    /// Mean angle from each chunk gravity direction to the nearest baseline direction (capped), as measured.
    pub mismatch_deg: f64,
    /// The same after undoing the best rotation.
    pub mismatch_undone_deg: f64,
    /// Chunk windows that took part (gravity at least [`MIN_XY_SHARE`] off the z axis).
    pub windows: usize,
}

/// The numbers behind one chunk's input-drift verdict: each check's outcome ([`InputEvidence::checks`]), the
/// measurements behind them, and (derived from the outcomes) the checks that fired and the sentences for a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputEvidence {
    /// Chunk / baseline accelerometer magnitude, pooled over predicted classes.
    pub accel_scale: Option<f64>,
    /// Share of the chunk's windows whose accelerometer magnitude lies outside every baseline window's (with a
    /// margin of ×[`OFF_SCALE_MARGIN`]): a unit or gain change in part of the chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_off_scale_share: Option<f64>,
    pub rotation: Option<RotationEstimate>,
    /// Chunk / baseline high-frequency noise floor in quiet classes.
    pub accel_noise_ratio: Option<f64>,
    pub gyro_noise_ratio: Option<f64>,
    /// Chunk minus baseline median of the windows' mean angular rate, per axis, in the card's gyroscope unit.
    pub gyro_offset: Option<[f64; 3]>,
    /// The offset size that would fire for this chunk.
    pub gyro_offset_threshold: Option<f64>,
    /// The checks that fired, in [`InputCheck::ALL`] order (derived from `checks`).
    pub fired: Vec<InputCheck>,
    /// Each check's outcome, in [`InputCheck::ALL`] order.
    #[serde(default)]
    pub checks: Vec<CheckResult>,
    /// Sentences for a person: what fired, and which checks could not be made (in the report's `notes`; derived
    /// from `checks`).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// A window's accelerometer magnitude is off scale when it is below the baseline's smallest divided by this, or
/// above its largest times this.
pub const OFF_SCALE_MARGIN: f64 = 1.25;

/// `|ln ratio| / ln limit`: a ratio's distance from 1 as a share of the allowed factor, the same either way.
fn log_share(ratio: f64, limit: f64) -> f64 {
    if ratio > 0.0 && limit > 1.0 { ratio.ln().abs() / limit.ln() } else { f64::NAN }
}

impl InputEvidence {
    /// How `check` came out (`None` for a report made before checks had outcomes).
    pub fn outcome(&self, check: InputCheck) -> Option<&CheckOutcome> {
        self.checks.iter().find(|r| r.check == check).map(|r| &r.outcome)
    }

    /// The measured value, the limit and the severity of `check` from this evidence's measurements (`None` when
    /// the check made no measurement). The one definition of each check's severity.
    fn measurement(&self, check: InputCheck, limits: &InputDriftThresholds) -> Option<(f64, f64, f64)> {
        match check {
            InputCheck::AccelScale => self.accel_scale.map(|ratio| {
                // The magnitude check also fires on a share of off-scale windows: the larger of the two shares.
                let off_scale = self
                    .accel_off_scale_share
                    .filter(|_| limits.accel_off_scale_share > 0.0)
                    .map_or(f64::NAN, |share| share / limits.accel_off_scale_share);
                (ratio, limits.accel_scale, log_share(ratio, limits.accel_scale).max(off_scale))
            }),
            InputCheck::MountRotation => {
                self.rotation.map(|r| (r.angle_deg, limits.rotation_deg, r.angle_deg.abs() / limits.rotation_deg))
            }
            InputCheck::AccelNoise => {
                self.accel_noise_ratio.map(|r| (r, limits.noise_ratio, log_share(r, limits.noise_ratio)))
            }
            InputCheck::GyroNoise => {
                self.gyro_noise_ratio.map(|r| (r, limits.noise_ratio, log_share(r, limits.noise_ratio)))
            }
            InputCheck::GyroOffset => match (self.gyro_offset, self.gyro_offset_threshold) {
                (Some(offset), Some(limit)) => {
                    let size = offset.iter().map(|x| x * x).sum::<f64>().sqrt();
                    Some((size, limit, if limit > 0.0 { size / limit } else { f64::NAN }))
                }
                _ => None,
            },
        }
    }

    /// Records that `check` was measured: it fired when `explanation` holds sentences.
    fn record_measured(&mut self, check: InputCheck, limits: &InputDriftThresholds, explanation: Vec<String>) {
        let outcome = match self.measurement(check, limits) {
            None => CheckOutcome::NotChecked { reason: "no measurement".into() },
            Some((value, limit, severity)) if explanation.is_empty() => CheckOutcome::Ok { value, limit, severity },
            Some((value, limit, severity)) => CheckOutcome::Drift { value, limit, severity, explanation },
        };
        self.checks.push(CheckResult { check, outcome });
    }

    /// Records that `check` could not be made, and why.
    fn record_not_checked(&mut self, check: InputCheck, reason: String) {
        self.checks.push(CheckResult { check, outcome: CheckOutcome::NotChecked { reason } });
    }

    /// Derives `fired` and `notes` from the outcomes.
    fn settle(&mut self) {
        self.fired = self.checks.iter().filter(|r| r.outcome.fired()).map(|r| r.check).collect();
        self.notes = self
            .checks
            .iter()
            .flat_map(|r| match &r.outcome {
                CheckOutcome::NotChecked { reason } => vec![format!("{} not checked: {reason}", r.check.subject())],
                CheckOutcome::Drift { explanation, .. } => explanation.clone(),
                CheckOutcome::Ok { .. } => Vec::new(),
            })
            .collect();
    }

    /// Outcomes made up from hand-set measurements and `fired`, for tests of what reads them.
    #[cfg(test)]
    pub(crate) fn with_outcomes(mut self, limits: &InputDriftThresholds) -> InputEvidence {
        self.checks.clear();
        for check in InputCheck::ALL {
            let explanation =
                if self.fired.contains(&check) { vec![format!("{} fired", check.subject())] } else { Vec::new() };
            self.record_measured(check, limits, explanation);
        }
        self
    }

    /// One check's finding in a few words: "watch rotated ~58° about z", "accelerometer units look like g instead
    /// of m/s^2", "gyroscope offset 5.4 deg/s". `units` are the baseline's (without them: no unit reading, deg/s).
    pub fn finding(&self, check: InputCheck, limits: &InputDriftThresholds, units: Option<&Units>) -> String {
        let norm = |v: [f64; 3]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        match check {
            InputCheck::AccelScale => {
                let reading = units.and_then(|u| self.accel_scale.and_then(|r| unit_reading(u.accel, r)));
                match (self.accel_scale, reading) {
                    (_, Some(reading)) => format!("accelerometer {reading}"),
                    // Within the magnitude limit, so it was the off-scale windows that fired.
                    (Some(r), None)
                        if r.ln().abs() <= limits.accel_scale.ln()
                            && self.accel_off_scale_share.is_some_and(|s| s > 0.0) =>
                    {
                        format!(
                            "accelerometer off scale in {:.0}% of windows",
                            100.0 * self.accel_off_scale_share.unwrap_or(0.0)
                        )
                    }
                    (Some(r), None) => format!("accelerometer gain ×{r:.2}"),
                    (None, None) => "accelerometer magnitude changed".into(),
                }
            }
            InputCheck::MountRotation => match self.rotation {
                Some(r) => format!("watch rotated ~{:.0}° about z", r.angle_deg.abs()),
                None => "watch rotated about z".into(),
            },
            InputCheck::AccelNoise => match self.accel_noise_ratio {
                Some(r) => format!("accelerometer noise ×{r:.2}"),
                None => "accelerometer noise changed".into(),
            },
            InputCheck::GyroNoise => match self.gyro_noise_ratio {
                Some(r) => format!("gyroscope noise ×{r:.2}"),
                None => "gyroscope noise changed".into(),
            },
            InputCheck::GyroOffset => match self.gyro_offset {
                Some(o) => format!("gyroscope offset {:.1} {}", norm(o), units.map_or("deg/s", |u| u.gyro.as_str())),
                None => "gyroscope offset".into(),
            },
        }
    }

    /// The fired checks' findings (see [`InputEvidence::finding`]), for an alert: "watch rotated ~58° about z;
    /// gyroscope offset 5.4 deg/s". Empty when nothing fired.
    pub fn headline(&self, limits: &InputDriftThresholds, units: Option<&Units>) -> String {
        self.fired.iter().map(|&check| self.finding(check, limits, units)).collect::<Vec<_>>().join("; ")
    }
}

/// Cap on one window's posture mismatch, so that a few windows of an unseen posture cannot dominate the mean.
const MISMATCH_CAP_DEG: f64 = 30.0;
/// Baseline directions used in the rotation search (an evenly spread subset when there are more).
const MAX_REFERENCE_DIRECTIONS: usize = 2000;
/// Chunk gravity directions the rotation search scores (an evenly spread subset of a longer chunk, e.g. a whole
/// uploaded file): the mean mismatch is estimated as well from 600 windows as from all, at a fraction of the cost
/// (the search scores 81 angles × chunk × reference directions). Chunks of the default 150 windows use all.
const MAX_CHUNK_DIRECTIONS: usize = 600;
/// Chunk windows with a usable gravity direction needed for the rotation check.
const MIN_ROTATION_WINDOWS: usize = 10;
/// A rotation about z hardly moves a gravity direction close to the z axis: only directions whose x-y part is at
/// least this share of the whole (about 17° or more away from ±z) take part in the rotation check.
pub const MIN_XY_SHARE: f64 = 0.3;
/// Largest mean resultant length of the chunk's gravity azimuths for which the rotation check is made (0: spread
/// evenly, 1: all the same). Mixed chunks of unseen users gave 0.45–0.91, chunks of a single behaviour 0.86–0.99.
const MAX_AZIMUTH_RESULTANT: f64 = 0.95;
/// A class is quiet (its noise measure is mostly sensor noise) when its baseline noise floor is at most this
/// multiple of the quietest class's.
const QUIET_CLASS_FACTOR: f64 = 2.0;

/// Quantile of the windows' noise floors compared per class: the lower quartile, because body motion can only
/// add high-frequency energy, so the quieter windows of a class are the ones that show the sensor.
const NOISE_QUANTILE: f64 = 0.25;
/// Quantile of the windows' accelerometer magnitudes compared per class: the median.
const MAGNITUDE_QUANTILE: f64 = 0.5;

/// Per-class levels of the baseline's window summaries (median magnitude, lower-quartile noise floors).
#[derive(Debug, Clone, Default)]
struct ClassSummary {
    windows: usize,
    accel_magnitude: Option<f64>,
    accel_noise: Option<f64>,
    gyro_noise: Option<f64>,
}

/// What the rule needs from the baseline, computed once when a monitor starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct BaselineSummary {
    classes: Vec<String>,
    per_class: Vec<ClassSummary>,
    quiet_accel: Vec<bool>,
    quiet_gyro: Vec<bool>,
    accel_magnitude: Option<f64>,
    /// Smallest and largest window magnitude in the baseline.
    accel_magnitude_range: Option<(f64, f64)>,
    accel_unit: AccelUnit,
    gyro_unit: String,
    directions: Vec<[f64; 3]>,
    gyro_mean_median: Option<[f64; 3]>,
    /// Robust standard deviation of the windows' mean angular rate, per axis.
    gyro_mean_spread: Option<[f64; 3]>,
}

/// Median of `values` and their robust standard deviation (1.4826 × median absolute deviation).
fn median_and_spread(values: &[f64]) -> Option<(f64, f64)> {
    let median = median_of(values.iter().copied())?;
    let mad = median_of(values.iter().map(|v| (v - median).abs()))?;
    Some((median, 1.4826 * mad))
}

/// Median of `values` with weights: the smallest value whose cumulative weight reaches half the total.
fn weighted_median(mut pairs: Vec<(f64, f64)>) -> Option<f64> {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let mut cumulative = 0.0;
    for (value, weight) in &pairs {
        cumulative += weight;
        if cumulative >= total / 2.0 {
            return Some(*value);
        }
    }
    pairs.last().map(|p| p.0)
}

/// Mean over `directions` (each first rotated by `-angle` about z) of the capped angle to the nearest reference.
fn posture_mismatch(directions: &[[f64; 3]], reference: &[[f64; 3]], angle_deg: f64) -> f64 {
    let (sin, cos) = (-angle_deg.to_radians()).sin_cos();
    let cap_cos = MISMATCH_CAP_DEG.to_radians().cos();
    let total: f64 = directions
        .iter()
        .map(|d| {
            let r = [cos * d[0] - sin * d[1], sin * d[0] + cos * d[1], d[2]];
            let best = reference.iter().map(|e| r[0] * e[0] + r[1] * e[1] + r[2] * e[2]).fold(cap_cos, f64::max);
            best.clamp(-1.0, 1.0).acos().to_degrees()
        })
        .sum();
    total / directions.len().max(1) as f64
}

impl BaselineSummary {
    pub(crate) fn new(baseline: &Baseline, thresholds: &InputDriftThresholds) -> BaselineSummary {
        let k = baseline.classes.len();
        let features = &baseline.window_features;
        let per_class: Vec<ClassSummary> = (0..k)
            .map(|c| {
                let of_class = || features.iter().filter(move |f| f.class == c);
                ClassSummary {
                    windows: of_class().count(),
                    accel_magnitude: quantile_linear_of(
                        of_class().filter_map(|f| f.accel_magnitude.map(f64::from)),
                        MAGNITUDE_QUANTILE,
                    ),
                    accel_noise: quantile_linear_of(
                        of_class().filter_map(|f| f.accel_noise.map(f64::from)),
                        NOISE_QUANTILE,
                    ),
                    gyro_noise: quantile_linear_of(
                        of_class().filter_map(|f| f.gyro_noise.map(f64::from)),
                        NOISE_QUANTILE,
                    ),
                }
            })
            .collect();
        let quiet = |level: fn(&ClassSummary) -> Option<f64>| -> Vec<bool> {
            let floor = per_class
                .iter()
                .filter(|s| s.windows >= thresholds.min_baseline_class_windows)
                .filter_map(level)
                .fold(f64::INFINITY, f64::min);
            per_class.iter().map(|s| level(s).is_some_and(|v| v <= QUIET_CLASS_FACTOR * floor)).collect()
        };
        let quiet_accel = quiet(|s| s.accel_noise);
        let quiet_gyro = quiet(|s| s.gyro_noise);

        // Every baseline direction is a candidate match, including those near the z axis.
        let all_directions: Vec<[f64; 3]> = features.iter().filter_map(WindowFeatures::gravity_direction).collect();
        let directions = spread_subset(&all_directions, MAX_REFERENCE_DIRECTIONS);

        let gyro_axis = |axis: usize| -> Vec<f64> {
            features.iter().filter_map(|f| f.gyro_mean.map(|g| f64::from(g[axis]))).collect()
        };
        let gyro_stats: Option<Vec<(f64, f64)>> = (0..3).map(|a| median_and_spread(&gyro_axis(a))).collect();
        BaselineSummary {
            classes: baseline.classes.clone(),
            per_class,
            quiet_accel,
            quiet_gyro,
            accel_magnitude: median_of(features.iter().filter_map(|f| f.accel_magnitude.map(f64::from))),
            accel_magnitude_range: features
                .iter()
                .filter_map(|f| f.accel_magnitude.map(f64::from))
                .fold(None, |range: Option<(f64, f64)>, m| {
                    Some(range.map_or((m, m), |(lo, hi)| (lo.min(m), hi.max(m))))
                }),
            accel_unit: baseline.units.accel,
            gyro_unit: baseline.units.gyro.clone(),
            directions,
            gyro_mean_median: gyro_stats.as_ref().map(|s| [s[0].0, s[1].0, s[2].0]),
            gyro_mean_spread: gyro_stats.as_ref().map(|s| [s[0].1, s[1].1, s[2].1]),
        }
    }

    fn class_names(&self, classes: &[usize]) -> String {
        let names: Vec<&str> = classes.iter().filter_map(|&c| self.classes.get(c).map(String::as_str)).collect();
        match names.len() {
            0 => "no class".to_string(),
            1..=3 => names.join("/"),
            n => format!("{} and {} more classes", names[..3].join("/"), n - 3),
        }
    }

    /// Degrees per second in the card's gyroscope unit.
    fn gyro_unit_per_deg_s(&self) -> f64 {
        match self.gyro_unit.trim().to_ascii_lowercase().as_str() {
            "rad/s" | "rad/sec" | "rads" => std::f64::consts::PI / 180.0,
            _ => 1.0,
        }
    }
}

/// An evenly spread subset of at most `max` items, in order.
fn spread_subset(items: &[[f64; 3]], max: usize) -> Vec<[f64; 3]> {
    if items.len() <= max {
        return items.to_vec();
    }
    (0..max).filter_map(|i| items.get(i * items.len() / max).copied()).collect()
}

/// One window summary compared per predicted class: which value, which quantile, which baseline level.
struct ClassComparison<'a> {
    value: fn(&WindowFeatures) -> Option<f32>,
    quantile: f64,
    baseline_level: fn(&ClassSummary) -> Option<f64>,
    /// Classes that may take part (e.g. only the quiet ones).
    allowed: &'a dyn Fn(usize) -> bool,
}

/// Ratio of chunk to baseline levels (a quantile) of one window summary, per predicted class, pooled by a
/// weighted median of the log-ratios (weights: chunk windows). Returns the ratio and the classes that took part,
/// largest first.
fn pooled_class_ratio(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
    comparison: &ClassComparison<'_>,
) -> Option<(f64, Vec<usize>)> {
    let mut pairs = Vec::new();
    let mut classes = Vec::new();
    for (c, base) in summary.per_class.iter().enumerate() {
        if !(comparison.allowed)(c) || base.windows < thresholds.min_baseline_class_windows {
            continue;
        }
        let Some(reference) = (comparison.baseline_level)(base).filter(|v| *v > 0.0) else { continue };
        let values: Vec<f64> =
            chunk.iter().filter(|f| f.class == c).filter_map(|f| (comparison.value)(f).map(f64::from)).collect();
        if values.len() < thresholds.min_chunk_class_windows {
            continue;
        }
        let Some(level) = quantile_linear_of(values.iter().copied(), comparison.quantile).filter(|v| *v > 0.0) else {
            continue;
        };
        pairs.push(((level / reference).ln(), values.len() as f64));
        classes.push(c);
    }
    // Largest classes first, for the notes.
    classes.sort_by_key(|&c| std::cmp::Reverse(chunk.iter().filter(|f| f.class == c).count()));
    weighted_median(pairs).map(|log_ratio| (log_ratio.exp(), classes))
}

/// Reads an accelerometer magnitude ratio (chunk / baseline) as a unit mix-up when it is within ×1.1 of the factor
/// between the baseline's unit and another one: "units look like g instead of m/s^2".
pub fn unit_reading(baseline_unit: AccelUnit, ratio: f64) -> Option<String> {
    let base = baseline_unit.to_mps2()?;
    [AccelUnit::MetersPerSecond2, AccelUnit::G, AccelUnit::MilliG].into_iter().filter(|u| *u != baseline_unit).find_map(
        |u| {
            let factor = base / u.to_mps2()?;
            ((ratio / factor).ln().abs() < 1.1f64.ln())
                .then(|| format!("units look like {} instead of {}", u.as_str(), baseline_unit.as_str()))
        },
    )
}

/// Names a magnitude factor that is a conversion between two of m/s², g and milli-g (within ×1.1), whichever way:
/// "a unit mix-up (×9.81: m/s^2 vs g)".
pub fn unit_factor_reading(factor: f64) -> Option<String> {
    const G: f64 = 9.80665;
    [(G, "m/s^2 vs g"), (1000.0, "g vs milli-g"), (1000.0 / G, "m/s^2 vs milli-g")].into_iter().find_map(
        |(unit_factor, pair)| {
            ((factor.abs().ln().abs() - unit_factor.ln()).abs() < 1.1f64.ln())
                .then(|| format!("a unit mix-up (×{unit_factor:.4}: {pair})"))
        },
    )
}

/// Applies the rule to one chunk's window summaries.
pub(crate) fn evaluate(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
) -> InputEvidence {
    let mut evidence = InputEvidence::default();
    check_accel_scale(summary, chunk, thresholds, &mut evidence);
    check_rotation(summary, chunk, thresholds, &mut evidence);
    check_noise(summary, chunk, thresholds, &mut evidence);
    check_gyro_offset(summary, chunk, thresholds, &mut evidence);
    evidence.settle();
    evidence
}

fn check_accel_scale(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
    evidence: &mut InputEvidence,
) {
    let comparison = ClassComparison {
        value: |f| f.accel_magnitude,
        quantile: MAGNITUDE_QUANTILE,
        baseline_level: |s| s.accel_magnitude,
        allowed: &|_| true,
    };
    let per_class = pooled_class_ratio(summary, chunk, thresholds, &comparison);
    let (ratio, where_) = match per_class {
        Some((ratio, classes)) => (ratio, format!("in windows predicted {}", summary.class_names(&classes))),
        None => {
            // No class to compare like with like: fall back to all windows (g does not depend on behaviour).
            let chunk_level = median_of(chunk.iter().filter_map(|f| f.accel_magnitude.map(f64::from)));
            match (chunk_level, summary.accel_magnitude) {
                (Some(c), Some(b)) if c > 0.0 && b > 0.0 => (c / b, "over all windows".to_string()),
                _ => {
                    evidence.record_not_checked(InputCheck::AccelScale, "no accelerometer channels".into());
                    return;
                }
            }
        }
    };
    evidence.accel_scale = Some(ratio);
    let magnitudes: Vec<f64> = chunk.iter().filter_map(|f| f.accel_magnitude.map(f64::from)).collect();
    let mut off_scale: Vec<f64> = Vec::new();
    if let Some((lo, hi)) = summary.accel_magnitude_range
        && !magnitudes.is_empty()
    {
        off_scale =
            magnitudes.iter().copied().filter(|&m| m < lo / OFF_SCALE_MARGIN || m > hi * OFF_SCALE_MARGIN).collect();
        evidence.accel_off_scale_share = Some(off_scale.len() as f64 / magnitudes.len() as f64);
    }
    let off_scale_share = evidence.accel_off_scale_share.unwrap_or(0.0);
    let mut explanation = Vec::new();
    if ratio.ln().abs() <= thresholds.accel_scale.ln() && off_scale_share >= thresholds.accel_off_scale_share {
        let level = median_of(off_scale.iter().copied()).unwrap_or(f64::NAN);
        let baseline_level = summary.accel_magnitude.unwrap_or(f64::NAN);
        let factor = level / baseline_level;
        let unit = summary.accel_unit.as_str();
        let reading = unit_reading(summary.accel_unit, factor)
            .or_else(|| unit_factor_reading(factor))
            .unwrap_or_else(|| format!("a gain error of ×{factor:.2}"));
        explanation.push(format!(
            "{} of {} windows ({:.0}%) have an accelerometer magnitude of about {level:.3} {unit}, outside every \
             baseline window's (median {baseline_level:.3} {unit}): {reading} in part of the chunk",
            off_scale.len(),
            magnitudes.len(),
            100.0 * off_scale_share
        ));
    }
    if ratio.ln().abs() > thresholds.accel_scale.ln() {
        let baseline_level = summary.accel_magnitude.unwrap_or(f64::NAN);
        let unit = summary.accel_unit.as_str();
        let reading = unit_reading(summary.accel_unit, ratio).unwrap_or_else(|| format!("a gain error of ×{ratio:.2}"));
        explanation.push(format!(
            "accelerometer magnitude {} is {:.3} instead of {:.3} {unit} (×{ratio:.3}): {reading}",
            where_,
            baseline_level * ratio,
            baseline_level
        ));
    }
    evidence.record_measured(InputCheck::AccelScale, thresholds, explanation);
}

fn check_rotation(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
    evidence: &mut InputEvidence,
) {
    let off_axis = |d: &[f64; 3]| (d[0] * d[0] + d[1] * d[1]).sqrt() >= MIN_XY_SHARE;
    let taking_part: Vec<&WindowFeatures> =
        chunk.iter().copied().filter(|f| f.gravity_direction().is_some_and(|d| off_axis(&d))).collect();
    let directions: Vec<[f64; 3]> = taking_part.iter().filter_map(|f| f.gravity_direction()).collect();
    if summary.directions.len() < MIN_ROTATION_WINDOWS {
        evidence.record_not_checked(InputCheck::MountRotation, "the baseline has too few gravity directions".into());
        return;
    }
    if directions.len() < MIN_ROTATION_WINDOWS {
        evidence.record_not_checked(
            InputCheck::MountRotation,
            format!("only {} windows with gravity away from the z axis", directions.len()),
        );
        return;
    }
    // One posture can be rotated onto some other baseline posture at the same tilt: the rotation is only
    // identifiable when the directions come from more than one posture, i.e. their azimuths spread.
    let (sum_cos, sum_sin) = directions.iter().fold((0.0, 0.0), |(c, s), d| {
        let norm = (d[0] * d[0] + d[1] * d[1]).sqrt();
        (c + d[0] / norm, s + d[1] / norm)
    });
    let resultant = (sum_cos * sum_cos + sum_sin * sum_sin).sqrt() / directions.len() as f64;
    if resultant > MAX_AZIMUTH_RESULTANT {
        evidence.record_not_checked(
            InputCheck::MountRotation,
            format!(
                "the {} windows with gravity away from the z axis hold one posture (azimuth resultant \
                 {resultant:.2} > {MAX_AZIMUTH_RESULTANT}), which a rotation cannot be told from",
                directions.len()
            ),
        );
        return;
    }
    let scored = spread_subset(&directions, MAX_CHUNK_DIRECTIONS);
    let score = |angle: f64| posture_mismatch(&scored, &summary.directions, angle);
    // Coarse search every 5°, then 1° around the best.
    let mut best = (0.0, score(0.0));
    for step in -35..=36 {
        let angle = f64::from(step) * 5.0;
        let s = score(angle);
        if s < best.1 {
            best = (angle, s);
        }
    }
    let coarse = best.0;
    for offset in -4..=4 {
        let angle = coarse + f64::from(offset);
        let s = score(angle);
        if s < best.1 {
            best = (angle, s);
        }
    }
    let angle_deg = if best.0 > 180.0 {
        best.0 - 360.0
    } else if best.0 <= -180.0 {
        best.0 + 360.0
    } else {
        best.0
    };
    let mismatch_deg = score(0.0);
    let estimate = RotationEstimate { angle_deg, mismatch_deg, mismatch_undone_deg: best.1, windows: directions.len() };
    evidence.rotation = Some(estimate);
    let fires = angle_deg.abs() >= thresholds.rotation_deg
        && mismatch_deg - best.1 >= thresholds.rotation_gain_deg
        && best.1 <= thresholds.rotation_residual_share * mismatch_deg;
    let mut explanation = Vec::new();
    if fires {
        let mut classes: Vec<usize> = Vec::new();
        for f in &taking_part {
            if !classes.contains(&f.class) {
                classes.push(f.class);
            }
        }
        classes.sort_by_key(|&c| std::cmp::Reverse(taking_part.iter().filter(|f| f.class == c).count()));
        explanation.push(format!(
            "gravity direction rotated ~{angle_deg:.0}° about z in windows predicted {}: undoing the rotation \
             brings the postures back to the baseline's (mean mismatch {:.1}° instead of {mismatch_deg:.1}° over \
             {} windows): the watch sits turned on the wrist",
            summary.class_names(&classes),
            best.1,
            directions.len()
        ));
    }
    evidence.record_measured(InputCheck::MountRotation, thresholds, explanation);
}

fn check_noise(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
    evidence: &mut InputEvidence,
) {
    let quiet_accel = |c: usize| summary.quiet_accel.get(c).copied().unwrap_or(false);
    let quiet_gyro = |c: usize| summary.quiet_gyro.get(c).copied().unwrap_or(false);
    let accel = ClassComparison {
        value: |f| f.accel_noise,
        quantile: NOISE_QUANTILE,
        baseline_level: |s| s.accel_noise,
        allowed: &quiet_accel,
    };
    let gyro = ClassComparison {
        value: |f| f.gyro_noise,
        quantile: NOISE_QUANTILE,
        baseline_level: |s| s.gyro_noise,
        allowed: &quiet_gyro,
    };
    // A gain or unit change scales the accelerometer's noise with its signal: that is the magnitude check's
    // finding, so the noise is compared relative to the signal's scale.
    let accel_scale = evidence.accel_scale.unwrap_or(1.0);
    let sensors = [
        ("accelerometer", InputCheck::AccelNoise, &accel, &summary.quiet_accel, accel_scale),
        ("gyroscope", InputCheck::GyroNoise, &gyro, &summary.quiet_gyro, 1.0),
    ];
    for (sensor, check, comparison, quiet, scale) in sensors {
        let Some((raw_ratio, classes)) = pooled_class_ratio(summary, chunk, thresholds, comparison) else {
            let reason = if quiet.iter().any(|q| *q) {
                let quiet_classes: Vec<usize> = quiet.iter().enumerate().filter(|(_, q)| **q).map(|(c, _)| c).collect();
                format!("too few windows predicted in a quiet class ({})", summary.class_names(&quiet_classes))
            } else {
                format!("the baseline has no {sensor} noise levels to compare with")
            };
            evidence.record_not_checked(check, reason);
            continue;
        };
        let ratio = raw_ratio / scale;
        match check {
            InputCheck::AccelNoise => evidence.accel_noise_ratio = Some(ratio),
            _ => evidence.gyro_noise_ratio = Some(ratio),
        }
        let mut explanation = Vec::new();
        if ratio.ln().abs() > thresholds.noise_ratio.ln() {
            let direction = if ratio > 1.0 { "rose" } else { "fell" };
            explanation.push(format!(
                "high-frequency {sensor} noise {direction} ×{ratio:.2} against the baseline in quiet windows \
                 (predicted {}): the sensor's noise changed",
                summary.class_names(&classes)
            ));
        }
        evidence.record_measured(check, thresholds, explanation);
    }
}

fn check_gyro_offset(
    summary: &BaselineSummary,
    chunk: &[&WindowFeatures],
    thresholds: &InputDriftThresholds,
    evidence: &mut InputEvidence,
) {
    let (Some(base_median), Some(base_spread)) = (summary.gyro_mean_median, summary.gyro_mean_spread) else {
        evidence.record_not_checked(InputCheck::GyroOffset, "the baseline has no gyroscope readings".into());
        return;
    };
    let axis = |a: usize| -> Vec<f64> { chunk.iter().filter_map(|f| f.gyro_mean.map(|g| f64::from(g[a]))).collect() };
    let (Some((x, sx)), Some((y, sy)), Some((z, sz))) =
        (median_and_spread(&axis(0)), median_and_spread(&axis(1)), median_and_spread(&axis(2)))
    else {
        evidence.record_not_checked(InputCheck::GyroOffset, "no gyroscope readings in these windows".into());
        return;
    };
    let n = chunk.iter().filter(|f| f.gyro_mean.is_some()).count().max(1) as f64;
    let offset = [x - base_median[0], y - base_median[1], z - base_median[2]];
    let size = offset.iter().map(|v| v * v).sum::<f64>().sqrt();
    // Standard error of a median: about 1.2533 σ / √n, with σ the chunk's own spread (a chunk of one vigorous
    // behaviour has far wider window means than the mixed baseline); the baseline's spread is the floor. The
    // norm over three axes uses the largest.
    let spread = [sx, sy, sz, base_spread[0], base_spread[1], base_spread[2]].into_iter().fold(0.0, f64::max);
    let standard_error = 1.2533 * spread / n.sqrt();
    let threshold = (thresholds.gyro_offset_deg_s * summary.gyro_unit_per_deg_s())
        .max(thresholds.gyro_offset_standard_errors * standard_error);
    evidence.gyro_offset = Some(offset);
    evidence.gyro_offset_threshold = Some(threshold);
    let mut explanation = Vec::new();
    if size > threshold {
        explanation.push(format!(
            "mean angular rate offset by ({:+.2}, {:+.2}, {:+.2}) {} against the baseline (size {size:.2}, \
             threshold {threshold:.2}): looks like a gyroscope bias",
            offset[0], offset[1], offset[2], summary.gyro_unit
        ));
    }
    evidence.record_measured(InputCheck::GyroOffset, thresholds, explanation);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_takes_weights_into_account() {
        assert_eq!(weighted_median(vec![(1.0, 1.0), (5.0, 3.0), (2.0, 1.0)]), Some(5.0));
        assert_eq!(weighted_median(vec![(1.0, 3.0), (5.0, 1.0)]), Some(1.0));
        assert_eq!(weighted_median(Vec::new()), None);
    }

    #[test]
    fn unit_reading_names_g_and_milli_g() {
        let g = unit_reading(AccelUnit::MetersPerSecond2, 1.0 / 9.81).unwrap();
        assert!(g.contains("look like g instead of m/s^2"), "{g}");
        let mg = unit_reading(AccelUnit::MetersPerSecond2, 1000.0 / 9.81).unwrap();
        assert!(mg.contains("milli-g"), "{mg}");
        assert_eq!(unit_reading(AccelUnit::MetersPerSecond2, 1.3), None);
    }

    #[test]
    fn headline_names_each_fired_check_with_its_number() {
        let evidence = InputEvidence {
            accel_scale: Some(1.0),
            accel_off_scale_share: Some(0.4),
            rotation: Some(RotationEstimate {
                angle_deg: 58.0,
                mismatch_deg: 7.0,
                mismatch_undone_deg: 1.4,
                windows: 140,
            }),
            gyro_offset: Some([3.0, 4.0, 0.0]),
            fired: vec![InputCheck::MountRotation, InputCheck::GyroOffset, InputCheck::AccelScale],
            ..InputEvidence::default()
        };
        let limits = InputDriftThresholds::default();
        let units = Units::default();
        assert_eq!(
            evidence.headline(&limits, Some(&units)),
            "watch rotated ~58° about z; gyroscope offset 5.0 deg/s; accelerometer off scale in 40% of windows"
        );
        let empty = InputEvidence { accel_scale: Some(1.0), ..InputEvidence::default() };
        assert_eq!(empty.headline(&limits, Some(&units)), "");
        // A ratio at the factor between two units is read as such.
        let g = InputEvidence { accel_scale: Some(1.0 / 9.81), fired: vec![InputCheck::AccelScale], ..empty };
        assert_eq!(g.headline(&limits, Some(&units)), "accelerometer units look like g instead of m/s^2");
    }

    #[test]
    fn unit_factor_reading_names_both_directions() {
        assert!(unit_factor_reading(9.7).unwrap().contains("m/s^2 vs g"));
        assert!(unit_factor_reading(1.0 / 9.9).unwrap().contains("m/s^2 vs g"));
        assert!(unit_factor_reading(0.00105).unwrap().contains("g vs milli-g"));
        assert!(unit_factor_reading(100.0).unwrap().contains("m/s^2 vs milli-g"));
        assert_eq!(unit_factor_reading(1.3), None);
        assert_eq!(unit_factor_reading(5.0), None);
    }

    #[test]
    fn posture_mismatch_is_zero_after_undoing_the_rotation() {
        let reference = [[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]];
        let (s, c) = 60f64.to_radians().sin_cos();
        let rotated: Vec<[f64; 3]> =
            reference.iter().map(|d| [c * d[0] - s * d[1], s * d[0] + c * d[1], d[2]]).collect();
        assert!(posture_mismatch(&rotated, &reference, 60.0) < 1e-6);
        assert!(posture_mismatch(&rotated, &reference, 0.0) > 20.0);
    }
}
