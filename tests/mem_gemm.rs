//! `engine::mem_gemm`: matrix products over the memory path (A, B, the write-back's table and
//! C in memory, the program fetched by the engine) against a plain reference computed here:
//! the exact integer product (raw int32 output), and that product requantised by the formula of
//! `docs/memory-path.md` (ACTIVATE, integer accumulators; written out below, not taken from the
//! code under test).
//!
//! The golden-model tests run many random shapes (not multiples of the array, several M, K and N
//! tiles, one and two PSUM banks, SBUFs small enough to force short M tiles). One Verilator
//! co-simulation (4x4 int8, 64-bit bus, random memory latency and stalls on every AXI channel)
//! runs a few random shapes and compares the bytes of C in the RTL's memory with the golden
//! model's and with the reference. `MEM_GEMM_SEED=<hex>` repeats a run (the seed is printed and
//! named in every failure). The co-simulation fails (does not skip) when `CI` is set and
//! Verilator is missing.

mod common;

use systolic::config::{Config, RawConfig};
use systolic::cosim::axi4::{SlaveConfig, SlaveStalls};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::Matrix;
use systolic::engine::golden::GoldenEngine;
use systolic::engine::mem_gemm::{
    self, MemGemmError, MemGemmResult, OutDtype, Schedule, WriteBack,
};
use systolic::engine::memory::SparseMemory;
use systolic::engine::Engine;
use systolic::program::SplitMix64;

#[allow(clippy::too_many_arguments)]
fn config(
    rows: u32,
    cols: u32,
    format: &str,
    banks: u32,
    psum_depth: u32,
    sbuf_depth: u32,
    dma: bool,
    bus: u32,
) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("mem-gemm-{rows}x{cols}-{format}"),
        rows,
        cols,
        format: format.into(),
        acc_bits: 32,
        psum_banks: banks,
        psum_depth,
        sbuf_depth,
        dma,
        dma_bits: dma.then_some(bus),
        dma_reads: dma.then_some(4),
        ..Default::default()
    })
    .expect("valid config")
}

fn seed() -> u64 {
    std::env::var("MEM_GEMM_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

fn random_matrix(rng: &mut SplitMix64, rows: usize, cols: usize, signed: bool) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| {
        let v = rng.below(256) as i64;
        if signed {
            v - 128
        } else {
            v
        }
    })
}

/// The plain product, exact (i64; the values here never leave int32).
fn product(a: &Matrix, b: &Matrix) -> Vec<i64> {
    let mut c = vec![0i64; a.rows * b.cols];
    for i in 0..a.rows {
        for j in 0..b.cols {
            c[i * b.cols + j] = (0..a.cols).map(|k| a.get(i, k) * b.get(k, j)).sum();
        }
    }
    c
}

/// `docs/memory-path.md`, ACTIVATE with integer accumulators and zero point `zp`: `acc = x +
/// bias` (wrapping int32), `f = f32(acc) * scale` (one binary32 multiply), clamp to the output
/// range less the zero point (relu raises the low bound to the zero point; a NaN becomes the
/// low bound), round half to even, add the zero point.
fn requantise(x: i64, scale: f32, bias: i32, relu: bool, signed: bool, zp: i32) -> i64 {
    let acc = (x as i32).wrapping_add(bias);
    let f = acc as f32 * scale;
    let (mut lo, hi) = if signed { (-128, 127) } else { (0, 255) };
    if relu {
        lo = lo.max(zp);
    }
    let (lo, hi) = ((lo - zp) as f32, (hi - zp) as f32);
    let f = if f > lo { f } else { lo };
    let f = if f < hi { f } else { hi };
    f.round_ties_even() as i64 + i64::from(zp)
}

