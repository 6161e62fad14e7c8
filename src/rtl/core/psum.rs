//! `systolic_psum`: the PSUM accumulation buffer below the array, with its host read port.
//!
//! Timing contract:
//! - Storage: per column, `BANKS x DEPTH` accumulators of `ACC_W` bits in one memory with one
//!   synchronous read port and one write port (block-RAM shaped); entry `{bank, addr}`.
//! - Write pipeline (fixed latency, never stalls): the control of a result vector
//!   (`pre_valid`, `pre_bank`, `pre_addr`, `pre_acc`, `pre_m`) arrives one cycle before its data
//!   (`in_data`, all columns aligned). In the control cycle the old value is read; in the data
//!   cycle `new = (acc ? old : 0) + in_data` is written at the clock edge, to columns `c < m`
//!   only. `wr_valid` is high in the data cycle. Integer formats add modulo `2^ACC_W`; the
//!   floating-point formats write `acc ? fp32_add(old, in_data) : in_data` with one
//!   combinational `systolic_fp32_add` per column (nearest-even, as `docs/numerics.md` says).
//! - Accumulating into the address written in the previous cycle is forwarded: the sum written
//!   at the last edge replaces the memory's (stale) read data. Two cycles apart the memory
//!   already holds it. So back-to-back accumulation into one address is correct at any N,
//!   without stalls, whatever the memory's read-during-write behaviour: the inferred memories
//!   carry `no_rw_check`, so Yosys adds no collision logic in front of the block RAM (checked
//!   by `tests/mutation.rs` with memories that return garbage on such reads).
//! - Integer read-ahead (`RD_AHEAD = 1`, generated with pe_latency 2): the control arrives
//!   two cycles before the data. The memory is read in the first control cycle; in the second
//!   the addend is formed and registered (`old_q`: 0 when overwriting, else the read value or
//!   the sum written at the edge that ended the first control cycle, which the read may have
//!   missed), together with whether the sum written at the end of the second one must replace
//!   it (`fwd_q`). The data cycle holds only `sum = (fwd_q ? last_sum : old_q) + in_data`, the
//!   memory's write and `last_sum`. Same write cycle and the same guarantees as above.
//!   `RD_AHEAD = 2` (pe_latency 3): control three cycles early; the read data is registered
//!   as it leaves the memory (`q_r`, no logic after the block RAM's output); the addend formed
//!   in the cycle before the data forwards the sums written at the two edges before that cycle
//!   (`last_sum`, `last2_sum`), which the early read may have missed, and the data cycle's
//!   predecessor's sum replaces it as before (`fwd_q`). The memory is then written from the
//!   sum's register (`last_sum` at `fwd_index`) at the edge after the data cycle, so the
//!   adder's result goes only into a register, and `wr_valid` (the write's cycle) is one cycle
//!   after the data cycle; the addend also forwards the sum of the data cycle three cycles
//!   back (`last3_sum`), whose write the early read may have missed too. With either
//!   RD_AHEAD, every forwarding select is a register of its column: whether the entry is the
//!   data cycle's (`ctl_same0`, into `fwd_q`) is compared a cycle early, from the control one
//!   stage before (`nx_index`), and so are the older ones (`nx_same1..3`), which each column
//!   registers with its own write strobes as `use1..3_q` (no select fans out across columns).
//!   `RAM_ECP5 = 1` (with `RD_AHEAD = 2`, `primitives = "ecp5"`): each column's memory is
//!   `systolic_ram_ecp5`, whose DP16KD blocks register the read data in their own output
//!   registers: the same two cycles from address to `q_r`'s place, with no fabric register.
//! - Split accumulate (`psum_split`, generated with `RD_AHEAD = 2` only; parameter `LO_W`):
//!   each column is two lanes with their own memory, read-ahead and forwarding as above, the
//!   low `LO_W` bits (`_lo`) and the high `HI_W = ACC_W - LO_W` (`_hi`). The high lane is the
//!   low one a cycle later: its control (`h_*`) is the module's delayed by one register, its
//!   input the data cycle's high bits registered (`in_hi_q`), and its sum adds the low sum's
//!   carry (`carry_lo`, recovered from the low operands' registered top bits and the low sum's
//!   top bit, so the low adder needs no carry output). So each accumulate loop (`last_sum ->
//!   addend -> sum`) is `LO_W` or `HI_W` bits long instead of `ACC_W`, and the high half is
//!   written one edge after the low one; `wr_valid` marks that later write (one cycle of
//!   latency more). Host reads read both memories in the same cycle (`h_raddr` takes
//!   `rd_index` when no high-lane read is due, which `rd_allow` guarantees: nothing is in
//!   flight then).
//! - Floating point with `ACC_PIPE = 1` (pe_latency 3): the fp32 adder has one internal
//!   register, so a result vector is written one edge later (`wr_valid` high then). The sum of
//!   the previous data cycle does not exist yet when the next one needs it, so the top level
//!   must never send an accumulation into the entry of the result vector one cycle ahead of it
//!   (it stalls that beat for one cycle); two or more cycles apart the forwarding above applies.
//! - Host read: `rd_valid`/`rd_ready` request, `rdata_valid`/`rdata_ready` response holding all
//!   columns of one entry. `rd_ready` needs `rd_allow` (the top level's guarantee that no result
//!   is in flight, so the read port is free and the read sees every earlier instruction),
//!   no read pending, and a free (or freeing) response register. Response two cycles (three with
//!   `RAM_ECP5`, whose block RAMs register their read data once more) after the
//!   request; it is held until taken, never overwritten, never repeated.

