//! `systolic infer --backend board --netlist RUN_DIR`: the simulated board is the post-synthesis
//! netlist that an earlier `systolic synth --board B` run left in RUN_DIR (with the FPGA's cell
//! models, in Verilator), not the RTL. The run folder is checked before any work, as `synth
//! --verify-existing` checks it (`synth::verify::existing_plan_netlist`); the build is the one
//! `synth --verify` uses (`synth::verify::board_netlist`).

use std::path::Path;

use serde::Serialize;

use systolic::config::Config;
use systolic::cosim::board::SimBoard;
use systolic::frame::DEFAULT_BAUD;
use systolic::progress::Progress;
use systolic::synth::flow::Plan;
use systolic::synth::{self, Board, SynthOptions, SynthTop};

use super::common::{UsageError, UsageErrorHint};
use super::progress::Reporter;

/// The board top a `--netlist` run folder must hold: `--board`, `--baud`, `--pll-mhz`, and the
/// configuration flags (for the hint's synth command).
pub struct Request<'a> {
    pub board: &'a str,
    pub baud: u32,
    pub pll_mhz: Option<f64>,
    pub config_flags: String,
}

/// A checked run folder: the flow plan that made its netlist, and the netlist's file name.
pub struct Netlist {
    plan: Plan,
    file: String,
}

/// What the report says of the netlist run (also in `--json`).
#[derive(Debug, Serialize)]
pub struct NetlistReport {
    /// The netlist simulated (the run folder's `netlist.v`).
    pub netlist: String,
    pub board: String,
    /// Clock cycles per UART bit the netlist was synthesised with.
    pub clks_per_bit: u32,
    /// The cell models simulated beside it.
    pub models: Vec<String>,
    /// Seconds Verilator took to build it (`None`: an earlier build reused).
    pub build_seconds: Option<f64>,
}

/// The synth run of `--board` (at `--baud`, `--pll-mhz`) for `cfg` in `dir`, and its netlist:
/// a board, baud or clock that cannot make a board top, a missing folder or one of another
/// design is a usage error naming `--netlist` and the folder, with the command that makes it.
pub fn check(args: &Request, cfg: &Config, dir: &Path) -> anyhow::Result<Netlist> {
    let name = args.board;
    let board = Board::load(&synth::constraints_dir(), name, None).map_err(|e| UsageError {
        message: format!("--board {name}: {e}"),
        hint: Some("boards are the TOML files in constraints/"),
    })?;
    let mut o = SynthOptions::new(cfg, board, false);
    o.run_dir = dir.to_path_buf();
    o.top = SynthTop::Board;
    o.baud = args.baud;
    o.pll_mhz = args.pll_mhz;
    let refused = |e: synth::SynthError| UsageErrorHint {
        message: format!("--netlist {}: {e}", dir.display()),
        hint: format!("make it with `{}`", synth_command(args, dir)),
    };
    let plan = Plan::new(cfg, &o).map_err(refused)?;
    let file = synth::verify::existing_plan_netlist(&plan).map_err(refused)?;
    Ok(Netlist { plan, file })
}

/// The `systolic synth` command that writes the netlist `args` ask for into `dir`.
fn synth_command(args: &Request, dir: &Path) -> String {
    let mut c = vec!["systolic synth".to_string(), args.config_flags.clone()];
    c.push(format!("--board {}", args.board));
    if args.baud != DEFAULT_BAUD {
        c.push(format!("--baud {}", args.baud));
    }
    if let Some(mhz) = args.pll_mhz {
        c.push(format!("--pll-mhz {mhz}"));
    }
    c.push(format!("--out {}", dir.display()));
    c.retain(|part| !part.is_empty());
    c.join(" ")
}

/// The netlist built by Verilator as a simulated board (one stage of `progress`), and what the
/// report says of it.
pub fn build(n: &Netlist, progress: &mut Reporter) -> anyhow::Result<(SimBoard, NetlistReport)> {
    progress.stage("Verilator build (the board's post-synthesis netlist)", None);
    let (board, models) = synth::verify::board_netlist(&n.plan, &n.file, &mut |_| {})?;
    progress.end();
    let report = NetlistReport {
        netlist: n.plan.options.run_dir.join(&n.file).display().to_string(),
        board: n.plan.board().name.clone(),
        clks_per_bit: n
            .plan
            .placement
            .board_params()
            .map_or(0, |p| p.clks_per_bit),
        models,
        build_seconds: board.build_seconds,
    };
    Ok((board, report))
}
