//! The line protocol live devices speak (docs/FORMATS.md §6), and its decoder.
//!
//! UTF-8 text lines ending in `\n` or `\r\n`; fields separated by `,` `;` tab or spaces. An optional header names the
//! columns with the CSV aliases (`t,ax,ay,az,gx,gy,gz`); without one, a data line is `t,ax,ay,az,gx,gy,gz` (t = device
//! milliseconds as an integer, or seconds with a decimal point) or six values `ax,ay,az,gx,gy,gz` without a time.
//! `#` lines are comments; `# rate=104`, `# accel=g`, `# gyro=dps|rad/s` declare metadata. A bad line is counted by
//! reason and skipped; nothing a device sends is fatal.
//!
//! ```text
//! Decoder::new(card, opts)          the card fixes channel order, units and the default rate
//! decoder.feed_bytes(chunk, &mut out)  chunks split anywhere; out gets DecodedSample { t, values, starts_segment }
//! decoder.break_link(elapsed_s)     the link dropped: drop the partial line, the next sample starts a segment
//! ```
//!
//! Device clocks are rebased to the first sample (t = 0), survive a u32 millisecond wrap-around, and a jump back (a
//! reboot) or a gap starts a new segment whose times continue after the last one, so source time never runs back.
//! The accelerometer unit is decided from the first [`WARMUP_SAMPLES`] samples the way files are
//! (`crate::data::decide_unit`): the decoder holds them back until it knows the factor.

use crate::data::{GAP_PERIODS, KnownChannel, Sensor, UnitDecision, decide_unit, map_header};
use crate::model::{AccelUnit, ModelCard};

/// The longest line accepted, in bytes (without its line ending). Longer lines are counted as `too_long`.
pub const MAX_LINE_BYTES: usize = 512;

/// Samples buffered to decide the accelerometer unit from their median |a| (about one second at 50 Hz).
pub const WARMUP_SAMPLES: usize = 50;

/// The columns a data line without a header carries, after an optional time.
pub const DEFAULT_COLUMNS: [&str; 6] = ["ax", "ay", "az", "gx", "gy", "gz"];

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLine {
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// Not valid UTF-8 (a garbled line).
    NotUtf8,
    /// Not the number of fields the header (or the default layout) gives: a partial or garbled line.
    FieldCount,
    /// A field that is not a finite number, on a line that is not a header either.
    NotNumeric,
    /// A time equal to the previous sample's (a repeated line).
    RepeatedTime,
    /// A line cut off when the link dropped.
    Partial,
    /// Data without a header, for a model whose channels are not accelerometer/gyroscope x/y/z.
    NoHeader,
}

impl BadLine {
    /// Every reason, in the order [`LineCounts::bad_by_reason`] lists them.
    pub const ALL: [BadLine; 7] = [
        BadLine::TooLong,
        BadLine::NotUtf8,
        BadLine::FieldCount,
        BadLine::NotNumeric,
        BadLine::RepeatedTime,
        BadLine::Partial,
        BadLine::NoHeader,
    ];

    /// A short name for counters and logs (`too_long`, `not_utf8`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            BadLine::TooLong => "too_long",
            BadLine::NotUtf8 => "not_utf8",
            BadLine::FieldCount => "field_count",
            BadLine::NotNumeric => "not_numeric",
            BadLine::RepeatedTime => "repeated_time",
            BadLine::Partial => "partial",
            BadLine::NoHeader => "no_header",
        }
    }
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the decoder has seen, line by line. Plain counters: copy it into a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LineCounts {
    /// Data lines that became samples.
    pub good: u64,
    /// `#` lines (metadata included) and blank lines.
    pub comments: u64,
    /// Header lines.
    pub headers: u64,
    pub too_long: u64,
    pub not_utf8: u64,
    pub field_count: u64,
    pub not_numeric: u64,
    pub repeated_time: u64,
    pub partial: u64,
    pub no_header: u64,
}

