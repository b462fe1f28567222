#!/usr/bin/env bash
# Where the CPU of `--threads 2` goes, thread by thread, on a busy machine: CPU time is what a
# thread ran, whoever else wanted the cores, so it says which thread bounds a run on two free
# cores when wall times cannot (other jobs' load makes two threads wait for a core).
#
# Usage: benches/archive_threads.sh [SIZE_MB] [RUNS] [BIN...]
#   SIZE_MB  archive size (default 100: `gen-archive --size-mb SIZE_MB`, read through `cat |`)
#   RUNS     runs per binary (default 5)
#   BIN      syrf-anonymize binaries to compare (default: target/release/syrf-anonymize)
#   FROM=file  reads the archive with `--input FILE --output /dev/null` instead of through
#            `cat |` (default FROM=pipe); the `cat ms` column is then 0
# Needs perf (`perf record -e cpu-clock`, no hardware counters). For each binary and run, with
# benches/rules/touched.yaml (every document of the big collections touched): the CPU
# milliseconds of the calling thread (reads, applies in order, writes, and patches segments
# too) and of the worker (`perf` samples at 10 kHz; sampling adds a few percent), and of
# `cat`; then the least CPU of a `--threads 1` run, and the least of the runs' bound: the
# busier thread's CPU. On two free cores a run takes at least that bound (plus waits), so `--threads 1`'s CPU
# over it estimates the scaling; `benches/throughput.sh` on a quiet machine measures it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-100}
runs=${2:-5}
shift 2 || shift $# || true
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=(target/release/syrf-anonymize)
command -v perf > /dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 2; }
work=$(mktemp -d -t syrf-threads.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p mongo-archive --bin gen-archive --features testkit
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
target/release/gen-archive --size-mb "$size_mb" > "$work/a.archive"
rules=benches/rules/touched.yaml

# cpu_ms THREADS BIN: one run under perf; prints "calling worker cat" (CPU milliseconds).
cpu_ms() {
    local t=$1 bin=$2
    local cmd="cat '$work/a.archive' | '$bin' -q --rules $rules --threads $t > /dev/null"
    if [[ ${FROM:-pipe} == file ]]; then
        cmd="'$bin' -q --rules $rules --threads $t --input '$work/a.archive' --output /dev/null"
    fi
    perf record -q -e cpu-clock -F 10000 -o "$work/perf.data" -- bash -c "$cmd" 2> /dev/null
    # The calling thread is the process's first (its tid is its pid); samples are 0.1 ms.
    perf script -i "$work/perf.data" -F comm,pid,tid 2> /dev/null | awk '
        $1 == "cat" { c++ }
        $1 == "syrf-anonymize" { split($2, p, "/"); if (p[1] == p[2]) m++; else o++ }
        END { printf "%.0f %.0f %.0f\n", m / 10, o / 10, c / 10 }'
}

echo "archive: $(stat -c %s "$work/a.archive") bytes (gen-archive --size-mb $size_mb), rules $rules, read from a ${FROM:-pipe}"
printf '%-40s %4s %10s %10s %8s\n' binary run "calling ms" "worker ms" "cat ms"
for bin in "${bins[@]}"; do
    best1=""
    bound=""
    for run in $(seq "$runs"); do
        read -r one _ _ < <(cpu_ms 1 "$bin")
        [[ -z $best1 || $one -lt $best1 ]] && best1=$one
        read -r m o c < <(cpu_ms 2 "$bin")
        printf '%-40s %4s %10s %10s %8s\n' "$bin" "$run" "$m" "$o" "$c"
        b=$(( m > o ? m : o ))
        [[ -z $bound || $b -lt $bound ]] && bound=$b
    done
    awk -v b="$bin" -v one="$best1" -v bound="$bound" 'BEGIN {
        printf "%s: --threads 1 least CPU %d ms; --threads 2 least bound %d ms; estimate %.2fx\n", b, one, bound, one / bound }'
done
