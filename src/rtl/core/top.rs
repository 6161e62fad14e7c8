//! `systolic_top`: the engine core. Command queue and sequencing, stationary loading, moving
//! entry and control pipeline around the array, skew, deskew and PSUM.
//!
//! Timing contract (edge t = the rising edge that ends cycle t; a beat fires in cycle t when
//! valid and ready are both high in t):
//! - `ls`: one stationary row (COLS elements) per beat, row 0 first; `ls_last` (or the ROWS-th
//!   beat) ends the load. `ls_ready = !shadow_full || swap_fire`: a load may start in the very
//!   cycle the previous stationary's swap beat fires, and never earlier. The shadow is full from
//!   the edge of the last beat until the edge of the swap beat that consumes it.
//! - `ls_gapless` (a strap: tie it to 0 unless the producer guarantees the following, and hold
//!   it; integer cores read it a cycle ahead, into the registered `mv_ready`): once a load's first beat has
//!   fired, its remaining beats fire one per cycle, and no instruction asks for more rows (`k`)
//!   than its stationary has. Then the first beat of a swap instruction may fire one cycle after
//!   the load's first beat instead of after its last (row r of the weights still lands before
//!   the swap reaches row r); rows past the stationary's last are then masked by `k` alone.
//! - `mm`: a MultiplyMoving header enters a 2-entry queue (`mm_ready = !tail_valid`), so the next
//!   header waits while the current instruction streams.
//! - `mv`: the head instruction's N moving beats (ROWS elements each). The first beat of a
//!   `swap` instruction waits for a full shadow; every other beat needs only a head. Beats of
//!   consecutive instructions flow back to back: no drain, no bubble.
//! - Rows of a moving beat at or above the instruction's `k`, or past the last row of its
//!   stationary, enter the array as zero: a stationary of K < ROWS rows acts zero-padded
//!   without clearing any weight (stale weights in those rows only ever meet zeros). In a
//!   floating-point array they also enter inactive (the lane's active bit is 0): the PE then
//!   adds +0 instead of the product, since an infinite stale weight times zero would be NaN.
//!   The entry register takes the moving bus, masked so, whenever `mv_valid` is high, fired or
//!   not (zero otherwise): the fire only marks the beat valid (`ctl_e_valid`), so the wide data
//!   path does not wait for the handshake. A wavefront that did not fire is never written.
//! - The stationary load bus (entry register, then skewed by column) writes row k of column c
//!   `c + 1` cycles after the beat fires: parallel to the swap wavefront, never ahead of it.
//! - A moving beat fired in cycle s is written to PSUM at edge s + ROWS + COLS: entry register
//!   (1), skew (row r: r), array (ROWS), deskew (column c: COLS-1-c), PSUM write (1); with
//!   tiles (`TILE_COLS`) COLS reads `COL_STAGES` = ceil(COLS / TILE_COLS) here and below. With a
//!   pipelined PE (`MUL_LAT`, `ADD_LAT`, see `pe`) the edge is
//!   s + ROWS*ADD_LAT + MUL_LAT + COLS + (ADD_LAT - 1): the skew of row r is r*ADD_LAT, and the
//!   PSUM fp32 adder has a register of its own (`ACC_PIPE`); an integer PSUM with read-ahead 2
//!   (`PSUM_AHEAD`, pe_latency 3) writes a sum from its register, one edge later still, and a
//!   split one (`psum_split`) its high half one edge after that (PSUM's `wr_valid`, which
//!   `inflight` counts down, marks that last write).
//! - Pipelined floating point (`ADD_LAT` = 2): the first beat of a load waits
//!   `LOAD_HOLD = (ROWS-1)*(ADD_LAT-1)` cycles after a swap (a swap moves down a column one row
//!   per ADD_LAT cycles, a load one row per cycle: the load must not overtake it); and a beat
//!   that accumulates into the PSUM entry of the beat fired in the previous cycle waits one
//!   cycle (`acc_hazard`: that sum is still inside the PSUM adder).
//! - `rd`: accepted only when no instruction is queued or in flight (`rd_allow`), so a read
//!   returns PSUM after every MultiplyMoving accepted before it. Response two cycles later
//!   (three with the ECP5 block RAMs of `primitives = "ecp5"`, `RAM_ECP5`).
//! - `busy`: an instruction is queued or in flight, or a read is pending or not yet taken;
//!   `mm_busy`: the first part alone (what a fence waits for, and what counts as compute).
//! - All handshakes honour backpressure: `ready` never depends on `ready`; `ls_ready` depends on
//!   `mv_valid` (through `swap_fire`), `rd_ready` on `rdata_ready`. Nothing is lost or repeated.
//!   Integer cores: `mv_ready` is a register, and so is the head's offer of a swap
//!   (`head_swap_q`), both computed a cycle ahead from the next values of the state they
//!   describe (`*_nx`), so they equal their combinational definitions above in every cycle and a
//!   beat's fire is one gate from registers.

use crate::config::Config;
use crate::verilog::*;