use crate::config::Config;
use crate::verilog::*;

/// The PSUM module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let d = &cfg.derived;
    let (cols, acc_w, banks, depth) = (cfg.cols, d.acc_w, cfg.psum_banks, cfg.psum_depth);
    let (bank_w, addr_w, m_w) = (d.bank_w, d.addr_w, d.m_w);
    let idx_w = || w("IDX_W");
    let col = |net: &str| id(net).part(id("c").mul(id("ACC_W")), id("ACC_W"));
    let float = cfg.format.is_float();
    let split = cfg.psum_split;
    // The control of the beat whose data comes next cycle: `pre_*` itself, or (integer formats)
    // `ctl_*`, which follows `pre_*` by RD_AHEAD cycles.
    let ctl = |field: &str| {
        if float {
            format!("pre_{field}")
        } else {
            format!("ctl_{field}")
        }
    };
    // The new value of an entry: integer add, or fp32 add of the old value (accumulate).
    let float_decls = if float {
        vec![wire("w_acc", None), wire("w_index", w("IDX_W"))]
    } else {
        vec![]
    };
    let write_stage = if float {
        let idx = || idx_w();
        Item::If {
            cond: id("ACC_PIPE").ne(int(0)),
            label: "g_wr_pipe".into(),
            then_items: vec![
                comment("The write stage, one cycle after the data cycle."),
                reg("dat_valid_q", None),
                reg("wr_acc_q", None),
                reg("wr_index_q", idx()),
                always(vec![
                    nb(id("wr_acc_q"), id("wr_acc")),
                    nb(id("wr_index_q"), id("wr_index")),
                ]),
                always(vec![if_else(
                    id("rst"),
                    vec![nb(id("dat_valid_q"), sized(1, 0))],
                    vec![nb(id("dat_valid_q"), id("dat_valid"))],
                )]),
                assign(id("wr_valid"), id("dat_valid_q")),
                assign(id("w_acc"), id("wr_acc_q")),
                assign(id("w_index"), id("wr_index_q")),
            ],
            else_label: "g_wr_now".into(),
            else_items: vec![
                assign(id("wr_valid"), id("dat_valid")),
                assign(id("w_acc"), id("wr_acc")),
                assign(id("w_index"), id("wr_index")),
            ],
        }
    } else {
        Item::Blank
    };
    // The write stage's strobe and entry: the data cycle's, or (float) ACC_PIPE cycles later.
    let (we_name, index_name) = if float {
        ("w_we", "w_index")
    } else {
        ("we", "wr_index")
    };
    let sum: Vec<Item> = if float {
        vec![
            wire("acc_sum", w("ACC_W")),
            Item::Instance(Instance {
                module: "systolic_fp32_add".into(),
                name: "u_acc".into(),
                params: vec![("PIPE".into(), id("ACC_PIPE"))],
                ports: vec![
                    ("clk".into(), id("clk")),
                    ("a".into(), id("old")),
                    ("b".into(), col("in_data")),
                    ("y".into(), id("acc_sum")),
                ],
            }),
            comment("The data of the write stage: ACC_PIPE cycles after the data cycle."),
            wire("w_in", w("ACC_W")),
            wire("w_we", None),
            gen_if(
                id("ACC_PIPE").ne(int(0)),
                "g_acc_pipe",
                vec![
                    reg("in_q", w("ACC_W")),
                    reg("we_q", None),
                    always(vec![
                        nb(id("in_q"), col("in_data")),
                        nb(id("we_q"), id("we")),
                    ]),
                    assign(id("w_in"), id("in_q")),
                    assign(id("w_we"), id("we_q")),
                ],
                "g_acc_comb",
                vec![
                    assign(id("w_in"), col("in_data")),
                    assign(id("w_we"), id("we")),
                ],
            ),
            wire_init(
                "sum",
                w("ACC_W"),
                cond(id("w_acc"), id("acc_sum"), id("w_in")),
            ),
        ]
    } else {
        int_lane_sum(&Lane::WHOLE, col("in_data"))
    };
    // One column: a split one's two lanes, or the whole accumulator's memory and adder.
    let column = if split {
        split_column()
    } else {
        [
            vec![
                comment("rd_q: the word read at raddr, RD_LAT - 1 cycles later."),
                wire("rd_q", w("ACC_W")),
                reg("rq", w("ACC_W")),
                reg("last_sum", w("ACC_W")),
                Item::LintOff {
                    warning: "UNUSED",
                    reason: "The data cycle's write strobe a cycle later: unused with integer RD_AHEAD 1.".into(),
                    items: vec![reg("last_we", None)],
                },
                wire_init("we", None, id("dat_valid").and(id("wr_m").gt(id("c")))),
            ],
            if float {
                vec![wire_init(
                    "old",
                    w("ACC_W"),
                    cond(id("fwd_hit").and(id("last_we")), id("last_sum"), id("rd_q")),
                )]
            } else {
                vec![]
            },
            sum,
            if float {
                storage(float, &Lane::WHOLE, we_name, index_name, "sum")
            } else {
                [
                    int_write_port(&Lane::WHOLE),
                    storage(float, &Lane::WHOLE, "st_we", "st_index", "st_data"),
                ]
                .concat()
            },
            vec![
                always(vec![
                    nb(id("last_sum"), id("sum")),
                    nb(id("last_we"), id(we_name)),
                    if_(id("rd_take"), vec![nb(id("rq"), id("rd_q"))]),
                ]),
                assign(col("rdata"), id("rq")),
            ],
        ]
        .concat()
    };
    Module {
        name: "systolic_psum".into(),
        doc: vec![
            "PSUM buffer: per column BANKS x DEPTH accumulators, 1 sync read + 1 write port."
                .into(),
            "Control (pre_*) 1 + RD_AHEAD cycles before data (in_data): read old value, then write"
                .into(),
            "(acc ? old : 0) + in_data to columns c < m at the data cycle's edge (RD_AHEAD 2: the"
                .into(),
            "edge after, from the sum's register; wr_valid marks the write); sums written".into(),
            "since the read are forwarded. Host read: response 2 cycles (RAM_ECP5: 3) after the"
                .into(),
            "request, held until taken; accepted only while rd_allow (nothing in flight).".into(),
        ],
        params: vec![
            param("COLS", cols.into(), "columns"),
            param("ACC_W", acc_w.into(), "bits of one accumulator"),
            param("BANKS", banks.into(), "PSUM banks"),
            param("DEPTH", depth.into(), "entries per bank (power of two)"),
            param("BANK_W", bank_w.into(), "bits of a bank number"),
            param("ADDR_W", addr_w.into(), "log2(DEPTH)"),
            param("M_W", m_w.into(), "bits of a column count 1..COLS"),
        ]
        .into_iter()
        .chain((!float).then(|| {
            param(
                "RD_AHEAD",
                i64::from(cfg.derived.psum_ahead),
                "control RD_AHEAD + 1 cycles before the data; old values read RD_AHEAD cycles ahead (0..2)",
            )
        }))
        .chain((!float).then(|| {
            param(
                "RAM_ECP5",
                i64::from(cfg.derived.psum_ram_ecp5),
                "1: each column on ECP5 DP16KD blocks with their output registers (RD_AHEAD 2)",
            )
        }))
        .chain(split.then(|| {
            param(
                "LO_W",
                i64::from(cfg.derived.psum_lo_w),
                "split accumulate: bits of the low half (the high ACC_W - LO_W a cycle later)",
            )
        }))
        .chain(float.then(|| {
            param(
                "ACC_PIPE",
                i64::from(cfg.derived.add_lat - 1),
                "1: fp32 accumulate adder with one register (writes one cycle later)",
            )
        }))
        .collect(),
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("pre_valid", None, "a result vector arrives next cycle"),
            input("pre_bank", w("BANK_W"), "unused when BANKS == 1").waive("UNUSED"),
            input("pre_addr", w("ADDR_W"), ""),
            input("pre_acc", None, "1: add to the entry, 0: overwrite"),
            input("pre_m", w("M_W"), "columns c < m are written"),
            input(
                "in_data",
                Some(id("COLS").mul(id("ACC_W"))),
                "result vector, column c in [c*ACC_W +: ACC_W]",
            ),
            output(
                "wr_valid",
                None,
                "a result vector is written at this cycle's edge",
            ),
            input("rd_allow", None, "no result in flight (from the top level)"),
            input("rd_valid", None, "host read request"),
            output("rd_ready", None, ""),
            input("rd_bank", w("BANK_W"), "unused when BANKS == 1").waive("UNUSED"),
            input("rd_addr", w("ADDR_W"), ""),
            output_reg("rdata_valid", None, "host read response"),
            input("rdata_ready", None, ""),
            output(
                "rdata",
                Some(id("COLS").mul(id("ACC_W"))),
                "column c in [c*ACC_W +: ACC_W]",
            ),
            output(
                "rd_busy",
                None,
                "a read is pending or its response not yet taken",
            ),
        ],
        items: [
            vec![
                Item::Localparam("ENTRIES".into(), id("BANKS").mul(id("DEPTH"))),
                Item::Localparam(
                    "IDX_W".into(),
                    cond(
                        id("BANKS").gt(int(1)),
                        id("BANK_W").add(id("ADDR_W")),
                        id("ADDR_W"),
                    ),
                ),
                reg("rd_pending", None),
                comment("The data cycle's valid; the write (wr_valid) follows it ACC_PIPE cycles later (floating point), or one cycle later with RD_AHEAD 2 (integers)."),
                reg("dat_valid", None),
                if float {
                    reg("wr_acc", None)
                } else {
                    Item::LintOff {
                        warning: "UNUSED",
                        reason: "With RD_AHEAD the accumulate flag is applied one cycle early (ctl_acc): wr_acc is then unused.".into(),
                        items: vec![reg("wr_acc", None)],
                    }
                },
                reg("wr_m", w("M_W")),
            ],
            float_decls,
            vec![
                comment("Entry index: {bank, addr}, or addr alone with one bank."),
                wire("pre_index", idx_w()),
                wire("rd_index", idx_w()),
                gen_if(
                    id("BANKS").gt(int(1)),
                    "g_banks",
                    vec![
                        assign(
                            id("pre_index"),
                            concat(vec![id("pre_bank"), id("pre_addr")]),
                        ),
                        assign(id("rd_index"), concat(vec![id("rd_bank"), id("rd_addr")])),
                    ],
                    "g_one_bank",
                    vec![
                        assign(id("pre_index"), id("pre_addr")),
                        assign(id("rd_index"), id("rd_addr")),
                    ],
                ),
                reg("wr_index", idx_w()),
                Item::LintOff {
                    warning: "UNUSED",
                    reason: "The write one cycle after the data cycle: unused with integer RD_AHEAD 1 (forwarding selects from the data cycle's strobes).".into(),
                    items: vec![reg("fwd_valid", None)],
                },
                reg("fwd_index", idx_w()),
                wire_init("rd_fire", None, id("rd_valid").and(id("rd_ready"))),
                wire_init(
                    "raddr",
                    idx_w(),
                    cond(id("pre_valid"), id("pre_index"), id("rd_index")),
                ),
            ],
            if float {
                vec![wire_init(
                    "fwd_hit",
                    None,
                    id("fwd_valid").and(id("fwd_index").eq(id("wr_index"))),
                )]
            } else {
                [
                    vec![
                        comment("RD_AHEAD 2: a sum is written from its register (last_sum) one cycle after its data cycle."),
                    ],
                    if split {
                        split_control()
                    } else {
                        vec![gen_if(
                            id("RD_AHEAD").gt(int(1)),
                            "g_wr_reg",
                            vec![assign(id("wr_valid"), id("fwd_valid"))],
                            "g_wr_now",
                            vec![assign(id("wr_valid"), id("dat_valid"))],
                        )]
                    },
                    vec![
                        Item::LintOff {
                            warning: "UNUSED",
                            reason: "The entry of the data cycle three cycles back: compared only with RD_AHEAD 2.".into(),
                            items: vec![reg("fwd2_index", idx_w())],
                        },
                        always(vec![nb(id("fwd2_index"), id("fwd_index"))]),
                    ],
                    control_stage(),
                ]
                .concat()
            },
            read_stages(float),
            vec![
                Item::Blank,
                assign(
                    id("rd_ready"),
                    id("rd_allow")
                        .and(not(id("rd_wait")))
                        .and(not(id("rdata_valid")).or(id("rdata_ready"))),
                ),
                assign(id("rd_busy"), id("rd_wait").or(id("rdata_valid"))),
                Item::Blank,
                always(vec![
                    nb(id("wr_acc"), id(&ctl("acc"))),
                    nb(id("wr_m"), id(&ctl("m"))),
                    nb(id("wr_index"), id(&ctl("index"))),
                    nb(id("fwd_index"), id(index_name)),
                ]),
                always(vec![if_else(
                    id("rst"),
                    vec![
                        nb(id("dat_valid"), sized(1, 0)),
                        nb(id("fwd_valid"), sized(1, 0)),
                        nb(id("rd_pending"), sized(1, 0)),
                        nb(id("rdata_valid"), sized(1, 0)),
                    ],
                    vec![
                        nb(id("dat_valid"), id(&ctl("valid"))),
                        nb(id("fwd_valid"), id(if float { "wr_valid" } else { "dat_valid" })),
                        nb(id("rd_pending"), id("rd_fire")),
                        if_else(
                            id("rd_take"),
                            vec![nb(id("rdata_valid"), sized(1, 1))],
                            vec![if_(
                                id("rdata_ready"),
                                vec![nb(id("rdata_valid"), sized(1, 0))],
                            )],
                        ),
                    ],
                )]),
                write_stage,
                Item::Blank,
                comment("One memory per column: column c is g_col[c].mem."),
                gen_for(
                    "c",
                    int(0),
                    id("COLS"),
                    "g_col",
                    column,
                ),
            ],
        ]
        .concat(),
    }
}

