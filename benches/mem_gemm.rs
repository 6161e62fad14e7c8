//! Memory-path GEMM benchmark on the RTL engine: `cargo bench --bench mem_gemm`.
//!
//! Runs `C = A x B` over the memory path (`engine::mem_gemm`: A, B, the table and the program
//! in the AXI4 slave model's memory, the program fetched by CONTROL.START, C requantised to
//! int8 by the write-back unit and stored by DMA) on an 8x8 int8 engine with a 64-bit memory
//! bus and a memory latency of 20 cycles (reads and writes), checks C against a plain product
//! requantised here, and reports end-to-end cycles (CONTROL.START to the STATUS read that saw
//! the engine idle), busy cycles, DMA bytes and the roofline
//! `max(M K N / (rows cols), read bytes / 8, write bytes / 8)`.
//!
//! `SYSTOLIC_BENCH_CHAIN=N2` runs two layers instead (`mem_gemm::run_chain`: C2 =
//! requant(relu(requant(A x B)) x W2), W2 of N x N2, C1 kept on chip; the roofline's compute
//! bound is both layers' MACs over the array's).
//! `SYSTOLIC_BENCH_MEM_GEMM=M,K,N` sets the shape (default 256,256,256),
//! `SYSTOLIC_BENCH_ORDER` the slave's response order across IDs (`inorder`, the default,
//! `reorder`, `interleave`), `SYSTOLIC_BENCH_SBUF` the SBUF depth (default 2048), `SYSTOLIC_BENCH_ARRAY` the array
//! (`ROWSxCOLS`, default 8x8), `SYSTOLIC_BENCH_BUS` the memory bus bits (default 64), `SYSTOLIC_BENCH_SCHEDULE` the schedule
//! (`stream`, `panel`, default `auto`: the planner's choice),
//! `SYSTOLIC_BENCH_MEM_LATENCY` the latency, `SYSTOLIC_BENCH_DMA_READS` the read bursts the
//! engine keeps outstanding (default 4, the `dma_reads` default), `SYSTOLIC_BENCH_RUNS` the number of runs (default
//! 3; the median is reported; the simulation is deterministic, so the runs differ only in wall
//! time). Results go to stdout and `target/bench/mem_gemm.json`.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use systolic::config::{Config, RawConfig};
use systolic::cosim::axi4::{ResponseOrder, SlaveConfig};
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::Matrix;
use systolic::engine::mem_gemm::{self, OutDtype, Schedule, WriteBack};
use systolic::engine::memory::SparseMemory;
use systolic::engine::{Counters, Engine};
use systolic::program::SplitMix64;

