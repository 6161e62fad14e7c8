#!/usr/bin/env bash
# Quality of results: area and Fmax of generated cores, out of context, on the open FPGA flow
# (`systolic synth --ooc`). One JSON report per run under runs/qor-<matrix>/ and a Markdown
# table on stdout (docs/fpga.md quotes them).
#
#   scripts/qor.sh int8             # int8 cores on every device, every pe_latency (~80 min here)
#   scripts/qor.sh formats          # int8 / fp8 E4M3 / bf16 1x1 and 4x4, every pe_latency (~40 min)
#   scripts/qor.sh int8 --table     # only print the table from the reports already there
#   FILTER='ice40|ecp5' scripts/qor.sh int8   # only the runs whose TAG@BOARD matches the regex
#   FILTER='\+t[0-9]' SEEDS='1 2 3 4 5' scripts/qor.sh int8   # the largest fits, 5 seeds
#
# Each run: Yosys + nextpnr at the board's target frequency, multipliers `auto` (ECP5:
# MULT18X18D when they fit; iCE40: LUTs) unless the RTL instantiates its DSP blocks. Fmax is
# nextpnr's timing model. Placement moves Fmax by 10-20% from one placer seed to the next, so
# the pipelined configurations (pe_latency 3 to 5, the ones compared against the goals, the
# iCE40 DSP cores and the largest fits) are placed with each seed of SEEDS (default "1 2 3"), the others with
# seed 1; the table gives the median Fmax, its range, and the other
# numbers of the median run. JOBS (default 2) runs that many at once. A run whose report is
# already there is not repeated (delete runs/qor-<matrix>/ to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
matrix=${1:-}
case "$matrix" in
  int8 | formats) ;;
  *)
    echo "usage: scripts/qor.sh int8|formats [--table]" >&2
    exit 2
    ;;
esac
out=runs/qor-$matrix
mkdir -p "$out"

seeds=${SEEDS:-1 2 3}
jobs_max=${JOBS:-2}

# run TAG BOARD ARGS...: one synthesis per seed, each report in $out/TAG@BOARD~sSEED.json
# (stderr beside it), JOBS at a time.
run() {
  local tag=$1 board=$2 run_seeds=1
  shift 2
  [[ "$tag@$board" =~ ${FILTER:-.} ]] || return 0
  [[ $tag =~ -l[345] || $tag =~ ice40 ]] && run_seeds=$seeds
  for seed in $run_seeds; do
    if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
      "$out/$tag@$board~s$seed.json" 2> /dev/null; then
      continue
    fi
    while (($(jobs -rp | wc -l) >= jobs_max)); do sleep 1; done
    echo "== $tag on $board, seed $seed" >&2
    ./target/release/systolic synth --board "$board" --ooc --json --seed "$seed" \
      --out "$out/$tag@$board~s$seed" "$@" \
      > "$out/$tag@$board~s$seed.json" 2> "$out/$tag@$board~s$seed.err" &
  done
}

if [[ "${2:-}" != "--table" ]]; then
  cargo build --release --quiet
  if [[ $matrix == int8 ]]; then
    # pe_latency 4 and 5 split the multiplier for LUT fabrics: on the ECP5 `auto` then means LUTs.
    for lat in 1 2 3 4 5; do
      run "int8-4x4-l$lat" icebreaker --preset int8-4x4 --pe-latency $lat
      run "int8-4x4-l$lat" ice40-hx8k-breakout --preset int8-4x4 --pe-latency $lat
      run "int8-4x4-l$lat" ulx3s-25f --preset int8-4x4 --pe-latency $lat
      run "int8-8x8-l$lat" ulx3s-85f --preset int8-8x8 --pe-latency $lat
    done
    # The DSP blocks' own registers: ECP5 MULT18X18D and block RAMs (primitives = ecp5), iCE40
    # UltraPlus SB_MAC16 pairs (primitives = ice40).
    for lat in 2 3 4; do
      run "int8-4x4-l$lat+ice40" icebreaker --preset int8-4x4 --pe-latency $lat --primitives ice40
      run "int8-4x4-l$lat+ecp5" ulx3s-25f --preset int8-4x4 --pe-latency $lat --primitives ecp5
      run "int8-8x8-l$lat+ecp5" ulx3s-85f --preset int8-8x8 --pe-latency $lat --primitives ecp5
    done
    # The split PSUM accumulate (psum_split: two 16-bit loops instead of one 32-bit one).
    for lat in 4 5; do
      run "int8-4x4-l$lat+split" ice40-hx8k-breakout --preset int8-4x4 --pe-latency $lat --psum-split
    done
    for lat in 3 4; do
      run "int8-4x4-l$lat+ice40+split" icebreaker --preset int8-4x4 --pe-latency $lat \
        --primitives ice40 --psum-split
      run "int8-8x8-l$lat+ecp5+split" ulx3s-85f --preset int8-8x8 --pe-latency $lat \
        --primitives ecp5 --psum-split
    done
    # The largest cores measured to fit (presets; carry-chain multipliers, tiles). The 85F's
    # takes about 16 min a seed and needs router2 (router1 had not routed it after 30 min).
    run "int8-8x5-l2+ice40+t5" icebreaker --preset up5k-int8-8x5
    run "int8-8x6-l2+ice40+t6" ice40-hx8k-breakout --preset hx8k-int8-8x6
    run "int8-20x20-l4+ecp5+t4+k" ulx3s-85f --preset ecp5-int8-20x20 --router router2
  else
    for size in 1 4; do
      for board in ulx3s-85f icebreaker; do
        for lat in 1 2 3; do
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
  wait
