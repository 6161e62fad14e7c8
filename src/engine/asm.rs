//! The program builder and checker of the memory path (`docs/memory-path.md`, "A program is
//! valid if"): [`Builder`] emits the word stream; [`check`] proves, before anything runs, that
//! a program
//! 1. passes the dispatcher's checks ([`super::checks`]) in order;
//! 2. cannot deadlock given in-order dispatch and FIFOs of [`ENGINE_FIFO_DEPTH`] entries;
//! 3. has no race: every two accesses of different engines to the same SBUF element, PSUM
//!    accumulator, ACT table word or memory byte, at least one a write, are ordered by
//!    happens-before.
//!
//! # Rules of the checker (a sharpening of the contract)
//!
//! * **One signalling engine per semaphore** (per program: a fetched program starts with the
//!   semaphores at 0). Then the k-th SIGNAL on semaphore `s` in program order is the one that
//!   brings its count to `k`.
//! * **A WAIT's target.** `WAIT e, s, value` waits for the count `k` with `k = value (mod 2^16)`
//!   nearest to `t`, the number of SIGNALs on `s` before it in program order: `t - 2^15 < k <=
//!   t + 2^15`. `k <= 0` is satisfied from the start. The hardware compares `(count - value) mod
//!   2^16 < 2^15`, which is `count >= k` only while the count stays within `2^15` of `k`: the
//!   checker proves that for every WAIT (the count when the WAIT is at the head of its FIFO is
//!   at least the signals that happen before it and at most those that do not happen after it;
//!   both must lie in `[k - 2^15, k + 2^15)`), else [`AsmError::SemaphoreWindow`].
//! * **Happens-before**: program order within an engine (an engine executes its instructions in
//!   order, each seeing the effects of the earlier ones), the k-th SIGNAL on `s` (with everything
//!   before it on its engine, completed) before every WAIT whose target is `k`, and FENCE
//!   between everything before it and everything after it.
//! * The footprint of an instruction ([`super::checks::footprint`]): LOAD_STATIONARY reads SBUF
//!   partitions `0..m`, entries `addr..addr + k` (at the time it is streamed, which is after
//!   its start: treating the read as happening at the start is conservative); MULTIPLY_MOVING
//!   reads partitions `0..k`, entries `addr..addr + n`, and writes PSUM columns `0..m` of the
//!   stationary in use; DMA and ACTIVATE as their semantics say.
//! * With the program's place in memory given ([`check`]'s `fetched_from`), a DMA_STORE that
//!   writes any of its words is refused ([`AsmError::OverwritesProgram`]): the fetch reads
//!   ahead, so such a write races with it.
//!
//! # How
//!
//! Deadlock: one abstract execution, greedy (every engine runs as far as it can before the
//! dispatcher moves, every instruction completing at once, signals firing as soon as they
//! may), is enough: progress only ever enables more progress (counts only grow; with the window
//! rule a WAIT's condition is monotone), so if this execution gets stuck, every execution does.
//! Its order is also a linear extension of happens-before, in which the race check visits the
//! accesses with vector clocks (one component per engine) and, per state element, the last
//! write and the last read of each engine (FastTrack's observation: a later access ordered
//! after those is ordered after every earlier one), kept in interval maps, so a program of tens
//! of thousands of instructions is checked in about `accesses x log(intervals)`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use crate::config::Config;
use crate::isa::{self, Act, Dma, EngineId, ErrorCode, Instr, ENGINE_FIFO_DEPTH, SEMAPHORES};

use super::checks::{self, Access, PeLoads, Space};

/// An instruction named in an error: its index in the program, its mnemonic and engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    pub index: usize,
    pub mnemonic: &'static str,
    pub engine: Option<EngineId>,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.engine {
            Some(e) => write!(f, "instruction {} ({} on {e})", self.index, self.mnemonic),
            None => write!(f, "instruction {} ({})", self.index, self.mnemonic),
        }
    }
}

fn site(instrs: &[Instr], index: usize) -> Site {
    Site {
        index,
        mnemonic: instrs[index].opcode().mnemonic(),
        engine: instrs[index].engine(),
    }
}

