//! `systolic_sequencer`: the instruction queue, the in-order dispatcher with its checks, the
//! two streamers that feed the core from the SBUF, the error register and the counters.
//!
//! Timing contract (a beat fires in cycle t when valid and ready are both high in t):
//! - Queue: 16 x 64-bit FIFO. `q_push` in cycle t writes `q_word` at the edge (the bus slave
//!   never pushes into a full queue: it answers SLVERR/QueueOverflow itself); the head is
//!   visible to the dispatcher in cycle t+1. `q_free` is registered.
//! - Dispatch: at most one instruction per cycle, in order, from the head (combinational
//!   decode and checks driven by `isa::FIELDS`). The checks, in priority order: IllegalOpcode,
//!   UnusedBitsSet, KRange, MRange (LS), NRange (MM), SbufRange (LS: addr + k > SBUF_DEPTH;
//!   MM: addr + n > SBUF_DEPTH), BankRange, PsumRange (offset + n > PSUM_DEPTH),
//!   SwapWithoutLoad (MM with swap and no pending load; MM without swap and no stationary in
//!   use; LS while two loads are already pending, which in-order dispatch could never serve).
//!   A failing head is not dispatched: its code is recorded at the edge, dispatch stops, what is
//!   in flight finishes. `clear_error` clears the error and empties the queue in one cycle; the
//!   loads already streamed (or sure to be) and the stationary in use stay, a load waiting
//!   for a swap that was never dispatched is dropped.
//! - Loads: "pending" = dispatched and not yet claimed by a dispatched swap (at most two).
//!   LOAD_STATIONARY is dispatched into the waiting-load register `wl` (one cycle); it starts in
//!   the load streamer when that is idle and no other load is pending, i.e. when `ls_ready` is
//!   sure to rise for it. The streamer issues K reads of SBUF port L, one per cycle, beat k'
//!   from entry addr + k' (columns >= m forced to 0, `ls_last` on beat k-1). The SBUF output
//!   register holds a beat until `ls_ready`: the read enable is `!ls_valid || ls_ready`, so no
//!   beat is lost or repeated and the first beat is prefetched. Once the first beat fires the
//!   others follow one per cycle (the core holds `ls_ready` until the load ends).
//! - MULTIPLY_MOVING is dispatched when the header register is free (or being taken by the core
//!   in the same cycle) and the 2-entry moving-command FIFO has room: never behind a load that
//!   waits for `ls_ready` (that load waits for the swap of a MULTIPLY_MOVING behind it). The
//!   header register drives `mm_*` (`mm_m` = m of the stationary in use after this
//!   instruction's swap); the moving streamer reads SBUF port M at entries addr + n', one per
//!   cycle, with the same hold scheme (`!mv_valid || mv_ready`), and goes from one instruction's
//!   last beat to the next one's first beat without a bubble.
//! - FENCE is dispatched (and retires) when both streamers and the header register are idle and
//!   the core is not busy (a load waiting in `wl` does not hold a FENCE).
//! - `st_busy`: an instruction queued (and no error), a streamer, the header register or `wl`
//!   busy, or the core busy. `st_stalled`: busy only because `wl` holds a load whose swap was
//!   never dispatched (nothing progresses until an instruction is pushed or the error cleared).
//! - Counters: `cycles` counts cycles with `st_busy && !st_stalled`; `macs` adds k*m at every
//!   moving beat that fires (k*m*n per MULTIPLY_MOVING); `retired` counts a LOAD_STATIONARY at
//!   its last load beat, a MULTIPLY_MOVING at its last moving beat, a FENCE at dispatch.
//!   `clear_counters` zeroes all three at the edge.
//!
//! The builder follows the hardware: one function per part of the module (`queue`,
//! `decode`, `dispatch`, `loaded_stationaries`, `header_register`, `load_streamer`,
//! `moving_streamer`, `status`, `error_register`, `counters`), each returning its
//! declarations and logic in the order they appear in the generated text. The parts talk
//! through the nets named in these comments (`go_ls`, `go_mm`, `pop`, `pend`, `idle`...).

use crate::config::{Config, Geometry};
use crate::isa::{ErrorCode, Opcode, FIELDS, MAX_PENDING_LOADS};
use crate::regs::queue_depth;
pub use crate::regs::{DMA_QUEUE_DEPTH, QUEUE_DEPTH};
use crate::verilog::*;

/// Bits of a queue count (0..=depth): the width of `q_free`.
pub fn queue_count_bits(cfg: &Config) -> u32 {
    queue_depth(cfg).trailing_zeros() + 1
}

/// Queue pointer bits.
const QA: u32 = QUEUE_DEPTH.trailing_zeros();
/// Queue count bits (0..=QUEUE_DEPTH).
const QC: u32 = QA + 1;

