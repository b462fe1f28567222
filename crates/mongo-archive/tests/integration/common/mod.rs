//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::{rewrite_archive, ArchiveError, RewriteOptions, RewriteSummary};

/// The real archives' directory: `$SYRF_TESTDATA_DIR/mongo`, by default
/// `<workspace root>/../shared/testdata/mongo`. `None` (with a loud line on stderr) when absent.
pub fn testdata_dir() -> Option<PathBuf> {
    syrf_testdata::conformance_dir!("mongo")
}

/// The real archive mongorestore refuses (its metadata is not valid JSON).
pub const BAD_FORMAT: &str = "mongo-tools_bad-format.archive";

/// Every real archive, decompressed: (file name, bytes); empty when the test data is absent.
pub fn all_real_archives() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = testdata_dir() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("shared testdata readable")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.ends_with(".archive") || n.ends_with(".archive.gz")
        })
        .collect();
    entries.sort();
    for p in entries {
        let raw = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let bytes = if name.ends_with(".gz") {
            let mut d = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut d)
                .unwrap();
            d
        } else {
            raw
        };
        out.push((name, bytes));
    }
    assert!(
        out.len() >= 7,
        "expected the 7 real archives, found {}",
        out.len()
    );
    out
}

/// The real archives mongorestore accepts (all but [`BAD_FORMAT`]).
pub fn real_archives() -> Vec<(String, Vec<u8>)> {
    all_real_archives()
        .into_iter()
        .filter(|(n, _)| n != BAD_FORMAT)
        .collect()
}

/// One real archive by file name; `None` when the test data is absent.
pub fn real_archive(name: &str) -> Option<Vec<u8>> {
    let all = all_real_archives();
    if all.is_empty() {
        return None;
    }
    Some(
        all.into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is missing from the test data"))
            .1,
    )
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn syrf_rules() -> RuleSet {
    let path = repo_root().join("rules/syrf.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    RuleSet::from_yaml(&text, "rules/syrf.yaml").unwrap()
}

pub fn keyed(rules: RuleSet, key: &[u8]) -> Anonymizer {
    Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(key).unwrap())).unwrap()
}

pub fn empty() -> Anonymizer {
    Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap()
}

pub fn rules(yaml: &str) -> Anonymizer {
    keyed(
        RuleSet::from_yaml(yaml, "test.yaml").unwrap(),
        b"test key of enough length 123456",
    )
}

pub fn run(
    input: &[u8],
    anon: &Anonymizer,
    opts: &RewriteOptions,
) -> (Vec<u8>, Result<RewriteSummary, ArchiveError>) {
    let mut out = Vec::new();
    let r = rewrite_archive(input, &mut out, anon, opts);
    (out, r)
}

pub fn keep_all() -> RewriteOptions {
    RewriteOptions {
        keep_users: true,
        ..Default::default()
    }
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

/// One namespace of a hand-built archive: database, collection, raw documents.
pub struct NsDocs {
    pub db: String,
    pub collection: String,
    pub metadata: String,
    pub docs: Vec<Vec<u8>>,
}

impl NsDocs {
    /// A namespace with `docs` encoded by the `bson` crate.
    pub fn new(db: &str, collection: &str, docs: &[bson::Document]) -> NsDocs {
        NsDocs {
            db: db.into(),
            collection: collection.into(),
            metadata: if db.is_empty() {
                String::new()
            } else {
                "{\"options\":{},\"indexes\":[]}".into()
            },
            docs: docs.iter().map(|d| bson::to_vec(d).unwrap()).collect(),
        }
    }
}

/// A mongodump archive built by hand: header, prelude, one data segment and an EOF block per
/// namespace (CRC by the verifier's reference implementation).
pub fn build_archive(namespaces: &[NsDocs]) -> Vec<u8> {
    use bson::doc;
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |out: &mut Vec<u8>, d: &bson::Document| out.extend(bson::to_vec(d).unwrap());
    put(
        &mut out,
        &doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.14", "tool_version": "100.10.0"},
    );
    for ns in namespaces {
        put(
            &mut out,
            &doc! {"db": &ns.db, "collection": &ns.collection, "metadata": &ns.metadata, "size": 0, "type": "collection"},
        );
    }
    out.extend([0xff; 4]);
    for ns in namespaces {
        put(
            &mut out,
            &doc! {"db": &ns.db, "collection": &ns.collection, "EOF": false, "CRC": 0i64},
        );
        let mut all = Vec::new();
        for d in &ns.docs {
            all.extend_from_slice(d);
        }
        out.extend_from_slice(&all);
        out.extend([0xff; 4]);
        let crc = mongo_archive::verify::crc64_reference(&all);
        put(
            &mut out,
            &doc! {"db": &ns.db, "collection": &ns.collection, "EOF": true, "CRC": crc as i64},
        );
        out.extend([0xff; 4]);
    }
    out
}

/// The documents of namespace `ns` of a verified archive, decoded.
pub fn docs_of(archive: &[u8], ns: &str) -> Vec<bson::Document> {
    let v = mongo_archive::verify::verify_keep_documents(archive).unwrap();
    v.namespace(ns)
        .map(|n| {
            n.documents
                .iter()
                .map(|d| bson::Document::from_reader(&d[..]).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// The summary of a rewrite as text, every field the threads must agree on (an error as its message).
pub fn summary_text(r: &Result<RewriteSummary, ArchiveError>) -> String {
    match r {
        Ok(s) => format!(
            "{} {} {:?}",
            s.bytes_in,
            s.bytes_out,
            s.namespaces
                .iter()
                .map(|n| {
                    (
                        n.name(),
                        n.action,
                        n.docs_in,
                        n.docs_out,
                        n.docs_changed,
                        n.bytes_in,
                        n.bytes_out,
                        n.shadowing_keys,
                        &n.shadowed_rules,
                        &n.field_names,
                    )
                })
                .collect::<Vec<_>>()
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// Rewrites `input` with 1, 2 and 4 threads (a fresh anonymizer each time) and asserts equal
/// outputs, summaries, errors (with their offsets) and (for successful runs) rule counters. Returns the 1-thread output.
pub fn same_for_all_thread_counts(
    what: &str,
    input: &[u8],
    anon: impl Fn() -> Anonymizer,
    opts: &RewriteOptions,
) -> (Vec<u8>, Result<RewriteSummary, ArchiveError>) {
    let serial_anon = anon();
    let (serial, serial_r) = run(input, &serial_anon, opts);
    for threads in [2, 4] {
        let a = anon();
        let (out, r) = run(
            input,
            &a,
            &RewriteOptions {
                threads,
                ..opts.clone()
            },
        );
        assert!(
            out == serial,
            "{what}: output with {threads} threads differs from 1 thread ({} vs {} bytes)",
            out.len(),
            serial.len()
        );
        assert_eq!(
            summary_text(&r),
            summary_text(&serial_r),
            "{what}: {threads} threads"
        );
        if let (Err(a), Err(b)) = (&r, &serial_r) {
            assert_eq!(a.offset, b.offset, "{what}: {threads} threads");
        }
        if serial_r.is_ok() {
            assert_eq!(
                a.report(),
                serial_anon.report(),
                "{what}: {threads} threads"
            );
        }
    }
    (serial, serial_r)
}

pub fn generated(seed: u64, mb: u64) -> Vec<u8> {
    generate_vec(&SynthConfig {
        seed,
        target_bytes: mb << 20,
        ..SynthConfig::default()
    })
}
