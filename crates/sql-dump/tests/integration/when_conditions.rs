//! Per-table rule conditions (`rules.<table>.when`, issue 20.4) on real dumps: rows for
//! which the condition is false (staff accounts) keep every value; every other row's covered
//! values change; a condition that cannot be evaluated (NULL, the column not in the
//! statement, a different case) applies the rules. Dumps come from the real `mariadb-dump`
//! and `pg_dump` (COPY and multi-row INSERT), with hand-written upserts and UPDATEs
//! appended, and the output is restored into the real servers and queried.
//!
//! The real-server tests are `#[ignore]`d; run them with `-- --include-ignored` after
//! `source /tmp/syrf-dev/env` or through `./scripts/test`.

use crate::support;

use std::collections::HashMap;

use sql_dump::{rewrite_sql, SqlOptions};
use support::{anonymizer, MySql, Pg};

const RULES: &str = "rules:
  users:
    when: {email: {not_ends_with: \"@ourcompany.example\"}}
    columns:
      email: hash_email
      name: sequential
      profile.phone: digits
";

/// Rows that keep their values: the staff accounts.
const STAFF: &[&str] = &["1", "4", "11"];
/// Rows whose covered values change (2: ordinary; 3: NULL e-mail; 5: the domain in another
/// case; 10: inserted without the e-mail column; 12: updated to a non-staff address).
const OTHERS: &[&str] = &["2", "3", "5", "10", "12"];

fn source_rows() -> &'static str {
    "(1,'ann@ourcompany.example','Ann Staff','write to ann@ourcompany.example','{\"phone\": \"+44 1234 567890\"}'),
     (2,'bob@mail.example','Bob Person','write to bob@mail.example','{\"phone\": \"+44 2222 333444\"}'),
     (3,NULL,'Nully Person',NULL,'{\"phone\": \"+44 5555 666777\"}'),
     (4,'cat@ourcompany.example','Cat Staff','cat','{\"phone\": \"+44 7777 888999\"}'),
     (5,'dan@OURCOMPANY.example','Dan Case','dan','{\"phone\": \"+44 1010 202030\"}'),
     (12,'gil@ourcompany.example','Gil Leaving','gil','{\"phone\": \"+44 4040 505060\"}')"
}

/// Statements appended to the dump: a column list without the condition column, an upsert
/// of a staff row, an UPDATE moving a staff row to another address.
fn appended(pg: bool) -> String {
    let upsert = if pg {
        "ON CONFLICT (id) DO UPDATE SET email = 'fay@ourcompany.example', name = 'Fay Staff'"
    } else {
        "ON DUPLICATE KEY UPDATE email = 'fay@ourcompany.example', name = 'Fay Staff'"
    };
    format!(
        "INSERT INTO users (id, name, profile) VALUES (10, 'Eve NoEmail', '{{\"phone\": \"+44 3030 404050\"}}');\n\
         INSERT INTO users VALUES (11, 'fay@ourcompany.example', 'Fay Staff', 'fay', '{{\"phone\": \"+44 6060 707080\"}}') {upsert};\n\
         UPDATE users SET email = 'gil@mail.example', name = 'Gil Gone' WHERE id = 12;\n"
    )
}

/// What the source rows hold after the appended statements, by id: (email, name, phone).
fn expected_source() -> HashMap<&'static str, (Option<&'static str>, &'static str, &'static str)> {
    HashMap::from([
        (
            "1",
            (
                Some("ann@ourcompany.example"),
                "Ann Staff",
                "+44 1234 567890",
            ),
        ),
        (
            "2",
            (Some("bob@mail.example"), "Bob Person", "+44 2222 333444"),
        ),
        ("3", (None, "Nully Person", "+44 5555 666777")),
        (
            "4",
            (
                Some("cat@ourcompany.example"),
                "Cat Staff",
                "+44 7777 888999",
            ),
        ),
        (
            "5",
            (
                Some("dan@OURCOMPANY.example"),
                "Dan Case",
                "+44 1010 202030",
            ),
        ),
        ("10", (None, "Eve NoEmail", "+44 3030 404050")),
        (
            "11",
            (
                Some("fay@ourcompany.example"),
                "Fay Staff",
                "+44 6060 707080",
            ),
        ),
        (
            "12",
            (Some("gil@mail.example"), "Gil Gone", "+44 4040 505060"),
        ),
    ])
}

fn rewrite(dump: &[u8], threads: usize) -> (Vec<u8>, anonymize_core::Report) {
    let anon = anonymizer(RULES, "when.yaml");
    let mut out = Vec::new();
    let options = SqlOptions {
        threads,
        ..SqlOptions::default()
    };
    rewrite_sql(dump, &mut out, &anon, &options).expect("rewritten");
    (out, anon.report())
}

