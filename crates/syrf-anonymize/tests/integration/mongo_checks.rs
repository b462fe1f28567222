//! MongoDB checks. Issue 17: `scan` and `verify` read an archive as the rewriter does, through
//! mongo-archive's reader and `policy`, oplog entries routed by their target namespace.
//! Issue 18.8: `inspect`, `scan` and `verify` never print a field name that came from the data.

use crate::common;
use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use bson::{doc, Document};
use mongo_archive::{rewrite_archive, RewriteOptions};
use syrf_anonymize::scan::{scan, ScanOptions};
use syrf_anonymize::verify::{verify, VerifyOptions};

/// A mongodump archive of `namespaces` (db, collection, documents); `("", "oplog")` is the
/// `--oplog` namespace.
fn archive(namespaces: &[(&str, &str, Vec<Document>)]) -> Vec<u8> {
    let mut out = vec![0x6d, 0xe2, 0x99, 0x81];
    let put = |out: &mut Vec<u8>, d: &Document| out.extend(bson::to_vec(d).unwrap());
    put(
        &mut out,
        &doc! {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.14", "tool_version": "100.10.0"},
    );
    for (db, coll, _) in namespaces {
        let metadata = if db.is_empty() {
            ""
        } else {
            "{\"options\":{},\"indexes\":[]}"
        };
        put(
            &mut out,
            &doc! {"db": *db, "collection": *coll, "metadata": metadata, "size": 0, "type": "collection"},
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
    mongo_archive::verify::verify(&out).unwrap();
    out
}

fn entry(op: &str, ns: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": ns, "o": o}
}

const RULES: &str = "rules:\n  users:\n    fields:\n      email: hash_email\n      Profile.Mail: hash_email\n      note: {transform: constant, value: redacted}\nexclusions:\n  - secrets\n";

/// `app.users`, excluded `app.secrets`, and an oplog whose entries carry covered values found
/// nowhere else.
fn input() -> Vec<u8> {
    archive(&[
        (
            "app",
            "users",
            vec![doc! {"_id": 1, "email": "body@example.com", "note": "plain"}],
        ),
        ("app", "secrets", vec![doc! {"_id": 1, "token": "x"}]),
        (
            "",
            "oplog",
            vec![
                entry(
                    "i",
                    "app.users",
                    doc! {"_id": 2, "email": "insert-only@example.com", "note": "call +44 20 7946 0958"},
                ),
                entry(
                    "u",
                    "app.users",
                    doc! {"$set": {"Profile.Mail": "set-only@example.com"}},
                ),
                entry(
                    "c",
                    "admin.$cmd",
                    doc! {"applyOps": [{"op": "u", "ns": "app.users", "o2": {"_id": 2}, "o": {"$v": 2, "diff": {"u": {"email": "diff-only@example.com"}}}}]},
                ),
                entry(
                    "i",
                    "app.secrets",
                    doc! {"_id": 2, "mail": "secret-only@example.com"},
                ),
            ],
        ),
    ])
}

fn rules() -> RuleSet {
    RuleSet::from_yaml(RULES, "t.yaml").unwrap()
}

fn anonymized(input: &[u8]) -> Vec<u8> {
    let anon = Anonymizer::new(
        rules(),
        KeyMode::Keyed(Key::from_bytes(b"oplog checks test key 0123456789").unwrap()),
    )
    .unwrap();
    let mut out = Vec::new();
    rewrite_archive(input, &mut out, &anon, &RewriteOptions::default()).unwrap();
    out
}

#[test]
fn verify_collects_covered_values_from_oplog_entries_by_target_namespace() {
    let input = input();
    // The original against itself: the values found only in oplog entries are hits, under
    // the target namespace.
    let report = verify(&input[..], &input[..], rules(), &VerifyOptions::default()).unwrap();
    let hits: Vec<String> = report
        .hits
        .keys()
        .map(|(ns, path)| format!("{ns} {path}"))
        .collect();
    for want in [
        "app.users email",
        "app.users (oplog) email",
        "app.users (oplog) $set.Profile.Mail",
        "app.users (oplog) diff.u.email",
    ] {
        assert!(hits.iter().any(|h| h == want), "{want} missing: {hits:?}");
    }
    // The excluded collection's entries hold no covered value.
    assert!(!hits.iter().any(|h| h.contains("secrets")), "{hits:?}");
    let text = report.to_string();
    assert!(!text.contains('@'), "a value was printed: {text}");

    // A correct output passes.
    let out = anonymized(&input);
    let report = verify(&input[..], &out[..], rules(), &VerifyOptions::default()).unwrap();
    assert!(report.hits.is_empty(), "{report}");

    // An output whose oplog leaks one of those values fails: the original body with the
    // anonymized oplog, but one insert's value put back.
    let leaky = {
        let body = mongo_archive::verify::verify_keep_documents(&out).unwrap();
        let users: Vec<Document> = body
            .namespace("app.users")
            .unwrap()
            .documents
            .iter()
            .map(|d| Document::from_reader(&d[..]).unwrap())
            .collect();
        let mut ops: Vec<Document> = body
            .namespace(".oplog")
            .unwrap()
            .documents
            .iter()
            .map(|d| Document::from_reader(&d[..]).unwrap())
            .collect();
        ops[1] = entry(
            "u",
            "app.users",
            doc! {"$set": {"Profile.Mail": "set-only@example.com"}},
        );
        archive(&[("app", "users", users), ("", "oplog", ops)])
    };
    let report = verify(&input[..], &leaky[..], rules(), &VerifyOptions::default()).unwrap();
    let hits: Vec<&(String, String)> = report.hits.keys().collect();
    assert_eq!(
        hits,
        [&(
            "app.users (oplog)".to_owned(),
            "$set.Profile.Mail".to_owned()
        )],
        "{report}"
    );
    assert_eq!(report.exit_code(), syrf_anonymize::exit::LEAK);
    // `--allow` names the path as for documents.
    let allow = VerifyOptions {
        allow: vec!["users.$set.Profile.Mail".to_owned()],
    };
    let report = verify(&input[..], &leaky[..], rules(), &allow).unwrap();
    assert!(report.hits.is_empty(), "{report}");
}

#[test]
fn scan_routes_oplog_entries_to_their_target_and_passes_a_correct_output() {
    let input = input();
    let report = scan(&input[..], Some(&rules()), &ScanOptions::default()).unwrap();
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.collection, f.path, f.kind.name()))
        .collect();
    // No collection named `.oplog`, nothing from the excluded collection's entries, nothing
    // at covered paths (the oplog's `note` phone number is covered by the `note` rule).
    assert!(found.is_empty(), "{found:?}");
    assert!(
        report.excluded.iter().any(|e| e == "app.secrets"),
        "{:?}",
        report.excluded
    );
    // Without the `note` rule, the phone number inside an oplog insert is found at
    // `app.users note`, and `--suggest` proposes a rule the run uses.
    let partial = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: hash_email\n      Profile.Mail: hash_email\nexclusions: [secrets]\n",
        "p.yaml",
    )
    .unwrap();
    let report = scan(&input[..], Some(&partial), &ScanOptions::default()).unwrap();
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.collection, f.path, f.kind.name()))
        .collect();
    assert_eq!(found, ["app.users note phone"], "{found:?}");
    let yaml = report.suggest();
    assert!(yaml.contains("\"app.users\""), "{yaml}");
    assert!(!yaml.contains("oplog"), "{yaml}");
    // Without any rules the oplog's values are found under `app.users` and `app.secrets`.
    let report = scan(&input[..], None, &ScanOptions::default()).unwrap();
    assert!(report
        .findings
        .iter()
        .all(|f| !f.collection.contains("oplog")));
    assert!(report
        .findings
        .iter()
        .any(|f| f.collection == "app.secrets" && f.path == "mail"));
    assert!(report
        .findings
        .iter()
        .any(|f| f.collection == "app.users" && f.path == "Profile.Mail"));

    // `scan --strict` passes on a correct output: pseudonyms in oplog entries sit at covered
    // paths of their target.
    let out = anonymized(&input);
    let report = scan(&out[..], Some(&rules()), &ScanOptions::default()).unwrap();
    assert!(report.findings.is_empty(), "{report}");
    assert_eq!(report.strict_exit_code(), 0);
}

