//! Reading and writing literals.

use super::*;

#[test]
fn mysql_escapes_round_trip() {
    let raw: Vec<u8> = (0u8..=255).collect();
    let mut quoted = Vec::new();
    mysql_quote(&raw, &mut quoted);
    let Lit::Str { body, quote, .. } = parse_literal(&quoted, Dialect::MySql) else {
        panic!()
    };
    let mut back = Vec::new();
    mysql_unescape(body, quote, &mut back);
    assert_eq!(back, raw);
}

#[test]
fn copy_escapes_round_trip() {
    let raw = "a\tb\\c\nd\re\u{2028}é".as_bytes();
    let mut esc = Vec::new();
    copy_escape(raw, &mut esc);
    assert!(!esc.contains(&b'\t') && !esc.contains(&b'\n'));
    let mut back = Vec::new();
    copy_unescape(&esc, &mut back);
    assert_eq!(back, raw);
}

#[test]
fn pg_literals() {
    assert_eq!(parse_literal(b"NULL", Dialect::Postgres), Lit::Null);
    assert_eq!(parse_literal(b"true", Dialect::Postgres), Lit::Bool(true));
    assert_eq!(
        parse_literal(b"-1.5e3", Dialect::Postgres),
        Lit::Number(b"-1.5e3")
    );
    let Lit::Str { body, escapes, .. } =
        parse_literal(b"E'a\\n''b\\x41\\u00e9'", Dialect::Postgres)
    else {
        panic!()
    };
    assert!(escapes);
    let mut out = Vec::new();
    pg_unescape(body, escapes, &mut out);
    assert_eq!(out, "a\n'bAé".as_bytes());
    let Lit::Str { body, escapes, .. } = parse_literal(b"'C:\\x'", Dialect::Postgres) else {
        panic!()
    };
    pg_unescape(body, escapes, &mut out);
    assert_eq!(out, b"C:\\x");
}

#[test]
fn mysql_literals() {
    assert_eq!(
        parse_literal(b"0xDEADbeef", Dialect::MySql),
        Lit::Hex(b"DEADbeef")
    );
    assert!(matches!(
        parse_literal(b"_binary 'ab'", Dialect::MySql),
        Lit::Str { binary: true, .. }
    ));
    assert!(matches!(
        parse_literal(b"_utf8mb4'ab'", Dialect::MySql),
        Lit::Str { binary: false, .. }
    ));
    assert_eq!(parse_literal(b"b'0101'", Dialect::MySql), Lit::Other);
}

#[test]
fn datetimes() {
    assert_eq!(format_datetime(0), "1970-01-01 00:00:00");
    assert_eq!(format_datetime(1_141_000_000_000), "2006-02-27 00:26:40");
    assert_eq!(format_datetime(-1000), "1969-12-31 23:59:59");
}

#[test]
fn replacements() {
    let col = Column {
        name: "n".into(),
        kind: ColKind::Text,
        max_chars: Some(3),
        generated: false,
        json: false,
        family: crate::ddl::Family::Text,
        type_name: "varchar(3)".into(),
        case_sensitive: None,
        unique: false,
    };
    let mut out = Vec::new();
    write_replacement(
        &Replacement::Str("héllo'".into()),
        Some(&col),
        Ctx::MySql,
        &mut out,
    );
    assert_eq!(out, "'hél'".as_bytes());
    out.clear();
    write_replacement(
        &Replacement::Binary {
            subtype: 0,
            bytes: vec![1, 255],
        },
        None,
        Ctx::Copy,
        &mut out,
    );
    assert_eq!(out, b"\\\\x01ff");
    out.clear();
    write_replacement(
        &Replacement::Str("it's".into()),
        None,
        Ctx::PgInsert { std: true },
        &mut out,
    );
    assert_eq!(out, b"'it''s'");
}

