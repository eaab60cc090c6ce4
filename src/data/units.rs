//! Accelerometer unit detection and conversion (docs/FORMATS.md §1): the median magnitude of (Ax, Ay, Az) over a file tells g,
//! m/s² and milli-g apart, because gravity dominates a wrist sensor's acceleration most of the time.

use std::fmt;

use crate::model::AccelUnit;

/// Median-magnitude band of each unit, inclusive: `(unit, low, high)`.
pub const UNIT_BANDS: [(AccelUnit, f64, f64); 3] =
    [(AccelUnit::G, 0.6, 1.6), (AccelUnit::MetersPerSecond2, 6.0, 16.0), (AccelUnit::MilliG, 600.0, 1600.0)];

/// The unit whose band holds a median magnitude, if any.
pub fn unit_for_median(median: f64) -> Option<AccelUnit> {
    UNIT_BANDS.iter().find(|(_, lo, hi)| (*lo..=*hi).contains(&median)).map(|(u, _, _)| *u)
}

/// Where the loader's belief about the file's accelerometer unit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitSource {
    /// The median-magnitude rule.
    Detected,
    /// `--accel-unit` (`LoadOptions::accel_unit`).
    Override,
}

/// What the loader decided about the accelerometer unit, for the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum UnitDecision {
    /// Nothing to decide: no rows, or no accelerometer channels the alias table knows.
    #[default]
    NotApplicable,
    /// The card says `as-is` (or `--accel-unit as-is` was given): no detection, no conversion.
    AsIs { by_override: bool },
    /// The file's unit is known; `factor` converted it to the card's unit (1 when they are the same).
    Known { unit: AccelUnit, source: UnitSource, target: AccelUnit, factor: f64, median: Option<f64> },
    /// The file's unit was given by `--accel-unit`, but the card is `as-is`, so there is nothing to convert to.
    NoTarget { unit: AccelUnit },
    /// The median magnitude fits no band: the data is used as it is.
    Ambiguous { median: f64 },
}

impl UnitDecision {
    /// The factor applied to the accelerometer channels (1 when nothing was converted).
    pub fn factor(&self) -> f64 {
        match self {
            UnitDecision::Known { factor, .. } => *factor,
            _ => 1.0,
        }
    }

    /// True when the accelerometer values were multiplied by a factor other than 1.
    pub fn converted(&self) -> bool {
        self.factor() != 1.0
    }
}

impl fmt::Display for UnitDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitDecision::NotApplicable => f.write_str("not checked (no rows, or no known accelerometer channels)"),
            UnitDecision::AsIs { by_override: true } => f.write_str("as-is (--accel-unit as-is): no detection"),
            UnitDecision::AsIs { by_override: false } => f.write_str("as-is (the model card says so): no detection"),
            UnitDecision::Known { unit, source, target, factor, median } => {
                match source {
                    UnitSource::Detected => write!(f, "detected {unit}")?,
                    UnitSource::Override => write!(f, "{unit} (--accel-unit)")?,
                }
                if let Some(m) = median {
                    write!(f, " (median |a| = {m:.4})")?;
                }
                if *factor == 1.0 {
                    write!(f, ", as the model expects")
                } else {
                    write!(f, ", converted to {target} (x {factor})")
                }
            }
            UnitDecision::NoTarget { unit } => {
                write!(f, "{unit} (--accel-unit), but the model card says as-is: not converted")
            }
            UnitDecision::Ambiguous { median } => write!(
                f,
                "unknown: median |a| = {median:.4} fits none of g [0.6, 1.6], m/s^2 [6, 16], milli-g [600, 1600]; \
                 used as it is"
            ),
        }
    }
}

/// Decides the unit and conversion factor. `median` is the file's median |a| (`None` when it could not be computed).
pub fn decide(card_unit: AccelUnit, override_unit: Option<AccelUnit>, median: Option<f64>) -> UnitDecision {
    let known = |unit: AccelUnit, source: UnitSource, median: Option<f64>| match (unit.to_mps2(), card_unit.to_mps2()) {
        (Some(from), Some(to)) => {
            // Between two units that are not m/s², go through m/s².
            let factor = if unit == card_unit { 1.0 } else { from / to };
            UnitDecision::Known { unit, source, target: card_unit, factor, median }
        }
        _ => UnitDecision::NoTarget { unit },
    };
    match override_unit {
        Some(AccelUnit::AsIs) => return UnitDecision::AsIs { by_override: true },
        Some(unit) => return known(unit, UnitSource::Override, median),
        None => {}
    }
    if card_unit == AccelUnit::AsIs {
        return UnitDecision::AsIs { by_override: false };
    }
    match median {
        None => UnitDecision::NotApplicable,
        Some(m) => match unit_for_median(m) {
            Some(unit) => known(unit, UnitSource::Detected, Some(m)),
            None => UnitDecision::Ambiguous { median: m },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_inclusive_and_disjoint() {
        assert_eq!(unit_for_median(0.6), Some(AccelUnit::G));
        assert_eq!(unit_for_median(1.6), Some(AccelUnit::G));
        assert_eq!(unit_for_median(9.81), Some(AccelUnit::MetersPerSecond2));
        assert_eq!(unit_for_median(1000.0), Some(AccelUnit::MilliG));
        assert_eq!(unit_for_median(3.0), None);
        assert_eq!(unit_for_median(100.0), None);
    }

    #[test]
    fn milli_g_to_g_goes_through_mps2() {
        let d = decide(AccelUnit::G, None, Some(1000.0));
        let expected = 0.00981 / crate::model::card::STANDARD_GRAVITY;
        assert!((d.factor() - expected).abs() < 1e-15, "{d:?}");
    }

    #[test]
    fn override_beats_card_and_detection() {
        let d = decide(AccelUnit::AsIs, Some(AccelUnit::G), Some(1000.0));
        assert_eq!(d, UnitDecision::NoTarget { unit: AccelUnit::G });
        let d = decide(AccelUnit::MetersPerSecond2, Some(AccelUnit::G), Some(1000.0));
        assert!(matches!(d, UnitDecision::Known { unit: AccelUnit::G, source: UnitSource::Override, .. }));
        let d = decide(AccelUnit::MetersPerSecond2, Some(AccelUnit::AsIs), Some(1.0));
        assert_eq!(d.factor(), 1.0);
        assert_eq!(decide(AccelUnit::AsIs, None, Some(1.0)), UnitDecision::AsIs { by_override: false });
    }

    #[test]
    fn outside_every_band_is_used_as_is() {
        let d = decide(AccelUnit::MetersPerSecond2, None, Some(50.0));
        assert_eq!(d, UnitDecision::Ambiguous { median: 50.0 });
        assert_eq!(d.factor(), 1.0);
    }
}
