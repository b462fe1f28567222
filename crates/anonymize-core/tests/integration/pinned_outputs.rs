//! Outputs pinned before the transforms were optimised (issue 11): every line of
//! `tests/data/pinned_outputs.tsv` was computed by the previous implementation (`hash_email`'s
//! then only behaviour is today's `mode: per_part`) and must stay byte-for-byte the same. The
//! one intended change since: `mask` on a value no longer than `keep_start + keep_end` masks it
//! whole (the two `Str("Alice")` lines of the `keep_start: 2, keep_end: 3` rule); and `hash`/`hmac` on
//! integers (`Int32`, `Int64`, integer `Number`s) are a keyed permutation since issue 18.6 (text
//! outputs unchanged). `PRINT_PINNED=1 cargo test -p anonymize-core --test integration pinned_outputs::`
//! prints the current table instead of checking it (only for adding new cases). Every value is
//! applied a second time, when the per-thread memo of recent results may serve it, and must
//! give the same output.

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleSet, Value,
};

const KEY: &[u8] = b"pinned-outputs-key-0123456789";

const SPECS: &[&str] = &[
    "keep",
    "hash",
    "{transform: hash, length: 64}",
    "{transform: hash, length: 7}",
    "hmac",
    "{transform: hmac, length: 64}",
    "{transform: hmac, encoding: base32, length: 52}",
    "{transform: hmac, encoding: base32, length: 9}",
    "{transform: hmac, encoding: base64url, length: 43}",
    "{transform: hash_email, mode: per_part}",
    "{transform: hash_email, mode: per_part, local_length: 8}",
    "{transform: hash_email, mode: per_part, local_length: 64, domain_length: 64, domain: example.org}",
    "{transform: hash_email, mode: per_part, case_sensitive: true}",
    "sequential",
    "{transform: sequential, prefix: 'P-'}",
    "sequential_suffix",
    "{transform: fake, kind: first_name}",
    "{transform: fake, kind: last_name}",
    "{transform: fake, kind: name}",
    "{transform: fake, kind: email}",
    "{transform: fake, kind: phone_number}",
    "{transform: fake, kind: username}",
    "{transform: fake, kind: company}",
    "{transform: fake, kind: street_address}",
    "{transform: fake, kind: city}",
    "{transform: fake, kind: postcode}",
    "{transform: fake, kind: country}",
    "{transform: fake, kind: ipv4}",
    "{transform: fake, kind: ipv6}",
    "{transform: fake, kind: user_agent}",
    "{transform: fake, kind: sentence}",
    "{transform: fake, kind: paragraph}",
    "{transform: fake, kind: uuid}",
    "{transform: fake, kind: first_name, locale: fr_fr}",
    "{transform: fake, kind: last_name, locale: ja_jp}",
    "{transform: fake, kind: name, locale: pt_br}",
    "{transform: fake, kind: city, locale: zh_cn}",
    "{transform: fake, kind: phone_number, locale: ar_sa}",
    "{transform: fake, kind: company, locale: zh_tw}",
    "digits",
    "mask",
    "{transform: mask, keep_start: 1, keep_end: 1, char: '#'}",
    "{transform: mask, keep_start: 2, keep_end: 3, char: 'é'}",
    "date_shift",
    "{transform: date_shift, max_days: 1}",
    "{transform: date_shift, max_days: 36500}",
    "'null'",
    "remove",
    "{transform: constant, value: staging}",
    "{transform: constant, value: 5}",
    "{transform: constant, value: 5000000000}",
    "{transform: constant, value: 1.5}",
    "{transform: constant, value: true}",
    "{transform: constant, value: null}",
];

fn values() -> Vec<Value<'static>> {
    vec![
        Value::Str("John.Smith@Example.COM"),
        Value::Str("user@example.com"),
        Value::Str("Alice"),
        Value::Str("+44 20 7946-0958"),
        Value::Str("héllo wörld 123"),
        Value::Str("not an email"),
        Value::Str(" a@b@c "),
        Value::Str("2020-02-15 04:34:33"),
        Value::Str("2024-02-29T23:59:59.123+02:00"),
        Value::Str("0000-00-00"),
        Value::Bytes(b"caf\xe9 42@x.org"),
        Value::Int32(1234),
        Value::Int32(-7),
        Value::Int32(2_000_000_000),
        Value::Int64(9_876_543_210),
        Value::Int64(-1),
        Value::Number("0012.50"),
        Value::Number("-42"),
        Value::Number("123456789012345678901234567890"),
        Value::Binary {
            subtype: 3,
            bytes: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        },
        Value::Binary {
            subtype: 0,
            bytes: &[0xAB; 70],
        },
        Value::DateTime(1_600_000_000_000),
        Value::Double(1.5),
        Value::Bool(true),
        Value::Null,
        Value::Other,
    ]
}

fn outputs() -> Vec<String> {
    let mut lines = Vec::new();
    for keyed in [true, false] {
        for spec in SPECS {
            if !keyed && spec.contains("hmac") {
                continue;
            }
            let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
            let rules = RuleSet::from_yaml(&src, "pinned.yaml").expect("spec parses");
            let mode = if keyed {
                KeyMode::Keyed(Key::from_bytes(KEY).unwrap())
            } else {
                KeyMode::Unkeyed
            };
            let anon = Anonymizer::new(rules, mode).unwrap();
            let Disposition::Keep(plan) = anon.resolve(None, "t") else {
                unreachable!()
            };
            let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
            let ctx = |i: usize| RowContext {
                ordinal: 1234 + i as u64,
            };
            let mut first = Vec::new();
            for (i, value) in values().into_iter().enumerate() {
                let out: Replacement = anon.apply(rule, value, &ctx(i));
                lines.push(format!(
                    "{}\t{spec}\t{value:?}\t{out:?}",
                    if keyed { "keyed" } else { "unkeyed" }
                ));
                first.push(out);
            }
            // Again, in reverse, through `apply_into`: values the per-thread memo remembered
            // from the first pass give the same results.
            let mut buf = Vec::new();
            for (i, value) in values().into_iter().enumerate().rev() {
                let w = anon.apply_into(rule, value, &ctx(i), &mut buf);
                assert_eq!(w.to_replacement(&buf), first[i], "{spec} {value:?} again");
            }
        }
    }
    lines
}

#[test]
fn outputs_match_the_pinned_table() {
    let now = outputs();
    if std::env::var_os("PRINT_PINNED").is_some() {
        for line in &now {
            println!("{line}");
        }
        return;
    }
    let pinned: Vec<&str> = include_str!("data/pinned_outputs.tsv").lines().collect();
    assert_eq!(pinned.len(), now.len(), "case count");
    for (want, got) in pinned.iter().zip(&now) {
        assert_eq!(*want, got.as_str());
    }
}
