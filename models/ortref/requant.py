"""Plain NumPy reference of the arithmetic ONNX Runtime's CPU execution provider
(MLAS, x86-64) uses for the quantised operators.

Everything here is written from the formulas in NOTES.md (which cite the ORT
source files); nothing calls ONNX Runtime.  float32 is used exactly where ORT
uses float32, and every float32 operation is a single IEEE-754 operation with
round-to-nearest-even, as on SSE/AVX with the default MXCSR.

Conventions
-----------
* Quantised tensors are NumPy int8/uint8 arrays; accumulators are int32 with
  two's-complement wrap-around (ORT adds them with vpaddd / _mm_add_epi32).
* ``qtype`` is ``np.uint8`` or ``np.int8``.
* ``variant`` arguments exist so that check.py can plant a deliberate error and
  show that the comparison catches it; the default is what ORT does.
"""

import numpy as np

F32 = np.float32
I32 = np.int32


def qrange(qtype):
    info = np.iinfo(qtype)
    return int(info.min), int(info.max)


def wrap_i32(x):
    """Reduce an exact integer array (int64 or Python ints) modulo 2**32 to int32."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF).astype(np.int64) - (1 << 31)


# ----------------------------------------------------------------------------
# the write-back unit: int32 accumulator -> 8-bit  (MlasRequantizeOutput and the
# post-process of the ConvSym kernels)
# ----------------------------------------------------------------------------

def f32_max_ps(x, lo):
    """MAXPS semantics: x > lo ? x : lo  (a NaN in x yields lo)."""
    return np.where(x > lo, x, lo).astype(F32)


def f32_min_ps(x, hi):
    """MINPS semantics: x < hi ? x : hi  (a NaN in x yields hi)."""
    return np.where(x < hi, x, hi).astype(F32)


def round_half_even(x):
    return np.rint(x)


def round_half_away(x):  # planted-error variant (C roundf)
    return np.sign(x) * np.floor(np.abs(x) + F32(0.5))


def requantize(acc, scale, zp, qtype, variant="ort"):
    """out = clamp(RNE(float32(acc) * scale) + zp).

    acc   : int32 accumulator (bias already added, wrapping), any shape; the
            last axis is the column / output-channel axis when ``scale`` is a
            vector.
    scale : float32 scalar or 1-D float32 vector (per column / channel).
    zp    : output zero point (Python int).

    Order (MlasRequantizeOutput, SSE2 path used on x86-64):
      1. f = cvtdq2ps(acc)            int32 -> float32, RNE (inexact above 2**24)
      2. f = f * scale                one float32 multiply
      3. f = max(f, float(lo - zp))   MAXPS (NaN -> lower bound)
      4. f = min(f, float(hi - zp))   MINPS
      5. i = cvtps2dq(f)              RNE to int32
      6. out = i + zp                 integer add, already in range
    """
    lo, hi = qrange(qtype)
    f = np.asarray(acc, dtype=np.int64).astype(I32).astype(F32)
    f = (f * np.asarray(scale, dtype=F32)).astype(F32)
    f = f32_max_ps(f, F32(lo - zp))
    f = f32_min_ps(f, F32(hi - zp))
    if variant == "half_away":
        r = round_half_away(f)
    else:
        r = round_half_even(f)
    return (r.astype(np.int64) + zp).astype(qtype)


# ----------------------------------------------------------------------------
# the float32 multiplier each kernel hands to the write-back unit
# ----------------------------------------------------------------------------

def scale_qlinear(a_scale, b_scale, y_scale, variant="ort"):
    """QLinearMatMul / QLinearConv: (a_scale * b_scale) / y_scale, two float32
    operations, left to right (quantize_linear_matmul.cc, qlinearconv.cc)."""
    a = F32(a_scale)
    b = np.asarray(b_scale, dtype=F32)
    y = F32(y_scale)
    if variant == "scale_order":  # planted error: a * (b / y)
        return (a * (b / y).astype(F32)).astype(F32)
    return ((a * b).astype(F32) / y).astype(F32)


def scale_qgemm(alpha, a_scale, b_scale, y_scale, variant="ort"):
    """com.microsoft QGemm: ((alpha * a_scale) * b_scale) / y_scale (quant_gemm.cc)."""
    if variant == "scale_order":  # planted error
        return (F32(alpha) * (F32(a_scale) * (np.asarray(b_scale, F32) / F32(y_scale)).astype(F32))).astype(F32)
    t = (F32(alpha) * F32(a_scale)).astype(F32)
    t = (t * np.asarray(b_scale, dtype=F32)).astype(F32)
    if y_scale is None:
        return t
    return (t / F32(y_scale)).astype(F32)


def scale_gap(x_scale, y_scale, image_size):
    """QLinearGlobalAveragePool: x_scale / (y_scale * float(image_size))."""
    return (F32(x_scale) / (F32(y_scale) * F32(image_size)).astype(F32)).astype(F32)


# ----------------------------------------------------------------------------
# integer accumulators
# ----------------------------------------------------------------------------

def int_matmul(a, a_zp, b, b_zp):
    """sum_k (a - a_zp) * (b - b_zp) exactly, wrapped to int32.
    a: [..., M, K]; b: [K, N]; b_zp scalar or [N]."""
    a64 = a.astype(np.int64) - int(a_zp)
    b64 = b.astype(np.int64) - np.asarray(b_zp, dtype=np.int64)
    return wrap_i32(a64 @ b64)


def qlinear_matmul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, ytype, variant="ort"):
    acc = int_matmul(a, a_zp, b, b_zp)
    s = scale_qlinear(a_scale, b_scale, y_scale, variant)
    return requantize(acc, s.reshape(-1), y_zp, ytype, variant)


def im2col_nchw(x, x_zp, kh, kw, stride, pads, dil):
    """x: [N, C, H, W] -> cols [N, OH*OW, C*kh*kw] with padding value x_zp
    (ORT pads with the input zero point, i.e. a real 0)."""
    n, c, hgt, wid = x.shape
    pt, pl, pb, pr = pads
    xp = np.full((n, c, hgt + pt + pb, wid + pl + pr), x_zp, dtype=np.int64)
    xp[:, :, pt:pt + hgt, pl:pl + wid] = x
    oh = (hgt + pt + pb - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wid + pl + pr - dil[1] * (kw - 1) - 1) // stride[1] + 1
    cols = np.empty((n, oh * ow, c, kh, kw), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            sl = xp[:, :, i * dil[0]: i * dil[0] + stride[0] * (oh - 1) + 1: stride[0],
                    j * dil[1]: j * dil[1] + stride[1] * (ow - 1) + 1: stride[1]]
            cols[:, :, :, i, j] = sl.reshape(n, c, oh * ow).transpose(0, 2, 1)
    return cols.reshape(n, oh * ow, c * kh * kw), oh, ow


def qlinear_conv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias, ytype,
                 stride=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), group=1, variant="ort"):
    """NCHW QLinearConv. w: [M, C/group, kh, kw]; w_scale scalar or [M];
    w_zp scalar (ORT requires all per-channel weight zero points equal);
    bias int32 [M] or None (added to the accumulator with int32 wrap)."""
    n, c, _, _ = x.shape
    m, cg, kh, kw = w.shape
    mg = m // group
    outs = []
    for g in range(group):
        cols, oh, ow = im2col_nchw(x[:, g * cg:(g + 1) * cg], x_zp, kh, kw, stride, pads, dil)
        wg = w[g * mg:(g + 1) * mg].reshape(mg, -1).astype(np.int64) - int(w_zp)
        acc = (cols - int(x_zp)) @ wg.T          # [N, OH*OW, mg] exact
        outs.append(acc)
    acc = np.concatenate(outs, axis=2)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    acc = wrap_i32(acc)
    s = scale_qlinear(x_scale, w_scale, y_scale, variant).reshape(-1)
    y = requantize(acc, s, y_zp, ytype, variant)          # [N, OH*OW, M]
    return y.transpose(0, 2, 1).reshape(n, m, oh, ow)


def qgemm(a, a_scale, a_zp, b, b_scale, b_zp, c, y_scale, y_zp, ytype,
          alpha=1.0, trans_a=0, trans_b=0, variant="ort"):
    """com.microsoft QGemm with quantised output.  c: int32 bias broadcastable
    to [M, N] (it is written into the int32 output buffer first and the GEMM
    accumulates on top, int32 wrap)."""
    aa = a.T if trans_a else a
    bb = b.T if trans_b else b
    acc = (aa.astype(np.int64) - int(a_zp)) @ (bb.astype(np.int64) - np.asarray(b_zp, dtype=np.int64))
    if c is not None:
        acc = acc + c.astype(np.int64)
    acc = wrap_i32(acc)
    s = scale_qgemm(alpha, a_scale, b_scale, y_scale, variant).reshape(-1)
    return requantize(acc, s, y_zp, ytype, variant)


# ----------------------------------------------------------------------------
# QuantizeLinear / DequantizeLinear
# ----------------------------------------------------------------------------

def quantize_linear(x, scale, zp, qtype, axis=None, variant="ort"):
    """out = clamp(RNE(x / scale) + zp): float32 division (not a multiply by the
    reciprocal), MAXPS/MINPS clamp against float(lo-zp)/float(hi-zp) (NaN ->
    lo), cvtps2dq, + zp.  Per-axis: scale/zp vectors along ``axis``."""
    lo, hi = qrange(qtype)
    x = np.asarray(x, dtype=F32)
    s = np.asarray(scale, dtype=F32)
    z = np.asarray(zp, dtype=np.int64)
    if axis is not None and s.ndim == 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        s = s.reshape(shape)
        z = z.reshape(shape)
    if variant == "recip":  # planted error: multiply by 1/scale
        f = (x * (F32(1) / s).astype(F32)).astype(F32)
    else:
        f = (x / s).astype(F32)
    lo_f = (lo - z).astype(F32)
    hi_f = (hi - z).astype(F32)
    f = np.where(f > lo_f, f, lo_f).astype(F32)
    f = np.where(f < hi_f, f, hi_f).astype(F32)
    return (np.rint(f).astype(np.int64) + z).astype(qtype)


def dequantize_linear(q, scale, zp, axis=None):
    """out = float32(int32(q) - zp) * scale (one float32 multiply)."""
    s = np.asarray(scale, dtype=F32)
    z = np.asarray(zp, dtype=np.int64)
    if axis is not None and s.ndim == 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        s = s.reshape(shape)
        z = z.reshape(shape)
    d = wrap_i32(q.astype(np.int64) - z)
    return (d.astype(F32) * s).astype(F32)


# ----------------------------------------------------------------------------
# QLinearAdd (com.microsoft), AVX2 kernel (qladd_avx2.cpp) used on AVX2 and
# AVX-512 machines
# ----------------------------------------------------------------------------

def fma_f32(x, y, z):
    """Single-rounding float32 fused multiply-add, exact emulation.

    x*y of two float32 values is exact in float64; TwoSum in float64 gives the
    rounded sum r and its exact error e.  Rounding r to float32 is correct unless
    r lies exactly half-way between two float32 values and e != 0 (double
    rounding); then e's sign decides the direction."""
    x = np.asarray(x, dtype=F32).astype(np.float64)
    y = np.asarray(y, dtype=F32).astype(np.float64)
    z = np.asarray(z, dtype=F32).astype(np.float64)
    x, y, z = np.broadcast_arrays(x, y, z)
    p = x * y                     # exact
    r = p + z
    bp = r - z
    e = (p - bp) + (z - (r - bp))  # TwoSum error, exact
    r32 = r.astype(F32)
    out = r32.copy()
    # candidates for double rounding: r exactly half-way between two float32s
    lo = np.nextafter(r32, F32(-np.inf)).astype(np.float64)
    hi = np.nextafter(r32, F32(np.inf)).astype(np.float64)
    r32d = r32.astype(np.float64)
    other = np.where(r > r32d, hi, np.where(r < r32d, lo, r32d))
    mid = (r32d + other) / 2
    tie = (e != 0) & (r != r32d) & (r == mid)
    # true value above r -> must round up (toward +inf neighbour), below -> down
    fix_up = tie & (e > 0)
    fix_dn = tie & (e < 0)
    out = np.where(fix_up, np.maximum(r32, other.astype(F32)), out)
    out = np.where(fix_dn, np.minimum(r32, other.astype(F32)), out)
    # a tie that r32 resolved away from the true side is now corrected; an
    # exact tie (e == 0) keeps numpy's RNE result
    return out.astype(F32)


