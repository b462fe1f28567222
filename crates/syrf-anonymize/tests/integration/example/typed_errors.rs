//! The library's error as an embedder meets it: `syrf_anonymize::anonymize` on a damaged
//! archive, a damaged SQL dump and a damaged pg_dump archive, and `load_rules` on a bad rules
//! file, each giving the typed variant that carries the format crate's own error (matched, and
//! found again through `std::error::Error::source` and `downcast_ref`), with its byte offset,
//! collection or table and line; the message names them and holds no value from the data.

use std::error::Error as _;
use std::io::Write as _;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use bson::doc;
use syrf_anonymize::{
    anonymize, exit, load_rules, ArchiveError, ArchiveErrorKind, Error, Format, Options, Pass,
    PgArchiveError, RulesError, SqlError,
};

/// Values planted in the damaged inputs; no error message may hold one.
const CANARIES: [&str; 3] = ["zebediah.canary@example.org", "Zebediah", "Quuxworth"];

fn anonymizer(rules: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(rules, "inline.yaml").unwrap();
    let key = Key::from_bytes(b"typed-errors-test-key-0123456789").unwrap();
    Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap()
}

fn assert_no_value(err: &Error) {
    let text = err.to_string();
    for v in CANARIES {
        assert!(!text.contains(v), "the error prints a value: {text}");
    }
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        assert!(
            CANARIES.iter().all(|v| !text.contains(v)),
            "a source prints a value: {text}"
        );
        source = s.source();
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn bson_bytes(d: &bson::Document) -> Vec<u8> {
    bson::to_vec(d).unwrap()
}

/// An archive of `test.people` with three documents, the second one's length lying (3 bytes
/// short); the CRC is right. Returns it and the second document's offset.
fn damaged_archive() -> (Vec<u8>, u64) {
    let person = bson_bytes(&doc! {
        "_id": 1i32, "Email": CANARIES[0], "FirstName": CANARIES[1], "LastName": CANARIES[2],
    });
    let mut bad = person.clone();
    bad[..4].copy_from_slice(&(person.len() as i32 - 3).to_le_bytes());
    let docs = [person.clone(), bad, person];
    let mut a = vec![0x6d, 0xe2, 0x99, 0x81];
    a.extend(bson_bytes(&doc! {
        "concurrent_collections": 1i32, "version": "0.1",
        "server_version": "7.0.14", "tool_version": "100.10.0",
    }));
    a.extend(bson_bytes(&doc! {
        "db": "test", "collection": "people", "metadata": "", "size": 0i32, "type": "collection",
    }));
    a.extend([0xff; 4]);
    a.extend(bson_bytes(
        &doc! {"db": "test", "collection": "people", "EOF": false, "CRC": 0i64},
    ));
    let mut second = 0;
    for (i, d) in docs.iter().enumerate() {
        if i == 1 {
            second = a.len() as u64;
        }
        a.extend(d);
    }
    a.extend([0xff; 4]);
    let crc = docs.iter().fold(mongo_archive::Crc64::new(), |mut c, d| {
        c.update(d);
        c
    });
    a.extend(bson_bytes(
        &doc! {"db": "test", "collection": "people", "EOF": true, "CRC": crc.value() as i64},
    ));
    a.extend([0xff; 4]);
    (a, second)
}

#[test]
fn a_damaged_archive_is_error_archive_with_its_offset_and_namespace() {
    let anon = anonymizer("rules:\n  test.people:\n    fields:\n      Email: hash_email\n      FirstName: sequential\n");
    let (archive, offset) = damaged_archive();
    for gzipped in [false, true] {
        let input = if gzipped {
            gzip(&archive)
        } else {
            archive.clone()
        };
        let err = anonymize(&input[..], &mut Vec::new(), &anon, &Options::default()).unwrap_err();
        match &err {
            Error::Archive {
                pass: Pass::Rewrite,
                gzip_input,
                source,
            } => {
                assert_eq!(*gzip_input, gzipped);
                assert_eq!(source.offset, offset, "{err}");
                assert_eq!(source.namespace.as_deref(), Some("test.people"));
                assert!(
                    matches!(
                        source.kind,
                        ArchiveErrorKind::BadLength { .. } | ArchiveErrorKind::Malformed { .. }
                    ),
                    "{:?}",
                    source.kind
                );
            }
            other => panic!("not Error::Archive: {other:?}"),
        }
        assert_eq!(err.offset(), Some(offset));
        assert_eq!(err.table(), Some("test.people"));
        assert_eq!(err.line(), None);
        assert_eq!(err.exit_code(), exit::BAD_INPUT);
        assert_eq!(err.kind(), "bad_input");
        // The chain: an embedder that only holds a `dyn Error` finds mongo-archive's error.
        let dyn_err: &(dyn std::error::Error + 'static) = &err;
        let found = dyn_err
            .source()
            .and_then(|s| s.downcast_ref::<ArchiveError>())
            .expect("the source is the ArchiveError");
        assert_eq!(found.offset, offset);
        let text = err.to_string();
        assert!(text.starts_with("mongodump archive: "), "{text}");
        assert!(text.contains(&format!("input byte {offset}")), "{text}");
        assert!(text.contains("namespace `test.people`"), "{text}");
        assert_eq!(
            text.ends_with("(byte offsets count the decompressed bytes of the gzip input)"),
            gzipped,
            "{text}"
        );
        assert_no_value(&err);
    }
}

const MYSQL_HEAD: &str = "-- MySQL dump 10.13\n\
CREATE TABLE `users` (`id` int, `email` varchar(80), `name` varchar(40), `phone` varchar(30));\n";

#[test]
fn a_damaged_sql_dump_is_error_sql_with_its_line_offset_and_table() {
    let anon = anonymizer(
        "rules:\n  users:\n    columns:\n      email: hash_email\n      name: sequential\n",
    );
    // The third line's row never ends: a comment opened inside it runs to the end of input.
    let dump = format!(
        "{MYSQL_HEAD}INSERT INTO `users` VALUES (1,'{}','{}','{}') /* never closed ;\n-- Dump completed\n",
        CANARIES[0], CANARIES[1], CANARIES[2]
    );
    let err = anonymize(dump.as_bytes(), &mut Vec::new(), &anon, &Options::default()).unwrap_err();
    let (line, offset) = match &err {
        Error::Sql {
            format: Format::MySql,
            pass: Pass::Rewrite,
            gzip_input: false,
            source:
                SqlError::Syntax {
                    line,
                    offset,
                    table,
                    ..
                },
        } => {
            assert_eq!(*line, 3, "{err}");
            assert_eq!(table.as_deref(), Some("users"), "{err}");
            (*line, *offset)
        }
        other => panic!("not Error::Sql with a syntax error: {other:?}"),
    };
    assert!(offset >= MYSQL_HEAD.len() as u64, "{err}");
    assert_eq!(err.line(), Some(line));
    assert_eq!(err.offset(), Some(offset));
    assert_eq!(err.table(), Some("users"));
    assert_eq!(err.exit_code(), exit::BAD_INPUT);
    let dyn_err: &(dyn std::error::Error + 'static) = &err;
    let found = dyn_err
        .source()
        .and_then(|s| s.downcast_ref::<SqlError>())
        .expect("the source is the SqlError");
    assert_eq!(found.line(), Some(line));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "mysql dump: line {line}, byte {offset} (table users): "
        )),
        "{text}"
    );
    assert_no_value(&err);
}

