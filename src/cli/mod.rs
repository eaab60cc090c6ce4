//! Command-line parsing (SPEC §4) and dispatch to the library. Errors caused by the user's input exit with 2,
//! anything else with 1.

mod simulate;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "har-monitor", version, about = "Watch and evaluate a wearable-sensor activity-recognition model")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic wrist-IMU recording of the 11 behaviours (labeled, or unlabeled production schema).
    Simulate(simulate::SimulateArgs),
}

/// Options shared by the commands that read a model.
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// ONNX model; its card `<stem>.model.json` must be beside it. Default: the bundled demo model.
    #[arg(long, value_name = "M.onnx")]
    pub model: Option<PathBuf>,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => anyhow::bail!("the GUI is not built yet; try `har-monitor simulate --help`"),
        Some(Command::Simulate(args)) => simulate::run(args),
    }
}

/// A marker error: the user's input (arguments, files) was at fault. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Exit code for an error: 2 when any cause in the chain is the user's input, else 1 (SPEC §4).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let input = err.chain().any(|cause| {
        cause.is::<InputError>() || cause.is::<har_monitor::model::CardError>() || cause.is::<std::io::Error>()
    });
    if input { 2 } else { 1 }
}
