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
    /// `busy` must be high while a read is pending or its response not yet taken.
    #[error("busy is low while a read is pending or its response not yet taken (cycle {cycle})")]
    IdleWhileReading { cycle: u64 },
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

/// Pack `values` (each `bits` wide, 1..=64, element 0 in the low bits) into little-endian u32
/// words: `ceil(count * bits / 32)` of them, at least one. Word at a time (this runs every
/// simulated cycle).
pub fn pack(values: impl IntoIterator<Item = u64>, bits: u32, words: &mut Vec<u32>) {
    words.clear();
    let m = mask(bits);
    // Bits not yet written out, the oldest in the low end; fewer than 32 between values.
    let mut pending: u128 = 0;
    let mut n = 0u32;
    let mut total = 0usize;
    for v in values {
        pending |= u128::from(v & m) << n;
        n += bits;
        total += bits as usize;
        while n >= 32 {
            words.push(pending as u32);
            pending >>= 32;
            n -= 32;
        }
    }
    if n > 0 {
        words.push(pending as u32);
    }
    words.resize(total.div_ceil(32).max(1), 0);
}

/// Unpack `count` fields of `bits` (1..=64) from little-endian u32 words (missing words read as
/// zero).
pub fn unpack(words: &[u32], bits: u32, count: usize) -> Vec<u64> {
    let m = mask(bits);
    (0..count)
        .map(|i| {
            let start = i * bits as usize;
            let (first, shift) = (start / 32, start % 32);
            // shift + bits <= 31 + 64: three words cover the field.
            let window = (0..3).fold(0u128, |acc, k| {
                acc | u128::from(words.get(first + k).copied().unwrap_or(0)) << (32 * k)
            });
            (window >> shift) as u64 & m
        })
        .collect()
}

/// A stream of beats that can be presented, held until fired.
#[derive(Default)]
struct Stream {
    next: usize,
    presented: bool,
}

impl Stream {
    /// The presented beat fired: the next one is up.
    fn fire(&mut self) {
        self.next += 1;
        self.presented = false;
    }
}

