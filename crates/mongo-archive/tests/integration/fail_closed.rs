//! Issue 7 (MongoDB): a value a rule covers never survives silently. Each test builds its
//! archive by hand, runs the rewriter and checks the output with the independent verifier.

use crate::common;

use bson::{doc, Bson, Document};
use common::*;
use mongo_archive::{ErrorKind, NamespaceAction, OplogError, OplogMode, RewriteOptions};

fn failed_closed(anon: &anonymize_core::Anonymizer, path: &str) -> u64 {
    anon.report()
        .rules
        .iter()
        .find(|r| r.path == path)
        .unwrap()
        .failed_closed
}

fn entry(op: &str, ns: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": ns, "o": o}
}

fn with_oplog(collections: Vec<NsDocs>, entries: &[Document]) -> Vec<u8> {
    let mut all = collections;
    all.push(NsDocs::new("", "oplog", entries));
    build_archive(&all)
}

/// Runs `input` and returns the output, checked by the verifier; panics on an error.
fn rewrite_ok(input: &[u8], anon: &anonymize_core::Anonymizer) -> Vec<u8> {
    let (out, r) = run(input, anon, &keep_all());
    r.unwrap_or_else(|e| panic!("{e}"));
    mongo_archive::verify::verify(&out).unwrap();
    out
}

const PEOPLE: &str = "rules:\n  people:\n    fields:\n      FullName.First: {transform: constant, value: F}\n      Registrations.Email: {transform: constant, value: E}\n";

#[test]
fn scalar_where_a_rule_expects_a_sub_document_is_nulled_and_counted() {
    let input = build_archive(&[NsDocs::new(
        "app",
        "people",
        &[
            doc! {"_id": 1, "FullName": "Jane Smith", "Registrations": ["bare@example.com", {"Email": "in@example.com"}, Bson::Null, 7]},
            doc! {"_id": 2, "FullName": {"First": "Ann", "Last": "Lee"}, "Registrations": {"Email": "one@example.com"}},
            doc! {"_id": 3, "FullName": Bson::Null, "Registrations": [["nested@example.com"]]},
            doc! {"_id": 4, "FullName": ["Array Name", {"First": "Bo"}]},
        ],
    )]);
    let anon = rules(PEOPLE);
    let out = rewrite_ok(&input, &anon);
    for leaked in [
        &b"Jane Smith"[..],
        b"bare@example.com",
        b"in@example.com",
        b"one@example.com",
        b"nested@example.com",
        b"Array Name",
        b"Ann",
    ] {
        assert!(
            !contains(&out, leaked),
            "{}",
            String::from_utf8_lossy(leaked)
        );
    }
    let docs = docs_of(&out, "app.people");
    assert_eq!(
        docs[0],
        doc! {"_id": 1, "FullName": Bson::Null, "Registrations": [Bson::Null, {"Email": "E"}, Bson::Null, Bson::Null]}
    );
    assert_eq!(
        docs[1],
        doc! {"_id": 2, "FullName": {"First": "F", "Last": "Lee"}, "Registrations": {"Email": "E"}}
    );
    assert_eq!(
        docs[2],
        doc! {"_id": 3, "FullName": Bson::Null, "Registrations": [[Bson::Null]]}
    );
    assert_eq!(
        docs[3],
        doc! {"_id": 4, "FullName": [Bson::Null, {"First": "F"}]}
    );
    // Jane's name, Array Name; the bare email, 7, the nested one.
    assert_eq!(failed_closed(&anon, "FullName.First"), 2);
    assert_eq!(failed_closed(&anon, "Registrations.Email"), 3);
}

#[test]
fn an_index_rule_leaves_other_scalar_elements_alone() {
    let input = build_archive(&[NsDocs::new(
        "app",
        "papers",
        &[doc! {"Authors": ["first@example.com", "second", {"Email": "x"}]}],
    )]);
    let anon = rules(
        "rules:\n  papers:\n    fields:\n      Authors.0.Email: {transform: constant, value: E}\n",
    );
    let out = rewrite_ok(&input, &anon);
    assert_eq!(
        docs_of(&out, "app.papers")[0],
        doc! {"Authors": [Bson::Null, "second", {"Email": "x"}]}
    );
    assert_eq!(failed_closed(&anon, "Authors.0.Email"), 1);
}

