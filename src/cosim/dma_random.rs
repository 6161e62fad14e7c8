//! Random memory-path programs on the Verilator engine (`dma = true`) against the golden engine,
//! through the AXI4 slave model and protocol checker of [`super::axi4`]: what `tests/dma_rtl.rs`
//! runs (200 cases per seed) and what the mutation campaign's `dma-random` check runs on every
//! engine mutant (`crate::mutate`).
//!
//! A case is one of ([`run_batch`], of every 9 cases):
//! - 2 random programs of DMA_LOADs and DMA_STOREs (SBUF, both layouts) with random bases
//!   (often just below a 4 KB boundary), strides (contiguous, gapped, overlapping, 0; now and
//!   then rows 2^31 bytes and more apart), sizes and partitions ([`random_case`]); half of
//!   those not fetched write random values from the host into SBUF entries none of their
//!   instructions touch right after the pushes, while the DMA runs (the SBUF write port is
//!   shared), and store them afterwards ([`random_host_write`]);
//! - 2 with a planted bus error (SLVERR or DECERR on a page a load reads or a store writes):
//!   both back ends must stop with DmaBus; the bytes of the instructions before the failing one
//!   are compared, then CLEAR_ERROR and both SBUFs and memories are written afresh;
//! - 1 with a planted range error (DmaRange at dispatch), every other time a fetch error
//!   instead, the six kinds of [`Plant`] in turn: a misaligned PROG_BASE (DmaAlign); a program
//!   one word past 2^32, PROG_WORDS with bit 31 (DmaRange); SLVERR or DECERR on the program's
//!   first page, or on its second page when it straddles 4 KB (DmaBus after the words before
//!   it); a word with bit 63 set (UnusedBitsSet after the instructions before it);
//! - 1 matmul chain ([`random_matmul_case`]): DMA_LOADs, SIGNAL / WAIT, LOAD_STATIONARY,
//!   MULTIPLY_MOVING, a PSUM-target and an SBUF DMA_STORE; every other time instead three
//!   stationaries in flight ([`held_load_case`]): the third waits for a swap with its first row
//!   read from SBUF port L while the DMA's SBUF stores read the port;
//! - 2 ACTIVATE chains ([`random_act_case`]): the ACT table and operands by DMA, a multiply, an
//!   ACTIVATE (the engine's dtype with random function, zero point and clamp bounds (integers),
//!   per-column scales and biases, special scales, or raw32), a DMA_STORE of the entries it
//!   wrote and now and then the one after; half of them with small operands and power-of-two
//!   scales, which make exact ties; half of them with a second multiply into the other PSUM
//!   bank, which runs while the ACTIVATE reads PSUM. On integer engines every other pair are
//!   crafted instead ([`crafted_act_case`]): biases and scales chosen from the golden engine's
//!   accumulators put the requantisation on its rounding points;
//! - 1 signal burst ([`random_signal_case`]), every other time a fetch burst instead
//!   ([`random_fetch_case`]): on the DMA, PE and ACT engines, instructions with one to three
//!   SIGNALs after each, so a signal unit holds two pending slots and SIGNALs join the younger
//!   one, and a PSUM store of whole rows; or a program of 3 to 40 words without memory
//!   instructions fetched from just below a 4 KB boundary, whose fetch must read one R beat per
//!   word on a 64-bit bus, in one read burst up to the queue's depth (two when it straddles
//!   4 KB).
//!
//! One case in five without a planted error is fetched from memory by CONTROL.START (now and
//! then from the last bytes below 2^32, or an empty program). Twice per batch a fetched program
//! of 2^15 and more SIGNALs to one semaphore (the second time SEM7) reaches the semaphores' top
//! bits. After each case the error codes, the semaphores and every byte of the load and store
//! regions are compared (the SBUF is seen through the stores; the first differing byte is
//! reported with the instructions that store it), and after a case without error the increases
//! of MACS, RETIRED, DMA_READ_BYTES and DMA_WRITE_BYTES. At the end the checker must have seen
//! every request answered and no violation.

use crate::config::Config;
use crate::cosim::axi4::{ResponseOrder, SlaveConfig, SlaveStalls};
use crate::cosim::engine::RtlEngine;
use crate::engine::golden::GoldenEngine;
use crate::engine::memory::{BusFault, Memory, PageFault, SparseMemory, PAGE};
use crate::engine::{checks, Counters, Engine};
use crate::format::{FpFormat, NumberFormat};
use crate::isa::{Act, Dma, ErrorCode, Instr};
use crate::program::SplitMix64;
use crate::regs;

/// The memory the programs use: loads read `SRC..SRC + SPAN`, stores write `DST..DST + SPAN`.
pub const SRC: u32 = 0x0001_0000;
pub const DST: u32 = 0x0002_0000;
pub const SPAN: u32 = 3 * PAGE;

/// Where a fetched program sits in memory (outside the load and store regions).
pub const PROG_AT: u32 = 0x0003_0000;

/// Where the ACT table of an ACTIVATE case sits in memory (inside the load region).
pub const TABLE_AT: u32 = SRC + 2 * PAGE + 0x800;

/// The engine's dimensions the generators draw within.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub rows: u32,
    pub cols: u32,
    /// SBUF partitions.
    pub parts: u32,
    /// SBUF entries per partition.
    pub depth: u32,
    pub psum_depth: u32,
    /// Bytes of an SBUF element.
    pub eb: u32,
    /// int8 (else uint8; only used with 8-bit integer formats).
    pub signed: bool,
    pub format: NumberFormat,
    /// Data bits of the AXI4 master port.
    pub bus_bits: u32,
}

impl Shape {
    pub fn of(cfg: &Config) -> Shape {
        Shape {
            rows: cfg.rows,
            cols: cfg.cols,
            parts: checks::partitions(cfg),
            depth: cfg.sbuf_depth,
            psum_depth: cfg.psum_depth,
            eb: checks::eb(cfg),
            signed: cfg.format.is_signed(),
            format: cfg.format,
            bus_bits: cfg.dma_bits,
        }
    }
}

/// The two back ends side by side.
pub struct Pair<'a> {
    pub rtl: &'a mut RtlEngine,
    pub gold: GoldenEngine,
    pub shape: Shape,
    /// A host write into the SBUF (partition, entry, values) that the next [`run_case`] makes
    /// on both back ends right after pushing its program, while the RTL's DMA runs it.
    pub host_write: Option<(u32, u32, Vec<i64>)>,
}