/// Integer PSUM: the control of the beat whose data arrives next cycle (`ctl_*`), `RD_AHEAD`
/// cycles after it arrived on `pre_*` (whose cycle reads the memory).
fn control_stage() -> Vec<Item> {
    let fields = [
        ("valid", None),
        ("acc", None),
        ("m", w("M_W")),
        ("index", w("IDX_W")),
    ];
    let src = |f: &str| id(&format!("pre_{f}"));
    let mut items: Vec<Item> = fields
        .iter()
        .map(|(f, width)| wire(&format!("ctl_{f}"), width.clone()))
        .collect();
    // `mid{i}_*`: the control i + 1 cycles after `pre_*`; `ctl_*` is the last of RD_AHEAD.
    let stage = |i: usize, from: &dyn Fn(&str) -> Expr| {
        let name = |f: &str| format!("mid{i}_{f}");
        let mut items: Vec<Item> = fields
            .iter()
            .map(|(f, width)| reg(&name(f), width.clone()))
            .collect();
        items.push(always(
            fields[1..]
                .iter()
                .map(|(f, _)| nb(id(&name(f)), from(f)))
                .collect(),
        ));
        items.push(always(vec![if_else(
            id("rst"),
            vec![nb(id(&name("valid")), sized(1, 0))],
            vec![nb(id(&name("valid")), from("valid"))],
        )]));
        items
    };
    let to_ctl = |i: usize| -> Vec<Item> {
        fields
            .iter()
            .map(|(f, _)| assign(id(&format!("ctl_{f}")), id(&format!("mid{i}_{f}"))))
            .collect()
    };
    // `ctl_same0`: the control's entry is that of the data cycle (`wr_index` next cycle),
    // compared one cycle early against the control one stage before `ctl_*` (`nx_index`), so
    // that it is a register. `nx_same{j}`: `nx_index` against the entry of the data cycle j
    // cycles before the next one (1: `wr_index`, 2: `fwd_index`, 3: `fwd2_index`), from which
    // each lane registers its own forwarding selects (`use{j}_q`) a cycle early.
    let same = [("ctl_same0", "ctl_index")];
    let nx_same = [
        ("nx_same1", "wr_index"),
        ("nx_same2", "fwd_index"),
        ("nx_same3", "fwd2_index"),
    ];
    items.push(Item::LintOff {
        warning: "UNUSED",
        reason: "Forwarding flags of the read-ahead: unused when RD_AHEAD == 0, nx_same2 and nx_same3 when RD_AHEAD < 2.".into(),
        items: same
            .iter()
            .chain(nx_same.iter())
            .map(|(flag, _)| wire(flag, None))
            .collect(),
    });
    let mut regs = stage(0, &src);
    regs.push(wire("nx_index", w("IDX_W")));
    regs.push(gen_if(
        id("RD_AHEAD").gt(int(1)),
        "g_ctl_two",
        [
            stage(1, &|f: &str| id(&format!("mid0_{f}"))),
            to_ctl(1),
            vec![assign(id("nx_index"), id("mid0_index"))],
        ]
        .concat(),
        "g_ctl_one",
        [to_ctl(0), vec![assign(id("nx_index"), id("pre_index"))]].concat(),
    ));
    regs.extend(same.iter().map(|(flag, _)| reg(&format!("{flag}_q"), None)));
    regs.push(always(
        same.iter()
            .map(|(flag, other)| nb(id(&format!("{flag}_q")), id("nx_index").eq(id(other))))
            .collect(),
    ));
    regs.extend(
        same.iter()
            .map(|(flag, _)| assign(id(flag), id(&format!("{flag}_q")))),
    );
    regs.extend(
        nx_same
            .iter()
            .map(|(flag, other)| assign(id(flag), id("nx_index").eq(id(other)))),
    );
    items.push(gen_if(
        id("RD_AHEAD").ne(int(0)),
        "g_ctl_ahead",
        regs,
        "g_ctl_now",
        fields
            .iter()
            .map(|(f, _)| assign(id(&format!("ctl_{f}")), src(f)))
            .chain(
                same.iter()
                    .chain(nx_same.iter())
                    .map(|(flag, _)| assign(id(flag), sized(1, 0))),
            )
            .collect(),
    ));
    items
}

