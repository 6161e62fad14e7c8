//! Exact cycle count of a stall-free run of a program on the RTL top, by a cycle-stepped
//! simulation of the top's handshake rules (no datapath).
//!
//! # Ports and registered state
//! All ports are valid/ready, sampled before the rising edge; a beat *fires* in cycle `t` when
//! valid && ready during `t`. Edge `t` is the rising edge at the end of cycle `t`; what it updates
//! is visible in cycle `t + 1`. Cycle 0 is the first cycle after reset.
//!
//! * A 2-entry command queue (head, tail); `mm_ready = !tail_valid`. A header that fires at `t`
//!   is in the queue from `t + 1`.
//! * `mv_ready = head_valid && !(beat_index == 0 && head.swap && !shadow_full)`. When the head's
//!   last beat fires, the head is popped at that edge (the tail moves to the head).
//! * `shadow_full` is set at the edge of a LoadStationary's last beat and cleared at the edge of
//!   a swap beat (the first beat of a swap instruction); both at once leave it set.
//! * `ls_ready = !shadow_full || swap_fire` (combinational). With a pipelined adder
//!   (`load_hold = (rows-1)*(add_lat-1) > 0`) the first beat of a load also needs
//!   `!ld_block`, where `ld_block = swap_fire || hold != 0` and `hold` is set to
//!   `load_hold - 1` at the edge of a swap beat and counts down to 0; the later beats of a load
//!   do not wait.
//! * With a pipelined PSUM accumulate (`psum_pipe`), `mv_ready` is also low while the head's
//!   next beat accumulates into the PSUM entry (bank, address) of the beat fired in the
//!   previous cycle.
//! * A moving beat that fires in cycle `s` is written to PSUM at edge `s + mm_latency - 1`
//!   (= `s + rows*add_lat + mul_lat + col_stages + psum_pipe + psum_wr_reg + psum_split`, where
//!   `col_stages` is `cols`, or with tiles `ceil(cols / tile_cols)`); `inflight` counts
//!   beats fired, not yet written.
//! * `rd_ready = !head_valid && !tail_valid && inflight == 0 && !rd_pending
//!   && (!rdata_valid || rdata_ready)`. A read firing at `t` is pending from `t + 1` and
//!   presents `rdata_valid` from `t + psum_read_lat` until it fires (`psum_read_lat` 2; 3 with
//!   the ECP5 block RAMs' output registers).
//! * `busy = head_valid || tail_valid || inflight != 0 || rd_pending || rdata_valid`.
//!
//! # Stall-free driver
//! * ls: the beats of all LoadStationary commands in program order, valid whenever one is left.
//! * mm / mv: MultiplyMoving headers in program order / all their beats concatenated; a header
//!   and its beats are presented only after every ReadPsum earlier in program order has fired.
//! * rd: ReadPsum in program order, presented only after every beat of every MultiplyMoving
//!   earlier in program order has fired. `rdata_ready` is always 1.
//!
//! The run ends at the first cycle `T` in which every command has been fully issued, every read
//! response has fired in an earlier cycle, and `busy` is low: `T` is [`Timing::total_cycles`].

use std::collections::VecDeque;

use crate::config::Config;
use crate::program::{Command, Program};

/// Fire cycles of a stall-free run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timing {
    /// The first cycle with everything issued, all responses fired and `busy` low.
    pub total_cycles: u64,
    /// Fire cycle of every stationary beat, in stream order.
    pub ls_fire: Vec<u64>,
    /// Fire cycle of every MultiplyMoving header, in program order.
    pub mm_fire: Vec<u64>,
    /// Fire cycle of every moving beat, in stream order (instructions concatenated).
    pub mv_fire: Vec<u64>,
    /// Fire cycle of every read request, in program order.
    pub rd_fire: Vec<u64>,
    /// Fire cycle of every read response, in program order.
    pub rdata_fire: Vec<u64>,
}

/// A program the handshake can never finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error("command {index} ({command}) has no beats")]
    Empty { index: usize, command: &'static str },
    #[error("deadlock at cycle {cycle}: {state}")]
    Deadlock { cycle: u64, state: String },
}

