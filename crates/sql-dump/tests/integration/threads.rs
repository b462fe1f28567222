//! `SqlOptions::threads`: rows rewritten on worker threads give the same output, summary and
//! rule counts as one thread, on generated dumps of many batches, on the real dumps in
//! `$SYRF_TESTDATA_DIR/sql`, and when the input is broken in the middle.

use std::fmt::Write as _;
use std::io::Read;

use anonymize_core::{Anonymizer, Key, KeyMode, Report, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions, SqlSummary};

const KEY: &[u8] = b"a test key for worker threads";

fn anon(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "threads.yaml").unwrap();
    Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(KEY).unwrap())).unwrap()
}

/// One run with `threads`: output (also when it fails), summary or error message, and the
/// rules' counts.
type Run = (Vec<u8>, Result<SqlSummary, String>, Report);

fn run(input: &[u8], yaml: &str, threads: usize) -> Run {
    let anon = anon(yaml);
    let mut out = Vec::new();
    let options = SqlOptions {
        threads,
        ..SqlOptions::default()
    };
    let result = rewrite_sql(input, &mut out, &anon, &options).map_err(|e| e.to_string());
    (out, result, anon.report())
}

/// Runs with 1, 2 and 4 threads; asserts they agree; returns the one-thread run.
fn same_for_all_threads(name: &str, input: &[u8], yaml: &str) -> Run {
    let one = run(input, yaml, 1);
    for threads in [2, 4] {
        let many = run(input, yaml, threads);
        assert!(
            one.0 == many.0,
            "{name}: output with {threads} threads differs from one thread ({} vs {} bytes)",
            many.0.len(),
            one.0.len()
        );
        assert_eq!(one.1, many.1, "{name}: summary with {threads} threads");
        assert_eq!(one.2, many.2, "{name}: rule counts with {threads} threads");
    }
    one
}

/// Deterministic pseudo-random numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const FIRST: &[&str] = &["Ana", "Bruno", "Chloé", "Dmitri", "Eve", "Fatima", "Gus"];
const LAST: &[&str] = &["Silva", "O'Brien", "Müller", "Nguyen", "Smith", "Kowalski"];

/// One narrow person: (first, last, email, phone, prefs JSON).
fn person(rng: &mut Lcg, i: u64) -> (String, String, String, String, String) {
    let first = FIRST[rng.next(FIRST.len() as u64) as usize].to_owned();
    let last = LAST[rng.next(LAST.len() as u64) as usize].to_owned();
    let email = format!("{}.{i}@Example.com", first.to_lowercase());
    let phone = format!("+44 20 {:04} {:04}", rng.next(10000), rng.next(10000));
    let prefs = format!(r#"{{"lang":"en","contact":{{"email":"{email}","n":{i}}}}}"#);
    (first, last, email, phone, prefs)
}

const RULES: &str = "
rules:
  people:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: fake, kind: last_name}
      email: hash_email
      phone: digits
      nick: sequential
      prefs.contact.email: hash_email
  notes:
    fields:
      body: sequential_suffix
size_limits:
  people:
    max_rows: 15000
";

fn mysql_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// A MariaDB-style dump: `people` in extended INSERTs (a generated column, a JSON column),
/// `notes` in single-row INSERTs, cut in the middle by an untouched table.
fn mysql_dump(rows: u64) -> String {
    let mut rng = Lcg(7);
    let mut d = String::from(
        "-- MariaDB dump 10.19\n/*!40101 SET NAMES utf8mb4 */;\n\
         CREATE TABLE `people` (\n  `id` int(11) NOT NULL,\n  `first_name` varchar(40),\n  \
         `last_name` varchar(40),\n  `email` varchar(80),\n  `email_lc` varchar(80) GENERATED ALWAYS AS (lcase(`email`)) VIRTUAL,\n  \
         `phone` varchar(20),\n  `nick` varchar(20),\n  `prefs` longtext CHECK (json_valid(`prefs`)),\n  \
         `manager_id` int(11),\n  `created` date,\n  PRIMARY KEY (`id`)\n);\n\
         CREATE TABLE `notes` (`id` int, `body` text);\nCREATE TABLE `other` (`id` int, `v` text);\n",
    );
    let mut i = 0;
    while i < rows {
        d.push_str("INSERT INTO `people` VALUES ");
        for k in 0..400.min(rows - i) {
            i += 1;
            let (f, l, e, p, j) = person(&mut rng, i);
            if k > 0 {
                d.push(',');
            }
            let _ = write!(
                d,
                "({i},'{}','{}','{e}','{}','{p}',{},'{}',{},'2024-0{}-1{}')",
                mysql_escape(&f),
                mysql_escape(&l),
                e.to_lowercase(),
                if i % 9 == 0 {
                    "NULL".to_owned()
                } else {
                    format!("'n{i}'")
                },
                mysql_escape(&j),
                i % 50,
                1 + i % 9,
                i % 10
            );
        }
        d.push_str(";\n");
        if i == 8000 {
            // A long untouched statement while rows are out to the workers.
            d.push_str("INSERT INTO `other` VALUES (1,'untouched'),(2,'x')");
            for k in 3..60_000 {
                let _ = write!(d, ",({k},'an untouched value of some length, row {k}')");
            }
            d.push_str(";\n");
        }
    }
    for n in 1..=3000 {
        let _ = writeln!(d, "INSERT INTO `notes` VALUES ({n},'note {n}');");
    }
    d.push_str("-- Dump completed\n");
    d
}

