//! The public reader ([`sql_dump::SqlReader`]): the edge cases of issue 17 read as the
//! rewriter reads them, results independent of how the input is chunked, and the real
//! Sakila/pagila dumps read with the rewriter's row counts.

use std::io::Read;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, Event, SessionChange, SqlOptions, SqlReader};

fn anon(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "t.yaml").unwrap();
    let key = Key::from_bytes(b"reader test key, long enough").unwrap();
    Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap()
}

/// Reads `input` into one line per event.
fn events_of(input: impl Read, anon: &Anonymizer) -> Result<Vec<String>, sql_dump::SqlError> {
    let mut reader = SqlReader::new(input, anon, &SqlOptions::default())?;
    let mut out = Vec::new();
    let mut scratch = Vec::new();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    while let Some(e) = reader.next_event()? {
        out.push(match e {
            Event::Comment(c) => format!("comment {}", lossy(c).trim()),
            Event::Session(s) => format!("session {s:?}"),
            Event::Table(t) => {
                let cols: Vec<String> = t
                    .columns()
                    .map(|c| format!("{}:{}", c.name, c.type_name))
                    .collect();
                let parents: Vec<String> = t.parents().iter().map(|p| p.display()).collect();
                format!(
                    "table {} ({}) <{}",
                    t.name().display(),
                    cols.join(","),
                    parents.join(",")
                )
            }
            Event::Statement(s) => {
                let strings: Vec<String> =
                    s.strings().map(|l| lossy(l.decode(&mut scratch))).collect();
                format!(
                    "stmt {} {:?}",
                    s.relation().map_or("-".into(), |r| r.display()),
                    strings
                )
            }
            Event::Rows(r) => format!(
                "rows {} rules={} excluded={}",
                r.table().display(),
                r.rules().is_some(),
                r.excluded()
            ),
            Event::Row(r) => {
                let cells: Vec<String> = r
                    .cells()
                    .map(|c| {
                        let v = c.decode(&mut scratch).map_or("NULL".into(), lossy);
                        format!("{}={v}", c.column().unwrap_or("?"))
                    })
                    .collect();
                format!(
                    "row {}#{}@{} {}",
                    r.table().display(),
                    r.ordinal(),
                    r.line(),
                    cells.join("|")
                )
            }
        });
    }
    Ok(out)
}

/// A reader that returns at most `n` bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// The events of `dump`, the same whatever the read size.
fn events(dump: &str, yaml: &str) -> Vec<String> {
    let anon = anon(yaml);
    let whole = events_of(dump.as_bytes(), &anon).unwrap();
    for n in [1, 2, 3, 7] {
        let got = events_of(Trickle(dump.as_bytes(), n), &anon).unwrap();
        assert_eq!(got, whole, "read size {n}");
    }
    whole
}

fn rows(events: &[String]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.starts_with("row "))
        .map(String::as_str)
        .collect()
}

const EMPTY: &str = "rules: {}\n";

#[test]
fn postgres_escape_strings_and_copy_octal_decode_as_the_rewriter_does() {
    let dump =
        "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.u (id integer, email text);\n\
                INSERT INTO public.u VALUES (1, E'hank\\x40example.com');\n\
                COPY public.u (id, email) FROM stdin;\n2\tkim\\100example.com\n3\t\\N\n\\.\n";
    let ev = events(dump, EMPTY);
    assert_eq!(
        rows(&ev),
        [
            "row public.u#1@5 id=1|email=hank@example.com",
            "row public.u#2@7 id=2|email=kim@example.com",
            "row public.u#3@8 id=3|email=NULL",
        ]
    );
}

#[test]
fn standard_conforming_strings_off_is_followed() {
    let dump = "-- PostgreSQL database dump\nSET standard_conforming_strings = off;\n\
                INSERT INTO public.t (id, s) VALUES (1, 'it\\'s'), (2, 'a;b');\n";
    let ev = events(dump, EMPTY);
    assert!(
        ev.contains(&"session StdStrings(false)".to_owned()),
        "{ev:?}"
    );
    assert_eq!(
        rows(&ev),
        [
            "row public.t#1@3 id=1|s=it's",
            "row public.t#2@3 id=2|s=a;b"
        ]
    );
}

