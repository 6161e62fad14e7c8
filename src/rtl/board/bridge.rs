//! `systolic_uart_bridge`: parses request frames of the serial protocol
//! ([`crate::frame`], `docs/uart-protocol.md`) from the UART receiver, performs them as
//! AXI4-Lite transactions on the engine's slave, and answers each with one response frame to the
//! UART transmitter.
//!
//! Timing contract:
//! - Bytes in: `rx_valid` is a one-cycle strobe (the receiver's), taken in that cycle; there is
//!   no back-pressure towards the line. Bytes arriving while a frame is being executed or
//!   answered are dropped (the host sends one frame and waits for its answer).
//! - Bytes out: `tx_valid`/`tx_data` are combinational from registers (state, counters, the
//!   response registers, the word buffer) and stay stable until `tx_ready`; a byte leaves in
//!   the cycle `tx_valid && tx_ready`.
//! - A request is executed only after its last byte arrived and its CRC matched: the cycle after
//!   the second CRC byte decides (CRC, command, length; a WRITE whose SEQ equals the SEQ of the
//!   last executed frame is a retry: not executed again, answered with the stored response).
//!   The AXI master has one transaction outstanding; per word a write holds AWVALID and WVALID
//!   (registers) until each is accepted, then takes B with `BREADY = 1`; a read holds ARVALID
//!   until accepted, then takes R with `RREADY = 1`. Addresses advance by 4 per word. With the
//!   engine's slave (AW, W and AR accepted at once, B one cycle after AW+W, R one cycle after
//!   AR) a word costs 2 cycles, so a burst of n words executes in about 2n + 1 cycles,
//!   negligible against the line (one character is 10 * CLKS_PER_BIT cycles).
//! - The response starts the cycle after the last AXI response; its bytes follow back to back
//!   at the transmitter's pace.
//! - A frame in progress is dropped (back to hunting for SYNC, no answer) on a framing error or
//!   when no byte arrives for `TIMEOUT` cycles; a LEN larger than a request can be drops the
//!   frame at once.
//! - Registered outputs: the AXI valids, `link_err` (one cycle per NAK sent or frame dropped);
//!   `active` is `state != HUNT` (combinational from the state register).
//! - Reset (synchronous, active high): hunting, no AXI valid, no executed frame remembered.
//!
//! The word buffer (`MAX_BURST` x 32 bits, read asynchronously) holds a WRITE's data and a
//! READ's results; nothing else is buffered, so a request's bytes cost no memory beyond it.
//!
//! The builder follows the hardware: the registers, the request decode, the AXI master's
//! outputs, the response bytes, then the one state machine as arms grouped by part (the frame
//! receiver, the frame check, the bus transaction, the response sender), the inter-byte timer
//! and the word buffer's write port; each function returns its part in the generated order.

use crate::frame::{
    CMD_NAK, CMD_READ, CMD_WRITE, MAX_BURST, MAX_REQUEST_LEN, NAK_BAD_REQUEST, NAK_CRC,
    REQUEST_HEAD, RESPONSE_BIT, SYNC,
};
use crate::verilog::*;

use super::uart::zext32;

/// Name of the bridge module.
pub const BRIDGE: &str = "systolic_uart_bridge";

/// Default inter-byte timeout of the module in cycles (every instance sets it).
pub const DEFAULT_TIMEOUT: i64 = 266_240;

/// The bridge's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Hunt = 0,
    Cmd,
    Seq,
    Len,
    Pay,
    CrcHi,
    CrcLo,
    Check,
    AxiW,
    AxiB,
    AxiAr,
    AxiR,
    TxHead,
    TxData,
    TxCrcHi,
    TxCrcLo,
}

const ST_W: u32 = 4;

fn s(st: St) -> Expr {
    sized(ST_W, st as u64)
}
fn is(st: St) -> Expr {
    id("state").eq(s(st))
}
fn go(st: St) -> Stmt {
    nb(id("state"), s(st))
}
fn byte(v: u8) -> Expr {
    sized(8, u64::from(v))
}

