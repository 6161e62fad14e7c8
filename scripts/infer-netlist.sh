#!/usr/bin/env bash
# Quantised models through a post-synthesis netlist: the iCEBreaker board top of
# `icebreaker-int8-4x4` at 3 Mbaud (4 clock cycles per UART bit at 12 MHz), synthesised and placed
# by `systolic synth` (once: an existing run folder is reused), then `systolic infer --backend
# board --netlist` on the first IMAGES test images of each model, the logits compared bit for
# bit with ONNX Runtime's (models/ortref/infer/). Prints per model the verdict, the board
# cycles, the netlist's build time and the run's wall time, with the load average around it.
#
#   scripts/infer-netlist.sh [IMAGES [MODEL...]]    (default: 1 image of mlp.qop and cnn.qop)
#   RUN_DIR=runs/other scripts/infer-netlist.sh     (default runs/synth-icebreaker-int8-4x4-icebreaker-3M)
#
# Needs the FPGA tools (scripts/fpga-tools.sh) and Verilator; builds the debug binary first.
# Exit status 1 when a model's logits differ from ONNX Runtime's or a run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
images="${1:-1}"
shift || true
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp.qop cnn.qop)
run="${RUN_DIR:-runs/synth-icebreaker-int8-4x4-icebreaker-3M}"
design=(--preset icebreaker-int8-4x4 --board icebreaker --baud 3000000)
cargo build --quiet
bin=target/debug/systolic
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$run/netlist.v" ]; then
  echo "synth: $run (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$(date +%s.%N)
  "$bin" synth "${design[@]}" --out "$run"
  echo "synth: $(awk "BEGIN { print $(date +%s.%N) - $start }") s wall"
fi

# The first $images rows of the test images, as a float32 .npy of [images, 64].
python3 - "$images" "$tmp/x.npy" <<'PY'
import re, struct, sys
n, out = int(sys.argv[1]), sys.argv[2]
b = open("models/digits_test_x.npy", "rb").read()
hlen = struct.unpack("<H", b[8:10])[0]
header = b[10:10 + hlen].decode()
rows, cols = map(int, re.search(r"\((\d+), (\d+)\)", header).groups())
assert "<f4" in header and 1 <= n <= rows, (header, n)
h = header.replace(f"({rows}, {cols})", f"({n}, {cols})").rstrip()
h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
open(out, "wb").write(b[:8] + struct.pack("<H", len(h)) + h.encode() + b[10 + hlen:10 + hlen + n * cols * 4])
PY

status=0
for m in "${models[@]}"; do
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s.%N)
  if ! "$bin" infer --model "models/$m.onnx" --input "$tmp/x.npy" --out "$tmp/$m.npy" \
    --backend board "${design[@]}" --netlist "$run" --json >"$tmp/$m.json"; then
    echo "$m: infer failed"; status=1; continue
  fi
  wall=$(awk "BEGIN { print $(date +%s.%N) - $start }")
  python3 - "$m" "$tmp" "$images" "$wall" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY' || status=1
import json, struct, sys
name, tmp, n, wall, load0, load1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
def body(path):
    b = open(path, "rb").read()
    return b[10 + struct.unpack("<H", b[8:10])[0]:]
same = body(f"{tmp}/{name}.npy") == body(f"models/ortref/infer/{name}.logits.npy")[:n * 10 * 4]
j = json.load(open(f"{tmp}/{name}.json"))
nl = j["netlist"]
build = nl["build_seconds"]
print(f"{name}, {n} image(s) through {nl['netlist']} ({nl['board']}, {nl['clks_per_bit']} clock "
      f"cycles per bit): {'bit-exact with ONNX Runtime' if same else 'DIFFERS from ONNX Runtime'}; "
      f"{j['end_to_end_cycles']} board cycles ({j['busy_cycles']} the engine busy); "
      f"{wall:.1f} s wall, of it the netlist's Verilator build "
      f"{'reused' if build is None else f'{build:.1f} s'}; load {load0} before, {load1} after")
sys.exit(0 if same else 1)
PY
done
exit $status
