//! The inference engine: one ONNX Runtime session per model, checked against its card at load, that turns
//! scaled windows (`[t][c]` floats, the scaler's output) into class probabilities.
//!
//! The engine hides the model's quirks from its callers: input layout (`NTC` or `NCT`), a fixed or dynamic batch
//! dimension, and logits versus probabilities. Tensor names are read from the file, never assumed.

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Tensor, TensorElementType, ValueType};

use super::card::{CardError, InputLayout, ModelCard, OutputKind};
use super::runtime::{self, RuntimeError, RuntimeInfo};

/// Windows per inference call when scoring files. Measured on a 2-core machine: larger batches gain nothing.
pub const DEFAULT_BATCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("cannot open model {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("model {model} does not fit its card {card}: {problem}")]
    Mismatch { model: PathBuf, card: PathBuf, problem: String },
    #[error("inference failed on model {path}: {message}")]
    Inference { path: PathBuf, message: String },
}

impl ModelError {
    /// True when the user's files or setup are at fault (exit code 2), false for an internal failure.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, ModelError::Inference { .. })
    }
}

/// How to build a session.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Explicit path of the ONNX Runtime library (otherwise the search in [`runtime`] applies).
    pub runtime_library: Option<PathBuf>,
    /// Threads inside one inference call; 0 lets ONNX Runtime choose (one per core).
    pub intra_threads: usize,
    /// Windows per inference call for dynamic-batch graphs; 0 means [`DEFAULT_BATCH`]. A fixed-batch graph always
    /// runs its own batch size.
    pub batch_size: usize,
}

/// Name, element type and shape (`-1` for a dynamic dimension) of a graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub element_type: String,
    pub shape: Vec<i64>,
}

impl std::fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(|d| if *d < 0 { "?".into() } else { d.to_string() }).collect();
        write!(f, "{} {}[{}]", self.name, self.element_type, dims.join(", "))
    }
}

/// A loaded model ready to run.
pub struct Engine {
    session: Session,
    card: ModelCard,
    model_path: PathBuf,
    card_path: PathBuf,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    /// Index of the output that holds the class scores.
    output_index: usize,
    /// The graph's batch size when it is fixed.
    fixed_batch: Option<usize>,
    /// Windows per call for a dynamic batch.
    batch_size: usize,
    runtime: RuntimeInfo,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("model", &self.model_path).field("card", &self.card.name).finish()
    }
}

fn tensor_info(name: &str, dtype: &ValueType) -> TensorInfo {
    match dtype {
        ValueType::Tensor { ty, shape, .. } => {
            TensorInfo { name: name.to_string(), element_type: format!("{ty:?}").to_lowercase(), shape: shape.to_vec() }
        }
        other => TensorInfo { name: name.to_string(), element_type: format!("{other:?}"), shape: Vec::new() },
    }
}

impl Engine {
    /// Loads `model` and the card beside it (`<stem>.model.json`).
    pub fn load(model: &Path, options: &EngineOptions) -> Result<Engine, ModelError> {
        if !model.is_file() {
            return Err(ModelError::Open { path: model.to_path_buf(), message: "no such file".into() });
        }
        let card_path = ModelCard::path_for_model(model);
        let card = ModelCard::load_for_model(model)?;
        Self::load_with_card(model, card, &card_path, options)
    }