/// The cycle count of [`Program::back_to_back`] (`t >= 1` instructions of `n >= rows` beats,
/// each with a new full stationary, then `reads` reads), derived from the rules above:
///
/// * stationary 1 loads in cycles `0..rows`; the first (swap) beat fires in cycle `rows`;
/// * each later stationary loads from the cycle its predecessor is swapped in and is complete
///   `rows` cycles later, before the next swap beat when `n >= rows`, so the `t * n` moving beats
///   fire back to back in cycles `rows .. rows + t*n`;
/// * the last beat (cycle `rows + t*n - 1`) is written at edge `W = 2*rows + cols + t*n - 1`;
/// * without reads `busy` is low from cycle `W + 1`: total `rows + t*n + rows + cols`;
/// * otherwise the first read fires in `W + 1`, each read takes `L = psum_read_lat` cycles
///   (request, then the response `L` cycles later, in the cycle the next request fires), and
///   the last response fires in `W + L*reads`: total `rows + t*n + rows + cols + 1 + L*reads`.
///
/// For rows = cols = 1, t = n = 1 and no reads this gives 4.
///
/// With a pipelined PE (`mm_latency - 1 = rows*add_lat + mul_lat + cols`) the same holds with
/// that write delay; a later stationary then starts loading `load_hold` cycles after its
/// predecessor's swap, so the beats stay back to back when `n >= rows + load_hold`.
pub fn back_to_back_cycles(cfg: &Config, t: u64, n: u64, reads: u64) -> u64 {
    // mm_latency - 1: the edge of a beat's write, counted from its fire cycle.
    let base = u64::from(cfg.rows) + t * n + (u64::from(cfg.derived.mm_latency) - 1);
    if reads == 0 {
        base
    } else {
        base + 1 + u64::from(cfg.derived.psum_read_lat) * reads
    }
}

struct Mm {
    n: u32,
    swap: bool,
    accumulate: bool,
    bank: u32,
    offset: u32,
    /// ReadPsum commands earlier in program order.
    reads_before: usize,
}

/// The program as the driver's three streams.
struct Streams {
    /// Per stationary beat: whether it is its LoadStationary's last.
    ls_last: Vec<bool>,
    mms: Vec<Mm>,
    /// Per ReadPsum: the MultiplyMoving commands earlier in program order.
    rd_mm_before: Vec<usize>,
}

impl Streams {
    fn of(program: &Program) -> Result<Streams, TimingError> {
        let mut s = Streams {
            ls_last: Vec::new(),
            mms: Vec::new(),
            rd_mm_before: Vec::new(),
        };
        for (index, c) in program.commands.iter().enumerate() {
            let empty = TimingError::Empty {
                index,
                command: c.kind(),
            };
            match c {
                Command::LoadStationary { rows } => {
                    if rows.is_empty() {
                        return Err(empty);
                    }
                    s.ls_last
                        .extend((0..rows.len()).map(|i| i + 1 == rows.len()));
                }
                Command::MultiplyMoving {
                    swap,
                    moving,
                    accumulate,
                    bank,
                    offset,
                    ..
                } => {
                    if moving.is_empty() {
                        return Err(empty);
                    }
                    s.mms.push(Mm {
                        n: moving.len() as u32,
                        swap: *swap,
                        accumulate: *accumulate,
                        bank: *bank,
                        offset: *offset,
                        reads_before: s.rd_mm_before.len(),
                    });
                }
                Command::ReadPsum { .. } => s.rd_mm_before.push(s.mms.len()),
            }
        }
        Ok(s)
    }
}

/// What fires in one cycle.
#[derive(Default)]
struct Fires {
    mm: bool,
    mv: bool,
    swap: bool,
    ls: bool,
    ls_last: bool,
    rd: bool,
    rdata: bool,
}

impl Fires {
    fn any(&self) -> bool {
        self.mm || self.mv || self.ls || self.rd || self.rdata
    }
}

