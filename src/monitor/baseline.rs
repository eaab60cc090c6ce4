//! The drift baseline (`<stem>.baseline.json` beside the model, named by the card's `baseline` field): what the
//! model's outputs and the raw sensor signal looked like on reference data, kept small enough to ship with a
//! model and to compare every chunk against.

use std::path::{Path, PathBuf};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::DriftError;
use super::estimate::ReferencePerformance;
use super::features::{SensorLayout, WindowFeatures, WindowObservation};
use crate::model::ModelCard;
use crate::model::card::Units;
use crate::numeric::quantile_linear_sorted;

/// The baseline format this build writes and reads.
pub const BASELINE_FORMAT: &str = "har-drift-baseline/1";
/// A window whose top probability is below this counts as low-confidence.
pub const LOW_CONFIDENCE_THRESHOLD: f64 = 0.6;
/// Equal-width bins of the confidence histogram over [0, 1].
pub const CONFIDENCE_BINS: usize = 10;
/// Raw values kept per channel (a uniform random subsample of all reference samples) for KS and Wasserstein.
pub const CHANNEL_SAMPLE_SIZE: usize = 4000;
/// Windows whose summaries are kept (a uniform random subsample when the reference data has more).
pub const WINDOW_SAMPLE_SIZE: usize = 5000;
/// Bins of the per-channel PSI: the deciles of the baseline sample.
pub const CHANNEL_PSI_BINS: usize = 10;
/// Seed of the subsampling: the same reference data always gives the same baseline.
const SUBSAMPLE_SEED: u64 = 0x4841_525f_4452_4654;

/// One channel of the reference data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelBaseline {
    pub channel: String,
    /// Mean and (population) standard deviation over every reference sample.
    pub mean: f64,
    pub std: f64,
    /// Inner edges of the PSI bins (`(-inf, e0], (e0, e1], ..., (e_last, inf)`): the sample's deciles.
    pub psi_edges: Vec<f64>,
    /// Share of the sample in each PSI bin (one more entry than `psi_edges`).
    pub psi_shares: Vec<f64>,
    /// Subsample of the raw values, sorted ascending.
    pub sample: Vec<f32>,
}

/// The reference picture of a model's outputs and inputs; see the module documentation of [`crate::monitor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub format: String,
    /// Model name and version from the card the baseline was built with.
    pub model: String,
    pub model_version: String,
    pub classes: Vec<String>,
    pub channels: Vec<String>,
    pub units: Units,
    pub window: usize,
    pub sample_rate_hz: f64,
    /// Where the reference data came from (free text, e.g. the CSV path).
    #[serde(default)]
    pub source: String,
    /// Number of reference windows.
    pub windows: usize,
    /// Windows per predicted class, card order.
    pub predicted_counts: Vec<u64>,
    /// `predicted_counts` as shares (sums to 1).
    pub predicted_distribution: Vec<f64>,
    /// Windows per true class when the reference data was labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_counts: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_distribution: Option<Vec<f64>>,
    pub mean_confidence: f64,
    pub low_confidence_threshold: f64,
    pub low_confidence_share: f64,
    /// Share of windows whose top probability falls in each of [`CONFIDENCE_BINS`] equal bins over [0, 1].
    pub confidence_histogram: Vec<f64>,
    /// One entry per card channel, card order.
    pub channel_stats: Vec<ChannelBaseline>,
    /// Summaries of (a subsample of) the reference windows, for the input-drift rule.
    pub window_features: Vec<WindowFeatures>,
    /// The model's realised accuracy, macro-F1 and calibration error on the labeled reference windows: what the
    /// label-free estimate is compared with and trusted by ([`super::estimate`]). Absent when the reference data
    /// had no labels, and in baselines written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_performance: Option<ReferencePerformance>,
}

/// Checks one observation against the card's shape; `index` is the window's position in the stream.
pub(crate) fn check_observation(
    index: usize,
    observation: &WindowObservation<'_>,
    window: usize,
    channels: usize,
    classes: usize,
) -> Result<(), DriftError> {
    let bad = |problem: String| Err(DriftError::Observation { index, problem });
    if observation.raw.len() != window * channels {
        return bad(format!(
            "holds {} raw values; the card's window of {window} rows × {channels} channels needs {}",
            observation.raw.len(),
            window * channels
        ));
    }
    if observation.probabilities.len() != classes {
        return bad(format!(
            "holds {} probabilities; the card names {classes} classes",
            observation.probabilities.len()
        ));
    }
    if let Some(position) = observation.raw.iter().position(|v| !v.is_finite()) {
        return bad(format!(
            "raw value at row {}, channel {} is {}",
            position / channels.max(1),
            position % channels.max(1),
            observation.raw[position]
        ));
    }
    if let Some(position) = observation.probabilities.iter().position(|p| !p.is_finite()) {
        return bad(format!("probability of class {position} is {}", observation.probabilities[position]));
    }
    if let Some(label) = observation.true_label
        && label >= classes
    {
        return bad(format!("true label {label} is not a class index (the card names {classes} classes)"));
    }
    Ok(())
}

