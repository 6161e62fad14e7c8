//! The command stream of the engine (exactly what the RTL receives) and a deterministic random
//! program generator.
//!
//! # Commands
//!
//! * [`Command::LoadStationary`]: one stationary row per beat, `K` beats with `1 <= K <= rows`;
//!   every row has exactly `cols` values. Array rows `K..rows` are zero-padded by the hardware.
//!   The loaded stationary goes into a shadow register and becomes active only when a
//!   `MultiplyMoving` with `swap` consumes it. Loading a second stationary before the first one
//!   was consumed by a swap is an error (the hardware would block forever).
//! * [`Command::MultiplyMoving`]: `N = moving.len() >= 1` beats; beat `n` is moving column `n`
//!   with exactly `rows` values (element `r` = `moving[r][n]`); the hardware masks elements
//!   `r >= k` to zero. It computes, for every column `c < m`,
//!   `psum[bank][offset + n][c] = (accumulate ? old : 0) + sum_r stationary[r][c] * moving[r][n]`
//!   and writes PSUM columns `0..m` only. With `swap`, the most recently loaded stationary becomes
//!   active starting with this instruction.
//! * [`Command::ReadPsum`]: returns one PSUM address across all `cols` columns.
//!
//! The full rule set (ranges, lengths, stationary hand-over, accumulation into written entries
//! only) is enforced by [`crate::golden::CoreModel`].
//!
//! # Random programs
//!
//! [`random_program`] draws a valid program from a [`SplitMix64`] stream (no `rand` crate: the
//! same seed gives the same program on every machine). It tracks the engine state while
//! generating, so it never accumulates into unwritten entries, never swaps without a loaded
//! stationary and never loads over a pending one. [`Program::back_to_back`] is the fixed program
//! of the performance benchmark.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::format::FpFormat;

/// One command of the engine's command stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// One stationary row per beat (K beats, 1 <= K <= rows); each row has exactly `cols` values
    /// (columns >= the stationary's M are zero). Rows K..rows of the array are zero-padded by
    /// hardware.
    LoadStationary { rows: Vec<Vec<i64>> },
    /// N >= 1 beats; beat n is moving column n with exactly `rows` values (element r =
    /// `moving[r][n]` of the mathematical matrix, i.e. the field is beat-major:
    /// `self.moving[n][r]`); hardware masks elements r >= k to zero. Writes PSUM columns 0..m only.
    /// If `swap`, the most recently loaded stationary becomes active starting with this
    /// instruction.
    MultiplyMoving {
        k: u32,
        m: u32,
        bank: u32,
        offset: u32,
        accumulate: bool,
        swap: bool,
        moving: Vec<Vec<i64>>,
    },
    /// Returns one PSUM address across all `cols` columns.
    ReadPsum { bank: u32, addr: u32 },
}

impl Command {
    /// The command's name, as used in error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::LoadStationary { .. } => "LoadStationary",
            Command::MultiplyMoving { .. } => "MultiplyMoving",
            Command::ReadPsum { .. } => "ReadPsum",
        }
    }
}

/// A command stream, in program order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub commands: Vec<Command>,
}

/// Counts of a program's commands and beats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgramStats {
    pub loads: usize,
    pub load_beats: usize,
    pub matmuls: usize,
    pub moving_beats: usize,
    pub reads: usize,
}

impl Program {
    pub fn new(commands: Vec<Command>) -> Program {
        Program { commands }
    }

    pub fn stats(&self) -> ProgramStats {
        let mut s = ProgramStats::default();
        for c in &self.commands {
            match c {
                Command::LoadStationary { rows } => {
                    s.loads += 1;
                    s.load_beats += rows.len();
                }
                Command::MultiplyMoving { moving, .. } => {
                    s.matmuls += 1;
                    s.moving_beats += moving.len();
                }
                Command::ReadPsum { .. } => s.reads += 1,
            }
        }
        s
    }

