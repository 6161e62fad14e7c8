#!/usr/bin/env python3
"""Builds the quantised ONNX models that `systolic infer` is tested with.

Steps (all deterministic, CPU only, no network):
  1. scikit-learn's bundled 8x8 digits (1,797 images), split 1,437 train / 360 test, stratified,
     fixed seed; pixels scaled to [0, 1] as float32 (pixel / 16, exact in float32).
  2. Trains two float models:
       mlp  64-64-32-10, ReLU, scikit-learn's MLPClassifier (Adam, fixed seed);
       cnn  1x8x8 -> Conv 3x3 (8, pad 1) -> ReLU -> Conv 3x3 (16, pad 1) -> ReLU -> MaxPool 2x2
            -> Flatten -> Dense 10, written here in NumPy (forward, backward, Adam).
  3. Exports both with the onnx helper API (opset 13): the MLP's dense layers as MatMul + Add, the
     CNN's dense layer as Gemm (transB=1). Input `input` (batch axis `batch`), output `logits`.
  4. Quantises each with onnxruntime.quantization.quantize_static (MinMax calibration over 200
     training images) into the variants listed in VARIANTS.
  5. Evaluates every model with ONNX Runtime (CPUExecutionProvider) on the test split; writes
     accuracy.json, README.md, GRAPHS.md (node lists) and SHA256SUMS.
  6. Saves the test split as digits_test_x.npy (float32, N x 64) and digits_test_y.npy (int64).

Usage (from the repository root, after scripts/python-env.sh):
  .venv-models/bin/python models/make_models.py [--out DIR]
--out writes everything into DIR instead of models/ (to compare a rerun byte for byte).
"""

import os

# One thread everywhere before NumPy/BLAS load: training and calibration are then reproducible
# run to run (no thread-count-dependent reduction orders).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

SEED = 0
TEST_SIZE = 360
CALIB_COUNT = 200
OPSET = 13
IR_VERSION = 7  # the IR version that goes with opset 13

# name suffix -> quantize_static arguments
VARIANTS = {
    "qop": dict(quant_format=QuantFormat.QOperator, per_channel=False,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8),
    "qop-pc": dict(quant_format=QuantFormat.QOperator, per_channel=True,
                   activation_type=QuantType.QInt8, weight_type=QuantType.QInt8),
    "qop-u8": dict(quant_format=QuantFormat.QOperator, per_channel=False,
                   activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8),
    "qdq": dict(quant_format=QuantFormat.QDQ, per_channel=False,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8),
    "qdq-pc": dict(quant_format=QuantFormat.QDQ, per_channel=True,
                   activation_type=QuantType.QInt8, weight_type=QuantType.QInt8),
    "qdq-u8": dict(quant_format=QuantFormat.QDQ, per_channel=False,
                   activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8),
}

VARIANT_TEXT = {
    "qop": "QOperator, int8 activations, int8 weights, per-tensor",
    "qop-pc": "QOperator, int8 activations, int8 weights, per-channel weights",
    "qop-u8": "QOperator, uint8 activations, int8 weights, per-tensor",
    "qdq": "QDQ, int8 activations, int8 weights, per-tensor",
    "qdq-pc": "QDQ, int8 activations, int8 weights, per-channel weights",
    "qdq-u8": "QDQ, uint8 activations, int8 weights, per-tensor",
}

PACKAGES = ("numpy", "scikit-learn", "scipy", "onnx", "onnxruntime", "protobuf")


# ----------------------------------------------------------------------------------------------
# Data


def load_split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # 0..16 -> multiples of 1/16, exact
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, random_state=SEED
    )
    return x_train, x_test, y_train, y_test


# ----------------------------------------------------------------------------------------------
# MLP (scikit-learn)


def train_mlp(x_train, y_train):
    clf = MLPClassifier(
        hidden_layer_sizes=(64, 32),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=64,
        learning_rate_init=1e-3,
        max_iter=300,
        shuffle=True,
        random_state=SEED,
        tol=1e-6,
        n_iter_no_change=300,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x_train.astype(np.float64), y_train)
    weights = [w.astype(np.float32) for w in clf.coefs_]  # (in, out): MatMul's B as is
    biases = [b.astype(np.float32) for b in clf.intercepts_]
    return weights, biases


def mlp_forward(weights, biases, x):
    h = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w + b
        if i < len(weights) - 1:
            h = np.maximum(h, 0)
    return h


