//! The model: its card, the ONNX Runtime library it runs on, and the inference engine.

pub mod card;
pub mod engine;
pub mod runtime;

pub use card::{AccelUnit, CardError, InputLayout, ModelCard, OutputKind};
pub use engine::{Engine, EngineOptions, ModelError, TensorInfo};
pub use runtime::{RuntimeError, RuntimeInfo};
