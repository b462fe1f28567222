//! `--oplog` archives: entries get their collection's rules, or the run fails clearly.

use crate::common;

use bson::{doc, Bson, Document};
use common::*;
use mongo_archive::{verify, ErrorKind, NamespaceAction, OplogMode, RewriteOptions};

fn decoded(v: &verify::VerifiedArchive, ns: &str) -> Vec<Document> {
    v.namespace(ns)
        .map(|n| {
            n.documents
                .iter()
                .map(|d| Document::from_reader(&d[..]).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn real_oplog_inserts_are_rewritten_and_excluded_entries_dropped() {
    let Some(input) = real_archive("mongo-tools_dump-w-oplog.archive") else {
        return;
    };
    let anon = rules(
        "rules:\n  test.foo:\n    fields:\n      a: {transform: constant, value: redacted}\nexclusions:\n  - system.sessions\n",
    );
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    let summary = r.unwrap();
    let before = verify::verify_keep_documents(&input).unwrap();
    let after = verify::verify_keep_documents(&out).unwrap();
    for d in decoded(&after, "test.foo") {
        assert_eq!(d.get_str("a").unwrap(), "redacted");
    }
    let ops_in = decoded(&before, ".oplog");
    let ops_out = decoded(&after, ".oplog");
    let sessions = ops_in
        .iter()
        .filter(|o| o.get_str("ns") == Ok("config.system.sessions"))
        .count();
    assert!(sessions > 0);
    assert_eq!(ops_out.len(), ops_in.len() - sessions);
    let mut inserts = 0;
    for o in &ops_out {
        assert_ne!(o.get_str("ns").unwrap(), "config.system.sessions");
        if o.get_str("ns") == Ok("test.foo") && o.get_str("op") == Ok("i") {
            assert_eq!(
                o.get_document("o").unwrap().get_str("a").unwrap(),
                "redacted"
            );
            inserts += 1;
        }
    }
    assert!(inserts > 10);
    let oplog = summary
        .namespaces
        .iter()
        .find(|n| n.collection == "oplog")
        .unwrap();
    assert_eq!(oplog.docs_out as usize, ops_out.len());
    assert!(oplog.docs_changed >= inserts);
}

#[test]
fn oplog_drop_removes_it() {
    let Some(input) = real_archive("mongo-tools_dump-w-oplog.archive") else {
        return;
    };
    let opts = RewriteOptions {
        oplog: OplogMode::Drop,
        ..Default::default()
    };
    let (out, r) = run(&input, &empty(), &opts);
    let s = r.unwrap();
    let v = verify::verify(&out).unwrap();
    assert!(v.namespace(".oplog").is_none());
    assert!(!v.prelude.iter().any(|p| p.collection == "oplog"));
    assert_eq!(
        s.namespaces
            .iter()
            .find(|n| n.collection == "oplog")
            .unwrap()
            .action,
        NamespaceAction::OplogDropped
    );
}

/// A small archive: `app.users` with one document and an oplog with `entries`.
fn archive_with_oplog(entries: &[Document]) -> Vec<u8> {
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |out: &mut Vec<u8>, d: &Document| out.extend(bson::to_vec(d).unwrap());
    put(
        &mut out,
        &doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "6.0.1", "tool_version": "100.6.0"},
    );
    for (db, c) in [("app", "users"), ("app", "secrets"), ("", "oplog")] {
        put(
            &mut out,
            &doc! {"db": db, "collection": c, "metadata": "{}", "size": 0, "type": "collection"},
        );
    }
    out.extend([0xff; 4]);
    let block = |out: &mut Vec<u8>, db: &str, c: &str, docs: &[Document]| {
        put(
            out,
            &doc! {"db": db, "collection": c, "EOF": false, "CRC": 0i64},
        );
        let mut crc = mongo_archive::Crc64::new();
        for d in docs {
            let b = bson::to_vec(d).unwrap();
            crc.update(&b);
            out.extend(&b);
        }
        out.extend([0xff; 4]);
        put(
            out,
            &doc! {"db": db, "collection": c, "EOF": true, "CRC": crc.value() as i64},
        );
        out.extend([0xff; 4]);
    };
    block(
        &mut out,
        "app",
        "users",
        &[doc! {"_id": 1, "email": "a@b.c", "name": {"first": "Ann"}}],
    );
    block(
        &mut out,
        "app",
        "secrets",
        &[doc! {"_id": 1, "token": "s3cr3t"}],
    );
    block(&mut out, "", "oplog", entries);
    verify::verify(&out).unwrap();
    out
}

const RULES: &str = "rules:\n  users:\n    fields:\n      email: {transform: constant, value: X}\n      name.first: {transform: constant, value: F}\n      tags: {transform: constant, value: T}\nexclusions:\n  - secrets\n";

fn op(op: &str, ns: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": ns, "ui": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] }), "o2": {"_id": 1}, "o": o}
}

fn rewrite_oplog(entries: &[Document]) -> Result<Vec<Document>, mongo_archive::ArchiveError> {
    let input = archive_with_oplog(entries);
    let (out, r) = run(&input, &rules(RULES), &RewriteOptions::default());
    match r {
        Ok(_) => {
            let v = verify::verify_keep_documents(&out).unwrap();
            Ok(decoded(&v, ".oplog"))
        }
        Err(e) => {
            assert!(verify::verify(&out).is_err());
            Err(e)
        }
    }
}

#[test]
fn inserts_replacements_and_set_are_rewritten() {
    let out = rewrite_oplog(&[
        op("i", "app.users", doc! {"_id": 2, "email": "x@y.z", "name": {"first": "Bo", "last": "Li"}}),
        op("u", "app.users", doc! {"_id": 2, "email": "new@y.z", "other": 1}),
        op("u", "app.users", doc! {"$v": 1, "$set": {"email": "set@y.z", "name.first": "Cy", "keep": "k"}, "$unset": {"old": true}}),
        op("u", "app.users", doc! {"$set": {"name": {"first": "Di", "last": "Q"}}}),
        op("u", "app.users", doc! {"$set": {"tags.3": "t"}}),
        op("d", "app.users", doc! {"_id": 2}),
        doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "op": "n", "ns": "", "o": {"msg": "periodic noop"}},
    ])
    .unwrap();
    assert_eq!(out.len(), 7);
    let o = |i: usize| out[i].get_document("o").unwrap().clone();
    assert_eq!(
        o(0),
        doc! {"_id": 2, "email": "X", "name": {"first": "F", "last": "Li"}}
    );
    assert_eq!(o(1), doc! {"_id": 2, "email": "X", "other": 1});
    assert_eq!(
        o(2),
        doc! {"$v": 1, "$set": {"email": "X", "name.first": "F", "keep": "k"}, "$unset": {"old": true}}
    );
    assert_eq!(o(3), doc! {"$set": {"name": {"first": "F", "last": "Q"}}});
    assert_eq!(o(4), doc! {"$set": {"tags.3": "T"}});
    assert_eq!(o(5), doc! {"_id": 2});
}

#[test]
fn v2_diffs_are_rewritten() {
    let out = rewrite_oplog(&[
        op("u", "app.users", doc! {"$v": 2, "diff": {"u": {"email": "d@e.f", "age": 3}, "i": {"x": 1}, "d": {"y": false}}}),
        op("u", "app.users", doc! {"$v": 2, "diff": {"sname": {"u": {"first": "Ed"}, "i": {"middle": "M"}}}}),
        op("u", "app.users", doc! {"$v": 2, "diff": {"u": {"name": {"first": "Fi"}}}}),
    ])
    .unwrap();
    let o = |i: usize| out[i].get_document("o").unwrap().clone();
    assert_eq!(
        o(0),
        doc! {"$v": 2, "diff": {"u": {"email": "X", "age": 3}, "i": {"x": 1}, "d": {"y": false}}}
    );
    assert_eq!(
        o(1),
        doc! {"$v": 2, "diff": {"sname": {"u": {"first": "F"}, "i": {"middle": "M"}}}}
    );
    assert_eq!(
        o(2),
        doc! {"$v": 2, "diff": {"u": {"name": {"first": "F"}}}}
    );
}

#[test]
fn unsafe_updates_fail_with_a_clear_message() {
    for (entry, needle) in [
        (op("u", "app.users", doc! {"$inc": {"email": 1}}), "$inc"),
        (
            op("u", "app.users", doc! {"$push": {"name.first": "x"}}),
            "$push",
        ),
        (
            op("u", "app.users", doc! {"$rename": {"nick": "email"}}),
            "$rename",
        ),
        (
            op("u", "app.users", doc! {"$set": {"email.sub": "x"}}),
            "`email`",
        ),
        (
            op(
                "u",
                "app.users",
                doc! {"$v": 2, "diff": {"semail": {"u": {"x": 1}}}},
            ),
            "email",
        ),
    ] {
        let err = rewrite_oplog(&[entry]).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err.kind, ErrorKind::Oplog(_)), "{msg}");
        assert!(msg.contains(needle), "{msg} lacks {needle}");
        assert!(msg.contains("--oplog drop"), "{msg}");
        assert_eq!(err.namespace.as_deref(), Some(".oplog"));
        assert!(!msg.contains("l@k.m") && !msg.contains("s3cr3t"));
    }
    // Operators on uncovered fields are fine.
    let out = rewrite_oplog(&[op("u", "app.users", doc! {"$inc": {"age": 1}})]).unwrap();
    assert_eq!(
        out[0].get_document("o").unwrap(),
        &doc! {"$inc": {"age": 1}}
    );
}

#[test]
fn excluded_collections_entries_are_dropped() {
    let out = rewrite_oplog(&[
        op("i", "app.secrets", doc! {"_id": 2, "token": "leak"}),
        op("u", "app.secrets", doc! {"$set": {"token": "leak2"}}),
        op("c", "app.$cmd", doc! {"drop": "secrets"}),
        op("c", "app.$cmd", doc! {"create": "other"}),
        op(
            "i",
            "admin.system.users",
            doc! {"_id": "admin.x", "credentials": "hash"},
        ),
        op("i", "app.other", doc! {"_id": 1}),
    ])
    .unwrap();
    let kept: Vec<(&str, &str)> = out
        .iter()
        .map(|d| (d.get_str("op").unwrap(), d.get_str("ns").unwrap()))
        .collect();
    assert_eq!(kept, [("c", "app.$cmd"), ("i", "app.other")]);
    assert_eq!(out[0].get_document("o").unwrap(), &doc! {"create": "other"});
}
