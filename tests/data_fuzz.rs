//! Property tests of the loader on arbitrary bytes and on CSV-like text: it never panics, an error names the file,
//! and every data line is either kept or reported (`rows_read == rows_kept + bad_rows`, and no line goes missing).
//! Windowing and scaling whatever loaded must not panic either. The cargo-fuzz target in fuzz/ runs the same checks.

use std::path::Path;

use har_monitor::data::{self, IGNORED_LABEL, LoadOptions, Loaded, Scaler, WindowingMode};
use har_monitor::model::{AccelUnit, ModelCard};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn card() -> ModelCard {
    ModelCard::from_json(
        r#"{"classes": ["sitting", "standing", "smoking"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
            "sample_rate_hz": 50.0, "window": 4, "step": 2,
            "scaler": {"mean": [0,0,9,0,0,0], "scale": [1,1,1,10,10,10]}}"#,
        Path::new("fuzz.model.json"),
    )
    .unwrap()
}

fn options() -> impl Strategy<Value = LoadOptions> {
    let unit = prop_oneof![
        Just(None),
        Just(Some(AccelUnit::AsIs)),
        Just(Some(AccelUnit::G)),
        Just(Some(AccelUnit::MilliG)),
        Just(Some(AccelUnit::MetersPerSecond2)),
    ];
    (unit, any::<bool>())
        .prop_map(|(accel_unit, ignore_unknown_labels)| LoadOptions { accel_unit, ignore_unknown_labels })
}

/// Everything that must hold of a successful load, and of windowing and scaling it.
fn check_loaded(loaded: &Loaded, card: &ModelCard) -> Result<(), TestCaseError> {
    let (rec, r) = (&loaded.recording, &loaded.report);
    prop_assert_eq!(r.rows_read, r.rows_kept + r.bad_rows);
    prop_assert!(r.rows_kept > 0);
    prop_assert_eq!(rec.len(), r.rows_kept);
    prop_assert_eq!(r.bad_row_details.len(), r.bad_rows.min(data::MAX_BAD_ROW_DETAILS));
    prop_assert_eq!(r.bad_row_counts().iter().map(|(_, n)| n).sum::<usize>(), r.bad_rows);
    prop_assert!(r.bad_row_details.windows(2).all(|w| w[0].line <= w[1].line));
    prop_assert_eq!(rec.channels.len(), card.channels.len());
    for column in &rec.channels {
        prop_assert_eq!(column.len(), rec.len());
        prop_assert!(column.iter().all(|v| v.is_finite()), "a non-finite value was kept");
    }
    prop_assert!(rec.time.iter().all(|t| t.is_finite()));
    prop_assert_eq!(rec.file_row.len(), rec.len());
    prop_assert!(rec.file_row.windows(2).all(|w| w[0] < w[1]));
    prop_assert!(rec.file_row.last().is_none_or(|&row| (row as usize) < r.rows_read));
    if let Some(labels) = &rec.labels {
        prop_assert_eq!(labels.len(), rec.len());
        prop_assert!(labels.iter().all(|&l| l == IGNORED_LABEL || usize::from(l) < card.classes.len()));
        prop_assert_eq!(labels.iter().filter(|&&l| l == IGNORED_LABEL).count(), r.ignored_label_rows);
    }
    if let Some(users) = &rec.users {
        prop_assert_eq!(users.len(), rec.len());
        prop_assert!(users.iter().all(|&u| (u as usize) < rec.user_names.len()));
    }
    let _ = r.to_string();
    let scaler = Scaler::from_card(card);
    let mut out = vec![0.0; card.window * card.channels.len()];
    for mode in [WindowingMode::Segments, WindowingMode::Contiguous] {
        let w = data::window(rec, card, mode);
        for win in &w.windows {
            prop_assert_eq!(win.end - win.start, card.window);
            prop_assert!(win.end <= rec.len());
            prop_assert!((win.segment as usize) < w.segments);
            prop_assert!(win.label.is_none_or(|l| l < card.classes.len()));
            prop_assert!(scaler.fill(rec, win, &mut out).is_ok());
        }
    }
    Ok(())
}

fn check(text: &[u8], opts: &LoadOptions) -> Result<Option<Loaded>, TestCaseError> {
    let card = card();
    match data::load_csv_from_reader(text, "fuzz.csv", &card, opts) {
        Ok(loaded) => {
            check_loaded(&loaded, &card)?;
            Ok(Some(loaded))
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains("fuzz.csv"), "error without the file name: {}", msg);
            Ok(None)
        }
    }
}

/// A field of CSV-like text: mostly plausible values, sometimes junk. No quotes or line breaks, so that every
/// non-empty line is one record.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-2000.0f64..2000.0).prop_map(|v| format!("{v:.3}")),
        2 => (0u64..100_000).prop_map(|v| v.to_string()),
        1 => (-20.0f64..20.0).prop_map(|v| format!("{v:.6}")),
        1 => prop::sample::select(vec![
            "NaN", "inf", "-inf", "", " ", "abc", "1e39", "-1e400", "1,5", "0x10", "+3", ".5", "5.", "1e-50",
            "sitting", "standing", "smoking", "walking", "Sitting", "1", "2", "ü", "2024-03-01T12:00:00.020Z",
            "2024-03-01 12:00:00", "2024-02-30T00:00:00Z", "3e38", "-3.4e38",
        ])
        .prop_map(str::to_string),
        1 => "[^\"\r\n]{0,8}",
    ]
}

