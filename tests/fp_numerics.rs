//! The floating-point numerics of `src/golden/fp.rs` (specified in `docs/numerics.md`) against the
//! host's IEEE 754 `f32` as the oracle:
//! * input decoding against hand-picked values and an independent field formula;
//! * products: every fp8 pair (E4M3, E5M2 and both mixed orders, 65,536 pairs each), bf16 x bf16
//!   on a grid of every exponent plus special values and on random pairs, bf16 x fp8 on random
//!   pairs; plus the exactness claims of the spec;
//! * fp32 addition: all pairs of a special set, all pairs of an exponent grid, and random pairs
//!   from five generators (raw bits, cancellation, exponent differences 0..30, subnormals, near
//!   overflow);
//! * conversions f32 -> bf16/fp8: round trips of every code, every midpoint between neighbours
//!   (and its two fp32 neighbours), random f32 against independent references;
//! * the column fold and the PSUM update against a host-f32 fold in the same order (proptest).
//!
//! Random counts scale with `SYSTOLIC_FP_PAIRS` (the bf16 product and fp32 addition pair counts;
//! defaults 5,000,000 and 10,000,000). The `#[ignore]`d tests sweep all 2^32 bf16 products and all
//! 2^32 f32 inputs of the conversions; run them in release mode:
//! `cargo test --release --test fp_numerics -- --ignored`.