pub(super) fn code(e: ErrorCode) -> Expr {
    sized(8, e as u64)
}

/// The bits an opcode may set (its fields), from the ISA table.
pub(super) fn used_mask(op: Opcode) -> u64 {
    FIELDS
        .iter()
        .filter(|f| f.used_by.contains(&op))
        .map(|f| f.mask() << f.lsb)
        .fold(0, |a, b| a | b)
}

/// Width of an instruction field (`isa::FIELDS`).
pub(super) fn fw(name: &str) -> u32 {
    crate::isa::field(name).width
}

/// The decoded field `f_{name}` of the head word.
pub(super) fn f(name: &str) -> Expr {
    id(&format!("f_{name}"))
}

/// The head's k in the engine's width (the checks guarantee it fits).
pub(super) fn k_new(g: &Geometry) -> Expr {
    bits_of(f("k"), 0, g.k_w)
}

/// The head's m in the engine's width.
pub(super) fn m_new(g: &Geometry) -> Expr {
    bits_of(f("m"), 0, g.m_w)
}

/// `name == value` for a 2-bit count (`pend`, `mvq_cnt`).
pub(super) fn cnt2(name: &str, value: u64) -> Expr {
    id(name).eq(sized(2, value))
}

pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let mut items = queue();
    items.extend(decode(&g));
    items.extend(dispatch());
    items.extend(loaded_stationaries(&g));
    items.extend(header_register(&g));
    items.extend(load_streamer(&g, false));
    items.extend(moving_streamer(&g, false));
    items.extend(status());
    items.extend(error_register());
    items.extend(counters(&g));
    Module {
        name: "systolic_sequencer".into(),
        doc: vec![
            "Sequencer: 16 x 64-bit instruction queue, in-order dispatch with the checks of".into(),
            "isa::ErrorCode, a load streamer (SBUF port L -> ls) and a moving streamer (mm header"
                .into(),
            "register, SBUF port M -> mv) running concurrently, error register, counters.".into(),
        ],
        params: vec![],
        ports: ports(&g, QC),
        items: hoist(items),
    }
}

/// The instruction queue: `q_mem` written by `q_push` (`push_ok`), read at `q_rp` (the head
/// word `hw`), popped by the dispatcher (`pop`), emptied by `clear_error`. Out: `hw`, `q_cnt`,
/// `q_free`.
fn queue() -> Vec<Item> {
    let depth = u64::from(QUEUE_DEPTH);
    vec![
        comment("---- Instruction queue ----"),
        memory("q_mem", bits(64), int(i64::from(QUEUE_DEPTH))),
        reg("q_wp", bits(QA)),
        reg("q_rp", bits(QA)),
        reg("q_cnt", bits(QC)),
        wire_init("q_full", None, id("q_cnt").eq(sized(QC, depth))),
        wire_init("push_ok", None, id("q_push").and(not(id("q_full")))),
        wire_init("hw", bits(64), id("q_mem").at(id("q_rp"))),
        assign(id("q_free"), sized(QC, depth).sub(id("q_cnt"))),
        always(vec![if_(
            id("push_ok"),
            vec![nb(id("q_mem").at(id("q_wp")), id("q_word"))],
        )]),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("q_wp"), sized(QA, 0)),
                nb(id("q_rp"), sized(QA, 0)),
                nb(id("q_cnt"), sized(QC, 0)),
            ],
            vec![
                if_(id("push_ok"), vec![nb(id("q_wp"), inc("q_wp", QA))]),
                if_else(
                    id("clear_error"),
                    vec![
                        Stmt::Comment("The bus never pushes and clears in one cycle.".into()),
                        nb(id("q_rp"), id("q_wp")),
                        nb(id("q_cnt"), sized(QC, 0)),
                    ],
                    vec![
                        if_(id("pop"), vec![nb(id("q_rp"), inc("q_rp", QA))]),
                        nb(
                            id("q_cnt"),
                            id("q_cnt")
                                .add(zext(id("push_ok"), 1, QC))
                                .sub(zext(id("pop"), 1, QC)),
                        ),
                    ],
                ),
            ],
        )]),
    ]
}

/// Decode of the head word and the checks (combinational): the fields `f_*` of `isa::FIELDS`,
/// the opcode flags `is_*` and one flag per check (`unused_set` ... `swap_bad`), which reads
/// the loaded-stationary state (`pend`, `in_use`).
fn decode(g: &Geometry) -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("---- Decode of the head word (fields of isa::FIELDS) ----"),
    ];
    for fl in FIELDS {
        items.push(wire_init(
            &format!("f_{}", fl.name),
            bits(fl.width),
            bits_of(id("hw"), fl.lsb, fl.width),
        ));
    }
    let op = |o: Opcode| f("op").eq(sized(fw("op"), o as u64));
    items.extend([
        wire_init("is_ls", None, op(Opcode::LoadStationary)),
        wire_init("is_mm", None, op(Opcode::MultiplyMoving)),
        wire_init("is_fence", None, op(Opcode::Fence)),
        comment(&format!(
            "Bits an opcode may set: LOAD_STATIONARY {:#018x}, MULTIPLY_MOVING {:#018x}, FENCE {:#018x}.",
            used_mask(Opcode::LoadStationary),
            used_mask(Opcode::MultiplyMoving),
            used_mask(Opcode::Fence)
        )),
    ]);
    items.extend(check_flags(g));
    items
}

