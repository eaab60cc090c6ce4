//! Finding (or, once, fetching) the ONNX Runtime shared library that `ort` loads at run time.
//!
//! Search order: an explicit path (command-line option), `ORT_DYLIB_PATH`, beside the executable (or where the
//! `.deb` puts it, `/usr/lib/har-monitor`), the per-user cache. When none has it, the pinned wheel is downloaded
//! from PyPI with `python3 -m pip download` (the one host this product may fetch from) and the library is
//! unpacked into the cache. `HAR_MONITOR_NO_FETCH=1` turns the download off. Nothing here panics: every failure
//! is a [`RuntimeError`] that says how to get the library.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The ONNX Runtime release this build is pinned to (the PyPI wheel `onnxruntime==ORT_VERSION`).
pub const ORT_VERSION: &str = "1.32.0";

/// Environment variable naming the library file explicitly (the same name `ort` itself uses).
pub const ENV_DYLIB: &str = "ORT_DYLIB_PATH";
/// Set to `1` to forbid the one-time download.
pub const ENV_NO_FETCH: &str = "HAR_MONITOR_NO_FETCH";

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "the ONNX Runtime library was not found (looked in: {tried}){fetch}.\n{advice}",
        tried = .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        fetch = .fetch_error.as_ref().map(|e| format!("; fetching it from PyPI failed: {e}")).unwrap_or_default(),
        advice = how_to_get_it(*.python)
    )]
    NotFound {
        tried: Vec<PathBuf>,
        fetch_error: Option<String>,
        /// Whether a Python interpreter is on `PATH` (the advice differs without one).
        python: bool,
    },
    /// `ORT_DYLIB_PATH` or `--ort-lib` names a path that is not a library file: that choice is wrong, and no
    /// other place is searched.
    #[error(
        "{named_by} names {path}, which {problem}. {advice}",
        advice = wrong_path_advice(named_by, .cached.as_deref(), *.python)
    )]
    WrongPath {
        /// `ORT_DYLIB_PATH` or `--ort-lib`.
        named_by: &'static str,
        path: PathBuf,
        /// "does not exist", "is a directory", ...
        problem: String,
        /// A library already in the per-user cache, which would be used without the wrong setting.
        cached: Option<PathBuf>,
        python: bool,
    },
    #[error(
        "the ONNX Runtime library {path} could not be loaded: {message}{named}",
        named = .named_by.map(|n| format!(
            " ({n} names this file: point it at a {} of ONNX Runtime {ORT_VERSION}, or unset it)",
            library_file_name()
        )).unwrap_or_default()
    )]
    Load { path: PathBuf, message: String, named_by: Option<&'static str> },
}

/// How to get the library by hand: with pip when there is a Python, else straight from PyPI's web page.
fn how_to_get_it(python: bool) -> String {
    let lib = library_file_name();
    let destination =
        cache_dir().map(|d| format!("into {}", d.display())).unwrap_or_else(|| "somewhere of your choice".to_string());
    let place = format!("copy onnxruntime/capi/{lib} {destination} (or point {ENV_DYLIB} or --ort-lib at it)");
    if python {
        format!(
            "Get it once with:\n  python3 -m pip download onnxruntime=={ORT_VERSION} --no-deps -d /tmp/ort\n\
             then unzip the wheel (a zip archive) and {place}"
        )
    } else {
        format!(
            "No Python was found to fetch it with pip. Get it by hand: download the onnxruntime {ORT_VERSION} wheel \
             for this system from https://pypi.org/project/onnxruntime/{ORT_VERSION}/#files, unzip it (a wheel is \
             a zip archive) and {place}"
        )
    }
}

