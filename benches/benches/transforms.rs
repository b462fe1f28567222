//! Cost of each transform on short values, per value, through `Anonymizer::apply_into` with a
//! reused buffer (what the format crates call) and, for comparison, the allocating `apply`;
//! beside them the floor: one SHA-256 and one HMAC-SHA256 (key state precomputed) of a short
//! value.
//!
//! The plain cases cycle through [`DISTINCT`] distinct values, far more than the per-thread
//! memo of recent results holds, so every memoised transform misses (its cost includes the
//! lookup and the store); the `*_memo_hit` cases cycle through [`REPEATED`] values, which the
//! memo serves.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time, so
//! other processes on a shared machine do not inflate them (caches and a shared core still
//! can).
//!
//! `cargo bench -p syrf-benches --bench transforms`

use std::hint::black_box;
use std::time::Duration;

use anonymize_core::{Anonymizer, Disposition, Key, KeyMode, RowContext, RuleId, RuleSet, Value};
use criterion::{criterion_group, criterion_main, Criterion};

/// (bench name, rule, kind of input)
const CASES: &[(&str, &str, Input)] = &[
    ("hash", "hash", Input::Name),
    ("hmac", "hmac", Input::Name),
    ("hash_email", "hash_email", Input::Email),
    ("hash_email_mixed_case", "hash_email", Input::EmailMixedCase),
    (
        "hash_email_256_domains",
        "hash_email",
        Input::EmailManyDomains,
    ),
    (
        "hash_email_per_part",
        "{transform: hash_email, mode: per_part}",
        Input::Email,
    ),
    ("digits", "digits", Input::Phone),
    (
        "mask",
        "{transform: mask, keep_start: 2, keep_end: 2}",
        Input::Phone,
    ),
    ("sequential", "sequential", Input::Name),
    ("sequential_suffix", "sequential_suffix", Input::Name),
    ("date_shift", "date_shift", Input::Date),
    (
        "fake_first_name",
        "{transform: fake, kind: first_name}",
        Input::Name,
    ),
    (
        "fake_last_name",
        "{transform: fake, kind: last_name}",
        Input::Name,
    ),
    ("fake_name", "{transform: fake, kind: name}", Input::Name),
    ("fake_email", "{transform: fake, kind: email}", Input::Email),
    (
        "fake_phone_number",
        "{transform: fake, kind: phone_number}",
        Input::Phone,
    ),
];

#[derive(Clone, Copy)]
enum Input {
    Name,
    Email,
    EmailMixedCase,
    EmailManyDomains,
    Phone,
    Date,
}

/// Distinct values of the plain (memo miss) cases.
const DISTINCT: usize = 1 << 14;

/// Distinct values of the memo hit cases.
const REPEATED: usize = 16;

/// `n` distinct short values of a kind (so nothing is a constant).
fn inputs(kind: Input, n: usize) -> Vec<String> {
    const FIRST: &[&str] = &[
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    ];
    const LAST: &[&str] = &[
        "smith", "jones", "taylor", "brown", "wilson", "evans", "thomas", "roberts",
    ];
    (0..n)
        .map(|i| {
            let first = FIRST[i % 8];
            let last = LAST[(i / 8) % 8];
            // Empty for the first 64 values, then a number: distinct and short.
            let n = match i / 64 {
                0 => String::new(),
                n => n.to_string(),
            };
            match kind {
                Input::Name => format!("{first} {last}{n}"),
                Input::Email => format!("{first}.{last}{n}@example.ac.uk"),
                Input::EmailMixedCase => format!("{first}.{last}{n}@Example.AC.uk"),
                Input::EmailManyDomains => format!("info@org{}.example", i % 256),
                Input::Phone => format!("+44 20 {:04}-{:04}", i / 100, i * 37 % 10_000),
                Input::Date => format!(
                    "20{:02}-{:02}-{:02} 04:34:33",
                    i % 25,
                    i % 12 + 1,
                    i % 28 + 1
                ),
            }
        })
        .collect()
}

fn rule(anon: &Anonymizer) -> RuleId {
    let Disposition::Keep(plan) = anon.resolve(None, "t") else {
        unreachable!("t is kept")
    };
    plan.root()
        .and_then(|r| r.child(b"f"))
        .and_then(|n| n.rule())
        .expect("the rule")
}

/// CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the thread CPU time it took.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        f();
    }
    thread_cpu_time().saturating_sub(start)
}

fn floor(c: &mut Criterion) {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let values = inputs(Input::Name, 256);
    let mut group = c.benchmark_group("floor");
    let mut i = 0usize;
    group.bench_function("sha256", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                i = (i + 1) & 255;
                black_box(Sha256::digest(values[i].as_bytes()));
            })
        })
    });
    let mac = Hmac::<Sha256>::new_from_slice(b"bench-key-0123456789-abcdef").expect("any key");
    group.bench_function("hmac_sha256", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                i = (i + 1) & 255;
                let mut m = mac.clone();
                m.update(values[i].as_bytes());
                black_box(m.finalize().into_bytes());
            })
        })
    });
    group.finish();
}

fn transforms(c: &mut Criterion) {
    let key = Key::from_bytes(b"bench-key-0123456789-abcdef").expect("key");
    let mut group = c.benchmark_group("transform");
    for (name, spec, kind) in CASES {
        let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
        let rules = RuleSet::from_yaml(&src, "bench.yaml").expect("rules");
        let anon = Anonymizer::new(rules, KeyMode::Keyed(key.clone())).expect("anonymizer");
        let rule = rule(&anon);
        let distinct = inputs(*kind, DISTINCT);
        let repeated = inputs(*kind, REPEATED);
        let mut buf = Vec::with_capacity(256);
        let mut i = 0usize;
        let mut run = |values: &[String],
                       name: String,
                       group: &mut criterion::BenchmarkGroup<'_, _>| {
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    cpu_time(iters, || {
                        i = (i + 1) % values.len();
                        let ctx = RowContext {
                            ordinal: i as u64 + 1,
                        };
                        black_box(anon.apply_into(rule, Value::Str(&values[i]), &ctx, &mut buf));
                        black_box(buf.len());
                    })
                })
            });
        };
        run(&distinct, name.to_string(), &mut group);
        if MEMO_HIT_CASES.contains(name) {
            run(&repeated, format!("{name}_memo_hit"), &mut group);
        }
        if matches!(*name, "hash" | "hash_email" | "fake_first_name") {
            group.bench_function(format!("{name}_alloc"), |b| {
                b.iter_custom(|iters| {
                    cpu_time(iters, || {
                        i = (i + 1) % distinct.len();
                        let ctx = RowContext {
                            ordinal: i as u64 + 1,
                        };
                        black_box(anon.apply(rule, Value::Str(&distinct[i]), &ctx));
                    })
                })
            });
        }
    }
    group.finish();
}

/// The cases whose transforms the memo serves, run again on a few repeated values.
const MEMO_HIT_CASES: &[&str] = &[
    "hash",
    "hmac",
    "hash_email",
    "digits",
    "fake_first_name",
    "fake_name",
    "fake_email",
    "fake_phone_number",
];

/// `hash` on integer ids (issue 18.6: a keyed Feistel permutation, 8 rounds of one SHA-256
/// compression, cycle-walking inside the value's band), distinct consecutive ids.
fn integers(c: &mut Criterion) {
    let key = Key::from_bytes(b"bench-key-0123456789-abcdef").expect("key");
    let mut group = c.benchmark_group("integer");
    let rules = RuleSet::from_yaml("rules:\n  t:\n    fields:\n      f: hash\n", "bench.yaml")
        .expect("rules");
    let anon = Anonymizer::new(rules, KeyMode::Keyed(key)).expect("anonymizer");
    let rule = rule(&anon);
    let mut buf = Vec::new();
    let mut i = 1_000_000i64;
    for (name, wide) in [("hash_int32", false), ("hash_int64", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                cpu_time(iters, || {
                    i += 1;
                    let v = if wide {
                        Value::Int64(i << 33)
                    } else {
                        Value::Int32(i as i32)
                    };
                    black_box(anon.apply_into(rule, v, &RowContext { ordinal: 1 }, &mut buf));
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, floor, transforms, integers);
criterion_main!(benches);
