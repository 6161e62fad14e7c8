//! `systolic_uart_rx` and `systolic_uart_tx`: an 8N1 UART (one start bit, 8 data bits least
//! significant first, one stop bit, no parity) at `clk / CLKS_PER_BIT` baud.
//!
//! Timing contract of the receiver `systolic_uart_rx`:
//! - `rx` is asynchronous: it passes a 2-flop synchroniser (`rx_meta`, `rx_sync`, both reset to
//!   the idle level 1) before any logic sees it, so the receiver's view lags the pin by 2 cycles.
//! - A falling edge of the synchronised line starts a character; the start bit is checked again
//!   at its middle (`CLKS_PER_BIT / 2` cycles after the edge was seen; a line high again there
//!   was a glitch and is ignored), then each data bit and the stop bit are sampled once, every
//!   `CLKS_PER_BIT` cycles from that middle: mid-bit sampling tolerates a baud mismatch of up to about 1/20 over a
//!   character.
//! - `valid` (registered) is high for exactly one cycle, `data` (registered) holds the byte from
//!   that cycle until the next character's end: at the middle of the stop bit, 9.5 bit times
//!   (plus about 3 cycles: synchroniser and edge detection) after the start edge reaches `rx`.
//! - A stop bit sampled low is a framing error: `frame_err` (registered) pulses for one cycle
//!   instead of `valid`, and the byte is dropped. After the stop bit's middle the receiver waits
//!   for the next falling edge, so characters may follow back to back. No handshake: the
//!   consumer takes the byte in the cycle of `valid` (there is no overrun state to clear).
//!
//! Timing contract of the transmitter `systolic_uart_tx`:
//! - `ready = !busy` (a register, no combinational path from `valid`). A byte is taken in the
//!   cycle `valid && ready`; from the next edge `tx` (a register, idle 1) drives the start bit,
//!   the 8 data bits and the stop bit for `CLKS_PER_BIT` cycles each; `ready` rises again
//!   `10 * CLKS_PER_BIT` cycles after the byte was taken, and a byte waiting with `valid` is
//!   taken at the edge after that: back-to-back bytes start `10 * CLKS_PER_BIT + 1` cycles
//!   apart (the stop bit lasts one cycle more than a bit time; measured by the board campaign's
//!   line, `crate::cosim::board_checks`).
//! - Reset (synchronous, active high): receiver idle, transmitter idle with `tx = 1`.
//!
//! `CLKS_PER_BIT` (a Verilog parameter, at least 4) is `f_clk / baud` rounded to the nearest
//! integer: 104 for 115200 baud at 12 MHz, 217 at 25 MHz. The bit counters are
//! `$clog2(CLKS_PER_BIT)` bits wide and compared zero-extended to 32 bits with the parameter.

use crate::verilog::*;

/// Name of the receiver module.
pub const RX: &str = "systolic_uart_rx";
/// Name of the transmitter module.
pub const TX: &str = "systolic_uart_tx";

/// Default `CLKS_PER_BIT` of the modules (overridden by every instance).
pub const DEFAULT_CLKS_PER_BIT: i64 = 104;

/// `{ {(32 - W){1'b0}}, name }`: a counter of the parameterised width `W` as a 32-bit value,
/// so that it compares with an integer parameter expression without a width warning.
pub(crate) fn zext32(name: &str, w: &str) -> Expr {
    concat(vec![repeat(int(32).sub(id(w)), sized(1, 0)), id(name)])
}

fn cpb_param() -> Param {
    param(
        "CLKS_PER_BIT",
        DEFAULT_CLKS_PER_BIT,
        "clock cycles per bit: f_clk / baud, at least 4",
    )
}

/// Receiver states (2 bits).
fn rx_state(s: u64) -> Expr {
    sized(2, s)
}
const RX_IDLE: u64 = 0;
const RX_START: u64 = 1;
const RX_DATA: u64 = 2;
const RX_STOP: u64 = 3;

