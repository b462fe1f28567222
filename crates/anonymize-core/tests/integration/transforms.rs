//! Behaviour of every transform: determinism, key sensitivity, types, the reference vectors.

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleId, RuleSet, Value,
};

const KEY_A: &[u8] = b"test-key-A-0123456789";
const KEY_B: &[u8] = b"test-key-B-0123456789";

fn anonymizer(field_yaml: &str, key: Option<&[u8]>) -> (Anonymizer, RuleId) {
    let src = format!("rules:\n  t:\n    fields:\n      f: {field_yaml}\n");
    let rules = RuleSet::from_yaml(&src, "test.yaml").expect("rules parse");
    let mode = match key {
        Some(k) => KeyMode::Keyed(Key::from_bytes(k).unwrap()),
        None => KeyMode::Unkeyed,
    };
    let anon = Anonymizer::new(rules, mode).expect("anonymizer");
    let Disposition::Keep(plan) = anon.resolve(None, "t") else {
        panic!("t must be kept")
    };
    let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
    (anon, rule)
}

fn run(field_yaml: &str, key: Option<&[u8]>, value: Value<'_>) -> Replacement {
    let (anon, rule) = anonymizer(field_yaml, key);
    anon.apply(rule, value, &RowContext { ordinal: 7 })
}

fn text(r: Replacement) -> String {
    match r {
        Replacement::Str(s) => s,
        other => panic!("expected a string, got {other:?}"),
    }
}

#[test]
fn brief_reference_vectors_unkeyed() {
    let email = text(run(
        "{transform: hash_email, mode: per_part, local_length: 8}",
        None,
        Value::Str("user@example.com"),
    ));
    assert_eq!(email, "04f8996d.a379@anonymized.syrf.local");
    assert_eq!(
        text(run("hash", None, Value::Str("auth0|5f7c8e9d"))),
        "a3eb367fbdc41d19"
    );
}

