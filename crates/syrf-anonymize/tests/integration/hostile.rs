//! The hostile-input catalogue, against the binary: lying lengths, deep nesting, invalid UTF-8,
//! NUL bytes, unterminated strings/comments/COPY blocks, a very long line, empty input, bytes
//! after the final terminator. Each case checks the exit code, that the error names a byte
//! offset, that stderr holds no value from the input and not the key, that an output streamed
//! to stdout does not end as a complete archive or dump, and that no file is left at `--output`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bson::{doc, Document};
use mongo_archive::verify;

use crate::common;
use common::run_with_stdin;

const KEY: &str = "hostile-test-key-5f1d0c9e7a3b";
/// Values planted in the inputs; none may appear on stderr or in a report.
const CANARIES: [&str; 4] = [
    "zebediah.canary@example.org",
    "Zebediah",
    "Quuxworth",
    "+44 20 7946 0958",
];
const MONGO_RULES: &str = "rules:\n  test.people:\n    fields:\n      Email: hash_email\n      \
                           FirstName: sequential\n      LastName: sequential_suffix\n      a: hash\n      Phone: digits\n";
const SQL_RULES: &str = "rules:\n  users:\n    columns:\n      email: hash_email\n      \
                         name: {transform: fake, kind: first_name}\n      phone: digits\n";

/// What a run must do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Exit 3 and an error naming this input byte offset (or any offset when `None`).
    BadInput(Option<u64>),
    /// Exit 0, or exit 3 with an error naming an offset: input that is odd but may be valid.
    Either,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Mongo,
    Sql,
}

struct Case<'a> {
    name: &'a str,
    input: &'a [u8],
    kind: Kind,
    extra: &'a [&'a str],
    expect: Expect,
}

fn cmd(dir: &Path, kind: Kind) -> Command {
    let rules = dir.join("rules.yaml");
    std::fs::write(
        &rules,
        if kind == Kind::Mongo {
            MONGO_RULES
        } else {
            SQL_RULES
        },
    )
    .unwrap();
    let mut c = common::bin();
    c.env("SYRF_ANONYMIZE_KEY", KEY).arg("--rules").arg(&rules);
    c
}

fn assert_no_leak(what: &str, text: &str) {
    for v in CANARIES {
        assert!(
            !text.to_lowercase().contains(&v.to_lowercase()),
            "{what} leaks an input value: {text}"
        );
    }
    assert!(!text.contains(KEY), "{what} leaks the key: {text}");
    assert!(!text.contains("panicked"), "{what}: a panic: {text}");
}

fn check_status(case: &Case, out: &Output, how: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_leak(&format!("{} ({how}) stderr", case.name), &stderr);
    let code = out.status.code();
    assert!(
        code.is_some(),
        "{} ({how}): killed by a signal (stack overflow?): {stderr}",
        case.name
    );
    let names_offset = |stderr: &str| stderr.contains("byte ");
    match case.expect {
        Expect::BadInput(offset) => {
            assert_eq!(code, Some(3), "{} ({how}): {stderr}", case.name);
            assert!(names_offset(&stderr), "{} ({how}): {stderr}", case.name);
            if let Some(o) = offset {
                assert!(
                    stderr.contains(&format!("byte {o}")),
                    "{} ({how}): expected byte {o}: {stderr}",
                    case.name
                );
            }
        }
        Expect::Either => {
            assert!(
                code == Some(0) || (code == Some(3) && names_offset(&stderr)),
                "{} ({how}): {code:?} {stderr}",
                case.name
            );
        }
    }
}

