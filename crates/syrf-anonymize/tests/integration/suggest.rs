//! `scan --suggest` gives rules that `verify` then passes: free text holding personal data gets
//! a transform of the whole text (not `digits` or `hash_email`, which leave the words around),
//! and names the dictionaries do not know are found in fields named for them.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Output;

const KEY: &str = "suggest-test-key-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

const DUMP: &str = "-- MySQL dump 10.13\n\
CREATE TABLE `customers` (\n  `id` int NOT NULL,\n  `first_name` varchar(50),\n  `last_name` varchar(50),\n  \
`email` varchar(100),\n  `phone` varchar(30),\n  `notes` text\n);\n\
INSERT INTO `customers` VALUES \
(1,'Chidi','Okonkwo','chidi.okonkwo@example.org','+44 20 7946 0958','Call back on +44 20 7946 0111 after 5pm, asked for Mr Okonkwo'),\
(2,'Yuki','Nakamura','yuki.n@example.net','+81 3-1234-5678','Prefers email: yuki.private@example.jp, never phone'),\
(3,'Siobhán','Ní Bhriain','siobhan@example.ie','+353 1 234 5678','VIP since 2019'),\
(4,'Kwabena','Asante-Mensah','kwabena@example.gh','+233 30 123 4567','Met at the Accra office; wife Ama Asante-Mensah');\n";

/// The rules `scan --suggest` prints for `dump`.
fn suggest(dump: &Path) -> String {
    let out = run(&["scan".as_ref(), "--suggest".as_ref(), dump.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

/// Anonymizes `dump` with `rules` and runs `verify`; returns verify's report.
fn run_and_verify(dir: &Path, dump: &Path, rules: &str) -> String {
    let rules_path = dir.join("suggested.yaml");
    std::fs::write(&rules_path, rules).unwrap();
    let output = dir.join("out");
    let out = run(&[
        "--rules".as_ref(),
        rules_path.as_os_str(),
        "--strict".as_ref(),
        "-q".as_ref(),
        "--input".as_ref(),
        dump.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{rules}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "verify".as_ref(),
        "--original".as_ref(),
        dump.as_os_str(),
        "--rules".as_ref(),
        rules_path.as_os_str(),
        output.as_os_str(),
    ]);
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{rules}\n{report}");
    report
}

#[test]
fn suggestions_cover_free_text_as_text_and_pass_verify() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("crm.sql");
    std::fs::write(&dump, DUMP).unwrap();
    let rules = suggest(&dump);
    let line = |field: &str| {
        rules
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{field}\":")))
            .unwrap_or_else(|| panic!("no rule for {field}:\n{rules}"))
            .to_owned()
    };
    // A phone number and an address inside a note: the whole note is replaced.
    assert!(line("notes").contains("kind: paragraph"), "{rules}");
    // Whole values keep their precise transforms.
    assert!(line("email").contains("hash_email"), "{rules}");
    assert!(line("phone").contains("digits"), "{rules}");
    // Names no dictionary holds, in fields named for them.
    assert!(line("last_name").contains("last_name"), "{rules}");
    assert!(line("first_name").contains("first_name"), "{rules}");

    let report = run_and_verify(dir.path(), &dump, &rules);
    assert!(report.contains("no covered value found"), "{report}");
    assert!(!report.contains(" 0 distinct covered values"), "{report}");
}

/// The suggestions for the shipped PostgreSQL fixture and the sample archive pass `verify`.
#[test]
fn suggestions_for_the_shipped_fixtures_pass_verify() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in [
        "tests/fixtures/sql/rails.pg.sql",
        "samples/syrf-sample.archive",
    ] {
        let dump = root().join(fixture);
        let rules = suggest(&dump);
        assert!(rules.contains("hash_email"), "{fixture}: {rules}");
        let report = run_and_verify(dir.path(), &dump, &rules);
        assert!(!report.contains(" 0 distinct covered values"), "{report}");
    }
}