/// `if (c0) a0 else if (c1) a1 ... else default`.
fn chain(arms: Vec<(Expr, Vec<Stmt>)>, default: Vec<Stmt>) -> Stmt {
    let mut out = default;
    for (c, body) in arms.into_iter().rev() {
        out = vec![if_else(c, body, out)];
    }
    out.pop().expect("at least one arm")
}

/// Wires computing `{prefix}_next = CRC-16/CCITT-FALSE(crc, byte)`: 8 unrolled shift steps
/// (the same as [`crate::frame::crc16_update`]).
fn crc_step(prefix: &str, crc: Expr, data: Expr) -> Vec<Item> {
    let n = |i: u32| format!("{prefix}_s{i}");
    let mut items = vec![wire_init(
        &n(0),
        bits(16),
        crc.bit_xor(concat(vec![data, sized(8, 0)])),
    )];
    for i in 1..=8 {
        let prev = id(&n(i - 1));
        items.push(wire_init(
            &n(i),
            bits(16),
            concat(vec![prev.clone().slice(int(14), int(0)), bit(false)]).bit_xor(cond(
                prev.at(int(15)),
                sized(16, 0x1021),
                sized(16, 0),
            )),
        ));
    }
    items.push(wire_init(&format!("{prefix}_next"), bits(16), id(&n(8))));
    items
}

/// Word buffer index bits.
const WORD_W: u32 = MAX_BURST.trailing_zeros();

/// `wbuf[index[hi:lo]]`.
fn wbuf_at(index: &str, hi: u32, lo: u32) -> Expr {
    Expr::Index(
        Box::new(id("wbuf")),
        Box::new(id(index).slice(int(i64::from(hi)), int(i64::from(lo)))),
    )
}

/// A byte in state `st`.
fn rx(st: St) -> Expr {
    id("rx_valid").and(is(st))
}

/// The current word is the burst's last.
fn last_word() -> Expr {
    id("widx").add(sized(5, 1)).eq(id("nwords"))
}

/// The burst's accumulated response with this word's (`m_axil_bresp` or `m_axil_rresp`).
fn acc_resp(resp: &str) -> Expr {
    id("resp_acc").bit_or(id(resp))
}

/// Enter the response: `nak` selects a NAK, `first` its first payload byte (the reason, or the
/// RESP byte).
fn respond(nak: bool, first: Expr) -> Vec<Stmt> {
    vec![
        nb(id("nak"), bit(nak)),
        nb(id("rbyte0"), first),
        nb(id("tcnt"), sized(3, 0)),
        go(St::TxHead),
    ]
}

/// Answer a NAK with `reason` and report a link error.
fn nak(reason: u8) -> Vec<Stmt> {
    let mut v = respond(true, byte(reason));
    v.push(nb(id("link_err"), bit(true)));
    v
}

/// The RESP byte of a response: 6 zero bits and a 2-bit AXI response.
fn resp_byte(resp: Expr) -> Expr {
    concat(vec![sized(6, 0), resp])
}

pub fn module() -> Module {
    assert!(MAX_BURST.is_power_of_two());
    let mut items = registers();
    items.extend(request_decode());
    items.extend(axi_master());
    items.extend(response_bytes());
    items.extend(state_machine());
    items.extend(idle_timer());
    items.extend(word_buffer());
    Module {
        name: BRIDGE.into(),
        doc: vec![
            "UART-to-AXI4-Lite bridge: request frames (SYNC CMD SEQ LEN PAYLOAD CRC16) in, one"
                .into(),
            "AXI4-Lite transaction per word, one response frame out. Executes a request only"
                .into(),
            "after its CRC matched; a WRITE repeating the last SEQ is answered, not re-executed."
                .into(),
            "See docs/uart-protocol.md.".into(),
        ],
        params: vec![param(
            "TIMEOUT",
            DEFAULT_TIMEOUT,
            "cycles of silence that drop a frame in progress",
        )],
        ports: ports(),
        items: hoist(items),
    }
}

