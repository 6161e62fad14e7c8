//! `systolic_act`: the write-back unit of the memory path (`docs/memory-path.md`, ACTIVATE):
//! PSUM entries through the arithmetic of `golden::requant` into the SBUF, and the ACT
//! table (`2 * COLS` 32-bit words: scales, then biases) that DMA_LOADs of target TABLE write.
//!
//! Timing contract:
//! - `go` in cycle t (only while `busy` is low) takes `words` (the ACTIVATE's two words, already
//!   checked by the dispatcher); `busy` is high from t+1 until its last SBUF write, in whose
//!   cycle `done` is high.
//! - Pipelined, one PSUM entry per cycle: from `t+1` the unit issues a read of the core's
//!   pipelined PSUM port in every cycle (`ps_en`, entries `offset + n'` in order; no
//!   handshake: the engine top gives the write-back unit priority on the port), the data comes
//!   back `AR_LAT` cycles later on `ps_data` (low 32 bits of each column) into `xr`, then `S`
//!   register stages of arithmetic (integer requantisation `S` = 3: `a*`, the significands'
//!   product `q*_p`, `o*`; float `S` = 2: `pa*`, `o*`), then the SBUF write through port 2
//!   (`a_wen`: partitions below `m`, entry `entry + n'`). Valid bits (`vq`) follow each read
//!   down the pipeline; no stage ever stalls (port 2 takes a write in every cycle). Entry n'
//!   is read in cycle `t + 1 + n'` and written in `t + 1 + n' + AR_LAT + S + 1` (`xr`, then the
//!   `S` stages): `busy` lasts `n + AR_LAT + S + 1` cycles (integer `n + 6`, float `n + 5`,
//!   with the core's `AR_LAT` = 2).
//! - raw32: `4 / EB` writes per entry (entries `entry + n' * 4 / EB + i`, the accumulator's
//!   bytes from `xr`, held), so one read every `4 / EB` cycles: port 2 still takes a write in
//!   every cycle; entry n' is read in `t + 1 + n' * 4 / EB` and its writes are in the `4 / EB`
//!   cycles from `t + 2 + n' * 4 / EB + AR_LAT`.
//! - Integer requantisation (int8 / uint8 engines, int32 accumulators), per column: `acc = x + bias` (wrapping),
//!   `float32(acc)` rounded to nearest even, the exact product with the fp32 scale rounded to
//!   24 bits (nearest even) as an IEEE multiply does, then rounded half-to-even to an integer
//!   and clamped. Because the clamp bounds are integers of magnitude at most 383, the unit
//!   rounds before it clamps (the same result, rounding is monotonic and keeps integers),
//!   saturates magnitudes of 512 and more (infinities included), treats a NaN as below every
//!   bound, and treats products below 2^-126 (where an IEEE multiply would round to a
//!   subnormal) as zero: all of them round to 0.
//! - Float write-back (bf16 / fp8 engines, fp32 accumulators), per column: the fp32 product
//!   `x * S` (`act_fp::fp32_mul`, registered), plus the bias through the core's
//!   `systolic_fp32_add` when asked, relu (`f < 0 ? +0 : f`: NaN and -0 pass), and the cast to
//!   the SBUF's format (`act_fp::cast`, registered).
//! - Reset: `busy`, the issue and the valid bits; data registers are not reset.

use crate::config::{Config, Geometry};
use crate::format::{FpFormat, NumberFormat};
use crate::isa::{field_of, Opcode};
use crate::verilog::*;

use super::act_fp;

/// The field `name` of ACTIVATE in the 128-bit `words`.
fn field(name: &str) -> Expr {
    field_bits(name, 0, field_of(Opcode::Activate, name).width)
}

/// `width` bits of the field `name` from its bit `lsb`, sliced from `words` directly (Verilog
/// 2005 has no slice of a slice); zero-extended where `width` passes the field's end.
fn field_bits(name: &str, lsb: u32, width: u32) -> Expr {
    let f = field_of(Opcode::Activate, name);
    let have = width.min(f.width - lsb);
    zext(
        bits_of(id("words"), 64 * f.word + f.lsb + lsb, have),
        have,
        width,
    )
}

