//! Array multipliers on the FPGA's carry chains, one chain per bit of the moving element
//! (generated with the FPGA primitives, for the PEs of the columns past `dsp_cols`):
//! `systolic_mul_lut_ice40` (iCE40 SB_LUT4 + SB_CARRY) and `systolic_mul_lut_ecp5` (ECP5
//! CCU2C, two bits per cell).
//!
//! Timing contract (both):
//! - `p = a * b`, exact (`2*W` bits), both operands signed when `SIGNED`, else unsigned; `W` >= 2
//!   (iCE40: at most 8, the configuration's limit for its primitives). `a` is the moving element
//!   (its bits choose the rows), `b` the weight.
//! - `SPLIT` = 0: combinational, no register (`clk` unused). The PE registers the product (and,
//!   at `MUL_LAT` 2, the operands), as it does around the DSP block's multiplier, so the timing
//!   is the same. Depth: one LUT for row 0, then `W - 1` rows, each a `W + 1`-bit carry chain;
//!   a row's sum bits feed the next row one bit lower, so the longest path crosses every row and
//!   one chain (an array multiplier: slower than Yosys' Booth tree, and smaller).
//! - `SPLIT` = S in 1..W-1 (the PE's `MUL_LAT` 3 uses `W/2`): `p` one cycle after `a` and `b`.
//!   Registered after row S - 1: its sum above bit 0 (`W` bits), the product bits 0..S-1 that
//!   rows 0..S-1 made final, and the operands of rows S..W-1 (`a[W-1:S]`, `b`); those rows work
//!   the next cycle from the registers alone, so a change of `b` (a weight swap) between the two
//!   cycles cannot mix two weights in one product. The longest path crosses max(S, W - S) rows;
//!   about 3W flip-flops more than the combinational one.
//!
//! Why: row `i` adds `a[i] ? b : 0` to the running sum. On both families a carry chain's cell
//! takes the chain's carry plus two LUT inputs: the running sum's bit and the weight's bit;
//! the select `a[i]` is one more LUT input. When `a[i]` is 0 the row must pass the running sum
//! through unchanged, and each family's cell can be told to do so without a partial-product LUT
//! of its own (what synthesis maps `*` to: two cells per partial-product bit):
//! - iCE40: a cell's LUT4 gives the sum bit from (I0 = `a[i]`, I1 = sum bit, I2 = weight bit,
//!   I3 = carry), `I0 ? I1^I2^I3 : I1`, and its SB_CARRY `maj(I1, I2, CI)`. When `a[i]` is 0
//!   those carries are meaningless, but no LUT of the row reads them then.
//! - ECP5: a CCU2C half's LUT4 is the propagate signal `P` (A = sum bit, B = weight bit, C =
//!   `a[i]`), its sum `P ^ CIN`, its carry `P ? CIN : G` with `G` = the LUT at C = D = 0. With
//!   `P = C ? A^B : A` and so `G = A`, a row whose `a[i]` is 0 has `P = A` and every carry 0
//!   (from a carry-in of 0), so its sum is the running sum.
//!
//! So a row is `W + 1` cells (the top one extends the signs, or takes the carry out when
//! unsigned): about `W*W` for the multiplier. Measured (Yosys 0.70, nextpnr 0.11): an HX8K
//! int8 4x4 core in 3,296 logic cells against 4,561 with Yosys' `booth` LUT multipliers
//! (docs/fpga.md, "Largest arrays").
//!
//! The running sum: `T_i` = the sum of rows `0..i` shifted right by `i` (the bits below are
//! final: row `i`'s lowest sum bit is `p[i]`); for signed operands `T_i` holds in `W` bits
//! (`|sum| < 2^(W-1+i)`) and a row's sum in `W + 1`. Signed: the element's top bit weighs
//! `-2^(W-1)`, so the last row subtracts `b`. iCE40, by the identity `t - b = ~(~t + b)`: the
//! row before it passes its sum inverted (its LUTs' complement, free) and the last row adds `b`
//! and inverts its own sum (free again). ECP5 (whose LUT output is also the propagate signal,
//! so it cannot be inverted freely): `t + ~b + 1`, with `P = C ? ~(A^B) : A` (still `G = A`) and
//! the row's carry-in `a[W-1]`.