/// The configuration's delays, the driver's positions in the streams and the top's registered
/// state (the module documentation's rules).
struct Sim<'a> {
    s: &'a Streams,
    /// `mm_latency - 1`: a beat's write edge, counted from its fire cycle.
    write_delay: u64,
    load_hold: u64,
    psum_pipe: bool,
    read_lat: u64,
    // Driver state.
    ls_pos: usize,
    hdr_pos: usize,
    /// Instruction of the next moving beat (= instructions fully issued).
    mv_mm: usize,
    mv_beat: u32,
    rd_pos: usize,
    // Hardware state.
    queue: VecDeque<usize>,
    beat_index: u32,
    shadow_full: bool,
    /// A load's first beat has fired, its last not yet.
    loading: bool,
    hold: u64,
    /// PSUM entry (bank, addr) of the beat fired in the previous cycle.
    prev_beat: Option<(u32, u32)>,
    /// Write edges of the beats in flight.
    inflight: VecDeque<u64>,
    /// Cycles until a fired read's response is valid (0: none pending).
    rd_pending: u64,
    rdata_valid: bool,
    timing: Timing,
}

impl<'a> Sim<'a> {
    fn new(cfg: &Config, s: &'a Streams) -> Sim<'a> {
        Sim {
            s,
            write_delay: u64::from(cfg.derived.mm_latency) - 1,
            load_hold: u64::from(cfg.derived.load_hold),
            psum_pipe: cfg.derived.psum_pipe > 0,
            read_lat: u64::from(cfg.derived.psum_read_lat),
            ls_pos: 0,
            hdr_pos: 0,
            mv_mm: 0,
            mv_beat: 0,
            rd_pos: 0,
            queue: VecDeque::with_capacity(2),
            beat_index: 0,
            shadow_full: false,
            loading: false,
            hold: 0,
            prev_beat: None,
            inflight: VecDeque::new(),
            rd_pending: 0,
            rdata_valid: false,
            timing: Timing::default(),
        }
    }

    fn head(&self) -> Option<&Mm> {
        self.queue.front().map(|&i| &self.s.mms[i])
    }

    /// Every command issued, every response fired and `busy` low.
    fn finished(&self) -> bool {
        let s = self.s;
        let busy = !self.queue.is_empty()
            || !self.inflight.is_empty()
            || self.rd_pending != 0
            || self.rdata_valid;
        let all_issued = self.ls_pos == s.ls_last.len()
            && self.hdr_pos == s.mms.len()
            && self.mv_mm == s.mms.len()
            && self.rd_pos == s.rd_mm_before.len();
        all_issued && self.timing.rdata_fire.len() == s.rd_mm_before.len() && !busy
    }

    /// The handshakes of the current cycle.
    fn fires(&self) -> Fires {
        let s = self.s;
        let head = self.head();
        let tail_valid = self.queue.len() > 1;
        let reads_fired = self.timing.rd_fire.len();
        let mm_valid =
            self.hdr_pos < s.mms.len() && reads_fired >= s.mms[self.hdr_pos].reads_before;
        let mv_valid = self.mv_mm < s.mms.len() && reads_fired >= s.mms[self.mv_mm].reads_before;
        let acc_hazard = self.psum_pipe
            && head.is_some_and(|h| {
                h.accumulate && self.prev_beat == Some((h.bank, h.offset + self.beat_index))
            });
        let mv_ready = head.is_some_and(|h| !(self.beat_index == 0 && h.swap && !self.shadow_full))
            && !acc_hazard;
        let mv = mv_valid && mv_ready;
        let swap = mv && self.beat_index == 0 && head.is_some_and(|h| h.swap);
        let ld_block = self.load_hold > 0 && (swap || self.hold != 0);
        let ls = self.ls_pos < s.ls_last.len()
            && (!self.shadow_full || swap)
            && (self.loading || !ld_block);
        let rd_valid =
            self.rd_pos < s.rd_mm_before.len() && self.mv_mm >= s.rd_mm_before[self.rd_pos];
        // rdata_ready is always 1.
        let rd_ready =
            head.is_none() && !tail_valid && self.inflight.is_empty() && self.rd_pending == 0;
        Fires {
            mm: mm_valid && !tail_valid,
            mv,
            swap,
            ls,
            ls_last: ls && s.ls_last[self.ls_pos],
            rd: rd_valid && rd_ready,
            rdata: self.rdata_valid,
        }
    }

    /// Nothing fires and no timer runs: the next cycle is this one again, forever.
    fn stuck(&self, f: &Fires) -> bool {
        !f.any() && self.inflight.is_empty() && self.hold == 0 && self.rd_pending == 0
    }

    fn deadlock(&self, cycle: u64) -> TimingError {
        let s = self.s;
        TimingError::Deadlock {
            cycle,
            state: format!(
                "ls beat {}/{} (shadow_full = {}), mm header {}/{}, \
                 moving beat {} of instruction {}/{} (head swap = {}), read {}/{}",
                self.ls_pos,
                s.ls_last.len(),
                self.shadow_full,
                self.hdr_pos,
                s.mms.len(),
                self.mv_beat,
                self.mv_mm,
                s.mms.len(),
                self.head().is_some_and(|h| h.swap),
                self.rd_pos,
                s.rd_mm_before.len()
            ),
        }
    }

    /// Edge `t`: the command stream's registers.
    fn edge(&mut self, t: u64, f: &Fires) {
        let head = self
            .head()
            .map(|h| (h.bank, h.offset + self.beat_index, h.n));
        self.prev_beat = head.filter(|_| f.mv).map(|(bank, addr, _)| (bank, addr));
        if f.mv {
            self.timing.mv_fire.push(t);
            self.inflight.push_back(t + self.write_delay);
            self.beat_index += 1;
            if Some(self.beat_index) == head.map(|h| h.2) {
                self.queue.pop_front();
                self.beat_index = 0;
            }
            self.mv_beat += 1;
            if self.mv_beat == self.s.mms[self.mv_mm].n {
                self.mv_mm += 1;
                self.mv_beat = 0;
            }
        }
        if f.mm {
            self.timing.mm_fire.push(t);
            self.queue.push_back(self.hdr_pos);
            self.hdr_pos += 1;
        }
        if f.ls {
            self.timing.ls_fire.push(t);
            self.ls_pos += 1;
            self.loading = !f.ls_last;
        }
        if self.load_hold > 0 {
            self.hold = if f.swap {
                self.load_hold - 1
            } else {
                self.hold.saturating_sub(1)
            };
        }
        self.shadow_full = (self.shadow_full && !f.swap) || f.ls_last;
    }

    /// Edge `t`: the PSUM read port's registers.
    fn read_edge(&mut self, t: u64, f: &Fires) {
        if f.rdata {
            self.timing.rdata_fire.push(t);
        }
        self.rdata_valid = self.rd_pending == 1 || (self.rdata_valid && !f.rdata);
        if f.rd {
            self.timing.rd_fire.push(t);
            self.rd_pos += 1;
        }
        self.rd_pending = if f.rd {
            self.read_lat - 1
        } else {
            self.rd_pending.saturating_sub(1)
        };
    }
}

/// Simulate the stall-free run of `program` (which should be valid for the core, see
/// [`super::CoreModel`]) on the top of `cfg`.
pub fn stall_free(cfg: &Config, program: &Program) -> Result<Timing, TimingError> {
    let streams = Streams::of(program)?;
    let mut sim = Sim::new(cfg, &streams);
    let mut t = 0u64;
    loop {
        // Beats written at an edge before this cycle are no longer in flight.
        while sim.inflight.front().is_some_and(|&e| e < t) {
            sim.inflight.pop_front();
        }
        if sim.finished() {
            sim.timing.total_cycles = t;
            return Ok(sim.timing);
        }
        let f = sim.fires();
        if sim.stuck(&f) {
            return Err(sim.deadlock(t));
        }
        sim.edge(t, &f);
        sim.read_edge(t, &f);
        t += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use crate::program::SplitMix64;

    fn cfg(rows: u32, cols: u32) -> Config {
        Config::from_raw(&RawConfig {
            name: "t".into(),
            rows,
            cols,
            ..Default::default()
        })
        .unwrap()
    }

    fn ls(k: usize, cols: u32) -> Command {
        Command::LoadStationary {
            rows: vec![vec![1; cols as usize]; k],
        }
    }

    fn mm(c: &Config, n: usize, swap: bool, bank: u32) -> Command {
        Command::MultiplyMoving {
            k: c.rows,
            m: c.cols,
            bank,
            offset: 0,
            accumulate: false,
            swap,
            moving: vec![vec![1; c.rows as usize]; n],
        }
    }

    #[test]
    fn latency_is_rows_plus_cols_plus_one() {
        let c = cfg(3, 5);
        assert_eq!(c.derived.mm_latency, 3 + 5 + 1);
    }

    #[test]
    fn one_by_one_single_beat_takes_four_cycles() {
        let c = cfg(1, 1);
        let p = Program::new(vec![ls(1, 1), mm(&c, 1, true, 0)]);
        let t = stall_free(&c, &p).unwrap();
        assert_eq!(t.ls_fire, [0]);
        assert_eq!(t.mm_fire, [0]);
        assert_eq!(t.mv_fire, [1]);
        assert_eq!(t.total_cycles, 4);
    }

    #[test]
    fn empty_and_load_only_programs() {
        let c = cfg(2, 2);
        assert_eq!(stall_free(&c, &Program::default()).unwrap().total_cycles, 0);
        let t = stall_free(&c, &Program::new(vec![ls(2, 2)])).unwrap();
        assert_eq!((t.ls_fire.as_slice(), t.total_cycles), (&[0, 1][..], 2));
    }

    #[test]
    fn read_after_matmul_waits_for_the_write() {
        // rows = 2, cols = 3: LS in 0,1; swap beat fires in 2, written at edge 2 + 5 = 7;
        // read fires 8, rd_pending 9, response 10, idle 11.
        let c = cfg(2, 3);
        let p = Program::new(vec![
            ls(2, 3),
            mm(&c, 1, true, 0),
            Command::ReadPsum { bank: 0, addr: 0 },
        ]);
        let t = stall_free(&c, &p).unwrap();
        assert_eq!(t.mv_fire, [2]);
        assert_eq!(t.rd_fire, [8]);
        assert_eq!(t.rdata_fire, [10]);
        assert_eq!(t.total_cycles, 11);
    }

    #[test]
    fn matmul_after_read_waits_for_the_read() {
        let c = cfg(1, 1);
        let p = Program::new(vec![
            ls(1, 1),
            mm(&c, 1, true, 0),
            Command::ReadPsum { bank: 0, addr: 0 },
            mm(&c, 2, false, 1),
        ]);
        let t = stall_free(&c, &p).unwrap();
        // Beat 1 written at edge 3, read fires 4, second header 5, its beats 6 and 7, the last
        // written at edge 9; the response fires 6.
        assert_eq!(t.mv_fire, [1, 6, 7]);
        assert_eq!(t.rd_fire, [4]);
        assert_eq!(t.mm_fire, [0, 5]);
        assert_eq!(t.rdata_fire, [6]);
        assert_eq!(t.total_cycles, 10);
    }

    #[test]
    fn second_load_waits_for_the_swap() {
        // rows = 3: first load 0..3, swap beat at 3 lets the second load start at 3 (same cycle).
        let c = cfg(3, 1);
        let p = Program::new(vec![
            ls(3, 1),
            mm(&c, 1, true, 0),
            ls(3, 1),
            mm(&c, 1, true, 1),
        ]);
        let t = stall_free(&c, &p).unwrap();
        assert_eq!(t.ls_fire, [0, 1, 2, 3, 4, 5]);
        // The second swap waits for shadow_full (set at edge 5).
        assert_eq!(t.mv_fire, [3, 6]);
        assert_eq!(t.total_cycles, 6 + 3 + 1 + 1);
    }

    #[test]
    fn load_without_swap_deadlocks() {
        let c = cfg(1, 1);
        // A second load with no later swap never fires.
        let p = Program::new(vec![ls(1, 1), mm(&c, 1, true, 0), ls(1, 1), ls(1, 1)]);
        let e = stall_free(&c, &p).unwrap_err();
        assert!(matches!(e, TimingError::Deadlock { cycle: 4, .. }), "{e}");
        // A swap with nothing loaded never fires.
        let p = Program::new(vec![ls(1, 1), mm(&c, 1, true, 0), mm(&c, 1, true, 0)]);
        let e = stall_free(&c, &p).unwrap_err();
        assert!(matches!(e, TimingError::Deadlock { .. }), "{e}");
        // Two loads before their two swaps do finish in hardware (the core model rejects the
        // second load anyway, as the contract asks).
        let p = Program::new(vec![
            ls(1, 1),
            ls(1, 1),
            mm(&c, 1, true, 0),
            mm(&c, 1, true, 0),
        ]);
        assert_eq!(stall_free(&c, &p).unwrap().mv_fire, [1, 2]);
    }

    /// With a two-stage adder (pe_latency 3) a new load waits `(rows-1)` cycles after the
    /// previous swap; back to back still holds for `n >= rows + load_hold`, and the closed form
    /// uses the longer write delay.
    #[test]
    fn pipelined_pe_holds_the_next_load() {
        let mut raw = cfg(4, 3).to_raw();
        raw.format = "bf16".into();
        raw.pe_latency = 3;
        let c = Config::from_raw(&raw).unwrap();
        assert_eq!(c.derived.load_hold, 3);
        let mut rng = SplitMix64::new(1);
        let n = 4 + 3;
        let p = Program::back_to_back(&c, 3, n, &mut rng);
        let got = stall_free(&c, &p).unwrap();
        assert_eq!(
            got.total_cycles,
            back_to_back_cycles(&c, 3, u64::from(n), p.stats().reads as u64)
        );
        // The second load starts load_hold cycles after the first swap beat (cycle 4).
        assert_eq!(got.ls_fire[4], 4 + 3);
        // n = rows: the loads fall behind, so the beats are not back to back.
        let p = Program::back_to_back(&c, 3, 4, &mut rng);
        let got = stall_free(&c, &p).unwrap();
        assert!(got.mv_fire.windows(2).any(|w| w[1] > w[0] + 1));
    }

    #[test]
    fn back_to_back_matches_closed_form() {
        for (rows, cols) in [(1, 1), (2, 3), (4, 4), (5, 2)] {
            let c = cfg(rows, cols);
            for t in [1usize, 2, 5] {
                for n in [rows, rows + 1, 2 * rows + 3] {
                    let mut rng = SplitMix64::new(1);
                    let p = Program::back_to_back(&c, t, n, &mut rng);
                    let reads = p.stats().reads as u64;
                    let got = stall_free(&c, &p).unwrap();
                    assert_eq!(
                        got.total_cycles,
                        back_to_back_cycles(&c, t as u64, u64::from(n), reads),
                        "rows {rows} cols {cols} t {t} n {n}"
                    );
                    // Without the reads.
                    let mut q = p.clone();
                    q.commands
                        .retain(|c| !matches!(c, Command::ReadPsum { .. }));
                    let got = stall_free(&c, &q).unwrap();
                    let k = u64::from(rows);
                    assert_eq!(
                        got.total_cycles,
                        k + t as u64 * u64::from(n) + k + u64::from(cols)
                    );
                    let first = got.mv_fire[0];
                    assert_eq!(first, k);
                    assert!(
                        got.mv_fire.windows(2).all(|w| w[1] == w[0] + 1),
                        "beats back to back"
                    );
                }
            }
        }
    }

    #[test]
    fn short_instructions_wait_for_the_next_stationary() {
        // n < rows: the next swap waits until the stationary loaded from the previous swap is
        // complete (rows cycles after that swap beat).
        let c = cfg(4, 1);
        let mut rng = SplitMix64::new(3);
        let mut p = Program::back_to_back(&c, 3, 1, &mut rng);
        p.commands
            .retain(|c| !matches!(c, Command::ReadPsum { .. }));
        let t = stall_free(&c, &p).unwrap();
        assert_eq!(t.mv_fire, [4, 8, 12]);
        assert_eq!(t.total_cycles, 12 + 4 + 1 + 1);
    }
}
