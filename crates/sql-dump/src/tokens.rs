//! A small tokenizer for statement heads and DDL held completely in memory. Its lexical
//! rules (quotes, escapes, comments) are the ones of [`crate::lex::rules`].

use std::borrow::Cow;

use crate::dialect::Syntax;
use crate::lex::rules::{block_comment_end, line_comment_at, quote_at, versioned_comment_open};
use crate::lex::string_end;
#[cfg(test)]
use crate::Dialect;

pub(crate) use crate::lex::rules::word_byte;

/// One token of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A bare word (keyword, unquoted identifier or number).
    Word(&'a [u8]),
    /// A quoted identifier, unquoted.
    Ident(Cow<'a, [u8]>),
    /// A string literal's raw content between the quotes (doubled quotes undone).
    Str(Cow<'a, [u8]>),
    /// Any other single byte (punctuation, operators).
    Punct(u8),
}

impl Tok<'_> {
    /// True for the bare word `kw` (ASCII case-insensitive).
    pub(crate) fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw.as_bytes()))
    }

    /// The name this token spells when used as an identifier.
    pub(crate) fn ident(&self) -> Option<&[u8]> {
        match self {
            Tok::Word(w) => Some(w),
            Tok::Ident(i) => Some(i),
            _ => None,
        }
    }
}

/// A token and the byte range it came from.
#[derive(Debug, Clone)]
pub(crate) struct Spanned<'a> {
    pub(crate) tok: Tok<'a>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Undoes doubled quotes (`doubled`: the body has some).
fn unquote(body: &[u8], q: u8, doubled: bool) -> Cow<'_, [u8]> {
    if !doubled {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        out.push(body[i]);
        if body[i] == q && i + 1 < body.len() && body[i + 1] == q {
            i += 1;
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Tokenizes `sql`, skipping whitespace and comments, up to `max` tokens. MySQL versioned
/// comments (`/*!40101 ... */`, `/*M!...`) are read as their contents.
pub(crate) fn tokenize(sql: &[u8], syntax: impl Into<Syntax>, max: usize) -> Vec<Spanned<'_>> {
    Tokens::new(sql, syntax).take(max).collect()
}

/// An iterator over the tokens of `sql` (see [`tokenize`]).
pub(crate) struct Tokens<'a> {
    sql: &'a [u8],
    syntax: Syntax,
    i: usize,
    versioned: bool,
}

impl<'a> Tokens<'a> {
    /// Tokens of `sql`.
    pub(crate) fn new(sql: &'a [u8], syntax: impl Into<Syntax>) -> Tokens<'a> {
        Tokens {
            sql,
            syntax: syntax.into(),
            i: 0,
            versioned: false,
        }
    }

    /// A quoted token starting at `i`: the token and the index after it.
    fn quoted(&self, i: usize, q: u8, esc: bool) -> (Tok<'a>, usize) {
        let sql = self.sql;
        let n = sql.len();
        // The index after the string, and where its body ends (the closing quote, if any).
        let (end, close) = match string_end(sql, i + 1, q, esc, true) {
            Ok(end) => (end, end - 1),
            Err(_) => (n, n),
        };
        let body = &sql[(i + 1).min(close)..close];
        let doubled = body.windows(2).any(|w| w[0] == q && w[1] == q);
        let tok = if q == b'\'' || (q == b'"' && self.syntax.double_quoted_strings()) {
            Tok::Str(unquote(body, q, doubled))
        } else {
            Tok::Ident(unquote(body, q, doubled))
        };
        (tok, end)
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Spanned<'a>;

    fn next(&mut self) -> Option<Spanned<'a>> {
        let sql = self.sql;
        let dialect = self.syntax.dialect;
        let n = sql.len();
        let mut i = self.i;
        let result = loop {
            if i >= n {
                break None;
            }
            let b = sql[i];
            if b.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if line_comment_at(dialect, &sql[i..]) {
                i = memchr::memchr(b'\n', &sql[i..]).map_or(n, |k| i + k + 1);
                continue;
            }
            if b == b'/' && sql.get(i + 1) == Some(&b'*') {
                if let Some(open) = versioned_comment_open(dialect, &sql[i..]) {
                    if !self.versioned {
                        self.versioned = true;
                        i += open;
                        continue;
                    }
                }
                i = block_comment_end(dialect, sql, i + 2, 1).unwrap_or(n);
                continue;
            }
            if self.versioned && b == b'*' && sql.get(i + 1) == Some(&b'/') {
                self.versioned = false;
                i += 2;
                continue;
            }
            let start = i;
            if let Some((q, esc)) = quote_at(self.syntax, sql, i) {
                let (tok, end) = self.quoted(i, q, esc);
                i = end;
                break Some(Spanned { tok, start, end });
            }
            if word_byte(b) {
                let mut j = i;
                while j < n && word_byte(sql[j]) {
                    j += 1;
                }
                let tok = Tok::Word(&sql[i..j]);
                i = j;
                break Some(Spanned { tok, start, end: j });
            }
            i += 1;
            break Some(Spanned {
                tok: Tok::Punct(b),
                start,
                end: i,
            });
        };
        self.i = i;
        result
    }
}

/// A possibly qualified relation name: `schema.table`, `db.table` or `table`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QName {
    /// Schema (PostgreSQL) or database (MySQL).
    pub schema: Option<String>,
    /// The table (or sequence, view, index) name.
    pub name: String,
}

