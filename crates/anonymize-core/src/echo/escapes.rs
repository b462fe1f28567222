//! The echo guard's check for backslash escapes its pre-check cannot read (issue 23.4):
//! in a row's values as an SQL dump writes them, an escape other than the ones dump tools
//! write (`\x68`, an octal escape, MySQL's `\h` for `h`) could spell an original's letters,
//! so such a row is decoded and searched value by value instead.
//!
//! With AVX2 (detected at run time) each 32-byte chunk is read twice, at `p` and `p + 1`:
//! the backslashes of the first load, less those whose next byte (the second load) is a
//! [regular second byte](REGULAR_NEXT) looked up in two nibble tables, are the candidates;
//! only they are read one by one (their parity in a run of backslashes decides whether they
//! begin an escape). The generated and real text the guard searches holds backslashes
//! mostly in regular escapes (`\n`, `\\`, `\'`), so candidates are rare.

/// Whether `range` of `hay` holds a backslash escape other than the ones dump tools write
/// for quotes, backslashes and control characters (`\\`, `\'`, `\"`, `\0`, `\n`, `\r`,
/// `\t`, `\b`, `\f`, `\v`, `\Z`, `\N`, `\%`, `\_`), e.g. `\x68`, an octal escape or MySQL's
/// `\h` for `h`: such escapes could spell an original's letters. The byte after the last
/// one of the range is read from `hay` as the escape's second byte.
pub(super) fn irregular_escape(hay: &[u8], (start, end): (usize, usize)) -> bool {
    let end = end.min(hay.len());
    if start >= end {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return avx2::irregular_escape(hay, (start, end));
    }
    irregular_portable(hay, (start, end))
}

/// [`irregular_escape`] with `memchr` (any CPU); `start < end <= hay.len()`.
fn irregular_portable(hay: &[u8], (start, end): (usize, usize)) -> bool {
    let mut escapes = Escapes::default();
    memchr::memchr_iter(b'\\', &hay[start..end]).any(|i| escapes.irregular(hay, start + i))
}

/// Second bytes of the escapes dump tools write, besides `\\` (`\0` is one unless a digit
/// follows: an octal escape).
const REGULAR_BYTES: &[u8] = b"'\"0nrtbfvZN%_";

/// [`REGULAR_BYTES`] as a table.
static REGULAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < REGULAR_BYTES.len() {
        table[REGULAR_BYTES[i] as usize] = true;
        i += 1;
    }
    table
};

/// True when a backslash followed by `b` needs no closer look: `b` is a regular second
/// byte other than `0` (which may begin an octal escape), or a backslash (either `\\`, or
/// the second byte of one). The definition the SIMD lookup ([`NIBBLES`]) implements.
#[cfg(any(test, target_arch = "x86_64"))]
const fn regular_next(b: u8) -> bool {
    b == b'\\' || (b != b'0' && REGULAR[b as usize])
}

/// The reading of a range's backslashes, in order.
#[derive(Default)]
struct Escapes {
    /// The last backslash began `\\`: the next one is its second byte.
    escaped: bool,
}

impl Escapes {
    /// True when the backslash at `i` of `hay` begins an escape dump tools do not write.
    #[inline]
    fn irregular(&mut self, hay: &[u8], i: usize) -> bool {
        if self.escaped {
            self.escaped = false;
            return false;
        }
        match hay.get(i + 1) {
            None => false,
            Some(b'\\') => {
                self.escaped = true;
                false
            }
            Some(b'0') => hay.get(i + 2).is_some_and(u8::is_ascii_digit),
            Some(&c) => !REGULAR[c as usize],
        }
    }
}

/// True when the backslash at `i` (inside the range starting at `start`) begins an escape
/// dump tools do not write, read without the backslashes before it: a backslash begins an
/// escape when the run of backslashes just before it, within the range, is even (a run
/// starts after a byte that is plain text or the second byte of an escape, and its
/// backslashes pair up from its start), as [`Escapes::irregular`] reads it in order.
#[cfg(any(test, target_arch = "x86_64"))]
fn irregular_at(hay: &[u8], start: usize, i: usize) -> bool {
    let run = hay[start..i]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    run % 2 == 0 && Escapes::default().irregular(hay, i)
}

/// Nibble tables for [`regular_next`]: byte `b` is such a byte when
/// `LOW[b & 15] & HIGH[b >> 4]` is not zero (one bit per high nibble among the regular
/// bytes').
#[cfg(any(test, target_arch = "x86_64"))]
struct Nibbles {
    low: [u8; 16],
    high: [u8; 16],
}

