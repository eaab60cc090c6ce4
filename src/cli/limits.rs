//! The accepted ranges of every numeric command-line flag, checked by the argument parser so that a number out of
//! range exits 2 with the allowed range in the message, before anything is allocated, loaded or written.

/// `--batch`: windows per inference call (0 = the default of 64). 4096 windows of the thesis model are 19 MB.
pub const BATCH: (u64, u64) = (0, 4096);
/// `drift --chunk`: windows per chunk (10,000 windows of 2 s are 5.5 hours of data).
pub const CHUNK: (u64, u64) = (1, 10_000);
/// `simulate --users`.
pub const USERS: (u64, u64) = (har_monitor::sim::limits::USERS.0 as u64, har_monitor::sim::limits::USERS.1 as u64);

/// `--threads`: ONNX Runtime threads per inference call, 0 (one per core) up to the number of cores. More threads
/// than cores only wait for each other: 64 threads on 2 cores made `predict` 20 times slower.
pub fn threads() -> Count {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    Count { min: 0, max: cores, why: ", the number of cores of this machine" }
}
/// `drift --js-threshold`: a Jensen–Shannon distance (base 2) lies in [0, 1].
pub const JS_THRESHOLD: (f64, f64) = (0.0, 1.0);
/// `gui --speed`: replay speed factor.
pub const SPEED: (f64, f64) = (0.25, 100.0);
/// `gui --screenshot-after`: seconds (an hour at most).
pub const SCREENSHOT_AFTER: (f64, f64) = (0.0, 3600.0);

/// A parser for a count (an unsigned integer) in `[min, max]`; its error states the range.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    min: u64,
    max: u64,
    /// Why the maximum is what it is, appended to the range in messages.
    why: &'static str,
}

/// A count from `min` to `max`, both included.
pub fn count((min, max): (u64, u64)) -> Count {
    Count { min, max, why: "" }
}

impl Count {
    fn check(&self, text: &str) -> Result<u64, String> {
        let range = format!("from {} to {}{}", self.min, self.max, self.why);
        let digits = text.trim();
        let value: u64 = digits.parse().map_err(|_| {
            // All digits but no u64: a whole number, far too large.
            let too_large = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            if too_large {
                format!("out of range (allowed: {range})")
            } else {
                format!("not a whole number (allowed: {range})")
            }
        })?;
        if (self.min..=self.max).contains(&value) { Ok(value) } else { Err(format!("out of range (allowed: {range})")) }
    }
}

/// A parser for a finite number in `[min, max]` (or `(min, max]` with `above_min`); its error states the range.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    min: f64,
    max: f64,
    above_min: bool,
}

/// A number from `min` to `max`, both included.
pub fn number((min, max): (f64, f64)) -> Number {
    Number { min, max, above_min: false }
}

/// A number above `min` (excluded) up to `max` (included).
pub fn number_above((min, max): (f64, f64)) -> Number {
    Number { min, max, above_min: true }
}

impl Number {
    fn range_text(&self) -> String {
        if self.above_min {
            format!("more than {} and at most {}", self.min, self.max)
        } else {
            format!("from {} to {}", self.min, self.max)
        }
    }

    fn check(&self, text: &str) -> Result<f64, String> {
        let value: f64 = text.trim().parse().map_err(|_| format!("not a number (allowed: {})", self.range_text()))?;
        let above = if self.above_min { value > self.min } else { value >= self.min };
        if value.is_finite() && above && value <= self.max {
            Ok(value)
        } else {
            Err(format!("out of range (allowed: {})", self.range_text()))
        }
    }
}

/// The parse error clap prints: `invalid value 'X' for '--flag <N>': problem`.
fn invalid_value(cmd: &clap::Command, arg: Option<&clap::Arg>, text: &str, problem: &str) -> clap::Error {
    let flag = arg.map(|a| {
        let name = a.get_long().map(|l| format!("--{l}")).unwrap_or_else(|| a.get_id().to_string());
        match a.get_value_names().and_then(|v| v.first()) {
            Some(value) => format!("'{name} <{value}>'"),
            None => format!("'{name}'"),
        }
    });
    let message = format!("invalid value '{text}' for {}: {problem}\n", flag.unwrap_or_default());
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd)
}

impl clap::builder::TypedValueParser for Number {
    type Value = f64;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<f64, clap::Error> {
        let text = value.to_string_lossy();
        self.check(&text).map_err(|problem| invalid_value(cmd, arg, &text, &problem))
    }
}

impl clap::builder::TypedValueParser for Count {
    type Value = usize;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<usize, clap::Error> {
        let text = value.to_string_lossy();
        self.check(&text)
            .and_then(|v| usize::try_from(v).map_err(|_| format!("{v} is too large for this machine")))
            .map_err(|problem| invalid_value(cmd, arg, &text, &problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_outside_the_range_or_not_finite_are_refused_with_the_range() {
        let speed = number(SPEED);
        assert_eq!(speed.check("0.25"), Ok(0.25));
        assert_eq!(speed.check("100"), Ok(100.0));
        for bad in ["0.2", "1e20", "inf", "NaN", "-1"] {
            let err = speed.check(bad).unwrap_err();
            assert!(err.contains("from 0.25 to 100"), "{bad}: {err}");
        }
        assert!(speed.check("fast").unwrap_err().contains("not a number"));
        let minutes = number_above((0.0, 10.0));
        assert!(minutes.check("0").is_err());
        assert_eq!(minutes.check("0.1"), Ok(0.1));
    }

    #[test]
    fn counts_outside_the_range_are_refused_with_the_range() {
        let batch = count(BATCH);
        assert_eq!(batch.check("4096"), Ok(4096));
        for bad in ["4097", "18446744073709551615", "18446744073709551616", "-1", "1.5", "x"] {
            let err = batch.check(bad).unwrap_err();
            assert!(err.contains("from 0 to 4096"), "{bad}: {err}");
        }
        let threads = threads();
        assert!(threads.check("0").is_ok() && threads.check("1").is_ok());
        assert!(threads.check("1000").unwrap_err().contains("the number of cores"));
    }
}
