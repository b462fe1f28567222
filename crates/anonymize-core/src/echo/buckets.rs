//! The pre-check's search for many needles in one pass (issue 23.4): up to [`BUCKETS`]
//! needles, each in a bucket of its own, looked for with nibble tables (Teddy-style) on
//! three bytes of each needle (its first byte, its byte at the group's shortest length − 1,
//! and the byte [`middle`] between them), so that one pass over the text costs the same
//! whatever the number of needles: a document with many originals (a study's authors, a
//! project's registrations) is read once instead of once per four.
//!
//! Per 32-byte chunk (AVX2): the low nibble of the byte at each position, of the byte
//! [`middle`] further and of the byte `d` further each looks up, in a 16-byte table, the
//! buckets whose fingerprint byte has that low nibble; a position is a candidate for the
//! buckets in all three lookups, and is verified for the needles of its buckets only. A
//! low nibble has no ASCII case, so the text needs no folding; the high nibbles are not
//! looked up at all (in text, a letter's is one of four: its lookup discarded little and
//! cost as much as a low one), so candidates are a superset of those of the pair compare
//! of `scan` on the same bytes, each verified in full.
//!
//! A group of more than [`HALF`] needles (up to [`BUCKETS`]) takes a second set of tables,
//! for needles `HALF..`, looked up with the same nibbles; the two sets' results are ORed, so
//! that bit `k` of a candidate stands for needles `k` and `k + HALF` (both verified). The
//! second set costs about half a pass more, where a second pass would cost a whole one.

use super::scan::{self, Hay};

/// Needles one set of tables looks for (one bucket each: the lookups give a byte of bucket
/// bits).
const HALF: usize = 8;

/// Needles one pass looks for: two sets of tables of [`HALF`] buckets each.
pub(super) const BUCKETS: usize = 2 * HALF;

/// Smallest group searched with buckets: a bucketed pass costs about as much as the pair
/// compare of three or four needles (`scan`), so fewer needles take the pair compare.
pub(super) const FROM: usize = 4;

/// Span of the ranges (first start to last end) from which two or three needles take a
/// bucketed pass too: over long text its chunks cost less than the pair compare's (11
/// operations against 11 and 15) and its three fingerprint bytes let through fewer
/// candidates; over a short document the tables' set-up costs more than that saves.
pub(super) const LONG_SPAN: usize = 1024;

/// True when one of `needles` (at most [`BUCKETS`], each at least 2 bytes) occurs, folded,
/// entirely inside one range of `hay`: the bucketed AVX2 scan when the CPU has it and the
/// haystack is long enough, else the portable search of `scan`.
pub(super) fn any_within(hay: Hay<'_>, needles: &[&[u8]]) -> bool {
    debug_assert!(needles.len() <= BUCKETS);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return avx2::any_within(hay, needles);
    }
    scan::any_portable(hay, needles)
}

/// The low-nibble tables of a group, one set per [`HALF`] needles: entry `v` of a table of
/// set `h` holds bit `k` when needle `h * HALF + k`'s fingerprint byte has low nibble `v`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tables {
    /// The needles' first bytes.
    first: [[u8; 16]; 2],
    /// The needles' bytes at [`middle`].
    middle: [[u8; 16]; 2],
    /// The needles' bytes at `d`.
    second: [[u8; 16]; 2],
}

/// Offset of the third fingerprint byte, between the pair's two (`d / 2`): the pair alone
/// lets through about one position in sixty of English-like text with eight needles.
fn middle(d: usize) -> usize {
    d / 2
}

impl Tables {
    /// The tables of `needles` (at most [`BUCKETS`]), their last fingerprint byte at `d`.
    fn of(needles: &[&[u8]], d: usize) -> Tables {
        let mut t = Tables::default();
        let m = middle(d);
        for (k, n) in needles.iter().enumerate().take(BUCKETS) {
            // Every needle is longer than `d` (`d` is the shortest's length - 1: one bounds
            // check for the three bytes; a needle skipped here would never be found).
            debug_assert!(n.len() > d, "a needle shorter than the fingerprint's reach");
            let Some(n) = n.get(..=d) else { continue };
            let (h, bit) = (k / HALF, 1u8 << (k % HALF));
            t.first[h][usize::from(n[0] & 15)] |= bit;
            t.middle[h][usize::from(n[m] & 15)] |= bit;
            t.second[h][usize::from(n[d] & 15)] |= bit;
        }
        t
    }

