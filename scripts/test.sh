#!/usr/bin/env bash
# Every test: unit, golden model, co-simulation (Verilator), second simulator (Icarus), lint,
# Yosys synthesis, generated-file staleness, command line; formatting (rustfmt) and lints
# (clippy on every target, warnings are errors: this also type-checks the benchmarks, which
# `cargo test` does not build). With CI set, a missing tool fails. At the end, a table of each
# test binary's time (libtest's own "finished in"), slowest first.
#
#   scripts/test.sh [--full] [cargo test arguments...]
#
# --full also runs the #[ignore]d tests: the whole sweeps CI samples (every preset through Yosys,
# every edge configuration through both linters, the large presets' lint, one more board flow,
# every bf16 product and float conversion), in release mode.
# CI runs the samples; run --full before a release or after changing a builder.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
full=0
for a in "$@"; do
  case "$a" in
    --full) full=1 ;;
    *) args+=("$a") ;;
  esac
done
if ((full)); then
  # Release mode: the exhaustive floating-point sweeps (2^32 cases each) take minutes there.
  # libtest's flags go after the `--` (added when the caller gave none); cycles_per_second is a
  # measurement, not a check.
  sep=0
  for a in ${args[@]+"${args[@]}"}; do [ "$a" = "--" ] && sep=1; done
  ((sep)) || args+=("--")
  # The engine netlist's check needs Verilator 5.048 (docs/fpga.md): it runs apart, below.
  args=(--release "${args[@]}" --include-ignored --skip cycles_per_second
    --skip ecp5_engine_netlist_cosimulates_with_the_memory_path)
fi
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
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
start=$SECONDS
cargo test --no-fail-fast ${args[@]+"${args[@]}"} 2>&1 | tee "$log" || status=$?
if ((full)); then
  SYSTOLIC_VERILATOR="$(scripts/verilator.sh)" cargo test --release --test synth -- --ignored \
    --exact ecp5_engine_netlist_cosimulates_with_the_memory_path 2>&1 | tee -a "$log" || status=$?
fi
echo
echo "test time per binary (libtest's own timer; build included in the total only):"
awk '
  /^ *Running / { name = ($2 == "unittests") ? $3 : $2 }
  /^ *Doc-tests / { name = "doc-tests " $2 }
  /^test result:/ { t = $NF; sub(/s$/, "", t); printf "%9.1f s  %s\n", t, name }
' "$log" | sort -rn
echo "total (build and tests): $((SECONDS - start)) s"
exit "$status"
