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
//! - With `primitives = "ice40"` the column holds its PEs' SB_MAC16 blocks too (PE(2i) and
//!   PE(2i+1) on one, `systolic_mul2_ice40`); their registers are the PEs' MUL_LAT registers, so
//!   the timing is the same. `USE_DSP` = 0 (a column past `dsp_cols`, either primitives): the
//!   PEs' LUT multipliers instead (with the iCE40 primitives, the carry-chain multipliers of
//!   `systolic_mul_lut_ice40`), same timing.
//! - All registers are in the PEs (and, with the iCE40 primitives, their DSP blocks). No
//!   handshake: the column never stalls.

use super::pe;
use crate::config::{Config, Primitives};
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
                let mut o = pe::param_overrides(cfg);
                o.push(("ROW".into(), id("r")));
                if cfg.primitives != Primitives::Generic {
                    o.push(p("USE_DSP"));
                }
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
            ]
            .into_iter()
            .chain(pe::dsp_ports(cfg).into_iter().map(|port| {
                let net = match port.name.as_str() {
                    "dsp_p" => lane("dsp_p", "P_W"),
                    other => lane(other, "DATA_W"),
                };
                (port.name, net)
            }))
            .collect(),
        }),
    ];
    let mut items = vec![
        comment("PE(r) takes its partial sum from PE(r - 1), or zero at the top."),
        gen_for("r", int(0), id("ROWS"), "g_row", block),
        Item::Blank,
        assign(
            id("psum_out"),
            scoped(&[("g_row", id("ROWS") - int(1))], "psum_o"),
        ),
    ];
    if cfg.primitives == Primitives::Ice40 {
        items.splice(0..0, ice40_pairs(cfg.derived.mul_lat));
    }
    let mut params = [
        vec![param(
            "ROWS",
            rows.into(),
            "PEs in the column (contraction axis K)",
        )],
        pe::param_decls(cfg),
    ]
    .concat();
    if cfg.primitives != Primitives::Generic {
        params.push(param(
            "USE_DSP",
            1,
            "1: the multipliers on DSP blocks, 0: in LUTs",
        ));
    }
    Module {
        name: "systolic_column".into(),
        doc: vec![
            "One array column: ROWS PEs stacked. x/swap pass through left to right (1 cycle);"
                .into(),
            "partial sums start at zero and leave at the bottom MUL_LAT + ROWS*ADD_LAT cycles after"
                .into(),
            format!(
                "row 0's input (MUL_LAT = {}, built into the PEs; ADD_LAT = 1 for integers);",
                cfg.derived.mul_lat
            ),
            "the load bus reaches all rows at once and row ld_row captures it. Never stalls."
                .into(),
            "PE(r) is g_row[r].u_pe.".into(),
        ],
        params,
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
        items,
    }
}

/// `primitives = "ice40"`: the multipliers of PE(2i) and PE(2i+1) are one SB_MAC16 in dual 8x8
/// mode (`systolic_mul2_ice40`, pair i); with an odd ROWS the last block's top half multiplies
/// zeros. Lane r of `dsp_x`, `dsp_w` carries PE(r)'s operands, lane r of `dsp_p` its product.
fn ice40_pairs(mul_lat: u32) -> Vec<Item> {
    let lanes = |width: &str| Some(id("PAIRS").mul(int(2)).mul(id(width)));
    let lane_at =
        |net: &str, index: Expr, width: &str| id(net).part(index.mul(id(width)), id(width));
    let member = |m: i64| match m {
        0 => id("i").mul(int(2)),
        _ => id("i").mul(int(2)).add(int(m)),
    };
    let dsp_pairs = vec![
        gen_if(
            id("ROWS").ne(id("PAIRS").mul(int(2))),
            "g_odd",
            vec![
                assign(lane_at("dsp_x", id("ROWS"), "DATA_W"), zeros(id("DATA_W"))),
                assign(lane_at("dsp_w", id("ROWS"), "DATA_W"), zeros(id("DATA_W"))),
            ],
            "g_even",
            vec![],
        ),
        comment("Pair i: PE(2i) on the block's bottom 8x8 multiplier, PE(2i+1) on its top one."),
        gen_for(
            "i",
            int(0),
            id("PAIRS"),
            "g_pair",
            vec![Item::Instance(Instance {
                module: "systolic_mul2_ice40".into(),
                name: "u_mul".into(),
                params: pe::dsp_mul_params(mul_lat),
                ports: vec![
                    ("clk".into(), id("clk")),
                    ("a0".into(), lane_at("dsp_x", member(0), "DATA_W")),
                    ("b0".into(), lane_at("dsp_w", member(0), "DATA_W")),
                    ("a1".into(), lane_at("dsp_x", member(1), "DATA_W")),
                    ("b1".into(), lane_at("dsp_w", member(1), "DATA_W")),
                    ("p0".into(), lane_at("dsp_p", member(0), "P_W")),
                    ("p1".into(), lane_at("dsp_p", member(1), "P_W")),
                ],
            })],
        ),
    ];
    vec![
        Item::Localparam("PAIRS".into(), id("ROWS").add(int(1)).div(int(2))),
        Item::Localparam("P_W".into(), id("DATA_W").mul(int(2))),
        comment(
            "Lane r: PE(r)'s multiplier operands and product (lane ROWS of an odd column: zero).",
        ),
        Item::LintOff {
            warning: "UNUSED",
            reason: "An odd column's last block multiplies zeros in its top half; a LUT column \
                     (USE_DSP 0) has no blocks."
                .into(),
            items: vec![
                wire("dsp_x", lanes("DATA_W")),
                wire("dsp_w", lanes("DATA_W")),
                wire("dsp_p", lanes("P_W")),
            ],
        },
        gen_if(
            id("USE_DSP").ne(int(0)),
            "g_dsp",
            dsp_pairs,
            "g_lut",
            vec![assign(
                id("dsp_p"),
                zeros(id("PAIRS").mul(int(2)).mul(id("P_W"))),
            )],
        ),
        Item::Blank,
    ]
}
