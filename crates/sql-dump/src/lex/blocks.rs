//! [`super::tuple::scan_split`] on a CPU with AVX2, for plain tuples: the tuple is
//! classified 64 bytes at a time into bit masks (quotes, backslashes, commas, `)`, the
//! other bytes the scan stops at), backslash escapes are found from the backslashes' mask,
//! its strings are the bytes after an odd number of unescaped quotes, and only its commas
//! are visited one by one. A tuple with a backslash outside its strings (or any backslash
//! where strings do not all take escapes), or with another byte the scan stops at outside
//! its strings, is left to the portable scan (branch tuple27 in docs/performance.md).

#![cfg(target_arch = "x86_64")]

use anonymize_core::escaped_bytes;
use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
    _mm256_set1_epi8, _mm256_setr_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8,
    _mm256_slli_epi16, _mm256_srli_epi16,
};

/// Bytes classified at once.
const BLOCK: usize = 64;

/// Class bits of a byte, from a table of its low nibble ANDed with one of its high nibble.
/// `'` (bit 7: the byte's sign, what `movemask` takes; the other single-byte classes are
/// shifted there before their masks are taken).
const QUOTE: i8 = i8::MIN;
/// `\`.
const BSLASH: i8 = 0x40;
/// `,`.
const COMMA: i8 = 0x20;
/// `)`.
const RPAREN: i8 = 0x10;
/// `"#$(-/`: the other bytes of high nibble 2 the scan stops at.
const PUNCT: i8 = 0x01;
/// `;`.
const SEMI: i8 = 0x02;
/// The backtick.
const TICK: i8 = 0x04;
/// The bytes that send a tuple to the portable scan when outside its strings (with `\`
/// anywhere in it): a nested `(`, another quote, a comment start, a `$`, a `;`, a `-`.
const OTHER: i8 = PUNCT | SEMI | TICK;

/// The low-nibble table (`LOW[b & 15]`).
const LOW: [i8; 16] = [
    TICK,           // 0x60 `
    0,              //
    PUNCT,          // 0x22 "
    PUNCT,          // 0x23 #
    PUNCT,          // 0x24 $
    0,              //
    0,              //
    QUOTE,          // 0x27 '
    PUNCT,          // 0x28 (
    RPAREN,         // 0x29 )
    0,              //
    SEMI,           // 0x3b ;
    COMMA | BSLASH, // 0x2c , and 0x5c \
    PUNCT,          // 0x2d -
    0,              //
    PUNCT,          // 0x2f /
];

/// The high-nibble table (`HIGH[b >> 4]`); a byte above 0x7f finds 0 in the low table.
const HIGH: [i8; 16] = [
    0,
    0,
    PUNCT | QUOTE | COMMA | RPAREN,
    SEMI,
    0,
    BSLASH,
    TICK,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
];

/// The classes of one 64-byte block: bit `k` for the byte at the block's start + `k`.
#[derive(Clone, Copy, Default)]
struct Masks {
    quote: u64,
    bslash: u64,
    comma: u64,
    rparen: u64,
    /// [`OTHER`] bytes.
    other: u64,
}

/// A table of 16 entries in both lanes of a vector.
#[inline]
#[target_feature(enable = "avx2")]
fn table(t: &[i8; 16]) -> __m256i {
    _mm256_setr_epi8(
        t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11], t[12], t[13],
        t[14], t[15], t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11],
        t[12], t[13], t[14], t[15],
    )
}

/// The classes of the 32 bytes at `p`, as [`Masks`] of 32 bits.
///
/// # Safety
/// `p..p + 32` is readable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn classify32(p: *const u8) -> [u32; 5] {
    // SAFETY: the caller's promise; `loadu` takes unaligned addresses.
    let v = unsafe { _mm256_loadu_si256(p.cast::<__m256i>()) };
    // A byte above 0x7f has its sign set: `shuffle` gives 0 for it.
    let low = _mm256_shuffle_epi8(table(&LOW), v);
    let high_nibbles = _mm256_and_si256(_mm256_srli_epi16::<4>(v), _mm256_set1_epi8(0x0f));
    let high = _mm256_shuffle_epi8(table(&HIGH), high_nibbles);
    let class = _mm256_and_si256(low, high);
    // Bit 7 - N of each byte to bit 7 (a 16-bit shift: the bits crossing into the next
    // byte land below its bit 7, which is the only one read).
    let bit = |m: __m256i| _mm256_movemask_epi8(m) as u32;
    let zero = _mm256_setzero_si256();
    let no_other = _mm256_cmpeq_epi8(_mm256_and_si256(class, _mm256_set1_epi8(OTHER)), zero);
    [
        bit(class),
        bit(_mm256_slli_epi16::<1>(class)),
        bit(_mm256_slli_epi16::<2>(class)),
        bit(_mm256_slli_epi16::<3>(class)),
        !bit(no_other),
    ]
}