fi

python3 - "$out" <<'EOF'
import json, os, re, sys
out = sys.argv[1]
devices = {"icebreaker": "iCE40 UP5K", "ice40-hx8k-breakout": "iCE40 HX8K",
           "ulx3s-25f": "ECP5 25F", "ulx3s-85f": "ECP5 85F"}
formats = {"int8": 0, "fp8e4m3": 1, "bf16": 2}
runs = {}
for name in os.listdir(out):
    if not name.endswith(".json"):
        continue
    tag, _, rest = name[:-5].partition("@")
    board, _, seed = rest.partition("~s")
    path = os.path.join(out, name)
    try:
        d = json.load(open(path))
    except ValueError:
        err = open(path[:-5] + ".err").read().strip().splitlines()
        d = (err[-1] if err else "failed").replace("|", "\\|")
    runs.setdefault((tag, board), []).append(d)
rows = []
for (tag, board), ds in runs.items():
    fmt, size, lat = tag.split("-")
    lat, *opts = lat.split("+")
    # +t<N>: tiles of N columns (tile_cols).
    tile = next((o[1:] for o in opts if re.fullmatch(r"t\d+", o)), "")
    # +k: every PE's swap-token register kept (keep_tokens).
    prims = next((o for o in opts if o not in ("split", "k") and o[1:] != tile), "")
    split = "split" in opts
    keep = "k" in opts
    key = (list(devices).index(board) if board in devices else 99, int(size.split("x")[0]),
           formats.get(fmt, 9), lat, prims, split)
    shown = (lat[1:] + (f", {prims} primitives" if prims else "")
             + (", split PSUM" if split else "") + (f", tiles of {tile}" if tile else "")
             + (", tokens kept" if keep else ""))
    ok = sorted((d for d in ds if not isinstance(d, str)), key=lambda d: d["fmax_mhz"])
    if ok:
        # The median run (the lower middle one of an even count); the range of all.
        d = dict(ok[(len(ok) - 1) // 2])
        d["range"] = (ok[0]["fmax_mhz"], ok[-1]["fmax_mhz"], len(ok))
        its = sorted(x["icetime"]["mhz"] for x in ok if x.get("icetime"))
        d["icetime_median"] = its[(len(its) - 1) // 2] if its else None
    else:
        d = ds[0]
    rows.append((key, devices.get(board, board), f"{fmt} {size}", shown, d))
rows.sort(key=lambda r: r[0])

def short(s):
    # Hierarchy down to the PE or memory, without the cell names the tools append.
    s = re.sub(r"u_core\.", "", s)
    s = re.sub(r"u_array\.g_col\[\d+\]\.u_column\.", "", s)
    s = re.sub(r"_(TRELLIS_FF|SB_DFF|SB_LUT4|SB_CARRY)\w*", "", s)
    return re.sub(r"\.0\.0$", "", s)

print("| device | core | pe_latency | mult | LUT4 | FF | DSP | BRAM | placed | Fmax MHz, median "
      "(range, seeds) | GOPS | yosys + P&R s | critical path ends (median run) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for _, dev, core, lat, d in rows:
    if isinstance(d, str):
        print(f"| {dev} | {core} | {lat} | {d} | | | | | | | | | |")
        continue
    c, p, t = d["cells"], d["placed"], d["times"]
    cp = d.get("critical_path") or {}
    ends = short(f"{cp.get('from', '')} -> {cp.get('to', '')}")
    placed = f"{p['logic']['used']:,} / {p['logic']['available']:,}"
    lo, hi, n = d["range"]
    # iCE40: icestorm's icetime estimate of the same run beside nextpnr's (it times the
    # SB_MAC16 blocks, which nextpnr-ice40 does not).
    it = d.get("icetime_median")
    it = f"; icetime median {it:.1f}" if it else ""
    print(f"| {dev} | {core} | {lat} | {d['multipliers']} | {c['lut4']:,} | {c['ff']:,} | {c['dsp']} "
          f"| {c['bram']} | {placed} | {d['fmax_mhz']:.1f} ({lo:.1f}-{hi:.1f}, {n}){it} | {d['gops']:.2f} "
          f"| {t['yosys_s']:.0f} + {t['nextpnr_s']:.0f} | {ends} |")
EOF
