//! The echo guard (issue 18.9): copies of a covered value's original in other, uncovered
//! string values of the same document or row (`DisplayName` beside covered `FirstName` and
//! `LastName`, `Username` equal to the covered `Email`, a generated `email_lower` column).
//!
//! Formats collect, per document or row, the originals of the text values rules changed
//! ([`EchoSet::record`]); then, only when there is at least one, they search the uncovered
//! string values of the same document or row ([`EchoSet::may_echo`] as a cheap pre-check over
//! a whole span of bytes, [`EchoSet::rewrite`] per value). A value holding an original (at
//! least [`EchoGuard::min_length`] characters, ASCII letters compared case-insensitively) is
//! rewritten with the same pseudonym the covered value got, keeping the surrounding text, or
//! nulled ([`EchoAction`]); formats count it with
//! [`Anonymizer::record_echo`](crate::Anonymizer::record_echo).

use memchr::{memchr, memchr2};

mod prefilter;
mod settings;
mod teddy;

pub(crate) use settings::parse;
#[cfg(test)]
use settings::SMALLEST_MIN_LENGTH;
pub use settings::{EchoAction, EchoGuard};

use prefilter::Prefilter;

use crate::plan::RuleId;
use crate::transform::Written;

/// One original looked for.
#[derive(Debug, Clone)]
struct Pattern {
    /// Range of the original (as it was) in `EchoSet::bytes`.
    original: (usize, usize),
    /// Range of its pseudonym in `EchoSet::bytes` (`None`: the covered value's result is
    /// not text; an echo is nulled).
    pseudonym: Option<(usize, usize)>,
    rule: RuleId,
}

/// What [`EchoSet::rewrite`] found in one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoHit {
    /// The rule whose original was found (the first one, leftmost).
    pub rule: RuleId,
    /// True when the value must be replaced by null; false when the rewritten text was
    /// written.
    pub nulled: bool,
}

/// The originals of one document or row, and buffers reused from one to the next.
#[derive(Debug, Default)]
pub struct EchoSet {
    patterns: Vec<Pattern>,
    bytes: Vec<u8>,
    /// The pre-check's search for the originals (or their verbatim runs).
    prefilter: Prefilter,
    min_length: usize,
    action: EchoAction,
    /// True when the spans given to the pre-check hold values as a dump writes them
    /// (quoted, escaped, perhaps in Latin-1) rather than their own bytes.
    encoded: bool,
}

/// Bytes every SQL text encoding the formats read keeps as they are: printable ASCII but
/// quotes and backslash (escaped by MySQL and in PostgreSQL `E''` and COPY text; in a
/// Latin-1 dump, non-ASCII characters are other bytes than in the UTF-8 original).
fn kept_verbatim(b: u8) -> bool {
    matches!(b, b' '..=b'~') && !matches!(b, b'\'' | b'"' | b'\\')
}

/// The longest run of `s` made of bytes an encoded dump keeps verbatim: every copy of `s`
/// in a decoded value leaves this run, unchanged, in the encoded text.
fn verbatim_run(s: &[u8]) -> &[u8] {
    // Most originals (names, e-mail addresses) are kept whole: counted without branches.
    if s.iter().fold(true, |all, b| all & kept_verbatim(*b)) {
        return s;
    }
    let (mut best, mut start) = ((0, 0), 0);
    for (i, &b) in s.iter().enumerate() {
        if !kept_verbatim(b) {
            start = i + 1;
        } else if i + 1 - start > best.1 - best.0 {
            best = (start, i + 1);
        }
    }
    &s[best.0..best.1]
}

/// Number of UTF-8 characters of `s` (its length when it is no UTF-8).
fn char_count(s: &[u8]) -> usize {
    match std::str::from_utf8(s) {
        Ok(t) => t.chars().count(),
        Err(_) => s.len(),
    }
}

impl EchoSet {
    /// An empty set for a run with `guard`.
    pub fn new(guard: EchoGuard) -> EchoSet {
        EchoSet {
            min_length: guard.min_length,
            action: guard.action,
            ..EchoSet::default()
        }
    }

    /// Takes the run's settings (cheap; formats call it when a stream starts, with buffers
    /// kept from an earlier run).
    pub fn configure(&mut self, guard: EchoGuard) {
        self.min_length = guard.min_length;
        self.action = guard.action;
    }

    /// Says whether the spans given to [`may_echo_in`](Self::may_echo_in) hold values as a
    /// dump encodes them (quoted and escaped SQL literals or COPY fields, Latin-1 text;
    /// `true`) or their own bytes (BSON strings; `false`, the default). With encoded spans
    /// the pre-check looks for the longest part of each original that no encoding changes.
    pub fn set_encoded_spans(&mut self, encoded: bool) {
        self.encoded = encoded;
    }

    /// Forgets the originals (a new document or row starts).
    pub fn clear(&mut self) {
        self.patterns.clear();
        self.bytes.clear();
    }

