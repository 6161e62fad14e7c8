//! `systolic_board`: the top of a board design. Clock in, reset button, UART pins, status LEDs;
//! inside, a reset synchroniser, the UART receiver and transmitter ([`super::uart`]), the
//! protocol bridge ([`bridge`]) and the engine `systolic_engine` ([`super::engine`]).
//!
//! Timing contract:
//! - One clock domain. Without a PLL ([`BoardParams::pll`] `None`) everything runs at the
//!   board's oscillator (`clk`: 12 MHz on the iCEBreaker and the HX8K breakout, 25 MHz on the
//!   ULX3S). With one, `clk` (the oscillator) feeds only the clock module ([`super::clock`]:
//!   `SB_PLL40_PAD` / `SB_PLL40_CORE` / `EHXPLLL`) and everything else runs at its output
//!   `clk_core`. Either way `CLKS_PER_BIT = f_core / baud`, `f_core` the frequency the logic
//!   runs at (the oscillator's, or the PLL's achieved output).
//! - Reset: the button (`btn`, asynchronous, polarity `BTN_ACTIVE_LOW`) passes a 2-flop
//!   synchroniser; with a PLL so does its LOCK (`pll_locked`, asynchronous). While the button
//!   is pressed or (with a PLL) the synchronised LOCK is low, and for 15 cycles after the last
//!   of these ends (or after configuration, the flip-flops starting at 0 on an FPGA), `rst` (a
//!   register) is high. `rst` is the synchronous active-high reset of every level below; it is
//!   asserted and released on edges of the core clock only. A PLL that loses lock resets the
//!   design.
//! - UART: `uart_rx` goes straight to the receiver's own 2-flop synchroniser; `uart_tx` is the
//!   transmitter's register. Latencies: see [`super::uart`] and [`super::bridge`].
//! - LEDs (`led[LEDS-1:0]`, as many as the board has; functions of registers, polarity
//!   `LED_ACTIVE_LOW`): `led[0]` link error, on from the first NAK sent or frame dropped until
//!   reset; `led[1]` heartbeat, toggling every `2^(HEARTBEAT_W - 1)` cycles (design alive,
//!   clock running); `led[2]` on while the bridge receives, executes or answers a frame; any
//!   further LED off. A board without a button has no `btn` port (power-on reset only).
//! - The AXI4-Lite PROT inputs of the engine are tied to 0 (the engine ignores them).

use crate::config::Config;
use crate::pll::Pll;
use crate::verilog::*;

use super::design::{Design, Level};
use super::engine::ENGINE_TOP;
use super::models::SimModel;

pub mod bridge;
pub mod clock;
pub mod uart;

/// Name of the board top.
pub const BOARD_TOP: &str = "systolic_board";

/// `CLKS_PER_BIT` for a clock and baud rate: `f_clk / baud` rounded to the nearest integer.
pub fn clks_per_bit(clock_hz: f64, baud: u32) -> u32 {
    (clock_hz / f64::from(baud)).round() as u32
}

/// The board top's Verilog parameters, chosen by the flow or the simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardParams {
    /// Clock cycles per UART bit (at least 4).
    pub clks_per_bit: u32,
    pub btn_active_low: bool,
    pub led_active_low: bool,
    /// Bits of the heartbeat counter.
    pub heartbeat_w: u32,
    /// Whether the board has a reset button (port `btn`); without one, reset comes only from
    /// the power-on stretch.
    pub button: bool,
    /// LED pins (port `led`, `led[LEDS-1:0]`): led[0] link error, led[1] heartbeat, led[2] link
    /// active, the others off. 0: no LED port.
    pub leds: u32,
    /// The core clock from a PLL (the clock module [`super::clock`]); `None`: the oscillator.
    pub pll: Option<Pll>,
}

impl BoardParams {
    /// The board top `systolic generate --level board` writes without a board: a 12 MHz clock
    /// at [`crate::frame::DEFAULT_BAUD`] (`CLKS_PER_BIT` 104: instances override it), a button
    /// and 3 LEDs, active low, no PLL.
    pub fn generic() -> BoardParams {
        BoardParams::new(12e6, crate::frame::DEFAULT_BAUD)
    }

