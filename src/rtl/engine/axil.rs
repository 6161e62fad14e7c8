//! `systolic_axil`: the engine's AXI4-Lite slave. Its address decoder is generated from the
//! register table in [`crate::regs`] (addresses, field positions, constants).
//!
//! Timing contract (a beat fires in cycle t when valid and ready are both high in t):
//! - Write: `awready = !aw_held && !bvalid`, `wready = !w_held && !bvalid` (registers only, no
//!   combinational path from any valid). AW and W are accepted in any order; a beat that
//!   arrives alone is held. The write is performed in the cycle in which both are present
//!   (possibly the cycle they both fire) and takes effect at that edge; BVALID rises at the same
//!   edge and holds BRESP until BREADY. One write outstanding: AW/W are not accepted while
//!   BVALID is high. At full speed a write takes 2 cycles (AW+W, then B). With a `packed`
//!   SBUF no write is performed while `sb_wbusy` is high (the LANES cycles after an SBUF
//!   write, while the SBUF stores the word's entries): an SBUF word then takes LANES + 1
//!   cycles, and a write after it (an instruction push) finds the word stored.
//! - A PSUM_SELECT write is performed only once an earlier snapshot request is captured (its
//!   AW/W are held meanwhile): the core answers within a bounded time once nothing is in flight.
//! - Read: `arready = !rvalid`. The read data is captured at the edge that accepts AR and held
//!   with RRESP until RREADY: never stale, never repeated. A read takes 2 cycles at full speed.
//!   Reading CYCLES_LO/MACS_LO latches the high word for CYCLES_HI/MACS_HI at that edge.
//! - Side effects towards the sequencer (`q_push`, `clear_*`, `bus_err`) and the SBUF write port
//!   are single-cycle pulses in the cycle the write is performed (or, for `bus_err`, the cycle a
//!   bad read is accepted); the receivers register them.
//! - PSUM snapshot: `rd_valid` (registered) is held until `rd_ready`; the response is always
//!   taken (`rdata_ready = 1`) into the snapshot register, which sets PSUM_VALID.
//! - Errors: an unmapped, misaligned or wrong-direction access answers SLVERR with
//!   `bus_code = BusAddress`; PSUM_SELECT out of range SLVERR/PsumRange; INSTR_HI into a full
//!   queue SLVERR/QueueOverflow. A SLVERR access has no other effect; a SLVERR read returns 0.
//!
//! - With the memory path (`dma`): CONTROL.START is refused (SLVERR/BusAddress) while
//!   `st_busy`, `fetching` or `st_error`, an INSTR_HI write while `fetching`; an accepted START
//!   is the pulse `start` (the fetch unit checks PROG_BASE and PROG_WORDS, the registers
//!   `prog_base` and `prog_words` written at an earlier edge); a write into the SBUF window is
//!   not performed while `sb_wbusy` (the DMA or the write-back unit writes the SBUF in that
//!   cycle: its AW/W are held, B comes later).
//!
//! The builder follows the hardware: the write path (`write_channels`, `write_decode`,
//! `write_response`, `write_effects`), the PSUM snapshot (`psum_snapshot`), the read path and
//! its register-file multiplexer (`read_channel`, `read_mux`, `read_value`) and the error
//! report (`bus_errors`), each returning its part of the module in the generated order.

use crate::config::{Config, Geometry};
use crate::isa::ErrorCode;
use crate::regs::{self, Access, Register, Value, PSUM_DATA_BASE, REGISTERS, SBUF_BASE};
use crate::verilog::*;

use super::sequencer;

fn code(e: ErrorCode) -> Expr {
    sized(8, e as u64)
}

fn hit_name(prefix: &str, r: &Register) -> String {
    format!("{prefix}_{}", r.name.to_lowercase())
}

