//! The summary's hints through the binary, on hand-built archives: keys containing `.` that
//! shadow a rule path (a warning, and a `--strict` failure), "did you mean" for field rules
//! that never matched, and the collection or SQL table named in `--progress` lines.

use std::path::Path;
use std::process::Output;

use bson::doc;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "summary-hints-key-0123456789";

/// A mongodump archive built by hand: header, prelude, one data segment and an EOF block per
/// namespace, CRCs by the independent checker's reference implementation.
fn archive(namespaces: &[(&str, &str, Vec<bson::Document>)]) -> Vec<u8> {
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |out: &mut Vec<u8>, d: &bson::Document| out.extend(bson::to_vec(d).unwrap());
    put(
        &mut out,
        &doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.14", "tool_version": "100.10.0"},
    );
    for (db, coll, _) in namespaces {
        put(
            &mut out,
            &doc! {"db": *db, "collection": *coll, "metadata": "{\"options\":{},\"indexes\":[]}", "size": 0, "type": "collection"},
        );
    }
    out.extend([0xff; 4]);
    for (db, coll, docs) in namespaces {
        put(
            &mut out,
            &doc! {"db": *db, "collection": *coll, "EOF": false, "CRC": 0i64},
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
            &doc! {"db": *db, "collection": *coll, "EOF": true, "CRC": crc as i64},
        );
        out.extend([0xff; 4]);
    }
    out
}

fn run(args: &[&str], rules: &str, input: &[u8], dir: &Path) -> Output {
    let path = dir.join("rules.yaml");
    std::fs::write(&path, rules).unwrap();
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("--rules")
        .arg(&path)
        // Only matters for the tests' `rules: {}`.
        .arg("--allow-empty-rules")
        .args(args);
    run_with_stdin(c, input)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn shadowing_keys_warn_with_the_rule_path_and_fail_strict() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(&[
        (
            "app",
            "people",
            vec![
                doc! {"FullName.First": "Literal Jane", "FullName": {"First": "Ann"}},
                doc! {"FullName.First": "Literal Joe", "FullName": {"First": "Bob"}},
            ],
        ),
        ("app", "other", vec![doc! {"a.b": 1}]),
    ]);
    let rules =
        "rules:\n  people:\n    fields:\n      FullName.First: {transform: constant, value: F}\n";
    let report = dir.path().join("report.json");
    let out = run(
        &["--report", report.to_str().unwrap()],
        rules,
        &input,
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "warning: app.people: 2 document keys containing `.` shadow rule path `FullName.First`"
        ),
        "{err}"
    );
    // The keys themselves come from the data: never printed, only the rule's path.
    assert!(
        !err.contains("Literal") && !err.contains("warning: app.other"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let people = json["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "app.people")
        .unwrap();
    assert_eq!(people["shadowing_keys"], 2);
    assert_eq!(
        people["shadowed_rules"],
        serde_json::json!(["FullName.First"])
    );
    assert!(!contains(&std::fs::read(&report).unwrap(), b"Literal"));

    let strict = run(&["--strict"], rules, &input, dir.path());
    assert_eq!(strict.status.code(), Some(4));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        err.contains("error: --strict: app.people: 2 document keys"),
        "{err}"
    );
    // The archive on stdout is left without its terminator, as for any --strict failure.
    assert!(mongo_archive::verify::verify(&strict.stdout).is_err());
    assert!(mongo_archive::verify::verify(&run(&[], rules, &input, dir.path()).stdout).is_ok());

    // Naming the literal key with an escaped dot rewrites it and clears the warning.
    let escaped = format!("{rules}      FullName\\.First: {{transform: constant, value: L}}\n");
    let ok = run(&["--strict"], &escaped, &input, dir.path());
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{err}");
    assert!(!err.contains("shadow"), "{err}");
    assert!(!contains(&ok.stdout, b"Literal"));
}

#[test]
fn never_matched_field_rules_suggest_a_seen_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(&[(
        "syrftest",
        "pmInvestigator",
        vec![
            doc! {"_id": 1, "Email": "a@example.com", "FullName": {"First": "Ann"}},
            doc! {"_id": 2, "Email": "b@example.com", "FullName": {"First": "Bob"}},
        ],
    )]);
    let rules = "rules:\n  pmInvestigator:\n    fields:\n      Emial: hash_email\n      FulName.First: {transform: constant, value: F}\n      Phone: digits\n";
    let report = dir.path().join("report.json");
    let out = run(
        &["--report", report.to_str().unwrap()],
        rules,
        &input,
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "warning: rule pmInvestigator.Emial never matched a value (did you mean `Email`?)"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: rule pmInvestigator.FulName.First never matched a value (did you mean `FullName.First`?)"
        ),
        "{err}"
    );
    // Nothing close to `Phone` was seen: no suggestion.
    assert!(
        err.contains("warning: rule pmInvestigator.Phone never matched a value\n"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        json["did_you_mean"],
        serde_json::json!({"pmInvestigator.Emial": "Email", "pmInvestigator.FulName.First": "FullName.First"})
    );
    let strict = run(&["--strict"], rules, &input, dir.path());
    assert_eq!(strict.status.code(), Some(4));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        err.contains("never matched: rule pmInvestigator.Emial (did you mean `Email`?)"),
        "{err}"
    );
}