def mlp_onnx(weights, biases):
    inits, nodes = [], []
    prev = "input"
    for i, (w, b) in enumerate(zip(weights, biases), start=1):
        wn, bn = f"fc{i}.weight", f"fc{i}.bias"
        inits += [numpy_helper.from_array(w, wn), numpy_helper.from_array(b, bn)]
        mm, add = f"fc{i}.matmul", f"fc{i}.add"
        last = i == len(weights)
        out = "logits" if last else f"fc{i}.out"
        nodes.append(helper.make_node("MatMul", [prev, wn], [mm], name=f"fc{i}_MatMul"))
        nodes.append(helper.make_node("Add", [mm, bn], [out], name=f"fc{i}_Add"))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"], name=f"relu{i}"))
            prev = f"relu{i}"
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits,
    )
    return finish_model(graph, "MLP 64-64-32-10 (ReLU) on 8x8 digits, input = pixel/16")


# ----------------------------------------------------------------------------------------------
# CNN (NumPy)


def im2col3(x):
    """x [B, C, H, W] -> columns [B*H*W, C*9] for a 3x3 kernel, stride 1, padding 1; the column
    order (c, kh, kw) matches weight.reshape(O, C*9)."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, :, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=-1)
    # [B, C, H, W, 9] -> [B, H, W, C, 9]
    return cols.transpose(0, 2, 3, 1, 4).reshape(b * h * w, c * 9)


def col2im3(dcols, shape):
    b, c, h, w = shape
    d = dcols.reshape(b, h, w, c, 9).transpose(0, 3, 1, 2, 4)  # [B, C, H, W, 9]
    dxp = np.zeros((b, c, h + 2, w + 2), dtype=dcols.dtype)
    k = 0
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + w] += d[..., k]
            k += 1
    return dxp[:, :, 1:1 + h, 1:1 + w]


def conv3_forward(x, w, bias):
    b, _, h, wd = x.shape
    o = w.shape[0]
    cols = im2col3(x)
    y = cols @ w.reshape(o, -1).T + bias
    return y.reshape(b, h, wd, o).transpose(0, 3, 1, 2), cols


def conv3_backward(dy, x_shape, cols, w):
    o = w.shape[0]
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (dy2.T @ cols).reshape(w.shape)
    db = dy2.sum(axis=0)
    dx = col2im3(dy2 @ w.reshape(o, -1), x_shape)
    return dx, dw, db


def maxpool2_forward(a):
    b, c, h, w = a.shape
    r = a.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(b, c, h // 2, w // 2, 4)
    idx = r.argmax(axis=-1)
    return np.take_along_axis(r, idx[..., None], axis=-1)[..., 0], idx


def maxpool2_backward(dp, idx, shape):
    b, c, h, w = shape
    d = np.zeros((b, c, h // 2, w // 2, 4), dtype=dp.dtype)
    np.put_along_axis(d, idx[..., None], dp[..., None], axis=-1)
    return d.reshape(b, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def cnn_forward(p, x, keep=False):
    a1, cols1 = conv3_forward(x, p["conv1.weight"], p["conv1.bias"])
    r1 = np.maximum(a1, 0)
    a2, cols2 = conv3_forward(r1, p["conv2.weight"], p["conv2.bias"])
    r2 = np.maximum(a2, 0)
    pooled, idx = maxpool2_forward(r2)
    flat = pooled.reshape(x.shape[0], -1)
    logits = flat @ p["fc.weight"].T + p["fc.bias"]
    if keep:
        return logits, (x, a1, cols1, r1, a2, cols2, r2, idx, flat)
    return logits


def cnn_backward(p, cache, dlogits):
    x, a1, cols1, r1, a2, cols2, r2, idx, flat = cache
    g = {"fc.weight": dlogits.T @ flat, "fc.bias": dlogits.sum(axis=0)}
    dflat = dlogits @ p["fc.weight"]
    dr2 = maxpool2_backward(dflat.reshape(r2.shape[0], r2.shape[1], 4, 4), idx, r2.shape)
    da2 = dr2 * (a2 > 0)
    dr1, g["conv2.weight"], g["conv2.bias"] = conv3_backward(da2, r1.shape, cols2, p["conv2.weight"])
    da1 = dr1 * (a1 > 0)
    _, g["conv1.weight"], g["conv1.bias"] = conv3_backward(da1, x.shape, cols1, p["conv1.weight"])
    return g


def train_cnn(x_train, y_train, epochs=30, batch=32, lr=2e-3):
    rng = np.random.default_rng(SEED)

    def he(shape, fan_in):
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    p = {
        "conv1.weight": he((8, 1, 3, 3), 9),
        "conv1.bias": np.zeros(8),
        "conv2.weight": he((16, 8, 3, 3), 72),
        "conv2.bias": np.zeros(16),
        "fc.weight": he((10, 256), 256),  # [out, in]: Gemm with transB=1
        "fc.bias": np.zeros(10),
    }
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    x = x_train.astype(np.float64).reshape(-1, 1, 8, 8)
    n = x.shape[0]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch):
            sel = order[s:s + batch]
            logits, cache = cnn_forward(p, x[sel], keep=True)
            z = logits - logits.max(axis=1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(axis=1, keepdims=True)
            prob[np.arange(len(sel)), y_train[sel]] -= 1.0
            grads = cnn_backward(p, cache, prob / len(sel))
            step += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * grads[k]
                v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
                mh = m[k] / (1 - b1 ** step)
                vh = v[k] / (1 - b2 ** step)
                p[k] -= lr * mh / (np.sqrt(vh) + eps)
    return {k: val.astype(np.float32) for k, val in p.items()}


def cnn_onnx(p):
    inits = [numpy_helper.from_array(p[k], k) for k in
             ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias")]
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1.out"], name="conv1", **conv),
        helper.make_node("Relu", ["conv1.out"], ["relu1"], name="relu1"),
        helper.make_node("Conv", ["relu1", "conv2.weight", "conv2.bias"], ["conv2.out"], name="conv2", **conv),
        helper.make_node("Relu", ["conv2.out"], ["relu2"], name="relu2"),
        helper.make_node("MaxPool", ["relu2"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits,
    )
    return finish_model(graph, "CNN conv3x3(8)-relu-conv3x3(16)-relu-maxpool2-flatten-gemm(10) on 8x8 digits, "
                               "input = pixel/16 as [batch, 1, 8, 8]")


def finish_model(graph, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="systolic-models",
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------------------------
# Quantisation and evaluation


class DigitsReader(CalibrationDataReader):
    """Feeds the calibration images one batch of 20 at a time."""

    def __init__(self, x, batch=20):
        self.batches = [x[i:i + batch] for i in range(0, len(x), batch)]
        self.pos = 0

    def get_next(self):
        if self.pos >= len(self.batches):
            return None
        self.pos += 1
        return {"input": self.batches[self.pos - 1]}

    def rewind(self):
        self.pos = 0


def session(path, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def run(path, x, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    return session(path, level).run(["logits"], {"input": x})[0]


def runtime_ops(path):
    """The op list ONNX Runtime actually runs at ORT_ENABLE_ALL (after its graph optimisations,
    e.g. QDQ groups fused into QLinear kernels). Depends on the CPU (layout transforms)."""
    with tempfile.TemporaryDirectory() as tmp:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.log_severity_level = 3
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
        model = onnx.load(so.optimized_model_filepath)
    return " -> ".join((n.domain + "." if n.domain else "") + n.op_type for n in model.graph.node)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dims(t):
    return "[" + ", ".join(str(d) for d in t.dims) + "]" if t.dims else "scalar"


def describe(path):
    """Markdown node list of one model: op, domain, inputs (initializers with dtype/shape, and the
    value of zero points), outputs."""
    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    lines = []
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    lines.append(f"opsets: {opsets}; IR version {model.ir_version}\n")
    lines.append("| # | op | domain | inputs | outputs |")
    lines.append("| --- | --- | --- | --- | --- |")
    for i, n in enumerate(model.graph.node):
        ins = []
        for name in n.input:
            if name == "":
                ins.append("(none)")
            elif name in inits:
                t = inits[name]
                arr = numpy_helper.to_array(t)
                txt = f"`{name}` {TensorProto.DataType.Name(t.data_type).lower()} {dims(t)}"
                if "zero_point" in name:
                    flat = arr.reshape(-1)
                    if flat.size == 1:
                        txt += f" = {flat[0]}"
                    elif (flat == flat[0]).all():
                        txt += f" = all {flat[0]}"
                    else:
                        txt += " = " + np.array2string(flat, separator=" ")
                ins.append(txt)
            else:
                ins.append(f"`{name}`")
        attrs = [a for a in n.attribute]
        attr_txt = ""
        if attrs:
            attr_txt = " (" + ", ".join(
                f"{a.name}={helper.get_attribute_value(a)!r}".replace("b'", "'") for a in attrs) + ")"
        lines.append(f"| {i} | {n.op_type}{attr_txt} | {n.domain or 'ai.onnx'} | {'<br>'.join(ins)} | "
                     f"{', '.join('`' + o + '`' for o in n.output)} |")
    return "\n".join(lines)


def op_counts(path):
    model = onnx.load(str(path))
    c = Counter((n.domain + "." if n.domain else "") + n.op_type for n in model.graph.node)
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    x_train, x_test, y_train, y_test = load_split()
    np.save(out / "digits_test_x.npy", x_test)
    np.save(out / "digits_test_y.npy", y_test)
    # Calibration: the first CALIB_COUNT training images (the training split is already in
    # train_test_split's seeded shuffled order).
    calib = x_train[:CALIB_COUNT]
    print(f"data: {len(x_train)} train, {len(x_test)} test, {len(calib)} calibration images")

    t = time.time()
    w, b = train_mlp(x_train, y_train)
    mlp_np_acc = float((mlp_forward(w, b, x_test).argmax(1) == y_test).mean())
    print(f"mlp: trained in {time.time() - t:.1f} s, NumPy test accuracy {mlp_np_acc:.4f}")
    t = time.time()
    p = train_cnn(x_train, y_train)
    cnn_np_acc = float((cnn_forward(p, x_test.reshape(-1, 1, 8, 8)).argmax(1) == y_test).mean())
    print(f"cnn: trained in {time.time() - t:.1f} s, NumPy test accuracy {cnn_np_acc:.4f}")

    nets = {
        "mlp": (mlp_onnx(w, b), lambda x: x, calib),
        "cnn": (cnn_onnx(p), lambda x: x.reshape(-1, 1, 8, 8), calib.reshape(-1, 1, 8, 8)),
    }
    results = {}
    files = []
    graphs = []
    for net, (model, shape, calib_x) in nets.items():
        fpath = out / f"{net}.float.onnx"
        onnx.save_model(model, str(fpath))
        files.append(fpath)
        xt = shape(x_test)
        flog = run(fpath, xt)
        results[net] = {"float": {"file": fpath.name, "accuracy": float((flog.argmax(1) == y_test).mean()),
                                  "ops": op_counts(fpath)}}
        for name, kw in VARIANTS.items():
            qpath = out / f"{net}.{name}.onnx"
            # The quantiser warns that the model was not pre-processed (quant_pre_process) and, for
            # QOperator int8/int8, that QDQ runs faster on x64. Both are deliberate here:
            # pre-processing runs ORT's optimiser, which fuses MatMul + Add into Gemm and so would
            # remove the MatMul + Add path these models are meant to exercise.
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)
            try:
                quantize_static(str(fpath), str(qpath), DigitsReader(calib_x),
                                calibrate_method=CalibrationMethod.MinMax, **kw)
            finally:
                root.setLevel(level)
            files.append(qpath)
            qlog = run(qpath, xt)
            # The same model with ORT's graph optimisations off: QDQ graphs then run as
            # DequantizeLinear -> float op -> QuantizeLinear instead of fused integer kernels.
            qlog_noopt = run(qpath, xt, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
            results[net][name] = {
                "file": qpath.name,
                "form": VARIANT_TEXT[name],
                "accuracy": float((qlog.argmax(1) == y_test).mean()),
                "accuracy_no_graph_opt": float((qlog_noopt.argmax(1) == y_test).mean()),
                "logits_equal_with_and_without_graph_opt": bool(np.array_equal(qlog, qlog_noopt)),
                "argmax_agrees_with_float": float((qlog.argmax(1) == flog.argmax(1)).mean()),
                "ops": op_counts(qpath),
                "ort_runtime_ops": runtime_ops(qpath),
            }
            graphs.append((qpath.name, VARIANT_TEXT[name] + ". ONNX Runtime runs it (ORT_ENABLE_ALL, "
                           "this CPU) as: " + results[net][name]["ort_runtime_ops"], describe(qpath)))
            r = results[net][name]
            print(f"{qpath.name}: accuracy {r['accuracy']:.4f} (float {results[net]['float']['accuracy']:.4f}), "
                  f"{qpath.stat().st_size} bytes")

    versions = {k: importlib.metadata.version(k) for k in PACKAGES}
    versions["python"] = platform.python_version()
    summary = {
        "dataset": {"name": "sklearn.datasets.load_digits", "train": len(x_train), "test": len(x_test),
                    "calibration": CALIB_COUNT, "split_seed": SEED, "scaling": "pixel / 16, float32"},
        "numpy_float_accuracy": {"mlp": mlp_np_acc, "cnn": cnn_np_acc},
        "ort_settings": "CPUExecutionProvider, intra_op_num_threads=1, ORT_ENABLE_ALL unless stated",
        "versions": versions,
        "models": results,
    }
    (out / "accuracy.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_readme(out, summary)
    (out / "GRAPHS.md").write_text(
        "# Node lists of the quantised models\n\n"
        "Generated by `make_models.py`. Initializers are shown as name, element type, shape; zero points "
        "also with their values. `ai.onnx` is the default domain.\n\n"
        + "\n\n".join(f"## {f}\n\n{txt}\n\n{d}" for f, txt, d in graphs) + "\n")
    files += [out / "digits_test_x.npy", out / "digits_test_y.npy"]
    (out / "SHA256SUMS").write_text("".join(f"{sha256(f)}  {f.name}\n" for f in files))
    print(f"done in {time.time() - t0:.1f} s; files in {out}")


def write_readme(out, s):
    v = s["versions"]
    rows = []
    for net, res in s["models"].items():
        for form, r in res.items():
            if form == "float":
                rows.append(f"| {net} | float | `{r['file']}` | {r['accuracy'] * 100:.2f}% | | {r['ops']} |")
            else:
                rows.append(f"| {net} | {r['form']} | `{r['file']}` | {r['accuracy'] * 100:.2f}% "
                            f"| {'yes' if r['logits_equal_with_and_without_graph_opt'] else 'no'} | {r['ops']} |")
    text = f"""# Quantised test models for `systolic infer`

