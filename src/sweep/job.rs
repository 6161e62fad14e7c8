//! Running one point's job in this process (a worker): the FPGA flow (and the netlist's
//! co-simulation), the core's co-simulation, a GEMM on the engine in Verilator, or a quantised
//! network on the engine; and what it measured, for the store.

use std::path::Path;

use serde_json::{json, Value};

use crate::cosim::axi4::SlaveConfig;
use crate::cosim::engine::RtlEngine;
use crate::cosim::{Harness, HarnessOptions, Stalls};
use crate::engine::gemm::{gemm, GemmOptions, Matrix};
use crate::engine::golden::GoldenEngine;
use crate::engine::memory::SparseMemory;
use crate::engine::Engine;
use crate::model::{self, DataPath, Output};
use crate::npy::{self, Array2, Dtype};
use crate::program::{GenOptions, RandomStream, SplitMix64};
use crate::progress::Lines;
use crate::synth;

use super::point::{Context, JobKind, Point};
use super::store::{Metrics, Status};

/// What a job ended with.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// Why it failed, one line.
    pub reason: Option<String>,
    pub metrics: Metrics,
    /// The job's report (JSON).
    pub result: Value,
}

impl Outcome {
    fn failed(reason: impl Into<String>) -> Outcome {
        Outcome {
            status: Status::Failed,
            reason: Some(one_line(&reason.into())),
            metrics: Metrics::default(),
            result: Value::Null,
        }
    }
}

/// The first line of `s`, at most 500 characters.
pub fn one_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.chars().take(500).collect()
}

/// Run `point`'s job with its working files under `work` (the synth run folder); `progress`
/// receives the tools' progress lines.
pub fn run(point: &Point, work: &Path, progress: &mut dyn FnMut(&str)) -> Outcome {
    match point.job {
        JobKind::Synth | JobKind::SynthVerify => run_synth(point, work, progress),
        JobKind::Cosim => run_cosim(point, progress),
        JobKind::GemmBench => run_gemm(point, progress),
        JobKind::Infer => run_infer(point, progress),
    }
}

/// The rows of a 2-D `.npy` (`what` names it in errors), the first `take` of them.
fn npy_rows(path: &Path, what: &str, take: Option<usize>) -> Result<Array2, String> {
    let mut a = npy::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if let Some(n) = take {
        if n > a.rows {
            return Err(format!(
                "{what} {} has {} rows; the point asks for {n} images",
                path.display(),
                a.rows
            ));
        }
        a.data.truncate(n * a.cols);
        a.rows = n;
    }
    Ok(a)
}

/// The top-1 accuracy of logits (`rows x classes` float32) against `labels`.
fn top1(logits: &[f32], rows: usize, labels: &Array2) -> Result<f64, String> {
    if labels.data.len() < rows {
        return Err(format!("{} labels for {rows} images", labels.data.len()));
    }
    let classes = logits.len() / rows;
    let right = (0..rows)
        .filter(|&i| {
            let row = &logits[i * classes..(i + 1) * classes];
            let best = (0..classes).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            best as i64 == labels.data[i]
        })
        .count();
    Ok(right as f64 / rows as f64)
}

fn run_infer(point: &Point, progress: &mut dyn FnMut(&str)) -> Outcome {
    match infer_outcome(point, progress) {
        Ok(o) => o,
        Err(e) => Outcome::failed(e),
    }
}

