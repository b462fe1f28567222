//! The two SQL dialects, what sets them apart (as capability methods, so that no other module
//! tests "is this MySQL?"), and their detection from a dump's first bytes.

/// The SQL dialect of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// MySQL or MariaDB (`mysqldump`, `mariadb-dump`).
    MySql,
    /// PostgreSQL plain format (`pg_dump`, `pg_dumpall`).
    Postgres,
}

impl Dialect {
    /// `` `name` `` quotes an identifier.
    pub(crate) fn backtick_idents(self) -> bool {
        self == Dialect::MySql
    }

    /// Backslash escapes are always active inside quoted strings (MySQL without
    /// `NO_BACKSLASH_ESCAPES`); PostgreSQL has them in `E'...'` strings and when
    /// `standard_conforming_strings` is off.
    pub(crate) fn always_backslash_escapes(self) -> bool {
        self == Dialect::MySql
    }

    /// `E'...'` escape strings exist.
    pub(crate) fn e_strings(self) -> bool {
        self == Dialect::Postgres
    }

    /// `#` starts a comment to the end of the line.
    pub(crate) fn hash_comments(self) -> bool {
        self == Dialect::MySql
    }

    /// `--` starts a comment only when followed by whitespace or a control character
    /// (MySQL: `1--1` is `1 - -1`).
    pub(crate) fn dash_comment_needs_space(self) -> bool {
        self == Dialect::MySql
    }

    /// `/*!NNNNN ... */` and `/*M!NNNNN ... */` are executed comments.
    pub(crate) fn versioned_comments(self) -> bool {
        self == Dialect::MySql
    }

    /// Block comments nest (`/* a /* b */ c */`).
    pub(crate) fn nested_block_comments(self) -> bool {
        self == Dialect::Postgres
    }

    /// `$tag$ ... $tag$` quotes a body.
    pub(crate) fn dollar_quotes(self) -> bool {
        self == Dialect::Postgres
    }

    /// The statement delimiter ends a statement even inside parentheses (PostgreSQL's
    /// `CREATE RULE ... DO (a; b)` holds several statements in parentheses).
    pub(crate) fn delimiter_inside_parens(self) -> bool {
        self == Dialect::MySql
    }

    /// The client's `DELIMITER ;;` command changes the statement delimiter.
    pub(crate) fn client_delimiter(self) -> bool {
        self == Dialect::MySql
    }

    /// psql's backslash meta-commands (`\connect`, `\restrict`) appear as lines.
    pub(crate) fn backslash_commands(self) -> bool {
        self == Dialect::Postgres
    }

    /// `COPY ... FROM stdin` data blocks.
    pub(crate) fn copy_blocks(self) -> bool {
        self == Dialect::Postgres
    }

    /// `VALUE` is a synonym of `VALUES` in `INSERT`.
    pub(crate) fn value_keyword(self) -> bool {
        self == Dialect::MySql
    }

    /// MySQL's column type shapes: `year` is an integer, `AS (expr) VIRTUAL|STORED|PERSISTENT`
    /// is a generated column.
    pub(crate) fn mysql_types(self) -> bool {
        self == Dialect::MySql
    }

    /// A binary column's string literal is `bytea` text (`\x...` hex or escapes), not the raw
    /// bytes; string escapes are PostgreSQL's (`E'...'`) rather than MySQL's.
    pub(crate) fn bytea(self) -> bool {
        self == Dialect::Postgres
    }

    /// `true`/`false` are boolean literals (MySQL reads them as 1/0 integers).
    pub(crate) fn bool_literals(self) -> bool {
        self == Dialect::Postgres
    }

    /// Character set introducers (`_binary'...'`, `_utf8mb4'...'`).
    pub(crate) fn introducers(self) -> bool {
        self == Dialect::MySql
    }

    /// An unqualified name belongs to the current database (`USE db`), the name's first part
    /// being a database; PostgreSQL's first part is a schema.
    pub(crate) fn names_in_current_db(self) -> bool {
        self == Dialect::MySql
    }

    /// Every relation named by a statement is a table for `collections` selection (MySQL
    /// has no sequences; views are filtered like tables).
    pub(crate) fn every_relation_is_table(self) -> bool {
        self == Dialect::MySql
    }

    /// Column names are case-insensitive (MySQL: a rule `email` matches a column `Email`).
    pub(crate) fn case_insensitive_columns(self) -> bool {
        self == Dialect::MySql
    }

    /// DDL comes before, and indexes, constraints and ownership after the data (pg_dump), so
    /// the pre-data DDL is held until the first data statement when anything is excluded.
    pub(crate) fn ownership_after_data(self) -> bool {
        self == Dialect::Postgres
    }
}

