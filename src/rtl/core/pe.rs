//! `systolic_pe`: one weight-stationary processing element.
//!
//! Timing contract (everything registered; `MUL_LAT` in 0..=4, floating point 0..=2; `ADD_LAT`
//! in 1..=2, integer PEs have `ADD_LAT` = 1):
//! - `psum_out = psum_in + x * w`, where `w` is the active weight, or the shadow weight in the
//!   cycle `swap_in` is high (the swap takes effect for the beat that carries it). The product of
//!   a beat entering in cycle t is formed from `x_in` and `w` in cycle t and, after `MUL_LAT`
//!   registers, meets `psum_in` in cycle t + MUL_LAT; their sum is on `psum_out` `ADD_LAT` cycles
//!   later. So partial sums move down one row per `ADD_LAT` cycles, the moving data must be
//!   skewed by `ADD_LAT` cycles per row (the top level does it), and `MUL_LAT` adds to the
//!   latency only, not to the skew.
//! - Integer formats (`ADD_LAT` = 1): `MUL_LAT` = 1 registers the product, 2 also the operands
//!   (the weight in `w_active`, which after the swap's edge holds the weight the swap beat
//!   used, the element in `x_out`, which holds it anyway), so the multiplier has a cycle of its
//!   own, without the swap's weight select in front of it. Generated with
//!   `primitives = "ecp5"`, those registers are the MULT18X18D's own (`systolic_mul_ecp5`:
//!   operands into its input registers, product out of its output register; with `MUL_LAT` = 2
//!   the block's weight register loads `w_shadow` when `swap_in` and holds otherwise, so no
//!   logic sits between a fabric register and the block); same timing. Generated with
//!   `primitives = "ice40"`, the multiplier is half of an SB_MAC16 that the column shares between
//!   two PEs (`systolic_mul2_ice40`): the PE sends this cycle's operands out (`dsp_x` = `x_in`,
//!   `dsp_w` = the weight it uses) and takes the product back (`dsp_p`) after the block's
//!   registers (1: product, 2: inputs and product); same timing. `MUL_LAT` = 3 also
//!   splits the multiplier: the element times the weight's low and high halves, each product
//!   registered (`pp_lo_q`, `pp_hi_q`), then their sum into the product register; with
//!   `primitives = "ecp5"` or `"ice40"` it instead registers the DSP block's product once more
//!   in the fabric, beside the adder (`prod_f`). `MUL_LAT` = 4 (LUT multipliers only) forms
//!   each half from two registered quarter products (the element times a quarter of the
//!   weight), so no cycle holds more than one adder of the multiplier. `USE_DSP` = 0 (a column
//!   past `dsp_cols`, either primitives): the RTL's own array multiplier on the family's carry
//!   chains (`systolic_mul_lut_ice40` or `systolic_mul_lut_ecp5`, see `carry_mul`) with as
//!   many registers as the DSP block's: operands from MUL_LAT 2, the product in `prod_q`, and
//!   at MUL_LAT 3 a register inside the multiplier after its row DATA_W/2 (its `SPLIT`, which
//!   halves the chain of rows a cycle holds) instead of `prod_f`; same timing. Exact products
//!   (`2*DATA_W` bits, signed or unsigned by `SIGNED`),
//!   extended to `PS_W` and added modulo `2^PS_W`. `PS_W` (derived by the generator) holds the
//!   exact sum of `ROWS` products, so a column sum is exact and the top level extends it to the
//!   accumulator width `ACC_W`; floating-point partial sums are fp32 (`PS_W` = 32).
//! - Floating-point formats: `x_in` carries an active bit above the element (`X_W = DATA_W + 1`);
//!   the product is `systolic_fp_mul`'s fp32 when active and an exact `+0` when not (a masked row
//!   adds nothing, whatever its weight); the sum is `systolic_fp32_add` (`PIPE = ADD_LAT - 1`).
//!   `MUL_LAT` = 2 also pipelines the multiplier inside (its `PIPE = 1`), the active bit
//!   alongside.
//! - `x_out`, `swap_out` repeat `x_in`, `swap_in` one cycle later (moving data flows right).
//! - Two weight registers: `w_active` (used) and `w_shadow` (being loaded). `swap_in` copies
//!   shadow to active at the clock edge. The column's load bus (`ld_valid`, `ld_row`,
//!   `ld_data`) writes `w_shadow` at the edge of a cycle in which it carries this PE's row.
//! - Control output `swap_out` is cleared by the synchronous reset; data registers have no
//!   reset (a bubble carries x = 0, inactive, and the top level discards results it did not
//!   ask for). With `keep_tokens` its register has a `keep` attribute, so synthesis keeps one
//!   per PE instead of merging the equal tokens of an anti-diagonal (same timing).
//! - `MUL_LAT` is the configuration's (from `pe_latency`), chosen by the generator: the PE holds
//!   only the registers and multiplier of its own `MUL_LAT` and has no such parameter (the
//!   levels above pass none down); `SIGNED`, the widths and `USE_DSP` stay parameters.

