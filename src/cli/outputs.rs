//! The output paths of a command checked against its inputs before anything runs: an output that is the data
//! file, the model, its card or its baseline would destroy what the command reads (exit 2 instead).

use std::path::{Path, PathBuf};

use har_monitor::model::ModelCard;
use har_monitor::monitor::Baseline;
use har_monitor::output::same_file;

use super::InputError;

/// The files a command reads, each with what it is (for the message).
#[derive(Debug, Default)]
pub struct Inputs(Vec<(&'static str, PathBuf)>);

impl Inputs {
    pub fn new() -> Inputs {
        Inputs::default()
    }

    /// Adds an input file.
    pub fn with(mut self, what: &'static str, path: &Path) -> Inputs {
        self.0.push((what, path.to_path_buf()));
        self
    }

    /// Adds the model file and the files beside it that belong to it: its card and (unless `with_baseline` is
    /// false, for the `baseline` command that writes it) the baseline the card names.
    pub fn with_model(mut self, model: &Path, with_baseline: bool) -> Inputs {
        self.0.push(("model", model.to_path_buf()));
        self.0.push(("model card", ModelCard::path_for_model(model)));
        if with_baseline && let Ok(card) = ModelCard::load_for_model(model) {
            self.0.push(("model's baseline", Baseline::path_for_model(model, &card)));
        }
        self
    }

    /// Refuses `output` (given as `flag`) when it is one of the inputs.
    pub fn refuse_as_output(&self, flag: &str, output: &Path) -> Result<(), InputError> {
        for (what, input) in &self.0 {
            if same_file(output, input) {
                return Err(InputError(format!(
                    "{flag} {} is the {what} {} this command reads: writing it would destroy the input. Choose \
                     another output path",
                    output.display(),
                    input.display()
                )));
            }
        }
        Ok(())
    }

    /// Refuses the directory `dir` (given as `flag`) when writing the files `names` into it would replace one
    /// of the inputs.
    pub fn refuse_in_dir(&self, flag: &str, dir: &Path, names: &[&str]) -> Result<(), InputError> {
        self.refuse_as_output(flag, dir)?;
        for name in names {
            let output = dir.join(name);
            if let Some((what, input)) = self.0.iter().find(|(_, input)| same_file(&output, input)) {
                return Err(InputError(format!(
                    "{flag} {}: the command writes {name} there, which is the {what} {} it reads; writing it \
                     would destroy the input. Choose another output directory",
                    dir.display(),
                    input.display()
                )));
            }
        }
        Ok(())
    }
}