#[test]
fn scalar_where_a_rule_expects_a_sub_document_in_oplog_updates() {
    let input = with_oplog(
        vec![NsDocs::new("app", "people", &[doc! {"_id": 1}])],
        &[
            entry(
                "u",
                "app.people",
                doc! {"$set": {"FullName": "Jane Smith", "other": "kept"}},
            ),
            entry(
                "u",
                "app.people",
                doc! {"$set": {"Registrations.0": "bare@example.com"}},
            ),
            entry(
                "u",
                "app.people",
                doc! {"$v": 2, "diff": {"u": {"FullName": "Jane Diff"}}},
            ),
            entry(
                "u",
                "app.people",
                doc! {"$v": 2, "diff": {"sRegistrations": {"a": true, "u1": "arr@example.com"}}},
            ),
            entry("i", "app.people", doc! {"_id": 2, "FullName": "Ins Name"}),
        ],
    );
    let anon = rules(PEOPLE);
    let out = rewrite_ok(&input, &anon);
    for leaked in [
        &b"Jane Smith"[..],
        b"bare@example.com",
        b"Jane Diff",
        b"arr@example.com",
        b"Ins Name",
    ] {
        assert!(
            !contains(&out, leaked),
            "{}",
            String::from_utf8_lossy(leaked)
        );
    }
    let o: Vec<Document> = docs_of(&out, ".oplog")
        .iter()
        .map(|e| e.get_document("o").unwrap().clone())
        .collect();
    assert_eq!(
        o[0],
        doc! {"$set": {"FullName": Bson::Null, "other": "kept"}}
    );
    assert_eq!(o[1], doc! {"$set": {"Registrations.0": Bson::Null}});
    assert_eq!(
        o[2],
        doc! {"$v": 2, "diff": {"u": {"FullName": Bson::Null}}}
    );
    assert_eq!(
        o[3],
        doc! {"$v": 2, "diff": {"sRegistrations": {"a": true, "u1": Bson::Null}}}
    );
    assert_eq!(o[4], doc! {"_id": 2, "FullName": Bson::Null});
    assert_eq!(failed_closed(&anon, "FullName.First"), 3);
    assert_eq!(failed_closed(&anon, "Registrations.Email"), 2);
}

#[test]
fn noop_entries_are_routed_by_namespace() {
    let input = with_oplog(
        vec![
            NsDocs::new("app", "users", &[doc! {"_id": 1}]),
            NsDocs::new("app", "secrets", &[doc! {"_id": 1}]),
            NsDocs::new("app", "other", &[doc! {"_id": 1}]),
        ],
        &[
            // Pre- and post-images of a retryable findAndModify: whole documents.
            doc! {"op": "n", "ns": "app.users", "o": {"_id": 1, "email": "image@example.com"}, "o2": {"_id": 1}},
            doc! {"op": "n", "ns": "app.secrets", "o": {"_id": 1, "token": "s3cr3t"}},
            doc! {"op": "n", "ns": "app.other", "o": {"_id": 1, "x": "uncovered"}},
            doc! {"op": "n", "ns": "", "o": {"msg": "periodic noop"}},
            doc! {"op": "n", "ns": "", "o": {"_id": 1, "email": "orphan@example.com"}},
            // No namespace at all: nothing attributes it.
            doc! {"op": "i", "o": {"_id": 1, "email": "nons@example.com"}},
        ],
    );
    let anon = rules(
        "rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\nexclusions:\n  - secrets\n",
    );
    let out = rewrite_ok(&input, &anon);
    assert!(!contains(&out, b"image@example.com"));
    assert!(!contains(&out, b"s3cr3t"));
    assert!(!contains(&out, b"orphan@example.com"));
    assert!(!contains(&out, b"nons@example.com"));
    let kept: Vec<Document> = docs_of(&out, ".oplog")
        .iter()
        .map(|e| e.get_document("o").unwrap().clone())
        .collect();
    assert_eq!(
        kept,
        [
            doc! {"_id": 1, "x": "uncovered"},
            doc! {"msg": "periodic noop"}
        ]
    );
    // With no rules at all, every no-op stays (byte-identical round trip).
    let (same, r) = run(&input, &empty(), &keep_all());
    r.unwrap();
    assert_eq!(same, input);
}