use crate::config::{Config, Primitives};
use crate::verilog::*;

/// The PE-level parameters every level passes down (besides ROW, ROWS and COLS): name, default
/// for `cfg`, comment.
pub fn params(cfg: &Config) -> Vec<(&'static str, i64, &'static str)> {
    let d = &cfg.derived;
    let mut p = vec![
        ("DATA_W", i64::from(d.data_w), "bits of one input element"),
        (
            "X_W",
            i64::from(d.data_w + u32::from(cfg.format.is_float())),
            "bits of a moving lane: the element, plus an active bit for floating point",
        ),
        (
            "PS_W",
            i64::from(d.ps_w),
            "bits of a partial sum: exact for ROWS products (fp32 for floating point)",
        ),
        ("ROW_W", i64::from(d.row_w), "bits of a row index"),
        (
            "MUL_LAT",
            i64::from(d.mul_lat),
            "registers in and after the multiplier (integers 0..4, floating point 0..2)",
        ),
    ];
    if cfg.format.is_float() {
        p.push((
            "ADD_LAT",
            i64::from(d.add_lat),
            "cycles from psum_in to psum_out (1 or 2)",
        ));
    } else {
        p.push((
            "SIGNED",
            i64::from(cfg.format.is_signed()),
            "1: two's-complement inputs, 0: unsigned",
        ));
    }
    p
}

/// The [`params`] that the array's levels (array, column, PE) declare and pass down: all but
/// `MUL_LAT`, for which the generator builds the PE (its registers are chosen in Rust, so the
/// PE holds only those of its configuration); the top level keeps it (see `top`).
fn passed(cfg: &Config) -> impl Iterator<Item = (&'static str, i64, &'static str)> {
    params(cfg).into_iter().filter(|(n, _, _)| *n != "MUL_LAT")
}

/// [`passed`] parameters as declarations.
pub fn param_decls(cfg: &Config) -> Vec<Param> {
    passed(cfg).map(|(n, v, c)| param(n, v, c)).collect()
}

/// [`passed`] parameters as pass-through overrides (`.NAME(NAME)`).
pub fn param_overrides(cfg: &Config) -> Vec<(String, Expr)> {
    passed(cfg)
        .map(|(n, _, _)| (n.to_string(), id(n)))
        .collect()
}

