//! `inspect` and `preview-config` through the binary: generated archives, the real archives and
//! dumps of the shared test data, gzip, `--sample`, `--output`.

use crate::common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use mongo_archive::synth::{self, SynthConfig};
use mongo_archive::verify;
use serde_json::Value;

fn bin() -> Command {
    common::bin()
}

/// The conformance data's `sub` directory (`SYRF_TESTDATA_DIR`, by default
/// `<workspace root>/../shared/testdata`); `None` after the loud skip line when absent.
fn testdata(sub: &str) -> Option<PathBuf> {
    syrf_testdata::conformance_dir!(sub)
}

fn inspect(args: &[&str], stdin: &[u8]) -> (i32, Value, String) {
    let mut cmd = bin();
    cmd.arg("inspect").args(args);
    let out = common::run_with_stdin(cmd, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn generated() -> Vec<u8> {
    synth::generate_vec(&SynthConfig {
        seed: 7,
        target_bytes: 200_000,
        concurrency: 3,
        with_users: true,
    })
}

/// The manifest's per-collection documents and CRCs equal the independent checker's.
fn assert_matches_verifier(manifest: &Value, archive: &[u8]) {
    let checked = verify::verify(archive).expect("valid archive");
    let namespaces = manifest["namespaces"].as_array().unwrap();
    assert_eq!(manifest["collections"], namespaces.len());
    let mut total = 0;
    for ns in &checked.namespaces {
        let prelude_name = namespaces
            .iter()
            .find(|m| {
                m["body_namespace"].as_str() == Some(&ns.name())
                    || (m["body_namespace"].is_null() && m["name"] == ns.name().as_str())
            })
            .unwrap_or_else(|| panic!("{} missing from the manifest", ns.name()));
        assert_eq!(prelude_name["documents"], ns.docs, "{}", ns.name());
        assert_eq!(
            prelude_name["crc64"].as_str().unwrap(),
            format!("{:#018x}", ns.crc),
            "{}",
            ns.name()
        );
        total += ns.docs;
    }
    assert_eq!(manifest["documents"], total);
    assert_eq!(
        manifest["mongo_version"].as_str(),
        checked.header.get_str("server_version").ok()
    );
}

#[test]
fn generated_archive_manifest_plain_and_gzip() {
    let archive = generated();
    let (code, plain, err) = inspect(&["-"], &archive);
    assert_eq!(code, 0, "{err}");
    assert_matches_verifier(&plain, &archive);
    assert_eq!(plain["format"], "mongo");
    assert_eq!(plain["compression"], "none");
    assert_eq!(plain["source_db"], "syrftest");
    assert_eq!(plain["size_bytes"], archive.len());
    assert_eq!(plain["uncompressed_bytes"], archive.len());

    let gz = gzip(&archive);
    let (code, zipped, err) = inspect(&["-"], &gz);
    assert_eq!(code, 0, "{err}");
    assert_eq!(zipped["compression"], "gzip");
    assert_eq!(zipped["size_bytes"], gz.len());
    assert_eq!(zipped["uncompressed_bytes"], archive.len());
    assert_eq!(zipped["namespaces"], plain["namespaces"]);

    // The SyRF investigator collection's inventory names the rule-covered fields.
    let inv = plain["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["collection"] == "pmInvestigator")
        .expect("pmInvestigator");
    let email = inv["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Email")
        .expect("Email field");
    assert_eq!(email["types"]["string"], inv["documents"]);
    assert!(email.get("samples").is_none());
    // No value from the data without --sample: no email address anywhere.
    assert!(!plain.to_string().contains("@"), "a value leaked");
}

#[test]
fn sample_shows_values_only_when_asked() {
    let archive = generated();
    let (code, m, err) = inspect(&["--sample", "3", "-"], &archive);
    assert_eq!(code, 0, "{err}");
    let inv = m["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["collection"] == "pmInvestigator")
        .unwrap();
    let email = inv["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Email")
        .unwrap();
    let samples = email["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    assert!(samples.iter().all(|s| s.as_str().unwrap().contains('@')));
}

#[test]
fn output_is_written_atomically_and_not_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let archive = generated();
    let input = dir.path().join("dump.archive");
    std::fs::write(&input, &archive).unwrap();
    let manifest = dir.path().join("manifest.json");
    let out = bin()
        .args(["inspect", "--output"])
        .arg(&manifest)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let m: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_matches_verifier(&m, &archive);
    assert!(m["input_modified"].as_str().unwrap().ends_with('Z'));

    // A truncated archive: exit 3, the old manifest untouched, no temporary file left.
    std::fs::write(&input, &archive[..archive.len() / 2]).unwrap();
    let before = std::fs::read(&manifest).unwrap();
    let out = bin()
        .args(["inspect", "-o"])
        .arg(&manifest)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("byte"), "{stderr}");
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn missing_input_is_a_usage_error() {
    let out = bin()
        .args(["inspect", "/nonexistent/dump.gz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the input"));
}

#[test]
fn not_a_dump_is_refused() {
    let (code, m, err) = inspect(&["-"], b"hello, this is not a dump\n");
    assert_eq!(code, 3);
    assert!(m.is_null());
    assert!(err.contains("cannot tell the input's format"), "{err}");
}

#[test]
fn sql_dump_manifest() {
    let dump = "--\n-- PostgreSQL database dump\n--\n-- Dumped from database version 16.4\n\
        SET standard_conforming_strings = on;\nCREATE SCHEMA crm;\n\
        CREATE TABLE crm.people (\n    id integer NOT NULL,\n    email character varying(80),\n    born date\n);\n\
        CREATE TABLE public.empty (\n    x bigint\n);\n\
        COPY crm.people (id, email, born) FROM stdin;\n1\ta@b.c\t2000-01-01\n2\t\\N\t\\N\n\\.\n";
    for input in [dump.as_bytes().to_vec(), gzip(dump.as_bytes())] {
        let (code, m, err) = inspect(&["-"], &input);
        assert_eq!(code, 0, "{err}");
        assert_eq!(m["dialect"], "postgres");
        assert_eq!(m["server_version"], "16.4");
        assert_eq!(m["schemas"], serde_json::json!(["crm", "public"]));
        assert_eq!(m["rows"], 2);
        let people = &m["tables"][0];
        assert_eq!(people["name"], "crm.people");
        assert_eq!(people["rows"], 2);
        assert_eq!(
            people["columns"],
            serde_json::json!([
                {"name": "id", "type": "integer"},
                {"name": "email", "type": "character varying(80)"},
                {"name": "born", "type": "date"}
            ])
        );
        assert_eq!(m["tables"][1]["name"], "public.empty");
        assert_eq!(m["tables"][1]["rows"], 0);
        assert!(!m.to_string().contains("a@b.c"));
    }
}

#[test]
fn real_archives() {
    let Some(dir) = testdata("mongo") else { return };
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".archive") || name.ends_with(".archive.gz")) {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let archive = if name.ends_with(".gz") {
            common::gunzip(&raw)
        } else {
            raw.clone()
        };
        let Ok(_) = verify::verify(&archive) else {
            // An archive the checker rejects must be rejected by inspect too.
            let out = bin().arg("inspect").arg(&path).output().unwrap();
            assert_eq!(out.status.code(), Some(3), "{name}");
            continue;
        };
        let out = bin().arg("inspect").arg(&path).output().unwrap();
        // The checker reads the framing only; the reader also validates what mongorestore
        // parses (the collection metadata). inspect accepts exactly what a run accepts.
        let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
        let options = syrf_anonymize::Options::default();
        if let Err(e) = syrf_anonymize::anonymize(&raw[..], std::io::sink(), &anon, &options) {
            assert_eq!(e.exit_code(), 3, "{name}: {e}");
            assert_eq!(out.status.code(), Some(3), "{name}: a run fails with {e}");
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let m: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_matches_verifier(&m, &archive);
        assert_eq!(m["size_bytes"], raw.len(), "{name}");
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} real archives inspected");
}

#[test]
fn real_sql_dumps() {
    let Some(dir) = testdata("sql") else { return };
    let cases = [
        // Named as the rewriter and the rules name them: the header's database qualifies.
        ("sakila.sql.gz", "mysql", "sakila.actor", 200),
        ("sakila-rowinsert.sql.gz", "mysql", "sakila.actor", 200),
        ("pagila.sql.gz", "postgres", "public.actor", 200),
        ("pagila-inserts.sql.gz", "postgres", "public.actor", 200),
    ];
    for (file, dialect, table, rows) in cases {
        let path = dir.join(file);
        assert!(
            path.is_file(),
            "{}: missing from the conformance data",
            path.display()
        );
        let out = bin().arg("inspect").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{file}");
        let m: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(m["dialect"], dialect, "{file}");
        let t = m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == table)
            .unwrap_or_else(|| panic!("{file}: no {table}"));
        assert_eq!(t["rows"], rows, "{file}");
        let cols: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            cols,
            ["actor_id", "first_name", "last_name", "last_update"],
            "{file}"
        );
        let ty = t["columns"][1]["type"].as_str().unwrap();
        assert!(
            ty == "varchar(45)" || ty == "character varying(45)",
            "{file}: {ty}"
        );
        // Every table with rows has its columns.
        for t in m["tables"].as_array().unwrap() {
            assert!(
                t["columns"].is_array(),
                "{file}: {} has no columns",
                t["name"]
            );
        }
        assert!(
            !m.to_string().contains("PENELOPE"),
            "{file}: a value without --sample"
        );
        let out = bin()
            .args(["inspect", "--sample", "2"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{file}");
        let sampled: Value = serde_json::from_slice(&out.stdout).unwrap();
        let actor = sampled["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == table)
            .unwrap();
        assert_eq!(
            actor["columns"][1]["samples"],
            serde_json::json!(["PENELOPE", "NICK"]),
            "{file}"
        );
        assert_eq!(
            actor["columns"][0]["samples"],
            serde_json::json!(["1", "2"])
        );
        let total: u64 = m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["rows"].as_u64().unwrap())
            .sum();
        assert_eq!(m["rows"], total);
    }
}

#[test]
fn preview_config_outputs_and_errors() {
    let pr = "Adds a thing.\n\n```yaml\n#preview-config\ndatabase:\n  source: snapshot\n  snapshotId: 2026-01-09-daily\n  collections: [pmProject]\n```\n";
    let mut cmd = bin();
    cmd.arg("preview-config");
    let out = common::run_with_stdin(cmd, pr.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "db_source=snapshot\nsnapshot_id=2026-01-09-daily\nanonymize=true\ncollections=[\"pmProject\"]\n"
    );

    let mut cmd = bin();
    cmd.args(["preview-config", "--json"]);
    let out = common::run_with_stdin(cmd, b"no block here\n");
    assert_eq!(out.status.code(), Some(0));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["db_source"], "seed");
    assert_eq!(j["snapshot_id"], "latest");

    let bad = pr.replace("  collections", "  anonymize: false\n  collections");
    let mut cmd = bin();
    cmd.arg("preview-config");
    let out = common::run_with_stdin(cmd, bad.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 8:"), "{err}");
}