/// The sizes of the unit.
struct Sizes {
    g: Geometry,
    ar_lat: u32,
    tw_w: u32,
    /// SBUF entries per raw32 value (4 / EB) and their log2.
    per_raw: u32,
    signed: bool,
    /// The SBUF's float format (fp32 accumulators), or `None` for 8-bit integers.
    float: Option<FpFormat>,
}

impl Sizes {
    /// Register stages of arithmetic between `xr` and the SBUF write: integer requantisation
    /// 3 (`a*`, the product `q*_p`, `o*`), float 2 (`pa*`, `o*`).
    fn stages(&self) -> u32 {
        if self.float.is_some() {
            2
        } else {
            3
        }
    }
}

pub fn module(cfg: &Config, ar_lat: u32) -> Module {
    let g = Geometry::new(cfg);
    let float = cfg.format.float();
    assert!(
        float.is_some() || matches!(cfg.format, NumberFormat::Int { bits: 8, .. }),
        "systolic_act is built for 8-bit integer and float formats"
    );
    let s = Sizes {
        float,
        tw_w: crate::config::bits_for(u64::from(2 * cfg.cols - 1)),
        per_raw: 4 / g.eb,
        signed: cfg.format.is_signed(),
        ar_lat,
        g,
    };
    assert!(s.ar_lat >= 1 && s.per_raw <= 4);
    let mut items = control(&s);
    items.extend(table(&s));
    for c in 0..s.g.cols {
        if let Some(f) = s.float {
            items.extend(float_column(&s, c, f));
        } else {
            items.extend(to_float(&s, c));
            items.extend(requantise(c));
        }
    }
    items.extend(sbuf_write(&s));
    Module {
        name: "systolic_act".into(),
        doc: vec![
            "Write-back unit of the memory path (ACTIVATE): PSUM -> requantisation -> SBUF port 2,"
                .into(),
            "and the ACT table. See src/rtl/engine/act.rs.".into(),
        ],
        params: vec![],
        ports: ports(&s),
        items: hoist(items),
    }
}

/// The instruction registers, the issue of the PSUM reads (`ni` entries issued), the valid
/// bits of the pipeline (`vq`), the writes (`nw` entries written, `wi` the raw32 write of the
/// entry), the entry register `xr` and the clamp bounds.
fn control(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let lat = s.ar_lat;
    let vq_w = lat + 1 + s.stages();
    let mut items = if s.float.is_some() {
        vec![reg("i_relu", None)]
    } else {
        vec![
            reg("i_zp", bits(8)),
            reg("i_lo", bits(11)),
            reg("i_hi", bits(11)),
        ]
    };
    items.extend([
        Item::Blank,
        comment("---- Instruction, PSUM reads, the pipeline's valid bits, writes ----"),
        reg("run", None),
        reg("iss", None),
        reg("gap", bits(2)),
        reg("ni", bits(13)),
        reg("nw", bits(13)),
        reg("wi", bits(2)),
        comment(&format!(
            "vq[k]: a read issued k + 1 cycles ago: its data on ps_data (k = {}), in xr (k = {}), in the first stage (k = {}), in o* (k = {}).",
            lat - 1,
            lat,
            lat + 1,
            lat + s.stages()
        )),
        reg("vq", bits(vq_w)),
        reg("i_n", bits(13)),
        reg("i_m", bits(9)),
        reg("i_bank", bits(g.bank_w)),
        reg("i_offset", bits(g.paddr_w)),
        reg("i_entry", bits(g.sa_w)),
        reg("i_raw", None),
        reg("i_per_col", None),
        reg("i_bias", None),
    ]);
    items.extend(control_wires(s));
    items.extend([
        always(vec![latch_instruction(s), sequence(s)]),
        comment("The PSUM entry, AR_LAT cycles after its read (held for raw32's writes)."),
        reg("xr", bits(g.cols * 32)),
        always(vec![if_(id("ps_v"), vec![nb(id("xr"), id("ps_data"))])]),
    ]);
    items
}

/// `vq[k]`: the pipeline's valid bit of a read issued `k + 1` cycles ago.
fn vq(k: u32) -> Expr {
    bits_of(id("vq"), k, 1)
}

