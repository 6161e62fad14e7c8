//! A matrix product over the memory path (`docs/memory-path.md`): `C = A (M x K) x B (K x N)`
//! with A, B, the write-back's table and C in the memory behind the engine's AXI4 master, and a
//! program that the engine fetches itself (CONTROL.START). The host writes memory, starts the
//! engine, waits for it to go idle and reads C back; it touches no register in between.
//!
//! # Mapping (weight-stationary on B)
//! `psum[bank][m'][n'] = sum_k stationary[k][n'] * moving[k][m']`: the stationary is a tile of
//! B (`SBUF[n'][S + k'] = B[k0 + k'][n0 + n']`, `n' < Nt <= cols`, `k' < Kt <= rows`), the
//! moving a tile of `A^T` (`SBUF[k'][V + m'] = A[m0 + m'][k0 + k']`, `m' < Mt <= psum_depth`).
//! Both are DMA_LOADs in entry-row layout straight from row-major A and B (one memory row is
//! one SBUF entry across partitions). A PSUM column is a column of C, so ACTIVATE's per-column
//! scale and bias are per output column (per output channel), and its output
//! `SBUF[n'][O + m'] = C[m0 + m'][n0 + n']` is stored to row-major C by one entry-row
//! DMA_STORE. Raw 32-bit results (ACTIVATE raw32) put the 4 bytes of `C[m][n]` in 4
//! consecutive entries of partition `n'`: they are stored one row of C at a time
//! (partition-row layout, 4 bytes per partition).
//!
//! # Schedule
//! Output tiles `(n0, m0)` in that order (N blocks outermost, so the table of per-column scales
//! and biases changes once per block of `Nt` columns); each is accumulated over its K tiles in
//! one PSUM bank (banks round-robin). One *step* is a (stationary, moving) pair. The SBUF holds
//! a ring of three input slots (`Kt + Mt` entries: stationary then moving; two when the SBUF
//! is too small) and two output slots (`Mt`, or `4 Mt` for raw32, entries): the DMA loads
//! step `i + 2` while the array computes step `i`, and stores tile `t - 1` while the
//! write-back unit converts tile `t`. Three slots, because the PE loads step `i + 1`'s
//! stationary before step `i`'s multiply (so it streams in the background): with two, that
//! load would wait for the slot step `i - 1` frees, and the DMA and the array would take
//! turns instead of overlapping.
//!
//! Semaphores (one signalling engine each): [`LOADED`] (DMA, per step loaded), [`SLOT_FREE`]
//! (PE, per step computed: its input slot may be reloaded), [`TILE_DONE`] (PE, per output tile
//! accumulated), [`ACTED`] (ACT, per output tile written back: its bank may be reused, its
//! output may be stored, the table may change), [`STORED`] (DMA, per output tile stored: its
//! output slot may be reused), [`TABLE`] (DMA, per table loaded). The program is checked by
//! [`asm::Builder::finish`] (no race, no deadlock) before it is written to memory.

use crate::config::Config;
use crate::isa::{Act, ActDtype, ActFunc, Dma, DmaTarget, EngineId, ErrorCode};

use super::asm::{self, Builder, Program};
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

/// Alignment of every region in memory.
const REGION_ALIGN: u64 = 4096;
/// First byte used in memory.
const MEMORY_BASE: u64 = 0x1000;

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
/// (`docs/memory-path.md`, ACTIVATE: `out = clamp(round_half_even(f32(acc + bias) * scale))`,
/// zero point 0).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteBack {
    pub out: OutDtype,
    /// One scale for every column, or one per column of C (`N`). Ignored for `Int32`.
    pub scale: Vec<f32>,
    /// One int32 bias per column of C, or none.
    pub bias: Option<Vec<i32>>,
    pub relu: bool,
}

