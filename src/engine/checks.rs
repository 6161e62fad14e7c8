//! What the dispatcher checks before it dispatches an instruction, and which state an
//! instruction touches: one definition for the golden back end ([`super::golden`]) and the
//! program checker ([`super::asm`]).
//!
//! # The checks, in order (the first failing one is the error)
//!
//! Every instruction: a memory-path opcode (4..=8) on an engine without `dma`:
//! `IllegalOpcode`; a WAIT / SIGNAL whose `engine` is 3: `IllegalOpcode`.
//!
//! LOAD_STATIONARY and MULTIPLY_MOVING: as before the memory path (`KRange`, `MRange`,
//! `NRange`, `SbufRange`, `BankRange`, `PsumRange`, `SwapWithoutLoad`; see
//! `crate::engine::golden`), the loads counted in dispatch order ([`PeLoads`]).
//!
//! DMA_LOAD / DMA_STORE (`DmaRange`, then `DmaAlign`):
//! 1. `target` allowed for the direction (load: SBUF, TABLE; store: SBUF, PSUM);
//! 2. `layout` 0 unless the target is SBUF; `esize` = log2(EB) for SBUF, 2 for PSUM and TABLE;
//! 3. `rows` and `row_len` >= 1;
//! 4. the fields the target does not use are 0 (SBUF: `bank`, `offset`; PSUM: `layout`,
//!    `entry`; TABLE: `part`, `bank`, `offset`);
//! 5. the bounds: SBUF entry rows `part + row_len <= partitions`, `entry + rows <= sbuf_depth`;
//!    partition rows `part + rows <= partitions`, `entry + row_len <= sbuf_depth`; PSUM `bank <
//!    psum_banks`, `offset + rows <= psum_depth`, `part + row_len <= cols`; TABLE `entry + rows *
//!    row_len <= 2 * cols`;
//! 6. the memory bytes `base .. base + (rows - 1) * stride + row_len * 2^esize` end at or below
//!    `2^32`;
//! 7. `DmaAlign`: `base` and `stride` multiples of `2^esize`.
//!
//! ACTIVATE (`ActRange`): `dtype` and `func` codes in the table; `dtype` the engine's format
//! (int8, uint8, bf16, fp8e4m3, fp8e5m2) or raw32; raw32 with `func` identity and neither
//! `per_col` nor `bias`; clamp only for int8 / uint8; `zp`, `lo`, `hi` 0 where the dtype and
//! function do not use them (`zp` only for int8 / uint8, `lo` and `hi` only for clamp); `n` and
//! `m` >= 1, `m <= cols`, `bank < psum_banks`, `offset + n <= psum_depth`, `entry + n * w <=
//! sbuf_depth` with `w = 4 / EB` for raw32, else 1.

use std::collections::VecDeque;

use crate::config::{sbuf_entry_bytes, Config};
use crate::format::{FpFormat, NumberFormat};
use crate::isa::{Act, ActDtype, ActFunc, Dma, DmaTarget, ErrorCode, Instr, MAX_PENDING_LOADS};

/// The stationaries as the dispatcher sees them: `m` of each load dispatched and not yet
/// claimed by a dispatched swap (oldest first), and `m` of the one in use after the last
/// dispatched swap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeLoads {
    pub pending: VecDeque<u32>,
    pub active: Option<u32>,
}

impl PeLoads {
    /// Account for a dispatched instruction (one that passed [`check`]).
    pub fn dispatch(&mut self, instr: &Instr) {
        match *instr {
            Instr::LoadStationary { m, .. } => self.pending.push_back(m),
            Instr::MultiplyMoving { swap: true, .. } => {
                self.active = self.pending.pop_front();
            }
            _ => {}
        }
    }
}

/// Bytes of one SBUF element (EB).
pub fn eb(cfg: &Config) -> u32 {
    sbuf_entry_bytes(cfg.format.bits())
}

