//! The golden back end: the executable form of the ISA semantics of [`crate::isa`] and of the
//! memory path (`docs/memory-path.md`), built on the core-level golden model ([`CoreModel`]).
//!
//! There is no clock. The SBUF is `max(rows, cols)` partitions x `sbuf_depth` entries of `i64`
//! values (format values; bit patterns for the floating-point formats), zero at reset; the ACT
//! table `2 * cols` 32-bit words, zero at reset; the memory a [`Memory`] ([`SparseMemory`] by
//! default); 8 semaphores of 16 bits, zero at reset.
//!
//! # Machine
//!
//! Words go into the instruction queue (unbounded here: `QueueOverflow` is not modelled; host
//! pushes, or the instruction fetch). The **dispatcher** takes the instruction at the head of
//! the queue once all its words are there, checks it ([`super::checks`]: decode errors
//! `IllegalOpcode` / `UnusedBitsSet` first) and moves it, in order, into the FIFO of its engine
//! (PE, DMA or ACT; [`ENGINE_FIFO_DEPTH`] entries; WAIT / SIGNAL by their `engine` field), waiting
//! while that FIFO is full. FENCE waits at the dispatcher until every FIFO is empty and every
//! engine idle (a LOAD_STATIONARY waiting for its swap, and a PE SIGNAL waiting for such a load,
//! do not hold it) and then retires. The first failing check stops the dispatcher with its
//! [`ErrorCode`]; nothing after that instruction is dispatched until `clear_error`, and pushed
//! instructions are dropped meanwhile (the hardware queues them; `clear_error` empties the
//! queue).
//!
//! Each engine takes its FIFO in order; one **step** executes its head instruction whole:
//! * `WAIT engine, sem, value`: the step happens only when `(sem - value) mod 2^16 < 2^15`; it
//!   retires.
//! * `SIGNAL engine, sem`: leaves the FIFO at once (the engine goes on); it **fires** (`sem += 1`
//!   mod 2^16, retires) in a later step, after the signals before it on the same engine, once
//!   every instruction before it on that engine has completed: on PE that means every
//!   LOAD_STATIONARY before it streamed into the core; DMA and ACT instructions complete in
//!   their step.
//! * `LOAD_STATIONARY addr, k, m`: stationary row `k' < k` is entry `addr + k'` of partitions
//!   `0..cols`, columns `>= m` forced to 0 (the stationary is stored transposed: M on
//!   partitions). The core holds one loaded stationary in its shadow registers; one further load
//!   waits (the hardware holds it until the shadow is free) and is streamed into the core,
//!   reading the SBUF *at that moment*, right after the swap that frees the shadow. Swaps consume
//!   stationaries in load order. A load retires when it is streamed into the core.
//! * `MULTIPLY_MOVING addr, k, n, bank, offset, acc, swap`: moving beat `n'` is entry
//!   `addr + n'` of partitions `0..rows` (the core masks rows `>= k`); the columns written are
//!   `0..m` with `m` of the stationary in use (after the swap). Accumulating into a PSUM entry
//!   that was never written is a programming error of the caller (the hardware would add
//!   garbage): the call that runs it returns [`BackendError::Other`], the instruction is
//!   dropped, the status stays clear.
//! * `DMA_LOAD` / `DMA_STORE` (fields in `docs/isa.md`): for `r < rows`, `j < row_len`, element
//!   address `a = base + r * stride + j * 2^esize`: SBUF entry rows `SBUF[part + j][entry + r]
//!   <-> mem[a]`; partition rows `SBUF[part + r][entry + j] <-> mem[a]`; an SBUF element is EB
//!   bytes, little-endian (EB = 1 for 8-bit formats, 2 for bf16); PSUM store `mem32[a] <-
//!   psum[bank][offset + r][part + j]` (the 32 accumulator bits); TABLE load `table[entry + r *
//!   row_len + j] <- mem32[a]`. Rows are moved in order `r`, elements in order `j`, so when rows
//!   overlap in memory the later row wins. A memory error (a faulty page, [`BusFault`]) stops
//!   the engine with `DmaBus`: the failing instruction's destination is then undefined (here:
//!   written up to the failing row), the DMA engine discards the rest of its FIFO, the other
//!   engines finish theirs. Reading a PSUM entry never written is a caller error, as above.
//!   Counters: `dma_read_bytes += rows * row_len * 2^esize` for a load, `dma_write_bytes` the
//!   same for a store.
//! * `ACTIVATE` (fields in `docs/isa.md`): for `n' < n`, `m' < m`, `x = psum[bank][offset +
//!   n'][m']` goes through [`crate::golden::requant`] with `scale = table[per_col ? m' : 0]`,
//!   `bias = table[cols + m']` (if `bias`), into `SBUF[m'][entry + n']`; raw32 writes the 32
//!   bits of `x` into entries `entry + n' * 4/EB + i`, `i < 4/EB`, little-endian. Integer
//!   engines have int32 accumulators and int8 / uint8 outputs, floating-point engines fp32
//!   accumulators and bf16 / fp8 outputs (the dtype is the format). Reading a PSUM entry never
//!   written is a caller error.
//!
//! Errors that stop the engine (the dispatcher's checks, `DmaBus`) stop dispatch; the engines
//! still finish the instructions already in their FIFOs (a WAIT that can no longer be satisfied
//! stays). `clear_error` clears the error and drops everything not executed: the queue, the
//! FIFOs, the loads waiting for a swap and the signals not fired; it keeps the semaphores, the
//! SBUF, the table, the memory, the PSUM and the stationaries in the core (in use and in the
//! shadow).
//!
//! # Order
//!
//! A [`Schedule`] picks which enabled step comes next (an engine's step, a signal firing, a
//! dispatch). [`Schedule::InOrder`] (the default) runs PE, DMA and ACT steps before firing
//! signals, and those before dispatching; it runs after every push and fetch, so an
//! instruction without a WAIT in its way executes when it is pushed. [`Schedule::Random`] picks
//! uniformly among the enabled steps (seeded) and runs only in [`Engine::wait_idle`]: a valid
//! program (`crate::engine::asm`) gives the same SBUF, PSUM, table, memory and semaphores
//! whatever the choices.
//!
//! # Instruction fetch
//!
//! [`Engine::start_program`]`(base, words)` (PROG_BASE, PROG_WORDS, CONTROL.START): refused
//! while the engine is busy or stopped; `base` not a multiple of 8 stops the engine with
//! `DmaAlign`, `base + 8 * words > 2^32` with `DmaRange`. Otherwise it clears the semaphores and
//! appends the words (little-endian 64-bit) to the queue, in order; a word on a faulty page
//! stops the engine with `DmaBus` once the words before it have been appended and run.
//!
//! # Counters
//! `macs` = sum of `k * m * n` of the executed MULTIPLY_MOVINGs, `retired` = instructions
//! retired (FENCE at dispatch, the others as above), `dma_read_bytes` / `dma_write_bytes` as
//! above. `busy_cycles` stays 0: there is no clock here, so utilisation figures (MACs per busy
//! cycle) come from the `rtl` back end; the stall-free cycle count of a core-level program is
//! [`crate::golden::timing`]'s business.

