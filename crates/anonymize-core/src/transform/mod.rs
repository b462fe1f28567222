//! The transforms. Each one lives in its own module with everything about it: its name and
//! parameters, how a rules file's parameters are parsed and validated, how it rewrites a value,
//! and its line of README's transform table (with examples computed by the code). [`SPECS`]
//! lists them once; the names table and the parser derive from it.
//!
//! Every transform is deterministic: the same value, key and parameters give the same output
//! everywhere. Keyed digests are HMAC-SHA256 over `domain || 0x00 || value`, with a domain
//! separator per transform, so `hash` and `hmac` of one value differ.
//!
//! Transforms write into a caller's reused buffer ([`apply_into`]): in the common case a value
//! costs no allocation.

mod constant;
mod date_shift;
mod digester;
mod digits;
mod fake;
mod hash;
mod hash_email;
mod hmac;
mod keep;
mod keystream;
mod lanes;
mod mask;
mod null;
mod permute;
mod sequential;

#[cfg(test)]
mod readme;

pub(crate) use digester::Digester;

pub use constant::ConstantValue;
pub use fake::{FakeKind, FakeLocale};
pub use hash_email::{HashEmailMode, DEFAULT_EMAIL_DOMAIN};
pub use hmac::HmacEncoding;

use crate::parse_ctx::{Params, RulesError};
use crate::value::{Replacement, Value};

/// A transform with its parameters, as written in a rules file.
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// Leaves the value as it is (declares a field as reviewed).
    Keep,
    /// Hex digest of the value, `length` hex characters (1..=64, default 16).
    Hash {
        /// Number of hex characters.
        length: usize,
    },
    /// Like `hash` but refuses to run without a key.
    Hmac {
        /// Characters of output (default 32).
        length: usize,
        /// Text encoding of the digest.
        encoding: HmacEncoding,
    },
    /// `<hash(address)>.<hash(domain)>@<domain>` (or, `mode: per_part`, the brief's
    /// `<hash(local)>.<hash(domain)>@<domain>`).
    HashEmail {
        /// Hex characters of the local part's hash (default 16).
        local_length: usize,
        /// Hex characters of the original domain's hash (default 4).
        domain_length: usize,
        /// The domain every pseudonym uses (default `anonymized.syrf.local`).
        domain: String,
        /// Hash the address as written instead of lower-cased (default false).
        case_sensitive: bool,
        /// What the local part's digest covers.
        mode: HashEmailMode,
        /// SQL formats: give case and space variants of an address a keyed tag after the
        /// shared hash in every column that tells them apart, not only in columns with a
        /// unique key declared before their rows (default false).
        distinct_variants: bool,
    },
    /// `<prefix><n>`, n the 1-based ordinal of the document or row.
    Sequential {
        /// Text before the number (default `User`).
        prefix: String,
    },
    /// `<n>`; an integer stays an integer.
    SequentialSuffix,
    /// A realistic fake value seeded by HMAC(key, kind, value).
    Fake {
        /// What to make.
        kind: FakeKind,
        /// Locale of names and places.
        locale: FakeLocale,
    },
    /// Replaces every Unicode decimal digit with a keyed digit of the same script, keeps
    /// everything else.
    Digits,
    /// Keeps `keep_start`/`keep_end` characters, replaces the rest with `mask_char`; a value no
    /// longer than `keep_start + keep_end` is masked whole.
    Mask {
        /// Characters kept at the start.
        keep_start: usize,
        /// Characters kept at the end.
        keep_end: usize,
        /// The replacement character.
        mask_char: char,
    },
    /// Shifts a date by a keyed number of days in `±max_days` (never 0).
    DateShift {
        /// Largest shift in days (default 30).
        max_days: u32,
    },
    /// Null.
    Null,
    /// Removes the field (MongoDB); null in SQL.
    Remove,
    /// A fixed value.
    Constant(ConstantValue),
}

/// Everything about one transform that is not its code: name, parameters, parser, docs.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Spec {
    /// The name in a rules file.
    pub(crate) name: &'static str,
    /// The parameters it accepts besides `transform`.
    pub(crate) params: &'static [&'static str],
    /// Builds the transform from its (already name-checked) parameters.
    pub(crate) parse: fn(&Params<'_>) -> Result<Transform, RulesError>,
    /// README: what it does.
    pub(crate) does: &'static str,
    /// README: its parameters and their defaults.
    pub(crate) params_doc: &'static str,
    /// README: examples, whose outputs are computed by the code.
    pub(crate) examples: &'static [Example],
}

