//! The memory path in RTL (`systolic_engine` with `dma = true`, Verilator) against the golden
//! model (`engine::golden`), through the AXI4 slave model and protocol checker of `cosim::axi4`
//! on the engine's master port `m_axi_*` (random latency and stalls on every channel; responses
//! across the DMA's and the fetch's IDs in order, reordered or interleaved, by seed).
//!
//! One engine (6x4 int8: 6 SBUF partitions, so the store reader uses both SBUF read ports; a
//! 64-bit bus; 4 reads outstanding; 512 SBUF entries, so a contiguous transfer needs more than
//! one 256-beat burst) is built once. Of every 8 cases:
//! - 2 random programs of DMA_LOADs and DMA_STOREs (SBUF, both layouts) with random bases
//!   (often just below a 4 KB boundary), strides (contiguous, gapped, overlapping, 0) and sizes;
//! - 2 with a planted bus error (SLVERR or DECERR on a page a load reads or a store writes):
//!   both back ends must stop with DmaBus; the bytes of the instructions before the failing one
//!   are compared, then CLEAR_ERROR and both SBUFs and memories are written afresh;
//! - 1 with a planted range error (DmaRange at dispatch), every other time a fetch error
//!   instead (CONTROL.START with a misaligned PROG_BASE: DmaAlign; SLVERR or DECERR on the
//!   program's page: DmaBus);
//! - 1 matmul chain: DMA_LOADs, SIGNAL / WAIT, LOAD_STATIONARY, MULTIPLY_MOVING, a PSUM-target
//!   and an SBUF DMA_STORE;
//! - 2 ACTIVATE chains: the ACT table and operands by DMA, a multiply, an ACTIVATE (the
//!   engine's dtype with random function, zero point and clamp bounds (integers), per-column
//!   scales and biases, special scales, or raw32), a DMA_STORE of the entries it wrote; half of
//!   them with small operands and power-of-two scales, which make exact ties; half of them with
//!   a second multiply into the other PSUM bank, which runs while the ACTIVATE reads PSUM.
//!
//! One case in five without a planted error is fetched from memory by CONTROL.START. After each
//! case the error codes, the semaphores and every byte of the load and store regions are
//! compared (the SBUF is seen through the stores; the first differing byte is reported with the
//! instructions that store it), and after a case without error the increases of MACS, RETIRED,
//! DMA_READ_BYTES and DMA_WRITE_BYTES. At the end the checker must have seen every request answered and no violation.
//!
//! The default test builds the 6x4 int8 engine; `#[ignore]`d ones (`scripts/test.sh --full`)
//! run the same cases on a uint8 engine with a 32-bit bus and one read outstanding, a bf16
//! engine (2-byte elements, fp32 accumulators: the float write-back) with a 128-bit bus, and
//! fp8e4m3 and fp8e5m2 engines (64- and 256-bit buses). For floats the ACTIVATE chains use
//! identity or relu, and small operands are values with two significant bits near 1, which make
//! the casts' ties. Another `#[ignore]`d test checks the write-back's fp32 multiplier and casts
//! alone against the host's `f32` and `golden::requant::cast` (1,000,000 random inputs): a
//! rounding error in the multiplier's subnormal range hardly ever reaches a bf16 or fp8 output.
//!
//! `DMA_RTL_SEED` repeats a run (the seed is printed), `DMA_RTL_CASES` sets the number of cases
//! (default 200), `DMA_RTL_TRACE=file.vcd` writes the waves. Fails (does not skip) when `CI` is
//! set and Verilator is missing.

mod common;

use std::time::Instant;

use systolic::config::{Config, RawConfig};
use systolic::cosim::axi4::{ResponseOrder, SlaveConfig, SlaveStalls};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::verilator::{self, BuildSpec, PortSpec};
use systolic::cosim::HarnessOptions;
use systolic::engine::golden::GoldenEngine;
use systolic::engine::memory::{BusFault, Memory, PageFault, SparseMemory, PAGE};
use systolic::engine::{checks, Counters, Engine};
use systolic::format::{FpFormat, NumberFormat};
use systolic::golden::requant;
use systolic::isa::{Act, Dma, ErrorCode, Instr};
use systolic::program::SplitMix64;
use systolic::rtl::engine::act_fp;
use systolic::verilog::*;

const ROWS: u32 = 6;
const COLS: u32 = 4;
const PARTS: u32 = 6;
const DEPTH: u32 = 512;

/// The memory the programs use: loads read `SRC..SRC + SPAN`, stores write `DST..DST + SPAN`.
const SRC: u32 = 0x0001_0000;
const DST: u32 = 0x0002_0000;
const SPAN: u32 = 3 * PAGE;