/// One wire per check of the head instruction (the order of `isa::ErrorCode`).
fn check_flags(g: &Geometry) -> Vec<Item> {
    let unused = |o: Opcode| id("hw").bit_and(sized(64, !used_mask(o))).ne(sized(64, 0));
    let mut items = vec![wire_init(
        "unused_set",
        None,
        id("is_ls")
            .and(unused(Opcode::LoadStationary))
            .or(id("is_mm").and(unused(Opcode::MultiplyMoving)))
            .or(id("is_fence").and(unused(Opcode::Fence))),
    )];
    items.extend(pe_checks(g, &PeNames::PLAIN));
    items
}

/// The names [`pe_checks`] reads and writes: the decoded fields (`<field><name>`), the opcode
/// flags (`<flag>is_ls`, `<flag>is_mm`), the pending loads and the stationary in use, and the
/// prefix of its outputs (`<out>k_bad` ...).
pub(super) struct PeNames {
    pub field: &'static str,
    pub flag: &'static str,
    pub pend: &'static str,
    pub in_use: &'static str,
    pub out: &'static str,
}

impl PeNames {
    /// The register-path sequencer's names.
    pub const PLAIN: PeNames = PeNames {
        field: "f_",
        flag: "",
        pend: "pend",
        in_use: "in_use",
        out: "",
    };
}

/// The range checks of LOAD_STATIONARY and MULTIPLY_MOVING (KRange .. SwapWithoutLoad), one
/// wire each, on the fields named by `n`.
pub(super) fn pe_checks(g: &Geometry, n: &PeNames) -> Vec<Item> {
    let f = |name: &str| id(&format!("{}{name}", n.field));
    let is = |name: &str| id(&format!("{}{name}", n.flag));
    let out = |name: &str| format!("{}{name}", n.out);
    // The field is 0 or above `max`.
    let range = |name: &str, max: u32| {
        let w = fw(name);
        f(name)
            .eq(sized(w, 0))
            .or(f(name).gt(sized(w, u64::from(max))))
    };
    // addr + count > SBUF_DEPTH in 18 bits (16-bit addr, counts below 2^13, depth <= 2^16).
    let sbuf_over = |count: &str| {
        zext(f("addr"), fw("addr"), 18)
            .add(zext(f(count), fw(count), 18))
            .gt(sized(18, u64::from(g.sbuf_depth)))
    };
    let pend2 = |v: u64| id(n.pend).eq(sized(2, v));
    vec![
        wire_init(
            &out("k_bad"),
            None,
            is("is_ls").or(is("is_mm")).and(range("k", g.rows)),
        ),
        wire_init(&out("m_bad"), None, is("is_ls").and(range("m", g.cols))),
        wire_init(
            &out("n_bad"),
            None,
            is("is_mm").and(range("n", g.psum_depth)),
        ),
        wire_init(
            &out("sbuf_bad"),
            None,
            is("is_ls")
                .and(sbuf_over("k"))
                .or(is("is_mm").and(sbuf_over("n"))),
        ),
        wire_init(
            &out("bank_bad"),
            None,
            is("is_mm").and(
                zext(f("bank"), fw("bank"), fw("bank") + 1)
                    .ge(sized(fw("bank") + 1, u64::from(g.banks))),
            ),
        ),
        wire_init(
            &out("psum_bad"),
            None,
            is("is_mm").and(
                zext(f("offset"), fw("offset"), 14)
                    .add(zext(f("n"), fw("n"), 14))
                    .gt(sized(14, u64::from(g.psum_depth))),
            ),
        ),
        wire_init(
            &out("swap_bad"),
            None,
            is("is_ls")
                .and(pend2(u64::from(MAX_PENDING_LOADS)))
                .or(is("is_mm").and(cond(f("swap"), pend2(0), not(id(n.in_use))))),
        ),
    ]
}

