//! What a statement means: [`classify`] reads a statement's tokens (no I/O, no rules, no
//! state) and returns a [`Stmt`]: the relation it belongs to (so that it goes with an
//! excluded table) and the facts it tells about relations (definitions, ownership,
//! partitions, the current database...), which the driver records in the catalog.

mod mysql;

pub(crate) use mysql::header_database;
mod postgres;
#[cfg(test)]
mod tests;

use crate::ddl::{parse_create_table, CreateTable};
use crate::dialect::Syntax;
use crate::tokens::{qname, QName, Spanned};
use crate::Dialect;

/// Something a statement tells about ownership between relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Derive {
    /// `child` is a partition of `parent`.
    PartitionOf {
        /// The partition.
        child: QName,
        /// Its partitioned table.
        parent: QName,
    },
    /// `child` inherits from `parent` (PostgreSQL `INHERITS`).
    Inherits {
        /// The inheriting table.
        child: QName,
        /// The table it inherits from.
        parent: QName,
    },
    /// A view depends on a relation it selects from: it goes when that relation goes.
    DependsOn {
        /// The view.
        dependent: QName,
        /// A relation it reads.
        on: QName,
    },
    /// A sequence belongs to (or is used by the defaults of) a table.
    SeqOf {
        /// The sequence.
        seq: QName,
        /// Its table.
        table: QName,
    },
}

/// The kinds of objects a name-only `DROP` names whose table a later `CREATE` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LateKind {
    /// `DROP INDEX name` / `CREATE INDEX name ON table`.
    Index,
    /// `DROP STATISTICS name` / `CREATE STATISTICS name ... FROM table`.
    Statistics,
}

/// The relation a statement belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// None: the statement is always kept.
    None,
    /// A relation; `true` when it is known to be a table (for `collections` selection),
    /// not a sequence or a view.
    Rel(QName, bool),
    /// The tables of indexes (`ALTER INDEX`, `COMMENT ON INDEX`; `ALTER INDEX parent ATTACH
    /// PARTITION child` names two), when their `CREATE INDEX` or constraint was seen: the
    /// statement goes with any of them that is dropped.
    IndexOf(Vec<QName>),
    /// MySQL `UNLOCK TABLES`: the table of the last `LOCK TABLES`.
    Locked,
    /// A PostgreSQL large object statement (`pg_dump -b`).
    LargeObject(LoPart),
    /// An account statement that carries or needs credentials (MySQL `CREATE USER`, `GRANT`
    /// to an account, `SET PASSWORD`...): dropped unless users are kept.
    Account,
    /// A `DROP INDEX`/`DROP STATISTICS` naming the object only; `single`: the statement
    /// names one object (a list could mix tables).
    Late {
        /// Index or statistics.
        kind: LateKind,
        /// The object dropped.
        name: QName,
        /// `IF EXISTS` was given.
        if_exists: bool,
        /// Only one object is named.
        single: bool,
    },
}

/// The part a statement plays in restoring a large object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoPart {
    /// `SELECT pg_catalog.lo_create('oid')`.
    Create,
    /// `lo_open`, `lowrite` (the data), `lo_close`.
    Data,
    /// `ALTER`/`COMMENT ON`/`GRANT ... ON LARGE OBJECT`.
    Meta,
}

/// A fact a statement tells, for the catalog.
#[derive(Debug, Clone)]
pub(crate) enum Fact {
    /// A `CREATE TABLE`.
    CreateTable(CreateTable),
    /// MySQL `USE db`.
    Use(String),
    /// MySQL `LOCK TABLES t` (the table, if readable).
    Lock(Option<QName>),
    /// PostgreSQL `SET standard_conforming_strings`.
    StdStrings(bool),
    /// An ownership between relations.
    Derive(Derive),
    /// `CREATE INDEX name ON table` / `CREATE STATISTICS name ... FROM table`.
    Names {
        /// Index or statistics.
        kind: LateKind,
        /// The object (its schema defaulted to the table's).
        name: QName,
        /// Its table.
        table: QName,
    },
    /// PostgreSQL `DROP TABLE t`.
    DroppedTable(QName),
    /// `CREATE VIEW v` / `CREATE MATERIALIZED VIEW v`.
    View(QName),
    /// PostgreSQL `CREATE TYPE name AS (columns)`: the columns of tables `OF` it.
    CompositeType(QName, crate::ddl::TableDef),
    /// `SET NAMES x` (MySQL) / `SET client_encoding = 'x'` (PostgreSQL): whether the dump's
    /// text is Latin-1 from now on.
    Charset(bool),
    /// PostgreSQL `SET search_path` / `set_config('search_path', ...)`: the schema of
    /// unqualified names from now on (`None`: the path is empty).
    SearchPath(Option<String>),
    /// MySQL `SET ... sql_mode ...`: one assignment that involves the SQL mode.
    SqlMode(ModeAssign),
    /// A foreign key of a table (`CREATE TABLE`, `ALTER TABLE ... ADD CONSTRAINT`).
    ForeignKey(QName, crate::ddl::ForeignKey),
}

/// An assignment of a MySQL `SET` statement that involves `sql_mode` (which decides whether
/// `"` quotes identifiers: `ANSI_QUOTES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModeAssign {
    /// `sql_mode = '...'`: whether the new modes include `ANSI_QUOTES`.
    Set(bool),
    /// `sql_mode = @var`: restores a saved mode.
    FromVar(String),
    /// `@var = @@sql_mode`: saves the current mode.
    SaveTo(String),
    /// `sql_mode = <anything else>`: back to the default.
    Other,
}

