//! [`Plan`]: every decision of a flow, taken from the configuration and the options before any
//! tool runs, and every refusal ("not supported", "does not fit" of blocks the RTL or the
//! options fix) before anything is written.

use crate::config::Config;
use crate::pll::{Pll, PllRequest};
use crate::rtl::board::BoardParams;
use crate::rtl::design::{Design, Level};
use crate::rtl::harness::{self, HarnessShape, CLOCK_PORT, SCAN_IN_PORT, SCAN_OUT_PORT};

use crate::synth::board::{Board, Family};
use crate::synth::nextpnr::PinConstraints;
use crate::synth::tool::Tool;
use crate::synth::SynthError;

use super::multipliers::MultiplierPlan;
use super::options::{SynthOptions, SynthTop};

/// What a flow places, and so which design level it synthesises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// ECP5 out of context: the bare core ([`crate::rtl::core::design`]) placed with nextpnr
    /// `--out-of-context`; no bitstream.
    BareCore,
    /// ECP5 out of context with [`SynthTop::Engine`]: the whole engine
    /// ([`crate::rtl::engine::design`], with `dma` its memory path) placed with nextpnr
    /// `--out-of-context`; no bitstream.
    BareEngine,
    /// iCE40 out of context: the core in the pin-limited harness ([`harness::design`]), its 3
    /// pins placed by nextpnr without a pin file.
    HarnessUnconstrained(HarnessShape),
    /// The harness on the board's clock pin and UART pins.
    HarnessOnPins(HarnessShape),
    /// The board top ([`crate::rtl::board::design`]) on the board's pins, with these parameters
    /// (its PLL among them).
    BoardTop(BoardParams),
}

impl Placement {
    /// The hardware level placed.
    pub fn level(&self) -> Level {
        match self {
            Placement::BareCore => Level::Core,
            Placement::BareEngine => Level::Engine,
            Placement::HarnessUnconstrained(_) | Placement::HarnessOnPins(_) => Level::Harness,
            Placement::BoardTop(_) => Level::Board,
        }
    }

    /// Whether nextpnr places it `--out-of-context` (no I/O buffers, no bitstream).
    pub fn out_of_context(&self) -> bool {
        matches!(self, Placement::BareCore | Placement::BareEngine)
    }

    /// The board top's parameters, when it is the board top.
    pub fn board_params(&self) -> Option<&BoardParams> {
        match self {
            Placement::BoardTop(p) => Some(p),
            _ => None,
        }
    }

    /// The board top's PLL, if it has one.
    pub fn pll(&self) -> Option<Pll> {
        self.board_params().and_then(|p| p.pll)
    }
}

/// The pins of the placed design.
#[derive(Debug, Clone, PartialEq)]
pub struct PinPlan {
    pub constraints: PinConstraints,
    /// The pin file to write into the run folder, `(name, text)`, with
    /// [`PinConstraints::File`].
    pub file: Option<(String, String)>,
}

/// The placed configuration nextpnr writes and the bitstream the packer makes of it (run
/// folder names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackPlan {
    /// `design.asc` (iCE40) or `design.config` (ECP5).
    pub config: &'static str,
    /// `design.bin` (iCE40) or `design.bit` (ECP5).
    pub bitstream: &'static str,
}

/// How `systolic synth --verify` checks the flow's netlist against the golden model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The netlist holds the core `systolic_top` (bare or in the harness): random programs on
    /// its ports ([`crate::synth::verify::verify`]).
    Core,
    /// The board top: random products through its UART pins, at the `CLKS_PER_BIT` it was
    /// built with ([`crate::synth::verify::verify_board`]).
    Uart,
    /// The engine `systolic_engine` out of context: products through its AXI4-Lite slave and,
    /// with `dma`, over the memory path behind its AXI4 master
    /// ([`crate::synth::verify_engine::verify_engine`]).
    Engine,
}

/// One flow, decided: [`Plan::new`] checks and decides everything, [`super::execute`] runs it.
#[derive(Debug, Clone)]
pub struct Plan {
    pub options: SynthOptions,
    pub placement: Placement,
    /// The design synthesised (its configuration is `design.config`).
    pub design: Design,
    pub multipliers: MultiplierPlan,
    pub pins: PinPlan,
    /// The place-and-route target, MHz.
    pub target_mhz: f64,
    /// The bitstream, when the options ask for one and the placement allows one.
    pub pack: Option<PackPlan>,
    /// What `--verify` checks.
    pub check: Check,
    /// What the report says of these decisions (the stages add theirs after them).
    pub notes: Vec<String>,
}