/// Reservoir sampling (Vitter's algorithm R) with a fixed seed.
struct Reservoir<T> {
    capacity: usize,
    seen: u64,
    items: Vec<T>,
    rng: ChaCha8Rng,
}

impl<T> Reservoir<T> {
    fn new(capacity: usize, seed: u64) -> Self {
        Reservoir { capacity, seen: 0, items: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    fn offer(&mut self, item: T) {
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            let slot = self.rng.random_range(0..=self.seen) as usize;
            if let Some(target) = self.items.get_mut(slot) {
                *target = item;
            }
        }
        self.seen += 1;
    }
}

/// Running mean and variance (Welford).
#[derive(Debug, Clone, Copy, Default)]
struct RunningMoments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl RunningMoments {
    fn add(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    fn std(&self) -> f64 {
        if self.count == 0 { 0.0 } else { (self.m2 / self.count as f64).sqrt() }
    }
}

/// Bin of the confidence histogram (one of [`CONFIDENCE_BINS`] equal bins over [0, 1]) that `confidence` falls in;
/// 1.0 goes into the last bin.
pub fn confidence_bin(confidence: f64) -> usize {
    ((confidence.clamp(0.0, 1.0) * CONFIDENCE_BINS as f64).floor() as usize).min(CONFIDENCE_BINS - 1)
}

/// Index of the PSI bin of `value` given the inner edges (right-closed bins).
pub(crate) fn psi_bin(edges: &[f64], value: f64) -> usize {
    edges.partition_point(|&e| e < value)
}

fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| if total == 0 { 0.0 } else { c as f64 / total as f64 }).collect()
}

/// A baseline built one reference window at a time (a file's windows are streamed, not held).
pub struct BaselineBuilder {
    card: ModelCard,
    layout: SensorLayout,
    predicted_counts: Vec<u64>,
    true_counts: Vec<u64>,
    labelled: usize,
    confidence_counts: Vec<u64>,
    confidence_sum: f64,
    low_confidence: usize,
    moments: Vec<RunningMoments>,
    rows: Reservoir<Vec<f32>>,
    features: Reservoir<WindowFeatures>,
    /// Probabilities and true class of each labeled window, for [`ReferencePerformance`].
    labeled: Vec<(Vec<f32>, usize)>,
    count: usize,
}

impl BaselineBuilder {
    pub fn new(card: &ModelCard) -> BaselineBuilder {
        let n_classes = card.classes.len();
        BaselineBuilder {
            card: card.clone(),
            layout: SensorLayout::from_channel_names(&card.channels),
            predicted_counts: vec![0u64; n_classes],
            true_counts: vec![0u64; n_classes],
            labelled: 0,
            confidence_counts: vec![0u64; CONFIDENCE_BINS],
            confidence_sum: 0.0,
            low_confidence: 0,
            moments: vec![RunningMoments::default(); card.channels.len()],
            rows: Reservoir::<Vec<f32>>::new(CHANNEL_SAMPLE_SIZE, SUBSAMPLE_SEED),
            features: Reservoir::<WindowFeatures>::new(WINDOW_SAMPLE_SIZE, SUBSAMPLE_SEED.rotate_left(17)),
            labeled: Vec::new(),
            count: 0,
        }
    }

    /// Adds the next reference window. Fails when it does not fit the card.
    pub fn push(&mut self, observation: WindowObservation<'_>) -> Result<(), DriftError> {
        let (n_classes, n_channels) = (self.card.classes.len(), self.card.channels.len());
        check_observation(self.count, &observation, self.card.window, n_channels, n_classes)?;
        let summary = WindowFeatures::compute(observation.raw, n_channels, observation.probabilities, &self.layout);
        self.predicted_counts[summary.class] += 1;
        let confidence = f64::from(summary.confidence);
        self.confidence_sum += confidence;
        if confidence < LOW_CONFIDENCE_THRESHOLD {
            self.low_confidence += 1;
        }
        self.confidence_counts[confidence_bin(confidence)] += 1;
        if let Some(label) = observation.true_label {
            self.true_counts[label] += 1;
            self.labelled += 1;
            self.labeled.push((observation.probabilities.to_vec(), label));
        }
        for row in observation.raw.chunks_exact(n_channels) {
            for (m, &v) in self.moments.iter_mut().zip(row) {
                m.add(f64::from(v));
            }
            self.rows.offer(row.to_vec());
        }
        self.features.offer(summary);
        self.count += 1;
        Ok(())
    }