/// Runs a case to stdout and to `--output`, and checks both.
fn run_case(case: &Case) -> Output {
    let dir = tempfile::tempdir().unwrap();
    // 1. stdin to stdout.
    let mut c = cmd(dir.path(), case.kind);
    c.args(case.extra);
    let streamed = run_with_stdin(c, case.input);
    eprintln!(
        "{}: exit {:?}: {}",
        case.name,
        streamed.status.code(),
        String::from_utf8_lossy(&streamed.stderr)
            .lines()
            .next()
            .unwrap_or("")
    );
    check_status(case, &streamed, "stdout");
    if streamed.status.code() != Some(0) {
        match case.kind {
            Kind::Mongo => assert!(
                verify::verify(&streamed.stdout).is_err(),
                "{}: a failed run's output is a complete archive",
                case.name
            ),
            Kind::Sql => {
                let text = String::from_utf8_lossy(&streamed.stdout);
                assert!(
                    !text.contains("-- Dump completed")
                        && !text.contains("-- PostgreSQL database dump complete"),
                    "{}: a failed run's output ends like a complete dump",
                    case.name
                );
            }
        }
    }
    // 2. file to --output: nothing left behind on failure.
    let input = dir.path().join("input");
    std::fs::write(&input, case.input).unwrap();
    let output = dir.path().join("out");
    let mut c = cmd(dir.path(), case.kind);
    c.args(case.extra)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .arg("--report")
        .arg(dir.path().join("report.json"));
    let filed = c.output().unwrap();
    check_status(case, &filed, "--output");
    assert_eq!(
        streamed.status.code(),
        filed.status.code(),
        "{}: stdin and file runs disagree",
        case.name
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "input" && n != "rules.yaml" && n != "report.json")
        .collect();
    if filed.status.code() == Some(0) {
        assert_eq!(left, ["out"], "{}", case.name);
        let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert_no_leak(&format!("{} report", case.name), &report);
    } else {
        assert!(left.is_empty(), "{}: left behind {left:?}", case.name);
    }
    streamed
}

// ---------------------------------------------------------------------------------------------
// MongoDB archives

fn bytes(d: &Document) -> Vec<u8> {
    bson::to_vec(d).unwrap()
}

/// An archive of `test.people` holding `docs` (raw, possibly invalid), with the right CRC.
/// Returns the archive and the offset of each document.
fn archive(docs: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut a = vec![0x6d, 0xe2, 0x99, 0x81];
    a.extend(bytes(&doc! {
        "concurrent_collections": 1i32, "version": "0.1",
        "server_version": "7.0.14", "tool_version": "100.10.0",
    }));
    a.extend(bytes(&doc! {
        "db": "test", "collection": "people", "metadata": "", "size": 0i32, "type": "collection",
    }));
    a.extend([0xff; 4]);
    a.extend(bytes(
        &doc! {"db": "test", "collection": "people", "EOF": false, "CRC": 0i64},
    ));
    let mut offsets = Vec::new();
    for d in docs {
        offsets.push(a.len() as u64);
        a.extend(d);
    }
    a.extend([0xff; 4]);
    let crc = docs.iter().fold(mongo_archive::Crc64::new(), |mut c, d| {
        c.update(d);
        c
    });
    a.extend(bytes(
        &doc! {"db": "test", "collection": "people", "EOF": true, "CRC": crc.value() as i64},
    ));
    a.extend([0xff; 4]);
    (a, offsets)
}

fn person() -> Vec<u8> {
    bytes(&doc! {
        "_id": 1i32, "Email": CANARIES[0], "FirstName": CANARIES[1], "LastName": CANARIES[2],
        "Phone": CANARIES[3],
    })
}

fn set_len(doc: &mut [u8], len: i64) {
    doc[..4].copy_from_slice(&(len as i32).to_le_bytes());
}

#[test]
fn valid_archive_is_accepted_as_the_baseline() {
    let (a, _) = archive(&[person(), person()]);
    let out = run_case(&Case {
        name: "baseline",
        input: &a,
        kind: Kind::Mongo,
        extra: &[],
        expect: Expect::Either,
    });
    assert_eq!(out.status.code(), Some(0));
    assert!(verify::verify(&out.stdout).is_ok());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(CANARIES[0]) && !text.contains(CANARIES[1]));
}