#[test]
fn progress_lines_name_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(&[
        ("app", "first", vec![doc! {"x": 1}]),
        ("app", "lastOne", vec![doc! {"x": 2}, doc! {"x": 3}]),
    ]);
    let out = run(&["--progress"], "rules: {}\n", &input, dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The last line is drawn after the stream ended: the last collection read.
    let line = err
        .lines()
        .rfind(|l| l.starts_with("syrf-anonymize: progress:"))
        .unwrap_or_else(|| panic!("no progress line: {err}"));
    assert!(line.ends_with(", in app.lastOne"), "{line}");
    let quiet = run(&[], "rules: {}\n", &input, dir.path());
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("progress:"));
}

#[test]
fn progress_lines_name_the_sql_table() {
    let dir = tempfile::tempdir().unwrap();
    let pg = "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n\n\
CREATE TABLE public.first (\n    x integer\n);\n\nCREATE TABLE public.last_one (\n    x integer\n);\n\n\
COPY public.first (x) FROM stdin;\n1\n\\.\n\nCOPY public.last_one (x) FROM stdin;\n2\n3\n\\.\n\n\
ALTER TABLE ONLY public.first\n    ADD CONSTRAINT first_pkey PRIMARY KEY (x);\n";
    let my = "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n--\n-- Host: localhost    Database: app\n\
-- ------------------------------------------------------\n\nUSE `app`;\n\
INSERT INTO `first` (`x`) VALUES (1);\nINSERT INTO `lastOne` (`x`) VALUES (2),(3);\nUNLOCK TABLES;\n";
    for (dump, rules, last) in [
        (pg, "rules: {}\n", "public.last_one"),
        (
            pg,
            "rules:\n  public.last_one:\n    columns:\n      x: null\n",
            "public.last_one",
        ),
        (my, "rules: {}\n", "app.lastOne"),
    ] {
        let out = run(&["--progress"], rules, dump.as_bytes(), dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        // The last line is drawn after the stream ended: the last table whose rows were read,
        // although statements of other tables followed.
        let line = err
            .lines()
            .rfind(|l| l.starts_with("syrf-anonymize: progress:"))
            .unwrap_or_else(|| panic!("no progress line: {err}"));
        assert!(line.ends_with(&format!(", in {last}")), "{line}");
    }
}

/// The echo guard's counts: per field in the text summary and the JSON report (with the
/// failed-closed total), and a `--strict` failure; no value is printed.
#[test]
fn echoes_are_reported_and_fail_strict() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(&[(
        "app",
        "people",
        vec![
            doc! {"FirstName": "Jonathan", "DisplayName": "Jonathan W.", "Age": "n/a"},
            doc! {"FirstName": "Priyanka", "DisplayName": "Dr PRIYANKA", "Age": 3},
        ],
    )]);
    let rules = "rules:\n  people:\n    fields:\n      FirstName: {transform: fake, kind: first_name}\n      Age: {transform: date_shift}\n";
    let report = dir.path().join("report.json");
    let out = run(
        &["--report", report.to_str().unwrap()],
        rules,
        &input,
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("failed closed: 2 values; echoes of covered values: 2 values"),
        "{err}"
    );
    assert!(
        err.contains("warning: echo guard: people: `DisplayName` held copies of `FirstName`: 2 rewritten, 0 nulled"),
        "{err}"
    );
    assert!(
        !err.contains("Jonathan") && !err.contains("PRIYANKA"),
        "{err}"
    );
    assert!(!contains(&out.stdout, b"Jonathan") && !contains(&out.stdout, b"PRIYANKA"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["failed_closed"], 2);
    assert_eq!(
        json["echoes"],
        serde_json::json!([{"table": "people", "field": "DisplayName", "echo_of": "FirstName", "rewritten": 2, "nulled": 0}])
    );

    let strict = run(&["--strict"], rules, &input, dir.path());
    assert_eq!(strict.status.code(), Some(4));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        err.contains("error: --strict: the echo guard found copies"),
        "{err}"
    );
    assert!(mongo_archive::verify::verify(&strict.stdout).is_err());
}

/// The summary and the report say whether the CPU has SHA extensions, as the library detects
/// them; the text note appears only on a CPU without them.
#[test]
fn the_summary_says_whether_the_cpu_has_sha_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let input = archive(&[("app", "people", vec![doc! {"Email": "a@example.org"}])]);
    let report = dir.path().join("report.json");
    let out = run(
        &["--report", report.to_str().unwrap()],
        "rules:\n  people:\n    fields:\n      Email: hash_email\n",
        &input,
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let has = anonymize_core::sha_extensions();
    assert_eq!(json["sha_extensions"], serde_json::json!(has));
    assert_eq!(err.contains("no SHA extensions"), !has, "{err}");
}
