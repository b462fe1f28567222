//! The public, pull-based reader of a SQL dump: [`SqlReader`] reads a dump exactly as the
//! rewriter does, through the same lexer ([`crate::lex`]), statement classifier
//! ([`crate::stmt`]), session recording ([`crate::session`]) and catalog
//! ([`crate::catalog`]), and yields borrowed, typed [`Event`]s: comments, session changes,
//! table definitions, statements with their relation, data statements with what the rules
//! decide for their table, and rows whose cells decode into a scratch buffer.
//!
//! The rewriter does not go through it (its hot path stays on the internals); what they share
//! is every rule of reading, so the checks built on this reader (`inspect`, `scan`,
//! `verify`) see the values a run sees.

mod event;

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

use anonymize_core::{Anonymizer, PlanNode};

pub use event::{
    Cell, ColumnInfo, Event, Literal, Namespace, Row, RowsInfo, SessionChange, Statement, TableInfo,
};

use crate::catalog::Catalog;
use crate::ddl::TableDef;
use crate::dialect::Syntax;
use crate::emit::Direct;
use crate::error::SqlError;
use crate::head::{column_names, copy_columns, scan_insert_head, HeadScan};
use crate::input::{count_newlines, Input};
use crate::lex::copy::{split_fields, terminator};
use crate::lex::trivia::{trivia_at, Trivia, TRIVIA_LOOKAHEAD};
use crate::lex::tuple::split_tuple;
use crate::session::Session;
use crate::source::Source;
use crate::stmt::{classify, header_database, Fact, Owner};
use crate::tokens::{qname, tokenize, QName, Tokens};
use crate::{detect_dialect, Dialect, SqlOptions};

/// INSERT heads longer than this are read as ordinary statements (as the rewriter does).
const HEAD_LIMIT: usize = 4 << 20;
/// COPY statements longer than this are an error (as in the rewriter).
const COPY_HEAD_LIMIT: usize = 1 << 20;

/// A queued event, owned until it is yielded.
#[derive(Debug)]
enum Queued {
    Schema(Option<String>),
    AnsiQuotes(bool),
    StdStrings(bool),
    Latin1(bool),
    Delimiter(Vec<u8>),
    Table {
        name: QName,
        def: Rc<TableDef>,
        parents: Vec<QName>,
    },
}

/// What one step of reading produced; the event is made from it and the reader's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    End,
    Comment(usize),
    Statement(usize),
    Queued,
    Rows,
    Row(usize),
}

/// Which data statement is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Statements,
    Insert,
    Copy,
}

/// The session state an event may change, to report what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    schema: Option<String>,
    syntax: Syntax,
    delimiter: Vec<u8>,
}

/// A streaming reader of a MySQL/MariaDB or PostgreSQL dump that yields borrowed, typed
/// [`Event`]s, reading the dump exactly as [`crate::rewrite_sql`] does (the same lexer, session
/// settings, statement classification and knowledge of relations): comments, session changes,
/// table definitions, statements with their relation, data statements with what the rules
/// decide for their table, and rows whose cells decode into a scratch buffer. Memory is
/// bounded by one statement or row (plus the schema's definitions).
///
/// ```
/// use anonymize_core::{Anonymizer, KeyMode, RuleSet};
/// use sql_dump::{Event, SqlOptions, SqlReader};
///
/// let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed)?;
/// let dump = b"--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = off;\n\
///              INSERT INTO public.u (id, email) VALUES (1, 'it\\'s'), (2, E'a\\x40b.org');\n";
/// let mut reader = SqlReader::new(&dump[..], &anon, &SqlOptions::default())?;
/// let (mut values, mut scratch) = (Vec::new(), Vec::new());
/// while let Some(event) = reader.next_event()? {
///     if let Event::Row(row) = event {
///         for cell in row.cells() {
///             let v = cell.decode(&mut scratch).map(|v| String::from_utf8_lossy(v).into_owned());
///             values.push((cell.column().unwrap_or("?").to_owned(), v.unwrap_or_default()));
///         }
///     }
/// }
/// assert_eq!(values[1], ("email".to_owned(), "it's".to_owned()));
/// assert_eq!(values[3], ("email".to_owned(), "a@b.org".to_owned()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqlReader<'a, R> {
    src: Source<R>,
    cat: Catalog<'a>,
    session: Session,
    anon: &'a Anonymizer,
    dialect: Dialect,
    /// Bytes the last event borrowed, consumed at the next call.
    pending: usize,
    queue: VecDeque<Queued>,
    slot: Option<Queued>,
    mode: Mode,
    /// The last statement's relation.
    owner: Option<QName>,
    /// The data statement's table, column list, names by position and rules.
    table: QName,
    list: Option<Vec<String>>,
    names: Vec<String>,
    rules: Option<&'a PlanNode>,
    excluded: bool,
    schema_only: bool,
    /// A run reads the rows one by one (rules or a limit): widths are checked.
    strict: bool,
    spans: Vec<(usize, usize)>,
    ordinals: HashMap<QName, u64>,
    ordinal: u64,
    /// Line where the last event starts.
    line: u64,
    last: Snapshot,
}

