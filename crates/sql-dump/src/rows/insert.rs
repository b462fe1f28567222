//! `INSERT`/`REPLACE ... VALUES` statements, tuple by tuple.

use std::io::{Read, Write};

use anonymize_core::PlanNode;

use super::ahead::Ahead;
use super::assign::rewrite_assigned;
use super::job::RowJob;
use super::plan::{col_plans, positional_plans, ColumnPlans, PositionalError, RowShape};
use super::subset_row;
use super::{Handled, Route, Rows};
use crate::catalog::TablePlan;
use crate::error::SqlError;
use crate::head::{column_names, scan_insert_head, HeadScan, InsertHead};
use crate::input::Input;
use crate::lex::tuple::{scan_split, split_tuple};
use crate::literal::Ctx;
use crate::parts::Parts;
use crate::pipe::Pipe;
use crate::subset::keys::Fields;
use crate::tokens::{qname, tokenize, word_byte, QName};

/// Heads longer than this are not looked for: the statement is read as an ordinary one.
const HEAD_LIMIT: usize = 4 << 20;
/// Upsert trailers longer than this are refused on a table with rules.
const TRAILER_LIMIT: usize = 1 << 20;

/// The table of an INSERT, with what the rules decide for it (see `insert_target`).
pub(crate) struct InsertTarget<'a> {
    /// The name as written in the statement.
    raw: Vec<u8>,
    table: QName,
    /// Index of the table's summary.
    sidx: usize,
    excluded: bool,
    plan: Option<TablePlan<'a>>,
    /// The column plans of the last INSERT with rules, reused while the column list is
    /// spelled the same.
    plans: Option<ColumnPlans<'a>>,
}

fn ci_starts(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Reads the whitespace and commas between two tuples into `sep`.
fn read_separator<R: Read>(input: &mut Input<R>, sep: &mut Vec<u8>) -> Result<(), SqlError> {
    sep.clear();
    loop {
        if input.ensure(1)? == 0 {
            return Ok(());
        }
        let a = input.avail();
        let n = a
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == b',')
            .count();
        let all = n == a.len();
        sep.extend_from_slice(&a[..n]);
        input.consume(n);
        if !all {
            return Ok(());
        }
    }
}

fn positional_error<R: Read, W: Write>(
    p: &Parts<'_, R, W>,
    table: &QName,
    e: PositionalError,
) -> SqlError {
    let message = match e {
        PositionalError::NoDefinition => "rows without a column list for a table whose CREATE TABLE was not seen: rules cannot be applied (dump with --complete-insert/--column-inserts, or include the DDL)".to_owned(),
        PositionalError::Width { values, columns } => {
            format!("a row has {values} values but the table has {columns} columns")
        }
    };
    p.src.err(0, Some(table), message)
}

