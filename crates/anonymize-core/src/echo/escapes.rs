//! The echo guard's check for backslash escapes its pre-check cannot read (issue 23.4):
//! in a row's values as an SQL dump writes them, an escape other than the ones dump tools
//! write (`\x68`, an octal escape, MySQL's `\h` for `h`) could spell an original's letters,
//! so such a row is decoded and searched value by value instead.
//!
//! With AVX2 (detected at run time) a range is read 64 bytes at a time: its backslashes as
//! one bit mask, from which [`escaped_bytes`] finds the bytes escapes escape (runs of
//! backslashes paired off as JSON parsers do, without a branch); only the escaped bytes that
//! are not themselves backslashes are then looked up one by one. Elsewhere `memchr` finds
//! the backslashes and they are read in order. (Finding only the backslashes not followed by
//! a regular second byte with a nibble-table lookup cost more instructions on the
//! benchmark's text: docs/performance.md, branch echo25.)

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

/// Whether the byte at `j` of `hay`, escaped by the backslash before it, makes an escape dump
/// tools do not write (nothing there: no escape).
#[cfg(target_arch = "x86_64")]
#[inline]
fn irregular_second(hay: &[u8], j: usize) -> bool {
    match hay.get(j) {
        None | Some(b'\\') => false,
        Some(b'0') => hay.get(j + 1).is_some_and(u8::is_ascii_digit),
        Some(&c) => !REGULAR[c as usize],
    }
}