    /// True when no original was recorded: nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Records the original text `original` of a value `rule` covered, whose transform wrote
    /// `written` (text results in `result`). Ignored when the value was left unchanged or is
    /// shorter than `min_length` characters.
    pub fn record(&mut self, rule: RuleId, original: &[u8], written: Written, result: &[u8]) {
        if matches!(written, Written::Unchanged) || self.min_length == 0 {
            return;
        }
        // A character is at most 4 bytes: only short non-ASCII originals need counting.
        if original.len() < self.min_length
            || (original.len() < 4 * self.min_length
                && !original.is_ascii()
                && char_count(original) < self.min_length)
        {
            return;
        }
        if self
            .patterns
            .iter()
            .any(|p| self.bytes[p.original.0..p.original.1].eq_ignore_ascii_case(original))
        {
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(original);
        let kept = (start, self.bytes.len());
        let pseudonym = match written {
            Written::Str | Written::Bytes if self.action == EchoAction::Rewrite => {
                let s = self.bytes.len();
                self.bytes.extend_from_slice(result);
                Some((s, self.bytes.len()))
            }
            _ => None,
        };
        self.patterns.push(Pattern {
            original: kept,
            pseudonym,
            rule,
        });
    }

    /// True when some original may occur in `span` (ASCII case-insensitively): a cheap
    /// pre-check over many values at once (a whole row's bytes); false means none of them
    /// holds an echo.
    pub fn may_echo(&mut self, span: &[u8]) -> bool {
        self.may_echo_in([span])
    }

    /// Like [`may_echo`](Self::may_echo) over several spans (e.g. a document's bytes
    /// between the values rules rewrote, or a row's uncovered values); no original is
    /// matched across two spans. Each span is read once, in place, looking for all
    /// originals at once (`prefilter`: one SIMD pass comparing a rare pair of bytes of each
    /// original, ASCII case folded, then the whole original where a pair matches). With
    /// [encoded spans](Self::set_encoded_spans) the part of each original looked for is its
    /// longest run of bytes no encoding changes; an original without such a run of two
    /// bytes makes the answer true (the caller then decodes and searches each value).
    pub fn may_echo_in<'x>(&mut self, spans: impl IntoIterator<Item = &'x [u8]>) -> bool {
        self.search(spans, None)
    }

