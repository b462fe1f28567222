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

#[inline(always)]
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
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

    fn refill(&mut self) {
        let counter = self.next_block;
        let mut init = [0u32; 16];
        init[..4].copy_from_slice(&CONSTANTS);
        init[4..12].copy_from_slice(&self.key);
        init[12] = counter as u32;
        init[13] = (counter >> 32) as u32;
        let mut s = init;
        for _ in 0..10 {
            quarter(&mut s, 0, 4, 8, 12);
            quarter(&mut s, 1, 5, 9, 13);
            quarter(&mut s, 2, 6, 10, 14);
            quarter(&mut s, 3, 7, 11, 15);
            quarter(&mut s, 0, 5, 10, 15);
            quarter(&mut s, 1, 6, 11, 12);
            quarter(&mut s, 2, 7, 8, 13);
            quarter(&mut s, 3, 4, 9, 14);
        }
        for (out, (w, i)) in self.block.iter_mut().zip(s.iter().zip(init.iter())) {
            *out = w.wrapping_add(*i);
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
