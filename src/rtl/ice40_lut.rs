//! `systolic_mul_lut_ice40`: a `W x W` multiplier built from iCE40 logic cells, one carry chain
//! per bit of the moving element (generated only with `primitives = "ice40"`, for the PEs of
//! the columns past `dsp_cols`).
//!
//! Timing contract:
//! - `p = a * b`, exact (`2*W` bits), both operands signed when `SIGNED`, else unsigned; `W` in
//!   2..=8 (the configuration's limit for the iCE40 primitives). `a` is the moving element
//!   (its bits choose the rows), `b` the weight.
//! - Combinational: no register, no clock. The PE registers the product (and, at `MUL_LAT` 2,
//!   the operands), as it does around the DSP block's multiplier, so the timing is the same.
//!   Depth: one logic cell for row 0, then `W - 1` rows, each a `W`-bit carry chain; a row's
//!   sum bits feed the next row one bit lower, so the longest path crosses every row and one
//!   chain (an array multiplier: slower than Yosys' Booth tree, about two thirds of its cells).
//!
//! Why: an iCE40 logic cell is a LUT4 with a carry cell that sees two of the LUT's inputs, I1
//! and I2, plus the chain's carry. Row `i` adds `a[i] ? b : 0` to the running sum: with I0 =
//! `a[i]`, I1 = the running sum's bit, I2 = the weight's bit, the LUT gives `I0 ? I1^I2^CI :
//! I1` and the carry cell `maj(I1, I2, CI)`. When `a[i]` is 0 those carries are meaningless,
//! but no LUT of the row reads them then, so the row is one cell per bit: `W + 1` cells
//! (the top one extends the signs, or takes the carry out when unsigned), against two per bit
//! when the partial product is a LUT of its own (what synthesis maps `*` to). Yosys' `booth`
//! maps an 8x8 signed multiply to 127 LUT4s; this array is 64 cells (Yosys 0.70, nextpnr 0.11:
//! a PE's multiply-accumulate with its product and sum registers, 108 logic cells against
//! 164, see docs/fpga.md).
//!
//! The running sum: `T_i` = the sum of rows `0..i` shifted right by `i` (the bits below are
//! final: row `i`'s lowest sum bit is `p[i]`); for signed operands `T_i` holds in `W` bits
//! (`|sum| < 2^(W-1+i)`) and a row's sum in `W + 1`. Signed: the element's top bit weighs
//! `-2^(W-1)`, so the last row subtracts, by the identity `t - b = ~(~t + b)`: the row before
//! it passes its sum inverted (its LUTs' complement, free) and the last row adds `b` to it
//! and inverts its own sum (again free).

use crate::verilog::*;

/// LUT4 truth tables (bit `{I3, I2, I1, I0}`): `ADD` = `I0 ? I1 ^ I2 ^ I3 : I1`, `ADD_N` its
/// complement.
fn lut_inits() -> (u64, u64) {
    let add = |i: u64| {
        let (i0, i1, i2, i3) = (i & 1, (i >> 1) & 1, (i >> 2) & 1, (i >> 3) & 1);
        if i0 == 1 {
            i1 ^ i2 ^ i3
        } else {
            i1
        }
    };
    let init: u64 = (0..16).map(|i| add(i) << i).sum();
    (init, !init & 0xffff)
}

