//! A Teddy-style SIMD candidate search (AVX2) for the echo guard's pre-check: one pass over
//! a span finds every position where one of up to 8 fingerprints (a pair of adjacent
//! bytes, each a small set of byte values, e.g. both cases of a letter) starts, whatever
//! the number of needles; optionally also every backslash followed by a byte outside a
//! given set (an escape the caller must look at).
//!
//! Each fingerprint gets a bucket (a bit). Four 16-entry tables map a byte's low and high
//! nibbles, at the pair's first and second position, to the buckets whose byte there has
//! that nibble; a byte matches a bucket where both its nibbles' entries have the bucket's
//! bit, which for one fingerprint per bucket is exactly the fingerprint's bytes (both cases
//! of a letter share the low nibble). 32 positions are tested with two loads and about a
//! dozen vector instructions (`pshufb` looks the nibbles up); candidates are verified by the
//! caller. The set after a backslash is tested exactly the same way (ASCII only): a table
//! by low nibble of the high nibbles present, and a table of each high nibble's bit.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
    _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16,
    _mm256_storeu_si256,
};

/// Bytes tested per step.
pub(super) const STEP: usize = 32;

/// A (low nibble, high nibble) pair of tables, each 16 entries repeated for both 128-bit
/// lanes (`pshufb` looks up within a lane).
type NibbleTables = ([u8; 32], [u8; 32]);

/// The nibble tables of up to 8 buckets, and of the bytes that may follow a backslash.
#[derive(Debug, Clone, Default)]
pub(super) struct Masks {
    /// Tables of the pair's first byte.
    first: NibbleTables,
    /// Tables of the pair's second byte.
    second: NibbleTables,
    /// Bytes after a backslash that make no candidate: by low nibble, the bits of the high
    /// nibbles present (ASCII only); `None`: backslashes are no candidates.
    regular: Option<NibbleTables>,
}

/// Sets `bit` for byte `b` in a (low, high) pair of nibble tables.
fn set(tables: &mut NibbleTables, b: u8, bit: u8) {
    let (lo, hi) = (usize::from(b & 0x0f), usize::from(b >> 4));
    tables.0[lo] |= bit;
    tables.0[lo + 16] |= bit;
    tables.1[hi] |= bit;
    tables.1[hi + 16] |= bit;
}

impl Masks {
    /// Forgets every bucket and the escapes.
    pub(super) fn clear(&mut self) {
        *self = Masks::default();
    }

    /// Adds to `bucket` (0-7) the pairs whose first byte is in `first` and second in
    /// `second`.
    pub(super) fn add(&mut self, bucket: usize, first: &[u8], second: &[u8]) {
        let bit = 1u8 << (bucket % 8);
        for &b in first {
            set(&mut self.first, b, bit);
        }
        for &b in second {
            set(&mut self.second, b, bit);
        }
    }

    /// Makes every backslash followed by a byte not in `regular` (ASCII bytes; others are
    /// ignored) a candidate too.
    pub(super) fn watch_escapes(&mut self, regular: &[u8]) {
        let mut t: NibbleTables = ([0; 32], [0; 32]);
        for &b in regular.iter().filter(|b| b.is_ascii()) {
            let (lo, hi) = (usize::from(b & 0x0f), b >> 4);
            t.0[lo] |= 1 << hi;
            t.0[lo + 16] |= 1 << hi;
        }
        for hi in 0..8 {
            t.1[hi] = 1 << hi;
            t.1[hi + 16] = 1 << hi;
        }
        self.regular = Some(t);
    }

    /// Every position `p` of `span` (with `p + 1` in `span`) where some bucket's pair (its
    /// bytes `distance` apart, 1 to [`MAX_DISTANCE`]) may start, or a watched escape is, is
    /// given to `candidate` with the buckets matched there (in increasing order, possibly
    /// some positions where none does), until it returns true; the answer is then true.
    /// Needs AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn scan(
        &self,
        span: &[u8],
        distance: usize,
        candidate: impl FnMut(usize, u8) -> bool,
    ) -> bool {
        let tables = Tables {
            first: (load(&self.first.0), load(&self.first.1)),
            second: (load(&self.second.0), load(&self.second.1)),
            distance: distance.clamp(1, MAX_DISTANCE),
        };
        match self.regular.as_ref().map(|t| (load(&t.0), load(&t.1))) {
            Some(regular) => tables.scan_with(span, candidate, |step| escapes(step, regular)),
            None => tables.scan_with(span, candidate, |_| 0),
        }
    }
}

/// Largest distance between the two bytes of a pair.
pub(super) const MAX_DISTANCE: usize = 8;

/// Bytes read per step: the block and the bytes up to `MAX_DISTANCE` past it.
const WINDOW: usize = STEP + MAX_DISTANCE;

