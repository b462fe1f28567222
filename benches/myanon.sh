#!/usr/bin/env bash
# Side by side with myanon (a C MySQL-dump anonymizer, github.com/ppomes/myanon) on the realistic
# MySQL dump of benches/throughput.sh, next to `cat` and `pigz` through the same pipes.
#
# Usage: [MYANON=/path/to/myanon] [RUNS=N] benches/myanon.sh [SIZE_MB]   (default 100 MB, 1 run)
#   MYANON  a myanon binary you built yourself (docs/performance.md, "Side by side with myanon",
#           says how); without it the myanon case is skipped, loudly.
#   RUNS    runs all cases N times, round after round, and keeps each case's fastest run (for
#           a shared machine).
# Needs GNU time at /usr/bin/time; pigz is optional (its cases are skipped without it).
#
# Rules: benches/rules/people.yaml for syrf-anonymize and its myanon equivalent
# benches/rules/people.myanon.conf (which says, rule by rule, how the two differ). A fresh
# random key for each run: SYRF_ANONYMIZE_KEY, and a myanon `secret` written into a temporary
# copy of the config. After the timings, both tools' outputs are compared with the input row by
# row (rows, bytes, how many covered values came out unchanged: e-mails must be 0; whether all
# lines but the INSERTs are unchanged), so that the comparison is of runs that really rewrote
# the same data. Nothing here fails on speed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-100}
runs=${RUNS:-1}
myanon=${MYANON:-}
work=$(mktemp -d /tmp/syrf-myanon.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }
if [[ -n $myanon && ! -x $myanon ]]; then
    echo "MYANON=$myanon is not an executable file" >&2
    exit 2
fi

cargo build --release -q -p syrf-anonymize -p syrf-benches --bins
bin=target/release
# Fresh random keys (a key written here would be public; syrf-anonymize refuses known ones).
SYRF_ANONYMIZE_KEY=$(head -c 32 /dev/urandom | base64)
export SYRF_ANONYMIZE_KEY
conf=$work/people.myanon.conf
{
    printf "secret = '%s'\n" "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    cat benches/rules/people.myanon.conf
} > "$conf"
chmod 600 "$conf"

dump=$work/realistic-mysql.sql
echo "generating a ${size_mb} MB realistic MySQL dump in $work ..." >&2
"$bin/gen-sql-dump" mysql "$size_mb" realistic > "$dump" 2> "$work/rows"
rows=$(grep -o '[0-9]* rows' "$work/rows" | cut -d' ' -f1)
bytes=$(stat -c %s "$dump")

# shellcheck source=benches/measure.sh
source benches/measure.sh

# The cases in order: a name and its pipeline, or an empty pipeline and why it is skipped.
names=() cmds=()
declare -A skipped failed best_line cpu_of
add() { names+=("$1"); cmds+=("$2"); }
skip() { names+=("$1"); cmds+=(""); skipped[$1]=$2; }

an="/usr/bin/time -f %M -o $work/rss $bin/syrf-anonymize -q --rules benches/rules/people.yaml"
add "cat | cat" "cat '$dump' | cat"
if command -v pigz > /dev/null; then
    add "pigz -6 -c, 1 thread" "cat '$dump' | pigz -6 -c -p 1"
    add "pigz -6 -c, 2 threads" "cat '$dump' | pigz -6 -c -p 2"
else
    skip "pigz" "pigz is not installed (apt-get install pigz)"
fi
add "syrf-anonymize --threads 1" "cat '$dump' | $an --threads 1"
add "syrf-anonymize --threads 2" "cat '$dump' | $an --threads 2"
if [[ -n $myanon ]]; then
    add "myanon" "cat '$dump' | /usr/bin/time -f %M -o $work/rss '$myanon' -f '$conf'"
else
    skip "myanon" "set MYANON=/path/to/myanon (a binary you built)"
fi

# RUNS rounds over all cases (so that a burst of load elsewhere hits every case alike); each
# case keeps its fastest run. secs_of (measure.sh) ends up holding each case's fastest.
declare -A best_secs
for ((r = 0; r < runs; r++)); do
    for i in "${!names[@]}"; do
        name=${names[i]}
        [[ -z ${cmds[i]} || -n ${failed[$name]:-} ]] && continue
        unset "secs_of[$name]"
        measure "$name" "$bytes" - "${cmds[i]}" > "$work/line"
        if [[ -z ${secs_of[$name]:-} ]]; then
            failed[$name]=$(cat "$work/line")  # measure() says why
        elif [[ -z ${best_secs[$name]:-} ]] ||
            awk -v a="${secs_of[$name]}" -v b="${best_secs[$name]}" 'BEGIN { exit !(a < b) }'; then
            best_line[$name]=$(cat "$work/line")
            best_secs[$name]=${secs_of[$name]}
        fi
    done
