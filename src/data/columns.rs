//! Matching a CSV header to the model card: which file column feeds each card channel (by name, case-insensitive,
//! with the common aliases of docs/FORMATS.md §1, in both directions), and where the timestamp, label and user columns are.

use std::fmt;

/// The sensor a channel name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensor {
    Accel,
    Gyro,
}

/// A channel the alias table knows: a sensor and an axis (`'x'`, `'y'` or `'z'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownChannel {
    pub sensor: Sensor,
    pub axis: char,
}

/// Accelerometer spellings, `{}` standing for the axis letter. The first five are docs/FORMATS.md §1's list.
const ACCEL_PATTERNS: [&str; 9] =
    ["a{}", "a{}_w", "acc_{}", "accel_{}", "acc{}", "accel{}", "acceleration_{}", "accelerometer_{}", "acc_{}_w"];
/// Gyroscope spellings, `{}` standing for the axis letter. The first four are docs/FORMATS.md §1's list.
const GYRO_PATTERNS: [&str; 7] = ["g{}", "g{}_w", "gyro_{}", "gyr_{}", "gyro{}", "gyroscope_{}", "gyro_{}_w"];

/// Spellings of the timestamp column.
pub const TIME_NAMES: [&str; 6] = ["timestamp", "time", "ts", "datetime", "time_s", "epoch"];
/// Spellings of the label column.
pub const LABEL_NAMES: [&str; 3] = ["activity", "label", "class"];
/// Spellings of the user column.
pub const USER_NAMES: [&str; 3] = ["user", "subject", "user_id"];

impl KnownChannel {
    /// Recognises a channel name (`Ax`, `acc_x`, `Gz_w`, ...), ignoring case and surrounding blanks.
    pub fn from_name(name: &str) -> Option<KnownChannel> {
        let lower = name.trim().to_ascii_lowercase();
        for axis in ['x', 'y', 'z'] {
            for (sensor, patterns) in [(Sensor::Accel, &ACCEL_PATTERNS[..]), (Sensor::Gyro, &GYRO_PATTERNS[..])] {
                if patterns.iter().any(|p| p.replace("{}", &axis.to_string()) == lower) {
                    return Some(KnownChannel { sensor, axis });
                }
            }
        }
        None
    }

    /// Every spelling of this channel, in order of preference (the canonical spellings of docs/FORMATS.md §1 first).
    pub fn aliases(self) -> Vec<String> {
        let patterns: &[&str] = match self.sensor {
            Sensor::Accel => &ACCEL_PATTERNS,
            Sensor::Gyro => &GYRO_PATTERNS,
        };
        let upper = match self.sensor {
            Sensor::Accel => 'A',
            Sensor::Gyro => 'G',
        };
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = p.replace("{}", &self.axis.to_string());
                // Show the thesis spellings (`Ax`, `Ax_w`) the way the thesis writes them.
                if i < 2 { format!("{upper}{}", &s[1..]) } else { s }
            })
            .collect()
    }
}

/// Where each thing the loader needs sits in the file (0-based column indices) and what the header said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnMap {
    /// The header as read (trimmed, BOM removed).
    pub header: Vec<String>,
    /// `channels[i]` is the column of the card's channel `i`.
    pub channels: Vec<usize>,
    pub time: Option<usize>,
    pub label: Option<usize>,
    pub user: Option<usize>,
    /// Columns nobody reads.
    pub ignored: Vec<usize>,
    /// Remarks about ambiguous or repeated column names.
    pub notes: Vec<String>,
}

/// A card channel that no column matched, with the names tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingChannel {
    pub channel: String,
    pub tried: Vec<String>,
}

impl fmt::Display for MissingChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (tried {})", self.channel, self.tried.join(", "))
    }
}

/// The names that may stand for a card channel: its own name, and when the alias table knows it, every alias.
pub fn candidate_names(card_channel: &str) -> Vec<String> {
    let mut names = vec![card_channel.trim().to_string()];
    if let Some(known) = KnownChannel::from_name(card_channel) {
        for alias in known.aliases() {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&alias)) {
                names.push(alias);
            }
        }
    }
    names
}