impl LineCounts {
    /// All bad lines.
    pub fn bad(&self) -> u64 {
        BadLine::ALL.iter().map(|&r| self.bad_for(r)).sum()
    }

    /// Bad lines of one reason.
    pub fn bad_for(&self, reason: BadLine) -> u64 {
        match reason {
            BadLine::TooLong => self.too_long,
            BadLine::NotUtf8 => self.not_utf8,
            BadLine::FieldCount => self.field_count,
            BadLine::NotNumeric => self.not_numeric,
            BadLine::RepeatedTime => self.repeated_time,
            BadLine::Partial => self.partial,
            BadLine::NoHeader => self.no_header,
        }
    }

    /// The reasons with a non-zero count, with their counts.
    pub fn bad_by_reason(&self) -> Vec<(BadLine, u64)> {
        BadLine::ALL.iter().map(|&r| (r, self.bad_for(r))).filter(|&(_, n)| n > 0).collect()
    }

    fn count_bad(&mut self, reason: BadLine) {
        let slot = match reason {
            BadLine::TooLong => &mut self.too_long,
            BadLine::NotUtf8 => &mut self.not_utf8,
            BadLine::FieldCount => &mut self.field_count,
            BadLine::NotNumeric => &mut self.not_numeric,
            BadLine::RepeatedTime => &mut self.repeated_time,
            BadLine::Partial => &mut self.partial,
            BadLine::NoHeader => &mut self.no_header,
        };
        *slot += 1;
    }
}

/// The gyroscope unit a device declares (`# gyro=dps` or `# gyro=rad/s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GyroUnit {
    DegPerSecond,
    RadPerSecond,
}

impl GyroUnit {
    /// Parses `dps`, `deg/s`, `°/s`, `rad/s`, `rads` (case-insensitive).
    pub fn parse(s: &str) -> Option<GyroUnit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dps" | "deg/s" | "degs" | "°/s" | "deg" => Some(GyroUnit::DegPerSecond),
            "rad/s" | "rads" | "rad" | "radps" => Some(GyroUnit::RadPerSecond),
            _ => None,
        }
    }

    /// The unit a card's `units.gyro` string names (deg/s unless it mentions rad).
    pub fn of_card(card: &ModelCard) -> GyroUnit {
        if card.units.gyro.to_ascii_lowercase().contains("rad") {
            GyroUnit::RadPerSecond
        } else {
            GyroUnit::DegPerSecond
        }
    }

    /// The factor from `self` to `to`.
    pub fn factor_to(self, to: GyroUnit) -> f64 {
        match (self, to) {
            (GyroUnit::RadPerSecond, GyroUnit::DegPerSecond) => 180.0 / std::f64::consts::PI,
            (GyroUnit::DegPerSecond, GyroUnit::RadPerSecond) => std::f64::consts::PI / 180.0,
            _ => 1.0,
        }
    }
}

/// What the device declared in `#` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// `# rate=104`: the device's sample rate in Hz.
    pub rate_hz: Option<f64>,
    /// `# accel=g`: the accelerometer unit (beats detection, as `--accel-unit` does for files).
    pub accel: Option<AccelUnit>,
    /// `# gyro=rad/s`.
    pub gyro: Option<GyroUnit>,
}

/// How to decode.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecoderOptions {
    /// Forces the accelerometer unit (beats both detection and `# accel=`).
    pub accel_unit: Option<AccelUnit>,
}

/// A decoded sample: `values` in the card's channel order and units, `t` in source seconds (0 at the first sample).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSample {
    pub t: f64,
    pub values: Vec<f32>,
    /// This sample does not continue the previous one (the first sample, a device reboot, a gap, a reconnect).
    pub starts_segment: bool,
    /// The sample came without a device time (its `t` follows the declared or the card's rate).
    pub timeless: bool,
}

