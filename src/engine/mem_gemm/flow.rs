//! The panel schedule's program, for one product or a chain of two (`C1 = f1(A x W1)`, `C2 =
//! f2(C1 x W2)`, C1 never leaving the SBUF). Per block of `Mt` rows: the moving tiles of A
//! over the whole K stay in the moving slots (the *panel*) while every block of W1's columns
//! passes over them; in a chain, each output tile of layer 1 is written back by ACTIVATE
//! straight into a *hidden* slot, where it is exactly the moving tile of layer 2 for that block
//! of K (`SBUF[n'][H + m'] = C1[m0 + m'][n0 + n']`: partition = C1's column = layer 2's K
//! index, with `Nt1 = Kt2`), and every block of W2's columns passes over those. Only the last
//! layer's tiles go to the output slots and are stored.
//!
//! Order of everything: steps (stationary, moving) in the order `(mb, layer, nb, kb)`; output
//! tiles in the same order (global index `t`, PSUM banks round-robin on it); the DMA's part of
//! step `i + 1` (moving loads placed there, the stationary, a table, a piece of a store) before
//! the PE's part of step `i`, then the end of the tile (its ACTIVATE). A stored tile's store
//! goes in pieces into the next tile's steps ([`Placed::place_stores`]).

use crate::config::Config;
use crate::isa::EngineId;

use super::asm::Builder;
use super::instrs::{activate, store_rows, table_load, tile_load};
use super::plan::STATIONARY_SLOTS;
use super::{WriteBack, ACTED, LOADED, MOVED, MV_FREE, SLOT_FREE, STORED, TABLE, TILE_DONE};

/// One layer of a flow: `C_l = f_l(X_l x W_l)`, `X_1 = A`.
#[derive(Debug, Clone)]
pub(super) struct Layer<'a> {
    pub k: u32,
    pub n: u32,
    pub kt: u32,
    pub nt: u32,
    /// Byte address of W_l (K x N, blocked by `Nt` columns: `instrs::blocked`).
    pub w: u32,
    /// Byte address of the layer's table blocks (`2 * cols` words per block of `Nt` columns).
    pub table: u32,
    pub wb: &'a WriteBack,
}

impl Layer<'_> {
    fn kbs(&self) -> u32 {
        self.k.div_ceil(self.kt)
    }
    fn nbs(&self) -> u32 {
        self.n.div_ceil(self.nt)
    }
}

/// What the flow's program needs besides its layers.
#[derive(Debug, Clone)]
pub(super) struct Flow<'a> {
    pub m: u32,
    pub mt: u32,
    /// Byte address of A (M x K1, K-blocked: `instrs::blocked`) and of the last layer's C (M x
    /// N, row-major).
    pub a: u32,
    pub c: u32,
    pub layers: Vec<Layer<'a>>,
    /// Moving slots for A's tiles (`Kbs1 <= R <= 2 Kbs1`, at least 2).
    pub moving_slots: u32,
    /// The weights stay in the SBUF: one stationary slot per step of a block of rows, each
    /// loaded once (during the first block), instead of three slots loaded every step.
    pub resident: bool,
    pub banks: u32,
    /// Stationary slot size (entries): the largest `Kt` of the layers.
    pub kt_max: u32,
    /// SBUF entry of the hidden slots (`Kbs2 = Nbs1` of `Mt` entries; chains only).
    pub hidden: u32,
    pub out_slot: [u32; 2],
}

/// One step: layer `l`, output tile `t` = `(mb, nb)` of that layer, K block `kb`.
#[derive(Debug, Clone, Copy)]
struct Step {
    i: u64,
    t: u64,
    l: usize,
    mb: u32,
    nb: u32,
    kb: u32,
}

/// One output tile.
#[derive(Debug, Clone, Copy)]
struct Tile {
    l: usize,
    mb: u32,
    nb: u32,
    first: u64,
    /// Index among the stored tiles (the last layer's).
    stored: Option<u64>,
}

/// Rows `r0..r0 + rows` of stored tile `t` (the first piece waits for its ACTIVATE, the last
/// signals STORED).
#[derive(Debug, Clone, Copy)]
struct Piece {
    t: u64,
    r0: u32,
    rows: u32,
    first: bool,
    last: bool,
}

/// Pieces a tile's store is cut into at most (each a DMA_STORE placed in a step of its own).
const STORE_PIECES: u64 = 8;
/// Rows of a store piece at least (each DMA instruction costs a write latency at its end).
const STORE_PIECE_ROWS: u64 = 32;
/// Steps into the next tile before the first piece: the tile's ACTIVATE is done by then.
const STORE_START: u64 = 3;