/// The PE module; parameter defaults from `cfg`.
pub fn module(cfg: &Config) -> Module {
    let mul_lat = cfg.derived.mul_lat;
    let mut params = param_decls(cfg);
    params.insert(
        4,
        param("ROW", 0, "this PE's row: the load bus row it captures"),
    );
    let dsp = match cfg.primitives {
        Primitives::Ecp5 => Some(int_datapath_ecp5(mul_lat)),
        Primitives::Ice40 => Some(int_datapath_ice40(mul_lat)),
        Primitives::Generic => None,
    };
    let (doc, datapath) = match dsp {
        _ if cfg.format.is_float() => float_datapath(mul_lat),
        None => int_datapath(mul_lat),
        // The DSP block's multiplier, or (USE_DSP 0: a column past dsp_cols) the LUT one.
        Some((mut doc, dsp_items)) => {
            params.push(param(
                "USE_DSP",
                1,
                "1: the multiplier on the DSP block, 0: in LUTs (same timing)",
            ));
            let (note, multiplier) = match cfg.primitives {
                Primitives::Ice40 => (
                    "  (USE_DSP 0: an array multiplier on iCE40 carry chains instead, same MUL_LAT registers.)",
                    "systolic_mul_lut_ice40",
                ),
                _ => (
                    "  (USE_DSP 0: an array multiplier on ECP5 carry chains instead, same MUL_LAT registers.)",
                    "systolic_mul_lut_ecp5",
                ),
            };
            doc.push(note);
            let mut lut_items = int_datapath_carry(multiplier, mul_lat);
            if cfg.primitives == Primitives::Ice40 {
                lut_items.extend([
                    assign(id("dsp_x"), zeros(id("DATA_W"))),
                    assign(id("dsp_w"), zeros(id("DATA_W"))),
                ]);
            }
            (
                doc,
                vec![gen_if(
                    id("USE_DSP").ne(int(0)),
                    "g_dsp",
                    dsp_items,
                    "g_lut",
                    lut_items,
                )],
            )
        }
    };
    // ld_row zero-extended to 32 bits to compare with the integer parameter ROW.
    let mine =
        id("ld_valid").and(concat(vec![zeros(int(32) - id("ROW_W")), id("ld_row")]).eq(id("ROW")));
    let mut items = vec![
        reg("w_active", w("DATA_W")),
        reg("w_shadow", w("DATA_W")),
        wire_init(
            "w_use",
            w("DATA_W"),
            cond(id("swap_in"), id("w_shadow"), id("w_active")),
        ),
    ];
    items.extend(datapath);
    items.extend([
        Item::Blank,
        always(vec![
            nb(id("x_out"), id("x_in")),
            nb(id("w_active"), id("w_use")),
            if_(mine, vec![nb(id("w_shadow"), id("ld_data"))]),
        ]),
    ]);
    let swap_reg = always(vec![if_else(
        id("rst"),
        vec![nb(id("swap_out"), sized(1, 0))],
        vec![nb(id("swap_out"), id("swap_in"))],
    )]);
    items.push(if cfg.keep_tokens {
        // keep_tokens: the PEs of an anti-diagonal hold equal tokens; synthesis would merge
        // their registers into one driving them all, across the array.
        attributed(&[("keep", "1")], swap_reg)
    } else {
        swap_reg
    });
    let mut doc: Vec<String> = doc.into_iter().map(String::from).collect();
    doc.extend([
        format!("  Generated for MUL_LAT = {mul_lat} (the configuration's; not a parameter)."),
        "  x_out, swap_out <= x_in, swap_in   (moving data flows right)".into(),
        "  w_active <= w_shadow when swap_in; w_shadow <= ld_data when the load bus carries row ROW."
            .into(),
    ]);
    Module {
        name: "systolic_pe".into(),
        doc,
        params,
        ports: vec![
            input("clk", None, ""),
            input("rst", None, "synchronous, active high"),
            input("x_in", w("X_W"), "moving element from the left"),
            input("swap_in", None, "this beat uses the new stationary"),
            input("psum_in", w("PS_W"), "partial sum from above"),
            input("ld_valid", None, "the column's load bus"),
            input(
                "ld_row",
                w("ROW_W"),
                "row of the stationary element on the bus",
            ),
            input("ld_data", w("DATA_W"), "stationary element"),
            output_reg("x_out", w("X_W"), "to the right"),
            output_reg("swap_out", None, "to the right"),
            output_reg("psum_out", w("PS_W"), "down"),
        ]
        .into_iter()
        .chain(dsp_ports(cfg))
        .collect(),
        items,
    }
}