impl<'a> Rows<'a> {
    /// An INSERT or REPLACE statement at the start of the input.
    pub(crate) fn insert<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
    ) -> Result<Handled, SqlError> {
        let Some(head) = self.insert_head(p)? else {
            return Ok(Handled::NotRows);
        };
        let Some(mut target) = self.insert_target(p, &head)? else {
            return Ok(Handled::NotRows);
        };
        let result = self.insert_into(p, &mut target, &head);
        self.last_insert = Some(target);
        result.map(|()| Handled::Done)
    }

    /// Finds the head of the INSERT at the start of the input, looking at longer and longer
    /// prefixes. `None`: not one this rewriter handles row by row.
    ///
    /// A head spelled exactly like the previous one (single-row INSERTs repeat theirs) is
    /// recognised by comparing bytes instead of tokenizing it again.
    fn insert_head<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
    ) -> Result<Option<InsertHead>, SqlError> {
        let syntax = p.src.lexer.syntax();
        let input = &mut p.src.input;
        if let Some((bytes, head)) = &self.last_head {
            let a = input.avail();
            if a.len() > bytes.len() && a.starts_with(bytes) && !word_byte(a[bytes.len()]) {
                return Ok(Some(head.clone()));
            }
        }
        let mut want = 1024;
        loop {
            let have = input.ensure(want)?;
            let a = input.avail();
            match scan_insert_head(&a[..a.len().min(want)], syntax) {
                HeadScan::Values(head) => {
                    let mut bytes = self.last_head.take().map(|(b, _)| b).unwrap_or_default();
                    bytes.clear();
                    bytes.extend_from_slice(&a[..head.end]);
                    self.last_head = Some((bytes, head.clone()));
                    return Ok(Some(head));
                }
                HeadScan::Other => return Ok(None),
                HeadScan::NeedMore if have < want || want >= HEAD_LIMIT => return Ok(None),
                HeadScan::NeedMore => want *= 4,
            }
        }
    }

    /// The table an INSERT writes to, with what the rules decide for it. A run of INSERTs
    /// into one table (one row each with `--skip-extended-insert` / `--inserts`) resolves
    /// the name once: the previous INSERT's target is reused while the name is spelled the
    /// same and no other statement came between (one could change the database, a
    /// definition or an exclusion). `None`: the name is not a table name.
    fn insert_target<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
        head: &InsertHead,
    ) -> Result<Option<InsertTarget<'a>>, SqlError> {
        let raw = &p.src.input.avail()[head.name.clone()];
        if let Some(last) = self.last_insert.take() {
            if last.raw == raw {
                return Ok(Some(last));
            }
        }
        let ds = p.cat.default_schema();
        let toks = tokenize(raw, p.src.lexer.syntax(), usize::MAX);
        let Some((table, _)) = qname(&toks, 0, ds.as_deref()) else {
            return Ok(None);
        };
        let raw = raw.to_vec();
        let (sidx, excluded, plan) = super::open_table(p, &table)?;
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
    fn insert_into<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
        target: &mut InsertTarget<'a>,
        head: &InsertHead,
    ) -> Result<(), SqlError> {
        let sidx = target.sidx;
        let (trivia, tail) = p.emit.statement_trivia();
        let in0 = p.src.input.offset();
        let out0 = p.emit.out.bytes;
        p.src.lexer.reset(false);
        match Route::of(target.plan, target.excluded, &p.subset, &target.table) {
            Route::Pass => {
                p.emit.keep(&trivia, tail)?;
                let out = Some(&mut p.emit.out);
                let rows = p.src.stream_rest(head.end, out, Some(&target.table))?;
                let counter = p.cat.own_counter(&target.table);
                p.cat.tally.rows(sidx, rows, true, counter);
            }
            Route::Rows(plan) => self.insert_rows(p, target, plan, head, &trivia, tail)?,
            Route::Drop => {
                p.emit.drop(&trivia, tail)?;
                let rows = p
                    .src
                    .stream_rest::<W, Pipe>(head.end, None, Some(&target.table))?;
                p.cat.tally.rows(sidx, rows, false, 0);
            }
        }
        let read = p.src.input.offset() - in0 + trivia.len() as u64;
        p.cat.tally.bytes(sidx, read, p.emit.out.bytes - out0);
        p.emit.recycle_trivia(trivia);
        Ok(())
    }

    /// The column plans for an INSERT's column list: the target's cached ones when the list
    /// is spelled as before, else made from the list (`None` without a list: positional
    /// plans are made from the first row's width).
    fn insert_plans<R: Read, W: Write>(
        p: &mut Parts<'a, R, W>,
        target: &mut InsertTarget<'a>,
        root: Option<&'a PlanNode>,
        head: &InsertHead,
    ) -> Option<ColumnPlans<'a>> {
        let list = head.columns.clone().map(|r| &p.src.input.avail()[r]);
        if let Some(cached) = target.plans.take() {
            if cached.list.as_deref() == list {
                return Some(cached);
            }
        }
        let list = list?.to_vec();
        let names = column_names(&list, p.src.lexer.syntax());
        let def = p.cat.def(&target.table);
        Some(ColumnPlans::new(
            col_plans(root, def.as_deref(), &names, p.dialect),
            Some(list),
        ))
    }

    /// Rewrites (or limits) the rows of an INSERT whose table has rules or a row limit.
    fn insert_rows<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
        target: &mut InsertTarget<'a>,
        plan: TablePlan<'a>,
        head: &InsertHead,
        trivia: &[u8],
        tail: usize,
    ) -> Result<(), SqlError> {
        let root = plan.root();
        let mut plans = Self::insert_plans(p, target, root, head);
        let (table, sidx) = (&target.table, target.sidx);
        let names = if p.subset.needs_columns(table) {
            match head.columns.clone() {
                Some(r) => Some(column_names(&p.src.input.avail()[r], p.src.lexer.syntax())),
                None => p
                    .cat
                    .def(table)
                    .map(|d| d.columns.iter().map(|c| c.name.clone()).collect()),
            }
        } else {
            None
        };
        p.subset
            .begin(table, names.as_deref())
            .map_err(|m| p.src.err(0, Some(table), m))?;
        let bufs = &mut self.bufs;
        bufs.head_bytes.clear();
        bufs.head_bytes
            .extend_from_slice(&p.src.input.avail()[..head.end]);
        p.src.input.consume(head.end);
        let syntax = p.src.lexer.syntax();
        let ctx = Ctx::insert(syntax);
        let mut kept_any = false;
        let mut sep = Vec::new();
        // The separator before the first tuple, written before the first kept one.
        let mut lead: Option<Vec<u8>> = None;
        let mut ahead = Ahead::default();
        loop {
            read_separator(&mut p.src.input, &mut sep)?;
            if lead.is_none() {
                lead = Some(sep.clone());
            }
            if p.src.input.avail().first() != Some(&b'(') {
                return end_of_insert(p, &sep, (kept_any, root), trivia, tail, table)
                    .map(|()| target.plans = plans);
            }
            // One pass finds the tuple's end and its values when it holds nothing unusual;
            // else the lexer finds the end and `split_tuple` the values.
            // (Split a row ahead when the previous row looked ahead.)
            let ahead_end = match root {
                Some(_) => ahead.take(p.src.input.offset(), &mut bufs.spans),
                None => None,
            };
            let fast = match (root, ahead_end) {
                (_, Some(end)) => Some(end),
                (Some(_), None) => scan_split(
                    p.src.input.avail(),
                    syntax,
                    p.src.lexer.delimiter(),
                    &mut bufs.spans,
                ),
                (None, None) => None,
            };
            let end = match fast {
                Some(end) => end,
                None => p.src.tuple(table)?,
            };
            let counters = (plan.rule_counter, plan.limit_counter);
            let (ordinal, mut keep) = p.cat.tally.next_row(sidx, counters, plan.max_rows());
            if !p.subset.is_off() {
                let fields = if p.subset.needs_fields() {
                    let tuple = &p.src.input.avail()[..end];
                    if fast.is_none() && !split_tuple(tuple, syntax, &mut bufs.spans) {
                        return Err(p.src.err(0, Some(table), "a row of an INSERT is malformed"));
                    }
                    Some(Fields::Insert(tuple, &bufs.spans, syntax))
                } else {
                    None
                };
                keep = subset_row(
                    (&mut p.subset, &p.src, &mut p.cat.tally),
                    keep,
                    fields,
                    table,
                    sidx,
                )?;
            }
            if keep {
                if kept_any {
                    p.emit.out.put(&sep)?;
                } else {
                    p.emit.keep(trivia, tail)?;
                    p.emit.out.put(&bufs.head_bytes)?;
                    // After dropped rows (a subset), the separator holds their comma.
                    p.emit.out.put(lead.as_deref().unwrap_or(&sep))?;
                    kept_any = true;
                }
                if root.is_none() {
                    p.emit.out.put(&p.src.input.avail()[..end])?;
                } else {
                    let tuple = &p.src.input.avail()[..end];
                    if fast.is_none() && !split_tuple(tuple, syntax, &mut bufs.spans) {
                        return Err(p.src.err(0, Some(table), "a row of an INSERT is malformed"));
                    }
                    let width = bufs.spans.len();
                    if plans
                        .as_ref()
                        .is_none_or(|c| head.columns.is_none() && c.plans.len() != width)
                    {
                        if let Some(why) = p.cat.inherits_order_unknown(table) {
                            let message = crate::catalog::unknown_order_message(&why);
                            return Err(p.src.err(0, Some(table), message));
                        }
                        let def = p.cat.def(table);
                        let made = positional_plans(root, def.as_deref(), width, p.dialect)
                            .map_err(|e| positional_error(p, table, e))?;
                        plans = Some(ColumnPlans::new(made, None));
                    }
                    let tuple = &p.src.input.avail()[..end];
                    match plans.as_ref() {
                        Some(c) if p.emit.out.pipelined() => {
                            let kind = (ctx, syntax, sidx);
                            p.emit
                                .out
                                .put_row(&c.plans, kind, tuple, &bufs.spans, ordinal)?;
                        }
                        _ => {
                            let (plans, shape) = match plans.as_ref() {
                                Some(c) => (&c.plans[..], c.shape),
                                None => (&[][..], RowShape::of(&[], false)),
                            };
                            let job = RowJob {
                                anon: p.anon,
                                plans,
                                shape,
                                ctx,
                                syntax,
                                ordinal,
                            };
                            // The next tuple, when whole in the buffer and plain; its
                            // separator is what `read_separator` will consume.
                            let rest = &p.src.input.avail()[end..];
                            let gap = rest
                                .iter()
                                .take_while(|b| b.is_ascii_whitespace() || **b == b',')
                                .count();
                            let next = &rest[gap..];
                            let delimiter = p.src.lexer.delimiter();
                            ahead.look(
                                &job,
                                p.src.input.offset() + (end + gap) as u64,
                                |spans| scan_split(next, syntax, delimiter, spans),
                                |len| &next[..len],
                            );
                            bufs.row.clear();
                            job.rewrite(
                                tuple,
                                &bufs.spans,
                                &mut bufs.scratch,
                                &mut bufs.value,
                                &mut bufs.row,
                            );
                            p.emit.out.put(&bufs.row)?;
                        }
                    }
                }
            }
            p.src.input.consume(end);
        }
    }
}

