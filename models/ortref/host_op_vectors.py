"""Test vectors of `systolic infer`'s host operators, computed by ONNX Runtime.

    python models/ortref/host_op_vectors.py --out target/ortref/host_op_vectors.json

The end-to-end tests (tests/infer.rs) cannot tell one-ulp variants of these operators apart (the
digits data never push them across a rounding boundary), so each operator is run here on inputs
that do: ORT 1.32.0, CPU execution provider, ORT_DISABLE_ALL, one thread, seeded.

* com.microsoft QLinearAdd, int8 and uint8: every value of A (256 rows) against every value of a
  row-broadcast B (256 columns), with random scales and zero points; also a one-element B and a
  one-element A (ORT swaps the operands then).
* QuantizeLinear, int8 and uint8: random floats, and values a few ulps around the .5 ties
  `(k + 0.5) * scale`, with random scales and zero points.

Every expected output is what ORT returns; nothing here computes one.
"""

import argparse
import json
import os

import numpy as np
import onnxruntime as ort
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

SEED = 20261207
T = {"int8": (TP.INT8, np.int8, -128, 127), "uint8": (TP.UINT8, np.uint8, 0, 255)}


def run(nodes, inputs, outputs, inits, feeds):
    g = h.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 7
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)[0]


def scale(rng):
    return np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1))))


def qlinear_add(rng, ty, a, b):
    onnx_t, np_t, lo, hi = T[ty]
    p = {k: scale(rng) for k in ("a_s", "b_s", "c_s")}
    z = {k: int(rng.integers(lo, hi + 1)) for k in ("a_z", "b_z", "c_z")}
    inits = [
        nh.from_array(np.array(p["a_s"], np.float32), "a_s"),
        nh.from_array(np.array(z["a_z"], np_t), "a_z"),
        nh.from_array(np.array(p["b_s"], np.float32), "b_s"),
        nh.from_array(np.array(z["b_z"], np_t), "b_z"),
        nh.from_array(np.array(p["c_s"], np.float32), "c_s"),
        nh.from_array(np.array(z["c_z"], np_t), "c_z"),
    ]
    node = h.make_node(
        "QLinearAdd", ["a", "a_s", "a_z", "b", "b_s", "b_z", "c_s", "c_z"], ["c"], domain="com.microsoft"
    )
    c = run(
        [node],
        [h.make_tensor_value_info("a", onnx_t, a.shape), h.make_tensor_value_info("b", onnx_t, b.shape)],
        [h.make_tensor_value_info("c", onnx_t, None)],
        inits,
        {"a": a.astype(np_t), "b": b.astype(np_t)},
    )
    return {
        "type": ty,
        "a_scale": float(p["a_s"]),
        "b_scale": float(p["b_s"]),
        "c_scale": float(p["c_s"]),
        "a_zp": z["a_z"],
        "b_zp": z["b_z"],
        "c_zp": z["c_z"],
        "a": a.reshape(-1).astype(int).tolist(),
        "b": b.reshape(-1).astype(int).tolist(),
        "c": c.reshape(-1).astype(int).tolist(),
    }


def quantize(rng, ty):
    onnx_t, np_t, lo, hi = T[ty]
    s = scale(rng)
    zp = int(rng.integers(lo, hi + 1))
    k = rng.integers(lo - zp - 4, hi - zp + 4, size=2048).astype(np.float32)
    ties = (k + np.float32(0.5)) * s
    near = [np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf))]
    rand = rng.uniform((lo - zp - 8) * s, (hi - zp + 8) * s, size=4096).astype(np.float32)
    x = np.concatenate([ties, *near, rand]).astype(np.float32)
    inits = [nh.from_array(np.array(s, np.float32), "s"), nh.from_array(np.array(zp, np_t), "z")]
    y = run(
        [h.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])],
        [h.make_tensor_value_info("x", TP.FLOAT, x.shape)],
        [h.make_tensor_value_info("y", onnx_t, None)],
        inits,
        {"x": x},
    )
    return {
        "type": ty,
        "scale": float(s),
        "zp": zp,
        "x_bits": x.view(np.uint32).astype(int).tolist(),
        "y": y.astype(int).tolist(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)
    adds, quants = [], []
    for ty in ("int8", "uint8"):
        _, _, lo, hi = T[ty]
        grid_a = np.repeat(np.arange(lo, hi + 1), 256).reshape(256, 256)
        row_b = np.arange(lo, hi + 1)
        for _ in range(4):
            adds.append(qlinear_add(rng, ty, grid_a, row_b))
        one = np.array([int(rng.integers(lo, hi + 1))])
        adds.append(qlinear_add(rng, ty, row_b, one))
        adds.append(qlinear_add(rng, ty, one, row_b))
        for _ in range(4):
            quants.append(quantize(rng, ty))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"onnxruntime": ort.__version__, "qlinear_add": adds, "quantize": quants}, f)


if __name__ == "__main__":
    main()
