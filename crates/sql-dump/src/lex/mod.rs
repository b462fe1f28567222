//! Lexical scanning: where a statement or a tuple ends, in chunks of any size.
//!
//! [`Lexer::scan`] is a resumable state machine in the style of csv-core: it reports either
//! the end of the statement (or tuple) or how far it got, keeping its state (inside a string,
//! a comment, a dollar-quoted body, ...) so that scanning continues in the next chunk. When it
//! needs to look ahead past the chunk (a doubled quote, `--`, a `$tag$`), it stops before the
//! byte in question and asks for more, so results never depend on chunk boundaries.
//!
//! Every lexical rule of the crate lives under this module: the statement scanner here,
//! the shared rules (which quotes escape, what starts a comment) in [`rules`], the
//! splitting of an INSERT tuple into values in [`tuple`], and the comments and blank lines
//! between statements in [`trivia`]. The tokenizer and the literal parser use [`rules`].

mod blocks;
pub(crate) mod classes;
pub(crate) mod copy;
pub(crate) mod rules;
mod swar;
pub(crate) mod trivia;
pub(crate) mod tuple;

use memchr::{memchr, memchr2};

use crate::dialect::Syntax;
#[cfg(test)]
use crate::Dialect;
use rules::{dash_comment, single_quote_escapes, word_byte};

/// Result of one scan call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The statement (or tuple) ends just before this index.
    Found(usize),
    /// Every byte before this index is scanned; call again with the data from here on.
    More(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside `'...'`; `esc`: backslash escapes are active.
    Single {
        esc: bool,
    },
    /// Inside `"..."` (a MySQL string with escapes, or a PostgreSQL identifier).
    Double {
        esc: bool,
    },
    Backtick,
    LineComment,
    Block {
        depth: u32,
    },
    Dollar,
}

/// Resumable statement/tuple end finder for one dialect.
#[derive(Debug, Clone)]
pub(crate) struct Lexer {
    /// The dialect and its session settings.
    syntax: Syntax,
    state: State,
    delimiter: Vec<u8>,
    special: [bool; 256],
    tag: Vec<u8>,
    prev: [u8; 2],
    /// Parenthesis depth outside strings and comments.
    pub(crate) depth: u32,
    /// Number of `(` opened at depth 0 (tuples of an INSERT after `VALUES`).
    pub(crate) opens: u64,
    /// Tuple mode: stop after the `)` that closes depth 1.
    stop_at_close: bool,
}

impl Lexer {
    /// A lexer at the start of a statement.
    pub(crate) fn new(syntax: impl Into<Syntax>) -> Lexer {
        let mut lexer = Lexer {
            syntax: syntax.into(),
            state: State::Normal,
            delimiter: b";".to_vec(),
            special: [false; 256],
            tag: Vec::new(),
            prev: [b' ', b' '],
            depth: 0,
            opens: 0,
            stop_at_close: false,
        };
        lexer.rebuild();
        lexer
    }

    fn rebuild(&mut self) {
        let mut t = [false; 256];
        for &b in b"'\"-/();" {
            t[b as usize] = true;
        }
        let d = self.syntax;
        t[b'`' as usize] = d.backtick_idents();
        t[b'#' as usize] = d.hash_comments();
        t[b'$' as usize] = d.dollar_quotes();
        if let Some(&d) = self.delimiter.first() {
            t[d as usize] = true;
        }
        self.special = t;
    }

    /// The dialect and its session settings now.
    pub(crate) fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// Sets PostgreSQL's `standard_conforming_strings`.
    pub(crate) fn set_std_strings(&mut self, on: bool) {
        self.syntax.std_strings = on;
    }

    /// Sets the dump's client character set (Latin-1 or not).
    pub(crate) fn set_latin1(&mut self, on: bool) {
        self.syntax.latin1 = on;
    }

    /// Sets MySQL's `ANSI_QUOTES` mode.
    pub(crate) fn set_ansi_quotes(&mut self, on: bool) {
        self.syntax.ansi_quotes = on;
    }

    /// Sets the MySQL client delimiter (`DELIMITER ;;`).
    pub(crate) fn set_delimiter(&mut self, delimiter: &[u8]) {
        if !delimiter.is_empty() {
            self.delimiter = delimiter.to_vec();
            self.rebuild();
        }
    }

