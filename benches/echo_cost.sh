#!/usr/bin/env bash
# Cost of the echo guard (issue 18.9) on the throughput benchmark's inputs (the realistic MySQL
# and COPY `people` dumps of issue 23, the narrow MySQL dump, the wide MySQL and PostgreSQL dumps,
# the archive; the rules of benches/throughput.sh): each case runs with
# the default `echo_guard` and with `echo_guard: {min_length: 1000}` (no original is that long,
# so the guard records nothing and never searches: the cost of the rules alone), single
# threaded, least CPU time (user + system, less disturbed than wall time on a shared machine)
# of N runs, plus the echoes the guard found (from `--report`). Needs GNU time.
#
# With --callgrind, each case runs once each way under `valgrind --tool=callgrind` and the
# script prints instruction counts instead (stable while other work shares the machine): the
# run's total, the guard's cost (difference), the cost relative to the run without the
# software SHA-256 (valgrind has no SHA extensions, so its runs spend far more in SHA-256 than
# a real CPU with them does; this relative figure is the one to hold to 5%), and the
# instructions executed from the subset (relationship closure) sources, which no rules file
# here asks for: their cost when no limit applies. Needs valgrind.
#
# Usage: benches/echo_cost.sh [SIZE_MB] [RUNS]      (defaults 50, 3)
#        benches/echo_cost.sh --callgrind [SIZE_MB] (default 10)
# SYRF_ANONYMIZE_BIN=path measures another build of syrf-anonymize (e.g. a copy kept from an
# earlier commit) on the same inputs; the generators are still this tree's.
# Timings are for reading, not for asserting.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
callgrind=""
if [ "${1:-}" = --callgrind ]; then
    callgrind=1
    shift
    size_mb=${1:-10}
else
    size_mb=${1:-50}
fi
runs=${2:-3}
work=$(mktemp -d /tmp/syrf-echo-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
exe=${SYRF_ANONYMIZE_BIN:-$bin/syrf-anonymize}
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/gen-sql-dump" mysql "$size_mb" narrow > "$work/narrow-mysql.sql"
"$bin/gen-sql-dump" postgres "$size_mb" > "$work/app-postgres.sql"
"$bin/gen-sql-dump" mysql "$size_mb" > "$work/app-mysql.sql"
for d in mysql postgres; do
    "$bin/gen-sql-dump" "$d" "$size_mb" realistic > "$work/realistic-$d.sql" 2> /dev/null
done
# The rules of benches/throughput.sh: benches/rules/*.yaml.
for r in touched people app; do
    { cat "benches/rules/$r.yaml"; printf 'echo_guard:\n  min_length: 1000\n'; } > "$work/$r-inert.yaml"
done
best() { # least CPU seconds (user + system) of $runs runs of: input rules
    local b=""
    for _ in $(seq "$runs"); do
        local t
        t=$( { /usr/bin/time -f '%U %S' "$exe" -q --threads 1 --rules "$2" \
            --report "$work/report.json" < "$1" > /dev/null; } 2>&1 | tail -n 1 | awk '{ print $1 + $2 }')
        b=$(awk -v b="$b" -v t="$t" 'BEGIN { if (b == "" || t < b) b = t; print b }')
    done
    echo "$b"
}
echoes() { { grep -o '"rewritten":[0-9]*\|"nulled":[0-9]*' "$work/report.json" || true; } | awk -F: '{ n += $2 } END { print n + 0 }'; }
cases=("mongo fully touched:syrf.archive:touched" "mysql realistic:realistic-mysql.sql:people"
    "postgres realistic:realistic-postgres.sql:people" "mysql narrow:narrow-mysql.sql:people"
    "mysql wide:app-mysql.sql:app" "postgres wide:app-postgres.sql:app")
if [ -n "$callgrind" ]; then
    # Instructions of one run under callgrind: total, software SHA-256, subset sources.
    counts() { # input rules -> "total sha subset"
        valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$exe" -q \
            --threads 1 --rules "$2" < "$1" > /dev/null 2> "$work/cg.log"
        local total
        total=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.log")
        callgrind_annotate --auto=no --inclusive=no --threshold=100 "$work/cg.out" 2> /dev/null \
            | awk -v total="$total" '/^ *[0-9,]+ / { n = $1; gsub(",", "", n)
                if ($0 ~ /sha2::sha256::soft::compress/) sha += n
                if ($0 ~ /subset/) sub_ += n }
                END { printf "%d %d %d\n", total, sha, sub_ }'
    }
    printf '%-22s %6s %14s %14s %12s %8s %9s %10s\n' case MB "inert instr" "guard instr" "guard cost" "of all" "w/o SHA" "subset"
    for c in "${cases[@]}"; do
        IFS=: read -r name file rules <<< "$c"
        f=$work/$file
        mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", s / 1e6 }')
        read -r off sha _ <<< "$(counts "$f" "$work/$rules-inert.yaml")"
        read -r on _ sub_ <<< "$(counts "$f" "benches/rules/$rules.yaml")"
        awk -v n="$name" -v mb="$mb" -v off="$off" -v on="$on" -v sha="$sha" -v s="$sub_" 'BEGIN {
            printf "%-22s %6s %14d %14d %12d %7.1f%% %8.1f%% %10d\n", n, mb, off, on, on - off,
                (on / off - 1) * 100, (on - off) / (off - sha) * 100, s }'
    done
    exit 0
fi
printf '%-26s %10s %12s %12s %8s %8s\n' case "MB" "inert CPU s" "guard CPU s" cost echoes
for c in "${cases[@]}"; do
    IFS=: read -r name file rules <<< "$c"
    f=$work/$file
    mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", s / 1e6 }')
    off=$(best "$f" "$work/$rules-inert.yaml")
    on=$(best "$f" "benches/rules/$rules.yaml")
    n=$(echoes)
    printf '%-26s %10s %12.3f %12.3f %7.1f%% %8s\n' "$name" "$mb" "$off" "$on" "$(awk -v a="$off" -v b="$on" 'BEGIN { print (b / a - 1) * 100 }')" "$n"
done
