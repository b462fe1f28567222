//! Property tests of the transforms.

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleSet, Value,
};
use proptest::prelude::*;

fn anon(spec: &str) -> (Anonymizer, anonymize_core::RuleId) {
    let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
    let key = Key::from_bytes(b"property-test-key-0123").unwrap();
    let a = Anonymizer::new(
        RuleSet::from_yaml(&src, "p.yaml").unwrap(),
        KeyMode::Keyed(key),
    )
    .unwrap();
    let Disposition::Keep(plan) = a.resolve(None, "t") else {
        unreachable!()
    };
    let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
    (a, rule)
}

fn is_valid_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && domain == "anonymized.syrf.local"
}

proptest! {
    #[test]
    fn hash_email_always_yields_a_valid_address(input in ".*") {
        let (a, rule) = anon("hash_email");
        let out = a.apply(rule, Value::Str(&input), &RowContext { ordinal: 1 });
        let Replacement::Str(s) = out else { panic!("{out:?}") };
        prop_assert!(is_valid_address(&s), "{s}");
    }

    #[test]
    fn hash_email_ignores_case(local in "[A-Za-z0-9._%+-]{1,20}", domain in "[A-Za-z0-9-]{1,10}\\.[A-Za-z]{2,5}") {
        let (a, rule) = anon("hash_email");
        let ctx = RowContext { ordinal: 1 };
        let mixed = format!("{local}@{domain}");
        prop_assert_eq!(
            a.apply(rule, Value::Str(&mixed), &ctx),
            a.apply(rule, Value::Str(&mixed.to_lowercase()), &ctx)
        );
    }

    #[test]
    fn digits_keeps_length_and_non_digits(input in "[0-9 ()+.-]{0,30}|\\PC{0,30}") {
        let (a, rule) = anon("digits");
        let Replacement::Str(out) = a.apply(rule, Value::Str(&input), &RowContext { ordinal: 1 }) else { panic!() };
        prop_assert_eq!(out.chars().count(), input.chars().count());
        for (o, i) in out.chars().zip(input.chars()) {
            // Digits of any script stay digits of the same script; everything else is kept.
            prop_assert_eq!(o.is_ascii_digit(), i.is_ascii_digit());
            prop_assert_eq!(o.is_numeric(), i.is_numeric());
            prop_assert_eq!(o.len_utf8(), i.len_utf8());
            if !i.is_numeric() { prop_assert_eq!(o, i); }
        }
    }

    #[test]
    fn digits_on_integers_keeps_sign_and_width(v in any::<i32>()) {
        let (a, rule) = anon("digits");
        let Replacement::Int32(out) = a.apply(rule, Value::Int32(v), &RowContext { ordinal: 1 }) else { panic!() };
        prop_assert_eq!(out.unsigned_abs().to_string().len(), v.unsigned_abs().to_string().len());
        prop_assert_eq!(out < 0, v < 0);
    }

    #[test]
    fn mask_keeps_char_count(input in "\\PC{0,40}", start in 0usize..5, end in 0usize..5) {
        let (a, rule) = anon(&format!("{{transform: mask, keep_start: {start}, keep_end: {end}}}"));
        let Replacement::Str(out) = a.apply(rule, Value::Str(&input), &RowContext { ordinal: 1 }) else { panic!() };
        prop_assert_eq!(out.chars().count(), input.chars().count());
        // The middle is masked and the kept ends are the input's; a value no longer than
        // both ends together is masked whole (at least one character is always masked).
        let n = input.chars().count();
        let whole = n <= start + end;
        for (i, (o, c)) in out.chars().zip(input.chars()).enumerate() {
            let masked = whole || (i >= start && i < n - end);
            prop_assert_eq!(o, if masked { '*' } else { c });
        }
    }

    #[test]
    fn hash_binary_keeps_subtype_and_length(subtype in 0u8..10, bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let (a, rule) = anon("hash");
        let out = a.apply(rule, Value::Binary { subtype, bytes: &bytes }, &RowContext { ordinal: 1 });
        let Replacement::Binary { subtype: s, bytes: b } = out else { panic!() };
        prop_assert_eq!(s, subtype);
        prop_assert_eq!(b.len(), bytes.len());
    }

    #[test]
    fn date_shift_stays_a_date(y in 1900i64..2100, m in 1u32..=12, d in 1u32..=28) {
        let (a, rule) = anon("date_shift");
        let input = format!("{y:04}-{m:02}-{d:02}");
        let Replacement::Str(out) = a.apply(rule, Value::Str(&input), &RowContext { ordinal: 1 }) else { panic!() };
        prop_assert_eq!(out.len(), 10);
        prop_assert_ne!(&out, &input);
        prop_assert_eq!(&out[4..5], "-");
    }

    #[test]
    fn rules_parser_never_panics(src in "\\PC{0,200}") {
        let _ = RuleSet::from_yaml(&src, "fuzz.yaml");
    }
}