    /// Loads `model` with a card obtained elsewhere; `card_path` is only used in messages.
    pub fn load_with_card(
        model: &Path,
        card: ModelCard,
        card_path: &Path,
        options: &EngineOptions,
    ) -> Result<Engine, ModelError> {
        if !model.is_file() {
            return Err(ModelError::Open { path: model.to_path_buf(), message: "no such file".into() });
        }
        let (runtime, environment) = runtime::environment(options.runtime_library.as_deref())?;
        let open_error = |e: ort::Error| ModelError::Open { path: model.to_path_buf(), message: e.to_string() };
        let mut builder = Session::builder(&environment)
            .map_err(open_error)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| open_error(e.into()))?;
        if options.intra_threads > 0 {
            builder = builder.with_intra_threads(options.intra_threads).map_err(|e| open_error(e.into()))?;
        }
        let session = builder.commit_from_file(model).map_err(open_error)?;
        let inputs: Vec<TensorInfo> = session.inputs().iter().map(|o| tensor_info(o.name(), o.dtype())).collect();
        let outputs: Vec<TensorInfo> = session.outputs().iter().map(|o| tensor_info(o.name(), o.dtype())).collect();
        let mismatch = |problem: String| ModelError::Mismatch {
            model: model.to_path_buf(),
            card: card_path.to_path_buf(),
            problem,
        };
        let (fixed_batch, output_index) = check_graph_against_card(&card, &inputs, &outputs).map_err(mismatch)?;
        Ok(Engine {
            session,
            card,
            model_path: model.to_path_buf(),
            card_path: card_path.to_path_buf(),
            inputs,
            outputs,
            output_index,
            fixed_batch,
            batch_size: if options.batch_size == 0 { DEFAULT_BATCH } else { options.batch_size },
            runtime,
        })
    }

    pub fn card(&self) -> &ModelCard {
        &self.card
    }
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }
    pub fn card_path(&self) -> &Path {
        &self.card_path
    }
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }
    pub fn batch_size(&self) -> usize {
        self.fixed_batch.unwrap_or(self.batch_size)
    }
    pub fn fixed_batch(&self) -> Option<usize> {
        self.fixed_batch
    }
    pub fn runtime(&self) -> &RuntimeInfo {
        &self.runtime
    }
    pub fn n_classes(&self) -> usize {
        self.card.classes.len()
    }
    /// Floats in one scaled window (`window × channels`).
    pub fn window_len(&self) -> usize {
        self.card.window * self.card.channels.len()
    }

    /// Runs the model on `windows`: consecutive scaled windows, each `window × channels` floats in `[t][c]` order.
    /// Returns `n × classes` probabilities (softmax applied here when the card says the graph gives logits).
    pub fn predict(&mut self, windows: &[f32]) -> Result<Vec<f32>, ModelError> {
        let per = self.window_len();
        if per == 0 || !windows.len().is_multiple_of(per) {
            return Err(self.inference_error(format!(
                "input holds {} floats, not a whole number of {}-float windows",
                windows.len(),
                per
            )));
        }
        let n = windows.len() / per;
        let mut probabilities = Vec::with_capacity(n * self.n_classes());
        match self.fixed_batch {
            None => {
                for chunk in windows.chunks(self.batch_size * per) {
                    self.run_batch(chunk, chunk.len() / per, &mut probabilities)?;
                }
            }
            Some(batch) => {
                // A fixed batch: run full batches, and pad the last one with zeros, keeping only the real rows.
                let mut padded = Vec::new();
                for chunk in windows.chunks(batch * per) {
                    let rows = chunk.len() / per;
                    let input = if rows == batch {
                        chunk
                    } else {
                        padded.clear();
                        padded.extend_from_slice(chunk);
                        padded.resize(batch * per, 0.0);
                        &padded[..]
                    };
                    let before = probabilities.len();
                    self.run_batch(input, batch, &mut probabilities)?;
                    probabilities.truncate(before + rows * self.n_classes());
                }
            }
        }
        Ok(probabilities)
    }

    fn inference_error(&self, message: String) -> ModelError {
        ModelError::Inference { path: self.model_path.clone(), message }
    }

    /// Runs one call of `n` windows and appends `n × classes` probabilities.
    fn run_batch(&mut self, windows: &[f32], n: usize, out: &mut Vec<f32>) -> Result<(), ModelError> {
        let t = self.card.window;
        let c = self.card.channels.len();
        let k = self.n_classes();
        let (shape, data) = match self.card.input_layout {
            InputLayout::Ntc => ([n, t, c], windows.to_vec()),
            InputLayout::Nct => {
                let mut data = vec![0.0f32; windows.len()];
                for (src, dst) in windows.chunks_exact(t * c).zip(data.chunks_exact_mut(t * c)) {
                    for ti in 0..t {
                        for ci in 0..c {
                            dst[ci * t + ti] = src[ti * c + ci];
                        }
                    }
                }
                ([n, c, t], data)
            }
        };
        let tensor = Tensor::from_array((shape, data)).map_err(|e| self.inference_error(e.to_string()))?;
        let input_name = self.inputs.first().map(|i| i.name.clone()).unwrap_or_default();
        let output_index = self.output_index;
        let path = self.model_path.clone();
        let err = |message: String| ModelError::Inference { path: path.clone(), message };
        let outputs = self.session.run(ort::inputs![input_name.as_str() => tensor]).map_err(|e| err(e.to_string()))?;
        let (out_shape, values) = outputs[output_index].try_extract_tensor::<f32>().map_err(|e| err(e.to_string()))?;
        if values.len() != n * k {
            return Err(err(format!(
                "output has shape {:?} ({} values), expected {n} × {k}",
                out_shape.to_vec(),
                values.len()
            )));
        }
        let start = out.len();
        out.extend_from_slice(values);
        if self.card.output == OutputKind::Logits {
            for row in out[start..].chunks_exact_mut(k) {
                softmax_in_place(row);
            }
        }
        if let Some(temperature) = self.card.temperature {
            for row in out[start..].chunks_exact_mut(k) {
                crate::numeric::apply_temperature(row, temperature);
            }
        }
        Ok(())
    }
}

