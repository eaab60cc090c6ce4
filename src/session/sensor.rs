//! What the Sensor panel knows: the serial ports present and the BLE devices found by the last scan. Listing
//! ports reads sysfs (fast); a BLE scan takes seconds and runs on its own thread, polled each frame.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::source::serial::{PortInfo, list_ports};

/// How long a BLE scan listens.
pub const BLE_SCAN: Duration = Duration::from_secs(4);

/// Serial ports and BLE scan results.
#[derive(Debug, Default)]
pub struct SensorState {
    /// The serial ports at the last refresh.
    pub ports: Vec<PortInfo>,
    /// When the ports were last listed (`None`: not yet).
    pub listed_at: Option<Instant>,
    pub ble: BleScan,
}

/// The BLE scan.
#[derive(Debug, Default)]
pub enum BleScan {
    #[default]
    NotStarted,
    Scanning {
        since: Instant,
        result: mpsc::Receiver<Result<Vec<crate::source::ble::BleDevice>, String>>,
    },
    Done(Result<Vec<crate::source::ble::BleDevice>, String>),
}

impl SensorState {
    /// Lists the serial ports again.
    pub fn refresh_ports(&mut self) {
        self.ports = list_ports();
        self.listed_at = Some(Instant::now());
    }

    /// Starts a BLE scan on its own thread (a scan under way is left to finish); `wake` is called when it ends.
    pub fn start_scan(&mut self, wake: impl Fn() + Send + 'static) {
        if matches!(self.ble, BleScan::Scanning { .. }) {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("har-ble-scan".into()).spawn(move || {
            let found = crate::source::ble::scan(BLE_SCAN).map_err(|e| e.to_string());
            let _ = tx.send(found);
            wake();
        });
        self.ble = match spawned {
            Ok(_) => BleScan::Scanning { since: Instant::now(), result: rx },
            Err(e) => BleScan::Done(Err(format!("cannot start the scan: {e}"))),
        };
    }

    /// Takes the scan's result when it has come.
    pub fn poll(&mut self) {
        if let BleScan::Scanning { result, .. } = &self.ble {
            match result.try_recv() {
                Ok(found) => self.ble = BleScan::Done(found),
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.ble = BleScan::Done(Err("the scan ended without a result".into()));
                }
            }
        }
    }
}