/// The tables loaded into registers.
#[cfg(target_arch = "x86_64")]
struct Tables {
    first: (__m256i, __m256i),
    second: (__m256i, __m256i),
    distance: usize,
}

#[cfg(target_arch = "x86_64")]
impl Tables {
    /// [`Masks::scan`] with `escapes` giving the bits of the positions of a block where a
    /// watched escape starts (from the block and the block one byte further).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn scan_with(
        &self,
        span: &[u8],
        mut candidate: impl FnMut(usize, u8) -> bool,
        escapes: impl Fn(Step) -> u32,
    ) -> bool {
        let mut i = 0;
        while let Some(w) = span.get(i..).and_then(|s| s.first_chunk::<WINDOW>()) {
            let (buckets, bits) = self.hits(w, &escapes);
            if bits != 0 && self.each(buckets, bits, |l, b| candidate(i + l, b)) {
                return true;
            }
            i += STEP;
        }
        // The last bytes (fewer than `WINDOW`) through a zero-padded copy, in one or two steps.
        let rest = span.get(i..).unwrap_or_default();
        let mut padded = [0u8; STEP + WINDOW];
        padded[..rest.len()].copy_from_slice(rest);
        let mut j = 0;
        while j + 1 < rest.len() {
            let Some(w) = padded.get(j..).and_then(|s| s.first_chunk::<WINDOW>()) else {
                break;
            };
            let (buckets, bits) = self.hits(w, &escapes);
            // Positions whose next byte is in the span (pairs and escapes need it).
            let valid = rest.len() - 1 - j;
            let bits = if valid >= STEP {
                bits
            } else {
                bits & ((1u32 << valid) - 1)
            };
            if bits != 0 && self.each(buckets, bits, |l, b| candidate(i + j + l, b)) {
                return true;
            }
            j += STEP;
        }
        false
    }

    /// The buckets matched at each position `0..STEP` of `w`, and the positions where some
    /// bucket or an escape matched, as bits.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hits(&self, w: &[u8; WINDOW], escapes: &impl Fn(Step) -> u32) -> (__m256i, u32) {
        let block = |at: usize| w.get(at..).and_then(|s| s.first_chunk::<STEP>());
        let (Some(w0), Some(w1), Some(wd)) = (block(0), block(1), block(self.distance)) else {
            return (_mm256_setzero_si256(), 0);
        };
        let step = Step {
            w0: load(w0),
            w1: load(w1),
        };
        let both = _mm256_and_si256(lookup(step.w0, self.first), lookup(load(wd), self.second));
        let none = _mm256_cmpeq_epi8(both, _mm256_setzero_si256());
        (both, !(_mm256_movemask_epi8(none) as u32) | escapes(step))
    }

    /// Calls `f` on each position of `bits` with its buckets in `buckets`, lowest first,
    /// until it returns true.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn each(&self, buckets: __m256i, bits: u32, f: impl FnMut(usize, u8) -> bool) -> bool {
        let mut lanes = [0u8; STEP];
        // SAFETY: `lanes` is 32 writable bytes, and `storeu` needs no alignment.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), buckets) };
        each_bit(bits, &lanes, f)
    }
}

/// One step's bytes: the block, and the block one byte further (the byte after each
/// position).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Step {
    w0: __m256i,
    w1: __m256i,
}

/// The positions of a block where a backslash is followed by a byte outside the regular
/// set, as bits.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn escapes(step: Step, regular: (__m256i, __m256i)) -> u32 {
    let backslash = _mm256_cmpeq_epi8(step.w0, _mm256_set1_epi8(b'\\' as i8));
    let regular = lookup(step.w1, regular);
    let irregular = _mm256_cmpeq_epi8(regular, _mm256_setzero_si256());
    _mm256_movemask_epi8(_mm256_and_si256(backslash, irregular)) as u32
}

/// The buckets each byte of `v` matches in a (low, high) pair of nibble tables.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn lookup(v: __m256i, (lo, hi): (__m256i, __m256i)) -> __m256i {
    let nibble = _mm256_set1_epi8(0x0f);
    let low = _mm256_and_si256(v, nibble);
    let high = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
    _mm256_and_si256(_mm256_shuffle_epi8(lo, low), _mm256_shuffle_epi8(hi, high))
}

/// Loads a 32-byte table or block.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
fn load(b: &[u8; 32]) -> __m256i {
    // SAFETY: `b` is 32 readable bytes, and `loadu` needs no alignment.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

/// Calls `f` on the index of each set bit of `bits`, lowest first, with that lane of
/// `lanes`, until it returns true.
#[inline]
fn each_bit(mut bits: u32, lanes: &[u8; STEP], mut f: impl FnMut(usize, u8) -> bool) -> bool {
    while bits != 0 {
        let l = bits.trailing_zeros() as usize;
        if f(l, lanes.get(l).copied().unwrap_or(0)) {
            return true;
        }
        bits &= bits - 1;
    }
    false
}
