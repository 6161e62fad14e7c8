//! The golden back end: the executable form of the ISA semantics of [`crate::isa`], built on the
//! core-level golden model ([`EngineModel`]).
//!
//! There is no clock: every instruction executes when it is pushed, and
//! [`wait_idle`](Engine::wait_idle) only returns the status. The SBUF is `max(rows, cols)`
//! partitions x `sbuf_depth` entries of `i64` values, zero at reset.
//!
//! # Execution of one instruction
//!
//! While the engine is stopped by an error, pushed instructions are dropped (the hardware queues
//! them and [`clear_error`](Engine::clear_error) empties the queue). Otherwise the checks run in
//! this order and the first failing one stops the engine with its [`ErrorCode`], changing nothing
//! else: `IllegalOpcode` / `UnusedBitsSet` (the 64-bit word, see [`GoldenEngine::push_word`]),
//! `KRange` (`k` not in `1..=rows`), `MRange` (LOAD_STATIONARY: `m` not in `1..=cols`), `NRange`
//! (MULTIPLY_MOVING: `n` not in `1..=psum_depth`), `SbufRange` (LOAD_STATIONARY reads entries
//! `addr..addr + k`, MULTIPLY_MOVING entries `addr..addr + n`; beyond `sbuf_depth` is an error),
//! `BankRange`, `PsumRange` (`offset + n > psum_depth`), `SwapWithoutLoad` (a swap with no loaded
//! stationary waiting, a MULTIPLY_MOVING without swap before any stationary was swapped in, or a
//! LOAD_STATIONARY while [`MAX_PENDING_LOADS`] loads already wait for their swaps).
//!
//! * `LOAD_STATIONARY addr, k, m`: stationary row `k' < k` is entry `addr + k'` of partitions
//!   `0..cols`, columns `>= m` forced to 0 (the stationary is stored transposed: M on
//!   partitions). The core holds one loaded stationary in its shadow registers; one further
//!   load waits (the hardware holds it until the shadow is free) and is streamed into the core,
//!   reading the SBUF *at that moment*, right after the swap that frees the shadow. Swaps consume
//!   stationaries in load order. A load counts as retired when it is streamed into the core.
//! * `MULTIPLY_MOVING addr, k, n, bank, offset, acc, swap`: moving beat `n'` is entry
//!   `addr + n'` of partitions `0..rows` (the core masks rows `>= k`); the columns written are
//!   `0..m` with `m` of the stationary in use (after the swap). Accumulating into a PSUM entry
//!   that was never written is a programming error of the caller (the hardware would add
//!   garbage): `push` returns [`BackendError::Other`] and executes nothing, the status stays
//!   clear.
//! * `FENCE`: a no-op.
//!
//! # Counters
//! `macs` = sum of `k * m * n` of the executed MULTIPLY_MOVINGs, `retired` = instructions
//! executed. `busy_cycles` stays 0: there is no clock here, so utilisation figures (MACs per
//! busy cycle) come from the `rtl` back end; the stall-free cycle count of a core-level program
//! is [`crate::golden::timing`]'s business.
//!
//! # What the golden back end does not model
//! `QueueOverflow` (the queue is unbounded: [`Status::queue_free`] is `u32::MAX`) and
//! `BusAddress` (there is no bus). [`clear_error`](Engine::clear_error) drops the loads waiting
//! in the FIFO (queued, not executed) but keeps the core's state: the stationary in use, a
//! stationary already streamed into the shadow, and the PSUM.

use std::collections::VecDeque;

use crate::config::Config;
use crate::golden::{EngineError, EngineModel};
use crate::isa::{DecodeError, ErrorCode, Instr, FIELDS, MAX_PENDING_LOADS};
use crate::program::Command;

use super::{BackendError, Counters, Engine, Status};

/// A LOAD_STATIONARY accepted but not yet streamed into the core (the shadow was occupied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingLoad {
    addr: u32,
    k: u32,
    m: u32,
}

/// The golden back end (see the module documentation).
#[derive(Debug, Clone)]
pub struct GoldenEngine {
    cfg: Config,
    /// `partitions x sbuf_depth`.
    sbuf: Vec<Vec<i64>>,
    core: EngineModel,
    error: ErrorCode,
    /// Loads waiting for the shadow to be freed by a swap, in load order.
    waiting: VecDeque<PendingLoad>,
    /// `m` of the stationary in the core's shadow (loaded, not swapped in yet).
    shadow_m: Option<u32>,
    /// `m` of the stationary in use.
    active_m: Option<u32>,
    counters: Counters,
}

impl GoldenEngine {
    pub fn new(cfg: &Config) -> GoldenEngine {
        let partitions = cfg.rows.max(cfg.cols) as usize;
        GoldenEngine {
            cfg: cfg.clone(),
            sbuf: vec![vec![0; cfg.sbuf_depth as usize]; partitions],
            core: EngineModel::new(cfg),
            error: ErrorCode::None,
            waiting: VecDeque::new(),
            shadow_m: None,
            active_m: None,
            counters: Counters::default(),
        }
    }