/// What a statement means.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    /// The relation it belongs to.
    pub(crate) owner: Owner,
    /// What it tells, in order.
    pub(crate) facts: Vec<Fact>,
    /// Byte ranges of the statement holding credentials (PostgreSQL role `PASSWORD '...'`),
    /// removed unless users are kept.
    pub(crate) secrets: Vec<std::ops::Range<usize>>,
    /// Qualified names the statement mentions besides its owner (a foreign key's referenced
    /// table, the relations of a view, rule, policy or trigger): the statement cannot
    /// restore without them.
    pub(crate) refs: Vec<QName>,
}

impl Stmt {
    fn none() -> Stmt {
        Stmt::owned(Owner::None)
    }

    fn owned(owner: Owner) -> Stmt {
        Stmt {
            owner,
            facts: Vec::new(),
            secrets: Vec::new(),
            refs: Vec::new(),
        }
    }

    fn rel(name: Option<QName>, is_table: bool) -> Stmt {
        Stmt::owned(name.map_or(Owner::None, |q| Owner::Rel(q, is_table)))
    }

    fn with(mut self, fact: Fact) -> Stmt {
        self.facts.push(fact);
        self
    }
}

/// The tokens of one statement, with the lookups every classifier uses.
pub(crate) struct Toks<'t, 'b> {
    toks: &'t [Spanned<'b>],
    /// Schema (database) of unqualified names.
    ds: Option<&'t str>,
}

impl<'b> Toks<'_, 'b> {
    fn is(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.tok.is(kw))
    }

    /// The first `kw` in `from..from + within`.
    fn find(&self, from: usize, kw: &str, within: usize) -> Option<usize> {
        (from..self.toks.len().min(from.saturating_add(within))).find(|&i| self.toks[i].tok.is(kw))
    }

    /// Skips `IF EXISTS` / `IF NOT EXISTS` at `i`.
    fn skip_if_exists(&self, mut i: usize) -> usize {
        if self.is(i, "if") && self.is(i + 1, "exists") {
            i += 2;
        } else if self.is(i, "if") && self.is(i + 1, "not") && self.is(i + 2, "exists") {
            i += 3;
        }
        i
    }

    /// The relation name at `i`.
    fn name(&self, i: usize) -> Option<QName> {
        qname(self.toks, i, self.ds).map(|q| q.0)
    }

    /// The relation name at `i` and the index after it.
    fn name_next(&self, i: usize) -> Option<(QName, usize)> {
        qname(self.toks, i, self.ds)
    }

    /// Every qualified name (`a.b`, `a.b.c` read as schema and relation) from `from` on.
    fn qualified_names(&self, from: usize) -> Vec<QName> {
        let mut names = Vec::new();
        let mut i = from;
        while i < self.len() {
            let dotted = self.get(i).is_some_and(|x| x.tok.ident().is_some())
                && self.get(i + 1).map(|x| &x.tok) == Some(&crate::tokens::Tok::Punct(b'.'));
            if dotted {
                if let Some((q, next)) = qname(self.toks, i, None) {
                    names.push(q);
                    i = next;
                    continue;
                }
            }
            i += 1;
        }
        names
    }

    /// Every name (bare ones in the current database) from `from` on: the candidates a
    /// MySQL view may read (its body names tables unqualified).
    fn all_names(&self, from: usize) -> Vec<QName> {
        let mut names = Vec::new();
        let mut i = from;
        while i < self.len() {
            match qname(self.toks, i, self.ds) {
                Some((q, next)) if self.get(i).is_some_and(|x| x.tok.ident().is_some()) => {
                    names.push(q);
                    i = next;
                }
                _ => i += 1,
            }
        }
        names
    }

    fn len(&self) -> usize {
        self.toks.len()
    }

    fn get(&self, i: usize) -> Option<&Spanned<'b>> {
        self.toks.get(i)
    }
}

/// Classifies a statement held in memory: `toks` are the tokens of `body` (possibly only the
/// first ones of a statement too long to hold); `default_schema` is the current database of
/// unqualified names (MySQL after `USE`).
pub(crate) fn classify(
    toks: &[Spanned<'_>],
    body: &[u8],
    syntax: impl Into<Syntax>,
    default_schema: Option<&str>,
) -> Stmt {
    let mut stmt = classify_owner(toks, body, syntax.into(), default_schema);
    let creates_or_alters = toks
        .first()
        .is_some_and(|t| t.tok.is("create") || t.tok.is("alter"));
    if let (true, Owner::Rel(table, _)) = (creates_or_alters, &stmt.owner) {
        let table = table.clone();
        for fk in crate::ddl::foreign_keys(toks, default_schema) {
            stmt.facts.push(Fact::ForeignKey(table.clone(), fk));
        }
    }
    stmt
}

fn classify_owner(
    toks: &[Spanned<'_>],
    body: &[u8],
    syntax: Syntax,
    default_schema: Option<&str>,
) -> Stmt {
    let t = Toks {
        toks,
        ds: default_schema,
    };
    if toks.is_empty() {
        return Stmt::none();
    }
    // CREATE TABLE (both dialects).
    if t.is(0, "create") {
        if let Some(k) = t.find(1, "table", 5) {
            if !t.is(k - 1, "to") {
                if let Some(create) = parse_create_table(body, syntax, default_schema) {
                    return Stmt::rel(Some(create.name.clone()), true)
                        .with(Fact::CreateTable(create));
                }
            }
        }
    }
    if t.is(0, "create") && t.is(1, "type") {
        if let Some((name, def)) = crate::ddl::parse_create_type(body, syntax, default_schema) {
            return Stmt::none().with(Fact::CompositeType(name, def));
        }
    }
    match syntax.dialect {
        Dialect::MySql => mysql::classify(&t),
        Dialect::Postgres => postgres::classify(&t),
    }
}
