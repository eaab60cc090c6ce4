//! Fuzzes the sensor-CSV loader, then windows and scales whatever it loaded. Checks, besides "never panics":
//! an error names the file; `rows_read == rows_kept + bad_rows`; no non-finite value is kept; every kept row,
//! label, user and window is in range. The first input byte picks the load options.

#![no_main]

use libfuzzer_sys::fuzz_target;

include!("app_modules.rs");

use data::{IGNORED_LABEL, LoadOptions, Scaler, WindowingMode};
use model::{AccelUnit, ModelCard};

fn card() -> ModelCard {
    let json = r#"{"classes": ["sitting", "standing", "smoking"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
        "sample_rate_hz": 50.0, "window": 4, "step": 2,
        "scaler": {"mean": [0,0,9,0,0,0], "scale": [1,1,1,10,10,10]}}"#;
    match ModelCard::from_json(json, std::path::Path::new("fuzz.model.json")) {
        Ok(card) => card,
        Err(e) => panic!("the fuzz card is invalid: {e}"),
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, text)) = input.split_first() else { return };
    let accel_unit = match first & 7 {
        1 => Some(AccelUnit::AsIs),
        2 => Some(AccelUnit::G),
        3 => Some(AccelUnit::MilliG),
        4 => Some(AccelUnit::MetersPerSecond2),
        _ => None,
    };
    let opts = LoadOptions { accel_unit, ignore_unknown_labels: first & 8 != 0 };
    let card = card();
    let loaded = match data::load_csv_from_reader(text, "fuzz.csv", &card, &opts) {
        Ok(loaded) => loaded,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("fuzz.csv"), "error without the file name: {msg}");
            return;
        }
    };
    let (rec, r) = (&loaded.recording, &loaded.report);
    assert_eq!(r.rows_read, r.rows_kept + r.bad_rows);
    assert!(r.rows_kept > 0);
    assert_eq!(rec.len(), r.rows_kept);
    assert_eq!(r.bad_row_details.len(), r.bad_rows.min(data::MAX_BAD_ROW_DETAILS));
    assert_eq!(r.bad_row_counts().iter().map(|(_, n)| n).sum::<usize>(), r.bad_rows);
    assert_eq!(rec.channels.len(), card.channels.len());
    for column in &rec.channels {
        assert_eq!(column.len(), rec.len());
        assert!(column.iter().all(|v| v.is_finite()), "a non-finite value was kept");
    }
    assert!(rec.time.iter().all(|t| t.is_finite()));
    assert_eq!(rec.file_row.len(), rec.len());
    assert!(rec.file_row.windows(2).all(|w| w[0] < w[1]));
    if let Some(labels) = &rec.labels {
        assert_eq!(labels.len(), rec.len());
        assert!(labels.iter().all(|&l| l == IGNORED_LABEL || usize::from(l) < card.classes.len()));
        assert_eq!(labels.iter().filter(|&&l| l == IGNORED_LABEL).count(), r.ignored_label_rows);
    }
    if let Some(users) = &rec.users {
        assert_eq!(users.len(), rec.len());
        assert!(users.iter().all(|&u| (u as usize) < rec.user_names.len()));
    }
    let _ = r.to_string();
    let scaler = Scaler::from_card(&card);
    let mut out = vec![0.0; card.window * card.channels.len()];
    for mode in [WindowingMode::Segments, WindowingMode::Contiguous] {
        let w = data::window(rec, &card, mode);
        for win in &w.windows {
            assert_eq!(win.end - win.start, card.window);
            assert!(win.end <= rec.len());
            assert!((win.segment as usize) < w.segments);
            assert!(scaler.fill(rec, win, &mut out).is_ok());
        }
    }
    let mut live = data::StreamWindower::new(&card);
    let mut row = vec![0.0f32; card.channels.len()];
    for i in 0..rec.len() {
        for (slot, column) in row.iter_mut().zip(&rec.channels) {
            *slot = column[i];
        }
        if let Ok(Some(w)) = live.push(rec.time[i], &row, None) {
            assert_eq!(w.rows.len(), card.window * card.channels.len());
        }
    }
});
