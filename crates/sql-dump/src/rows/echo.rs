//! The echo guard over one SQL row (issue 18.9): the originals of the values rules changed
//! in the row ([`EchoRow::set`], recorded by the row job), where the row's uncovered text
//! values were written ([`EchoRow::spans`]), and the search and rewrite of those values
//! ([`EchoRow::guard`]). The row job decodes and encodes literals for it through
//! [`RowLiterals`]; of `rows/` it imports `plan` only.

use std::borrow::Cow;
use std::cell::RefCell;

use anonymize_core::{Anonymizer, EchoSet, Replacement};

use super::plan::ColPlan;
use crate::ddl::{Column, Family};

/// Bytes a pseudonym may not bring into an uncovered SQL value (it may be JSON text): such
/// an echo nulls the value instead.
const UNSAFE_IN_TEXT: &[u8] = b"\"\\";

/// The echo guard's state for the rows this thread rewrites: the originals of the current
/// row, where its uncovered text values were written, and buffers.
#[derive(Default)]
pub(super) struct EchoRow {
    /// The originals of the current row.
    pub(super) set: EchoSet,
    /// `(value index, start, end)` in the row's output of each uncovered value.
    pub(super) spans: Vec<(usize, usize, usize)>,
    /// `(start, end)` of each span: the ranges the pre-check searches.
    ranges: Vec<(usize, usize)>,
    literal: Vec<u8>,
    decoded: Vec<u8>,
    rewritten: Vec<u8>,
    written: Vec<u8>,
}

thread_local! {
    /// One [`EchoRow`] per thread rewriting rows.
    pub(super) static ECHO: RefCell<EchoRow> = RefCell::new(EchoRow::default());
}

/// How the echo guard reads and writes the literals of a row (the row job's decoding).
pub(super) trait RowLiterals {
    /// The text of the literal or COPY field `literal` of `col` as the guard searches it
    /// (Latin-1 decoded to UTF-8), escapes undone into `scratch`; `None` when the value is
    /// not text (a number, NULL).
    fn text<'b>(
        &self,
        literal: &'b [u8],
        col: Option<&Column>,
        scratch: &'b mut Vec<u8>,
    ) -> Option<Cow<'b, [u8]>>;

    /// Writes `r` as a literal of `col`, in the dump's character set.
    fn write(&self, r: &Replacement, col: Option<&Column>, out: &mut Vec<u8>);
}

impl EchoRow {
    /// The guard over one rewritten row (`out` ends with it; `plans` its values' plans):
    /// each uncovered text value holding an original of a value a rule changed in this row
    /// is rewritten with the same pseudonym, or nulled, and counted. Values are decoded
    /// only when an original may occur in the row's uncovered values as written (or when
    /// one of them is written in a form the pre-check cannot read: hex, binary, an unusual
    /// escape).
    pub(super) fn guard(
        &mut self,
        out: &mut Vec<u8>,
        plans: &[ColPlan<'_>],
        anon: &Anonymizer,
        literals: &impl RowLiterals,
    ) {
        let column = |i: usize| plans.get(i).and_then(|p| p.col.as_ref());
        let opaque = self
            .spans
            .iter()
            .any(|&(i, s, e)| out.get(s..e).is_none_or(|lit| opaque(lit, column(i))));
        // The pre-check also says "maybe" when a value holds an escape it cannot read.
        self.ranges.clear();
        self.ranges
            .extend(self.spans.iter().map(|&(_, s, e)| (s, e)));
        if !opaque && !self.set.may_echo_within(out, &self.ranges) {
            return;
        }
        let EchoRow {
            set,
            spans,
            literal,
            decoded,
            rewritten,
            written,
            ..
        } = self;
        for &(i, start, end) in spans.iter().rev() {
            let Some(lit) = out.get(start..end) else {
                continue;
            };
            literal.clear();
            literal.extend_from_slice(lit);
            let col = column(i);
            let Some(text) = literals.text(literal, col, decoded) else {
                continue;
            };
            let Some(hit) = set.rewrite(&text, UNSAFE_IN_TEXT, rewritten) else {
                continue;
            };
            let name = match plans.get(i).and_then(|p| p.name.as_ref()) {
                Some(n) => n.clone(),
                None => format!("#{}", i + 1),
            };
            anon.record_echo(hit, &name);
            let replacement = if hit.nulled {
                Replacement::Null
            } else {
                Replacement::Str(String::from_utf8_lossy(rewritten).into_owned())
            };
            written.clear();
            literals.write(&replacement, col, written);
            out.splice(start..end, written.iter().copied());
        }
    }
}

/// How many characters the longest value the guard may search in the row whose values are
/// at `spans` can hold at most, `searched` being [`RowShape::searched`] of its plans: the
/// longest of those values as written, as every encoding the formats read writes each
/// character of a decoded value as at least one byte (an escape, a hex or Latin-1 spelling
/// is never shorter); `usize::MAX` without a bound. An original longer than this has no copy
/// in the row (a wide dump's `orders` row: a short note beside a covered e-mail address).
///
/// [`RowShape::searched`]: super::plan::RowShape::searched
pub(super) fn longest_searched(searched: Option<u64>, spans: &[(usize, usize)]) -> usize {
    let Some(mut bits) = searched else {
        return usize::MAX;
    };
    let mut longest = 0;
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        if let Some(&(s, e)) = spans.get(i) {
            longest = longest.max(e.saturating_sub(s));
        }
        bits &= bits - 1;
    }
    longest
}

/// Whether the echo guard's pre-check cannot read the literal or COPY field `lit` of `col`
/// as text: a binary column (hex or `bytea` escapes) or a MySQL hex or bit literal. Such a
/// row's values are decoded and searched one by one.
fn opaque(lit: &[u8], col: Option<&Column>) -> bool {
    col.is_some_and(|c| c.family == Family::Binary)
        || matches!(
            lit,
            [b'0', b'x' | b'X', ..] | [b'x' | b'X' | b'b' | b'B', b'\'', ..]
        )
}