/// A header naming the six channels in some spelling (now and then one is left out), some of the optional columns,
/// in any order.
fn header() -> impl Strategy<Value = Vec<String>> {
    let spellings = [
        ["Ax", "Ax_w", "acc_x", "ax"],
        ["Ay", "Ay_w", "accel_y", "AY"],
        ["Az", "Az_w", "acc_z", "accel_z"],
        ["Gx", "Gx_w", "gyro_x", "gx"],
        ["Gy", "Gy_w", "gyro_y", "GY"],
        ["Gz", "Gz_w", "gyro_z", "gz"],
    ];
    let channels = spellings.map(|s| prop::sample::select(s.to_vec()));
    let extras = prop::sample::subsequence(
        vec!["timestamp", "time", "activity", "label", "User", "subject", "note", "Ax", "class", ""],
        0..=4,
    );
    (channels, extras, prop::option::weighted(0.1, 0usize..6), any::<u64>()).prop_map(
        |(channels, extras, drop, seed)| {
            let mut cols: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
            if let Some(i) = drop {
                cols.remove(i);
            }
            cols.extend(extras.into_iter().map(str::to_string));
            // A deterministic shuffle from the case's seed.
            let mut state = seed | 1;
            for i in (1..cols.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                cols.swap(i, (state % (i as u64 + 1)) as usize);
            }
            cols
        },
    )
}

/// CSV-like text, and the 1-based line of each of its data lines that is not blank (each such line is one record).
fn csv_text() -> impl Strategy<Value = (String, Vec<u64>)> {
    let rows = prop::collection::vec((prop::collection::vec(field(), 0..14), any::<bool>()), 0..40);
    (header(), rows, prop::sample::select(vec![",", ";", "\t"]), any::<bool>(), any::<bool>()).prop_map(
        |(header, rows, delimiter, crlf, final_newline)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = header.join(delimiter);
            let mut record_lines = Vec::new();
            let mut line_number = 1;
            for (mut fields, well_formed) in rows {
                // Most rows have exactly as many fields as the header.
                if well_formed {
                    fields.resize(header.len(), "1.0".to_string());
                }
                let line = fields.join(delimiter);
                text += eol;
                text += &line;
                line_number += 1;
                // A line of blanks alone is not a row.
                let blank = !line.contains(delimiter) && line.bytes().all(|b| b.is_ascii_whitespace());
                if !blank {
                    record_lines.push(line_number);
                }
            }
            if final_newline {
                text += eol;
            }
            (text, record_lines)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fixtures/csv/data_fuzz.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), opts in options()) {
        check(&bytes, &opts)?;
    }

    #[test]
    fn csv_like_text_keeps_or_reports_every_line((text, record_lines) in csv_text(), opts in options()) {
        if let Some(loaded) = check(text.as_bytes(), &opts)? {
            prop_assert_eq!(loaded.report.rows_read, record_lines.len(), "a data line went missing:\n{:?}", text);
            // The bad rows are exactly the records not kept, each at its own line.
            let kept: std::collections::HashSet<u32> = loaded.recording.file_row.iter().copied().collect();
            let expected: Vec<u64> = record_lines
                .iter()
                .enumerate()
                .filter(|(row, _)| !kept.contains(&(*row as u32)))
                .map(|(_, &line)| line)
                .collect();
            let reported: Vec<u64> = loaded.report.bad_row_details.iter().map(|b| b.line).collect();
            prop_assert_eq!(reported, expected, "bad-row lines in\n{:?}", text);
        }
    }

    #[test]
    fn well_formed_rows_are_all_kept(
        values in prop::collection::vec(prop::array::uniform6(-100.0f32..100.0), 1..60),
        labels in prop::collection::vec(0usize..3, 60),
    ) {
        let classes = ["sitting", "standing", "smoking"];
        let mut text = String::from("timestamp,Ax,Ay,Az,Gx,Gy,Gz,activity\n");
        for (i, v) in values.iter().enumerate() {
            let cells: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            text += &format!("{:.2},{},{}\n", i as f64 * 0.02, cells.join(","), classes[labels[i]]);
        }
        let opts = LoadOptions { accel_unit: Some(AccelUnit::AsIs), ..LoadOptions::default() };
        let loaded = check(text.as_bytes(), &opts)?.expect("well-formed text loads");
        prop_assert_eq!(loaded.report.bad_rows, 0);
        for (c, column) in loaded.recording.channels.iter().enumerate() {
            let want: Vec<f32> = values.iter().map(|v| v[c]).collect();
            prop_assert_eq!(column, &want, "values read back exactly");
        }
    }
}

/// Guards the generator: most structured cases must load, or the properties above test only the refusals.
#[test]
fn the_generator_mostly_produces_loadable_text() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, total, mut errors) = (0, 300, Vec::new());
    for _ in 0..total {
        let (text, _) = csv_text().new_tree(&mut runner).unwrap().current();
        let opts = LoadOptions { ignore_unknown_labels: true, ..LoadOptions::default() };
        match data::load_csv_from_reader(text.as_bytes(), "g.csv", &card(), &opts) {
            Ok(_) => ok += 1,
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(ok * 3 >= total * 2, "only {ok} of {total} generated files loaded; first errors: {:#?}", &errors[..5]);
}