/// The bridge's registers: the state, the request's fields as they arrive (`cmd_r`, `seq_r`,
/// `len_r`, `addr_r`, `arg_r`, the payload count `pcnt`, the write-data shifter `wsh`, the
/// running and received CRC), the burst (`nwords`, `widx`, `resp_acc`), the last executed
/// frame (`last_*`), the response (`nak`, `rbyte0`, byte counters `tcnt`/`dcnt`, `crc_tx`),
/// the inter-byte timer and the word buffer.
fn registers() -> Vec<Item> {
    vec![
        reg("state", bits(ST_W)),
        reg("cmd_r", bits(8)),
        reg("seq_r", bits(8)),
        reg("len_r", bits(8)),
        reg("pcnt", bits(8)),
        reg("addr_r", bits(32)),
        reg("arg_r", bits(8)),
        reg("wsh", bits(24)),
        reg("crc_rx", bits(16)),
        reg("crc_hi_r", bits(8)),
        reg("crc_ok", None),
        reg("nwords", bits(5)),
        reg("widx", bits(5)),
        reg("resp_acc", bits(2)),
        reg("last_seq", bits(8)),
        reg("last_valid", None),
        reg("last_resp", bits(2)),
        reg("nak", None),
        reg("rbyte0", bits(8)),
        reg("tcnt", bits(3)),
        reg("dcnt", bits(7)),
        reg("crc_tx", bits(16)),
        Item::Localparam("TW".into(), clog2(id("TIMEOUT").add(int(1)))),
        reg("idle_cnt", w("TW")),
        memory("wbuf", bits(32), int(i64::from(MAX_BURST))),
    ]
}

/// The request's decode (combinational, from the received fields): READ/WRITE, the WRITE's data
/// length `dlen`, the payload byte's data index `pidx`, whether the request is well formed
/// (`read_ok`, `write_ok`), a retried WRITE (`retry`), the inter-byte timeout, `receiving`, and
/// the receive CRC's next value `crx_next`.
fn request_decode() -> Vec<Item> {
    let req_head = sized(8, u64::from(REQUEST_HEAD));
    let receiving = [St::Cmd, St::Seq, St::Len, St::Pay, St::CrcHi, St::CrcLo]
        .into_iter()
        .map(is)
        .reduce(|a, b| a.or(b))
        .expect("states");
    let mut items = vec![
        comment("---- Request decode ----"),
        wire_init("is_read", None, id("cmd_r").eq(byte(CMD_READ))),
        wire_init("is_write", None, id("cmd_r").eq(byte(CMD_WRITE))),
        comment("Data bytes of a WRITE (LEN - 5) and the word they are part of."),
        wire_init(
            "dlen",
            bits(7),
            id("len_r")
                .slice(int(6), int(0))
                .sub(sized(7, u64::from(REQUEST_HEAD))),
        ),
        wire_init(
            "pidx",
            bits(6),
            id("pcnt")
                .slice(int(5), int(0))
                .sub(sized(6, u64::from(REQUEST_HEAD))),
        ),
        wire_init(
            "read_ok",
            None,
            id("is_read")
                .and(id("len_r").eq(req_head.clone()))
                .and(id("arg_r").ne(sized(8, 0)))
                .and(id("arg_r").lt(sized(8, u64::from(MAX_BURST) + 1))),
        ),
        wire_init(
            "write_ok",
            None,
            id("is_write")
                .and(id("len_r").gt(req_head))
                .and(id("dlen").slice(int(1), int(0)).eq(sized(2, 0))),
        ),
        wire_init(
            "retry",
            None,
            id("last_valid").and(id("seq_r").eq(id("last_seq"))),
        ),
        wire_init(
            "timeout",
            None,
            zext32("idle_cnt", "TW").eq(id("TIMEOUT").sub(int(1))),
        ),
        wire_init("receiving", None, receiving),
    ];
    items.extend(crc_step("crx", id("crc_rx"), id("rx_data")));
    items
}