    /// Like [`may_echo_in`](Self::may_echo_in) over SQL text as written (with
    /// [encoded spans](Self::set_encoded_spans)), in the same pass: also true when
    /// `irregular(span, i)` says true of the backslash at `i` of a span, i.e. when the
    /// escape there may spell bytes of an original (`\\x68` for `h`) that the search of
    /// the written text cannot see. It is asked only about backslashes followed by a byte
    /// not in `regular` (bytes after which a backslash never hides anything, whether it is
    /// escaped itself or escapes that byte). Spans shorter than the shortest part looked
    /// for are not read (an escape only ever makes a value shorter than its text, so they
    /// hold no echo).
    pub fn may_echo_in_escaped<'x>(
        &mut self,
        spans: impl IntoIterator<Item = &'x [u8]>,
        regular: &[u8],
        irregular: &dyn Fn(&[u8], usize) -> bool,
    ) -> bool {
        self.search(spans, Some((regular, irregular)))
    }

    /// The pre-check: the needles set up, then each span searched once.
    fn search<'x>(
        &mut self,
        spans: impl IntoIterator<Item = &'x [u8]>,
        escapes: Option<(&[u8], &dyn Fn(&[u8], usize) -> bool)>,
    ) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        self.prefilter.clear(escapes.map(|e| e.0));
        for p in &self.patterns {
            let original = &self.bytes[p.original.0..p.original.1];
            let part = if self.encoded {
                verbatim_run(original)
            } else {
                original
            };
            if part.len() < 2 {
                return true;
            }
            self.prefilter.push(part);
        }
        self.prefilter.finish();
        let prefilter = &self.prefilter;
        let irregular = escapes.map_or(
            &(|_: &[u8], _| false) as &dyn Fn(&[u8], usize) -> bool,
            |e| e.1,
        );
        spans
            .into_iter()
            .any(|span| prefilter.find_in(span, irregular))
    }

    /// Where pattern `i` first occurs in `hay` at or after `from` (ASCII case-insensitively):
    /// its first byte located with `memchr` (both cases of a letter), then compared in place,
    /// without copying or lower-casing the text searched.
    fn find_pattern(&self, i: usize, hay: &[u8], mut from: usize) -> Option<usize> {
        let p = &self.patterns[i];
        let needle = &self.bytes[p.original.0..p.original.1];
        let (&first, rest) = needle.split_first()?;
        let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
        while from + needle.len() <= hay.len() {
            let window = &hay[from..hay.len() - rest.len()];
            let at = if upper != lower {
                memchr2(lower, upper, window)
            } else {
                memchr(first, window)
            }?;
            let at = from + at;
            if hay[at + 1..at + needle.len()].eq_ignore_ascii_case(rest) {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }

    /// The leftmost (then longest) original in `hay` at or after `from`.
    fn next_match(&self, hay: &[u8], from: usize) -> Option<(usize, usize, usize)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, p) in self.patterns.iter().enumerate() {
            let len = p.original.1 - p.original.0;
            if let Some(at) = self.find_pattern(i, hay, from) {
                let better = match best {
                    None => true,
                    Some((b_at, b_len, _)) => at < b_at || (at == b_at && len > b_len),
                };
                if better {
                    best = Some((at, len, i));
                }
            }
        }
        best
    }

    /// Looks for the originals in one uncovered string value. `None`: no echo. Otherwise,
    /// unless the hit says `nulled`, `out` (cleared first) holds the value with every copy
    /// replaced by its pseudonym. `unsafe_bytes` lists bytes a pseudonym may not bring into
    /// this value (e.g. `"` and `\` inside JSON text): such a pseudonym nulls the value.
    pub fn rewrite(&self, value: &[u8], unsafe_bytes: &[u8], out: &mut Vec<u8>) -> Option<EchoHit> {
        if self.patterns.is_empty() || value.len() < self.min_length {
            return None;
        }
        let (at, len, first) = self.next_match(value, 0)?;
        let rule = self.patterns[first].rule;
        let null = EchoHit { rule, nulled: true };
        if self.action == EchoAction::Null {
            return Some(null);
        }
        out.clear();
        let mut copied = 0;
        let mut next = Some((at, len, first));
        while let Some((at, len, i)) = next {
            let Some((s, e)) = self.patterns[i].pseudonym else {
                return Some(null);
            };
            let pseudonym = &self.bytes[s..e];
            if pseudonym.iter().any(|b| unsafe_bytes.contains(b)) {
                return Some(null);
            }
            out.extend_from_slice(&value[copied..at]);
            out.extend_from_slice(pseudonym);
            copied = at + len;
            next = self.next_match(value, copied);
        }
        out.extend_from_slice(&value[copied..]);
        Some(EchoHit {
            rule,
            nulled: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(action: EchoAction) -> EchoSet {
        let mut s = EchoSet::new(EchoGuard {
            action,
            min_length: 4,
        });
        s.record(RuleId(0), b"Jonathan", Written::Str, b"Mark");
        s.record(RuleId(1), b"Whitfield", Written::Str, b"Smith");
        s.record(
            RuleId(2),
            b"jonathan.whitfield@example.com",
            Written::Str,
            b"a1b2@anon.local",
        );
        s.record(RuleId(3), b"Bob", Written::Str, b"Eve");
        s.record(RuleId(4), b"kept-value", Written::Unchanged, b"");
        s
    }

    #[test]
    fn rewrites_every_copy_keeping_the_rest() {
        let mut s = set(EchoAction::Rewrite);
        let mut out = Vec::new();
        let hit = s
            .rewrite(b"Dr. JONATHAN Whitfield (jonathan)", b"", &mut out)
            .unwrap();
        assert_eq!(
            hit,
            EchoHit {
                rule: RuleId(0),
                nulled: false
            }
        );
        assert_eq!(out, b"Dr. Mark Smith (Mark)");
        // The longest original wins where two start at the same place.
        s.rewrite(b"mail: Jonathan.Whitfield@Example.com!", b"", &mut out)
            .unwrap();
        assert_eq!(out, b"mail: a1b2@anon.local!");
        // Short and unchanged values are not looked for.
        assert!(s.rewrite(b"Bob kept-value", b"", &mut out).is_none());
        assert!(s.may_echo(b"xx WHITFIELD xx"));
        assert!(!s.may_echo(b"nothing here"));
    }

    #[test]
    fn nulls_when_asked_or_when_no_text_pseudonym() {
        let s = set(EchoAction::Null);
        let mut out = Vec::new();
        assert!(s.rewrite(b"Jonathan", b"", &mut out).unwrap().nulled);
        let mut s = EchoSet::new(EchoGuard::default());
        s.record(RuleId(0), b"secret", Written::Null, b"");
        assert!(s.rewrite(b"a secret", b"", &mut out).unwrap().nulled);
        s.record(RuleId(1), b"quoted", Written::Str, b"a\"b");
        assert!(s.rewrite(b"quoted", b"\"\\", &mut out).unwrap().nulled);
        assert!(!s.rewrite(b"quoted", b"", &mut out).unwrap().nulled);
        s.clear();
        assert!(s.is_empty() && s.rewrite(b"a secret", b"", &mut out).is_none());
    }

    #[test]
    fn parses_settings() {
        let y = |s: &str| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(s).unwrap();
        assert_eq!(parse(&y("~")).unwrap(), EchoGuard::default());
        let g = parse(&y("{action: null, min_length: 6}")).unwrap();
        assert_eq!((g.action, g.min_length), (EchoAction::Null, 6));
        assert!(parse(&y("{action: off}")).is_err());
        assert!(parse(&y("{min_length: 2}")).is_err());
        assert_eq!(
            parse(&y("{bogus: 1}")).unwrap_err().0.as_deref(),
            Some("bogus")
        );
    }
}

#[cfg(test)]
mod props;
