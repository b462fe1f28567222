//! The seeded generator behind `fake`: the ChaCha20 keystream that `rand_chacha`'s
//! `ChaCha20Rng::from_seed(seed)` produces (64-bit block counter from 0, stream 0), word for
//! word, but computed one 64-byte block at a time, when needed. `ChaCha20Rng` always computes
//! four blocks at once, and a fake name needs one or two words of the first.
//!
//! The `RngCore` methods consume words exactly as `rand_core`'s `BlockRng` does, so every
//! sampler (`choose`, `gen_range`, the `fake` crate's generators) draws the same values as with
//! `ChaCha20Rng`; a test checks this against `ChaCha20Rng` itself.

use rand::RngCore;

const CONSTANTS: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// The 20 rounds of one block on `init` (the rows before the final addition), four quarter
/// rounds at a time; on x86-64 in SSE2 registers ([`sse2::rounds`]).
#[inline]
fn rounds(init: &[Row; 4]) -> [Row; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64's baseline: every x86-64 CPU has it.
        unsafe { sse2::rounds(init) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable_rounds(init)
    }
}

/// [`rounds`] with [`double_round`] on plain arrays.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_rounds(init: &[Row; 4]) -> [Row; 4] {
    let mut rows = *init;
    for _ in 0..10 {
        double_round(&mut rows);
    }
    rows
}

/// The rounds with SSE2 (always there on x86-64): each row one register.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::Row;
    use core::arch::x86_64::*;

    /// Each word rotated left by `L` (`R` = 32 - `L`).
    #[target_feature(enable = "sse2")]
    #[inline]
    fn rotate<const L: i32, const R: i32>(x: __m128i) -> __m128i {
        _mm_or_si128(_mm_slli_epi32::<L>(x), _mm_srli_epi32::<R>(x))
    }

    /// The quarter round on the four columns.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn quarter(a: &mut __m128i, b: &mut __m128i, c: &mut __m128i, d: &mut __m128i) {
        *a = _mm_add_epi32(*a, *b);
        // By 16: the two halves of each word swapped.
        let x = _mm_xor_si128(*d, *a);
        *d = _mm_shufflehi_epi16::<0xB1>(_mm_shufflelo_epi16::<0xB1>(x));
        *c = _mm_add_epi32(*c, *d);
        *b = rotate::<12, 20>(_mm_xor_si128(*b, *c));
        *a = _mm_add_epi32(*a, *b);
        *d = rotate::<8, 24>(_mm_xor_si128(*d, *a));
        *c = _mm_add_epi32(*c, *d);
        *b = rotate::<7, 25>(_mm_xor_si128(*b, *c));
    }

    /// A row in a register, its first word in the lowest lane.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn load(r: &Row) -> __m128i {
        _mm_set_epi32(r[3] as i32, r[2] as i32, r[1] as i32, r[0] as i32)
    }

    /// A register back as a row.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn store(x: __m128i) -> Row {
        let mut r = [0u32; 4];
        // SAFETY: `r` is 16 bytes; an unaligned store.
        unsafe { _mm_storeu_si128(r.as_mut_ptr().cast(), x) };
        r
    }

    /// [`rounds`](super::rounds): ten double rounds, the diagonal round on rows rotated
    /// by one, two and three lanes (as in [`double_round`](super::double_round)).
    #[target_feature(enable = "sse2")]
    pub(super) fn rounds(init: &[Row; 4]) -> [Row; 4] {
        let [mut a, mut b, mut c, mut d] = [
            load(&init[0]),
            load(&init[1]),
            load(&init[2]),
            load(&init[3]),
        ];
        for _ in 0..10 {
            quarter(&mut a, &mut b, &mut c, &mut d);
            b = _mm_shuffle_epi32::<0x39>(b);
            c = _mm_shuffle_epi32::<0x4E>(c);
            d = _mm_shuffle_epi32::<0x93>(d);
            quarter(&mut a, &mut b, &mut c, &mut d);
            b = _mm_shuffle_epi32::<0x93>(b);
            c = _mm_shuffle_epi32::<0x4E>(c);
            d = _mm_shuffle_epi32::<0x39>(d);
        }
        [store(a), store(b), store(c), store(d)]
    }
}