/// The classes of the block of `data` starting at `base` (`base < data.len()`); bytes past
/// the end of `data` are in no class.
#[inline]
#[target_feature(enable = "avx2")]
fn classify(data: &[u8], base: usize) -> Masks {
    let (lo, hi) = match data.get(base..base + BLOCK) {
        // SAFETY: `b` holds 64 bytes.
        Some(b) => unsafe { (classify32(b.as_ptr()), classify32(b.as_ptr().add(32))) },
        None => {
            let mut pad = [0u8; BLOCK];
            let rest = &data[base..];
            pad[..rest.len()].copy_from_slice(rest);
            // SAFETY: `pad` holds 64 bytes.
            unsafe { (classify32(pad.as_ptr()), classify32(pad.as_ptr().add(32))) }
        }
    };
    let join = |k: usize| u64::from(lo[k]) | u64::from(hi[k]) << 32;
    Masks {
        quote: join(0),
        bslash: join(1),
        comma: join(2),
        rparen: join(3),
        other: join(4),
    }
}

/// Bit `k` set when an odd number of bits `0..=k` of `x` are.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// What the block scan says about a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Blocks {
    /// [`super::tuple::scan_split`]'s answer.
    Answer(Option<usize>),
    /// The tuple holds a backslash outside its strings (or anywhere, where strings do not
    /// all take backslash escapes), or outside its strings a byte other than `,` and `)`
    /// that the scan stops at: the portable scan must answer.
    Unplain,
}

/// [`super::tuple::scan_split`]'s walk (after its checks of the first byte and the
/// delimiter) for a tuple whose strings are `'...'` and whose other bytes the scan stops at
/// are its commas and its closing `)`, on a CPU with AVX2. Strings are found from the masks
/// alone: where every string takes backslash escapes (`escapes`: MySQL, or PostgreSQL with
/// `standard_conforming_strings` off), the bytes after an odd run of backslashes are escaped
/// and an escaped quote is no quote; the strings are then the bytes after an odd number of
/// quotes (a doubled quote `''` closes and reopens its string, which is the same). Backslash
/// escapes are taken everywhere, so a backslash found outside the strings sends the tuple to
/// the portable scan (up to the first backslash the two walks agree, and that one is inside
/// a string for both, so with every backslash inside a string they agree throughout). Where
/// strings do not all take escapes, any backslash sends it there. A tuple is first walked
/// without escapes; only one with a backslash before its end is walked again with them. The
/// only bytes visited one by one are the tuple's commas.
///
/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn scan_split(
    data: &[u8],
    escapes: bool,
    spans: &mut Vec<(usize, usize)>,
) -> Blocks {
    match walk::<false>(data, spans) {
        Walked::Answer(end) => Blocks::Answer(end),
        // Read again, with escapes (most tuples hold no backslash: their walk never tests
        // for escapes).
        Walked::Backslash if escapes => {
            spans.clear();
            match walk::<true>(data, spans) {
                Walked::Answer(end) => Blocks::Answer(end),
                Walked::Backslash | Walked::Unplain => Blocks::Unplain,
            }
        }
        Walked::Backslash | Walked::Unplain => Blocks::Unplain,
    }
}

/// What one walk found.
enum Walked {
    /// The tuple's end (`None`: not in the data) and its spans.
    Answer(Option<usize>),
    /// A backslash before the tuple's end, in a walk without escapes.
    Backslash,
    /// [`Blocks::Unplain`].
    Unplain,
}

/// [`scan_split`]'s walk, with backslash escapes in every string (`ESCAPES`) or none (a
/// backslash then stops it: [`Walked::Backslash`]).
#[inline]
#[target_feature(enable = "avx2")]
fn walk<const ESCAPES: bool>(data: &[u8], spans: &mut Vec<(usize, usize)>) -> Walked {
    let mut start = 1;
    let mut base = 0;
    // All ones when the block starts inside a string.
    let mut inside = 0u64;
    // 1 when the block's first byte is escaped.
    let mut carry = 0u64;
    while base < data.len() {
        let m = classify(data, base);
        let quotes = match ESCAPES {
            true if m.bslash | carry == 0 => m.quote,
            true => m.quote & !escaped_bytes(m.bslash, &mut carry),
            false => m.quote,
        };
        // Opening quotes and string bodies; a closing quote is in `quotes`.
        let strings = prefix_xor(quotes) ^ inside;
        let outside = !(strings | quotes);
        // The byte at 0 is the tuple's `(`.
        let own = if base == 0 { !1 } else { u64::MAX };
        let ends = m.rparen & outside & own;
        // The bytes up to the tuple's `)` (the block when it does not end in it).
        let upto = match ends {
            0 => u64::MAX,
            e => e ^ (e - 1),
        };
        // Without escapes a backslash anywhere stops the walk, with them one outside the
        // strings; another stop byte outside the strings stops both (one test a block).
        let stops = match ESCAPES {
            false => m.bslash | m.other & outside & own,
            true => (m.bslash | m.other & own) & outside,
        };
        if stops & upto != 0 {
            return match !ESCAPES && m.bslash & upto != 0 {
                true => Walked::Backslash,
                false => Walked::Unplain,
            };
        }
        let mut commas = m.comma & outside & upto;
        while commas != 0 {
            let k = base + commas.trailing_zeros() as usize;
            spans.push((start, k));
            start = k + 1;
            commas &= commas - 1;
        }
        if ends != 0 {
            let k = base + ends.trailing_zeros() as usize;
            spans.push((start, k));
            return Walked::Answer(Some(k + 1));
        }
        inside = ((strings as i64) >> 63) as u64;
        base += BLOCK;
    }
    Walked::Answer(None)
}
