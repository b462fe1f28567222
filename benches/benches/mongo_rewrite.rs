//! Rewrite throughput of a generated SyRF archive (32 MB, in memory): no rules (pure copy
//! path with framing checks and CRCs) vs rules/syrf.yaml (patching, exclusions, limits).

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::{rewrite_archive, RewriteOptions};

fn bench(c: &mut Criterion) {
    let input = generate_vec(&SynthConfig {
        seed: 7,
        target_bytes: 32 << 20,
        ..SynthConfig::default()
    });
    let key = || KeyMode::Keyed(Key::from_bytes(b"benchmark key, long enough 12345").unwrap());
    let empty = Anonymizer::new(RuleSet::empty(), key()).unwrap();
    let syrf = Anonymizer::new(
        RuleSet::from_yaml(include_str!("../../rules/syrf.yaml"), "rules/syrf.yaml").unwrap(),
        key(),
    )
    .unwrap();
    let mut out = Vec::with_capacity(input.len() + 4096);
    let mut g = c.benchmark_group("mongo_rewrite");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(20);
    g.bench_function("no_rules", |b| {
        b.iter(|| {
            out.clear();
            rewrite_archive(&input[..], &mut out, &empty, &RewriteOptions::default()).unwrap()
        })
    });
    g.bench_function("syrf_rules", |b| {
        b.iter(|| {
            out.clear();
            rewrite_archive(&input[..], &mut out, &syrf, &RewriteOptions::default()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
