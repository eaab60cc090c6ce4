//! The serial transport (USB CDC, USB-UART bridges, Bluetooth RFCOMM, pseudo-terminals) and the port list.
//!
//! `serialport` is built without its `libudev` feature, so a fresh machine needs no development package; the port
//! list is read from sysfs here instead, because the crate's own sysfs listing panics when `/sys/class/tty` is
//! missing (containers). Nothing in this module can panic on what the system holds.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::live::{Connection, LinkError, ReadOutcome, Transport};

/// The baud rate the reference firmware uses, and the default.
pub const DEFAULT_BAUD: u32 = 115_200;
/// How long one read waits for bytes.
const READ_TIMEOUT: Duration = Duration::from_millis(100);

/// A serial port by path (`/dev/ttyACM0`, `COM3`, or a symlink such as the virtual device's `--link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialTransport {
    pub path: String,
    pub baud: u32,
}

impl SerialTransport {
    pub fn new(path: impl Into<String>, baud: u32) -> SerialTransport {
        SerialTransport { path: path.into(), baud }
    }
}

impl Transport for SerialTransport {
    fn endpoint(&self) -> String {
        format!("{} @ {} baud", self.path, self.baud)
    }

    fn connect(&mut self) -> Result<Box<dyn Connection>, LinkError> {
        let port = serialport::new(&self.path, self.baud)
            .timeout(READ_TIMEOUT)
            .open()
            .map_err(|e| LinkError(open_error(&self.path, &e)))?;
        Ok(Box::new(SerialConnection { port, path: self.path.clone() }))
    }
}

struct SerialConnection {
    port: Box<dyn serialport::SerialPort>,
    path: String,
}

impl Connection for SerialConnection {
    fn read(&mut self, buf: &mut [u8]) -> Result<ReadOutcome, LinkError> {
        match self.port.read(buf) {
            // The port was readable but gave nothing: the other end hung up.
            Ok(0) => Err(LinkError(format!("{} closed (unplugged?)", self.path))),
            Ok(n) => Ok(ReadOutcome::Data(n)),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => {
                Ok(ReadOutcome::Idle)
            }
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                Err(LinkError(format!("{} hung up (unplugged?)", self.path)))
            }
            Err(e) => Err(LinkError(format!("reading {}: {e}", self.path))),
        }
    }
}

/// Says why a port did not open, with what to do about it.
fn open_error(path: &str, e: &serialport::Error) -> String {
    use serialport::ErrorKind;
    match e.kind() {
        ErrorKind::NoDevice => format!("{path}: no such device (not plugged in?)"),
        ErrorKind::Io(std::io::ErrorKind::NotFound) => format!("{path} does not exist (not plugged in?)"),
        ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => format!(
            "permission denied on {path}: add your user to the group that owns it (`dialout` on Debian/Ubuntu, \
             `uucp` on Arch) and log in again"
        ),
        ErrorKind::InvalidInput => format!("{path}: {e} (is the baud rate supported?)"),
        _ if e.description.contains("busy") || e.description.contains("Resource") => {
            format!("{path} is in use by another program (close its serial monitor)")
        }
        _ => format!("{path}: {e}"),
    }
}

/// A serial port the system offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// What to open (`/dev/ttyACM0`).
    pub path: String,
    /// What it is, as far as the system says (`USB ACM: Arduino Nano 33 BLE`, `Bluetooth RFCOMM`).
    pub description: String,
}

/// The serial ports present now, sorted by path. Never panics; an unreadable system gives an empty list.
pub fn list_ports() -> Vec<PortInfo> {
    #[cfg(target_os = "linux")]
    let mut ports = linux_ports(Path::new("/sys/class/tty"), Path::new("/dev"));
    #[cfg(not(target_os = "linux"))]
    let mut ports = other_ports();
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    ports.dedup_by(|a, b| a.path == b.path);
    ports
}

