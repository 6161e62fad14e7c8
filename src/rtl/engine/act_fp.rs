//! The float arithmetic of the write-back unit (`systolic_act` on bf16 / fp8 engines, whose
//! accumulators are fp32): the fp32 product `x * S` and the cast of an fp32 value to the SBUF's
//! format, both combinational and bit-exact with `golden::requant::write_back_fp32` (the sum with
//! the bias is the core's `systolic_fp32_add`).
//!
//! - [`fp32_mul`]: IEEE 754 binary32 multiplication, nearest-even, subnormal inputs and outputs,
//!   canonical NaN `0x7FC00000`, overflow to infinity. The exact 48-bit product of the
//!   significands is normalised by its leading zeros and rounded once, to 24 bits (normal) or to
//!   the subnormal quantum `2^-149`; a rounding carry runs into the exponent field (the smallest
//!   normal, or infinity).
//! - [`cast`]: `golden::requant::cast`: nearest-even with gradual underflow into the format's
//!   subnormals, signed zeros kept; a NaN gives the format's canonical NaN; overflow and
//!   infinities give bf16's infinity, and E4M3's and E5M2's largest finite value (saturation).

use crate::format::FpFormat;
use crate::verilog::*;

/// Leading zeros of the `w`-bit net `name` (the highest bit tested outermost; `w` for zero), as
/// a `out_w`-bit expression.
fn leading_zeros(name: &str, w: u32, out_w: u32) -> Expr {
    let mut lz = sized(out_w, u64::from(w));
    for b in 0..w {
        lz = cond(
            bits_of(id(name), b, 1),
            sized(out_w, u64::from(w - 1 - b)),
            lz,
        );
    }
    lz
}

/// `{p}y = a * b` (fp32 bits), with the helper nets `{p}*`.
pub fn fp32_mul(p: &str, a: Expr, b: Expr) -> Vec<Item> {
    let n = |s: &str| format!("{p}{s}");
    let i = |s: &str| id(&n(s));
    let mut items = vec![
        wire_init(&n("a"), bits(32), a),
        wire_init(&n("b"), bits(32), b),
    ];
    for op in ["a", "b"] {
        let e = bits_of(i(op), 23, 8);
        let f = bits_of(i(op), 0, 23);
        items.extend([
            wire_init(&n(&format!("{op}_e")), bits(8), e),
            wire_init(&n(&format!("{op}_fz")), None, f.clone().eq(sized(23, 0))),
            wire_init(
                &n(&format!("{op}_emax")),
                None,
                i(&format!("{op}_e")).eq(sized(8, 255)),
            ),
            wire_init(
                &n(&format!("{op}_e0")),
                None,
                i(&format!("{op}_e")).eq(sized(8, 0)),
            ),
            comment("The significand with its hidden bit, the exponent (1 for subnormals)."),
            wire_init(
                &n(&format!("{op}_sig")),
                bits(24),
                concat(vec![not(i(&format!("{op}_e0"))), f]),
            ),
            wire_init(
                &n(&format!("{op}_exp")),
                bits(10),
                cond(
                    i(&format!("{op}_e0")),
                    sized(10, 1),
                    zext(i(&format!("{op}_e")), 8, 10),
                ),
            ),
        ]);
    }
    let class = |op: &str, what: &str| i(&format!("{op}_{what}"));
    let nan_of = |op: &str| class(op, "emax").and(not(class(op, "fz")));
    let inf_of = |op: &str| class(op, "emax").and(class(op, "fz"));
    let zero_of = |op: &str| class(op, "e0").and(class(op, "fz"));
    items.extend([
        wire_init(
            &n("nan"),
            None,
            nan_of("a")
                .or(nan_of("b"))
                .or(inf_of("a").and(zero_of("b")))
                .or(inf_of("b").and(zero_of("a"))),
        ),
        wire_init(&n("inf"), None, inf_of("a").or(inf_of("b"))),
        wire_init(&n("zero"), None, zero_of("a").or(zero_of("b"))),
        wire_init(
            &n("sign"),
            None,
            bits_of(i("a"), 31, 1).bit_xor(bits_of(i("b"), 31, 1)),
        ),
        wire_init(
            &n("prod"),
            bits(48),
            zext(i("a_sig"), 24, 48).mul(zext(i("b_sig"), 24, 48)),
        ),
        wire_init(&n("lz"), bits(6), leading_zeros(&n("prod"), 48, 6)),
        wire_init(&n("norm"), bits(48), i("prod").shl(i("lz"))),
        comment(
            "beo = the biased exponent of the normalised product + 256: a_exp + b_exp - lz - 126.",
        ),
        wire_init(
            &n("beo"),
            bits(10),
            i("a_exp")
                .add(i("b_exp"))
                .add(sized(10, 130))
                .sub(zext(i("lz"), 6, 10)),
        ),
        wire_init(&n("normal"), None, i("beo").ge(sized(10, 257))),
        wire_init(&n("big"), None, i("beo").ge(sized(10, 511))),
        comment("Normal: the 23 bits below the leading one, guard, sticky."),
        wire_init(
            &n("nrnd"),
            None,
            bits_of(i("norm"), 23, 1).and(red_or(bits_of(i("norm"), 0, 23)).or(bits_of(
                i("norm"),
                24,
                1,
            ))),
        ),
        wire_init(
            &n("nword"),
            bits(31),
            concat(vec![bits_of(i("beo"), 0, 8), bits_of(i("norm"), 24, 23)]).add(zext(
                i("nrnd"),
                1,
                31,
            )),
        ),
        comment("Subnormal: the normalised product shifted right by 281 - beo (25..48; more: 0)."),
        wire_init(&n("sh"), bits(10), sized(10, 281).sub(i("beo"))),
        wire_init(&n("gone"), None, i("sh").gt(sized(10, 48))),
        Item::LintOff {
            warning: "UNUSED",
            reason: "With a shift of 25 or more the bits above 70 are zero.".into(),
            items: vec![wire_init(
                &n("wide"),
                bits(96),
                concat(vec![i("norm"), sized(48, 0)]).shr(bits_of(i("sh"), 0, 6)),
            )],
        },
        wire_init(
            &n("srnd"),
            None,
            bits_of(i("wide"), 47, 1).and(red_or(bits_of(i("wide"), 0, 47)).or(bits_of(
                i("wide"),
                48,
                1,
            ))),
        ),
        wire_init(
            &n("sword"),
            bits(31),
            cond(
                i("gone"),
                sized(31, 0),
                zext(bits_of(i("wide"), 48, 23), 23, 31).add(zext(i("srnd"), 1, 31)),
            ),
        ),
        assign(
            id(&n("y")),
            cond(
                i("nan"),
                sized(32, 0x7FC0_0000),
                concat(vec![
                    i("sign"),
                    cond(
                        i("inf").or(not(i("zero")).and(i("big"))),
                        sized(31, 0x7F80_0000),
                        cond(
                            i("zero"),
                            sized(31, 0),
                            cond(i("normal"), i("nword"), i("sword")),
                        ),
                    ),
                ]),
            ),
        ),
    ]);
    items.insert(0, wire(&n("y"), bits(32)));
    items
}

