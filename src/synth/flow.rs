//! The flow for one configuration on one board: generate the Verilog (and the harness), Yosys,
//! fit checks against the device, nextpnr, the packer, and the report.
//!
//! What is synthesised:
//! - ECP5 with `ooc`: the bare core `systolic_top`, placed with nextpnr `--out-of-context` (no
//!   I/O buffers, no bitstream): area and register-to-register timing of the core alone.
//! - iCE40 with `ooc`: nextpnr-ice40 has no out-of-context mode and the core's ports outnumber
//!   every iCE40 package's pins, so the core sits in the pin-limited [`harness`] (3 pins) and
//!   nextpnr places those pins itself (`--pcf-allow-unconstrained`; their placement means
//!   nothing). The core's own cells are reported apart (it is kept as its own level).
//! - Without `ooc` (board), [`SynthTop::Board`] (the command line's default): the board top
//!   `systolic_board` (engine, UART bridge, reset synchroniser, LEDs) on the board's clock,
//!   UART, button and LED pins, constrained by the board's pin file, down to a bitstream that
//!   `systolic board run` talks to. By default it runs at the board's oscillator, which is then
//!   the place-and-route target unless `--freq` says otherwise; with `pll_mhz`
//!   (`--pll-mhz`) the FPGA's PLL makes the core clock from the oscillator
//!   ([`crate::rtl::clock`], dividers from [`crate::pll`]), and its achieved frequency sets
//!   `CLKS_PER_BIT`, the heartbeat and the target.
//! - Without `ooc`, [`SynthTop::Harness`] (the library's default): the pin-limited harness on
//!   the board's clock pin and UART pins (`scan_in` on uart_rx, `scan_out` on uart_tx): area
//!   and timing of the core with real I/O, a bitstream that loads, not a usable engine.
//!
//! Multipliers: LUTs on iCE40 (`synth_ice40 -dsp` inference is never used, see [`super::yosys`]);
//! on ECP5 MULT18X18D (one per PE) when they fit the device, LUTs otherwise (with a note).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::pll::{Pll, PllRequest};
use crate::rtl::core::TOP;
use crate::rtl::harness::{self, CLOCK_PORT, SCAN_IN_PORT, SCAN_OUT_PORT};

use super::board::{Board, Family};
use super::nextpnr::{NextpnrRun, PinConstraints, Router};
use super::pack::Pack;
use super::report::{Cells, Placed, PnrReport, Report, Times, YosysStat};
use super::tool::{self, Tool};
use super::yosys::YosysSynth;
use super::{write_file, SynthError};

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

/// What a board run (not out of context) places on the board's pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SynthTop {
    /// The pin-limited harness around the core ([`harness`]): 3 pins, not a usable engine.
    #[default]
    Harness,
    /// The board top `systolic_board` ([`crate::rtl::board`]): the engine behind the UART
    /// bridge, reset button and LEDs on the board's pins, clocked by the board's oscillator.
    Board,
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
    /// What a board run places (ignored out of context).
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
        "synth-{name}-{}{}",
        board.name,
        if ooc { "-ooc" } else { "" }
    ))
}

// File names inside a run folder.
pub(crate) const RTL: &str = "rtl";
const SCRIPT: &str = "synth.ys";
const YOSYS_LOG: &str = "yosys.log";
const NETLIST_JSON: &str = "netlist.json";
pub(crate) const NETLIST_V: &str = "netlist.v";
const STAT_JSON: &str = "stat.json";
const STAT_TXT: &str = "stat.txt";
const NEXTPNR_LOG: &str = "nextpnr.log";
const NEXTPNR_REPORT: &str = "nextpnr-report.json";
const PACK_LOG: &str = "pack.log";
pub const SUMMARY_JSON: &str = "summary.json";
pub const SUMMARY_TXT: &str = "summary.txt";

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> SynthError {
    move |e| SynthError::Io {
        what,
        message: e.to_string(),
    }
}