/// Host reads: `rd_take` is the cycle whose read data goes into the response register,
/// `rd_wait` that a read is between request and response. One cycle after the request, or two
/// with the ECP5 block RAMs' output registers (integer `RAM_ECP5`).
fn read_stages(float: bool) -> Vec<Item> {
    let mut items = vec![wire("rd_take", None), wire("rd_wait", None)];
    let one_cycle = vec![
        assign(id("rd_take"), id("rd_pending")),
        assign(id("rd_wait"), id("rd_pending")),
    ];
    if float {
        items.extend(one_cycle);
    } else {
        items.push(gen_if(
            id("RAM_ECP5").ne(int(0)),
            "g_rd_two",
            vec![
                reg("rd_pending2", None),
                always(vec![if_else(
                    id("rst"),
                    vec![nb(id("rd_pending2"), sized(1, 0))],
                    vec![nb(id("rd_pending2"), id("rd_pending"))],
                )]),
                assign(id("rd_take"), id("rd_pending2")),
                assign(id("rd_wait"), id("rd_pending").or(id("rd_pending2"))),
            ],
            "g_rd_one",
            one_cycle,
        ));
    }
    items
}

/// An integer lane's write port (`st_*{sfx}`): the data cycle's sum, or (RD_AHEAD 2) its
/// register one cycle later.
fn int_write_port(l: &Lane) -> Vec<Item> {
    let port = |we: Expr, index: Expr, data: Expr| {
        vec![
            assign(l.l("st_we"), we),
            assign(l.l("st_index"), index),
            assign(l.l("st_data"), data),
        ]
    };
    [
        vec![
            wire(&l.n("st_we"), None),
            wire(&l.n("st_index"), w("IDX_W")),
            wire(&l.n("st_data"), l.w()),
        ],
        l.ahead_if(
            id("RD_AHEAD").gt(int(1)),
            "g_st_reg",
            port(
                l.c("fwd_valid").and(l.l("last_we")),
                l.c("fwd_index"),
                l.l("last_sum"),
            ),
            "g_st_now",
            port(l.l("we"), l.c("wr_index"), l.l("sum")),
        ),
    ]
    .concat()
}