#[test]
fn document_lengths_that_lie() {
    let good = person();
    for (name, len) in [
        ("too short", good.len() as i64 - 3),
        ("far too short", 4),
        ("negative", -20),
        ("too long", good.len() as i64 + 7),
        ("beyond 16 MiB", 16 * 1024 * 1024 + 1),
        ("2 GiB", i32::MAX as i64),
    ] {
        let mut bad = good.clone();
        set_len(&mut bad, len);
        let (a, offsets) = archive(&[person(), bad, person()]);
        run_case(&Case {
            name,
            input: &a,
            kind: Kind::Mongo,
            extra: &[],
            expect: Expect::BadInput(Some(offsets[1])),
        });
    }
}

#[test]
fn inner_lengths_that_lie() {
    // A sub-document whose own length claims more than its parent holds.
    let mut d = bytes(&doc! {"_id": 1i32, "Email": CANARIES[0], "sub": {"FirstName": CANARIES[1]}});
    let sub = d.windows(4).position(|w| w == b"sub\0").unwrap() + 4;
    let l = i32::from_le_bytes(d[sub..sub + 4].try_into().unwrap());
    d[sub..sub + 4].copy_from_slice(&(l + 40).to_le_bytes());
    // And a string whose length runs past its document.
    let mut s = person();
    let e = s.windows(6).position(|w| w == b"Email\0").unwrap() + 6;
    s[e..e + 4].copy_from_slice(&1000i32.to_le_bytes());
    for (name, bad) in [("sub-document length", d), ("string length", s)] {
        let (a, _) = archive(&[bad]);
        run_case(&Case {
            name,
            input: &a,
            kind: Kind::Mongo,
            extra: &[],
            expect: Expect::BadInput(None),
        });
    }
}

/// `{a: X}` where X is `depth` nested documents `{a: {a: ...}}` or arrays `[[[...]]]`, the
/// innermost holding the string "Zebediah"; written front to back without recursion.
fn deep(depth: usize, array: bool) -> Vec<u8> {
    let t: u8 = if array { 0x04 } else { 0x03 };
    let key: &[u8] = if array { b"0\0" } else { b"a\0" };
    let s = CANARIES[1].as_bytes();
    let string_elem = 1 + key.len() + 4 + s.len() + 1;
    // sizes[k]: container k (0 innermost), holding container k-1 (or, for 0, the string).
    let mut sizes = Vec::with_capacity(depth);
    let mut size = 4 + string_elem + 1;
    for _ in 0..depth {
        sizes.push(size);
        size = 4 + 1 + key.len() + size + 1;
    }
    let top = 4 + 1 + 2 + sizes[depth - 1] + 1;
    let mut d = Vec::with_capacity(top);
    d.extend((top as i32).to_le_bytes());
    d.push(t);
    d.extend(b"a\0");
    for k in (0..depth).rev() {
        d.extend((sizes[k] as i32).to_le_bytes());
        if k > 0 {
            d.push(t);
            d.extend(key);
        }
    }
    d.push(0x02);
    d.extend(key);
    d.extend(((s.len() + 1) as i32).to_le_bytes());
    d.extend(s);
    d.push(0);
    d.extend(std::iter::repeat_n(0u8, depth + 1));
    assert_eq!(d.len(), top);
    d
}

#[test]
fn nesting_100000_levels_deep_does_not_overflow_the_stack() {
    for array in [false, true] {
        let d = deep(100_000, array);
        assert!(d.len() < 16 << 20);
        let (a, _) = archive(&[d]);
        let out = run_case(&Case {
            name: if array {
                "deep arrays"
            } else {
                "deep documents"
            },
            input: &a,
            kind: Kind::Mongo,
            extra: &[],
            expect: Expect::Either,
        });
        // The rule `a: hash` covers the whole nest: it never passes through unchanged.
        if out.status.code() == Some(0) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(!text.contains(CANARIES[1]), "deep value passed through");
        }
    }
}

