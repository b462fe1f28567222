//! Issue 18 (MongoDB): hidden copies in the oplog and in system namespaces. Each test builds
//! its archive by hand, runs the rewriter and checks the output with the independent verifier.

use crate::common;

use bson::{doc, Bson, Document, RawDocumentBuf};
use common::*;
use mongo_archive::{ErrorKind, NamespaceAction, OplogError, OplogMode, RewriteOptions};

fn entry(op: &str, ns: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": ns, "o": o}
}

fn insert(ns: &str, o: Document, o2: Document) -> Document {
    let mut e = entry("i", ns, o);
    e.insert("o2", o2);
    e
}

fn with_oplog(collections: Vec<NsDocs>, entries: &[Document]) -> Vec<u8> {
    let mut all = collections;
    all.push(NsDocs::new("", "oplog", entries));
    build_archive(&all)
}

fn ok(input: &[u8], anon: &anonymize_core::Anonymizer) -> Vec<u8> {
    let (out, r) = run(input, anon, &keep_all());
    r.unwrap_or_else(|e| panic!("{e}"));
    mongo_archive::verify::verify(&out).unwrap();
    out
}

/// Runs `input`, expects an oplog error, checks that the output is not a complete archive
/// and that the message gives the advice and no value.
fn oplog_err(input: &[u8], anon: &anonymize_core::Anonymizer, values: &[&str]) -> OplogError {
    let (out, r) = run(input, anon, &keep_all());
    let err = r.expect_err("the run must fail");
    assert!(mongo_archive::verify::verify(&out).is_err());
    let msg = err.to_string();
    assert!(msg.contains("--oplog drop"), "{msg}");
    for v in values {
        assert!(!msg.contains(v), "{msg} quotes {v}");
    }
    match err.kind {
        ErrorKind::Oplog(e) => e,
        other => panic!("not an oplog error: {other}"),
    }
}

const KEYED: &str = "rules:\n  users:\n    fields:\n      _id: hash\n      shard.region: hash\n      email: {transform: constant, value: X}\nexclusions:\n  - secrets\n";

fn users() -> NsDocs {
    NsDocs::new(
        "app",
        "users",
        &[
            doc! {"_id": "doc@example.com", "shard": {"region": "doc-home"}, "email": "doc@example.com"},
        ],
    )
}

// 18.1: an insert's `o2` (document key, MongoDB >= 5.3) gets the collection's plan.
#[test]
fn insert_document_keys_get_the_plan_of_the_inserted_document() {
    let anon = rules(KEYED);
    let o = doc! {"_id": "alice@example.com", "shard": {"region": "alice-home"}, "email": "alice@example.com"};
    let o2 = doc! {"_id": "alice@example.com", "shard.region": "alice-home"};
    let ins = insert("app.users", o.clone(), o2.clone());
    let txn = entry(
        "c",
        "admin.$cmd",
        doc! {"applyOps": [{"op": "i", "ns": "app.users", "ui": Bson::Int32(1), "o": o.clone(), "o2": o2.clone()}]},
    );
    let input = with_oplog(vec![users()], &[ins.clone(), txn.clone()]);
    let out = ok(&input, &anon);
    for raw in [
        "alice@example.com",
        "alice-home",
        "doc@example.com",
        "doc-home",
    ] {
        assert!(!contains(&out, raw.as_bytes()), "{raw} survived");
    }
    let ops = docs_of(&out, ".oplog");
    let check = |e: &Document| {
        let o = e.get_document("o").unwrap();
        let id = o.get_str("_id").unwrap();
        let region = o.get_document("shard").unwrap().get_str("region").unwrap();
        assert_eq!(
            e.get_document("o2").unwrap(),
            &doc! {"_id": id, "shard.region": region}
        );
    };
    check(&ops[0]);
    let inner = ops[1]
        .get_document("o")
        .unwrap()
        .get_array("applyOps")
        .unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    check(&inner);
    // The same value hashes the same in `o` of the insert and in the transaction.
    assert_eq!(
        ops[0].get_document("o2").unwrap(),
        inner.get_document("o2").unwrap()
    );

    // Ordinal-based transforms give `o` and `o2` of one insert the same ordinal.
    let seq = rules("rules:\n  users:\n    fields:\n      _id: sequential\n");
    let out = ok(
        &with_oplog(vec![users()], &[ins.clone(), ins.clone()]),
        &seq,
    );
    let ops = docs_of(&out, ".oplog");
    for e in &ops {
        let id = e.get_document("o").unwrap().get("_id").unwrap();
        assert_eq!(e.get_document("o2").unwrap().get("_id").unwrap(), id);
        assert_ne!(id, &Bson::String("alice@example.com".into()));
    }

    // `local.oplog.rs` dumped as a collection.
    let input = build_archive(&[users(), NsDocs::new("local", "oplog.rs", &[ins, txn])]);
    let out = ok(&input, &anon);
    assert!(!contains(&out, b"alice@example.com") && !contains(&out, b"alice-home"));
    check(&docs_of(&out, "local.oplog.rs")[0]);
}

