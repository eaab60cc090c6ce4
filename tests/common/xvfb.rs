//! Whether a real X server can be had for a window: `xvfb-run` installed. CI sets `HAR_MONITOR_REQUIRE_XVFB=1`,
//! so there a missing Xvfb fails the test instead of skipping it.

use std::process::Command;

/// True when `xvfb-run` is installed; false (with a note on stderr) when it is not and not required.
pub fn available() -> bool {
    if Command::new("xvfb-run").arg("--help").output().is_ok() {
        return true;
    }
    assert!(std::env::var_os("HAR_MONITOR_REQUIRE_XVFB").is_none(), "xvfb-run is required here but not installed");
    eprintln!("xvfb-run is not installed: the window part is skipped (apt install xvfb)");
    false
}