/// The dialect with the session settings that change how its text is read: PostgreSQL's
/// `standard_conforming_strings` and MySQL's `ANSI_QUOTES` (`SQL_MODE` `ANSI`, `ORACLE`,
/// `POSTGRESQL`, ... as `mysqldump --compatible=ansi` sets in its header). Derefs to the
/// [`Dialect`] for everything the settings do not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// The dialect.
    pub(crate) dialect: Dialect,
    /// PostgreSQL `standard_conforming_strings` (on: no backslash escapes in `'...'`).
    pub(crate) std_strings: bool,
    /// MySQL `ANSI_QUOTES`: `"..."` quotes an identifier, not a string.
    pub(crate) ansi_quotes: bool,
    /// The dump's text is Latin-1 (`SET NAMES latin1`, `client_encoding = 'LATIN1'`), not
    /// UTF-8: values are decoded from it for transforms and encoded back.
    pub(crate) latin1: bool,
}

#[cfg(test)]
impl Syntax {
    /// Both dialects, each with `standard_conforming_strings` on and off: the syntaxes a
    /// test of the lexer or the literals runs across.
    pub(crate) fn every() -> Vec<Syntax> {
        let mut all = Vec::new();
        for dialect in [Dialect::MySql, Dialect::Postgres] {
            for std_strings in [true, false] {
                all.push(Syntax {
                    std_strings,
                    ..dialect.into()
                });
            }
        }
        all
    }
}

/// Whether a client character set name is Latin-1 (MySQL's `latin1` is Windows-1252, read
/// here as ISO 8859-1, which agrees on every letter).
pub(crate) fn is_latin1(charset: &str) -> bool {
    let c = charset.trim().trim_matches('\'').to_ascii_lowercase();
    [
        "latin1",
        "cp1252",
        "win1252",
        "windows-1252",
        "iso-8859-1",
        "iso88591",
    ]
    .contains(&c.as_str())
}

impl Syntax {
    /// `"..."` is a string literal (MySQL without `ANSI_QUOTES`), not an identifier.
    pub(crate) fn double_quoted_strings(self) -> bool {
        self.dialect == Dialect::MySql && !self.ansi_quotes
    }
}

impl From<Dialect> for Syntax {
    /// The dialect with the settings dump tools start with.
    fn from(dialect: Dialect) -> Syntax {
        Syntax {
            dialect,
            std_strings: true,
            ansi_quotes: false,
            latin1: false,
        }
    }
}

impl std::ops::Deref for Syntax {
    type Target = Dialect;

    fn deref(&self) -> &Dialect {
        &self.dialect
    }
}

/// True when the comma-separated MySQL `SQL_MODE` list `modes` makes `"` quote identifiers
/// (MySQL and MariaDB documentation of `SQL_MODE`: `ANSI_QUOTES`, and the combination modes
/// that include it), in any case.
///
/// ```
/// assert!(sql_dump::mode_has_ansi_quotes("NO_AUTO_VALUE_ON_ZERO,ansi_quotes"));
/// assert!(!sql_dump::mode_has_ansi_quotes("NO_AUTO_VALUE_ON_ZERO"));
/// ```
pub fn mode_has_ansi_quotes(modes: &str) -> bool {
    modes.split(',').any(|m| {
        let m = m.trim();
        [
            "ANSI_QUOTES",
            "ANSI",
            "ORACLE",
            "POSTGRESQL",
            "MSSQL",
            "DB2",
            "MAXDB",
        ]
        .iter()
        .any(|a| m.eq_ignore_ascii_case(a))
    })
}

/// Detects the dialect from the first bytes of a dump (a few KiB are plenty).
///
/// ```
/// use sql_dump::{detect_dialect, Dialect};
/// assert_eq!(detect_dialect(b"-- MySQL dump 10.13"), Some(Dialect::MySql));
/// assert_eq!(detect_dialect(b"--\n-- PostgreSQL database dump\n--\n"), Some(Dialect::Postgres));
/// assert_eq!(detect_dialect(b"\x1f\x8b\x08"), None);
/// ```
pub fn detect_dialect(first_bytes: &[u8]) -> Option<Dialect> {
    let has = |n: &[u8]| memchr::memmem::find(first_bytes, n).is_some();
    let mysql = [
        &b"-- MySQL dump"[..],
        b"-- MariaDB dump",
        b"/*M!999999",
        b"/*!40101 SET",
        b"/*!40103 SET",
        b"/*!40014 SET",
        b"LOCK TABLES `",
        b"CREATE TABLE `",
        b"INSERT INTO `",
    ];
    let postgres = [
        &b"-- PostgreSQL database dump"[..],
        b"-- PostgreSQL database cluster dump",
        b"SET standard_conforming_strings",
        b"pg_catalog.set_config",
        b"\n\\restrict ",
        b"\n\\connect ",
        b") FROM stdin;",
    ];
    let m = mysql.iter().position(|n| has(n));
    let p = postgres.iter().position(|n| has(n));
    match (m, p) {
        (Some(_), None) => Some(Dialect::MySql),
        (None, Some(_)) => Some(Dialect::Postgres),
        (Some(_), Some(_)) => {
            // Both kinds of markers: the earliest one decides.
            let first = |set: &[&[u8]]| {
                set.iter()
                    .filter_map(|n| memchr::memmem::find(first_bytes, n))
                    .min()
            };
            if first(&mysql) < first(&postgres) {
                Some(Dialect::MySql)
            } else {
                Some(Dialect::Postgres)
            }
        }
        (None, None) => None,
    }
}
