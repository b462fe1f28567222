//! deploy/parallel-indexed-job.yaml's claim: anonymizing each collection as its own stream
//! (`mongodump --collection C --archive | syrf-anonymize --collections C`) with the same rules
//! and key gives, restored together, exactly the documents of one single-stream run.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use mongo_archive::synth::{self, SynthConfig};
use mongo_archive::verify;

const KEY: &str = "parallel-test-key-0123456789abcdef";

fn rules() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../rules/syrf.yaml")
        .display()
        .to_string()
}

fn run(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut cmd = common::bin();
    cmd.args(args).arg("--quiet").env("SYRF_ANONYMIZE_KEY", KEY);
    let out = common::run_with_stdin(cmd, stdin);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Documents per namespace, in archive order: what mongorestore would insert.
fn restored(archives: &[Vec<u8>]) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut all = BTreeMap::new();
    for a in archives {
        let checked = verify::verify_keep_documents(a).expect("a valid archive");
        for ns in checked.namespaces {
            let name = ns.name();
            assert!(
                all.insert(name.clone(), ns.documents).is_none(),
                "{name} restored twice"
            );
        }
    }
    all
}

#[test]
fn per_collection_runs_equal_the_single_stream() {
    let archive = synth::generate_vec(&SynthConfig {
        seed: 11,
        target_bytes: 400_000,
        concurrency: 4,
        with_users: false,
    });
    let rules = rules();
    let single = run(&["--rules", &rules], &archive);
    let expected = restored(&[single]);
    // The rules must have done something for the comparison to mean anything.
    let original = restored(std::slice::from_ref(&archive));
    assert_ne!(expected, original);
    assert!(expected.len() >= 4, "{:?}", expected.keys());

    let collections: Vec<String> = verify::verify(&archive)
        .unwrap()
        .prelude
        .iter()
        .filter(|p| !p.db.is_empty())
        .map(|p| p.collection.clone())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let no_rules = dir.path().join("none.yaml");
    std::fs::write(&no_rules, "# no rules: a pure selection\n").unwrap();
    let no_rules = no_rules.display().to_string();
    let mut via_dump = Vec::new();
    let mut via_select = Vec::new();
    for c in &collections {
        // What `mongodump --collection C --archive` gives: that collection alone, untouched.
        let dumped = run(
            &[
                "--rules",
                &no_rules,
                "--allow-empty-rules",
                "--collections",
                c,
            ],
            &archive,
        );
        via_dump.push(run(&["--rules", &rules, "--collections", c], &dumped));
        // The same selection made by syrf-anonymize on the full dump.
        via_select.push(run(&["--rules", &rules, "--collections", c], &archive));
    }
    let dumped_and_anonymized = restored(&via_dump);
    assert_eq!(
        dumped_and_anonymized.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, docs) in &expected {
        assert_eq!(
            docs.len(),
            dumped_and_anonymized[name].len(),
            "{name}: document count"
        );
        assert!(
            docs == &dumped_and_anonymized[name],
            "{name}: documents differ"
        );
    }
    assert!(
        restored(&via_select) == expected,
        "selection on the full dump differs"
    );
}

/// The same for SQL tables (`mysqldump db table | syrf-anonymize --collections table`).
#[test]
fn per_table_runs_equal_the_single_stream() {
    let mut dump = String::from(
        "-- MySQL dump 10.13\n\
         CREATE TABLE `users` (\n  `id` int NOT NULL,\n  `name` varchar(40),\n  `email` varchar(80)\n);\n\
         CREATE TABLE `orders` (\n  `id` int NOT NULL,\n  `buyer` varchar(80),\n  `note` text\n);\n\
         CREATE TABLE `logs` (\n  `id` int NOT NULL,\n  `line` text\n);\n",
    );
    let three: Vec<String> = (0..40)
        .map(|i| format!("({i},'person{i}','p{}@example.com')", i % 7))
        .collect();
    let two: Vec<String> = (0..40).map(|i| format!("({i},'line {i}')")).collect();
    for (t, rows) in [("users", &three), ("orders", &three), ("logs", &two)] {
        dump.push_str(&format!("INSERT INTO `{t}` VALUES {};\n", rows.join(",")));
    }

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:\n  users:\n    columns:\n      name: sequential\n      email: hash_email\n  orders:\n    columns:\n      buyer: hash_email\n      note: {transform: fake, kind: sentence}\nsize_limits:\n  logs: {max_rows: 5}\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let none = dir.path().join("none.yaml");
    std::fs::write(&none, "").unwrap();
    let none = none.display().to_string();

    let inserts = |out: &[u8], table: &str| -> Vec<String> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(&format!("INSERT INTO `{table}`")))
            .map(str::to_owned)
            .collect()
    };
    let single = run(&["--rules", &rules], dump.as_bytes());
    for t in ["users", "orders", "logs"] {
        let expected = inserts(&single, t);
        assert!(!expected.is_empty(), "{t}");
        let dumped = run(
            &["--rules", &none, "--allow-empty-rules", "--collections", t],
            dump.as_bytes(),
        );
        for other in ["users", "orders", "logs"].into_iter().filter(|o| *o != t) {
            assert!(inserts(&dumped, other).is_empty(), "{t}: {other} selected");
        }
        let alone = run(&["--rules", &rules, "--collections", t], &dumped);
        assert_eq!(inserts(&alone, t), expected, "{t}");
    }
    // The rules changed the covered tables, and the limit applied.
    assert!(!String::from_utf8_lossy(&single).contains("p3@example.com"));
    assert_eq!(inserts(&single, "logs")[0].matches("'line ").count(), 5);
}
