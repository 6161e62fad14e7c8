//! `systolic run`: `C = A x B` from `.npy` files on the engine (the RTL in Verilator by
//! default, or the golden model), C written as `.npy`, with the cycle and MAC figures.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use systolic::config::Config;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::{self, gemm_with, GemmError, GemmOptions, Matrix};
use systolic::engine::golden::GoldenEngine;
use systolic::engine::Engine;
use systolic::files::OutputPath;
use systolic::format::NumberFormat;
use systolic::npy::{self, Array2, Dtype};
use systolic::progress::Progress;

use super::common::{ConfigArgs, UsageError};
use super::progress::{catch_interrupt, Reporter};

/// Which implementation of the engine runs the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The generated engine, compiled with Verilator and driven over AXI4-Lite (cycle counts).
    Rtl,
    /// The golden model (no clock: no cycle counts).
    Golden,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Rtl => "rtl",
            Backend::Golden => "golden",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The left operand A (M x K): a 2-D .npy of int8..int64 whose dtype holds the format's values;
    /// for bf16/fp8 formats float32 (converted, nearest-even) or the format's bit patterns
    /// (uint16 for bf16, uint8 for fp8).
    #[arg(long, value_name = "A.npy")]
    pub a: PathBuf,
    /// The right operand B (K x N).
    #[arg(long, value_name = "B.npy")]
    pub b: PathBuf,
    /// Where to write C = A x B (int32, or uint32 for unsigned formats; int64 when acc_bits > 32;
    /// float32 for the floating-point formats).
    #[arg(long, value_name = "C.npy")]
    pub out: PathBuf,
    /// Engine implementation.
    #[arg(long, value_enum, default_value_t = Backend::Rtl)]
    pub backend: Backend,
    /// verilator --threads for the rtl back end's model.
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run over the memory path (an engine with `dma`): A, B and the program in memory, the
    /// program fetched by the engine, C requantised (or raw) by its write-back unit and stored
    /// by DMA; reports end-to-end cycles, DMA traffic and the roofline.
    #[arg(long)]
    pub memory: bool,
    /// With --memory: per-column int32 biases added before scaling (a .npy of N values).
    #[arg(long, value_name = "BIAS.npy", requires = "memory")]
    pub bias: Option<PathBuf>,
    /// With --memory: the requantisation scale, a number or a float32 .npy of N values.
    #[arg(long, value_name = "SCALE.npy|F", requires = "memory")]
    pub scale: Option<String>,
    /// With --memory: relu before the requantisation's clamp.
    #[arg(long, requires = "memory")]
    pub relu: bool,
    /// With --memory: the output zero point added after rounding (-128..=127 for int8 output,
    /// 0..=255 for uint8; relu then clamps at it). Default 0.
    #[arg(
        long,
        value_name = "Z",
        requires = "memory",
        allow_hyphen_values = true
    )]
    pub zero_point: Option<i32>,
    /// With --memory: C's type (default: int32 raw accumulators; the engine's 8-bit format
    /// when --scale, --bias, --relu or --zero-point is given).
    #[arg(long, value_enum, requires = "memory")]
    pub out_dtype: Option<OutArg>,
    /// With --memory and the rtl back end: read and write latency of the AXI4 slave model
    /// (cycles).
    #[arg(long, default_value_t = 20, requires = "memory")]
    pub mem_latency: u32,
    /// With --memory: the loop order (stream: A read once per block of columns; panel: A's
    /// tiles kept in the SBUF, read once; auto: the planner's estimate decides).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Auto, requires = "memory")]
    pub schedule: ScheduleArg,
}

/// `--schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScheduleArg {
    Auto,
    Stream,
    Panel,
}

/// `--out-dtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutArg {
    Int8,
    Uint8,
    Int32,
}

/// What a run reports (also the `--json` output).
#[derive(Debug, Serialize)]
pub struct Report {
    pub config: String,
    pub backend: Backend,
    /// `[M, K]`, `[K, N]`, `[M, N]`.
    pub a: [usize; 2],
    pub b: [usize; 2],
    pub c: [usize; 2],
    pub out: PathBuf,
    pub out_dtype: &'static str,
    /// Engine busy cycles (0 on the golden back end, which has no clock).
    pub compute_cycles: u64,
    /// Useful MACs (`k * m * n` of every MULTIPLY_MOVING: `M * K * N`).
    pub macs: u64,
    /// MACs per busy cycle; `null` without cycles.
    pub macs_per_cycle: Option<f64>,
    /// `macs / (rows * cols * compute_cycles)`; `null` without cycles.
    pub utilisation: Option<f64>,
    /// Cycles the host spent on bus transfers (SBUF writes, instructions, PSUM reads).
    pub host_cycles: u64,
    pub instructions: u64,
}

