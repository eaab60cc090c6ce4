//! Ctrl-C or SIGTERM in the middle of a long write (`simulate` of many users): the command ends with exit 130,
//! says so, the file it was replacing keeps its earlier content, and no hidden temporary file is left beside it.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::{bin, signal_and_wait};

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_signal_during_a_write_keeps_the_earlier_file_and_leaves_no_temporary() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sim.csv");
        std::fs::write(&out, "the earlier file\n").unwrap();
        // Hours of data: it is still writing when the signal comes.
        let mut child = bin()
            .args(["simulate", "--users", "200", "--minutes-per-user", "600", "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the temporary file has content: the write is under way.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let writing = std::fs::read_dir(dir.path()).unwrap().any(|e| {
                let e = e.unwrap();
                e.file_name().to_string_lossy().ends_with(".tmp") && e.metadata().is_ok_and(|m| m.len() > 100_000)
            });
            if writing {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "simulate ended before the signal");
            assert!(Instant::now() < deadline, "no temporary file grew: {:?}", entries(dir.path()));
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = signal_and_wait(&mut child, signal, Duration::from_secs(20));
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(status.code(), Some(130), "signal {signal}: {status}, {stderr}");
        assert!(stderr.contains("interrupted: removed 1 unfinished output"), "{stderr}");
        assert_eq!(entries(dir.path()), ["sim.csv"], "signal {signal}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "the earlier file\n");
    }
}
