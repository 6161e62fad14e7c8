//! `systolic run --memory`: `C = A x B` over the memory path (`engine::mem_gemm`): the host
//! writes A, B, the write-back's table and the program into the memory behind the engine's
//! AXI4 master (the Rust AXI4 slave model in co-simulation), starts the engine
//! (CONTROL.START), waits for it to go idle and reads C back. The report adds end-to-end
//! cycles, DMA traffic and the roofline bound.

use std::path::Path;

use serde::Serialize;

use systolic::config::Config;
use systolic::cosim::axi4::SlaveConfig;
use systolic::cosim::engine::RtlEngine;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::Matrix;
use systolic::engine::golden::GoldenEngine;
use systolic::engine::mem_gemm::{self, Job, MemGemmError, OutDtype, Schedule, Tiles, WriteBack};
use systolic::engine::memory::SparseMemory;
use systolic::engine::{Counters, Engine};
use systolic::files::OutputPath;
use systolic::npy::{self, Array2, Dtype};
use systolic::progress::Progress;

use super::common::UsageError;
use super::progress::Reporter;
use super::run::{out_dtype, prepare, write_npy, Args, Backend, OutArg, ScheduleArg};

/// What `run --memory` reports (also the `--json` output).
#[derive(Debug, Serialize)]
pub struct MemoryReport {
    pub config: String,
    pub backend: Backend,
    pub path: &'static str,
    pub a: [usize; 2],
    pub b: [usize; 2],
    pub c: [usize; 2],
    pub out: std::path::PathBuf,
    pub out_dtype: &'static str,
    /// Cycles from CONTROL.START to the STATUS read that saw the engine idle (rtl only).
    pub end_to_end_cycles: Option<u64>,
    /// The engine's CYCLES counter over the run (busy cycles; rtl only).
    pub busy_cycles: Option<u64>,
    /// `M * K * N / (rows * cols)`, rounded up.
    pub compute_bound: u64,
    pub macs: u64,
    pub dma_read_bytes: u64,
    pub dma_write_bytes: u64,
    /// Bytes per cycle of the AXI4 data bus (`dma_bits / 8`), each direction.
    pub bus_bytes: u32,
    pub read_bytes_per_cycle: Option<f64>,
    pub write_bytes_per_cycle: Option<f64>,
    /// `max(compute_bound, dma_read_bytes / bus_bytes, dma_write_bytes / bus_bytes)`.
    pub roofline_cycles: u64,
    /// `roofline_cycles / end_to_end_cycles`.
    pub roofline_fraction: Option<f64>,
    /// Memory latency of the AXI4 slave model (cycles, reads and writes; rtl only).
    pub memory_latency: Option<u32>,
    pub tiles: Tiles,
    /// The loop order (`--schedule`, or the planner's choice).
    pub schedule: Schedule,
    /// Panel: the weights (B) stay in the SBUF, read once.
    pub resident_weights: bool,
    pub instructions: usize,
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

const SCALE_HINT: &str =
    "--scale takes a number (one scale for every column) or a float32 .npy of N values";

/// `--scale`: a number, or a float32 .npy of one value or one per column.
fn read_scale(text: &str) -> anyhow::Result<Vec<f32>> {
    if let Ok(v) = text.trim().parse::<f32>() {
        return Ok(vec![v]);
    }
    let arr = npy::read_vector(Path::new(text)).map_err(|e| {
        usage(
            format!("--scale {text}: not a number, and not a readable .npy ({e})"),
            SCALE_HINT,
        )
    })?;
    if arr.dtype != Dtype::F32 || arr.rows != 1 && arr.cols != 1 {
        return Err(usage(
            format!(
                "--scale {text}: a {} array of {} x {}; expected float32 values in one row or \
                 column",
                arr.dtype, arr.rows, arr.cols
            ),
            SCALE_HINT,
        ));
    }
    Ok(arr.data.iter().map(|&b| f32::from_bits(b as u32)).collect())
}

/// `--bias`: an integer .npy (values in int32) of one value per column.
fn read_bias(path: &Path) -> anyhow::Result<Vec<i32>> {
    let hint = "--bias takes an int32 .npy of N values (one per column of C)";
    let arr = npy::read_vector(path)
        .map_err(|e| usage(format!("--bias {}: {e}", path.display()), hint))?;
    let fits = |v: &i64| i32::try_from(*v).is_ok();
    if arr.dtype.is_float() || arr.rows != 1 && arr.cols != 1 || !arr.data.iter().all(fits) {
        return Err(usage(
            format!(
                "--bias {}: a {} array of {} x {}; expected int32 values in one row or column",
                path.display(),
                arr.dtype,
                arr.rows,
                arr.cols
            ),
            hint,
        ));
    }
    Ok(arr.data.iter().map(|&v| v as i32).collect())
}

/// The write-back the flags ask for; the output type defaults to the engine's 8-bit format
/// when any requantisation flag is given, else raw int32.
fn write_back(args: &Args, cfg: &Config, n: usize) -> anyhow::Result<WriteBack> {
    let requant =
        args.scale.is_some() || args.bias.is_some() || args.relu || args.zero_point.is_some();
    let signed = cfg.format.is_signed();
    let out = match (args.out_dtype, requant, signed) {
        (Some(OutArg::Int32), _, _) | (None, false, _) => OutDtype::Int32,
        (Some(OutArg::Int8), _, _) | (None, true, true) => OutDtype::Int8,
        (Some(OutArg::Uint8), _, _) | (None, true, false) => OutDtype::Uint8,
    };
    if out == OutDtype::Int32 {
        if let Some(flag) = [
            (args.scale.is_some(), "--scale"),
            (args.bias.is_some(), "--bias"),
            (args.relu, "--relu"),
            (args.zero_point.is_some(), "--zero-point"),
        ]
        .iter()
        .find_map(|(on, f)| on.then_some(*f))
        {
            return Err(usage(
                format!("{flag} with --out-dtype int32: raw accumulators are not requantised"),
                "give --out-dtype int8 (int8 engines) or uint8 (uint8 engines)",
            ));
        }
        return Ok(WriteBack::raw());
    }
    let scale = match &args.scale {
        Some(s) => read_scale(s)?,
        None => vec![1.0],
    };
    if scale.len() != 1 && scale.len() != n {
        return Err(usage(
            format!(
                "--scale {}: {} values for N = {n} columns of C",
                args.scale.as_deref().unwrap_or(""),
                scale.len()
            ),
            SCALE_HINT,
        ));
    }
    let bias = args.bias.as_deref().map(read_bias).transpose()?;
    if let Some(b) = bias.as_ref().filter(|b| b.len() != n) {
        return Err(usage(
            format!(
                "--bias {}: {} values for N = {n} columns of C",
                args.bias.as_deref().unwrap_or(Path::new("")).display(),
                b.len()
            ),
            "give one bias per column of C",
        ));
    }
    Ok(WriteBack {
        out,
        scale,
        bias,
        relu: args.relu,
        zero_point: args.zero_point.unwrap_or(0),
    })
}

/// A refusal of the memory path's plan (bad input: exit 2 with a hint); other failures as they
/// are.
pub(super) fn prepare_error(e: MemGemmError) -> anyhow::Error {
    match e {
        MemGemmError::NoMemoryPath => usage(
            "--memory needs an engine with the memory path (dma = true)".into(),
            "give --dma (with --dma-bits), or a preset with dma = true",
        ),
        MemGemmError::WriteBack(m) if m.contains("zero point") => usage(
            format!("--zero-point: {m}"),
            "int8 output: -128..=127; uint8 output: 0..=255",
        ),
        MemGemmError::WriteBack(m) => usage(
            format!("--out-dtype: {m}"),
            "--out-dtype int8 on int8 engines, uint8 on uint8 engines, int32 on either",
        ),
        MemGemmError::Shape(m) => usage(m, "C = A x B takes A of M x K and B of K x N"),
        MemGemmError::SbufTooSmall { .. } => usage(e.to_string(), "give a larger --sbuf-depth"),
        MemGemmError::PanelTooLarge { .. } => usage(
            e.to_string(),
            "give a larger --sbuf-depth, or --schedule stream",
        ),
        e => anyhow::Error::new(e),
    }
}

/// The measured run: `(C, counter increases, end-to-end cycles)`.
type Measured = (Matrix, Counters, Option<u64>);

fn run_golden(cfg: &Config, job: &Job) -> anyhow::Result<Measured> {
    let mut e = GoldenEngine::new(cfg);
    job.load(&mut e)?;
    let before = e.counters()?;
    job.start(&mut e)?;
    let c = job.finish(&mut e)?;
    Ok((c, mem_gemm::delta(before, e.counters()?), None))
}

/// The engine in Verilator with the AXI4 slave model (reads and writes answered after
/// `latency` cycles) over an empty memory on its master port.
pub(super) fn memory_engine(
    cfg: &Config,
    threads: u32,
    latency: u32,
    progress: &mut Reporter,
) -> anyhow::Result<RtlEngine> {
    let opts = HarnessOptions {
        threads,
        ..HarnessOptions::default()
    };
    progress.stage("Verilator build", None);
    let mut e = RtlEngine::build_with(cfg, &opts, &mut |l| progress.detail(l))?;
    progress.end();
    let slave = SlaveConfig::with_latency(cfg.dma_bits, latency);
    e.bus_mut().attach_memory(slave, SparseMemory::new())?;
    Ok(e)
}

fn run_rtl(
    cfg: &Config,
    job: &Job,
    args: &Args,
    progress: &mut Reporter,
) -> anyhow::Result<Measured> {
    let mut e = memory_engine(cfg, args.threads, args.mem_latency, progress)?;
    // A bound on the wait far above any schedule's cycles (100 x the roofline, plus slack).
    let p = &job.plan;
    let work = u64::from(p.m) * u64::from(p.k) * u64::from(p.n) / cfg.pes()
        + p.read_bytes(&job.write_back, cfg.cols) / u64::from(cfg.dma_bits / 8);
    e.bus_mut().set_cycle_limit(100 * work + 1_000_000);
    job.load(&mut e)?;
    let before = e.counters()?;
    job.start(&mut e)?;
    let t0 = e.bus().cycle();
    let c = job.finish(&mut e)?;
    let t1 = e.bus().cycle();
    if let Some(v) = e.bus().violation() {
        anyhow::bail!("AXI4 protocol violation on the engine's master port: {v}");
    }
    Ok((c, mem_gemm::delta(before, e.counters()?), Some(t1 - t0)))
}

fn c_array(c: Matrix, out: OutDtype, cfg: &Config) -> Array2 {
    let dtype = match out {
        OutDtype::Int8 => Dtype::I8,
        OutDtype::Uint8 => Dtype::U8,
        OutDtype::Int32 => out_dtype(cfg),
    };
    Array2 {
        dtype,
        rows: c.rows,
        cols: c.cols,
        data: c.data,
    }
}

/// `run --memory` after the operands were read and the output path checked.
/// `systolic run --memory`: the operands checked and read as `run` does, then the product over
/// the memory path.
pub fn command(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let (cfg, out, a, b) = prepare(&args)?;
    let report = run(&args, &cfg, &a, &b, &out)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("{}", report.text());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

pub fn run(
    args: &Args,
    cfg: &Config,
    a: &Matrix,
    b: &Matrix,
    out: &OutputPath,
) -> anyhow::Result<MemoryReport> {
    if !cfg.dma {
        return Err(prepare_error(MemGemmError::NoMemoryPath));
    }
    if args.mem_latency == 0 {
        return Err(usage(
            "--mem-latency 0: the AXI4 slave model answers after at least 1 cycle".into(),
            "the default is 20",
        ));
    }
    if a.cols != b.rows {
        return Err(prepare_error(MemGemmError::Shape(format!(
            "A is {} x {} and B {} x {}: A's columns must match B's rows",
            a.rows, a.cols, b.rows, b.cols
        ))));
    }
    let wb = write_back(args, cfg, b.cols)?;
    let schedule = match args.schedule {
        ScheduleArg::Auto => None,
        ScheduleArg::Stream => Some(Schedule::Stream),
        ScheduleArg::Panel => Some(Schedule::Panel),
    };
    let job = mem_gemm::prepare_with(cfg, a, b, &wb, schedule).map_err(prepare_error)?;
    super::progress::catch_interrupt();
    let mut progress = Reporter::new(args.json);
    let (c, counters, end_to_end) = match args.backend {
        Backend::Golden => run_golden(cfg, &job)?,
        Backend::Rtl => run_rtl(cfg, &job, args, &mut progress)?,
    };
    drop(progress);
    let (rows, cols) = (c.rows, c.cols);
    write_npy(out, &c_array(c, wb.out, cfg))?;
    Ok(report(
        args,
        cfg,
        &job,
        counters,
        end_to_end,
        [rows, cols],
        a.cols,
    ))
}

fn report(
    args: &Args,
    cfg: &Config,
    job: &Job,
    counters: Counters,
    end_to_end: Option<u64>,
    c: [usize; 2],
    k: usize,
) -> MemoryReport {
    let bus = cfg.dma_bits / 8;
    let macs = (c[0] * k * c[1]) as u64;
    let compute_bound = macs.div_ceil(cfg.pes());
    let per = |bytes: u64| bytes.div_ceil(u64::from(bus));
    let roofline = compute_bound
        .max(per(counters.dma_read_bytes))
        .max(per(counters.dma_write_bytes));
    let rate = |x: u64| end_to_end.filter(|&t| t > 0).map(|t| x as f64 / t as f64);
    let rtl = args.backend == Backend::Rtl;
    MemoryReport {
        config: format!(
            "{} ({}x{} {}, acc {} bits, {}-bit memory bus)",
            cfg.name, cfg.rows, cfg.cols, cfg.format, cfg.acc_bits, cfg.dma_bits
        ),
        backend: args.backend,
        path: "memory",
        a: [c[0], k],
        b: [k, c[1]],
        c,
        out: args.out.clone(),
        out_dtype: job.write_back.out.name(),
        end_to_end_cycles: end_to_end,
        busy_cycles: rtl.then_some(counters.busy_cycles),
        compute_bound,
        macs: counters.macs,
        dma_read_bytes: counters.dma_read_bytes,
        dma_write_bytes: counters.dma_write_bytes,
        bus_bytes: bus,
        read_bytes_per_cycle: rate(counters.dma_read_bytes),
        write_bytes_per_cycle: rate(counters.dma_write_bytes),
        roofline_cycles: roofline,
        roofline_fraction: end_to_end
            .filter(|&t| t > 0)
            .map(|t| roofline as f64 / t as f64),
        memory_latency: rtl.then_some(args.mem_latency),
        tiles: job.plan.tiles,
        schedule: job.plan.schedule,
        resident_weights: job.plan.resident,
        instructions: job.program.instrs.len(),
    }
}

impl MemoryReport {
    pub fn text(&self) -> String {
        let opt =
            |v: Option<u64>| v.map_or("n/a (golden back end: no clock)".into(), |x| x.to_string());
        let pct = |v: Option<f64>| v.map_or("n/a".into(), |x| format!("{:.1} %", 100.0 * x));
        let rate = |v: Option<f64>| v.map_or("n/a".into(), |x| format!("{x:.2}"));
        format!(
            "C = A ({}x{}) x B ({}x{}) = {}x{} {} -> {} (memory path)\n  \
             config          {}\n  \
             backend         {}\n  \
             end to end      {} cycles (CONTROL.START to idle)\n  \
             busy            {} cycles\n  \
             compute bound   {} cycles\n  \
             DMA read        {} bytes ({} bytes/cycle of {})\n  \
             DMA write       {} bytes ({} bytes/cycle of {})\n  \
             roofline        {} cycles ({} reached)\n  \
             MACs            {}\n  \
             tiles           Mt {} Kt {} Nt {}, {} schedule{}\n  \
             instructions    {}",
            self.a[0],
            self.a[1],
            self.b[0],
            self.b[1],
            self.c[0],
            self.c[1],
            self.out_dtype,
            self.out.display(),
            self.config,
            match self.backend {
                Backend::Rtl => "rtl",
                Backend::Golden => "golden",
            },
            opt(self.end_to_end_cycles),
            opt(self.busy_cycles),
            self.compute_bound,
            self.dma_read_bytes,
            rate(self.read_bytes_per_cycle),
            self.bus_bytes,
            self.dma_write_bytes,
            rate(self.write_bytes_per_cycle),
            self.bus_bytes,
            self.roofline_cycles,
            pct(self.roofline_fraction),
            self.macs,
            self.tiles.mt,
            self.tiles.kt,
            self.tiles.nt,
            self.schedule.name(),
            if self.resident_weights {
                " (weights resident)"
            } else {
                ""
            },
            self.instructions,
        )
    }
}