/// One README example of a transform.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Example {
    /// The field's rule, as written in YAML (`hash` or `{transform: hash, length: 8}`).
    pub(crate) rule: &'static str,
    /// The input value.
    pub(crate) input: Value<'static>,
    /// Computed with README's example key (true) or unkeyed.
    pub(crate) keyed: bool,
}

macro_rules! specs {
    ($($spec:expr),+ $(,)?) => {
        /// Every transform, in README's order.
        pub(crate) const SPECS: &[&Spec] = &[$(&$spec),+];
        const NAMES: &[&str] = &[$($spec.name),+];
    };
}

specs!(
    keep::SPEC,
    hash::SPEC,
    hmac::SPEC,
    hash_email::SPEC,
    sequential::SPEC,
    sequential::SUFFIX,
    fake::SPEC,
    digits::SPEC,
    mask::SPEC,
    date_shift::SPEC,
    null::SPEC,
    null::REMOVE,
    constant::SPEC,
);

/// The spec of the transform called `name`.
pub(crate) fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().copied().find(|s| s.name == name)
}

impl Transform {
    /// Every transform name a rules file accepts.
    pub const NAMES: &'static [&'static str] = NAMES;

    /// The name as written in a rules file.
    pub fn name(&self) -> &'static str {
        match self {
            Transform::Keep => keep::SPEC.name,
            Transform::Hash { .. } => hash::SPEC.name,
            Transform::Hmac { .. } => hmac::SPEC.name,
            Transform::HashEmail { .. } => hash_email::SPEC.name,
            Transform::Sequential { .. } => sequential::SPEC.name,
            Transform::SequentialSuffix => sequential::SUFFIX.name,
            Transform::Fake { .. } => fake::SPEC.name,
            Transform::Digits => digits::SPEC.name,
            Transform::Mask { .. } => mask::SPEC.name,
            Transform::DateShift { .. } => date_shift::SPEC.name,
            Transform::Null => null::SPEC.name,
            Transform::Remove => null::REMOVE.name,
            Transform::Constant(_) => constant::SPEC.name,
        }
    }

    /// True for transforms that replace a whole field, arrays included (`null`, `remove`,
    /// `constant`, `keep`); the others apply to each element of an array.
    pub fn applies_to_whole_value(&self) -> bool {
        matches!(
            self,
            Transform::Null | Transform::Remove | Transform::Constant(_) | Transform::Keep
        )
    }
}

/// What [`Anonymizer::apply_into`](crate::Anonymizer::apply_into) wrote. Text and binary
/// results are in the caller's buffer; scalars are carried here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Written {
    /// Leave the value exactly as it is (`keep`, or null input).
    Unchanged,
    /// Replace with null.
    Null,
    /// Remove the field (MongoDB); SQL formats write `NULL`.
    Remove,
    /// The buffer holds UTF-8 text.
    Str,
    /// The buffer holds raw bytes, written as a text literal.
    Bytes,
    /// The buffer holds a numeric literal as text (only for [`Value::Number`] input).
    Number,
    /// The buffer holds binary data of this BSON subtype (the input's).
    Binary {
        /// BSON binary subtype.
        subtype: u8,
    },
    /// A 32-bit integer.
    Int32(i32),
    /// A 64-bit integer.
    Int64(i64),
    /// A floating point number.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// A BSON UTC datetime in milliseconds since the epoch.
    DateTime(i64),
}

impl Written {
    /// The owned [`Replacement`] this result stands for, `buf` being the buffer it was
    /// written into.
    pub fn to_replacement(self, buf: &[u8]) -> Replacement {
        let text = || String::from_utf8_lossy(buf).into_owned();
        match self {
            Written::Unchanged => Replacement::Unchanged,
            Written::Null => Replacement::Null,
            Written::Remove => Replacement::Remove,
            Written::Str => Replacement::Str(text()),
            Written::Bytes => Replacement::Bytes(buf.to_vec()),
            Written::Number => Replacement::Number(text()),
            Written::Binary { subtype } => Replacement::Binary {
                subtype,
                bytes: buf.to_vec(),
            },
            Written::Int32(v) => Replacement::Int32(v),
            Written::Int64(v) => Replacement::Int64(v),
            Written::Double(v) => Replacement::Double(v),
            Written::Bool(v) => Replacement::Bool(v),
            Written::DateTime(v) => Replacement::DateTime(v),
        }
    }
}

/// What applying a transform did, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The value was left alone.
    Unchanged,
    /// The value was rewritten.
    Changed,
    /// The transform could not apply to the value's type; it was replaced by null.
    FailedClosed,
}