impl<'a> Pair<'a> {
    /// `rtl` (built from `cfg`, its memory attached) and a fresh golden engine of `cfg`.
    pub fn new(rtl: &'a mut RtlEngine, cfg: &Config) -> Pair<'a> {
        Pair {
            rtl,
            gold: GoldenEngine::new(cfg),
            shape: Shape::of(cfg),
            host_write: None,
        }
    }

    pub fn rtl_memory(&mut self) -> &mut SparseMemory {
        self.rtl
            .bus_mut()
            .memory_port_mut()
            .expect("memory attached")
            .memory_mut()
    }

    /// Fresh random contents in both SBUFs and in both memories' regions; no faults.
    pub fn refill(&mut self, rng: &mut SplitMix64) {
        let s = self.shape;
        for p in 0..s.parts {
            let v: Vec<i64> = (0..s.depth)
                .map(|_| s.format.from_bits(rng.next_u64()))
                .collect();
            self.rtl.write_sbuf(p, 0, &v).expect("rtl sbuf write");
            self.gold.write_sbuf(p, 0, &v).expect("golden sbuf write");
        }
        for base in [SRC, DST] {
            let bytes: Vec<u8> = (0..SPAN).map(|_| rng.next_u64() as u8).collect();
            self.rtl_memory().poke(base, &bytes);
            self.gold.memory_mut().poke(base, &bytes);
        }
        self.rtl_memory().clear_faults();
        self.gold.memory_mut().clear_faults();
    }

    pub fn set_fault(&mut self, addr: u32, f: PageFault) {
        self.rtl_memory().set_fault(addr, f);
        self.gold.memory_mut().set_fault(addr, f);
    }

    /// The same bytes into both memories.
    pub fn poke(&mut self, addr: u32, bytes: &[u8]) {
        self.rtl_memory().poke(addr, bytes);
        self.gold.memory_mut().poke(addr, bytes);
    }
}

/// A random DMA of `target` 0 (SBUF) within the engine's bounds, its memory bytes inside
/// `region..region + SPAN`; often its first byte within 32 elements below a 4 KB boundary.
pub fn random_sbuf_dma(rng: &mut SplitMix64, s: &Shape, region: u32) -> Dma {
    let (parts, depth, eb) = (s.parts, s.depth, s.eb);
    let layout = rng.below(2) as u32;
    let pick = |rng: &mut SplitMix64, max: u32| 1 + rng.below(u64::from(max)) as u32;
    let (rows, row_len, part, entry) = if layout == 0 {
        let part = rng.below(u64::from(parts)) as u32;
        let row_len = pick(rng, parts - part);
        let rows = if rng.chance(0.3) {
            pick(rng, depth)
        } else {
            pick(rng, 24.min(depth))
        };
        let entry = rng.below(u64::from(depth - rows + 1)) as u32;
        (rows, row_len, part, entry)
    } else {
        let part = rng.below(u64::from(parts)) as u32;
        let rows = pick(rng, parts - part);
        let row_len = if rng.chance(0.3) {
            pick(rng, depth)
        } else {
            pick(rng, 40.min(depth))
        };
        let entry = rng.below(u64::from(depth - row_len + 1)) as u32;
        (rows, row_len, part, entry)
    };
    // In elements, then bytes (EB per element; base and stride multiples of EB).
    let stride = match rng.below(4) {
        0 => row_len,
        1 => row_len + pick(rng, 37),
        2 => rng.below(u64::from(row_len)) as u32,
        _ => 0,
    };
    // Long gapped rows would leave the region: contiguous then.
    let stride = eb
        * if eb * ((rows - 1) * stride + row_len) > SPAN / 2 {
            row_len
        } else {
            stride
        };
    let extent = (rows - 1) * stride + eb * row_len;
    let room = (SPAN - extent) / eb * eb;
    let base = if rng.chance(0.4) {
        let page = region + PAGE * (1 + rng.below(2) as u32);
        (page - eb * (1 + rng.below(32) as u32)).min(region + room)
    } else {
        region + eb * rng.below(u64::from(room / eb) + 1) as u32
    };
    Dma {
        target: 0,
        layout,
        esize: eb.trailing_zeros(),
        rows,
        row_len,
        part,
        bank: 0,
        base,
        stride,
        entry,
        offset: 0,
    }
}

/// Whether SBUF DMA `d` touches entries `entry..entry + len` of partition `part`.
fn sbuf_overlap(d: &Dma, part: u32, entry: u32, len: u32) -> bool {
    let (parts, entries) = if d.layout == 0 {
        (d.row_len, d.rows)
    } else {
        (d.rows, d.row_len)
    };
    d.target == 0
        && (d.part..d.part + parts).contains(&part)
        && d.entry < entry + len
        && entry < d.entry + entries
}

/// A host write of random values into SBUF entries that no instruction of `prog` touches
/// (to be made while the DMA runs `prog`): up to 32 entries of one partition, if 16 tries find
/// such a range.
pub fn random_host_write(
    rng: &mut SplitMix64,
    s: &Shape,
    prog: &[Instr],
) -> Option<(u32, u32, Vec<i64>)> {
    for _ in 0..16 {
        let part = rng.below(u64::from(s.parts)) as u32;
        let len = 1 + rng.below(32.min(u64::from(s.depth))) as u32;
        let entry = rng.below(u64::from(s.depth - len + 1)) as u32;
        let clear = prog.iter().all(|i| match i {
            Instr::DmaLoad(d) | Instr::DmaStore(d) => !sbuf_overlap(d, part, entry, len),
            _ => false,
        });
        if clear {
            let values = (0..len)
                .map(|_| s.format.from_bits(rng.next_u64()))
                .collect();
            return Some((part, entry, values));
        }
    }
    None
}

/// The first memory page a DMA touches past its first row (its last byte's page).
fn last_page(d: &Dma) -> u32 {
    let last = d.base + (d.rows - 1) * d.stride + (d.row_len << d.esize) - 1;
    last / PAGE * PAGE
}

/// What a case plants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plant {
    Nothing,
    /// A read or write fault on the page of the last byte of instruction `at`.
    BusError {
        at: usize,
        fault: BusFault,
    },
    /// Instruction `at` made out of range (its partition past the SBUF).
    RangeError {
        at: usize,
    },
    /// The program fetched from a misaligned PROG_BASE (DmaAlign, nothing runs).
    FetchAlign,
    /// The program fetched from a PROG_BASE whose words run past 2^32 (DmaRange, nothing runs).
    FetchRange,
    /// PROG_WORDS with bit 31 set as well (past 2^32 from any base: DmaRange, nothing runs).
    FetchHuge,
    /// The program's page answers reads with `fault` (DmaBus, nothing runs).
    FetchBus(BusFault),
    /// The program straddles a 4 KB boundary, its first `words` words on a good page, the rest
    /// on a page that answers reads with `fault` (DmaBus after the words before it).
    FetchBusLate {
        words: u32,
        fault: BusFault,
    },
    /// Instruction `at` of a fetched program has bit 63 of its first word set (unused in every
    /// opcode: UnusedBitsSet after the instructions before it).
    FetchBadWord {
        at: usize,
    },
}

impl Plant {
    /// The error code both back ends must stop with.
    pub fn code(self) -> ErrorCode {
        match self {
            Plant::Nothing => ErrorCode::None,
            Plant::BusError { .. } | Plant::FetchBus(_) | Plant::FetchBusLate { .. } => {
                ErrorCode::DmaBus
            }
            Plant::RangeError { .. } | Plant::FetchRange | Plant::FetchHuge => ErrorCode::DmaRange,
            Plant::FetchAlign => ErrorCode::DmaAlign,
            Plant::FetchBadWord { .. } => ErrorCode::UnusedBitsSet,
        }
    }

    fn fetch_error(self) -> bool {
        matches!(
            self,
            Plant::FetchAlign
                | Plant::FetchRange
                | Plant::FetchHuge
                | Plant::FetchBus(_)
                | Plant::FetchBusLate { .. }
                | Plant::FetchBadWord { .. }
        )
    }
}

/// A random program of 1..=6 DMA instructions, loads before stores by preference; `plant`
/// 1 plants a bus error, 2 a range error, others nothing.
pub fn random_case(rng: &mut SplitMix64, s: &Shape, plant: u32) -> (Vec<Instr>, Plant) {
    let n = 1 + rng.below(6) as usize;
    let mut prog = vec![];
    for i in 0..n {
        let store = i * 2 >= n || rng.chance(0.2);
        prog.push(if store {
            Instr::DmaStore(random_sbuf_dma(rng, s, DST))
        } else {
            Instr::DmaLoad(random_sbuf_dma(rng, s, SRC))
        });
    }
    // Now and then a transfer of two rows 2^31 bytes and more apart (the second row far above
    // the regions: the stride's top bit).
    if rng.chance(0.15) {
        let k = rng.below(n as u64) as usize;
        if let Instr::DmaLoad(d) | Instr::DmaStore(d) = &mut prog[k] {
            d.rows = d.rows.min(2);
            if d.layout == 1 {
                d.rows = d.rows.min(s.parts - d.part);
            }
            d.stride |= 0x8000_0000;
        }
    }
    let at = rng.below(n as u64) as usize;
    let plant = match plant {
        1 => Plant::BusError {
            at,
            fault: if rng.chance(0.5) {
                BusFault::SlvErr
            } else {
                BusFault::DecErr
            },
        },
        2 => Plant::RangeError { at },
        _ => Plant::Nothing,
    };
    if let Plant::RangeError { at } = plant {
        if let Instr::DmaLoad(d) | Instr::DmaStore(d) = &mut prog[at] {
            d.part = s.parts;
        }
    }
    (prog, plant)
}

/// One to `max` DMA_LOADs of operands into the SBUF, then SIGNAL DMA SEM0 -> WAIT PE (the
/// count in `signals[0]`).
fn loaded_operands(
    rng: &mut SplitMix64,
    s: &Shape,
    max: u64,
    signals: &mut [u32; 2],
) -> Vec<Instr> {
    let mut prog: Vec<Instr> = (0..1 + rng.below(max))
        .map(|_| Instr::DmaLoad(random_sbuf_dma(rng, s, SRC)))
        .collect();
    signals[0] += 1;
    prog.push(Instr::Signal { engine: 1, sem: 0 });
    prog.push(Instr::Wait {
        engine: 0,
        sem: 0,
        value: signals[0] & 0xFFFF,
    });
    prog
}

/// SIGNAL PE SEM1 -> WAIT DMA (the count in `signals[1]`): the DMA goes on once the PE's
/// instructions before are done.
fn pe_done(prog: &mut Vec<Instr>, signals: &mut [u32; 2]) {
    signals[1] += 1;
    prog.push(Instr::Signal { engine: 0, sem: 1 });
    prog.push(Instr::Wait {
        engine: 1,
        sem: 1,
        value: signals[1] & 0xFFFF,
    });
}

