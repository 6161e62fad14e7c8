//! The host side of the board's UART link (`docs/uart-protocol.md`).
//!
//! - The frame format is [`crate::frame`] (shared with the RTL bridge).
//! - [`Transport`]: a byte pipe with timeouts counted in character times. Two of them:
//!   [`serial::SerialPort`] (a tty in raw mode) and `crate::cosim::board::SimBoard` (the
//!   Verilator model of `systolic_board`, its `uart_rx`/`uart_tx` pins driven and sampled bit
//!   by bit).
//! - [`Link`]: one request, one response; sequence numbers, timeouts, retries.
//! - [`engine::UartEngine`]: an [`Engine`](crate::engine::Engine) over a link, so
//!   [`gemm`](crate::engine::gemm::gemm) runs unchanged on a board.

pub mod engine;
pub mod serial;

use crate::frame::{self, Decoder, Frame, CMD_NAK, RESPONSE_BIT};

/// Why the link failed: one line each (the I/O cause, when there is one, is the error's
/// `source`, printed after it by an `{:#}` report).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open serial port {port}")]
    Open {
        port: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot configure serial port {port} ({what})")]
    Configure {
        port: String,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("serial I/O on {port}")]
    Io {
        port: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no answer from the board on {line} after {attempts} attempts (each waited {timeout_chars} \
         character times): is the board programmed with the systolic design, at this baud rate?"
    )]
    NoAnswer {
        line: String,
        attempts: u32,
        timeout_chars: u32,
    },
    #[error(
        "the link to {line} keeps failing: {attempts} attempts, {crc_errors} corrupted \
         responses, {naks} requests refused as corrupted (NAK), {timeouts} timeouts"
    )]
    Unreliable {
        line: String,
        attempts: u32,
        crc_errors: u32,
        naks: u32,
        timeouts: u32,
    },
    #[error(
        "the line {line} keeps sending bytes that are not answers: {bytes} bytes in {attempts} \
         attempts, {frames} well-formed frames, {corrupted} corrupted: is this the board's port, \
         at the baud rate its design was built for?"
    )]
    Noise {
        line: String,
        attempts: u32,
        bytes: u64,
        frames: u64,
        corrupted: u32,
    },
    #[error("the board refused the request as malformed (NAK reason {reason:#04x})")]
    Refused { reason: u8 },
    #[error("unexpected response: {0}")]
    Response(String),
    #[error(
        "the device on {line} is not a systolic engine: ID register reads {id:#010x}, expected \
         {expected:#010x}"
    )]
    WrongDevice {
        line: String,
        id: u32,
        expected: u32,
    },
    #[error(
        "wrong design on the board: VERSION (configuration hash) is {found:#010x} ({found_desc}), \
         but the configuration given is {expected:#010x} ({expected_desc})"
    )]
    WrongDesign {
        found: u32,
        found_desc: String,
        expected: u32,
        expected_desc: String,
    },
    #[error("simulated board: {0}")]
    Sim(String),
}

/// A byte pipe to the board. Timeouts are counted in character times of the line (10 bit
/// times: start, 8 data, stop), so the same protocol timing serves a real port and a simulated
/// line whatever its speed.
pub trait Transport {
    /// Send `bytes` (returns once they are handed to the line).
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError>;
    /// One received byte, waiting at most `chars` character times; `None` on timeout.
    fn recv(&mut self, chars: u32) -> Result<Option<u8>, LinkError>;
    /// Drop bytes received and not read yet.
    fn discard_input(&mut self) -> Result<(), LinkError>;
    /// A name for messages (`/dev/ttyUSB1 at 115200 baud`, `simulated line`).
    fn describe(&self) -> String;
    /// Clock cycles simulated so far (`None` for real hardware).
    fn cycles(&self) -> Option<u64> {
        None
    }
}

/// A borrowed transport is a transport (a link may be built on `&mut port` and the port used
/// again afterwards).
impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        (**self).send(bytes)
    }
    fn recv(&mut self, chars: u32) -> Result<Option<u8>, LinkError> {
        (**self).recv(chars)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        (**self).discard_input()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn cycles(&self) -> Option<u64> {
        (**self).cycles()
    }
}

/// Retry policy of a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkOptions {
    /// Attempts per request (the first one included).
    pub attempts: u32,
    /// Character times to wait for each byte of a response. Longer than the bridge's own
    /// inter-byte timeout ([`crate::frame::TIMEOUT_CHARS`]), so that a request the board
    /// is still waiting on (a damaged LEN) has been dropped before the retry arrives.
    pub timeout_chars: u32,
    /// Character times of silence that end the draining of a damaged exchange before a retry.
    pub quiet_chars: u32,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            attempts: 5,
            timeout_chars: frame::TIMEOUT_CHARS + 64,
            quiet_chars: 8,
        }
    }
}

/// What a link did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkStats {
    /// Requests answered.
    pub requests: u64,
    /// Frames sent (requests and their retries).
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Requests sent again (after a timeout, a NAK or a corrupted response).
    pub retries: u64,
    pub timeouts: u64,
    pub naks: u64,
    /// Responses whose CRC did not match.
    pub crc_errors: u64,
    /// Well-formed frames that were not the awaited response (stale answers), ignored.
    pub ignored: u64,
}

