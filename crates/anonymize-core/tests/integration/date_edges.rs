//! `date_shift` at the edges of the representable range (issue 18.7): .NET's
//! `DateTime.MinValue`/`MaxValue` sentinels stay as they are, and no date inside years
//! 1-9999 is shifted out of them (the shift goes the other way instead).

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleId, RuleSet, Value,
};
use proptest::prelude::*;

const MIN_MS: i64 = -62_135_596_800_000;
const MAX_MS: i64 = 253_402_300_799_999;
const DAY: i64 = 86_400_000;

fn anon(max_days: u32) -> (Anonymizer, RuleId) {
    let src = format!(
        "rules:\n  t:\n    fields:\n      f: {{transform: date_shift, max_days: {max_days}}}\n"
    );
    let key = Key::from_bytes(b"date-edges-test-key-0123").unwrap();
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

fn apply(a: &Anonymizer, rule: RuleId, v: Value<'_>) -> Replacement {
    a.apply(rule, v, &RowContext { ordinal: 1 })
}

#[test]
fn dotnet_sentinels_are_kept() {
    let (a, rule) = anon(36_500);
    for text in [
        "0001-01-01T00:00:00",
        "0001-01-01 00:00:00",
        "0001-01-01T00:00:00.0000000Z",
        "0001-01-01",
        "9999-12-31T23:59:59.9999999",
        "9999-12-31 23:59:59",
        "9999-12-31T23:59:59.9999999+00:00",
        "9999-12-31",
    ] {
        assert_eq!(
            apply(&a, rule, Value::Str(text)),
            Replacement::Unchanged,
            "{text}"
        );
    }
    for ms in [MIN_MS, MAX_MS, MAX_MS - 999, MAX_MS + 1 - DAY] {
        assert_eq!(
            apply(&a, rule, Value::DateTime(ms)),
            Replacement::Unchanged,
            "{ms}"
        );
    }
    let report = a.report();
    assert_eq!(report.rules[0].values_changed, 0);
    assert_eq!(report.rules[0].failed_closed, 0);
}

#[test]
fn dates_next_to_the_edges_stay_inside() {
    let (a, rule) = anon(36_500);
    for text in [
        "0001-01-02",
        "0001-02-03T10:00:00",
        "9999-12-30 12:00:00",
        "9998-06-01",
    ] {
        let Replacement::Str(out) = apply(&a, rule, Value::Str(text)) else {
            panic!("{text}")
        };
        assert_ne!(out, text);
        let year: u32 = out[..4].parse().unwrap();
        assert!((1..=9999).contains(&year), "{text} -> {out}");
        assert_eq!(out[10..], text[10..]);
    }
    for ms in [
        MIN_MS + DAY,
        MIN_MS + 3 * DAY + 5,
        MAX_MS - DAY,
        MAX_MS - 40 * DAY,
    ] {
        let Replacement::DateTime(out) = apply(&a, rule, Value::DateTime(ms)) else {
            panic!("{ms}")
        };
        assert_ne!(out, ms);
        assert!((MIN_MS..=MAX_MS).contains(&out), "{ms} -> {out}");
        assert_eq!((out - ms) % DAY, 0);
    }
}

/// BSON dates outside years 1-9999 (the BSON range is wider) are still shifted, never
/// overflowing: nothing is kept silently and nothing panics.
#[test]
fn bson_extremes_are_shifted_without_overflow() {
    let (a, rule) = anon(30);
    for ms in [i64::MIN, i64::MIN + 1, MIN_MS - 1, MAX_MS + 1, i64::MAX] {
        let Replacement::DateTime(out) = apply(&a, rule, Value::DateTime(ms)) else {
            panic!("{ms}")
        };
        assert_ne!(out, ms);
        assert_eq!((out as i128 - ms as i128) % DAY as i128, 0);
    }
}

proptest! {
    #[test]
    fn never_leaves_years_1_to_9999(ms in MIN_MS..=MAX_MS, max_days in 1u32..=36_500) {
        let (a, rule) = anon(max_days);
        match apply(&a, rule, Value::DateTime(ms)) {
            Replacement::Unchanged => {
                prop_assert!(!(MIN_MS + DAY..=MAX_MS - DAY).contains(&ms));
            }
            Replacement::DateTime(out) => {
                prop_assert!((MIN_MS..=MAX_MS).contains(&out));
                let days = (out - ms) / DAY;
                prop_assert!(days != 0 && days.unsigned_abs() <= max_days as u64);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }
}
