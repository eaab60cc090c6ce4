//! One colour per class, used the same way in every view: a qualitative palette (Tableau 10 plus an indigo)
//! that keeps 11 classes apart on a dark background; further classes get evenly spaced hues.

use egui::Color32;

const PALETTE: [Color32; 11] = [
    Color32::from_rgb(0x4E, 0x79, 0xA7), // blue
    Color32::from_rgb(0xF2, 0x8E, 0x2B), // orange
    Color32::from_rgb(0xE1, 0x57, 0x59), // red
    Color32::from_rgb(0x76, 0xB7, 0xB2), // teal
    Color32::from_rgb(0x59, 0xA1, 0x4F), // green
    Color32::from_rgb(0xED, 0xC9, 0x48), // yellow
    Color32::from_rgb(0xB0, 0x7A, 0xA1), // mauve
    Color32::from_rgb(0xFF, 0x9D, 0xA7), // pink
    Color32::from_rgb(0x9C, 0x75, 0x5F), // brown
    Color32::from_rgb(0xBA, 0xB0, 0xAC), // grey
    Color32::from_rgb(0x7B, 0x66, 0xD9), // indigo
];

/// Colour of class `index`.
pub fn class_color(index: usize) -> Color32 {
    PALETTE.get(index).copied().unwrap_or_else(|| {
        let hue = (index as f32 * 0.618_034).fract();
        egui::ecolor::Hsva::new(hue, 0.55, 0.85, 1.0).into()
    })
}

/// Colour for "no class" (unknown label, not yet predicted).
pub const NONE_COLOR: Color32 = Color32::from_rgb(0x3A, 0x3F, 0x47);

/// Accent colours for states.
pub const OK: Color32 = Color32::from_rgb(0x59, 0xA1, 0x4F);
pub const WARN: Color32 = Color32::from_rgb(0xED, 0xC9, 0x48);
pub const BAD: Color32 = Color32::from_rgb(0xE1, 0x57, 0x59);
pub const ACCENT: Color32 = Color32::from_rgb(0x4E, 0xA8, 0xDE);

/// Accelerometer and gyroscope axis colours (x, y, z).
pub const AXES: [Color32; 3] =
    [Color32::from_rgb(0xE8, 0x6A, 0x5F), Color32::from_rgb(0x6C, 0xC0, 0x6A), Color32::from_rgb(0x5F, 0x9B, 0xE8)];

/// The colour of a live link's state, wherever it is shown (Sensor panel, status bar): up, trying, down.
pub fn link_color(state: crate::source::link::LinkState) -> Color32 {
    use crate::source::link::LinkState;
    match state {
        LinkState::Connected => OK,
        LinkState::Connecting | LinkState::Reconnecting => WARN,
        _ => BAD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleven_thesis_classes_get_distinct_colours() {
        let colours: std::collections::HashSet<_> = (0..11).map(class_color).collect();
        assert_eq!(colours.len(), 11);
        assert_ne!(class_color(11), class_color(12));
    }
}
