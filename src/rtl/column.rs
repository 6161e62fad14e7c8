//! `systolic_column`: one column of the array, `ROWS` PEs stacked vertically.
//!
//! Timing contract:
//! - Moving element r enters row r from the left (`x_in` lane r, skewed by row outside) and
//!   leaves one cycle later on `x_out` lane r, towards the next column; the swap token likewise.
//! - Partial sums start at zero above row 0 and move down one row per cycle: a moving vector
//!   whose row-0 element enters in cycle t leaves its sum on `psum_out` in cycle t + ROWS.
//! - The load bus (`ld_valid`, `ld_row`, `ld_data`) reaches every PE of the column in the same
//!   cycle; the PE of row `ld_row` captures `ld_data` into its shadow weight at that edge.
//! - All registers are in the PEs. No handshake: the column never stalls.

use crate::config::Config;
use crate::verilog::*;

/// The column module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let d = &cfg.derived;
    let (rows, data_w, acc_w, row_w, signed_) =
        (cfg.rows, d.data_w, d.acc_w, d.row_w, cfg.format.is_signed());
    let p = |n: &str| (n.to_string(), id(n));
    let lane = |net: &str, width: &str| id(net).part(id("r").mul(id(width)), id(width));
    let above = scoped(&[("g_row", id("r") - int(1))], "psum_o");
    // One generate block per PE: psum_i from the PE above (or zero), psum_o to the PE below.
    let block = vec![
        wire("psum_i", w("ACC_W")),
        wire("psum_o", w("ACC_W")),
        gen_if(
            id("r").eq(int(0)),
            "g_top_edge",
            vec![assign(id("psum_i"), zeros(id("ACC_W")))],
            "g_from_above",
            vec![assign(id("psum_i"), above)],
        ),
        Item::Instance(Instance {
            module: "systolic_pe".into(),
            name: "u_pe".into(),
            params: vec![
                p("DATA_W"),
                p("ACC_W"),
                p("ROW_W"),
                ("ROW".into(), id("r")),
                p("SIGNED"),
            ],
            ports: vec![
                p("clk"),
                p("rst"),
                ("x_in".into(), lane("x_in", "DATA_W")),
                ("swap_in".into(), id("swap_in").at(id("r"))),
                ("psum_in".into(), id("psum_i")),
                p("ld_valid"),
                p("ld_row"),
                p("ld_data"),
                ("x_out".into(), lane("x_out", "DATA_W")),
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
            "partial sums start at zero and leave at the bottom ROWS cycles after row 0's input;"
                .into(),
            "the load bus reaches all rows at once and row ld_row captures it. Never stalls."
                .into(),
            "PE(r) is g_row[r].u_pe.".into(),
        ],
        params: vec![
            param(
                "ROWS",
                rows.into(),
                "PEs in the column (contraction axis K)",
            ),
            param("DATA_W", data_w.into(), "bits of one input element"),
            param("ACC_W", acc_w.into(), "bits of the accumulator"),
            param("ROW_W", row_w.into(), "bits of a row index"),
            param("SIGNED", i64::from(signed_), "1: two's-complement inputs"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input(
                "x_in",
                Some(id("ROWS").mul(id("DATA_W"))),
                "row r in [r*DATA_W +: DATA_W]",
            ),
            input("swap_in", w("ROWS"), "swap token per row"),
            input("ld_valid", None, "load bus"),
            input("ld_row", w("ROW_W"), ""),
            input("ld_data", w("DATA_W"), ""),
            output(
                "x_out",
                Some(id("ROWS").mul(id("DATA_W"))),
                "to the next column",
            ),
            output("swap_out", w("ROWS"), "to the next column"),
            output(
                "psum_out",
                w("ACC_W"),
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