impl QName {
    /// `schema.name` or `name`, for messages and summaries.
    pub fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Reads a dotted name at `toks[i]`: returns its parts and the index after it.
pub(crate) fn dotted(toks: &[Spanned<'_>], i: usize) -> Option<(Vec<String>, usize)> {
    let mut parts = vec![text(toks.get(i)?.tok.ident()?)];
    let mut j = i + 1;
    while toks.get(j).map(|t| &t.tok) == Some(&Tok::Punct(b'.')) {
        match toks.get(j + 1).and_then(|t| t.tok.ident()) {
            Some(p) => parts.push(text(p)),
            None => break,
        }
        j += 2;
    }
    Some((parts, j))
}

/// Reads a relation name at `toks[i]`, defaulting its schema to `default_schema`.
pub(crate) fn qname(
    toks: &[Spanned<'_>],
    i: usize,
    default_schema: Option<&str>,
) -> Option<(QName, usize)> {
    let (mut parts, next) = dotted(toks, i)?;
    let name = parts.pop()?;
    let schema = parts.pop().or_else(|| default_schema.map(str::to_owned));
    Some((QName { schema, name }, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_comments_are_transparent() {
        let toks = tokenize(
            b"/*!40000 ALTER TABLE `a``b` DISABLE KEYS */;",
            Dialect::MySql,
            99,
        );
        assert!(toks[0].tok.is("alter"));
        assert_eq!(toks[2].tok, Tok::Ident(Cow::Owned(b"a`b".to_vec())));
        assert_eq!(toks.last().unwrap().tok, Tok::Punct(b';'));
    }

    #[test]
    fn nested_comments_are_skipped_whole_in_postgres() {
        let toks = tokenize(
            b"/* a /* b */ CREATE TABLE x */ SELECT 1",
            Dialect::Postgres,
            9,
        );
        assert!(toks[0].tok.is("select"), "{toks:?}");
        let toks = tokenize(b"/* a /* b */ SELECT 1", Dialect::MySql, 9);
        assert!(toks[0].tok.is("select"), "{toks:?}");
    }

    #[test]
    fn qualified_names() {
        let toks = tokenize(
            b"COPY public.\"my tab\" (a) FROM stdin;",
            Dialect::Postgres,
            99,
        );
        let (q, next) = qname(&toks, 1, None).unwrap();
        assert_eq!(q.schema.as_deref(), Some("public"));
        assert_eq!(q.name, "my tab");
        assert_eq!(toks[next].tok, Tok::Punct(b'('));
    }

    #[test]
    fn mysql_double_dash_needs_a_space() {
        let toks = tokenize(b"SELECT 1--1, 2 -- c\n, 3", Dialect::MySql, 99);
        let words: Vec<_> = toks.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(
            words,
            [
                Tok::Word(b"SELECT"),
                Tok::Word(b"1"),
                Tok::Punct(b'-'),
                Tok::Punct(b'-'),
                Tok::Word(b"1"),
                Tok::Punct(b','),
                Tok::Word(b"2"),
                Tok::Punct(b','),
                Tok::Word(b"3"),
            ]
        );
        let pg = tokenize(b"SELECT 1--1, 2", Dialect::Postgres, 99);
        assert_eq!(pg.len(), 2);
    }

    #[test]
    fn postgres_escape_strings_end_at_their_quote() {
        let toks = tokenize(b"SELECT E'it\\'s', 'a\\', x", Dialect::Postgres, 99);
        assert_eq!(toks[2].tok, Tok::Str(Cow::Borrowed(b"it\\'s")));
        assert_eq!(toks[4].tok, Tok::Str(Cow::Borrowed(b"a\\")));
        assert!(toks[6].tok.is("x"));
        // With standard_conforming_strings off, plain strings take escapes too.
        let off = Syntax {
            std_strings: false,
            ..Dialect::Postgres.into()
        };
        let toks = tokenize(b"SELECT 'a\\'b', x", off, 99);
        assert_eq!(toks[1].tok, Tok::Str(Cow::Borrowed(b"a\\'b")));
        assert!(toks[3].tok.is("x"));
        // MySQL: doubled quotes and escapes.
        let toks = tokenize(b"'it''s' \"a\\\"b\" `c``d`", Dialect::MySql, 99);
        assert_eq!(toks[0].tok, Tok::Str(Cow::Owned(b"it's".to_vec())));
        assert_eq!(toks[1].tok, Tok::Str(Cow::Borrowed(b"a\\\"b")));
        assert_eq!(toks[2].tok, Tok::Ident(Cow::Owned(b"c`d".to_vec())));
    }
}
