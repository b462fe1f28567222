//! `hash`: a hex digest of the value (keyed unless the run is explicitly unkeyed).

use super::{keyed_integer, Digester, Example, Spec, Transform, Written};
use crate::encoding::hex_to;
use crate::parse_ctx::Params;
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "hash",
    params: &["length"],
    parse: |p: &Params<'_>| {
        Ok(Transform::Hash {
            length: p.usize_in("length", 16, 1, 64)?,
        })
    },
    does: "hex digest of the value; integers get a keyed permutation that keeps sign and width \
           (distinct ids stay distinct, an int32 stays an int32), BSON binary keeps subtype and \
           length",
    params_doc: "`length` (16, 1-64)",
    examples: &[Example {
        rule: "hash",
        input: Value::Str("auth0|5f7c8e9d"),
        keyed: false,
    }],
};

const DOMAIN: &str = "hash";

/// Applies `hash` (`None`: the type cannot be hashed).
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    length: usize,
    out: &mut Vec<u8>,
) -> Option<Written> {
    Some(match value {
        Value::Str(s) => {
            hex_to(&d.reference_digest(DOMAIN, s.as_bytes()), length, out);
            Written::Str
        }
        Value::Bytes(b) => {
            hex_to(&d.reference_digest(DOMAIN, b), length, out);
            Written::Str
        }
        Value::Binary { subtype, bytes } => {
            d.stream_to(DOMAIN, bytes, bytes.len(), out);
            Written::Binary { subtype }
        }
        other => return keyed_integer(d, DOMAIN, other, out),
    })
}
