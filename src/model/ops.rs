//! The operators that run on the host, in ONNX Runtime 1.32.0's arithmetic on x86-64
//! (`models/ortref/NOTES.md` section 4): QuantizeLinear, DequantizeLinear, com.microsoft
//! QLinearAdd, the float Add between DequantizeLinear and QuantizeLinear that ORT keeps for the
//! int8 QDQ MLP, MaxPool on 8-bit tensors, and im2col for convolutions. The requantisation of
//! the engine's accumulators is not here: it is [`crate::golden::requant`] (ACTIVATE's
//! arithmetic).
//!
//! Every float step is one IEEE binary32 operation rounded to nearest even (Rust's `f32`
//! arithmetic on x86-64 with the default MXCSR), or a fused multiply-add rounded once
//! (`f32::mul_add`), exactly as the formulas name them.

use crate::golden::requant::{max_ps, min_ps};

/// An 8-bit quantised type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QType {
    Int8,
    Uint8,
}

impl QType {
    pub fn range(self) -> (i32, i32) {
        match self {
            QType::Int8 => (-128, 127),
            QType::Uint8 => (0, 255),
        }
    }

    /// What is subtracted to bring a value into int8 (the engine's format).
    pub fn shift(self) -> i32 {
        match self {
            QType::Int8 => 0,
            QType::Uint8 => 128,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            QType::Int8 => "int8",
            QType::Uint8 => "uint8",
        }
    }
}

/// Scale, zero point and type of an 8-bit tensor (per tensor).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QParams {
    pub scale: f32,
    pub zp: i32,
    pub ty: QType,
}

/// `cvtps2dq` under the default MXCSR: round half to even; NaN and values outside the int32
/// range give `i32::MIN` (the "integer indefinite" value).
pub fn cvtps2dq(f: f32) -> i32 {
    let r = f.round_ties_even();
    if r.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&r) {
        i32::MIN
    } else {
        r as i32
    }
}

/// QuantizeLinear: `f = f32(x / scale)` (a true division), MAXPS with `lo - zp`, MINPS with
/// `hi - zp` (a NaN gives `lo - zp`), round half to even, plus `zp`.
pub fn quantize(x: f32, q: QParams) -> i32 {
    let (lo, hi) = q.ty.range();
    let f = x / q.scale;
    let f = max_ps(f, (lo - q.zp) as f32);
    let f = min_ps(f, (hi - q.zp) as f32);
    f.round_ties_even() as i32 + q.zp
}

/// DequantizeLinear: `f32(float(q - zp) * scale)`.
pub fn dequantize(v: i32, q: QParams) -> f32 {
    (v - q.zp) as f32 * q.scale
}

fn saturate(v: i32, ty: QType) -> i32 {
    let (lo, hi) = ty.range();
    v.clamp(-32768, 32767).clamp(lo, hi)
}

/// com.microsoft QLinearAdd (MLAS's AVX2 kernel, NOTES.md section 4): `c = a + b` with `a`
/// the node's first input and `b` its second, each either the whole tensor or repeating along it
/// (`x[i % x.len()]`: a trailing-axes broadcast, such as a bias vector along the rows).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QAdd {
    pub a: QParams,
    pub b: QParams,
    pub c: QParams,
}

impl QAdd {
    /// `out[i] = a[i % a.len()] + b[i % b.len()]` in ORT's arithmetic. A one-element `b` is
    /// folded into the constant; a one-element `a` is passed as the second operand (as ORT
    /// does).
    pub fn run(&self, a: &[i32], b: &[i32]) -> Vec<i32> {
        if b.len() == 1 {
            return self.scalar_second(a, b[0]);
        }
        if a.len() == 1 {
            let swapped = QAdd {
                a: self.b,
                b: self.a,
                c: self.c,
            };
            return swapped.scalar_second(b, a[0]);
        }
        let (ra, rb, p) = self.constants();
        (0..a.len().max(b.len()))
            .map(|i| {
                let t = (b[i % b.len()] as f32).mul_add(rb, p);
                let t = (a[i % a.len()] as f32).mul_add(ra, t);
                saturate(cvtps2dq(t), self.c.ty)
            })
            .collect()
    }

    fn scalar_second(&self, a: &[i32], b: i32) -> Vec<i32> {
        let (ra, rb, p) = self.constants();
        let p = (b as f32).mul_add(rb, p);
        a.iter()
            .map(|&x| saturate(cvtps2dq((x as f32).mul_add(ra, p)), self.c.ty))
            .collect()
    }

    /// `rA = a_scale / c_scale`, `rB = b_scale / c_scale`,
    /// `P = c_zp - fma(rA, a_zp, f32(rB * b_zp))`.
    fn constants(&self) -> (f32, f32, f32) {
        let ra = self.a.scale / self.c.scale;
        let rb = self.b.scale / self.c.scale;
        let p = self.c.zp as f32 - ra.mul_add(self.a.zp as f32, rb * self.b.zp as f32);
        (ra, rb, p)
    }
}

/// The float Add that ORT keeps between DequantizeLinear and QuantizeLinear:
/// `quantize(f32(dequantize(a) + dequantize(b)))`, broadcast as in [`QAdd::run`].
pub fn float_add(a: &[i32], b: &[i32], p: &QAdd) -> Vec<i32> {
    (0..a.len().max(b.len()))
        .map(|i| {
            let s = dequantize(a[i % a.len()], p.a) + dequantize(b[i % b.len()], p.b);
            quantize(s, p.c)
        })
        .collect()
}

