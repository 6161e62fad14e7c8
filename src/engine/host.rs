//! [`HostEngine`]: the [`Engine`] operations on the engine's register map ([`crate::regs`],
//! `docs/registers.md`), once for every back end that reaches the engine through its host
//! registers: the AXI4-Lite slave in Verilator (`crate::cosim::engine`) and the framed serial
//! link to a board ([`crate::uart::engine`]). A back end supplies only a [`RegisterBus`]: reads
//! and writes of consecutive registers, its bound on a wait, and its count of host cycles.
//!
//! The sequences: an instruction is one 2-word write (INSTR_LO, INSTR_HI), after STATUS polls
//! while no queue slot is known free; the SBUF is written in runs of whole words (every strobe
//! set) with a partial word at either end written alone; a PSUM entry is a PSUM_SELECT write,
//! STATUS polls until PSUM_VALID, then one read over the snapshot's (low, high) word pairs; the
//! counters are one read of CYCLES_LO..RETIRED in address order (each LO read latches its HI).

use crate::config::Config;
use crate::format::mask;
use crate::isa::ErrorCode;
use crate::regs::{self, RESP_OKAY};

use crate::isa::Instr;

use super::{check_sbuf_write, BackendError, Counters, Engine, Status};

/// The engine's host registers as a back end reaches them.
pub trait RegisterBus {
    /// Read `count` consecutive registers from `addr`: the words and the OR of the responses.
    fn read_regs(&mut self, addr: u32, count: usize) -> Result<(Vec<u32>, u32), BackendError>;
    /// Write `words` to consecutive registers from `addr`, each with byte strobes `strb`: the
    /// OR of the responses.
    fn write_regs(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<u32, BackendError>;
    /// Before STATUS poll `n` (0, 1, ...) of one wait: an error once the wait has lasted longer
    /// than the back end allows.
    fn poll(&mut self, n: u64) -> Result<(), BackendError>;
    /// Cycles the host spent on transfers so far (0 where the back end has no clock).
    fn host_cycles(&self) -> u64;
    /// Bytes sent and received so far, for a bus over a byte link; `None` otherwise.
    fn transferred(&self) -> Option<(u64, u64)> {
        None
    }
    /// Write bytes into the memory behind the engine's AXI4 master, beside the bus (a test
    /// bench's memory model); back ends without one refuse.
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BackendError> {
        let _ = (addr, bytes);
        Err(BackendError::Other(
            "this back end has no memory behind the engine's AXI4 master".into(),
        ))
    }
    /// Read bytes of that memory, beside the bus.
    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, BackendError> {
        let _ = (addr, len);
        Err(BackendError::Other(
            "this back end has no memory behind the engine's AXI4 master".into(),
        ))
    }
}

/// What an engine says about itself (ID, VERSION, GEOMETRY, MEMORY), whatever its design.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
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

/// How an [`Identity`] differs from the design of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityMismatch {
    /// ID is not the engine's.
    NotSystolic { id: u32 },
    /// Another configuration: VERSION, GEOMETRY or MEMORY differ.
    OtherDesign {
        found: u32,
        found_desc: String,
        expected: u32,
        expected_desc: String,
    },
}

impl Identity {
    /// Decode the four identity registers.
    pub fn from_words(id: u32, version: u32, geometry: u32, memory: u32) -> Identity {
        Identity {
            id,
            version,
            geometry,
            memory,
            is_systolic: id == regs::ID_VALUE,
            description: describe_geometry(geometry, memory),
        }
    }

