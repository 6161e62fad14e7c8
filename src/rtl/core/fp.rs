//! Floating-point arithmetic units of the bf16 / fp8 engine: `systolic_fp_mul` (input x input ->
//! fp32) and `systolic_fp32_add` (fp32 + fp32). Their numerics are `docs/numerics.md`; the golden
//! model's `golden::fp::{mul, add}` is the executable form and the tests compare bit for bit.
//!
//! Timing contract:
//! - `systolic_fp_mul`: `p` is the product of `a` and `b` rounded once to fp32, nearest-even
//!   (exact for the fp8 formats, whose products always fit: `RANGE = 0` then omits the overflow
//!   and underflow logic). NaN results are `0x7FC00000`. `PIPE = 0`: combinational (`clk`
//!   unused). `PIPE = 1`: one register after the significand product (decode, product, exponent
//!   sum | normalise, round, encode), so `p` follows `a`, `b` by one cycle; one pair per cycle.
//! - `systolic_fp32_add`: IEEE 754 binary32 addition, nearest-even, subnormals kept, canonical NaN.
//!   `PIPE = 0`: combinational (`clk` unused). `PIPE = 1`: one register after the significand
//!   addition, so `y` follows `a`, `b` by one cycle (no enable, no reset: a pure delay). Either
//!   way one new pair of operands per cycle.
//!
//! Datapath of the adder (the order `golden::fp::add` documents): order the operands by
//! magnitude; align the smaller with guard, round and sticky bits; add or subtract; [register];
//! normalise (right by one on a carry, left by the leading zeros but never below exponent field
//! 1); round to nearest-even; overflow to infinity.

use crate::format::FpFormat;
use crate::verilog::*;