use proptest::prelude::*;
use systolic::golden::fp::{
    add, dot_in_hw_order, dot_in_hw_order_masked, f32_classify, f32_is_nan, mul, mul_mixed,
    psum_update, Decoded, FpClass, FpFormat, ALL_FORMATS, F32_CANONICAL_NAN,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// SplitMix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        (((self.next() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// `SYSTOLIC_FP_PAIRS` scales the random pair counts: the bf16 product count is this, the
/// addition count twice this.
fn pairs() -> u64 {
    std::env::var("SYSTOLIC_FP_PAIRS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(5_000_000)
}

/// The value of an input code from its fields, independently of `fp.rs`'s decoder (which the
/// oracle must not share), as `f64`; `None` for NaN.
fn field_value(f: FpFormat, bits: u16) -> Option<f64> {
    let (e_bits, m_bits, bias) = match f {
        FpFormat::Bf16 => (8, 7, 127),
        FpFormat::E4M3 => (4, 3, 7),
        FpFormat::E5M2 => (5, 2, 15),
    };
    let neg = (bits >> (e_bits + m_bits)) & 1 == 1;
    let e = i32::from((bits >> m_bits) & ((1 << e_bits) - 1));
    let m = f64::from(bits & ((1 << m_bits) - 1));
    let e_max = (1 << e_bits) - 1;
    let mag = match f {
        FpFormat::E4M3 if e == e_max && m == 7.0 => return None,
        FpFormat::Bf16 | FpFormat::E5M2 if e == e_max => {
            if m != 0.0 {
                return None;
            }
            f64::INFINITY
        }
        _ if e == 0 => m / f64::from(1 << m_bits) * 2f64.powi(1 - bias),
        _ => (1.0 + m / f64::from(1 << m_bits)) * 2f64.powi(e - bias),
    };
    Some(if neg { -mag } else { mag })
}

/// The host `f32` of an input code (every code's value is an `f32`).
fn host_value(f: FpFormat, bits: u16) -> f32 {
    match f {
        FpFormat::Bf16 => f32::from_bits(u32::from(bits) << 16),
        _ => match field_value(f, bits) {
            Some(v) => {
                let x = v as f32;
                assert_eq!(f64::from(x), v);
                x
            }
            None => f32::NAN,
        },
    }
}

/// The comparison rule: a NaN on the host must be the canonical NaN here; otherwise equal bits.
#[inline]
fn expect_same(got: u32, host: f32, what: impl FnOnce() -> String) {
    let h = host.to_bits();
    let ok = if f32_is_nan(h) {
        got == F32_CANONICAL_NAN
    } else {
        got == h
    };
    if !ok {
        panic!("{}: golden {got:#010x}, host {h:#010x} ({host:e})", what());
    }
}

fn check_mul(fa: FpFormat, a: u16, fb: FpFormat, b: u16) {
    let got = mul_mixed(fa, a, fb, b);
    let host = host_value(fa, a) * host_value(fb, b);
    expect_same(got, host, || format!("{fa} {a:#x} * {fb} {b:#x}"));
}

fn check_add(a: u32, b: u32) {
    let got = add(a, b);
    let host = f32::from_bits(a) + f32::from_bits(b);
    expect_same(got, host, || format!("add({a:#010x}, {b:#010x})"));
}

fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t = std::time::Instant::now();
    let r = f();
    eprintln!("{name}: {:.2?}", t.elapsed());
    r
}

// ---------------------------------------------------------------------------------------------
// Formats and decoding

#[test]
fn format_names_and_parameters() {
    for f in ALL_FORMATS {
        assert_eq!(f.name().parse::<FpFormat>().unwrap(), f);
        assert_eq!(f.to_string(), f.name());
        assert_eq!(f.bits(), 1 + f.exp_bits() + f.man_bits());
    }
    assert_eq!("BF16".parse::<FpFormat>().unwrap(), FpFormat::Bf16);
    for bad in ["", "fp8", "e4m3", "fp16", "int8", "bf16 "] {
        let e = bad.parse::<FpFormat>().unwrap_err();
        assert!(e.to_string().contains("expected bf16, fp8e4m3 or fp8e5m2"));
    }
    assert_eq!(FpFormat::Bf16.mask(), 0xFFFF);
    assert_eq!(FpFormat::E4M3.mask(), 0xFF);
    assert_eq!(FpFormat::Bf16.qmin(), -133);
    assert_eq!(FpFormat::E4M3.qmin(), -9);
    assert_eq!(FpFormat::E5M2.qmin(), -16);
}

#[test]
fn decode_known_values() {
    use FpFormat::*;
    let table: &[(FpFormat, u16, f64)] = &[
        (Bf16, 0x3F80, 1.0),
        (Bf16, 0xC000, -2.0),
        (Bf16, 0x3F81, 1.0 + 1.0 / 128.0),
        (Bf16, 0x0001, 2f64.powi(-133)),
        (Bf16, 0x007F, 127.0 * 2f64.powi(-133)),
        (Bf16, 0x0080, 2f64.powi(-126)),
        (Bf16, 0x7F7F, 255.0 * 2f64.powi(120)),
        (Bf16, 0x8000, -0.0),
        (E4M3, 0x38, 1.0),
        (E4M3, 0x01, 2f64.powi(-9)),
        (E4M3, 0x07, 7.0 * 2f64.powi(-9)),
        (E4M3, 0x08, 2f64.powi(-6)),
        (E4M3, 0x78, 256.0),
        (E4M3, 0x7E, 448.0),
        (E4M3, 0xFE, -448.0),
        (E4M3, 0x80, -0.0),
        (E5M2, 0x3C, 1.0),
        (E5M2, 0x01, 2f64.powi(-16)),
        (E5M2, 0x04, 2f64.powi(-14)),
        (E5M2, 0x7B, 57344.0),
        (E5M2, 0x7C, f64::INFINITY),
        (E5M2, 0xFC, f64::NEG_INFINITY),
        (Bf16, 0x7F80, f64::INFINITY),
    ];
    for &(f, bits, v) in table {
        let got = f.to_f64(bits);
        assert_eq!(got, v, "{f} {bits:#x}");
        assert_eq!(
            got.is_sign_negative(),
            v.is_sign_negative(),
            "{f} {bits:#x}"
        );
        assert_eq!(f.to_f32_bits(bits), (v as f32).to_bits(), "{f} {bits:#x}");
    }
    for (f, nan) in [
        (E4M3, 0x7F),
        (E4M3, 0xFF),
        (E5M2, 0x7D),
        (E5M2, 0x7E),
        (E5M2, 0xFF),
        (Bf16, 0x7FC0),
        (Bf16, 0x7F81),
        (Bf16, 0xFFFF),
    ] {
        assert_eq!(f.classify(nan), FpClass::Nan);
        assert!(f.to_f64(nan).is_nan());
        assert_eq!(f.to_f32_bits(nan), F32_CANONICAL_NAN);
        assert_eq!(f.decode(nan), Decoded::Nan);
    }
    // E4M3: exponent field 15 is normal except for the NaN pattern.
    assert_eq!(E4M3.classify(0x7C), FpClass::Normal);
    assert_eq!(E4M3.to_f64(0x7C), 384.0);
}

#[test]
fn decode_every_code_matches_the_field_formula() {
    // Class counts per format: (zero, subnormal, normal, infinite, nan), both signs.
    let expected = [
        (FpFormat::Bf16, [2, 254, 65024, 2, 254]),
        (FpFormat::E4M3, [2, 14, 238, 0, 2]),
        (FpFormat::E5M2, [2, 6, 240, 2, 6]),
    ];
    for (f, counts) in expected {
        let mut got = [0u32; 5];
        for bits in 0..=f.mask() {
            let c = f.classify(bits);
            got[c as usize] += 1;
            let v = field_value(f, bits);
            match v {
                None => assert_eq!(c, FpClass::Nan),
                Some(v) => {
                    assert_eq!(f.to_f64(bits), v, "{f} {bits:#x}");
                    assert_eq!(f.to_f64(bits).is_sign_negative(), v.is_sign_negative());
                    assert_eq!(f32::from_bits(f.to_f32_bits(bits)) as f64, v);
                    assert_eq!(
                        f32::from_bits(f.to_f32_bits(bits)).is_sign_negative(),
                        v.is_sign_negative()
                    );
                    let expect_class = if v == 0.0 {
                        FpClass::Zero
                    } else if v.is_infinite() {
                        FpClass::Infinite
                    } else if v.abs() < 2f64.powi(1 - f.bias()) {
                        FpClass::Subnormal
                    } else {
                        FpClass::Normal
                    };
                    assert_eq!(c, expect_class, "{f} {bits:#x}");
                }
            }
        }
        assert_eq!(got, counts, "{f}");
    }
}

#[test]
#[should_panic(expected = "is not a fp8e4m3 bit pattern")]
fn fp8_codes_above_8_bits_are_rejected() {
    FpFormat::E4M3.classify(0x100);
}

// ---------------------------------------------------------------------------------------------
// Products

/// Every fp8 x fp8 pair (both formats and both mixed orders) matches the host, and every finite
/// product is exact (the `f64` product of two fp8 values is exact: at most 8 significant bits).
#[test]
fn fp8_products_exhaustive_and_exact() {
    use FpFormat::*;
    timed("fp8 products, 4 x 65,536 pairs", || {
        for (fa, fb) in [(E4M3, E4M3), (E5M2, E5M2), (E4M3, E5M2), (E5M2, E4M3)] {
            let mut finite = 0u32;
            let mut min_nonzero = f64::INFINITY;
            let mut max = 0f64;
            for a in 0..=0xFFu16 {
                for b in 0..=0xFFu16 {
                    check_mul(fa, a, fb, b);
                    if fa == fb {
                        assert_eq!(mul(fa, a, b), mul_mixed(fa, a, fb, b));
                    }
                    if let (Some(x), Some(y)) = (field_value(fa, a), field_value(fb, b)) {
                        let exact = x * y;
                        if exact.is_finite() {
                            let got = f32::from_bits(mul_mixed(fa, a, fb, b));
                            assert_eq!(f64::from(got), exact, "{fa} {a:#x} * {fb} {b:#x} exact");
                            finite += 1;
                            if exact != 0.0 {
                                min_nonzero = min_nonzero.min(exact.abs());
                            }
                            max = max.max(exact.abs());
                        }
                    }
                }
            }
            // The extremes of the exactness proof in docs/numerics.md.
            let (lo, hi) = match (fa, fb) {
                (E4M3, E4M3) => (2f64.powi(-18), 448.0 * 448.0),
                (E5M2, E5M2) => (2f64.powi(-32), 57344.0 * 57344.0),
                _ => (2f64.powi(-25), 448.0 * 57344.0),
            };
            assert_eq!((min_nonzero, max), (lo, hi), "{fa} x {fb}");
            assert!(finite > 60_000);
        }
    });
}

/// bf16 values: every exponent field with fraction 0, 1, 0x40, 0x7F, both signs (2048 codes),
/// plus NaNs of several payloads and both signs.
fn bf16_grid() -> Vec<u16> {
    let mut v = Vec::new();
    for s in [0u16, 0x8000] {
        for e in 0..=0xFFu16 {
            for f in [0u16, 1, 0x40, 0x7F] {
                v.push(s | e << 7 | f);
            }
        }
    }
    v.extend([0x7FC0, 0xFFC0, 0x7F81, 0xFF81, 0x7FFF, 0x7FA5]);
    v
}

/// All pairs of the grid (4.2 million, every exponent combination, so every underflow and
/// overflow boundary) match the host, and the exactness rule of the spec holds: a finite
/// bf16 x bf16 product is exact in fp32 iff it is below 2^128 and a multiple of 2^-149.
#[test]
fn bf16_products_grid() {
    let g = bf16_grid();
    let mut inexact = 0u64;
    let mut overflow = 0u64;
    timed(
        &format!("bf16 product grid, {} pairs", g.len() * g.len()),
        || {
            for &a in &g {
                for &b in &g {
                    check_mul(FpFormat::Bf16, a, FpFormat::Bf16, b);
                    let (Some(x), Some(y)) = (
                        field_value(FpFormat::Bf16, a),
                        field_value(FpFormat::Bf16, b),
                    ) else {
                        continue;
                    };
                    let exact = x * y; // exact in f64: 16 bits, exponents -266..=256
                    if !exact.is_finite() || exact.is_nan() {
                        continue;
                    }
                    let got = f64::from(f32::from_bits(mul(FpFormat::Bf16, a, b)));
                    let fits =
                        exact.abs() < 2f64.powi(128) && (exact * 2f64.powi(149)).fract() == 0.0;
                    assert_eq!(got == exact, fits, "{a:#x} * {b:#x}");
                    if !fits {
                        inexact += 1;
                    }
                    if got.is_infinite() {
                        overflow += 1;
                    }
                }
            }
        },
    );
    eprintln!("bf16 grid: {inexact} inexact finite products, {overflow} overflow to infinity");
    assert!(inexact > 0 && overflow > 0);
}

/// Hand-picked bf16 products at the edges.
#[test]
fn bf16_product_edges() {
    let m = |a, b| mul(FpFormat::Bf16, a, b);
    assert_eq!(m(0x0001, 0x0001), 0); // 2^-266: underflows to +0
    assert_eq!(m(0x8001, 0x0001), 0x8000_0000); // ... keeping the sign
    assert_eq!(m(0x7F7F, 0x7F7F), 0x7F80_0000); // overflow
    assert_eq!(m(0xFF7F, 0x7F7F), 0xFF80_0000);
    assert_eq!(m(0x7F80, 0x0000), F32_CANONICAL_NAN); // inf * 0
    assert_eq!(m(0x8000, 0xFF80), F32_CANONICAL_NAN);
    assert_eq!(m(0x7F80, 0x8001), 0xFF80_0000); // inf * -tiny
    assert_eq!(m(0x8000, 0x4040), 0x8000_0000); // -0 * 3
    assert_eq!(m(0x8000, 0x8000), 0); // -0 * -0
    assert_eq!(m(0xFFC1, 0x3F80), F32_CANONICAL_NAN);
    // 2^-75 * 2^-75 = 2^-150: exactly half the smallest subnormal, ties to even (zero).
    assert_eq!(m(0x1A00, 0x1A00), 0);
    // (1 + 2^-7) 2^-75 * 2^-75: just above half: rounds up to 2^-149.
    assert_eq!(m(0x1A01, 0x1A00), 1);
    // 1.5 * 2^-75 * 2^-75 = 1.5 * 2^-150 -> rounds to 2^-149 (above the tie).
    assert_eq!(m(0x1A40, 0x1A00), 1);
    // 1.5 * 2^-75 * 2^-74 = 1.5 ulps: tie between 1 and 2 ulps, to even (2).
    assert_eq!(m(0x1A40, 0x1A80), 2);
    // 1.25 * 2^-74 * 2^-74 = 2.5 ulps: tie between 2 and 3 ulps, to even (2).
    assert_eq!(m(0x1AA0, 0x1A80), 2);
    // 1.75 * 2^-74 * 2^-74 = 3.5 ulps: to even (4).
    assert_eq!(m(0x1AE0, 0x1A80), 4);
}

#[test]
fn bf16_products_random() {
    let n = pairs();
    let mut rng = Rng(0xB_F16);
    timed(&format!("bf16 products, {n} random pairs"), || {
        for i in 0..n {
            let (a, b) = if i % 4 == 3 {
                // the product's biased exponent t = ea + eb - 127 near the fp32 underflow
                // (t in -30..=3) or overflow (t in 248..=257) boundary
                let t = if rng.below(2) == 0 {
                    rng.below(34) as i32 - 30
                } else {
                    248 + rng.below(10) as i32
                };
                let lo = (t + 127 - 254).max(0);
                let hi = (t + 127).min(254);
                let ea = lo + rng.below((hi - lo + 1) as u32) as i32;
                let eb = t + 127 - ea;
                let r = rng.u32();
                (
                    (r as u16 & 0x807F) | (ea as u16) << 7,
                    ((r >> 16) as u16 & 0x807F) | (eb as u16) << 7,
                )
            } else {
                let r = rng.u32();
                (r as u16, (r >> 16) as u16)
            };
            check_mul(FpFormat::Bf16, a, FpFormat::Bf16, b);
        }
    });
}

/// bf16 x fp8 (mixed): every fp8 code against random bf16 codes.
#[test]
fn bf16_fp8_mixed_products() {
    let mut rng = Rng(0x31);
    timed("bf16 x fp8 products, 2 x 2 x 256 x 2048 pairs", || {
        for f8 in [FpFormat::E4M3, FpFormat::E5M2] {
            for b in 0..=0xFFu16 {
                for _ in 0..2048 {
                    let a = rng.u32() as u16;
                    check_mul(FpFormat::Bf16, a, f8, b);
                    check_mul(f8, b, FpFormat::Bf16, a);
                }
            }
        }
    });
}

/// Every bf16 x bf16 pair (2^32) against the host, on all cores. Release mode: about a minute.
#[test]
#[ignore]
fn bf16_products_exhaustive() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    timed("bf16 products, all 2^32 pairs", || {
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || {
                    let mut a = t;
                    while a <= 0xFFFF {
                        for b in 0..=0xFFFFu16 {
                            check_mul(FpFormat::Bf16, a as u16, FpFormat::Bf16, b);
                        }
                        a += threads;
                    }
                });
            }
        });
    });
}