fn reference(a: &Matrix, b: &Matrix, wb: &WriteBack, signed: bool) -> Vec<i64> {
    let c = product(a, b);
    if wb.out == OutDtype::Int32 {
        return c;
    }
    c.iter()
        .enumerate()
        .map(|(i, &x)| {
            let col = i % b.cols;
            let s = if wb.scale.len() == 1 {
                wb.scale[0]
            } else {
                wb.scale[col]
            };
            let bias = wb.bias.as_ref().map_or(0, |v| v[col]);
            requantise(x, s, bias, wb.relu, signed, wb.zero_point)
        })
        .collect()
}

/// A random write-back of `out`: per-column or one scale (small powers of two make exact
/// ties, others land anywhere in the output range or saturate), biases or none, relu or not.
fn random_write_back(rng: &mut SplitMix64, out: OutDtype, n: usize, k: usize) -> WriteBack {
    if out == OutDtype::Int32 {
        return WriteBack::raw();
    }
    // Products reach about k * 2^14: scales near 2^7 / (that) put outputs in range.
    let typical = 128.0 / (k as f32 * 4096.0);
    let scale = |rng: &mut SplitMix64| match rng.below(4) {
        0 => 1.0 / (1 << (rng.below(12) + 1)) as f32,
        1 => typical * (rng.below(64) as f32 + 1.0) / 8.0,
        _ => typical * (rng.below(1000) as f32) / 100.0,
    };
    let scales: Vec<f32> = if rng.chance(0.3) {
        vec![scale(rng)]
    } else {
        (0..n).map(|_| scale(rng)).collect()
    };
    let bias = rng.chance(0.6).then(|| {
        (0..n)
            .map(|_| rng.below(1 << 16) as i32 - (1 << 15))
            .collect()
    });
    WriteBack {
        out,
        scale: scales,
        bias,
        relu: rng.chance(0.5),
        // Half the cases at zero point 0, the others anywhere in the output type.
        zero_point: match (rng.chance(0.5), out) {
            (true, _) => 0,
            (false, OutDtype::Uint8) => rng.below(256) as i32,
            (false, _) => rng.below(256) as i32 - 128,
        },
    }
}

fn configs() -> Vec<Config> {
    vec![
        config(4, 4, "int8", 2, 16, 128, true, 64),
        config(3, 5, "int8", 1, 8, 64, true, 32),
        config(8, 8, "uint8", 4, 32, 1024, true, 128),
        config(6, 4, "int8", 2, 64, 32, true, 64),
    ]
}

fn random_case(rng: &mut SplitMix64, cfg: &Config, raw: bool) -> (Matrix, Matrix, WriteBack, bool) {
    let signed = cfg.format.is_signed();
    let (m, k, n) = (
        1 + rng.below(40) as usize,
        1 + rng.below(30) as usize,
        1 + rng.below(20) as usize,
    );
    let a = random_matrix(rng, m, k, signed);
    let b = random_matrix(rng, k, n, signed);
    let out = match (raw, signed) {
        (true, _) => OutDtype::Int32,
        (false, true) => OutDtype::Int8,
        (false, false) => OutDtype::Uint8,
    };
    let wb = random_write_back(rng, out, n, k);
    (a, b, wb, signed)
}