/// The flow laid out: steps, tiles, where each moving load, table and store goes.
struct Placed<'f, 'a> {
    f: &'f Flow<'a>,
    steps: Vec<Step>,
    tiles: Vec<Tile>,
    /// Per step index, the moving tiles of A (index `j = mb Kbs1 + kb`) loaded in its DMA part.
    moves_at: Vec<Vec<u64>>,
    /// Per step index, the tile whose table the DMA loads in its part.
    table_at: Vec<Option<u64>>,
    /// Per step index, a piece of a stored tile the DMA stores in its part.
    store_at: Vec<Option<Piece>>,
    /// Per tile, a stored tile stored whole after this tile's ACTIVATE.
    store_after: Vec<Option<u64>>,
    /// Per tile: loads a table (it requantises, and its layer or block of columns differs
    /// from the tile before).
    loads_table: Vec<bool>,
    /// Per tile: tables loaded up to and including its own.
    tables_through: Vec<u64>,
}

impl Flow<'_> {
    fn mbs(&self) -> u32 {
        self.m.div_ceil(self.mt)
    }

    /// Steps of one block of rows (all layers).
    fn steps_per_block(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| u64::from(l.nbs()) * u64::from(l.kbs()))
            .sum()
    }

    /// Index of step `(mb, l, nb, kb)`.
    fn index(&self, mb: u32, l: usize, nb: u32, kb: u32) -> u64 {
        let before: u64 = self.layers[..l]
            .iter()
            .map(|x| u64::from(x.nbs()) * u64::from(x.kbs()))
            .sum();
        let kbs = u64::from(self.layers[l].kbs());
        u64::from(mb) * self.steps_per_block() + before + u64::from(nb) * kbs + u64::from(kb)
    }

    /// `(mt, kt, nt)` of step `s` (the last tiles of a dimension are smaller).
    fn sizes(&self, s: &Step) -> (u32, u32, u32) {
        let y = &self.layers[s.l];
        (
            self.mt.min(self.m - s.mb * self.mt),
            y.kt.min(y.k - s.kb * y.kt),
            y.nt.min(y.n - s.nb * y.nt),
        )
    }

    /// Stationary slots: three in rotation, or one per step of a block of rows (resident).
    pub(super) fn stationary_slots(&self) -> u32 {
        if self.resident {
            self.steps_per_block() as u32
        } else {
            STATIONARY_SLOTS
        }
    }

    /// Build and emit the program.
    pub(super) fn emit(&self, b: &mut Builder, cfg: &Config) {
        Placed::new(self).emit(b, cfg);
    }
}

impl<'f, 'a> Placed<'f, 'a> {
    fn new(f: &'f Flow<'a>) -> Placed<'f, 'a> {
        let (mut steps, mut tiles) = (vec![], vec![]);
        let last = f.layers.len() - 1;
        let mut stored = 0;
        for mb in 0..f.mbs() {
            for (l, y) in f.layers.iter().enumerate() {
                for nb in 0..y.nbs() {
                    let t = tiles.len() as u64;
                    tiles.push(Tile {
                        l,
                        mb,
                        nb,
                        first: steps.len() as u64,
                        stored: (l == last).then(|| {
                            stored += 1;
                            stored - 1
                        }),
                    });
                    for kb in 0..y.kbs() {
                        let i = steps.len() as u64;
                        steps.push(Step {
                            i,
                            t,
                            l,
                            mb,
                            nb,
                            kb,
                        });
                    }
                }
            }
        }
        let mut loads_table = vec![];
        let mut tables_through = vec![];
        let mut count = 0;
        for (t, x) in tiles.iter().enumerate() {
            let new = (t == 0 || (tiles[t - 1].l, tiles[t - 1].nb) != (x.l, x.nb))
                && f.layers[x.l].wb.requantises();
            count += u64::from(new);
            loads_table.push(new);
            tables_through.push(count);
        }
        let mut p = Placed {
            f,
            moves_at: vec![vec![]; steps.len()],
            table_at: vec![None; steps.len()],
            store_at: vec![None; steps.len()],
            store_after: vec![None; tiles.len()],
            steps,
            tiles,
            loads_table,
            tables_through,
        };
        p.place_moves();
        p.place_tables();
        p.place_stores();
        p
    }

