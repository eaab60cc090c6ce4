//! `cargo bench --bench live_latency`: the live path with a 50 Hz sensor, measured.
//!
//! 1. **Latency**: the virtual device (in this process) writes the simulator at 50 Hz to a pseudo-terminal; the
//!    serial source reads it on its own thread; the pipeline worker windows, classifies and sends a `Prediction`
//!    event. For each prediction: the time from the write that carried the window's last sample returning on the
//!    device side to the event reaching this watcher. Reported as p50/p95/p99/max over `HAR_BENCH_SECONDS`
//!    (default 120 s; one window per 2 s with the demo card's step of 100).
//! 2. **CPU**: the device as its own process (`har-monitor device`), then for `HAR_BENCH_CPU_SECONDS` (default 30 s,
//!    after 8 s of warm-up) the CPU time of (a) `har-monitor record --serial` (the headless pipeline) and (b) the
//!    app, `har-monitor gui --serial`, under `xvfb-run` (Mesa's software renderer: every frame is drawn on the
//!    CPU). Read from /proc/PID/stat (Linux only), as a share of one core.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use har_monitor::device::{DeviceOptions, VirtualDevice};
use har_monitor::pipeline::{Event, PipelineConfig, PipelineHandle};
use har_monitor::source::SourceSpec;

fn env_seconds(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|v: &f64| *v > 0.0).unwrap_or(default)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn latency(seconds: f64) {
    let device = VirtualDevice::start(DeviceOptions { keep_log: true, ..Default::default() }).expect("a pty");
    let path = device.path().expect("plugged in");
    let model = har_monitor::assets::demo_model().expect("demo model");
    let card = har_monitor::model::ModelCard::load_for_model(&model).expect("card");
    let period = 1.0 / card.sample_rate_hz;
    let config = PipelineConfig {
        model,
        source: Some(SourceSpec::Serial { path, baud: 115_200, accel_unit: None }),
        speed: 1.0,
        looping: false,
        playing: true,
        alerts: Default::default(),
        engine: Default::default(),
        drift: Default::default(),
        record: None,
    };
    let pipeline = PipelineHandle::spawn(config, Box::new(|| {})).expect("worker");
    let mut arrivals: Vec<(f64, Instant)> = Vec::new();
    let mut inference_ms = Vec::new();
    let started = Instant::now();
    while started.elapsed().as_secs_f64() < seconds {
        if let Some(Event::Prediction(p)) = pipeline.recv_timeout(Duration::from_millis(50)) {
            arrivals.push((p.t_end - period, Instant::now()));
            inference_ms.push(p.latency.as_secs_f64() * 1000.0);
        }
    }
    drop(pipeline);
    let sent = device.stats().sent;
    let mut ms: Vec<f64> = arrivals
        .iter()
        .filter_map(|(t_last, at)| {
            let t_ms = (t_last * 1000.0).round() as u64;
            let s = sent.iter().find(|s| s.connection == 0 && s.t_ms == t_ms)?;
            Some(at.duration_since(s.written).as_secs_f64() * 1000.0)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    inference_ms.sort_by(f64::total_cmp);
    println!("## Sample arrival to prediction, 50 Hz serial sensor (virtual device on a pty), {seconds:.0} s");
    println!();
    println!("| predictions | p50 | p95 | p99 | max | model call p50 |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
        ms.len(),
        percentile(&ms, 0.50),
        percentile(&ms, 0.95),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or(f64::NAN),
        percentile(&inference_ms, 0.50)
    );
    println!();
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// The pid of a `har-monitor` process whose command line holds `marker`.
fn find_process(marker: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("har-monitor") && cmd.contains(marker) && !cmd.contains("xvfb-run") && !cmd.contains("Xvfb") {
            return Some(pid);
        }
    }
    None
}

/// CPU share of one core used by the process found by `marker` over `seconds`, after `warmup`.
fn measure(child: &mut Child, marker: &str, warmup: f64, seconds: f64) -> Option<f64> {
    std::thread::sleep(Duration::from_secs_f64(warmup));
    let pid = find_process(marker)?;
    let c0 = cpu_seconds(pid)?;
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let c1 = cpu_seconds(pid)?;
    let share = (c1 - c0) / t0.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    Some(share)
}

fn cpu(seconds: f64) {
    let bin = env!("CARGO_BIN_EXE_har-monitor");
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("har-imu");
    let link_s = link.to_string_lossy().into_owned();
    let mut device = Command::new(bin)
        .args(["device", "--out-pty", "--link", &link_s])
        .stdout(Stdio::null())
        .spawn()
        .expect("the device");
    std::thread::sleep(Duration::from_secs(1));
    let rec = dir.path().join("rec");
    let mut record = Command::new(bin)
        .args(["record", "--quiet", "--serial", &link_s, "--out"])
        .arg(&rec)
        .stdout(Stdio::null())
        .spawn()
        .expect("record");
    let headless = measure(&mut record, &link_s, 8.0, seconds);
    let xvfb = Path::new("/usr/bin/xvfb-run").exists();
    let app = if xvfb {
        let mut gui = Command::new("xvfb-run")
            .args(["-a", "-s", "-screen 0 1280x800x24", bin, "gui", "--fresh", "--serial", &link_s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the app under xvfb-run");
        let share = measure(&mut gui, &format!("gui --fresh --serial {link_s}"), 8.0, seconds);
        // xvfb-run's children (the app, Xvfb) go with it.
        if let Some(pid) = find_process(&format!("--serial {link_s}")) {
            // SAFETY: a signal to a process this bench started.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        share
    } else {
        None
    };
    let _ = device.kill();
    let _ = device.wait();
    let show = |s: Option<f64>| s.map_or_else(|| "not measured".to_string(), |s| format!("{:.1} %", s * 100.0));
    println!("## CPU with a live 50 Hz serial sensor, {seconds:.0} s after 8 s of warm-up (share of one core)");
    println!();
    println!("| headless pipeline (`record --serial`) | the app (`gui --serial`, Xvfb + Mesa llvmpipe) |");
    println!("|---:|---:|");
    println!("| {} | {} |", show(headless), show(app));
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    latency(env_seconds("HAR_BENCH_SECONDS", 120.0));
    cpu(env_seconds("HAR_BENCH_CPU_SECONDS", 30.0));
}
