//! A failed run's SQL output on stdout, fed to the real clients: `mariadb` and
//! `psql -v ON_ERROR_STOP=1` must fail on it (while the successful run's output restores).
//! Needs the servers `./scripts/test` starts (or `scripts/dev-servers`), hence `#[ignore]`.

use std::path::PathBuf;
use std::process::Command;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "real-clients-key-0123456789";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run under ./scripts/test or scripts/dev-servers")
    })
}

fn repo_file(rel: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(rel),
    )
    .unwrap()
}

/// Runs the binary on `input` with `rules` (YAML text) and `args`; returns (exit code, stdout).
fn anonymize(input: &[u8], rules: &str, args: &[&str]) -> (Option<i32>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, rules).unwrap();
    let mut c = common::bin();
    c.arg("--rules")
        .arg(&path)
        .arg("--quiet")
        .args(args)
        .env("SYRF_ANONYMIZE_KEY", KEY);
    let out = run_with_stdin(c, input);
    (out.status.code(), out.stdout)
}

fn mariadb(db: Option<&str>) -> Command {
    let mut c = Command::new("mariadb");
    c.arg("--no-defaults")
        .arg(format!("--socket={}", env("SYRF_TEST_MYSQL_SOCKET")))
        .arg(format!("--user={}", env("SYRF_TEST_MYSQL_USER")))
        .arg(format!("--password={}", env("SYRF_TEST_MYSQL_PASSWORD")));
    if let Some(db) = db {
        c.arg(format!("--database={db}"));
    }
    c
}

fn psql(db: &str) -> Command {
    let mut c = Command::new("psql");
    c.arg(format!("--host={}", env("SYRF_TEST_PG_HOST")))
        .arg(format!("--port={}", env("SYRF_TEST_PG_PORT")))
        .arg(format!("--username={}", env("SYRF_TEST_PG_USER")))
        .args(["-X", "--quiet", "--no-password", "-v", "ON_ERROR_STOP=1"])
        .arg(format!("--dbname={db}"))
        .env_remove("PGPASSWORD");
    c
}

/// Feeds `dump` to a fresh database through the real client; returns (success, stderr).
fn restore_mariadb(db: &str, dump: &[u8]) -> (bool, String) {
    let fresh = format!("DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;");
    let r = run_with_stdin(mariadb(None), fresh.as_bytes());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = run_with_stdin(mariadb(Some(db)), dump);
    (
        r.status.success(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

fn restore_psql(db: &str, dump: &[u8]) -> (bool, String) {
    let fresh = format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE);\nCREATE DATABASE \"{db}\" TEMPLATE template0;\n"
    );
    let r = run_with_stdin(psql("postgres"), fresh.as_bytes());
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = run_with_stdin(psql(db), dump);
    (
        r.status.success(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

const TYPO: &str =
    "rules:\n  users:\n    fields:\n      email: hash_email\n      emial: hash_email\n";
const GOOD: &str = "rules:\n  users:\n    fields:\n      email: hash_email\n";

/// An offset inside the first data row of `users`: `marker` starts its data, `inside` is found
/// after it and the cut falls 3 bytes past it (inside a string literal, or a COPY line).
fn cut_inside_users_rows(dump: &[u8], marker: &str, inside: char) -> usize {
    let text = String::from_utf8_lossy(dump);
    let at = text.find(marker).expect("the users data") + marker.len();
    at + text[at..].find(inside).expect("a first row") + 3
}

fn check<F: Fn(&str, &[u8]) -> (bool, String)>(
    fixture: &str,
    (marker, inside): (&str, char),
    restore: F,
    tag: &str,
) {
    let dump = repo_file(fixture);
    let (code, good) = anonymize(&dump, GOOD, &[]);
    assert_eq!(code, Some(0));
    let (ok, err) = restore(&format!("cli_{tag}_good"), &good);
    assert!(ok, "{fixture}: the successful output restores: {err}");

    let (code, strict) = anonymize(&dump, TYPO, &["--strict"]);
    assert_eq!(code, Some(4));
    let (ok, err) = restore(&format!("cli_{tag}_strict"), &strict);
    assert!(
        !ok,
        "{fixture}: the --strict failure's output must fail the client"
    );
    assert!(
        err.contains("syrf_anonymize_run_failed_do_not_restore"),
        "{fixture}: {err}"
    );

    let cut = cut_inside_users_rows(&dump, marker, inside);
    let (code, truncated) = anonymize(&dump[..cut], GOOD, &[]);
    assert_eq!(code, Some(3), "{fixture}: truncated input");
    let (ok, err) = restore(&format!("cli_{tag}_cut"), &truncated);
    assert!(
        !ok,
        "{fixture}: a truncated run's output must fail the client: {err}"
    );

    // gzip output of a failed run: gunzip fails, and what it did decompress fails the client.
    let (code, zipped) = anonymize(&dump, TYPO, &["--strict", "--compress", "gzip"]);
    assert_eq!(code, Some(4));
    let mut plain = Vec::new();
    let _ = std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&zipped[..]),
        &mut plain,
    );
    assert_eq!(plain, strict);
}

#[test]
#[ignore = "needs the MariaDB started by ./scripts/test"]
fn mariadb_client_fails_on_a_failed_runs_output() {
    check(
        "tests/fixtures/sql/laravel.mariadb.sql",
        ("INSERT INTO `users` VALUES", '\''),
        restore_mariadb,
        "my",
    );
}

#[test]
#[ignore = "needs the PostgreSQL started by ./scripts/test"]
fn psql_on_error_stop_fails_on_a_failed_runs_output() {
    check(
        "tests/fixtures/sql/rails.pg.sql",
        ("COPY public.users", '\n'),
        restore_psql,
        "pg",
    );
}
