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
# Headless Chromium renders the sweep report in tests/sweep.rs (Slurm and munge are installed by
# scripts/slurm-cluster.sh, which that test starts).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test: installing chromium from Debian's packages" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
cargo check --benches --quiet
cargo test --no-fail-fast "$@"