#[test]
fn apply_ops_nested_ones_included_are_rewritten() {
    let input = with_oplog(
        vec![
            NsDocs::new("app", "users", &[doc! {"_id": 1}]),
            NsDocs::new("app", "secrets", &[doc! {"_id": 1}]),
            NsDocs::new("app", "other", &[doc! {"_id": 1}]),
        ],
        &[
            // A transaction's commit: inserts, an update and a delete in one entry.
            entry(
                "c",
                "admin.$cmd",
                doc! {"applyOps": [
                    entry("i", "app.users", doc! {"_id": 2, "email": "txn@example.com"}),
                    entry("i", "app.secrets", doc! {"_id": 2, "token": "txn-s3cr3t"}),
                    entry("u", "app.users", doc! {"$set": {"email": "set@example.com"}}),
                    entry("i", "app.other", doc! {"_id": 2, "x": "kept"}),
                ], "lsid": {"id": 1}, "txnNumber": 1i64},
            ),
            // applyOps inside applyOps.
            entry(
                "c",
                "admin.$cmd",
                doc! {"applyOps": [entry("c", "admin.$cmd", doc! {"applyOps": [
                    entry("i", "app.users", doc! {"_id": 3, "email": "nested@example.com"}),
                    entry("i", "app.secrets", doc! {"_id": 3, "token": "nested-s3cr3t"}),
                ]})]},
            ),
        ],
    );
    let anon = rules(
        "rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\nexclusions:\n  - secrets\n",
    );
    let out = rewrite_ok(&input, &anon);
    for leaked in [
        &b"txn@example.com"[..],
        b"set@example.com",
        b"nested@example.com",
        b"s3cr3t",
    ] {
        assert!(
            !contains(&out, leaked),
            "{}",
            String::from_utf8_lossy(leaked)
        );
    }
    let ops = docs_of(&out, ".oplog");
    let removed = doc! {"op": "n", "ns": "", "o": {"msg": "removed by syrf-anonymize"}};
    let inner = |e: &Document| -> Vec<Document> {
        e.get_document("o")
            .unwrap()
            .get_array("applyOps")
            .unwrap()
            .iter()
            .map(|b| b.as_document().unwrap().clone())
            .collect()
    };
    let txn = inner(&ops[0]);
    assert_eq!(
        txn[0].get_document("o").unwrap(),
        &doc! {"_id": 2, "email": "X"}
    );
    assert_eq!(txn[1], removed);
    assert_eq!(
        txn[2].get_document("o").unwrap(),
        &doc! {"$set": {"email": "X"}}
    );
    assert_eq!(
        txn[3].get_document("o").unwrap(),
        &doc! {"_id": 2, "x": "kept"}
    );
    assert_eq!(
        ops[0]
            .get_document("o")
            .unwrap()
            .get_document("lsid")
            .unwrap(),
        &doc! {"id": 1}
    );
    let nested = inner(&inner(&ops[1])[0]);
    assert_eq!(
        nested[0].get_document("o").unwrap(),
        &doc! {"_id": 3, "email": "X"}
    );
    assert_eq!(nested[1], removed);

    // Deeper than 16 levels is refused, naming no value.
    let mut deep = entry(
        "i",
        "app.users",
        doc! {"_id": 9, "email": "deep@example.com"},
    );
    for _ in 0..20 {
        deep = entry("c", "admin.$cmd", doc! {"applyOps": [deep]});
    }
    let input = with_oplog(
        vec![NsDocs::new("app", "users", &[doc! {"_id": 1}])],
        &[deep],
    );
    let (out, r) = run(&input, &anon, &keep_all());
    let err = r.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err.kind, ErrorKind::Oplog(OplogError::ApplyOpsTooDeep)),
        "{msg}"
    );
    assert!(
        msg.contains("--oplog drop") && !msg.contains("deep@"),
        "{msg}"
    );
    assert_eq!(err.namespace.as_deref(), Some(".oplog"));
    assert!(mongo_archive::verify::verify(&out).is_err());
}