use std::collections::VecDeque;

use crate::config::Config;
use crate::golden::requant;
use crate::golden::{CoreError, CoreModel};
use crate::isa::{
    Act, ActDtype, ActFunc, DecodeError, Dma, DmaTarget, EngineId, ErrorCode, Instr,
    ENGINE_FIFO_DEPTH, SEMAPHORES,
};
use crate::program::{Command, SplitMix64};

use super::checks::{self, PeLoads};
use super::memory::{BusFault, Memory, SparseMemory};
use super::{BackendError, Counters, Engine, Status};

/// How the golden back end orders the steps of its engines (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Engines (PE, DMA, ACT), then signals, then the dispatcher; after every push.
    #[default]
    InOrder,
    /// A seeded random choice among the enabled steps, in `wait_idle` only.
    Random(u64),
}

/// A LOAD_STATIONARY accepted but not yet streamed into the core (the shadow was occupied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingLoad {
    addr: u32,
    k: u32,
    m: u32,
}

/// A SIGNAL that left its FIFO and has not fired: its semaphore and the loads that must have
/// been streamed first (PE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingSignal {
    sem: u32,
    loads: u64,
}

/// One step of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Engine(EngineId),
    Fire(EngineId),
    Dispatch,
}

/// The golden back end (see the module documentation).
#[derive(Debug, Clone)]
pub struct GoldenEngine<M: Memory = SparseMemory> {
    cfg: Config,
    /// `partitions x sbuf_depth`.
    sbuf: Vec<Vec<i64>>,
    core: CoreModel,
    error: ErrorCode,
    /// Words pushed or fetched, not yet dispatched.
    queue: VecDeque<u64>,
    fifos: [VecDeque<Instr>; 3],
    /// Loads waiting for the shadow to be freed by a swap, in load order.
    waiting: VecDeque<PendingLoad>,
    /// `m` of the stationary in the core's shadow (loaded, not swapped in yet).
    shadow_m: Option<u32>,
    /// `m` of the stationary in use.
    active_m: Option<u32>,
    /// LOAD_STATIONARYs taken from the PE FIFO, and streamed into the core, since reset.
    loads_taken: u64,
    loads_streamed: u64,
    signals: [VecDeque<PendingSignal>; 3],
    sems: [u16; SEMAPHORES as usize],
    table: Vec<u32>,
    memory: M,
    counters: Counters,
    schedule: Schedule,
    rng: SplitMix64,
}