/// The ports of a PE whose multiplier is outside it (`primitives = "ice40"`: half of the
/// column's SB_MAC16 pair block); none otherwise.
pub fn dsp_ports(cfg: &Config) -> Vec<Port> {
    if cfg.primitives != Primitives::Ice40 {
        return vec![];
    }
    vec![
        output(
            "dsp_x",
            w("DATA_W"),
            "multiplier operand: this cycle's element",
        ),
        output(
            "dsp_w",
            w("DATA_W"),
            "multiplier operand: this cycle's weight",
        ),
        input(
            "dsp_p",
            Some(id("DATA_W").mul(int(2))),
            "their exact product, MUL_LAT cycles later (unused when USE_DSP is 0)",
        )
        .waive("UNUSED"),
    ]
}

/// `prod_use` = `src`, registered when MUL_LAT > 0.
fn product_register(mul_lat: u32, src: &str, width: Option<Expr>) -> Vec<Item> {
    if mul_lat == 0 {
        return vec![assign(id("prod_use"), id(src))];
    }
    vec![
        reg("prod_q", width),
        always(vec![nb(id("prod_q"), id(src))]),
        assign(id("prod_use"), id("prod_q")),
    ]
}

fn int_datapath(mul_lat: u32) -> (Vec<&'static str>, Vec<Item>) {
    let aw = || w("PS_W");
    let prod_w = id("DATA_W").mul(int(2));
    let doc = vec![
        "Weight-stationary integer PE; all outputs registered. The product, after MUL_LAT",
        "registers (1: product, 2: operands and product), meets psum_in:",
        "  psum_out <= psum_in + product   (mod 2^PS_W), where",
        "  product = x_in * (swap_in ? w_shadow : w_active), exact, extended to PS_W;",
    ];
    let items = vec![
        wire("prod", Some(prod_w.clone())),
        wire("prod_ext", aw()),
        Item::Blank,
    ];
    let mut items = [items, operands(mul_lat)].concat();
    items.push(comment(
        "Exact product of two DATA_W-bit inputs, then sign- or zero-extended to PS_W.",
    ));
    if mul_lat > 2 {
        items.extend(split_multiplier(mul_lat));
    } else {
        items.push(gen_if(
            id("SIGNED").ne(int(0)),
            "g_signed",
            vec![assign(
                id("prod"),
                signed(id("mul_x")).mul(signed(id("mul_w"))),
            )],
            "g_unsigned",
            vec![assign(id("prod"), id("mul_x").mul(id("mul_w")))],
        ));
    }
    items.extend([extend_product(), wire("prod_use", aw())]);
    items.extend(product_register(mul_lat, "prod_ext", aw()));
    items.extend([
        Item::Blank,
        always(vec![nb(id("psum_out"), id("psum_in").add(id("prod_use")))]),
    ]);
    (doc, items)
}

/// `mul_x`, `mul_w`: the multiplier's operands, this cycle's (`x_in`, `w_use`) or, from
/// MUL_LAT 2, registered (`x_out`, `w_active`, which hold them anyway).
fn operands(mul_lat: u32) -> Vec<Item> {
    let mut items = vec![wire("mul_x", w("DATA_W")), wire("mul_w", w("DATA_W"))];
    if mul_lat > 1 {
        items.extend([
            comment("The multiplier's operands, registered: w_active is w_use registered, so the"),
            comment("weight register is the operand register."),
            assign(id("mul_x"), id("x_out")),
            assign(id("mul_w"), id("w_active")),
        ]);
    } else {
        items.extend([
            comment("The multiplier's operands: this cycle's."),
            assign(id("mul_x"), id("x_in")),
            assign(id("mul_w"), id("w_use")),
        ]);
    }
    items
}

