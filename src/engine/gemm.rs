//! A matrix product of any size on any [`Engine`]: `C = A (M x K) x B (K x N)`.
//!
//! # Mapping
//! `psum[m][n] = sum_k stationary[k][m] * moving[k][n]` with the stationary a tile of `A^T` and
//! the moving a tile of `B`. The stationary is stored transposed in the SBUF (see
//! [`crate::engine`]), so the rows of A's tile go to partitions:
//! `SBUF[partition m'][sa + k'] = A[m0 + m'][k0 + k']` (`m' < Mt <= cols`, `k' < Kt <= rows`),
//! and the moving tile is `SBUF[partition k'][sb + n'] = B[k0 + k'][n0 + n']`
//! (`n' < Nt <= psum_depth`). The result is `psum[bank][n'][m'] = C[m0 + m'][n0 + n']`.
//!
//! # Tiling and schedule
//! Output tiles `(m0, n0)` are `cols x Nt` (`Nt <= psum_depth`, see below), each accumulated in
//! one PSUM bank over its K tiles of `rows` (the first K tile overwrites, the others
//! accumulate). Banks are used round-robin: up to `psum_banks` output tiles (option
//! [`GemmOptions::tiles_per_drain`]) are computed into distinct banks, then a FENCE, a
//! [`wait_idle`](Engine::wait_idle) and the reads of those tiles, so a bank is never reused
//! before it was read.
//!
//! One *step* is a (stationary, moving) tile pair: a LOAD_STATIONARY and a MULTIPLY_MOVING with
//! `swap = 1` (no stationary is reused across N tiles: every MULTIPLY_MOVING swaps in its own).
//! Over all steps of the whole product the order is
//! `LS0, LS1, MM0, LS2, MM1, ...`: the next stationary is loaded before the MULTIPLY_MOVING that
//! uses the current one, so the hardware loads it in the background, also across output tiles
//! and drains (a stationary loaded into the shadow survives `wait_idle`).
//!
//! # SBUF use
//! The SBUF is a ring of at least two *slots* of `Kt + Nt` entries per partition, one step's
//! data each (stationary tile at the slot's start, moving tile after it). The data of step
//! `i + 1` is written while step `i` may still compute. Before a slot is overwritten, the
//! instructions that read it must have retired: that is guaranteed by a `wait_idle` since their
//! push, and the host waits (drains) only when that is not the case yet, i.e. once per trip
//! round the ring at most. This does not rely on the order in which a back end retires
//! instructions. `Nt` is `min(N, psum_depth)`, reduced (option [`GemmOptions::n_tile`] or
//! automatically) until two slots fit; when not even `2 x (Kt + 1)` entries fit, [`gemm`]
//! returns [`GemmError::SbufTooSmall`].
//!
//! # Preconditions
//! No loaded-but-unswapped stationary may wait in the engine when `gemm` starts (the first swap
//! would consume it instead of the product's first tile). That holds for a fresh engine and after
//! every `gemm` (the last MULTIPLY_MOVING swaps in the last stationary loaded).
//!
//! # Results
//! `C`'s values are the accumulator's values modulo `2^acc_bits`, viewed as two's complement
//! for signed formats and as unsigned numbers for unsigned formats. An unsigned result of 64
//! bits above `i64::MAX` cannot be represented: [`GemmError::ResultOverflow`].

use crate::config::Config;
use crate::format::NumberFormat;
use crate::golden::{acc_to_signed, acc_to_unsigned, stall_free};
use crate::isa::{ErrorCode, Instr};
use crate::program::{Command, Program};

use super::{BackendError, Counters, Engine};

/// A dense row-major matrix of integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// `rows * cols` values, row-major.
    pub data: Vec<i64>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<i64>) -> Matrix {
        Matrix { rows, cols, data }
    }

    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix::new(rows, cols, vec![0; rows * cols])
    }

    /// `f(row, col)` for every element.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> i64) -> Matrix {
        let mut data = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                data.push(f(r, c));
            }
        }
        Matrix::new(rows, cols, data)
    }

    pub fn get(&self, row: usize, col: usize) -> i64 {
        self.data[row * self.cols + col]
    }

    /// `len` values of one row starting at column `col`.
    fn row_slice(&self, row: usize, col: usize, len: usize) -> &[i64] {
        let start = row * self.cols + col;
        &self.data[start..start + len]
    }

    fn shape_ok(&self, which: &'static str) -> Result<(), GemmError> {
        if self.rows == 0 || self.cols == 0 {
            return Err(GemmError::Empty {
                which,
                rows: self.rows,
                cols: self.cols,
            });
        }
        if self.rows.checked_mul(self.cols) != Some(self.data.len()) {
            return Err(GemmError::DataLength {
                which,
                rows: self.rows,
                cols: self.cols,
                len: self.data.len(),
            });
        }
        Ok(())
    }
}