/// The program as the four streams the driver plays, in program order, with the gates that
/// keep them in program order against each other.
struct Streams<'p> {
    /// LoadStationary rows, each with whether it is its load's last.
    ls: Vec<(&'p Vec<i64>, bool)>,
    /// MultiplyMoving headers: (command index, command).
    mm: Vec<(usize, &'p Command)>,
    /// Moving beats: (command index, beat).
    mv: Vec<(usize, &'p Vec<i64>)>,
    /// ReadPsum requests: (command index, bank, address).
    rd: Vec<(usize, u32, u32)>,
    /// For each command index, how many reads precede it.
    reads_before: Vec<usize>,
    /// For each command index, how many moving beats precede it.
    beats_before: Vec<usize>,
}

impl<'p> Streams<'p> {
    fn new(program: &'p Program) -> Streams<'p> {
        let mut s = Streams {
            ls: vec![],
            mm: vec![],
            mv: vec![],
            rd: vec![],
            reads_before: vec![0; program.commands.len() + 1],
            beats_before: vec![0; program.commands.len() + 1],
        };
        for (i, c) in program.commands.iter().enumerate() {
            match c {
                Command::LoadStationary { rows } => {
                    for (j, r) in rows.iter().enumerate() {
                        s.ls.push((r, j + 1 == rows.len()));
                    }
                }
                Command::MultiplyMoving { moving, .. } => {
                    s.mm.push((i, c));
                    for beat in moving {
                        s.mv.push((i, beat));
                    }
                }
                Command::ReadPsum { bank, addr } => s.rd.push((i, *bank, *addr)),
            }
            s.reads_before[i + 1] =
                s.reads_before[i] + usize::from(matches!(c, Command::ReadPsum { .. }));
            s.beats_before[i + 1] = s.beats_before[i]
                + match c {
                    Command::MultiplyMoving { moving, .. } => moving.len(),
                    _ => 0,
                };
        }
        s
    }
}

/// What the driver put on the ports in one cycle.
#[derive(Clone, Copy)]
struct Presented {
    ls: bool,
    mm: bool,
    mv: bool,
    rd: bool,
    rdata_ready: bool,
}

/// One run of a program: the simulation, its ports, the streams and how far each got.
struct Driver<'a, 'p> {
    sim: &'a mut Sim,
    ports: Ports,
    cfg: &'a Config,
    stalls: Stalls,
    streams: Streams<'p>,
    rng: SplitMix64,
    words: Vec<u32>,
    ls: Stream,
    mm: Stream,
    mv: Stream,
    rd: Stream,
    /// ReadPsum requests that fired.
    rd_fired: usize,
    reads: Vec<ObservedRead>,
    mv_fire: Vec<u64>,
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
    let streams = Streams::new(program);
    let mut d = Driver {
        reads: Vec::with_capacity(streams.rd.len()),
        mv_fire: Vec::with_capacity(streams.mv.len()),
        sim,
        ports,
        cfg,
        stalls,
        streams,
        rng: SplitMix64::new(stalls.seed ^ 0x5eed_57a1_15ca_11ed),
        words: Vec::new(),
        ls: Stream::default(),
        mm: Stream::default(),
        mv: Stream::default(),
        rd: Stream::default(),
        rd_fired: 0,
    };
    d.reset();
    for cycle in 0..limit {
        let on = d.present();
        d.sim.eval();
        // Sample before the edge.
        let busy = d.sim.get_bool(d.ports.busy);
        if d.rd_fired > d.reads.len() && !busy {
            return Err(DriverError::IdleWhileReading { cycle });
        }
        if d.all_issued() && !busy {
            return Ok(RtlRun {
                reads: d.reads,
                total_cycles: cycle,
                mv_fire: d.mv_fire,
            });
        }
        d.fire(on, cycle)?;
        d.sim.tick();
    }
    Err(DriverError::Timeout {
        limit,
        state: d.state(),
    })
}

impl Driver<'_, '_> {
    /// Reset: two cycles with every valid low.
    fn reset(&mut self) {
        let (sim, ports) = (&mut *self.sim, &self.ports);
        for p in [
            ports.ls_valid,
            ports.mm_valid,
            ports.mv_valid,
            ports.rd_valid,
        ] {
            sim.set_bool(p, false);
        }
        sim.set_bool(ports.rdata_ready, false);
        sim.set_bool(ports.ls_gapless, self.stalls.gapless_loads);
        sim.set_bool(ports.rst, true);
        for _ in 0..2 {
            sim.eval();
            sim.tick();
        }
        sim.set_bool(ports.rst, false);
    }

    /// Whether `s` presents its next beat this cycle: it already does (held until it fires), or
    /// one is `available` and a random stall does not hold it back.
    fn presents(s: &mut Stream, available: bool, stalls: &Stalls, rng: &mut SplitMix64) -> bool {
        if !s.presented && available && !(stalls.input_idle > 0.0 && rng.chance(stalls.input_idle))
        {
            s.presented = true;
        }
        s.presented
    }

    /// Set this cycle's inputs: each stream's beat if it presents one (in program order against
    /// the others), and `rdata_ready` unless stalled.
    fn present(&mut self) -> Presented {
        let on = Presented {
            ls: self.present_ls(),
            mm: self.present_mm(),
            mv: self.present_mv(),
            rd: self.present_rd(),
            rdata_ready: !(self.stalls.output_busy > 0.0
                && self.rng.chance(self.stalls.output_busy)),
        };
        self.sim.set_bool(self.ports.rdata_ready, on.rdata_ready);
        on
    }

    /// LoadStationary rows. With gapless loads, only the first beat of a load may wait.
    fn present_ls(&mut self) -> bool {
        let s = &self.streams;
        let available = self.ls.next < s.ls.len();
        let mid_load = self.stalls.gapless_loads && self.ls.next > 0 && !s.ls[self.ls.next - 1].1;
        let on = if mid_load {
            available
        } else {
            Self::presents(&mut self.ls, available, &self.stalls, &mut self.rng)
        };
        self.sim.set_bool(self.ports.ls_valid, on);
        if on {
            let (row, last) = s.ls[self.ls.next];
            let fmt = self.cfg.format;
            pack(
                row.iter().map(|&v| fmt.to_bits(v)),
                self.cfg.derived.data_w,
                &mut self.words,
            );
            self.sim.set(self.ports.ls_data, &self.words);
            self.sim.set_bool(self.ports.ls_last, last);
        }
        on
    }

    /// MultiplyMoving headers, each once every earlier ReadPsum has fired.
    fn present_mm(&mut self) -> bool {
        let s = &self.streams;
        let available =
            self.mm.next < s.mm.len() && self.rd_fired >= s.reads_before[s.mm[self.mm.next].0];
        let on = Self::presents(&mut self.mm, available, &self.stalls, &mut self.rng);
        let (sim, p) = (&mut *self.sim, &self.ports);
        sim.set_bool(p.mm_valid, on);
        if on {
            if let Command::MultiplyMoving {
                k,
                m,
                bank,
                offset,
                accumulate,
                swap,
                moving,
            } = s.mm[self.mm.next].1
            {
                sim.set_u64(p.mm_k, u64::from(*k));
                sim.set_u64(p.mm_m, u64::from(*m));
                sim.set_u64(p.mm_n, moving.len() as u64);
                sim.set_u64(p.mm_bank, u64::from(*bank));
                sim.set_u64(p.mm_offset, u64::from(*offset));
                sim.set_bool(p.mm_acc, *accumulate);
                sim.set_bool(p.mm_swap, *swap);
            }
        }
        on
    }

    /// Moving beats, each once every ReadPsum before its command has fired.
    fn present_mv(&mut self) -> bool {
        let s = &self.streams;
        let available =
            self.mv.next < s.mv.len() && self.rd_fired >= s.reads_before[s.mv[self.mv.next].0];
        let on = Self::presents(&mut self.mv, available, &self.stalls, &mut self.rng);
        self.sim.set_bool(self.ports.mv_valid, on);
        if on {
            let fmt = self.cfg.format;
            pack(
                s.mv[self.mv.next].1.iter().map(|&v| fmt.to_bits(v)),
                self.cfg.derived.data_w,
                &mut self.words,
            );
            self.sim.set(self.ports.mv_data, &self.words);
        }
        on
    }

    /// ReadPsum requests, each once every moving beat before it has fired.
    fn present_rd(&mut self) -> bool {
        let s = &self.streams;
        let available =
            self.rd.next < s.rd.len() && self.mv.next >= s.beats_before[s.rd[self.rd.next].0];
        let on = Self::presents(&mut self.rd, available, &self.stalls, &mut self.rng);
        self.sim.set_bool(self.ports.rd_valid, on);
        if on {
            let (_, bank, addr) = s.rd[self.rd.next];
            self.sim.set_u64(self.ports.rd_bank, u64::from(bank));
            self.sim.set_u64(self.ports.rd_addr, u64::from(addr));
        }
        on
    }

    /// Every beat and request issued and every response taken.
    fn all_issued(&self) -> bool {
        let s = &self.streams;
        self.ls.next == s.ls.len()
            && self.mm.next == s.mm.len()
            && self.mv.next == s.mv.len()
            && self.rd.next == s.rd.len()
            && self.reads.len() == s.rd.len()
    }

    /// After the evaluation, before the edge: the beats presented whose ready is high fire, and
    /// a response taken (`rdata_ready` and `rdata_valid`) is recorded as the next read.
    fn fire(&mut self, on: Presented, cycle: u64) -> Result<(), DriverError> {
        let (sim, p) = (&*self.sim, &self.ports);
        if on.ls && sim.get_bool(p.ls_ready) {
            self.ls.fire();
        }
        if on.mm && sim.get_bool(p.mm_ready) {
            self.mm.fire();
        }
        if on.mv && sim.get_bool(p.mv_ready) {
            self.mv.fire();
            self.mv_fire.push(cycle);
        }
        if on.rd && sim.get_bool(p.rd_ready) {
            self.rd.fire();
            self.rd_fired += 1;
        }
        if on.rdata_ready && sim.get_bool(p.rdata_valid) {
            let Some(&(_, bank, addr)) = self.streams.rd.get(self.reads.len()) else {
                return Err(DriverError::UnexpectedRead { cycle });
            };
            if self.reads.len() >= self.rd_fired {
                return Err(DriverError::UnexpectedRead { cycle });
            }
            let values = unpack(sim.get(p.rdata), self.cfg.acc_bits, self.cfg.cols as usize);
            self.reads.push(ObservedRead {
                bank,
                addr,
                cycle,
                values,
            });
        }
        Ok(())
    }

    /// How far each stream got, for a timeout.
    fn state(&self) -> String {
        let s = &self.streams;
        format!(
            "ls {}/{} beats, mm {}/{} headers, mv {}/{} beats, rd {}/{} requests, {}/{} responses",
            self.ls.next,
            s.ls.len(),
            self.mm.next,
            s.mm.len(),
            self.mv.next,
            s.mv.len(),
            self.rd.next,
            s.rd.len(),
            self.reads.len(),
            s.rd.len()
        )
    }
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
        // Against the definition, bit by bit, for every width and several counts.
        let mut rng = SplitMix64::new(7);
        for bits in 1..=64u32 {
            for count in [1usize, 2, 3, 5, 16, 33] {
                let vals: Vec<u64> = (0..count).map(|_| rng.next_u64()).collect();
                pack(vals.iter().copied(), bits, &mut words);
                let total = count * bits as usize;
                assert_eq!(words.len(), total.div_ceil(32));
                for (i, v) in vals.iter().enumerate() {
                    for b in 0..bits as usize {
                        let at = i * bits as usize + b;
                        assert_eq!((words[at / 32] >> (at % 32)) & 1, ((v >> b) & 1) as u32);
                    }
                }
                let masked: Vec<u64> = vals.iter().map(|v| v & mask(bits)).collect();
                assert_eq!(unpack(&words, bits, count), masked, "{bits} bits x {count}");
            }
        }
        pack([u64::MAX, 1], 64, &mut words);
        assert_eq!(words, vec![u32::MAX, u32::MAX, 1, 0]);
        assert_eq!(unpack(&words, 64, 2), vec![u64::MAX, 1]);
    }
}