/// One column's (or integer lane's) memory: written with `data` at `index` when `we`, read at
/// `raddr` (the high lane: `h_raddr`) into `rd_q{sfx}`. An inferred memory with a registered
/// read (`g_col[c].mem{sfx}`, one cycle), or (integer `RAM_ECP5`) `systolic_ram_ecp5` (two
/// cycles).
fn storage(float: bool, l: &Lane, we: &str, index: &str, data: &str) -> Vec<Item> {
    let inferred = vec![
        // The forwarding above replaces every read that meets a write of its entry, so the
        // memory needs no read-during-write behaviour (no collision logic from Yosys).
        memory_no_rw_check(&l.n("mem"), l.w(), id("ENTRIES")),
        reg(&l.n("q"), l.w()),
        always(vec![
            nb(l.l("q"), l.l("mem").at(l.c("raddr"))),
            if_(id(we), vec![nb(l.l("mem").at(id(index)), id(data))]),
        ]),
        assign(l.l("rd_q"), l.l("q")),
    ];
    if float {
        return inferred;
    }
    vec![gen_if(
        id("RAM_ECP5").ne(int(0)),
        &l.n("g_ram_ecp5"),
        vec![Item::Instance(Instance {
            module: "systolic_ram_ecp5".into(),
            name: l.n("u_ram"),
            params: vec![
                ("W".into(), id(l.width)),
                ("ENTRIES".into(), id("ENTRIES")),
                ("AW".into(), id("IDX_W")),
            ],
            ports: vec![
                ("clk".into(), id("clk")),
                ("we".into(), id(we)),
                ("waddr".into(), id(index)),
                ("wdata".into(), id(data)),
                ("raddr".into(), l.c("raddr")),
                ("rdata".into(), l.l("rd_q")),
            ],
        })],
        &l.n("g_ram"),
        inferred,
    )]
}

