# Sourced by benches/throughput.sh and benches/dir_threads.sh: the timing of one case.
# Needs $work (a scratch directory) and GNU time at /usr/bin/time.
# shellcheck shell=bash
# shellcheck disable=SC2154 # $work is the sourcing script's scratch directory

declare -A secs_of
# measure NAME BYTES REF COMMAND...: runs COMMAND in bash; reports MB/s over BYTES (wall time
# from the nanosecond clock), CPU seconds of the whole pipeline, peak RSS (of syrf-anonymize when
# the pipeline runs it, else the largest of the pipeline's processes) and the throughput ratio
# to the earlier case named REF ("-": none). With MEASURE_RUNS=N (default 1) the command runs N
# times and the fastest run is reported (its CPU and RSS with it).
measure() {
    local name=$1 bytes=$2 ref=$3
    shift 3
    local run secs="" user sys rss_kb
    for ((run = 0; run < ${MEASURE_RUNS:-1}; run++)); do
        rm -f "$work/rss"
        local start end stats t
        start=$(date +%s%N)
        if ! stats=$( { /usr/bin/time -f '%U %S %M' bash -o pipefail -c "$*" > /dev/null; } 2>&1 ); then
            printf '%-44s FAILED: %s\n' "$name" "$(tail -n 3 <<< "$stats" | tr '\n' ' ')"
            return
        fi
        end=$(date +%s%N)
        t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        if [[ -z $secs ]] || awk -v t="$t" -v s="$secs" 'BEGIN { exit !(t < s) }'; then
            secs=$t
            read -r user sys rss_kb < <(tail -n 1 <<< "$stats")
            [[ -s $work/rss ]] && rss_kb=$(tail -n 1 "$work/rss")
        fi
    done
    secs_of[$name]=$secs
    local ratio=""
    if [[ $ref != - && -n ${secs_of[$ref]:-} ]]; then
        ratio="$(awk -v a="${secs_of[$ref]}" -v b="$secs" 'BEGIN { printf "%.2fx", a / b }') $ref"
    fi
    awk -v n="$name" -v b="$bytes" -v s="$secs" -v c="$(awk -v u="$user" -v y="$sys" 'BEGIN { print u + y }')" \
        -v r="$rss_kb" -v q="$ratio" \
        'BEGIN { printf "%-44s %7.1f MB/s %6.2f s %6.2f s %5.1f MB  %s\n", n, b / s / 1e6, s, c, r / 1024, q }'
}
