#!/usr/bin/env bash
# Area and Fmax of the number formats and PE latencies on the iCE40 UP5K (iCEBreaker) and the
# ECP5 85F (ULX3S), out of context: int8, fp8 E4M3 and bf16 cores of 1x1 and 4x4, every
# pe_latency. Writes one JSON report per run under runs/qor-formats/ and prints a Markdown
# table (docs/fpga.md quotes it). About 25 minutes on 2 cores.
#
#   scripts/qor-formats.sh            # every configuration
#   scripts/qor-formats.sh --table    # only print the table from the reports already there
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/qor-formats
mkdir -p "$out"

if [[ "${1:-}" != "--table" ]]; then
  cargo build --release --quiet
  run() { # tag board args...
    local tag=$1 board=$2
    shift 2
    echo "== $tag on $board" >&2
    ./target/release/systolic synth --board "$board" --ooc --json --out "$out/$tag-$board" "$@" \
      > "$out/$tag-$board.json" 2> "$out/$tag-$board.err" || true
  }
  for size in 1 4; do
    for board in ulx3s-85f icebreaker; do
      for lat in 1 2; do
        run "int8-${size}x${size}-l$lat" "$board" --rows $size --cols $size --format int8 --pe-latency $lat
      done
      for fmt in fp8e4m3 bf16; do
        for lat in 1 2 3 4; do
          run "$fmt-${size}x${size}-l$lat" "$board" --rows $size --cols $size --format $fmt --pe-latency $lat
        done
      done
    done
  done
fi

python3 - "$out" <<'EOF'
import json, os, re, sys
out = sys.argv[1]
rows = []
for name in sorted(os.listdir(out)):
    if not name.endswith(".json"):
        continue
    stem = name[:-5]
    board = next((b for b in ("ulx3s-85f", "icebreaker") if stem.endswith("-" + b)), None)
    if board is None:
        continue
    tag = stem[: -len(board) - 1]
    path = os.path.join(out, name)
    try:
        d = json.load(open(path))
    except Exception:
        err = open(path[:-5] + ".err").read().strip().splitlines()
        rows.append((board, tag, None, err[-1] if err else "failed"))
        continue
    rows.append((board, tag, d, None))
order = {"int8": 0, "fp8e4m3": 1, "bf16": 2}
def key(r):
    board, tag = r[0], r[1]
    fmt, size, lat = tag.split("-")
    return (board, int(size.split("x")[0]), order[fmt], lat)
rows.sort(key=key)
print("| device | core | pe_latency | LUT4 | FF | DSP | BRAM | Fmax MHz | GOPS | critical path ends |")
print("|---|---|---|---|---|---|---|---|---|---|")
for board, tag, d, err in rows:
    fmt, size, lat = tag.split("-")
    dev = {"ulx3s-85f": "ECP5 85F", "icebreaker": "iCE40 UP5K"}.get(board, board)
    if d is None:
        print(f"| {dev} | {fmt} {size} | {lat[1:]} | {err} | | | | | | |")
        continue
    c = d["cells"]
    cp = d.get("critical_path") or {}
    ends = f"{cp.get('from', '')} -> {cp.get('to', '')}"
    def short(s):
        # Hierarchy down to the PE or memory, without the cell names Yosys appends.
        s = re.sub(r"u_core\.", "", s)
        s = re.sub(r"u_array\.g_col\[\d+\]\.u_column\.", "", s)
        s = re.sub(r"_(TRELLIS_FF|SB_DFF|SB_LUT4)\w*$", "", s)
        s = re.sub(r"_(SB_DFF|SB_LUT4)\w*", "", s)
        s = re.sub(r"\.0\.0$", "", s)
        return s
    print(f"| {dev} | {fmt} {size} | {lat[1:]} | {c['lut4']:,} | {c['ff']:,} | {c['dsp']} | {c['bram']} "
          f"| {d['fmax_mhz']:.1f} | {d['gops']:.2f} | {short(ends)} |")
EOF