impl GoldenEngine<SparseMemory> {
    pub fn new(cfg: &Config) -> GoldenEngine<SparseMemory> {
        GoldenEngine::with_memory(cfg, SparseMemory::new())
    }
}

impl<M: Memory> GoldenEngine<M> {
    /// A golden engine on the memory `memory`.
    pub fn with_memory(cfg: &Config, memory: M) -> GoldenEngine<M> {
        let partitions = checks::partitions(cfg) as usize;
        GoldenEngine {
            cfg: cfg.clone(),
            sbuf: vec![vec![0; cfg.sbuf_depth as usize]; partitions],
            core: CoreModel::new(cfg),
            error: ErrorCode::None,
            queue: VecDeque::new(),
            fifos: Default::default(),
            waiting: VecDeque::new(),
            shadow_m: None,
            active_m: None,
            loads_taken: 0,
            loads_streamed: 0,
            signals: Default::default(),
            sems: [0; SEMAPHORES as usize],
            table: vec![0; 2 * cfg.cols as usize],
            memory,
            counters: Counters::default(),
            schedule: Schedule::InOrder,
            rng: SplitMix64::new(0),
        }
    }

    /// Choose how steps are ordered from now on.
    pub fn set_schedule(&mut self, schedule: Schedule) {
        self.schedule = schedule;
        if let Schedule::Random(seed) = schedule {
            self.rng = SplitMix64::new(seed);
        }
    }

    /// Push a raw 64-bit instruction word: a word that does not decode stops the engine with
    /// `IllegalOpcode` or `UnusedBitsSet` (when its instruction reaches the dispatcher).
    pub fn push_word(&mut self, word: u64) -> Result<(), BackendError> {
        if self.error != ErrorCode::None {
            return Ok(());
        }
        self.queue.push_back(word);
        self.auto_run()
    }

    /// Push raw words (see [`Self::push_word`]).
    pub fn push_words(&mut self, words: &[u64]) -> Result<(), BackendError> {
        if self.error != ErrorCode::None {
            return Ok(());
        }
        self.queue.extend(words);
        self.auto_run()
    }