/// Names of the command fields packed into one queue entry, least significant first. `left`:
/// the beats after the current one (`n - 1` when queued; the head counts it down), so the
/// last-beat flag compares it with a constant.
const FIELDS: [(&str, &str); 7] = [
    ("k", "K_W"),
    ("m", "M_W"),
    ("left", "N_W"),
    ("bank", "BANK_W"),
    ("offset", "ADDR_W"),
    ("acc", "1"),
    ("swap", "1"),
];

/// A field width of the command (`"1"` or a parameter's name) as an expression.
fn width_of(w: &str) -> Expr {
    if w == "1" {
        int(1)
    } else {
        id(w)
    }
}

pub fn module(cfg: &Config) -> Module {
    let float = cfg.format.is_float();
    // Cycles per row of the partial-sum chain (the moving skew's step): ADD_LAT, 1 for integers.
    let add_lat = || if float { id("ADD_LAT") } else { int(1) };
    let p = |n: &str| (n.to_string(), id(n));
    let one = || sized(1, 1);
    let zero = || sized(1, 0);

    let mut locals = vec![];
    // Field offsets in a queue entry.
    let mut offset = int(0);
    for (name, width) in FIELDS {
        let fname = format!("F_{}", name.to_uppercase());
        locals.push(Item::Localparam(fname.clone(), offset));
        offset = id(&fname).add(width_of(width));
    }
    locals.push(Item::Localparam("CMD_W".into(), offset));
    locals.push(Item::Localparam(
        "CTL_W".into(),
        int(1).add(id("M_W")).add(id("BANK_W")).add(id("ADDR_W")),
    ));
    locals.push(Item::Localparam(
        "LD_W".into(),
        int(1).add(id("ROW_W")).add(id("DATA_W")),
    ));
    locals.push(Item::Localparam("MV_W".into(), id("X_W").add(int(1))));
    // Register stages along a row: COLS, or with tiles one per tile (column c's results leave
    // c / TILE_COLS cycles after column 0's).
    // With tiles, the load skew and the deskew delay by tile (`GROUP`).
    let group_override = || (cfg.tile_cols > 1).then(|| ("GROUP".to_string(), id("TILE_COLS")));
    let col_stages = if cfg.tile_cols > 1 {
        locals.push(Item::Localparam(
            "COL_STAGES".into(),
            id("COLS").sub(int(1)).div(id("TILE_COLS")).add(int(1)),
        ));
        || id("COL_STAGES")
    } else {
        || id("COLS")
    };
    // A beat fired in cycle s is written at edge s + ROWS*ADD_LAT + MUL_LAT + COLS (COL_STAGES
    // with tiles): entry (1), skew, array, deskew, PSUM (1); the control pipe carries its PSUM
    // control along.
    let array_lat = id("ROWS").mul(add_lat()).add(id("MUL_LAT"));
    // Integer PSUM with a pipelined PE reads ahead: its control comes MUL_LAT cycles earlier
    // (at most 2).
    locals.push(Item::Localparam(
        "PSUM_AHEAD".into(),
        if float {
            int(0)
        } else {
            cond(id("MUL_LAT").gt(int(2)), int(2), id("MUL_LAT"))
        },
    ));
    locals.push(Item::Localparam(
        "PIPE_D".into(),
        array_lat
            .clone()
            .add(col_stages())
            .sub(int(2))
            .sub(id("PSUM_AHEAD")),
    ));
    locals.push(Item::Localparam(
        "INF_W".into(),
        clog2(array_lat.add(col_stages()).add(int(4))),
    ));

    let head_field = |name: &str, width: &str| {
        let fname = format!("F_{}", name.to_uppercase());
        if width == "1" {
            id("head").at(id(&fname))
        } else {
            id("head").part(id(&fname), id(width))
        }
    };
    let mut head_wires = vec![];
    // The head's swap bit is read only at its first beat, through the register first_swap.
    for (name, width) in FIELDS.into_iter().filter(|(name, _)| *name != "swap") {
        let wdt = if width == "1" { None } else { w(width) };
        let decl = wire_init(&format!("head_{name}"), wdt, head_field(name, width));
        head_wires.push(if name == "k" {
            Item::LintOff {
                warning: "UNUSED",
                reason: "With one row there is nothing to mask: head_k is unused when ROWS == 1."
                    .into(),
                items: vec![decl],
            }
        } else {
            decl
        });
    }

    let mm_cmd = concat(
        FIELDS
            .iter()
            .rev()
            .map(|(name, _)| match *name {
                "left" => id("mm_n").sub(one()),
                _ => id(&format!("mm_{name}")),
            })
            .collect(),
    );

    // An empty register takes the offered command in every cycle (it counts only once the
    // header fires, which sets its valid): the tail while it is empty, the head while it is
    // empty or at its last beat. So their enables are one gate from registers, and the head's
    // data is the tail's or the offered command's, chosen by tail_valid alone (an empty head
    // has an empty tail).
    let queue = always(vec![if_else(
        id("rst"),
        vec![
            nb(id("tail_valid"), zero()),
            nb(id("beat"), zeros(id("N_W"))),
            nb(id("last_beat"), zero()),
        ],
        vec![
            if_(
                not(id("tail_valid")),
                vec![
                    nb(id("tail"), id("mm_cmd")),
                    nb(id("tail_single"), id("mm_single")),
                ],
            ),
            if_else(
                id("mv_fire").and(id("last_beat")).or(not(id("head_valid"))),
                vec![
                    Stmt::Comment(
                        "The head's last beat (or an empty head): the next command moves up."
                            .into(),
                    ),
                    nb(id("head"), cond(id("tail_valid"), id("tail"), id("mm_cmd"))),
                    nb(
                        id("last_beat"),
                        cond(id("tail_valid"), id("tail_single"), id("mm_single")),
                    ),
                ],
                vec![if_(
                    id("mv_fire"),
                    vec![
                        nb(
                            id("head").part(id("F_LEFT"), id("N_W")),
                            id("head_left").sub(one()),
                        ),
                        nb(
                            id("last_beat"),
                            id("head_left").eq(concat(vec![zeros(id("N_W").sub(int(1))), one()])),
                        ),
                    ],
                )],
            ),
            if_(
                id("mv_fire"),
                vec![nb(
                    id("beat"),
                    cond(id("last_beat"), zeros(id("N_W")), id("beat").add(one())),
                )],
            ),
            if_else(
                id("mv_fire").and(id("last_beat")),
                vec![nb(id("tail_valid"), zero())],
                vec![if_(
                    id("mm_fire").and(id("head_valid")),
                    vec![nb(id("tail_valid"), sized(1, 1))],
                )],
            ),
        ],
    )]);

    let load = always(vec![if_else(
        id("rst"),
        vec![
            nb(id("ld_row"), zeros(id("ROW_W"))),
            nb(id("ld_e_valid"), zero()),
        ],
        vec![
            if_(
                id("ls_fire"),
                vec![nb(
                    id("ld_row"),
                    cond(id("ls_end"), zeros(id("ROW_W")), id("ld_row").add(one())),
                )],
            ),
            nb(id("ld_e_valid"), id("ls_fire")),
        ],
    )]);

    let entry = always(vec![
        nb(id("ld_e_row"), id("ld_row")),
        nb(id("ld_e_data"), id("ls_data")),
        if_(
            id("ls_fire").and(id("ls_end")),
            vec![nb(id("shadow_last"), id("ld_row"))],
        ),
        if_(id("swap_fire"), vec![nb(id("active_last"), id("last_row"))]),
        nb(id("x_e"), id("mv_masked")),
        nb(
            id("ctl_e"),
            concat(vec![
                id("head_acc"),
                id("head_m"),
                id("head_bank"),
                id("beat_addr"),
            ]),
        ),
    ]);
    let entry_ctl = always(vec![if_else(
        id("rst"),
        vec![
            nb(id("swap_e"), zero()),
            nb(id("ctl_e_valid"), zero()),
            nb(id("inflight"), zeros(id("INF_W"))),
        ],
        vec![
            nb(id("swap_e"), id("swap_fire")),
            nb(id("ctl_e_valid"), id("mv_fire")),
            if_else(
                id("mv_fire").and(not(id("wr_valid"))),
                vec![nb(id("inflight"), id("inflight").add(one()))],
                vec![if_(
                    not(id("mv_fire")).and(id("wr_valid")),
                    vec![nb(id("inflight"), id("inflight").sub(one()))],
                )],
            ),
        ],
    )]);

    let mv_lane = |net: &str, base: Expr, width: &str| id(net).part(base.mul(id(width)), id(width));

    // With a pipelined PSUM accumulate (ACC_PIPE = ADD_LAT - 1 = 1) the sum of one beat is not
    // ready for a beat one cycle behind it: an accumulating beat into the entry of the beat
    // fired in the previous cycle (still in ctl_e) waits one cycle.
    let acc_hazard_decl = if float {
        wire("acc_hazard", None)
    } else {
        Item::Blank
    };
    // A beat may fire only without the pipelined accumulate's hazard (floating point).
    let unless_hazard = |e: Expr| {
        if float {
            e.and(not(id("acc_hazard")))
        } else {
            e
        }
    };
    // Integer formats: the ready of a moving beat, and whether a swapping head is offered, are
    // registers computed a cycle ahead from the handshake state's next values (`state` below),
    // so that a beat's fire is one gate from registers. Floating point computes them here (its
    // accumulate hazard depends on the entry register).
    let (mv_ready, swap_req) = if float {
        (
            unless_hazard(id("head_valid").and(not(id("first_swap").and(not(id("swap_ok")))))),
            unless_hazard(id("mv_valid").and(id("head_valid")).and(id("first_swap"))),
        )
    } else {
        (id("mv_ready_q"), id("mv_valid").and(id("head_swap_q")))
    };
    let acc_hazard = if float {
        gen_if(
            id("ADD_LAT").gt(int(1)),
            "g_acc_hazard",
            vec![assign(
                id("acc_hazard"),
                id("ctl_e_valid")
                    .and(id("head_acc"))
                    .and(
                        id("ctl_e")
                            .part(id("ADDR_W"), id("BANK_W"))
                            .eq(id("head_bank")),
                    )
                    .and(
                        id("ctl_e")
                            .slice(id("ADDR_W").sub(int(1)), int(0))
                            .eq(id("beat_addr")),
                    ),
            )],
            "g_no_acc_hazard",
            vec![assign(id("acc_hazard"), sized(1, 0))],
        )
    } else {
        Item::Blank
    };

    // A new load must not overtake the previous swap wavefront: with ADD_LAT > 1 the swap reaches
    // row r r*(ADD_LAT-1) cycles later than a load started with it would, so the first beat of a
    // load waits LOAD_HOLD = (ROWS-1)*(ADD_LAT-1) cycles after a swap (beats of a started load
    // do not wait).
    let ls_ready = if float {
        vec![
            Item::Localparam(
                "LOAD_HOLD".into(),
                id("ROWS").sub(int(1)).mul(id("ADD_LAT").sub(int(1))),
            ),
            wire("ld_block", None),
            gen_if(
                id("LOAD_HOLD").gt(int(0)),
                "g_hold",
                vec![
                    Item::Localparam(
                        "HOLD_W".into(),
                        clog2(id("LOAD_HOLD").add(int(1))).add(int(1)),
                    ),
                    Item::LintOff {
                        warning: "UNUSED",
                        reason: "A 32-bit constant of which the counter takes HOLD_W bits.".into(),
                        items: vec![wire_init(
                            "hold_init",
                            Some(int(32)),
                            id("LOAD_HOLD").sub(int(1)),
                        )],
                    },
                    reg("hold", w("HOLD_W")),
                    always(vec![if_else(
                        id("rst"),
                        vec![nb(id("hold"), zeros(id("HOLD_W")))],
                        vec![if_else(
                            id("swap_fire"),
                            vec![nb(
                                id("hold"),
                                id("hold_init").slice(id("HOLD_W").sub(int(1)), int(0)),
                            )],
                            vec![if_(
                                id("hold").ne(zeros(id("HOLD_W"))),
                                vec![nb(
                                    id("hold"),
                                    id("hold").sub(concat(vec![
                                        zeros(id("HOLD_W").sub(int(1))),
                                        sized(1, 1),
                                    ])),
                                )],
                            )],
                        )],
                    )]),
                    assign(
                        id("ld_block"),
                        id("swap_fire").or(id("hold").ne(zeros(id("HOLD_W")))),
                    ),
                ],
                "g_no_hold",
                vec![assign(id("ld_block"), sized(1, 0))],
            ),
            assign(
                id("ls_ready"),
                not(id("shadow_full"))
                    .or(id("swap_fire"))
                    .and(id("loading").or(not(id("ld_block")))),
            ),
        ]
    } else {
        vec![
            comment("!shadow_full || swap_fire: with a full shadow the offered swap fires."),
            assign(id("ls_ready"), not(id("shadow_full")).or(id("swap_req"))),
        ]
    };

    let mut items = locals;
    items.push(Item::Blank);
    items.push(comment(
        "---- MultiplyMoving command queue: head (streaming) and tail (next) ----",
    ));
    items.extend([
        wire_init("mm_cmd", w("CMD_W"), mm_cmd),
        wire_init(
            "mm_single",
            None,
            id("mm_n").eq(concat(vec![zeros(id("N_W").sub(int(1))), one()])),
        ),
        reg("head", w("CMD_W")),
        reg("tail", w("CMD_W")),
        reg("head_valid", None),
        reg("tail_valid", None),
        reg("beat", w("N_W")),
    ]);
    items.extend(head_wires);
    items.extend([
        comment("Registered beat flags, off the handshake paths: beat == 0 of a swapping head, head_left == 0."),
        reg("first_swap", None),
        reg("last_beat", None),
        reg("tail_single", None),
        wire_init(
            "beat_addr",
            w("ADDR_W"),
            id("head_offset").add(id("beat").slice(id("ADDR_W").sub(int(1)), int(0))),
        ),
        reg("shadow_full", None),
    ]);
    if !float {
        items.extend([
            comment("mv_ready, and head_valid && first_swap, computed a cycle ahead (see the handshake state)."),
            reg("mv_ready_q", None),
            reg("head_swap_q", None),
        ]);
    }
    items.extend([
        wire_init("mm_fire", None, id("mm_valid").and(id("mm_ready"))),
        wire_init("mv_fire", None, id("mv_valid").and(id("mv_ready"))),
        acc_hazard_decl,
        comment("A swapping head's first beat is offered; it fires when the swap is possible (swap_ok),"),
        comment("which mv_ready requires of it (so swap_fire = mv_fire && first_swap)."),
        wire_init("swap_req", None, swap_req),
        wire("swap_fire", None),
        assign(id("mm_ready"), not(id("tail_valid"))),
        reg("loading", None),
        reg("early", None),
        comment("A swap needs a loaded stationary, or (ls_gapless) a load that started in an earlier cycle."),
        if float {
            wire_init(
                "swap_ok",
                None,
                id("shadow_full").or(id("ls_gapless").and(id("loading")).and(not(id("early")))),
            )
        } else {
            comment("(mv_ready_q holds it for a swapping head: swap_fire = mv_fire && first_swap.)")
        },
        assign(
            id("swap_fire"),
            if float {
                id("swap_req").and(id("swap_ok"))
            } else {
                id("mv_fire").and(id("first_swap"))
            },
        ),
        wire_init("early_swap", None, id("swap_fire").and(not(id("shadow_full")))),
        assign(id("mv_ready"), mv_ready),
        queue,
        Item::Blank,
        comment("---- LoadStationary: row counter, shadow-full flag, load-bus entry register ----"),
        reg("ld_row", w("ROW_W")),
        reg("ld_e_valid", None),
        reg("ld_e_row", w("ROW_W")),
        reg("shadow_last", w("ROW_W")),
        reg("active_last", w("ROW_W")),
        reg("ld_e_data", Some(id("COLS").mul(id("DATA_W")))),
        comment("ld_row zero-extended to 32 bits to compare with the integer ROWS - 1."),
        wire_init(
            "ls_end",
            None,
            id("ls_last").or(concat(vec![zeros(int(32).sub(id("ROW_W"))), id("ld_row")])
                .eq(id("ROWS").sub(int(1)))),
        ),
    ]);
    items.extend(ls_ready);
    items.extend([
        wire_init("ls_fire", None, id("ls_valid").and(id("ls_ready"))),
        load,
    ]);
    items.extend(handshake_state(float));
    items.extend([
        Item::Blank,
        comment(
            "---- Moving entry: rows r >= k, and rows past the stationary's last, are zero ----",
        ),
        wire("mv_masked", Some(id("ROWS").mul(id("X_W")))),
        Item::LintOff {
            warning: "UNUSED",
            reason: "The last row of the stationary in use (all rows after an early swap, whose load has not ended: the producer promised k <= K); unused when ROWS == 1.".into(),
            items: vec![wire_init(
                "last_row",
                w("ROW_W"),
                cond(
                    id("first_swap"),
                    cond(id("shadow_full"), id("shadow_last"), repeat(id("ROW_W"), sized(1, 1))),
                    id("active_last"),
                ),
            )],
        },
        gen_for(
            "r",
            int(0),
            id("ROWS"),
            "g_mask",
            vec![
                comment(
                    "Row 0 always exists (k >= 1, K >= 1): only the rows above need the checks.",
                ),
                wire("act", None),
                gen_if(
                    id("r").eq(int(0)),
                    "g_row0",
                    vec![assign(id("act"), id("mv_valid"))],
                    "g_rows",
                    vec![assign(
                        id("act"),
                        id("mv_valid")
                            .and(id("head_k").gt(id("r")))
                            .and(id("last_row").ge(id("r"))),
                    )],
                ),
                {
                    let data = cond(
                        id("act"),
                        mv_lane("mv_data", id("r"), "DATA_W"),
                        zeros(id("DATA_W")),
                    );
                    let lane = if float {
                        concat(vec![id("act"), data])
                    } else {
                        data
                    };
                    assign(mv_lane("mv_masked", id("r"), "X_W"), lane)
                },
            ],
        ),
        reg("x_e", Some(id("ROWS").mul(id("X_W")))),
        reg("swap_e", None),
        reg("ctl_e_valid", None),
        reg("ctl_e", w("CTL_W")),
        acc_hazard,
        reg("inflight", w("INF_W")),
        wire("wr_valid", None),
        entry,
        entry_ctl,
        Item::Blank,
        comment("---- Skew the moving data (lane = row) and the load bus (lane = column) ----"),
        wire("mv_skew_in", Some(id("ROWS").mul(id("MV_W")))),
        wire("mv_skew_out", Some(id("ROWS").mul(id("MV_W")))),
        wire("x_left", Some(id("ROWS").mul(id("X_W")))),
        wire("swap_left", w("ROWS")),
        gen_for(
            "r",
            int(0),
            id("ROWS"),
            "g_mv_lane",
            vec![
                assign(
                    mv_lane("mv_skew_in", id("r"), "MV_W"),
                    concat(vec![id("swap_e"), mv_lane("x_e", id("r"), "X_W")]),
                ),
                assign(
                    concat(vec![
                        id("swap_left").at(id("r")),
                        mv_lane("x_left", id("r"), "X_W"),
                    ]),
                    mv_lane("mv_skew_out", id("r"), "MV_W"),
                ),
            ],
        ),
        Item::Instance(Instance {
            module: "systolic_skew".into(),
            name: "u_mv_skew".into(),
            params: vec![
                ("LANES".into(), id("ROWS")),
                ("W".into(), id("MV_W")),
                ("STEP".into(), add_lat()),
            ],
            ports: vec![
                p("clk"),
                p("rst"),
                ("in_lanes".into(), id("mv_skew_in")),
                ("out_lanes".into(), id("mv_skew_out")),
            ],
        }),
        wire("ld_skew_in", Some(id("COLS").mul(id("LD_W")))),
        wire("ld_skew_out", Some(id("COLS").mul(id("LD_W")))),
        wire("ld_valid_top", w("COLS")),
        wire("ld_row_top", Some(id("COLS").mul(id("ROW_W")))),
        wire("ld_data_top", Some(id("COLS").mul(id("DATA_W")))),
        gen_for(
            "c",
            int(0),
            id("COLS"),
            "g_ld_lane",
            vec![
                assign(
                    mv_lane("ld_skew_in", id("c"), "LD_W"),
                    concat(vec![
                        id("ld_e_valid"),
                        id("ld_e_row"),
                        mv_lane("ld_e_data", id("c"), "DATA_W"),
                    ]),
                ),
                assign(
                    concat(vec![
                        id("ld_valid_top").at(id("c")),
                        mv_lane("ld_row_top", id("c"), "ROW_W"),
                        mv_lane("ld_data_top", id("c"), "DATA_W"),
                    ]),
                    mv_lane("ld_skew_out", id("c"), "LD_W"),
                ),
            ],
        ),
        Item::Instance(Instance {
            module: "systolic_skew".into(),
            name: "u_ld_skew".into(),
            params: [
                ("LANES".into(), id("COLS")),
                ("W".into(), id("LD_W")),
                ("STEP".into(), int(1)),
            ]
            .into_iter()
            .chain(group_override())
            .collect(),
            ports: vec![
                p("clk"),
                p("rst"),
                ("in_lanes".into(), id("ld_skew_in")),
                ("out_lanes".into(), id("ld_skew_out")),
            ],
        }),
        Item::Blank,
        comment("---- The array and the deskew of its outputs ----"),
        wire("psum_bottom", Some(id("COLS").mul(id("PS_W")))),
        wire("psum_aligned", Some(id("COLS").mul(id("PS_W")))),
        Item::Instance(Instance {
            module: "systolic_array".into(),
            name: "u_array".into(),
            params: [
                vec![p("ROWS"), p("COLS")],
                super::pe::param_overrides(cfg),
                super::array::dsp_cols_param(cfg)
                    .map(|_| p("DSP_COLS"))
                    .into_iter()
                    .collect(),
                super::array::tile_cols_param(cfg)
                    .map(|_| p("TILE_COLS"))
                    .into_iter()
                    .collect(),
            ]
            .concat(),
            ports: vec![
                p("clk"),
                p("rst"),
                p("x_left"),
                p("swap_left"),
                p("ld_valid_top"),
                p("ld_row_top"),
                p("ld_data_top"),
                p("psum_bottom"),
            ],
        }),
        Item::Instance(Instance {
            module: "systolic_deskew".into(),
            name: "u_deskew".into(),
            params: [("LANES".into(), id("COLS")), ("W".into(), id("PS_W"))]
                .into_iter()
                .chain(group_override())
                .collect(),
            ports: vec![
                p("clk"),
                ("in_lanes".into(), id("psum_bottom")),
                ("out_lanes".into(), id("psum_aligned")),
            ],
        }),
    ]);
    if !float {
        items.extend(widen_column_sums());
    }
    items.extend([
        Item::Blank,
        comment(
            "---- Control pipeline: the beat's PSUM control, 1 + PSUM_AHEAD cycles ahead of its data ----",
        ),
        wire("pipe_in", Some(id("CTL_W").add(int(1)))),
        wire("pipe_out", Some(id("CTL_W").add(int(1)))),
        assign(id("pipe_in"), concat(vec![id("ctl_e_valid"), id("ctl_e")])),
    ]);
    items.extend(super::skew::delay_line(
        id("PIPE_D"),
        id("pipe_in"),
        id("pipe_out"),
        int(0),
        id("CTL_W").add(int(1)),
        true,
    ));
    let pipe_field = |lsb: Expr, width: Expr| id("pipe_out").part(lsb, width);
    items.extend([
        Item::Blank,
        comment("---- PSUM ----"),
        wire_init(
            "rd_allow",
            None,
            not(id("head_valid"))
                .and(not(id("tail_valid")))
                .and(id("inflight").eq(zeros(id("INF_W")))),
        ),
        wire("rd_busy", None),
        Item::Instance(Instance {
            module: "systolic_psum".into(),
            name: "u_psum".into(),
            params: vec![
                p("COLS"),
                p("ACC_W"),
                ("BANKS".into(), id("PSUM_BANKS")),
                ("DEPTH".into(), id("PSUM_DEPTH")),
                p("BANK_W"),
                p("ADDR_W"),
                p("M_W"),
            ]
            .into_iter()
            .chain(float.then(|| ("ACC_PIPE".to_string(), id("ADD_LAT").sub(int(1)))))
            .collect(),
            ports: vec![
                p("clk"),
                p("rst"),
                ("pre_valid".into(), id("pipe_out").at(id("CTL_W"))),
                ("pre_bank".into(), pipe_field(id("ADDR_W"), id("BANK_W"))),
                ("pre_addr".into(), pipe_field(int(0), id("ADDR_W"))),
                ("pre_acc".into(), id("pipe_out").at(id("CTL_W").sub(int(1)))),
                (
                    "pre_m".into(),
                    pipe_field(id("ADDR_W").add(id("BANK_W")), id("M_W")),
                ),
                (
                    "in_data".into(),
                    id(if float { "psum_aligned" } else { "psum_wide" }),
                ),
                p("wr_valid"),
                p("rd_allow"),
                p("rd_valid"),
                p("rd_ready"),
                p("rd_bank"),
                p("rd_addr"),
                p("rdata_valid"),
                p("rdata_ready"),
                p("rdata"),
                p("rd_busy"),
            ],
        }),
        assign(
            id("mm_busy"),
            id("head_valid")
                .or(id("tail_valid"))
                .or(id("inflight").ne(zeros(id("INF_W")))),
        ),
        assign(id("busy"), id("mm_busy").or(id("rd_busy"))),
    ]);

    Module {
        name: "systolic_top".into(),
        doc: vec![
            "Engine core: psum[bank][offset+n][m] (+)= sum_k stationary[k][m] * moving[k][n]."
                .into(),
            "ls: stationary rows (background load into the shadow weights), mm: MultiplyMoving"
                .into(),
            "header (2-entry queue), mv: moving columns, rd/rdata: PSUM read. A moving beat fired"
                .into(),
            format!(
                "in cycle s is written to PSUM at edge s + ROWS*ADD_LAT + MUL_LAT + {} + ADD_LAT - 1",
                if cfg.tile_cols > 1 { "COL_STAGES" } else { "COLS" }
            ),
            "(ADD_LAT = 1 for integers; one edge later with PSUM_AHEAD 2); beats of consecutive"
                .into(),
            "instructions, including a stationary swap, flow back to back. A read is accepted when"
                .into(),
            "nothing is in flight and answers two cycles later (RAM_ECP5: three). See docs/architecture.md."
                .into(),
        ],
        params: vec![
            param("ROWS", cfg.rows.into(), "array rows: contraction axis K"),
            param(
                "COLS",
                cfg.cols.into(),
                "array columns: stationary free axis M",
            ),
            param(
                "DATA_W",
                cfg.derived.data_w.into(),
                "bits of one input element",
            ),
            param(
                "ACC_W",
                cfg.derived.acc_w.into(),
                "bits of a PSUM accumulator",
            ),
        ]
        .into_iter()
        .chain(
            super::pe::params(cfg)
                .into_iter()
                .filter(|(n, _, _)| !["DATA_W", "X_W", "ROW_W", "PS_W"].contains(n))
                .map(|(n, v, c)| param(n, v, c)),
        )
        .chain(super::array::dsp_cols_param(cfg))
        .chain(super::array::tile_cols_param(cfg))
        .chain([
            param("PSUM_BANKS", cfg.psum_banks.into(), "PSUM banks"),
            param(
                "PSUM_DEPTH",
                cfg.psum_depth.into(),
                "entries per bank (power of two)",
            ),
            derived(
                "ROW_W",
                cond(id("ROWS").gt(int(1)), clog2(id("ROWS")), int(1)),
                "row index",
            ),
            derived("K_W", clog2(id("ROWS").add(int(1))), "K count 1..ROWS"),
            derived("M_W", clog2(id("COLS").add(int(1))), "M count 1..COLS"),
            derived(
                "N_W",
                clog2(id("PSUM_DEPTH").add(int(1))),
                "N count 1..PSUM_DEPTH",
            ),
            derived(
                "BANK_W",
                cond(id("PSUM_BANKS").gt(int(1)), clog2(id("PSUM_BANKS")), int(1)),
                "bank number",
            ),
            derived("ADDR_W", clog2(id("PSUM_DEPTH")), "address in a bank"),
            derived(
                "PS_W",
                if float {
                    id("ACC_W")
                } else {
                    let exact = || id("DATA_W").mul(int(2)).add(clog2(id("ROWS")));
                    cond(exact().lt(id("ACC_W")), exact(), id("ACC_W"))
                },
                "a partial sum in the array (exact for ROWS products, at most ACC_W)",
            ),
            derived(
                "X_W",
                if float {
                    id("DATA_W").add(int(1))
                } else {
                    id("DATA_W")
                },
                "a moving lane (the element, plus an active bit for floating point)",
            ),
        ])
        .collect(),
        ports: ports(),
        items,
    }
}

