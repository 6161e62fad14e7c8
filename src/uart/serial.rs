//! [`SerialPort`]: a tty (`/dev/ttyUSB1`, `/dev/ttyACM0`) in raw mode, 8N1, no flow control,
//! at a standard baud rate, set with termios through `libc`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use super::{LinkError, Transport};

/// Added to every receive timeout: USB serial adapters deliver bytes in packets, with a
/// latency of up to a few milliseconds (16 ms is the FTDI default latency timer).
pub const LATENCY_FLOOR: Duration = Duration::from_millis(50);

/// The baud rates the port accepts, with their termios constants.
const RATES: &[(u32, libc::speed_t)] = &[
    (9_600, libc::B9600),
    (19_200, libc::B19200),
    (38_400, libc::B38400),
    (57_600, libc::B57600),
    (115_200, libc::B115200),
    (230_400, libc::B230400),
    (460_800, libc::B460800),
    (500_000, libc::B500000),
    (921_600, libc::B921600),
    (1_000_000, libc::B1000000),
    (2_000_000, libc::B2000000),
    (3_000_000, libc::B3000000),
];

/// The baud rates [`SerialPort::open`] accepts.
pub fn supported_bauds() -> Vec<u32> {
    RATES.iter().map(|(b, _)| *b).collect()
}

/// A serial port in raw mode.
pub struct SerialPort {
    file: File,
    port: String,
    baud: u32,
    /// Bytes read from the port and not yet returned.
    pending: VecDeque<u8>,
}

impl SerialPort {
    /// Open `port` at `baud` (8N1, raw, no flow control, no modem control lines).
    pub fn open(port: &str, baud: u32) -> Result<SerialPort, LinkError> {
        let speed = RATES
            .iter()
            .find(|(b, _)| *b == baud)
            .map(|(_, s)| *s)
            .ok_or_else(|| LinkError::Configure {
                port: port.into(),
                what: "baud rate",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{baud} is not one of {:?}", supported_bauds()),
                ),
            })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(port)
            .map_err(|source| LinkError::Open {
                port: port.into(),
                source,
            })?;
        let fd = file.as_raw_fd();
        let cfg_err = |what: &'static str| LinkError::Configure {
            port: port.into(),
            what,
            source: std::io::Error::last_os_error(),
        };
        // SAFETY: fd is an open descriptor owned by `file`; `tio` is a plain C struct that
        // tcgetattr fills completely before it is read.
        unsafe {
            let mut tio: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut tio) != 0 {
                return Err(cfg_err("not a terminal (tcgetattr)"));
            }
            libc::cfmakeraw(&mut tio);
            tio.c_cflag |= libc::CLOCAL | libc::CREAD;
            tio.c_cflag &= !(libc::CSTOPB | libc::PARENB | libc::CRTSCTS);
            tio.c_iflag &= !(libc::IXON | libc::IXOFF | libc::IXANY);
            tio.c_cc[libc::VMIN] = 0;
            tio.c_cc[libc::VTIME] = 0;
            if libc::cfsetispeed(&mut tio, speed) != 0 || libc::cfsetospeed(&mut tio, speed) != 0 {
                return Err(cfg_err("baud rate"));
            }
            if libc::tcsetattr(fd, libc::TCSANOW, &tio) != 0 {
                return Err(cfg_err("tcsetattr"));
            }
            libc::tcflush(fd, libc::TCIOFLUSH);
        }
        Ok(SerialPort {
            file,
            port: port.into(),
            baud,
            pending: VecDeque::new(),
        })
    }

    fn io(&self, source: std::io::Error) -> LinkError {
        LinkError::Io {
            port: self.port.clone(),
            source,
        }
    }

    /// Wait until the port is readable or `timeout` passed; true if readable.
    fn wait_readable(&self, timeout: Duration) -> Result<bool, LinkError> {
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r >= 0 {
                return Ok(r > 0);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(self.io(e));
            }
        }
    }
}

impl Transport for SerialPort {
    /// Hands `bytes` to the port; a port that takes nothing for as long as the bytes need on
    /// the line plus a second (flow control held, a stuck adapter) is an error, not a hang.
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut rest = bytes;
        let budget = Duration::from_secs_f64(bytes.len() as f64 * 10.0 / f64::from(self.baud))
            + Duration::from_secs(1);
        let mut stuck_since = Instant::now();
        while !rest.is_empty() {
            match self.file.write(rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    stuck_since = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if stuck_since.elapsed() > budget {
                        return Err(self.io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "the port took no byte for {:.1} s ({} of {} bytes sent)",
                                budget.as_secs_f64(),
                                bytes.len() - rest.len(),
                                bytes.len()
                            ),
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(())
    }

    fn recv(&mut self, chars: u32) -> Result<Option<u8>, LinkError> {
        let timeout =
            Duration::from_secs_f64(f64::from(chars) * 10.0 / f64::from(self.baud)) + LATENCY_FLOOR;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Ok(Some(b));
            }
            let mut buf = [0u8; 256];
            match self.file.read(&mut buf) {
                Ok(n) if n > 0 => {
                    self.pending.extend(&buf[..n]);
                    continue;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
            let now = Instant::now();
            if now >= deadline || !self.wait_readable(deadline - now)? {
                return Ok(None);
            }
        }
    }

    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.pending.clear();
        // SAFETY: fd is open for the life of `self`.
        unsafe {
            libc::tcflush(self.file.as_raw_fd(), libc::TCIFLUSH);
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("{} at {} baud", self.port, self.baud)
    }
}