/// The handshake, the PSUM read port and the write timing (`wr_now`, `wr_last`, `done`).
fn control_wires(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let lat = s.ar_lat;
    let last_write = cond(
        id("i_raw"),
        id("wi").eq(sized(2, u64::from(s.per_raw - 1))),
        bit(true),
    );
    let mut items = vec![
        assign(id("ready"), not(id("run"))),
        assign(id("busy"), id("run")),
        comment("A read per cycle (raw32: one every 4 / EB cycles, as its writes take them)."),
        assign(id("ps_en"), id("iss").and(id("gap").eq(sized(2, 0)))),
        assign(id("ps_bank"), id("i_bank")),
        assign(
            id("ps_addr"),
            id("i_offset").add(bits_of(id("ni"), 0, g.paddr_w)),
        ),
        wire_init("ps_v", None, vq(lat - 1)),
        wire_init("x_v", None, vq(lat)),
        wire_init("v1", None, vq(lat + 1)),
        wire_init(
            "wr_now",
            None,
            id("run").and(cond(
                id("i_raw"),
                id("x_v").or(id("wi").ne(sized(2, 0))),
                vq(lat + s.stages()),
            )),
        ),
        wire_init("wr_last", None, last_write),
        wire_init("entry_end", None, id("wr_now").and(id("wr_last"))),
        assign(
            id("done"),
            id("entry_end").and(id("nw").eq(id("i_n").sub(sized(13, 1)))),
        ),
    ];
    if s.stages() > 2 {
        items.push(wire_init("v2", None, vq(lat + 2)));
    }
    items
}

/// The output range of an integer ACTIVATE as 11-bit values of the output type less the zero
/// point, `(lo - zp, hi - zp)`: the type's range, raised to the zero point by relu, narrowed
/// to the instruction's `lo`/`hi` by clamp.
fn output_bounds(s: &Sizes) -> (Expr, Expr) {
    // The 8-bit fields as 11-bit values of the output type.
    let val = |name: &str| {
        if s.signed {
            concat(vec![repeat(int(3), field_bits(name, 7, 1)), field(name)])
        } else {
            zext(field(name), 8, 11)
        }
    };
    let (qlo0, qhi0) = if s.signed {
        (0x800 - 128, 127)
    } else {
        (0, 255)
    };
    let flip = |e: Expr| e.bit_xor(sized(11, 0x400));
    let max11 = |a: Expr, b: Expr| cond(flip(a.clone()).gt(flip(b.clone())), a, b);
    let min11 = |a: Expr, b: Expr| cond(flip(a.clone()).lt(flip(b.clone())), a, b);
    let func = field("func");
    let zp = val("zp");
    let qlo = cond(
        func.clone().eq(sized(2, 1)),
        max11(sized(11, qlo0), zp.clone()),
        cond(
            func.clone().eq(sized(2, 2)),
            max11(sized(11, qlo0), val("lo")),
            sized(11, qlo0),
        ),
    );
    let qhi = cond(
        func.eq(sized(2, 2)),
        min11(sized(11, qhi0), val("hi")),
        sized(11, qhi0),
    );
    (qlo.sub(zp.clone()), qhi.sub(zp))
}

/// `go`: the instruction's fields into the `i_*` registers.
fn latch_instruction(s: &Sizes) -> Stmt {
    let g = &s.g;
    let mut body = vec![
        nb(id("i_n"), field("n")),
        nb(id("i_m"), field("m")),
        nb(id("i_bank"), field_bits("bank", 0, g.bank_w)),
        nb(id("i_offset"), field_bits("offset", 0, g.paddr_w)),
        nb(id("i_entry"), field_bits("entry", 0, g.sa_w)),
        nb(id("i_raw"), field("dtype").eq(sized(3, 4))),
        nb(id("i_per_col"), field("per_col")),
        nb(id("i_bias"), field("bias")),
    ];
    if s.float.is_some() {
        body.push(nb(id("i_relu"), field("func").eq(sized(2, 1))));
    } else {
        let (lo, hi) = output_bounds(s);
        body.extend([
            nb(id("i_zp"), field("zp")),
            nb(id("i_lo"), lo),
            nb(id("i_hi"), hi),
        ]);
    }
    if_(id("go"), body)
}

