#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of syrf-anonymize binaries on one generated
# archive: stable on a busy machine, where wall times are not. For comparing builds (an older
# commit's binary against this one) and for seeing which thread does the work.
#
# Usage: benches/archive_instructions.sh [SIZE_MB] [BIN...]
#   SIZE_MB  archive size (default 10; callgrind runs about 50x slower than native)
#   BIN      syrf-anonymize binaries to compare (default: target/release/syrf-anonymize)
#   KEEP=DIR keeps the callgrind outputs in DIR (for callgrind_annotate)
# Cases per binary: the benchmark's rules (benches/rules/touched.yaml: every document of the big
# collections touched; rules/syrf.yaml), with the echo guard on and inert (`echo_guard:
# {min_length: 1000}` appended, as benches/echo_cost.sh does; a binary older than the guard
# refuses the key and is reported as such), with --threads 1 and 2. For 2 threads it prints the
# calling thread's own count (reading, applying in order, writing: its total less the batches it
# patches itself rather than wait, `parallel::patch_segment`, which a worker could have done),
# its whole count ("calling (all)") and the total of all threads. Valgrind runs one thread at a
# time, so how the patching is shared differs from a real run's (benches/archive_threads.sh
# measures that with perf).
# Note: valgrind hides the CPU's SHA extensions, so SHA-256 runs in software and weighs more
# here than on the machine itself (about 4x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mb=${1:-10}
shift || true
bins=("$@")
[[ ${#bins[@]} -gt 0 ]] || bins=(target/release/syrf-anonymize)
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
work=$(mktemp -d -t syrf-instr.XXXXXX)
trap 'rm -rf "$work"' EXIT
keep=${KEEP:-}

cargo build --release -q -p mongo-archive --bin gen-archive --features testkit
SYRF_ANONYMIZE_KEY="$(head -c 32 /dev/urandom | base64)"
export SYRF_ANONYMIZE_KEY
target/release/gen-archive --size-mb "$size_mb" > "$work/a.archive"
for r in benches/rules/touched.yaml rules/syrf.yaml; do
    n=$(basename "$r" .yaml)
    cp "$r" "$work/$n.yaml"
    { cat "$r"; printf 'echo_guard: {min_length: 1000}\n'; } > "$work/$n-inert.yaml"
done

echo "archive: $(stat -c %s "$work/a.archive") bytes (gen-archive --size-mb $size_mb)"
printf '%-40s %-14s %7s %16s %16s %16s\n' binary rules threads "calling (own)" "calling (all)" "all threads"
n_bin=0
for bin in "${bins[@]}"; do
    n_bin=$(( n_bin + 1 ))
    for rules in touched touched-inert syrf syrf-inert; do
        for t in 1 2; do
            # Numbered: binaries of two builds usually share a file name.
            out="$work/cg.$n_bin.$(basename "$bin").$rules.$t"
            if ! valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out.%p" \
                "$bin" -q --rules "$work/$rules.yaml" --threads "$t" < "$work/a.archive" > /dev/null 2> "$out.log"; then
                printf '%-40s %-14s %7s %s\n' "$bin" "$rules" "$t" "failed: $(grep -v '^==' "$out.log" | tail -n 1)"
                continue
            fi
            # Thread 1 is the calling thread; the others are workers (and, for the CLI, its
            # output sink when compressing: not used here).
            main=$(grep -h '^summary:' "$out".*-01 | awk '{ print $2 }')
            calling=$main
            stolen=$(callgrind_annotate --inclusive=yes "$out".*-01 2> /dev/null \
                | awk '/parallel::patch_segment \[/ && !n { gsub(",", "", $1); print $1; n = 1 }' || true)
            main=$(( main - ${stolen:-0} ))
            all=$(cat "$out".*-[0-9]* | grep -h '^summary:' | awk '{ s += $2 } END { print s }')
            printf '%-40s %-14s %7s %16s %16s %16s\n' "$bin" "$rules" "$t" "$main" "$calling" "$all"
            [[ -n $keep ]] && mkdir -p "$keep" && cp "$out".* "$keep/"
        done
    done
done
