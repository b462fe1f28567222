//! Differential property test of the SQL rewriters: random rows of text, varchar, integer,
//! decimal, blob and nullable columns (quotes, backslashes, control characters, emoji, U+2028)
//! through MySQL extended INSERTs, PostgreSQL COPY and PostgreSQL INSERTs, with random rules.
//! A reference decodes every value of the output with its own parser and compares it with
//! what the transform gives for the original value (typed as the column types it).

use anonymize_core::{Anonymizer, Key, KeyMode, Replacement, RowContext, RuleSet, Value};
use proptest::prelude::*;
use sql_dump::{rewrite_sql, Dialect, SqlOptions};

/// The rule-carrying columns, after `id`.
const COLS: [&str; 6] = ["s", "t", "n", "d", "b", "z"];

#[derive(Debug, Clone)]
struct Row {
    s: String,
    t: String,
    n: i64,
    d: String,
    b: Vec<u8>,
    z: Option<String>,
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            1 => proptest::sample::select(vec![
                '\'', '"', '\\', '\n', '\r', '\t', '\u{1a}', '\u{8}', '%', '_', ',', '(', ')', ';',
                'é', '😀', '\u{2028}', '\u{2029}', '@', '.', ' ', '0', '7', '$', '`',
            ]),
        ],
        0..24,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn row() -> impl Strategy<Value = Row> {
    (
        text(),
        text(),
        any::<i64>(),
        (-999_999_999_999i64..999_999_999_999),
        proptest::collection::vec(any::<u8>(), 0..16),
        proptest::option::of(text()),
    )
        .prop_map(|(s, t, n, cents, b, z)| Row {
            s,
            t,
            n,
            d: format!(
                "{}{}.{:02}",
                if cents < 0 { "-" } else { "" },
                cents.unsigned_abs() / 100,
                cents.unsigned_abs() % 100
            ),
            b,
            z,
        })
}

const TRANSFORMS: [&str; 15] = [
    "hash",
    "{transform: hash, length: 8}",
    "{transform: hmac, encoding: base32}",
    "hash_email",
    "sequential",
    "sequential_suffix",
    "{transform: fake, kind: first_name}",
    "digits",
    "{transform: mask, keep_start: 1, keep_end: 1}",
    "null",
    "remove",
    "keep",
    "{transform: constant, value: 42}",
    "{transform: constant, value: \"it's a \\\\ back\\\"slash\"}",
    "{transform: constant, value: null}",
];

/// A transform (or none) for each column.
/// Mostly transforms the column's type accepts; one in ten from all of them, so that the
/// rewriter's refusal of the others is exercised too.
fn rules() -> impl Strategy<Value = Vec<Option<&'static str>>> {
    COLS.iter()
        .map(|&c| {
            let fitting: Vec<&'static str> =
                TRANSFORMS.iter().copied().filter(|t| fits(c, t)).collect();
            proptest::option::weighted(
                0.8,
                prop_oneof![
                    9 => proptest::sample::select(fitting),
                    1 => proptest::sample::select(&TRANSFORMS[..]),
                ],
            )
        })
        .collect::<Vec<_>>()
}

/// Whether sql-dump accepts `transform` on column `col` (its type check, as documented: a
/// transform must write values of the column's type; text columns take any).
fn fits(col: &str, transform: &str) -> bool {
    let name = transform
        .trim_start_matches("{transform: ")
        .split([',', '}'])
        .next()
        .unwrap_or_default();
    match (name, col) {
        ("keep" | "null" | "remove" | "constant", _) => true,
        (_, "n") => matches!(name, "hash" | "hmac" | "sequential_suffix" | "digits"),
        (_, "d") => matches!(name, "sequential_suffix" | "digits"),
        // Text transforms would write NULL for bytes: refused (issue 19.9).
        (_, "b") => matches!(name, "hash" | "hmac"),
        _ => true,
    }
}