/// The run: reads issued one a cycle (raw32: a gap between them) until `n`, writes counted
/// until the last entry's last write (`done`).
fn sequence(s: &Sizes) -> Stmt {
    let vq_w = s.ar_lat + 1 + s.stages();
    let issue = if_else(
        id("ps_en"),
        vec![
            nb(id("ni"), inc("ni", 13)),
            if_(
                id("ni").eq(id("i_n").sub(sized(13, 1))),
                vec![nb(id("iss"), bit(false))],
            ),
            nb(
                id("gap"),
                cond(id("i_raw"), sized(2, u64::from(s.per_raw - 1)), sized(2, 0)),
            ),
        ],
        vec![if_(
            id("gap").ne(sized(2, 0)),
            vec![nb(id("gap"), id("gap").sub(sized(2, 1)))],
        )],
    );
    let write = if_(
        id("wr_now"),
        vec![if_else(
            id("wr_last"),
            vec![
                nb(id("wi"), sized(2, 0)),
                nb(id("nw"), inc("nw", 13)),
                if_(id("done"), vec![nb(id("run"), bit(false))]),
            ],
            vec![nb(id("wi"), inc("wi", 2))],
        )],
    );
    if_else(
        id("rst"),
        vec![
            nb(id("run"), bit(false)),
            nb(id("iss"), bit(false)),
            nb(id("vq"), sized(vq_w, 0)),
        ],
        vec![
            nb(
                id("vq"),
                concat(vec![bits_of(id("vq"), 0, vq_w - 1), id("ps_en")]),
            ),
            if_else(
                id("go"),
                vec![
                    nb(id("run"), bit(true)),
                    nb(id("iss"), bit(true)),
                    nb(id("gap"), sized(2, 0)),
                    nb(id("ni"), sized(13, 0)),
                    nb(id("nw"), sized(13, 0)),
                    nb(id("wi"), sized(2, 0)),
                ],
                vec![issue, write],
            ),
        ],
    )
}

/// The ACT table: `2 * COLS` registers written by the DMA.
fn table(s: &Sizes) -> Vec<Item> {
    let cols = s.g.cols;
    let mut items = vec![
        Item::Blank,
        comment("---- ACT table (DMA_LOAD target TABLE) ----"),
    ];
    let mut writes = vec![];
    for w in 0..2 * cols {
        let r = format!("tbl{w}");
        items.push(reg(&r, bits(32)));
        writes.push(if_(
            id("tbl_wen").and(id("tbl_waddr").eq(sized(s.tw_w, u64::from(w)))),
            vec![nb(id(&r), id("tbl_wdata"))],
        ));
    }
    items.push(always(writes));
    items
}

