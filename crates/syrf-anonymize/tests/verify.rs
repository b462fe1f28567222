//! `syrf-anonymize verify`: finds original covered values in an output, by field path, without
//! printing them; `--allow` accepts a path; clean outputs pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bson::{doc, Document};

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");
const KEY: &str = "verify-test-key-0123456789abcdef";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

fn verify(original: &Path, rules: &Path, output: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut c = Command::new(BIN);
    c.arg("verify")
        .arg("--original")
        .arg(original)
        .arg("--rules")
        .arg(rules)
        .args(extra)
        .arg(output);
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn anonymize(input: &Path, rules: &Path, output: &Path) {
    let out = run(&[
        "--quiet".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_shipped_sample_anonymized_passes_and_the_original_fails() {
    let dir = tempfile::tempdir().unwrap();
    let rules = repo().join("rules/syrf.yaml");
    let sample = repo().join("samples/syrf-sample.archive");
    let out = dir.path().join("out.archive");
    anonymize(&sample, &rules, &out);
    let (code, stderr) = verify(&sample, &rules, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("no covered value found"), "{stderr}");
    // The original itself: every covered field is a hit, named by path, no value printed.
    let (code, stderr) = verify(&sample, &rules, &sample, &[]);
    assert_eq!(code, Some(5), "{stderr}");
    for path in [
        "syrftest.pmInvestigator Email",
        "syrftest.pmInvestigator FullName.First",
        "syrftest.pmProject Registrations.Email",
    ] {
        assert!(stderr.contains(path), "{path}: {stderr}");
    }
    assert!(!stderr.contains('@'), "a value was printed: {stderr}");
}

/// An archive of one collection `app.people` holding `docs`.
fn archive(docs: &[Document]) -> Vec<u8> {
    let raw: Vec<Vec<u8>> = docs.iter().map(|d| bson::to_vec(d).unwrap()).collect();
    archive_raw(&raw)
}

/// The same from raw document bytes.
fn archive_raw(docs: &[Vec<u8>]) -> Vec<u8> {
    let mut a = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |a: &mut Vec<u8>, d: &Document| a.extend(bson::to_vec(d).unwrap());
    put(
        &mut a,
        &doc! {"concurrent_collections": 1i32, "version": "0.1", "server_version": "7.0.14", "tool_version": "100.10.0"},
    );
    put(
        &mut a,
        &doc! {"db": "app", "collection": "people", "metadata": "", "size": 0i32, "type": "collection"},
    );
    a.extend([0xff; 4]);
    put(
        &mut a,
        &doc! {"db": "app", "collection": "people", "EOF": false, "CRC": 0i64},
    );
    let mut crc = mongo_archive::Crc64::new();
    for d in docs {
        crc.update(d);
        a.extend(d);
    }
    a.extend([0xff; 4]);
    put(
        &mut a,
        &doc! {"db": "app", "collection": "people", "EOF": true, "CRC": crc.value() as i64},
    );
    a.extend([0xff; 4]);
    a
}

#[test]
fn values_copied_into_uncovered_text_are_found_and_allow_accepts_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  people:\n    fields:\n      email: hash_email\n      phone: digits\n      name: keep\n",
    )
    .unwrap();
    let original = dir.path().join("in.archive");
    std::fs::write(
        &original,
        archive(&[
            doc! {"email": "Zeb.Canary@Example.org", "phone": "+44 20 7946 0958", "name": "Ada", "notes": "nothing"},
            doc! {"email": "other@example.net", "phone": "555", "name": "Bob",
                  "notes": "Please write to ZEB.CANARY@example.org, or call.",
                  "memo": "ring (44) 20-7946-0958 today",
                  "meta": {"contact": "zeb.canary@example.org"}},
        ]),
    )
    .unwrap();
    let out = dir.path().join("out.archive");
    anonymize(&original, &rules, &out);
    let (code, stderr) = verify(&original, &rules, &out, &[]);
    assert_eq!(code, Some(5), "{stderr}");
    assert!(
        stderr
            .contains("LEAK app.people notes: 1 value(s) from the original (first in document #2)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("LEAK app.people meta.contact: 1"),
        "{stderr}"
    );
    // A phone number written differently inside text is found by its digits.
    assert!(stderr.contains("LEAK app.people memo: 1"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("canary"), "{stderr}");
    assert!(!stderr.contains("7946"), "{stderr}");
    // `keep` fields are not collected: "Ada" and "Bob" are not reported.
    assert!(!stderr.contains(" name:"), "{stderr}");
    let (code, stderr) = verify(
        &original,
        &rules,
        &out,
        &[
            "--allow",
            "people.notes",
            "--allow",
            "app.people.meta.contact",
            "--allow",
            "memo",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn sql_is_refused_clearly_for_now() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  users:\n    columns:\n      email: hash_email\n",
    )
    .unwrap();
    let dump = dir.path().join("d.sql");
    std::fs::write(
        &dump,
        "-- MySQL dump 10.13\nCREATE TABLE `users` (`email` text);\n",
    )
    .unwrap();
    let (code, stderr) = verify(&dump, &rules, &dump, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("mongodump archives only"), "{stderr}");
}

#[test]
fn nesting_deeper_than_mongodb_allows_is_an_error_not_a_crash() {
    // {a: [[[ ... ["secret"] ... ]]]}, 100,000 arrays deep, written front to back.
    let depth = 100_000;
    let mut sizes = Vec::with_capacity(depth);
    let mut size = 4 + (1 + 2 + 4 + 7) + 1;
    for _ in 0..depth {
        sizes.push(size);
        size = 4 + 3 + size + 1;
    }
    let top = 4 + 3 + sizes[depth - 1] + 1;
    let mut d = Vec::with_capacity(top);
    d.extend((top as i32).to_le_bytes());
    d.extend([0x04, b'a', 0]);
    for k in (0..depth).rev() {
        d.extend((sizes[k] as i32).to_le_bytes());
        if k > 0 {
            d.extend([0x04, b'0', 0]);
        }
    }
    d.extend([0x02, b'0', 0, 7, 0, 0, 0]);
    d.extend(b"secret\0");
    d.extend(std::iter::repeat_n(0u8, depth + 1));
    assert_eq!(d.len(), top);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules:\n  people:\n    fields:\n      a: null\n").unwrap();
    let original = dir.path().join("deep.archive");
    std::fs::write(&original, archive_raw(&[d])).unwrap();
    let (code, stderr) = verify(&original, &rules, &original, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("deeper than 200 levels"), "{stderr}");
}