    /// A stored tile's store goes in pieces into the steps of the tile after it, from its
    /// fourth step on (a store is one DMA instruction per piece: a whole tile's, `Mt` rows at
    /// about two cycles a row, would keep the DMA's FIFO full, and the in-order dispatcher
    /// then holds back the PE's next instructions); when that tile has too few steps, whole
    /// after that tile's ACTIVATE; the last tile's at the end.
    fn place_stores(&mut self) {
        for t in 0..self.tiles.len() {
            let Some(next) = self.tiles.get(t + 1).copied() else {
                continue;
            };
            if self.tiles[t].stored.is_none() {
                continue;
            }
            let kbs = u64::from(self.f.layers[next.l].kbs());
            if kbs <= STORE_START {
                self.store_after[t + 1] = Some(t as u64);
                continue;
            }
            let (mt, _, _) = self.f.sizes(&self.steps[self.tiles[t].first as usize]);
            let pieces = (u64::from(mt) / STORE_PIECE_ROWS)
                .clamp(1, (kbs - STORE_START).min(STORE_PIECES)) as u32;
            let per = mt.div_ceil(pieces);
            let count = mt.div_ceil(per);
            for j in 0..count {
                let at = next.first + STORE_START + u64::from(j);
                self.store_at[at as usize] = Some(Piece {
                    t: t as u64,
                    r0: j * per,
                    rows: per.min(mt - j * per),
                    first: j == 0,
                    last: j + 1 == count,
                });
            }
        }
    }

    /// A's tile `j = (mb, kb)` is needed by step `(mb, 0, 0, kb)`; for `mb >= 1` it loads
    /// spread over the previous block's steps after its first pass, and at least two steps
    /// after the last use of the tile its slot held (so the DMA's WAIT never sits in front of
    /// the PE's SIGNAL it needs). In order of `j` (MOVED counts them).
    fn place_moves(&mut self) {
        let f = self.f;
        let y = &f.layers[0];
        let (kbs, nbs) = (u64::from(y.kbs()), y.nbs());
        let r = u64::from(f.moving_slots);
        let per_block = f.steps_per_block();
        let last_use = |j: u64| f.index((j / kbs) as u32, 0, nbs - 1, (j % kbs) as u32);
        let mut prev = 0;
        for j in 0..u64::from(f.mbs()) * kbs {
            let (mb, kb) = ((j / kbs) as u32, (j % kbs) as u32);
            let deadline = f.index(mb, 0, 0, kb);
            let mut pos = if mb == 0 {
                deadline
            } else {
                let base = f.index(mb - 1, 0, 0, 0);
                let spread = base + kbs + u64::from(kb) * (per_block - kbs) / kbs;
                let free = if j >= r { last_use(j - r) + 2 } else { 0 };
                spread.max(free)
            };
            pos = pos.max(prev).min(deadline);
            prev = pos;
            self.moves_at[pos as usize].push(j);
        }
    }

    /// A tile's table half way through the tile (the previous tile's ACTIVATE, which the DMA
    /// waits for, is then long done; at least one step in, so that WAIT never sits in front of
    /// the PE's SIGNAL it needs); tiles of one K block load theirs after the previous tile's
    /// ACTIVATE instead (in [`Placed::end_of_tile`]).
    fn place_tables(&mut self) {
        for (t, x) in self.tiles.iter().enumerate().skip(1) {
            let kbs = u64::from(self.f.layers[x.l].kbs());
            if self.loads_table[t] && kbs >= 2 {
                self.table_at[(x.first + (kbs / 2).max(1)) as usize] = Some(t as u64);
            }
        }
    }

    fn stationary_entry(&self, i: u64) -> u32 {
        (i % u64::from(self.f.stationary_slots())) as u32 * self.f.kt_max
    }

    /// Moving entry of step `s`: A's slot (layer 0) or the hidden slot of its K block.
    fn moving_entry(&self, s: &Step) -> u32 {
        let f = self.f;
        if s.l == 0 {
            let j = u64::from(s.mb) * u64::from(f.layers[0].kbs()) + u64::from(s.kb);
            f.stationary_slots() * f.kt_max + (j % u64::from(f.moving_slots)) as u32 * f.mt
        } else {
            f.hidden + s.kb * f.mt
        }
    }

    fn table(&self, b: &mut Builder, cfg: &Config, t: u64) {
        let x = &self.tiles[t as usize];
        if !self.loads_table[t as usize] {
            return;
        }
        if t > 0 {
            b.wait(EngineId::Dma, ACTED, t);
        }
        let words = 2 * cfg.cols;
        b.dma_load(table_load(
            self.f.layers[x.l].table + x.nb * 4 * words,
            words,
        ));
        b.signal(EngineId::Dma, TABLE);
    }

