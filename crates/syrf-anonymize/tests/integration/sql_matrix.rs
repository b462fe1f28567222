//! The SQL conformance matrix (issue 17): every edge case of the issue and every lexical
//! feature sql-dump's lexer supports, each a small dump with covered e-mail addresses spelled
//! that way, run through `anonymize`, `verify`, `scan` and `inspect`, which must agree: the
//! table the rewriter names is the one the others name, with the same rows; the rewriter
//! leaves no covered value and `verify` finds none in its output but finds every one in the
//! original; `scan` reports the covered column without rules and nothing there with them;
//! `inspect` sees no phantom table and prints no value.

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use syrf_anonymize::inspect::{manifest, InspectOptions};
use syrf_anonymize::scan::{scan, Kind, ScanOptions};
use syrf_anonymize::verify::{verify, VerifyOptions};
use syrf_anonymize::{anonymize, Options};

/// One row of the matrix.
struct Case {
    name: &'static str,
    dump: &'static str,
    rules: &'static str,
    /// The table as the rules and every subcommand name it.
    table: &'static str,
    /// The covered column.
    column: &'static str,
    /// Rows of the table.
    rows: u64,
    /// The covered values, decoded (each a distinct e-mail address).
    covered: &'static [&'static str],
    /// Tables `inspect` must list (no phantom one).
    tables: usize,
}

const PG: &str = "--\n-- PostgreSQL database dump\n--\n";
const MY: &str = "-- MySQL dump 10.13\n";