/// Tuning knobs of [`gemm`]; the defaults are what the schedule above describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GemmOptions {
    /// Largest N tile (default and upper bound: `psum_depth`; reduced further if the SBUF needs
    /// it).
    pub n_tile: Option<u32>,
    /// Output tiles computed between two drains, each in its own PSUM bank (default and upper
    /// bound: `psum_banks`; 1 drains after every output tile).
    pub tiles_per_drain: Option<u32>,
    /// Most SBUF slots to use (default: as many as fit; at least 2).
    pub sbuf_slots: Option<u32>,
    /// Keep all of A and B resident in SBUF when they fit (default: true); `Some(false)`
    /// forces the double-buffered slots.
    pub resident: Option<bool>,
}

/// The product and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmResult {
    pub c: Matrix,
    /// The engine's counters during this product (difference of before and after).
    pub counters: Counters,
    /// Host-transfer cycles during this product ([`Engine::host_cycles`]; 0 without a clock).
    pub host_cycles: u64,
    /// Instructions pushed.
    pub instructions: u64,
}

/// Why a product could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum GemmError {
    #[error("{which} is {rows}x{cols}: every dimension must be at least 1")]
    Empty {
        which: &'static str,
        rows: usize,
        cols: usize,
    },
    #[error("{which} is {rows}x{cols} but has {len} values")]
    DataLength {
        which: &'static str,
        rows: usize,
        cols: usize,
        len: usize,
    },
    #[error("A is {a_rows}x{a_cols} but B is {b_rows}x{b_cols}: A's columns must equal B's rows")]
    Chain {
        a_rows: usize,
        a_cols: usize,
        b_rows: usize,
        b_cols: usize,
    },
    #[error("{which}[{row}][{col}] = {value} is not a {format} value ({min}..={max})")]
    Value {
        which: &'static str,
        row: usize,
        col: usize,
        value: i64,
        format: NumberFormat,
        min: i64,
        max: i64,
    },
    #[error(
        "sbuf_depth = {sbuf_depth} is too small: double-buffering a K tile of {k_tile} rows and at \
         least one moving column needs 2 x ({k_tile} + 1) = {needed} entries per partition"
    )]
    SbufTooSmall {
        sbuf_depth: u32,
        k_tile: u32,
        needed: u64,
    },
    #[error("bad gemm option: {0}")]
    Options(String),
    #[error(
        "C[{row}][{col}] = {value} does not fit a signed 64-bit integer (unsigned format with \
         acc_bits = 64)"
    )]
    ResultOverflow { row: usize, col: usize, value: u64 },
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("interrupted")]
    Interrupted,
}

/// The bytes an engine behind a link (the board's UART) has moved so far, as the stage's detail.
fn report_transfer(engine: &dyn Engine, progress: &mut dyn crate::progress::Progress) {
    if let Some((sent, received)) = engine.transferred() {
        progress.detail(&format!("{sent} bytes sent, {received} received"));
    }
}

/// One (stationary, moving) tile pair.
#[derive(Debug, Clone, Copy)]
struct Step {
    /// Output tile index (into `tiles`).
    tile: usize,
    k0: usize,
    kt: u32,
    acc: bool,
    /// Last K tile of its output tile.
    last_k: bool,
}

#[derive(Debug, Clone, Copy)]
struct Tile {
    m0: usize,
    mt: u32,
    n0: usize,
    nt: u32,
    bank: u32,
}

/// The SBUF plan: slot geometry.
#[derive(Debug, Clone, Copy)]
struct Plan {
    k_tile: u32,
    n_tile: u32,
    slot: u32,
    slots: u32,
    tiles_per_drain: u32,
}