    /// For a board clock of `clock_hz` at `baud`; button and LEDs active low (iCEBreaker).
    pub fn new(clock_hz: f64, baud: u32) -> BoardParams {
        BoardParams {
            clks_per_bit: clks_per_bit(clock_hz, baud),
            btn_active_low: true,
            led_active_low: true,
            heartbeat_w: 24,
            button: true,
            leds: 3,
            pll: None,
        }
    }
}

fn led(e: Expr) -> Expr {
    cond(id("LED_ACTIVE_LOW").ne(int(0)), not(e.clone()), e)
}

/// The board top. Parameter defaults come from `p` (instances may override them).
pub fn module(p: &BoardParams) -> Module {
    assert!(p.clks_per_bit >= 4, "CLKS_PER_BIT must be at least 4");
    let engine_ports = super::engine::axil::axil_ports(true);
    // The core clock: the oscillator itself, or the PLL's output.
    let clk = if p.pll.is_some() { "clk_core" } else { "clk" };
    let mut items = p.pll.as_ref().map(pll_clock).unwrap_or_default();
    items.extend(reset(p, clk));
    items.extend(status_leds(clk));
    items.extend(uart(clk));
    items.extend(bridge(clk, &engine_ports));
    items.extend(led_pins(p));
    items.extend(engine(clk, &engine_ports));
    Module {
        name: BOARD_TOP.into(),
        doc: doc(p),
        params: params(p),
        ports: ports(p),
        items: hoist(items),
    }
}

/// An `always @(posedge clk)` block on the core clock `clk`.
fn clocked(clk: &str, body: Vec<Stmt>) -> Item {
    Item::Always {
        clock: clk.into(),
        body,
    }
}

/// The clock module: the PLL from the oscillator `clk` to `clk_core`, its lock `pll_locked`.
fn pll_clock(pll: &Pll) -> Vec<Item> {
    vec![
        comment("---- Core clock: the PLL ----"),
        wire("clk_core", None),
        wire("pll_locked", None),
        Item::Instance(Instance {
            module: clock::module_name(pll).into(),
            name: "u_clock".into(),
            params: vec![],
            ports: vec![
                ("clk_osc".into(), id("clk")),
                ("clk".into(), id("clk_core")),
                ("locked".into(), id("pll_locked")),
            ],
        }),
    ]
}

/// The reset: the button's (and with a PLL the lock's) 2-flop synchroniser, held while pressed
/// (or unlocked), stretched by 15 cycles in `rst_cnt`; `rst` a register.
fn reset(p: &BoardParams, clk: &str) -> Vec<Item> {
    let mut items = vec![];
    if p.pll.is_some() {
        items.extend([
            comment("---- Reset: button and PLL lock synchronisers and a 15-cycle stretch ----"),
            reg("lock_meta", None),
            reg("lock_sync", None),
            clocked(
                clk,
                vec![
                    nb(id("lock_meta"), id("pll_locked")),
                    nb(id("lock_sync"), id("lock_meta")),
                ],
            ),
        ]);
    } else {
        items.push(comment(
            "---- Reset: button synchroniser and a 15-cycle stretch ----",
        ));
    }
    // Reset is held while the button is pressed and, with a PLL, until it has locked.
    let hold = if p.pll.is_some() {
        id("btn_pressed").or(not(id("lock_sync")))
    } else {
        id("btn_pressed")
    };
    let button = if p.button {
        id("btn")
    } else {
        // No button: the level of a released one.
        cond(id("BTN_ACTIVE_LOW").ne(int(0)), bit(true), bit(false))
    };
    let cnt_full = || Expr::Unary(UnOp::RedAnd, Box::new(id("rst_cnt")));
    items.extend([
        reg("btn_meta", None),
        reg("btn_sync", None),
        reg("rst_cnt", bits(4)),
        reg("rst", None),
        wire_init(
            "btn_pressed",
            None,
            cond(
                id("BTN_ACTIVE_LOW").ne(int(0)),
                not(id("btn_sync")),
                id("btn_sync"),
            ),
        ),
        clocked(
            clk,
            vec![
                nb(id("btn_meta"), button),
                nb(id("btn_sync"), id("btn_meta")),
                if_else(
                    hold,
                    vec![nb(id("rst_cnt"), sized(4, 0))],
                    vec![if_(
                        not(cnt_full()),
                        vec![nb(id("rst_cnt"), id("rst_cnt").add(sized(4, 1)))],
                    )],
                ),
                nb(id("rst"), not(cnt_full())),
            ],
        ),
    ]);
    items
}

