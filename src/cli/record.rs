//! `har-monitor record`: a session without a window. The pipeline worker (the same one the app runs) reads the
//! source, classifies every window and tees samples, predictions and events into the recording folder; this face
//! prints one line per prediction, each alert and each link change, and ends cleanly on Ctrl-C, SIGTERM,
//! `--seconds` or the end of a replay (the folder's `session.json` then says `complete: true`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use har_monitor::model::AccelUnit;
use har_monitor::monitor::DriftConfig;
use har_monitor::monitor::alerts::AlertConfig;
use har_monitor::pipeline::recorder::{RecordTarget, RecordingEvent};
use har_monitor::pipeline::{Command, Event, PipelineConfig, PipelineHandle};
use har_monitor::source::SourceSpec;
use har_monitor::source::serial::DEFAULT_BAUD;

use super::limits::number;
use super::{InputError, ModelArgs};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["serial", "ble", "replay", "simulate"])))]
pub struct RecordArgs {
    /// Serial port speaking the line protocol (`/dev/ttyACM0`, `COM3`, the virtual device's path or --link).
    #[arg(long, value_name = "PORT")]
    pub serial: Option<String>,
    /// Baud rate of --serial.
    #[arg(long, default_value_t = DEFAULT_BAUD, value_name = "B")]
    pub baud: u32,
    /// BLE device (Nordic UART Service) by name or address.
    #[arg(long, value_name = "NAME|ADDRESS")]
    pub ble: Option<String>,
    /// Replay a CSV file in real time (times --speed) instead of a live sensor.
    #[arg(long, value_name = "FILE.csv")]
    pub replay: Option<PathBuf>,
    /// Record the simulated sensor (a random script of bouts, or --behaviour).
    #[arg(long)]
    pub simulate: bool,
    /// With --simulate: perform one behaviour.
    #[arg(long, value_name = "NAME", requires = "simulate")]
    pub behaviour: Option<String>,
    /// Replay/simulation speed factor, 0.25 to 100.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_name = "X", value_parser = number((0.25, 100.0)))]
    pub speed: f64,
    /// Recording folder: created; refused when it exists and is not empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Stop after S seconds of wall time (default: until Ctrl-C, or the end of a replay).
    #[arg(long, allow_negative_numbers = true, value_name = "S", value_parser = number((0.1, 31_536_000.0)))]
    pub seconds: Option<f64>,
    /// Force the live sensor's accelerometer unit instead of detecting it.
    #[arg(long, value_name = "m/s2|g|milli-g")]
    pub accel_unit: Option<String>,
    /// Serve the session's Prometheus metrics (the service's names) on this address, e.g. 127.0.0.1:9108.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Print only alerts, link changes and the summary, not every prediction.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

impl RecordArgs {
    fn source(&self) -> Result<SourceSpec, InputError> {
        let accel_unit = match &self.accel_unit {
            None => None,
            Some(u) => Some(u.parse::<AccelUnit>().map_err(|e| InputError(format!("--accel-unit: {e}")))?),
        };
        if let Some(path) = &self.serial {
            return Ok(SourceSpec::Serial { path: path.clone(), baud: self.baud, accel_unit });
        }
        if let Some(target) = &self.ble {
            return Ok(SourceSpec::Ble { target: target.clone(), accel_unit });
        }
        if let Some(path) = &self.replay {
            return Ok(SourceSpec::Replay { path: path.clone() });
        }
        Ok(SourceSpec::Simulated { behaviour: self.behaviour.clone(), seed: 1 })
    }
}

pub fn run(args: RecordArgs) -> anyhow::Result<()> {
    let source = args.source()?;
    let live = matches!(source, SourceSpec::Serial { .. } | SourceSpec::Ble { .. });
    let config = PipelineConfig {
        model: args.model.model_path()?,
        source: Some(source),
        speed: args.speed,
        looping: false,
        playing: true,
        alerts: AlertConfig::default(),
        engine: args.model.engine_options(),
        drift: DriftConfig::default(),
        record: Some(RecordTarget::Dir(args.out.clone())),
    };
    let stop = super::signals::polled();
    let mut live_metrics = match args.metrics_addr {
        None => None,
        Some(addr) => {
            let live = har_monitor::session::metrics::LiveMetrics::default();
            let bound = har_monitor::session::metrics::spawn_exporter(addr, std::sync::Arc::clone(&live.metrics))
                .map_err(|e| InputError(format!("--metrics-addr {addr}: cannot listen: {e}")))?;
            println!("metrics on http://{bound}/metrics");
            Some(live)
        }
    };
    let pipeline = PipelineHandle::spawn(config, Box::new(|| {}))?;
    let started = Instant::now();
    let mut classes: Vec<String> = Vec::new();
    let mut recording = false;
    let mut link: Option<(String, Option<String>)> = None;
    let mut ended_by = "stopped";
    loop {
        if stop.requested() {
            ended_by = "interrupted";
            break;
        }
        if args.seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s) {
            break;
        }
        let Some(event) = pipeline.recv_timeout(Duration::from_millis(100)) else { continue };
        if let Some(m) = live_metrics.as_mut() {
            m.apply(&event);
        }
        match event {
            Event::ModelLoaded(m) => classes = m.card.classes.clone(),
            Event::Recording(RecordingEvent::Started { dir }) => {
                recording = true;
                println!("recording into {}", dir.display());
            }
            Event::Recording(RecordingEvent::Failed { message }) => return Err(InputError(message).into()),
            // A write that failed (a full disk) is the environment's, as for every command's outputs: exit 2.
            Event::Recording(RecordingEvent::Stopped { error: Some(e), .. }) => {
                return Err(InputError(format!("the recording stopped: {e}")).into());
            }
            Event::Recording(RecordingEvent::Stopped { .. }) => {}
            Event::SourceOpened { info, .. } => println!("source: {} ({:?})", info.name, info.kind),
            Event::Prediction(p) if !args.quiet => {
                let name = classes.get(p.predicted).map_or("?", String::as_str);
                let truth =
                    p.true_label.and_then(|t| classes.get(t)).map(|t| format!("  true {t}")).unwrap_or_default();
                println!(
                    "{:>9.2} s  window {:>5}  {name:<18} {:>5.1} %{truth}",
                    p.t_end,
                    p.index,
                    p.confidence * 100.0
                );
            }
            Event::Alert(a) => println!("ALERT {:>9.2} s  {}", a.time, a.message),
            Event::Status(s) => {
                if let Some(l) = s.link.as_deref() {
                    let now = (l.state.to_string(), l.message.clone());
                    if link.as_ref() != Some(&now) {
                        println!("link: {}", l.summary());
                        link = Some(now);
                    }
                }
            }
            Event::Error(e) => {
                if !recording {
                    // The model or the source did not open: nothing will be recorded.
                    return Err(InputError(e).into());
                }
                eprintln!("error: {e}");
            }
            Event::Ended if !live => {
                ended_by = "ended";
                break;
            }
            _ => {}
        }
    }
    pipeline.send(Command::StopRecording);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Event::Recording(RecordingEvent::Stopped { dir, samples, predictions, error })) =
            pipeline.recv_timeout(Duration::from_millis(100))
        {
            if let Some(e) = error {
                return Err(
                    InputError(format!("the recording in {} could not be completed: {e}", dir.display())).into()
                );
            }
            println!(
                "{ended_by}: {samples} samples and {predictions} predictions recorded into {} in {:.1} s",
                dir.display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
    }
    anyhow::bail!("the recording did not confirm its end within 10 s; its files hold what was flushed")
}
