//! Hostile inputs that sql-dump once accepted and must refuse (found by the hostile-input
//! catalogue of issue 12 and the `mysql_rewrite` fuzz target, reproducers in
//! fuzz/regressions/mysql_rewrite/): an unterminated `/*` comment, COPY rows of the wrong
//! width, and malformed dumps whose rewritten output sql-dump's own reader rejected (now
//! refused, or rewritten into an output that reads back).

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlError, SqlOptions};

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

/// The error's text, or a panic with what the output was.
trait ErrText {
    fn unwrap_err_or_else(self, output: impl FnOnce() -> String) -> String;
}

impl<T> ErrText for Result<T, SqlError> {
    fn unwrap_err_or_else(self, output: impl FnOnce() -> String) -> String {
        match self {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted; output: {}", output()),
        }
    }
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
fn unterminated_comment_is_an_error_mysql() {
    let (_, r) = rewrite(&format!(
        "{MY_HEAD}/* never closed\nINSERT INTO `users` VALUES (1,'zeb@example.org');\n"
    ));
    let e = r.expect_err("the input ends inside a comment");
    // Named where the comment opens.
    assert!(
        e.to_string().starts_with("line 3, byte 67: ") && e.to_string().contains("/* comment"),
        "{e}"
    );
}

#[test]
fn unterminated_comment_is_an_error_postgres() {
    let (out, r) = rewrite(&format!(
        "{PG_HEAD}/* never closed\nCOPY public.users (id, email) FROM stdin;\n1\tzeb@example.org\n\\.\n"
    ));
    let e = r.unwrap_err_or_else(|| String::from_utf8_lossy(&out).into_owned());
    assert!(
        e.starts_with("line 5, byte ") && e.contains("/* comment"),
        "{e}"
    );
}

#[test]
fn copy_rows_of_the_wrong_width_are_errors() {
    for row in ["1\tzeb@example.org\textra", "1"] {
        let (_, r) = rewrite(&format!(
            "{PG_HEAD}COPY public.users (id, email) FROM stdin;\n{row}\n\\.\n"
        ));
        let e = r.expect_err("a row of the wrong width");
        assert!(
            e.to_string()
                .starts_with("line 6, byte 128 (table public.users): "),
            "{e}"
        );
    }
    // A limit alone reads the rows one by one too; a table with neither passes unread.
    let limited = Anonymizer::new(
        RuleSet::from_yaml("size_limits:\n  users:\n    max_rows: 5\n", "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let dump = format!("{PG_HEAD}COPY public.users (id, email) FROM stdin;\n1\n\\.\n");
    let mut out = Vec::new();
    let r = rewrite_sql(dump.as_bytes(), &mut out, &limited, &SqlOptions::default());
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("a COPY row has 1 fields but the statement has 2 columns"));
    let other = dump.replace("public.users", "public.others");
    let mut out = Vec::new();
    rewrite_sql(other.as_bytes(), &mut out, &limited, &SqlOptions::default()).unwrap();
    assert_eq!(out, other.as_bytes());
}

/// With `anon`'s rules `input` is refused (an error naming the line and byte offset, since
/// its statements cannot be attributed to a table), or rewritten into a dump that sql-dump's
/// own reader accepts.
fn refused_or_reads_back(input: &[u8], anon: &Anonymizer, opts: &SqlOptions) {
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    let mut out = Vec::new();
    match rewrite_sql(input, &mut out, anon, opts) {
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("line") && m.contains("byte"), "{m}");
        }
        Ok(_) => {
            let mut again = Vec::new();
            let r = rewrite_sql(&out[..], &mut again, &empty, opts);
            assert!(
                r.is_ok(),
                "{:?} does not read back: {}",
                String::from_utf8_lossy(&out),
                r.unwrap_err()
            );
        }
    }
}

