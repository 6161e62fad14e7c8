//! `systolic synth`: synthesise, place and route a configuration's core for an FPGA board with
//! the open tools (Yosys, nextpnr, icepack / ecppack), and report area and Fmax.

use std::path::PathBuf;
use std::process::ExitCode;

use systolic::synth::nextpnr::Router;
use systolic::synth::{self, Board, Multipliers, SynthOptions, SynthTop};

use super::common::{ConfigArgs, UsageError};
use super::progress::{catch_interrupt, Reporter};
use systolic::progress::Progress;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MultArg {
    /// DSP blocks where supported and enough (ECP5), LUTs otherwise (iCE40 always).
    Auto,
    /// LUT multipliers.
    Lut,
    /// DSP blocks (ECP5 only; LUTs when they do not fit).
    Dsp,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopArg {
    /// The board top systolic_board: the engine behind the UART link (systolic board run).
    Board,
    /// The pin-limited test harness around the core (3 pins; area and timing only).
    Harness,
    /// With --ooc on an ECP5 board: the whole engine systolic_engine (with --dma its memory
    /// path: AXI4 master, program fetch, ACTIVATE write-back) out of context, not the core.
    Engine,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterArg {
    /// nextpnr's default router.
    Router1,
    /// nextpnr's negotiated-congestion router.
    Router2,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Board: a TOML file in constraints/ (e.g. icebreaker, ice40-hx8k-breakout, ulx3s-25f).
    #[arg(long)]
    pub board: Option<String>,
    /// Another device of the board's family (e.g. --board ulx3s-25f --device 85k).
    #[arg(long)]
    pub device: Option<String>,
    /// Place-and-route target in MHz (default: the board's target_mhz).
    #[arg(long)]
    pub freq: Option<f64>,
    /// Run folder (default: runs/synth-<design>-<board>[-ooc]).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Out of context: core ports unconstrained (ECP5: nextpnr --out-of-context, bare core,
    /// no bitstream; iCE40: the pin-limited harness placed without a pin file).
    #[arg(long)]
    pub ooc: bool,
    /// How multipliers are built.
    #[arg(long = "mult", value_enum, default_value = "auto")]
    pub mult: MultArg,
    /// Radix-4 Booth LUT multipliers (Yosys `booth` pass).
    #[arg(long)]
    pub booth: bool,
    /// nextpnr placer seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// nextpnr's router (router2, negotiated congestion, is the one to try on large, congested designs).
    #[arg(long, value_enum, default_value = "router1")]
    pub router: RouterArg,
    /// Time limit of each tool run (Yosys, nextpnr, the packer) in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=10080))]
    pub time_limit: u64,
    /// Stop after place and route (no icepack / ecppack).
    #[arg(long)]
    pub no_pack: bool,
    /// What a board run places on the pins; with --ooc, `engine` places the whole engine out of
    /// context (ECP5 only) instead of the core (the others are then ignored).
    #[arg(long, value_enum, default_value = "board")]
    pub top: TopArg,
    /// Baud rate of the board top's UART link: a standard one (9600 .. 3000000) that the core
    /// clock divides into 4 or more cycles per bit within 2.5%.
    #[arg(long, default_value_t = systolic::frame::DEFAULT_BAUD, value_parser = super::common::parse_baud)]
    pub baud: u32,
    /// Clock the board top from the FPGA's PLL at this frequency in MHz (the achievable one
    /// closest to it, not above; default: the board's oscillator, no PLL). The UART's
    /// CLKS_PER_BIT and the place-and-route target follow the achieved frequency.
    #[arg(long, value_name = "MHZ", visible_alias = "clock-mhz")]
    pub pll_mhz: Option<f64>,
    /// Co-simulate the post-synthesis netlist (with the FPGA cell models) against the golden
    /// model: a core (--ooc, --top harness) runs random programs, with and without stalls; a
    /// board top runs random products through its UART pins, at the baud rate it was built for;
    /// the engine (--ooc --top engine) a product through its registers and, with --dma,
    /// --verify-programs products over the memory path behind an AXI4 slave model.
    #[arg(long)]
    pub verify: bool,
    /// Random programs for --verify (each run with and without random stalls); for a board
    /// top, random products.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub verify_programs: u64,
    /// Only co-simulate the netlist an earlier run of the same design left in the run folder
    /// (--out or the default one), like --verify, without running Yosys and nextpnr again (give
    /// the options of that run; its RTL must carry this design's config hash, and a board top's
    /// be the one this board, --baud and --pll-mhz make).
    #[arg(long)]
    pub verify_existing: bool,
    /// Only prove the core's post-synthesis netlist equivalent to its RTL (no place and
    /// route): the core synthesised with the flow's script, its PSUM --prove-psum-depth deep,
    /// without RAM and with LUT multipliers, in <run folder>/prove/ (an earlier proof's netlist
    /// there is reused); a miter of the two proven by ABC's dprove. Exit status 0: proven; 1:
    /// not proven (a difference, undecided, or the --time-limit reached).
    #[arg(long, conflicts_with_all = ["verify", "verify_existing"])]
    pub prove: bool,
    /// PSUM entries per bank in the proof (a power of two; both sides).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=4096))]
    pub prove_psum_depth: u32,
    /// List the boards and exit.
    #[arg(long)]
    pub list_boards: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = synth::constraints_dir();
    if args.list_boards {
        list_boards(&dir);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(board_name) = &args.board else {
        return Err(UsageError {
            message: format!(
                "--board is required: available boards: {}",
                synth::list_boards(&dir).join(", ")
            ),
            hint: Some("boards are the TOML files in constraints/"),
        }
        .into());
    };
    if let Some(f) = args.freq {
        if !f.is_finite() || f <= 0.0 {
            return Err(UsageError {
                message: format!("--freq {f}: give a positive frequency in MHz"),
                hint: None,
            }
            .into());
        }
    }
    let board = Board::load(&dir, board_name, args.device.as_deref()).map_err(|e| UsageError {
        message: e.to_string(),
        hint: Some(
            "boards are the TOML files in constraints/, devices are in constraints/devices.toml",
        ),
    })?;
    let cfg = args.config.resolve()?;
    check_engine_top(&args, &board)?;
    let opts = options(&args, &cfg, board)?;
    if !args.json && !args.verify_existing {
        eprintln!(
            "synth: {} on {} in {} (the first call of each tool compiles its WebAssembly: ~2 min)",
            cfg.name,
            opts.board.name,
            opts.run_dir.display()
        );
    }
    catch_interrupt();
    if args.prove {
        return prove(&args, &cfg, &opts);
    }
    let mut progress = Reporter::new(args.json);
    let plan = synth::flow::Plan::new(&cfg, &opts)?;
    let (report, netlist) = if args.verify_existing {
        (None, synth::verify::existing_plan_netlist(&plan)?)
    } else {
        let report = synth::flow::execute_with(&plan, &mut progress)?;
        if !args.json {
            // The report first: the co-simulation below can take minutes.
            print!("{}", report.summary());
        }
        let netlist = report.netlist_verilog.clone();
        (Some(report), netlist)
    };
    let verification = if args.verify || args.verify_existing {
        // Each step of the check is a stage of its own.
        let mut step = |line: &str| progress.stage(line, None);
        let n = args.verify_programs as usize;
        let v = synth::verify::check(&plan, &netlist, n, 1, &mut step)?;
        progress.end();
        Some(v)
    } else {
        None
    };
    drop(progress);
    if args.json {
        let mut v = match &report {
            Some(r) => serde_json::to_value(r)?,
            // --verify-existing: no flow ran, so no report; say what was checked.
            None => serde_json::json!({
                "design": cfg.name,
                "config_hash": cfg.hash(),
                "run_dir": opts.run_dir.display().to_string(),
                "netlist_verilog": netlist,
            }),
        };
        if let Some(ver) = &verification {
            v["verify"] = serde_json::to_value(ver)?;
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else if let Some(ver) = &verification {
        print_verification(ver);
    }
    Ok(match &verification {
        Some(v) if !v.pass => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

/// `--list-boards`: each board of `dir` with its device, or why it does not load.
fn list_boards(dir: &std::path::Path) {
    for name in synth::list_boards(dir) {
        match Board::load(dir, &name, None) {
            Ok(b) => outln!(
                "{name}: {} ({} {} {})",
                b.description,
                b.device.family,
                b.device.name,
                b.package
            ),
            Err(e) => outln!("{name}: invalid: {e}"),
        }
    }
}

/// The flow's options from the command line (the clock's checks included).
fn options(
    args: &Args,
    cfg: &systolic::config::Config,
    board: Board,
) -> anyhow::Result<SynthOptions> {
    let top = match args.top {
        TopArg::Board => SynthTop::Board,
        TopArg::Harness => SynthTop::Harness,
        TopArg::Engine => SynthTop::Engine,
    };
    let mut opts = SynthOptions::new(cfg, board, args.ooc);
    opts.run_dir = match args.out.clone() {
        Some(out) => out,
        None => synth::flow::default_run_dir_for(cfg, &opts.board, args.ooc, top),
    };
    opts.freq_mhz = args.freq;
    opts.multipliers = match args.mult {
        MultArg::Auto => Multipliers::Auto,
        MultArg::Lut => Multipliers::Lut,
        MultArg::Dsp => Multipliers::Dsp,
    };
    opts.booth = args.booth;
    opts.seed = args.seed;
    opts.router = match args.router {
        RouterArg::Router1 => Router::Router1,
        RouterArg::Router2 => Router::Router2,
    };
    opts.pack = !args.no_pack;
    opts.limit = std::time::Duration::from_secs(args.time_limit * 60);
    opts.top = top;
    opts.baud = args.baud;
    check_clock(args, &opts)?;
    opts.pll_mhz = args.pll_mhz;
    Ok(opts)
}

/// The co-simulation's verdict in one line (and its first failure).
fn print_verification(ver: &synth::verify::Verification) {
    let what = match ver.through {
        "uart" => format!(
            "{} products through the UART pins, {} result elements",
            ver.programs, ver.reads
        ),
        "engine" => format!(
            "{} products through the AXI4-Lite slave and the memory path, {} result elements",
            ver.programs, ver.reads
        ),
        _ => format!(
            "{} programs with and without stalls, {} reads",
            ver.programs, ver.reads
        ),
    };
    outln!(
        "post-synthesis co-simulation: {} ({what}, {} cycles; models: {})",
        if ver.pass { "PASS" } else { "FAIL" },
        ver.cycles,
        ver.models.join(", ")
    );
    if let Some(f) = &ver.failure {
        outln!("  {f}");
    }
}

/// `--prove`: the netlist proof alone ([`synth::prove`]).
fn prove(
    args: &Args,
    cfg: &systolic::config::Config,
    opts: &SynthOptions,
) -> anyhow::Result<ExitCode> {
    if !args.prove_psum_depth.is_power_of_two() {
        return Err(UsageError {
            message: format!(
                "--prove-psum-depth {}: give a power of two",
                args.prove_psum_depth
            ),
            hint: None,
        }
        .into());
    }
    let plan = synth::flow::Plan::new(cfg, opts)?;
    let o = synth::prove::ProveOptions {
        psum_depth: args.prove_psum_depth,
        limit: opts.limit,
        netlist: None,
    };
    let mut progress = Reporter::new(args.json);
    let proof = {
        let mut step = |line: &str| progress.stage(line, None);
        synth::prove::prove(&plan, &o, &mut step)?
    };
    progress.end();
    drop(progress);
    if args.json {
        let mut v = serde_json::to_value(&proof)?;
        v["design"] = cfg.name.clone().into();
        v["run_dir"] = opts.run_dir.display().to_string().into();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!("{}", proof.summary());
    }
    Ok(if proof.proven() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--top engine` places the engine out of context, which only nextpnr-ecp5 can: without
/// `--ooc`, or on an iCE40 board, a usage error naming the flag (before any tool runs).
fn check_engine_top(args: &Args, board: &Board) -> anyhow::Result<()> {
    if args.top != TopArg::Engine {
        return Ok(());
    }
    let message = if !args.ooc {
        "--top engine places the engine out of context only (its AXI ports have no pins on a \
         board), and --ooc is not given"
            .to_string()
    } else if board.family() != synth::Family::Ecp5 {
        format!(
            "--top engine --ooc on {} ({} {}): nextpnr-{} has no out-of-context mode, and the \
             engine's AXI ports outnumber every package's pins",
            board.name,
            board.device.family,
            board.device.name,
            board.family()
        )
    } else {
        return Ok(());
    };
    Err(UsageError {
        message,
        hint: Some(
            "place the engine on an ECP5 board with --ooc --top engine (e.g. --board ulx3s-85f), \
             or leave out --top engine (--ooc alone places the core)",
        ),
    }
    .into())
}

/// `--pll-mhz` and `--baud` against the board: the PLL must reach the frequency, and the core
/// clock must divide into the baud rate (checked before any tool runs or any folder is made).
fn check_clock(args: &Args, opts: &SynthOptions) -> anyhow::Result<()> {
    let mut core_mhz = opts.board.clock.freq_mhz;
    if let Some(f) = args.pll_mhz {
        if !f.is_finite() || f <= 0.0 {
            return Err(UsageError {
                message: format!("--pll-mhz {f}: give a positive frequency in MHz"),
                hint: None,
            }
            .into());
        }
        if !opts.board_top() {
            return Err(UsageError {
                message: "--pll-mhz clocks the board top, and this run places the core or the \
                          harness"
                    .into(),
                hint: Some("leave out --ooc and --top harness"),
            }
            .into());
        }
        // Settle the PLL before any tool runs: an unreachable frequency is a usage error.
        let pll = synth::flow::board_pll(&opts.board, f).map_err(|e| UsageError {
            message: e.to_string(),
            hint: Some(
                "ask for a frequency inside the range the message names, or leave out \
                 --pll-mhz to run at the board's oscillator",
            ),
        })?;
        core_mhz = pll.output_mhz();
    }
    if opts.board_top() {
        super::common::baud_for_clock(args.baud, core_mhz * 1e6)?;
    }
    Ok(())
}