fn infer_outcome(point: &Point, progress: &mut dyn FnMut(&str)) -> Result<Outcome, String> {
    let cfg = &point.config;
    let s = point
        .infer
        .as_ref()
        .expect("an infer point has its settings");
    let net = model::load(&s.model).map_err(|e| e.to_string())?;
    let x = npy_rows(&s.input, "input", s.images)?;
    if x.dtype != Dtype::F32 || x.cols != net.in_len() {
        return Err(format!(
            "input {}: {} x {} {}; the model takes {} float32 values per image",
            s.input.display(),
            x.rows,
            x.cols,
            x.dtype,
            net.in_len()
        ));
    }
    let xs: Vec<f32> = x.data.iter().map(|&b| f32::from_bits(b as u32)).collect();
    // An engine with the memory path runs its layers over it (the RTL's AXI4 master on the
    // slave model at a 20-cycle latency), as `systolic infer --memory` does.
    let path = if cfg.dma {
        DataPath::Memory
    } else {
        DataPath::Register
    };
    let mut engine: Box<dyn Engine> = if s.backend == "golden" {
        Box::new(GoldenEngine::new(cfg))
    } else {
        progress(&format!("infer: building the {} engine", cfg.tag()));
        let mut e = RtlEngine::build(cfg, &HarnessOptions::default())
            .map_err(|e| format!("Verilator build of the engine: {e}"))?;
        if cfg.dma {
            let slave = SlaveConfig::with_latency(cfg.dma_bits, 20);
            e.bus_mut()
                .attach_memory(slave, SparseMemory::new())
                .map_err(|e| format!("the memory behind the AXI4 master: {e}"))?;
        }
        Box::new(e)
    };
    progress(&format!("infer: {} images", x.rows));
    let start = std::time::Instant::now();
    let (y, stats) =
        model::run(&net, engine.as_mut(), &xs, x.rows, path).map_err(|e| format!("infer: {e}"))?;
    let sim_s = start.elapsed().as_secs_f64();
    let bits: Vec<u32> = match &y {
        Output::F32(v) => v.iter().map(|f| f.to_bits()).collect(),
        Output::Q(v, _) => v.iter().map(|&i| i as u32 & 0xFF).collect(),
    };
    let accuracy = match (&s.labels, &y) {
        (Some(p), Output::F32(v)) => {
            let labels = npy::read_vector(p).map_err(|e| format!("labels {}: {e}", p.display()))?;
            Some(top1(v, x.rows, &labels)?)
        }
        _ => None,
    };
    let mismatch = match &s.reference {
        Some(p) => {
            let r = npy_rows(p, "reference", s.images)?;
            let want: Vec<u32> = r.data.iter().map(|&b| b as u32 & mask(&y)).collect();
            if want.len() != bits.len() {
                return Err(format!(
                    "reference {}: {} values for {} outputs",
                    p.display(),
                    want.len(),
                    bits.len()
                ));
            }
            Some((0..bits.len()).find(|&i| bits[i] != want[i]).map(|i| {
                let per = bits.len() / x.rows;
                format!(
                    "output differs from the reference: image {} value {}: 0x{:x}, reference 0x{:x}",
                    i / per,
                    i % per,
                    bits[i],
                    want[i]
                )
            }))
        }
        None => None,
    };
    let busy = stats.busy_cycles;
    let utilisation = (busy > 0).then(|| stats.macs as f64 / (cfg.pes() as f64 * busy as f64));
    let result = json!({
        "images": x.rows, "backend": s.backend, "path": stats.path, "gemms": stats.gemms,
        "macs": stats.macs, "dma_read_bytes": stats.dma_read_bytes,
        "dma_write_bytes": stats.dma_write_bytes,
        "instructions": stats.instructions, "busy_cycles": busy,
        "end_to_end_cycles": stats.end_to_end_cycles, "top1": accuracy,
        "matches_reference": mismatch.as_ref().map(|m| m.is_none()), "sim_seconds": sim_s,
    });
    let reason = mismatch.flatten();
    Ok(Outcome {
        status: if reason.is_none() {
            Status::Done
        } else {
            Status::Failed
        },
        reason,
        metrics: Metrics {
            cycles: (stats.end_to_end_cycles > 0).then_some(stats.end_to_end_cycles),
            macs: Some(stats.macs),
            utilisation,
            ..Metrics::default()
        },
        result,
    })
}

