//! Number and time formatting shared by every face of the app (GUI, CLI messages, reports): one home, so the same
//! number reads the same everywhere.

/// Seconds as `m:ss` (or `h:mm:ss`).
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A count with thousands separators: `385,326`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A share in [0, 1] as a percentage with one decimal, in the app's one style (no space before `%`), that never
/// claims 0% or 100% when it is not: `0%`, `<0.1%`, `42.1%`, `>99.9%`, `100%`; `–` for NaN.
pub fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if share.is_nan() {
        "–".into()
    } else if share <= 0.0 {
        "0%".into()
    } else if share >= 1.0 {
        "100%".into()
    } else if pct < 0.05 {
        "<0.1%".into()
    } else if pct >= 99.95 {
        ">99.9%".into()
    } else {
        format!("{pct:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(385_326), "385,326");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn percentages_have_one_style_and_never_round_to_a_false_0_or_100() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.0004), "<0.1%");
        assert_eq!(percent(0.4213), "42.1%");
        assert_eq!(percent(0.8734), "87.3%");
        assert_eq!(percent(0.9996), ">99.9%");
        assert_eq!(percent(0.9999), ">99.9%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(f64::NAN), "–");
        assert!(!percent(0.5).contains(' '));
    }

    #[test]
    fn clock_formats_minutes_and_hours() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(61.4), "1:01");
        assert_eq!(clock(3725.0), "1:02:05");
    }
}
