//! `har-monitor serve`: the model over HTTP (docs/FORMATS.md §8).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use har_monitor::serve::{ServeConfig, serve, shutdown_signal};

use super::limits::number;
use super::{InputError, ModelArgs};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one. Loopback by default: another address without --token-file
    /// is served with a warning.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// A file whose first line is the bearer token every request must carry (health checks excepted).
    #[arg(long, value_name = "F")]
    pub token_file: Option<PathBuf>,
    /// Largest request body in MiB (uploads included), 1 to 4096.
    #[arg(long, default_value_t = 64.0, allow_negative_numbers = true, value_name = "N", value_parser = number((1.0, 4096.0)))]
    pub max_body_mb: f64,
    /// Model sessions, i.e. requests classified at the same time, 1 to 64 (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: Option<u16>,
    /// Seconds a request may take before it is answered with 408, 1 to 3600.
    #[arg(long, default_value_t = 60.0, allow_negative_numbers = true, value_name = "S", value_parser = number((1.0, 3600.0)))]
    pub timeout: f64,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let token = match &args.token_file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| InputError(format!("--token-file {}: {e}", path.display())))?;
            let token = text.lines().next().unwrap_or("").trim().to_string();
            if token.is_empty() {
                return Err(InputError(format!("--token-file {}: the first line is empty", path.display())).into());
            }
            Some(token)
        }
    };
    if !args.addr.ip().is_loopback() && token.is_none() {
        eprintln!(
            "warning: serving on {} without --token-file: anyone who can reach this address can use the model",
            args.addr
        );
    }
    let workers = args.workers.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
    let config = ServeConfig {
        model: args.model.model_path()?,
        addr: args.addr,
        token,
        max_body_bytes: (args.max_body_mb * 1024.0 * 1024.0) as usize,
        workers,
        request_timeout: Duration::from_secs_f64(args.timeout),
        engine: args.model.engine_options(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(serve(
        config,
        |addr| {
            println!("listening on http://{addr} ({workers} model sessions); Ctrl-C stops");
        },
        shutdown_signal(),
    ));
    match result {
        Ok(()) => {
            println!("stopped");
            Ok(())
        }
        Err(e) if e.is_input_error() => Err(InputError(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}
