//! Whole simulated files in the docs/FORMATS.md §1 schemas: users one after another, each a continuous session, integer
//! epoch-millisecond timestamps and compact numbers (resolution far below the sensor noise).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::{
    CLASS_COUNT, DriftOptions, FILE_START_EPOCH_MS, PAUSE_BETWEEN_USERS_MS, SAMPLE_PERIOD_MS, SAMPLE_RATE_HZ,
    SensorSim, SimError, SimProfile, ThesisTables, invalid, limits,
};
use crate::classes::THESIS_CLASSES;
use crate::model::AccelUnit;
use crate::output::AtomicFile;

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SimFileOptions {
    pub users: u32,
    /// Id of the first user (the others follow: first_user, first_user + 1, ...).
    pub first_user: u32,
    pub minutes_per_user: f64,
    pub seed: u64,
    /// Labeled schema (`timestamp,Ax_w,...,activity,User`) or production (`timestamp,Ax,...,Gz`).
    pub labeled: bool,
    pub drift: DriftOptions,
    /// Which calibration of the simulator (default: thesis).
    pub profile: SimProfile,
    /// Thesis profile: other posture and movement tables than the built-in ones (calibration runs).
    pub thesis_tables: Option<Arc<ThesisTables>>,
}

impl Default for SimFileOptions {
    /// A thesis-sized labeled file: 6 users × 64,221 rows = 385,326 rows.
    fn default() -> Self {
        SimFileOptions {
            users: 6,
            first_user: 1,
            minutes_per_user: 21.407,
            seed: 1,
            labeled: true,
            drift: DriftOptions::default(),
            profile: SimProfile::default(),
            thesis_tables: None,
        }
    }
}

impl SimFileOptions {
    /// Rows in each user's session (`minutes_per_user` at 50 Hz, rounded).
    pub fn rows_per_user(&self) -> u64 {
        (self.minutes_per_user * 60.0 * SAMPLE_RATE_HZ).round() as u64
    }