/// The AXI4-Lite master's combinational outputs: the word's address (`addr_r + 4 * widx`), data
/// (the word buffer) and strobes (ARG's low bits), BREADY/RREADY in the states that wait for
/// B/R; `aw_done`/`w_done` once each address/data beat is accepted.
fn axi_master() -> Vec<Item> {
    vec![
        comment("---- AXI4-Lite master: one word at a time ----"),
        assign(
            id("m_axil_awaddr"),
            id("addr_r").add(concat(vec![sized(25, 0), id("widx"), sized(2, 0)])),
        ),
        assign(id("m_axil_araddr"), id("m_axil_awaddr")),
        assign(id("m_axil_wdata"), wbuf_at("widx", WORD_W - 1, 0)),
        assign(id("m_axil_wstrb"), id("arg_r").slice(int(3), int(0))),
        assign(id("m_axil_bready"), is(St::AxiB)),
        assign(id("m_axil_rready"), is(St::AxiR)),
        wire_init(
            "aw_done",
            None,
            not(id("m_axil_awvalid")).or(id("m_axil_awready")),
        ),
        wire_init(
            "w_done",
            None,
            not(id("m_axil_wvalid")).or(id("m_axil_wready")),
        ),
    ]
}

/// The response sender's bytes: the head (SYNC, CMD, SEQ, LEN, first payload byte), a READ's
/// data bytes from the word buffer, the CRC; `tx_valid` in the sending states; the transmit
/// CRC's next value `ctx_next`; `active`.
fn response_bytes() -> Vec<Item> {
    let tcnt_is = |v: u64| id("tcnt").eq(sized(3, v));
    let mut items = vec![
        comment("---- Response bytes ----"),
        wire_init("tx_read", None, not(id("nak")).and(id("is_read"))),
        wire_init(
            "rcmd",
            bits(8),
            cond(
                id("nak"),
                byte(CMD_NAK),
                id("cmd_r").bit_or(byte(RESPONSE_BIT)),
            ),
        ),
        wire_init("dbytes", bits(7), concat(vec![id("nwords"), sized(2, 0)])),
        wire_init(
            "rlen",
            bits(8),
            cond(
                id("tx_read"),
                concat(vec![sized(1, 0), id("dbytes")]).add(sized(8, 1)),
                sized(8, 1),
            ),
        ),
        wire_init("tword", bits(32), wbuf_at("dcnt", WORD_W + 1, 2)),
        wire_init(
            "head_byte",
            bits(8),
            cond(
                tcnt_is(0),
                byte(SYNC),
                cond(
                    tcnt_is(1),
                    id("rcmd"),
                    cond(
                        tcnt_is(2),
                        id("seq_r"),
                        cond(tcnt_is(3), id("rlen"), id("rbyte0")),
                    ),
                ),
            ),
        ),
        assign(
            id("tx_data"),
            cond(
                is(St::TxHead),
                id("head_byte"),
                cond(
                    is(St::TxData),
                    id("tword").part(
                        concat(vec![id("dcnt").slice(int(1), int(0)), sized(3, 0)]),
                        int(8),
                    ),
                    cond(
                        is(St::TxCrcHi),
                        id("crc_tx").slice(int(15), int(8)),
                        id("crc_tx").slice(int(7), int(0)),
                    ),
                ),
            ),
        ),
        assign(
            id("tx_valid"),
            is(St::TxHead)
                .or(is(St::TxData))
                .or(is(St::TxCrcHi))
                .or(is(St::TxCrcLo)),
        ),
        wire_init("tx_fire", None, id("tx_valid").and(id("tx_ready"))),
        wire_init(
            "tx_crc_byte",
            None,
            is(St::TxHead)
                .and(id("tcnt").ne(sized(3, 0)))
                .or(is(St::TxData)),
        ),
    ];
    items.extend(crc_step("ctx", id("crc_tx"), id("tx_data")));
    items.push(assign(id("active"), not(is(St::Hunt))));
    items
}

