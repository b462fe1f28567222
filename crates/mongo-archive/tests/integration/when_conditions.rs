//! Per-collection rule conditions (`rules.<collection>.when`, issue 20.4) on archives built
//! by the tests (and the SyRF-shaped generator), checked with the project's independent
//! verifier: documents for which the condition is false keep every value; every other
//! document's covered values change; a condition that cannot be evaluated (missing field,
//! NULL, another type) applies the rules. Oplog inserts, `$set` updates, replacements and
//! deletes; one thread and several; archives and mongodump directories.

use crate::common;

use bson::{doc, oid::ObjectId, Bson, Document};
use common::*;
use mongo_archive::dir::{write_archive, write_dump_dir, DumpDir};
use mongo_archive::RewriteOptions;

const RULES: &str = "rules:
  app.users:
    when: {Email: {not_ends_with: \"@ourcompany.example\"}}
    fields:
      Email: hash_email
      Name: {transform: constant, value: Someone}
";

fn users() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "Email": "ann@ourcompany.example", "Name": "Ann Staff"},
        doc! {"_id": 2, "Email": "bob@mail.example", "Name": "Bob Person"},
        // No e-mail, NULL, another type: cannot be evaluated, the rules apply.
        doc! {"_id": 3, "Name": "No Email"},
        doc! {"_id": 4, "Email": Bson::Null, "Name": "Null Email"},
        doc! {"_id": 5, "Email": ObjectId::from_bytes([7; 12]), "Name": "Odd Email"},
        // Every address of an array at staff: kept; one other address: the rules apply.
        doc! {"_id": 6, "Email": ["cat@ourcompany.example", "cat2@ourcompany.example"], "Name": "Cat Staff"},
        doc! {"_id": 7, "Email": ["dan@ourcompany.example", "dan@mail.example"], "Name": "Dan Both"},
    ]
}

const KEPT: &[i32] = &[1, 6];

fn entry(op: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": "app.users", "o": o}
}

fn update(set: Document, id: i32) -> Document {
    let mut e = entry("u", doc! {"$set": set});
    e.insert("o2", doc! {"_id": id});
    e
}

fn oplog() -> Vec<Document> {
    vec![
        entry(
            "i",
            doc! {"_id": 10, "Email": "eve@ourcompany.example", "Name": "Eve Staff"},
        ),
        entry(
            "i",
            doc! {"_id": 11, "Email": "fay@mail.example", "Name": "Fay Person"},
        ),
        update(
            doc! {"Email": "ann2@ourcompany.example", "Name": "Ann Two"},
            1,
        ),
        // No condition field in the `$set`: the rules apply.
        update(doc! {"Name": "Ann Renamed"}, 1),
        update(doc! {"Email": "gil@mail.example", "Name": "Gil Person"}, 2),
    ]
}

fn archive() -> Vec<u8> {
    build_archive(&[
        NsDocs::new("app", "users", &users()),
        NsDocs::new("", "oplog", &oplog()),
    ])
}

fn rewrite(input: &[u8], threads: usize) -> (Vec<u8>, anonymize_core::Report) {
    let anon = rules(RULES);
    let opts = RewriteOptions {
        threads,
        ..keep_all()
    };
    let (out, r) = run(input, &anon, &opts);
    r.unwrap_or_else(|e| panic!("{e}"));
    mongo_archive::verify::verify(&out).unwrap();
    (out, anon.report())
}

fn check(out: &[u8], report: &anonymize_core::Report) {
    let before = users();
    let after = docs_of(out, "app.users");
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        let id = b.get_i32("_id").unwrap();
        if KEPT.contains(&id) {
            assert_eq!(a, b, "document {id} changed");
        } else {
            assert_eq!(a.get_str("Name").unwrap(), "Someone", "document {id}: {a}");
            if let Ok(email) = b.get_str("Email") {
                assert_ne!(a.get_str("Email").unwrap(), email);
            }
        }
    }
    let has = |needle: &str| contains(out, needle.as_bytes());
    for kept in [
        "ann@ourcompany.example",
        "cat2@ourcompany.example",
        "eve@ourcompany.example",
        "ann2@ourcompany.example",
        "Ann Two",
        "Eve Staff",
    ] {
        assert!(has(kept), "{kept} was rewritten");
    }
    for gone in [
        "bob@mail.example",
        "Bob Person",
        "No Email",
        "Null Email",
        "Odd Email",
        "dan@mail.example",
        "dan@ourcompany.example",
        "fay@mail.example",
        "Ann Renamed",
        "gil@mail.example",
        "Gil Person",
    ] {
        assert!(!has(gone), "{gone} left in the output");
    }
    let ops = docs_of(out, ".oplog");
    assert_eq!(ops.len(), oplog().len());
    assert_eq!(ops[0], oplog()[0], "a staff insert is kept as it is");
    assert_eq!(ops[2], oplog()[2], "a staff `$set` is kept as it is");
    // Documents 1 and 6; oplog: the insert of 10 and the `$set` of a staff address.
    assert_eq!(report.when_skipped.len(), 1);
    assert_eq!(report.when_skipped[0].table, "app.users");
    assert_eq!(report.when_skipped[0].rows_skipped, 4);
}