/// Column c's stage 1 (registered when `x_v`: `xr` holds a fresh entry): `acc = x + bias`, `float32(acc)` as
/// sign `a{c}_s`, 24-bit significand `a{c}_m` (rounded to nearest even), exponent `a{c}_e`
/// (the value is `m * 2^(e - 23)`) and zero flag `a{c}_z`.
fn to_float(s: &Sizes, c: u32) -> Vec<Item> {
    let n = |s: &str| format!("c{c}_{s}");
    let a = |s: &str| format!("a{c}_{s}");
    let x = bits_of(id("xr"), 32 * c, 32);
    // Leading zeros of the 32-bit magnitude (the highest set bit tested outermost; 31 for 0,
    // which is flagged apart).
    let mut lz = sized(6, 31);
    for b in 0..32 {
        lz = cond(
            bits_of(id(&n("mag")), b, 1),
            sized(6, u64::from(31 - b)),
            lz,
        );
    }
    vec![
        Item::Blank,
        comment(&format!(
            "---- Column {c}: acc = x + bias, float32(acc) ----"
        )),
        wire_init(
            &n("acc"),
            bits(32),
            x.add(cond(
                id("i_bias"),
                id(&format!("tbl{}", c + s.g.cols)),
                sized(32, 0),
            )),
        ),
        wire_init(&n("neg"), None, bits_of(id(&n("acc")), 31, 1)),
        wire_init(
            &n("mag"),
            bits(32),
            cond(
                id(&n("neg")),
                bit_not(id(&n("acc"))).add(sized(32, 1)),
                id(&n("acc")),
            ),
        ),
        wire_init(&n("lz"), bits(6), lz),
        wire_init(&n("nm"), bits(32), id(&n("mag")).shl(id(&n("lz")))),
        wire_init(
            &n("up"),
            None,
            bits_of(id(&n("nm")), 7, 1).and(red_or(bits_of(id(&n("nm")), 0, 7)).or(bits_of(
                id(&n("nm")),
                8,
                1,
            ))),
        ),
        wire_init(
            &n("m25"),
            bits(25),
            zext(bits_of(id(&n("nm")), 8, 24), 24, 25).add(zext(id(&n("up")), 1, 25)),
        ),
        reg(&a("s"), None),
        reg(&a("m"), bits(24)),
        reg(&a("e"), bits(6)),
        reg(&a("z"), None),
        always(vec![if_(
            id("x_v"),
            vec![
                nb(id(&a("s")), id(&n("neg"))),
                nb(
                    id(&a("m")),
                    cond(
                        bits_of(id(&n("m25")), 24, 1),
                        sized(24, 0x80_0000),
                        bits_of(id(&n("m25")), 0, 24),
                    ),
                ),
                nb(
                    id(&a("e")),
                    sized(6, 31)
                        .sub(id(&n("lz")))
                        .add(zext(bits_of(id(&n("m25")), 24, 1), 1, 6)),
                ),
                nb(id(&a("z")), id(&n("mag")).eq(sized(32, 0))),
            ],
        )]),
    ]
}

/// `q{c}_*` and `a{c}_*` names of column `c`.
fn qn(c: u32, s: &str) -> String {
    format!("q{c}_{s}")
}

fn an(c: u32, s: &str) -> Expr {
    id(&format!("a{c}_{s}"))
}

/// Column c's stage 2 (registered when `v1`: the entry's first stage is valid): the scale
/// decoded and the 48-bit product of the significands, `q{c}_p`; stage 3 (when `v2`): the
/// product rounded to 24 bits, rounded half to even to an integer `r` (saturated), clamped,
/// plus the zero point: the 8-bit result `o{c}`.
fn requantise(c: u32) -> Vec<Item> {
    let mut items = scale_fields(c);
    items.extend(product_stage(c));
    items.extend(scaled_mantissa(c));
    items.extend(rounded_integer(c));
    items.extend(clamped_output(c));
    items
}

/// Column `c`'s scale (per column or `tbl0`) decoded: exponent, NaN / infinity, the result's
/// zero, NaN and sign.
fn scale_fields(c: u32) -> Vec<Item> {
    let n = |s: &str| qn(c, s);
    let a = |s: &str| an(c, s);
    let scale = if c == 0 {
        id("tbl0")
    } else {
        cond(id("i_per_col"), id(&format!("tbl{c}")), id("tbl0"))
    };
    vec![
        Item::Blank,
        comment(&format!(
            "---- Column {c}: f32(float32(acc) * S), round, clamp, + zp ----"
        )),
        wire_init(&n("sc"), bits(32), scale),
        wire_init(&n("se1"), bits(8), bits_of(id(&n("sc")), 23, 8)),
        wire_init(
            &n("sfz"),
            None,
            bits_of(id(&n("sc")), 0, 23).eq(sized(23, 0)),
        ),
        wire_init(
            &n("snan"),
            None,
            id(&n("se1")).eq(sized(8, 255)).and(not(id(&n("sfz")))),
        ),
        wire_init(
            &n("sinf1"),
            None,
            id(&n("se1")).eq(sized(8, 255)).and(id(&n("sfz"))),
        ),
        wire_init(
            &n("nan1"),
            None,
            id(&n("snan")).or(id(&n("sinf1")).and(a("z"))),
        ),
        wire_init(&n("zero1"), None, a("z").or(id(&n("se1")).eq(sized(8, 0)))),
        wire_init(
            &n("sign1"),
            None,
            a("s").bit_xor(bits_of(id(&n("sc")), 31, 1)),
        ),
    ]
}

