//! GEMM benchmark on the RTL engine: `cargo bench --bench gemm`.
//!
//! Runs `C = A x B` through the whole engine in Verilator (host writes SBUF over AXI4-Lite,
//! pushes instructions, reads PSUM), checks the product against a plain triple loop, and
//! reports the engine's own counters: compute cycles (CYCLES: cycles with instructions queued,
//! streaming or in flight), useful MACs, utilisation = MACs / (rows * cols * cycles), and the
//! host-transfer cycles separately. Results go to stdout and `target/bench/gemm.json`.
//!
//! Cases: an 8x8 int8 engine (SBUF 16384 entries per partition) on 256x256x256 (ideal 262,144
//! cycles) and the 128x128 preset on M = 512, K = 128, N = 512 (ideal 2,048 cycles).
//! `SYSTOLIC_BENCH_GEMM=small` runs only the first.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use systolic::config::{seeds_dir, Config, Overrides};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::{gemm, GemmOptions, Matrix};
use systolic::program::SplitMix64;

fn matrix(rows: usize, cols: usize, rng: &mut SplitMix64) -> Matrix {
    Matrix::from_fn(rows, cols, |_, _| rng.range_i64(-128, 127))
}

fn run(cfg: &Config, m: usize, k: usize, n: usize) -> serde_json::Value {
    let t = Instant::now();
    let mut e = RtlEngine::build(cfg, &HarnessOptions::default()).expect("build the engine");
    let build = t.elapsed().as_secs_f64();
    let mut rng = SplitMix64::new(7);
    let (a, b) = (matrix(m, k, &mut rng), matrix(k, n, &mut rng));
    let t = Instant::now();
    let r = gemm(&mut e, &a, &b, &GemmOptions::default()).expect("gemm");
    let sim = t.elapsed().as_secs_f64();
    let ok = (0..m).all(|i| {
        (0..n).all(|j| r.c.get(i, j) == (0..k).map(|x| a.get(i, x) * b.get(x, j)).sum::<i64>())
    });
    assert!(ok, "wrong product");
    let pes = u64::from(cfg.rows * cfg.cols);
    let ideal = (m * k * n) as u64 / pes;
    let util = r.counters.macs as f64 / (pes as f64 * r.counters.busy_cycles as f64);
    println!(
        "{}x{} engine, GEMM {m}x{k}x{n}: compute {} cycles (ideal {ideal}), utilisation {:.2}%, {:.2} MACs/cycle, \
         host transfers {} cycles, {} instructions; Verilator build {build:.1} s, run {sim:.1} s",
        cfg.rows,
        cfg.cols,
        r.counters.busy_cycles,
        100.0 * util,
        r.counters.macs as f64 / r.counters.busy_cycles as f64,
        r.host_cycles,
        r.instructions
    );
    json!({"rows": cfg.rows, "cols": cfg.cols, "m": m, "k": k, "n": n, "compute_cycles": r.counters.busy_cycles,
           "ideal_cycles": ideal, "utilisation": util, "macs": r.counters.macs, "host_cycles": r.host_cycles,
           "instructions": r.instructions, "build_seconds": build, "run_seconds": sim})
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let small = Overrides {
        sbuf_depth: Some(16384),
        ..Overrides::default()
    };
    let c8 = Config::from_preset(&seeds_dir(), "int8-8x8", &small).unwrap();
    let mut results = vec![run(&c8, 256, 256, 256)];
    if std::env::var("SYSTOLIC_BENCH_GEMM").as_deref() != Ok("small") {
        let c128 =
            Config::from_preset(&seeds_dir(), "trn-int8-128x128", &Overrides::default()).unwrap();
        results.push(run(&c128, 512, 128, 512));
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("gemm.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
}
