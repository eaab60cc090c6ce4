//! The command-line defects of issue 8, each as the hostile user met it, run through the real binary: a failed
//! write that destroyed the earlier output, outputs that overwrote the inputs, numbers that crashed the process,
//! `baseline` ignoring bad rows and replacing the demo model's baseline, `simulate` writing `nan`, and messages
//! that blamed the wrong file, repeated themselves or gave the wrong advice.

mod common;

use common::cli::{bin, fixture_model, run};

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A labeled file of two simulated users, two minutes each (118 windows).
fn labeled(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "2", "--minutes-per-user", "2", "--seed", &seed.to_string()])
        .arg("--out")
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    path
}

/// The command with regular files limited to `bytes` (RLIMIT_FSIZE; SIGXFSZ ignored, so a write past the limit
/// fails with EFBIG the way a write to a full disk fails with ENOSPC).
fn with_file_size_limit(cmd: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd
}

/// Every file of a directory with its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn model_args(cmd: &mut Command) -> &mut Command {
    cmd.arg("--model").arg(fixture_model())
}

// Defect 1: a failed write destroys the earlier output.

/// Runs `command` once normally (writing into `out_dir`), then again on other data with a file-size limit below
/// the size of its output: the second run must fail naming the file, and leave every earlier file byte-identical
/// and no temporary file behind.
fn a_failed_rewrite_keeps<T: ?Sized>(
    out_dir: &Path,
    named: &Path,
    command: impl Fn(&T) -> Command,
    first: &T,
    second: &T,
) {
    let (code, _, err) = run(&mut command(first));
    assert_eq!(code, 0, "first run: {err}");
    let before = snapshot(out_dir);
    assert!(!before.is_empty());
    let (code, _, err) = run(with_file_size_limit(&mut command(second), 8000));
    assert_ne!(code, 0, "a failed write is not success: {err}");
    assert!(err.contains(&named.display().to_string()), "the message names {}: {err}", named.display());
    let after = snapshot(out_dir);
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(&before), "no temporary file is left behind");
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        assert!(old == new, "{name} was changed by the failed run ({} bytes, now {})", old.len(), new.len());
    }
}

#[test]
fn a_failed_write_keeps_the_earlier_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (labeled(dir.path(), "a.csv", 5), labeled(dir.path(), "b.csv", 6));
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("predictions.csv");
    let command = |data: &Path| {
        let mut c = bin();
        model_args(c.arg("predict")).arg("--data").arg(data).arg("--out").arg(&out);
        c
    };
    a_failed_rewrite_keeps(&out_dir, &out, command, &a, &b);
}

#[test]
fn a_failed_write_keeps_every_file_of_the_earlier_report() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (labeled(dir.path(), "a.csv", 5), labeled(dir.path(), "b.csv", 6));
    let out = dir.path().join("report");
    let command = |data: &Path| {
        let mut c = bin();
        model_args(c.arg("evaluate")).arg("--data").arg(data).arg("--out").arg(&out);
        c
    };
    // 8000 bytes hold report.json and the small CSVs but not predictions.csv or the PNG: the report must not
    // become a mix of two runs either.
    a_failed_rewrite_keeps(&out, &out, command, &a, &b);
    assert_eq!(snapshot(&out).len(), har_monitor::eval::REPORT_FILES.len());
}

#[test]
fn a_failed_write_keeps_the_earlier_baseline_and_drift_report() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (labeled(dir.path(), "a.csv", 5), labeled(dir.path(), "b.csv", 6));
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let baseline = out_dir.join("b.baseline.json");
    let command = |data: &Path| {
        let mut c = bin();
        model_args(c.arg("baseline")).arg("--data").arg(data).arg("--out").arg(&baseline);
        c
    };
    a_failed_rewrite_keeps(&out_dir, &baseline, command, &a, &b);

    let drift_dir = dir.path().join("drift");
    std::fs::create_dir(&drift_dir).unwrap();
    let out = drift_dir.join("drift.json");
    let command = |data: &Path| {
        let mut c = bin();
        model_args(c.arg("drift"))
            .arg("--data")
            .arg(data)
            .arg("--baseline")
            .arg(&baseline)
            .args(["--chunk", "50"])
            .arg("--out")
            .arg(&out);
        c
    };
    a_failed_rewrite_keeps(&drift_dir, &out, command, &a, &b);
}

#[test]
fn a_failed_write_keeps_the_earlier_simulated_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sim.csv");
    let command = |seed: &str| {
        let mut c = bin();
        c.args(["simulate", "--users", "1", "--minutes-per-user", "1", "--seed"]).arg(seed).arg("--out").arg(&out);
        c
    };
    a_failed_rewrite_keeps(dir.path(), &out, command, "1", "2");
}

