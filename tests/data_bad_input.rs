//! One test per kind of bad input (docs/FORMATS.md §1): each is either a clear error naming the file, or a skipped row counted
//! in the load report with its line number and reason. Never a panic, never a bad value used.

use std::io::Read;
use std::path::Path;

use har_monitor::data::{self, BadRowKind, DataError, LoadOptions, Loaded, TimestampKind, UnitDecision};
use har_monitor::model::{AccelUnit, ModelCard};

const HEADER: &str = "timestamp,Ax,Ay,Az,Gx,Gy,Gz,activity,User\n";

fn card() -> ModelCard {
    ModelCard::from_json(
        r#"{"classes": ["sitting", "standing"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
            "sample_rate_hz": 50.0, "window": 4, "step": 2,
            "scaler": {"mean": [0,0,0,0,0,0], "scale": [1,1,1,1,1,1]}}"#,
        Path::new("test.model.json"),
    )
    .unwrap()
}

fn good_row(i: usize) -> String {
    format!("{:.2},0.1,0.2,9.8,1.0,2.0,3.0,sitting,1\n", i as f64 * 0.02)
}

fn good_rows(n: usize) -> String {
    (0..n).map(good_row).collect()
}

fn load(text: &[u8]) -> Result<Loaded, DataError> {
    data::load_csv_from_reader(text, "probe.csv", &card(), &LoadOptions::default())
}