#[test]
fn keyed_hash_differs_from_unkeyed_and_between_keys() {
    let plain = text(run("hash", None, Value::Str("auth0|5f7c8e9d")));
    let a = text(run("hash", Some(KEY_A), Value::Str("auth0|5f7c8e9d")));
    let a2 = text(run("hash", Some(KEY_A), Value::Str("auth0|5f7c8e9d")));
    let b = text(run("hash", Some(KEY_B), Value::Str("auth0|5f7c8e9d")));
    assert_eq!(a, a2, "deterministic");
    assert_ne!(a, plain);
    assert_ne!(a, b);
    assert_eq!(a.len(), 16);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn hash_and_hmac_use_separate_domains() {
    let h = text(run(
        "{transform: hash, length: 32}",
        Some(KEY_A),
        Value::Str("x"),
    ));
    let m = text(run("hmac", Some(KEY_A), Value::Str("x")));
    assert_eq!(m.len(), 32);
    assert_ne!(h, m);
}

#[test]
fn hmac_refuses_without_key_and_encodes() {
    let rules = RuleSet::from_yaml("rules:\n  t:\n    fields:\n      f: hmac\n", "t.yaml").unwrap();
    let err = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap_err();
    assert!(err.to_string().contains("without a key"), "{err}");
    let b32 = text(run(
        "{transform: hmac, encoding: base32, length: 52}",
        Some(KEY_A),
        Value::Str("x"),
    ));
    assert_eq!(b32.len(), 52);
    assert!(b32
        .bytes()
        .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
    let b64 = text(run(
        "{transform: hmac, encoding: base64url, length: 20}",
        Some(KEY_A),
        Value::Str("x"),
    ));
    assert_eq!(b64.len(), 20);
    assert!(b64
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
}

#[test]
fn hash_email_is_case_insensitive_and_keyed() {
    let a = text(run(
        "hash_email",
        Some(KEY_A),
        Value::Str("John.Smith@Example.COM"),
    ));
    let b = text(run(
        "hash_email",
        Some(KEY_A),
        Value::Str("john.smith@example.com"),
    ));
    let c = text(run(
        "hash_email",
        Some(KEY_B),
        Value::Str("john.smith@example.com"),
    ));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let (local, domain) = a.split_once('@').unwrap();
    assert_eq!(domain, "anonymized.syrf.local");
    let (l, d) = local.split_once('.').unwrap();
    assert_eq!((l.len(), d.len()), (16, 4));
    let sensitive = "{transform: hash_email, case_sensitive: true}";
    assert_ne!(
        text(run(sensitive, Some(KEY_A), Value::Str("John@x.com"))),
        text(run(sensitive, Some(KEY_A), Value::Str("john@x.com")))
    );
}

#[test]
fn hash_email_hashes_malformed_values_whole() {
    for bad in ["not an email", "@nolocal.com", "nodomain@", "", "a@b@c"] {
        let out = text(run("hash_email", Some(KEY_A), Value::Str(bad)));
        let (local, domain) = out.split_once('@').unwrap();
        assert_eq!(domain, "anonymized.syrf.local", "{bad:?}");
        assert_eq!(local.len(), 16, "{bad:?}");
        assert!(!out.contains(bad) || bad.is_empty());
    }
    let custom = text(run(
        "{transform: hash_email, domain: example.org}",
        Some(KEY_A),
        Value::Str("a@b.c"),
    ));
    assert!(custom.ends_with("@example.org"));
}

#[test]
fn sequential_uses_ordinal_and_keeps_integer_type() {
    assert_eq!(
        text(run("sequential", Some(KEY_A), Value::Str("John"))),
        "User7"
    );
    assert_eq!(
        text(run(
            "{transform: sequential, prefix: 'Person '}",
            Some(KEY_A),
            Value::Str("John")
        )),
        "Person 7"
    );
    assert_eq!(
        text(run("sequential_suffix", Some(KEY_A), Value::Str("Smith"))),
        "7"
    );
    assert_eq!(
        run("sequential_suffix", Some(KEY_A), Value::Int32(1234)),
        Replacement::Int32(7)
    );
    assert_eq!(
        run("sequential_suffix", Some(KEY_A), Value::Int64(1234)),
        Replacement::Int64(7)
    );
}

#[test]
fn fake_is_deterministic_per_key_and_value() {
    for kind in [
        "first_name",
        "last_name",
        "name",
        "email",
        "phone_number",
        "username",
        "company",
        "street_address",
        "city",
        "postcode",
        "country",
        "ipv4",
        "ipv6",
        "user_agent",
        "sentence",
        "paragraph",
        "uuid",
    ] {
        let spec = format!("{{transform: fake, kind: {kind}}}");
        let a = text(run(&spec, Some(KEY_A), Value::Str("Alice Example")));
        let a2 = text(run(&spec, Some(KEY_A), Value::Str("Alice Example")));
        assert_eq!(a, a2, "{kind}");
        assert!(!a.is_empty(), "{kind}");
        assert!(!a.contains("Alice"), "{kind}");
    }
    let e1 = text(run(
        "{transform: fake, kind: email}",
        Some(KEY_A),
        Value::Str("a@x.com"),
    ));
    let e2 = text(run(
        "{transform: fake, kind: email}",
        Some(KEY_A),
        Value::Str("b@x.com"),
    ));
    assert_ne!(e1, e2);
    assert!(e1.contains('@') && e1.split('@').nth(1).unwrap().starts_with("example."));
    let u = text(run(
        "{transform: fake, kind: uuid}",
        Some(KEY_A),
        Value::Str("x"),
    ));
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    let fr = text(run(
        "{transform: fake, kind: city, locale: fr_fr}",
        Some(KEY_A),
        Value::Str("x"),
    ));
    assert!(!fr.is_empty());
}

#[test]
fn digits_keeps_format_and_integer_width() {
    let out = text(run(
        "digits",
        Some(KEY_A),
        Value::Str("+44 (0)20 7946-0958"),
    ));
    assert_eq!(out.len(), "+44 (0)20 7946-0958".len());
    for (a, b) in out.chars().zip("+44 (0)20 7946-0958".chars()) {
        assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
        if !b.is_ascii_digit() {
            assert_eq!(a, b);
        }
    }
    assert_ne!(out, "+44 (0)20 7946-0958");
    match run("digits", Some(KEY_A), Value::Int32(2_000_000_000)) {
        Replacement::Int32(v) => assert_eq!(v.to_string().len(), 10),
        other => panic!("{other:?}"),
    }
    match run("digits", Some(KEY_A), Value::Int64(-123_456)) {
        Replacement::Int64(v) => assert!(v < 0 && v.to_string().len() == 7, "{v}"),
        other => panic!("{other:?}"),
    }
    match run("digits", Some(KEY_A), Value::Number("0012.50")) {
        Replacement::Number(v) => assert_eq!(v.len(), 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mask_keeps_length_and_ends() {
    let spec = "{transform: mask, keep_start: 2, keep_end: 3, char: '#'}";
    assert_eq!(
        text(run(spec, Some(KEY_A), Value::Str("4111111111111111"))),
        "41###########111"
    );
    assert_eq!(text(run("mask", Some(KEY_A), Value::Str("héllo"))), "*****");
    // A value no longer than keep_start + keep_end is masked whole: never returned as it was.
    assert_eq!(text(run(spec, Some(KEY_A), Value::Str("abc"))), "###");
    assert_eq!(text(run(spec, Some(KEY_A), Value::Str("abcde"))), "#####");
    assert_eq!(text(run(spec, Some(KEY_A), Value::Str("abcdef"))), "ab#def");
    assert_eq!(text(run(spec, Some(KEY_A), Value::Str("ü"))), "#");
    assert_eq!(text(run(spec, Some(KEY_A), Value::Str(""))), "");
    assert_eq!(
        run(spec, Some(KEY_A), Value::Bytes(b"a\xffc")),
        Replacement::Bytes(b"###".to_vec())
    );
}

#[test]
fn digits_replaces_digits_of_every_script_in_their_script() {
    for (input, zero) in [
        ("٠١٢٣٤٥٦٧٨٩ ٩٨٧٦٥٤٣٢١٠", 0x660u32), // Arabic-Indic
        ("０１２３４５６７８９-９８７６５４３２１０", 0xFF10), // full-width
        ("۰۱۲۳۴۵۶۷۸۹/۹۸۷۶۵۴۳۲۱۰", 0x6F0),    // Extended Arabic-Indic (Persian)
        ("०१२३४५६७८९ ९८७६५४३२१०", 0x966),    // Devanagari
    ] {
        let out = text(run("digits", Some(KEY_A), Value::Str(input)));
        assert_ne!(out, input);
        assert_eq!(out.chars().count(), input.chars().count());
        for (a, b) in out.chars().zip(input.chars()) {
            let in_script = |c: char| (zero..zero + 10).contains(&(c as u32));
            assert_eq!(in_script(a), in_script(b), "{input} -> {out}");
            if !in_script(b) {
                assert_eq!(a, b);
            }
        }
    }
    // Mixed scripts: each digit stays in its own script; other characters are kept.
    let out = text(run("digits", Some(KEY_A), Value::Str("tel ٠٥ 05 ０５")));
    assert!(out.starts_with("tel "), "{out}");
    let scripts: Vec<u32> = out.chars().skip(4).map(|c| c as u32 & !0xF).collect();
    assert_eq!(
        scripts,
        [0x660, 0x660, 0x20, 0x30, 0x30, 0x20, 0xFF10, 0xFF10]
    );
}

#[test]
fn date_shift_keeps_type_format_and_bounds() {
    let spec = "{transform: date_shift, max_days: 10}";
    let out = text(run(spec, Some(KEY_A), Value::Str("2020-02-15 04:34:33")));
    assert_eq!(out.len(), 19);
    assert_eq!(&out[10..], " 04:34:33");
    assert_ne!(out, "2020-02-15 04:34:33");
    let day: i32 = out[8..10].parse().unwrap();
    assert!(
        out.starts_with("2020-02-") && (5..=25).contains(&day),
        "{out}"
    );
    match run(spec, Some(KEY_A), Value::DateTime(1_600_000_000_000)) {
        Replacement::DateTime(ms) => {
            let diff = (ms - 1_600_000_000_000).abs();
            assert!(diff > 0 && diff <= 10 * 86_400_000 && diff % 86_400_000 == 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(spec, Some(KEY_A), Value::Str("0000-00-00")),
        Replacement::Unchanged
    );
    assert_eq!(
        run(spec, Some(KEY_A), Value::Str("yesterday")),
        Replacement::Null
    );
}

#[test]
fn null_remove_constant_keep() {
    assert_eq!(
        run("'null'", Some(KEY_A), Value::Str("x")),
        Replacement::Null
    );
    assert_eq!(
        run("{transform: null}", Some(KEY_A), Value::Str("x")),
        Replacement::Null
    );
    assert_eq!(
        run("remove", Some(KEY_A), Value::Str("x")),
        Replacement::Remove
    );
    assert_eq!(
        run("keep", Some(KEY_A), Value::Str("x")),
        Replacement::Unchanged
    );
    assert_eq!(
        run(
            "{transform: constant, value: staging}",
            Some(KEY_A),
            Value::Str("production")
        ),
        Replacement::Str("staging".into())
    );
    assert_eq!(
        run(
            "{transform: constant, value: 5}",
            Some(KEY_A),
            Value::Int32(9)
        ),
        Replacement::Int32(5)
    );
    // Null stays null unless the transform is constant.
    assert_eq!(
        run("hash", Some(KEY_A), Value::Null),
        Replacement::Unchanged
    );
    assert_eq!(
        run("{transform: constant, value: x}", Some(KEY_A), Value::Null),
        Replacement::Str("x".into())
    );
}

#[test]
fn types_are_preserved_or_fail_closed() {
    match run(
        "hash",
        Some(KEY_A),
        Value::Binary {
            subtype: 3,
            bytes: &[7; 16],
        },
    ) {
        Replacement::Binary { subtype, bytes } => {
            assert_eq!(subtype, 3);
            assert_eq!(bytes.len(), 16);
            assert_ne!(bytes, vec![7; 16]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(run("hash", Some(KEY_A), Value::Int32(5)), Replacement::Int32(v) if v >= 0));
    assert!(matches!(run("hash", Some(KEY_A), Value::Int64(5)), Replacement::Int64(v) if v >= 0));
    // A transform that cannot apply to a type replaces it with null and counts it.
    let (anon, rule) = anonymizer("hash_email", Some(KEY_A));
    let ctx = RowContext { ordinal: 1 };
    assert_eq!(anon.apply(rule, Value::Int32(5), &ctx), Replacement::Null);
    assert_eq!(anon.apply(rule, Value::Other, &ctx), Replacement::Null);
    assert_eq!(anon.apply(rule, Value::Bool(true), &ctx), Replacement::Null);
    let report = anon.report();
    assert_eq!(report.rules[0].values_seen, 3);
    assert_eq!(report.rules[0].failed_closed, 3);
}

#[test]
fn key_is_never_printed() {
    let key = Key::from_bytes(b"super-secret-key-material").unwrap();
    let dbg = format!("{:?}", KeyMode::Keyed(key));
    assert!(!dbg.contains("super-secret"), "{dbg}");
}

#[test]
fn hash_email_is_unique_across_many_addresses_at_many_domains() {
    let (anon, rule) = anonymizer("hash_email", Some(KEY_A));
    let ctx = RowContext { ordinal: 1 };
    let mut seen = std::collections::HashSet::new();
    let mut buf = Vec::new();
    for n in 0..60_000 {
        let address = format!("info@org{n}.example");
        anon.apply_into(rule, Value::Str(&address), &ctx, &mut buf);
        let (local, _) = std::str::from_utf8(&buf).unwrap().split_once('.').unwrap();
        assert_eq!(local.len(), 16);
        assert!(seen.insert(buf.clone()), "collision at {address}");
    }
    assert_eq!(seen.len(), 60_000);
    // The brief's per-part mode is documented as not unique: the local part alone decides.
    let per_part = "{transform: hash_email, mode: per_part}";
    let a = text(run(per_part, Some(KEY_A), Value::Str("info@org1.example")));
    let b = text(run(per_part, Some(KEY_A), Value::Str("info@org2.example")));
    assert_eq!(a[..16], b[..16]);
}

#[test]
fn hash_email_does_not_link_one_local_part_across_domains() {
    for key in [Some(KEY_A), Some(KEY_B), None] {
        let gmail = text(run("hash_email", key, Value::Str("x@gmail.com")));
        let ucl = text(run("hash_email", key, Value::Str("x@ucl.ac.uk")));
        let shared = gmail
            .bytes()
            .zip(ucl.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        assert!(
            shared < 4,
            "{gmail} / {ucl} share a {shared}-character prefix"
        );
        if key == Some(KEY_A) {
            assert_eq!(shared, 0, "{gmail} / {ucl}");
        }
    }
    // Below 64 bits the default mode refuses (with the place in the file).
    let err = RuleSet::from_yaml(
        "rules:\n  t:\n    fields:\n      e: {transform: hash_email, local_length: 8}\n",
        "t.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("t.yaml:4:") && err.contains("per_part"),
        "{err}"
    );
    let err = RuleSet::from_yaml(
        "rules:\n  t:\n    fields:\n      e: {transform: hash_email, mode: per-part}\n",
        "t.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("did you mean `per_part`"), "{err}");
}

#[test]
fn hash_email_domain_memo_never_mixes_keys() {
    let spec = "{transform: hash_email, domain_length: 64}";
    let (a, rule_a) = anonymizer(spec, Some(KEY_A));
    let (b, rule_b) = anonymizer(spec, Some(KEY_B));
    let (u, rule_u) = anonymizer(spec, None);
    let ctx = RowContext { ordinal: 1 };
    let tag = |r: Replacement| text(r).split_once('.').unwrap().1.to_owned();
    let first_a = tag(a.apply(rule_a, Value::Str("x@memo.example"), &ctx));
    for round in 0..3 {
        let value = Value::Str(if round == 1 {
            "y@memo.example"
        } else {
            "x@memo.example"
        });
        let ta = tag(a.apply(rule_a, value, &ctx));
        let tb = tag(b.apply(rule_b, value, &ctx));
        let tu = tag(u.apply(rule_u, value, &ctx));
        assert_eq!(ta, first_a, "one key, one domain tag");
        assert_ne!(ta, tb);
        assert_ne!(ta, tu);
        assert_ne!(tb, tu);
    }
    // A fresh anonymizer with key A (a new memo owner) computes the same tag.
    let (a2, rule_a2) = anonymizer(spec, Some(KEY_A));
    assert_eq!(
        tag(a2.apply(rule_a2, Value::Str("z@memo.example"), &ctx)),
        first_a
    );
}

#[test]
fn apply_into_gives_what_apply_gives() {
    let (anon, rule) = anonymizer("hash_email", Some(KEY_A));
    let ctx = RowContext { ordinal: 3 };
    let mut buf = b"left over".to_vec();
    for input in ["John@Example.com", "x", "", "ÀB@ÇD.fr"] {
        let written = anon.apply_into(rule, Value::Str(input), &ctx, &mut buf);
        assert_eq!(written, anonymize_core::Written::Str);
        assert_eq!(
            written.to_replacement(&buf),
            anon.apply(rule, Value::Str(input), &ctx)
        );
    }
    assert_eq!(
        anon.apply_into(rule, Value::Int32(1), &ctx, &mut buf),
        anonymize_core::Written::Null
    );
    assert!(buf.is_empty());
}

/// The examples README.md shows, so the documentation stays true.
#[test]
fn readme_examples_hold() {
    let key = Some(&b"readme-example-key-0123456789"[..]);
    let cases: &[(&str, &str, &str)] = &[
        ("hmac", "tok", "a58a7eaf75ff485e44e7cc29fea18900"),
        ("{transform: fake, kind: first_name}", "Alice", "Lew"),
        (
            "{transform: fake, kind: email}",
            "alice@example.com",
            "gina.conroy.c729e9c03d5b@example.net",
        ),
        ("digits", "+44 20 7946-0958", "+14 52 0659-1995"),
        (
            "{transform: mask, keep_start: 2, keep_end: 3}",
            "4111111111111111",
            "41***********111",
        ),
        ("date_shift", "2020-02-15 04:34:33", "2020-03-09 04:34:33"),
    ];
    for (spec, input, expected) in cases {
        assert_eq!(text(run(spec, key, Value::Str(input))), *expected, "{spec}");
    }
}
