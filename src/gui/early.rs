//! `gui --evaluate FILE` starts the evaluation before the window opens.
//!
//! Opening the window (the event loop, the GPU adapter, the first frame: ~0.5 s with Mesa's software renderer) and
//! reading the file are independent; done one after the other, the evaluation view took ~1.5× as long as
//! `har-monitor evaluate` for the same file. So [`gui::run`](super::run) starts the job at once with the model the
//! app is going to open, and the app adopts it. The model is chosen here as the app chooses it (the `--model`
//! flag, else the remembered one if the file still exists, else the bundled demo); the remembered settings are
//! read from eframe's own file. If the app ends up with another model (the settings could not be read here), it
//! drops this job (which stops it) and starts its own: a wrong early start costs time, never a wrong result.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::GuiOptions;
use super::evaluation::{EvaluationJob, JobRequest, repaint_for};
use super::settings::{STORAGE_KEY, Settings};
use crate::model::EngineOptions;
use crate::pipeline::batch::{BatchOptions, DataInput};

/// The app id the window is opened with: eframe keeps the settings under it.
pub(crate) const APP_ID: &str = "har-monitor";

/// An evaluation started before the app existed.
pub(crate) struct EarlyEvaluation {
    pub job: EvaluationJob,
    pub request: JobRequest,
    /// The app's context, once it exists: the job wakes the UI through it.
    ctx: Arc<OnceLock<egui::Context>>,
}

impl EarlyEvaluation {
    /// Starts evaluating `--evaluate`'s file, when there is one the app would evaluate at start with a model it
    /// can know before its window opens.
    pub(crate) fn start(options: &GuiOptions) -> Option<EarlyEvaluation> {
        let path = options.evaluate.as_ref()?;
        let data = DataInput::from_path(path);
        // Prepared windows without labels are refused by the app with a message; nothing to start.
        if matches!(&data, DataInput::Windows { labels: None, .. }) {
            return None;
        }
        let remembered = if options.fresh { None } else { remembered_model() };
        let model = options.model.clone().or(remembered).or_else(crate::assets::demo_model)?;
        let request = JobRequest {
            model,
            data,
            engine: evaluation_engine(options.ort_lib.clone()),
            batch: BatchOptions::default(),
        };
        let ctx: Arc<OnceLock<egui::Context>> = Arc::default();
        let wake_ctx = Arc::clone(&ctx);
        let job = EvaluationJob::spawn(request.clone(), move |news| {
            if let Some(ctx) = wake_ctx.get() {
                repaint_for(ctx, news);
            }
        })
        .ok()?;
        Some(EarlyEvaluation { job, request, ctx })
    }

    /// Hands the app's context to the job (from then on it wakes the UI) and gives the job back when it is the
    /// evaluation the app wants (`model` on `data`); otherwise the job is dropped, which stops it.
    pub(crate) fn adopt(
        self,
        ctx: &egui::Context,
        model: Option<&Path>,
        data: &Path,
    ) -> Option<(EvaluationJob, JobRequest)> {
        let _ = self.ctx.set(ctx.clone());
        let wanted = model == Some(self.request.model.as_path()) && data == self.request.data.path();
        wanted.then_some((self.job, self.request))
    }
}

/// How the app's evaluation jobs run: as `evaluate` does (one single-threaded model session per core on
/// alternate batches, `pipeline::batch::session_layout`).
pub(crate) fn evaluation_engine(runtime_library: Option<PathBuf>) -> EngineOptions {
    EngineOptions { runtime_library, ..Default::default() }
}

/// The model the app remembered, read from eframe's settings file, if it can be read and the model still exists.
fn remembered_model() -> Option<PathBuf> {
    let file = eframe::storage_dir(APP_ID)?.join("app.ron");
    let text = std::fs::read_to_string(file).ok()?;
    remembered_model_in(&text)
}

/// The remembered model in the text of eframe's settings file (a RON map from key to a RON string).
fn remembered_model_in(text: &str) -> Option<PathBuf> {
    let entries: std::collections::HashMap<String, String> = ron::from_str(text).ok()?;
    let settings: Settings = ron::from_str(entries.get(STORAGE_KEY)?).ok()?;
    settings.model.filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model is found in a settings file written the way eframe writes it (a map of RON strings), and a
    /// model that no longer exists, an unreadable file or a missing key give nothing (the app then decides).
    #[test]
    fn the_remembered_model_is_read_from_eframes_file() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, b"x").unwrap();
        let file = |settings: &Settings| {
            let mut map = std::collections::HashMap::new();
            map.insert(STORAGE_KEY.to_string(), ron::ser::to_string(settings).unwrap());
            map.insert("egui".to_string(), "(options:())".to_string());
            ron::ser::to_string(&map).unwrap()
        };
        let settings = Settings { model: Some(model.clone()), ..Settings::default() };
        assert_eq!(remembered_model_in(&file(&settings)), Some(model.clone()));
        let gone = Settings { model: Some(dir.path().join("gone.onnx")), ..Settings::default() };
        assert_eq!(remembered_model_in(&file(&gone)), None);
        assert_eq!(remembered_model_in("{ broken"), None);
        assert_eq!(remembered_model_in("{\"egui\": \"()\"}"), None);
    }
}
