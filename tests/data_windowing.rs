//! Windowing details the numpy reference (data_fixtures.rs) does not reach: non-finite windows, the live
//! windower against the file windower, and the scaler's refusals.

use std::path::Path;

use har_monitor::data::{
    self, LoadOptions, Recording, ScaleError, Scaler, StreamError, StreamWindower, Window, WindowingMode,
};
use har_monitor::model::ModelCard;

fn small_card(window: usize, step: usize) -> ModelCard {
    let json = format!(
        r#"{{"classes": ["a", "b", "c"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"], "sample_rate_hz": 50.0,
            "window": {window}, "step": {step},
            "scaler": {{"mean": [1,2,3,4,5,6], "scale": [2,2,2,4,4,4]}}}}"#
    );
    ModelCard::from_json(&json, Path::new("t.model.json")).unwrap()
}

/// `n` rows at 50 Hz, channel c of row r = r + c/10.
fn ramp(n: usize) -> Recording {
    Recording {
        source: "ramp".into(),
        channel_names: ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"].iter().map(|s| s.to_string()).collect(),
        channels: (0..6).map(|c| (0..n).map(|r| r as f32 + c as f32 / 10.0).collect()).collect(),
        time: (0..n).map(|r| r as f64 * 0.02).collect(),
        file_row: (0..n as u32).collect(),
        ..Recording::default()
    }
}

fn starts(windows: &[Window]) -> Vec<usize> {
    windows.iter().map(|w| w.start).collect()
}

#[test]
fn windows_with_a_non_finite_value_are_skipped_and_counted() {
    let mut rec = ramp(12);
    rec.channels[3][5] = f32::NAN;
    let w = data::window(&rec, &small_card(4, 2), WindowingMode::Segments);
    // Starts 0, 2, 4, 6, 8; row 5 lies in the windows starting at 2 and 4.
    assert_eq!(starts(&w.windows), vec![0, 6, 8]);
    assert_eq!(w.skipped_non_finite, 2);
    assert_eq!(w.segments, 1);
}

#[test]
fn short_and_empty_recordings_give_no_windows() {
    let w = data::window(&ramp(3), &small_card(4, 2), WindowingMode::Segments);
    assert_eq!((w.windows.len(), w.segments, w.short_segments), (0, 1, 1));
    let w = data::window(&Recording::default(), &small_card(4, 2), WindowingMode::Contiguous);
    assert_eq!((w.windows.len(), w.segments), (0, 0));
    let w = data::window(&ramp(4), &small_card(4, 2), WindowingMode::Segments);
    assert_eq!(starts(&w.windows), vec![0]);
}

