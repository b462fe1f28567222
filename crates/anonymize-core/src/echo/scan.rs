//! The echo guard's pre-check search (issue 23.4): a few needles looked for in place, in
//! ranges of one haystack (a document's bytes between the values rules rewrote, a row's
//! uncovered values as written), bytes compared after [`fold`] (ASCII case ignored). No
//! copy of the text is made: each scan reads the haystack once for up to [`GROUP`] needles.
//!
//! With AVX2 (detected at run time) each 32-byte chunk is compared, folded, with every
//! needle's two pair bytes (its first byte, and the byte at the group's shortest needle
//! length − 1, which every needle of the group has), the comparisons ANDed per needle and
//! ORed over the group; a candidate is then checked against the ranges and verified in
//! place. Elsewhere, and on short haystacks, a portable loop does the same byte by byte.

/// The pre-check's folding of a byte: bit 5 set. Two bytes equal but for ASCII case fold
/// to the same byte (other bytes may too: the pre-check may only say "maybe" more often).
#[inline]
pub(super) fn fold(b: u8) -> u8 {
    b | 0x20
}

/// Needles one scan looks for at once (each needle compares two vectors per chunk; with
/// eight, the compiler spills vectors and the scans cost more than two scans of four).
pub(super) const GROUP: usize = 4;

/// Where the pre-check looks: `bytes`, and the sorted, disjoint `ranges` of it that hold
/// the values searched. A match counts only inside one range.
#[derive(Clone, Copy)]
pub(super) struct Hay<'h> {
    /// The haystack.
    pub(super) bytes: &'h [u8],
    /// `(start, end)` of each part searched, in order, not overlapping, within `bytes`.
    pub(super) ranges: &'h [(usize, usize)],
}

/// True when one of `needles` (at most [`GROUP`], each at least 2 bytes) occurs, folded,
/// entirely inside one range of `hay`: the AVX2 scan when the CPU has it and the haystack
/// is long enough, else [`any_portable`].
pub(super) fn any_within(hay: Hay<'_>, needles: &[&[u8]]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return avx2::any_within(hay, needles);
    }
    any_portable(hay, needles)
}

/// [`any_within`] byte by byte (any CPU).
pub(super) fn any_portable(hay: Hay<'_>, needles: &[&[u8]]) -> bool {
    let Some(bounds) = Bounds::of(hay, needles) else {
        return false;
    };
    let mut check = Check::new(hay, needles);
    scan_bytes(
        hay.bytes, bounds.lo, bounds.end, bounds.d, needles, &mut check,
    )
}

/// The part of the haystack a scan reads.
#[derive(Clone, Copy)]
struct Bounds {
    /// First position a match may start at.
    lo: usize,
    /// One past the last position a match of the shortest needle may start at.
    end: usize,
    /// Offset of the second pair byte (the shortest needle's length − 1).
    d: usize,
}

impl Bounds {
    /// `None` when no needle fits in the ranges (or there is none).
    fn of(hay: Hay<'_>, needles: &[&[u8]]) -> Option<Bounds> {
        let shortest = needles.iter().map(|n| n.len()).min()?;
        let (&(lo, _), &(_, hi)) = (hay.ranges.first()?, hay.ranges.last()?);
        let hi = hi.min(hay.bytes.len());
        if shortest < 2 || hi < lo + shortest {
            return None;
        }
        Some(Bounds {
            lo,
            end: hi + 1 - shortest,
            d: shortest - 1,
        })
    }
}

/// Positions `lo..end` of `hay` whose folded bytes at `p` and `p + d` are some needle's
/// first byte and byte `d`, each handed to `check` until it finds a match.
fn scan_bytes(
    hay: &[u8],
    lo: usize,
    end: usize,
    d: usize,
    needles: &[&[u8]],
    check: &mut Check<'_>,
) -> bool {
    for p in lo..end {
        let (a, b) = (fold(hay[p]), fold(hay[p + d]));
        if needles.iter().any(|n| fold(n[0]) == a && fold(n[d]) == b) && check.at(p) {
            return true;
        }
    }
    false
}

/// Verifies candidates in increasing order of position: inside a range, and a needle there.
struct Check<'h> {
    hay: Hay<'h>,
    needles: &'h [&'h [u8]],
    /// The first range that does not end before the last candidate.
    range: usize,
}