/// A random matmul chain (no error planted): DMA_LOADs of operands, SIGNAL DMA -> WAIT PE,
/// LOAD_STATIONARY + MULTIPLY_MOVING into fresh PSUM entries, SIGNAL PE -> WAIT DMA, then a
/// PSUM-target DMA_STORE of part of the result and an SBUF DMA_STORE. `signals` counts the
/// SIGNALs of semaphores 0 and 1 so far (the WAIT values).
pub fn random_matmul_case(rng: &mut SplitMix64, s: &Shape, signals: &mut [u32; 2]) -> Vec<Instr> {
    let (pd, depth) = (s.psum_depth, s.depth);
    let mut prog = loaded_operands(rng, s, 3, signals);
    let k = 1 + rng.below(u64::from(s.rows)) as u32;
    let m = 1 + rng.below(u64::from(s.cols)) as u32;
    let n = 1 + rng.below(u64::from(pd)) as u32;
    let bank = rng.below(2) as u32;
    let offset = rng.below(u64::from(pd - n + 1)) as u32;
    prog.push(Instr::LoadStationary {
        addr: rng.below(u64::from(depth - k + 1)) as u32,
        k,
        m,
    });
    prog.push(Instr::MultiplyMoving {
        addr: rng.below(u64::from(depth - n + 1)) as u32,
        k,
        n,
        bank,
        offset,
        acc: false,
        swap: true,
    });
    pe_done(&mut prog, signals);
    // Rows of PSUM entries offset.., columns part.. (all written by the multiply above).
    let rows = 1 + rng.below(u64::from(n)) as u32;
    let part = rng.below(u64::from(m)) as u32;
    let row_len = 1 + rng.below(u64::from(m - part)) as u32;
    let stride = 4 * match rng.below(3) {
        0 => row_len,
        1 => row_len + 1 + rng.below(5) as u32,
        _ => rng.below(u64::from(row_len)) as u32,
    };
    let extent = (rows - 1) * stride + 4 * row_len;
    let base = if rng.chance(0.4) {
        DST + PAGE - 4 * (1 + rng.below(8) as u32)
    } else {
        DST + 4 * rng.below(u64::from((SPAN - extent) / 4)) as u32
    };
    prog.push(Instr::DmaStore(Dma {
        target: 1,
        layout: 0,
        esize: 2,
        rows,
        row_len,
        part,
        bank,
        base,
        stride,
        entry: 0,
        offset: offset + rng.below(u64::from(n - rows + 1)) as u32,
    }));
    prog.push(Instr::DmaStore(random_sbuf_dma(rng, s, DST)));
    prog
}

/// Three stationaries in flight while the DMA stores SBUF rows (no error planted): operands
/// loaded, then LOAD_STATIONARY 1, a multiply of the PSUM's depth, LOAD_STATIONARY 2 (into the
/// core's shadow weights during that multiply) and 3, which then waits for a swap with its
/// first row read from SBUF port L; the DMA's SBUF stores read that port meanwhile (the load
/// streamer keeps the row in its holding register). Then the other two multiplies, SIGNAL PE
/// -> WAIT DMA, and the third product's PSUM rows stored. `signals` as for
/// [`random_matmul_case`].
pub fn held_load_case(rng: &mut SplitMix64, s: &Shape, signals: &mut [u32; 2]) -> Vec<Instr> {
    let (pd, depth) = (s.psum_depth, s.depth);
    let mut prog = loaded_operands(rng, s, 2, signals);
    let mut mms = vec![];
    for i in 0..3 {
        let k = 1 + rng.below(u64::from(s.rows)) as u32;
        let m = 1 + rng.below(u64::from(s.cols)) as u32;
        // The first multiply as long as the PSUM allows, so the third load waits.
        let n = if i == 0 {
            pd
        } else {
            1 + rng.below(u64::from(pd)) as u32
        };
        prog.push(Instr::LoadStationary {
            addr: rng.below(u64::from(depth - k + 1)) as u32,
            k,
            m,
        });
        mms.push(Instr::MultiplyMoving {
            addr: rng.below(u64::from(depth - n + 1)) as u32,
            k,
            n,
            bank: i % 2,
            offset: 0,
            acc: false,
            swap: true,
        });
        if i == 0 {
            prog.push(mms.remove(0));
        }
    }
    for _ in 0..2 {
        prog.push(Instr::DmaStore(random_sbuf_dma(rng, s, DST)));
    }
    let Some(&Instr::MultiplyMoving { n, .. }) = mms.last() else {
        unreachable!("three multiplies")
    };
    let m = match prog[prog.len() - 3] {
        Instr::LoadStationary { m, .. } => m,
        _ => unreachable!("the third load"),
    };
    prog.extend(mms);
    pe_done(&mut prog, signals);
    prog.push(Instr::DmaStore(Dma {
        target: 1,
        layout: 0,
        esize: 2,
        rows: n,
        row_len: m,
        part: 0,
        bank: 0,
        base: DST + PAGE,
        stride: 4 * m,
        entry: 0,
        offset: 0,
    }));
    prog
}

/// A random fp32 scale: mostly normal values that map accumulators of a few thousand onto the
/// 8-bit range, powers of two (exact halves: ties), and now and then 0, a subnormal, an
/// infinity, a NaN or a huge value.
fn random_scale(rng: &mut SplitMix64) -> u32 {
    let sign = if rng.chance(0.2) { 0x8000_0000 } else { 0 };
    sign | match rng.below(20) {
        0 => 0,
        1 => 1 + rng.below(0x7F_FFFF) as u32,
        2 => 0x7F80_0000,
        3 => 0x7FC0_0000 | rng.below(0x3F_FFFF) as u32,
        4 => (127 + 20) << 23 | rng.below(0x80_0000) as u32,
        5..=8 => (127 - 1 - rng.below(10) as u32) << 23,
        _ => (127 - 5 - rng.below(9) as u32) << 23 | rng.below(0x80_0000) as u32,
    }
}

fn random_bias(rng: &mut SplitMix64) -> u32 {
    match rng.below(5) {
        0 => 0,
        1 | 2 => rng.range_i64(-3000, 3000) as i32 as u32,
        _ => rng.next_u64() as u32,
    }
}

/// A value of `f` with at most two significant fraction bits and an exponent near 1 (its bit
/// pattern, as the SBUF holds it).
fn small_float(rng: &mut SplitMix64, f: FpFormat) -> i64 {
    let (eb, mb) = (f.exp_bits(), f.man_bits());
    let e = (f.bias() + rng.range_i64(-3, 3) as i32) as u64;
    let top = mb.min(2);
    let frac = rng.below(1 << top) << (mb - top);
    let sign = u64::from(rng.chance(0.3)) << (eb + mb);
    (sign | e << mb | frac) as i64
}

