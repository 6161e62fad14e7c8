//! A matrix product over the memory path (`docs/memory-path.md`): `C = A (M x K) x B (K x N)`
//! with A, B, the write-back's table and C in the memory behind the engine's AXI4 master, and a
//! program that the engine fetches itself (CONTROL.START). The host writes memory, starts the
//! engine, waits for it to go idle and reads C back; it touches no register in between.
//!
//! # Mapping (weight-stationary on B)
//! `psum[bank][m'][n'] = sum_k stationary[k][n'] * moving[k][m']`: the stationary is a tile of
//! B (`SBUF[n'][S + k'] = B[k0 + k'][n0 + n']`, `n' < Nt <= cols`, `k' < Kt <= rows`), the
//! moving a tile of `A^T` (`SBUF[k'][V + m'] = A[m0 + m'][k0 + k']`, `m' < Mt <= psum_depth`).
//! Both are DMA_LOADs in entry-row layout (one memory row is one SBUF entry across
//! partitions) from A and B as the host writes them: in blocks of a tile's width (A by `Kt`
//! columns, B by `Nt`), each block a row-major matrix, so that every tile is one contiguous
//! segment the DMA reads in long bursts (`instrs::blocked`; row-major operands would cost a
//! one-beat burst per row of a tile at 8-byte rows). A PSUM column is a column of C, so ACTIVATE's per-column
//! scale and bias are per output column (per output channel), and its output
//! `SBUF[n'][O + m'] = C[m0 + m'][n0 + n']` is stored to row-major C by one entry-row
//! DMA_STORE. Raw 32-bit results (ACTIVATE raw32) put the 4 bytes of `C[m][n]` in 4
//! consecutive entries of partition `n'`: they are stored one row of C at a time
//! (partition-row layout, 4 bytes per partition).
//!
//! # Schedules ([`plan`])
//! Each output tile is accumulated over its K tiles in one PSUM bank (banks round-robin). One
//! *step* is a (stationary, moving) pair. The stream schedule (output tiles `(n0, m0)`, N
//! blocks outermost) loads both tiles of every step into a ring of three input slots (`Kt +
//! Mt` entries; two when the SBUF is too small); the panel schedule (M blocks outermost) keeps
//! the moving tiles of a block of rows over the whole K in the SBUF while every block of
//! columns passes, so A is read once. Both keep two output slots (`Mt`, or `4 Mt` for raw32,
//! entries): the DMA loads ahead while the array computes, and stores tile `t - 1` while the
//! write-back unit converts tile `t`. Three stationary slots, because the PE loads step `i +
//! 1`'s stationary before step `i`'s multiply (so it streams in the background): with two,
//! that load would wait for the slot step `i - 1` frees, and the DMA and the array would take
//! turns instead of overlapping.
//!
//! Semaphores (one signalling engine each): [`LOADED`] (DMA, per step's stationary loaded),
//! [`SLOT_FREE`] (PE, per step computed: its input slot may be reloaded), [`TILE_DONE`] (PE,
//! per output tile accumulated), [`ACTED`] (ACT, per output tile written back: its bank may be
//! reused, its output may be stored, the table may change), [`STORED`] (DMA, per output tile
//! stored: its output slot may be reused), [`TABLE`] (DMA, per table loaded), and for the panel
//! [`MOVED`] (DMA, per moving tile loaded) and [`MV_FREE`] (PE, per moving tile's last use).
//! The program ([`program()`]) is checked by [`asm::Builder::finish`] (no race, no deadlock)
//! before it is written to memory.

mod chain;
mod flow;
mod instrs;
mod plan;
mod program;

pub use chain::{
    plan_chain, prepare_chain, run_chain, ChainJob, ChainLayout, ChainPlan, ChainResult,
};
pub use plan::{plan, Layout, Plan, Schedule, Tiles};
pub use program::program;

use crate::config::Config;
use crate::isa::{ActDtype, ErrorCode};

use super::asm::{self, Program};
use super::gemm::Matrix;
use super::{BackendError, Counters, Engine};

/// DMA: a step's tiles are in the SBUF.
pub const LOADED: u32 = 0;
/// PE: a step has been computed (its input slot is free).
pub const SLOT_FREE: u32 = 1;
/// PE: an output tile is accumulated in its bank.
pub const TILE_DONE: u32 = 2;
/// ACT: an output tile is written back into its output slot.
pub const ACTED: u32 = 3;
/// DMA: an output tile is stored to memory.
pub const STORED: u32 = 4;
/// DMA: a table (scales and biases of one block of columns) is loaded.
pub const TABLE: u32 = 5;
/// DMA (panel schedule): a moving tile is loaded into its slot.
pub const MOVED: u32 = 6;
/// PE (panel schedule): a moving tile has had its last use (its slot may be reloaded).
pub const MV_FREE: u32 = 7;

