//! The data layer against an independent reference: tests/fixtures/csv/make_fixtures.py writes CSV files in several
//! dialects and computes with numpy/pandas what loading, windowing and scaling them must give (expected.json).

use std::path::{Path, PathBuf};

use har_monitor::data::{
    self, IGNORED_LABEL, LoadOptions, Loaded, Scaler, TimestampKind, UnitDecision, UnitSource, WindowingMode,
};
use har_monitor::model::{AccelUnit, ModelCard};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csv")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

struct Case {
    name: String,
    card: ModelCard,
    loaded: Loaded,
    exp: Value,
}

fn cases() -> Vec<Case> {
    let all = expected();
    let cards = &all["cards"];
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|exp| {
            let file = exp["file"].as_str().unwrap();
            let card_json = cards[exp["card"].as_str().unwrap()].to_string();
            let card = ModelCard::from_json(&card_json, Path::new("fixture.model.json")).unwrap();
            let opts = LoadOptions {
                accel_unit: exp["options"]["accel_unit"].as_str().map(|u| u.parse::<AccelUnit>().unwrap()),
                ignore_unknown_labels: exp["options"]["ignore_unknown_labels"].as_bool().unwrap_or(false),
            };
            let name = format!("{file} {}", exp["options"]);
            let loaded = data::load_csv(&fixtures().join(file), &card, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            Case { name, card, loaded, exp: exp.clone() }
        })
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn rows_timestamps_and_units_match_the_reference() {
    for Case { name, loaded, exp, .. } in cases() {
        let (rec, report) = (&loaded.recording, &loaded.report);
        assert_eq!(report.rows_read as u64, exp["rows_read"].as_u64().unwrap(), "{name}: rows read");
        assert_eq!(report.rows_kept as u64, exp["rows_kept"].as_u64().unwrap(), "{name}: rows kept");
        assert_eq!(report.rows_read, report.rows_kept + report.bad_rows, "{name}");
        assert_eq!(rec.len(), report.rows_kept, "{name}");
        let kind = match exp["timestamps"].as_str().unwrap() {
            "seconds" => TimestampKind::Seconds,
            "milliseconds" => TimestampKind::Milliseconds,
            "iso8601" => TimestampKind::Iso8601,
            "absent" => TimestampKind::Absent,
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(report.timestamps, kind, "{name}");
        assert_eq!(report.time_gaps as u64, exp["time_gaps"].as_u64().unwrap(), "{name}: gaps");
        assert_eq!(report.time_backwards as u64, exp["time_backwards"].as_u64().unwrap(), "{name}: back steps");

        let unit = &exp["unit"];
        let factor = unit["factor"].as_f64().unwrap();
        let median = unit["median"].as_f64().unwrap();
        match (&report.accel_unit, unit["source"].as_str().unwrap()) {
            (UnitDecision::Known { unit: u, source, factor: f, median: m, .. }, src) => {
                let file_unit: AccelUnit = unit["file_unit"].as_str().unwrap().parse().unwrap();
                assert_eq!(*u, file_unit, "{name}");
                let expected_source = if src == "override" { UnitSource::Override } else { UnitSource::Detected };
                assert_eq!(*source, expected_source, "{name}");
                assert!((f - factor).abs() <= 1e-15 * factor, "{name}: factor {f} vs {factor}");
                if *source == UnitSource::Detected {
                    let m = m.unwrap();
                    assert!((m - median).abs() <= 1e-9 * median, "{name}: median |a| {m} vs {median}");
                }
            }
            (UnitDecision::Ambiguous { median: m }, "ambiguous") => {
                assert!((m - median).abs() <= 1e-9 * median, "{name}: median |a| {m} vs {median}");
                let warned = report.warnings.iter().any(|w| w.contains("accelerometer unit could not be told"));
                assert!(warned, "{name}: {:?}", report.warnings);
                assert!(report.to_string().contains("fits none of g"), "{name}");
            }
            (other, src) => panic!("{name}: unit decision {other:?}, reference says {src}"),
        }
    }
}

#[test]
fn values_times_labels_and_users_match_the_reference_row_by_row() {
    for Case { name, loaded, exp, .. } in cases() {
        let rec = &loaded.recording;
        let rows: Vec<usize> =
            exp["sample_rows"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        for (k, &r) in rows.iter().enumerate() {
            let t = exp["sample_time"][k].as_f64().unwrap();
            assert!((rec.time[r] - t).abs() < 1e-6, "{name} row {r}: time {} vs {t}", rec.time[r]);
            assert_eq!(u64::from(rec.file_row[r]), exp["sample_file_row"][k].as_u64().unwrap(), "{name} row {r}");
            let values: Vec<f32> = rec.channels.iter().map(|c| c[r]).collect();
            assert_eq!(values, f32s(&exp["sample_values"][k]), "{name} row {r}: values");
            match (&rec.labels, &exp["sample_labels"]) {
                (None, Value::Null) => {}
                (Some(labels), Value::Array(want)) => {
                    let want = want[k].as_u64().map_or(IGNORED_LABEL, |i| i as u16);
                    assert_eq!(labels[r], want, "{name} row {r}: label");
                }
                (got, want) => panic!("{name}: labels {got:?} vs {want}"),
            }
            match (&rec.users, &exp["sample_users"]) {
                (None, Value::Null) => {}
                (Some(users), Value::Array(want)) => {
                    assert_eq!(rec.user_names[users[r] as usize], want[k].as_str().unwrap(), "{name} row {r}: user");
                }
                (got, want) => panic!("{name}: users {got:?} vs {want}"),
            }
        }
        if let Some(names) = exp["user_names"].as_array() {
            let names: Vec<&str> = names.iter().map(|v| v.as_str().unwrap()).collect();
            assert_eq!(rec.user_names, names, "{name}: users in order of appearance");
        }
        assert_eq!(
            loaded.report.ignored_label_rows as u64,
            exp["ignored_label_rows"].as_u64().unwrap(),
            "{name}: rows with ignored labels"
        );
    }
}

fn check_windows(mode: WindowingMode, key: &str) {
    for Case { name, card, loaded, exp } in cases() {
        let rec = &loaded.recording;
        let w = data::window(rec, &card, mode);
        let want = &exp[key];
        assert_eq!(w.segments as u64, want["segments"].as_u64().unwrap(), "{name} {mode:?}: segments");
        assert_eq!(w.short_segments as u64, want["short_segments"].as_u64().unwrap(), "{name}: short segments");
        assert_eq!(w.skipped_non_finite, 0, "{name}");
        let want = want["windows"].as_array().unwrap();
        assert_eq!(w.windows.len(), want.len(), "{name} {mode:?}: window count");
        for (i, (got, want)) in w.windows.iter().zip(want).enumerate() {
            let ctx = format!("{name} {mode:?} window {i}");
            assert_eq!(got.start as u64, want["start"].as_u64().unwrap(), "{ctx}: start");
            assert_eq!(got.end as u64, want["end"].as_u64().unwrap(), "{ctx}: end");
            assert_eq!(got.label.map(|l| l as u64), want["label"].as_u64(), "{ctx}: label (tie: {})", want["tie"]);
            assert_eq!(got.segment as u64, want["segment"].as_u64().unwrap(), "{ctx}: segment");
            let user = got.user.map(|u| rec.user_names[u as usize].as_str());
            assert_eq!(user, want["user"].as_str(), "{ctx}: user");
        }
    }
}

#[test]
fn segment_windows_match_the_reference() {
    check_windows(WindowingMode::Segments, "windows_segments");
}

#[test]
fn contiguous_windows_match_the_reference() {
    check_windows(WindowingMode::Contiguous, "windows_contiguous");
}

#[test]
fn the_fixtures_exercise_ties_gaps_and_ignored_labels() {
    // Guards the fixture itself: the comparisons above only mean something if these cases occur.
    let all = expected();
    let cases = all["cases"].as_array().unwrap();
    let windows = cases.iter().flat_map(|c| c["windows_segments"]["windows"].as_array().unwrap());
    let ties = windows.clone().filter(|w| w["tie"].as_bool().unwrap()).count();
    let unlabeled_in_labeled_file = cases
        .iter()
        .filter(|c| c["ignored_label_rows"].as_u64().unwrap() > 0)
        .flat_map(|c| c["windows_segments"]["windows"].as_array().unwrap().iter().filter(|w| w["label"].is_null()));
    assert!(ties >= 5, "only {ties} tied windows");
    assert!(unlabeled_in_labeled_file.count() >= 1);
    assert!(cases.iter().any(|c| c["time_gaps"].as_u64().unwrap() > 0));
    assert!(cases.iter().any(|c| c["time_backwards"].as_u64().unwrap() > 0));
    assert!(cases.iter().any(|c| c["windows_segments"]["short_segments"].as_u64().unwrap() > 0));
}

#[test]
fn scaled_windows_match_the_reference() {
    for Case { name, card, loaded, exp } in cases() {
        let w = data::window(&loaded.recording, &card, WindowingMode::Segments);
        let scaler = Scaler::from_card(&card);
        for s in exp["scaled"].as_array().unwrap() {
            let k = s["window"].as_u64().unwrap() as usize;
            let want: Vec<f32> = s["values"].as_array().unwrap().iter().flat_map(f32s).collect();
            let mut out = vec![0.0; card.window * card.channels.len()];
            scaler.fill(&loaded.recording, &w.windows[k], &mut out).unwrap();
            assert_eq!(out, want, "{name}: scaled window {k}");
        }
    }
}

#[test]
fn bad_rows_are_reported_at_the_reference_lines() {
    let mut checked = 0;
    for Case { name, loaded, exp, .. } in cases() {
        let want: Vec<(u64, String)> = exp["bad_rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["line"].as_u64().unwrap(), b["kind"].as_str().unwrap().to_string()))
            .collect();
        let got: Vec<(u64, String)> =
            loaded.report.bad_row_details.iter().map(|b| (b.line, format!("{:?}", b.kind))).collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(loaded.report.bad_rows, want.len(), "{name}");
        checked += want.len();
    }
    assert!(checked >= 9);
}
