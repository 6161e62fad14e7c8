//! `systolic_fetch`: the instruction fetch of the memory path (PROG_BASE, PROG_WORDS,
//! CONTROL.START) and the front of the AXI4 master's read channels: the AR registers, shared
//! by the fetch (ID 1) and the DMA (ID 0), and the routing of R beats by ID.
//!
//! Timing contract (a beat fires in cycle t when valid and ready are both high in t; DB = the
//! bus's bytes):
//! - START: `start` in cycle t (the bus accepted CONTROL.START: the engine was idle, not
//!   fetching, not stopped) checks `prog_base` and `prog_words`: not a multiple of 8: `f_err`
//!   with DmaAlign in cycle t; `prog_base + 8 * prog_words > 2^32`: DmaRange; else
//!   `f_sems_clear` in cycle t and, with words to fetch, `fetching` from t+1.
//! - Requests: one read burst outstanding at a time, from the next word's address, of as many
//!   words as the instruction queue will have room for (`q_free` minus the words requested and
//!   not yet pushed) and are left, cut at 4 KB. The AR registers (`m_axi_ar*`, held until
//!   `m_axi_arready`) take a request whenever they are empty or their request is taken in that
//!   cycle: the fetch's or the DMA's (`d_ar_req`, granted by `d_ar_grant` in that cycle), round
//!   robin when both ask.
//! - R: beats of ID 1 go to the fetch, taken while its byte queue (max(2 DB, 16) bytes) has
//!   room for a beat; ID 0 beats go to the DMA (`d_r_valid`, its `d_r_ready` is RREADY then).
//!   The fetch pushes one 64-bit word per cycle into the queue (`f_push`, `f_word`) while it
//!   holds one.
//! - Errors: an R beat other than OKAY: no more requests, the words before the beat are pushed,
//!   then `f_err` with DmaBus for one cycle; the rest of the burst is taken and dropped.
//!   `abort` (the engine stopped or CLEAR_ERROR) stops the fetch the same way without an error
//!   of its own: the words not yet pushed are dropped. `fetching` falls once the burst in
//!   flight is over.
//! - Reset: every valid, count and flag; data registers are not reset.

use crate::config::Config;
use crate::isa::ErrorCode;
use crate::verilog::*;

use super::blocks::{byte_queue, count_bits, low_bytes_mask, times_pow2};
use super::sequencer::{code, queue_count_bits};

pub fn module(cfg: &Config) -> Module {
    assert!(cfg.dma, "systolic_fetch needs dma = true");
    let db = cfg.dma_bits / 8;
    let qb = (2 * db).max(16);
    let qc = queue_count_bits(cfg);
    let mut items = start();
    items.extend(requests(db, qc));
    items.extend(ar_arbiter());
    items.extend(read_beats(db, qb, qc + 3));
    items.extend(finish(qb, qc));
    Module {
        name: "systolic_fetch".into(),
        doc: vec![
            "Instruction fetch (CONTROL.START: PROG_WORDS words from PROG_BASE into the queue)"
                .into(),
            "and the AXI4 master's AR registers (fetch ID 1, DMA ID 0, round robin) and R routing"
                .into(),
            "(see src/rtl/engine/fetch.rs).".into(),
        ],
        params: vec![],
        ports: ports(db, qc),
        items: hoist(items),
    }
}

/// START: the checks of PROG_BASE and PROG_WORDS, the fetch's address and words left.
fn start() -> Vec<Item> {
    vec![
        comment("---- START: checks, then the words to fetch ----"),
        wire_init(
            "st_align",
            None,
            bits_of(id("prog_base"), 0, 3).ne(sized(3, 0)),
        ),
        wire_init(
            "st_range",
            None,
            zext(id("prog_base"), 32, 36)
                .add(zext(times_pow2(id("prog_words"), 3), 35, 36))
                .gt(sized(36, 1 << 32)),
        ),
        wire_init(
            "st_ok",
            None,
            id("start")
                .and(not(id("st_align")))
                .and(not(id("st_range"))),
        ),
        assign(id("f_sems_clear"), id("st_ok")),
        reg("fa_addr", bits(32)),
        reg("fa_left", bits(32)),
        reg("f_on", None),
        reg("f_abort", None),
        reg("f_fail", None),
        assign(id("fetching"), id("f_on")),
    ]
}

