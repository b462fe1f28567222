//! Reading SQL and COPY literals into [`Value`]s and writing [`Replacement`]s back, quoted
//! and escaped for the dialect and the context.

use anonymize_core::{Replacement, Value, Written};

use crate::ddl::{ColKind, Column};
use crate::dialect::Syntax;
#[cfg(test)]
use crate::lex::classes::any_byte;
use crate::lex::classes::{any_in, Class};
use crate::lex::rules::single_quote_escapes;
use crate::Dialect;

/// Where a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// A MySQL/MariaDB `INSERT` literal.
    MySql,
    /// A PostgreSQL `INSERT` literal; `std`: `standard_conforming_strings` is on.
    PgInsert { std: bool },
    /// A field of a PostgreSQL `COPY ... FROM stdin` text block.
    Copy,
}

impl Ctx {
    /// The context of an `INSERT` literal in `dialect` (`std`: PostgreSQL's
    /// `standard_conforming_strings`).
    pub(crate) fn insert(syntax: Syntax) -> Ctx {
        match syntax.dialect {
            Dialect::MySql => Ctx::MySql,
            Dialect::Postgres => Ctx::PgInsert {
                std: syntax.std_strings,
            },
        }
    }
}

/// A literal as written in an `INSERT` tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lit<'a> {
    /// `NULL`.
    Null,
    /// A quoted string: raw body between the quotes.
    Str {
        /// The bytes between the quotes, escapes not yet undone.
        body: &'a [u8],
        /// The quote byte.
        quote: u8,
        /// Backslash escapes are active in the body.
        escapes: bool,
        /// `_binary` introducer (MySQL).
        binary: bool,
    },
    /// `0x...` / `X'...'`: the hex digits.
    Hex(&'a [u8]),
    /// A bare number.
    Number(&'a [u8]),
    /// PostgreSQL `true`/`false`.
    Bool(bool),
    /// Anything else (expressions, `DEFAULT`, bit literals).
    Other,
}

/// Classifies a trimmed literal of an `INSERT` tuple.
pub(crate) fn parse_literal(t: &[u8], syntax: impl Into<Syntax>) -> Lit<'_> {
    let syntax = syntax.into();
    plain_quoted(t, syntax).unwrap_or_else(|| parse_any(t, syntax))
}

/// [`parse_literal`] by the general way, which reads every form.
fn parse_any(t: &[u8], syntax: Syntax) -> Lit<'_> {
    let dialect = syntax.dialect;
    if t.eq_ignore_ascii_case(b"null") {
        return Lit::Null;
    }
    if dialect.bool_literals() && t.eq_ignore_ascii_case(b"true") {
        return Lit::Bool(true);
    }
    if dialect.bool_literals() && t.eq_ignore_ascii_case(b"false") {
        return Lit::Bool(false);
    }
    let mut s = t;
    let mut binary = false;
    let mut escapes = single_quote_escapes(syntax, b' ', b' ');
    if dialect.introducers() && s.first() == Some(&b'_') {
        let w = s
            .iter()
            .position(|&b| b == b'\'' || b == b'"' || b.is_ascii_whitespace())
            .unwrap_or(s.len());
        binary = s[..w].eq_ignore_ascii_case(b"_binary");
        s = s[w..].trim_ascii_start();
    } else if s.len() >= 2 && s[1] == b'\'' {
        escapes = single_quote_escapes(syntax, s[0], b' ');
        if dialect.e_strings() && (s[0] == b'E' || s[0] == b'e') {
            s = &s[1..];
        }
    }
    let quote =
        s.first() == Some(&b'\'') || (s.first() == Some(&b'"') && syntax.double_quoted_strings());
    if s.len() >= 2 && quote && s[s.len() - 1] == s[0] {
        return Lit::Str {
            body: &s[1..s.len() - 1],
            quote: s[0],
            escapes,
            binary,
        };
    }
    if s.len() >= 2 && (s.starts_with(b"0x") || s.starts_with(b"0X")) {
        let digits = &s[2..];
        if digits.iter().all(u8::is_ascii_hexdigit) {
            return Lit::Hex(digits);
        }
    }
    if s.len() >= 3 && (s[0] == b'x' || s[0] == b'X') && s[1] == b'\'' && s[s.len() - 1] == b'\'' {
        return Lit::Hex(&s[2..s.len() - 1]);
    }
    let numeric = !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && s.iter().any(u8::is_ascii_digit);
    if numeric {
        return Lit::Number(s);
    }
    Lit::Other
}