/// Number of SBUF partitions.
pub fn partitions(cfg: &Config) -> u32 {
    cfg.rows.max(cfg.cols)
}

/// The ACTIVATE dtype that writes the engine's format, if it has one.
pub fn format_dtype(format: NumberFormat) -> Option<ActDtype> {
    match format {
        NumberFormat::Int { bits: 8, signed } => Some(if signed {
            ActDtype::Int8
        } else {
            ActDtype::Uint8
        }),
        NumberFormat::Float(FpFormat::Bf16) => Some(ActDtype::Bf16),
        NumberFormat::Float(FpFormat::E4M3) => Some(ActDtype::Fp8E4M3),
        NumberFormat::Float(FpFormat::E5M2) => Some(ActDtype::Fp8E5M2),
        NumberFormat::Int { .. } => None,
    }
}

/// The check of the module documentation for one instruction at dispatch.
pub fn check(cfg: &Config, instr: &Instr, pe: &PeLoads) -> ErrorCode {
    let memory_path = !matches!(
        instr,
        Instr::LoadStationary { .. } | Instr::MultiplyMoving { .. } | Instr::Fence
    );
    if memory_path && !cfg.dma {
        return ErrorCode::IllegalOpcode;
    }
    match instr {
        Instr::LoadStationary { .. } | Instr::MultiplyMoving { .. } => check_pe(cfg, instr, pe),
        Instr::Fence => ErrorCode::None,
        Instr::DmaLoad(d) => check_dma(cfg, d, false),
        Instr::DmaStore(d) => check_dma(cfg, d, true),
        Instr::Activate(a) => check_act(cfg, a),
        Instr::Wait { engine, .. } | Instr::Signal { engine, .. } => {
            if *engine >= 3 {
                ErrorCode::IllegalOpcode
            } else {
                ErrorCode::None
            }
        }
    }
}

fn check_pe(c: &Config, instr: &Instr, pe: &PeLoads) -> ErrorCode {
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
            } else if pe.pending.len() >= MAX_PENDING_LOADS as usize {
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
            } else if (swap && pe.pending.is_empty()) || (!swap && pe.active.is_none()) {
                ErrorCode::SwapWithoutLoad
            } else {
                ErrorCode::None
            }
        }
        _ => unreachable!("not a PE instruction"),
    }
}

/// Bytes of memory from the first to past the last element of a DMA (0 if rows or row_len
/// is 0).
pub fn dma_span(d: &Dma) -> u64 {
    if d.rows == 0 || d.row_len == 0 {
        return 0;
    }
    u64::from(d.rows - 1) * u64::from(d.stride) + (u64::from(d.row_len) << d.esize)
}

fn check_dma(c: &Config, d: &Dma, store: bool) -> ErrorCode {
    let Some(target) = DmaTarget::from_code(d.target) else {
        return ErrorCode::DmaRange;
    };
    let target_ok = match target {
        DmaTarget::Sbuf => true,
        DmaTarget::Psum => store,
        DmaTarget::Table => !store,
    };
    let esize = match target {
        DmaTarget::Sbuf => eb(c).trailing_zeros(),
        DmaTarget::Psum | DmaTarget::Table => 2,
    };
    let (rows, len) = (u64::from(d.rows), u64::from(d.row_len));
    let (part, entry) = (u64::from(d.part), u64::from(d.entry));
    let parts = u64::from(partitions(c));
    let depth = u64::from(c.sbuf_depth);
    let fields_ok = match target {
        DmaTarget::Sbuf => d.bank == 0 && d.offset == 0,
        DmaTarget::Psum => d.layout == 0 && d.entry == 0,
        DmaTarget::Table => d.layout == 0 && d.part == 0 && d.bank == 0 && d.offset == 0,
    };
    let bounds_ok = match (target, d.layout) {
        (DmaTarget::Sbuf, 0) => part + len <= parts && entry + rows <= depth,
        (DmaTarget::Sbuf, _) => part + rows <= parts && entry + len <= depth,
        (DmaTarget::Psum, _) => {
            d.bank < c.psum_banks
                && u64::from(d.offset) + rows <= u64::from(c.psum_depth)
                && part + len <= u64::from(c.cols)
        }
        (DmaTarget::Table, _) => entry + rows * len <= 2 * u64::from(c.cols),
    };
    if !target_ok
        || (target != DmaTarget::Sbuf && d.layout != 0)
        || d.esize != esize
        || rows == 0
        || len == 0
        || !fields_ok
        || !bounds_ok
        || u64::from(d.base) + dma_span(d) > 1 << 32
    {
        return ErrorCode::DmaRange;
    }
    let align = (1u32 << esize) - 1;
    if d.base & align != 0 || d.stride & align != 0 {
        return ErrorCode::DmaAlign;
    }
    ErrorCode::None
}