/// The module (parameter defaults: W = 8, signed).
pub fn module() -> Module {
    let (add, add_n) = lut_inits();
    let signed_ = || id("SIGNED").ne(int(0));
    // The row before the last passes its sum inverted when signed, and the last inverts its
    // own (see the module's documentation): ADD_N there, ADD elsewhere.
    let init = || {
        cond(
            signed_().and(
                id("i")
                    .eq(id("W").sub(int(1)))
                    .or(id("i").eq(id("W").sub(int(2))).and(id("j").gt(int(0)))),
            ),
            sized(16, add_n),
            sized(16, add),
        )
    };
    let lut = |o: Expr, i1: Expr, i2: Expr| {
        Item::Instance(Instance {
            module: "SB_LUT4".into(),
            name: "u_lut".into(),
            params: vec![("LUT_INIT".into(), init())],
            ports: vec![
                ("O".into(), o),
                ("I0".into(), id("a").at(id("i"))),
                ("I1".into(), i1),
                ("I2".into(), i2),
                ("I3".into(), id("ci")),
            ],
        })
    };
    // One cell of row i: bit j of the running sum plus bit j of the weight, on the chain
    // (carry in `ci`, out `co`); the top cell (j = W) extends both signs (0 when unsigned).
    let bit_cell = vec![
        wire("ci", None),
        gen_if(
            id("j").eq(int(0)),
            "g_first",
            vec![assign(id("ci"), sized(1, 0))],
            "g_chain",
            vec![assign(
                id("ci"),
                scoped(&[("g_bit", id("j").sub(int(1)))], "g_sum.co"),
            )],
        ),
        gen_if(
            id("j").lt(id("W")),
            "g_sum",
            vec![
                wire("co", None),
                lut(
                    id("s").at(id("j")),
                    id("t").at(id("j")),
                    id("b").at(id("j")),
                ),
                Item::Instance(Instance {
                    module: "SB_CARRY".into(),
                    name: "u_carry".into(),
                    params: vec![],
                    ports: vec![
                        ("CO".into(), id("co")),
                        ("CI".into(), id("ci")),
                        ("I0".into(), id("t").at(id("j"))),
                        ("I1".into(), id("b").at(id("j"))),
                    ],
                }),
            ],
            "g_top",
            vec![lut(id("s").at(id("W")), id("t_ext"), id("b_ext"))],
        ),
    ];
    // Row 0: a[0] ? b : 0, extended to W + 1 bits (one LUT per bit, no chain); inverted above
    // bit 0 when it is the row before the last (W = 2) and signed.
    let row0 = vec![
        wire_init(
            "and0",
            Some(id("W").add(int(1))),
            repeat(id("W").add(int(1)), id("a").at(int(0)))
                .bit_and(concat(vec![id("b_ext"), id("b")])),
        ),
        assign(
            id("s"),
            cond(
                signed_().and(id("W").eq(int(2))),
                concat(vec![
                    bit_not(id("and0").slice(id("W"), int(1))),
                    id("and0").at(int(0)),
                ]),
                id("and0"),
            ),
        ),
    ];
    // Rows 1..W-1: t, the running sum entering the row (its bits i and up; inverted for the
    // last row when SIGNED), plus a[i] ? b : 0 on the row's carry chain.
    let chain_row = vec![
        wire("t", w("W")),
        assign(
            id("t"),
            scoped(&[("g_step", id("i").sub(int(1)))], "s").slice(id("W"), int(1)),
        ),
        wire_init(
            "t_ext",
            None,
            signed_().bit_and(id("t").at(id("W").sub(int(1)))),
        ),
        gen_for("j", int(0), id("W").add(int(1)), "g_bit", bit_cell),
    ];
    let row = vec![
        comment("s: this row's sum; bit 0 is final (bit i of the product)."),
        wire("s", Some(id("W").add(int(1)))),
        gen_if(id("i").eq(int(0)), "g_and", row0, "g_chain", chain_row),
        gen_if(
            id("i").lt(id("W").sub(int(1))),
            "g_low",
            vec![assign(id("p").at(id("i")), id("s").at(int(0)))],
            "g_last",
            vec![assign(
                id("p").slice(id("W").mul(int(2)).sub(int(1)), id("W").sub(int(1))),
                id("s"),
            )],
        ),
    ];
    Module {
        name: "systolic_mul_lut_ice40".into(),
        doc: vec![
            "p = a * b (exact, signed when SIGNED), combinational: an array multiplier on iCE40".into(),
            "logic cells, row i adding a[i] ? b : 0 on one carry chain (W + 1 cells per row).".into(),
        ],
        params: vec![
            param("W", 8, "operand bits (2..8)"),
            param("SIGNED", 1, "1: two's-complement operands"),
        ],
        ports: vec![
            input("a", w("W"), "the moving element: its bits choose the rows"),
            input("b", w("W"), "the weight"),
            output("p", Some(id("W").mul(int(2))), "a * b, exact"),
        ],
        items: vec![
            comment(&format!(
                "LUT_INIT 16'd{add} = 16'h{add:04x}: I0 ? I1 ^ I2 ^ I3 : I1, with I0 = a[i], I1 = the"
            )),
            comment(&format!(
                "running sum, I2 = b, I3 = the carry; 16'd{add_n} = 16'h{add_n:04x}: its complement."
            )),
            wire_init("b_ext", None, signed_().bit_and(id("b").at(id("W").sub(int(1))))),
            gen_for("i", int(0), id("W"), "g_step", row),
        ],
    }
}
