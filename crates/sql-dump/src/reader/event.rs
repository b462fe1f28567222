//! The typed events [`super::SqlReader`] yields. They borrow the reader's buffers until the
//! next call; values are raw bytes as the dump spells them, with a `decode` into a scratch
//! buffer.

use anonymize_core::PlanNode;

use crate::ddl::TableDef;
use crate::dialect::Syntax;
use crate::lex::rules::{quote_at, word_byte};
use crate::lex::tuple::trim_span;
use crate::literal::{copy_unescape, hex_decode, mysql_unescape, parse_literal, pg_unescape, Lit};
use crate::tokens::{QName, Tok, Tokens};
use crate::Dialect;

/// One thing met in a dump, in input order.
#[derive(Debug)]
///
/// `'r` is the borrow of the reader (until the next call); `'a` the rules', which outlive it.
pub enum Event<'r, 'a> {
    /// A comment between statements (`-- ...`, `# ...` or `/* ... */`, markers included).
    Comment(&'r [u8]),
    /// A session setting changed (by the statement or comment just read).
    Session(SessionChange<'r>),
    /// A `CREATE TABLE` was read (after its [`Event::Statement`]).
    Table(TableInfo<'r>),
    /// A statement other than a data statement, whole.
    Statement(Statement<'r>),
    /// A data statement starts: an `INSERT ... VALUES` or a `COPY ... FROM stdin` block.
    Rows(RowsInfo<'r, 'a>),
    /// One row of the current data statement.
    Row(Row<'r, 'a>),
}

/// A session setting that changes how the rest of the dump reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionChange<'r> {
    /// The schema (PostgreSQL `search_path`) or database (MySQL `USE`, or the `-- Host: h
    /// Database: d` header of a single-database dump) of unqualified names.
    Schema(Option<&'r str>),
    /// MySQL `ANSI_QUOTES` (from `SQL_MODE`): `"` quotes identifiers.
    AnsiQuotes(bool),
    /// PostgreSQL `standard_conforming_strings`: `'...'` strings take no backslash escapes.
    StdStrings(bool),
    /// The client character set is Latin-1.
    Latin1(bool),
    /// The MySQL client delimiter (`DELIMITER ;;`).
    Delimiter(&'r [u8]),
}

/// A table definition: its name and its columns (a partition's or `INHERITS` child's
/// include those it takes from above).
#[derive(Debug, Clone, Copy)]
pub struct TableInfo<'r> {
    pub(super) name: &'r QName,
    pub(super) def: &'r TableDef,
    pub(super) parents: &'r [QName],
}

/// One column of a [`TableInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnInfo<'r> {
    /// The column's name, unquoted.
    pub name: &'r str,
    /// Its type as written (lowercase, without the constraints, defaults and options after
    /// it; at most 40 characters).
    pub type_name: &'r str,
    /// A generated (computed) column.
    pub generated: bool,
    /// A JSON column (`json`, `jsonb`, MariaDB's `json_valid` check).
    pub json: bool,
}

impl<'r> TableInfo<'r> {
    /// The table.
    pub fn name(&self) -> &'r QName {
        self.name
    }

    /// Its columns in DDL order.
    pub fn columns(&self) -> impl ExactSizeIterator<Item = ColumnInfo<'r>> + 'r {
        self.def.columns.iter().map(|c| ColumnInfo {
            name: &c.name,
            type_name: declared_type(&c.type_name),
            generated: c.generated,
            json: c.json,
        })
    }

    /// The tables it is a partition or `INHERITS` child of.
    pub fn parents(&self) -> &'r [QName] {
        self.parents
    }
}

/// Words that end a column's type in its definition.
const TYPE_END: &[&str] = &[
    "not",
    "null",
    "default",
    "collate",
    "charset",
    "character",
    "auto_increment",
    "comment",
    "primary",
    "unique",
    "references",
    "check",
    "generated",
    "as",
    "on",
    "constraint",
    "invisible",
    "stored",
    "virtual",
    "compressed",
    "column_format",
    "storage",
    "srid",
];

/// The type of a column definition's text after its name: up to the first word that starts
/// a constraint or option, outside parentheses (`character varying(45)` stays whole).
fn declared_type(text: &str) -> &str {
    let mut depth = 0usize;
    let mut toks = Tokens::new(text.as_bytes(), Dialect::MySql).peekable();
    while let Some(t) = toks.next() {
        match t.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth = depth.saturating_sub(1),
            Tok::Word(_) if depth == 0 && t.start > 0 => {
                let stop = TYPE_END.iter().any(|k| t.tok.is(k))
                    && !(t.tok.is("character") && toks.peek().is_some_and(|n| n.tok.is("varying")));
                if stop {
                    return text[..t.start].trim_end();
                }
            }
            _ => {}
        }
    }
    text
}

/// What a [`Statement::namespace`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// A database (MySQL; PostgreSQL's `CREATE DATABASE` and `\connect`).
    Database,
    /// A PostgreSQL schema.
    Schema,
}