/// Finds the first column whose name is one of `names` (case-insensitive), preferring earlier names.
/// Returns the column and every other column that matched too.
fn find_column(header: &[String], names: &[String], taken: &[usize]) -> Option<(usize, Vec<usize>)> {
    let mut found: Vec<usize> = Vec::new();
    for name in names {
        for (i, h) in header.iter().enumerate() {
            if h.eq_ignore_ascii_case(name) && !taken.contains(&i) && !found.contains(&i) {
                found.push(i);
            }
        }
    }
    let (&first, rest) = found.split_first()?;
    Some((first, rest.to_vec()))
}

/// Maps a header onto the card's channels. On failure returns every channel that no column matched.
pub fn map_header(header: Vec<String>, card_channels: &[String]) -> Result<ColumnMap, Vec<MissingChannel>> {
    let mut map = ColumnMap { header, ..ColumnMap::default() };
    let mut missing = Vec::new();
    let mut taken: Vec<usize> = Vec::new();
    for channel in card_channels {
        let names = candidate_names(channel);
        match find_column(&map.header, &names, &taken) {
            Some((col, others)) => {
                if !others.is_empty() {
                    let others: Vec<String> = others.iter().map(|&i| format!("`{}`", map.header[i])).collect();
                    map.notes.push(format!(
                        "channel {channel}: column `{}` used; {} also match{} and {} ignored",
                        map.header[col],
                        others.join(", "),
                        if others.len() == 1 { "es" } else { "" },
                        if others.len() == 1 { "is" } else { "are" },
                    ));
                }
                taken.push(col);
                map.channels.push(col);
            }
            None => missing.push(MissingChannel { channel: channel.clone(), tried: names }),
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let lists: [(&[&str], &str); 3] = [(&TIME_NAMES, "timestamp"), (&LABEL_NAMES, "label"), (&USER_NAMES, "user")];
    let mut found = [None; 3];
    for (slot, (names, what)) in found.iter_mut().zip(lists) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        if let Some((col, others)) = find_column(&map.header, &names, &taken) {
            if !others.is_empty() {
                let others: Vec<String> = others.iter().map(|&i| format!("`{}`", map.header[i])).collect();
                map.notes.push(format!("{what} column `{}` used; {} ignored", map.header[col], others.join(", ")));
            }
            taken.push(col);
            *slot = Some(col);
        }
    }
    [map.time, map.label, map.user] = found;
    map.ignored = (0..map.header.len()).filter(|i| !taken.contains(i)).collect();
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_aliases_are_recognised() {
        for n in ["Ax", "Ax_w", "acc_x", "accel_x", "ax", "AX_W", " Accel_X "] {
            assert_eq!(KnownChannel::from_name(n), Some(KnownChannel { sensor: Sensor::Accel, axis: 'x' }), "{n}");
        }
        for n in ["Gz", "Gz_w", "gyro_z", "gz"] {
            assert_eq!(KnownChannel::from_name(n), Some(KnownChannel { sensor: Sensor::Gyro, axis: 'z' }), "{n}");
        }
        assert_eq!(KnownChannel::from_name("mag_x"), None);
        assert_eq!(KnownChannel::from_name("a"), None);
    }

    #[test]
    fn card_names_and_file_names_match_both_ways() {
        let card = names(&["acc_x", "acc_y", "acc_z"]);
        let map = map_header(names(&["Az_w", "timestamp", "Ax_w", "Ay_w"]), &card).unwrap();
        assert_eq!(map.channels, vec![2, 3, 0]);
        assert_eq!(map.time, Some(1));
        let card = names(&["Ax"]);
        let map = map_header(names(&["accel_x"]), &card).unwrap();
        assert_eq!(map.channels, vec![0]);
    }

    #[test]
    fn exact_name_beats_alias_and_the_other_is_noted() {
        let map = map_header(names(&["acc_x", "Ax"]), &names(&["Ax"])).unwrap();
        assert_eq!(map.channels, vec![1]);
        assert_eq!(map.ignored, vec![0]);
        assert!(map.notes[0].contains("acc_x"), "{:?}", map.notes);
    }

    #[test]
    fn missing_channels_are_all_named_with_aliases() {
        let err = map_header(names(&["Ax", "Ay"]), &names(&["Ax", "Gx", "Gy"])).unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(err[0].channel, "Gx");
        assert!(err[0].tried.contains(&"gyro_x".to_string()));
    }

    #[test]
    fn unknown_card_channel_matches_only_its_own_name() {
        let map = map_header(names(&["MAG_X"]), &names(&["mag_x"])).unwrap();
        assert_eq!(map.channels, vec![0]);
        assert!(map_header(names(&["magx"]), &names(&["mag_x"])).is_err());
    }
}
