#!/bin/bash
# Writes the outputs of the `rewrite` example on every real dump with every rule set (the
# repository's and a few with exclusions, limits and a selection) into OUTDIR, so that two
# versions of the crate can be compared byte for byte:
#
#   crates/sql-dump/scripts/snapshot-outputs.sh /tmp/before   # on the old commit
#   crates/sql-dump/scripts/snapshot-outputs.sh /tmp/after    # on the new one
#   diff -r /tmp/before /tmp/after && echo identical
set -eu
out=$(realpath -m "$1")
root=$(cd "$(dirname "$0")/../../.." && pwd)
data=${SYRF_TESTDATA_DIR:-$root/../shared/testdata}/sql
[ -d "$data" ] || { echo "SKIPPED (conformance): no $data" >&2; exit 0; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
cat > "$work/people.yaml" <<'Y'
rules:
  customer: {fields: {email: hash_email, first_name: {transform: fake, kind: first_name}, last_name: {transform: hash, length: 8}}}
  staff: {fields: {email: hash_email, password: hash, picture: hash}}
  address: {fields: {phone: digits, address: {transform: mask, keep_start: 2}}}
  film: {fields: {description: sequential}}
  rental: {fields: {rental_date: date_shift}}
Y
cat > "$work/excl.yaml" <<'Y'
rules:
  staff: {fields: {email: hash_email, picture: null}}
  customer: {fields: {email: hash_email}}
exclusions: [payment, film_actor, actor, language]
schema_only: [rental, film_text]
size_limits: {inventory: {max_rows: 10}, customer: {max_rows: 100}}
Y
cat > "$work/excl2.yaml" <<'Y'
exclusions: [customer, address, public.film]
size_limits: {payment: {max_rows: 5}, payment_p2022_02: {max_rows: 3}}
Y
cat > "$work/coll.yaml" <<'Y'
rules:
  customer: {fields: {email: hash_email}}
collections: [customer, store, address]
Y
cd "$root"
cargo build -q --release -p sql-dump --example rewrite
bin=$root/target/release/examples/rewrite
for gz in "$data"/*.sql.gz; do
  name=$(basename "$gz" .sql.gz)
  gzip -dc "$gz" > "$work/$name.sql"
  for rules in none "$root"/rules/*.yaml "$work"/*.yaml; do
    n=${name}__$(basename "$rules" .yaml)
    args=("$work/$name.sql"); [ "$rules" = none ] || args+=("$rules")
    rc=0; "$bin" "${args[@]}" > "$out/$n.out" 2> "$out/$n.err" || rc=$?
    echo "rc=$rc" > "$out/$n.rc"
    sed -i 's/ bytes in .*//' "$out/$n.err"
  done
  rm "$work/$name.sql"
done