    /// The current statement delimiter.
    pub(crate) fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// Resets to the start of a statement (`tuple`: stop at the end of one parenthesised
    /// tuple instead).
    pub(crate) fn reset(&mut self, tuple: bool) {
        self.state = State::Normal;
        self.prev = [b' ', b' '];
        self.depth = 0;
        self.opens = 0;
        self.stop_at_close = tuple;
    }

    /// True when the scan stopped between tokens (not inside a string, comment or quote).
    pub(crate) fn in_normal(&self) -> bool {
        self.state == State::Normal
    }

    fn remember(&mut self, data: &[u8], upto: usize) {
        if upto >= 2 {
            self.prev = [data[upto - 2], data[upto - 1]];
        } else if upto == 1 {
            self.prev = [self.prev[1], data[0]];
        }
    }

    fn byte_before(&self, data: &[u8], i: usize, back: usize) -> u8 {
        if i >= back {
            data[i - back]
        } else {
            self.prev[2 + i - back]
        }
    }

    /// Scans `data` (the bytes after the previous call's stop point). `eof`: no more bytes
    /// will come after `data`.
    pub(crate) fn scan(&mut self, data: &[u8], eof: bool) -> Scan {
        let n = data.len();
        let mut i = 0;
        macro_rules! more {
            ($at:expr) => {{
                let at = $at;
                self.remember(data, at);
                return Scan::More(at);
            }};
        }
        loop {
            match self.state {
                State::Normal => {
                    while i < n && !self.special[data[i] as usize] {
                        i += 1;
                    }
                    if i == n {
                        more!(n);
                    }
                    let b = data[i];
                    if b == self.delimiter[0]
                        && (self.syntax.delimiter_inside_parens() || self.depth == 0)
                    {
                        let d = self.delimiter.len();
                        if data[i..].starts_with(&self.delimiter) {
                            self.remember(data, i + d);
                            return Scan::Found(i + d);
                        }
                        if n - i < d && !eof && self.delimiter.starts_with(&data[i..]) {
                            more!(i);
                        }
                        if b == b';' {
                            i += 1;
                            continue;
                        }
                    }
                    match b {
                        b'\'' => {
                            let esc = single_quote_escapes(
                                self.syntax,
                                self.byte_before(data, i, 1),
                                self.byte_before(data, i, 2),
                            );
                            self.state = State::Single { esc };
                            i += 1;
                        }
                        b'"' => {
                            self.state = State::Double {
                                esc: self.syntax.double_quoted_strings(),
                            };
                            i += 1;
                        }
                        b'`' if self.syntax.backtick_idents() => {
                            self.state = State::Backtick;
                            i += 1;
                        }
                        b'#' if self.syntax.hash_comments() => {
                            self.state = State::LineComment;
                            i += 1;
                        }
                        b'-' => {
                            let need = if self.syntax.dash_comment_needs_space() {
                                3
                            } else {
                                2
                            };
                            if n - i < need && !eof {
                                more!(i);
                            }
                            let comment = dash_comment(
                                self.syntax.dialect,
                                data.get(i + 1).copied(),
                                data.get(i + 2).copied(),
                            );
                            if comment {
                                self.state = State::LineComment;
                                i += 2;
                            } else {
                                i += 1;
                            }
                        }
                        b'/' => {
                            if n - i < 2 && !eof {
                                more!(i);
                            }
                            if i + 1 < n && data[i + 1] == b'*' {
                                self.state = State::Block { depth: 1 };
                                i += 2;
                            } else {
                                i += 1;
                            }
                        }
                        b'$' if self.syntax.dollar_quotes() => {
                            if word_byte(self.byte_before(data, i, 1)) {
                                i += 1;
                                continue;
                            }
                            let mut j = i + 1;
                            while j < n && word_byte(data[j]) && data[j] != b'$' {
                                j += 1;
                            }
                            if j == n {
                                if !eof {
                                    more!(i);
                                }
                                i += 1;
                                continue;
                            }
                            if data[j] == b'$' && (j == i + 1 || !data[i + 1].is_ascii_digit()) {
                                self.tag.clear();
                                self.tag.extend_from_slice(&data[i..=j]);
                                self.state = State::Dollar;
                                i = j + 1;
                            } else {
                                i += 1;
                            }
                        }
                        b'(' => {
                            if self.depth == 0 {
                                self.opens += 1;
                            }
                            self.depth += 1;
                            i += 1;
                        }
                        b')' => {
                            self.depth = self.depth.saturating_sub(1);
                            i += 1;
                            if self.stop_at_close && self.depth == 0 {
                                self.remember(data, i);
                                return Scan::Found(i);
                            }
                        }
                        _ => i += 1,
                    }
                }
                State::Single { esc } | State::Double { esc } => {
                    let q = if matches!(self.state, State::Single { .. }) {
                        b'\''
                    } else {
                        b'"'
                    };
                    match string_end(data, i, q, esc, eof) {
                        Ok(next) => {
                            self.state = State::Normal;
                            i = next;
                        }
                        Err(at) => more!(at),
                    }
                }
                State::Backtick => {
                    let Some(k) = memchr(b'`', &data[i..]) else {
                        more!(n)
                    };
                    let j = i + k;
                    if j + 1 >= n && !eof {
                        more!(j);
                    }
                    if j + 1 < n && data[j + 1] == b'`' {
                        i = j + 2;
                    } else {
                        self.state = State::Normal;
                        i = j + 1;
                    }
                }
                State::LineComment => {
                    let Some(k) = memchr(b'\n', &data[i..]) else {
                        more!(n)
                    };
                    self.state = State::Normal;
                    i += k + 1;
                }
                State::Block { depth } => {
                    let found = if self.syntax.nested_block_comments() {
                        memchr2(b'*', b'/', &data[i..])
                    } else {
                        memchr(b'*', &data[i..])
                    };
                    let Some(k) = found else { more!(n) };
                    let j = i + k;
                    if j + 1 >= n {
                        if !eof {
                            more!(j);
                        }
                        more!(n);
                    }
                    if data[j] == b'*' && data[j + 1] == b'/' {
                        i = j + 2;
                        self.state = if depth <= 1 {
                            State::Normal
                        } else {
                            State::Block { depth: depth - 1 }
                        };
                    } else if data[j] == b'/' && data[j + 1] == b'*' {
                        self.state = State::Block { depth: depth + 1 };
                        i = j + 2;
                    } else {
                        i = j + 1;
                    }
                }
                State::Dollar => {
                    let Some(k) = memchr(b'$', &data[i..]) else {
                        more!(n)
                    };
                    let j = i + k;
                    let t = self.tag.len();
                    if data[j..].starts_with(&self.tag) {
                        self.state = State::Normal;
                        i = j + t;
                    } else if n - j < t && !eof {
                        more!(j);
                    } else {
                        i = j + 1;
                    }
                }
            }
        }
    }
}