/// The state machine: one `if ... else if` over the states, in the order of a frame's life:
/// the frame receiver, the drop of a broken frame, the check, the bus transactions, the
/// response sender. `link_err` is a one-cycle pulse.
fn state_machine() -> Vec<Item> {
    let mut arms = frame_receiver();
    arms.push((
        id("receiving").and(id("rx_err").or(id("timeout"))),
        vec![
            Stmt::Comment("framing error or silence inside a frame: drop it".into()),
            nb(id("link_err"), bit(true)),
            go(St::Hunt),
        ],
    ));
    arms.push(frame_check());
    arms.extend(bus_transaction());
    arms.extend(response_sender());
    vec![
        comment("---- The state machine (see docs/uart-protocol.md) ----"),
        always(vec![
            nb(id("link_err"), bit(false)),
            if_else(
                id("rst"),
                vec![
                    go(St::Hunt),
                    nb(id("m_axil_awvalid"), bit(false)),
                    nb(id("m_axil_wvalid"), bit(false)),
                    nb(id("m_axil_arvalid"), bit(false)),
                    nb(id("last_valid"), bit(false)),
                ],
                vec![chain(arms, vec![])],
            ),
        ]),
    ]
}

/// The frame receiver's arms: SYNC hunt, the header bytes (CMD, SEQ, LEN: a LEN larger than any
/// request drops the frame), the payload, the two CRC bytes (the second sets `crc_ok`).
fn frame_receiver() -> Vec<(Expr, Vec<Stmt>)> {
    // A header byte: stored, folded into the CRC; then the next state.
    let header = |r: &str, next: Vec<Stmt>| {
        let mut v = vec![nb(id(r), id("rx_data")), nb(id("crc_rx"), id("crx_next"))];
        v.extend(next);
        v
    };
    let after_len = vec![
        nb(id("pcnt"), sized(8, 0)),
        chain(
            vec![
                (
                    id("rx_data").gt(sized(8, u64::from(MAX_REQUEST_LEN))),
                    vec![
                        Stmt::Comment("longer than any request: drop".into()),
                        nb(id("link_err"), bit(true)),
                        go(St::Hunt),
                    ],
                ),
                (id("rx_data").eq(sized(8, 0)), vec![go(St::CrcHi)]),
            ],
            vec![go(St::Pay)],
        ),
    ];
    vec![
        (
            rx(St::Hunt),
            vec![
                nb(id("crc_rx"), sized(16, 0xFFFF)),
                if_(id("rx_data").eq(byte(SYNC)), vec![go(St::Cmd)]),
            ],
        ),
        (rx(St::Cmd), header("cmd_r", vec![go(St::Seq)])),
        (rx(St::Seq), header("seq_r", vec![go(St::Len)])),
        (rx(St::Len), header("len_r", after_len)),
        (rx(St::Pay), payload_byte()),
        (
            rx(St::CrcHi),
            vec![nb(id("crc_hi_r"), id("rx_data")), go(St::CrcLo)],
        ),
        (
            rx(St::CrcLo),
            vec![
                nb(
                    id("crc_ok"),
                    concat(vec![id("crc_hi_r"), id("rx_data")]).eq(id("crc_rx")),
                ),
                go(St::Check),
            ],
        ),
    ]
}

/// A payload byte: the address (4 bytes, little-endian, shifted in from the top), ARG, then a
/// WRITE's data (shifted into `wsh`; the word buffer takes every fourth byte with it).
fn payload_byte() -> Vec<Stmt> {
    // Shift the byte in from the top of `r` (of `width` bits).
    let shift_in = |r: &str, width: i64| {
        nb(
            id(r),
            concat(vec![id("rx_data"), id(r).slice(int(width - 1), int(8))]),
        )
    };
    vec![
        nb(id("crc_rx"), id("crx_next")),
        nb(id("pcnt"), id("pcnt").add(sized(8, 1))),
        chain(
            vec![
                (id("pcnt").lt(sized(8, 4)), vec![shift_in("addr_r", 32)]),
                (
                    id("pcnt").eq(sized(8, 4)),
                    vec![nb(id("arg_r"), id("rx_data"))],
                ),
            ],
            vec![shift_in("wsh", 24)],
        ),
        if_(
            id("pcnt").add(sized(8, 1)).eq(id("len_r")),
            vec![go(St::CrcHi)],
        ),
    ]
}