fn plan(cfg: &Config, k: usize, n: usize, opts: &GemmOptions) -> Result<Plan, GemmError> {
    let k_tile = cfg.rows.min(u32::try_from(k).unwrap_or(u32::MAX));
    let depth = cfg.sbuf_depth;
    let needed = 2 * (u64::from(k_tile) + 1);
    if u64::from(depth) < needed {
        return Err(GemmError::SbufTooSmall {
            sbuf_depth: depth,
            k_tile,
            needed,
        });
    }
    if opts.n_tile == Some(0) {
        return Err(GemmError::Options("n_tile must be at least 1".into()));
    }
    if let Some(s) = opts.sbuf_slots {
        if s < 2 {
            return Err(GemmError::Options(format!(
                "sbuf_slots = {s}: at least 2 slots are needed (double buffering)"
            )));
        }
    }
    if opts.tiles_per_drain == Some(0) {
        return Err(GemmError::Options(
            "tiles_per_drain must be at least 1".into(),
        ));
    }
    let n_tile = cfg
        .psum_depth
        .min(u32::try_from(n).unwrap_or(u32::MAX))
        .min(opts.n_tile.unwrap_or(u32::MAX))
        .min(depth / 2 - k_tile);
    let slot = k_tile + n_tile;
    let slots = (depth / slot).min(opts.sbuf_slots.unwrap_or(u32::MAX));
    debug_assert!(slots >= 2);
    let tiles_per_drain = cfg.psum_banks.min(opts.tiles_per_drain.unwrap_or(u32::MAX));
    Ok(Plan {
        k_tile,
        n_tile,
        slot,
        slots,
        tiles_per_drain,
    })
}

fn check_values(m: &Matrix, which: &'static str, format: NumberFormat) -> Result<(), GemmError> {
    if let Some((i, &value)) = m
        .data
        .iter()
        .enumerate()
        .find(|(_, v)| !format.contains(**v))
    {
        return Err(GemmError::Value {
            which,
            row: i / m.cols,
            col: i % m.cols,
            value,
            format,
            min: format.min_value(),
            max: format.max_value(),
        });
    }
    Ok(())
}

/// The host side of a running product: instruction count and ring bookkeeping.
struct Host<'e> {
    engine: &'e mut dyn Engine,
    /// Instructions pushed so far.
    pushed: u64,
    /// `pushed` at the last successful drain: every instruction up to it has retired.
    drained: u64,
    /// Per slot: `pushed` right after the last instruction reading it (0 = never used).
    last_reader: Vec<u64>,
}

impl Host<'_> {
    fn push(&mut self, instr: Instr) -> Result<(), GemmError> {
        self.engine.push(instr)?;
        self.pushed += 1;
        Ok(())
    }

    /// Wait until idle; fail if the engine stopped.
    fn drain(&mut self) -> Result<(), GemmError> {
        let status = self.engine.wait_idle()?;
        if status.error != ErrorCode::None {
            return Err(BackendError::Stopped {
                code: status.error,
                meaning: status.error.meaning(),
            }
            .into());
        }
        if status.busy {
            return Err(BackendError::Other(
                "the engine is still busy after wait_idle (a LOAD_STATIONARY waits for a swap)"
                    .into(),
            )
            .into());
        }
        self.drained = self.pushed;
        Ok(())
    }
}

/// `C = A x B` on `engine` (see the module documentation).
/// SBUF layout of the resident schedule: A's M tiles (transposed: tile t's rows on partitions,
/// entry `a_base + t*K + k`), then B's K tiles (entry `b_base + t*N + n` of partition k').
#[derive(Debug, Clone, Copy)]
struct Resident {
    a_base: u32,
    b_base: u32,
    n_tile: u32,
}

fn resident_layout(
    cfg: &crate::config::Config,
    m: usize,
    k: usize,
    n: usize,
    opts: &GemmOptions,
) -> Option<Resident> {
    let m_tiles = m.div_ceil(cfg.cols as usize);
    let k_tiles = k.div_ceil(cfg.rows as usize);
    let needed = m_tiles * k + k_tiles * n;
    if needed > cfg.sbuf_depth as usize {
        return None;
    }
    let n_tile = cfg
        .psum_depth
        .min(u32::try_from(n).ok()?)
        .min(opts.n_tile.unwrap_or(u32::MAX));
    Some(Resident {
        a_base: 0,
        b_base: (m_tiles * k) as u32,
        n_tile,
    })
}

