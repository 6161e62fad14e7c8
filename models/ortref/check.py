"""Compare the NumPy reference in requant.py against ONNX Runtime (CPU EP) bit
for bit, operator by operator, on random and edge-case inputs.

    python models/ortref/check.py                 # full run (>= 1e6 elements / op)
    python models/ortref/check.py --quick         # ~10x fewer elements
    python models/ortref/check.py --plant half_away   # deliberately wrong reference

Prints one line per operator and form: elements compared, mismatches.  Exits 1
if any row that is expected to match has a mismatch (0 otherwise); rows marked
"info" characterise behaviour that the reference does not claim to model
(e.g. the unfused float path at ORT_DISABLE_ALL) and never fail the run.
"""

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import requant as R  # noqa: E402

np.seterr(over="ignore", invalid="ignore", under="ignore", divide="ignore")

F32 = np.float32
ONNX_T = {np.uint8: TP.UINT8, np.int8: TP.INT8, np.int32: TP.INT32, np.float32: TP.FLOAT}
LEVELS = {
    "DISABLE_ALL": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "BASIC": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "EXTENDED": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "ALL": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

PLANT = "ort"  # set from the command line


# ----------------------------------------------------------------------------
# ONNX plumbing
# ----------------------------------------------------------------------------

def tensor(name, arr):
    return nh.from_array(np.asarray(arr), name)


def scalar(name, value, dtype):
    return nh.from_array(np.array(value, dtype=dtype), name)


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, ONNX_T[dtype], shape)


def session(nodes, inputs, outputs, inits, level="ALL", want_ops=False):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    so = ort.SessionOptions()
    so.graph_optimization_level = LEVELS[level]
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    ops = None
    if want_ops:
        fd, path = tempfile.mkstemp(suffix=".onnx")
        os.close(fd)
        so.optimized_model_filepath = path
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    if want_ops:
        om = onnx.load(path)
        os.unlink(path)
        ops = [(n.domain or "ai.onnx") + ":" + n.op_type for n in om.graph.node]
    return s, ops


def run1(nodes, inputs, outputs, inits, feeds, level="ALL"):
    s, _ = session(nodes, inputs, outputs, inits, level)
    return s.run(None, feeds)[0]


# ----------------------------------------------------------------------------
# random parameters
# ----------------------------------------------------------------------------

def rand_q(rng, qtype, shape):
    lo, hi = R.qrange(qtype)
    return rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(qtype)


def rand_zp(rng, qtype, symmetric_prob=0.2):
    lo, hi = R.qrange(qtype)
    if rng.random() < symmetric_prob:
        return 0 if qtype == np.int8 else 128
    return int(rng.integers(lo, hi + 1))


def rand_scale(rng, lo_exp=-12, hi_exp=2):
    """float32 scale, log-uniform, full random mantissa."""
    return F32(2.0 ** rng.uniform(lo_exp, hi_exp))


def near_tie_triple(rng):
    """(a, b, y) whose multiplier (a*b)/y is within a few ulps of (j + 1/2)/acc0
    for a small odd acc0, and for which a*(b/y) rounds differently: the output
    for accumulators equal to acc0 then depends on the last bit of the
    multiplier, i.e. on the exact order of the two float32 operations."""
    while True:
        acc0 = int(rng.choice([3, 5, 7, 9, 11, 13, 15]))
        j = int(rng.integers(0, 6))
        target = (j + 0.5) / acc0
        a = rand_scale(rng, -8, 0)
        b = rand_scale(rng, -8, 0)
        y = F32(np.float64(a) * np.float64(b) / target)
        s1 = F32(F32(a * b) / y)
        s2 = F32(a * F32(b / y))
        if s1 != s2:
            return (a, b, y)


