//! `syrf-anonymize scan` on MongoDB archives (the shipped sample and hand-built ones):
//! uncovered paths are reported, covered ones are not, values stay hidden, `--suggest` output
//! is a valid rules file, `--strict` fails. SQL dumps: `scan_sql.rs`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample() -> PathBuf {
    root().join("samples/syrf-sample.archive")
}

fn scan(args: &[&str]) -> Output {
    common::bin().arg("scan").args(args).output().unwrap()
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

/// A mongodump archive built by hand: header, prelude, one data segment and an EOF block per
/// namespace, CRCs by the independent checker's reference implementation.
fn archive(namespaces: &[(&str, &str, Vec<bson::Document>)]) -> Vec<u8> {
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |out: &mut Vec<u8>, d: &bson::Document| out.extend(bson::to_vec(d).unwrap());
    put(
        &mut out,
        &bson::doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.14", "tool_version": "100.10.0"},
    );
    for (db, coll, _) in namespaces {
        // A timeseries collection `X` is listed as `X` and its body is `system.buckets.X`.
        let (listed, kind, options) = match coll.strip_prefix("system.buckets.") {
            Some(base) => (
                base,
                "timeseries",
                "{\"timeseries\":{\"timeField\":\"t\",\"metaField\":\"meta\",\"granularity\":\"seconds\"}}",
            ),
            None => (*coll, "collection", "{}"),
        };
        put(
            &mut out,
            &bson::doc! {"db": *db, "collection": listed, "metadata": format!("{{\"options\":{options},\"indexes\":[]}}"), "size": 0, "type": kind},
        );
    }
    out.extend([0xff; 4]);
    for (db, coll, docs) in namespaces {
        put(
            &mut out,
            &bson::doc! {"db": *db, "collection": *coll, "EOF": false, "CRC": 0i64},
        );
        let mut all = Vec::new();
        for d in docs {
            all.extend(bson::to_vec(d).unwrap());
        }
        out.extend_from_slice(&all);
        out.extend([0xff; 4]);
        let crc = mongo_archive::verify::crc64_reference(&all);
        put(
            &mut out,
            &bson::doc! {"db": *db, "collection": *coll, "EOF": true, "CRC": crc as i64},
        );
        out.extend([0xff; 4]);
    }
    out
}

/// Emails quoted in free text, in a timeseries bucket's `meta` sub-document, IPv6 addresses,
/// a field of dictionary names and full names mentioned in text are found; a field where few values are names is not; the
/// timeseries buckets are skipped with their excluded collection; no value is printed.
#[test]
fn text_timeseries_meta_ipv6_and_names() {
    const FIRST: [&str; 5] = ["Mary", "Linda", "John", "Peter", "Alice"];
    let studies: Vec<bson::Document> = (0..10)
        .map(|i| {
            bson::doc! {
                "Title": format!("Effect {i} of treatment on rats"),
                "Abstract": format!("We thank planted.abstract.{i}@example.org for the rats."),
                "Notes": format!("Samples were collected by {} Miller on day {i}.", FIRST[i % 5]),
                "Reviewer": {"Given": FIRST[i % 5], "From": format!("2001:db8::{i}")},
                // Two of ten are names: below the 30% share.
                "Species": if i < 2 { "Alice".to_owned() } else { format!("Rattus {i}") },
            }
        })
        .collect();
    let buckets: Vec<bson::Document> = (0..3)
        .map(|i| {
            bson::doc! {
                "control": {"version": 1},
                "meta": {"device": format!("d{i}"), "user": format!("planted.meta.{i}@example.org")},
                "data": {"t": {"0": i}},
            }
        })
        .collect();
    let bytes = archive(&[
        ("app", "pmStudy", studies),
        ("app", "system.buckets.readings", buckets),
    ]);
    let dir = tmpdir("text");
    let path = dir.join("a.archive");
    std::fs::write(&path, &bytes).unwrap();
    let out = scan(&[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let all =
        String::from_utf8(out.stdout.clone()).unwrap() + &String::from_utf8(out.stderr).unwrap();
    for planted in ["planted", "2001:db8", "Miller", "Linda"] {
        assert!(!all.contains(planted), "a value leaked: {all}");
    }
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "app.pmStudy Abstract: email (10 values, first in document 1)",
        "app.pmStudy Reviewer.From: ipv6 (10 values, first in document 1)",
        "app.pmStudy Reviewer.Given: name (10 values are first names, first in document 1)",
        "app.pmStudy Notes: name (10 values mention full names, first in document 1)",
        "app.system.buckets.readings meta.user: email (3 values, first in document 1)",
    ] {
        assert!(text.contains(want), "{want} missing: {text}");
    }
    assert!(!text.contains("Species"), "{text}");
    assert!(!text.contains("Title"), "{text}");

    let yaml = {
        let out = scan(&["--suggest", path.to_str().unwrap()]);
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(
        yaml.contains("\"Reviewer.Given\": {transform: fake, kind: first_name}"),
        "{yaml}"
    );
    assert!(yaml.contains("{transform: fake, kind: ipv6}"), "{yaml}");
    assert!(
        yaml.contains("\"Notes\": {transform: fake, kind: paragraph}"),
        "{yaml}"
    );
    anonymize_core::RuleSet::from_yaml(&yaml, "s.yaml").unwrap();

    let rules = dir.join("excl.yaml");
    std::fs::write(&rules, "exclusions: [readings]\n").unwrap();
    let out = scan(&["--rules", rules.to_str().unwrap(), path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("app.system.buckets.readings: skipped"),
        "{text}"
    );
    assert!(!text.contains("meta.user"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