/// [`parse_literal`] of a literal that starts and ends with `'` (nearly every string value):
/// the same [`Lit::Str`] without the keyword, introducer and prefix checks, none of which a
/// leading quote can match. `None` for any other literal.
#[inline]
fn plain_quoted(t: &[u8], syntax: Syntax) -> Option<Lit<'_>> {
    let [b'\'', second, .., b'\''] = *t else {
        return None;
    };
    // As `parse_literal` reads it: a quote byte before a second quote counts as a prefix.
    let escapes = if second == b'\'' {
        single_quote_escapes(syntax, b'\'', b' ')
    } else {
        single_quote_escapes(syntax, b' ', b' ')
    };
    Some(Lit::Str {
        body: &t[1..t.len() - 1],
        quote: b'\'',
        escapes,
        binary: false,
    })
}

/// Undoes MySQL string escapes and doubled quotes.
pub(crate) fn mysql_unescape(body: &[u8], quote: u8, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'\\' && i + 1 < body.len() {
            let c = body[i + 1];
            match c {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(26),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', c]),
                _ => out.push(c),
            }
            i += 2;
        } else if b == quote && body.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    if let Some(c) = char::from_u32(code) {
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
}

/// Undoes PostgreSQL `E'...'` escapes (or, `escapes` false, only doubled quotes).
pub(crate) fn pg_unescape(body: &[u8], escapes: bool, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'\'' && body.get(i + 1) == Some(&b'\'') {
            out.push(b'\'');
            i += 2;
            continue;
        }
        if !(escapes && b == b'\\' && i + 1 < body.len()) {
            out.push(b);
            i += 1;
            continue;
        }
        let c = body[i + 1];
        i += 2;
        if decode_common_escape(c, body, &mut i, out) {
            continue;
        }
        match c {
            b'u' | b'U' => {
                let len = if c == b'u' { 4 } else { 8 };
                let digits = body.get(i..i + len);
                match digits.filter(|d| d.iter().all(u8::is_ascii_hexdigit)) {
                    Some(d) => {
                        let v = d.iter().fold(0u32, |a, &h| a * 16 + hex_val(h) as u32);
                        push_char(out, v);
                        i += len;
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
}

/// Undoes COPY text-format escapes of one field (not `\N`, which the caller checks).
pub(crate) fn copy_unescape(field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 >= field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = field[i + 1];
        i += 2;
        if decode_common_escape(c, field, &mut i, out) {
            continue;
        }
        match c {
            b'v' => out.push(11),
            _ => out.push(c),
        }
    }
}

/// Decodes the backslash escapes that `E'...'` strings and COPY text share (`\b \f \n \r \t`,
/// up to three octal digits, `\x` with one or two hex digits). `c` is the byte after the
/// backslash and `*i` the index just past it, advanced over any digits. Returns false, writing
/// nothing, for any other escape.
fn decode_common_escape(c: u8, s: &[u8], i: &mut usize, out: &mut Vec<u8>) -> bool {
    let digits_from = |i: &mut usize, first: u32, radix: u32, max: usize| {
        let mut v = first;
        let mut k = 0;
        while k < max && *i < s.len() && (s[*i] as char).is_digit(radix) {
            v = v * radix + hex_val(s[*i]) as u32;
            *i += 1;
            k += 1;
        }
        v
    };
    match c {
        b'b' => out.push(8),
        b'f' => out.push(12),
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'0'..=b'7' => out.push(digits_from(i, u32::from(c - b'0'), 8, 2) as u8),
        b'x' if *i < s.len() && s[*i].is_ascii_hexdigit() => {
            out.push(digits_from(i, 0, 16, 2) as u8)
        }
        _ => return false,
    }
    true
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Decodes hex digits; `None` on an odd count or a non-hex byte.
pub(crate) fn hex_decode(digits: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    out.extend(
        digits
            .chunks_exact(2)
            .map(|p| hex_val(p[0]) * 16 + hex_val(p[1])),
    );
    true
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_encode(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// Copies the longest prefix of `bytes` in which `special` finds nothing to `out` in one
/// piece and returns the rest (from the first special byte on), which the caller escapes
/// byte by byte. `maybe` is true of every special byte (and may be of a few others): it is
/// the cheaper test of the branch-free pass over a short value.
#[inline]
fn copy_plain<'b>(
    bytes: &'b [u8],
    out: &mut Vec<u8>,
    maybe: impl Fn(u8) -> bool,
    special: impl Fn(u8) -> bool,
) -> &'b [u8] {
    // Most values have nothing to escape: a branch-free pass (vectorised) tells.
    if bytes.len() <= SHORT && !bytes.iter().fold(false, |any, &b| any | maybe(b)) {
        out.extend_from_slice(bytes);
        return &[];
    }
    let plain = bytes
        .iter()
        .position(|&b| special(b))
        .unwrap_or(bytes.len());
    out.extend_from_slice(&bytes[..plain]);
    &bytes[plain..]
}

/// Writes a MySQL quoted string with `mysql_real_escape_string` escapes.
pub(crate) fn mysql_quote(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    // The exact test is the cheaper one here (the compiler vectorises it; a range test
    // measured slower).
    let special = |b| matches!(b, 0 | b'\n' | b'\r' | 26 | b'\\' | b'\'' | b'"');
    let bytes = copy_plain(bytes, out, special, special);
    for &b in bytes {
        match b {
            0 => out.extend_from_slice(b"\\0"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            26 => out.extend_from_slice(b"\\Z"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'"' => out.extend_from_slice(b"\\\""),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
}

/// Writes a PostgreSQL string literal (NUL bytes, which PostgreSQL text cannot hold, dropped).
pub(crate) fn pg_quote(bytes: &[u8], std: bool, out: &mut Vec<u8>) {
    let needs_e = !std && bytes.contains(&b'\\');
    if needs_e {
        out.push(b'E');
    }
    out.push(b'\'');
    let special = |b| b == 0 || b == b'\'' || (needs_e && b == b'\\');
    let bytes = copy_plain(bytes, out, special, special);
    for &b in bytes {
        match b {
            0 => {}
            b'\'' => out.extend_from_slice(b"''"),
            b'\\' if needs_e => out.extend_from_slice(b"\\\\"),
            _ => out.push(b),
        }
    }
    out.push(b'\'');
}

/// Writes one COPY text-format field.
pub(crate) fn copy_escape(bytes: &[u8], out: &mut Vec<u8>) {
    let bytes = copy_plain(
        bytes,
        out,
        // The control bytes among them are all below 14.
        |b| b < 14 || b == b'\\',
        |b| matches!(b, 0 | b'\\' | b'\t' | b'\n' | b'\r' | 8 | 12 | 11),
    );
    for &b in bytes {
        match b {
            0 => {}
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            11 => out.extend_from_slice(b"\\v"),
            _ => out.push(b),
        }
    }
}

fn write_text(bytes: &[u8], ctx: Ctx, out: &mut Vec<u8>) {
    match ctx {
        Ctx::MySql => mysql_quote(bytes, out),
        Ctx::PgInsert { std } => pg_quote(lossy(bytes).as_bytes(), std, out),
        Ctx::Copy => copy_escape(lossy(bytes).as_bytes(), out),
    }
}

/// `bytes` as UTF-8 text, invalid sequences replaced by U+FFFD (`String::from_utf8_lossy`),
/// borrowing the common valid case after one validation pass.
fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Cuts `s` to at most `max` characters.
fn cut_chars(s: &str, max: Option<usize>) -> &str {
    match max {
        // A character takes at least one byte.
        Some(m) if s.len() <= m => s,
        Some(m) => match s.char_indices().nth(m) {
            Some((at, _)) => &s[..at],
            None => s,
        },
        None => s,
    }
}

fn looks_numeric(s: &[u8]) -> bool {
    let t = s.strip_prefix(b"-").unwrap_or(s);
    !t.is_empty()
        && t.iter().filter(|&&b| b == b'.').count() <= 1
        && t.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && t.iter().any(u8::is_ascii_digit)
}

/// `YYYY-MM-DD HH:MM:SS` of milliseconds since the Unix epoch (UTC).
pub(crate) fn format_datetime(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Writes a replacement (never [`Replacement::Unchanged`], which the caller copies).
pub(crate) fn write_replacement(
    r: &Replacement,
    col: Option<&Column>,
    ctx: Ctx,
    out: &mut Vec<u8>,
) {
    match r {
        Replacement::Unchanged | Replacement::Null | Replacement::Remove => write_null(ctx, out),
        Replacement::Str(s) => write_str(s, col, ctx, out),
        Replacement::Bytes(b) => write_bytes(b, col, ctx, out),
        Replacement::Int32(i) => write_display(i, out),
        Replacement::Int64(i) => write_display(i, out),
        Replacement::Number(n) => out.extend_from_slice(n.as_bytes()),
        Replacement::Double(f) => write_double(*f, ctx, out),
        Replacement::Bool(b) => write_bool(*b, ctx, out),
        Replacement::Binary { bytes, .. } => write_binary(bytes, ctx, out),
        Replacement::DateTime(ms) => {
            let s = format_datetime(*ms);
            write_text(s.as_bytes(), ctx, out);
        }
    }
}

/// Writes what [`anonymize_core::Anonymizer::apply_into`] wrote (`buf` holding its text or
/// bytes) as a value of `ctx`: the same bytes as [`write_replacement`] of
/// `written.to_replacement(buf)`, without allocating in the common case.
pub(crate) fn write_written(
    written: Written,
    buf: &[u8],
    col: Option<&Column>,
    ctx: Ctx,
    out: &mut Vec<u8>,
) {
    match written {
        Written::Unchanged | Written::Null | Written::Remove => write_null(ctx, out),
        // ASCII text with nothing to escape (nearly every pseudonym): one test, one copy.
        Written::Str if quiet(buf) => write_quiet(buf, col, ctx, out),
        // ASCII text needs no UTF-8 check.
        Written::Str if buf.is_ascii() => write_ascii(buf, col, ctx, out),
        // Transforms write UTF-8 text: the lossy view borrows `buf`.
        Written::Str => write_str(&lossy(buf), col, ctx, out),
        Written::Number if buf.is_ascii() => out.extend_from_slice(buf),
        Written::Bytes => write_bytes(buf, col, ctx, out),
        Written::Int32(i) => write_display(i, out),
        Written::Int64(i) => write_display(i, out),
        Written::Number => out.extend_from_slice(lossy(buf).as_bytes()),
        Written::Double(f) => write_double(f, ctx, out),
        Written::Bool(b) => write_bool(b, ctx, out),
        Written::Binary { .. } => write_binary(buf, ctx, out),
        Written::DateTime(ms) => {
            let s = format_datetime(ms);
            write_text(s.as_bytes(), ctx, out);
        }
    }
}

/// The null of `ctx`.
fn write_null(ctx: Ctx, out: &mut Vec<u8>) {
    out.extend_from_slice(if ctx == Ctx::Copy { b"\\N" } else { b"NULL" });
}

/// A value's `Display` text, written without an intermediate `String`.
fn write_display(v: impl std::fmt::Display, out: &mut Vec<u8>) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v}");
}

/// A text replacement, cut to the column's length; bare when the column is numeric and the
/// text a number.
fn write_str(s: &str, col: Option<&Column>, ctx: Ctx, out: &mut Vec<u8>) {
    let max = col.and_then(|c| c.max_chars);
    write_cut(cut_chars(s, max).as_bytes(), col, ctx, out);
}

/// [`write_str`] of ASCII text `s` (each character one byte, so the cut is by bytes).
fn write_ascii(s: &[u8], col: Option<&Column>, ctx: Ctx, out: &mut Vec<u8>) {
    write_cut(cut_ascii(s, col), col, ctx, out);
}

/// ASCII text `s` cut to its column's length (each character one byte).
#[inline]
fn cut_ascii<'s>(s: &'s [u8], col: Option<&Column>) -> &'s [u8] {
    let max = col.and_then(|c| c.max_chars);
    max.map_or(s, |m| &s[..s.len().min(m)])
}

/// Whether `s` is ASCII text that no context escapes: no control byte, no byte above 0x7f,
/// no quote, double quote or backslash (no byte of [`Class::Loud`]).
#[inline]
fn quiet(s: &[u8]) -> bool {
    !any_in(s, Class::Loud)
}

/// [`write_ascii`] of [`quiet`] text: quoting and escaping leave it as it is, so it is
/// copied in one piece (between quotes in an `INSERT`, bare in COPY).
#[inline]
fn write_quiet(s: &[u8], col: Option<&Column>, ctx: Ctx, out: &mut Vec<u8>) {
    let cut = cut_ascii(s, col);
    if col.is_some_and(|c| matches!(c.kind, ColKind::Integer | ColKind::Decimal)) {
        // Perhaps written bare: the general way decides.
        return write_cut(cut, col, ctx, out);
    }
    match ctx {
        Ctx::Copy => out.extend_from_slice(cut),
        Ctx::MySql | Ctx::PgInsert { .. } => {
            out.reserve(cut.len() + 2);
            out.push(b'\'');
            out.extend_from_slice(cut);
            out.push(b'\'');
        }
    }
}

/// Writes text already cut to its column's length (valid UTF-8): bare when the column is
/// numeric and the text a number, else quoted for `ctx`.
fn write_cut(s: &[u8], col: Option<&Column>, ctx: Ctx, out: &mut Vec<u8>) {
    let numeric_col = col.is_some_and(|c| matches!(c.kind, ColKind::Integer | ColKind::Decimal));
    if numeric_col && looks_numeric(s) {
        out.extend_from_slice(s);
    } else {
        // Already text: no second UTF-8 pass.
        match ctx {
            Ctx::MySql => mysql_quote(s, out),
            Ctx::PgInsert { std } => pg_quote(s, std, out),
            Ctx::Copy => copy_escape(s, out),
        }
    }
}

/// A raw-bytes replacement, written as a text literal.
fn write_bytes(b: &[u8], col: Option<&Column>, ctx: Ctx, out: &mut Vec<u8>) {
    let max = col.and_then(|c| c.max_chars);
    let text = String::from_utf8_lossy(b);
    let cut = cut_chars(&text, max);
    if ctx == Ctx::MySql && cut.len() == text.len() {
        mysql_quote(b, out);
    } else {
        write_text(cut.as_bytes(), ctx, out);
    }
}

/// A floating point replacement; non-finite values as each dialect allows.
fn write_double(f: f64, ctx: Ctx, out: &mut Vec<u8>) {
    if f.is_finite() {
        write_display(f, out);
    } else {
        let word: &[u8] = if f.is_nan() {
            b"NaN"
        } else if f > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        };
        match ctx {
            Ctx::MySql => out.extend_from_slice(b"NULL"),
            Ctx::PgInsert { std } => pg_quote(word, std, out),
            Ctx::Copy => out.extend_from_slice(word),
        }
    }
}

/// A boolean replacement.
fn write_bool(b: bool, ctx: Ctx, out: &mut Vec<u8>) {
    out.extend_from_slice(match (ctx, b) {
        (Ctx::MySql, true) => b"1",
        (Ctx::MySql, false) => b"0",
        (Ctx::PgInsert { .. }, true) => b"true",
        (Ctx::PgInsert { .. }, false) => b"false",
        (Ctx::Copy, true) => b"t",
        (Ctx::Copy, false) => b"f",
    })
}

/// A binary replacement, hex-encoded.
fn write_binary(bytes: &[u8], ctx: Ctx, out: &mut Vec<u8>) {
    match ctx {
        Ctx::MySql => {
            if bytes.is_empty() {
                out.extend_from_slice(b"''");
            } else {
                out.extend_from_slice(b"0x");
                hex_encode(bytes, out);
            }
        }
        Ctx::PgInsert { std } => {
            out.extend_from_slice(if std { b"'\\x" } else { b"E'\\\\x" });
            hex_encode(bytes, out);
            out.push(b'\'');
        }
        Ctx::Copy => {
            out.extend_from_slice(b"\\\\x");
            hex_encode(bytes, out);
        }
    }
}

/// A row's bytes as text, when they are valid UTF-8: a value borrowed from the row is then
/// text without a UTF-8 check of its own (one check of the whole row costs less than one per
/// value). Two words, passed in registers: with the row's bytes beside its text (four words,
/// passed through the stack) the 16-byte load of the copy made for each value's call stalled
/// on the 8-byte stores that wrote it (docs/performance.md, branch row26).
#[derive(Clone, Copy, Default)]
pub(crate) struct RowText<'b> {
    /// The row's bytes as text (`None`: not UTF-8, or no row).
    text: Option<&'b str>,
}

impl<'b> RowText<'b> {
    /// The row `bytes`, checked once.
    pub(crate) fn new(bytes: &'b [u8]) -> RowText<'b> {
        RowText { text: utf8(bytes) }
    }

    /// `part` as text when it lies within the row (compared by address: a live slice inside
    /// the row's bytes is a part of them) and the row is text; `None` otherwise, and the
    /// caller checks `part` itself.
    #[inline]
    fn get(&self, part: &'b [u8]) -> Option<&'b str> {
        let text = self.text?;
        let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
        text.get(start..start.checked_add(part.len())?)
    }

    /// [`text_value`] of `part`, without a UTF-8 check when the row gives its text.
    pub(crate) fn text_value(&self, part: &'b [u8], binary: bool) -> Value<'b> {
        match self.get(part) {
            Some(s) if !binary => Value::Str(s),
            _ => text_value(part, binary),
        }
    }
}

/// The [`Value`] of a decoded literal.
///
/// `scratch` receives unescaped bytes; the value borrows it or `raw`.
pub(crate) fn value_of<'b>(
    lit: Lit<'b>,
    col: Option<&Column>,
    scratch: &'b mut Vec<u8>,
    dialect: Dialect,
) -> Value<'b> {
    value_in_row(lit, col, scratch, dialect, RowText::default())
}

/// The body of the `'...'` literal `t` when reading it undoes nothing (no quote byte and no
/// backslash between the quotes) and its column does not read it as binary: then
/// [`value_in_row`] of the literal is [`RowText::text_value`] of the body in every dialect
/// and string mode, found without classifying the literal. `None` for anything else.
#[inline]
pub(crate) fn plain_string<'b>(t: &'b [u8], col: Option<&Column>) -> Option<&'b [u8]> {
    let [b'\'', body @ .., b'\''] = t else {
        return None;
    };
    if col.is_some_and(|c| c.kind == ColKind::Binary) || has_either(body, b'\'', b'\\') {
        return None;
    }
    Some(body)
}

/// `bytes` as text when they are valid UTF-8, as `std::str::from_utf8` decides: ASCII is
/// recognised first by [`ascii`], inlined (docs/performance.md, branch row25); other text (about
/// half the realistic rows carry an accented name) goes through `simdutf8`'s SIMD check.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if ascii(bytes) {
        // SAFETY: every ASCII byte sequence is valid UTF-8, which is all that
        // `from_utf8_unchecked` requires.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    }
}

/// Whether every byte of `bytes` is ASCII (`<[u8]>::is_ascii`): the bytes ORed together in
/// 8-byte words, sixteen bytes a step and one more step ending where `bytes` ends (steps may
/// overlap: every byte is ORed at least once), or two 8-byte or 4-byte words for shorter
/// ones, then one test of the high bits; no branch per word.
#[inline]
pub(crate) fn ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |w: &[u8; 8]| u64::from_le_bytes(*w);
    let pair = |w: &[u8; 16]| {
        let (lo, hi) = w.as_chunks::<8>().0.split_at(1);
        word(&lo[0]) | word(&hi[0])
    };
    let any = if let Some(last) = bytes.last_chunk::<16>() {
        let (steps, _) = bytes.as_chunks::<16>();
        steps.iter().fold(pair(last), |any, w| any | pair(w))
    } else if let (Some(a), Some(b)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        word(a) | word(b)
    } else if let (Some(a), Some(b)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*a) | u32::from_le_bytes(*b))
    } else {
        bytes.iter().fold(0, |any, &b| any | u64::from(b))
    };
    any & HIGH == 0
}