/// Requests and responses over a [`Transport`].
pub struct Link<T: Transport> {
    t: T,
    seq: u8,
    pub opts: LinkOptions,
    pub stats: LinkStats,
}

/// How one attempt ended.
enum Attempt {
    Answer(Frame),
    Timeout {
        got_bytes: bool,
    },
    Nak(u8),
    Crc,
    /// Bytes kept coming, none of them the answer, past the attempt's budget.
    Noise,
}

/// Most bytes one attempt reads while waiting for its answer (and most bytes one drain reads):
/// four of the longest frames. A line that sends more without answering is not a board
/// speaking the protocol; this bounds every link operation even on a line that never goes
/// quiet, since each byte takes one character time.
pub const ATTEMPT_BYTES: u64 = 4 * (frame::FRAME_OVERHEAD as u64 + 1 + 4 * frame::MAX_BURST as u64);

impl<T: Transport> Link<T> {
    pub fn new(t: T, opts: LinkOptions) -> Link<T> {
        Link {
            t,
            seq: 0,
            opts,
            stats: LinkStats::default(),
        }
    }

    pub fn transport(&self) -> &T {
        &self.t
    }

    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.t
    }

    /// Send the request made by `make(seq)` (a fresh sequence number) and return its response:
    /// the first well-formed frame with the same SEQ and the response command. Retries (same
    /// frame, same SEQ) after a timeout, a NAK or a corrupted response.
    pub fn request(&mut self, make: impl Fn(u8) -> Frame) -> Result<Frame, LinkError> {
        self.seq = self.seq.wrapping_add(1);
        let req = make(self.seq);
        let bytes = req
            .encode()
            .map_err(|e| LinkError::Response(e.to_string()))?;
        let (mut crc_errors, mut naks, mut timeouts, mut any_byte) = (0, 0, 0, false);
        let (bytes0, ignored0, mut noisy) = (self.stats.bytes_received, self.stats.ignored, 0);
        for attempt in 0..self.opts.attempts {
            if attempt > 0 {
                self.stats.retries += 1;
            }
            self.t.discard_input()?;
            self.t.send(&bytes)?;
            self.stats.frames_sent += 1;
            self.stats.bytes_sent += bytes.len() as u64;
            match self.await_response(&req)? {
                Attempt::Answer(f) => {
                    self.stats.requests += 1;
                    return Ok(f);
                }
                Attempt::Timeout { got_bytes } => {
                    any_byte |= got_bytes;
                    timeouts += 1;
                    self.stats.timeouts += 1;
                }
                Attempt::Nak(reason) => {
                    any_byte = true;
                    naks += 1;
                    self.stats.naks += 1;
                    if reason != frame::NAK_CRC {
                        return Err(LinkError::Refused { reason });
                    }
                    self.drain()?;
                }
                Attempt::Crc => {
                    any_byte = true;
                    crc_errors += 1;
                    self.stats.crc_errors += 1;
                    self.drain()?;
                }
                Attempt::Noise => {
                    any_byte = true;
                    noisy += 1;
                }
            }
        }
        if noisy > 0 {
            return Err(LinkError::Noise {
                line: self.t.describe(),
                attempts: self.opts.attempts,
                bytes: self.stats.bytes_received - bytes0,
                frames: self.stats.ignored - ignored0,
                corrupted: crc_errors,
            });
        }
        if !any_byte {
            return Err(LinkError::NoAnswer {
                line: self.t.describe(),
                attempts: self.opts.attempts,
                timeout_chars: self.opts.timeout_chars,
            });
        }
        Err(LinkError::Unreliable {
            line: self.t.describe(),
            attempts: self.opts.attempts,
            crc_errors,
            naks,
            timeouts,
        })
    }

    /// Read until the line has been quiet for `quiet_chars` (the rest of a damaged exchange),
    /// or [`ATTEMPT_BYTES`] bytes have come (a line that never goes quiet).
    fn drain(&mut self) -> Result<(), LinkError> {
        for _ in 0..ATTEMPT_BYTES {
            if self.t.recv(self.opts.quiet_chars)?.is_none() {
                break;
            }
            self.stats.bytes_received += 1;
        }
        Ok(())
    }

    /// The answer to `req`, waiting at most `timeout_chars` for each byte and reading at most
    /// [`ATTEMPT_BYTES`] bytes.
    fn await_response(&mut self, req: &Frame) -> Result<Attempt, LinkError> {
        let mut dec = Decoder::new();
        let mut got_bytes = false;
        for _ in 0..ATTEMPT_BYTES {
            let Some(b) = self.t.recv(self.opts.timeout_chars)? else {
                return Ok(Attempt::Timeout { got_bytes });
            };
            got_bytes = true;
            self.stats.bytes_received += 1;
            match dec.push(b) {
                None => {}
                Some(Err(_)) => return Ok(Attempt::Crc),
                Some(Ok(f)) if f.seq == req.seq && f.cmd == req.cmd | RESPONSE_BIT => {
                    return Ok(Attempt::Answer(f))
                }
                Some(Ok(f)) if f.seq == req.seq && f.cmd == CMD_NAK => {
                    return Ok(Attempt::Nak(f.payload.first().copied().unwrap_or(0)))
                }
                Some(Ok(_)) => self.stats.ignored += 1,
            }
        }
        Ok(Attempt::Noise)
    }
}
