//! The real mongodump archives in $SYRF_TESTDATA_DIR/mongo (default ../shared/testdata/mongo): round trips and rules.

use crate::common;

use common::*;
use mongo_archive::{verify, ErrorKind};

#[test]
fn no_rules_round_trip_is_byte_identical_and_verifies() {
    for (name, bytes) in real_archives() {
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
    let all = all_real_archives();
    if all.is_empty() {
        return;
    }
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
    // Its framing is valid; only its metadata JSON is not (see below).
    let bad = verify::verify(get(BAD_FORMAT)).unwrap();
    assert_eq!(bad.namespace("test.ixtest").unwrap().docs, 0);
    let argon = verify::verify(get("argon-lab_base_dump.archive.gz")).unwrap();
    assert_eq!(argon.namespace("test.test").unwrap().docs, 2);
}

/// mongorestore refuses `bad-format` when it parses the collection metadata: so does the
/// rewriter, whatever the rules (even with the collection excluded), naming the namespace.
#[test]
fn bad_format_metadata_is_refused_like_mongorestore_does() {
    let Some(bytes) = real_archive(BAD_FORMAT) else {
        return;
    };
    for anon in [empty(), rules("exclusions:\n  - ixtest\n")] {
        let (out, r) = run(&bytes, &anon, &keep_all());
        let err = r.unwrap_err();
        assert!(matches!(err.kind, ErrorKind::BadMetadata { .. }), "{err}");
        assert_eq!(err.namespace.as_deref(), Some("test.ixtest"));
        let msg = err.to_string();
        assert!(msg.contains("not valid JSON"), "{msg}");
        assert!(!msg.contains("quoted_idx"), "{msg}");
        assert!(verify::verify(&out).is_err());
    }
}
