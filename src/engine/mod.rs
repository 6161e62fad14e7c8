//! The programmable engine around the core: SBUF, instruction queue, sequencer and host
//! interface (see `docs/isa.md` and `docs/registers.md`), seen from software.
//!
//! [`Engine`] is what a program drives; it has two back ends: `golden` (pure Rust, the
//! executable form of the ISA semantics) and `rtl` (the generated engine in Verilator, driven
//! over AXI4-Lite). [`gemm`](crate::engine::gemm) runs a matrix product of any size on either.
//!
//! SBUF layout: `max(rows, cols)` partitions x `sbuf_depth` entries of one element each.
//! `MULTIPLY_MOVING` reads moving column n' from entry `addr + n'` of partitions `0..k`;
//! `LOAD_STATIONARY` reads stationary row k' (all `cols` columns) from entry `addr + k'` of
//! partitions `0..cols`, i.e. the stationary is stored transposed (`M` on partitions), which is
//! the layout of the rows of A in `C = A x B`.

pub mod asm;
pub mod checks;
pub mod gemm;
pub mod golden;
pub mod host;
pub mod mem_gemm;
pub mod memory;

use crate::config::Config;
use crate::isa::{ErrorCode, Instr};

/// The engine's counters (STATUS and counter registers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Cycles in which the engine was busy (instruction queued or executing, results in flight).
    pub busy_cycles: u64,
    /// Useful MACs: k * m * n of every retired MULTIPLY_MOVING.
    pub macs: u64,
    /// Instructions retired.
    pub retired: u64,
    /// Memory bytes read by completed DMA_LOADs (DMA_READ_BYTES; not the instruction fetch).
    #[serde(skip_serializing_if = "is_zero")]
    pub dma_read_bytes: u64,
    /// Memory bytes written by completed DMA_STOREs (DMA_WRITE_BYTES).
    #[serde(skip_serializing_if = "is_zero")]
    pub dma_write_bytes: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The engine's status after it went idle or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub busy: bool,
    pub error: ErrorCode,
    /// Free instruction-queue slots.
    pub queue_free: u32,
}

/// Failures of a back end (not engine errors: those are reported in [`Status::error`]).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("SBUF access out of range: partition {partition}, entries {entry}..{end} (SBUF is {partitions} x {depth})")]
    SbufRange {
        partition: u32,
        entry: u32,
        end: u32,
        partitions: u32,
        depth: u32,
    },
    #[error("value {value} is not a {format} value")]
    Value { value: i64, format: String },
    #[error("the engine stopped with error {code:?}: {meaning}")]
    Stopped {
        code: ErrorCode,
        meaning: &'static str,
    },
    #[error("timeout: the engine did not go idle within {cycles} cycles")]
    Timeout { cycles: u64 },
    #[error("{0}")]
    Other(String),
}

/// Check a host write into SBUF: `values` go to entries `entry..` of `partition`, each must be a
/// value of the configured format. Both back ends call this before writing.
pub fn check_sbuf_write(
    cfg: &Config,
    partition: u32,
    entry: u32,
    values: &[i64],
) -> Result<(), BackendError> {
    let partitions = cfg.rows.max(cfg.cols);
    let end = u64::from(entry) + values.len() as u64;
    if partition >= partitions || end > u64::from(cfg.sbuf_depth) {
        return Err(BackendError::SbufRange {
            partition,
            entry,
            end: u32::try_from(end).unwrap_or(u32::MAX),
            partitions,
            depth: cfg.sbuf_depth,
        });
    }
    if let Some(&value) = values.iter().find(|v| !cfg.format.contains(**v)) {
        return Err(BackendError::Value {
            value,
            format: cfg.format.to_string(),
        });
    }
    Ok(())
}

/// A programmable engine.
pub trait Engine {
    fn config(&self) -> &Config;
    /// Number of SBUF partitions (`max(rows, cols)`).
    fn partitions(&self) -> u32 {
        self.config().rows.max(self.config().cols)
    }
    /// Write `values` into consecutive entries `entry..` of one SBUF partition.
    fn write_sbuf(
        &mut self,
        partition: u32,
        entry: u32,
        values: &[i64],
    ) -> Result<(), BackendError>;
    /// Push one instruction (waits for a free queue slot).
    fn push(&mut self, instr: Instr) -> Result<(), BackendError>;
    /// Wait until the engine is idle (or stopped by an error) and return its status.
    fn wait_idle(&mut self) -> Result<Status, BackendError>;
    /// Read one PSUM entry (all `cols` columns, accumulator bit patterns). Call when idle.
    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError>;
    fn counters(&mut self) -> Result<Counters, BackendError>;
    /// Clear an error: empties the instruction queue and resumes.
    fn clear_error(&mut self) -> Result<(), BackendError>;
    /// Cycles the host spent on transfers so far (0 for back ends without a clock).
    fn host_cycles(&self) -> u64 {
        0
    }
    /// Bytes sent to and received from the engine so far, when it sits behind a byte link (the
    /// board's UART); `None` otherwise.
    fn transferred(&self) -> Option<(u64, u64)> {
        None
    }

    // ---- The memory path (`docs/memory-path.md`); engines without it refuse these. ----

    /// Write bytes into the memory behind the engine's AXI4 master (the test bench's or host's
    /// view of that memory, not through the engine).
    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BackendError> {
        let _ = (addr, bytes);
        Err(no_memory_path())
    }
    /// Read bytes of the memory behind the engine's AXI4 master.
    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, BackendError> {
        let _ = (addr, len);
        Err(no_memory_path())
    }
    /// PROG_BASE = `base`, PROG_WORDS = `words`, CONTROL.START: clear the semaphores and fetch
    /// the program's 64-bit words into the instruction queue. Refused while the engine is busy
    /// or stopped.
    fn start_program(&mut self, base: u32, words: u32) -> Result<(), BackendError> {
        let _ = (base, words);
        Err(no_memory_path())
    }
    /// CONTROL.CLEAR_SEMS: every semaphore to 0.
    fn clear_semaphores(&mut self) -> Result<(), BackendError> {
        Err(no_memory_path())
    }
    /// The 8 semaphores (SEM, for debugging).
    fn semaphores(&mut self) -> Result<[u16; 8], BackendError> {
        Err(no_memory_path())
    }
}

fn no_memory_path() -> BackendError {
    BackendError::Other("this back end has no memory path (dma)".into())
}