/// Every random case on both schedules (the panel where it fits: counted, and most cases fit).
fn golden_cases(raw: bool, cases: usize) {
    let seed = seed();
    eprintln!("seed {seed:x} (MEM_GEMM_SEED={seed:x} repeats it)");
    let mut rng = SplitMix64::new(seed);
    let (mut panels, mut resident, mut runs) = (0, 0, 0);
    for cfg in configs() {
        for case in 0..cases {
            let (a, b, wb, signed) = random_case(&mut rng, &cfg, raw);
            for schedule in [Schedule::Stream, Schedule::Panel] {
                let what = format!(
                    "seed {seed:x}, {}, case {case}, {}: {}x{}x{} {:?}",
                    cfg.name,
                    schedule.name(),
                    a.rows,
                    a.cols,
                    b.cols,
                    wb
                );
                let mut e = GoldenEngine::new(&cfg);
                let r = match mem_gemm::run_with(&mut e, &a, &b, &wb, Some(schedule)) {
                    Err(MemGemmError::PanelTooLarge { .. }) => continue,
                    r => r.unwrap_or_else(|e| panic!("{what}: {e}")),
                };
                assert_eq!(r.plan.schedule, schedule, "{what}");
                runs += 1;
                panels += usize::from(schedule == Schedule::Panel);
                resident += usize::from(r.plan.resident);
                check_golden_run(&what, &r, &a, &b, &wb, signed, &cfg);
            }
        }
    }
    assert!(
        panels * 4 >= runs,
        "seed {seed:x}: only {panels} of {runs} runs on the panel schedule, {resident} with \
         resident weights"
    );
    eprintln!("{runs} runs: {panels} on the panel schedule, {resident} with resident weights");
}

fn check_golden_run(
    what: &str,
    r: &MemGemmResult,
    a: &Matrix,
    b: &Matrix,
    wb: &WriteBack,
    signed: bool,
    cfg: &Config,
) {
    let want = reference(a, b, wb, signed);
    if let Some(i) = (0..want.len()).find(|&i| r.c.data[i] != want[i]) {
        panic!(
            "{what}: C[{}][{}] = {}, reference {}",
            i / b.cols,
            i % b.cols,
            r.c.data[i],
            want[i]
        );
    }
    assert_eq!(
        r.counters.macs,
        (a.rows * a.cols * b.cols) as u64,
        "{what}: MACS"
    );
    let eb = u64::from(wb.out.bytes());
    assert_eq!(
        r.counters.dma_write_bytes,
        (a.rows * b.cols) as u64 * eb,
        "{what}: bytes stored"
    );
    assert_eq!(
        r.counters.dma_read_bytes,
        r.plan.read_bytes(wb, cfg.cols),
        "{what}: bytes loaded"
    );
    // What each schedule promises: the stream reads A once per block of columns, the panel
    // once; both read B once per block of rows, except a panel whose weights stay resident
    // (one stationary slot per step of a block of rows), which reads B once; a table per block
    // of columns (stream) or per output tile (panel, with more than one block of columns).
    let (m, k, n) = (a.rows as u64, a.cols as u64, b.cols as u64);
    let t = r.plan.tiles;
    let (nbs, mbs) = (n.div_ceil(u64::from(t.nt)), m.div_ceil(u64::from(t.mt)));
    let (a_reads, tables) = match r.plan.schedule {
        Schedule::Stream => (nbs, nbs),
        Schedule::Panel => (1, if nbs > 1 { nbs * mbs } else { 1 }),
    };
    let b_reads = if r.plan.resident { 1 } else { mbs };
    let table_bytes = if wb.out == OutDtype::Int32 {
        0
    } else {
        tables * 8 * u64::from(cfg.cols)
    };
    assert_eq!(
        r.counters.dma_read_bytes,
        m * k * a_reads + k * n * b_reads + table_bytes,
        "{what}: bytes loaded, against the schedule's promise"
    );
}

/// Products with many blocks of rows and small weights: the panel keeps the weights resident
/// (read once), on every configuration, raw and requantised, against the reference.
#[test]
fn resident_weights_are_read_once() {
    let seed = seed();
    let mut rng = SplitMix64::new(seed);
    // (The fourth configuration's SBUF of 32 entries has no room for resident weights.)
    for cfg in configs().into_iter().filter(|c| c.sbuf_depth >= 64) {
        for raw in [true, false] {
            let (_, _, wb, signed) = random_case(&mut rng, &cfg, raw);
            let (k, n) = (
                1 + rng.below(2 * cfg.rows as u64) as usize,
                cfg.cols as usize + 1,
            );
            let m = 6 * cfg.psum_depth as usize + rng.below(20) as usize;
            let wb = WriteBack {
                scale: wb.scale[..wb.scale.len().min(1)].to_vec(),
                bias: None,
                ..wb
            };
            let (a, b) = (
                random_matrix(&mut rng, m, k, signed),
                random_matrix(&mut rng, k, n, signed),
            );
            let what = format!("seed {seed:x}, {}: {m}x{k}x{n} {wb:?}", cfg.name);
            let mut e = GoldenEngine::new(&cfg);
            let r = mem_gemm::run_with(&mut e, &a, &b, &wb, Some(Schedule::Panel))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(r.plan.resident, "{what}: {:?}", r.plan);
            check_golden_run(&what, &r, &a, &b, &wb, signed, &cfg);
        }
    }
}

