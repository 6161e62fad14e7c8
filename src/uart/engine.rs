//! [`UartEngine`]: the engine on a board, reached over the UART link. Every [`Engine`] call is
//! a few READ/WRITE requests on the register map of [`crate::regs`]; the SBUF is written in
//! bursts of up to [`MAX_BURST`] words, an instruction is one 2-word WRITE (INSTR_LO then
//! INSTR_HI at consecutive addresses), a PSUM entry one PSUM_SELECT write, STATUS polls and
//! one burst READ of the snapshot.

use crate::config::Config;
use crate::engine::bus::{self, RegisterBus};
use crate::engine::{BackendError, Counters, Engine, Status};
use crate::isa::Instr;
use crate::regs;

use super::protocol::{Frame, MAX_BURST};
use super::{Link, LinkError, LinkOptions, LinkStats, Transport};

/// Bound on STATUS polls of one wait.
pub const DEFAULT_POLL_LIMIT: u64 = 100_000;

/// A one-line description of a configuration as GEOMETRY and MEMORY encode it.
pub fn describe_geometry(geometry: u32, memory: u32) -> String {
    let g = regs::reg("GEOMETRY");
    let m = regs::reg("MEMORY");
    let signed = g.field("SIGNED").get(geometry) == 1;
    format!(
        "{}x{} {}{}, acc {} bits, PSUM {} x {}, SBUF depth {}",
        g.field("ROWS").get(geometry),
        g.field("COLS").get(geometry),
        if signed { "int" } else { "uint" },
        g.field("DATA_W").get(geometry),
        g.field("ACC_W").get(geometry),
        m.field("PSUM_BANKS").get(memory),
        1u64 << m.field("LOG2_PSUM_DEPTH").get(memory),
        1u64 << m.field("LOG2_SBUF_DEPTH").get(memory),
    )
}

/// What a board says about itself (ID, VERSION, GEOMETRY, MEMORY), whatever its design.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardInfo {
    pub id: u32,
    /// The configuration hash's first 8 hex digits.
    pub version: u32,
    pub geometry: u32,
    pub memory: u32,
    /// Whether ID is the engine's ("SYST").
    pub is_systolic: bool,
    /// Sizes, format, PSUM and SBUF, decoded from GEOMETRY and MEMORY.
    pub description: String,
}

/// Read the identity registers of the board on `link` (one READ of 4 words).
pub fn probe<T: Transport>(link: &mut Link<T>) -> Result<BoardInfo, LinkError> {
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
    Ok(BoardInfo {
        id: w[0],
        version: w[1],
        geometry: w[2],
        memory: w[3],
        is_systolic: w[0] == regs::ID_VALUE,
        description: describe_geometry(w[2], w[3]),
    })
}

/// The engine of a board, over a [`Link`].
pub struct UartEngine<T: Transport> {
    cfg: Config,
    link: Link<T>,
    free_known: u32,
    poll_limit: u64,
    /// The link failure behind the last [`BackendError`] of a link error, kept typed for the
    /// caller ([`UartEngine::take_link_error`]).
    last_link_error: Option<LinkError>,
}

impl<T: Transport> UartEngine<T> {
    /// Open the link and check that the board carries the design of `cfg`: ID, then VERSION
    /// (the configuration hash), GEOMETRY and MEMORY. The first request is a READ, as the
    /// protocol's retry rule requires. Clears any error a previous session left.
    pub fn connect(
        transport: T,
        cfg: &Config,
        opts: LinkOptions,
    ) -> Result<UartEngine<T>, LinkError> {
        let mut e = UartEngine {
            cfg: cfg.clone(),
            link: Link::new(transport, opts),
            free_known: 0,
            poll_limit: DEFAULT_POLL_LIMIT,
            last_link_error: None,
        };
        let info = probe(&mut e.link)?;
        let (id, version, geometry, memory) = (info.id, info.version, info.geometry, info.memory);
        if id != regs::ID_VALUE {
            return Err(LinkError::WrongDevice {
                line: e.link.transport().describe(),
                id,
                expected: regs::ID_VALUE,
            });
        }
        let want = (
            regs::version(cfg),
            regs::reg("GEOMETRY").constant(cfg).expect("constant"),
            regs::reg("MEMORY").constant(cfg).expect("constant"),
        );
        if (version, geometry, memory) != want {
            return Err(LinkError::WrongDesign {
                found: version,
                found_desc: describe_geometry(geometry, memory),
                expected: want.0,
                expected_desc: format!("`{}`: {}", cfg.name, describe_geometry(want.1, want.2)),
            });
        }
        let clear = regs::reg("CONTROL").field("CLEAR_ERROR").put(1);
        e.write_words(regs::reg("CONTROL").offset, 0xF, &[clear])?;
        Ok(e)
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

    /// The link failure that ended the last failed [`Engine`] call, if a link failure did
    /// (an [`Engine`] call reports it as [`BackendError::Other`] with the same message).
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

/// Registers over the link: bursts of up to [`MAX_BURST`] words per request; a wait is
/// bounded by the poll limit.
impl<T: Transport> RegisterBus for UartEngine<T> {
    fn config(&self) -> &Config {
        &self.cfg
    }

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

    fn free_known(&mut self) -> &mut u32 {
        &mut self.free_known
    }
}

impl<T: Transport> Engine for UartEngine<T> {
    fn config(&self) -> &Config {
        &self.cfg
    }

    fn write_sbuf(
        &mut self,
        partition: u32,
        entry: u32,
        values: &[i64],
    ) -> Result<(), BackendError> {
        bus::write_sbuf(self, partition, entry, values)
    }

    fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
        bus::push_word(self, instr.encode())
    }

    fn wait_idle(&mut self) -> Result<Status, BackendError> {
        bus::wait_idle(self)
    }

    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
        bus::read_psum(self, bank, addr)
    }

    fn counters(&mut self) -> Result<Counters, BackendError> {
        bus::counters(self)
    }

    fn clear_error(&mut self) -> Result<(), BackendError> {
        bus::clear_error(self)
    }

    fn host_cycles(&self) -> u64 {
        self.link.transport().cycles().unwrap_or(0)
    }
}
