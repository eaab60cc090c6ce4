//! Chunk-by-chunk drift reports (docs/FORMATS.md §4 `drift`): the incremental [`DriftMonitor`] that the GUI feeds one window
//! at a time, and [`drift_report`] for a whole file.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::DriftError;
use super::baseline::{Baseline, check_observation, psi_bin};
use super::estimate::{EstimateContext, PerformanceEstimate, estimate_performance};
use super::features::{SensorLayout, WindowFeatures, WindowObservation};
use super::ks::ks_2samp_sorted;
use super::rule::{BaselineSummary, InputDriftThresholds, InputEvidence, evaluate};
use super::stats::{js_distance, psi, wasserstein_sorted};

/// How chunks are cut and judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftConfig {
    /// Windows per chunk (default 150, docs/FORMATS.md §4).
    pub chunk_windows: usize,
    /// No verdict (both flags false) for a chunk with fewer windows than this.
    pub min_verdict_windows: usize,
    /// Prediction drift when `js_distance` exceeds this (Evidently / NannyML default 0.1).
    pub js_threshold: f64,
    pub input: InputDriftThresholds,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig { chunk_windows: 150, min_verdict_windows: 30, js_threshold: 0.1, input: Default::default() }
    }
}

/// One channel of a chunk, compared with the baseline (docs/FORMATS.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelDrift {
    pub channel: String,
    /// Mean and population standard deviation of the chunk's raw values.
    pub mean: f64,
    pub std: f64,
    /// `wasserstein_distance(chunk values, baseline sample)` divided by the baseline's standard deviation
    /// (`null` when the baseline channel is constant and the chunk is not).
    pub wasserstein_std: f64,
    /// `ks_2samp(chunk values, baseline sample)`.
    pub ks_statistic: f64,
    pub ks_p: f64,
    /// PSI of the chunk's values over the baseline's decile bins.
    pub psi: f64,
}

/// One chunk of consecutive windows compared with the baseline; serialises to exactly docs/FORMATS.md §4's chunk object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkReport {
    /// Index of the chunk's first window in the stream (0-based).
    pub start_window: usize,
    pub windows: usize,
    /// Share of windows predicted as each class, card order (sums to 1).
    pub class_distribution: Vec<f64>,
    /// The baseline's predicted-class shares.
    pub baseline_distribution: Vec<f64>,
    pub js_distance: f64,
    pub psi: f64,
    /// Chi-square test of the chunk's predicted-class counts against the baseline (see
    /// [`super::class_counts_chi2_p`]).
    pub chi2_p: f64,
    pub mean_confidence: f64,
    pub low_confidence_share: f64,
    pub channels: Vec<ChannelDrift>,
    pub prediction_drift: bool,
    pub input_drift: bool,
    /// The numbers behind `input_drift`: each sensor check's measurement and which checks fired. An addition to
    /// docs/FORMATS.md §4's chunk object (`input_checks`); readers of the contract can ignore it.
    #[serde(rename = "input_checks", default)]
    pub evidence: InputEvidence,
    /// The label-free estimate of the model's accuracy and macro-F1 on the chunk, with its band and why it should
    /// not be trusted when it should not ([`super::estimate`]). An addition to docs/FORMATS.md §4's chunk object
    /// (`performance`); absent in reports written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceEstimate>,
    /// Sentences explaining the verdicts; the JSON carries them in the report's `notes`.
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl ChunkReport {
    /// Index one past the chunk's last window.
    pub fn end_window(&self) -> usize {
        self.start_window + self.windows
    }
}

/// The `drift` command's output (docs/FORMATS.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Path of the baseline file the chunks were compared with.
    pub baseline: String,
    pub chunks: Vec<ChunkReport>,
    /// What the verdicts rest on, and per chunk what fired, in words.
    pub notes: Vec<String>,
}

/// A window kept while its chunk is open.
#[derive(Debug, Clone)]
struct KeptWindow {
    features: WindowFeatures,
    raw: Vec<f32>,
    probabilities: Vec<f32>,
    true_label: Option<usize>,
}

