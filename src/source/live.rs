//! A live device as a [`Source`]: a reader thread that keeps a link open, decodes the line protocol, resamples to
//! the card's rate and hands the pipeline worker whatever has arrived. Serial ports and BLE devices differ only in
//! their [`Transport`]; the connection state machine below is shared and is what the mock-transport tests drive.
//!
//! ```text
//! Connecting ─connect ok─▶ Connected ─read error / EOF / watchdog─▶ Disconnected ─backoff─▶ Reconnecting ─┐
//!      │                       ▲                                                                     │
//!      └──connect failed───────┼──────────────────────────────── connect failed ◀─────────────────────┘
//!                              └──────────────────────────────── connect ok ◀─────────────────────────┘
//! ```
//!
//! The worker never blocks on a device: the thread opens and reads, and [`Source::read`] only drains a channel.
//! Dropping the source stops the thread (waiting at most [`STOP_WAIT`] for it to close the device).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::link::{Backoff, LinkMonitor, LinkState, LinkStatus, RateMeter};
use super::protocol::{DecodedSample, Decoder, DecoderOptions};
use super::resample::Resampler;
use super::{ReadState, SampleBatch, Source, SourceError, SourceInfo, SourceKind};
use crate::model::ModelCard;

/// How long dropping a source waits for its thread to close the device.
pub const STOP_WAIT: Duration = Duration::from_secs(2);
/// Batches of samples the reader may queue for the worker (each is one read: a few samples).
const QUEUE: usize = 4096;
/// Bytes read at a time.
const READ_CHUNK: usize = 4096;

/// Why a link could not be opened or was lost, in words for the status bar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(pub String);

/// What a read on an open connection gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `n` bytes were written to the start of the buffer.
    Data(usize),
    /// Nothing arrived within the connection's read timeout (about 100 ms); the link is still up.
    Idle,
}

/// An open link to a device: a byte stream.
pub trait Connection: Send {
    /// Waits a short while (about 100 ms at most) for bytes. An error means the link is gone.
    fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, LinkError>;
}

/// A way to reach a device: opens connections, as often as the link is lost.
pub trait Transport: Send + 'static {
    /// The device as the user named it (port path, BLE name or address).
    fn endpoint(&self) -> String;

    /// Opens a connection; may block for a few seconds at most.
    fn connect(&mut self) -> Result<Box<dyn Connection>, LinkError>;

    /// No data for this long means the link is dead even if the transport has not noticed (BLE: 3 s). `None`: a
    /// quiet device is only quiet (a serial port reports its own unplugging).
    fn watchdog(&self) -> Option<Duration> {
        None
    }
}

/// How a live source decodes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveOptions {
    pub decoder: DecoderOptions,
}

/// A live device as a source. See the module docs.
pub struct LiveSource {
    info: SourceInfo,
    monitor: LinkMonitor,
    samples: Receiver<Vec<DecodedSample>>,
    pending: VecDeque<DecodedSample>,
    stop: Arc<AtomicBool>,
    /// Signalled (by dropping) when the thread ends.
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    position: f64,
}

impl LiveSource {
    /// Starts the reader thread for `transport`, decoding for `card`.
    pub fn start(
        transport: Box<dyn Transport>,
        kind: SourceKind,
        card: &ModelCard,
        options: LiveOptions,
    ) -> Result<LiveSource, SourceError> {
        let endpoint = transport.endpoint();
        let monitor = LinkMonitor::new(endpoint.clone());
        let (tx, rx) = bounded(QUEUE);
        let (done_tx, done_rx) = bounded::<()>(0);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            transport,
            monitor: monitor.clone(),
            samples: tx,
            stop: Arc::clone(&stop),
            decoder: Decoder::new(card, options.decoder),
            resampler: Resampler::new(card.sample_rate_hz),
            rate: RateMeter::default(),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let name = match kind {
            SourceKind::Ble => "har-ble",
            _ => "har-serial",
        };
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _done = done_tx;
                reader.run();
            })
            .map_err(|e| SourceError::Device(format!("cannot start the reader thread for {endpoint}: {e}")))?;
        let info = SourceInfo {
            name: endpoint,
            kind,
            rate_hz: card.sample_rate_hz,
            duration: None,
            has_labels: false,
            seekable: false,
            notes: Vec::new(),
        };
        Ok(LiveSource {
            info,
            monitor,
            samples: rx,
            pending: VecDeque::new(),
            stop,
            done: done_rx,
            thread: Some(thread),
            position: 0.0,
        })
    }

    /// The shared link state (for tests and the recorder).
    pub fn monitor(&self) -> &LinkMonitor {
        &self.monitor
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wait for the thread to close the device (a reopen of the same port needs it closed), but never hang the
        // worker on a device that does not answer: after STOP_WAIT the thread is left to finish on its own.
        let _ = self.done.recv_timeout(STOP_WAIT);
        if let Some(thread) = self.thread.take()
            && thread.is_finished()
        {
            let _ = thread.join();
        }
    }
}