use crate::verilog::*;

/// A 16-entry LUT truth table from its function of (bit 0, bit 1, bit 2, bit 3) of the index.
fn lut_init(f: impl Fn(u64, u64, u64, u64) -> u64) -> u64 {
    (0..16)
        .map(|i| f(i & 1, (i >> 1) & 1, (i >> 2) & 1, (i >> 3) & 1) << i)
        .sum()
}

fn signed_() -> Expr {
    id("SIGNED").ne(int(0))
}

/// Row `i` is the last one.
fn last_row() -> Expr {
    id("i").eq(id("W").sub(int(1)))
}

/// The last row of a signed multiplier (it subtracts).
fn last_signed_row() -> Expr {
    signed_().and(last_row())
}

/// The module around a family's row cells: row 0 is `ra ? rb : 0` (one LUT per bit, no chain;
/// its bits above 0 inverted when `invert_row0`), rows 1..W-1 take `t`, the previous row's sum
/// above its bit 0, and `t_ext`, its sign (0 unsigned), and produce `s` (W + 1 bits) with
/// `cells`. Each row's operands are `ra` (its bit of `a`), `rb` and `rb_ext` (the weight and its
/// sign): `a` and `b`, or for the rows from `SPLIT` (when not 0) the ones registered with the
/// running sum after row `SPLIT - 1`.
fn array_module(
    name: &str,
    doc: &str,
    invert_row0: Expr,
    comments: Vec<Item>,
    cells: Vec<Item>,
) -> Module {
    let split = || id("SPLIT").ne(int(0));
    let row0 = vec![
        wire_init(
            "and0",
            Some(id("W").add(int(1))),
            repeat(id("W").add(int(1)), id("ra")).bit_and(concat(vec![id("rb_ext"), id("rb")])),
        ),
        assign(
            id("s"),
            cond(
                invert_row0,
                concat(vec![
                    bit_not(id("and0").slice(id("W"), int(1))),
                    id("and0").at(int(0)),
                ]),
                id("and0"),
            ),
        ),
    ];
    let mut chain_row = vec![
        wire("t", w("W")),
        assign(
            id("t"),
            scoped(&[("g_step", id("i").sub(int(1)))], "g_low.t_next"),
        ),
        wire_init(
            "t_ext",
            None,
            signed_().bit_and(id("t").at(id("W").sub(int(1)))),
        ),
    ];
    chain_row.extend(cells);
    let late = || split().and(id("i").ge(id("SPLIT")));
    let row = vec![
        comment("This row's operands: a and b, or (rows from SPLIT) the registered ones."),
        wire("ra", None),
        wire("rb", w("W")),
        gen_if(
            late(),
            "g_late",
            vec![
                assign(
                    id("ra"),
                    scoped(&[], "g_pipe.a_q").at(id("i").sub(id("SPLIT"))),
                ),
                assign(id("rb"), scoped(&[], "g_pipe.b_q")),
            ],
            "g_early",
            vec![
                assign(id("ra"), id("a").at(id("i"))),
                assign(id("rb"), id("b")),
            ],
        ),
        wire_init(
            "rb_ext",
            None,
            signed_().bit_and(id("rb").at(id("W").sub(int(1)))),
        ),
        comment("s: this row's sum; bit 0 is final (bit i of the product)."),
        wire("s", Some(id("W").add(int(1)))),
        gen_if(id("i").eq(int(0)), "g_and", row0, "g_chain", chain_row),
        gen_if(
            id("i").lt(id("W").sub(int(1))),
            "g_low",
            vec![
                comment("t_next: the sum above bit 0 as the next row takes it (registered"),
                comment(
                    "after row SPLIT - 1); p[i], a cycle later too from the rows before SPLIT.",
                ),
                wire("t_next", w("W")),
                gen_if(
                    split().and(id("i").eq(id("SPLIT").sub(int(1)))),
                    "g_cut",
                    vec![
                        reg("t_q", w("W")),
                        always(vec![nb(id("t_q"), id("s").slice(id("W"), int(1)))]),
                        assign(id("t_next"), id("t_q")),
                    ],
                    "g_pass",
                    vec![assign(id("t_next"), id("s").slice(id("W"), int(1)))],
                ),
                gen_if(
                    split().and(id("i").lt(id("SPLIT"))),
                    "g_p_reg",
                    vec![
                        reg("p_q", None),
                        always(vec![nb(id("p_q"), id("s").at(int(0)))]),
                        assign(id("p").at(id("i")), id("p_q")),
                    ],
                    "g_p_now",
                    vec![assign(id("p").at(id("i")), id("s").at(int(0)))],
                ),
            ],
            "g_last",
            vec![assign(
                id("p").slice(id("W").mul(int(2)).sub(int(1)), id("W").sub(int(1))),
                id("s"),
            )],
        ),
    ];
    let mut items = comments;
    items.extend([
        gen_if(
            split(),
            "g_pipe",
            vec![
                comment("The operands of the rows from SPLIT, registered with the running sum."),
                reg("a_q", Some(id("W").sub(id("SPLIT")))),
                reg("b_q", w("W")),
                always(vec![
                    nb(id("a_q"), id("a").slice(id("W").sub(int(1)), id("SPLIT"))),
                    nb(id("b_q"), id("b")),
                ]),
            ],
            "g_comb",
            vec![Item::LintOff {
                warning: "UNUSED",
                reason: "SPLIT 0: combinational, no clock.".into(),
                items: vec![wire_init("clk_unused", None, id("clk"))],
            }],
        ),
        gen_for("i", int(0), id("W"), "g_step", row),
    ]);
    Module {
        name: name.into(),
        doc: vec![
            "p = a * b (exact, signed when SIGNED): an array multiplier, row i adding a[i] ? b : 0"
                .into(),
            format!("on one carry chain of {doc}."),
            "SPLIT 0: combinational; else a register after row SPLIT - 1 (with the operands of"
                .into(),
            "the rows after it and the product bits below it): p one cycle after a and b.".into(),
        ],
        params: vec![
            param("W", 8, "operand bits (at least 2)"),
            param("SIGNED", 1, "1: two's-complement operands"),
            param(
                "SPLIT",
                0,
                "0: combinational; 1..W-1: the row before which a register sits",
            ),
        ],
        ports: vec![
            input("clk", None, "used when SPLIT is not 0"),
            input("a", w("W"), "the moving element: its bits choose the rows"),
            input("b", w("W"), "the weight"),
            output("p", Some(id("W").mul(int(2))), "a * b, exact"),
        ],
        items,
    }
}

