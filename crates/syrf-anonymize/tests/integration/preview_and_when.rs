//! Issue 20.4-5 through the binary: preview subsets by need (`preview-config --rules` closes
//! the PR's `collections` list over the rules' `references:`, and the run with that list has
//! no dangling reference), and the rows a `when:` kept from the rules in the text and JSON
//! summaries. Archives come from the SyRF-shaped generator and are checked with the
//! independent verifier.

use std::collections::HashSet;

use crate::common;
use common::run_with_stdin;

use bson::Document;
use mongo_archive::synth::{generate_vec, SynthConfig};

const KEY: &str = "when20-test-key-0123456789abcdef";

const PREVIEW_RULES: &str = "references:
  pmStudy.ProjectId: pmProject._id
  pmProject.Registrations.InvestigatorId: pmInvestigator._id
rules:
  pmInvestigator:
    fields:
      Email: hash_email
";

fn archive() -> Vec<u8> {
    generate_vec(&SynthConfig {
        target_bytes: 400_000,
        ..SynthConfig::default()
    })
}

fn docs(archive: &[u8], ns: &str) -> Option<Vec<Document>> {
    let v = mongo_archive::verify::verify_keep_documents(archive).unwrap();
    v.namespace(ns).map(|n| {
        n.documents
            .iter()
            .map(|d| Document::from_reader(&d[..]).unwrap())
            .collect()
    })
}

fn key(b: &bson::Bson) -> String {
    format!("{b:?}")
}

/// Runs the binary with `args`, the archive on stdin; returns (stdout, stderr).
fn run(args: &[&str], input: &[u8]) -> (Vec<u8>, String) {
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY)
        .args(["--compress", "none"])
        .args(args);
    let out = run_with_stdin(c, input);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (out.stdout, stderr)
}

/// Registrations of the output's projects naming an investigator the output lacks.
fn dangling(out: &[u8]) -> usize {
    let investigators: HashSet<String> = docs(out, "syrftest.pmInvestigator")
        .unwrap_or_default()
        .iter()
        .map(|d| key(d.get("_id").unwrap()))
        .collect();
    let projects = docs(out, "syrftest.pmProject").expect("the requested collection is kept");
    assert!(!projects.is_empty());
    projects
        .iter()
        .flat_map(|p| p.get_array("Registrations").unwrap().clone())
        .filter(|r| {
            let id = r.as_document().unwrap().get("InvestigatorId").unwrap();
            !investigators.contains(&key(id))
        })
        .count()
}

#[test]
fn a_preview_asking_for_projects_gets_the_investigators_they_reference() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("preview.yaml");
    std::fs::write(&rules, PREVIEW_RULES).unwrap();
    let rules = rules.to_str().unwrap();
    let pr = "Adds a page.\n\n```yaml\n#preview-config\ndatabase:\n  source: snapshot\n  collections: [pmProject]\n```\n";
    let mut c = common::bin();
    c.args(["preview-config", "--rules", rules]);
    let out = run_with_stdin(c, pr.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("collections=[\"pmProject\",\"pmInvestigator\"]\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("added `pmInvestigator` (referenced: pmProject.Registrations.InvestigatorId -> pmInvestigator._id)"),
        "{stderr}"
    );

    let input = archive();
    let (out, _) = run(
        &[
            "--rules",
            rules,
            "--collections",
            "pmProject,pmInvestigator",
            "--quiet",
        ],
        &input,
    );
    mongo_archive::verify::verify(&out).unwrap();
    assert_eq!(dangling(&out), 0);
    assert!(docs(&out, "syrftest.pmStudy").is_none());
    // The list as the PR wrote it leaves every registration dangling: the check can fail.
    let (shell, _) = run(
        &["--rules", rules, "--collections", "pmProject", "--quiet"],
        &input,
    );
    assert!(dangling(&shell) > 0);
}

#[test]
fn the_summary_and_the_json_report_count_the_rows_when_kept() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("when.yaml");
    std::fs::write(
        &rules,
        "rules:\n  pmInvestigator:\n    when: {Email: {not_starts_with: a}}\n    fields:\n      Email: hash_email\n",
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let input = archive();
    let (out, stderr) = run(
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        &input,
    );
    let kept = docs(&input, "syrftest.pmInvestigator")
        .unwrap()
        .iter()
        .filter(|d| d.get_str("Email").is_ok_and(|e| e.starts_with('a')))
        .count();
    assert!(kept > 0);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["when_skipped"][0]["table"], "pmInvestigator");
    assert_eq!(json["when_skipped"][0]["rows_skipped"], kept as u64);
    assert!(
        stderr.contains(&format!(
            "when: pmInvestigator: {kept} documents kept from the rules (condition false)"
        )),
        "{stderr}"
    );
    mongo_archive::verify::verify(&out).unwrap();
}

/// `verify` follows `when:` as the rewriter does: the values of rows the rules did not apply
/// to are not leaks; a run without the condition over the same output finds them.
#[test]
fn verify_accepts_the_rows_when_kept_and_finds_them_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let when = "rules:\n  users:\n    when: {email: {not_ends_with: \"@ourcompany.example\"}}\n    columns: {email: hash_email}\n";
    let plain = "rules:\n  users:\n    columns: {email: hash_email}\n";
    let (when_rules, plain_rules) = (dir.path().join("when.yaml"), dir.path().join("plain.yaml"));
    std::fs::write(&when_rules, when).unwrap();
    std::fs::write(&plain_rules, plain).unwrap();
    let dump = "-- MariaDB dump 10.19\nCREATE TABLE `users` (`id` int NOT NULL, `email` varchar(255));\n\
                INSERT INTO `users` VALUES (1,'ann.staff@ourcompany.example'),(2,'bob.person@mail.example'),(3,NULL);\n";
    let original = dir.path().join("in.sql");
    std::fs::write(&original, dump).unwrap();
    let (out, _) = run(
        &["--rules", when_rules.to_str().unwrap(), "--quiet"],
        dump.as_bytes(),
    );
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("ann.staff@ourcompany.example") && !text.contains("bob.person"));
    let anonymized = dir.path().join("out.sql");
    std::fs::write(&anonymized, &out).unwrap();
    let verify = |rules: &std::path::Path| {
        let mut c = common::bin();
        c.arg("verify")
            .arg("--original")
            .arg(&original)
            .arg("--rules")
            .arg(rules)
            .arg(&anonymized);
        c.output().unwrap()
    };
    let ok = verify(&when_rules);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let leak = verify(&plain_rules);
    assert_eq!(
        leak.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&leak.stderr)
    );

    // The same on a generated archive (its other collections copy the addresses).
    let rules = dir.path().join("mongo.yaml");
    std::fs::write(
        &rules,
        "collections: [pmInvestigator]\nrules:\n  pmInvestigator:\n    when: {Email: {not_starts_with: a}}\n    fields:\n      Email: hash_email\n",
    )
    .unwrap();
    let input = archive();
    let (out, _) = run(&["--rules", rules.to_str().unwrap(), "--quiet"], &input);
    std::fs::write(&original, &input).unwrap();
    std::fs::write(&anonymized, &out).unwrap();
    let ok = verify(&rules);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
