//! `systolic_array`: `ROWS x COLS` processing elements, weight-stationary.
//!
//! Timing contract:
//! - PE(r, c) holds stationary[r][c]. Moving element r enters row r from the left (`x_left`,
//!   already skewed: row r one cycle after row r-1) and moves right one column per cycle.
//!   Partial sums move down one row per cycle; row 0 starts from zero.
//! - A moving vector whose row-0 element enters in cycle t has its column-c result on
//!   `psum_bottom` (lane c) in cycle t + ROWS + c: latency ROWS cycles, skewed by column.
//! - The swap token (`swap_left`) travels with the moving data, so each PE switches to its new
//!   weight exactly for the first beat of the new instruction: no drain between instructions.
//! - The load bus (`ld_*_top`, skewed by column) moves down one row per cycle; the PE of row k
//!   captures the beat whose count-down reaches zero there.
//! - Everything is registered inside the PEs; the array adds no logic of its own. No handshake:
//!   the array never stalls (bubbles are zero beats whose results the control pipe discards).

use crate::verilog::*;

pub fn module(rows: u32, cols: u32, data_w: u32, acc_w: u32, cnt_w: u32, signed_: bool) -> Module {
    let p = |n: &str| (n.to_string(), id(n));
    // Flat vectors of the nets between PEs:
    //   horizontal (moving):  index h = r*(COLS+1) + c, c = COLS is the right edge (unused);
    //   vertical (psum, load): index v = r*COLS + c,     r = ROWS is the bottom edge.
    let h = || id("r").mul(id("COLS").add(int(1))).add(id("c"));
    let v = || id("r").mul(id("COLS")).add(id("c"));
    let hn = || id("ROWS").mul(id("COLS").add(int(1)));
    let vn = || id("ROWS").add(int(1)).mul(id("COLS"));
    let sel = |net: &str, index: Expr, width: &str| id(net).part(index.mul(id(width)), id(width));
    let bit = |net: &str, index: Expr| id(net).at(index);
    let pe = Instance {
        module: "systolic_pe".into(),
        name: "u_pe".into(),
        params: vec![p("DATA_W"), p("ACC_W"), p("CNT_W"), p("SIGNED")],
        ports: vec![
            p("clk"),
            p("rst"),
            ("x_in".into(), sel("x_h", id("H"), "DATA_W")),
            ("swap_in".into(), bit("swap_h", id("H"))),
            ("psum_in".into(), sel("psum_v", id("V"), "ACC_W")),
            ("ld_valid_in".into(), bit("ldv_v", id("V"))),
            ("ld_last_in".into(), bit("ldl_v", id("V"))),
            ("ld_cnt_in".into(), sel("ldc_v", id("V"), "CNT_W")),
            ("ld_data_in".into(), sel("ldd_v", id("V"), "DATA_W")),
            ("x_out".into(), sel("x_h", id("H").add(int(1)), "DATA_W")),
            ("swap_out".into(), bit("swap_h", id("H").add(int(1)))),
            (
                "psum_out".into(),
                sel("psum_v", id("V").add(id("COLS")), "ACC_W"),
            ),
            ("ld_valid_out".into(), bit("ldv_v", id("V").add(id("COLS")))),
            ("ld_last_out".into(), bit("ldl_v", id("V").add(id("COLS")))),
            (
                "ld_cnt_out".into(),
                sel("ldc_v", id("V").add(id("COLS")), "CNT_W"),
            ),
            (
                "ld_data_out".into(),
                sel("ldd_v", id("V").add(id("COLS")), "DATA_W"),
            ),
        ],
    };
    Module {
        name: "systolic_array".into(),
        doc: vec![
            "ROWS x COLS weight-stationary PEs. Moving data flows right, partial sums flow down,".into(),
            "the load bus flows down. Latency: a moving vector entering row 0 in cycle t leaves".into(),
            "column c at the bottom in cycle t + ROWS + c. Never stalls; all registers are in the PEs.".into(),
        ],
        params: vec![
            param("ROWS", rows.into(), "array rows (contraction axis K)"),
            param("COLS", cols.into(), "array columns (stationary free axis M)"),
            param("DATA_W", data_w.into(), "bits of one input element"),
            param("ACC_W", acc_w.into(), "bits of the accumulator"),
            param("CNT_W", cnt_w.into(), "bits of the load row count-down"),
            param("SIGNED", i64::from(signed_), "1: two's-complement inputs"),
        ],
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("x_left", Some(id("ROWS").mul(id("DATA_W"))), "row r in [r*DATA_W +: DATA_W], skewed"),
            input("swap_left", w("ROWS"), "swap token per row, skewed with x_left"),
            input("ld_valid_top", w("COLS"), "load bus per column, skewed by column"),
            input("ld_last_top", w("COLS"), ""),
            input("ld_cnt_top", Some(id("COLS").mul(id("CNT_W"))), ""),
            input("ld_data_top", Some(id("COLS").mul(id("DATA_W"))), ""),
            output("psum_bottom", Some(id("COLS").mul(id("ACC_W"))), "column c in [c*ACC_W +: ACC_W], skewed"),
        ],
        items: vec![
            Item::LintOff {
                warning: "UNUSED",
                reason: "The right edge of the moving nets and the bottom edge of the load bus leave the array unused.".into(),
                items: vec![
                    wire("x_h", Some(hn().mul(id("DATA_W")))),
                    wire("swap_h", Some(hn())),
                    wire("ldv_v", Some(vn())),
                    wire("ldl_v", Some(vn())),
                    wire("ldc_v", Some(vn().mul(id("CNT_W")))),
                    wire("ldd_v", Some(vn().mul(id("DATA_W")))),
                ],
            },
            wire("psum_v", Some(vn().mul(id("ACC_W")))),
            Item::Blank,
            comment("Left edge: skewed moving data and swap tokens."),
            gen_for(
                "r",
                int(0),
                id("ROWS"),
                "g_left",
                vec![
                    assign(sel("x_h", id("r").mul(id("COLS").add(int(1))), "DATA_W"), sel("x_left", id("r"), "DATA_W")),
                    assign(bit("swap_h", id("r").mul(id("COLS").add(int(1)))), bit("swap_left", id("r"))),
                ],
            ),
            comment("Top edge: partial sums start at zero; the load bus enters."),
            gen_for(
                "c",
                int(0),
                id("COLS"),
                "g_top",
                vec![
                    assign(sel("psum_v", id("c"), "ACC_W"), zeros(id("ACC_W"))),
                    assign(bit("ldv_v", id("c")), bit("ld_valid_top", id("c"))),
                    assign(bit("ldl_v", id("c")), bit("ld_last_top", id("c"))),
                    assign(sel("ldc_v", id("c"), "CNT_W"), sel("ld_cnt_top", id("c"), "CNT_W")),
                    assign(sel("ldd_v", id("c"), "DATA_W"), sel("ld_data_top", id("c"), "DATA_W")),
                ],
            ),
            comment("The grid: PE(r, c) is g_row[r].g_col[c].u_pe."),
            gen_for(
                "r",
                int(0),
                id("ROWS"),
                "g_row",
                vec![gen_for(
                    "c",
                    int(0),
                    id("COLS"),
                    "g_col",
                    vec![Item::Localparam("H".into(), h()), Item::Localparam("V".into(), v()), Item::Instance(pe)],
                )],
            ),
            Item::Blank,
            assign(id("psum_bottom"), id("psum_v").part(id("ROWS").mul(id("COLS")).mul(id("ACC_W")), id("COLS").mul(id("ACC_W")))),
        ],
    }
}
