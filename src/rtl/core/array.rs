//! `systolic_array`: `ROWS x COLS` processing elements, weight-stationary.
//!
//! Timing contract:
//! - PE(r, c) holds stationary[r][c]. Moving element r enters row r from the left (`x_left`,
//!   already skewed: row r `ADD_LAT` cycles after row r-1) and moves right one column per cycle;
//!   with tiles (`TILE_COLS` > 1, generated when `tile_cols` > 1) it reaches every column of a
//!   tile in the same cycle and moves one tile per cycle (a PE's `x_out` register feeds the next
//!   tile only; synthesis merges the equal ones within a tile). Below, `c` then reads
//!   `c / TILE_COLS`.
//!   Partial sums move down one row per `ADD_LAT` cycles; row 0 starts from zero.
//! - A moving vector whose row-0 element enters in cycle t has its column-c result on
//!   `psum_bottom` (lane c) in cycle t + MUL_LAT + ROWS*ADD_LAT + c: skewed by column
//!   (`ADD_LAT` = 1 for the integer formats; `MUL_LAT` is the configuration's, built into the
//!   PEs by the generator: see `pe`).
//! - The swap token (`swap_left`) travels with the moving data, so each PE switches to its new
//!   weight exactly for the first beat of the new instruction: no drain between instructions.
//! - Each column has a load bus (`ld_*_top` lane c, skewed by column outside: column c one
//!   cycle after column c-1) that reaches all its rows in the same cycle; the PE of row
//!   `ld_row` captures the element. A load of row k thus lands in PE(k, c) `c` cycles after it
//!   lands in PE(k, 0), following the swap wavefront (see docs/architecture.md).
//! - With DSP primitives, columns `c < DSP_COLS` multiply on DSP blocks, the others in LUTs;
//!   the timing is the same.
//! - Everything is registered inside the PEs; the array adds no logic of its own. No handshake:
//!   the array never stalls (bubbles are zero beats whose results the control pipe discards).

use crate::config::{Config, Primitives};
use crate::verilog::*;

/// `DSP_COLS` (with DSP primitives): columns 0..DSP_COLS-1 have their multipliers on DSP blocks,
/// the others in LUTs.
pub fn dsp_cols_param(cfg: &Config) -> Option<Param> {
    (cfg.primitives != Primitives::Generic).then(|| {
        param(
            "DSP_COLS",
            cfg.dsp_cols.into(),
            "columns (the first ones) with their multipliers on DSP blocks; the rest in LUTs",
        )
    })
}

/// `TILE_COLS` (when `tile_cols` > 1): columns per tile, which receive the moving data and the
/// swap token in the same cycle.
pub fn tile_cols_param(cfg: &Config) -> Option<Param> {
    (cfg.tile_cols > 1).then(|| {
        param(
            "TILE_COLS",
            cfg.tile_cols.into(),
            "columns per tile: moving data broadcast within a tile, registered between tiles",
        )
    })
}

