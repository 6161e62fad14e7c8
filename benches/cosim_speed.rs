//! Co-simulation speed benchmark: `cargo bench --bench cosim_speed`.
//!
//! For each array size in `SYSTOLIC_BENCH_SIZES` (default `16,64,128`; square arrays, 2 PSUM
//! banks of 512 rows), with the Verilator [`default_verilator`] selects (`SYSTOLIC_VERILATOR`):
//! 1. the Verilator build into a fresh, empty cache (a cold build: the Verilated runtime objects
//!    are compiled too), wall-clock seconds and CPU seconds of the tools (Verilator, `make`, the
//!    compilers: less disturbed by other work than the wall clock);
//! 2. `SYSTOLIC_BENCH_RUNS` (default 3) runs of a back-to-back program (T MultiplyMoving
//!    instructions of N = 512 columns, a new stationary each; T = 256 at 16x16, 16 up to 64x64,
//!    else 4), every read checked against the golden model; simulated cycles per second of the
//!    Rust driver's cycle loop (driver and FFI calls included), median, and the same times the
//!    number of PEs (PE-cycles/s); also per CPU second of the process over the same loop (less
//!    disturbed than the wall clock when the machine is shared).
//!
//! Also prints the machine, the load average before and after each size (the machine may be
//! shared), and the Verilator options taken from the environment. Results go to stdout and to
//! `target/bench/cosim_speed-<release>.json`.
//! Heavy (a 128x128 build is minutes of both cores): run it alone, e.g. under `nice -n 10`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use systolic::config::{Config, RawConfig};
use systolic::cosim::verilator::{default_verilator, ENV_MAKE_ARGS, ENV_VERILATOR_ARGS};
use systolic::cosim::{Harness, HarnessOptions, Stalls};
use systolic::program::{Program, SplitMix64};

mod common;
use common::{machine, median};

/// The 1-minute load average.
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// CPU seconds (user + system) of this process's waited-for children so far: Verilator, `make`
/// and the compilers of a build.
fn children_cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is a valid value; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// `VERILATOR_VERSION` from the selected installation's `verilated_config.h`, as the build
/// recorded it in its cache marker.
fn release_of(cache: &std::path::Path) -> String {
    std::fs::read_dir(cache)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("systolic-build.json")).ok())
        .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .find_map(|v| v["verilator_release"].as_str().map(String::from))
        .unwrap_or_default()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let sizes: Vec<u32> = std::env::var("SYSTOLIC_BENCH_SIZES")
        .unwrap_or_else(|_| "16,64,128".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = env("SYSTOLIC_BENCH_RUNS").parse().unwrap_or(3).max(1);
    let verilator = default_verilator();
    println!(
        "co-simulation speed on {}; verilator {}; {}='{}' {}='{}'",
        machine(),
        verilator.display(),
        ENV_VERILATOR_ARGS,
        env(ENV_VERILATOR_ARGS),
        ENV_MAKE_ARGS,
        env(ENV_MAKE_ARGS)
    );
    let mut release = String::new();
    let mut rows = vec![];
    for n in sizes {
        let cfg = Config::from_raw(&RawConfig {
            name: format!("bench-{n}x{n}"),
            rows: n,
            cols: n,
            psum_banks: 2,
            psum_depth: 512,
            ..Default::default()
        })
        .unwrap();
        let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("bench-cache")
            .join(format!("speed-{n}x{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let opts = HarnessOptions {
            cache_root: cache.clone(),
            ..HarnessOptions::default()
        };
        let load_before = load();
        let t = Instant::now();
        let cpu0 = children_cpu_seconds();
        let h = Harness::build(&cfg, &opts).expect("build");
        let build = t.elapsed().as_secs_f64();
        let build_cpu = children_cpu_seconds() - cpu0;
        release = release_of(&cache);
        let t_instr = match n {
            0..=16 => 256,
            17..=64 => 16,
            _ => 4,
        };
        let program = Program::back_to_back(&cfg, t_instr, 512, &mut SplitMix64::new(1));
        let mut cycles = 0;
        let mut cpu_speeds = vec![];
        let speeds: Vec<f64> = (0..runs)
            .map(|_| {
                let out = h.run(&program, Stalls::NONE, None).expect("run");
                assert!(out.report.pass, "{}", out.report.summary());
                cycles = out.report.cycles;
                cpu_speeds.push(cycles as f64 / out.report.sim_cpu_seconds.max(1e-9));
                out.report.cycles_per_second
            })
            .collect();
        let cps = median(speeds.clone());
        let cpu_cps = median(cpu_speeds.clone());
        let pes = f64::from(n * n);
        let load_after = load();
        println!(
            "  {n}x{n}: build {build:.1} s (CPU {build_cpu:.1} s); {cycles} cycles x {runs} runs: {} cycles/s -> median \
             {cps:.0} cycles/s, {:.1} M PE-cycles/s; per CPU second: median {cpu_cps:.0} \
             cycles/s, {:.1} M PE-cycles/s (load {load_before:.1} / {load_after:.1})",
            speeds
                .iter()
                .map(|s| format!("{s:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            cps * pes / 1e6,
            cpu_cps * pes / 1e6,
        );
        rows.push(json!({
            "rows": n, "cols": n, "build_seconds": build, "build_cpu_seconds": build_cpu, "cycles": cycles,
            "cycles_per_second": speeds, "median_cycles_per_second": cps,
            "median_pe_cycles_per_second": cps * pes,
            "cycles_per_cpu_second": cpu_speeds, "median_cycles_per_cpu_second": cpu_cps,
            "load_before": load_before, "load_after": load_after,
        }));
        drop(h);
        let _ = std::fs::remove_dir_all(&cache);
    }
    let results = json!({
        "machine": machine(),
        "verilator": verilator,
        "verilator_release": release,
        "verilator_args": env(ENV_VERILATOR_ARGS),
        "make_args": env(ENV_MAKE_ARGS),
        "sizes": rows,
    });
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench");
    std::fs::create_dir_all(&out).unwrap();
    let tag: String = release
        .split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_string();
    let file = out.join(format!("cosim_speed-{tag}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(&results).unwrap()).unwrap();
    println!("wrote {}", file.display());
}
