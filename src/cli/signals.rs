//! Ctrl-C (SIGINT) and SIGTERM. One handler for the process, installed before any command runs (but `serve`, which
//! shuts down gracefully on its own):
//! - a long-running command that polls a [`StopFlag`] (`record`, `device`) is asked to stop and ends cleanly: files
//!   flushed and closed, the session summary written, the device released. A second signal does not wait for it;
//! - any other command (or a second signal) ends at once with exit code 130, after deleting the temporary files
//!   of the outputs it was writing: every target keeps its earlier content, and nothing is left beside it.

use std::sync::atomic::{AtomicBool, Ordering};

/// A command polls [`StopFlag`]s.
static POLLED: AtomicBool = AtomicBool::new(false);
/// Set once Ctrl-C or SIGTERM arrived.
static STOP: AtomicBool = AtomicBool::new(false);

/// The exit code of a command ended by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// Set once Ctrl-C or SIGTERM arrived (see [`polled`]).
#[derive(Debug, Clone, Copy)]
pub struct StopFlag;

impl StopFlag {
    pub fn requested(&self) -> bool {
        STOP.load(Ordering::Relaxed)
    }
}

/// Installs the handler (once per process, before the command runs).
pub fn install() -> anyhow::Result<()> {
    ctrlc::set_handler(on_signal).map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))
}

/// The calling command stops on its own when [`StopFlag::requested`]: the first signal only sets the flag.
pub fn polled() -> StopFlag {
    POLLED.store(true, Ordering::Relaxed);
    StopFlag
}

fn on_signal() {
    if POLLED.load(Ordering::Relaxed) && !STOP.swap(true, Ordering::Relaxed) {
        return;
    }
    let removed = har_monitor::output::remove_unfinished();
    match removed {
        0 => eprintln!("interrupted"),
        1 => eprintln!("interrupted: removed 1 unfinished output (the file it would replace is as it was)"),
        n => eprintln!("interrupted: removed {n} unfinished outputs (the files they would replace are as they were)"),
    }
    std::process::exit(INTERRUPTED);
}
