//! The state of a live link (serial port or BLE device), shared by every live source.
//!
//! A live source's reader thread owns a [`LinkMonitor`] and tells it what happens (opened, lost, retrying, lines
//! decoded); [`Source::link_status`](super::Source::link_status) copies a [`LinkStatus`] out of it for the worker's
//! `Status` event, which the GUI, the CLI and any other face read. An unplug is a state, not an error: the link goes
//! `Connected → Disconnected → Reconnecting` (retrying with [`Backoff`]: 0.5 s doubling to 5 s) `→ Connected`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::protocol::LineCounts;

/// Where a live link is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The first attempt to open the device is under way.
    #[default]
    Connecting,
    /// Open; data may flow.
    Connected,
    /// The device went away (unplugged, out of range, read error); a retry is scheduled.
    Disconnected,
    /// Trying to open the device again.
    Reconnecting,
    /// The source was closed on purpose; no more retries.
    Closed,
}

impl LinkState {
    /// A word for the status bar.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
            LinkState::Reconnecting => "reconnecting",
            LinkState::Closed => "closed",
        }
    }
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of a live link: plain data, cheap to clone into a status event.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LinkStatus {
    pub state: LinkState,
    /// What the link connects to: a port path, a BLE name or address.
    pub endpoint: String,
    /// Lines decoded, good and bad by reason.
    pub lines: LineCounts,
    /// Successful re-opens after a loss.
    pub reconnects: u64,
    /// Times the link was lost.
    pub disconnects: u64,
    /// The device's sample rate measured from its timestamps (or from arrival times for lines without time), Hz.
    pub measured_rate_hz: Option<f64>,
    /// Seconds since the last sample arrived, when the snapshot was taken (`None` before the first sample).
    pub since_last_sample_s: Option<f64>,
    /// Seconds until the next retry while `Disconnected`.
    pub retry_in_s: Option<f64>,
    /// Samples handed to the pipeline.
    pub samples: u64,
    /// The last problem (why the port could not be opened, why the link dropped), for the user.
    pub message: Option<String>,
    /// Unit decisions and other remarks from the decoder.
    pub notes: Vec<String>,
    /// Wall-clock time of the last sample; `since_last_sample_s` is computed from it.
    #[serde(skip)]
    pub last_sample_at: Option<Instant>,
}

impl LinkStatus {
    /// A status for an endpoint in the `Connecting` state.
    pub fn new(endpoint: impl Into<String>) -> LinkStatus {
        LinkStatus { endpoint: endpoint.into(), ..LinkStatus::default() }
    }

    /// Seconds since the last sample, as of `now`.
    pub fn age_at(&self, now: Instant) -> Option<f64> {
        self.last_sample_at.map(|t| now.saturating_duration_since(t).as_secs_f64())
    }

    /// One line for a status bar: `connected · 104.0 Hz · 1234 lines (3 bad) · 1 reconnect · last 0.0 s ago`.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.state.to_string()];
        if let Some(r) = self.measured_rate_hz {
            parts.push(format!("{r:.1} Hz"));
        }
        let bad = self.lines.bad();
        parts.push(format!("{} lines ({bad} bad)", self.lines.good + bad));
        if self.reconnects > 0 {
            parts.push(format!("{} reconnect{}", self.reconnects, if self.reconnects == 1 { "" } else { "s" }));
        }
        if let Some(a) = self.since_last_sample_s {
            parts.push(format!("last sample {a:.1} s ago"));
        }
        if let (LinkState::Disconnected, Some(r)) = (self.state, self.retry_in_s) {
            parts.push(format!("retry in {r:.1} s"));
        }
        parts.join(" · ")
    }
}

/// Retry delays: 0.5 s, doubling on each failure, at most 5 s; back to 0.5 s once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    /// The first delay.
    pub const FIRST: Duration = Duration::from_millis(500);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Backoff {
        Backoff { next: Backoff::FIRST }
    }

    /// The delay before the next attempt; the one after it doubles (up to [`Backoff::MAX`]).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        d
    }

    /// Back to the first delay (after a successful connection).
    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

/// The measured rate: samples' device times over a sliding span of about two seconds.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// (device time, samples since the start) at the start of the span.
    start: Option<(f64, u64)>,
    last: Option<(f64, u64)>,
    count: u64,
    rate: Option<f64>,
}

