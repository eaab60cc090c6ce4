//! Models to put into a test registry: the fixture and demo models copied (with their cards and baselines) into a
//! folder, optionally with a changed card, so that each test has distinct bytes to import.

use std::path::{Path, PathBuf};

/// A path inside the repository.
pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The Keras-converted fixture (thesis architecture, dynamic batch).
pub fn keras() -> PathBuf {
    repo("tests/fixtures/models/keras_bilstm.onnx")
}

/// The small PyTorch-style fixture (NCT, logits, fixed batch 4).
pub fn torch() -> PathBuf {
    repo("tests/fixtures/models/torch_style_nct.onnx")
}

/// The bundled demo model (with its baseline).
pub fn demo() -> PathBuf {
    repo("models/demo/demo-1dcnn-bilstm.onnx")
}

/// Copies `model` with its card (and the baseline beside it, if any) into `dir` as `<stem>.onnx`, applying
/// `edit` to the card's JSON; returns the copied model's path.
pub fn copy_model(model: &Path, dir: &Path, stem: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let from_stem = model.file_stem().unwrap().to_string_lossy().into_owned();
    let target = dir.join(format!("{stem}.onnx"));
    std::fs::copy(model, &target).unwrap();
    let card_from = model.with_file_name(format!("{from_stem}.model.json"));
    let mut card: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(card_from).unwrap()).unwrap();
    let baseline_from = model.with_file_name(format!("{from_stem}.baseline.json"));
    if baseline_from.is_file() {
        std::fs::copy(&baseline_from, dir.join(format!("{stem}.baseline.json"))).unwrap();
        card["baseline"] = serde_json::json!(format!("{stem}.baseline.json"));
    }
    edit(&mut card);
    std::fs::write(dir.join(format!("{stem}.model.json")), serde_json::to_string_pretty(&card).unwrap()).unwrap();
    target
}

/// SHA-256 of a file as lowercase hex (computed here, not by the registry).
pub fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}