#[test]
fn update_document_keys_and_deletes_get_the_same_plan() {
    let anon = rules("rules:\n  users:\n    fields:\n      _id: hash\n      shard.region: hash\n");
    let input = with_oplog(
        vec![NsDocs::new(
            "app",
            "users",
            &[doc! {"_id": "alice@example.com", "shard": {"region": "alice-home"}}],
        )],
        &[
            doc! {"op": "u", "ns": "app.users", "o2": {"_id": "alice@example.com", "shard.region": "alice-home"}, "o": {"$set": {"n": 1}}},
            doc! {"op": "u", "ns": "app.users", "o2": {"_id": "alice@example.com", "shard": {"region": "alice-home"}}, "o": {"$set": {"n": 1}}},
            doc! {"op": "u", "ns": "app.users", "o2": {"_id": "alice@example.com"}, "o": {"$v": 2, "diff": {"u": {"n": 2}}}},
            doc! {"op": "d", "ns": "app.users", "o": {"_id": "alice@example.com", "shard.region": "alice-home"}},
        ],
    );
    let out = rewrite_ok(&input, &anon);
    assert!(!contains(&out, b"alice@example.com"));
    assert!(!contains(&out, b"alice-home"));
    let doc = &docs_of(&out, "app.users")[0];
    let id = doc.get_str("_id").unwrap();
    let region = doc
        .get_document("shard")
        .unwrap()
        .get_str("region")
        .unwrap();
    let ops = docs_of(&out, ".oplog");
    // A nested shard key field as a dotted name, as servers write document keys.
    let o2 = ops[0].get_document("o2").unwrap();
    assert_eq!(o2, &doc! {"_id": id, "shard.region": region});
    assert_eq!(ops[0].get_document("o").unwrap(), &doc! {"$set": {"n": 1}});
    let o2 = ops[1].get_document("o2").unwrap();
    assert_eq!(o2, &doc! {"_id": id, "shard": {"region": region}});
    assert_eq!(ops[2].get_document("o2").unwrap(), &doc! {"_id": id});
    assert_eq!(
        ops[3].get_document("o").unwrap(),
        &doc! {"_id": id, "shard.region": region}
    );
}

#[test]
fn local_oplog_rs_dumped_as_a_collection_is_rewritten_as_an_oplog() {
    let input = build_archive(&[
        NsDocs::new(
            "app",
            "users",
            &[doc! {"_id": 1, "email": "doc@example.com"}],
        ),
        NsDocs::new("app", "secrets", &[doc! {"_id": 1, "token": "s3cr3t"}]),
        NsDocs::new(
            "local",
            "oplog.rs",
            &[
                entry(
                    "i",
                    "app.users",
                    doc! {"_id": 2, "email": "oplog@example.com"},
                ),
                entry("i", "app.secrets", doc! {"_id": 2, "token": "oplog-s3cr3t"}),
                entry(
                    "u",
                    "app.users",
                    doc! {"$set": {"email": "set@example.com"}},
                ),
            ],
        ),
    ]);
    let anon = rules(
        "rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\nexclusions:\n  - secrets\n",
    );
    let out = rewrite_ok(&input, &anon);
    for leaked in [
        &b"doc@example.com"[..],
        b"oplog@example.com",
        b"set@example.com",
        b"s3cr3t",
    ] {
        assert!(
            !contains(&out, leaked),
            "{}",
            String::from_utf8_lossy(leaked)
        );
    }
    let ops = docs_of(&out, "local.oplog.rs");
    assert_eq!(ops.len(), 2);
    assert_eq!(
        ops[0].get_document("o").unwrap(),
        &doc! {"_id": 2, "email": "X"}
    );
    assert_eq!(
        ops[1].get_document("o").unwrap(),
        &doc! {"$set": {"email": "X"}}
    );
    // `--oplog drop` removes it like the `--oplog` namespace.
    let opts = RewriteOptions {
        oplog: OplogMode::Drop,
        keep_users: true,
        ..Default::default()
    };
    let (out, r) = run(&input, &anon, &opts);
    let s = r.unwrap();
    let v = mongo_archive::verify::verify(&out).unwrap();
    assert!(v.namespace("local.oplog.rs").is_none());
    assert_eq!(
        s.namespaces
            .iter()
            .find(|n| n.collection == "oplog.rs")
            .unwrap()
            .action,
        NamespaceAction::OplogDropped
    );
}

#[test]
fn dotted_keys_shadowing_a_rule_path_are_counted() {
    let input = build_archive(&[NsDocs::new(
        "app",
        "people",
        &[
            doc! {"FullName.First": "Literal Jane", "FullName": {"First": "Ann"}},
            doc! {"Unrelated.Key": 1, "FullName": {"First.Inner": "deeper"}},
        ],
    )]);
    let anon = rules(
        "rules:\n  people:\n    fields:\n      FullName.First: {transform: constant, value: F}\n",
    );
    let (out, r) = run(&input, &anon, &keep_all());
    let s = r.unwrap();
    mongo_archive::verify::verify(&out).unwrap();
    let ns = s
        .namespaces
        .iter()
        .find(|n| n.collection == "people")
        .unwrap();
    // `FullName.First` at the top and `First.Inner` inside FullName shadow the rule path;
    // `Unrelated.Key` does not.
    assert_eq!(ns.shadowing_keys, 2);
    assert_eq!(ns.shadowed_rules, ["FullName.First"]);
    assert!(contains(&out, b"Literal Jane"));

    // An escaped dot names the literal key; it no longer counts as shadowing.
    let anon = rules("rules:\n  people:\n    fields:\n      FullName.First: {transform: constant, value: F}\n      FullName\\.First: {transform: constant, value: L}\n");
    let (out, r) = run(&input, &anon, &keep_all());
    let s = r.unwrap();
    assert!(!contains(&out, b"Literal Jane"));
    assert_eq!(
        docs_of(&out, "app.people")[0],
        doc! {"FullName.First": "L", "FullName": {"First": "F"}}
    );
    let ns = s
        .namespaces
        .iter()
        .find(|n| n.collection == "people")
        .unwrap();
    assert_eq!(ns.shadowing_keys, 1);
}

