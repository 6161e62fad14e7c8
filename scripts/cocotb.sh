#!/usr/bin/env bash
# Runs the cocotb test bench (cocotb/: the systolic_tb package and cocotb/tests/) under Icarus
# Verilog against freshly generated RTL: the engine (`--level engine`, driven over AXI4-Lite)
# and the bare core (valid/ready ports). Exits non-zero when a test fails.
#
#   scripts/cocotb.sh [--module NAME ...] [--sim icarus|verilator]
#
# (arguments go to cocotb/tests/run.py: --module runs your engine test module(s) from
# cocotb/tests instead of test_engine and test_core)
#
# Creates the virtual environment .venv-cocotb/ at the repository root with the exact versions of
# cocotb/requirements.txt (cocotb, cocotbext-axi, numpy). Idempotent: a venv installed from the
# same requirements.txt (SHA-256 in .venv-cocotb/requirements.sha256) is left alone, without
# network. `--install-only` stops after that (scripts/setup.sh calls it).
#
# Environment:
#   SYSTOLIC_BIN           the systolic binary (default: `cargo run --quiet --`)
#   SYSTOLIC_COCOTB_PRESET the preset (default int8-4x4; integer formats only)
#   SYSTOLIC_COCOTB_PLANT  `psum-column`: plant a bug in the generated engine before the run (its
#                          PSUM_DATA window answers column c^1 for column c); the GEMM tests
#                          must then fail
#   SYSTOLIC_COCOTB_KEEP   keep the temporary folder (RTL, build, results.xml) and print it
#   PYTHON                 the python that creates the venv (default python3; checked with 3.11)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
venv="$root/.venv-cocotb"

log() { echo "cocotb: $*" >&2; }

# The pinned venv (created, or reinstalled when requirements.txt changed; versions checked).
scripts/python-env.sh .venv-cocotb cocotb/requirements.txt >/dev/null
if [ "${1:-}" = "--install-only" ]; then exit 0; fi

command -v iverilog >/dev/null 2>&1 || { log "iverilog not found (Debian package iverilog)"; exit 1; }

preset="${SYSTOLIC_COCOTB_PRESET:-int8-4x4}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/systolic-cocotb.XXXXXX")"
if [ -n "${SYSTOLIC_COCOTB_KEEP:-}" ]; then
  log "keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
if [ -n "${SYSTOLIC_BIN:-}" ]; then
  systolic=("$SYSTOLIC_BIN")
else
  systolic=(cargo run --quiet --)
fi
"${systolic[@]}" generate --level engine --preset "$preset" --out "$tmp/engine" >/dev/null
"${systolic[@]}" generate --preset "$preset" --out "$tmp/core" >/dev/null

case "${SYSTOLIC_COCOTB_PLANT:-}" in
  "") ;;
  psum-column)
    f="$tmp/engine/systolic_axil.v"
    # PSUM_DATA's word select {ra[..:3], ra[2], 5'd0}: flip the column's low bit.
    sed -i -E 's/snap_words\[\{ra\[([0-9]+):3\],/snap_words[{ra[\1:3] ^ 1'"'"'b1,/' "$f"
    grep -q "ra\[[0-9]*:3\] ^ 1'b1" "$f" || { log "plant psum-column: pattern not found in $f"; exit 1; }
    log "planted psum-column in $f"
    ;;
  *) log "unknown SYSTOLIC_COCOTB_PLANT=${SYSTOLIC_COCOTB_PLANT}"; exit 1 ;;
esac

"$venv/bin/python" "$root/cocotb/tests/run.py" --engine "$tmp/engine" --core "$tmp/core" \
  --build "$tmp/build" "$@"
