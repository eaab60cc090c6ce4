//! The model: its card, the ONNX Runtime library it runs on, and the inference engine.

pub mod card;

pub use card::{AccelUnit, CardError, InputLayout, ModelCard, OutputKind};