/// A random ACTIVATE chain (no error planted): the table (scales, biases) and operands loaded
/// by the DMA, a multiply into fresh PSUM entries, an ACTIVATE (int8 requantisation with a
/// random function, zero point, clamp bounds, per-column scales and biases, or raw32) of part
/// of them into the SBUF, and a DMA_STORE of the SBUF entries it wrote. `signals` counts the
/// SIGNALs of semaphores 0 (DMA), 1 (PE) and 2 (ACT). The table's bytes are written into both
/// memories here.
pub fn random_act_case(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    signals: &mut [u32; 3],
) -> Vec<Instr> {
    let s = pair.shape;
    let (cols, pd, depth) = (s.cols, s.psum_depth, s.depth);
    // Small operands (integers: |acc| <= 54; floats: two significant bits near 1) with
    // power-of-two scales give exact halves: the ties of the final rounding.
    let fmt = s.format.float();
    let float = fmt.is_some();
    let small = rng.chance(0.5);
    let table = random_table(rng, cols, small, float);
    pair.poke(TABLE_AT, &table);
    // (With small operands, no DMA_LOAD into the SBUF: it could overwrite them.)
    let loads = if small { 0 } else { 1 + rng.below(2) };
    let mut prog: Vec<Instr> = (0..loads)
        .map(|_| Instr::DmaLoad(random_sbuf_dma(rng, &s, SRC)))
        .collect();
    prog.push(Instr::DmaLoad(Dma {
        target: 2,
        esize: 2,
        rows: 1,
        row_len: 2 * cols,
        base: TABLE_AT,
        ..Dma::default()
    }));
    signals[0] += 1;
    prog.push(Instr::Signal { engine: 1, sem: 0 });
    let wait = |engine: u32, sem: u32, value: u32| Instr::Wait {
        engine,
        sem,
        value: value & 0xFFFF,
    };
    prog.push(wait(0, 0, signals[0]));
    let k = 1 + rng.below(u64::from(s.rows)) as u32;
    let m = 1 + rng.below(u64::from(cols)) as u32;
    let n = 1 + rng.below(u64::from(pd)) as u32;
    let bank = rng.below(2) as u32;
    let offset = rng.below(u64::from(pd - n + 1)) as u32;
    let ls_addr = rng.below(u64::from(depth - k + 1)) as u32;
    let mm_addr = rng.below(u64::from(depth - n + 1)) as u32;
    if small {
        write_small_operands(pair, rng, [(ls_addr, k), (mm_addr, n)]);
    }
    prog.push(Instr::LoadStationary {
        addr: ls_addr,
        k,
        m,
    });
    prog.push(Instr::MultiplyMoving {
        addr: mm_addr,
        k,
        n,
        bank,
        offset,
        acc: false,
        swap: true,
    });
    signals[1] += 1;
    prog.push(Instr::Signal { engine: 0, sem: 1 });
    prog.push(wait(2, 0, signals[0]));
    prog.push(wait(2, 1, signals[1]));
    let raw = rng.chance(0.2);
    let an = 1 + rng.below(u64::from(n)) as u32;
    let am = 1 + rng.below(u64::from(m)) as u32;
    let per = if raw { 4 / s.eb } else { 1 };
    let entry = rng.below(u64::from(depth - an * per + 1)) as u32;
    // Floats: identity or relu (clamp and the zero point are integer-only).
    let func = if raw {
        0
    } else {
        rng.below(if float { 2 } else { 3 }) as u32
    };
    let act = Act {
        bank,
        offset: offset + rng.below(u64::from(n - an + 1)) as u32,
        n: an,
        m: am,
        func,
        dtype: if raw {
            4
        } else {
            checks::format_dtype(s.format).expect("a memory-path format") as u32
        },
        per_col: !raw && rng.chance(0.6),
        bias: !raw && rng.chance(0.6),
        entry,
        zp: if raw || float {
            0
        } else {
            rng.below(256) as u32
        },
        lo: if func == 2 { rng.below(256) as u32 } else { 0 },
        hi: if func == 2 { rng.below(256) as u32 } else { 0 },
    };
    // Half the time the PE engine multiplies into the other bank meanwhile (after its
    // SIGNAL, so unordered with the ACTIVATE): the write-back unit reads PSUM while the core
    // computes.
    if rng.chance(0.5) {
        prog.extend(concurrent_multiply(
            &s,
            rng,
            k,
            1 - bank,
            entry..entry + an * per,
        ));
    }
    prog.push(Instr::Activate(act));
    signals[2] += 1;
    prog.push(Instr::Signal { engine: 2, sem: 2 });
    prog.push(wait(1, 2, signals[2]));
    // The written entries, one partition per memory row, and now and then the entry after them
    // (which the ACTIVATE must not write).
    let row_len = an * per + u32::from(entry + an * per < depth && rng.chance(0.5));
    prog.push(Instr::DmaStore(Dma {
        target: 0,
        layout: 1,
        esize: s.eb.trailing_zeros(),
        rows: am,
        row_len,
        base: DST + s.eb * rng.below(u64::from(PAGE / s.eb)) as u32,
        stride: s.eb * (row_len + rng.below(8) as u32),
        entry,
        ..Dma::default()
    }));
    prog
}

/// The ACT table of a random write-back case: `cols` fp32 scales, then `cols` biases (int32,
/// or fp32 for a float engine); `small`: scales and biases that make exact ties likely.
fn random_table(rng: &mut SplitMix64, cols: u32, small: bool, float: bool) -> Vec<u8> {
    let mut table = vec![];
    for _ in 0..cols {
        let sc = if small && rng.chance(0.7) {
            let sign = if rng.chance(0.3) { 0x8000_0000 } else { 0 };
            sign | (127 - 1 - rng.below(3) as u32) << 23
        } else {
            random_scale(rng)
        };
        table.extend(sc.to_le_bytes());
    }
    for _ in 0..cols {
        let b = if small && float {
            // 0, or +-(1 or 1.5) * 2^(-2..=2): exact sums with the small products.
            let mag = (127 - 2 + rng.below(5) as u32) << 23 | (rng.below(2) as u32) << 22;
            if rng.chance(0.4) {
                0
            } else {
                mag | if rng.chance(0.5) { 0x8000_0000 } else { 0 }
            }
        } else if small {
            rng.range_i64(-20, 20) as i32 as u32
        } else {
            random_bias(rng)
        };
        table.extend(b.to_le_bytes());
    }
    table
}

/// Small operands (integers in -3..3, or 0..3 unsigned; floats near 1) written by the host into
/// every partition's SBUF entries `(first, count)` of `spans`, on both back ends.
fn write_small_operands(pair: &mut Pair<'_>, rng: &mut SplitMix64, spans: [(u32, u32); 2]) {
    let s = pair.shape;
    let fmt = s.format.float();
    for p in 0..s.parts {
        for (at, len) in spans {
            let lo = if s.signed { -3 } else { 0 };
            let v: Vec<i64> = (0..len)
                .map(|_| match fmt {
                    Some(f) => small_float(rng, f),
                    None => rng.range_i64(lo, 3),
                })
                .collect();
            pair.rtl.write_sbuf(p, at, &v).expect("rtl sbuf write");
            pair.gold.write_sbuf(p, at, &v).expect("golden sbuf write");
        }
    }
}

/// A multiply of `k` rows into PSUM bank `bank` whose moving entries stay clear of the SBUF
/// entries `written` (an ACTIVATE's, unordered with it); none when neither side of them has
/// room for its random length.
fn concurrent_multiply(
    s: &Shape,
    rng: &mut SplitMix64,
    k: u32,
    bank: u32,
    written: std::ops::Range<u32>,
) -> Option<Instr> {
    let (pd, depth) = (s.psum_depth, s.depth);
    let n2 = 1 + rng.below(u64::from(pd)) as u32;
    let (below, above) = (written.start, depth - written.end);
    if below < n2 && above < n2 {
        return None;
    }
    let addr = loop {
        let a = rng.below(u64::from(depth - n2 + 1)) as u32;
        if a + n2 <= written.start || a >= written.end {
            break a;
        }
    };
    Some(Instr::MultiplyMoving {
        addr,
        k,
        n: n2,
        bank,
        offset: rng.below(u64::from(pd - n2 + 1)) as u32,
        acc: false,
        swap: false,
    })
}

