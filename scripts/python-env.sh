#!/usr/bin/env bash
# Creates the virtual environment .venv-models/ at the repository root with the exact versions of
# models/requirements.txt (numpy, scikit-learn, onnx, onnxruntime and what they pull in), which
# models/make_models.py and the quantised-model tests use. Prints the environment's python path on
# standard output (everything else goes to standard error), so a caller can do
#   py="$(scripts/python-env.sh)"
# `scripts/python-env.sh VENV REQUIREMENTS` does the same for another venv and requirements file
# (paths relative to the repository root; scripts/cocotb.sh uses .venv-cocotb and
# cocotb/requirements.txt).
#
# Idempotent: a venv installed from the same requirements file (its SHA-256 is recorded in
# VENV/requirements.sha256) is left alone, without network. The python used to create the venv is
# $PYTHON, else python3 (checked with 3.11).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
venv="$root/${1:-.venv-models}"
req="$root/${2:-models/requirements.txt}"
stamp="$venv/requirements.sha256"

log() { echo "python-env: $*" >&2; }

[ -f "$req" ] || { log "$req not found"; exit 1; }
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
  py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 || { log "$py not found"; exit 1; }
  log "creating $venv with $("$py" --version 2>&1)"
  "$py" -m venv "$venv"
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  start=$(date +%s)
  log "installing ${req#"$root"/} from PyPI"
  rm -f "$stamp"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  # Every pinned line must now be what is installed (pip does not downgrade extras on its own).
  "$venv/bin/python" - "$req" >&2 <<'EOF'
import importlib.metadata as m
import sys

bad = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, version = line.split("==")
    try:
        have = m.version(name)
    except m.PackageNotFoundError:
        have = None
    if have != version:
        bad.append(f"{name}: want {version}, have {have}")
if bad:
    sys.exit("python-env: " + "; ".join(bad))
EOF
  echo "$want" > "$stamp"
  log "installed in $(( $(date +%s) - start )) s"
fi
echo "$venv/bin/python"
