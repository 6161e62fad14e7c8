#!/usr/bin/env bash
# Proves two generated engine cores (`systolic_top` and the modules under it) equivalent with
# Yosys: same outputs for the same inputs in every cycle, from any state in which the matched
# registers agree (so in particular from power-up through reset onwards).
#
# Usage: scripts/equiv-core.sh OLD_DIR NEW_DIR
#   OLD_DIR, NEW_DIR: folders holding a core's Verilog and its files.f (generated/<preset>/, or
#   `git show` copies of an older one). Exit status 0: proven equivalent; 1: not proven
#   (a difference, or a matched signal the induction could not prove); 2: usage or tool error.
# Environment:
#   YOSYS         the Yosys binary (default `yosys`: Debian's 0.23; the YoWASP one works too)
#   EQUIV_PARAMS  overrides of systolic_top's parameters for both sides, space separated
#                 NAME=VALUE (default `PSUM_DEPTH=4`: the PSUM memories become registers for
#                 the proof, and four entries per bank keep them small)
#   EQUIV_SEQ     time steps of the induction (default 1: each matched register from the
#                 matched signals of the cycle before)
#
# How: each side is read (with the simulation models of hdl/sim/ for the vendor cells it
# instantiates), elaborated, flattened, its memories mapped to registers. The flattened names
# are then made comparable: generate-if labels (`g_ahead.`, ...) are dropped, and so is a
# leading instance name the other side does not have (a submodule that holds logic the other
# side's top level holds inline). Wires with the same such name on both sides are renamed to
# it. Then `equiv_make` pairs the equally named signals, `equiv_induct` proves the pairs
# (induction: every pair equal in the steps before implies every pair equal now), and
# `equiv_status -assert` fails unless every pair is proven. Signals without a partner are
# not assumed anything: the proof then needs them to follow from the matched ones.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ $# -ne 2 ] || [ ! -f "$1/files.f" ] || [ ! -f "$2/files.f" ]; then
    echo "usage: $0 OLD_DIR NEW_DIR (each with a files.f)" >&2
    exit 2
fi
old="$(cd "$1" && pwd)"
new="$(cd "$2" && pwd)"
yosys="${YOSYS:-yosys}"
params="${EQUIV_PARAMS-PSUM_DEPTH=4}"
seq="${EQUIV_SEQ:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The Yosys script that elaborates the core of folder $1 into $work/$2.il and lists its wires.
elaborate() {
    local dir="$1" side="$2" files=() models=() model cells
    while read -r f; do
        [ -n "$f" ] && files+=("$dir/$f")
    done <"$dir/files.f"
    # The simulation model of every vendor cell the core instantiates.
    for model in "$root"/hdl/sim/ecp5_cells.v "$root"/hdl/sim/ecp5_carry.v "$root"/hdl/sim/ice40_cells.v; do
        cells="$(sed -n 's/^module \([A-Za-z0-9_]*\).*/\1/p' "$model" | paste -sd'|')"
        if grep -qE "^[[:space:]]*($cells)([[:space:]]|#|\$)" "${files[@]}"; then
            models+=("$model")
        fi
    done
    {
        # -defer: a module is elaborated only with the parameters of its instances (the
        # SB_MAC16 model rejects configurations it does not model, its defaults among them).
        echo "read_verilog -defer ${models[*]} ${files[*]}"
        echo -n "hierarchy -check -top systolic_top"
        for p in $params; do
            echo -n " -chparam ${p%%=*} ${p#*=}"
        done
        echo
        echo "proc"
        # The vendor models' asynchronous resets (tied off by the core) as synchronous ones, which
        # the SAT-based proof can model.
        echo "async2sync"
        echo "flatten"
        echo "memory -nomap"
        echo "memory_map"
        echo "opt_clean"
        echo "tee -q -o $work/$side.names select -list w:*"
        echo "write_rtlil $work/$side.il"
    } >"$work/$side.ys"
    if ! "$yosys" -q -l "$work/$side.log" -s "$work/$side.ys" >/dev/null; then
        echo "equiv-core: elaborating $dir failed:" >&2
        tail -20 "$work/$side.log" >&2
        exit 2
    fi
}

