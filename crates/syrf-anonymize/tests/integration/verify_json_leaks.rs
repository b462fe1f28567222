//! Issue 19's "done when" for the JSON leaks: `verify` and `scan --strict` find them in the old
//! outputs. Each shape a JSON-path rule once skipped (a string or an array where the rule
//! expects an object, a whole document that is a JSON string, double-encoded JSON) is built
//! in PostgreSQL jsonb/json/text and MariaDB json columns and dumped by the real tools. The
//! old output, which left those values unchanged, is the original dump itself, also with the
//! values spelled with JSON `\u0040` escapes or URL-encoded: `verify` exits 5 naming each
//! table and column and printing no value, `scan --strict` exits 4 naming them (all but the
//! double-encoded ones, whose addresses are on the covered path: scan cannot tell an
//! original there from a pseudonym, only verify can); the tool's
//! real output of the same input passes both and restores with the real client.
//!
//! Needs the servers `./scripts/test` starts (or `scripts/dev-servers`), hence `#[ignore]`.
//! Databases are named `sql19_vj_*`.

use std::path::Path;
use std::process::{Command, Output};

use crate::common;
use common::run_with_stdin;

const KEY: &str = "verify-json-leaks-key-0123456789";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run under ./scripts/test or scripts/dev-servers")
    })
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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

fn pg_fresh(db: &str, sql: &str) {
    let fresh = format!(
        "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE);\nCREATE DATABASE \"{db}\" TEMPLATE template0 ENCODING 'UTF8';\n"
    );
    ok(
        &run_with_stdin(psql("postgres"), fresh.as_bytes()),
        "create",
    );
    ok(&run_with_stdin(psql(db), sql.as_bytes()), db);
}