/// What to do about a wrong `ORT_DYLIB_PATH` / `--ort-lib`: use the cached library when there is one, else get one.
fn wrong_path_advice(named_by: &str, cached: Option<&Path>, python: bool) -> String {
    let lib = library_file_name();
    let drop_it = if named_by == ENV_DYLIB { format!("unset {ENV_DYLIB}") } else { format!("leave out {named_by}") };
    match cached {
        Some(c) => format!(
            "To use the library already in the cache ({}), {drop_it}; or point {named_by} at an existing {lib}",
            c.display()
        ),
        None => format!(
            "Point {named_by} at an existing {lib}, or {drop_it} to let har-monitor find or fetch it. {}",
            how_to_get_it(python)
        ),
    }
}

/// Whether `python3` or `python` is an executable file in one of the `PATH` directories.
fn python_on_path() -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path).any(|dir| ["python3", "python"].iter().any(|name| is_executable(&dir.join(name))))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The library in the per-user cache, if a non-empty file is there.
fn cached_library() -> Option<PathBuf> {
    let cached = cache_dir()?.join(library_file_name());
    std::fs::metadata(&cached).is_ok_and(|m| m.is_file() && m.len() > 0).then_some(cached)
}

/// The error for a wrong explicit choice (`named_by` is `ORT_DYLIB_PATH` or `--ort-lib`).
fn wrong_path(named_by: &'static str, path: &Path) -> RuntimeError {
    let problem = match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => "is a directory, not the library file".to_string(),
        Ok(_) => "is not a regular file".to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    RuntimeError::WrongPath {
        named_by,
        path: path.to_path_buf(),
        problem,
        cached: cached_library(),
        python: python_on_path(),
    }
}

/// Where the library came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeOrigin {
    Explicit,
    Environment,
    BesideExecutable,
    Cache,
    Downloaded,
}

/// The library in use by this process.
#[derive(Debug, Clone)]
pub struct RuntimeInfo {
    pub path: PathBuf,
    pub origin: RuntimeOrigin,
    /// ONNX Runtime's own version string, e.g. `1.32.0`.
    pub version: String,
}

/// The process-wide runtime: `ort` allows one environment per process, and every session is built on it.
struct Loaded {
    info: RuntimeInfo,
    environment: ort::environment::Environment,
}

static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// The systems ONNX Runtime's PyPI wheels ship the library for, as far as finding it goes. Only Linux is built and
/// run here; the other two are what their wheels hold (checked against the 1.32.0 wheels: `win_amd64` has
/// `onnxruntime/capi/onnxruntime.dll`, `macosx_14_0_arm64` has `onnxruntime/capi/libonnxruntime.1.32.0.dylib`;
/// there is no x86-64 macOS wheel of 1.32.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    MacOs,
    Windows,
}

impl Platform {
    /// The system this build runs on.
    pub fn current() -> Platform {
        if cfg!(target_os = "windows") {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Linux
        }
    }

    /// The library's file name as the wheel ships it (and as the cache keeps it).
    pub fn library_file_name(self) -> String {
        match self {
            Platform::Windows => "onnxruntime.dll".to_string(),
            Platform::MacOs => format!("libonnxruntime.{ORT_VERSION}.dylib"),
            Platform::Linux => format!("libonnxruntime.so.{ORT_VERSION}"),
        }
    }

    /// Where the library is inside the wheel (a zip archive).
    pub fn wheel_entry(self) -> String {
        format!("onnxruntime/capi/{}", self.library_file_name())
    }

    /// The names the library may have beside the executable, best first: the wheel's, then the plain name that
    /// ONNX Runtime's own release archives and package managers link to.
    pub fn names_beside_executable(self) -> Vec<String> {
        let plain = match self {
            Platform::Windows => None,
            Platform::MacOs => Some("libonnxruntime.dylib"),
            Platform::Linux => Some("libonnxruntime.so"),
        };
        std::iter::once(self.library_file_name()).chain(plain.map(str::to_string)).collect()
    }
}

/// The platform's file name of the library as the PyPI wheel ships it.
pub fn library_file_name() -> String {
    Platform::current().library_file_name()
}

