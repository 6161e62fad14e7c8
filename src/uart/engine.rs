//! [`UartEngine`]: the engine on a board, reached over the UART link. Every [`Engine`] call is
//! a few READ/WRITE requests on the register map of [`crate::regs`]; the SBUF is written in
//! bursts of up to [`MAX_BURST`] words, an instruction is one 2-word WRITE (INSTR_LO then
//! INSTR_HI at consecutive addresses), a PSUM entry one PSUM_SELECT write, STATUS polls and
//! one burst READ of the snapshot.

use crate::config::Config;
use crate::engine::{check_sbuf_write, BackendError, Counters, Engine, Status};
use crate::format::mask;
use crate::isa::{ErrorCode, Instr};
use crate::regs::{self, RESP_OKAY};

use super::protocol::{Frame, MAX_BURST};
use super::{Link, LinkError, LinkOptions, LinkStats, Transport};

/// Bound on STATUS polls of one wait.
pub const DEFAULT_POLL_LIMIT: u64 = 100_000;

fn stopped(code: ErrorCode) -> BackendError {
    BackendError::Stopped {
        code,
        meaning: code.meaning(),
    }
}

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

    fn read_ok(&mut self, name: &str, count: usize) -> Result<Vec<u32>, BackendError> {
        let (v, resp) = self
            .read_words(regs::reg(name).offset, count)
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "read of {name} answered {resp}"
            )));
        }
        Ok(v)
    }

    fn status_word(&mut self) -> Result<u32, BackendError> {
        Ok(self.read_ok("STATUS", 1)?[0])
    }

    fn status(&mut self) -> Result<Status, BackendError> {
        let w = self.status_word()?;
        Ok(crate::engine::rtl::decode_status(w))
    }

    fn poll_timeout(&self) -> BackendError {
        BackendError::Other(format!(
            "UART link: the engine did not answer as expected within {} STATUS polls",
            self.poll_limit
        ))
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
        check_sbuf_write(&self.cfg, partition, entry, values)?;
        // Whole words go in bursts with every strobe set; a partly filled word at either end
        // is its own WRITE with its strobe.
        let mut full: Vec<u32> = vec![];
        let mut full_addr = 0;
        for regs::SbufWord { addr, data, strb } in
            regs::sbuf_words(&self.cfg, partition, entry, values)
        {
            if strb == 0xF {
                if full.is_empty() {
                    full_addr = addr;
                }
                full.push(data);
            } else {
                self.flush_sbuf(full_addr, &mut full)?;
                self.sbuf_write(addr, strb, &[data])?;
            }
        }
        self.flush_sbuf(full_addr, &mut full)
    }

    fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
        let mut polls = 0;
        while self.free_known == 0 {
            polls += 1;
            if polls > self.poll_limit {
                return Err(self.poll_timeout());
            }
            let st = self.status()?;
            self.free_known = st.queue_free;
            if st.queue_free == 0 && st.error != ErrorCode::None {
                return Err(stopped(st.error));
            }
        }
        let word = instr.encode();
        let resp = self
            .write_words(
                regs::reg("INSTR_LO").offset,
                0xF,
                &[word as u32, (word >> 32) as u32],
            )
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            let st = self.status()?;
            return Err(stopped(st.error));
        }
        self.free_known -= 1;
        Ok(())
    }

    fn wait_idle(&mut self) -> Result<Status, BackendError> {
        for _ in 0..self.poll_limit {
            let w = self.status_word()?;
            let st = crate::engine::rtl::decode_status(w);
            self.free_known = st.queue_free;
            if !st.busy || regs::reg("STATUS").field("STALLED").get(w) == 1 {
                return Ok(st);
            }
        }
        Err(self.poll_timeout())
    }

    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
        let r = regs::reg("PSUM_SELECT");
        let (fa, fb) = (r.field("ADDR"), r.field("BANK"));
        if addr > fa.mask() || bank > fb.mask() {
            return Err(BackendError::Other(format!(
                "PSUM bank {bank} / address {addr} do not fit PSUM_SELECT"
            )));
        }
        let resp = self
            .write_words(r.offset, 0xF, &[fa.put(addr) | fb.put(bank)])
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            let st = self.status()?;
            return Err(stopped(st.error));
        }
        let valid = regs::reg("STATUS").field("PSUM_VALID");
        let mut polls = 0;
        while valid.get(self.status_word()?) == 0 {
            polls += 1;
            if polls > self.poll_limit {
                return Err(self.poll_timeout());
            }
        }
        let acc_w = self.cfg.derived.acc_w;
        let cols = self.cfg.cols as usize;
        // One burst over the window's (low, high) word pairs: the high words cost 4 bytes each,
        // less than a request per column would (the last one is left out when ACC_W <= 32).
        let (words, resp) = self
            .read_words(
                regs::psum_data_address(0, false),
                2 * cols - 1 + usize::from(acc_w > 32),
            )
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other("PSUM_DATA answered SLVERR".into()));
        }
        Ok((0..cols)
            .map(|c| {
                let lo = u64::from(words[2 * c]);
                let hi = if acc_w > 32 {
                    u64::from(words[2 * c + 1])
                } else {
                    0
                };
                (hi << 32 | lo) & mask(acc_w)
            })
            .collect())
    }

    fn counters(&mut self) -> Result<Counters, BackendError> {
        // CYCLES_LO, CYCLES_HI, MACS_LO, MACS_HI, RETIRED: one burst, in address order (each LO
        // read latches its HI word for the read that follows it).
        let v = self.read_ok("CYCLES_LO", 5)?;
        Ok(Counters {
            busy_cycles: u64::from(v[1]) << 32 | u64::from(v[0]),
            macs: u64::from(v[3]) << 32 | u64::from(v[2]),
            retired: u64::from(v[4]),
        })
    }

    fn clear_error(&mut self) -> Result<(), BackendError> {
        let v = regs::reg("CONTROL").field("CLEAR_ERROR").put(1);
        let resp = self
            .write_words(regs::reg("CONTROL").offset, 0xF, &[v])
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "write of CONTROL answered {resp}"
            )));
        }
        self.free_known = 0;
        Ok(())
    }

    fn host_cycles(&self) -> u64 {
        self.link.transport().cycles().unwrap_or(0)
    }
}

impl<T: Transport> UartEngine<T> {
    fn sbuf_write(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<(), BackendError> {
        let resp = self
            .write_words(addr, strb, words)
            .map_err(|e| self.link_err(e))?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "SBUF write to {addr:#x} answered {resp}"
            )));
        }
        Ok(())
    }

    fn flush_sbuf(&mut self, addr: u32, full: &mut Vec<u32>) -> Result<(), BackendError> {
        if full.is_empty() {
            return Ok(());
        }
        let words = std::mem::take(full);
        self.sbuf_write(addr, 0xF, &words)
    }
}
