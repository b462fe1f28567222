//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use mongo_archive::{rewrite_archive, ArchiveError, RewriteOptions, RewriteSummary};

/// The real archives' directory (`$SYRF_TESTDATA_DIR/mongo`), or `None` after a loud skip line.
pub fn testdata_dir() -> Option<PathBuf> {
    syrf_testdata::conformance_dir!("mongo")
}

/// Every real archive, decompressed: (file name, bytes); `None` (skip) without the test data.
pub fn real_archives() -> Option<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(testdata_dir()?)
        .expect("the test data directory is readable")
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
    Some(out)
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