#[cfg(not(target_os = "linux"))]
fn other_ports() -> Vec<PortInfo> {
    let listed = std::panic::catch_unwind(serialport::available_ports);
    match listed {
        Ok(Ok(ports)) => ports
            .into_iter()
            .map(|p| {
                let description = match p.port_type {
                    serialport::SerialPortType::UsbPort(u) => {
                        format!("USB: {}", u.product.unwrap_or_else(|| format!("{:04x}:{:04x}", u.vid, u.pid)))
                    }
                    serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
                    serialport::SerialPortType::PciPort => "PCI".into(),
                    serialport::SerialPortType::Unknown => String::new(),
                };
                PortInfo { path: p.port_name, description }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Ports from sysfs: every `tty` class entry backed by a device (USB ACM, USB-serial, RFCOMM, platform UARTs that
/// answer), mapped to its `/dev` node. `sys` and `dev` are parameters so the test can use a fake tree.
#[cfg(target_os = "linux")]
pub(crate) fn linux_ports(sys: &Path, dev: &Path) -> Vec<PortInfo> {
    let Ok(entries) = std::fs::read_dir(sys) else { return Vec::new() };
    let mut ports = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let node = dev.join(&name);
        if !node.exists() {
            continue;
        }
        let class_dir = entry.path();
        let rfcomm = name.starts_with("rfcomm");
        let device = class_dir.join("device");
        if !rfcomm && !device.exists() {
            // Virtual consoles and ptys have no device behind them.
            continue;
        }
        let driver = std::fs::read_link(device.join("driver"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        // Legacy 8250 UARTs exist as ttyS0..31 whether or not hardware is there; keep the ones that open.
        if driver == "serial8250" && !answers(&node) {
            continue;
        }
        let kind = if rfcomm {
            "Bluetooth RFCOMM".to_string()
        } else if name.starts_with("ttyACM") {
            "USB ACM".to_string()
        } else if name.starts_with("ttyUSB") {
            format!("USB serial{}", if driver.is_empty() { String::new() } else { format!(" ({driver})") })
        } else if driver.is_empty() {
            "serial".to_string()
        } else {
            format!("serial ({driver})")
        };
        let product = usb_product(&device);
        let description = match product {
            Some(p) => format!("{kind}: {p}"),
            None => kind,
        };
        ports.push(PortInfo { path: node.to_string_lossy().into_owned(), description });
    }
    ports
}

/// The USB product string of the interface's device (one or two levels up), when there is one.
#[cfg(target_os = "linux")]
fn usb_product(device: &Path) -> Option<String> {
    let mut dir = std::fs::canonicalize(device).ok()?;
    for _ in 0..3 {
        let product = dir.join("product");
        if let Ok(text) = std::fs::read_to_string(&product) {
            let text = text.trim();
            if !text.is_empty() {
                let maker = std::fs::read_to_string(dir.join("manufacturer")).unwrap_or_default();
                let maker = maker.trim();
                return Some(if maker.is_empty() { text.to_string() } else { format!("{maker} {text}") });
            }
        }
        dir = dir.parent()?.to_path_buf();
    }
    None
}

/// Whether a port opens (without blocking on carrier detect).
#[cfg(target_os = "linux")]
fn answers(node: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(node)
        .is_ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn sysfs_listing_keeps_device_backed_ports_and_never_fails() {
        let root = tempfile::tempdir().expect("temp dir");
        let sys = root.path().join("sys");
        let dev = root.path().join("dev");
        std::fs::create_dir_all(&dev).expect("dev");
        // ttyACM0 with a USB device two levels up; tty1 (a console without device); ttyUSB0 without a /dev node.
        let usb = root.path().join("devices/usb1/1-1");
        std::fs::create_dir_all(usb.join("1-1:1.0")).expect("usb");
        std::fs::write(usb.join("product"), "Nano 33 BLE\n").expect("product");
        std::fs::write(usb.join("manufacturer"), "Arduino\n").expect("manufacturer");
        std::fs::create_dir_all(sys.join("ttyACM0")).expect("acm");
        std::os::unix::fs::symlink(usb.join("1-1:1.0"), sys.join("ttyACM0/device")).expect("link");
        std::fs::write(dev.join("ttyACM0"), "").expect("node");
        std::fs::create_dir_all(sys.join("tty1")).expect("tty1");
        std::fs::write(dev.join("tty1"), "").expect("node");
        std::fs::create_dir_all(sys.join("ttyUSB0/device")).expect("usb0");
        let ports = linux_ports(&sys, &dev);
        assert_eq!(ports.len(), 1, "{ports:?}");
        assert_eq!(ports[0].path, dev.join("ttyACM0").to_string_lossy());
        assert_eq!(ports[0].description, "USB ACM: Arduino Nano 33 BLE");
        assert!(linux_ports(&root.path().join("missing"), &dev).is_empty());
    }

    #[test]
    fn a_missing_port_says_it_is_not_there() {
        let mut t = SerialTransport::new("/dev/har-monitor-no-such-port", DEFAULT_BAUD);
        let e = t.connect().err().expect("no such port");
        assert!(e.0.contains("/dev/har-monitor-no-such-port"), "{e}");
        assert!(e.0.contains("not plugged in"), "{e}");
    }
}