/// The handshake state's next values (`*_nx`: the queue's head valid and first-beat swap
/// flag, the shadow's full flag, a load in progress, an early swap) and their registers; for
/// integer formats also `mv_ready_q` and `head_swap_q`, the moving beat's ready and
/// `head_valid && first_swap` of the next cycle, from the same next values (so they equal the
/// combinational expressions of the state they describe, one cycle early).
fn handshake_state(float: bool) -> Vec<Item> {
    let zero = || sized(1, 0);
    let state = [
        "head_valid",
        "first_swap",
        "shadow_full",
        "early",
        "loading",
    ];
    let nx = |n: &str| id(&format!("{n}_nx"));
    let mut items = vec![
        Item::Blank,
        comment("---- Handshake state: next values, then the registers ----"),
        comment(
            "The head: the next command moves up at the last beat; a header fills an empty head.",
        ),
        wire_init(
            "head_valid_nx",
            None,
            cond(
                id("mv_fire"),
                cond(
                    id("last_beat"),
                    id("tail_valid").or(id("mm_fire")),
                    id("head_valid"),
                ),
                id("head_valid").or(id("mm_fire")),
            ),
        ),
        wire_init(
            "first_swap_nx",
            None,
            cond(
                id("mv_fire"),
                id("last_beat").and(cond(
                    id("tail_valid"),
                    id("tail").at(id("F_SWAP")),
                    id("mm_swap"),
                )),
                cond(
                    id("mm_fire").and(not(id("head_valid"))),
                    id("mm_swap"),
                    id("first_swap"),
                ),
            ),
        ),
        comment("A load that was swapped in early does not fill the shadow when it ends."),
        wire_init(
            "shadow_full_nx",
            None,
            cond(
                id("ls_fire").and(id("ls_end")),
                not(id("early").or(id("early_swap"))),
                id("shadow_full").and(not(id("swap_fire"))),
            ),
        ),
        wire_init(
            "early_nx",
            None,
            cond(
                id("ls_fire").and(id("ls_end")),
                zero(),
                id("early").or(id("early_swap")),
            ),
        ),
        wire_init(
            "loading_nx",
            None,
            cond(id("ls_fire"), not(id("ls_end")), id("loading")),
        ),
    ];
    let mut resets: Vec<Stmt> = state.iter().map(|n| nb(id(n), zero())).collect();
    let mut loads: Vec<Stmt> = state.iter().map(|n| nb(id(n), nx(n))).collect();
    if !float {
        items.push(wire_init(
            "swap_ok_nx",
            None,
            nx("shadow_full").or(id("ls_gapless").and(nx("loading")).and(not(nx("early")))),
        ));
        resets.extend([nb(id("mv_ready_q"), zero()), nb(id("head_swap_q"), zero())]);
        loads.extend([
            nb(
                id("mv_ready_q"),
                nx("head_valid").and(not(nx("first_swap").and(not(id("swap_ok_nx"))))),
            ),
            nb(id("head_swap_q"), nx("head_valid").and(nx("first_swap"))),
        ]);
    }
    items.push(always(vec![if_else(id("rst"), resets, loads)]));
    items
}