/// Watches a stream of windows: closes a [`ChunkReport`] every `chunk_windows` windows and can report on the most
/// recent `chunk_windows` windows at any time ([`DriftMonitor::rolling`]).
#[derive(Debug, Clone)]
pub struct DriftMonitor {
    baseline: Arc<Baseline>,
    summary: BaselineSummary,
    layout: SensorLayout,
    config: DriftConfig,
    /// Sorted baseline samples per channel, as f64.
    baseline_samples: Vec<Vec<f64>>,
    /// The last `chunk_windows` windows.
    recent: VecDeque<KeptWindow>,
    /// Windows pushed since the last chunk closed.
    open: usize,
    pushed: usize,
    closed: Vec<ChunkReport>,
}

impl DriftMonitor {
    /// A monitor comparing against `baseline`. Fails when `chunk_windows` is 0.
    pub fn new(baseline: impl Into<Arc<Baseline>>, config: DriftConfig) -> Result<DriftMonitor, DriftError> {
        if config.chunk_windows == 0 {
            return Err(DriftError::Config("a chunk needs at least one window (`--chunk` was 0)".to_string()));
        }
        let baseline: Arc<Baseline> = baseline.into();
        let baseline_samples =
            baseline.channel_stats.iter().map(|c| c.sample.iter().map(|&v| f64::from(v)).collect()).collect();
        Ok(DriftMonitor {
            summary: BaselineSummary::new(&baseline, &config.input),
            layout: baseline.sensor_layout(),
            baseline_samples,
            config,
            // Grows as windows come: a chunk as large as a whole file (the service's uploads) allocates nothing up front.
            recent: VecDeque::with_capacity(config.chunk_windows.min(1024)),
            open: 0,
            pushed: 0,
            closed: Vec::new(),
            baseline,
        })
    }

    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    pub fn config(&self) -> &DriftConfig {
        &self.config
    }

    /// Windows pushed so far.
    pub fn windows_seen(&self) -> usize {
        self.pushed
    }

    /// Windows in the chunk that is still open.
    pub fn open_windows(&self) -> usize {
        self.open
    }

    /// Chunks closed so far, oldest first.
    pub fn closed_chunks(&self) -> &[ChunkReport] {
        &self.closed
    }

    /// Adds one window; returns the chunk it closed, if any. A window that does not fit the baseline's shape is
    /// refused with a message naming its index and the problem.
    pub fn push(&mut self, observation: WindowObservation<'_>) -> Result<Option<ChunkReport>, DriftError> {
        let b = &self.baseline;
        check_observation(self.pushed, &observation, b.window, b.channels.len(), b.classes.len())?;
        let features =
            WindowFeatures::compute(observation.raw, b.channels.len(), observation.probabilities, &self.layout);
        if self.recent.len() == self.config.chunk_windows {
            self.recent.pop_front();
        }
        self.recent.push_back(KeptWindow {
            features,
            raw: observation.raw.to_vec(),
            probabilities: observation.probabilities.to_vec(),
            true_label: observation.true_label,
        });
        self.pushed += 1;
        self.open += 1;
        if self.open == self.config.chunk_windows {
            return Ok(Some(self.close_open_chunk()));
        }
        Ok(None)
    }

    /// Closes the open chunk even though it is short (end of a file); `None` when it is empty.
    pub fn finish(&mut self) -> Option<ChunkReport> {
        (self.open > 0).then(|| self.close_open_chunk())
    }

    fn close_open_chunk(&mut self) -> ChunkReport {
        let skip = self.recent.len() - self.open;
        let start = self.pushed - self.open;
        let report = self.report_on(start, self.recent.iter().skip(skip));
        self.open = 0;
        self.closed.push(report.clone());
        report
    }

    /// The most recent `chunk_windows` windows (fewer at the start) judged like a chunk: the GUI's "current"
    /// state. `None` before the first window. This recomputes every statistic (tens of milliseconds for a full
    /// chunk), so call it when the view needs it, not for every window.
    pub fn rolling(&self) -> Option<ChunkReport> {
        (!self.recent.is_empty()).then(|| self.report_on(self.pushed - self.recent.len(), self.recent.iter()))
    }