#[test]
fn error_messages_name_the_rule_path_not_the_datas_field() {
    let input = with_oplog(
        vec![NsDocs::new("app", "users", &[doc! {"_id": 1}])],
        &[entry(
            "u",
            "app.users",
            doc! {"$set": {"LoginCounts.jane.doe@example.com": 3}},
        )],
    );
    let anon = rules("rules:\n  users:\n    fields:\n      LoginCounts: null\n");
    let (_, r) = run(&input, &anon, &keep_all());
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("`LoginCounts`"), "{msg}");
    assert!(!msg.contains("jane") && !msg.contains("example"), "{msg}");

    for o in [
        doc! {"$inc": {"LoginCounts.jane.doe@example.com": 1}},
        doc! {"$rename": {"nick": "LoginCounts.jane.doe@example.com"}},
        doc! {"$set": {"a": 1}, "jane.doe@example.com": 1},
        doc! {"$jane.doe@example.com": {"LoginCounts": 1}},
    ] {
        let input = with_oplog(
            vec![NsDocs::new("app", "users", &[doc! {"_id": 1}])],
            &[entry("u", "app.users", o)],
        );
        let (_, r) = run(&input, &anon, &keep_all());
        let msg = r.unwrap_err().to_string();
        assert!(!msg.contains("jane") && !msg.contains("example"), "{msg}");
    }
}

#[test]
fn malformed_bson_inside_a_document_fails_even_in_a_dropped_namespace() {
    let good = NsDocs::new("app", "kept", &[doc! {"_id": 1}]);
    let mut bad = NsDocs::new(
        "app",
        "secrets",
        &[doc! {"_id": 1, "inner": {"s": "personal value"}}],
    );
    // The inner string's length runs past its sub-document; the outer framing stays valid
    // and the CRC is computed over these bytes.
    let d = &mut bad.docs[0];
    let at = memchr::memmem::find(d, b"s\0").unwrap() + 2;
    d[at] = 0x40;
    let input = build_archive(&[good, bad]);
    for anon in [empty(), rules("exclusions:\n  - secrets\n")] {
        let (out, r) = run(&input, &anon, &keep_all());
        let err = r.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err.kind, ErrorKind::Malformed { .. }), "{msg}");
        assert_eq!(err.namespace.as_deref(), Some("app.secrets"));
        assert!(msg.contains("input byte"), "{msg}");
        assert!(!msg.contains("personal"), "{msg}");
        assert!(mongo_archive::verify::verify(&out).is_err());
    }
}

#[test]
fn illegal_names_and_bad_metadata_are_refused() {
    for (db, coll) in [
        ("bad db", "c"),
        ("a.b", "c"),
        ("d$", "c"),
        ("x", ""),
        ("", "notoplog"),
        (&*"d".repeat(64), "c"),
    ] {
        let input = build_archive(&[NsDocs::new(db, coll, &[doc! {"_id": 1}])]);
        let (out, r) = run(&input, &empty(), &keep_all());
        let err = r.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::BadName(_)),
            "{db}.{coll}: {err}"
        );
        assert!(mongo_archive::verify::verify(&out).is_err());
    }
    // The longest legal database name passes.
    let input = build_archive(&[NsDocs::new(&"d".repeat(63), "c", &[doc! {"_id": 1}])]);
    assert_eq!(rewrite_ok(&input, &empty()), input);

    for metadata in ["{\"options\":{", "{'a':1}", "[]", "{\"a\":1} trailing"] {
        let mut ns = NsDocs::new("app", "c", &[doc! {"_id": 1}]);
        ns.metadata = metadata.into();
        let input = build_archive(&[ns]);
        let (_, r) = run(&input, &empty(), &keep_all());
        let err = r.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::BadMetadata { .. }),
            "{metadata}: {err}"
        );
        assert_eq!(err.namespace.as_deref(), Some("app.c"));
    }
}