/// The receiver.
pub fn rx_module() -> Module {
    let st = |s| id("state").eq(rx_state(s));
    let items = vec![
        Item::Localparam("CW".into(), clog2(id("CLKS_PER_BIT"))),
        reg("rx_meta", None),
        reg("rx_sync", None),
        reg("state", bits(2)),
        reg("cnt", w("CW")),
        reg("nbit", bits(3)),
        reg("shift", bits(8)),
        wire_init(
            "bit_end",
            None,
            zext32("cnt", "CW").eq(id("CLKS_PER_BIT").sub(int(1))),
        ),
        wire_init(
            "half",
            None,
            zext32("cnt", "CW").eq(id("CLKS_PER_BIT").div(int(2)).sub(int(1))),
        ),
        comment("2-flop synchroniser: the only logic that sees the asynchronous pin."),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("rx_meta"), bit(true)), nb(id("rx_sync"), bit(true))],
            vec![
                nb(id("rx_meta"), id("rx")),
                nb(id("rx_sync"), id("rx_meta")),
            ],
        )]),
        comment("Start edge, start-bit check at its middle, then one sample per bit time."),
        always(vec![
            nb(id("valid"), bit(false)),
            nb(id("frame_err"), bit(false)),
            if_else(
                id("rst"),
                vec![
                    nb(id("state"), rx_state(RX_IDLE)),
                    nb(id("cnt"), zeros(id("CW"))),
                    nb(id("nbit"), sized(3, 0)),
                ],
                vec![if_else(
                    st(RX_IDLE),
                    vec![
                        nb(id("cnt"), zeros(id("CW"))),
                        if_(
                            not(id("rx_sync")),
                            vec![nb(id("state"), rx_state(RX_START))],
                        ),
                    ],
                    vec![if_else(
                        st(RX_START),
                        vec![if_else(
                            id("half"),
                            vec![
                                nb(id("cnt"), zeros(id("CW"))),
                                nb(id("nbit"), sized(3, 0)),
                                nb(
                                    id("state"),
                                    cond(id("rx_sync"), rx_state(RX_IDLE), rx_state(RX_DATA)),
                                ),
                            ],
                            vec![nb(id("cnt"), id("cnt").add(sized(1, 1)))],
                        )],
                        vec![if_else(
                            id("bit_end"),
                            vec![
                                nb(id("cnt"), zeros(id("CW"))),
                                if_else(
                                    st(RX_DATA),
                                    vec![
                                        nb(
                                            id("shift"),
                                            concat(vec![
                                                id("rx_sync"),
                                                id("shift").slice(int(7), int(1)),
                                            ]),
                                        ),
                                        nb(id("nbit"), id("nbit").add(sized(3, 1))),
                                        if_(
                                            id("nbit").eq(sized(3, 7)),
                                            vec![nb(id("state"), rx_state(RX_STOP))],
                                        ),
                                    ],
                                    vec![
                                        comment_stmt("stop bit: a 0 here is a framing error"),
                                        nb(id("state"), rx_state(RX_IDLE)),
                                        nb(id("valid"), id("rx_sync")),
                                        nb(id("frame_err"), not(id("rx_sync"))),
                                    ],
                                ),
                            ],
                            vec![nb(id("cnt"), id("cnt").add(sized(1, 1)))],
                        )],
                    )],
                )],
            ),
        ]),
        always(vec![if_(
            id("bit_end").and(st(RX_STOP)).and(id("rx_sync")),
            vec![nb(id("data"), id("shift"))],
        )]),
    ];
    Module {
        name: RX.into(),
        doc: vec![
            "UART receiver, 8N1: 2-flop synchroniser on rx, start bit checked at its middle, one"
                .into(),
            "sample per bit at mid-bit. valid (1 cycle) with data at the middle of the stop bit;"
                .into(),
            "a stop bit sampled low pulses frame_err instead and drops the byte.".into(),
        ],
        params: vec![cpb_param()],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("rx", None, "asynchronous serial input, idle 1"),
            output_reg("data", bits(8), "the last byte received"),
            output_reg("valid", None, "one cycle per byte received"),
            output_reg(
                "frame_err",
                None,
                "one cycle per character with a low stop bit",
            ),
        ],
        items: hoist(items),
    }
}

/// The transmitter.
pub fn tx_module() -> Module {
    let items = vec![
        Item::Localparam("CW".into(), clog2(id("CLKS_PER_BIT"))),
        reg("busy", None),
        reg("cnt", w("CW")),
        reg("nbit", bits(4)),
        reg("shift", bits(9)),
        wire_init(
            "bit_end",
            None,
            zext32("cnt", "CW").eq(id("CLKS_PER_BIT").sub(int(1))),
        ),
        assign(id("ready"), not(id("busy"))),
        comment("shift holds {stop, data[7:1..]} still to send; tx holds the bit on the line."),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("busy"), bit(false)),
                nb(id("tx"), bit(true)),
                nb(id("cnt"), zeros(id("CW"))),
                nb(id("nbit"), sized(4, 0)),
            ],
            vec![if_else(
                not(id("busy")),
                vec![if_(
                    id("valid"),
                    vec![
                        nb(id("busy"), bit(true)),
                        nb(id("tx"), bit(false)),
                        nb(id("shift"), concat(vec![bit(true), id("data")])),
                        nb(id("cnt"), zeros(id("CW"))),
                        nb(id("nbit"), sized(4, 0)),
                    ],
                )],
                vec![if_else(
                    id("bit_end"),
                    vec![
                        nb(id("cnt"), zeros(id("CW"))),
                        nb(id("nbit"), id("nbit").add(sized(4, 1))),
                        if_else(
                            id("nbit").eq(sized(4, 9)),
                            vec![nb(id("busy"), bit(false))],
                            vec![
                                nb(id("tx"), id("shift").at(int(0))),
                                nb(
                                    id("shift"),
                                    concat(vec![bit(true), id("shift").slice(int(8), int(1))]),
                                ),
                            ],
                        ),
                    ],
                    vec![nb(id("cnt"), id("cnt").add(sized(1, 1)))],
                )],
            )],
        )]),
    ];
    Module {
        name: TX.into(),
        doc: vec![
            "UART transmitter, 8N1: a byte is taken when valid && ready, the start bit leaves at"
                .into(),
            "the next edge; ready rises again 10 * CLKS_PER_BIT cycles later.".into(),
        ],
        params: vec![cpb_param()],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("data", bits(8), "byte to send"),
            input("valid", None, ""),
            output("ready", None, "idle: a byte is taken in a cycle with valid"),
            output_reg("tx", None, "serial output, idle 1"),
        ],
        items: hoist(items),
    }
}

fn comment_stmt(text: &str) -> Stmt {
    Stmt::Comment(text.into())
}
