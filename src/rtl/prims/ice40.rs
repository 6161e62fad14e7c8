//! `systolic_mul2_ice40`: two integer multipliers on one Lattice iCE40 UltraPlus SB_MAC16 in
//! its dual 8x8 mode, with the DSP block's own registers (generated only with
//! `primitives = "ice40"`; the column pairs its PEs on it, rows 2i and 2i+1).
//!
//! Timing contract:
//! - `p0 = a0 * b0` and `p1 = a1 * b1`, each exact (`2*W` bits), all operands signed when
//!   `SIGNED`, else unsigned; `W` <= 8 (the operands are extended to the block's 8-bit halves).
//!   Pair member 0 is the block's bottom 8x8 multiplier (A[7:0] x B[7:0]), member 1 its top one
//!   (A[15:8] x B[15:8]).
//! - Latency `REG_IN + 1` cycles: with `REG_IN = 1` the operands are registered in the block's
//!   A and B input registers at the edge ending the cycle they are presented in; each product is
//!   registered in its 8x8 product register (TOP_8x8_MULT_REG, BOT_8x8_MULT_REG) at the next
//!   edge. With `REG_IN = 0` only the product registers are used.
//! - No reset, no hold: every register loads at every edge (CE high; AHOLD, BHOLD low; the
//!   input-register resets IRSTTOP, IRSTBOT low). The block's accumulators are not used (the
//!   partial sums run through the fabric from PE to PE).
//!
//! Why: Yosys' `synth_ice40 -dsp` maps multipliers to SB_MAC16 by inference, which was measured
//! producing wrong netlists for multiply-accumulate chains (a register claimed both as one
//! block's output register and the next block's input register); instantiating the block
//! simulates correctly, and the dual 8x8 mode puts two PEs' multipliers in one of the UP5K's
//! 8 blocks. The signed 8x8 products follow the SB_MAC16 description in Lattice's iCE
//! technology library (A_SIGNED / B_SIGNED apply to both halves in MODE_8x8), as Yosys' model
//! (`share/ice40/cells_sim.v`) does; the post-synthesis co-simulation runs that model. The
//! simulation model for the generated RTL is `hdl/sim/ice40_cells.v`.

use crate::verilog::*;

/// The module (parameter defaults: W = 8, signed, input registers on).
pub fn module() -> Module {
    // An operand extended to the block's 8-bit half.
    let ext = |name: &str| super::extend_operand(name, 8);
    let bit = |v: u64| sized(1, v);
    let mut params: Vec<(String, Expr)> = vec![
        ("A_REG".into(), id("REG_IN")),
        ("B_REG".into(), id("REG_IN")),
        ("TOP_8x8_MULT_REG".into(), bit(1)),
        ("BOT_8x8_MULT_REG".into(), bit(1)),
        ("TOPOUTPUT_SELECT".into(), sized(2, 2)),
        ("BOTOUTPUT_SELECT".into(), sized(2, 2)),
        ("MODE_8x8".into(), bit(1)),
        ("A_SIGNED".into(), id("SIGNED")),
        ("B_SIGNED".into(), id("SIGNED")),
    ];
    for p in [
        "C_REG",
        "D_REG",
        "PIPELINE_16x16_MULT_REG1",
        "PIPELINE_16x16_MULT_REG2",
    ] {
        params.push((p.into(), bit(0)));
    }
    let mut ports: Vec<(String, Expr)> = vec![
        ("CLK".into(), id("clk")),
        ("CE".into(), bit(1)),
        ("A".into(), concat(vec![id("a18"), id("a08")])),
        ("B".into(), concat(vec![id("b18"), id("b08")])),
        ("C".into(), sized(16, 0)),
        ("D".into(), sized(16, 0)),
    ];
    for p in [
        "AHOLD",
        "BHOLD",
        "CHOLD",
        "DHOLD",
        "IRSTTOP",
        "IRSTBOT",
        "ORSTTOP",
        "ORSTBOT",
        "OLOADTOP",
        "OLOADBOT",
        "ADDSUBTOP",
        "ADDSUBBOT",
        "OHOLDTOP",
        "OHOLDBOT",
        "CI",
        "ACCUMCI",
        "SIGNEXTIN",
    ] {
        ports.push((p.into(), bit(0)));
    }
    ports.push(("O".into(), id("o")));
    for (i, p) in ["CO", "ACCUMCO", "SIGNEXTOUT"].into_iter().enumerate() {
        ports.push((p.into(), id("carry_out").at(int(i as i64))));
    }
    let width2 = || Some(id("W").mul(int(2)));
    Module {
        name: "systolic_mul2_ice40".into(),
        doc: vec![
            "p0 = a0 * b0, p1 = a1 * b1 on one iCE40 SB_MAC16 in dual 8x8 mode (exact, signed"
                .into(),
            "when SIGNED; W <= 8), with the block's input registers when REG_IN and its product"
                .into(),
            "registers: latency REG_IN + 1.".into(),
        ],
        params: vec![
            param("W", 8, "operand bits (at most 8)"),
            param("SIGNED", 1, "1: two's-complement operands"),
            param("REG_IN", 1, "1: the DSP block's input registers"),
        ],
        ports: vec![
            input("clk", None, ""),
            input(
                "a0",
                w("W"),
                "pair member 0 (the block's bottom 8x8 multiplier)",
            ),
            input("b0", w("W"), ""),
            input("a1", w("W"), "pair member 1 (the top 8x8 multiplier)"),
            input("b1", w("W"), ""),
            output("p0", width2(), "a0 * b0, REG_IN + 1 cycles later"),
            output("p1", width2(), "a1 * b1, REG_IN + 1 cycles later"),
        ],
        items: vec![
            ext("a0"),
            ext("b0"),
            ext("a1"),
            ext("b1"),
            Item::LintOff {
                warning: "UNUSED",
                reason: "Each half's 16-bit product of two W-bit operands has 2*W bits; the \
                         upper ones are sign."
                    .into(),
                items: vec![wire("o", Some(int(32)))],
            },
            Item::LintOff {
                warning: "UNUSED",
                reason: "The block's carry and cascade outputs (its adders are not used).".into(),
                items: vec![wire("carry_out", Some(int(3)))],
            },
            Item::Blank,
            Item::Instance(Instance {
                module: "SB_MAC16".into(),
                name: "u_mac".into(),
                params,
                ports,
            }),
            assign(id("p0"), id("o").part(int(0), id("W").mul(int(2)))),
            assign(id("p1"), id("o").part(int(16), id("W").mul(int(2)))),
        ],
    }
}
