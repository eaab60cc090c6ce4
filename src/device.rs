//! The virtual device: the simulator streamed over a pseudo-terminal in the live line protocol (docs/FORMATS.md §6),
//! so the serial source, the app's Sensor panel and the tests see a real tty with no hardware.
//!
//! The device opens a pty pair, optionally points a stable symlink (`link`) at the terminal's path, and writes
//! lines at wall-clock pace: `#` metadata, a header, then `t,ax,ay,az,gx,gy,gz` with `t` in device milliseconds
//! since it "booted". Options inject what real devices do: other rates (52/104 Hz, made from the 50 Hz simulator
//! by the same linear resampler the app uses), garbage lines, and unplugging (the pty closes; after `replug_after`
//! a new one opens, the link moves to it and the device clock restarts from 0 as after a power cycle). The wearer
//! keeps moving while unplugged: the simulator runs on.
//!
//! A full terminal buffer (nobody reading) drops lines, as a real UART does; drops are counted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::classes::THESIS_CLASSES;
use crate::model::AccelUnit;
use crate::sim::{DriftOptions, SAMPLE_RATE_HZ, Script, SensorSim};
use crate::source::protocol::DecodedSample;
use crate::source::resample::Resampler;

/// Rates a device may run at.
pub const RATE_HZ: (f64, f64) = (10.0, 400.0);

/// How the virtual device behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceOptions {
    /// Samples per second on the wire (the simulator's 50 Hz is resampled to it).
    pub rate_hz: f64,
    /// Write a garbage line after every N good lines (cycling through the kinds of bad line).
    pub garbage_every: Option<u64>,
    /// Unplug this long after each plug-in.
    pub unplug_after: Option<Duration>,
    /// Stay unplugged this long.
    pub replug_after: Duration,
    /// A symlink kept pointing at the current terminal (a stable path across replugs).
    pub link: Option<PathBuf>,
    /// One behaviour (index into `THESIS_CLASSES`) or, with `None`, a random script of bouts.
    pub behaviour: Option<usize>,
    pub seed: u64,
    pub drift: DriftOptions,
    /// Send the device time on each line (`false`: six values per line at the declared `# rate=`).
    pub timestamps: bool,
    /// Keep every good line sent (for tests; a long run would grow without bound).
    pub keep_log: bool,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions {
            rate_hz: 50.0,
            garbage_every: None,
            unplug_after: None,
            replug_after: Duration::from_secs(2),
            link: None,
            behaviour: None,
            seed: 1,
            drift: DriftOptions::default(),
            timestamps: true,
            keep_log: false,
        }
    }
}

/// A good line as the device wrote it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentSample {
    /// Which plug-in (0 = the first) it was sent on.
    pub connection: u64,
    /// Device milliseconds (restart at 0 on each plug-in).
    pub t_ms: u64,
    /// The six values exactly as written (parsed back from the text): Ax, Ay, Az, Gx, Gy, Gz.
    pub values: [f32; 6],
    /// When the write that carried it returned (for latency measurements).
    pub written: Instant,
}

