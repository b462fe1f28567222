//! `COPY ... FROM stdin;` and its text data block, line by line.

use std::io::{Read, Write};

use super::ahead::Ahead;
use super::job::RowJob;
use super::plan::{col_plans, stored_names, ColPlan, RowShape};
use super::subset_row;
use super::{Handled, Route, Rows};
use crate::catalog::TablePlan;
use crate::error::SqlError;
use crate::head::copy_columns;
use crate::input::count_newlines;
use crate::lex::copy::{field_count, split_fields, terminator};
use crate::literal::Ctx;
use crate::parts::Parts;
use crate::subset::keys::Fields;
use crate::tokens::{qname, tokenize, QName};

/// COPY statements longer than this are an error.
const COPY_HEAD_LIMIT: usize = 1 << 20;

const NO_TERMINATOR: &str = "the input ends inside a COPY block (no \\. line)";

/// At a line start: consumes (and writes, when `write`) the `\.` line if it is one.
fn end_of_block<R: Read, W: Write>(
    p: &mut Parts<'_, R, W>,
    write: bool,
) -> Result<Option<bool>, SqlError> {
    let eof = p.src.input.eof();
    let a = p.src.input.avail();
    match terminator(a, eof) {
        Ok(Some(t)) => {
            if write {
                p.emit.out.put(&a[..t])?;
            }
            p.src.input.consume(t);
            Ok(Some(true))
        }
        Ok(None) => Ok(Some(false)),
        Err(()) => {
            p.src.input.fill()?;
            Ok(None)
        }
    }
}