/// The check, the cycle after the last CRC byte: a bad CRC answers NAK_CRC; a good READ or
/// WRITE starts its burst (and becomes the last executed frame); a retried WRITE is answered
/// with the stored response; anything else answers NAK_BAD_REQUEST.
fn frame_check() -> (Expr, Vec<Stmt>) {
    // Start a burst of `nwords` words: raise the valids, go to the first bus state.
    let start = |nwords: Expr, valids: &[&str], st: St| {
        let mut v = vec![
            nb(id("nwords"), nwords),
            nb(id("widx"), sized(5, 0)),
            nb(id("resp_acc"), sized(2, 0)),
            nb(id("last_seq"), id("seq_r")),
            nb(id("last_valid"), bit(true)),
        ];
        v.extend(valids.iter().map(|n| nb(id(n), bit(true))));
        v.push(go(st));
        v
    };
    let mut retry = vec![Stmt::Comment(
        "a retried WRITE: answer again, do not execute".into(),
    )];
    retry.extend(respond(false, resp_byte(id("last_resp"))));
    (
        is(St::Check),
        vec![chain(
            vec![
                (not(id("crc_ok")), nak(NAK_CRC)),
                (
                    id("read_ok"),
                    start(
                        id("arg_r").slice(int(4), int(0)),
                        &["m_axil_arvalid"],
                        St::AxiAr,
                    ),
                ),
                (id("write_ok").and(id("retry")), retry),
                (
                    id("write_ok"),
                    start(
                        id("dlen").slice(int(6), int(2)),
                        &["m_axil_awvalid", "m_axil_wvalid"],
                        St::AxiW,
                    ),
                ),
            ],
            nak(NAK_BAD_REQUEST),
        )],
    )
}

/// The bus transaction's arms, one word at a time: a write holds AWVALID/WVALID until each is
/// accepted, then takes B; a read holds ARVALID until accepted, then takes R (into the word
/// buffer). After the last word the response starts with the burst's accumulated RESP.
fn bus_transaction() -> Vec<(Expr, Vec<Stmt>)> {
    let mut write_done = vec![nb(id("last_resp"), acc_resp("m_axil_bresp"))];
    write_done.extend(respond(false, resp_byte(acc_resp("m_axil_bresp"))));
    let mut read_done = vec![nb(id("dcnt"), sized(7, 0))];
    read_done.extend(respond(false, resp_byte(acc_resp("m_axil_rresp"))));
    vec![
        (
            is(St::AxiW),
            vec![
                if_(
                    id("m_axil_awready"),
                    vec![nb(id("m_axil_awvalid"), bit(false))],
                ),
                if_(
                    id("m_axil_wready"),
                    vec![nb(id("m_axil_wvalid"), bit(false))],
                ),
                if_(id("aw_done").and(id("w_done")), vec![go(St::AxiB)]),
            ],
        ),
        (
            is(St::AxiB).and(id("m_axil_bvalid")),
            vec![
                nb(id("widx"), id("widx").add(sized(5, 1))),
                if_else(
                    last_word(),
                    write_done,
                    vec![
                        nb(id("resp_acc"), acc_resp("m_axil_bresp")),
                        nb(id("m_axil_awvalid"), bit(true)),
                        nb(id("m_axil_wvalid"), bit(true)),
                        go(St::AxiW),
                    ],
                ),
            ],
        ),
        (
            is(St::AxiAr).and(id("m_axil_arready")),
            vec![nb(id("m_axil_arvalid"), bit(false)), go(St::AxiR)],
        ),
        (
            is(St::AxiR).and(id("m_axil_rvalid")),
            vec![
                nb(id("widx"), id("widx").add(sized(5, 1))),
                nb(id("resp_acc"), acc_resp("m_axil_rresp")),
                if_else(
                    last_word(),
                    read_done,
                    vec![nb(id("m_axil_arvalid"), bit(true)), go(St::AxiAr)],
                ),
            ],
        ),
    ]
}

