//! `systolic_load_ctl`: the LoadStationary controller: row counter, shadow state and the load
//! bus's entry register.
//!
//! Timing contract (edge t = the rising edge that ends cycle t):
//! - `ls`: one stationary row per beat, row 0 first (`ld_row` counts the rows); `ls_last` (or
//!   the ROWS-th beat) ends the load. `ls_ready = !shadow_full || swap_fire`: a load may start
//!   in the very cycle the previous stationary's swap beat fires (integer formats: in the cycle
//!   the swap is offered, `swap_req`, which with a full shadow fires), never earlier. The shadow
//!   is full from the edge of the last beat until the edge of the swap beat that consumes it.
//! - Swaps (`swap_fire`, from the command queue): a swap may fire (`swap_ok`) with a full
//!   shadow or, with `ls_gapless`, once a load has started in an earlier cycle (`loading`, not
//!   `early`); a load swapped in early (`early`) does not fill the shadow when it ends. Integer
//!   formats give the queue `swap_ok_nx`, the next cycle's `swap_ok`, from the next values of
//!   the same registers (the queue registers its `mv_ready` with it); floating point gives
//!   `swap_ok` itself.
//! - `last_row`: the last row of the stationary that the head's beat uses (the shadow's at a
//!   swap beat, all rows after an early swap, else the active one's), for the moving entry's
//!   masking; `active_last` takes it at the swap's edge.
//! - Pipelined floating point (`ADD_LAT` = 2): the first beat of a load waits
//!   `LOAD_HOLD = (ROWS-1)*(ADD_LAT-1)` cycles after a swap (a swap moves down a column one row
//!   per ADD_LAT cycles, a load one row per cycle: the load must not overtake it).
//! - The load bus's entry register (`ld_e_valid`, `ld_e_row`, `ld_e_data`): a beat fired in
//!   cycle b is on it in cycle b + 1 (the top level then skews it by column).
//! - Reset (synchronous): no load in progress, the shadow empty, row 0 next.

use crate::config::Config;
use crate::verilog::*;

use super::widths::core_params;

/// The controller's parameters, defaults from `cfg`.
pub fn params(cfg: &Config) -> Vec<Param> {
    let mut names = vec!["ROWS", "COLS", "DATA_W", "ROW_W"];
    if cfg.format.is_float() {
        names.push("ADD_LAT");
    }
    core_params(cfg, &names)
}

/// The load controller module for `cfg`.
pub fn module(cfg: &Config) -> Module {
    let float = cfg.format.is_float();
    let mut items = vec![
        reg("ld_row", w("ROW_W")),
        reg("shadow_full", None),
        reg("loading", None),
        reg("early", None),
        reg("shadow_last", w("ROW_W")),
        reg("active_last", w("ROW_W")),
        comment("ld_row zero-extended to 32 bits to compare with the integer ROWS - 1."),
        wire_init(
            "ls_end",
            None,
            id("ls_last").or(concat(vec![zeros(int(32).sub(id("ROW_W"))), id("ld_row")])
                .eq(id("ROWS").sub(int(1)))),
        ),
        wire_init(
            "early_swap",
            None,
            id("swap_fire").and(not(id("shadow_full"))),
        ),
    ];
    items.extend(if float {
        float_ready()
    } else {
        vec![
            comment("!shadow_full || swap_fire: with a full shadow the offered swap fires."),
            assign(id("ls_ready"), not(id("shadow_full")).or(id("swap_req"))),
        ]
    });
    items.extend([
        wire_init("ls_fire", None, id("ls_valid").and(id("ls_ready"))),
        comment("The last row of the stationary in use (all rows after an early swap, whose load has not ended: the producer promised k <= K)."),
        assign(
            id("last_row"),
            cond(
                id("first_swap"),
                cond(id("shadow_full"), id("shadow_last"), repeat(id("ROW_W"), sized(1, 1))),
                id("active_last"),
            ),
        ),
        registers(),
    ]);
    items.extend(next_state(float));
    Module {
        name: "systolic_load_ctl".into(),
        doc: vec![
            "LoadStationary: row counter, shadow-full flag, load-bus entry register. ls_ready ="
                .into(),
            "!shadow_full || swap_fire; a swap may fire with a full shadow, or (ls_gapless) once a"
                .into(),
            "load has started in an earlier cycle.".into(),
        ],
        params: params(cfg),
        ports: ports(float),
        items,
    }
}

