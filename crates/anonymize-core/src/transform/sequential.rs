//! `sequential` and `sequential_suffix`: the document's or row's ordinal in its collection or
//! table (so one person gets a different value in each collection).

use super::{push_decimal, Example, Spec, Transform, Written};
use crate::parse_ctx::Params;
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "sequential",
    params: &["prefix"],
    parse: |p: &Params<'_>| {
        Ok(Transform::Sequential {
            prefix: p.string("prefix")?.unwrap_or_else(|| "User".to_owned()),
        })
    },
    does: "`<prefix><n>`, n = 1-based position of the document or row in its collection or \
           table: ordinals are per collection or table, so one person gets a different value \
           in each (not one pseudonym everywhere)",
    params_doc: "`prefix` (`User`)",
    examples: &[Example {
        rule: "sequential",
        input: Value::Str("John"),
        keyed: true,
    }],
};

pub(super) const SUFFIX: Spec = Spec {
    name: "sequential_suffix",
    params: &[],
    parse: |_| Ok(Transform::SequentialSuffix),
    does: "`<n>` (per collection or table, like `sequential`); an integer stays an integer",
    params_doc: "",
    examples: &[
        Example {
            rule: "sequential_suffix",
            input: Value::Str("Smith"),
            keyed: true,
        },
        Example {
            rule: "sequential_suffix",
            input: Value::Int32(1234),
            keyed: true,
        },
    ],
};

/// Applies `sequential` with `prefix` (`sequential_suffix`: an empty prefix).
pub(super) fn apply(
    value: Value<'_>,
    prefix: &str,
    ordinal: u64,
    out: &mut Vec<u8>,
) -> Option<Written> {
    Some(match value {
        Value::Str(_) | Value::Bytes(_) => {
            out.extend_from_slice(prefix.as_bytes());
            push_decimal(ordinal, out);
            Written::Str
        }
        Value::Int32(_) => Written::Int32(i32::try_from(ordinal).unwrap_or(i32::MAX)),
        Value::Int64(_) | Value::Number(_) => {
            Written::Int64(i64::try_from(ordinal).unwrap_or(i64::MAX))
        }
        _ => return None,
    })
}