/// Column `c`'s second stage: the product of the significands and what the third stage needs
/// of the scale and of `float32(acc)`, registered when `v1`.
fn product_stage(c: u32) -> Vec<Item> {
    let n = |s: &str| qn(c, s);
    let a = |s: &str| an(c, s);
    let mut items = vec![wire_init(
        &n("prod"),
        bits(48),
        zext(a("m"), 24, 48).mul(zext(
            concat(vec![sized(1, 1), bits_of(id(&n("sc")), 0, 23)]),
            24,
            48,
        )),
    )];
    let mut assigns = vec![nb(id(&n("p")), id(&n("prod"))), nb(id(&n("e")), a("e"))];
    items.extend([reg(&n("p"), bits(48)), reg(&n("e"), bits(6))]);
    for (name, w) in [
        ("se", bits(8)),
        ("sinf", None),
        ("nan", None),
        ("zero", None),
        ("sign", None),
    ] {
        items.push(reg(&n(name), w));
        assigns.push(nb(id(&n(name)), id(&n(&format!("{name}1")))));
    }
    items.push(always(vec![if_(id("v1"), assigns)]));
    items
}

/// The 24-bit mantissa of `float32(acc) * S` rounded to nearest even (`m24`) and its biased
/// exponent `xb`, from the second stage's registers.
fn scaled_mantissa(c: u32) -> Vec<Item> {
    let n = |s: &str| qn(c, s);
    vec![
        wire_init(&n("top"), None, bits_of(id(&n("p")), 47, 1)),
        wire_init(
            &n("keep"),
            bits(24),
            cond(
                id(&n("top")),
                bits_of(id(&n("p")), 24, 24),
                bits_of(id(&n("p")), 23, 24),
            ),
        ),
        wire_init(
            &n("g"),
            None,
            cond(
                id(&n("top")),
                bits_of(id(&n("p")), 23, 1),
                bits_of(id(&n("p")), 22, 1),
            ),
        ),
        wire_init(
            &n("st"),
            None,
            cond(
                id(&n("top")),
                red_or(bits_of(id(&n("p")), 0, 23)),
                red_or(bits_of(id(&n("p")), 0, 22)),
            ),
        ),
        wire_init(
            &n("m25"),
            bits(25),
            zext(id(&n("keep")), 24, 25).add(zext(
                id(&n("g")).and(id(&n("st")).or(bits_of(id(&n("keep")), 0, 1))),
                1,
                25,
            )),
        ),
        wire_init(&n("ovf"), None, bits_of(id(&n("m25")), 24, 1)),
        wire_init(
            &n("m24"),
            bits(24),
            cond(
                id(&n("ovf")),
                sized(24, 0x80_0000),
                bits_of(id(&n("m25")), 0, 24),
            ),
        ),
        comment("The value is m24 * 2^(xb - 150)."),
        wire_init(
            &n("xb"),
            bits(10),
            zext(id(&n("e")), 6, 10)
                .add(zext(id(&n("se")), 8, 10))
                .add(zext(id(&n("top")), 1, 10))
                .add(zext(id(&n("ovf")), 1, 10)),
        ),
    ]
}

/// The product rounded half to even to an integer and saturated to 11 bits (`r`): `mag` of
/// the value `m24 * 2^(xb - 150)`, 512 for huge or infinite, NaN as -512.
fn rounded_integer(c: u32) -> Vec<Item> {
    let n = |s: &str| qn(c, s);
    vec![
        wire_init(&n("big"), None, id(&n("xb")).ge(sized(10, 136))),
        wire_init(&n("tiny"), None, id(&n("xb")).lt(sized(10, 126))),
        comment("xb - 126 in 0..9 when used: its low 4 bits."),
        wire_init(
            &n("k"),
            bits(4),
            bits_of(id(&n("xb")), 0, 4).sub(sized(4, 126 % 16)),
        ),
        wire_init(
            &n("fx"),
            bits(33),
            zext(id(&n("m24")), 24, 33).shl(id(&n("k"))),
        ),
        wire_init(
            &n("up"),
            None,
            bits_of(id(&n("fx")), 23, 1).and(red_or(bits_of(id(&n("fx")), 0, 23)).or(bits_of(
                id(&n("fx")),
                24,
                1,
            ))),
        ),
        wire_init(
            &n("mag"),
            bits(11),
            cond(
                id(&n("zero")),
                sized(11, 0),
                cond(
                    id(&n("big")).or(id(&n("sinf"))),
                    sized(11, 512),
                    cond(
                        id(&n("tiny")),
                        sized(11, 0),
                        zext(bits_of(id(&n("fx")), 24, 9), 9, 11).add(zext(id(&n("up")), 1, 11)),
                    ),
                ),
            ),
        ),
        wire_init(
            &n("r"),
            bits(11),
            cond(
                id(&n("nan")),
                sized(11, 0x800 - 512),
                cond(
                    id(&n("sign")),
                    bit_not(id(&n("mag"))).add(sized(11, 1)),
                    id(&n("mag")),
                ),
            ),
        ),
    ]
}