/// Integer column sums, exact in `PS_W` bits, sign- or zero-extended to `ACC_W` for PSUM
/// (`psum_aligned` -> `psum_wide`).
fn widen_column_sums() -> Vec<Item> {
    let lane = |net: &str, width: &str| id(net).part(id("c").mul(id(width)), id(width));
    vec![
        comment("Column sums are exact in PS_W bits: extended to ACC_W (SIGNED: sign-extended)."),
        wire("psum_wide", Some(id("COLS").mul(id("ACC_W")))),
        gen_if(
            id("PS_W").eq(id("ACC_W")),
            "g_sum_full",
            vec![assign(id("psum_wide"), id("psum_aligned"))],
            "g_sum_ext",
            vec![gen_for(
                "c",
                int(0),
                id("COLS"),
                "g_col",
                vec![assign(
                    lane("psum_wide", "ACC_W"),
                    concat(vec![
                        repeat(
                            id("ACC_W").sub(id("PS_W")),
                            id("SIGNED").ne(int(0)).bit_and(
                                id("psum_aligned")
                                    .at(id("c").mul(id("PS_W")).add(id("PS_W")).sub(int(1))),
                            ),
                        ),
                        lane("psum_aligned", "PS_W"),
                    ]),
                )],
            )],
        ),
    ]
}

