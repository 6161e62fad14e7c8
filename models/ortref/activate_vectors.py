"""Test vectors of the engine's write-back unit (ACTIVATE), computed by ONNX Runtime.

    python models/ortref/activate_vectors.py --out target/ortref/activate_vectors.json

Every expected output in the file is what ONNX Runtime's CPU execution provider returns for a
graph that performs the write-back's arithmetic (see docs/memory-path.md and NOTES.md); nothing
here computes an expected value itself. The inputs are chosen (seeded, so the file is the same
on every run) to hit the edges: int32 minimum and maximum, bias sums that wrap, accumulators
above 2^24 (inexact in float32), exact .5 ties, saturation at both ends, scales that are 0, -0,
negative, subnormal, tiny, huge, infinite or NaN, zero points at both ends of their type, and
relu / clamp bounds (clamp bounds crossed too).

Graphs (ORT_DISABLE_ALL, one thread):

* int32 accumulator -> int8 / uint8: ``acc = Add(x, bias)`` (int32, wraps) ->
  ``QGemm(A = a_zp, B = b_zp, C = acc, b_scale = S per column, a_scale = y_scale = alpha = 1)``,
  whose output is ``MlasRequantizeOutput(C, S, y_zp)`` (NOTES.md section 1) -> for relu / clamp
  ``Clip(q, qlo, qhi)`` on the 8-bit tensor.
* int32 accumulator -> bf16 / fp8: ``Add`` -> ``DequantizeLinear(acc, S per column, 0)`` (that is
  ``f32(float32(acc) * S)``, NOTES.md section 4) -> ``Relu`` -> ``Cast(saturate=1)``.
* fp32 accumulator -> bf16 / fp8: ``Mul(x, S)`` -> ``Add(bias)`` -> ``Relu`` -> ``Cast``.
* The multiplier helpers: ``QLinearMatMul`` and ``QGemm`` (with alpha) on a 1 x 1 x 1 product
  whose accumulator is a small odd number, with scale triples for which the two evaluation
  orders of the multiplier round differently (check.py's near-tie triples).

Low-precision outputs are cast back to float32 in the graph (exact) and their bit patterns taken
with ml_dtypes; NaN outputs are marked as NaN (the write-back writes the format's canonical
NaN, ORT keeps the sign of its input NaN).
"""

import argparse
import json
import os

import ml_dtypes
import numpy as np
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

F32 = np.float32
SEED = 20250117
ONNX_T = {"int8": TP.INT8, "uint8": TP.UINT8}
NP_T = {"int8": np.int8, "uint8": np.uint8}
FLOAT_T = {
    "bf16": (TP.BFLOAT16, None),
    "fp8e4m3": (TP.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
    "fp8e5m2": (TP.FLOAT8E5M2, ml_dtypes.float8_e5m2),
}


def run(nodes, inputs, outputs, inits, feeds):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 21), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)[0]


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


def bits(x):
    return np.asarray(x, dtype=F32).view(np.uint32)


EDGE_SCALES = [0.5, 0.25, 0.125, 1.0, 2.0, 1.0 / 3.0, 0.1, 1e-40, 1e-45, 1e-10, 1e4, 3.4e38,
               np.inf, -np.inf, np.nan, -1.0, -0.5, 0.0, -0.0, 2.0 ** -24, 255.5, 1e-3]
I32_MIN, I32_MAX = -2 ** 31, 2 ** 31 - 1
EDGE_ACC = [I32_MIN, I32_MAX, I32_MIN + 1, I32_MAX - 1, 0, 1, -1, 2, -2, 3, -3, 255, 256, -255,
            -256, 2 ** 24, 2 ** 24 + 1, 2 ** 24 + 3, -(2 ** 24) - 1, 2 ** 25 + 3, 16777217 * 64 + 1]


