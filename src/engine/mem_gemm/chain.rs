//! Two layers on chip: `C1 = f1(A x W1)` (requantised to the engine's 8-bit format), `C2 =
//! f2(C1 x W2)`, with C1 never leaving the SBUF. The write-back unit puts each output tile of
//! layer 1 (`SBUF[n'][H + m'] = C1[m0 + m'][n0 + n']`) exactly where layer 2 reads its moving
//! tile for that block of K, so the panel schedule ([`super::flow`]) runs both layers per block
//! of rows: A's panel, every block of W1's columns into the hidden slots, then every block of
//! W2's columns over them. Memory traffic: A once, W1 and W2 once per block of rows, the
//! tables, C2; nothing of C1.

use crate::config::Config;

use super::flow::{Flow, Layer};
use super::plan::{self, Tiles, STATIONARY_SLOTS};
use super::{
    blocked, check_write_back, delta, table_bytes, Counters, Engine, Images, MemGemmError,
    OutDtype, WriteBack,
};
use crate::engine::asm::{Builder, Program};
use crate::engine::gemm::Matrix;

/// Where a chain's matrices are in memory (byte addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ChainLayout {
    pub a: u32,
    pub w1: u32,
    pub w2: u32,
    pub table1: u32,
    pub table2: u32,
    pub c: u32,
    pub program: u32,
}

/// A planned chain: `A (M x K)`, `W1 (K x N1)`, `W2 (N1 x N2)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainPlan {
    pub m: u32,
    pub k: u32,
    pub n1: u32,
    pub n2: u32,
    /// Layer 1's tiles (`Nt1` = layer 2's `Kt`).
    pub tiles1: Tiles,
    pub tiles2: Tiles,
    pub layout: ChainLayout,
    pub banks: u32,
    /// Moving slots for A's tiles.
    pub moving_slots: u32,
    /// SBUF entry of the hidden slots (C1's tiles of a block of rows).
    pub hidden: u32,
    pub out_slot: [u32; 2],
}

/// Check the configuration and shapes, choose the tiles and the memory layout.
pub fn plan_chain(
    cfg: &Config,
    m: usize,
    k: usize,
    n1: usize,
    n2: usize,
    out: OutDtype,
) -> Result<ChainPlan, MemGemmError> {
    // The shape and engine checks of a single product, on both layers.
    let [m, k, n1] = plan::checked(cfg, m, k, n1, intermediate(cfg))?;
    let [_, _, n2] = plan::checked(cfg, m as usize, n1 as usize, n2, out)?;
    let c = n1.min(cfg.rows).min(cfg.cols);
    let (kt1, nt2) = (k.min(cfg.rows), n2.min(cfg.cols));
    let (kbs1, nbs1) = (k.div_ceil(kt1), n1.div_ceil(c));
    let kt_max = kt1.max(c);
    let eb = out.bytes();
    let too_small = || MemGemmError::PanelTooLarge {
        depth: cfg.sbuf_depth,
        kbs: kbs1,
    };
    let avail = cfg
        .sbuf_depth
        .checked_sub(STATIONARY_SLOTS * kt_max)
        .ok_or_else(too_small)?;
    let mt_max = m.min(cfg.psum_depth);
    let fit = |r: u32| mt_max.min(avail / (r + nbs1 + 2 * eb));
    let (two, one) = (fit(2 * kbs1), fit(kbs1.max(2)));
    let mt = if two >= mt_max.min(64) { two } else { one };
    if mt == 0 {
        return Err(too_small());
    }
    let mt = m.div_ceil(m.div_ceil(mt));
    let moving_slots = ((avail - (nbs1 + 2 * eb) * mt) / mt).min(2 * kbs1);
    let hidden = STATIONARY_SLOTS * kt_max + moving_slots * mt;
    let out_first = hidden + nbs1 * mt;
    Ok(ChainPlan {
        m,
        k,
        n1,
        n2,
        tiles1: Tiles { mt, kt: kt1, nt: c },
        tiles2: Tiles { mt, kt: c, nt: nt2 },
        layout: chain_layout(cfg, [m, k, n1, n2], c, nt2, out)?,
        banks: cfg.psum_banks,
        moving_slots,
        hidden,
        out_slot: [out_first, out_first + mt * eb],
    })
}

/// The engine's own 8-bit format: what layer 1 writes back.
fn intermediate(cfg: &Config) -> OutDtype {
    if cfg.format.is_signed() {
        OutDtype::Int8
    } else {
        OutDtype::Uint8
    }
}

fn chain_layout(
    cfg: &Config,
    [m, k, n1, n2]: [u32; 4],
    nt1: u32,
    nt2: u32,
    out: OutDtype,
) -> Result<ChainLayout, MemGemmError> {
    let align = |x: u64| x.div_ceil(4096) * 4096;
    let (m, k, n1, n2) = (u64::from(m), u64::from(k), u64::from(n1), u64::from(n2));
    let block = 8 * u64::from(cfg.cols);
    let a = 0x1000;
    let w1 = align(a + m * k);
    let w2 = align(w1 + k * n1);
    let table1 = align(w2 + n1 * n2);
    let table2 = align(table1 + n1.div_ceil(u64::from(nt1)) * block);
    let c = align(table2 + n2.div_ceil(u64::from(nt2)) * block);
    let program = align(c + m * n2 * u64::from(out.bytes()));
    if program >= 1 << 32 {
        return Err(MemGemmError::MemoryTooSmall { bytes: program });
    }
    Ok(ChainLayout {
        a: a as u32,
        w1: w1 as u32,
        w2: w2 as u32,
        table1: table1 as u32,
        table2: table2 as u32,
        c: c as u32,
        program: program as u32,
    })
}

