#!/usr/bin/env bash
# Every test: unit, golden model, co-simulation (Verilator), second simulator (Icarus), lint,
# Yosys synthesis, generated-file staleness, command line; and the benchmarks must compile
# (`cargo test` does not build them). With CI set, a missing tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo check --benches --quiet
cargo test --no-fail-fast "$@"
