//! `syrf-anonymize verify`: finds original covered values in an output, by field path, without
//! printing them; `--allow` accepts a path; clean outputs pass.

use std::path::{Path, PathBuf};
use std::process::Output;

use bson::{doc, Document};

use crate::common;

const KEY: &str = "verify-test-key-0123456789abcdef";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

fn verify(original: &Path, rules: &Path, output: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut c = common::bin();
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
fn sql_values_copied_into_uncovered_columns_are_found_in_both_dialects() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  users:\n    columns:\n      email: hash_email\n      phone: digits\n",
    )
    .unwrap();
    let mysql = "-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `email` varchar(80), `phone` varchar(30), `notes` text);\n\
INSERT INTO `users` VALUES (1,'Zeb.Canary@Example.org','+44 20 7946 0958','fine'),\
(2,'other@example.net','555','mail ZEB.CANARY@example.org or ring 020 7946 0958? no: (44) 20-7946-0958');\n";
    let pg = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.users (id integer, email text, phone text, notes text);\n\
COPY public.users (id, email, phone, notes) FROM stdin;\n1\tZeb.Canary@Example.org\t+44 20 7946 0958\tfine\n\
2\tother@example.net\t555\tmail ZEB.CANARY@example.org\\nor ring (44) 20-7946-0958\n\\.\n";
    for (name, dump, ns) in [("my.sql", mysql, "users"), ("pg.sql", pg, "public.users")] {
        let original = dir.path().join(name);
        std::fs::write(&original, dump).unwrap();
        let out = dir.path().join(format!("{name}.out"));
        anonymize(&original, &rules, &out);
        let (code, stderr) = verify(&original, &rules, &out, &[]);
        assert_eq!(code, Some(5), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "LEAK {ns} notes: 1 value(s) from the original (first in document #2)"
            )),
            "{name}: {stderr}"
        );
        assert!(
            !stderr.contains(" email:") && !stderr.contains(" phone:"),
            "{stderr}"
        );
        assert!(
            !stderr.to_lowercase().contains("canary") && !stderr.contains("7946"),
            "{stderr}"
        );
        let (code, stderr) = verify(&original, &rules, &out, &["--allow", "users.notes"]);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        // The original against itself: the covered columns are hits.
        let (code, stderr) = verify(&original, &rules, &original, &[]);
        assert_eq!(code, Some(5), "{stderr}");
        assert!(stderr.contains(&format!("LEAK {ns} email: 2")), "{stderr}");
    }
}

fn leak_paths(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("LEAK "))
        .map(|l| {
            // pagila's schema, sakila's database (its dump header names it, as a run reads it).
            let l = l.strip_prefix("public.").unwrap_or(l);
            let l = l.strip_prefix("sakila.").unwrap_or(l);
            l.to_string()
        })
        .collect()
}

#[test]
fn real_sakila_and_pagila_give_the_same_report_in_every_dialect_and_form() {
    let Some(data) = syrf_testdata::conformance_dir!("sql") else {
        return;
    };
    if !data.join("sakila.sql.gz").exists() {
        syrf_testdata::skip(
            env!("CARGO_PKG_NAME"),
            &format!("no {}/sakila.sql.gz", data.display()),
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  customer:\n    columns:\n      email: hash_email\n      last_name: sequential\n  \
         address:\n    columns:\n      phone: digits\n",
    )
    .unwrap();
    let mut reports = Vec::new();
    for f in [
        "sakila.sql.gz",
        "sakila-rowinsert.sql.gz",
        "pagila.sql.gz",
        "pagila-inserts.sql.gz",
    ] {
        let original = data.join(f);
        let out = dir.path().join(f);
        anonymize(&original, &rules, &out);
        let (code, stderr) = verify(&original, &rules, &out, &[]);
        // Customers' last names that are also first names, actors' and staff names: the
        // same people-like words in uncovered columns. Never an email or phone.
        assert_eq!(code, Some(5), "{f}: {stderr}");
        assert!(!stderr.contains('@'), "{stderr}");
        let paths = leak_paths(&stderr);
        assert!(
            paths.iter().any(|p| p.starts_with("customer first_name: ")),
            "{f}: {stderr}"
        );
        assert!(
            !paths
                .iter()
                .any(|p| p.contains("email") || p.contains("phone")),
            "{stderr}"
        );
        reports.push((f, paths));
        // The original itself: every covered column is a hit.
        let (code, stderr) = verify(&original, &rules, &original, &[]);
        assert_eq!(code, Some(5));
        let paths = leak_paths(&stderr);
        for c in [
            "customer email: 599",
            "address phone: ",
            "customer last_name: ",
        ] {
            assert!(paths.iter().any(|p| p.starts_with(c)), "{f}: {c}: {stderr}");
        }
    }
    for (f, r) in &reports[1..] {
        assert_eq!(r, &reports[0].1, "{f} and {} differ", reports[0].0);
    }
    // Accepting the reported paths makes the run pass.
    let original = data.join("pagila.sql.gz");
    let out = dir.path().join("pagila.sql.gz");
    let mut allow = Vec::new();
    for p in &reports[0].1 {
        let (table, rest) = p.split_once(' ').unwrap();
        let column = rest.split(':').next().unwrap();
        allow.push("--allow".to_string());
        allow.push(format!("{table}.{column}"));
    }
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    let (code, stderr) = verify(&original, &rules, &out, &allow);
    assert_eq!(code, Some(0), "{stderr}");
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