/// The reproducers the fuzz target kept, each refused or read back with the rules that
/// found it.
#[test]
fn fuzz_regressions_are_refused_or_read_back() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/mysql_rewrite");
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::MySql),
        ..Default::default()
    };
    let excluding = Anonymizer::new(
        RuleSet::from_yaml("exclusions:\n  - payment\n", "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let constant = Anonymizer::new(
        RuleSet::from_yaml(
            "rules:\n  customer:\n    columns:\n      first_name: {transform: constant, value: x}\n",
            "r.yaml",
        )
        .unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        refused_or_reads_back(&input, &excluding, &opts);
        refused_or_reads_back(&input, &constant, &opts);
        seen += 1;
    }
    assert_eq!(seen, 2, "reproducers in {}", dir.display());
}

#[test]
fn output_with_an_excluded_statement_is_refused_or_reads_back() {
    // Minimized by `cargo fuzz tmin` from a mysql_rewrite crash: the input is accepted
    // (byte-identical without rules); excluding `payment` keeps the executable comment
    // `/*!)VALUE'*/` after the malformed first statement, where the lexer then reads an
    // unterminated string.
    let input: &[u8] = b"\nINSERT INTO`a`(;INSERT INTO `payment`VALUES(;/*!)VALUE'*/";
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::MySql),
        ..Default::default()
    };
    let mut same = Vec::new();
    rewrite_sql(input, &mut same, &empty, &opts).expect("accepted without rules");
    assert_eq!(same, input);
    let excluding = Anonymizer::new(
        RuleSet::from_yaml("exclusions:\n  - payment\n", "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    refused_or_reads_back(input, &excluding, &opts);
}

#[test]
fn output_with_a_rewritten_row_is_refused_or_reads_back() {
    // Minimized by `cargo fuzz tmin`: a backtick inside an executable comment of a malformed
    // statement pairs with one inside a customer value; rewriting the value moves the pairing,
    // and the output no longer lexes (the statement boundary the rewriter used is not the one
    // its reader finds).
    let input: &[u8] = b"\nINSERT INTO `o` (())))))  ', ') /*!00(((((`*/\n\n`acr`;\n\
INSERT INTO`customer` (`_d`, `d`,`first_name`) VALUES (,,'NI`du');` VALUES(1`";
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::MySql),
        ..Default::default()
    };
    let mut same = Vec::new();
    rewrite_sql(input, &mut same, &empty, &opts).expect("accepted without rules");
    let rules = Anonymizer::new(
        RuleSet::from_yaml(
            "rules:\n  customer:\n    columns:\n      first_name: {transform: constant, value: x}\n",
            "r.yaml",
        )
        .unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    refused_or_reads_back(input, &rules, &opts);
}

/// The `postgres_rewrite` reproducers (fuzz/regressions/postgres_rewrite/), each refused or
/// read back with the fuzz target's own rules (fuzz/rules/sql.yaml).
#[test]
fn postgres_fuzz_regressions_are_refused_or_read_back() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let rules = std::fs::read_to_string(root.join("rules/sql.yaml")).unwrap();
    let anon = Anonymizer::new(
        RuleSet::from_yaml(&rules, "sql.yaml").unwrap(),
        KeyMode::Keyed(Key::from_bytes(b"fuzzing key, not a secret, 32 bytes").unwrap()),
    )
    .unwrap();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::Postgres),
        ..Default::default()
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("regressions/postgres_rewrite")).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        refused_or_reads_back(&input, &anon, &opts);
        seen += 1;
    }
    assert_eq!(seen, 1);
}

#[test]
fn a_dollar_quoted_value_is_one_value() {
    // Minimized by `cargo fuzz tmin` from a postgres_rewrite crash: the tuple splitter did not
    // know dollar quotes, took the `,` inside `$$\n,$$` for a separator, replaced `$$` alone
    // and left an unterminated dollar quote behind. The whole quoted value is now one value
    // (not a quoted string the rewriter decodes, so a covered column's value is nulled).
    let input: &[u8] = b"\nINSERT INTO users(email)VALUES($$\n,$$);\n";
    let mut out = Vec::new();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::Postgres),
        ..Default::default()
    };
    rewrite_sql(input, &mut out, &anon(), &opts).unwrap();
    assert_eq!(out, b"\nINSERT INTO users(email)VALUES(NULL);\n");
}