/// The statement's end after its last tuple: its delimiter, or an `ON DUPLICATE KEY
/// UPDATE`/`ON CONFLICT`/`RETURNING` clause, written after the kept rows or dropped with
/// the statement when no row was kept.
fn end_of_insert<R: Read, W: Write>(
    p: &mut Parts<'_, R, W>,
    sep: &[u8],
    (kept_any, root): (bool, Option<&PlanNode>),
    trivia: &[u8],
    tail: usize,
    table: &QName,
) -> Result<(), SqlError> {
    let a = p.src.input.avail();
    let ok = a.is_empty()
        || a.starts_with(p.src.lexer.delimiter())
        || ci_starts(a, b"on ")
        || ci_starts(a, b"on\n")
        || ci_starts(a, b"returning");
    if !ok {
        return Err(p.src.err(
            0,
            Some(table),
            "unexpected text between the rows of an INSERT",
        ));
    }
    p.src.lexer.reset(false);
    let upsert = ci_starts(a, b"on ") || ci_starts(a, b"on\n");
    if let (true, true, Some(root)) = (kept_any, upsert, root) {
        // An upsert trailer: its SET list may write covered columns.
        p.emit.out.put(sep)?;
        let (end, complete) = p.src.capture(TRAILER_LIMIT)?;
        if !complete {
            return Err(p.src.err(
                0,
                Some(table),
                "an INSERT's ON ... UPDATE clause is too long to read",
            ));
        }
        let body = p.src.input.avail()[..end].to_vec();
        let syntax = p.src.lexer.syntax();
        let toks = tokenize(&body, syntax, usize::MAX);
        let set = toks.iter().position(|t| t.tok.is("set")).or_else(|| {
            let k = toks.iter().position(|t| t.tok.is("key"))?;
            toks.get(k + 1)
                .filter(|t| t.tok.is("update"))
                .map(|_| k + 1)
        });
        let rewritten = match set {
            Some(k) => rewrite_assigned(p, table, root, (&body, &toks, k + 1))?,
            None => None,
        };
        drop(toks);
        p.emit.out.put(rewritten.as_deref().unwrap_or(&body))?;
        p.src.input.consume(end);
        return Ok(());
    }
    if kept_any {
        p.emit.out.put(sep)?;
        p.src.stream_rest(0, Some(&mut p.emit.out), Some(table))?;
    } else {
        p.emit.drop(trivia, tail)?;
        p.src.stream_rest::<W, Pipe>(0, None, Some(table))?;
    }
    Ok(())
}