#[test]
fn raw_int32_output_is_the_plain_product() {
    golden_cases(true, 40);
}

#[test]
fn requantised_output_matches_the_documented_formula() {
    golden_cases(false, 40);
}

/// Exact multiples of the array and single tiles (edge cases the random shapes may miss).
#[test]
fn edge_shapes_match_the_reference() {
    let cfg = config(4, 4, "int8", 2, 16, 128, true, 64);
    let mut rng = SplitMix64::new(7);
    for (m, k, n) in [
        (1, 1, 1),
        (4, 4, 4),
        (16, 4, 4),
        (32, 8, 8),
        (17, 5, 9),
        (1, 33, 1),
    ] {
        for raw in [true, false] {
            let a = random_matrix(&mut rng, m, k, true);
            let b = random_matrix(&mut rng, k, n, true);
            let out = if raw { OutDtype::Int32 } else { OutDtype::Int8 };
            let wb = random_write_back(&mut rng, out, n, k);
            let r = mem_gemm::run(&mut GoldenEngine::new(&cfg), &a, &b, &wb).expect("runs");
            assert_eq!(r.c.data, reference(&a, &b, &wb, true), "{m}x{k}x{n} {wb:?}");
        }
    }
}

#[test]
fn refusals_name_the_problem() {
    let a = Matrix::zeros(3, 3);
    let no_dma = config(4, 4, "int8", 2, 16, 128, false, 64);
    let err = mem_gemm::prepare(&no_dma, &a, &a, &WriteBack::raw()).unwrap_err();
    assert!(matches!(err, MemGemmError::NoMemoryPath), "{err}");
    let cfg = config(4, 4, "int8", 2, 16, 128, true, 64);
    let uint8 = WriteBack {
        out: OutDtype::Uint8,
        scale: vec![1.0],
        bias: None,
        relu: false,
        zero_point: 0,
    };
    let err = mem_gemm::prepare(&cfg, &a, &a, &uint8).unwrap_err();
    assert!(err.to_string().contains("uint8 on a int8 engine"), "{err}");
    let two_scales = WriteBack {
        out: OutDtype::Int8,
        scale: vec![1.0, 2.0],
        ..uint8.clone()
    };
    let err = mem_gemm::prepare(&cfg, &a, &a, &two_scales).unwrap_err();
    assert!(err.to_string().contains("2 scales for 3 columns"), "{err}");
    let zp = WriteBack {
        out: OutDtype::Int8,
        zero_point: 128,
        ..uint8.clone()
    };
    let err = mem_gemm::prepare(&cfg, &a, &a, &zp).unwrap_err();
    assert!(
        err.to_string().contains("zero point 128 is not a int8"),
        "{err}"
    );
    let raw_zp = WriteBack {
        zero_point: -1,
        ..WriteBack::raw()
    };
    let err = mem_gemm::prepare(&cfg, &a, &a, &raw_zp).unwrap_err();
    assert!(err.to_string().contains("zero point"), "{err}");
    let tiny = config(4, 4, "int8", 2, 16, 16, true, 64);
    let (a8, b8) = (Matrix::zeros(3, 8), Matrix::zeros(8, 3));
    // Two input slots of 4 + 1 entries and two output slots of 4 entries: 18 > 16.
    let err = mem_gemm::prepare(&tiny, &a8, &b8, &WriteBack::raw()).unwrap_err();
    assert!(matches!(err, MemGemmError::SbufTooSmall { .. }), "{err}");
    let b = Matrix::zeros(4, 2);
    let err = mem_gemm::prepare(&cfg, &a, &b, &WriteBack::raw()).unwrap_err();
    assert!(err.to_string().contains("A's columns must match"), "{err}");
}