/// Issue 18.8: a sub-document keyed by e-mail addresses (or ids, dates) never has its keys
/// printed by `inspect` (without `--sample`), `scan` or `verify`: they are grouped as `<key>`.
#[test]
fn keys_from_the_data_are_never_printed() {
    let docs: Vec<Document> = (0..4)
        .map(|i| {
            doc! {
                "_id": i,
                "email": format!("owner{i}@example.com"),
                "Votes": {
                    format!("voter{i}@example.com"): {"Contact": format!("call +44 20 7946 09{i}{i}")},
                    "507f1f77bcf86cd799439011": {"Contact": "ops@example.org"},
                },
                "ByDay": {"2024-01-31": format!("seen by day{i}@example.net")},
            }
        })
        .collect();
    let input = archive(&[("app", "users", docs)]);
    let data = [
        "voter",
        "507f1f77",
        "2024-01-31",
        "example.com",
        "example.org",
    ];

    let manifest = syrf_anonymize::inspect::manifest(&input[..], &Default::default()).unwrap();
    let text = manifest.to_string();
    for d in data {
        assert!(!text.contains(d), "inspect printed {d}: {text}");
    }
    let fields = manifest["namespaces"][0]["fields"].as_array().unwrap();
    let votes = fields
        .iter()
        .find(|f| f["path"] == "Votes.<key>")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(votes["distinct_keys"], 5);
    assert!(fields.iter().any(|f| f["path"] == "Votes.<key>.Contact"));

    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: hash_email\n",
        "r.yaml",
    )
    .unwrap();
    let report = scan(&input[..], Some(&rules), &ScanOptions::default()).unwrap();
    let text = report.to_string();
    for d in data {
        assert!(!text.contains(d), "scan printed {d}: {text}");
    }
    assert!(
        text.contains("app.users Votes.<key>.Contact: email"),
        "{text}"
    );
    assert!(
        text.contains("app.users Votes.<key>.Contact: phone"),
        "{text}"
    );
    assert!(text.contains("app.users ByDay.<key>: email"), "{text}");
    // `--suggest` cannot name such fields: it says so in a comment and the file still parses.
    let yaml = report.suggest();
    for d in data {
        assert!(!yaml.contains(d), "suggest printed {d}: {yaml}");
    }
    assert!(yaml.contains("# app.users Votes.<key>.Contact"), "{yaml}");
    let parsed = RuleSet::from_yaml(&yaml, "s.yaml").unwrap();
    assert!(parsed
        .tables
        .iter()
        .flat_map(|t| t.fields.iter())
        .all(|f| !f.path.contains("<key>")));

    // `verify` (the original against itself, a rule on the whole map) names hits the same way.
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      Votes: {transform: constant, value: x}\n",
        "v.yaml",
    )
    .unwrap();
    let report = verify(&input[..], &input[..], rules, &VerifyOptions::default()).unwrap();
    let text = report.to_string();
    assert!(text.contains("app.users Votes.<key>.Contact"), "{text}");
    for d in data {
        assert!(!text.contains(d), "verify printed {d}: {text}");
    }
}

