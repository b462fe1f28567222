//! The lines of a PostgreSQL `COPY ... FROM stdin` text block: where the block ends (the
//! `\\.` line) and where one row's tab-separated fields are.

use super::classes::{mask16, Class};

/// Length of the terminator line `\.` at the start of `a` (with its line end), if it
/// is one; `Err(())` when more bytes are needed to tell.
pub(crate) fn terminator(a: &[u8], eof: bool) -> Result<Option<usize>, ()> {
    if a.len() < 2 {
        return if eof || (!a.is_empty() && a[0] != b'\\') {
            Ok(None)
        } else {
            Err(())
        };
    }
    if &a[..2] != b"\\." {
        return Ok(None);
    }
    match a.get(2) {
        None if eof => Ok(Some(2)),
        None => Err(()),
        Some(b'\n') => Ok(Some(3)),
        Some(b'\r') => match a.get(3) {
            Some(b'\n') => Ok(Some(4)),
            None if !eof => Err(()),
            _ => Ok(Some(3)),
        },
        Some(_) => Ok(None),
    }
}

/// Length of a COPY `line` without its line end (`\n` or `\r\n`).
#[inline]
fn content_len(line: &[u8]) -> usize {
    line.len().saturating_sub(1) - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r')
}

/// The spans of the tab-separated fields of one COPY `line` (ending with `\n` or `\r\n`,
/// which no span includes).
pub(crate) fn split_fields(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    let content = &line[..content_len(line)];
    spans.clear();
    #[cfg(target_arch = "x86_64")]
    if content.len() >= avx2::LANES && std::is_x86_feature_detected!("avx2") {
        let mut start = 0;
        // SAFETY: the CPU has AVX2 (checked just above); `content` holds 32 bytes or more.
        unsafe {
            avx2::each_tab(content, |k| {
                spans.push((start, k));
                start = k + 1;
            });
        }
        spans.push((start, content.len()));
        return;
    }
    split_portable(content, spans);
}

/// [`split_fields`] of a line's `content` (`spans` empty) without AVX2, or for a line
/// shorter than 32 bytes: sixteen bytes at a time (a row's fields are short, `memchr` per
/// tab costs more), the last fifteen or fewer eight at a time.
fn split_portable(content: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut start = 0;
    let (windows, rest) = content.as_chunks::<16>();
    for (w, window) in windows.iter().enumerate() {
        let mut tabs = mask16(window, Class::Either(b'\t', b'\t'));
        while tabs != 0 {
            let k = 16 * w + tabs.trailing_zeros() as usize;
            spans.push((start, k));
            start = k + 1;
            tabs &= tabs - 1;
        }
    }
    let base = 16 * windows.len();
    super::swar::each_equal(rest, b'\t', |k| {
        spans.push((start, base + k));
        start = base + k + 1;
    });
    spans.push((start, content.len()));
}

/// The number of fields [`split_fields`] finds in `line` (a COPY line, with its line end):
/// its tabs and one, counted without writing spans (the reading thread's width check of a
/// row a worker splits: docs/performance.md, branch row26).
pub(crate) fn field_count(line: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if line.len() >= avx2::LANES && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); `line` holds 32 bytes or more.
        return unsafe { avx2::count_tabs(line) } + 1;
    }
    count_portable(line)
}

