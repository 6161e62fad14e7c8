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
"""

import argparse
import json
import os
import platform
import sys

import numpy as np
import onnxruntime as ort

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
            if args.check:
                old = np.load(path)
                same = old.tobytes() == logits.tobytes()
                bad += not same
                print(f"{name}: {'same' if same else 'DIFFERENT'} ({acc:.2%})")
            else:
                np.save(path, logits)
                print(f"{name}: top-1 {acc:.2%} -> {path}")
    if args.check:
        sys.exit(1 if bad else 0)
    with open(os.path.join(args.out, "ort.json"), "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
