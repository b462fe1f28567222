//! The lexical rules every scanner of the crate shares: what continues a word, which quotes
//! take backslash escapes, what starts a comment. The statement scanner ([`super::Lexer`]),
//! the tokenizer, the tuple splitter, the trivia reader and the literal parser all ask here,
//! so they cannot disagree.

use crate::dialect::Syntax;
use crate::Dialect;

/// True for a byte that continues a bare word (keyword, identifier, number, `$1`).
pub(crate) fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether backslash escapes are active in the `'...'` string whose opening quote follows
/// `p1` (and `p2` before it): always in MySQL; in PostgreSQL in `E'...'` strings (an `E` that
/// is not the end of a longer word) and when `standard_conforming_strings` is off.
pub(crate) fn single_quote_escapes(syntax: Syntax, p1: u8, p2: u8) -> bool {
    syntax.always_backslash_escapes()
        || !syntax.std_strings
        || (syntax.e_strings() && (p1 == b'E' || p1 == b'e') && !word_byte(p2))
}

/// How a quote byte at `sql[i]` opens a quoted token: `(quote, escapes)`, or `None` when
/// the byte does not quote anything in this dialect.
pub(crate) fn quote_at(syntax: impl Into<Syntax>, sql: &[u8], i: usize) -> Option<(u8, bool)> {
    let syntax = syntax.into();
    let before = |back: usize| if i >= back { sql[i - back] } else { b' ' };
    match sql[i] {
        b'\'' => Some((b'\'', single_quote_escapes(syntax, before(1), before(2)))),
        b'"' => Some((b'"', syntax.double_quoted_strings())),
        b'`' if syntax.backtick_idents() => Some((b'`', false)),
        _ => None,
    }
}

/// Whether `-` followed by `next` and `after` starts a `--` comment (`None`: the input
/// ends there). MySQL wants whitespace or a control character after the two dashes, so
/// that `1--1` stays an expression.
pub(crate) fn dash_comment(dialect: Dialect, next: Option<u8>, after: Option<u8>) -> bool {
    next == Some(b'-') && (!dialect.dash_comment_needs_space() || after.is_none_or(|c| c <= b' '))
}

/// Whether the bytes at the start of `a` begin a comment that runs to the end of the line.
pub(crate) fn line_comment_at(dialect: Dialect, a: &[u8]) -> bool {
    match a.first() {
        Some(b'-') => dash_comment(dialect, a.get(1).copied(), a.get(2).copied()),
        Some(b'#') => dialect.hash_comments(),
        _ => false,
    }
}

/// Length of the opening of a MySQL executed comment at the start of `a` (`/*!40101`,
/// `/*M!100101`, `/*!`), or `None`.
pub(crate) fn versioned_comment_open(dialect: Dialect, a: &[u8]) -> Option<usize> {
    if !dialect.versioned_comments() || !a.starts_with(b"/*") {
        return None;
    }
    let bang = a.get(2) == Some(&b'!') || (a.get(2) == Some(&b'M') && a.get(3) == Some(&b'!'));
    if !bang {
        return None;
    }
    let mut j = 2;
    while j < a.len() && (a[j] == b'!' || a[j] == b'M') {
        j += 1;
    }
    while j < a.len() && a[j].is_ascii_digit() {
        j += 1;
    }
    Some(j)
}

/// Finds the end of the `/* ... */` comment whose body continues at `a[from..]` with `depth`
/// comments open, as the statement lexer does: nested where the dialect nests them
/// (PostgreSQL), up to the first `*/` elsewhere. Returns `Ok(index just past the comment)`,
/// or `Err((resume, depth))` when `a` ends first: call again with more bytes from `resume`.
pub(crate) fn block_comment_end(
    dialect: Dialect,
    a: &[u8],
    from: usize,
    mut depth: u32,
) -> Result<usize, (usize, u32)> {
    let mut i = from;
    while i + 1 < a.len() {
        if a[i] == b'*' && a[i + 1] == b'/' {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return Ok(i);
            }
        } else if dialect.nested_block_comments() && a[i] == b'/' && a[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    Err((i, depth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_by_dialect() {
        assert!(line_comment_at(Dialect::MySql, b"-- x"));
        assert!(line_comment_at(Dialect::MySql, b"--\n"));
        assert!(line_comment_at(Dialect::MySql, b"--"));
        assert!(!line_comment_at(Dialect::MySql, b"--1"));
        assert!(line_comment_at(Dialect::Postgres, b"--1"));
        assert!(line_comment_at(Dialect::MySql, b"# x"));
        assert!(!line_comment_at(Dialect::Postgres, b"# x"));
        assert_eq!(
            versioned_comment_open(Dialect::MySql, b"/*!40101 SET"),
            Some(8)
        );
        assert_eq!(
            versioned_comment_open(Dialect::MySql, b"/*M!100101 S"),
            Some(10)
        );
        assert_eq!(
            versioned_comment_open(Dialect::Postgres, b"/*!40101 S"),
            None
        );
        assert_eq!(versioned_comment_open(Dialect::MySql, b"/* x */"), None);
    }

    #[test]
    fn block_comments_nest_where_the_dialect_nests_them() {
        let s = b"/* a /* b */ c */ SELECT";
        assert_eq!(block_comment_end(Dialect::Postgres, s, 2, 1), Ok(17));
        assert_eq!(block_comment_end(Dialect::MySql, s, 2, 1), Ok(12));
        // Resumable: a cut between `*` and `/` resumes at the `*`, depth kept.
        assert_eq!(
            block_comment_end(Dialect::Postgres, &s[..11], 2, 1),
            Err((10, 2))
        );
        assert_eq!(block_comment_end(Dialect::Postgres, s, 10, 2), Ok(17));
    }

    #[test]
    fn escapes_by_dialect_and_prefix() {
        let pg = Dialect::Postgres;
        let pg_off = Syntax {
            std_strings: false,
            ..pg.into()
        };
        assert_eq!(quote_at(pg, b"E'a'", 1), Some((b'\'', true)));
        assert_eq!(quote_at(pg, b"xE'a'", 2), Some((b'\'', false)));
        assert_eq!(quote_at(pg, b" 'a'", 1), Some((b'\'', false)));
        assert_eq!(quote_at(pg_off, b" 'a'", 1), Some((b'\'', true)));
        assert_eq!(quote_at(pg, b"\"a\"", 0), Some((b'"', false)));
        assert_eq!(quote_at(pg, b"`a`", 0), None);
        let my = Dialect::MySql;
        assert_eq!(quote_at(my, b"'a'", 0), Some((b'\'', true)));
        assert_eq!(quote_at(my, b"\"a\"", 0), Some((b'"', true)));
        assert_eq!(quote_at(my, b"`a`", 0), Some((b'`', false)));
        let ansi = Syntax {
            ansi_quotes: true,
            ..my.into()
        };
        assert_eq!(quote_at(ansi, b"\"a\"", 0), Some((b'"', false)));
    }
}
