//! Ctrl-C (SIGINT) and SIGTERM as a flag the long-running commands poll, so they end cleanly: files flushed and
//! closed, the session summary written, the device released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once Ctrl-C or SIGTERM arrived.
#[derive(Debug, Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Installs the handler (once per process).
pub fn install() -> anyhow::Result<StopFlag> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    ctrlc::set_handler(move || set.store(true, Ordering::Relaxed))
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(StopFlag(flag))
}