#[test]
fn a_full_device_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    let (code, _, err) = run(model_args(bin().arg("predict")).arg("--data").arg(&data).args(["--out", "/dev/full"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot write /dev/full"), "{err}");
}

// Defect 2: the input can be overwritten.

/// Runs the command and checks it refuses with exit 2, names the input, and leaves `input` byte-identical.
fn refuses_to_overwrite(cmd: &mut Command, input: &Path) {
    let before = std::fs::read(input).unwrap();
    let (code, _, err) = run(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("would destroy the input"), "{err}");
    assert!(err.contains(&input.file_name().unwrap().to_string_lossy().into_owned()), "{err}");
    assert!(std::fs::read(input).unwrap() == before, "{} is unchanged", input.display());
}

#[test]
fn no_command_writes_over_its_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    refuses_to_overwrite(model_args(bin().arg("predict")).arg("--data").arg(&data).arg("--out").arg(&data), &data);
    // The same file under another spelling.
    let spelled = dir.path().join(".").join("a.csv");
    refuses_to_overwrite(model_args(bin().arg("predict")).arg("--data").arg(&data).arg("--out").arg(&spelled), &data);
    refuses_to_overwrite(model_args(bin().arg("baseline")).arg("--data").arg(&data).arg("--out").arg(&data), &data);
    let baseline = dir.path().join("b.json");
    let (code, _, err) = run(model_args(bin().arg("baseline")).arg("--data").arg(&data).arg("--out").arg(&baseline));
    assert_eq!(code, 0, "{err}");
    let drift = |out: &Path| {
        let mut c = bin();
        model_args(c.arg("drift")).arg("--data").arg(&data).arg("--baseline").arg(&baseline).arg("--out").arg(out);
        c
    };
    refuses_to_overwrite(&mut drift(&data), &data);
    refuses_to_overwrite(&mut drift(&baseline), &baseline);

    // evaluate --data DIR/predictions.csv --out DIR.
    let report = dir.path().join("report");
    std::fs::create_dir(&report).unwrap();
    let inside = report.join("predictions.csv");
    std::fs::copy(&data, &inside).unwrap();
    refuses_to_overwrite(
        model_args(bin().arg("evaluate")).arg("--data").arg(&inside).arg("--out").arg(&report),
        &inside,
    );
}

#[test]
fn no_command_writes_over_the_model_its_card_or_its_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let model = dir.path().join("m.onnx");
    std::fs::copy(fixtures.join("keras_bilstm.onnx"), &model).unwrap();
    std::fs::copy(fixtures.join("keras_bilstm.model.json"), dir.path().join("m.model.json")).unwrap();
    let card = dir.path().join("m.model.json");
    let predict = |out: &Path| {
        let mut c = bin();
        c.arg("predict").arg("--model").arg(&model).arg("--data").arg(&data).arg("--out").arg(out);
        c
    };
    refuses_to_overwrite(&mut predict(&model), &model);
    refuses_to_overwrite(&mut predict(&card), &card);
    // The model's own baseline may be written by `baseline` (the default), but by nothing else.
    let (code, _, err) = run(bin().arg("baseline").arg("--model").arg(&model).arg("--data").arg(&data));
    assert_eq!(code, 0, "{err}");
    let own = dir.path().join("m.baseline.json");
    assert!(own.is_file());
    refuses_to_overwrite(&mut predict(&own), &own);
}

// Defect 4: numbers from the command line crash the process.

