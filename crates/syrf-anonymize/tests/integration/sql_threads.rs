//! `--threads` on SQL dumps, through the binary: the output, the summary and the JSON report
//! are the same with one thread and several, and an error in the middle fails the same way
//! (exit code, message, output up to the error). The row batching itself is tested in
//! crates/sql-dump/tests/integration/threads.rs.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "sql-threads-key-0123456789";

const RULES: &str = "rules:
  people:
    fields:
      first_name: {transform: fake, kind: first_name}
      last_name: sequential_suffix
      email: hash_email
      phone: digits
size_limits:
  people:
    max_rows: 9000
";

fn run(threads: &str, input: &[u8], dir: &Path) -> (Output, serde_json::Value) {
    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, RULES).unwrap();
    let report = dir.join(format!("report-{threads}.json"));
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("--rules")
        .arg(&rules)
        .arg("--report")
        .arg(&report)
        .args(["--threads", threads]);
    let out = run_with_stdin(c, input);
    let mut json = std::fs::read(&report)
        .ok()
        .map_or(serde_json::Value::Null, |b| {
            serde_json::from_slice(&b).unwrap()
        });
    if let Some(map) = json.as_object_mut() {
        map.remove("seconds");
        map.remove("mb_per_second");
    }
    (out, json)
}

/// The summary without its timing line.
fn summary(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains(" bytes in, "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A PostgreSQL dump whose `people` rows fill many batches, in a COPY block and then in
/// single-row INSERTs.
fn postgres_dump() -> String {
    let mut d = String::from(
        "--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\n\
         CREATE TABLE public.people (\n    id integer NOT NULL,\n    first_name text,\n    \
         last_name text,\n    email text,\n    phone text\n);\n\n\
         COPY public.people (id, first_name, last_name, email, phone) FROM stdin;\n",
    );
    for i in 1..=8000 {
        let _ = writeln!(
            d,
            "{i}\tName{}\tSurname{}\tperson.{i}@example.org\t+1 555 {:04}",
            i % 97,
            i % 89,
            i % 10000
        );
    }
    d.push_str("\\.\n\n");
    for i in 8001..=10000 {
        let _ = writeln!(
            d,
            "INSERT INTO public.people VALUES ({i}, 'Name{}', 'Surname', 'p.{i}@example.org', '555');",
            i % 97
        );
    }
    d
}

#[test]
fn sql_output_summary_and_report_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let dump = postgres_dump();
    let (one, one_report) = run("1", dump.as_bytes(), dir.path());
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(!String::from_utf8_lossy(&one.stdout).contains("@example.org"));
    assert_eq!(one_report["rules"][0]["values_seen"], 9000, "{one_report}");
    for threads in ["2", "4"] {
        let (many, many_report) = run(threads, dump.as_bytes(), dir.path());
        assert!(many.status.success(), "{threads}");
        assert!(one.stdout == many.stdout, "output with --threads {threads}");
        assert_eq!(
            summary(&one),
            summary(&many),
            "summary with --threads {threads}"
        );
        assert_eq!(one_report, many_report, "report with --threads {threads}");
    }
}

#[test]
fn sql_error_in_the_middle_is_the_same_on_1_and_4_threads() {
    let dir = tempfile::tempdir().unwrap();
    let dump = postgres_dump();
    // The input ends inside the COPY block, after many batches of rows.
    let cut = &dump[..dump.find("\n7777\t").unwrap()];
    let (one, _) = run("1", cut.as_bytes(), dir.path());
    let (four, _) = run("4", cut.as_bytes(), dir.path());
    assert!(!one.status.success());
    assert_eq!(one.status.code(), four.status.code());
    let err = String::from_utf8_lossy(&one.stderr);
    assert!(err.contains("no \\. line"), "{err}");
    assert_eq!(one.stderr, four.stderr);
    assert!(one.stdout.len() > 200_000, "{}", one.stdout.len());
    assert!(one.stdout == four.stdout, "output up to the error");
}
