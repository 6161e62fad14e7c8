#!/usr/bin/env bash
# The main job: generate the default preset's Verilog into generated/ and co-simulate it
# against the golden model (a random program, then the same with random stalls).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --core
cargo build --release --quiet
./target/release/systolic generate
./target/release/systolic cosim "$@"
./target/release/systolic cosim --stalls "$@"
