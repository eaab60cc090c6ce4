//! The inference engine against onnxruntime in Python: the users' two model shapes (a Keras 1D-CNN-BiLSTM exported
//! to ONNX, and a PyTorch-style NCT/logits graph with a fixed batch) must give the outputs that
//! `tests/fixtures/models/make_models.py` recorded with onnxruntime 1.32 in Python. Plus each way a model and its
//! card can disagree.

use std::path::{Path, PathBuf};

use har_monitor::model::{Engine, EngineOptions, ModelCard, ModelError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models").join(name)
}

fn read_f32(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn argmaxes(p: &[f32], k: usize) -> Vec<usize> {
    p.chunks_exact(k)
        .map(|row| row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best }))
        .collect()
}

#[test]
fn keras_bilstm_matches_onnxruntime_python() {
    let mut engine = Engine::load(&fixture("keras_bilstm.onnx"), &EngineOptions::default()).unwrap();
    assert_eq!(engine.inputs()[0].name, "input_layer", "names are read from the file");
    assert_eq!(engine.outputs()[0].name, "Identity:0");
    assert_eq!(engine.fixed_batch(), None, "dynamic batch");
    let windows = read_f32("reference_windows.f32");
    let expected = read_f32("keras_bilstm.ort_probabilities.f32");
    let got = engine.predict(&windows).unwrap();
    let diff = max_abs_diff(&got, &expected);
    assert!(diff < 1e-5, "max abs difference to onnxruntime-Python: {diff}");
    assert_eq!(argmaxes(&got, 11), argmaxes(&expected, 11));
    // Batch size must not change results: one window at a time gives the same numbers.
    let per = engine.window_len();
    for (i, w) in windows.chunks_exact(per).enumerate() {
        let single = engine.predict(w).unwrap();
        assert!(max_abs_diff(&single, &expected[i * 11..(i + 1) * 11]) < 1e-5, "window {i} alone");
    }
}

#[test]
fn torch_style_nct_logits_with_fixed_batch_matches_onnxruntime_python() {
    let mut engine = Engine::load(&fixture("torch_style_nct.onnx"), &EngineOptions::default()).unwrap();
    assert_eq!(engine.fixed_batch(), Some(4));
    assert_eq!(engine.inputs()[0].name, "input");
    // 10 windows: two full batches of 4 and one padded batch.
    let windows = read_f32("reference_windows.f32");
    let expected = read_f32("torch_style_nct.ort_probabilities.f32");
    let got = engine.predict(&windows).unwrap();
    assert_eq!(got.len(), 10 * 11);
    let diff = max_abs_diff(&got, &expected);
    assert!(diff < 1e-5, "max abs difference to onnxruntime-Python softmax(logits): {diff}");
    for row in got.chunks_exact(11) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "softmax applied to logits: {sum}");
    }
}

fn mismatch_message(model: &str, card: &str) -> String {
    let model = fixture(model);
    let card_path = fixture(card);
    let card = ModelCard::load(&card_path).unwrap();
    match Engine::load_with_card(&model, card, &card_path, &EngineOptions::default()) {
        Err(e @ ModelError::Mismatch { .. }) => {
            assert!(e.is_input_error());
            e.to_string()
        }
        Err(other) => panic!("expected a mismatch, got {other}"),
        Ok(_) => panic!("a card that disagrees with its graph was accepted"),
    }
}

#[test]
fn card_window_disagreeing_with_graph_names_both_numbers() {
    let msg = mismatch_message("keras_bilstm.onnx", "keras_bilstm_window100.model.json");
    assert!(msg.contains("200") && msg.contains("100") && msg.contains("window"), "{msg}");
    assert!(msg.contains("keras_bilstm.onnx") && msg.contains("keras_bilstm_window100.model.json"), "{msg}");
}

#[test]
fn card_classes_disagreeing_with_graph_names_both_numbers() {
    let msg = mismatch_message("torch_style_nct_10_classes.onnx", "torch_style_nct_10_classes.model.json");
    assert!(msg.contains("10") && msg.contains("11") && msg.contains("class"), "{msg}");
}

#[test]
fn card_layout_disagreeing_with_graph_is_refused() {
    let msg = mismatch_message("torch_style_nct.onnx", "torch_style_nct_as_ntc.model.json");
    assert!(msg.contains("NTC"), "{msg}");
}

#[test]
fn unreadable_model_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("broken.onnx");
    std::fs::write(&model, b"not a protobuf").unwrap();
    std::fs::copy(fixture("keras_bilstm.model.json"), dir.path().join("broken.model.json")).unwrap();
    let err = Engine::load(&model, &EngineOptions::default()).unwrap_err();
    assert!(matches!(err, ModelError::Open { .. }) && err.is_input_error(), "{err}");
    assert!(err.to_string().contains("broken.onnx"));
}

/// A card's `temperature` rescales every window's probabilities after the graph (and after the softmax of a
/// logits model): p_k^(1/T) / Σ_j p_j^(1/T), the predicted class unchanged.
#[test]
fn a_card_temperature_rescales_the_probabilities_of_both_model_shapes() {
    for (model, reference) in [
        ("keras_bilstm", "keras_bilstm.ort_probabilities.f32"),
        ("torch_style_nct", "torch_style_nct.ort_probabilities.f32"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(format!("{model}.onnx"));
        std::fs::copy(fixture(&format!("{model}.onnx")), &copy).unwrap();
        let mut card: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{model}.model.json"))).unwrap()).unwrap();
        card["temperature"] = serde_json::json!(2.0);
        std::fs::write(dir.path().join(format!("{model}.model.json")), card.to_string()).unwrap();

        let mut engine = Engine::load(&copy, &EngineOptions::default()).unwrap();
        assert_eq!(engine.card().temperature, Some(2.0));
        let got = engine.predict(&read_f32("reference_windows.f32")).unwrap();
        let raw = read_f32(reference);
        let expected: Vec<f32> = raw
            .chunks_exact(11)
            .flat_map(|row| {
                let powered: Vec<f64> = row.iter().map(|&p| f64::from(p).powf(0.5)).collect();
                let sum: f64 = powered.iter().sum();
                powered.into_iter().map(move |p| (p / sum) as f32)
            })
            .collect();
        let diff = max_abs_diff(&got, &expected);
        assert!(diff < 1e-5, "{model}: max abs difference to p^(1/T) normalised: {diff}");
        assert_eq!(argmaxes(&got, 11), argmaxes(&raw, 11), "{model}: the predicted classes do not change");
        assert!(max_abs_diff(&got, &raw) > 1e-3, "{model}: T = 2 does change the probabilities");
    }
}