/// A WAIT that can never be satisfied in a stuck execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedWait {
    pub wait: Site,
    pub sem: u32,
    pub value: u32,
    /// Signals fired on `sem` when everything stopped.
    pub count: u64,
}

/// Why a program is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsmError {
    #[error("word {word}: {error}")]
    Decode {
        word: usize,
        error: isa::DecodeError,
    },
    #[error("{at}: {field} = {value} does not fit its {width}-bit field")]
    Misfit {
        at: Site,
        field: &'static str,
        value: u64,
        width: u32,
    },
    #[error("{at}: the engine would stop with {code:?}: {}", code.meaning())]
    Invalid { at: Site, code: ErrorCode },
    #[error(
        "semaphore {sem} is signalled by {first} and by {second}: the checker needs one \
         signalling engine per semaphore"
    )]
    SharedSemaphore { sem: u32, first: Site, second: Site },
    #[error(
        "{at}: WAIT on semaphore {sem} for value {value} (count {target}): when it waits the \
         count may be anywhere in {lo}..={hi}, more than 2^15 from the target, where the \
         hardware's wrapping compare would not mean count >= target"
    )]
    SemaphoreWindow {
        at: Site,
        sem: u32,
        value: u32,
        target: i64,
        lo: u64,
        hi: u64,
    },
    #[error("deadlock: {}", describe_deadlock(.dispatcher, .blocked))]
    Deadlock {
        /// The instruction the dispatcher cannot dispatch, and why.
        dispatcher: Option<(Site, String)>,
        /// The engines stuck at a WAIT.
        blocked: Vec<BlockedWait>,
    },
    #[error(
        "race on {state}: {first} {} it and {second} {} it, and no SIGNAL -> WAIT (or FENCE) \
         orders them",
        rw(*.first_writes),
        rw(*.second_writes)
    )]
    Race {
        first: Site,
        first_writes: bool,
        second: Site,
        second_writes: bool,
        state: String,
    },
    #[error("{at} writes {state}, which holds the program being fetched")]
    OverwritesProgram { at: Site, state: String },
}

fn rw(write: bool) -> &'static str {
    if write {
        "writes"
    } else {
        "reads"
    }
}

fn describe_deadlock(dispatcher: &Option<(Site, String)>, blocked: &[BlockedWait]) -> String {
    let mut parts = vec![];
    if let Some((s, why)) = dispatcher {
        parts.push(format!("the dispatcher waits at {s} ({why})"));
    }
    for b in blocked {
        parts.push(format!(
            "{} waits at {} on semaphore {} for value {} (count {})",
            b.wait.engine.map_or("?", EngineId::name),
            b.wait,
            b.sem,
            b.value,
            b.count
        ));
    }
    parts.join("; ")
}

/// A checked program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub instrs: Vec<Instr>,
}

impl Program {
    /// The word stream (what INSTR_LO/INSTR_HI take, or the fetch reads).
    pub fn words(&self) -> Vec<u64> {
        self.instrs.iter().flat_map(|i| i.encode()).collect()
    }

    /// The word stream as little-endian bytes, for memory.
    pub fn bytes(&self) -> Vec<u8> {
        self.words().iter().flat_map(|w| w.to_le_bytes()).collect()
    }
}

/// Builds a program instruction by instruction; [`Builder::finish`] checks it.
#[derive(Debug, Clone)]
pub struct Builder {
    cfg: Config,
    instrs: Vec<Instr>,
    signals: [u64; SEMAPHORES as usize],
    fetched_from: Option<u32>,
}

impl Builder {
    pub fn new(cfg: &Config) -> Builder {
        Builder {
            cfg: cfg.clone(),
            instrs: vec![],
            signals: [0; SEMAPHORES as usize],
            fetched_from: None,
        }
    }

    /// The program will be fetched from `base` (its words may not be overwritten).
    pub fn fetched_from(&mut self, base: u32) -> &mut Builder {
        self.fetched_from = Some(base);
        self
    }