impl<'a, R: Read> SqlReader<'a, R> {
    /// A reader of `input` (plain SQL, not gzip). `anon`'s rules decide what [`RowsInfo`]
    /// reports (an empty rule set reports none); `options` gives the dialect (detected from
    /// the first bytes when `None`), the `collections` selection and `keep_users`, as for
    /// [`crate::rewrite_sql`].
    pub fn new(input: R, anon: &'a Anonymizer, options: &SqlOptions) -> Result<Self, SqlError> {
        let mut input = Input::new(input);
        let dialect = match options.dialect {
            Some(d) => d,
            None => {
                input.ensure(64 * 1024)?;
                let avail = input.avail();
                if avail.is_empty() {
                    Dialect::MySql
                } else {
                    detect_dialect(avail).ok_or(SqlError::UnknownDialect)?
                }
            }
        };
        let cat = Catalog::new(
            anon,
            dialect,
            options.collections.clone(),
            options.keep_users,
        );
        let src = Source::new(input, dialect);
        let last = Snapshot {
            schema: None,
            syntax: src.lexer.syntax(),
            delimiter: src.lexer.delimiter().to_vec(),
        };
        Ok(SqlReader {
            src,
            cat,
            session: Session::default(),
            anon,
            dialect,
            pending: 0,
            queue: VecDeque::new(),
            slot: None,
            mode: Mode::Statements,
            owner: None,
            table: QName {
                schema: None,
                name: String::new(),
            },
            list: None,
            names: Vec::new(),
            rules: None,
            excluded: false,
            schema_only: false,
            strict: false,
            spans: Vec::new(),
            ordinals: HashMap::new(),
            ordinal: 0,
            line: 1,
            last,
        })
    }

    /// The dialect read.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// 1-based line where the last event starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next event, or `None` at the end of the dump. Errors name the line, byte offset
    /// and table, never a value.
    pub fn next_event(&mut self) -> Result<Option<Event<'_, 'a>>, SqlError> {
        let step = self.step()?;
        let avail = self.src.input.avail();
        let syntax = self.src.lexer.syntax();
        Ok(Some(match step {
            Step::End => return Ok(None),
            Step::Comment(n) => Event::Comment(&avail[..n]),
            Step::Statement(n) => Event::Statement(Statement {
                text: &avail[..n],
                relation: self.owner.as_ref(),
                syntax,
            }),
            Step::Queued => match self.slot.as_ref().expect("queued event") {
                Queued::Schema(s) => Event::Session(SessionChange::Schema(s.as_deref())),
                Queued::AnsiQuotes(on) => Event::Session(SessionChange::AnsiQuotes(*on)),
                Queued::StdStrings(on) => Event::Session(SessionChange::StdStrings(*on)),
                Queued::Latin1(on) => Event::Session(SessionChange::Latin1(*on)),
                Queued::Delimiter(d) => Event::Session(SessionChange::Delimiter(d)),
                Queued::Table { name, def, parents } => {
                    Event::Table(TableInfo { name, def, parents })
                }
            },
            Step::Rows => Event::Rows(RowsInfo {
                offset: self.src.input.offset(),
                table: &self.table,
                columns: self.list.as_deref(),
                copy: self.mode == Mode::Copy,
                rules: self.rules,
                excluded: self.excluded,
                schema_only: self.schema_only,
            }),
            Step::Row(n) => Event::Row(Row {
                offset: self.src.input.offset(),
                table: &self.table,
                ordinal: self.ordinal,
                line: self.line,
                data: &avail[..n],
                spans: &self.spans,
                names: &self.names,
                copy: self.mode == Mode::Copy,
                syntax,
                rules: self.rules,
            }),
        }))
    }

