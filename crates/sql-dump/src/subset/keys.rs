//! Key values of rows, made compact: a key that is one non-negative integer is kept as the
//! integer (sets of them are Roaring bitmaps), any other key (text, composite, negative) as a
//! 64-bit keyed SipHash-2-4 fingerprint of its decoded values. Keys only ever decide which rows
//! are *removed*: a fingerprint collision can remove a row that could have stayed, never keep
//! one whose referenced row is gone.

use std::collections::HashSet;
use std::hash::Hasher;

use roaring::RoaringTreemap;

use crate::dialect::Syntax;
use crate::lex::tuple::trim_span;
use crate::literal::{copy_unescape, hex_decode, mysql_unescape, parse_literal, pg_unescape, Lit};
use crate::Dialect;

/// A row's key: an integer below 2^63, a fingerprint with the top bit set, or [`NONE`].
pub(crate) type Key = u64;
/// No key: a NULL in a foreign key's columns (the constraint does not apply) or no row.
pub(crate) const NONE: Key = u64::MAX;
const HASHED: u64 = 1 << 63;
/// The fingerprints' fixed key (output must not depend on the run).
const SEED: [u64; 2] = [0x7379_7266_5f73_7562, 0x7365_745f_6b65_7973];

/// How one row's fields are written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fields<'b> {
    /// The bytes of an INSERT tuple (with its parentheses) and the spans of its values.
    Insert(&'b [u8], &'b [(usize, usize)], Syntax),
    /// A COPY line and the spans of its fields.
    Copy(&'b [u8], &'b [(usize, usize)]),
}

impl Fields<'_> {
    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        match self {
            Fields::Insert(_, spans, _) | Fields::Copy(_, spans) => spans.len(),
        }
    }
}

/// Decodes field `k` into `out`; false for NULL (or a missing field).
pub(crate) fn decode(fields: Fields<'_>, k: usize, out: &mut Vec<u8>) -> bool {
    out.clear();
    match fields {
        Fields::Copy(line, spans) => {
            let Some(&(s, e)) = spans.get(k) else {
                return false;
            };
            let f = &line[s..e];
            if f == b"\\N" {
                return false;
            }
            copy_unescape(f, out);
            true
        }
        Fields::Insert(tuple, spans, syntax) => {
            let Some(&span) = spans.get(k) else {
                return false;
            };
            let (s, e) = trim_span(tuple, span);
            match parse_literal(&tuple[s..e], syntax) {
                Lit::Null => false,
                Lit::Str {
                    body,
                    quote,
                    escapes,
                    ..
                } => {
                    match syntax.dialect {
                        Dialect::MySql => mysql_unescape(body, quote, out),
                        Dialect::Postgres => pg_unescape(body, escapes, out),
                    }
                    true
                }
                Lit::Hex(d) => {
                    if !hex_decode(d, out) {
                        out.extend_from_slice(d);
                    }
                    true
                }
                Lit::Bool(b) => {
                    out.push(if b { b't' } else { b'f' });
                    true
                }
                Lit::Number(n) => {
                    out.extend_from_slice(n);
                    true
                }
                Lit::Other => {
                    out.extend_from_slice(&tuple[s..e]);
                    true
                }
            }
        }
    }
}

/// A non-negative decimal integer below 2^63 without leading zeros (`0` itself allowed).
fn small_int(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    (v < HASHED).then_some(v)
}

/// Reads keys from rows, reusing its buffer.
#[derive(Default)]
pub(crate) struct KeyReader {
    buf: Vec<u8>,
}

impl KeyReader {
    /// The key of the fields at `positions`: [`NONE`] when any is NULL. MySQL text is
    /// compared as its default collations do (ASCII case and trailing spaces ignored), which
    /// can only make more keys equal.
    pub(crate) fn key(&mut self, fields: Fields<'_>, positions: &[usize], dialect: Dialect) -> Key {
        if let [k] = positions {
            if !decode(fields, *k, &mut self.buf) {
                return NONE;
            }
            if let Some(v) = small_int(&self.buf) {
                return v;
            }
            let mut h = hasher();
            self.feed(&mut h, dialect);
            return finish(h);
        }
        let mut h = hasher();
        for &k in positions {
            if !decode(fields, k, &mut self.buf) {
                return NONE;
            }
            self.feed(&mut h, dialect);
        }
        finish(h)
    }

    fn feed(&mut self, h: &mut Sip, dialect: Dialect) {
        let mut v: &[u8] = &self.buf;
        if dialect == Dialect::MySql {
            while v.last() == Some(&b' ') {
                v = &v[..v.len() - 1];
            }
            v.iter().for_each(|b| h.write_u8(b.to_ascii_lowercase()));
        } else {
            h.write(v);
        }
        h.write_u64(v.len() as u64);
    }
}

/// SipHash-2-4 (`std`'s, kept for exactly this: a stable keyed 64-bit hash).
#[allow(deprecated)]
type Sip = std::hash::SipHasher;

#[allow(deprecated)]
fn hasher() -> Sip {
    std::hash::SipHasher::new_with_keys(SEED[0], SEED[1])
}

fn finish(h: Sip) -> Key {
    let k = h.finish() | HASHED;
    if k == NONE {
        NONE - 1
    } else {
        k
    }
}

/// A set of keys: integers in a Roaring bitmap, fingerprints in a hash set.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    ints: RoaringTreemap,
    hashed: HashSet<u64>,
}

impl KeySet {
    /// Adds `k` (not [`NONE`]).
    pub(crate) fn insert(&mut self, k: Key) {
        if k == NONE {
        } else if k & HASHED == 0 {
            self.ints.insert(k);
        } else {
            self.hashed.insert(k);
        }
    }

    /// Whether `k` is in the set ([`NONE`] never is).
    pub(crate) fn contains(&self, k: Key) -> bool {
        if k == NONE {
            false
        } else if k & HASHED == 0 {
            self.ints.contains(k)
        } else {
            self.hashed.contains(&k)
        }
    }
}