/// Where the library is looked for beside `exe_dir` (the folder of the executable, then its `lib/`, then
/// `../lib/har-monitor/` where the `.deb` installs it beside `/usr/bin`), best first.
pub fn beside_executable(exe_dir: &Path, platform: Platform) -> Vec<PathBuf> {
    let mut dirs = vec![exe_dir.to_path_buf(), exe_dir.join("lib")];
    if let Some(prefix) = exe_dir.parent() {
        dirs.push(prefix.join("lib").join("har-monitor"));
    }
    dirs.iter().flat_map(|dir| platform.names_beside_executable().into_iter().map(move |name| dir.join(name))).collect()
}

/// The per-user cache directory holding the library.
pub fn cache_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "har-monitor", "har-monitor")
        .map(|d| d.cache_dir().join(format!("onnxruntime-{ORT_VERSION}")))
}

/// The library loaded by this process, if any.
pub fn loaded() -> Option<RuntimeInfo> {
    LOADED.lock().ok().and_then(|g| g.as_ref().map(|l| l.info.clone()))
}

/// Makes sure the ONNX Runtime library is loaded into this process (once) and says which one it is.
pub fn ensure_loaded(explicit: Option<&Path>) -> Result<RuntimeInfo, RuntimeError> {
    environment(explicit).map(|(info, _)| info)
}

/// The loaded runtime and the environment that sessions are built on, loading the library on first use.
pub(crate) fn environment(
    explicit: Option<&Path>,
) -> Result<(RuntimeInfo, ort::environment::Environment), RuntimeError> {
    let mut guard = LOADED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = guard.as_ref() {
        return Ok((loaded.info.clone(), loaded.environment.clone()));
    }
    let (path, origin) = locate(explicit)?;
    let named_by = match origin {
        RuntimeOrigin::Explicit => Some("--ort-lib"),
        RuntimeOrigin::Environment => Some(ENV_DYLIB),
        _ => None,
    };
    // `init_from` checks the file's exported API and version before anything else touches it.
    let load_error = |message: String| RuntimeError::Load { path: path.clone(), message, named_by };
    let environment = ort::init_from(&path)
        .map_err(|e| load_error(e.to_string()))?
        .with_name("har-monitor")
        .build()
        .map_err(|e| load_error(e.to_string()))?;
    let version = version_from_build_info(ort::info()).unwrap_or_else(|| ORT_VERSION.to_string());
    let info = RuntimeInfo { path, origin, version };
    *guard = Some(Loaded { info: info.clone(), environment: environment.clone() });
    Ok((info, environment))
}

/// Pulls `1.32.0` out of ONNX Runtime's build-info string (`ORT Build Info: git-branch=rel-1.32.0, ...`).
fn version_from_build_info(info: &str) -> Option<String> {
    let start = info.find("rel-")? + 4;
    let rest = &info[start..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let v = &rest[..end];
    (!v.is_empty()).then(|| v.to_string())
}

/// Finds the library without loading it, fetching it into the cache when allowed.
pub fn locate(explicit: Option<&Path>) -> Result<(PathBuf, RuntimeOrigin), RuntimeError> {
    let mut tried = Vec::new();
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok((p.to_path_buf(), RuntimeOrigin::Explicit));
        }
        // An explicit choice that is wrong is an error, not a reason to look elsewhere.
        return Err(wrong_path("--ort-lib", p));
    }
    if let Some(p) = std::env::var_os(ENV_DYLIB).filter(|v| !v.is_empty()).map(PathBuf::from) {
        if p.is_file() {
            return Ok((p, RuntimeOrigin::Environment));
        }
        return Err(wrong_path(ENV_DYLIB, &p));
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        for candidate in beside_executable(&dir, Platform::current()) {
            if candidate.is_file() {
                return Ok((candidate, RuntimeOrigin::BesideExecutable));
            }
            tried.push(candidate);
        }
    }
    let Some(cache) = cache_dir() else {
        return Err(RuntimeError::NotFound {
            tried,
            fetch_error: Some("no home directory for a cache".into()),
            python: python_on_path(),
        });
    };
    let cached = cache.join(library_file_name());
    if cached.is_file() {
        return Ok((cached, RuntimeOrigin::Cache));
    }
    tried.push(cached.clone());
    if std::env::var(ENV_NO_FETCH).is_ok_and(|v| v == "1") {
        return Err(RuntimeError::NotFound {
            tried,
            fetch_error: Some(format!("{ENV_NO_FETCH}=1 forbids it")),
            python: python_on_path(),
        });
    }
    // Without a Python there is no pip to fetch with: say so at once instead of announcing a download.
    if !python_on_path() {
        return Err(RuntimeError::NotFound {
            tried,
            fetch_error: Some("no Python interpreter (python3, python) on PATH".into()),
            python: false,
        });
    }
    match fetch_into(&cache) {
        Ok(path) => Ok((path, RuntimeOrigin::Downloaded)),
        Err(e) => Err(RuntimeError::NotFound { tried, fetch_error: Some(e), python: python_on_path() }),
    }
}