    /// Consumes `n` bytes, counting their lines.
    fn consume(&mut self, n: usize) {
        let lines = count_newlines(&self.src.input.avail()[..n]);
        self.src.input.consume_lines(n, lines);
    }

    fn err(&self, table: bool, message: impl Into<String>) -> SqlError {
        self.src.err(0, table.then_some(&self.table), message)
    }

    /// Reads up to the next event.
    fn step(&mut self) -> Result<Step, SqlError> {
        loop {
            if self.pending > 0 {
                let n = std::mem::take(&mut self.pending);
                self.consume(n);
            }
            if let Some(q) = self.queue.pop_front() {
                self.slot = Some(q);
                return Ok(Step::Queued);
            }
            match self.mode {
                Mode::Insert => match self.insert_row()? {
                    Some(end) => return Ok(self.row(end)),
                    None => self.mode = Mode::Statements,
                },
                Mode::Copy => match self.copy_row()? {
                    Some(end) => return Ok(self.row(end)),
                    None => self.mode = Mode::Statements,
                },
                Mode::Statements => {}
            }
            if self.mode != Mode::Statements {
                continue;
            }
            if self.src.input.ensure(TRIVIA_LOOKAHEAD)? == 0 {
                return Ok(Step::End);
            }
            self.line = self.src.input.position_at(0).0;
            match trivia_at(self.dialect, self.src.input.avail()) {
                Trivia::Space(n) => {
                    self.consume(n);
                    continue;
                }
                Trivia::LineComment => {
                    let end = self.src.find(b"\n")?;
                    if self.dialect.names_in_current_db() {
                        if let Some(db) = header_database(&self.src.input.avail()[..end]) {
                            self.cat.header_db(db);
                            self.note_changes();
                        }
                    }
                    self.pending = end;
                    return Ok(Step::Comment(end));
                }
                Trivia::Block | Trivia::Sandbox => {
                    let end = self.src.comment_end()?;
                    self.pending = end;
                    return Ok(Step::Comment(end));
                }
                Trivia::None => {}
            }
            if let Some(step) = self.statement()? {
                return Ok(step);
            }
        }
    }

    fn row(&mut self, end: usize) -> Step {
        self.pending = end;
        Step::Row(end)
    }

    /// The statement at the start of the input; `None` when it yields nothing by itself
    /// (a data statement that ended at once).
    fn statement(&mut self) -> Result<Option<Step>, SqlError> {
        let dialect = self.dialect;
        self.src.input.ensure(16)?;
        let a = self.src.input.avail();
        let delimiter_line = dialect.client_delimiter()
            && a.len() > 9
            && a[..9].eq_ignore_ascii_case(b"delimiter")
            && (a[9] == b' ' || a[9] == b'\t');
        if (dialect.backslash_commands() && a[0] == b'\\') || delimiter_line {
            return self.line_command().map(Some);
        }
        self.src.input.ensure(8192)?;
        let a = self.src.input.avail();
        let first = Tokens::new(&a[..a.len().min(8192)], self.src.lexer.syntax()).next();
        let is = |kw: &str| first.as_ref().is_some_and(|t| t.tok.is(kw));
        let insert = is("insert") || is("replace");
        if insert {
            if self.start_insert()? {
                return Ok(Some(Step::Rows));
            }
            if !self.anon.is_empty() {
                return Err(self.err(
                    false,
                    "an INSERT whose table or rows cannot be read (not INSERT INTO name \
                     [(columns)] VALUES ...): rules, exclusions and limits cannot be applied to it",
                ));
            }
        } else if dialect.copy_blocks() && is("copy") && self.start_copy()? {
            return Ok(Some(Step::Rows));
        }
        self.general().map(Some)
    }