/// The AXI4-Lite slave ports of the engine (also the ports of `systolic_axil`, without the
/// PROT signals).
pub fn axil_ports(with_prot: bool) -> Vec<Port> {
    let mut v = vec![
        input("s_axil_awaddr", bits(32), "write address (bytes)"),
        input("s_axil_awvalid", None, ""),
        output("s_axil_awready", None, ""),
        input("s_axil_wdata", bits(32), ""),
        input("s_axil_wstrb", bits(4), "honoured in the SBUF window"),
        input("s_axil_wvalid", None, ""),
        output("s_axil_wready", None, ""),
        output_reg("s_axil_bresp", bits(2), "0 OKAY, 2 SLVERR"),
        output_reg("s_axil_bvalid", None, ""),
        input("s_axil_bready", None, ""),
        input("s_axil_araddr", bits(32), "read address (bytes)"),
        input("s_axil_arvalid", None, ""),
        output("s_axil_arready", None, ""),
        output_reg("s_axil_rdata", bits(32), ""),
        output_reg("s_axil_rresp", bits(2), "0 OKAY, 2 SLVERR"),
        output_reg("s_axil_rvalid", None, ""),
        input("s_axil_rready", None, ""),
    ];
    if with_prot {
        v.insert(
            1,
            input("s_axil_awprot", bits(3), "ignored: no protection checks").waive("UNUSED"),
        );
        v.insert(
            12,
            input("s_axil_arprot", bits(3), "ignored: no protection checks").waive("UNUSED"),
        );
        for p in &mut v {
            // The top's outputs are driven by the instance: plain wires there.
            p.reg = false;
        }
    }
    v
}

/// The signal behind a live read-only field, with its width.
fn live_source(cfg: &Config, reg: &str, field: &str) -> (Expr, u32) {
    match (reg, field) {
        ("STATUS", "BUSY") => (id("st_busy"), 1),
        ("STATUS", "ERROR") => (id("st_error"), 1),
        ("STATUS", "PSUM_VALID") => (id("psum_valid"), 1),
        ("STATUS", "PENDING_LOADS") => (id("pend_loads"), 2),
        ("STATUS", "STATIONARY") => (id("stationary"), 1),
        ("STATUS", "STALLED") => (id("st_stalled"), 1),
        ("STATUS", "ERROR_CODE") => (id("st_code"), 8),
        ("STATUS", "QUEUE_FREE") => (id("q_free"), sequencer::queue_count_bits(cfg)),
        ("CYCLES_LO", "VALUE") => (bits_of(id("cycles"), 0, 32), 32),
        ("CYCLES_HI", "VALUE") => (id("cycles_hi"), 32),
        ("MACS_LO", "VALUE") => (bits_of(id("macs"), 0, 32), 32),
        ("MACS_HI", "VALUE") => (id("macs_hi"), 32),
        ("RETIRED", "VALUE") => (id("retired"), 32),
        ("STATUS", "FETCHING") => (id("fetching"), 1),
        ("DMA_READ_BYTES", "VALUE") => (id("dma_rd_bytes"), 32),
        ("DMA_WRITE_BYTES", "VALUE") => (id("dma_wr_bytes"), 32),
        (sem, "VALUE") if sem.starts_with("SEM") => {
            let k: u32 = sem[3..].parse().expect("SEM<k>");
            (bits_of(id("sems"), 16 * k, 16), 16)
        }
        _ => panic!("the RTL has no source for {reg}.{field}"),
    }
}

/// The 32-bit read value of a read-only register, assembled from its fields.
fn read_value(cfg: &Config, r: &Register) -> Expr {
    let mut fields = r.fields_of(cfg);
    fields.sort_by_key(|f| std::cmp::Reverse(f.lsb));
    let mut parts = vec![];
    let mut top = 32;
    for f in fields {
        let end = f.lsb + f.width;
        if end < top {
            parts.push(sized(top - end, 0));
        }
        let e = match f.value {
            Value::Const(g) => sized(f.width, g(cfg)),
            Value::Live => {
                let (e, w) = live_source(cfg, r.name, f.name);
                assert!(
                    w <= f.width,
                    "{}.{} is {} bits, its source {w}",
                    r.name,
                    f.name,
                    f.width
                );
                zext(e, w, f.width)
            }
        };
        parts.push(e);
        top = f.lsb;
    }
    if top > 0 {
        parts.push(sized(top, 0));
    }
    if parts.len() == 1 {
        parts.pop().expect("one part")
    } else {
        concat(parts)
    }
}

/// The low `width` bits of field `field` of write-only register `reg` in the write data `wd`.
fn wfield_low(reg: &str, field: &str, width: u32) -> Expr {
    let f = regs::reg(reg).field(field);
    assert!(width <= f.width);
    bits_of(id("wd"), f.lsb, width)
}

/// Field `field` of write-only register `reg` in the write data `wd`.
fn wfield(reg: &str, field: &str) -> Expr {
    wfield_low(reg, field, regs::reg(reg).field(field).width)
}

