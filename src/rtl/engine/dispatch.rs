//! `systolic_sequencer` with the memory path (`dma = true`): the instruction queue, the
//! in-order dispatcher with every check of `engine::checks`, three engine FIFOs (PE, DMA, ACT),
//! the PE engine (the register-path sequencer's streamers, fed from its FIFO), the fronts of
//! the DMA and ACT engines, WAIT and SIGNAL on 8 semaphores, the error register and the
//! counters. Without `dma` the sequencer is [`super::sequencer`]'s alone.
//!
//! Timing contract (a beat fires in cycle t when valid and ready are both high in t):
//! - Queue: 64 x 64-bit words (`sequencer::DMA_QUEUE_DEPTH`), pushed by the bus (`q_push`, `q_word`) or the fetch unit
//!   (`f_push`, `f_word`; never both in a cycle: the bus refuses INSTR_HI while fetching), one
//!   word per cycle, visible at the head in the next cycle; no push is taken in a CLEAR_ERROR
//!   cycle (the writers stop then). `q_free` is registered.
//! - Dispatch: at most one instruction per cycle, in order, once all its words (1 to 3) are in
//!   the queue: the checks of `engine::checks` in its order (IllegalOpcode, UnusedBitsSet, a
//!   WAIT / SIGNAL naming engine 3, the PE checks against the loads as dispatched (`dp_*`),
//!   DmaRange, DmaAlign, ActRange), all combinational from the head words. A good
//!   instruction moves into its engine's FIFO (8 entries: PE 62 bits, DMA 3 words, ACT 2 words)
//!   when it has room, all its words leaving the queue at that edge; FENCE instead waits until
//!   the three FIFOs are empty, the PE engine idle (as the register path defines it: a load
//!   waiting for its swap does not count), the DMA and ACT engines idle and no signal pending
//!   (but PE signals waiting for a load that is not streamed yet), and retires. A failing
//!   instruction stops dispatch with its code (the engines go on with their FIFOs).
//! - Engines: each takes the head of its FIFO when it can: a WAIT when `(sem - value) mod 2^16
//!   < 2^15` (it retires then); a SIGNAL when its signal unit has room (below); PE: a
//!   LOAD_STATIONARY into the waiting-load register (`go_ls`) and a MULTIPLY_MOVING into the
//!   header register (`go_mm`), exactly as the register path dispatches them; DMA: a DMA
//!   instruction when the DMA engine is not busy (`dma_go`, with its three words); ACT: an
//!   ACTIVATE when `act_ready` (`act_go`, two words). One instruction per engine per cycle.
//! - Completions: PE loads when their last row fires into the core (`ls_ret`), PE multiplies by
//!   the core's `mm_done` pulses, DMA and ACT instructions by `dma_done` / `act_done`; each
//!   engine counts instructions taken and completed (16 bits, wrapping).
//! - SIGNAL: taken from its FIFO at once (the engine goes on), it waits in its engine's
//!   signal unit (2 slots) for every instruction of that engine taken before it to complete
//!   (the counts taken when it was taken, compared wrapping); the oldest slot fires
//!   (`sem += 1` for each of its signals) as soon as that holds. A SIGNAL finding both slots
//!   busy joins the younger one when no instruction it must wait for differently came between
//!   (PE: no load; DMA, ACT: no instruction), else it waits at the head of its FIFO: a PE
//!   signal never waits behind a load that waits for a swap further down the same FIFO.
//!   After a DMA error the DMA unit drops the slots that can no longer fire once the DMA is
//!   idle (their instruction failed, as the golden model discards them).
//! - Semaphores: 8 x 16 bits, `sems[16k +: 16]`, zero at reset, CONTROL.CLEAR_SEMS
//!   (`clear_sems`) and an accepted START (`f_sems_clear`); the increments of one cycle add up.
//! - Errors: the first of a failing dispatch check, a bus error (`bus_err`), a DMA error
//!   (`dma_err`: DmaBus; the DMA FIFO is emptied at that edge) and a fetch error (`f_err`,
//!   `f_code`) since CLEAR_ERROR is kept. `clear_error` empties the queue, the three FIFOs, the
//!   signal units and a load waiting for its swap in one cycle, keeps the semaphores.
//! - SBUF ports: the streamers own ports L and M; the DMA reads them (`d_l_en`, `d_m_en`) only
//!   when `l_free` / `m_free` say the streamer does not read in that cycle (port L: a beat the
//!   core has not taken is copied into the load streamer's holding register, so the port is
//!   free while it waits) and, for port M, the port's output register is not holding a beat.
//! - Status: `st_busy` while anything is queued (and no error), in a FIFO, in an engine,
//!   streaming, in the core, pending in a signal unit, fetching or a multiply's completion not
//!   yet reported; `st_stalled` while busy but nothing can move (every engine at an
//!   unsatisfied WAIT or empty, a load waiting for a swap nobody pushed, a partial instruction,
//!   ...): the host's wait returns then.
//! - Counters: `cycles` (busy, not stalled), `macs`, `retired` (every instruction: a WAIT when
//!   satisfied, a SIGNAL when it fires, a DMA or ACT instruction when it completes, LS / MM /
//!   FENCE as before), `dma_rd_bytes` / `dma_wr_bytes` (bytes of completed DMA loads / stores,
//!   32 bits); `clear_counters` zeroes them all.

use crate::config::{Config, Geometry};
use crate::engine::checks::format_dtype;
use crate::isa::{self, field_of, ErrorCode, Opcode, ENGINE_FIFO_DEPTH, FIELDS, SEMAPHORES};
use crate::verilog::*;

use super::blocks::{fifo, times_pow2, FifoStatus};
use super::sequencer::{self, cnt2, code, PeNames, DMA_QUEUE_DEPTH as QUEUE_DEPTH};

const QA: u32 = QUEUE_DEPTH.trailing_zeros();
const QC: u32 = QA + 1;
const FD: u32 = ENGINE_FIFO_DEPTH as u32;

/// The engines' prefixes: PE, DMA, ACT.
const ENGINES: [&str; 3] = ["pe", "dma", "act"];

