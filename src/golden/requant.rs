//! The write-back arithmetic of ACTIVATE (`docs/memory-path.md`): 32-bit accumulators to the
//! SBUF element, bit-exact with ONNX Runtime's CPU kernels as measured in
//! `models/ortref/NOTES.md` (onnxruntime 1.32.0, x86-64), and ORT's multiplier computations for
//! a model compiler.
//!
//! # Integer accumulators to int8 / uint8 (ORT's `MlasRequantizeOutput`)
//!
//! ```text
//! acc = x + bias                  int32, wrapping (without bias: x)
//! f   = float32(acc)              round to nearest even (inexact above 2^24)
//! f   = f32(f * S)                one float32 multiply by the fp32 scale S
//! f   = f > qlo - zp ? f : qlo - zp     MAXPS: a NaN becomes qlo - zp
//! f   = f < qhi - zp ? f : qhi - zp     MINPS
//! out = round_half_even(f) + zp   an integer add (the result is in [qlo, qhi])
//! ```
//!
//! `[qlo, qhi]` is the output type's range, narrowed by the function: relu `qlo = max(qlo, zp)`
//! (the real value 0), clamp `qlo = max(qlo, lo)`, `qhi = min(qhi, hi)`. Since the bounds are
//! integers this equals clamping ORT's output afterwards (`Clip` on the 8-bit tensor), which is
//! how the test vectors get relu and clamp from ORT; crossed bounds (`lo > hi`) give `qhi`, as
//! `Clip` does, and a NaN gives `min(qlo, qhi)`.
//!
//! # To bf16 / fp8
//!
//! `f` as above (integer accumulators: `f32(float32(acc) * S)`, which is ORT's
//! `DequantizeLinear` of an int32; fp32 accumulators: `f32(f32(x * S) + bias)`, ORT's `Mul` then
//! `Add`), then relu as ORT's `Relu`: `f < 0 ? +0 : f` (a NaN and `-0` pass unchanged), then the
//! format's rounding to nearest even: bf16 overflows to infinity (ORT's `Cast`); E4M3 and E5M2
//! saturate to their largest finite value, infinities included (ORT's `Cast` with
//! `saturate = 1`). A NaN result is the format's canonical NaN (`0x7FC0`, `0x7F`, `0x7E`): ORT
//! keeps the sign of its NaN, which depends on how the host made it; the engine does not
//! reproduce that, and the test vectors compare NaNs as NaNs.
//!
//! # Host floating point
//!
//! The steps above use the host's `f32` only where one IEEE 754 binary32 operation, rounded to
//! nearest even, is exactly the formula: `i32 as f32` (Rust rounds integer-to-float conversions
//! to nearest, ties to even), `f32 * f32`, `f32 + f32` and `f32 / f32` (IEEE operations on
//! x86-64 SSE with the default MXCSR: subnormals kept, no flush to zero), comparisons, and
//! `round_ties_even`. NaN payloads of host operations are unspecified; nothing here depends on
//! them (NaNs are only tested for or replaced by the canonical NaN). The conversion to bf16 /
//! fp8 is [`FpFormat::encode_f32_bits`] (integer arithmetic on the bit pattern).

use crate::format::FpFormat;
use crate::isa::{ActDtype, ActFunc};

/// `float32(acc)`: the int32 rounded to the nearest float32, ties to even (`cvtdq2ps`).
pub fn acc_to_f32(acc: i32) -> f32 {
    acc as f32 // Rust: integer-to-float conversion rounds to nearest, ties to even.
}

/// MAXPS: `x > lo ? x : lo` (a NaN `x` gives `lo`).
pub fn max_ps(x: f32, lo: f32) -> f32 {
    if x > lo {
        x
    } else {
        lo
    }
}

/// MINPS: `x < hi ? x : hi` (a NaN `x` gives `hi`).
pub fn min_ps(x: f32, hi: f32) -> f32 {
    if x < hi {
        x
    } else {
        hi
    }
}

/// ORT's requantisation of one int32 accumulator (bias already added) to an integer in
/// `[qlo, qhi]` with zero point `zp` (`qlo <= zp` is not required; crossed bounds give `qhi`).
/// `scale` is the fp32 multiplier.
pub fn requantize(acc: i32, scale: f32, zp: i32, qlo: i32, qhi: i32) -> i32 {
    let f = acc_to_f32(acc) * scale; // one IEEE binary32 multiply
                                     // The bounds are small integers: exact in f32.
    let f = max_ps(f, (qlo - zp) as f32);
    let f = min_ps(f, (qhi - zp) as f32);
    // |f| <= 2^9 here, so the rounded value converts to i32 exactly.
    f.round_ties_even() as i32 + zp
}

/// The value range of an integer output type.
pub fn int_range(dtype: ActDtype) -> Option<(i32, i32)> {
    match dtype {
        ActDtype::Int8 => Some((-128, 127)),
        ActDtype::Uint8 => Some((0, 255)),
        _ => None,
    }
}

/// An 8-bit field (`zp`, `lo`, `hi` of ACTIVATE) as a value of the integer output type: int8
/// two's complement, uint8 unsigned.
pub fn field_value(dtype: ActDtype, bits: u32) -> i32 {
    match dtype {
        ActDtype::Int8 => i32::from(bits as u8 as i8),
        _ => (bits & 0xFF) as i32,
    }
}

