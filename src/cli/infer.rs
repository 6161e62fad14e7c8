//! `systolic infer`: a quantised ONNX network (QOperator or QDQ) on the engine, bit-exact with
//! ONNX Runtime 1.32.0 (`docs/infer.md`). The matrix products run on the golden model of the
//! engine, on the generated engine in Verilator (`--backend rtl`) or on a board over its UART
//! link (`--backend board`, or the simulated board: its RTL, or with `--netlist` the netlist a
//! `systolic synth` run placed), through the register window, or with
//! `--memory` over the memory path (DMA and on-chip requantisation; golden and rtl);
//! QuantizeLinear, DequantizeLinear, QLinearAdd, MaxPool, Flatten/Reshape and im2col on the
//! host. `--report` draws the products' cycles and roofline into an HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use systolic::config::Config;
use systolic::engine::golden::GoldenEngine;
use systolic::engine::mem_gemm::MemGemmError;
use systolic::engine::Engine;
use systolic::files::OutputPath;
use systolic::frame::DEFAULT_BAUD;
use systolic::model::{self, DataPath, LayerPlan, Net, Output, RunError, RunStats};
use systolic::npy::{self, Array2, Dtype};
use systolic::uart::engine::UartEngine;
use systolic::uart::serial::SerialPort;
use systolic::uart::{LinkOptions, Transport};

use super::common::{ConfigArgs, UsageError};
use super::infer_netlist::{self, Netlist, NetlistReport};
use super::progress::{catch_interrupt, Reporter};
use super::run::{gemm_error, rtl_engine, write_npy};
use super::run_memory::{memory_engine, prepare_error};

/// Which implementation of the engine runs the products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The golden model of the engine (no clock: no cycle counts).
    Golden,
    /// The generated engine, compiled with Verilator and driven over AXI4-Lite (cycle counts).
    Rtl,
    /// A board programmed with the configuration's board design, over its UART link (--port),
    /// or the board design in Verilator with its UART pins driven bit by bit (--sim).
    Board,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Golden => "golden model",
            Backend::Rtl => "rtl back end",
            Backend::Board => "board",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The quantised ONNX model (QOperator or QDQ; see docs/infer.md for the operators).
    #[arg(long, value_name = "M.onnx")]
    pub model: PathBuf,
    /// The inputs: a 2-D float32 .npy, one image per row, each row the model input's values
    /// for one image in C order (e.g. [N, 64] for an input of [batch, 1, 8, 8]).
    #[arg(long, value_name = "X.npy")]
    pub input: PathBuf,
    /// Where to write the outputs, one row per image: float32 when the model ends in
    /// DequantizeLinear, else int8 / uint8. Not needed with --plan.
    #[arg(long, value_name = "Y.npy", required_unless_present = "plan")]
    pub out: Option<PathBuf>,
    /// Engine implementation: the golden model, or the generated engine in Verilator (its
    /// products through the AXI4-Lite register window; cycle counts).
    #[arg(long, value_enum, default_value_t = Backend::Golden)]
    pub backend: Backend,
    /// verilator --threads for the rtl back end's model.
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// With --backend board: the board's serial port (e.g. /dev/ttyUSB1).
    #[arg(long, conflicts_with = "sim")]
    pub port: Option<String>,
    /// With --backend board --port: the link's baud rate (the one the board design was built
    /// for); with --netlist, the --baud of the synth run that made it.
    #[arg(long, default_value_t = DEFAULT_BAUD, value_parser = super::common::parse_baud)]
    pub baud: u32,
    /// With --backend board: no hardware, the board design in Verilator with this many clock
    /// cycles per bit on its UART (at least 4).
    #[arg(long, value_name = "CLKS_PER_BIT")]
    pub sim: Option<u32>,
    /// With --backend board: no hardware, the board design's post-synthesis netlist that an
    /// earlier `systolic synth --board B [--baud N] [--pll-mhz F] --out RUN_DIR` of this
    /// configuration left in RUN_DIR (netlist.v with the FPGA's cell models, in Verilator). Its
    /// UART runs at the clock cycles per bit it was synthesised with (no --sim); give the
    /// --board, --baud and --pll-mhz of that run.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["port", "sim"], requires = "board")]
    pub netlist: Option<PathBuf>,
    /// With --netlist: the board of the synth run (a TOML file in constraints/).
    #[arg(long, value_name = "B", requires = "netlist")]
    pub board: Option<String>,
    /// With --netlist: the --pll-mhz of the synth run, if it clocked the board top from the PLL.
    #[arg(long, value_name = "MHZ", requires = "netlist")]
    pub pll_mhz: Option<f64>,
    /// With --backend board: attempts per request before giving up.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// The engine's clock in MHz (e.g. the preset's Fmax from `systolic synth`): the report then
    /// gives images per second from the rtl back end's cycles.
    #[arg(long, value_name = "F")]
    pub mhz: Option<f64>,
    /// Run the engine layers over the memory path (an engine with `dma`, e.g. --dma): the
    /// activations and weights in the memory behind the engine's AXI4 master, a program per
    /// layer fetched by the engine, the requantisation on chip (ACTIVATE) and the results
    /// stored by its DMA. Golden and rtl back ends.
    #[arg(long)]
    pub memory: bool,
    /// With --memory and the rtl back end: read and write latency of the AXI4 slave model
    /// (cycles).
    #[arg(long, default_value_t = 20, requires = "memory")]
    pub mem_latency: u32,
    /// Print the plan (per layer: where it runs, shapes, GEMM tiles, footprint) and stop.
    #[arg(long)]
    pub plan: bool,
    /// Print the report (or the plan) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML report (rtl and board back ends): per layer the cycles beside the
    /// roofline bound, the PE utilisation and share of the roofline, and (over the memory
    /// path) each layer's point on the roofline; SVG plots and a table.
    #[arg(long, value_name = "REPORT.html")]
    pub report: Option<PathBuf>,
}