/// Applies `transform` to `value`, writing text or binary results into `out` (cleared first).
/// `ordinal` is the 1-based row/document number.
pub(crate) fn apply_into(
    transform: &Transform,
    digester: &Digester,
    value: Value<'_>,
    ordinal: u64,
    out: &mut Vec<u8>,
) -> (Written, Outcome) {
    out.clear();
    if let Value::Null = value {
        return match transform {
            Transform::Constant(c) => (c.write(value, out), Outcome::Changed),
            Transform::Remove => (Written::Remove, Outcome::Changed),
            _ => (Written::Unchanged, Outcome::Unchanged),
        };
    }
    let d = digester;
    let result = match transform {
        Transform::Keep => return (Written::Unchanged, Outcome::Unchanged),
        Transform::Null => Some(Written::Null),
        Transform::Remove => Some(Written::Remove),
        Transform::Constant(c) => Some(c.write(value, out)),
        Transform::Hash { length } => hash::apply(d, value, *length, out),
        Transform::Hmac { length, encoding } => hmac::apply(d, value, *length, *encoding, out),
        Transform::HashEmail {
            local_length,
            domain_length,
            domain,
            case_sensitive,
            mode,
            ..
        } => hash_email::apply(
            d,
            value,
            &hash_email::Params {
                local_length: *local_length,
                domain_length: *domain_length,
                domain,
                case_sensitive: *case_sensitive,
                mode: *mode,
            },
            out,
        ),
        Transform::Sequential { prefix } => sequential::apply(value, prefix, ordinal, out),
        Transform::SequentialSuffix => sequential::apply(value, "", ordinal, out),
        Transform::Fake { kind, locale } => fake::apply(d, value, *kind, *locale, out),
        Transform::Digits => digits::apply(d, value, out),
        Transform::Mask {
            keep_start,
            keep_end,
            mask_char,
        } => mask::apply(value, *keep_start, *keep_end, *mask_char, out),
        Transform::DateShift { max_days } => date_shift::apply(d, value, *max_days, out),
    };
    match result {
        Some(Written::Unchanged) => (Written::Unchanged, Outcome::Unchanged),
        Some(w) => (w, Outcome::Changed),
        None => {
            out.clear();
            (Written::Null, Outcome::FailedClosed)
        }
    }
}

/// Text of a textual value (lossy for non-UTF-8 bytes); `None` for other types.
fn text_of<'a>(value: Value<'a>) -> Option<std::borrow::Cow<'a, str>> {
    match value {
        Value::Str(s) => Some(s.into()),
        Value::Bytes(b) => Some(String::from_utf8_lossy(b)),
        _ => None,
    }
}

/// The first 8 bytes of a digest as a little-endian integer.
fn u64_of(d: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

/// The integer `hash` and `hmac` give integers and numeric literals: a keyed permutation
/// ([`permute`]) for integers, so distinct ids stay distinct and keep their sign and width;
/// a non-negative 63-bit digest for other numeric literals (decimals, integers beyond 64
/// bits). `None` for other types.
fn keyed_integer(
    d: &Digester,
    domain: &str,
    value: Value<'_>,
    out: &mut Vec<u8>,
) -> Option<Written> {
    Some(match value {
        Value::Int32(i) => {
            let p = permute::permute_i64(d, domain, i as i64);
            // The permutation keeps every value in its band, and the bands nest in i32.
            Written::Int32(i32::try_from(p).unwrap_or(i))
        }
        Value::Int64(i) => Written::Int64(permute::permute_i64(d, domain, i)),
        Value::Number(text) => {
            if let Ok(i) = text.parse::<i64>() {
                Written::Int64(permute::permute_i64(d, domain, i))
            } else if let Ok(u) = text.parse::<u64>() {
                push_decimal(permute::permute_u64(d, domain, u), out);
                Written::Number
            } else {
                let dg = d.digest(domain, &[b"n", text.as_bytes()]);
                Written::Int64((u64_of(&dg) & 0x7fff_ffff_ffff_ffff) as i64)
            }
        }
        _ => return None,
    })
}

/// Appends the decimal digits of `n`.
fn push_decimal(n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_specs_in_order() {
        assert_eq!(Transform::NAMES.len(), SPECS.len());
        for (name, spec) in Transform::NAMES.iter().zip(SPECS) {
            assert_eq!(*name, spec.name);
        }
        assert_eq!(spec("hash_email").map(|s| s.name), Some("hash_email"));
        assert!(spec("nope").is_none());
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 1234, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(n, &mut out);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