/// Where the card's channels and the time sit on a data line.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    /// Fields on a line.
    fields: usize,
    /// `channels[c]` is the field of card channel `c`.
    channels: Vec<usize>,
    time: Option<usize>,
}

/// The device clock, unwrapped and rebased.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Clock {
    /// Raw device time of the last sample (ms or s as sent), for the wrap-around check.
    last_raw: Option<f64>,
    /// Added to raw milliseconds: multiples of 2^32 after wrap-arounds.
    wrap_ms: f64,
    /// Source time = device seconds (unwrapped) + offset.
    offset: f64,
    /// Source time of the last sample emitted.
    last_t: Option<f64>,
    /// Typical step between samples, in seconds (for gap detection).
    step_s: f64,
    /// Samples without a device time since the segment started.
    timeless_index: u64,
}

const U32_MS: f64 = 4_294_967_296.0;

/// The streaming decoder of the line protocol. Feed it bytes (split anywhere) or whole lines; it appends samples.
#[derive(Debug, Clone)]
pub struct Decoder {
    card_channels: Vec<String>,
    card_rate: f64,
    card_accel: AccelUnit,
    card_gyro: GyroUnit,
    opts: DecoderOptions,
    /// Card channels that are accelerometer x/y/z (for the median |a|) and gyroscope axes (for the rad/s factor).
    accel_xyz: Option<[usize; 3]>,
    accel: Vec<usize>,
    gyro: Vec<usize>,
    /// The layout without a header: `None` when the card has channels the default columns do not name.
    default_layouts: Option<(Layout, Layout)>,
    header: Option<Layout>,
    meta: Metadata,
    counts: LineCounts,
    clock: Clock,
    /// The pending partial line; `overflow` = the current line is already too long and is being skipped.
    line: Vec<u8>,
    overflow: bool,
    /// Samples held back until the accelerometer unit is known.
    warmup: Vec<DecodedSample>,
    decision: Option<UnitDecision>,
    accel_factor: f64,
    /// The next sample starts a segment; `pending_pause` seconds are left between it and the previous one.
    pending_break: bool,
    pending_pause: f64,
    notes: Vec<String>,
}

impl Decoder {
    /// A decoder for a model card (its channel order, units and rate).
    pub fn new(card: &ModelCard, opts: DecoderOptions) -> Decoder {
        let known: Vec<Option<KnownChannel>> = card.channels.iter().map(|c| KnownChannel::from_name(c)).collect();
        let of = |s: Sensor| -> Vec<usize> {
            known.iter().enumerate().filter(|(_, k)| k.is_some_and(|k| k.sensor == s)).map(|(i, _)| i).collect()
        };
        let axis = |a: char| known.iter().position(|k| *k == Some(KnownChannel { sensor: Sensor::Accel, axis: a }));
        let accel_xyz = match (axis('x'), axis('y'), axis('z')) {
            (Some(x), Some(y), Some(z)) => Some([x, y, z]),
            _ => None,
        };
        let default_fields: Option<Vec<usize>> = known
            .iter()
            .map(|k| {
                let k = (*k)?;
                let a = match k.axis {
                    'x' => 0,
                    'y' => 1,
                    _ => 2,
                };
                Some(if k.sensor == Sensor::Accel { a } else { 3 + a })
            })
            .collect();
        let default_layouts = default_fields.map(|f| {
            let timed = Layout { fields: 7, channels: f.iter().map(|i| i + 1).collect(), time: Some(0) };
            (timed, Layout { fields: 6, channels: f, time: None })
        });
        let card_rate =
            if card.sample_rate_hz.is_finite() && card.sample_rate_hz > 0.0 { card.sample_rate_hz } else { 50.0 };
        let mut decoder = Decoder {
            card_channels: card.channels.clone(),
            card_rate,
            card_accel: card.units.accel,
            card_gyro: GyroUnit::of_card(card),
            opts,
            accel_xyz,
            accel: of(Sensor::Accel),
            gyro: of(Sensor::Gyro),
            default_layouts,
            header: None,
            meta: Metadata::default(),
            counts: LineCounts::default(),
            clock: Clock { step_s: 1.0 / card_rate, ..Clock::default() },
            line: Vec::with_capacity(MAX_LINE_BYTES),
            overflow: false,
            warmup: Vec::with_capacity(WARMUP_SAMPLES),
            decision: None,
            accel_factor: 1.0,
            pending_break: true,
            pending_pause: 0.0,
            notes: Vec::new(),
        };
        // Nothing to detect: decide now, so no sample waits.
        if decoder.accel_xyz.is_none() || opts.accel_unit.is_some() || card.units.accel == AccelUnit::AsIs {
            decoder.decide(None);
        }
        decoder
    }