    /// Append any instruction; returns its index.
    pub fn push(&mut self, instr: Instr) -> usize {
        if let Instr::Signal { sem, .. } = instr {
            self.signals[sem as usize % SEMAPHORES as usize] += 1;
        }
        self.instrs.push(instr);
        self.instrs.len() - 1
    }

    pub fn load_stationary(&mut self, addr: u32, k: u32, m: u32) -> usize {
        self.push(Instr::LoadStationary { addr, k, m })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn multiply(
        &mut self,
        addr: u32,
        k: u32,
        n: u32,
        bank: u32,
        offset: u32,
        acc: bool,
        swap: bool,
    ) -> usize {
        self.push(Instr::MultiplyMoving {
            addr,
            k,
            n,
            bank,
            offset,
            acc,
            swap,
        })
    }

    pub fn fence(&mut self) -> usize {
        self.push(Instr::Fence)
    }

    pub fn dma_load(&mut self, d: Dma) -> usize {
        self.push(Instr::DmaLoad(d))
    }

    pub fn dma_store(&mut self, d: Dma) -> usize {
        self.push(Instr::DmaStore(d))
    }

    pub fn activate(&mut self, a: Act) -> usize {
        self.push(Instr::Activate(a))
    }

    /// `SIGNAL engine, sem`; returns the count this signal brings `sem` to (1 for the first).
    pub fn signal(&mut self, engine: EngineId, sem: u32) -> u64 {
        self.push(Instr::Signal {
            engine: engine as u32,
            sem,
        });
        self.signals[sem as usize]
    }

    /// Signals on `sem` so far.
    pub fn signals(&self, sem: u32) -> u64 {
        self.signals[sem as usize]
    }

    /// `WAIT engine, sem, count mod 2^16`: the engine waits until `count` signals on `sem`
    /// have fired.
    pub fn wait(&mut self, engine: EngineId, sem: u32, count: u64) -> usize {
        self.push(Instr::Wait {
            engine: engine as u32,
            sem,
            value: (count & 0xFFFF) as u32,
        })
    }

    pub fn instrs(&self) -> &[Instr] {
        &self.instrs
    }

    /// Check the program ([`check`]) and return it.
    pub fn finish(&self) -> Result<Program, AsmError> {
        let words = self
            .instrs
            .iter()
            .map(|i| i.word_count() as u32)
            .sum::<u32>();
        check(
            &self.cfg,
            &self.instrs,
            self.fetched_from.map(|b| (b, words)),
        )?;
        Ok(Program {
            instrs: self.instrs.clone(),
        })
    }
}

/// Decode a word stream and [`check`] it.
pub fn check_words(cfg: &Config, words: &[u64]) -> Result<Program, AsmError> {
    let instrs: Vec<Instr> = isa::decode_stream(words)
        .map_err(|e| AsmError::Decode {
            word: e.word,
            error: e.error,
        })?
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    check(cfg, &instrs, None)?;
    Ok(Program { instrs })
}

/// Check a program (see the module documentation). `fetched_from`: the program's first byte
/// address and its number of words, when it is fetched from memory.
pub fn check(
    cfg: &Config,
    instrs: &[Instr],
    fetched_from: Option<(u32, u32)>,
) -> Result<(), AsmError> {
    let footprints = static_checks(cfg, instrs, fetched_from)?;
    let sems = Semaphores::new(instrs)?;
    let order = simulate(instrs, &sems)?;
    let clocks = Clocks::new(instrs, &sems, &order);
    clocks.check_windows(instrs, &sems)?;
    check_races(cfg, instrs, &order, &clocks, &footprints)
}

/// The dispatcher's checks in order, and every instruction's footprint.
fn static_checks(
    cfg: &Config,
    instrs: &[Instr],
    fetched_from: Option<(u32, u32)>,
) -> Result<Vec<Vec<Access>>, AsmError> {
    let mut pe = PeLoads::default();
    let mut out = Vec::with_capacity(instrs.len());
    for (i, instr) in instrs.iter().enumerate() {
        if let Some((field, value, width)) = instr.misfit() {
            return Err(AsmError::Misfit {
                at: site(instrs, i),
                field,
                value,
                width,
            });
        }
        let code = checks::check(cfg, instr, &pe);
        if code != ErrorCode::None {
            return Err(AsmError::Invalid {
                at: site(instrs, i),
                code,
            });
        }
        pe.dispatch(instr);
        let fp = checks::footprint(cfg, instr, pe.active);
        if let Some((base, words)) = fetched_from {
            let (s, e) = (u64::from(base), u64::from(base) + 8 * u64::from(words));
            if let Some(a) = fp
                .iter()
                .find(|a| a.space == Space::Memory && a.write && a.start < e && s < a.end)
            {
                return Err(AsmError::OverwritesProgram {
                    at: site(instrs, i),
                    state: Access::describe(cfg, Space::Memory, 0, a.start.max(s), a.end.min(e)),
                });
            }
        }
        out.push(fp);
    }
    Ok(out)
}

/// Who signals each semaphore, each SIGNAL's count, each WAIT's target.
struct Semaphores {
    /// Per semaphore: the signalling engine and, in order, the signals' instruction indices.
    signals: Vec<(Option<EngineId>, Vec<usize>)>,
    /// Per instruction: a WAIT's target count (0 for other instructions).
    target: Vec<i64>,
}

impl Semaphores {
    fn new(instrs: &[Instr]) -> Result<Semaphores, AsmError> {
        let mut signals: Vec<(Option<EngineId>, Vec<usize>)> =
            vec![(None, vec![]); SEMAPHORES as usize];
        let mut target = vec![0i64; instrs.len()];
        for (i, instr) in instrs.iter().enumerate() {
            match *instr {
                Instr::Signal { sem, .. } => {
                    let e = instr.engine().expect("checked");
                    let (owner, list) = &mut signals[sem as usize];
                    match owner {
                        Some(o) if *o != e => {
                            return Err(AsmError::SharedSemaphore {
                                sem,
                                first: site(instrs, list[0]),
                                second: site(instrs, i),
                            })
                        }
                        _ => *owner = Some(e),
                    }
                    list.push(i);
                }
                Instr::Wait { sem, value, .. } => {
                    let t = signals[sem as usize].1.len() as i64;
                    // k = value (mod 2^16), t - 2^15 < k <= t + 2^15.
                    let up = (i64::from(value) - t).rem_euclid(1 << 16);
                    target[i] = if up <= 1 << 15 {
                        t + up
                    } else {
                        t + up - (1 << 16)
                    };
                }
                _ => {}
            }
        }
        Ok(Semaphores { signals, target })
    }

