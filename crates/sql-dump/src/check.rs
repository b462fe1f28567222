//! Checks that the rules fit the dump, made as soon as a table's definition is read and again
//! before its rows: no rule on a partition key, no rule whose values its column would refuse.

use anonymize_core::{Anonymizer, ConstantValue, Transform};

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
        // An array column takes an array literal (`{a,b}`) or null.
        "constant" if family == Family::Array => match transform {
            Transform::Constant(ConstantValue::Str(s)) => s.starts_with('{'),
            Transform::Constant(ConstantValue::Null) => true,
            _ => false,
        },
        "keep" | "null" | "remove" | "constant" => true,
        _ if matches!(family, Family::Text | Family::Unknown) => true,
        // Integers get a permutation that keeps every value inside the range of its integer
        // type (see anonymize-core's `permute`): any integer column takes them.
        "hash" | "hmac" => matches!(family, Family::Binary | Family::Integer),
        // Text transforms read text: a binary column's values are bytes, which they would
        // replace by NULL.
        "hash_email" | "mask" | "sequential" => false,
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

/// Whether a column's values can be JSON documents: JSON and text types, and types not
/// known here (domains) other than `hstore` and the dump's composite types.
fn holds_json(cat: &Catalog<'_>, col: &crate::ddl::Column) -> bool {
    match col.family {
        Family::Json | Family::Text => true,
        Family::Unknown => {
            let first = col.type_name.split([' ', '(']).next().unwrap_or("");
            let last = first.rsplit('.').next().unwrap_or("");
            !(last == "hstore" || cat.is_composite_type(&col.type_name))
        }
        _ => false,
    }
}

