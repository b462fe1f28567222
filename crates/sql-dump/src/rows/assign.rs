//! Literals of covered columns outside INSERT rows (issue 19.3): the `SET` lists and
//! `WHERE col = literal` conditions of single-table `UPDATE`s and the `SET` lists of upsert
//! trailers (`ON CONFLICT ... DO UPDATE SET`, `ON DUPLICATE KEY UPDATE`), rewritten by the
//! same row job as INSERT values.

use std::io::{Read, Write};

use anonymize_core::PlanNode;

use super::job::RowJob;
use super::plan::{col_plans, RowShape};
use crate::catalog::column_node;
use crate::error::SqlError;
use crate::literal::Ctx;
use crate::parts::Parts;
use crate::tokens::{QName, Spanned};
use crate::writes::covered_literals;

/// Rewrites the literals of covered columns in `body` from token `from` on. `None`: no
/// literal of a covered column (the statement is kept as it is). An error when a covered
/// column appears in a form whose values cannot be attributed (it names the table, never a
/// value).
pub(crate) fn rewrite_assigned<R: Read, W: Write>(
    p: &mut Parts<'_, R, W>,
    table: &QName,
    root: &PlanNode,
    (body, toks, from): (&[u8], &[Spanned<'_>], usize),
) -> Result<Option<Vec<u8>>, SqlError> {
    let dialect = p.dialect;
    let covered = |c: &str| column_node(Some(root), c, dialect).is_some();
    let assigned = covered_literals(toks, body, from, &covered).map_err(|column| {
        p.src.err(
            0,
            Some(table),
            format!(
                "a statement writes column `{column}`, which a rule covers, with a value that \
                 cannot be read (an expression, LIKE, IN, a subquery...): its values cannot \
                 be rewritten; edit the dump or remove the statement"
            ),
        )
    })?;
    if assigned.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = assigned.iter().map(|a| a.column.clone()).collect();
    let spans: Vec<(usize, usize)> = assigned
        .iter()
        .map(|a| (a.span.start, a.span.end))
        .collect();
    let def = p.cat.def(table);
    let plans = col_plans(Some(root), def.as_deref(), &names, dialect);
    let syntax = p.src.lexer.syntax();
    let job = RowJob {
        anon: p.anon,
        plans: &plans,
        shape: RowShape::of(&plans, false),
        ctx: Ctx::insert(syntax),
        syntax,
        ordinal: 0,
    };
    let (mut scratch, mut value, mut out) = (Vec::new(), Vec::new(), Vec::new());
    job.rewrite(body, &spans, &mut scratch, &mut value, &mut out);
    Ok(Some(out))
}