/// A 2-D window: kernel, strides, pads (top, left, bottom, right), dilations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub pads: [usize; 4],
    pub dilations: [usize; 2],
}

impl Window {
    /// Output height and width for an input of `h x w` (floor, as `ceil_mode = 0`), or `None`
    /// if the window does not fit once.
    pub fn out_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let one = |n: usize, k: usize, s: usize, p0: usize, p1: usize, d: usize| {
            let span = d * (k - 1) + 1;
            (n + p0 + p1).checked_sub(span).map(|r| r / s + 1)
        };
        Some((
            one(
                h,
                self.kernel[0],
                self.strides[0],
                self.pads[0],
                self.pads[2],
                self.dilations[0],
            )?,
            one(
                w,
                self.kernel[1],
                self.strides[1],
                self.pads[1],
                self.pads[3],
                self.dilations[1],
            )?,
        ))
    }

    /// The input position of output `(oy, ox)` and kernel tap `(i, j)`, `None` in the padding.
    fn tap(&self, oy: usize, ox: usize, i: usize, j: usize, h: usize, w: usize) -> Option<usize> {
        let y = (oy * self.strides[0] + i * self.dilations[0]).checked_sub(self.pads[0])?;
        let x = (ox * self.strides[1] + j * self.dilations[1]).checked_sub(self.pads[1])?;
        (y < h && x < w).then_some(y * w + x)
    }
}

/// MaxPool of NCHW 8-bit tensors (`batch` images of `c x h x w`): the integer maximum over each
/// window's positions inside the image (padding never wins).
pub fn max_pool(x: &[i32], batch: usize, chw: [usize; 3], win: &Window) -> Vec<i32> {
    let [c, h, w] = chw;
    let (oh, ow) = win.out_size(h, w).expect("checked at import");
    let mut out = Vec::with_capacity(batch * c * oh * ow);
    for plane in x.chunks_exact(h * w).take(batch * c) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = i32::MIN;
                for i in 0..win.kernel[0] {
                    for j in 0..win.kernel[1] {
                        if let Some(p) = win.tap(oy, ox, i, j, h, w) {
                            m = m.max(plane[p]);
                        }
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

/// im2col of NCHW images for a convolution with weights `[m, c, kh, kw]`: a `K x N` matrix
/// (row-major, K = c*kh*kw in the weights' order, N = batch*oh*ow with the image outermost),
/// `pad` at the padding positions. Values are `x - shift`.
pub fn im2col(
    x: &[i32],
    batch: usize,
    chw: [usize; 3],
    win: &Window,
    shift: i32,
    pad: i32,
) -> Vec<i64> {
    let [c, h, w] = chw;
    let (oh, ow) = win.out_size(h, w).expect("checked at import");
    let n = batch * oh * ow;
    let k = c * win.kernel[0] * win.kernel[1];
    let mut out = vec![0i64; k * n];
    for b in 0..batch {
        for ch in 0..c {
            let plane = &x[(b * c + ch) * h * w..][..h * w];
            for i in 0..win.kernel[0] {
                for j in 0..win.kernel[1] {
                    let row = (ch * win.kernel[0] + i) * win.kernel[1] + j;
                    let dst = &mut out[row * n + b * oh * ow..][..oh * ow];
                    for oy in 0..oh {
                        for ox in 0..ow {
                            dst[oy * ow + ox] = match win.tap(oy, ox, i, j, h, w) {
                                Some(p) => i64::from(plane[p] - shift),
                                None => i64::from(pad),
                            };
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_divides_rounds_to_even_and_saturates() {
        let q = QParams {
            scale: 0.5,
            zp: -128,
            ty: QType::Int8,
        };
        assert_eq!(quantize(0.25, q), -128); // 0.5 -> 0 (even), + zp
        assert_eq!(quantize(0.75, q), -126); // 1.5 -> 2
        assert_eq!(quantize(1e9, q), 127);
        assert_eq!(quantize(f32::NAN, q), -128);
        assert_eq!(dequantize(-126, q), 1.0);
    }

    #[test]
    fn cvtps2dq_gives_the_indefinite_value_out_of_range() {
        assert_eq!(cvtps2dq(2.5), 2);
        assert_eq!(cvtps2dq(-3.5), -4);
        assert_eq!(cvtps2dq(3e9), i32::MIN);
        assert_eq!(cvtps2dq(f32::NAN), i32::MIN);
    }

    #[test]
    fn pooling_and_im2col_shapes() {
        let win = Window {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
            dilations: [1, 1],
        };
        let x: Vec<i32> = (0..16).collect();
        assert_eq!(max_pool(&x, 1, [1, 4, 4], &win), vec![5, 7, 13, 15]);
        let conv = Window {
            kernel: [3, 3],
            strides: [1, 1],
            pads: [1, 1, 1, 1],
            dilations: [1, 1],
        };
        let cols = im2col(&x, 1, [1, 4, 4], &conv, 0, -99);
        assert_eq!(cols.len(), 9 * 16);
        // Tap (0, 0) of output (0, 0) is in the padding; the centre tap is the pixel itself.
        assert_eq!(cols[0], -99);
        assert_eq!(
            &cols[4 * 16..5 * 16],
            &(0..16).map(i64::from).collect::<Vec<_>>()[..]
        );
    }
}