/// The dispatcher: the first failing check (`chk`), whether the head is valid (`hv`), good
/// (`ok`) or bad (`bad`), and the three dispatch strobes `go_ls` (the waiting-load register is
/// free), `go_mm` (the header register and the moving FIFO have room), `go_fence` (`idle`);
/// `pop` when one fires.
fn dispatch() -> Vec<Item> {
    let checks = [
        (
            not(id("is_ls").or(id("is_mm")).or(id("is_fence"))),
            ErrorCode::IllegalOpcode,
        ),
        (id("unused_set"), ErrorCode::UnusedBitsSet),
        (id("k_bad"), ErrorCode::KRange),
        (id("m_bad"), ErrorCode::MRange),
        (id("n_bad"), ErrorCode::NRange),
        (id("sbuf_bad"), ErrorCode::SbufRange),
        (id("bank_bad"), ErrorCode::BankRange),
        (id("psum_bad"), ErrorCode::PsumRange),
        (id("swap_bad"), ErrorCode::SwapWithoutLoad),
    ];
    let mut chk = code(ErrorCode::None);
    for (c, e) in checks.into_iter().rev() {
        chk = cond(c, code(e), chk);
    }
    vec![
        wire_init("chk", bits(8), chk),
        wire_init(
            "hv",
            None,
            id("q_cnt")
                .ne(sized(QC, 0))
                .and(not(id("err")))
                .and(not(id("clear_error"))),
        ),
        wire_init(
            "ok",
            None,
            id("hv").and(id("chk").eq(code(ErrorCode::None))),
        ),
        wire_init(
            "bad",
            None,
            id("hv").and(id("chk").ne(code(ErrorCode::None))),
        ),
        wire_init(
            "go_ls",
            None,
            id("ok").and(id("is_ls")).and(not(id("wl_valid"))),
        ),
        wire_init(
            "go_mm",
            None,
            id("ok")
                .and(id("is_mm"))
                .and(not(id("mm_valid")).or(id("mm_ready")))
                .and(id("mvq_cnt").ne(sized(2, 2))),
        ),
        wire_init(
            "go_fence",
            None,
            id("ok").and(id("is_fence")).and(id("idle")),
        ),
        wire_init("pop", None, id("go_ls").or(id("go_mm")).or(id("go_fence"))),
    ]
}

/// The loaded stationaries: `pend` loads dispatched and not yet claimed by a swap, their m and
/// k in order (`mf0`/`kf0` the older), the m and k of the one in use (`cur_*`, `in_use`); the
/// m (`m_sel`) and clamped k (`k_eff`) a MULTIPLY_MOVING at the head will run with.
pub(super) fn loaded_stationaries(g: &Geometry) -> Vec<Item> {
    let (k_new, m_new) = (k_new(g), m_new(g));
    vec![
        Item::Blank,
        comment("---- Loaded stationaries: pending loads (their m in order), the one in use ----"),
        reg("pend", bits(2)),
        reg("mf0", bits(g.m_w)),
        reg("mf1", bits(g.m_w)),
        reg("cur_m", bits(g.m_w)),
        reg("kf0", bits(g.k_w)),
        reg("kf1", bits(g.k_w)),
        reg("cur_k", bits(g.k_w)),
        reg("in_use", None),
        wire_init("m_sel", bits(g.m_w), cond(f("swap"), id("mf0"), id("cur_m"))),
        comment("The rows the core may use: never more than the stationary has (this is what lets the core swap early, ls_gapless)."),
        wire_init("k_sel", bits(g.k_w), cond(f("swap"), id("kf0"), id("cur_k"))),
        wire_init(
            "k_eff",
            bits(g.k_w),
            cond(k_new.clone().lt(id("k_sel")), k_new.clone(), id("k_sel")),
        ),
        assign(id("pend_loads"), id("pend")),
        assign(id("stationary"), id("in_use")),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("pend"), sized(2, 0)), nb(id("in_use"), bit(false))],
            vec![
                if_(
                    id("clear_error").and(cnt2("pend", 2)),
                    vec![
                        Stmt::Comment(
                            "CLEAR_ERROR drops the load that waits (see wl_valid).".into(),
                        ),
                        nb(id("pend"), sized(2, 1)),
                    ],
                ),
                if_(
                    id("go_ls"),
                    vec![
                        nb(id("pend"), inc("pend", 2)),
                        if_else(
                            cnt2("pend", 0),
                            vec![nb(id("mf0"), m_new.clone()), nb(id("kf0"), k_new.clone())],
                            vec![nb(id("mf1"), m_new), nb(id("kf1"), k_new)],
                        ),
                    ],
                ),
                if_(
                    id("go_mm").and(f("swap")),
                    vec![
                        nb(id("pend"), dec("pend", 2)),
                        nb(id("mf0"), id("mf1")),
                        nb(id("cur_m"), id("mf0")),
                        nb(id("kf0"), id("kf1")),
                        nb(id("cur_k"), id("kf0")),
                        nb(id("in_use"), bit(true)),
                    ],
                ),
            ],
        )]),
    ]
}