    /// Windows added so far.
    pub fn windows(&self) -> usize {
        self.count
    }

    /// The baseline. Fails when no window was added.
    pub fn finish(self) -> Result<Baseline, DriftError> {
        let card = &self.card;
        let (count, rows, moments, labelled) = (self.count, &self.rows, &self.moments, self.labelled);
        if count == 0 {
            return Err(DriftError::NoWindows { what: "the baseline's reference data".to_string() });
        }
        let channel_stats = card
            .channels
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let mut sample: Vec<f32> = rows.items.iter().map(|row| row[c]).collect();
                sample.sort_by(f32::total_cmp);
                let sorted: Vec<f64> = sample.iter().map(|&v| f64::from(v)).collect();
                let mut psi_edges: Vec<f64> = (1..CHANNEL_PSI_BINS)
                    .filter_map(|i| quantile_linear_sorted(&sorted, i as f64 / CHANNEL_PSI_BINS as f64))
                    .collect();
                psi_edges.dedup();
                let mut bin_counts = vec![0u64; psi_edges.len() + 1];
                for &v in &sorted {
                    bin_counts[psi_bin(&psi_edges, v)] += 1;
                }
                ChannelBaseline {
                    channel: name.clone(),
                    mean: moments[c].mean,
                    std: moments[c].std(),
                    psi_edges,
                    psi_shares: shares(&bin_counts),
                    sample,
                }
            })
            .collect();
        let true_counts = self.true_counts;
        let reference_performance =
            ReferencePerformance::measure(self.labeled.iter().map(|(p, t)| (p.as_slice(), *t)), card.classes.len());
        Ok(Baseline {
            format: BASELINE_FORMAT.to_string(),
            model: card.name.clone(),
            model_version: card.version.clone(),
            classes: card.classes.clone(),
            channels: card.channels.clone(),
            units: card.units.clone(),
            window: card.window,
            sample_rate_hz: card.sample_rate_hz,
            source: String::new(),
            windows: count,
            predicted_distribution: shares(&self.predicted_counts),
            predicted_counts: self.predicted_counts,
            true_distribution: (labelled > 0).then(|| shares(&true_counts)),
            true_counts: (labelled > 0).then_some(true_counts),
            mean_confidence: self.confidence_sum / count as f64,
            low_confidence_threshold: LOW_CONFIDENCE_THRESHOLD,
            low_confidence_share: self.low_confidence as f64 / count as f64,
            confidence_histogram: shares(&self.confidence_counts),
            channel_stats,
            window_features: self.features.items,
            reference_performance,
        })
    }
}

