//! Hand-written dumps with awkward literals, JSON paths, generated columns, multi-database
//! dumps, and random input (no panic).

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use proptest::prelude::*;
use sql_dump::{rewrite_sql, Dialect, SqlOptions};

fn anon(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "edge.yaml").unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"edge case key, long enough").unwrap()),
    )
    .unwrap()
}

/// A reader that hands out at most `chunk` bytes per read.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.chunk).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Rewrites `input`, and checks that reading it in chunks of 1, 7 and 4096 bytes gives the
/// same output (every case here runs at several chunk sizes).
fn run(input: &[u8], anon: &Anonymizer) -> String {
    let mut out = Vec::new();
    rewrite_sql(input, &mut out, anon, &SqlOptions::default()).unwrap();
    for chunk in [1, 7, 4096] {
        let mut chunked = Vec::new();
        let reader = std::io::BufReader::with_capacity(chunk, Chunked { data: input, chunk });
        rewrite_sql(reader, &mut chunked, anon, &SqlOptions::default()).unwrap();
        assert!(
            chunked == out,
            "chunks of {chunk} bytes give another output"
        );
    }
    String::from_utf8(out).unwrap()
}

const MYSQL: &str = "-- MariaDB dump 10.19\n\
CREATE DATABASE `app`;\nUSE `app`;\n\
CREATE TABLE `users` (\n  `id` int(11) NOT NULL,\n  `email` varchar(12) DEFAULT NULL,\n  `full` varchar(90) GENERATED ALWAYS AS (concat(`email`,'x')) VIRTUAL,\n  `age` bigint(20),\n  `doc` longtext CHECK (json_valid(`doc`)),\n  `pic` blob,\n  `note` text\n);\n\
INSERT INTO `users` VALUES (1,'a\\'b\\\\c@x.org',NULL,42,'{\\\"user\\\":{\\\"email\\\":\\\"j@x.org\\\",\\\"n\\\":1}}',0x89504E47,'keep \\\\ me'),(2,NULL,NULL,NULL,NULL,_binary 'ab\\0c','two');\n\
DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON users FOR EACH ROW BEGIN SET NEW.note = 'x;y'; END ;;\nDELIMITER ;\n\
CREATE DATABASE `other`;\nUSE `other`;\n\
CREATE TABLE `users` (\n  `id` int(11) NOT NULL,\n  `email` varchar(255)\n);\n\
INSERT INTO `users` (`id`, `email`) VALUES (7,'z@x.org');\n";

#[test]
fn mysql_literals_generated_columns_json_and_databases() {
    let out = run(
        MYSQL.as_bytes(),
        &anon("rules:\n  app.users:\n    fields:\n      email: hash_email\n      age: hash\n      doc.user.email: hash_email\n      pic: hash\n  other.users:\n    fields:\n      email: {transform: constant, value: fixed}\n"),
    );
    // Row 1: the generated column's value becomes DEFAULT (the server computes it from the
    // rewritten row), email cut to varchar(12), age numeric.
    let row1 = out
        .lines()
        .find(|l| l.starts_with("INSERT INTO `users` VALUES (1,"))
        .unwrap();
    let fields: Vec<&str> = row1.split(',').collect();
    assert_eq!(fields[1].len(), 14, "{row1}"); // 12 characters and quotes
    assert_eq!(fields[2], "DEFAULT");
    assert!(fields[3].parse::<i64>().is_ok(), "{row1}");
    assert!(!row1.contains("j@x.org") && row1.contains("anonymized.syrf.local"));
    assert!(
        row1.contains("\\\"n\\\":1"),
        "JSON keeps its other keys: {row1}"
    );
    assert!(!row1.contains("0x89504E47") && row1.contains(",0x"));
    assert!(row1.contains("'keep \\\\ me'"));
    // Row 2: NULLs stay NULL; a _binary literal is binary (hex out).
    assert!(row1.contains("),(2,NULL,DEFAULT,NULL,NULL,0x"), "{row1}");
    assert!(out.contains("BEGIN SET NEW.note = 'x;y'; END ;;"));
    // The second database's table resolves to its own qualified rule.
    assert!(out.contains("VALUES (7,'fixed');"));
}

