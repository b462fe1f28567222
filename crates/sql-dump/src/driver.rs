//! The statement loop: reads the trivia and the statement at the start of the input, hands
//! data statements to [`crate::rows`], classifies every other statement
//! ([`crate::stmt::classify`]), records what it tells in the catalog, and emits it.

use std::io::{Read, Write};

use anonymize_core::{Anonymizer, LargeObjects};

use crate::catalog::{Catalog, CREDENTIAL_TABLES, STATISTICS_TABLES};
use crate::check::{check_column_types, check_foreign_keys, check_partition_key, check_row_types};
use crate::emit::{Emitter, Item, LateOwner, TRIVIA_LIMIT};
use crate::error::SqlError;
use crate::input::Input;
use crate::lex::trivia::{trivia_at, Trivia, TRIVIA_LOOKAHEAD};
use crate::parts::Parts;
use crate::rows::{rewrite_assigned, Handled, Rows};
use crate::session::Session;
use crate::source::Source;
use crate::stmt::{classify, header_database, Derive, Fact, LateKind, LoPart, Owner, Stmt};
use crate::tokens::{QName, Tokens};
use crate::writes::{data_write, DataWrite};
use crate::{Dialect, SqlOptions, SqlSummary};

/// Statements longer than this are streamed instead of held for classification.
const CAPTURE_LIMIT: usize = 4 << 20;
/// Bytes of a streamed statement's start that are classified.
const STREAMED_HEAD: usize = 65536;
/// Tokens of a streamed statement's start that are classified.
const STREAMED_TOKENS: usize = 64;

/// The rewriter of one dump.
pub(crate) struct Rewriter<'a, R: Read, W: Write> {
    p: Parts<'a, R, W>,
    rows: Rows<'a>,
    /// The session settings statements change (saved SQL modes).
    session: Session,
    /// Credentials are kept.
    keep_users: bool,
    /// Account statements dropped.
    accounts_dropped: u64,
    /// Role passwords removed.
    passwords_removed: u64,
    /// Large objects created by the dump.
    large_objects: u64,
}

/// What the driver makes of a statement's owner.
struct Resolved {
    owner: Option<QName>,
    owner_is_table: bool,
    late: Option<LateOwner>,
    /// Dropped whatever its owner.
    dropped: bool,
    /// Known relations it depends on.
    refs: Vec<QName>,
}

