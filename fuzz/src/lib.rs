//! Shared set-up of the fuzz targets: fixed rule sets covering every transform, and the
//! framing helper that wraps a fuzzed oplog entry into an archive.

use std::sync::OnceLock;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

/// A fixed key: fuzzing is about parsing, not secrecy.
pub const KEY: &[u8] = b"fuzzing key, not a secret, 32 bytes";

/// Field rules of one fuzzed collection or table, using every transform.
pub const FIELD_RULES: &str = "      Email: hash_email
      email: {transform: hash_email, local_length: 16}
      FirstName: sequential
      first_name: {transform: fake, kind: first_name}
      LastName: sequential_suffix
      last_name: {transform: fake, kind: last_name, locale: ja_jp}
      Auth0Id: hash
      a: {transform: hmac, length: 20, encoding: base32}
      b.c: {transform: mask, keep_start: 1, keep_end: 2}
      arr.0.x: digits
      arr.y: {transform: constant, value: redacted}
      phone: digits
      address: {transform: fake, kind: street_address}
      picture: hash
      password: null
      gone: remove
      kept: keep
      when: {transform: date_shift, max_days: 400}
      last_update: date_shift
      n: {transform: constant, value: 7}
      payload.user.email: hash_email
      payload.data.command: {transform: constant, value: x}
      FullName.First: sequential
      Registrations.Email: hash_email
";

fn anonymizer(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "fuzz.yaml").expect("the fuzz rules parse");
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(KEY).expect("key long enough")),
    )
    .expect("the fuzz rules compile")
}

/// Rules for MongoDB collections seen in the seed archives (test.foo, the SyRF collections),
/// plus exclusions and limits.
pub fn mongo_anonymizer() -> &'static Anonymizer {
    static A: OnceLock<Anonymizer> = OnceLock::new();
    A.get_or_init(|| {
        let yaml = format!(
            "rules:\n  test.foo:\n    fields:\n{FIELD_RULES}  pmInvestigator:\n    fields:\n{FIELD_RULES}  \
             pmProject:\n    fields:\n      ContactEmail: hash_email\n      Registrations.Email: hash_email\n\
             exclusions:\n  - pmAuditLog\n  - system.sessions\nsize_limits:\n  pmStudy:\n    max_documents: 3\n"
        );
        anonymizer(&yaml)
    })
}

/// Rules for SQL tables seen in the seed dumps (sakila, pagila, the fixtures) plus `users`.
pub fn sql_anonymizer() -> &'static Anonymizer {
    static A: OnceLock<Anonymizer> = OnceLock::new();
    A.get_or_init(|| {
        let mut yaml = String::from("rules:\n");
        for t in [
            "users",
            "customer",
            "staff",
            "address",
            "actor",
            "jobs",
            "directus_users",
        ] {
            yaml.push_str(&format!("  {t}:\n    columns:\n{FIELD_RULES}"));
        }
        yaml.push_str(
            "exclusions:\n  - film_text\n  - payment\nschema_only:\n  - sessions\n  - rental\n\
             size_limits:\n  film:\n    max_rows: 5\n",
        );
        anonymizer(&yaml)
    })
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