impl<'h> Check<'h> {
    /// A check of candidates for `needles` in `hay`, from its first range on.
    fn new(hay: Hay<'h>, needles: &'h [&'h [u8]]) -> Check<'h> {
        Check {
            hay,
            needles,
            range: 0,
        }
    }

    /// True when a needle occurs at `p` inside one range (candidates come in increasing
    /// order).
    #[inline]
    fn at(&mut self, p: usize) -> bool {
        let Some(room) = self.room(p) else {
            return false;
        };
        self.needles.iter().any(|n| found(n, room))
    }

    /// The bytes from `p` to the end of the range holding `p`; `None` when no range
    /// holds it (candidates come in increasing order).
    #[inline]
    fn room(&mut self, p: usize) -> Option<&'h [u8]> {
        let ranges = self.hay.ranges;
        while self.range < ranges.len() && ranges[self.range].1 <= p {
            self.range += 1;
        }
        let &(start, end) = ranges.get(self.range)?;
        if p < start {
            return None;
        }
        Some(&self.hay.bytes[p..end.min(self.hay.bytes.len())])
    }
}

/// True when one of `needles` whose bit is set in `which` (bit `k`: needle `k`) occurs,
/// folded, at `p` of `hay` and ends before `end` (a candidate of the range ending there).
#[inline]
pub(super) fn found_at(needles: &[&[u8]], hay: &[u8], p: usize, which: u32, end: usize) -> bool {
    let room = &hay[p..end.min(hay.len())];
    let mut which = which;
    while which != 0 {
        let k = which.trailing_zeros() as usize;
        if needles.get(k).is_some_and(|n| found(n, room)) {
            return true;
        }
        which &= which - 1;
    }
    false
}

/// True when `needle` equals, folded, the start of `room`.
#[inline]
fn found(needle: &[u8], room: &[u8]) -> bool {
    needle.len() <= room.len() && needle.iter().zip(room).all(|(a, b)| fold(*a) == fold(*b))
}

/// Bytes every SQL text encoding the formats read keeps as they are: printable ASCII but
/// quotes and backslash (escaped by MySQL and in PostgreSQL `E''` and COPY text; in a
/// Latin-1 dump, non-ASCII characters are other bytes than in the UTF-8 original). The
/// definition [`changed_bytes`] implements (16 bytes at a time on x86_64).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn kept_verbatim(b: u8) -> bool {
    matches!(b, b' '..=b'~') && !matches!(b, b'\'' | b'"' | b'\\')
}

/// The longest run of `s` made of bytes an encoded dump keeps verbatim (`(start, end)` in
/// `s`; the first of the longest): every copy of `s` in a decoded value leaves this run,
/// unchanged, in the encoded text. Bytes are classified 16 at a time.
pub(super) fn verbatim_run(s: &[u8]) -> (usize, usize) {
    let (mut best, mut start) = ((0, 0), 0);
    let mut at = 0;
    while at < s.len() {
        // Bit `i`: byte `at + i` is not kept.
        let mut odd = changed_bytes(s, at);
        while odd != 0 {
            let i = at + odd.trailing_zeros() as usize;
            if i - start > best.1 - best.0 {
                best = (start, i);
            }
            start = i + 1;
            odd &= odd - 1;
        }
        at += 16;
    }
    if s.len() - start > best.1 - best.0 {
        best = (start, s.len());
    }
    best
}