fn ci_starts(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// The MySQL client's delimiter command at the start of `a` (`DELIMITER ;;` or its short
/// form `\d ;;`): the length of the command word.
fn delimiter_command(a: &[u8]) -> Option<usize> {
    let n = if ci_starts(a, b"delimiter") {
        9
    } else if a.starts_with(b"\\d") {
        2
    } else {
        return None;
    };
    a.get(n)
        .is_some_and(|b| *b == b' ' || *b == b'\t')
        .then_some(n)
}

impl<'a, R: Read, W: Write> Rewriter<'a, R, W> {
    /// A rewriter of `input` into `output`.
    pub(crate) fn new(
        input: Input<R>,
        output: W,
        anon: &'a Anonymizer,
        dialect: Dialect,
        options: &SqlOptions,
        pipe: Option<crate::pipe::Pipe<'a>>,
        subset: crate::subset::Mode,
    ) -> Self {
        let cat = Catalog::new(
            anon,
            dialect,
            options.collections.clone(),
            options.keep_users,
        );
        // PostgreSQL dumps put indexes, constraints and ownership after the data, so the
        // pre-data DDL is held until the first data statement to learn what belongs to an
        // excluded table; with nothing to exclude there is nothing to learn.
        let hold = dialect.ownership_after_data() && cat.may_exclude();
        Rewriter {
            p: Parts {
                src: Source::new(input, dialect),
                emit: Emitter::new(output, hold, pipe),
                cat,
                anon,
                dialect,
                current_table: options.current_table.clone(),
                subset,
            },
            rows: Rows::default(),
            session: Session::default(),
            keep_users: options.keep_users,
            accounts_dropped: 0,
            passwords_removed: 0,
            large_objects: 0,
        }
    }

    /// Reads every statement.
    fn read_all(&mut self) -> Result<(), SqlError> {
        loop {
            self.read_trivia()?;
            let input = &mut self.p.src.input;
            if input.avail().is_empty() && !input.fill()? {
                return Ok(());
            }
            if input.avail().is_empty() {
                continue;
            }
            self.statement()?;
        }
    }

    /// Runs a subset's collecting pass over the whole input (its output is discarded);
    /// returns the pass's state and the catalog it built.
    pub(crate) fn collect(mut self) -> Result<(crate::subset::Mode, Catalog<'a>), SqlError> {
        self.read_all()?;
        Ok((std::mem::take(&mut self.p.subset), self.p.cat))
    }

    /// Runs over the whole input.
    pub(crate) fn run(mut self) -> Result<SqlSummary, SqlError> {
        self.read_all()?;
        let subset = match &self.p.subset {
            crate::subset::Mode::Apply(a) => a.report().to_vec(),
            _ => Vec::new(),
        };
        let Parts {
            src,
            emit,
            mut cat,
            dialect,
            ..
        } = self.p;
        let (bytes_out, row_bytes) = emit.finish(&mut cat)?;
        for (sidx, bytes) in row_bytes.into_iter().enumerate() {
            cat.tally.bytes(sidx, 0, bytes);
        }
        let undefined_tables = cat.undefined_tables();
        let tables = std::mem::take(&mut cat.tally).into_summaries();
        let in_mysql = |t: &crate::TableSummary, names: &[&str]| {
            t.excluded
                && t.table
                    .strip_prefix("mysql.")
                    .is_some_and(|n| names.contains(&n))
        };
        let mut credentials: Vec<String> = tables
            .iter()
            .filter_map(|t| {
                if !self.keep_users && in_mysql(t, CREDENTIAL_TABLES) {
                    Some(format!(
                        "{}: credential table dropped ({} rows)",
                        t.table, t.rows_in
                    ))
                } else if in_mysql(t, STATISTICS_TABLES) {
                    Some(format!(
                        "{}: statistics table dropped ({} rows: it may hold column values)",
                        t.table, t.rows_in
                    ))
                } else {
                    None
                }
            })
            .collect();
        if self.accounts_dropped > 0 {
            credentials.push(format!(
                "{} account statements dropped (CREATE USER, GRANT, SET PASSWORD...)",
                self.accounts_dropped
            ));
        }
        if self.passwords_removed > 0 {
            credentials.push(format!("{} role passwords removed", self.passwords_removed));
        }
        let mut dependents = std::mem::take(&mut cat.dependents_dropped);
        dependents.dedup();
        Ok(SqlSummary {
            dialect,
            bytes_in: src.input.offset(),
            bytes_out,
            tables,
            credentials,
            dependents,
            undefined_tables,
            large_objects: self.large_objects,
            large_objects_unreviewed: self.large_objects > 0
                && self.p.anon.large_objects().is_none(),
            subset,
        })
    }

    /// Moves `n` bytes of input into the held trivia.
    fn take_trivia(&mut self, n: usize) {
        let input = &mut self.p.src.input;
        self.p.emit.add_trivia(&input.avail()[..n]);
        input.consume(n);
    }

    /// The end of the `/* ... */` comment at the start of the input. A comment the input
    /// never closes is an error: whatever it swallowed (data statements, rows) would reach
    /// the output unread.
    fn comment_end(&mut self) -> Result<usize, SqlError> {
        self.p.src.comment_end()
    }

    fn read_trivia(&mut self) -> Result<(), SqlError> {
        loop {
            if self.p.emit.trivia_len() > TRIVIA_LIMIT {
                self.p.emit.flush_trivia(&mut self.p.cat)?;
            }
            if self.p.src.input.ensure(TRIVIA_LOOKAHEAD)? == 0 {
                return Ok(());
            }
            match trivia_at(self.p.dialect, self.p.src.input.avail()) {
                Trivia::Space(n) => self.take_trivia(n),
                Trivia::LineComment => {
                    let end = self.p.src.find(b"\n")?;
                    if self.p.dialect.names_in_current_db() {
                        let line = &self.p.src.input.avail()[..end];
                        if let Some(db) = header_database(line) {
                            self.p.cat.header_db(db);
                        }
                    }
                    self.take_trivia(end);
                }
                Trivia::Block => {
                    let end = self.comment_end()?;
                    self.take_trivia(end);
                }
                Trivia::Sandbox => {
                    // MariaDB's sandbox line: kept with whatever follows, never dropped.
                    let end = self.comment_end()?;
                    self.take_trivia(end);
                    self.p.emit.flush_trivia(&mut self.p.cat)?;
                }
                Trivia::None => return Ok(()),
            }
        }
    }

    fn statement(&mut self) -> Result<(), SqlError> {
        let dialect = self.p.dialect;
        let input = &mut self.p.src.input;
        input.ensure(16)?;
        let a = input.avail();
        if dialect.backslash_commands() && a[0] == b'\\' {
            return self.line_command();
        }
        if dialect.client_delimiter() && delimiter_command(a).is_some() {
            return self.line_command();
        }
        input.ensure(8192)?;
        let a = input.avail();
        let first = Tokens::new(&a[..a.len().min(8192)], self.p.src.lexer.syntax()).next();
        let is = |kw: &str| first.as_ref().is_some_and(|t| t.tok.is(kw));
        let insert = is("insert") || is("replace");
        let handled = if insert {
            self.rows.insert(&mut self.p)?
        } else if dialect.copy_blocks() && is("copy") {
            self.rows.copy(&mut self.p)?
        } else {
            Handled::NotRows
        };
        match handled {
            Handled::Done => Ok(()),
            // Rows that cannot be attributed to a table never pass while rules apply.
            Handled::NotRows if insert && !self.p.anon.is_empty() => Err(self.p.src.err(
                0,
                None,
                "an INSERT whose table or rows cannot be read (not INSERT INTO name [(columns)] \
                 VALUES ...): rules, exclusions and limits cannot be applied to it",
            )),
            Handled::NotRows => self.general(),
        }
    }

    /// A client command line: `\restrict`, `\connect`, `DELIMITER ;;`.
    fn line_command(&mut self) -> Result<(), SqlError> {
        self.rows.forget_target();
        let p = &mut self.p;
        let end = p.src.find(b"\n")?;
        let line = p.src.input.avail()[..end].to_vec();
        p.src.input.consume(end);
        if let Some(skip) = delimiter_command(&line).filter(|_| p.dialect.client_delimiter()) {
            let delim: Vec<u8> = line[skip..]
                .iter()
                .copied()
                .skip_while(|b| *b == b' ' || *b == b'\t')
                .take_while(|b| !b.is_ascii_whitespace())
                .collect();
            p.src.lexer.set_delimiter(&delim);
        }
        let (trivia, tail) = p.emit.statement_trivia();
        let item = Item {
            trivia,
            tail,
            body: line,
            owner: None,
            owner_is_table: false,
            late: None,
            dropped: false,
            refs: Vec::new(),
        };
        p.emit.emit(item, &mut p.cat)
    }

    /// Any statement that is not an INSERT or COPY.
    fn general(&mut self) -> Result<(), SqlError> {
        // It may change what an INSERT's table name refers to (USE, CREATE TABLE, ...).
        self.rows.forget_target();
        let (end, complete) = self.p.src.capture(CAPTURE_LIMIT)?;
        let (held, max_tokens) = if complete {
            (end, usize::MAX)
        } else {
            (end.min(STREAMED_HEAD), STREAMED_TOKENS)
        };
        let mut body = self.p.src.input.avail()[..held].to_vec();
        let syntax = self.p.src.lexer.syntax();
        let toks: Vec<_> = Tokens::new(&body, syntax).take(max_tokens).collect();
        let ds = self.p.cat.default_schema();
        let mut stmt = classify(&toks, &body, syntax, ds.as_deref());
        let written = if self.p.anon.is_empty() {
            None
        } else {
            let write = data_write(&toks, syntax, ds.as_deref());
            self.data_write(write, (&body, &toks), complete, &mut stmt)?
        };
        drop(toks);
        if let Some(rewritten) = written {
            body = rewritten;
        }
        if complete && self.p.subset.is_schema() {
            self.p.subset.statement(&body, syntax, ds.as_deref());
        }
        if complete && !self.keep_users && !stmt.secrets.is_empty() {
            for range in stmt.secrets.iter().rev() {
                // With the space before it: `... LOGIN PASSWORD '...';` -> `... LOGIN;`.
                let start = if range.start > 0 && body[range.start - 1] == b' ' {
                    range.start - 1
                } else {
                    range.start
                };
                body.drain(start..range.end);
                self.passwords_removed += 1;
            }
        }
        let Resolved {
            owner,
            owner_is_table,
            late,
            dropped,
            refs,
        } = self.apply(stmt)?;
        let p = &mut self.p;
        if complete {
            p.src.input.consume(end);
            let (trivia, tail) = p.emit.statement_trivia();
            let item = Item {
                trivia,
                tail,
                body,
                owner,
                owner_is_table,
                late,
                dropped,
                refs,
            };
            return p.emit.emit(item, &mut p.cat);
        }
        // Too long to hold: decide now and stream it.
        p.emit.flush_pending(&mut p.cat)?;
        p.cat.apply_derivations();
        let dropped = dropped
            || match &owner {
                Some(q) => p.cat.is_excluded(q, owner_is_table),
                None => false,
            };
        let (trivia, tail) = p.emit.statement_trivia();
        let item = Item {
            trivia,
            tail,
            body: Vec::new(),
            owner: owner.clone(),
            owner_is_table,
            late,
            dropped,
            refs,
        };
        p.emit.write_item(item, &mut p.cat)?;
        let out = (!dropped).then_some(&mut p.emit.out);
        p.src.stream_rest(end, out, owner.as_ref())?;
        Ok(())
    }

    /// A statement that writes rows other than INSERT ... VALUES and COPY: a single-table
    /// UPDATE goes with its table and has the literals of covered columns rewritten; any
    /// other shape that writes a table with rules, exclusions or limits is refused.
    /// Returns the rewritten statement, if any.
    fn data_write(
        &mut self,
        write: DataWrite,
        (body, toks): (&[u8], &[crate::tokens::Spanned<'_>]),
        complete: bool,
        stmt: &mut Stmt,
    ) -> Result<Option<Vec<u8>>, SqlError> {
        let p = &mut self.p;
        if write != DataWrite::None {
            p.cat.apply_derivations();
        }
        match write {
            DataWrite::None => Ok(None),
            DataWrite::Update { table, set } => {
                if stmt.owner == Owner::None && p.cat.is_known_relation(&table) {
                    // Goes with its table (an excluded table's UPDATE cannot restore); system
                    // tables the dump does not define (`pg_catalog.pg_database`) stay.
                    stmt.owner = Owner::Rel(table.clone(), true);
                }
                if p.cat.is_excluded(&table, true) {
                    return Ok(None);
                }
                let Some(root) = p.cat.plan(&table).and_then(|pl| pl.root()) else {
                    return Ok(None);
                };
                if !complete {
                    return Err(p.src.err(
                        0,
                        Some(&table),
                        "an UPDATE of a table with rules is too long to read",
                    ));
                }
                rewrite_assigned(p, &table, root, (body, toks, set))
            }
            DataWrite::Opaque { targets, dynamic } => {
                for t in &targets {
                    let governed = p.cat.is_excluded(t, true)
                        || p.cat.plan(t).is_none_or(|pl| {
                            pl.root().is_some() || pl.max_rows().is_some() || pl.schema_only()
                        });
                    if governed {
                        return Err(p.src.err(
                            0,
                            Some(t),
                            "a statement writes rows of a table with rules, exclusions or \
                             limits in a form that is not read (WITH ... INSERT, DO, MERGE, \
                             a multi-table UPDATE): they cannot be applied; dump the data \
                             as INSERT or COPY",
                        ));
                    }
                }
                if dynamic {
                    return Err(p.src.err(
                        0,
                        None,
                        "a DO block runs dynamic SQL (EXECUTE) while rules apply: the \
                         tables it writes cannot be known; remove it from the dump",
                    ));
                }
                Ok(None)
            }
        }
    }

    /// Records what a statement tells and resolves its owner.
    fn apply(&mut self, mut stmt: Stmt) -> Result<Resolved, SqlError> {
        let account = stmt.owner == Owner::Account;
        let lo_dropped = match stmt.owner {
            Owner::LargeObject(part) => {
                self.large_objects += u64::from(part == LoPart::Create);
                match self.p.anon.large_objects() {
                    Some(LargeObjects::Drop) => true,
                    Some(LargeObjects::Empty) => part == LoPart::Data,
                    _ => false,
                }
            }
            _ => false,
        };
        let view = stmt.facts.iter().find_map(|f| match f {
            Fact::View(v) => Some(v.clone()),
            _ => None,
        });
        let mut refs = std::mem::take(&mut stmt.refs);
        let created = stmt.facts.iter().find_map(|f| match f {
            Fact::CreateTable(c) => Some(c.name.clone()),
            _ => None,
        });
        let fks_before = self.p.cat.foreign_keys.len();
        let (owner, owner_is_table, late) = self.record(stmt);
        if created.is_some() || self.p.cat.foreign_keys.len() > fks_before {
            let new = (fks_before, created.as_ref());
            check_foreign_keys(&mut self.p.cat, self.p.anon, self.p.dialect, new)?;
        }
        if let Some(table) = created {
            // Refuse rules that cannot fit the table as soon as its definition is read.
            let cat = &mut self.p.cat;
            let plan = cat.plan(&table);
            check_partition_key(cat, &table, plan.as_ref())?;
            check_column_types(cat, self.p.anon, &table, plan.as_ref(), self.p.dialect)?;
            check_row_types(cat, &table)?;
        }
        let dropped = account && !self.keep_users;
        self.accounts_dropped += u64::from(dropped);
        let dropped = dropped || lo_dropped;
        let cat = &mut self.p.cat;
        refs.retain(|r| Some(r) != owner.as_ref() && cat.is_known_relation(r));
        if self.p.anon.keep_dependents() {
            refs.clear();
        }
        if let Some(view) = view {
            // A view goes with what it reads, and so do its grants, comments and owner.
            for on in refs.drain(..) {
                cat.derive(Derive::DependsOn {
                    dependent: view.clone(),
                    on,
                });
            }
        }
        Ok(Resolved {
            owner,
            owner_is_table,
            late,
            dropped,
            refs,
        })
    }

    /// Records what a statement tells; returns its owner, whether the owner is a table,
    /// and the late owner of a name-only DROP.
    fn record(&mut self, stmt: Stmt) -> (Option<QName>, bool, Option<LateOwner>) {
        let p = &mut self.p;
        for fact in stmt.facts {
            let names = self.session.record(fact, &mut p.cat, &mut p.src.lexer);
            if let Some(Fact::Names { kind, name, table }) = names {
                p.emit.resolve_deferred(kind, &name, &table, &mut p.cat);
            }
        }
        match stmt.owner {
            Owner::None | Owner::Account | Owner::LargeObject(_) => (None, false, None),
            Owner::Rel(q, is_table) => (Some(q), is_table, None),
            Owner::IndexOf(indexes) => {
                // With any of its indexes' tables dropped, the statement goes too.
                p.cat.apply_derivations();
                let tables: Vec<QName> = indexes
                    .iter()
                    .filter_map(|i| p.cat.owner_of(LateKind::Index, i).cloned())
                    .collect();
                let dropped = tables.iter().position(|t| p.cat.is_excluded(t, true));
                let owner = dropped.or((!tables.is_empty()).then_some(0));
                (owner.map(|k| tables[k].clone()), true, None)
            }
            Owner::Locked => (p.cat.unlock(), true, None),
            Owner::Late {
                kind,
                name,
                if_exists,
                single,
            } => match p.cat.owner_of(kind, &name) {
                Some(table) => (Some(table.clone()), true, None),
                None if single => (
                    None,
                    false,
                    Some(LateOwner {
                        kind,
                        name,
                        if_exists,
                    }),
                ),
                None => (None, false, None),
            },
        }
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