/// A statement other than a data statement.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'r> {
    pub(super) text: &'r [u8],
    pub(super) relation: Option<&'r QName>,
    pub(super) syntax: Syntax,
}

impl<'r> Statement<'r> {
    /// The statement's bytes, delimiter included.
    pub fn text(&self) -> &'r [u8] {
        self.text
    }

    /// The relation it belongs to (what it creates, alters, comments on...), as the
    /// rewriter decides it.
    pub fn relation(&self) -> Option<&'r QName> {
        self.relation
    }

    /// The database or schema a `CREATE DATABASE`/`CREATE SCHEMA` statement creates, or a
    /// `\connect` line connects to.
    pub fn namespace(&self) -> Option<(Namespace, String)> {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if let Some(rest) = self.text.strip_prefix(b"\\") {
            let mut words = rest
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            let cmd = words.next()?;
            if cmd != b"connect" && cmd != b"c" {
                return None;
            }
            let db = words.find(|w| !w.starts_with(b"-"))?;
            let db = db
                .strip_prefix(b"'")
                .and_then(|d| d.strip_suffix(b"'"))
                .unwrap_or(db);
            let db = db
                .strip_prefix(b"\"")
                .and_then(|d| d.strip_suffix(b"\""))
                .unwrap_or(db);
            return Some((Namespace::Database, lossy(db)));
        }
        let toks: Vec<_> = Tokens::new(self.text, self.syntax).take(8).collect();
        let is = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.tok.is(kw));
        let kind = match () {
            _ if !is(0, "create") => return None,
            _ if is(1, "database") => Namespace::Database,
            // MySQL's `CREATE SCHEMA` is `CREATE DATABASE`.
            _ if is(1, "schema") && self.syntax.dialect == Dialect::MySql => Namespace::Database,
            _ if is(1, "schema") => Namespace::Schema,
            _ => return None,
        };
        let at = if is(2, "if") && is(3, "not") && is(4, "exists") {
            5
        } else {
            2
        };
        Some((kind, toks.get(at)?.tok.ident().map(lossy)?))
    }

    /// Its string literals, in order.
    pub fn strings(&self) -> impl Iterator<Item = Literal<'r>> + 'r {
        let (text, syntax) = (self.text, self.syntax);
        Tokens::new(text, syntax).filter_map(move |t| match t.tok {
            Tok::Str(_) => {
                let escapes = quote_at(syntax, text, t.start).is_some_and(|(_, e)| e);
                Some(Literal {
                    raw: &text[t.start..t.end],
                    escapes,
                    dialect: syntax.dialect,
                })
            }
            _ => None,
        })
    }
}

/// A string literal of a [`Statement`], quotes included.
#[derive(Debug, Clone, Copy)]
pub struct Literal<'r> {
    raw: &'r [u8],
    escapes: bool,
    dialect: Dialect,
}

impl<'r> Literal<'r> {
    /// The literal as written, quotes included.
    pub fn raw(&self) -> &'r [u8] {
        self.raw
    }

    /// Its value: quotes removed, escapes and doubled quotes undone, into `scratch`.
    pub fn decode<'s>(&self, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        let raw = self.raw;
        let body = if raw.len() >= 2 && raw[raw.len() - 1] == raw[0] {
            &raw[1..raw.len() - 1]
        } else {
            raw.get(1..).unwrap_or_default()
        };
        match self.dialect {
            Dialect::MySql => mysql_unescape(body, raw[0], scratch),
            Dialect::Postgres => pg_unescape(body, self.escapes, scratch),
        }
        scratch
    }
}

/// The start of a data statement.
#[derive(Debug, Clone, Copy)]
pub struct RowsInfo<'r, 'a> {
    pub(super) offset: u64,
    pub(super) table: &'r QName,
    pub(super) columns: Option<&'r [String]>,
    pub(super) copy: bool,
    pub(super) rules: Option<&'a PlanNode>,
    pub(super) excluded: bool,
    pub(super) schema_only: bool,
}

impl<'r, 'a> RowsInfo<'r, 'a> {
    /// Byte offset of the statement's first byte in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The table, resolved as the rewriter resolves it (current database, `search_path`).
    pub fn table(&self) -> &'r QName {
        self.table
    }

    /// The statement's column list, if it has one.
    pub fn columns(&self) -> Option<&'r [String]> {
        self.columns
    }

    /// A `COPY` block (else an `INSERT`).
    pub fn is_copy(&self) -> bool {
        self.copy
    }

    /// The rules' tree of column paths that applies to the rows (the table's own, or the
    /// nearest partitioned or `INHERITS` parent's), if any.
    pub fn rules(&self) -> Option<&'a PlanNode> {
        self.rules
    }

    /// The rows are dropped by a run: the table is excluded or not selected.
    pub fn excluded(&self) -> bool {
        self.excluded
    }

    /// The rows are dropped by a run's `schema_only`.
    pub fn schema_only(&self) -> bool {
        self.schema_only
    }
}