/// The LUT multiplier of a column past `dsp_cols` (USE_DSP 0) with the FPGA primitives: the
/// family's carry-chain multiplier (`systolic_mul_lut_ice40` or `_ecp5`) on the operands
/// (registered from MUL_LAT 2), its product registered (`prod_q`), added to `psum_in`. MUL_LAT
/// 3 registers inside the multiplier instead of beside the adder (the DSP block's third
/// register): after its row DATA_W/2, which halves the longest chain of rows. The same number
/// of registers as the DSP block's, so the same timing.
fn int_datapath_carry(multiplier: &str, mul_lat: u32) -> Vec<Item> {
    let prod_w = || Some(id("DATA_W").mul(int(2)));
    let mut items = operands(mul_lat);
    items.extend([
        comment("Exact product on the carry chains (MUL_LAT 3: registered inside after the row"),
        comment("DATA_W/2 too), registered."),
        wire("prod_c", prod_w()),
        Item::Instance(Instance {
            module: multiplier.into(),
            name: "u_mul".into(),
            params: vec![
                ("W".into(), id("DATA_W")),
                ("SIGNED".into(), id("SIGNED")),
                (
                    "SPLIT".into(),
                    if mul_lat > 2 {
                        id("DATA_W").div(int(2))
                    } else {
                        int(0)
                    },
                ),
            ],
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id("mul_x")),
                ("b".into(), id("mul_w")),
                ("p".into(), id("prod_c")),
            ],
        }),
        reg("prod_q", prod_w()),
        always(vec![nb(id("prod_q"), id("prod_c"))]),
        wire_init("prod", prod_w(), id("prod_q")),
        wire("prod_ext", w("PS_W")),
        extend_product(),
        Item::Blank,
        always(vec![nb(id("psum_out"), id("psum_in").add(id("prod_ext")))]),
    ]);
    items
}

/// MUL_LAT 3: the product of the registered operands in two halves, `mul_x` times the low
/// `H = DATA_W/2` bits of the weight (unsigned) and times its high bits (signed when SIGNED),
/// each exact and registered; `prod` = their sum, the high one shifted by H (exact in 2*DATA_W
/// bits). Each cycle then holds half a multiplier, or the adder of the halves. MUL_LAT 4 forms
/// each half from two registered quarter products (the element times a quarter of the weight,
/// `q_ll`, `q_lh`, `q_hl`, `q_hh`), so the cycle before the halves' registers holds one adder
/// instead of a half multiplier (`DATA_W` >= 4, which the configuration guarantees).
fn split_multiplier(mul_lat: u32) -> Vec<Item> {
    let (lo_w, hi_w) = (|| w("LO_W"), || w("HI_W"));
    let mul_w_lo = || id("mul_w").slice(id("H").sub(int(1)), int(0));
    let mul_w_hi = || id("mul_w").slice(id("DATA_W").sub(int(1)), id("H"));
    let halves = gen_if(
        id("SIGNED").ne(int(0)),
        "g_signed",
        vec![
            assign(
                id("pp_lo"),
                signed(id("mul_x")).mul(signed(concat(vec![sized(1, 0), mul_w_lo()]))),
            ),
            assign(id("pp_hi"), signed(id("mul_x")).mul(signed(mul_w_hi()))),
        ],
        "g_unsigned",
        vec![
            assign(id("pp_lo"), id("mul_x").mul(mul_w_lo())),
            assign(id("pp_hi"), id("mul_x").mul(mul_w_hi())),
        ],
    );
    let mut items = vec![
        Item::Localparam("H".into(), id("DATA_W").div(int(2))),
        Item::Localparam("LO_W".into(), id("DATA_W").add(id("H"))),
        Item::Localparam("HI_W".into(), id("DATA_W").mul(int(2)).sub(id("H"))),
        wire("pp_lo", lo_w()),
        wire("pp_hi", hi_w()),
        reg("pp_lo_q", lo_w()),
        reg("pp_hi_q", hi_w()),
    ];
    if mul_lat > 3 {
        items.extend(quarter_products());
    } else {
        items.push(halves);
    }
    items.extend([
        always(vec![
            nb(id("pp_lo_q"), id("pp_lo")),
            nb(id("pp_hi_q"), id("pp_hi")),
        ]),
        comment("prod = pp_lo (extended) + pp_hi * 2^H, modulo 2^(2*DATA_W): exact."),
        assign(
            id("prod"),
            concat(vec![
                repeat(
                    id("DATA_W").sub(id("H")),
                    id("SIGNED")
                        .ne(int(0))
                        .bit_and(id("pp_lo_q").at(id("LO_W").sub(int(1)))),
                ),
                id("pp_lo_q"),
            ])
            .add(concat(vec![id("pp_hi_q"), repeat(id("H"), sized(1, 0))])),
        ),
    ]);
    items
}