Small networks trained on scikit-learn's bundled 8x8 digits (1,797 images, shipped with the package,
nothing downloaded), exported to ONNX and quantised to int8 with ONNX Runtime's `quantize_static`,
for testing that quantised networks run on the generated engine give the same results as ONNX
Runtime. Everything here is produced by `make_models.py`; nothing is edited by hand.

## Rerun

```sh
scripts/python-env.sh                       # creates .venv-models/ with requirements.txt
.venv-models/bin/python models/make_models.py             # rewrites models/
# or build elsewhere and compare with the committed files:
.venv-models/bin/python models/make_models.py --out /tmp/m && (cd /tmp/m && sha256sum -c "$OLDPWD/models/SHA256SUMS")
```

About 16 s on the 2-core machine (median of 3 runs, wall clock: 16.2 s; 15.5-17.3). The script
sets every thread count to 1 and fixes every seed, so a rerun with the pinned versions on the same
machine gives byte-identical files (`SHA256SUMS`). Checked: three runs, and a fourth pinned to one
core (`taskset -c 0`), gave identical files. Float training goes through BLAS, whose rounding can
differ between CPU kernels, so another machine may train slightly different weights (then
`SHA256SUMS` changes, not the structure). `quant_pre_process` is deliberately not run before
quantising (the quantiser warns about it; the warnings are silenced): its ONNX Runtime
optimisation pass fuses MatMul + Add into Gemm, which would remove the MLP's MatMul + Add path.

