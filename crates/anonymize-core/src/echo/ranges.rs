//! The echo guard's AVX2 scans walk the ranges of a haystack one by one (issue 23.4): the
//! bytes between two ranges (a document's rewritten values, where every original sits) are
//! neither read nor candidates, and a candidate is verified against the end of the range it
//! is in, without looking the range up. `scan` (pair compare) and `buckets` (nibble tables)
//! each give their test of 32 positions ([`Fingerprint`]); this module runs it over the
//! ranges.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::{
    __m256i, _mm256_cmpeq_epi8, _mm256_movemask_epi8, _mm256_or_si256, _mm256_setzero_si256,
    _mm256_storeu_si256, _mm256_testz_si256,
};

use super::chunks::{each, LANES};

/// A test of 32 positions at once: which of them may start a needle.
pub(super) trait Fingerprint {
    /// Offset, from a position, of the last byte the test reads for it (at most the
    /// shortest needle's length − 1).
    fn reach(&self) -> usize;

    /// Byte `i` not zero when position `p + i` may start a needle; its bits say which
    /// (bit `k`: needle `k`; all bits: any).
    ///
    /// # Safety
    /// The CPU has AVX2, and `p + 32 + reach() <= hay.len()`.
    unsafe fn chunk(&self, hay: &[u8], p: usize) -> __m256i;
}

/// True when `verify(p, which, end)` accepts a candidate of `f` in one of `ranges` (sorted,
/// disjoint, inside `hay`): `p` its position, `which` the needles it may start (see
/// [`Fingerprint::chunk`]), `end` the end of its range. Only positions where the shortest
/// needle fits inside the range are candidates, in increasing order.
///
/// # Safety
/// The CPU has AVX2; `hay.len() >= 32 + f.reach()` and `f.reach() < shortest`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn any<F: Fingerprint>(
    f: &F,
    hay: &[u8],
    ranges: &[(usize, usize)],
    shortest: usize,
    verify: &mut impl FnMut(usize, u32, usize) -> bool,
) -> bool {
    let reach = f.reach();
    debug_assert!(hay.len() >= LANES + reach && reach < shortest);
    // SAFETY (of each `chunk` below): `p + 32 <= last` keeps its loads before `end - 1 +
    // reach + 1 - shortest + 1 <= end <= hay.len()`; the tail's chunk starts at most at
    // `hay.len() - 32 - reach`.
    for &(start, end) in ranges {
        let end = end.min(hay.len());
        if end < start + shortest {
            continue;
        }
        // One past the last position the shortest needle fits at.
        let last = end + 1 - shortest;
        let mut p = start;
        // Two chunks a round, tested together: candidates are rare.
        while p + 2 * LANES <= last {
            let (x, y) = unsafe { (f.chunk(hay, p), f.chunk(hay, p + LANES)) };
            let either = _mm256_or_si256(x, y);
            if _mm256_testz_si256(either, either) == 0
                && (candidates(x, p, u32::MAX, end, verify)
                    || candidates(y, p + LANES, u32::MAX, end, verify))
            {
                return true;
            }
            p += 2 * LANES;
        }
        if p + LANES <= last {
            if candidates(unsafe { f.chunk(hay, p) }, p, u32::MAX, end, verify) {
                return true;
            }
            p += LANES;
        }
        if p < last {
            // The tail: a chunk from `p` reading past the range where the haystack allows,
            // else the haystack's last chunk; positions outside `p..last` masked off.
            let q = p.min(hay.len() - LANES - reach);
            let keep = between(p - q, last - q);
            if candidates(unsafe { f.chunk(hay, q) }, q, keep, end, verify) {
                return true;
            }
        }
    }
    false
}

/// The shortest needle's length when the AVX2 scans can run over `hay`: every needle at
/// least 2 bytes long and the haystack holding a chunk beyond the shortest needle (the
/// chunks' loads stay inside it). `None`: no needle, or the portable scan must answer.
pub(super) fn simd_shortest(hay: &[u8], needles: &[&[u8]]) -> Option<usize> {
    let shortest = needles.iter().map(|n| n.len()).min()?;
    (shortest >= 2 && hay.len() >= LANES + shortest).then_some(shortest)
}

/// Bits `from..to` set (`from <= to <= 32`).
#[inline]
fn between(from: usize, to: usize) -> u32 {
    // In 64 bits, `n == 32` needs no branch.
    let below = |n: usize| ((1u64 << n) - 1) as u32;
    below(to) & !below(from)
}

/// Hands `verify` each candidate of chunk `c` (positions from `p`; only those whose bit is
/// set in `keep`), with its byte of the chunk and the range's `end`.
#[inline]
#[target_feature(enable = "avx2")]
fn candidates(
    c: __m256i,
    p: usize,
    keep: u32,
    end: usize,
    verify: &mut impl FnMut(usize, u32, usize) -> bool,
) -> bool {
    let zero = _mm256_cmpeq_epi8(c, _mm256_setzero_si256());
    let mask = !(_mm256_movemask_epi8(zero) as u32) & keep;
    if mask == 0 {
        return false;
    }
    let mut bytes = [0u8; LANES];
    // SAFETY: `bytes` holds 32 bytes; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(bytes.as_mut_ptr().cast(), c) };
    each(mask, p, &mut |at| verify(at, u32::from(bytes[at - p]), end))
}

#[cfg(test)]
mod tests {
    use super::between;

    #[test]
    fn between_sets_the_bits_asked() {
        assert_eq!(between(0, 32), u32::MAX);
        assert_eq!(between(0, 0), 0);
        assert_eq!(between(3, 5), 0b11000);
        assert_eq!(between(31, 32), 1 << 31);
        assert_eq!(between(4, 4), 0);
    }
}