    /// A client command line: `\restrict`, `\connect`, `DELIMITER ;;`.
    fn line_command(&mut self) -> Result<Step, SqlError> {
        let end = self.src.find(b"\n")?;
        if self.dialect.client_delimiter() {
            let line = &self.src.input.avail()[..end];
            let delim: Vec<u8> = line[9..]
                .iter()
                .copied()
                .skip_while(|b| *b == b' ' || *b == b'\t')
                .take_while(|b| !b.is_ascii_whitespace())
                .collect();
            self.src.lexer.set_delimiter(&delim);
        }
        self.owner = None;
        self.note_changes();
        self.pending = end;
        Ok(Step::Statement(end))
    }

    /// Any statement that is not a data statement: classified, its facts recorded.
    fn general(&mut self) -> Result<Step, SqlError> {
        let (end, _) = self.src.capture(usize::MAX)?;
        let body = &self.src.input.avail()[..end];
        let syntax = self.src.lexer.syntax();
        let toks: Vec<_> = Tokens::new(body, syntax).collect();
        let ds = self.cat.default_schema();
        let stmt = classify(&toks, body, syntax, ds.as_deref());
        drop(toks);
        let mut tables = Vec::new();
        for fact in stmt.facts {
            if let Fact::CreateTable(c) = &fact {
                let mut parents: Vec<QName> = c.partition_of.iter().cloned().collect();
                parents.extend(c.inherits.iter().cloned());
                tables.push((c.name.clone(), parents));
            }
            self.session
                .record(fact, &mut self.cat, &mut self.src.lexer);
        }
        self.owner = match stmt.owner {
            Owner::Rel(q, _) => Some(q),
            Owner::IndexOf(indexes) => indexes
                .iter()
                .find_map(|i| self.cat.owner_of(crate::stmt::LateKind::Index, i).cloned()),
            Owner::Locked => self.cat.unlock(),
            Owner::Late { kind, name, .. } => self.cat.owner_of(kind, &name).cloned(),
            Owner::None | Owner::Account | Owner::LargeObject(_) => None,
        };
        for (name, parents) in tables {
            let def = self.cat.def(&name).unwrap_or_default();
            self.queue.push_back(Queued::Table { name, def, parents });
        }
        self.note_changes();
        self.pending = end;
        Ok(Step::Statement(end))
    }

    /// Queues an event for each session setting that changed since the last call.
    fn note_changes(&mut self) {
        let now = Snapshot {
            schema: self.cat.default_schema(),
            syntax: self.src.lexer.syntax(),
            delimiter: self.src.lexer.delimiter().to_vec(),
        };
        if now == self.last {
            return;
        }
        let (was, s) = (&self.last.syntax, &now.syntax);
        if now.schema != self.last.schema {
            self.queue.push_back(Queued::Schema(now.schema.clone()));
        }
        if s.ansi_quotes != was.ansi_quotes {
            self.queue.push_back(Queued::AnsiQuotes(s.ansi_quotes));
        }
        if s.std_strings != was.std_strings {
            self.queue.push_back(Queued::StdStrings(s.std_strings));
        }
        if s.latin1 != was.latin1 {
            self.queue.push_back(Queued::Latin1(s.latin1));
        }
        if now.delimiter != self.last.delimiter {
            self.queue
                .push_back(Queued::Delimiter(now.delimiter.clone()));
        }
        self.last = now;
    }