/// Downloads the pinned wheel with pip and unpacks the library into `cache`. Safe against a concurrent fetch by
/// another process: each works in its own temporary directory and the final rename is atomic.
fn fetch_into(cache: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let work = cache.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let result = fetch_with_pip(&work, cache);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn fetch_with_pip(work: &Path, cache: &Path) -> Result<PathBuf, String> {
    eprintln!(
        "har-monitor: ONNX Runtime {ORT_VERSION} not found; fetching it once from PyPI with pip into {} ...",
        cache.display()
    );
    let mut last_error = String::from("no python interpreter found (tried python3, python)");
    let mut downloaded = false;
    for python in ["python3", "python"] {
        let output = Command::new(python)
            .args(["-m", "pip", "download", "--disable-pip-version-check", "--no-deps", "--only-binary=:all:"])
            .arg(format!("onnxruntime=={ORT_VERSION}"))
            .arg("-d")
            .arg(work)
            .output();
        match output {
            Ok(out) if out.status.success() => {
                downloaded = true;
                break;
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                last_error = format!(
                    "`{python} -m pip download onnxruntime=={ORT_VERSION}` failed: {}",
                    stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim()
                );
            }
            Err(_) => continue,
        }
    }
    if !downloaded {
        return Err(last_error);
    }
    let wheel = std::fs::read_dir(work)
        .map_err(|e| format!("cannot list {}: {e}", work.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| "pip reported success but left no wheel".to_string())?;
    let file = std::fs::File::open(&wheel).map_err(|e| format!("cannot open {}: {e}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{} is not a wheel: {e}", wheel.display()))?;
    let wanted = Platform::current().wheel_entry();
    let mut entry = archive.by_name(&wanted).map_err(|e| format!("{} holds no {wanted}: {e}", wheel.display()))?;
    let tmp = work.join(library_file_name());
    let mut out = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::io::copy(&mut entry, &mut out).map_err(|e| format!("cannot unpack {wanted}: {e}"))?;
    drop(out);
    let target = cache.join(library_file_name());
    std::fs::rename(&tmp, &target).map_err(|e| format!("cannot move the library to {}: {e}", target.display()))?;
    eprintln!("har-monitor: ONNX Runtime {ORT_VERSION} is now cached at {}", target.display());
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wheels' layouts, as listed from the real 1.32.0 wheels (`pip download onnxruntime==1.32.0 --no-deps
    /// --only-binary=:all: --platform win_amd64|macosx_14_0_arm64|manylinux_2_27_x86_64 --python-version 3.11`).
    #[test]
    fn each_platform_knows_its_wheel_entry_and_names() {
        assert_eq!(Platform::Windows.wheel_entry(), "onnxruntime/capi/onnxruntime.dll");
        assert_eq!(Platform::MacOs.wheel_entry(), "onnxruntime/capi/libonnxruntime.1.32.0.dylib");
        assert_eq!(Platform::Linux.wheel_entry(), "onnxruntime/capi/libonnxruntime.so.1.32.0");
        assert_eq!(Platform::Windows.names_beside_executable(), ["onnxruntime.dll"]);
        assert_eq!(Platform::MacOs.names_beside_executable(), ["libonnxruntime.1.32.0.dylib", "libonnxruntime.dylib"]);
        assert_eq!(Platform::Linux.names_beside_executable(), ["libonnxruntime.so.1.32.0", "libonnxruntime.so"]);
    }

    #[test]
    fn beside_the_executable_means_its_folder_then_lib() {
        let dir = Path::new("/opt/har-monitor");
        let found = beside_executable(dir, Platform::MacOs);
        assert_eq!(
            found,
            [
                dir.join("libonnxruntime.1.32.0.dylib"),
                dir.join("libonnxruntime.dylib"),
                dir.join("lib/libonnxruntime.1.32.0.dylib"),
                dir.join("lib/libonnxruntime.dylib"),
                Path::new("/opt/lib/har-monitor/libonnxruntime.1.32.0.dylib").to_path_buf(),
                Path::new("/opt/lib/har-monitor/libonnxruntime.dylib").to_path_buf(),
            ]
        );
        assert_eq!(
            beside_executable(dir, Platform::Windows),
            [
                dir.join("onnxruntime.dll"),
                dir.join("lib/onnxruntime.dll"),
                Path::new("/opt/lib/har-monitor/onnxruntime.dll").to_path_buf()
            ]
        );
        // The .deb: /usr/bin/har-monitor finds /usr/lib/har-monitor/libonnxruntime.so.1.32.0.
        assert_eq!(
            beside_executable(Path::new("/usr/bin"), Platform::Linux)[4..],
            [
                Path::new("/usr/lib/har-monitor/libonnxruntime.so.1.32.0"),
                Path::new("/usr/lib/har-monitor/libonnxruntime.so")
            ]
        );
    }

    /// A library beside the executable under its plain name (as ONNX Runtime's own archives name the link) is
    /// found: a real file in a temporary folder.
    #[test]
    fn the_plain_name_beside_the_executable_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so"), b"x").unwrap();
        let found: Vec<_> =
            beside_executable(dir.path(), Platform::Linux).into_iter().filter(|p| p.is_file()).collect();
        assert_eq!(found, [dir.path().join("libonnxruntime.so")]);
    }

    #[test]
    fn build_info_version_is_parsed() {
        let info = "ORT Build Info: git-branch=rel-1.32.0, git-commit-id=abc, build type=Release";
        assert_eq!(version_from_build_info(info).as_deref(), Some("1.32.0"));
        assert_eq!(version_from_build_info("no version here"), None);
    }

    #[test]
    fn explicit_missing_path_is_named_as_wrong() {
        let err = locate(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err().to_string();
        assert!(err.starts_with("--ort-lib names /nonexistent/libonnxruntime.so, which does not exist"), "{err}");
    }

    #[test]
    fn a_wrong_path_points_at_the_cache_when_it_holds_the_library() {
        let wrong = |cached: Option<&str>, python| RuntimeError::WrongPath {
            named_by: ENV_DYLIB,
            path: PathBuf::from("/nonexistent/lib.so"),
            problem: "does not exist".into(),
            cached: cached.map(PathBuf::from),
            python,
        };
        let err = wrong(Some("/cache/libonnxruntime.so.1.32.0"), true).to_string();
        assert!(
            err.contains("To use the library already in the cache") && err.contains("unset ORT_DYLIB_PATH"),
            "{err}"
        );
        assert!(err.contains("/cache/libonnxruntime.so.1.32.0"), "{err}");
        assert!(!err.contains("download"), "no download advice when the cache holds the library: {err}");
        let err = wrong(None, true).to_string();
        assert!(err.contains("unset ORT_DYLIB_PATH") && err.contains("pip download onnxruntime=="), "{err}");
        let err = wrong(None, false).to_string();
        assert!(err.contains("https://pypi.org/project/onnxruntime/") && !err.contains("pip download"), "{err}");
    }
}