/// What the write-back produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutDtype {
    /// Requantised signed 8-bit (an int8 engine).
    Int8,
    /// Requantised unsigned 8-bit (a uint8 engine).
    Uint8,
    /// The raw 32-bit accumulators (ACTIVATE raw32).
    Int32,
}

impl OutDtype {
    pub fn name(self) -> &'static str {
        match self {
            OutDtype::Int8 => "int8",
            OutDtype::Uint8 => "uint8",
            OutDtype::Int32 => "int32",
        }
    }

    /// Bytes of one element of C in memory (and SBUF entries per value in an output slot).
    pub fn bytes(self) -> u32 {
        match self {
            OutDtype::Int32 => 4,
            _ => 1,
        }
    }

    fn act_dtype(self) -> ActDtype {
        match self {
            OutDtype::Int8 => ActDtype::Int8,
            OutDtype::Uint8 => ActDtype::Uint8,
            OutDtype::Int32 => ActDtype::Raw32,
        }
    }
}

/// The write-back: output type and, for 8-bit outputs, the requantisation
/// (`docs/memory-path.md`, ACTIVATE: `out = clamp(round_half_even(f32(acc + bias) * scale) +
/// zero_point)`, ONNX Runtime's order: the float is first clamped to the output range less the
/// zero point).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBack {
    pub out: OutDtype,
    /// One scale for every column, or one per column of C (`N`). Ignored for `Int32`.
    pub scale: Vec<f32>,
    /// One int32 bias per column of C, or none.
    pub bias: Option<Vec<i32>>,
    pub relu: bool,
    /// The output zero point: -128..=127 for int8, 0..=255 for uint8, 0 for int32 (relu then
    /// clamps at the zero point).
    pub zero_point: i32,
}

impl WriteBack {
    /// The raw accumulators.
    pub fn raw() -> WriteBack {
        WriteBack {
            out: OutDtype::Int32,
            scale: vec![],
            bias: None,
            relu: false,
            zero_point: 0,
        }
    }

    /// ACTIVATE's `zp` field: the zero point's 8-bit pattern.
    fn zp_bits(&self) -> u32 {
        self.zero_point as u32 & 0xFF
    }

    fn requantises(&self) -> bool {
        self.out != OutDtype::Int32
    }
}

/// Why a memory-path product cannot run.
#[derive(Debug, thiserror::Error)]
pub enum MemGemmError {
    #[error("the configuration has no memory path (dma = false): give --dma or a dma config")]
    NoMemoryPath,
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    WriteBack(String),
    #[error("the SBUF ({depth} entries) is too small for two input and two output slots")]
    SbufTooSmall { depth: u32 },
    #[error("A, B, C and the program need {bytes} bytes of memory, more than the 4 GB space")]
    MemoryTooSmall { bytes: u64 },
    #[error("the generated program is not valid: {0}")]
    Program(#[from] asm::AsmError),
    #[error("the engine stopped with {code:?}: {}", code.meaning())]
    Stopped { code: ErrorCode },
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(
        "the SBUF ({depth} entries) is too small for a panel: three stationary slots, {kbs} \
         moving slots (one per block of K) and two output slots"
    )]
    PanelTooLarge { depth: u32, kbs: u32 },
}

/// The table blocks: per block of `Nt` columns, `scale[c]` (fp32 bits) at word `c` and
/// `bias[c]` at word `cols + c`, little-endian.
fn table_bytes(cfg: &Config, n: u32, nt: u32, wb: &WriteBack) -> Vec<u8> {
    let cols = cfg.cols as usize;
    let mut out = vec![];
    for nb in 0..n.div_ceil(nt) {
        let mut words = vec![0u32; 2 * cols];
        for j in 0..nt.min(n - nb * nt) as usize {
            let col = nb as usize * nt as usize + j;
            let scale = if wb.scale.len() == 1 {
                wb.scale[0]
            } else {
                wb.scale[col]
            };
            words[j] = scale.to_bits();
            words[cols + j] = wb.bias.as_ref().map_or(0, |b| b[col] as u32);
        }
        out.extend(words.iter().flat_map(|w| w.to_le_bytes()));
    }
    out
}