#[test]
fn written_values_are_written_like_their_replacements() {
    use anonymize_core::Written;
    let cases: [(Written, &[u8]); 14] = [
        (Written::Unchanged, b""),
        (Written::Null, b""),
        (Written::Remove, b""),
        (Written::Str, "it's a\tb\\c é".as_bytes()),
        (Written::Bytes, b"raw\xff'\0\\x"),
        (Written::Number, b"-39.62"),
        (Written::Binary { subtype: 0 }, b"\x00\x01\xfe"),
        (Written::Binary { subtype: 0 }, b""),
        (Written::Int32(-7), b""),
        (Written::Int64(i64::MIN), b""),
        (Written::Double(0.1 + 0.2), b""),
        (Written::Double(f64::NEG_INFINITY), b""),
        (Written::Bool(true), b""),
        (Written::DateTime(1_700_000_000_123), b""),
    ];
    let ctxs = [
        Ctx::MySql,
        Ctx::PgInsert { std: true },
        Ctx::PgInsert { std: false },
        Ctx::Copy,
    ];
    for (written, buf) in cases {
        for ctx in ctxs {
            let mut direct = b"prefix ".to_vec();
            write_written(written, buf, None, ctx, &mut direct);
            let mut owned = b"prefix ".to_vec();
            write_replacement(&written.to_replacement(buf), None, ctx, &mut owned);
            assert_eq!(direct, owned, "{written:?} in {ctx:?}");
        }
    }
}

#[test]
fn row_text_gives_the_value_text_value_gives() {
    let row = "(1,'Zoë','O''Brien',x'00')".as_bytes();
    let rt = RowText::new(row);
    // Every part of the row, at every offset and length: text where `text_value` says text.
    for a in 0..=row.len() {
        for b in a..=row.len() {
            let part = &row[a..b];
            assert_eq!(
                rt.text_value(part, false),
                text_value(part, false),
                "{a}..{b}"
            );
            assert_eq!(
                rt.text_value(part, true),
                text_value(part, true),
                "{a}..{b}"
            );
        }
    }
    // A slice of another buffer, and a row that is not UTF-8, fall back to the check.
    let other = b"Zo\xc3\xab".to_vec();
    assert_eq!(rt.text_value(&other, false), Value::Str("Zoë"));
    let bad = b"('\xff','ok')";
    let rt = RowText::new(bad);
    assert_eq!(rt.text_value(&bad[2..3], false), Value::Bytes(b"\xff"));
    assert_eq!(rt.text_value(&bad[6..8], false), Value::Str("ok"));
    // Through `value_in_row`: the same value as `value_of`.
    let row = b"('Ana','it''s')";
    let rt = RowText::new(row);
    for (s, e) in [(1, 6), (7, 14)] {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let lit = parse_literal(&row[s..e], Dialect::MySql);
        assert_eq!(
            value_in_row(lit, None, &mut x, Dialect::MySql, rt),
            value_of(lit, None, &mut y, Dialect::MySql)
        );
    }
}

/// Every quoted literal the fast path reads, it reads as the general way does, in every
/// dialect and string mode.
#[test]
fn plain_quoted_literals_read_as_the_general_way() {
    let literals: &[&[u8]] = &[
        b"'a'",
        b"'''",
        b"''''",
        b"'it''s'",
        b"'a\\'",
        b"'\\''",
        b"'x'y'",
        b"'K\xc3\xa9thir'",
        b"' '",
    ];
    let mut syntaxes: Vec<Syntax> = Vec::new();
    for dialect in [Dialect::MySql, Dialect::Postgres] {
        for std_strings in [true, false] {
            syntaxes.push(Syntax {
                std_strings,
                ..dialect.into()
            });
        }
    }
    for &t in literals {
        for &syntax in &syntaxes {
            let fast = plain_quoted(t, syntax).expect("a quoted literal");
            assert_eq!(fast, parse_any(t, syntax), "{t:?} {syntax:?}");
        }
    }
    for t in [
        &b"''"[..],
        b"'",
        b"NULL",
        b"E'a'",
        b"_binary'a'",
        b"1",
        b"'a",
    ] {
        assert_eq!(plain_quoted(t, Dialect::MySql.into()), None, "{t:?}");
    }
}

