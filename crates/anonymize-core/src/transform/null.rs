//! `null` and `remove`: the value goes away.

use super::{Example, Spec, Transform};
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "null",
    params: &[],
    parse: |_| Ok(Transform::Null),
    does: "null (a bare YAML `transform: null` means this too)",
    params_doc: "",
    examples: &[Example {
        rule: "{transform: null}",
        input: Value::Str("x"),
        keyed: true,
    }],
};

pub(super) const REMOVE: Spec = Spec {
    name: "remove",
    params: &[],
    parse: |_| Ok(Transform::Remove),
    does: "removes the field (MongoDB); same as `null` in SQL",
    params_doc: "",
    examples: &[],
};
