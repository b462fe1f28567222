//! `syrf-anonymize scan` on SQL dumps: generated MySQL and PostgreSQL dumps with personal data
//! planted in uncovered columns, inside free text and inside JSON columns; the real Sakila and
//! pagila dumps. Values stay hidden without `--show-values`, rules and exclusions silence what
//! they cover, `--suggest` gives rules that `check` accepts and that anonymize the dump so a
//! second `scan --strict` passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;

fn cmd(args: &[&str]) -> Output {
    common::bin().args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

const FIRST: [&str; 6] = ["Mary", "Linda", "John", "Peter", "Alice", "Oscar"];
const LAST: [&str; 6] = ["Smith", "Brown", "Jones", "Miller", "Davis", "Moore"];
const ROWS: usize = 12;

/// A per-row random-looking token (letters and digits, 32 characters).
fn token(i: usize) -> String {
    let mut x = 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1);
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char
        })
        .collect()
}

/// One row's planted values: (display name, bio, prefs JSON, ipv4, token, email).
fn row(i: usize) -> [String; 6] {
    let bio = if i >= 3 {
        format!("Reviewer. Contact planted.bio.{i}@example.org or +44 20 7946 {i:04}.")
    } else {
        "Reviewer of animal studies.".to_owned()
    };
    [
        format!("{} {}", FIRST[i % 6], LAST[(i / 2) % 6]),
        bio,
        format!(
            r#"{{"theme":"dark","contact":{{"email":"planted.json.{i}@example.org"}},"devices":[{{"ip":"2001:db8::{i:x}"}}]}}"#
        ),
        format!("192.0.2.{i}"),
        token(i),
        format!("planted.mail.{i}@example.org"),
    ]
}

/// A generated dump and the 1-based lines of the users rows.
struct Dump {
    sql: String,
    user_lines: Vec<u64>,
}

fn mysql_dump() -> Dump {
    let mut sql = String::from(
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: app\n\
         /*!40101 SET NAMES utf8mb4 */;\n\
         CREATE TABLE `users` (\n  `id` int NOT NULL,\n  `display` varchar(64),\n  `bio` text,\n  `prefs` json,\n  `ip` varchar(45),\n  `api_token` varchar(64),\n  `email` varchar(128),\n  PRIMARY KEY (`id`)\n);\n\
         CREATE TABLE `sessions` (`id` int, `email` varchar(128));\n\
         CREATE TABLE `audit` (`id` int, `email` varchar(128));\n",
    );
    let mut user_lines = Vec::new();
    for i in 0..ROWS {
        let [display, bio, prefs, ip, tok, email] = row(i);
        user_lines.push(sql.lines().count() as u64 + 1);
        let prefs = prefs.replace('"', "\\\"");
        sql.push_str(&format!(
            "INSERT INTO `users` VALUES ({i},'{display}','{bio}','{prefs}','{ip}','{tok}','{email}');\n"
        ));
    }
    sql.push_str("INSERT INTO `sessions` VALUES (1,'planted.session@example.org'),(2,'planted.session2@example.org');\n");
    sql.push_str("INSERT INTO `audit` VALUES (1,'planted.audit@example.org');\n");
    Dump { sql, user_lines }
}

fn postgres_dump() -> Dump {
    let mut sql = String::from(
        "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\
         CREATE TABLE public.users (\n    id integer NOT NULL,\n    display character varying(64),\n    bio text,\n    prefs jsonb,\n    ip inet,\n    api_token text,\n    email text\n);\n\
         CREATE TABLE public.sessions (id integer, email text);\n\
         CREATE TABLE public.audit (id integer, email text);\n\
         COPY public.users (id, display, bio, prefs, ip, api_token, email) FROM stdin;\n",
    );
    let mut user_lines = Vec::new();
    for i in 0..ROWS {
        let [display, bio, prefs, ip, tok, email] = row(i);
        user_lines.push(sql.lines().count() as u64 + 1);
        sql.push_str(&format!(
            "{i}\t{display}\t{bio}\t{prefs}\t{ip}\t{tok}\t{email}\n"
        ));
    }
    sql.push_str("\\.\n\nCOPY public.sessions (id, email) FROM stdin;\n1\tplanted.session@example.org\n\\.\n");
    sql.push_str("INSERT INTO public.audit VALUES (1, 'planted.audit@example.org');\n");
    Dump { sql, user_lines }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// The report line of `table column: kind`, if any.
fn line_of<'a>(report: &'a str, table: &str, column: &str, kind: &str) -> Option<&'a str> {
    let head = format!("  {table} {column}: {kind} (");
    report.lines().find(|l| l.starts_with(&head))
}