/// `{p}out = cast(f)` to `fmt` (its bit width), with the helper nets `{p}*`.
pub fn cast(p: &str, f: Expr, fmt: FpFormat) -> Vec<Item> {
    let n = |s: &str| format!("{p}{s}");
    let i = |s: &str| id(&n(s));
    let m = fmt.man_bits();
    let width = fmt.bits();
    let bias = u64::try_from(fmt.bias()).expect("a positive bias");
    let max = u64::from(fmt.max_finite_bits() & !fmt.sign_bit());
    let overflow = if fmt == FpFormat::Bf16 {
        u64::from(fmt.pos_inf_bits().expect("bf16 has infinities"))
    } else {
        max
    };
    let nan = u64::from(fmt.canonical_nan_bits());
    vec![
        wire_init(&n("f"), bits(32), f),
        wire_init(&n("e"), bits(8), bits_of(i("f"), 23, 8)),
        wire_init(&n("e0"), None, i("e").eq(sized(8, 0))),
        wire_init(
            &n("fz"),
            None,
            bits_of(i("f"), 0, 23).eq(sized(23, 0)),
        ),
        wire_init(&n("emax"), None, i("e").eq(sized(8, 255))),
        wire_init(
            &n("sig"),
            bits(24),
            concat(vec![not(i("e0")), bits_of(i("f"), 0, 23)]),
        ),
        comment(&format!(
            "teo = the target's biased exponent + 512 (e - 127 + {bias}); the effective one is at least 1."
        )),
        wire_init(
            &n("teo"),
            bits(11),
            zext(i("e"), 8, 11).add(sized(11, 512 - 127 + bias)),
        ),
        wire_init(&n("tnorm"), None, i("teo").ge(sized(11, 513))),
        wire_init(
            &n("te1"),
            bits(11),
            cond(i("tnorm"), i("teo").sub(sized(11, 513)), sized(11, 0)),
        ),
        comment(&format!(
            "The shift to the target's quantum: {} normal, else 151 - {bias} - {m} - max(e, 1), at most 25.",
            23 - m
        )),
        wire_init(
            &n("sfull"),
            bits(9),
            cond(
                i("tnorm"),
                sized(9, u64::from(23 - m)),
                sized(9, 151 - bias - u64::from(m)).sub(cond(
                    i("e0"),
                    sized(9, 1),
                    zext(i("e"), 8, 9),
                )),
            ),
        ),
        wire_init(
            &n("s"),
            bits(5),
            cond(
                i("sfull").gt(sized(9, 25)),
                sized(5, 25),
                bits_of(i("sfull"), 0, 5),
            ),
        ),
        Item::LintOff {
            warning: "UNUSED",
            reason: "The shift is at least 16: the top bits are zero.".into(),
            items: vec![wire_init(
                &n("x"),
                bits(48),
                concat(vec![i("sig"), sized(24, 0)]).shr(i("s")),
            )],
        },
        wire_init(
            &n("rnd"),
            None,
            bits_of(i("x"), 23, 1).and(
                red_or(bits_of(i("x"), 0, 23)).or(bits_of(i("x"), 24, 1)),
            ),
        ),
        comment("word = (te_eff - 1) << M + the rounded quotient (a carry runs into the exponent)."),
        wire_init(
            &n("word"),
            bits(20),
            zext(i("te1"), 11, 20)
                .shl(int(i64::from(m)))
                .add(zext(bits_of(i("x"), 24, m + 2), m + 2, 20))
                .add(zext(i("rnd"), 1, 20)),
        ),
        wire_init(
            &n("mag"),
            bits(width - 1),
            cond(
                i("emax").or(i("word").gt(sized(20, max))),
                sized(width - 1, overflow),
                bits_of(i("word"), 0, width - 1),
            ),
        ),
        wire_init(
            &n("out"),
            bits(width),
            cond(
                i("emax").and(not(i("fz"))),
                sized(width, nan),
                concat(vec![bits_of(i("f"), 31, 1), i("mag")]),
            ),
        ),
    ]
}