/// Finds the end of a string literal quoted by `q` whose body continues at `data[from..]`
/// (`from` is between escape sequences). Returns `Ok(index after the closing quote)`, or
/// `Err(at)`: everything before `at` is inside the string, and `at` is again between escape
/// sequences, so scanning resumes there once more bytes are available.
///
/// Jumps from quote to quote with `memchr` instead of stopping at every backslash: with
/// escapes active, a quote is escaped exactly when an odd run of backslashes precedes it
/// (each `\\` pair escapes itself). A doubled quote stands for one quote.
///
/// Always inlined: left to the compiler, the tuple scan's call of it (once per quoted value)
/// was inlined in some builds and not in others, 12.7 M instructions apart on the realistic
/// MySQL dump of docs/performance.md (branch rowpath23).
#[inline(always)]
pub(crate) fn string_end(
    data: &[u8],
    from: usize,
    q: u8,
    esc: bool,
    eof: bool,
) -> Result<usize, usize> {
    let n = data.len();
    let mut i = from;
    loop {
        let Some(k) = memchr(q, &data[i..]) else {
            if eof || !esc {
                return Err(n);
            }
            // Resume at the start of a trailing backslash run, so that its escapes pair up.
            return Err(i + backslash_run_start(&data[i..]));
        };
        let j = i + k;
        if esc && (j - (i + backslash_run_start(&data[i..j]))) % 2 == 1 {
            i = j + 1;
            continue;
        }
        if j + 1 >= n {
            return if eof { Ok(n) } else { Err(j) };
        }
        if data[j + 1] == q {
            i = j + 2;
            continue;
        }
        return Ok(j + 1);
    }
}

