//! `systolic board run`: `C = A x B` on a programmed board over its UART link
//! (`docs/uart-protocol.md`), or on the simulated board (`--sim`: the board design in
//! Verilator, its UART pins driven bit by bit).

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use systolic::config::Config;
use systolic::cosim::board::SimBoard;
use systolic::cosim::HarnessOptions;
use systolic::engine::gemm::{self, gemm_with, GemmOptions, Matrix};
use systolic::files::OutputPath;
use systolic::frame::DEFAULT_BAUD;
use systolic::npy::Array2;
use systolic::progress::Progress;
use systolic::rtl::board::BoardParams;
use systolic::uart::engine::UartEngine;
use systolic::uart::serial::SerialPort;
use systolic::uart::{LinkError, LinkOptions, LinkStats, Transport};

use super::common::{ConfigArgs, UsageError};
use super::progress::{catch_interrupt, Reporter};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: BoardCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum BoardCommand {
    /// Compute C = A x B from .npy files on the board (the configuration must be the one the
    /// board was programmed with: its VERSION register is checked).
    Run(Box<RunArgs>),
    /// Say which design a board carries (ID, VERSION = configuration hash, sizes).
    Probe(ProbeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// The board's serial port.
    #[arg(long)]
    pub port: String,
    /// Baud rate of the link (a standard one: 9600 .. 3000000).
    #[arg(long, default_value_t = DEFAULT_BAUD, value_parser = super::common::parse_baud)]
    pub baud: u32,
    /// Attempts before giving up (timeouts, NAKs, corrupted answers).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The board's serial port (e.g. /dev/ttyUSB1: the iCEBreaker's FTDI channel B).
    #[arg(long, required_unless_present = "sim", conflicts_with = "sim")]
    pub port: Option<String>,
    /// Baud rate of the link (a standard one: 9600 .. 3000000; the board design's
    /// CLKS_PER_BIT = clock / baud).
    #[arg(long, default_value_t = DEFAULT_BAUD, value_parser = super::common::parse_baud)]
    pub baud: u32,
    /// No hardware: the board design in Verilator, its UART pins driven bit by bit, with this
    /// many clock cycles per bit (at least 4).
    #[arg(long, value_name = "CLKS_PER_BIT")]
    pub sim: Option<u32>,
    /// Attempts per request before giving up (timeouts, NAKs, corrupted answers).
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// The left operand A (M x K): a 2-D .npy whose dtype holds the format's values.
    #[arg(long, value_name = "A.npy")]
    pub a: PathBuf,
    /// The right operand B (K x N).
    #[arg(long, value_name = "B.npy")]
    pub b: PathBuf,
    /// Where to write C = A x B.
    #[arg(long, value_name = "C.npy")]
    pub out: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What a run reports (also the `--json` output).
#[derive(Debug, Serialize)]
pub struct Report {
    pub config: String,
    /// The serial port and baud rate, or the simulated line.
    pub line: String,
    pub a: [usize; 2],
    pub b: [usize; 2],
    pub c: [usize; 2],
    pub out: PathBuf,
    pub out_dtype: &'static str,
    /// Engine busy cycles (the engine's own counter).
    pub compute_cycles: u64,
    pub macs: u64,
    pub instructions: u64,
    /// Simulated clock cycles of the whole product (`--sim` only).
    pub simulated_cycles: Option<u64>,
    pub link: LinkStats,
    /// Wall time of the product (after the connection and, with `--sim`, the model's build).
    pub wall_seconds: f64,
}

impl Report {
    fn text(&self) -> String {
        let l = &self.link;
        let mut s = format!(
            "C = A ({}x{}) x B ({}x{}) = {}x{} {} -> {}\n  \
             config        {}\n  \
             line          {}\n  \
             compute       {} cycles\n  \
             MACs          {}\n  \
             instructions  {}\n  \
             link          {} requests, {} bytes sent, {} received; {} retries ({} timeouts, {} NAKs, {} corrupted answers)\n  \
             wall          {:.2} s",
            self.a[0],
            self.a[1],
            self.b[0],
            self.b[1],
            self.c[0],
            self.c[1],
            self.out_dtype,
            self.out.display(),
            self.config,
            self.line,
            self.compute_cycles,
            self.macs,
            self.instructions,
            l.requests,
            l.bytes_sent,
            l.bytes_received,
            l.retries,
            l.timeouts,
            l.naks,
            l.crc_errors,
            self.wall_seconds,
        );
        if let Some(c) = self.simulated_cycles {
            s.push_str(&format!("\n  simulated     {c} cycles"));
        }
        s
    }
}

fn usage(message: String, hint: &'static str) -> anyhow::Error {
    UsageError {
        message,
        hint: Some(hint),
    }
    .into()
}

/// The hint printed under a link failure.
pub fn hint(e: &LinkError) -> Option<&'static str> {
    Some(match e {
        LinkError::Open { .. } => {
            "check the port name (ls /dev/ttyUSB* /dev/ttyACM*) and that you may open it (group dialout)"
        }
        LinkError::Configure { .. } => "give a standard --baud (115200 by default) and a serial port",
        LinkError::NoAnswer { .. } => {
            "program the board with the board design of this configuration (systolic synth --board BOARD) \
             and give the baud rate it was built for (--baud)"
        }
        LinkError::Unreliable { .. } => "check the cable, or try a lower --baud",
        LinkError::Noise { .. } => {
            "check --port (the board's UART, e.g. the iCEBreaker's second FTDI channel) and that \
             --baud is the rate the board design was built for"
        }
        LinkError::WrongDevice { .. } | LinkError::WrongDesign { .. } => {
            "give the configuration the board was programmed with (--preset and flags), or program \
             the board with this one"
        }
        _ => return None,
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        BoardCommand::Run(a) => run_gemm(*a),
        BoardCommand::Probe(a) => probe(a),
    }
}

fn check_attempts(attempts: u32) -> anyhow::Result<()> {
    if attempts == 0 {
        return Err(usage(
            "--attempts 0: at least 1 attempt per request".into(),
            "the default is 5",
        ));
    }
    Ok(())
}

fn probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    check_attempts(args.attempts)?;
    let serial = SerialPort::open(&args.port, args.baud)?;
    let opts = LinkOptions {
        attempts: args.attempts,
        ..LinkOptions::default()
    };
    let mut link = systolic::uart::Link::new(serial, opts);
    let info = systolic::uart::engine::probe(&mut link)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&info)?);
    } else if info.is_systolic {
        outln!(
            "{}: systolic engine, configuration hash {:08x}..., {}",
            link.transport().describe(),
            info.version,
            info.description
        );
    } else {
        outln!(
            "{}: answers the protocol, but ID is {:#010x}: not a systolic engine",
            link.transport().describe(),
            info.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--attempts` and `--sim` of a board link, checked before any work.
pub(super) fn check_link_flags(attempts: u32, sim: Option<u32>) -> anyhow::Result<()> {
    check_attempts(attempts)?;
    if let Some(cpb) = sim {
        let min = systolic::frame::MIN_CLKS_PER_BIT;
        if cpb < min {
            return Err(usage(
                format!("--sim {cpb}: at least {min} clock cycles per bit"),
                "e.g. --sim 8",
            ));
        }
    }
    Ok(())
}

/// The simulated board (`--sim`): the board design of `cfg` in Verilator, its UART at
/// `clks_per_bit`; the build shown as a stage.
pub(super) fn sim_board(
    cfg: &Config,
    clks_per_bit: u32,
    progress: &mut Reporter,
) -> anyhow::Result<SimBoard> {
    let params = BoardParams {
        clks_per_bit,
        heartbeat_w: 8,
        ..BoardParams::new(1e6, 1)
    };
    progress.stage("Verilator build (simulated board)", None);
    let board = SimBoard::build(cfg, &params, &HarnessOptions::default())?;
    progress.end();
    Ok(board)
}

fn run_gemm(args: RunArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.config.resolve()?;
    check_link_flags(args.attempts, args.sim)?;
    let out = OutputPath::check(&args.out, "--out")?;
    let a = super::run::read_operand(&args.a, "A", cfg.format)?;
    let b = super::run::read_operand(&args.b, "B", cfg.format)?;
    gemm::check(&cfg, &a, &b, &GemmOptions::default())
        .map_err(|e| super::run::gemm_error(e, "board"))?;
    let opts = LinkOptions {
        attempts: args.attempts,
        ..LinkOptions::default()
    };
    catch_interrupt();
    let mut progress = Reporter::new(args.json);
    match (&args.port, args.sim) {
        (_, Some(cpb)) => {
            let board = sim_board(&cfg, cpb, &mut progress)?;
            let e = UartEngine::connect(board, &cfg, opts)?;
            finish(&cfg, e, (&a, &b), &out, &args, progress)
        }
        (Some(port), None) => {
            let serial = SerialPort::open(port, args.baud)?;
            let e = UartEngine::connect(serial, &cfg, opts)?;
            finish(&cfg, e, (&a, &b), &out, &args, progress)
        }
        (None, None) => Err(usage(
            "give --port (a board) or --sim (the simulated board)".into(),
            "e.g. --port /dev/ttyUSB1",
        )),
    }
}

fn finish<T: Transport>(
    cfg: &Config,
    mut engine: UartEngine<T>,
    (a, b): (&Matrix, &Matrix),
    out: &OutputPath,
    args: &RunArgs,
    mut progress: Reporter,
) -> anyhow::Result<ExitCode> {
    let start = std::time::Instant::now();
    let cycles0 = engine.bus().link().transport().cycles();
    let product = gemm_with(&mut engine, a, b, &GemmOptions::default(), &mut progress);
    drop(progress);
    let result = match product {
        Ok(r) => r,
        Err(e) => {
            if let Some(link) = engine.bus_mut().take_link_error() {
                return Err(link.into());
            }
            return Err(super::run::gemm_error(e, "board"));
        }
    };
    let dtype = super::run::out_dtype(cfg);
    let c = Array2 {
        dtype,
        rows: result.c.rows,
        cols: result.c.cols,
        data: result.c.data,
    };
    super::run::write_npy(out, &c)?;
    let report = Report {
        config: format!(
            "{} ({}x{} {}, acc {} bits, hash {})",
            cfg.name,
            cfg.rows,
            cfg.cols,
            cfg.format,
            cfg.acc_bits,
            &cfg.hash()[..8]
        ),
        line: engine.bus().link().transport().describe(),
        a: [a.rows, a.cols],
        b: [b.rows, b.cols],
        c: [c.rows, c.cols],
        out: args.out.clone(),
        out_dtype: dtype.name(),
        compute_cycles: result.counters.busy_cycles,
        macs: result.counters.macs,
        instructions: result.instructions,
        simulated_cycles: engine
            .bus()
            .link()
            .transport()
            .cycles()
            .zip(cycles0)
            .map(|(now, then)| now - then),
        link: engine.bus().stats(),
        wall_seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("{}", report.text());
    }
    Ok(ExitCode::SUCCESS)
}
