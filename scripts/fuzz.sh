#!/usr/bin/env bash
# Fuzz the parsers that take outside bytes with libFuzzer through cargo-fuzz (docs/fuzzing.md).
#
#   scripts/fuzz.sh [TARGET|all] [EXECUTIONS]
#
# TARGET: npy, preset_toml, frame_decoder, isa_decode or all (default). EXECUTIONS: inputs per
# target (default 10000000); a target stops earlier after FUZZ_MAX_TIME seconds (default 600), so
# `all` takes at most about 40 minutes plus the builds. Installs what it needs if missing (the nightly toolchain, minimal
# profile; cargo-fuzz), builds the targets (release, debug assertions, AddressSanitizer), then
# runs them one after the other under `nice -n 10`, each from a working copy of its committed
# seed corpus (fuzz/corpus/TARGET, never written; new inputs go to fuzz/work/TARGET), with its
# dictionary (fuzz/dict/TARGET.dict) and libFuzzer's limits: memory (-rss_limit_mb,
# -malloc_limit_mb), time per input (-timeout), input size (-max_len). Inside each target a
# global allocator also refuses any single allocation beyond a budget linear in the input
# (fuzz/src/lib.rs). Prints executions, time, executions/s and the result of each; a crashing
# input is written to fuzz/artifacts/TARGET/ and the script exits 1. Not for CI: the CI fuzz
# tests are `cargo test --test fuzz`.
#
# Environment: FUZZ_SANITIZER (default address; `none` runs about twice as fast, without
# ASan's checks and without -malloc_limit_mb), FUZZ_RSS_MB (1024), FUZZ_MALLOC_MB (256),
# FUZZ_TIMEOUT (10 seconds per input), FUZZ_MAX_TIME (600 seconds per target), FUZZ_SEED (libFuzzer -seed, default 0: random).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(npy preset_toml frame_decoder isa_decode)
target="${1:-all}"
runs="${2:-10000000}"
sanitizer="${FUZZ_SANITIZER:-address}"
rss_mb="${FUZZ_RSS_MB:-1024}"
malloc_mb="${FUZZ_MALLOC_MB:-256}"
timeout_s="${FUZZ_TIMEOUT:-10}"
max_time="${FUZZ_MAX_TIME:-600}"
seed="${FUZZ_SEED:-0}"

if [[ "$target" == all ]]; then
    targets=("${ALL[@]}")
elif [[ " ${ALL[*]} " == *" $target "* ]]; then
    targets=("$target")
else
    echo "unknown target '$target': one of ${ALL[*]} or all" >&2
    exit 2
fi
[[ "$runs" =~ ^[0-9]+$ ]] || { echo "EXECUTIONS must be a number, not '$runs'" >&2; exit 2; }
[[ "$max_time" =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_MAX_TIME must be a positive number, not '$max_time'" >&2; exit 2; }

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "== installing the nightly toolchain (minimal profile)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz
fi
echo "== $(cargo +nightly --version), $(cargo fuzz --version), sanitizer $sanitizer"

# Input size limits: a few frames, a preset or a small .npy fit 4 KiB; sixteen instruction words.
max_len() {
    case "$1" in
        isa_decode) echo 128 ;;
        *) echo 4096 ;;
    esac
}

mkdir -p fuzz/work
summary=()
status=0
for t in "${targets[@]}"; do
    echo "== building $t"
    nice -n 10 cargo +nightly fuzz build --sanitizer "$sanitizer" "$t"
    mkdir -p "fuzz/work/$t" "fuzz/artifacts/$t"
    log="fuzz/work/$t.log"
    corpus_before=$(ls "fuzz/work/$t" | wc -l)
    echo "== running $t for $runs executions or ${max_time}s (log: $log; fuzz/work/$t holds $corpus_before inputs)"
    opts=(-runs="$runs" -max_total_time="$max_time" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" -max_len="$(max_len "$t")"
          -seed="$seed" -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/")
    [[ "$sanitizer" == none ]] || opts+=(-malloc_limit_mb="$malloc_mb")
    [[ ! -f "fuzz/dict/$t.dict" ]] || opts+=(-dict="fuzz/dict/$t.dict")
    start=$(date +%s.%N)
    set +e
    nice -n 10 cargo +nightly fuzz run --sanitizer "$sanitizer" "$t" "fuzz/work/$t" "fuzz/corpus/$t" \
        -- "${opts[@]}" >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
    corpus_after=$(ls "fuzz/work/$t" | wc -l)
    if [[ $rc -eq 0 ]]; then
        result="ok"
    else
        status=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FAILED (exit $rc${artifact:+, input $artifact})"
        grep -m 5 -E "panicked|ERROR: libFuzzer|SUMMARY|memory allocation of|budget" "$log" || true
    fi
    line=$(printf '%-14s %12s executions %7ss %9s exec/s  peak RSS %5s MB  corpus %s -> %s  %s' \
        "$t" "${execs:-?}" "$secs" "${rate:-?}" "${rss:-?}" "$corpus_before" "$corpus_after" "$result")
    echo "$line"
    summary+=("$line")
done

echo "== summary (${runs} executions or ${max_time}s per target, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${summary[@]}"
exit $status