/// MUL_LAT 4: the halves `pp_lo`, `pp_hi` as sums of two registered quarter products. The low
/// half's weight bits `[H-1:0]` split at `QL = H/2`, the high half's `[DATA_W-1:H]` at
/// `H + QH`, `QH = (DATA_W-H)/2`; each quarter product (`DATA_W` + its weight bits, exact:
/// the top quarter signed when SIGNED, the others unsigned) is registered (`q_*_q`), then
/// `pp_lo = q_ll + q_lh * 2^QL` and `pp_hi = q_hl + q_hh * 2^QH`, exact in LO_W and HI_W bits.
fn quarter_products() -> Vec<Item> {
    // (name, weight msb, weight lsb, width localparam, signed top quarter)
    let quarters: [(&str, Expr, Expr, &str, bool); 4] = [
        ("q_ll", id("QL").sub(int(1)), int(0), "LL_W", false),
        ("q_lh", id("H").sub(int(1)), id("QL"), "LH_W", false),
        (
            "q_hl",
            id("H").add(id("QH")).sub(int(1)),
            id("H"),
            "HL_W",
            false,
        ),
        (
            "q_hh",
            id("DATA_W").sub(int(1)),
            id("H").add(id("QH")),
            "HH_W",
            true,
        ),
    ];
    let mut items = vec![
        Item::Localparam("QL".into(), id("H").div(int(2))),
        Item::Localparam("QH".into(), id("DATA_W").sub(id("H")).div(int(2))),
        Item::Localparam("LL_W".into(), id("DATA_W").add(id("QL"))),
        Item::Localparam("LH_W".into(), id("DATA_W").add(id("H")).sub(id("QL"))),
        Item::Localparam("HL_W".into(), id("DATA_W").add(id("QH"))),
        Item::Localparam(
            "HH_W".into(),
            id("DATA_W").mul(int(2)).sub(id("H")).sub(id("QH")),
        ),
    ];
    for (name, _, _, width, _) in &quarters {
        items.push(wire(name, w(width)));
        items.push(reg(&format!("{name}_q"), w(width)));
    }
    let part = |msb: &Expr, lsb: &Expr| id("mul_w").slice(msb.clone(), lsb.clone());
    items.push(gen_if(
        id("SIGNED").ne(int(0)),
        "g_signed",
        quarters
            .iter()
            .map(|(name, msb, lsb, _, top)| {
                let wpart = if *top {
                    signed(part(msb, lsb))
                } else {
                    signed(concat(vec![sized(1, 0), part(msb, lsb)]))
                };
                assign(id(name), signed(id("mul_x")).mul(wpart))
            })
            .collect(),
        "g_unsigned",
        quarters
            .iter()
            .map(|(name, msb, lsb, _, _)| assign(id(name), id("mul_x").mul(part(msb, lsb))))
            .collect(),
    ));
    items.push(always(
        quarters
            .iter()
            .map(|(name, ..)| nb(id(&format!("{name}_q")), id(name)))
            .collect(),
    ));
    // A half: the low quarter (extended) plus the high one shifted by `shift`.
    let half = |lo: &str, lo_width: &str, hi: &str, shift: &str, width: &str| {
        concat(vec![
            repeat(
                id(width).sub(id(lo_width)),
                id("SIGNED")
                    .ne(int(0))
                    .bit_and(id(lo).at(id(lo_width).sub(int(1)))),
            ),
            id(lo),
        ])
        .add(concat(vec![id(hi), repeat(id(shift), sized(1, 0))]))
    };
    items.push(assign(
        id("pp_lo"),
        half("q_ll_q", "LL_W", "q_lh_q", "QL", "LO_W"),
    ));
    items.push(assign(
        id("pp_hi"),
        half("q_hl_q", "HL_W", "q_hh_q", "QH", "HI_W"),
    ));
    items
}

