//! Checks that the rules fit the dump, made as soon as a table's definition is read and again
//! before its rows: no rule on a partition key, no rule whose values its column would refuse.

use anonymize_core::{Anonymizer, Transform};

use crate::catalog::{column_node, Catalog, TablePlan};
use crate::ddl::Family;
use crate::error::SqlError;
use crate::tokens::QName;

/// Refuses rules on a partition key column: rewritten, rows would leave their partition.
pub(crate) fn check_partition_key(
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

/// Whether `transform` writes values a column of `family` accepts.
/// Unknown types (user types, domains) and text are not refused.
fn fits(transform: &Transform, family: Family) -> bool {
    match transform.name() {
        "keep" | "null" | "remove" | "constant" => true,
        _ if matches!(family, Family::Text | Family::Unknown) => true,
        // Integers get a permutation that keeps every value inside the range of its integer
        // type (see anonymize-core's `permute`): any integer column takes them.
        "hash" | "hmac" => matches!(family, Family::Binary | Family::Integer),
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
pub(crate) fn check_column_types(
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
        if !fits(transform, col.family) {
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