/// The format parameters of [`mul_module`]: `(EXP_W, MAN_W, BIAS, FN, RANGE)`.
pub fn mul_params(f: FpFormat) -> [(&'static str, i64); 5] {
    [
        ("EXP_W", i64::from(f.exp_bits())),
        ("MAN_W", i64::from(f.man_bits())),
        ("BIAS", i64::from(f.bias())),
        ("FN", i64::from(!f.has_infinity())),
        ("RANGE", i64::from(f == FpFormat::Bf16)),
    ]
}

fn s(width: u32, value: u64) -> Expr {
    sized(width, value)
}

/// A pipeline boundary: for every `(name, width, source)` a wire `{out}{name}` that is the
/// source itself when parameter `param` is 0, or the source registered once (in `q_{name}`)
/// when it is 1. No reset, no enable: a pure delay.
fn stage_boundary(param: &str, out: &str, crossing: Vec<(&str, Option<Expr>, Expr)>) -> Vec<Item> {
    let mut items = vec![];
    let mut regs = vec![];
    let mut body = vec![];
    let mut wires = vec![];
    for (name, width, src) in crossing {
        let o = format!("{out}{name}");
        let q = format!("q_{name}");
        items.push(wire(&o, width.clone()));
        regs.push(reg(&q, width));
        regs.push(assign(id(&o), id(&q)));
        body.push(nb(id(&q), src.clone()));
        wires.push(assign(id(&o), src));
    }
    regs.push(always(body));
    items.push(gen_if(
        id(param).ne(int(0)),
        "g_pipe",
        regs,
        "g_comb",
        wires,
    ));
    items
}

/// `systolic_fp_mul`: the product of two inputs of one format, as fp32. Parameter defaults from
/// `f`.
pub fn mul_module(f: FpFormat) -> Module {
    let [e, m, b, fnz, range] = mul_params(f);
    let mut items = vec![
        Item::Localparam("SW".into(), id("MAN_W") + int(1)),
        Item::Localparam("PW".into(), int(2).mul(id("SW"))),
        Item::Localparam("LZ_N".into(), clog2(id("PW"))),
        Item::Blank,
    ];
    for op in ["a", "b"] {
        items.extend(mul_decode(op));
    }
    items.extend(mul_product());
    items.extend(mul_normalise());
    items.push(mul_range());
    items.extend(mul_result());
    let dw = || Some(int(1) + id("EXP_W") + id("MAN_W"));
    Module {
        name: "systolic_fp_mul".into(),
        doc: vec![
            "Product of two floating-point inputs (1-EXP_W-MAN_W) as fp32, rounded once,".into(),
            "nearest-even; canonical NaN 0x7FC00000. PIPE = 0: combinational; PIPE = 1: one".into(),
            "register after the significand product (latency 1). FN = 1: OCP E4M3 rules (no".into(),
            "infinities, NaN only S.1111.111). RANGE = 0: products always fit fp32 exactly.".into(),
        ],
        params: vec![
            param("EXP_W", e.1, "exponent bits of an input"),
            param("MAN_W", m.1, "fraction bits of an input"),
            param("BIAS", b.1, "exponent bias of an input"),
            param(
                "FN",
                fnz.1,
                "1: no infinities, NaN only S.1..1.1..1 (OCP E4M3)",
            ),
            param(
                "RANGE",
                range.1,
                "1: products can overflow or underflow fp32 (bf16)",
            ),
            param("PIPE", 0, "1: register after the significand product"),
        ],
        ports: vec![
            input("clk", None, "unused when PIPE == 0").waive("UNUSED"),
            input("a", dw(), "first factor"),
            input("b", dw(), "second factor"),
            output("p", Some(int(32)), "fp32 product"),
        ],
        items,
    }
}

/// Decode multiplier input `op` (`a_*` or `b_*`): sign, exponent field, fraction; the classes
/// (NaN, infinity, zero); the significand with its hidden bit; the exponent (1 for subnormals).
fn mul_decode(op: &str) -> Vec<Item> {
    let n = |x: &str| format!("{op}_{x}");
    vec![
        comment(&format!(
            "Decode `{op}`: sign, exponent field, fraction; classes; significand with the hidden bit; exponent (1 for subnormals)."
        )),
        wire_init(&n("s"), None, id(op).at(id("EXP_W") + id("MAN_W"))),
        wire_init(&n("e"), w("EXP_W"), id(op).part(id("MAN_W"), id("EXP_W"))),
        wire_init(&n("f"), w("MAN_W"), id(op).slice(id("MAN_W") - int(1), int(0))),
        wire_init(&n("emax"), None, red_and(id(&n("e")))),
        wire_init(&n("ez"), None, not(red_or(id(&n("e"))))),
        wire_init(&n("fz"), None, not(red_or(id(&n("f"))))),
        wire_init(
            &n("nan"),
            None,
            id(&n("emax")).and(cond(
                id("FN").ne(int(0)),
                red_and(id(&n("f"))),
                not(id(&n("fz"))),
            )),
        ),
        wire_init(
            &n("inf"),
            None,
            id("FN").eq(int(0)).and(id(&n("emax"))).and(id(&n("fz"))),
        ),
        wire_init(&n("zero"), None, id(&n("ez")).and(id(&n("fz")))),
        wire_init(&n("sig"), w("SW"), concat(vec![not(id(&n("ez"))), id(&n("f"))])),
        wire_init(
            &n("exp"),
            Some(int(32)),
            concat(vec![
                zeros(int(32) - id("EXP_W")),
                id(&n("e")).slice(id("EXP_W") - int(1), int(1)),
                id(&n("e")).at(int(0)).bit_or(id(&n("ez"))),
            ]),
        ),
    ]
}

/// Stage 1 of the multiplier: the classes, the sign, the exact product of the significands and
/// the exponent sum, registered (`m2_*`) when `PIPE` is 1.
fn mul_product() -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("Stage 1: classes, sign, the exact product of the significands, the exponent sum."),
    ];
    items.extend(stage_boundary(
        "PIPE",
        "m2_",
        vec![
            ("prod", w("PW"), id("a_sig").mul(id("b_sig"))),
            ("esum", Some(int(32)), id("a_exp") + id("b_exp")),
            ("sign", None, id("a_s").bit_xor(id("b_s"))),
            (
                "nan",
                None,
                id("a_nan")
                    .or(id("b_nan"))
                    .or(id("a_inf").and(id("b_zero")))
                    .or(id("b_inf").and(id("a_zero"))),
            ),
            ("inf", None, id("a_inf").or(id("b_inf"))),
            ("zero", None, id("a_zero").or(id("b_zero"))),
        ],
    ));
    items
}