fn write_resident(
    engine: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    r: &Resident,
    cfg: &crate::config::Config,
    k_tile: u32,
) -> Result<(), GemmError> {
    let (cols, rows) = (cfg.cols as usize, k_tile as usize);
    for row in 0..a.rows {
        let (tile, part) = (row / cols, row % cols);
        engine.write_sbuf(
            part as u32,
            r.a_base + (tile * a.cols) as u32,
            a.row_slice(row, 0, a.cols),
        )?;
    }
    for row in 0..b.rows {
        let (tile, part) = (row / rows, row % rows);
        engine.write_sbuf(
            part as u32,
            r.b_base + (tile * b.cols) as u32,
            b.row_slice(row, 0, b.cols),
        )?;
    }
    Ok(())
}

/// How [`gemm`] tiles a product of `M x K` by `K x N` on a configuration (for planning
/// tools; the same computation as the product's own plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tiling {
    /// Rows of a K tile (`<= rows`) and columns of an N tile (`<= psum_depth`).
    pub k_tile: u32,
    pub n_tile: u32,
    /// Tiles along M (`cols` each), K and N.
    pub m_tiles: usize,
    pub k_tiles: usize,
    pub n_tiles: usize,
    /// LOAD_STATIONARY + MULTIPLY_MOVING pairs: `m_tiles * k_tiles * n_tiles`.
    pub steps: usize,
    /// All of A and B stay in the SBUF (each element written once).
    pub resident: bool,
}

/// The tiling [`gemm`] uses for `M x K` by `K x N` (refusals as [`check`]'s).
pub fn tiling(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    opts: &GemmOptions,
) -> Result<Tiling, GemmError> {
    let (p, resident) = full_plan(cfg, m, k, n, opts)?;
    let m_tiles = m.div_ceil(cfg.cols as usize);
    let k_tiles = k.div_ceil(p.k_tile as usize);
    let n_tiles = n.div_ceil(p.n_tile as usize);
    Ok(Tiling {
        k_tile: p.k_tile,
        n_tile: p.n_tile,
        m_tiles,
        k_tiles,
        n_tiles,
        steps: m_tiles * k_tiles * n_tiles,
        resident: resident.is_some(),
    })
}

/// The SBUF plan with the resident layout (when it is used) and its N tile.
fn full_plan(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    opts: &GemmOptions,
) -> Result<(Plan, Option<Resident>), GemmError> {
    let mut p = plan(cfg, k, n, opts)?;
    // When all of A and B fit in SBUF at once, write each element once and keep the data
    // resident: the host then only pushes instructions while the engine computes, and the
    // array never waits for host transfers (B's rows are reused by every M tile).
    let resident = opts
        .resident
        .unwrap_or(true)
        .then(|| resident_layout(cfg, m, k, n, opts))
        .flatten();
    if let Some(r) = &resident {
        p.n_tile = r.n_tile;
    }
    Ok((p, resident))
}

/// Output tiles (M outer, N inner) and their steps (K innermost).
fn schedule(cfg: &Config, m: usize, k: usize, n: usize, p: &Plan) -> (Vec<Tile>, Vec<Step>) {
    let mut tiles = Vec::new();
    for m0 in (0..m).step_by(cfg.cols as usize) {
        for n0 in (0..n).step_by(p.n_tile as usize) {
            let t = tiles.len() as u64;
            tiles.push(Tile {
                m0,
                mt: (m - m0).min(cfg.cols as usize) as u32,
                n0,
                nt: (n - n0).min(p.n_tile as usize) as u32,
                bank: (t % u64::from(cfg.psum_banks)) as u32,
            });
        }
    }
    let mut steps = Vec::new();
    for (tile, _) in tiles.iter().enumerate() {
        for k0 in (0..k).step_by(p.k_tile as usize) {
            let kt = (k - k0).min(p.k_tile as usize) as u32;
            steps.push(Step {
                tile,
                k0,
                kt,
                acc: k0 > 0,
                last_k: k0 + kt as usize == k,
            });
        }
    }
    (tiles, steps)
}

