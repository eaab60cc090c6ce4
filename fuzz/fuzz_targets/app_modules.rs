// The app's own sources that the fuzz targets exercise, compiled straight into each target at its crate root
// (`include!`d, because those sources name each other as `crate::data`, `crate::model`, ...), so that an
// instrumented build needs only the data layer's own dependencies (see Cargo.toml).

#[allow(dead_code, unused_imports)]
#[path = "../../src/data/mod.rs"]
mod data;
#[allow(dead_code, unused_imports)]
#[path = "../../src/model/card.rs"]
mod card;
#[allow(dead_code, unused_imports)]
#[path = "../../src/format.rs"]
mod format;
#[allow(dead_code, unused_imports)]
#[path = "../../src/numeric.rs"]
mod numeric;
#[allow(dead_code, unused_imports)]
#[path = "../../src/source/protocol.rs"]
mod protocol;
mod model {
    pub use super::card::{AccelUnit, ModelCard};
}
