//! The thesis' eleven behaviours, in the model's (alphabetical) output order, and which of them the supervisor
//! watches by default.

/// The thesis class list, alphabetical: output index `i` of the thesis model is `THESIS_CLASSES[i]`.
pub const THESIS_CLASSES: [&str; 11] = [
    "ear_rubbing",
    "forehead_rubbing",
    "hair_pulling",
    "hand_scratching",
    "hand_tapping",
    "knuckles_cracking",
    "nail_biting",
    "nape_rubbing",
    "sitting",
    "smoking",
    "standing",
];

/// Behaviours watched by default: the face- and hand-focused, anxiety-related ones.
pub const DEFAULT_WATCHED: [&str; 7] = [
    "ear_rubbing",
    "forehead_rubbing",
    "hair_pulling",
    "hand_scratching",
    "knuckles_cracking",
    "nail_biting",
    "nape_rubbing",
];