/// The MULTIPLY_MOVING header register: loaded by `go_mm`, held until `mm_ready`; drives the
/// core's `mm_*` port.
pub(super) fn header_register(g: &Geometry) -> Vec<Item> {
    vec![
        Item::Blank,
        comment("---- MultiplyMoving header register (drives the core's mm port) ----"),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("mm_valid"), bit(false))],
            vec![if_else(
                id("go_mm"),
                vec![nb(id("mm_valid"), bit(true))],
                vec![if_(id("mm_ready"), vec![nb(id("mm_valid"), bit(false))])],
            )],
        )]),
        always(vec![if_(
            id("go_mm"),
            vec![
                nb(id("mm_k"), id("k_eff")),
                nb(id("mm_m"), id("m_sel")),
                nb(id("mm_n"), bits_of(f("n"), 0, g.n_w)),
                nb(id("mm_bank"), bits_of(f("bank"), 0, g.bank_w)),
                nb(id("mm_offset"), bits_of(f("offset"), 0, g.paddr_w)),
                nb(id("mm_acc"), f("acc")),
                nb(id("mm_swap"), f("swap")),
            ],
        )]),
    ]
}

/// The load streamer: the waiting-load register `wl_*` (loaded by `go_ls`, started by
/// `wl_start`), the active load `ld_*` issuing reads of SBUF port L, the beat's tags `lq_*`
/// and the `ls` stream (columns >= m forced to 0). Out: `ld_act`, `ls_fire`, `lq_last`. With
/// `shared` (the memory path) its reads of port L are `s_l_en`, `s_l_addr`, which the caller
/// merges with the DMA's.
pub(super) fn load_streamer(g: &Geometry, shared: bool) -> Vec<Item> {
    let (en, addr) = if shared {
        ("s_l_en", "s_l_addr")
    } else {
        ("l_en", "l_addr")
    };
    let shared_nets = if shared {
        let mut v = vec![wire(en, None), wire(addr, bits(g.sa_w))];
        v.extend(load_hold(g));
        v
    } else {
        vec![]
    };
    vec![
        Item::Blank,
        comment("---- Load streamer: K reads of SBUF port L; the port's output register holds the beat ----"),
        comment("A dispatched load waits in wl_* until every earlier load is claimed by a dispatched"),
        comment("swap (pend <= 1): only then is ls_ready sure to rise for it. CLEAR_ERROR drops it."),
        reg("wl_valid", None),
        reg("wl_addr", bits(g.sa_w)),
        reg("wl_k", bits(g.k_w)),
        reg("wl_m", bits(g.m_w)),
        wire_init(
            "wl_start",
            None,
            id("wl_valid")
                .and(not(id("ld_act")))
                .and(id("pend").ne(sized(2, 2))),
        ),
        reg("ld_act", None),
        reg("ld_addr", bits(g.sa_w)),
        reg("ld_left", bits(g.k_w)),
        reg("ld_m", bits(g.m_w)),
        reg("lq_last", None),
        reg("lq_m", bits(g.m_w)),
        wire_init("l_adv", None, not(id("ls_valid")).or(id("ls_ready"))),
        wire_init("l_issue", None, id("l_adv").and(id("ld_act"))),
        wire_init(
            "ld_end",
            None,
            id("l_issue").and(id("ld_left").eq(sized(g.k_w, 1))),
        ),
        wire_init("ls_fire", None, id("ls_valid").and(id("ls_ready"))),
        assign(id(en), id("l_issue")),
        assign(id(addr), id("ld_addr")),
        assign(id("ls_last"), id("lq_last")),
        load_columns(g, if shared { "l_beat" } else { "l_data" }),
        load_control(),
        load_data(g),
    ]
    .into_iter()
    .chain(shared_nets)
    .collect()
}

/// With the memory path: a beat the core has not taken is copied into `lh_data` at the edge
/// after it arrives (`lh_v`), so the port's output register is free for the DMA's reads while
/// the streamer waits for `ls_ready` (the early swap's next stationary can wait a whole
/// multiply); the stream reads `l_beat`, the held copy or the port.
fn load_hold(g: &Geometry) -> Vec<Item> {
    let w = g.cols * g.data_w;
    vec![
        reg("lh_v", None),
        reg("lh_data", bits(w)),
        wire_init(
            "l_beat",
            bits(w),
            cond(id("lh_v"), id("lh_data"), id("l_data")),
        ),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("lh_v"), bit(false))],
            vec![if_else(
                id("ls_fire").or(not(id("ls_valid"))),
                vec![nb(id("lh_v"), bit(false))],
                vec![nb(id("lh_v"), bit(true))],
            )],
        )]),
        always(vec![if_(
            id("ls_valid").and(not(id("ls_ready"))).and(not(id("lh_v"))),
            vec![nb(id("lh_data"), id("l_data"))],
        )]),
    ]
}

