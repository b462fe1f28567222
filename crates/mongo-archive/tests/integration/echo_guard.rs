//! The echo guard (issue 18.9) on MongoDB archives: copies of a covered value's original in
//! uncovered strings of the same document (beside it, nested, upper-cased, inside arrays,
//! in oplog inserts) are rewritten with the same pseudonym or nulled, and counted.

use crate::common;

use bson::{doc, Bson, Document};
use common::*;
use mongo_archive::{verify, Patcher, RewriteOptions};

const PEOPLE: &str = "rules:\n  people:\n    fields:\n      FirstName: {transform: fake, kind: first_name}\n      LastName: {transform: fake, kind: last_name}\n      Email: hash_email\n";

fn one(anon: &anonymize_core::Anonymizer, d: Document) -> Document {
    let input = build_archive(&[NsDocs::new("app", "people", &[d])]);
    let (out, r) = run(&input, anon, &RewriteOptions::default());
    r.unwrap();
    verify::verify(&out).unwrap();
    docs_of(&out, "app.people").remove(0)
}

fn person() -> Document {
    doc! {
        "_id": 1,
        "FirstName": "Jonathan",
        "LastName": "Whitfield",
        "Email": "Jonathan.Whitfield@Example.com",
        "DisplayName": "Jonathan Whitfield",
        "Username": "jonathan.whitfield@example.com",
        "Profile": {"Contact": {"Mail": "JONATHAN.WHITFIELD@EXAMPLE.COM", "Phone": "+44 1"}},
        "Aliases": ["jw", "Dr. Whitfield, J."],
        "Bio": "Nothing personal here",
        "Age": 42,
    }
}

#[test]
fn echoes_get_the_same_pseudonyms() {
    let anon = rules(PEOPLE);
    let out = one(&anon, person());
    let first = out.get_str("FirstName").unwrap();
    let last = out.get_str("LastName").unwrap();
    let email = out.get_str("Email").unwrap();
    assert_ne!(first, "Jonathan");
    assert_eq!(
        out.get_str("DisplayName").unwrap(),
        format!("{first} {last}")
    );
    assert_eq!(out.get_str("Username").unwrap(), email);
    let contact = out
        .get_document("Profile")
        .unwrap()
        .get_document("Contact")
        .unwrap();
    assert_eq!(contact.get_str("Mail").unwrap(), email);
    assert_eq!(contact.get_str("Phone").unwrap(), "+44 1");
    let aliases = out.get_array("Aliases").unwrap();
    assert_eq!(aliases[0], Bson::String("jw".into()));
    assert_eq!(aliases[1], Bson::String(format!("Dr. {last}, J.")));
    assert_eq!(out.get_str("Bio").unwrap(), "Nothing personal here");
    assert_eq!(out.get_i32("Age").unwrap(), 42);
    let text = format!("{out:?}").to_lowercase();
    assert!(
        !text.contains("jonathan") && !text.contains("whitfield"),
        "{text}"
    );

    let report = anon.report();
    let fields: Vec<(&str, &str, u64, u64)> = report
        .echoes
        .iter()
        .map(|e| (e.field.as_str(), e.echo_of.as_str(), e.rewritten, e.nulled))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Aliases[]", "LastName", 1, 0),
            ("DisplayName", "FirstName", 1, 0),
            ("Profile.Contact.Mail", "Email", 1, 0),
            ("Username", "Email", 1, 0),
        ]
    );
    assert_eq!(report.echo_count(), 4);
    assert!(report.echoes.iter().all(|e| e.table == "people"));
}

#[test]
fn null_action_nulls_the_whole_value() {
    let anon = rules(&format!("{PEOPLE}echo_guard:\n  action: null\n"));
    let out = one(&anon, person());
    assert_eq!(out.get("DisplayName"), Some(&Bson::Null));
    assert_eq!(out.get("Username"), Some(&Bson::Null));
    let aliases = out.get_array("Aliases").unwrap();
    assert_eq!(aliases[1], Bson::Null);
    assert_eq!(
        anon.report().echoes.iter().map(|e| e.nulled).sum::<u64>(),
        4
    );
}

/// A covered value whose transform gives no text (`null`) cannot lend a pseudonym: its
/// echoes are nulled even with `action: rewrite`.
#[test]
fn echo_of_a_nulled_value_is_nulled() {
    let anon = rules("rules:\n  people:\n    fields:\n      Secret: 'null'\n");
    let out = one(
        &anon,
        doc! {"Secret": "hunter22", "Note": "pw is Hunter22!"},
    );
    assert_eq!(out.get("Secret"), Some(&Bson::Null));
    assert_eq!(out.get("Note"), Some(&Bson::Null));
}