    /// The instruction index of the k-th signal on `sem` (k >= 1), if there is one.
    fn signal(&self, sem: u32, k: i64) -> Option<usize> {
        let list = &self.signals[sem as usize].1;
        usize::try_from(k - 1)
            .ok()
            .and_then(|i| list.get(i).copied())
    }
}

/// The greedy abstract execution: the order in which instructions leave their FIFOs (FENCE:
/// when it is dispatched), or the deadlock it runs into.
fn simulate(instrs: &[Instr], sems: &Semaphores) -> Result<Vec<usize>, AsmError> {
    let n = instrs.len();
    let mut fifo: [VecDeque<usize>; 3] = Default::default();
    let mut pending: [VecDeque<(u32, u64)>; 3] = Default::default();
    let mut count = [0u64; SEMAPHORES as usize];
    let (mut shadow, mut waiting, mut taken, mut streamed) = (false, 0u64, 0u64, 0u64);
    let mut order = Vec::with_capacity(n);
    let mut next = 0;
    loop {
        let mut progress = false;
        for e in EngineId::ALL {
            let ei = e.index();
            loop {
                while let Some(&(sem, need)) = pending[ei].front() {
                    if need > streamed {
                        break;
                    }
                    count[sem as usize] += 1;
                    pending[ei].pop_front();
                    progress = true;
                }
                let Some(&i) = fifo[ei].front() else { break };
                match instrs[i] {
                    Instr::Wait { sem, .. } if (count[sem as usize] as i64) < sems.target[i] => {
                        break;
                    }
                    Instr::Signal { sem, .. } => {
                        let need = if e == EngineId::Pe { taken } else { 0 };
                        pending[ei].push_back((sem, need));
                    }
                    Instr::LoadStationary { .. } => {
                        taken += 1;
                        if !shadow && waiting == 0 {
                            shadow = true;
                            streamed += 1;
                        } else {
                            waiting += 1;
                        }
                    }
                    Instr::MultiplyMoving { swap: true, .. } => {
                        shadow = false;
                        if waiting > 0 {
                            waiting -= 1;
                            shadow = true;
                            streamed += 1;
                        }
                    }
                    _ => {}
                }
                fifo[ei].pop_front();
                order.push(i);
                progress = true;
            }
        }
        while next < n {
            match instrs[next].engine() {
                None => {
                    // FENCE: every FIFO empty (signals left pending wait for loads that wait
                    // for their swaps, which do not hold a FENCE).
                    if fifo.iter().any(|f| !f.is_empty()) {
                        break;
                    }
                    order.push(next);
                }
                Some(e) => {
                    if fifo[e.index()].len() >= ENGINE_FIFO_DEPTH {
                        break;
                    }
                    fifo[e.index()].push_back(next);
                }
            }
            next += 1;
            progress = true;
        }
        if !progress {
            break;
        }
    }
    if next == n && fifo.iter().all(VecDeque::is_empty) {
        return Ok(order);
    }
    let dispatcher = (next < n).then(|| {
        let why = match instrs[next].engine() {
            None => "FENCE: not every FIFO is empty".to_string(),
            Some(e) => format!("the {e} FIFO is full"),
        };
        (site(instrs, next), why)
    });
    let blocked = fifo
        .iter()
        .filter_map(|f| f.front())
        .filter_map(|&i| match instrs[i] {
            Instr::Wait { sem, value, .. } => Some(BlockedWait {
                wait: site(instrs, i),
                sem,
                value,
                count: count[sem as usize],
            }),
            _ => None,
        })
        .collect();
    Err(AsmError::Deadlock {
        dispatcher,
        blocked,
    })
}

/// Vector clocks: `vc[i][e]` = instructions of engine `e` that happen before instruction `i`
/// or are it; `pos[i]` = `i`'s place on its engine (1 for the first).
struct Clocks {
    vc: Vec<[u32; 3]>,
    pos: Vec<u32>,
    /// `vc` of the instruction before a WAIT on its engine (the WAIT's own edge left out).
    before: Vec<[u32; 3]>,
}

fn join(a: [u32; 3], b: [u32; 3]) -> [u32; 3] {
    [a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2])]
}