/// The OR of the named 1-bit nets (0 when there are none).
fn any(names: Vec<String>) -> Expr {
    names
        .into_iter()
        .map(|n| id(&n))
        .reduce(|a, b| a.or(b))
        .unwrap_or_else(|| bit(false))
}

/// The registers of one access kind that exist in the engine of `cfg`, in table order.
fn registers(cfg: &Config, access: Access) -> Vec<&'static Register> {
    REGISTERS
        .iter()
        .filter(|r| r.access == access && r.exists(cfg))
        .collect()
}

/// Bits of the snapshot's column index in the PSUM window (address bits 3 and up): the
/// columns rounded up to a power of two.
fn col_bits(g: &Geometry) -> u32 {
    g.cols.next_power_of_two().trailing_zeros()
}

/// OKAY or SLVERR.
fn resp(ok: Expr) -> Expr {
    cond(
        ok,
        sized(2, u64::from(regs::RESP_OKAY)),
        sized(2, u64::from(regs::RESP_SLVERR)),
    )
}

pub fn module(cfg: &Config) -> Module {
    let g = Geometry::new(cfg);
    let mut items = write_channels();
    items.extend(write_decode(cfg, &g));
    items.extend(write_response());
    items.extend(write_effects(&g));
    if cfg.dma {
        items.extend(memory_path_effects());
    }
    items.extend(psum_snapshot(&g));
    items.extend(read_channel(cfg, &g));
    items.extend(bus_errors());
    Module {
        name: "systolic_axil".into(),
        doc: vec![
            "AXI4-Lite slave: register map of src/regs.rs (docs/registers.md), instruction push,"
                .into(),
            "SBUF write window, PSUM snapshot. Write: effect at the edge that completes AW+W,"
                .into(),
            "B next cycle; read: data captured when AR is accepted, R next cycle. SLVERR for"
                .into(),
            "unmapped/misaligned/wrong-direction accesses, reported to the sequencer.".into(),
        ],
        params: vec![],
        ports: ports(cfg, &g),
        items: hoist(items),
    }
}

/// The write channels: AW and W accepted in any order (`aw_fire`, `w_fire`), a beat that
/// arrives alone held (`aw_held`, `w_held` and their registers); `wa`, `wd`, `ws` the address,
/// data and strobes of the write, held or arriving.
fn write_channels() -> Vec<Item> {
    // The held register when the beat was held, else the channel.
    let held = |flag: &str, r: &str, channel: &str| cond(id(flag), id(r), id(channel));
    vec![
        comment("---- Write channels: AW and W in any order ----"),
        reg("aw_held", None),
        reg("aw_addr_r", bits(32)),
        reg("w_held", None),
        reg("w_data_r", bits(32)),
        reg("w_strb_r", bits(4)),
        assign(
            id("s_axil_awready"),
            not(id("aw_held")).and(not(id("s_axil_bvalid"))),
        ),
        assign(
            id("s_axil_wready"),
            not(id("w_held")).and(not(id("s_axil_bvalid"))),
        ),
        wire_init(
            "aw_fire",
            None,
            id("s_axil_awvalid").and(id("s_axil_awready")),
        ),
        wire_init("w_fire", None, id("s_axil_wvalid").and(id("s_axil_wready"))),
        wire_init(
            "wa",
            bits(32),
            held("aw_held", "aw_addr_r", "s_axil_awaddr"),
        ),
        wire_init("wd", bits(32), held("w_held", "w_data_r", "s_axil_wdata")),
        wire_init("ws", bits(4), held("w_held", "w_strb_r", "s_axil_wstrb")),
        Item::Blank,
        comment("Write address decode (from the register table)."),
    ]
}

