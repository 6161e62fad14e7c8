//! The options of one flow ([`SynthOptions`]), as the command line or a test sets them.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::synth::board::Board;
use crate::synth::nextpnr::Router;

/// How multipliers are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Multipliers {
    /// DSP blocks where supported and enough (ECP5), LUTs otherwise.
    #[default]
    Auto,
    /// LUTs only.
    Lut,
    /// DSP blocks (ECP5 only; falls back to LUTs when they do not fit).
    Dsp,
}

/// What a board run (not out of context) places on the board's pins, or (`Engine`) which level
/// an out-of-context run places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SynthTop {
    /// The pin-limited harness around the core ([`crate::rtl::harness`]): 3 pins, not a usable
    /// engine.
    #[default]
    Harness,
    /// The board top `systolic_board` ([`crate::rtl::board`]): the engine behind the UART
    /// bridge, reset button and LEDs on the board's pins, clocked by the board's oscillator.
    Board,
    /// Out of context on ECP5 only: the whole engine `systolic_engine` ([`crate::rtl::engine`]:
    /// the core, SBUF, instruction queue and sequencer, and with `dma` the AXI4 master, the
    /// program fetch and the ACTIVATE write-back), placed with nextpnr `--out-of-context`.
    Engine,
}

/// The options of one flow.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub board: Board,
    /// Place-and-route target; default: the board's `target_mhz`.
    pub freq_mhz: Option<f64>,
    pub run_dir: PathBuf,
    pub ooc: bool,
    pub multipliers: Multipliers,
    /// Yosys' `booth` pass on LUT multipliers.
    pub booth: bool,
    /// nextpnr's placer seed (default: nextpnr's own).
    pub seed: Option<u64>,
    /// nextpnr's router.
    pub router: Router,
    /// Write a bitstream when the mode allows one.
    pub pack: bool,
    /// Time limit of each tool run.
    pub limit: Duration,
    /// What a board run places; out of context, `Engine` places the engine instead of the
    /// core (the other values are then ignored).
    pub top: SynthTop,
    /// Baud rate of the board top's UART (its `CLKS_PER_BIT` = core clock / baud).
    pub baud: u32,
    /// The board top's core clock from the FPGA's PLL at this frequency (MHz; the achievable
    /// one closest to it, not above); `None`: the board's oscillator. Board top only.
    pub pll_mhz: Option<f64>,
}

impl SynthOptions {
    /// Defaults for a board: run folder from [`default_run_dir`], bitstream on, 2 h per tool.
    pub fn new(cfg: &Config, board: Board, ooc: bool) -> SynthOptions {
        SynthOptions {
            run_dir: default_run_dir(cfg, &board, ooc),
            board,
            freq_mhz: None,
            ooc,
            multipliers: Multipliers::Auto,
            booth: false,
            seed: None,
            router: Router::default(),
            pack: true,
            limit: Duration::from_secs(7200),
            top: SynthTop::Harness,
            baud: crate::frame::DEFAULT_BAUD,
            pll_mhz: None,
        }
    }

    /// Whether the flow places the board top (not out of context, not the harness).
    pub fn board_top(&self) -> bool {
        !self.ooc && self.top == SynthTop::Board
    }
}

/// `runs/synth-<design>-<board>[-ooc]`.
pub fn default_run_dir(cfg: &Config, board: &Board, ooc: bool) -> PathBuf {
    default_run_dir_for(cfg, board, ooc, SynthTop::Harness)
}

/// [`default_run_dir`] of a run that places `top`: `runs/synth-<design>-<board>-engine-ooc`
/// for the engine out of context (so it never shares the core's folder).
pub fn default_run_dir_for(cfg: &Config, board: &Board, ooc: bool, top: SynthTop) -> PathBuf {
    let name: String = cfg
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("runs").join(format!(
        "synth-{name}-{}{}{}",
        board.name,
        if ooc && top == SynthTop::Engine {
            "-engine"
        } else {
            ""
        },
        if ooc { "-ooc" } else { "" }
    ))
}
