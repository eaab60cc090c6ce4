//! `har-monitor simulate`: write a synthetic recording (SPEC §4).

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Output CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub out: PathBuf,
}

pub fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
