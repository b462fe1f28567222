//! A whole digest of a short message with the state kept in registers: HMAC-SHA256 (or plain
//! SHA-256) of a message already padded into one or two 64-byte blocks, from precomputed
//! start states.
//!
//! With the x86 SHA extensions the state is loaded once, stays in registers through the
//! message's blocks and, keyed, through the outer hash, whose block is built from the inner
//! state's registers (its first eight words are the inner state's words, the rest constant
//! padding); the result is byte-swapped once on the way out. The CPU feature is checked once
//! and cached ([`shani::available`]). Without the extensions [`digest`] answers `None` and the
//! caller takes the `sha2` crate's path, which gives the same bytes (tested in `digester`).

#[cfg(target_arch = "x86_64")]
use super::lanes::shani;

/// The digest of a padded message of one block (`second` none) or two, from `start` (the
/// key's inner state, or SHA-256's initial state); keyed (`outer`: the key's outer state), the
/// HMAC's outer hash over it too. When the CPU lacks the SHA extensions, `portable()`'s
/// answer (the same digest, computed otherwise). (Written in place by `ni::digest`: an
/// `Option<[u8; 32]>` returned was copied through the stack at an odd offset.)
#[inline]
pub(super) fn digest(
    start: &[u32; 8],
    outer: Option<&[u32; 8]>,
    first: &[u8; 64],
    second: Option<&[u8; 64]>,
    portable: impl FnOnce() -> [u8; 32],
) -> [u8; 32] {
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        let mut out = [0u8; 32];
        // SAFETY: the CPU has the features `ni::digest` is compiled for (just checked).
        unsafe { ni::digest(start, outer, first, second, &mut out) };
        return out;
    }
    let _ = (start, outer, first, second);
    portable()
}

/// The SHA-NI digest.
#[cfg(target_arch = "x86_64")]
mod ni {
    use core::arch::x86_64::*;

    use super::shani::{byte_swap, compress_held, load_block, load_state, unpack};

    /// The outer hash's bit length: the key's opad block and the 32-byte inner hash.
    const OUTER_BITS: i32 = (64 + 32) * 8;

    /// [`digest`](super::digest) with SHA-NI.
    ///
    /// # Safety
    /// The CPU must have SHA-NI, SSE2, SSSE3 and SSE4.1 ([`shani::available`](super::shani::available)).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn digest(
        start: &[u32; 8],
        outer: Option<&[u32; 8]>,
        first: &[u8; 64],
        second: Option<&[u8; 64]>,
        out: &mut [u8; 32],
    ) {
        let (mut abef, mut cdgh) = load_state(start);
        (abef, cdgh) = compress_held(abef, cdgh, load_block(first));
        if let Some(second) = second {
            (abef, cdgh) = compress_held(abef, cdgh, load_block(second));
        }
        let (mut dcba, mut hgef) = unpack(abef, cdgh);
        if let Some(outer) = outer {
            // The outer block: the inner hash's eight words, the padding's 0x80, zeros, and
            // the bit length in the last word.
            let w = [
                dcba,
                hgef,
                _mm_set_epi32(0, 0, 0, 0x8000_0000u32 as i32),
                _mm_set_epi32(OUTER_BITS, 0, 0, 0),
            ];
            let (o_abef, o_cdgh) = load_state(outer);
            let (abef, cdgh) = compress_held(o_abef, o_cdgh, w);
            (dcba, hgef) = unpack(abef, cdgh);
        }
        let mask = byte_swap();
        // SAFETY: `out` is 32 bytes; unaligned stores.
        let p = out.as_mut_ptr().cast::<__m128i>();
        _mm_storeu_si128(p, _mm_shuffle_epi8(dcba, mask));
        _mm_storeu_si128(p.add(1), _mm_shuffle_epi8(hgef, mask));
    }
}
