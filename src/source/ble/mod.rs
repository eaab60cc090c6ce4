//! The BLE source's building blocks: the Nordic UART Service it reads and the line assembler for notifications.
//! The transport trait, the btleplug transport, the connection state machine and `SourceSpec::Ble` are not built
//! yet (issue 9).

mod assemble;

pub use assemble::{Assembled, LineAssembler, MAX_LINE_BYTES};

/// The Nordic UART Service's UUID, `6E400001-B5A3-F393-E0A9-E50E24DCCA9E`, as a 128-bit number.
pub const NUS_SERVICE: u128 = 0x6E400001_B5A3_F393_E0A9_E50E24DCCA9E;
/// The NUS TX characteristic (device → central, NOTIFY); the source chooses by the NOTIFY property, not this UUID.
pub const NUS_TX: u128 = 0x6E400003_B5A3_F393_E0A9_E50E24DCCA9E;

// MERGE-PENDING: replaced by the btleplug transport from branch `ble`.
#[derive(Debug, Clone, PartialEq)]
pub struct BleDevice {
    pub name: Option<String>,
    pub address: String,
    pub rssi: Option<i16>,
    pub has_nus: bool,
}
pub fn scan(_: std::time::Duration) -> Result<Vec<BleDevice>, String> {
    Err("MERGE-PENDING".into())
}