impl Source for LiveSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn paced(&self) -> bool {
        false
    }

    fn read(&mut self, _until: f64, max: usize, out: &mut SampleBatch) -> Result<ReadState, SourceError> {
        out.clear();
        out.labels = None;
        while out.len() < max {
            if self.pending.is_empty() {
                match self.samples.try_recv() {
                    Ok(batch) => self.pending.extend(batch),
                    Err(_) => break,
                }
            }
            let Some(sample) = self.pending.pop_front() else { break };
            if sample.starts_segment && !out.is_empty() {
                // A batch is one continuous run: the new segment goes into the next read.
                self.pending.push_front(sample);
                break;
            }
            if out.is_empty() {
                out.starts_segment = sample.starts_segment;
            }
            out.time.push(sample.t);
            for (c, dst) in out.channels.iter_mut().enumerate() {
                dst.push(sample.values.get(c).copied().unwrap_or(f32::NAN));
            }
        }
        if let Some(&t) = out.time.last() {
            self.position = t;
        }
        Ok(ReadState::Open)
    }

    fn position(&self) -> f64 {
        self.position
    }

    fn link_status(&self) -> Option<LinkStatus> {
        Some(self.monitor.snapshot())
    }
}

/// The reader thread's state.
struct Reader {
    transport: Box<dyn Transport>,
    monitor: LinkMonitor,
    samples: Sender<Vec<DecodedSample>>,
    stop: Arc<AtomicBool>,
    decoder: Decoder,
    resampler: Resampler,
    rate: RateMeter,
    dropped: Arc<AtomicU64>,
}