/// The nibble tables of [`regular_next`], built from it (test `nibbles_are_regular_next`
/// checks all 256 bytes).
#[cfg(any(test, target_arch = "x86_64"))]
const NIBBLES: Nibbles = {
    let mut t = Nibbles {
        low: [0; 16],
        high: [0; 16],
    };
    // One bit per high nibble that has a regular byte (at most 8 of them).
    let mut next_bit = 0;
    let mut hi = 0;
    while hi < 8 {
        let mut lo = 0;
        let mut any = false;
        while lo < 16 {
            if regular_next((hi * 16 + lo) as u8) {
                any = true;
            }
            lo += 1;
        }
        if any {
            let bit = 1u8 << next_bit;
            next_bit += 1;
            t.high[hi] = bit;
            let mut lo = 0;
            while lo < 16 {
                if regular_next((hi * 16 + lo) as u8) {
                    t.low[lo] |= bit;
                }
                lo += 1;
            }
        }
        hi += 1;
    }
    t
};

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 reading. Every function here is called only after `is_x86_feature_detected!`
    //! said the CPU has AVX2.

    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
        _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
    };

    use super::{irregular_at, NIBBLES};

    /// Bytes a chunk holds.
    const LANES: usize = 32;

    /// [`super::irregular_escape`] on a CPU with AVX2; `start < end <= hay.len()`.
    pub(super) fn irregular_escape(hay: &[u8], (start, end): (usize, usize)) -> bool {
        if end < start + LANES {
            return super::irregular_portable(hay, (start, end));
        }
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe { escapes(hay, (start, end)) }
    }

    /// Loads 32 bytes of `hay` at `p`.
    ///
    /// # Safety
    /// `p + 32 <= hay.len()`, and the CPU has AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(hay: &[u8], p: usize) -> __m256i {
        debug_assert!(p + LANES <= hay.len());
        // SAFETY: the 32 bytes at `p` are inside `hay` (the caller's promise); `loadu` has
        // no alignment requirement.
        unsafe { _mm256_loadu_si256(hay.as_ptr().add(p).cast()) }
    }

    /// A 16-byte table broadcast to both lanes of a vector (`vpshufb` looks up per lane).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn table(t: &[u8; 16]) -> __m256i {
        let mut both = [0u8; 32];
        both[..16].copy_from_slice(t);
        both[16..].copy_from_slice(t);
        // SAFETY: `both` holds 32 bytes.
        unsafe { _mm256_loadu_si256(both.as_ptr().cast()) }
    }

    /// The lookups of one scan.
    struct Classes {
        backslash: __m256i,
        low: __m256i,
        high: __m256i,
        nibble: __m256i,
    }

    impl Classes {
        #[inline]
        #[target_feature(enable = "avx2")]
        fn new() -> Classes {
            Classes {
                backslash: _mm256_set1_epi8(b'\\' as i8),
                low: table(&NIBBLES.low),
                high: table(&NIBBLES.high),
                nibble: _mm256_set1_epi8(0x0f),
            }
        }

        /// Candidates among the 32 positions from `p`: bit `i` set when byte `p + i` is a
        /// backslash and byte `p + i + 1` is not a [regular next byte](super::regular_next)
        /// (every backslash when the byte after the chunk is past `hay`).
        ///
        /// # Safety
        /// The CPU has AVX2; `p + 32 <= hay.len()`.
        #[inline]
        #[target_feature(enable = "avx2")]
        unsafe fn candidates(&self, hay: &[u8], p: usize) -> u32 {
            // SAFETY: `p + 32 <= hay.len()` (the caller's promise).
            let x = unsafe { load(hay, p) };
            let backslashes = _mm256_movemask_epi8(_mm256_cmpeq_epi8(x, self.backslash)) as u32;
            if backslashes == 0 || p + 1 + LANES > hay.len() {
                return backslashes;
            }
            // SAFETY: `p + 1 + 32 <= hay.len()` (checked above).
            let y = unsafe { load(hay, p + 1) };
            let low = _mm256_shuffle_epi8(self.low, _mm256_and_si256(y, self.nibble));
            let high = _mm256_shuffle_epi8(
                self.high,
                _mm256_and_si256(_mm256_srli_epi16(y, 4), self.nibble),
            );
            let not_regular =
                _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256());
            backslashes & _mm256_movemask_epi8(not_regular) as u32
        }
    }

    /// # Safety
    /// The CPU has AVX2; `start + 32 <= end <= hay.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn escapes(hay: &[u8], (start, end): (usize, usize)) -> bool {
        let classes = Classes::new();
        let mut p = start;
        while p + LANES <= end {
            // SAFETY: `p + 32 <= end <= hay.len()`.
            let m = unsafe { classes.candidates(hay, p) };
            if m != 0 && any(m, p, hay, start) {
                return true;
            }
            p += LANES;
        }
        if p == end {
            return false;
        }
        // The last chunk overlaps the one before: its positions already read are masked off.
        let q = end - LANES;
        // SAFETY: `q + 32 == end <= hay.len()`.
        let m = unsafe { classes.candidates(hay, q) } & (u32::MAX << (p - q));
        m != 0 && any(m, q, hay, start)
    }

    /// True when a candidate of `mask` (positions `p + i`) begins an irregular escape.
    #[inline]
    fn any(mut mask: u32, p: usize, hay: &[u8], start: usize) -> bool {
        while mask != 0 {
            if irregular_at(hay, start, p + mask.trailing_zeros() as usize) {
                return true;
            }
            mask &= mask - 1;
        }
        false
    }
}