/// [`field_count`] sixteen bytes at a time, the last fifteen or fewer eight at a time.
fn count_portable(line: &[u8]) -> usize {
    let (windows, rest) = line.as_chunks::<16>();
    let tabs = windows
        .iter()
        .map(|w| mask16(w, Class::Either(b'\t', b'\t')).count_ones() as usize)
        .sum::<usize>();
    let mut tail = 0;
    super::swar::each_equal(rest, b'\t', |_| tail += 1);
    tabs + tail + 1
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The tabs of a line 32 bytes at a time, the last (partial) 32 read as the line's last
    //! 32 bytes, the ones already seen shifted out of the mask: no byte-by-byte tail, no
    //! padding. Called only after `is_x86_feature_detected!` said the CPU has AVX2.

    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8,
    };

    /// Bytes compared at once.
    pub(super) const LANES: usize = 32;

    /// The tabs among the 32 bytes of `bytes` at `p`, bit `k` for byte `p + k`.
    ///
    /// # Safety
    /// The CPU has AVX2 and `p + 32 <= bytes.len()`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn tabs(bytes: &[u8], p: usize) -> u32 {
        debug_assert!(p + LANES <= bytes.len());
        // SAFETY: `p..p + 32` is inside `bytes` (the caller's promise); `loadu` takes
        // unaligned addresses.
        let v = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(p).cast::<__m256i>()) };
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\t' as i8))) as u32
    }

    /// Calls `hit` with the index of every tab of `bytes`, in order.
    ///
    /// # Safety
    /// The CPU has AVX2 and `bytes.len() >= 32`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn each_tab(bytes: &[u8], mut hit: impl FnMut(usize)) {
        let n = bytes.len();
        let mut each = |mut mask: u32, base: usize| {
            while mask != 0 {
                hit(base + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
        };
        let mut p = 0;
        while p + LANES <= n {
            // SAFETY: `p + 32 <= n`.
            each(unsafe { tabs(bytes, p) }, p);
            p += LANES;
        }
        if p < n {
            // The last 32 bytes, without the `32 - (n - p)` (1 to 31) already seen.
            let last = n - LANES;
            // SAFETY: `last + 32 = n`.
            each(unsafe { tabs(bytes, last) } >> (p - last), p);
        }
    }

    /// The number of tabs in `bytes`.
    ///
    /// # Safety
    /// The CPU has AVX2 and `bytes.len() >= 32`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn count_tabs(bytes: &[u8]) -> usize {
        let n = bytes.len();
        let mut count = 0;
        let mut p = 0;
        while p + LANES <= n {
            // SAFETY: `p + 32 <= n`.
            count += unsafe { tabs(bytes, p) }.count_ones() as usize;
            p += LANES;
        }
        if p < n {
            let last = n - LANES;
            // SAFETY: `last + 32 = n`.
            count += (unsafe { tabs(bytes, last) } >> (p - last)).count_ones() as usize;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a line are what splitting its content at every tab gives.
    #[test]
    fn fields_are_the_tab_separated_parts() {
        let lines: &[&[u8]] = &[
            b"\n",
            b"1\n",
            b"1\t\n",
            b"\t\t\r\n",
            b"12\tK\xc3\xa9thir\tBrown\tkrethir.brown1@ucl.example\t+44 7780 463556\t2186\t1\t2019-02-12\n",
            b"a\\tb\tc\\\td\r\n",
            b"no line end",
        ];
        for line in lines {
            let mut spans = Vec::new();
            split_fields(line, &mut spans);
            let content = line.len().saturating_sub(1)
                - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
            let want: Vec<&[u8]> = line[..content].split(|&b| b == b'\t').collect();
            let got: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            assert_eq!(got, want, "{line:?}");
        }
    }

    /// A tab at every position of lines of every length up to 130, alone and beside
    /// tabs everywhere else, with either line end: [`split_fields`] and [`field_count`]
    /// (AVX2 from 32 bytes where the CPU has it) as the portable ones and the definition.
    #[test]
    fn a_tab_at_every_position() {
        for len in 0..130 {
            for at in 0..len {
                for background in [b'x', b'\t'] {
                    for end in [&b"\n"[..], b"\r\n"] {
                        let mut line = vec![background; len];
                        line[at] = if background == b'\t' { b'y' } else { b'\t' };
                        line.extend_from_slice(end);
                        let (mut got, mut portable) = (vec![(9, 9)], Vec::new());
                        split_fields(&line, &mut got);
                        split_portable(&line[..len], &mut portable);
                        let want: Vec<(usize, usize)> = {
                            let mut spans = Vec::new();
                            let mut start = 0;
                            for (k, &b) in line[..len].iter().enumerate() {
                                if b == b'\t' {
                                    spans.push((start, k));
                                    start = k + 1;
                                }
                            }
                            spans.push((start, len));
                            spans
                        };
                        assert_eq!(got, want, "{len} {at} {background}");
                        assert_eq!(portable, want, "{len} {at} {background}");
                        assert_eq!(field_count(&line), want.len(), "{len} {at} {background}");
                        assert_eq!(count_portable(&line), want.len(), "{len} {at}");
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Lines of every length up to 200 bytes (across the sixteen-byte windows and the
        /// tail, and the AVX2 path's 32-byte chunks and its last, overlapping one), rich in
        /// tabs and their neighbours: the fields are the tab-separated parts, and
        /// `field_count` counts them.
        #[test]
        fn fields_of_any_line(
            content in proptest::collection::vec(proptest::sample::select(
                vec![b'\t', b'\t', b'a', b'\\', 0x08, 0x0a, 0x89, b'\r', 0xff]), 0..200),
            crlf in proptest::bool::ANY,
        ) {
            let mut line: Vec<u8> = content.into_iter().filter(|&b| b != b'\n').collect();
            line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            let mut spans = Vec::new();
            split_fields(&line, &mut spans);
            // Without its line end: `\n`, or `\r\n` whatever came before.
            let end = line.len() - 1 - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
            let content = &line[..end];
            let want: Vec<&[u8]> = content.split(|&b| b == b'\t').collect();
            let got: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            proptest::prop_assert_eq!(got, want);
            // The reading thread's count of fields is the number of spans the split gives.
            proptest::prop_assert_eq!(field_count(&line), spans.len());
        }
    }
}
