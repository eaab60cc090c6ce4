//! `har-monitor device --out-pty`: the virtual sensor (docs/FORMATS.md §6 over a pseudo-terminal), for trying the
//! live chain without hardware and for the tests.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use har_monitor::classes::THESIS_CLASSES;
use har_monitor::device::{DeviceOptions, RATE_HZ, VirtualDevice};

use super::InputError;
use super::limits::number;
use super::simulate::SimDriftArgs;

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// Stream over a new pseudo-terminal and print its path (the only output there is today; required so the
    /// command says what it does).
    #[arg(long, required = true)]
    pub out_pty: bool,
    /// Keep a symlink at PATH pointing at the terminal, moved on each replug (give the app this stable path).
    #[arg(long, value_name = "PATH")]
    pub link: Option<PathBuf>,
    /// Samples per second on the wire, 10 to 400 (IMUs often run at 52 or 104 Hz; the app resamples).
    #[arg(long, default_value_t = 50.0, allow_negative_numbers = true, value_name = "HZ", value_parser = number(RATE_HZ))]
    pub rate: f64,
    /// Write a garbage line after every N good lines (non-numeric, binary, too few fields, too long, in turn).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub garbage_every: Option<u64>,
    /// Unplug S seconds after each plug-in (the terminal closes; the app sees the link drop).
    #[arg(long, allow_negative_numbers = true, value_name = "S", value_parser = number((0.1, 86_400.0)))]
    pub unplug_after: Option<f64>,
    /// Stay unplugged this many seconds before plugging in again (a new terminal; the device clock restarts).
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true, value_name = "S", value_parser = number((0.0, 3_600.0)))]
    pub replug_after: f64,
    /// Perform one behaviour (a class name) instead of a random script of bouts.
    #[arg(long, value_name = "NAME")]
    pub behaviour: Option<String>,
    /// Seed of the simulated wearer.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Send six values per line without the device time (the app then relies on `# rate=`).
    #[arg(long)]
    pub no_time: bool,
    /// Stop after S seconds (default: until Ctrl-C).
    #[arg(long, allow_negative_numbers = true, value_name = "S", value_parser = number((0.1, 31_536_000.0)))]
    pub seconds: Option<f64>,
    #[command(flatten)]
    pub drift: SimDriftArgs,
}

pub fn run(args: DeviceArgs) -> anyhow::Result<()> {
    let behaviour =
        match &args.behaviour {
            None => None,
            Some(name) => Some(THESIS_CLASSES.iter().position(|c| c == name).ok_or_else(|| {
                InputError(format!("--behaviour: `{name}` is not one of {}", THESIS_CLASSES.join(", ")))
            })?),
        };
    let drift = args.drift.options().map_err(|e| InputError(e.to_string()))?;
    let options = DeviceOptions {
        rate_hz: args.rate,
        garbage_every: args.garbage_every,
        unplug_after: args.unplug_after.map(Duration::from_secs_f64),
        replug_after: Duration::from_secs_f64(args.replug_after),
        link: args.link.clone(),
        behaviour,
        seed: args.seed,
        drift,
        timestamps: !args.no_time,
        keep_log: false,
    };
    let device = VirtualDevice::start(options).map_err(|e| match e {
        har_monitor::device::DeviceError::Invalid { .. } => anyhow::Error::from(InputError(e.to_string())),
        other => anyhow::Error::from(other),
    })?;
    let stop = super::signals::polled();
    let path = device.path().unwrap_or_default();
    match &args.link {
        Some(link) => println!("virtual device on {path} (link {}), {} Hz", link.display(), args.rate),
        None => println!("virtual device on {path}, {} Hz", args.rate),
    }
    println!(
        "connect the app: har-monitor record --serial {} --out rec/   (or the GUI's Sensor panel); Ctrl-C stops",
        args.link.as_ref().map_or(path.clone(), |l| l.display().to_string())
    );
    let started = Instant::now();
    let mut last = device.stats();
    while !stop.requested() && device.running() && args.seconds.is_none_or(|s| started.elapsed().as_secs_f64() < s) {
        std::thread::sleep(Duration::from_millis(100));
        let now = device.stats();
        if now.path != last.path {
            match &now.path {
                Some(p) => println!("plugged in again on {p} (plug-in {})", now.connections),
                None => println!("unplugged; back in {} s", args.replug_after),
            }
        }
        last = now;
    }
    let s = device.stats();
    println!(
        "sent {} lines, {} garbage, {} dropped (nobody reading), {} plug-ins",
        s.lines, s.garbage, s.dropped, s.connections
    );
    Ok(())
}
