#!/usr/bin/env bash
# Speed-up from 1 to 2 threads on directory dumps: a pg_dump directory archive (`pg_dump -Fd`,
# gzip and uncompressed) of a generated database, and a mongodump directory (plain and
# --gzip) made from a generated archive, each rewritten --input DIR --output DIR.
#
# Usage: benches/dir_threads.sh [SIZE_MB]     (default 100; needs GNU time at /usr/bin/time,
#   a PostgreSQL server and its clients: SYRF_TEST_PG_HOST/PORT/USER as docs/testing.md sets
#   them, or PGHOST/PGPORT/PGUSER; the database BENCH_DB, default syrf_bench_dirs, is
#   dropped and recreated)
# Prints one row per case: MB/s of uncompressed data bytes, wall and CPU seconds, peak RSS of
# syrf-anonymize, and the ratio to --threads 1 (its wall time / this case's). Timings are for
# reading, not for asserting: nothing here fails on speed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-100}
db=${BENCH_DB:-syrf_bench_dirs}
work=$(mktemp -d /tmp/syrf-bench-dirs.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
export PGHOST=${SYRF_TEST_PG_HOST:-${PGHOST:-localhost}}
export PGPORT=${SYRF_TEST_PG_PORT:-${PGPORT:-5432}}
export PGUSER=${SYRF_TEST_PG_USER:-${PGUSER:-postgres}}

cargo build --release -q -p syrf-anonymize -p mongo-archive -p syrf-benches --bins --features mongo-archive/testkit
bin=target/release
# A fresh random key per run (a key written here would be public; the binary refuses it).
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
printf '# none\n' > "$work/none.yaml"

echo "generating a ${size_mb} MB database ($db) and archive in $work ..." >&2
# Four tables of generated people (a quarter of the size each): four table data files.
"$bin/gen-sql-dump" postgres $(( (size_mb + 3) / 4 )) realistic 2> /dev/null \
    | grep -v 'OWNER TO' > "$work/people.sql"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/people.sql" > /dev/null
for t in people_b people_c people_d; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
        -c "CREATE TABLE public.$t (LIKE public.people INCLUDING ALL)" \
        -c "INSERT INTO public.$t SELECT * FROM public.people"
done
pg_dump -Fd -Z 0 -f "$work/pg-plain" "$db"
pg_dump -Fd -f "$work/pg-gzip" "$db"
"$bin/gen-archive" --size-mb "$size_mb" > "$work/syrf.archive"
"$bin/syrf-anonymize" -q --rules "$work/none.yaml" --allow-empty-rules --input "$work/syrf.archive" \
    --output "$work/mongo-plain" --output-layout directory --compress none
"$bin/syrf-anonymize" -q --rules "$work/none.yaml" --allow-empty-rules --input "$work/syrf.archive" \
    --output "$work/mongo-gzip" --output-layout directory --compress gzip

# shellcheck source=benches/measure.sh
source benches/measure.sh

an="/usr/bin/time -f %M -o $work/rss $bin/syrf-anonymize -q"
pg_bytes=$(cat "$work"/pg-plain/*.dat | wc -c)
mongo_bytes=$(stat -c %s "$work/syrf.archive")
cat > "$work/people4.yaml" <<'EOF'
rules:
EOF
for t in people people_b people_c people_d; do
    sed -n '/^  people:/,$p' benches/rules/people.yaml | sed "s/^  people:/  $t:/" >> "$work/people4.yaml"
done

echo "$(nproc) cores; ratio = --threads 1's wall time / this case's"
echo "case                                         throughput     wall    CPU  peak RSS  ratio to"
for kind in plain gzip; do
    echo "## pg_dump -Fd ($kind; $(find "$work/pg-$kind" -maxdepth 1 -name '[0-9]*.dat' | wc -l) table data files, $pg_bytes bytes of COPY data)"
    for t in 1 2; do
        out=$work/out-pg-$kind-$t
        measure "pg -Fd $kind, --threads $t" "$pg_bytes" "pg -Fd $kind, --threads 1" \
            "rm -rf '$out'; $an --rules '$work/people4.yaml' --input '$work/pg-$kind' --output '$out' --threads $t"
    done
    cmp <(cd "$work/out-pg-$kind-1" && cat toc.dat ./*.dat* | sha256sum) \
        <(cd "$work/out-pg-$kind-2" && cat toc.dat ./*.dat* | sha256sum) > /dev/null \
        && echo "    (--threads 2 wrote the same files as --threads 1)" \
        || echo "    (DIFFERENT output with --threads 2)"
done
for kind in plain gzip; do
    echo "## mongodump directory ($kind; $(find "$work/mongo-$kind" -name '*.bson*' | wc -l) collection files, $mongo_bytes archive bytes)"
    for t in 1 2; do
        out=$work/out-mongo-$kind-$t
        measure "mongo dir $kind, --threads $t" "$mongo_bytes" "mongo dir $kind, --threads 1" \
            "rm -rf '$out'; $an --rules benches/rules/touched.yaml --input '$work/mongo-$kind' --output '$out' --threads $t"
    done
done
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