/// The write decoder (from the register table): one hit per write-only register (`wa_*`), the
/// SBUF window (`wa_sbuf`), the write's error code (`w_code`, `w_ok`), and when it is performed:
/// `do_write` (both beats here, an earlier snapshot captured, with a packed SBUF its last word
/// stored) and `w_act` (performed without error).
fn write_decode(cfg: &Config, g: &Geometry) -> Vec<Item> {
    let wo = registers(cfg, Access::WriteOnly);
    let sbuf_size = (regs::window("SBUF").size)(cfg);
    let mut items: Vec<Item> = wo
        .iter()
        .map(|r| {
            wire_init(
                &hit_name("wa", r),
                None,
                id("wa").eq(sized(32, u64::from(r.offset))),
            )
        })
        .collect();
    let mut do_write = id("aw_held")
        .or(id("aw_fire"))
        .and(id("w_held").or(id("w_fire")))
        .and(not(id("wa_psum_select").and(id("psel_busy"))));
    if g.sbuf_packed {
        do_write = do_write.and(not(id("sb_wbusy")));
    }
    if cfg.dma {
        // The SBUF's write port is the DMA's or the write-back unit's in this cycle.
        do_write = do_write.and(not(id("wa_sbuf").and(id("sb_wbusy"))));
    }
    let mut ok_code = cond(
        id("wa_instr_hi").and(id("q_free").eq(sized(sequencer::queue_count_bits(cfg), 0))),
        code(ErrorCode::QueueOverflow),
        code(ErrorCode::None),
    );
    if cfg.dma {
        // START while busy, fetching or stopped, and a push while the fetch owns the queue.
        let start = wfield("CONTROL", "START").and(id("wa_control"));
        let refused = start
            .and(id("st_busy").or(id("fetching")).or(id("st_error")))
            .or(id("wa_instr_hi").and(id("fetching")));
        ok_code = cond(refused, code(ErrorCode::BusAddress), ok_code);
    }
    items.extend([
        wire_init(
            "wa_sbuf",
            None,
            bits_of(id("wa"), 30, 2)
                .eq(sized(2, u64::from(SBUF_BASE >> 30)))
                .and(bits_of(id("wa"), 0, 30).lt(sized(30, u64::from(sbuf_size))))
                .and(bits_of(id("wa"), 0, 2).eq(sized(2, 0))),
        ),
        wire_init(
            "w_mapped",
            None,
            any(wo.iter().map(|r| hit_name("wa", r)).collect()).or(id("wa_sbuf")),
        ),
        wire_init(
            "psel_in_range",
            None,
            zext(wfield("PSUM_SELECT", "BANK"), 6, 7)
                .lt(sized(7, u64::from(g.banks)))
                .and(
                    zext(wfield("PSUM_SELECT", "ADDR"), 12, 13)
                        .lt(sized(13, u64::from(g.psum_depth))),
                ),
        ),
        wire_init(
            "w_code",
            bits(8),
            cond(
                not(id("w_mapped")),
                code(ErrorCode::BusAddress),
                cond(
                    id("wa_psum_select").and(not(id("psel_in_range"))),
                    code(ErrorCode::PsumRange),
                    ok_code,
                ),
            ),
        ),
        wire_init("w_ok", None, id("w_code").eq(code(ErrorCode::None))),
        wire_init("psel_busy", None, id("rd_valid").or(id("rd_out"))),
        wire_init("do_write", None, do_write),
        wire_init("w_act", None, id("do_write").and(id("w_ok"))),
    ]);
    items
}

/// The write's handshake registers (held beats, BVALID until BREADY), BRESP, and the low
/// instruction word `instr_lo` (an INSTR_LO write).
fn write_response() -> Vec<Item> {
    vec![
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("aw_held"), bit(false)),
                nb(id("w_held"), bit(false)),
                nb(id("s_axil_bvalid"), bit(false)),
            ],
            vec![if_else(
                id("do_write"),
                vec![
                    nb(id("aw_held"), bit(false)),
                    nb(id("w_held"), bit(false)),
                    nb(id("s_axil_bvalid"), bit(true)),
                ],
                vec![
                    if_(id("aw_fire"), vec![nb(id("aw_held"), bit(true))]),
                    if_(id("w_fire"), vec![nb(id("w_held"), bit(true))]),
                    if_(
                        id("s_axil_bready"),
                        vec![nb(id("s_axil_bvalid"), bit(false))],
                    ),
                ],
            )],
        )]),
        always(vec![
            if_(
                id("aw_fire"),
                vec![nb(id("aw_addr_r"), id("s_axil_awaddr"))],
            ),
            if_(
                id("w_fire"),
                vec![
                    nb(id("w_data_r"), id("s_axil_wdata")),
                    nb(id("w_strb_r"), id("s_axil_wstrb")),
                ],
            ),
            if_(
                id("do_write"),
                vec![nb(id("s_axil_bresp"), resp(id("w_ok")))],
            ),
            if_(
                id("w_act").and(id("wa_instr_lo")),
                vec![nb(id("instr_lo"), wfield("INSTR_LO", "WORD"))],
            ),
        ]),
        reg("instr_lo", bits(32)),
    ]
}