/// Nothing echoes: the patched document is exactly what the rules alone make (the guard
/// adds no change), short originals are not looked for, `keep` values are not touched.
#[test]
fn no_echo_no_change() {
    let anon = rules("rules:\n  people:\n    fields:\n      FirstName: {transform: constant, value: X}\n      Notes: keep\n");
    let d = doc! {"FirstName": "Ann", "Other": "Ann and Anne", "Notes": "x"};
    let out = one(&anon, d.clone());
    assert_eq!(out.get_str("Other").unwrap(), "Ann and Anne");
    let anon = rules("rules:\n  people:\n    fields:\n      FirstName: {transform: constant, value: X}\n      Notes: keep\n");
    let d = doc! {"FirstName": "Annabel", "Other": "unrelated", "Notes": "Annabel's notes"};
    let out = one(&anon, d);
    assert_eq!(out.get_str("Notes").unwrap(), "Annabel's notes");
    assert_eq!(out.get_str("Other").unwrap(), "unrelated");
    assert!(anon.report().echoes.is_empty());
}

/// The patcher gives byte-identical output with and without the guard when nothing echoes.
#[test]
fn patcher_output_is_unchanged_without_echoes() {
    let anon = rules(PEOPLE);
    let anonymize_core::Disposition::Keep(plan) = anon.resolve(Some("app"), "people") else {
        panic!()
    };
    let d = doc! {"FirstName": "Jonathan", "Nested": {"a": [1, "two", {"b": "three"}]}, "Email": "x@y.org"};
    let bytes = bson::to_vec(&d).unwrap();
    let mut p = Patcher::new();
    let out = p
        .patch(
            &bytes,
            plan.root().unwrap(),
            &anon,
            anonymize_core::RowContext { ordinal: 1 },
        )
        .unwrap()
        .unwrap()
        .to_vec();
    let got = Document::from_reader(&out[..]).unwrap();
    assert_eq!(
        got.get_document("Nested").unwrap(),
        d.get_document("Nested").unwrap()
    );
    assert!(anon.report().echoes.is_empty());
}

/// Echoes inside nested documents and arrays fix every enclosing length (the first pass
/// already changed some of them).
#[test]
fn nested_lengths_stay_valid() {
    let anon = rules("rules:\n  people:\n    fields:\n      a.name: {transform: constant, value: 'Someone Else Entirely'}\n");
    let d =
        doc! {"a": {"name": "Jonathan", "x": [{"y": "hi Jonathan!"}, "jonathan"]}, "z": "JONATHAN"};
    let out = one(&anon, d);
    assert_eq!(
        out,
        doc! {"a": {"name": "Someone Else Entirely", "x": [{"y": "hi Someone Else Entirely!"}, "Someone Else Entirely"]}, "z": "Someone Else Entirely"}
    );
}

/// Oplog insert entries: the guard looks at the inserted document with its own originals.
#[test]
fn oplog_inserts_are_guarded() {
    let entry = |o: Document| {
        doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": "i", "ns": "app.people", "ui": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] }), "o2": {"_id": 1}, "o": o}
    };
    let mut ns = vec![NsDocs::new("app", "people", &[])];
    let mut oplog = NsDocs::new(
        "",
        "oplog",
        &[
            entry(person()),
            entry(doc! {"_id": 2, "DisplayName": "Jonathan Whitfield"}),
        ],
    );
    oplog.metadata = String::new();
    ns.push(oplog);
    let input = build_archive(&ns);
    let anon = rules(PEOPLE);
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    r.unwrap();
    let ops = docs_of(&out, ".oplog");
    let o = ops[0].get_document("o").unwrap();
    let first = o.get_str("FirstName").unwrap();
    let last = o.get_str("LastName").unwrap();
    assert_eq!(o.get_str("DisplayName").unwrap(), format!("{first} {last}"));
    assert_eq!(o.get_str("Username").unwrap(), o.get_str("Email").unwrap());
    // The second insert has no covered value: its originals are its own (none).
    let o = ops[1].get_document("o").unwrap();
    assert_eq!(o.get_str("DisplayName").unwrap(), "Jonathan Whitfield");
    assert_eq!(ops[0].get_str("ns").unwrap(), "app.people");
}

/// With `threads` (documents patched on workers) the output and the echo counts are those of
/// one thread.
#[test]
fn same_with_threads() {
    let docs: Vec<Document> = (0..200)
        .map(|i| {
            let mut d = person();
            d.insert("_id", i);
            d.insert("FirstName", format!("Jonathan{i}"));
            d.insert("DisplayName", format!("Dr Jonathan{i} Whitfield"));
            d
        })
        .collect();
    let input = build_archive(&[NsDocs::new("app", "people", &docs)]);
    let serial_anon = rules(PEOPLE);
    let (serial, r) = run(&input, &serial_anon, &RewriteOptions::default());
    r.unwrap();
    for threads in [2, 4] {
        let anon = rules(PEOPLE);
        let (out, r) = run(
            &input,
            &anon,
            &RewriteOptions {
                threads,
                ..Default::default()
            },
        );
        r.unwrap();
        assert!(out == serial, "{threads} threads");
        assert_eq!(anon.report().echoes, serial_anon.report().echoes);
    }
    assert_eq!(serial_anon.report().echo_count(), 800);
}