/// The 6x4 engine of `format` with an AXI4 bus of `bus_bits` and `reads` reads outstanding.
fn config(format: &str, bus_bits: u32, reads: u32) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("dma-rtl-6x4-{format}-{bus_bits}"),
        rows: ROWS,
        cols: COLS,
        format: format.into(),
        acc_bits: 32,
        psum_banks: 2,
        psum_depth: 16,
        sbuf_depth: DEPTH,
        dma: true,
        dma_bits: Some(bus_bits),
        dma_reads: Some(reads),
        ..Default::default()
    })
    .expect("valid config")
}

/// The two back ends side by side.
struct Pair {
    rtl: RtlEngine,
    gold: GoldenEngine,
    /// int8 (else uint8; only used with 8-bit integer formats).
    signed: bool,
    format: NumberFormat,
    /// Bytes of an SBUF element.
    eb: u32,
}

impl Pair {
    fn rtl_memory(&mut self) -> &mut SparseMemory {
        self.rtl
            .bus_mut()
            .memory_port_mut()
            .expect("memory attached")
            .memory_mut()
    }

    /// Fresh random contents in both SBUFs and in both memories' regions; no faults.
    fn refill(&mut self, rng: &mut SplitMix64) {
        for p in 0..PARTS {
            let v: Vec<i64> = (0..DEPTH)
                .map(|_| self.format.from_bits(rng.next_u64()))
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

    fn set_fault(&mut self, addr: u32, f: PageFault) {
        self.rtl_memory().set_fault(addr, f);
        self.gold.memory_mut().set_fault(addr, f);
    }
}

/// A random DMA of `target` 0 (SBUF) within the engine's bounds, its memory bytes inside
/// `region..region + SPAN`; `near_page` puts its first byte within 64 bytes below a 4 KB
/// boundary.
fn random_sbuf_dma(rng: &mut SplitMix64, region: u32, eb: u32) -> Dma {
    let layout = rng.below(2) as u32;
    let pick = |rng: &mut SplitMix64, max: u32| 1 + rng.below(u64::from(max)) as u32;
    let (rows, row_len, part, entry) = if layout == 0 {
        let part = rng.below(u64::from(PARTS)) as u32;
        let row_len = pick(rng, PARTS - part);
        let rows = if rng.chance(0.3) {
            pick(rng, DEPTH)
        } else {
            pick(rng, 24)
        };
        let entry = rng.below(u64::from(DEPTH - rows + 1)) as u32;
        (rows, row_len, part, entry)
    } else {
        let part = rng.below(u64::from(PARTS)) as u32;
        let rows = pick(rng, PARTS - part);
        let row_len = if rng.chance(0.3) {
            pick(rng, DEPTH)
        } else {
            pick(rng, 40)
        };
        let entry = rng.below(u64::from(DEPTH - row_len + 1)) as u32;
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

/// The first memory page a DMA touches past its first row (its last byte's page).
fn last_page(d: &Dma) -> u32 {
    let last = d.base + (d.rows - 1) * d.stride + (d.row_len << d.esize) - 1;
    last / PAGE * PAGE
}

/// What a case plants.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plant {
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
    /// The program's page answers reads with `fault` (DmaBus, nothing runs).
    FetchBus(BusFault),
}

/// A random program of 1..=6 DMA instructions, loads before stores by preference; `plant`
/// 1 plants a bus error, 2 a range error, others nothing.
fn random_case(rng: &mut SplitMix64, plant: u32, eb: u32) -> (Vec<Instr>, Plant) {
    let n = 1 + rng.below(6) as usize;
    let mut prog = vec![];
    for i in 0..n {
        let store = i * 2 >= n || rng.chance(0.2);
        prog.push(if store {
            Instr::DmaStore(random_sbuf_dma(rng, DST, eb))
        } else {
            Instr::DmaLoad(random_sbuf_dma(rng, SRC, eb))
        });
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
            d.part = PARTS;
        }
    }
    (prog, plant)
}

/// A random matmul chain (no error planted): DMA_LOADs of operands, SIGNAL DMA -> WAIT PE,
/// LOAD_STATIONARY + MULTIPLY_MOVING into fresh PSUM entries, SIGNAL PE -> WAIT DMA, then a
/// PSUM-target DMA_STORE of part of the result and an SBUF DMA_STORE. `signals` counts the
/// SIGNALs of semaphores 0 and 1 so far (the WAIT values).
fn random_matmul_case(rng: &mut SplitMix64, signals: &mut [u32; 2], eb: u32) -> Vec<Instr> {
    let mut prog: Vec<Instr> = (0..1 + rng.below(3))
        .map(|_| Instr::DmaLoad(random_sbuf_dma(rng, SRC, eb)))
        .collect();
    signals[0] += 1;
    prog.push(Instr::Signal { engine: 1, sem: 0 });
    prog.push(Instr::Wait {
        engine: 0,
        sem: 0,
        value: signals[0] & 0xFFFF,
    });
    let k = 1 + rng.below(u64::from(ROWS)) as u32;
    let m = 1 + rng.below(u64::from(COLS)) as u32;
    let n = 1 + rng.below(16) as u32;
    let bank = rng.below(2) as u32;
    let offset = rng.below(u64::from(16 - n + 1)) as u32;
    prog.push(Instr::LoadStationary {
        addr: rng.below(u64::from(DEPTH - k + 1)) as u32,
        k,
        m,
    });
    prog.push(Instr::MultiplyMoving {
        addr: rng.below(u64::from(DEPTH - n + 1)) as u32,
        k,
        n,
        bank,
        offset,
        acc: false,
        swap: true,
    });
    signals[1] += 1;
    prog.push(Instr::Signal { engine: 0, sem: 1 });
    prog.push(Instr::Wait {
        engine: 1,
        sem: 1,
        value: signals[1] & 0xFFFF,
    });
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
    prog.push(Instr::DmaStore(random_sbuf_dma(rng, DST, eb)));
    prog
}

/// Where a fetched program sits in memory (outside the load and store regions).
const PROG_AT: u32 = 0x0003_0000;

/// Where the ACT table of an ACTIVATE case sits in memory (inside the load region).
const TABLE_AT: u32 = SRC + 2 * PAGE + 0x800;

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
fn random_act_case(pair: &mut Pair, rng: &mut SplitMix64, signals: &mut [u32; 3]) -> Vec<Instr> {
    // Small operands (integers: |acc| <= 54; floats: two significant bits near 1) with
    // power-of-two scales give exact halves: the ties of the final rounding.
    let fmt = pair.format.float();
    let float = fmt.is_some();
    let small = rng.chance(0.5);
    let mut table = vec![];
    for _ in 0..COLS {
        let s = if small && rng.chance(0.7) {
            let sign = if rng.chance(0.3) { 0x8000_0000 } else { 0 };
            sign | (127 - 1 - rng.below(3) as u32) << 23
        } else {
            random_scale(rng)
        };
        table.extend(s.to_le_bytes());
    }
    for _ in 0..COLS {
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
    pair.rtl_memory().poke(TABLE_AT, &table);
    pair.gold.memory_mut().poke(TABLE_AT, &table);
    // (With small operands, no DMA_LOAD into the SBUF: it could overwrite them.)
    let loads = if small { 0 } else { 1 + rng.below(2) };
    let mut prog: Vec<Instr> = (0..loads)
        .map(|_| Instr::DmaLoad(random_sbuf_dma(rng, SRC, pair.eb)))
        .collect();
    prog.push(Instr::DmaLoad(Dma {
        target: 2,
        esize: 2,
        rows: 1,
        row_len: 2 * COLS,
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
    let k = 1 + rng.below(u64::from(ROWS)) as u32;
    let m = 1 + rng.below(u64::from(COLS)) as u32;
    let n = 1 + rng.below(16) as u32;
    let bank = rng.below(2) as u32;
    let offset = rng.below(u64::from(16 - n + 1)) as u32;
    let ls_addr = rng.below(u64::from(DEPTH - k + 1)) as u32;
    let mm_addr = rng.below(u64::from(DEPTH - n + 1)) as u32;
    if small {
        for p in 0..PARTS {
            for (at, len) in [(ls_addr, k), (mm_addr, n)] {
                let lo = if pair.signed { -3 } else { 0 };
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
    let per = if raw { 4 / pair.eb } else { 1 };
    let entry = rng.below(u64::from(DEPTH - an * per + 1)) as u32;
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
            checks::format_dtype(pair.format).expect("a memory-path format") as u32
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
    // SIGNAL, so unordered with the ACTIVATE: its moving entries stay clear of the ACTIVATE's
    // writes): the write-back unit reads PSUM while the core computes.
    if rng.chance(0.5) {
        let n2 = 1 + rng.below(16) as u32;
        let addr = loop {
            let a = rng.below(u64::from(DEPTH - n2 + 1)) as u32;
            if a + n2 <= entry || a >= entry + an * per {
                break a;
            }
        };
        prog.push(Instr::MultiplyMoving {
            addr,
            k,
            n: n2,
            bank: 1 - bank,
            offset: rng.below(u64::from(16 - n2 + 1)) as u32,
            acc: false,
            swap: false,
        });
    }
    prog.push(Instr::Activate(act));
    signals[2] += 1;
    prog.push(Instr::Signal { engine: 2, sem: 2 });
    prog.push(wait(1, 2, signals[2]));
    // The written entries, one partition per memory row.
    let row_len = an * per;
    prog.push(Instr::DmaStore(Dma {
        target: 0,
        layout: 1,
        esize: pair.eb.trailing_zeros(),
        rows: am,
        row_len,
        base: DST + pair.eb * rng.below(u64::from(PAGE / pair.eb)) as u32,
        stride: pair.eb * (row_len + rng.below(8) as u32),
        entry,
        ..Dma::default()
    }));
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

/// Runs one case on both back ends; a description of the first mismatch, if any. Returns the
/// error code both stopped with.
fn run_case(
    pair: &mut Pair,
    prog: &[Instr],
    plant: Plant,
    fetch: bool,
) -> Result<ErrorCode, String> {
    // The instruction expected to fail: the first to touch the faulty page that way.
    let failing = match plant {
        Plant::BusError { at, fault } => {
            let (addr, f) = fault_of(&prog[at], fault);
            pair.set_fault(addr, f);
            let read = matches!(prog[at], Instr::DmaLoad(_));
            (0..=at)
                .find(|&k| touches(&prog[k], addr, read))
                .expect("the planted instruction touches its page")
        }
        Plant::RangeError { at } => at,
        Plant::FetchAlign | Plant::FetchBus(_) => 0,
        Plant::Nothing => prog.len(),
    };
    let before = (
        pair.gold.counters().map_err(|e| e.to_string())?,
        pair.rtl.counters().map_err(|e| e.to_string())?,
    );
    if let Plant::FetchBus(f) = plant {
        let fault = PageFault {
            read: Some(f),
            write: None,
        };
        pair.set_fault(PROG_AT, fault);
    }
    if fetch {
        // The program from memory: CONTROL.START (which clears the semaphores).
        let words: Vec<u8> = prog
            .iter()
            .flat_map(|i| i.encode().to_vec())
            .flat_map(u64::to_le_bytes)
            .collect();
        pair.rtl_memory().poke(PROG_AT, &words);
        pair.gold.memory_mut().poke(PROG_AT, &words);
        let n = (words.len() / 8) as u32;
        let base = PROG_AT + if plant == Plant::FetchAlign { 4 } else { 0 };
        pair.gold
            .start_program(base, n)
            .map_err(|e| format!("golden start: {e}"))?;
        pair.rtl
            .start_program(base, n)
            .map_err(|e| format!("rtl start: {e}"))?;
    }
    for i in prog.iter().filter(|_| !fetch) {
        pair.gold
            .push(*i)
            .map_err(|e| format!("golden push {i}: {e}"))?;
        match pair.rtl.push(*i) {
            Ok(()) => {}
            // The RTL stopped before taking every word (the queue is full behind an error).
            Err(e) if plant != Plant::Nothing => eprintln!("  rtl push {i}: {e}"),
            Err(e) => return Err(format!("rtl push {i}: {e}")),
        }
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
    let want = match plant {
        Plant::Nothing => ErrorCode::None,
        Plant::BusError { .. } => ErrorCode::DmaBus,
        Plant::RangeError { .. } => ErrorCode::DmaRange,
        Plant::FetchAlign => ErrorCode::DmaAlign,
        Plant::FetchBus(_) => ErrorCode::DmaBus,
    };
    if g.error != want {
        return Err(format!(
            "the golden model stopped with {:?}, planted {want:?}",
            g.error
        ));
    }
    // After an error, only the bytes of the instructions before the failing one are compared
    // (the failing one's destination is undefined; nothing after it runs on the DMA).
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
    Ok(g.error)
}

/// The 6x4 int8 engine with a 64-bit bus and 4 reads outstanding.
#[test]
fn dma_load_store_match_the_golden_model() {
    co_simulate("dma_load_store_match_the_golden_model", "int8", 64, 4);
}

/// The 6x4 bf16 engine (2-byte SBUF elements, fp32 accumulators: the float write-back) with a
/// 128-bit bus and 8 reads outstanding (a third Verilator build: run by `scripts/test.sh
/// --full`).
#[test]
#[ignore]
fn bf16_on_a_128_bit_bus_matches_the_golden_model() {
    co_simulate(
        "bf16_on_a_128_bit_bus_matches_the_golden_model",
        "bf16",
        128,
        8,
    );
}

/// The 6x4 fp8e4m3 engine (saturating casts) with a 64-bit bus and 2 reads outstanding
/// (`scripts/test.sh --full`).
#[test]
#[ignore]
fn fp8e4m3_matches_the_golden_model() {
    co_simulate("fp8e4m3_matches_the_golden_model", "fp8e4m3", 64, 2);
}

/// The 6x4 fp8e5m2 engine with a 256-bit bus and 16 reads outstanding (`scripts/test.sh
/// --full`).
#[test]
#[ignore]
fn fp8e5m2_matches_the_golden_model() {
    co_simulate("fp8e5m2_matches_the_golden_model", "fp8e5m2", 256, 16);
}

/// The 6x4 uint8 engine with a 32-bit bus and one read outstanding (a second Verilator build:
/// run by `scripts/test.sh --full`).
#[test]
#[ignore]
fn uint8_on_a_32_bit_bus_matches_the_golden_model() {
    co_simulate(
        "uint8_on_a_32_bit_bus_matches_the_golden_model",
        "uint8",
        32,
        1,
    );
}

/// The 6x4 int8 engine with pe_latency 3 and the split PSUM accumulate (read-ahead 2: its last
/// PSUM write, which `mm_done` marks, two edges after the data cycle), a 64-bit bus and 4 reads
/// (`scripts/test.sh --full`).
#[test]
#[ignore]
fn int8_with_a_split_pipelined_psum_matches_the_golden_model() {
    let mut raw = config("int8", 64, 4).to_raw();
    raw.pe_latency = 3;
    raw.psum_split = true;
    raw.name.push_str("-pl3-split");
    co_simulate_cfg(
        "int8_with_a_split_pipelined_psum_matches_the_golden_model",
        Config::from_raw(&raw).expect("valid config"),
        64,
    );
}

fn co_simulate(test: &str, format: &str, bus_bits: u32, reads: u32) {
    co_simulate_cfg(test, config(format, bus_bits, reads), bus_bits);
}

fn co_simulate_cfg(test: &str, cfg: Config, bus_bits: u32) {
    if !common::require_tool("verilator", test) {
        return;
    }
    let seed = std::env::var("DMA_RTL_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let cases: usize = std::env::var("DMA_RTL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    eprintln!("{test}: seed {seed:#x} (DMA_RTL_SEED={seed:x} repeats it), {cases} cases");
    let t0 = Instant::now();
    let trace = std::env::var_os("DMA_RTL_TRACE");
    let opts = HarnessOptions {
        trace: trace.is_some(),
        ..HarnessOptions::default()
    };
    let mut rtl = RtlEngine::build(&cfg, &opts).expect("verilator build");
    if let Some(path) = &trace {
        rtl.bus_mut()
            .open_trace(std::path::Path::new(path))
            .expect("trace");
    }
    eprintln!("{test}: model ready in {:.1} s", t0.elapsed().as_secs_f64());
    let mut rng = SplitMix64::new(seed);
    let mut slave = SlaveConfig::new(bus_bits);
    slave.read_latency = 1 + rng.below(6) as u32;
    slave.write_latency = 1 + rng.below(6) as u32;
    slave.stalls = SlaveStalls::uniform(0.25, rng.next_u64());
    slave.max_reads = 8;
    // Across the DMA's and the fetch's IDs: in order, whole bursts reordered, or R beats
    // interleaved.
    slave.order = [
        ResponseOrder::InOrder,
        ResponseOrder::Reorder,
        ResponseOrder::Interleave,
    ][rng.below(3) as usize];
    eprintln!(
        "{test}: slave latency {} / {}, stalls 0.25, {:?}",
        slave.read_latency, slave.write_latency, slave.order
    );
    slave.max_writes = 8;
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .expect("attach memory");
    rtl.bus_mut().set_cycle_limit(200_000);
    let mut pair = Pair {
        rtl,
        gold: GoldenEngine::new(&cfg),
        signed: cfg.format.is_signed(),
        format: cfg.format,
        eb: if cfg.format.bits() > 8 { 2 } else { 1 },
    };
    let eb = pair.eb;
    pair.refill(&mut rng);
    let mut stats = [0usize; 6];
    let mut signals = [0u32; 3];
    for case in 0..cases {
        // Of every 8 cases: 2 DMA-only, 2 with a bus error, 1 with a range error (every other
        // time a fetch error instead), 1 matmul chain, 2 ACTIVATE chains. Every fifth case
        // without a planted error is fetched from memory (CONTROL.START, which clears the
        // semaphores).
        let fetch_error = case % 16 == 11;
        let fetch = fetch_error || case % 5 == 4 && ![1, 3, 5].contains(&(case % 8));
        if fetch {
            signals = [0; 3];
            stats[5] += 1;
        }
        let (prog, plant) = match case % 8 {
            1 | 5 => random_case(&mut rng, 1, eb),
            3 if fetch_error => {
                let (p, _) = random_case(&mut rng, 0, eb);
                let plant = match rng.below(3) {
                    0 => Plant::FetchAlign,
                    1 => Plant::FetchBus(BusFault::SlvErr),
                    _ => Plant::FetchBus(BusFault::DecErr),
                };
                (p, plant)
            }
            3 => random_case(&mut rng, 2, eb),
            6 | 7 => {
                stats[4] += 1;
                (
                    random_act_case(&mut pair, &mut rng, &mut signals),
                    Plant::Nothing,
                )
            }
            2 => {
                stats[3] += 1;
                let mut s2 = [signals[0], signals[1]];
                let p = random_matmul_case(&mut rng, &mut s2, eb);
                signals[0] = s2[0];
                signals[1] = s2[1];
                (p, Plant::Nothing)
            }
            _ => random_case(&mut rng, 0, eb),
        };
        let c0 = pair.rtl.bus().cycle();
        let result = run_case(&mut pair, &prog, plant, fetch);
        let listing: Vec<String> = prog.iter().map(|i| format!("    {i}")).collect();
        match result {
            Ok(code) => {
                let cycles = pair.rtl.bus().cycle() - c0;
                let k = match code {
                    ErrorCode::None => 0,
                    ErrorCode::DmaBus => 1,
                    _ => 2,
                };
                stats[k] += 1;
                if code != ErrorCode::None {
                    pair.rtl.clear_error().expect("rtl clear_error");
                    pair.gold.clear_error().expect("golden clear_error");
                    pair.refill(&mut rng);
                }
                if matches!(plant, Plant::FetchAlign | Plant::FetchBus(_)) {
                    // Whether a refused fetch cleared the semaphores is not compared: clear them.
                    pair.rtl.clear_semaphores().expect("rtl clear_sems");
                    pair.gold.clear_semaphores().expect("golden clear_sems");
                    signals = [0; 3];
                }
                if case < 3 || code != ErrorCode::None && stats[1] + stats[2] <= 2 {
                    eprintln!(
                        "  case {case}: {code:?} in {cycles} cycles ({plant:?})\n{}",
                        listing.join("\n")
                    );
                }
            }
            Err(m) => panic!(
                "{test} seed {seed:#x}: case {case} ({plant:?}): {m}\n  program:\n{}",
                listing.join("\n")
            ),
        }
    }
    let counters = pair
        .rtl
        .bus_mut()
        .memory_port_mut()
        .expect("memory")
        .finish()
        .unwrap_or_else(|v| panic!("{test} seed {seed:#x}: AXI4 at the end: {v}"));
    eprintln!(
        "{test}: {cases} cases ({} clean of which {} matmul chains with PSUM stores and {} \
         ACTIVATE chains, {} fetched by CONTROL.START, {} DmaBus, {} DmaRange or DmaAlign), {} \
         cycles, {:.1} s; AXI4: {counters:?}",
        stats[0],
        stats[3],
        stats[4],
        stats[5],
        stats[1],
        stats[2],
        pair.rtl.bus().cycle(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        stats.iter().all(|&n| n > 0),
        "every kind of case ran: {stats:?}"
    );
}

/// A probe around the write-back's float units: `p = a * b` (fp32) and the casts of `f` to
/// bf16, E4M3 and E5M2.
fn float_probe() -> Module {
    let mut items = act_fp::fp32_mul("m_", id("a"), id("b"));
    items.push(assign(id("p"), id("m_y")));
    for (fmt, out) in [
        (FpFormat::Bf16, "cb"),
        (FpFormat::E4M3, "c4"),
        (FpFormat::E5M2, "c5"),
    ] {
        let pre = format!("{out}_");
        items.extend(act_fp::cast(&pre, id("f"), fmt));
        items.push(assign(id(out), id(&format!("{pre}out"))));
    }
    Module {
        name: "act_fp_probe".into(),
        doc: vec![],
        params: vec![],
        ports: vec![
            input("clk", None, "").waive("UNUSED"),
            input("a", bits(32), ""),
            input("b", bits(32), ""),
            input("f", bits(32), ""),
            output("p", bits(32), ""),
            output("cb", bits(16), ""),
            output("c4", bits(8), ""),
            output("c5", bits(8), ""),
        ],
        items: hoist(items),
    }
}

/// A random fp32 pattern: uniform bits, or a chosen exponent band (subnormals, the bottom and
/// top of the normals, near 1), with a random or short fraction.
fn random_f32(rng: &mut SplitMix64) -> u32 {
    let sign = (rng.below(2) as u32) << 31;
    let e = match rng.below(6) {
        0 => return rng.next_u64() as u32,
        1 => 0,
        2 => 1 + rng.below(30) as u32,
        3 => 254 - rng.below(30) as u32,
        4 => 100 + rng.below(60) as u32,
        _ => 255 * (rng.below(8) == 0) as u32,
    };
    let frac = if rng.chance(0.3) {
        (rng.below(8) as u32) << 20
    } else {
        rng.below(1 << 23) as u32
    };
    sign | e << 23 | frac
}

/// The write-back's fp32 multiplier and casts (`act_fp`) in Verilator against the host's IEEE
/// `f32` multiply (NaN results as the canonical NaN) and `golden::requant::cast`: 1,000,000
/// random inputs, half of the products aimed at the subnormal range and the overflow boundary.
/// A second (small) Verilator build, so with the float engines in `scripts/test.sh --full`.
#[test]
#[ignore]
fn write_back_float_units_match_the_host() {
    if !common::require_tool("verilator", "write_back_float_units_match_the_host") {
        return;
    }
    let t0 = Instant::now();
    let dir = common::scratch_dir("act-fp-probe");
    let path = dir.join("act_fp_probe.v");
    std::fs::write(&path, print_module(&[], &float_probe())).expect("write probe");
    let ports = [
        PortSpec::input("clk", 1),
        PortSpec::input("a", 32),
        PortSpec::input("b", 32),
        PortSpec::input("f", 32),
        PortSpec::output("p", 32),
        PortSpec::output("cb", 16),
        PortSpec::output("c4", 8),
        PortSpec::output("c5", 8),
    ];
    let model = verilator::build(
        &BuildSpec {
            top: "act_fp_probe",
            sources: &[path],
            ports: &ports,
            trace: false,
            fst: false,
            threads: 1,
            extra_args: &[],
        },
        &verilator::default_cache_root(),
    )
    .expect("build the probe");
    let mut sim = model.instantiate().expect("instantiate");
    let port = |n: &str| sim.require_port(n).expect("port");
    let [a, b, f, p, cb, c4, c5] = ["a", "b", "f", "p", "cb", "c4", "c5"].map(port);
    let seed = 0x5EED_AC7F;
    let mut rng = SplitMix64::new(seed);
    for i in 0..1_000_000u32 {
        let x = random_f32(&mut rng);
        let mut y = random_f32(&mut rng);
        if i % 2 == 1 {
            // Aim the product's exponent at the subnormals or the top: ex + ey near 127 - 126
            // - 24 .. 127 - 126, or near 127 + 127.
            let ex = (x >> 23) & 0xFF;
            let target = if rng.chance(0.5) {
                101 + rng.below(28) as u32
            } else {
                380 + rng.below(4) as u32
            };
            let ey = target.saturating_sub(ex).clamp(1, 254);
            y = (y & 0x807F_FFFF) | ey << 23;
        }
        let z = random_f32(&mut rng);
        sim.set_u64(a, x.into());
        sim.set_u64(b, y.into());
        sim.set_u64(f, z.into());
        sim.eval();
        let host = f32::from_bits(x) * f32::from_bits(y);
        let want = if host.is_nan() {
            0x7FC0_0000
        } else {
            host.to_bits()
        };
        let got = sim.get_u64(p) as u32;
        assert_eq!(
            got, want,
            "seed {seed:#x} pair {i}: {x:#010x} * {y:#010x}: rtl {got:#010x}, host {want:#010x}"
        );
        for (fmt, out) in [
            (FpFormat::Bf16, cb),
            (FpFormat::E4M3, c4),
            (FpFormat::E5M2, c5),
        ] {
            let want = requant::cast(f32::from_bits(z), fmt);
            let got = sim.get_u64(out) as u16;
            assert_eq!(
                got,
                want,
                "seed {seed:#x} value {i}: cast {z:#010x} to {}: rtl {got:#06x}, golden {want:#06x}",
                fmt.name()
            );
        }
    }
    eprintln!(
        "write_back_float_units_match_the_host: 1,000,000 products and casts in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// Busy cycles (the engine's CYCLES counter) of `prog` run on both back ends (compared as in
/// the random cases).
fn busy_cycles_of(pair: &mut Pair, prog: &[Instr]) -> u64 {
    let c0 = pair.rtl.counters().expect("rtl counters").busy_cycles;
    if let Err(m) = run_case(pair, prog, Plant::Nothing, false) {
        panic!("{m}\n  program: {prog:?}");
    }
    pair.rtl.counters().expect("rtl counters").busy_cycles - c0
}

/// The write-back unit's throughput, measured on the RTL by the engine's busy-cycle counter
/// (CYCLES), and its overlap with the PE engine (the golden model checks every result on the
/// way; it is not cycle-accurate, so the cycle counts are bounded here):
/// - an ACTIVATE of n = 16 entries takes at most 15 + 1 cycles more than one of n = 1 (one
///   PSUM entry per cycle), a raw32 one at most 15 * 4 / EB + 1 more (port 2's writes);
/// - ACTIVATE reads PSUM through the core's pipelined port while the PE engine multiplies into
///   other PSUM entries: MULTIPLY_MOVING (bank 0), SIGNAL PE, MULTIPLY_MOVING (bank 1), and on
///   ACT a WAIT for that signal and an ACTIVATE of bank 0 must take at least 8 cycles fewer
///   than the two multiplies alone plus the ACTIVATE alone (the ACTIVATE's 16 entries pass
///   while the second multiply computes).
///
/// The write-back unit that read PSUM through the host's port only while the core was idle,
/// one entry every AR_LAT + 4 cycles, fails both.
#[test]
fn activate_streams_one_psum_entry_per_cycle() {
    let test = "activate_streams_one_psum_entry_per_cycle";
    if !common::require_tool("verilator", test) {
        return;
    }
    let cfg = config("int8", 64, 4);
    let mut rtl = RtlEngine::build(&cfg, &HarnessOptions::default()).expect("verilator build");
    let mut slave = SlaveConfig::new(64);
    slave.read_latency = 2;
    slave.write_latency = 2;
    slave.max_reads = 8;
    slave.max_writes = 8;
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .expect("attach memory");
    rtl.bus_mut().set_cycle_limit(200_000);
    let mut pair = Pair {
        rtl,
        gold: GoldenEngine::new(&cfg),
        signed: true,
        format: cfg.format,
        eb: 1,
    };
    let mut rng = SplitMix64::new(0x5eed_ac71);
    pair.refill(&mut rng);
    // Scales 2^-6 (accumulators of a few hundred onto the 8-bit range), no biases.
    let table: Vec<u8> = (0..2 * COLS)
        .flat_map(|i| if i < COLS { 0x3C80_0000u32 } else { 0 }.to_le_bytes())
        .collect();
    pair.rtl_memory().poke(TABLE_AT, &table);
    pair.gold.memory_mut().poke(TABLE_AT, &table);
    let n = 16;
    let mm = |bank: u32, addr: u32, swap: bool| Instr::MultiplyMoving {
        addr,
        k: ROWS,
        n,
        bank,
        offset: 0,
        acc: false,
        swap,
    };
    let act = |n: u32, raw: bool| {
        Instr::Activate(Act {
            bank: 0,
            n,
            m: COLS,
            dtype: if raw { 4 } else { 0 },
            per_col: !raw,
            entry: 0,
            ..Act::default()
        })
    };
    let store = |entries: u32| {
        Instr::DmaStore(Dma {
            target: 0,
            layout: 1,
            esize: 0,
            rows: COLS,
            row_len: entries,
            base: DST,
            stride: entries,
            ..Dma::default()
        })
    };
    pair.rtl.clear_semaphores().expect("rtl clear_sems");
    pair.gold.clear_semaphores().expect("golden clear_sems");
    let setup = [
        Instr::DmaLoad(Dma {
            target: 2,
            esize: 2,
            rows: 1,
            row_len: 2 * COLS,
            base: TABLE_AT,
            ..Dma::default()
        }),
        Instr::LoadStationary {
            addr: 0,
            k: ROWS,
            m: COLS,
        },
        mm(0, 0, true),
        mm(1, n, false),
    ];
    busy_cycles_of(&mut pair, &setup);
    let t_mm = busy_cycles_of(&mut pair, &[mm(0, 0, false), mm(1, n, false)]);
    let t1 = busy_cycles_of(&mut pair, &[act(1, false)]);
    let tn = busy_cycles_of(&mut pair, &[act(n, false)]);
    busy_cycles_of(&mut pair, &[store(n)]);
    let r1 = busy_cycles_of(&mut pair, &[act(1, true)]);
    let rn = busy_cycles_of(&mut pair, &[act(n, true)]);
    busy_cycles_of(&mut pair, &[store(4 * n)]);
    // The overlap: the ACTIVATE of bank 0 waits for the first multiply only.
    let overlapped = busy_cycles_of(
        &mut pair,
        &[
            mm(0, 2 * n, false),
            Instr::Signal { engine: 0, sem: 3 },
            mm(1, 3 * n, false),
            Instr::Wait {
                engine: 2,
                sem: 3,
                value: 1,
            },
            act(n, false),
        ],
    );
    busy_cycles_of(&mut pair, &[store(n)]);
    eprintln!(
        "{test}: busy cycles: ACTIVATE n=1 {t1}, n={n} {tn}; raw32 n=1 {r1}, n={n} {rn}; two \
         multiplies {t_mm}; the multiplies with the ACTIVATE between them {overlapped}"
    );
    assert!(
        tn - t1 <= u64::from(n - 1) + 1,
        "ACTIVATE: {tn} busy cycles for {n} entries, {t1} for one: not one entry per cycle"
    );
    assert!(
        rn - r1 <= u64::from(4 * (n - 1)) + 1,
        "raw32 ACTIVATE: {rn} busy cycles for {n} entries, {r1} for one: not 4 cycles per entry"
    );
    assert!(
        overlapped + 8 <= t_mm + tn,
        "ACTIVATE did not overlap the second multiply: {overlapped} busy cycles, {t_mm} + {tn} \
         one after the other"
    );
}
