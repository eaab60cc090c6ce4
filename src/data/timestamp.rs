//! Timestamps in sensor files (docs/FORMATS.md §1): numbers (seconds, or integer-like milliseconds told apart by the median
//! step) or ISO-8601 date-times. Everything ends up as seconds in `f64`.

use std::fmt;

use chrono::{DateTime, NaiveDateTime};

/// The loader reads medians through this module (one definition, in [`crate::numeric`]).
pub use crate::numeric::median_in_place;

/// How the file wrote its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampKind {
    /// No timestamp column: rows are taken at the card's sample rate.
    #[default]
    Absent,
    /// Numbers in seconds.
    Seconds,
    /// Integer-like numbers in milliseconds (divided by 1000 on loading).
    Milliseconds,
    /// ISO-8601 date-times, stored as seconds since 1970-01-01 UTC (a time without an offset is taken as UTC).
    Iso8601,
}

impl fmt::Display for TimestampKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampKind::Absent => "none (rows taken at the card's sample rate)",
            TimestampKind::Seconds => "seconds",
            TimestampKind::Milliseconds => "milliseconds",
            TimestampKind::Iso8601 => "ISO-8601",
        })
    }
}

/// One parsed timestamp field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RawTime {
    Number(f64),
    /// Seconds since the Unix epoch.
    Iso(f64),
}

/// Parses a timestamp field: a finite number, or an ISO-8601 date-time. `None` when it is neither.
pub fn parse_time(field: &str) -> Option<RawTime> {
    let s = field.trim();
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(RawTime::Number(v));
    }
    parse_iso8601(s).map(RawTime::Iso)
}

/// Seconds since the epoch of an ISO-8601 date-time (`2024-03-01T12:00:00.120Z`, `...+01:00`, or without an
/// offset, with `T` or a space between date and time).
pub fn parse_iso8601(s: &str) -> Option<f64> {
    // A date-time is at least `YYYY-MM-DDTHH:MM`; this also keeps numbers and junk away from chrono.
    let b = s.as_bytes();
    if b.len() < 16 || !b.first().is_some_and(u8::is_ascii_digit) || b.get(4) != Some(&b'-') {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(epoch_seconds(dt.timestamp(), dt.timestamp_subsec_nanos()));
    }
    for fmt in
        ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"]
    {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(epoch_seconds(dt.timestamp(), dt.timestamp_subsec_nanos()));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            let utc = dt.and_utc();
            return Some(epoch_seconds(utc.timestamp(), utc.timestamp_subsec_nanos()));
        }
    }
    None
}

fn epoch_seconds(secs: i64, nanos: u32) -> f64 {
    secs as f64 + f64::from(nanos) * 1e-9
}

/// Median of the steps between consecutive values (`None` for fewer than two values).
#[cfg(test)]
pub fn median_step(times: &[f64]) -> Option<f64> {
    let mut steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    median_in_place(&mut steps)
}

/// Decides whether numeric timestamps are milliseconds: every value integer-like, and a median step that is nearer
/// (on a log scale) to the card's sample period when read as milliseconds than when read as seconds.
#[cfg(test)]
pub fn numbers_are_milliseconds(times: &[f64], sample_rate_hz: f64) -> bool {
    if times.iter().any(|t| t.fract() != 0.0) {
        return false;
    }
    median_step(times).is_some_and(|step| step_is_milliseconds(step, sample_rate_hz))
}

/// Whether a typical step between integer-like timestamps is in milliseconds: nearer (on a log scale) to the
/// card's sample period when read as milliseconds than when read as seconds.
pub fn step_is_milliseconds(step: f64, sample_rate_hz: f64) -> bool {
    if step <= 0.0 {
        return false;
    }
    let period = 1.0 / sample_rate_hz;
    let distance = |seconds: f64| (seconds / period).ln().abs();
    distance(step / 1000.0) < distance(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms_agree() {
        let z = parse_iso8601("2024-03-01T12:00:00.120Z").unwrap();
        assert!((z - 1_709_294_400.12).abs() < 1e-6, "{z}");
        assert_eq!(parse_iso8601("2024-03-01 12:00:00.120"), Some(z));
        let plus_one = parse_iso8601("2024-03-01T13:00:00.120+01:00").unwrap();
        assert!((plus_one - z).abs() < 1e-9);
        assert_eq!(parse_iso8601("2024-03-01"), None);
        assert_eq!(parse_iso8601("12.5"), None);
    }

    #[test]
    fn numbers_and_junk() {
        assert_eq!(parse_time(" 1.5 "), Some(RawTime::Number(1.5)));
        assert_eq!(parse_time("NaN"), None);
        assert_eq!(parse_time("inf"), None);
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn milliseconds_are_told_from_seconds() {
        let ms: Vec<f64> = (0..10).map(|i| 1_700_000_000_000.0 + 20.0 * i as f64).collect();
        assert!(numbers_are_milliseconds(&ms, 50.0));
        let s: Vec<f64> = (0..10).map(|i| 0.02 * i as f64).collect();
        assert!(!numbers_are_milliseconds(&s, 50.0));
        // Whole seconds at 1 Hz are seconds, not milliseconds.
        let whole: Vec<f64> = (0..10).map(f64::from).collect();
        assert!(!numbers_are_milliseconds(&whole, 1.0));
    }
}