def rand_scales(rng, n):
    s = (2.0 ** rng.uniform(-30, 8, size=n)).astype(F32)
    s *= np.where(rng.random(n) < 0.1, -1, 1).astype(F32)
    k = max(1, n // 4)
    s[:k] = np.array([EDGE_SCALES[i % len(EDGE_SCALES)] for i in range(k)], dtype=F32)
    return s


def rand_acc(rng, n):
    kind = rng.integers(0, 4, size=n)
    wide = rng.integers(I32_MIN, I32_MAX + 1, size=n, dtype=np.int64)
    narrow = rng.integers(-600, 601, size=n, dtype=np.int64)
    mid = rng.integers(-(2 ** 26), 2 ** 26, size=n, dtype=np.int64)
    edge = np.array([EDGE_ACC[i % len(EDGE_ACC)] for i in range(n)], dtype=np.int64)
    return np.select([kind == 0, kind == 1, kind == 2], [wide, narrow, mid], edge).astype(np.int32)


def rand_bias(rng, n):
    kind = rng.integers(0, 3, size=n)
    wide = rng.integers(I32_MIN, I32_MAX + 1, size=n, dtype=np.int64)
    narrow = rng.integers(-300, 301, size=n, dtype=np.int64)
    edge = np.array([[I32_MAX, I32_MIN, 1, -1, 0][i % 5] for i in range(n)], dtype=np.int64)
    return np.select([kind == 0, kind == 1], [wide, narrow], edge).astype(np.int32)


def int_group(rng, dtype, zp, func, lo, hi, with_bias, n):
    """int32 accumulators to int8 / uint8 through QGemm (and Clip)."""
    x = rand_acc(rng, n)
    # Small accumulators with power-of-two scales make exact ties in the output range.
    s = rand_scales(rng, n)
    b = rand_bias(rng, n) if with_bias else np.zeros(n, np.int32)
    qt, npt = ONNX_T[dtype], NP_T[dtype]
    qlo, qhi = int(np.iinfo(npt).min), int(np.iinfo(npt).max)
    inits = [
        nh.from_array(np.array(1.0, F32), "as"),
        nh.from_array(np.array(0, npt), "az"),
        nh.from_array(np.zeros((1, n), npt), "b"),
        nh.from_array(s.astype(F32), "bs"),
        nh.from_array(np.zeros(n, npt), "bz"),
        nh.from_array(np.array(1.0, F32), "ys"),
        nh.from_array(np.array(zp, npt), "yz"),
    ]
    inputs = [vi("x", TP.INT32, [1, n])]
    feeds = {"x": x.reshape(1, n), "a": np.zeros((1, 1), npt)}
    nodes = []
    acc = "x"
    if with_bias:
        inputs.append(vi("bias", TP.INT32, [1, n]))
        feeds["bias"] = b.reshape(1, n)
        nodes.append(h.make_node("Add", ["x", "bias"], ["acc"]))
        acc = "acc"
    inputs.append(vi("a", qt, [1, 1]))
    q = "y" if func == "identity" else "q"
    nodes.append(h.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz", acc, "ys", "yz"], [q],
                             domain="com.microsoft"))
    if func != "identity":
        if func == "relu":
            clo, chi = max(qlo, zp), qhi
        else:
            clo, chi = max(qlo, lo), min(qhi, hi)
        inits += [nh.from_array(np.array(clo, npt), "clo"), nh.from_array(np.array(chi, npt), "chi")]
        nodes.append(h.make_node("Clip", ["q", "clo", "chi"], ["y"]))
    y = run(nodes, inputs, [vi("y", qt, [1, n])], inits, feeds).reshape(n)
    return {
        "acc": "int32", "dtype": dtype, "func": func, "zp": int(zp), "lo": int(lo), "hi": int(hi),
        "bias": bool(with_bias), "x": x.tolist(), "b": b.tolist(), "scale": bits(s).tolist(),
        "out": y.astype(np.int64).tolist(), "nan": [False] * n,
    }


def float_out(y, dtype):
    """Bit patterns of the float32 values of a bf16 / fp8 tensor (exact), and NaN flags."""
    y = np.asarray(y, dtype=F32).reshape(-1)
    nan = np.isnan(y)
    if dtype == "bf16":
        out = (y.view(np.uint32) >> 16).astype(np.int64)
    else:
        out = y.astype(FLOAT_T[dtype][1]).view(np.uint8).astype(np.int64)
    out[nan] = -1
    return out.tolist(), nan.tolist()


