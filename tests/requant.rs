//! The write-back arithmetic (`systolic::golden::requant`): exhaustive edges against a
//! reference written here from the formulas (exact `f64` arithmetic, a rounding by hand, an
//! fp8 table search), and a cross-check against ONNX Runtime's outputs
//! (`models/ortref/activate_vectors.py`, through `.venv-models`; with `CI` set a missing Python
//! or onnxruntime fails the test).

mod common;

use systolic::format::FpFormat;
use systolic::golden::requant::{
    self, cast, requantize, scale_gap, scale_qgemm, scale_qlinear, write_back_fp32, write_back_int,
    write_back_int_to_float,
};
use systolic::isa::{ActDtype, ActFunc};

// ---- The reference ----

/// Round half to even of an exact value (`v` is an f32 value held in an f64, so the
/// fraction is exact).
fn rne(v: f64) -> f64 {
    let fl = v.floor();
    let d = v - fl;
    if d > 0.5 || (d == 0.5 && fl.rem_euclid(2.0) == 1.0) {
        fl + 1.0
    } else {
        fl
    }
}

/// `f32(float32(acc) * s)` with f64: the int32 is exact in f64 and one rounding to f32 is
/// `float32(acc)`; the product of two f32 is exact in f64 and one rounding to f32 is the f32
/// product.
fn f32_product(acc: i64, s: f32) -> f32 {
    let a = acc as f64 as f32;
    (f64::from(a) * f64::from(s)) as f32
}

fn wrap32(v: i64) -> i64 {
    i64::from(v as i32)
}

/// out = clamp(RNE(f) + zp) in integers, which for integer bounds equals the engine's clamp in
/// float; a NaN gives the lower bound (then the upper one if they cross).
fn reference_int(acc: i64, s: f32, zp: i64, qlo: i64, qhi: i64) -> i64 {
    let f = f64::from(f32_product(acc, s));
    let r = if f.is_nan() {
        qlo
    } else {
        (rne(f.clamp(-1e12, 1e12)) as i64 + zp).max(qlo)
    };
    r.max(qlo).min(qhi)
}

fn narrowed(dtype: ActDtype, func: ActFunc, zp: i64, lo: i64, hi: i64) -> (i64, i64) {
    let (tlo, thi) = if dtype == ActDtype::Int8 {
        (-128, 127)
    } else {
        (0, 255)
    };
    match func {
        ActFunc::Identity => (tlo, thi),
        ActFunc::Relu => (tlo.max(zp), thi),
        ActFunc::Clamp => (tlo.max(lo), thi.min(hi)),
    }
}

fn bits8(dtype: ActDtype, v: i64) -> u32 {
    if dtype == ActDtype::Int8 {
        u32::from(v as i8 as u8)
    } else {
        v as u32
    }
}

/// The finite magnitudes of an fp8 format, by bit pattern 0..=max (decoded here).
fn fp8_magnitudes(f: FpFormat) -> Vec<(u16, f64)> {
    let (man, bias, max_bits) = match f {
        FpFormat::E4M3 => (3, 7, 0x7E),
        FpFormat::E5M2 => (2, 15, 0x7B),
        FpFormat::Bf16 => unreachable!(),
    };
    (0..=max_bits)
        .map(|b: u16| {
            let e = i32::from(b >> man);
            let m = f64::from(b & ((1 << man) - 1));
            let v = if e == 0 {
                m * 2f64.powi(1 - bias - man)
            } else {
                (m + f64::from(1 << man)) * 2f64.powi(e - bias - man)
            };
            (b, v)
        })
        .collect()
}

/// `v` to an fp8 format: nearest, ties to the even pattern, saturating; NaN canonical.
fn reference_fp8(v: f32, f: FpFormat) -> u16 {
    if v.is_nan() {
        return f.canonical_nan_bits();
    }
    let sign = if v.is_sign_negative() { 0x80 } else { 0 };
    let a = f64::from(v.abs());
    let table = fp8_magnitudes(f);
    let (max_b, max_v) = *table.last().unwrap();
    if a >= max_v {
        return sign | max_b;
    }
    let i = table.iter().position(|&(_, m)| m > a).unwrap();
    let (lb, lv) = table[i - 1];
    let (hb, hv) = table[i];
    let pick = if a - lv < hv - a || (a - lv == hv - a && lb % 2 == 0) {
        lb
    } else {
        hb
    };
    sign | pick
}

