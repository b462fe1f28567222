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

use crate::plan::RuleId;
use crate::transform::Written;

mod buckets;
mod chunks;
mod escapes;
mod ranges;
mod scan;

pub use escapes::escaped_bytes;

/// What the echo guard does with an uncovered string value that holds a covered original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EchoAction {
    /// Replace each copy by the pseudonym the covered value got, keeping the surrounding
    /// text (the default). When the covered value's result is not text (`null`, `remove`,
    /// a number) or could not be inserted safely, the value is nulled instead.
    #[default]
    Rewrite,
    /// Replace the whole value by null.
    Null,
}

/// The rules file's `echo_guard:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoGuard {
    /// What to do with an echo.
    pub action: EchoAction,
    /// Shortest original (in characters) looked for; shorter ones are not (default 4).
    pub min_length: usize,
}

impl Default for EchoGuard {
    fn default() -> Self {
        EchoGuard {
            action: EchoAction::Rewrite,
            min_length: DEFAULT_MIN_LENGTH,
        }
    }
}

/// Default of `echo_guard.min_length`.
pub(crate) const DEFAULT_MIN_LENGTH: usize = 4;

/// Smallest `min_length` a rules file may set (shorter originals match too much text).
pub(crate) const SMALLEST_MIN_LENGTH: usize = 3;

/// Parses the value of `echo_guard:`. Errors are `(key, message)`, the key being the
/// sub-key the message is about (to locate it).
pub(crate) fn parse(value: &serde_yaml_ng::Value) -> Result<EchoGuard, (Option<String>, String)> {
    use serde_yaml_ng::Value as Yaml;
    let mut guard = EchoGuard::default();
    let map = match value {
        Yaml::Null => return Ok(guard),
        Yaml::Mapping(m) => m,
        _ => {
            return Err((
                None,
                "`echo_guard` is a mapping: `{action: rewrite | null, min_length: N}`".into(),
            ))
        }
    };
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        let err = |m: &str| Err((Some(key.to_owned()), m.to_owned()));
        match key {
            "action" => {
                guard.action = match v {
                    Yaml::String(s) if s == "rewrite" => EchoAction::Rewrite,
                    // `action: null` unquoted is YAML's null.
                    Yaml::Null => EchoAction::Null,
                    Yaml::String(s) if s == "null" => EchoAction::Null,
                    _ => return err("`echo_guard.action` is `rewrite` or `null`"),
                }
            }
            "min_length" => match v.as_u64() {
                Some(n) if n as usize >= SMALLEST_MIN_LENGTH && n <= 1000 => {
                    guard.min_length = n as usize
                }
                _ => return err("`echo_guard.min_length` is a whole number from 3 to 1000"),
            },
            _ => {
                return err(&format!(
                    "unknown key `{key}` in `echo_guard`; expected one of: action, min_length"
                ))
            }
        }
    }
    Ok(guard)
}

// Fewer keys than a bucketed pass takes fit in one pair compare.
const _: () = assert!(buckets::FROM <= scan::GROUP);

/// True when one of `keys` (at most [`buckets::BUCKETS`]) occurs in one range of `within`:
/// one bucketed pass for [`buckets::FROM`] keys or more, or for two or more over ranges
/// spanning [`buckets::LONG_SPAN`] bytes; else the pair compare of `scan`.
fn any_in_group(within: scan::Hay<'_>, keys: &[&[u8]]) -> bool {
    let span = match (within.ranges.first(), within.ranges.last()) {
        (Some(first), Some(last)) => last.1.saturating_sub(first.0),
        _ => 0,
    };
    if keys.len() >= buckets::FROM || (keys.len() >= 2 && span >= buckets::LONG_SPAN) {
        buckets::any_within(within, keys)
    } else {
        keys.chunks(scan::GROUP)
            .any(|g| scan::any_within(within, g))
    }
}

/// One original looked for.
#[derive(Debug, Clone)]
struct Pattern {
    /// Range of the original (as it was) in `EchoSet::bytes`.
    original: (usize, usize),
    /// Range in `EchoSet::bytes` of the part of the original the pre-check looks for: the
    /// whole original, or with [encoded spans](EchoSet::set_encoded_spans) its longest
    /// verbatim run.
    key: (usize, usize),
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
    min_length: usize,
    action: EchoAction,
    /// True when the spans given to the pre-check hold values as a dump writes them
    /// (quoted, escaped, perhaps in Latin-1) rather than their own bytes.
    encoded: bool,
    /// Characters the longest value searched may hold ([`EchoSet::set_longest_value`];
    /// `None`: no bound).
    longest_value: Option<usize>,
}