/// The response sender's arms: the head bytes (`tcnt`; the CRC starts after SYNC), a READ's
/// data bytes (`dcnt`), the two CRC bytes, back to hunting.
fn response_sender() -> Vec<(Expr, Vec<Stmt>)> {
    let sent = |st: St| is(st).and(id("tx_fire"));
    vec![
        (
            sent(St::TxHead),
            vec![
                nb(id("tcnt"), id("tcnt").add(sized(3, 1))),
                if_(
                    id("tcnt").eq(sized(3, 0)),
                    vec![nb(id("crc_tx"), sized(16, 0xFFFF))],
                ),
                if_(id("tx_crc_byte"), vec![nb(id("crc_tx"), id("ctx_next"))]),
                if_(
                    id("tcnt").eq(sized(3, 4)),
                    vec![
                        nb(id("dcnt"), sized(7, 0)),
                        if_else(id("tx_read"), vec![go(St::TxData)], vec![go(St::TxCrcHi)]),
                    ],
                ),
            ],
        ),
        (
            sent(St::TxData),
            vec![
                nb(id("crc_tx"), id("ctx_next")),
                nb(id("dcnt"), id("dcnt").add(sized(7, 1))),
                if_(
                    id("dcnt").add(sized(7, 1)).eq(id("dbytes")),
                    vec![go(St::TxCrcHi)],
                ),
            ],
        ),
        (sent(St::TxCrcHi), vec![go(St::TxCrcLo)]),
        (sent(St::TxCrcLo), vec![go(St::Hunt)]),
    ]
}

/// The inter-byte timer: cycles since the last byte while a frame is coming in (`timeout` at
/// TIMEOUT - 1).
fn idle_timer() -> Vec<Item> {
    vec![
        comment("Inter-byte timeout: cycles since the last byte while a frame is coming in."),
        always(vec![if_else(
            id("rst").or(not(id("receiving"))).or(id("rx_valid")),
            vec![nb(id("idle_cnt"), zeros(id("TW")))],
            vec![if_(
                not(id("timeout")),
                vec![nb(id("idle_cnt"), id("idle_cnt").add(sized(1, 1)))],
            )],
        )]),
    ]
}

/// The word buffer's write port: a WRITE's data words as their fourth byte arrives, a READ's
/// results as R fires.
fn word_buffer() -> Vec<Item> {
    vec![
        comment("Word buffer: a WRITE's data as it arrives, a READ's results as they return."),
        always(vec![
            if_(
                rx(St::Pay)
                    .and(id("pcnt").gt(sized(8, 4)))
                    .and(id("pidx").slice(int(1), int(0)).eq(sized(2, 3))),
                vec![nb(
                    wbuf_at("pidx", WORD_W + 1, 2),
                    concat(vec![id("rx_data"), id("wsh")]),
                )],
            ),
            if_(
                is(St::AxiR).and(id("m_axil_rvalid")),
                vec![nb(wbuf_at("widx", WORD_W - 1, 0), id("m_axil_rdata"))],
            ),
        ]),
    ]
}

fn ports() -> Vec<Port> {
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("rx_data", bits(8), "from the UART receiver"),
        input("rx_valid", None, "one-cycle strobe"),
        input("rx_err", None, "framing error strobe"),
        output("tx_data", bits(8), "to the UART transmitter"),
        output("tx_valid", None, ""),
        input("tx_ready", None, ""),
        output("m_axil_awaddr", bits(32), "AXI4-Lite master"),
        output_reg("m_axil_awvalid", None, ""),
        input("m_axil_awready", None, ""),
        output("m_axil_wdata", bits(32), ""),
        output("m_axil_wstrb", bits(4), ""),
        output_reg("m_axil_wvalid", None, ""),
        input("m_axil_wready", None, ""),
        input("m_axil_bresp", bits(2), ""),
        input("m_axil_bvalid", None, ""),
        output("m_axil_bready", None, ""),
        output("m_axil_araddr", bits(32), ""),
        output_reg("m_axil_arvalid", None, ""),
        input("m_axil_arready", None, ""),
        input("m_axil_rdata", bits(32), ""),
        input("m_axil_rresp", bits(2), ""),
        input("m_axil_rvalid", None, ""),
        output("m_axil_rready", None, ""),
        output(
            "active",
            None,
            "a frame is being received, executed or answered",
        ),
        output_reg("link_err", None, "one cycle per NAK sent or frame dropped"),
    ]
}
