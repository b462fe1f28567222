//! The zero-copy patcher's semantics, checked by decoding with the bson crate.

use crate::common;

use anonymize_core::{Anonymizer, Disposition, RowContext};
use bson::{doc, Bson, Document};
use common::*;
use mongo_archive::{verify, ErrorKind, Patcher};

fn patch(anon: &Anonymizer, input: &Document) -> Option<Document> {
    let Disposition::Keep(plan) = anon.resolve(None, "c") else {
        panic!()
    };
    let bytes = bson::to_vec(input).unwrap();
    let mut p = Patcher::new();
    p.patch(
        &bytes,
        plan.root().unwrap(),
        anon,
        RowContext { ordinal: 7 },
    )
    .unwrap()
    .map(|out| Document::from_reader(out).unwrap())
}

fn rule(path: &str, t: &str) -> Anonymizer {
    rules(&format!("rules:\n  c:\n    fields:\n      {path}: {t}\n"))
}

#[test]
fn untouched_documents_are_not_copied() {
    let anon = rule("email", "{transform: constant, value: X}");
    assert_eq!(
        patch(
            &anon,
            &doc! {"a": 1, "b": {"email": "nested, not the path"}}
        ),
        None
    );
}

#[test]
fn nested_paths_and_lengths() {
    let anon = rule(
        "a.b.c",
        "{transform: constant, value: a much longer replacement string}",
    );
    let got = patch(
        &anon,
        &doc! {"x": 1, "a": {"y": [1, 2], "b": {"c": "s", "d": true}, "z": "after"}, "w": 2},
    )
    .unwrap();
    assert_eq!(
        got,
        doc! {"x": 1, "a": {"y": [1, 2], "b": {"c": "a much longer replacement string", "d": true}, "z": "after"}, "w": 2}
    );
}

#[test]
fn arrays_follow_query_semantics() {
    let anon = rule("regs.email", "{transform: constant, value: X}");
    let got = patch(
        &anon,
        &doc! {"regs": [{"email": "a"}, {"email": "b", "k": 1}, 5, {"other": 1}]},
    )
    .unwrap();
    // A scalar element where the rule expects sub-documents is nulled (fail closed).
    assert_eq!(
        got,
        doc! {"regs": [{"email": "X"}, {"email": "X", "k": 1}, Bson::Null, {"other": 1}]}
    );
    // A numeric step picks one element.
    let anon = rule("authors.1.email", "{transform: constant, value: X}");
    let got = patch(
        &anon,
        &doc! {"authors": [{"email": "a"}, {"email": "b"}, {"email": "c"}]},
    )
    .unwrap();
    assert_eq!(
        got,
        doc! {"authors": [{"email": "a"}, {"email": "X"}, {"email": "c"}]}
    );
    // A rule on an array of scalars applies to each element (per-value transforms).
    let anon = rule("tags", "{transform: mask}");
    let got = patch(&anon, &doc! {"tags": ["ab", "cde"]}).unwrap();
    assert_eq!(got, doc! {"tags": ["**", "***"]});
}

#[test]
fn remove_deletes_fields_and_nulls_array_elements() {
    let anon = rule("secret", "remove");
    assert_eq!(
        patch(&anon, &doc! {"a": 1, "secret": "s", "b": 2}).unwrap(),
        doc! {"a": 1, "b": 2}
    );
    // A whole array removed at once.
    assert_eq!(
        patch(&anon, &doc! {"secret": ["s", "t"], "b": 2}).unwrap(),
        doc! {"b": 2}
    );
    let anon = rule("list.1", "remove");
    assert_eq!(
        patch(&anon, &doc! {"list": ["a", "b", "c"]}).unwrap(),
        doc! {"list": ["a", Bson::Null, "c"]}
    );
    let anon = rule("n", "null");
    assert_eq!(
        patch(&anon, &doc! {"n": {"deep": 1}}).unwrap(),
        doc! {"n": Bson::Null}
    );
}