    /// Everything closed so far as the `drift` command's report; `baseline_path` is written as given.
    pub fn report(&self, baseline_path: &str) -> DriftReport {
        let b = &self.baseline;
        let mut notes = vec![
            format!(
                "baseline: {} reference windows of model {} {} ({} windows kept for the sensor checks)",
                b.windows,
                b.model,
                b.model_version,
                b.window_features.len()
            ),
            format!(
                "prediction_drift: js_distance of the predicted-class shares above {}; input_drift: a sensor check \
                 fired (accelerometer magnitude, gravity direction about z, noise floor, gyroscope offset); no \
                 verdict under {} windows",
                self.config.js_threshold, self.config.min_verdict_windows
            ),
        ];
        notes.push(match &b.reference_performance {
            Some(r) => format!(
                "performance: label-free estimate (CBPE) of accuracy and macro-F1 per chunk from the probabilities; on \
                 the baseline's {} labeled reference windows the model had accuracy {:.3}, macro-F1 {:.3} and \
                 calibration error (ECE, {} bins) {:.3}: {}",
                r.windows,
                r.accuracy,
                r.macro_f1,
                r.ece_bins,
                r.ece,
                if r.ece <= super::estimate::MAX_REFERENCE_ECE {
                    "calibrated enough to trust the estimate where no input drift is found".to_string()
                } else {
                    format!(
                        "above {}, so no estimate is trusted (a temperature in the model card can fix this)",
                        super::estimate::MAX_REFERENCE_ECE
                    )
                }
            ),
            None => "performance: label-free estimate (CBPE) per chunk, never trusted with this baseline: it has no \
                     reference calibration (build it from labeled reference data)"
                .to_string(),
        });
        if self.layout.accel.is_none() || self.layout.gyro.is_none() {
            notes.push(format!(
                "sensor checks limited: the channels {:?} do not name {} axes x, y, z (e.g. Ax/acc_x, Gx/gyro_x)",
                b.channels,
                match (self.layout.accel, self.layout.gyro) {
                    (None, None) => "accelerometer or gyroscope",
                    (None, Some(_)) => "accelerometer",
                    _ => "gyroscope",
                }
            ));
        }
        for chunk in &self.closed {
            for note in &chunk.notes {
                notes.push(format!("windows {}–{}: {note}", chunk.start_window, chunk.end_window() - 1));
            }
        }
        DriftReport { baseline: baseline_path.to_string(), chunks: self.closed.clone(), notes }
    }