/// SBUF entries ACTIVATE writes per PSUM entry: `4 / EB` for raw32, else 1.
pub fn act_entries_per_value(cfg: &Config, a: &Act) -> u32 {
    if a.dtype == ActDtype::Raw32 as u32 {
        4 / eb(cfg)
    } else {
        1
    }
}

fn check_act(c: &Config, a: &Act) -> ErrorCode {
    let (Some(dtype), Some(func)) = (ActDtype::from_code(a.dtype), ActFunc::from_code(a.func))
    else {
        return ErrorCode::ActRange;
    };
    let int_out = matches!(dtype, ActDtype::Int8 | ActDtype::Uint8);
    let raw = dtype == ActDtype::Raw32;
    let ok = (raw || Some(dtype) == format_dtype(c.format))
        && (!raw || (func == ActFunc::Identity && !a.per_col && !a.bias))
        && (int_out || func != ActFunc::Clamp)
        && (int_out || a.zp == 0)
        && (func == ActFunc::Clamp || (a.lo == 0 && a.hi == 0))
        && a.n >= 1
        && a.m >= 1
        && a.m <= c.cols
        && a.bank < c.psum_banks
        && u64::from(a.offset) + u64::from(a.n) <= u64::from(c.psum_depth)
        && u64::from(a.entry) + u64::from(a.n) * u64::from(act_entries_per_value(c, a))
            <= u64::from(c.sbuf_depth);
    if ok {
        ErrorCode::None
    } else {
        ErrorCode::ActRange
    }
}

/// A kind of engine state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// Key: the partition; range: entries.
    Sbuf,
    /// Key: `bank * cols + column`; range: entries.
    Psum,
    /// Key: 0; range: table words.
    Table,
    /// Key: 0; range: bytes.
    Memory,
}

/// One access of an instruction: a range of one row of a [`Space`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub space: Space,
    pub key: u32,
    pub start: u64,
    pub end: u64,
    pub write: bool,
}

impl Access {
    /// The state named as in error messages, for the range `start..end`.
    pub fn describe(cfg: &Config, space: Space, key: u32, start: u64, end: u64) -> String {
        let range = if end == start + 1 {
            format!("{start}")
        } else {
            format!("{start}..{end}")
        };
        match space {
            Space::Sbuf => format!("SBUF partition {key} entries {range}"),
            Space::Psum => format!(
                "PSUM bank {} column {} entries {range}",
                key / cfg.cols,
                key % cfg.cols
            ),
            Space::Table => format!("ACT table words {range}"),
            Space::Memory => format!("memory bytes {range}"),
        }
    }
}

fn push(out: &mut Vec<Access>, space: Space, key: u32, start: u64, end: u64, write: bool) {
    out.push(Access {
        space,
        key,
        start,
        end,
        write,
    });
}