impl Plan {
    /// The plan for `cfg` with the options `o`: what cannot be done is an error here, before
    /// any tool is looked for and before the run folder is touched.
    pub fn new(cfg: &Config, o: &SynthOptions) -> Result<Plan, SynthError> {
        let mut notes = vec![];
        let multipliers = MultiplierPlan::new(cfg, o, &mut notes)?;
        if o.pll_mhz.is_some() && !o.board_top() {
            return Err(SynthError::Unsupported(
                "a PLL clocks the board top only: leave out --ooc and --top harness, or the PLL"
                    .into(),
            ));
        }
        let (placement, design) = placed(cfg, o)?;
        if let Some(note) = level_note(o, &placement) {
            notes.push(note);
        }
        let pins = pins(o, &placement, &mut notes)?;
        let target_mhz = o.freq_mhz.unwrap_or_else(|| match &placement {
            // The board top runs at the oscillator, or at the PLL's achieved output.
            Placement::BoardTop(p) => p.pll.map_or(o.board.clock.freq_mhz, |pll| pll.output_mhz()),
            _ => o.board.default_target_mhz(),
        });
        let pack = (o.pack && !placement.out_of_context()).then(|| match o.board.family() {
            Family::Ice40 => PackPlan {
                config: "design.asc",
                bitstream: "design.bin",
            },
            Family::Ecp5 => PackPlan {
                config: "design.config",
                bitstream: "design.bit",
            },
        });
        let check = match placement {
            Placement::BoardTop(_) => Check::Uart,
            Placement::BareEngine => Check::Engine,
            _ => Check::Core,
        };
        Ok(Plan {
            options: o.clone(),
            check,
            placement,
            design,
            multipliers,
            pins,
            target_mhz,
            pack,
            notes,
        })
    }

    /// The configuration synthesised.
    pub fn config(&self) -> &Config {
        &self.design.config
    }

    pub fn board(&self) -> &Board {
        &self.options.board
    }

    pub fn family(&self) -> Family {
        self.options.board.family()
    }

