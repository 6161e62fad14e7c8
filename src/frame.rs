//! The framed serial protocol between a host and the board's UART bridge
//! (`docs/uart-protocol.md`): the contract both sides import (the RTL bridge,
//! `crate::rtl::board::bridge`, and the host link, [`crate::uart`]): constants, the line's
//! default baud rate and frame timeout, CRC-16/CCITT-FALSE, frame encoding and an incremental
//! decoder; the clock divider the UART RTL takes for a baud rate ([`uart_divider`]). A leaf: it
//! imports nothing of the crate.
//!
//! Every frame, in both directions: `SYNC CMD SEQ LEN PAYLOAD[LEN] CRC_HI CRC_LO`, the CRC over
//! `CMD SEQ LEN PAYLOAD`. Multi-byte fields of the payload are little-endian.

/// Baud rate of the link on a board unless the user chooses another.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Character times (10 bits each) of silence that drop a frame in progress.
pub const TIMEOUT_CHARS: u32 = 256;

/// First byte of every frame.
pub const SYNC: u8 = 0xA5;
/// Read `count` words at consecutive addresses: payload `ADDR[4] COUNT[1]`.
pub const CMD_READ: u8 = 0x01;
/// Write words at consecutive addresses: payload `ADDR[4] STRB[1] DATA[4 * n]`.
pub const CMD_WRITE: u8 = 0x02;
/// A response carries the request's command with this bit set.
pub const RESPONSE_BIT: u8 = 0x80;
/// The device's answer to a frame it received whole but could not accept: payload `REASON[1]`.
pub const CMD_NAK: u8 = 0xFF;
/// NAK reason: the CRC did not match.
pub const NAK_CRC: u8 = 0x01;
/// NAK reason: unknown command, or a length or count that the command does not allow.
pub const NAK_BAD_REQUEST: u8 = 0x02;
/// Most words of one READ or WRITE.
pub const MAX_BURST: u32 = 16;
/// Payload bytes before the data of a request (address and count/strobe).
pub const REQUEST_HEAD: u32 = 5;
/// Largest LEN of a request (a WRITE of [`MAX_BURST`] words).
pub const MAX_REQUEST_LEN: u32 = REQUEST_HEAD + 4 * MAX_BURST;
/// Bytes of a frame around its payload (SYNC, CMD, SEQ, LEN, CRC).
pub const FRAME_OVERHEAD: usize = 6;

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR
/// (check value of "123456789": 0x29B1).
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0xFFFF, |crc, &b| crc16_update(crc, b))
}

/// One byte into a CRC-16/CCITT-FALSE (the same 8 shift steps as the RTL's).
pub fn crc16_update(crc: u16, byte: u8) -> u16 {
    let mut c = crc ^ (u16::from(byte) << 8);
    for _ in 0..8 {
        c = if c & 0x8000 != 0 {
            (c << 1) ^ 0x1021
        } else {
            c << 1
        };
    }
    c
}

/// One frame (request, response or NAK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub cmd: u8,
    pub seq: u8,
    pub payload: Vec<u8>,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("payload of {0} bytes does not fit a frame (at most 255)")]
    TooLong(usize),
    #[error("CRC mismatch: frame says {got:#06x}, computed {want:#06x}")]
    Crc { got: u16, want: u16 },
}

impl Frame {
    /// The bytes on the line.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let len = u8::try_from(self.payload.len())
            .map_err(|_| FrameError::TooLong(self.payload.len()))?;
        let mut out = Vec::with_capacity(self.payload.len() + FRAME_OVERHEAD);
        out.extend([SYNC, self.cmd, self.seq, len]);
        out.extend_from_slice(&self.payload);
        let crc = crc16(&out[1..]);
        out.extend(crc.to_be_bytes());
        Ok(out)
    }

    /// A READ request of `count` words from `addr`.
    pub fn read(seq: u8, addr: u32, count: u8) -> Frame {
        let mut payload = addr.to_le_bytes().to_vec();
        payload.push(count);
        Frame {
            cmd: CMD_READ,
            seq,
            payload,
        }
    }

    /// A WRITE request of `words` from `addr`, each with byte strobe `strb`.
    pub fn write(seq: u8, addr: u32, strb: u8, words: &[u32]) -> Frame {
        let mut payload = addr.to_le_bytes().to_vec();
        payload.push(strb);
        for w in words {
            payload.extend(w.to_le_bytes());
        }
        Frame {
            cmd: CMD_WRITE,
            seq,
            payload,
        }
    }
}

/// An incremental frame decoder: feed bytes one at a time; bytes before a SYNC are skipped.
/// A frame whose CRC does not match is returned as an error (its bytes are dropped) and
/// decoding goes on with the next byte.
#[derive(Debug, Default, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Forget a partly received frame.
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Whether a frame has started (a SYNC was seen and its frame is not complete).
    pub fn in_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Feed one byte; `Some` when it completes a frame.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, FrameError>> {
        if self.buf.is_empty() {
            if byte == SYNC {
                self.buf.push(byte);
            }
            return None;
        }
        self.buf.push(byte);
        if self.buf.len() < 4 {
            return None;
        }
        let len = usize::from(self.buf[3]);
        if self.buf.len() < len + FRAME_OVERHEAD {
            return None;
        }
        let bytes = std::mem::take(&mut self.buf);
        let want = crc16(&bytes[1..4 + len]);
        let got = u16::from_be_bytes([bytes[4 + len], bytes[5 + len]]);
        if got != want {
            return Some(Err(FrameError::Crc { got, want }));
        }
        Some(Ok(Frame {
            cmd: bytes[1],
            seq: bytes[2],
            payload: bytes[4..4 + len].to_vec(),
        }))
    }

    /// Decode a whole byte string: every complete frame or error, in order.
    pub fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        let mut d = Decoder::new();
        bytes.iter().filter_map(|&b| d.push(b)).collect()
    }
}