/// Refuses, before a table's rows, a rule whose values its column would not accept (when
/// the table's definition is known): `hash` on an `int`, `digits` on a date...
/// The table's `when:` names columns of its definition: a condition on a column the table
/// does not have, or on a path into a column, could never be evaluated (its rows would all
/// get the rules, silently unlike what the rules file says).
fn check_when(
    root: &anonymize_core::PlanNode,
    def: &crate::ddl::TableDef,
    table: &QName,
    dialect: crate::Dialect,
) -> Result<(), SqlError> {
    let Some(when) = root.when() else {
        return Ok(());
    };
    for c in when.conditions() {
        let message = match &c.path[..] {
            [name]
                if def.columns.iter().any(|col| {
                    col.name == *name
                        || (dialect.case_insensitive_columns()
                            && col.name.eq_ignore_ascii_case(name))
                }) =>
            {
                continue
            }
            [name] => format!(
                "the `when` of the rules of `{}` names column `{name}`, which the table does not \
                 have (its columns: {})",
                when.table(),
                def.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            steps => format!(
                "the `when` of the rules of `{}` names `{}`, a path into a column: in a SQL dump \
                 a condition names a column",
                when.table(),
                steps.join(".")
            ),
        };
        return Err(SqlError::Rules {
            table: table.display(),
            message,
        });
    }
    Ok(())
}

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
    check_when(root, &def, table, dialect)?;
    for col in def.columns.iter().filter(|c| !c.generated) {
        let Some(node) = column_node(Some(root), &col.name, dialect) else {
            continue;
        };
        let Some(rule) = node.rule() else {
            if node.has_children() && !holds_json(cat, col) {
                return Err(SqlError::Rules {
                    table: table.display(),
                    message: format!(
                        "rules reach into column `{}` ({}) as into a JSON document, but its \
                         type is not JSON or text: its values would all be nulled; put a rule \
                         on the column itself (e.g. `{}: null`)",
                        col.name, col.type_name, col.name
                    ),
                });
            }
            continue;
        };
        let transform = anon.transform(rule);
        // Transforms other than the whole-value ones apply to an array's elements.
        let element_wise = col.family == Family::Array
            && !matches!(transform.name(), "keep" | "null" | "remove" | "constant");
        let family = if element_wise {
            crate::ddl::element_family(&col.type_name, dialect)
        } else {
            col.family
        };
        if !fits(transform, family) && col.family == Family::Array {
            return Err(SqlError::Rules {
                table: table.display(),
                message: format!(
                    "the rule `{}` on column `{}` ({}) would write elements the array does \
                     not accept (transforms apply to each element; constant takes an array \
                     literal `{{...}}`); use one that fits the element type",
                    transform.name(),
                    col.name,
                    col.type_name
                ),
            });
        }
        if !fits(transform, family) {
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

/// Refuses a kept table with a column of an excluded table's row type: its `CREATE TABLE`
/// could not restore without the excluded table.
pub(crate) fn check_row_types(cat: &mut Catalog<'_>, table: &QName) -> Result<(), SqlError> {
    if cat.is_excluded(table, true) {
        return Ok(());
    }
    match cat.row_type_of_excluded(table) {
        Some((column, excluded)) => Err(SqlError::Rules {
            table: table.display(),
            message: format!(
                "column `{column}` has the row type of excluded table {}: the table could \
                 not be created without it; exclude {} too, or keep {}",
                excluded.display(),
                table.display(),
                excluded.display()
            ),
        }),
        None => Ok(()),
    }
}

/// The length of a rule's pseudonyms when it is fixed (`hash_email`: hash, dot, domain
/// hash, `@`, domain).
fn fixed_length(transform: &Transform) -> Option<usize> {
    match transform {
        Transform::HashEmail {
            local_length,
            domain_length,
            domain,
            ..
        } => Some(local_length + 1 + domain_length + 1 + domain.chars().count()),
        _ => None,
    }
}

/// Refuses a foreign key whose two columns would cut their pseudonyms to different lengths
/// (`varchar(30)` referencing `varchar(100)`): the cut child value would no longer match
/// its parent's, and the constraint would fail (PostgreSQL) or orphan every row (MySQL).
/// Checked as soon as both tables' definitions and the key are known.
/// Only the keys from index `new_from` on, and those naming `created`, are checked (the
/// others were checked when their last definition was read).
pub(crate) fn check_foreign_keys(
    cat: &mut Catalog<'_>,
    anon: &Anonymizer,
    dialect: crate::Dialect,
    (new_from, created): (usize, Option<&QName>),
) -> Result<(), SqlError> {
    if anon.is_empty() {
        return Ok(());
    }
    let fks: Vec<_> = cat
        .foreign_keys
        .iter()
        .enumerate()
        .filter(|(i, (child, fk))| {
            *i >= new_from || created.is_some_and(|c| c == child || *c == fk.parent)
        })
        .map(|(_, f)| f.clone())
        .collect();
    for (child, fk) in &fks {
        let (Some(child_def), Some(parent_def)) = (cat.def(child), cat.def(&fk.parent)) else {
            continue;
        };
        let child_root = cat.plan(child).and_then(|p| p.root());
        let parent_root = cat.plan(&fk.parent).and_then(|p| p.root());
        for (c, pc) in fk.columns.iter().zip(&fk.parent_columns) {
            let rule_of = |root, name: &str| {
                column_node(root, name, dialect)
                    .and_then(|n| n.rule())
                    .map(|r| anon.transform(r))
            };
            let (Some(a), Some(b)) = (rule_of(child_root, c), rule_of(parent_root, pc)) else {
                continue;
            };
            let Some(len) = fixed_length(a).into_iter().chain(fixed_length(b)).max() else {
                continue;
            };
            let max_of = |def: &crate::ddl::TableDef, name: &str| {
                def.columns
                    .iter()
                    .find(|col| col.name.eq_ignore_ascii_case(name))
                    .and_then(|col| col.max_chars)
            };
            let cut = |max: Option<usize>| max.map_or(len, |m| m.min(len));
            let (child_max, parent_max) = (max_of(&child_def, c), max_of(&parent_def, pc));
            if cut(child_max) != cut(parent_max) {
                let shortest = child_max.into_iter().chain(parent_max).min().unwrap_or(len);
                return Err(SqlError::Rules {
                    table: child.display(),
                    message: format!(
                        "column `{c}` references {}.`{pc}`, and their pseudonyms ({len} \
                         characters) would be cut to different lengths ({} and {}), so they \
                         would no longer match; make the rule's pseudonyms fit {shortest} \
                         characters (hash_email: a shorter `local_length`/`domain`)",
                        fk.parent.display(),
                        cut(child_max),
                        cut(parent_max)
                    ),
                });
            }
        }
    }
    Ok(())
}
