//! `keep`: leaves the value; marks the field as reviewed.

use super::{Example, Spec, Transform};
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "keep",
    params: &[],
    parse: |_| Ok(Transform::Keep),
    does: "leaves the value; marks the field as reviewed",
    params_doc: "",
    examples: &[Example {
        rule: "keep",
        input: Value::Str("x"),
        keyed: true,
    }],
};