#[test]
fn invalid_utf8_and_nul_bytes_in_bson_strings() {
    let mut d = person();
    let e = d
        .windows(CANARIES[0].len())
        .position(|w| w == CANARIES[0].as_bytes())
        .unwrap();
    d[e + 3] = 0xff; // invalid UTF-8 inside the covered Email
    d[e + 5] = 0xc3;
    let mut n = person();
    let f = n
        .windows(CANARIES[1].len())
        .position(|w| w == CANARIES[1].as_bytes())
        .unwrap();
    n[f + 2] = 0; // a NUL inside a covered string: BSON strings may hold it
    let mut k = person();
    let key = k.windows(6).position(|w| w == b"Email\0").unwrap();
    k[key + 2] = 0xfe; // invalid UTF-8 in a field name
    for (name, bad) in [
        ("invalid UTF-8 value", d),
        ("NUL in value", n),
        ("invalid UTF-8 name", k),
    ] {
        let (a, _) = archive(&[bad]);
        let out = run_case(&Case {
            name,
            input: &a,
            kind: Kind::Mongo,
            extra: &[],
            expect: Expect::Either,
        });
        if out.status.code() == Some(0) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                !text.contains(CANARIES[2]),
                "{name}: last name passed through"
            );
            // A field whose name no rule matches is not covered (see README, Safety).
            if name != "invalid UTF-8 name" {
                assert!(
                    !text.contains("canary@example"),
                    "{name}: email passed through"
                );
            }
        }
    }
}

#[test]
fn bytes_after_the_final_terminator_and_truncations() {
    let (a, _) = archive(&[person()]);
    let mut trailing = a.clone();
    trailing.extend(b"\0\0\0");
    run_case(&Case {
        name: "trailing bytes",
        input: &trailing,
        kind: Kind::Mongo,
        extra: &[],
        expect: Expect::BadInput(Some(a.len() as u64)),
    });
    let mut again = a.clone();
    again.extend(&a);
    run_case(&Case {
        name: "a second archive after the first",
        input: &again,
        kind: Kind::Mongo,
        extra: &[],
        expect: Expect::BadInput(Some(a.len() as u64)),
    });
    run_case(&Case {
        name: "missing final terminator",
        input: &a[..a.len() - 4],
        kind: Kind::Mongo,
        extra: &[],
        expect: Expect::BadInput(None),
    });
}