    /// The performance benchmark's program: `t` MultiplyMoving instructions of `n` beats, each
    /// with a new full stationary (K = rows, M = cols, loaded just before it and swapped in by
    /// it), writing bank `i % psum_banks` at offset 0 without accumulation, then reads of up to
    /// three distinct addresses (0, n/2, n-1) of the last instruction's bank.
    ///
    /// With `n >= rows` the stall-free run takes exactly
    /// [`crate::golden::timing::back_to_back_cycles`] cycles.
    ///
    /// # Panics
    /// If `n` is not in `1..=psum_depth`.
    pub fn back_to_back(cfg: &Config, t: usize, n: u32, rng: &mut SplitMix64) -> Program {
        assert!(
            (1..=cfg.psum_depth).contains(&n),
            "back_to_back: n = {n} must be in 1..={}",
            cfg.psum_depth
        );
        let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
        let mut commands = Vec::with_capacity(2 * t + 3);
        for i in 0..t {
            let rows = (0..cfg.rows)
                .map(|_| (0..cfg.cols).map(|_| rng.range_i64(lo, hi)).collect())
                .collect();
            commands.push(Command::LoadStationary { rows });
            let moving = (0..n)
                .map(|_| (0..cfg.rows).map(|_| rng.range_i64(lo, hi)).collect())
                .collect();
            commands.push(Command::MultiplyMoving {
                k: cfg.rows,
                m: cfg.cols,
                bank: (i as u64 % u64::from(cfg.psum_banks)) as u32,
                offset: 0,
                accumulate: false,
                swap: true,
                moving,
            });
        }
        if t > 0 {
            let bank = ((t - 1) as u64 % u64::from(cfg.psum_banks)) as u32;
            let mut addrs = vec![0, n / 2, n - 1];
            addrs.dedup();
            for addr in addrs {
                commands.push(Command::ReadPsum { bank, addr });
            }
        }
        Program { commands }
    }
}

fn write_matrix(f: &mut fmt::Formatter<'_>, m: &[Vec<i64>]) -> fmt::Result {
    write!(f, "[")?;
    for (i, row) in m.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{row:?}")?;
    }
    write!(f, "]")
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::LoadStationary { rows } => {
                write!(f, "LoadStationary K={} rows=", rows.len())?;
                write_matrix(f, rows)
            }
            Command::MultiplyMoving {
                k,
                m,
                bank,
                offset,
                accumulate,
                swap,
                moving,
            } => {
                write!(
                    f,
                    "MultiplyMoving k={k} m={m} N={} bank={bank} offset={offset} acc={} swap={} beats=",
                    moving.len(),
                    u8::from(*accumulate),
                    u8::from(*swap)
                )?;
                write_matrix(f, moving)
            }
            Command::ReadPsum { bank, addr } => write!(f, "ReadPsum bank={bank} addr={addr}"),
        }
    }
}

/// One command per line, numbered by program index.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.commands.iter().enumerate() {
            writeln!(f, "{i:4}: {c}")?;
        }
        Ok(())
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014; Vigna's reference constants): a tiny deterministic
/// 64-bit generator, good enough for test stimulus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by the multiply-high method.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range_u32(&mut self, lo: u32, hi: u32) -> u32 {
        assert!(lo <= hi, "SplitMix64::range_u32({lo}, {hi})");
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// Uniform in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "SplitMix64::range_i64({lo}, {hi})");
        let span = hi.wrapping_sub(lo) as u64;
        if span == u64::MAX {
            return self.next_u64() as i64;
        }
        lo.wrapping_add(self.below(span + 1) as i64)
    }

    /// `true` with probability `p` (clamped to 0..=1).
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Knobs of [`random_program`]. Probabilities are in `0.0..=1.0`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    /// Number of MultiplyMoving instructions (loads and reads come on top).
    pub matmuls: usize,
    /// Largest N drawn (clamped to `psum_depth`; `u32::MAX` means up to `psum_depth`).
    pub max_n: u32,
    /// Probability that an input value is an extreme (min, max, 0, +-1) instead of uniform.
    pub p_extreme: f64,
    /// Probability that K, M, N, offsets are drawn at their edges (1 or the maximum).
    pub p_edge: f64,
    /// Probability that an instruction swaps in a new stationary.
    pub p_new_stationary: f64,
    /// Probability that the next stationary is loaded early, while later instructions still
    /// use the active one (exercises the shadow register).
    pub p_preload: f64,
    /// Probability that an instruction's k or m differs from the loaded stationary's K or M.
    pub p_mismatch: f64,
    /// Probability that a single instruction accumulates into an already written region.
    pub p_accumulate: f64,
    /// Probability of starting a chain of one writing and >= 4 accumulating instructions into
    /// the same bank/offset.
    pub p_chain: f64,
    /// Probability of a few reads after an instruction.
    pub p_read: f64,
    /// Probability that a read goes to an arbitrary (possibly never written) address.
    pub p_read_anywhere: f64,
    /// Probability that a moving beat carries non-zero garbage in the elements `r >= k` that
    /// the hardware must mask.
    pub p_garbage: f64,
    /// Reads at the end of the program: distinct recently written addresses, at most this many.
    pub final_reads: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            matmuls: 20,
            max_n: u32::MAX,
            p_extreme: 0.2,
            p_edge: 0.25,
            p_new_stationary: 0.5,
            p_preload: 0.3,
            p_mismatch: 0.2,
            p_accumulate: 0.4,
            p_chain: 0.15,
            p_read: 0.3,
            p_read_anywhere: 0.05,
            p_garbage: 0.3,
            final_reads: 16,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    k: u32,
    m: u32,
}

