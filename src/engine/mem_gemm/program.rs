//! The program of a planned product (`super::plan`): per step the DMA's loads, the PE's
//! stationary and multiply, per output tile the write-back and the store, with the semaphores
//! of `super` between them. Both schedules share the write-back, the store and the tables;
//! they differ in where the moving tiles live and when they are loaded.
//!
//! Program order is dispatch order (in order, FIFOs of `ENGINE_FIFO_DEPTH`): the DMA's
//! instructions for step `i + 1` come before the PE's for step `i`, and a DMA WAIT is never
//! placed before the PE instructions whose SIGNAL it needs by less than a step, so a full DMA
//! FIFO cannot hold back the signal its head waits for. [`asm::Builder::finish`] proves the
//! result free of deadlocks and races.

use crate::config::Config;
use crate::isa::{Act, ActFunc, Dma, DmaTarget, EngineId};

use super::asm::{Builder, Program};
use super::plan::{Plan, Schedule, Step, STATIONARY_SLOTS};
use super::{
    MemGemmError, OutDtype, WriteBack, ACTED, LOADED, MOVED, MV_FREE, SLOT_FREE, STORED, TABLE,
    TILE_DONE,
};

/// Build and check the program of `plan` (to be fetched from `plan.layout.program`).
pub fn program(cfg: &Config, p: &Plan, wb: &WriteBack) -> Result<Program, MemGemmError> {
    let mut b = Builder::new(cfg);
    b.fetched_from(p.layout.program);
    match p.schedule {
        Schedule::Stream => stream(&mut b, cfg, p, wb),
        Schedule::Panel => Panel::new(p).program(&mut b, cfg, wb),
    }
    Ok(b.finish()?)
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

/// The stationary of step `s`: a tile of B, one row of B per SBUF entry.
fn stationary_load(p: &Plan, s: &Step, entry: u32) -> Dma {
    let (_, kt, nt) = p.sizes(s);
    let (k0, n0) = (s.kb * p.tiles.kt, s.nb * p.tiles.nt);
    let bb = u64::from(p.layout.b) + u64::from(k0) * u64::from(p.n) + u64::from(n0);
    sbuf_load(bb, p.n, kt, nt, entry)
}

/// The moving of step `s`: a tile of `A^T`, one row of A per SBUF entry.
fn moving_load(p: &Plan, s: &Step, entry: u32) -> Dma {
    let (mt, kt, _) = p.sizes(s);
    let (k0, m0) = (s.kb * p.tiles.kt, s.mb * p.tiles.mt);
    let aa = u64::from(p.layout.a) + u64::from(m0) * u64::from(p.k) + u64::from(k0);
    sbuf_load(aa, p.k, mt, kt, entry)
}

/// DMA: (wait for every earlier tile's write-back) load the table of output tile `s.t`.
fn load_table(b: &mut Builder, cfg: &Config, p: &Plan, s: &Step) {
    if s.t > 0 {
        b.wait(EngineId::Dma, ACTED, s.t);
    }
    let words = 2 * cfg.cols;
    b.dma_load(Dma {
        target: DmaTarget::Table as u32,
        layout: 0,
        esize: 2,
        rows: 1,
        row_len: words,
        part: 0,
        bank: 0,
        base: p.layout.table + s.nb * 4 * words,
        stride: 4 * words,
        entry: 0,
        offset: 0,
    });
    b.signal(EngineId::Dma, TABLE);
}

/// PE: (wait for the bank's previous tile to be written back) multiply step `s` from `moving`;
/// signal the step, and the tile when it is the tile's last step.
fn multiply(b: &mut Builder, p: &Plan, s: &Step, moving: u32) {
    let bank = (s.t % u64::from(p.banks)) as u32;
    if s.kb == 0 && s.t >= u64::from(p.banks) {
        b.wait(EngineId::Pe, ACTED, s.t - u64::from(p.banks) + 1);
    }
    let (mt, kt, _) = p.sizes(s);
    b.multiply(moving, kt, mt, bank, 0, s.kb > 0, true);
    b.signal(EngineId::Pe, SLOT_FREE);
}

/// ACT: write back output tile `s.t` (its last step `s`) into its output slot.
fn act_tile(b: &mut Builder, p: &Plan, wb: &WriteBack, s: &Step) {
    if wb.requantises() && p.loads_table(s.t) {
        b.wait(EngineId::Act, TABLE, p.tables_through(s.t));
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

/// The write-back and store of a step that ends its tile: ACTIVATE it, store the tile before.
fn end_of_tile(b: &mut Builder, p: &Plan, wb: &WriteBack, s: &Step, last_tile: &mut Option<Step>) {
    if s.kb + 1 == p.blocks()[2] {
        b.signal(EngineId::Pe, TILE_DONE);
        act_tile(b, p, wb, s);
        if let Some(prev) = last_tile.replace(*s) {
            store_tile(b, p, wb, &prev);
        }
    }
}

// ---- Stream: stationary and moving of a step in one slot of a ring ----

fn stream_slot(p: &Plan, i: u64) -> u32 {
    (i % u64::from(p.slots)) as u32 * (p.tiles.kt + p.tiles.mt)
}

/// DMA: (wait for the slot) load step `s`, signal LOADED; at the first step of a block of
/// columns after the first, load its table.
fn stream_dma(b: &mut Builder, cfg: &Config, p: &Plan, wb: &WriteBack, s: &Step) {
    let slots = u64::from(p.slots);
    if s.i >= slots {
        b.wait(EngineId::Dma, SLOT_FREE, s.i - slots + 1);
    }
    let slot = stream_slot(p, s.i);
    b.dma_load(stationary_load(p, s, slot));
    b.dma_load(moving_load(p, s, slot + p.tiles.kt));
    b.signal(EngineId::Dma, LOADED);
    if wb.requantises() && s.t > 0 && s.kb == 0 && p.loads_table(s.t) {
        load_table(b, cfg, p, s);
    }
}

/// PE: the next step's stationary (loaded in the background), then this step's multiply.
fn stream_pe(b: &mut Builder, p: &Plan, s: &Step, next: Option<&Step>) {
    if let Some(n) = next {
        let (_, kt, nt) = p.sizes(n);
        b.wait(EngineId::Pe, LOADED, n.i + 1);
        b.load_stationary(stream_slot(p, n.i), kt, nt);
    }
    multiply(b, p, s, stream_slot(p, s.i) + p.tiles.kt);
}

fn stream(b: &mut Builder, cfg: &Config, p: &Plan, wb: &WriteBack) {
    let steps = p.steps();
    stream_dma(b, cfg, p, wb, &steps[0]);
    if wb.requantises() {
        load_table(b, cfg, p, &steps[0]);
    }
    let (_, kt, nt) = p.sizes(&steps[0]);
    b.wait(EngineId::Pe, LOADED, 1);
    b.load_stationary(stream_slot(p, 0), kt, nt);
    let mut last_tile = None;
    for (i, s) in steps.iter().enumerate() {
        let next = steps.get(i + 1);
        if let Some(n) = next {
            stream_dma(b, cfg, p, wb, n);
        }
        stream_pe(b, p, s, next);
        end_of_tile(b, p, wb, s, &mut last_tile);
    }
    if let Some(prev) = last_tile {
        store_tile(b, p, wb, &prev);
    }
}

// ---- Panel: moving tiles resident over every block of columns ----

/// The panel schedule's placement: moving tile `j` (`= mb Kbs + kb`) goes to moving slot
/// `j mod R` and is loaded in the DMA's part of step `pos[j]`.
struct Panel<'a> {
    p: &'a Plan,
    steps: Vec<Step>,
    /// Per step index, the moving tiles loaded in the DMA's part of that step.
    moves_at: Vec<Vec<u64>>,
    /// Per step index, the output tile whose table the DMA loads in that step's part.
    table_at: Vec<Option<u64>>,
}

impl<'a> Panel<'a> {
    fn new(p: &'a Plan) -> Panel<'a> {
        let steps = p.steps();
        let [nbs, mbs, kbs] = p.blocks().map(u64::from);
        let r = u64::from(p.moving_slots);
        let base = |mb: u64| mb * nbs * kbs;
        let mut moves_at = vec![vec![]; steps.len()];
        let mut prev = 0;
        for j in 0..mbs * kbs {
            let (mb, kb) = (j / kbs, j % kbs);
            // Needed by step (mb, nb 0, kb); the DMA's part of step x comes before the PE's
            // part of step x - 1.
            let deadline = base(mb) + kb;
            let mut pos = if mb == 0 {
                kb
            } else {
                // Spread over the passes after the first of the previous panel, ...
                let spread = base(mb - 1) + kbs + kb * (nbs - 1);
                // ... after the last use of the slot's previous tile (a step before, so the
                // DMA's WAIT never sits in front of the PE's SIGNAL it needs).
                let free = if j >= r {
                    last_use(j - r, nbs, kbs) + 2
                } else {
                    0
                };
                spread.max(free)
            };
            pos = pos.max(prev).min(deadline);
            prev = pos;
            moves_at[pos as usize].push(j);
        }
        // Tile t's table: half way through the tile (the previous tile's ACTIVATE, which the
        // DMA waits for, is then long done; at least one step in, so that WAIT never sits in
        // front of the PE's SIGNAL it needs), or right after the previous tile's ACTIVATE
        // when K has one block.
        let mut table_at = vec![None; steps.len()];
        for t in 1..p.tile_count() {
            if p.loads_table(t) && kbs >= 2 {
                table_at[(t * kbs + (kbs / 2).max(1)) as usize] = Some(t);
            }
        }
        Panel {
            p,
            steps,
            moves_at,
            table_at,
        }
    }

    fn moving_entry(&self, j: u64) -> u32 {
        let t = &self.p.tiles;
        STATIONARY_SLOTS * t.kt + (j % u64::from(self.p.moving_slots)) as u32 * t.mt
    }

    fn stationary_entry(&self, i: u64) -> u32 {
        (i % u64::from(STATIONARY_SLOTS)) as u32 * self.p.tiles.kt
    }

    /// DMA's part of step `i`: its moving tiles, its stationary, a table.
    fn dma(&self, b: &mut Builder, cfg: &Config, wb: &WriteBack, i: u64) {
        let p = self.p;
        let kbs = u64::from(p.blocks()[2]);
        let r = u64::from(p.moving_slots);
        for &j in &self.moves_at[i as usize] {
            if j >= r {
                b.wait(EngineId::Dma, MV_FREE, j - r + 1);
            }
            let s = &self.steps[(j / kbs * u64::from(p.blocks()[0]) * kbs + j % kbs) as usize];
            b.dma_load(moving_load(p, s, self.moving_entry(j)));
            b.signal(EngineId::Dma, MOVED);
        }
        // Step i - 3's stationary was streamed into the array before step i - 4's SIGNAL
        // SLOT_FREE (step 0's before step 0's).
        if i >= u64::from(STATIONARY_SLOTS) {
            b.wait(EngineId::Dma, SLOT_FREE, (i - 3).max(1));
        }
        let s = &self.steps[i as usize];
        b.dma_load(stationary_load(p, s, self.stationary_entry(i)));
        b.signal(EngineId::Dma, LOADED);
        if let Some(t) = self.table_at[i as usize].filter(|_| wb.requantises()) {
            load_table(b, cfg, p, &self.steps[(t * kbs) as usize]);
        }
    }

    /// PE's part of step `s`: the next step's stationary, the moving tile (waited for on the
    /// first block of columns), the multiply; the tile's last use frees its slot.
    fn pe(&self, b: &mut Builder, s: &Step, next: Option<&Step>) {
        let p = self.p;
        let [nbs, _, kbs] = p.blocks().map(u64::from);
        if let Some(n) = next {
            let (_, kt, nt) = p.sizes(n);
            b.wait(EngineId::Pe, LOADED, n.i + 1);
            b.load_stationary(self.stationary_entry(n.i), kt, nt);
        }
        let j = u64::from(s.mb) * kbs + u64::from(s.kb);
        if s.nb == 0 {
            b.wait(EngineId::Pe, MOVED, j + 1);
        }
        multiply(b, p, s, self.moving_entry(j));
        if u64::from(s.nb) + 1 == nbs {
            b.signal(EngineId::Pe, MV_FREE);
        }
    }

    fn program(&self, b: &mut Builder, cfg: &Config, wb: &WriteBack) {
        let p = self.p;
        let kbs = p.blocks()[2];
        self.dma(b, cfg, wb, 0);
        if wb.requantises() {
            load_table(b, cfg, p, &self.steps[0]);
        }
        let (_, kt, nt) = p.sizes(&self.steps[0]);
        b.wait(EngineId::Pe, LOADED, 1);
        b.load_stationary(self.stationary_entry(0), kt, nt);
        let mut last_tile = None;
        for (i, s) in self.steps.iter().enumerate() {
            let next = self.steps.get(i + 1);
            if next.is_some() {
                self.dma(b, cfg, wb, i as u64 + 1);
            }
            self.pe(b, s, next);
            end_of_tile(b, p, wb, s, &mut last_tile);
            // With one block of K the next tile's table follows this tile's ACTIVATE.
            let t = s.t + 1;
            if kbs == 1 && wb.requantises() && t < p.tile_count() && p.loads_table(t) {
                load_table(b, cfg, p, &self.steps[t as usize]);
            }
        }
        if let Some(prev) = last_tile {
            store_tile(b, p, wb, &prev);
        }
    }
}

/// Step index of moving tile `j`'s last use (block of columns `Nbs - 1`).
fn last_use(j: u64, nbs: u64, kbs: u64) -> u64 {
    let (mb, kb) = (j / kbs, j % kbs);
    mb * nbs * kbs + (nbs - 1) * kbs + kb
}