impl Report {
    fn text(&self) -> String {
        let ratio = |v: Option<f64>, f: &dyn Fn(f64) -> String| {
            v.map_or(
                "n/a (no clock in the golden back end: use --backend rtl)".into(),
                f,
            )
        };
        format!(
            "C = A ({}x{}) x B ({}x{}) = {}x{} {} -> {}\n  \
             config        {}\n  \
             backend       {}\n  \
             compute       {} cycles\n  \
             MACs          {}\n  \
             MACs/cycle    {}\n  \
             utilisation   {}\n  \
             host          {} cycles\n  \
             instructions  {}",
            self.a[0],
            self.a[1],
            self.b[0],
            self.b[1],
            self.c[0],
            self.c[1],
            self.out_dtype,
            self.out.display(),
            self.config,
            self.backend.name(),
            self.compute_cycles,
            self.macs,
            ratio(self.macs_per_cycle, &|x| format!("{x:.2}")),
            ratio(self.utilisation, &|x| format!("{:.1} %", 100.0 * x)),
            self.host_cycles,
            self.instructions,
        )
    }
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

const NPY_HINT: &str =
    "A and B are 2-D .npy files in C order, e.g. `np.save(\"a.npy\", a.astype(np.int8))`";

/// Read one operand and check that its dtype holds every value of the format. Floating-point
/// formats take float32 (converted to the format, nearest-even; see docs/numerics.md) or the
/// format's bit patterns as the unsigned integer of its width (uint16 for bf16, uint8 for fp8).
pub(super) fn read_operand(
    path: &Path,
    which: &str,
    format: NumberFormat,
) -> anyhow::Result<Matrix> {
    let arr = npy::read(path).map_err(|e| usage(format!("{which}: {e}"), NPY_HINT))?;
    if let Some(fp) = format.float() {
        let bits_dtype = if fp.bits() == 8 {
            Dtype::U8
        } else {
            Dtype::U16
        };
        let data = if arr.dtype == Dtype::F32 {
            arr.data
                .iter()
                .map(|&v| i64::from(fp.encode_f32_bits(v as u32)))
                .collect()
        } else if arr.dtype == bits_dtype {
            arr.data
        } else {
            return Err(usage(
                format!(
                    "{which} ({}) is {}; a {format} operand is float32 (converted, nearest-even) \
                     or {bits_dtype} ({format} bit patterns)",
                    path.display(),
                    arr.dtype,
                ),
                "save the operand with `a.astype(np.float32)`, or its bit patterns as the unsigned \
                 integer of the format's width",
            ));
        };
        return Ok(Matrix::new(arr.rows, arr.cols, data));
    }
    if arr.dtype.is_float() {
        return Err(usage(
            format!(
                "{which} ({}) is float32, but the format {format} is an integer format",
                path.display()
            ),
            "save integer operands with an integer dtype, or choose a floating-point format \
             with --format (bf16, fp8e4m3, fp8e5m2)",
        ));
    }
    if arr.dtype.min_value() > format.min_value() || arr.dtype.max_value() < format.max_value() {
        return Err(usage(
            format!(
                "{which} ({}) is {}, which cannot hold the {format} values {}..={}",
                path.display(),
                arr.dtype,
                format.min_value(),
                format.max_value()
            ),
            "save the operands with a dtype that holds the format's values (a signed dtype for a \
             signed format), or choose the format with --format",
        ));
    }
    Ok(Matrix::new(arr.rows, arr.cols, arr.data))
}

/// Write `c` as .npy to a checked output.
pub(super) fn write_npy(out: &OutputPath, c: &Array2) -> anyhow::Result<()> {
    let bytes = npy::to_bytes(c)?;
    Ok(out.write(&bytes)?)
}

/// The dtype of C: float32 for the floating-point formats (fp32 accumulators), int32 (uint32
/// for unsigned formats) when the accumulator fits, else int64.
pub fn out_dtype(cfg: &Config) -> Dtype {
    if cfg.format.is_float() {
        return Dtype::F32;
    }
    match (cfg.acc_bits <= 32, cfg.format.is_signed()) {
        (true, true) => Dtype::I32,
        (true, false) => Dtype::U32,
        (false, _) => Dtype::I64,
    }
}

/// The rtl back end: the generated engine in Verilator, its build shown as a stage (the way
/// `cosim` shows its own).
pub(super) fn rtl_engine(
    cfg: &Config,
    threads: u32,
    progress: &mut Reporter,
) -> anyhow::Result<Box<dyn Engine>> {
    let opts = HarnessOptions {
        threads,
        ..HarnessOptions::default()
    };
    progress.stage("Verilator build", None);
    let engine =
        systolic::cosim::engine::RtlEngine::build_with(cfg, &opts, &mut |l| progress.detail(l))?;
    progress.end();
    Ok(Box::new(engine))
}

/// A refusal of [`gemm`]'s operands or plan as a usage error (exit status 2) with its hint;
/// other failures (of the back end) as they are.
pub(super) fn gemm_error(e: GemmError, backend: &str) -> anyhow::Error {
    match e {
        GemmError::Chain { .. } | GemmError::Empty { .. } | GemmError::DataLength { .. } => usage(
            e.to_string(),
            "C = A x B takes A of M x K and B of K x N (M, K, N >= 1)",
        ),
        GemmError::Value { .. } => usage(
            e.to_string(),
            "every value must lie in the format's range: choose the format with --format",
        ),
        GemmError::SbufTooSmall { .. } => usage(
            e.to_string(),
            "give a larger --sbuf-depth (or a preset with one)",
        ),
        e => anyhow::Error::new(e).context(format!("running the product on the {backend}")),
    }
}

/// The configuration, `--out` and the operands, checked before any work (for `run` and
/// `run --memory`).
pub(super) fn prepare(args: &Args) -> anyhow::Result<(Config, OutputPath, Matrix, Matrix)> {
    let cfg = args.config.resolve()?;
    if args.threads == 0 {
        return Err(usage(
            "--threads 0: Verilator needs at least 1 thread".into(),
            "the default is 1",
        ));
    }
    let out = OutputPath::check(&args.out, "--out")?;
    let a = read_operand(&args.a, "A", cfg.format)?;
    let b = read_operand(&args.b, "B", cfg.format)?;
    Ok((cfg, out, a, b))
}

/// `systolic run` on the register path (`--memory` goes to `run_memory::command`).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (cfg, out, a, b) = prepare(&args)?;
    // Everything cheap before anything expensive: the Verilator build takes seconds to minutes.
    gemm::check(&cfg, &a, &b, &GemmOptions::default())
        .map_err(|e| gemm_error(e, args.backend.name()))?;
    let dtype = out_dtype(&cfg);

