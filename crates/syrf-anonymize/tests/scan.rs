//! `syrf-anonymize scan` on the shipped sample archive: uncovered paths are reported, covered
//! ones are not, values stay hidden, `--suggest` output is a valid rules file, `--strict` fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    root().join("samples/syrf-sample.archive")
}

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syrf-anonymize"))
        .arg("scan")
        .args(args)
        .output()
        .unwrap()
}

/// rules/syrf.yaml without the `pmInvestigator` `Email` rule, in a temporary file.
fn rules_without_email(dir: &Path) -> PathBuf {
    let full = std::fs::read_to_string(root().join("rules/syrf.yaml")).unwrap();
    let cut = full.replacen(
        "      Email:\n        transform: hash_email   # \"user@example.com\"",
        "      # removed\n        # ",
        1,
    );
    assert_ne!(cut, full, "the Email rule was not found in rules/syrf.yaml");
    anonymize_core::RuleSet::from_yaml(&cut, "cut.yaml").unwrap();
    let path = dir.join("rules-without-email.yaml");
    std::fs::write(&path, cut).unwrap();
    path
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("syrf-scan-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn uncovered_email_is_reported_and_covered_one_is_not() {
    let dir = tmpdir("cover");
    let cut = rules_without_email(&dir);
    let out = scan(&["--rules", cut.to_str().unwrap(), sample().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("syrftest.pmInvestigator Email: email (20 values, first in document 1)"),
        "{text}"
    );
    // The rules' other paths stay covered.
    assert!(!text.contains("ContactEmail"), "{text}");
    assert!(!text.contains("Auth0Id"), "{text}");

    let full = root().join("rules/syrf.yaml");
    let out = scan(&[
        "--rules",
        full.to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("pmInvestigator Email"), "{text}");
    assert!(text.contains("0 finding(s)"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn values_are_shown_only_with_show_values() {
    let out = scan(&[sample().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("Email: email"), "{text}");
    // Without rules, paths inside arrays of sub-documents are reported too.
    assert!(
        text.contains("syrftest.pmProject Registrations.Email: email (53 values"),
        "{text}"
    );
    assert!(!text.contains('@'), "a value leaked: {text}");

    let out = scan(&["--show-values", sample().to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("pmInvestigator Email: email"))
        .unwrap();
    assert!(line.contains("e.g. \"") && line.contains('@'), "{line}");
}

#[test]
fn suggest_prints_rules_that_parse_and_cover_the_findings() {
    let dir = tmpdir("suggest");
    let out = scan(&["--suggest", sample().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let yaml = String::from_utf8(out.stdout).unwrap();
    let rules = anonymize_core::RuleSet::from_yaml(&yaml, "suggested.yaml").unwrap();
    let inv = rules
        .tables
        .iter()
        .find(|t| t.name == "syrftest.pmInvestigator")
        .unwrap();
    assert!(inv.fields.iter().any(|f| f.path == "Email"), "{yaml}");
    assert!(yaml.contains("{transform: fake, kind: ipv4}"), "{yaml}");
    assert!(!yaml.contains('@'), "{yaml}");
    // Scanning with the suggestion finds nothing left.
    let path = dir.join("suggested.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let out = scan(&[
        "--strict",
        "--rules",
        path.to_str().unwrap(),
        sample().to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 finding(s)"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn strict_exits_4_on_findings_and_gzip_is_read() {
    let dir = tmpdir("strict");
    let gz = dir.join("sample.archive.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &std::fs::read(sample()).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let out = scan(&["--strict", gz.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("Email: email"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sql_dumps_are_refused_for_now() {
    let dir = tmpdir("sql");
    let sql = dir.join("dump.sql");
    std::fs::write(
        &sql,
        "-- MySQL dump 10.13  Distrib 8.0.36\nCREATE TABLE `t` (`a` text);\nINSERT INTO `t` VALUES ('x@example.org');\n",
    )
    .unwrap();
    let out = scan(&[sql.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("MongoDB archives only"), "{err}");
    assert!(!err.contains("x@example.org"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