/// Staff rows equal their source; every other row's name and phone differ, and its e-mail
/// too where it has one. `rows`: (id, email or NULL marker, name, phone).
fn assert_rows(rows: &[Vec<String>], null: &str) {
    let source = expected_source();
    assert_eq!(rows.len(), source.len(), "{rows:?}");
    for r in rows {
        let (email, name, phone) = source[r[0].as_str()];
        let got_email = (r[1] != null).then_some(r[1].as_str());
        if STAFF.contains(&r[0].as_str()) {
            assert_eq!(
                (got_email, r[2].as_str(), r[3].as_str()),
                (email, name, phone),
                "staff row {} changed",
                r[0]
            );
        } else {
            assert!(OTHERS.contains(&r[0].as_str()));
            assert_ne!(r[2], name, "row {}: name kept", r[0]);
            if r[0] == "12" {
                // A staff row in the dump, kept; the UPDATE that moves it to another address
                // rewrites what it sets, not the values it leaves alone.
                assert_eq!(r[3], phone);
            } else {
                assert_ne!(r[3], phone, "row {}: phone kept", r[0]);
            }
            assert_eq!(got_email.is_some(), email.is_some(), "row {}", r[0]);
            if email.is_some() {
                assert_ne!(got_email, email, "row {}: e-mail kept", r[0]);
                assert!(
                    !got_email.unwrap().ends_with("@ourcompany.example"),
                    "{r:?}"
                );
            }
        }
    }
}

/// The rows skipped, as the report counts them: 1, 4 and 12 in the dump's rows, 11's row
/// and its upsert trailer (which sets the e-mail); the UPDATE of 12 sets a non-staff
/// address, so its values are rewritten (and 12 ends up with pseudonyms).
const SKIPPED: u64 = 5;

#[test]
fn hand_written_dump_skips_staff_rows_in_every_statement_form() {
    let dump = format!(
        "-- MariaDB dump 10.19\nCREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255), name VARCHAR(100), notes TEXT, profile JSON);\n\
         INSERT INTO users VALUES {};\n{}",
        source_rows(),
        appended(false)
    );
    for threads in [1, 2] {
        let (out, report) = rewrite(dump.as_bytes(), threads);
        let out = String::from_utf8(out).unwrap();
        for kept in [
            "'ann@ourcompany.example','Ann Staff','write to ann@ourcompany.example'",
            "'cat@ourcompany.example','Cat Staff'",
            "VALUES (11, 'fay@ourcompany.example', 'Fay Staff'",
            "UPDATE email = 'fay@ourcompany.example', name = 'Fay Staff'",
        ] {
            assert!(out.contains(kept), "{kept} missing from {out}");
        }
        for gone in [
            "bob@mail.example",
            "Bob Person",
            "Nully Person",
            "dan@OURCOMPANY",
            "Eve NoEmail",
            "gil@mail.example",
            "Gil Gone",
            "2222 333444",
        ] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        assert_eq!(report.when_skipped.len(), 1);
        assert_eq!(report.when_skipped[0].table, "users");
        assert_eq!(
            report.when_skipped[0].rows_skipped, SKIPPED,
            "{threads} threads"
        );
    }
}

#[test]
#[ignore = "needs the real MariaDB server (source /tmp/syrf-dev/env)"]
fn mariadb_restores_staff_rows_unchanged_and_the_others_rewritten() {
    let my = MySql::from_env();
    let (src, dst) = ("when20_src", "when20_out");
    my.fresh_db(src);
    my.exec(
        Some(src),
        &format!(
            "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255), name VARCHAR(100), \
             notes TEXT, profile JSON);\nINSERT INTO users VALUES {};",
            source_rows()
        ),
    );
    for args in [
        &["--skip-dump-date", src][..],
        &[
            "--skip-dump-date",
            "--skip-extended-insert",
            "--complete-insert",
            src,
        ][..],
    ] {
        let mut dump = my.dump(args);
        dump.extend_from_slice(appended(false).as_bytes());
        for threads in [1, 2] {
            let (out, report) = rewrite(&dump, threads);
            assert_eq!(report.when_skipped[0].rows_skipped, SKIPPED, "{args:?}");
            my.fresh_db(dst);
            my.restore(Some(dst), &out);
            let rows = my.query(
                Some(dst),
                "SELECT id, email, name, JSON_UNQUOTE(JSON_EXTRACT(profile, '$.phone')) \
                 FROM users ORDER BY id",
            );
            assert_rows(&rows, "NULL");
            // The echo guard still rewrites the copy of a changed address in `notes`, and
            // leaves the staff row's copy alone.
            assert_eq!(
                my.scalar(Some(dst), "SELECT notes FROM users WHERE id = 1"),
                "write to ann@ourcompany.example"
            );
            assert_eq!(
                my.count(
                    Some(dst),
                    "SELECT COUNT(*) FROM users WHERE notes LIKE '%bob@mail.example%'"
                ),
                0
            );
        }
    }
    my.drop_db(src);
    my.drop_db(dst);
}