fn config(reads: u32, sbuf_depth: u32) -> Config {
    let array = std::env::var("SYSTOLIC_BENCH_ARRAY").unwrap_or_else(|_| "8x8".into());
    let dims: Vec<u32> = array.split('x').filter_map(|x| x.parse().ok()).collect();
    assert_eq!(dims.len(), 2, "SYSTOLIC_BENCH_ARRAY=ROWSxCOLS");
    let bus = env_u64("SYSTOLIC_BENCH_BUS", 64) as u32;
    Config::from_raw(&RawConfig {
        name: format!("int8-{array}-dma{bus}"),
        rows: dims[0],
        cols: dims[1],
        format: "int8".into(),
        acc_bits: 32,
        psum_banks: 4,
        psum_depth: 256,
        sbuf_depth,
        dma: true,
        dma_bits: Some(bus),
        dma_reads: Some(reads),
        ..Default::default()
    })
    .expect("valid config")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn shape() -> (usize, usize, usize) {
    let s = std::env::var("SYSTOLIC_BENCH_MEM_GEMM").unwrap_or_else(|_| "256,256,256".into());
    let v: Vec<usize> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    assert_eq!(v.len(), 3, "SYSTOLIC_BENCH_MEM_GEMM=M,K,N");
    (v[0], v[1], v[2])
}

/// A prepared product or chain.
trait Prepared {
    fn load(&self, e: &mut RtlEngine);
    fn start(&self, e: &mut RtlEngine);
    fn finish(&self, e: &mut RtlEngine) -> Matrix;
}

impl Prepared for mem_gemm::Job {
    fn load(&self, e: &mut RtlEngine) {
        mem_gemm::Job::load(self, e).expect("load");
    }
    fn start(&self, e: &mut RtlEngine) {
        mem_gemm::Job::start(self, e).expect("start");
    }
    fn finish(&self, e: &mut RtlEngine) -> Matrix {
        mem_gemm::Job::finish(self, e).expect("finish")
    }
}

impl Prepared for mem_gemm::ChainJob {
    fn load(&self, e: &mut RtlEngine) {
        mem_gemm::ChainJob::load(self, e).expect("load");
    }
    fn start(&self, e: &mut RtlEngine) {
        mem_gemm::ChainJob::start(self, e).expect("start");
    }
    fn finish(&self, e: &mut RtlEngine) -> Matrix {
        mem_gemm::ChainJob::finish(self, e).expect("finish")
    }
}

/// `runs` runs of `job`, each checked against `want`: the median run's cycles and counters, and
/// the median wall time.
fn measure(job: &dyn Prepared, e: &mut RtlEngine, runs: u64, want: &[i64]) -> (u64, Counters, f64) {
    let mut results = vec![];
    for _ in 0..runs {
        job.load(e);
        let before = e.counters().expect("counters");
        let t = Instant::now();
        job.start(e);
        let t0 = e.bus().cycle();
        let c = job.finish(e);
        let cycles = e.bus().cycle() - t0;
        let wall = t.elapsed().as_secs_f64();
        let d = mem_gemm::delta(before, e.counters().expect("counters"));
        assert!(e.bus().violation().is_none(), "AXI4 violation");
        assert_eq!(c.data, want, "wrong product");
        results.push((cycles, d, wall));
    }
    results.sort_by_key(|r| r.0);
    let (cycles, d, _) = results[results.len() / 2];
    let mut walls: Vec<f64> = results.iter().map(|r| r.2).collect();
    walls.sort_by(f64::total_cmp);
    (cycles, d, walls[walls.len() / 2])
}

/// The plain product requantised as docs/memory-path.md says (zero point 0).
fn reference(a: &Matrix, b: &Matrix, wb: &WriteBack) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.rows * b.cols);
    for i in 0..a.rows {
        for j in 0..b.cols {
            let x: i64 = (0..a.cols).map(|k| a.get(i, k) * b.get(k, j)).sum();
            let acc = (x as i32).wrapping_add(wb.bias.as_ref().map_or(0, |v| v[j]));
            let f = acc as f32 * wb.scale[j];
            let lo = if wb.relu { 0.0 } else { -128.0 };
            let f = if f > lo { f } else { lo };
            let f = if f < 127.0 { f } else { 127.0 };
            out.push(f.round_ties_even() as i64);
        }
    }
    out
}