#[derive(Debug, Clone, Copy)]
struct Region {
    bank: u32,
    offset: u32,
    n: u32,
}

const KEEP_REGIONS: usize = 32;

/// A random input of a floating-point format, as its bit pattern: with probability `p_special`
/// one of the format's finite special values (signed zeros, smallest and largest subnormal,
/// smallest normal, largest finite, one), with probability `p_special / 10` an infinity or NaN
/// (rarer, since one poisons a whole column sum); otherwise a random sign and fraction with an
/// exponent within 6 binades of 1, so that column sums keep many significant bits and most of
/// the additions round.
pub fn float_value(f: FpFormat, rng: &mut SplitMix64, p_special: f64) -> u16 {
    let man = f.man_bits();
    let sign = if rng.chance(0.5) { f.sign_bit() } else { 0 };
    if rng.chance(p_special / 10.0) {
        let mut choices = vec![f.canonical_nan_bits()];
        choices.extend(f.pos_inf_bits());
        return sign | *rng.choose(&choices);
    }
    if rng.chance(p_special) {
        let one = (f.bias() as u16) << man;
        let choices = [
            0,
            1,
            (1u16 << man) - 1,
            1u16 << man,
            f.max_finite_bits(),
            one,
        ];
        return sign | *rng.choose(&choices);
    }
    let bias = i64::from(f.bias());
    let e = rng.range_i64(bias - 6, bias + 6) as u16;
    let frac = rng.below(1u64 << man) as u16;
    sign | (e << man) | frac
}

struct Gen<'a> {
    cfg: &'a Config,
    rng: &'a mut SplitMix64,
    opts: &'a GenOptions,
    commands: Vec<Command>,
    active: Option<Shape>,
    pending: Option<Shape>,
    /// Written prefix width of every PSUM address (`bank * depth + addr`): columns `0..width`
    /// have been written (MultiplyMoving writes a column prefix, so the union is a prefix).
    width: Vec<u32>,
    regions: Vec<Region>,
    matmuls: usize,
}