/// Bit `i` set when byte `at + i` of `s` is not [kept verbatim](kept_verbatim), for the
/// bytes of `s` among the 16 from `at` (`at < s.len()`).
fn changed_bytes(s: &[u8], at: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 is part of x86_64.
        let block = if at + 16 <= s.len() {
            return sse2::changed(&s[at..at + 16]);
        } else if s.len() >= 16 {
            // The last 16 bytes, shifted to start at `at`.
            return sse2::changed(&s[s.len() - 16..]) >> (at + 16 - s.len());
        } else if at == 0 && s.len() >= 8 {
            // Fewer than 16 bytes: the first 8 and the last 8, which overlap.
            let m = sse2::changed_words(word(s, 0), word(s, s.len() - 8));
            return m & 0xff | (m >> 8) << (s.len() - 8);
        } else {
            let mut block = [b'a'; 16];
            block[..s.len() - at].copy_from_slice(&s[at..]);
            block
        };
        sse2::changed(&block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    s[at..]
        .iter()
        .take(16)
        .enumerate()
        .fold(0, |m, (i, &b)| m | u32::from(!kept_verbatim(b)) << i)
}

/// The 8 bytes of `s` at `at` as a little-endian word (`at + 8 <= s.len()`).
#[cfg(target_arch = "x86_64")]
#[inline]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_le_bytes(w)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    //! Byte classes with SSE2, which every x86_64 CPU has.

    use std::arch::x86_64::{
        __m128i, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };

    /// Bit `i` set when byte `i` of `block` (16 bytes) is not kept verbatim.
    #[inline]
    pub(super) fn changed(block: &[u8]) -> u32 {
        assert!(block.len() >= 16);
        // SAFETY: `block` holds at least 16 bytes (checked above); `loadu` has no alignment
        // requirement; every x86_64 CPU has SSE2.
        unsafe { changed_sse2(_mm_loadu_si128(block.as_ptr().cast())) }
    }

    /// Bit `i` set when byte `i` of the 16 bytes `low` then `high` (little-endian words) is
    /// not kept verbatim.
    #[inline]
    pub(super) fn changed_words(low: u64, high: u64) -> u32 {
        // SAFETY: every x86_64 CPU has SSE2.
        unsafe { changed_sse2(_mm_set_epi64x(high as i64, low as i64)) }
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn changed_sse2(x: __m128i) -> u32 {
        // Signed compares: bytes from 0x80 are negative, so below 0x20.
        let printable = _mm_andnot_si128(
            _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
            _mm_cmplt_epi8(x, _mm_set1_epi8(0x7f)),
        );
        let escaped = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\'' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8)),
            ),
            _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8)),
        );
        !(_mm_movemask_epi8(_mm_andnot_si128(escaped, printable)) as u32) & 0xffff
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 scans. Every function here is called only after `is_x86_feature_detected!`
    //! said the CPU has AVX2.

    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_or_si256, _mm256_set1_epi8,
        _mm256_setzero_si256,
    };

    use super::super::chunks::load;
    use super::super::ranges::{self, Fingerprint};
    use super::{any_portable, found_at, Hay, GROUP};

    /// [`super::any_within`] on a CPU with AVX2.
    pub(super) fn any_within(hay: Hay<'_>, needles: &[&[u8]]) -> bool {
        let Some(shortest) = ranges::simd_shortest(hay.bytes, needles) else {
            return any_portable(hay, needles);
        };
        // SAFETY: the caller checked that the CPU has AVX2; the haystack holds a chunk and
        // the pair's offset, which is below the shortest needle's length.
        unsafe {
            match needles.len() {
                1 => scan::<1>(hay, needles, shortest),
                2 => scan::<2>(hay, needles, shortest),
                3 => scan::<3>(hay, needles, shortest),
                _ => scan::<GROUP>(hay, needles, shortest),
            }
        }
    }

    /// The pair scan of the first `N` needles over the ranges of `hay`.
    ///
    /// # Safety
    /// The CPU has AVX2; `shortest` is [`ranges::simd_shortest`] of `hay` and `needles`.
    #[target_feature(enable = "avx2")]
    unsafe fn scan<const N: usize>(hay: Hay<'_>, needles: &[&[u8]], shortest: usize) -> bool {
        let d = shortest - 1;
        // A candidate's byte is all ones: any of the `N` needles (not the bits past them).
        let all = (1u32 << N) - 1;
        let mut verify = |p, which, end| found_at(needles, hay.bytes, p, which & all, end);
        // SAFETY: the caller's conditions are `ranges::any`'s.
        unsafe {
            ranges::any(
                &Pairs::<N>::new(needles, d),
                hay.bytes,
                hay.ranges,
                shortest,
                &mut verify,
            )
        }
    }

    /// The folded pair bytes of `N` needles, broadcast, and the offset of the second.
    struct Pairs<const N: usize> {
        first: [__m256i; N],
        second: [__m256i; N],
        d: usize,
    }

    impl<const N: usize> Pairs<N> {
        /// The pairs of the first `N` of `needles` (each longer than `d`).
        ///
        /// # Safety
        /// The CPU has AVX2.
        #[target_feature(enable = "avx2")]
        unsafe fn new(needles: &[&[u8]], d: usize) -> Pairs<N> {
            let mut pairs = Pairs::<N> {
                first: [_mm256_setzero_si256(); N],
                second: [_mm256_setzero_si256(); N],
                d,
            };
            for (k, n) in needles.iter().take(N).enumerate() {
                pairs.first[k] = _mm256_set1_epi8(super::fold(n[0]) as i8);
                pairs.second[k] = _mm256_set1_epi8(super::fold(n[d]) as i8);
            }
            pairs
        }
    }

    impl<const N: usize> Fingerprint for Pairs<N> {
        fn reach(&self) -> usize {
            self.d
        }

        /// Byte `i` all ones when the folded bytes at `p + i` and `p + i + d` are the pair
        /// of some needle.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn chunk(&self, hay: &[u8], p: usize) -> __m256i {
            let fold = _mm256_set1_epi8(0x20);
            // SAFETY: both loads are inside `hay` (the trait's promise).
            let (x, y) = unsafe { (load(hay, p), load(hay, p + self.d)) };
            let (x, y) = (_mm256_or_si256(x, fold), _mm256_or_si256(y, fold));
            let mut any = _mm256_setzero_si256();
            for k in 0..N {
                let both = _mm256_and_si256(
                    _mm256_cmpeq_epi8(x, self.first[k]),
                    _mm256_cmpeq_epi8(y, self.second[k]),
                );
                any = _mm256_or_si256(any, both);
            }
            any
        }
    }
}

