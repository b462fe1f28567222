//! `hmac`: like `hash`, but refuses to run without a key, and has a choice of encodings.

use super::{keyed_integer, Digester, Example, Spec, Transform, Written};
use crate::encoding::{base32_to, base64url_to, hex_to};
use crate::parse_ctx::{Params, RulesError};
use crate::suggest::did_you_mean;
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "hmac",
    params: &["length", "encoding"],
    parse,
    does: "like `hash`, but refuses to run without a key",
    params_doc: "`length` (32), `encoding` hex, base32, base64url",
    examples: &[Example {
        rule: "hmac",
        input: Value::Str("tok"),
        keyed: true,
    }],
};

/// Output encoding of `hmac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacEncoding {
    /// Lower-case hex (64 characters at most).
    Hex,
    /// Unpadded lower-case base32 (52 characters at most).
    Base32,
    /// Unpadded base64url (43 characters at most).
    Base64Url,
}

impl HmacEncoding {
    /// Every accepted name.
    pub const NAMES: &'static [&'static str] = &["hex", "base32", "base64url"];

    /// Parses a name from a rules file.
    pub fn from_name(name: &str) -> Option<HmacEncoding> {
        match name {
            "hex" => Some(HmacEncoding::Hex),
            "base32" => Some(HmacEncoding::Base32),
            "base64url" => Some(HmacEncoding::Base64Url),
            _ => None,
        }
    }

    /// Longest output of a 32-byte digest in this encoding.
    pub fn max_length(self) -> usize {
        match self {
            HmacEncoding::Hex => 64,
            HmacEncoding::Base32 => 52,
            HmacEncoding::Base64Url => 43,
        }
    }
}

fn parse(p: &Params<'_>) -> Result<Transform, RulesError> {
    let encoding = match p.string("encoding")? {
        None => HmacEncoding::Hex,
        Some(e) => HmacEncoding::from_name(&e).ok_or_else(|| {
            p.err(
                "encoding",
                format!(
                    "unknown encoding `{e}`{}; expected hex, base32 or base64url",
                    did_you_mean(&e, HmacEncoding::NAMES)
                ),
            )
        })?,
    };
    Ok(Transform::Hmac {
        length: p.usize_in("length", 32, 1, encoding.max_length())?,
        encoding,
    })
}

const DOMAIN: &str = "hmac";

/// Applies `hmac` (`None`: the type cannot be hashed).
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    length: usize,
    encoding: HmacEncoding,
    out: &mut Vec<u8>,
) -> Option<Written> {
    let encode = |dg: [u8; 32], out: &mut Vec<u8>| match encoding {
        HmacEncoding::Hex => hex_to(&dg, length, out),
        HmacEncoding::Base32 => base32_to(&dg, length, out),
        HmacEncoding::Base64Url => base64url_to(&dg, length, out),
    };
    Some(match value {
        Value::Str(s) => {
            encode(d.digest(DOMAIN, &[s.as_bytes()]), out);
            Written::Str
        }
        Value::Bytes(b) => {
            encode(d.digest(DOMAIN, &[b]), out);
            Written::Str
        }
        Value::Binary { subtype, bytes } => {
            d.stream_to(DOMAIN, bytes, bytes.len(), out);
            Written::Binary { subtype }
        }
        other => return keyed_integer(d, DOMAIN, other, out),
    })
}