/// The effects of a performed write: the pulses to the sequencer (`clear_*`, `q_push` with the
/// 64-bit `q_word`) and the SBUF write port (`sb_*`: one enable per lane, from the strobes).
fn write_effects(g: &Geometry) -> Vec<Item> {
    let control = |field: &str| {
        id("w_act")
            .and(id("wa_control"))
            .and(wfield("CONTROL", field))
    };
    let mut items = vec![
        Item::Blank,
        comment("---- Effects of a performed write ----"),
        assign(id("clear_error"), control("CLEAR_ERROR")),
        assign(id("clear_counters"), control("CLEAR_COUNTERS")),
        assign(id("q_push"), id("w_act").and(id("wa_instr_hi"))),
        assign(
            id("q_word"),
            concat(vec![wfield("INSTR_HI", "WORD"), id("instr_lo")]),
        ),
        comment("SBUF window: byte offset (p * SBUF_DEPTH + e) * EB; a word holds LANES entries."),
        assign(id("sb_wpart"), bits_of(id("wa"), g.sa_w + g.ebb, g.part_w)),
        assign(id("sb_wrow"), bits_of(id("wa"), 2, g.srow_w)),
    ];
    let strobe = |i: u32| id("ws").at(int(i64::from(i)));
    for j in 0..g.lanes {
        // A lane is written when all of its bytes are.
        let lane_strobe = if g.eb == 1 {
            strobe(j)
        } else {
            strobe(2 * j).and(strobe(2 * j + 1))
        };
        items.push(assign(
            bits_of(id("sb_wen"), j, 1),
            id("w_act").and(id("wa_sbuf")).and(lane_strobe),
        ));
        items.push(assign(
            bits_of(id("sb_wdata"), j * g.data_w, g.data_w),
            bits_of(id("wd"), j * 8 * g.eb, g.data_w),
        ));
    }
    items
}

/// With the memory path: the CONTROL pulses `start` (accepted: the refusals are in `w_code`)
/// and `clear_sems`, and the registers `prog_base`, `prog_words`.
fn memory_path_effects() -> Vec<Item> {
    let control = |field: &str| {
        id("w_act")
            .and(id("wa_control"))
            .and(wfield("CONTROL", field))
    };
    vec![
        Item::Blank,
        comment("---- The memory path: instruction fetch and semaphores ----"),
        assign(id("start"), control("START")),
        assign(id("clear_sems"), control("CLEAR_SEMS")),
        always(vec![
            if_(
                id("w_act").and(id("wa_prog_base")),
                vec![nb(id("prog_base"), wfield("PROG_BASE", "ADDR"))],
            ),
            if_(
                id("w_act").and(id("wa_prog_words")),
                vec![nb(id("prog_words"), wfield("PROG_WORDS", "WORDS"))],
            ),
        ]),
    ]
}

/// The PSUM snapshot: a PSUM_SELECT write requests a row through the core's read port
/// (`rd_valid` until `rd_ready`, `rd_out` until `rdata_valid`); the row lands in `snap` and
/// sets `psum_valid`. `snap_words`: the row as 64-bit words, the read window's view.
fn psum_snapshot(g: &Geometry) -> Vec<Item> {
    vec![
        Item::Blank,
        comment("---- PSUM snapshot through the core's read port ----"),
        reg("rd_out", None),
        reg("psum_valid", None),
        reg("snap", bits(g.cols * g.acc_w)),
        assign(id("rdata_ready"), bit(true)),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("rd_valid"), bit(false)),
                nb(id("rd_out"), bit(false)),
                nb(id("psum_valid"), bit(false)),
            ],
            vec![
                if_else(
                    id("w_act").and(id("wa_psum_select")),
                    vec![nb(id("rd_valid"), bit(true))],
                    vec![if_(id("rd_ready"), vec![nb(id("rd_valid"), bit(false))])],
                ),
                if_else(
                    id("rd_valid").and(id("rd_ready")),
                    vec![nb(id("rd_out"), bit(true))],
                    vec![if_(id("rdata_valid"), vec![nb(id("rd_out"), bit(false))])],
                ),
                if_else(
                    id("do_write").and(id("wa_psum_select")),
                    vec![nb(id("psum_valid"), bit(false))],
                    vec![if_(
                        id("rdata_valid"),
                        vec![nb(id("psum_valid"), bit(true))],
                    )],
                ),
            ],
        )]),
        always(vec![
            if_(
                id("w_act").and(id("wa_psum_select")),
                vec![
                    nb(id("rd_bank"), wfield_low("PSUM_SELECT", "BANK", g.bank_w)),
                    nb(id("rd_addr"), wfield_low("PSUM_SELECT", "ADDR", g.paddr_w)),
                ],
            ),
            if_(id("rdata_valid"), vec![nb(id("snap"), id("rdata"))]),
        ]),
        comment("Column c of the snapshot zero-extended to 64 bits at [c*64 +: 64]; columns up to"),
        comment(
            "the next power of two (zero) so the word index below has exactly the needed bits.",
        ),
        wire("snap_words", bits(64 << col_bits(g))),
        snap_words(g),
    ]
}

