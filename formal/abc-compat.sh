#!/usr/bin/env bash
# ABC for SymbiYosys' `abc pdr` engine: Debian's yosys-abc (berkeley-abc, installed by
# scripts/setup.sh with Debian's yosys) predates pdr's `-l` flag, which the SymbiYosys shipped
# in YoWASP passes; this drops that flag and runs the rest unchanged (`ABC=` in scripts/formal.sh).
args=()
for a in "$@"; do args+=("${a//pdr -v -l/pdr -v}"); done
exec "${FORMAL_ABC:-yosys-abc}" "${args[@]}"