/// The bits of one output value: float32, or an 8-bit integer.
fn mask(y: &Output) -> u32 {
    match y {
        Output::F32(_) => u32::MAX,
        Output::Q(..) => 0xFF,
    }
}

fn synth_metrics(r: &synth::Report) -> Metrics {
    let logic = r.placed.logic;
    Metrics {
        family: Some(r.family.to_string()),
        device_name: Some(r.device.clone()),
        multipliers: Some(r.multipliers.clone()),
        // The whole netlist's cells (as scripts/qor.sh's tables; out of context on the ECP5
        // that is the core alone, on the iCE40 the core and its 3-pin harness).
        lut4: Some(r.cells.lut4),
        carry: Some(r.cells.carry),
        ff: Some(r.cells.ff),
        dsp: Some(r.cells.dsp),
        bram: Some(r.cells.bram),
        logic_used: logic.map(|u| u.used),
        logic_available: logic.map(|u| u.available),
        fmax_mhz: r.fmax_mhz,
        gops: r.gops,
        icetime_mhz: r.icetime.as_ref().map(|i| i.mhz),
        critical_path: r
            .critical_path
            .as_ref()
            .map(|p| format!("{} -> {}", p.from, p.to)),
        yosys_s: Some(r.times.yosys_s),
        nextpnr_s: Some(r.times.nextpnr_s),
        ..Metrics::default()
    }
}

fn run_synth(point: &Point, work: &Path, progress: &mut dyn FnMut(&str)) -> Outcome {
    let s = point
        .synth
        .as_ref()
        .expect("a synth point has its settings");
    let ctx = Context::new();
    let opts = match s.options(&point.config, point.seed, &ctx, work.to_path_buf()) {
        Ok(o) => o,
        Err(e) => return Outcome::failed(format!("{}: {}", e.field, e.message)),
    };
    let plan = match synth::flow::Plan::new(&point.config, &opts) {
        Ok(p) => p,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let report = match synth::flow::execute(&plan) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let metrics = synth_metrics(&report);
    let mut result = serde_json::to_value(&report).unwrap_or(Value::Null);
    let mut status = Status::Done;
    let mut reason = None;
    if point.job == JobKind::SynthVerify {
        let n = s.verify_programs.unwrap_or(2);
        match synth::verify::check(&plan, &report.netlist_verilog, n, 1, progress) {
            Ok(v) => {
                if !v.pass {
                    status = Status::Failed;
                    reason = Some(one_line(&format!(
                        "post-synthesis co-simulation failed: {}",
                        v.failure.as_deref().unwrap_or("mismatch")
                    )));
                }
                result["verify"] = serde_json::to_value(&v).unwrap_or(Value::Null);
            }
            Err(e) => {
                status = Status::Failed;
                reason = Some(one_line(&format!("post-synthesis co-simulation: {e}")));
            }
        }
    }
    Outcome {
        status,
        reason,
        metrics,
        result,
    }
}

fn run_cosim(point: &Point, progress: &mut dyn FnMut(&str)) -> Outcome {
    let cfg = &point.config;
    let design = crate::rtl::core::design(cfg);
    let harness = match Harness::build_design(&design, &HarnessOptions::default(), &mut |l| {
        progress(&format!("[verilator] {l}"))
    }) {
        Ok(h) => h,
        Err(e) => return Outcome::failed(format!("Verilator build: {e}")),
    };
    let seed = point.seed.unwrap_or(1);
    let gen = GenOptions {
        matmuls: point.instructions.unwrap_or(60),
        ..GenOptions::default()
    };
    let stalls = if point.stalls {
        Stalls::random(seed)
    } else {
        Stalls::NONE
    };
    // The stream `systolic cosim --seed S --instructions N` runs: programs of at most 1,000
    // instructions on one instance, so a long point's memory stays flat.
    let stream = RandomStream::new(cfg, seed, &gen);
    let total = gen.matmuls as u64;
    let r = match harness.run_stream(
        stream,
        stalls,
        None,
        total,
        &mut Lines(|l: &str| progress(l)),
    ) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(format!("co-simulation: {e}")),
    };
    let mut result = serde_json::to_value(&r).unwrap_or(Value::Null);
    result["seed"] = seed.into();
    result["build_seconds"] = harness.build_seconds.into();
    Outcome {
        status: if r.pass { Status::Done } else { Status::Failed },
        reason: (!r.pass).then(|| {
            one_line(&format!(
                "co-simulation mismatch: {}",
                r.failure.as_deref().unwrap_or("see the result")
            ))
        }),
        metrics: Metrics {
            cycles: Some(r.cycles),
            macs: Some(r.useful_macs),
            utilisation: Some(r.utilisation),
            ..Metrics::default()
        },
        result,
    }
}