/// ChaCha20 keystream words as a random number generator.
pub(super) struct Keystream {
    key: [u32; 8],
    block: [u32; 16],
    /// The block number of `block` plus one (0: no block computed yet).
    next_block: u64,
    /// Index of the next unread word in `block` (16: used up).
    pos: usize,
}

/// One row of the ChaCha state: four words, one per column.
type Row = [u32; 4];

/// `a + b`, word by word.
#[inline(always)]
fn add(a: Row, b: Row) -> Row {
    [
        a[0].wrapping_add(b[0]),
        a[1].wrapping_add(b[1]),
        a[2].wrapping_add(b[2]),
        a[3].wrapping_add(b[3]),
    ]
}

/// `(a ^ b) <<< n`, word by word.
#[inline(always)]
fn xor_rotate(a: Row, b: Row, n: u32) -> Row {
    [
        (a[0] ^ b[0]).rotate_left(n),
        (a[1] ^ b[1]).rotate_left(n),
        (a[2] ^ b[2]).rotate_left(n),
        (a[3] ^ b[3]).rotate_left(n),
    ]
}

/// The quarter round on all four columns at once (rows `a` to `d` of the state).
#[inline(always)]
fn quarter_rows(a: &mut Row, b: &mut Row, c: &mut Row, d: &mut Row) {
    *a = add(*a, *b);
    *d = xor_rotate(*d, *a, 16);
    *c = add(*c, *d);
    *b = xor_rotate(*b, *c, 12);
    *a = add(*a, *b);
    *d = xor_rotate(*d, *a, 8);
    *c = add(*c, *d);
    *b = xor_rotate(*b, *c, 7);
}

/// ChaCha's double round on the state as four rows: the column round, then the diagonal
/// round as a column round on rows `b`, `c`, `d` rotated by one, two and three lanes (so
/// column 0 is words 0, 5, 10, 15), rotated back after. The portable form of [`sse2`]'s
/// (the compiler keeps it scalar: it does not vectorise the rotations).
#[inline(always)]
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn double_round(rows: &mut [Row; 4]) {
    let [mut a, mut b, mut c, mut d] = *rows;
    quarter_rows(&mut a, &mut b, &mut c, &mut d);
    // (Indexed, not `rotate_left`: that one is a call, not a shuffle.)
    let mut b = [b[1], b[2], b[3], b[0]];
    let mut c = [c[2], c[3], c[0], c[1]];
    let mut d = [d[3], d[0], d[1], d[2]];
    quarter_rows(&mut a, &mut b, &mut c, &mut d);
    *rows = [
        a,
        [b[3], b[0], b[1], b[2]],
        [c[2], c[3], c[0], c[1]],
        [d[1], d[2], d[3], d[0]],
    ];
}

impl Keystream {
    /// The generator `ChaCha20Rng::from_seed(seed)` is.
    pub(super) fn from_seed(seed: [u8; 32]) -> Keystream {
        let mut key = [0u32; 8];
        for (k, chunk) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Keystream {
            key,
            block: [0; 16],
            next_block: 0,
            pos: 16,
        }
    }

    /// Computes the next 64-byte block (20 rounds, row-wise: [`double_round`]).
    fn refill(&mut self) {
        let counter = self.next_block;
        let k = &self.key;
        let init: [Row; 4] = [
            CONSTANTS,
            [k[0], k[1], k[2], k[3]],
            [k[4], k[5], k[6], k[7]],
            [counter as u32, (counter >> 32) as u32, 0, 0],
        ];
        let rows = rounds(&init);
        for (out, (row, start)) in self.block.chunks_exact_mut(4).zip(rows.iter().zip(&init)) {
            out.copy_from_slice(&add(*row, *start));
        }
        self.next_block = counter.wrapping_add(1);
        self.pos = 0;
    }

