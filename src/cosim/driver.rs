//! Cycle-level driver of the RTL top and the in-order scoreboard.
//!
//! The driver plays a [`Program`] into the top's handshake ports exactly as
//! [`crate::golden::timing`] describes a stall-free driver, optionally with random stalls:
//! - `ls`: the beats of every LoadStationary in program order (the hardware orders them against
//!   the swaps itself).
//! - `mm` / `mv`: MultiplyMoving headers and their beats in program order; a header and its
//!   beats are presented only once every earlier ReadPsum has fired.
//! - `rd`: ReadPsum requests in program order, each only once every beat of every earlier
//!   MultiplyMoving has fired; `rdata_ready` is high unless stalled.
//!
//! With stalls on, an idle port waits a random number of cycles before presenting its next beat
//! and `rdata_ready` drops at random; a beat once presented is held unchanged until it fires
//! (valid never depends on ready, never withdrawn).
//!
//! Every cycle: inputs are set, the model is evaluated, the outputs (readies) are sampled before
//! the clock edge, fires are decided, then the clock ticks.

use crate::config::Config;
use crate::format::mask;
use crate::golden::ReadResult;
use crate::program::{Command, Program, SplitMix64};

use super::verilator::{PortId, Sim, VerilatorError};

/// Per-cycle stall probabilities (0 = never stall).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stalls {
    /// Probability that an idle input port does not present its next beat this cycle.
    pub input_idle: f64,
    /// Probability that `rdata_ready` is low in a cycle.
    pub output_busy: f64,
    /// Seed of the stall pattern.
    pub seed: u64,
    /// Drive `ls_gapless`: a load, once started, streams one row per cycle (no stall inside a
    /// load), which lets a swap start one cycle after its load. Programs must then never use
    /// more rows (k) than their stationary has.
    pub gapless_loads: bool,
}

impl Stalls {
    pub const NONE: Stalls = Stalls {
        input_idle: 0.0,
        output_busy: 0.0,
        seed: 0,
        gapless_loads: false,
    };

    pub fn random(seed: u64) -> Stalls {
        Stalls {
            input_idle: 0.3,
            output_busy: 0.3,
            seed,
            gapless_loads: false,
        }
    }

    pub fn any(&self) -> bool {
        self.input_idle > 0.0 || self.output_busy > 0.0
    }
}

/// One PSUM read as the RTL answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRead {
    pub bank: u32,
    pub addr: u32,
    /// Cycle in which the response fired.
    pub cycle: u64,
    /// One bit pattern per column.
    pub values: Vec<u64>,
}

/// What one run of a program on the RTL produced.
#[derive(Debug, Clone)]
pub struct RtlRun {
    pub reads: Vec<ObservedRead>,
    /// First cycle in which every command was issued, every response taken and `busy` was low.
    pub total_cycles: u64,
    /// Cycle of each moving beat's fire, in order.
    pub mv_fire: Vec<u64>,
}

/// Errors of a run (not mismatches: those are found by [`compare`]).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Verilator(#[from] VerilatorError),
    #[error("no progress: the run did not finish within {limit} cycles ({state})")]
    Timeout { limit: u64, state: String },
    #[error("the RTL answered a read when none was requested (cycle {cycle})")]
    UnexpectedRead { cycle: u64 },
}

/// The first difference between the golden model's reads and the RTL's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Index of the read in program order.
    pub read: usize,
    pub cycle: u64,
    pub bank: u32,
    pub addr: u32,
    pub column: u32,
    /// Bit patterns (masked to acc_bits) and their signed views.
    pub expected: u64,
    pub got: u64,
    pub expected_signed: i64,
    pub got_signed: i64,
}

struct Ports {
    rst: PortId,
    ls_valid: PortId,
    ls_ready: PortId,
    ls_data: PortId,
    ls_last: PortId,
    ls_gapless: PortId,
    mm_valid: PortId,
    mm_ready: PortId,
    mm_k: PortId,
    mm_m: PortId,
    mm_n: PortId,
    mm_bank: PortId,
    mm_offset: PortId,
    mm_acc: PortId,
    mm_swap: PortId,
    mv_valid: PortId,
    mv_ready: PortId,
    mv_data: PortId,
    rd_valid: PortId,
    rd_ready: PortId,
    rd_bank: PortId,
    rd_addr: PortId,
    rdata_valid: PortId,
    rdata_ready: PortId,
    rdata: PortId,
    busy: PortId,
}