fn check_write_back(n: u32, wb: &WriteBack) -> Result<(), MemGemmError> {
    if !wb.requantises() {
        if wb.relu || wb.bias.is_some() || !wb.scale.is_empty() || wb.zero_point != 0 {
            return Err(MemGemmError::WriteBack(
                "raw int32 output takes no scale, bias, relu or zero point (give an 8-bit output \
                 type)"
                    .into(),
            ));
        }
        return Ok(());
    }
    let range = match wb.out {
        OutDtype::Uint8 => 0..=255,
        _ => -128..=127,
    };
    if !range.contains(&wb.zero_point) {
        return Err(MemGemmError::WriteBack(format!(
            "zero point {} is not a {} value",
            wb.zero_point,
            wb.out.name()
        )));
    }
    let n = n as usize;
    if wb.scale.len() != 1 && wb.scale.len() != n {
        return Err(MemGemmError::WriteBack(format!(
            "{} scales for {n} columns of C: give one scale, or one per column",
            wb.scale.len()
        )));
    }
    if let Some(b) = wb.bias.as_ref().filter(|b| b.len() != n) {
        return Err(MemGemmError::WriteBack(format!(
            "{} biases for {n} columns of C: give one per column",
            b.len()
        )));
    }
    Ok(())
}

fn check_operand(cfg: &Config, x: &Matrix, which: &str) -> Result<(), MemGemmError> {
    if x.rows * x.cols != x.data.len() {
        return Err(MemGemmError::Shape(format!(
            "{which}: {} values for {} x {}",
            x.data.len(),
            x.rows,
            x.cols
        )));
    }
    match x.data.iter().find(|v| !cfg.format.contains(**v)) {
        Some(v) => Err(MemGemmError::Shape(format!(
            "{which}: value {v} is not a {} value",
            cfg.format
        ))),
        None => Ok(()),
    }
}

/// An operand's bytes as the host writes them: checked, in blocks of `bw` columns
/// ([`instrs::blocked`]).
fn blocked(cfg: &Config, x: &Matrix, which: &str, bw: u32) -> Result<Vec<u8>, MemGemmError> {
    check_operand(cfg, x, which)?;
    Ok(instrs::blocked(x, bw as usize))
}

/// A product ready to run: its plan, program and the memory images.
#[derive(Debug, Clone)]
pub struct Job {
    pub plan: Plan,
    pub program: Program,
    pub write_back: WriteBack,
    images: Images,
}

/// What a prepared program puts into memory, where it starts and where its result is.
#[derive(Debug, Clone)]
struct Images {
    /// `(address, bytes)`, the program last.
    at: Vec<(u32, Vec<u8>)>,
    program_at: u32,
    words: u32,
    /// The result: address, rows, columns, type.
    c: (u32, u32, u32, OutDtype),
}

impl Images {
    /// The data images and the program at `program_at` (which must end inside the 4 GB space).
    fn new(
        mut at: Vec<(u32, Vec<u8>)>,
        program: &Program,
        program_at: u32,
        c: (u32, u32, u32, OutDtype),
    ) -> Result<Images, MemGemmError> {
        let bytes = program.bytes();
        let end = u64::from(program_at) + bytes.len() as u64;
        if end > 1 << 32 {
            return Err(MemGemmError::MemoryTooSmall { bytes: end });
        }
        at.retain(|(_, b)| !b.is_empty());
        at.push((program_at, bytes));
        let words = program.words().len() as u32;
        Ok(Images {
            at,
            program_at,
            words,
            c,
        })
    }

    fn load(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        for (addr, bytes) in &self.at {
            e.write_memory(*addr, bytes)?;
        }
        Ok(())
    }

    fn start(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        Ok(e.start_program(self.program_at, self.words)?)
    }

    fn finish(&self, e: &mut dyn Engine) -> Result<Matrix, MemGemmError> {
        let (c, m, n, out) = self.c;
        read_result(e, c, m, n, out)
    }
}

/// Plan the product (the schedule the estimate prefers), build its program and the memory
/// images (nothing runs yet).
pub fn prepare(cfg: &Config, a: &Matrix, b: &Matrix, wb: &WriteBack) -> Result<Job, MemGemmError> {
    prepare_with(cfg, a, b, wb, None)
}

