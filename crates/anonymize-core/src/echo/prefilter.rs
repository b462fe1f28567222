//! The echo guard's pre-check search (issue 23.4): one pass over a span of bytes that looks
//! for all of a document's or row's originals at once, without copying the span.
//!
//! Bytes are compared ASCII case-insensitively. Each needle is represented by one pair of
//! adjacent bytes, the rarest by a static ranking of byte frequencies ([`RANK`]), and the
//! pair's offset in the needle. With AVX2 (detected at run time) the span is searched with
//! a Teddy-style nibble lookup ([`super::teddy`]): each needle's pair (both cases of its
//! letters) gets one of 8 buckets, so one pass costs the same for any number of needles;
//! elsewhere a portable loop compares each needle's pair with 32 lanes at a time (which the
//! compiler turns into SSE2 compares). A position where a pair may start is a candidate,
//! verified by comparing the whole needle in place (only the needles of the buckets that
//! matched there). The pass can also report each backslash followed by a byte outside a
//! given set to the caller, which decides whether the escape there could hide an original
//! from this search (SQL text; `EchoSet::may_echo_in_escaped`).

use super::teddy::{Masks, MAX_DISTANCE};

/// Lanes compared at once by the portable loop.
const LANES: usize = 32;

/// One block of lanes.
type Block = [u8; LANES];

/// Bytes read per step: the block and the bytes up to `MAX_DISTANCE` past it.
const WINDOW: usize = LANES + MAX_DISTANCE;

/// What the caller says about the backslash at a position of a span: true when the escape
/// there may spell bytes the search cannot see (the answer is then "maybe").
pub(super) type EscapeCheck<'f> = &'f dyn Fn(&[u8], usize) -> bool;

/// One needle: where its bytes are, and its fingerprint pair.
#[derive(Debug, Clone, Copy)]
struct Needle {
    /// Range of its bytes in `Prefilter::bytes`.
    range: (usize, usize),
    /// Offset in the needle of the pair's first byte (the second is `distance` further).
    at: usize,
    /// The pair (lower-cased).
    pair: [u8; 2],
    /// The next needle of the same bucket (`NONE`: none).
    next: u32,
}

/// No needle.
const NONE: u32 = u32::MAX;

/// One Teddy bucket: its needles (a list through `Needle::next`), and the byte all their
/// pairs start (end) with, if they share one. Needles sharing the first or the second byte
/// of their pairs can share a bucket at no cost: the bucket then matches no pair besides
/// theirs.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    head: u32,
    len: u32,
    first: Option<u8>,
    second: Option<u8>,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            head: NONE,
            len: 0,
            first: None,
            second: None,
        }
    }
}

/// The bucket for a needle whose pair is `pair`: one whose needles share its first or
/// second byte, else an empty one, else the one with the fewest needles.
fn bucket_for(buckets: &[Bucket; 8], pair: [u8; 2]) -> usize {
    let shared = buckets
        .iter()
        .position(|b| b.len > 0 && (b.first == Some(pair[0]) || b.second == Some(pair[1])));
    shared.unwrap_or_else(|| (0..8).min_by_key(|&i| buckets[i].len).unwrap_or_default())
}

/// The needles of one document or row, set up for both searches.
#[derive(Debug, Default)]
pub(super) struct Prefilter {
    needles: Vec<Needle>,
    /// The needles' bytes.
    bytes: Vec<u8>,
    /// Length of the shortest needle (0 when there is none).
    shortest: usize,
    /// Distance between the two bytes of every needle's pair: the shortest needle's length
    /// less one, at most `MAX_DISTANCE` (bytes far apart are less often found together
    /// than adjacent ones, which common words share).
    distance: usize,
    /// Whether backslashes (followed by a byte not in `regular`) are candidates too.
    escapes: bool,
    /// The bytes after a backslash that make no candidate.
    regular: Vec<u8>,
    /// Whether the CPU has AVX2 (the Teddy search).
    avx2: bool,
    /// Use the portable loop even when the CPU has AVX2 (tests compare both).
    portable: bool,
    /// The Teddy tables.
    masks: Masks,
    /// The Teddy buckets' needles.
    buckets: [Bucket; 8],
    /// Each needle's pair, each byte repeated over a block (the portable loop's operands).
    splats: Vec<[Block; 2]>,
}

/// How common each lower-cased byte is in text and documents (higher: more common), a
/// rough static ranking: zero and space, then ASCII letters in their order of frequency in
/// English, digits, control bytes and common punctuation among them, the bytes of
/// non-ASCII UTF-8 characters; other bytes are rare.
static RANK: [u8; 256] = rank_table();

