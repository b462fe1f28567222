//! The input side: the buffered input and the statement lexer, and the ways of reading a
//! statement from them (capture it whole, stream it, find one tuple or one line).

use std::io::{BufWriter, Read, Write};

use crate::emit::{Held, Out};
use crate::error::SqlError;
use crate::input::Input;
use crate::lex::rules::block_comment_end;
use crate::lex::{Lexer, Scan};
use crate::tokens::QName;
use crate::Dialect;

/// The input and its lexer.
pub(crate) struct Source<R> {
    /// The input.
    pub(crate) input: Input<R>,
    /// The statement lexer (its delimiter and `standard_conforming_strings` follow the dump).
    pub(crate) lexer: Lexer,
}

const UNTERMINATED: &str =
    "the input ends inside a statement (unterminated string, comment or quoted name)";

impl<R: Read> Source<R> {
    /// A source over `input`.
    pub(crate) fn new(input: Input<R>, dialect: Dialect) -> Self {
        Source {
            input,
            lexer: Lexer::new(dialect),
        }
    }

    /// An error at `rel` bytes past the first unconsumed byte.
    pub(crate) fn err(
        &self,
        rel: usize,
        table: Option<&QName>,
        message: impl Into<String>,
    ) -> SqlError {
        let (line, offset) = self.input.position_at(rel);
        SqlError::Syntax {
            line,
            offset,
            table: table.map(QName::display),
            message: message.into(),
        }
    }

    /// Index just past the first `needle` in the input (or the end of input).
    pub(crate) fn find(&mut self, needle: &[u8]) -> Result<usize, SqlError> {
        Ok(match self.find_from(0, needle)? {
            Some(end) => end,
            None => self.input.avail().len(),
        })
    }

    /// Index just past the first `needle` at or after `from`, or `None` when the input ends
    /// first.
    pub(crate) fn find_from(
        &mut self,
        mut from: usize,
        needle: &[u8],
    ) -> Result<Option<usize>, SqlError> {
        loop {
            let a = self.input.avail();
            if let Some(k) = memchr::memmem::find(&a[from.min(a.len())..], needle) {
                return Ok(Some(from + k + needle.len()));
            }
            from = from.max(a.len().saturating_sub(needle.len() - 1));
            if !self.input.fill()? {
                return Ok(None);
            }
        }
    }

    /// The end of the `/* ... */` comment at the start of the input, nested as the lexer
    /// nests them ([`crate::lex::rules::block_comment_end`]). A comment the input never
    /// closes is an error: whatever it swallowed (data statements, rows) would pass unread.
    pub(crate) fn comment_end(&mut self) -> Result<usize, SqlError> {
        let dialect = self.lexer.syntax().dialect;
        let (mut from, mut depth) = (2, 1);
        loop {
            match block_comment_end(dialect, self.input.avail(), from, depth) {
                Ok(end) => return Ok(end),
                Err((resume, open)) => (from, depth) = (resume, open),
            }
            if !self.input.fill()? {
                return Err(self.err(
                    0,
                    None,
                    "the input ends inside a /* comment that starts here",
                ));
            }
        }
    }

    /// Index just past the first line end at or after `from` (or the end of input).
    pub(crate) fn line_end(&mut self, from: usize) -> Result<usize, SqlError> {
        loop {
            let a = self.input.avail();
            if let Some(k) = memchr::memchr(b'\n', &a[from..]) {
                return Ok(from + k + 1);
            }
            if !self.input.fill()? {
                return Ok(self.input.avail().len());
            }
        }
    }

    /// Finds the end of the statement at the start of the input, holding at most `limit`
    /// bytes. Returns `(end, complete)`; when not complete, `end` bytes are scanned.
    pub(crate) fn capture(&mut self, limit: usize) -> Result<(usize, bool), SqlError> {
        self.lexer.reset(false);
        let mut scanned = 0;
        loop {
            let eof = self.input.eof();
            match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                Scan::Found(e) => return Ok((scanned + e, true)),
                Scan::More(m) => {
                    scanned += m;
                    if eof {
                        if !self.lexer.in_normal() {
                            return Err(self.err(scanned, None, UNTERMINATED));
                        }
                        return Ok((scanned, true));
                    }
                    if scanned > limit {
                        return Ok((scanned, false));
                    }
                    self.input.fill()?;
                }
            }
        }
    }

    /// Finds the end of the tuple at the start of the input (the lexer in tuple mode).
    pub(crate) fn tuple(&mut self, table: &QName) -> Result<usize, SqlError> {
        self.lexer.reset(true);
        let mut scanned = 0;
        loop {
            let eof = self.input.eof();
            match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                Scan::Found(e) => return Ok(scanned + e),
                Scan::More(m) => {
                    scanned += m;
                    if eof {
                        return Err(self.err(scanned, Some(table), "the input ends inside a row"));
                    }
                    self.input.fill()?;
                }
            }
        }
    }

    /// Continues a statement whose first `scanned` bytes the lexer has seen, writing (to
    /// `out`) or dropping (`None`) everything to its end. Returns the tuples opened (INSERT
    /// rows).
    pub(crate) fn stream_rest<W: Write, P: Held<BufWriter<W>>>(
        &mut self,
        mut scanned: usize,
        mut out: Option<&mut Out<W, P>>,
        table: Option<&QName>,
    ) -> Result<u64, SqlError> {
        loop {
            let eof = self.input.eof();
            match self.lexer.scan(&self.input.avail()[scanned..], eof) {
                Scan::Found(e) => {
                    let end = scanned + e;
                    if let Some(out) = out.as_deref_mut() {
                        out.put(&self.input.avail()[..end])?;
                    }
                    self.input.consume(end);
                    return Ok(self.lexer.opens);
                }
                Scan::More(m) => {
                    scanned += m;
                    if eof && !self.lexer.in_normal() {
                        return Err(self.err(scanned, table, UNTERMINATED));
                    }
                    if let Some(out) = out.as_deref_mut() {
                        out.put(&self.input.avail()[..scanned])?;
                    }
                    self.input.consume(scanned);
                    if eof {
                        return Ok(self.lexer.opens);
                    }
                    scanned = 0;
                    self.input.fill()?;
                }
            }
        }
    }
}