impl Ports {
    fn new(sim: &Sim) -> Result<Ports, VerilatorError> {
        let p = |n: &str| sim.require_port(n);
        Ok(Ports {
            rst: p("rst")?,
            ls_valid: p("ls_valid")?,
            ls_ready: p("ls_ready")?,
            ls_data: p("ls_data")?,
            ls_last: p("ls_last")?,
            ls_gapless: p("ls_gapless")?,
            mm_valid: p("mm_valid")?,
            mm_ready: p("mm_ready")?,
            mm_k: p("mm_k")?,
            mm_m: p("mm_m")?,
            mm_n: p("mm_n")?,
            mm_bank: p("mm_bank")?,
            mm_offset: p("mm_offset")?,
            mm_acc: p("mm_acc")?,
            mm_swap: p("mm_swap")?,
            mv_valid: p("mv_valid")?,
            mv_ready: p("mv_ready")?,
            mv_data: p("mv_data")?,
            rd_valid: p("rd_valid")?,
            rd_ready: p("rd_ready")?,
            rd_bank: p("rd_bank")?,
            rd_addr: p("rd_addr")?,
            rdata_valid: p("rdata_valid")?,
            rdata_ready: p("rdata_ready")?,
            rdata: p("rdata")?,
            busy: p("busy")?,
        })
    }
}

/// Pack `values` (each `bits` wide, element 0 in the low bits) into little-endian u32 words.
pub fn pack(values: impl IntoIterator<Item = u64>, bits: u32, words: &mut Vec<u32>) {
    words.clear();
    let mut pos = 0usize;
    for v in values {
        let v = v & mask(bits);
        for b in 0..bits as usize {
            if (v >> b) & 1 == 1 {
                let at = pos + b;
                while words.len() <= at / 32 {
                    words.push(0);
                }
                words[at / 32] |= 1 << (at % 32);
            }
        }
        pos += bits as usize;
    }
    words.resize(pos.div_ceil(32).max(1), 0);
}

/// Unpack `count` fields of `bits` from little-endian u32 words.
pub fn unpack(words: &[u32], bits: u32, count: usize) -> Vec<u64> {
    (0..count)
        .map(|i| {
            let mut v = 0u64;
            for b in 0..bits as usize {
                let at = i * bits as usize + b;
                if (words.get(at / 32).copied().unwrap_or(0) >> (at % 32)) & 1 == 1 {
                    v |= 1 << b;
                }
            }
            v
        })
        .collect()
}

/// A stream of beats that can be presented, held until fired.
struct Stream {
    next: usize,
    presented: bool,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            next: 0,
            presented: false,
        }
    }
}

