//! The echo guard's pre-check search (issue 23.4): one pass over a span of bytes that looks
//! for all of a document's or row's originals at once, without copying the span.
//!
//! Bytes are compared *folded* ([`fold`]: bit 5 set), so both cases of an ASCII letter
//! match; other bytes may match too (`@` and `` ` ``), which can only make the pre-check say
//! "maybe" more often. Each needle is represented by one pair of adjacent bytes, the rarest
//! by a static ranking of byte frequencies ([`RANK`]), and the pair's offset in the needle.
//! The span is read [`LANES`] bytes at a time: the block and the block one byte further are
//! folded and compared with every needle's pair, lane by lane (plain Rust the compiler turns
//! into SIMD compares: SSE2, or AVX2 when the CPU has it); a lane where some pair matches is
//! a candidate, verified by comparing the whole folded needle in place (Teddy's idea, with a
//! fingerprint per needle instead of shared buckets: a row has a handful of originals).

/// Bytes compared at once.
const LANES: usize = 32;

/// One block of lanes.
type Block = [u8; LANES];

/// The pre-check's folding of a byte: bit 5 set. Two bytes equal but for ASCII case fold to
/// the same byte. A plain OR, so folding a block is one vector instruction.
pub(super) fn fold(b: u8) -> u8 {
    b | 0x20
}

/// One needle: where its folded bytes are, and its fingerprint pair.
#[derive(Debug, Clone, Copy)]
struct Needle {
    /// Range of its folded bytes in `Prefilter::folded`.
    range: (usize, usize),
    /// Offset in the needle of the pair's first byte.
    at: usize,
    /// The pair (folded).
    pair: [u8; 2],
}

/// The needles of one document or row, and the pairs as blocks for the compares.
#[derive(Debug, Default)]
pub(super) struct Prefilter {
    needles: Vec<Needle>,
    /// Each needle's pair, each byte repeated over a block (the hot loop's operands).
    splats: Vec<[Block; 2]>,
    /// The needles' bytes, folded.
    folded: Vec<u8>,
    /// Length of the shortest needle (0 when there is none).
    shortest: usize,
}

/// How common each folded byte is in text (higher: more common), a rough static ranking:
/// space, then ASCII letters in their order of frequency in English, then common
/// punctuation, digits, the bytes of non-ASCII UTF-8 characters; other bytes are rare.
const RANK: [u8; 256] = rank_table();

/// Builds [`RANK`].
const fn rank_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0x80;
    while b < 256 {
        t[b] = 100;
        b += 1;
    }
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = 120;
        d += 1;
    }
    let letters = b"etaoinshrdlcumwfgypbvkjxqz";
    let mut i = 0;
    while i < letters.len() {
        t[letters[i] as usize] = 240 - 7 * i as u8;
        i += 1;
    }
    t[b' ' as usize] = 255;
    t[b'.' as usize] = 150;
    t[b',' as usize] = 140;
    t[b'-' as usize] = 110;
    t
}

/// How common a folded byte is (see [`RANK`]).
fn rank(folded: u8) -> u16 {
    u16::from(RANK[usize::from(folded)])
}

/// Offset of the rarest pair of adjacent bytes of `folded` (at least 2 bytes).
fn rarest_pair(folded: &[u8]) -> usize {
    let mut best = (u16::MAX, 0);
    for (i, w) in folded.windows(2).enumerate() {
        let cost = rank(w[0]) + rank(w[1]);
        if cost < best.0 {
            best = (cost, i);
        }
    }
    best.1
}

impl Prefilter {
    /// Forgets the needles.
    pub(super) fn clear(&mut self) {
        self.needles.clear();
        self.splats.clear();
        self.folded.clear();
        self.shortest = 0;
    }

    /// Adds a needle of at least 2 bytes (shorter ones are ignored: callers treat them as
    /// always possible).
    pub(super) fn push(&mut self, needle: &[u8]) {
        if needle.len() < 2 {
            return;
        }
        let start = self.folded.len();
        self.folded.extend(needle.iter().map(|b| fold(*b)));
        let folded = &self.folded[start..];
        let at = rarest_pair(folded);
        let pair = [folded[at], folded[at + 1]];
        self.needles.push(Needle {
            range: (start, self.folded.len()),
            at,
            pair,
        });
        self.splats.push([[pair[0]; LANES], [pair[1]; LANES]]);
        self.shortest = match self.shortest {
            0 => needle.len(),
            s => s.min(needle.len()),
        };
    }

    /// Whether some needle occurs in `span` (bytes compared folded).
    pub(super) fn find_in(&self, span: &[u8]) -> bool {
        if self.needles.is_empty() || span.len() < self.shortest {
            return false;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `find_in_avx2` only needs the CPU to have AVX2, just checked.
            return unsafe { self.find_in_avx2(span) };
        }
        self.scan(span)
    }