    /// DMA's part of step `i`: A's tiles placed there, the stationary, a table.
    fn dma(&self, b: &mut Builder, cfg: &Config, i: u64) {
        let f = self.f;
        let y = &f.layers[0];
        let kbs = u64::from(y.kbs());
        let r = u64::from(f.moving_slots);
        for &j in &self.moves_at[i as usize] {
            if j >= r {
                b.wait(EngineId::Dma, MV_FREE, j - r + 1);
            }
            let s = &self.steps[f.index((j / kbs) as u32, 0, 0, (j % kbs) as u32) as usize];
            let (mt, _, _) = f.sizes(s);
            let tile = [s.mb * f.mt, mt, s.kb];
            let load = tile_load(f.a, [f.m, y.k, y.kt], tile, self.moving_entry(s));
            b.dma_load(load);
            b.signal(EngineId::Dma, MOVED);
        }
        if self.loads_stationary(i) {
            self.stationary(b, i);
        } else if i >= u64::from(STATIONARY_SLOTS) {
            // Resident weights: the DMA still keeps pace with the PE (at most three steps
            // ahead), as the stationary loads do in rotation. Without it the DMA runs ahead to
            // a WAIT for a write-back (a table, a store), fills its FIFO, and the in-order
            // dispatcher then holds back the PE's instructions behind it.
            b.wait(EngineId::Dma, SLOT_FREE, i - 3);
        }
        if let Some(t) = self.table_at[i as usize] {
            self.table(b, cfg, t);
        }
        if let Some(p) = &self.store_at[i as usize] {
            self.store(b, p);
        }
    }

    /// Whether the DMA loads step `i`'s stationary: every step, or (resident) the first block's.
    fn loads_stationary(&self, i: u64) -> bool {
        !self.f.resident || i < self.f.steps_per_block()
    }

    /// DMA: step `i`'s stationary into its slot, LOADED. In rotation, step `i - 3`'s stationary
    /// was streamed into the array before step `i - 4`'s SIGNAL SLOT_FREE (step 0's before step
    /// 0's); resident slots are never reused.
    fn stationary(&self, b: &mut Builder, i: u64) {
        let f = self.f;
        if !f.resident && i >= u64::from(STATIONARY_SLOTS) {
            b.wait(EngineId::Dma, SLOT_FREE, (i - 3).max(1));
        }
        let s = &self.steps[i as usize];
        let w = &f.layers[s.l];
        let (_, kt, _) = f.sizes(s);
        let tile = [s.kb * w.kt, kt, s.nb];
        let load = tile_load(w.w, [w.k, w.n, w.nt], tile, self.stationary_entry(i));
        b.dma_load(load);
        b.signal(EngineId::Dma, LOADED);
    }

    /// PE's part of step `s`: the next step's stationary; the moving tile waited for on the
    /// first block of columns (A's: its DMA_LOAD; a hidden one: layer 1's ACTIVATE of it);
    /// the multiply; A's tile's last use frees its slot.
    fn pe(&self, b: &mut Builder, s: &Step, next: Option<&Step>) {
        let f = self.f;
        if let Some(n) = next {
            let (_, kt, nt) = f.sizes(n);
            if self.loads_stationary(n.i) {
                b.wait(EngineId::Pe, LOADED, n.i + 1);
            }
            b.load_stationary(self.stationary_entry(n.i), kt, nt);
        }
        let banks = u64::from(f.banks);
        if s.kb == 0 && s.t >= banks {
            b.wait(EngineId::Pe, ACTED, s.t - banks + 1);
        }
        if s.nb == 0 && s.l == 0 {
            let j = u64::from(s.mb) * u64::from(f.layers[0].kbs()) + u64::from(s.kb);
            b.wait(EngineId::Pe, MOVED, j + 1);
        } else if s.nb == 0 {
            let source = self.steps[f.index(s.mb, s.l - 1, s.kb, 0) as usize].t;
            b.wait(EngineId::Pe, ACTED, source + 1);
        }
        let (mt, kt, _) = f.sizes(s);
        let bank = (s.t % banks) as u32;
        b.multiply(self.moving_entry(s), kt, mt, bank, 0, s.kb > 0, true);
        b.signal(EngineId::Pe, SLOT_FREE);
        if s.l == 0 && s.nb + 1 == f.layers[0].nbs() {
            b.signal(EngineId::Pe, MV_FREE);
        }
    }