/// `v` to bf16: the rounding to nearest even on the bit pattern (overflow to infinity).
fn reference_bf16(v: f32) -> u16 {
    if v.is_nan() {
        return 0x7FC0;
    }
    let b = v.to_bits();
    ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) as u16
}

fn reference_cast(v: f32, f: FpFormat) -> u16 {
    match f {
        FpFormat::Bf16 => reference_bf16(v),
        _ => reference_fp8(v, f),
    }
}

fn reference_relu(v: f32) -> f32 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

// ---- Edge values ----

const ACC: [i64; 21] = [
    i32::MIN as i64,
    i32::MAX as i64,
    i32::MIN as i64 + 1,
    i32::MAX as i64 - 1,
    0,
    1,
    -1,
    2,
    -3,
    5,
    255,
    256,
    -255,
    -257,
    1 << 24,
    (1 << 24) + 1,
    (1 << 24) + 3,
    -(1 << 24) - 1,
    (1 << 25) + 3,
    1_000_000_007,
    -1_234_567_891,
];

const BIAS: [Option<i64>; 7] = [
    None,
    Some(0),
    Some(1),
    Some(-1),
    Some(i32::MAX as i64),
    Some(i32::MIN as i64),
    Some(12345),
];

fn scales() -> Vec<f32> {
    let mut s = vec![
        0.5,
        0.25,
        0.125,
        1.0,
        2.0,
        1.0 / 3.0,
        0.1,
        1e-40,
        f32::from_bits(1),
        -f32::from_bits(1),
        1e-10,
        1e4,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -1.0,
        -0.5,
        0.0,
        -0.0,
        2f32.powi(-24),
        255.5,
        1e-3,
        2f32.powi(-31),
        3.0e-8,
    ];
    // Multipliers that put (1 << 24) + 1 and friends on ties after float32 rounding.
    s.extend([2f32.powi(-25), 2f32.powi(-23), 1.5 * 2f32.powi(-20)]);
    s
}

fn zero_points(dtype: ActDtype) -> Vec<i64> {
    if dtype == ActDtype::Int8 {
        vec![-128, -127, -1, 0, 1, 126, 127]
    } else {
        vec![0, 1, 127, 128, 254, 255]
    }
}

fn funcs(dtype: ActDtype) -> Vec<(ActFunc, i64, i64)> {
    let (tlo, thi) = if dtype == ActDtype::Int8 {
        (-128, 127)
    } else {
        (0, 255)
    };
    vec![
        (ActFunc::Identity, 0, 0),
        (ActFunc::Relu, 0, 0),
        (ActFunc::Clamp, tlo, thi),
        (ActFunc::Clamp, tlo + 10, tlo + 10),
        (ActFunc::Clamp, tlo + 3, thi - 3),
        (ActFunc::Clamp, thi - 2, tlo + 2), // crossed
    ]
}

