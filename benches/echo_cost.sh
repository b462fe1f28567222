#!/usr/bin/env bash
# Cost of the echo guard (issue 18.9) on the throughput benchmark's inputs: each case runs with
# the default `echo_guard` and with `echo_guard: {min_length: 1000}` (no original is that long,
# so the guard records nothing and never searches: the cost of the rules alone), single
# threaded, least CPU time (user + system, less disturbed than wall time on a shared machine)
# of N runs, plus the echoes the guard found (from `--report`). Needs GNU time.
#
# Usage: benches/echo_cost.sh [SIZE_MB] [RUNS]     (defaults 50, 3)
# Timings are for reading, not for asserting.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=${1:-50}
runs=${2:-3}
work=$(mktemp -d /tmp/syrf-echo-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
export SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/gen-sql-dump" mysql "$size_mb" narrow > "$work/narrow-mysql.sql"
"$bin/gen-sql-dump" postgres "$size_mb" > "$work/app-postgres.sql"
# The rules of benches/throughput.sh: benches/rules/*.yaml.
for r in touched people app; do
    { cat "benches/rules/$r.yaml"; printf 'echo_guard:\n  min_length: 1000\n'; } > "$work/$r-inert.yaml"
done
best() { # least CPU seconds (user + system) of $runs runs of: input rules
    local b=""
    for _ in $(seq "$runs"); do
        local t
        t=$( { /usr/bin/time -f '%U %S' "$bin/syrf-anonymize" -q --threads 1 --rules "$2" \
            --report "$work/report.json" < "$1" > /dev/null; } 2>&1 | tail -n 1 | awk '{ print $1 + $2 }')
        b=$(awk -v b="$b" -v t="$t" 'BEGIN { if (b == "" || t < b) b = t; print b }')
    done
    echo "$b"
}
echoes() { { grep -o '"rewritten":[0-9]*\|"nulled":[0-9]*' "$work/report.json" || true; } | awk -F: '{ n += $2 } END { print n + 0 }'; }
printf '%-26s %10s %12s %12s %8s %8s\n' case "MB" "inert CPU s" "guard CPU s" cost echoes
for c in "mongo fully touched:syrf.archive:touched" "mysql narrow:narrow-mysql.sql:people" "postgres wide:app-postgres.sql:app"; do
    IFS=: read -r name file rules <<< "$c"
    f=$work/$file
    mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", s / 1e6 }')
    off=$(best "$f" "$work/$rules-inert.yaml")
    on=$(best "$f" "benches/rules/$rules.yaml")
    n=$(echoes)
    printf '%-26s %10s %12.3f %12.3f %7.1f%% %8s\n' "$name" "$mb" "$off" "$on" "$(awk -v a="$off" -v b="$on" 'BEGIN { print (b / a - 1) * 100 }')" "$n"
done