fn run_gemm(point: &Point, progress: &mut dyn FnMut(&str)) -> Outcome {
    let cfg = &point.config;
    let shape = point.shape.expect("a gemm-bench point has its shape");
    progress(&format!("gemm-bench: building the {} engine", cfg.tag()));
    let mut engine = match RtlEngine::build(cfg, &HarnessOptions::default()) {
        Ok(e) => e,
        Err(e) => return Outcome::failed(format!("Verilator build of the engine: {e}")),
    };
    let mut rng = SplitMix64::new(point.seed.unwrap_or(1));
    let (lo, hi) = (cfg.format.min_value(), cfg.format.max_value());
    let mut random = |r, c| Matrix::from_fn(r, c, |_, _| rng.range_i64(lo, hi));
    let a = random(shape.m, shape.k);
    let b = random(shape.k, shape.n);
    let start = std::time::Instant::now();
    let r = match gemm(&mut engine, &a, &b, &GemmOptions::default()) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(format!("gemm {shape}: {e}")),
    };
    let sim_s = start.elapsed().as_secs_f64();
    // The reference product, modulo the accumulator as the engine's results are.
    let bits = cfg.acc_bits;
    let wrap = |v: i128| -> i64 {
        let m = v & ((1i128 << bits) - 1);
        if cfg.format.is_signed() && m >> (bits - 1) & 1 == 1 {
            (m - (1i128 << bits)) as i64
        } else {
            m as i64
        }
    };
    let wrong = (0..shape.m)
        .flat_map(|i| (0..shape.n).map(move |j| (i, j)))
        .find(|&(i, j)| {
            let exact: i128 = (0..shape.k)
                .map(|x| i128::from(a.get(i, x)) * i128::from(b.get(x, j)))
                .sum();
            r.c.get(i, j) != wrap(exact)
        });
    let pes = cfg.pes();
    let busy = r.counters.busy_cycles;
    let utilisation = (busy > 0).then(|| r.counters.macs as f64 / (pes as f64 * busy as f64));
    let result = json!({
        "shape": shape.to_string(), "m": shape.m, "k": shape.k, "n": shape.n,
        "compute_cycles": busy, "macs": r.counters.macs, "retired": r.counters.retired,
        "ideal_cycles": (shape.m * shape.k * shape.n) as u64 / pes.max(1),
        "utilisation": utilisation, "host_cycles": r.host_cycles,
        "instructions": r.instructions, "sim_seconds": sim_s,
        "correct": wrong.is_none(),
    });
    Outcome {
        status: if wrong.is_none() {
            Status::Done
        } else {
            Status::Failed
        },
        reason: wrong.map(|(i, j)| {
            format!(
                "wrong product: C[{i}][{j}] = {}, expected from the reference loop otherwise",
                r.c.get(i, j)
            )
        }),
        metrics: Metrics {
            cycles: Some(busy),
            macs: Some(r.counters.macs),
            utilisation,
            ..Metrics::default()
        },
        result,
    }
}