/// A crafted write-back case, in two programs. The first (run here by [`run_case`]) multiplies
/// into fresh PSUM entries; from the golden engine's accumulators of the first entry, each
/// column's bias and scale are then chosen so that `acc = x + bias` and `float32(acc) * scale`
/// sit on the requantisation's rounding points: `acc` beyond 2^24 near a point where
/// `float32(acc)` scaled by a power of two is an exact half (the int-to-float rounding's guard
/// and sticky bits decide the result), a scale `(k + 1/2) / acc` rounded to fp32 (the product's
/// rounding to 24 bits decides whether it is an exact half), or a scale of a huge or tiny
/// exponent (the product's exponent range). The second program, returned, loads that table,
/// ACTIVATEs the entries (identity, zero point 0, both biases and per-column scales) and stores
/// the written SBUF entries. `signals` as in [`random_act_case`].
pub fn crafted_act_case(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    signals: &mut [u32; 3],
) -> Result<Vec<Instr>, String> {
    let s = pair.shape;
    let (cols, pd, depth) = (s.cols, s.psum_depth, s.depth);
    let k = 1 + rng.below(u64::from(s.rows)) as u32;
    // Every column, one entry: each column's bias and scale are crafted for it.
    let (m, n) = (cols, 1);
    let bank = rng.below(2) as u32;
    let offset = rng.below(u64::from(pd - n + 1)) as u32;
    let first = [
        Instr::LoadStationary {
            addr: rng.below(u64::from(depth - k + 1)) as u32,
            k,
            m,
        },
        Instr::MultiplyMoving {
            addr: rng.below(u64::from(depth - n + 1)) as u32,
            k,
            n,
            bank,
            offset,
            acc: false,
            swap: true,
        },
    ];
    run_case(pair, &first, Plant::Nothing, Fetch::No).map_err(|e| format!("multiply: {e}"))?;
    let x = pair
        .gold
        .read_psum(bank, offset)
        .map_err(|e| format!("golden PSUM: {e}"))?;
    // Four passes over the same PSUM entry, each with its own table (at TABLE_AT + 64 * pass;
    // the DMA waits for each ACTIVATE before its store, so the next table load comes after).
    let mut prog = vec![];
    for pass in 0..4u32 {
        let (mut scales, mut biases) = (vec![0u32; cols as usize], vec![0u32; cols as usize]);
        for j in 0..cols as usize {
            let xj = x.get(j).copied().unwrap_or(0) as u32 as i32;
            let sign: i64 = if rng.chance(0.5) { -1 } else { 1 };
            let (acc, scale): (i64, u32) = match rng.below(4) {
                0 => {
                    // |acc| in [2^e, 2^(e+1)) with e in 24..=30, within an fp32 ulp (2^(e-23)) of
                    // (q + 1/2) * 2^(e-6), q in 64..128; scale 2^-(e-6): whether float32(acc)
                    // rounds onto the half decides the integer.
                    let e = 24 + rng.below(7) as i64;
                    let q = 64 + rng.below(64) as i64;
                    let ulp = 1i64 << (e - 23);
                    let near = (2 * q + 1) << (e - 7);
                    let d = rng.range_i64(-ulp + 1, ulp - 1);
                    (sign * (near + d), ((127 - (e - 6)) as u32) << 23)
                }
                3 => {
                    // |acc| with its leading one anywhere from bit 8 to bit 30, random below it;
                    // a scale of random mantissa that maps it onto 16..128.
                    let top = 8 + rng.below(23) as u32;
                    let a = (1i64 << top) | rng.below(1 << top) as i64;
                    let e = 127 - (top as i32 - 4 - rng.below(3) as i32);
                    (sign * a, (e as u32) << 23 | rng.below(1 << 23) as u32)
                }
                1 => {
                    // |acc| below 2^24 (exact in fp32), scale (q + 1/2) / |acc| rounded to fp32.
                    let bits = 8 + rng.below(16);
                    let a = 1 + rng.below(1 << bits) as i64;
                    let q = rng.below(128) as f64;
                    let sc = ((q + 0.5) / a as f64) as f32;
                    (sign * a, sc.to_bits())
                }
                _ => {
                    // A scale of a huge or tiny exponent, any accumulator.
                    let exp = if rng.chance(0.5) {
                        200 + rng.below(54) as u32
                    } else {
                        1 + rng.below(40) as u32
                    };
                    let a = rng.range_i64(-(1 << 30), 1 << 30);
                    (a, exp << 23 | rng.below(1 << 23) as u32)
                }
            };
            biases[j] = (acc as i32).wrapping_sub(xj) as u32;
            scales[j] = scale | if rng.chance(0.2) { 0x8000_0000 } else { 0 };
        }
        let table: Vec<u8> = scales
            .iter()
            .chain(&biases)
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let at = TABLE_AT + 64 * pass;
        pair.poke(at, &table);
        signals[0] += 1;
        signals[2] += 1;
        let entry = rng.below(u64::from(depth - n + 1)) as u32;
        prog.extend([
            Instr::DmaLoad(Dma {
                target: 2,
                esize: 2,
                rows: 1,
                row_len: 2 * cols,
                base: at,
                ..Dma::default()
            }),
            Instr::Signal { engine: 1, sem: 0 },
            Instr::Wait {
                engine: 2,
                sem: 0,
                value: signals[0] & 0xFFFF,
            },
            Instr::Activate(Act {
                bank,
                offset,
                n,
                m,
                func: 0,
                dtype: checks::format_dtype(s.format).expect("a memory-path format") as u32,
                per_col: true,
                bias: true,
                entry,
                zp: 0,
                lo: 0,
                hi: 0,
            }),
            Instr::Signal { engine: 2, sem: 2 },
            Instr::Wait {
                engine: 1,
                sem: 2,
                value: signals[2] & 0xFFFF,
            },
            Instr::DmaStore(Dma {
                target: 0,
                layout: 1,
                esize: s.eb.trailing_zeros(),
                rows: m,
                row_len: n,
                base: DST + 256 * pass + s.eb * rng.below(u64::from(PAGE / s.eb)) as u32,
                stride: s.eb * n,
                entry,
                ..Dma::default()
            }),
        ]);
    }
    Ok(prog)
}

/// A signal burst (no error planted): on each engine instructions with one to three SIGNALs
/// after each, to semaphores 3..7 (never waited for), so a SIGNAL is taken while an older one of
/// its engine still waits for its instruction (the signal unit's second slot) and SIGNALs with
/// nothing between them join one slot. DMA: SBUF loads and stores; PE: a LOAD_STATIONARY and
/// MULTIPLY_MOVINGs; ACT: ACTIVATEs of the entries the first multiply wrote (the table from
/// `TABLE_AT`, loaded first), after WAITs for the DMA's last SIGNAL to semaphore 0 and the PE's
/// to semaphore 1; then the DMA waits for the PE too and stores whole rows of the first
/// multiply's PSUM entries. The signals go to any semaphore; those of semaphores 0..2 are
/// counted in `signals` (the WAIT values, as in the other cases). The semaphores are compared
/// after the case.
pub fn random_signal_case(rng: &mut SplitMix64, s: &Shape, signals: &mut [u32; 3]) -> Vec<Instr> {
    let (pd, depth) = (s.psum_depth, s.depth);
    let burst =
        |rng: &mut SplitMix64, engine: u32, prog: &mut Vec<Instr>, signals: &mut [u32; 3]| {
            for _ in 0..1 + rng.below(3) {
                let sem = rng.below(8) as u32;
                if let Some(n) = signals.get_mut(sem as usize) {
                    *n += 1;
                }
                prog.push(Instr::Signal { engine, sem });
            }
        };
    let mut prog = vec![Instr::DmaLoad(Dma {
        target: 2,
        esize: 2,
        rows: 1,
        row_len: 2 * s.cols,
        base: TABLE_AT,
        ..Dma::default()
    })];
    // SBUF stores (their signals taken while they run), then SIGNAL DMA -> semaphore 0: the
    // ACTIVATEs below, which write entries `act_at..` of the SBUF, wait for it.
    let act_at = depth - pd;
    for _ in 0..2 + rng.below(4) {
        let d = random_sbuf_dma(rng, s, DST);
        prog.push(Instr::DmaStore(d));
        burst(rng, 1, &mut prog, signals);
    }
    signals[0] += 1;
    prog.push(Instr::Signal { engine: 1, sem: 0 });
    let k = 1 + rng.below(u64::from(s.rows)) as u32;
    let m = 1 + rng.below(u64::from(s.cols)) as u32;
    let bank = rng.below(2) as u32;
    prog.push(Instr::LoadStationary {
        addr: rng.below(u64::from(act_at - k + 1)) as u32,
        k,
        m,
    });
    let n = 1 + rng.below(u64::from(pd)) as u32;
    let mm =
        |rng: &mut SplitMix64, bank: u32, offset: u32, n: u32, swap: bool| Instr::MultiplyMoving {
            addr: rng.below(u64::from(act_at - n + 1)) as u32,
            k,
            n,
            bank,
            offset,
            acc: false,
            swap,
        };
    prog.push(mm(rng, bank, 0, n, true));
    signals[1] += 1;
    prog.push(Instr::Signal { engine: 0, sem: 1 });
    burst(rng, 0, &mut prog, signals);
    for _ in 0..1 + rng.below(2) {
        let n2 = 1 + rng.below(u64::from(pd)) as u32;
        prog.push(mm(rng, 1 - bank, 0, n2, false));
        burst(rng, 0, &mut prog, signals);
    }
    for (sem, value) in [(0, signals[0]), (1, signals[1])] {
        prog.push(Instr::Wait {
            engine: 2,
            sem,
            value: value & 0xFFFF,
        });
    }
    // The DMA stores the first multiply's rows whole (groups of two accumulators and a rest)
    // once the PE has signalled, then signals again.
    prog.push(Instr::Wait {
        engine: 1,
        sem: 1,
        value: signals[1] & 0xFFFF,
    });
    let rows = 1 + rng.below(u64::from(n)) as u32;
    prog.push(Instr::DmaStore(Dma {
        target: 1,
        layout: 0,
        esize: 2,
        rows,
        row_len: m,
        part: 0,
        bank,
        base: DST + 4 * rng.below(u64::from(PAGE / 4)) as u32,
        stride: 4 * (m + rng.below(3) as u32),
        entry: 0,
        offset: rng.below(u64::from(n - rows + 1)) as u32,
    }));
    burst(rng, 1, &mut prog, signals);
    for _ in 0..1 + rng.below(3) {
        let an = 1 + rng.below(u64::from(n)) as u32;
        // Floats: identity or relu (clamp and the zero point are integer-only).
        let func = rng.below(if s.format.is_float() { 2 } else { 3 }) as u32;
        prog.push(Instr::Activate(Act {
            bank,
            offset: rng.below(u64::from(n - an + 1)) as u32,
            n: an,
            m: 1 + rng.below(u64::from(m)) as u32,
            func,
            dtype: checks::format_dtype(s.format).expect("a memory-path format") as u32,
            per_col: rng.chance(0.5),
            bias: rng.chance(0.5),
            entry: act_at + rng.below(u64::from(pd - an + 1)) as u32,
            zp: if s.format.is_float() {
                0
            } else {
                rng.below(256) as u32
            },
            lo: if func == 2 { rng.below(256) as u32 } else { 0 },
            hi: if func == 2 { rng.below(256) as u32 } else { 0 },
        }));
        burst(rng, 2, &mut prog, signals);
    }
    prog
}