/// A parameter derived from the ones before it (not meant to be overridden).
fn derived(name: &str, value: Expr, what: &str) -> Param {
    Param {
        name: name.into(),
        value,
        comment: Some(format!("derived: bits of {what}")),
    }
}

/// The top-level ports. Widths refer to the module's parameters and localparams.
fn ports() -> Vec<Port> {
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input(
            "ls_valid",
            None,
            "LoadStationary: one stationary row per beat",
        ),
        output("ls_ready", None, ""),
        input(
            "ls_data",
            Some(id("COLS").mul(id("DATA_W"))),
            "element m in [m*DATA_W +: DATA_W]",
        ),
        input("ls_last", None, "last row of this stationary"),
        input(
            "ls_gapless",
            None,
            "1: loads stream without gaps and k <= K: a swap may start one cycle after its load",
        ),
        input("mm_valid", None, "MultiplyMoving header"),
        output("mm_ready", None, ""),
        input("mm_k", w("K_W"), "rows used, 1..ROWS"),
        input("mm_m", w("M_W"), "PSUM columns written, 1..COLS"),
        input("mm_n", w("N_W"), "moving beats, 1..PSUM_DEPTH"),
        input("mm_bank", w("BANK_W"), ""),
        input("mm_offset", w("ADDR_W"), "PSUM address of beat 0"),
        input("mm_acc", None, "1: accumulate, 0: overwrite"),
        input("mm_swap", None, "1: use the newly loaded stationary"),
        input("mv_valid", None, "moving beat: one moving column"),
        output("mv_ready", None, ""),
        input(
            "mv_data",
            Some(id("ROWS").mul(id("DATA_W"))),
            "element k in [k*DATA_W +: DATA_W]",
        ),
        input("rd_valid", None, "PSUM read request"),
        output("rd_ready", None, ""),
        input("rd_bank", w("BANK_W"), ""),
        input("rd_addr", w("ADDR_W"), ""),
        output("rdata_valid", None, "PSUM read response"),
        input("rdata_ready", None, ""),
        output(
            "rdata",
            Some(id("COLS").mul(id("ACC_W"))),
            "column m in [m*ACC_W +: ACC_W]",
        ),
        output(
            "busy",
            None,
            "work queued or in flight, or a read pending or not taken",
        ),
        output(
            "mm_busy",
            None,
            "a MultiplyMoving queued or in flight (what a fence waits for)",
        ),
    ]
}