/// The fetch's burst request (`f_req`, `f_addr`, `f_len`, `f_words`), sized by the words left
/// and the queue's room (`f_pend` words requested and not pushed).
fn requests(db: u32, qc: u32) -> Vec<Item> {
    // Bytes of a request: up to the queue's depth in words (qc - 1 bits of words, 3 of bytes).
    let bb = qc + 3;
    let dbb = db.trailing_zeros();
    let to4k_full = u64::from(4096 / db);
    vec![
        Item::Blank,
        comment("---- Requests: one burst at a time, as the queue has room ----"),
        reg("f_pend", bits(qc)),
        reg("fr_out", None),
        wire_init(
            "f_credit",
            bits(qc),
            cond(
                id("q_free").gt(id("f_pend")),
                id("q_free").sub(id("f_pend")),
                sized(qc, 0),
            ),
        ),
        wire_init(
            "f_want",
            bits(qc),
            cond(
                id("fa_left").lt(zext(id("f_credit"), qc, 32)),
                bits_of(id("fa_left"), 0, qc),
                id("f_credit"),
            ),
        ),
        wire_init("f_off", bits(dbb), bits_of(id("fa_addr"), 0, dbb)),
        wire_init(
            "f_to4k",
            bits(11),
            sized(11, to4k_full).sub(zext(bits_of(id("fa_addr"), dbb, 12 - dbb), 12 - dbb, 11)),
        ),
        comment("Beats to cover the wanted words (at most 8 x depth bytes from lane f_off)."),
        wire_init(
            "f_need",
            bits(11),
            zext(id("f_off"), dbb, 11)
                .add(zext(times_pow2(id("f_want"), 3), bb, 11))
                .add(sized(11, u64::from(db - 1)))
                .shr(int(i64::from(dbb))),
        ),
        comment("At most (DB - 1 + 8 x depth) / DB + 1 beats: 8 bits hold them."),
        wire_init(
            "f_beats",
            bits(8),
            cond(
                id("f_need").lt(id("f_to4k")),
                bits_of(id("f_need"), 0, 8),
                bits_of(id("f_to4k"), 0, 8),
            ),
        ),
        wire_init(
            "f_span",
            bits(8 + dbb),
            times_pow2(id("f_beats"), dbb).sub(zext(id("f_off"), dbb, 8 + dbb)),
        ),
        wire_init("f_want_b", bits(bb), times_pow2(id("f_want"), 3)),
        wire_init(
            "f_bytes",
            bits(bb),
            cond(
                zext(id("f_span"), 8 + dbb, 8 + dbb + bb).lt(zext(
                    id("f_want_b"),
                    bb,
                    8 + dbb + bb,
                )),
                bits_of(id("f_span"), 0, bb),
                id("f_want_b"),
            ),
        ),
        wire_init("f_words", bits(qc), bits_of(id("f_bytes"), 3, qc)),
        wire_init(
            "f_req",
            None,
            id("f_on")
                .and(not(id("fr_out")))
                .and(not(id("f_abort")))
                .and(not(id("f_fail")))
                .and(id("fa_left").ne(sized(32, 0)))
                .and(id("f_credit").ne(sized(qc, 0))),
        ),
        wire_init("f_len", bits(8), id("f_beats").sub(sized(8, 1))),
    ]
}

/// The AR registers: loaded from the fetch or the DMA (round robin) when empty or taken.
fn ar_arbiter() -> Vec<Item> {
    vec![
        Item::Blank,
        comment("---- AR registers: fetch (ID 1) and DMA (ID 0), round robin ----"),
        reg("rr_dma", None),
        wire_init(
            "ar_slot",
            None,
            not(id("m_axi_arvalid")).or(id("m_axi_arready")),
        ),
        assign(
            id("d_ar_grant"),
            id("ar_slot")
                .and(id("d_ar_req"))
                .and(not(id("f_req")).or(id("rr_dma"))),
        ),
        wire_init(
            "f_grant",
            None,
            id("ar_slot").and(id("f_req")).and(not(id("d_ar_grant"))),
        ),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("m_axi_arvalid"), bit(false)),
                nb(id("rr_dma"), bit(false)),
            ],
            vec![
                if_else(
                    id("d_ar_grant").or(id("f_grant")),
                    vec![nb(id("m_axi_arvalid"), bit(true))],
                    vec![if_(
                        id("m_axi_arready"),
                        vec![nb(id("m_axi_arvalid"), bit(false))],
                    )],
                ),
                if_(id("f_grant"), vec![nb(id("rr_dma"), bit(true))]),
                if_(id("d_ar_grant"), vec![nb(id("rr_dma"), bit(false))]),
            ],
        )]),
        always(vec![if_else(
            id("d_ar_grant"),
            vec![
                nb(id("m_axi_arid"), bit(false)),
                nb(id("m_axi_araddr"), id("d_ar_addr")),
                nb(id("m_axi_arlen"), id("d_ar_len")),
            ],
            vec![if_(
                id("f_grant"),
                vec![
                    nb(id("m_axi_arid"), bit(true)),
                    nb(id("m_axi_araddr"), id("fa_addr")),
                    nb(id("m_axi_arlen"), id("f_len")),
                ],
            )],
        )]),
    ]
}