impl ChainPlan {
    fn flow<'a>(&self, wb1: &'a WriteBack, wb2: &'a WriteBack) -> Flow<'a> {
        let l = &self.layout;
        Flow {
            m: self.m,
            mt: self.tiles1.mt,
            a: l.a,
            c: l.c,
            layers: vec![
                Layer {
                    k: self.k,
                    n: self.n1,
                    kt: self.tiles1.kt,
                    nt: self.tiles1.nt,
                    w: l.w1,
                    table: l.table1,
                    wb: wb1,
                },
                Layer {
                    k: self.n1,
                    n: self.n2,
                    kt: self.tiles2.kt,
                    nt: self.tiles2.nt,
                    w: l.w2,
                    table: l.table2,
                    wb: wb2,
                },
            ],
            moving_slots: self.moving_slots,
            resident: false,
            banks: self.banks,
            kt_max: self.tiles1.kt.max(self.tiles2.kt),
            hidden: self.hidden,
            out_slot: self.out_slot,
        }
    }

    /// `M K N1 / (rows cols) + M N1 N2 / (rows cols)`, rounded up: the array's share.
    pub fn compute_bound(&self, cfg: &Config) -> u64 {
        let (m, k) = (u64::from(self.m), u64::from(self.k));
        let (n1, n2) = (u64::from(self.n1), u64::from(self.n2));
        (m * k * n1 + m * n1 * n2).div_ceil(u64::from(cfg.rows * cfg.cols))
    }
}

/// A chain ready to run: plan, program, memory images.
#[derive(Debug, Clone)]
pub struct ChainJob {
    pub plan: ChainPlan,
    pub program: Program,
    pub write_back: [WriteBack; 2],
    images: Images,
}

/// Plan the chain `C2 = f2(f1(A x W1) x W2)` and build its program and memory images. `wb1`
/// must requantise to the engine's 8-bit format (C1 is the next layer's moving data).
pub fn prepare_chain(
    cfg: &Config,
    a: &Matrix,
    w1: &Matrix,
    wb1: &WriteBack,
    w2: &Matrix,
    wb2: &WriteBack,
) -> Result<ChainJob, MemGemmError> {
    if a.cols != w1.rows || w1.cols != w2.rows {
        return Err(MemGemmError::Shape(format!(
            "A is {} x {}, W1 {} x {}, W2 {} x {}: A's columns must match W1's rows and W1's \
             columns W2's rows",
            a.rows, a.cols, w1.rows, w1.cols, w2.rows, w2.cols
        )));
    }
    if wb1.out != intermediate(cfg) {
        return Err(MemGemmError::WriteBack(format!(
            "layer 1 writes {}, but the next layer multiplies the engine's {} values: give \
             layer 1 an {} write-back",
            wb1.out.name(),
            cfg.format,
            intermediate(cfg).name()
        )));
    }
    let plan = plan_chain(cfg, a.rows, a.cols, w1.cols, w2.cols, wb2.out)?;
    check_write_back(plan.n1, wb1)?;
    check_write_back(plan.n2, wb2)?;
    let l = &plan.layout;
    let mut data = vec![
        (l.a, blocked(cfg, a, "A", plan.tiles1.kt)?),
        (l.w1, blocked(cfg, w1, "W1", plan.tiles1.nt)?),
        (l.w2, blocked(cfg, w2, "W2", plan.tiles2.nt)?),
        (l.table1, table_bytes(cfg, plan.n1, plan.tiles1.nt, wb1)),
    ];
    if wb2.requantises() {
        data.push((l.table2, table_bytes(cfg, plan.n2, plan.tiles2.nt, wb2)));
    }
    let mut b = Builder::new(cfg);
    b.fetched_from(l.program);
    plan.flow(wb1, wb2).emit(&mut b, cfg);
    let program = b.finish()?;
    let images = Images::new(data, &program, l.program, (l.c, plan.m, plan.n2, wb2.out))?;
    Ok(ChainJob {
        plan,
        program,
        write_back: [wb1.clone(), wb2.clone()],
        images,
    })
}

impl ChainJob {
    /// Write A, W1, W2, the tables and the program into the engine's memory.
    pub fn load(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        self.images.load(e)
    }

    /// CONTROL.START on the program.
    pub fn start(&self, e: &mut dyn Engine) -> Result<(), MemGemmError> {
        self.images.start(e)
    }

    /// Wait for the engine, then read C2.
    pub fn finish(&self, e: &mut dyn Engine) -> Result<Matrix, MemGemmError> {
        self.images.finish(e)
    }
}

/// What [`run_chain`] returns.
#[derive(Debug, Clone)]
pub struct ChainResult {
    pub c: Matrix,
    pub counters: Counters,
    pub plan: ChainPlan,
    pub instructions: usize,
}

/// `C2 = f2(f1(A x W1) x W2)` on `e` over the memory path: load, start, wait, read C2.
pub fn run_chain(
    e: &mut dyn Engine,
    a: &Matrix,
    w1: &Matrix,
    wb1: &WriteBack,
    w2: &Matrix,
    wb2: &WriteBack,
) -> Result<ChainResult, MemGemmError> {
    let job = prepare_chain(e.config(), a, w1, wb1, w2, wb2)?;
    job.load(e)?;
    let before = e.counters()?;
    job.start(e)?;
    let c = job.finish(e)?;
    let after = e.counters()?;
    Ok(ChainResult {
        c,
        counters: delta(before, after),
        plan: job.plan.clone(),
        instructions: job.program.instrs.len(),
    })
}