/// Builds [`RANK`].
const fn rank_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    // Binary originals (UUIDs) are searched in binary documents too: zeros and small
    // bytes (BSON types, lengths, terminators; tabs and newlines in text) are common.
    let mut c = 1;
    while c < 0x20 {
        t[c] = 170;
        c += 1;
    }
    t[0] = 255;
    let mut b = 0x80;
    while b < 256 {
        t[b] = 100;
        b += 1;
    }
    // Digits and the punctuation of identifiers, dates and addresses are common in data
    // (a UUID's `-4` is in every UUID), more than in prose.
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = 200;
        d += 1;
    }
    let letters = b"etaoinshrdlcumwfgypbvkjxqz";
    let mut i = 0;
    while i < letters.len() {
        t[letters[i] as usize] = 240 - 7 * i as u8;
        i += 1;
    }
    t[b' ' as usize] = 255;
    t[b'-' as usize] = 190;
    t[b'.' as usize] = 180;
    t[b'@' as usize] = 170;
    t[b',' as usize] = 160;
    t[b':' as usize] = 150;
    t[b'_' as usize] = 150;
    t[b'/' as usize] = 150;
    t
}

/// Pairs looked at to choose a needle's fingerprint: a rare one among the first pairs is
/// rare enough, and long needles cost no more to set up.
const PAIRS_RANKED: usize = 12;

/// Offset of the rarest pair of bytes `distance` apart among the first [`PAIRS_RANKED`] of
/// `needle` (longer than `distance`).
fn rarest_pair(needle: &[u8], distance: usize) -> usize {
    let rank = |b: &u8| u16::from(RANK[usize::from(b.to_ascii_lowercase())]);
    let mut best = (u16::MAX, 0);
    let seconds = needle.get(distance..).unwrap_or_default();
    for (i, (a, b)) in needle.iter().zip(seconds).take(PAIRS_RANKED).enumerate() {
        let cost = rank(a) + rank(b);
        if cost < best.0 {
            best = (cost, i);
        }
    }
    best.1
}

/// The byte values ASCII case-insensitively equal to the lower-cased byte `b`.
fn cases(b: u8) -> ([u8; 2], usize) {
    let upper = b.to_ascii_uppercase();
    ([b, upper], if upper == b { 1 } else { 2 })
}

impl Prefilter {
    /// Forgets the needles; `escapes`: whether backslashes are to be reported, unless
    /// followed by one of the bytes given.
    pub(super) fn clear(&mut self, escapes: Option<&[u8]>) {
        self.needles.clear();
        self.bytes.clear();
        self.splats.clear();
        self.shortest = 0;
        self.escapes = escapes.is_some();
        self.regular.clear();
        self.regular.extend_from_slice(escapes.unwrap_or_default());
        self.masks.clear();
        self.buckets = Default::default();
        #[cfg(target_arch = "x86_64")]
        {
            self.avx2 = !self.portable && std::arch::is_x86_feature_detected!("avx2");
        }
        if let Some(regular) = escapes {
            self.masks.watch_escapes(regular);
        }
    }

    /// Adds a needle of at least 2 bytes (shorter ones are ignored: callers treat them as
    /// always possible). [`finish`](Self::finish) sets the needles up once all are in.
    pub(super) fn push(&mut self, needle: &[u8]) {
        if needle.len() < 2 {
            return;
        }
        let start = self.bytes.len();
        // Copied as it is: compared ASCII case-insensitively.
        self.bytes.extend_from_slice(needle);
        self.needles.push(Needle {
            range: (start, self.bytes.len()),
            at: 0,
            pair: [0; 2],
            next: NONE,
        });
        self.shortest = match self.shortest {
            0 => needle.len(),
            s => s.min(needle.len()),
        };
    }

    /// Chooses each needle's pair and bucket, and fills the tables.
    pub(super) fn finish(&mut self) {
        self.distance = self.shortest.saturating_sub(1).clamp(1, MAX_DISTANCE);
        let d = self.distance;
        for (i, n) in self.needles.iter_mut().enumerate() {
            let needle = &self.bytes[n.range.0..n.range.1];
            n.at = rarest_pair(needle, d);
            n.pair = [
                needle[n.at].to_ascii_lowercase(),
                needle[n.at + d].to_ascii_lowercase(),
            ];
            let pair = n.pair;
            let ((a, na), (b, nb)) = (cases(pair[0]), cases(pair[1]));
            let k = bucket_for(&self.buckets, pair);
            self.masks.add(k, &a[..na], &b[..nb]);
            let bucket = &mut self.buckets[k];
            n.next = std::mem::replace(&mut bucket.head, i as u32);
            if bucket.len == 0 {
                (bucket.first, bucket.second) = (Some(pair[0]), Some(pair[1]));
            } else {
                bucket.first = bucket.first.filter(|f| *f == pair[0]);
                bucket.second = bucket.second.filter(|s| *s == pair[1]);
            }
            bucket.len += 1;
            if !self.avx2 {
                self.splats.push([[pair[0]; LANES], [pair[1]; LANES]]);
            }
        }
    }