/// Stage 2 of the multiplier: the product normalised (leading one at PW-1) in LZ_N shift
/// stages, its fp32 exponent and fraction, and `normal`, the in-range encoding.
fn mul_normalise() -> Vec<Item> {
    let n_prev = scoped(&[("g_norm", id("i") - int(1))], "n_out");
    vec![
        Item::Blank,
        comment("Stage 2: the product normalised (leading one at PW-1) in LZ_N shift stages."),
        wire("lz", w("LZ_N")),
        gen_for(
            "i",
            int(0),
            id("LZ_N"),
            "g_norm",
            vec![
                Item::Localparam("SH".into(), int(1).shl(id("LZ_N") - int(1) - id("i"))),
                wire("n_in", w("PW")),
                gen_if(
                    id("i").eq(int(0)),
                    "g_first",
                    vec![assign(id("n_in"), id("m2_prod"))],
                    "g_next",
                    vec![assign(id("n_in"), n_prev)],
                ),
                wire_init("hit", None, not(red_or(id("n_in").part(id("PW") - id("SH"), id("SH"))))),
                wire_init("n_out", w("PW"), cond(id("hit"), id("n_in").shl(id("SH")), id("n_in"))),
                assign(id("lz").at(id("LZ_N") - int(1) - id("i")), id("hit")),
            ],
        ),
        comment("fp32 biased exponent + 2*BIAS of the normalised product (never negative)."),
        wire_init(
            "be_plus",
            Some(int(32)),
            id("m2_esum") + int(128) - concat(vec![zeros(int(32) - id("LZ_N")), id("lz")]),
        ),
        Item::LintOff {
            warning: "UNUSED",
            reason: "Only the low 8 bits of an in-range exponent are encoded; the leading one of `norm` is the hidden bit.".into(),
            items: vec![
                wire_init("norm", w("PW"), scoped(&[("g_norm", id("LZ_N") - int(1))], "n_out")),
                wire_init("be", Some(int(32)), id("be_plus") - int(2).mul(id("BIAS"))),
                wire_init(
                    "frac",
                    Some(int(23)),
                    concat(vec![
                        id("norm").slice(id("PW") - int(2), int(0)),
                        zeros(int(24) - id("PW")),
                    ]),
                ),
            ],
        },
        wire_init("normal", Some(int(31)), concat(vec![id("be").slice(int(7), int(0)), id("frac")])),
        wire("mag", Some(int(31))),
    ]
}

/// `mag`: the product's magnitude; bf16 (`RANGE`) also overflows to infinity and underflows
/// into the subnormals, fp8 products always fit.
fn mul_range() -> Item {
    gen_if(
        id("RANGE").ne(int(0)),
        "g_range",
        vec![
            comment("bf16: the product may overflow to infinity or underflow into the subnormals."),
            wire_init(
                "ovf",
                None,
                id("be_plus").ge(int(255) + int(2).mul(id("BIAS"))),
            ),
            wire_init("unf", None, id("be_plus").le(int(2).mul(id("BIAS")))),
            wire_init(
                "sh_full",
                Some(int(32)),
                int(2).mul(id("BIAS")) + int(1) - id("be_plus"),
            ),
            comment("Right shift into the subnormals: 25 or more leaves only sticky bits."),
            wire_init(
                "sh",
                Some(int(5)),
                cond(
                    id("sh_full").gt(int(25)),
                    s(5, 25),
                    id("sh_full").slice(int(4), int(0)),
                ),
            ),
            Item::LintOff {
                warning: "UNUSED",
                reason: "The hidden bit always shifts out of the 23 fraction bits (shift >= 1)."
                    .into(),
                items: vec![wire_init(
                    "wide",
                    Some(int(49)),
                    concat(vec![s(1, 1), id("frac"), s(25, 0)]).shr(id("sh")),
                )],
            },
            wire_init(
                "rnd",
                None,
                id("wide").at(int(24)).bit_and(
                    red_or(id("wide").slice(int(23), int(0))).bit_or(id("wide").at(int(25))),
                ),
            ),
            wire_init(
                "sub",
                Some(int(31)),
                concat(vec![s(8, 0), id("wide").slice(int(47), int(25))])
                    + concat(vec![s(30, 0), id("rnd")]),
            ),
            assign(
                id("mag"),
                cond(
                    id("ovf"),
                    concat(vec![s(8, 0xFF), s(23, 0)]),
                    cond(id("unf"), id("sub"), id("normal")),
                ),
            ),
        ],
        "g_exact",
        vec![
            comment("fp8: every product is a normal fp32 (or zero), exactly."),
            assign(id("mag"), id("normal")),
        ],
    )
}