// ---- The line's clock divider: what the UART RTL takes ----

/// Fewest clock cycles per bit the UART takes: the receiver samples `CLKS_PER_BIT / 2` cycles
/// after it sees a start edge, and an asynchronous edge is seen up to a cycle late, so half a
/// bit must be at least 2 cycles to sample at least one cycle away from either edge.
pub const MIN_CLKS_PER_BIT: u32 = 4;

/// Most clock cycles per bit: the bridge's idle timeout, `10 * TIMEOUT_CHARS * CLKS_PER_BIT`
/// cycles (plus one for its counter's width), is a 32-bit signed Verilog parameter.
pub const MAX_CLKS_PER_BIT: u32 = (i32::MAX as u32 - 1) / (10 * TIMEOUT_CHARS);

/// Largest relative error between the baud rate asked for and `f_clk / CLKS_PER_BIT`: mid-bit
/// sampling tolerates about 1/20 between the two ends of the line over a character; the board's
/// divider may take half of it, the host's clock keeps the other half.
pub const MAX_BAUD_ERROR: f64 = 0.025;

/// Why a baud rate cannot be made from a clock.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BaudError {
    #[error(
        "{baud} baud at the {mhz} MHz clock is {cpb} clock cycles per bit; the UART needs at \
         least {MIN_CLKS_PER_BIT} and at most {MAX_CLKS_PER_BIT} (so {lo}..={hi} baud at this \
         clock)"
    )]
    OutOfRange {
        baud: u32,
        mhz: f64,
        cpb: u64,
        lo: u64,
        hi: u64,
    },
    #[error(
        "{baud} baud at the {mhz} MHz clock: {cpb} clock cycles per bit make {actual:.0} baud, \
         {percent:.1}% off (at most {max:.1}%)",
        max = MAX_BAUD_ERROR * 100.0
    )]
    Inexact {
        baud: u32,
        mhz: f64,
        cpb: u32,
        actual: f64,
        percent: f64,
    },
}

/// The UART's `CLKS_PER_BIT` for `baud` at `clock_hz`, checked against what the RTL takes
/// ([`MIN_CLKS_PER_BIT`], [`MAX_CLKS_PER_BIT`]) and the rate error ([`MAX_BAUD_ERROR`]).
pub fn uart_divider(clock_hz: f64, baud: u32) -> Result<u32, BaudError> {
    let mhz = clock_hz / 1e6;
    let cpb = if baud == 0 {
        u64::MAX
    } else {
        (clock_hz / f64::from(baud)).round() as u64
    };
    if cpb < u64::from(MIN_CLKS_PER_BIT) || cpb > u64::from(MAX_CLKS_PER_BIT) {
        return Err(BaudError::OutOfRange {
            baud,
            mhz,
            cpb,
            lo: (clock_hz / f64::from(MAX_CLKS_PER_BIT)).ceil() as u64,
            hi: (clock_hz / f64::from(MIN_CLKS_PER_BIT)).floor() as u64,
        });
    }
    let cpb = cpb as u32;
    let actual = clock_hz / f64::from(cpb);
    let error = (actual - f64::from(baud)).abs() / f64::from(baud);
    if error > MAX_BAUD_ERROR {
        return Err(BaudError::Inexact {
            baud,
            mhz,
            cpb,
            actual,
            percent: error * 100.0,
        });
    }
    Ok(cpb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(b""), 0xFFFF);
    }

    #[test]
    fn read_frame_bytes() {
        let f = Frame::read(7, 0x1000, 2).encode().unwrap();
        assert_eq!(&f[..9], &[SYNC, CMD_READ, 7, 5, 0x00, 0x10, 0, 0, 2]);
        assert_eq!(f.len(), 11);
        assert_eq!(Decoder::decode_all(&f), vec![Ok(Frame::read(7, 0x1000, 2))]);
    }

    #[test]
    fn the_divider_keeps_to_the_rtl_and_the_rate() {
        // 12 MHz: 3 Mbaud is 4 cycles exactly; 4 Mbaud would be 3.
        assert_eq!(uart_divider(12e6, 3_000_000), Ok(4));
        assert!(matches!(
            uart_divider(12e6, 4_000_000),
            Err(BaudError::OutOfRange { cpb: 3, .. })
        ));
        // 115200 at 12 MHz: 104.17 rounds to 104, 0.16% off.
        assert_eq!(uart_divider(12e6, 115_200), Ok(104));
        // 25 MHz / 3 Mbaud = 8.33: 8 cycles are 4.2% fast; 1.5 Mbaud at 16.875 MHz: 11 cycles,
        // 2.3% (the PLL flow of the synth tests), inside the 2.5%.
        assert!(matches!(
            uart_divider(25e6, 3_000_000),
            Err(BaudError::Inexact { cpb: 8, .. })
        ));
        assert_eq!(uart_divider(16.875e6, 1_500_000), Ok(11));
        // The top of the range: the bridge's timeout in a 32-bit parameter.
        let top = f64::from(MAX_CLKS_PER_BIT);
        assert_eq!(uart_divider(top * 100.0, 100), Ok(MAX_CLKS_PER_BIT));
        assert!(u64::from(MAX_CLKS_PER_BIT) * 2560 < i32::MAX as u64);
        assert!(matches!(
            uart_divider((top + 1.0) * 100.0, 100),
            Err(BaudError::OutOfRange { .. })
        ));
        assert!(matches!(
            uart_divider(12e6, 0),
            Err(BaudError::OutOfRange { .. })
        ));
    }
}