/// Run `program` on a freshly reset simulation and collect the reads. `limit` bounds the number
/// of cycles (a deadlock is an error, not a hang).
pub fn run_program(
    sim: &mut Sim,
    cfg: &Config,
    program: &Program,
    stalls: Stalls,
    limit: u64,
) -> Result<RtlRun, DriverError> {
    let ports = Ports::new(sim)?;
    let fmt = cfg.format;
    let data_w = cfg.derived.data_w;

    // Flatten the program into the four streams, remembering program order.
    let mut ls_beats: Vec<(&Vec<i64>, bool)> = vec![];
    let mut mm_cmds: Vec<(usize, &Command)> = vec![]; // (command index, command)
    let mut mv_beats: Vec<(usize, &Vec<i64>)> = vec![]; // (command index, beat)
    let mut rds: Vec<(usize, u32, u32)> = vec![];
    for (i, c) in program.commands.iter().enumerate() {
        match c {
            Command::LoadStationary { rows } => {
                for (j, r) in rows.iter().enumerate() {
                    ls_beats.push((r, j + 1 == rows.len()));
                }
            }
            Command::MultiplyMoving { moving, .. } => {
                mm_cmds.push((i, c));
                for beat in moving {
                    mv_beats.push((i, beat));
                }
            }
            Command::ReadPsum { bank, addr } => rds.push((i, *bank, *addr)),
        }
    }
    // Program-order gates: for each command index, how many reads / moving beats precede it.
    let mut reads_before = vec![0usize; program.commands.len() + 1];
    let mut beats_before = vec![0usize; program.commands.len() + 1];
    for (i, c) in program.commands.iter().enumerate() {
        reads_before[i + 1] = reads_before[i] + usize::from(matches!(c, Command::ReadPsum { .. }));
        beats_before[i + 1] = beats_before[i]
            + match c {
                Command::MultiplyMoving { moving, .. } => moving.len(),
                _ => 0,
            };
    }

    let mut rng = SplitMix64::new(stalls.seed ^ 0x5eed_57a1_15ca_11ed);
    let mut words = Vec::new();

    // Reset: two cycles with every valid low.
    for p in [
        ports.ls_valid,
        ports.mm_valid,
        ports.mv_valid,
        ports.rd_valid,
    ] {
        sim.set_bool(p, false);
    }
    sim.set_bool(ports.rdata_ready, false);
    sim.set_bool(ports.ls_gapless, stalls.gapless_loads);
    sim.set_bool(ports.rst, true);
    for _ in 0..2 {
        sim.eval();
        sim.tick();
    }
    sim.set_bool(ports.rst, false);

    let (mut ls, mut mm, mut mv, mut rd) =
        (Stream::new(), Stream::new(), Stream::new(), Stream::new());
    let mut reads = Vec::with_capacity(rds.len());
    let mut mv_fire = Vec::with_capacity(mv_beats.len());
    let mut rd_fired = 0usize;

    for cycle in 0..limit {
        let present = |s: &mut Stream, available: bool, rng: &mut SplitMix64| {
            if !s.presented
                && available
                && !(stalls.input_idle > 0.0 && rng.chance(stalls.input_idle))
            {
                s.presented = true;
            }
            s.presented
        };

        // ls
        // With gapless loads, only the first beat of a load may wait.
        let ls_avail = ls.next < ls_beats.len();
        let mid_load = stalls.gapless_loads && ls.next > 0 && !ls_beats[ls.next - 1].1;
        let ls_on = if mid_load {
            ls_avail
        } else {
            present(&mut ls, ls_avail, &mut rng)
        };
        sim.set_bool(ports.ls_valid, ls_on);
        if ls_on {
            let (row, last) = ls_beats[ls.next];
            pack(row.iter().map(|&v| fmt.to_bits(v)), data_w, &mut words);
            sim.set(ports.ls_data, &words);
            sim.set_bool(ports.ls_last, last);
        }
        // mm
        let mm_avail = mm.next < mm_cmds.len() && rd_fired >= reads_before[mm_cmds[mm.next].0];
        let mm_on = present(&mut mm, mm_avail, &mut rng);
        sim.set_bool(ports.mm_valid, mm_on);
        if mm_on {
            if let Command::MultiplyMoving {
                k,
                m,
                bank,
                offset,
                accumulate,
                swap,
                moving,
            } = mm_cmds[mm.next].1
            {
                sim.set_u64(ports.mm_k, u64::from(*k));
                sim.set_u64(ports.mm_m, u64::from(*m));
                sim.set_u64(ports.mm_n, moving.len() as u64);
                sim.set_u64(ports.mm_bank, u64::from(*bank));
                sim.set_u64(ports.mm_offset, u64::from(*offset));
                sim.set_bool(ports.mm_acc, *accumulate);
                sim.set_bool(ports.mm_swap, *swap);
            }
        }
        // mv
        let mv_avail = mv.next < mv_beats.len() && rd_fired >= reads_before[mv_beats[mv.next].0];
        let mv_on = present(&mut mv, mv_avail, &mut rng);
        sim.set_bool(ports.mv_valid, mv_on);
        if mv_on {
            pack(
                mv_beats[mv.next].1.iter().map(|&v| fmt.to_bits(v)),
                data_w,
                &mut words,
            );
            sim.set(ports.mv_data, &words);
        }
        // rd
        let rd_avail = rd.next < rds.len() && mv.next >= beats_before[rds[rd.next].0];
        let rd_on = present(&mut rd, rd_avail, &mut rng);
        sim.set_bool(ports.rd_valid, rd_on);
        if rd_on {
            sim.set_u64(ports.rd_bank, u64::from(rds[rd.next].1));
            sim.set_u64(ports.rd_addr, u64::from(rds[rd.next].2));
        }
        let rdata_ready = !(stalls.output_busy > 0.0 && rng.chance(stalls.output_busy));
        sim.set_bool(ports.rdata_ready, rdata_ready);

        sim.eval();

        // Sample before the edge.
        let all_issued = ls.next == ls_beats.len()
            && mm.next == mm_cmds.len()
            && mv.next == mv_beats.len()
            && rd.next == rds.len()
            && reads.len() == rds.len();
        if all_issued && !sim.get_bool(ports.busy) {
            return Ok(RtlRun {
                reads,
                total_cycles: cycle,
                mv_fire,
            });
        }
        if ls_on && sim.get_bool(ports.ls_ready) {
            ls.next += 1;
            ls.presented = false;
        }
        if mm_on && sim.get_bool(ports.mm_ready) {
            mm.next += 1;
            mm.presented = false;
        }
        if mv_on && sim.get_bool(ports.mv_ready) {
            mv.next += 1;
            mv.presented = false;
            mv_fire.push(cycle);
        }
        if rd_on && sim.get_bool(ports.rd_ready) {
            rd.next += 1;
            rd.presented = false;
            rd_fired += 1;
        }
        if rdata_ready && sim.get_bool(ports.rdata_valid) {
            let Some(&(_, bank, addr)) = rds.get(reads.len()) else {
                return Err(DriverError::UnexpectedRead { cycle });
            };
            if reads.len() >= rd_fired {
                return Err(DriverError::UnexpectedRead { cycle });
            }
            let values = unpack(sim.get(ports.rdata), cfg.acc_bits, cfg.cols as usize);
            reads.push(ObservedRead {
                bank,
                addr,
                cycle,
                values,
            });
        }
        sim.tick();
    }
    Err(DriverError::Timeout {
        limit,
        state: format!(
            "ls {}/{} beats, mm {}/{} headers, mv {}/{} beats, rd {}/{} requests, {}/{} responses",
            ls.next,
            ls_beats.len(),
            mm.next,
            mm_cmds.len(),
            mv.next,
            mv_beats.len(),
            rd.next,
            rds.len(),
            reads.len(),
            rds.len()
        ),
    })
}

