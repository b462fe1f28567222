//! Column plans: which rule (and which column definition) applies to each value of a row.

use anonymize_core::PlanNode;

use crate::catalog::column_node;
use crate::ddl::{Column, Family, TableDef};
use crate::Dialect;

/// Whether column names `a` and `b` are the same in `dialect`.
fn same_column(a: &str, b: &str, dialect: Dialect) -> bool {
    a == b || (dialect.case_insensitive_columns() && a.eq_ignore_ascii_case(b))
}

/// How the values of one INSERT/COPY map to columns and rules.
pub(crate) struct ColPlan<'a> {
    /// The rule node of the column, if any.
    pub(crate) node: Option<&'a PlanNode>,
    /// The column's definition, if known.
    pub(crate) col: Option<Column>,
    /// The column's name from the column list or the definition (for the echo guard's
    /// counts), if known.
    pub(crate) name: Option<String>,
    /// The table's `when:` and the index of its condition on this column, if one names it.
    pub(crate) cond: Option<(&'a anonymize_core::When, usize)>,
}

/// What a row's column plans decide for every row they rewrite, found once per set of plans
/// instead of once per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowShape {
    /// The echo guard may search a value of the row: originals are recorded.
    pub(crate) watch: bool,
    /// A plan holds a `when:` condition: each row is tested.
    pub(crate) when: bool,
    /// The columns (bit `i`: value `i`) whose lengths as written bound the values the echo
    /// guard searches (`searched_columns`); `None`: no bound.
    pub(crate) searched: Option<u64>,
}

impl RowShape {
    /// The shape of rows rewritten by `plans` (`copy`: COPY fields, whose generated columns
    /// are not written).
    pub(crate) fn of(plans: &[ColPlan<'_>], copy: bool) -> RowShape {
        RowShape {
            watch: RowShape::watches(plans, copy),
            when: plans.iter().any(|p| p.cond.is_some()),
            searched: RowShape::searched_columns(plans, copy),
        }
    }

    /// The uncovered columns the echo guard searches as they are written in a row with
    /// `plans` (text or untyped, not generated, no rule), as bits; `None` when a column
    /// with rules inside (JSON, searched as rewritten) is searched or a searched column is
    /// beyond the 64th: their lengths as read bound nothing.
    fn searched_columns(plans: &[ColPlan<'_>], copy: bool) -> Option<u64> {
        let mut bits = 0;
        for (i, p) in plans.iter().enumerate() {
            let col = p.col.as_ref();
            if !searched(col) || (!copy && col.is_some_and(|c| c.generated)) {
                continue;
            }
            match p.node {
                None if i < 64 => bits |= 1 << i,
                Some(n) if n.rule().is_some() => {}
                _ => return None,
            }
        }
        Some(bits)
    }

    /// Whether the echo guard may search a value of a row with `plans`: some column is
    /// text (or untyped), not generated, and not covered by a rule of its own (a JSON
    /// column with rules inside counts). When none is, no original needs recording.
    pub(crate) fn watches(plans: &[ColPlan<'_>], copy: bool) -> bool {
        plans.iter().any(|p| {
            let col = p.col.as_ref();
            searched(col)
                && p.node.is_none_or(|n| n.rule().is_none())
                && (copy || !col.is_some_and(|c| c.generated))
        })
    }
}

/// The table's `when:` condition on column `name` (a condition on a path into a column,
/// `payload.role`, names none: it cannot be evaluated and the rules apply).
fn cond_of<'a>(
    root: Option<&'a PlanNode>,
    name: &str,
    dialect: Dialect,
) -> Option<(&'a anonymize_core::When, usize)> {
    let when = root?.when()?;
    let k = when
        .conditions()
        .iter()
        .position(|c| matches!(&c.path[..], [col] if same_column(col, name, dialect)))?;
    Some((when, k))
}

/// Column plans, and the column list (as written) they were made for; `None`: positional
/// (no column list), made from the table's definition.
pub(crate) struct ColumnPlans<'a> {
    /// The column list's text.
    pub(crate) list: Option<Vec<u8>>,
    /// One plan per value (shared with the batches of rows rewritten on worker threads).
    pub(crate) plans: std::sync::Arc<[ColPlan<'a>]>,
    /// What the plans decide for every row (INSERT values).
    pub(crate) shape: RowShape,
}

impl<'a> ColumnPlans<'a> {
    /// The plans of INSERT values, for the column list `list` as written (`None`:
    /// positional).
    pub(crate) fn new(plans: Vec<ColPlan<'a>>, list: Option<Vec<u8>>) -> ColumnPlans<'a> {
        ColumnPlans {
            shape: RowShape::of(&plans, false),
            plans: plans.into(),
            list,
        }
    }
}

/// Column plans for the named columns of a table.
pub(crate) fn col_plans<'a>(
    root: Option<&'a PlanNode>,
    def: Option<&TableDef>,
    names: &[String],
    dialect: Dialect,
) -> Vec<ColPlan<'a>> {
    names
        .iter()
        .map(|n| ColPlan {
            cond: cond_of(root, n, dialect),
            name: Some(n.clone()),
            node: column_node(root, n, dialect),
            col: def.and_then(|d| {
                let col = d.columns.iter().find(|c| same_column(&c.name, n, dialect));
                col.cloned()
            }),
        })
        .collect()
}

/// The stored (not generated) column names of a table, in order: the columns of a COPY
/// without a column list.
pub(crate) fn stored_names(def: &TableDef) -> Vec<String> {
    def.columns
        .iter()
        .filter(|c| !c.generated)
        .map(|c| c.name.clone())
        .collect()
}

/// Why positional plans could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PositionalError {
    /// The table's `CREATE TABLE` was not seen.
    NoDefinition,
    /// The row's width matches neither all columns nor the stored ones.
    Width {
        /// Values in the row.
        values: usize,
        /// Columns of the table.
        columns: usize,
    },
}

/// Column plans for rows without a column list, chosen by the number of values.
pub(crate) fn positional_plans<'a>(
    root: Option<&'a PlanNode>,
    def: Option<&TableDef>,
    count: usize,
    dialect: Dialect,
) -> Result<Vec<ColPlan<'a>>, PositionalError> {
    let Some(def) = def else {
        return Err(PositionalError::NoDefinition);
    };
    let all: Vec<&Column> = def.columns.iter().collect();
    let stored: Vec<&Column> = def.columns.iter().filter(|c| !c.generated).collect();
    let cols = if count == all.len() {
        all
    } else if count == stored.len() {
        stored
    } else {
        return Err(PositionalError::Width {
            values: count,
            columns: def.columns.len(),
        });
    };
    Ok(cols
        .into_iter()
        .map(|c| ColPlan {
            cond: cond_of(root, &c.name, dialect),
            name: Some(c.name.clone()),
            node: column_node(root, &c.name, dialect),
            col: Some(c.clone()),
        })
        .collect())
}

/// Whether the echo guard looks at the values of `col`: text, JSON, arrays and columns of
/// unknown type, binary strings; not dates, numbers, enums and other typed values (a
/// `created_at` equal to a covered birth date is no copy of it).
pub(crate) fn searched(col: Option<&Column>) -> bool {
    col.is_none_or(|c| {
        matches!(
            c.family,
            Family::Text | Family::Json | Family::Array | Family::Binary | Family::Unknown
        )
    })
}
