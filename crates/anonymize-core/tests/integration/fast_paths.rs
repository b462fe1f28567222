//! The transforms' per-value fast paths (issue 23) give exactly what the transforms' definitions
//! give: `hash_email` and `hash` outputs computed here from scratch with the `hmac` crate
//! (one-block, two-block and longer messages; addresses scanned in one pass; results served
//! from memo entries of every width), and rule counters that stay exact with more threads
//! than owned shards.

use anonymize_core::{Anonymizer, Disposition, Key, KeyMode, RowContext, RuleId, Value, Written};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const KEY: &[u8] = b"core23-test-key-0123456789abcdef";

fn anon(spec: &str) -> (Anonymizer, RuleId) {
    let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
    let a = Anonymizer::new(
        anonymize_core::RuleSet::from_yaml(&src, "core23.yaml").unwrap(),
        KeyMode::Keyed(Key::from_bytes(KEY).unwrap()),
    )
    .unwrap();
    let Disposition::Keep(plan) = a.resolve(None, "t") else {
        unreachable!()
    };
    let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
    (a, rule)
}

/// Lower-case hex of HMAC-SHA256(KEY, domain || 0 || message), its first `chars` characters.
fn keyed_hex(domain: &str, message: &[u8], chars: usize) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap();
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(message);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..chars].to_owned()
}

/// `hash_email`'s definition (default parameters), for text whose trimmed form is ASCII or not.
fn hash_email_by_definition(value: &str) -> String {
    let address = value.trim().to_lowercase();
    let well_formed = address.rsplit_once('@').filter(|(local, host)| {
        !local.is_empty()
            && !host.is_empty()
            && !local.contains('@')
            && !address.chars().any(char::is_whitespace)
    });
    match well_formed {
        Some((_, host)) => format!(
            "{}.{}@anonymized.syrf.local",
            keyed_hex("hash_email/address", address.as_bytes(), 16),
            keyed_hex("hash_email/domain", host.as_bytes(), 4)
        ),
        None => format!(
            "{}@anonymized.syrf.local",
            keyed_hex("hash_email/malformed", address.as_bytes(), 16)
        ),
    }
}

fn apply(a: &Anonymizer, rule: RuleId, value: &str, buf: &mut Vec<u8>) -> String {
    let w = a.apply_into(rule, Value::Str(value), &RowContext { ordinal: 1 }, buf);
    assert_eq!(w, Written::Str, "{value:?}");
    String::from_utf8(buf.clone()).unwrap()
}

#[test]
fn hash_email_matches_its_definition_at_every_length() {
    let (a, rule) = anon("hash_email");
    let mut buf = Vec::new();
    let mut values = Vec::new();
    // Messages of 19 + 1 + n bytes: one block up to n = 35, two up to 99, then the `hmac` crate.
    for n in 3..=140usize {
        let local: String = (0..n - 2)
            .map(|i| (b'a' + (i * 7 % 26) as u8) as char)
            .collect();
        values.push(format!("{local}@x"));
        values.push(format!("  {}@Example.ORG ", local.to_uppercase()));
        values.push(format!("{local}@@x"));
        values.push(format!("{local} @x"));
        values.push(local.clone());
        values.push(format!("Zoë.{local}@exämple.org"));
        values.push(format!("@{local}"));
        values.push(format!("{local}@"));
        values.push(format!("{local}\t@x"));
    }
    for v in &values {
        assert_eq!(
            apply(&a, rule, v, &mut buf),
            hash_email_by_definition(v),
            "{v:?}"
        );
    }
}

#[test]
fn hash_served_from_the_memo_matches_its_definition() {
    // 3,000 values of 1 to 100 bytes, drawn with repeats (a few common, most rare): tables
    // start narrow, widen for the long values and grow; every output is checked.
    let pool: Vec<String> = (0..3000usize)
        .map(|i| {
            let len = 1 + (i * 37) % 100;
            (0..len)
                .map(|j| (b'a' + ((i + j * 11) % 26) as u8) as char)
                .collect()
        })
        .collect();
    let (a, rule) = anon("hash");
    let mut buf = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..60_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Squaring a uniform draw favours small indices.
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let v = &pool[((u * u) * pool.len() as f64) as usize];
        assert_eq!(
            apply(&a, rule, v, &mut buf),
            keyed_hex("hash", v.as_bytes(), 16),
            "{v:?}"
        );
    }
    let (_, _, hits, misses) = a.memo_counts_this_thread()[0];
    assert!(
        hits > misses,
        "the memo served most values: {hits} hits, {misses} misses"
    );
}

#[test]
fn counts_stay_exact_with_more_threads_than_owned_shards() {
    let (a, rule) = anon("{transform: fake, kind: first_name}");
    std::thread::scope(|s| {
        for t in 0..24u64 {
            let a = &a;
            s.spawn(move || {
                let mut buf = Vec::new();
                for i in 0..500u64 {
                    let name = format!("name{}", (i * 7 + t) % 50);
                    a.apply_into(
                        rule,
                        Value::Str(&name),
                        &RowContext { ordinal: i },
                        &mut buf,
                    );
                }
                // Nulls are seen, not changed.
                a.apply_into(rule, Value::Null, &RowContext { ordinal: 0 }, &mut buf);
            });
        }
    });
    let report = a.report();
    let r = &report.rules[0];
    assert_eq!(
        (r.values_seen, r.values_changed, r.failed_closed),
        (24 * 501, 24 * 500, 0)
    );
}
