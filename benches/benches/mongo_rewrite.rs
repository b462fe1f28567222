//! Rewrite throughput of a generated SyRF archive (32 MB, in memory): no rules (pure copy
//! path with framing checks and CRCs), rules/syrf.yaml (patching, exclusions, limits), and
//! rules touching every document of the big collections (emails, names, ids; nothing excluded)
//! on 1 and 2 worker threads.

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::{rewrite_archive, RewriteOptions};

/// Every document of pmInvestigator, pmProject and pmStudy touched; nothing excluded.
const TOUCHED: &str = "
rules:
  pmInvestigator:
    fields:
      Email: hash_email
      FirstName: {transform: fake, kind: first_name}
      LastName: {transform: fake, kind: last_name}
      Auth0Id: hash
      FullName.First: {transform: fake, kind: first_name}
      FullName.Surname: {transform: fake, kind: last_name}
  pmProject:
    fields:
      ContactEmail: hash_email
      Registrations.Email: hash_email
      Registrations.InvestigatorId: hash
  pmStudy:
    fields:
      ProjectId: hash
      Authors.FirstName: {transform: fake, kind: first_name}
      Authors.LastName: {transform: fake, kind: last_name}
      ScreeningInfo.Decisions.InvestigatorId: hash
";

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
    let touched =
        Anonymizer::new(RuleSet::from_yaml(TOUCHED, "touched.yaml").unwrap(), key()).unwrap();
    let mut out = Vec::with_capacity(input.len() + 4096);
    let mut g = c.benchmark_group("mongo_rewrite");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(10);
    let cases: [(&str, &Anonymizer, usize); 5] = [
        ("no_rules", &empty, 1),
        ("syrf_rules", &syrf, 1),
        ("touched_threads_1", &touched, 1),
        ("touched_threads_2", &touched, 2),
        ("syrf_rules_threads_2", &syrf, 2),
    ];
    for (name, anon, threads) in cases {
        let options = RewriteOptions {
            threads,
            ..RewriteOptions::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                rewrite_archive(&input[..], &mut out, anon, &options).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
