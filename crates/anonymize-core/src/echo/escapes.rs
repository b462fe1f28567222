//! The echo guard's check for backslash escapes its pre-check cannot read (issue 23.4):
//! in a row's values as an SQL dump writes them, an escape other than the ones dump tools
//! write (`\x68`, an octal escape, MySQL's `\h` for `h`) could spell an original's letters,
//! so such a row is decoded and searched value by value instead.
//!
//! With AVX2 (detected at run time) the backslashes are found 32 bytes at a time and read
//! in order; elsewhere `memchr` finds them. (Finding only the backslashes not followed by a
//! regular second byte with a nibble-table lookup, to read fewer of them, cost more
//! instructions on the benchmark's text: docs/performance.md, branch echo25.)

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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 reading. Every function here is called only after `is_x86_feature_detected!`
    //! said the CPU has AVX2.

    use std::arch::x86_64::{_mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_set1_epi8};

    use super::super::chunks::{each, load, LANES};
    use super::Escapes;

    /// [`super::irregular_escape`] on a CPU with AVX2; `start < end <= hay.len()`.
    pub(super) fn irregular_escape(hay: &[u8], (start, end): (usize, usize)) -> bool {
        if end < start + LANES {
            return super::irregular_portable(hay, (start, end));
        }
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe { escapes(hay, (start, end)) }
    }

    /// # Safety
    /// The CPU has AVX2; `start + 32 <= end <= hay.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn escapes(hay: &[u8], (start, end): (usize, usize)) -> bool {
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let mut escapes = Escapes::default();
        let mut at = |i| escapes.irregular(hay, i);
        let mut p = start;
        while p + LANES <= end {
            // SAFETY: `p + 32 <= end <= hay.len()`.
            let x = unsafe { load(hay, p) };
            let mask = _mm256_movemask_epi8(_mm256_cmpeq_epi8(x, backslash)) as u32;
            if each(mask, p, &mut at) {
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
        let x = unsafe { load(hay, q) };
        let mask = _mm256_movemask_epi8(_mm256_cmpeq_epi8(x, backslash)) as u32;
        each(mask & (u32::MAX << (p - q)), q, &mut at)
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
    }
}