Versions: Python {v['python']}, numpy {v['numpy']}, scikit-learn {v['scikit-learn']}, scipy {v['scipy']},
onnx {v['onnx']}, onnxruntime {v['onnxruntime']}, protobuf {v['protobuf']} (`requirements.txt`).

## Data

- `load_digits()`, pixels / 16 as float32 (exact: multiples of 1/16), split with
  `train_test_split(test_size=360, stratify=y, random_state=0)`: 1,437 train, 360 test.
- `digits_test_x.npy`: float32 [360, 64], row-major 8x8 images. The MLP takes it as is
  (`input` [batch, 64]); the CNN takes the same data reshaped to [batch, 1, 8, 8] by the consumer.
- `digits_test_y.npy`: int64 [360] labels.
- Calibration: the first 200 images of the training split, MinMax.

## Models

- `mlp`: 64-64-32-10, ReLU, scikit-learn `MLPClassifier` (Adam, 300 epochs). Dense layers as
  `MatMul` + `Add` (weights [in, out]).
- `cnn`: [1, 8, 8] -> Conv 3x3 8 ch (pad 1) -> Relu -> Conv 3x3 16 ch (pad 1) -> Relu -> MaxPool 2x2
  -> Flatten -> Gemm 256->10 (`transB=1`, weight [10, 256]); NumPy forward/backward, Adam, 30 epochs.
