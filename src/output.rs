//! Output files that a failed write never destroys: the new content goes to a temporary file in the target's own
//! directory, and only a complete, flushed file replaces the target (a rename, atomic on one file system). On any
//! error the earlier file is left as it was and the temporary file is removed.
//!
//! A target that exists and is not a regular file (`/dev/stdout`, a FIFO, a terminal) is written directly: it
//! has no earlier content to protect, and renaming over a device node would replace the node itself.
//!
//! A process stopped by a signal runs no destructor, so the temporary files in progress are also kept in a
//! registry: [`remove_unfinished`] deletes them, for the binary's Ctrl-C / SIGTERM handler.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed output write; the message names the file the user asked for.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct OutputError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl OutputError {
    pub fn new(path: &Path, source: io::Error) -> OutputError {
        OutputError { path: path.to_path_buf(), source }
    }
}

/// An output file being written. Write to it, then [`AtomicFile::commit`]; dropping it uncommitted removes the
/// temporary file and leaves the target untouched.
#[derive(Debug)]
pub struct AtomicFile {
    /// The path as the user gave it (for messages).
    path: PathBuf,
    /// Where the content ends up: the path itself, or the file a symbolic link points at.
    target: PathBuf,
    /// The temporary file, `None` when the target is written directly (not a regular file).
    temp: Option<PathBuf>,
    writer: BufWriter<File>,
}

/// Distinguishes the temporary files of several outputs written at once by one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary files of the outputs being written (created, neither committed nor dropped yet).
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held leaves it whole (every change is one push or one removal).
    UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn forget_unfinished(temp: &Path) {
    let mut list = unfinished();
    if let Some(i) = list.iter().position(|t| t == temp) {
        list.swap_remove(i);
    }
}

/// Deletes the temporary file of every output still being written, and returns how many there were. For a
/// process about to end by a signal (its destructors will not run): the targets keep their earlier content, and
/// no hidden `.NAME.PID-N.tmp` is left beside them. An output whose writer goes on after this fails at its commit.
pub fn remove_unfinished() -> usize {
    remove_unfinished_where(|_| true)
}

/// [`remove_unfinished`] for the temporary files `which` selects.
fn remove_unfinished_where(which: impl Fn(&Path) -> bool) -> usize {
    let mut list = unfinished();
    let mut removed = 0;
    list.retain(|temp| {
        if !which(temp) {
            return true;
        }
        let _ = std::fs::remove_file(temp);
        removed += 1;
        false
    });
    removed
}

impl AtomicFile {
    /// Starts writing `path`: creates a temporary file beside it (beside the file it links to, for a symbolic
    /// link). The parent directory must exist.
    pub fn create(path: &Path) -> Result<AtomicFile, OutputError> {
        let error = |source| OutputError::new(path, source);
        let existing = std::fs::metadata(path).ok();
        if let Some(meta) = &existing {
            if meta.is_dir() {
                return Err(error(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory")));
            }
            if !meta.is_file() {
                let file = OpenOptions::new().write(true).truncate(true).open(path).map_err(error)?;
                return Ok(AtomicFile {
                    path: path.to_path_buf(),
                    target: path.to_path_buf(),
                    temp: None,
                    writer: BufWriter::with_capacity(1 << 16, file),
                });
            }
        }
        let target = match existing {
            Some(_) => std::fs::canonicalize(path).map_err(error)?,
            None => path.to_path_buf(),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
        let mut attempt = 0;
        let (temp, file) = loop {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let temp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => break (temp, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(error(e)),
            }
        };
        unfinished().push(temp.clone());
        // Replacing a file keeps its permissions (a rename would otherwise give it the temporary file's).
        if let Some(meta) = existing {
            let _ = file.set_permissions(meta.permissions());
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            target,
            temp: Some(temp),
            writer: BufWriter::with_capacity(1 << 16, file),
        })
    }

    /// The path the user asked for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the content to the disk and puts it in place of the target.
    pub fn commit(mut self) -> Result<(), OutputError> {
        self.finish()?;
        self.replace_target()
    }

    /// Flushes and syncs the temporary file; the target is not touched yet.
    fn finish(&mut self) -> Result<(), OutputError> {
        let error = |source| OutputError::new(&self.path, source);
        self.writer.flush().map_err(error)?;
        if self.temp.is_some() {
            self.writer.get_ref().sync_all().map_err(error)?;
        }
        Ok(())
    }

    fn replace_target(&mut self) -> Result<(), OutputError> {
        if let Some(temp) = &self.temp {
            std::fs::rename(temp, &self.target).map_err(|e| OutputError::new(&self.path, e))?;
            forget_unfinished(temp);
            self.temp = None;
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(&temp);
            forget_unfinished(&temp);
        }
    }
}

/// Commits several outputs together: every file is flushed to the disk first, and only when all of them are
/// complete does any target get replaced. A failure while writing therefore leaves all earlier files as they
/// were (the renames themselves do not fail on a full disk).
pub fn commit_all(mut files: Vec<AtomicFile>) -> Result<(), OutputError> {
    for f in &mut files {
        f.finish()?;
    }
    for f in &mut files {
        f.replace_target()?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| OutputError::new(path, e))?;
    file.commit()
}

/// Whether two paths name the same file: the same canonical path, or (on Unix, when both exist) the same inode,
/// which also catches hard links. A path that does not exist yet is compared through its canonical parent.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    match (canonical(a), canonical(b)) {
        (Some(ca), Some(cb)) => ca == cb,
        _ => false,
    }
}