    /// The place-and-route tool and the packer of the board's family.
    pub fn tools(&self) -> (Tool, Tool) {
        match self.family() {
            Family::Ice40 => (Tool::NextpnrIce40, Tool::Icepack),
            Family::Ecp5 => (Tool::NextpnrEcp5, Tool::Ecppack),
        }
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
) -> Result<BoardParams, SynthError> {
    let low = |pin: &str| pin.ends_with("_N") || pin.ends_with("_n");
    let core_mhz = pll.map_or(board.clock.freq_mhz, |p| p.output_mhz());
    let mut p = BoardParams::new(core_mhz * 1e6, baud.max(1));
    p.pll = pll;
    p.clks_per_bit = crate::frame::uart_divider(core_mhz * 1e6, baud)?;
    p.button = board.pins.button.is_some();
    p.btn_active_low = board.pins.button.as_deref().is_some_and(low);
    p.leds = board.pins.leds.len() as u32;
    p.led_active_low = board.pins.leds.first().is_some_and(|l| low(l));
    // A blink period of 2^HEARTBEAT_W cycles, about 1.4 s at 12 MHz and 1.3 s at 25 MHz.
    p.heartbeat_w = (core_mhz * 1e6).log2().ceil() as u32;
    Ok(p)
}

/// What `o` places, and its design: the level's design for `cfg` (the board top's with its
/// clock: the PLL for `o.pll_mhz`, and its UART at `o.baud`).
fn placed(cfg: &Config, o: &SynthOptions) -> Result<(Placement, Design), SynthError> {
    Ok(match (o.ooc, o.board.family(), o.top) {
        (true, Family::Ecp5, SynthTop::Engine) => {
            (Placement::BareEngine, crate::rtl::engine::design(cfg))
        }
        (_, _, SynthTop::Engine) => return Err(engine_refusal(o)),
        (true, Family::Ecp5, _) => (Placement::BareCore, crate::rtl::core::design(cfg)),
        (true, Family::Ice40, _) => {
            let (design, shape) = harness::design(cfg);
            (Placement::HarnessUnconstrained(shape), design)
        }
        (false, _, SynthTop::Board) => {
            let pll = o.pll_mhz.map(|mhz| board_pll(&o.board, mhz)).transpose()?;
            let params = board_top_params(&o.board, o.baud, pll)?;
            let design = crate::rtl::board::design(cfg, &params);
            (Placement::BoardTop(params), design)
        }
        (false, _, SynthTop::Harness) => {
            let (design, shape) = harness::design(cfg);
            (Placement::HarnessOnPins(shape), design)
        }
    })
}

/// Why `o` cannot place the engine: only ECP5 out of context can.
fn engine_refusal(o: &SynthOptions) -> SynthError {
    SynthError::Unsupported(if o.ooc {
        format!(
            "--top engine on {} ({}): nextpnr-{} has no out-of-context mode and the engine's \
             ports (AXI4-Lite slave, AXI4 master) outnumber every package's pins; place the \
             engine on an ECP5 board (e.g. --board ulx3s-85f --ooc --top engine), or the core \
             here with --ooc alone",
            o.board.name,
            o.board.device.name,
            o.board.family()
        )
    } else {
        "--top engine places the engine out of context only (its AXI ports have no pins on \
         a board): add --ooc on an ECP5 board, or use --top board for the engine behind the \
         UART bridge"
            .into()
    })
}

/// What the report says of the design placed: the board top's clock, UART, button and LEDs, or
/// the harness's shape.
fn level_note(o: &SynthOptions, placement: &Placement) -> Option<String> {
    let board = &o.board;
    match placement {
        Placement::BareCore => None,
        Placement::BareEngine => Some(engine_note(&o.board.name)),
        Placement::BoardTop(p) => Some(format!(
            "board top systolic_board: the engine behind the UART bridge at {} baud \
             (CLKS_PER_BIT {} at {}), reset button {}, {} LED(s); \
             the core is flattened into the engine, so `core` figures are the whole design's",
            o.baud,
            p.clks_per_bit,
            match &p.pll {
                None => format!("the board's {} MHz, no PLL", board.clock.freq_mhz),
                Some(pll) => format!(
                    "the {} output, {} MHz from the board's {} MHz; reset until the PLL locks",
                    pll.kind.primitive(),
                    crate::rtl::board::clock::mhz_text(pll.output_mhz()),
                    board.clock.freq_mhz
                ),
            },
            if p.button {
                "synchronised"
            } else {
                "absent (power-on reset only)"
            },
            p.leds
        )),
        Placement::HarnessUnconstrained(shape) | Placement::HarnessOnPins(shape) => Some(format!(
            "the core sits in the pin-limited harness ({} pins: clk, scan_in, scan_out): \
             {}-bit input shift register, {} output bits folded (one-bit outputs registered first) into {} registered parities; \
             `core` figures are systolic_top alone, `total` and `placed` include the harness",
            3, shape.in_bits, shape.out_bits, shape.groups
        )),
    }
}

fn engine_note(board: &str) -> String {
    format!(
        "the engine systolic_engine out of context on the {board}'s device: core, SBUF, \
         instruction queue and sequencer, the AXI4-Lite slave and, with dma, the AXI4 master \
         (DMA, program fetch), ACTIVATE write-back and engine FIFOs; synthesised flat, so \
         `core` figures are the whole engine's"
    )
}

/// How the placed design's ports meet the board's pins, and the pin file to write.
fn pins(
    o: &SynthOptions,
    placement: &Placement,
    notes: &mut Vec<String>,
) -> Result<PinPlan, SynthError> {
    let board = &o.board;
    let family = board.family();
    let file = |pairs: &[(&str, &str)]| {
        let name = format!("pins.{}", family.pin_file_ext());
        PinPlan {
            constraints: PinConstraints::File(name.clone()),
            file: Some((name, board.pin_file_for(pairs))),
        }
    };
    let unconstrained = |constraints| PinPlan {
        constraints,
        file: None,
    };
    Ok(match placement {
        Placement::BareCore => {
            notes.push(
                "out of context: the bare core placed with nextpnr --out-of-context (no I/O \
                 buffers, no global clock routing, no bitstream); register-to-register timing only"
                    .into(),
            );
            unconstrained(PinConstraints::OutOfContext)
        }
        Placement::BareEngine => {
            notes.push(
                "out of context: the engine placed with nextpnr --out-of-context (no I/O \
                 buffers, no global clock routing, no bitstream); register-to-register timing \
                 only (the AXI ports' paths to and from other logic are not timed)"
                    .into(),
            );
            unconstrained(PinConstraints::OutOfContext)
        }
        Placement::HarnessUnconstrained(_) => {
            notes.push(format!(
                "out of context: nextpnr-{family} has no --out-of-context mode; the harness's 3 \
                 pins are placed by nextpnr without a pin file, so their placement means nothing"
            ));
            unconstrained(PinConstraints::Unconstrained)
        }
        Placement::BoardTop(_) => {
            let map = board_top_pins(board)?;
            let pairs: Vec<(&str, &str)> =
                map.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            file(&pairs)
        }
        Placement::HarnessOnPins(_) => {
            let (Some(rx), Some(tx)) = (&board.pins.uart_rx, &board.pins.uart_tx) else {
                return Err(SynthError::Unsupported(format!(
                    "board `{}` names no uart_rx and uart_tx pins for the harness's scan_in and \
                     scan_out: add them to its board file, or use --ooc",
                    board.name
                )));
            };
            let plan = file(&[
                (CLOCK_PORT, board.clock.pin.as_str()),
                (SCAN_IN_PORT, rx.as_str()),
                (SCAN_OUT_PORT, tx.as_str()),
            ]);
            notes.push(format!(
                "board: the harness on the board's pins (clk on {}, scan_in on {rx}, scan_out on \
                 {tx}): a bitstream that loads, not a usable engine (that is --top board)",
                board.clock.pin
            ));
            plan
        }
    })
}

/// The board top's ports on `board`'s pins, `(port, pin)`: the clock, the UART, the button and
/// the LEDs its board file names.
fn board_top_pins(board: &Board) -> Result<Vec<(String, String)>, SynthError> {
    let (Some(rx), Some(tx)) = (&board.pins.uart_rx, &board.pins.uart_tx) else {
        return Err(SynthError::Unsupported(format!(
            "board `{}` names no uart_rx and uart_tx pins for the board top's UART: add them to its board file",
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
    Ok(map)
}