/// A fetch burst (no error planted, no memory traffic): 12 to 40 words of LOAD_STATIONARY,
/// MULTIPLY_MOVING, SIGNAL, WAIT and FENCE, to be fetched by CONTROL.START (which clears the
/// semaphores, so the WAITs count from 0 here; `signals` gets the counts of semaphores 0..2).
pub fn random_fetch_case(rng: &mut SplitMix64, s: &Shape, signals: &mut [u32; 3]) -> Vec<Instr> {
    let (pd, depth) = (s.psum_depth, s.depth);
    let target = 3 + rng.below(38) as usize;
    let mut sems = [0u32; 8];
    let mut prog = vec![];
    while prog.len() < target {
        let k = 1 + rng.below(u64::from(s.rows)) as u32;
        let n = 1 + rng.below(u64::from(pd)) as u32;
        prog.push(Instr::LoadStationary {
            addr: rng.below(u64::from(depth - k + 1)) as u32,
            k,
            m: 1 + rng.below(u64::from(s.cols)) as u32,
        });
        prog.push(Instr::MultiplyMoving {
            addr: rng.below(u64::from(depth - n + 1)) as u32,
            k,
            n,
            bank: rng.below(2) as u32,
            offset: rng.below(u64::from(pd - n + 1)) as u32,
            acc: false,
            swap: true,
        });
        for _ in 0..rng.below(4) {
            let (engine, sem) = (rng.below(3) as u32, rng.below(8) as usize);
            sems[sem] += 1;
            prog.push(Instr::Signal {
                engine,
                sem: sem as u32,
            });
            if rng.chance(0.3) {
                prog.push(Instr::Wait {
                    engine: rng.below(3) as u32,
                    sem: sem as u32,
                    value: sems[sem],
                });
            }
        }
        if rng.chance(0.2) {
            prog.push(Instr::Fence);
        }
    }
    signals.copy_from_slice(&sems[..3]);
    prog
}

fn fault_of(i: &Instr, fault: BusFault) -> (u32, PageFault) {
    match i {
        Instr::DmaLoad(d) => (
            last_page(d),
            PageFault {
                read: Some(fault),
                write: None,
            },
        ),
        Instr::DmaStore(d) => (
            last_page(d),
            PageFault {
                read: None,
                write: Some(fault),
            },
        ),
        _ => unreachable!("only DMA instructions"),
    }
}

/// The bytes of the two regions where the memories differ: (address, golden, rtl).
fn differences(gold: &SparseMemory, rtl: &SparseMemory) -> Vec<(u32, u8, u8)> {
    let mut out = vec![];
    for base in [SRC, DST] {
        let (mut a, mut b) = (vec![0u8; SPAN as usize], vec![0u8; SPAN as usize]);
        gold.peek(base, &mut a);
        rtl.peek(base, &mut b);
        out.extend(
            (0..a.len())
                .filter(|&i| a[i] != b[i])
                .map(|i| (base + i as u32, a[i], b[i])),
        );
    }
    out
}

/// The instructions of `prog` whose memory bytes cover `addr` (for the mismatch report).
fn writers_of(prog: &[Instr], addr: u32) -> Vec<usize> {
    let covers = |d: &Dma| {
        (0..d.rows).any(|r| {
            let lo = d.base + r * d.stride;
            (lo..lo + (d.row_len << d.esize)).contains(&addr)
        })
    };
    prog.iter()
        .enumerate()
        .filter(|(_, i)| matches!(i, Instr::DmaStore(d) if covers(d)))
        .map(|(k, _)| k)
        .collect()
}

/// Whether `i` is a load reading (`read`) or a store writing (not `read`) the 4 KB page `page`.
fn touches(i: &Instr, page: u32, read: bool) -> bool {
    let (Instr::DmaLoad(d) | Instr::DmaStore(d)) = i else {
        return false;
    };
    if matches!(i, Instr::DmaLoad(_)) != read {
        return false;
    }
    (0..d.rows).any(|r| {
        let lo = d.base + r * d.stride;
        lo / PAGE <= page / PAGE && page / PAGE <= (lo + (d.row_len << d.esize) - 1) / PAGE
    })
}

/// The counters' increases over a case without error must agree: MACS, RETIRED,
/// DMA_READ_BYTES and DMA_WRITE_BYTES (32-bit registers: modulo 2^32).
fn compare_counters(
    (g0, r0): (Counters, Counters),
    (g1, r1): (Counters, Counters),
) -> Result<(), String> {
    let d = |a: u64, b: u64| b.wrapping_sub(a) & 0xFFFF_FFFF;
    let rows = [
        ("MACS", d(g0.macs, g1.macs), d(r0.macs, r1.macs)),
        (
            "RETIRED",
            d(g0.retired, g1.retired),
            d(r0.retired, r1.retired),
        ),
        (
            "DMA_READ_BYTES",
            d(g0.dma_read_bytes, g1.dma_read_bytes),
            d(r0.dma_read_bytes, r1.dma_read_bytes),
        ),
        (
            "DMA_WRITE_BYTES",
            d(g0.dma_write_bytes, g1.dma_write_bytes),
            d(r0.dma_write_bytes, r1.dma_write_bytes),
        ),
    ];
    match rows.iter().find(|(_, g, r)| g != r) {
        Some((name, g, r)) => Err(format!("{name} rose by {g} in golden, {r} in rtl")),
        None => Ok(()),
    }
}

/// The instructions of `prog` as the little-endian bytes of their words.
fn program_bytes(prog: &[Instr]) -> Vec<u8> {
    prog.iter()
        .flat_map(|i| i.encode().to_vec())
        .flat_map(u64::to_le_bytes)
        .collect()
}

/// Where a case's program comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Pushed word by word through INSTR_LO / INSTR_HI.
    No,
    /// Fetched by CONTROL.START from this address (a fetch plant may move it).
    At(u32),
}

/// Runs one case on both back ends (`fetch`: the program from memory by CONTROL.START; a fetch
/// plant implies it, at [`PROG_AT`] unless given); a description of the first mismatch, if any.
/// Returns the error code both stopped with.
pub fn run_case(
    pair: &mut Pair<'_>,
    prog: &[Instr],
    plant: Plant,
    fetch: Fetch,
) -> Result<ErrorCode, String> {
    let fetch = if plant.fetch_error() && fetch == Fetch::No {
        Fetch::At(PROG_AT)
    } else {
        fetch
    };
    let failing = failing_instruction(pair, prog, plant);
    let before = (
        pair.gold.counters().map_err(|e| e.to_string())?,
        pair.rtl.counters().map_err(|e| e.to_string())?,
    );
    let reads_before = {
        let c = pair.rtl.bus().memory_port().expect("memory").counters();
        (c.read_beats, c.read_bursts)
    };
    match fetch {
        Fetch::At(at) => start_fetched(pair, prog, plant, at)?,
        Fetch::No => push_all(pair, prog, plant)?,
    }
    if let Some((p, e, values)) = pair.host_write.take() {
        pair.gold
            .write_sbuf(p, e, &values)
            .map_err(|err| format!("golden SBUF write: {err}"))?;
        pair.rtl
            .write_sbuf(p, e, &values)
            .map_err(|err| format!("rtl SBUF write while the DMA runs: {err}"))?;
    }
    let g = pair.gold.wait_idle().map_err(|e| format!("golden: {e}"))?;
    let r = pair.rtl.wait_idle().map_err(|e| format!("rtl: {e}"))?;
    if let Some(v) = pair.rtl.bus().violation() {
        return Err(format!("AXI4 violation on the master port: {v}"));
    }
    if g.error != r.error || r.busy {
        return Err(format!(
            "status: golden error {:?}, rtl error {:?} (busy {})",
            g.error, r.error, r.busy
        ));
    }
    let want = plant.code();
    if g.error != want {
        return Err(format!(
            "the golden model stopped with {:?}, planted {want:?}",
            g.error
        ));
    }
    if let (Fetch::At(at), Plant::Nothing) = (fetch, plant) {
        check_fetch_bursts(pair, prog, at, reads_before)?;
    }
    let (gs, rs) = (
        pair.gold.semaphores().map_err(|e| e.to_string())?,
        pair.rtl.semaphores().map_err(|e| e.to_string())?,
    );
    if gs != rs {
        return Err(format!("semaphores: golden {gs:?}, rtl {rs:?}"));
    }
    if g.error == ErrorCode::None {
        compare_counters(
            before,
            (
                pair.gold.counters().map_err(|e| e.to_string())?,
                pair.rtl.counters().map_err(|e| e.to_string())?,
            ),
        )?;
    }
    check_memory(pair, prog, failing)?;
    Ok(g.error)
}