#[test]
fn a_damaged_pg_dump_archive_is_error_pg_archive_with_its_offset() {
    let anon = anonymizer("rules:\n  public.users:\n    columns:\n      email: hash_email\n");
    // A custom archive's magic, version and format code, then a header cut short.
    let mut archive = b"PGDMP\x01\x0e\x00\x04\x08\x01".to_vec();
    archive.extend(CANARIES[0].as_bytes());
    let err = anonymize(&archive[..], &mut Vec::new(), &anon, &Options::default()).unwrap_err();
    match &err {
        Error::PgArchive {
            gzip_input: false,
            source,
        } => assert!(source.offset().is_some(), "{err:?}"),
        other => panic!("not Error::PgArchive: {other:?}"),
    }
    assert!(err.offset().is_some());
    assert_eq!(err.exit_code(), exit::BAD_INPUT);
    let dyn_err: &(dyn std::error::Error + 'static) = &err;
    assert!(dyn_err
        .source()
        .is_some_and(|s| s.downcast_ref::<PgArchiveError>().is_some()));
    assert!(
        err.to_string()
            .contains(&format!("byte {}", err.offset().unwrap())),
        "{err}"
    );
    assert_no_value(&err);
}

#[test]
fn a_bad_rules_file_is_error_rules_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(
        &path,
        "rules:\n  users:\n    columns:\n      email: hash_email\n      name: hash_emial\n",
    )
    .unwrap();
    let err = load_rules(&path).unwrap_err();
    match &err {
        Error::Rules(RulesError { line, file, .. }) => {
            assert_eq!(*line, 5, "{err}");
            assert_eq!(file, &path.display().to_string());
        }
        other => panic!("not Error::Rules: {other:?}"),
    }
    assert_eq!(err.line(), Some(5));
    assert_eq!(err.exit_code(), exit::USAGE);
    assert_eq!(err.kind(), "usage");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:5:", path.display())),
        "{err}"
    );

    let missing = dir.path().join("missing.yaml");
    let err = load_rules(&missing).unwrap_err();
    match &err {
        Error::RulesFile { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("not Error::RulesFile: {other:?}"),
    }
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(err
        .source()
        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()));
}