    /// ACT: write back tile `t` into a hidden slot (inner layers; once the previous block's
    /// last use of that slot is done) or an output slot (the last layer; once the tile two
    /// before is stored).
    fn act(&self, b: &mut Builder, t: u64) {
        let f = self.f;
        let x = &self.tiles[t as usize];
        let y = &f.layers[x.l];
        if y.wb.requantises() && self.loads_table[t as usize] {
            b.wait(EngineId::Act, TABLE, self.tables_through[t as usize]);
        }
        b.wait(EngineId::Act, TILE_DONE, t + 1);
        let entry = match x.stored {
            Some(k) => {
                if k >= 2 {
                    b.wait(EngineId::Act, STORED, k - 1);
                }
                f.out_slot[(k % 2) as usize]
            }
            None => {
                if x.mb > 0 {
                    let next = &f.layers[x.l + 1];
                    let last = f.index(x.mb - 1, x.l + 1, next.nbs() - 1, x.nb);
                    b.wait(EngineId::Act, SLOT_FREE, last + 1);
                }
                f.hidden + x.nb * f.mt
            }
        };
        let s = &self.steps[x.first as usize];
        let (mt, _, nt) = f.sizes(s);
        b.activate(activate(
            y.wb,
            (t % u64::from(f.banks)) as u32,
            mt,
            nt,
            entry,
        ));
        b.signal(EngineId::Act, ACTED);
    }

    /// DMA: store rows `r0..r0 + rows` of tile `p.t` (the last layer's), waiting for its
    /// ACTIVATE before the first piece, signalling STORED after the last.
    fn store(&self, b: &mut Builder, p: &Piece) {
        let f = self.f;
        let x = &self.tiles[p.t as usize];
        let y = &f.layers[x.l];
        if p.first {
            b.wait(EngineId::Dma, ACTED, p.t + 1);
        }
        let (_, _, nt) = f.sizes(&self.steps[x.first as usize]);
        let k = x.stored.expect("a stored tile");
        let (m0, n0) = (x.mb * f.mt + p.r0, x.nb * y.nt);
        let entry = f.out_slot[(k % 2) as usize] + p.r0 * y.wb.out.bytes();
        store_rows(b, f.c, y.n, y.wb, [m0, n0, p.rows, nt], entry);
        if p.last {
            b.signal(EngineId::Dma, STORED);
        }
    }

    /// The whole of stored tile `t`, as one piece.
    fn store_whole(&self, b: &mut Builder, t: u64) {
        let x = &self.tiles[t as usize];
        let (mt, _, _) = self.f.sizes(&self.steps[x.first as usize]);
        let whole = Piece {
            t,
            r0: 0,
            rows: mt,
            first: true,
            last: true,
        };
        self.store(b, &whole);
    }

    /// After a tile's last step: TILE_DONE, its ACTIVATE, a store placed after it, and (one K
    /// block) the next tile's table.
    fn end_of_tile(&self, b: &mut Builder, cfg: &Config, s: &Step) {
        let f = self.f;
        if s.kb + 1 != f.layers[s.l].kbs() {
            return;
        }
        b.signal(EngineId::Pe, TILE_DONE);
        self.act(b, s.t);
        if let Some(t) = self.store_after[s.t as usize] {
            self.store_whole(b, t);
        }
        let t = s.t + 1;
        if let Some(x) = self.tiles.get(t as usize) {
            if f.layers[x.l].kbs() == 1 && self.loads_table[t as usize] {
                self.table(b, cfg, t);
            }
        }
    }

    fn emit(&self, b: &mut Builder, cfg: &Config) {
        self.dma(b, cfg, 0);
        self.table(b, cfg, 0);
        let (_, kt, nt) = self.f.sizes(&self.steps[0]);
        b.wait(EngineId::Pe, LOADED, 1);
        b.load_stationary(self.stationary_entry(0), kt, nt);
        for (i, s) in self.steps.iter().enumerate() {
            let next = self.steps.get(i + 1);
            if next.is_some() {
                self.dma(b, cfg, i as u64 + 1);
            }
            self.pe(b, s, next);
            self.end_of_tile(b, cfg, s);
        }
        let last = self.tiles.len() as u64 - 1;
        if self.tiles[last as usize].stored.is_some() {
            self.store_whole(b, last);
        }
    }
}
