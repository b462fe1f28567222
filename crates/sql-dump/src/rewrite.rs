//! The statement loop: classify each statement, pass it through, drop it, or rewrite its rows.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::rc::Rc;

use anonymize_core::{Anonymizer, Disposition, ExcludeReason, PlanNode, Replacement, RowContext};

use crate::ddl::{name_in_string, parse_create_table, Column, TableDef};
use crate::error::SqlError;
use crate::head::{column_names, scan_insert_head, HeadScan, InsertHead};
use crate::input::{count_newlines, Input};
use crate::json::{rewrite_json, JsonOutcome};
use crate::lex::{string_end, Lexer, Scan};
use crate::literal::{
    bytea_value, copy_unescape, number_value, parse_literal, text_value, value_of,
    write_replacement, Ctx, Lit,
};
use crate::tokens::{dotted, qname, tokenize, word_byte, QName, Spanned, Tok, Tokens};
use crate::{Dialect, SqlOptions, SqlSummary, TableSummary};

/// Statements longer than this are streamed instead of held for classification.
const CAPTURE_LIMIT: usize = 4 << 20;
/// Leading comments longer than this are written out instead of held.
const TRIVIA_LIMIT: usize = 1 << 20;
/// Bytes of pre-data DDL held back (PostgreSQL) before it is flushed regardless.
const PENDING_LIMIT: usize = 256 << 20;
/// Bytes of name-only `DROP`s held back (PostgreSQL `--clean`) until their owner is known.
const DEFERRED_LIMIT: usize = 16 << 20;

/// Something a statement tells about ownership between relations.
#[derive(Debug, Clone)]
enum Derive {
    /// `child` is a partition of `parent`.
    PartitionOf { child: QName, parent: QName },
    /// A sequence belongs to (or is used by the defaults of) a table.
    SeqOf { seq: QName, table: QName },
}

/// The kinds of objects a name-only `DROP` names whose table a later `CREATE` tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LateKind {
    /// `DROP INDEX name` / `CREATE INDEX name ON table`.
    Index,
    /// `DROP STATISTICS name` / `CREATE STATISTICS name ... FROM table`.
    Statistics,
}

/// A `DROP` that names an object but not its table (`DROP INDEX IF EXISTS public.i;` in the
/// `--clean` preamble); the table is only known from a `CREATE` after the data.
#[derive(Debug, Clone)]
struct LateOwner {
    kind: LateKind,
    name: QName,
    if_exists: bool,
}

/// A statement held back or about to be written.
struct Item {
    trivia: Vec<u8>,
    /// Length of the part of `trivia` that ends the previous statement's line.
    tail: usize,
    body: Vec<u8>,
    owner: Option<QName>,
    /// The owner is a table (for `collections` selection), not a sequence or view.
    owner_is_table: bool,
    /// A name-only `DROP` whose owner was not known when it was read.
    late: Option<LateOwner>,
}

struct TableState<'a> {
    disposition: Disposition<'a>,
    def: Option<Rc<TableDef>>,
    is_table: bool,
    summary: Option<usize>,
}

/// The table of an INSERT, with what the rules decide for it (see `insert_target`).
struct InsertTarget<'a> {
    /// The name as written in the statement.
    raw: Vec<u8>,
    table: QName,
    /// Index in `summaries` (and `ordinals`).
    sidx: usize,
    excluded: bool,
    plan: Option<anonymize_core::CollectionPlan<'a>>,
    /// The column plans of the last INSERT with rules, reused while the column list is
    /// spelled the same.
    plans: Option<ColumnPlans<'a>>,
}

/// Column plans, and the column list (as written) they were made for; `None`: positional
/// (no column list), made from the table's definition.
struct ColumnPlans<'a> {
    list: Option<Vec<u8>>,
    plans: Vec<ColPlan<'a>>,
}

/// How the values of one INSERT/COPY map to columns and rules.
struct ColPlan<'a> {
    node: Option<&'a PlanNode>,
    col: Option<Column>,
}

struct Out<W: Write> {
    w: BufWriter<W>,
    bytes: u64,
}

impl<W: Write> Out<W> {
    #[inline]
    fn put(&mut self, b: &[u8]) -> Result<(), SqlError> {
        self.bytes += b.len() as u64;
        self.w.write_all(b).map_err(SqlError::write)
    }
}

/// The rewriter of one dump.
pub(crate) struct Rewriter<'a, R: Read, W: Write> {
    input: Input<R>,
    out: Out<W>,
    anon: &'a Anonymizer,
    mysql: bool,
    lexer: Lexer,
    filter: Option<Vec<String>>,
    current_db: Option<String>,
    tables: HashMap<QName, TableState<'a>>,
    derived: Vec<Derive>,
    derived_seen: usize,
    excluded_extra: HashSet<QName>,
    index_table: HashMap<QName, QName>,
    /// Extended statistics and their tables (PostgreSQL `CREATE STATISTICS`).
    stats_table: HashMap<QName, QName>,
    /// Tables named by PostgreSQL `DROP TABLE` statements.
    dropped_tables: HashSet<QName>,
    /// What `classify` found for a name-only `DROP` it could not resolve.
    late: Option<LateOwner>,
    /// Name-only `DROP`s held back until a later `CREATE` tells their table.
    deferred: Vec<Item>,
    deferred_bytes: usize,
    /// Held-back `DROP`s of kept tables, written before the next statement.
    released: Vec<Item>,
    /// Cache of `any_excluded_table`: the number of known tables when it last said false.
    excluded_checked: Option<usize>,
    locked: Option<QName>,
    pending: Option<Vec<Item>>,
    pending_bytes: usize,
    trivia: Vec<u8>,
    trivia_tail: Option<usize>,
    prev_dropped: bool,
    summaries: Vec<TableSummary>,
    /// Rows seen per table (1-based ordinal of the last row), indexed like `summaries`.
    ordinals: Vec<u64>,
    /// The previous statement's INSERT target, while no other statement came between.
    last_insert: Option<InsertTarget<'a>>,
    /// The bytes of the last INSERT head scanned, and what they hold.
    last_head: Option<(Vec<u8>, InsertHead)>,
    scratch: Vec<u8>,
    /// The head of the INSERT whose rows are being rewritten.
    head_bytes: Vec<u8>,
    row: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

