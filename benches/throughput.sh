#!/usr/bin/env bash
# Throughput and peak memory of syrf-anonymize on generated dumps, side by side with `cat`,
# gzip and pigz baselines through the same pipes, in one run.
#
# Usage: benches/throughput.sh [SIZE_MB]     (default 100; needs GNU time at /usr/bin/time)
#   BIG_MB=2000 benches/throughput.sh 100    also streams a BIG_MB archive and a BIG_MB narrow
#                                            MySQL dump (generated into the pipe, never stored)
#                                            to show peak RSS at that size
# Prints one row per case: MB/s of uncompressed dump bytes, wall and CPU seconds, peak RSS (of
# syrf-anonymize, or of the largest baseline process), and the throughput ratio to the case's
# reference. Timings are for reading, not for asserting: nothing here fails on speed.
#   RUNS=N benches/throughput.sh 100     runs each case N times (default 3) and reports the
#                                        fastest run (benches/measure.sh's MEASURE_RUNS)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-100}
big_mb=${BIG_MB:-0}
work=$(mktemp -d /tmp/syrf-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
# A fresh random key per run (a key written here would be public; the binary refuses it).
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
cores=$(nproc)

# The keyed-digest floor is the machine's best case: measured before the inputs are written and
# again after they are on disk (writing them out slows the machine for a while), the faster of
# the two kept, so that a slow moment cannot raise the ratios printed against it.
floor_before=$("$bin/digest-floor")
echo "generating ${size_mb} MB dumps in $work ..." >&2
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
for dialect in mysql postgres; do
    "$bin/gen-sql-dump" "$dialect" "$size_mb" realistic > "$work/realistic-$dialect.sql" 2> "$work/realistic-$dialect.rows"
done
"$bin/gen-sql-dump" mysql "$size_mb" narrow > "$work/narrow-mysql.sql"
"$bin/gen-sql-dump" postgres "$size_mb" narrow > "$work/narrow-postgres.sql"
"$bin/gen-sql-dump" mysql "$size_mb" > "$work/app-mysql.sql"
"$bin/gen-sql-dump" postgres "$size_mb" > "$work/app-postgres.sql"
gzip -6 -c "$work/syrf.archive" > "$work/syrf.archive.gz"

printf '# none\n' > "$work/none.yaml"
# Rules (benches/rules/, shared with benches/echo_cost.sh): app.yaml for the wide generated
# dump's tables (users with long bios, orders, an untouched audit_log), people.yaml for the
# narrow and realistic tables (what rules/*.yaml do to a users table), touched.yaml touching
# every document of the big collections (emails, names, ids; nothing excluded).

# shellcheck source=benches/measure.sh
source benches/measure.sh
export MEASURE_RUNS=${RUNS:-3}

size() { stat -c %s "$1"; }
a=$work/syrf.archive
an="/usr/bin/time -f %M -o $work/rss $bin/syrf-anonymize -q"

echo "$cores cores; ${size_mb} MB inputs; fastest of $MEASURE_RUNS run(s) a case; ratio = reference's wall time / this case's"
echo "case                                         throughput     wall    CPU  peak RSS  ratio to"
# The headline: realistic people rows (Zipf names over 2,000 first and 10,000 last names, unique
# e-mail addresses, random phones; mysqldump 8.0's layout and pg_dump's COPY) with the rules
# people write, beside the keyed-digest floor: 4 keyed HMAC-SHA256 a row (fake first name, fake
# last name, hash_email, digits) at the measured cost of one, on every core.
sync
floor_after=$("$bin/digest-floor")
ns_of() { local n=${1#ns_per_digest=}; echo "${n%% *}"; }
floor_line=$(awk -v a="$(ns_of "$floor_before")" -v b="$(ns_of "$floor_after")" \
    -v la="$floor_before" -v lb="$floor_after" 'BEGIN { print (a <= b ? la : lb) }')
ns_per_digest=$(ns_of "$floor_line")
echo "## keyed-digest floor measured before and after writing the inputs: $(ns_of "$floor_before") and $(ns_of "$floor_after") ns; the faster kept"
echo "## keyed-digest floor: $floor_line (one keyed HMAC-SHA256 of a short value, states precomputed)"
for dialect in mysql postgres; do
    r=$work/realistic-$dialect.sql
    rows=$(grep -o '[0-9]* rows' "$work/realistic-$dialect.rows" | cut -d' ' -f1)
    floor=$(awk -v b="$(size "$r")" -v n="$rows" -v ns="$ns_per_digest" -v c="$cores" \
        'BEGIN { printf "%.1f", (b / n) / (4 * ns) * c * 1000 }')
    echo "## $dialect, realistic people rows ($rows rows, $(size "$r") bytes): floor ${floor} MB/s on $cores cores"
    measure "cat | cat ($dialect realistic)"       "$(size "$r")" - "cat '$r' | cat"
    for t in 1 2; do
        name="$dialect realistic, shipped-style, --threads $t"
        measure "$name" "$(size "$r")" "cat | cat ($dialect realistic)" "cat '$r' | $an --rules benches/rules/people.yaml --threads $t"
        [[ -n ${secs_of[$name]:-} ]] && awk -v b="$(size "$r")" -v s="${secs_of[$name]}" -v f="$floor" \
            'BEGIN { printf "    -> %.1f MB/s = %.2f of the floor\n", b / s / 1e6, (b / s / 1e6) / f }'
    done
done
echo "## MongoDB archive ($(size "$a") bytes)"
measure "cat | cat (archive)"                       "$(size "$a")" - "cat '$a' | cat"
measure "mongo, no rules"                           "$(size "$a")" "cat | cat (archive)" "cat '$a' | $an --rules '$work/none.yaml' --allow-empty-rules"
measure "mongo, rules/syrf.yaml"                    "$(size "$a")" "cat | cat (archive)" "cat '$a' | $an --rules rules/syrf.yaml"
measure "mongo, fully touched, --threads 1"         "$(size "$a")" "cat | cat (archive)" "cat '$a' | $an --rules benches/rules/touched.yaml --threads 1"
measure "mongo, fully touched, --threads 2"         "$(size "$a")" "mongo, fully touched, --threads 1" "cat '$a' | $an --rules benches/rules/touched.yaml --threads 2"
measure "mongo, fully touched, all cores"           "$(size "$a")" "cat | cat (archive)" "cat '$a' | $an --rules benches/rules/touched.yaml"
# The same from the file (--input): no `cat` competing for the cores, so the ratio is the
# anonymizer's own 1 -> 2 thread scaling (on 2 cores `cat` takes CPU from the second thread).
measure "mongo, fully touched, file, --threads 1"   "$(size "$a")" "cat | cat (archive)" "$an --rules benches/rules/touched.yaml --threads 1 --input '$a' --output /dev/null"
measure "mongo, fully touched, file, --threads 2"   "$(size "$a")" "mongo, fully touched, file, --threads 1" "$an --rules benches/rules/touched.yaml --threads 2 --input '$a' --output /dev/null"
echo "## gzip in, gzip out (level 6), rules excluding nothing"
measure "gzip -dc | gzip -6"                        "$(size "$a")" - "gzip -dc '$a.gz' | gzip -6"
if command -v pigz > /dev/null; then
    measure "pigz -dc | pigz -6"                    "$(size "$a")" - "pigz -dc '$a.gz' | pigz -6"
    ref="pigz -dc | pigz -6"
else
    echo "pigz -dc | pigz -6                             baseline missing: pigz is not installed (apt-get install pigz)"
    ref="gzip -dc | gzip -6"
fi
measure "mongo gzip in/out, fully touched"          "$(size "$a")" "$ref" "cat '$a.gz' | $an --rules benches/rules/touched.yaml --level 6"
measure "mongo gzip in/out, no rules"               "$(size "$a")" "$ref" "cat '$a.gz' | $an --rules '$work/none.yaml' --allow-empty-rules --level 6"
for dialect in mysql postgres; do
    n=$work/narrow-$dialect.sql w=$work/app-$dialect.sql
    echo "## $dialect, narrow rows (~90 bytes: names, email, phone, ids, a date; $(size "$n") bytes)"
    measure "cat | cat ($dialect narrow)"           "$(size "$n")" - "cat '$n' | cat"
    measure "$dialect narrow, no rules"             "$(size "$n")" "cat | cat ($dialect narrow)" "cat '$n' | $an --rules '$work/none.yaml' --allow-empty-rules"
    measure "$dialect narrow, shipped-style, --threads 1" "$(size "$n")" "$dialect narrow, no rules" "cat '$n' | $an --rules benches/rules/people.yaml --threads 1"
    measure "$dialect narrow, shipped-style, --threads 2" "$(size "$n")" "$dialect narrow, shipped-style, --threads 1" "cat '$n' | $an --rules benches/rules/people.yaml --threads 2"
    measure "$dialect narrow, shipped-style, all cores" "$(size "$n")" "$dialect narrow, no rules" "cat '$n' | $an --rules benches/rules/people.yaml"
    echo "## $dialect, wide rows (users with long bios, orders, audit_log; $(size "$w") bytes)"
    measure "$dialect wide, no rules"               "$(size "$w")" - "cat '$w' | $an --rules '$work/none.yaml' --allow-empty-rules"
    measure "$dialect wide, rules on users+orders"  "$(size "$w")" "$dialect wide, no rules" "cat '$w' | $an --rules benches/rules/app.yaml"
done
if (( big_mb > 0 )); then
    echo "## peak RSS at ${big_mb} MB (archive generated into the pipe)"
    big=$(( big_mb * 1000000 ))
    measure "gen-archive | cat (${big_mb} MB)"      "$big" - "$bin/gen-archive --size-mb $big_mb | cat"
    measure "gen-archive | fully touched (${big_mb} MB)" "$big" "gen-archive | cat (${big_mb} MB)" "$bin/gen-archive --size-mb $big_mb | $an --rules benches/rules/touched.yaml"
    measure "gen-sql-dump mysql | cat (${big_mb} MB)" "$big" - "$bin/gen-sql-dump mysql $big_mb narrow | cat"
    measure "gen-sql-dump mysql | shipped-style (${big_mb} MB)" "$big" "gen-sql-dump mysql | cat (${big_mb} MB)" "$bin/gen-sql-dump mysql $big_mb narrow | $an --rules benches/rules/people.yaml"
fi
