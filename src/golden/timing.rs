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

/// Simulate the stall-free run of `program` (which should be valid for the core, see
/// [`super::CoreModel`]) on the top of `cfg`.
pub fn stall_free(cfg: &Config, program: &Program) -> Result<Timing, TimingError> {
    let write_delay = u64::from(cfg.derived.mm_latency) - 1;
    let load_hold = u64::from(cfg.derived.load_hold);
    let psum_pipe = cfg.derived.psum_pipe > 0;

    // The streams.
    let mut ls_last: Vec<bool> = Vec::new();
    let mut mms: Vec<Mm> = Vec::new();
    let mut rd_mm_before: Vec<usize> = Vec::new();
    for (index, c) in program.commands.iter().enumerate() {
        match c {
            Command::LoadStationary { rows } => {
                if rows.is_empty() {
                    return Err(TimingError::Empty {
                        index,
                        command: c.kind(),
                    });
                }
                ls_last.extend((0..rows.len()).map(|i| i + 1 == rows.len()));
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
                    return Err(TimingError::Empty {
                        index,
                        command: c.kind(),
                    });
                }
                mms.push(Mm {
                    n: moving.len() as u32,
                    swap: *swap,
                    accumulate: *accumulate,
                    bank: *bank,
                    offset: *offset,
                    reads_before: rd_mm_before.len(),
                });
            }
            Command::ReadPsum { .. } => rd_mm_before.push(mms.len()),
        }
    }
    let mut timing = Timing::default();

    // Driver state.
    let mut ls_pos = 0usize;
    let mut hdr_pos = 0usize;
    let mut mv_mm = 0usize; // instruction of the next moving beat = instructions fully issued
    let mut mv_beat = 0u32;
    let mut rd_pos = 0usize;

    // Hardware state.
    let mut queue: VecDeque<usize> = VecDeque::with_capacity(2);
    let mut beat_index = 0u32;
    let mut shadow_full = false;
    let mut loading = false; // a load's first beat has fired, its last not yet
    let mut hold = 0u64;
    // PSUM entry (bank, addr) of the beat fired in the previous cycle.
    let mut prev_beat: Option<(u32, u32)> = None;
    let mut inflight: VecDeque<u64> = VecDeque::new(); // write edges
                                                       // Cycles until a fired read's response is valid (0: none pending).
    let read_lat = u64::from(cfg.derived.psum_read_lat);
    let mut rd_pending = 0u64;
    let mut rdata_valid = false;

    let mut t = 0u64;
    loop {
        // Beats written at an edge before this cycle are no longer in flight.
        while inflight.front().is_some_and(|&e| e < t) {
            inflight.pop_front();
        }
        let head = queue.front().map(|&i| &mms[i]);
        let head_valid = head.is_some();
        let tail_valid = queue.len() > 1;
        let busy =
            head_valid || tail_valid || !inflight.is_empty() || rd_pending != 0 || rdata_valid;
        let all_issued = ls_pos == ls_last.len()
            && hdr_pos == mms.len()
            && mv_mm == mms.len()
            && rd_pos == rd_mm_before.len();
        if all_issued && timing.rdata_fire.len() == rd_mm_before.len() && !busy {
            timing.total_cycles = t;
            return Ok(timing);
        }

        let reads_fired = timing.rd_fire.len();
        let mm_valid = hdr_pos < mms.len() && reads_fired >= mms[hdr_pos].reads_before;
        let mm_fire = mm_valid && !tail_valid;

        let mv_valid = mv_mm < mms.len() && reads_fired >= mms[mv_mm].reads_before;
        let acc_hazard = psum_pipe
            && head.is_some_and(|h| {
                h.accumulate && prev_beat == Some((h.bank, h.offset + beat_index))
            });
        let mv_ready =
            head.is_some_and(|h| !(beat_index == 0 && h.swap && !shadow_full)) && !acc_hazard;
        let mv_fire = mv_valid && mv_ready;
        let swap_fire = mv_fire && beat_index == 0 && head.is_some_and(|h| h.swap);

        let ld_block = load_hold > 0 && (swap_fire || hold != 0);
        let ls_fire =
            ls_pos < ls_last.len() && (!shadow_full || swap_fire) && (loading || !ld_block);
        let ls_last_fire = ls_fire && ls_last[ls_pos];

        let rd_valid = rd_pos < rd_mm_before.len() && mv_mm >= rd_mm_before[rd_pos];
        let rdata_ready = true;
        let rd_ready = !head_valid
            && !tail_valid
            && inflight.is_empty()
            && rd_pending == 0
            && (!rdata_valid || rdata_ready);
        let rd_fire = rd_valid && rd_ready;
        let rdata_fire = rdata_valid && rdata_ready;

        if !(mm_fire || mv_fire || ls_fire || rd_fire || rdata_fire)
            && inflight.is_empty()
            && hold == 0
            && rd_pending == 0
        {
            // Nothing moves and no timer runs: the next cycle is this one again, forever.
            return Err(TimingError::Deadlock {
                cycle: t,
                state: format!(
                    "ls beat {ls_pos}/{} (shadow_full = {shadow_full}), mm header {hdr_pos}/{}, \
                     moving beat {mv_beat} of instruction {mv_mm}/{} (head swap = {}), read {rd_pos}/{}",
                    ls_last.len(),
                    mms.len(),
                    mms.len(),
                    head.is_some_and(|h| h.swap),
                    rd_mm_before.len()
                ),
            });
        }

        // Edge t.
        prev_beat = mv_fire.then(|| {
            let h = head.expect("mv fired");
            (h.bank, h.offset + beat_index)
        });
        if mv_fire {
            timing.mv_fire.push(t);
            inflight.push_back(t + write_delay);
            let n = head.expect("mv fired").n;
            beat_index += 1;
            if beat_index == n {
                queue.pop_front();
                beat_index = 0;
            }
            mv_beat += 1;
            if mv_beat == mms[mv_mm].n {
                mv_mm += 1;
                mv_beat = 0;
            }
        }
        if mm_fire {
            timing.mm_fire.push(t);
            queue.push_back(hdr_pos);
            hdr_pos += 1;
        }
        if ls_fire {
            timing.ls_fire.push(t);
            ls_pos += 1;
            loading = !ls_last_fire;
        }
        if load_hold > 0 {
            hold = if swap_fire {
                load_hold - 1
            } else {
                hold.saturating_sub(1)
            };
        }
        shadow_full = (shadow_full && !swap_fire) || ls_last_fire;
        if rdata_fire {
            timing.rdata_fire.push(t);
        }
        rdata_valid = rd_pending == 1 || (rdata_valid && !rdata_fire);
        if rd_fire {
            timing.rd_fire.push(t);
            rd_pos += 1;
        }
        rd_pending = if rd_fire {
            read_lat - 1
        } else {
            rd_pending.saturating_sub(1)
        };
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