impl Baseline {
    /// Builds the baseline from reference windows (the card gives classes, channels, window length and units).
    /// Fails on the first observation that does not fit the card, or when there are no windows.
    pub fn build<'a>(
        card: &ModelCard,
        windows: impl IntoIterator<Item = WindowObservation<'a>>,
    ) -> Result<Baseline, DriftError> {
        let mut builder = BaselineBuilder::new(card);
        for observation in windows {
            builder.push(observation)?;
        }
        builder.finish()
    }

    /// Where the baseline of a model lives: the card's `baseline` file name beside the model, or
    /// `<stem>.baseline.json` when the card names none.
    pub fn path_for_model(model: &Path, card: &ModelCard) -> PathBuf {
        match card.baseline.as_deref() {
            Some(name) if !name.trim().is_empty() => model.with_file_name(name),
            _ => {
                let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                model.with_file_name(format!("{stem}.baseline.json"))
            }
        }
    }

    /// The command that builds a baseline for the model at `model`: the one place that says how, for the drift
    /// view, the worker's and the CLI's messages.
    pub fn build_command(model: &Path) -> String {
        format!("har-monitor baseline --model {} --data REFERENCE.csv", model.display())
    }

    /// "build one with `har-monitor baseline …`", to end a sentence that says a baseline is missing or unusable.
    pub fn how_to_build(model: &Path) -> String {
        format!(
            "build one with `{}` (REFERENCE.csv: data the model is known to work on)",
            Baseline::build_command(model)
        )
    }

    /// Writes the baseline as JSON; a failed write leaves an earlier file as it was.
    pub fn save(&self, path: &Path) -> Result<(), DriftError> {
        let text = serde_json::to_string(self)
            .map_err(|e| DriftError::BaselineIo { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
        // Through a temporary file: a failed write never leaves a model's baseline truncated.
        crate::output::write_bytes(path, text.as_bytes())
            .map_err(|e| DriftError::BaselineIo { path: path.to_path_buf(), source: e.source })
    }

    /// Reads and checks a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, DriftError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| DriftError::BaselineIo { path: path.to_path_buf(), source })?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|source| DriftError::BaselineParse { path: path.to_path_buf(), source })?;
        baseline.validate(path)?;
        Ok(baseline)
    }

    /// Checks the internal consistency of a baseline; `path` is only used in messages.
    pub fn validate(&self, path: &Path) -> Result<(), DriftError> {
        let invalid = |problem: String| Err(DriftError::BaselineInvalid { path: path.to_path_buf(), problem });
        if self.format != BASELINE_FORMAT {
            return invalid(format!("`format` is `{}`, this build reads `{BASELINE_FORMAT}`", self.format));
        }
        let k = self.classes.len();
        if k == 0 {
            return invalid("`classes` is empty".to_string());
        }
        if self.windows == 0 {
            return invalid("`windows` is 0: a baseline needs reference windows".to_string());
        }
        if self.predicted_counts.len() != k || self.predicted_distribution.len() != k {
            return invalid(format!(
                "`predicted_counts` has {} and `predicted_distribution` {} entries but `classes` names {k}",
                self.predicted_counts.len(),
                self.predicted_distribution.len()
            ));
        }
        if self.predicted_counts.iter().sum::<u64>() != self.windows as u64 {
            return invalid("`predicted_counts` do not add up to `windows`".to_string());
        }
        if self.channel_stats.len() != self.channels.len() {
            return invalid(format!(
                "`channel_stats` has {} entries but `channels` names {}",
                self.channel_stats.len(),
                self.channels.len()
            ));
        }
        for (stats, name) in self.channel_stats.iter().zip(&self.channels) {
            if &stats.channel != name {
                return invalid(format!("`channel_stats` lists `{}` where `channels` has `{name}`", stats.channel));
            }
            if stats.sample.is_empty() || stats.sample.iter().any(|v| !v.is_finite()) {
                return invalid(format!("the sample of channel `{name}` is empty or holds a non-finite value"));
            }
            if stats.sample.windows(2).any(|w| w[0] > w[1]) {
                return invalid(format!("the sample of channel `{name}` is not sorted"));
            }
            if stats.psi_shares.len() != stats.psi_edges.len() + 1 {
                return invalid(format!("channel `{name}`: `psi_shares` needs one entry more than `psi_edges`"));
            }
            if !(stats.std.is_finite() && stats.mean.is_finite()) {
                return invalid(format!("channel `{name}`: mean or std is not a finite number"));
            }
        }
        if let Some((i, f)) = self.window_features.iter().enumerate().find(|(_, f)| f.class >= k) {
            return invalid(format!("`window_features[{i}]` names class {} of {k}", f.class));
        }
        if let Some(r) = &self.reference_performance {
            let share = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
            if r.windows == 0 || !share(r.accuracy) || !share(r.macro_f1) || !share(r.ece) {
                return invalid(format!(
                    "`reference_performance` needs windows > 0 and accuracy, macro_f1 and ece from 0 to 1, not {} \
                     windows, accuracy {}, macro_f1 {}, ece {}",
                    r.windows, r.accuracy, r.macro_f1, r.ece
                ));
            }
        }
        Ok(())
    }

    /// Refuses a baseline built for other classes or channels than the card's.
    pub fn check_card(&self, card: &ModelCard, path: &Path) -> Result<(), DriftError> {
        let mismatch = |what: &str, ours: &[String], theirs: &[String]| DriftError::BaselineInvalid {
            path: path.to_path_buf(),
            problem: format!("its {what} {ours:?} differ from the model card's {theirs:?}"),
        };
        if self.classes != card.classes {
            return Err(mismatch("classes", &self.classes, &card.classes));
        }
        if self.channels != card.channels {
            return Err(mismatch("channels", &self.channels, &card.channels));
        }
        if self.window != card.window {
            return Err(DriftError::BaselineInvalid {
                path: path.to_path_buf(),
                problem: format!("it was built for windows of {} rows, the card has {}", self.window, card.window),
            });
        }
        Ok(())
    }

    /// The card's channel layout (which channels are accelerometer and gyroscope axes).
    pub fn sensor_layout(&self) -> SensorLayout {
        SensorLayout::from_channel_names(&self.channels)
    }
}