def cvtps2dq(f):
    """float32 -> int32 RNE; NaN or out of range gives INT_MIN (0x80000000)."""
    f = np.asarray(f, dtype=F32)
    bad = ~np.isfinite(f) | (f >= F32(2147483648.0)) | (f < F32(-2147483648.0))
    r = np.rint(np.where(bad, 0, f)).astype(np.int64)
    return np.where(bad, -(1 << 31), r)


def qlinear_add(a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp, qtype,
                fixed_variant="fma_b_first", variant="ort", scalar_variant="fma", swap_scalar_a=True):
    """MlasQLinearAddKernelAvx2Helper.

      rA = a_scale / c_scale,  rB = b_scale / c_scale            (float32 divides)
      P  = float(c_zp) - (rA*a_zp + rB*b_zp)                       (scalar C++)
      if B is a single element: P = P + float(B)*rB  (then B leaves the loop)
      if A is the single element, A and B swap roles first (see below)
      per element:  t = fma(float(b), rB, P); t = fma(float(a), rA, t)
                    (only the non-scalar operand when one is scalar)
      out = saturate8(saturate16(cvtps2dq(t)))   -- no float clamp, RNE,
            out-of-range / NaN -> INT_MIN -> type minimum.

    The C++ expressions are contracted into FMAs by the compiler that built the
    ORT wheel; check.py measured which contraction (defaults below):
      rA*a_zp + rB*b_zp  ->  fma(rA, a_zp, round(rB*b_zp))   ('fma_b_first')
      P + float(s)*r     ->  fma(s, r, P)                     ('fma')
    The other candidates ('plain', 'fma_a_first'; 'plain') are kept so that
    check.py can show they disagree with ORT."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.size == 1 and b.size > 1 and swap_scalar_a:
        # qlinear_binary_op.cc hands a broadcast first input to MLAS as the
        # *second* operand (the kernel's scalar is always "B"): swap the roles.
        return qlinear_add(b, b_scale, b_zp, a, a_scale, a_zp, c_scale, c_zp, qtype,
                           fixed_variant, variant, scalar_variant)
    lo, hi = qrange(qtype)
    rA = (F32(a_scale) / F32(c_scale)).astype(F32)
    rB = (F32(b_scale) / F32(c_scale)).astype(F32)
    za, zb = F32(a_zp), F32(b_zp)
    if fixed_variant == "plain":
        s = (F32(rA * za) + F32(rB * zb)).astype(F32)
    elif fixed_variant == "fma_b_first":      # fma(rA, zpA, rB*zpB)
        s = fma_f32(rA, za, F32(rB * zb))
    else:                                      # fma(rB, zpB, rA*zpA)
        s = fma_f32(rB, zb, F32(rA * za))
    P = F32(F32(c_zp) - F32(s))
    scalar_a = a.size == 1 and b.size > 1    # only reached with swap_scalar_a=False
    scalar_b = b.size == 1 and a.size > 1
    if scalar_a:
        P = fma_f32(F32(a.reshape(-1)[0]), rA, P)[()]
        return_t = fma_f32(b.astype(F32), rB, P)
    if scalar_b:
        sb = F32(b.reshape(-1)[0])
        P = fma_f32(sb, rB, P)[()] if scalar_variant == "fma" else F32(P + F32(sb * rB))
    if scalar_a:
        t = return_t
    elif scalar_b:
        t = fma_f32(a.astype(F32), rA, P)
    else:
        aa, bb = np.broadcast_arrays(a, b)
        if variant == "no_fma":  # planted error: separate multiply and add
            t = (F32(P) + (bb.astype(F32) * rB).astype(F32)).astype(F32)
            t = (t + (aa.astype(F32) * rA).astype(F32)).astype(F32)
        else:
            t = fma_f32(bb.astype(F32), rB, P)
            t = fma_f32(aa.astype(F32), rA, t)
    i = cvtps2dq(t)
    return np.clip(np.clip(i, -32768, 32767), lo, hi).astype(qtype)


# ----------------------------------------------------------------------------
# QLinearGlobalAveragePool (com.microsoft), MaxPool on 8-bit
# ----------------------------------------------------------------------------

def qlinear_global_avg_pool(x, x_scale, x_zp, y_scale, y_zp, qtype):
    """NCHW.  acc = sum(x) - x_zp * image_size  (int32); then the write-back
    unit with scale = x_scale / (y_scale * float(image_size))."""
    n, c = x.shape[:2]
    hw = int(np.prod(x.shape[2:]))
    acc = wrap_i32(x.reshape(n, c, hw).astype(np.int64).sum(axis=2) - int(x_zp) * hw)
    s = scale_gap(x_scale, y_scale, hw)
    y = requantize(acc, s, y_zp, qtype)
    return y.reshape((n, c) + (1,) * (x.ndim - 2))


def maxpool_q(x, kernel, stride):
    """MaxPool on int8/uint8 data: plain integer max (no arithmetic)."""
    n, c, hgt, wid = x.shape
    oh = (hgt - kernel[0]) // stride[0] + 1
    ow = (wid - kernel[1]) // stride[1] + 1
    out = np.full((n, c, oh, ow), np.iinfo(x.dtype).min, dtype=x.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            out = np.maximum(out, x[:, :, i:i + stride[0] * (oh - 1) + 1:stride[0],
                                    j:j + stride[1] * (ow - 1) + 1:stride[1]])
    return out
