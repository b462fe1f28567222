//! What a SQL run dropped or could not check, through the binary on small hand-written dumps:
//! credentials, objects dropped with an excluded table, tables with rules but no `CREATE TABLE`
//! (a `--strict` failure) and large objects (a `--strict` failure while the rules do not name
//! them); in the text summary, the JSON report, and the output marked failed under `--strict`.
//! The behaviours themselves are tested on real server dumps in crates/sql-dump/tests.

use std::path::Path;
use std::process::Output;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "sql-findings-key-0123456789";
const FAILED_MARK: &str = "SELECT syrf_anonymize_run_failed_do_not_restore;";

fn run(args: &[&str], rules: &str, input: &[u8], dir: &Path) -> Output {
    let path = dir.join("rules.yaml");
    std::fs::write(&path, rules).unwrap();
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("--rules")
        .arg(&path)
        // Only matters for the tests' `rules: {}`.
        .arg("--allow-empty-rules")
        .arg("--report")
        .arg(dir.join("report.json"))
        .args(args);
    run_with_stdin(c, input)
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

const PG_HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n";

#[test]
fn credentials_dropped_are_listed() {
    let dump = "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n\
--\n-- Host: localhost    Database: \n\
-- ------------------------------------------------------\n\n\
USE `mysql`;\n\
CREATE TABLE `global_priv` (\n  `Host` char(255) NOT NULL,\n  `User` char(128) NOT NULL,\n  `Priv` longtext NOT NULL\n);\n\
INSERT INTO `global_priv` VALUES ('localhost','app','{\"authentication_string\":\"*AB12\"}'),('%','ro','{}');\n\
CREATE USER `app`@`localhost` IDENTIFIED BY PASSWORD '*0123456789ABCDEF0123456789ABCDEF01234567';\n";
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[], "rules: {}\n", dump.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("*AB12") && !text.contains("*0123456789"),
        "{text}"
    );
    assert!(
        err.contains("credentials dropped (--keep-users keeps them): mysql.global_priv: credential table dropped (2 rows)"),
        "{err}"
    );
    assert!(err.contains("1 account statements dropped"), "{err}");
    let row = err
        .lines()
        .find(|l| l.trim_start().starts_with("mysql.global_priv "))
        .unwrap_or_else(|| panic!("no table line: {err}"));
    assert!(
        row.ends_with(" 2           0  dropped (credentials; --keep-users keeps them)"),
        "{row}"
    );
    let r = report(dir.path());
    assert_eq!(r["credentials_dropped"].as_array().unwrap().len(), 2, "{r}");

    let kept = run(
        &["--keep-users"],
        "rules: {}\n",
        dump.as_bytes(),
        dir.path(),
    );
    assert!(kept.status.success());
    assert_eq!(kept.stdout, dump.as_bytes());
    assert!(!String::from_utf8_lossy(&kept.stderr).contains("credentials dropped"));
    assert_eq!(
        report(dir.path())["credentials_dropped"],
        serde_json::json!([])
    );
}