/// One row: an `INSERT` tuple or a `COPY` line.
#[derive(Debug, Clone, Copy)]
pub struct Row<'r, 'a> {
    pub(super) offset: u64,
    pub(super) table: &'r QName,
    pub(super) ordinal: u64,
    pub(super) line: u64,
    pub(super) data: &'r [u8],
    pub(super) spans: &'r [(usize, usize)],
    pub(super) names: &'r [String],
    pub(super) copy: bool,
    pub(super) syntax: Syntax,
    pub(super) rules: Option<&'a PlanNode>,
}

impl<'r, 'a> Row<'r, 'a> {
    /// Byte offset of the row's first byte in the input.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The table.
    pub fn table(&self) -> &'r QName {
        self.table
    }

    /// 1-based number of the row in its table.
    pub fn ordinal(&self) -> u64 {
        self.ordinal
    }

    /// 1-based line of the dump where the row starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The row as written (the tuple with its parentheses, or the COPY line).
    pub fn raw(&self) -> &'r [u8] {
        self.data
    }

    /// The rules that apply to the row (see [`RowsInfo::rules`]).
    pub fn rules(&self) -> Option<&'a PlanNode> {
        self.rules
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True for a row without values (never yielded).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Its values in order, each with its column when known.
    pub fn cells(&self) -> impl ExactSizeIterator<Item = Cell<'r>> + use<'r, 'a> {
        let row = *self;
        (0..row.spans.len()).map(move |i| {
            let (s, e) = row.spans[i];
            let (s, e) = if row.copy {
                (s, e)
            } else {
                trim_span(row.data, (s, e))
            };
            Cell {
                column: row.names.get(i).map(String::as_str),
                raw: &row.data[s..e],
                copy: row.copy,
                syntax: row.syntax,
            }
        })
    }
}

/// One value of a [`Row`].
#[derive(Debug, Clone, Copy)]
pub struct Cell<'r> {
    column: Option<&'r str>,
    raw: &'r [u8],
    copy: bool,
    syntax: Syntax,
}

impl<'r> Cell<'r> {
    /// The column, when the statement's list or the table's definition tells it.
    pub fn column(&self) -> Option<&'r str> {
        self.column
    }

    /// The value as written (an SQL literal or expression, or a COPY field).
    pub fn raw(&self) -> &'r [u8] {
        self.raw
    }

    /// The value is NULL (`NULL`, COPY's `\N`).
    pub fn is_null(&self) -> bool {
        if self.copy {
            self.raw == b"\\N"
        } else {
            matches!(parse_literal(self.raw, self.syntax), Lit::Null)
        }
    }

    /// The value's bytes, decoded as the rewriter decodes them: quotes, escapes (MySQL,
    /// `E'...'`, `standard_conforming_strings = off`, COPY's octal and hex) and hex literals
    /// undone, and a PostgreSQL dollar-quoted string's body, into `scratch`. `None` for NULL;
    /// numbers and expressions as written.
    pub fn decode<'s>(&self, scratch: &'s mut Vec<u8>) -> Option<&'s [u8]> {
        scratch.clear();
        if self.copy {
            if self.raw == b"\\N" {
                return None;
            }
            copy_unescape(self.raw, scratch);
            return Some(scratch);
        }
        match parse_literal(self.raw, self.syntax) {
            Lit::Null => return None,
            Lit::Str {
                body,
                quote,
                escapes,
                ..
            } => match self.syntax.dialect {
                Dialect::MySql => mysql_unescape(body, quote, scratch),
                Dialect::Postgres => pg_unescape(body, escapes, scratch),
            },
            Lit::Hex(digits) => {
                if !hex_decode(digits, scratch) {
                    scratch.clear();
                    scratch.extend_from_slice(self.raw);
                }
            }
            Lit::Other => {
                scratch.extend_from_slice(dollar_body(self.raw, self.syntax).unwrap_or(self.raw))
            }
            Lit::Number(_) | Lit::Bool(_) => scratch.extend_from_slice(self.raw),
        }
        Some(scratch)
    }
}

/// The body of a whole PostgreSQL dollar-quoted string (`$tag$ ... $tag$`), if `raw` is one.
fn dollar_body(raw: &[u8], syntax: Syntax) -> Option<&[u8]> {
    if !syntax.dialect.dollar_quotes() || raw.first() != Some(&b'$') {
        return None;
    }
    let close = 1 + raw[1..].iter().position(|&b| b == b'$')?;
    let tag = &raw[..=close];
    let ok = tag[1..close].iter().all(|&b| word_byte(b) && b != b'$')
        && !tag.get(1).is_some_and(u8::is_ascii_digit)
        && raw.len() >= 2 * tag.len()
        && raw.ends_with(tag);
    ok.then(|| &raw[tag.len()..raw.len() - tag.len()])
}