pub fn module(cfg: &Config, g: &Geometry) -> Module {
    let mut items = queue();
    items.extend(head_decode(g));
    items.extend(dma_checks(g));
    items.extend(act_checks(cfg, g));
    items.extend(dispatch());
    items.extend(engine_fifos());
    items.extend(pe_decode());
    items.extend(sequencer::loaded_stationaries(g));
    items.extend(sequencer::header_register(g));
    items.extend(sequencer::load_streamer(g, true));
    items.extend(sequencer::moving_streamer(g, true));
    items.extend(port_sharing(g));
    items.extend(fronts());
    items.extend(completions());
    items.extend(signal_unit("pe", &[("ls", true), ("mm", false)], false));
    items.extend(signal_unit("dma", &[("dma", true)], true));
    items.extend(signal_unit("act", &[("act", true)], false));
    items.extend(semaphores());
    items.extend(status());
    items.extend(error_register());
    items.extend(counters(g));
    Module {
        name: "systolic_sequencer".into(),
        doc: vec![
            "Sequencer with the memory path: 64 x 64-bit instruction queue, in-order dispatch of"
                .into(),
            "1- to 3-word instructions with the checks of engine::checks into the PE, DMA and ACT"
                .into(),
            "FIFOs (8 entries each), the PE engine (load and moving streamers), WAIT / SIGNAL on"
                .into(),
            "8 semaphores, error register, counters (see src/rtl/engine/dispatch.rs).".into(),
        ],
        params: vec![],
        ports: ports(g),
        items: hoist(items),
    }
}

/// The queue: one push per cycle (bus or fetch), the head's three words `hw0..hw2`, `q_pop_n`
/// words popped by a dispatch.
fn queue() -> Vec<Item> {
    let depth = u64::from(QUEUE_DEPTH);
    vec![
        comment("---- Instruction queue: pushed by the bus or the fetch unit ----"),
        memory("q_mem", bits(64), int(i64::from(QUEUE_DEPTH))),
        reg("q_wp", bits(QA)),
        reg("q_rp", bits(QA)),
        reg("q_cnt", bits(QC)),
        wire_init("q_full", None, id("q_cnt").eq(sized(QC, depth))),
        wire_init(
            "push_ok",
            None,
            id("q_push")
                .or(id("f_push"))
                .and(not(id("q_full")))
                .and(not(id("clear_error"))),
        ),
        wire_init(
            "push_word",
            bits(64),
            cond(id("f_push"), id("f_word"), id("q_word")),
        ),
        wire_init("q_rp1", bits(QA), id("q_rp").add(sized(QA, 1))),
        wire_init("q_rp2", bits(QA), id("q_rp").add(sized(QA, 2))),
        wire_init("hw0", bits(64), id("q_mem").at(id("q_rp"))),
        wire_init("hw1", bits(64), id("q_mem").at(id("q_rp1"))),
        wire_init("hw2", bits(64), id("q_mem").at(id("q_rp2"))),
        assign(id("q_free"), sized(QC, depth).sub(id("q_cnt"))),
        wire_init(
            "q_pop_n",
            bits(QC),
            cond(id("d_go"), zext(id("d_need"), 2, QC), sized(QC, 0)),
        ),
        always(vec![if_(
            id("push_ok"),
            vec![nb(id("q_mem").at(id("q_wp")), id("push_word"))],
        )]),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("q_wp"), sized(QA, 0)),
                nb(id("q_rp"), sized(QA, 0)),
                nb(id("q_cnt"), sized(QC, 0)),
            ],
            vec![
                if_(id("push_ok"), vec![nb(id("q_wp"), sequencer_inc("q_wp"))]),
                if_else(
                    id("clear_error"),
                    vec![nb(id("q_rp"), id("q_wp")), nb(id("q_cnt"), sized(QC, 0))],
                    vec![
                        nb(id("q_rp"), id("q_rp").add(bits_of(id("q_pop_n"), 0, QA))),
                        nb(
                            id("q_cnt"),
                            id("q_cnt")
                                .add(zext(id("push_ok"), 1, QC))
                                .sub(id("q_pop_n")),
                        ),
                    ],
                ),
            ],
        )]),
    ]
}

fn sequencer_inc(name: &str) -> Expr {
    inc(name, QA)
}

/// The bits of `field` of opcode `op` in the head words.
fn head_field(op: Opcode, name: &str) -> Expr {
    let f = field_of(op, name);
    bits_of(id(&format!("hw{}", f.word)), f.lsb, f.width)
}

/// The head's opcode flags (`d_is_*`), words (`d_need`), validity (`d_hv`), its fields (`d_*`
/// of the tensor instructions, `dd_*` DMA, `da_*` ACTIVATE, `dw_*` WAIT / SIGNAL), the
/// unused-bits check and the PE checks.
fn head_decode(g: &Geometry) -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("---- Decode of the head instruction ----"),
        wire_init("d_op", bits(4), bits_of(id("hw0"), 0, 4)),
    ];
    let flags = [
        ("ls", Opcode::LoadStationary),
        ("mm", Opcode::MultiplyMoving),
        ("fence", Opcode::Fence),
        ("dl", Opcode::DmaLoad),
        ("ds", Opcode::DmaStore),
        ("act", Opcode::Activate),
        ("wait", Opcode::Wait),
        ("sig", Opcode::Signal),
    ];
    for (n, op) in flags {
        items.push(wire_init(
            &format!("d_is_{n}"),
            None,
            id("d_op").eq(sized(4, op as u64)),
        ));
    }
    let any = |names: &[&str]| {
        names
            .iter()
            .map(|n| id(&format!("d_is_{n}")))
            .reduce(|a, b| a.or(b))
            .expect("names")
    };
    items.extend([
        wire_init("d_is_dma", None, any(&["dl", "ds"])),
        wire_init("d_is_ws", None, any(&["wait", "sig"])),
        wire_init(
            "d_legal",
            None,
            any(&["ls", "mm", "fence", "dl", "ds", "act", "wait", "sig"]),
        ),
        wire_init(
            "d_need",
            bits(2),
            cond(
                id("d_is_dma"),
                sized(2, 3),
                cond(id("d_is_act"), sized(2, 2), sized(2, 1)),
            ),
        ),
        wire_init(
            "d_hv",
            None,
            id("q_cnt")
                .ge(zext(id("d_need"), 2, QC))
                .and(not(id("err")))
                .and(not(id("clear_error"))),
        ),
    ]);
    // The tensor instructions' fields the checks read (not `op`, decoded above, nor `acc`).
    for fl in FIELDS.iter().filter(|f| !["op", "acc"].contains(&f.name)) {
        items.push(wire_init(
            &format!("d_{}", fl.name),
            bits(fl.width),
            bits_of(id("hw0"), fl.lsb, fl.width),
        ));
    }
    let mut seen = vec![];
    for (prefix, op) in [
        ("dd", Opcode::DmaLoad),
        ("da", Opcode::Activate),
        ("dw", Opcode::Wait),
    ] {
        for fl in isa::MEMORY_FIELDS
            .iter()
            .filter(|f| f.used_by.contains(&op))
        {
            let name = format!("{prefix}_{}", fl.name);
            // WAIT / SIGNAL: only `engine` is checked at dispatch.
            let skip = fl.name == "op" || (prefix == "dw" && fl.name != "engine");
            if skip || seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            items.push(wire_init(&name, bits(fl.width), head_field(op, fl.name)));
        }
    }
    // Unused bits of every word of the head's instruction.
    let mut unused = vec![];
    for (n, op) in flags {
        let mut terms = vec![];
        for w in 0..op.words() as u32 {
            let mask = isa::used_mask(op, w);
            terms.push(
                id(&format!("hw{w}"))
                    .bit_and(sized(64, !mask))
                    .ne(sized(64, 0)),
            );
        }
        let t = terms.into_iter().reduce(|a, b| a.or(b)).expect("a word");
        unused.push(id(&format!("d_is_{n}")).and(t));
    }
    items.push(wire_init(
        "d_unused",
        None,
        unused.into_iter().reduce(|a, b| a.or(b)).expect("opcodes"),
    ));
    items.push(wire_init(
        "d_ws_bad",
        None,
        id("d_is_ws").and(id("dw_engine").eq(sized(2, 3))),
    ));
    items.extend(sequencer::pe_checks(
        g,
        &PeNames {
            field: "d_",
            flag: "d_",
            pend: "dp_pend",
            in_use: "dp_in_use",
            out: "d_",
        },
    ));
    items
}