    /// [`scan`](Self::scan) compiled for AVX2 (32 lanes per instruction instead of 16).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn find_in_avx2(&self, span: &[u8]) -> bool {
        self.scan(span)
    }

    /// The search: whole blocks read in place, the last bytes through a zero-padded copy.
    #[inline(always)]
    fn scan(&self, span: &[u8]) -> bool {
        let mut i = 0;
        // Each step reads `LANES + 1` bytes (the block and the block one further).
        while let Some(w) = span.get(i..).and_then(|s| s.first_chunk::<{ LANES + 1 }>()) {
            let (w0, w1) = blocks(w);
            let hits = self.hits(&w0, &w1);
            if any_lane(&hits) && self.verify_hits(span, i, &hits, LANES) {
                return true;
            }
            i += LANES;
        }
        let rest = span.get(i..).unwrap_or_default();
        if rest.len() < 2 {
            return false;
        }
        let mut padded = [0u8; LANES + 1];
        padded[..rest.len()].copy_from_slice(rest);
        let (w0, w1) = blocks(&padded);
        let hits = self.hits(&w0, &w1);
        // Pairs starting in the last byte or the padding would need bytes past the span.
        any_lane(&hits) && self.verify_hits(span, i, &hits, rest.len() - 1)
    }

    /// Lanes of a block where some needle's pair starts: `w0` the block, `w1` the block one
    /// byte further (non-zero lanes are candidates).
    #[inline(always)]
    fn hits(&self, w0: &Block, w1: &Block) -> Block {
        let (mut f0, mut f1) = ([0u8; LANES], [0u8; LANES]);
        for l in 0..LANES {
            f0[l] = fold(w0[l]);
            f1[l] = fold(w1[l]);
        }
        let mut acc = [0u8; LANES];
        for [a, b] in &self.splats {
            for l in 0..LANES {
                acc[l] |= u8::from(f0[l] == a[l]) & u8::from(f1[l] == b[l]);
            }
        }
        acc
    }

    /// Whether a candidate among the first `lanes` lanes of `hits` (the block at `base` in
    /// `span`) is a whole needle.
    #[cold]
    fn verify_hits(&self, span: &[u8], base: usize, hits: &Block, lanes: usize) -> bool {
        hits.iter()
            .take(lanes)
            .enumerate()
            .any(|(l, h)| *h != 0 && self.verify(span, base + l))
    }

    /// Whether a needle whose pair starts at `pos` of `span` occurs there.
    fn verify(&self, span: &[u8], pos: usize) -> bool {
        let pair = match span.get(pos..pos + 2) {
            Some(&[x, y]) => [fold(x), fold(y)],
            _ => return false,
        };
        self.needles.iter().any(|n| {
            let needle = &self.folded[n.range.0..n.range.1];
            n.pair == pair
                && pos
                    .checked_sub(n.at)
                    .and_then(|s| span.get(s..s + needle.len()))
                    .is_some_and(|w| w.iter().zip(needle).all(|(h, k)| fold(*h) == *k))
        })
    }
}

/// The two blocks of a step: bytes `0..LANES` and `1..=LANES` of `w`.
#[inline(always)]
fn blocks(w: &[u8; LANES + 1]) -> (Block, Block) {
    let (mut w0, mut w1) = ([0u8; LANES], [0u8; LANES]);
    w0.copy_from_slice(&w[..LANES]);
    w1.copy_from_slice(&w[1..]);
    (w0, w1)
}

/// Whether some lane of `b` is non-zero.
#[inline(always)]
fn any_lane(b: &Block) -> bool {
    b.iter().fold(0, |a, x| a | x) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive search: some window of `span` equals a needle, bytes folded.
    fn naive(needles: &[Vec<u8>], span: &[u8]) -> bool {
        needles.iter().filter(|n| n.len() >= 2).any(|n| {
            span.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| fold(*a) == fold(*b)))
        })
    }

    fn prefilter(needles: &[Vec<u8>]) -> Prefilter {
        let mut p = Prefilter::default();
        for n in needles {
            p.push(n);
        }
        p
    }

    #[test]
    fn finds_at_every_position_and_case() {
        let needles = vec![b"Whitfield".to_vec(), b"jo@x.org".to_vec()];
        let p = prefilter(&needles);
        for len in 0..100 {
            for at in 0..len {
                let mut span = vec![b'.'; len];
                let n = if at % 2 == 0 { b"wHITFIELD" } else { b"JO@X.ORG\0" };
                let n = &n[..if at % 2 == 0 { 9 } else { 8 }];
                if at + n.len() > len {
                    continue;
                }
                span[at..at + n.len()].copy_from_slice(n);
                assert!(p.find_in(&span), "len {len} at {at}");
                // Cut one byte short at the end: not found.
                assert!(!p.find_in(&span[..at + n.len() - 1]), "len {len} at {at}");
                assert!(p.scan(&span));
            }
        }
        assert!(!prefilter(&[]).find_in(b"anything"));
    }

    /// Text from a small alphabet (ASCII letters of both cases, non-ASCII letters, bytes
    /// that fold to a letter's fold, separators) so needles often occur.
    fn text(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let alphabet: Vec<u8> = b"abAB @`.\0\x01\x21"
            .iter()
            .copied()
            .chain("éß".bytes())
            .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..max)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The SIMD search answers what the naive search answers, on both code paths.
        #[test]
        fn agrees_with_the_naive_search(
            needles in prop::collection::vec(text(8), 1..6),
            span in text(120),
        ) {
            let p = prefilter(&needles);
            let want = naive(&needles, &span);
            prop_assert_eq!(p.find_in(&span), want);
            // The portable path (no AVX2) too.
            if !p.needles.is_empty() {
                prop_assert_eq!(p.scan(&span), want);
            }
        }

        /// A needle planted anywhere in long text, in any case, is found.
        #[test]
        fn finds_a_planted_needle(
            needles in prop::collection::vec(text(8), 1..6),
            filler in text(200),
            at in any::<prop::sample::Index>(),
            which in any::<prop::sample::Index>(),
            upper in any::<bool>(),
        ) {
            let p = prefilter(&needles);
            let mut n = needles[which.index(needles.len())].clone();
            if upper {
                n.make_ascii_uppercase();
            }
            let cut = at.index(filler.len() + 1);
            let span = [&filler[..cut], &n[..], &filler[cut..]].concat();
            if n.len() >= 2 {
                prop_assert!(p.find_in(&span));
            }
        }
    }
}