fn copy_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t")
}

/// A pg_dump-style dump: `people` in a COPY block (a jsonb column), `notes` in INSERTs
/// (`pg_dump --inserts`).
fn postgres_dump(rows: u64) -> String {
    let mut rng = Lcg(11);
    let mut d = String::from(
        "--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\n\
         CREATE TABLE public.people (\n    id integer NOT NULL,\n    first_name character varying(40),\n    \
         last_name character varying(40),\n    email text,\n    phone text,\n    nick text,\n    prefs jsonb,\n    \
         manager_id integer,\n    created date\n);\n\n\
         CREATE TABLE public.notes (\n    id integer,\n    body text\n);\n\n\
         COPY public.people (id, first_name, last_name, email, phone, nick, prefs, manager_id, created) FROM stdin;\n",
    );
    for i in 1..=rows {
        let (f, l, e, p, j) = person(&mut rng, i);
        let nick = if i % 9 == 0 {
            "\\N".to_owned()
        } else {
            format!("n{i}")
        };
        let _ = writeln!(
            d,
            "{i}\t{}\t{}\t{e}\t{p}\t{nick}\t{}\t{}\t2024-0{}-1{}",
            copy_escape(&f),
            copy_escape(&l),
            copy_escape(&j),
            i % 50,
            1 + i % 9,
            i % 10
        );
    }
    d.push_str("\\.\n\n");
    for n in 1..=3000 {
        let _ = writeln!(d, "INSERT INTO public.notes VALUES ({n}, 'note {n}');");
    }
    d.push_str("\n--\n-- PostgreSQL database dump complete\n--\n");
    d
}

fn table<'s>(summary: &'s SqlSummary, name: &str) -> &'s sql_dump::TableSummary {
    summary
        .tables
        .iter()
        .find(|t| t.table.ends_with(name))
        .unwrap_or_else(|| panic!("no {name} in {:?}", summary.tables))
}

#[test]
fn generated_mysql_dump_is_the_same_on_1_2_and_4_threads() {
    let dump = mysql_dump(20_000);
    assert!(
        dump.len() > 2_500_000,
        "{} bytes: too few batches",
        dump.len()
    );
    let (out, summary, report) = same_for_all_threads("mysql", dump.as_bytes(), RULES);
    let summary = summary.unwrap();
    let text = String::from_utf8(out).unwrap();
    // The rules did run: limit, generated column, JSON, sequential on single-row INSERTs.
    let people = table(&summary, "people");
    assert_eq!((people.rows_in, people.rows_out), (20_000, 15_000));
    assert!(!text.contains("@Example.com") && !text.contains("@example.com"));
    assert!(text.contains(",DEFAULT,"), "generated column not DEFAULT");
    assert!(text.contains("INSERT INTO `notes` VALUES (3000,'3000');"));
    assert!(text.contains("INSERT INTO `other` VALUES (1,'untouched'),(2,'x'),(3,"));
    assert!(text.contains(",(59999,'an untouched value of some length, row 59999');\n"));
    let email = report.rules.iter().find(|r| r.path == "email").unwrap();
    assert_eq!(email.values_seen, 15_000);
    let json = report
        .rules
        .iter()
        .find(|r| r.path == "prefs.contact.email")
        .unwrap();
    assert_eq!(json.values_changed, 15_000);
}

#[test]
fn generated_postgres_dump_is_the_same_on_1_2_and_4_threads() {
    let dump = postgres_dump(20_000);
    assert!(
        dump.len() > 2_000_000,
        "{} bytes: too few batches",
        dump.len()
    );
    let (out, summary, report) = same_for_all_threads("postgres", dump.as_bytes(), RULES);
    let summary = summary.unwrap();
    let text = String::from_utf8(out).unwrap();
    let people = table(&summary, "people");
    assert_eq!((people.rows_in, people.rows_out), (20_000, 15_000));
    assert!(!text.contains("@Example.com"));
    assert!(text.contains("\tUser14999\t") || text.contains("\tUser15000\t"));
    assert!(text.contains("INSERT INTO public.notes VALUES (3000, '3000');"));
    let phone = report.rules.iter().find(|r| r.path == "phone").unwrap();
    assert_eq!(phone.values_changed, 15_000);
}

