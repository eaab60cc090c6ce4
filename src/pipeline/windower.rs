//! Cuts windows out of a live sample stream: a ring of the last `window` samples of the current segment that
//! yields a window every `step` samples. A segment break (gap, user change, seek) starts over.

use std::collections::VecDeque;

/// A window cut from a stream, in physical units, `[t][c]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveWindow {
    pub t_start: f64,
    pub t_end: f64,
    pub raw: Vec<f32>,
    /// Majority true label (ties to the smallest class index), when labels are known.
    pub true_label: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct LiveWindower {
    window: usize,
    step: usize,
    channels: usize,
    period: f64,
    time: VecDeque<f64>,
    /// Samples, `channels` floats each, oldest first.
    values: VecDeque<f32>,
    labels: VecDeque<u16>,
    since_last: usize,
}

impl LiveWindower {
    pub fn new(window: usize, step: usize, channels: usize, sample_rate_hz: f64) -> Self {
        LiveWindower {
            window: window.max(1),
            step: step.max(1),
            channels,
            period: 1.0 / sample_rate_hz,
            time: VecDeque::with_capacity(window),
            values: VecDeque::with_capacity(window * channels),
            labels: VecDeque::with_capacity(window),
            since_last: 0,
        }
    }

    /// Starts a new segment: nothing buffered survives.
    pub fn reset(&mut self) {
        self.time.clear();
        self.values.clear();
        self.labels.clear();
        self.since_last = 0;
    }

    /// Adds one sample (`values.len() == channels`); returns a window when one is complete.
    pub fn push(&mut self, t: f64, values: &[f32], label: Option<u16>) -> Option<LiveWindow> {
        if self.time.len() == self.window {
            self.time.pop_front();
            self.labels.pop_front();
            for _ in 0..self.channels {
                self.values.pop_front();
            }
        }
        self.time.push_back(t);
        self.values.extend(values.iter().copied().take(self.channels));
        self.labels.push_back(label.unwrap_or(u16::MAX));
        self.since_last += 1;
        // The first window is due once the buffer is full; later ones every `step` samples.
        let due = self.time.len() == self.window && (self.since_last >= self.step || self.since_last == self.window);
        if !due {
            return None;
        }
        self.since_last = 0;
        let raw: Vec<f32> = self.values.iter().copied().collect();
        let true_label = label.and(majority(&self.labels));
        Some(LiveWindow {
            t_start: *self.time.front()?,
            t_end: *self.time.back()? + self.period,
            raw,
            true_label,
        })
    }
}

/// Majority label, ties to the smallest index; `u16::MAX` (unknown) does not vote.
fn majority(labels: &VecDeque<u16>) -> Option<usize> {
    let mut counts: Vec<usize> = Vec::new();
    for &l in labels {
        if l == u16::MAX {
            continue;
        }
        let i = l as usize;
        if counts.len() <= i {
            counts.resize(i + 1, 0);
        }
        counts[i] += 1;
    }
    let best = counts.iter().copied().max().filter(|&c| c > 0)?;
    counts.iter().position(|&c| c == best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_window_after_window_samples_then_every_step() {
        let mut w = LiveWindower::new(4, 2, 1, 1.0);
        let emitted: Vec<usize> =
            (0..10).filter(|&i| w.push(i as f64, &[i as f32], None).is_some()).collect();
        // Windows end at samples 3, 5, 7, 9: starts 0, 2, 4, 6 like the file windowing with step 2.
        assert_eq!(emitted, vec![3, 5, 7, 9]);
    }

    #[test]
    fn window_holds_the_last_samples_in_order_and_reset_restarts() {
        let mut w = LiveWindower::new(3, 3, 2, 50.0);
        let mut last = None;
        for i in 0..6 {
            if let Some(win) = w.push(i as f64, &[i as f32, -(i as f32)], Some((i % 2) as u16)) {
                last = Some(win);
            }
        }
        let win = last.unwrap();
        assert_eq!(win.raw, vec![3.0, -3.0, 4.0, -4.0, 5.0, -5.0]);
        assert_eq!(win.t_start, 3.0);
        assert_eq!(win.true_label, Some(1), "labels 1,0,1 → 1");
        w.reset();
        assert!(w.push(10.0, &[0.0, 0.0], None).is_none());
    }

    #[test]
    fn majority_ties_go_to_the_smallest_index() {
        let labels: VecDeque<u16> = [3, 1, 3, 1, u16::MAX, u16::MAX, u16::MAX].into_iter().collect();
        assert_eq!(majority(&labels), Some(1));
    }
}