    /// Opens the data statement of `table`: what the rules decide for its rows.
    fn open_table(&mut self, table: QName) {
        self.cat.apply_derivations();
        self.excluded = self.cat.is_excluded(&table, true);
        let plan = self.cat.plan(&table);
        self.schema_only = plan.is_some_and(|p| p.schema_only());
        let read = plan.filter(|p| !self.excluded && !p.schema_only());
        self.rules = read.and_then(|p| p.root());
        self.strict = read.is_some_and(|p| p.root().is_some() || p.max_rows().is_some());
        self.ordinal = self.ordinals.get(&table).copied().unwrap_or(0);
        self.table = table;
        self.names.clear();
        self.owner = None;
    }

    /// Counts one more row of the current table.
    fn count_row(&mut self) {
        self.ordinal += 1;
        match self.ordinals.get_mut(&self.table) {
            Some(n) => *n = self.ordinal,
            None => {
                self.ordinals.insert(self.table.clone(), self.ordinal);
            }
        }
    }

    /// An INSERT's head: `false` when it is not one read row by row.
    fn start_insert(&mut self) -> Result<bool, SqlError> {
        let syntax = self.src.lexer.syntax();
        let mut want = 1024;
        let head = loop {
            let have = self.src.input.ensure(want)?;
            let a = self.src.input.avail();
            match scan_insert_head(&a[..a.len().min(want)], syntax) {
                HeadScan::Values(head) => break head,
                HeadScan::Other => return Ok(false),
                HeadScan::NeedMore if have < want || want >= HEAD_LIMIT => return Ok(false),
                HeadScan::NeedMore => want *= 4,
            }
        };
        let a = self.src.input.avail();
        let ds = self.cat.default_schema();
        let toks = tokenize(&a[head.name.clone()], syntax, usize::MAX);
        let Some((table, _)) = qname(&toks, 0, ds.as_deref()) else {
            return Ok(false);
        };
        let list = head.columns.clone().map(|r| column_names(&a[r], syntax));
        drop(toks);
        self.open_table(table);
        if let Some(list) = &list {
            self.names.clone_from(list);
        }
        self.list = list;
        self.mode = Mode::Insert;
        self.pending = head.end;
        Ok(true)
    }

    /// The next tuple of the INSERT: its end, or `None` after the statement's end.
    fn insert_row(&mut self) -> Result<Option<usize>, SqlError> {
        loop {
            if self.src.input.ensure(1)? == 0 {
                break;
            }
            let a = self.src.input.avail();
            let n = a
                .iter()
                .take_while(|b| b.is_ascii_whitespace() || **b == b',')
                .count();
            let all = n == a.len();
            self.consume(n);
            if !all {
                break;
            }
        }
        let a = self.src.input.avail();
        if a.first() != Some(&b'(') {
            let ci = |w: &[u8]| a.len() >= w.len() && a[..w.len()].eq_ignore_ascii_case(w);
            let ok = a.is_empty()
                || a.starts_with(self.src.lexer.delimiter())
                || ci(b"on ")
                || ci(b"on\n")
                || ci(b"returning");
            if !ok {
                return Err(self.err(true, "unexpected text between the rows of an INSERT"));
            }
            self.src.lexer.reset(false);
            self.src
                .stream_rest::<std::io::Sink, Direct>(0, None, Some(&self.table))?;
            return Ok(None);
        }
        self.line = self.src.input.position_at(0).0;
        let end = self.src.tuple(&self.table)?;
        let syntax = self.src.lexer.syntax();
        if !split_tuple(&self.src.input.avail()[..end], syntax, &mut self.spans) {
            return Err(self.err(true, "a row of an INSERT is malformed"));
        }
        if self.list.is_none() {
            self.positional_names()?;
        }
        self.count_row();
        Ok(Some(end))
    }