#[test]
fn postgres_copy_inserts_and_json() {
    let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET standard_conforming_strings = on;\n\
CREATE TABLE public.\"Users\" (\n    id integer NOT NULL,\n    email character varying(40),\n    meta jsonb,\n    pic bytea,\n    n numeric(6,2)\n);\n\
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$ SELECT 'COPY public.x FROM stdin;' $_$;\n\
COPY public.\"Users\" (id, email, meta, pic, n) FROM stdin;\n\
1\tA@B.org\t{\"e\": \"a@b.org\", \"l\": [{\"e\": \"c@d.org\"}], \"s\": \"tab\\\\there\\u2028\"}\t\\\\x0102\t1.50\n\
2\t\\N\t\\N\t\\N\t\\N\n\
\\.\n\n\
INSERT INTO public.\"Users\" (id, email, meta, pic, n) VALUES (3, E'x\\'y@z.org', '{\"e\": \"q@r.org\"}', '\\x0a', 2.5), (4, 'it''s@z.org', NULL, NULL, NULL);\n\
\\unrestrict abc\n";
    let out = run(
        dump.as_bytes(),
        &anon("rules:\n  public.Users:\n    fields:\n      email: hash_email\n      meta.e: hash_email\n      meta.l.e: hash_email\n      pic: hash\n      n: digits\n"),
    );
    for gone in [
        "A@B.org",
        "a@b.org",
        "c@d.org",
        "q@r.org",
        "x\\'y@z.org",
        "it''s@z.org",
        "\\\\x0102",
        "'\\x0a'",
    ] {
        assert!(!out.contains(gone), "{gone} survived:\n{out}");
    }
    assert!(out.contains("$_$ SELECT 'COPY public.x FROM stdin;' $_$;"));
    assert!(out.contains("\n2\t\\N\t\\N\t\\N\t\\N\n\\.\n"));
    let row1 = out.lines().find(|l| l.starts_with("1\t")).unwrap();
    let f: Vec<&str> = row1.split('\t').collect();
    assert_eq!(f.len(), 5);
    assert!(
        f[2].contains("\"s\":") && f[2].contains("\"l\":[{\"e\":"),
        "{row1}"
    );
    assert!(f[3].starts_with("\\\\x") && f[3].len() == 7, "{row1}");
    assert!(
        f[4].parse::<f64>().is_ok() && f[4].len() == 4 && f[4] != "1.50",
        "numeric column stays numeric, in its precision: {row1}"
    );
    assert!(out.contains("\\restrict abc") && out.contains("\\unrestrict abc"));
}

#[test]
fn max_rows_drops_whole_statements_left_empty() {
    let dump = "-- MySQL dump\nCREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1),(2);\nINSERT INTO `t` VALUES (3),(4);\nINSERT INTO `t` VALUES (5);\n";
    let out = run(
        dump.as_bytes(),
        &anon("size_limits:\n  t:\n    max_rows: 3\n"),
    );
    assert_eq!(
        out,
        "-- MySQL dump\nCREATE TABLE `t` (`id` int);\nINSERT INTO `t` VALUES (1),(2);\nINSERT INTO `t` VALUES (3);\n"
    );
}