    catch_interrupt();
    let mut progress = Reporter::new(args.json);
    let mut engine: Box<dyn Engine> = match args.backend {
        Backend::Golden => Box::new(GoldenEngine::new(&cfg)),
        Backend::Rtl => rtl_engine(&cfg, args.threads, &mut progress)?,
    };
    let result = gemm_with(
        engine.as_mut(),
        &a,
        &b,
        &GemmOptions::default(),
        &mut progress,
    )
    .map_err(|e| gemm_error(e, &format!("{} back end", args.backend.name())))?;
    drop(progress);

    let c = Array2 {
        dtype,
        rows: result.c.rows,
        cols: result.c.cols,
        data: result.c.data,
    };
    write_npy(&out, &c)?;

    let busy = result.counters.busy_cycles;
    let macs = result.counters.macs;
    let (per_cycle, utilisation) = if busy == 0 {
        (None, None)
    } else {
        (
            Some(macs as f64 / busy as f64),
            Some(macs as f64 / (cfg.pes() as f64 * busy as f64)),
        )
    };
    let report = Report {
        config: format!(
            "{} ({}x{} {}, acc {} bits)",
            cfg.name, cfg.rows, cfg.cols, cfg.format, cfg.acc_bits
        ),
        backend: args.backend,
        a: [a.rows, a.cols],
        b: [b.rows, b.cols],
        c: [c.rows, c.cols],
        out: args.out.clone(),
        out_dtype: dtype.name(),
        compute_cycles: busy,
        macs,
        macs_per_cycle: per_cycle,
        utilisation,
        host_cycles: result.host_cycles,
        instructions: result.instructions,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("{}", report.text());
    }
    Ok(ExitCode::SUCCESS)
}
