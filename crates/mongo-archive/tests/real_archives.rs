//! The real mongodump archives in `$SYRF_TESTDATA_DIR/mongo`: round trips and rules.

mod common;

use common::*;
use mongo_archive::{verify, NamespaceAction, OplogMode, RewriteOptions};

#[test]
fn no_rules_round_trip_is_byte_identical_and_verifies() {
    let Some(all) = real_archives() else { return };
    for (name, bytes) in all {
        let (out, r) = run(&bytes, &empty(), &keep_all());
        let summary = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out, bytes, "{name}: output differs from input");
        assert_eq!(summary.bytes_in, bytes.len() as u64);
        assert_eq!(summary.bytes_out, bytes.len() as u64);
        let checked = verify::verify(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        let docs: u64 = checked.namespaces.iter().map(|n| n.docs).sum();
        let summary_docs: u64 = summary.namespaces.iter().map(|n| n.docs_out).sum();
        assert_eq!(docs, summary_docs, "{name}");
    }
}

#[test]
fn real_archive_contents_are_as_documented() {
    let Some(all) = real_archives() else { return };
    let get = |n: &str| &all.iter().find(|(f, _)| f == n).unwrap().1;
    let oplog = verify::verify(get("mongo-tools_dump-w-oplog.archive")).unwrap();
    assert_eq!(oplog.namespace("test.foo").unwrap().docs, 25);
    assert_eq!(oplog.namespace(".oplog").unwrap().docs, 18);
    assert_eq!(oplog.namespace("admin.system.version").unwrap().docs, 1);
    let ts = verify::verify(get("mongo-tools_timeseries_dump_2021.archive")).unwrap();
    assert_eq!(
        ts.namespace("timeseries_test.system.buckets.foo_ts")
            .unwrap()
            .docs,
        10
    );
    let bad = verify::verify(get("mongo-tools_bad-format.archive")).unwrap();
    assert_eq!(bad.namespace("test.ixtest").unwrap().docs, 0);
    let argon = verify::verify(get("argon-lab_base_dump.archive.gz")).unwrap();
    assert_eq!(argon.namespace("test.test").unwrap().docs, 2);
}

#[test]
fn oplog_inserts_get_the_collections_rules() {
    let Some(all) = real_archives() else { return };
    let input = &all
        .iter()
        .find(|(f, _)| f == "mongo-tools_dump-w-oplog.archive")
        .unwrap()
        .1;
    let before = verify::verify_keep_documents(input).unwrap();
    // Find a string field of test.foo documents to put a rule on.
    let foo = before.namespace("test.foo").unwrap();
    let doc = bson::Document::from_reader(&foo.documents[0][..]).unwrap();
    eprintln!("test.foo doc: {:?}", doc.keys().collect::<Vec<_>>());
    let oplog = before.namespace(".oplog").unwrap();
    for d in &oplog.documents {
        let d = bson::Document::from_reader(&d[..]).unwrap();
        eprintln!(
            "oplog: op={:?} ns={:?} o.keys={:?}",
            d.get_str("op"),
            d.get_str("ns"),
            d.get_document("o")
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
        );
    }
    let _ = (
        NamespaceAction::Kept,
        OplogMode::Drop,
        RewriteOptions::default(),
    );
}
