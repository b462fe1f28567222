//! Shared set-up of the fuzz targets: fixed rule sets covering every transform, and the
//! framing helper that wraps a fuzzed oplog entry into an archive.

use std::sync::OnceLock;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

/// A fixed key: fuzzing is about parsing, not secrecy.
pub const KEY: &[u8] = b"fuzzing key, not a secret, 32 bytes";

/// Rules for MongoDB collections seen in the seed archives (test.foo, the SyRF collections):
/// every transform, plus exclusions and limits (`fuzz/rules/mongo.yaml`).
pub const MONGO_RULES: &str = include_str!("../rules/mongo.yaml");

/// Rules for SQL tables seen in the seed dumps (sakila, pagila, the fixtures) plus `users`
/// (`fuzz/rules/sql.yaml`).
pub const SQL_RULES: &str = include_str!("../rules/sql.yaml");

fn anonymizer(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "fuzz.yaml").expect("the fuzz rules parse");
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(KEY).expect("key long enough")),
    )
    .expect("the fuzz rules compile")
}

/// The anonymizer of [`MONGO_RULES`].
pub fn mongo_anonymizer() -> &'static Anonymizer {
    static A: OnceLock<Anonymizer> = OnceLock::new();
    A.get_or_init(|| anonymizer(MONGO_RULES))
}

/// The anonymizer of [`SQL_RULES`].
pub fn sql_anonymizer() -> &'static Anonymizer {
    static A: OnceLock<Anonymizer> = OnceLock::new();
    A.get_or_init(|| anonymizer(SQL_RULES))
}

/// No rules at all: a successful rewrite must then be byte-identical.
pub fn empty_anonymizer() -> &'static Anonymizer {
    static A: OnceLock<Anonymizer> = OnceLock::new();
    A.get_or_init(|| Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).expect("empty rules"))
}

fn bson_doc(pairs: &[(&str, bson::Bson)]) -> Vec<u8> {
    let mut d = bson::Document::new();
    for (k, v) in pairs {
        d.insert(*k, v.clone());
    }
    bson::to_vec(&d).expect("encodable")
}

/// An archive whose prelude lists `test.foo` and the oplog, and whose oplog namespace holds
/// `entry` (any bytes, framed as one document) with the right CRC.
pub fn archive_with_oplog_entry(entry: &[u8]) -> Vec<u8> {
    use bson::Bson;
    let mut out = Vec::with_capacity(entry.len() + 512);
    out.extend_from_slice(&mongo_archive::reader::MAGIC);
    out.extend(bson_doc(&[
        ("concurrent_collections", Bson::Int32(1)),
        ("version", Bson::String("0.1".into())),
        ("server_version", Bson::String("4.0.2".into())),
        ("tool_version", Bson::String("r4.1.3".into())),
    ]));
    for (db, coll) in [("test", "foo"), ("", "oplog")] {
        out.extend(bson_doc(&[
            ("db", Bson::String(db.into())),
            ("collection", Bson::String(coll.into())),
            ("metadata", Bson::String(String::new())),
            ("size", Bson::Int32(0)),
            ("type", Bson::String("collection".into())),
        ]));
    }
    out.extend_from_slice(&mongo_archive::reader::TERMINATOR);
    let header = |db: &str, coll: &str, eof: bool, crc: u64| {
        bson_doc(&[
            ("db", Bson::String(db.into())),
            ("collection", Bson::String(coll.into())),
            ("EOF", Bson::Boolean(eof)),
            ("CRC", Bson::Int64(crc as i64)),
        ])
    };
    for (db, coll, docs) in [("test", "foo", &[][..]), ("", "oplog", &[entry][..])] {
        out.extend(header(db, coll, false, 0));
        for d in docs {
            out.extend_from_slice(d);
        }
        out.extend_from_slice(&mongo_archive::reader::TERMINATOR);
        let mut crc = mongo_archive::Crc64::new();
        for d in docs {
            crc.update(d);
        }
        out.extend(header(db, coll, true, crc.value()));
        out.extend_from_slice(&mongo_archive::reader::TERMINATOR);
    }
    out
}
