//! Sensor data: CSV loading (both schemas of SPEC §1, aliases, timestamps, units), windowing (SPEC §3) and the
//! scaler that turns a window into model input.

mod recording;

pub use recording::{Recording, Window, Windowing, WindowingMode};