// ---------------------------------------------------------------------------------------------
// fp32 addition

fn f32_specials() -> Vec<u32> {
    let base = [
        0x0000_0000u32, // +0
        0x0000_0001,    // smallest subnormal
        0x0000_0002,
        0x0000_0003,
        0x003F_FFFF,
        0x0040_0000,
        0x007F_FFFE,
        0x007F_FFFF, // largest subnormal
        0x0080_0000, // smallest normal
        0x0080_0001,
        0x0100_0000,
        0x0100_0001,
        0x3F7F_FFFF, // 1 - ulp
        0x3F80_0000, // 1.0
        0x3F80_0001, // 1 + ulp
        0x3FC0_0000, // 1.5
        0x4000_0000, // 2.0
        0x4040_0000, // 3.0
        0x3300_0000, // 2^-25
        0x3380_0000, // 2^-24
        0x3400_0000, // 2^-23
        0x4B80_0000, // 2^24
        0x4B80_0001,
        0x4C00_0000, // 2^25
        0x7EFF_FFFF,
        0x7F00_0000, // 2^127
        0x7F7F_FFFE,
        0x7F7F_FFFF, // largest finite
        0x7F80_0000, // inf
        0x7FC0_0000, // quiet NaN
        0x7F80_0001, // signalling NaN
        0x7FFF_FFFF,
        0x7FA5_A5A5,
    ];
    let mut v: Vec<u32> = base.iter().flat_map(|&x| [x, x | 0x8000_0000]).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn add_special_pairs() {
    let s = f32_specials();
    for &a in &s {
        for &b in &s {
            check_add(a, b);
            assert_eq!(add(a, b), add(b, a));
        }
    }
    // The policy table of docs/numerics.md.
    assert_eq!(add(0, 0x8000_0000), 0);
    assert_eq!(add(0x8000_0000, 0), 0);
    assert_eq!(add(0x8000_0000, 0x8000_0000), 0x8000_0000);
    assert_eq!(add(0x3F80_0000, 0xBF80_0000), 0);
    assert_eq!(add(0xBF80_0000, 0x3F80_0000), 0);
    assert_eq!(add(0x7F80_0000, 0xFF80_0000), F32_CANONICAL_NAN);
    assert_eq!(add(0xFF80_0000, 0xFF80_0000), 0xFF80_0000);
    assert_eq!(add(0x7F7F_FFFF, 0x7F7F_FFFF), 0x7F80_0000);
    // max + ulp/2 (2^103): a tie, to even, which is the overflow
    assert_eq!(add(0x7F7F_FFFF, 0x7300_0000), 0x7F80_0000);
    assert_eq!(add(0x7F7F_FFFF, 0x72FF_FFFF), 0x7F7F_FFFF); // just below ulp/2
    assert_eq!(add(0x7F7F_FFFF, 0x7280_0000), 0x7F7F_FFFF); // max + ulp/4
    assert_eq!(add(0x0000_0001, 0x8000_0001), 0);
    assert_eq!(add(0x007F_FFFF, 0x0000_0001), 0x0080_0000); // subnormal carries into normal
    assert_eq!(add(0xFFC0_0001, 0x3F80_0000), F32_CANONICAL_NAN);
    assert_eq!(add(0x3F80_0000, 0x3380_0000), 0x3F80_0000); // 1 + 2^-24: tie, to even
    assert_eq!(add(0x3F80_0001, 0x3380_0000), 0x3F80_0002); // tie, to even (up)
}

/// Every exponent field x 6 fractions x 2 signs (3,072 values): all 9.4 million pairs, so every
/// exponent difference with both signs.
#[test]
fn add_exponent_grid() {
    let mut g = Vec::new();
    for s in [0u32, 0x8000_0000] {
        for e in 0..=0xFFu32 {
            for f in [0u32, 1, 0x3F_FFFF, 0x40_0000, 0x40_0001, 0x7F_FFFF] {
                g.push(s | e << 23 | f);
            }
        }
    }
    timed(
        &format!("add exponent grid, {} pairs", g.len() * g.len()),
        || {
            for &a in &g {
                for &b in &g {
                    check_add(a, b);
                }
            }
        },
    );
}

/// A finite fp32 with exponent field in `lo..=hi`, random fraction and sign.
fn f32_in(rng: &mut Rng, lo: u32, hi: u32) -> u32 {
    let e = lo + rng.below(hi - lo + 1);
    (rng.u32() & 0x807F_FFFF) | e << 23
}

#[test]
fn add_random() {
    let n = 2 * pairs();
    let per = n / 5;
    let mut rng = Rng(0xADD);
    timed(
        &format!("add, {} random pairs (5 generators)", 5 * per),
        || {
            // 1. raw bit patterns (NaNs and infinities included)
            for _ in 0..per {
                let (a, b) = (rng.u32(), rng.u32());
                check_add(a, b);
            }
            // 2. cancellation: b = -(a +- a few ulps) or -a with a random low fraction
            for i in 0..per {
                let a = f32_in(&mut rng, 0, 254);
                let b = if i % 2 == 0 {
                    let delta = rng.below(9) as i32 - 4;
                    (a ^ 0x8000_0000).wrapping_add_signed(delta)
                } else {
                    let keep = rng.below(24);
                    let mask = (1u32 << keep) - 1;
                    (a ^ 0x8000_0000) & !mask | (rng.u32() & mask)
                };
                check_add(a, b);
            }
            // 3. exponent differences 0..=30, either sign
            for _ in 0..per {
                let a = f32_in(&mut rng, 0, 254);
                let ea = (a >> 23) & 0xFF;
                let d = rng.below(31);
                let eb = ea.saturating_sub(d);
                let b = (rng.u32() & 0x807F_FFFF) | eb << 23;
                check_add(a, b);
            }
            // 4. subnormals and the smallest normals
            for _ in 0..per {
                let (a, b) = (f32_in(&mut rng, 0, 2), f32_in(&mut rng, 0, 2));
                check_add(a, b);
            }
            // 5. near overflow
            for _ in 0..per {
                let (a, b) = (f32_in(&mut rng, 245, 254), f32_in(&mut rng, 225, 254));
                check_add(a, b);
            }
        },
    );
}

/// Under round-to-nearest a sum of two fp32 values is `-0` only when both are `-0`, and a
/// sum of two non-zero finite values never rounds to zero unless it is exactly zero.
#[test]
fn add_minus_zero_only_from_two_minus_zeros() {
    let mut rng = Rng(7);
    for _ in 0..200_000 {
        let a = f32_in(&mut rng, 0, 254);
        let b = f32_in(&mut rng, 0, 3);
        for (x, y) in [(a, b), (b, a), (0, a), (a, 0x8000_0000), (0x8000_0000, b)] {
            let s = add(x, y);
            assert!(
                s != 0x8000_0000 || (x == 0x8000_0000 && y == 0x8000_0000),
                "{x:#x} + {y:#x}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions f32 -> bf16 / fp8

/// The independent reference for f32 -> fp8: nearest of all finite codes by `f64` distance,
/// ties to the even code; E4M3 saturates, E5M2 overflows to infinity at max + ulp/2 and above.
fn fp8_reference(f: FpFormat, x: f32) -> u16 {
    if x.is_nan() {
        return f.canonical_nan_bits();
    }
    let neg = x.is_sign_negative();
    let s = if neg { 0x80 } else { 0 };
    let ax = f64::from(x.abs());
    let max = f.max_finite_bits();
    let table = fp8_values(f);
    let val = |c: u16| table[c as usize];
    let top = val(max);
    let ulp_top = top - val(max - 1);
    if ax > top {
        return match f {
            FpFormat::E4M3 => s | max,
            _ => {
                if ax >= top + ulp_top / 2.0 {
                    s | 0x7C
                } else {
                    s | max
                }
            }
        };
    }
    // Positive codes 0..=max are increasing in value.
    let (mut lo, mut hi) = (0u16, max); // val(lo) <= ax <= val(hi)
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if val(mid) <= ax {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (dl, dh) = (ax - val(lo), val(hi) - ax);
    let c = if dl < dh || (dl == dh && lo % 2 == 0) {
        lo
    } else {
        hi
    };
    s | c
}

/// The values of the positive finite codes `0..=max_finite` of an fp8 format, from the field
/// formula.
fn fp8_values(f: FpFormat) -> &'static [f64] {
    static TABLES: [std::sync::OnceLock<Vec<f64>>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let i = usize::from(f == FpFormat::E5M2);
    TABLES[i].get_or_init(|| {
        (0..=f.max_finite_bits())
            .map(|c| field_value(f, c).unwrap())
            .collect()
    })
}

/// The classic bf16 rounding on bits, for non-NaN inputs.
fn bf16_reference(x: u32) -> u16 {
    if f32_is_nan(x) {
        return 0x7FC0;
    }
    (x.wrapping_add(0x7FFF + ((x >> 16) & 1)) >> 16) as u16
}

fn reference(f: FpFormat, x: u32) -> u16 {
    match f {
        FpFormat::Bf16 => bf16_reference(x),
        _ => fp8_reference(f, f32::from_bits(x)),
    }
}

#[test]
fn conversions_round_trip_every_code() {
    for f in ALL_FORMATS {
        for c in 0..=f.mask() {
            let x = f.to_f32_bits(c);
            let back = f.encode_f32_bits(x);
            if f.classify(c) == FpClass::Nan {
                assert_eq!(back, f.canonical_nan_bits());
            } else {
                assert_eq!(back, c, "{f} {c:#x}");
                assert_eq!(f.encode_f64(f.to_f64(c)), c, "{f} {c:#x} via f64");
            }
        }
    }
}

/// Each midpoint between neighbouring finite codes goes to the even code, and its two fp32
/// neighbours go to the nearer code; the midpoint above the largest finite value overflows
/// (bf16, E5M2) or saturates (E4M3); below half the smallest subnormal is zero of the sign.
#[test]
fn conversions_midpoints() {
    for f in ALL_FORMATS {
        let max = f.max_finite_bits();
        for s in [0u16, f.sign_bit()] {
            for c in 0..max {
                let (lo, hi) = (s | c, s | (c + 1));
                let (vl, vh) = (f.to_f64(lo), f.to_f64(hi));
                let mid = (vl + vh) / 2.0;
                let m32 = mid as f32;
                assert_eq!(f64::from(m32), mid, "midpoint exact in f32");
                let even = if c % 2 == 0 { lo } else { hi };
                let mb = m32.to_bits();
                assert_eq!(f.encode_f32_bits(mb), even, "{f} mid {lo:#x}/{hi:#x}");
                assert_eq!(f.encode_f64(mid), even);
                // one fp32 ulp towards each neighbour (mb - 1 is towards zero)
                assert_eq!(f.encode_f32_bits(mb - 1), lo, "{f} below mid {lo:#x}");
                assert_eq!(f.encode_f32_bits(mb + 1), hi, "{f} above mid {hi:#x}");
            }
            // Above the largest finite value.
            let top = f.to_f64(s | max);
            let ulp = top.abs() - f.to_f64(max - 1);
            let over = (top.abs() + ulp / 2.0).copysign(top);
            let ob = (over as f32).to_bits();
            let expect_over = match f {
                FpFormat::E4M3 => s | max,
                _ => s | f.pos_inf_bits().unwrap(),
            };
            assert_eq!(f.encode_f32_bits(ob), expect_over, "{f} max + ulp/2");
            assert_eq!(
                f.encode_f32_bits(ob - 1),
                s | max,
                "{f} just below max + ulp/2"
            );
            let inf = if s == 0 {
                f32::INFINITY
            } else {
                f32::NEG_INFINITY
            };
            assert_eq!(f.encode_f32(inf), expect_over, "{f} inf");
            assert_eq!(f.encode_f32(inf.signum() * f32::MAX), expect_over);
            // Below half the smallest subnormal.
            let half_min = (2f64.powi(f.qmin() - 1) as f32).to_bits() | u32::from(s != 0) << 31;
            assert_eq!(f.encode_f32_bits(half_min), s, "{f} min/2 ties to zero");
            assert_eq!(f.encode_f32_bits(half_min + 1), s | 1, "{f} above min/2");
            assert_eq!(f.encode_f32_bits(half_min - 1), s);
        }
        assert_eq!(f.encode_f32(f32::NAN), f.canonical_nan_bits());
        assert_eq!(f.encode_f32_bits(0xFF80_0001), f.canonical_nan_bits());
        assert_eq!(f.encode_f64(-f64::NAN), f.canonical_nan_bits());
    }
    // E4M3 saturation points from the OCP saturating conversion.
    assert_eq!(FpFormat::E4M3.encode_f32(464.0), 0x7E);
    assert_eq!(FpFormat::E4M3.encode_f32(480.0), 0x7E);
    assert_eq!(FpFormat::E4M3.encode_f32(-1e9), 0xFE);
    assert_eq!(FpFormat::E5M2.encode_f32(61439.0), 0x7B);
    assert_eq!(FpFormat::E5M2.encode_f32(61440.0), 0x7C);
}

/// f64 input rounds once: a value just above a bf16 midpoint that rounds to the midpoint in f32
/// would then tie to even; encode_f64 must not.
#[test]
fn encode_f64_rounds_once() {
    let mid = 1.0 + 2f64.powi(-8); // midpoint of bf16 1.0 and 1.0 + 2^-7
    let x = mid + 2f64.powi(-40); // rounds to `mid` in f32
    assert_eq!((x as f32) as f64, mid);
    assert_eq!(FpFormat::Bf16.encode_f32(x as f32), 0x3F80); // twice rounded: tie to even
    assert_eq!(FpFormat::Bf16.encode_f64(x), 0x3F81); // once: up
    assert_eq!(FpFormat::E4M3.encode_f64(1e300), 0x7E);
    assert_eq!(FpFormat::E5M2.encode_f64(-1e300), 0xFC);
    assert_eq!(FpFormat::Bf16.encode_f64(1e-300), 0);
    assert_eq!(FpFormat::Bf16.encode_f64(-5e-324), 0x8000);
}

#[test]
fn conversions_random_against_references() {
    let mut rng = Rng(0xC0);
    let n = 1_000_000;
    timed(&format!("conversions, 3 x {n} random f32"), || {
        for f in ALL_FORMATS {
            // exponents centred on the format's range (fp8) or anywhere (bf16)
            let (lo, hi) = match f {
                FpFormat::Bf16 => (0, 255),
                FpFormat::E4M3 => (127 - 14, 127 + 12),
                FpFormat::E5M2 => (127 - 20, 127 + 19),
            };
            for i in 0..n {
                let x = if i % 8 == 0 {
                    rng.u32()
                } else {
                    (rng.u32() & 0x807F_FFFF) | (lo + rng.below(hi - lo + 1)) << 23
                };
                let got = f.encode_f32_bits(x);
                let r = reference(f, x);
                assert_eq!(got, r, "{f} from {x:#010x} ({:e})", f32::from_bits(x));
            }
        }
    });
}

/// Every f32 (2^32) through every conversion against the references. Release mode.
#[test]
#[ignore]
fn conversions_exhaustive() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    for f in ALL_FORMATS {
        timed(&format!("{f} from every f32"), || {
            std::thread::scope(|s| {
                for t in 0..threads {
                    s.spawn(move || {
                        let mut x = t;
                        while x <= u64::from(u32::MAX) {
                            let b = x as u32;
                            let got = f.encode_f32_bits(b);
                            // the fp8 reference is slow: check fp8 in full only where the value
                            // is in or near the format's range, and the rest by its rule
                            let r = match f {
                                FpFormat::Bf16 => bf16_reference(b),
                                _ => {
                                    let e = (b >> 23) & 0xFF;
                                    if (100..=150).contains(&e) || e == 255 {
                                        fp8_reference(f, f32::from_bits(b))
                                    } else if e < 100 {
                                        (b >> 24) as u16 & 0x80 // zero of the sign
                                    } else if f == FpFormat::E4M3 {
                                        (b >> 24) as u16 & 0x80 | 0x7E
                                    } else {
                                        (b >> 24) as u16 & 0x80 | 0x7C
                                    }
                                }
                            };
                            assert_eq!(got, r, "{f} from {b:#010x}");
                            x += threads;
                        }
                    });
                }
            });
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Column order and PSUM

fn host_fold(f: FpFormat, w: &[u16], x: &[u16]) -> f32 {
    let mut acc = 0.0f32;
    for (&a, &b) in w.iter().zip(x) {
        acc += host_value(f, a) * host_value(f, b);
    }
    acc
}

/// Makes a code finite (flips the top exponent bit of a NaN or infinity).
fn finite(f: FpFormat, c: u16) -> u16 {
    match f.classify(c) {
        FpClass::Nan | FpClass::Infinite => c ^ (1 << (f.bits() - 2)),
        _ => c,
    }
}

fn column_strategy() -> impl Strategy<Value = (FpFormat, Vec<u16>, Vec<u16>)> {
    (
        0..3usize,
        prop::collection::vec((any::<u16>(), any::<u16>()), 1..=64),
        0..3u8,
    )
        .prop_map(|(fi, pairs, mode)| {
            let f = ALL_FORMATS[fi];
            let code = |c: u16| -> u16 {
                let c = c & f.mask();
                match mode {
                    0 => c, // anything, NaN and infinity included
                    1 => finite(f, c),
                    _ => {
                        // narrow exponents around 1.0: long sums with cancellation
                        if f == FpFormat::Bf16 {
                            (c & 0x807F) | (120 + (c >> 7) % 14) << 7
                        } else {
                            finite(f, c)
                        }
                    }
                }
            };
            let (w, x) = pairs.into_iter().map(|(a, b)| (code(a), code(b))).unzip();
            (f, w, x)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The column fold is bit-identical to a host-f32 fold in the same order (NaN: canonical),
    /// and is never -0.
    #[test]
    fn dot_matches_host_fold((f, w, x) in column_strategy()) {
        let got = dot_in_hw_order(f, &w, &x);
        let host = host_fold(f, &w, &x);
        if f32_is_nan(host.to_bits()) {
            prop_assert_eq!(got, F32_CANONICAL_NAN);
        } else {
            prop_assert_eq!(got, host.to_bits(), "{} {:?} {:?}", f, w, x);
        }
        prop_assert_ne!(got, 0x8000_0000);
    }

    /// Masked rows contribute nothing, whatever they hold (stale infinities and NaNs included).
    #[test]
    fn masked_rows_contribute_nothing((f, mut w, mut x) in column_strategy(), k in 0..=64usize) {
        let k = k.min(w.len());
        let nan = f.canonical_nan_bits();
        for r in k..w.len() {
            if r % 2 == 0 { w[r] = nan; } else { x[r] = f.pos_inf_bits().unwrap_or(nan); }
        }
        prop_assert_eq!(
            dot_in_hw_order_masked(f, &w, &x, k),
            dot_in_hw_order(f, &w[..k], &x[..k])
        );
        // With finite data and zero padding, masked rows equal plain zero products.
        let pad = |v: &[u16]| -> Vec<u16> {
            v.iter().enumerate().map(|(r, &c)| if r < k { finite(f, c) } else { 0 }).collect()
        };
        let (wf, xf) = (pad(&w), pad(&x));
        prop_assert_eq!(dot_in_hw_order_masked(f, &wf, &xf, k), dot_in_hw_order(f, &wf, &xf));
    }

    /// PSUM update: accumulate adds in the order old + column; overwrite takes the column.
    #[test]
    fn psum_update_rule(old in any::<u32>(), (f, w, x) in column_strategy(), acc in any::<bool>()) {
        let col = dot_in_hw_order(f, &w, &x);
        let new = psum_update(acc, old, col);
        if acc {
            let host = f32::from_bits(old) + f32::from_bits(col);
            if f32_is_nan(host.to_bits()) {
                prop_assert_eq!(new, F32_CANONICAL_NAN);
            } else {
                prop_assert_eq!(new, host.to_bits());
            }
        } else {
            prop_assert_eq!(new, col);
        }
    }
}

#[test]
fn f32_classification() {
    assert_eq!(f32_classify(0x8000_0000), FpClass::Zero);
    assert_eq!(f32_classify(0x0000_0001), FpClass::Subnormal);
    assert_eq!(f32_classify(0x0080_0000), FpClass::Normal);
    assert_eq!(f32_classify(0xFF80_0000), FpClass::Infinite);
    assert_eq!(f32_classify(0xFF80_0001), FpClass::Nan);
    assert!(f32_is_nan(0xFFC0_0000) && !f32_is_nan(0xFF80_0000));
}

/// A worked example of order dependence: the same three products summed in a different order
/// give a different fp32 result, so the row order is part of the specification.
#[test]
fn order_matters() {
    let f = FpFormat::Bf16;
    let big = f.encode_f32(2f32.powi(24)); // 2^24
    let one = f.encode_f32(1.0);
    let m_big = f.encode_f32(-(2f32.powi(24)));
    let w = [big, one, m_big];
    let x = [one, one, one];
    // (2^24 + 1) rounds to 2^24 (tie to even), minus 2^24 = 0
    assert_eq!(dot_in_hw_order(f, &w, &x), 0);
    // 2^24 - 2^24 + 1 = 1
    assert_eq!(dot_in_hw_order(f, &[big, m_big, one], &x), 0x3F80_0000);
}