    /// Whether some needle occurs in `span` (ASCII case-insensitively), or (with escapes
    /// watched) `escape` says true of one of its backslashes followed by a byte outside
    /// the regular ones. Spans shorter than the shortest needle are not read.
    pub(super) fn find_in(&self, span: &[u8], escape: EscapeCheck<'_>) -> bool {
        if self.needles.is_empty() || span.len() < self.shortest {
            return false;
        }
        let candidate = |pos: usize, buckets: u8| {
            (self.escapes && span.get(pos) == Some(&b'\\') && escape(span, pos))
                || (buckets != 0 && self.verify(span, pos, buckets))
        };
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `scan` only needs the CPU to have AVX2, detected in `clear`.
            return unsafe { self.masks.scan(span, self.distance, candidate) };
        }
        self.scan(span, candidate)
    }

    /// The portable search: whole blocks read in place, the last bytes through a
    /// zero-padded copy; each lane where a pair (or a watched backslash) starts is given to
    /// `candidate` until it returns true.
    fn scan(&self, span: &[u8], mut candidate: impl FnMut(usize, u8) -> bool) -> bool {
        let mut i = 0;
        while let Some(w) = span.get(i..).and_then(|s| s.first_chunk::<WINDOW>()) {
            let hits = self.hits(w);
            if any_lane(&hits) && each_lane(&hits, LANES, |l| candidate(i + l, u8::MAX)) {
                return true;
            }
            i += LANES;
        }
        let rest = span.get(i..).unwrap_or_default();
        let mut padded = [0u8; LANES + WINDOW];
        padded[..rest.len()].copy_from_slice(rest);
        let mut j = 0;
        while j + 1 < rest.len() {
            let Some(w) = padded.get(j..).and_then(|s| s.first_chunk::<WINDOW>()) else {
                break;
            };
            let hits = self.hits(w);
            // Positions whose next byte is in the span (pairs and escapes need it).
            let valid = (rest.len() - 1 - j).min(LANES);
            if any_lane(&hits) && each_lane(&hits, valid, |l| candidate(i + j + l, u8::MAX)) {
                return true;
            }
            j += LANES;
        }
        false
    }

    /// Lanes of the block `w[..LANES]` where some needle's pair (or a watched backslash)
    /// starts (non-zero lanes are candidates).
    fn hits(&self, w: &[u8; WINDOW]) -> Block {
        let d = self.distance.clamp(1, MAX_DISTANCE);
        let (mut f0, mut f1) = ([0u8; LANES], [0u8; LANES]);
        for l in 0..LANES {
            f0[l] = w[l].to_ascii_lowercase();
            f1[l] = w[l + d].to_ascii_lowercase();
        }
        let mut acc = [0u8; LANES];
        if self.escapes {
            let mut regular = [0u8; LANES];
            for r in &self.regular {
                for l in 0..LANES {
                    regular[l] |= u8::from(w[l + 1] == *r);
                }
            }
            for l in 0..LANES {
                acc[l] = u8::from(w[l] == b'\\') & (regular[l] ^ 1);
            }
        }
        for [a, b] in &self.splats {
            for l in 0..LANES {
                acc[l] |= u8::from(f0[l] == a[l]) & u8::from(f1[l] == b[l]);
            }
        }
        acc
    }

    /// Whether a needle of `buckets` (bits) whose pair starts at `pos` of `span` occurs
    /// there.
    fn verify(&self, span: &[u8], pos: usize, buckets: u8) -> bool {
        let pair = match (span.get(pos), span.get(pos + self.distance)) {
            (Some(x), Some(y)) => [x.to_ascii_lowercase(), y.to_ascii_lowercase()],
            _ => return false,
        };
        let mut bits = buckets;
        while bits != 0 {
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let mut i = self.buckets.get(b).map_or(NONE, |b| b.head);
            while let Some(n) = self.needles.get(i as usize) {
                if n.pair == pair && self.occurs_at(span, pos, n) {
                    return true;
                }
                i = n.next;
            }
        }
        false
    }

    /// Whether needle `n`, whose pair matched at `pos` of `span`, occurs there.
    fn occurs_at(&self, span: &[u8], pos: usize, n: &Needle) -> bool {
        let needle = &self.bytes[n.range.0..n.range.1];
        pos.checked_sub(n.at)
            .and_then(|s| span.get(s..s + needle.len()))
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    }
}

