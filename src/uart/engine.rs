//! [`UartEngine`]: the engine on a board, reached over the UART link: a [`HostEngine`] over
//! [`UartBus`], whose registers are READ/WRITE requests on the link. The SBUF is written in
//! bursts of up to [`MAX_BURST`] words, an instruction is one 2-word WRITE (INSTR_LO then
//! INSTR_HI at consecutive addresses), a PSUM entry one PSUM_SELECT write, STATUS polls and
//! one burst READ of the snapshot.

use crate::config::Config;
use crate::engine::host::{HostEngine, Identity, IdentityMismatch, RegisterBus};
use crate::engine::BackendError;
use crate::frame::{Frame, MAX_BURST};
use crate::regs;

use super::{Link, LinkError, LinkOptions, LinkStats, Transport};

/// Bound on STATUS polls of one wait.
pub const DEFAULT_POLL_LIMIT: u64 = 100_000;

/// The engine of a board, over a [`Link`].
pub type UartEngine<T> = HostEngine<UartBus<T>>;

impl<T: Transport> UartEngine<T> {
    /// Open the link on `transport` and check that the board carries the design of `cfg`: ID,
    /// then VERSION (the configuration hash), GEOMETRY and MEMORY. The first request is a READ,
    /// as the protocol's retry rule requires. Clears any error a previous session left.
    pub fn connect(
        transport: T,
        cfg: &Config,
        opts: LinkOptions,
    ) -> Result<UartEngine<T>, LinkError> {
        let mut link = Link::new(transport, opts);
        let info = probe(&mut link)?;
        info.check(cfg).map_err(|m| match m {
            IdentityMismatch::NotSystolic { id } => LinkError::WrongDevice {
                line: link.transport().describe(),
                id,
                expected: regs::ID_VALUE,
            },
            IdentityMismatch::OtherDesign {
                found,
                found_desc,
                expected,
                expected_desc,
            } => LinkError::WrongDesign {
                found,
                found_desc,
                expected,
                expected_desc,
            },
        })?;
        let mut bus = UartBus::new(link);
        let clear = regs::reg("CONTROL").field("CLEAR_ERROR").put(1);
        bus.write_words(regs::reg("CONTROL").offset, 0xF, &[clear])?;
        Ok(HostEngine::new(cfg, bus))
    }
}

/// Read the identity registers of the board on `link` (one READ of 4 words), whatever its
/// design.
pub fn probe<T: Transport>(link: &mut Link<T>) -> Result<Identity, LinkError> {
    let f = link.request(|seq| Frame::read(seq, regs::reg("ID").offset, 4))?;
    if f.payload.len() != 17 {
        return Err(LinkError::Response(format!(
            "READ of 4 words answered {} payload bytes",
            f.payload.len()
        )));
    }
    let w: Vec<u32> = f.payload[1..]
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(Identity::from_words(w[0], w[1], w[2], w[3]))
}

/// The engine's registers over a [`Link`]: bursts of up to [`MAX_BURST`] words per request;
/// a wait is bounded by the poll limit.
pub struct UartBus<T: Transport> {
    link: Link<T>,
    poll_limit: u64,
    /// The link failure behind the last [`BackendError`] of a link error, kept typed for the
    /// caller ([`UartBus::take_link_error`]).
    last_link_error: Option<LinkError>,
}

impl<T: Transport> UartBus<T> {
    pub fn new(link: Link<T>) -> UartBus<T> {
        UartBus {
            link,
            poll_limit: DEFAULT_POLL_LIMIT,
            last_link_error: None,
        }
    }

    pub fn link(&self) -> &Link<T> {
        &self.link
    }

    pub fn link_mut(&mut self) -> &mut Link<T> {
        &mut self.link
    }

    pub fn stats(&self) -> LinkStats {
        self.link.stats
    }

    /// The link failure that ended the last failed register access, if a link failure did
    /// (an [`Engine`](crate::engine::Engine) call reports it as [`BackendError::Other`] with
    /// the same message).
    pub fn take_link_error(&mut self) -> Option<LinkError> {
        self.last_link_error.take()
    }

    fn link_err(&mut self, e: LinkError) -> BackendError {
        let b = BackendError::Other(format!("UART link: {e}"));
        self.last_link_error = Some(e);
        b
    }

    /// Bound on the STATUS polls of one wait (default [`DEFAULT_POLL_LIMIT`]).
    pub fn set_poll_limit(&mut self, polls: u64) {
        self.poll_limit = polls.max(1);
    }
    /// READ `count` consecutive words from `addr` (in bursts of at most [`MAX_BURST`]);
    /// returns the words and the OR of the AXI responses.
    pub fn read_words(&mut self, addr: u32, count: usize) -> Result<(Vec<u32>, u32), LinkError> {
        let mut out = Vec::with_capacity(count);
        let mut resp = 0;
        while out.len() < count {
            let n = (count - out.len()).min(MAX_BURST as usize);
            let a = addr + 4 * out.len() as u32;
            let f = self.link.request(|seq| Frame::read(seq, a, n as u8))?;
            if f.payload.len() != 1 + 4 * n {
                return Err(LinkError::Response(format!(
                    "READ of {n} words answered {} payload bytes",
                    f.payload.len()
                )));
            }
            resp |= u32::from(f.payload[0]);
            out.extend(
                f.payload[1..]
                    .chunks(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        Ok((out, resp))
    }

    /// WRITE `words` to consecutive addresses from `addr`, each with strobe `strb` (in bursts);
    /// returns the OR of the AXI responses.
    pub fn write_words(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<u32, LinkError> {
        let mut resp = 0;
        for (i, chunk) in words.chunks(MAX_BURST as usize).enumerate() {
            let a = addr + 4 * (i * MAX_BURST as usize) as u32;
            let f = self.link.request(|seq| Frame::write(seq, a, strb, chunk))?;
            if f.payload.len() != 1 {
                return Err(LinkError::Response(format!(
                    "WRITE answered {} payload bytes",
                    f.payload.len()
                )));
            }
            resp |= u32::from(f.payload[0]);
        }
        Ok(resp)
    }

    fn poll_timeout(&self) -> BackendError {
        BackendError::Other(format!(
            "UART link: the engine did not answer as expected within {} STATUS polls",
            self.poll_limit
        ))
    }
}

impl<T: Transport> RegisterBus for UartBus<T> {
    fn read_regs(&mut self, addr: u32, count: usize) -> Result<(Vec<u32>, u32), BackendError> {
        self.read_words(addr, count).map_err(|e| self.link_err(e))
    }

    fn write_regs(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<u32, BackendError> {
        self.write_words(addr, strb, words)
            .map_err(|e| self.link_err(e))
    }

    fn poll(&mut self, n: u64) -> Result<(), BackendError> {
        if n >= self.poll_limit {
            return Err(self.poll_timeout());
        }
        Ok(())
    }

    fn host_cycles(&self) -> u64 {
        self.link.transport().cycles().unwrap_or(0)
    }

    fn transferred(&self) -> Option<(u64, u64)> {
        Some((self.link.stats.bytes_sent, self.link.stats.bytes_received))
    }
}