/// A transform's ASCII output is written as the general (UTF-8) way writes it: cut to the
/// column's length, bare in a numeric column, quoted for each context.
#[test]
fn ascii_output_written_as_text_is() {
    use crate::ddl::{ColKind, Family};
    let column = |kind, max_chars| Column::for_tests(kind, Family::Text, max_chars);
    let cols = [
        None,
        Some(column(ColKind::Text, None)),
        Some(column(ColKind::Text, Some(3))),
        Some(column(ColKind::Text, Some(40))),
        Some(column(ColKind::Integer, None)),
        Some(column(ColKind::Integer, Some(2))),
    ];
    let ctxs = [
        Ctx::MySql,
        Ctx::PgInsert { std: true },
        Ctx::PgInsert { std: false },
        Ctx::Copy,
    ];
    let texts = [
        "",
        "bob",
        "o'brien",
        "a\\b\tc\nd\x1a\0",
        "-12.5",
        "42",
        "1.2.3",
        "abcdef",
    ];
    for text in texts {
        for col in &cols {
            for ctx in ctxs {
                let (mut fast, mut general) = (Vec::new(), Vec::new());
                write_written(Written::Str, text.as_bytes(), col.as_ref(), ctx, &mut fast);
                write_str(text, col.as_ref(), ctx, &mut general);
                assert_eq!(fast, general, "{text:?} {col:?} {ctx:?}");
                let (mut fast, mut general) = (Vec::new(), Vec::new());
                write_written(
                    Written::Number,
                    text.as_bytes(),
                    col.as_ref(),
                    ctx,
                    &mut fast,
                );
                general.extend_from_slice(lossy(text.as_bytes()).as_bytes());
                assert_eq!(fast, general, "{text:?}");
            }
        }
    }
}

/// The quick test of short values (two byte classes for COPY) escapes exactly the bytes
/// the exact test escapes: every byte value, alone and inside short and long values.
#[test]
fn escaping_every_byte_as_before() {
    for b in 0u8..=255 {
        for value in [
            vec![b],
            vec![b'a', b, b'z'],
            [&[b'x'; 70][..], &[b]].concat(),
        ] {
            let mut copy = Vec::new();
            copy_escape(&value, &mut copy);
            let mut back = Vec::new();
            copy_unescape(&copy, &mut back);
            let kept: Vec<u8> = value.iter().copied().filter(|&c| c != 0).collect();
            assert_eq!(back, kept, "{value:?}");
            let special = matches!(b, b'\\' | b'\t' | b'\n' | b'\r' | 8 | 12 | 11);
            assert_eq!(
                copy.len(),
                value.len() + usize::from(special) - usize::from(b == 0)
            );
        }
    }
}

/// `any_byte` finds a byte wherever it is, in values of every length up to 80 bytes, and
/// finds none where there is none.
#[test]
fn any_byte_sees_every_position() {
    for len in 0..80 {
        let plain = vec![b'a'; len];
        assert!(!any_byte(&plain, |b| b == b'\''), "{len}");
        assert!(!has_either(&plain, b'\'', b'\\'), "{len}");
        for at in 0..len {
            let mut value = plain.clone();
            value[at] = b'\'';
            assert!(any_byte(&value, |b| b == b'\''), "{len} {at}");
            assert!(has_either(&value, b'\\', b'\''), "{len} {at}");
        }
    }
}

/// `quiet` is its plain definition (ASCII, no control byte, no quote, double quote or
/// backslash) for every byte value at every position of values up to 40 bytes.
#[test]
fn quiet_is_its_definition() {
    let plain = |s: &[u8]| {
        s.is_ascii()
            && !s
                .iter()
                .any(|&b| b < 0x20 || matches!(b, b'\\' | b'\'' | b'"'))
    };
    for len in 0..40 {
        let base = vec![b'k'; len];
        assert!(quiet(&base), "{len}");
        for at in 0..len {
            for b in 0u8..=255 {
                let mut value = base.clone();
                value[at] = b;
                assert_eq!(quiet(&value), plain(&value), "{len} {at} {b}");
            }
        }
    }
}

/// A text, an integer and a binary column.
fn some_columns() -> Vec<Option<Column>> {
    use crate::ddl::{ColKind, Family};
    let column = Column::for_tests;
    vec![
        None,
        Some(column(ColKind::Text, Family::Text, None)),
        Some(column(ColKind::Text, Family::Text, Some(4))),
        Some(column(ColKind::Integer, Family::Integer, None)),
        Some(column(ColKind::Integer, Family::Integer, Some(2))),
        Some(column(ColKind::Binary, Family::Binary, None)),
    ]
}