#[test]
fn dependents_dropped_with_an_excluded_table_are_listed() {
    let dump = format!(
        "{PG_HEAD}CREATE TABLE public.users (\n    id integer NOT NULL,\n    email text\n);\n\n\
CREATE TABLE public.posts (\n    id integer NOT NULL,\n    user_id integer\n);\n\n\
COPY public.users (id, email) FROM stdin;\n1\ta@example.org\n\\.\n\n\
COPY public.posts (id, user_id) FROM stdin;\n7\t1\n\\.\n\n\
ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_pkey PRIMARY KEY (id);\n\n\
ALTER TABLE ONLY public.posts\n    ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);\n\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["--strict"],
        "exclusions: [public.users]\n",
        dump.as_bytes(),
        dir.path(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("posts_user_id_fkey"), "{text}");
    assert!(text.contains("7\t1\n"), "{text}");
    let line = err
        .lines()
        .find(|l| l.starts_with("  dropped with an excluded table: "))
        .unwrap_or_else(|| panic!("no dependents line: {err}"));
    assert!(
        line.contains("public.posts") && line.contains("excluded public.users"),
        "{line}"
    );
    let r = report(dir.path());
    let deps = r["dependents_dropped"].as_array().unwrap();
    assert_eq!(deps.len(), 1, "{r}");
    assert!(deps[0].as_str().unwrap().starts_with("public.posts: "));

    let kept = run(
        &[],
        "exclusions: [public.users]\nkeep_dependents: true\n",
        dump.as_bytes(),
        dir.path(),
    );
    assert!(kept.status.success());
    assert!(String::from_utf8_lossy(&kept.stdout).contains("posts_user_id_fkey"));
    assert!(!String::from_utf8_lossy(&kept.stderr).contains("dropped with an excluded table"));
}

#[test]
fn tables_with_rules_but_no_definition_warn_and_fail_strict() {
    let dump = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n\
-- Host: localhost    Database: app\n\
-- ------------------------------------------------------\n\n\
INSERT INTO `users` (`id`, `email`, `email_lower`) VALUES (1,'Ann@Example.org','ann@example.org');\n";
    let rules = "rules:\n  users:\n    columns:\n      email: hash_email\n";
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[], rules, dump.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: app.users has rules but its CREATE TABLE was not in the dump: generated columns"),
        "{err}"
    );
    assert_eq!(
        report(dir.path())["undefined_tables"],
        serde_json::json!(["app.users"])
    );

    let strict = run(&["--strict"], rules, dump.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(4), "{err}");
    assert!(
        err.contains("tables with rules whose CREATE TABLE was not in the dump (generated columns cannot be recognised): app.users"),
        "{err}"
    );
    // The copy in `email_lower` is caught by the echo guard (issue 18.9) all the same.
    assert!(
        err.contains("users: `email_lower` held copies of `email`: 1 rewritten"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&strict.stdout).contains("ann@example.org"));
    let text = String::from_utf8_lossy(&strict.stdout);
    assert!(text.trim_end().ends_with(FAILED_MARK), "{text}");

    // With the definition in the dump (the generated column recognised, its value written
    // as DEFAULT), nothing to warn about.
    let full = dump.replace(
        "INSERT",
        "USE `app`;\nCREATE TABLE `users` (\n  `id` int NOT NULL,\n  `email` varchar(255),\n  `email_lower` varchar(255) GENERATED ALWAYS AS (lower(`email`)) STORED\n);\nINSERT",
    );
    let ok = run(&["--strict"], rules, full.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{err}");
    assert!(!err.contains("CREATE TABLE was not in the dump"), "{err}");
    assert_eq!(
        report(dir.path())["undefined_tables"],
        serde_json::json!([])
    );
}

#[test]
fn large_objects_are_counted_and_fail_strict_unless_named() {
    let dump = format!(
        "{PG_HEAD}SELECT pg_catalog.lo_create('49005');\n\n\
BEGIN;\n\nSELECT pg_catalog.lo_open('49005', 131072);\n\
SELECT pg_catalog.lowrite(0, '\\x736563726574');\nSELECT pg_catalog.lo_close(0);\n\nCOMMIT;\n\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[], "rules: {}\n", dump.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "warning: large objects: 1 kept (not named by the rules); no rule covers them"
        ),
        "{err}"
    );
    let r = report(dir.path());
    assert_eq!(r["large_objects"], 1, "{r}");
    assert_eq!(r["large_objects_unreviewed"], true, "{r}");

    let strict = run(&["--strict"], "rules: {}\n", dump.as_bytes(), dir.path());
    let err = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(4), "{err}");
    assert!(
        err.contains(
            "error: --strict: 1 large object kept although the rules file does not name them"
        ),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&strict.stdout)
        .trim_end()
        .ends_with(FAILED_MARK));

    for (setting, action, data_kept) in [
        ("keep", "kept", true),
        ("empty", "emptied", false),
        ("drop", "dropped", false),
    ] {
        let rules = format!("large_objects: {setting}\n");
        let out = run(&["--strict"], &rules, dump.as_bytes(), dir.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{setting}: {err}");
        assert!(
            err.contains(&format!("  large objects: 1 {action}\n")),
            "{setting}: {err}"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).contains("736563726574"),
            data_kept,
            "{setting}"
        );
        let r = report(dir.path());
        assert_eq!(r["large_objects_action"], action, "{r}");
        assert_eq!(r["large_objects_unreviewed"], false, "{r}");
    }

    // No large objects: no line, no action.
    let none = run(&[], "rules: {}\n", PG_HEAD.as_bytes(), dir.path());
    assert!(!String::from_utf8_lossy(&none.stderr).contains("large objects"));
    assert_eq!(
        report(dir.path())["large_objects_action"],
        serde_json::Value::Null
    );
}
