//! Hostile inputs that sql-dump accepts today but should refuse (found by the hostile-input
//! catalogue of issue 12). Each test states the wanted behaviour and is ignored until the fix
//! lands in sql-dump (being restructured at the time of writing). `./scripts/test` runs ignored
//! tests too, so each one only prints a loud `SKIPPED (fix pending)` line unless
//! `SYRF_PENDING_TESTS=1` is set: `SYRF_PENDING_TESTS=1 cargo test -p sql-dump --test
//! hostile_pending -- --ignored` shows them failing. Remove the gate with the fix.

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlError, SqlOptions};

/// False (with a loud line) unless the pending tests were asked for.
fn pending(name: &str) -> bool {
    if std::env::var_os("SYRF_PENDING_TESTS").is_some() {
        return true;
    }
    eprintln!("SKIPPED (fix pending): {name}; set SYRF_PENDING_TESTS=1 to run it");
    false
}

fn anon() -> Anonymizer {
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    columns:\n      email: hash_email\n",
        "r.yaml",
    )
    .unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"hostile pending test key 0123").unwrap()),
    )
    .unwrap()
}

fn rewrite(dump: &str) -> (Vec<u8>, Result<sql_dump::SqlSummary, SqlError>) {
    let mut out = Vec::new();
    let r = rewrite_sql(dump.as_bytes(), &mut out, &anon(), &SqlOptions::default());
    (out, r)
}

const PG_HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\
CREATE TABLE public.users (id integer, email text);\n";
const MY_HEAD: &str = "-- MySQL dump 10.13\nCREATE TABLE `users` (`id` int, `email` text);\n";

#[test]
#[ignore = "hostile finding, fix pending in sql-dump: an unterminated /* comment outside data statements passes through with success"]
fn unterminated_comment_is_an_error_mysql() {
    if !pending("unterminated_comment_is_an_error_mysql") {
        return;
    }
    let (_, r) = rewrite(&format!(
        "{MY_HEAD}/* never closed\nINSERT INTO `users` VALUES (1,'zeb@example.org');\n"
    ));
    let e = r.expect_err("the input ends inside a comment");
    assert!(e.to_string().contains("byte"), "{e}");
}

#[test]
#[ignore = "hostile finding, fix pending in sql-dump: an unterminated /* comment outside data statements passes through with success, and the COPY rows it swallows (a covered email) reach the output unchanged"]
fn unterminated_comment_is_an_error_postgres() {
    if !pending("unterminated_comment_is_an_error_postgres") {
        return;
    }
    let (out, r) = rewrite(&format!(
        "{PG_HEAD}/* never closed\nCOPY public.users (id, email) FROM stdin;\n1\tzeb@example.org\n\\.\n"
    ));
    assert!(
        r.is_err(),
        "accepted; output: {}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
#[ignore = "hostile finding, fix pending in sql-dump: a COPY row with more or fewer fields than its column list is accepted (MySQL tuples of the wrong size are refused)"]
fn copy_rows_of_the_wrong_width_are_errors() {
    if !pending("copy_rows_of_the_wrong_width_are_errors") {
        return;
    }
    for row in ["1\tzeb@example.org\textra", "1"] {
        let (_, r) = rewrite(&format!(
            "{PG_HEAD}COPY public.users (id, email) FROM stdin;\n{row}\n\\.\n"
        ));
        let e = r.expect_err("a row of the wrong width");
        assert!(e.to_string().contains("public.users"), "{e}");
    }
}