/// The control of a split PSUM's high lanes: the module's, one cycle later (`h_*`); its write
/// (`h_fwd_valid`) is the module's `wr_valid`.
fn split_control() -> Vec<Item> {
    let delayed: [(&str, Option<Expr>); 5] = [
        ("ctl_acc", None),
        ("ctl_same0", None),
        ("fwd_index", w("IDX_W")),
        ("pre_index", w("IDX_W")),
        ("pre_valid", None),
    ];
    let h = |name: &str| id(&format!("h_{name}"));
    let mut items = vec![
        comment("Split accumulate: the high lanes' control, one cycle after the low lanes'."),
        Item::Localparam("HI_W".into(), id("ACC_W").sub(id("LO_W"))),
        reg("h_fwd_valid", None),
    ];
    items.extend(
        delayed
            .iter()
            .map(|(name, width)| reg(&format!("h_{name}"), width.clone())),
    );
    items.push(always(
        delayed
            .iter()
            .filter(|(name, _)| *name != "pre_valid")
            .map(|(name, _)| nb(h(name), id(name)))
            .collect(),
    ));
    items.push(always(vec![if_else(
        id("rst"),
        vec![
            nb(h("fwd_valid"), sized(1, 0)),
            nb(h("pre_valid"), sized(1, 0)),
        ],
        vec![
            nb(h("fwd_valid"), id("fwd_valid")),
            nb(h("pre_valid"), id("pre_valid")),
        ],
    )]));
    items.push(comment("The high lanes read an entry a cycle after the low ones, or, for the host (never while a result is in flight), in the same cycle."));
    items.push(wire_init(
        "h_raddr",
        w("IDX_W"),
        cond(h("pre_valid"), h("pre_index"), id("rd_index")),
    ));
    items.push(assign(id("wr_valid"), h("fwd_valid")));
    items
}