/// DmaRange and DmaAlign of the head (`engine::checks::check_dma`).
fn dma_checks(g: &Geometry) -> Vec<Item> {
    let dd = |n: &str| id(&format!("dd_{n}"));
    let s17 = |e: Expr, w: u32| zext(e, w, 17);
    let tw = u64::from(2 * g.cols);
    let ebb = u64::from(g.ebb);
    let zero = |n: &str, w: u32| dd(n).eq(sized(w, 0));
    vec![
        Item::Blank,
        comment("---- DMA checks: DmaRange, then DmaAlign ----"),
        wire_init("dc_sbuf", None, dd("target").eq(sized(2, 0))),
        wire_init("dc_psum", None, dd("target").eq(sized(2, 1))),
        wire_init("dc_table", None, dd("target").eq(sized(2, 2))),
        wire_init(
            "dc_target_ok",
            None,
            id("dc_sbuf")
                .or(id("dc_psum").and(id("d_is_ds")))
                .or(id("dc_table").and(id("d_is_dl"))),
        ),
        wire_init(
            "dc_esize_ok",
            None,
            cond(
                id("dc_sbuf"),
                dd("esize").eq(sized(2, ebb)),
                dd("esize").eq(sized(2, 2)),
            ),
        ),
        wire_init(
            "dc_fields_ok",
            None,
            cond(
                id("dc_sbuf"),
                zero("bank", 6).and(zero("offset", 12)),
                cond(
                    id("dc_psum"),
                    zero("layout", 1).and(zero("entry", 16)),
                    zero("layout", 1)
                        .and(zero("part", 9))
                        .and(zero("bank", 6))
                        .and(zero("offset", 12)),
                ),
            ),
        ),
        wire_init(
            "dc_a",
            bits(17),
            s17(dd("part"), 9).add(s17(cond(dd("layout"), dd("rows"), dd("row_len")), 16)),
        ),
        wire_init(
            "dc_b",
            bits(17),
            s17(dd("entry"), 16).add(s17(cond(dd("layout"), dd("row_len"), dd("rows")), 16)),
        ),
        wire_init(
            "dc_tprod",
            bits(20),
            zext(bits_of(dd("rows"), 0, 10), 10, 20).mul(zext(bits_of(dd("row_len"), 0, 10), 10, 20)),
        ),
        wire_init(
            "dc_bounds",
            None,
            cond(
                id("dc_sbuf"),
                id("dc_a")
                    .le(sized(17, u64::from(g.parts)))
                    .and(id("dc_b").le(sized(17, u64::from(g.sbuf_depth)))),
                cond(
                    id("dc_psum"),
                    zext(dd("bank"), 6, 7)
                        .lt(sized(7, u64::from(g.banks)))
                        .and(
                            s17(dd("offset"), 12)
                                .add(s17(dd("rows"), 16))
                                .le(sized(17, u64::from(g.psum_depth))),
                        )
                        .and(
                            s17(dd("part"), 9)
                                .add(s17(dd("row_len"), 16))
                                .le(sized(17, u64::from(g.cols))),
                        ),
                    dd("rows")
                        .le(sized(16, tw))
                        .and(dd("row_len").le(sized(16, tw)))
                        .and(
                            zext(dd("entry"), 16, 21)
                                .add(zext(id("dc_tprod"), 20, 21))
                                .le(sized(21, tw)),
                        ),
                ),
            ),
        ),
        comment("The memory bytes base .. base + (rows - 1) * stride + row_len * 2^esize end at or below 2^32."),
        wire_init("dc_rm1", bits(16), dd("rows").sub(sized(16, 1))),
        wire_init(
            "dc_span",
            bits(48),
            zext(id("dc_rm1"), 16, 48).mul(zext(dd("stride"), 32, 48)),
        ),
        wire_init(
            "dc_rowb",
            bits(19),
            zext(dd("row_len"), 16, 19).shl(dd("esize")),
        ),
        wire_init(
            "dc_mem_ok",
            None,
            zext(dd("base"), 32, 50)
                .add(zext(id("dc_span"), 48, 50))
                .add(zext(id("dc_rowb"), 19, 50))
                .le(sized(50, 1 << 32)),
        ),
        wire_init(
            "d_dma_range",
            None,
            id("d_is_dma").and(
                not(id("dc_target_ok"))
                    .or(not(id("dc_sbuf")).and(dd("layout")))
                    .or(not(id("dc_esize_ok")))
                    .or(zero("rows", 16))
                    .or(zero("row_len", 16))
                    .or(not(id("dc_fields_ok")))
                    .or(not(id("dc_bounds")))
                    .or(not(id("dc_mem_ok"))),
            ),
        ),
        wire_init(
            "dc_amask",
            bits(3),
            bit_not(sized(3, 7).shl(dd("esize"))),
        ),
        wire_init(
            "d_dma_align",
            None,
            id("d_is_dma").and(
                bits_of(dd("base"), 0, 3)
                    .bit_or(bits_of(dd("stride"), 0, 3))
                    .bit_and(id("dc_amask"))
                    .ne(sized(3, 0)),
            ),
        ),
    ]
}