    /// The column names of a row without a column list, by its width: all the columns of
    /// the table's definition, or its stored (not generated) ones. Unknown (no names) when
    /// neither fits; an error then while rules apply, as in a run.
    fn positional_names(&mut self) -> Result<(), SqlError> {
        let width = self.spans.len();
        if self.names.len() == width && width > 0 {
            return Ok(());
        }
        self.names.clear();
        if let Some(why) = self.cat.inherits_order_unknown(&self.table) {
            // Unknown names: the values' order is not the definition's (as in a run).
            if self.rules.is_none() {
                return Ok(());
            }
            return Err(self.err(true, crate::catalog::unknown_order_message(&why)));
        }
        let def = self.cat.def(&self.table);
        if let Some(def) = def.as_deref() {
            let all = def.columns.len();
            let stored = def.columns.iter().filter(|c| !c.generated).count();
            if width == all || width == stored {
                let keep_generated = width == all;
                self.names.extend(
                    def.columns
                        .iter()
                        .filter(|c| keep_generated || !c.generated)
                        .map(|c| c.name.clone()),
                );
                return Ok(());
            }
        }
        if self.rules.is_none() {
            return Ok(());
        }
        Err(match def {
            None => self.err(
                true,
                "rows without a column list for a table whose CREATE TABLE was not seen: rules \
                 cannot be applied (dump with --complete-insert/--column-inserts, or include the DDL)",
            ),
            Some(def) => self.err(
                true,
                format!(
                    "a row has {width} values but the table has {} columns",
                    def.columns.len()
                ),
            ),
        })
    }

    /// A `COPY ... FROM stdin` header: `false` when it is not one (`COPY ... TO`, a COPY
    /// whose table cannot be read while no rule applies).
    fn start_copy(&mut self) -> Result<bool, SqlError> {
        let (end, complete) = self.src.capture(COPY_HEAD_LIMIT)?;
        if !complete {
            return Err(self.err(false, "a COPY statement is too long"));
        }
        let syntax = self.src.lexer.syntax();
        let body = &self.src.input.avail()[..end];
        let toks = tokenize(body, syntax, usize::MAX);
        let from_stdin = toks
            .windows(2)
            .any(|w| w[0].tok.is("from") && w[1].tok.is("stdin"));
        if !from_stdin {
            return Ok(false);
        }
        let ds = self.cat.default_schema();
        let Some((table, next)) = qname(&toks, 1, ds.as_deref()) else {
            if self.anon.is_empty() {
                return Ok(false);
            }
            return Err(self.err(
                false,
                "a COPY whose table cannot be read: rules, exclusions and limits cannot be applied to it",
            ));
        };
        let list = copy_columns(&toks, next);
        drop(toks);
        let header_end = self.src.line_end(end)?;
        self.open_table(table);
        match &list {
            Some(list) => self.names.clone_from(list),
            None => {
                if let Some(def) = self.cat.def(&self.table) {
                    let stored = def.columns.iter().filter(|c| !c.generated);
                    self.names.extend(stored.map(|c| c.name.clone()));
                } else if self.rules.is_some() {
                    return Err(self.err(
                        true,
                        "COPY without a column list for a table whose CREATE TABLE was not seen: rules cannot be applied",
                    ));
                }
            }
        }
        self.list = list;
        self.mode = Mode::Copy;
        self.pending = header_end;
        Ok(true)
    }

    /// The next line of the COPY block: its end, or `None` after the `\.` line.
    fn copy_row(&mut self) -> Result<Option<usize>, SqlError> {
        loop {
            let eof = self.src.input.eof();
            let a = self.src.input.avail();
            match terminator(a, eof) {
                Ok(Some(t)) => {
                    self.consume(t);
                    return Ok(None);
                }
                Ok(None) => {}
                Err(()) => {
                    self.src.input.fill()?;
                    continue;
                }
            }
            let Some(end) = memchr::memchr(b'\n', a).map(|k| k + 1) else {
                if !self.src.input.fill()? {
                    return Err(self.err(true, "the input ends inside a COPY block (no \\. line)"));
                }
                continue;
            };
            split_fields(&a[..end], &mut self.spans);
            let width = self.names.len();
            let known = self.list.is_some() || width > 0;
            if self.strict && known && self.spans.len() != width {
                return Err(self.err(
                    true,
                    format!(
                        "a COPY row has {} fields but the statement has {width} columns",
                        self.spans.len()
                    ),
                ));
            }
            self.line = self.src.input.position_at(0).0;
            self.count_row();
            return Ok(Some(end));
        }
    }
}