/// `snap_words[c*64 +: 64]`: column c of `snap` zero-extended, 0 for the padding columns.
fn snap_words(g: &Geometry) -> Item {
    let word = || id("snap_words").part(id("c").mul(int(64)), int(64));
    gen_for(
        "c",
        int(0),
        int(i64::from(1u32 << col_bits(g))),
        "g_snap",
        vec![gen_if(
            id("c").lt(int(i64::from(g.cols))),
            "g_col",
            vec![assign(
                word(),
                zext(
                    id("snap").part(
                        id("c").mul(int(i64::from(g.acc_w))),
                        int(i64::from(g.acc_w)),
                    ),
                    g.acc_w,
                    64,
                ),
            )],
            "g_pad",
            vec![assign(word(), sized(64, 0))],
        )],
    )
}

/// The read channel: AR accepted when no R is waiting; the read decoder (one hit per
/// read-only register `ra_*`, the PSUM window `ra_psum`) selects `r_value`, captured with its
/// RRESP at the edge that accepts AR; reading a counter's low word latches its high word.
fn read_channel(cfg: &Config, g: &Geometry) -> Vec<Item> {
    let ro = registers(cfg, Access::ReadOnly);
    let mut items = vec![
        Item::Blank,
        comment("---- Read channel: data captured when AR is accepted ----"),
        reg("cycles_hi", bits(32)),
        reg("macs_hi", bits(32)),
        assign(id("s_axil_arready"), not(id("s_axil_rvalid"))),
        wire_init(
            "ar_fire",
            None,
            id("s_axil_arvalid").and(id("s_axil_arready")),
        ),
        wire_init("ra", bits(32), id("s_axil_araddr")),
    ];
    for r in &ro {
        items.push(wire_init(
            &hit_name("ra", r),
            None,
            id("ra").eq(sized(32, u64::from(r.offset))),
        ));
    }
    items.extend([
        wire_init("ra_psum", None, psum_window(g, "ra")),
        wire_init(
            "r_ok",
            None,
            any(ro.iter().map(|r| hit_name("ra", r)).collect()).or(id("ra_psum")),
        ),
        wire_init("r_value", bits(32), read_mux(cfg, g, &ro)),
        always(vec![if_else(
            id("rst"),
            vec![nb(id("s_axil_rvalid"), bit(false))],
            vec![if_else(
                id("ar_fire"),
                vec![nb(id("s_axil_rvalid"), bit(true))],
                vec![if_(
                    id("s_axil_rready"),
                    vec![nb(id("s_axil_rvalid"), bit(false))],
                )],
            )],
        )]),
        always(vec![
            if_(
                id("ar_fire"),
                vec![
                    nb(id("s_axil_rdata"), id("r_value")),
                    nb(id("s_axil_rresp"), resp(id("r_ok"))),
                ],
            ),
            if_(
                id("ar_fire").and(id("ra_cycles_lo")),
                vec![nb(id("cycles_hi"), bits_of(id("cycles"), 32, 32))],
            ),
            if_(
                id("ar_fire").and(id("ra_macs_lo")),
                vec![nb(id("macs_hi"), bits_of(id("macs"), 32, 32))],
            ),
        ]),
    ]);
    items
}