/// `systolic_mul_lut_ice40` (parameter defaults: W = 8, signed).
pub fn ice40_module() -> Module {
    // ADD = I0 ? I1 ^ I2 ^ I3 : I1 over {I3, I2, I1, I0}; ADD_N its complement.
    let add = lut_init(|i0, i1, i2, i3| if i0 == 1 { i1 ^ i2 ^ i3 } else { i1 });
    let add_n = !add & 0xffff;
    // The row before the last passes its sum inverted when signed, and the last inverts its
    // own (see the module's documentation): ADD_N there, ADD elsewhere.
    let init = || {
        cond(
            signed_().and(last_row().or(id("i").eq(id("W").sub(int(2))).and(id("j").gt(int(0))))),
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
                ("I0".into(), id("ra")),
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
                    id("rb").at(id("j")),
                ),
                Item::Instance(Instance {
                    module: "SB_CARRY".into(),
                    name: "u_carry".into(),
                    params: vec![],
                    ports: vec![
                        ("CO".into(), id("co")),
                        ("CI".into(), id("ci")),
                        ("I0".into(), id("t").at(id("j"))),
                        ("I1".into(), id("rb").at(id("j"))),
                    ],
                }),
            ],
            "g_top",
            vec![lut(id("s").at(id("W")), id("t_ext"), id("rb_ext"))],
        ),
    ];
    array_module(
        "systolic_mul_lut_ice40",
        "iCE40 logic cells (SB_LUT4 + SB_CARRY, W + 1 per row)",
        signed_().and(id("W").eq(int(2))),
        vec![
            comment(&format!(
                "LUT_INIT 16'd{add} = 16'h{add:04x}: I0 ? I1 ^ I2 ^ I3 : I1, with I0 = a[i], I1 = the"
            )),
            comment(&format!(
                "running sum, I2 = b, I3 = the carry; 16'd{add_n} = 16'h{add_n:04x}: its complement."
            )),
        ],
        vec![gen_for("j", int(0), id("W").add(int(1)), "g_bit", bit_cell)],
    )
}