/// `r` clamped to the instruction's bounds, plus the zero point, registered in `o{c}` when `v2`.
fn clamped_output(c: u32) -> Vec<Item> {
    let n = |s: &str| qn(c, s);
    let flip = |e: Expr| e.bit_xor(sized(11, 0x400));
    vec![
        wire_init(
            &n("r1"),
            bits(11),
            cond(
                flip(id(&n("r"))).gt(flip(id("i_lo"))),
                id(&n("r")),
                id("i_lo"),
            ),
        ),
        Item::LintOff {
            warning: "UNUSED",
            reason: "The clamped value plus the zero point is in the output's 8-bit range: only the low 8 bits are added.".into(),
            items: vec![wire_init(
                &n("r2"),
                bits(11),
                cond(
                    flip(id(&n("r1"))).lt(flip(id("i_hi"))),
                    id(&n("r1")),
                    id("i_hi"),
                ),
            )],
        },
        reg(&format!("o{c}"), bits(8)),
        always(vec![if_(
            id("v2"),
            vec![nb(
                id(&format!("o{c}")),
                bits_of(id(&n("r2")), 0, 8).add(id("i_zp")),
            )],
        )]),
    ]
}

/// Column c of a float engine: stage 1 (registered when `x_v`) the fp32 product
/// `x * S` in `pa{c}`; stage 2 (when `v1`) plus the bias (`systolic_fp32_add`), relu, the
/// cast to the SBUF's format: `o{c}`.
fn float_column(s: &Sizes, c: u32, f: FpFormat) -> Vec<Item> {
    let x = bits_of(id("xr"), 32 * c, 32);
    let scale = if c == 0 {
        id("tbl0")
    } else {
        cond(id("i_per_col"), id(&format!("tbl{c}")), id("tbl0"))
    };
    let m = format!("m{c}_");
    let pa = format!("pa{c}");
    let sum = format!("sum{c}");
    let fv = format!("fv{c}");
    let rl = format!("rl{c}");
    let cp = format!("k{c}_");
    let mut items = vec![
        Item::Blank,
        comment(&format!(
            "---- Column {c}: f32(f32(x * S) + bias), relu, cast to {} ----",
            f.name()
        )),
    ];
    items.extend(act_fp::fp32_mul(&m, x, scale));
    items.extend([
        reg(&pa, bits(32)),
        always(vec![if_(
            id("x_v"),
            vec![nb(id(&pa), id(&format!("{m}y")))],
        )]),
        wire(&sum, bits(32)),
        Item::Instance(Instance {
            module: "systolic_fp32_add".into(),
            name: format!("u_bias{c}"),
            params: vec![("PIPE".into(), int(0))],
            ports: vec![
                ("clk".into(), id("clk")),
                ("a".into(), id(&pa)),
                ("b".into(), id(&format!("tbl{}", c + s.g.cols))),
                ("y".into(), id(&sum)),
            ],
        }),
        wire_init(&fv, bits(32), cond(id("i_bias"), id(&sum), id(&pa))),
        comment("relu: f < 0 ? +0 : f (a NaN and -0 pass)."),
        wire_init(
            &rl,
            bits(32),
            cond(
                id("i_relu")
                    .and(bits_of(id(&fv), 31, 1))
                    .and(bits_of(id(&fv), 0, 31).ne(sized(31, 0)))
                    .and(not(bits_of(id(&fv), 23, 8)
                        .eq(sized(8, 255))
                        .and(bits_of(id(&fv), 0, 23).ne(sized(23, 0))))),
                sized(32, 0),
                id(&fv),
            ),
        ),
    ]);
    items.extend(act_fp::cast(&cp, id(&rl), f));
    items.extend([
        reg(&format!("o{c}"), bits(s.g.data_w)),
        always(vec![if_(
            id("v1"),
            vec![nb(id(&format!("o{c}")), id(&format!("{cp}out")))],
        )]),
    ]);
    items
}