/// `ls_data`: column c of the beat (`port`: SBUF port L, or its held copy) while c < m of the
/// beat, else 0.
fn load_columns(g: &Geometry, port: &str) -> Item {
    let column = |bus: &str| {
        id(bus).part(
            id("c").mul(int(i64::from(g.data_w))),
            int(i64::from(g.data_w)),
        )
    };
    gen_for(
        "c",
        int(0),
        int(i64::from(g.cols)),
        "g_ls_col",
        vec![assign(
            column("ls_data"),
            cond(id("lq_m").gt(id("c")), column(port), sized(g.data_w, 0)),
        )],
    )
}

/// The load streamer's valids: `wl_valid`, `ld_act`, `ls_valid`.
fn load_control() -> Item {
    always(vec![if_else(
        id("rst"),
        vec![
            nb(id("wl_valid"), bit(false)),
            nb(id("ld_act"), bit(false)),
            nb(id("ls_valid"), bit(false)),
        ],
        vec![
            if_else(
                id("go_ls"),
                vec![nb(id("wl_valid"), bit(true))],
                vec![if_(
                    id("wl_start").or(id("clear_error").and(cnt2("pend", 2))),
                    vec![nb(id("wl_valid"), bit(false))],
                )],
            ),
            if_(id("l_adv"), vec![nb(id("ls_valid"), id("ld_act"))]),
            if_else(
                id("wl_start"),
                vec![nb(id("ld_act"), bit(true))],
                vec![if_(id("ld_end"), vec![nb(id("ld_act"), bit(false))])],
            ),
        ],
    )])
}

/// The load streamer's data registers: the waiting load, the active load's address and rows
/// left, the beat's tags.
fn load_data(g: &Geometry) -> Item {
    always(vec![
        if_(
            id("go_ls"),
            vec![
                nb(id("wl_addr"), bits_of(f("addr"), 0, g.sa_w)),
                nb(id("wl_k"), k_new(g)),
                nb(id("wl_m"), m_new(g)),
            ],
        ),
        if_else(
            id("wl_start"),
            vec![
                nb(id("ld_addr"), id("wl_addr")),
                nb(id("ld_left"), id("wl_k")),
                nb(id("ld_m"), id("wl_m")),
            ],
            vec![if_(
                id("l_issue"),
                vec![
                    nb(id("ld_addr"), inc("ld_addr", g.sa_w)),
                    nb(id("ld_left"), dec("ld_left", g.k_w)),
                ],
            )],
        ),
        if_(
            id("l_issue"),
            vec![
                nb(id("lq_last"), id("ld_left").eq(sized(g.k_w, 1))),
                nb(id("lq_m"), id("ld_m")),
            ],
        ),
    ])
}

