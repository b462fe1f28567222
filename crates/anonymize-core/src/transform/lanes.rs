//! Two SHA-256 compressions at once: two independent states, each over its own 64-byte block.
//!
//! With the x86 SHA extensions one compression is a chain of 32 `sha256rnds2`, each waiting
//! for the previous one's result, so the unit idles between them; the rounds of a second,
//! independent compression fill those gaps. [`compress2`] interleaves the two chains round
//! group by round group when the CPU has the extensions (detected at run time, as the `sha2`
//! crate does), and otherwise runs `sha2`'s compression twice. Either way the results are
//! exactly those of two `sha2::compress256` calls (tested below).

use sha2::digest::generic_array::GenericArray;

/// One compression of `block` into `state`, by the `sha2` crate.
#[inline]
pub(super) fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// `compress(a, block_a)` and `compress(b, block_b)`, the two interleaved when the CPU has
/// the SHA extensions.
#[inline]
pub(super) fn compress2(
    a: &mut [u32; 8],
    block_a: &[u8; 64],
    b: &mut [u32; 8],
    block_b: &[u8; 64],
) {
    #[cfg(target_arch = "x86_64")]
    if shani::available() {
        // SAFETY: the CPU has the features `shani::compress2` is compiled for (just checked).
        unsafe { shani::compress2(a, block_a, b, block_b) };
        return;
    }
    compress(a, block_a);
    compress(b, block_b);
}

/// The x86-64 SHA-NI path: the rounds of the `sha2` crate's backend, two states at a time.
#[cfg(target_arch = "x86_64")]
mod shani {
    use core::arch::x86_64::*;

    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

    /// [`available`]'s answer: 0 not asked yet, 1 no, 2 yes.
    static AVAILABLE: AtomicU8 = AtomicU8::new(0);

    /// Whether the CPU has SHA-NI, SSE2, SSSE3 and SSE4.1 (asked once; then a load and a
    /// compare).
    #[inline]
    pub(super) fn available() -> bool {
        match AVAILABLE.load(Relaxed) {
            0 => detect(),
            known => known == 2,
        }
    }

    /// Asks the CPU, and remembers the answer.
    #[cold]
    fn detect() -> bool {
        let yes = std::arch::is_x86_feature_detected!("sha")
            && std::arch::is_x86_feature_detected!("sse2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && std::arch::is_x86_feature_detected!("sse4.1");
        AVAILABLE.store(if yes { 2 } else { 1 }, Relaxed);
        yes
    }

    /// SHA-256's round constants, four to a group.
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// One lane: the state as the instructions hold it, and the message schedule's last
    /// four vectors.
    #[derive(Clone, Copy)]
    struct Lane {
        abef: __m128i,
        cdgh: __m128i,
        w: [__m128i; 4],
    }

    impl Lane {
        /// Loads `state` and `block` (big-endian words).
        #[inline(always)]
        unsafe fn load(state: &[u32; 8], block: &[u8; 64]) -> Lane {
            let mask = _mm_set_epi64x(
                0x0C0D_0E0F_0809_0A0Bu64 as i64,
                0x0405_0607_0001_0203u64 as i64,
            );
            // SAFETY (the loads): `state` is 32 bytes and `block` 64; unaligned loads.
            let s = state.as_ptr().cast::<__m128i>();
            let dcba = _mm_loadu_si128(s);
            let efgh = _mm_loadu_si128(s.add(1));
            let cdab = _mm_shuffle_epi32(dcba, 0xB1);
            let efgh = _mm_shuffle_epi32(efgh, 0x1B);
            let p = block.as_ptr().cast::<__m128i>();
            Lane {
                abef: _mm_alignr_epi8(cdab, efgh, 8),
                cdgh: _mm_blend_epi16(efgh, cdab, 0xF0),
                w: [
                    _mm_shuffle_epi8(_mm_loadu_si128(p), mask),
                    _mm_shuffle_epi8(_mm_loadu_si128(p.add(1)), mask),
                    _mm_shuffle_epi8(_mm_loadu_si128(p.add(2)), mask),
                    _mm_shuffle_epi8(_mm_loadu_si128(p.add(3)), mask),
                ],
            }
        }

        /// Rounds `4 * g` to `4 * g + 3`; from group 4 on, the schedule's next vector first.
        #[inline(always)]
        unsafe fn group(&mut self, g: usize, k: __m128i) {
            let w = if g < 4 {
                self.w[g]
            } else {
                let [w0, w1, w2, w3] = self.w;
                let t1 = _mm_sha256msg1_epu32(w0, w1);
                let t2 = _mm_alignr_epi8(w3, w2, 4);
                let next = _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), w3);
                self.w = [w1, w2, w3, next];
                next
            };
            let t1 = _mm_add_epi32(w, k);
            self.cdgh = _mm_sha256rnds2_epu32(self.cdgh, self.abef, t1);
            let t2 = _mm_shuffle_epi32(t1, 0x0E);
            self.abef = _mm_sha256rnds2_epu32(self.abef, self.cdgh, t2);
        }

