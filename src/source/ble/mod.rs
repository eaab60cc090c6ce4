//! The BLE source: a [`BleTransport`] (btleplug; BlueZ over D-Bus on Linux) that reads the notifications of a
//! device's Nordic UART Service TX characteristic, and [`scan`] to list devices. The live source
//! ([`crate::source::live::LiveSource`]) runs the connection state machine and the line decoder on top of it, so
//! lines split across notifications are joined there; [`LineAssembler`] does the same for notification payloads on
//! their own (kept for tools and tests, the transport does not need it).

mod assemble;
mod btle;

pub use assemble::{Assembled, LineAssembler, MAX_LINE_BYTES};
pub use btle::{
    BleConnection, BleDevice, BleError, BleTransport, CONNECT_BUDGET, DISCONNECT_WAIT, FIND_WINDOW, Notice, Pick,
    Target, choose_device, choose_notify_characteristic, scan, sort_devices,
};

/// The Nordic UART Service's UUID, `6E400001-B5A3-F393-E0A9-E50E24DCCA9E`, as a 128-bit number.
pub const NUS_SERVICE: u128 = 0x6E400001_B5A3_F393_E0A9_E50E24DCCA9E;
/// The NUS TX characteristic (device → central, NOTIFY); the source chooses by the NOTIFY property, not this UUID.
pub const NUS_TX: u128 = 0x6E400003_B5A3_F393_E0A9_E50E24DCCA9E;
