//! `mask`: keeps the ends of a value, hides the middle, keeps the length.

use super::{Example, Spec, Transform, Written};
use crate::parse_ctx::{Params, RulesError};
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "mask",
    params: &["keep_start", "keep_end", "char"],
    parse,
    does: "keeps `keep_start`/`keep_end` characters, replaces the rest, keeps the length; a \
           value no longer than `keep_start + keep_end` is masked whole",
    params_doc: "`keep_start` (0), `keep_end` (0), `char` (`*`)",
    examples: &[
        Example {
            rule: "{transform: mask, keep_start: 2, keep_end: 3}",
            input: Value::Str("4111111111111111"),
            keyed: true,
        },
        Example {
            rule: "{transform: mask, keep_start: 2, keep_end: 3}",
            input: Value::Str("4111"),
            keyed: true,
        },
    ],
};

fn parse(p: &Params<'_>) -> Result<Transform, RulesError> {
    Ok(Transform::Mask {
        keep_start: p.usize_in("keep_start", 0, 0, usize::MAX)?,
        keep_end: p.usize_in("keep_end", 0, 0, usize::MAX)?,
        mask_char: match p.string("char")? {
            None => '*',
            Some(c) => {
                let mut chars = c.chars();
                match (chars.next(), chars.next()) {
                    (Some(one), None) => one,
                    _ => return Err(p.err("char", "`char` must be exactly one character")),
                }
            }
        },
    })
}

/// True when position `i` of `n` is kept. A value no longer than `keep_start + keep_end`
/// keeps nothing: masking must hide at least one character.
fn kept(i: usize, n: usize, keep_start: usize, keep_end: usize) -> bool {
    n > keep_start.saturating_add(keep_end) && (i < keep_start || i + keep_end >= n)
}

/// Applies `mask` (`None`: not text).
pub(super) fn apply(
    value: Value<'_>,
    keep_start: usize,
    keep_end: usize,
    mask_char: char,
    out: &mut Vec<u8>,
) -> Option<Written> {
    match value {
        Value::Str(s) => {
            let n = if s.is_ascii() {
                s.len()
            } else {
                s.chars().count()
            };
            let mut utf8 = [0u8; 4];
            let fill = mask_char.encode_utf8(&mut utf8).as_bytes();
            out.reserve(s.len() + n * fill.len());
            for (i, c) in s.chars().enumerate() {
                if kept(i, n, keep_start, keep_end) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                } else {
                    out.extend_from_slice(fill);
                }
            }
            Some(Written::Str)
        }
        Value::Bytes(b) => {
            let fill = if mask_char.is_ascii() {
                mask_char as u8
            } else {
                b'*'
            };
            let n = b.len();
            out.extend(b.iter().enumerate().map(|(i, &c)| {
                if kept(i, n, keep_start, keep_end) {
                    c
                } else {
                    fill
                }
            }));
            Some(Written::Bytes)
        }
        _ => None,
    }
}