/// Port 2 of the SBUF: partitions below `m` (column c -> partition c), the entry of `nn`.
fn sbuf_write(s: &Sizes) -> Vec<Item> {
    let g = &s.g;
    let dw = g.data_w;
    let raw_b = s.per_raw.trailing_zeros();
    let mut data = vec![];
    let mut raws = vec![];
    for p in (0..g.parts).rev() {
        if p >= g.cols {
            data.push(sized(dw, 0));
            continue;
        }
        let x = bits_of(id("xr"), 32 * p, 32);
        let raw = format!("raw{p}");
        raws.push(wire_init(&raw, bits(32), x.shr(times_8eb(id("wi"), g.eb))));
        data.push(cond(
            id("i_raw"),
            bits_of(id(&raw), 0, dw),
            id(&format!("o{p}")),
        ));
    }
    let wen: Vec<Expr> = (0..g.parts)
        .rev()
        .map(|p| {
            if p >= g.cols {
                bit(false)
            } else {
                id("wr_now").and(zext(sized(9, u64::from(p)), 9, 9).lt(id("i_m")))
            }
        })
        .collect();
    let fit = |e: &str, w: u32| {
        if g.sa_w <= w {
            bits_of(id(e), 0, g.sa_w)
        } else {
            zext(id(e), w, g.sa_w)
        }
    };
    let nn_w = fit("nw", 13);
    let mut items = vec![
        Item::Blank,
        comment("---- SBUF port 2 writes ----"),
        assign(id("a_wen"), concat(wen)),
        comment("The checks at dispatch keep the entry inside the SBUF (no carry out)."),
        assign(
            id("a_wentry"),
            id("i_entry")
                .add(cond(
                    id("i_raw"),
                    nn_w.clone().shl(int(i64::from(raw_b))),
                    nn_w,
                ))
                .add(fit("wi", 2)),
        ),
    ];
    items.push(Item::LintOff {
        warning: "UNUSED",
        reason: "raw32 writes the low DATA_W bits of the shifted accumulator.".into(),
        items: raws,
    });
    items.push(assign(id("a_wdata"), concat(data)));
    items
}

/// `wi * 8 * EB` as a shift amount.
fn times_8eb(wi: Expr, eb: u32) -> Expr {
    concat(vec![wi, sized(3 + eb.trailing_zeros(), 0)])
}

fn ports(s: &Sizes) -> Vec<Port> {
    let g = &s.g;
    vec![
        input("clk", None, ""),
        input("rst", None, "synchronous, active high"),
        input(
            "go",
            None,
            "start the ACTIVATE in words (only while busy is low)",
        ),
        input(
            "words",
            bits(128),
            "the ACTIVATE's two words (the opcode and unused bits are not read)",
        )
        .waive("UNUSED"),
        output("ready", None, "go is taken"),
        output("busy", None, ""),
        output("done", None, "the last SBUF write of an ACTIVATE"),
        input("tbl_wen", None, "ACT table write (the DMA)"),
        input("tbl_waddr", bits(s.tw_w), ""),
        input("tbl_wdata", bits(32), ""),
        output("ps_en", None, "PSUM read (pipelined, no handshake)"),
        output("ps_bank", bits(g.bank_w), ""),
        output("ps_addr", bits(g.paddr_w), ""),
        input("ps_data", bits(g.cols * 32), "AR_LAT cycles after ps_en"),
        output(
            "a_wen",
            bits(g.parts),
            "SBUF port 2: partition p writes entry a_wentry",
        ),
        output("a_wentry", bits(g.sa_w), ""),
        output("a_wdata", bits(g.parts * g.data_w), ""),
    ]
}
