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
use crate::isa::{Dma, EngineId};

use super::asm::{Builder, Program};
use super::flow::{Flow, Layer};
use super::instrs::{self, activate, store_rows, table_load};
use super::plan::{Plan, Schedule, Step};
use super::{MemGemmError, WriteBack, ACTED, LOADED, SLOT_FREE, STORED, TABLE, TILE_DONE};

/// Build and check the program of `plan` (to be fetched from `plan.layout.program`).
pub fn program(cfg: &Config, p: &Plan, wb: &WriteBack) -> Result<Program, MemGemmError> {
    let mut b = Builder::new(cfg);
    b.fetched_from(p.layout.program);
    match p.schedule {
        Schedule::Stream => stream(&mut b, cfg, p, wb),
        Schedule::Panel => Flow::single(p, wb).emit(&mut b, cfg),
    }
    Ok(b.finish()?)
}

/// The stationary of step `s`: a tile of B, one row of B per SBUF entry.
fn stationary_load(p: &Plan, s: &Step, entry: u32) -> Dma {
    let (_, kt, _) = p.sizes(s);
    let t = &p.tiles;
    let tile = [s.kb * t.kt, kt, s.nb];
    instrs::tile_load(p.layout.b, [p.k, p.n, t.nt], tile, entry)
}

/// The moving of step `s`: a tile of `A^T`, one row of A per SBUF entry.
fn moving_load(p: &Plan, s: &Step, entry: u32) -> Dma {
    let (mt, _, _) = p.sizes(s);
    let t = &p.tiles;
    let tile = [s.mb * t.mt, mt, s.kb];
    instrs::tile_load(p.layout.a, [p.m, p.k, t.kt], tile, entry)
}

/// DMA: (wait for every earlier tile's write-back) load the table of output tile `s.t`.
fn load_table(b: &mut Builder, cfg: &Config, p: &Plan, s: &Step) {
    if s.t > 0 {
        b.wait(EngineId::Dma, ACTED, s.t);
    }
    let words = 2 * cfg.cols;
    b.dma_load(table_load(p.layout.table + s.nb * 4 * words, words));
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
    let bank = (s.t % u64::from(p.banks)) as u32;
    b.activate(activate(wb, bank, mt, nt, p.out_slot[(s.t % 2) as usize]));
    b.signal(EngineId::Act, ACTED);
}

/// DMA: store output tile `s.t` (its last step `s`) to C once it is written back.
fn store_tile(b: &mut Builder, p: &Plan, wb: &WriteBack, s: &Step) {
    b.wait(EngineId::Dma, ACTED, s.t + 1);
    let (mt, _, nt) = p.sizes(s);
    let (m0, n0) = (s.mb * p.tiles.mt, s.nb * p.tiles.nt);
    let entry = p.out_slot[(s.t % 2) as usize];
    store_rows(b, p.layout.c, p.n, wb, [m0, n0, mt, nt], entry);
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

impl<'a> Flow<'a> {
    /// The panel schedule of one product.
    fn single(p: &Plan, wb: &'a WriteBack) -> Flow<'a> {
        let t = &p.tiles;
        Flow {
            m: p.m,
            mt: t.mt,
            a: p.layout.a,
            c: p.layout.c,
            layers: vec![Layer {
                k: p.k,
                n: p.n,
                kt: t.kt,
                nt: t.nt,
                w: p.layout.b,
                table: p.layout.table,
                wb,
            }],
            moving_slots: p.moving_slots,
            resident: p.resident,
            banks: p.banks,
            kt_max: t.kt,
            hidden: 0,
            out_slot: p.out_slot,
        }
    }
}