/// The memory byte ranges of a DMA's rows, contiguous rows merged.
pub fn dma_memory_ranges(d: &Dma) -> Vec<(u64, u64)> {
    let row = u64::from(d.row_len) << d.esize;
    let mut out: Vec<(u64, u64)> = vec![];
    for r in 0..u64::from(d.rows) {
        let s = u64::from(d.base) + r * u64::from(d.stride);
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(s + row),
            _ => out.push((s, s + row)),
        }
    }
    out
}

/// Every access of a valid instruction (one that passed [`check`]); `active_m` is `m` of the
/// stationary a MULTIPLY_MOVING uses (after its swap).
pub fn footprint(cfg: &Config, instr: &Instr, active_m: Option<u32>) -> Vec<Access> {
    let mut out = vec![];
    let psum_key = |bank: u32, col: u32| bank * cfg.cols + col;
    match *instr {
        Instr::LoadStationary { addr, k, m } => {
            for p in 0..m {
                push(
                    &mut out,
                    Space::Sbuf,
                    p,
                    addr.into(),
                    (addr + k).into(),
                    false,
                );
            }
        }
        Instr::MultiplyMoving {
            addr,
            k,
            n,
            bank,
            offset,
            ..
        } => {
            for p in 0..k {
                push(
                    &mut out,
                    Space::Sbuf,
                    p,
                    addr.into(),
                    (addr + n).into(),
                    false,
                );
            }
            for c in 0..active_m.unwrap_or(0) {
                let (s, e) = (offset.into(), (offset + n).into());
                push(&mut out, Space::Psum, psum_key(bank, c), s, e, true);
            }
        }
        Instr::DmaLoad(d) | Instr::DmaStore(d) => {
            let store = matches!(instr, Instr::DmaStore(_));
            for (s, e) in dma_memory_ranges(&d) {
                push(&mut out, Space::Memory, 0, s, e, store);
            }
            let (rows, len) = (d.rows, d.row_len);
            match (DmaTarget::from_code(d.target), d.layout) {
                (Some(DmaTarget::Sbuf), 0) => {
                    for p in d.part..d.part + len {
                        let (s, e) = (d.entry.into(), (d.entry + rows).into());
                        push(&mut out, Space::Sbuf, p, s, e, !store);
                    }
                }
                (Some(DmaTarget::Sbuf), _) => {
                    for p in d.part..d.part + rows {
                        let (s, e) = (d.entry.into(), (d.entry + len).into());
                        push(&mut out, Space::Sbuf, p, s, e, !store);
                    }
                }
                (Some(DmaTarget::Psum), _) => {
                    for c in d.part..d.part + len {
                        let (s, e) = (d.offset.into(), (d.offset + rows).into());
                        push(&mut out, Space::Psum, psum_key(d.bank, c), s, e, false);
                    }
                }
                (Some(DmaTarget::Table), _) => {
                    let e = u64::from(d.entry) + u64::from(rows) * u64::from(len);
                    push(&mut out, Space::Table, 0, d.entry.into(), e, true);
                }
                (None, _) => {}
            }
        }
        Instr::Activate(a) => {
            for c in 0..a.m {
                let (s, e) = (a.offset.into(), (a.offset + a.n).into());
                push(&mut out, Space::Psum, psum_key(a.bank, c), s, e, false);
            }
            let scales = if a.per_col { a.m } else { 1 };
            if a.dtype != ActDtype::Raw32 as u32 {
                push(&mut out, Space::Table, 0, 0, scales.into(), false);
            }
            if a.bias {
                let s = u64::from(cfg.cols);
                push(&mut out, Space::Table, 0, s, s + u64::from(a.m), false);
            }
            let w = act_entries_per_value(cfg, &a);
            for p in 0..a.m {
                let (s, e) = (a.entry.into(), u64::from(a.entry) + u64::from(a.n * w));
                push(&mut out, Space::Sbuf, p, s, e, true);
            }
        }
        Instr::Fence | Instr::Wait { .. } | Instr::Signal { .. } => {}
    }
    out
}