    /// The current status (the same as [`Engine::wait_idle`] returns, without running). `busy`
    /// while anything is queued (and no error), in a FIFO, waiting for a swap or not fired.
    pub fn status(&self) -> Status {
        let busy = (!self.queue.is_empty() && self.error == ErrorCode::None)
            || self.fifos.iter().any(|f| !f.is_empty())
            || !self.waiting.is_empty()
            || self.signals.iter().any(|s| !s.is_empty());
        Status {
            busy,
            error: self.error,
            queue_free: u32::MAX,
        }
    }

    /// One SBUF element (for tests and debugging).
    ///
    /// # Panics
    /// If `partition` or `entry` is out of range.
    pub fn sbuf(&self, partition: u32, entry: u32) -> i64 {
        self.sbuf[partition as usize][entry as usize]
    }

    /// The whole SBUF, `[partition][entry]`.
    pub fn sbuf_contents(&self) -> &[Vec<i64>] {
        &self.sbuf
    }

    /// The ACT table (`2 * cols` words: scales, then biases).
    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// The core model underneath.
    pub fn core(&self) -> &CoreModel {
        &self.core
    }

    /// The core model, to set PSUM values directly ([`CoreModel::poke_psum`]) in tests.
    pub fn core_mut(&mut self) -> &mut CoreModel {
        &mut self.core
    }

    pub fn memory(&self) -> &M {
        &self.memory
    }

    pub fn memory_mut(&mut self) -> &mut M {
        &mut self.memory
    }

    /// Loads accepted but not streamed into the core yet.
    pub fn waiting_loads(&self) -> usize {
        self.waiting.len()
    }