/// The instruction `plant` makes fail (the first to touch the faulty page that way, which it
/// also sets up); `prog.len()` when none does.
fn failing_instruction(pair: &mut Pair<'_>, prog: &[Instr], plant: Plant) -> usize {
    match plant {
        Plant::BusError { at, fault } => {
            let (addr, f) = fault_of(&prog[at], fault);
            pair.set_fault(addr, f);
            let read = matches!(prog[at], Instr::DmaLoad(_));
            (0..=at)
                .find(|&k| touches(&prog[k], addr, read))
                .expect("the planted instruction touches its page")
        }
        Plant::RangeError { at } | Plant::FetchBadWord { at } => at,
        Plant::FetchAlign | Plant::FetchRange | Plant::FetchHuge | Plant::FetchBus(_) => 0,
        // The instructions whose words all precede the faulty page run.
        Plant::FetchBusLate { words, .. } => {
            let mut w = 0;
            prog.iter()
                .take_while(|i| {
                    w += i.encode().len() as u32;
                    w <= words
                })
                .count()
        }
        Plant::Nothing => prog.len(),
    }
}

/// The program from memory at `at` (or where a fetch plant moves it): CONTROL.START on both
/// back ends (which clears the semaphores).
fn start_fetched(pair: &mut Pair<'_>, prog: &[Instr], plant: Plant, at: u32) -> Result<(), String> {
    let read_fault = |f: BusFault| PageFault {
        read: Some(f),
        write: None,
    };
    let mut words = program_bytes(prog);
    if let Plant::FetchBadWord { at } = plant {
        let first: usize = prog[..at].iter().map(|i| i.encode().len()).sum();
        words[8 * first + 7] |= 0x80;
    }
    let n = (words.len() / 8) as u32;
    let base = match plant {
        Plant::FetchAlign => at + 4,
        // The last 8 * (n - 1) bytes below 2^32: one word too many.
        Plant::FetchRange => 0u32.wrapping_sub(8 * (n - 1)),
        Plant::FetchBusLate { words: w, .. } => PROG_AT + PAGE - 8 * w,
        _ => at,
    };
    if plant != Plant::FetchRange {
        pair.poke(base, &words);
    }
    match plant {
        Plant::FetchBus(f) => pair.set_fault(PROG_AT, read_fault(f)),
        Plant::FetchBusLate { fault, .. } => pair.set_fault(PROG_AT + PAGE, read_fault(fault)),
        _ => {}
    }
    let n = if plant == Plant::FetchHuge {
        n | 1 << 31
    } else {
        n
    };
    pair.gold
        .start_program(base, n)
        .map_err(|e| format!("golden start: {e}"))?;
    pair.rtl
        .start_program(base, n)
        .map_err(|e| format!("rtl start: {e}"))
}

/// The program pushed word by word on both back ends.
fn push_all(pair: &mut Pair<'_>, prog: &[Instr], plant: Plant) -> Result<(), String> {
    for i in prog {
        pair.gold
            .push(*i)
            .map_err(|e| format!("golden push {i}: {e}"))?;
        match pair.rtl.push(*i) {
            Ok(()) => {}
            // The RTL stopped before taking every word (the queue is full behind an error).
            Err(_) if plant != Plant::Nothing => {}
            Err(e) => return Err(format!("rtl push {i}: {e}")),
        }
    }
    Ok(())
}

/// A fetched program without memory instructions on a 64-bit bus: one R beat per word (the
/// fetch asks for the words it wants, one burst at a time, cut at 4 KB); up to the queue's
/// depth (its room at START) in one burst, or two when they straddle a 4 KB boundary.
fn check_fetch_bursts(
    pair: &mut Pair<'_>,
    prog: &[Instr],
    at: u32,
    (beats_before, bursts_before): (u64, u64),
) -> Result<(), String> {
    let quiet = !prog
        .iter()
        .any(|i| matches!(i, Instr::DmaLoad(_) | Instr::DmaStore(_)));
    if !quiet || pair.shape.bus_bits != 64 {
        return Ok(());
    }
    let port = pair.rtl.bus().memory_port().expect("memory");
    let beats = port.counters().read_beats - beats_before;
    let bursts = port.counters().read_bursts - bursts_before;
    let words: u32 = prog.iter().map(|i| i.encode().len() as u32).sum();
    if beats != u64::from(words) {
        return Err(format!(
            "the fetch of {words} words read {beats} R beats on a 64-bit bus"
        ));
    }
    let straddles = words > 0 && at / PAGE != (at + 8 * words - 1) / PAGE;
    let want = u64::from(words > 0) + u64::from(straddles);
    if words <= regs::queue_depth(pair.rtl.config()) && bursts != want {
        return Err(format!(
            "the fetch of {words} words from {at:#x} took {bursts} read bursts, expected {want}"
        ));
    }
    Ok(())
}