fn cases() -> Vec<Case> {
    let rules = |t: &str, c: &str| -> &'static str {
        Box::leak(format!("rules:\n  {t}:\n    columns:\n      {c}: hash_email\n").into_boxed_str())
    };
    let dump = |head: &str, body: &str| -> &'static str {
        Box::leak(format!("{head}{body}").into_boxed_str())
    };
    vec![
        Case {
            name: "postgres E'' string with a hex escape",
            dump: dump(PG, "CREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                INSERT INTO public.u VALUES (1, E'hank\\x40example.com'), (2, E'ann\\100example.com');\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 2,
            covered: &["hank@example.com", "ann@example.com"],
            tables: 1,
        },
        Case {
            name: "postgres COPY octal and hex escapes",
            dump: dump(PG, "CREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                COPY public.u (id, email) FROM stdin;\n1\tkim\\100example.com\n2\tlee\\x40example.com\n3\t\\N\n\\.\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 3,
            covered: &["kim@example.com", "lee@example.com"],
            tables: 1,
        },
        Case {
            name: "standard_conforming_strings off",
            dump: dump(PG, "SET standard_conforming_strings = off;\nCREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                INSERT INTO public.u VALUES (1, 'o\\'neil@example.com'), (2, 'x;y@example.com');\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 2,
            covered: &["o'neil@example.com", "x;y@example.com"],
            tables: 1,
        },
        Case {
            name: "MySQL DDL default with an escaped quote before an INSERT",
            dump: dump(MY, "CREATE TABLE `t` (\n  `id` int,\n  `note` varchar(9) DEFAULT 'x\\'(',\n  `email` text\n);\n\
                INSERT INTO `t` VALUES (1,'n','dee@example.org'),(2,'m','eve@example.org');\n"),
            rules: rules("t", "email"),
            table: "t",
            column: "email",
            rows: 2,
            covered: &["dee@example.org", "eve@example.org"],
            tables: 1,
        },
        Case {
            name: "a dollar body and a text value holding DDL",
            dump: dump(PG, "CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$ CREATE TABLE fake (x int); $$;\n\
                CREATE TABLE public.u (\n    id integer,\n    email text,\n    note text\n);\n\
                COPY public.u (id, email, note) FROM stdin;\n1\tfay@example.com\tCREATE TABLE ghost (\n\\.\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 1,
            covered: &["fay@example.com"],
            tables: 1,
        },
        Case {
            name: "a nested comment between statements",
            dump: dump(PG, "/* a /* b */ c */\nCREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                /* x /* y */ z */\nINSERT INTO public.u VALUES (1, 'gus@example.com');\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 1,
            covered: &["gus@example.com"],
            tables: 1,
        },
        Case {
            name: "the database of a plain mysqldump header",
            dump: dump("-- MySQL dump 10.13  Distrib 8.0.36\n--\n-- Host: localhost    Database: app\n-- ------\n",
                "CREATE TABLE `users` (\n  `id` int,\n  `email` varchar(80)\n);\n\
                INSERT INTO `users` VALUES (1,'hal@example.org'),(2,'ivy@example.org');\n"),
            rules: rules("app.users", "email"),
            table: "app.users",
            column: "email",
            rows: 2,
            covered: &["hal@example.org", "ivy@example.org"],
            tables: 1,
        },
        Case {
            name: "MySQL ANSI_QUOTES, saved and restored",
            dump: dump(MY, "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='ANSI_QUOTES' */;\n\
                CREATE TABLE \"t\" (\n  \"id\" int,\n  \"email\" text\n);\nINSERT INTO \"t\" VALUES (1,'jo@example.org');\n\
                /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\nINSERT INTO `t` VALUES (2,\"kay@example.org\");\n"),
            rules: rules("t", "email"),
            table: "t",
            column: "email",
            rows: 2,
            covered: &["jo@example.org", "kay@example.org"],
            tables: 1,
        },
        Case {
            name: "MySQL DELIMITER and a trigger body",
            dump: dump(MY, "CREATE TABLE `t` (\n  `id` int,\n  `email` text\n);\nDELIMITER ;;\n\
                CREATE TRIGGER tr BEFORE INSERT ON `t` FOR EACH ROW BEGIN SET @x = ';'; SET @y = 1; END ;;\n\
                DELIMITER ;\nINSERT INTO `t` VALUES (1,'lou@example.org');\n"),
            rules: rules("t", "email"),
            table: "t",
            column: "email",
            rows: 1,
            covered: &["lou@example.org"],
            tables: 1,
        },
        Case {
            name: "MySQL quoting: doubled backticks, double-quoted strings, introducers, hex",
            dump: dump(MY, "CREATE TABLE `a``b` (\n  `id` int,\n  `e``mail` text\n);\n\
                INSERT INTO `a``b` VALUES (1,\"max\\\"@example.org\"),(2,_binary 'ned@example.org'),\
                (3,0x6F6C61406578616D706C652E6F7267),(4,'pat''s@example.org');\n"),
            rules: rules("a`b", "e`mail"),
            table: "a`b",
            column: "e`mail",
            rows: 4,
            covered: &["max\"@example.org", "ned@example.org", "ola@example.org", "pat's@example.org"],
            tables: 1,
        },
        Case {
            name: "MySQL comments: #, -- , executed and sandbox comments, 1--1",
            dump: dump("/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19\n",
                "# a hash comment with 'quote\n/*!40101 SET NAMES utf8mb4 */;\n\
                CREATE TABLE `t` (\n  `id` int DEFAULT (1--1),\n  `email` text\n) /* it's */;\n\
                -- it's a comment\nINSERT INTO `t` VALUES (1,'quin@example.org');\n-- trailing\n"),
            rules: rules("t", "email"),
            table: "t",
            column: "email",
            rows: 1,
            covered: &["quin@example.org"],
            tables: 1,
        },
        Case {
            name: "MySQL USE switches databases; one tuple per line",
            dump: dump(MY, "USE `one`;\nCREATE TABLE `t` (\n  `id` int,\n  `email` text\n);\nUSE `two`;\n\
                CREATE TABLE `t` (\n  `id` int,\n  `email` text\n);\nINSERT INTO `t` VALUES\n(1,'ray@example.org'),\n(2,'sam@example.org');\n"),
            rules: rules("two.t", "email"),
            table: "two.t",
            column: "email",
            rows: 2,
            covered: &["ray@example.org", "sam@example.org"],
            tables: 2,
        },
        Case {
            name: "PostgreSQL search_path, quoted identifiers, multi-line values",
            dump: dump(PG, "SELECT pg_catalog.set_config('search_path', '', false);\nSET search_path = app, pg_catalog;\n\
                CREATE TABLE \"User Table\" (\n    id integer,\n    \"E-mail\" text\n);\n\
                INSERT INTO \"User Table\" VALUES (1, 'tom@example.org'), (2, 'line one\numa@example.org');\n"),
            rules: rules("app.User Table", "E-mail"),
            table: "app.User Table",
            column: "E-mail",
            rows: 2,
            covered: &["tom@example.org"],
            tables: 1,
        },
        Case {
            name: "PostgreSQL partitions and INHERITS children under their parent's rules",
            dump: dump(PG, "CREATE TABLE public.ev (\n    id integer,\n    email text\n)\nPARTITION BY RANGE (id);\n\
                CREATE TABLE public.ev_1 PARTITION OF public.ev FOR VALUES FROM (0) TO (9);\n\
                CREATE TABLE public.kid (\n    x text\n)\nINHERITS (public.ev);\n\
                COPY public.ev_1 (id, email) FROM stdin;\n1\tvic@example.com\n2\twyn@example.com\n\\.\n\
                COPY public.kid (id, email, x) FROM stdin;\n3\txia@example.com\ty\n\\.\n"),
            rules: rules("ev", "email"),
            table: "public.ev_1",
            column: "email",
            rows: 2,
            covered: &["vic@example.com", "wyn@example.com", "xia@example.com"],
            tables: 3,
        },
        Case {
            name: "PostgreSQL COPY escapes: tab, backslash, newline; dollar-quoted values",
            dump: dump(PG, "CREATE TABLE public.u (\n    id integer,\n    email text\n);\n\
                COPY public.u (id, email) FROM stdin;\n1\tyul\\\\x@example.com\n2\tzed\\t@example.com\n\\.\n\
                INSERT INTO public.u VALUES (3, $$abe@example.com$$), (4, $t$bo;b@example.com$t$);\n"),
            rules: rules("public.u", "email"),
            table: "public.u",
            column: "email",
            rows: 4,
            covered: &[
                "yul\\x@example.com",
                "zed\t@example.com",
                "abe@example.com",
                "bo;b@example.com",
            ],
            tables: 1,
        },
        Case {
            name: "a JSON path rule; JSON \\u escapes",
            dump: dump(PG, "CREATE TABLE public.ev (\n    id integer,\n    payload jsonb\n);\n\
                COPY public.ev (id, payload) FROM stdin;\n1\t{\"user\": {\"email\": \"cal@example.com\"}}\n\
                2\t{\"user\": {\"email\": \"dot\\\\u0040example.com\"}}\n\\.\n"),
            rules: "rules:\n  public.ev:\n    columns:\n      payload.user.email: hash_email\n",
            table: "public.ev",
            column: "payload.user.email",
            rows: 2,
            covered: &["cal@example.com", "dot@example.com"],
            tables: 1,
        },
    ]
}

fn anonymizer(rules: &RuleSet) -> Anonymizer {
    let key = Key::from_bytes(b"matrix key, long enough for hmac").unwrap();
    Anonymizer::new(rules.clone(), KeyMode::Keyed(key)).unwrap()
}

fn check(case: &Case) {
    let name = case.name;
    let rules = RuleSet::from_yaml(case.rules, "matrix.yaml").unwrap();
    let dump = case.dump.as_bytes();

    // rewrite
    let mut out = Vec::new();
    let options = Options {
        threads: 1,
        ..Options::default()
    };
    let summary = anonymize(dump, &mut out, &anonymizer(&rules), &options)
        .unwrap_or_else(|e| panic!("{name}: anonymize: {e}"));
    let t = summary
        .collections
        .iter()
        .find(|c| c.name == case.table)
        .unwrap_or_else(|| panic!("{name}: rewrite names {:?}", summary.collections));
    assert_eq!(
        t.documents_in, case.rows,
        "{name}: rows read by the rewriter"
    );
    let text = String::from_utf8_lossy(&out);
    for v in case.covered {
        assert!(!text.contains(v), "{name}: {v} survives the rewrite");
    }

    // verify
    let report = verify(dump, &out[..], rules.clone(), &VerifyOptions::default())
        .unwrap_or_else(|e| panic!("{name}: verify: {e}"));
    assert!(report.hits.is_empty(), "{name}: {report}");
    assert!(
        report.collected >= case.covered.len(),
        "{name}: verify collected {} of {:?}",
        report.collected,
        case.covered
    );
    let itself = verify(dump, dump, rules.clone(), &VerifyOptions::default()).unwrap();
    let column = case.column.split('.').next().unwrap();
    assert!(
        itself
            .hits
            .keys()
            .any(|(t, c)| t == case.table && c == column),
        "{name}: the original against itself: {itself}"
    );

    // scan: the covered column is a finding without rules, none with them.
    let bare =
        scan(dump, None, &ScanOptions::default()).unwrap_or_else(|e| panic!("{name}: scan: {e}"));
    let emails = |r: &syrf_anonymize::scan::ScanReport| -> Vec<(String, String, u64)> {
        r.findings
            .iter()
            .filter(|f| f.kind == Kind::Email)
            .map(|f| (f.collection.clone(), f.path.clone(), f.count))
            .collect()
    };
    let found = emails(&bare);
    assert!(
        found
            .iter()
            .any(|(t, c, _)| t == case.table && c == case.column),
        "{name}: scan without rules: {found:?}"
    );
    let covered = emails(&scan(dump, Some(&rules), &ScanOptions::default()).unwrap());
    assert!(
        !covered
            .iter()
            .any(|(t, c, _)| t == case.table && c == case.column),
        "{name}: scan with rules: {covered:?}"
    );

    // inspect: the same table and rows, no phantom table, no value.
    let m = manifest(dump, &InspectOptions::default())
        .unwrap_or_else(|e| panic!("{name}: inspect: {e}"));
    assert_eq!(m["table_count"], case.tables as u64, "{name}: {m}");
    let tables = m["tables"].as_array().unwrap();
    let t = tables
        .iter()
        .find(|t| t["name"] == case.table)
        .unwrap_or_else(|| panic!("{name}: inspect names {m}"));
    assert_eq!(t["rows"], case.rows, "{name}: {t}");
    let printed = m.to_string();
    for v in case.covered {
        assert!(!printed.contains(v), "{name}: inspect printed a value");
    }
}

#[test]
fn rewrite_verify_scan_and_inspect_agree_on_every_case() {
    let cases = cases();
    assert!(cases.len() >= 16);
    // Every case runs; the failures are reported together.
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| std::panic::catch_unwind(|| check(case)).is_err())
        .map(|case| case.name)
        .collect();
    assert!(failed.is_empty(), "failed cases: {failed:#?}");
}