/// The core's command stream of [`gemm`]'s schedule for `M x K` by `K x N`, for the timing
/// model ([`crate::golden::timing`]): per step a LoadStationary of `Kt` rows and a swapping
/// MultiplyMoving of `Nt` beats, in the order [`gemm`] pushes them (`LS0, LS1, MM0, LS2, MM1,
/// ...`), and after each drain one ReadPsum per N column of every tile drained. A shape-only
/// program: its rows and beats carry no values (the timing model reads only their counts), so
/// it is not for the core model or a simulator.
pub fn core_program(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    opts: &GemmOptions,
) -> Result<Program, GemmError> {
    let (p, _) = full_plan(cfg, m, k, n, opts)?;
    let (tiles, steps) = schedule(cfg, m, k, n, &p);
    let load = |s: &Step| Command::LoadStationary {
        rows: vec![Vec::new(); s.kt as usize],
    };
    let mut commands = Vec::with_capacity(2 * steps.len() + n * m.div_ceil(cfg.cols as usize));
    let mut group = 0u32;
    if let Some(s) = steps.first() {
        commands.push(load(s));
    }
    for (i, s) in steps.iter().enumerate() {
        if let Some(next) = steps.get(i + 1) {
            commands.push(load(next));
        }
        let t = &tiles[s.tile];
        commands.push(Command::MultiplyMoving {
            k: s.kt,
            m: t.mt,
            bank: t.bank,
            offset: 0,
            accumulate: s.acc,
            swap: true,
            moving: vec![Vec::new(); t.nt as usize],
        });
        if s.last_k {
            group += 1;
            if group == p.tiles_per_drain || s.tile + 1 == tiles.len() {
                for d in tiles[s.tile + 1 - group as usize..=s.tile].iter() {
                    commands.extend((0..d.nt).map(|addr| Command::ReadPsum { bank: d.bank, addr }));
                }
                group = 0;
            }
        }
    }
    Ok(Program::new(commands))
}

/// The cycles of the stall-free run of [`core_program`] on the core, by the timing model
/// ([`stall_free`]): the array's loads, products and PSUM reads only; not the engine's
/// instruction dispatch, its early swap (`ls_gapless`), host transfers or host work.
pub fn predicted_cycles(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    opts: &GemmOptions,
) -> Result<u64, GemmError> {
    let program = core_program(cfg, m, k, n, opts)?;
    let timing = stall_free(cfg, &program)
        .unwrap_or_else(|e| unreachable!("gemm's schedule loads one stationary ahead: {e}"));
    Ok(timing.total_cycles)
}

/// Every check [`gemm`] makes before it touches an engine (shapes, values, the SBUF plan,
/// options), so a caller can refuse bad operands before building an expensive back end.
pub fn check(cfg: &Config, a: &Matrix, b: &Matrix, opts: &GemmOptions) -> Result<(), GemmError> {
    a.shape_ok("A")?;
    b.shape_ok("B")?;
    if a.cols != b.rows {
        return Err(GemmError::Chain {
            a_rows: a.rows,
            a_cols: a.cols,
            b_rows: b.rows,
            b_cols: b.cols,
        });
    }
    check_values(a, "A", cfg.format)?;
    check_values(b, "B", cfg.format)?;
    plan(cfg, a.cols, b.cols, opts).map(|_| ())
}

pub fn gemm(
    engine: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    opts: &GemmOptions,
) -> Result<GemmResult, GemmError> {
    gemm_with(engine, a, b, opts, &mut crate::progress::Silent)
}

