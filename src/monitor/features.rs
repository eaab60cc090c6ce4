//! What the drift layer keeps of one window: the model's verdict and a few physical summaries of the raw signal
//! (gravity estimate, accelerometer magnitude, high-frequency noise floor, mean angular rate). The baseline stores
//! them for a bounded sample of reference windows; the input-drift rule compares a chunk's against them.

use serde::{Deserialize, Serialize};

use crate::numeric::{argmax, median_in_place};

/// One window as the drift layer receives it: the raw signal in physical units after loading (not scaled for the
/// model), and the model's class probabilities for it.
#[derive(Debug, Clone, Copy)]
pub struct WindowObservation<'a> {
    /// `window × channels` values, row-major `[t][c]`, channels in the card's order.
    pub raw: &'a [f32],
    /// One probability per class, in the card's class order.
    pub probabilities: &'a [f32],
    /// True class index, when the data is labelled.
    pub true_label: Option<usize>,
}

/// Which channels hold the accelerometer and the gyroscope axes (x, y, z), found from the card's channel names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SensorLayout {
    pub accel: Option<[usize; 3]>,
    pub gyro: Option<[usize; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sensor {
    Accel,
    Gyro,
}

/// Reads a channel name such as `Ax`, `Ax_w`, `acc_x`, `accel_x`, `Gz`, `gyro_z` as (sensor, axis index).
fn channel_role(name: &str) -> Option<(Sensor, usize)> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix("_w").unwrap_or(&lower);
    let compact: String = lower.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let axis = match compact.chars().last()? {
        'x' => 0,
        'y' => 1,
        'z' => 2,
        _ => return None,
    };
    let prefix = &compact[..compact.len() - 1];
    let sensor = match prefix {
        "a" | "acc" | "accel" | "accelerometer" => Sensor::Accel,
        "g" | "gyr" | "gyro" | "gyroscope" => Sensor::Gyro,
        _ => return None,
    };
    Some((sensor, axis))
}

impl SensorLayout {
    /// Finds the three accelerometer and the three gyroscope axes among the channel names; a sensor with any axis
    /// missing (or named twice) is left out.
    pub fn from_channel_names<S: AsRef<str>>(names: &[S]) -> SensorLayout {
        let mut accel = [None; 3];
        let mut gyro = [None; 3];
        let mut accel_ok = true;
        let mut gyro_ok = true;
        for (index, name) in names.iter().enumerate() {
            if let Some((sensor, axis)) = channel_role(name.as_ref()) {
                let (slots, ok) = match sensor {
                    Sensor::Accel => (&mut accel, &mut accel_ok),
                    Sensor::Gyro => (&mut gyro, &mut gyro_ok),
                };
                if slots[axis].is_some() {
                    *ok = false;
                }
                slots[axis] = Some(index);
            }
        }
        let complete = |slots: [Option<usize>; 3], ok: bool| match (ok, slots) {
            (true, [Some(x), Some(y), Some(z)]) => Some([x, y, z]),
            _ => None,
        };
        SensorLayout { accel: complete(accel, accel_ok), gyro: complete(gyro, gyro_ok) }
    }
}

/// The summaries of one window that the drift layer keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowFeatures {
    /// Predicted class (arg-max of the probabilities).
    pub class: usize,
    /// Probability of the predicted class.
    pub confidence: f32,
    /// Mean accelerometer vector over the window: the gravity estimate in the watch frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_mean: Option<[f32; 3]>,
    /// Median over the window's samples of the accelerometer magnitude `|a(t)|` (≈ g whatever the behaviour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_magnitude: Option<f32>,
    /// High-frequency noise floor of the accelerometer (see [`noise_floor`]), the smallest of the three axes'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_noise: Option<f32>,
    /// Mean angular rate vector over the window (≈ 0 for a still or oscillating wrist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_mean: Option<[f32; 3]>,
    /// High-frequency noise floor of the gyroscope, the smallest of the three axes'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_noise: Option<f32>,
}

/// Share of the smallest `|Δ²x|` values that [`noise_floor`] averages.
const NOISE_KEPT_SHARE: f64 = 0.75;
/// Mean of the lower 75 % of `|Z|` for a standard normal `Z`: `2(φ(0) − φ(q)) / 0.75` with `q = Φ⁻¹(0.875)`.
const HALF_NORMAL_LOWER_MEAN: f64 = 0.514_903;

