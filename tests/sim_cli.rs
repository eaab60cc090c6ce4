//! `har-monitor simulate` as a user runs it: both schemas parse with the csv crate, timestamps are continuous
//! integer milliseconds per user, files are byte-identical for a seed, and bad values exit 2 naming the option.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use har_monitor::classes::THESIS_CLASSES;

fn simulate(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Output) {
    let out = dir.join(name);
    let output = Command::new(env!("CARGO_BIN_EXE_har-monitor"))
        .arg("simulate")
        .arg("--out")
        .arg(&out)
        .args(args)
        .output()
        .unwrap();
    (out, output)
}

fn ok(output: &Output) {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn labeled_file_parses_and_holds_continuous_user_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let (path, output) =
        simulate(dir.path(), "l.csv", &["--users", "3", "--minutes-per-user", "0.5", "--first-user", "7"]);
    ok(&output);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, ["timestamp", "Ax_w", "Ay_w", "Az_w", "Gx_w", "Gy_w", "Gz_w", "activity", "User"]);
    let mut rows: Vec<(i64, String)> = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let t: i64 = record[0].parse().expect("integer epoch milliseconds");
        for v in record.iter().skip(1).take(6) {
            assert!(v.parse::<f64>().unwrap().is_finite());
        }
        assert!(THESIS_CLASSES.contains(&&record[7]), "label {}", &record[7]);
        rows.push((t, record[8].to_string()));
    }
    assert_eq!(rows.len(), 3 * 1500);
    let users: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(users[0], "7");
    assert_eq!(users[1500], "8");
    assert_eq!(users[4499], "9");
    for (i, w) in rows.windows(2).enumerate() {
        if w[0].1 == w[1].1 {
            assert_eq!(w[1].0 - w[0].0, 20, "row {i}: a session is continuous at 50 Hz");
        } else {
            assert!(w[1].0 - w[0].0 > 20, "row {i}: the next user starts after the previous one");
        }
    }
}

#[test]
fn unlabeled_file_has_the_production_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (path, output) = simulate(dir.path(), "u.csv", &["--users", "1", "--minutes-per-user", "0.2", "--unlabeled"]);
    ok(&output);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header, ["timestamp", "Ax", "Ay", "Az", "Gx", "Gy", "Gz"]);
    let mut n = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(record.len(), 7);
        record[0].parse::<i64>().unwrap();
        n += 1;
    }
    assert_eq!(n, 600);
}

#[test]
fn thesis_sized_sessions_have_the_thesis_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let (path, output) = simulate(dir.path(), "t.csv", &["--users", "1", "--minutes-per-user", "21.407"]);
    ok(&output);
    let rows = std::fs::read_to_string(&path).unwrap().lines().count() - 1;
    assert_eq!(rows, 64_221);
}

#[test]
fn same_seed_gives_a_byte_identical_file() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--users", "2", "--minutes-per-user", "1", "--seed", "9", "--rotate-deg", "-30", "--accel-unit", "g"];
    let (a, out_a) = simulate(dir.path(), "a.csv", &args);
    let (b, out_b) = simulate(dir.path(), "b.csv", &args);
    ok(&out_a);
    ok(&out_b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let (c, out_c) = simulate(dir.path(), "c.csv", &["--users", "2", "--minutes-per-user", "1", "--seed", "10"]);
    ok(&out_c);
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn files_with_different_first_users_hold_different_people() {
    let dir = tempfile::tempdir().unwrap();
    let (a, out_a) = simulate(dir.path(), "a.csv", &["--users", "1", "--minutes-per-user", "0.5", "--first-user", "1"]);
    let (b, out_b) = simulate(dir.path(), "b.csv", &["--users", "1", "--minutes-per-user", "0.5", "--first-user", "2"]);
    ok(&out_a);
    ok(&out_b);
    let data = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p).unwrap().lines().skip(1).map(|l| l.split(',').skip(1).take(6).collect()).collect()
    };
    assert_ne!(data(&a), data(&b));
}

#[test]
fn compact_numbers_keep_the_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let (path, output) = simulate(dir.path(), "c.csv", &["--users", "1", "--minutes-per-user", "0.2"]);
    ok(&output);
    let text = std::fs::read_to_string(&path).unwrap();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        for (i, f) in fields[1..7].iter().enumerate() {
            let decimals = f.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= if i < 3 { 2 } else { 1 }, "{f} in {line}");
            let trailing_zero = f.contains('.') && f.ends_with('0');
            assert!(!f.ends_with('.') && !trailing_zero, "{f} is not compact");
        }
    }
    assert!(text.len() < 600 * 75, "{} bytes for 600 rows", text.len());
}