/// Numerically stable softmax.
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// Checks rank, window, channels and classes of the graph against the card. Returns the fixed batch size (if the
/// batch dimension is fixed) and which output holds the class scores.
fn check_graph_against_card(
    card: &ModelCard,
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
) -> Result<(Option<usize>, usize), String> {
    let input = match inputs {
        [one] => one,
        [] => return Err("the graph has no inputs".into()),
        many => {
            return Err(format!(
                "the graph has {} inputs ({}); a HAR model takes one window tensor",
                many.len(),
                many.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    };
    if input.element_type != format!("{:?}", TensorElementType::Float32).to_lowercase() {
        return Err(format!("input `{}` is {}, expected float32", input.name, input.element_type));
    }
    if input.shape.len() != 3 {
        return Err(format!(
            "input `{}` has rank {} (shape {:?}); the card's input_layout {:?} needs rank 3",
            input.name,
            input.shape.len(),
            input.shape,
            card.input_layout
        ));
    }
    let (time_axis, channel_axis, layout) = match card.input_layout {
        InputLayout::Ntc => (1, 2, "NTC"),
        InputLayout::Nct => (2, 1, "NCT"),
    };
    let window = input.shape[time_axis];
    if window >= 0 && window as usize != card.window {
        return Err(format!(
            "the graph's input `{}` takes windows of {window} samples (axis {time_axis} of {:?}, layout {layout}) but \
             the card says window = {}",
            input.name, input.shape, card.window
        ));
    }
    let channels = input.shape[channel_axis];
    if channels >= 0 && channels as usize != card.channels.len() {
        return Err(format!(
            "the graph's input `{}` takes {channels} channels (axis {channel_axis} of {:?}, layout {layout}) but the \
             card names {} channels",
            input.name,
            input.shape,
            card.channels.len()
        ));
    }
    let batch = input.shape[0];
    let fixed_batch = (batch > 0).then_some(batch as usize);
    // The class scores: the first output of rank 2, [batch, classes].
    let (output_index, output) = outputs.iter().enumerate().find(|(_, o)| o.shape.len() == 2).ok_or_else(|| {
        format!(
            "no output of rank 2 [batch, classes] among {}",
            outputs.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")
        )
    })?;
    let classes = output.shape[1];
    if classes >= 0 && classes as usize != card.classes.len() {
        return Err(format!(
            "the graph's output `{}` gives {classes} class scores but the card names {} classes",
            output.name,
            card.classes.len()
        ));
    }
    Ok((fixed_batch, output_index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let mut row = [1000.0f32, 1001.0, 1002.0];
        softmax_in_place(&mut row);
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        // Reference values: softmax([0, 1, 2]) computed by hand.
        let e = [1.0f32, std::f32::consts::E, std::f32::consts::E * std::f32::consts::E];
        let z: f32 = e.iter().sum();
        for (got, want) in row.iter().zip(e.iter().map(|v| v / z)) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