/// Robust estimate of white-noise standard deviation in one channel from the second difference `Δ²x`: the mean of
/// the smallest 75 % of `|Δ²x|`, divided by what that mean is for white noise (`√6 σ · 0.5146`). Smooth body motion
/// (a few Hz at 50 Hz sampling) contributes little to the second difference and the trimmed top quarter drops short
/// bursts. A trimmed mean rather than a median: recordings are rounded (0.01 m/s², 0.1 deg/s), which makes every
/// `Δ²x` a multiple of the rounding step, and a median of such values jumps from step to step where a mean moves
/// smoothly. `None` for fewer than three samples.
pub fn noise_floor(values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.collect();
    let mut second: Vec<f64> = values.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()).collect();
    if second.is_empty() {
        return None;
    }
    second.sort_by(f64::total_cmp);
    let kept = ((second.len() as f64 * NOISE_KEPT_SHARE).round() as usize).clamp(1, second.len());
    let mean = second[..kept].iter().sum::<f64>() / kept as f64;
    Some(mean / (6f64.sqrt() * HALF_NORMAL_LOWER_MEAN))
}

impl WindowFeatures {
    /// Computes the summaries of one window. `raw` must hold `window_len × channels` finite values, the layout's
    /// indices must be below `channels` and `probabilities` must hold at least one value (the callers check).
    pub(crate) fn compute(
        raw: &[f32],
        channels: usize,
        probabilities: &[f32],
        layout: &SensorLayout,
    ) -> WindowFeatures {
        let (class, confidence) = argmax(probabilities).unwrap_or((0, f32::NEG_INFINITY));
        let rows = raw.len() / channels.max(1);
        let column = |c: usize| (0..rows).map(move |t| f64::from(raw[t * channels + c]));
        let mean_of = |c: usize| column(c).sum::<f64>() / rows.max(1) as f64;
        // The quietest axis: body motion rarely reaches all three axes, sensor noise is on each of them.
        let axes_noise = |axes: [usize; 3]| {
            axes.iter().filter_map(|&c| noise_floor(column(c))).min_by(f64::total_cmp).map(|m| m as f32)
        };
        let accel_mean = layout.accel.map(|[x, y, z]| [mean_of(x) as f32, mean_of(y) as f32, mean_of(z) as f32]);
        let accel_magnitude = layout.accel.and_then(|[x, y, z]| {
            let mut magnitudes: Vec<f64> = (0..rows)
                .map(|t| {
                    let row = &raw[t * channels..(t + 1) * channels];
                    let (ax, ay, az) = (f64::from(row[x]), f64::from(row[y]), f64::from(row[z]));
                    (ax * ax + ay * ay + az * az).sqrt()
                })
                .collect();
            median_in_place(&mut magnitudes).map(|m| m as f32)
        });
        WindowFeatures {
            class,
            confidence: confidence.max(0.0),
            accel_mean,
            accel_magnitude,
            accel_noise: layout.accel.and_then(axes_noise),
            gyro_mean: layout.gyro.map(|[x, y, z]| [mean_of(x) as f32, mean_of(y) as f32, mean_of(z) as f32]),
            gyro_noise: layout.gyro.and_then(axes_noise),
        }
    }

    /// Unit vector of the gravity estimate, when the window's mean acceleration is at least half its median
    /// magnitude (otherwise the wrist turned too much within the window for the mean to point anywhere).
    pub fn gravity_direction(&self) -> Option<[f64; 3]> {
        let [x, y, z] = self.accel_mean?.map(f64::from);
        let norm = (x * x + y * y + z * z).sqrt();
        let magnitude = f64::from(self.accel_magnitude?);
        (norm > 0.0 && norm >= 0.5 * magnitude).then(|| [x / norm, y / norm, z / norm])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_of_both_schemas_and_aliases_are_recognised() {
        let layout = SensorLayout::from_channel_names(&["Ax", "Ay", "Az", "Gx", "Gy", "Gz"]);
        assert_eq!(layout.accel, Some([0, 1, 2]));
        assert_eq!(layout.gyro, Some([3, 4, 5]));
        let layout = SensorLayout::from_channel_names(&["gyro_z", "Ax_w", "acc_y", "accel_z", "gyro_x", "Gy_w"]);
        assert_eq!(layout.accel, Some([1, 2, 3]));
        assert_eq!(layout.gyro, Some([4, 5, 0]));
        let layout = SensorLayout::from_channel_names(&["Ax", "Ay", "Temp"]);
        assert_eq!(layout, SensorLayout::default());
    }

    #[test]
    fn noise_floor_recovers_white_noise_sigma_and_ignores_a_slow_sine() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.05).unwrap();
        let values: Vec<f64> = (0..4000)
            .map(|t| 2.0 * (2.0 * std::f64::consts::PI * 1.0 * t as f64 / 50.0).sin() + noise.sample(&mut rng))
            .collect();
        let sigma = noise_floor(values.into_iter()).unwrap();
        assert!((sigma - 0.05).abs() < 0.005, "{sigma}");
    }
}
