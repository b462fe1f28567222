//! A byte search over eight bytes at a time in a `u64` ("SIMD within a register"), for the
//! short runs of a row (a COPY line's tabs): `memchr`'s set-up per hit costs more than the
//! search there. Safe code only, exact (no false positives).

/// `0x01` in every byte.
const ONES: u64 = u64::from_le_bytes([1; 8]);
/// `0x7f` in every byte.
const LOW7: u64 = u64::from_le_bytes([0x7f; 8]);

/// The high bit of each byte of `word` that equals `byte`, and no other bit.
#[inline]
fn equal_bytes(word: u64, byte: u8) -> u64 {
    let y = word ^ (ONES * u64::from(byte));
    // A byte of `y` is zero exactly when neither its low seven bits carry into its high bit
    // nor its high bit is set (no carry crosses a byte: 0x7f + 0x7f < 0x100).
    !(((y & LOW7) + LOW7) | y | LOW7)
}

/// Index of the byte at the lowest set high bit of `mask` (the first match in memory order).
#[inline]
fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Calls `hit` with the index of every byte of `hay` equal to `byte`, in order.
#[inline]
pub(crate) fn each_equal(hay: &[u8], byte: u8, mut hit: impl FnMut(usize)) {
    let (words, rest) = hay.as_chunks::<8>();
    for (w, word) in words.iter().enumerate() {
        let mut mask = equal_bytes(u64::from_le_bytes(*word), byte);
        while mask != 0 {
            hit(8 * w + first(mask));
            mask &= mask - 1;
        }
    }
    let base = 8 * words.len();
    for (k, &b) in rest.iter().enumerate() {
        if b == byte {
            hit(base + k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A few thousand pseudo-random byte strings over an alphabet rich in the searched bytes
    /// and their neighbours (high bits, bytes one apart), of every length up to 150.
    fn samples() -> Vec<Vec<u8>> {
        let alphabet = [
            b'\t', b'\n', b'\'', b'\\', b'a', 0, 0x80, 0xff, 0x08, 0x0a, b'&', b'(', b'[', b']',
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..4000)
            .map(|n| {
                let len = n % 150;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn each_equal_finds_every_match_in_order() {
        for hay in samples() {
            for byte in [b'\t', b'\'', 0, 0xff, 0x80] {
                let mut got = Vec::new();
                each_equal(&hay, byte, |k| got.push(k));
                let want: Vec<usize> = (0..hay.len()).filter(|&k| hay[k] == byte).collect();
                assert_eq!(got, want, "{hay:?} {byte}");
            }
        }
    }
}
