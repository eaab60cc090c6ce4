//! Cutting a recording into model windows (SPEC §3): `card.window` rows, a new window every `card.step()` rows,
//! never across a segment break (user change, timestamp gap, step back in time) unless the thesis' contiguous mode
//! is asked for; each window's true label is its majority label, ties to the smallest class index.

use super::load::{GAP_PERIODS, IGNORED_LABEL};
use super::recording::{Recording, Window, Windowing, WindowingMode};
use crate::model::ModelCard;

/// The rows `[start, end)` of each segment of a recording.
pub fn segments(rec: &Recording, sample_rate_hz: f64, mode: WindowingMode) -> Vec<(usize, usize)> {
    let n = rec.len();
    if n == 0 {
        return Vec::new();
    }
    if mode == WindowingMode::Contiguous {
        return vec![(0, n)];
    }
    let max_step = GAP_PERIODS / sample_rate_hz;
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..n {
        let user_change = rec.users.as_ref().is_some_and(|u| u.get(i) != u.get(i - 1));
        let dt = match (rec.time.get(i), rec.time.get(i - 1)) {
            (Some(t), Some(prev)) => t - prev,
            _ => 0.0,
        };
        // `!(dt >= 0)` also breaks on a NaN step.
        let time_break = !(0.0..=max_step).contains(&dt);
        if user_change || time_break {
            out.push((start, i));
            start = i;
        }
    }
    out.push((start, n));
    out
}

/// The majority label of a run of labels over `n_classes` classes: ties go to the smallest index; ignored labels
/// (`IGNORED_LABEL`, or any index outside the classes) do not vote; `None` when nothing voted.
/// `counts` is scratch space, resized as needed.
pub fn majority_label(labels: impl IntoIterator<Item = u16>, n_classes: usize, counts: &mut Vec<u32>) -> Option<usize> {
    counts.clear();
    counts.resize(n_classes, 0);
    for l in labels {
        if l != IGNORED_LABEL
            && let Some(c) = counts.get_mut(usize::from(l))
        {
            *c += 1;
        }
    }
    let mut best: Option<(usize, u32)> = None;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 && best.is_none_or(|(_, b)| c > b) {
            best = Some((i, c));
        }
    }
    best.map(|(i, _)| i)
}

/// Cuts a recording into windows for a model (SPEC §3).
pub fn window(rec: &Recording, card: &ModelCard, mode: WindowingMode) -> Windowing {
    let size = card.window.max(1);
    let step = card.step().max(1);
    let segs = segments(rec, card.sample_rate_hz, mode);

    // Prefix count of rows holding a non-finite value, so each window is checked in O(1).
    let n = rec.len();
    let mut bad_before = Vec::with_capacity(n + 1);
    bad_before.push(0u32);
    let mut bad_so_far = 0u32;
    for r in 0..n {
        let finite = rec.channels.iter().all(|c| c.get(r).is_some_and(|v| v.is_finite()))
            && rec.time.get(r).is_some_and(|t| t.is_finite());
        bad_so_far += u32::from(!finite);
        bad_before.push(bad_so_far);
    }
    let bad_in = |start: usize, end: usize| match (bad_before.get(end), bad_before.get(start)) {
        (Some(e), Some(s)) => e > s,
        _ => true,
    };

    let mut out = Windowing { segments: segs.len(), ..Windowing::default() };
    let mut counts = Vec::new();
    for (seg_index, &(seg_start, seg_end)) in segs.iter().enumerate() {
        if seg_end - seg_start < size {
            out.short_segments += 1;
            continue;
        }
        let mut start = seg_start;
        while start + size <= seg_end {
            let end = start + size;
            if bad_in(start, end) {
                out.skipped_non_finite += 1;
            } else {
                let label = rec.labels.as_ref().and_then(|labels| {
                    let run = labels.get(start..end).unwrap_or_default();
                    majority_label(run.iter().copied(), card.classes.len(), &mut counts)
                });
                let user = rec.users.as_ref().and_then(|u| u.get(start).copied());
                out.windows.push(Window { start, end, label, user, segment: seg_index as u32 });
            }
            start += step;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_ties_go_to_the_smallest_index() {
        let mut counts = Vec::new();
        assert_eq!(majority_label([2, 1, 2, 1], 3, &mut counts), Some(1));
        assert_eq!(majority_label([2, 2, 1], 3, &mut counts), Some(2));
        assert_eq!(majority_label([IGNORED_LABEL, IGNORED_LABEL, 0], 3, &mut counts), Some(0));
        assert_eq!(majority_label([IGNORED_LABEL, 7], 3, &mut counts), None);
        assert_eq!(majority_label([], 3, &mut counts), None);
    }
}
