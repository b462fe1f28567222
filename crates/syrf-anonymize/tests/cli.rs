//! The binary end to end: key handling, `check`, exit codes, files renamed only on success,
//! gzip in and out, pass-through of the real archives and dumps.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{gunzip, run_with_stdin};

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");
const KEY: &str = "cli-test-key-0123456789abcdef";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shared() -> PathBuf {
    repo().join("../shared/testdata")
}

fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SYRF_ANONYMIZE_KEY");
    c
}

fn empty_rules(dir: &Path) -> PathBuf {
    let p = dir.join("empty.yaml");
    std::fs::write(&p, "# no rules\n").unwrap();
    p
}

#[test]
fn check_accepts_shipped_rules_and_rejects_typos() {
    for rules in ["syrf.yaml", "laravel.yaml", "directus.yaml", "rails.yaml"] {
        let path = repo().join("rules").join(rules);
        if !path.exists() && rules != "syrf.yaml" {
            continue;
        }
        let out = cmd()
            .args(["check", "--rules"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{rules}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "rules:\n  users:\n    fields:\n      email: hash_emial\n",
    )
    .unwrap();
    let out = cmd().args(["check", "--rules"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":4:7:") && err.contains("did you mean `hash_email`"),
        "{err}"
    );
}

#[test]
fn refuses_to_run_without_a_key_and_never_takes_one_as_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let out = run_with_stdin(
        {
            let mut c = cmd();
            c.arg("--rules").arg(&rules);
            c
        },
        b"-- MySQL dump\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key"));
    let out = cmd().args(["--key", "secret"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "there is no --key flag");
    // A short key is refused, and its bytes are not echoed.
    let out = run_with_stdin(
        {
            let mut c = cmd();
            c.arg("--rules")
                .arg(&rules)
                .env("SYRF_ANONYMIZE_KEY", "tiny-secret");
            c
        },
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("tiny-secret"));
}

#[test]
fn unkeyed_warns() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let archive = std::fs::read(shared().join("mongo/mongo-tools_test.bar.archive")).unwrap();
    let mut c = cmd();
    c.arg("--rules").arg(&rules).arg("--unkeyed");
    let out = run_with_stdin(c, &archive);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNKEYED"));
    assert_eq!(out.stdout, archive);
}

#[test]
fn real_archives_pass_through_byte_identical_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    for entry in std::fs::read_dir(shared().join("mongo")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".archive") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--quiet")
            .env("SYRF_ANONYMIZE_KEY", KEY);
        let out = run_with_stdin(c, &input);
        if name == "mongo-tools_bad-format.archive" {
            // mongorestore refuses its metadata JSON: so does the rewriter (bad input).
            assert_eq!(out.status.code(), Some(3), "{name}");
            continue;
        }
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if name.ends_with(".gz") {
            assert_eq!(&out.stdout[..2], &[0x1f, 0x8b], "{name}: gzip in, gzip out");
            assert_eq!(gunzip(&out.stdout), gunzip(&input), "{name}");
        } else {
            assert_eq!(out.stdout, input, "{name}");
        }
    }
}

#[test]
fn compression_can_be_forced_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let plain = std::fs::read(shared().join("mongo/mongo-tools_dump-w-oplog.archive")).unwrap();
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .args(["--quiet", "--compress", "gzip", "--level", "9"]);
    c.env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &plain);
    assert!(out.status.success());
    assert_eq!(gunzip(&out.stdout), plain);
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .args(["--quiet", "--compress", "none"]);
    c.env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &out.stdout);
    assert!(out.status.success());
    assert_eq!(out.stdout, plain);
}

#[test]
fn truncated_input_fails_and_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let archive = std::fs::read(shared().join("mongo/mongo-tools_dump-w-oplog.archive")).unwrap();
    let input = dir.path().join("truncated.archive");
    let output = dir.path().join("out.archive");
    for cut in [10, 100, archive.len() / 2, archive.len() - 1] {
        std::fs::write(&input, &archive[..cut]).unwrap();
        let out = cmd()
            .arg("--rules")
            .arg(&rules)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .env("SYRF_ANONYMIZE_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "cut at {cut}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!output.exists(), "cut at {cut}: no file renamed into place");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn output_file_written_on_success_with_report() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let output = dir.path().join("out.archive");
    let report = dir.path().join("report.json");
    let out = cmd()
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(shared().join("mongo/mongo-tools_test.bar.archive"))
        .arg("--output")
        .arg(&output)
        .arg("--report")
        .arg(&report)
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(shared().join("mongo/mongo-tools_test.bar.archive")).unwrap()
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["format"], "mongo");
    assert!(json["bytes_in"].as_u64().unwrap() > 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MB/s"), "{stderr}");
}

#[test]
fn strict_fails_on_unmatched_rules_without_renaming() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("typo.yaml");
    std::fs::write(
        &rules,
        "rules:\n  bar:\n    fields:\n      Emial: hash_email\n",
    )
    .unwrap();
    let output = dir.path().join("out.archive");
    let base = || {
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--input")
            .arg(shared().join("mongo/mongo-tools_test.bar.archive"))
            .arg("--output")
            .arg(&output)
            .env("SYRF_ANONYMIZE_KEY", KEY);
        c
    };
    let out = base().output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: rule bar.Emial never matched"),
        "{stderr}"
    );
    std::fs::remove_file(&output).unwrap();
    let out = base().arg("--strict").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists());
}

#[test]
fn unknown_input_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    let mut c = cmd();
    c.arg("--rules").arg(&rules).env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, b"\x00\x01\x02 this is not a dump");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}

#[test]
fn real_sql_dumps_pass_through_and_gzip_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let rules = empty_rules(dir.path());
    for name in [
        "sakila.sql.gz",
        "sakila-rowinsert.sql.gz",
        "pagila.sql.gz",
        "pagila-inserts.sql.gz",
    ] {
        let input = std::fs::read(shared().join("sql").join(name)).unwrap();
        let mut c = cmd();
        c.arg("--rules")
            .arg(&rules)
            .arg("--report")
            .arg(dir.path().join("r.json"));
        c.env("SYRF_ANONYMIZE_KEY", KEY);
        let out = run_with_stdin(c, &input);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(gunzip(&out.stdout), gunzip(&input), "{name}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        let expected = if name.starts_with("sakila") {
            "mysql"
        } else {
            "postgres"
        };
        assert_eq!(json["format"], expected, "{name}");
    }
}

#[test]
fn sql_rules_rewrite_and_report_and_errors_hide_values() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("sakila.yaml");
    std::fs::write(
        &rules,
        "rules:\n  customer:\n    columns:\n      email: hash_email\nexclusions: [payment]\n",
    )
    .unwrap();
    let input = gunzip(&std::fs::read(shared().join("sql/sakila.sql.gz")).unwrap());
    let mut c = cmd();
    c.arg("--rules")
        .arg(&rules)
        .arg("--strict")
        .env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("MARY.SMITH@sakilacustomer.org"));
    assert!(!text.contains("INSERT INTO `payment`"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("customer.email [hash_email]: 599 / 599 / 0"),
        "{stderr}"
    );
    // A truncated dump inside a customer row: exit 3, and the message names no value.
    let original_cut = String::from_utf8_lossy(&input)
        .find("INSERT INTO `customer`")
        .unwrap()
        + 200;
    let mut c = cmd();
    c.arg("--rules").arg(&rules).env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, &input[..original_cut]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.to_lowercase().contains("sakilacustomer.org"),
        "{stderr}"
    );
}