def float_group(rng, acc_kind, dtype, relu, with_bias, n):
    """int32 or fp32 accumulators to bf16 / fp8 (Relu, saturating Cast)."""
    t = FLOAT_T[dtype][0]
    s = rand_scales(rng, n)
    inputs, feeds, nodes = [], {}, []
    if acc_kind == "int32":
        x = rand_acc(rng, n)
        b = rand_bias(rng, n) if with_bias else np.zeros(n, np.int32)
        inputs.append(vi("x", TP.INT32, [1, n]))
        feeds["x"] = x.reshape(1, n)
        acc = "x"
        if with_bias:
            inputs.append(vi("bias", TP.INT32, [1, n]))
            feeds["bias"] = b.reshape(1, n)
            nodes.append(h.make_node("Add", ["x", "bias"], ["acc"]))
            acc = "acc"
        inits = [nh.from_array(s, "s"), nh.from_array(np.zeros(n, np.int32), "z")]
        nodes.append(h.make_node("DequantizeLinear", [acc, "s", "z"], ["f"], axis=1))
        xs, bs = x.tolist(), b.tolist()
    else:
        xf = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120, size=n)).astype(F32)
        k = n // 8
        xf[:k] = np.array([[0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, -1.5][i % 8]
                           for i in range(k)], dtype=F32)
        bf = (rng.standard_normal(n) * 2.0 ** rng.integers(-140, 120, size=n)).astype(F32)
        if not with_bias:
            bf[:] = 0.0
        inputs.append(vi("x", TP.FLOAT, [1, n]))
        feeds["x"] = xf.reshape(1, n)
        inits = [nh.from_array(s.reshape(1, n), "s")]
        nodes.append(h.make_node("Mul", ["x", "s"], ["p" if with_bias else "f"]))
        if with_bias:
            inits.append(nh.from_array(bf.reshape(1, n), "bf"))
            nodes.append(h.make_node("Add", ["p", "bf"], ["f"]))
        xs, bs = bits(xf).tolist(), bits(bf).tolist()
    cur = "f"
    if relu:
        nodes.append(h.make_node("Relu", ["f"], ["r"]))
        cur = "r"
    nodes.append(h.make_node("Cast", [cur], ["c"], to=t, saturate=1))
    nodes.append(h.make_node("Cast", ["c"], ["y"], to=TP.FLOAT))
    y = run(nodes, inputs, [vi("y", TP.FLOAT, [1, n])], inits, feeds)
    out, nan = float_out(y, dtype)
    return {
        "acc": acc_kind, "dtype": dtype, "func": "relu" if relu else "identity", "zp": 0, "lo": 0,
        "hi": 0, "bias": bool(with_bias), "x": xs, "b": bs, "scale": bits(s).tolist(), "out": out,
        "nan": nan,
    }


def near_tie_triple(rng):
    """check.py's triples: (a*b)/y and a*(b/y) round differently near (j + 1/2)/acc0."""
    while True:
        acc0 = int(rng.choice([3, 5, 7, 9, 11, 13, 15]))
        j = int(rng.integers(0, 6))
        target = (j + 0.5) / acc0
        a = F32(2.0 ** rng.uniform(-8, 0))
        b = F32(2.0 ** rng.uniform(-8, 0))
        y = F32(np.float64(a) * np.float64(b) / target)
        if F32(F32(a * b) / y) != F32(a * F32(b / y)):
            return acc0, a, b, y


def multiplier_cases(rng, n):
    """QLinearMatMul and QGemm of one u8 x u8 product with accumulator acc0 (a = acc0, b = 1)."""
    out = []
    for i in range(n):
        acc0, a_s, b_s, y_s = near_tie_triple(rng)
        alpha = F32(1.0) if i % 2 == 0 else F32(2.0 ** rng.uniform(-1, 1))
        y_zp = int(rng.integers(0, 40))
        inits = [nh.from_array(np.array(a_s, F32), "as"), nh.from_array(np.array(0, np.uint8), "az"),
                 nh.from_array(np.array([[1]], np.uint8), "b"), nh.from_array(np.array(b_s, F32), "bs"),
                 nh.from_array(np.array(0, np.uint8), "bz"), nh.from_array(np.array(y_s, F32), "ys"),
                 nh.from_array(np.array(y_zp, np.uint8), "yz")]
        feeds = {"a": np.array([[acc0]], np.uint8)}
        io = ([vi("a", TP.UINT8, [1, 1])], [vi("y", TP.UINT8, [1, 1])])
        mm = run([h.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])],
                 io[0], io[1], inits, feeds)
        gm = run([h.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz", "", "ys", "yz"], ["y"],
                              domain="com.microsoft", alpha=float(alpha))], io[0], io[1], inits, feeds)
        out.append({"acc0": acc0, "a_scale": int(bits(a_s)), "b_scale": int(bits(b_s)),
                    "y_scale": int(bits(y_s)), "alpha": int(bits(alpha)), "zp": y_zp,
                    "qlinear_matmul": int(mm.reshape(-1)[0]), "qgemm": int(gm.reshape(-1)[0])})
    return out