impl Gen<'_> {
    fn value(&mut self) -> i64 {
        let f = self.cfg.format;
        if let Some(fp) = f.float() {
            return i64::from(float_value(fp, self.rng, self.opts.p_extreme));
        }
        if self.rng.chance(self.opts.p_extreme) {
            let one = if f.is_signed() && self.rng.chance(0.5) {
                -1
            } else {
                1
            };
            *self.rng.choose(&[f.min_value(), f.max_value(), 0, one])
        } else {
            self.rng.range_i64(f.min_value(), f.max_value())
        }
    }

    /// A size in `1..=max`, at an edge with probability `p_edge`.
    fn dim(&mut self, max: u32) -> u32 {
        if self.rng.chance(self.opts.p_edge) {
            if self.rng.chance(0.5) {
                1
            } else {
                max
            }
        } else {
            self.rng.range_u32(1, max)
        }
    }

    fn max_n(&self) -> u32 {
        self.opts.max_n.clamp(1, self.cfg.psum_depth)
    }

    fn offset_for(&mut self, n: u32) -> u32 {
        let last = self.cfg.psum_depth - n;
        if self.rng.chance(self.opts.p_edge) {
            if self.rng.chance(0.5) {
                0
            } else {
                last
            }
        } else {
            self.rng.range_u32(0, last)
        }
    }

    fn load(&mut self) {
        debug_assert!(self.pending.is_none());
        let k = self.dim(self.cfg.rows);
        let m = self.dim(self.cfg.cols);
        let mut rows = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let mut row = Vec::with_capacity(self.cfg.cols as usize);
            for c in 0..self.cfg.cols {
                row.push(if c < m { self.value() } else { 0 });
            }
            rows.push(row);
        }
        self.commands.push(Command::LoadStationary { rows });
        self.pending = Some(Shape { k, m });
    }

    /// Decide whether the next instruction swaps; loads a stationary if it must. Returns the
    /// swap flag and the shape of the stationary the instruction will use.
    fn stationary(&mut self, want_new: bool) -> (bool, Shape) {
        match self.active {
            Some(active) if !want_new => (false, active),
            _ => {
                if self.pending.is_none() {
                    self.load();
                }
                (true, self.pending.expect("just loaded"))
            }
        }
    }

    /// k and m for an instruction using a stationary of `shape`.
    fn km(&mut self, shape: Shape) -> (u32, u32) {
        let k = if self.rng.chance(self.opts.p_mismatch) {
            self.dim(self.cfg.rows)
        } else {
            shape.k
        };
        let m = if self.rng.chance(self.opts.p_mismatch) {
            self.dim(self.cfg.cols)
        } else {
            shape.m
        };
        (k, m)
    }

    fn min_width(&self, bank: u32, offset: u32, n: u32) -> u32 {
        let base = (bank * self.cfg.psum_depth + offset) as usize;
        self.width[base..base + n as usize]
            .iter()
            .copied()
            .min()
            .unwrap_or(0)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        k: u32,
        m: u32,
        bank: u32,
        offset: u32,
        n: u32,
        accumulate: bool,
        swap: bool,
    ) {
        let mut moving = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let garbage = self.rng.chance(self.opts.p_garbage);
            let mut beat = Vec::with_capacity(self.cfg.rows as usize);
            for r in 0..self.cfg.rows {
                beat.push(if r < k || garbage { self.value() } else { 0 });
            }
            moving.push(beat);
        }
        self.commands.push(Command::MultiplyMoving {
            k,
            m,
            bank,
            offset,
            accumulate,
            swap,
            moving,
        });
        if swap {
            self.active = self.pending.take();
        }
        let base = (bank * self.cfg.psum_depth + offset) as usize;
        for w in &mut self.width[base..base + n as usize] {
            *w = (*w).max(m);
        }
        self.regions.push(Region { bank, offset, n });
        if self.regions.len() > KEEP_REGIONS {
            self.regions.remove(0);
        }
        self.matmuls += 1;
        if self.active.is_some() && self.pending.is_none() && self.rng.chance(self.opts.p_preload) {
            self.load();
        }
        if self.rng.chance(self.opts.p_read) {
            self.reads();
        }
    }

    fn read_one(&mut self) {
        if self.regions.is_empty() || self.rng.chance(self.opts.p_read_anywhere) {
            let bank = self.rng.range_u32(0, self.cfg.psum_banks - 1);
            let addr = self.rng.range_u32(0, self.cfg.psum_depth - 1);
            self.commands.push(Command::ReadPsum { bank, addr });
        } else {
            let r = *self.rng.choose(&self.regions);
            let addr = r.offset + self.rng.range_u32(0, r.n - 1);
            self.commands.push(Command::ReadPsum { bank: r.bank, addr });
        }
    }

    fn reads(&mut self) {
        for _ in 0..self.rng.range_u32(1, 3) {
            self.read_one();
        }
    }

    /// A fresh (non-accumulating) write to a random region.
    fn fresh(&mut self, swap: bool, k: u32, m: u32) -> Region {
        let bank = self.rng.range_u32(0, self.cfg.psum_banks - 1);
        let n = self.dim(self.max_n());
        let offset = self.offset_for(n);
        self.emit(k, m, bank, offset, n, false, swap);
        Region { bank, offset, n }
    }

    fn single(&mut self) {
        let want_new = self.rng.chance(self.opts.p_new_stationary);
        let (swap, shape) = self.stationary(want_new);
        let (k, m) = self.km(shape);
        if !self.regions.is_empty() && self.rng.chance(self.opts.p_accumulate) {
            let r = *self.rng.choose(&self.regions);
            let n = self.dim(r.n.min(self.max_n()));
            let offset = r.offset + self.rng.range_u32(0, r.n - n);
            let m = m.min(self.min_width(r.bank, offset, n));
            self.emit(k, m, r.bank, offset, n, true, swap);
        } else {
            self.fresh(swap, k, m);
        }
    }

    /// One writing instruction followed by `len - 1 >= 4` accumulating into the same region.
    fn chain(&mut self, len: usize) {
        let want_new = self.rng.chance(self.opts.p_new_stationary);
        let (swap, shape) = self.stationary(want_new);
        let (k, m) = self.km(shape);
        let region = self.fresh(swap, k, m);
        for _ in 1..len {
            let want_new = self.rng.chance(self.opts.p_new_stationary);
            let (swap, shape) = self.stationary(want_new);
            let k = if self.rng.chance(self.opts.p_mismatch) {
                self.dim(self.cfg.rows)
            } else {
                shape.k
            };
            let width = self.min_width(region.bank, region.offset, region.n);
            let m = if self.rng.chance(self.opts.p_mismatch) {
                self.dim(width)
            } else {
                m
            };
            self.emit(k, m, region.bank, region.offset, region.n, true, swap);
        }
        let last = region.offset + region.n - 1;
        self.commands.push(Command::ReadPsum {
            bank: region.bank,
            addr: region.offset,
        });
        if last != region.offset {
            self.commands.push(Command::ReadPsum {
                bank: region.bank,
                addr: last,
            });
        }
    }

    fn final_reads(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let regions: Vec<Region> = self.regions.iter().rev().copied().collect();
        'outer: for r in regions {
            for addr in r.offset..r.offset + r.n {
                if seen.len() >= self.opts.final_reads {
                    break 'outer;
                }
                if seen.insert((r.bank, addr)) {
                    self.commands.push(Command::ReadPsum { bank: r.bank, addr });
                }
            }
        }
    }
}

