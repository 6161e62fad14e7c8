//! `systolic_skew`: staggers a vector of lanes so that lane `i` arrives `i*STEP` cycles after
//! lane 0.
//!
//! Timing contract:
//! - Latency: lane `i` of `in_lanes` appears on `out_lanes` exactly `i*STEP` cycles later; lane 0
//!   is a wire (zero latency). Registers: `i*STEP` stages of `W` bits for lane `i`,
//!   `STEP*LANES*(LANES-1)/2` stages in all.
//! - Reset: every stage is cleared by the synchronous `rst`, so control bits carried in a lane
//!   (valid, swap, load) never appear spuriously after reset.
//! - No handshake: the skew never stalls; it is a fixed delay.
//!
//! - With `GROUP` (generated when the array has tiles of more than one column): lanes come in
//!   groups of `GROUP`, all lanes of group `g` delayed by `g*STEP`.
//!
//! Used twice by the top level: for the moving data entering the array's rows from the left
//! (lane = row, `STEP` = the PE's `ADD_LAT`), and for the stationary load bus entering the
//! array's columns from the top (lane = column, `STEP` = 1, `GROUP` = the array's tile
//! columns, so each column's load follows the swap that reaches its tile).

use crate::verilog::*;

/// Parameterised module description (independent of any particular configuration apart from
/// the default parameter values). `grouped`: with the `GROUP` parameter (default 1).
pub fn module(lanes: u32, lane_w: u32, step: u32, grouped: bool) -> Module {
    let delay = if grouped {
        id("STEP").mul(id("i").div(id("GROUP")))
    } else {
        id("i").mul(id("STEP"))
    };
    Module {
        name: "systolic_skew".into(),
        doc: vec![
            "Skew: lane i of in_lanes appears on out_lanes i*STEP cycles later (lane 0 is a wire)."
                .into(),
            "Registered: i*STEP stages of W bits for lane i, cleared by the synchronous reset."
                .into(),
            "No handshake: a fixed delay that never stalls.".into(),
        ],
        params: vec![
            param("LANES", lanes.into(), "number of lanes"),
            param("W", lane_w.into(), "bits per lane"),
            param("STEP", step.into(), "cycles of delay per lane index"),
        ]
        .into_iter()
        .chain(grouped.then(group_param))
        .collect(),
        ports: vec![
            input("clk", None, "unused when LANES == 1").waive("UNUSED"),
            input(
                "rst",
                None,
                "synchronous, active high; unused when LANES == 1",
            )
            .waive("UNUSED"),
            input(
                "in_lanes",
                Some(id("LANES").mul(id("W"))),
                "lane i in bits [i*W +: W]",
            ),
            output(
                "out_lanes",
                Some(id("LANES").mul(id("W"))),
                "lane i delayed by i*STEP cycles",
            ),
        ],
        items: vec![gen_for(
            "i",
            int(0),
            id("LANES"),
            "g_lane",
            delay_line(
                delay,
                id("in_lanes"),
                id("out_lanes"),
                id("i").mul(id("W")),
                id("W"),
                true,
            ),
        )],
    }
}

/// `GROUP` (default 1) of `systolic_skew` and `systolic_deskew` when the array has tiles.
pub(crate) fn group_param() -> Param {
    param(
        "GROUP",
        1,
        "lanes per group: lane i is delayed as lane i/GROUP",
    )
}

/// Items of one delay line: `delay` cycles (a constant expression, may be 0) from
/// `input[base +: width]` to `output[base +: width]`, optionally cleared by `rst`.
/// The stages live in one vector `line`, youngest stage in the low bits.
pub(crate) fn delay_line(
    delay: Expr,
    input: Expr,
    output: Expr,
    base: Expr,
    width: Expr,
    reset: bool,
) -> Vec<Item> {
    let src = input.part(base.clone(), width.clone());
    let dst = output.part(base, width.clone());
    let line = id("line");
    let update = |next: Expr| -> Vec<Stmt> {
        if reset {
            vec![if_else(
                id("rst"),
                vec![nb(line.clone(), zeros(id("D").mul(width.clone())))],
                vec![nb(line.clone(), next)],
            )]
        } else {
            vec![nb(line.clone(), next)]
        }
    };
    vec![
        Item::Localparam("D".into(), delay),
        gen_if(
            id("D").eq(int(0)),
            "g_wire",
            vec![assign(dst.clone(), src.clone())],
            "g_delay",
            vec![
                reg("line", Some(id("D").mul(width.clone()))),
                gen_if(
                    id("D").eq(int(1)),
                    "g_one",
                    vec![always(update(src.clone()))],
                    "g_shift",
                    vec![always(update(concat(vec![
                        line.clone()
                            .slice(id("D").sub(int(1)).mul(width.clone()).sub(int(1)), int(0)),
                        src,
                    ])))],
                ),
                assign(
                    dst,
                    line.part(id("D").sub(int(1)).mul(width.clone()), width),
                ),
            ],
        ),
    ]
}