    /// The buckets whose needle may start at a position whose byte is `a`, whose byte
    /// [`middle`] further is `m` and whose byte `d` further is `b` (bit `k`: needle `k`):
    /// the plain reading of the tables (the definition the AVX2 lookups implement, before
    /// they OR the two sets).
    #[cfg(test)]
    fn buckets(&self, a: u8, m: u8, b: u8) -> u16 {
        let low = |t: &[u8; 16], x: u8| t[usize::from(x & 15)];
        let set = |h: usize| {
            u16::from(low(&self.first[h], a) & low(&self.middle[h], m) & low(&self.second[h], b))
        };
        set(0) | set(1) << HALF
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The bucketed AVX2 scan. Every function here is called only after
    //! `is_x86_feature_detected!` said the CPU has AVX2.

    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_or_si256, _mm256_set1_epi8,
        _mm256_setzero_si256, _mm256_shuffle_epi8, _mm_loadu_si128,
    };

    use super::super::chunks::load;
    use super::super::ranges::{self, Fingerprint};
    use super::super::scan::{any_portable, found_at, Hay};
    use super::{Tables, HALF};

    /// [`super::any_within`] on a CPU with AVX2.
    pub(super) fn any_within(hay: Hay<'_>, needles: &[&[u8]]) -> bool {
        let Some(shortest) = ranges::simd_shortest(hay.bytes, needles) else {
            return any_portable(hay, needles);
        };
        let d = shortest - 1;
        let tables = Tables::of(needles, d);
        // SAFETY: the caller checked that the CPU has AVX2; the haystack holds a chunk and
        // the fingerprint's reach, which is below the shortest needle's length.
        unsafe {
            if needles.len() <= HALF {
                let mut verify = |p, which, end| found_at(needles, hay.bytes, p, which, end);
                let look = Lookups::<1>::new(&tables, d);
                ranges::any(&look, hay.bytes, hay.ranges, shortest, &mut verify)
            } else {
                // Bit `k` of a candidate: needle `k` or needle `k + HALF`.
                let mut verify = |p, which: u32, end| {
                    found_at(needles, hay.bytes, p, which | which << HALF, end)
                };
                let look = Lookups::<2>::new(&tables, d);
                ranges::any(&look, hay.bytes, hay.ranges, shortest, &mut verify)
            }
        }
    }

    /// The first `H` sets of tables broadcast to both lanes, and the nibble mask.
    struct Lookups<const H: usize> {
        first: [__m256i; H],
        middle: [__m256i; H],
        second: [__m256i; H],
        nibble: __m256i,
        m: usize,
        d: usize,
    }

    impl<const H: usize> Lookups<H> {
        /// # Safety
        /// The CPU has AVX2.
        #[target_feature(enable = "avx2")]
        unsafe fn new(t: &Tables, d: usize) -> Lookups<H> {
            let wide = |x: &[u8; 16]| {
                // SAFETY: `x` is 16 bytes; `loadu` has no alignment requirement.
                _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(x.as_ptr().cast()) })
            };
            Lookups {
                first: std::array::from_fn(|h| wide(&t.first[h])),
                middle: std::array::from_fn(|h| wide(&t.middle[h])),
                second: std::array::from_fn(|h| wide(&t.second[h])),
                nibble: _mm256_set1_epi8(0x0f),
                m: super::middle(d),
                d,
            }
        }
    }

    impl<const H: usize> Fingerprint for Lookups<H> {
        fn reach(&self) -> usize {
            self.d
        }

        /// Byte `i`: the buckets whose fingerprint's low nibbles are those of the bytes at
        /// `p + i`, `p + i + m` and `p + i + d`, the sets ORed (bit `k`: needle `k` or
        /// `k + HALF`).
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn chunk(&self, hay: &[u8], p: usize) -> __m256i {
            // SAFETY: the loads are inside `hay` (the trait's promise; `m <= d`).
            let (x, z, y) = unsafe { (load(hay, p), load(hay, p + self.m), load(hay, p + self.d)) };
            let (x, z, y) = (
                _mm256_and_si256(x, self.nibble),
                _mm256_and_si256(z, self.nibble),
                _mm256_and_si256(y, self.nibble),
            );
            let mut any = _mm256_setzero_si256();
            for h in 0..H {
                let set = _mm256_and_si256(
                    _mm256_and_si256(
                        _mm256_shuffle_epi8(self.first[h], x),
                        _mm256_shuffle_epi8(self.middle[h], z),
                    ),
                    _mm256_shuffle_epi8(self.second[h], y),
                );
                any = _mm256_or_si256(any, set);
            }
            any
        }
    }
}

