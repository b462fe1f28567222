//! Data statements: the rows of `INSERT` tuples and `COPY ... FROM stdin` blocks, passed
//! through, dropped, limited or rewritten. INSERT and COPY share the decision per table
//! ([`Route`]), the row accounting ([`crate::tally::Tally`]) and the row job ([`job`]).

mod copy;
mod insert;
mod job;
mod plan;

use anonymize_core::{Anonymizer, Transform};

use crate::catalog::{column_node, Catalog, TablePlan};
use crate::ddl::Family;
use crate::error::SqlError;
use crate::tokens::QName;

use crate::head::InsertHead;
use insert::InsertTarget;

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
    fn of(plan: Option<TablePlan<'a>>, excluded: bool) -> Route<'a> {
        match plan {
            Some(p) if !excluded && !p.schema_only() => {
                if p.root().is_none() && p.max_rows().is_none() {
                    Route::Pass
                } else {
                    Route::Rows(p)
                }
            }
            _ => Route::Drop,
        }
    }
}

/// Refuses rules on a partition key column: rewritten, rows would leave their partition.
fn check_partition_key(
    cat: &Catalog<'_>,
    table: &QName,
    plan: Option<&TablePlan<'_>>,
) -> Result<(), SqlError> {
    let plan = plan.filter(|p| !p.schema_only());
    match plan.and_then(|p| cat.partition_key_rule(table, p)) {
        Some(column) => Err(SqlError::Rules {
            table: table.display(),
            message: format!(
                "a rule covers `{column}`, a column of the table's partition key: rewritten \
                 values would put rows outside their partition on restore; remove that rule"
            ),
        }),
        None => Ok(()),
    }
}

/// Whether `transform` writes values a column of `family` (type `type_name`) accepts.
/// Unknown types (user types, domains) and text are not refused.
fn fits(transform: &Transform, family: Family, type_name: &str) -> bool {
    let big = ["bigint", "int8", "bigserial", "serial8"]
        .iter()
        .any(|b| type_name.starts_with(b));
    match transform.name() {
        "keep" | "null" | "remove" | "constant" => true,
        _ if matches!(family, Family::Text | Family::Unknown) => true,
        // Keyed 63-bit integers fit only 64-bit columns.
        "hash" | "hmac" => family == Family::Binary || (family == Family::Integer && big),
        "hash_email" | "mask" | "sequential" => family == Family::Binary,
        "sequential_suffix" | "digits" => matches!(family, Family::Integer | Family::Decimal),
        "date_shift" => family == Family::Date,
        "fake" => match transform {
            Transform::Fake { kind, .. } => matches!(
                (kind.name(), family),
                ("uuid", Family::Uuid) | ("ipv4" | "ipv6", Family::Inet)
            ),
            _ => false,
        },
        _ => true,
    }
}

/// Refuses, before a table's rows, a rule whose values its column would not accept (when
/// the table's definition is known): `hash` on an `int`, `digits` on a date...
fn check_column_types(
    cat: &mut Catalog<'_>,
    anon: &Anonymizer,
    table: &QName,
    plan: Option<&TablePlan<'_>>,
    dialect: crate::Dialect,
) -> Result<(), SqlError> {
    let Some(root) = plan.filter(|p| !p.schema_only()).and_then(|p| p.root()) else {
        return Ok(());
    };
    let Some(def) = cat.def(table) else {
        return Ok(());
    };
    for col in def.columns.iter().filter(|c| !c.generated) {
        let Some(rule) = column_node(Some(root), &col.name, dialect).and_then(|n| n.rule()) else {
            continue;
        };
        let transform = anon.transform(rule);
        if !fits(transform, col.family, &col.type_name) {
            return Err(SqlError::Rules {
                table: table.display(),
                message: format!(
                    "the rule `{}` on column `{}` ({}) would write values the column does not \
                     accept; use a transform that keeps the type (null, constant, keep, or one \
                     made for it)",
                    transform.name(),
                    col.name,
                    col.type_name
                ),
            });
        }
    }
    Ok(())
}

/// Buffers reused from row to row.
#[derive(Default)]
struct Bufs {
    scratch: Vec<u8>,
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