/// Index where the run of backslashes that ends `bytes` starts (`bytes.len()` if none).
fn backslash_run_start(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != b'\\').map_or(0, |p| p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `data` fed in pieces of `chunk` bytes; returns the end found, if any.
    fn scan_chunked(lexer: &mut Lexer, data: &[u8], chunk: usize) -> Option<usize> {
        let mut start = 0;
        let mut avail = 0;
        loop {
            avail = (avail + chunk).min(data.len());
            let eof = avail == data.len();
            match lexer.scan(&data[start..avail], eof) {
                Scan::Found(e) => return Some(start + e),
                Scan::More(m) => {
                    start += m;
                    if eof && start == data.len() {
                        return None;
                    }
                }
            }
        }
    }

    fn ends(mysql: bool, data: &[u8]) -> Option<usize> {
        let dialect = if mysql {
            Dialect::MySql
        } else {
            Dialect::Postgres
        };
        let mut reference = None;
        for chunk in 1..=data.len().max(1) {
            let mut lexer = Lexer::new(dialect);
            let got = scan_chunked(&mut lexer, data, chunk);
            if chunk == 1 {
                reference = got;
            }
            assert_eq!(
                got,
                reference,
                "chunk {chunk} of {:?}",
                String::from_utf8_lossy(data)
            );
        }
        reference
    }

    #[test]
    fn mysql_strings_comments_and_escapes() {
        let s = b"INSERT INTO `a;b` VALUES ('x;\\';y', \"q;\"\"\", 1) -- c;\n;rest";
        assert_eq!(ends(true, s), Some(s.len() - 4));
        assert_eq!(ends(true, b"/*!40101 SET a=';' */;x"), Some(22));
        assert_eq!(ends(true, b"SELECT 1--1;x"), Some(12));
        assert_eq!(ends(true, b"# c;\nSELECT 'it''s;';x"), Some(21));
        // Backslash runs of both parities before quotes, and a doubled quote after a run.
        let s = b"SELECT '\\\\', '\\\\\\';', 'x\\\\''y;', \"\\\\\\\";\";z";
        assert_eq!(ends(true, s), Some(s.len() - 1));
        assert_eq!(ends(true, b"SELECT '\\\\\\\\\\';x"), None);
    }

    #[test]
    fn postgres_strings_dollar_quotes_and_parens() {
        let s = b"CREATE FUNCTION f() AS $body$ x; 'y $b$ ; $body$; z";
        assert_eq!(ends(false, s), Some(49));
        assert_eq!(ends(false, b"SELECT E'a\\';' ;x"), Some(16));
        assert_eq!(ends(false, b"SELECT 'a\\';x';y"), Some(12));
        assert_eq!(ends(false, b"SELECT E'a\\\\';x"), Some(14));
        assert_eq!(ends(false, b"SELECT 'a\\\\';x"), Some(13));
        assert_eq!(ends(false, b"CREATE RULE r AS ON x DO (a; b);z"), Some(32));
        assert_eq!(ends(false, b"SELECT a$b;x"), Some(11));
        assert_eq!(ends(false, b"SELECT $1;x"), Some(10));
        assert_eq!(ends(false, b"/* a /* ; */ ; */ ;x"), Some(19));
    }

    #[test]
    fn custom_delimiter() {
        let mut lexer = Lexer::new(Dialect::MySql);
        lexer.set_delimiter(b";;");
        let s = b"CREATE TRIGGER t BEGIN SET a=1; SET b=';;'; END;;x";
        assert_eq!(scan_chunked(&mut lexer, s, 1), Some(s.len() - 1));
    }

    #[test]
    fn tuple_mode_stops_at_close() {
        let mut lexer = Lexer::new(Dialect::MySql);
        lexer.reset(true);
        let s = b"(1,'a)',(2)),(3)";
        assert_eq!(scan_chunked(&mut lexer, s, 3), Some(12));
    }
}
