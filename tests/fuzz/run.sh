#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 600) from its seed corpus in
# tests/fuzz/corpus/<target>, JOBS at a time (default 2), and prints per
# target the executions, the corpus it grew to and the findings (crash-,
# leak-, timeout-, oom- files). The seeds in the repo are not changed: each
# run works on a copy under OUT (default build-fuzz/fuzz-out).
#
#   CC=clang cmake -S . -B build-fuzz -DHAPANEL_FUZZ=ON && cmake --build build-fuzz -j2
#   tests/fuzz/run.sh [SECONDS] [target ...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-600}
shift || true
bin=${FUZZ_BIN:-$root/build-fuzz}
out=${OUT:-$bin/fuzz-out}
jobs=${JOBS:-2}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in "$here"/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
mkdir -p "$out"
run_one() {
    local t=$1 d="$out/$1"
    rm -rf "$d" && mkdir -p "$d/corpus" "$d/artifacts"
    cp "$here/corpus/$t"/* "$d/corpus/" 2>/dev/null
    "$bin/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=1024 -artifact_prefix="$d/artifacts/" "$d/corpus" >"$d/log" 2>&1
    echo $? >"$d/rc"
}
for t in "${targets[@]}"; do
    [ -x "$bin/tests/fuzz/$t" ] || { echo "$t: not built ($bin/tests/fuzz/$t)"; exit 2; }
done
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
bad=0
printf '%-14s %12s %10s %8s %s\n' target executions exec/s corpus findings
for t in "${targets[@]}"; do
    d="$out/$t"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$d/log" | tail -1)
    n=$(ls "$d/corpus" | wc -l)
    f=$(ls "$d/artifacts" | wc -l)
    printf '%-14s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$n" \
        "$f$( [ "$f" -gt 0 ] && echo " ($(ls "$d/artifacts" | tr '\n' ' '))")"
    [ "$f" -gt 0 ] || [ "$(cat "$d/rc")" != 0 ] && bad=1
done
echo "logs and findings: $out"
exit $bad