#[test]
fn documents_and_oplog_entries_of_staff_keep_their_values() {
    let input = archive();
    for threads in [1, 3] {
        let (out, report) = rewrite(&input, threads);
        check(&out, &report);
    }
}

#[test]
fn a_dump_directory_reads_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    std::fs::create_dir(&root).unwrap();
    write_dump_dir(&archive()[..], &root, true).unwrap();
    let mut stream = Vec::new();
    write_archive(&DumpDir::open(&root).unwrap(), &mut stream).unwrap();
    let (out, report) = rewrite(&stream, 1);
    check(&out, &report);
}

#[test]
fn a_generated_syrf_archive_keeps_the_investigators_the_condition_excludes() {
    let input = mongo_archive::synth::generate_vec(&mongo_archive::synth::SynthConfig {
        target_bytes: 300_000,
        ..Default::default()
    });
    let ns = "syrftest.pmInvestigator";
    let before = docs_of(&input, ns);
    // The rules skip the investigators whose address starts with `a` (exactly: the
    // generator's `A...` variants fail closed and are rewritten).
    let anon = rules(
        "rules:\n  pmInvestigator:\n    when: {Email: {not_starts_with: a}}\n    fields:\n      Email: hash_email\n      FirstName: sequential\n",
    );
    let (out, r) = run(&input, &anon, &keep_all());
    r.unwrap();
    mongo_archive::verify::verify(&out).unwrap();
    let after = docs_of(&out, ns);
    assert_eq!(before.len(), after.len());
    let mut kept = 0;
    for (b, a) in before.iter().zip(&after) {
        match b.get_str("Email") {
            Ok(e) if e.starts_with('a') => {
                kept += 1;
                assert_eq!(a, b);
            }
            Ok(e) => assert_ne!(a.get_str("Email").unwrap(), e),
            Err(_) => {}
        }
    }
    assert!(kept > 0, "the generator made no address starting with a");
    assert_eq!(anon.report().when_skipped[0].rows_skipped, kept);
}

/// `oplog_read`'s operations decide as the rewriter does (what `verify` follows).
#[test]
fn oplog_read_operations_decide_as_the_rewriter() {
    let anon = rules(RULES);
    let anonymize_core::Disposition::Keep(plan) = anon.resolve(Some("app"), "users") else {
        panic!()
    };
    let when = plan.root().unwrap().when().unwrap();
    let mut decisions = Vec::new();
    for e in oplog() {
        let raw = bson::to_vec(&e).unwrap();
        mongo_archive::oplog_read::operations(&raw, &mut |op| {
            decisions.push(op.rules_apply(when));
            Ok(())
        })
        .unwrap();
    }
    assert_eq!(decisions, [false, true, false, true, true]);
}

/// A BSON boolean compares with boolean literals; compared with text it cannot be evaluated
/// (its text has several spellings) and the rules apply.
#[test]
fn booleans_compare_with_boolean_literals_only() {
    let docs = [
        doc! {"_id": 1, "IsStaff": true, "Name": "Staff"},
        doc! {"_id": 2, "IsStaff": false, "Name": "Person"},
    ];
    let input = build_archive(&[NsDocs::new("app", "users", &docs)]);
    let run_with = |when: &str| {
        let anon = rules(&format!(
            "rules:\n  users:\n    when: {when}\n    fields:\n      Name: {{transform: constant, value: x}}\n"
        ));
        let (out, r) = run(&input, &anon, &keep_all());
        r.unwrap();
        docs_of(&out, "app.users")
            .iter()
            .map(|d| d.get_str("Name").unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(run_with("{IsStaff: false}"), ["Staff", "x"]);
    assert_eq!(run_with("{IsStaff: {not: true}}"), ["Staff", "x"]);
    // `"f"` is text: not evaluable on a boolean, so both get the rules.
    assert_eq!(run_with("{IsStaff: \"f\"}"), ["x", "x"]);
}