        /// Adds the lane to the state it started from and stores it there.
        #[inline(always)]
        unsafe fn finish(&self, state: &mut [u32; 8], start: &Lane) {
            let abef = _mm_add_epi32(self.abef, start.abef);
            let cdgh = _mm_add_epi32(self.cdgh, start.cdgh);
            let feba = _mm_shuffle_epi32(abef, 0x1B);
            let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
            let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
            let hgef = _mm_alignr_epi8(dchg, feba, 8);
            // SAFETY: `state` is 32 bytes; unaligned stores.
            let s = state.as_mut_ptr().cast::<__m128i>();
            _mm_storeu_si128(s, dcba);
            _mm_storeu_si128(s.add(1), hgef);
        }
    }

    /// Both compressions, their round groups alternating.
    ///
    /// # Safety
    /// The CPU must have SHA-NI, SSE2, SSSE3 and SSE4.1 ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn compress2(
        a: &mut [u32; 8],
        block_a: &[u8; 64],
        b: &mut [u32; 8],
        block_b: &[u8; 64],
    ) {
        let start_a = Lane::load(a, block_a);
        let start_b = Lane::load(b, block_b);
        let (mut la, mut lb) = (start_a, start_b);
        let k = K.as_ptr().cast::<__m128i>();
        for g in 0..16 {
            // SAFETY: `K` holds 16 groups of four words.
            let kv = _mm_loadu_si128(k.add(g));
            la.group(g, kv);
            lb.group(g, kv);
        }
        la.finish(a, &start_a);
        lb.finish(b, &start_b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Two lanes give what two `sha2` compressions give, from any states over any blocks.
        #[test]
        fn two_lanes_are_two_compressions(
            a in any::<[u32; 8]>(),
            b in any::<[u32; 8]>(),
            block_a in proptest::collection::vec(any::<u8>(), 64),
            block_b in proptest::collection::vec(any::<u8>(), 64),
        ) {
            let block_a: [u8; 64] = block_a.try_into().unwrap();
            let block_b: [u8; 64] = block_b.try_into().unwrap();
            let (mut want_a, mut want_b) = (a, b);
            compress(&mut want_a, &block_a);
            compress(&mut want_b, &block_b);
            let (mut got_a, mut got_b) = (a, b);
            compress2(&mut got_a, &block_a, &mut got_b, &block_b);
            prop_assert_eq!(got_a, want_a);
            prop_assert_eq!(got_b, want_b);
        }
    }

    /// The same state and block in both lanes (one borrowed twice is impossible; equal copies).
    #[test]
    fn equal_lanes() {
        let block = [0x5au8; 64];
        let mut want = [7u32; 8];
        compress(&mut want, &block);
        let (mut a, mut b) = ([7u32; 8], [7u32; 8]);
        compress2(&mut a, &block, &mut b, &block);
        assert_eq!((a, b), (want, want));
    }
}

/// A timing loop (it asserts nothing about time, only that both ways agree): two dependent
/// chains of compressions, one lane at a time and two at a time. Built in release test builds
/// only; run it with
/// `cargo test --release -p anonymize-core --lib lanes::timing -- --ignored --nocapture`.
#[cfg(all(test, not(debug_assertions)))]
mod timing {
    use super::*;
    use std::hint::black_box;
    use std::time::Instant;

    /// Nanoseconds a step, fastest of five runs of `n` steps of `step`.
    fn fastest(n: u32, mut step: impl FnMut()) -> f64 {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    step();
                }
                t.elapsed().as_nanos() as f64 / f64::from(n)
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    #[ignore = "a timing loop: run by hand in release"]
    fn two_chains() {
        let n = 2_000_000;
        let block_a = black_box([0x11u8; 64]);
        let block_b = black_box([0x22u8; 64]);
        let (mut a, mut b) = ([1u32; 8], [2u32; 8]);
        let one = fastest(n, || compress(black_box(&mut a), &block_a));
        let singles = fastest(n, || {
            compress(black_box(&mut a), &block_a);
            compress(black_box(&mut b), &block_b);
        });
        let pair = fastest(n, || {
            compress2(black_box(&mut a), &block_a, black_box(&mut b), &block_b)
        });
        let (mut x, mut y) = (a, b);
        compress2(&mut x, &block_a, &mut y, &block_b);
        compress(&mut a, &block_a);
        compress(&mut b, &block_b);
        assert_eq!((x, y), (a, b));
        println!(
            "one compression {one:.1} ns; two chains one at a time {singles:.1} ns a pair; \
             two lanes {pair:.1} ns a pair ({:.2} of one at a time); {:?}",
            pair / singles,
            (a[0], b[0])
        );
    }
}