/// ActRange of the head (`engine::checks::check_act`).
fn act_checks(cfg: &Config, g: &Geometry) -> Vec<Item> {
    let da = |n: &str| id(&format!("da_{n}"));
    let fmt = format_dtype(cfg.format).expect("a dma format has an ACTIVATE dtype") as u64;
    let raw_shift = (4 / g.eb).trailing_zeros();
    vec![
        Item::Blank,
        comment("---- ACTIVATE checks: ActRange ----"),
        wire_init("ac_raw", None, da("dtype").eq(sized(3, 4))),
        wire_init(
            "ac_int",
            None,
            da("dtype").eq(sized(3, 0)).or(da("dtype").eq(sized(3, 1))),
        ),
        wire_init("ac_clamp", None, da("func").eq(sized(2, 2))),
        wire_init(
            "ac_nw",
            bits(15),
            cond(
                id("ac_raw"),
                zext(da("n"), 13, 15).shl(int(i64::from(raw_shift))),
                zext(da("n"), 13, 15),
            ),
        ),
        wire_init(
            "ac_ok",
            None,
            da("dtype")
                .le(sized(3, 5))
                .and(da("func").ne(sized(2, 3)))
                .and(id("ac_raw").or(da("dtype").eq(sized(3, fmt))))
                .and(
                    not(id("ac_raw")).or(da("func")
                        .eq(sized(2, 0))
                        .and(not(da("per_col")))
                        .and(not(da("bias")))),
                )
                .and(id("ac_int").or(not(id("ac_clamp"))))
                .and(id("ac_int").or(da("zp").eq(sized(8, 0))))
                .and(id("ac_clamp").or(da("lo").eq(sized(8, 0)).and(da("hi").eq(sized(8, 0)))))
                .and(da("n").ne(sized(13, 0)))
                .and(da("m").ne(sized(9, 0)))
                .and(da("m").le(sized(9, u64::from(g.cols))))
                .and(zext(da("bank"), 6, 7).lt(sized(7, u64::from(g.banks))))
                .and(
                    zext(da("offset"), 12, 14)
                        .add(zext(da("n"), 13, 14))
                        .le(sized(14, u64::from(g.psum_depth))),
                )
                .and(
                    zext(da("entry"), 16, 18)
                        .add(zext(id("ac_nw"), 15, 18))
                        .le(sized(18, u64::from(g.sbuf_depth))),
                ),
        ),
        wire_init("d_act_bad", None, id("d_is_act").and(not(id("ac_ok")))),
    ]
}

/// The first failing check (`chk`), good (`d_ok`) or failing (`bad`) head, the engine it goes
/// to and the dispatch strobes `go_pe`, `go_dma`, `go_act`, `go_fence` (`d_go`); the loads as
/// dispatched (`dp_pend`, `dp_in_use`).
fn dispatch() -> Vec<Item> {
    let checks = [
        (not(id("d_legal")), ErrorCode::IllegalOpcode),
        (id("d_unused"), ErrorCode::UnusedBitsSet),
        (id("d_ws_bad"), ErrorCode::IllegalOpcode),
        (id("d_k_bad"), ErrorCode::KRange),
        (id("d_m_bad"), ErrorCode::MRange),
        (id("d_n_bad"), ErrorCode::NRange),
        (id("d_sbuf_bad"), ErrorCode::SbufRange),
        (id("d_bank_bad"), ErrorCode::BankRange),
        (id("d_psum_bad"), ErrorCode::PsumRange),
        (id("d_swap_bad"), ErrorCode::SwapWithoutLoad),
        (id("d_dma_range"), ErrorCode::DmaRange),
        (id("d_dma_align"), ErrorCode::DmaAlign),
        (id("d_act_bad"), ErrorCode::ActRange),
    ];
    let mut chk = code(ErrorCode::None);
    for (c, e) in checks.into_iter().rev() {
        chk = cond(c, code(e), chk);
    }
    let eng = |v: u64| id("d_is_ws").and(id("dw_engine").eq(sized(2, v)));
    vec![
        Item::Blank,
        comment("---- Dispatch: checks in order, then into the engine's FIFO ----"),
        wire_init("chk", bits(8), chk),
        wire_init(
            "d_ok",
            None,
            id("d_hv").and(id("chk").eq(code(ErrorCode::None))),
        ),
        wire_init(
            "bad",
            None,
            id("d_hv").and(id("chk").ne(code(ErrorCode::None))),
        ),
        wire_init("to_pe", None, id("d_is_ls").or(id("d_is_mm")).or(eng(0))),
        wire_init("to_dma", None, id("d_is_dma").or(eng(1))),
        wire_init("to_act", None, id("d_is_act").or(eng(2))),
        wire_init(
            "go_pe",
            None,
            id("d_ok").and(id("to_pe")).and(not(id("pef_full"))),
        ),
        wire_init(
            "go_dma",
            None,
            id("d_ok").and(id("to_dma")).and(not(id("dmf_full"))),
        ),
        wire_init(
            "go_act",
            None,
            id("d_ok").and(id("to_act")).and(not(id("acf_full"))),
        ),
        wire_init(
            "fence_ok",
            None,
            id("pef_empty")
                .and(id("dmf_empty"))
                .and(id("acf_empty"))
                .and(id("idle"))
                .and(not(id("dma_busy")))
                .and(not(id("act_busy")))
                .and(not(id("dma_v0")))
                .and(not(id("act_v0")))
                .and(not(id("pe_v0")).or(not(id("pe_lsr0")))),
        ),
        wire_init(
            "go_fence",
            None,
            id("d_ok").and(id("d_is_fence")).and(id("fence_ok")),
        ),
        wire_init(
            "d_go",
            None,
            id("go_pe")
                .or(id("go_dma"))
                .or(id("go_act"))
                .or(id("go_fence")),
        ),
        comment("The loads as the dispatcher sees them (the checks of SwapWithoutLoad)."),
        reg("dp_pend", bits(2)),
        reg("dp_in_use", None),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("dp_pend"), sized(2, 0)),
                nb(id("dp_in_use"), bit(false)),
            ],
            vec![if_else(
                id("clear_error"),
                vec![
                    Stmt::Comment(
                        "What the PE engine keeps: the waiting load (pend 2) is dropped.".into(),
                    ),
                    nb(
                        id("dp_pend"),
                        cond(cnt2("pend", 2), sized(2, 1), id("pend")),
                    ),
                    nb(id("dp_in_use"), id("in_use")),
                ],
                vec![
                    if_(
                        id("go_pe").and(id("d_is_ls")),
                        vec![nb(id("dp_pend"), id("dp_pend").add(sized(2, 1)))],
                    ),
                    if_(
                        id("go_pe").and(id("d_is_mm")).and(id("d_swap")),
                        vec![
                            nb(id("dp_pend"), id("dp_pend").sub(sized(2, 1))),
                            nb(id("dp_in_use"), bit(true)),
                        ],
                    ),
                ],
            )],
        )]),
    ]
}