/// Whether some lane of `b` is non-zero.
fn any_lane(b: &Block) -> bool {
    b.iter().fold(0, |a, x| a | x) != 0
}

/// Calls `f` on each non-zero lane of the first `lanes` of `hits` until it returns true.
#[cold]
fn each_lane(hits: &Block, lanes: usize, mut f: impl FnMut(usize) -> bool) -> bool {
    hits.iter()
        .take(lanes)
        .enumerate()
        .any(|(l, h)| *h != 0 && f(l))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive search: some window of `span` equals a needle, ASCII case-insensitively.
    fn naive(needles: &[Vec<u8>], span: &[u8]) -> bool {
        needles
            .iter()
            .filter(|n| n.len() >= 2)
            .any(|n| span.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
    }

    /// The test's escape check: `\x` is irregular; so is `\b`, which the prefilters
    /// are told is regular, so that a search that reports it anyway gives a wrong answer.
    fn x_escape(span: &[u8], pos: usize) -> bool {
        matches!(span.get(pos + 1), Some(b'x' | b'b'))
    }

    fn prefilter(needles: &[Vec<u8>], escapes: bool, portable: bool) -> Prefilter {
        let mut p = Prefilter {
            portable,
            ..Prefilter::default()
        };
        p.clear(escapes.then_some(b"b".as_slice()));
        for n in needles {
            p.push(n);
        }
        p.finish();
        p
    }

    #[test]
    fn finds_at_every_position_and_case() {
        let needles = vec![b"Whitfield".to_vec(), b"jo@x.org".to_vec()];
        for portable in [false, true] {
            let p = prefilter(&needles, false, portable);
            for len in 0..100 {
                for at in 0..len {
                    let mut span = vec![b'.'; len];
                    let n: &[u8] = if at % 2 == 0 {
                        b"wHITFIELD"
                    } else {
                        b"JO@X.ORG"
                    };
                    if at + n.len() > len {
                        continue;
                    }
                    span[at..at + n.len()].copy_from_slice(n);
                    assert!(p.find_in(&span, &x_escape), "len {len} at {at}");
                    // Cut one byte short at the end: not found.
                    let short = &span[..at + n.len() - 1];
                    assert!(!p.find_in(short, &x_escape), "len {len} at {at}");
                }
            }
            // `@` and `` ` `` differ by bit 5 only, and are different characters.
            assert!(!p.find_in(b"..jo`x.org..", &x_escape));
        }
        assert!(!prefilter(&[], true, false).find_in(b"anything \\x", &x_escape));
    }

    /// Text from a small alphabet (ASCII letters of both cases, non-ASCII letters, bytes
    /// that differ from others by bit 5 only, backslash, separators) so needles often occur.
    fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let alphabet: Vec<u8> = b"abxAB @`.\0\x01\x21\\"
            .iter()
            .copied()
            .chain("éß".bytes())
            .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The SIMD search answers what the naive search answers, on both code paths,
        /// with and without escapes watched.
        #[test]
        fn agrees_with_the_naive_search(
            needles in prop::collection::vec(text(8), 1..10),
            span in text(120),
        ) {
            // Needles hold no backslash (SQL's verbatim runs do not): a backslash is a
            // candidate only as an escape.
            let needles: Vec<Vec<u8>> = needles
                .into_iter()
                .map(|n| n.into_iter().filter(|b| *b != b'\\').collect())
                .collect();
            for portable in [false, true] {
                let p = prefilter(&needles, false, portable);
                prop_assert_eq!(p.find_in(&span, &x_escape), naive(&needles, &span));
                let p = prefilter(&needles, true, portable);
                let escaped = !p.needles.is_empty()
                    && span.len() >= p.shortest
                    && span.windows(2).any(|w| w == b"\\x");
                prop_assert_eq!(
                    p.find_in(&span, &x_escape),
                    naive(&needles, &span) || escaped
                );
            }
        }

        /// A needle planted anywhere in long text, in any case, is found.
        #[test]
        fn finds_a_planted_needle(
            needles in prop::collection::vec(text(8), 1..10),
            filler in text(200),
            at in any::<prop::sample::Index>(),
            which in any::<prop::sample::Index>(),
            upper in any::<bool>(),
        ) {
            let mut n = needles[which.index(needles.len())].clone();
            if upper {
                n.make_ascii_uppercase();
            }
            let cut = at.index(filler.len() + 1);
            let span = [&filler[..cut], &n[..], &filler[cut..]].concat();
            for portable in [false, true] {
                let p = prefilter(&needles, false, portable);
                prop_assert_eq!(p.find_in(&span, &x_escape), n.len() >= 2 || naive(&needles, &span));
            }
        }
    }
}