#[test]
#[ignore = "needs the real PostgreSQL server (source /tmp/syrf-dev/env)"]
fn postgres_restores_staff_rows_unchanged_and_the_others_rewritten() {
    let pg = Pg::from_env();
    let (src, dst) = ("when20_src", "when20_out");
    pg.fresh_db(src);
    pg.exec(
        src,
        &format!(
            "CREATE TABLE users (id int PRIMARY KEY, email text, name text, notes text, \
             profile jsonb);\nINSERT INTO users VALUES {};",
            source_rows()
        ),
    );
    for extra in [&[][..], &["--inserts", "--rows-per-insert=4"][..]] {
        let out = pg
            .command("pg_dump")
            .arg("--no-password")
            .args(extra)
            .arg(format!("--dbname={src}"))
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut dump = out.stdout;
        dump.extend_from_slice(b"SET search_path = public;\n");
        dump.extend_from_slice(appended(true).as_bytes());
        for threads in [1, 2] {
            let (out, report) = rewrite(&dump, threads);
            assert_eq!(report.when_skipped[0].rows_skipped, SKIPPED, "{extra:?}");
            pg.fresh_db(dst);
            pg.restore(dst, &out);
            let rows = pg.query(
                dst,
                "SELECT id, email, name, profile->>'phone' FROM users ORDER BY id",
            );
            assert_rows(&rows, "\\N");
            assert_eq!(
                pg.scalar(dst, "SELECT notes FROM users WHERE id = 1"),
                "write to ann@ourcompany.example"
            );
        }
    }
    // A pg_dump custom archive (the appended statements applied to the source first).
    pg.exec(src, &appended(true));
    let out = pg
        .command("pg_dump")
        .arg("--no-password")
        .arg("--format=custom")
        .arg(format!("--dbname={src}"))
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let anon = anonymizer(RULES, "when.yaml");
    let mut archive = Vec::new();
    sql_dump::rewrite_pg_custom(
        &out.stdout[..],
        &mut archive,
        &anon,
        &SqlOptions::default(),
        &sql_dump::PgArchiveOptions { data_offsets: true },
    )
    .expect("custom archive rewritten");
    // 1, 4 and 11 are staff in the source after the appended statements.
    assert_eq!(anon.report().when_skipped[0].rows_skipped, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("when.dump");
    std::fs::write(&path, &archive).unwrap();
    pg.fresh_db(dst);
    let restored = pg
        .command("pg_restore")
        .arg("--no-password")
        .arg("--exit-on-error")
        .arg(format!("--dbname={dst}"))
        .arg(&path)
        .output()
        .expect("pg_restore runs");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let rows = pg.query(
        dst,
        "SELECT id, email, name, profile->>'phone' FROM users ORDER BY id",
    );
    let by_id = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    let source = expected_source();
    for id in STAFF {
        let (email, name, phone) = source[id];
        assert_eq!(by_id(id)[1..], [email.unwrap(), name, phone]);
    }
    for id in ["2", "12"] {
        assert_ne!(by_id(id)[1], source[id].0.unwrap());
        assert_ne!(by_id(id)[2], source[id].1);
    }
    for db in [src, dst] {
        pg.exec(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE);"),
        );
    }
}

#[test]
fn a_condition_on_a_column_the_table_lacks_is_an_error_naming_the_table() {
    let dump =
        "-- MariaDB dump 10.19\nCREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255));\n\
                INSERT INTO users VALUES (1,'ann@ourcompany.example');\n";
    for (when, expected) in [
        (
            "{mail: {not_ends_with: x}}",
            "names column `mail`, which the table does not have",
        ),
        (
            "{email.domain: x}",
            "names `email.domain`, a path into a column",
        ),
    ] {
        let anon = anonymizer(
            &format!("rules:\n  users:\n    when: {when}\n    columns: {{email: hash_email}}\n"),
            "when.yaml",
        );
        let e = rewrite_sql(
            dump.as_bytes(),
            &mut Vec::new(),
            &anon,
            &SqlOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(expected) && e.contains("users"), "{e}");
        assert!(!e.contains("ann@"), "{e}");
    }
}

/// PostgreSQL booleans (COPY's `t`/`f`, INSERT's `true`) compare with boolean literals; a
/// text comparison on one cannot be evaluated and applies the rules.
#[test]
fn postgres_booleans_compare_with_boolean_literals_only() {
    let dump = "-- PostgreSQL database dump\n\
                CREATE TABLE public.users (id integer NOT NULL, is_staff boolean, name text);\n\
                COPY public.users (id, is_staff, name) FROM stdin;\n1\tt\tAnn Staff\n2\tf\tBob Person\n\\.\n\
                INSERT INTO public.users VALUES (3, true, 'Cat Staff'), (4, false, 'Dan Person');\n";
    let run = |when: &str| {
        let anon = anonymizer(
            &format!("rules:\n  users:\n    when: {when}\n    columns:\n      name: {{transform: constant, value: x}}\n"),
            "when.yaml",
        );
        let mut out = Vec::new();
        rewrite_sql(dump.as_bytes(), &mut out, &anon, &SqlOptions::default()).expect("rewritten");
        let out = String::from_utf8(out).unwrap();
        ["Ann Staff", "Bob Person", "Cat Staff", "Dan Person"].map(|n| out.contains(n))
    };
    assert_eq!(run("{is_staff: false}"), [true, false, true, false]);
    assert_eq!(run("{is_staff: {not: true}}"), [true, false, true, false]);
    assert_eq!(run("{is_staff: \"f\"}"), [false, false, false, false]);
}
