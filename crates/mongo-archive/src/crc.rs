//! CRC-64 as mongodump computes it (Go `hash/crc64` with the ECMA table, i.e. CRC-64/XZ).

/// A running CRC-64/XZ digest over the raw bytes of a namespace's documents.
///
/// The register is kept as a plain `u64` and fed through the `crc-fast` crate (folding with
/// VPCLMULQDQ/AVX-512 or PCLMULQDQ where the CPU has them, chosen at run time; a table
/// elsewhere), so a digest is as cheap to copy as the integer it holds (the threaded rewrite
/// keeps one per document read).
///
/// ```
/// use mongo_archive::Crc64;
/// let mut crc = Crc64::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.value(), 0x995D_C9BB_DF19_39FA);
/// ```
#[derive(Clone)]
pub struct Crc64 {
    /// The register before the final XOR (CRC-64/XZ starts and ends with all ones).
    state: u64,
}

impl Crc64 {
    /// An empty digest (value 0).
    pub fn new() -> Crc64 {
        Crc64 { state: !0 }
    }

    /// Feeds bytes.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        let mut d =
            crc_fast::Digest::new_with_init_state(crc_fast::CrcAlgorithm::Crc64Xz, self.state);
        d.update(bytes);
        self.state = d.get_state();
    }

    /// The CRC of everything fed so far.
    pub fn value(&self) -> u64 {
        self.state ^ !0
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crc64({:#018x})", self.value())
    }
}

/// The CRC-64/XZ of `bytes` in one call.
pub fn crc64(bytes: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(bytes);
    c.value()
}

/// CRC-64/XZ's polynomial, bit-reflected (bit 63 is the coefficient of x^0).
const POLY: u64 = 0xC96C_5795_D787_0F42;

/// `a·b mod P` over GF(2), both in the reflected representation of the CRC.
const fn mult_mod_p(a: u64, mut b: u64) -> u64 {
    let mut m = 1u64 << 63;
    let mut p = 0u64;
    while m != 0 {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// `X2N[k]` = x^(2^k) mod P, for every k a 64-bit length in bits can need (`len·8`: k < 67).
const X2N: [u64; 67] = {
    let mut t = [0u64; 67];
    let mut p = 1u64 << 62; // x^1
    let mut k = 0;
    while k < 67 {
        t[k] = p;
        p = mult_mod_p(p, p);
        k += 1;
    }
    t
};

/// x^(8·len) mod P: the operator that appends `len` zero bytes to a CRC register; what
/// [`crc64_combine_shifted`] takes (computing it costs one multiplication per set bit of `len`,
/// so a worker computes it and the thread joining the parts only multiplies once).
pub(crate) fn crc64_shift(mut len: u64) -> u64 {
    let mut p = 1u64 << 63; // x^0
    let mut k = 3; // 8 = 2^3 bits a byte
    while len != 0 {
        if len & 1 != 0 {
            p = mult_mod_p(X2N[k], p);
        }
        len >>= 1;
        k += 1;
    }
    p
}

/// The CRC-64/XZ of `A` followed by `B`, from `crc_a` = CRC of `A`, `crc_b` = CRC of `B` and
/// `len_b` = the length of `B` in bytes, without the bytes (zlib's `crc32_combine` for this
/// CRC: the initial and final XOR of all ones cancel). Costs one GF(2) multiplication per set
/// bit of `len_b` (well under a microsecond), so workers can hash their parts of a stream and
/// the caller joins the parts in order.
///
/// ```
/// use mongo_archive::{crc64, crc64_combine};
/// let (a, b) = (b"12345".as_slice(), b"6789".as_slice());
/// assert_eq!(crc64_combine(crc64(a), crc64(b), b.len() as u64), crc64(b"123456789"));
/// ```
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    mult_mod_p(crc64_shift(len_b), crc_a) ^ crc_b
}

/// [`crc64_combine`] with `shift` = [`crc64_shift`]`(len_b)` computed ahead: one GF(2)
/// multiplication.
pub(crate) fn crc64_combine_shifted(crc_a: u64, crc_b: u64, shift: u64) -> u64 {
    mult_mod_p(shift, crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_matches_go_ecma() {
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn combine_joins_parts() {
        let data: Vec<u8> = (0..5_000u32).map(|i| (i * 31 + 7) as u8).collect();
        for cut in [0, 1, 7, 8, 63, 64, 1000, 4999, 5000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                crc64_combine(crc64(a), crc64(b), b.len() as u64),
                crc64(&data),
                "cut at {cut}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn combine_equals_direct_crc(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
        ) {
            let mut joined = a.clone();
            joined.extend_from_slice(&b);
            proptest::prop_assert_eq!(
                crc64_combine(crc64(&a), crc64(&b), b.len() as u64),
                crc64(&joined)
            );
        }
    }

    #[test]
    fn combine_shifted_equals_combine() {
        for len in [0u64, 1, 5, 255, 256, 4096, 262_144, 16 << 20, u64::MAX] {
            let (a, b) = (0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321);
            assert_eq!(
                crc64_combine_shifted(a, b, crc64_shift(len)),
                crc64_combine(a, b, len),
                "{len}"
            );
        }
    }

    #[test]
    fn combine_of_long_zero_runs() {
        // Lengths with high bits set use the table's far entries.
        let zeros = vec![0u8; 1 << 20];
        let z = crc64(&zeros);
        let twice = crc64_combine(z, z, zeros.len() as u64);
        let mut both = zeros.clone();
        both.extend_from_slice(&zeros);
        assert_eq!(twice, crc64(&both));
    }

    /// CRC-64/XZ by its definition, a bit at a time (reflected polynomial, all-ones initial
    /// register and final XOR).
    fn bitwise(bytes: &[u8]) -> u64 {
        let mut reg = !0u64;
        for &b in bytes {
            reg ^= u64::from(b);
            for _ in 0..8 {
                reg = if reg & 1 != 0 {
                    (reg >> 1) ^ POLY
                } else {
                    reg >> 1
                };
            }
        }
        !reg
    }

    proptest::proptest! {
        /// The SIMD digest, fed in pieces of any sizes (short ones take its small-input paths,
        /// long ones its folding loops), equals the definition.
        #[test]
        fn digest_in_pieces_equals_the_definition(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..6000),
            cuts in proptest::collection::vec(0usize..6000, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut c = Crc64::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                c.update(&data[at..cut]);
                at = cut;
            }
            proptest::prop_assert_eq!(c.value(), bitwise(&data));
            proptest::prop_assert_eq!(crc64(&data), bitwise(&data));
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = Crc64::new();
        for chunk in data.chunks(37) {
            c.update(chunk);
        }
        assert_eq!(c.value(), crc64(&data));
        assert_ne!(c.value(), 0);
    }
}