def gap_cases(rng, n):
    """QLinearGlobalAveragePool (NCHW, u8): the multiplier x_scale / (y_scale * HW)."""
    out = []
    for _ in range(n):
        hw = int(rng.choice([3, 5, 7, 9, 49, 100]))
        x_s, y_s = F32(2.0 ** rng.uniform(-8, 0)), F32(2.0 ** rng.uniform(-10, -2))
        x_zp, y_zp = int(rng.integers(0, 256)), int(rng.integers(0, 256))
        x = rng.integers(0, 256, size=(1, 4, 1, hw)).astype(np.uint8)
        inits = [nh.from_array(np.array(x_s, F32), "xs"), nh.from_array(np.array(x_zp, np.uint8), "xz"),
                 nh.from_array(np.array(y_s, F32), "ys"), nh.from_array(np.array(y_zp, np.uint8), "yz")]
        y = run([h.make_node("QLinearGlobalAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"],
                             domain="com.microsoft", channels_last=0)],
                [vi("x", TP.UINT8, [1, 4, 1, hw])], [vi("y", TP.UINT8, [1, 4, 1, 1])], inits, {"x": x})
        out.append({"x": x.reshape(4, hw).tolist(), "x_scale": int(bits(x_s)), "x_zp": x_zp,
                    "y_scale": int(bits(y_s)), "y_zp": y_zp, "out": y.reshape(-1).astype(int).tolist()})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-group", type=int, default=1500)
    args = ap.parse_args()
    np.seterr(all="ignore")
    rng = np.random.default_rng(SEED)
    n = args.per_group
    groups = []
    for dtype in ("int8", "uint8"):
        lo_t, hi_t = (-128, 127) if dtype == "int8" else (0, 255)
        zps = [lo_t, lo_t + 1, 0 if dtype == "int8" else 128, hi_t - 1, hi_t, int(rng.integers(lo_t, hi_t + 1))]
        for zi, zp in enumerate(zps):
            for with_bias in (False, True):
                groups.append(int_group(rng, dtype, zp, "identity", 0, 0, with_bias, n))
            groups.append(int_group(rng, dtype, zp, "relu", 0, 0, zi % 2 == 0, n))
            lo, hi = sorted(int(v) for v in rng.integers(lo_t, hi_t + 1, size=2))
            groups.append(int_group(rng, dtype, zp, "clamp", lo, hi, zi % 2 == 1, n))
        # Bounds at the type's ends, equal bounds, and crossed bounds (lo > hi).
        for lo, hi in ((lo_t, hi_t), (lo_t + 5, lo_t + 5), (hi_t - 3, lo_t + 3)):
            groups.append(int_group(rng, dtype, zps[2], "clamp", lo, hi, True, n))
    for acc_kind in ("int32", "fp32"):
        for dtype in FLOAT_T:
            for relu in (False, True):
                for with_bias in (False, True):
                    groups.append(float_group(rng, acc_kind, dtype, relu, with_bias, n))
    result = {
        "onnxruntime": ort.__version__,
        "seed": SEED,
        "groups": groups,
        "multipliers": multiplier_cases(rng, 300),
        "gap": gap_cases(rng, 60),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, separators=(",", ":"))
    os.replace(tmp, args.out)
    total = sum(len(g["x"]) for g in groups)
    print(f"wrote {total} write-back vectors in {len(groups)} groups, "
          f"{len(result['multipliers'])} multiplier and {len(result['gap'])} GAP cases "
          f"(onnxruntime {ort.__version__}) to {args.out}")


if __name__ == "__main__":
    main()