impl<'a> Rows<'a> {
    /// `COPY ... FROM stdin;` and its data block.
    pub(crate) fn copy<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
    ) -> Result<Handled, SqlError> {
        self.last_insert = None;
        let (end, complete) = p.src.capture(COPY_HEAD_LIMIT)?;
        if !complete {
            return Err(p.src.err(0, None, "a COPY statement is too long"));
        }
        let body = &p.src.input.avail()[..end];
        let toks = tokenize(body, p.src.lexer.syntax(), usize::MAX);
        let from_stdin = toks
            .windows(2)
            .any(|w| w[0].tok.is("from") && w[1].tok.is("stdin"));
        if !from_stdin {
            return Ok(Handled::NotRows);
        }
        let ds = p.cat.default_schema();
        let Some((table, next)) = qname(&toks, 1, ds.as_deref()) else {
            if p.anon.is_empty() {
                return Ok(Handled::NotRows);
            }
            // Rows that cannot be attributed to a table never pass while rules apply.
            return Err(p.src.err(
                0,
                None,
                "a COPY whose table cannot be read: rules, exclusions and limits cannot be applied to it",
            ));
        };
        let columns = copy_columns(&toks, next);
        // The data starts on the next line.
        let header_end = p.src.line_end(end)?;
        let (sidx, excluded, plan) = super::open_table(p, &table)?;
        let (trivia, tail) = p.emit.statement_trivia();
        let in0 = p.src.input.offset();
        let out0 = p.emit.out.bytes;
        let header = p.src.input.avail()[..header_end].to_vec();
        p.src.input.consume(header_end);
        match Route::of(plan, excluded, &p.subset, &table) {
            Route::Pass => {
                p.emit.keep(&trivia, tail)?;
                p.emit.out.put(&header)?;
                let rows = copy_data_fast(p, true, &table)?;
                let counter = p.cat.own_counter(&table);
                p.cat.tally.rows(sidx, rows, true, counter);
            }
            Route::Rows(plan) => {
                p.emit.keep(&trivia, tail)?;
                p.emit.out.put(&header)?;
                self.copy_rows(p, &table, sidx, plan, columns)?;
            }
            Route::Drop => {
                p.emit.drop(&trivia, tail)?;
                let rows = copy_data_fast(p, false, &table)?;
                p.cat.tally.rows(sidx, rows, false, 0);
            }
        }
        let read = p.src.input.offset() - in0 + trivia.len() as u64;
        p.cat.tally.bytes(sidx, read, p.emit.out.bytes - out0);
        Ok(Handled::Done)
    }

    /// Rewrites a COPY data block row by row.
    fn copy_rows<R: Read, W: Write>(
        &mut self,
        p: &mut Parts<'a, R, W>,
        table: &QName,
        sidx: usize,
        plan: TablePlan<'a>,
        columns: Option<Vec<String>>,
    ) -> Result<(), SqlError> {
        let root = plan.root();
        let def = p.cat.def(table);
        // The fields each row must have, when known: a row of another width would shift
        // values into columns the rules do not cover.
        let width = match (&columns, def.as_deref()) {
            (Some(c), _) => Some(c.len()),
            (None, Some(d)) => Some(stored_names(d).len()),
            (None, None) => None,
        };
        let plans: std::sync::Arc<[ColPlan<'a>]> = match (&columns, def.as_deref()) {
            (Some(c), def) => col_plans(root, def, c, p.dialect).into(),
            (None, Some(d)) => col_plans(root, Some(d), &stored_names(d), p.dialect).into(),
            (None, None) if root.is_some() => {
                return Err(p.src.err(0, Some(table), "COPY without a column list for a table whose CREATE TABLE was not seen: rules cannot be applied"));
            }
            (None, None) => std::sync::Arc::new([]),
        };
        let shape = RowShape::of(&plans, true);
        let names = match (&columns, def.as_deref()) {
            _ if !p.subset.needs_columns(table) => None,
            (Some(c), _) => Some(c.clone()),
            (None, d) => d.map(stored_names),
        };
        p.subset
            .begin(table, names.as_deref())
            .map_err(|m| p.src.err(0, Some(table), m))?;
        let bufs = &mut self.bufs;
        let pipelined = p.emit.out.pipelined();
        let mut ahead = Ahead::default();
        loop {
            match end_of_block(p, true)? {
                Some(true) => return Ok(()),
                Some(false) => {}
                None => continue,
            }
            // Rows rewritten here are split once: the spans give the width and then the
            // values to rewrite (split a row ahead when the previous row looked ahead). Rows
            // handed to the pipe go without spans: the worker splits them, and this thread
            // only counts their fields.
            let split = root.is_some() && !pipelined;
            let ahead_len = match split {
                true => ahead.take(p.src.input.offset(), &mut bufs.spans),
                false => None,
            };
            let found =
                ahead_len.or_else(|| memchr::memchr(b'\n', p.src.input.avail()).map(|k| k + 1));
            let Some(line_end) = found else {
                if !p.src.input.fill()? {
                    return Err(p.src.err(0, Some(table), NO_TERMINATOR));
                }
                continue;
            };
            if split && ahead_len.is_none() {
                split_fields(&p.src.input.avail()[..line_end], &mut bufs.spans);
            }
            if let Some(width) = width {
                let fields = if split {
                    bufs.spans.len()
                } else {
                    field_count(&p.src.input.avail()[..line_end])
                };
                if fields != width {
                    return Err(p.src.err(
                        0,
                        Some(table),
                        format!(
                            "a COPY row has {fields} fields but the statement has {width} columns"
                        ),
                    ));
                }
            }
            let counters = (plan.rule_counter, plan.limit_counter);
            let (ordinal, mut keep) = p.cat.tally.next_row(sidx, counters, plan.max_rows());
            if !p.subset.is_off() {
                let fields = if p.subset.needs_fields() {
                    let line = &p.src.input.avail()[..line_end];
                    if !split {
                        split_fields(line, &mut bufs.spans);
                    }
                    Some(Fields::Copy(line, &bufs.spans))
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
            if keep && root.is_none() {
                p.emit.out.put(&p.src.input.avail()[..line_end])?;
            } else if keep && pipelined {
                let line = &p.src.input.avail()[..line_end];
                let kind = (Ctx::Copy, p.src.lexer.syntax(), sidx);
                // No spans: a COPY row is split where it is rewritten.
                p.emit.out.put_row(&plans, kind, line, &[], ordinal)?;
            } else if keep {
                let line = &p.src.input.avail()[..line_end];
                let job = RowJob {
                    anon: p.anon,
                    plans: &plans,
                    shape,
                    ctx: Ctx::Copy,
                    syntax: p.src.lexer.syntax(),
                    ordinal,
                };
                // The next line, when whole in the buffer.
                let rest = &p.src.input.avail()[line_end..];
                ahead.look(
                    &job,
                    p.src.input.offset() + line_end as u64,
                    |spans| {
                        let end = memchr::memchr(b'\n', rest)? + 1;
                        split_fields(&rest[..end], spans);
                        Some(end)
                    },
                    |len| &rest[..len],
                );
                bufs.row.clear();
                job.rewrite(
                    line,
                    &bufs.spans,
                    &mut bufs.scratch,
                    &mut bufs.value,
                    &mut bufs.row,
                );
                p.emit.out.put(&bufs.row)?;
            }
            p.src.input.consume(line_end);
        }
    }
}

/// Copies (or drops) a COPY data block through its `\.` line; returns its row count.
fn copy_data_fast<R: Read, W: Write>(
    p: &mut Parts<'_, R, W>,
    write: bool,
    table: &QName,
) -> Result<u64, SqlError> {
    let mut rows = 0u64;
    let mut line_start = true;
    let finder = memchr::memmem::Finder::new(b"\n\\.");
    loop {
        if line_start {
            match end_of_block(p, write)? {
                Some(true) => return Ok(rows),
                Some(false) => {}
                None => continue,
            }
        }
        let a = p.src.input.avail();
        if a.is_empty() {
            if !p.src.input.fill()? {
                return Err(p.src.err(0, Some(table), NO_TERMINATOR));
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
            p.emit.out.put(chunk)?;
        }
        p.src.input.consume_lines(upto, lines);
    }
}
