"""Reference outputs of the quantised test models, computed by ONNX Runtime.

    scripts/python-env.sh                  # .venv-models/ with models/requirements.txt
    .venv-models/bin/python models/ortref/infer_refs.py          # rewrites models/ortref/infer/
    .venv-models/bin/python models/ortref/infer_refs.py --check  # compare with the committed files

For each of the 12 quantised models in models/ (mlp and cnn; qop, qop-pc, qop-u8, qdq, qdq-pc,
qdq-u8) this runs ONNX Runtime's CPU execution provider (default graph optimisations,
ORT_ENABLE_ALL, which fuses the QDQ groups into integer kernels; one thread) on the 360 test
images `digits_test_x.npy` (the CNN takes them reshaped to [N, 1, 8, 8]) and writes the float32
logits to `infer/<model>.logits.npy`, [360, 10], exactly as ORT returns them. `infer/ort.json`
records the versions, the settings, and each model's top-1 accuracy against
`digits_test_y.npy`. `systolic infer` is tested against these files (tests/infer.rs); nothing
here is computed by our own code.

The digits models almost never produce an exact .5 before a rounding (4 ties in 3.6M
requantisations over all 12 models and 360 images), so their outputs cannot tell round half to
even from half away from zero, nor one-ulp differences in a multiplier. `infer/pow2/` holds a
stress variant of each model: every float scale initializer rounded to the nearest power of two
(a QDQ int32 bias scale set to the product of its input and weight scales, so ORT still fuses
the group), which makes every requantisation multiplier a power of two and exact ties frequent.
Their logits (`infer/pow2/<model>.logits.npy`) are ORT's too; their accuracy is not the point.
"""

import argparse
import json
import os
import platform
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper as nh

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
NETS = ["mlp", "cnn"]
FORMS = ["qop", "qop-pc", "qop-u8", "qdq", "qdq-pc", "qdq-u8"]


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def pow2_variant(path):
    """The model with every float scale rounded to a power of two (see the module text)."""
    m = onnx.load(path)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        if "scale" in t.name and t.data_type == onnx.TensorProto.FLOAT:
            v = nh.to_array(t).astype(np.float64)
            r = np.exp2(np.round(np.log2(v))).astype(np.float32)
            t.CopyFrom(nh.from_array(r, t.name))
    producer = {o: n for n in g.node for o in n.output}

    def dq_scale(name):
        n = producer.get(name)
        return None if n is None or n.op_type != "DequantizeLinear" else n.input[1]

    for n in g.node:
        if n.op_type in ("Conv", "Gemm") and len(n.input) > 2:
            sx, sw, sb = (dq_scale(n.input[i]) for i in range(3))
            if None in (sx, sw, sb):
                continue
            x = nh.to_array(inits[sx]).astype(np.float32)
            w = nh.to_array(inits[sw]).astype(np.float32)
            inits[sb].CopyFrom(nh.from_array((x * w).astype(np.float32).reshape(-1), sb))
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(HERE, "infer"))
    ap.add_argument(
        "--check", action="store_true", help="compare with the files in --out instead of writing"
    )
    args = ap.parse_args()
    x = np.load(os.path.join(MODELS, "digits_test_x.npy"))
    y = np.load(os.path.join(MODELS, "digits_test_y.npy"))
    assert x.dtype == np.float32 and x.shape == (360, 64), (x.dtype, x.shape)
    os.makedirs(args.out, exist_ok=True)
    record = {
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "settings": "CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads=1, "
        "inter_op_num_threads=1, the 360 images in one batch",
        "images": int(x.shape[0]),
        "top1": {},
    }
    bad = 0
    for net in NETS:
        feed = x if net == "mlp" else x.reshape(-1, 1, 8, 8)
        for form in FORMS:
            name = f"{net}.{form}"
            s = session(os.path.join(MODELS, f"{name}.onnx"))
            (logits,) = s.run(None, {s.get_inputs()[0].name: feed})
            assert logits.dtype == np.float32 and logits.shape == (360, 10)
            acc = float((logits.argmax(axis=1) == y).mean())
            record["top1"][name] = acc
            path = os.path.join(args.out, f"{name}.logits.npy")
            outputs = [(path, logits)]
            stress = pow2_variant(os.path.join(MODELS, f"{name}.onnx"))
            stress_path = os.path.join(args.out, "pow2", f"{name}.onnx")
            if not args.check:
                os.makedirs(os.path.dirname(stress_path), exist_ok=True)
                onnx.save(stress, stress_path)
            s = session(stress_path)
            (stress_logits,) = s.run(None, {s.get_inputs()[0].name: feed})
            outputs.append((os.path.join(args.out, "pow2", f"{name}.logits.npy"), stress_logits))
            record["top1"][f"pow2/{name}"] = float((stress_logits.argmax(axis=1) == y).mean())
            if args.check:
                for p, v in outputs:
                    same = np.load(p).tobytes() == v.tobytes()
                    bad += not same
                    print(f"{p}: {'same' if same else 'DIFFERENT'}")
            else:
                for p, v in outputs:
                    np.save(p, v)
                print(f"{name}: top-1 {acc:.2%} -> {path} (and pow2/)")
    if args.check:
        sys.exit(1 if bad else 0)
    with open(os.path.join(args.out, "ort.json"), "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
