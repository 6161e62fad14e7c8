//! Planning a memory-path product: the schedule, the tile sizes, the SBUF map and the memory
//! layout, chosen once from the configuration and the shapes (the program builder in
//! [`super::program`] only follows the plan).
//!
//! # Two schedules
//! * **Stream** (output tiles `(nb, mb)`, N blocks outermost): every step loads its stationary
//!   (a tile of B) and its moving (a tile of `A^T`) into one slot of a ring of three. A is read
//!   once per block of `Nt` columns, B once per block of `Mt` rows.
//! * **Panel** (output tiles `(mb, nb)`, M blocks outermost): the moving tiles of one block of
//!   rows over the whole K (a *panel*, `Kbs` tiles of `Mt` entries) stay in the SBUF while
//!   every block of columns passes over them; only the stationary tiles stream (a ring of
//!   three). A is read once, B once per block of rows. With room for two panels (`2 Kbs`
//!   moving slots) the next panel loads while the current one computes; with one, tile `kb` of
//!   the next panel loads once the current panel's tile `kb` has had its last use.
//!
//! `auto` takes the panel schedule when the product has more than one block of columns (or its
//! weights can stay resident) and the estimate of [`estimate`] says it is not slower,
//! otherwise the stream. The panel keeps its weights resident when the estimate says so.

use crate::config::Config;

use super::{MemGemmError, OutDtype, WriteBack};

/// Alignment of every region in memory.
const REGION_ALIGN: u64 = 4096;
/// First byte used in memory.
const MEMORY_BASE: u64 = 0x1000;
/// Stationary slots of the panel schedule.
pub(super) const STATIONARY_SLOTS: u32 = 3;
/// Memory latency (cycles) the schedule estimate assumes.
const ESTIMATE_LATENCY: u64 = 20;
/// Cycles a step costs beyond its moving rows, in the schedule estimate.
const ESTIMATE_STEP_OVERHEAD: u64 = 4;

/// The loop order and SBUF use of a product (module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Stream,
    Panel,
}

impl Schedule {
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Stream => "stream",
            Schedule::Panel => "panel",
        }
    }
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

/// A planned product: shapes, schedule, tiles, SBUF map, memory layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub m: u32,
    pub k: u32,
    pub n: u32,
    pub schedule: Schedule,
    pub tiles: Tiles,
    pub layout: Layout,
    /// PSUM banks used round-robin.
    pub banks: u32,
    /// Input slots of the ring (stream: stationary and moving, `Kt + Mt` entries each, 3 or 2;
    /// panel: stationary only, `Kt` entries each, 3 in rotation, or one per step of a block of
    /// rows when the weights stay resident).
    pub slots: u32,
    /// Panel: the weights stay in the SBUF (`slots` = the steps of a block of rows, each
    /// stationary loaded once, during the first block).
    pub resident: bool,
    /// Panel: slots of `Mt` entries for moving tiles (`Kbs` to `2 Kbs`); stream: 0.
    pub moving_slots: u32,
    /// SBUF entries of the two output slots.
    pub out_slot: [u32; 2],
}

/// One step: output tile `t` = `(nb, mb)`, K tile `kb`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step {
    /// Index over all steps.
    pub i: u64,
    /// Output tile index (in the schedule's order).
    pub t: u64,
    pub nb: u32,
    pub mb: u32,
    pub kb: u32,
}

