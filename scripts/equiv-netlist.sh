#!/usr/bin/env bash
# Netlist equivalence proofs of the small presets (`systolic synth --prove`, src/synth/prove.rs):
# the core's post-synthesis netlist (Yosys synth_ice40 / synth_ecp5, read back with Yosys' cell
# models) against its RTL, a miter proven by ABC's dprove. PSUM_DEPTH is 4 in the proofs (a
# parameter override of both sides: the memories become registers), no RAM, LUT multipliers.
#
# Usage: scripts/equiv-netlist.sh [CASE...]
#   CASE  ice40-2x2, ice40-4x4, ecp5-2x2, ecp5-4x4 (default: all four), each an int8 core
#         (2x2: --rows 2 --cols 2 --format int8; 4x4: the int8-4x4 preset) out of context on
#         the iCEBreaker (UP5K) or the ULX3S (25F)
# Environment:
#   RUNS=N          runs per case (default 1; the time printed is each run's, then the median)
#   LIMIT=MINUTES   time limit of each tool run (default 10)
#   SYSTOLIC_BIN    a built `systolic` binary (default: target/release/systolic, built if missing)
# Each run starts from a fresh folder (runs/equiv-CASE-RUN/): synthesis, miter and ABC are all
# timed. Exit status 0 when every case is proven, 1 otherwise (a case not proven is printed
# with ABC's verdict), 2 on a usage or tool error.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${SYSTOLIC_BIN:-$root/target/release/systolic}"
if [ ! -x "$bin" ]; then
  nice -n 10 cargo build --release --quiet || exit 2
fi
runs="${RUNS:-1}"
limit="${LIMIT:-10}"
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(ice40-2x2 ice40-4x4 ecp5-2x2 ecp5-4x4)

status=0
for c in "${cases[@]}"; do
  case "$c" in
    ice40-*) board=icebreaker ;;
    ecp5-*) board=ulx3s-25f ;;
    *) echo "equiv-netlist: unknown case $c" >&2; exit 2 ;;
  esac
  case "$c" in
    *-2x2) design=(--rows 2 --cols 2 --format int8) ;;
    *-4x4) design=(--preset int8-4x4) ;;
    *) echo "equiv-netlist: unknown case $c" >&2; exit 2 ;;
  esac
  times=()
  for r in $(seq 1 "$runs"); do
    out="runs/equiv-$c-$r"
    rm -rf "$out"
    t0=$(date +%s.%N)
    line="$(nice -n 10 "$bin" synth --prove --board "$board" --ooc "${design[@]}" --out "$out" \
      --time-limit "$limit" 2>"$out.stderr")"
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    times+=("$secs")
    echo "equiv-netlist: $c run $r: ${secs} s (load $(cut -d' ' -f1-3 /proc/loadavg)): $line"
    if [ "$rc" -eq 2 ] || { [ "$rc" -ne 0 ] && [ -z "$line" ]; }; then
      tail -5 "$out.stderr" >&2
      exit 2
    fi
    [ "$rc" -ne 0 ] && status=1
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  echo "equiv-netlist: $c: median ${median} s of $runs run(s)"
done
exit "$status"