    /// Checks every value; the error names the offending option.
    pub fn validate(&self) -> Result<(), SimError> {
        let (min_users, max_users) = limits::USERS;
        if !(min_users..=max_users).contains(&self.users) {
            return Err(invalid("--users", format!("must be from {min_users} to {max_users}, not {}", self.users)));
        }
        if self.first_user.checked_add(self.users - 1).is_none() {
            return Err(invalid(
                "--first-user",
                format!("{} + {} users overflows the user ids", self.first_user, self.users),
            ));
        }
        if !(self.minutes_per_user.is_finite() && self.minutes_per_user > 0.0) {
            return Err(invalid(
                "--minutes-per-user",
                format!("must be a positive number, not {}", self.minutes_per_user),
            ));
        }
        if self.rows_per_user() == 0 {
            return Err(invalid(
                "--minutes-per-user",
                format!("{} minutes is less than one sample", self.minutes_per_user),
            ));
        }
        if self.minutes_per_user > limits::MINUTES_PER_USER.1 {
            return Err(invalid(
                "--minutes-per-user",
                format!(
                    "at most {} minutes (a week) per user, not {}",
                    limits::MINUTES_PER_USER.1,
                    self.minutes_per_user
                ),
            ));
        }
        if self.thesis_tables.is_some() && self.profile != SimProfile::Thesis {
            return Err(invalid(
                "--thesis-tables",
                format!("only the thesis profile has tables, not the {} profile", self.profile),
            ));
        }
        self.drift.validate()
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimSummary {
    pub rows: u64,
    /// Rows per behaviour, thesis class order.
    pub class_rows: [u64; CLASS_COUNT],
}

/// Writes a simulated recording to `path` (see [`write_csv`]).
pub fn write_csv_file(path: &Path, options: &SimFileOptions) -> Result<SimSummary, SimError> {
    // Checked before the file is created, so that bad options leave nothing behind.
    options.validate()?;
    let io = |source| SimError::Io { path: path.to_path_buf(), source };
    // A temporary file beside the target replaces it only when complete: a failed write (or a refused
    // non-finite value) leaves an earlier file as it was and nothing new behind.
    let mut out = AtomicFile::create(path).map_err(|e| io(e.source))?;
    let summary = write_csv(&mut out, options).map_err(|e| match e {
        SimError::Io { source, .. } => io(source),
        other => other,
    })?;
    out.commit().map_err(|e| io(e.source))?;
    Ok(summary)
}

/// Writes a simulated recording: for each user a continuous session of `rows_per_user` samples at 20 ms steps,
/// the next user starting a minute after the previous one ended.
pub fn write_csv<W: Write>(out: &mut W, options: &SimFileOptions) -> Result<SimSummary, SimError> {
    options.validate()?;
    let io = |source| SimError::Io { path: "<output>".into(), source };
    let header: &[u8] = if options.labeled {
        b"timestamp,Ax_w,Ay_w,Az_w,Gx_w,Gy_w,Gz_w,activity,User\n"
    } else {
        b"timestamp,Ax,Ay,Az,Gx,Gy,Gz\n"
    };
    out.write_all(header).map_err(io)?;
    let rows_per_user = options.rows_per_user();
    let tables = options.thesis_tables.clone().unwrap_or_else(|| Arc::new(ThesisTables::builtin()));
    let mut summary = SimSummary::default();
    let mut session_start = FILE_START_EPOCH_MS;
    let mut line = Vec::with_capacity(128);
    for k in 0..options.users {
        let user = options.first_user + k;
        let mut sim = SensorSim::with_tables(options.seed, user, options.profile, Arc::clone(&tables));
        sim.set_drift(options.drift.clone())?;
        let user_text = user.to_string();
        for row in 0..rows_per_user {
            let sample = sim.next_sample();
            line.clear();
            push_int(&mut line, session_start + row as i64 * SAMPLE_PERIOD_MS);
            push_values(&mut line, &sample.values, sample.accel_unit)
                .map_err(|(column, value)| SimError::NotFinite { user, row, column, value })?;
            if options.labeled {
                line.push(b',');
                line.extend_from_slice(THESIS_CLASSES.get(sample.activity).copied().unwrap_or("?").as_bytes());
                line.push(b',');
                line.extend_from_slice(user_text.as_bytes());
            }
            line.push(b'\n');
            out.write_all(&line).map_err(io)?;
            if let Some(count) = summary.class_rows.get_mut(sample.activity) {
                *count += 1;
            }
        }
        summary.rows += rows_per_user;
        session_start += rows_per_user as i64 * SAMPLE_PERIOD_MS + PAUSE_BETWEEN_USERS_MS;
    }
    Ok(summary)
}

/// Gyroscope resolution: 0.1 deg/s (the noise is 0.25-0.55 deg/s).
const GYRO_DECIMALS: u32 = 1;

/// Accelerometer resolution ≈ 0.01 m/s² in every unit (the noise is 0.02-0.045 m/s²).
fn accel_decimals(unit: AccelUnit) -> u32 {
    match unit {
        AccelUnit::G => 3,
        AccelUnit::MilliG => 0,
        AccelUnit::MetersPerSecond2 | AccelUnit::AsIs => 2,
    }
}

/// The channel columns in file order, for messages.
const CHANNEL_COLUMNS: [&str; 6] = ["Ax", "Ay", "Az", "Gx", "Gy", "Gz"];

/// Appends `,value` for the six channels. A value that is not finite (or too large to write as a number) is
/// refused: the error gives its column and value.
fn push_values(buf: &mut Vec<u8>, values: &[f32; 6], accel_unit: AccelUnit) -> Result<(), (&'static str, f64)> {
    let accel_decimals = accel_decimals(accel_unit);
    for (i, v) in values.iter().enumerate() {
        buf.push(b',');
        let decimals = if i < 3 { accel_decimals } else { GYRO_DECIMALS };
        if !push_fixed(buf, f64::from(*v), decimals) {
            return Err((CHANNEL_COLUMNS.get(i).copied().unwrap_or("?"), f64::from(*v)));
        }
    }
    Ok(())
}

/// Largest magnitude written: far beyond any sensor's range, and well inside `i64` once scaled.
const MAX_WRITTEN_MAGNITUDE: f64 = 1e12;

/// Appends `v` rounded to `decimals` places, without trailing zeros (`9.8`, `-0.05`, `0`). Returns false (and
/// appends nothing) for a value that is not finite or larger in magnitude than [`MAX_WRITTEN_MAGNITUDE`].
fn push_fixed(buf: &mut Vec<u8>, v: f64, decimals: u32) -> bool {
    if !(v.is_finite() && v.abs() <= MAX_WRITTEN_MAGNITUDE) {
        return false;
    }
    let unit = 10u64.pow(decimals);
    let q = (v * unit as f64).round() as i64;
    if q < 0 {
        buf.push(b'-');
    }
    let magnitude = q.unsigned_abs();
    push_digits(buf, magnitude / unit);
    let mut frac = magnitude % unit;
    if frac != 0 {
        let mut width = decimals;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        buf.push(b'.');
        let digits_start = buf.len();
        push_digits(buf, frac);
        let written = (buf.len() - digits_start) as u32;
        for _ in written..width {
            buf.insert(digits_start, b'0');
        }
    }
    true
}

fn push_int(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_digits(buf, v.unsigned_abs());
}

fn push_digits(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_fixed(v: f64, decimals: u32) -> String {
        let mut buf = Vec::new();
        assert!(push_fixed(&mut buf, v, decimals));
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn non_finite_and_huge_values_are_refused_not_written_as_nan() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e39] {
            let mut buf = b"x".to_vec();
            assert!(!push_fixed(&mut buf, v, 2), "{v}");
            assert_eq!(buf, b"x", "{v}: nothing appended");
        }
        let mut line = Vec::new();
        let refused = push_values(&mut line, &[9.8, 0.0, 0.0, 1.0, f32::NAN, 0.0], AccelUnit::MetersPerSecond2);
        let (column, value) = refused.unwrap_err();
        assert_eq!(column, "Gy");
        assert!(value.is_nan());
    }

    #[test]
    fn numbers_are_compact_and_exact_to_the_resolution() {
        assert_eq!(format_fixed(9.80665, 2), "9.81");
        assert_eq!(format_fixed(-0.05, 2), "-0.05");
        assert_eq!(format_fixed(0.004, 2), "0");
        assert_eq!(format_fixed(-0.004, 2), "0");
        assert_eq!(format_fixed(12.0, 1), "12");
        assert_eq!(format_fixed(-123.45, 1), "-123.5");
        assert_eq!(format_fixed(0.0012, 3), "0.001");
        assert_eq!(format_fixed(1.0502, 2), "1.05");
        assert_eq!(format_fixed(-980.4, 0), "-980");
    }
}