#[test]
fn empty_input_is_bad_input_in_every_format() {
    for (kind, extra) in [
        (Kind::Mongo, &[][..]),
        (Kind::Mongo, &["--format", "mongo"][..]),
        (Kind::Sql, &["--format", "mysql"][..]),
        (Kind::Sql, &["--format", "postgres"][..]),
    ] {
        run_case(&Case {
            name: "empty",
            input: b"",
            kind,
            extra,
            expect: Expect::BadInput(Some(0)),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// SQL dumps

const MYSQL_HEAD: &str = "-- MySQL dump 10.13\n\
CREATE TABLE `users` (`id` int, `email` varchar(80), `name` varchar(40), `phone` varchar(30));\n";
const PG_HEAD: &str = "--\n-- PostgreSQL database dump\n--\n\
CREATE TABLE public.users (id integer, email text, name text, phone text);\n";

fn mysql(rows: &str) -> Vec<u8> {
    format!("{MYSQL_HEAD}INSERT INTO `users` VALUES {rows};\n-- Dump completed on 2026-01-01\n")
        .into_bytes()
}

fn sql_case(name: &str, input: &[u8], expect: Expect) -> Output {
    run_case(&Case {
        name,
        input,
        kind: Kind::Sql,
        extra: &[],
        expect,
    })
}

#[test]
fn sql_baseline_rewrites_the_canaries() {
    let row = format!("(1,'{}','{}','{}')", CANARIES[0], CANARIES[1], CANARIES[3]);
    let out = sql_case("mysql baseline", &mysql(&row), Expect::Either);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for v in CANARIES {
        assert!(!text.contains(v), "{v} survived");
    }
}

#[test]
fn unterminated_strings_comments_and_copy_blocks() {
    let unterminated_string = format!("{MYSQL_HEAD}INSERT INTO `users` VALUES (1,'{}", CANARIES[0]);
    sql_case(
        "mysql unterminated string",
        unterminated_string.as_bytes(),
        Expect::BadInput(None),
    );
    let unterminated_row = format!(
        "{MYSQL_HEAD}INSERT INTO `users` VALUES (1,'{}',",
        CANARIES[0]
    );
    sql_case(
        "mysql unterminated row",
        unterminated_row.as_bytes(),
        Expect::BadInput(None),
    );
    let comment_in_insert = format!(
        "{MYSQL_HEAD}INSERT INTO `users` VALUES (1,'{}','a','b') /* never closed ;\n-- Dump completed\n",
        CANARIES[0]
    );
    sql_case(
        "mysql unterminated comment in an INSERT",
        comment_in_insert.as_bytes(),
        Expect::BadInput(None),
    );
    let copy = format!(
        "{PG_HEAD}COPY public.users (id, email, name, phone) FROM stdin;\n1\t{}\t{}\t{}\n2\tb@c.d\tx\ty\n",
        CANARIES[0], CANARIES[1], CANARIES[3]
    );
    sql_case(
        "postgres COPY without \\.",
        copy.as_bytes(),
        Expect::BadInput(None),
    );
    let pg_string = format!(
        "{PG_HEAD}INSERT INTO public.users VALUES (1, E'{}\\'",
        CANARIES[0]
    );
    sql_case(
        "postgres unterminated E'' string",
        pg_string.as_bytes(),
        Expect::BadInput(None),
    );
    let dollar = format!("{PG_HEAD}CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1;\n");
    sql_case(
        "postgres unterminated dollar quote",
        dollar.as_bytes(),
        Expect::BadInput(None),
    );
}

#[test]
fn unterminated_comment_before_the_data() {
    let comment_before =
        format!("{MYSQL_HEAD}/* never closed\nINSERT INTO `users` VALUES (1,'x','y','z');\n");
    sql_case(
        "mysql unterminated comment before the data",
        comment_before.as_bytes(),
        Expect::BadInput(Some(MYSQL_HEAD.len() as u64)),
    );
}

#[test]
fn invalid_utf8_and_nul_bytes_in_sql() {
    let mut row = format!("(1,'{}','{}','{}')", CANARIES[0], CANARIES[1], CANARIES[3]).into_bytes();
    row[6] = 0xff;
    row[7] = 0xc3;
    let mut dump = MYSQL_HEAD.as_bytes().to_vec();
    dump.extend(b"INSERT INTO `users` VALUES ");
    dump.extend(&row);
    dump.extend(b";\n");
    let out = sql_case(
        "mysql invalid UTF-8 in a covered value",
        &dump,
        Expect::Either,
    );
    if out.status.code() == Some(0) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("canary@example.org"), "email survived");
        assert!(!text.contains(CANARIES[1]), "name survived");
    }
    let nul = format!(
        "{MYSQL_HEAD}INSERT INTO `users` VALUES (1,'{}\0tail','{}','{}');\n",
        CANARIES[0], CANARIES[1], CANARIES[3]
    );
    let out = sql_case(
        "mysql raw NUL in a covered value",
        nul.as_bytes(),
        Expect::Either,
    );
    if out.status.code() == Some(0) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("canary@example.org"), "email survived");
    }
    let mut stray = MYSQL_HEAD.as_bytes().to_vec();
    stray.extend(b"\0\xff\xfe garbage between statements;\n");
    stray.extend(mysql(&format!("(1,'{}','x','y')", CANARIES[0]))[MYSQL_HEAD.len()..].iter());
    let out = sql_case(
        "mysql NUL and invalid UTF-8 between statements",
        &stray,
        Expect::Either,
    );
    if out.status.code() == Some(0) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("canary@example.org"), "email survived");
    }
    let mut pg = format!(
        "{PG_HEAD}COPY public.users (id, email, name, phone) FROM stdin;\n1\t{}",
        CANARIES[0]
    )
    .into_bytes();
    pg.extend(b"\xff\t\0");
    pg.extend(format!("{}\t{}\n\\.\n", CANARIES[1], CANARIES[3]).bytes());
    let out = sql_case(
        "postgres COPY with NUL and invalid UTF-8",
        &pg,
        Expect::Either,
    );
    if out.status.code() == Some(0) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("canary@example.org"), "email survived");
    }
}