/// The three engine FIFOs: `pef` (PE: the word's 62 used bits), `dmf` (DMA: three words),
/// `acf` (ACT: two words).
fn engine_fifos() -> Vec<Item> {
    let both = FifoStatus {
        full: true,
        empty: true,
    };
    let mut items = vec![
        Item::Blank,
        comment("---- Engine FIFOs ----"),
        wire_init("pef_push", None, id("go_pe")),
        wire_init("pef_din", bits(62), bits_of(id("hw0"), 0, 62)),
        wire_init("pef_flush", None, id("clear_error")),
        wire_init("dmf_push", None, id("go_dma")),
        wire_init(
            "dmf_din",
            bits(192),
            concat(vec![id("hw2"), id("hw1"), id("hw0")]),
        ),
        wire_init("dmf_flush", None, id("clear_error").or(id("dma_err"))),
        wire_init("acf_push", None, id("go_act")),
        wire_init("acf_din", bits(128), concat(vec![id("hw1"), id("hw0")])),
        wire_init("acf_flush", None, id("clear_error")),
    ];
    items.extend(fifo("pef", FD, 62, both));
    items.extend(fifo("dmf", FD, 192, both));
    items.extend(fifo("acf", FD, 128, both));
    items
}

/// The PE FIFO's head decoded for the PE engine: `f_*` (the fields of `isa::FIELDS`, as the
/// register path decodes its queue head), `is_ls`, `is_mm`; WAIT / SIGNAL fields (`pe_sem`,
/// `pe_value`) and flags.
fn pe_decode() -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment(
            "---- PE engine: its FIFO's head decoded as the register path decodes the queue ----",
        ),
    ];
    let fields = FIELDS
        .iter()
        .map(|fl| {
            wire_init(
                &format!("f_{}", fl.name),
                bits(fl.width),
                bits_of(id("pef_dout"), fl.lsb, fl.width),
            )
        })
        .collect();
    items.push(Item::LintOff {
        warning: "UNUSED",
        reason:
            "The PE engine reads the low bits of its fields: the dispatcher checked the values."
                .into(),
        items: fields,
    });
    items.extend([
        wire_init(
            "is_ls",
            None,
            id("f_op").eq(sized(4, Opcode::LoadStationary as u64)),
        ),
        wire_init(
            "is_mm",
            None,
            id("f_op").eq(sized(4, Opcode::MultiplyMoving as u64)),
        ),
    ]);
    items
}

/// The fields WAIT and SIGNAL use in the first word of the FIFO head `word` (a net), for
/// engine `e`: `<e>_is_wait`, `<e>_is_sig`, `<e>_sem`, `<e>_value`, and the wrapping compare
/// `<e>_sat`.
fn wait_signal_decode(e: &str, word: &str) -> Vec<Item> {
    let fld = |name: &str| {
        let f = field_of(Opcode::Wait, name);
        bits_of(id(word), f.lsb, f.width)
    };
    let n = |s: &str| format!("{e}_{s}");
    vec![
        wire_init(&n("op"), bits(4), bits_of(id(word), 0, 4)),
        wire_init(
            &n("is_wait"),
            None,
            id(&n("op")).eq(sized(4, Opcode::Wait as u64)),
        ),
        wire_init(
            &n("is_sig"),
            None,
            id(&n("op")).eq(sized(4, Opcode::Signal as u64)),
        ),
        wire_init(&n("sem"), bits(3), fld("sem")),
        wire_init(&n("value"), bits(16), fld("value")),
        wire_init(
            &n("semv"),
            bits(16),
            id("sems").part(times_pow2(id(&n("sem")), 4), int(16)),
        ),
        wire_init(
            &n("sat"),
            None,
            id(&n("semv")).sub(id(&n("value"))).lt(sized(16, 0x8000)),
        ),
    ]
}