/// [`value_of`] a literal of the row `row` (a value with nothing to unescape is not checked
/// for UTF-8 again when the row is text).
pub(crate) fn value_in_row<'b>(
    lit: Lit<'b>,
    col: Option<&Column>,
    scratch: &'b mut Vec<u8>,
    dialect: Dialect,
    row: RowText<'b>,
) -> Value<'b> {
    let binary_col = col.is_some_and(|c| c.kind == ColKind::Binary);
    match lit {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(b),
        Lit::Other => Value::Other,
        Lit::Number(n) => number_value(n),
        Lit::Hex(d) => {
            if hex_decode(d, scratch) {
                Value::Binary {
                    subtype: 0,
                    bytes: scratch,
                }
            } else {
                Value::Other
            }
        }
        Lit::Str {
            body,
            quote,
            escapes,
            binary,
        } => {
            let binary = binary || binary_col;
            let bytea = dialect.bytea() && binary_col;
            if !bytea && !needs_unescape(body, quote, escapes, dialect) {
                // Nothing to undo (nearly every value): the value borrows the literal.
                return row.text_value(body, binary);
            }
            if dialect.bytea() {
                pg_unescape(body, escapes, scratch);
            } else {
                mysql_unescape(body, quote, scratch);
            }
            if dialect.bytea() && binary_col {
                return bytea_value(scratch);
            }
            text_value(scratch, binary)
        }
    }
}

