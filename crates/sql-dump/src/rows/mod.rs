//! Data statements: the rows of `INSERT` tuples and `COPY ... FROM stdin` blocks, passed
//! through, dropped, limited or rewritten. INSERT and COPY share the decision per table
//! ([`Route`]), the row accounting ([`crate::tally::Tally`]) and the row job ([`job`]).

mod ahead;
mod assign;
mod copy;
mod echo;
mod insert;
pub(crate) mod job;
pub(crate) mod plan;
mod when;

use crate::catalog::TablePlan;

pub(crate) use assign::rewrite_assigned;

use crate::head::InsertHead;
use insert::InsertTarget;

/// Asks the subset pass whether a row is written (its keys in `fields` where it reads them)
/// and moves the row between kept and dropped in the table's tally when the answer differs
/// from `keep` (the limit's decision).
fn subset_row<R: std::io::Read>(
    (subset, src, tally): (
        &mut crate::subset::Mode,
        &crate::source::Source<R>,
        &mut crate::tally::Tally,
    ),
    keep: bool,
    fields: Option<crate::subset::keys::Fields<'_>>,
    table: &crate::tokens::QName,
    sidx: usize,
) -> Result<bool, crate::error::SqlError> {
    let written = subset
        .row(keep, fields)
        .map_err(|m| src.err(0, Some(table), m))?;
    if keep && !written {
        tally.unkeep(sidx);
    } else if !keep && written {
        tally.rekeep(sidx);
    }
    Ok(written)
}

/// What a data-statement reader did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    /// The statement was read (written, dropped or rewritten).
    Done,
    /// Not a data statement handled row by row: read it as an ordinary statement.
    NotRows,
}

/// What happens to the rows of a table.
enum Route<'a> {
    /// Excluded or schema-only: the rows are dropped.
    Drop,
    /// No field rule and no limit: the rows pass without being looked at.
    Pass,
    /// Rows are read one by one (rules or a limit).
    Rows(TablePlan<'a>),
}

impl<'a> Route<'a> {
    /// The route of `table`'s rows; a subset pass ([`crate::subset::Mode`]) reads rows one
    /// by one where it needs them, and applies no rules while it writes nothing.
    fn of(
        plan: Option<TablePlan<'a>>,
        excluded: bool,
        subset: &crate::subset::Mode,
        table: &crate::tokens::QName,
    ) -> Route<'a> {
        match plan {
            Some(p) if !excluded && !p.schema_only() => {
                let p = if subset.collecting() {
                    p.without_rules()
                } else {
                    p
                };
                // Pass 2 counts the rows of every limited table as the rewrite will, so that
                // limits shared by partitions cut the same rows.
                if subset.wants_rows(table) || (subset.counts_limits() && p.max_rows().is_some()) {
                    Route::Rows(p)
                } else if subset.collecting() || (p.root().is_none() && p.max_rows().is_none()) {
                    Route::Pass
                } else {
                    Route::Rows(p)
                }
            }
            _ => Route::Drop,
        }
    }
}

/// Buffers reused from row to row.
#[derive(Default)]
struct Bufs {
    /// A value's decoded text.
    scratch: Vec<u8>,
    /// A transform's output (`Anonymizer::apply_into`).
    value: Vec<u8>,
    /// The head of the INSERT whose rows are being rewritten.
    head_bytes: Vec<u8>,
    row: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

/// The row reader's state between statements.
#[derive(Default)]
pub(crate) struct Rows<'a> {
    /// The previous statement's INSERT target, while no other statement came between.
    last_insert: Option<InsertTarget<'a>>,
    /// The bytes of the last INSERT head scanned, and what they hold.
    last_head: Option<(Vec<u8>, InsertHead)>,
    bufs: Bufs,
}

impl Rows<'_> {
    /// Another statement came: the next INSERT resolves its table again (the statement
    /// may have changed the database, a definition or an exclusion).
    pub(crate) fn forget_target(&mut self) {
        self.last_insert = None;
    }
}

/// Opens a data statement's table once its name is known: releases the held output, shows the
/// table, and returns its summary slot, whether it is excluded, and its plan, after checking
/// that the rules fit it (partition keys, column types). INSERT and COPY share it.
fn open_table<'a, R, W: std::io::Write>(
    p: &mut crate::parts::Parts<'a, R, W>,
    table: &crate::tokens::QName,
) -> Result<(usize, bool, Option<TablePlan<'a>>), crate::error::SqlError> {
    p.emit.flush_pending(&mut p.cat)?;
    p.cat.apply_derivations();
    p.show_table(table);
    let sidx = p.cat.summary(table);
    let excluded = p.cat.is_excluded(table, true);
    let plan = p.cat.plan(table);
    crate::check::check_partition_key(&p.cat, table, plan.as_ref())?;
    crate::check::check_column_types(&mut p.cat, p.anon, table, plan.as_ref(), p.dialect)?;
    Ok((sidx, excluded, plan))
}