    /// Whether this is the engine of `cfg`.
    pub fn check(&self, cfg: &Config) -> Result<(), IdentityMismatch> {
        if !self.is_systolic {
            return Err(IdentityMismatch::NotSystolic { id: self.id });
        }
        let want = (
            regs::version(cfg),
            regs::reg("GEOMETRY").constant(cfg).expect("constant"),
            regs::reg("MEMORY").constant(cfg).expect("constant"),
        );
        if (self.version, self.geometry, self.memory) != want {
            return Err(IdentityMismatch::OtherDesign {
                found: self.version,
                found_desc: self.description.clone(),
                expected: want.0,
                expected_desc: format!("`{}`: {}", cfg.name, describe_geometry(want.1, want.2)),
            });
        }
        Ok(())
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

/// Read the identity registers (ID, VERSION, GEOMETRY, MEMORY: one read of 4 words).
pub fn read_identity(bus: &mut impl RegisterBus) -> Result<Identity, BackendError> {
    let (w, resp) = bus.read_regs(regs::reg("ID").offset, 4)?;
    if resp != RESP_OKAY {
        return Err(BackendError::Other(format!(
            "read of ID..MEMORY answered {resp}"
        )));
    }
    Ok(Identity::from_words(w[0], w[1], w[2], w[3]))
}

/// The error of an engine stopped with `code`.
pub fn stopped(code: ErrorCode) -> BackendError {
    BackendError::Stopped {
        code,
        meaning: code.meaning(),
    }
}

/// Decode a STATUS word.
pub fn decode_status(w: u32) -> Status {
    let r = regs::reg("STATUS");
    let code = r.field("ERROR_CODE").get(w);
    Status {
        busy: r.field("BUSY").get(w) == 1,
        error: ErrorCode::from_code(code).unwrap_or(ErrorCode::None),
        queue_free: r.field("QUEUE_FREE").get(w),
    }
}

/// The engine behind a [`RegisterBus`].
pub struct HostEngine<B: RegisterBus> {
    cfg: Config,
    bus: B,
    /// Queue slots known to be free (from the last STATUS read, minus pushes since).
    free_known: u32,
}

impl<B: RegisterBus> HostEngine<B> {
    /// The engine of `cfg` on `bus`, unchecked (see [`HostEngine::check_identity`]).
    pub fn new(cfg: &Config, bus: B) -> HostEngine<B> {
        HostEngine {
            cfg: cfg.clone(),
            bus,
            free_known: 0,
        }
    }

    pub fn bus(&self) -> &B {
        &self.bus
    }

    pub fn bus_mut(&mut self) -> &mut B {
        &mut self.bus
    }

    /// Forget the free queue slots (after the engine was reset behind the host's back).
    pub fn forget_queue(&mut self) {
        self.free_known = 0;
    }

    /// The identity registers.
    pub fn identity(&mut self) -> Result<Identity, BackendError> {
        read_identity(&mut self.bus)
    }

    /// Check ID, VERSION, GEOMETRY and MEMORY against the configuration of this engine.
    pub fn check_identity(&mut self) -> Result<(), BackendError> {
        let found = self.identity()?;
        found.check(&self.cfg).map_err(|m| {
            BackendError::Other(match m {
                IdentityMismatch::NotSystolic { id } => {
                    format!("ID {id:#010x}, expected {:#010x}", regs::ID_VALUE)
                }
                IdentityMismatch::OtherDesign {
                    found,
                    found_desc,
                    expected,
                    expected_desc,
                } => format!(
                    "VERSION {found:#010x} ({found_desc}), expected {expected:#010x} ({expected_desc})"
                ),
            })
        })
    }

    /// Read `count` registers from the one named `name`, which must answer OKAY.
    pub fn read_ok(&mut self, name: &str, count: usize) -> Result<Vec<u32>, BackendError> {
        let (v, resp) = self.bus.read_regs(regs::reg(name).offset, count)?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "read of {name} answered {resp}"
            )));
        }
        Ok(v)
    }

    /// Write the register `name`, which must answer OKAY.
    pub fn write_ok(&mut self, name: &str, value: u32) -> Result<(), BackendError> {
        let resp = self.bus.write_regs(regs::reg(name).offset, 0xF, &[value])?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "write of {name} answered {resp}"
            )));
        }
        Ok(())
    }

    /// The raw STATUS word.
    pub fn status_word(&mut self) -> Result<u32, BackendError> {
        Ok(self.read_ok("STATUS", 1)?[0])
    }

    /// STATUS, decoded.
    pub fn status(&mut self) -> Result<Status, BackendError> {
        self.status_word().map(decode_status)
    }

    /// Zero the counters (CONTROL.CLEAR_COUNTERS).
    pub fn clear_counters(&mut self) -> Result<(), BackendError> {
        let v = regs::reg("CONTROL").field("CLEAR_COUNTERS").put(1);
        self.write_ok("CONTROL", v)
    }

    fn sbuf_write(&mut self, addr: u32, strb: u8, words: &[u32]) -> Result<(), BackendError> {
        if words.is_empty() {
            return Ok(());
        }
        let resp = self.bus.write_regs(addr, strb, words)?;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(format!(
                "SBUF write to {addr:#x} answered {resp}"
            )));
        }
        Ok(())
    }

    /// Push a raw 64-bit instruction word (any bits: the engine checks it), after polling
    /// STATUS while no queue slot is known free.
    pub fn push_word(&mut self, word: u64) -> Result<(), BackendError> {
        let mut n = 0;
        while self.free_known == 0 {
            self.bus.poll(n)?;
            n += 1;
            let st = self.status()?;
            self.free_known = st.queue_free;
            if st.queue_free == 0 && st.error != ErrorCode::None {
                return Err(stopped(st.error));
            }
        }
        let resp = self.bus.write_regs(
            regs::reg("INSTR_LO").offset,
            0xF,
            &[word as u32, (word >> 32) as u32],
        )?;
        if resp != RESP_OKAY {
            let st = self.status()?;
            return Err(stopped(st.error));
        }
        self.free_known -= 1;
        Ok(())
    }
}