/// The memory of both back ends compared; after an error, only the bytes of the instructions
/// before the `failing` one (its destination is undefined; nothing after it runs on the DMA).
fn check_memory(pair: &mut Pair<'_>, prog: &[Instr], failing: usize) -> Result<(), String> {
    let rtl_mem = pair.rtl.bus().memory_port().expect("memory").memory();
    let diffs = differences(pair.gold.memory(), rtl_mem);
    let counted = diffs
        .iter()
        .filter(|(addr, _, _)| writers_of(prog, *addr).iter().all(|&k| k < failing));
    if let Some(&(addr, want, got)) = counted.clone().next() {
        return Err(format!(
            "memory byte {addr:#010x}: golden {want:#04x}, rtl {got:#04x} (stored by \
             instruction(s) {:?}; {} such bytes differ{})",
            writers_of(prog, addr),
            counted.count(),
            if failing < prog.len() {
                format!("; instruction {failing} failed")
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}

/// A slave model drawn from `rng` as `tests/dma_rtl.rs` uses it: read and write latencies 1 to
/// 6, 25 % stalls on every channel, up to 8 bursts of each direction outstanding, responses
/// across IDs in order, whole bursts reordered or R beats interleaved; one in three raises its
/// readies only after their valids.
pub fn random_slave(rng: &mut SplitMix64, bus_bits: u32) -> SlaveConfig {
    let mut slave = SlaveConfig::new(bus_bits);
    slave.read_latency = 1 + rng.below(6) as u32;
    slave.write_latency = 1 + rng.below(6) as u32;
    slave.stalls = SlaveStalls::uniform(0.25, rng.next_u64());
    slave.max_reads = 8;
    slave.order = [
        ResponseOrder::InOrder,
        ResponseOrder::Reorder,
        ResponseOrder::Interleave,
    ][rng.below(3) as usize];
    slave.max_writes = 8;
    slave.ready_after_valid = rng.below(3) == 0;
    slave
}

/// How many cases of each kind a batch ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Ended without error.
    pub clean: usize,
    /// Ended with DmaBus.
    pub bus: usize,
    /// Ended with DmaRange or DmaAlign.
    pub range: usize,
    pub matmul: usize,
    pub activate: usize,
    pub signal: usize,
    pub fetch_burst: usize,
    /// Crafted ACTIVATE cases (integer engines).
    pub crafted: usize,
    /// Fetched by CONTROL.START.
    pub fetched: usize,
}

impl Stats {
    /// Whether every kind of case ran.
    pub fn every_kind(&self) -> bool {
        [
            self.clean,
            self.bus,
            self.range,
            self.matmul,
            self.activate,
            self.signal,
            self.fetch_burst,
            self.fetched,
        ]
        .iter()
        .all(|&n| n > 0)
    }
}

/// `cases` random cases (the mix of the module documentation) on `pair`, whose RTL memory is
/// attached and whose contents `rng` draws; `log` gets the first cases' and the first errors'
/// listings. The first mismatch ends it: `Err` with the case, its plant, the mismatch and the
/// program.
pub fn run_batch(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    cases: usize,
    log: &mut dyn FnMut(&str),
) -> Result<Stats, String> {
    pair.refill(rng);
    let mut stats = Stats::default();
    let mut signals = [0u32; 3];
    let first_fetch_error = rng.below(6) as usize;
    for case in 0..cases {
        let (prog, plant, fetch) =
            next_case(pair, rng, case, first_fetch_error, &mut stats, &mut signals)?;
        let written = pair
            .host_write
            .as_ref()
            .map(|(p, e, v)| (*p, *e, v.len() as u32));
        let c0 = pair.rtl.bus().cycle();
        let code = run_case(pair, &prog, plant, fetch).map_err(|m| {
            format!(
                "case {case} ({plant:?}): {m}\n  program:\n{}",
                listing(&prog)
            )
        })?;
        let cycles = pair.rtl.bus().cycle() - c0;
        match code {
            ErrorCode::None => stats.clean += 1,
            ErrorCode::DmaBus => stats.bus += 1,
            _ => stats.range += 1,
        }
        if code != ErrorCode::None {
            pair.rtl
                .clear_error()
                .map_err(|e| format!("case {case}: rtl CLEAR_ERROR: {e}"))?;
            pair.gold
                .clear_error()
                .map_err(|e| format!("case {case}: golden CLEAR_ERROR: {e}"))?;
            pair.refill(rng);
        }
        if let (Some(written), ErrorCode::None) = (written, code) {
            store_host_write(pair, rng, written)
                .map_err(|m| format!("case {case}: the host's SBUF write stored: {m}"))?;
        }
        if case == cases / 4 || case == cases / 2 {
            signal_flood(pair, rng, case == cases / 2, &mut signals)
                .map_err(|m| format!("case {case}: {m}"))?;
        }
        if plant.fetch_error() {
            // Whether a refused fetch cleared the semaphores is not compared: clear them.
            pair.rtl
                .clear_semaphores()
                .map_err(|e| format!("case {case}: rtl CLEAR_SEMS: {e}"))?;
            pair.gold
                .clear_semaphores()
                .map_err(|e| format!("case {case}: golden CLEAR_SEMS: {e}"))?;
            signals = [0; 3];
        }
        if case < 3 || code != ErrorCode::None && stats.bus + stats.range <= 2 {
            log(&format!(
                "  case {case}: {code:?} in {cycles} cycles ({plant:?})\n{}",
                listing(&prog)
            ));
        }
    }
    pair.rtl
        .bus_mut()
        .memory_port_mut()
        .expect("memory")
        .finish()
        .map_err(|v| format!("AXI4 at the end: {v}"))?;
    Ok(stats)
}

/// A program's listing, one instruction a line.
fn listing(prog: &[Instr]) -> String {
    prog.iter()
        .map(|i| format!("    {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Case `case` of a batch: its program, planted error and fetch (the mix of the module
/// documentation), and now and then a host SBUF write to make while it runs (`pair.host_write`).
///
/// Of every 9 cases: 2 DMA-only, 2 with a bus error, 1 with a range error (every other time a
/// fetch error instead), 1 matmul chain, 2 ACTIVATE chains (every other pair crafted on integer
/// engines), 1 signal burst (every other time a fetch burst instead). Every fifth case without
/// a planted error is fetched from memory (CONTROL.START, which clears the semaphores), now and
/// then from the top of the address space or as an empty program.
fn next_case(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    case: usize,
    first_fetch_error: usize,
    stats: &mut Stats,
    signals: &mut [u32; 3],
) -> Result<(Vec<Instr>, Plant, Fetch), String> {
    let s = pair.shape;
    let kind = case % 9;
    let fetch_error = case % 18 == 12;
    let fetch_burst = case % 18 == 17;
    let fetched = fetch_burst || fetch_error || case % 5 == 4 && ![1, 3, 5].contains(&kind);
    let mut fetch = Fetch::No;
    if fetched {
        *signals = [0; 3];
        stats.fetched += 1;
        fetch = Fetch::At(PROG_AT);
    }
    let (mut prog, plant) = match kind {
        1 | 5 => random_case(rng, &s, 1),
        3 if fetch_error => fetch_error_case(rng, &s, (case / 18 + first_fetch_error) % 6),
        3 => random_case(rng, &s, 2),
        6 | 7 if case % 18 < 9 && !s.format.is_float() && !fetched => {
            stats.crafted += 1;
            let p = crafted_act_case(pair, rng, signals)
                .map_err(|m| format!("case {case} (crafted ACTIVATE): {m}"))?;
            (p, Plant::Nothing)
        }
        6 | 7 => {
            stats.activate += 1;
            (random_act_case(pair, rng, signals), Plant::Nothing)
        }
        2 => {
            stats.matmul += 1;
            let mut s2 = [signals[0], signals[1]];
            let p = if case % 18 < 9 {
                random_matmul_case(rng, &s, &mut s2)
            } else {
                held_load_case(rng, &s, &mut s2)
            };
            signals[0] = s2[0];
            signals[1] = s2[1];
            (p, Plant::Nothing)
        }
        8 if fetch_burst => {
            stats.fetch_burst += 1;
            // From just below a 4 KB boundary, so a burst is cut there.
            fetch = Fetch::At(PROG_AT + 2 * PAGE - 8 * (1 + rng.below(24) as u32));
            (random_fetch_case(rng, &s, signals), Plant::Nothing)
        }
        8 => {
            stats.signal += 1;
            (random_signal_case(rng, &s, signals), Plant::Nothing)
        }
        _ => random_case(rng, &s, 0),
    };
    if !fetched && (kind == 0 || kind == 4) && rng.chance(0.5) {
        pair.host_write = random_host_write(rng, &s, &prog);
    }
    if fetched && plant == Plant::Nothing && !fetch_burst {
        match rng.below(4) {
            // The program's last word the last of the address space.
            0 => fetch = Fetch::At(0u32.wrapping_sub(program_bytes(&prog).len() as u32)),
            // No words at all (START still clears the semaphores).
            1 if kind == 0 || kind == 4 => prog.clear(),
            _ => {}
        }
    }
    Ok((prog, plant, fetch))
}

/// A fetch error of kind `which` (0..6; the six in turn from a random start over a batch, so a
/// batch of 100 cases has five) on a random DMA-only program.
fn fetch_error_case(rng: &mut SplitMix64, s: &Shape, which: usize) -> (Vec<Instr>, Plant) {
    let (p, _) = random_case(rng, s, 0);
    let fault = if rng.chance(0.5) {
        BusFault::SlvErr
    } else {
        BusFault::DecErr
    };
    let words = program_bytes(&p).len() as u32 / 8;
    let plant = match which {
        0 => Plant::FetchAlign,
        1 => Plant::FetchRange,
        5 => Plant::FetchHuge,
        2 if words > 1 => Plant::FetchBusLate {
            words: 1 + rng.below(u64::from(words - 1)) as u32,
            fault,
        },
        3 => Plant::FetchBadWord {
            at: rng.below(p.len() as u64) as usize,
        },
        _ => Plant::FetchBus(fault),
    };
    (p, plant)
}

/// The host's SBUF write made while the DMA ran (`len` entries of partition `part` from
/// `entry`), stored to memory and compared.
fn store_host_write(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    (part, entry, len): (u32, u32, u32),
) -> Result<ErrorCode, String> {
    let eb = pair.shape.eb;
    let store = Instr::DmaStore(Dma {
        target: 0,
        layout: 1,
        esize: eb.trailing_zeros(),
        rows: 1,
        row_len: len,
        part,
        base: DST + eb * rng.below(u64::from(PAGE / eb)) as u32,
        entry,
        ..Dma::default()
    });
    run_case(pair, &[store], Plant::Nothing, Fetch::No)
}

/// A fetched program of 2^15 and more SIGNALs to one semaphore (its top bit): a random one, or
/// (`top`) SEM7, the top of the semaphore vector. START clears the semaphores: `signals` counts
/// from there.
fn signal_flood(
    pair: &mut Pair<'_>,
    rng: &mut SplitMix64,
    top: bool,
    signals: &mut [u32; 3],
) -> Result<(), String> {
    let sem = if top { 7 } else { rng.below(8) as u32 };
    let prog: Vec<Instr> = (0..(1 << 15) + rng.below(64))
        .map(|_| Instr::Signal {
            engine: rng.below(3) as u32,
            sem,
        })
        .collect();
    run_case(pair, &prog, Plant::Nothing, Fetch::At(PROG_AT))
        .map_err(|m| format!("2^15 SIGNALs to SEM{sem}: {m}"))?;
    *signals = [0; 3];
    if let Some(n) = signals.get_mut(sem as usize) {
        *n = prog.len() as u32;
    }
    Ok(())
}