fn ports(float: bool) -> Vec<Port> {
    let mut ports = vec![
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
            "1: loads stream without gaps and k <= K (see systolic_top)",
        ),
    ];
    if !float {
        ports.push(input("swap_req", None, "the queue offers a swap beat"));
    }
    ports.extend([
        input("swap_fire", None, "the swap beat fires"),
        input(
            "first_swap",
            None,
            "the queue's head is at the first beat of a swap",
        ),
    ]);
    ports.push(if float {
        output("swap_ok", None, "a swap may fire")
    } else {
        output("swap_ok_nx", None, "a swap may fire next cycle")
    });
    ports.extend([
        output(
            "last_row",
            w("ROW_W"),
            "last row of the stationary the head's beat uses",
        ),
        output_reg("ld_e_valid", None, "load bus entry register"),
        output_reg("ld_e_row", w("ROW_W"), ""),
        output_reg("ld_e_data", Some(id("COLS").mul(id("DATA_W"))), ""),
    ]);
    ports
}

/// The row counter, the entry register and the last rows.
fn registers() -> Item {
    always(vec![
        if_else(
            id("rst"),
            vec![
                nb(id("ld_row"), zeros(id("ROW_W"))),
                nb(id("ld_e_valid"), sized(1, 0)),
            ],
            vec![
                if_(
                    id("ls_fire"),
                    vec![nb(
                        id("ld_row"),
                        cond(
                            id("ls_end"),
                            zeros(id("ROW_W")),
                            id("ld_row").add(sized(1, 1)),
                        ),
                    )],
                ),
                nb(id("ld_e_valid"), id("ls_fire")),
            ],
        ),
        nb(id("ld_e_row"), id("ld_row")),
        nb(id("ld_e_data"), id("ls_data")),
        if_(
            id("ls_fire").and(id("ls_end")),
            vec![nb(id("shadow_last"), id("ld_row"))],
        ),
        if_(id("swap_fire"), vec![nb(id("active_last"), id("last_row"))]),
    ])
}

/// Floating point: `ls_ready`, with the first beat of a load held `LOAD_HOLD` cycles after a
/// swap (a new load must not overtake the previous swap wavefront: with ADD_LAT > 1 the swap
/// reaches row r r*(ADD_LAT-1) cycles later than a load started with it would; beats of a
/// started load do not wait).
fn float_ready() -> Vec<Item> {
    let hold_w = || w("HOLD_W");
    let counter = always(vec![if_else(
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
                    id("hold").sub(concat(vec![zeros(id("HOLD_W").sub(int(1))), sized(1, 1)])),
                )],
            )],
        )],
    )]);
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
                reg("hold", hold_w()),
                counter,
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
}

/// The shadow's next state (`shadow_full_nx`, `early_nx`, `loading_nx`) and its registers, and
/// whether a swap may fire: `swap_ok` (floating point) or next cycle `swap_ok_nx` (integers).
fn next_state(float: bool) -> Vec<Item> {
    let zero = || sized(1, 0);
    let nx = |n: &str| id(&format!("{n}_nx"));
    let state = ["shadow_full", "early", "loading"];
    let mut items = vec![
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
        always(vec![if_else(
            id("rst"),
            state.iter().map(|n| nb(id(n), zero())).collect(),
            state.iter().map(|n| nb(id(n), nx(n))).collect(),
        )]),
        comment("A swap needs a loaded stationary, or (ls_gapless) a load that started in an earlier cycle."),
    ];
    items.push(if float {
        assign(
            id("swap_ok"),
            id("shadow_full").or(id("ls_gapless").and(id("loading")).and(not(id("early")))),
        )
    } else {
        assign(
            id("swap_ok_nx"),
            nx("shadow_full").or(id("ls_gapless").and(nx("loading")).and(not(nx("early")))),
        )
    });
    items
}
