//! What may stand between statements: whitespace, line comments and block comments, which
//! are held with the next statement (and dropped with it), and the two things that look like
//! comments but are not trivia: MySQL executed comments (`/*!40101 ... */`, statements) and
//! MariaDB's sandbox line (`/*M!999999\- enable the sandbox mode */`, never dropped).

use super::rules::{line_comment_at, versioned_comment_open};
use crate::Dialect;

/// What the bytes at the start of the input are, between statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trivia {
    /// This many whitespace bytes.
    Space(usize),
    /// A comment to the end of the line.
    LineComment,
    /// A `/* ... */` comment (nested where the dialect nests them).
    Block,
    /// MariaDB's sandbox line, a comment to keep whatever follows.
    Sandbox,
    /// Not trivia: a statement starts here (or the input ends).
    None,
}

/// Bytes of look-ahead [`trivia_at`] needs to decide (fewer only at the end of the input).
pub(crate) const TRIVIA_LOOKAHEAD: usize = 12;

/// The opening of MariaDB's sandbox line.
const SANDBOX: &[u8] = b"/*M!999999";

/// Classifies the start of `a` (at least [`TRIVIA_LOOKAHEAD`] bytes unless the input ends).
pub(crate) fn trivia_at(dialect: Dialect, a: &[u8]) -> Trivia {
    let Some(&b) = a.first() else {
        return Trivia::None;
    };
    if b.is_ascii_whitespace() {
        return Trivia::Space(a.iter().take_while(|b| b.is_ascii_whitespace()).count());
    }
    if line_comment_at(dialect, a) {
        return Trivia::LineComment;
    }
    if a.starts_with(b"/*") {
        let versioned = versioned_comment_open(dialect, a).is_some();
        // `/*M!100000 INSERT ... */` is a statement like `/*!40101 ...`; only the sandbox
        // line (`/*M!999999\- enable the sandbox mode */`) is not.
        if versioned && a.starts_with(SANDBOX) {
            return Trivia::Sandbox;
        }
        if versioned {
            return Trivia::None;
        }
        return Trivia::Block;
    }
    Trivia::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_dialect() {
        let my = Dialect::MySql;
        let pg = Dialect::Postgres;
        assert_eq!(trivia_at(my, b" \n\tx"), Trivia::Space(3));
        assert_eq!(trivia_at(my, b"-- c"), Trivia::LineComment);
        assert_eq!(trivia_at(my, b"--1;"), Trivia::None);
        assert_eq!(trivia_at(pg, b"--1;"), Trivia::LineComment);
        assert_eq!(trivia_at(my, b"# c\n"), Trivia::LineComment);
        assert_eq!(trivia_at(pg, b"# c\n"), Trivia::None);
        assert_eq!(trivia_at(my, b"/*!40101 SET"), Trivia::None);
        assert_eq!(trivia_at(my, b"/*M!999999\\-"), Trivia::Sandbox);
        assert_eq!(trivia_at(my, b"/*M!100000 INSERT"), Trivia::None);
        assert_eq!(trivia_at(pg, b"/*M!999999\\-"), Trivia::Block);
        assert_eq!(trivia_at(my, b"/* c */"), Trivia::Block);
        assert_eq!(trivia_at(my, b"SELECT"), Trivia::None);
    }
}