/// The moving-command FIFO's fields: name, width, the value `go_mm` writes.
fn moving_fields(g: &Geometry) -> [(&'static str, u32, Expr); 3] {
    [
        ("addr", g.sa_w, bits_of(f("addr"), 0, g.sa_w)),
        ("n", g.n_w, bits_of(f("n"), 0, g.n_w)),
        ("km", g.km_w, id("km_new")),
    ]
}

/// The moving streamer: a 2-entry command FIFO (`mvq0_*` head, `mvq1_*` tail, written by
/// `go_mm`), the active command `mv_*` issuing reads of SBUF port M, the beat's tags `mq_*`
/// and the `mv` stream. Out: `mv_act`, `mvq_cnt`, `mv_fire`, `mq_last`, `mq_km`. With
/// `shared`, its reads of port M are `s_m_en`, `s_m_addr` (see [`load_streamer`]).
pub(super) fn moving_streamer(g: &Geometry, shared: bool) -> Vec<Item> {
    let (en, addr) = if shared {
        ("s_m_en", "s_m_addr")
    } else {
        ("m_en", "m_addr")
    };
    let shared_nets = if shared {
        vec![wire(en, None), wire(addr, bits(g.sa_w))]
    } else {
        vec![]
    };
    let km_new = zext(k_new(g), g.k_w, g.km_w).mul(zext(id("m_sel"), g.m_w, g.km_w));
    let mut items = vec![
        Item::Blank,
        comment(
            "---- Moving streamer: a 2-entry command FIFO, the active command, SBUF port M ----",
        ),
        wire_init("km_new", bits(g.km_w), km_new),
        reg("mvq_cnt", bits(2)),
    ];
    for (name, w, _) in moving_fields(g) {
        items.push(reg(&format!("mvq0_{name}"), bits(w)));
        items.push(reg(&format!("mvq1_{name}"), bits(w)));
    }
    items.extend([
        reg("mv_act", None),
        reg("mv_addr", bits(g.sa_w)),
        reg("mv_left", bits(g.n_w)),
        reg("mv_km", bits(g.km_w)),
        reg("mq_last", None),
        reg("mq_km", bits(g.km_w)),
        wire_init("m_adv", None, not(id("mv_valid")).or(id("mv_ready"))),
        wire_init("m_issue", None, id("m_adv").and(id("mv_act"))),
        wire_init(
            "mv_end",
            None,
            id("m_issue").and(id("mv_left").eq(sized(g.n_w, 1))),
        ),
        wire_init(
            "mv_take",
            None,
            id("mvq_cnt")
                .ne(sized(2, 0))
                .and(not(id("mv_act")).or(id("mv_end"))),
        ),
        wire_init("mv_fire", None, id("mv_valid").and(id("mv_ready"))),
        assign(id(en), id("m_issue")),
        assign(id(addr), id("mv_addr")),
        assign(id("mv_data"), id("m_data")),
        moving_control(),
        moving_data(g),
    ]);
    items.extend(shared_nets);
    items
}

/// The moving streamer's valids and the FIFO count: `mv_act`, `mv_valid`, `mvq_cnt`.
fn moving_control() -> Item {
    always(vec![if_else(
        id("rst"),
        vec![
            nb(id("mv_act"), bit(false)),
            nb(id("mv_valid"), bit(false)),
            nb(id("mvq_cnt"), sized(2, 0)),
        ],
        vec![
            if_(id("m_adv"), vec![nb(id("mv_valid"), id("mv_act"))]),
            if_else(
                id("mv_take"),
                vec![nb(id("mv_act"), bit(true))],
                vec![if_(id("mv_end"), vec![nb(id("mv_act"), bit(false))])],
            ),
            nb(
                id("mvq_cnt"),
                id("mvq_cnt")
                    .add(zext(id("go_mm"), 1, 2))
                    .sub(zext(id("mv_take"), 1, 2)),
            ),
        ],
    )])
}

/// The moving streamer's data registers: the active command (taken from the FIFO's head by
/// `mv_take`, stepped by `m_issue`), the beat's tags, the FIFO's entries.
fn moving_data(g: &Geometry) -> Item {
    // The active command's register a FIFO field loads.
    let active = |name: &str| {
        if name == "n" {
            "mv_left".to_string()
        } else {
            format!("mv_{name}")
        }
    };
    let (mut take, mut shift, mut new0, mut new1) = (vec![], vec![], vec![], vec![]);
    for (name, _, value) in moving_fields(g) {
        let q0 = format!("mvq0_{name}");
        let q1 = format!("mvq1_{name}");
        take.push(nb(id(&active(name)), id(&q0)));
        shift.push(nb(id(&q0), id(&q1)));
        new0.push(nb(id(&q0), value.clone()));
        new1.push(nb(id(&q1), value));
    }
    let step = vec![
        nb(id("mv_addr"), inc("mv_addr", g.sa_w)),
        nb(id("mv_left"), dec("mv_left", g.n_w)),
    ];
    always(vec![
        if_else(id("mv_take"), take, vec![if_(id("m_issue"), step)]),
        if_(
            id("m_issue"),
            vec![
                nb(id("mq_last"), id("mv_left").eq(sized(g.n_w, 1))),
                nb(id("mq_km"), id("mv_km")),
            ],
        ),
        Stmt::Comment("FIFO: head mvq0, tail mvq1 (go_mm only when not full).".into()),
        if_else(
            id("mv_take").and(cnt2("mvq_cnt", 2)),
            shift,
            vec![if_else(
                id("go_mm").and(
                    id("mv_take")
                        .and(cnt2("mvq_cnt", 1))
                        .or(not(id("mv_take")).and(cnt2("mvq_cnt", 0))),
                ),
                new0,
                vec![if_(id("go_mm").and(cnt2("mvq_cnt", 1)), new1)],
            )],
        ),
    ])
}

/// FENCE condition and busy: `idle` (streamers, header register and core idle), `st_busy`,
/// `st_stalled`.
fn status() -> Vec<Item> {
    vec![
        Item::Blank,
        comment("---- FENCE condition, busy, error register, counters ----"),
        wire_init(
            "idle",
            None,
            not(id("ld_act"))
                .and(not(id("ls_valid")))
                .and(not(id("mv_act")))
                .and(not(id("mv_valid")))
                .and(cnt2("mvq_cnt", 0))
                .and(not(id("mm_valid")))
                .and(not(id("core_busy"))),
        ),
        wire_init(
            "work",
            None,
            id("q_cnt")
                .ne(sized(QC, 0))
                .and(not(id("err")))
                .or(not(id("idle"))),
        ),
        assign(
            id("st_stalled"),
            id("wl_valid").and(cnt2("pend", 2)).and(not(id("work"))),
        ),
        assign(id("st_busy"), id("work").or(id("wl_valid"))),
    ]
}

/// The error register: the first failing check (`bad`, `chk`) or bus error (`bus_err`,
/// `bus_code`) since `clear_error`; `err` stops dispatch.
fn error_register() -> Vec<Item> {
    vec![
        reg("err", None),
        reg("err_code", bits(8)),
        assign(id("st_error"), id("err")),
        assign(id("st_code"), id("err_code")),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("err"), bit(false)),
                nb(id("err_code"), code(ErrorCode::None)),
            ],
            vec![if_else(
                id("clear_error"),
                vec![
                    Stmt::Comment("A bus error in the same cycle (from a read) is kept.".into()),
                    nb(id("err"), id("bus_err")),
                    nb(
                        id("err_code"),
                        cond(id("bus_err"), id("bus_code"), code(ErrorCode::None)),
                    ),
                ],
                vec![if_(
                    not(id("err")).and(id("bad").or(id("bus_err"))),
                    vec![
                        nb(id("err"), bit(true)),
                        nb(id("err_code"), cond(id("bad"), id("chk"), id("bus_code"))),
                    ],
                )],
            )],
        )]),
    ]
}