    /// Instructions in each engine's FIFO (PE, DMA, ACT).
    pub fn fifo_lengths(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.fifos[i].len())
    }

    fn auto_run(&mut self) -> Result<(), BackendError> {
        match self.schedule {
            Schedule::InOrder => self.run(),
            Schedule::Random(_) => Ok(()),
        }
    }

    /// Take steps until none is enabled.
    pub fn run(&mut self) -> Result<(), BackendError> {
        let mut steps = Vec::with_capacity(7);
        loop {
            steps.clear();
            self.enabled(&mut steps);
            let Some(&first) = steps.first() else {
                return Ok(());
            };
            let step = match self.schedule {
                Schedule::InOrder => first,
                Schedule::Random(_) => steps[self.rng.below(steps.len() as u64) as usize],
            };
            self.take(step)?;
        }
    }

    /// The enabled steps, in the in-order priority.
    fn enabled(&self, out: &mut Vec<Step>) {
        for e in EngineId::ALL {
            if let Some(head) = self.fifos[e.index()].front() {
                let ready = match *head {
                    Instr::Wait { sem, value, .. } => self.satisfied(sem, value),
                    _ => true,
                };
                if ready {
                    out.push(Step::Engine(e));
                }
            }
        }
        for e in EngineId::ALL {
            if let Some(s) = self.signals[e.index()].front() {
                if s.loads <= self.loads_streamed {
                    out.push(Step::Fire(e));
                }
            }
        }
        if self.dispatch_ready() {
            out.push(Step::Dispatch);
        }
    }

    /// `(sem - value) mod 2^16 < 2^15`.
    fn satisfied(&self, sem: u32, value: u32) -> bool {
        self.sems[sem as usize].wrapping_sub(value as u16) < 1 << 15
    }

    /// The head instruction's words, if they are all in the queue (or the head word alone if
    /// it starts no instruction).
    fn head_words(&self) -> Option<Vec<u64>> {
        let first = *self.queue.front()?;
        let n = Instr::words_needed(first).unwrap_or(1);
        (self.queue.len() >= n).then(|| self.queue.iter().take(n).copied().collect())
    }

    fn dispatch_ready(&self) -> bool {
        if self.error != ErrorCode::None {
            return false;
        }
        let Some(words) = self.head_words() else {
            return false;
        };
        match Instr::decode_words(&words) {
            Err(_) => true,
            Ok(Instr::Fence) => self.fence_may_pass(),
            Ok(i) => match i.engine() {
                Some(e) => self.fifos[e.index()].len() < ENGINE_FIFO_DEPTH,
                None => true, // a WAIT / SIGNAL naming no engine: IllegalOpcode
            },
        }
    }

    /// FIFOs empty and every signal fired, except PE signals that wait for a load that waits
    /// for its swap.
    fn fence_may_pass(&self) -> bool {
        self.fifos.iter().all(VecDeque::is_empty)
            && self.signals[1].is_empty()
            && self.signals[2].is_empty()
            && self.signals[0]
                .iter()
                .all(|s| s.loads > self.loads_streamed)
    }

    /// The loads as the dispatcher sees them: executed ones, and those in the PE FIFO.
    fn pe_loads(&self) -> PeLoads {
        let mut pe = PeLoads {
            pending: self
                .shadow_m
                .iter()
                .copied()
                .chain(self.waiting.iter().map(|l| l.m))
                .collect(),
            active: self.active_m,
        };
        for i in &self.fifos[0] {
            pe.dispatch(i);
        }
        pe
    }

    fn take(&mut self, step: Step) -> Result<(), BackendError> {
        match step {
            Step::Dispatch => {
                self.dispatch();
                Ok(())
            }
            Step::Fire(e) => {
                let s = self.signals[e.index()].pop_front().expect("enabled");
                self.sems[s.sem as usize] = self.sems[s.sem as usize].wrapping_add(1);
                self.counters.retired += 1;
                Ok(())
            }
            Step::Engine(e) => {
                let instr = self.fifos[e.index()].pop_front().expect("enabled");
                self.execute(e, instr)
            }
        }
    }

    fn dispatch(&mut self) {
        let words = self.head_words().expect("enabled");
        let code = match Instr::decode_words(&words) {
            Err(DecodeError::IllegalOpcode(_)) => ErrorCode::IllegalOpcode,
            Err(DecodeError::UnusedBits(..) | DecodeError::WordCount { .. }) => {
                ErrorCode::UnusedBitsSet
            }
            Ok(instr) => {
                let code = checks::check(&self.cfg, &instr, &self.pe_loads());
                if code == ErrorCode::None {
                    self.queue.drain(..words.len());
                    match instr.engine() {
                        Some(e) => self.fifos[e.index()].push_back(instr),
                        None => self.counters.retired += 1, // FENCE
                    }
                }
                code
            }
        };
        if code != ErrorCode::None {
            self.error = code;
        }
    }

    fn execute(&mut self, e: EngineId, instr: Instr) -> Result<(), BackendError> {
        match instr {
            Instr::Wait { .. } => {
                self.counters.retired += 1;
                Ok(())
            }
            Instr::Signal { sem, .. } => {
                let loads = if e == EngineId::Pe {
                    self.loads_taken
                } else {
                    0
                };
                self.signals[e.index()].push_back(PendingSignal { sem, loads });
                Ok(())
            }
            Instr::LoadStationary { addr, k, m } => {
                self.loads_taken += 1;
                let load = PendingLoad { addr, k, m };
                if self.shadow_m.is_none() && self.waiting.is_empty() {
                    self.stream(load)
                } else {
                    self.waiting.push_back(load);
                    Ok(())
                }
            }
            Instr::MultiplyMoving { .. } => self.multiply(instr),
            Instr::DmaLoad(d) | Instr::DmaStore(d) => {
                self.dma(&instr, &d, matches!(instr, Instr::DmaStore(_)))
            }
            Instr::Activate(a) => self.activate(&instr, &a),
            Instr::Fence => unreachable!("FENCE is not in a FIFO"),
        }
    }

    fn multiply(&mut self, instr: Instr) -> Result<(), BackendError> {
        let Instr::MultiplyMoving {
            addr,
            k,
            n,
            bank,
            offset,
            acc,
            swap,
        } = instr
        else {
            unreachable!()
        };
        let m = if swap { self.shadow_m } else { self.active_m }.expect("checked at dispatch");
        let moving = (0..n)
            .map(|i| {
                (0..self.cfg.rows)
                    .map(|r| self.sbuf[r as usize][(addr + i) as usize])
                    .collect()
            })
            .collect();
        let command = Command::MultiplyMoving {
            k,
            m,
            bank,
            offset,
            accumulate: acc,
            swap,
            moving,
        };
        self.core.execute(&command).map_err(|e| match e {
            CoreError::AccumulateUnwritten {
                bank, addr, column, ..
            } => BackendError::Other(format!(
                "{instr}: accumulates into PSUM bank {bank} entry {addr} column \
                     {column}, which was never written (the hardware would add garbage); \
                     the instruction was not executed"
            )),
            e => internal(&instr, e),
        })?;
        self.counters.macs += u64::from(k) * u64::from(m) * u64::from(n);
        self.counters.retired += 1;
        if swap {
            self.active_m = self.shadow_m.take();
            if let Some(next) = self.waiting.pop_front() {
                self.stream(next)?;
            }
        }
        Ok(())
    }

    /// Stream a load into the core's (free) shadow, reading the SBUF now.
    fn stream(&mut self, load: PendingLoad) -> Result<(), BackendError> {
        let rows = (0..load.k)
            .map(|kk| {
                (0..self.cfg.cols)
                    .map(|c| {
                        if c < load.m {
                            self.sbuf[c as usize][(load.addr + kk) as usize]
                        } else {
                            0
                        }
                    })
                    .collect()
            })
            .collect();
        let instr = Instr::LoadStationary {
            addr: load.addr,
            k: load.k,
            m: load.m,
        };
        self.core
            .execute(&Command::LoadStationary { rows })
            .map_err(|e| internal(&instr, e))?;
        self.shadow_m = Some(load.m);
        self.loads_streamed += 1;
        self.counters.retired += 1;
        Ok(())
    }

    /// A PSUM value read by DMA or ACTIVATE: never-written entries are a caller error.
    fn psum_value(
        &self,
        instr: &Instr,
        bank: u32,
        entry: u32,
        col: u32,
    ) -> Result<u32, BackendError> {
        self.core.psum(bank, entry)[col as usize]
            .map(|v| v as u32)
            .ok_or_else(|| {
                BackendError::Other(format!(
                    "{instr}: reads PSUM bank {bank} entry {entry} column {col}, which was never \
                     written (the hardware would read garbage); the instruction was not executed"
                ))
            })
    }

    /// The DMA engine stops on a bus error: `DmaBus`, and its FIFO is discarded.
    fn bus_error(&mut self, _fault: BusFault) {
        self.error = ErrorCode::DmaBus;
        self.fifos[EngineId::Dma.index()].clear();
    }

    fn dma(&mut self, instr: &Instr, d: &Dma, store: bool) -> Result<(), BackendError> {
        let target = DmaTarget::from_code(d.target).expect("checked at dispatch");
        let es = 1usize << d.esize;
        let (rows, len) = (d.rows as usize, d.row_len as usize);
        let format = self.cfg.format;
        // Element (r, j): where it lives in the engine.
        let place = |r: u32, j: u32| -> (u32, u32) {
            match (target, d.layout) {
                (DmaTarget::Sbuf, 0) => (d.part + j, d.entry + r),
                (DmaTarget::Sbuf, _) => (d.part + r, d.entry + j),
                (DmaTarget::Psum, _) => (d.part + j, d.offset + r),
                (DmaTarget::Table, _) => (0, d.entry + r * d.row_len + j),
            }
        };
        if target == DmaTarget::Psum {
            // Every PSUM value first: a never-written one is refused before anything moves.
            for r in 0..d.rows {
                for j in 0..d.row_len {
                    let (c, e) = place(r, j);
                    self.psum_value(instr, d.bank, e, c)?;
                }
            }
        }
        let mut row = vec![0u8; len * es];
        for r in 0..d.rows {
            let addr = (u64::from(d.base) + u64::from(r) * u64::from(d.stride)) as u32;
            if store {
                for j in 0..d.row_len {
                    let (p, e) = place(r, j);
                    let bits = match target {
                        DmaTarget::Sbuf => format.to_bits(self.sbuf[p as usize][e as usize]),
                        _ => u64::from(self.psum_value(instr, d.bank, e, p)?),
                    };
                    let at = j as usize * es;
                    row[at..at + es].copy_from_slice(&bits.to_le_bytes()[..es]);
                }
                if let Err(f) = self.memory.write(addr, &row) {
                    self.bus_error(f);
                    return Ok(());
                }
            } else {
                if let Err(f) = self.memory.read(addr, &mut row) {
                    self.bus_error(f);
                    return Ok(());
                }
                for j in 0..d.row_len {
                    let at = j as usize * es;
                    let mut b = [0u8; 8];
                    b[..es].copy_from_slice(&row[at..at + es]);
                    let bits = u64::from_le_bytes(b);
                    let (p, e) = place(r, j);
                    match target {
                        DmaTarget::Sbuf => {
                            self.sbuf[p as usize][e as usize] = format.from_bits(bits)
                        }
                        _ => self.table[e as usize] = bits as u32,
                    }
                }
            }
        }
        let bytes = (rows * len * es) as u64;
        if store {
            self.counters.dma_write_bytes += bytes;
        } else {
            self.counters.dma_read_bytes += bytes;
        }
        self.counters.retired += 1;
        Ok(())
    }

    fn activate(&mut self, instr: &Instr, a: &Act) -> Result<(), BackendError> {
        let dtype = ActDtype::from_code(a.dtype).expect("checked at dispatch");
        let func = ActFunc::from_code(a.func).expect("checked at dispatch");
        let mut x = vec![vec![0u32; a.m as usize]; a.n as usize];
        for (nn, row) in x.iter_mut().enumerate() {
            for (mm, v) in row.iter_mut().enumerate() {
                *v = self.psum_value(instr, a.bank, a.offset + nn as u32, mm as u32)?;
            }
        }
        let cols = self.cfg.cols as usize;
        let format = self.cfg.format;
        let per_value = checks::act_entries_per_value(&self.cfg, a);
        let eb_bits = 32 / per_value;
        for (nn, row) in x.iter().enumerate() {
            for (mm, &v) in row.iter().enumerate() {
                let scale = self.table[if a.per_col { mm } else { 0 }];
                let bias = a.bias.then_some(self.table[cols + mm]);
                let part = &mut self.sbuf[mm];
                let entry = a.entry as usize + nn * per_value as usize;
                match dtype {
                    ActDtype::Raw32 => {
                        for i in 0..per_value as usize {
                            let bits = u64::from(v) >> (i as u32 * eb_bits);
                            part[entry + i] = format.from_bits(bits);
                        }
                    }
                    ActDtype::Int8 | ActDtype::Uint8 => {
                        part[entry] = i64::from(requant::write_back_int(
                            v as i32,
                            bias.map(|b| b as i32),
                            scale,
                            dtype,
                            func,
                            a.zp,
                            a.lo,
                            a.hi,
                        ));
                    }
                    _ => {
                        let f = requant::float_format(dtype).expect("a float dtype");
                        let relu = func == ActFunc::Relu;
                        part[entry] = i64::from(requant::write_back_fp32(v, bias, scale, relu, f));
                    }
                }
            }
        }
        self.counters.retired += 1;
        Ok(())
    }
}