/// The array module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let (rows, cols) = (cfg.rows, cfg.cols);
    let p = |n: &str| (n.to_string(), id(n));
    let lane =
        |net: &str, index: &str, width: &str| id(net).part(id(index).mul(id(width)), id(width));
    let left = |name: &str| scoped(&[("g_col", id("c") - int(1))], &format!("{name}_o"));
    // Per-column nets in g_col[c]: the moving data and swap tokens entering the column (`*_i`)
    // and leaving it (`*_o`); separate nets per column (not one vector for the whole grid) keep
    // each a variable of its own for simulators.
    // The column's moving inputs (`x_i`, `swap_i`) from `src("x")`, `src("swap")`.
    let take = |src: &dyn Fn(&str) -> Expr| {
        vec![
            assign(id("x_i"), src("x")),
            assign(id("swap_i"), src("swap")),
        ]
    };
    let registered = take(&left);
    // With tiles, a column inside a tile takes what its left neighbour takes (`*_i`).
    let from_left = if cfg.tile_cols > 1 {
        vec![gen_if(
            id("c").rem(id("TILE_COLS")).ne(int(0)),
            "g_in_tile",
            take(&|name| scoped(&[("g_col", id("c") - int(1))], &format!("{name}_i"))),
            "g_tile_edge",
            registered,
        )]
    } else {
        registered
    };
    let block = vec![
        wire("x_i", Some(id("ROWS").mul(id("X_W")))),
        wire("swap_i", w("ROWS")),
        Item::LintOff {
            warning: "UNUSED",
            reason: "The last column's moving outputs leave the array unused.".into(),
            items: vec![
                wire("x_o", Some(id("ROWS").mul(id("X_W")))),
                wire("swap_o", w("ROWS")),
            ],
        },
        gen_if(
            id("c").eq(int(0)),
            "g_left_edge",
            take(&|name| id(&format!("{name}_left"))),
            "g_from_left",
            from_left,
        ),
        Item::Instance(Instance {
            module: "systolic_column".into(),
            name: "u_column".into(),
            params: {
                let mut o = [vec![p("ROWS")], super::pe::param_overrides(cfg)].concat();
                if cfg.primitives != Primitives::Generic {
                    o.push((
                        "USE_DSP".into(),
                        cond(id("c").lt(id("DSP_COLS")), int(1), int(0)),
                    ));
                }
                o
            },
            ports: vec![
                p("clk"),
                p("rst"),
                ("x_in".into(), id("x_i")),
                ("swap_in".into(), id("swap_i")),
                ("ld_valid".into(), id("ld_valid_top").at(id("c"))),
                ("ld_row".into(), lane("ld_row_top", "c", "ROW_W")),
                ("ld_data".into(), lane("ld_data_top", "c", "DATA_W")),
                ("x_out".into(), id("x_o")),
                ("swap_out".into(), id("swap_o")),
                ("psum_out".into(), lane("psum_bottom", "c", "PS_W")),
            ],
        }),
    ];

    Module {
        name: "systolic_array".into(),
        doc: vec![
            "ROWS x COLS weight-stationary PEs as COLS identical columns. Moving data flows right,".into(),
            "partial sums flow down; each column has its own load bus. Latency: a moving vector entering row 0 in".into(),
            format!(
                "cycle t leaves column c at the bottom in cycle t + MUL_LAT + ROWS*ADD_LAT + {} (MUL_LAT = {},",
                if cfg.tile_cols > 1 { "c/TILE_COLS" } else { "c" },
                cfg.derived.mul_lat,
            ),
            "built into the PEs; ADD_LAT = 1 for integers). Never stalls; all registers".into(),
            "are in the PEs. PE(r, c) is g_col[c].u_column.g_row[r].u_pe.".into(),
        ],
        params: vec![
            param("ROWS", rows.into(), "array rows (contraction axis K)"),
            param("COLS", cols.into(), "array columns (stationary free axis M)"),
        ]
        .into_iter()
        .chain(super::pe::param_decls(cfg))
        .chain(dsp_cols_param(cfg))
        .chain(tile_cols_param(cfg))
        .collect(),
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("x_left", Some(id("ROWS").mul(id("X_W"))), "row r in [r*X_W +: X_W], skewed"),
            input("swap_left", w("ROWS"), "swap token per row, skewed with x_left"),
            input("ld_valid_top", w("COLS"), "load bus per column, skewed by column"),
            input("ld_row_top", Some(id("COLS").mul(id("ROW_W"))), ""),
            input("ld_data_top", Some(id("COLS").mul(id("DATA_W"))), ""),
            output("psum_bottom", Some(id("COLS").mul(id("PS_W"))), "column c in [c*PS_W +: PS_W], skewed"),
        ],
        items: vec![
            comment(if cfg.tile_cols > 1 {
                "Column c takes the moving data from column c - 1, or from the left edge; inside a tile, what column c - 1 takes."
            } else {
                "Column c takes the moving data from column c - 1, or from the left edge."
            }),
            gen_for("c", int(0), id("COLS"), "g_col", block),
        ],
    }
}