/// `p`: the specials (NaN, infinity, zero) or the signed magnitude.
fn mul_result() -> Vec<Item> {
    vec![
        Item::Blank,
        assign(
            id("p"),
            cond(
                id("m2_nan"),
                s(32, 0x7FC0_0000),
                cond(
                    id("m2_inf"),
                    concat(vec![id("m2_sign"), s(8, 0xFF), s(23, 0)]),
                    cond(
                        id("m2_zero"),
                        concat(vec![id("m2_sign"), s(31, 0)]),
                        concat(vec![id("m2_sign"), id("mag")]),
                    ),
                ),
            ),
        ),
    ]
}

/// `systolic_fp32_add`: fp32 addition, with an optional internal register (`PIPE`).
pub fn add_module(pipe: u32) -> Module {
    let mut items = vec![comment("---- Stage 1: order by magnitude, align, add ----")];
    for op in ["a", "b"] {
        items.extend(add_classify(op));
    }
    items.extend(add_unpack("a"));
    items.extend(add_unpack("b"));
    items.extend(add_align());
    // Stage boundary: the signals stage 2 needs, registered when PIPE = 1.
    items.extend(stage_boundary(
        "PIPE",
        "s2_",
        vec![
            ("sum", Some(int(28)), id("sum_d")),
            ("exp", Some(int(8)), id("hi_exp")),
            ("sign", None, id("hi_sign")),
            ("nan", None, id("nan_d")),
            ("inf", None, id("inf_d")),
            ("inf_sign", None, id("inf_sign_d")),
            ("zsign", None, id("zsign_d")),
        ],
    ));
    items.extend(add_normalise());
    items.extend(add_round());
    Module {
        name: "systolic_fp32_add".into(),
        doc: vec![
            "fp32 addition: IEEE 754 binary32, nearest-even, subnormals kept, canonical NaN".into(),
            "0x7FC00000. PIPE = 0: combinational; PIPE = 1: one register after the significand"
                .into(),
            "addition (latency 1 cycle, a new pair every cycle).".into(),
        ],
        params: vec![param(
            "PIPE",
            pipe.into(),
            "1: register between align/add and normalise/round",
        )],
        ports: vec![
            input("clk", None, "unused when PIPE == 0").waive("UNUSED"),
            input("a", Some(int(32)), "fp32"),
            input("b", Some(int(32)), "fp32"),
            output("y", Some(int(32)), "fp32 a + b"),
        ],
        items,
    }
}

/// The adder's classes of input `op`: maximal exponent, zero fraction, NaN, infinity.
fn add_classify(op: &str) -> Vec<Item> {
    let n = |x: &str| format!("{op}_{x}");
    vec![
        wire_init(&n("emax"), None, red_and(id(op).slice(int(30), int(23)))),
        wire_init(&n("fz"), None, not(red_or(id(op).slice(int(22), int(0))))),
        wire_init(&n("nan"), None, id(&n("emax")).and(not(id(&n("fz"))))),
        wire_init(&n("inf"), None, id(&n("emax")).and(id(&n("fz")))),
    ]
}