/// `systolic_mul_lut_ecp5` (parameter defaults: W = 8, signed).
pub fn ecp5_module() -> Module {
    // Over {D, C, B, A}: ADD = C ? A ^ B : A, SUB = C ? ~(A ^ B) : A (both A at C = D = 0, the
    // CCU2C's generate).
    let add = lut_init(|a, b, c, _| if c == 1 { a ^ b } else { a });
    let sub = lut_init(|a, b, c, _| if c == 1 { 1 ^ a ^ b } else { a });
    let init = || cond(last_signed_row(), sized(16, sub), sized(16, add));
    let half = |k: i64| id("k").mul(int(2)).add(int(k));
    let cell = vec![
        wire("cin", None),
        Item::LintOff {
            warning: "UNUSED",
            reason: "The last cell's carry out.".into(),
            items: vec![wire("co", None)],
        },
        gen_if(
            id("k").eq(int(0)),
            "g_first",
            vec![assign(id("cin"), id("row_cin"))],
            "g_chain",
            vec![assign(
                id("cin"),
                scoped(&[("g_cell", id("k").sub(int(1)))], "co"),
            )],
        ),
        Item::Instance(Instance {
            module: "CCU2C".into(),
            name: "u_ccu".into(),
            params: vec![
                ("INIT0".into(), init()),
                ("INIT1".into(), init()),
                ("INJECT1_0".into(), string("NO")),
                ("INJECT1_1".into(), string("NO")),
            ],
            ports: vec![
                ("CIN".into(), id("cin")),
                ("A0".into(), id("ta").at(half(0))),
                ("B0".into(), id("tb").at(half(0))),
                ("C0".into(), id("ra")),
                ("D0".into(), sized(1, 0)),
                ("A1".into(), id("ta").at(half(1))),
                ("B1".into(), id("tb").at(half(1))),
                ("C1".into(), id("ra")),
                ("D1".into(), sized(1, 0)),
                ("S0".into(), id("sc").at(half(0))),
                ("S1".into(), id("sc").at(half(1))),
                ("COUT".into(), id("co")),
            ],
        }),
    ];
    let pair_w = || Some(id("NC").mul(int(2)));
    let cells = vec![
        comment("The row's operands in pairs of bits (NC cells; a spare top half adds 0 + 0)."),
        wire("ta", pair_w()),
        wire("tb", pair_w()),
        assign(
            id("ta").slice(id("W"), int(0)),
            concat(vec![id("t_ext"), id("t")]),
        ),
        assign(
            id("tb").slice(id("W"), int(0)),
            concat(vec![id("rb_ext"), id("rb")]),
        ),
        gen_if(
            id("NC").mul(int(2)).gt(id("W").add(int(1))),
            "g_spare",
            vec![
                assign(id("ta").at(id("W").add(int(1))), sized(1, 0)),
                assign(id("tb").at(id("W").add(int(1))), sized(1, 0)),
            ],
            "g_even",
            vec![],
        ),
        Item::LintOff {
            warning: "UNUSED",
            reason: "A spare top half's sum (W even).".into(),
            items: vec![wire("sc", pair_w())],
        },
        comment("The subtracting row (signed, the last) takes its +1 as the carry-in a[i]."),
        wire_init("row_cin", None, last_signed_row().bit_and(id("ra"))),
        gen_for("k", int(0), id("NC"), "g_cell", cell),
        assign(id("s"), id("sc").slice(id("W"), int(0))),
    ];
    array_module(
        "systolic_mul_lut_ecp5",
        "ECP5 CCU2C cells (two bits each, W/2 + 1 per row)",
        sized(1, 0),
        vec![
            comment(&format!(
                "CCU2C INIT 16'd{add} = 16'h{add:04x}: C ? A ^ B : A, with A = the running sum, B = b, C ="
            )),
            comment(&format!(
                "a[i] (the propagate; the sum is it ^ CIN); 16'd{sub} = 16'h{sub:04x}: C ? ~(A ^ B) : A."
            )),
            Item::Localparam("NC".into(), id("W").add(int(2)).div(int(2))),
        ],
        cells,
    )
}