/// The RTL tests' engine: 4x4 int8, 64-bit bus, PSUM 2 x 16, SBUF 128, behind an AXI4 slave
/// with a random latency (1 to 24 cycles each way) and 20 % stalls; the seed (printed) draws
/// them and the cases.
fn rtl_engine(test: &str) -> (u64, SplitMix64, Config, RtlEngine) {
    let seed = seed();
    eprintln!("{test}: seed {seed:x} (MEM_GEMM_SEED={seed:x} repeats it)");
    let mut rng = SplitMix64::new(seed);
    let cfg = config(4, 4, "int8", 2, 16, 128, true, 64);
    let mut rtl = RtlEngine::build(&cfg, &HarnessOptions::default()).expect("verilator build");
    let mut slave = SlaveConfig::new(64);
    slave.read_latency = 1 + rng.below(24) as u32;
    slave.write_latency = 1 + rng.below(24) as u32;
    slave.stalls = SlaveStalls::uniform(0.2, rng.next_u64());
    eprintln!(
        "{test}: latency {} / {}, stalls 0.2",
        slave.read_latency, slave.write_latency
    );
    rtl.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .expect("attach memory");
    (seed, rng, cfg, rtl)
}

/// The RTL (4x4 int8, 64-bit bus) runs random products over the memory path with random memory
/// latency and stalls: the bytes of C in its memory equal the golden model's and the reference.
#[test]
fn rtl_memory_path_gemm_matches_golden_and_reference() {
    let test = "rtl_memory_path_gemm_matches_golden_and_reference";
    if !common::require_tool("verilator", test) {
        return;
    }
    let (seed, mut rng, cfg, mut rtl) = rtl_engine(test);
    for case in 0..8 {
        let (a, b, wb, signed) = random_case(&mut rng, &cfg, case % 2 == 0);
        // Both schedules, raw and requantised: the panel falls back to the stream where the
        // SBUF cannot hold it (said in the case's name).
        let schedule = [Schedule::Stream, Schedule::Panel][case / 2 % 2];
        let schedule = match mem_gemm::plan(&cfg, a.rows, a.cols, b.cols, wb.out, Some(schedule)) {
            Ok(_) => schedule,
            Err(_) => Schedule::Stream,
        };
        let what = format!(
            "seed {seed:x}, case {case}, {}: {}x{}x{} {:?}",
            schedule.name(),
            a.rows,
            a.cols,
            b.cols,
            wb
        );
        let mut gold = GoldenEngine::new(&cfg);
        let g = mem_gemm::run_with(&mut gold, &a, &b, &wb, Some(schedule))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let r = mem_gemm::run_with(&mut rtl, &a, &b, &wb, Some(schedule))
            .unwrap_or_else(|e| panic!("{what}: rtl: {e}"));
        if let Some(v) = rtl.bus().violation() {
            panic!("{what}: AXI4 violation: {v}");
        }
        let len = a.rows * b.cols * wb.out.bytes() as usize;
        let c_at = g.plan.layout.c;
        assert_eq!(
            rtl.read_memory(c_at, len).expect("rtl memory"),
            gold.read_memory(c_at, len).expect("golden memory"),
            "{what}: C's bytes in memory, rtl vs golden"
        );
        assert_eq!(
            r.c.data,
            reference(&a, &b, &wb, signed),
            "{what}: rtl vs reference"
        );
        assert_eq!(
            (
                r.counters.macs,
                r.counters.dma_read_bytes,
                r.counters.dma_write_bytes
            ),
            (
                g.counters.macs,
                g.counters.dma_read_bytes,
                g.counters.dma_write_bytes
            ),
            "{what}: counters"
        );
        eprintln!(
            "{test}: case {case} {}x{}x{} {}: {} busy cycles",
            a.rows,
            a.cols,
            b.cols,
            wb.out.name(),
            r.counters.busy_cycles
        );
    }
}