/// The adder's input `op` unpacked: significand with the hidden bit, exponent (1 for
/// subnormals).
fn add_unpack(op: &str) -> Vec<Item> {
    let n = |x: &str| format!("{op}_{x}");
    vec![
        wire_init(&n("ez"), None, not(red_or(id(op).slice(int(30), int(23))))),
        wire_init(
            &n("sig"),
            Some(int(24)),
            concat(vec![not(id(&n("ez"))), id(op).slice(int(22), int(0))]),
        ),
        wire_init(
            &n("exp"),
            Some(int(8)),
            concat(vec![
                id(op).slice(int(30), int(24)),
                id(op).at(int(23)).bit_or(id(&n("ez"))),
            ]),
        ),
    ]
}

/// Stage 1 of the adder: the operands ordered by magnitude, the smaller aligned with guard,
/// round and sticky bits, the sum or difference (`sum_d`), and the special results' flags.
fn add_align() -> Vec<Item> {
    vec![
        comment("The magnitude order and both exponent differences in parallel; then select."),
        wire_init(
            "swap",
            None,
            id("b")
                .slice(int(30), int(0))
                .gt(id("a").slice(int(30), int(0))),
        ),
        wire_init("d_ab", Some(int(8)), id("a_exp") - id("b_exp")),
        wire_init("d_ba", Some(int(8)), id("b_exp") - id("a_exp")),
        wire_init("d", Some(int(8)), cond(id("swap"), id("d_ba"), id("d_ab"))),
        wire_init(
            "hi_sign",
            None,
            cond(id("swap"), id("b").at(int(31)), id("a").at(int(31))),
        ),
        wire_init(
            "hi_exp",
            Some(int(8)),
            cond(id("swap"), id("b_exp"), id("a_exp")),
        ),
        wire_init(
            "hi_sig",
            Some(int(24)),
            cond(id("swap"), id("b_sig"), id("a_sig")),
        ),
        wire_init(
            "lo_sig",
            Some(int(24)),
            cond(id("swap"), id("a_sig"), id("b_sig")),
        ),
        wire_init(
            "dc",
            Some(int(5)),
            cond(
                red_or(id("d").slice(int(7), int(5))),
                s(5, 31),
                id("d").slice(int(4), int(0)),
            ),
        ),
        wire_init(
            "wide",
            Some(int(54)),
            concat(vec![id("lo_sig"), s(30, 0)]).shr(id("dc")),
        ),
        comment("Aligned significands with guard, round and sticky bits (27 bits)."),
        wire_init(
            "lo_al",
            Some(int(27)),
            concat(vec![
                id("wide").slice(int(53), int(28)),
                id("wide")
                    .at(int(27))
                    .bit_or(red_or(id("wide").slice(int(26), int(0)))),
            ]),
        ),
        wire_init("hi_al", Some(int(27)), concat(vec![id("hi_sig"), s(3, 0)])),
        wire_init(
            "sum_d",
            Some(int(28)),
            cond(
                id("a").at(int(31)).bit_xor(id("b").at(int(31))),
                concat(vec![s(1, 0), id("hi_al")]) - concat(vec![s(1, 0), id("lo_al")]),
                concat(vec![s(1, 0), id("hi_al")]) + concat(vec![s(1, 0), id("lo_al")]),
            ),
        ),
        wire_init(
            "nan_d",
            None,
            id("a_nan").or(id("b_nan")).or(id("a_inf")
                .and(id("b_inf"))
                .and(id("a").at(int(31)).ne(id("b").at(int(31))))),
        ),
        wire_init("inf_d", None, id("a_inf").or(id("b_inf"))),
        wire_init(
            "inf_sign_d",
            None,
            cond(id("a_inf"), id("a").at(int(31)), id("b").at(int(31))),
        ),
        wire_init(
            "zsign_d",
            None,
            id("a").at(int(31)).bit_and(id("b").at(int(31))),
        ),
        Item::Blank,
    ]
}