/// A core-model error the ISA checks should have caught first: a bug of this back end.
fn internal(instr: &Instr, e: CoreError) -> BackendError {
    BackendError::Other(format!(
        "golden back end: {instr} passed the ISA checks but the core model refused it: {e}"
    ))
}

impl<M: Memory> Engine for GoldenEngine<M> {
    fn config(&self) -> &Config {
        &self.cfg
    }

    fn write_sbuf(
        &mut self,
        partition: u32,
        entry: u32,
        values: &[i64],
    ) -> Result<(), BackendError> {
        super::check_sbuf_write(&self.cfg, partition, entry, values)?;
        let start = entry as usize;
        self.sbuf[partition as usize][start..start + values.len()].copy_from_slice(values);
        Ok(())
    }

    fn push(&mut self, instr: Instr) -> Result<(), BackendError> {
        if self.error != ErrorCode::None {
            return Ok(());
        }
        // An `Instr` whose values do not fit their fields has no words: refuse it (the
        // assembler would truncate or panic).
        if let Some((name, v, width)) = instr.misfit() {
            return Err(BackendError::Other(format!(
                "{instr}: {name} = {v} does not fit its {width}-bit field"
            )));
        }
        self.push_words(&instr.encode())
    }

    fn wait_idle(&mut self) -> Result<Status, BackendError> {
        self.run()?;
        Ok(self.status())
    }