/// Whether undoing the escapes of a quoted literal's `body` changes it: it holds a quote
/// byte (doubled) or, where backslashes escape, a backslash. MySQL's [`mysql_unescape`]
/// undoes backslashes whatever `escapes` says; PostgreSQL's [`pg_unescape`] only with it.
fn needs_unescape(body: &[u8], quote: u8, escapes: bool, dialect: Dialect) -> bool {
    if dialect.bytea() {
        let quote = b'\'';
        if escapes {
            has_either(body, quote, b'\\')
        } else {
            has_either(body, quote, quote)
        }
    } else {
        has_either(body, quote, b'\\')
    }
}

/// Values up to this long are searched by a loop the compiler vectorises; longer ones by
/// `memchr`, whose set-up costs more than the search of a short value.
const SHORT: usize = 64;

/// Whether `hay` holds the byte `a` or `b`.
#[inline(always)]
pub(crate) fn has_either(hay: &[u8], a: u8, b: u8) -> bool {
    if hay.len() <= SHORT {
        any_in(hay, Class::Either(a, b))
    } else {
        memchr::memchr2(a, b, hay).is_some()
    }
}

/// A number literal: `Int64` when it is a plain integer that fits, else `Number`.
pub(crate) fn number_value(n: &[u8]) -> Value<'_> {
    let Ok(text) = std::str::from_utf8(n) else {
        return Value::Other;
    };
    match text.parse::<i64>() {
        Ok(i) if !text.starts_with('+') => Value::Int64(i),
        _ => Value::Number(text),
    }
}

/// Text bytes as `Str` (UTF-8), `Bytes` (not UTF-8) or, for binary columns, `Binary`.
pub(crate) fn text_value(bytes: &[u8], binary: bool) -> Value<'_> {
    if binary {
        return Value::Binary { subtype: 0, bytes };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(_) => Value::Bytes(bytes),
    }
}

/// A `bytea` value in hex output format (`\x...`), decoded in place.
pub(crate) fn bytea_value(scratch: &mut Vec<u8>) -> Value<'_> {
    if scratch.starts_with(b"\\x") {
        let digits = scratch[2..].to_vec();
        if hex_decode(&digits, scratch) {
            return Value::Binary {
                subtype: 0,
                bytes: scratch,
            };
        }
        return Value::Other;
    }
    Value::Binary {
        subtype: 0,
        bytes: scratch,
    }
}

#[cfg(test)]
mod tests;