#[test]
fn bad_values_exit_2_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    for (args, option) in [
        (vec!["--users", "0"], "--users"),
        (vec!["--minutes-per-user", "0"], "--minutes-per-user"),
        (vec!["--minutes-per-user", "-1"], "--minutes-per-user"),
        (vec!["--class-weights", "smokng=2"], "--class-weights"),
        (vec!["--class-weights", "smoking=-2"], "--class-weights"),
        (vec!["--class-weights", "smoking"], "--class-weights"),
        (vec!["--accel-unit", "furlongs"], "--accel-unit"),
        (vec!["--accel-unit", "as-is"], "--accel-unit"),
        (vec!["--noise-scale", "-0.5"], "--noise-scale"),
        (vec!["--drift-after-min", "-3"], "--drift-after-min"),
        (vec!["--rotate-deg", "abc"], "--rotate-deg"),
    ] {
        let (path, output) = simulate(dir.path(), "bad.csv", &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(option), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!path.exists(), "{args:?} left a file behind");
    }
}

#[test]
fn an_unwritable_output_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, output) =
        simulate(&dir.path().join("missing-dir"), "x.csv", &["--users", "1", "--minutes-per-user", "0.1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

/// FNV-1a, 64 bit: a digest that does not depend on the Rust version.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn the_classic_profile_still_writes_what_it_wrote_before_the_thesis_profile() {
    // The digest of data/demo/labeled_unseen_users.csv as the demo data was before the thesis profile (commit
    // f5a0045), which this command wrote.
    let dir = tempfile::tempdir().unwrap();
    let args =
        ["--users", "3", "--minutes-per-user", "4", "--seed", "202", "--first-user", "101", "--profile", "classic"];
    let (path, output) = simulate(dir.path(), "classic.csv", &args);
    ok(&output);
    assert_eq!(fnv1a(&std::fs::read(path).unwrap()), 0x0159_b835_5634_0428);
}

#[test]
fn an_unknown_profile_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (_, output) = simulate(dir.path(), "x.csv", &["--profile", "realistic"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--profile") && stderr.contains("thesis, classic"), "{stderr}");
}

fn print_tables() -> String {
    let output =
        Command::new(env!("CARGO_BIN_EXE_har-monitor")).args(["simulate", "--print-thesis-tables"]).output().unwrap();
    ok(&output);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_printed_thesis_tables_given_back_write_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("tables.json");
    std::fs::write(&tables, print_tables()).unwrap();
    let args = ["--users", "2", "--minutes-per-user", "1", "--seed", "4"];
    let (builtin, output) = simulate(dir.path(), "builtin.csv", &args);
    ok(&output);
    let tables_arg = tables.to_str().unwrap();
    let (given, output) = simulate(dir.path(), "given.csv", &[&args[..], &["--thesis-tables", tables_arg]].concat());
    ok(&output);
    assert_eq!(std::fs::read(builtin).unwrap(), std::fs::read(given).unwrap());
}

#[test]
fn a_posture_tilt_and_lift_left_out_of_the_tables_are_7_degrees_and_1_and_a_larger_tilt_spreads_the_postures() {
    let dir = tempfile::tempdir().unwrap();
    let printed: serde_json::Value = serde_json::from_str(&print_tables()).unwrap();
    let with_tilt = |tilt: Option<f64>| {
        let mut tables = printed.clone();
        for movement in tables["motion"].as_array_mut().unwrap() {
            let movement = movement.as_object_mut().unwrap();
            match tilt {
                Some(t) => movement.insert("tilt_deg".into(), serde_json::json!(t)),
                None => movement.remove("tilt_deg"),
            };
            // The arm's lift as the classic movement makes it, written out or left out.
            match tilt {
                Some(_) => movement.insert("lift_gain".into(), serde_json::json!(1.0)),
                None => movement.remove("lift_gain"),
            };
        }
        tables
    };
    let only_standing = "--class-weights=".to_string()
        + &THESIS_CLASSES.iter().map(|c| format!("{c}={}", u8::from(*c == "standing"))).collect::<Vec<_>>().join(",");
    let args = ["--users", "8", "--minutes-per-user", "4", "--seed", "5", "--drift-after-min", "0"];
    let run = |name: &str, tables: &serde_json::Value| {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, tables.to_string()).unwrap();
        let extra = [only_standing.as_str(), "--thesis-tables", path.to_str().unwrap()];
        let (csv_path, output) = simulate(dir.path(), &format!("{name}.csv"), &[&args[..], &extra[..]].concat());
        ok(&output);
        csv_path
    };
    let seven = run("seven", &with_tilt(Some(7.0)));
    let left_out = run("left_out", &with_tilt(None));
    assert_eq!(std::fs::read(&seven).unwrap(), std::fs::read(&left_out).unwrap());

    // Where gravity falls, per 4 s window: its spread over one person's windows (the person's watch and habits
    // fixed) grows with the tilt of every bout.
    let spread = |csv_path: &Path| {
        let mut reader = csv::Reader::from_path(csv_path).unwrap();
        let mut users: std::collections::BTreeMap<String, Vec<[f64; 3]>> = Default::default();
        for r in reader.records() {
            let r = r.unwrap();
            users.entry(r[8].to_string()).or_default().push([
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
            ]);
        }
        let per_user: Vec<f64> = users
            .values()
            .map(|rows| {
                let means: Vec<[f64; 3]> = rows
                    .chunks_exact(200)
                    .map(|w| std::array::from_fn(|k| w.iter().map(|s| s[k]).sum::<f64>() / 200.0))
                    .collect();
                let n = means.len() as f64;
                (0..3)
                    .map(|k| {
                        let mean = means.iter().map(|m| m[k]).sum::<f64>() / n;
                        means.iter().map(|m| (m[k] - mean).powi(2)).sum::<f64>() / n
                    })
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        per_user.iter().sum::<f64>() / per_user.len() as f64
    };
    let still = spread(&run("still", &with_tilt(Some(0.0))));
    let tilted = spread(&run("tilted", &with_tilt(Some(20.0))));
    assert!(tilted > still * 3.0, "posture spread {still:.2} m/s² untilted, {tilted:.2} tilted 20°");
}

#[test]
fn other_thesis_tables_change_only_the_thesis_profile_and_bad_ones_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut tables: serde_json::Value = serde_json::from_str(&print_tables()).unwrap();
    // Standing with the forearm level instead of the arm hanging.
    for mode in tables["modes"][10].as_array_mut().unwrap() {
        mode["elevation"] = serde_json::json!(0.0);
    }
    let path = dir.path().join("level.json");
    std::fs::write(&path, tables.to_string()).unwrap();
    let args = ["--users", "1", "--minutes-per-user", "3", "--seed", "4", "--drift-after-min", "0"];
    let only_standing = "--class-weights=".to_string()
        + &THESIS_CLASSES.iter().map(|c| format!("{c}={}", u8::from(*c == "standing"))).collect::<Vec<_>>().join(",");
    let mean_ax = |csv_path: &Path| {
        let mut reader = csv::Reader::from_path(csv_path).unwrap();
        let values: Vec<f64> = reader.records().map(|r| r.unwrap()[1].parse().unwrap()).collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    let (builtin, output) = simulate(dir.path(), "builtin.csv", &[&args[..], &[only_standing.as_str()]].concat());
    ok(&output);
    let (level, output) = simulate(
        dir.path(),
        "level.csv",
        &[&args[..], &[only_standing.as_str(), "--thesis-tables", path.to_str().unwrap()]].concat(),
    );
    ok(&output);
    // The arm hanging reads Ax about -g in the thesis watch frame (one user in six has the watch turned: +g); the
    // level forearm reads Ax about 0.
    assert!(mean_ax(&builtin).abs() > 6.0, "builtin standing Ax {}", mean_ax(&builtin));
    assert!(mean_ax(&level).abs() < 2.5, "level standing Ax {}", mean_ax(&level));

    let (_, output) = simulate(
        dir.path(),
        "classic.csv",
        &[&args[..], &["--profile", "classic", "--thesis-tables", path.to_str().unwrap()]].concat(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only the thesis profile"));

    // Each value out of its range, alone: exit 2 naming the file, the field and the value; nothing is written.
    let bad = dir.path().join("bad.json");
    for (class, field, value) in [(3, "duty", 1.5), (10, "tilt_deg", 45.0), (9, "lift_gain", -0.5)] {
        let mut bad_tables = tables.clone();
        bad_tables["motion"][class][field] = serde_json::json!(value);
        std::fs::write(&bad, bad_tables.to_string()).unwrap();
        let (out, output) =
            simulate(dir.path(), "bad.csv", &[&args[..], &["--thesis-tables", bad.to_str().unwrap()]].concat());
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let named = format!("motion.{}.{field}", THESIS_CLASSES[class]);
        assert!(
            stderr.contains("bad.json") && stderr.contains(&named) && stderr.contains(&value.to_string()),
            "{stderr}"
        );
        assert!(!out.exists(), "nothing is written");
    }

    // The recording written over the tables it reads: refused, the tables kept.
    let kept = std::fs::read(&path).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_har-monitor"))
        .args(["simulate", "--users", "1", "--minutes-per-user", "0.1", "--out"])
        .arg(&path)
        .arg("--thesis-tables")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is the thesis tables"));
    assert_eq!(std::fs::read(&path).unwrap(), kept);

    std::fs::write(&bad, "{\"modes\": []}").unwrap();
    let (_, output) =
        simulate(dir.path(), "bad.csv", &[&args[..], &["--thesis-tables", bad.to_str().unwrap()]].concat());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not thesis tables"));
}