/// A random program that is valid under the engine rules for `cfg` (see the module docs).
/// Deterministic in the state of `rng`.
pub fn random_program(cfg: &Config, rng: &mut SplitMix64, opts: &GenOptions) -> Program {
    let mut g = Gen {
        cfg,
        rng,
        opts,
        commands: Vec::new(),
        active: None,
        pending: None,
        width: vec![0; (cfg.psum_banks * cfg.psum_depth) as usize],
        regions: Vec::new(),
        matmuls: 0,
    };
    while g.matmuls < opts.matmuls {
        let left = opts.matmuls - g.matmuls;
        if left >= 5 && g.rng.chance(opts.p_chain) {
            let len = 5 + g.rng.below(4) as usize;
            g.chain(len.min(left));
        } else {
            g.single();
        }
    }
    g.final_reads();
    Program {
        commands: g.commands,
    }
}

/// MultiplyMoving instructions per program of a [`RandomStream`]: a stream of any length is
/// generated, run and checked one such program at a time, so memory does not grow with it.
pub const STREAM_CHUNK: usize = 1000;

/// A long random program as consecutive programs of at most [`STREAM_CHUNK`] MultiplyMoving
/// instructions, each from the same generator ([`random_program`] with the options' other
/// settings), drawn lazily. Each program starts from the state every generated program starts
/// from (no stationary in use: its first instruction loads and swaps one), so the programs run
/// back to back on one engine whose PSUM carries over. Deterministic for (seed, total): a stream
/// of at most [`STREAM_CHUNK`] instructions is exactly `random_program` of that seed.
pub struct RandomStream<'a> {
    cfg: &'a Config,
    rng: SplitMix64,
    opts: GenOptions,
    left: usize,
}

impl<'a> RandomStream<'a> {
    pub fn new(cfg: &'a Config, seed: u64, opts: &GenOptions) -> RandomStream<'a> {
        RandomStream {
            cfg,
            rng: SplitMix64::new(seed),
            opts: opts.clone(),
            left: opts.matmuls,
        }
    }
}

impl Iterator for RandomStream<'_> {
    type Item = Program;

    fn next(&mut self) -> Option<Program> {
        if self.left == 0 {
            return None;
        }
        let n = self.left.min(STREAM_CHUNK);
        self.left -= n;
        let opts = GenOptions {
            matmuls: n,
            ..self.opts.clone()
        };
        Some(random_program(self.cfg, &mut self.rng, &opts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs of Vigna's splitmix64.c seeded with 1234567.
        let mut r = SplitMix64::new(1234567);
        let got: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut r = SplitMix64::new(7);
        for _ in 0..10_000 {
            let v = r.range_i64(-3, 4);
            assert!((-3..=4).contains(&v));
            let u = r.range_u32(5, 5);
            assert_eq!(u, 5);
        }
        assert!((0..1000).all(|_| !r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
        let x = r.range_i64(i64::MIN, i64::MAX);
        let _ = x;
    }
}