/// What the device has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceStats {
    /// Plug-ins so far (1 after start).
    pub connections: u64,
    /// Good data lines written in full.
    pub lines: u64,
    /// Garbage lines written.
    pub garbage: u64,
    /// Lines dropped because nobody read the terminal.
    pub dropped: u64,
    /// The terminal's path now; `None` while unplugged.
    pub path: Option<String>,
    /// Good lines, when `keep_log` is set.
    pub sent: Vec<SentSample>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{option}: {problem}")]
    Invalid { option: &'static str, problem: String },
    #[error("cannot create a pseudo-terminal: {0}")]
    Pty(String),
    #[error("cannot point {path} at the terminal: {source}")]
    Link {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the device thread: {0}")]
    Thread(std::io::Error),
}

/// A running virtual device; dropping it unplugs it for good.
pub struct VirtualDevice {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<DeviceStats>>,
    thread: Option<JoinHandle<()>>,
    link: Option<PathBuf>,
}

impl VirtualDevice {
    /// Checks the options, opens the first terminal and starts streaming on a thread.
    pub fn start(options: DeviceOptions) -> Result<VirtualDevice, DeviceError> {
        if !(options.rate_hz.is_finite() && options.rate_hz >= RATE_HZ.0 && options.rate_hz <= RATE_HZ.1) {
            return Err(DeviceError::Invalid {
                option: "--rate",
                problem: format!("{} Hz is outside {} to {} Hz", options.rate_hz, RATE_HZ.0, RATE_HZ.1),
            });
        }
        if options.garbage_every == Some(0) {
            return Err(DeviceError::Invalid { option: "--garbage-every", problem: "must be at least 1".into() });
        }
        if options.behaviour.is_some_and(|b| b >= THESIS_CLASSES.len()) {
            return Err(DeviceError::Invalid { option: "--behaviour", problem: "no such behaviour".into() });
        }
        options.drift.validate().map_err(|e| DeviceError::Invalid { option: "drift", problem: e.to_string() })?;
        let mut sim = SensorSim::new(options.seed, 1);
        let script = options.behaviour.map_or(Script::Random, Script::Fixed);
        sim.set_script(script).map_err(|e| DeviceError::Invalid { option: "--behaviour", problem: e.to_string() })?;
        sim.set_drift(options.drift.clone())
            .map_err(|e| DeviceError::Invalid { option: "drift", problem: e.to_string() })?;
        let pty = Pty::open()?;
        let stats =
            Arc::new(Mutex::new(DeviceStats { connections: 1, path: Some(pty.path.clone()), ..Default::default() }));
        if let Some(link) = &options.link {
            point_link(link, &pty.path)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut streamer = Streamer {
            resampler: (options.rate_hz != SAMPLE_RATE_HZ).then(|| Resampler::new(options.rate_hz)),
            options,
            sim,
            stats: Arc::clone(&stats),
            stop: Arc::clone(&stop),
        };
        let link = streamer.options.link.clone();
        let thread = std::thread::Builder::new()
            .name("har-virtual-device".into())
            .spawn(move || streamer.run(pty))
            .map_err(DeviceError::Thread)?;
        Ok(VirtualDevice { stop, stats, thread: Some(thread), link })
    }

    /// The terminal's path now (`None` while unplugged).
    pub fn path(&self) -> Option<String> {
        self.stats().path
    }

    /// A copy of the counters (and the log, when kept).
    pub fn stats(&self) -> DeviceStats {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// True while the streaming thread runs.
    pub fn running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for VirtualDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(link) = &self.link {
            let _ = std::fs::remove_file(link);
        }
    }
}

/// Replaces `link` with a symlink to `target` (via a temporary name, so readers never see it missing mid-move).
fn point_link(link: &std::path::Path, target: &str) -> Result<(), DeviceError> {
    let err = |source| DeviceError::Link { path: link.to_path_buf(), source };
    #[cfg(unix)]
    {
        let tmp = link.with_extension("har-tmp-link");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).map_err(err)?;
        std::fs::rename(&tmp, link).map_err(err)
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Err(err(std::io::Error::new(std::io::ErrorKind::Unsupported, "symlinks need a Unix system")))
    }
}

/// One pseudo-terminal: the device writes to `master`; the app opens `path` (the slave side).
struct Pty {
    #[cfg(unix)]
    master: serialport::TTYPort,
    /// Held so the terminal stays up while no app has it open.
    #[cfg(unix)]
    _slave: serialport::TTYPort,
    path: String,
}

impl Pty {
    #[cfg(unix)]
    fn open() -> Result<Pty, DeviceError> {
        use serialport::SerialPort;
        let (mut master, slave) = serialport::TTYPort::pair().map_err(|e| DeviceError::Pty(e.to_string()))?;
        let path = slave.name().ok_or_else(|| DeviceError::Pty("the terminal has no path".into()))?;
        // A full buffer (nobody reading) must not stall the device's clock.
        master.set_timeout(Duration::from_millis(20)).map_err(|e| DeviceError::Pty(e.to_string()))?;
        Ok(Pty { master, _slave: slave, path })
    }

    #[cfg(not(unix))]
    fn open() -> Result<Pty, DeviceError> {
        Err(DeviceError::Pty("pseudo-terminals need Linux or macOS".into()))
    }

    /// Writes all of `bytes` or reports how much went out before the terminal stopped taking more.
    fn write(&mut self, bytes: &[u8]) -> usize {
        #[cfg(unix)]
        {
            use std::io::Write;
            let mut done = 0;
            while done < bytes.len() {
                match self.master.write(&bytes[done..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => done += n,
                }
            }
            done
        }
        #[cfg(not(unix))]
        {
            let _ = bytes;
            0
        }
    }
}

/// The bad lines the device injects, in turn: each is a different reason in the app's counts.
const GARBAGE: [&[u8]; 4] = [
    b"ax,ay,oops,not,a,number,here\n",
    b"\xff\xfe\x00\x81 binary noise\n",
    b"12.5,3\n",
    // Over 512 bytes.
    b"################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################################x\n",
];

struct Streamer {
    options: DeviceOptions,
    sim: SensorSim,
    resampler: Option<Resampler>,
    stats: Arc<Mutex<DeviceStats>>,
    stop: Arc<AtomicBool>,
}

impl Streamer {
    fn stats(&self) -> std::sync::MutexGuard<'_, DeviceStats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&mut self, first: Pty) {
        let mut pty = Some(first);
        let mut connection = 0u64;
        // Samples at the device rate not yet written, from the simulator (resampled when the rate differs).
        let mut queue: std::collections::VecDeque<DecodedSample> = std::collections::VecDeque::new();
        while !self.stop.load(Ordering::Relaxed) {
            let Some(mut current) = pty.take() else { return };
            let plugged = Instant::now();
            let mut good_since_garbage = 0u64;
            let mut garbage_kind = 0usize;
            let mut written = 0u64;
            // The device "boots": metadata, header, clock from 0 at the next sample.
            let boot_t = queue.front().map(|s| s.t);
            let mut text = self.preamble().into_bytes();
            let _ = current.write(&text);
            let mut t0 = boot_t;
            loop {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                if self.options.unplug_after.is_some_and(|d| plugged.elapsed() >= d) {
                    break;
                }
                let due = (plugged.elapsed().as_secs_f64() * self.options.rate_hz).floor() as u64 + 1;
                text.clear();
                let mut batch: Vec<SentSample> = Vec::new();
                while written < due {
                    let sample = self.next_sample(&mut queue);
                    let start = *t0.get_or_insert(sample.t);
                    let t_ms = ((sample.t - start) * 1000.0).round().max(0.0) as u64;
                    if self.options.timestamps {
                        text.extend_from_slice(format!("{t_ms},").as_bytes());
                    }
                    let fields: Vec<String> = sample.values.iter().map(|v| format!("{v:.4}")).collect();
                    text.extend_from_slice(fields.join(",").as_bytes());
                    text.push(b'\n');
                    let mut values = [0f32; 6];
                    for (dst, f) in values.iter_mut().zip(&fields) {
                        *dst = f.parse::<f64>().map_or(f32::NAN, |v| v as f32);
                    }
                    batch.push(SentSample { connection, t_ms, values, written: plugged });
                    written += 1;
                    good_since_garbage += 1;
                    if self.options.garbage_every.is_some_and(|n| good_since_garbage >= n) {
                        good_since_garbage = 0;
                        text.extend_from_slice(GARBAGE[garbage_kind % GARBAGE.len()]);
                        garbage_kind += 1;
                        self.stats().garbage += 1;
                    }
                }
                if !text.is_empty() {
                    let n = current.write(&text);
                    let now = Instant::now();
                    batch.iter_mut().for_each(|s| s.written = now);
                    let mut stats = self.stats();
                    if n == text.len() {
                        stats.lines += batch.len() as u64;
                        if self.options.keep_log {
                            stats.sent.extend(batch);
                        }
                    } else {
                        // Count the lines that went out whole; end a cut line so the next one is not glued to it.
                        let whole = text[..n].iter().filter(|&&b| b == b'\n').count();
                        let good_whole = batch.len().min(whole);
                        stats.lines += good_whole as u64;
                        stats.dropped += (batch.len() - good_whole) as u64;
                        if self.options.keep_log {
                            stats.sent.extend(batch.into_iter().take(good_whole));
                        }
                        drop(stats);
                        if n > 0 && text.get(n - 1) != Some(&b'\n') {
                            let _ = current.write(b"\n");
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            // Unplug: close the terminal (the app's reads hang up), move the link away, wait, plug in again.
            drop(current);
            if let Some(link) = &self.options.link {
                let _ = std::fs::remove_file(link);
            }
            self.stats().path = None;
            let until = Instant::now() + self.options.replug_after;
            let unplugged = Instant::now();
            while Instant::now() < until {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // The wearer kept moving: skip the samples of the time unplugged.
            let missed = (unplugged.elapsed().as_secs_f64() * self.options.rate_hz) as u64;
            for _ in 0..missed {
                self.next_sample(&mut queue);
            }
            match Pty::open() {
                Ok(next) => {
                    if let Some(link) = &self.options.link
                        && point_link(link, &next.path).is_err()
                    {
                        return;
                    }
                    connection += 1;
                    let mut stats = self.stats();
                    stats.connections += 1;
                    stats.path = Some(next.path.clone());
                    drop(stats);
                    pty = Some(next);
                }
                Err(_) => return,
            }
        }
    }

    /// `#` metadata and the header a booting device prints.
    fn preamble(&self) -> String {
        let accel = match self.options.drift.accel_unit {
            AccelUnit::G => "g",
            AccelUnit::MilliG => "milli-g",
            _ => "m/s2",
        };
        let behaviour = self.options.behaviour.and_then(|b| THESIS_CLASSES.get(b)).copied().unwrap_or("random script");
        let header = if self.options.timestamps { "t,ax,ay,az,gx,gy,gz" } else { "ax,ay,az,gx,gy,gz" };
        format!(
            "# har-monitor virtual device ({behaviour}, seed {})\n# rate={}\n# accel={accel}\n# gyro=dps\n{header}\n",
            self.options.seed, self.options.rate_hz
        )
    }

    /// The next sample at the device rate.
    fn next_sample(&mut self, queue: &mut std::collections::VecDeque<DecodedSample>) -> DecodedSample {
        loop {
            if let Some(s) = queue.pop_front() {
                return s;
            }
            let s = self.sim.next_sample();
            let sample =
                DecodedSample { t: s.t, values: s.values.to_vec(), starts_segment: s.index == 0, timeless: false };
            match self.resampler.as_mut() {
                None => queue.push_back(sample),
                Some(r) => {
                    let mut out = Vec::new();
                    r.push(sample, &mut out);
                    queue.extend(out);
                }
            }
        }
    }
}
