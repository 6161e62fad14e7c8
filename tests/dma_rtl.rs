//! The memory path in RTL (`systolic_engine` with `dma = true`, Verilator) against the golden
//! model (`engine::golden`), through the AXI4 slave model and protocol checker of `cosim::axi4`
//! on the engine's master port `m_axi_*` (random latency and stalls on every channel; responses
//! across the DMA's and the fetch's IDs in order, reordered or interleaved, by seed).
//!
//! One engine (6x4 int8: 6 SBUF partitions, so the store reader uses both SBUF read ports; a
//! 64-bit bus; 4 reads outstanding; 512 SBUF entries, so a contiguous transfer needs more than
//! one 256-beat burst) is built once and runs the random cases of `systolic::cosim::dma_random`
//! (the generator and the comparison the mutation campaign's `dma-random` check runs too): of
//! every 9 cases, 2 DMA-only programs, 2 with a planted bus error, 1 with a planted range error
//! or (every other time) a fetch error, 1 matmul chain with a PSUM store, 2 ACTIVATE chains
//! (random function, zero point, clamp, per-column scales and biases, special scales, raw32,
//! exact ties; on integer engines every other pair crafted onto the requantisation's rounding
//! points), 1 signal burst (two pending SIGNAL slots per engine) or fetch burst; one case in
//! five without a planted error fetched from memory by CONTROL.START; twice a program of 2^15
//! SIGNALs to one semaphore. After each case the error codes, the
//! semaphores and every byte of the load and store regions are compared, and after a case
//! without error the counters' increases. At the end the checker must have seen every request
//! answered and no violation.
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
use systolic::cosim::axi4::SlaveConfig;
use systolic::cosim::dma_random::{self, run_case, Fetch, Pair, Plant, DST, TABLE_AT};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::verilator::{self, BuildSpec, PortSpec};
use systolic::cosim::HarnessOptions;
use systolic::engine::memory::SparseMemory;
use systolic::engine::Engine;
use systolic::format::FpFormat;
use systolic::golden::requant;
use systolic::isa::{Act, Dma, Instr};
use systolic::program::SplitMix64;
use systolic::rtl::engine::act_fp;
use systolic::verilog::*;

const ROWS: u32 = 6;
const COLS: u32 = 4;
const DEPTH: u32 = 512;

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
    let slave = dma_random::random_slave(&mut rng, bus_bits);
    eprintln!(
        "{test}: slave latency {} / {}, stalls 0.25, {:?}",
        slave.read_latency, slave.write_latency, slave.order
    );
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .expect("attach memory");
    rtl.bus_mut().set_cycle_limit(200_000);
    let mut pair = Pair::new(&mut rtl, &cfg);
    let stats = dma_random::run_batch(&mut pair, &mut rng, cases, &mut |m| eprintln!("{m}"))
        .unwrap_or_else(|m| panic!("{test} seed {seed:#x}: {m}"));
    eprintln!(
        "{test}: {cases} cases ({} clean of which {} matmul chains with PSUM stores, {} \
         ACTIVATE chains and {} signal bursts, {} fetched by CONTROL.START, {} DmaBus, {} \
         DmaRange or DmaAlign), {} cycles, {:.1} s",
        stats.clean,
        stats.matmul,
        stats.activate,
        stats.signal,
        stats.fetched,
        stats.bus,
        stats.range,
        pair.rtl.bus().cycle(),
        t0.elapsed().as_secs_f64()
    );
    assert!(stats.every_kind(), "every kind of case ran: {stats:?}");
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
fn busy_cycles_of(pair: &mut Pair<'_>, prog: &[Instr]) -> u64 {
    let c0 = pair.rtl.counters().expect("rtl counters").busy_cycles;
    if let Err(m) = run_case(pair, prog, Plant::Nothing, Fetch::No) {
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
    let mut pair = Pair::new(&mut rtl, &cfg);
    let mut rng = SplitMix64::new(0x5eed_ac71);
    pair.refill(&mut rng);
    // Scales 2^-6 (accumulators of a few hundred onto the 8-bit range), no biases.
    let table: Vec<u8> = (0..2 * COLS)
        .flat_map(|i| if i < COLS { 0x3C80_0000u32 } else { 0 }.to_le_bytes())
        .collect();
    pair.poke(TABLE_AT, &table);
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
