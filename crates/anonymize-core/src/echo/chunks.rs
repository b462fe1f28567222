//! What the echo guard's AVX2 readings share: 32-byte chunks loaded unaligned (`scan` and
//! `escapes`), and the positions a chunk's compare mask marks, visited in order (`scan`).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::{__m256i, _mm256_loadu_si256};

/// Bytes a chunk holds.
pub(super) const LANES: usize = 32;

/// Loads 32 bytes of `hay` at `p`.
///
/// # Safety
/// `p + 32 <= hay.len()`, and the CPU has AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn load(hay: &[u8], p: usize) -> __m256i {
    debug_assert!(p + LANES <= hay.len());
    // SAFETY: the 32 bytes at `p` are inside `hay` (the caller's promise); `loadu` has no
    // alignment requirement.
    unsafe { _mm256_loadu_si256(hay.as_ptr().add(p).cast()) }
}

/// Calls `at` with `p + i` for each bit `i` of `mask`, in order, until it returns true (the
/// candidates of a chunk's compare mask).
#[inline]
pub(super) fn each(mut mask: u32, p: usize, at: &mut impl FnMut(usize) -> bool) -> bool {
    while mask != 0 {
        if at(p + mask.trailing_zeros() as usize) {
            return true;
        }
        mask &= mask - 1;
    }
    false
}