/// The heartbeat counter, the sticky link-error flag and the three status bits `led_status`
/// (link active, heartbeat, link error).
fn status_leds(clk: &str) -> Vec<Item> {
    vec![
        comment("---- Heartbeat and status LEDs ----"),
        reg("hb_cnt", w("HEARTBEAT_W")),
        reg("err_seen", None),
        clocked(
            clk,
            vec![
                nb(id("hb_cnt"), id("hb_cnt").add(sized(1, 1))),
                if_else(
                    id("rst"),
                    vec![nb(id("err_seen"), bit(false))],
                    vec![if_(id("link_err"), vec![nb(id("err_seen"), bit(true))])],
                ),
            ],
        ),
        wire_init(
            "led_status",
            bits(3),
            concat(vec![
                id("bridge_active"),
                id("hb_cnt").at(id("HEARTBEAT_W").sub(int(1))),
                id("err_seen"),
            ]),
        ),
    ]
}

/// The UART receiver and transmitter on the pins, and the nets to the bridge.
fn uart(clk: &str) -> Vec<Item> {
    let instance = |module: &str, name: &str, ports: [(&str, &str); 4]| {
        let mut conns = vec![("clk".to_string(), id(clk)), ("rst".to_string(), id("rst"))];
        conns.extend(ports.map(|(port, net)| (port.to_string(), id(net))));
        Item::Instance(Instance {
            module: module.into(),
            name: name.into(),
            params: vec![("CLKS_PER_BIT".into(), id("CLKS_PER_BIT"))],
            ports: conns,
        })
    };
    vec![
        comment("---- UART ----"),
        wire("rx_data", bits(8)),
        wire("rx_valid", None),
        wire("rx_err", None),
        wire("tx_data", bits(8)),
        wire("tx_valid", None),
        wire("tx_ready", None),
        wire("bridge_active", None),
        wire("link_err", None),
        instance(
            uart::RX,
            "u_rx",
            [
                ("rx", "uart_rx"),
                ("data", "rx_data"),
                ("valid", "rx_valid"),
                ("frame_err", "rx_err"),
            ],
        ),
        instance(
            uart::TX,
            "u_tx",
            [
                ("data", "tx_data"),
                ("valid", "tx_valid"),
                ("ready", "tx_ready"),
                ("tx", "uart_tx"),
            ],
        ),
    ]
}

/// The bridge, its AXI4-Lite master on the nets `s_axil_*` (the engine's slave ports, PROT
/// aside), its inter-byte timeout `TIMEOUT_CHARS` characters.
fn bridge(clk: &str, engine_ports: &[Port]) -> Vec<Item> {
    let mut items = vec![comment("---- Bridge: frames to AXI4-Lite ----")];
    // The AXI nets between the bridge (m_axil_*) and the engine (s_axil_*).
    for port in engine_ports.iter().filter(|p| !p.name.ends_with("prot")) {
        items.push(wire(&port.name, port.width.clone()));
    }
    let bridge = bridge::module();
    let mut bridge_ports = vec![];
    for port in &bridge.ports {
        let net = match port.name.as_str() {
            "active" => "bridge_active".to_string(),
            n if n.starts_with("m_axil_") => n.replacen("m_axil_", "s_axil_", 1),
            "clk" => clk.to_string(),
            n => n.to_string(),
        };
        bridge_ports.push((port.name.clone(), id(&net)));
    }
    items.push(Item::Instance(Instance {
        module: bridge.name.clone(),
        name: "u_bridge".into(),
        params: vec![(
            "TIMEOUT".into(),
            id("CLKS_PER_BIT").mul(int(10 * i64::from(crate::frame::TIMEOUT_CHARS))),
        )],
        ports: bridge_ports,
    }));
    items
}