    #[inline]
    fn word(&mut self) -> u32 {
        if self.pos == 16 {
            self.refill();
        }
        self.pos += 1;
        self.block[self.pos - 1]
    }
}

impl RngCore for Keystream {
    fn next_u32(&mut self) -> u32 {
        self.word()
    }

    /// Two consecutive words, the first one low (as `BlockRng` reads them, across block
    /// boundaries too).
    fn next_u64(&mut self) -> u64 {
        let lo = self.word();
        let hi = self.word();
        (u64::from(hi) << 32) | u64::from(lo)
    }

    /// Little-endian bytes of consecutive words; a partly used last word is used up.
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let bytes = self.word().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    proptest::proptest! {
        /// The vector rounds are the portable ones, from any state.
        #[test]
        fn rounds_are_the_portable_rounds(init: [[u32; 4]; 4]) {
            proptest::prop_assert_eq!(rounds(&init), portable_rounds(&init));
        }

        /// Any seed's first 40 words (three blocks, read as words) are `ChaCha20Rng`'s.
        #[test]
        fn any_seed_gives_chacha20rngs_words(seed: [u8; 32]) {
            let mut ours = Keystream::from_seed(seed);
            let mut theirs = ChaCha20Rng::from_seed(seed);
            for _ in 0..40 {
                proptest::prop_assert_eq!(ours.next_u32(), theirs.next_u32());
            }
        }
    }

    #[test]
    fn same_words_as_chacha20rng() {
        for n in 0u8..8 {
            let seed = [n.wrapping_mul(37).wrapping_add(1); 32];
            let mut ours = Keystream::from_seed(seed);
            let mut theirs = ChaCha20Rng::from_seed(seed);
            // Mixed reads, crossing the 16-word (ours) and 64-word (theirs) buffers, at odd
            // word positions too.
            for step in 0..300usize {
                match (step + n as usize) % 4 {
                    0 => assert_eq!(ours.next_u32(), theirs.next_u32()),
                    1 => assert_eq!(ours.next_u64(), theirs.next_u64()),
                    2 => {
                        let len = step % 11;
                        let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
                        ours.fill_bytes(&mut a);
                        theirs.fill_bytes(&mut b);
                        assert_eq!(a, b);
                    }
                    _ => assert_eq!(ours.next_u32(), theirs.next_u32()),
                }
            }
        }
    }
}

/// A timing loop (it asserts nothing about time, only that both ways agree): a chain of
/// ChaCha20 blocks' rounds, in SSE2 registers and on plain arrays (scalar, as before branch
/// digest25). Built in release test builds only; run it with
/// `cargo test --release -p anonymize-core --lib keystream::timing -- --ignored --nocapture`.
#[cfg(all(test, not(debug_assertions)))]
mod timing {
    use super::*;
    use std::hint::black_box;
    use std::time::Instant;

    /// Nanoseconds a block, fastest of five runs of `n` blocks, each block's rounds starting
    /// from the previous one's result (a dependent chain, as one block a value is not).
    fn fastest(n: u32, f: fn(&[Row; 4]) -> [Row; 4]) -> (f64, [Row; 4]) {
        let mut rows = [[1u32, 2, 3, 4]; 4];
        let ns = (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    rows = f(black_box(&rows));
                }
                t.elapsed().as_nanos() as f64 / f64::from(n)
            })
            .fold(f64::INFINITY, f64::min);
        (ns, rows)
    }

    #[test]
    #[ignore = "a timing loop: run by hand in release"]
    fn blocks() {
        let (vector, a) = fastest(1_000_000, rounds);
        let (plain, b) = fastest(1_000_000, portable_rounds);
        assert_eq!(a, b);
        println!(
            "ChaCha20 rounds: plain arrays {plain:.1} ns a block; SSE2 rows {vector:.1} ns ({:.2})",
            vector / plain
        );
    }
}