/// The escaped bytes of a 64-byte block of backslash-escaped text whose backslashes are the
/// bits of `backslashes` (bit `j`: byte `j`): bit `j` of the result is set when byte `j`
/// follows a backslash that begins an escape (each run of backslashes read in pairs from its
/// start, so the second of `\\` begins no escape, and is itself escaped). `carry` (0 or 1)
/// says whether the block's first byte is escaped (the previous block ended in an escape's
/// backslash) and is set for the next block the same way. The branchless pairing of
/// simdjson's `json_escape_scanner`; a subtraction carries each run of backslashes to its
/// end. Shared by the echo guard's escape check and the SQL reader's block scan of INSERT
/// tuples.
#[inline]
pub fn escaped_bytes(backslashes: u64, carry: &mut u64) -> u64 {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    let potential = backslashes & !*carry;
    // Bits after a backslash that begins an escape, and the backslashes that do.
    let escape_and_terminal = (((potential << 1) | ODD_BITS).wrapping_sub(potential)) ^ ODD_BITS;
    let escaped = escape_and_terminal ^ (backslashes | *carry);
    *carry = (escape_and_terminal & backslashes) >> 63;
    escaped
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

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 reading. Every function here is called only after `is_x86_feature_detected!`
    //! said the CPU has AVX2.

    use std::arch::x86_64::{_mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_set1_epi8};

    use super::super::chunks::{load, LANES};
    use super::{escaped_bytes, irregular_second};

    /// Bytes a block holds.
    const BLOCK: usize = 2 * LANES;

    /// [`super::irregular_escape`] on a CPU with AVX2; `start < end <= hay.len()`.
    pub(super) fn irregular_escape(hay: &[u8], (start, end): (usize, usize)) -> bool {
        if end < start + LANES {
            return super::irregular_portable(hay, (start, end));
        }
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe { escapes(hay, (start, end)) }
    }

    /// # Safety
    /// The CPU has AVX2; `start < end <= hay.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn escapes(hay: &[u8], (start, end): (usize, usize)) -> bool {
        let mut carry = 0;
        let mut p = start;
        while p + BLOCK <= end {
            // SAFETY: `p + 64 <= end <= hay.len()`.
            let backslashes = unsafe { backslashes(hay, p) };
            if irregular_in(hay, p, backslashes, &mut carry) {
                return true;
            }
            p += BLOCK;
        }
        if p < end {
            // The last part of the range, shorter than a block, read from a copy padded with
            // bytes that are no backslashes; its escaped bytes are still read from `hay`.
            let mut block = [0u8; BLOCK];
            block[..end - p].copy_from_slice(&hay[p..end]);
            // SAFETY: `block` holds 64 bytes.
            let backslashes = unsafe { backslashes(&block, 0) };
            return irregular_in(hay, p, backslashes, &mut carry);
        }
        // The range ends with an escape's backslash: its second byte is the one after the range.
        carry != 0 && irregular_second(hay, end)
    }

    /// Bit `i` set when byte `p + i` of `hay` is a backslash, for the 64 bytes from `p`.
    ///
    /// # Safety
    /// The CPU has AVX2; `p + 64 <= hay.len()`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn backslashes(hay: &[u8], p: usize) -> u64 {
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        // SAFETY: both 32-byte loads end at most at `p + 64 <= hay.len()`.
        let (x, y) = unsafe { (load(hay, p), load(hay, p + LANES)) };
        let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(x, backslash)) as u32;
        let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(y, backslash)) as u32;
        u64::from(low) | u64::from(high) << 32
    }

    /// True when an escape of the block at `p` of `hay` whose backslashes are `backslashes`
    /// is irregular; the block's last escape, if it began at its last byte, is read with the
    /// next block (`carry`), or at the end of the range by the caller.
    #[inline]
    fn irregular_in(hay: &[u8], p: usize, backslashes: u64, carry: &mut u64) -> bool {
        // `\\` is regular: only escaped bytes that are no backslashes are read.
        let mut escaped = escaped_bytes(backslashes, carry) & !backslashes;
        // Every escaped byte is read, without a branch on each: the escapes of the
        // benchmark's text are one every 30 bytes and never irregular.
        let mut irregular = false;
        while escaped != 0 {
            irregular |= irregular_second(hay, p + escaped.trailing_zeros() as usize);
            escaped &= escaped - 1;
        }
        irregular
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

    /// The definition of [`escaped_bytes`] over blocks: each backslash not escaped itself
    /// escapes the next byte, read in order from the first block's start (`carry` in).
    #[cfg(target_arch = "x86_64")]
    fn naive_escaped(blocks: &[u64], carry: bool) -> Vec<u64> {
        let mut next_escaped = carry;
        let mut out = vec![0; blocks.len()];
        for (k, &b) in blocks.iter().enumerate() {
            for i in 0..64 {
                if next_escaped {
                    out[k] |= 1 << i;
                    next_escaped = false;
                } else if b >> i & 1 == 1 {
                    next_escaped = true;
                }
            }
        }
        out
    }

    /// A range whose length is a whole number of blocks and whose last byte begins an
    /// escape: its second byte is the one after the range.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_escape_at_a_block_end_reads_the_byte_after() {
        // 63 bytes, then `\x` from byte 63: the range ends after the backslash.
        let mut hay = vec![b'a'; 63];
        hay.extend_from_slice(b"\\x");
        assert!(irregular_escape(&hay, (0, 64)));
        hay[64] = b'n';
        assert!(!irregular_escape(&hay, (0, 64)));
        // `\\` at bytes 62 and 63: the range's last backslash is escaped itself.
        hay[62] = b'\\';
        hay[64] = b'x';
        assert!(!irregular_escape(&hay, (0, 64)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[cfg(target_arch = "x86_64")]
        #[test]
        fn escaped_bytes_is_its_definition(
            blocks in prop::collection::vec(
                prop_oneof![any::<u64>(), Just(u64::MAX), Just(1 << 63), any::<u64>().prop_map(|b| b | 0xff << 56)],
                1..4,
            ),
            carry in any::<bool>(),
        ) {
            let mut c = u64::from(carry);
            let got: Vec<u64> = blocks.iter().map(|&b| escaped_bytes(b, &mut c)).collect();
            prop_assert_eq!(got, naive_escaped(&blocks, carry));
        }

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
