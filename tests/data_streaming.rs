//! The streamed data path (issue 8): duplicated and reversed timestamps, "no windows" as an error that names the
//! file and says why, inputs that are not regular files (a directory, a device, a pipe), and the streamed
//! windows equal to cutting the whole file at once.

mod common;

use common::cli::{bin, fixture_model, run};

use std::path::Path;
use std::process::Command;

use har_monitor::data::{self, DataError, LoadOptions, RowWindower, TimestampKind, WindowingMode};
use har_monitor::model::ModelCard;

const HEADER: &str = "timestamp,Ax,Ay,Az,Gx,Gy,Gz,activity,User\n";

fn card() -> ModelCard {
    ModelCard::from_json(
        r#"{"classes": ["sitting", "standing"], "channels": ["Ax","Ay","Az","Gx","Gy","Gz"],
            "sample_rate_hz": 50.0, "window": 20, "step": 10,
            "scaler": {"mean": [0,0,0,0,0,0], "scale": [1,1,1,1,1,1]}}"#,
        Path::new("test.model.json"),
    )
    .unwrap()
}

/// `n` rows at 50 Hz whose millisecond timestamps come from `stamp(row)`.
fn rows(n: usize, stamp: impl Fn(usize) -> i64) -> String {
    let mut text = HEADER.to_string();
    for i in 0..n {
        let label = if (i / 50) % 2 == 0 { "sitting" } else { "standing" };
        text += &format!("{},0.1,0.2,{:.3},1.0,2.0,3.0,{label},1\n", stamp(i), 9.8 + (i % 7) as f64 * 0.01);
    }
    text
}

fn load(text: &str) -> Result<data::Loaded, DataError> {
    data::load_csv_from_reader(text.as_bytes(), "phone.csv", &card(), &LoadOptions::default())
}

#[test]
fn batched_timestamps_are_taken_as_samples_at_the_card_rate() {
    // A phone export: five samples share one millisecond stamp, then the stamp jumps by five periods (100 ms).
    let text = rows(500, |i| 1_700_000_000_000 + (i as i64 / 5) * 100);
    let loaded = load(&text).unwrap();
    let report = &loaded.report;
    assert_eq!(report.timestamps, TimestampKind::Milliseconds, "{report}");
    assert!(report.notes.iter().any(|n| n.contains("timestamps repeat")), "{report}");
    let windowing = data::window(&loaded.recording, &card(), WindowingMode::Segments);
    // 500 rows in one segment: windows start every 10 rows while 20 fit.
    assert_eq!(windowing.windows.len(), 49, "{report}");
    assert_eq!(windowing.segments, 1);
    // Times are the first stamp plus row / rate.
    let t = &loaded.recording.time;
    assert!((t[0] - 1_700_000_000.0).abs() < 1e-6 && (t[7] - t[0] - 7.0 / 50.0).abs() < 1e-6, "{:?}", &t[..8]);
}

#[test]
fn several_rows_per_millisecond_still_give_windows() {
    // Three rows per stamp and a 60 ms jump: more than 2.5 periods, a "gap" on every third row before the fix.
    let text = rows(300, |i| (i as i64 / 3) * 60);
    let loaded = load(&text).unwrap();
    let windowing = data::window(&loaded.recording, &card(), WindowingMode::Segments);
    assert_eq!(windowing.windows.len(), 29, "{}", loaded.report);
    assert_eq!(loaded.report.timestamps, TimestampKind::Milliseconds);
}

#[test]
fn occasional_equal_stamps_do_not_change_a_regular_file() {
    // One duplicated stamp in 100 steps is jitter, not a batched export: times stay the file's own.
    let text = rows(300, |i| i as i64 * 20 - i64::from(i % 100 == 50) * 20);
    let loaded = load(&text).unwrap();
    assert!(!loaded.report.notes.iter().any(|n| n.contains("timestamps repeat")), "{}", loaded.report);
    assert_eq!((loaded.recording.time[50], loaded.recording.time[51]), (0.98, 1.02));
}

#[test]
fn a_reversed_file_is_refused_with_what_to_do() {
    let text = rows(300, |i| (300 - i as i64) * 20);
    let err = load(&text).expect_err("a reversed file must be refused").to_string();
    assert!(err.contains("phone.csv") && err.contains("reverse time order") && err.contains("sort"), "{err}");
}

