//! A keyed permutation of the integers for `hash` and `hmac` (issue 18.6): distinct integers
//! always give distinct integers, and every integer stays in its *band*, so it keeps its sign
//! and still fits every integer type it fitted before (an `int32` stays an `int32`, a value of
//! a SQL `SMALLINT UNSIGNED` column stays in `0..=65535`, whatever the column's declared type).
//!
//! Bands of the magnitude `m` (`m = v` for `v >= 0`, `m = !v = -v - 1` for negative `v`, so
//! that `-128..=-1` maps onto `0..=127` like a signed 8-bit type):
//! `[0, 2^7)`, `[2^7, 2^8)`, `[2^15 …`, … up to `[2^32, 2^63)`, and for unsigned 64-bit
//! text values `[2^63, 2^64)`. The bounds are the limits of the common signed and unsigned
//! 8, 16, 24, 32 and 64-bit integer types, so a permutation inside each band maps every such
//! type's range onto itself.
//!
//! Inside a band of `n` values the permutation is a balanced Feistel network of
//! [`ROUNDS`] rounds over the smallest even number of bits that holds `n`, whose round
//! function is a keyed PRF of (band, round, half) ([`Digester::prf`]: one SHA-256
//! compression from the key's HMAC inner state); values that land outside
//! the band are encrypted again until they are inside (cycle walking, on average fewer than
//! two extra passes). The same integer gives the same output whether it arrives as an
//! `int32`, an `int64` or a SQL literal, so references between types stay consistent.

use super::Digester;

/// Feistel rounds (FF3-1 uses 8).
const ROUNDS: u8 = 8;

/// The lower bounds of the bands of magnitudes, ascending.
const BOUNDS: [u64; 10] = [
    0,
    1 << 7,
    1 << 8,
    1 << 15,
    1 << 16,
    1 << 23,
    1 << 24,
    1 << 31,
    1 << 32,
    1 << 63,
];

/// The band `m` lies in: its index, its lower bound and its size.
fn band(m: u64) -> (u8, u64, u64) {
    let i = BOUNDS.iter().rposition(|&b| b <= m).unwrap_or(0);
    let lo = BOUNDS[i];
    let size = match BOUNDS.get(i + 1) {
        Some(&hi) => hi - lo,
        None => u64::MAX - lo + 1,
    };
    (i as u8, lo, size)
}

/// One pass of the Feistel network over `2 * half` bits.
fn feistel(d: &Digester, domain: &str, band: u8, half: u32, x: u64) -> u64 {
    let mask = if half >= 64 {
        u64::MAX
    } else {
        (1u64 << half) - 1
    };
    let (mut l, mut r) = (x >> half & mask, x & mask);
    for round in 0..ROUNDS {
        let dg = d.prf(domain, &[b"p", &[band, round], &r.to_le_bytes()]);
        let f = super::u64_of(&dg) & mask;
        (l, r) = (r, l ^ f);
    }
    l << half | r
}

/// The keyed permutation of the magnitude `m` inside its band.
fn permute_magnitude(d: &Digester, domain: &str, m: u64) -> u64 {
    let (index, lo, size) = band(m);
    if size <= 1 {
        return m;
    }
    // Bits that hold 0..size, rounded up to an even number (at most 64).
    let bits = 64 - (size - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mut x = m - lo;
    loop {
        x = feistel(d, domain, index, half, x);
        if x < size {
            return lo + x;
        }
    }
}

/// The keyed permutation of a signed 64-bit integer: sign and band kept.
pub(super) fn permute_i64(d: &Digester, domain: &str, v: i64) -> i64 {
    if v >= 0 {
        permute_magnitude(d, domain, v as u64) as i64
    } else {
        !(permute_magnitude(d, domain, !v as u64) as i64)
    }
}

/// The keyed permutation of an unsigned 64-bit integer (band kept).
pub(super) fn permute_u64(d: &Digester, domain: &str, v: u64) -> u64 {
    permute_magnitude(d, domain, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Key, KeyMode};
    use std::collections::HashSet;

    fn keyed(k: &[u8]) -> Digester {
        Digester::new(&KeyMode::Keyed(Key::from_bytes(k).unwrap()))
    }

    #[test]
    fn bands_are_contiguous_and_cover_u64() {
        assert_eq!(band(0), (0, 0, 128));
        assert_eq!(band(127), (0, 0, 128));
        assert_eq!(band(128), (1, 128, 128));
        assert_eq!(band(u64::MAX), (9, 1 << 63, 1 << 63));
        assert_eq!(band((1 << 63) - 1), (8, 1 << 32, (1 << 63) - (1 << 32)));
    }

    /// Every value of the small bands (and of both signs) maps into the same band, and no two
    /// values map to the same output: a permutation, by exhaustion.
    #[test]
    fn small_bands_are_permuted_exhaustively() {
        let d = keyed(b"permute-test-key-0123456789");
        for (lo, hi) in [(0i64, 128), (128, 256), (256, 1 << 15), (1 << 15, 1 << 16)] {
            for sign in [1i64, -1] {
                let mut seen = HashSet::new();
                for v in lo..hi {
                    let v = if sign < 0 { !v } else { v };
                    let p = permute_i64(&d, "hash", v);
                    let m = if p < 0 { !p } else { p };
                    assert_eq!(p < 0, v < 0, "{v} -> {p}");
                    assert!((lo..hi).contains(&m), "{v} -> {p} leaves its band");
                    assert!(seen.insert(p), "{v} collides");
                }
                assert_eq!(seen.len() as i64, hi - lo);
            }
        }
    }

    #[test]
    fn i32_extremes_stay_i32() {
        let d = keyed(b"permute-test-key-0123456789");
        for v in [i32::MIN, i32::MIN + 1, -1, 0, i32::MAX - 1, i32::MAX] {
            let p = permute_i64(&d, "hash", v as i64);
            assert!(i32::try_from(p).is_ok(), "{v} -> {p}");
        }
        for v in [i64::MIN, i64::MAX, 1 << 40] {
            let p = permute_i64(&d, "hash", v);
            assert_eq!(p < 0, v < 0);
            assert!(p.unsigned_abs() > u32::MAX as u64 / 2);
        }
        let p = permute_u64(&d, "hash", u64::MAX);
        assert!(p >= 1 << 63);
    }
}