impl RateMeter {
    /// Counts one sample at time `t` (seconds); `continues` is false at a segment start (the span restarts).
    pub fn push(&mut self, t: f64, continues: bool) {
        self.count += 1;
        if !continues || self.start.is_none() {
            self.start = Some((t, self.count));
            self.last = Some((t, self.count));
            return;
        }
        self.last = Some((t, self.count));
        if let Some((t0, n0)) = self.start {
            let span = t - t0;
            if span >= 1.0 {
                self.rate = Some((self.count - n0) as f64 / span);
            }
            if span >= 2.0 {
                self.start = self.last;
            }
        }
    }

    /// The last measurement (after at least a second of continuous samples).
    pub fn rate_hz(&self) -> Option<f64> {
        self.rate
    }
}

/// The shared, lockable link status a reader thread updates and a source snapshots.
#[derive(Debug, Clone, Default)]
pub struct LinkMonitor {
    inner: Arc<Mutex<LinkStatus>>,
}

impl LinkMonitor {
    /// A monitor for an endpoint, starting `Connecting`.
    pub fn new(endpoint: impl Into<String>) -> LinkMonitor {
        LinkMonitor { inner: Arc::new(Mutex::new(LinkStatus::new(endpoint))) }
    }

    fn lock(&self) -> MutexGuard<'_, LinkStatus> {
        // A panicking writer leaves plain counters behind: still worth showing.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state; a `Connected` after a loss counts a reconnect, a loss counts a disconnect.
    pub fn set_state(&self, state: LinkState) {
        let mut s = self.lock();
        if s.state == state {
            return;
        }
        match state {
            LinkState::Connected if matches!(s.state, LinkState::Reconnecting | LinkState::Disconnected) => {
                s.reconnects += 1;
            }
            LinkState::Disconnected if s.state == LinkState::Connected => s.disconnects += 1,
            _ => {}
        }
        if state == LinkState::Connected {
            s.message = None;
        }
        if state != LinkState::Disconnected {
            s.retry_in_s = None;
        }
        s.state = state;
    }

    /// The link is down; a retry comes in `retry_in`. `message` says why.
    pub fn lost(&self, message: impl Into<String>, retry_in: Duration) {
        self.set_state(LinkState::Disconnected);
        let mut s = self.lock();
        s.message = Some(message.into());
        s.retry_in_s = Some(retry_in.as_secs_f64());
    }

    /// Records the decoder's counters, the measured rate and samples handed on.
    pub fn update(&self, lines: &LineCounts, rate_hz: Option<f64>, new_samples: u64, notes: &[String]) {
        let mut s = self.lock();
        s.lines = *lines;
        if rate_hz.is_some() {
            s.measured_rate_hz = rate_hz;
        }
        if new_samples > 0 {
            s.samples += new_samples;
            s.last_sample_at = Some(Instant::now());
        }
        if s.notes.len() != notes.len() {
            s.notes = notes.to_vec();
        }
    }

    /// Sets the message without changing the state.
    pub fn set_message(&self, message: Option<String>) {
        self.lock().message = message;
    }

    /// A copy of the status now, with `since_last_sample_s` filled in.
    pub fn snapshot(&self) -> LinkStatus {
        let mut s = self.lock().clone();
        s.since_last_sample_s = s.age_at(Instant::now());
        s
    }

    /// The current state.
    pub fn state(&self) -> LinkState {
        self.lock().state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_seconds_and_resets() {
        let mut b = Backoff::new();
        let d: Vec<u64> = (0..6).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(d, vec![500, 1000, 2000, 4000, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn states_count_disconnects_and_reconnects() {
        let m = LinkMonitor::new("/dev/ttyX");
        m.set_state(LinkState::Connected);
        assert_eq!(m.snapshot().reconnects, 0);
        m.lost("unplugged", Duration::from_millis(500));
        let s = m.snapshot();
        assert_eq!((s.state, s.disconnects, s.retry_in_s), (LinkState::Disconnected, 1, Some(0.5)));
        m.set_state(LinkState::Reconnecting);
        m.set_state(LinkState::Connected);
        let s = m.snapshot();
        assert_eq!((s.state, s.reconnects, s.message.clone()), (LinkState::Connected, 1, None));
        assert!(s.summary().starts_with("connected"), "{}", s.summary());
    }

    #[test]
    fn rate_meter_measures_a_steady_rate_and_restarts_at_segments() {
        let mut r = RateMeter::default();
        for i in 0..300 {
            r.push(i as f64 / 104.0, i != 0);
        }
        let rate = r.rate_hz().unwrap();
        assert!((rate - 104.0).abs() < 1.0, "{rate}");
        r.push(100.0, false);
        assert_eq!(r.rate_hz(), Some(rate));
    }
}