impl Clocks {
    fn new(instrs: &[Instr], sems: &Semaphores, order: &[usize]) -> Clocks {
        let n = instrs.len();
        let mut c = Clocks {
            vc: vec![[0; 3]; n],
            pos: vec![0; n],
            before: vec![[0; 3]; n],
        };
        let mut last = [[0u32; 3]; 3];
        for &i in order {
            let Some(e) = instrs[i].engine() else {
                // FENCE: everything before it happens before everything after it.
                let j = join(join(last[0], last[1]), last[2]);
                last = [j; 3];
                c.vc[i] = j;
                continue;
            };
            let ei = e.index();
            let mut v = last[ei];
            c.before[i] = v;
            if let Instr::Wait { sem, .. } = instrs[i] {
                if let Some(s) = sems.signal(sem, sems.target[i]) {
                    v = join(v, c.vc[s]);
                }
            }
            v[ei] += 1;
            c.pos[i] = v[ei];
            c.vc[i] = v;
            last[ei] = v;
        }
        c
    }

    /// Whether instruction `a` happens before (or is) a point with clock `vc`.
    fn before_clock(&self, instrs: &[Instr], a: usize, vc: &[u32; 3]) -> bool {
        match instrs[a].engine() {
            Some(e) => vc[e.index()] >= self.pos[a],
            None => true,
        }
    }