- Opset 13, IR 7; input `input` with batch axis `batch`, output `logits` (float).
- Quantised variants (`quantize_static`, default options otherwise: asymmetric activations,
  symmetric weights, `reduce_range=False`): `qop` QOperator int8/int8 per-tensor, `qop-pc`
  QOperator per-channel weights, `qop-u8` QOperator uint8 activations, `qdq` QDQ int8/int8
  per-tensor, `qdq-pc` QDQ per-channel weights, `qdq-u8` QDQ uint8 activations. The node lists,
  with the types and shapes of scales, zero points, weights and biases, are in `GRAPHS.md`.

## What the quantiser emits (onnxruntime {v['onnxruntime']})

Details per model in `GRAPHS.md`. In short:

- Zero points: activations are asymmetric (MinMax range widened to include 0). int8: the input
  ([0, 1]) and every post-ReLU tensor have zero point -128, signed tensors (MatMul outputs, logits)
  other values; uint8: 0 for post-ReLU tensors. Weights are symmetric, zero point 0 (per-tensor
  and per-channel).
- ReLU is never kept: the quantiser removes it and gives the producing node (Add, Conv) the ReLU
  output's range, whose zero point is the type's minimum, so saturation does the clamping.
- QOperator MLP: `QuantizeLinear` -> 3 x (`QLinearMatMul` (int8 weight [in, out]; per-channel:
  scales and zero points [out]) -> `com.microsoft.QLinearAdd` (the bias as an 8-bit tensor, not
  int32)) -> `DequantizeLinear`. The MatMul result is requantised to 8 bits before the bias is
  added. The bias is int8 symmetric (zero point 0) with int8 activations, uint8 asymmetric with
  uint8 activations.
