#!/usr/bin/env bash
# Cost of rule conditions (`when:`, issue 20.4) in instructions, not time (timings are noisy
# on a shared machine): each case runs single threaded under `valgrind --tool=callgrind` with
# the throughput benchmark's rules (benches/rules/), with the same rules plus a `when:` that
# holds for every row (the cost of evaluating it: every row still gets the rules), and plus
# a `when:` that keeps some rows from the rules; it prints the instruction counts, the
# differences to the rules alone, and the rows kept (from `--report`). Needs valgrind.
#
# Usage: benches/when_cost.sh [SIZE_MB]     (default 5: callgrind runs about 50x slower)
# Counts are for reading, not for asserting.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
size_mb=${1:-5}
work=$(mktemp -d /tmp/syrf-when-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v valgrind > /dev/null || { echo "needs valgrind" >&2; exit 2; }
cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/gen-sql-dump" mysql "$size_mb" narrow > "$work/narrow-mysql.sql"
# The same rules with a condition that always holds, and with one that keeps people at one of
# the generator's three domains, and investigators whose address starts with `a`.
with_when() { # rules table condition out
    awk -v t="  $2:" -v c="    when: $3" '{ print } $0 == t { print c }' "$1" > "$work/$4"
}
with_when benches/rules/people.yaml people '{email: {not_ends_with: "@nowhere.invalid"}}' people-all.yaml
with_when benches/rules/people.yaml people '{email: {not_ends_with: "@example.org"}}' people-some.yaml
with_when benches/rules/touched.yaml pmInvestigator '{Email: {not_starts_with: "#"}}' touched-all.yaml
with_when benches/rules/touched.yaml pmInvestigator '{Email: {not_starts_with: a}}' touched-some.yaml
instructions() { # input rules -> instructions of one single-threaded run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/syrf-anonymize" -q \
        --threads 1 --rules "$2" --report "$work/report.json" < "$1" 2>&1 > /dev/null \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
kept() { { grep -o '"rows_skipped": *[0-9]*' "$work/report.json" || true; } | awk -F: '{ n += $2 } END { print n + 0 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (b / a - 1) * 100 }'; }
printf '%-13s %5s %14s %14s %7s %14s %7s %10s\n' case MB rules "when (all)" cost "when (some)" cost "rows kept"
for c in "mysql narrow:narrow-mysql.sql:benches/rules/people.yaml:people" \
         "mongo synth:syrf.archive:benches/rules/touched.yaml:touched"; do
    IFS=: read -r name file rules base <<< "$c"
    f=$work/$file
    mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", s / 1e6 }')
    off=$(instructions "$f" "$rules")
    all=$(instructions "$f" "$work/$base-all.yaml")
    some=$(instructions "$f" "$work/$base-some.yaml")
    n=$(kept)
    printf '%-13s %5s %14s %14s %7s %14s %7s %10s\n' "$name" "$mb" "$off" "$all" "$(pct "$off" "$all")" \
        "$some" "$(pct "$off" "$some")" "$n"
done