#[test]
fn errors_in_the_middle_are_the_same_on_1_and_4_threads() {
    let mysql = mysql_dump(6_000);
    let postgres = postgres_dump(6_000);
    let cut = |s: &str, at: &str| s[..s.find(at).unwrap()].to_owned();
    let cases = [
        // Text between two tuples.
        ("mysql junk", mysql.replace("(4444,", "(4444 junk,(4444,")),
        // A tuple the input ends inside.
        ("mysql truncated row", cut(&mysql, ",'n4444'") + "\n"),
        // A COPY block without its `\.`.
        ("copy truncated", cut(&postgres, "4444\t")),
        // A COPY row of the wrong width.
        (
            "copy width",
            postgres.replace("\n4444\t", "\n4444\tshort\n4445\t"),
        ),
    ];
    for (name, dump) in cases {
        let one = run(dump.as_bytes(), RULES, 1);
        let four = run(dump.as_bytes(), RULES, 4);
        let message = one.1.as_ref().expect_err(name);
        assert_eq!(Err(message), four.1.as_ref().map(|_| ()), "{name}");
        assert!(
            one.0 == four.0,
            "{name}: output up to the error differs ({} vs {} bytes)",
            one.0.len(),
            four.0.len()
        );
        assert!(one.0.len() > 300_000, "{name}: the error came too early");
        assert_eq!(one.2, four.2, "{name}: rule counts");
    }
}

/// A real dump, decompressed; `None` (after a loud skip line) without the test data.
fn real_dump(name: &str) -> Option<Vec<u8>> {
    let path = syrf_testdata::conformance_dir!("sql")?.join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .unwrap();
    Some(out)
}

const REAL_RULES: &str = "
rules:
  customer:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: {transform: fake, kind: last_name}
      email: hash_email
  actor:
    fields:
      first_name: sequential
      last_name: {transform: fake, kind: last_name}
  staff:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: sequential_suffix
      email: hash_email
      username: hash
      password: hash
      picture: hash
  address:
    fields:
      address: {transform: fake, kind: street_address}
      address2: {transform: fake, kind: street_address}
      postal_code: {transform: mask, keep_start: 1}
      phone: digits
size_limits:
  rental:
    max_rows: 1000
";

#[test]
fn real_dumps_are_the_same_on_1_2_and_4_threads() {
    for name in [
        "sakila.sql.gz",
        "sakila-rowinsert.sql.gz",
        "pagila.sql.gz",
        "pagila-inserts.sql.gz",
    ] {
        let Some(input) = real_dump(name) else { return };
        let (out, summary, report) = same_for_all_threads(name, &input, REAL_RULES);
        let summary = summary.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(out != input, "{name}: nothing rewritten");
        assert_eq!(table(&summary, "customer").rows_out, 599, "{name}");
        assert_eq!(table(&summary, "rental").rows_out, 1000, "{name}");
        for rule in &report.rules {
            if rule.path != "address2" {
                assert!(rule.values_seen > 0, "{name}: {} saw nothing", rule.path);
            }
        }
    }
}

/// Rows longer than a batch (each makes a batch of its own, whose buffers are too large to be
/// kept for reuse) between runs of ordinary rows (whose batches' buffers are kept and filled
/// again), in extended and single-row INSERTs: the same on 1, 2 and 4 threads, and the long
/// rows' values rewritten.
#[test]
fn rows_longer_than_a_batch_between_reused_batches() {
    let mut rng = Lcg(5);
    let mut d = String::from(
        "-- MariaDB dump 10.19\nCREATE TABLE `notes` (`id` int, `body` longtext);\n\
         CREATE TABLE `people` (`id` int, `first_name` varchar(40), `email` varchar(80), \
         `nick` text);\n",
    );
    let mut i = 0;
    for round in 0..6 {
        d.push_str("INSERT INTO `people` VALUES ");
        for k in 0..3000 {
            i += 1;
            let (f, _, e, _, _) = person(&mut rng, i);
            let nick = if k % 1000 == 999 {
                // Longer than a batch (256 KiB).
                "n".repeat(300_000 + round * 1000)
            } else {
                format!("n{i}")
            };
            let sep = if k > 0 { "," } else { "" };
            let _ = write!(d, "{sep}({i},'{}','{e}','{nick}')", mysql_escape(&f));
        }
        d.push_str(";\n");
        for n in 0..200 {
            let body = "b".repeat(if n == 100 { 400_000 } else { 20 });
            let _ = writeln!(d, "INSERT INTO `notes` VALUES ({n},'{body}');");
        }
    }
    let rules = "
rules:
  people:
    fields:
      first_name: {transform: fake, kind: first_name}
      email: hash_email
      nick: sequential
  notes:
    fields:
      body: sequential_suffix
";
    let (out, summary, report) = same_for_all_threads("long rows", d.as_bytes(), rules);
    summary.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains(&"n".repeat(300_000)),
        "a long value survived"
    );
    assert!(!text.contains(&"b".repeat(400_000)), "a long body survived");
    let nick = report.rules.iter().find(|r| r.path == "nick").unwrap();
    assert_eq!(nick.values_changed, 18_000);
}
