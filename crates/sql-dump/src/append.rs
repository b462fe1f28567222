//! Appending short byte runs to a `Vec<u8>` without a call to the C library's `memcpy`:
//! a row's values, quotes and separators are a few to a few dozen bytes long, lengths vary,
//! and `extend_from_slice` calls `memcpy` for each (about 20 calls a row on the realistic
//! MySQL dump). Up to 32 bytes are copied here as two overlapping words (16, 8, 4 bytes or
//! single bytes) when the vector has room; longer runs, or a full vector, take
//! `extend_from_slice` (branch tuple27 in docs/performance.md).

use std::ptr::copy_nonoverlapping;

/// Longest run copied inline.
const SHORT: usize = 32;

/// Appends `src` to `out`, as `out.extend_from_slice(src)`.
#[inline(always)]
pub(crate) fn append(out: &mut Vec<u8>, src: &[u8]) {
    let n = src.len();
    let len = out.len();
    if n > SHORT || out.capacity() - len < n {
        out.extend_from_slice(src);
        return;
    }
    // SAFETY: `out` has room for `n` more bytes (checked above), so `dst..dst + n` is inside
    // its allocation; every copy below reads inside `src` (`n` bytes) and writes inside
    // `dst..dst + n` (a window of `w <= n` bytes at 0 and one ending at `n`), and together
    // the windows cover `0..n`, so the `n` bytes after `len` are initialised before
    // `set_len`. `src` cannot overlap the spare capacity of `out`, which `out` borrows
    // mutably.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        let s = src.as_ptr();
        if n >= 16 {
            copy_nonoverlapping(s, dst, 16);
            copy_nonoverlapping(s.add(n - 16), dst.add(n - 16), 16);
        } else if n >= 8 {
            copy_nonoverlapping(s, dst, 8);
            copy_nonoverlapping(s.add(n - 8), dst.add(n - 8), 8);
        } else if n >= 4 {
            copy_nonoverlapping(s, dst, 4);
            copy_nonoverlapping(s.add(n - 4), dst.add(n - 4), 4);
        } else if n > 0 {
            *dst = *s;
            *dst.add(n / 2) = *s.add(n / 2);
            *dst.add(n - 1) = *s.add(n - 1);
        }
        out.set_len(len + n);
    }
}

/// Appends `src` between two `quote` bytes.
#[inline(always)]
pub(crate) fn append_quoted(out: &mut Vec<u8>, quote: u8, src: &[u8]) {
    out.reserve(src.len() + 2);
    out.push(quote);
    append(out, src);
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length up to 40 at every spare room from 0 to 40 (so both ways), into vectors
    /// already holding 0 to 3 bytes: the same bytes as `extend_from_slice`.
    #[test]
    fn append_is_extend_from_slice() {
        let source: Vec<u8> = (0..40u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(1))
            .collect();
        for n in 0..=40 {
            let src = &source[..n];
            for held in 0..4 {
                for room in 0..=40 {
                    let mut out: Vec<u8> = Vec::with_capacity(held + room);
                    out.extend((0..held).map(|b| 200 + b as u8));
                    let mut want = out.clone();
                    append(&mut out, src);
                    want.extend_from_slice(src);
                    assert_eq!(out, want, "{n} {held} {room}");
                    append_quoted(&mut out, b'\'', src);
                    want.push(b'\'');
                    want.extend_from_slice(src);
                    want.push(b'\'');
                    assert_eq!(out, want, "{n} {held} {room}");
                }
            }
        }
    }
}
