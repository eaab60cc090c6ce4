//! The installable packages as a user gets them (docs/FORMATS.md §10): `dist/build.sh` packages this test build
//! (`--profile dev --no-build`: the layout and the self-containment are what is checked, not the optimisation),
//! the archive is unpacked into a temporary folder and run from there with an empty `HOME`, no fetching
//! (`HAR_MONITOR_NO_FETCH=1`), no `ORT_DYLIB_PATH` and the working directory outside the source tree: `info`,
//! `evaluate` on the bundled demo data and `gui --screenshot` must work, with the runtime and the demo found beside
//! the executable. The `.deb`'s file list and control fields are checked, and its files, unpacked with
//! `dpkg-deb -x`, run the same way.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

const ORT: &str = har_monitor::model::runtime::ORT_VERSION;

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The packages, built once for all the tests of this file.
struct Packages {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

fn packages() -> &'static Packages {
    static PACKAGES: OnceLock<Packages> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let exe = Path::new(env!("CARGO_BIN_EXE_har-monitor"));
        let status = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/build.sh"))
            .args(["--profile", "dev", "--no-build", "--fast", "--out"])
            .arg(&out)
            // cargo-deb and the script find this build where cargo put it.
            .env("CARGO_TARGET_DIR", exe.parent().and_then(Path::parent).unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "dist/build.sh failed: {status}");
        Packages { _dir: dir, out }
    })
}

fn archive_name() -> String {
    format!("har-monitor-{}-x86_64-unknown-linux-gnu", version())
}

fn deb_path() -> PathBuf {
    packages().out.join(format!("har-monitor_{}-1_amd64.deb", version()))
}

/// A command that runs `exe` as on a machine that never saw this project: empty home, no fetching, no runtime
/// named by the environment, started in `cwd`.
fn isolated(exe: &Path, home: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(exe);
    c.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", home).env("HAR_MONITOR_NO_FETCH", "1").current_dir(cwd);
    c
}

fn unpack_archive(into: &Path) -> PathBuf {
    let archive = packages().out.join(format!("{}.tar.gz", archive_name()));
    let status = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(into).status().unwrap();
    assert!(status.success());
    into.join(archive_name())
}

/// `info` from the unpacked folder: the demo model and ONNX Runtime both come from beside the executable.
fn check_info(exe: &Path, home: &Path, cwd: &Path, model_root: &Path, runtime: &Path) {
    let (code, stdout, stderr) = common::cli::run(isolated(exe, home, cwd).arg("info"));
    assert_eq!(code, 0, "{stderr}");
    let model = model_root.join("models/demo/demo-1dcnn-bilstm.onnx");
    assert!(stdout.contains(&format!("file       {}", model.display())), "the bundled demo beside it: {stdout}");
    assert!(
        stdout.contains(&format!("runtime    ONNX Runtime {ORT} (BesideExecutable) {}", runtime.display())),
        "the bundled runtime: {stdout}"
    );
}