#[test]
fn mysql_ddl_defaults_with_escaped_quotes_do_not_shift_columns() {
    let dump = "-- MySQL dump 10.13\nCREATE TABLE `t` (`id` int, `note` varchar(9) DEFAULT 'x\\'(', `email` text);\n\
                INSERT INTO `t` VALUES (1,'n','a@example.org');\n";
    let ev = events(dump, EMPTY);
    assert!(
        ev.contains(&"table t (id:int,note:varchar(9),email:text) <".to_owned()),
        "{ev:?}"
    );
    assert_eq!(rows(&ev), ["row t#1@3 id=1|note=n|email=a@example.org"]);
}

#[test]
fn dollar_bodies_and_text_values_hold_no_tables() {
    let dump = "-- PostgreSQL database dump\n\
                CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$ CREATE TABLE fake (x int); $$;\n\
                CREATE TABLE public.real (id integer, s text);\n\
                COPY public.real (id, s) FROM stdin;\n1\tCREATE TABLE ghost (\n\\.\n";
    let ev = events(dump, EMPTY);
    let tables: Vec<&String> = ev.iter().filter(|e| e.starts_with("table ")).collect();
    assert_eq!(tables, ["table public.real (id:integer,s:text) <"]);
}

#[test]
fn nested_postgres_comments_end_where_the_lexer_ends_them() {
    let dump = "-- PostgreSQL database dump\n/* a /* b */ c */\nCREATE TABLE public.u (id integer, e text);\n\
                INSERT INTO public.u VALUES (1, 'x@example.org');\n";
    let ev = events(dump, EMPTY);
    assert!(
        ev.contains(&"comment /* a /* b */ c */".to_owned()),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| e.starts_with("table public.u")), "{ev:?}");
    assert_eq!(rows(&ev), ["row public.u#1@4 id=1|e=x@example.org"]);
    // The rewriter agrees: the INSERT after the comment is rewritten.
    let anon = anon("rules:\n  public.u:\n    fields:\n      e: hash_email\n");
    let mut out = Vec::new();
    let summary = rewrite_sql(dump.as_bytes(), &mut out, &anon, &SqlOptions::default()).unwrap();
    assert!(!String::from_utf8_lossy(&out).contains("x@example.org"));
    assert_eq!(summary.tables[0].rows_in, 1);
}

#[test]
fn the_database_of_a_plain_mysqldump_header_qualifies_tables() {
    let dump = "-- MySQL dump 10.13  Distrib 8.0.36\n--\n-- Host: localhost    Database: app\n\
                -- ------------------------------------------------------\n\
                CREATE TABLE `users` (`id` int, `email` varchar(80));\n\
                INSERT INTO `users` VALUES (1,'a@example.org');\n";
    let ev = events(
        dump,
        "rules:\n  app.users:\n    fields:\n      email: hash_email\n",
    );
    assert!(
        ev.contains(&"session Schema(Some(\"app\"))".to_owned()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"rows app.users rules=true excluded=false".to_owned()),
        "{ev:?}"
    );
    assert_eq!(rows(&ev), ["row app.users#1@6 id=1|email=a@example.org"]);
}

#[test]
fn ansi_quotes_delimiter_and_search_path_are_followed() {
    let my = "-- MySQL dump\n/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='ANSI' */;\n\
              CREATE TABLE \"u\" (\"id\" int, \"e\" text);\nINSERT INTO \"u\" VALUES (1,'a');\n\
              /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\nDELIMITER ;;\n\
              CREATE TRIGGER tr BEFORE INSERT ON `u` FOR EACH ROW BEGIN SET @x = ';'; END ;;\n\
              DELIMITER ;\nINSERT INTO `u` VALUES (2,\"b\");\n";
    let ev = events(my, EMPTY);
    for want in [
        "session AnsiQuotes(true)",
        "session AnsiQuotes(false)",
        "session Delimiter([59, 59])",
        "session Delimiter([59])",
    ] {
        assert!(ev.contains(&want.to_owned()), "{want}: {ev:?}");
    }
    assert_eq!(rows(&ev), ["row u#1@4 id=1|e=a", "row u#2@9 id=2|e=b"]);
    let pg =
        "-- PostgreSQL database dump\nSELECT pg_catalog.set_config('search_path', '', false);\n\
              SET search_path = app, pg_catalog;\nCREATE TABLE t (id integer, e text);\n\
              COPY t (id, e) FROM stdin;\n1\tx\n\\.\n";
    let ev = events(pg, EMPTY);
    assert!(
        ev.contains(&"session Schema(Some(\"app\"))".to_owned()),
        "{ev:?}"
    );
    assert_eq!(rows(&ev), ["row app.t#1@6 id=1|e=x"]);
}

