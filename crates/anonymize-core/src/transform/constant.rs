//! `constant`: a fixed value of the rules file's type.

use serde_yaml_ng::Value as Yaml;

use super::{Example, Spec, Transform, Written};
use crate::parse_ctx::{type_name, Params, RulesError};
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "constant",
    params: &["value"],
    parse,
    does: "the given value (string, number, boolean or null)",
    params_doc: "`value` (required)",
    examples: &[Example {
        rule: "{transform: constant, value: staging}",
        input: Value::Str("production"),
        keyed: true,
    }],
};

/// The value of a `constant` transform.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstantValue {
    /// YAML null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

fn parse(p: &Params<'_>) -> Result<Transform, RulesError> {
    let v = p
        .get("value")
        .ok_or_else(|| p.error_here("`constant` needs `value:`"))?;
    Ok(Transform::Constant(match v {
        Yaml::Null => ConstantValue::Null,
        Yaml::Bool(b) => ConstantValue::Bool(*b),
        Yaml::Number(n) => match n.as_i64() {
            Some(i) => ConstantValue::Int(i),
            None => ConstantValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Yaml::String(s) => ConstantValue::Str(s.clone()),
        other => {
            return Err(p.err(
                "value",
                format!(
                    "`value` must be a string, number, boolean or null, found {}",
                    type_name(other)
                ),
            ))
        }
    }))
}

impl ConstantValue {
    /// Writes the constant for an `input` value (an integer keeps an int32 input's width
    /// when it fits).
    pub(super) fn write(&self, input: Value<'_>, out: &mut Vec<u8>) -> Written {
        match self {
            ConstantValue::Null => Written::Null,
            ConstantValue::Bool(b) => Written::Bool(*b),
            ConstantValue::Int(i) => match (input, i32::try_from(*i)) {
                (Value::Int32(_), Ok(small)) => Written::Int32(small),
                _ => Written::Int64(*i),
            },
            ConstantValue::Float(f) => Written::Double(*f),
            ConstantValue::Str(s) => {
                out.extend_from_slice(s.as_bytes());
                Written::Str
            }
        }
    }
}