/// Compare the RTL's reads with the golden model's, in order; return the first mismatch.
/// Columns the golden model says were never written (`None`) are not compared: the hardware
/// leaves them undefined.
pub fn compare(cfg: &Config, expected: &[ReadResult], got: &[ObservedRead]) -> Option<Mismatch> {
    let view = |v: u64| crate::golden::acc_to_signed(v, cfg.acc_bits);
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        for (c, (ev, gv)) in e.values.iter().zip(&g.values).enumerate() {
            if let Some(ev) = ev {
                if ev != gv {
                    return Some(Mismatch {
                        read: i,
                        cycle: g.cycle,
                        bank: e.bank,
                        addr: e.addr,
                        column: c as u32,
                        expected: *ev,
                        got: *gv,
                        expected_signed: view(*ev),
                        got_signed: view(*gv),
                    });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip() {
        let mut words = vec![];
        let vals: Vec<u64> = (0..37).map(|i| (i * 2654435761u64) & 0x1ff).collect();
        pack(vals.iter().copied(), 9, &mut words);
        assert_eq!(words.len(), (37 * 9usize).div_ceil(32));
        assert_eq!(unpack(&words, 9, 37), vals);
        pack([u64::MAX, 1], 64, &mut words);
        assert_eq!(words, vec![u32::MAX, u32::MAX, 1, 0]);
        assert_eq!(unpack(&words, 64, 2), vec![u64::MAX, 1]);
    }
}