/// The canonical form of a path that may not exist yet (its parent canonicalised, the file name appended).
fn canonical(path: &Path) -> Option<PathBuf> {
    if let Ok(c) = std::fs::canonicalize(path) {
        return Some(c);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::canonicalize(parent).ok().map(|p| p.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn an_uncommitted_file_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"new, but never committed").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn remove_unfinished_deletes_the_files_in_progress_and_not_the_committed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, interrupted) = (dir.path().join("kept.csv"), dir.path().join("interrupted.csv"));
        std::fs::write(&interrupted, "old").unwrap();
        let mut done = AtomicFile::create(&kept).unwrap();
        done.write_all(b"complete").unwrap();
        let mut open = AtomicFile::create(&interrupted).unwrap();
        open.write_all(b"half of it").unwrap();
        open.flush().unwrap();
        done.commit().unwrap();
        assert_eq!(leftovers(dir.path()).len(), 1, "the open file's temporary is there before");
        // Only this test's directory: other tests write their outputs at the same time.
        assert_eq!(remove_unfinished_where(|t| t.parent().and_then(Path::file_name) == dir.path().file_name()), 1);
        assert!(leftovers(dir.path()).is_empty(), "{:?}", leftovers(dir.path()));
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "complete");
        assert_eq!(std::fs::read_to_string(&interrupted).unwrap(), "old");
        let err = open.commit().unwrap_err();
        assert!(err.to_string().contains("interrupted.csv"), "{err}");
        assert_eq!(std::fs::read_to_string(&interrupted).unwrap(), "old");
    }

    #[test]
    fn a_committed_file_replaces_the_target_and_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_bytes(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_symbolic_link_is_followed_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_device_is_written_directly() {
        write_bytes(Path::new("/dev/null"), b"discarded").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file(), "the device node is still a device");
        let err = write_bytes(Path::new("/dev/full"), &[0; 100_000]).unwrap_err();
        assert!(err.to_string().contains("/dev/full"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_file() {
        let err = write_bytes(Path::new("/nonexistent-dir/x.csv"), b"x").unwrap_err();
        assert!(err.to_string().starts_with("cannot write /nonexistent-dir/x.csv: "), "{err}");
    }

    #[test]
    fn same_file_sees_through_spellings_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "x").unwrap();
        let hard = dir.path().join("hard.csv");
        std::fs::hard_link(&a, &hard).unwrap();
        assert!(same_file(&a, &dir.path().join(".").join("a.csv")));
        assert!(same_file(&a, &hard));
        assert!(!same_file(&a, &dir.path().join("b.csv")));
        let missing = dir.path().join("new.csv");
        assert!(same_file(&missing, &dir.path().join("./new.csv")));
    }
}