#[test]
fn integer_write_back_on_every_edge_combination() {
    let mut n = 0u64;
    for dtype in [ActDtype::Int8, ActDtype::Uint8] {
        for &x in &ACC {
            for bias in BIAS {
                let acc = wrap32(x + bias.unwrap_or(0));
                for s in scales() {
                    for zp in zero_points(dtype) {
                        for (func, lo, hi) in funcs(dtype) {
                            let (qlo, qhi) = narrowed(dtype, func, zp, lo, hi);
                            let want = reference_int(acc, s, zp, qlo, qhi);
                            let got = write_back_int(
                                x as i32,
                                bias.map(|b| b as i32),
                                s.to_bits(),
                                dtype,
                                func,
                                bits8(dtype, zp),
                                bits8(dtype, lo),
                                bits8(dtype, hi),
                            );
                            assert_eq!(
                                i64::from(got),
                                want,
                                "{dtype:?} {func:?} x={x} bias={bias:?} scale={s:e} ({:#x}) \
                                 zp={zp} lo={lo} hi={hi}",
                                s.to_bits()
                            );
                            n += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(n > 200_000, "{n} cases");
}

#[test]
fn integer_write_back_known_values() {
    // Ties to even, the zero point added after the rounding.
    assert_eq!(
        [1, 3, 5, 7, -1, -3, -5].map(|a| requantize(a, 0.5, 0, -128, 127)),
        [0, 2, 2, 4, 0, -2, -2]
    );
    assert_eq!(requantize(5, 0.5, 1, -128, 127), 3);
    // Saturation both ways, with the zero point at either end.
    assert_eq!(requantize(i32::MAX, 1.0, 0, -128, 127), 127);
    assert_eq!(requantize(i32::MIN, 1.0, 0, -128, 127), -128);
    assert_eq!(requantize(1000, 1.0, 255, 0, 255), 255);
    assert_eq!(requantize(-1000, 1.0, 0, 0, 255), 0);
    assert_eq!(requantize(-1, 1.0, -128, -128, 127), -128);
    // An infinite multiplier times 0 is NaN: the type minimum, not the zero point (NOTES.md).
    assert_eq!(requantize(0, f32::INFINITY, 100, 0, 255), 0);
    assert_eq!(requantize(1, f32::INFINITY, 100, 0, 255), 255);
    assert_eq!(requantize(-1, f32::INFINITY, 100, 0, 255), 0);
    assert_eq!(requantize(7, f32::NAN, 3, -128, 127), -128);
    // float32(2^24 + 1) = 2^24: the conversion rounds to even before the multiply.
    assert_eq!(requantize((1 << 24) + 1, 2f32.powi(-24), 0, -128, 127), 1);
    // 2^24 + 1 becomes 2^24, and 2^24 * 2^-25 = 0.5 is a tie (exactly it would be above).
    assert_eq!(requantize((1 << 24) + 1, 2f32.powi(-25), 0, -128, 127), 0);
    assert_eq!(requantize((1 << 24) + 3, 2f32.powi(-25), 0, -128, 127), 1);
    // The bias wraps: i32::MAX + 1 is i32::MIN.
    assert_eq!(
        write_back_int(
            i32::MAX,
            Some(1),
            1f32.to_bits(),
            ActDtype::Int8,
            ActFunc::Identity,
            0,
            0,
            0
        ),
        -128
    );
    // Relu at the zero point; crossed clamp bounds give hi; NaN under relu gives zp.
    let wb = |x, s: f32, func, zp, lo, hi| {
        write_back_int(x, None, s.to_bits(), ActDtype::Uint8, func, zp, lo, hi)
    };
    assert_eq!(wb(-50, 1.0, ActFunc::Relu, 100, 0, 0), 100);
    assert_eq!(wb(50, 1.0, ActFunc::Relu, 100, 0, 0), 150);
    assert_eq!(wb(50, 1.0, ActFunc::Clamp, 0, 200, 10), 10);
    assert_eq!(wb(0, f32::NAN, ActFunc::Relu, 100, 0, 0), 100);
    assert_eq!(wb(0, f32::NAN, ActFunc::Clamp, 0, 20, 30), 20);
    assert_eq!(wb(0, f32::NAN, ActFunc::Clamp, 0, 30, 20), 20);
    // int8 fields are two's complement.
    assert_eq!(
        write_back_int(
            -10,
            None,
            1f32.to_bits(),
            ActDtype::Int8,
            ActFunc::Clamp,
            0xFB, // zp -5
            0xF0, // lo -16
            0x05
        ),
        -15
    );
}

#[test]
fn float_write_back_on_every_edge_combination() {
    let mut n = 0u64;
    for format in [FpFormat::Bf16, FpFormat::E4M3, FpFormat::E5M2] {
        for relu in [false, true] {
            for &x in &ACC {
                for bias in BIAS {
                    let acc = wrap32(x + bias.unwrap_or(0));
                    for s in scales() {
                        let f = f32_product(acc, s);
                        let want = reference_cast(if relu { reference_relu(f) } else { f }, format);
                        let got = write_back_int_to_float(
                            x as i32,
                            bias.map(|b| b as i32),
                            s.to_bits(),
                            relu,
                            format,
                        );
                        assert_eq!(
                            got, want,
                            "{format:?} relu={relu} x={x} bias={bias:?} s={s:e}"
                        );
                        n += 1;
                    }
                }
            }
            // fp32 accumulators: x * s + bias computed in f64 and rounded once to f32, which is
            // the f32 operation's result (f64 has more than 2 * 24 + 2 bits: rounding twice
            // cannot differ for + and *).
            let xs = [
                0.0f32,
                -0.0,
                1.5,
                -2.75,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
                f32::from_bits(1),
                f32::MAX,
                448.0,
                460.0,
                464.0,
                57344.0,
                61440.0,
                1e-3,
            ];
            for &x in &xs {
                for s in scales() {
                    for b in [None, Some(0.0f32), Some(-0.0), Some(1.0), Some(-500.0)] {
                        let p = (f64::from(x) * f64::from(s)) as f32;
                        let f = match b {
                            Some(b) => (f64::from(p) + f64::from(b)) as f32,
                            None => p,
                        };
                        let want = reference_cast(if relu { reference_relu(f) } else { f }, format);
                        let got = write_back_fp32(
                            x.to_bits(),
                            b.map(f32::to_bits),
                            s.to_bits(),
                            relu,
                            format,
                        );
                        assert_eq!(got, want, "{format:?} relu={relu} x={x:e} s={s:e} b={b:?}");
                        n += 1;
                    }
                }
            }
        }
    }
    assert!(n > 20_000, "{n} cases");
}

#[test]
fn float_casts_known_values() {
    // E4M3 and E5M2 saturate, infinities too; bf16 overflows to infinity.
    assert_eq!(cast(f32::INFINITY, FpFormat::E4M3), 0x7E);
    assert_eq!(cast(f32::NEG_INFINITY, FpFormat::E4M3), 0xFE);
    assert_eq!(cast(464.0, FpFormat::E4M3), 0x7E);
    assert_eq!(cast(f32::INFINITY, FpFormat::E5M2), 0x7B);
    assert_eq!(cast(-1e6, FpFormat::E5M2), 0xFB);
    assert_eq!(cast(3.4e38, FpFormat::Bf16), 0x7F80);
    // NaN: the canonical NaN of the format, whatever its sign.
    assert_eq!(cast(-f32::NAN, FpFormat::Bf16), 0x7FC0);
    assert_eq!(cast(f32::NAN, FpFormat::E4M3), 0x7F);
    assert_eq!(cast(f32::NAN, FpFormat::E5M2), 0x7E);
    // Ties to even.
    assert_eq!(cast(1.0 + 2f32.powi(-8), FpFormat::Bf16), 0x3F80);
    assert_eq!(cast(1.0 + 3.0 * 2f32.powi(-8), FpFormat::Bf16), 0x3F82);
    assert_eq!(cast(1.0625, FpFormat::E4M3), 0x38); // 1 + 1/16 between 1 and 1.125
                                                    // Relu: -0 and NaN pass as ORT's Relu passes them.
    assert_eq!(requant::relu(-0.0).to_bits(), 0x8000_0000);
    assert!(requant::relu(f32::NAN).is_nan());
    assert_eq!(requant::relu(-3.0), 0.0);
}

// ---- ONNX Runtime ----

fn u32s(v: &serde_json::Value, key: &str) -> Vec<u32> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|x| x.as_i64().expect("integer") as u32)
        .collect()
}

fn i64s(v: &serde_json::Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

fn dtype_of(name: &str) -> ActDtype {
    ActDtype::ALL
        .into_iter()
        .find(|d| d.name() == name)
        .expect("dtype")
}

/// Mismatches of the write-back against the ORT vectors: (compared, mismatches, first few).
fn compare_with_ort(vectors: &serde_json::Value) -> (usize, usize, Vec<String>) {
    let (mut n, mut bad, mut shown) = (0, 0, vec![]);
    for g in vectors["groups"].as_array().expect("groups") {
        let dtype = dtype_of(g["dtype"].as_str().unwrap());
        let func = match g["func"].as_str().unwrap() {
            "identity" => ActFunc::Identity,
            "relu" => ActFunc::Relu,
            _ => ActFunc::Clamp,
        };
        let with_bias = g["bias"].as_bool().unwrap();
        let fp32 = g["acc"].as_str() == Some("fp32");
        let (zp, lo, hi) = (
            g["zp"].as_i64().unwrap(),
            g["lo"].as_i64().unwrap(),
            g["hi"].as_i64().unwrap(),
        );
        let (x, b, s, out) = (u32s(g, "x"), u32s(g, "b"), u32s(g, "scale"), i64s(g, "out"));
        let nan: Vec<bool> = g["nan"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_bool().unwrap())
            .collect();
        for i in 0..x.len() {
            let bias = with_bias.then_some(b[i]);
            let (got, ok) = if let Some(format) = requant::float_format(dtype) {
                let relu = func == ActFunc::Relu;
                let got = if fp32 {
                    write_back_fp32(x[i], bias, s[i], relu, format)
                } else {
                    write_back_int_to_float(x[i] as i32, bias.map(|v| v as i32), s[i], relu, format)
                };
                let is_nan = got == format.canonical_nan_bits();
                (
                    i64::from(got),
                    if nan[i] {
                        is_nan
                    } else {
                        i64::from(got) == out[i]
                    },
                )
            } else {
                let got = write_back_int(
                    x[i] as i32,
                    bias.map(|v| v as i32),
                    s[i],
                    dtype,
                    func,
                    bits8(dtype, zp),
                    bits8(dtype, lo),
                    bits8(dtype, hi),
                );
                (i64::from(got), i64::from(got) == out[i])
            };
            n += 1;
            if !ok {
                bad += 1;
                if shown.len() < 5 {
                    shown.push(format!(
                        "{} {dtype:?} {func:?} bias={with_bias} zp={zp} lo={lo} hi={hi}: x={:#x} b={:#x} scale={:#x}: ORT {} (nan {}), ours {got}",
                        g["acc"], x[i], b[i], s[i], out[i], nan[i]
                    ));
                }
            }
        }
    }
    (n, bad, shown)
}

#[test]
fn write_back_matches_onnx_runtime() {
    let Some(v) = common::ort_activate_vectors("write_back_matches_onnx_runtime") else {
        return;
    };
    let (n, bad, shown) = compare_with_ort(v);
    assert!(n >= 100_000, "only {n} vectors");
    assert_eq!(
        bad, 0,
        "{bad} of {n} differ from ONNX Runtime {}: {shown:#?}",
        v["onnxruntime"]
    );
    eprintln!(
        "write-back: {n} vectors bit-exact with ONNX Runtime {}",
        v["onnxruntime"]
    );
}

#[test]
fn multipliers_match_onnx_runtime() {
    let Some(v) = common::ort_activate_vectors("multipliers_match_onnx_runtime") else {
        return;
    };
    let f = |c: &serde_json::Value, k: &str| f32::from_bits(c[k].as_u64().unwrap() as u32);
    let cases = v["multipliers"].as_array().unwrap();
    assert!(cases.len() >= 100);
    let mut orders_differ = 0;
    for c in cases {
        let (acc0, zp) = (
            c["acc0"].as_i64().unwrap() as i32,
            c["zp"].as_i64().unwrap() as i32,
        );
        let (a, b, y, alpha) = (
            f(c, "a_scale"),
            f(c, "b_scale"),
            f(c, "y_scale"),
            f(c, "alpha"),
        );
        let mm = requantize(acc0, scale_qlinear(a, b, y), zp, 0, 255);
        assert_eq!(
            i64::from(mm),
            c["qlinear_matmul"].as_i64().unwrap(),
            "QLinearMatMul {c}"
        );
        let gm = requantize(acc0, scale_qgemm(alpha, a, b, y), zp, 0, 255);
        assert_eq!(i64::from(gm), c["qgemm"].as_i64().unwrap(), "QGemm {c}");
        // These triples are chosen so that the other order of operations can round otherwise.
        if requantize(acc0, a * (b / y), zp, 0, 255) != mm {
            orders_differ += 1;
        }
    }
    assert!(orders_differ > 0, "no case tells the two orders apart");
    for c in v["gap"].as_array().unwrap() {
        let (xz, yz) = (
            c["x_zp"].as_i64().unwrap() as i32,
            c["y_zp"].as_i64().unwrap() as i32,
        );
        let (xs, ys) = (f(c, "x_scale"), f(c, "y_scale"));
        let out = i64s(c, "out");
        for (ch, row) in c["x"].as_array().unwrap().iter().enumerate() {
            let row: Vec<i32> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as i32)
                .collect();
            let hw = row.len() as i32;
            let acc = row.iter().sum::<i32>() - xz * hw;
            let got = requantize(acc, scale_gap(xs, ys, hw as u32), yz, 0, 255);
            assert_eq!(i64::from(got), out[ch], "GAP {c}");
        }
    }
}