/// The tables against their definition; the scan against the plain search.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that fold onto letters or each other, letters of both cases, non-ASCII bytes.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            3 => prop::sample::select(b"aAzZ@`[{_\x7f\x00 \xc3\xa9\xff".to_vec()),
            1 => any::<u8>(),
        ]
    }

    /// The definition: some needle equals, folded, a window of `hay` inside one range.
    fn naive(hay: &[u8], ranges: &[(usize, usize)], needles: &[&[u8]]) -> bool {
        ranges.iter().any(|&(s, e)| {
            needles.iter().any(|n| {
                hay[s..e].windows(n.len()).any(|w| {
                    w.iter()
                        .zip(n.iter())
                        .all(|(a, b)| scan::fold(*a) == scan::fold(*b))
                })
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn tables_are_the_low_nibbles_of_the_fingerprints(
            needles in prop::collection::vec((byte(), byte(), byte()), 1..=BUCKETS),
            hay in (byte(), byte(), byte()),
        ) {
            // Needles of three bytes (d = 2, middle 1): the fingerprint is the low nibbles
            // of the three.
            let needles: Vec<[u8; 3]> = needles.iter().map(|&(x, y, z)| [x, y, z]).collect();
            let refs: Vec<&[u8]> = needles.iter().map(|n| n.as_slice()).collect();
            let t = Tables::of(&refs, 2);
            let low = |a: u8, b: u8| a & 15 == b & 15;
            let expected = needles.iter().enumerate().fold(0u16, |m, (k, n)| {
                let hit = low(n[0], hay.0) && low(n[1], hay.1) && low(n[2], hay.2);
                m | (u16::from(hit) << k)
            });
            prop_assert_eq!(t.buckets(hay.0, hay.1, hay.2), expected);
        }

        #[test]
        fn any_within_is_its_definition(
            hay in prop::collection::vec(
                prop::sample::select(b"abcABC@`[{0\\ n\xc3\xa9\x00".to_vec()),
                0..400,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..9),
            picks in prop::collection::vec(
                (any::<prop::sample::Index>(), 2..14usize, any::<u32>(), prop::collection::vec(byte(), 2..6)),
                1..=BUCKETS,
            ),
        ) {
            // Ranges from sorted cut points; needles taken from the haystack (case flipped
            // by `flips`, at range edges or across them) or random bytes.
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(hay.len() + 1)).collect();
            at.sort_unstable();
            let ranges: Vec<(usize, usize)> = at.chunks_exact(2).map(|c| (c[0], c[1])).collect();
            let needles: Vec<Vec<u8>> = picks
                .iter()
                .map(|(i, len, flips, own)| {
                    if hay.len() < *len || flips % 3 == 0 {
                        return own.clone();
                    }
                    let s = i.index(hay.len() - len + 1);
                    hay[s..s + len]
                        .iter()
                        .enumerate()
                        .map(|(j, b)| if flips >> (j % 32) & 1 == 1 { b ^ 0x20 } else { *b })
                        .collect()
                })
                .collect();
            let needles: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
            let within = Hay { bytes: &hay, ranges: &ranges };
            prop_assert_eq!(any_within(within, &needles), naive(&hay, &ranges, &needles));
        }
    }

    #[test]
    fn each_needle_found_alone() {
        // Each needle of a group of one set of tables, then of a full group of two, alone in
        // a long range, is found through its bucket; none is found where only its pair
        // bytes are.
        let all: [&[u8]; BUCKETS] = [
            b"Whitfield",
            b"jonathan",
            b"O'Brien",
            b"M\xc3\xbcller",
            b"ada@x.org",
            b"Zhang",
            b"lovelace",
            b"Kowalski",
            b"Nakamura",
            b"b.liskov@mit.example",
            b"Okonkwo",
            b"Dijkstra",
            b"Hopper",
            b"Ramanujan",
            b"\x00\x11\x22\x33\x44\x55",
            b"Turing",
        ];
        for needles in [&all[..HALF], &all[..]] {
            each_found_alone(needles);
        }
    }

    fn each_found_alone(needles: &[&[u8]]) {
        let filler = "lorem ipsum dolor sit amet ".repeat(4);
        for &n in needles {
            let mut hay = filler.clone().into_bytes();
            hay.extend(
                n.iter()
                    .map(|b| if b.is_ascii_lowercase() { b ^ 0x20 } else { *b }),
            );
            hay.extend_from_slice(filler.as_bytes());
            let within = Hay {
                bytes: &hay,
                ranges: &[(0, hay.len())],
            };
            assert!(any_within(within, needles));
            let mut pair_only = filler.clone().into_bytes();
            pair_only.push(n[0]);
            pair_only.extend_from_slice(b"###");
            pair_only.push(n[4]);
            pair_only.extend_from_slice(filler.as_bytes());
            let within = Hay {
                bytes: &pair_only,
                ranges: &[(0, pair_only.len())],
            };
            assert!(!any_within(within, needles));
        }
    }
}