/// Stage 2 of the adder: a carry shifts right by one; then the leading zeros of `n0` in five
/// shift stages (16, 8, 4, 2, 1), without arithmetic on the path, and in parallel the shift the
/// exponent allows (`e0 - 1`, exponent field never below 1): `n5`, `e5`.
fn add_normalise() -> Vec<Item> {
    let mut items = vec![
        Item::Blank,
        comment("---- Stage 2: normalise, round ----"),
        wire_init("carry", None, id("s2_sum").at(int(27))),
        wire_init(
            "n0",
            Some(int(27)),
            cond(
                id("carry"),
                concat(vec![
                    id("s2_sum").slice(int(27), int(2)),
                    id("s2_sum").at(int(1)).bit_or(id("s2_sum").at(int(0))),
                ]),
                id("s2_sum").slice(int(26), int(0)),
            ),
        ),
        wire_init(
            "e0",
            Some(int(9)),
            concat(vec![s(1, 0), id("s2_exp")]) + concat(vec![s(8, 0), id("carry")]),
        ),
    ];
    // Leading zeros of n0 in five shift stages (16, 8, 4, 2, 1), without arithmetic on the path;
    // in parallel the shift the exponent allows (e0 - 1, exponent field never below 1).
    let mut prev = "n0".to_string();
    let mut lz_bits = vec![];
    for (k, sh) in [16u32, 8, 4, 2, 1].into_iter().enumerate() {
        let (n, hit) = (format!("c{}", k + 1), format!("hit{}", k + 1));
        items.extend([
            wire_init(
                &hit,
                None,
                not(red_or(id(&prev).slice(int(26), int(27 - i64::from(sh))))),
            ),
            wire_init(
                &n,
                Some(int(27)),
                cond(id(&hit), id(&prev).shl(int(sh.into())), id(&prev)),
            ),
        ]);
        lz_bits.push(id(&hit));
        prev = n;
    }
    items.extend([
        wire_init("lz", Some(int(5)), concat(lz_bits)),
        wire_init("lim", Some(int(9)), id("e0") - s(9, 1)),
        comment("full: the exponent allows the whole normalising shift; else shift by lim into the subnormals."),
        wire_init("full", None, concat(vec![s(4, 0), id("lz")]).le(id("lim"))),
        wire_init(
            "n5",
            Some(int(27)),
            cond(
                id("full"),
                id(&prev),
                id("n0").shl(id("lim").slice(int(4), int(0))),
            ),
        ),
        wire_init(
            "e5",
            Some(int(9)),
            cond(
                id("full"),
                id("e0") - concat(vec![s(4, 0), id("lz")]),
                s(9, 1),
            ),
        ),
    ]);
    items
}

/// The adder's rounding to nearest-even and the result `y` (specials, overflow to infinity).
fn add_round() -> Vec<Item> {
    vec![
        comment("Exponent field 0 when the hidden bit is still clear (a subnormal result)."),
        wire_init(
            "efield",
            Some(int(8)),
            cond(
                id("n5").at(int(26)),
                id("e5").slice(int(7), int(0)),
                s(8, 0),
            ),
        ),
        wire_init(
            "rnd",
            None,
            id("n5").at(int(2)).bit_and(
                id("n5")
                    .at(int(1))
                    .bit_or(id("n5").at(int(0)))
                    .bit_or(id("n5").at(int(3))),
            ),
        ),
        comment("A rounding carry moves into the exponent field (up to infinity)."),
        wire_init(
            "mag",
            Some(int(31)),
            concat(vec![id("efield"), id("n5").slice(int(25), int(3))])
                + concat(vec![s(30, 0), id("rnd")]),
        ),
        assign(
            id("y"),
            cond(
                id("s2_nan"),
                s(32, 0x7FC0_0000),
                cond(
                    id("s2_inf"),
                    concat(vec![id("s2_inf_sign"), s(8, 0xFF), s(23, 0)]),
                    cond(
                        id("e5").ge(s(9, 255)),
                        concat(vec![id("s2_sign"), s(8, 0xFF), s(23, 0)]),
                        cond(
                            id("s2_sum").eq(s(28, 0)),
                            concat(vec![id("s2_zsign"), s(31, 0)]),
                            concat(vec![id("s2_sign"), id("mag")]),
                        ),
                    ),
                ),
            ),
        ),
    ]
}