impl Reader {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn run(mut self) {
        let mut backoff = Backoff::new();
        let mut lost_at: Option<Instant> = None;
        let mut buf = vec![0u8; READ_CHUNK];
        while !self.stopped() {
            self.monitor.set_state(if lost_at.is_some() { LinkState::Reconnecting } else { LinkState::Connecting });
            let why = match self.transport.connect() {
                Ok(connection) => {
                    backoff.reset();
                    if let Some(at) = lost_at.take() {
                        // The partial line of the old connection is dropped; the new data starts a segment that
                        // continues source time by as long as the link was down.
                        let mut decoded = Vec::new();
                        self.decoder.break_link(at.elapsed().as_secs_f64(), &mut decoded);
                        self.forward(decoded);
                    }
                    self.monitor.set_state(LinkState::Connected);
                    match self.serve(connection, &mut buf) {
                        Some(why) => why,
                        None => return,
                    }
                }
                Err(e) => e.0,
            };
            // Down: release what the decoder and resampler hold, then wait before the next try.
            let mut held = Vec::new();
            self.decoder.flush(&mut held);
            self.forward(held);
            let mut out = Vec::new();
            self.resampler.flush(&mut out);
            self.send(out);
            if lost_at.is_none() {
                lost_at = Some(Instant::now());
            }
            let delay = backoff.next_delay();
            self.monitor.lost(why, delay);
            let until = Instant::now() + delay;
            while !self.stopped() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20).min(until.saturating_duration_since(Instant::now())));
            }
        }
    }

    /// Reads one connection until it fails (`Some(why)`) or the source is dropped (`None`).
    fn serve(&mut self, mut connection: Box<dyn Connection>, buf: &mut [u8]) -> Option<String> {
        let watchdog = self.transport.watchdog();
        let mut last_data = Instant::now();
        loop {
            if self.stopped() {
                return None;
            }
            match connection.read(buf) {
                Ok(ReadOutcome::Data(n)) => {
                    last_data = Instant::now();
                    let mut decoded = Vec::new();
                    self.decoder.feed_bytes(&buf[..n.min(buf.len())], &mut decoded);
                    self.forward(decoded);
                }
                Ok(ReadOutcome::Idle) => {
                    if let Some(limit) = watchdog
                        && last_data.elapsed() >= limit
                    {
                        return Some(format!("no data for {:.0} s", limit.as_secs_f64()));
                    }
                    // Counts move even when nothing decodes (garbage, comments).
                    self.forward(Vec::new());
                }
                Err(e) => return Some(e.0),
            }
        }
    }

    /// Measures, resamples and queues decoded samples; updates the link status.
    fn forward(&mut self, decoded: Vec<DecodedSample>) {
        let mut out = Vec::with_capacity(decoded.len());
        for sample in decoded {
            self.rate.push(sample.t, !sample.starts_segment);
            self.resampler.push(sample, &mut out);
        }
        let n = out.len() as u64;
        self.send(out);
        self.monitor.update(self.decoder.counts(), self.rate.rate_hz(), n, self.decoder.notes());
    }

    fn send(&mut self, out: Vec<DecodedSample>) {
        if out.is_empty() {
            return;
        }
        let n = out.len() as u64;
        match self.samples.try_send(out) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // The worker fell far behind (it is gone or stuck): say so rather than block the device.
                let dropped = self.dropped.fetch_add(n, Ordering::Relaxed) + n;
                self.monitor.set_message(Some(format!("{dropped} samples dropped: the app fell behind the device")));
            }
            Err(TrySendError::Disconnected(_)) => self.stop.store(true, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
pub(crate) mod mock {
    //! A scripted transport for the state-machine tests: each connect attempt takes the next step of a script.
    use super::*;
    use std::sync::Mutex;

    /// What one connect attempt does.
    #[derive(Debug, Clone)]
    pub enum Attempt {
        /// Fails with this message.
        Fail(String),
        /// Connects and delivers these chunks (one per read), then does what `then` says.
        Deliver { chunks: Vec<Vec<u8>>, then: AfterChunks },
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AfterChunks {
        /// The link errors (an unplug).
        Error,
        /// The link stays up but silent (a watchdog case).
        Silent,
    }

    pub struct MockTransport {
        pub script: Arc<Mutex<VecDeque<Attempt>>>,
        pub attempts: Arc<AtomicU64>,
        pub watchdog: Option<Duration>,
    }

    struct MockConnection {
        chunks: VecDeque<Vec<u8>>,
        then: AfterChunks,
    }

    impl Connection for MockConnection {
        fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, LinkError> {
            match self.chunks.pop_front() {
                Some(chunk) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    Ok(ReadOutcome::Data(n))
                }
                None if self.then == AfterChunks::Error => Err(LinkError("device unplugged".into())),
                None => {
                    std::thread::sleep(Duration::from_millis(10));
                    Ok(ReadOutcome::Idle)
                }
            }
        }
    }

    impl Transport for MockTransport {
        fn endpoint(&self) -> String {
            "mock".into()
        }

        fn connect(&mut self) -> Result<Box<dyn Connection>, LinkError> {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let next = self.script.lock().map(|mut s| s.pop_front()).unwrap_or(None);
            match next {
                Some(Attempt::Fail(m)) => Err(LinkError(m)),
                Some(Attempt::Deliver { chunks, then }) => Ok(Box::new(MockConnection { chunks: chunks.into(), then })),
                None => Err(LinkError("no device".into())),
            }
        }

        fn watchdog(&self) -> Option<Duration> {
            self.watchdog
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mock::*;
    use super::*;
    use std::sync::Mutex;

    fn card() -> ModelCard {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.model.json");
        ModelCard::load(&path).expect("the demo card loads")
    }

    fn lines(from: u64, n: u64) -> Vec<u8> {
        let mut s = String::new();
        for i in from..from + n {
            s.push_str(&format!("{},{:.1},0,9.81,0,0,{}\n", i * 20, (i % 10) as f64 * 0.1, i % 7));
        }
        s.into_bytes()
    }

    fn drain_until(source: &mut LiveSource, want: usize, timeout: Duration) -> Vec<SampleBatch> {
        let started = Instant::now();
        let mut got = Vec::new();
        let mut total = 0;
        while total < want && started.elapsed() < timeout {
            let mut batch = SampleBatch::with_channels(6);
            source.read(f64::INFINITY, 10_000, &mut batch).ok();
            if batch.is_empty() {
                std::thread::sleep(Duration::from_millis(5));
            } else {
                total += batch.len();
                got.push(batch);
            }
        }
        got
    }

    #[test]
    fn an_unplug_is_a_state_and_the_replug_continues_in_a_new_segment() {
        let script = Arc::new(Mutex::new(VecDeque::from(vec![
            // Lines split anywhere across reads, as notifications or USB packets split them.
            Attempt::Deliver {
                chunks: lines(0, 100).chunks(37).map(<[u8]>::to_vec).collect(),
                then: AfterChunks::Error,
            },
            Attempt::Fail("no such port".into()),
            Attempt::Deliver { chunks: vec![lines(0, 100)], then: AfterChunks::Silent },
        ])));
        let attempts = Arc::new(AtomicU64::new(0));
        let transport = MockTransport { script, attempts: Arc::clone(&attempts), watchdog: None };
        let mut source = LiveSource::start(Box::new(transport), SourceKind::Serial, &card(), LiveOptions::default())
            .expect("thread starts");
        let batches = drain_until(&mut source, 200, Duration::from_secs(10));
        let times: Vec<f64> = batches.iter().flat_map(|b| b.time.iter().copied()).collect();
        assert_eq!(times.len(), 200, "every sample of both connections arrives once");
        assert!(times.windows(2).all(|w| w[1] > w[0]), "source time never runs back");
        // Two segments: the first sample and the first after the reconnect, which is at least the backoff later.
        let starts: Vec<usize> = batches.iter().filter(|b| b.starts_segment).map(|b| b.len()).collect();
        assert_eq!(starts.len(), 2, "{starts:?}");
        let second = batches.iter().filter(|b| b.starts_segment).nth(1).map(|b| b.time[0]).unwrap_or(0.0);
        assert!(second >= 99.0 * 0.02 + 0.5 + 1.0, "{second}");
        let status = source.link_status().expect("live sources have a link");
        assert_eq!(status.state, LinkState::Connected);
        assert_eq!((status.disconnects, status.reconnects), (1, 1));
        assert_eq!(status.lines.good, 200);
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_silent_link_trips_the_watchdog_and_reconnects() {
        let script = Arc::new(Mutex::new(VecDeque::from(vec![
            Attempt::Deliver { chunks: vec![lines(0, 60)], then: AfterChunks::Silent },
            Attempt::Deliver { chunks: vec![lines(0, 60)], then: AfterChunks::Silent },
        ])));
        let attempts = Arc::new(AtomicU64::new(0));
        let transport =
            MockTransport { script, attempts: Arc::clone(&attempts), watchdog: Some(Duration::from_millis(300)) };
        let mut source =
            LiveSource::start(Box::new(transport), SourceKind::Ble, &card(), LiveOptions::default()).expect("starts");
        let batches = drain_until(&mut source, 120, Duration::from_secs(10));
        assert_eq!(batches.iter().map(SampleBatch::len).sum::<usize>(), 120);
        let status = source.link_status().expect("link");
        assert!(status.disconnects >= 1, "{status:?}");
        assert!(attempts.load(Ordering::Relaxed) >= 2);
    }

    #[test]
    fn garbage_is_counted_and_a_cut_line_is_partial() {
        let mut bytes = lines(0, 10);
        bytes.extend_from_slice(b"hello world\n\xff\xfe\n1,2,3\n");
        bytes.extend(lines(10, 60));
        bytes.extend_from_slice(b"1220,1.0,2.0"); // cut off by the unplug
        let script = Arc::new(Mutex::new(VecDeque::from(vec![
            Attempt::Deliver { chunks: vec![bytes], then: AfterChunks::Error },
            Attempt::Deliver { chunks: vec![lines(100, 60)], then: AfterChunks::Silent },
        ])));
        let transport = MockTransport { script, attempts: Arc::new(AtomicU64::new(0)), watchdog: None };
        let mut source = LiveSource::start(Box::new(transport), SourceKind::Serial, &card(), LiveOptions::default())
            .expect("starts");
        let got: usize = drain_until(&mut source, 130, Duration::from_secs(10)).iter().map(SampleBatch::len).sum();
        assert_eq!(got, 130);
        let lines = source.link_status().expect("link").lines;
        assert_eq!(lines.good, 130);
        assert_eq!(lines.not_numeric, 1, "{lines:?}");
        assert_eq!(lines.not_utf8, 1, "{lines:?}");
        assert_eq!(lines.field_count, 1, "{lines:?}");
        assert_eq!(lines.partial, 1, "{lines:?}");
    }

    #[test]
    fn dropping_the_source_stops_its_thread() {
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let attempts = Arc::new(AtomicU64::new(0));
        let transport = MockTransport { script, attempts: Arc::clone(&attempts), watchdog: None };
        let source = LiveSource::start(Box::new(transport), SourceKind::Serial, &card(), LiveOptions::default())
            .expect("starts");
        std::thread::sleep(Duration::from_millis(100));
        let status = source.link_status().expect("link");
        assert_eq!(status.state, LinkState::Disconnected);
        assert_eq!(status.message.as_deref(), Some("no device"));
        let started = Instant::now();
        drop(source);
        assert!(started.elapsed() < STOP_WAIT);
        let seen = attempts.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(attempts.load(Ordering::Relaxed), seen, "no connect attempt after the drop");
    }
}