fn div_ceil(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

fn align(x: u64) -> u64 {
    x.div_ceil(REGION_ALIGN) * REGION_ALIGN
}

/// Check the configuration and shapes and choose the schedule (`None`: the estimate decides),
/// the tiles and the memory layout.
pub fn plan(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    out: OutDtype,
    schedule: Option<Schedule>,
) -> Result<Plan, MemGemmError> {
    let [m, k, n] = checked(cfg, m, k, n, out)?;
    let shape = Shape { m, k, n, out };
    let p = match schedule {
        Some(Schedule::Stream) => stream_plan(cfg, &shape)?,
        Some(Schedule::Panel) => panel_plan(cfg, &shape)?,
        None => {
            let stream = stream_plan(cfg, &shape);
            let panel = panel_plan(cfg, &shape).ok();
            match (stream, panel) {
                (Ok(s), Some(p))
                    if (p.blocks()[0] > 1 || p.resident) && p.estimate(cfg) <= s.estimate(cfg) =>
                {
                    p
                }
                (Ok(s), _) => s,
                (Err(_), Some(p)) => p,
                (Err(e), None) => return Err(e),
            }
        }
    };
    Ok(p)
}

/// The engine has the memory path and writes `out`; `M`, `K`, `N` in `1..2^32`.
pub(super) fn checked(
    cfg: &Config,
    m: usize,
    k: usize,
    n: usize,
    out: OutDtype,
) -> Result<[u32; 3], MemGemmError> {
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
    Ok([m, k, n])
}

struct Shape {
    m: u32,
    k: u32,
    n: u32,
    out: OutDtype,
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

/// The stream schedule: three input slots when the SBUF has room (see the module
/// documentation of `mem_gemm`), else two.
fn stream_plan(cfg: &Config, s: &Shape) -> Result<Plan, MemGemmError> {
    let (slots, tiles) = match stream_tiles(cfg, s, 3) {
        Ok(t) => (3, t),
        Err(_) => (2, stream_tiles(cfg, s, 2)?),
    };
    let slot = tiles.kt + tiles.mt;
    let out_len = tiles.mt * s.out.bytes();
    finish(
        cfg,
        s,
        Schedule::Stream,
        tiles,
        slots,
        0,
        [slots * slot, slots * slot + out_len],
    )
}

/// `Nt = min(N, cols)`, `Kt = min(K, rows)`, `Mt` as large as PSUM and the SBUF allow with
/// `slots` input slots.
fn stream_tiles(cfg: &Config, s: &Shape, slots: u32) -> Result<Tiles, MemGemmError> {
    let (nt, kt) = (s.n.min(cfg.cols), s.k.min(cfg.rows));
    // slots (Kt + Mt) + 2 bytes(out) Mt <= depth.
    let room = cfg.sbuf_depth.saturating_sub(slots * kt) / (slots + 2 * s.out.bytes());
    let mt = s.m.min(cfg.psum_depth).min(room);
    if mt == 0 {
        return Err(MemGemmError::SbufTooSmall {
            depth: cfg.sbuf_depth,
        });
    }
    Ok(Tiles { mt, kt, nt })
}

/// The panel schedule. Its weights stay resident in the SBUF (one stationary slot per step of
/// a block of rows, loaded once) when there is more than one block of rows and the estimate
/// says that is not slower (the room the slots take can shorten the panels); else three
/// stationary slots in rotation, loaded every step.
fn panel_plan(cfg: &Config, s: &Shape) -> Result<Plan, MemGemmError> {
    let rotating = panel_with(cfg, s, STATIONARY_SLOTS)?;
    let [nbs, mbs, kbs] = rotating.blocks();
    if mbs == 1 {
        return Ok(rotating);
    }
    match panel_with(cfg, s, nbs * kbs) {
        Ok(r) if r.blocks()[1] > 1 => {
            let r = Plan {
                resident: true,
                ..r
            };
            Ok(if r.estimate(cfg) <= rotating.estimate(cfg) {
                r
            } else {
                rotating
            })
        }
        _ => Ok(rotating),
    }
}

/// The panel schedule with `slots` stationary slots: `Mt` as large as PSUM and the SBUF allow
/// with two panels (`2 Kbs` moving slots) if that leaves at least 64 rows (or all of M), else
/// with one (at least `Kbs` and 2 slots); then `Mt` evened out over the blocks of rows, and the
/// moving slots as many as fit up to `2 Kbs`.
fn panel_with(cfg: &Config, s: &Shape, slots: u32) -> Result<Plan, MemGemmError> {
    let (nt, kt) = (s.n.min(cfg.cols), s.k.min(cfg.rows));
    let kbs = div_ceil(s.k, kt);
    let eb = s.out.bytes();
    let too_small = || MemGemmError::PanelTooLarge {
        depth: cfg.sbuf_depth,
        kbs,
    };
    let avail = cfg
        .sbuf_depth
        .checked_sub(slots * kt)
        .ok_or_else(too_small)?;
    let mt_max = s.m.min(cfg.psum_depth);
    let fit = |r: u32| mt_max.min(avail / (r + 2 * eb));
    let (two, one) = (fit(2 * kbs), fit(kbs.max(2)));
    let mt = if two >= mt_max.min(64) { two } else { one };
    if mt == 0 {
        return Err(too_small());
    }
    let mt = div_ceil(s.m, div_ceil(s.m, mt));
    let moving_slots = ((avail - 2 * eb * mt) / mt).min(2 * kbs);
    let first = slots * kt + moving_slots * mt;
    finish(
        cfg,
        s,
        Schedule::Panel,
        Tiles { mt, kt, nt },
        slots,
        moving_slots,
        [first, first + mt * eb],
    )
}

fn finish(
    cfg: &Config,
    s: &Shape,
    schedule: Schedule,
    tiles: Tiles,
    slots: u32,
    moving_slots: u32,
    out_slot: [u32; 2],
) -> Result<Plan, MemGemmError> {
    Ok(Plan {
        m: s.m,
        k: s.k,
        n: s.n,
        schedule,
        layout: layout(cfg, s, &tiles)?,
        tiles,
        banks: cfg.psum_banks,
        slots,
        resident: false,
        moving_slots,
        out_slot,
    })
}

fn layout(cfg: &Config, s: &Shape, t: &Tiles) -> Result<Layout, MemGemmError> {
    let (m, k, n) = (u64::from(s.m), u64::from(s.k), u64::from(s.n));
    let a = MEMORY_BASE;
    let b = align(a + m * k);
    let table = align(b + k * n);
    let blocks = u64::from(div_ceil(s.n, t.nt));
    let c = align(table + blocks * 8 * u64::from(cfg.cols));
    let program = align(c + m * n * u64::from(s.out.bytes()));
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

impl Plan {
    /// A rough cycle estimate to choose between the schedules and between resident and
    /// rotating weights: the larger of the array's time (each step its moving rows plus a small
    /// overhead) and the DMA's, which runs one instruction at a time, each a memory latency plus
    /// its beats (every tile one contiguous segment; a store at least one SBUF row a cycle).
    /// Not a timing model: the write-back, dispatch and start are not counted.
    pub fn estimate(&self, cfg: &Config) -> u64 {
        estimate(cfg, self)
    }
}

fn estimate(cfg: &Config, p: &Plan) -> u64 {
    let [nbs, mbs, kbs] = p.blocks().map(u64::from);
    let steps = nbs * mbs * kbs;
    let array = u64::from(p.m) * nbs * kbs + steps * ESTIMATE_STEP_OVERHEAD;
    let bus = u64::from(cfg.dma_bits / 8);
    let load = |bytes: u64| ESTIMATE_LATENCY + bytes.div_ceil(bus);
    let (mt, kt, nt) = (
        u64::from(p.tiles.mt),
        u64::from(p.tiles.kt),
        u64::from(p.tiles.nt),
    );
    let moving = match p.schedule {
        Schedule::Stream => steps,
        Schedule::Panel => mbs * kbs,
    };
    let stationary = if p.resident { nbs * kbs } else { steps };
    let tiles = nbs * mbs;
    let tables = p.table_loads();
    let dma = moving * load(mt * kt)
        + stationary * load(kt * nt)
        + tiles * (ESTIMATE_LATENCY + mt * nt.div_ceil(bus))
        + tables * load(8 * u64::from(cfg.cols));
    array.max(dma)
}

impl Plan {
    /// Blocks of columns, of rows and of K: `[Nbs, Mbs, Kbs]`.
    pub(super) fn blocks(&self) -> [u32; 3] {
        let t = &self.tiles;
        [
            div_ceil(self.n, t.nt),
            div_ceil(self.m, t.mt),
            div_ceil(self.k, t.kt),
        ]
    }

    /// The steps in the schedule's order.
    pub(super) fn steps(&self) -> Vec<Step> {
        let [nbs, mbs, kbs] = self.blocks();
        let (outer, inner) = match self.schedule {
            Schedule::Stream => (nbs, mbs),
            Schedule::Panel => (mbs, nbs),
        };
        let mut out = Vec::with_capacity((nbs * mbs * kbs) as usize);
        for o in 0..outer {
            for i in 0..inner {
                let (nb, mb) = match self.schedule {
                    Schedule::Stream => (o, i),
                    Schedule::Panel => (i, o),
                };
                for kb in 0..kbs {
                    out.push(Step {
                        i: out.len() as u64,
                        t: u64::from(o * inner + i),
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
    pub(super) fn sizes(&self, s: &Step) -> (u32, u32, u32) {
        let t = &self.tiles;
        (
            t.mt.min(self.m - s.mb * t.mt),
            t.kt.min(self.k - s.kb * t.kt),
            t.nt.min(self.n - s.nb * t.nt),
        )
    }

    /// Output tiles.
    pub fn tile_count(&self) -> u64 {
        let [nbs, mbs, _] = self.blocks();
        u64::from(nbs) * u64::from(mbs)
    }

    /// Whether output tile `t` (in the schedule's order) starts a new table of scales and biases.
    pub(super) fn loads_table(&self, t: u64) -> bool {
        let [nbs, mbs, _] = self.blocks().map(u64::from);
        match self.schedule {
            Schedule::Stream => t.is_multiple_of(mbs),
            Schedule::Panel => t == 0 || nbs > 1,
        }
    }

    /// Tables the program loads (when it requantises).
    fn table_loads(&self) -> u64 {
        (0..self.tile_count())
            .filter(|&t| self.loads_table(t))
            .count() as u64
    }

    /// Tables loaded up to and including output tile `t`'s.
    pub(super) fn tables_through(&self, t: u64) -> u64 {
        let [nbs, mbs, _] = self.blocks().map(u64::from);
        match self.schedule {
            Schedule::Stream => t / mbs + 1,
            Schedule::Panel if nbs > 1 => t + 1,
            Schedule::Panel => 1,
        }
    }

    /// Bytes of A and B the program's DMA_LOADs read (each tile once per use, resident weights
    /// once), plus the tables.
    pub fn read_bytes(&self, wb: &WriteBack, cols: u32) -> u64 {
        let [nbs, mbs, _] = self.blocks().map(u64::from);
        let (m, k, n) = (u64::from(self.m), u64::from(self.k), u64::from(self.n));
        let tables = if wb.requantises() {
            self.table_loads() * 8 * u64::from(cols)
        } else {
            0
        };
        let a_reads = match self.schedule {
            Schedule::Stream => nbs,
            Schedule::Panel => 1,
        };
        let b_reads = if self.resident { 1 } else { mbs };
        m * k * a_reads + k * n * b_reads + tables
    }
}
