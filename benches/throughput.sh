#!/usr/bin/env bash
# Throughput and peak memory of syrf-anonymize on generated multi-hundred-MB dumps, side by
# side with `cat` and gzip baselines through the same pipes.
#
# Usage: benches/throughput.sh [SIZE_MB]        (default 300; needs GNU time at /usr/bin/time)
# Prints one row per case: MB/s of uncompressed dump bytes, wall seconds, peak RSS of the
# measured process. Timings are for reading, not for asserting: nothing here fails on speed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-300}
work=$(mktemp -d /tmp/syrf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
export SYRF_ANONYMIZE_KEY=benchmark-key-0123456789abcdef

echo "generating ${size_mb} MB dumps in $work ..." >&2
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/gen-sql-dump" mysql "$size_mb" > "$work/app-mysql.sql"
"$bin/gen-sql-dump" postgres "$size_mb" > "$work/app-postgres.sql"
gzip -1 -c "$work/syrf.archive" > "$work/syrf.archive.gz"

printf '# none\n' > "$work/none.yaml"
cat > "$work/app.yaml" <<'YAML'
rules:
  users:
    columns:
      email: hash_email
      first_name: {transform: fake, kind: first_name}
      last_name: sequential_suffix
      phone: digits
  orders:
    columns:
      email: hash_email
YAML

# measure NAME BYTES COMMAND...: runs COMMAND in bash, reports MB/s over BYTES and peak RSS
# (GNU time reports the largest of the pipeline's processes).
measure() {
    local name=$1 bytes=$2
    shift 2
    local stats
    stats=$( { /usr/bin/time -f '%e %M' bash -c "$*" > /dev/null; } 2>&1 | tail -n 1 )
    local secs=${stats% *} rss_kb=${stats#* }
    awk -v n="$name" -v b="$bytes" -v s="$secs" -v r="$rss_kb" \
        'BEGIN { if (s <= 0) s = 0.01; printf "%-44s %9.1f MB/s %8.2f s %8.1f MB peak RSS\n", n, b / s / 1e6, s, r / 1024 }'
}

size() { stat -c %s "$1"; }
a=$work/syrf.archive m=$work/app-mysql.sql p=$work/app-postgres.sql
an="$bin/syrf-anonymize -q"

echo "case                                          throughput     wall       memory"
measure "cat | cat (archive)"                      "$(size "$a")" "cat '$a' | cat"
measure "mongo, no rules"                          "$(size "$a")" "cat '$a' | $an --rules '$work/none.yaml'"
measure "mongo, rules/syrf.yaml"                   "$(size "$a")" "cat '$a' | $an --rules rules/syrf.yaml"
measure "gzip -dc (archive.gz)"                    "$(size "$a")" "gzip -dc '$a.gz'"
measure "gzip -dc | gzip -1 (archive.gz)"          "$(size "$a")" "gzip -dc '$a.gz' | gzip -1"
measure "mongo gzip in/out, rules/syrf.yaml"       "$(size "$a")" "cat '$a.gz' | $an --rules rules/syrf.yaml --level 1"
measure "cat | cat (mysql)"                        "$(size "$m")" "cat '$m' | cat"
measure "mysql, no rules"                          "$(size "$m")" "cat '$m' | $an --rules '$work/none.yaml'"
measure "mysql, rules on users+orders"             "$(size "$m")" "cat '$m' | $an --rules '$work/app.yaml'"
measure "cat | cat (postgres)"                     "$(size "$p")" "cat '$p' | cat"
measure "postgres, no rules"                       "$(size "$p")" "cat '$p' | $an --rules '$work/none.yaml'"
measure "postgres, rules on users+orders"          "$(size "$p")" "cat '$p' | $an --rules '$work/app.yaml'"
