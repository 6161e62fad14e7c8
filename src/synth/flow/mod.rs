//! The flow for one configuration on one board: generate the Verilog (and the harness), Yosys,
//! fit checks against the device, nextpnr, the packer, and the report.
//!
//! It runs in two halves. [`Plan::new`] takes every decision from the configuration and the
//! options before any tool runs (what is placed and on which pins, the multipliers, the PLL,
//! the place-and-route target, the bitstream, what `--verify` checks), and refuses what is not
//! supported; [`execute`] then locates the tools and runs one stage after another on the
//! plan's [`Design`](crate::rtl::design::Design) (`stages`: the RTL and pin file, Yosys, the
//! fit checks, nextpnr, the packer, the icetime cross-check, the report). [`run`] is both.
//!
//! What is synthesised ([`Placement`]):
//! - ECP5 with `ooc`: the bare core `systolic_top`, placed with nextpnr `--out-of-context` (no
//!   I/O buffers, no bitstream): area and register-to-register timing of the core alone.
//! - ECP5 with `ooc` and [`SynthTop::Engine`]: the whole engine `systolic_engine` (with `dma`,
//!   its AXI4 master, program fetch, ACTIVATE write-back, instruction queue and FIFOs), placed
//!   the same way: the memory path's area and Fmax. Refused on iCE40 (no out-of-context mode,
//!   and the engine's ports outnumber the pins) and without `ooc` (no pin map for its ports).
//! - iCE40 with `ooc`: nextpnr-ice40 has no out-of-context mode and the core's ports outnumber
//!   every iCE40 package's pins, so the core sits in the pin-limited
//!   [`harness`](crate::rtl::harness) (3 pins) and nextpnr places those pins itself
//!   (`--pcf-allow-unconstrained`; their placement means nothing). The core's own cells are
//!   reported apart (it is kept as its own level).
//! - Without `ooc` (board), [`SynthTop::Board`] (the command line's default): the board top
//!   `systolic_board` (engine, UART bridge, reset synchroniser, LEDs) on the board's clock,
//!   UART, button and LED pins, constrained by the board's pin file, down to a bitstream that
//!   `systolic board run` talks to. By default it runs at the board's oscillator, which is then
//!   the place-and-route target unless `--freq` says otherwise; with `pll_mhz`
//!   (`--pll-mhz`) the FPGA's PLL makes the core clock from the oscillator
//!   ([`crate::rtl::board::clock`], dividers from [`crate::pll`]), and its achieved frequency
//!   sets `CLKS_PER_BIT`, the heartbeat and the target.
//! - Without `ooc`, [`SynthTop::Harness`] (the library's default): the pin-limited harness on
//!   the board's clock pin and UART pins (`scan_in` on uart_rx, `scan_out` on uart_tx): area
//!   and timing of the core with real I/O, a bitstream that loads, not a usable engine.
//!
//! Multipliers ([`MultiplierPlan`]): LUTs on iCE40 (`synth_ice40 -dsp` inference is never used,
//! see [`super::yosys`]); on ECP5 MULT18X18D (one per PE) when they fit the device, LUTs
//! otherwise (with a note).

mod multipliers;
mod options;
mod plan;
mod stages;

use std::time::Instant;

use crate::config::Config;
use crate::progress::Progress;

use super::report::Report;
use super::Family;
use super::SynthError;

pub use multipliers::MultiplierPlan;
pub use options::{default_run_dir, default_run_dir_for, Multipliers, SynthOptions, SynthTop};
pub use plan::{board_pll, board_top_params, Check, PackPlan, PinPlan, Placement, Plan};
pub(crate) use stages::{NETLIST_V, RTL};
pub use stages::{SUMMARY_JSON, SUMMARY_TXT};

/// Run the flow for `cfg`: [`Plan::new`], then [`execute`]. See the module documentation.
pub fn run(cfg: &Config, o: &SynthOptions) -> Result<Report, SynthError> {
    execute(&Plan::new(cfg, o)?)
}

/// Run `plan`: locate its tools (a missing tool fails before any work), then each stage in its
/// run folder, and write the report there.
pub fn execute(plan: &Plan) -> Result<Report, SynthError> {
    execute_with(plan, &mut crate::progress::Silent)
}

/// [`execute`], each stage (Yosys, nextpnr, the packer, icetime) reported to `progress`.
pub fn execute_with(plan: &Plan, progress: &mut dyn Progress) -> Result<Report, SynthError> {
    let start = Instant::now();
    let tools = stages::Tools::locate(plan)?;
    let mut notes = plan.notes.clone();
    let sources = stages::write_sources(plan)?;
    progress.stage("Yosys synthesis", None);
    let synthesis = stages::synthesise(plan, &tools, sources, &mut notes)?;
    stages::check_fit(plan, &synthesis.cells)?;
    progress.stage("nextpnr place and route", None);
    let (nextpnr_s, pnr) = stages::place_and_route(plan, &tools)?;
    let mut logs = vec![
        stages::YOSYS_LOG.to_string(),
        stages::NEXTPNR_LOG.to_string(),
    ];
    if plan.pack.is_some() {
        progress.stage("bitstream (pack)", None);
    }
    let (pack_s, bitstream) = stages::pack(plan, &tools, &mut notes, &mut logs)?;
    if plan.pack.is_some() && plan.family() == Family::Ice40 {
        progress.stage("timing cross-check (icetime)", None);
    }
    let icetime = stages::cross_check_timing(plan, &mut notes, &mut logs);
    progress.end();
    let results = stages::Results {
        synthesis,
        pnr,
        icetime,
        nextpnr_s,
        pack_s,
        bitstream,
        logs,
        notes,
        seconds: start.elapsed().as_secs_f64(),
    };
    let report = stages::report(plan, &tools, results);
    stages::write_report(plan, &report)?;
    Ok(report)
}