impl<B: RegisterBus> Engine for HostEngine<B> {
    fn config(&self) -> &Config {
        &self.cfg
    }

    /// Runs of whole words in one write each, a partly filled word at either end on its own
    /// with its strobe.
    fn write_sbuf(
        &mut self,
        partition: u32,
        entry: u32,
        values: &[i64],
    ) -> Result<(), BackendError> {
        check_sbuf_write(&self.cfg, partition, entry, values)?;
        let words = regs::sbuf_words(&self.cfg, partition, entry, values);
        let mut run: Vec<u32> = vec![];
        let mut run_addr = 0;
        for regs::SbufWord { addr, data, strb } in words {
            if strb == 0xF {
                if run.is_empty() {
                    run_addr = addr;
                }
                run.push(data);
            } else {
                self.sbuf_write(run_addr, 0xF, &std::mem::take(&mut run))?;
                self.sbuf_write(addr, strb, &[data])?;
            }
        }
        self.sbuf_write(run_addr, 0xF, &run)
    }

    fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
        if let Some((name, v, width)) = instr.misfit() {
            return Err(BackendError::Other(format!(
                "{instr}: {name} = {v} does not fit its {width}-bit field"
            )));
        }
        for w in instr.encode() {
            self.push_word(w)?;
        }
        Ok(())
    }

    /// Poll STATUS until the engine is idle, or stalled (only a load waits for a swap nobody
    /// pushed: nothing more will happen; the golden back end reports that state as busy too).
    fn wait_idle(&mut self) -> Result<Status, BackendError> {
        let mut n = 0;
        loop {
            self.bus.poll(n)?;
            n += 1;
            let w = self.status_word()?;
            let st = decode_status(w);
            self.free_known = st.queue_free;
            if !st.busy || regs::reg("STATUS").field("STALLED").get(w) == 1 {
                return Ok(st);
            }
        }
    }

    /// Select the entry, wait for the snapshot, then read its (low, high) word pairs in one
    /// read (the last high word is left out when ACC_W <= 32).
    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
        let r = regs::reg("PSUM_SELECT");
        let (fa, fb) = (r.field("ADDR"), r.field("BANK"));
        if addr > fa.mask() || bank > fb.mask() {
            return Err(BackendError::Other(format!(
                "PSUM bank {bank} / address {addr} do not fit PSUM_SELECT"
            )));
        }
        let resp = self
            .bus
            .write_regs(r.offset, 0xF, &[fa.put(addr) | fb.put(bank)])?;
        if resp != RESP_OKAY {
            let st = self.status()?;
            return Err(stopped(st.error));
        }
        let valid = regs::reg("STATUS").field("PSUM_VALID");
        let mut n = 0;
        loop {
            self.bus.poll(n)?;
            n += 1;
            if valid.get(self.status_word()?) == 1 {
                break;
            }
        }
        let acc_w = self.cfg.derived.acc_w;
        let cols = self.cfg.cols as usize;
        let (words, resp) = self.bus.read_regs(
            regs::psum_data_address(0, false),
            2 * cols - 1 + usize::from(acc_w > 32),
        )?;
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

    /// CYCLES, MACS and RETIRED in one read, in address order; with the memory path also
    /// DMA_READ_BYTES and DMA_WRITE_BYTES (32-bit registers: the counts modulo 2^32).
    fn counters(&mut self) -> Result<Counters, BackendError> {
        let v = self.read_ok("CYCLES_LO", 5)?;
        let (dma_read_bytes, dma_write_bytes) = if self.cfg.dma {
            let d = self.read_ok("DMA_READ_BYTES", 2)?;
            (u64::from(d[0]), u64::from(d[1]))
        } else {
            (0, 0)
        };
        Ok(Counters {
            busy_cycles: u64::from(v[1]) << 32 | u64::from(v[0]),
            macs: u64::from(v[3]) << 32 | u64::from(v[2]),
            retired: u64::from(v[4]),
            dma_read_bytes,
            dma_write_bytes,
        })
    }

    /// CONTROL.CLEAR_ERROR: empties the instruction queue and resumes.
    fn clear_error(&mut self) -> Result<(), BackendError> {
        let v = regs::reg("CONTROL").field("CLEAR_ERROR").put(1);
        self.write_ok("CONTROL", v)?;
        self.free_known = 0;
        Ok(())
    }

    fn host_cycles(&self) -> u64 {
        self.bus.host_cycles()
    }
    fn transferred(&self) -> Option<(u64, u64)> {
        self.bus.transferred()
    }

    /// PROG_BASE, PROG_WORDS, then CONTROL.START (refused with SLVERR while the engine is busy,
    /// fetching or stopped: a host-side error here). An alignment or range error of the program
    /// stops the engine (STATUS.ERROR_CODE) like the golden model's.
    fn start_program(&mut self, base: u32, words: u32) -> Result<(), BackendError> {
        self.write_ok("PROG_BASE", base)?;
        self.write_ok("PROG_WORDS", words)?;
        let v = regs::reg("CONTROL").field("START").put(1);
        let resp = self
            .bus
            .write_regs(regs::reg("CONTROL").offset, 0xF, &[v])?;
        self.free_known = 0;
        if resp != RESP_OKAY {
            return Err(BackendError::Other(
                "START refused (the engine is busy, fetching or stopped)".into(),
            ));
        }
        Ok(())
    }

    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BackendError> {
        self.bus.write_memory(addr, bytes)
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, BackendError> {
        self.bus.read_memory(addr, len)
    }

    fn clear_semaphores(&mut self) -> Result<(), BackendError> {
        let v = regs::reg("CONTROL").field("CLEAR_SEMS").put(1);
        self.write_ok("CONTROL", v)
    }

    fn semaphores(&mut self) -> Result<[u16; 8], BackendError> {
        let v = self.read_ok("SEM0", 8)?;
        Ok(std::array::from_fn(|i| v[i] as u16))
    }
}