/// R: routed by ID; the fetch's beats into its byte queue `fq` (bytes of its burst only).
/// `bb`: the bits of a request's byte count.
fn read_beats(db: u32, qb: u32, bb: u32) -> Vec<Item> {
    let dbb = db.trailing_zeros();
    let qcw = count_bits(u64::from(qb));
    let nb_w = count_bits(u64::from(db));
    let mut items = vec![
        Item::Blank,
        comment("---- R: ID 1 into the fetch's byte queue, ID 0 to the DMA ----"),
        reg("fb_first", None),
        reg("fb_off", bits(dbb)),
        reg("fb_rem", bits(bb)),
        wire_init("f_drop", None, id("f_abort").or(id("f_fail"))),
        wire_init(
            "f_rready",
            None,
            id("f_drop").or(id("fq_n").le(sized(qcw, u64::from(qb - db)))),
        ),
        assign(
            id("d_r_valid"),
            id("m_axi_rvalid").and(not(id("m_axi_rid"))),
        ),
        assign(
            id("m_axi_rready"),
            cond(id("m_axi_rid"), id("f_rready"), id("d_r_ready")),
        ),
        wire_init(
            "f_rfire",
            None,
            id("m_axi_rvalid").and(id("m_axi_rid")).and(id("f_rready")),
        ),
        wire_init(
            "f_rbad",
            None,
            id("f_rfire").and(id("m_axi_rresp").ne(sized(2, 0))),
        ),
        wire_init(
            "fx_lo",
            bits(dbb),
            cond(id("fb_first"), id("fb_off"), sized(dbb, 0)),
        ),
        wire_init(
            "fx_room",
            bits(nb_w),
            sized(nb_w, u64::from(db)).sub(zext(id("fx_lo"), dbb, nb_w)),
        ),
        wire_init(
            "fx_n",
            bits(nb_w),
            cond(
                zext(id("fb_rem"), bb, bb.max(nb_w)).lt(zext(id("fx_room"), nb_w, bb.max(nb_w))),
                bits_of(id("fb_rem"), 0, nb_w),
                id("fx_room"),
            ),
        ),
        wire_init(
            "fq_push",
            None,
            id("f_rfire").and(not(id("f_rbad"))).and(not(id("f_drop"))),
        ),
        wire_init(
            "fq_in",
            bits(8 * db),
            id("m_axi_rdata")
                .shr(times_pow2(id("fx_lo"), 3))
                .bit_and(low_bytes_mask(id("fx_n"), db)),
        ),
        wire_init("fq_in_n", bits(qcw), zext(id("fx_n"), nb_w, qcw)),
        wire_init("fq_flush", None, id("f_abort").or(id("f_raise"))),
        assign(
            id("f_push"),
            id("fq_n")
                .ge(sized(qcw, 8))
                .and(not(id("f_abort")))
                .and(not(id("abort"))),
        ),
        assign(id("f_word"), bits_of(id("fq_q"), 0, 64)),
        wire_init(
            "fq_pop_n",
            bits(qcw),
            cond(id("f_push"), sized(qcw, 8), sized(qcw, 0)),
        ),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("fb_first"), bit(true))],
            vec![if_else(
                id("f_grant"),
                vec![nb(id("fb_first"), bit(true))],
                vec![if_(id("f_rfire"), vec![nb(id("fb_first"), bit(false))])],
            )],
        )]),
        always(vec![if_else(
            id("f_grant"),
            vec![
                nb(id("fb_off"), id("f_off")),
                nb(id("fb_rem"), id("f_bytes")),
            ],
            vec![if_(
                id("f_rfire"),
                vec![nb(
                    id("fb_rem"),
                    id("fb_rem").sub(zext(id("fx_n"), nb_w, bb.max(nb_w))),
                )],
            )],
        )]),
    ];
    items.extend(byte_queue("fq", qb, db));
    items
}