/// The engines take their FIFO heads: `go_ls`, `go_mm` (PE), `dma_go`, `act_go`, the WAITs
/// that are satisfied and the SIGNALs their units take; `<e>_pop`.
fn fronts() -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("---- Engine fronts: WAIT, SIGNAL and the engines' own instructions ----"),
        wire_init(
            "pe_v",
            None,
            not(id("pef_empty")).and(not(id("clear_error"))),
        ),
        wire_init(
            "dma_v",
            None,
            not(id("dmf_empty")).and(not(id("clear_error"))),
        ),
        wire_init(
            "act_v",
            None,
            not(id("acf_empty")).and(not(id("clear_error"))),
        ),
    ];
    items.extend(wait_signal_decode("pe", "pef_dout"));
    items.extend(wait_signal_decode("dma", "dmf_dout"));
    items.extend(wait_signal_decode("act", "acf_dout"));
    items.extend([
        wire_init(
            "go_ls",
            None,
            id("pe_v").and(id("is_ls")).and(not(id("wl_valid"))),
        ),
        wire_init(
            "go_mm",
            None,
            id("pe_v")
                .and(id("is_mm"))
                .and(not(id("mm_valid")).or(id("mm_ready")))
                .and(id("mvq_cnt").ne(sized(2, 2))),
        ),
        assign(
            id("dma_go"),
            id("dma_v")
                .and(
                    id("dma_op")
                        .eq(sized(4, Opcode::DmaLoad as u64))
                        .or(id("dma_op").eq(sized(4, Opcode::DmaStore as u64))),
                )
                .and(not(id("dma_busy"))),
        ),
        assign(id("dma_words"), id("dmf_dout")),
        assign(
            id("act_go"),
            id("act_v")
                .and(id("act_op").eq(sized(4, Opcode::Activate as u64)))
                .and(id("act_ready")),
        ),
        assign(id("act_words"), id("acf_dout")),
    ]);
    for e in ENGINES {
        let n = |s: &str| format!("{e}_{s}");
        items.extend([
            wire_init(
                &n("wait_ok"),
                None,
                id(&n("v")).and(id(&n("is_wait"))).and(id(&n("sat"))),
            ),
            wire_init(
                &n("sig_take"),
                None,
                id(&n("v")).and(id(&n("is_sig"))).and(id(&n("room"))),
            ),
        ]);
    }
    items.extend([
        wire_init(
            "pef_pop",
            None,
            id("go_ls")
                .or(id("go_mm"))
                .or(id("pe_wait_ok"))
                .or(id("pe_sig_take")),
        ),
        wire_init(
            "dmf_pop",
            None,
            id("dma_go").or(id("dma_wait_ok")).or(id("dma_sig_take")),
        ),
        wire_init(
            "acf_pop",
            None,
            id("act_go").or(id("act_wait_ok")).or(id("act_sig_take")),
        ),
    ]);
    items
}

/// The SBUF read ports shared by the streamers (priority) and the DMA's store reads.
fn port_sharing(g: &Geometry) -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("---- SBUF read ports: the streamers first, the DMA when they leave the port ----"),
        assign(id("l_free"), not(id("l_issue"))),
        assign(id("l_en"), id("s_l_en").or(id("d_l_en"))),
        assign(
            id("l_addr"),
            cond(id("s_l_en"), id("s_l_addr"), id("d_l_addr")),
        ),
    ];
    if g.rows > g.cols {
        items.extend([
            assign(id("m_free"), id("m_adv").and(not(id("mv_act")))),
            assign(id("m_en"), id("s_m_en").or(id("d_m_en"))),
            assign(
                id("m_addr"),
                cond(id("s_m_en"), id("s_m_addr"), id("d_m_addr")),
            ),
        ]);
    } else {
        items.extend([
            assign(id("m_en"), id("s_m_en")),
            assign(id("m_addr"), id("s_m_addr")),
        ]);
    }
    items
}

/// The completion counters (16 bits, wrapping): per engine, instructions taken and completed
/// (PE: loads `ls_*`, multiplies `mm_*`).
fn completions() -> Vec<Item> {
    let counters: [(&str, Expr, Expr); 4] = [
        ("ls", id("go_ls"), id("ls_ret")),
        ("mm", id("go_mm"), id("mm_done")),
        // An instruction stopped by a bus error counts as completed (its destination is
        // undefined): a SIGNAL pushed after CLEAR_ERROR waits for later instructions only.
        ("dma", id("dma_go"), id("dma_done").or(id("dma_err"))),
        ("act", id("act_go"), id("act_done")),
    ];
    let mut items = vec![
        Item::Blank,
        comment("---- Completions: per engine, instructions taken and completed ----"),
        wire_init("ls_ret", None, id("ls_fire").and(id("lq_last"))),
        wire_init("ls_drop", None, id("clear_error").and(cnt2("pend", 2))),
    ];
    let (mut reset, mut step) = (vec![], vec![]);
    for (c, taken, done) in counters {
        let t = format!("{c}_taken");
        let d = format!("{c}_done_n");
        items.push(reg(&t, bits(16)));
        items.push(reg(&d, bits(16)));
        reset.push(nb(id(&t), sized(16, 0)));
        reset.push(nb(id(&d), sized(16, 0)));
        let mut next = id(&t).add(zext(taken, 1, 16));
        if c == "ls" {
            // CLEAR_ERROR drops the load that waits for its swap: it will never stream.
            next = next.sub(zext(id("ls_drop"), 1, 16));
        }
        step.push(nb(id(&t), next));
        step.push(nb(id(&d), id(&d).add(zext(done, 1, 16))));
    }
    items.push(always(vec![if_else(id("rst"), reset, step)]));
    items
}

/// The signal unit of engine `e`: two slots of pending signals, each with the engine's counts
/// taken when its signal was taken (`<e>_<c><k>` for each counter c of `counters`), its
/// increments per semaphore (`<e>_i<k>_<s>`) and its number of signals (`<e>_n<k>`). A counter
/// marked `true` must be equal for a SIGNAL to join the younger slot; the others are raised to
/// the new count. `drop`: slots that can no longer fire are dropped while the engine is idle
/// (the DMA after an error).
fn signal_unit(e: &str, counters: &[(&str, bool)], drop: bool) -> Vec<Item> {
    let n = |s: &str| format!("{e}_{s}");
    let sems = SEMAPHORES;
    let mut items = vec![
        Item::Blank,
        comment(&format!("---- Signal unit of {e} ----")),
    ];
    for k in 0..2 {
        items.push(reg(&n(&format!("v{k}")), None));
        for (c, _) in counters {
            items.push(reg(&n(&format!("{c}{k}")), bits(16)));
        }
        for s in 0..sems {
            items.push(reg(&n(&format!("i{k}_{s}")), bits(16)));
        }
        items.push(reg(&n(&format!("n{k}")), bits(16)));
    }
    let mut sat = vec![];
    let mut merge = vec![id(&n("v1"))];
    for (c, equal) in counters {
        // Reached: completed minus the count to reach, wrapping, is below 2^15.
        items.push(wire_init(
            &n(&format!("{c}r0")),
            None,
            id(&format!("{c}_done_n"))
                .sub(id(&n(&format!("{c}0"))))
                .lt(sized(16, 0x8000)),
        ));
        sat.push(id(&n(&format!("{c}r0"))));
        if *equal {
            merge.push(id(&n(&format!("{c}1"))).eq(id(&format!("{c}_taken"))));
        }
    }
    let and_all = |v: Vec<Expr>| v.into_iter().reduce(|a, b| a.and(b)).expect("terms");
    items.extend([
        wire_init(&n("sat0"), None, and_all(sat)),
        wire_init(&n("fire"), None, id(&n("v0")).and(id(&n("sat0")))),
        wire_init(&n("merge"), None, and_all(merge)),
        wire_init(
            &n("room"),
            None,
            id(&n("fire"))
                .or(not(id(&n("v0"))))
                .or(not(id(&n("v1"))))
                .or(id(&n("merge"))),
        ),
    ]);
    let drop_now = if drop {
        items.push(wire_init(
            &n("drop"),
            None,
            not(id(&format!("{e}_busy")))
                .and(id(&n("v0")))
                .and(not(id(&n("sat0")))),
        ));
        id(&n("drop"))
    } else {
        bit(false)
    };
    items.extend(signal_slots(e, counters, drop_now));
    items
}