fn ci_starts(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

impl<'a, R: Read, W: Write> Rewriter<'a, R, W> {
    pub(crate) fn new(
        input: Input<R>,
        output: W,
        anon: &'a Anonymizer,
        dialect: Dialect,
        options: &SqlOptions,
    ) -> Self {
        let mysql = dialect == Dialect::MySql;
        Rewriter {
            input,
            out: Out {
                w: BufWriter::with_capacity(256 * 1024, output),
                bytes: 0,
            },
            anon,
            mysql,
            lexer: Lexer::new(mysql),
            filter: options.collections.clone(),
            current_db: None,
            tables: HashMap::new(),
            derived: Vec::new(),
            derived_seen: 0,
            excluded_extra: HashSet::new(),
            index_table: HashMap::new(),
            stats_table: HashMap::new(),
            dropped_tables: HashSet::new(),
            late: None,
            deferred: Vec::new(),
            deferred_bytes: 0,
            released: Vec::new(),
            excluded_checked: None,
            locked: None,
            // PostgreSQL dumps put indexes, constraints and ownership after the data, so
            // the pre-data DDL is held until the first data statement to learn what belongs
            // to an excluded table; with nothing to exclude there is nothing to learn.
            pending: if !mysql && (anon.may_exclude() || options.collections.is_some()) {
                Some(Vec::new())
            } else {
                None
            },
            pending_bytes: 0,
            trivia: Vec::new(),
            trivia_tail: None,
            prev_dropped: false,
            summaries: Vec::new(),
            ordinals: Vec::new(),
            last_insert: None,
            last_head: None,
            scratch: Vec::new(),
            head_bytes: Vec::new(),
            row: Vec::new(),
            spans: Vec::new(),
        }
    }

    fn err(&self, rel: usize, table: Option<&QName>, message: impl Into<String>) -> SqlError {
        let (line, offset) = self.input.position_at(rel);
        SqlError::Syntax {
            line,
            offset,
            table: table.map(QName::display),
            message: message.into(),
        }
    }

    /// Runs over the whole input.
    pub(crate) fn run(mut self) -> Result<SqlSummary, SqlError> {
        loop {
            self.read_trivia()?;
            if self.input.avail().is_empty() && !self.input.fill()? {
                break;
            }
            if self.input.avail().is_empty() {
                continue;
            }
            self.statement()?;
        }
        self.flush_pending()?;
        let trivia = std::mem::take(&mut self.trivia);
        let tail = self.trivia_tail.take().unwrap_or(trivia.len());
        // Held-back DROPs whose object the dump never created: written where they are known
        // to be no one's, at the end.
        self.released.append(&mut self.deferred);
        self.write_released(&trivia, tail)?;
        let from = if self.prev_dropped { tail } else { 0 };
        self.out.put(&trivia[from..])?;
        self.out.w.flush().map_err(SqlError::write)?;
        Ok(SqlSummary {
            dialect: if self.mysql {
                Dialect::MySql
            } else {
                Dialect::Postgres
            },
            bytes_in: self.input.offset(),
            bytes_out: self.out.bytes,
            tables: self.summaries,
        })
    }

    // ----- trivia -------------------------------------------------------------------

    fn take_trivia(&mut self, n: usize) {
        let start = self.trivia.len();
        self.trivia.extend_from_slice(&self.input.avail()[..n]);
        self.input.consume(n);
        if self.trivia_tail.is_none() {
            if let Some(k) = memchr::memchr(b'\n', &self.trivia[start..]) {
                self.trivia_tail = Some(start + k + 1);
            }
        }
    }

    /// Writes the held trivia now (it can no longer be dropped with the next statement).
    fn flush_trivia(&mut self) -> Result<(), SqlError> {
        if self.pending.is_some() {
            let item = Item {
                tail: self.trivia_tail.take().unwrap_or(self.trivia.len()),
                trivia: std::mem::take(&mut self.trivia),
                body: Vec::new(),
                owner: None,
                owner_is_table: false,
                late: None,
            };
            return self.emit(item);
        }
        let tail = self.trivia_tail.take().unwrap_or(self.trivia.len());
        let trivia = std::mem::take(&mut self.trivia);
        let from = if self.prev_dropped { tail } else { 0 };
        self.out.put(&trivia[from..])?;
        self.prev_dropped = false;
        Ok(())
    }

    fn read_trivia(&mut self) -> Result<(), SqlError> {
        loop {
            if self.trivia.len() > TRIVIA_LIMIT {
                self.flush_trivia()?;
            }
            let have = self.input.ensure(4)?;
            if have == 0 {
                return Ok(());
            }
            let a = self.input.avail();
            let b = a[0];
            if b.is_ascii_whitespace() {
                let n = a.iter().take_while(|b| b.is_ascii_whitespace()).count();
                self.take_trivia(n);
                continue;
            }
            let line_comment = (b == b'-'
                && a.get(1) == Some(&b'-')
                && (!self.mysql || a.get(2).is_none_or(|&c| c <= b' ')))
                || (self.mysql && b == b'#');
            if line_comment {
                let end = self.find_in_input(b"\n")?;
                self.take_trivia(end);
                continue;
            }
            if b == b'/' && a.get(1) == Some(&b'*') {
                let versioned = self.mysql && (a.get(2) == Some(&b'!'));
                if versioned {
                    return Ok(());
                }
                let sandbox = self.mysql && a.get(2) == Some(&b'M') && a.get(3) == Some(&b'!');
                let end = self.find_in_input(b"*/")?;
                if sandbox {
                    // MariaDB's sandbox line: kept with whatever follows, never dropped.
                    self.take_trivia(end);
                    self.flush_trivia()?;
                } else {
                    self.take_trivia(end);
                }
                continue;
            }
            return Ok(());
        }
    }

    /// Index just past the first `needle` in the input (or the end of input).
    fn find_in_input(&mut self, needle: &[u8]) -> Result<usize, SqlError> {
        let mut from = 0;
        loop {
            let a = self.input.avail();
            if let Some(k) = memchr::memmem::find(&a[from..], needle) {
                return Ok(from + k + needle.len());
            }
            from = a.len().saturating_sub(needle.len() - 1);
            if !self.input.fill()? {
                return Ok(self.input.avail().len());
            }
        }
    }

    // ----- decisions ----------------------------------------------------------------

    fn table_state(&mut self, q: &QName) -> &mut TableState<'a> {
        if !self.tables.contains_key(q) {
            let disposition = self.anon.resolve(q.schema.as_deref(), &q.name);
            self.tables.insert(
                q.clone(),
                TableState {
                    disposition,
                    def: None,
                    is_table: false,
                    summary: None,
                },
            );
        }
        self.tables.get_mut(q).expect("inserted")
    }

    fn summary(&mut self, q: &QName) -> usize {
        if let Some(i) = self.table_state(q).summary {
            return i;
        }
        let excluded = self.is_excluded(q, true);
        let schema_only = self.plan(q).is_some_and(|p| p.schema_only());
        let i = self.summaries.len();
        self.summaries.push(TableSummary {
            table: q.display(),
            rows_in: 0,
            rows_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            excluded,
            schema_only,
        });
        self.ordinals.push(0);
        self.table_state(q).summary = Some(i);
        i
    }

    fn plan(&mut self, q: &QName) -> Option<anonymize_core::CollectionPlan<'a>> {
        match self.table_state(q).disposition {
            Disposition::Keep(p) => Some(p),
            Disposition::Exclude(_) => None,
        }
    }

    fn is_excluded(&mut self, q: &QName, is_table: bool) -> bool {
        if self.excluded_extra.contains(q) {
            return true;
        }
        let mysql = self.mysql;
        let state = self.table_state(q);
        let table_like = mysql || is_table || state.is_table;
        match state.disposition {
            Disposition::Exclude(ExcludeReason::Excluded) => true,
            Disposition::Exclude(ExcludeReason::NotSelected) => table_like,
            Disposition::Keep(_) => match &self.filter {
                Some(list) if table_like => !list
                    .iter()
                    .any(|n| *n == q.name || Some(n.as_str()) == Some(&q.display()[..])),
                _ => false,
            },
        }
    }

    fn apply_derivations(&mut self) {
        if self.derived_seen == self.derived.len() {
            return;
        }
        self.derived_seen = self.derived.len();
        loop {
            let mut changed = false;
            for d in self.derived.clone() {
                let (target, source) = match d {
                    Derive::PartitionOf { child, parent } => (child, parent),
                    Derive::SeqOf { seq, table } => (seq, table),
                };
                if !self.excluded_extra.contains(&target) && self.is_excluded(&source, true) {
                    self.excluded_extra.insert(target);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Whether a table the dump defines or drops is excluded (so that a name-only `DROP` may
    /// belong to one). Recomputed only when tables were added since it last said no.
    fn any_excluded_table(&mut self) -> bool {
        if self.filter.is_some() {
            return true;
        }
        let known = self.tables.len() + self.dropped_tables.len();
        if self.excluded_checked == Some(known) {
            return false;
        }
        let mut names: Vec<QName> = self
            .tables
            .iter()
            .filter(|(_, t)| t.is_table)
            .map(|(q, _)| q.clone())
            .collect();
        names.extend(self.dropped_tables.iter().cloned());
        if names.iter().any(|q| self.is_excluded(q, true)) {
            return true;
        }
        self.excluded_checked = Some(known);
        false
    }

    fn late_map(&self, kind: LateKind) -> &HashMap<QName, QName> {
        match kind {
            LateKind::Index => &self.index_table,
            LateKind::Statistics => &self.stats_table,
        }
    }

    /// A `CREATE` told the table of `name`: a `DROP` held back for it is discarded when the
    /// table is excluded, else released to be written before the next statement (a plain
    /// `DROP INDEX` is discarded too when the table's own `DROP TABLE` already removed the
    /// index: written this late it would fail on the missing index).
    fn resolve_deferred(&mut self, kind: LateKind, name: &QName, table: &QName) {
        let Some(k) = self.deferred.iter().position(|d| {
            d.late
                .as_ref()
                .is_some_and(|l| l.kind == kind && l.name == *name)
        }) else {
            return;
        };
        let item = self.deferred.remove(k);
        self.deferred_bytes -= item.body.len();
        let if_exists = item.late.as_ref().is_some_and(|l| l.if_exists);
        if self.is_excluded(table, true) || (!if_exists && self.dropped_tables.contains(table)) {
            return;
        }
        self.released.push(item);
    }

    /// Writes the released `DROP`s before a statement whose trivia is `trivia`.
    fn write_released(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        if self.released.is_empty() {
            return Ok(());
        }
        if !self.prev_dropped {
            let end = &trivia[..tail.min(trivia.len())];
            self.out.put(end)?;
            if !end.ends_with(b"\n") {
                self.out.put(b"\n")?;
            }
        }
        for item in std::mem::take(&mut self.released) {
            self.out.put(&item.body)?;
            self.out.put(b"\n")?;
        }
        self.prev_dropped = true;
        Ok(())
    }

    fn write_item(&mut self, mut item: Item) -> Result<(), SqlError> {
        self.write_released(&item.trivia, item.tail)?;
        if item.owner.is_none() {
            if let Some(late) = &item.late {
                match self.late_map(late.kind).get(&late.name) {
                    Some(table) => {
                        item.owner = Some(table.clone());
                        item.owner_is_table = true;
                    }
                    None => {
                        if self.deferred_bytes + item.body.len() <= DEFERRED_LIMIT
                            && self.any_excluded_table()
                        {
                            // Its table is told after the data: hold it back until then.
                            if !self.prev_dropped {
                                self.out
                                    .put(&item.trivia[..item.tail.min(item.trivia.len())])?;
                            }
                            self.prev_dropped = true;
                            self.deferred_bytes += item.body.len();
                            item.trivia = Vec::new();
                            item.tail = 0;
                            self.deferred.push(item);
                            return Ok(());
                        }
                    }
                }
            }
        }
        let drop = match &item.owner {
            Some(q) => {
                let q = q.clone();
                self.is_excluded(&q, item.owner_is_table)
            }
            None => false,
        };
        if drop {
            if !self.prev_dropped {
                self.out
                    .put(&item.trivia[..item.tail.min(item.trivia.len())])?;
            }
            self.prev_dropped = true;
        } else {
            let from = if self.prev_dropped {
                item.tail.min(item.trivia.len())
            } else {
                0
            };
            self.out.put(&item.trivia[from..])?;
            self.out.put(&item.body)?;
            self.prev_dropped = false;
        }
        Ok(())
    }

    fn emit(&mut self, item: Item) -> Result<(), SqlError> {
        if let Some(pending) = &mut self.pending {
            self.pending_bytes += item.trivia.len() + item.body.len();
            pending.push(item);
            if self.pending_bytes > PENDING_LIMIT {
                self.flush_pending()?;
            }
            return Ok(());
        }
        self.apply_derivations();
        self.write_item(item)
    }

    fn flush_pending(&mut self) -> Result<(), SqlError> {
        let Some(items) = self.pending.take() else {
            return Ok(());
        };
        self.apply_derivations();
        for item in items {
            self.write_item(item)?;
        }
        Ok(())
    }

    /// Takes the held trivia for a statement.
    fn statement_trivia(&mut self) -> (Vec<u8>, usize) {
        let trivia = std::mem::take(&mut self.trivia);
        let tail = self.trivia_tail.take().unwrap_or(trivia.len());
        (trivia, tail)
    }

    /// Gives a statement's trivia buffer back once written, so that the next statement's
    /// trivia does not allocate.
    fn recycle_trivia(&mut self, mut trivia: Vec<u8>) {
        if self.trivia.is_empty() {
            trivia.clear();
            self.trivia = trivia;
        }
    }

    // ----- statements ---------------------------------------------------------------

    fn statement(&mut self) -> Result<(), SqlError> {
        self.input.ensure(16)?;
        let a = self.input.avail();
        if !self.mysql && a[0] == b'\\' {
            return self.line_command();
        }
        if self.mysql
            && ci_starts(a, b"delimiter")
            && a.get(9).is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            return self.line_command();
        }
        self.input.ensure(8192)?;
        let a = self.input.avail();
        let first = Tokens::new(&a[..a.len().min(8192)], self.mysql).next();
        let is = |kw: &str| first.as_ref().is_some_and(|t| t.tok.is(kw));
        if is("insert") || is("replace") {
            return self.insert();
        }
        if !self.mysql && is("copy") {
            return self.copy();
        }
        self.general()
    }

    /// A client command line: `\restrict`, `\connect`, `DELIMITER ;;`.
    fn line_command(&mut self) -> Result<(), SqlError> {
        self.last_insert = None;
        let end = self.find_in_input(b"\n")?;
        let line = self.input.avail()[..end].to_vec();
        self.input.consume(end);
        if self.mysql {
            let text = &line[9..];
            let delim: Vec<u8> = text
                .iter()
                .copied()
                .skip_while(|b| *b == b' ' || *b == b'\t')
                .take_while(|b| !b.is_ascii_whitespace())
                .collect();
            self.lexer.set_delimiter(&delim);
        }
        let (trivia, tail) = self.statement_trivia();
        self.emit(Item {
            trivia,
            tail,
            body: line,
            owner: None,
            owner_is_table: false,
            late: None,
        })
    }

    /// Finds the end of the statement at the start of the input, holding at most `limit`
    /// bytes. Returns `(end, complete)`; when not complete, `end` bytes are scanned.
    fn capture(&mut self, limit: usize) -> Result<(usize, bool), SqlError> {
        self.lexer.reset(false);
        let mut scanned = 0;
        loop {
            let eof = self.input.eof();
            match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                Scan::Found(e) => return Ok((scanned + e, true)),
                Scan::More(m) => {
                    scanned += m;
                    if eof {
                        if !self.lexer.in_normal() {
                            return Err(self.err(scanned, None, "the input ends inside a statement (unterminated string, comment or quoted name)"));
                        }
                        return Ok((scanned, true));
                    }
                    if scanned > limit {
                        return Ok((scanned, false));
                    }
                    self.input.fill()?;
                }
            }
        }
    }

    /// Continues a statement whose first `scanned` bytes the lexer has seen, writing or
    /// dropping everything to its end. Returns the tuples opened (INSERT rows).
    fn stream_rest(
        &mut self,
        mut scanned: usize,
        write: bool,
        table: Option<&QName>,
    ) -> Result<u64, SqlError> {
        loop {
            let eof = self.input.eof();
            match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                Scan::Found(e) => {
                    let end = scanned + e;
                    if write {
                        self.out.put(&self.input.avail()[..end])?;
                    }
                    self.input.consume(end);
                    return Ok(self.lexer.opens);
                }
                Scan::More(m) => {
                    scanned += m;
                    if eof {
                        if !self.lexer.in_normal() {
                            return Err(self.err(scanned, table, "the input ends inside a statement (unterminated string, comment or quoted name)"));
                        }
                        if write {
                            self.out.put(&self.input.avail()[..scanned])?;
                        }
                        self.input.consume(scanned);
                        return Ok(self.lexer.opens);
                    }
                    if write {
                        self.out.put(&self.input.avail()[..scanned])?;
                    }
                    self.input.consume(scanned);
                    scanned = 0;
                    self.input.fill()?;
                }
            }
        }
    }

    fn default_schema(&self) -> Option<String> {
        if self.mysql {
            self.current_db.clone()
        } else {
            None
        }
    }

    /// Any statement that is not an INSERT or COPY.
    fn general(&mut self) -> Result<(), SqlError> {
        // It may change what an INSERT's table name refers to (USE, CREATE TABLE, ...).
        self.last_insert = None;
        let (end, complete) = self.capture(CAPTURE_LIMIT)?;
        let body =
            self.input.avail()[..end.min(if complete { usize::MAX } else { 65536 })].to_vec();
        let toks = tokenize(&body, self.mysql, if complete { usize::MAX } else { 64 });
        let (owner, owner_is_table) = self.classify(&toks, &body);
        let late = self.late.take();
        if complete {
            self.input.consume(end);
            let (trivia, tail) = self.statement_trivia();
            return self.emit(Item {
                trivia,
                tail,
                body,
                owner,
                owner_is_table,
                late,
            });
        }
        // Too long to hold: decide now and stream it.
        self.flush_pending()?;
        self.apply_derivations();
        let drop = match &owner {
            Some(q) => self.is_excluded(q, owner_is_table),
            None => false,
        };
        let (trivia, tail) = self.statement_trivia();
        self.write_item(Item {
            trivia,
            tail,
            body: Vec::new(),
            owner: owner.clone(),
            owner_is_table,
            late,
        })?;
        self.stream_rest(end, !drop, owner.as_ref())?;
        Ok(())
    }

    /// Finds which relation a statement belongs to, and records what it tells.
    fn classify(&mut self, toks: &[Spanned<'_>], body: &[u8]) -> (Option<QName>, bool) {
        let ds = self.default_schema();
        let ds = ds.as_deref();
        let is = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.tok.is(kw));
        let find = |from: usize, kw: &str, within: usize| -> Option<usize> {
            (from..toks.len().min(from + within)).find(|&i| toks[i].tok.is(kw))
        };
        let skip_if_exists = |mut i: usize| -> usize {
            if is(i, "if") && is(i + 1, "exists") {
                i += 2;
            } else if is(i, "if") && is(i + 1, "not") && is(i + 2, "exists") {
                i += 3;
            }
            i
        };
        if toks.is_empty() {
            return (None, false);
        }
        // CREATE TABLE (both dialects).
        if is(0, "create") {
            if let Some(t) = find(1, "table", 5) {
                if !is(t - 1, "to") {
                    if let Some(create) = parse_create_table(body, self.mysql, ds) {
                        let name = create.name.clone();
                        if let Some(parent) = create.partition_of.clone() {
                            self.derived.push(Derive::PartitionOf {
                                child: name.clone(),
                                parent,
                            });
                        }
                        for seq in create.sequences {
                            self.derived.push(Derive::SeqOf {
                                seq,
                                table: name.clone(),
                            });
                        }
                        let state = self.table_state(&name);
                        state.def = Some(Rc::new(create.def));
                        state.is_table = true;
                        return (Some(name), true);
                    }
                }
            }
        }
        if self.mysql {
            if is(0, "use") {
                if let Some(db) = toks.get(1).and_then(|t| t.tok.ident()) {
                    self.current_db = Some(String::from_utf8_lossy(db).into_owned());
                }
                return (None, false);
            }
            if is(0, "drop") && (is(1, "table") || is(1, "view")) {
                let i = skip_if_exists(2);
                return (qname(toks, i, ds).map(|q| q.0), true);
            }
            if is(0, "lock") && is(1, "tables") {
                let q = qname(toks, 2, ds).map(|q| q.0);
                self.locked = q.clone();
                return (q, true);
            }
            if is(0, "unlock") && is(1, "tables") {
                return (self.locked.take(), true);
            }
            if (is(0, "alter") || is(0, "truncate")) && is(1, "table") {
                return (qname(toks, 2, ds).map(|q| q.0), true);
            }
            if is(0, "create") {
                if let Some(t) = find(1, "trigger", 40) {
                    if let Some(on) = find(t + 1, "on", 12) {
                        return (qname(toks, on + 1, ds).map(|q| q.0), true);
                    }
                }
                if let Some(v) = find(1, "view", 40) {
                    return (qname(toks, skip_if_exists(v + 1), ds).map(|q| q.0), false);
                }
            }
            return (None, false);
        }
        // PostgreSQL.
        if is(0, "set") && is(1, "standard_conforming_strings") {
            if let Some(v) = toks.get(3).and_then(|t| match &t.tok {
                Tok::Word(w) => Some(w.to_ascii_lowercase()),
                Tok::Str(s) => Some(s.to_ascii_lowercase()),
                _ => None,
            }) {
                self.lexer.std_strings = v.as_slice() != b"off" && v.as_slice() != b"false";
            }
            return (None, false);
        }
        if is(0, "select") {
            if let Some(k) = (0..toks.len().min(8)).find(|&i| toks[i].tok.is("setval")) {
                if let Some(Tok::Str(s)) = toks.get(k + 2).map(|t| &t.tok) {
                    return (Some(name_in_string(s, ds)), false);
                }
            }
            return (None, false);
        }
        if is(0, "create") {
            if let Some(i) = find(1, "sequence", 3) {
                return (qname(toks, skip_if_exists(i + 1), ds).map(|q| q.0), false);
            }
            if let Some(i) = find(1, "index", 4) {
                let on = find(i + 1, "on", 8);
                if let Some(on) = on {
                    let mut t = on + 1;
                    if is(t, "only") {
                        t += 1;
                    }
                    let table = qname(toks, t, ds).map(|q| q.0);
                    if let (Some(table), Some((idx, _))) =
                        (&table, qname(toks, skip_if_exists(i + 1), ds))
                    {
                        if on > i + 1 && !is(i + 1, "on") {
                            let idx = QName {
                                schema: idx.schema.or_else(|| table.schema.clone()),
                                name: idx.name,
                            };
                            self.resolve_deferred(LateKind::Index, &idx, table);
                            self.index_table.insert(idx, table.clone());
                        }
                    }
                    return (table, true);
                }
            }
            if let Some(i) = find(1, "trigger", 4) {
                if let Some(on) = find(i + 1, "on", 30) {
                    return (qname(toks, on + 1, ds).map(|q| q.0), true);
                }
            }
            if is(1, "statistics") {
                // CREATE STATISTICS [IF NOT EXISTS] name [(kinds)] ON columns FROM table
                let stat = qname(toks, skip_if_exists(2), ds).map(|q| q.0);
                let from = (3..toks.len()).rev().find(|&k| toks[k].tok.is("from"));
                let table = from.and_then(|f| qname(toks, f + 1, ds)).map(|q| q.0);
                if let (Some(stat), Some(table)) = (stat, &table) {
                    let stat = QName {
                        schema: stat.schema.or_else(|| table.schema.clone()),
                        name: stat.name,
                    };
                    self.resolve_deferred(LateKind::Statistics, &stat, table);
                    self.stats_table.insert(stat, table.clone());
                }
                return (table, true);
            }
            if let Some(i) = find(1, "rule", 4) {
                if let Some(to) = find(i + 1, "to", 10) {
                    return (qname(toks, to + 1, ds).map(|q| q.0), true);
                }
            }
            if let Some(i) = find(1, "policy", 2) {
                if let Some(on) = find(i + 1, "on", 4) {
                    return (qname(toks, on + 1, ds).map(|q| q.0), true);
                }
            }
            if let Some(i) = find(1, "view", 4) {
                return (qname(toks, skip_if_exists(i + 1), ds).map(|q| q.0), false);
            }
            return (None, false);
        }
        if is(0, "alter") && is(1, "sequence") {
            let i = skip_if_exists(2);
            let seq = qname(toks, i, ds).map(|q| q.0);
            if let (Some(seq), Some(k)) = (&seq, find(i, "owned", toks.len())) {
                if is(k + 1, "by") {
                    if let Some((mut parts, _)) = dotted(toks, k + 2) {
                        if parts.len() >= 2 {
                            parts.pop();
                            let name = parts.pop().unwrap_or_default();
                            let table = QName {
                                schema: parts.pop().or_else(|| ds.map(str::to_owned)),
                                name,
                            };
                            self.derived.push(Derive::SeqOf {
                                seq: seq.clone(),
                                table,
                            });
                        }
                    }
                }
            }
            return (seq, false);
        }
        if is(0, "alter") && is(1, "table") {
            let mut i = skip_if_exists(2);
            if is(i, "only") {
                i += 1;
            }
            let Some((table, next)) = qname(toks, i, ds) else {
                return (None, false);
            };
            if let Some(k) = find(next, "attach", 3) {
                if is(k + 1, "partition") {
                    if let Some((child, _)) = qname(toks, k + 2, ds) {
                        self.derived.push(Derive::PartitionOf {
                            child,
                            parent: table.clone(),
                        });
                    }
                }
            }
            if let Some(k) = find(next, "identity", toks.len()) {
                if let Some(s) = find(k, "sequence", 4) {
                    if is(s + 1, "name") {
                        if let Some((seq, _)) = qname(toks, s + 2, ds) {
                            self.derived.push(Derive::SeqOf {
                                seq,
                                table: table.clone(),
                            });
                        }
                    }
                }
            }
            return (Some(table), false);
        }
        if is(0, "alter") && is(1, "index") {
            let i = skip_if_exists(2);
            let idx = qname(toks, i, ds).map(|q| q.0);
            return (idx.and_then(|i| self.index_table.get(&i).cloned()), true);
        }
        if is(0, "comment") && is(1, "on") {
            let mut i = 2;
            if is(i, "materialized") {
                i += 1;
            }
            if is(i, "column") {
                return match dotted(toks, i + 1) {
                    Some((mut parts, _)) if parts.len() >= 2 => {
                        parts.pop();
                        let name = parts.pop().unwrap_or_default();
                        (
                            Some(QName {
                                schema: parts.pop(),
                                name,
                            }),
                            true,
                        )
                    }
                    _ => (None, false),
                };
            }
            if is(i, "table") || is(i, "view") || is(i, "sequence") {
                return (qname(toks, i + 1, ds).map(|q| q.0), is(i, "table"));
            }
            if is(i, "index") {
                let idx = qname(toks, i + 1, ds).map(|q| q.0);
                return (idx.and_then(|i| self.index_table.get(&i).cloned()), true);
            }
            if is(i, "constraint") || is(i, "trigger") || is(i, "rule") || is(i, "policy") {
                if let Some(on) = find(i + 2, "on", 3) {
                    let mut t = on + 1;
                    if is(t, "domain") {
                        return (None, false);
                    }
                    if is(t, "table") {
                        t += 1;
                    }
                    return (qname(toks, t, ds).map(|q| q.0), true);
                }
            }
            return (None, false);
        }
        if is(0, "grant") || is(0, "revoke") {
            if let Some(on) = find(1, "on", 20) {
                let mut t = on + 1;
                if is(t, "table") || is(t, "sequence") {
                    t += 1;
                } else if toks.get(t + 1).is_some_and(|x| {
                    x.tok.ident().is_some() && !x.tok.is("to") && !x.tok.is("from")
                }) {
                    return (None, false);
                }
                return (qname(toks, t, ds).map(|q| q.0), false);
            }
            return (None, false);
        }
        if is(0, "drop") {
            let mut i = 1;
            if is(i, "materialized") {
                i += 1;
            }
            if is(i, "table") || is(i, "sequence") || is(i, "view") {
                let name = qname(toks, skip_if_exists(i + 1), ds).map(|q| q.0);
                if let (true, Some(table)) = (is(i, "table"), &name) {
                    self.dropped_tables.insert(table.clone());
                }
                return (name, is(i, "table"));
            }
            let late = if is(i, "index") {
                Some(LateKind::Index)
            } else if is(i, "statistics") {
                Some(LateKind::Statistics)
            } else {
                None
            };
            if let Some(kind) = late {
                let mut n = i + 1;
                if is(n, "concurrently") {
                    n += 1;
                }
                let if_exists = is(n, "if") && is(n + 1, "exists");
                let Some((name, _)) = qname(toks, skip_if_exists(n), ds) else {
                    return (None, false);
                };
                if let Some(table) = self.late_map(kind).get(&name) {
                    return (Some(table.clone()), true);
                }
                // One name only: a list could mix tables.
                if !toks.iter().any(|t| t.tok == Tok::Punct(b',')) {
                    self.late = Some(LateOwner {
                        kind,
                        name,
                        if_exists,
                    });
                }
                return (None, false);
            }
            if is(i, "trigger") || is(i, "rule") || is(i, "policy") {
                if let Some(on) = find(i + 1, "on", 5) {
                    return (qname(toks, on + 1, ds).map(|q| q.0), true);
                }
            }
            return (None, false);
        }
        if is(0, "security") && is(1, "label") {
            if let Some(on) = find(2, "on", 6) {
                if is(on + 1, "table") {
                    return (qname(toks, on + 2, ds).map(|q| q.0), true);
                }
            }
            return (None, false);
        }
        if is(0, "refresh") {
            if let Some(v) = find(1, "view", 3) {
                return (qname(toks, v + 1, ds).map(|q| q.0), false);
            }
        }
        (None, false)
    }
}

/// Splits an INSERT tuple `( ... )` into value spans (relative to `t`). False when malformed.
fn split_tuple(t: &[u8], mysql: bool, std: bool, spans: &mut Vec<(usize, usize)>) -> bool {
    spans.clear();
    let n = t.len();
    if n < 2 || t[0] != b'(' || t[n - 1] != b')' {
        return false;
    }
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 1;
    let mut start = 1;
    let mut depth = 0usize;
    while i < n - 1 {
        let b = t[i];
        let quote = match b {
            b'\'' => Some((
                b'\'',
                mysql
                    || !std
                    || (i >= 1
                        && (t[i - 1] == b'E' || t[i - 1] == b'e')
                        && !(i >= 2 && ident(t[i - 2]))),
            )),
            b'"' => Some((b'"', mysql)),
            b'`' if mysql => Some((b'`', false)),
            _ => None,
        };
        if let Some((q, esc)) = quote {
            // The string must close before the tuple's `)`.
            match string_end(&t[..n - 1], i + 1, q, esc, true) {
                Ok(end) => i = end,
                Err(_) => return false,
            }
            continue;
        }
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    spans.push((start, n - 1));
    true
}

fn trim_span(src: &[u8], (s, e): (usize, usize)) -> (usize, usize) {
    let mut s = s;
    let mut e = e;
    while s < e && src[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && src[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// Everything one row rewrite needs besides the row.
struct RowJob<'p, 'a> {
    anon: &'a Anonymizer,
    plans: &'p [ColPlan<'a>],
    ctx: Ctx,
    mysql: bool,
    ordinal: u64,
}

impl RowJob<'_, '_> {
    /// Rewrites the values of `src` at `spans` into `out` (the bytes between and around the
    /// spans are copied).
    fn rewrite(
        &self,
        src: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        let row_ctx = RowContext {
            ordinal: self.ordinal,
        };
        let mut copied = 0;
        for (i, &span) in spans.iter().enumerate() {
            let Some(plan) = self.plans.get(i) else { break };
            let col = plan.col.as_ref();
            let generated = self.ctx != Ctx::Copy && col.is_some_and(|c| c.generated);
            let Some(node) = plan.node.filter(|_| !generated) else {
                if generated {
                    // A generated column's dumped value (mariadb-dump writes them) is
                    // computed from the row's original values: the server computes it again
                    // from the rewritten ones.
                    let (s, e) = trim_span(src, span);
                    out.extend_from_slice(&src[copied..s]);
                    out.extend_from_slice(b"DEFAULT");
                    copied = e;
                }
                continue;
            };
            let (s, e) = if self.ctx == Ctx::Copy {
                span
            } else {
                trim_span(src, span)
            };
            let text = &src[s..e];
            out.extend_from_slice(&src[copied..s]);
            copied = e;
            if let Some(rule) = node.rule() {
                let value = if self.ctx == Ctx::Copy {
                    copy_value(text, col, scratch)
                } else {
                    let std = !matches!(self.ctx, Ctx::PgInsert { std: false });
                    value_of(
                        parse_literal(text, self.mysql, std),
                        col,
                        scratch,
                        self.mysql,
                    )
                };
                match self.anon.apply(rule, value, &row_ctx) {
                    Replacement::Unchanged => out.extend_from_slice(text),
                    r => write_replacement(&r, col, self.ctx, out),
                }
            } else if node.has_children() {
                self.json(text, node, col, scratch, &row_ctx, out);
            } else {
                out.extend_from_slice(text);
            }
        }
        out.extend_from_slice(&src[copied..]);
    }

    fn json(
        &self,
        text: &[u8],
        node: &PlanNode,
        col: Option<&Column>,
        scratch: &mut Vec<u8>,
        row_ctx: &RowContext,
        out: &mut Vec<u8>,
    ) {
        let doc: Option<&[u8]> = if self.ctx == Ctx::Copy {
            if text == b"\\N" {
                out.extend_from_slice(text);
                return;
            }
            copy_unescape(text, scratch);
            Some(scratch)
        } else {
            let std = !matches!(self.ctx, Ctx::PgInsert { std: false });
            match parse_literal(text, self.mysql, std) {
                Lit::Null => {
                    out.extend_from_slice(text);
                    return;
                }
                lit @ Lit::Str { .. } => match value_of(lit, None, scratch, self.mysql) {
                    anonymize_core::Value::Str(_) | anonymize_core::Value::Bytes(_) => {
                        Some(scratch)
                    }
                    _ => None,
                },
                _ => None,
            }
        };
        let outcome = match doc {
            Some(doc) => rewrite_json(doc, node, self.anon, row_ctx),
            None => JsonOutcome::Invalid,
        };
        match outcome {
            JsonOutcome::Unchanged => out.extend_from_slice(text),
            JsonOutcome::Changed(s) => write_replacement(
                &Replacement::Str(s),
                col.map(|c| Column {
                    max_chars: None,
                    ..c.clone()
                })
                .as_ref(),
                self.ctx,
                out,
            ),
            JsonOutcome::Invalid => write_replacement(&Replacement::Null, col, self.ctx, out),
        }
    }
}

/// The value of one COPY field, typed by its column.
fn copy_value<'b>(
    field: &[u8],
    col: Option<&Column>,
    scratch: &'b mut Vec<u8>,
) -> anonymize_core::Value<'b> {
    use crate::ddl::ColKind;
    use anonymize_core::Value;
    if field == b"\\N" {
        return Value::Null;
    }
    copy_unescape(field, scratch);
    match col.map(|c| c.kind) {
        Some(ColKind::Integer) | Some(ColKind::Decimal) => match number_value(scratch) {
            Value::Other => text_value(scratch, false),
            v => v,
        },
        Some(ColKind::Binary) => bytea_value(scratch),
        Some(ColKind::Bool) => match scratch.as_slice() {
            b"t" => Value::Bool(true),
            b"f" => Value::Bool(false),
            _ => text_value(scratch, false),
        },
        _ => text_value(scratch, false),
    }
}

impl<'a, R: Read, W: Write> Rewriter<'a, R, W> {
    fn keep_trivia(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        let from = if self.prev_dropped {
            tail.min(trivia.len())
        } else {
            0
        };
        self.out.put(&trivia[from..])?;
        self.prev_dropped = false;
        Ok(())
    }

    fn drop_trivia(&mut self, trivia: &[u8], tail: usize) -> Result<(), SqlError> {
        if !self.prev_dropped {
            self.out.put(&trivia[..tail.min(trivia.len())])?;
        }
        self.prev_dropped = true;
        Ok(())
    }

    /// Column plans for the named columns of `table`.
    fn col_plans(
        &self,
        root: Option<&'a PlanNode>,
        def: Option<&TableDef>,
        names: &[String],
    ) -> Vec<ColPlan<'a>> {
        names
            .iter()
            .map(|n| ColPlan {
                node: root.and_then(|r| r.child(n.as_bytes())),
                col: def.and_then(|d| d.columns.iter().find(|c| c.name == *n).cloned()),
            })
            .collect()
    }

    /// Column plans for rows without a column list, chosen by the number of values.
    fn positional_plans(
        &self,
        root: Option<&'a PlanNode>,
        def: Option<&TableDef>,
        count: usize,
        table: &QName,
    ) -> Result<Vec<ColPlan<'a>>, SqlError> {
        let Some(def) = def else {
            return Err(self.err(0, Some(table), "rows without a column list for a table whose CREATE TABLE was not seen: rules cannot be applied (dump with --complete-insert/--column-inserts, or include the DDL)"));
        };
        let all: Vec<&Column> = def.columns.iter().collect();
        let stored: Vec<&Column> = def.columns.iter().filter(|c| !c.generated).collect();
        let cols = if count == all.len() {
            all
        } else if count == stored.len() {
            stored
        } else {
            return Err(self.err(
                0,
                Some(table),
                format!(
                    "a row has {count} values but the table has {} columns",
                    def.columns.len()
                ),
            ));
        };
        Ok(cols
            .into_iter()
            .map(|c| ColPlan {
                node: root.and_then(|r| r.child(c.name.as_bytes())),
                col: Some(c.clone()),
            })
            .collect())
    }

    /// INSERT / REPLACE statements.
    pub(crate) fn insert(&mut self) -> Result<(), SqlError> {
        let Some(head) = self.insert_head()? else {
            return self.general();
        };
        let Some(mut target) = self.insert_target(&head)? else {
            return self.general();
        };
        let result = self.insert_into(&mut target, &head);
        self.last_insert = Some(target);
        result
    }

    /// Finds the head of the INSERT at the start of the input, looking at longer and longer
    /// prefixes. `None`: not one this rewriter handles row by row.
    ///
    /// A head spelled exactly like the previous one (single-row INSERTs repeat theirs) is
    /// recognised by comparing bytes instead of tokenizing it again.
    fn insert_head(&mut self) -> Result<Option<InsertHead>, SqlError> {
        if let Some((bytes, head)) = &self.last_head {
            let a = self.input.avail();
            if a.len() > bytes.len() && a.starts_with(bytes) && !word_byte(a[bytes.len()]) {
                return Ok(Some(head.clone()));
            }
        }
        let mut want = 1024;
        loop {
            let have = self.input.ensure(want)?;
            let a = self.input.avail();
            match scan_insert_head(&a[..a.len().min(want)], self.mysql) {
                HeadScan::Values(head) => {
                    let mut bytes = self.last_head.take().map(|(b, _)| b).unwrap_or_default();
                    bytes.clear();
                    bytes.extend_from_slice(&a[..head.end]);
                    self.last_head = Some((bytes, head.clone()));
                    return Ok(Some(head));
                }
                HeadScan::Other => return Ok(None),
                HeadScan::NeedMore if have < want || want >= CAPTURE_LIMIT => return Ok(None),
                HeadScan::NeedMore => want *= 4,
            }
        }
    }

    /// The table an INSERT writes to, with what the rules decide for it. A run of INSERTs
    /// into one table (one row each with `--skip-extended-insert` / `--inserts`) resolves
    /// the name once: the previous INSERT's target is reused while the name is spelled the
    /// same and no other statement came between (one could change the database, a
    /// definition or an exclusion). `None`: the name is not a table name.
    fn insert_target(&mut self, head: &InsertHead) -> Result<Option<InsertTarget<'a>>, SqlError> {
        let raw = &self.input.avail()[head.name.clone()];
        if let Some(last) = self.last_insert.take() {
            if last.raw == raw {
                return Ok(Some(last));
            }
        }
        let ds = self.default_schema();
        let toks = tokenize(raw, self.mysql, usize::MAX);
        let Some((table, _)) = qname(&toks, 0, ds.as_deref()) else {
            return Ok(None);
        };
        let raw = raw.to_vec();
        self.flush_pending()?;
        self.apply_derivations();
        let sidx = self.summary(&table);
        let excluded = self.is_excluded(&table, true);
        let plan = self.plan(&table);
        Ok(Some(InsertTarget {
            raw,
            table,
            sidx,
            excluded,
            plan,
            plans: None,
        }))
    }

    /// Writes, drops or rewrites the rows of an INSERT into `target`.
    fn insert_into(
        &mut self,
        target: &mut InsertTarget<'a>,
        head: &InsertHead,
    ) -> Result<(), SqlError> {
        let sidx = target.sidx;
        let (trivia, tail) = self.statement_trivia();
        let in0 = self.input.offset();
        let out0 = self.out.bytes;
        self.lexer.reset(false);
        match target.plan {
            Some(p) if !target.excluded && !p.schema_only() => {
                if p.root().is_none() && p.max_rows().is_none() {
                    self.keep_trivia(&trivia, tail)?;
                    let rows = self.stream_rest(head.end, true, Some(&target.table))?;
                    self.ordinals[sidx] += rows;
                    let s = &mut self.summaries[sidx];
                    s.rows_in += rows;
                    s.rows_out += rows;
                } else {
                    self.insert_rows(target, p, head, &trivia, tail)?;
                }
            }
            _ => {
                self.drop_trivia(&trivia, tail)?;
                let rows = self.stream_rest(head.end, false, Some(&target.table))?;
                self.summaries[sidx].rows_in += rows;
            }
        }
        let s = &mut self.summaries[sidx];
        s.bytes_in += self.input.offset() - in0 + trivia.len() as u64;
        s.bytes_out += self.out.bytes - out0;
        self.recycle_trivia(trivia);
        Ok(())
    }

    /// The column plans for an INSERT's column list: the target's cached ones when the list
    /// is spelled as before, else made from the list (`None` without a list: positional
    /// plans are made from the first row's width).
    fn insert_plans(
        &mut self,
        target: &mut InsertTarget<'a>,
        root: Option<&'a PlanNode>,
        head: &InsertHead,
    ) -> Option<ColumnPlans<'a>> {
        let list = head.columns.clone().map(|r| &self.input.avail()[r]);
        if let Some(cached) = target.plans.take() {
            if cached.list.as_deref() == list {
                return Some(cached);
            }
        }
        let list = list?.to_vec();
        let names = column_names(&list, self.mysql);
        let def = self.table_state(&target.table).def.clone();
        Some(ColumnPlans {
            plans: self.col_plans(root, def.as_deref(), &names),
            list: Some(list),
        })
    }

    /// Rewrites (or limits) the rows of an INSERT whose table has rules or a row limit.
    fn insert_rows(
        &mut self,
        target: &mut InsertTarget<'a>,
        plan: anonymize_core::CollectionPlan<'a>,
        head: &InsertHead,
        trivia: &[u8],
        tail: usize,
    ) -> Result<(), SqlError> {
        let root = plan.root();
        let mut plans = self.insert_plans(target, root, head);
        let positional = head.columns.is_none();
        let (table, sidx) = (&target.table, target.sidx);
        let mut head_bytes = std::mem::take(&mut self.head_bytes);
        head_bytes.clear();
        head_bytes.extend_from_slice(&self.input.avail()[..head.end]);
        self.input.consume(head.end);
        let ctx = if self.mysql {
            Ctx::MySql
        } else {
            Ctx::PgInsert {
                std: self.lexer.std_strings,
            }
        };
        let mut kept_any = false;
        let mut sep = Vec::new();
        let mut spans = std::mem::take(&mut self.spans);
        let mut row = std::mem::take(&mut self.row);
        let mut scratch = std::mem::take(&mut self.scratch);
        loop {
            sep.clear();
            loop {
                if self.input.ensure(1)? == 0 {
                    break;
                }
                let a = self.input.avail();
                let n = a
                    .iter()
                    .take_while(|b| b.is_ascii_whitespace() || **b == b',')
                    .count();
                let all = n == a.len();
                sep.extend_from_slice(&a[..n]);
                self.input.consume(n);
                if !all {
                    break;
                }
            }
            let next = self.input.avail().first().copied();
            if next != Some(b'(') {
                // The statement's end: its delimiter or an ON DUPLICATE KEY UPDATE clause.
                let a = self.input.avail();
                let ok = next.is_none()
                    || a.starts_with(self.lexer.delimiter())
                    || ci_starts(a, b"on ")
                    || ci_starts(a, b"on\n")
                    || ci_starts(a, b"returning");
                if !ok {
                    return Err(self.err(
                        0,
                        Some(table),
                        "unexpected text between the rows of an INSERT",
                    ));
                }
                self.lexer.reset(false);
                if kept_any {
                    self.out.put(&sep)?;
                    self.stream_rest(0, true, Some(table))?;
                } else {
                    self.drop_trivia(trivia, tail)?;
                    self.stream_rest(0, false, Some(table))?;
                }
                break;
            }
            self.lexer.reset(true);
            let mut scanned = 0;
            let end = loop {
                let eof = self.input.eof();
                match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                    Scan::Found(e) => break scanned + e,
                    Scan::More(m) => {
                        scanned += m;
                        if eof {
                            return Err(self.err(
                                scanned,
                                Some(table),
                                "the input ends inside a row",
                            ));
                        }
                        self.input.fill()?;
                    }
                }
            };
            self.ordinals[sidx] += 1;
            let ordinal = self.ordinals[sidx];
            self.summaries[sidx].rows_in += 1;
            let keep = plan.max_rows().is_none_or(|m| ordinal <= m);
            if keep {
                if kept_any {
                    self.out.put(&sep)?;
                } else {
                    self.keep_trivia(trivia, tail)?;
                    self.out.put(&head_bytes)?;
                    self.out.put(&sep)?;
                    kept_any = true;
                }
                if root.is_some() {
                    let tuple = &self.input.avail()[..end];
                    let std = !matches!(ctx, Ctx::PgInsert { std: false });
                    if !split_tuple(tuple, self.mysql, std, &mut spans) {
                        return Err(self.err(0, Some(table), "a row of an INSERT is malformed"));
                    }
                    if plans
                        .as_ref()
                        .is_none_or(|p| positional && p.plans.len() != spans.len())
                    {
                        let def = self.table_state(table).def.clone();
                        plans = Some(ColumnPlans {
                            list: None,
                            plans: self.positional_plans(
                                root,
                                def.as_deref(),
                                spans.len(),
                                table,
                            )?,
                        });
                    }
                    let job = RowJob {
                        anon: self.anon,
                        plans: plans.as_ref().map_or(&[], |p| &p.plans[..]),
                        ctx,
                        mysql: self.mysql,
                        ordinal,
                    };
                    row.clear();
                    let tuple = &self.input.avail()[..end];
                    job.rewrite(tuple, &spans, &mut scratch, &mut row);
                    self.out.put(&row)?;
                } else {
                    self.out.put(&self.input.avail()[..end])?;
                }
                self.summaries[sidx].rows_out += 1;
            }
            self.input.consume(end);
        }
        self.spans = spans;
        self.row = row;
        self.scratch = scratch;
        self.head_bytes = head_bytes;
        target.plans = plans;
        Ok(())
    }

    /// `COPY ... FROM stdin;` and its data block.
    pub(crate) fn copy(&mut self) -> Result<(), SqlError> {
        self.last_insert = None;
        let (end, complete) = self.capture(1 << 20)?;
        if !complete {
            return Err(self.err(0, None, "a COPY statement is too long"));
        }
        let body = &self.input.avail()[..end];
        let toks = tokenize(body, false, usize::MAX);
        let Some((table, next)) = qname(&toks, 1, None) else {
            return self.general_captured(end);
        };
        let from_stdin = toks
            .windows(2)
            .any(|w| w[0].tok.is("from") && w[1].tok.is("stdin"));
        if !from_stdin {
            return self.general_captured(end);
        }
        let mut columns = None;
        if toks.get(next).map(|t| &t.tok) == Some(&Tok::Punct(b'(')) {
            let mut names = Vec::new();
            let mut j = next + 1;
            while j < toks.len() && toks[j].tok != Tok::Punct(b')') {
                if let Some(id) = toks[j].tok.ident() {
                    names.push(String::from_utf8_lossy(id).into_owned());
                }
                j += 1;
            }
            columns = Some(names);
        }
        // The data starts on the next line.
        let mut header_end = end;
        loop {
            let a = self.input.avail();
            if let Some(k) = memchr::memchr(b'\n', &a[header_end..]) {
                header_end += k + 1;
                break;
            }
            if !self.input.fill()? {
                header_end = self.input.avail().len();
                break;
            }
        }
        self.flush_pending()?;
        self.apply_derivations();
        let sidx = self.summary(&table);
        let excluded = self.is_excluded(&table, true);
        let plan = self.plan(&table);
        let (trivia, tail) = self.statement_trivia();
        let in0 = self.input.offset();
        let out0 = self.out.bytes;
        let header = self.input.avail()[..header_end].to_vec();
        self.input.consume(header_end);
        match plan {
            Some(p) if !excluded && !p.schema_only() => {
                self.keep_trivia(&trivia, tail)?;
                self.out.put(&header)?;
                if p.root().is_none() && p.max_rows().is_none() {
                    let rows = self.copy_data_fast(true, &table)?;
                    self.ordinals[sidx] += rows;
                    let s = &mut self.summaries[sidx];
                    s.rows_in += rows;
                    s.rows_out += rows;
                } else {
                    self.copy_rows(&table, sidx, p, columns)?;
                }
            }
            _ => {
                self.drop_trivia(&trivia, tail)?;
                let rows = self.copy_data_fast(false, &table)?;
                self.summaries[sidx].rows_in += rows;
            }
        }
        let s = &mut self.summaries[sidx];
        s.bytes_in += self.input.offset() - in0 + trivia.len() as u64;
        s.bytes_out += self.out.bytes - out0;
        Ok(())
    }

    /// A captured statement that turned out to be an ordinary one.
    fn general_captured(&mut self, _end: usize) -> Result<(), SqlError> {
        self.general()
    }

    /// Length of the terminator line `\.` at the start of `a` (with its line end), if it
    /// is one; `Err(())` when more bytes are needed to tell.
    fn terminator(a: &[u8], eof: bool) -> Result<Option<usize>, ()> {
        if a.len() < 2 {
            return if eof || (!a.is_empty() && a[0] != b'\\') {
                Ok(None)
            } else {
                Err(())
            };
        }
        if &a[..2] != b"\\." {
            return Ok(None);
        }
        match a.get(2) {
            None if eof => Ok(Some(2)),
            None => Err(()),
            Some(b'\n') => Ok(Some(3)),
            Some(b'\r') => match a.get(3) {
                Some(b'\n') => Ok(Some(4)),
                None if !eof => Err(()),
                _ => Ok(Some(3)),
            },
            Some(_) => Ok(None),
        }
    }

    /// Copies (or drops) a COPY data block through its `\.` line; returns its row count.
    fn copy_data_fast(&mut self, write: bool, table: &QName) -> Result<u64, SqlError> {
        let mut rows = 0u64;
        let mut line_start = true;
        let finder = memchr::memmem::Finder::new(b"\n\\.");
        loop {
            let eof = self.input.eof();
            let a = self.input.avail();
            if line_start {
                match Self::terminator(a, eof) {
                    Ok(Some(t)) => {
                        if write {
                            self.out.put(&a[..t])?;
                        }
                        self.input.consume(t);
                        return Ok(rows);
                    }
                    Ok(None) => {}
                    Err(()) => {
                        self.input.fill()?;
                        continue;
                    }
                }
            }
            if a.is_empty() {
                if !self.input.fill()? {
                    return Err(self.err(
                        0,
                        Some(table),
                        "the input ends inside a COPY block (no \\. line)",
                    ));
                }
                continue;
            }
            let upto = match finder.find(a) {
                Some(k) => k + 1,
                None => memchr::memrchr(b'\n', a).map_or(a.len(), |k| k + 1),
            };
            let chunk = &a[..upto];
            let lines = count_newlines(chunk);
            rows += lines;
            line_start = chunk.last() == Some(&b'\n');
            if write {
                self.out.put(chunk)?;
            }
            self.input.consume_lines(upto, lines);
        }
    }

    /// Rewrites a COPY data block row by row.
    fn copy_rows(
        &mut self,
        table: &QName,
        sidx: usize,
        plan: anonymize_core::CollectionPlan<'a>,
        columns: Option<Vec<String>>,
    ) -> Result<(), SqlError> {
        let root = plan.root();
        let def = self.table_state(table).def.clone();
        let plans: Vec<ColPlan<'a>> = match &columns {
            Some(c) => self.col_plans(root, def.as_deref(), c),
            None => match def.as_deref() {
                Some(d) => {
                    let names: Vec<String> = d
                        .columns
                        .iter()
                        .filter(|c| !c.generated)
                        .map(|c| c.name.clone())
                        .collect();
                    self.col_plans(root, Some(d), &names)
                }
                None if root.is_some() => {
                    return Err(self.err(0, Some(table), "COPY without a column list for a table whose CREATE TABLE was not seen: rules cannot be applied"));
                }
                None => Vec::new(),
            },
        };
        let mut spans = std::mem::take(&mut self.spans);
        let mut row = std::mem::take(&mut self.row);
        let mut scratch = std::mem::take(&mut self.scratch);
        loop {
            let eof = self.input.eof();
            match Self::terminator(self.input.avail(), eof) {
                Ok(Some(t)) => {
                    self.out.put(&self.input.avail()[..t])?;
                    self.input.consume(t);
                    break;
                }
                Ok(None) => {}
                Err(()) => {
                    self.input.fill()?;
                    continue;
                }
            }
            let line_end = match memchr::memchr(b'\n', self.input.avail()) {
                Some(k) => k + 1,
                None => {
                    if !self.input.fill()? {
                        return Err(self.err(
                            0,
                            Some(table),
                            "the input ends inside a COPY block (no \\. line)",
                        ));
                    }
                    continue;
                }
            };
            self.ordinals[sidx] += 1;
            let ordinal = self.ordinals[sidx];
            self.summaries[sidx].rows_in += 1;
            if plan.max_rows().is_none_or(|m| ordinal <= m) {
                if root.is_some() {
                    let line = &self.input.avail()[..line_end];
                    let content = line.len()
                        - 1
                        - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
                    spans.clear();
                    let mut start = 0;
                    for k in memchr::memchr_iter(b'\t', &line[..content]) {
                        spans.push((start, k));
                        start = k + 1;
                    }
                    spans.push((start, content));
                    let job = RowJob {
                        anon: self.anon,
                        plans: &plans,
                        ctx: Ctx::Copy,
                        mysql: false,
                        ordinal,
                    };
                    row.clear();
                    job.rewrite(line, &spans, &mut scratch, &mut row);
                    self.out.put(&row)?;
                } else {
                    self.out.put(&self.input.avail()[..line_end])?;
                }
                self.summaries[sidx].rows_out += 1;
            }
            self.input.consume(line_end);
        }
        self.spans = spans;
        self.row = row;
        self.scratch = scratch;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

    use crate::{rewrite_sql, SqlOptions, SqlSummary};

    fn run(dump: &str, yaml: &str) -> (String, SqlSummary) {
        let rules = RuleSet::from_yaml(yaml, "t.yaml").unwrap();
        let key = Key::from_bytes(b"unit test key, long enough").unwrap();
        let anon = Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap();
        let mut out = Vec::new();
        let summary =
            rewrite_sql(dump.as_bytes(), &mut out, &anon, &SqlOptions::default()).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn single_row_inserts_follow_database_changes() {
        let dump = "-- MySQL dump\nUSE `a`;\nINSERT INTO `t` VALUES (1,'x');\nINSERT INTO `t` VALUES (2,'y');\n\
                    USE `b`;\nINSERT INTO `t` VALUES (1,'x');\nUSE `c`;\nINSERT INTO `t` VALUES (1,'x');\n";
        let yaml = "rules:\n  a.t:\n    fields:\n      s: {transform: constant, value: A}\n  \
                    c.t:\n    fields:\n      s: {transform: constant, value: C}\n\
                    exclusions:\n  - b.t\n";
        let dump = dump.replace("`t` VALUES", "`t` (`id`,`s`) VALUES");
        let (out, summary) = run(&dump, yaml);
        assert_eq!(
            out,
            "-- MySQL dump\nUSE `a`;\nINSERT INTO `t` (`id`,`s`) VALUES (1,'A');\nINSERT INTO `t` (`id`,`s`) VALUES (2,'A');\n\
             USE `b`;\nUSE `c`;\nINSERT INTO `t` (`id`,`s`) VALUES (1,'C');\n"
        );
        let rows: Vec<_> = summary
            .tables
            .iter()
            .map(|t| (t.table.as_str(), t.rows_in, t.rows_out))
            .collect();
        assert_eq!(rows, [("a.t", 2, 2), ("b.t", 1, 0), ("c.t", 1, 1)]);
    }

    #[test]
    fn column_plans_follow_each_statements_column_list() {
        let dump = "-- MySQL dump\nCREATE TABLE `t` (`id` int, `s` text, `k` text);\n\
                    INSERT INTO `t` (`id`,`s`,`k`) VALUES (1,'x','keep');\n\
                    INSERT INTO `t` (`id`,`s`,`k`) VALUES (2,'x','keep');\n\
                    INSERT INTO `t` (`k`,`s`,`id`) VALUES ('keep','x',3);\n\
                    INSERT INTO `t` VALUES (4,'x','keep');\n\
                    INSERT INTO `t` (`id`,`k`) VALUES (5,'keep');\n";
        let yaml = "rules:\n  t:\n    fields:\n      s: {transform: constant, value: S}\n";
        let (out, _) = run(dump, yaml);
        assert_eq!(out.matches("'keep'").count(), 5, "{out}");
        assert_eq!(out.matches("'S'").count(), 4, "{out}");
        assert!(!out.contains("'x'"), "{out}");
    }

    #[test]
    fn ordinals_continue_per_table_across_interleaved_inserts() {
        let dump = "--\n-- PostgreSQL database dump\n--\n\
                    INSERT INTO public.t (id, n) VALUES (1, 'a');\nINSERT INTO public.t (id, n) VALUES (2, 'b');\n\
                    INSERT INTO public.u (id, n) VALUES (1, 'c');\nINSERT INTO public.t (id, n) VALUES (3, 'd'), (4, 'e');\n";
        let yaml = "rules:\n  t:\n    fields:\n      n: sequential\n  u:\n    fields:\n      n: sequential\n";
        let (out, summary) = run(dump, yaml);
        for (id, name) in [(1, "User1"), (2, "User2"), (3, "User3"), (4, "User4")] {
            assert!(out.contains(&format!("({id}, '{name}')")), "{id}: {out}");
        }
        assert!(
            out.contains("public.u (id, n) VALUES (1, 'User1');"),
            "{out}"
        );
        assert_eq!(summary.tables[0].rows_out, 4);
    }
}