/// The fetch's state: words left (`fa_*`), the burst in flight (`fr_out`), `f_pend`, the
/// failure (`f_fail`, raised as `f_err` once the words before it are pushed: `f_raise`), the
/// abort, `f_on`.
fn finish(qb: u32, qc: u32) -> Vec<Item> {
    let qcw = count_bits(u64::from(qb));
    vec![
        Item::Blank,
        comment("---- Fetch state, errors ----"),
        reg("f_raised", None),
        wire_init(
            "f_raise",
            None,
            id("f_fail")
                .and(not(id("f_raised")))
                .and(not(id("f_abort")))
                .and(id("fq_n").lt(sized(qcw, 8))),
        ),
        assign(
            id("f_err"),
            id("start")
                .and(id("st_align").or(id("st_range")))
                .or(id("f_raise")),
        ),
        assign(
            id("f_code"),
            cond(
                id("f_raise"),
                code(ErrorCode::DmaBus),
                cond(
                    id("st_align"),
                    code(ErrorCode::DmaAlign),
                    code(ErrorCode::DmaRange),
                ),
            ),
        ),
        wire_init(
            "f_quiet",
            None,
            not(id("fr_out")).and(
                id("f_abort").or(id("f_raised")).or(not(id("f_fail"))
                    .and(id("fa_left").eq(sized(32, 0)))
                    .and(id("fq_n").eq(sized(qcw, 0)))),
            ),
        ),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("f_on"), bit(false)),
                nb(id("f_abort"), bit(false)),
                nb(id("f_fail"), bit(false)),
                nb(id("f_raised"), bit(false)),
                nb(id("fr_out"), bit(false)),
                nb(id("f_pend"), sized(qc, 0)),
            ],
            vec![if_else(
                id("st_ok"),
                vec![
                    nb(id("f_on"), id("prog_words").ne(sized(32, 0))),
                    nb(id("f_abort"), bit(false)),
                    nb(id("f_fail"), bit(false)),
                    nb(id("f_raised"), bit(false)),
                    nb(id("fa_addr"), id("prog_base")),
                    nb(id("fa_left"), id("prog_words")),
                    nb(id("f_pend"), sized(qc, 0)),
                ],
                vec![
                    if_(
                        id("abort").and(id("f_on")),
                        vec![nb(id("f_abort"), bit(true))],
                    ),
                    if_(id("f_rbad"), vec![nb(id("f_fail"), bit(true))]),
                    if_(id("f_raise"), vec![nb(id("f_raised"), bit(true))]),
                    if_(
                        id("f_grant"),
                        vec![
                            nb(id("fr_out"), bit(true)),
                            nb(
                                id("fa_addr"),
                                id("fa_addr").add(zext(id("f_bytes"), qc + 3, 32)),
                            ),
                            nb(
                                id("fa_left"),
                                id("fa_left").sub(zext(id("f_words"), qc, 32)),
                            ),
                        ],
                    ),
                    if_(
                        id("f_rfire").and(id("m_axi_rlast")),
                        vec![nb(id("fr_out"), bit(false))],
                    ),
                    nb(
                        id("f_pend"),
                        id("f_pend")
                            .add(cond(id("f_grant"), id("f_words"), sized(qc, 0)))
                            .sub(zext(id("f_push"), 1, qc)),
                    ),
                    if_(
                        id("f_on").and(id("f_quiet")),
                        vec![nb(id("f_on"), bit(false))],
                    ),
                ],
            )],
        )]),
    ]
}

fn ports(db: u32, qc: u32) -> Vec<Port> {
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("start", None, "CONTROL.START accepted by the bus"),
        input("prog_base", bits(32), "PROG_BASE"),
        input("prog_words", bits(32), "PROG_WORDS"),
        input("q_free", bits(qc), "free instruction-queue slots"),
        input("abort", None, "the engine stopped, or CLEAR_ERROR"),
        output("f_push", None, "push f_word into the queue"),
        output("f_word", bits(64), ""),
        output(
            "f_sems_clear",
            None,
            "an accepted START: clear the semaphores",
        ),
        output("f_err", None, "an error (f_code)"),
        output("f_code", bits(8), "DmaAlign, DmaRange or DmaBus"),
        output("fetching", None, "STATUS.FETCHING"),
        input("d_ar_req", None, "DMA: a read burst offered"),
        input("d_ar_addr", bits(32), ""),
        input("d_ar_len", bits(8), ""),
        output("d_ar_grant", None, "DMA: taken at this edge"),
        output_reg("m_axi_arvalid", None, "AR"),
        input("m_axi_arready", None, ""),
        output_reg("m_axi_arid", None, "1 fetch, 0 DMA"),
        output_reg("m_axi_araddr", bits(32), ""),
        output_reg("m_axi_arlen", bits(8), ""),
        input("m_axi_rvalid", None, "R"),
        output("m_axi_rready", None, ""),
        input("m_axi_rid", None, ""),
        input("m_axi_rdata", bits(8 * db), ""),
        input("m_axi_rresp", bits(2), ""),
        input("m_axi_rlast", None, ""),
        output("d_r_valid", None, "DMA: an R beat of ID 0"),
        input("d_r_ready", None, ""),
    ]
}