/// The slots' registers of a signal unit (see [`signal_unit`]).
fn signal_slots(e: &str, counters: &[(&str, bool)], drop_now: Expr) -> Vec<Item> {
    let n = |s: &str| format!("{e}_{s}");
    let slot = |k: u32, f: &str| id(&n(&format!("{f}{k}")));
    let take = id(&n("sig_take"));
    // Every field of slot k (name without the slot number, and the slot's net).
    let fields = |k: u32| -> Vec<(String, Expr)> {
        let mut v: Vec<(String, Expr)> = counters
            .iter()
            .map(|(c, _)| (c.to_string(), slot(k, c)))
            .collect();
        for s in 0..SEMAPHORES {
            v.push((format!("i_{s}"), id(&n(&format!("i{k}_{s}")))));
        }
        v.push(("n".into(), slot(k, "n")));
        v
    };
    let is_sem = |s: u32| zext(id(&n("sem")).eq(sized(3, u64::from(s))), 1, 16);
    let new = |k: u32| -> Vec<Stmt> {
        let mut v: Vec<Stmt> = counters
            .iter()
            .map(|(c, _)| nb(slot(k, c), id(&format!("{c}_taken"))))
            .collect();
        for s in 0..SEMAPHORES {
            v.push(nb(id(&n(&format!("i{k}_{s}"))), is_sem(s)));
        }
        v.push(nb(slot(k, "n"), sized(16, 1)));
        v
    };
    let copy: Vec<Stmt> = fields(1)
        .into_iter()
        .zip(fields(0))
        .map(|((_, from), (_, to))| nb(to, from))
        .collect();
    let mut merge: Vec<Stmt> = counters
        .iter()
        .filter(|(_, equal)| !equal)
        .map(|(c, _)| nb(slot(1, c), id(&format!("{c}_taken"))))
        .collect();
    for s in 0..SEMAPHORES {
        let r = id(&n(&format!("i1_{s}")));
        merge.push(nb(r.clone(), r.add(is_sem(s))));
    }
    merge.push(nb(slot(1, "n"), slot(1, "n").add(sized(16, 1))));
    let (v0, v1, fire) = (slot(0, "v"), slot(1, "v"), id(&n("fire")));
    let mut fire_branch = copy;
    fire_branch.push(if_(take.clone(), vec![if_else(v1.clone(), new(1), new(0))]));
    vec![
        always(vec![if_else(
            id("rst").or(id("clear_error")).or(drop_now),
            vec![nb(v0.clone(), bit(false)), nb(v1.clone(), bit(false))],
            vec![if_else(
                fire.clone(),
                vec![
                    nb(v0.clone(), v1.clone().or(take.clone())),
                    nb(v1.clone(), v1.clone().and(take.clone())),
                ],
                vec![if_(
                    take.clone(),
                    vec![if_else(
                        not(v0.clone()),
                        vec![nb(v0.clone(), bit(true))],
                        vec![if_(not(v1.clone()), vec![nb(v1.clone(), bit(true))])],
                    )],
                )],
            )],
        )]),
        always(vec![if_else(
            fire,
            fire_branch,
            vec![if_(
                take,
                vec![if_else(
                    not(v0),
                    new(0),
                    vec![if_else(not(v1), new(1), merge)],
                )],
            )],
        )]),
    ]
}

/// The 8 semaphores (`sems`): cleared by CLEAR_SEMS or an accepted START, else the increments
/// of the signal units that fire.
fn semaphores() -> Vec<Item> {
    let mut items = vec![Item::Blank, comment("---- Semaphores ----")];
    let mut parts = vec![];
    let mut step = vec![];
    let mut reset = vec![];
    for s in 0..SEMAPHORES {
        let r = format!("sem{s}");
        items.push(reg(&r, bits(16)));
        parts.push(id(&r));
        let mut sum = id(&r);
        for e in ENGINES {
            sum = sum.add(cond(
                id(&format!("{e}_fire")),
                id(&format!("{e}_i0_{s}")),
                sized(16, 0),
            ));
        }
        step.push(nb(id(&r), sum));
        reset.push(nb(id(&r), sized(16, 0)));
    }
    parts.reverse();
    items.push(assign(id("sems"), concat(parts)));
    items.push(always(vec![if_else(
        id("rst").or(id("clear_sems")).or(id("f_sems_clear")),
        reset,
        step,
    )]));
    items
}

/// FENCE's PE condition (`idle`), busy and stalled.
fn status() -> Vec<Item> {
    let any = |v: Vec<Expr>| v.into_iter().reduce(|a, b| a.or(b)).expect("terms");
    let slots: Vec<Expr> = ENGINES
        .iter()
        .flat_map(|e| [id(&format!("{e}_v0")), id(&format!("{e}_v1"))])
        .collect();
    vec![
        Item::Blank,
        comment("---- FENCE condition, busy, stalled ----"),
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
        wire_init("sig_any", None, any(slots)),
        wire_init("mm_open", None, id("mm_taken").ne(id("mm_done_n"))),
        assign(
            id("st_busy"),
            any(vec![
                id("q_cnt").ne(sized(QC, 0)).and(not(id("err"))),
                not(id("pef_empty")),
                not(id("dmf_empty")),
                not(id("acf_empty")),
                not(id("idle")),
                id("wl_valid"),
                id("dma_busy"),
                id("act_busy"),
                id("sig_any"),
                id("fetching"),
                id("mm_open"),
            ]),
        ),
        comment("Something moves (or will, by itself): otherwise a busy engine is stalled."),
        wire_init(
            "moving",
            None,
            any(vec![
                id("d_go"),
                id("bad"),
                id("pef_pop"),
                id("dmf_pop"),
                id("acf_pop"),
                id("pe_fire"),
                id("dma_fire"),
                id("act_fire"),
                id("dma_drop"),
                not(id("idle")),
                id("wl_start"),
                id("mm_open"),
                id("dma_busy"),
                id("act_busy"),
                id("fetching"),
            ]),
        ),
        assign(id("st_stalled"), id("st_busy").and(not(id("moving")))),
    ]
}