/// The LED pins: the status bits first, the others off (the unused status bits waived).
fn led_pins(p: &BoardParams) -> Vec<Item> {
    let mut items = vec![];
    for i in 0..p.leds {
        let target = if p.leds == 1 {
            id("led")
        } else {
            id("led").at(int(i64::from(i)))
        };
        let value = if i < 3 {
            id("led_status").at(int(i64::from(i)))
        } else {
            bit(false)
        };
        items.push(assign(target, led(value)));
    }
    if p.leds < 3 {
        items.push(Item::LintOff {
            warning: "UNUSED",
            reason: format!("{} LED pin(s): the other status bits have no LED", p.leds),
            items: vec![wire_init("led_unused", None, red_or(id("led_status")))],
        });
    }
    items
}

/// The engine on the core clock and `rst`, its PROT inputs tied to 0.
fn engine(clk: &str, engine_ports: &[Port]) -> Vec<Item> {
    let mut conns = vec![("clk".to_string(), id(clk)), ("rst".to_string(), id("rst"))];
    for port in engine_ports {
        let e = if port.name.ends_with("prot") {
            sized(3, 0)
        } else {
            id(&port.name)
        };
        conns.push((port.name.clone(), e));
    }
    vec![
        comment("---- The engine ----"),
        Item::Instance(Instance {
            module: ENGINE_TOP.into(),
            name: "u_engine".into(),
            params: vec![],
            ports: conns,
        }),
    ]
}

fn doc(p: &BoardParams) -> Vec<String> {
    vec![
        "Board top: reset button synchroniser, UART 8N1 at clk / CLKS_PER_BIT baud, the".into(),
        "frame bridge (docs/uart-protocol.md) and the engine; LEDs: heartbeat, link active,".into(),
        match &p.pll {
            None => {
                "link error (sticky until reset). One clock domain, the board's oscillator.".into()
            }
            Some(pll) => format!(
                "link error (sticky until reset). One clock domain, clk_core: the {} output \
                 ({} MHz from {} MHz), reset until it locks.",
                pll.kind.primitive(),
                clock::mhz_text(pll.output_mhz()),
                clock::mhz_text(pll.input_mhz())
            ),
        },
    ]
}

fn params(p: &BoardParams) -> Vec<Param> {
    [
        Some(param(
            "CLKS_PER_BIT",
            i64::from(p.clks_per_bit),
            "clk / baud, at least 4",
        )),
        Some(param(
            "BTN_ACTIVE_LOW",
            i64::from(p.btn_active_low),
            "1: the reset button reads 0 when pressed",
        )),
        (p.leds > 0).then(|| {
            param(
                "LED_ACTIVE_LOW",
                i64::from(p.led_active_low),
                "1: an LED lights when its pin is 0",
            )
        }),
        Some(param(
            "HEARTBEAT_W",
            i64::from(p.heartbeat_w),
            "the heartbeat LED toggles every 2^(HEARTBEAT_W-1) cycles",
        )),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn ports(p: &BoardParams) -> Vec<Port> {
    let mut ports = vec![input("clk", None, "the board's oscillator")];
    if p.button {
        ports.push(input("btn", None, "reset button (asynchronous)"));
    }
    ports.push(input("uart_rx", None, "from the host (asynchronous)"));
    ports.push(output("uart_tx", None, "to the host"));
    if p.leds > 0 {
        ports.push(output(
            "led",
            bits(p.leds),
            "[0] link error, [1] heartbeat, [2] link active, others off",
        ));
    }
    ports
}

/// Every module of the board design of `cfg`, leaves first: the engine's, the UART, the bridge
/// and the board top.
pub fn design(cfg: &Config, p: &BoardParams) -> Design {
    let mut d = super::engine::design(cfg);
    d.level = Level::Board;
    d.modules
        .extend([uart::rx_module(), uart::tx_module(), bridge::module()]);
    d.modules.extend(p.pll.as_ref().map(clock::module));
    if p.pll.is_some() {
        d.need_model(SimModel::Pll);
    }
    d.modules.push(module(p));
    d
}