#[test]
fn numbers_out_of_range_exit_2_with_the_allowed_range() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    let out = dir.path().join("out.csv");
    let scoring: &[(&str, &[&str], &str)] = &[
        ("predict", &["--batch", "1000000000"], "from 0 to 4096"),
        ("predict", &["--batch", "18446744073709551615"], "from 0 to 4096"),
        ("predict", &["--threads", "1000"], "the number of cores"),
        ("evaluate", &["--batch", "5000"], "from 0 to 4096"),
        ("baseline", &["--threads", "100000"], "the number of cores"),
        ("drift", &["--chunk", "18446744073709551615"], "from 1 to 10000"),
        ("drift", &["--chunk", "0"], "from 1 to 10000"),
        ("drift", &["--js-threshold", "NaN"], "from 0 to 1"),
        ("drift", &["--js-threshold", "1.5"], "from 0 to 1"),
    ];
    for (command, args, range) in scoring {
        let started = Instant::now();
        let (code, _, err) =
            run(model_args(bin().arg(command)).arg("--data").arg(&data).arg("--out").arg(&out).args(*args));
        assert_eq!(code, 2, "{command} {args:?}: {err}");
        assert!(err.contains(range) && err.contains(args[0]), "{command} {args:?}: the range is named: {err}");
        assert!(started.elapsed() < Duration::from_secs(20), "{command} {args:?} is refused at once");
        assert!(!out.exists(), "{command} {args:?} wrote nothing");
    }
    let others: &[(&[&str], &str)] = &[
        (&["gui", "--screenshot", "x.png", "--screenshot-after", "1e20"], "from 0 to 3600"),
        (&["info", "--threads", "1000"], "the number of cores"),
        (&["gui", "--speed", "1000"], "from 0.25 to 100"),
        (&["gui", "--speed", "inf"], "from 0.25 to 100"),
        (&["simulate", "--out", "s.csv", "--users", "100000"], "from 1 to 1000"),
        (&["simulate", "--out", "s.csv", "--minutes-per-user", "1e300"], "more than 0 and at most 10080"),
        (&["simulate", "--out", "s.csv", "--drift-after-min", "1e300"], "from 0 to 10080"),
        (&["simulate", "--out", "s.csv", "--rotate-deg", "1e300"], "from -360 to 360"),
        (&["simulate", "--out", "s.csv", "--class-weights", "smoking=1e300"], "from 0 to 1000000"),
    ];
    for (args, range) in others {
        let (code, _, err) = run(bin().current_dir(dir.path()).args(*args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(range), "{args:?}: the range is named: {err}");
        assert!(!dir.path().join("s.csv").exists() && !dir.path().join("x.png").exists(), "{args:?}");
    }
}

#[test]
fn help_documents_the_limits() {
    for (command, limit) in [("predict", "0 to 4096"), ("drift", "1 to 10000"), ("simulate", "0 to 100")] {
        let (code, out, err) = run(bin().args([command, "--help"]));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(limit), "{command} --help states {limit}: {out}");
    }
}

// Defect 5: `baseline` exits 0 after skipping bad rows.

#[test]
fn baseline_with_bad_rows_exits_2_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let good = labeled(dir.path(), "a.csv", 5);
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut fields: Vec<String> = lines[10].split(',').map(str::to_string).collect();
    fields[2] = "abc".into();
    lines[10] = fields.join(",");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("b.json");
    let (code, stdout, err) = run(model_args(bin().arg("baseline")).arg("--data").arg(&bad).arg("--out").arg(&out));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.csv") && err.contains("--allow-bad-rows") && err.contains("line 11"), "{err}");
    assert!(out.is_file() && stdout.contains(&out.display().to_string()), "written, and said where: {stdout}");
    let (code, _, err) =
        run(model_args(bin().arg("baseline")).arg("--data").arg(&bad).arg("--out").arg(&out).arg("--allow-bad-rows"));
    assert_eq!(code, 0, "{err}");
}

// Defect 8: `simulate` writes files full of `nan`.

#[test]
fn extreme_drift_options_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    for (args, range) in [
        (["--noise-scale", "1e300"], "from 0 to 100"),
        (["--gyro-bias", "1e39"], "from -2000 to 2000"),
        (["--gyro-bias", "-1e39"], "from -2000 to 2000"),
    ] {
        let out = dir.path().join("sim.csv");
        let (code, _, err) = run(bin()
            .args(["simulate", "--users", "1", "--minutes-per-user", "0.2"])
            .args(args)
            .arg("--out")
            .arg(&out));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(args[0]) && err.contains(range), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: nothing written");
    }
    // The edges of the ranges still give finite numbers.
    let out = dir.path().join("edge.csv");
    let (code, _, err) = run(bin()
        .args(["simulate", "--users", "1", "--minutes-per-user", "0.5", "--noise-scale", "100", "--gyro-bias", "-2000"])
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("nan") && !text.contains("inf"), "only finite numbers");
}

// Defect 9: a card naming `Gy` twice blames the CSV; OS errors printed twice.

#[test]
fn a_card_naming_a_channel_twice_is_blamed_not_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "data.csv", 5);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let model = dir.path().join("m.onnx");
    std::fs::copy(fixtures.join("keras_bilstm.onnx"), &model).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("keras_bilstm.model.json")).unwrap()).unwrap();
    card["channels"] = serde_json::json!(["Ax", "Ay", "Az", "Gx", "Gy", "Gy"]);
    std::fs::write(dir.path().join("m.model.json"), card.to_string()).unwrap();
    let (code, _, err) = run(bin()
        .arg("predict")
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.path().join("p.csv")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("m.model.json") && err.contains("channels") && err.contains("`Gy` twice"), "{err}");
    assert!(!err.contains("data.csv"), "the data file is not blamed: {err}");
}

