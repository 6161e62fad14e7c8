#!/usr/bin/env bash
# ABC for SymbiYosys' `abc pdr` engine: Debian's yosys-abc (berkeley-abc 2022, installed by
# scripts/setup.sh with Debian's yosys) is older than the SymbiYosys shipped in YoWASP expects:
# - its pdr has no `-l` flag: dropped here;
# - its `write_cex -a` writes the AIGER witness without the status and property lines and ends
#   the last frame's line with ` # DONE`: rewritten here into the standard form (the property is
#   the output ABC reports asserted), so that SymbiYosys can turn the counterexample into a VCD.
# Used through `ABC=` in scripts/formal.sh; FORMAL_ABC names another ABC binary.
set -uo pipefail
args=()
cex=""
for a in "$@"; do
  a="${a//pdr -v -l/pdr -v}"
  args+=("$a")
  if [[ "$a" =~ write_cex\ -a\ ([^ ;\']+) ]]; then cex="${BASH_REMATCH[1]}"; fi
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"${FORMAL_ABC:-yosys-abc}" "${args[@]}" | tee "$log"
rc=${PIPESTATUS[0]}
if [ -n "$cex" ] && [ -s "$cex" ] && [ "$(head -c 2 "$cex")" != $'1\n' ]; then
  prop=$(sed -n 's/.*Output \([0-9]*\) of miter.*was asserted.*/\1/p' "$log" | head -n1)
  if [ -n "$prop" ]; then
    { printf '1\nb%s\n' "$prop"; sed 's/ *# DONE$//' "$cex"; printf '.\n'; } >"$cex.fixed" && mv "$cex.fixed" "$cex"
  fi
fi
exit "$rc"