/// The counters: `cycles` (busy, not stalled), `macs` (k*m per moving beat), `retired` (a load
/// at its last beat, a multiply at its last beat, a FENCE at dispatch).
fn counters(g: &Geometry) -> Vec<Item> {
    vec![
        wire_init("ls_ret", None, id("ls_fire").and(id("lq_last"))),
        wire_init("mv_ret", None, id("mv_fire").and(id("mq_last"))),
        always(vec![if_else(
            id("rst").or(id("clear_counters")),
            vec![
                nb(id("cycles"), sized(64, 0)),
                nb(id("macs"), sized(64, 0)),
                nb(id("retired"), sized(32, 0)),
            ],
            vec![
                if_(
                    id("st_busy").and(not(id("st_stalled"))),
                    vec![nb(id("cycles"), inc("cycles", 64))],
                ),
                if_(
                    id("mv_fire"),
                    vec![nb(
                        id("macs"),
                        id("macs").add(zext(id("mq_km"), g.km_w, 64)),
                    )],
                ),
                nb(
                    id("retired"),
                    id("retired").add(zext(
                        zext(id("ls_ret"), 1, 2)
                            .add(zext(id("mv_ret"), 1, 2))
                            .add(zext(id("go_fence"), 1, 2)),
                        2,
                        32,
                    )),
                ),
            ],
        )]),
    ]
}

/// The ports both sequencers share; `qc` is the width of `q_free` (the queue's count bits).
pub(super) fn ports(g: &Geometry, qc: u32) -> Vec<Port> {
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("q_push", None, "push q_word (never when full)"),
        input("q_word", bits(64), "instruction"),
        input("clear_error", None, "clear the error, empty the queue"),
        input("clear_counters", None, ""),
        input("bus_err", None, "the bus slave reports an error"),
        input("bus_code", bits(8), "its isa::ErrorCode"),
        output("q_free", bits(qc), "free queue slots"),
        output("st_busy", None, "see the timing contract"),
        output(
            "st_stalled",
            None,
            "only a load that waits for an unissued swap",
        ),
        output("st_error", None, "dispatch stopped by an error"),
        output("st_code", bits(8), "first error since clear_error"),
        output("pend_loads", bits(2), "loads not yet claimed by a swap"),
        output("stationary", None, "a stationary is in use"),
        output_reg("cycles", bits(64), "busy cycles"),
        output_reg("macs", bits(64), "useful MACs"),
        output_reg("retired", bits(32), "instructions retired"),
        output("l_en", None, "SBUF port L"),
        output("l_addr", bits(g.sa_w), ""),
        input("l_data", bits(g.cols * g.data_w), ""),
        output("m_en", None, "SBUF port M"),
        output("m_addr", bits(g.sa_w), ""),
        input("m_data", bits(g.rows * g.data_w), ""),
        output_reg("ls_valid", None, "core: stationary rows"),
        input("ls_ready", None, ""),
        output("ls_data", bits(g.cols * g.data_w), ""),
        output("ls_last", None, ""),
        output_reg("mm_valid", None, "core: MultiplyMoving header"),
        input("mm_ready", None, ""),
        output_reg("mm_k", bits(g.k_w), ""),
        output_reg("mm_m", bits(g.m_w), ""),
        output_reg("mm_n", bits(g.n_w), ""),
        output_reg("mm_bank", bits(g.bank_w), ""),
        output_reg("mm_offset", bits(g.paddr_w), ""),
        output_reg("mm_acc", None, ""),
        output_reg("mm_swap", None, ""),
        output_reg("mv_valid", None, "core: moving columns"),
        input("mv_ready", None, ""),
        output("mv_data", bits(g.rows * g.data_w), ""),
        input("core_busy", None, "the core's busy"),
    ]
}
