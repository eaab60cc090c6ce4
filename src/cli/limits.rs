//! The accepted ranges of every numeric command-line flag, checked by the argument parser so that a number out of
//! range exits 2 with the allowed range in the message, before anything is allocated, loaded or written.

use clap::builder::RangedU64ValueParser;

/// `--batch`: windows per inference call (0 = the default of 64). 4096 windows of the thesis model are 19 MB.
pub const BATCH: (u64, u64) = (0, 4096);
/// `--threads`: ONNX Runtime threads per inference call (0 = one per core).
pub const THREADS: (u64, u64) = (0, 64);
/// `drift --chunk`: windows per chunk (10,000 windows of 2 s are 5.5 hours of data).
pub const CHUNK: (u64, u64) = (1, 10_000);
/// `drift --js-threshold`: a Jensen–Shannon distance (base 2) lies in [0, 1].
pub const JS_THRESHOLD: (f64, f64) = (0.0, 1.0);
/// `gui --speed`: replay speed factor.
pub const SPEED: (f64, f64) = (0.25, 100.0);
/// `gui --screenshot-after`: seconds (an hour at most).
pub const SCREENSHOT_AFTER: (f64, f64) = (0.0, 3600.0);

/// A parser for an unsigned integer flag in `[min, max]`, of the field's own type.
pub fn integer<T>((min, max): (u64, u64)) -> RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: std::error::Error + Send + Sync + 'static,
{
    RangedU64ValueParser::<T>::new().range(min..=max)
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

impl clap::builder::TypedValueParser for Number {
    type Value = f64;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<f64, clap::Error> {
        let text = value.to_string_lossy();
        self.check(&text).map_err(|problem| {
            let flag = arg.map(|a| {
                let name = a.get_long().map(|l| format!("--{l}")).unwrap_or_else(|| a.get_id().to_string());
                match a.get_value_names().and_then(|v| v.first()) {
                    Some(value) => format!("'{name} <{value}>'"),
                    None => format!("'{name}'"),
                }
            });
            let message = format!("invalid value '{text}' for {}: {problem}\n", flag.unwrap_or_default());
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd)
        })
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
}
