//! `systolic_column`: one column of the array, `ROWS` PEs stacked vertically.
//!
//! Timing contract:
//! - Moving element r enters row r from the left (`x_in` lane r, skewed by row outside) and
//!   leaves one cycle later on `x_out` lane r, towards the next column; the swap token likewise.
//! - Partial sums start at zero above row 0 and move down one row per `ADD_LAT` cycles (the
//!   moving lanes are skewed to match outside): a moving vector whose row-0 element enters in
//!   cycle t leaves its sum on `psum_out` in cycle t + MUL_LAT + ROWS*ADD_LAT (`ADD_LAT` = 1 for
//!   the integer formats).
//! - The load bus (`ld_valid`, `ld_row`, `ld_data`) reaches every PE of the column in the same
//!   cycle; the PE of row `ld_row` captures `ld_data` into its shadow weight at that edge.
//! - All registers are in the PEs. No handshake: the column never stalls.

use crate::config::Config;
use crate::verilog::*;

/// The column module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let rows = cfg.rows;
    let p = |n: &str| (n.to_string(), id(n));
    let lane = |net: &str, width: &str| id(net).part(id("r").mul(id(width)), id(width));
    let above = scoped(&[("g_row", id("r") - int(1))], "psum_o");
    // One generate block per PE: psum_i from the PE above (or zero), psum_o to the PE below.
    let block = vec![
        wire("psum_i", w("PS_W")),
        wire("psum_o", w("PS_W")),
        gen_if(
            id("r").eq(int(0)),
            "g_top_edge",
            vec![assign(id("psum_i"), zeros(id("PS_W")))],
            "g_from_above",
            vec![assign(id("psum_i"), above)],
        ),
        Item::Instance(Instance {
            module: "systolic_pe".into(),
            name: "u_pe".into(),
            params: {
                let mut o = super::pe::param_overrides(cfg);
                o.push(("ROW".into(), id("r")));
                o
            },
            ports: vec![
                p("clk"),
                p("rst"),
                ("x_in".into(), lane("x_in", "X_W")),
                ("swap_in".into(), id("swap_in").at(id("r"))),
                ("psum_in".into(), id("psum_i")),
                p("ld_valid"),
                p("ld_row"),
                p("ld_data"),
                ("x_out".into(), lane("x_out", "X_W")),
                ("swap_out".into(), id("swap_out").at(id("r"))),
                ("psum_out".into(), id("psum_o")),
            ],
        }),
    ];
    Module {
        name: "systolic_column".into(),
        doc: vec![
            "One array column: ROWS PEs stacked. x/swap pass through left to right (1 cycle);"
                .into(),
            "partial sums start at zero and leave at the bottom MUL_LAT + ROWS*ADD_LAT cycles after"
                .into(),
            "row 0's input (ADD_LAT = 1 for integers);".into(),
            "the load bus reaches all rows at once and row ld_row captures it. Never stalls."
                .into(),
            "PE(r) is g_row[r].u_pe.".into(),
        ],
        params: [
            vec![param(
                "ROWS",
                rows.into(),
                "PEs in the column (contraction axis K)",
            )],
            super::pe::param_decls(cfg),
        ]
        .concat(),
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input(
                "x_in",
                Some(id("ROWS").mul(id("X_W"))),
                "row r in [r*X_W +: X_W]",
            ),
            input("swap_in", w("ROWS"), "swap token per row"),
            input("ld_valid", None, "load bus"),
            input("ld_row", w("ROW_W"), ""),
            input("ld_data", w("DATA_W"), ""),
            output(
                "x_out",
                Some(id("ROWS").mul(id("X_W"))),
                "to the next column",
            ),
            output("swap_out", w("ROWS"), "to the next column"),
            output(
                "psum_out",
                w("PS_W"),
                "the column's sum, below the last row",
            ),
        ],
        items: vec![
            comment("PE(r) takes its partial sum from PE(r - 1), or zero at the top."),
            gen_for("r", int(0), id("ROWS"), "g_row", block),
            Item::Blank,
            assign(
                id("psum_out"),
                scoped(&[("g_row", id("ROWS") - int(1))], "psum_o"),
            ),
        ],
    }
}
