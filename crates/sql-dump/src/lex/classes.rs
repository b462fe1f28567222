//! Whether a short value holds a byte of a class (a quote or a backslash; a byte that
//! quoting or escaping would change), and where the first one is, sixteen bytes at a time:
//! on x86_64 with SSE2 compares and one mask per sixteen bytes (for [`any_in`], overlapping
//! windows covering a value of any length without a byte-by-byte tail); elsewhere byte by
//! byte in fixed windows ([`any_byte`]).

/// A class of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The byte `.0` or the byte `.1`.
    Either(u8, u8),
    /// A byte some context quotes or escapes, or that is not ASCII: below 0x20, above 0x7f,
    /// `'`, `"` or `\`.
    Loud,
}

impl Class {
    /// Whether `b` is in the class: the plain definition.
    #[inline]
    pub(crate) fn holds(self, b: u8) -> bool {
        match self {
            Class::Either(x, y) => (b == x) | (b == y),
            // `b as i8` below 0x20: a control byte or a byte above 0x7f.
            Class::Loud => ((b as i8) < 0x20) | (b == b'\\') | (b == b'\'') | (b == b'"'),
        }
    }
}

/// Whether a byte of `bytes` is in `class`.
#[inline]
pub(crate) fn any_in(bytes: &[u8], class: Class) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::any_in(bytes, class)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        any_byte(bytes, |b| class.holds(b))
    }
}

/// The index of the first byte of `bytes` in `class`: sixteen bytes a test, the last
/// fifteen or fewer byte by byte (a string's end is searched in the rest of the input
/// buffer, which is rarely that short).
#[inline]
pub(crate) fn first_in(bytes: &[u8], class: Class) -> Option<usize> {
    let (windows, rest) = bytes.as_chunks::<16>();
    for (w, window) in windows.iter().enumerate() {
        let mask = mask16(window, class);
        if mask != 0 {
            return Some(16 * w + mask.trailing_zeros() as usize);
        }
    }
    let k = rest.iter().position(|&b| class.holds(b))?;
    Some(16 * windows.len() + k)
}

/// The bytes of `window` in `class`, bit `k` for byte `k`.
#[inline(always)]
pub(crate) fn mask16(window: &[u8; 16], class: Class) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        let (lo, hi) = sse2::halves(window);
        sse2::hits(lo, hi, class) as u32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut mask = 0;
        for (k, &b) in window.iter().enumerate() {
            mask |= u32::from(class.holds(b)) << k;
        }
        mask
    }
}

/// Whether `test` holds for a byte of `bytes`, tested in windows of fixed size, which the
/// compiler turns into vector compares without a byte-by-byte tail: 16-byte windows and one
/// more ending where `bytes` ends (windows may overlap: each byte is tested at least once),
/// or two 8-byte windows, or byte by byte below 8 bytes.
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
#[inline]
pub(crate) fn any_byte(bytes: &[u8], test: impl Fn(u8) -> bool + Copy) -> bool {
    /// No early exit: a branch-free fold.
    #[inline]
    fn window(w: &[u8], test: impl Fn(u8) -> bool) -> bool {
        w.iter().fold(false, |any, &b| any | test(b))
    }
    if let Some(last) = bytes.last_chunk::<16>() {
        let (windows, _) = bytes.as_chunks::<16>();
        windows.iter().fold(false, |any, w| any | window(w, test)) | window(last, test)
    } else if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        window(first, test) | window(last, test)
    } else {
        window(bytes, test)
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    use super::Class;

    /// The mask of the bytes of the sixteen bytes `lo`, `hi` (little-endian) in `class`,
    /// one bit a byte.
    #[inline(always)]
    pub(super) fn hits(lo: u64, hi: u64, class: Class) -> i32 {
        // SAFETY: these intrinsics need SSE2 only, which is part of the x86_64 baseline:
        // every x86_64 CPU has it. They take values, no pointers.
        unsafe {
            let v = _mm_set_epi64x(hi as i64, lo as i64);
            let eq = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            let m = match class {
                Class::Either(a, b) => _mm_or_si128(eq(a), eq(b)),
                // A signed compare: bytes above 0x7f are negative.
                Class::Loud => _mm_or_si128(
                    _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), eq(b'\\')),
                    _mm_or_si128(eq(b'\''), eq(b'"')),
                ),
            };
            _mm_movemask_epi8(m)
        }
    }

    /// The sixteen bytes of `w` as two little-endian words.
    #[inline(always)]
    pub(super) fn halves(w: &[u8; 16]) -> (u64, u64) {
        let (lo, hi) = w.as_chunks::<8>().0.split_at(1);
        (u64::from_le_bytes(lo[0]), u64::from_le_bytes(hi[0]))
    }

    /// [`super::any_in`]: sixteen bytes a test, as 16-byte windows and one ending where
    /// `bytes` ends, or two 8-byte halves, two 4-byte quarters or three single bytes
    /// covering a shorter value (overlapping, never padded: a padding byte could be in the
    /// class).
    #[inline(always)]
    pub(super) fn any_in(bytes: &[u8], class: Class) -> bool {
        let pair = |lo: u64, hi: u64| hits(lo, hi, class) != 0;
        if let (Some(a), Some(b)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
            if bytes.len() <= 16 {
                return pair(u64::from_le_bytes(*a), u64::from_le_bytes(*b));
            }
            // A loop, not `Iterator::any`, which the compiler left as a call (perf).
            let (windows, _) = bytes.as_chunks::<16>();
            for w in windows {
                let (lo, hi) = halves(w);
                if pair(lo, hi) {
                    return true;
                }
            }
            let (lo, hi) = bytes.last_chunk::<16>().map_or((0, 0), halves);
            return pair(lo, hi);
        }
        if let (Some(a), Some(b)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
            let x = u64::from(u32::from_le_bytes(*a)) | u64::from(u32::from_le_bytes(*b)) << 32;
            return pair(x, x);
        }
        match bytes {
            [] => false,
            [first, .., last] | [first @ last] => {
                let mid = bytes[bytes.len() / 2];
                let x = u64::from(u32::from_le_bytes([*first, mid, *last, *first]));
                pair(x | x << 32, x | x << 32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value at every position of values of every length up to 40, over a
    /// background in and out of the class: `any_in` is its definition.
    #[test]
    fn any_in_is_its_definition() {
        let classes = [
            Class::Loud,
            Class::Either(b'\'', b'\\'),
            Class::Either(b'\\', b'\\'),
            Class::Either(0, 0xff),
        ];
        for class in classes {
            for background in [b'k', b' ', b'~'] {
                for len in 0..50 {
                    let base = vec![background; len];
                    assert!(!any_in(&base, class), "{class:?} {len}");
                    for at in 0..len {
                        for b in 0u8..=255 {
                            let mut value = base.clone();
                            value[at] = b;
                            let want = value.iter().any(|&c| class.holds(c));
                            assert_eq!(any_in(&value, class), want, "{class:?} {len} {at} {b}");
                            assert_eq!(any_byte(&value, |c| class.holds(c)), want);
                            let first = value.iter().position(|&c| class.holds(c));
                            assert_eq!(first_in(&value, class), first, "{class:?} {len} {at} {b}");
                        }
                    }
                }
            }
        }
    }
}