/// [`gemm`], reporting the tile steps done (one step: a K tile of an output tile) to
/// `progress` as a stage named "GEMM tile steps", and stopping with
/// [`GemmError::Interrupted`] between steps when a stop is asked for
/// ([`crate::progress::interrupted`]).
pub fn gemm_with(
    engine: &mut dyn Engine,
    a: &Matrix,
    b: &Matrix,
    opts: &GemmOptions,
    progress: &mut dyn crate::progress::Progress,
) -> Result<GemmResult, GemmError> {
    let cfg = engine.config().clone();
    check(&cfg, a, b, opts)?;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let (p, resident) = full_plan(&cfg, m, k, n, opts)?;
    let (tiles, steps) = schedule(&cfg, m, k, n, &p);

    let before = engine.counters()?;
    let host_before = engine.host_cycles();
    let mut host = Host {
        engine: &mut *engine,
        pushed: 0,
        drained: 0,
        last_reader: vec![0; p.slots as usize],
    };
    let slot_base = |i: usize| (i % p.slots as usize) as u32 * p.slot;
    // SBUF entries of step i's stationary rows and moving columns.
    let stationary_addr = |i: usize| match &resident {
        Some(r) => {
            let s = &steps[i];
            (tiles[s.tile].m0 / cfg.cols as usize * k + s.k0) as u32 + r.a_base
        }
        None => slot_base(i),
    };
    let moving_addr = |i: usize| match &resident {
        Some(r) => {
            let s = &steps[i];
            (s.k0 / p.k_tile as usize * n + tiles[s.tile].n0) as u32 + r.b_base
        }
        None => slot_base(i) + p.k_tile,
    };
    let load = |i: usize| {
        let s = &steps[i];
        Instr::LoadStationary {
            addr: stationary_addr(i),
            k: s.kt,
            m: tiles[s.tile].mt,
        }
    };

    // Write step i's data into its slot, waiting first if the slot may still be read.
    let write_step = |host: &mut Host, i: usize| -> Result<(), GemmError> {
        let slot = i % p.slots as usize;
        if host.last_reader[slot] > host.drained {
            host.drain()?;
        }
        let s = &steps[i];
        let t = &tiles[s.tile];
        let base = slot_base(i);
        for mm in 0..t.mt as usize {
            host.engine
                .write_sbuf(mm as u32, base, a.row_slice(t.m0 + mm, s.k0, s.kt as usize))?;
        }
        for kk in 0..s.kt as usize {
            host.engine.write_sbuf(
                kk as u32,
                base + p.k_tile,
                b.row_slice(s.k0 + kk, t.n0, t.nt as usize),
            )?;
        }
        Ok(())
    };

    let mut c = Matrix::zeros(m, n);
    let mut group: Vec<usize> = Vec::new();
    match &resident {
        Some(r) => write_resident(host.engine, a, b, r, &cfg, p.k_tile)?,
        None => write_step(&mut host, 0)?,
    }
    host.push(load(0))?;
    progress.stage("GEMM tile steps", Some(steps.len() as u64));
    for i in 0..steps.len() {
        if crate::progress::interrupted() {
            return Err(GemmError::Interrupted);
        }
        progress.set(i as u64);
        report_transfer(&*host.engine, progress);
        if i + 1 < steps.len() {
            if resident.is_none() {
                write_step(&mut host, i + 1)?;
            }
            host.push(load(i + 1))?;
        }
        let s = steps[i];
        let t = tiles[s.tile];
        host.push(Instr::MultiplyMoving {
            addr: moving_addr(i),
            k: s.kt,
            n: t.nt,
            bank: t.bank,
            offset: 0,
            acc: s.acc,
            swap: true,
        })?;
        host.last_reader[i % p.slots as usize] = host.pushed;
        if s.last_k {
            group.push(s.tile);
            if group.len() == p.tiles_per_drain as usize || s.tile + 1 == tiles.len() {
                host.push(Instr::Fence)?;
                host.drain()?;
                for &ti in &group {
                    read_tile(host.engine, &tiles[ti], &cfg, &mut c)?;
                }
                group.clear();
            }
        }
    }

    progress.end();
    let instructions = host.pushed;
    let after = engine.counters()?;
    Ok(GemmResult {
        c,
        counters: Counters {
            busy_cycles: after.busy_cycles.saturating_sub(before.busy_cycles),
            macs: after.macs.saturating_sub(before.macs),
            retired: after.retired.saturating_sub(before.retired),
            ..Counters::default()
        },
        host_cycles: engine.host_cycles().saturating_sub(host_before),
        instructions,
    })
}

fn read_tile(
    engine: &mut dyn Engine,
    t: &Tile,
    cfg: &crate::config::Config,
    c: &mut Matrix,
) -> Result<(), GemmError> {
    for nn in 0..t.nt {
        let values = engine.read_psum(t.bank, nn)?;
        if values.len() < t.mt as usize {
            return Err(BackendError::Other(format!(
                "read_psum returned {} values, expected {}",
                values.len(),
                cfg.cols
            ))
            .into());
        }
        for (mm, &v) in values.iter().take(t.mt as usize).enumerate() {
            let (row, col) = (t.m0 + mm, t.n0 + nn as usize);
            let value = if cfg.format.is_signed() {
                acc_to_signed(v, cfg.acc_bits)
            } else {
                let u = acc_to_unsigned(v, cfg.acc_bits);
                i64::try_from(u).map_err(|_| GemmError::ResultOverflow { row, col, value: u })?
            };
            c.data[row * c.cols + col] = value;
        }
    }
    Ok(())
}