impl WriteBack {
    /// The raw accumulators.
    pub fn raw() -> WriteBack {
        WriteBack {
            out: OutDtype::Int32,
            scale: vec![],
            bias: None,
            relu: false,
        }
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
}

/// Tile sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tiles {
    /// Rows of C per tile (MULTIPLY_MOVING `n`, PSUM entries).
    pub mt: u32,
    /// K per step (rows of the array used).
    pub kt: u32,
    /// Columns of C per tile (the stationary's `m`, PSUM columns).
    pub nt: u32,
}

/// Where everything is in memory (byte addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Layout {
    pub a: u32,
    pub b: u32,
    /// Per block of `Nt` columns, `2 * cols` words: scales (fp32 bits), then biases (int32).
    pub table: u32,
    pub c: u32,
    pub program: u32,
}

/// A planned product: shapes, tiles, memory layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub tiles: Tiles,
    pub layout: Layout,
    /// PSUM banks used round-robin.
    pub banks: u32,
    /// Input slots (a ring; 3, or 2 when the SBUF is too small for 3).
    pub slots: u32,
    /// SBUF entries: input slot `s` at `s (Kt + Mt)`, output slots at `out_slot[0..2]`.
    pub out_slot: [u32; 2],
}

fn div_ceil(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

fn align(x: u64) -> u64 {
    x.div_ceil(REGION_ALIGN) * REGION_ALIGN
}

/// Check the configuration and shapes and choose tiles and the memory layout.
pub fn plan(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    out: OutDtype,
) -> Result<Plan, MemGemmError> {
    if !cfg.dma {
        return Err(MemGemmError::NoMemoryPath);
    }
    check_out(cfg, out)?;
    let dims = [m, k, n].map(|d| u32::try_from(d).ok().filter(|&d| d >= 1));
    let [Some(m), Some(k), Some(n)] = dims else {
        return Err(MemGemmError::Shape(format!(
            "C = A x B needs M, K, N in 1..2^32 (got {m}, {k}, {n})"
        )));
    };
    // Three input slots when the SBUF has room (see the module documentation), else two.
    let (slots, tiles) = match tiles(cfg, m, k, n, out, 3) {
        Ok(t) => (3, t),
        Err(_) => (2, tiles(cfg, m, k, n, out, 2)?),
    };
    let layout = layout(cfg, m, k, n, out, &tiles)?;
    let slot = tiles.kt + tiles.mt;
    let out_len = tiles.mt * out.bytes();
    Ok(Plan {
        slots,
        m,
        k,
        n,
        tiles,
        layout,
        banks: cfg.psum_banks,
        out_slot: [slots * slot, slots * slot + out_len],
    })
}

fn check_out(cfg: &Config, out: OutDtype) -> Result<(), MemGemmError> {
    let fmt = cfg.format.to_string();
    if fmt != "int8" && fmt != "uint8" {
        return Err(MemGemmError::WriteBack(format!(
            "the memory-path product takes int8 or uint8 engines, not {fmt}"
        )));
    }
    let ok = match out {
        OutDtype::Int32 => cfg.acc_bits == 32,
        OutDtype::Int8 => fmt == "int8",
        OutDtype::Uint8 => fmt == "uint8",
    };
    if ok {
        Ok(())
    } else {
        Err(MemGemmError::WriteBack(format!(
            "output {} on a {fmt} engine: the write-back writes the engine's own format \
             (int8 engine: int8, uint8 engine: uint8) or raw int32 accumulators",
            out.name()
        )))
    }
}

/// `Nt = min(N, cols)`, `Kt = min(K, rows)`, `Mt` as large as PSUM and the SBUF allow with
/// `slots` input slots.
fn tiles(
    cfg: &Config,
    m: u32,
    k: u32,
    n: u32,
    out: OutDtype,
    slots: u32,
) -> Result<Tiles, MemGemmError> {
    let (nt, kt) = (n.min(cfg.cols), k.min(cfg.rows));
    // slots (Kt + Mt) + 2 bytes(out) Mt <= depth.
    let room = cfg.sbuf_depth.saturating_sub(slots * kt) / (slots + 2 * out.bytes());
    let mt = m.min(cfg.psum_depth).min(room);
    if mt == 0 {
        return Err(MemGemmError::SbufTooSmall {
            depth: cfg.sbuf_depth,
        });
    }
    Ok(Tiles { mt, kt, nt })
}

fn layout(
    cfg: &Config,
    m: u32,
    k: u32,
    n: u32,
    out: OutDtype,
    t: &Tiles,
) -> Result<Layout, MemGemmError> {
    let (m, k, n) = (u64::from(m), u64::from(k), u64::from(n));
    let a = MEMORY_BASE;
    let b = align(a + m * k);
    let table = align(b + k * n);
    let blocks = u64::from(div_ceil(n as u32, t.nt));
    let c = align(table + blocks * 8 * u64::from(cfg.cols));
    let program = align(c + m * n * u64::from(out.bytes()));
    // The program's own size is checked once it is built.
    if program >= 1 << 32 {
        return Err(MemGemmError::MemoryTooSmall { bytes: program });
    }
    Ok(Layout {
        a: a as u32,
        b: b as u32,
        table: table as u32,
        c: c as u32,
        program: program as u32,
    })
}

/// One step: output tile `(nb, mb)`, K tile `kb`.
#[derive(Debug, Clone, Copy)]
struct Step {
    /// Index over all steps.
    i: u64,
    /// Output tile index.
    t: u64,
    nb: u32,
    mb: u32,
    kb: u32,
}

impl Plan {
    fn blocks(&self) -> [u32; 3] {
        let t = &self.tiles;
        [
            div_ceil(self.n, t.nt),
            div_ceil(self.m, t.mt),
            div_ceil(self.k, t.kt),
        ]
    }

    fn steps(&self) -> Vec<Step> {
        let [nbs, mbs, kbs] = self.blocks();
        let mut out = Vec::with_capacity((nbs * mbs * kbs) as usize);
        for nb in 0..nbs {
            for mb in 0..mbs {
                for kb in 0..kbs {
                    out.push(Step {
                        i: out.len() as u64,
                        t: u64::from(nb * mbs + mb),
                        nb,
                        mb,
                        kb,
                    });
                }
            }
        }
        out
    }

    /// Sizes of step `s`'s tiles `(mt, kt, nt)` (the last tiles of a dimension are smaller).
    fn sizes(&self, s: &Step) -> (u32, u32, u32) {
        let t = &self.tiles;
        (
            t.mt.min(self.m - s.mb * t.mt),
            t.kt.min(self.k - s.kb * t.kt),
            t.nt.min(self.n - s.nb * t.nt),
        )
    }

    fn in_slot(&self, i: u64) -> u32 {
        (i % u64::from(self.slots)) as u32 * (self.tiles.kt + self.tiles.mt)
    }

    /// Output tiles.
    pub fn tile_count(&self) -> u64 {
        let [nbs, mbs, _] = self.blocks();
        u64::from(nbs) * u64::from(mbs)
    }

    /// Bytes of A and B the program's DMA_LOADs read (each tile once per use), plus the tables.
    pub fn read_bytes(&self, wb: &WriteBack, cols: u32) -> u64 {
        let [nbs, _, _] = self.blocks();
        let (m, k, n) = (u64::from(self.m), u64::from(self.k), u64::from(self.n));
        let tables = if wb.requantises() {
            u64::from(nbs) * 8 * u64::from(cols)
        } else {
            0
        };
        m * k * u64::from(nbs) + k * n * u64::from(self.blocks()[1]) + tables
    }
}

fn sbuf_load(base: u64, stride: u32, rows: u32, row_len: u32, entry: u32) -> Dma {
    Dma {
        target: DmaTarget::Sbuf as u32,
        layout: 0,
        esize: 0,
        rows,
        row_len,
        part: 0,
        bank: 0,
        base: base as u32,
        stride,
        entry,
        offset: 0,
    }
}

/// The DMA_LOADs of step `s` (stationary tile of B, moving tile of `A^T`) into its slot.
fn load_step(b: &mut Builder, p: &Plan, s: &Step) {
    let (mt, kt, nt) = p.sizes(s);
    let t = &p.tiles;
    let (k0, m0, n0) = (s.kb * t.kt, s.mb * t.mt, s.nb * t.nt);
    let slot = p.in_slot(s.i);
    let (kk, nn) = (u64::from(p.k), u64::from(p.n));
    let bb = u64::from(p.layout.b) + u64::from(k0) * nn + u64::from(n0);
    b.dma_load(sbuf_load(bb, p.n, kt, nt, slot));
    let aa = u64::from(p.layout.a) + u64::from(m0) * kk + u64::from(k0);
    b.dma_load(sbuf_load(aa, p.k, mt, kt, slot + t.kt));
}

fn load_table(b: &mut Builder, cfg: &Config, p: &Plan, nb: u32) {
    let words = 2 * cfg.cols;
    b.dma_load(Dma {
        target: DmaTarget::Table as u32,
        layout: 0,
        esize: 2,
        rows: 1,
        row_len: words,
        part: 0,
        bank: 0,
        base: p.layout.table + nb * 4 * words,
        stride: 4 * words,
        entry: 0,
        offset: 0,
    });
}

/// DMA: (wait for the slot) load step `s`, signal LOADED; at the first step of a block of
/// columns after the first, (wait for every earlier tile's write-back) load its table.
fn dma_step(b: &mut Builder, cfg: &Config, p: &Plan, wb: &WriteBack, s: &Step) {
    let slots = u64::from(p.slots);
    if s.i >= slots {
        b.wait(EngineId::Dma, SLOT_FREE, s.i - slots + 1);
    }
    load_step(b, p, s);
    b.signal(EngineId::Dma, LOADED);
    if wb.requantises() && s.nb > 0 && s.mb == 0 && s.kb == 0 {
        b.wait(EngineId::Dma, ACTED, s.t);
        load_table(b, cfg, p, s.nb);
        b.signal(EngineId::Dma, TABLE);
    }
}

/// PE: the next step's stationary (loaded in the background), then this step's multiply.
fn pe_step(b: &mut Builder, p: &Plan, s: &Step, next: Option<&Step>) {
    if let Some(n) = next {
        let (_, kt, nt) = p.sizes(n);
        b.wait(EngineId::Pe, LOADED, n.i + 1);
        b.load_stationary(p.in_slot(n.i), kt, nt);
    }
    let bank = (s.t % u64::from(p.banks)) as u32;
    if s.kb == 0 && s.t >= u64::from(p.banks) {
        b.wait(EngineId::Pe, ACTED, s.t - u64::from(p.banks) + 1);
    }
    let (mt, kt, _) = p.sizes(s);
    b.multiply(p.in_slot(s.i) + p.tiles.kt, kt, mt, bank, 0, s.kb > 0, true);
    b.signal(EngineId::Pe, SLOT_FREE);
    if s.kb + 1 == p.blocks()[2] {
        b.signal(EngineId::Pe, TILE_DONE);
    }
}

/// ACT: write back output tile `s.t` (its last step `s`) into its output slot.
fn act_tile(b: &mut Builder, p: &Plan, wb: &WriteBack, s: &Step) {
    if wb.requantises() && s.mb == 0 {
        b.wait(EngineId::Act, TABLE, u64::from(s.nb) + 1);
    }
    b.wait(EngineId::Act, TILE_DONE, s.t + 1);
    if s.t >= 2 {
        b.wait(EngineId::Act, STORED, s.t - 1);
    }
    let (mt, _, nt) = p.sizes(s);
    let func = if wb.relu {
        ActFunc::Relu
    } else {
        ActFunc::Identity
    };
    b.activate(Act {
        bank: (s.t % u64::from(p.banks)) as u32,
        offset: 0,
        n: mt,
        m: nt,
        func: func as u32,
        dtype: wb.out.act_dtype() as u32,
        per_col: wb.requantises(),
        bias: wb.requantises() && wb.bias.is_some(),
        entry: p.out_slot[(s.t % 2) as usize],
        ..Act::default()
    });
    b.signal(EngineId::Act, ACTED);
}

/// DMA: store output tile `s.t` (its last step `s`) to C once it is written back.
fn store_tile(b: &mut Builder, p: &Plan, wb: &WriteBack, s: &Step) {
    b.wait(EngineId::Dma, ACTED, s.t + 1);
    let (mt, _, nt) = p.sizes(s);
    let (m0, n0) = (s.mb * p.tiles.mt, s.nb * p.tiles.nt);
    let entry = p.out_slot[(s.t % 2) as usize];
    let eb = wb.out.bytes();
    let row = |r: u32| {
        u64::from(p.layout.c)
            + u64::from(eb) * ((u64::from(m0 + r)) * u64::from(p.n) + u64::from(n0))
    };
    if wb.out == OutDtype::Int32 {
        // One row of C per store: partition n' holds C[m][n0 + n'] in entries 4m'..4m'+4.
        for r in 0..mt {
            let mut d = sbuf_load(row(r), 4, nt, 4, entry + 4 * r);
            d.layout = 1;
            b.dma_store(d);
        }
    } else {
        b.dma_store(sbuf_load(row(0), p.n, mt, nt, entry));
    }
    b.signal(EngineId::Dma, STORED);
}

/// Build and check the program of `plan` (to be fetched from `plan.layout.program`).
pub fn program(cfg: &Config, p: &Plan, wb: &WriteBack) -> Result<Program, MemGemmError> {
    let steps = p.steps();
    let kbs = p.blocks()[2];
    let mut b = Builder::new(cfg);
    b.fetched_from(p.layout.program);
    dma_step(&mut b, cfg, p, wb, &steps[0]);
    if wb.requantises() {
        load_table(&mut b, cfg, p, 0);
        b.signal(EngineId::Dma, TABLE);
    }
    let (_, kt, nt) = p.sizes(&steps[0]);
    b.wait(EngineId::Pe, LOADED, 1);
    b.load_stationary(p.in_slot(0), kt, nt);
    let mut last_tile: Option<Step> = None;
    for (i, s) in steps.iter().enumerate() {
        let next = steps.get(i + 1);
        if let Some(n) = next {
            dma_step(&mut b, cfg, p, wb, n);
        }
        pe_step(&mut b, p, s, next);
        if s.kb + 1 == kbs {
            act_tile(&mut b, p, wb, s);
            if let Some(prev) = last_tile.replace(*s) {
                store_tile(&mut b, p, wb, &prev);
            }
        }
    }
    if let Some(prev) = last_tile {
        store_tile(&mut b, p, wb, &prev);
    }
    Ok(b.finish()?)
}

/// The table blocks: per block of `Nt` columns, `scale[c]` (fp32 bits) at word `c` and
/// `bias[c]` at word `cols + c`, little-endian.
fn table_bytes(cfg: &Config, p: &Plan, wb: &WriteBack) -> Vec<u8> {
    let cols = cfg.cols as usize;
    let mut out = vec![];
    for nb in 0..p.blocks()[0] {
        let mut words = vec![0u32; 2 * cols];
        for j in 0..p.tiles.nt.min(p.n - nb * p.tiles.nt) as usize {
            let col = nb as usize * p.tiles.nt as usize + j;
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

fn check_write_back(p: &Plan, wb: &WriteBack) -> Result<(), MemGemmError> {
    if !wb.requantises() {
        if wb.relu || wb.bias.is_some() || !wb.scale.is_empty() {
            return Err(MemGemmError::WriteBack(
                "raw int32 output takes no scale, bias or relu (give an 8-bit output type)".into(),
            ));
        }
        return Ok(());
    }
    let n = p.n as usize;
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

fn check_operand(cfg: &Config, x: &Matrix, which: &str) -> Result<Vec<u8>, MemGemmError> {
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
        None => Ok(x.data.iter().map(|&v| v as u8).collect()),
    }
}

/// A product ready to run: its plan, program and the memory images.
#[derive(Debug, Clone)]
pub struct Job {
    pub plan: Plan,
    pub program: Program,
    pub write_back: WriteBack,
    a: Vec<u8>,
    b: Vec<u8>,
    table: Vec<u8>,
}

/// Plan the product, build its program and the memory images (nothing runs yet).
pub fn prepare(cfg: &Config, a: &Matrix, b: &Matrix, wb: &WriteBack) -> Result<Job, MemGemmError> {
    if a.cols != b.rows {
        return Err(MemGemmError::Shape(format!(
            "A is {} x {} and B {} x {}: A's columns must match B's rows",
            a.rows, a.cols, b.rows, b.cols
        )));
    }
    let plan = plan(cfg, a.rows, a.cols, b.cols, wb.out)?;
    check_write_back(&plan, wb)?;
    let (ab, bb) = (check_operand(cfg, a, "A")?, check_operand(cfg, b, "B")?);
    let program = program(cfg, &plan, wb)?;
    let end = u64::from(plan.layout.program) + program.bytes().len() as u64;
    if end > 1 << 32 {
        return Err(MemGemmError::MemoryTooSmall { bytes: end });
    }
    let table = if wb.requantises() {
        table_bytes(cfg, &plan, wb)
    } else {
        vec![]
    };
    Ok(Job {
        plan,
        program,
        write_back: wb.clone(),
        a: ab,
        b: bb,
        table,
    })
}

impl Job {
    /// Write A, B, the tables and the program into the engine's memory.
    pub fn load(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        let l = &self.plan.layout;
        e.write_memory(l.a, &self.a)?;
        e.write_memory(l.b, &self.b)?;
        if !self.table.is_empty() {
            e.write_memory(l.table, &self.table)?;
        }
        e.write_memory(l.program, &self.program.bytes())?;
        Ok(())
    }

    /// CONTROL.START on the program.
    pub fn start(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        let words = self.program.words().len() as u32;
        Ok(e.start_program(self.plan.layout.program, words)?)
    }

    /// Wait for the engine, then read C (int8 / uint8 values, or the int32 accumulators viewed
    /// as the format's sign: uint32 for unsigned formats).
    pub fn finish(&self, e: &mut dyn Engine) -> Result<Matrix, MemGemmError> {
        let st = e.wait_idle()?;
        if st.error != ErrorCode::None {
            return Err(MemGemmError::Stopped { code: st.error });
        }
        let (m, n) = (self.plan.m as usize, self.plan.n as usize);
        let eb = self.write_back.out.bytes() as usize;
        let bytes = e.read_memory(self.plan.layout.c, m * n * eb)?;
        let signed = e.config().format.is_signed();
        let data = match self.write_back.out {
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
}

/// What [`run`] returns.
#[derive(Debug, Clone)]
pub struct MemGemmResult {
    pub c: Matrix,
    /// Counter increases over the run (busy cycles, MACs, instructions, DMA bytes).
    pub counters: Counters,
    pub plan: Plan,
    pub instructions: usize,
}

/// `C = A x B` on `e` over the memory path: load, start, wait, read C.
pub fn run(
    e: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    wb: &WriteBack,
) -> Result<MemGemmResult, MemGemmError> {
    let job = prepare(e.config(), a, b, wb)?;
    job.load(e)?;
    let before = e.counters()?;
    job.start(e)?;
    let c = job.finish(e)?;
    let after = e.counters()?;
    Ok(MemGemmResult {
        c,
        counters: delta(before, after),
        plan: job.plan.clone(),
        instructions: job.program.instrs.len(),
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
