//! The bundled demo: where the demo model, its card and the demo recordings live on this machine.
//!
//! Looked up beside the executable first (a release archive puts `models/` and `data/` next to the binary), then in
//! the source tree the binary was built from (`cargo run`).

use std::path::{Path, PathBuf};

/// File stem of the bundled demo model.
pub const DEMO_MODEL_STEM: &str = "demo-1dcnn-bilstm";

/// Candidate roots that hold `models/demo` and `data/demo`, best first.
fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        roots.push(dir.clone());
        if let Some(parent) = dir.parent() {
            roots.push(parent.join("share").join("har-monitor"));
        }
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
}

fn find(relative: &Path) -> Option<PathBuf> {
    roots().into_iter().map(|r| r.join(relative)).find(|p| p.is_file())
}

/// The bundled demo model (`models/demo/demo-1dcnn-bilstm.onnx`), if it can be found.
pub fn demo_model() -> Option<PathBuf> {
    find(&Path::new("models").join("demo").join(format!("{DEMO_MODEL_STEM}.onnx")))
}

/// A bundled demo recording by file name (`data/demo/<name>`).
pub fn demo_data(name: &str) -> Option<PathBuf> {
    find(&Path::new("data").join("demo").join(name))
}

/// The production file that the GUI replays by default.
pub const DEMO_REPLAY: &str = "production_drift.csv";
/// The labeled file of users the demo model never saw.
pub const DEMO_LABELED: &str = "labeled_unseen_users.csv";