fn check_generated(dump: Dump, table: &str, rules_key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "dump.sql", dump.sql.as_bytes());
    let out = cmd(&["scan", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(!all.contains("planted"), "a value leaked: {all}");
    assert!(!all.contains("example.org"), "a value leaked: {all}");
    assert!(!all.contains(&token(0)), "a value leaked: {all}");
    let report = String::from_utf8(out.stdout).unwrap();
    let expect = |column: &str, kind: &str, count: usize, first_row: usize| {
        let l = line_of(&report, table, column, kind)
            .unwrap_or_else(|| panic!("no {column} {kind} in {report}"));
        let pos = format!(
            "({count} values{}, first in row {}, line {})",
            if kind == "name" {
                " are full names"
            } else {
                ""
            },
            first_row + 1,
            dump.user_lines[first_row]
        );
        assert!(l.contains(&pos), "{l} lacks {pos}");
    };
    expect("display", "name", ROWS, 0);
    expect("bio", "email", ROWS - 3, 3);
    expect("bio", "phone", ROWS - 3, 3);
    expect("prefs.contact.email", "email", ROWS, 0);
    expect("prefs.devices.ip", "ipv6", ROWS, 0);
    expect("ip", "ipv4", ROWS, 0);
    expect("api_token", "token", ROWS, 0);
    expect("email", "email", ROWS, 0);
    assert!(
        line_of(&report, table, "prefs.theme", "name").is_none(),
        "{report}"
    );
    let sessions = table.replace("users", "sessions");
    assert!(
        line_of(&report, &sessions, "email", "email").is_some(),
        "{report}"
    );

    // --show-values shows the first value.
    let out = cmd(&["scan", "--show-values", plain.to_str().unwrap()]);
    let report = String::from_utf8(out.stdout).unwrap();
    let l = line_of(&report, table, "prefs.contact.email", "email").unwrap();
    assert!(l.contains("e.g. \"planted.json.0@example.org\""), "{l}");

    // Rules: covered columns and JSON paths, excluded and schema-only tables are not reported.
    let rules = write(
        dir.path(),
        "rules.yaml",
        format!(
            "rules:\n  {rules_key}:\n    columns:\n      email: hash_email\n      prefs.contact.email: hash_email\n      api_token: hash\n\
             exclusions: [sessions]\nschema_only: [audit]\n"
        )
        .as_bytes(),
    );
    let gz = write(dir.path(), "dump.sql.gz", &gzip(dump.sql.as_bytes()));
    let out = cmd(&[
        "scan",
        "--strict",
        "--rules",
        rules.to_str().unwrap(),
        gz.to_str().unwrap(),
    ]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(4), "{report}");
    assert!(
        line_of(&report, table, "email", "email").is_none(),
        "{report}"
    );
    for gone in [
        "prefs.contact.email",
        "api_token",
        "sessions email",
        "audit email",
    ] {
        assert!(!report.contains(gone), "{gone} reported: {report}");
    }
    assert!(
        line_of(&report, table, "prefs.devices.ip", "ipv6").is_some(),
        "{report}"
    );
    assert!(
        line_of(&report, table, "bio", "email").is_some(),
        "{report}"
    );
    assert!(report.contains("sessions: skipped"), "{report}");
    assert!(report.contains("audit: skipped"), "{report}");

    suggest_round_trip(
        &plain,
        dir.path(),
        &["planted", &token(5), "2001:db8::", "192.0.2."],
    );
}

/// `scan --suggest` rules pass `check`, anonymize the dump (no `leak` survives), and a
/// second `scan --strict` with them is clean.
fn suggest_round_trip(dump: &Path, dir: &Path, leaks: &[&str]) {
    let out = cmd(&["scan", "--suggest", dump.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let yaml = String::from_utf8(out.stdout).unwrap();
    for leak in leaks {
        assert!(!yaml.contains(leak), "{yaml}");
    }
    let rules = write(dir, "suggested.yaml", yaml.as_bytes());
    let out = cmd(&["check", "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}\n{yaml}", text(&out));
    let anonymized = dir.join("anonymized.sql");
    let out = cmd(&[
        "--unkeyed",
        "--quiet",
        "--rules",
        rules.to_str().unwrap(),
        "--input",
        dump.to_str().unwrap(),
        "--output",
        anonymized.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{yaml}", text(&out));
    let rewritten = std::fs::read(&anonymized).unwrap();
    let rewritten = String::from_utf8_lossy(&rewritten);
    for leak in leaks {
        assert!(!rewritten.contains(leak), "{leak} survived with\n{yaml}");
    }
    let out = cmd(&[
        "scan",
        "--strict",
        "--rules",
        rules.to_str().unwrap(),
        anonymized.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}\n{yaml}", text(&out));
    assert!(text(&out).contains(" 0 finding(s)"), "{}", text(&out));
}

#[test]
fn generated_mysql_dump() {
    check_generated(mysql_dump(), "app.users", "users");
}

#[test]
fn generated_postgres_dump() {
    check_generated(postgres_dump(), "public.users", "public.users");
}

#[test]
fn not_a_dump_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.txt", b"hello planted.x@example.org\n");
    let out = cmd(&["scan", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out).contains("planted"), "{}", text(&out));
    // A truncated dump is an error naming a line, without the value.
    let cut =
        b"CREATE TABLE public.t (a text);\nCOPY public.t (a) FROM stdin;\nplanted.y@example.org\n";
    let p = write(
        dir.path(),
        "cut.sql",
        &[b"--\n-- PostgreSQL database dump\n--\n".as_slice(), cut].concat(),
    );
    let out = cmd(&["scan", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("line"), "{}", text(&out));
    assert!(!text(&out).contains("planted"), "{}", text(&out));
}

/// The real Sakila (MariaDB) and pagila (PostgreSQL) dumps: customers' emails and names are
/// found with no rule, silenced by rules on them or by excluding the table, and the
/// suggested rules anonymize them.
#[test]
fn real_dumps_customers() {
    let Some(dir) = syrf_testdata::conformance_dir!("sql") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for (file, table) in [
        ("sakila.sql.gz", "sakila.customer"),
        ("sakila-rowinsert.sql.gz", "sakila.customer"),
        ("pagila.sql.gz", "public.customer"),
        ("pagila-inserts.sql.gz", "public.customer"),
    ] {
        let dump = dir.join(file);
        let dump = dump.to_str().unwrap();
        let out = cmd(&["scan", dump]);
        assert_eq!(out.status.code(), Some(0), "{file}: {}", text(&out));
        let report = text(&out);
        assert!(
            !report.contains("sakilacustomer.org"),
            "{file}: a value leaked"
        );
        assert!(
            line_of(&report, table, "email", "email").is_some(),
            "{file}: {report}"
        );
        // Sakila's and pagila's phones are bare digits: found by the column's name.
        let address = table.replace("customer", "address");
        assert!(
            line_of(&report, &address, "phone", "phone").is_some(),
            "{file}: {report}"
        );
        let first = line_of(&report, table, "first_name", "name")
            .unwrap_or_else(|| panic!("{file}: {report}"));
        assert!(first.contains("first names"), "{first}");
        let last = line_of(&report, table, "last_name", "name")
            .unwrap_or_else(|| panic!("{file}: {report}"));
        assert!(last.contains("last names"), "{last}");

        let rules = write(
            tmp.path(),
            "rules.yaml",
            b"rules:\n  customer:\n    columns:\n      email: hash_email\n      first_name: {transform: fake, kind: first_name}\n      last_name: {transform: fake, kind: last_name}\n",
        );
        let out = cmd(&["scan", "--rules", rules.to_str().unwrap(), dump]);
        let report = text(&out);
        assert!(!report.contains(&format!("{table} ")), "{file}: {report}");
        assert!(
            line_of(
                &report,
                &table.replace("customer", "staff"),
                "email",
                "email"
            )
            .is_some(),
            "{file}: {report}"
        );

        let rules = write(tmp.path(), "excl.yaml", b"exclusions: [customer]\n");
        let out = cmd(&["scan", "--rules", rules.to_str().unwrap(), dump]);
        let report = text(&out);
        assert!(
            report.contains(&format!("  {table}: skipped")),
            "{file}: {report}"
        );
        assert!(!report.contains(&format!("{table} ")), "{file}: {report}");
    }
    // The suggestion anonymizes a real dump (plain, for the round trip) so a second scan
    // passes; the customers' addresses are gone.
    for file in ["sakila.sql.gz", "pagila.sql.gz"] {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(dir.join(file)).unwrap()),
            &mut plain,
        )
        .unwrap();
        assert!(String::from_utf8_lossy(&plain).contains("@sakilacustomer.org"));
        let p = write(tmp.path(), "real.sql", &plain);
        suggest_round_trip(&p, tmp.path(), &["@sakilacustomer.org"]);
    }
}