/// A split integer column (`psum_split`): the low lane on the data cycle, the high lane a
/// cycle later with the low lane's carry; a host read takes both memories' words of one entry,
/// read in the same cycle.
fn split_column() -> Vec<Item> {
    let lane = |l: &Lane, input: Expr| {
        [
            vec![
                wire(&l.n("rd_q"), l.w()),
                reg(&l.n("last_sum"), l.w()),
                reg(&l.n("last_we"), None),
            ],
            int_lane_sum(l, input),
            int_write_port(l),
            storage(false, l, &l.n("st_we"), &l.n("st_index"), &l.n("st_data")),
            vec![always(vec![
                nb(l.l("last_sum"), l.l("sum")),
                nb(l.l("last_we"), l.l("we")),
            ])],
        ]
        .concat()
    };
    let base = || id("c").mul(id("ACC_W"));
    [
        vec![
            comment("Split accumulate: the low LO_W bits in the data cycle (lane _lo), the high HI_W bits one cycle later (lane _hi, the module's control delayed: h_*), with the low lane's carry."),
            reg("rq", w("ACC_W")),
            wire_init("we_lo", None, id("dat_valid").and(id("wr_m").gt(id("c")))),
            reg("we_hi", None),
            reg("in_hi_q", w("HI_W")),
            reg("lo_a_msb", None),
            reg("lo_b_msb", None),
        ],
        lane(&Lane::LO, id("in_data").part(base(), id("LO_W"))),
        vec![
            always(vec![
                nb(id("we_hi"), id("we_lo")),
                nb(id("in_hi_q"), id("in_data").part(base().add(id("LO_W")), id("HI_W"))),
                nb(id("lo_a_msb"), id("addend_lo").at(id("LO_W").sub(int(1)))),
                nb(
                    id("lo_b_msb"),
                    id("in_data").at(base().add(id("LO_W")).sub(int(1))),
                ),
            ]),
            comment("The low sum's carry out, from the operands' top bits (registered) and the sum's (last_sum_lo): the low adder's loop ends at its sum, with no carry output."),
            wire_init(
                "carry_lo",
                None,
                id("lo_a_msb").and(id("lo_b_msb")).or(id("lo_a_msb")
                    .bit_xor(id("lo_b_msb"))
                    .and(not(id("last_sum_lo").at(id("LO_W").sub(int(1)))))),
            ),
        ],
        lane(&Lane::HI, id("in_hi_q")),
        vec![
            always(vec![if_(
                id("rd_take"),
                vec![nb(id("rq"), concat(vec![id("rd_q_hi"), id("rd_q_lo")]))],
            )]),
            assign(
                id("rdata").part(base(), id("ACC_W")),
                id("rq"),
            ),
        ],
    ]
    .concat()
}

/// One integer accumulate lane of a PSUM column: its memory, read-ahead, forwarding and adder.
/// An unsplit column is one lane (`WHOLE`, the names without suffix); a split one
/// (`psum_split`) is two, `LO` (the low `LO_W` bits) and `HI` (the rest), whose control is the
/// module's one cycle later (`h_*`) and whose sum adds the low lane's carry (`carry_lo`).
struct Lane {
    /// Suffix of the lane's own nets and generate labels.
    sfx: &'static str,
    /// The parameter naming the lane's width.
    width: &'static str,
    /// The module's control one cycle later (`h_*`): the high lane.
    delayed: bool,
}

impl Lane {
    const WHOLE: Lane = Lane {
        sfx: "",
        width: "ACC_W",
        delayed: false,
    };
    const LO: Lane = Lane {
        sfx: "_lo",
        width: "LO_W",
        delayed: false,
    };
    const HI: Lane = Lane {
        sfx: "_hi",
        width: "HI_W",
        delayed: true,
    };

    /// The name of the lane's own net `base`.
    fn n(&self, base: &str) -> String {
        format!("{base}{}", self.sfx)
    }

    /// The lane's own net `base`.
    fn l(&self, base: &str) -> Expr {
        id(&self.n(base))
    }

    /// The module's control net `name`, as this lane sees it.
    fn c(&self, name: &str) -> Expr {
        if self.delayed {
            id(&format!("h_{name}"))
        } else {
            id(name)
        }
    }

    fn w(&self) -> Option<Expr> {
        w(self.width)
    }

    /// `gen_if(cond, label, then, else_label, else)`, or (split: read-ahead 2 known) the branch
    /// that read-ahead 2 elaborates.
    fn ahead_if(
        &self,
        cond: Expr,
        label: &str,
        then_items: Vec<Item>,
        else_label: &str,
        else_items: Vec<Item>,
    ) -> Vec<Item> {
        // A split column's lanes (with a suffix) exist with read-ahead 2 only: the `RD_AHEAD`
        // generate choices are resolved instead of printed.
        if !self.sfx.is_empty() {
            then_items
        } else {
            vec![gen_if(
                cond,
                &self.n(label),
                then_items,
                &self.n(else_label),
                else_items,
            )]
        }
    }
}