/// The reading against its plain definition.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// The definition of [`irregular_escape`]: the backslashes of the range in order, each
    /// either the second of `\\` or followed by a regular escape letter.
    fn naive_irregular(hay: &[u8], (s, e): (usize, usize)) -> bool {
        let mut i = s;
        while i < e {
            if hay[i] == b'\\' {
                match hay.get(i + 1) {
                    Some(b'0') if hay.get(i + 2).is_some_and(u8::is_ascii_digit) => return true,
                    Some(b'\\') => i += 1,
                    Some(
                        b'\'' | b'"' | b'0' | b'n' | b'r' | b't' | b'b' | b'f' | b'v' | b'Z' | b'N'
                        | b'%' | b'_',
                    )
                    | None => {}
                    Some(_) => return true,
                }
            }
            i += 1;
        }
        false
    }

    /// Bytes from a small alphabet: backslashes (often, in runs), regular second bytes,
    /// bytes whose nibbles are a regular byte's (`R` shares `r`'s low nibble, `a` `b`'s
    /// high one), digits, letters, non-ASCII bytes.
    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                3 => Just(b'\\'),
                3 => prop::sample::select(b"'\"0nrtbfvZN%_".to_vec()),
                2 => prop::sample::select(b"abcR7x1 \xc3\xa9\x00\xae\xee".to_vec()),
            ],
            0..max,
        )
    }

    /// Text where irregular escapes are rare: plain bytes and regular escapes (`\0` among
    /// them, before digits too), with at most two pieces that may begin one inserted
    /// (`\07`, `\x`, a lone backslash, `\\\q`), so that a chunk's one irregular
    /// escape decides the answer.
    fn sparse(max: usize) -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            4 => prop::sample::select(b"abcR7x1 0\xc3\xa9\x00".to_vec()).prop_map(|b| vec![b]),
            2 => prop::sample::select(vec![&b"\\n"[..], b"\\\\", b"\\'", b"\\0", b"\\_", b"\\Z"])
                .prop_map(<[u8]>::to_vec),
        ];
        let odd = prop::sample::select(vec![&b"\\07"[..], b"\\x", b"\\", b"\\\\\\q", b"\\01"]);
        (
            prop::collection::vec(token, 0..max),
            prop::collection::vec((any::<prop::sample::Index>(), odd), 0..3),
        )
            .prop_map(|(tokens, odd)| {
                let mut tokens = tokens;
                for (at, piece) in odd {
                    let i = at.index(tokens.len() + 1);
                    tokens.insert(i, piece.to_vec());
                }
                tokens.concat()
            })
    }

    #[test]
    fn nibbles_are_regular_next() {
        for b in 0..=255u8 {
            let looked_up = NIBBLES.low[usize::from(b & 15)] & NIBBLES.high[usize::from(b >> 4)];
            assert_eq!(looked_up != 0, regular_next(b), "byte {b:#04x}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn irregular_escape_is_its_definition(
            hay in prop_oneof![bytes(300), sparse(200)],
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 2),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(hay.len() + 1)).collect();
            cuts.sort_unstable();
            let range = (cuts[0], cuts[1]);
            let expected = naive_irregular(&hay, range);
            prop_assert_eq!(irregular_escape(&hay, range), expected);
            if range.0 < range.1 {
                prop_assert_eq!(irregular_portable(&hay, range), expected);
            }
        }

        #[test]
        fn irregular_at_reads_like_the_ordered_pass(
            hay in bytes(80),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 2),
        ) {
            // Each backslash read alone gives what the in-order reading gives.
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(hay.len() + 1)).collect();
            cuts.sort_unstable();
            let (s, e) = (cuts[0], cuts[1]);
            let mut escapes = Escapes::default();
            for i in s..e {
                if hay[i] == b'\\' {
                    prop_assert_eq!(irregular_at(&hay, s, i), escapes.irregular(&hay, i));
                }
            }
        }
    }
}