    fn read_psum(&mut self, bank: u32, addr: u32) -> Result<Vec<u64>, BackendError> {
        let c = &self.cfg;
        if bank >= c.psum_banks || addr >= c.psum_depth {
            return Err(BackendError::Other(format!(
                "PSUM bank {bank} entry {addr} out of range ({} banks x {} entries)",
                c.psum_banks, c.psum_depth
            )));
        }
        let values = self.core.psum(bank, addr);
        if values.iter().all(Option::is_none) {
            return Err(BackendError::Other(format!(
                "PSUM entry never written: bank {bank} entry {addr}"
            )));
        }
        // Columns >= the m of every write are undefined in hardware; they read as 0 here.
        Ok(values.into_iter().map(|v| v.unwrap_or(0)).collect())
    }

    fn counters(&mut self) -> Result<Counters, BackendError> {
        Ok(self.counters)
    }

    fn clear_error(&mut self) -> Result<(), BackendError> {
        self.error = ErrorCode::None;
        self.queue.clear();
        self.fifos.iter_mut().for_each(VecDeque::clear);
        self.signals.iter_mut().for_each(VecDeque::clear);
        self.waiting.clear();
        self.loads_taken = self.loads_streamed;
        Ok(())
    }

    fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> Result<(), BackendError> {
        check_memory_range(addr, bytes.len())?;
        self.memory.poke(addr, bytes);
        Ok(())
    }