/// `prod_ext`: `prod` (2*DATA_W bits) sign- or zero-extended to PS_W.
fn extend_product() -> Item {
    let prod_w = id("DATA_W").mul(int(2));
    gen_if(
        id("PS_W").eq(prod_w.clone()),
        "g_ext_none",
        vec![assign(id("prod_ext"), id("prod"))],
        "g_ext",
        vec![
            wire_init(
                "ext_bit",
                None,
                id("SIGNED")
                    .ne(int(0))
                    .bit_and(id("prod").at(prod_w.clone().sub(int(1)))),
            ),
            assign(
                id("prod_ext"),
                concat(vec![
                    repeat(id("PS_W").sub(prod_w), id("ext_bit")),
                    id("prod"),
                ]),
            ),
        ],
    )
}

/// The parameters of a DSP multiplier module (`systolic_mul_ecp5`, `systolic_mul2_ice40`) for
/// a PE's `DATA_W`, `SIGNED` and `mul_lat`: the block's input registers from MUL_LAT 2.
pub fn dsp_mul_params(mul_lat: u32) -> Vec<(String, Expr)> {
    vec![
        ("W".into(), id("DATA_W")),
        ("SIGNED".into(), id("SIGNED")),
        ("REG_IN".into(), int(i64::from(mul_lat > 1))),
    ]
}

/// The integer PE with its multiplier on an ECP5 MULT18X18D: the block's registers are the
/// MUL_LAT registers (1: output; 2: inputs and output).
fn int_datapath_ecp5(mul_lat: u32) -> (Vec<&'static str>, Vec<Item>) {
    let doc = vec![
        "Weight-stationary integer PE; all outputs registered. The product comes from an ECP5",
        "MULT18X18D whose own registers are the MUL_LAT registers (1: output, 2: inputs and",
        "output; 3: also a fabric register after the block, near the adder); it meets psum_in:",
        "  psum_out <= psum_in + product   (mod 2^PS_W), where",
        "  product = x_in * (swap_in ? w_shadow : w_active), exact, extended to PS_W;",
    ];
    let mut items = vec![
        wire("prod", Some(id("DATA_W").mul(int(2)))),
        Item::Blank,
        comment("Exact product, MUL_LAT cycles after its operands, from the DSP block. MUL_LAT 2: the"),
        comment("block's b register is the active weight, loaded from w_shadow by the swap (as w_active)."),
        Item::Instance(Instance {
            module: "systolic_mul_ecp5".into(),
            name: "u_mul".into(),
            params: dsp_mul_params(mul_lat),
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id("x_in")),
                (
                    "b".into(),
                    id(if mul_lat > 1 { "w_shadow" } else { "w_use" }),
                ),
                ("b_ce".into(), id("swap_in")),
                ("p".into(), id("prod")),
            ],
        }),
    ];
    items.extend(dsp_product_sum(mul_lat));
    (doc, items)
}

/// The integer PE whose multiplier is half of an iCE40 SB_MAC16 outside it (the column pairs
/// two PEs on one block, `systolic_mul2_ice40`): the operands leave on `dsp_x`, `dsp_w` and the
/// product returns on `dsp_p` after the block's registers (1: product; 2: inputs and product).
fn int_datapath_ice40(mul_lat: u32) -> (Vec<&'static str>, Vec<Item>) {
    let doc = vec![
        "Weight-stationary integer PE; all outputs registered. Its multiplier is half of an iCE40",
        "SB_MAC16 in the column (dsp_x, dsp_w out; dsp_p back after the block's registers, the",
        "MUL_LAT registers: 1 product, 2 inputs and product; 3: also a fabric register after the",
        "block, near the adder); the product meets psum_in:",
        "  psum_out <= psum_in + product   (mod 2^PS_W), where",
        "  product = x_in * (swap_in ? w_shadow : w_active), exact, extended to PS_W;",
    ];
    let mut items = vec![
        wire("prod", Some(id("DATA_W").mul(int(2)))),
        Item::Blank,
        comment("This cycle's operands to the DSP block; its exact product, MUL_LAT cycles later."),
        assign(id("dsp_x"), id("x_in")),
        assign(id("dsp_w"), id("w_use")),
        assign(id("prod"), id("dsp_p")),
    ];
    items.extend(dsp_product_sum(mul_lat));
    (doc, items)
}