start=$(date +%s.%N)
elaborate "$old" gold
elaborate "$new" gate

# Rename both sides' wires to their comparable names (see above) and the tops to gold, gate.
python3 - "$work" <<'EOF'
import re, sys
work = sys.argv[1]

def names(side):
    out = []
    for line in open(f"{work}/{side}.names"):
        line = line.strip()
        if "/" in line:
            out.append(line.split("/", 1)[1])
    return [n for n in out if not n.startswith("$")]

gold, gate = names("gold"), names("gate")
firsts = {side: {n.split(".")[0] for n in ns if "." in n} for side, ns in (("gold", gold), ("gate", gate))}

def key(name, other):
    parts = name.split(".")
    if len(parts) > 1 and parts[0] not in firsts[other]:
        parts = parts[1:]
    # generate-if blocks: a label without an index (generate-for blocks have one)
    parts = [p for i, p in enumerate(parts) if i == len(parts) - 1 or not re.fullmatch(r"g_\w+", p)]
    return ".".join(parts)

def renames(ns, other):
    by_key = {}
    for n in ns:
        by_key.setdefault(key(n, other), []).append(n)
    chosen = {}
    for k, group in by_key.items():
        if k in group:
            continue  # already named so
        if len(group) == 1:
            chosen[k] = group[0]
    taken = set(ns)
    return {n: k for k, n in chosen.items() if k not in taken}

gold_keys = {key(n, "gate") for n in gold}
gate_keys = {key(n, "gold") for n in gate}
common = gold_keys & gate_keys
stats = []
for side, ns, other, top in (("gold", gold, "gate", "gold"), ("gate", gate, "gold", "gate")):
    table = {"\\" + n: "\\" + k for n, k in renames(ns, other).items() if k in common}
    table["\\systolic_top"] = "\\" + top
    text = open(f"{work}/{side}.il").read()
    text = re.sub(r"\\\S+", lambda m: table.get(m.group(0), m.group(0)), text)
    open(f"{work}/{side}.il", "w").write(text)
    stats.append(f"{side}: {len(ns)} wires, {len(table) - 1} renamed")
print("equiv-core: " + "; ".join(stats) + f"; {len(common)} names on both sides")
EOF

cat >"$work/equiv.ys" <<EOF
read_rtlil $work/gold.il
read_rtlil $work/gate.il
equiv_make gold gate equiv
hierarchy -top equiv
equiv_induct -seq $seq
tee -o $work/status.txt equiv_status
equiv_status -assert
EOF
status=0
"$yosys" -q -l "$work/equiv.log" -s "$work/equiv.ys" >/dev/null || status=$?
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
# CPU time of the tools (user + system of the children), less sensitive to a busy machine.
times >"$work/times"
cpu=$(tail -1 "$work/times" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1]*60 + u[2] + s[1]*60 + s[2] }')
secs="$secs s wall, $cpu s CPU"
grep -E "Found [0-9]+ \\\$equiv cells|Of those cells [0-9]+ are proven and [0-9]+ are unproven|Equivalence successfully proven" "$work/status.txt" | sed 's/^ */equiv-core: /' || true
if [ "$status" -ne 0 ]; then
    grep -E "Unproven \\\$equiv" "$work/status.txt" | head -20 | sed 's/^ */equiv-core: unproven: /' || true
    grep -E "ERROR" "$work/equiv.log" | head -5 >&2 || true
    echo "equiv-core: NOT proven equivalent: $old vs $new ($secs)"
    exit 1
fi
echo "equiv-core: proven equivalent: $old vs $new ($secs, $yosys, params: ${params:-none})"