    fn read_memory(&mut self, addr: u32, len: usize) -> Result<Vec<u8>, BackendError> {
        check_memory_range(addr, len)?;
        let mut out = vec![0; len];
        self.memory.peek(addr, &mut out);
        Ok(out)
    }

    fn start_program(&mut self, base: u32, words: u32) -> Result<(), BackendError> {
        self.run()?;
        let st = self.status();
        if st.busy || st.error != ErrorCode::None {
            return Err(BackendError::Other(format!(
                "START while the engine is {}: refused",
                if st.busy { "busy" } else { "stopped" }
            )));
        }
        if !base.is_multiple_of(8) {
            self.error = ErrorCode::DmaAlign;
            return Ok(());
        }
        if u64::from(base) + 8 * u64::from(words) > 1 << 32 {
            self.error = ErrorCode::DmaRange;
            return Ok(());
        }
        self.sems = [0; SEMAPHORES as usize];
        for i in 0..words {
            let mut w = [0u8; 8];
            if let Err(_fault) = self.memory.read(base + 8 * i, &mut w) {
                self.auto_run()?;
                self.error = ErrorCode::DmaBus;
                return Ok(());
            }
            self.queue.push_back(u64::from_le_bytes(w));
        }
        self.auto_run()
    }

    fn clear_semaphores(&mut self) -> Result<(), BackendError> {
        self.sems = [0; SEMAPHORES as usize];
        Ok(())
    }

    fn semaphores(&mut self) -> Result<[u16; 8], BackendError> {
        Ok(self.sems)
    }
}

fn check_memory_range(addr: u32, len: usize) -> Result<(), BackendError> {
    if u64::from(addr) + len as u64 > 1 << 32 {
        return Err(BackendError::Other(format!(
            "memory bytes {addr:#x}..+{len} beyond 2^32"
        )));
    }
    Ok(())
}