    /// Feeds raw bytes as they arrive; a line may be split across calls anywhere.
    pub fn feed_bytes(&mut self, bytes: &[u8], out: &mut Vec<DecodedSample>) {
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            self.take_bytes(head);
            let line = std::mem::take(&mut self.line);
            if self.overflow {
                self.counts.count_bad(BadLine::TooLong);
                self.overflow = false;
            } else {
                self.feed_line(&line, out);
            }
            self.line = line;
            self.line.clear();
            rest = &tail[1..];
        }
        self.take_bytes(rest);
    }

    fn take_bytes(&mut self, bytes: &[u8]) {
        if self.overflow {
            return;
        }
        // One more byte than the limit, for a trailing `\r`.
        if self.line.len() + bytes.len() > MAX_LINE_BYTES + 1 {
            self.overflow = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    /// Decodes one line (without its `\n`; a trailing `\r` is allowed).
    pub fn feed_line(&mut self, line: &[u8], out: &mut Vec<DecodedSample>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE_BYTES {
            self.counts.count_bad(BadLine::TooLong);
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            self.counts.count_bad(BadLine::NotUtf8);
            return;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            self.counts.comments += 1;
            return;
        }
        if let Some(comment) = text.strip_prefix('#') {
            self.counts.comments += 1;
            self.metadata_line(comment);
            return;
        }
        let fields: Vec<&str> = text.split([',', ';', '\t', ' ']).filter(|f| !f.is_empty()).collect();
        match self.data_line(&fields) {
            Ok(Some(sample)) => {
                self.counts.good += 1;
                self.emit(sample, out);
            }
            Ok(None) => {}
            Err(reason) => {
                if reason == BadLine::NotNumeric && self.try_header(&fields) {
                    self.counts.headers += 1;
                } else {
                    self.counts.count_bad(reason);
                }
            }
        }
    }

    /// The link dropped (or the device was replugged): the partial line is dropped (counted as `partial`) and the
    /// next sample starts a new segment `pause_s` seconds (the time the link was down) after the last one.
    pub fn break_link(&mut self, pause_s: f64, out: &mut Vec<DecodedSample>) {
        if !self.line.is_empty() || self.overflow {
            self.counts.count_bad(BadLine::Partial);
        }
        self.line.clear();
        self.overflow = false;
        self.flush(out);
        self.pending_break = true;
        self.pending_pause = if pause_s.is_finite() { pause_s.max(0.0) } else { 0.0 };
        // A new device may announce a new header; until it does the old one holds.
    }

    /// Releases the samples held for the unit decision (deciding from what there is) at the end of a stream.
    pub fn flush(&mut self, out: &mut Vec<DecodedSample>) {
        if self.decision.is_none() && !self.warmup.is_empty() {
            let median = self.warmup_median();
            self.decide(median);
            self.release_warmup(out);
        }
    }

    /// The counters.
    pub fn counts(&self) -> &LineCounts {
        &self.counts
    }

    /// What the device declared.
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The accelerometer unit decision, once made.
    pub fn unit_decision(&self) -> Option<&UnitDecision> {
        self.decision.as_ref()
    }

    /// Remarks for the user (unit decisions, header changes, bad metadata), oldest first; at most 32 are kept.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The rate the decoder assumes for lines without a time: the declared rate, else the card's.
    pub fn assumed_rate_hz(&self) -> f64 {
        self.meta.rate_hz.unwrap_or(self.card_rate)
    }

    fn note(&mut self, note: String) {
        if self.notes.len() < 32 {
            self.notes.push(note);
        }
    }

    fn metadata_line(&mut self, comment: &str) {
        // `# error: ...` / `# warning: ...`: the device reports a problem (an IMU that does not answer); the user
        // sees it once among the notes, however often the device repeats it.
        let trimmed = comment.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("error") || lower.starts_with("warning") {
            let text = format!("the device says: {trimmed}");
            if !self.notes.contains(&text) {
                self.note(text);
            }
            return;
        }
        for item in comment.split([',', ';', '\t', ' ']).filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else { continue };
            match key.trim().to_ascii_lowercase().as_str() {
                "rate" | "rate_hz" | "hz" => match value.trim().parse::<f64>() {
                    Ok(r) if r.is_finite() && r > 0.0 && r <= 100_000.0 => {
                        if self.meta.rate_hz.is_none_or(|old| old != r) && self.clock.last_t.is_none() {
                            self.clock.step_s = 1.0 / r;
                        }
                        self.meta.rate_hz = Some(r);
                    }
                    _ => self.note(format!("ignored `# {item}`: the rate must be a positive number of Hz")),
                },
                "accel" => match value.parse::<AccelUnit>() {
                    Ok(u) => {
                        let changed = self.meta.accel != Some(u);
                        self.meta.accel = Some(u);
                        if changed && self.opts.accel_unit.is_none() {
                            let median = self.warmup_median();
                            self.decide(median);
                        }
                    }
                    Err(e) => self.note(format!("ignored `# {item}`: {e}")),
                },
                "gyro" => match GyroUnit::parse(value) {
                    Some(u) => self.meta.gyro = Some(u),
                    None => self.note(format!("ignored `# {item}`: expected gyro=dps or gyro=rad/s")),
                },
                _ => {}
            }
        }
    }

    fn try_header(&mut self, fields: &[&str]) -> bool {
        // A header names columns; it has no number in it.
        if fields.iter().any(|f| f.parse::<f64>().is_ok()) {
            return false;
        }
        let names: Vec<String> = fields.iter().map(|s| s.trim_matches('"').to_string()).collect();
        let Ok(map) = map_header(names.clone(), &self.card_channels) else { return false };
        let time = map.time.or_else(|| {
            names
                .iter()
                .position(|n| ["t", "ms", "millis", "t_ms", "time_ms"].contains(&n.to_ascii_lowercase().as_str()))
        });
        let layout = Layout { fields: names.len(), channels: map.channels, time };
        if self.header.as_ref() != Some(&layout) {
            self.note(format!("header: {}", names.join(",")));
        }
        self.header = Some(layout);
        true
    }

    fn data_line(&mut self, fields: &[&str]) -> Result<Option<DecodedSample>, BadLine> {
        let layout = match (&self.header, &self.default_layouts) {
            (Some(h), _) => h,
            (None, Some((timed, timeless))) => {
                if fields.len() == timed.fields {
                    timed
                } else {
                    timeless
                }
            }
            (None, None) => {
                // Still a header candidate when no field is a number.
                return Err(if fields.iter().any(|f| f.parse::<f64>().is_ok()) {
                    BadLine::NoHeader
                } else {
                    BadLine::NotNumeric
                });
            }
        };
        if fields.len() != layout.fields {
            if fields.iter().all(|f| f.parse::<f64>().is_err()) {
                return Err(BadLine::NotNumeric);
            }
            return Err(BadLine::FieldCount);
        }
        let mut values = Vec::with_capacity(layout.channels.len());
        for &c in &layout.channels {
            let v: f32 = fields[c].parse().map_err(|_| BadLine::NotNumeric)?;
            if !v.is_finite() {
                return Err(BadLine::NotNumeric);
            }
            values.push(v);
        }
        let raw_time = match layout.time {
            None => None,
            Some(i) => {
                let text = fields[i];
                let v: f64 = text.parse().map_err(|_| BadLine::NotNumeric)?;
                if !v.is_finite() || v < 0.0 {
                    return Err(BadLine::NotNumeric);
                }
                let seconds = text.contains(['.', 'e', 'E']);
                Some((v, seconds))
            }
        };
        let Some((t, starts_segment)) = self.place(raw_time)? else { return Ok(None) };
        Ok(Some(DecodedSample { t, values, starts_segment, timeless: raw_time.is_none() }))
    }

    /// Gives a sample its source time; `Err(RepeatedTime)` for a time equal to the previous one.
    fn place(&mut self, raw: Option<(f64, bool)>) -> Result<Option<(f64, bool)>, BadLine> {
        let clock = &mut self.clock;
        let mut new_segment = std::mem::take(&mut self.pending_break);
        let pause = std::mem::take(&mut self.pending_pause);
        let t = match raw {
            None => {
                let period = 1.0 / self.meta.rate_hz.unwrap_or(self.card_rate);
                if new_segment || clock.last_raw.is_some() {
                    // Timed samples before, or a new segment: restart the count after the last sample.
                    new_segment = true;
                    clock.last_raw = None;
                    clock.offset = clock.last_t.map_or(0.0, |l| l + period + pause);
                    clock.timeless_index = 0;
                }
                let t = clock.offset + clock.timeless_index as f64 * period;
                clock.timeless_index += 1;
                clock.step_s = period;
                t
            }
            Some((value, seconds)) => {
                let to_s = |raw: f64, wrap: f64| if seconds { raw } else { (raw + wrap) / 1000.0 };
                let mut device_s = to_s(value, clock.wrap_ms);
                match clock.last_raw {
                    Some(last) if !new_segment => {
                        let last_s = to_s(last, clock.wrap_ms);
                        if !seconds && value < last && last - value > U32_MS / 2.0 && last < U32_MS {
                            // The u32 millisecond counter wrapped around.
                            clock.wrap_ms += U32_MS;
                            device_s = to_s(value, clock.wrap_ms);
                        }
                        let dt = device_s - last_s;
                        if dt == 0.0 {
                            return Err(BadLine::RepeatedTime);
                        } else if dt < 0.0 {
                            // A jump back: the device rebooted; its clock starts again.
                            new_segment = true;
                            clock.wrap_ms = 0.0;
                            device_s = to_s(value, 0.0);
                        } else if dt > GAP_PERIODS * clock.step_s {
                            // A gap: the device's own clock says how long it was.
                            new_segment = true;
                        } else {
                            // Follow the device's rate slowly.
                            clock.step_s += 0.05 * (dt - clock.step_s);
                        }
                    }
                    _ => new_segment = true,
                }
                clock.last_raw = Some(value);
                match clock.last_t {
                    None => clock.offset = -device_s,
                    // A clock that went on (a gap, a replug of the same device) keeps its times; one that did not (a
                    // reboot, a new device, lines without time before) restarts after the last sample and the pause.
                    Some(last) if new_segment && device_s + clock.offset <= last => {
                        clock.offset = last + clock.step_s + pause - device_s;
                    }
                    Some(_) => {}
                }
                device_s + clock.offset
            }
        };
        clock.last_t = Some(t);
        Ok(Some((t, new_segment)))
    }

    fn emit(&mut self, mut sample: DecodedSample, out: &mut Vec<DecodedSample>) {
        if self.decision.is_none() {
            self.warmup.push(sample);
            if self.warmup.len() >= WARMUP_SAMPLES {
                let median = self.warmup_median();
                self.decide(median);
                self.release_warmup(out);
            }
            return;
        }
        self.convert(&mut sample);
        out.push(sample);
    }

    fn release_warmup(&mut self, out: &mut Vec<DecodedSample>) {
        let mut held = std::mem::take(&mut self.warmup);
        for s in &mut held {
            self.convert(s);
        }
        out.append(&mut held);
    }

    fn convert(&self, sample: &mut DecodedSample) {
        if self.accel_factor != 1.0 {
            for &c in &self.accel {
                if let Some(v) = sample.values.get_mut(c) {
                    *v = (f64::from(*v) * self.accel_factor) as f32;
                }
            }
        }
        if let Some(g) = self.meta.gyro {
            let f = g.factor_to(self.card_gyro);
            if f != 1.0 {
                for &c in &self.gyro {
                    if let Some(v) = sample.values.get_mut(c) {
                        *v = (f64::from(*v) * f) as f32;
                    }
                }
            }
        }
    }

    fn warmup_median(&self) -> Option<f64> {
        let [x, y, z] = self.accel_xyz?;
        let mut m: Vec<f64> = self
            .warmup
            .iter()
            .map(|s| {
                let v = |i: usize| f64::from(s.values.get(i).copied().unwrap_or(f32::NAN));
                (v(x).powi(2) + v(y).powi(2) + v(z).powi(2)).sqrt()
            })
            .filter(|m| m.is_finite())
            .collect();
        if m.is_empty() {
            return None;
        }
        m.sort_by(f64::total_cmp);
        Some(m[m.len() / 2])
    }

    fn decide(&mut self, median: Option<f64>) {
        let forced = self.opts.accel_unit.or(self.meta.accel);
        let decision = decide_unit(self.card_accel, forced, median);
        self.accel_factor = decision.factor();
        if self.accel_xyz.is_some() || forced.is_some() {
            self.note(format!("accelerometer: {decision}"));
        }
        self.decision = Some(decision);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> ModelCard {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-1dcnn-bilstm.model.json");
        let mut c = ModelCard::load(&path).unwrap();
        c.units.accel = AccelUnit::MetersPerSecond2;
        c
    }

    fn decode(card: &ModelCard, text: &str) -> (Vec<DecodedSample>, Decoder) {
        let mut d = Decoder::new(card, DecoderOptions::default());
        let mut out = Vec::new();
        d.feed_bytes(text.as_bytes(), &mut out);
        d.flush(&mut out);
        (out, d)
    }

    #[test]
    fn timed_lines_in_ms_are_rebased_and_separators_mix() {
        let c = card();
        let (out, d) = decode(&c, "1000,0,0,9.8,1,2,3\r\n1020;0;0;9.8;1;2;3\n1040\t0 0 9.8, 1, 2, 3\n");
        assert_eq!(d.counts().good, 3);
        let t: Vec<f64> = out.iter().map(|s| s.t).collect();
        assert!((t[0] - 0.0).abs() < 1e-9 && (t[1] - 0.02).abs() < 1e-9 && (t[2] - 0.04).abs() < 1e-9, "{t:?}");
        assert!(out[0].starts_segment && !out[1].starts_segment);
    }

    #[test]
    fn device_errors_become_one_note_each() {
        let (out, d) = decode(&card(), "# error: IMU not found\n# error: IMU not found\n# warning: low battery\n");
        assert!(out.is_empty());
        assert_eq!(d.notes(), ["the device says: error: IMU not found", "the device says: warning: low battery"]);
        assert_eq!(d.counts().comments, 3);
    }

    #[test]
    fn bad_lines_are_counted_by_reason() {
        let c = card();
        let long = "1".repeat(600);
        let text = format!(
            "0,0,0,9.8,1,2,3\n{long}\n\u{1}\u{ff}xx\n1,2,3\n20,0,0,9.8,1,2,3\n20,0,0,9.8,1,2,3\nfoo,bar\n40,0,0,zz,1,2,3\n"
        );
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe,1\n");
        let mut d = Decoder::new(&c, DecoderOptions::default());
        let mut out = Vec::new();
        d.feed_bytes(&bytes, &mut out);
        d.flush(&mut out);
        let n = d.counts();
        assert_eq!(n.good, 2, "{n:?}");
        assert_eq!((n.too_long, n.field_count, n.repeated_time, n.not_utf8), (1, 1, 1, 1), "{n:?}");
        assert_eq!(n.not_numeric, 3, "{n:?}");
    }

    #[test]
    fn header_reorders_columns_and_metadata_converts() {
        let c = card();
        let (out, d) =
            decode(&c, "# rate=104 accel=g gyro=rad/s\nt,gx,gy,gz,ax,ay,az\n0.0,1,0,0,0,0,1\n0.01,1,0,0,0,0,1\n");
        assert_eq!(d.counts().headers, 1);
        assert_eq!(d.metadata().rate_hz, Some(104.0));
        // Card order Ax..Gz; az = 1 g = 9.80665 m/s², gx = 1 rad/s = 57.3 deg/s.
        assert!((out[0].values[2] - 9.80665).abs() < 1e-4, "{:?}", out[0].values);
        assert!((out[0].values[3] - 57.29578).abs() < 1e-3, "{:?}", out[0].values);
        assert!((out[1].t - 0.01).abs() < 1e-12);
    }

    #[test]
    fn milli_g_is_detected_from_the_warmup() {
        let c = card();
        let text: String = (0..60).map(|i| format!("{},0,0,1000,0,0,0\n", i * 20)).collect();
        let (out, _) = decode(&c, &text);
        assert_eq!(out.len(), 60);
        assert!((out[0].values[2] - 9.81).abs() < 1e-3, "{:?}", out[0].values);
    }

    #[test]
    fn wraparound_continues_and_reboot_or_gap_starts_segments() {
        let c = card();
        let top = u32::MAX as u64 - 15;
        let text = format!(
            "{top},0,0,9.8,0,0,0\n{},0,0,9.8,0,0,0\n4,0,0,9.8,0,0,0\n24,0,0,9.8,0,0,0\n5,0,0,9.8,0,0,0\n25,0,0,9.8,0,0,0\n2025,0,0,9.8,0,0,0\n",
            top + 10
        );
        let (out, _) = decode(&c, &text);
        let t: Vec<f64> = out.iter().map(|s| s.t).collect();
        let seg: Vec<bool> = out.iter().map(|s| s.starts_segment).collect();
        assert_eq!(seg, vec![true, false, false, false, true, false, true], "{t:?}");
        assert!((t[2] - 0.020).abs() < 1e-9, "{t:?}");
        assert!(t.windows(2).all(|w| w[1] > w[0]), "{t:?}");
        assert!((t[6] - t[5] - 2.0).abs() < 1e-9, "{t:?}");
    }

    #[test]
    fn timeless_lines_follow_the_declared_rate_and_link_breaks_split() {
        let c = card();
        let mut d = Decoder::new(&c, DecoderOptions { accel_unit: Some(AccelUnit::MetersPerSecond2) });
        let mut out = Vec::new();
        d.feed_bytes(b"# rate=100\n0,0,9.8,0,0,0\n0,0,9.8,0,0,0\n0,0,9", &mut out);
        d.break_link(1.5, &mut out);
        d.feed_bytes(b"0,0,9.8,0,0,0\n", &mut out);
        assert_eq!(d.counts().partial, 1);
        let t: Vec<f64> = out.iter().map(|s| s.t).collect();
        assert_eq!(out.len(), 3);
        assert!((t[1] - 0.01).abs() < 1e-12 && out[2].starts_segment && (t[2] - 1.52).abs() < 1e-9, "{t:?}");
    }
}
