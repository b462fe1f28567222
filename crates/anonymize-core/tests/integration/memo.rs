//! The per-thread memo of recent results never changes an output: a value served from it equals
//! the value computed afresh (by a new anonymizer on a new thread, whose memo is empty), whatever the order and
//! repetition of values, and two anonymizers with different keys used in turn on one thread
//! never see each other's results.

use anonymize_core::{Anonymizer, Disposition, Key, KeyMode, RowContext, RuleId, RuleSet, Value};
use proptest::prelude::*;

/// The transforms whose results are memoised, and some that are not.
const SPECS: &[&str] = &[
    "hash",
    "{transform: hash, length: 64}",
    "hmac",
    "hash_email",
    "{transform: hash_email, mode: per_part, local_length: 8}",
    "{transform: fake, kind: first_name}",
    "{transform: fake, kind: name, locale: fr_fr}",
    "{transform: fake, kind: email}",
    "{transform: fake, kind: phone_number}",
    "{transform: fake, kind: city}",
    "digits",
    "date_shift",
    "sequential",
    "mask",
];

/// Values that repeat, as in real data.
const POOL: &[&str] = &[
    "MARY",
    "Mary",
    "mary.smith@sakilacustomer.org",
    "MARY.SMITH@sakilacustomer.org",
    "+44 20 7946-0958",
    "",
    " ",
    "Zoë",
    "2020-02-15 04:34:33",
    "東京",
    "a@b",
];

fn anon(spec: &str, key: &[u8]) -> (Anonymizer, RuleId) {
    let src = format!("rules:\n  t:\n    fields:\n      f: {spec}\n");
    let a = Anonymizer::new(
        RuleSet::from_yaml(&src, "m.yaml").unwrap(),
        KeyMode::Keyed(Key::from_bytes(key).unwrap()),
    )
    .unwrap();
    let Disposition::Keep(plan) = a.resolve(None, "t") else {
        unreachable!()
    };
    let rule = plan.root().unwrap().child(b"f").unwrap().rule().unwrap();
    (a, rule)
}

/// The value's output from a new anonymizer on a new thread (whose memo is empty).
fn fresh(spec: &str, key: &[u8], value: &str, ordinal: u64) -> Vec<u8> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let (a, rule) = anon(spec, key);
            let mut buf = Vec::new();
            let w = a.apply_into(rule, Value::Str(value), &RowContext { ordinal }, &mut buf);
            format!("{w:?}")
                .into_bytes()
                .into_iter()
                .chain(buf)
                .collect()
        })
        .join()
        .unwrap()
    })
}

const KEY_A: &[u8] = b"memo-test-key-aaaaaaaaaaaa";
const KEY_B: &[u8] = b"memo-test-key-bbbbbbbbbbbb";

fn sequence() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::sample::select(POOL).prop_map(str::to_owned),
            1 => "\\PC{0,30}",
        ],
        1..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn repeated_values_give_what_a_fresh_run_gives(
        spec in proptest::sample::select(SPECS),
        values in sequence(),
    ) {
        let (a, rule) = anon(spec, KEY_A);
        let mut buf = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let ordinal = i as u64 + 1;
            let w = a.apply_into(rule, Value::Str(v), &RowContext { ordinal }, &mut buf);
            let got: Vec<u8> = format!("{w:?}").into_bytes().into_iter().chain(buf.clone()).collect();
            prop_assert_eq!(got, fresh(spec, KEY_A, v, ordinal), "{} of {:?}", spec, v);
            // The allocating path agrees too.
            let r = a.apply(rule, Value::Str(v), &RowContext { ordinal });
            prop_assert_eq!(r, w.to_replacement(&buf));
        }
    }

    #[test]
    fn two_keys_on_one_thread_never_share_results(
        spec in proptest::sample::select(SPECS),
        values in sequence(),
    ) {
        let (a, rule_a) = anon(spec, KEY_A);
        let (b, rule_b) = anon(spec, KEY_B);
        let mut buf = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let ctx = RowContext { ordinal: i as u64 + 1 };
            for (anon, rule, key) in [(&a, rule_a, KEY_A), (&b, rule_b, KEY_B)] {
                let w = anon.apply_into(rule, Value::Str(v), &ctx, &mut buf);
                let got: Vec<u8> = format!("{w:?}").into_bytes().into_iter().chain(buf.clone()).collect();
                prop_assert_eq!(got, fresh(spec, key, v, ctx.ordinal), "{} of {:?}", spec, v);
            }
        }
    }
}

/// The memo is really used for the transforms it is meant for (so the properties above test
/// results served from it), and never for `sequential`.
#[test]
fn memo_serves_repeats_of_pure_transforms_only() {
    for spec in SPECS {
        let (a, rule) = anon(spec, KEY_A);
        let mut buf = Vec::new();
        let value = if *spec == "date_shift" {
            "2020-02-15 04:34:33"
        } else {
            "Mary"
        };
        for i in 0..3 {
            a.apply_into(
                rule,
                Value::Str(value),
                &RowContext { ordinal: i + 1 },
                &mut buf,
            );
        }
        let (_, _, hits, misses) = a.memo_counts_this_thread()[0];
        let _ = rule;
        if *spec == "sequential" || *spec == "mask" {
            assert_eq!((hits, misses), (0, 0), "{spec}");
        } else {
            assert_eq!(hits, 2, "{spec}");
        }
    }
}