/// Remove what an earlier run left, so no stale result can be read as this run's.
fn clean(dir: &Path) -> Result<(), SynthError> {
    let rtl = dir.join(RTL);
    if rtl.is_dir() {
        std::fs::remove_dir_all(&rtl).map_err(io_err(format!("removing {}", rtl.display())))?;
    }
    for f in [
        NETLIST_JSON,
        NETLIST_V,
        STAT_JSON,
        STAT_TXT,
        NEXTPNR_REPORT,
        "design.asc",
        "design.bin",
        "design.config",
        "design.bit",
        SUMMARY_JSON,
        SUMMARY_TXT,
    ] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    std::fs::create_dir_all(&rtl).map_err(io_err(format!("creating {}", rtl.display())))
}

fn fits(
    what: &'static str,
    used: u64,
    available: u64,
    device: &str,
    hint: String,
) -> Result<(), SynthError> {
    if used > available {
        return Err(SynthError::DoesNotFit {
            what,
            used,
            available,
            device: device.to_string(),
            hint,
        });
    }
    Ok(())
}

/// nextpnr-ice40's placer failing with "Failed to expand region ... of N ICESTORM_LCs" means the
/// packed design has more logic cells than the device (the check after Yosys counts LUT4s and
/// flip-flops apart; packing can need more cells than either): a "does not fit" error.
fn packed_too_large(e: SynthError, available: u64, device: &str) -> SynthError {
    let used = match &e {
        SynthError::ToolFailed { message, .. } if message.contains("Failed to expand region") => {
            message
                .split(" of ")
                .nth(1)
                .and_then(|t| t.strip_suffix(" ICESTORM_LCs"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        }
        _ => None,
    };
    match used {
        Some(used) if used > available => SynthError::DoesNotFit {
            what: "logic cells after packing",
            used,
            available,
            device: device.to_string(),
            hint: ": a smaller array or pe_latency, or a larger device".into(),
        },
        _ => e,
    }
}

/// The PLL for a core clock of `mhz` on `board` (its oscillator, and on iCE40 whether the clock
/// pin is the PLL's pad): the achievable frequency closest to `mhz`, not above.
pub fn board_pll(board: &Board, mhz: f64) -> Result<Pll, SynthError> {
    Ok(crate::pll::search(&PllRequest {
        kind: board.family().pll_kind(board.clock.pll_pad),
        input_mhz: board.clock.freq_mhz,
        output_mhz: mhz,
    })?)
}

/// The board top's parameters for `board`: `CLKS_PER_BIT` from the core clock (the board's
/// oscillator, or `pll`'s output) and `baud`, a button and LEDs as its board file names them. A
/// pin named `..._N` is active low (the iCEBreaker's `BTN_N`, `LEDR_N`), any other active high
/// (the ULX3S's, the HX8K breakout's).
pub fn board_top_params(
    board: &Board,
    baud: u32,
    pll: Option<Pll>,
) -> Result<crate::rtl::board::BoardParams, SynthError> {
    let low = |pin: &str| pin.ends_with("_N") || pin.ends_with("_n");
    let core_mhz = pll.map_or(board.clock.freq_mhz, |p| p.output_mhz());
    let mut p = crate::rtl::board::BoardParams::new(core_mhz * 1e6, baud.max(1));
    p.pll = pll;
    if p.clks_per_bit < 4 {
        return Err(SynthError::Unsupported(format!(
            "{baud} baud is too fast for the {core_mhz} MHz core clock: the UART needs at least \
             4 clock cycles per bit"
        )));
    }
    p.button = board.pins.button.is_some();
    p.btn_active_low = board.pins.button.as_deref().is_some_and(low);
    p.leds = board.pins.leds.len() as u32;
    p.led_active_low = board.pins.leds.first().is_some_and(|l| low(l));
    // A blink period of 2^HEARTBEAT_W cycles, about 1.4 s at 12 MHz and 1.3 s at 25 MHz.
    p.heartbeat_w = (core_mhz * 1e6).log2().ceil() as u32;
    Ok(p)
}

/// Run the flow for `cfg`. See the module documentation.
pub fn run(cfg: &Config, o: &SynthOptions) -> Result<Report, SynthError> {
    let start = Instant::now();
    let board = &o.board;
    let family = board.family();
    let dev = &board.device;
    let dir = o.run_dir.as_path();

    let mut notes: Vec<String> = vec![];
    // RTL that instantiates DSP blocks itself: only for its family, never with LUTs, and the
    // device must hold all of them (there is nothing to fall back to).
    let own_dsps = cfg.primitives != crate::config::Primitives::Generic;
    if own_dsps {
        let (own_family, block, use_note) = match cfg.primitives {
            crate::config::Primitives::Ice40 => (
                Family::Ice40,
                "SB_MAC16 (one per pair of PEs in a DSP column, instantiated by the RTL)",
                "primitives = ice40: the multipliers of each pair of PEs in a DSP column are \
                 one SB_MAC16 in dual 8x8 mode, instantiated with its input and product \
                 registers (synth_ice40 -dsp inference is not used; nextpnr-ice40 does not time \
                 the block's inside: see icetime); the columns past dsp_cols multiply on the \
                 RTL's own carry chains (SB_LUT4 + SB_CARRY, systolic_mul_lut_ice40)",
            ),
            _ => (
                Family::Ecp5,
                "MULT18X18D (one per PE in a DSP column, instantiated by the RTL)",
                "primitives = ecp5: each PE's multiplier is a MULT18X18D instantiated with its \
                 own registers, and at pe_latency 3 each PSUM column of up to 1024 entries \
                 DP16KD blocks with their output registers (Yosys' inference uses neither)",
            ),
        };
        if family != own_family {
            return Err(SynthError::Unsupported(format!(
                "primitives = {} instantiates {} DSP blocks: not for the {} ({}); generate \
                 with --primitives generic",
                cfg.primitives, own_family, dev.name, board.name
            )));
        }
        if o.multipliers == Multipliers::Lut {
            return Err(SynthError::Unsupported(format!(
                "--mult lut with primitives = {}: the RTL instantiates its DSP blocks; \
                 generate with --primitives generic for LUT multipliers",
                cfg.primitives
            )));
        }
        let fit_cols = dev.dsp / cfg.dsp_blocks_per_col();
        fits(
            block,
            cfg.dsp_blocks(),
            dev.dsp,
            &dev.name,
            if fit_cols > 0 {
                format!(
                    ": give --dsp-cols {fit_cols} (the other columns' multipliers in LUTs), a \
                     smaller array, or --primitives generic for LUT multipliers"
                )
            } else if cfg.primitives == crate::config::Primitives::Ice40 {
                ": give --dsp-cols 0 (every multiplier on the carry chains), a smaller array, \
                 or --primitives generic for LUT multipliers"
                    .into()
            } else {
                ": give a smaller array, or --primitives generic for LUT multipliers".into()
            },
        )?;
        notes.push(use_note.into());
        if cfg.dsp_cols < cfg.cols {
            notes.push(format!(
                "dsp_cols = {}: columns {}..{} use LUT multipliers",
                cfg.dsp_cols,
                cfg.dsp_cols,
                cfg.cols - 1
            ));
        }
    }
    let dsp = match (family, o.multipliers) {
        // The RTL's own DSP blocks; nothing is inferred (the columns past dsp_cols are LUTs).
        _ if own_dsps => false,
        (Family::Ice40, Multipliers::Dsp) => {
            return Err(SynthError::Unsupported(
                "DSP multipliers on iCE40: synth_ice40 -dsp inference was measured producing \
                 wrong netlists for multiply-accumulate chains; use --mult lut (the default)"
                    .into(),
            ))
        }
        (Family::Ice40, _) => {
            notes.push(
                "iCE40: LUT multipliers (synth_ice40 -dsp inference is not used: it was \
                 measured producing wrong netlists for multiply-accumulate chains)"
                    .into(),
            );
            false
        }
        (Family::Ecp5, Multipliers::Lut) => false,
        (Family::Ecp5, Multipliers::Auto) if cfg.derived.mul_lat > 2 && !own_dsps => {
            let (per_pe, _) = split_products(cfg);
            notes.push(format!(
                "pe_latency {} splits each multiplier into {per_pe} partial products for LUT \
                 fabrics: LUT multipliers (--mult dsp maps each to a MULT18X18D, {per_pe} per PE)",
                cfg.pe_latency
            ));
            false
        }
        (Family::Ecp5, _) if cfg.derived.mul_lat > 2 && !own_dsps => {
            let (per_pe, what) = split_products(cfg);
            fits(
                what,
                per_pe * cfg.pes(),
                dev.dsp,
                &dev.name,
                ": give a smaller array, or --mult lut".into(),
            )?;
            true
        }
        (Family::Ecp5, _) => {
            if cfg.pes() > dev.dsp {
                notes.push(format!(
                    "{} multipliers (one per PE) do not fit the {} MULT18X18D of the {}: \
                     LUT multipliers instead",
                    cfg.pes(),
                    dev.dsp,
                    dev.name
                ));
                false
            } else {
                true
            }
        }
    };
    let booth = if o.booth && dsp {
        notes.push("--booth applies to LUT multipliers: ignored with DSP multipliers".into());
        false
    } else if o.booth && cfg.primitives == crate::config::Primitives::Ice40 {
        notes.push(
            "--booth: ignored with primitives = ice40 (every multiplier is instantiated: \
             SB_MAC16 or carry chains)"
                .into(),
        );
        false
    } else {
        o.booth
    };

    // Tools: a missing tool fails before any work (after the option checks above).
    let yosys = tool::locate(Tool::Yosys)?;
    let (pnr_tool, pack_tool) = match family {
        Family::Ice40 => (Tool::NextpnrIce40, Tool::Icepack),
        Family::Ecp5 => (Tool::NextpnrEcp5, Tool::Ecppack),
    };
    let nextpnr = tool::locate(pnr_tool)?;
    let bare = o.ooc && family == Family::Ecp5;
    let bitstream_possible = !bare;
    let packer = if o.pack && bitstream_possible {
        Some(tool::locate(pack_tool)?)
    } else {
        None
    };

    // The design's files.
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    clean(dir)?;
    let mut sources = vec![];
    let board_top = o.board_top();
    let pll =
        match o.pll_mhz {
            Some(_) if !board_top => return Err(SynthError::Unsupported(
                "a PLL clocks the board top only: leave out --ooc and --top harness, or the PLL"
                    .into(),
            )),
            Some(mhz) => Some(board_pll(board, mhz)?),
            None => None,
        };
    let board_params = board_top
        .then(|| board_top_params(board, o.baud, pll))
        .transpose()?;
    let (design, shape) = match &board_params {
        Some(p) => (crate::rtl::board::design(cfg, p), None),
        None if bare => (crate::rtl::core::design(cfg), None),
        None => {
            let (d, shape) = harness::design(cfg);
            (d, Some(shape))
        }
    };
    for (name, text) in design.files() {
        write_file(&dir.join(RTL).join(&name), &text)?;
        sources.push(format!("{RTL}/{name}"));
    }
    let top = design.top_name().to_string();
    if let Some(board_params) = &board_params {
        notes.push(format!(
            "board top systolic_board: the engine behind the UART bridge at {} baud \
             (CLKS_PER_BIT {} at {}), reset button {}, {} LED(s); \
             the core is flattened into the engine, so `core` figures are the whole design's",
            o.baud,
            board_params.clks_per_bit,
            match &pll {
                None => format!("the board's {} MHz, no PLL", board.clock.freq_mhz),
                Some(p) => format!(
                    "the {} output, {} MHz from the board's {} MHz; reset until the PLL locks",
                    p.kind.primitive(),
                    crate::rtl::board::clock::mhz_text(p.output_mhz()),
                    board.clock.freq_mhz
                ),
            },
            if board_params.button {
                "synchronised"
            } else {
                "absent (power-on reset only)"
            },
            board_params.leds
        ));
    } else if let Some(shape) = shape {
        notes.push(format!(
            "the core sits in the pin-limited harness ({} pins: clk, scan_in, scan_out): \
             {}-bit input shift register, {} output bits folded (one-bit outputs registered first) into {} registered parities; \
             `core` figures are systolic_top alone, `total` and `placed` include the harness",
            3, shape.in_bits, shape.out_bits, shape.groups
        ));
    }

    // Pins.
    let ext = family.pin_file_ext();
    let pins = if bare {
        notes.push(
            "out of context: the bare core placed with nextpnr --out-of-context (no I/O \
             buffers, no global clock routing, no bitstream); register-to-register timing only"
                .into(),
        );
        PinConstraints::OutOfContext
    } else if o.ooc {
        notes.push(format!(
            "out of context: nextpnr-{family} has no --out-of-context mode; the harness's 3 \
             pins are placed by nextpnr without a pin file, so their placement means nothing"
        ));
        PinConstraints::Unconstrained
    } else if board_top {
        let (Some(rx), Some(tx)) = (&board.pins.uart_rx, &board.pins.uart_tx) else {
            return Err(SynthError::Unsupported(format!(
                "board `{}` names no uart_rx and uart_tx pins for the board top's UART: add                  them to its board file",
                board.name
            )));
        };
        let mut map: Vec<(String, String)> = vec![
            (CLOCK_PORT.into(), board.clock.pin.clone()),
            ("uart_rx".into(), rx.clone()),
            ("uart_tx".into(), tx.clone()),
        ];
        if let Some(b) = &board.pins.button {
            map.push(("btn".into(), b.clone()));
        }
        for (i, led) in board.pins.leds.iter().enumerate() {
            let port = if board.pins.leds.len() == 1 {
                "led".to_string()
            } else {
                format!("led[{i}]")
            };
            map.push((port, led.clone()));
        }
        let pairs: Vec<(&str, &str)> = map.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let name = format!("pins.{ext}");
        write_file(&dir.join(&name), &board.pin_file_for(&pairs))?;
        PinConstraints::File(name)
    } else {
        let (Some(rx), Some(tx)) = (&board.pins.uart_rx, &board.pins.uart_tx) else {
            return Err(SynthError::Unsupported(format!(
                "board `{}` names no uart_rx and uart_tx pins for the harness's scan_in and \
                 scan_out: add them to its board file, or use --ooc",
                board.name
            )));
        };
        let name = format!("pins.{ext}");
        let text = board.pin_file_for(&[
            (CLOCK_PORT, board.clock.pin.as_str()),
            (SCAN_IN_PORT, rx.as_str()),
            (SCAN_OUT_PORT, tx.as_str()),
        ]);
        write_file(&dir.join(&name), &text)?;
        notes.push(format!(
            "board: the harness on the board's pins (clk on {}, scan_in on {rx}, scan_out on \
             {tx}): a bitstream that loads, not a usable engine (that is --top board)",
            board.clock.pin
        ));
        PinConstraints::File(name)
    };

    // Synthesis.
    let mut synth = YosysSynth {
        family,
        ice40_device: dev.yosys_device.clone(),
        top: top.clone(),
        sources,
        keep_hierarchy: if bare { vec![] } else { vec![TOP.to_string()] },
        dsp,
        booth,
        vendor_cells: pll.is_some() || cfg.primitives == crate::config::Primitives::Ice40,
        script: SCRIPT.into(),
        log: YOSYS_LOG.into(),
        json: NETLIST_JSON.into(),
        verilog: NETLIST_V.into(),
        stat_json: STAT_JSON.into(),
        stat_txt: STAT_TXT.into(),
    };
    let mut yosys_s = synth.run(&yosys, dir, o.limit)?.seconds;
    let mut stat = YosysStat::read(&dir.join(STAT_JSON))?;
    let mut cells = Cells::from_types(family, &stat.design);
    if cells.dsp > dev.dsp && !own_dsps {
        notes.push(format!(
            "Yosys used {} DSP blocks, the {} has {}: synthesised again with LUT multipliers",
            cells.dsp, dev.name, dev.dsp
        ));
        synth.dsp = false;
        synth.booth = o.booth;
        yosys_s += synth.run(&yosys, dir, o.limit)?.seconds;
        stat = YosysStat::read(&dir.join(STAT_JSON))?;
        cells = Cells::from_types(family, &stat.design);
    }
    let core_cells = match stat.modules.get(TOP) {
        Some(t) if top != TOP => Cells::from_types(family, t),
        _ => cells.clone(),
    };

    // Fit checks before place and route.
    let psum_kbit = u64::from(cfg.cols)
        * u64::from(cfg.psum_banks)
        * u64::from(cfg.psum_depth)
        * u64::from(cfg.derived.acc_w)
        / 1024;
    fits(
        "block RAMs",
        cells.bram,
        dev.bram,
        &dev.name,
        if board_top {
            let lanes = 4 / crate::regs::sbuf_entry_bytes(cfg);
            let (sbuf, remedy) = match cfg.sbuf_layout {
                crate::config::SbufLayout::Partitioned => (
                    format!(
                        "the SBUF's (rows + cols) x {lanes} = {} lane memories, each at least \
                         one block RAM whatever --sbuf-depth",
                        (cfg.rows + cfg.cols) * lanes
                    ),
                    "--sbuf-layout packed (with --sbuf-depth 256 or less on the iCE40), a \
                     smaller array",
                ),
                crate::config::SbufLayout::Packed => (
                    format!(
                        "the packed SBUF's two memories of {} entries x {} and {} bits",
                        cfg.sbuf_depth,
                        cfg.cols * cfg.derived.data_w,
                        cfg.rows * cfg.derived.data_w
                    ),
                    "a smaller --sbuf-depth or array",
                ),
            };
            format!(
                " (the engine: {sbuf}; PSUM {} columns x {} banks x {} entries; the instruction \
                 queue; the bridge's word buffer): give {remedy}, or a device with more block RAM",
                cfg.cols, cfg.psum_banks, cfg.psum_depth
            )
        } else {
            format!(
                " (PSUM: {} columns x {} banks x {} entries x {} bits = {psum_kbit} kbit): give a \
                 smaller --psum-banks or --psum-depth",
                cfg.cols, cfg.psum_banks, cfg.psum_depth, cfg.derived.acc_w
            )
        },
    )?;
    fits(
        "logic cells (LUT4s before packing)",
        cells.logic(family),
        dev.logic,
        &dev.name,
        ": give a smaller array (--rows/--cols) or a larger device".into(),
    )?;
    fits(
        "flip-flops",
        cells.ff,
        dev.ffs,
        &dev.name,
        ": give a smaller array (--rows/--cols) or a larger device".into(),
    )?;

    // Place and route.
    // The board top runs at the oscillator, or at the PLL's achieved output: that is its
    // target unless --freq.
    let target = o.freq_mhz.unwrap_or_else(|| match (&pll, board_top) {
        (Some(p), _) => p.output_mhz(),
        (None, true) => board.clock.freq_mhz,
        (None, false) => board.default_target_mhz(),
    });
    let config_out = (packer.is_some()).then(|| match family {
        Family::Ice40 => "design.asc".to_string(),
        Family::Ecp5 => "design.config".to_string(),
    });
    let pnr = NextpnrRun {
        family,
        device: dev.nextpnr.clone(),
        package: board.package.clone(),
        speed: board.speed,
        json: NETLIST_JSON.into(),
        freq_mhz: target,
        pins,
        report: NEXTPNR_REPORT.into(),
        log: NEXTPNR_LOG.into(),
        output: config_out.clone(),
        seed: o.seed,
        router: o.router,
    };
    let nextpnr_s = pnr
        .run(&nextpnr, dir, o.limit)
        .map_err(|e| packed_too_large(e, dev.logic, &dev.name))?
        .seconds;
    let pnr_report = PnrReport::read(&dir.join(NEXTPNR_REPORT))?;

    // Bitstream.
    let mut logs = vec![YOSYS_LOG.to_string(), NEXTPNR_LOG.to_string()];
    let (pack_s, bitstream) = match (&packer, &config_out) {
        (Some(packer), Some(input)) => {
            let output = match family {
                Family::Ice40 => "design.bin",
                Family::Ecp5 => "design.bit",
            };
            let step = Pack {
                family,
                input: input.clone(),
                output: output.into(),
                log: PACK_LOG.into(),
            }
            .run(packer, dir, o.limit)?;
            logs.push(PACK_LOG.into());
            (Some(step.seconds), Some(output.to_string()))
        }
        _ => {
            if !bitstream_possible {
                notes.push("no bitstream out of context".into());
            }
            (None, None)
        }
    };

    // The iCE40 timing cross-check (icetime), when there is an .asc and icetime is installed.
    let icetime = match (family, config_out.as_deref()) {
        (Family::Ice40, Some(asc)) => match super::icetime::locate() {
            Some(exe) => {
                match super::icetime::run(&exe, dir, asc, &dev.nextpnr, &board.package, o.limit) {
                    Ok(t) => {
                        logs.push(super::icetime::REPORT.into());
                        Some(t)
                    }
                    Err(e) => {
                        notes.push(format!("no icetime cross-check: {e}"));
                        None
                    }
                }
            }
            None => {
                notes.push(
                    "no icetime cross-check: icetime is not installed (Debian package \
                     fpga-icestorm; scripts/setup.sh installs it)"
                        .into(),
                );
                None
            }
        },
        _ => None,
    };

    let clock = pnr_report.main_clock().cloned();
    let fmax = clock.as_ref().map(|c| c.achieved_mhz);
    let pll_report = pll.map(|p| super::report::PllReport::new(&p, o.pll_mhz.unwrap_or(0.0), fmax));
    let mut tools = std::collections::BTreeMap::new();
    tools.insert(yosys.tool.name().to_string(), yosys.version.clone());
    tools.insert(nextpnr.tool.name().to_string(), nextpnr.version.clone());
    if let Some(p) = &packer {
        tools.insert(p.tool.name().to_string(), p.version.clone());
    }
    let report = Report {
        design: cfg.name.clone(),
        config_hash: cfg.hash(),
        rows: cfg.rows,
        cols: cfg.cols,
        format: cfg.format.to_string(),
        acc_bits: cfg.acc_bits,
        psum_banks: cfg.psum_banks,
        psum_depth: cfg.psum_depth,
        pe_latency: cfg.pe_latency,
        primitives: cfg.primitives.to_string(),
        dsp_cols: cfg.dsp_cols,
        psum_split: cfg.psum_split,
        tile_cols: cfg.tile_cols,
        keep_tokens: cfg.keep_tokens,
        sbuf_depth: cfg.sbuf_depth,
        sbuf_layout: cfg.sbuf_layout.to_string(),
        board: board.name.clone(),
        family,
        device: dev.name.clone(),
        package: board.package.clone(),
        mode: if o.ooc { "out-of-context" } else { "board" }.into(),
        top,
        multipliers: if synth.dsp || (own_dsps && cfg.dsp_cols > 0) {
            "dsp"
        } else {
            "lut"
        }
        .into(),
        booth: synth.booth,
        target_mhz: target,
        fmax_mhz: fmax,
        timing_met: fmax.is_some_and(|f| f >= target),
        pll: pll_report,
        gops: fmax.map(|f| 2.0 * cfg.pes() as f64 * f / 1000.0),
        cells,
        core_cells,
        placed: Placed::from_report(family, &pnr_report),
        critical_path: pnr_report.critical_path.clone(),
        clocks: pnr_report.clocks.clone(),
        icetime,
        tools,
        times: Times {
            yosys_s,
            nextpnr_s,
            pack_s,
            total_s: start.elapsed().as_secs_f64(),
        },
        run_dir: dir.display().to_string(),
        netlist_json: NETLIST_JSON.into(),
        netlist_verilog: NETLIST_V.into(),
        bitstream,
        logs,
        notes,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| SynthError::Io {
        what: "serialising the report".into(),
        message: e.to_string(),
    })?;
    write_file(&dir.join(SUMMARY_JSON), &format!("{json}\n"))?;
    write_file(&dir.join(SUMMARY_TXT), &report.summary())?;
    Ok(report)
}

/// The partial products of a split LUT multiplier (`mul_lat` 3: two halves, 4: four quarters),
/// each a MULT18X18D with `--mult dsp`: their count per PE, and the blocks as the fit check
/// names them.
fn split_products(cfg: &Config) -> (u64, &'static str) {
    if cfg.derived.mul_lat > 3 {
        (
            4,
            "MULT18X18D (four per PE: pe_latency 5 splits each multiplier)",
        )
    } else {
        (
            2,
            "MULT18X18D (two per PE: pe_latency 4 splits each multiplier)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placer_overflow_is_reported_as_does_not_fit() {
        let failed = |message: &str| SynthError::ToolFailed {
            tool: "nextpnr-ice40",
            status: "exit status: 125".into(),
            log: "nextpnr.log".into(),
            message: message.into(),
        };
        let e = packed_too_large(
            failed("ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5332 ICESTORM_LCs"),
            5280,
            "up5k",
        );
        assert_eq!(
            e.to_string(),
            "does not fit: the design needs 5332 logic cells after packing, the up5k has 5280: \
             a smaller array or pe_latency, or a larger device"
        );
        let other = packed_too_large(failed("ERROR: something else"), 5280, "up5k");
        assert!(matches!(other, SynthError::ToolFailed { .. }));
    }
}