/// The binary without the caller's `SYRF_*` settings, with a test key.
fn binary() -> std::process::Command {
    let mut c = common::bin();
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SYRF_") {
            c.env_remove(k);
        }
    }
    c.env("SYRF_ANONYMIZE_KEY", "mongo checks test key 0123456789ab");
    c
}

/// Issue 18 through the command line: a `$out` into a covered collection fails at the rename
/// (exit 3, advice, no value, no output file); `schema_only` and the dropped system
/// namespaces are named in the summary.
#[test]
fn the_run_refuses_out_into_covered_data_and_summarises_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, format!("{RULES}schema_only: [logs]\n")).unwrap();
    let tmp = "tmp.agg_out.3f2c";
    let bad = archive(&[
        (
            "app",
            "users",
            vec![doc! {"_id": 1, "email": "body@example.com"}],
        ),
        (
            "",
            "oplog",
            vec![
                entry("c", "app.$cmd", doc! {"create": tmp, "temp": true}),
                entry(
                    "i",
                    &format!("app.{tmp}"),
                    doc! {"_id": 9, "email": "out-stage@example.com"},
                ),
                entry(
                    "c",
                    "admin.$cmd",
                    doc! {"renameCollection": format!("app.{tmp}"), "to": "app.users", "dropTarget": true},
                ),
            ],
        ),
    ]);
    let input = dir.path().join("in.archive");
    std::fs::write(&input, &bad).unwrap();
    let output = dir.path().join("out.archive");
    let out = binary()
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--oplog drop"), "{stderr}");
    assert!(stderr.contains(&format!("app.{tmp}")), "{stderr}");
    assert!(!stderr.contains("@example.com"), "{stderr}");
    assert!(!output.exists());
    // With the oplog dropped the run passes.
    let out = binary()
        .arg("--rules")
        .arg(&rules)
        .args(["--oplog", "drop", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let good = archive(&[
        (
            "app",
            "users",
            vec![doc! {"_id": 1, "email": "body@example.com"}],
        ),
        (
            "app",
            "logs",
            vec![doc! {"_id": 1, "line": "logged in from 10.1.2.3"}],
        ),
        (
            "admin",
            "tempusers",
            vec![doc! {"_id": "app.bob", "credentials": "scram"}],
        ),
        (
            "config",
            "image_collection",
            vec![doc! {"_id": 1, "image": {"email": "img@example.com"}}],
        ),
    ]);
    std::fs::write(&input, &good).unwrap();
    let out = binary()
        .arg("--rules")
        .arg(&rules)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for want in [
        "schema only",
        "dropped (users/roles; --keep-users keeps them)",
        "dropped (pre/post images of other collections)",
    ] {
        assert!(stderr.contains(want), "{want}: {stderr}");
    }
    let written = std::fs::read(&output).unwrap();
    let v = mongo_archive::verify::verify(&written).unwrap();
    assert_eq!(v.namespace("app.logs").unwrap().documents.len(), 0);
    assert!(v.namespace("admin.tempusers").is_none());
    assert!(v.namespace("config.image_collection").is_none());
}