/// The scans against their plain definitions.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// The definition: some needle equals, folded, a window of `hay` inside one range.
    fn naive(hay: &[u8], ranges: &[(usize, usize)], needles: &[&[u8]]) -> bool {
        ranges.iter().any(|&(s, e)| {
            needles.iter().any(|n| {
                hay[s..e]
                    .windows(n.len())
                    .any(|w| w.iter().zip(n.iter()).all(|(a, b)| fold(*a) == fold(*b)))
            })
        })
    }

    /// Bytes from a small alphabet: letters of both cases, bytes that fold onto letters or
    /// each other (`@`/`` ` ``, `[`/`{`), digits, a backslash, a space, non-ASCII bytes.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(b"abcABC@`[{0\\ n\xc3\xa9\x00".to_vec()),
            0..max,
        )
    }

    /// Sorted, disjoint ranges of a haystack of `len` bytes, from cut points.
    fn ranges_of(len: usize, cuts: &[prop::sample::Index]) -> Vec<(usize, usize)> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(len + 1)).collect();
        at.sort_unstable();
        at.chunks_exact(2).map(|c| (c[0], c[1])).collect()
    }

    /// Needles: windows of the haystack (their case flipped by `flips`), or random bytes.
    fn needles_of(
        hay: &[u8],
        picks: &[(prop::sample::Index, usize, u32, Vec<u8>)],
    ) -> Vec<Vec<u8>> {
        picks
            .iter()
            .map(|(at, len, flips, own)| {
                let len = (*len).clamp(2, 40);
                if hay.len() < len || own.len() >= 2 && flips % 3 == 0 {
                    return own.clone();
                }
                let s = at.index(hay.len() - len + 1);
                hay[s..s + len]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        if flips >> (i % 32) & 1 == 1 {
                            b ^ 0x20
                        } else {
                            *b
                        }
                    })
                    .collect()
            })
            .filter(|n: &Vec<u8>| n.len() >= 2)
            .collect()
    }

    /// A haystack, its ranges and the needles looked for.
    type Case = (Vec<u8>, Vec<(usize, usize)>, Vec<Vec<u8>>);

    fn case() -> impl Strategy<Value = Case> {
        (
            bytes(400),
            prop::collection::vec(any::<prop::sample::Index>(), 0..9),
            prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    0..14usize,
                    any::<u32>(),
                    bytes(6),
                ),
                1..=GROUP,
            ),
        )
            .prop_map(|(hay, cuts, picks)| {
                let ranges = ranges_of(hay.len(), &cuts);
                let needles = needles_of(&hay, &picks);
                (hay, ranges, needles)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn any_within_is_its_definition((hay, ranges, needles) in case()) {
            let needles: Vec<&[u8]> = needles.iter().map(Vec::as_slice).collect();
            let within = Hay { bytes: &hay, ranges: &ranges };
            let expected = naive(&hay, &ranges, &needles);
            prop_assert_eq!(any_within(within, &needles), expected);
            prop_assert_eq!(any_portable(within, &needles), expected);
        }
    }

    /// The definition of [`verbatim_run`]: the first of the longest runs of kept bytes.
    fn naive_run(s: &[u8]) -> (usize, usize) {
        let (mut best, mut start) = ((0, 0), 0);
        for (i, &b) in s.iter().enumerate() {
            if !kept_verbatim(b) {
                start = i + 1;
            } else if i + 1 - start > best.1 - best.0 {
                best = (start, i + 1);
            }
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn verbatim_run_is_its_definition(
            s in prop::collection::vec(
                prop_oneof![
                    4 => prop::sample::select(b"abcXYZ @.-_~ ".to_vec()),
                    1 => any::<u8>(),
                    1 => prop::sample::select(b"\'\"\\\x1f\x7f\x80\xff".to_vec()),
                ],
                0..70,
            )
        ) {
            prop_assert_eq!(verbatim_run(&s), naive_run(&s));
        }
    }

    #[test]
    fn a_match_across_two_ranges_does_not_count() {
        let hay = b"xx Whit|field yy and some more text to fill a chunk of AVX2 lanes";
        let needle: &[&[u8]] = &[b"whitfield"];
        let split = Hay {
            bytes: hay,
            ranges: &[(0, 7), (7, hay.len())],
        };
        assert!(!any_within(split, needle));
        let hay = b"xx Whitfield yy and some more text to fill a chunk of AVX2 lanes";
        assert!(!any_within(
            Hay {
                bytes: hay,
                ranges: &[(0, 7), (7, hay.len())]
            },
            needle
        ));
        assert!(any_within(
            Hay {
                bytes: hay,
                ranges: &[(0, 12), (14, hay.len())]
            },
            needle
        ));
        assert!(!any_within(
            Hay {
                bytes: hay,
                ranges: &[(0, 11), (14, hay.len())]
            },
            needle
        ));
    }
}
