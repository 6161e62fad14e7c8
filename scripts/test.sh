#!/usr/bin/env bash
# Every test: unit, golden model, co-simulation (Verilator), second simulator (Icarus), lint,
# Yosys synthesis, generated-file staleness, command line. With CI set, a missing tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --no-fail-fast "$@"
