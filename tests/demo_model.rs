//! The bundled demo model scored on the bundled held-out users gives exactly the test numbers that
//! `models/tools/train_demo.py` computed with scikit-learn and wrote to `models/demo/test_metrics.json` (and
//! `TRAINING.md`): the app's loader, windowing, scaler, engine and metrics reproduce the Python pipeline.

use std::path::Path;

use har_monitor::model::{Engine, EngineOptions};
use har_monitor::pipeline::batch::{BatchOptions, score_file};

#[test]
fn demo_model_reproduces_the_training_test_metrics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("models/demo/test_metrics.json")).unwrap()).unwrap();
    let mut engine = Engine::load(&root.join("models/demo/demo-1dcnn-bilstm.onnx"), &EngineOptions::default()).unwrap();
    let scored = score_file(
        &mut engine,
        &root.join("data/demo/labeled_unseen_users.csv"),
        &BatchOptions::default(),
        &mut |_, _| true,
    )
    .unwrap();
    let report = scored.evaluation_report(&engine).unwrap();
    let close = |a: f64, b: &serde_json::Value, what: &str| {
        let b = b.as_f64().unwrap_or_else(|| panic!("{what} in test_metrics.json"));
        assert!((a - b).abs() < 1e-9, "{what}: app {a} vs training script {b}");
    };
    assert_eq!(report.windows.used, expected["windows"]["used"].as_u64().unwrap());
    close(report.accuracy, &expected["accuracy"], "accuracy");
    close(report.cohen_kappa.unwrap(), &expected["cohen_kappa"], "cohen_kappa");
    for avg in ["precision", "recall", "f1"] {
        let macro_avg = match avg {
            "precision" => report.macro_avg.precision,
            "recall" => report.macro_avg.recall,
            _ => report.macro_avg.f1,
        };
        close(macro_avg, &expected["macro"][avg], &format!("macro {avg}"));
    }
    let matrix: Vec<Vec<u64>> = serde_json::from_value(expected["confusion_matrix"].clone()).unwrap();
    assert_eq!(report.confusion_matrix.rows(), matrix, "confusion matrix");
    for (got, want) in report.per_class.iter().zip(expected["per_class"].as_array().unwrap()) {
        assert_eq!(got.class, want["class"].as_str().unwrap());
        close(got.f1, &want["f1"], &format!("{} f1", got.class));
        assert_eq!(got.support, want["support"].as_u64().unwrap());
    }
}