    /// The window rule of every WAIT (module documentation).
    fn check_windows(&self, instrs: &[Instr], sems: &Semaphores) -> Result<(), AsmError> {
        for (i, instr) in instrs.iter().enumerate() {
            let Instr::Wait { sem, value, .. } = *instr else {
                continue;
            };
            let k = sems.target[i];
            let list = &sems.signals[sem as usize].1;
            let e = instr.engine().expect("checked").index();
            // Signals that happen before the WAIT (without its own edge) ...
            let lo = list.partition_point(|&s| self.before_clock(instrs, s, &self.before[i]));
            // ... and those that do not happen after it.
            let hi = list.partition_point(|&s| self.vc[s][e] < self.pos[i]);
            let (lo, hi) = (lo as u64, hi as u64);
            if (lo as i64) < k - (1 << 15) || hi as i64 > k + (1 << 15) - 1 {
                return Err(AsmError::SemaphoreWindow {
                    at: site(instrs, i),
                    sem,
                    value,
                    target: k,
                    lo,
                    hi,
                });
            }
        }
        Ok(())
    }
}

/// The last accesses of one run of state elements.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    write: Option<usize>,
    reads: [Option<usize>; 3],
}

/// Disjoint ranges `start -> (end, cell)`.
#[derive(Debug, Default)]
struct RangeMap {
    map: BTreeMap<u64, (u64, Cell)>,
}

impl RangeMap {
    fn split_at(&mut self, x: u64) {
        let Some((&s, &(e, cell))) = self.map.range(..x).next_back() else {
            return;
        };
        if s < x && x < e {
            self.map.insert(s, (x, cell));
            self.map.insert(x, (e, cell));
        }
    }

    /// Calls `f(start, end, cell)` on every run of `start..end`, gaps filled with empty cells.
    fn update<E>(
        &mut self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, u64, &mut Cell) -> Result<(), E>,
    ) -> Result<(), E> {
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.map.range(start..end).map(|(k, _)| *k).collect();
        let mut cur = start;
        for s in keys {
            if s > cur {
                let mut cell = Cell::default();
                f(cur, s, &mut cell)?;
                self.map.insert(cur, (s, cell));
            }
            let entry = self.map.get_mut(&s).expect("key");
            f(s, entry.0, &mut entry.1)?;
            cur = entry.0;
        }
        if cur < end {
            let mut cell = Cell::default();
            f(cur, end, &mut cell)?;
            self.map.insert(cur, (end, cell));
        }
        Ok(())
    }
}

fn check_races(
    cfg: &Config,
    instrs: &[Instr],
    order: &[usize],
    clocks: &Clocks,
    footprints: &[Vec<Access>],
) -> Result<(), AsmError> {
    let mut state: BTreeMap<(Space, u32), RangeMap> = BTreeMap::new();
    for &b in order {
        let Some(eb) = instrs[b].engine() else {
            continue;
        };
        let vc = clocks.vc[b];
        for a in &footprints[b] {
            let map = state.entry((a.space, a.key)).or_default();
            map.update(a.start, a.end, |s, e, cell| {
                let race = |first: usize, first_writes: bool| AsmError::Race {
                    first: site(instrs, first),
                    first_writes,
                    second: site(instrs, b),
                    second_writes: a.write,
                    state: Access::describe(cfg, a.space, a.key, s, e),
                };
                let ordered = |x: usize| {
                    instrs[x].engine() == Some(eb) || clocks.before_clock(instrs, x, &vc)
                };
                if let Some(w) = cell.write {
                    if !ordered(w) {
                        return Err(race(w, true));
                    }
                }
                if a.write {
                    for r in cell.reads.into_iter().flatten() {
                        if !ordered(r) {
                            return Err(race(r, false));
                        }
                    }
                    *cell = Cell {
                        write: Some(b),
                        reads: [None; 3],
                    };
                } else {
                    cell.reads[eb.index()] = Some(b);
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}