#[test]
fn errors_name_the_line_and_table_but_no_values() {
    let dump = "-- MySQL dump\nCREATE TABLE `t` (`id` int, `s` text);\nINSERT INTO `t` VALUES (1,'secret value";
    let mut out = Vec::new();
    let err = rewrite_sql(
        dump.as_bytes(),
        &mut out,
        &anon("rules:\n  t:\n    fields:\n      s: hash\n"),
        &SqlOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("line 3") && err.contains("table t"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn forced_and_detected_dialects() {
    assert_eq!(
        sql_dump::detect_dialect(b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump"),
        Some(Dialect::MySql)
    );
    let options = SqlOptions {
        dialect: Some(Dialect::Postgres),
        ..SqlOptions::default()
    };
    let mut out = Vec::new();
    let s = rewrite_sql(
        &b"SELECT 1;\n"[..],
        &mut out,
        &anon("rules: {}\n"),
        &options,
    )
    .unwrap();
    assert_eq!(s.dialect, Dialect::Postgres);
    assert!(rewrite_sql(
        &b"hello"[..],
        &mut out,
        &anon("rules: {}\n"),
        &SqlOptions::default()
    )
    .is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_input_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400), pg in any::<bool>()) {
        let a = anon("rules:\n  t:\n    fields:\n      a: hash\n      b.c: hash\nsize_limits:\n  u:\n    max_rows: 1\n");
        let mut input = if pg { b"-- PostgreSQL database dump\nCOPY public.t (a, b) FROM stdin;\n".to_vec() } else { b"-- MySQL dump\nINSERT INTO `t` (`a`,`b`) VALUES ".to_vec() };
        input.extend_from_slice(&body);
        let mut out = Vec::new();
        let _ = rewrite_sql(&input[..], &mut out, &a, &SqlOptions::default());
    }

    #[test]
    fn truncations_of_a_real_shape_never_panic(cut in 0usize..2000) {
        let a = anon("rules:\n  app.users:\n    fields:\n      email: hash_email\n      doc.user.email: hash\n");
        let input = &MYSQL.as_bytes()[..cut.min(MYSQL.len())];
        let mut out = Vec::new();
        let _ = rewrite_sql(input, &mut out, &a, &SqlOptions {
                dialect: Some(Dialect::MySql),
                ..SqlOptions::default()
            });
    }
}

/// The tokenizer reads quotes and comments by the lexer's rules: MySQL's `1--1` is an
/// expression (not a comment hiding the rest of the line), and PostgreSQL's `E'it\'s'`
/// ends at its last quote. Misread, the second column of each table would be lost and the
/// rows refused.
#[test]
fn ddl_is_tokenized_by_the_lexers_rules() {
    let rules =
        anon("rules:\n  t:\n    fields:\n      email: {transform: constant, value: gone}\n");
    let mysql = "-- MariaDB dump 10.19\n\
        CREATE TABLE `t` (`a` int CHECK (`a` > 1--1), `email` varchar(50));\n\
        INSERT INTO `t` VALUES (5,'a@b.c');\n";
    let out = run(mysql.as_bytes(), &rules);
    assert!(out.contains("INSERT INTO `t` VALUES (5,'gone');"), "{out}");

    let pg = "--\n-- PostgreSQL database dump\n--\n\
        CREATE TABLE public.t (note text DEFAULT E'it\\'s', email text);\n\
        INSERT INTO public.t VALUES ('x', 'a@b.c');\n";
    let out = run(pg.as_bytes(), &rules);
    assert!(
        out.contains("INSERT INTO public.t VALUES ('x', 'gone');"),
        "{out}"
    );
}

/// Rows that cannot be attributed to a table fail the run while any rule, exclusion or limit
/// exists; with no rules they pass as they are.
#[test]
fn unreadable_inserts_fail_closed_when_rules_exist() {
    let dump = b"-- MySQL dump 10.13\nINSERT INTO t SET email = 'a@b.c';\n";
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    assert_eq!(run(dump, &empty).as_bytes(), dump);
    for rules in [
        "rules:\n  other:\n    fields:\n      x: hash\n",
        "exclusions: [other]\n",
        "size_limits:\n  other: {max_rows: 1}\n",
    ] {
        let mut out = Vec::new();
        let err = rewrite_sql(&dump[..], &mut out, &anon(rules), &SqlOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("INSERT"), "{err}");
        assert!(!err.contains("a@b.c"), "{err}");
    }
}

/// A rule whose values the column would not accept (a 63-bit keyed integer in a
/// `numeric(6,2)`, digits in a date, a hash in a uuid...) is refused before the table's rows,
/// naming the table, the rule and the column; rules that fit pass (`hash` on an `integer`
/// too, since issue 18.6: integers get a permutation that keeps them in their type's range).
#[test]
fn rules_that_do_not_fit_their_column_type_are_refused() {
    let dump = "--\n-- PostgreSQL database dump\n--\n\
        CREATE TABLE public.t (id integer, big bigint, n numeric(6,2), d date, u uuid, ip inet, e text);\n\
        COPY public.t (id, big, n, d, u, ip, e) FROM stdin;\n\
        1\t2\t1.50\t2020-01-02\t6b1e0a52-7f0e-4a59-8d43-3f6c2d9b9a10\t10.0.0.1\ta@b.c\n\\.\n";
    for (rule, column) in [
        ("n: hash", "`n`"),
        ("d: digits", "`d`"),
        ("u: hash", "`u`"),
        ("ip: {transform: fake, kind: first_name}", "`ip`"),
        ("id: date_shift", "`id`"),
    ] {
        let mut out = Vec::new();
        let yaml = format!("rules:\n  t:\n    fields:\n      {rule}\n");
        let err = rewrite_sql(
            dump.as_bytes(),
            &mut out,
            &anon(&yaml),
            &SqlOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("public.t") && err.contains(column),
            "{rule}: {err}"
        );
        // Refused as soon as the table's definition is read, before any of it is written.
        let written = String::from_utf8_lossy(&out);
        assert!(
            !written.contains("CREATE TABLE public.t"),
            "{rule}: {written}"
        );
    }
    for rule in [
        "big: hash",
        "id: hash",
        "n: digits",
        "d: date_shift",
        "u: {transform: fake, kind: uuid}",
        "ip: {transform: fake, kind: ipv4}",
        "e: hash",
        "id: sequential_suffix",
        "u: null",
    ] {
        let yaml = format!("rules:\n  t:\n    fields:\n      {rule}\n");
        run(dump.as_bytes(), &anon(&yaml));
    }
}

/// The SQL-only keys of the rules file: `keep_dependents` is a boolean, `large_objects` one of
/// keep, empty, drop; anything else is a located error.
#[test]
fn sql_rules_file_keys_are_checked() {
    let ok = RuleSet::from_yaml("keep_dependents: true\nlarge_objects: empty\n", "r.yaml").unwrap();
    assert!(ok.keep_dependents);
    assert_eq!(ok.large_objects, Some(anonymize_core::LargeObjects::Empty));
    for (yaml, wanted) in [
        ("keep_dependents: 3\n", "r.yaml:1:"),
        ("large_objects: maybe\n", "keep, empty, drop"),
        ("large_object: drop\n", "large_objects"),
    ] {
        let err = RuleSet::from_yaml(yaml, "r.yaml").unwrap_err().to_string();
        assert!(err.contains(wanted), "{yaml}: {err}");
    }
}