fn load_ok(text: &str) -> Loaded {
    load(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn load_err(text: &[u8]) -> String {
    let err = load(text).expect_err("the file should be refused");
    let msg = err.to_string();
    assert!(msg.contains("probe.csv"), "message must name the file: {msg}");
    msg
}

/// The single bad row of a load: (line, kind, reason).
fn only_bad_row(loaded: &Loaded) -> (u64, BadRowKind, String) {
    let r = &loaded.report;
    assert_eq!(r.bad_rows, 1, "{r}");
    assert_eq!(r.rows_read, r.rows_kept + 1);
    let b = &r.bad_row_details[0];
    (b.line, b.kind, b.reason.clone())
}

#[test]
fn unreadable_path_names_the_file() {
    let err = data::load_csv(Path::new("/no/such/dir/rec.csv"), &card(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().contains("/no/such/dir/rec.csv"), "{err}");
}

#[test]
fn a_directory_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = data::load_csv(dir.path(), &card(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn a_read_failure_midway_is_an_error_naming_the_file() {
    struct FailsAfter(Vec<u8>, usize);
    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.1 >= self.0.len() {
                return Err(std::io::Error::other("device unplugged"));
            }
            let n = buf.len().min(self.0.len() - self.1).min(100);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let text = format!("{HEADER}{}", good_rows(1000)).into_bytes();
    let err = data::load_csv_from_reader(FailsAfter(text, 0), "usb.csv", &card(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("usb.csv") && err.contains("device unplugged"), "{err}");
}

#[test]
fn empty_file() {
    let msg = load_err(b"");
    assert!(msg.contains("is empty"), "{msg}");
    let msg = load_err(b" \n\n  \r\n");
    assert!(msg.contains("is empty"), "{msg}");
}

#[test]
fn header_only() {
    let msg = load_err(HEADER.as_bytes());
    assert!(msg.contains("no data rows"), "{msg}");
    let msg = load_err(HEADER.trim_end().as_bytes());
    assert!(msg.contains("no data rows"), "{msg}");
}

#[test]
fn binary_data_is_not_csv() {
    let msg = load_err(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0");
    assert!(msg.contains("not a CSV text file"), "{msg}");
}

#[test]
fn utf16_is_recognised() {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in HEADER.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let msg = load_err(&bytes);
    assert!(msg.contains("UTF-16"), "{msg}");
}

#[test]
fn header_not_utf8_is_refused() {
    // Latin-1 `°` in a column name.
    let msg = load_err(b"timestamp,Ax,Ay,Az,Gx,Gy,Gz,Temp \xb0C\n0,1,1,1,1,1,1,20\n");
    assert!(msg.contains("not UTF-8") && msg.contains("column 8"), "{msg}");
}

#[test]
fn missing_channel_names_channel_aliases_and_columns() {
    let msg = load_err(b"timestamp,Ax,Ay,Az,Gx,Gz\n0,1,1,1,1,1\n");
    assert!(msg.contains("`Gy`"), "{msg}");
    assert!(msg.contains("Gy_w") && msg.contains("gyro_y"), "aliases tried: {msg}");
    assert!(msg.contains("`timestamp`, `Ax`, `Ay`, `Az`, `Gx`, `Gz`"), "columns found: {msg}");
}

#[test]
fn a_file_without_header_gets_a_hint() {
    let msg = load_err(b"0.0,0.1,0.2,9.8,1,2,3\n0.02,0.1,0.2,9.8,1,2,3\n");
    assert!(msg.contains("looks like data"), "{msg}");
}

#[test]
fn non_numeric_value_is_skipped_with_line_column_and_value() {
    let text = format!("{HEADER}{}0.06,0.1,abc,9.8,1,2,3,sitting,1\n{}", good_rows(3), good_row(4));
    let loaded = load_ok(&text);
    let (line, kind, reason) = only_bad_row(&loaded);
    assert_eq!((line, kind), (5, BadRowKind::NotANumber));
    assert!(reason.contains("`Ay`") && reason.contains("abc"), "{reason}");
    // The row is not used: the next kept row is data row 4.
    assert_eq!(loaded.recording.file_row, vec![0, 1, 2, 4]);
}

#[test]
fn missing_field_is_skipped() {
    let text = format!("{HEADER}{}0.02,0.1,0.2,9.8,1,2,sitting,1\n{}", good_row(0), good_row(2));
    let (line, kind, reason) = only_bad_row(&load_ok(&text));
    assert_eq!((line, kind), (3, BadRowKind::FieldCount));
    assert!(reason.contains("expected 9") && reason.contains("found 8"), "{reason}");
}

#[test]
fn extra_field_is_skipped() {
    let text = format!("{HEADER}{}0.02,0.1,0.2,9.8,1,2,3,sitting,1,surplus\n{}", good_row(0), good_row(2));
    let (line, kind, reason) = only_bad_row(&load_ok(&text));
    assert_eq!((line, kind), (3, BadRowKind::FieldCount));
    assert!(reason.contains("found 10"), "{reason}");
}

#[test]
fn empty_fields_are_skipped() {
    for (row, column) in [
        ("0.02,0.1,,9.8,1,2,3,sitting,1", "Ay"),
        ("0.02,0.1,0.2,9.8,1,2,3,,1", "activity"),
        ("0.02,0.1,0.2,9.8,1,2,3,sitting,", "User"),
        (",0.1,0.2,9.8,1,2,3,sitting,1", "timestamp"),
    ] {
        let text = format!("{HEADER}{}{row}\n{}", good_row(0), good_row(2));
        let (line, kind, reason) = only_bad_row(&load_ok(&text));
        assert_eq!((line, kind), (3, BadRowKind::EmptyField), "{row}");
        assert!(reason.contains(&format!("`{column}` is empty")), "{reason}");
    }
}

#[test]
fn non_finite_values_are_skipped() {
    for value in ["NaN", "inf", "-infinity", "1e39"] {
        let text = format!("{HEADER}{}0.02,0.1,0.2,9.8,{value},2,3,sitting,1\n{}", good_row(0), good_row(2));
        let loaded = load_ok(&text);
        let (line, kind, reason) = only_bad_row(&loaded);
        assert_eq!((line, kind), (3, BadRowKind::NonFinite), "{value}");
        assert!(reason.contains("`Gx`") && reason.contains(value), "{reason}");
        assert!(loaded.recording.channels.iter().flatten().all(|v| v.is_finite()));
    }
}

#[test]
fn a_value_that_overflows_in_the_unit_conversion_is_skipped() {
    // In g (median |a| about 1), one row holds 3e38 g, finite in f32 but not once multiplied by 9.80665.
    let rows: String = (0..6).map(|i| format!("{:.2},0.0,0.0,1.0,1,2,3,sitting,1\n", i as f64 * 0.02)).collect();
    let text = format!("{HEADER}{rows}0.12,3e38,0.0,1.0,1,2,3,sitting,1\n");
    let loaded = load_ok(&text);
    let (line, kind, reason) = only_bad_row(&loaded);
    assert_eq!((line, kind), (8, BadRowKind::NonFiniteAfterConversion));
    assert!(reason.contains("conversion"), "{reason}");
    assert_eq!(loaded.recording.len(), 6);
    assert!(loaded.recording.channels.iter().flatten().all(|v| v.is_finite()));
    // When that was the only row, nothing is left: an error, not an empty recording (found by the property test).
    let opts = LoadOptions { accel_unit: Some(AccelUnit::G), ..LoadOptions::default() };
    let text = "Ax,Ay,Az,Gx,Gy,Gz\n3e38,1,1,1,1,1\n";
    let err = data::load_csv_from_reader(text.as_bytes(), "probe.csv", &card(), &opts).unwrap_err().to_string();
    assert!(err.contains("no usable rows") && err.contains("line 2"), "{err}");
}

#[test]
fn non_utf8_field_is_skipped() {
    let mut bytes = format!("{HEADER}{}", good_row(0)).into_bytes();
    bytes.extend_from_slice(b"0.02,0.1,0.2,9.8,1,2,3,sitt\xffing,1\n");
    bytes.extend_from_slice(good_row(2).as_bytes());
    let loaded = load(&bytes).unwrap();
    let (line, kind, reason) = only_bad_row(&loaded);
    assert_eq!((line, kind), (3, BadRowKind::NotUtf8));
    assert!(reason.contains("`activity`"), "{reason}");
}

#[test]
fn truncated_last_line_is_reported_as_such() {
    let text = format!("{HEADER}{}0.06,0.1,0.2,9.", good_rows(3));
    let (line, kind, reason) = only_bad_row(&load_ok(&text));
    assert_eq!((line, kind), (5, BadRowKind::TruncatedLastLine));
    assert!(reason.contains("last line is incomplete") && reason.contains("found 4"), "{reason}");
    // A complete last row without a final newline is fine.
    let text = format!("{HEADER}{}", good_rows(3));
    assert_eq!(load_ok(text.trim_end()).report.bad_rows, 0);
}

#[test]
fn bad_timestamps_are_skipped() {
    let text = format!("{HEADER}{}soon,0.1,0.2,9.8,1,2,3,sitting,1\n{}", good_row(0), good_row(2));
    let (line, kind, reason) = only_bad_row(&load_ok(&text));
    assert_eq!((line, kind), (3, BadRowKind::BadTimestamp));
    assert!(reason.contains("`soon`") && reason.contains("ISO-8601"), "{reason}");
    // A file that starts with numbers cannot switch to date-times.
    let text = format!("{HEADER}{}2024-03-01T12:00:00Z,0.1,0.2,9.8,1,2,3,sitting,1\n{}", good_row(0), good_row(2));
    let (_, kind, reason) = only_bad_row(&load_ok(&text));
    assert_eq!(kind, BadRowKind::BadTimestamp);
    assert!(reason.contains("earlier rows have numbers"), "{reason}");
}

#[test]
fn unknown_labels_are_an_error_naming_them_with_counts() {
    let mut text = format!("{HEADER}{}", good_rows(2));
    for i in 0..3 {
        text += &format!("0.{i}5,0.1,0.2,9.8,1,2,3,walking,1\n");
    }
    text += "0.9,0.1,0.2,9.8,1,2,3,jogging,1\n";
    let msg = load_err(text.as_bytes());
    assert!(msg.contains("`walking` (3 rows)") && msg.contains("`jogging` (1 row)"), "{msg}");
    assert!(msg.contains("sitting, standing"), "classes listed: {msg}");

    let opts = LoadOptions { ignore_unknown_labels: true, ..LoadOptions::default() };
    let loaded = data::load_csv_from_reader(text.as_bytes(), "probe.csv", &card(), &opts).unwrap();
    assert_eq!(loaded.report.ignored_label_rows, 4);
    assert_eq!(loaded.report.ignored_labels, vec![("walking".to_string(), 3), ("jogging".to_string(), 1)]);
    let labels = loaded.recording.labels.unwrap();
    assert_eq!(labels, vec![0, 0, u16::MAX, u16::MAX, u16::MAX, u16::MAX]);
    assert!(loaded.report.to_string().contains("`walking` x 3"));
}

#[test]
fn all_rows_bad_is_an_error_with_the_first_reasons() {
    let text = format!("{HEADER}0,x,0,0,0,0,0,sitting,1\n0.02,0,y,0,0,0,0,sitting,1\n");
    let msg = load_err(text.as_bytes());
    assert!(msg.contains("no usable rows") && msg.contains("line 2") && msg.contains("line 3"), "{msg}");
}

#[test]
fn thousands_of_bad_rows_are_all_counted_and_the_first_thousand_detailed() {
    let mut text = HEADER.to_string();
    for i in 0..2500 {
        text += &format!("{:.2},0.1,0.2,9.8,1,2,3,sitting,1\n", i as f64 * 0.02);
        text += "x,0.1,0.2,9.8,1,2,3,sitting,1\n";
    }
    let loaded = load_ok(&text);
    let r = &loaded.report;
    assert_eq!((r.rows_read, r.rows_kept, r.bad_rows), (5000, 2500, 2500));
    assert_eq!(r.bad_rows_of(BadRowKind::BadTimestamp), 2500);
    assert_eq!(r.bad_row_details.len(), data::MAX_BAD_ROW_DETAILS);
    assert_eq!(r.bad_row_details[999].line, 2001);
    let summary = r.to_string();
    assert!(summary.contains("2,500 bad rows skipped") && summary.contains("line 3:"), "{summary}");
    assert!(summary.contains("... and 2,495 more"), "{summary}");
}

#[test]
fn quoted_fields_with_newlines_keep_line_numbers_right() {
    for eol in ["\n", "\r\n"] {
        let text = format!(
            "timestamp,Ax,Ay,Az,Gx,Gy,Gz,note{eol}0,1,1,9,1,1,1,\"two{eol}lines\"{eol}0.02,1,1,9,1,zz,1,ok{eol}"
        );
        let (line, kind, _) = only_bad_row(&load_ok(&text));
        assert_eq!((line, kind), (4, BadRowKind::NotANumber), "{eol:?}");
    }
}

#[test]
fn crlf_bom_and_padding_are_accepted() {
    let text = "\u{FEFF} timestamp , Ax ,Ay,Az,Gx,Gy,Gz\r\n0.00, 0.1 ,0.2,9.8,1,2,3\r\n0.02,0.1,0.2,9.8,1,2,3\r\n";
    let loaded = load_ok(text);
    assert_eq!(loaded.report.bad_rows, 0);
    assert_eq!(loaded.report.timestamps, TimestampKind::Seconds);
    assert_eq!(loaded.recording.channels[0], vec![0.1, 0.1]);
}

#[test]
fn card_as_is_and_override_as_is_turn_conversion_off() {
    let rows: String = (0..5).map(|i| format!("{}.0,0,0,1000,1,2,3\n", i * 20)).collect();
    let text = format!("timestamp,Ax,Ay,Az,Gx,Gy,Gz\n{rows}");
    let mut as_is = card();
    as_is.units.accel = AccelUnit::AsIs;
    let loaded = data::load_csv_from_reader(text.as_bytes(), "p.csv", &as_is, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.report.accel_unit, UnitDecision::AsIs { by_override: false });
    assert_eq!(loaded.recording.channels[2][0], 1000.0);
    let opts = LoadOptions { accel_unit: Some(AccelUnit::AsIs), ..LoadOptions::default() };
    let loaded = data::load_csv_from_reader(text.as_bytes(), "p.csv", &card(), &opts).unwrap();
    assert_eq!(loaded.report.accel_unit, UnitDecision::AsIs { by_override: true });
    assert_eq!(loaded.recording.channels[2][0], 1000.0);
    // Without either, the same file is milli-g and converted.
    let loaded = load_ok(&text);
    assert_eq!(loaded.recording.channels[2][0], (1000.0f64 * 0.00981) as f32);
    assert_eq!(loaded.report.timestamps, TimestampKind::Milliseconds);
}

#[test]
fn the_summary_says_what_happened() {
    let text = format!("{HEADER}{}0.06,0.1,abc,9.8,1,2,3,sitting,1\n{}", good_rows(3), good_row(4));
    let summary = load_ok(&text).report.to_string();
    for needle in [
        "probe.csv: 5 rows read, 4 kept, 1 bad row skipped",
        "1 value not a number",
        "line 5: column `Ay`: `abc` is not a number",
        "columns: Ax, Ay, Az, Gx, Gy, Gz, time <- timestamp, label <- activity, user <- User",
        "timestamps: seconds",
        "accelerometer: detected m/s^2",
    ] {
        assert!(summary.contains(needle), "missing `{needle}` in:\n{summary}");
    }
}

#[test]
fn blank_lines_are_not_rows_but_count_as_lines() {
    let mut text = " \n".repeat(5000); // more blank text than the loader sniffs
    text += HEADER;
    text += &good_row(0);
    text += "\n";
    text += "0.02,0.1,0.2,9.8,1,2,x,sitting,1\n";
    let loaded = load_ok(&text);
    assert_eq!(loaded.report.rows_read, 2);
    let (line, kind, _) = only_bad_row(&loaded);
    // 5000 blank lines, the header on line 5001, a row, a blank line, the bad row.
    assert_eq!((line, kind), (5004, BadRowKind::NotANumber));
}

#[test]
fn line_numbers_are_right_with_crlf_lone_cr_and_empty_lines() {
    for eol in ["\n", "\r\n", "\r"] {
        let rows = ["0,1,1,9,1,1,1", "", "0.02,1,1,9,1,1,1", "", "", "0.04,1,1,9,1,x,1", "0.06,1,1,9,1,1,1"];
        let text = format!("timestamp,Ax,Ay,Az,Gx,Gy,Gz{eol}{}{eol}", rows.join(eol));
        let loaded = load_ok(&text);
        let (line, kind, _) = only_bad_row(&loaded);
        assert_eq!((line, kind), (7, BadRowKind::NotANumber), "line ending {eol:?}");
        assert_eq!(loaded.report.rows_read, 4);
    }
}