/// What a run reports (also the `--json` output).
#[derive(Debug, Serialize)]
pub struct Report {
    pub model: PathBuf,
    pub config: String,
    pub backend: Backend,
    pub images: usize,
    pub out: Option<PathBuf>,
    pub out_dtype: &'static str,
    pub out_shape: [usize; 2],
    #[serde(flatten)]
    pub stats: RunStats,
    /// `--mhz` and the images per second at that clock (rtl back end only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mhz: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_per_second: Option<f64>,
    /// With --netlist: the netlist simulated as the board.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netlist: Option<NetlistReport>,
    pub layers: Vec<LayerPlan>,
}

/// The `--plan --json` output.
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub model: PathBuf,
    pub config: String,
    pub images: usize,
    pub cycles: Cycles,
    pub layers: Vec<LayerPlan>,
}

/// The predicted cycles of a plan's engine layers for the whole batch, and what they cover.
#[derive(Debug, Serialize)]
pub struct Cycles {
    pub total: u64,
    pub covers: &'static str,
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

fn read_input(args: &Args, net: &Net) -> anyhow::Result<(Vec<f32>, usize)> {
    const HINT: &str = "give --input as a 2-D float32 .npy with one image per row, e.g. \
                        `np.save(\"x.npy\", x.reshape(len(x), -1).astype(np.float32))`";
    let arr = npy::read(&args.input)
        .map_err(|e| usage(format!("--input {}: {e}", args.input.display()), HINT))?;
    if arr.dtype != Dtype::F32 {
        return Err(usage(
            format!(
                "--input {} is {}; the model's input '{}' is float32",
                args.input.display(),
                arr.dtype,
                net.input
            ),
            HINT,
        ));
    }
    if arr.cols != net.in_len() || arr.rows == 0 {
        return Err(usage(
            format!(
                "--input {} is {}x{}; the model's input '{}' takes {} values per image (shape \
                 {:?} after the batch axis), at least one image",
                args.input.display(),
                arr.rows,
                arr.cols,
                net.input,
                net.in_len(),
                net.sample_in
            ),
            HINT,
        ));
    }
    let x = arr.data.iter().map(|&b| f32::from_bits(b as u32)).collect();
    Ok((x, arr.rows))
}

fn plan_text(plans: &[LayerPlan]) -> String {
    let mut s = String::new();
    for (i, p) in plans.iter().enumerate() {
        s += &format!(
            "{i:>2} {:<6} {:<44} {:?} -> {:?}\n     from {}\n",
            p.place, p.op, p.in_shape, p.out_shape, p.node
        );
        if let (Some([m, k, n]), Some(t)) = (p.gemm, p.tiling) {
            s += &format!(
                "     GEMM M={m} K={k} N={n}: tiles {}x{}x{} (K tile {}, N tile {}), {} steps, {}, \
                 {} MACs\n",
                t.m_tiles,
                t.k_tiles,
                t.n_tiles,
                t.k_tile,
                t.n_tile,
                t.steps,
                if t.resident {
                    "resident in SBUF"
                } else {
                    "double-buffered"
                },
                p.macs
            );
            s += &format!(
                "     bytes: weights {}, table {}, input {}, im2col {}, output {}\n",
                p.weight_bytes, p.table_bytes, p.in_bytes, p.im2col_bytes, p.out_bytes
            );
            if let Some(c) = p.cycles {
                s += &format!("     predicted cycles: {c} (array core, timing model)\n");
            }
        } else if let (Some([m, k, n]), Some(mp)) = (p.gemm, &p.memory) {
            let t = &mp.tiles;
            s += &format!(
                "     memory path: C = A (N={n} x K={k}) x B (K x M={m}), {} schedule{}, tiles \
                 Mt={} Kt={} Nt={}, write-back {}, {} MACs\n     DMA bytes: read {}, write {}; \
                 roofline {} cycles, estimate {}\n",
                mp.schedule,
                if mp.resident_weights {
                    " (weights resident)"
                } else {
                    ""
                },
                t.mt,
                t.kt,
                t.nt,
                mp.write_back,
                p.macs,
                mp.read_bytes,
                mp.write_bytes,
                mp.roofline_cycles,
                mp.estimated_cycles
            );
        } else {
            s += &format!("     bytes: input {}, output {}\n", p.in_bytes, p.out_bytes);
        }
    }
    s
}

/// One line per product on the engine (cycles and the fractions where there is a clock).
fn products_text(stats: &RunStats) -> String {
    let mut s = String::new();
    for p in &stats.products {
        let [m, k, n] = p.gemm;
        s += &format!("  {:<28} M={m} K={k} N={n}", p.node);
        if let (Some(u), Some(r)) = (p.utilisation, p.roofline_fraction) {
            s += &format!(
                ": {} cycles, {:.1} % of the PEs, {:.1} % of the roofline ({} cycles)",
                p.cycles,
                100.0 * u,
                100.0 * r,
                p.roofline_cycles
            );
        }
        if stats.path == DataPath::Memory {
            s += &format!(
                ", DMA {} B in / {} B out, write-back {}",
                p.dma_read_bytes, p.dma_write_bytes, p.write_back
            );
        }
        s += "\n";
    }
    s
}

/// `--threads` and `--mhz`, checked before any work.
fn check_flags(args: &Args) -> anyhow::Result<()> {
    if args.threads == 0 {
        return Err(usage(
            "--threads 0: Verilator needs at least 1 thread".into(),
            "the default is 1",
        ));
    }
    if let Some(f) = args.mhz {
        if !(f.is_finite() && f > 0.0) {
            return Err(usage(
                format!("--mhz {f}: the clock must be a positive number of MHz"),
                "give the preset's Fmax, e.g. --mhz 48",
            ));
        }
        if args.backend == Backend::Golden {
            return Err(usage(
                "--mhz needs --backend rtl or board: the golden model has no clock".into(),
                "add --backend rtl",
            ));
        }
    }
    let board = args.backend == Backend::Board;
    if args.report.is_some() && args.backend == Backend::Golden {
        return Err(usage(
            "--report needs --backend rtl or board: the golden model has no clock to measure \
             the layers with"
                .into(),
            "add --backend rtl",
        ));
    }
    if args.memory && board {
        return Err(usage(
            "--memory with --backend board: the board design has no memory behind the engine's \
             AXI4 master"
                .into(),
            "use --backend golden or rtl with --memory",
        ));
    }
    if args.mem_latency == 0 {
        return Err(usage(
            "--mem-latency 0: the AXI4 slave model answers after at least 1 cycle".into(),
            "the default is 20",
        ));
    }
    if board {
        super::board::check_link_flags(args.attempts, args.sim)?;
        if args.port.is_none() && args.sim.is_none() && args.netlist.is_none() {
            return Err(usage(
                "--backend board needs --port (a board), --sim (the simulated board) or \
                 --netlist (a synthesised board's netlist, simulated)"
                    .into(),
                "e.g. --port /dev/ttyUSB1, or --sim 8",
            ));
        }
    } else if let Some(flag) = [
        (args.port.is_some(), "--port"),
        (args.sim.is_some(), "--sim"),
        (args.netlist.is_some(), "--netlist"),
    ]
    .iter()
    .find_map(|&(given, f)| given.then_some(f))
    {
        return Err(usage(
            format!("{flag} needs --backend board"),
            "add --backend board",
        ));
    }
    Ok(())
}

/// The network on the chosen back end (Verilator builds shown as stages); with `netlist`, the
/// board is that netlist (and the report says which).
fn execute(
    args: &Args,
    (cfg, plans): (&Config, &[LayerPlan]),
    net: &Net,
    (x, batch): (&[f32], usize),
    netlist: Option<&Netlist>,
) -> anyhow::Result<(Output, RunStats, Option<NetlistReport>)> {
    let path = data_path(args);
    let on = |e: &mut dyn Engine| {
        model::run(net, e, x, batch, path)
            .map(|(y, stats)| (y, stats, None))
            .map_err(|err| run_error(err, args.backend.name()))
    };
    if args.backend == Backend::Golden {
        return on(&mut GoldenEngine::new(cfg));
    }
    catch_interrupt();
    let mut progress = Reporter::new(args.json);
    if args.memory {
        let mut e = memory_engine(cfg, args.threads, args.mem_latency, &mut progress)?;
        e.bus_mut().set_cycle_limit(wait_bound(plans));
        let result = on(&mut e)?;
        if let Some(v) = e.bus().violation() {
            anyhow::bail!("AXI4 protocol violation on the engine's master port: {v}");
        }
        return Ok(result);
    }
    let opts = LinkOptions {
        attempts: args.attempts,
        ..LinkOptions::default()
    };
    let plain = |(y, stats): (Output, RunStats)| (y, stats, None);
    match (args.backend, &args.port, args.sim, netlist) {
        (Backend::Rtl, ..) => on(rtl_engine(cfg, args.threads, &mut progress)?.as_mut()),
        (.., Some(n)) => {
            let (sim, report) = infer_netlist::build(n, &mut progress)?;
            let (y, stats) = on_board(UartEngine::connect(sim, cfg, opts)?, net, x, batch)?;
            Ok((y, stats, Some(report)))
        }
        (_, _, Some(cpb), None) => {
            let sim = super::board::sim_board(cfg, cpb, &mut progress)?;
            on_board(UartEngine::connect(sim, cfg, opts)?, net, x, batch).map(plain)
        }
        (_, Some(port), None, None) => {
            let serial = SerialPort::open(port, args.baud)?;
            on_board(UartEngine::connect(serial, cfg, opts)?, net, x, batch).map(plain)
        }
        (_, None, None, None) => unreachable!("checked by check_flags"),
    }
}

/// The network over a board link: a failure of the link is reported as itself (with its hint),
/// not as the product's.
fn on_board<T: Transport>(
    mut engine: UartEngine<T>,
    net: &Net,
    x: &[f32],
    batch: usize,
) -> anyhow::Result<(Output, RunStats)> {
    model::run(net, &mut engine, x, batch, DataPath::Register).map_err(|err| {
        match engine.bus_mut().take_link_error() {
            Some(link) => link.into(),
            None => run_error(err, "board"),
        }
    })
}

/// `--report`: the HTML report of the run's products.
fn write_report(
    to: &OutputPath,
    args: &Args,
    cfg: &Config,
    stats: &RunStats,
    images: usize,
) -> anyhow::Result<()> {
    let model = args.model.display().to_string();
    let config = format!("{} ({}x{} {})", cfg.name, cfg.rows, cfg.cols, cfg.format);
    let header = model::report::Header {
        model: &model,
        config: &config,
        backend: args.backend.name(),
        images,
        pes: cfg.pes(),
        bus_bytes: u64::from(cfg.dma_bits / 8),
    };
    let html = model::report::html(&header, stats)
        .map_err(|e| anyhow::anyhow!("drawing the report: {e}"))?;
    to.write(html.as_bytes())
        .map_err(|e| anyhow::anyhow!("--report {}: {e}", to.path().display()))?;
    Ok(())
}

fn data_path(args: &Args) -> DataPath {
    if args.memory {
        DataPath::Memory
    } else {
        DataPath::Register
    }
}

/// A refusal of a product (bad input: exit 2 with its hint) or a failure of the back end.
fn run_error(e: RunError, backend: &str) -> anyhow::Error {
    match e {
        RunError::Gemm(e) => gemm_error(e, backend),
        RunError::Memory(e) => prepare_error(e),
    }
}

/// The bound on one wait of the memory path: 100 x the largest product's roofline, plus slack
/// (a hung engine is a timeout, never a hang; no schedule comes near it).
fn wait_bound(plans: &[LayerPlan]) -> u64 {
    let most = plans
        .iter()
        .filter_map(|p| p.memory.as_ref())
        .map(|m| m.roofline_cycles)
        .max()
        .unwrap_or(0);
    100 * most + 1_000_000
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    check_flags(&args)?;
    let cfg = args.config.resolve()?;
    model::check_config(&cfg).map_err(|m| {
        usage(
            m,
            "choose an int8 configuration (--preset or --format int8 --acc-bits 32)",
        )
    })?;
    let out = args
        .out
        .as_ref()
        .map(|p| OutputPath::check(p, "--out"))
        .transpose()?;
    let report_out = args
        .report
        .as_ref()
        .map(|p| OutputPath::check(p, "--report"))
        .transpose()?;
    let netlist = args
        .netlist
        .as_deref()
        .map(|dir| {
            let request = infer_netlist::Request {
                board: args
                    .board
                    .as_deref()
                    .expect("clap: --netlist requires --board"),
                baud: args.baud,
                pll_mhz: args.pll_mhz,
                config_flags: args.config.flags(),
            };
            infer_netlist::check(&request, &cfg, dir)
        })
        .transpose()?;
    let net = model::load(&args.model)?;
    let (x, batch) = read_input(&args, &net)?;
    if args.memory && !cfg.dma {
        return Err(prepare_error(MemGemmError::NoMemoryPath));
    }
    let plans = model::plan(&net, &cfg, batch, data_path(&args))
        .map_err(|e| run_error(e, "golden model"))?;
    let config = format!(
        "{} ({}x{} {}, acc {} bits)",
        cfg.name, cfg.rows, cfg.cols, cfg.format, cfg.acc_bits
    );
    if args.plan {
        let (total, covers) = model::total_cycles(&plans);
        if args.json {
            let plan = PlanReport {
                model: args.model.clone(),
                config,
                images: batch,
                cycles: Cycles { total, covers },
                layers: plans,
            };
            outln!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            outln!(
                "{} on {config}, {batch} images\n{}\npredicted cycles, all engine layers, \
                 {batch} images: {total}\n  ({})",
                args.model.display(),
                plan_text(&plans).trim_end(),
                covers
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = out.expect("--out is required without --plan");
    let (y, stats, netlist) = execute(&args, (&cfg, &plans), &net, (&x, batch), netlist.as_ref())?;
    let images_per_second = args
        .mhz
        .filter(|_| stats.end_to_end_cycles > 0)
        .map(|f| batch as f64 * f * 1e6 / stats.end_to_end_cycles as f64);
    let cols = net.out_len();
    let arr = match y {
        Output::F32(v) => Array2 {
            dtype: Dtype::F32,
            rows: batch,
            cols,
            data: v.iter().map(|f| i64::from(f.to_bits())).collect(),
        },
        Output::Q(v, ty) => Array2 {
            dtype: match ty {
                model::ops::QType::Int8 => Dtype::I8,
                model::ops::QType::Uint8 => Dtype::U8,
            },
            rows: batch,
            cols,
            data: v.iter().map(|&i| i64::from(i)).collect(),
        },
    };
    write_npy(&out, &arr)?;
    if let Some(to) = &report_out {
        write_report(to, &args, &cfg, &stats, batch)?;
    }
    let report = Report {
        model: args.model.clone(),
        config,
        backend: args.backend,
        images: batch,
        out: args.out.clone(),
        out_dtype: arr.dtype.name(),
        out_shape: [batch, cols],
        stats,
        mhz: args.mhz,
        images_per_second,
        netlist,
        layers: plans,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "{} on {}, {} images -> {} ({} {}x{})\n  {} layers, {} products on the engine \
             ({} MACs, {} instructions)",
            report.model.display(),
            report.config,
            batch,
            out.path().display(),
            report.out_dtype,
            batch,
            cols,
            report.layers.len(),
            report.stats.gemms,
            report.stats.macs,
            report.stats.instructions
        );
        if report.stats.end_to_end_cycles > 0 {
            outln!(
                "  {} cycles end to end ({} of them the engine busy; host layers take none)",
                report.stats.end_to_end_cycles,
                report.stats.busy_cycles
            );
        }
        if let Some(n) = &report.netlist {
            outln!(
                "  on the post-synthesis netlist {} ({}, UART at {} clock cycles per bit)",
                n.netlist,
                n.board,
                n.clks_per_bit
            );
        }
        if let (Some(f), Some(ips)) = (report.mhz, report.images_per_second) {
            outln!("  {ips:.1} images/s at {f} MHz");
        }
        outln!("{}", products_text(&report.stats).trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