/// Address `a` in the PSUM snapshot window: column index in bits 11..3 below COLS, word in
/// bit 2, word aligned.
fn psum_window(g: &Geometry, a: &str) -> Expr {
    bits_of(id(a), 12, 20)
        .eq(sized(20, u64::from(PSUM_DATA_BASE >> 12)))
        .and(bits_of(id(a), 3, 9).lt(sized(9, u64::from(g.cols))))
        .and(bits_of(id(a), 0, 2).eq(sized(2, 0)))
}

/// The read value: the first read-only register hit (its fields assembled), else the PSUM
/// window's 32-bit word of `snap_words`, else 0.
fn read_mux(cfg: &Config, g: &Geometry, ro: &[&Register]) -> Expr {
    let psum_index = {
        let mut parts = vec![];
        if col_bits(g) > 0 {
            parts.push(bits_of(id("ra"), 3, col_bits(g)));
        }
        parts.push(id("ra").at(int(2)));
        parts.push(sized(5, 0));
        concat(parts)
    };
    let mut value = cond(
        id("ra_psum"),
        id("snap_words").part(psum_index, int(32)),
        sized(32, 0),
    );
    for r in ro.iter().rev() {
        value = cond(id(&hit_name("ra", r)), read_value(cfg, r), value);
    }
    value
}

/// The bus error reported to the sequencer: a failed write (its code) or read (BusAddress).
fn bus_errors() -> Vec<Item> {
    vec![
        Item::Blank,
        comment("---- Errors to the sequencer (a write's error first) ----"),
        wire_init("w_err", None, id("do_write").and(not(id("w_ok")))),
        wire_init("r_err", None, id("ar_fire").and(not(id("r_ok")))),
        assign(id("bus_err"), id("w_err").or(id("r_err"))),
        assign(
            id("bus_code"),
            cond(id("w_err"), id("w_code"), code(ErrorCode::BusAddress)),
        ),
    ]
}

fn ports(cfg: &Config, g: &Geometry) -> Vec<Port> {
    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
    ];
    ports.extend(axil_ports(false));
    ports.extend([
        output("q_push", None, "sequencer: push q_word"),
        output("q_word", bits(64), ""),
        output("clear_error", None, ""),
        output("clear_counters", None, ""),
        output("bus_err", None, "a bus access failed"),
        output("bus_code", bits(8), "its isa::ErrorCode"),
        input(
            "q_free",
            bits(sequencer::queue_count_bits(cfg)),
            "sequencer status",
        ),
        input("st_busy", None, ""),
        input("st_stalled", None, ""),
        input("st_error", None, ""),
        input("st_code", bits(8), ""),
        input("pend_loads", bits(2), ""),
        input("stationary", None, ""),
        input("cycles", bits(64), "counters"),
        input("macs", bits(64), ""),
        input("retired", bits(32), ""),
        output("sb_wen", bits(g.lanes), "SBUF write port"),
        output("sb_wpart", bits(g.part_w), ""),
        output("sb_wrow", bits(g.srow_w), ""),
        output("sb_wdata", bits(g.lanes * g.data_w), ""),
    ]);
    if g.sbuf_packed {
        ports.push(input(
            "sb_wbusy",
            None,
            "the packed SBUF is storing a word: no write is performed",
        ));
    }
    if cfg.dma {
        ports.extend([
            input(
                "sb_wbusy",
                None,
                "the DMA or the write-back unit writes the SBUF: a window write waits",
            ),
            output("start", None, "fetch: CONTROL.START accepted"),
            output("clear_sems", None, "sequencer: CONTROL.CLEAR_SEMS"),
            output_reg("prog_base", bits(32), "PROG_BASE"),
            output_reg("prog_words", bits(32), "PROG_WORDS"),
            input("fetching", None, "STATUS.FETCHING"),
            input("sems", bits(128), "semaphore k in [16k +: 16]"),
            input("dma_rd_bytes", bits(32), "DMA_READ_BYTES"),
            input("dma_wr_bytes", bits(32), "DMA_WRITE_BYTES"),
        ]);
    }
    ports.extend([
        output_reg("rd_valid", None, "core PSUM read"),
        input("rd_ready", None, ""),
        output_reg("rd_bank", bits(g.bank_w), ""),
        output_reg("rd_addr", bits(g.paddr_w), ""),
        input("rdata_valid", None, ""),
        output("rdata_ready", None, ""),
        input("rdata", bits(g.cols * g.acc_w), ""),
    ]);
    ports
}