/// `ascii` is `is_ascii`: every byte value at every position of rows up to 50 bytes long,
/// over an ASCII background.
#[test]
fn ascii_is_its_definition() {
    for len in 0..50 {
        let base = vec![b'k'; len];
        assert!(ascii(&base), "{len}");
        for at in 0..len {
            for b in 0u8..=255 {
                let mut row = base.clone();
                row[at] = b;
                assert_eq!(ascii(&row), row.is_ascii(), "{len} {at} {b}");
            }
        }
    }
}

proptest::proptest! {
    /// `utf8` (the ASCII check first) is `std::str::from_utf8` on any bytes: rows of ASCII
    /// and of bytes above 0x7f (valid sequences, stray continuation bytes, truncated leads)
    /// at every length, across the sixteen-byte steps of the ASCII check.
    #[test]
    fn utf8_is_std_from_utf8(
        bytes in proptest::collection::vec(proptest::sample::select(
            vec![b'a', b' ', b'\'', 0x00, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0xf0, 0xff]), 0..200),
        ascii_prefix in 0usize..40,
    ) {
        let row = [&vec![b'x'; ascii_prefix][..], &bytes].concat();
        proptest::prop_assert_eq!(utf8(&row), std::str::from_utf8(&row).ok());
        let ascii: Vec<u8> = row.iter().map(|b| b & 0x7f).collect();
        proptest::prop_assert_eq!(utf8(&ascii), std::str::from_utf8(&ascii).ok());
    }

    /// A transform's text is written by `write_written` as `write_str` writes it, for
    /// every column and context: the one-piece copy of quiet ASCII text included.
    #[test]
    fn written_text_as_the_general_way(
        text in proptest::collection::vec(proptest::sample::select(
            b"ab 1-.@+'\"\\\t\n\r\x00\x1a\x7f\x08\x0c\x0b%_".to_vec()), 0..70)
    ) {
        let text = String::from_utf8(text).unwrap();
        for col in some_columns() {
            for ctx in [Ctx::MySql, Ctx::PgInsert { std: true }, Ctx::PgInsert { std: false }, Ctx::Copy] {
                let (mut fast, mut general) = (Vec::new(), Vec::new());
                write_written(Written::Str, text.as_bytes(), col.as_ref(), ctx, &mut fast);
                write_str(&text, col.as_ref(), ctx, &mut general);
                proptest::prop_assert_eq!(&fast, &general, "{:?} {:?} {:?}", text, col, ctx);
            }
        }
    }

    /// A `'...'` literal read by `plain_string` gives the value the general way gives, in
    /// every dialect, string mode and column; and every literal with nothing to undo in a
    /// column that is not binary is read by it.
    #[test]
    fn plain_strings_read_as_the_general_way(
        body in proptest::collection::vec(proptest::sample::select(
            vec![b'a', b' ', b'\'', b'\\', b'n', 0xc3, 0xa9, 0xff, b'"', b'x', b'0']), 0..40),
        prefix in proptest::sample::select(vec![&b""[..], b"(1,", b"('\xc3\xa9',"]),
    ) {
        let literal = [&b"'"[..], &body, b"'"].concat();
        let row_bytes = [prefix, &literal, b")"].concat();
        let at = prefix.len();
        let t = &row_bytes[at..at + literal.len()];
        let row = RowText::new(&row_bytes);
        for syntax in Syntax::every() {
            for col in some_columns() {
                let binary = col.as_ref().is_some_and(|c| c.kind == ColKind::Binary);
                let plain = !body.contains(&b'\'') && !body.contains(&b'\\');
                let fast = plain_string(t, col.as_ref());
                proptest::prop_assert_eq!(fast.is_some(), plain && !binary);
                if let Some(b) = fast {
                    let mut scratch = Vec::new();
                    let general = value_in_row(
                        parse_literal(t, syntax), col.as_ref(), &mut scratch, syntax.dialect, row);
                    proptest::prop_assert_eq!(row.text_value(b, false), general);
                }
            }
        }
    }
}