#[test]
fn types_are_mapped_both_ways() {
    // sequential_suffix keeps integers integers, and turns strings into digit strings.
    let anon = rule("n", "sequential_suffix");
    assert_eq!(
        patch(&anon, &doc! {"n": 5i32}).unwrap().get("n"),
        Some(&Bson::Int32(7))
    );
    assert_eq!(
        patch(&anon, &doc! {"n": 5i64}).unwrap().get("n"),
        Some(&Bson::Int64(7))
    );
    assert_eq!(
        patch(&anon, &doc! {"n": "Smith"})
            .unwrap()
            .get_str("n")
            .unwrap(),
        "7"
    );
    // Binary keeps subtype and length under hash.
    let anon = rule("b", "hash");
    let bin = Bson::Binary(bson::Binary {
        subtype: bson::spec::BinarySubtype::UuidOld,
        bytes: vec![1; 16],
    });
    match patch(&anon, &doc! {"b": bin.clone()}).unwrap().get("b") {
        Some(Bson::Binary(b)) => {
            assert_eq!(b.subtype, bson::spec::BinarySubtype::UuidOld);
            assert_eq!(b.bytes.len(), 16);
            assert_ne!(b.bytes, vec![1; 16]);
        }
        other => panic!("{other:?}"),
    }
    // Types a transform cannot handle fail closed to null.
    assert_eq!(
        patch(&anon, &doc! {"b": bson::oid::ObjectId::from_bytes([3; 12])})
            .unwrap()
            .get("b"),
        Some(&Bson::Null)
    );
    // A constant of another type changes the type.
    let anon = rule("b", "{transform: constant, value: 5}");
    assert!(matches!(
        patch(&anon, &doc! {"b": "x"}).unwrap().get("b"),
        Some(Bson::Int64(5) | Bson::Int32(5))
    ));
    // Dates shift and stay dates.
    let anon = rule("d", "date_shift");
    assert!(matches!(
        patch(
            &anon,
            &doc! {"d": bson::DateTime::from_millis(1_600_000_000_000)}
        )
        .unwrap()
        .get("d"),
        Some(Bson::DateTime(_))
    ));
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    let anon = rule("a", "hash");
    let Disposition::Keep(plan) = anon.resolve(None, "c") else {
        panic!()
    };
    let good = bson::to_vec(&doc! {"a": "x", "b": {"c": 1}}).unwrap();
    let mut p = Patcher::new();
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            let _ = p.patch(&bad, plan.root().unwrap(), &anon, RowContext { ordinal: 1 });
        }
        let _ = p.patch(
            &good[..i],
            plan.root().unwrap(),
            &anon,
            RowContext { ordinal: 1 },
        );
    }
}

#[test]
fn timeseries_rules_are_an_error_and_exclusion_drops_buckets() {
    let Some(input) = real_archive("mongo-tools_timeseries_dump_2021.archive") else {
        return;
    };
    let (out, r) = run(
        &input,
        &rules("rules:\n  foo_ts:\n    fields:\n      m: hash\n"),
        &keep_all(),
    );
    let err = r.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::TimeseriesRules), "{err}");
    assert_eq!(err.namespace.as_deref(), Some("timeseries_test.foo_ts"));
    assert!(verify::verify(&out).is_err());

    let (out, r) = run(&input, &rules("exclusions:\n  - foo_ts\n"), &keep_all());
    r.unwrap();
    let v = verify::verify(&out).unwrap();
    assert!(v
        .namespace("timeseries_test.system.buckets.foo_ts")
        .is_none());
    assert!(!v.prelude.iter().any(|p| p.collection == "foo_ts"));
    assert!(v.namespace("admin.system.version").is_some());

    // Selecting it keeps its buckets.
    let opts = mongo_archive::RewriteOptions {
        collections: Some(vec!["timeseries_test.foo_ts".into()]),
        ..Default::default()
    };
    let (out, r) = run(&input, &empty(), &opts);
    r.unwrap();
    let v = verify::verify(&out).unwrap();
    assert_eq!(v.namespaces.len(), 1);
    assert_eq!(
        v.namespace("timeseries_test.system.buckets.foo_ts")
            .unwrap()
            .docs,
        10
    );
}

/// Arrays nested deeper than the walker follows under a rule path are an error, not a crash.
#[test]
fn deep_nesting_under_a_rule_path_is_refused_without_a_crash() {
    let anon = rule("regs.email", "{transform: constant, value: X}");
    let nested = |depth: usize| {
        let mut v = Bson::Document(doc! {"email": "deep@example.com"});
        for _ in 0..depth {
            v = Bson::Array(vec![v]);
        }
        doc! {"regs": v}
    };
    let got = patch(&anon, &nested(50)).unwrap();
    assert!(!bson::to_vec(&got).unwrap().windows(4).any(|w| w == b"deep"));
    let Disposition::Keep(plan) = anon.resolve(None, "c") else {
        panic!()
    };
    // 5000 levels, built by hand (the bson crate recurses).
    let mut value = bson::to_vec(&doc! {"email": "deep@example.com"}).unwrap();
    let mut ty = 0x03u8;
    for _ in 0..5000 {
        let mut array = ((value.len() + 8) as i32).to_le_bytes().to_vec();
        array.extend_from_slice(&[ty, b'0', 0]);
        array.extend_from_slice(&value);
        array.push(0);
        value = array;
        ty = 0x04;
    }
    let mut bytes = ((value.len() + 11) as i32).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"\x04regs\0");
    bytes.extend_from_slice(&value);
    bytes.push(0);
    let err = Patcher::new()
        .patch(
            &bytes,
            plan.root().unwrap(),
            &anon,
            RowContext { ordinal: 1 },
        )
        .unwrap_err();
    assert!(err.to_string().contains("nested more than"), "{err}");
    assert!(!err.to_string().contains("deep@"), "{err}");
}
