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
/// column 0 is words 0, 5, 10, 15), rotated back after. Written row-wise so the compiler
/// keeps each row in one vector register (four quarter rounds per instruction).
#[inline(always)]
fn double_round(rows: &mut [Row; 4]) {
    let [mut a, mut b, mut c, mut d] = *rows;
    quarter_rows(&mut a, &mut b, &mut c, &mut d);
    b.rotate_left(1);
    c.rotate_left(2);
    d.rotate_left(3);
    quarter_rows(&mut a, &mut b, &mut c, &mut d);
    b.rotate_right(1);
    c.rotate_right(2);
    d.rotate_right(3);
    *rows = [a, b, c, d];
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
        let mut rows = init;
        for _ in 0..10 {
            double_round(&mut rows);
        }
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