/// The error register: the first of a dispatch check (`bad`, `chk`), a bus error, a DMA error
/// (DmaBus) or a fetch error since CLEAR_ERROR.
fn error_register() -> Vec<Item> {
    let code_of = cond(
        id("bad"),
        id("chk"),
        cond(
            id("bus_err"),
            id("bus_code"),
            cond(id("dma_err"), code(ErrorCode::DmaBus), id("f_code")),
        ),
    );
    let late = cond(
        id("bus_err"),
        id("bus_code"),
        cond(id("dma_err"), code(ErrorCode::DmaBus), id("f_code")),
    );
    vec![
        reg("err", None),
        reg("err_code", bits(8)),
        assign(id("st_error"), id("err")),
        assign(id("st_code"), id("err_code")),
        wire_init(
            "err_in",
            None,
            id("bus_err").or(id("dma_err")).or(id("f_err")),
        ),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("err"), bit(false)),
                nb(id("err_code"), code(ErrorCode::None)),
            ],
            vec![if_else(
                id("clear_error"),
                vec![
                    Stmt::Comment(
                        "An error reported in the same cycle (bus, DMA, fetch) is kept.".into(),
                    ),
                    nb(id("err"), id("err_in")),
                    nb(
                        id("err_code"),
                        cond(id("err_in"), late, code(ErrorCode::None)),
                    ),
                ],
                vec![if_(
                    not(id("err")).and(id("bad").or(id("err_in"))),
                    vec![nb(id("err"), bit(true)), nb(id("err_code"), code_of)],
                )],
            )],
        )]),
    ]
}

/// The counters: `cycles`, `macs`, `retired` (every retirement of the cycle added), the DMA's
/// bytes.
fn counters(g: &Geometry) -> Vec<Item> {
    // The cycle's retirements summed narrow (`ret_inc`, 18 bits: eight single ones and three
    // 16-bit counts), then one 32-bit add: not a chain of 32-bit adds, which was the engine's
    // critical path after ACTIVATE's (docs/fpga.md).
    let r = |e: Expr| zext(e, 1, 4);
    let mut ones = r(id("ls_ret"))
        .add(r(id("mv_ret")))
        .add(r(id("go_fence")))
        .add(r(id("dma_done")))
        .add(r(id("act_done")));
    for e in ENGINES {
        ones = ones.add(r(id(&format!("{e}_wait_ok"))));
    }
    let mut counts = zext(ones, 4, 18);
    for e in ENGINES {
        counts = counts.add(cond(
            id(&format!("{e}_fire")),
            zext(id(&format!("{e}_n0")), 16, 18),
            sized(18, 0),
        ));
    }
    let ret_inc = wire_init("ret_inc", bits(18), counts);
    let retired = id("retired").add(zext(id("ret_inc"), 18, 32));
    let bytes = |store: bool| {
        let n = if store {
            "dma_wr_bytes"
        } else {
            "dma_rd_bytes"
        };
        let dir = if store {
            id("dma_done_store")
        } else {
            not(id("dma_done_store"))
        };
        if_(
            id("dma_done").and(dir),
            vec![nb(id(n), id(n).add(id("dma_done_bytes")))],
        )
    };
    vec![
        wire_init("mv_ret", None, id("mv_fire").and(id("mq_last"))),
        ret_inc,
        always(vec![if_else(
            id("rst").or(id("clear_counters")),
            vec![
                nb(id("cycles"), sized(64, 0)),
                nb(id("macs"), sized(64, 0)),
                nb(id("retired"), sized(32, 0)),
                nb(id("dma_rd_bytes"), sized(32, 0)),
                nb(id("dma_wr_bytes"), sized(32, 0)),
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
                nb(id("retired"), retired),
                bytes(false),
                bytes(true),
            ],
        )]),
    ]
}

fn ports(g: &Geometry) -> Vec<Port> {
    let mut p = sequencer::ports(g, QC);
    p.extend([
        input(
            "f_push",
            None,
            "fetch: push f_word (never when full, never with q_push)",
        ),
        input("f_word", bits(64), ""),
        input(
            "f_sems_clear",
            None,
            "fetch: an accepted START clears the semaphores",
        ),
        input("f_err", None, "fetch: an error (f_code)"),
        input("f_code", bits(8), ""),
        input("fetching", None, "fetch: words left"),
        input("clear_sems", None, "CONTROL.CLEAR_SEMS"),
        input(
            "mm_done",
            None,
            "core: a MULTIPLY_MOVING's last result is in PSUM",
        ),
        output("dma_go", None, "DMA: start the instruction in dma_words"),
        output("dma_words", bits(192), ""),
        input("dma_busy", None, ""),
        input("dma_done", None, "DMA: an instruction completed"),
        input("dma_done_store", None, ""),
        input("dma_done_bytes", bits(32), ""),
        input("dma_err", None, "DMA: an error response (DmaBus)"),
        output("act_go", None, "ACT: start the ACTIVATE in act_words"),
        output("act_words", bits(128), ""),
        input("act_ready", None, ""),
        input("act_busy", None, ""),
        input("act_done", None, "ACT: an ACTIVATE completed"),
        input("d_l_en", None, "DMA: read SBUF port L (only with l_free)"),
        input("d_l_addr", bits(g.sa_w), ""),
        output("l_free", None, "port L is free for the DMA in this cycle"),
    ]);
    if g.rows > g.cols {
        p.extend([
            input("d_m_en", None, "DMA: read SBUF port M (only with m_free)"),
            input("d_m_addr", bits(g.sa_w), ""),
            output("m_free", None, "port M is free for the DMA in this cycle"),
        ]);
    }
    p.extend([
        output("sems", bits(16 * SEMAPHORES), "semaphore k in [16k +: 16]"),
        output_reg("dma_rd_bytes", bits(32), "bytes of completed DMA loads"),
        output_reg("dma_wr_bytes", bits(32), "bytes of completed DMA stores"),
    ]);
    p
}
