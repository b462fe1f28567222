#!/usr/bin/env bash
# Cost of rule conditions (`when:`, issue 20.4) in instructions, not time (timings are noisy
# on a shared machine): each case runs single threaded under `valgrind --tool=callgrind` with
# the throughput benchmark's rules (benches/rules/) and with the same rules plus a `when:`,
# and prints both instruction counts, the difference, and the rows the condition kept from
# the rules (from `--report`). Needs valgrind.
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
export SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/gen-sql-dump" mysql "$size_mb" narrow > "$work/narrow-mysql.sql"
# The same rules with a condition: people at one of the generator's three domains, and
# investigators whose address starts with `a`, keep their values.
awk '{ print } /^  people:/ { print "    when: {email: {not_ends_with: \"@example.org\"}}" }' \
    benches/rules/people.yaml > "$work/people-when.yaml"
awk '{ print } /^  pmInvestigator:/ { print "    when: {Email: {not_starts_with: a}}" }' \
    benches/rules/touched.yaml > "$work/touched-when.yaml"
instructions() { # input rules -> instructions of one single-threaded run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/syrf-anonymize" -q \
        --threads 1 --rules "$2" --report "$work/report.json" < "$1" 2>&1 > /dev/null \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
kept() { { grep -o '"rows_skipped":[0-9]*' "$work/report.json" || true; } | awk -F: '{ n += $2 } END { print n + 0 }'; }
printf '%-16s %8s %16s %16s %8s %10s\n' case MB "rules" "rules + when" cost "rows kept"
for c in "mysql narrow:narrow-mysql.sql:benches/rules/people.yaml:people-when.yaml" \
         "mongo synth:syrf.archive:benches/rules/touched.yaml:touched-when.yaml"; do
    IFS=: read -r name file rules when <<< "$c"
    f=$work/$file
    mb=$(awk -v s="$(stat -c %s "$f")" 'BEGIN { printf "%.1f", s / 1e6 }')
    off=$(instructions "$f" "$rules")
    on=$(instructions "$f" "$work/$when")
    n=$(kept)
    printf '%-16s %8s %16s %16s %7.1f%% %10s\n' "$name" "$mb" "$off" "$on" \
        "$(awk -v a="$off" -v b="$on" 'BEGIN { print (b / a - 1) * 100 }')" "$n"
done
