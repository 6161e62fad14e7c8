//! `systolic_mv_entry`: the moving data's entry register, with the K masking, and each beat's
//! PSUM control.
//!
//! Timing contract (edge t = the rising edge that ends cycle t):
//! - Registered, one cycle: the masked moving bus of cycle t is on `x_e` in cycle t + 1,
//!   `swap_e` = the swap fired in t, `ctl_e_valid` = a beat fired in t and `ctl_e` its PSUM
//!   control `{acc, m, bank, addr}` (the head's fields, `beat_addr`).
//! - Rows at or above the head's `k`, or past the last row of its stationary (`last_row`),
//!   enter as zero: a stationary of K < ROWS rows acts zero-padded without clearing any weight.
//!   Floating point: they also enter inactive (the lane's active bit, above the element, is 0),
//!   so the PE adds +0 instead of the product (an infinite stale weight times zero would be
//!   NaN). Row 0 always exists (k >= 1, K >= 1). The register takes the bus so masked whenever
//!   `mv_valid` is high, fired or not (zero otherwise): the fire only marks the beat valid, so
//!   the wide data path does not wait for the handshake.
//! - Pipelined floating point (`ADD_LAT` > 1): `acc_hazard`, combinational, says that the head's
//!   beat accumulates into the PSUM entry of the beat fired in the previous cycle (still in
//!   `ctl_e`), whose sum is still inside the PSUM adder: the queue holds such a beat a cycle.
//! - Reset (synchronous) clears the control bits (`swap_e`, `ctl_e_valid`); data has none.

use crate::config::Config;
use crate::verilog::*;

use super::widths::core_params;

/// The entry's parameters, defaults from `cfg`.
pub fn params(cfg: &Config) -> Vec<Param> {
    let mut names = vec![
        "ROWS", "DATA_W", "X_W", "ROW_W", "K_W", "M_W", "BANK_W", "ADDR_W",
    ];
    if cfg.format.is_float() {
        names.push("ADD_LAT");
    }
    core_params(cfg, &names)
}

/// The moving entry module for `cfg`.
pub fn module(cfg: &Config) -> Module {
    let float = cfg.format.is_float();
    let mut items = vec![
        wire("mv_masked", Some(id("ROWS").mul(id("X_W")))),
        gen_for("r", int(0), id("ROWS"), "g_mask", mask_row(float)),
        always(vec![
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
        ]),
        always(vec![if_else(
            id("rst"),
            vec![
                nb(id("swap_e"), sized(1, 0)),
                nb(id("ctl_e_valid"), sized(1, 0)),
            ],
            vec![
                nb(id("swap_e"), id("swap_fire")),
                nb(id("ctl_e_valid"), id("mv_fire")),
            ],
        )]),
    ];
    if float {
        items.push(acc_hazard());
    }
    Module {
        name: "systolic_mv_entry".into(),
        doc: vec![
            "Moving entry register: rows r >= k, and rows past the stationary's last, are zero"
                .into(),
            "(floating point: inactive); with each beat its PSUM control {acc, m, bank, addr}."
                .into(),
        ],
        params: params(cfg),
        ports: ports(float),
        items,
    }
}

fn ports(float: bool) -> Vec<Port> {
    let ctl_w = || Some(int(1).add(id("M_W")).add(id("BANK_W")).add(id("ADDR_W")));
    let mut ports = vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input("mv_valid", None, "a moving beat is offered"),
        input(
            "mv_data",
            Some(id("ROWS").mul(id("DATA_W"))),
            "element k in [k*DATA_W +: DATA_W]",
        ),
        input("mv_fire", None, "the beat fires"),
        input("swap_fire", None, "it is the swap beat"),
        input("head_k", w("K_W"), "rows used; unused when ROWS == 1").waive("UNUSED"),
        input(
            "last_row",
            w("ROW_W"),
            "last row of the stationary in use; unused when ROWS == 1",
        )
        .waive("UNUSED"),
        input("head_acc", None, "the beat's PSUM control"),
        input("head_m", w("M_W"), ""),
        input("head_bank", w("BANK_W"), ""),
        input("beat_addr", w("ADDR_W"), ""),
        output_reg(
            "x_e",
            Some(id("ROWS").mul(id("X_W"))),
            "row r in [r*X_W +: X_W], masked",
        ),
        output_reg("swap_e", None, "the swap token"),
        output_reg("ctl_e_valid", None, "a beat fired"),
        output_reg("ctl_e", ctl_w(), "{acc, m, bank, addr}"),
    ];
    if float {
        ports.push(output(
            "acc_hazard",
            None,
            "the head's beat would accumulate into the sum still in the PSUM adder",
        ));
    }
    ports
}

/// Lane r of the masked moving bus (the body of `g_mask`).
fn mask_row(float: bool) -> Vec<Item> {
    let lane = |net: &str, width: &str| id(net).part(id("r").mul(id(width)), id(width));
    let data = cond(id("act"), lane("mv_data", "DATA_W"), zeros(id("DATA_W")));
    vec![
        comment("Row 0 always exists (k >= 1, K >= 1): only the rows above need the checks."),
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
        assign(
            lane("mv_masked", "X_W"),
            if float {
                concat(vec![id("act"), data])
            } else {
                data
            },
        ),
    ]
}

/// Floating point: `acc_hazard` (with a pipelined PSUM adder, `ADD_LAT` > 1).
fn acc_hazard() -> Item {
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
}