/// [`prepare`] with the schedule given (`None`: chosen by the estimate).
pub fn prepare_with(
    cfg: &Config,
    a: &Matrix,
    b: &Matrix,
    wb: &WriteBack,
    schedule: Option<Schedule>,
) -> Result<Job, MemGemmError> {
    if a.cols != b.rows {
        return Err(MemGemmError::Shape(format!(
            "A is {} x {} and B {} x {}: A's columns must match B's rows",
            a.rows, a.cols, b.rows, b.cols
        )));
    }
    let plan = plan(cfg, a.rows, a.cols, b.cols, wb.out, schedule)?;
    check_write_back(plan.n, wb)?;
    let l = &plan.layout;
    let mut data = vec![
        (l.a, blocked(cfg, a, "A", plan.tiles.kt)?),
        (l.b, blocked(cfg, b, "B", plan.tiles.nt)?),
    ];
    if wb.requantises() {
        data.push((l.table, table_bytes(cfg, plan.n, plan.tiles.nt, wb)));
    }
    let program = program(cfg, &plan, wb)?;
    let images = Images::new(data, &program, l.program, (l.c, plan.m, plan.n, wb.out))?;
    Ok(Job {
        plan,
        program,
        write_back: wb.clone(),
        images,
    })
}

impl Job {
    /// Write A, B, the tables and the program into the engine's memory.
    pub fn load(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        self.images.load(e)
    }

    /// CONTROL.START on the program.
    pub fn start(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        self.images.start(e)
    }

    /// Wait for the engine, then read C (int8 / uint8 values, or the int32 accumulators viewed
    /// as the format's sign: uint32 for unsigned formats).
    pub fn finish(&self, e: &mut dyn Engine) -> Result<Matrix, MemGemmError> {
        self.images.finish(e)
    }
}

/// Wait for the engine, then read the `m x n` matrix at `c` (int8 / uint8 values, or the int32
/// accumulators viewed as the format's sign: uint32 for unsigned formats).
fn read_result(
    e: &mut dyn Engine,
    c: u32,
    m: u32,
    n: u32,
    out: OutDtype,
) -> Result<Matrix, MemGemmError> {
    let st = e.wait_idle()?;
    if st.error != ErrorCode::None {
        return Err(MemGemmError::Stopped { code: st.error });
    }
    let (m, n) = (m as usize, n as usize);
    let bytes = e.read_memory(c, m * n * out.bytes() as usize)?;
    let signed = e.config().format.is_signed();
    let data = match out {
        OutDtype::Int8 => bytes.iter().map(|&v| i64::from(v as i8)).collect(),
        OutDtype::Uint8 => bytes.iter().map(|&v| i64::from(v)).collect(),
        OutDtype::Int32 => bytes
            .chunks_exact(4)
            .map(|w| {
                let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                if signed {
                    i64::from(v as i32)
                } else {
                    i64::from(v)
                }
            })
            .collect(),
    };
    Ok(Matrix::new(m, n, data))
}

/// What [`run`] returns.
#[derive(Debug, Clone)]
pub struct MemGemmResult {
    pub c: Matrix,
    /// Counter increases over the run (busy cycles, MACs, instructions, DMA bytes).
    pub counters: Counters,
    pub plan: Plan,
    pub instructions: usize,
    /// Clock cycles from CONTROL.START to the status read that saw the engine idle
    /// ([`Engine::host_cycles`]; 0 on back ends without a clock).
    pub cycles: u64,
}

/// `C = A x B` on `e` over the memory path: load, start, wait, read C.
pub fn run(
    e: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    wb: &WriteBack,
) -> Result<MemGemmResult, MemGemmError> {
    run_with(e, a, b, wb, None)
}

/// [`run`] with the schedule given (`None`: chosen by the estimate).
pub fn run_with(
    e: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    wb: &WriteBack,
    schedule: Option<Schedule>,
) -> Result<MemGemmResult, MemGemmError> {
    let job = prepare_with(e.config(), a, b, wb, schedule)?;
    job.load(e)?;
    let before = e.counters()?;
    let t0 = e.host_cycles();
    job.start(e)?;
    let c = job.finish(e)?;
    let cycles = e.host_cycles() - t0;
    let after = e.counters()?;
    Ok(MemGemmResult {
        c,
        counters: delta(before, after),
        plan: job.plan.clone(),
        instructions: job.program.instrs.len(),
        cycles,
    })
}

/// `after - before`, counter by counter.
pub fn delta(before: Counters, after: Counters) -> Counters {
    Counters {
        busy_cycles: after.busy_cycles - before.busy_cycles,
        macs: after.macs - before.macs,
        retired: after.retired - before.retired,
        dma_read_bytes: after.dma_read_bytes - before.dma_read_bytes,
        dma_write_bytes: after.dma_write_bytes - before.dma_write_bytes,
    }
}