#[test]
fn streamed_windows_equal_the_windows_of_the_whole_file() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/csv");
    let model = har_monitor::assets::demo_model().unwrap();
    let card = ModelCard::load_for_model(&model).unwrap();
    let options = LoadOptions { ignore_unknown_labels: true, ..LoadOptions::default() };
    for name in ["labeled_thesis.csv", "with_bad_rows.csv", "aliases_iso_g.csv", "production_millig_ms.csv"] {
        let path = fixtures.join(name);
        for mode in [WindowingMode::Segments, WindowingMode::Contiguous] {
            let whole = data::load_csv(&path, &card, &options).unwrap();
            let expected = data::window(&whole.recording, &card, mode);
            assert!(name != "labeled_thesis.csv" || expected.windows.len() > 10, "{name}: windows to compare");
            let mut rows = data::open_csv(&path, &card, &options).unwrap();
            let mut windower = RowWindower::new(&card, mode);
            let mut streamed = Vec::new();
            let mut raw_ok = true;
            while let Some(row) = rows.next_row().unwrap() {
                if let Some(cut) = windower.push(&row) {
                    let w = cut.window;
                    let first = whole.recording.channels.iter().map(|c| c[w.start]).collect::<Vec<_>>();
                    raw_ok &= cut.raw[..first.len()] == first[..];
                    raw_ok &= cut.first_file_row == whole.recording.file_row[w.start];
                    streamed.push(w);
                }
            }
            let counts = windower.finish();
            assert_eq!(streamed, expected.windows, "{name} {mode:?}");
            assert!(raw_ok, "{name} {mode:?}: raw values of the streamed windows");
            assert_eq!(
                (counts.segments, counts.short_segments, counts.skipped_non_finite),
                (expected.segments, expected.short_segments, expected.skipped_non_finite),
                "{name} {mode:?}"
            );
            assert_eq!(rows.finish(), whole.report, "{name}: the same load report");
        }
    }
}

// --- The command line ---

/// Runs a data command on `data` with the fixture model; outputs go into `dir`.
fn command(name: &str, data: &Path, dir: &Path) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.arg(name).arg("--model").arg(fixture_model()).arg("--data").arg(data);
    match name {
        "predict" => cmd.arg("--out").arg(dir.join("p.csv")),
        "evaluate" => cmd.arg("--out").arg(dir.join("report")),
        "drift" => cmd.arg("--out").arg(dir.join("drift.json")).arg("--baseline").arg(dir.join("b.json")),
        _ => cmd.arg("--out").arg(dir.join("b.json")),
    };
    run(&mut cmd)
}

#[test]
fn no_windows_is_an_error_naming_the_file_and_why() {
    let dir = tempfile::tempdir().unwrap();
    // A baseline for `drift` to compare with, from a file that has windows.
    let reference = dir.path().join("reference.csv");
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "1", "--minutes-per-user", "1", "--seed", "3"])
        .arg("--out")
        .arg(&reference));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = command("baseline", &reference, dir.path());
    assert_eq!(code, 0, "{err}");

    let short = dir.path().join("short.csv");
    std::fs::write(&short, rows(150, |i| i as i64 * 20)).unwrap();
    for name in ["predict", "evaluate", "drift", "baseline"] {
        let (code, _, err) = command(name, &short, dir.path());
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains("short.csv") && err.contains("150 usable rows") && err.contains("needs 200"),
            "{name}: {err}"
        );
        assert!(!err.contains("writing"), "{name}: an input error, not a write error: {err}");
    }
    assert!(!dir.path().join("p.csv").exists(), "no empty predictions file");

    // Every segment shorter than a window: a user change every 150 rows.
    let mut text = HEADER.to_string();
    for i in 0..600 {
        text += &format!("{},0.1,0.2,9.8,1.0,2.0,3.0,sitting,{}\n", i * 20, i / 150);
    }
    let segmented = dir.path().join("segmented.csv");
    std::fs::write(&segmented, text).unwrap();
    let (code, _, err) = command("predict", &segmented, dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("segmented.csv") && err.contains("4 segments") && err.contains("longest"), "{err}");
}

#[test]
fn a_directory_or_a_device_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = command("predict", dir.path(), dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is a directory") && !err.contains("no such file"), "{err}");
    if Path::new("/dev/zero").exists() {
        let (code, _, err) = command("predict", Path::new("/dev/zero"), dir.path());
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("/dev/zero is a character device"), "{err}");
    }
    let (code, _, err) = command("predict", &dir.path().join("absent.csv"), dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("absent.csv"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_pipe_is_read_like_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let regular = dir.path().join("regular.csv");
    std::fs::write(&regular, rows(1000, |i| i as i64 * 20)).unwrap();
    let (code, _, err) = run(bin()
        .arg("predict")
        .arg("--model")
        .arg(fixture_model())
        .arg("--data")
        .arg(&regular)
        .arg("--out")
        .arg(dir.path().join("from_file.csv")));
    assert_eq!(code, 0, "{err}");

    let fifo = dir.path().join("pipe.csv");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let writer = {
        let (fifo, regular) = (fifo.clone(), regular.clone());
        std::thread::spawn(move || std::fs::write(fifo, std::fs::read(regular).unwrap()).unwrap())
    };
    let (code, _, err) = run(bin()
        .arg("predict")
        .arg("--model")
        .arg(fixture_model())
        .arg("--data")
        .arg(&fifo)
        .arg("--out")
        .arg(dir.path().join("from_pipe.csv")));
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not a regular file") && err.contains("read once"), "the load report says so: {err}");
    let a = std::fs::read(dir.path().join("from_file.csv")).unwrap();
    let b = std::fs::read(dir.path().join("from_pipe.csv")).unwrap();
    assert!(a == b, "the same predictions from a pipe as from the file");
}