fn pg_dump(db: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new("pg_dump")
        .arg(format!("--host={}", env("SYRF_TEST_PG_HOST")))
        .arg(format!("--port={}", env("SYRF_TEST_PG_PORT")))
        .arg(format!("--username={}", env("SYRF_TEST_PG_USER")))
        .arg("--no-password")
        .args(args)
        .arg(format!("--dbname={db}"))
        .output()
        .unwrap();
    ok(&out, "pg_dump");
    out.stdout
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

fn my_fresh(db: &str, sql: &str) {
    let fresh = format!("DROP DATABASE IF EXISTS `{db}`; CREATE DATABASE `{db}`;");
    ok(&run_with_stdin(mariadb(None), fresh.as_bytes()), "create");
    ok(&run_with_stdin(mariadb(Some(db)), sql.as_bytes()), db);
}

fn my_dump(db: &str) -> Vec<u8> {
    let out = Command::new("mariadb-dump")
        .arg("--no-defaults")
        .arg(format!("--socket={}", env("SYRF_TEST_MYSQL_SOCKET")))
        .arg(format!("--user={}", env("SYRF_TEST_MYSQL_USER")))
        .arg(format!("--password={}", env("SYRF_TEST_MYSQL_PASSWORD")))
        .arg(db)
        .output()
        .unwrap();
    ok(&out, "mariadb-dump");
    out.stdout
}

/// Runs the binary with `args` and the test key.
fn bin(args: &[&std::ffi::OsStr]) -> Output {
    common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .args(args)
        .output()
        .unwrap()
}

/// `verify --original original --rules rules output`: (exit code, stderr).
fn verify(original: &Path, rules: &Path, output: &Path) -> (Option<i32>, String) {
    let out = bin(&[
        "verify".as_ref(),
        "--original".as_ref(),
        original.as_os_str(),
        "--rules".as_ref(),
        rules.as_os_str(),
        output.as_os_str(),
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `scan --strict --rules rules dump`: (exit code, report).
fn scan(rules: &Path, dump: &Path) -> (Option<i32>, String) {
    let out = bin(&[
        "scan".as_ref(),
        "--strict".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        dump.as_os_str(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The leak shapes, one table each, `{col}` the JSON column(s).
const SHAPES: [&str; 4] = ["string", "array", "whole", "double"];

/// Asserts that `verify` and `scan --strict` find every `(table, column)` of `leaks` in
/// `old` and print no value (`secret` marks every original), and that both pass on the
/// tool's real output `fresh` (which `restore` loads).
fn check(
    dir: &Path,
    original: &[u8],
    rules: &str,
    leaks: &[(String, &str)],
    variants: &[(&str, Vec<u8>)],
    restore: impl Fn(&[u8]),
) {
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let orig = write("original.sql", original);
    let rules = write("rules.yaml", rules.as_bytes());
    for (name, old) in variants {
        let old = write(&format!("old-{name}.sql"), old);
        let (code, report) = verify(&orig, &rules, &old);
        assert_eq!(code, Some(5), "verify {name}: {report}");
        for (table, col) in leaks {
            assert!(
                report
                    .lines()
                    .any(|l| l.contains(&format!("{table} {col}"))),
                "verify {name}: {table} {col} not named: {report}"
            );
        }
        assert!(
            !report.contains("corp"),
            "verify {name} printed a value: {report}"
        );
        let (code, report) = scan(&rules, &old);
        assert_eq!(code, Some(4), "scan {name}: {report}");
        // A double-encoded document's address is on the covered path once decoded: scan
        // counts it covered (a run rewrites it); only verify, which knows the originals,
        // can tell it survived.
        for (table, col) in leaks.iter().filter(|(t, _)| !t.ends_with("docs_double")) {
            assert!(
                report
                    .lines()
                    .any(|l| l.contains(&format!("{table} {col}"))),
                "scan {name}: {table} {col} not named: {report}"
            );
        }
        assert!(
            !report.contains("corp"),
            "scan {name} printed a value: {report}"
        );
    }
    let fresh = dir.join("fresh.sql");
    let out = bin(&[
        "--quiet".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--input".as_ref(),
        orig.as_os_str(),
        "--output".as_ref(),
        fresh.as_os_str(),
    ]);
    ok(&out, "anonymize");
    let (code, report) = verify(&orig, &rules, &fresh);
    assert_eq!(code, Some(0), "verify on the real output: {report}");
    let (code, report) = scan(&rules, &fresh);
    assert_eq!(code, Some(0), "scan on the real output: {report}");
    restore(&std::fs::read(&fresh).unwrap());
}

/// The old output in other spellings: the leaked addresses with `@` as JSON's `\u0040`
/// (backslash doubled for COPY text) or URL-encoded.
fn spelled(dump: &[u8], at: &str) -> Vec<u8> {
    String::from_utf8_lossy(dump)
        .replace("@corp.example", &format!("{at}corp.example"))
        .into_bytes()
}

#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn postgres_json_leaks_are_found_in_old_outputs() {
    let mut sql = String::new();
    let mut rules = String::from("rules:\n");
    let mut leaks = Vec::new();
    for shape in SHAPES {
        sql.push_str(&format!(
            "CREATE TABLE docs_{shape} (id int PRIMARY KEY, j jsonb, js json, t text);\n"
        ));
        rules.push_str(&format!("  docs_{shape}:\n    fields:\n"));
        for col in ["j", "js", "t"] {
            rules.push_str(&format!("      {col}.contact.email: hash_email\n"));
            leaks.push((format!("public.docs_{shape}"), col));
        }
        let cast = |col: &str| match col {
            "j" => "jsonb",
            "js" => "json",
            _ => "text",
        };
        let value = |col: &str| {
            let who = format!("{shape}.{col}@corp.example");
            match shape {
                "string" => format!("'{{\"contact\":\"{who}\"}}'"),
                "array" => format!("'{{\"contact\":[\"{who}\"]}}'"),
                "whole" => format!("'\"{who}\"'"),
                _ => format!(
                    "to_json('{{\"contact\":{{\"email\":\"{who}\"}}}}'::text)::{}",
                    cast(col)
                ),
            }
        };
        sql.push_str(&format!(
            "INSERT INTO docs_{shape} VALUES (1, {}, {}, {});\n",
            value("j"),
            value("js"),
            value("t")
        ));
    }
    // A json column keeps the escapes as written: the original itself spells `\u0040`.
    sql.push_str(
        "CREATE TABLE docs_u (id int PRIMARY KEY, js json);\n\
         INSERT INTO docs_u VALUES (1, '{\"contact\":\"u.js\\u0040corp.example\"}'), \
         (2, '{\"contact\":{\"email\":\"u2.js\\u0040corp.example\"}}');\n",
    );
    rules.push_str("  docs_u:\n    fields:\n      js.contact.email: hash_email\n");
    leaks.push(("public.docs_u".to_owned(), "js"));
    pg_fresh("sql19_vj_src", &sql);
    let dir = tempfile::tempdir().unwrap();
    for args in [&[][..], &["--inserts"][..]] {
        let original = pg_dump("sql19_vj_src", args);
        let at_u = if args.is_empty() {
            "\\\\u0040"
        } else {
            "\\u0040"
        };
        let variants = [
            ("same", original.clone()),
            ("u-escaped", spelled(&original, at_u)),
            ("url-encoded", spelled(&original, "%40")),
        ];
        check(dir.path(), &original, &rules, &leaks, &variants, |out| {
            pg_fresh("sql19_vj_dst", "");
            ok(&run_with_stdin(psql("sql19_vj_dst"), out), "restore");
            let mut query = psql("sql19_vj_dst");
            query.arg("--tuples-only").arg("--no-align");
            let rows = run_with_stdin(
                query,
                b"SELECT count(*) FROM docs_double WHERE ((j #>> '{}')::jsonb #>> '{contact,email}') LIKE '%@anonymized.syrf.local';",
            );
            ok(&rows, "query");
            assert_eq!(String::from_utf8_lossy(&rows.stdout).trim(), "1");
        });
    }
}

#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn mariadb_json_leaks_are_found_in_old_outputs() {
    let mut sql = String::new();
    let mut rules = String::from("rules:\n");
    let mut leaks = Vec::new();
    for shape in SHAPES {
        let who = format!("{shape}.j@corp.example");
        let value = match shape {
            "string" => format!("'{{\"contact\":\"{who}\"}}'"),
            "array" => format!("'{{\"contact\":[\"{who}\"]}}'"),
            "whole" => format!("'\"{who}\"'"),
            _ => format!("JSON_QUOTE('{{\"contact\":{{\"email\":\"{who}\"}}}}')"),
        };
        sql.push_str(&format!(
            "CREATE TABLE docs_{shape} (id INT PRIMARY KEY, j JSON);\n\
             INSERT INTO docs_{shape} VALUES (1, {value});\n"
        ));
        rules.push_str(&format!(
            "  docs_{shape}:\n    fields:\n      j.contact.email: hash_email\n"
        ));
        leaks.push((format!("sql19_vj_src.docs_{shape}"), "j"));
    }
    my_fresh("sql19_vj_src", &sql);
    let original = my_dump("sql19_vj_src");
    // MySQL strings escape a backslash: `\\u0040` is `\u0040` in the value.
    let variants = [
        ("same", original.clone()),
        ("u-escaped", spelled(&original, "\\\\u0040")),
        ("url-encoded", spelled(&original, "%40")),
    ];
    let dir = tempfile::tempdir().unwrap();
    check(dir.path(), &original, &rules, &leaks, &variants, |out| {
        my_fresh("sql19_vj_dst", "");
        ok(
            &run_with_stdin(mariadb(Some("sql19_vj_dst")), out),
            "restore",
        );
        let rows = run_with_stdin(
            mariadb(Some("sql19_vj_dst")),
            b"SELECT JSON_VALUE(JSON_UNQUOTE(j), '$.contact.email') LIKE '%@anonymized.syrf.local' FROM docs_double;",
        );
        ok(&rows, "query");
        assert!(String::from_utf8_lossy(&rows.stdout).trim().ends_with('1'));
    });
}
