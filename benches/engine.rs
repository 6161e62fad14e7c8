//! Engine benchmark: `cargo bench --bench engine`.
//!
//! Measures, on the machine it runs on (it prints the CPU and core count):
//! 1. Generation time of the 128x128 preset (median of 11 runs).
//! 2. Back-to-back MultiplyMoving, a new stationary each time, on the RTL in Verilator:
//!    8x8 (T = 64, N = 256) and 128x128 (T = 4, N = 512), with ordinary loads and with gapless
//!    loads (`ls_gapless`, early swap). Every read is checked against the
//!    golden model and the cycle count against the timing model; the figure is compared with
//!    the target T*N + rows + cols + 16.
//! 3. Verilator build time (a fresh cache, so a real build) and simulated cycles per second
//!    (median of 3 runs of a back-to-back program) at the sizes in `SYSTOLIC_BENCH_SIZES`
//!    (default `16,64,128`).
//!
//! Results go to stdout and to `target/bench/engine.json`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use systolic::config::{seeds_dir, Config, Overrides, RawConfig};
use systolic::cosim::{Harness, HarnessOptions, Stalls};
use systolic::generate::files;
use systolic::program::{Command, Program, SplitMix64};
use systolic::rtl::core;

mod common;
use common::{machine, median};

fn square(n: u32, banks: u32, depth: u32) -> Config {
    Config::from_raw(&RawConfig {
        name: format!("bench-{n}x{n}"),
        rows: n,
        cols: n,
        psum_banks: banks,
        psum_depth: depth,
        ..Default::default()
    })
    .unwrap()
}

fn preset(name: &str) -> Config {
    Config::from_preset(&seeds_dir(), name, &Overrides::default()).unwrap()
}

/// A fresh build cache for a real (uncached) build.
fn fresh_cache(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-cache")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn back_to_back(h: &Harness, t: usize, n: u32, gapless: bool) -> serde_json::Value {
    let cfg = &h.cfg;
    let program = Program::back_to_back(cfg, t, n, &mut SplitMix64::new(42));
    let stalls = Stalls {
        gapless_loads: gapless,
        ..Stalls::NONE
    };
    // Correctness: the program with its final reads, checked against the golden model.
    let checked = h.run(&program, stalls, None).expect("run");
    assert!(checked.report.pass, "{}", checked.report.summary());
    // Timing: the same instructions without the reads, so the run ends when the last result is
    // written (busy drops the cycle after the last PSUM write).
    let mut compute = program.clone();
    compute
        .commands
        .retain(|c| !matches!(c, Command::ReadPsum { .. }));
    let out = h.run(&compute, stalls, None).expect("run");
    assert!(out.report.pass, "{}", out.report.summary());
    let first_mv = *out.rtl.mv_fire.first().unwrap();
    let (rows, cols) = (u64::from(cfg.rows), u64::from(cfg.cols));
    let target = t as u64 * u64::from(n) + rows + cols + 16;
    let total = out.report.cycles;
    let streaming = total - first_mv;
    println!(
        "  {}x{} T={t} N={n}{}: {total} cycles in all = {first_mv} before the first moving beat + {streaming} from it \
         to the last write; target T*N+rows+cols+16 = {target}: streaming {}, in all {}",
        cfg.rows,
        cfg.cols,
        if gapless { ", gapless loads (early swap)" } else { "" },
        if streaming <= target { "within" } else { "OVER" },
        if total <= target { "within" } else { "over" },
    );
    json!({"rows": cfg.rows, "cols": cfg.cols, "t": t, "n": n, "gapless_loads": gapless, "total_cycles": total,
           "before_first_beat": first_mv, "streaming_cycles": streaming, "target": target,
           "timing_model_cycles": out.report.expected_cycles, "reads_checked": checked.report.reads})
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let machine = machine();
    println!("systolic engine benchmark on {machine}");
    let mut results = json!({"machine": machine});

    // 1. Generation time.
    let big = preset("trn-int8-128x128");
    let times: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            let files = files(&core::design(&big));
            assert!(files.len() > 5);
            t.elapsed().as_secs_f64()
        })
        .collect();
    let gen = median(times);
    println!(
        "generate trn-int8-128x128: median {:.3} ms (11 runs)",
        gen * 1e3
    );
    results["generate_128x128_seconds"] = json!(gen);

    // 2. Back-to-back.
    println!("back-to-back MultiplyMoving, new stationary each time:");
    let h8 = Harness::build(&preset("int8-8x8"), &HarnessOptions::default()).expect("build 8x8");
    let b8 = back_to_back(&h8, 64, 256, false);
    let b8g = back_to_back(&h8, 64, 256, true);
    let h128 = Harness::build(&big, &HarnessOptions::default()).expect("build 128x128");
    let b128 = back_to_back(&h128, 4, 512, false);
    let b128g = back_to_back(&h128, 4, 512, true);
    results["back_to_back"] = json!([b8, b8g, b128, b128g]);

    // 3. Build time and simulation speed.
    let sizes: Vec<u32> = std::env::var("SYSTOLIC_BENCH_SIZES")
        .unwrap_or_else(|_| "16,64,128".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("Verilator build (fresh cache) and simulation speed:");
    let mut speed = vec![];
    for n in sizes {
        let cfg = square(n, 2, 512);
        let opts = HarnessOptions {
            cache_root: fresh_cache(&format!("{n}x{n}")),
            ..HarnessOptions::default()
        };
        let t = Instant::now();
        let h = Harness::build(&cfg, &opts).expect("build");
        let build = t.elapsed().as_secs_f64();
        let (t_instr, n_beats) = (4usize, 512u32);
        let program = Program::back_to_back(&cfg, t_instr, n_beats, &mut SplitMix64::new(1));
        let runs: Vec<f64> = (0..3)
            .map(|_| {
                let out = h.run(&program, Stalls::NONE, None).expect("run");
                assert!(out.report.pass, "{}", out.report.summary());
                out.report.cycles_per_second
            })
            .collect();
        let cps = median(runs);
        println!("  {n}x{n}: build {build:.1} s, {cps:.0} simulated cycles/s (median of 3)");
        speed.push(json!({"rows": n, "cols": n, "build_seconds": build, "cycles_per_second": cps}));
        let _ = std::fs::remove_dir_all(&opts.cache_root);
    }
    results["verilator"] = json!(speed);

    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("engine.json"),
        serde_json::to_string_pretty(&results).unwrap(),
    )
    .unwrap();
    println!("wrote target/bench/engine.json");
}
