#!/usr/bin/env bash
# Every quantised model in models/ on all 360 test images with `systolic infer --backend rtl`
# (the generated engine in Verilator), each compared bit for bit with ONNX Runtime's logits in
# models/ortref/infer/; prints per model the verdict, end-to-end and busy cycles (and, over the
# memory path, each product's cycles and share of its roofline).
#
#   scripts/infer-rtl.sh [PRESET [FLAGS...]]   (default int8-8x8; builds the debug binary first)
#   scripts/infer-rtl.sh int8-8x8 --dma --memory   # the memory path (DMA and ACTIVATE on chip)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-int8-8x8}"
shift || true
cargo build --quiet
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for net in mlp cnn; do
  for form in qop qop-pc qop-u8 qdq qdq-pc qdq-u8; do
    m="$net.$form"
    if ! target/debug/systolic infer --model "models/$m.onnx" --input models/digits_test_x.npy \
      --out "$tmp/$m.npy" --backend rtl --preset "$preset" "$@" --json >"$tmp/$m.json"; then
      echo "$m: infer failed"; status=1; continue
    fi
    python3 - "$m" "$tmp" <<'PY' || status=1
import json, struct, sys
name, tmp = sys.argv[1], sys.argv[2]
def body(path):
    b = open(path, "rb").read()
    return b[10 + struct.unpack("<H", b[8:10])[0]:]
same = body(f"{tmp}/{name}.npy") == body(f"models/ortref/infer/{name}.logits.npy")
j = json.load(open(f"{tmp}/{name}.json"))
print(f"{name}: {'bit-exact with ONNX Runtime' if same else 'DIFFERS from ONNX Runtime'}, "
      f"{j['end_to_end_cycles']} cycles end to end, {j['busy_cycles']} busy")
if j["path"] == "memory":
    for p in j["products"]:
        print(f"  {p['node']}: {p['cycles']} cycles, {100 * p['roofline_fraction']:.1f} % of its "
              f"roofline ({p['roofline_cycles']}), {p['dma_read_bytes']} B read")
sys.exit(0 if same else 1)
PY
  done
done
exit $status
