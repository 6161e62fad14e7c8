#!/usr/bin/env bash
# Every test: unit, golden model, co-simulation (Verilator), second simulator (Icarus), lint,
# Yosys synthesis, generated-file staleness, command line; and the benchmarks must compile
# (`cargo test` does not build them); formatting (rustfmt) and lints (clippy, warnings are
# errors). With CI set, a missing tool fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Style gates first: they take seconds and a failure here needs no simulation to explain.
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo check --benches --quiet
cargo test --no-fail-fast "$@"