#[test]
fn an_os_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    let missing = dir.path().join("no-such-dir");
    let runs = [
        run(bin().args(["simulate", "--users", "1", "--minutes-per-user", "0.1", "--out"]).arg(missing.join("s.csv"))),
        run(model_args(bin().arg("predict")).arg("--data").arg(&data).arg("--out").arg(missing.join("p.csv"))),
        run(model_args(bin().arg("baseline")).arg("--data").arg(&data).arg("--out").arg(missing.join("b.json"))),
    ];
    for (code, _, err) in runs {
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("no-such-dir"), "{err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "said once: {err}");
    }
}

// Defect 10: `baseline` without `--model` overwrites the bundled demo model's baseline.

#[test]
fn baseline_without_model_needs_out_and_never_touches_the_demo() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let before = snapshot(&demo);
    let dir = tempfile::tempdir().unwrap();
    let data = labeled(dir.path(), "a.csv", 5);
    let (code, _, err) = run(bin().arg("baseline").arg("--data").arg(&data));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no --model given") && err.contains("--out FILE.json") && err.contains("demo"), "{err}");
    let out = dir.path().join("mine.baseline.json");
    let (code, stdout, err) = run(bin().arg("baseline").arg("--data").arg(&data).arg("--out").arg(&out));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains(&format!("to {}", out.display())), "says where it was written: {stdout}");
    assert!(out.is_file());
    assert!(snapshot(&demo) == before, "the bundled demo model's files are untouched");
}

// Defect 15: messages.

#[test]
fn the_unknown_label_error_names_the_flag_that_accepts_them() {
    let dir = tempfile::tempdir().unwrap();
    let good = labeled(dir.path(), "a.csv", 5);
    let text = std::fs::read_to_string(&good).unwrap().replace(",smoking,", ",juggling,");
    let data = dir.path().join("juggling.csv");
    std::fs::write(&data, text).unwrap();
    let evaluate = |extra: &[&str]| {
        run(model_args(bin().arg("evaluate"))
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(dir.path().join("r"))
            .args(extra))
    };
    let (code, _, err) = evaluate(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("juggling") && err.contains("--ignore-unknown-labels"), "{err}");
    let (code, _, err) = evaluate(&["--ignore-unknown-labels"]);
    assert_eq!(code, 0, "{err}");
}

/// A per-user cache directory (`XDG_CACHE_HOME`) with or without a (fake, non-empty) runtime library in it.
fn cache_home(dir: &Path, with_library: bool) -> PathBuf {
    let home = dir.join("cache");
    let lib_dir = home.join("har-monitor").join(format!("onnxruntime-{}", har_monitor::model::runtime::ORT_VERSION));
    std::fs::create_dir_all(&lib_dir).unwrap();
    if with_library {
        std::fs::write(lib_dir.join(har_monitor::model::runtime::library_file_name()), b"a library").unwrap();
    }
    home
}

fn info_with_runtime_env(cache: &Path, set: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = bin();
    cmd.env("XDG_CACHE_HOME", cache).env("HOME", cache).env_remove("HAR_MONITOR_NO_FETCH");
    for (k, v) in set {
        cmd.env(k, v);
    }
    run(model_args(cmd.arg("info")))
}

#[test]
fn a_wrong_ort_dylib_path_is_named_as_wrong_and_the_cache_is_offered() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache_home(dir.path(), true);
    let (code, _, err) = info_with_runtime_env(&cache, &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ORT_DYLIB_PATH names /nonexistent/libonnxruntime.so, which does not exist"), "{err}");
    assert!(err.contains("unset ORT_DYLIB_PATH") && err.contains(&cache.display().to_string()), "{err}");
    assert!(!err.contains("download"), "no download advice when the cache holds the library: {err}");

    let empty = cache_home(&dir.path().join("empty"), false);
    let (code, _, err) = info_with_runtime_env(&empty, &[("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("which does not exist") && err.contains("onnxruntime==1.32.0"), "how to get it: {err}");
}

#[test]
fn without_python_the_message_says_how_to_get_the_runtime_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let empty = cache_home(dir.path(), false);
    let no_python = dir.path().join("bin");
    std::fs::create_dir(&no_python).unwrap();
    let (code, _, err) = info_with_runtime_env(&empty, &[("PATH", no_python.to_str().unwrap())]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("No Python was found"), "{err}");
    assert!(err.contains("https://pypi.org/project/onnxruntime/1.32.0/#files"), "{err}");
    assert!(err.contains(&empty.display().to_string()), "says where to put it: {err}");
    assert!(!err.contains("python3 -m pip"), "no advice to use the Python that is not there: {err}");
    assert!(!err.contains("fetching it once"), "no download announced without a way to download: {err}");
}