fn anonymizer(rules: &[Option<&str>]) -> Anonymizer {
    let mut yaml = String::from("rules:\n  t:\n    columns:\n");
    for (c, t) in COLS.iter().zip(rules) {
        if let Some(t) = t {
            yaml.push_str(&format!("      {c}: {t}\n"));
        }
    }
    if rules.iter().all(Option::is_none) {
        yaml.push_str("      s: keep\n");
    }
    Anonymizer::new(
        RuleSet::from_yaml(&yaml, "prop.yaml").unwrap(),
        KeyMode::Keyed(Key::from_bytes(b"sql differential key 0123456789").unwrap()),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Writing the input as the dump tools do.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Form {
    MySql { hex_blob: bool },
    Copy,
    PgInsert,
}

fn mysql_quote(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    for &c in b {
        match c {
            0 => out.extend(b"\\0"),
            b'\'' => out.extend(b"\\'"),
            b'"' => out.extend(b"\\\""),
            b'\\' => out.extend(b"\\\\"),
            b'\n' => out.extend(b"\\n"),
            b'\r' => out.extend(b"\\r"),
            0x1a => out.extend(b"\\Z"),
            c => out.push(c),
        }
    }
    out.push(b'\'');
}

fn pg_quote(b: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    for &c in b {
        if c == b'\'' {
            out.push(b'\'');
        }
        out.push(c);
    }
    out.push(b'\'');
}

fn copy_escape(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        match c {
            b'\\' => out.extend(b"\\\\"),
            b'\t' => out.extend(b"\\t"),
            b'\n' => out.extend(b"\\n"),
            b'\r' => out.extend(b"\\r"),
            c => out.push(c),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn dump(rows: &[Row], form: Form) -> Vec<u8> {
    let mut out = Vec::new();
    match form {
        Form::MySql { hex_blob } => {
            out.extend(
                b"-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n\
CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `s` varchar(255) DEFAULT NULL,\n  `t` text,\n  \
`n` bigint DEFAULT NULL,\n  `d` decimal(14,2) DEFAULT NULL,\n  `b` blob,\n  `z` text\n) ENGINE=InnoDB;\n",
            );
            out.extend(b"INSERT INTO `t` VALUES ");
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(format!("({},", i + 1).bytes());
                mysql_quote(r.s.as_bytes(), &mut out);
                out.push(b',');
                mysql_quote(r.t.as_bytes(), &mut out);
                out.extend(format!(",{},{},", r.n, r.d).bytes());
                if hex_blob {
                    if r.b.is_empty() {
                        out.extend(b"''");
                    } else {
                        out.extend(format!("0x{}", hex(&r.b).to_uppercase()).bytes());
                    }
                } else {
                    out.extend(b"_binary ");
                    mysql_quote(&r.b, &mut out);
                }
                out.push(b',');
                match &r.z {
                    Some(z) => mysql_quote(z.as_bytes(), &mut out),
                    None => out.extend(b"NULL"),
                }
                out.push(b')');
            }
            out.extend(b";\n-- Dump completed on 2026-01-01\n");
        }
        Form::Copy | Form::PgInsert => {
            out.extend(
                b"--\n-- PostgreSQL database dump\n--\n\nSET standard_conforming_strings = on;\n\n\
CREATE TABLE public.t (\n    id integer NOT NULL,\n    s character varying(255),\n    t text,\n    \
n bigint,\n    d numeric(14,2),\n    b bytea,\n    z text\n);\n\n",
            );
            if form == Form::Copy {
                out.extend(b"COPY public.t (id, s, t, n, d, b, z) FROM stdin;\n");
                for (i, r) in rows.iter().enumerate() {
                    out.extend(format!("{}\t", i + 1).bytes());
                    copy_escape(r.s.as_bytes(), &mut out);
                    out.push(b'\t');
                    copy_escape(r.t.as_bytes(), &mut out);
                    out.extend(format!("\t{}\t{}\t\\\\x{}\t", r.n, r.d, hex(&r.b)).bytes());
                    match &r.z {
                        Some(z) => copy_escape(z.as_bytes(), &mut out),
                        None => out.extend(b"\\N"),
                    }
                    out.push(b'\n');
                }
                out.extend(b"\\.\n\n");
            } else {
                for (i, r) in rows.iter().enumerate() {
                    out.extend(format!("INSERT INTO public.t VALUES ({}, ", i + 1).bytes());
                    pg_quote(r.s.as_bytes(), &mut out);
                    out.extend(b", ");
                    pg_quote(r.t.as_bytes(), &mut out);
                    out.extend(format!(", {}, {}, '\\x{}', ", r.n, r.d, hex(&r.b)).bytes());
                    match &r.z {
                        Some(z) => pg_quote(z.as_bytes(), &mut out),
                        None => out.extend(b"NULL"),
                    }
                    out.extend(b");\n");
                }
            }
            out.extend(b"--\n-- PostgreSQL database dump complete\n--\n");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The reference reader of the output: every value decoded to NULL or bytes.

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Val(Vec<u8>),
}

fn unhex(h: &[u8]) -> Option<Vec<u8>> {
    if h.len() & 1 == 1 {
        return None;
    }
    h.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// Values of one SQL tuple list starting at `i` (just after `VALUES`), up to the `;`.
fn sql_rows(b: &[u8], mut i: usize, mysql: bool) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        assert_eq!(b[i], b'(', "tuple start at {i}");
        i += 1;
        let mut row = Vec::new();
        loop {
            skip_ws(&mut i);
            let rest = &b[i..];
            let cell = if rest.starts_with(b"NULL") {
                i += 4;
                Cell::Null
            } else if rest.starts_with(b"0x") || rest.starts_with(b"X'") || rest.starts_with(b"x'")
            {
                let quoted = rest[1] == b'\'';
                i += 2;
                let s = i;
                while b[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let v = unhex(&b[s..i]).expect("hex literal");
                if quoted {
                    i += 1;
                }
                Cell::Val(v)
            } else {
                let mut backslash = mysql;
                if rest.starts_with(b"_") {
                    while b[i] != b'\'' && b[i] != b' ' {
                        i += 1;
                    }
                    skip_ws(&mut i);
                } else if rest.starts_with(b"E'") || rest.starts_with(b"e'") {
                    backslash = true;
                    i += 1;
                }
                if b[i] == b'\'' {
                    i += 1;
                    let mut v = Vec::new();
                    loop {
                        let c = b[i];
                        if c == b'\'' {
                            if b.get(i + 1) == Some(&b'\'') {
                                v.push(b'\'');
                                i += 2;
                                continue;
                            }
                            i += 1;
                            break;
                        }
                        if c == b'\\' && backslash {
                            let e = b[i + 1];
                            v.push(match e {
                                b'0' => 0,
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'Z' => 0x1a,
                                e => e,
                            });
                            i += 2;
                            continue;
                        }
                        v.push(c);
                        i += 1;
                    }
                    // A cast such as ::bytea.
                    if b[i..].starts_with(b"::") {
                        while b[i] != b',' && b[i] != b')' {
                            i += 1;
                        }
                    }
                    Cell::Val(v)
                } else {
                    let s = i;
                    while !matches!(b[i], b',' | b')') && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    Cell::Val(b[s..i].to_vec())
                }
            };
            row.push(cell);
            skip_ws(&mut i);
            match b[i] {
                b',' => i += 1,
                b')' => {
                    i += 1;
                    break;
                }
                c => panic!("unexpected {:?} at {i}", c as char),
            }
        }
        rows.push(row);
        skip_ws(&mut i);
        match b[i] {
            b',' => i += 1,
            b';' => return rows,
            c => panic!("unexpected {:?} after a tuple at {i}", c as char),
        }
    }
}

fn copy_unescape(f: &[u8]) -> Cell {
    if f == b"\\N" {
        return Cell::Null;
    }
    let mut v = Vec::new();
    let mut i = 0;
    while i < f.len() {
        if f[i] == b'\\' && i + 1 < f.len() {
            let e = f[i + 1];
            i += 2;
            match e {
                b'n' => v.push(b'\n'),
                b'r' => v.push(b'\r'),
                b't' => v.push(b'\t'),
                b'b' => v.push(8),
                b'f' => v.push(12),
                b'v' => v.push(11),
                b'x' => {
                    let s = i;
                    while i < f.len() && i < s + 2 && f[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                    v.push(u8::from_str_radix(std::str::from_utf8(&f[s..i]).unwrap(), 16).unwrap());
                }
                b'0'..=b'7' => {
                    let s = i - 1;
                    while i < f.len() && i < s + 3 && (b'0'..=b'7').contains(&f[i]) {
                        i += 1;
                    }
                    v.push(u8::from_str_radix(std::str::from_utf8(&f[s..i]).unwrap(), 8).unwrap());
                }
                e => v.push(e),
            }
        } else {
            v.push(f[i]);
            i += 1;
        }
    }
    Cell::Val(v)
}

fn read_output(out: &[u8], form: Form) -> Vec<Vec<Cell>> {
    let find = |n: &[u8]| {
        out.windows(n.len())
            .position(|w| w == n)
            .unwrap_or_else(|| panic!("{} missing", String::from_utf8_lossy(n)))
    };
    match form {
        Form::MySql { .. } => sql_rows(out, find(b"INSERT INTO `t` VALUES ") + 23, true),
        Form::PgInsert => {
            let mut rows = Vec::new();
            let mut from = 0;
            let needle = b"INSERT INTO public.t VALUES";
            while let Some(p) = out[from..].windows(needle.len()).position(|w| w == needle) {
                let start = from + p + needle.len();
                let mut r = sql_rows(out, start, false);
                rows.append(&mut r);
                from = start;
            }
            rows
        }
        Form::Copy => {
            let start = find(b"FROM stdin;\n") + 12;
            let end = start + out[start..].windows(3).position(|w| w == b"\n\\.").unwrap();
            out[start..end]
                .split(|&c| c == b'\n')
                .map(|line| line.split(|&c| c == b'\t').map(copy_unescape).collect())
                .collect()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The expected cells.

/// A plain decimal number (`-12`, `0.50`; no leading zero, no exponent).
fn plain_number(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn expected(anon: &Anonymizer, rules: &[Option<&str>], rows: &[Row], form: Form) -> Vec<Vec<Cell>> {
    let plan = match anon.resolve(None, "t") {
        anonymize_core::Disposition::Keep(p) => p,
        _ => panic!("t kept"),
    };
    let root = plan.root().unwrap();
    let mysql = matches!(form, Form::MySql { .. });
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let ctx = RowContext {
                ordinal: i as u64 + 1,
            };
            let d = r.d.clone();
            let n = r.n.to_string();
            let n_text = n.clone();
            // The original values, typed as the rewriter types them, and their decoded cells.
            let originals: [(Value, Cell); 6] = [
                (Value::Str(&r.s), Cell::Val(r.s.clone().into_bytes())),
                (Value::Str(&r.t), Cell::Val(r.t.clone().into_bytes())),
                (Value::Int64(r.n), Cell::Val(n.into_bytes())),
                (Value::Number(&d), Cell::Val(d.clone().into_bytes())),
                (
                    Value::Binary {
                        subtype: 0,
                        bytes: &r.b,
                    },
                    Cell::Val(r.b.clone()),
                ),
                match &r.z {
                    Some(z) => (Value::Str(z), Cell::Val(z.clone().into_bytes())),
                    None => (Value::Null, Cell::Null),
                },
            ];
            let mut cells = vec![Cell::Val((i + 1).to_string().into_bytes())];
            for ((col, (v, orig)), rule) in COLS.iter().zip(originals).zip(rules) {
                let cell = match rule {
                    None => orig,
                    Some(t) => {
                        let id = root.child(col.as_bytes()).unwrap().rule().unwrap();
                        // `digits` sees a plain decimal number (a numeric literal, or a string
                        // holding one) as its text, so that it keeps its digits' layout.
                        let v = match v {
                            Value::Str(s) if *t == "digits" && plain_number(s) => Value::Number(s),
                            Value::Int64(_) if *t == "digits" => Value::Number(&n_text),
                            v => v,
                        };
                        match anon.apply(id, v, &ctx) {
                            Replacement::Unchanged => orig,
                            Replacement::Null | Replacement::Remove => Cell::Null,
                            Replacement::Str(s) | Replacement::Number(s) => {
                                Cell::Val(s.into_bytes())
                            }
                            Replacement::Bytes(b) | Replacement::Binary { bytes: b, .. } => {
                                Cell::Val(b)
                            }
                            Replacement::Int32(v) => Cell::Val(v.to_string().into_bytes()),
                            Replacement::Int64(v) => Cell::Val(v.to_string().into_bytes()),
                            other => panic!("unexpected replacement {other:?}"),
                        }
                    }
                };
                cells.push(cell);
            }
            let _ = mysql;
            cells
        })
        .collect()
}

/// bytea values are read back from their `\x` hex text.
fn normalize(rows: &mut [Vec<Cell>], form: Form) {
    if matches!(form, Form::MySql { .. }) {
        return;
    }
    for r in rows {
        if let Some(Cell::Val(v)) = r.get_mut(5) {
            if let Some(h) = v.strip_prefix(b"\\x") {
                *v = unhex(h).expect("bytea hex");
            }
        }
    }
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::MySql { hex_blob: false }),
        Just(Form::MySql { hex_blob: true }),
        Just(Form::Copy),
        Just(Form::PgInsert),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_value_is_the_transform_of_the_original(
        rows in proptest::collection::vec(row(), 1..6),
        rules in rules(),
        form in form(),
    ) {
        let anon = anonymizer(&rules);
        let input = dump(&rows, form);
        let mut out = Vec::new();
        let opts = SqlOptions {
            dialect: Some(if matches!(form, Form::MySql { .. }) { Dialect::MySql } else { Dialect::Postgres }),
            ..Default::default()
        };
        let result = rewrite_sql(&input[..], &mut out, &anon, &opts);
        if COLS.iter().zip(&rules).any(|(c, t)| t.is_some_and(|t| !fits(c, t))) {
            let e = result.expect_err("a rule the column's type refuses was accepted");
            prop_assert!(
                e.to_string().contains("would write values the column does not accept"),
                "{e}"
            );
            return Ok(());
        }
        result.unwrap_or_else(|e| {
            panic!("rewrite failed: {e}\n{}", String::from_utf8_lossy(&input))
        });
        let mut got = read_output(&out, form);
        normalize(&mut got, form);
        let want = expected(&anon, &rules, &rows, form);
        prop_assert!(
            got == want,
            "{form:?} {rules:?}\ninput:\n{}\noutput:\n{}\ngot:  {got:?}\nwant: {want:?}",
            String::from_utf8_lossy(&input),
            String::from_utf8_lossy(&out)
        );
    }
}