/// Bytes of `s` that are no UTF-8 continuation bytes (`0x80..=0xBF`): its characters when
/// it is UTF-8. A text holding `s` (ASCII case aside) holds at least as many, and an SQL
/// dump writes such a text in at least as many bytes (an escape, a hex or Latin-1 spelling
/// of a character is never shorter than one byte, and decodes to one lead byte at most).
/// Eight bytes at a time: a continuation byte has bit 7 set and bit 6 clear.
fn lead_bytes(s: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let words = s.chunks_exact(8);
    let tail = words.remainder();
    let continuation: u32 = words
        .map(|w| {
            let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
            (w & !(w << 1) & HIGH).count_ones()
        })
        .sum();
    let tail_continuation = tail.iter().filter(|&&b| b & 0xc0 == 0x80).count();
    s.len() - continuation as usize - tail_continuation
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

    /// Says whether the spans given to [`may_echo_within`](Self::may_echo_within) hold values as a
    /// dump encodes them (quoted and escaped SQL literals or COPY fields, Latin-1 text;
    /// `true`) or their own bytes (BSON strings; `false`, the default). With encoded spans
    /// the pre-check looks for the longest part of each original that no encoding changes,
    /// and reads backslash escapes.
    pub fn set_encoded_spans(&mut self, encoded: bool) {
        if encoded != self.encoded {
            self.encoded = encoded;
            for i in 0..self.patterns.len() {
                self.patterns[i].key = self.key_of(self.patterns[i].original);
            }
        }
    }

    /// The part of the original at `original` in `bytes` the pre-check looks for.
    #[inline]
    fn key_of(&self, (start, end): (usize, usize)) -> (usize, usize) {
        if !self.encoded {
            return (start, end);
        }
        let (s, e) = scan::verbatim_run(&self.bytes[start..end]);
        (start + s, start + e)
    }

    /// Forgets the originals (a new document or row starts) and the bound of
    /// [`set_longest_value`](Self::set_longest_value).
    pub fn clear(&mut self) {
        self.patterns.clear();
        self.bytes.clear();
        self.longest_value = None;
    }

    /// Says that no value this document or row will search holds more than `chars`
    /// characters (until [`clear`](Self::clear)): originals longer than that are not
    /// recorded, as no value searched could hold a copy (an SQL row whose uncovered values are
    /// all short, e.g. a note beside a covered e-mail address).
    pub fn set_longest_value(&mut self, chars: usize) {
        self.longest_value = Some(chars);
    }

    /// True when no original was recorded: nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Records the original text `original` of a value `rule` covered, whose transform wrote
    /// `written` (text results in `result`). Ignored when the value was left unchanged, is
    /// shorter than `min_length` characters or longer than the
    /// [longest value searched](Self::set_longest_value).
    pub fn record(&mut self, rule: RuleId, original: &[u8], written: Written, result: &[u8]) {
        if matches!(written, Written::Unchanged) || self.min_length == 0 {
            return;
        }
        if self
            .longest_value
            .is_some_and(|chars| original.len() > chars && lead_bytes(original) > chars)
        {
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
        // Lengths first: most originals of a document differ in length from each other.
        if self.patterns.iter().any(|p| {
            p.original.1 - p.original.0 == original.len()
                && self.bytes[p.original.0..p.original.1].eq_ignore_ascii_case(original)
        }) {
            return;
        }
        let start = self.bytes.len();
        self.bytes.reserve(original.len() + result.len());
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
        let key = self.key_of(kept);
        self.patterns.push(Pattern {
            original: kept,
            key,
            pseudonym,
            rule,
        });
    }

    /// True when some original may occur in `span` (ASCII case-insensitively): a cheap
    /// pre-check over many values at once (a whole row's bytes); false means none of them
    /// holds an echo.
    pub fn may_echo(&mut self, span: &[u8]) -> bool {
        self.may_echo_within(span, &[(0, span.len())])
    }

    /// Like [`may_echo`](Self::may_echo) over the sorted, disjoint `ranges` of `hay` (e.g. a
    /// document's bytes between the values rules rewrote, or a row's uncovered values as
    /// written); an original is matched only inside one range. The text is searched in
    /// place (AVX2 when the CPU has it): up to sixteen originals a pass with nibble tables
    /// (`buckets`), or up to three with the pair compare of `scan` (a short document), each
    /// candidate verified with ASCII letters folded. With
    /// [encoded spans](Self::set_encoded_spans) the part of each original looked for is its
    /// longest run of bytes no encoding changes, and the answer is true (the caller then
    /// decodes and searches each value) when an original has no such run of two bytes or
    /// when a range holds a backslash escape other than the ones dump tools write (`\\`,
    /// `\'`, `\"`, `\0`, `\n`, `\r`, `\t`, `\b`, `\f`, `\v`, `\Z`, `\N`, `\%`,
    /// `\_`): `\x68` or MySQL's `\h` could spell an original's letters.
    pub fn may_echo_within(&mut self, hay: &[u8], ranges: &[(usize, usize)]) -> bool {
        let mut shortest = usize::MAX;
        for p in &self.patterns {
            let (key, whole) = (p.key.1 - p.key.0, p.original.1 - p.original.0);
            if key < 2 && key < whole {
                return true;
            }
            shortest = shortest.min(key);
        }
        if shortest == usize::MAX {
            return false;
        }
        // No range as long as the shortest key: no original can be in any value, however it
        // is written (each byte of a key is printable ASCII, which every encoding writes as
        // at least one byte: an escape, a hex or Latin-1 spelling is never shorter), so the
        // escapes need no reading either. (SQL `orders` rows: a short note beside a covered
        // e-mail.)
        if !ranges.iter().any(|r| r.1 >= r.0 + shortest) {
            return false;
        }
        // Escapes are read only in ranges long enough to hold a key (the same bound).
        if self.encoded
            && ranges
                .iter()
                .any(|&r| r.1 >= r.0 + shortest && escapes::irregular_escape(hay, r))
        {
            return true;
        }
        // Ranges shorter than the shortest key are not dropped: copying the others costs
        // more than passing them by (a candidate's check walks the ranges in order).
        let within = scan::Hay { bytes: hay, ranges };
        // Fewer originals than a bucketed pass takes (most documents: an audit entry's
        // e-mail, name and address): one pair compare, without the group below.
        if self.patterns.len() < buckets::FROM {
            let mut keys: [&[u8]; buckets::FROM] = [&[]; buckets::FROM];
            for (k, p) in keys.iter_mut().zip(&self.patterns) {
                *k = &self.bytes[p.key.0..p.key.1];
            }
            return any_in_group(within, &keys[..self.patterns.len()]);
        }
        let mut group: [&[u8]; buckets::BUCKETS] = [&[]; buckets::BUCKETS];
        let mut n = 0;
        for p in &self.patterns {
            group[n] = &self.bytes[p.key.0..p.key.1];
            n += 1;
            if n == buckets::BUCKETS {
                if any_in_group(within, &group) {
                    return true;
                }
                n = 0;
            }
        }
        n > 0 && any_in_group(within, &group[..n])
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
    fn short_values_need_no_escape_reading() {
        // With encoded spans, an unusual escape makes the pre-check say "maybe", unless no
        // value is as long as the shortest key: then no original fits, escapes or not.
        let mut s = EchoSet::new(EchoGuard::default());
        s.record(RuleId(0), b"hello world", Written::Str, b"x");
        s.set_encoded_spans(true);
        let hay = b"'\\x68ello', 'abc'";
        assert!(!s.may_echo_within(hay, &[(0, 10), (12, 17)]));
        let hay = b"'\\x68ello world'";
        assert!(s.may_echo_within(hay, &[(0, hay.len())]));
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

/// The pre-check never says "no echo" where the exact search of the values finds one.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Text from a small alphabet (ASCII letters of both cases, a non-ASCII letter, quotes,
    /// backslash, separators), so that originals often occur in values.
    const TEXT: &str = "[abcABC é'\"\\\\.@ß]";

    fn text(min: usize, max: usize) -> proptest::string::RegexGeneratorStrategy<String> {
        proptest::string::string_regex(&format!("{TEXT}{{{min},{max}}}")).expect("a valid regex")
    }

    fn flip_case(s: &str, flips: &[bool]) -> String {
        s.chars()
            .zip(flips.iter().cycle())
            .map(|(c, f)| {
                if *f {
                    if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                } else {
                    c
                }
            })
            .collect()
    }

    /// A value: random text, or a (case-flipped) original with random text around it,
    /// at either border or inside.
    fn values(originals: Vec<String>) -> impl Strategy<Value = Vec<String>> {
        let one = (
            any::<prop::sample::Index>(),
            text(0, 4),
            text(0, 4),
            prop::collection::vec(any::<bool>(), 1..6),
            0..4u8,
        )
            .prop_map(move |(i, before, after, flips, shape)| {
                let copy = flip_case(&originals[i.index(originals.len())], &flips);
                match shape {
                    0 => format!("{before}{after}"),
                    1 => copy,
                    2 => format!("{before}{copy}"),
                    _ => format!("{before}{copy}{after}"),
                }
            });
        prop::collection::vec(one, 0..5)
    }

    fn case() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
        prop::collection::vec(text(3, 9), 1..5)
            .prop_flat_map(|originals| (Just(originals.clone()), values(originals)))
    }

    fn set_of(originals: &[String]) -> EchoSet {
        let mut set = EchoSet::new(EchoGuard {
            action: EchoAction::Rewrite,
            min_length: SMALLEST_MIN_LENGTH,
        });
        for (i, o) in originals.iter().enumerate() {
            set.record(RuleId(i as u32), o.as_bytes(), Written::Str, b"x");
        }
        set
    }

    /// The pre-check over `spans` laid out in one haystack, each between a few bytes that
    /// belong to no range (a quote, a separator).
    fn may_echo_in(set: &mut EchoSet, spans: &[&[u8]]) -> bool {
        let (mut hay, mut ranges) = (Vec::new(), Vec::new());
        for span in spans {
            hay.extend_from_slice(b"',");
            ranges.push((hay.len(), hay.len() + span.len()));
            hay.extend_from_slice(span);
        }
        hay.push(b'\'');
        set.may_echo_within(&hay, &ranges)
    }

    fn exact(set: &EchoSet, values: &[String]) -> bool {
        let mut out = Vec::new();
        values
            .iter()
            .any(|v| set.rewrite(v.as_bytes(), b"", &mut out).is_some())
    }

    /// `v` as an SQL dump may write it: quoted, `'`, `"` and `\` escaped with a backslash,
    /// other characters in Latin-1 (or `?`).
    fn encoded(v: &str) -> Vec<u8> {
        let mut out = vec![b'\''];
        for c in v.chars() {
            match c {
                '\'' | '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
                c if (c as u32) < 0x100 => out.push(c as u32 as u8),
                _ => out.push(b'?'),
            }
        }
        out.push(b'\'');
        out
    }

    /// Like [`encoded`], with the letters `hex` picks (cycled over the value's characters)
    /// spelled as hexadecimal escapes (`\x68` for `h`, PostgreSQL `E''` text), and the
    /// value unquoted (a COPY field): the written text is as short as an encoding makes it.
    fn encoded_with_hex(v: &str, hex: &[bool]) -> Vec<u8> {
        let mut out = Vec::new();
        for (c, h) in v.chars().zip(hex.iter().cycle()) {
            match c {
                c if *h && c.is_ascii_alphabetic() => {
                    out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
                }
                '\'' | '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
                c if (c as u32) < 0x100 => out.push(c as u32 as u8),
                _ => out.push(b'?'),
            }
        }
        out
    }

    /// Each of `values` put inside `filler` (cut at `at`): whenever the exact search finds an
    /// original there, the pre-check says "maybe" too.
    fn found_inside_filler(
        set: &mut EchoSet,
        values: &[String],
        filler: &str,
        at: prop::sample::Index,
    ) -> Result<(), TestCaseError> {
        for v in values {
            let cut = at.index(filler.len() + 1);
            let long = format!("{}{v}{}", &filler[..cut], &filler[cut..]);
            if exact(set, std::slice::from_ref(&long)) {
                prop_assert!(set.may_echo(long.as_bytes()));
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn record_keeps_the_first_of_each_folded_original(
            originals in prop::collection::vec(
                (text(3, 7), prop::collection::vec(any::<bool>(), 1..6)),
                0..30,
            ),
        ) {
            // The duplicate check (lengths first) against its definition: an original is kept
            // unless one kept before equals it, ASCII case aside.
            let mut set = EchoSet::new(EchoGuard {
                action: EchoAction::Rewrite,
                min_length: SMALLEST_MIN_LENGTH,
            });
            let mut kept: Vec<String> = Vec::new();
            for (i, (o, flips)) in originals.iter().enumerate() {
                let o = flip_case(o, flips);
                set.record(RuleId(i as u32), o.as_bytes(), Written::Str, b"x");
                if char_count(o.as_bytes()) >= SMALLEST_MIN_LENGTH
                    && !kept.iter().any(|k| k.eq_ignore_ascii_case(&o))
                {
                    kept.push(o);
                }
            }
            let got: Vec<&[u8]> = set
                .patterns
                .iter()
                .map(|p| &set.bytes[p.original.0..p.original.1])
                .collect();
            let want: Vec<&[u8]> = kept.iter().map(|k| k.as_bytes()).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn lead_bytes_is_its_definition(s in prop::collection::vec(any::<u8>(), 0..40)) {
            let naive = s.iter().filter(|&&b| !(0x80..=0xbf).contains(&b)).count();
            prop_assert_eq!(lead_bytes(&s), naive);
        }

        #[test]
        fn pre_check_on_hex_escaped_spans(
            (originals, values) in case(),
            hex in prop::collection::vec(any::<bool>(), 1..6),
        ) {
            // Values as short as the originals they hold, some letters spelled as escapes:
            // the pre-check's length bound and escape reading still say "maybe".
            let mut set = set_of(&originals);
            set.set_encoded_spans(true);
            let spans: Vec<Vec<u8>> = values.iter().map(|v| encoded_with_hex(v, &hex)).collect();
            let spans: Vec<&[u8]> = spans.iter().map(Vec::as_slice).collect();
            if exact(&set, &values) {
                prop_assert!(may_echo_in(&mut set, &spans));
            }
        }

        #[test]
        fn pre_check_finds_what_the_exact_search_finds((originals, values) in case()) {
            let mut set = set_of(&originals);
            let spans: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
            if exact(&set, &values) {
                prop_assert!(may_echo_in(&mut set, &spans));
            }
            // One span holding all values, separated.
            let joined = values.join("\u{0}");
            if exact(&set, &values) {
                prop_assert!(set.may_echo(joined.as_bytes()));
            }
        }

        #[test]
        fn pre_check_on_encoded_spans((originals, values) in case()) {
            let mut set = set_of(&originals);
            set.set_encoded_spans(true);
            let spans: Vec<Vec<u8>> = values.iter().map(|v| encoded(v)).collect();
            let spans: Vec<&[u8]> = spans.iter().map(Vec::as_slice).collect();
            if exact(&set, &values) {
                prop_assert!(may_echo_in(&mut set, &spans));
            }
        }

        #[test]
        fn longest_value_bound_keeps_what_values_can_hold((originals, values) in case()) {
            // Bounded by the longest value as a dump writes it (quoted, Latin-1: shorter in
            // bytes than the UTF-8 original when it has three non-ASCII letters), the set
            // still finds every copy the unbounded one finds.
            let longest = values.iter().map(|v| encoded(v).len()).max().unwrap_or(0);
            let mut bounded = EchoSet::new(EchoGuard {
                action: EchoAction::Rewrite,
                min_length: SMALLEST_MIN_LENGTH,
            });
            bounded.set_longest_value(longest);
            for (i, o) in originals.iter().enumerate() {
                bounded.record(RuleId(i as u32), o.as_bytes(), Written::Str, b"x");
            }
            prop_assert_eq!(exact(&bounded, &values), exact(&set_of(&originals), &values));
            bounded.clear();
            prop_assert!(bounded.longest_value.is_none());
        }

        #[test]
        fn pre_check_with_many_originals(
            (originals, values) in prop::collection::vec(text(3, 9), 1..40)
                .prop_flat_map(|originals| (Just(originals.clone()), values(originals))),
            filler in "[a-zA-Z .]{0,300}",
            at in any::<prop::sample::Index>(),
        ) {
            // A document's many originals (a project's registrations): groups of two sets of
            // bucket tables, a last group of any size; long spans take the SIMD path.
            found_inside_filler(&mut set_of(&originals), &values, &filler, at)?;
        }

        #[test]
        fn pre_check_on_long_text(
            (originals, values) in case(),
            filler in "[a-zA-Z .]{0,1500}",
            at in any::<prop::sample::Index>(),
        ) {
            // Long spans take the SIMD path (past `buckets::LONG_SPAN`, the bucketed pass
            // for two or three originals): an original anywhere in them is found.
            found_inside_filler(&mut set_of(&originals), &values, &filler, at)?;
        }
    }
}