/// A random chain on `cfg`: A (M x K), W1 (K x N1) requantised to the engine's 8-bit format,
/// W2 (N1 x N2) requantised or raw.
struct ChainCase {
    a: Matrix,
    w1: Matrix,
    wb1: WriteBack,
    w2: Matrix,
    wb2: WriteBack,
    signed: bool,
}

fn random_chain(rng: &mut SplitMix64, cfg: &Config, raw: bool) -> ChainCase {
    let signed = cfg.format.is_signed();
    let (m, k) = (1 + rng.below(40) as usize, 1 + rng.below(30) as usize);
    let (n1, n2) = (1 + rng.below(20) as usize, 1 + rng.below(20) as usize);
    let eight = if signed {
        OutDtype::Int8
    } else {
        OutDtype::Uint8
    };
    let out2 = if raw { OutDtype::Int32 } else { eight };
    ChainCase {
        a: random_matrix(rng, m, k, signed),
        w1: random_matrix(rng, k, n1, signed),
        wb1: random_write_back(rng, eight, n1, k),
        w2: random_matrix(rng, n1, n2, signed),
        wb2: random_write_back(rng, out2, n2, n1),
        signed,
    }
}

impl ChainCase {
    /// C2 = f2(f1(A x W1) x W2), computed here from the two products and the formula.
    fn reference(&self) -> Vec<i64> {
        let c1 = reference(&self.a, &self.w1, &self.wb1, self.signed);
        let c1 = Matrix::new(self.a.rows, self.w1.cols, c1);
        reference(&c1, &self.w2, &self.wb2, self.signed)
    }

    fn name(&self) -> String {
        format!(
            "{}x{} x {}x{} x {}x{}, {:?} then {:?}",
            self.a.rows,
            self.a.cols,
            self.w1.rows,
            self.w1.cols,
            self.w2.rows,
            self.w2.cols,
            self.wb1,
            self.wb2
        )
    }

    /// Memory traffic the chain promises: A once, W1 and W2 once per block of rows, a table
    /// per output tile whose layer or block of columns differs from the one before, C2; no
    /// byte of C1.
    fn check_traffic(&self, what: &str, r: &mem_gemm::ChainResult, cols: u32) {
        let p = &r.plan;
        let (m, k) = (self.a.rows as u64, self.a.cols as u64);
        let (n1, n2) = (self.w1.cols as u64, self.w2.cols as u64);
        let mbs = m.div_ceil(u64::from(p.tiles1.mt));
        let nbs1 = n1.div_ceil(u64::from(p.tiles1.nt));
        let nbs2 = n2.div_ceil(u64::from(p.tiles2.nt));
        // Per block of rows: nbs1 tiles of layer 1, then nbs2 of layer 2; every change of
        // (layer, block of columns) loads a table; raw output loads none for layer 2.
        let per_block = |l2: bool| {
            let mut seq: Vec<(u8, u64)> = (0..nbs1).map(|nb| (1, nb)).collect();
            if l2 {
                seq.extend((0..nbs2).map(|nb| (2, nb)));
            }
            seq
        };
        let mut tables = 0;
        let mut prev = None;
        for _ in 0..mbs {
            for x in per_block(true) {
                let raw2 = x.0 == 2 && self.wb2.out == OutDtype::Int32;
                if prev != Some(x) && !raw2 {
                    tables += 1;
                }
                prev = Some(x);
            }
        }
        let reads = m * k + (k * n1 + n1 * n2) * mbs + tables * 8 * u64::from(cols);
        assert_eq!(r.counters.dma_read_bytes, reads, "{what}: bytes loaded");
        let eb = u64::from(self.wb2.out.bytes());
        assert_eq!(
            r.counters.dma_write_bytes,
            m * n2 * eb,
            "{what}: bytes stored (C2 only)"
        );
        let macs = m * k * n1 + m * n1 * n2;
        assert_eq!(r.counters.macs, macs, "{what}: MACs");
    }
}