fn out_stage(db: &str, tmp: &str, target: &str, value: &str) -> Vec<Document> {
    vec![
        entry(
            "c",
            &format!("{db}.$cmd"),
            doc! {"create": tmp, "temp": true, "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}},
        ),
        insert(
            &format!("{db}.{tmp}"),
            doc! {"_id": 7, "email": value},
            doc! {"_id": 7},
        ),
        entry(
            "c",
            "admin.$cmd",
            doc! {"renameCollection": format!("{db}.{tmp}"), "to": target, "stayTemp": false, "dropTarget": true},
        ),
    ]
}

// 18.2: temporary namespaces of `$out` and of cross-database renames.
#[test]
fn out_into_a_covered_or_excluded_collection_fails_at_the_rename() {
    let anon = rules(KEYED);
    let tmp = "tmp.agg_out.0f3c9a1e-5d2b-4c8e-9a7f-1b2c3d4e5f60";
    for target in ["app.users", "app.secrets"] {
        let input = with_oplog(
            vec![users(), NsDocs::new("app", "secrets", &[doc! {"_id": 1}])],
            &out_stage("app", tmp, target, "raw-out@example.com"),
        );
        let e = oplog_err(&input, &anon, &["raw-out@example.com"]);
        assert!(
            matches!(&e, OplogError::RenameBetweenPlans { from, to } if from == &format!("app.{tmp}") && to == target),
            "{e}"
        );
        // `--oplog drop` is the way out.
        let opts = RewriteOptions {
            oplog: OplogMode::Drop,
            keep_users: true,
            ..Default::default()
        };
        let (out, r) = run(&input, &anon, &opts);
        r.unwrap();
        assert!(!contains(&out, b"raw-out@example.com"));
    }
    // A cross-database rename copies into `<targetdb>.tmpXXXXX.renameCollection` first.
    let input = with_oplog(
        vec![users()],
        &out_stage(
            "app",
            "tmpAb12C.renameCollection",
            "app.users",
            "moved@example.com",
        ),
    );
    oplog_err(&input, &anon, &["moved@example.com"]);
    // The same inside a transaction's applyOps.
    let ops: Vec<Bson> = out_stage("app", tmp, "app.users", "txn@example.com")
        .into_iter()
        .map(Bson::Document)
        .collect();
    let input = with_oplog(
        vec![users()],
        &[entry("c", "admin.$cmd", doc! {"applyOps": ops})],
    );
    oplog_err(&input, &anon, &["txn@example.com"]);
}

#[test]
fn renames_between_the_same_plans_or_of_empty_collections_pass() {
    let anon = rules(KEYED);
    let tmp = "tmp.agg_out.0f3c9a1e-5d2b-4c8e-9a7f-1b2c3d4e5f60";
    // `$out` into a collection no rule names: nothing to rewrite, the entries pass.
    let input = with_oplog(
        vec![users()],
        &out_stage("app", tmp, "app.reports", "report@example.com"),
    );
    let out = ok(&input, &anon);
    let ops = docs_of(&out, ".oplog");
    assert_eq!(ops.len(), 3);
    assert_eq!(
        ops[2].get_document("o").unwrap().get_str("to").unwrap(),
        "app.reports"
    );
    // An empty temporary collection renamed into a covered one moves nothing.
    let mut stage = out_stage("app", tmp, "app.users", "x@example.com");
    stage.remove(1);
    let out = ok(&with_oplog(vec![users()], &stage), &anon);
    assert_eq!(docs_of(&out, ".oplog").len(), 2);
    // With a `collections:` list the temporary namespace is not selected: its inserts and the
    // rename are dropped, nothing moves.
    let anon = rules("rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\ncollections: [users]\n");
    let input = with_oplog(
        vec![users()],
        &out_stage("app", tmp, "app.users", "sel@example.com"),
    );
    let out = ok(&input, &anon);
    assert!(!contains(&out, b"sel@example.com"));
    assert!(docs_of(&out, ".oplog").is_empty());
}

#[test]
fn renaming_a_dumped_collection_with_data_into_other_rules_fails() {
    let anon = rules(KEYED);
    let input = with_oplog(
        vec![
            users(),
            NsDocs::new(
                "app",
                "staging",
                &[doc! {"_id": 1, "email": "stage@example.com"}],
            ),
        ],
        &[entry(
            "c",
            "admin.$cmd",
            doc! {"renameCollection": "app.staging", "to": "app.users", "dropTarget": true},
        )],
    );
    let e = oplog_err(&input, &anon, &["stage@example.com"]);
    assert!(matches!(e, OplogError::RenameBetweenPlans { .. }), "{e}");
    // Created by the oplog does not make a dumped collection empty: its documents are
    // restored before the oplog replays.
    let input = with_oplog(
        vec![
            users(),
            NsDocs::new(
                "app",
                "staging",
                &[doc! {"_id": 1, "email": "stage@example.com"}],
            ),
        ],
        &[
            entry("c", "app.$cmd", doc! {"create": "staging"}),
            entry(
                "c",
                "admin.$cmd",
                doc! {"renameCollection": "app.staging", "to": "app.users", "dropTarget": true},
            ),
        ],
    );
    oplog_err(&input, &anon, &["stage@example.com"]);
    // Dropped first, it is empty; a rename moves nothing (then the target is empty too).
    let input = with_oplog(
        vec![
            users(),
            NsDocs::new(
                "app",
                "staging",
                &[doc! {"_id": 1, "email": "stage@example.com"}],
            ),
        ],
        &[
            entry("c", "app.$cmd", doc! {"drop": "staging"}),
            entry("c", "app.$cmd", doc! {"create": "staging"}),
            entry(
                "c",
                "admin.$cmd",
                doc! {"renameCollection": "app.staging", "to": "app.users", "dropTarget": true},
            ),
            entry(
                "c",
                "admin.$cmd",
                doc! {"renameCollection": "app.users", "to": "app.staging"},
            ),
        ],
    );
    ok(&input, &anon);
    // A rename that is not replayed (its source is not selected) leaves its target as it
    // was: the target's documents still count.
    let sel = rules("rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\ncollections: [users, staging]\n");
    let input = with_oplog(
        vec![
            users(),
            NsDocs::new(
                "app",
                "staging",
                &[doc! {"_id": 1, "email": "stage@example.com"}],
            ),
        ],
        &[
            entry(
                "c",
                "admin.$cmd",
                doc! {"renameCollection": "app.unselected", "to": "app.staging", "dropTarget": true},
            ),
            entry(
                "c",
                "admin.$cmd",
                doc! {"renameCollection": "app.staging", "to": "app.users", "dropTarget": true},
            ),
        ],
    );
    let e = oplog_err(&input, &sel, &["stage@example.com"]);
    assert!(
        matches!(&e, OplogError::RenameBetweenPlans { from, .. } if from == "app.staging"),
        "{e}"
    );
    // A collection the archive does not hold (its contents unknown) is refused too.
    let input = with_oplog(
        vec![users()],
        &[entry(
            "c",
            "admin.$cmd",
            doc! {"renameCollection": "app.elsewhere", "to": "app.users"},
        )],
    );
    oplog_err(&input, &anon, &[]);
}

/// An oplog namespace whose documents are given as raw bytes.
fn raw_oplog(entries: Vec<Vec<u8>>) -> Vec<u8> {
    let mut oplog = NsDocs::new("", "oplog", &[]);
    oplog.docs = entries;
    build_archive(&[users(), oplog])
}

fn raw_bytes(elems: &[(&str, Bson)]) -> Vec<u8> {
    let mut d = RawDocumentBuf::new();
    for (k, v) in elems {
        d.append(*k, bson::RawBson::try_from(v.clone()).unwrap());
    }
    d.as_bytes().to_vec()
}

// 18.3: entry shapes mongod never writes are refused.
#[test]
fn entry_shapes_mongod_never_writes_are_refused() {
    let anon = rules(KEYED);
    let s = |v: &str| Bson::String(v.to_owned());
    let d = |d: Document| Bson::Document(d);
    let shapes: Vec<Vec<u8>> = vec![
        // A second `o` (a reader taking the last one would see the raw value).
        raw_bytes(&[
            ("op", s("i")),
            ("ns", s("app.users")),
            ("o", d(doc! {"_id": 1, "email": "X"})),
            ("o", d(doc! {"_id": 1, "email": "dup@example.com"})),
        ]),
        raw_bytes(&[
            ("op", s("u")),
            ("ns", s("app.users")),
            ("o2", d(doc! {"_id": 1})),
            ("o2", d(doc! {"_id": "dup@example.com"})),
            ("o", d(doc! {"$set": {"n": 1}})),
        ]),
        raw_bytes(&[
            ("op", s("n")),
            ("op", s("i")),
            ("ns", s("app.users")),
            ("o", d(doc! {"_id": "dup@example.com"})),
        ]),
        // `applyOps` as a document.
        raw_bytes(&[
            ("op", s("c")),
            ("ns", s("admin.$cmd")),
            (
                "o",
                d(
                    doc! {"applyOps": {"0": {"op": "i", "ns": "app.users", "o": {"_id": "dup@example.com"}}}},
                ),
            ),
        ]),
        // As nested arrays.
        raw_bytes(&[
            ("op", s("c")),
            ("ns", s("admin.$cmd")),
            (
                "o",
                d(
                    doc! {"applyOps": [[{"op": "i", "ns": "app.users", "o": {"_id": "dup@example.com"}}]]},
                ),
            ),
        ]),
        // Not first in the command.
        raw_bytes(&[
            ("op", s("c")),
            ("ns", s("admin.$cmd")),
            (
                "o",
                d(
                    doc! {"comment": "x", "applyOps": [{"op": "i", "ns": "app.users", "o": {"_id": "dup@example.com"}}]},
                ),
            ),
        ]),
    ];
    for (i, e) in shapes.into_iter().enumerate() {
        // The reader `scan` and `verify` use refuses the same shapes with the same error.
        let read = mongo_archive::oplog_read::operations(&e, &mut |_| Ok(()));
        let err = oplog_err(&raw_oplog(vec![e]), &anon, &["dup@example.com"]);
        assert!(matches!(err, OplogError::Shape(_)), "shape {i}: {err}");
        assert_eq!(read.unwrap_err(), err, "shape {i}");
    }
    // Fields after `applyOps` are a shape mongod writes (`allowAtomic`, ...).
    let fine = entry(
        "c",
        "admin.$cmd",
        doc! {"applyOps": [{"op": "i", "ns": "app.users", "o": {"_id": 3, "email": "fine@example.com"}}], "allowAtomic": false},
    );
    let out = ok(&raw_oplog(vec![bson::to_vec(&fine).unwrap()]), &anon);
    assert!(!contains(&out, b"fine@example.com"));
    // A repeated `applyOps` key inside `o`, built from raw bytes.
    let o = raw_bytes(&[
        ("applyOps", Bson::Array(vec![])),
        (
            "applyOps",
            Bson::Array(vec![Bson::Document(
                doc! {"op": "i", "ns": "app.users", "o": {"_id": "dup@example.com"}},
            )]),
        ),
    ]);
    let mut e = RawDocumentBuf::new();
    e.append("op", "c");
    e.append("ns", "admin.$cmd");
    e.append("o", bson::RawDocumentBuf::from_bytes(o).unwrap());
    let err = oplog_err(
        &raw_oplog(vec![e.as_bytes().to_vec()]),
        &anon,
        &["dup@example.com"],
    );
    assert!(matches!(err, OplogError::Shape(_)), "{err}");
}

// 18.4: staged users and roles, pre- and post-images.
#[test]
fn staged_users_and_images_are_dropped() {
    let input = with_oplog(
        vec![
            users(),
            NsDocs::new(
                "admin",
                "tempusers",
                &[
                    doc! {"_id": "app.bob", "credentials": {"SCRAM-SHA-256": {"storedKey": "stored-secret"}}},
                ],
            ),
            NsDocs::new(
                "admin",
                "temproles",
                &[doc! {"_id": "app.r", "role": "role-secret"}],
            ),
            NsDocs::new(
                "config",
                "system.preimages",
                &[doc! {"_id": {"nsUUID": 1}, "preImage": {"email": "pre@example.com"}}],
            ),
            NsDocs::new(
                "config",
                "image_collection",
                &[doc! {"_id": {"id": 1}, "image": {"email": "post@example.com"}}],
            ),
        ],
        &[
            entry(
                "i",
                "config.image_collection",
                doc! {"_id": {"id": 2}, "image": {"email": "oplog-image@example.com"}},
            ),
            entry(
                "i",
                "admin.tempusers",
                doc! {"_id": "app.eve", "credentials": "oplog-secret"},
            ),
        ],
    );
    let anon = rules(KEYED);
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    let s = r.unwrap();
    mongo_archive::verify::verify(&out).unwrap();
    for raw in [
        "stored-secret",
        "role-secret",
        "pre@example.com",
        "post@example.com",
        "oplog-image@example.com",
        "oplog-secret",
    ] {
        assert!(!contains(&out, raw.as_bytes()), "{raw} survived");
    }
    let action = |c: &str| {
        s.namespaces
            .iter()
            .find(|n| n.collection == c)
            .unwrap()
            .action
    };
    assert_eq!(action("tempusers"), NamespaceAction::UsersDropped);
    assert_eq!(action("temproles"), NamespaceAction::UsersDropped);
    assert_eq!(action("system.preimages"), NamespaceAction::ImagesDropped);
    assert_eq!(action("image_collection"), NamespaceAction::ImagesDropped);
    // Images are dropped even with no rules at all; staged users are kept with --keep-users.
    let (out, r) = run(&input, &empty(), &keep_all());
    r.unwrap();
    assert!(!contains(&out, b"pre@example.com") && !contains(&out, b"post@example.com"));
    assert!(contains(&out, b"stored-secret"));
}

// 18.5: `schema_only` for archives.
#[test]
fn schema_only_keeps_metadata_and_drops_documents_and_oplog_writes() {
    let mut u = users();
    u.metadata = "{\"options\":{},\"indexes\":[{\"v\":2,\"key\":{\"_id\":1},\"name\":\"_id_\"},{\"v\":2,\"key\":{\"email\":1},\"name\":\"email_1\"}]}".into();
    let input = with_oplog(
        vec![u, NsDocs::new("app", "other", &[doc! {"_id": 1, "n": 1}])],
        &[
            insert(
                "app.users",
                doc! {"_id": 2, "email": "so@example.com"},
                doc! {"_id": 2},
            ),
            entry(
                "u",
                "app.users",
                doc! {"$set": {"email": "so2@example.com"}},
            ),
            entry(
                "c",
                "app.$cmd",
                doc! {"createIndexes": "users", "v": 2, "key": {"n": 1}, "name": "n_1"},
            ),
            entry("i", "app.other", doc! {"_id": 2, "n": 2}),
        ],
    );
    let anon = rules("schema_only: [users]\n");
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    let s = r.unwrap();
    let v = mongo_archive::verify::verify(&out).unwrap();
    for raw in ["doc@example.com", "so@example.com", "so2@example.com"] {
        assert!(!contains(&out, raw.as_bytes()), "{raw} survived");
    }
    // The prelude entry (metadata, indexes) and an empty body stay.
    let entry_of = v.prelude.iter().find(|p| p.collection == "users").unwrap();
    assert!(entry_of.metadata.contains("email_1"));
    assert_eq!(v.namespace("app.users").unwrap().documents.len(), 0);
    assert_eq!(docs_of(&out, "app.other").len(), 1);
    let ops = docs_of(&out, ".oplog");
    let kinds: Vec<(&str, &str)> = ops
        .iter()
        .map(|o| (o.get_str("op").unwrap(), o.get_str("ns").unwrap()))
        .collect();
    assert_eq!(kinds, [("c", "app.$cmd"), ("i", "app.other")]);
    let users = s
        .namespaces
        .iter()
        .find(|n| n.collection == "users")
        .unwrap();
    assert_eq!(users.action, NamespaceAction::SchemaOnly);
    assert_eq!((users.docs_in, users.docs_out), (1, 0));
    // The same bytes with documents patched on worker threads.
    let threads = RewriteOptions {
        threads: 4,
        ..Default::default()
    };
    let (again, r) = run(&input, &anon, &threads);
    r.unwrap();
    assert_eq!(again, out);
}

/// Issue 17: `oplog_read` (what `scan` and `verify` read) and the rewriter agree on which
/// entries they accept, over entries of every kind and byte-level mutations of them: an entry
/// the rewriter accepts is read, and a shape the reader refuses fails the rewrite. No panic.
#[test]
fn oplog_read_and_the_rewriter_agree_on_mutated_entries() {
    let anon = rules(KEYED);
    let seeds = [
        insert(
            "app.users",
            doc! {"_id": "a@example.com", "email": "a@example.com", "shard": {"region": "r"}},
            doc! {"_id": "a@example.com", "shard.region": "r"},
        ),
        entry(
            "u",
            "app.users",
            doc! {"$v": 2, "diff": {"u": {"email": "x@y.z"}, "sshard": {"u": {"region": "q"}}}},
        ),
        entry("d", "app.users", doc! {"_id": "a@example.com"}),
        entry(
            "c",
            "admin.$cmd",
            doc! {"applyOps": [
                {"op": "i", "ns": "app.users", "o": {"_id": 1, "email": "t@example.com"}, "o2": {"_id": 1}},
                {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [{"op": "d", "ns": "app.secrets", "o": {"_id": 1}}]}},
            ]},
        ),
        entry(
            "c",
            "app.$cmd",
            doc! {"renameCollection": "app.a", "to": "app.b"},
        ),
    ];
    let mut runs = 0;
    for seed in &seeds {
        let bytes = bson::to_vec(seed).unwrap();
        let mut variants = vec![bytes.clone()];
        for at in 4..bytes.len() - 1 {
            for v in [0x00, 0x02, 0x03, 0x04, 0x61, 0x6f, 0xff] {
                let mut m = bytes.clone();
                if m[at] != v {
                    m[at] = v;
                    variants.push(m);
                }
            }
        }
        for v in variants {
            let read = mongo_archive::oplog_read::operations(&v, &mut |op| {
                op.data(&mut |_| {}).or(Ok(()))
            });
            let (_, r) = run(&raw_oplog(vec![v]), &anon, &keep_all());
            match (&read, &r) {
                (Err(OplogError::Shape(_)), Ok(_)) => {
                    panic!("the rewriter accepted a shape oplog_read refuses: {read:?}")
                }
                (Err(e), Ok(_)) => panic!("oplog_read refused an entry the rewriter accepted: {e}"),
                _ => {}
            }
            runs += 1;
        }
    }
    assert!(runs > 1000, "{runs}");
}