#[test]
fn a_64_mb_single_line() {
    // One INSERT row of 64 MB in a covered column: rewritten, or refused as too large; never
    // passed through, never a crash.
    let big = "z".repeat(64 << 20);
    let dump = mysql(&format!("(1,'{}{big}','n','p')", CANARIES[0]));
    let dir = tempfile::tempdir().unwrap();
    let mut c = cmd(dir.path(), Kind::Sql);
    c.arg("--quiet");
    let out = run_with_stdin(c, &dump);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_leak("64 MB line", &stderr);
    match out.status.code() {
        Some(0) => assert!(!String::from_utf8_lossy(&out.stdout).contains(CANARIES[0])),
        Some(3) => assert!(stderr.contains("byte "), "{stderr}"),
        other => panic!("64 MB line: {other:?} {stderr}"),
    }
    // The same line in a table without rules streams through unchanged.
    let comment = format!("{MYSQL_HEAD}-- {big}\n-- Dump completed\n");
    let mut c = cmd(dir.path(), Kind::Sql);
    c.arg("--quiet");
    let out = run_with_stdin(c, comment.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), comment.len());
}

// ---------------------------------------------------------------------------------------------
// No leaks: every stderr and report of successful and failed runs.

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn no_stderr_or_report_holds_an_input_value_or_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let row = format!("(1,'{}','{}','{}')", CANARIES[0], CANARIES[1], CANARIES[3]);
    let (archive_ok, _) = archive(&[person(), person()]);
    let mut inputs: Vec<(Kind, Vec<u8>, Vec<&str>)> = vec![
        (Kind::Sql, mysql(&row), vec![]),
        (Kind::Sql, mysql(&row), vec!["--strict"]),
        (
            Kind::Sql,
            mysql(&row)[..MYSQL_HEAD.len() + 50].to_vec(),
            vec![],
        ),
        (Kind::Mongo, archive_ok.clone(), vec![]),
        (
            Kind::Mongo,
            archive_ok.clone(),
            vec!["--strict", "--unkeyed"],
        ),
        (
            Kind::Mongo,
            archive_ok[..archive_ok.len() - 60].to_vec(),
            vec![],
        ),
    ];
    // A flipped byte inside a covered value: a CRC mismatch names the namespace, not the value.
    let mut flipped = archive_ok.clone();
    let p = flipped
        .windows(8)
        .position(|w| w == &CANARIES[1].as_bytes()[..8])
        .unwrap();
    flipped[p] ^= 1;
    inputs.push((Kind::Mongo, flipped, vec![]));
    let mut runs = 0;
    for (kind, input, extra) in &inputs {
        let report = dir.path().join("report.json");
        let _ = std::fs::remove_file(&report);
        let mut c = cmd(dir.path(), *kind);
        c.args(extra).arg("--report").arg(&report);
        let out = run_with_stdin(c, input);
        assert_no_leak("stderr", &String::from_utf8_lossy(&out.stderr));
        if let Ok(r) = std::fs::read_to_string(&report) {
            assert_no_leak("report", &r);
            runs += 1;
        }
    }
    assert!(runs >= 2, "some runs wrote reports");
    // `check` errors quote the rules file, never a key.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "rules:\n  users:\n    columns:\n      email: hash_emial\n",
    )
    .unwrap();
    let out = common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("check")
        .arg("--rules")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_no_leak("check", &String::from_utf8_lossy(&out.stderr));
    // The shipped sample through its rules, with the report: no key in either.
    let out = common::bin()
        .env("SYRF_ANONYMIZE_KEY", KEY)
        .arg("--rules")
        .arg(repo().join("rules/syrf.yaml"))
        .arg("--input")
        .arg(repo().join("samples/syrf-sample.archive"))
        .arg("--output")
        .arg(dir.path().join("sample.out"))
        .arg("--report")
        .arg(dir.path().join("sample.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.path().join("sample.json")).unwrap();
    assert_no_leak("sample report", &report);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(KEY));
}
