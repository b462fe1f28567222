//! `hash` and `hmac` on integers (issue 18.6): a keyed permutation of each integer type's
//! range, so distinct ids never collide, the type and sign are kept, and the output depends
//! on the key. `hash` on text is unchanged (pinned by `pinned_outputs`).

use std::collections::HashSet;

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleId, RuleSet, Value,
};
use proptest::prelude::*;

fn anon(spec: &str, key: Option<&[u8]>) -> (Anonymizer, RuleId) {
    let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
    let mode = match key {
        Some(k) => KeyMode::Keyed(Key::from_bytes(k).unwrap()),
        None => KeyMode::Unkeyed,
    };
    let a = Anonymizer::new(RuleSet::from_yaml(&src, "p.yaml").unwrap(), mode).unwrap();
    let Disposition::Keep(plan) = a.resolve(None, "t") else {
        unreachable!()
    };
    let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
    (a, rule)
}

const KEY: &[u8] = b"integer-ids-test-key-0123";
const OTHER: &[u8] = b"integer-ids-test-key-4567";

fn i32_of(a: &Anonymizer, rule: RuleId, v: i32) -> i32 {
    match a.apply(rule, Value::Int32(v), &RowContext { ordinal: 1 }) {
        Replacement::Int32(o) => o,
        other => panic!("{v} -> {other:?}"),
    }
}

fn i64_of(a: &Anonymizer, rule: RuleId, v: i64) -> i64 {
    match a.apply(rule, Value::Int64(v), &RowContext { ordinal: 1 }) {
        Replacement::Int64(o) => o,
        other => panic!("{v} -> {other:?}"),
    }
}

/// The case, scaled down: 20,000 consecutive int32 ids (and the same count spread
/// over the whole range) give as many distinct int32 outputs.
#[test]
fn distinct_int32_ids_never_collide() {
    for spec in ["hash", "hmac"] {
        let (a, rule) = anon(spec, Some(KEY));
        let mut seen = HashSet::new();
        for v in 1..=20_000 {
            assert!(seen.insert(i32_of(&a, rule, v)), "{spec}: {v} collides");
        }
        let mut seen = HashSet::new();
        let step = (u32::MAX / 20_000) as i64;
        for k in 0..20_000i64 {
            let v = (i32::MIN as i64 + k * step) as i32;
            assert!(seen.insert(i32_of(&a, rule, v)), "{spec}: {v} collides");
        }
    }
}

/// Int32 and int64 of the same number give the same number (references between types
/// stay consistent), and a SQL literal of an unsigned 64-bit value stays one.
#[test]
fn same_number_same_output_across_types() {
    let (a, rule) = anon("hash", Some(KEY));
    for v in [0, 1, 127, 128, 65_535, 1 << 24, i32::MAX, -1, i32::MIN] {
        assert_eq!(i32_of(&a, rule, v) as i64, i64_of(&a, rule, v as i64));
        let text = v.to_string();
        assert_eq!(
            a.apply(rule, Value::Number(&text), &RowContext { ordinal: 1 }),
            Replacement::Int64(i64_of(&a, rule, v as i64))
        );
    }
    let Replacement::Number(big) = a.apply(
        rule,
        Value::Number("18446744073709551615"),
        &RowContext { ordinal: 1 },
    ) else {
        panic!()
    };
    assert!(big.parse::<u64>().unwrap() >= 1 << 63);
    assert_ne!(big, "18446744073709551615");
}

/// The ranges of the common integer column types map onto themselves.
#[test]
fn sql_column_ranges_are_kept() {
    let (a, rule) = anon("hash", Some(KEY));
    let ranges: [(i64, i64); 8] = [
        (-128, 127),
        (0, 255),
        (-32_768, 32_767),
        (0, 65_535),
        (-8_388_608, 8_388_607),
        (0, 16_777_215),
        (i32::MIN as i64, i32::MAX as i64),
        (0, u32::MAX as i64),
    ];
    for (lo, hi) in ranges {
        for v in [lo, lo + 1, lo / 2, -1, 0, 1, hi / 2, hi - 1, hi] {
            if !(lo..=hi).contains(&v) {
                continue;
            }
            let o = i64_of(&a, rule, v);
            assert!((lo..=hi).contains(&o), "{v} in {lo}..={hi} gave {o}");
        }
    }
}

proptest! {
    /// Bijective on samples: distinct inputs, distinct outputs; sign kept; deterministic.
    #[test]
    fn int64_permutation_is_injective_and_keeps_sign(
        vs in proptest::collection::hash_set(any::<i64>(), 1..200)
    ) {
        let (a, rule) = anon("hash", Some(KEY));
        let outs: HashSet<i64> = vs.iter().map(|&v| {
            let o = i64_of(&a, rule, v);
            assert_eq!(o < 0, v < 0);
            assert_eq!(o, i64_of(&a, rule, v));
            o
        }).collect();
        prop_assert_eq!(outs.len(), vs.len());
    }

    /// Another key gives another permutation (almost every value moves).
    #[test]
    fn different_per_key(vs in proptest::collection::hash_set(any::<i32>(), 50..100)) {
        let (a, ra) = anon("hash", Some(KEY));
        let (b, rb) = anon("hash", Some(OTHER));
        let (u, ru) = anon("hash", None);
        let same = vs.iter().filter(|&&v| i32_of(&a, ra, v) == i32_of(&b, rb, v)).count();
        prop_assert!(same <= 2, "{same} of {} equal across keys", vs.len());
        let same = vs.iter().filter(|&&v| i32_of(&a, ra, v) == i32_of(&u, ru, v)).count();
        prop_assert!(same <= 2, "{same} of {} equal keyed and unkeyed", vs.len());
    }
}
