#!/usr/bin/env bash
# Time, peak memory and temporary disk of SQL subsets (`size_limits` with the foreign-key
# closure) on generated dumps whose `orders.user_id` references `users.id` (PostgreSQL: the
# foreign key after the data, as pg_dump writes it; MySQL: inline in CREATE TABLE), from a
# file (read three times) and from a pipe (spooled once to $TMPDIR), next to the same rules
# without a limit (one pass). Checks that pipe and file give the same bytes.
#
# Usage: [DIALECTS="pg my pgnarrow"] benches/subset.sh [SIZE_MB]   (default 1000 and "pg my";
#        needs GNU time). pgnarrow: narrow rows with a self-referencing key, limit 1,000,000.
# Timings are for reading, not for asserting: nothing here fails on speed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-1000}
work=$(mktemp -d "${TMPDIR:-/tmp}/syrf-subset.XXXXXX")
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

cargo build --release -q -p syrf-anonymize -p syrf-benches --bins
bin=target/release
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
export TMPDIR="$work"

echo "generating ${size_mb} MB dumps in $work ..." >&2
dialects=${DIALECTS:-pg my}
if [[ " $dialects " == *" pg "* ]]; then
  "$bin/gen-sql-dump" postgres "$size_mb" > "$work/pg.sql"
  printf 'ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);\n' >> "$work/pg.sql"
fi
if [[ " $dialects " == *" my "* ]]; then
  # shellcheck disable=SC2016 # MySQL's backquoted names, not command substitutions
  "$bin/gen-sql-dump" mysql "$size_mb" \
    | sed '0,/^  `note` text,$/s//  `note` text,\n  CONSTRAINT `fk_orders_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`),/' \
    > "$work/my.sql"
  # shellcheck disable=SC2016 # a backquoted MySQL name
  grep -q 'CONSTRAINT `fk_orders_user`' "$work/my.sql" || { echo "the MySQL foreign key was not added" >&2; exit 1; }
fi

# Narrow rows (about 90 bytes, 11 million per GB) referencing earlier rows of their own
# table: the most keys per byte, for the memory figure.
if [[ " $dialects " == *" pgnarrow "* ]]; then
  "$bin/gen-sql-dump" postgres "$size_mb" narrow > "$work/pgnarrow.sql"
  printf 'ALTER TABLE ONLY public.people\n    ADD CONSTRAINT people_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.people(id);\n' >> "$work/pgnarrow.sql"
fi

cat > "$work/rules.yaml" <<'YAML'
rules:
  users:
    columns:
      email: hash_email
      first_name: {transform: fake, kind: first_name}
  orders:
    columns:
      email: hash_email
  people:
    columns:
      email: hash_email
YAML
{ cat "$work/rules.yaml"; printf 'size_limits:\n  users: {max_rows: 50000}\n  people: {max_rows: 1000000}\n'; } > "$work/limit.yaml"

# case NAME RULES INPUT(file|pipe) DUMP
case_() {
  local name=$1 rules=$2 how=$3 dump=$4 out="$work/$1.out"
  local t="$work/$1.time"
  if [[ $how == file ]]; then
    /usr/bin/time -f '%e %U %M' -o "$t" "$bin/syrf-anonymize" --rules "$rules" --quiet \
      --input "$dump" --output "$out"
  else
    # The spool (an unnamed file in $TMPDIR) holds the whole uncompressed input.
    /usr/bin/time -f '%e %U %M' -o "$t" "$bin/syrf-anonymize" --rules "$rules" --quiet \
      --input - --output "$out" < <(cat "$dump")
  fi
  read -r wall user rss < "$t"
  local mb=$(( $(stat -c %s "$dump") / 1000000 ))
  printf '%-22s %6s MB  wall %7.1f s  cpu %7.1f s  %6.1f MB/s  peak RSS %5d MB  out %5d MB\n' \
    "$name" "$mb" "$wall" "$user" "$(awk -v a="$mb" -v b="$wall" 'BEGIN { print a / b }')" $((rss / 1024)) \
    $(( $(stat -c %s "$out") / 1000000 ))
}

for d in $dialects; do
  case_ "$d-rules-only" "$work/rules.yaml" file "$work/$d.sql"
  rm -f "$work/$d-rules-only.out"
  case_ "$d-limit-file" "$work/limit.yaml" file "$work/$d.sql"
  case_ "$d-limit-pipe" "$work/limit.yaml" pipe "$work/$d.sql"
  cmp "$work/$d-limit-file.out" "$work/$d-limit-pipe.out" && echo "$d: pipe and file outputs are identical"
  rm -f "$work/$d-limit-file.out" "$work/$d-limit-pipe.out"
done
