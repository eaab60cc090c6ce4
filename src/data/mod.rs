//! Sensor data: CSV loading (both schemas of docs/FORMATS.md §1, aliases, timestamps, units), windowing (docs/FORMATS.md §3) and the
//! scaler that turns a window into model input.
//!
//! ```text
//! load_csv(path, card, opts) -> Loaded { recording, report }    columnar f32, card channel order, card units
//! window(&recording, card, mode) -> Windowing                   windows of card.window rows, every card.step()
//! Scaler::from_card(card).fill(&recording, &window, out)        (x - mean) / scale, [t][c]
//! StreamWindower::new(card).push(t, values, label)              the same windows for live samples
//! WindowFile::open(x_npy, y_npy, card, normalised)               prepared windows (windows x window x channels)
//! ```

mod columns;
mod error;
mod load;
mod npy;
mod recording;
mod report;
mod sample;
mod scaler;
mod spool;
mod stream;
mod timestamp;
mod units;
mod window;

pub use columns::{ColumnMap, KnownChannel, MissingChannel, Sensor, candidate_names, map_header};
pub use error::DataError;
pub use load::{
    GAP_PERIODS, IGNORED_LABEL, LoadOptions, Loaded, Row, RowStream, load_csv, load_csv_from_reader, open_csv,
    open_input,
};
pub use npy::{
    NormalisationDecision, Normalised, WindowFile, WindowsReport, WindowsView, is_npy, labels_beside, labels_name,
};
pub use recording::{Recording, Window, Windowing, WindowingMode};
pub use report::{BadRow, BadRowKind, ColumnsUsed, LoadReport, MAX_BAD_ROW_DETAILS};
pub use scaler::{ScaleError, Scaler};
pub use stream::{StreamBreaks, StreamError, StreamWindow, StreamWindower};
pub use timestamp::{TimestampKind, parse_iso8601};
pub use units::{UNIT_BANDS, UnitDecision, UnitSource, decide as decide_unit, unit_for_median};
pub use window::{CutWindow, RowWindower, WindowingTally, majority_label, segments, window};