done

echo "$(nproc) cores; realistic MySQL dump of $rows rows, $bytes bytes (mysqldump 8.0 layout); fastest of $runs run(s)"
echo "case                                         throughput     wall    CPU  peak RSS  ratio to cat"
for name in "${names[@]}"; do
    if [[ -n ${skipped[$name]:-} ]]; then
        printf '%-44s SKIPPED: %s\n' "$name" "${skipped[$name]}"
        continue
    elif [[ -n ${failed[$name]:-} ]]; then
        printf '%s\n' "${failed[$name]}"
        continue
    fi
    secs_of[$name]=${best_secs[$name]}
    # measure()'s line; its CPU seconds are the third field after "MB/s".
    cpu_of[$name]=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") { print $(i + 3); exit } }' <<< "${best_line[$name]}")
    awk -v l="${best_line[$name]}" -v c="${best_secs["cat | cat"]}" -v s="${best_secs[$name]}" \
        -v cpu="${cpu_of[$name]}" -v n="$rows" \
        'BEGIN { sub(/ +$/, "", l); printf "%s  %.3fx\n    -> %.3f us of CPU a row\n", l, c / s, cpu * 1e6 / n }'
done
if [[ -n ${cpu_of[myanon]:-} && -n ${cpu_of["syrf-anonymize --threads 1"]:-} ]]; then
    awk -v m="${cpu_of[myanon]}" -v s="${cpu_of["syrf-anonymize --threads 1"]}" \
        -v mw="${secs_of[myanon]}" -v s1="${secs_of["syrf-anonymize --threads 1"]}" \
        -v s2="${secs_of["syrf-anonymize --threads 2"]:-0}" 'BEGIN {
            printf "## myanon / syrf-anonymize: CPU a row %.2fx (per core); wall %.2fx at --threads 1", m / s, mw / s1
            if (s2 > 0) printf ", %.2fx at --threads 2", mw / s2
            print ""
        }'
fi

# One row a line: first name, last name, e-mail, phone (the covered columns, raw SQL literals).
# The generated values hold no `,` nor `),(`; both tools keep the rows in order.
covered() {
    awk '/^INSERT INTO `people` VALUES \(/ {
        sub(/^INSERT INTO `people` VALUES \(/, ""); sub(/\);$/, "")
        n = split($0, row, /\),\(/)
        for (i = 1; i <= n; i++) { split(row[i], f, ","); print f[2] "\t" f[3] "\t" f[4] "\t" f[5] }
    }' "$1"
}
# check NAME FILE: rows and bytes of FILE, how many rows kept each covered value unchanged,
# whether its lines other than the INSERTs are the input's, and how many e-mails are distinct.
check() {
    covered "$2" > "$work/after"
    local out_rows others=changed
    out_rows=$(wc -l < "$work/after")
    cmp -s <(grep -v '^INSERT INTO' "$dump") <(grep -v '^INSERT INTO' "$2") && others=unchanged
    printf '%-27s %8s rows %11s bytes; rows whose value survived: ' "$1" "$out_rows" "$(stat -c %s "$2")"
    paste "$work/before" "$work/after" | awk -F'\t' '
        { for (i = 1; i <= 4; i++) if ($i == $(i + 4)) same[i]++ }
        END { printf "first_name %d, last_name %d, email %d, phone %d; ", same[1], same[2], same[3], same[4] }'
    # people.email has a unique key: a restore needs every pseudonym distinct.
    echo "other lines $others; $(cut -f3 "$work/after" | sort -u | wc -l) distinct e-mails"
    [[ $out_rows == "$rows" ]] || echo "    !! $1 wrote $out_rows rows, the input has $rows"
}
echo "## outputs (checked outside the timings; an e-mail that survived would make the comparison unfair: must be 0)"
covered "$dump" > "$work/before"
printf '%-27s %8s rows %11s bytes\n' "input" "$(wc -l < "$work/before")" "$bytes"
"$bin/syrf-anonymize" -q --rules benches/rules/people.yaml < "$dump" > "$work/out.sql"
check "syrf-anonymize" "$work/out.sql"
if [[ -n $myanon ]]; then
    if "$myanon" -f "$conf" < "$dump" > "$work/out.sql" 2> "$work/myanon.err"; then
        check "myanon" "$work/out.sql"
    else
        echo "myanon FAILED on this dump: $(head -c 500 "$work/myanon.err")"
    fi
fi
