//! deploy/sql-refresh-job.yaml's script, run as written against the real PostgreSQL of
//! `./scripts/test`: a good run replaces the target database with the anonymized copy (the
//! old one kept as `_previous`); a run failing at any stage (a `--strict` failure, an early
//! error writing 0 bytes that psql accepts) leaves the target database as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml_ng::Value;

const BIN: &str = env!("CARGO_BIN_EXE_syrf-anonymize");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run under ./scripts/test or scripts/dev-servers")
    })
}

/// The refresh container's script from the YAML, with the mount paths moved into `dir`.
fn job_script(dir: &Path) -> String {
    let text = std::fs::read_to_string(root().join("deploy/sql-refresh-job.yaml")).unwrap();
    let doc = Value::deserialize(serde_yaml_ng::Deserializer::from_str(&text)).unwrap();
    let script = doc["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap()
        .to_owned();
    script
        .replace("/etc/syrf-anonymize/", &format!("{}/", dir.display()))
        .replace("/scratch/", &format!("{}/", dir.display()))
}

fn server() -> String {
    format!(
        "host={} port={} user={}",
        env("SYRF_TEST_PG_HOST"),
        env("SYRF_TEST_PG_PORT"),
        env("SYRF_TEST_PG_USER")
    )
}

fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .arg(format!("{} dbname={db}", server()))
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs the job's script with `rules` and the key `key` (None: unset); returns success.
fn refresh(dir: &Path, rules: &str, key: Option<&str>) -> bool {
    std::fs::write(dir.join("rules.yaml"), rules).unwrap();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(job_script(dir))
        .env("PATH", path)
        .env("SOURCE_URI", format!("{} dbname=e21_refresh_src", server()))
        .env("TARGET_SERVER", server())
        .env("TARGET_DB", "e21_refresh_dst")
        .env_remove("PGPASSWORD");
    match key {
        Some(k) => c.env("SYRF_ANONYMIZE_KEY", k),
        None => c.env_remove("SYRF_ANONYMIZE_KEY"),
    };
    c.output().unwrap().status.success()
}

#[test]
#[ignore = "needs the PostgreSQL server of ./scripts/test"]
fn refresh_restores_into_scratch_then_swaps_and_failures_leave_the_target() {
    for db in [
        "e21_refresh_src",
        "e21_refresh_dst",
        "e21_refresh_dst_incoming",
        "e21_refresh_dst_previous",
    ] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", "CREATE DATABASE e21_refresh_src");
    psql(
        "e21_refresh_src",
        "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE); \
         INSERT INTO users VALUES (1, 'alice.original@example.org'), (2, 'bob.original@example.org')",
    );
    psql("postgres", "CREATE DATABASE e21_refresh_dst");
    psql(
        "e21_refresh_dst",
        "CREATE TABLE marker (was text); INSERT INTO marker VALUES ('old')",
    );

    let dir = tempfile::tempdir().unwrap();
    let good = "rules:\n  users:\n    columns:\n      email: hash_email\n";
    let key = Some("refresh-test-key-0123456789abcdef");
    assert!(refresh(dir.path(), good, key), "a good run succeeds");
    let emails = psql(
        "e21_refresh_dst",
        "SELECT string_agg(email, ',') FROM users",
    );
    assert!(
        !emails.is_empty() && !emails.contains("original"),
        "{emails}"
    );
    assert_eq!(
        psql("e21_refresh_dst_previous", "SELECT was FROM marker"),
        "old"
    );
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(report.contains("\"format\": \"postgres\""), "{report}");

    // Marks the current target to tell it apart after failed runs.
    psql(
        "e21_refresh_dst",
        "UPDATE users SET email = 'kept@example.test' WHERE id = 1",
    );
    // --strict fails at the end of the stream: psql rolls the single transaction back.
    let typo = "rules:\n  users:\n    columns:\n      emial: hash_email\n";
    assert!(
        !refresh(dir.path(), typo, key),
        "a --strict failure fails the Job"
    );
    // No key: syrf-anonymize writes 0 bytes, which psql accepts with exit 0; pipefail fails it.
    assert!(
        !refresh(dir.path(), good, None),
        "an early error fails the Job"
    );
    assert_eq!(
        psql("e21_refresh_dst", "SELECT email FROM users WHERE id = 1"),
        "kept@example.test",
        "failed runs left the target as it was"
    );
    for db in [
        "e21_refresh_src",
        "e21_refresh_dst",
        "e21_refresh_dst_incoming",
        "e21_refresh_dst_previous",
    ] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}