fn main() {
    let cfg = config(
        env_u64("SYSTOLIC_BENCH_DMA_READS", 4) as u32,
        env_u64("SYSTOLIC_BENCH_SBUF", 2048) as u32,
    );
    let schedule = match std::env::var("SYSTOLIC_BENCH_SCHEDULE").as_deref() {
        Ok("stream") => Some(Schedule::Stream),
        Ok("panel") => Some(Schedule::Panel),
        Ok("auto") | Err(_) => None,
        Ok(other) => panic!("SYSTOLIC_BENCH_SCHEDULE={other}: stream, panel or auto"),
    };
    let (m, k, n) = shape();
    let latency = env_u64("SYSTOLIC_BENCH_MEM_LATENCY", 20) as u32;
    let runs = env_u64("SYSTOLIC_BENCH_RUNS", 3).max(1);
    let mut rng = SplitMix64::new(7);
    let a = Matrix::from_fn(m, k, |_, _| rng.range_i64(-128, 127));
    let b = Matrix::from_fn(k, n, |_, _| rng.range_i64(-128, 127));
    let wb = WriteBack {
        out: OutDtype::Int8,
        scale: (0..n).map(|j| 1.0 / (2048.0 + 64.0 * j as f32)).collect(),
        bias: Some((0..n).map(|j| j as i32 * 100 - 5000).collect()),
        relu: false,
        zero_point: 0,
    };
    let t = Instant::now();
    let mut e = RtlEngine::build(&cfg, &HarnessOptions::default()).expect("build the engine");
    let build = t.elapsed().as_secs_f64();
    let mut slave = SlaveConfig::with_latency(cfg.dma_bits, latency);
    slave.order = match std::env::var("SYSTOLIC_BENCH_ORDER").as_deref() {
        Ok("reorder") => ResponseOrder::Reorder,
        Ok("interleave") => ResponseOrder::Interleave,
        Ok("inorder") | Err(_) => ResponseOrder::InOrder,
        Ok(other) => panic!("SYSTOLIC_BENCH_ORDER={other}: inorder, reorder or interleave"),
    };
    e.bus_mut()
        .attach_memory(slave, SparseMemory::new())
        .expect("attach memory");
    e.bus_mut().set_cycle_limit(u64::MAX / 4);
    // With SYSTOLIC_BENCH_CHAIN=N2: two layers, C2 = requant(relu(requant(A x B)) x W2).
    let chain = std::env::var("SYSTOLIC_BENCH_CHAIN").ok().map(|v| {
        let n2: usize = v.parse().expect("SYSTOLIC_BENCH_CHAIN=N2");
        let w2 = Matrix::from_fn(n, n2, |_, _| rng.range_i64(-128, 127));
        let wb2 = WriteBack {
            out: OutDtype::Int8,
            scale: (0..n2).map(|j| 1.0 / (1024.0 + 32.0 * j as f32)).collect(),
            bias: Some((0..n2).map(|j| 300 - j as i32 * 7).collect()),
            relu: false,
            zero_point: 0,
        };
        (w2, wb2)
    });
    let (runs_out, plan_json, compute, instructions) = match &chain {
        None => {
            let job = mem_gemm::prepare_with(&cfg, &a, &b, &wb, schedule).expect("plan");
            let want = reference(&a, &b, &wb);
            let r = measure(&job, &mut e, runs, &want);
            let plan = json!({"schedule": job.plan.schedule, "moving_slots": job.plan.moving_slots,
                "tiles": job.plan.tiles});
            let compute = (m * k * n) as u64 / u64::from(cfg.rows * cfg.cols);
            (r, plan, compute, job.program.instrs.len())
        }
        Some((w2, wb2)) => {
            let wb1 = WriteBack {
                relu: true,
                zero_point: 0,
                ..wb.clone()
            };
            let job = mem_gemm::prepare_chain(&cfg, &a, &b, &wb1, w2, wb2).expect("plan");
            let c1 = Matrix::new(m, n, reference(&a, &b, &wb1));
            let want = reference(&c1, w2, wb2);
            let r = measure(&job, &mut e, runs, &want);
            let plan = json!({"chain": [n, w2.cols], "moving_slots": job.plan.moving_slots,
                "tiles": [job.plan.tiles1, job.plan.tiles2]});
            (
                r,
                plan,
                job.plan.compute_bound(&cfg),
                job.program.instrs.len(),
            )
        }
    };
    let (cycles, d, wall) = runs_out;
    let bus = u64::from(cfg.dma_bits / 8);
    let roofline = compute
        .max(d.dma_read_bytes.div_ceil(bus))
        .max(d.dma_write_bytes.div_ceil(bus));
    let report = json!({
        "config": cfg.name,
        "shape": [m, k, n],
        "memory_latency": latency,
        "dma_reads": cfg.dma_reads,
        "sbuf_depth": cfg.sbuf_depth,
        "plan": plan_json,
        "instructions": instructions,
        "end_to_end_cycles": cycles,
        "busy_cycles": d.busy_cycles,
        "compute_bound": compute,
        "dma_read_bytes": d.dma_read_bytes,
        "dma_write_bytes": d.dma_write_bytes,
        "read_bytes_per_cycle": d.dma_read_bytes as f64 / cycles as f64,
        "write_bytes_per_cycle": d.dma_write_bytes as f64 / cycles as f64,
        "roofline_cycles": roofline,
        "roofline_fraction": roofline as f64 / cycles as f64,
        "runs": runs,
        "build_seconds": build,
        "median_wall_seconds": wall,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(
        dir.join("mem_gemm.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write target/bench/mem_gemm.json");
}