#[test]
fn partitions_and_children_take_their_parents_rules() {
    let dump = "-- PostgreSQL database dump\n\
                CREATE TABLE public.ev (id integer, email text) PARTITION BY RANGE (id);\n\
                CREATE TABLE public.ev_1 PARTITION OF public.ev FOR VALUES FROM (0) TO (9);\n\
                CREATE TABLE public.kid (x text) INHERITS (public.ev);\n\
                COPY public.ev_1 (id, email) FROM stdin;\n1\ta@example.org\n\\.\n\
                COPY public.kid (id, email, x) FROM stdin;\n2\tb@example.org\ty\n\\.\n";
    let ev = events(
        dump,
        "rules:\n  ev:\n    fields:\n      email: hash_email\n",
    );
    assert!(
        ev.contains(&"table public.ev_1 (id:integer,email:text) <public.ev".to_owned()),
        "{ev:?}"
    );
    assert!(ev.contains(&"rows public.ev_1 rules=true excluded=false".to_owned()));
    assert!(ev.contains(&"rows public.kid rules=true excluded=false".to_owned()));
    let ev = events(dump, "exclusions: [public.ev]\n");
    assert!(
        ev.contains(&"rows public.kid rules=false excluded=true".to_owned()),
        "{ev:?}"
    );
}

#[test]
fn statements_report_their_relation_and_strings() {
    let dump = "-- PostgreSQL database dump\nCREATE TABLE public.u (id integer);\n\
                COMMENT ON TABLE public.u IS E'owner: x\\x40example.org';\n";
    let ev = events(dump, EMPTY);
    assert!(
        ev.contains(&"stmt public.u [\"owner: x@example.org\"]".to_owned()),
        "{ev:?}"
    );
}

#[test]
fn unreadable_rows_fail_while_rules_apply() {
    let dump = "-- MySQL dump\nINSERT INTO `t` VALUES (1,'a');\n";
    let rules = anon("rules:\n  t:\n    fields:\n      s: hash\n");
    let err = events_of(dump.as_bytes(), &rules).unwrap_err().to_string();
    assert!(
        err.contains("line 2") && err.contains("CREATE TABLE"),
        "{err}"
    );
    assert!(!err.contains("'a'"), "{err}");
    let cut = "-- PostgreSQL database dump\nCOPY public.t (a) FROM stdin;\n1\n";
    let err = events_of(cut.as_bytes(), &anon(EMPTY))
        .unwrap_err()
        .to_string();
    assert!(err.contains("COPY block"), "{err}");
}

/// The real dumps: the reader's rows per table are the rewriter's.
#[test]
fn real_dumps_read_with_the_rewriters_row_counts() {
    let Some(dir) = syrf_testdata::conformance_dir!("sql") else {
        return;
    };
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    for name in [
        "sakila.sql.gz",
        "sakila-rowinsert.sql.gz",
        "pagila.sql.gz",
        "pagila-inserts.sql.gz",
    ] {
        let file = std::fs::File::open(dir.join(name)).unwrap();
        let mut dump = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut dump)
            .unwrap();
        let summary =
            rewrite_sql(&dump[..], std::io::sink(), &empty, &SqlOptions::default()).unwrap();
        let mut reader = SqlReader::new(&dump[..], &empty, &SqlOptions::default()).unwrap();
        let mut counts: Vec<(String, u64)> = Vec::new();
        let mut scratch = Vec::new();
        while let Some(e) = reader.next_event().unwrap() {
            if let Event::Row(r) = e {
                let t = r.table().display();
                match counts.iter_mut().find(|(n, _)| *n == t) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((t, 1)),
                }
                for c in r.cells() {
                    c.decode(&mut scratch);
                }
            }
        }
        let expected: Vec<(String, u64)> = summary
            .tables
            .iter()
            .filter(|t| t.rows_in > 0)
            .map(|t| (t.table.clone(), t.rows_in))
            .collect();
        assert_eq!(counts, expected, "{name}");
        assert!(counts.len() > 10, "{name}: {counts:?}");
    }
    let _ = SessionChange::Latin1(false);
}