/// An integer lane's addend and sum (`sum{sfx}`): the entry's old value when accumulating, else
/// 0. Read-ahead: formed in the cycle before the data from the read value (RD_AHEAD 2:
/// registered first) and the writes the early read missed (`old_q`); the previous cycle's write
/// replaces it in the data cycle (`fwd_q`). `input`: the lane's bits of the result vector.
fn int_lane_sum(l: &Lane, input: Expr) -> Vec<Item> {
    // `use{j}_q`: forward the sum of the data cycle j cycles before the next one (its entry,
    // written by this lane). Registered a cycle early; the high lane's are the low lane's a
    // cycle later. Reset, like the valids they come from.
    let select = |j: usize| l.n(&format!("use{j}_q"));
    let selects = |js: &[usize], low: &dyn Fn(usize) -> Expr| -> Vec<Item> {
        let next = |j: usize| {
            if l.delayed {
                id(&format!("use{j}_q_lo"))
            } else {
                low(j)
            }
        };
        [
            js.iter()
                .map(|&j| reg(&select(j), None))
                .collect::<Vec<_>>(),
            vec![always(vec![if_else(
                id("rst"),
                js.iter()
                    .map(|&j| nb(id(&select(j)), sized(1, 0)))
                    .collect(),
                js.iter().map(|&j| nb(id(&select(j)), next(j))).collect(),
            )])],
        ]
        .concat()
    };
    // The entry j cycles back was written by this lane: its valid and write strobe, one cycle
    // before they move into place (1: the data cycle's `we`; 2: `fwd_valid`, `last_we`; 3:
    // `fwd2_valid`, `last2_we`), with the entry compared a cycle early (`nx_same{j}`).
    let written = |j: usize| match j {
        1 => l.l("we").and(id("nx_same1")),
        2 => l.c("fwd_valid").and(l.l("last_we")).and(id("nx_same2")),
        _ => l.l("fwd2_valid").and(l.l("last2_we")).and(id("nx_same3")),
    };
    let rd_reg = [
        vec![
            comment("The read data two cycles after its address: the block RAM's output register (RAM_ECP5), or ours."),
            wire(&l.n("rd_q2"), l.w()),
            gen_if(
                id("RAM_ECP5").ne(int(0)),
                &l.n("g_q_ram"),
                vec![assign(l.l("rd_q2"), l.l("rd_q"))],
                &l.n("g_q_reg"),
                vec![
                    reg(&l.n("q_r"), l.w()),
                    always(vec![nb(l.l("q_r"), l.l("rd_q"))]),
                    assign(l.l("rd_q2"), l.l("q_r")),
                ],
            ),
            comment("The sums of the data cycles two and three cycles back: written after the read."),
            reg(&l.n("last2_sum"), l.w()),
            reg(&l.n("last3_sum"), l.w()),
            always(vec![
                nb(l.l("last2_sum"), l.l("last_sum")),
                nb(l.l("last3_sum"), l.l("last2_sum")),
            ]),
        ],
        if l.delayed {
            vec![]
        } else {
            vec![
                reg(&l.n("fwd2_valid"), None),
                reg(&l.n("last2_we"), None),
                always(vec![nb(l.l("last2_we"), l.l("last_we"))]),
                always(vec![if_else(
                    id("rst"),
                    vec![nb(l.l("fwd2_valid"), sized(1, 0))],
                    vec![nb(l.l("fwd2_valid"), l.c("fwd_valid"))],
                )]),
            ]
        },
        selects(&[2, 3], &written),
        vec![assign(
            l.l("rd_old"),
            cond(
                id(&select(2)),
                l.l("last2_sum"),
                cond(id(&select(3)), l.l("last3_sum"), l.l("rd_q2")),
            ),
        )],
    ]
    .concat();
    let ahead = [
        vec![
            reg(&l.n("old_q"), l.w()),
            reg(&l.n("fwd_q"), None),
            comment("The read value; RD_AHEAD 2: registered, or the write it missed."),
            wire(&l.n("rd_old"), l.w()),
        ],
        selects(&[1], &written),
        l.ahead_if(
            id("RD_AHEAD").gt(int(1)),
            "g_rd_reg",
            rd_reg,
            "g_rd_now",
            vec![assign(l.l("rd_old"), l.l("rd_q"))],
        ),
        vec![
            always(vec![
                nb(
                    l.l("old_q"),
                    cond(
                        not(l.c("ctl_acc")),
                        zeros(id(l.width)),
                        cond(id(&select(1)), l.l("last_sum"), l.l("rd_old")),
                    ),
                ),
                nb(
                    l.l("fwd_q"),
                    l.c("ctl_acc").and(l.l("we")).and(l.c("ctl_same0")),
                ),
            ]),
            assign(
                l.l("addend"),
                cond(l.l("fwd_q"), l.l("last_sum"), l.l("old_q")),
            ),
        ],
    ]
    .concat();
    let now = vec![assign(
        l.l("addend"),
        cond(
            l.c("wr_acc"),
            cond(
                l.c("fwd_valid")
                    .and(l.c("fwd_index").eq(l.c("wr_index")))
                    .and(l.l("last_we")),
                l.l("last_sum"),
                l.l("rd_q"),
            ),
            zeros(id(l.width)),
        ),
    )];
    let sum = match l.sfx {
        "_hi" => vec![
            comment("The high half, a cycle after the low one: its bits of the data cycle's input (in_hi_q) and the low half's carry (carry_lo)."),
            wire_init(
                &l.n("sum"),
                l.w(),
                l.l("addend")
                    .add(input)
                    .add(concat(vec![zeros(id("HI_W").sub(int(1))), id("carry_lo")])),
            ),
        ],
        _ => vec![wire_init(&l.n("sum"), l.w(), l.l("addend").add(input))],
    };
    [
        vec![wire(&l.n("addend"), l.w())],
        l.ahead_if(id("RD_AHEAD").ne(int(0)), "g_ahead", ahead, "g_now", now),
        sum,
    ]
    .concat()
}