/// The floating-point format of a float output type.
pub fn float_format(dtype: ActDtype) -> Option<FpFormat> {
    match dtype {
        ActDtype::Bf16 => Some(FpFormat::Bf16),
        ActDtype::Fp8E4M3 => Some(FpFormat::E4M3),
        ActDtype::Fp8E5M2 => Some(FpFormat::E5M2),
        _ => None,
    }
}

/// The integer write-back of one element: `x` the int32 accumulator, `bias` the int32 bias if
/// added, `scale` the fp32 scale's bits, `zp`, `lo`, `hi` the instruction's 8-bit fields.
/// Returns the output value in the dtype's range.
///
/// # Panics
/// If `dtype` is not int8 or uint8.
#[allow(clippy::too_many_arguments)]
pub fn write_back_int(
    x: i32,
    bias: Option<i32>,
    scale: u32,
    dtype: ActDtype,
    func: ActFunc,
    zp: u32,
    lo: u32,
    hi: u32,
) -> i32 {
    let (mut qlo, mut qhi) = int_range(dtype).expect("an integer dtype");
    let zp = field_value(dtype, zp);
    match func {
        ActFunc::Identity => {}
        ActFunc::Relu => qlo = qlo.max(zp),
        ActFunc::Clamp => {
            qlo = qlo.max(field_value(dtype, lo));
            qhi = qhi.min(field_value(dtype, hi));
        }
    }
    let acc = x.wrapping_add(bias.unwrap_or(0));
    requantize(acc, f32::from_bits(scale), zp, qlo, qhi)
}

/// ORT's `Relu` on a float32: `f < 0 ? +0 : f` (NaN and `-0` unchanged).
pub fn relu(f: f32) -> f32 {
    if f < 0.0 {
        0.0
    } else {
        f
    }
}

/// `f` rounded to `format`, nearest even: bf16 overflows to infinity; E4M3 and E5M2 saturate
/// (infinities too: ORT's `Cast` with `saturate = 1`); NaN gives the canonical NaN.
pub fn cast(f: f32, format: FpFormat) -> u16 {
    let out = format.encode_f32_bits(f.to_bits());
    match (format, format.pos_inf_bits()) {
        (FpFormat::E5M2, Some(inf)) if out & !format.sign_bit() == inf => {
            (out & format.sign_bit()) | format.max_finite_bits()
        }
        _ => out,
    }
}

/// The float write-back of one element from an int32 accumulator: `f32(float32(x + bias) *
/// S)`, relu if asked, cast to `format`. Returns the output's bit pattern.
pub fn write_back_int_to_float(
    x: i32,
    bias: Option<i32>,
    scale: u32,
    relu_on: bool,
    format: FpFormat,
) -> u16 {
    let acc = x.wrapping_add(bias.unwrap_or(0));
    let f = acc_to_f32(acc) * f32::from_bits(scale); // one IEEE binary32 multiply
    cast(if relu_on { relu(f) } else { f }, format)
}

/// The float write-back of one element from an fp32 accumulator (bits `x`): `f32(f32(x * S) +
/// bias)` (without bias: `f32(x * S)`), relu if asked, cast to `format`.
pub fn write_back_fp32(
    x: u32,
    bias: Option<u32>,
    scale: u32,
    relu_on: bool,
    format: FpFormat,
) -> u16 {
    let p = f32::from_bits(x) * f32::from_bits(scale); // one IEEE binary32 multiply
    let f = match bias {
        Some(b) => p + f32::from_bits(b), // one IEEE binary32 add
        None => p,
    };
    cast(if relu_on { relu(f) } else { f }, format)
}

// ---- The multipliers ORT hands to the write-back (NOTES.md section 2), for a model compiler.

/// QLinearMatMul and QLinearConv: `f32(f32(a_scale * b_scale) / y_scale)`, left to right.
pub fn scale_qlinear(a_scale: f32, b_scale: f32, y_scale: f32) -> f32 {
    (a_scale * b_scale) / y_scale // two IEEE binary32 operations, in this order
}

/// com.microsoft QGemm: `f32(f32(f32(alpha * a_scale) * b_scale) / y_scale)`.
pub fn scale_qgemm(alpha: f32, a_scale: f32, b_scale: f32, y_scale: f32) -> f32 {
    ((alpha * a_scale) * b_scale) / y_scale // three IEEE binary32 operations, in this order
}

/// QLinearGlobalAveragePool: `f32(x_scale / f32(y_scale * float(image_size)))` (ORT refuses
/// image sizes of 2^24 and more, so `float(image_size)` is exact).
pub fn scale_gap(x_scale: f32, y_scale: f32, image_size: u32) -> f32 {
    x_scale / (y_scale * image_size as f32) // exact conversion below 2^24, then two operations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_round_to_even_and_the_zero_point_is_added_after() {
        let r = |acc, s: f32, zp| requantize(acc, s, zp, 0, 255);
        assert_eq!(
            [1, 3, 5, 7, -1].map(|a| requantize(a, 0.5, 0, -128, 127)),
            [0, 2, 2, 4, 0]
        );
        assert_eq!(r(3, 0.5, 100), 102);
        assert_eq!(r(-3, 0.5, 100), 98);
        assert_eq!(r(1000, 1.0, 0), 255);
        assert_eq!(r(-1000, 1.0, 7), 0);
    }
}