def scale_triples(rng, count, k_hint):
    """(a_scale, b_scale, y_scale, narrow) tuples: random ones whose combined
    multiplier maps the accumulator range onto ~the 8-bit range, plus edge
    cases: powers of two that make exact .5 ties, multipliers a few ulps from a
    tie, subnormal, huge, overflowing to inf.  ``narrow`` asks the caller for
    inputs within +-3 of their zero points (small accumulators, so that ties and
    near-ties land inside the output range)."""
    out = []
    edge = [
        (F32(1.0), F32(0.5), F32(1.0), True),          # scale 0.5: every odd acc is a tie
        (F32(0.5), F32(0.5), F32(0.125), True),        # scale 2.0: no rounding
        (F32(1.0), F32(2.0 ** -3), F32(1.0), True),    # ties at acc = 4 mod 8
        (F32(3.0), F32(1.0 / 3.0), F32(2.0), True),    # product inexact: near-ties
        (F32(1e-20), F32(1e-20), F32(1.0), False),     # subnormal multiplier (1e-40)
        (F32(1e-30), F32(1e-10), F32(1e-3), False),    # tiny, normal after divide
        (F32(1e20), F32(1e20), F32(1.0), False),       # a*b overflows to inf (acc=0 -> NaN)
        (F32(1.0), F32(1.0), F32(1e-40), False),       # subnormal y_scale
        (F32(100.0), F32(100.0), F32(1.0), False),     # huge multiplier: saturation both ways
        (F32(1e-4), F32(1e-4), F32(1.0), False),       # tiny multiplier: output = zp
    ]
    i = 0
    while len(out) < count:
        if i % 3 == 0:
            out.append(edge[(i // 3) % len(edge)])
        elif i % 3 == 1:
            out.append(near_tie_triple(rng) + (True,))
        else:
            a = rand_scale(rng)
            b = rand_scale(rng)
            # pick y so that a*b/y ~ 2**u / sqrt(k) (typical) with spread
            target = 2.0 ** rng.uniform(-14, 0) / max(1.0, np.sqrt(k_hint))
            y = F32(a * b / target)
            out.append((a, b, y, i % 6 == 5))
        i += 1
    return out[:count]


def narrow_q(rng, qtype, shape, zp):
    lo, hi = R.qrange(qtype)
    return np.clip(np.asarray(zp, dtype=np.int64) + rng.integers(-3, 4, size=shape), lo, hi).astype(qtype)


class Tally:
    def __init__(self):
        self.rows = []

    def add(self, op, form, n, bad, info=False, note=""):
        self.rows.append((op, form, int(n), int(bad), info, note))

    def report(self):
        w1 = max(len(r[0]) for r in self.rows)
        w2 = max(len(r[1]) for r in self.rows)
        print(f"{'operator':<{w1}}  {'form':<{w2}}  {'elements':>10}  {'mismatch':>9}")
        failed = False
        for op, form, n, bad, info, note in self.rows:
            tag = " (info)" if info else ""
            print(f"{op:<{w1}}  {form:<{w2}}  {n:>10}  {bad:>9}{tag}{('  ' + note) if note else ''}")
            if bad and not info:
                failed = True
        return failed


def mism(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.count_nonzero(a.astype(np.int64) != b.astype(np.int64)))


# ----------------------------------------------------------------------------
# operators
# ----------------------------------------------------------------------------

def check_quantize_linear(rng, T, scale_n):
    for qtype in (np.uint8, np.int8):
        n_tot = bad_tot = 0
        lo, hi = R.qrange(qtype)
        for it in range(scale_n):
            n = 65536
            zp = rand_zp(rng, qtype)
            kind = it % 5
            if kind == 0:    # exact ties: x = (k + 0.5) * s with s a power of two
                s = F32(2.0 ** int(rng.integers(-20, 10)))
                k = rng.integers(-400, 400, size=n)
                x = ((k + 0.5) * s).astype(F32)
            elif kind == 1:  # random scale, values near ties after the division
                s = rand_scale(rng, -20, 10)
                k = rng.integers(-400, 400, size=n)
                x = ((k + 0.5 + rng.integers(-3, 4, size=n) * 2.0 ** -22) * np.float64(s)).astype(F32)
            elif kind == 2:  # wide random values, random scale
                s = rand_scale(rng, -20, 10)
                x = (rng.standard_normal(n) * 200 * s).astype(F32)
            elif kind == 3:  # subnormal / tiny / huge scales
                s = F32([1e-40, 1e-45, 1e-38, 3e38, 1e30][it // 5 % 5])
                x = (rng.standard_normal(n) * 1e3 * np.float64(s)).astype(F32)
            else:            # specials: inf, nan, -0, huge
                s = rand_scale(rng)
                x = (rng.standard_normal(n) * 300 * s).astype(F32)
                x[:8] = [np.inf, -np.inf, np.nan, -0.0, 3.4e38, -3.4e38, 1e-45, -1e-45]
            inits = [scalar("s", s, F32), scalar("z", zp, qtype)]
            node = h.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])
            got = run1([node], [vi("x", F32, [n])], [vi("y", qtype, [n])], inits, {"x": x})
            ref = R.quantize_linear(x, s, zp, qtype, variant=PLANT if PLANT == "recip" else "ort")
            n_tot += n
            bad_tot += mism(got, ref)
        T.add("QuantizeLinear", f"per-tensor {np.dtype(qtype).name}", n_tot, bad_tot)
        # per-axis
        n_tot = bad_tot = 0
        for it in range(4):
            c = 16
            x = (rng.standard_normal((8, c, 32, 32)) * 100).astype(F32)
            s = np.array([rand_scale(rng, -4, 2) for _ in range(c)], dtype=F32)
            z = np.array([rand_zp(rng, qtype) for _ in range(c)], dtype=qtype)
            inits = [tensor("s", s), tensor("z", z)]
            node = h.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1)
            got = run1([node], [vi("x", F32, list(x.shape))], [vi("y", qtype, None)], inits, {"x": x})
            ref = R.quantize_linear(x, s, z, qtype, axis=1, variant=PLANT if PLANT == "recip" else "ort")
            n_tot += x.size
            bad_tot += mism(got, ref)
        T.add("QuantizeLinear", f"per-axis {np.dtype(qtype).name}", n_tot, bad_tot)


def check_dequantize_linear(rng, T, reps):
    for qtype in (np.uint8, np.int8, np.int32):
        n_tot = bad_tot = 0
        for it in range(reps):
            n = 65536
            if qtype == np.int32:
                q = rng.integers(-2**31, 2**31, size=n, dtype=np.int64).astype(np.int32)
                zp = 0  # opset 21: int32 zero point must be 0
            else:
                q = rand_q(rng, qtype, n)
                zp = rand_zp(rng, qtype)
            s = rand_scale(rng, -30, 30) if it % 4 else F32([1e-40, 3e38, 1e-45, 1.0][it // 4 % 4])
            inits = [scalar("s", s, F32), scalar("z", zp, qtype)]
            node = h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])
            got = run1([node], [vi("q", qtype, [n])], [vi("y", F32, [n])], inits, {"q": q})
            ref = R.dequantize_linear(q, s, zp)
            n_tot += n
            bad_tot += int(np.count_nonzero(got.view(np.uint32) != ref.view(np.uint32)))
        T.add("DequantizeLinear", f"{np.dtype(qtype).name} (float bits)", n_tot, bad_tot)


def qlmm_case(rng, atype, btype, M, K, N, scales, per_col, w_const, zp_b_nonzero=True):
    a_s, b_s, y_s, narrow = scales
    a_zp = rand_zp(rng, atype)
    y_zp = rand_zp(rng, atype)
    if per_col:
        b_s = (np.array([rand_scale(rng) for _ in range(N)], dtype=F32) * F32(b_s / F32(2.0 ** -5))).astype(F32)
        b_s[: N // 2] = F32(scales[1])     # half the columns keep the edge/near-tie scale
        b_zp = np.array([rand_zp(rng, btype) if zp_b_nonzero else 0 for _ in range(N)], dtype=btype)
    else:
        b_zp = np.array(rand_zp(rng, btype) if zp_b_nonzero else 0, dtype=btype)
    if narrow:
        a = narrow_q(rng, atype, (M, K), a_zp)
        b = narrow_q(rng, btype, (K, N), np.broadcast_to(b_zp, (N,)).astype(np.int64))
    else:
        a = rand_q(rng, atype, (M, K))
        b = rand_q(rng, btype, (K, N))
    inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype),
             tensor("bs", np.asarray(b_s, F32)), tensor("bz", b_zp),
             scalar("ys", y_s, F32), scalar("yz", y_zp, atype)]
    inputs = [vi("a", atype, [M, K])]
    feeds = {"a": a}
    if w_const:
        inits.append(tensor("b", b))
    else:
        inputs.append(vi("b", btype, [K, N]))
        feeds["b"] = b
    node = h.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    got = run1([node], inputs, [vi("y", atype, [M, N])], inits, feeds)
    ref = R.qlinear_matmul(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp, atype, variant=PLANT)
    return got.size, mism(got, ref)


def check_qlinear_matmul(rng, T, reps):
    M, K, N = 128, 96, 128
    for atype, btype in ((np.uint8, np.int8), (np.uint8, np.uint8), (np.int8, np.int8)):
        for per_col in (False, True):
            n_tot = bad_tot = 0
            for i, sc in enumerate(scale_triples(rng, reps, K)):
                n, bad = qlmm_case(rng, atype, btype, M, K, N, sc, per_col, w_const=(i % 2 == 0),
                                   zp_b_nonzero=(i % 3 != 0))
                n_tot += n
                bad_tot += bad
            form = f"{np.dtype(atype).name}x{np.dtype(btype).name} {'per-column' if per_col else 'per-tensor'}"
            T.add("QLinearMatMul", form, n_tot, bad_tot)


def check_accumulator_overflow(rng, T):
    """Accumulators beyond int32: sum of u8*s8 products over a long K.  ORT's
    VNNI kernels use VPDPBUSDS (saturating) -- the reference wraps; report."""
    rows = []
    for K, val_a, val_b in ((70000, 255, 127), (70000, 255, -128), (140000, 255, 127)):
        a = np.full((1, K), val_a, np.uint8)
        b = np.full((K, 16), val_b, np.int8)
        sc = (F32(1.0), F32(2.0 ** -24), F32(1.0))
        inits = [scalar("as", sc[0], F32), scalar("az", 0, np.uint8), tensor("b", b),
                 scalar("bs", sc[1], F32), scalar("bz", 0, np.int8),
                 scalar("ys", sc[2], F32), scalar("yz", 128, np.uint8)]
        node = h.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
        got = run1([node], [vi("a", np.uint8, [1, K])], [vi("y", np.uint8, [1, 16])], inits, {"a": a})
        exact = K * val_a * val_b
        ref_wrap = R.requantize(R.wrap_i32(np.full((1, 16), exact)), R.scale_qlinear(*sc), 128, np.uint8)
        ref_sat = R.requantize(np.full((1, 16), np.clip(exact, -2**31, 2**31 - 1)), R.scale_qlinear(*sc), 128, np.uint8)
        rows.append((K, exact, int(got[0, 0]), int(ref_wrap[0, 0]), int(ref_sat[0, 0])))
    for K, exact, g, w, s in rows:
        T.add("QLinearMatMul", f"acc overflow K={K} exact={exact}", 16, int(g != w), info=True,
              note=f"ORT={g} wrap-ref={w} saturate-ref={s}")


def conv_case(rng, xtype, C, H, W, M, kh, kw, group, per_ch, w_zp_zero, w_const, bias_kind,
              scales, stride=(1, 1), pads=(1, 1, 1, 1), dil=(1, 1)):
    x_s, w_s, y_s, narrow = scales
    x_zp = rand_zp(rng, xtype)
    y_zp = rand_zp(rng, xtype)
    w_zp = 0 if w_zp_zero else int(rng.integers(-20, 21))
    if narrow:
        x = narrow_q(rng, xtype, (1, C, H, W), x_zp)
        w = narrow_q(rng, np.int8, (M, C // group, kh, kw), w_zp)
    else:
        x = rand_q(rng, xtype, (1, C, H, W))
        w = rand_q(rng, np.int8, (M, C // group, kh, kw))
    if per_ch:
        w_s = np.array([rand_scale(rng) for _ in range(M)], dtype=F32) * F32(w_s / F32(2.0 ** -5))
        w_s = w_s.astype(F32)
        w_s[: M // 2] = F32(scales[1])
        w_zp_arr = np.full(M, w_zp, np.int8)
    else:
        w_zp_arr = np.array(w_zp, np.int8)
    if bias_kind == "none":
        bias = None
    elif bias_kind == "small":
        bias = rng.integers(-50000, 50000, size=M).astype(np.int32)
    elif bias_kind == "tiny":
        bias = rng.integers(-20, 21, size=M).astype(np.int32)
    else:  # extreme: full int32 range, so acc + bias wraps and exceeds 2**24
        bias = rng.integers(-2**31, 2**31, size=M, dtype=np.int64).astype(np.int32)
        bias[:2] = [2**31 - 1, -2**31]
    inits = [scalar("xs", x_s, F32), scalar("xz", x_zp, xtype),
             tensor("ws", np.asarray(w_s, F32)), tensor("wz", w_zp_arr),
             scalar("ys", y_s, F32), scalar("yz", y_zp, xtype)]
    inputs = [vi("x", xtype, list(x.shape))]
    feeds = {"x": x}
    if w_const:
        inits.append(tensor("w", w))
    else:
        inputs.append(vi("w", np.int8, list(w.shape)))
        feeds["w"] = w
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if bias is not None:
        inits.append(tensor("b", bias))
        names.append("b")
    node = h.make_node("QLinearConv", names, ["y"], kernel_shape=[kh, kw], pads=list(pads),
                       strides=list(stride), dilations=list(dil), group=group)
    got = run1([node], inputs, [vi("y", xtype, None)], inits, feeds)
    ref = R.qlinear_conv(x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, bias, xtype, stride, pads, dil,
                         group, variant=PLANT)
    return got.size, mism(got, ref)


def check_qlinear_conv(rng, T, reps):
    configs = [
        # name, xtype, C, H, W, M, k, group, w_zp_zero, w_const
        ("u8 3x3 symmetric-W const (ConvSym)", np.uint8, 16, 32, 32, 32, 3, 1, True, True),
        ("u8 3x3 W zp!=0 const (GEMM)", np.uint8, 16, 32, 32, 32, 3, 1, False, True),
        ("u8 3x3 W runtime input", np.uint8, 16, 32, 32, 32, 3, 1, True, False),
        ("u8 1x1 pointwise const", np.uint8, 32, 32, 32, 32, 1, 1, True, True),
        ("u8 3x3 depthwise const", np.uint8, 32, 32, 32, 32, 3, 32, True, True),
        ("s8 3x3 const", np.int8, 16, 32, 32, 32, 3, 1, True, True),
        ("s8 3x3 W zp!=0 const", np.int8, 16, 32, 32, 32, 3, 1, False, True),
    ]
    for name, xtype, C, H, W, M, k, group, wz0, wc in configs:
        for per_ch in (False, True):
            n_tot = bad_tot = 0
            for i, sc in enumerate(scale_triples(rng, reps, C * k * k // group)):
                bias_kind = ("none", "small", "extreme")[i % 3]
                if bias_kind == "extreme":  # make the multiplier see acc ~ 2**31
                    sc = (sc[0], sc[1], F32(sc[0] * sc[1] * F32(2.0 ** 24)), sc[3])
                elif sc[3] and bias_kind == "small":
                    bias_kind = "tiny"
                pads = (1, 1, 1, 1) if k == 3 else (0, 0, 0, 0)
                n, bad = conv_case(rng, xtype, C, H, W, M, k, k, group, per_ch, wz0, wc, bias_kind, sc,
                                   pads=pads)
                n_tot += n
                bad_tot += bad
            T.add("QLinearConv", f"{name} {'per-channel' if per_ch else 'per-tensor'}", n_tot, bad_tot)


def check_qgemm(rng, T, reps):
    M, K, N = 128, 96, 128
    for atype, btype in ((np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)):
        for per_col in (False, True):
            n_tot = bad_tot = 0
            for i, sc in enumerate(scale_triples(rng, reps, K)):
                trans_b = i % 2
                alpha = F32(1.0) if i % 4 < 2 else rand_scale(rng, -2, 2)
                a_zp = rand_zp(rng, atype)
                y_zp = rand_zp(rng, atype)
                a_s, b_s, y_s, narrow = sc
                if narrow:
                    alpha = F32(1.0)
                if per_col:
                    b_s = np.array([rand_scale(rng) for _ in range(N)], dtype=F32)
                    b_s[: N // 2] = F32(sc[1])
                    b_zp = np.zeros(N, btype) if btype == np.int8 else np.array(
                        [rand_zp(rng, btype) for _ in range(N)], btype)
                else:
                    b_zp = np.array(0 if i % 3 == 0 else rand_zp(rng, btype), btype)
                if narrow:
                    a = narrow_q(rng, atype, (M, K), a_zp)
                    bz = np.broadcast_to(b_zp, (N,)).astype(np.int64)
                    b = narrow_q(rng, btype, (K, N), bz)
                    if trans_b:
                        b = np.ascontiguousarray(b.T)
                else:
                    a = rand_q(rng, atype, (M, K))
                    b = rand_q(rng, btype, (N, K) if trans_b else (K, N))
                bias_kind = i % 3 if not narrow else 0
                if bias_kind == 0:
                    c = None
                elif bias_kind == 1:
                    c = rng.integers(-100000, 100000, size=N).astype(np.int32)
                else:
                    c = rng.integers(-2**31, 2**31, size=N, dtype=np.int64).astype(np.int32)
                    if not per_col:
                        y_s = F32(alpha * a_s * b_s * F32(2.0 ** 24))
                inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype), tensor("b", b),
                         tensor("bs", np.asarray(b_s, F32)), tensor("bz", b_zp),
                         scalar("ys", y_s, F32), scalar("yz", y_zp, atype)]
                names = ["a", "as", "az", "b", "bs", "bz", "", "ys", "yz"]
                if c is not None:
                    inits.append(tensor("c", c))
                    names[6] = "c"
                node = h.make_node("QGemm", names, ["y"], domain="com.microsoft", alpha=float(alpha),
                                   transA=0, transB=trans_b)
                got = run1([node], [vi("a", atype, [M, K])], [vi("y", atype, [M, N])], inits, {"a": a})
                ref = R.qgemm(a, a_s, a_zp, b, b_s, b_zp, c, y_s, y_zp, atype, alpha=alpha, trans_b=trans_b,
                              variant=PLANT)
                n_tot += got.size
                bad_tot += mism(got, ref)
            T.add("QGemm (com.microsoft)", f"{np.dtype(atype).name}x{np.dtype(btype).name} "
                  f"{'per-column' if per_col else 'per-tensor'}", n_tot, bad_tot)


def qladd_run(qtype, a, b, params):
    a_s, a_zp, b_s, b_zp, c_s, c_zp = params
    inits = [scalar("as", a_s, F32), scalar("az", a_zp, qtype), scalar("bs", b_s, F32),
             scalar("bz", b_zp, qtype), scalar("cs", c_s, F32), scalar("cz", c_zp, qtype)]
    node = h.make_node("QLinearAdd", ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["c"],
                       domain="com.microsoft")
    return run1([node], [vi("a", qtype, list(a.shape)), vi("b", qtype, list(b.shape))], [vi("c", qtype, None)],
                inits, {"a": a, "b": b})


def qladd_params(rng, qtype, i):
    if i % 5 == 0:   # power-of-two scales: exact ties
        a_s = F32(2.0 ** int(rng.integers(-8, 0)))
        b_s = F32(2.0 ** int(rng.integers(-8, 0)))
        c_s = F32(2.0 ** int(rng.integers(-8, 0)))
    elif i % 5 == 1:  # extreme ratios (saturation, beyond the int32 range, subnormal)
        a_s, b_s, c_s = [F32(v) for v in ([1e10, 1.0, 1.0], [1.0, 1e-12, 1e-3], [3.0, 5.0, 1e-30],
                                           [1e-30, 1e-30, 1.0], [1.0, 1.0, 1e-40])[i // 5 % 5]]
    else:
        a_s, b_s = rand_scale(rng), rand_scale(rng)
        c_s = F32((a_s + b_s) * F32(2.0 ** rng.uniform(-1, 1)))
    return (a_s, rand_zp(rng, qtype), b_s, rand_zp(rng, qtype), c_s, rand_zp(rng, qtype))


def check_qlinear_add(rng, T, reps, fixed_variant, scalar_variant):
    """Every (a, b) pair of the 8-bit grid (65536 elements) per parameter set,
    so each parameter set is tested exhaustively."""
    variant = "no_fma" if PLANT == "no_fma" else "ort"
    for qtype in (np.uint8, np.int8):
        lo, hi = R.qrange(qtype)
        vals = np.arange(lo, hi + 1).astype(qtype)
        ga = np.repeat(vals, 256)
        gb = np.tile(vals, 256)
        for shape_kind in ("same", "row", "scalarB", "scalarA"):
            n_tot = bad_tot = 0
            for i in range(reps):
                p = qladd_params(rng, qtype, i)
                if shape_kind == "same":
                    got = qladd_run(qtype, ga, gb, p)
                    ref = R.qlinear_add(ga, p[0], p[1], gb, p[2], p[3], p[4], p[5], qtype, fixed_variant, variant)
                elif shape_kind == "row":
                    A = ga.reshape(256, 256)
                    got = qladd_run(qtype, A, vals, p)
                    ref = R.qlinear_add(A, p[0], p[1], np.broadcast_to(vals, (256, 256)), p[2], p[3], p[4], p[5],
                                        qtype, fixed_variant, variant)
                else:  # one run per scalar value (all 256), vector = whole range
                    got, ref = [], []
                    for sv in vals[:: (1 if i % 4 == 0 else 17)]:
                        sc = np.array([sv], qtype)
                        if shape_kind == "scalarB":
                            got.append(qladd_run(qtype, vals, sc, p))
                            ref.append(R.qlinear_add(vals, p[0], p[1], sc, p[2], p[3], p[4], p[5], qtype,
                                                     fixed_variant, variant, scalar_variant))
                        else:
                            got.append(qladd_run(qtype, sc, vals, p))
                            ref.append(R.qlinear_add(sc, p[0], p[1], vals, p[2], p[3], p[4], p[5], qtype,
                                                     fixed_variant, variant, scalar_variant))
                    got, ref = np.concatenate(got), np.concatenate(ref)
                n_tot += got.size
                bad_tot += mism(got, ref.reshape(got.shape))
            T.add("QLinearAdd (com.microsoft)", f"{np.dtype(qtype).name} {shape_kind} (exhaustive a,b grid)",
                  n_tot, bad_tot)

        # Parameter sets on which the candidate evaluation orders of the constant
        # part disagree somewhere on the grid: tells which one ORT's binary uses.
        found = []
        for _ in range(4000):
            p = qladd_params(rng, qtype, 2)
            outs = [R.qlinear_add(ga, p[0], p[1], gb, p[2], p[3], p[4], p[5], qtype, fv)
                    for fv in ("plain", "fma_b_first", "fma_a_first")]
            if any(mism(outs[0], o) for o in outs[1:]):
                found.append((p, outs))
            if len(found) >= 6:
                break
        got_all = [qladd_run(qtype, ga, gb, p) for p, _ in found]
        for k, fv in enumerate(("plain", "fma_b_first", "fma_a_first")):
            bad = sum(mism(g, o[k]) for g, (_, o) in zip(got_all, found))
            T.add("QLinearAdd (com.microsoft)", f"{np.dtype(qtype).name} constant part as '{fv}' "
                  f"({len(found)} discriminating sets)", 65536 * len(found), bad, info=(fv != fixed_variant))
        # same for P + float(scalar) * r
        found = []
        for _ in range(20000):
            # a_scale = c_scale (rA = 1) and rB a few ulps from (m + 1/2)/d with
            # d = scalar - b_zp: the folded constant then sits next to a .5 tie
            # and its last bit (plain vs fused evaluation) decides the output.
            sv = np.array([rng.integers(lo, hi + 1)], qtype)
            b_zp = rand_zp(rng, qtype)
            d = int(sv[0]) - b_zp
            if d == 0:
                continue
            m = int(rng.integers(-5, 6))
            b_s = F32(F32((m + 0.5) / d) * F32(1 + int(rng.integers(-4, 5)) * 2.0 ** -23))
            p = (F32(1.0), rand_zp(rng, qtype), b_s, b_zp, F32(1.0), rand_zp(rng, qtype))
            o1 = R.qlinear_add(vals, p[0], p[1], sv, p[2], p[3], p[4], p[5], qtype, fixed_variant, "ort", "plain")
            o2 = R.qlinear_add(vals, p[0], p[1], sv, p[2], p[3], p[4], p[5], qtype, fixed_variant, "ort", "fma")
            if mism(o1, o2):
                found.append((p, sv, o1, o2))
            if len(found) >= 6:
                break
        # a broadcast *first* input: does ORT swap the operands (scalar -> B)?
        found_a = []
        for _ in range(40000):
            p = qladd_params(rng, qtype, 2)
            rA, rB = F32(p[0] / p[4]), F32(p[2] / p[4])
            if R.fma_f32(rA, F32(p[1]), F32(rB * F32(p[3]))) == R.fma_f32(rB, F32(p[3]), F32(rA * F32(p[1]))):
                continue  # both operand orders give the same constant: cannot discriminate
            sv = np.array([rng.integers(lo, hi + 1)], qtype)
            o1 = R.qlinear_add(sv, p[0], p[1], vals, p[2], p[3], p[4], p[5], qtype, swap_scalar_a=True)
            o2 = R.qlinear_add(sv, p[0], p[1], vals, p[2], p[3], p[4], p[5], qtype, swap_scalar_a=False)
            if mism(o1, o2):
                found_a.append((p, sv, o1, o2))
            if len(found_a) >= 6:
                break
        for k, name in enumerate(("swapped", "not swapped")):
            bad = sum(mism(qladd_run(qtype, sv, vals, p), (o1, o2)[k]) for p, sv, o1, o2 in found_a)
            T.add("QLinearAdd (com.microsoft)", f"{np.dtype(qtype).name} scalar first input {name} "
                  f"({len(found_a)} discriminating sets)", 256 * len(found_a), bad, info=(name != "swapped"))
        for k, sv_name in enumerate(("plain", "fma")):
            bad = 0
            for p, sv, o1, o2 in found:
                g = qladd_run(qtype, vals, sv, p)
                bad += mism(g, (o1, o2)[k])
            T.add("QLinearAdd (com.microsoft)", f"{np.dtype(qtype).name} scalar fold as '{sv_name}' "
                  f"({len(found)} discriminating sets)", 256 * len(found), bad, info=(sv_name != scalar_variant))


def check_gap(rng, T, reps):
    for qtype in (np.uint8, np.int8):
        n_tot = bad_tot = 0
        for i in range(reps):
            hw = [(7, 7), (1, 1), (13, 11), (32, 32), (3, 5)][i % 5]
            c = 2048 // max(1, (hw[0] * hw[1]) // 64) if hw[0] * hw[1] > 64 else 4096
            x = rand_q(rng, qtype, (1, c, hw[0], hw[1]))
            x_zp, y_zp = rand_zp(rng, qtype), rand_zp(rng, qtype)
            if i % 4 == 0:  # ties: x_s / (y_s * HW) a power of two
                x_s = F32(1.0)
                y_s = F32(2.0 / (hw[0] * hw[1]))
            else:
                x_s = rand_scale(rng)
                y_s = F32(x_s * F32(2.0 ** rng.uniform(-3, 3)))
            inits = [scalar("xs", x_s, F32), scalar("xz", x_zp, qtype),
                     scalar("ys", y_s, F32), scalar("yz", y_zp, qtype)]
            node = h.make_node("QLinearGlobalAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"],
                               domain="com.microsoft", channels_last=0)
            got = run1([node], [vi("x", qtype, list(x.shape))], [vi("y", qtype, None)], inits, {"x": x})
            ref = R.qlinear_global_avg_pool(x, x_s, x_zp, y_s, y_zp, qtype)
            n_tot += got.size
            bad_tot += mism(got, ref)
        T.add("QLinearGlobalAveragePool", f"{np.dtype(qtype).name} NCHW", n_tot, bad_tot)


def check_maxpool(rng, T, reps):
    for qtype in (np.uint8, np.int8):
        n_tot = bad_tot = 0
        for i in range(reps):
            x = rand_q(rng, qtype, (2, 16, 64, 64))
            node = h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
            got = run1([node], [vi("x", qtype, list(x.shape))], [vi("y", qtype, None)], [], {"x": x})
            ref = R.maxpool_q(x, (3, 3), (2, 2))
            n_tot += got.size
            bad_tot += mism(got, ref)
        T.add("MaxPool", f"{np.dtype(qtype).name} 3x3/2", n_tot, bad_tot)


# ----------------------------------------------------------------------------
# QDQ graphs: which kernel runs at each optimisation level, and agreement
# ----------------------------------------------------------------------------

def dq(name_in, name_s, name_z, name_out):
    return h.make_node("DequantizeLinear", [name_in, name_s, name_z], [name_out])


def q(name_in, name_s, name_z, name_out):
    return h.make_node("QuantizeLinear", [name_in, name_s, name_z], [name_out])


def qdq_graph(kind, rng, atype):
    """Return (nodes, inputs, output, inits, feeds, reference_output)."""
    wtype = np.int8 if atype == np.int8 or kind != "MatMul_u8u8" else np.uint8
    a_zp, y_zp = rand_zp(rng, atype), rand_zp(rng, atype)
    a_s, w_s, y_s = rand_scale(rng, -6, -2), rand_scale(rng, -8, -5), rand_scale(rng, -6, -2)
    if kind in ("MatMul", "MatMul_u8u8", "Gemm", "Gemm_bias"):
        M, K, N = 64, 64, 64
        a = rand_q(rng, atype, (M, K))
        wt = rand_q(rng, wtype, (K, N))
        w_zp = 0 if wtype == np.int8 else rand_zp(rng, wtype)
        y_s = F32(a_s * w_s * F32(np.sqrt(K) * 20))
        inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype), tensor("w", wt),
                 scalar("ws", w_s, F32), scalar("wz", w_zp, wtype), scalar("ys", y_s, F32),
                 scalar("yz", y_zp, atype)]
        nodes = [dq("a", "as", "az", "af"), dq("w", "ws", "wz", "wf")]
        bias = None
        if kind == "Gemm_bias":
            bias = rng.integers(-20000, 20000, size=N).astype(np.int32)
            bias_s = F32(a_s * w_s)
            inits += [tensor("b", bias), scalar("bs", bias_s, F32), scalar("bz", 0, np.int32)]
            nodes.append(dq("b", "bs", "bz", "bf"))
        if kind.startswith("MatMul"):
            nodes.append(h.make_node("MatMul", ["af", "wf"], ["yf"]))
        else:
            nodes.append(h.make_node("Gemm", ["af", "wf"] + (["bf"] if bias is not None else []), ["yf"]))
        nodes.append(q("yf", "ys", "yz", "y"))
        ref = R.qgemm(a, a_s, a_zp, wt, w_s, w_zp, bias, y_s, y_zp, atype)
        return nodes, [vi("a", atype, [M, K])], vi("y", atype, [M, N]), inits, {"a": a}, ref
    if kind.startswith("Conv"):
        C, Hh, Ww, M = 16, 16, 16, 32
        x = rand_q(rng, atype, (1, C, Hh, Ww))
        w = rand_q(rng, np.int8, (M, C, 3, 3))
        w_s = np.array([rand_scale(rng, -8, -5) for _ in range(M)], F32)
        y_s = F32(a_s * F32(w_s.mean()) * F32(np.sqrt(C * 9) * 20))
        if kind == "Conv_relu_zpmin":   # Relu made redundant by the Q (zero point = type minimum)
            y_zp = R.qrange(atype)[0]
        elif kind == "Conv_relu":       # zero point above the minimum: Relu really clips
            y_zp = max(y_zp, R.qrange(atype)[0] + 1)
        inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype), tensor("w", w), tensor("ws", w_s),
                 tensor("wz", np.zeros(M, np.int8)), scalar("ys", y_s, F32), scalar("yz", y_zp, atype)]
        nodes = [dq("x", "as", "az", "xf"),
                 h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0)]
        conv_in = ["xf", "wf"]
        bias = None
        if kind == "Conv_fbias":  # float bias initializer: ORT quantises it itself
            fb = (rng.standard_normal(M) * 2000 * np.float64(a_s) * w_s).astype(F32)
            inits.append(tensor("bf", fb))
            conv_in.append("bf")
            # WeightBiasQuantization: Cast(Round(bias / (x_scale * w_scale))) to int32
            bias = np.rint((fb / (F32(a_s) * w_s).astype(F32)).astype(F32)).astype(np.int32)
        if kind in ("Conv_bias", "Conv_bias_mismatch"):
            bias = rng.integers(-20000, 20000, size=M).astype(np.int32)
            bs = (F32(a_s) * w_s).astype(F32)
            if kind == "Conv_bias_mismatch":
                bs = (bs * F32(1.5)).astype(F32)   # bias DQ scale != x_scale * w_scale
            inits += [tensor("b", bias), tensor("bs", bs), tensor("bz", np.zeros(M, np.int32))]
            nodes.append(h.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bf"], axis=0))
            conv_in.append("bf")
        nodes.append(h.make_node("Conv", conv_in, ["yf"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        if kind.startswith("Conv_relu"):
            nodes.append(h.make_node("Relu", ["yf"], ["yr"]))
            nodes.append(q("yr", "ys", "yz", "y"))
        else:
            nodes.append(q("yf", "ys", "yz", "y"))
        ref = R.qlinear_conv(x, a_s, a_zp, w, w_s, 0, y_s, y_zp, bias, atype, pads=(1, 1, 1, 1))
        if kind.startswith("Conv_relu"):
            ref = np.maximum(ref.astype(np.int64), y_zp).astype(atype)
        return nodes, [vi("x", atype, list(x.shape))], vi("y", atype, None), inits, {"x": x}, ref
    if kind == "Add":
        n = 4096
        a = rand_q(rng, atype, (n,))
        b = rand_q(rng, atype, (n,))
        b_zp = rand_zp(rng, atype)
        b_s = rand_scale(rng, -6, -2)
        y_s = F32((a_s + b_s) * F32(1.3))
        inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype), scalar("bs", b_s, F32),
                 scalar("bz", b_zp, atype), scalar("ys", y_s, F32), scalar("yz", y_zp, atype)]
        nodes = [dq("a", "as", "az", "af"), dq("b", "bs", "bz", "bf"),
                 h.make_node("Add", ["af", "bf"], ["yf"]), q("yf", "ys", "yz", "y")]
        ref = R.qlinear_add(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp, atype)
        return nodes, [vi("a", atype, [n]), vi("b", atype, [n])], vi("y", atype, [n]), inits, \
            {"a": a, "b": b}, ref
    if kind in ("MaxPool", "GlobalAveragePool"):
        x = rand_q(rng, atype, (1, 64, 14, 14))
        if kind == "MaxPool":
            inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype)]
            nodes = [dq("x", "as", "az", "xf"),
                     h.make_node("MaxPool", ["xf"], ["yf"], kernel_shape=[3, 3], strides=[2, 2]),
                     q("yf", "as", "az", "y")]
            ref = R.maxpool_q(x, (3, 3), (2, 2))
        else:
            y_s = F32(a_s * F32(0.7))
            inits = [scalar("as", a_s, F32), scalar("az", a_zp, atype), scalar("ys", y_s, F32),
                     scalar("yz", y_zp, atype)]
            nodes = [dq("x", "as", "az", "xf"), h.make_node("GlobalAveragePool", ["xf"], ["yf"]),
                     q("yf", "ys", "yz", "y")]
            ref = R.qlinear_global_avg_pool(x, a_s, a_zp, y_s, y_zp, atype)
        return nodes, [vi("x", atype, list(x.shape))], vi("y", atype, None), inits, {"x": x}, ref
    raise ValueError(kind)


def check_qdq(rng, T, reps):
    kinds = ["MatMul", "MatMul_u8u8", "Gemm", "Gemm_bias", "Conv", "Conv_bias", "Conv_fbias",
             "Conv_bias_mismatch", "Conv_relu_zpmin", "Conv_relu", "Add", "MaxPool", "GlobalAveragePool"]
    kernels = {}
    for kind in kinds:
        for atype in (np.uint8, np.int8):
            if kind == "MatMul_u8u8" and atype == np.int8:
                continue
            res = {lv: [0, 0] for lv in LEVELS}
            level_disagree = 0
            n_tot = 0
            for r in range(reps):
                sub = np.random.default_rng(rng.integers(1 << 62))
                nodes, inputs, out, inits, feeds, ref = qdq_graph(kind, sub, atype)
                outs = {}
                for lv in LEVELS:
                    s, ops = session(nodes, inputs, [out], inits, lv, want_ops=(r == 0))
                    outs[lv] = s.run(None, feeds)[0]
                    if r == 0:
                        kernels[(kind, np.dtype(atype).name, lv)] = [o for o in ops]
                    res[lv][0] += outs[lv].size
                    res[lv][1] += mism(outs[lv], ref)
                level_disagree += mism(outs["DISABLE_ALL"], outs["ALL"])
                n_tot += ref.size
            tname = np.dtype(atype).name
            fused = kernels[(kind, tname, "ALL")]
            for lv in LEVELS:
                # The integer reference is the claim for fused graphs only; the
                # unfused float path is reported for information.
                # fused = no DequantizeLinear left: the graph runs on integer kernels
                is_fused = "ai.onnx:DequantizeLinear" not in kernels[(kind, tname, lv)]
                expected = is_fused and kind != "Conv_bias_mismatch"
                T.add("QDQ " + kind, f"{tname} {lv} [{', '.join(sorted(set(kernels[(kind, tname, lv)])))}]",
                      res[lv][0], res[lv][1], info=not expected)
            T.add("QDQ " + kind, f"{tname} DISABLE_ALL vs ALL outputs differ", n_tot, level_disagree, info=True)
    return kernels


# ----------------------------------------------------------------------------

def main():
    global PLANT
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--plant", default="ort",
                    choices=["ort", "half_away", "scale_order", "recip", "no_fma"],
                    help="replace one step of the reference with a plausible wrong one")
    ap.add_argument("--qladd-fixed", default="fma_b_first", choices=["plain", "fma_b_first", "fma_a_first"])
    ap.add_argument("--qladd-scalar", default="fma", choices=["plain", "fma"])
    ap.add_argument("--only", default="", help="comma-separated subset: q,dq,mm,ovf,conv,gemm,add,gap,pool,qdq")
    args = ap.parse_args()
    PLANT = args.plant
    rng = np.random.default_rng(args.seed)
    f = 1 if not args.quick else 0
    only = set(args.only.split(",")) if args.only else None

    def want(k):
        return only is None or k in only

    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}, "
          f"plant={PLANT}, seed={args.seed}, quick={args.quick}")
    T = Tally()
    if want("q"):
        check_quantize_linear(rng, T, 20 if f else 5)
    if want("dq"):
        check_dequantize_linear(rng, T, 16 if f else 4)
    if want("mm"):
        check_qlinear_matmul(rng, T, 64 if f else 8)
    if want("ovf"):
        check_accumulator_overflow(rng, T)
    if want("conv"):
        check_qlinear_conv(rng, T, 33 if f else 4)
    if want("gemm"):
        check_qgemm(rng, T, 64 if f else 8)
    if want("add"):
        check_qlinear_add(rng, T, 16 if f else 3, args.qladd_fixed, args.qladd_scalar)
    if want("gap"):
        check_gap(rng, T, 300 if f else 40)
    if want("pool"):
        check_maxpool(rng, T, 20 if f else 2)
    if want("qdq"):
        check_qdq(rng, T, 8 if f else 2)
    failed = T.report()
    print("RESULT:", "MISMATCH" if failed else "all expected rows bit-exact")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
