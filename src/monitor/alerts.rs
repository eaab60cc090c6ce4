//! Alerts for the supervisor: a watched behaviour held for k consecutive confident windows, a stretch of low
//! confidence, and drift. One [`AlertEngine`] per live session, fed every prediction in order.

use serde::{Deserialize, Serialize};

use crate::classes::DEFAULT_WATCHED;

/// What the supervisor wants to be told about. Persisted with the GUI settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertConfig {
    /// Class names that raise an alert when they persist.
    pub watched: Vec<String>,
    /// Consecutive windows a watched behaviour must hold.
    pub consecutive: usize,
    /// Minimum confidence of each of those windows.
    pub min_confidence: f32,
    /// A window below this confidence is "low confidence".
    pub low_confidence: f32,
    /// Consecutive low-confidence windows that make a stretch worth flagging.
    pub low_confidence_windows: usize,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            watched: DEFAULT_WATCHED.iter().map(|s| s.to_string()).collect(),
            consecutive: 3,
            min_confidence: 0.6,
            low_confidence: 0.5,
            low_confidence_windows: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    /// A watched behaviour persisted.
    Behaviour,
    /// Confidence stayed low.
    LowConfidence,
    /// The predicted class mix moved away from the baseline.
    PredictionDrift,
    /// The sensor or its mounting changed.
    InputDrift,
}

impl AlertKind {
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Behaviour => "behaviour",
            AlertKind::LowConfidence => "low confidence",
            AlertKind::PredictionDrift => "prediction drift",
            AlertKind::InputDrift => "input drift",
        }
    }
}

/// One alert, time-stamped on the source clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    /// Source time (seconds) when the alert fired.
    pub time: f64,
    /// Class index for behaviour alerts.
    pub class: Option<usize>,
    pub message: String,
}

/// Follows the prediction stream and says when an alert fires. Each run fires once; it re-arms when the run ends.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    config: AlertConfig,
    classes: Vec<String>,
    watched: Vec<bool>,
    run_class: Option<usize>,
    run_len: usize,
    run_fired: bool,
    low_run: usize,
    low_fired: bool,
}

impl AlertEngine {
    pub fn new(config: AlertConfig, classes: &[String]) -> Self {
        let watched = classes.iter().map(|c| config.watched.iter().any(|w| w == c)).collect();
        AlertEngine {
            config,
            classes: classes.to_vec(),
            watched,
            run_class: None,
            run_len: 0,
            run_fired: false,
            low_run: 0,
            low_fired: false,
        }
    }

    pub fn config(&self) -> &AlertConfig {
        &self.config
    }

    /// Forgets the current runs (after a seek or a new source).
    pub fn reset(&mut self) {
        self.run_class = None;
        self.run_len = 0;
        self.run_fired = false;
        self.low_run = 0;
        self.low_fired = false;
    }

    /// Feeds one prediction (`class`, `confidence`) of the window ending at `time`; returns the alerts it fires.
    pub fn observe(&mut self, time: f64, class: usize, confidence: f32) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let confident = confidence >= self.config.min_confidence;
        if confident && self.run_class == Some(class) {
            self.run_len += 1;
        } else if confident {
            self.run_class = Some(class);
            self.run_len = 1;
            self.run_fired = false;
        } else {
            self.run_class = None;
            self.run_len = 0;
            self.run_fired = false;
        }
        let k = self.config.consecutive.max(1);
        if !self.run_fired && self.run_len >= k && self.watched.get(class).copied().unwrap_or(false) {
            self.run_fired = true;
            let name = self.classes.get(class).map(String::as_str).unwrap_or("?");
            alerts.push(Alert {
                kind: AlertKind::Behaviour,
                time,
                class: Some(class),
                message: format!(
                    "{name} for {} consecutive windows (confidence ≥ {:.0}%)",
                    self.run_len,
                    self.config.min_confidence * 100.0
                ),
            });
        }
        if confidence < self.config.low_confidence {
            self.low_run += 1;
            let m = self.config.low_confidence_windows.max(1);
            if !self.low_fired && self.low_run >= m {
                self.low_fired = true;
                alerts.push(Alert {
                    kind: AlertKind::LowConfidence,
                    time,
                    class: None,
                    message: format!(
                        "confidence below {:.0}% for {} consecutive windows",
                        self.config.low_confidence * 100.0,
                        self.low_run
                    ),
                });
            }
        } else {
            self.low_run = 0;
            self.low_fired = false;
        }
        alerts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classes::THESIS_CLASSES;

    fn engine() -> AlertEngine {
        let classes: Vec<String> = THESIS_CLASSES.iter().map(|s| s.to_string()).collect();
        AlertEngine::new(AlertConfig::default(), &classes)
    }

    const NAIL_BITING: usize = 6;
    const SITTING: usize = 8;

    #[test]
    fn watched_behaviour_fires_once_after_k_confident_windows() {
        let mut e = engine();
        assert!(e.observe(2.0, NAIL_BITING, 0.9).is_empty());
        assert!(e.observe(4.0, NAIL_BITING, 0.8).is_empty());
        let fired = e.observe(6.0, NAIL_BITING, 0.7);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, AlertKind::Behaviour);
        assert_eq!(fired[0].class, Some(NAIL_BITING));
        assert!(fired[0].message.contains("nail_biting"));
        assert!(e.observe(8.0, NAIL_BITING, 0.9).is_empty(), "a run fires once");
        // The run breaks, then a new run fires again.
        e.observe(10.0, SITTING, 0.9);
        for t in [12.0, 14.0] {
            assert!(e.observe(t, NAIL_BITING, 0.9).is_empty());
        }
        assert_eq!(e.observe(16.0, NAIL_BITING, 0.9).len(), 1);
    }

    #[test]
    fn unwatched_or_unconfident_runs_do_not_fire() {
        let mut e = engine();
        for i in 0..10 {
            assert!(e.observe(i as f64, SITTING, 0.99).is_empty(), "sitting is not watched");
        }
        let mut e = engine();
        for i in 0..4 {
            // 0.55 is below the 0.6 threshold but above the low-confidence mark.
            assert!(e.observe(i as f64, NAIL_BITING, 0.55).is_empty());
        }
    }

    #[test]
    fn low_confidence_stretch_is_flagged_once() {
        let mut e = engine();
        let mut fired = Vec::new();
        for i in 0..8 {
            fired.extend(e.observe(i as f64, i % 11, 0.3));
        }
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, AlertKind::LowConfidence);
        assert_eq!(fired[0].time, 4.0, "fires on the fifth low window");
    }
}
