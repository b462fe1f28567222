//! A pull buffer over the input stream that keeps byte offsets and line numbers.
//!
//! Parsers look at [`Input::avail`], ask for more with [`Input::fill`] (which keeps every
//! unconsumed byte, growing the buffer only when one item does not fit) and move on with
//! [`Input::consume`]. Nothing depends on how the reader chunks its data.
//!
//! Line numbers are only needed for error messages, so they are counted lazily: consuming
//! bytes costs nothing, and the newlines of consumed bytes are counted once, when the buffer
//! drops them (or when a position is asked for).

use std::io::{self, Read};

use crate::error::SqlError;

/// Initial buffer size.
const INITIAL: usize = 256 * 1024;

/// Largest single item (one row, one statement head, one DDL statement) held in memory.
pub(crate) const MAX_ITEM: usize = 1 << 30;

/// Buffered input with position tracking.
pub(crate) struct Input<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    offset: u64,
    /// 1-based line number of the byte at `buf[counted]`.
    line: u64,
    /// Index in `buf` up to which newlines are counted into `line` (never past `pos`).
    counted: usize,
}

impl<R: Read> Input<R> {
    /// Wraps a reader.
    pub(crate) fn new(reader: R) -> Input<R> {
        Input {
            reader,
            buf: vec![0; INITIAL],
            pos: 0,
            end: 0,
            eof: false,
            offset: 0,
            line: 1,
            counted: 0,
        }
    }

    /// The unconsumed bytes held now.
    #[inline]
    pub(crate) fn avail(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// True once the reader reported its end.
    #[inline]
    pub(crate) fn eof(&self) -> bool {
        self.eof
    }

    /// Absolute offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// 1-based line number of the first unconsumed byte.
    #[cfg(test)]
    pub(crate) fn line(&self) -> u64 {
        self.position_at(0).0
    }

    /// Line and offset of the byte `rel` bytes past the first unconsumed one.
    pub(crate) fn position_at(&self, rel: usize) -> (u64, u64) {
        let rel = rel.min(self.end - self.pos);
        let lines = count_newlines(&self.buf[self.counted..self.pos + rel]);
        (self.line + lines, self.offset + rel as u64)
    }

    /// Counts the newlines of the consumed bytes not counted yet.
    fn count_consumed(&mut self) {
        self.line += count_newlines(&self.buf[self.counted..self.pos]);
        self.counted = self.pos;
    }

    /// Reads more bytes, keeping all unconsumed ones. Returns false when nothing more can
    /// come (end of input).
    pub(crate) fn fill(&mut self) -> Result<bool, SqlError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && (self.end == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.count_consumed();
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            self.counted = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_ITEM {
                return Err(SqlError::TooLarge {
                    line: self.position_at(0).0,
                    offset: self.offset,
                    limit: MAX_ITEM,
                });
            }
            let new_len = (self.buf.len() * 2).min(MAX_ITEM);
            self.buf.resize(new_len, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(SqlError::Read {
                        offset: self.offset + (self.end - self.pos) as u64,
                        source,
                    })
                }
            }
        }
    }

    /// Makes at least `n` bytes available unless the input ends first. Returns the number
    /// available.
    pub(crate) fn ensure(&mut self, n: usize) -> Result<usize, SqlError> {
        while self.end - self.pos < n {
            if !self.fill()? {
                break;
            }
        }
        Ok(self.end - self.pos)
    }

    /// Drops the first `n` available bytes (their newlines are counted later, once).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.pos);
        self.offset += n as u64;
        self.pos += n;
    }

    /// Drops the first `n` available bytes, of which the caller knows `newlines` are `\n`
    /// (so they need not be counted again).
    #[inline]
    pub(crate) fn consume_lines(&mut self, n: usize, newlines: u64) {
        self.count_consumed();
        self.line += newlines;
        self.counted += n;
        self.consume(n);
    }
}

/// Number of `\n` bytes.
///
/// Sums byte-wide flags over blocks of 255 bytes (a byte cannot overflow within a block),
/// which the compiler turns into vector compares and subtractions; a plain
/// `filter().count()` widens every byte to 64 bits and runs several times slower.
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| {
            let n = block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n')));
            u64::from(n)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns one byte per call.
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }

    #[test]
    fn tracks_lines_and_offsets_across_refills() {
        let data = b"ab\ncd\nef";
        let mut input = Input::new(OneByte(data));
        assert_eq!(input.ensure(4).unwrap(), 4);
        input.consume(4);
        assert_eq!((input.line(), input.offset()), (2, 4));
        assert_eq!(input.ensure(10).unwrap(), 4);
        assert_eq!(input.avail(), b"d\nef");
        assert!(input.eof());
        assert_eq!(input.position_at(3), (3, 7));
        input.consume_lines(2, 1);
        assert_eq!((input.line(), input.offset()), (3, 6));
    }

    #[test]
    fn counts_newlines_of_any_length() {
        for len in [
            0usize,
            1,
            31,
            32,
            33,
            255 * 32 - 1,
            255 * 32,
            255 * 32 + 1,
            20_000,
        ] {
            let bytes: Vec<u8> = (0..len)
                .map(|i| if i % 3 == 0 { b'\n' } else { b'x' })
                .collect();
            assert_eq!(
                count_newlines(&bytes),
                len.div_ceil(3) as u64,
                "length {len}"
            );
        }
    }
}