fn first_difference(what: &str, got: &[i64], want: &[i64], cols: usize) {
    if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: C2[{}][{}] = {}, reference {}",
            i / cols,
            i % cols,
            got[i],
            want[i]
        );
    }
}

/// Two layers on the golden model: C2 against the two products and the requantisation
/// formula computed here, memory traffic against the chain's promise (C1 never stored).
#[test]
fn two_layer_chain_matches_the_reference() {
    let seed = seed();
    eprintln!("seed {seed:x} (MEM_GEMM_SEED={seed:x} repeats it)");
    let mut rng = SplitMix64::new(seed);
    let (mut ran, mut cases) = (0, 0);
    for cfg in configs() {
        for case in 0..30 {
            let c = random_chain(&mut rng, &cfg, case % 3 == 0);
            cases += 1;
            let what = format!("seed {seed:x}, {}, case {case}: {}", cfg.name, c.name());
            let mut e = GoldenEngine::new(&cfg);
            let r = match mem_gemm::run_chain(&mut e, &c.a, &c.w1, &c.wb1, &c.w2, &c.wb2) {
                Err(MemGemmError::PanelTooLarge { .. }) => continue,
                r => r.unwrap_or_else(|e| panic!("{what}: {e}")),
            };
            ran += 1;
            first_difference(&what, &r.c.data, &c.reference(), c.w2.cols);
            c.check_traffic(&what, &r, cfg.cols);
        }
    }
    assert!(
        ran * 2 >= cases,
        "seed {seed:x}: only {ran} of {cases} chains fit"
    );
}

/// Two layers on the RTL (4x4 int8, 64-bit bus, random latency and stalls): C2's bytes in the
/// RTL's memory equal the golden model's and the reference, with the same traffic.
#[test]
fn rtl_two_layer_chain_matches_golden_and_reference() {
    let test = "rtl_two_layer_chain_matches_golden_and_reference";
    if !common::require_tool("verilator", test) {
        return;
    }
    let (seed, mut rng, cfg, mut rtl) = rtl_engine(test);
    let (mut ran, mut tries) = (0, 0);
    while ran < 3 {
        tries += 1;
        assert!(tries <= 50, "seed {seed:x}: no chain of 50 fits the SBUF");
        let c = random_chain(&mut rng, &cfg, ran == 2);
        let what = format!("seed {seed:x}, chain {ran}: {}", c.name());
        let mut gold = GoldenEngine::new(&cfg);
        let g = match mem_gemm::run_chain(&mut gold, &c.a, &c.w1, &c.wb1, &c.w2, &c.wb2) {
            Err(MemGemmError::PanelTooLarge { .. }) => continue,
            r => r.unwrap_or_else(|e| panic!("{what}: {e}")),
        };
        let r = mem_gemm::run_chain(&mut rtl, &c.a, &c.w1, &c.wb1, &c.w2, &c.wb2)
            .unwrap_or_else(|e| panic!("{what}: rtl: {e}"));
        if let Some(v) = rtl.bus().violation() {
            panic!("{what}: AXI4 violation: {v}");
        }
        first_difference(&what, &r.c.data, &c.reference(), c.w2.cols);
        first_difference(
            &format!("{what}, rtl vs golden"),
            &r.c.data,
            &g.c.data,
            c.w2.cols,
        );
        c.check_traffic(&what, &r, cfg.cols);
        ran += 1;
    }
}