    fn report_on<'w>(&self, start_window: usize, windows: impl Iterator<Item = &'w KeptWindow> + Clone) -> ChunkReport {
        let b = &self.baseline;
        let k = b.classes.len();
        let features: Vec<&WindowFeatures> = windows.clone().map(|w| &w.features).collect();
        let n = features.len();
        let mut counts = vec![0u64; k];
        for f in &features {
            if let Some(c) = counts.get_mut(f.class) {
                *c += 1;
            }
        }
        let class_distribution: Vec<f64> = counts.iter().map(|&c| c as f64 / n.max(1) as f64).collect();
        let baseline_distribution = b.predicted_distribution.clone();
        let js = js_distance(&baseline_distribution, &class_distribution).unwrap_or(f64::NAN);
        let class_psi = psi(&baseline_distribution, &class_distribution).unwrap_or(f64::NAN);
        let chi2_p = super::class_counts_chi2_p(&counts, &b.predicted_counts).unwrap_or(f64::NAN);
        let mean_confidence = features.iter().map(|f| f64::from(f.confidence)).sum::<f64>() / n.max(1) as f64;
        let low_confidence_share =
            features.iter().filter(|f| f64::from(f.confidence) < b.low_confidence_threshold).count() as f64
                / n.max(1) as f64;
        let channels = self.channel_drift(windows.clone());

        let mut notes = Vec::new();
        let verdict = n >= self.config.min_verdict_windows;
        let evidence = evaluate(&self.summary, &features, &self.config.input);
        let prediction_drift = verdict && js > self.config.js_threshold;
        let input_drift = verdict && !evidence.fired.is_empty();
        if !verdict {
            notes.push(format!(
                "only {n} windows: no verdict under {} (both flags false)",
                self.config.min_verdict_windows
            ));
        } else {
            if prediction_drift {
                notes.push(format!(
                    "predicted classes drifted: js_distance {js:.3} > {} (most changed: {})",
                    self.config.js_threshold,
                    most_changed_classes(&b.classes, &baseline_distribution, &class_distribution)
                ));
            }
            notes.extend(evidence.notes.iter().cloned());
        }
        let performance = estimate_performance(
            windows.map(|w| (w.probabilities.as_slice(), w.true_label)),
            k,
            EstimateContext {
                input_drift,
                reference: b.reference_performance.as_ref(),
                min_windows: self.config.min_verdict_windows,
            },
        );
        ChunkReport {
            start_window,
            windows: n,
            class_distribution,
            baseline_distribution,
            js_distance: js,
            psi: class_psi,
            chi2_p,
            mean_confidence,
            low_confidence_share,
            channels,
            prediction_drift,
            input_drift,
            evidence,
            performance,
            notes,
        }
    }

    fn channel_drift<'w>(&self, windows: impl Iterator<Item = &'w KeptWindow> + Clone) -> Vec<ChannelDrift> {
        let b = &self.baseline;
        let n_channels = b.channels.len();
        b.channel_stats
            .iter()
            .enumerate()
            .map(|(c, base)| {
                let mut values: Vec<f64> = windows
                    .clone()
                    .flat_map(|w| w.raw.iter().skip(c).step_by(n_channels).map(|&v| f64::from(v)))
                    .collect();
                values.sort_by(f64::total_cmp);
                let count = values.len().max(1) as f64;
                let mean = values.iter().sum::<f64>() / count;
                let std = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count).sqrt();
                let reference = &self.baseline_samples[c];
                let (ks_statistic, ks_p, wasserstein) = if values.is_empty() || reference.is_empty() {
                    (f64::NAN, f64::NAN, f64::NAN)
                } else {
                    let (d, p) = ks_2samp_sorted(&values, reference);
                    (d, p, wasserstein_sorted(&values, reference))
                };
                let wasserstein_std = if base.std > 0.0 {
                    wasserstein / base.std
                } else if wasserstein == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                };
                let mut bins = vec![0u64; base.psi_edges.len() + 1];
                for &v in &values {
                    if let Some(slot) = bins.get_mut(psi_bin(&base.psi_edges, v)) {
                        *slot += 1;
                    }
                }
                let bins: Vec<f64> = bins.iter().map(|&v| v as f64).collect();
                ChannelDrift {
                    channel: base.channel.clone(),
                    mean,
                    std,
                    wasserstein_std,
                    ks_statistic,
                    ks_p,
                    psi: psi(&base.psi_shares, &bins).unwrap_or(f64::NAN),
                }
            })
            .collect()
    }
}

/// The (up to three) classes whose share moved most, as "name 12%→40%".
fn most_changed_classes(classes: &[String], before: &[f64], after: &[f64]) -> String {
    let mut order: Vec<usize> = (0..classes.len().min(before.len()).min(after.len())).collect();
    order.sort_by(|&a, &b| (after[b] - before[b]).abs().total_cmp(&(after[a] - before[a]).abs()));
    order
        .iter()
        .take(3)
        .map(|&c| format!("{} {:.0}%→{:.0}%", classes[c], 100.0 * before[c], 100.0 * after[c]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `drift` command on a whole stream: chunks of `config.chunk_windows` windows (the last one may be shorter)
/// compared with `baseline`. `baseline_path` is written into the report as given.
pub fn drift_report<'a>(
    baseline: impl Into<Arc<Baseline>>,
    baseline_path: &str,
    config: DriftConfig,
    windows: impl IntoIterator<Item = WindowObservation<'a>>,
) -> Result<DriftReport, DriftError> {
    let mut monitor = DriftMonitor::new(baseline, config)?;
    for observation in windows {
        monitor.push(observation)?;
    }
    monitor.finish();
    if monitor.windows_seen() == 0 {
        return Err(DriftError::NoWindows { what: "the data to check for drift".to_string() });
    }
    Ok(monitor.report(baseline_path))
}