#[test]
fn the_archive_runs_unpacked_with_an_empty_home_and_no_network() {
    let root = tempfile::tempdir().unwrap();
    let app = unpack_archive(root.path());
    let home = root.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let exe = app.join("har-monitor");
    for file in [
        format!("libonnxruntime.so.{ORT}"),
        "models/demo/demo-1dcnn-bilstm.onnx".into(),
        "models/demo/demo-1dcnn-bilstm.model.json".into(),
        "models/demo/demo-1dcnn-bilstm.baseline.json".into(),
        "data/demo/labeled_unseen_users.csv".into(),
        "data/demo/production_drift.csv".into(),
        "share/har-monitor.png".into(),
        "share/har-monitor.desktop".into(),
        "LICENSE".into(),
        "licenses/ONNXRUNTIME-LICENSE.txt".into(),
        "licenses/ONNXRUNTIME-ThirdPartyNotices.txt".into(),
        "licenses/fonts/LICENSE-DejaVu.txt".into(),
        "licenses/fonts/egui-OFL.txt".into(),
        "licenses/fonts/egui-UFL.txt".into(),
        "README.txt".into(),
    ] {
        assert!(app.join(&file).is_file(), "the archive holds {file}");
    }
    let readme = std::fs::read_to_string(app.join("README.txt")).unwrap();
    assert!(readme.contains(version()) && readme.contains(ORT) && !readme.contains('@'), "{readme}");

    check_info(&exe, &home, root.path(), &app, &app.join(format!("libonnxruntime.so.{ORT}")));

    // `evaluate` on the bundled demo data: the same report as this build gives from the source tree.
    let report = root.path().join("report");
    let (code, _, stderr) = common::cli::run(
        isolated(&exe, &home, root.path())
            .args(["evaluate", "--data"])
            .arg(app.join("data/demo/labeled_unseen_users.csv"))
            .arg("--out")
            .arg(&report),
    );
    assert_eq!(code, 0, "{stderr}");
    let reference = root.path().join("reference");
    let (code, _, stderr) = common::cli::run(
        common::cli::bin()
            .args(["evaluate", "--data"])
            .arg(common::gui::manifest("data/demo/labeled_unseen_users.csv"))
            .arg("--out")
            .arg(&reference),
    );
    assert_eq!(code, 0, "{stderr}");
    let metrics = |dir: &Path| {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        (report["accuracy"].clone(), report["cohen_kappa"].clone(), report["confusion_matrix"].clone())
    };
    assert_eq!(metrics(&report), metrics(&reference));
    assert!(metrics(&report).0.as_f64().is_some_and(|a| a > 0.5), "a real evaluation");

    // The app itself, in a real window under Xvfb.
    if common::xvfb::available() {
        let shot = root.path().join("shot.png");
        let status = Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24"])
            .arg(&exe)
            .args(["gui", "--screenshot"])
            .arg(&shot)
            .args(["--screenshot-after", "2"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &home)
            .env("HAR_MONITOR_NO_FETCH", "1")
            .current_dir(root.path())
            .status()
            .unwrap();
        assert!(status.success(), "gui --screenshot: {status}");
        let image = image::open(&shot).unwrap();
        assert_eq!((image.width(), image.height()), (1280, 800));
    }
    // Nothing was fetched into the empty home.
    assert!(!home.join(".cache/har-monitor").exists(), "no runtime was fetched");
}

#[test]
fn the_sha256_files_match_the_packages() {
    let out = &packages().out;
    for file in [format!("{}.tar.gz.sha256", archive_name()), format!("har-monitor_{}-1_amd64.deb.sha256", version())] {
        let status = Command::new("sha256sum").arg("-c").arg(&file).current_dir(out).status().unwrap();
        assert!(status.success(), "{file} matches");
    }
}

#[test]
fn the_deb_installs_the_files_in_the_usual_places_and_they_run() {
    let deb = deb_path();
    let listing = Command::new("dpkg-deb").arg("--contents").arg(&deb).output().unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let files: Vec<&str> =
        listing.lines().filter_map(|l| l.split_whitespace().nth(5)).map(|p| p.trim_start_matches('.')).collect();
    for expected in [
        "/usr/bin/har-monitor".to_string(),
        format!("/usr/lib/har-monitor/libonnxruntime.so.{ORT}"),
        "/usr/share/har-monitor/models/demo/demo-1dcnn-bilstm.onnx".into(),
        "/usr/share/har-monitor/models/demo/demo-1dcnn-bilstm.model.json".into(),
        "/usr/share/har-monitor/models/demo/demo-1dcnn-bilstm.baseline.json".into(),
        "/usr/share/har-monitor/data/demo/labeled_unseen_users.csv".into(),
        "/usr/share/har-monitor/data/demo/production_drift.csv".into(),
        "/usr/share/applications/har-monitor.desktop".into(),
        "/usr/share/icons/hicolor/256x256/apps/har-monitor.png".into(),
        "/usr/share/doc/har-monitor/copyright".into(),
        "/usr/share/doc/har-monitor/ONNXRUNTIME-LICENSE.txt".into(),
        "/usr/share/doc/har-monitor/ONNXRUNTIME-ThirdPartyNotices.txt".into(),
        "/usr/share/doc/har-monitor/fonts/LICENSE-DejaVu.txt".into(),
    ] {
        assert!(files.contains(&expected.as_str()), "the .deb installs {expected}: {listing}");
    }
    let field = |name: &str| {
        let out = Command::new("dpkg-deb").arg("--field").arg(&deb).arg(name).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(field("Package"), "har-monitor");
    assert_eq!(field("Version"), format!("{}-1", version()));
    assert_eq!(field("Architecture"), "amd64");

    // Its files in a scratch root: /usr/bin/har-monitor finds /usr/lib/har-monitor and /usr/share/har-monitor.
    let root = tempfile::tempdir().unwrap();
    let status = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()).status().unwrap();
    assert!(status.success());
    let home = root.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let usr = root.path().join("usr");
    check_info(
        &usr.join("bin/har-monitor"),
        &home,
        root.path(),
        &usr.join("share/har-monitor"),
        &usr.join(format!("lib/har-monitor/libonnxruntime.so.{ORT}")),
    );
}