    /// Push a raw 64-bit instruction word: a word that does not decode stops the engine with
    /// `IllegalOpcode` or `UnusedBitsSet`.
    pub fn push_word(&mut self, word: u64) -> Result<(), BackendError> {
        if self.error != ErrorCode::None {
            return Ok(());
        }
        match Instr::decode(word) {
            Ok(instr) => self.execute(instr),
            Err(DecodeError::IllegalOpcode(_)) => {
                self.error = ErrorCode::IllegalOpcode;
                Ok(())
            }
            Err(DecodeError::UnusedBits(..) | DecodeError::WordCount { .. }) => {
                self.error = ErrorCode::UnusedBitsSet;
                Ok(())
            }
        }
    }

    /// The current status (the same as [`Engine::wait_idle`] returns). `busy` is true while a
    /// load waits in the FIFO for a swap (the hardware would wait forever without one).
    pub fn status(&self) -> Status {
        Status {
            busy: !self.waiting.is_empty(),
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

    /// The core model underneath.
    pub fn core(&self) -> &EngineModel {
        &self.core
    }

    /// Loads accepted and not claimed by a swap yet: the one in the shadow and those waiting.
    fn pending_loads(&self) -> usize {
        usize::from(self.shadow_m.is_some()) + self.waiting.len()
    }

    /// Loads accepted but not streamed into the core yet.
    pub fn waiting_loads(&self) -> usize {
        self.waiting.len()
    }

    fn stop(&mut self, code: ErrorCode) -> Result<(), BackendError> {
        self.error = code;
        Ok(())
    }

    /// The range checks of the module documentation, in order (decode errors excluded).
    fn check(&self, instr: &Instr) -> ErrorCode {
        let c = &self.cfg;
        let sbuf_ok =
            |addr: u32, count: u32| u64::from(addr) + u64::from(count) <= u64::from(c.sbuf_depth);
        match *instr {
            Instr::LoadStationary { addr, k, m } => {
                if !(1..=c.rows).contains(&k) {
                    ErrorCode::KRange
                } else if !(1..=c.cols).contains(&m) {
                    ErrorCode::MRange
                } else if !sbuf_ok(addr, k) {
                    ErrorCode::SbufRange
                } else if self.pending_loads() >= MAX_PENDING_LOADS as usize {
                    ErrorCode::SwapWithoutLoad
                } else {
                    ErrorCode::None
                }
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                swap,
                ..
            } => {
                if !(1..=c.rows).contains(&k) {
                    ErrorCode::KRange
                } else if !(1..=c.psum_depth).contains(&n) {
                    ErrorCode::NRange
                } else if !sbuf_ok(addr, n) {
                    ErrorCode::SbufRange
                } else if bank >= c.psum_banks {
                    ErrorCode::BankRange
                } else if u64::from(offset) + u64::from(n) > u64::from(c.psum_depth) {
                    ErrorCode::PsumRange
                } else if (swap && self.shadow_m.is_none()) || (!swap && self.active_m.is_none()) {
                    ErrorCode::SwapWithoutLoad
                } else {
                    ErrorCode::None
                }
            }
            Instr::Fence => ErrorCode::None,
            // The memory path is not modelled by this back end yet.
            _ => ErrorCode::IllegalOpcode,
        }
    }

    fn execute(&mut self, instr: Instr) -> Result<(), BackendError> {
        let code = self.check(&instr);
        if code != ErrorCode::None {
            return self.stop(code);
        }
        match instr {
            Instr::LoadStationary { addr, k, m } => {
                let load = PendingLoad { addr, k, m };
                if self.shadow_m.is_none() && self.waiting.is_empty() {
                    self.stream(load)?;
                } else {
                    self.waiting.push_back(load);
                }
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                acc,
                swap,
            } => {
                let m = if swap { self.shadow_m } else { self.active_m }.expect("checked");
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
                    EngineError::AccumulateUnwritten {
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
            }
            Instr::Fence => self.counters.retired += 1,
            _ => unreachable!("refused by check"),
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
        self.counters.retired += 1;
        Ok(())
    }
}

/// A core-model error the ISA checks should have caught first: a bug of this back end.
fn internal(instr: &Instr, e: EngineError) -> BackendError {
    BackendError::Other(format!(
        "golden back end: {instr} passed the ISA checks but the core model refused it: {e}"
    ))
}

impl Engine for GoldenEngine {
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
        // An `Instr` whose values do not fit their fields has no word: refuse it (the assembler
        // would truncate or panic).
        let values: &[(&str, u64)] = &match instr {
            Instr::LoadStationary { addr, k, m } => {
                vec![("addr", addr.into()), ("k", k.into()), ("m", m.into())]
            }
            Instr::MultiplyMoving {
                addr,
                k,
                n,
                bank,
                offset,
                ..
            } => vec![
                ("addr", addr.into()),
                ("k", k.into()),
                ("n", n.into()),
                ("bank", bank.into()),
                ("offset", offset.into()),
            ],
            _ => vec![],
        };
        for &(name, v) in values {
            let f = FIELDS.iter().find(|f| f.name == name).expect("field");
            if v > f.mask() {
                return Err(BackendError::Other(format!(
                    "{instr}: {name} = {v} does not fit its {}-bit field",
                    f.width
                )));
            }
        }
        self.execute(instr)
    }

    fn wait_idle(&mut self) -> Result<Status, BackendError> {
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
        self.waiting.clear();
        Ok(())
    }
}