/// After a DSP block's product `prod`: extended to PS_W, at MUL_LAT 3 registered once more in
/// the fabric (`prod_f`), added to `psum_in`.
fn dsp_product_sum(mul_lat: u32) -> Vec<Item> {
    let mut items = vec![
        wire("prod_ext", w("PS_W")),
        extend_product(),
        wire("prod_use", w("PS_W")),
    ];
    if mul_lat > 2 {
        items.extend([
            comment(
                "MUL_LAT 3: the product registered once more in the fabric, beside the adder (the DSP",
            ),
            comment("blocks sit in their own rows, far from the partial-sum chain)."),
            reg("prod_f", w("PS_W")),
            always(vec![nb(id("prod_f"), id("prod_ext"))]),
            assign(id("prod_use"), id("prod_f")),
        ]);
    } else {
        items.push(assign(id("prod_use"), id("prod_ext")));
    }
    items.extend([
        Item::Blank,
        always(vec![nb(id("psum_out"), id("psum_in").add(id("prod_use")))]),
    ]);
    items
}

fn float_datapath(mul_lat: u32) -> (Vec<&'static str>, Vec<Item>) {
    let doc = vec![
        "Weight-stationary floating-point PE; all outputs registered. x_in = {active, element}.",
        "  product = active ? fp_mul(swap_in ? w_shadow : w_active, element) : +0   (fp32)",
        "  after MUL_LAT registers meets psum_in; psum_out = fp32_add(psum_in, product) ADD_LAT later;",
    ];
    let active = || id("x_in").at(id("X_W") - int(1));
    let mut items = vec![
        Item::Blank,
        comment(
            "fp32 product of the weight and the moving element; +0 for an inactive (masked) row.",
        ),
        wire("prod", Some(int(32))),
        Item::Instance(Instance {
            module: "systolic_fp_mul".into(),
            name: "u_mul".into(),
            params: vec![("PIPE".into(), int(i64::from(mul_lat > 1)))],
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id("w_use")),
                ("b".into(), id("x_in").slice(id("DATA_W") - int(1), int(0))),
                ("p".into(), id("prod")),
            ],
        }),
        wire("act", None),
    ];
    if mul_lat > 1 {
        items.extend([
            comment("The active bit, delayed like the product inside the multiplier."),
            reg("act_q", None),
            always(vec![nb(id("act_q"), active())]),
            assign(id("act"), id("act_q")),
        ]);
    } else {
        items.extend([
            comment("The active bit, in step with the product."),
            assign(id("act"), active()),
        ]);
    }
    items.extend([
        wire_init(
            "prod_m",
            Some(int(32)),
            cond(id("act"), id("prod"), sized(32, 0)),
        ),
        wire("prod_use", Some(int(32))),
    ]);
    items.extend(product_register(mul_lat, "prod_m", Some(int(32))));
    items.extend([
        comment("The partial sum: fp32 add with ADD_LAT - 1 internal registers, then psum_out."),
        wire("sum", Some(int(32))),
        Item::Instance(Instance {
            module: "systolic_fp32_add".into(),
            name: "u_add".into(),
            params: vec![("PIPE".into(), id("ADD_LAT") - int(1))],
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id("psum_in")),
                ("b".into(), id("prod_use")),
                ("y".into(), id("sum")),
            ],
        }),
        Item::Blank,
        always(vec![nb(id("psum_out"), id("sum"))]),
    ]);
    (doc, items)
}
