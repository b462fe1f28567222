//! Dump variants that must fail closed or restore (issue 10): each case is dumped by the real
//! `mariadb-dump`/`pg_dump` from the private servers, anonymized, and where relevant restored
//! into a fresh database and checked by SQL.
//!
//! Run with `./scripts/test` (these tests are `#[ignore]`d for plain `cargo test`).

mod support;

use support::{anonymize, anonymizer, assert_absent, MySql, Pg};

#[allow(dead_code)]
fn _uses(_: Pg) {}

/// Runs sql-dump and returns its error message (the run must fail).
#[allow(dead_code)]
fn rejected(dump: &[u8], rules: &str) -> String {
    let anon = anonymizer(rules, "variants.yaml");
    let mut out = Vec::new();
    match sql_dump::rewrite_sql(dump, &mut out, &anon, &sql_dump::SqlOptions::default()) {
        Ok(_) => panic!("sql-dump accepted a dump it must refuse"),
        Err(e) => e.to_string(),
    }
}

const MY_SCHEMA: &str = "
CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(80), name VARCHAR(40));
INSERT INTO customer VALUES (1,'ann.ansi@example.org','Ann'),(2,'bob.ansi@example.org','Bob'),
  (3,'cy.ansi@example.org','Cy');
CREATE TABLE audit (id INT PRIMARY KEY, note VARCHAR(80));
INSERT INTO audit VALUES (1,'audit.secret@example.org');
CREATE TABLE sessions (id INT PRIMARY KEY, payload VARCHAR(80));
INSERT INTO sessions VALUES (1,'session.secret@example.org');
CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(20));
INSERT INTO events VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d');
";

const MY_RULES: &str = "
rules:
  customer:
    fields:
      email: hash_email
      name: {transform: constant, value: Someone}
exclusions: [audit]
schema_only: [sessions]
size_limits:
  events: {max_rows: 2}
";

/// `--compatible=ansi` (and the modes that imply ANSI_QUOTES) double-quote identifiers: the
/// rules, exclusions, schema-only tables and limits still apply, and the output restores.
#[test]
#[ignore = "needs the real servers (./scripts/test)"]
fn mysql_ansi_quoted_dumps_follow_the_rules() {
    let my = MySql::from_env();
    my.fresh_db("v_ansi_src");
    my.exec(Some("v_ansi_src"), MY_SCHEMA);
    for compat in ["ansi", "postgresql", "oracle", "mssql"] {
        let dump = my.dump(&[&format!("--compatible={compat}"), "v_ansi_src"]);
        assert!(
            String::from_utf8_lossy(&dump).contains("INSERT INTO \"customer\""),
            "{compat}: not an ANSI-quoted dump"
        );
        let out = anonymize(&dump, MY_RULES);
        let secrets: Vec<String> = ["ann.ansi@", "bob.ansi@", "audit.secret@", "session.secret@"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_absent(&out, &secrets, compat);
        my.fresh_db("v_ansi_dst");
        my.restore(Some("v_ansi_dst"), &out);
        let q = |sql: &str| my.count(Some("v_ansi_dst"), sql);
        assert_eq!(q("SELECT COUNT(*) FROM customer"), 3, "{compat}");
        assert_eq!(
            q("SELECT COUNT(*) FROM customer WHERE name = 'Someone' AND email LIKE '%@anonymized.syrf.local'"),
            3,
            "{compat}"
        );
        assert_eq!(
            q("SELECT COUNT(*) FROM sessions"),
            0,
            "{compat}: schema_only"
        );
        assert_eq!(q("SELECT COUNT(*) FROM events"), 2, "{compat}: size limit");
        assert_eq!(
            q("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'v_ansi_dst' AND TABLE_NAME = 'audit'"),
            0,
            "{compat}: excluded"
        );
    }
    my.drop_db("v_ansi_src");
    my.drop_db("v_ansi_dst");
}