#[test]
fn contiguous_mode_crosses_gaps_and_user_changes() {
    let mut rec = ramp(10);
    for t in &mut rec.time[5..] {
        *t += 10.0;
    }
    rec.users = Some(vec![0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    rec.user_names = vec!["u1".into(), "u2".into()];
    let card = small_card(4, 2);
    let seg = data::window(&rec, &card, WindowingMode::Segments);
    // Segments: [0,3) user 1, [3,5) user 2, [5,10) after the gap.
    assert_eq!((seg.segments, starts(&seg.windows)), (3, vec![5]));
    let all = data::window(&rec, &card, WindowingMode::Contiguous);
    assert_eq!((all.segments, starts(&all.windows)), (1, vec![0, 2, 4, 6]));
    assert_eq!(all.windows[0].user, Some(0));
    assert_eq!(all.windows[1].user, Some(0), "the user of a window is the user of its first row");
    assert_eq!(all.windows[2].user, Some(1));
}

/// Pushes a whole recording through the live windower and checks each window against the file windower's.
fn stream_matches_file(file: &str, card: &ModelCard) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csv").join(file);
    let opts = LoadOptions { ignore_unknown_labels: true, ..LoadOptions::default() };
    let rec = data::load_csv(&path, card, &opts).unwrap().recording;
    let batch = data::window(&rec, card, WindowingMode::Segments);
    let scaler = Scaler::from_card(card);
    let size = card.window * card.channels.len();
    let (mut from_file, mut from_stream) = (vec![0.0; size], vec![0.0; size]);
    let mut live = StreamWindower::new(card);
    let mut emitted = 0;
    let mut row_values = Vec::new();
    for r in 0..rec.len() {
        row_values.clear();
        row_values.extend(rec.channels.iter().map(|c| c[r]));
        let label = rec.labels.as_ref().map(|l| l[r]);
        let Some(w) = live.push(rec.time[r], &row_values, label).unwrap() else { continue };
        let expected = &batch.windows[emitted];
        assert_eq!(w.first_sample as usize, expected.start, "{file}: window {emitted}");
        assert_eq!(w.label, expected.label, "{file}: window {emitted}");
        assert_eq!((w.t_start, w.t_end), (rec.time[expected.start], rec.time[expected.end - 1]));
        scaler.fill(&rec, expected, &mut from_file).unwrap();
        scaler.fill_rows(w.rows, &mut from_stream).unwrap();
        assert_eq!(from_stream, from_file, "{file}: window {emitted}");
        emitted += 1;
        assert_eq!(live.buffered(), card.window, "the ring holds exactly one window");
    }
    assert_eq!(emitted, batch.windows.len(), "{file}");
    emitted
}

#[test]
fn the_live_windower_cuts_the_same_windows_as_the_file_windower() {
    let cards: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csv/expected.json"))
            .unwrap(),
    )
    .unwrap();
    let card = |name: &str| ModelCard::from_json(&cards["cards"][name].to_string(), Path::new("c.json")).unwrap();
    // A gap and no labels; a gap, a step back in time (at each user change too) and ties; ignored labels.
    assert!(stream_matches_file("production_millig_ms.csv", &card("thesis")) >= 3);
    assert!(stream_matches_file("labeled_thesis.csv", &card("thesis")) >= 10);
    assert!(stream_matches_file("ignored_labels.csv", &card("small")) >= 10);
}

#[test]
fn the_live_windower_restarts_on_non_finite_samples_and_checks_channel_count() {
    let card = small_card(4, 2);
    let mut live = StreamWindower::new(&card);
    let ok = [1.0f32; 6];
    let mut firsts = Vec::new();
    for i in 0..12u32 {
        let mut v = ok;
        if i == 5 {
            v[2] = f32::INFINITY;
        }
        if let Some(w) = live.push(f64::from(i) * 0.02, &v, None).unwrap() {
            firsts.push(w.first_sample);
            assert_eq!(w.rows.len(), 24);
            assert_eq!(w.label, None);
        }
    }
    // Samples 0..5 give the window at 0 (and one at 2 would need sample 5); after the bad sample 5, the run restarts
    // at 6: windows at 6 and 8.
    assert_eq!(firsts, vec![0, 6, 8]);
    assert_eq!(live.breaks().non_finite, 1);
    assert_eq!(live.samples_pushed(), 12);
    assert_eq!(live.push(1.0, &[1.0; 5], None).unwrap_err(), StreamError::ChannelCount { expected: 6, found: 5 });
}

#[test]
fn the_scaler_refuses_mismatched_buffers_instead_of_panicking() {
    let card = small_card(4, 2);
    let scaler = Scaler::from_card(&card);
    let rec = ramp(10);
    let w = Window { start: 0, end: 4, label: None, user: None, segment: 0 };
    let mut out = vec![0.0; 24];
    scaler.fill(&rec, &w, &mut out).unwrap();
    // Row 1, channel 3 (Gx): (1.3 - 4) / 4 in f64.
    assert_eq!(out[6 + 3], ((f64::from(1.3f32) - 4.0) / 4.0) as f32);
    assert!(matches!(scaler.fill(&rec, &w, &mut [0.0; 23]), Err(ScaleError::OutputLength { .. })));
    let far = Window { start: 8, end: 12, ..w };
    assert!(matches!(scaler.fill(&rec, &far, &mut out), Err(ScaleError::OutOfRange { .. })));
    let mut three = rec.clone();
    three.channels.truncate(3);
    assert!(matches!(scaler.fill(&three, &w, &mut out), Err(ScaleError::Channels { .. })));
    assert!(matches!(scaler.fill_rows(&[0.0; 7], &mut [0.0; 7]), Err(ScaleError::RaggedRows { .. })));
}