- QOperator CNN: `QuantizeLinear` -> `QLinearConv` x 2 (int32 bias, its scale implicitly
  input scale x weight scale) -> `MaxPool` and `Flatten` on the 8-bit tensor (scale and zero
  point carried over) -> `com.microsoft.QGemm` (`transB=1`, int32 bias, 8-bit output) ->
  `DequantizeLinear`.
- QDQ: the float graph kept (MatMul, Add, Conv, MaxPool, Flatten, Gemm; ReLU removed) with
  `QuantizeLinear` -> `DequantizeLinear` pairs on every activation (also after MaxPool and Flatten,
  with the same scale), weights stored quantised behind a `DequantizeLinear` (per-channel: `axis`
  1 for MatMul weights [in, out], 0 for Conv and Gemm weights). Conv/Gemm biases are int32 behind
  a `DequantizeLinear` with an explicit scale (shape [1] per-tensor, [C] per-channel) and int32
  zero point 0; the MLP's Add biases are 8-bit asymmetric tensors (activation-style range).
- At run time ONNX Runtime fuses the CNN's QDQ groups into `com.microsoft.QLinearConv` (NHWC),
  `NhwcMaxPool` and `QGemm`, and the MLP's into `QLinearMatMul`; the MLP's bias `Add` becomes
  `com.microsoft.QLinearAdd` with uint8 activations but stays a float `Add` between
  `DequantizeLinear` and `QuantizeLinear` with int8 activations (see `GRAPHS.md`).

## Test accuracy (360 images)

ONNX Runtime {v['onnxruntime']}, CPUExecutionProvider, one thread. "same logits without graph opt"
tells whether the logits are bit-identical with ORT's graph optimisations off (`ORT_DISABLE_ALL`,
the QDQ graph run op by op through float) and on (`ORT_ENABLE_ALL`, the default, fused integer
kernels). Accuracy in NumPy of the float models: mlp {s['numpy_float_accuracy']['mlp'] * 100:.2f}%,
cnn {s['numpy_float_accuracy']['cnn'] * 100:.2f}%.

| model | form | file | accuracy | same logits without graph opt | ops (count) |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

`accuracy.json` holds the same numbers. No ONNX Runtime outputs are kept as expected results: tests
compute them from these models when they run.
"""
    (out / "README.md").write_text(text)


if __name__ == "__main__":
    sys.exit(main())
