//! The SQL side of `verify`: a small, independent reader of MySQL/MariaDB and PostgreSQL dumps
//! that attributes every literal of `INSERT` tuples and `COPY` rows to its table and column
//! (column lists from the statement, the `COPY` header or the table's `CREATE TABLE`), and
//! reports every other string literal and comment as unattributed text. It shares no code
//! with the rewriter, so it checks it rather than repeating it.

use std::collections::HashMap;
use std::io::{self, BufRead};

/// One value or piece of text met in a dump.
pub(crate) enum Event<'a> {
    /// A literal of a data row.
    Cell {
        /// `schema`/`db` qualifier, if any.
        qualifier: Option<&'a str>,
        /// The bare table name.
        table: &'a str,
        /// The column, when known.
        column: Option<&'a str>,
        /// 1-based row number in the table.
        row: u64,
        /// 1-based line of the dump where the row starts.
        line: u64,
        /// The decoded bytes (`None` for NULL).
        value: Option<&'a [u8]>,
    },
    /// PostgreSQL `SET search_path`: the schema unqualified names now resolve to (its first
    /// entry other than `"$user"` and `pg_catalog`), if any.
    SearchPath(Option<&'a str>),
    /// PostgreSQL: `table` is a partition (`PARTITION OF`, `ATTACH PARTITION`) or an
    /// `INHERITS` child of `parent`.
    Parent {
        /// The child's schema, if written.
        qualifier: Option<&'a str>,
        /// The child's bare name.
        table: &'a str,
        /// The parent's schema, if written.
        parent_qualifier: Option<&'a str>,
        /// The parent's bare name.
        parent: &'a str,
    },
    /// A string literal outside data rows, or a comment.
    Text {
        /// `<sql>` or `<comment>`.
        what: &'static str,
        /// Its bytes.
        bytes: &'a [u8],
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word, or a quoted identifier (`quoted`).
    Word(String, bool),
    Str(Vec<u8>),
    Num(String),
    Hex(Vec<u8>),
    P(u8),
}

struct Lexer<R> {
    r: R,
    mysql: bool,
    offset: u64,
    line: u64,
    comments: Vec<Vec<u8>>,
    /// MySQL: the dump's `SQL_MODE` makes `"` quote identifiers (`ANSI_QUOTES`).
    ansi_quotes: bool,
    /// The mode saved by `@OLD_SQL_MODE=@@SQL_MODE` (restored by `SQL_MODE=@OLD_SQL_MODE`).
    saved_ansi_quotes: bool,
}

/// A reader error with the position.
fn bad(offset: u64, line: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("line {line}, byte {offset}: {what}"),
    )
}

impl<R: BufRead> Lexer<R> {
    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn bump(&mut self) -> io::Result<Option<u8>> {
        let c = self.peek()?;
        if let Some(c) = c {
            self.r.consume(1);
            self.offset += 1;
            if c == b'\n' {
                self.line += 1;
            }
        }
        Ok(c)
    }

    fn need(&mut self, what: &str) -> io::Result<u8> {
        let (o, l) = (self.offset, self.line);
        self.bump()?
            .ok_or_else(|| bad(o, l, &format!("the input ends inside {what}")))
    }

    /// The rest of the current line, without its newline (`None` at the end of input).
    fn raw_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut v = Vec::new();
        loop {
            match self.bump()? {
                None if v.is_empty() => return Ok(None),
                None | Some(b'\n') => return Ok(Some(v)),
                Some(c) => v.push(c),
            }
        }
    }

    fn quoted(&mut self, q: u8, backslash: bool) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        loop {
            let c = self.need("a quoted string or name")?;
            if c == q {
                if self.peek()? == Some(q) {
                    self.bump()?;
                    v.push(q);
                    continue;
                }
                return Ok(v);
            }
            if c == b'\\' && backslash {
                let e = self.need("a quoted string")?;
                v.push(match e {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'Z' => 0x1a,
                    e => e,
                });
                continue;
            }
            v.push(c);
        }
    }

    /// Follows the `SQL_MODE` assignments of a MySQL versioned comment (`/*!40101 SET
    /// @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='ANSI_QUOTES' */`, `/*!50003 SET sql_mode =
    /// @saved_sql_mode */`): whether `"` now quotes identifiers.
    fn follow_sql_mode(&mut self, comment: &[u8]) {
        let text = String::from_utf8_lossy(comment).to_ascii_uppercase();
        let b = text.as_bytes();
        let skip_ws = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            i
        };
        for (at, _) in text.match_indices("SQL_MODE") {
            let prev = at.checked_sub(1).map(|i| b[i]);
            let mut i = skip_ws(at + "SQL_MODE".len());
            if b.get(i) != Some(&b'=') {
                continue;
            }
            i = skip_ws(i + 1);
            let value = &text[i..];
            match prev {
                // `@@SQL_MODE = …` never appears; a read of it is not an assignment.
                Some(b'@') => {}
                // A variable saving the mode: `@OLD_SQL_MODE=@@SQL_MODE`.
                Some(c) if c.is_ascii_alphanumeric() || c == b'_' => {
                    if value.starts_with("@@SQL_MODE") {
                        self.saved_ansi_quotes = self.ansi_quotes;
                    }
                }
                _ => {
                    if let Some(rest) = value.strip_prefix(['\'', '"']) {
                        let modes = rest.split(['\'', '"']).next().unwrap_or("");
                        self.ansi_quotes = sql_dump::mode_has_ansi_quotes(modes);
                    } else if value.starts_with('@') {
                        self.ansi_quotes = self.saved_ansi_quotes;
                    }
                }
            }
        }
    }

    fn next(&mut self) -> io::Result<Option<Tok>> {
        loop {
            let Some(c) = self.peek()? else {
                return Ok(None);
            };
            if c.is_ascii_whitespace() {
                self.bump()?;
                continue;
            }
            self.bump()?;
            let next = self.peek()?;
            match c {
                b'-' if next == Some(b'-') => {
                    self.bump()?;
                    let line = self.raw_line()?.unwrap_or_default();
                    self.comments.push(line);
                }
                b'#' if self.mysql => {
                    let line = self.raw_line()?.unwrap_or_default();
                    self.comments.push(line);
                }
                b'/' if next == Some(b'*') => {
                    self.bump()?;
                    let mut v = Vec::new();
                    loop {
                        let c = self.need("a comment")?;
                        if c == b'*' && self.peek()? == Some(b'/') {
                            self.bump()?;
                            break;
                        }
                        v.push(c);
                    }
                    if self.mysql && v.first() == Some(&b'!') {
                        self.follow_sql_mode(&v);
                    }
                    self.comments.push(v);
                }
                b'\'' => return Ok(Some(Tok::Str(self.quoted(b'\'', self.mysql)?))),
                b'"' if self.mysql && !self.ansi_quotes => {
                    return Ok(Some(Tok::Str(self.quoted(b'"', true)?)))
                }
                b'"' => {
                    let v = self.quoted(b'"', false)?;
                    return Ok(Some(Tok::Word(lossy(&v), true)));
                }
                b'`' => {
                    let v = self.quoted(b'`', false)?;
                    return Ok(Some(Tok::Word(lossy(&v), true)));
                }
                b'$' if !self.mysql => {
                    // A dollar quote $tag$ ... $tag$.
                    let mut tag = vec![b'$'];
                    while let Some(t) = self.peek()? {
                        if t.is_ascii_alphanumeric() || t == b'_' {
                            tag.push(t);
                            self.bump()?;
                        } else {
                            break;
                        }
                    }
                    if self.peek()? != Some(b'$') {
                        return Ok(Some(Tok::P(b'$')));
                    }
                    self.bump()?;
                    tag.push(b'$');
                    let mut v = Vec::new();
                    loop {
                        v.push(self.need("a dollar-quoted string")?);
                        if v.ends_with(&tag) {
                            v.truncate(v.len() - tag.len());
                            return Ok(Some(Tok::Str(v)));
                        }
                    }
                }
                c if c.is_ascii_digit()
                    || (c == b'-' && next.is_some_and(|n| n.is_ascii_digit())) =>
                {
                    let mut s = vec![c];
                    if c == b'0' && matches!(next, Some(b'x') | Some(b'X')) {
                        self.bump()?;
                        let mut h = Vec::new();
                        while let Some(d) = self.peek()?.filter(u8::is_ascii_hexdigit) {
                            h.push(d);
                            self.bump()?;
                        }
                        return Ok(Some(Tok::Hex(unhex(&h))));
                    }
                    while let Some(d) = self.peek()? {
                        if d.is_ascii_alphanumeric() || d == b'.' || d == b'+' || d == b'-' {
                            s.push(d);
                            self.bump()?;
                        } else {
                            break;
                        }
                    }
                    return Ok(Some(Tok::Num(lossy(&s))));
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    if matches!(c, b'x' | b'X') && next == Some(b'\'') {
                        self.bump()?;
                        let h = self.quoted(b'\'', false)?;
                        return Ok(Some(Tok::Hex(unhex(&h))));
                    }
                    if !self.mysql && matches!(c, b'e' | b'E') && next == Some(b'\'') {
                        self.bump()?;
                        return Ok(Some(Tok::Str(self.quoted(b'\'', true)?)));
                    }
                    let mut s = vec![c];
                    while let Some(d) = self.peek()? {
                        if d.is_ascii_alphanumeric() || d == b'_' || d == b'$' || d >= 0x80 {
                            s.push(d);
                            self.bump()?;
                        } else {
                            break;
                        }
                    }
                    return Ok(Some(Tok::Word(lossy(&s), false)));
                }
                c => return Ok(Some(Tok::P(c))),
            }
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn unhex(h: &[u8]) -> Vec<u8> {
    h.chunks(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// COPY text format field.
fn copy_field(f: &[u8]) -> Option<Vec<u8>> {
    if f == b"\\N" {
        return None;
    }
    let mut v = Vec::with_capacity(f.len());
    let mut i = 0;
    while i < f.len() {
        if f[i] == b'\\' && i + 1 < f.len() {
            i += 1;
            v.push(match f[i] {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                c => c,
            });
        } else {
            v.push(f[i]);
        }
        i += 1;
    }
    Some(v)
}

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Word(w, false) if w.eq_ignore_ascii_case(kw))
}

/// Columns of a `CREATE TABLE`: (name, generated).
type Columns = Vec<(String, bool)>;

/// Walks a dump, calling `visit` for every cell and every other string or comment.
pub(crate) fn walk<R: BufRead>(
    r: R,
    mysql: bool,
    visit: &mut dyn FnMut(Event<'_>),
) -> io::Result<()> {
    let mut lx = Lexer {
        r,
        mysql,
        offset: 0,
        line: 1,
        comments: Vec::new(),
        ansi_quotes: false,
        saved_ansi_quotes: false,
    };
    let mut tables: HashMap<String, Columns> = HashMap::new();
    let mut rows: HashMap<String, u64> = HashMap::new();
    let mut db: Option<String> = None;
    loop {
        for c in lx.comments.drain(..) {
            visit(Event::Text {
                what: "<comment>",
                bytes: &c,
            });
        }
        let Some(first) = lx.next()? else {
            return Ok(());
        };
        let mut stmt = vec![first.clone()];
        if !mysql && is_kw(&first, "SET") {
            let t = lx.next()?;
            if !t.as_ref().is_some_and(|t| is_kw(t, "search_path")) {
                skip_statement(&mut lx, t, visit)?;
                continue;
            }
            let mut values = Vec::new();
            loop {
                match lx.next()? {
                    None | Some(Tok::P(b';')) => break,
                    Some(Tok::Word(w, quoted)) if quoted || !w.eq_ignore_ascii_case("TO") => {
                        values.push(w)
                    }
                    Some(Tok::Str(s)) => values.push(lossy(&s)),
                    _ => {}
                }
            }
            let schema = values
                .iter()
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .find(|s| !s.is_empty() && *s != "$user" && !s.eq_ignore_ascii_case("pg_catalog"));
            visit(Event::SearchPath(schema));
            continue;
        }
        if is_kw(&first, "DELIMITER") || first == Tok::P(b'\\') {
            lx.raw_line()?;
            continue;
        }
        if is_kw(&first, "INSERT") || is_kw(&first, "REPLACE") {
            // [IGNORE ...] INTO name [(cols)] VALUES
            let mut t = lx.next()?;
            while t.as_ref().is_some_and(|t| !is_kw(t, "INTO")) {
                t = lx.next()?;
            }
            let (qual, name, mut t) = read_name(&mut lx)?;
            let mut cols: Option<Vec<String>> = None;
            if t == Some(Tok::P(b'(')) {
                let mut list = Vec::new();
                loop {
                    match lx.next()? {
                        Some(Tok::Word(w, _)) => list.push(w),
                        Some(Tok::P(b',')) => {}
                        _ => break,
                    }
                }
                cols = Some(list);
                t = lx.next()?;
            }
            if !t
                .as_ref()
                .is_some_and(|t| is_kw(t, "VALUES") || is_kw(t, "VALUE"))
            {
                skip_statement(&mut lx, t, visit)?;
                continue;
            }
            let qual = qual.or_else(|| db.clone());
            let key = name.clone();
            let declared = tables.get(&key).cloned().unwrap_or_default();
            loop {
                match lx.next()? {
                    Some(Tok::P(b'(')) => {}
                    Some(Tok::P(b',')) => continue,
                    None | Some(Tok::P(b';')) => break,
                    Some(other) => {
                        skip_statement(&mut lx, Some(other), visit)?;
                        break;
                    }
                }
                let line = lx.line;
                let cells = read_tuple(&mut lx)?;
                let row = rows.entry(key.clone()).or_insert(0);
                *row += 1;
                let names: Vec<Option<&str>> = column_names(&cols, &declared, cells.len());
                for (i, cell) in cells.iter().enumerate() {
                    visit(Event::Cell {
                        qualifier: qual.as_deref(),
                        table: &name,
                        column: names.get(i).copied().flatten(),
                        row: *row,
                        line,
                        value: cell.as_deref(),
                    });
                }
            }
            continue;
        }
        if is_kw(&first, "CREATE") {
            let mut t = lx.next()?;
            while t
                .as_ref()
                .is_some_and(|t| is_kw(t, "TEMPORARY") || is_kw(t, "UNLOGGED"))
            {
                t = lx.next()?;
            }
            if t.as_ref().is_some_and(|t| is_kw(t, "TABLE")) {
                let (qual, name, t) = read_name_skipping_if_not_exists(&mut lx)?;
                let mut parents = Vec::new();
                let mut t = t;
                if t == Some(Tok::P(b'(')) {
                    let cols = read_columns(&mut lx, visit)?;
                    tables.insert(name.clone(), cols);
                    t = lx.next()?;
                }
                loop {
                    match t {
                        None | Some(Tok::P(b';')) => break,
                        Some(Tok::Str(s)) => visit(Event::Text {
                            what: "<sql>",
                            bytes: &s,
                        }),
                        Some(ref w) if !mysql && is_kw(w, "PARTITION") => {
                            let of = lx.next()?;
                            t = if of.as_ref().is_some_and(|w| is_kw(w, "OF")) {
                                let (pq, p, after) = read_name(&mut lx)?;
                                parents.push((pq, p));
                                after
                            } else {
                                of
                            };
                            continue;
                        }
                        Some(ref w) if !mysql && is_kw(w, "INHERITS") => {
                            let open = lx.next()?;
                            let mut more = open == Some(Tok::P(b'('));
                            while more {
                                let (pq, p, after) = read_name(&mut lx)?;
                                parents.push((pq, p));
                                more = after == Some(Tok::P(b','));
                            }
                        }
                        _ => {}
                    }
                    t = lx.next()?;
                }
                for (pq, p) in &parents {
                    visit(Event::Parent {
                        qualifier: qual.as_deref(),
                        table: &name,
                        parent_qualifier: pq.as_deref(),
                        parent: p,
                    });
                }
                continue;
            }
            stmt.extend(t);
        }
        if is_kw(&first, "ALTER") && !mysql {
            let t = lx.next()?;
            if !t.as_ref().is_some_and(|t| is_kw(t, "TABLE")) {
                skip_statement(&mut lx, t, visit)?;
                continue;
            }
            let (mut pq, mut p, mut t) = read_name(&mut lx)?;
            while pq.is_none()
                && ["ONLY", "IF", "EXISTS"]
                    .iter()
                    .any(|k| p.eq_ignore_ascii_case(k))
            {
                (pq, p, t) = name_from(&mut lx, t)?;
            }
            if t.as_ref().is_some_and(|t| is_kw(t, "ATTACH")) {
                let t = lx.next()?;
                if t.as_ref().is_some_and(|t| is_kw(t, "PARTITION")) {
                    let (cq, c, after) = read_name(&mut lx)?;
                    visit(Event::Parent {
                        qualifier: cq.as_deref(),
                        table: &c,
                        parent_qualifier: pq.as_deref(),
                        parent: &p,
                    });
                    skip_statement(&mut lx, after, visit)?;
                    continue;
                }
                skip_statement(&mut lx, t, visit)?;
                continue;
            }
            skip_statement(&mut lx, t, visit)?;
            continue;
        }
        if is_kw(&first, "USE") && mysql {
            if let Some(Tok::Word(w, _)) = lx.next()? {
                db = Some(w);
            }
            skip_statement(&mut lx, None, visit)?;
            continue;
        }
        if is_kw(&first, "COPY") {
            let (qual, name, t) = read_name(&mut lx)?;
            let mut cols = Vec::new();
            if t == Some(Tok::P(b'(')) {
                loop {
                    match lx.next()? {
                        Some(Tok::Word(w, _)) => cols.push(w),
                        Some(Tok::P(b',')) => {}
                        _ => break,
                    }
                }
            }
            let mut stdin = false;
            loop {
                match lx.next()? {
                    Some(t) if is_kw(&t, "stdin") => stdin = true,
                    Some(Tok::P(b';')) | None => break,
                    _ => {}
                }
            }
            if !stdin {
                continue;
            }
            let mut first_line = true;
            loop {
                let (o, l) = (lx.offset, lx.line);
                let Some(line) = lx.raw_line()? else {
                    return Err(bad(o, l, "the input ends inside a COPY block"));
                };
                if first_line && line.iter().all(u8::is_ascii_whitespace) {
                    first_line = false;
                    continue;
                }
                first_line = false;
                if line == b"\\." {
                    break;
                }
                let row = rows.entry(name.clone()).or_insert(0);
                *row += 1;
                for (i, f) in line.split(|&c| c == b'\t').enumerate() {
                    let v = copy_field(f);
                    visit(Event::Cell {
                        qualifier: qual.as_deref(),
                        table: &name,
                        column: cols.get(i).map(String::as_str),
                        row: *row,
                        line: l,
                        value: v.as_deref(),
                    });
                }
            }
            continue;
        }
        skip_statement(&mut lx, stmt.pop(), visit)?;
    }
}

fn column_names<'a>(
    list: &'a Option<Vec<String>>,
    declared: &'a Columns,
    width: usize,
) -> Vec<Option<&'a str>> {
    if let Some(list) = list {
        return list.iter().map(|s| Some(s.as_str())).collect();
    }
    if declared.len() == width {
        return declared.iter().map(|(n, _)| Some(n.as_str())).collect();
    }
    let stored: Vec<Option<&str>> = declared
        .iter()
        .filter(|(_, generated)| !generated)
        .map(|(n, _)| Some(n.as_str()))
        .collect();
    if stored.len() == width {
        stored
    } else {
        Vec::new()
    }
}

/// `name`, `q.name`, quoted or not; returns (qualifier, name, the token after).
fn read_name<R: BufRead>(lx: &mut Lexer<R>) -> io::Result<(Option<String>, String, Option<Tok>)> {
    let t = lx.next()?;
    name_from(lx, t)
}

/// [`read_name`] from its first token `t`, already read.
fn name_from<R: BufRead>(
    lx: &mut Lexer<R>,
    mut t: Option<Tok>,
) -> io::Result<(Option<String>, String, Option<Tok>)> {
    let mut parts = Vec::new();
    while let Some(Tok::Word(w, _)) = &t {
        parts.push(w.clone());
        t = lx.next()?;
        if t == Some(Tok::P(b'.')) {
            t = lx.next()?;
        } else {
            break;
        }
    }
    let name = parts.pop().unwrap_or_default();
    Ok((parts.pop(), name, t))
}

fn read_name_skipping_if_not_exists<R: BufRead>(
    lx: &mut Lexer<R>,
) -> io::Result<(Option<String>, String, Option<Tok>)> {
    let (q, n, t) = read_name(lx)?;
    if q.is_none() && n.eq_ignore_ascii_case("IF") {
        // IF NOT EXISTS name
        lx.next()?;
        lx.next()?;
        return read_name(lx);
    }
    Ok((q, n, t))
}

/// One tuple's values after its `(`: decoded string/hex bytes, numbers as text, NULL as None.
fn read_tuple<R: BufRead>(lx: &mut Lexer<R>) -> io::Result<Vec<Option<Vec<u8>>>> {
    let mut cells = Vec::new();
    let mut cur: Option<Option<Vec<u8>>> = None;
    let mut depth = 0;
    loop {
        let (o, l) = (lx.offset, lx.line);
        let Some(t) = lx.next()? else {
            return Err(bad(o, l, "the input ends inside a row"));
        };
        match t {
            Tok::P(b'(') => depth += 1,
            Tok::P(b')') if depth > 0 => depth -= 1,
            Tok::P(b')') => {
                cells.push(cur.take().unwrap_or(None));
                return Ok(cells);
            }
            Tok::P(b',') if depth == 0 => cells.push(cur.take().unwrap_or(None)),
            Tok::Str(s) | Tok::Hex(s) if !matches!(cur, Some(Some(_))) => cur = Some(Some(s)),
            Tok::Num(n) if cur.is_none() => cur = Some(Some(n.into_bytes())),
            Tok::Word(w, false) if w.eq_ignore_ascii_case("NULL") && cur.is_none() => {
                cur = Some(None)
            }
            _ => {}
        }
    }
}

/// Column definitions after `CREATE TABLE name (`.
fn read_columns<R: BufRead>(
    lx: &mut Lexer<R>,
    visit: &mut dyn FnMut(Event<'_>),
) -> io::Result<Columns> {
    const NOT_COLUMNS: [&str; 11] = [
        "PRIMARY",
        "KEY",
        "UNIQUE",
        "CONSTRAINT",
        "INDEX",
        "FULLTEXT",
        "FOREIGN",
        "CHECK",
        "SPATIAL",
        "EXCLUDE",
        "LIKE",
    ];
    let mut cols: Columns = Vec::new();
    let mut depth = 0;
    let mut at_start = true;
    let mut prev_as = false;
    loop {
        let (o, l) = (lx.offset, lx.line);
        let Some(t) = lx.next()? else {
            return Err(bad(o, l, "the input ends inside CREATE TABLE"));
        };
        if at_start {
            at_start = false;
            if let Tok::Word(w, quoted) = &t {
                if *quoted || !NOT_COLUMNS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                    cols.push((w.clone(), false));
                }
            }
            continue;
        }
        if (is_kw(&t, "GENERATED") || (prev_as && t == Tok::P(b'('))) && depth == 0 {
            if let Some(c) = cols.last_mut() {
                c.1 = true;
            }
        }
        prev_as = is_kw(&t, "AS");
        match t {
            Tok::P(b'(') => depth += 1,
            Tok::P(b')') if depth == 0 => return Ok(cols),
            Tok::P(b')') => depth -= 1,
            Tok::P(b',') if depth == 0 => at_start = true,
            Tok::Str(s) => visit(Event::Text {
                what: "<sql>",
                bytes: &s,
            }),
            _ => {}
        }
    }
}

/// Skips to the end of the statement, reporting its strings as text.
fn skip_statement<R: BufRead>(
    lx: &mut Lexer<R>,
    mut t: Option<Tok>,
    visit: &mut dyn FnMut(Event<'_>),
) -> io::Result<()> {
    loop {
        match t {
            None | Some(Tok::P(b';')) => return Ok(()),
            Some(Tok::Str(s)) => visit(Event::Text {
                what: "<sql>",
                bytes: &s,
            }),
            _ => {}
        }
        t = lx.next()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(dump: &str, mysql: bool) -> Vec<String> {
        let mut out = Vec::new();
        walk(dump.as_bytes(), mysql, &mut |e| match e {
            Event::Cell {
                qualifier,
                table,
                column,
                row,
                value,
                ..
            } => out.push(format!(
                "{}.{table}.{}#{row}={}",
                qualifier.unwrap_or("-"),
                column.unwrap_or("?"),
                value.map_or("NULL".into(), |v| String::from_utf8_lossy(v).into_owned())
            )),
            Event::Text { what, bytes } => {
                out.push(format!("{what}:{}", String::from_utf8_lossy(bytes).trim()))
            }
            Event::SearchPath(s) => out.push(format!("search_path:{}", s.unwrap_or("-"))),
            Event::Parent {
                qualifier,
                table,
                parent_qualifier,
                parent,
            } => out.push(format!(
                "{}.{table}<{}.{parent}",
                qualifier.unwrap_or("-"),
                parent_qualifier.unwrap_or("-")
            )),
        })
        .unwrap();
        out
    }

    #[test]
    fn mysql_inserts_by_declared_columns() {
        let got = cells(
            "-- MySQL dump\nUSE `app`;\nCREATE TABLE `u` (`id` int, `e` text, `g` int GENERATED ALWAYS AS (`id`+1) VIRTUAL, PRIMARY KEY (`id`));\n\
             INSERT INTO `u` VALUES (1,'a\\'b'),(2,_binary 0x4142);\nINSERT INTO u (e) VALUES (NULL);\n",
            true,
        );
        assert_eq!(
            got,
            [
                "<comment>:MySQL dump",
                "app.u.id#1=1",
                "app.u.e#1=a'b",
                "app.u.id#2=2",
                "app.u.e#2=AB",
                "app.u.e#3=NULL"
            ]
        );
    }

    #[test]
    fn mysql_ansi_quotes_follow_the_dump_mode() {
        let got = cells(
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,ANSI' */;\n\
             CREATE TABLE \"u\" (\"id\" int, \"e\" text);\nINSERT INTO \"u\" VALUES (1,'a');\n\
             /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\nINSERT INTO `u` VALUES (2,\"b\");\n",
            true,
        );
        let cells: Vec<&String> = got.iter().filter(|c| !c.starts_with('<')).collect();
        assert_eq!(
            cells,
            ["-.u.id#1=1", "-.u.e#1=a", "-.u.id#2=2", "-.u.e#2=b"]
        );
    }

    #[test]
    fn postgres_partitions_and_inheritance() {
        let got = cells(
            "CREATE TABLE public.p (id int, e text) PARTITION BY RANGE (id);\n\
             CREATE TABLE public.p1 PARTITION OF public.p FOR VALUES FROM (1) TO (9);\n\
             CREATE TABLE public.p2 (id int, e text);\n\
             CREATE TABLE kid (x text DEFAULT 'd') INHERITS (public.p, q);\n\
             ALTER TABLE ONLY public.p ATTACH PARTITION public.p2 FOR VALUES FROM (9) TO (20);\n\
             ALTER TABLE IF EXISTS ONLY public.p OWNER TO me;\n",
            false,
        );
        assert_eq!(
            got,
            [
                "public.p1<public.p",
                "<sql>:d",
                "-.kid<public.p",
                "-.kid<-.q",
                "public.p2<public.p"
            ]
        );
    }

    #[test]
    fn postgres_copy_and_inserts() {
        let got = cells(
            "SET search_path = \"$user\", public, pg_catalog;\nSET search_path TO '';\nCREATE TABLE public.u (id integer, e text);\nCOPY public.u (id, e) FROM stdin;\n1\ta\\tb\n2\t\\N\n\\.\n\
             INSERT INTO public.u VALUES (3, E'x\\ny'), (4, 'it''s');\nCREATE FUNCTION f() AS $$ SELECT 'q' $$;\n",
            false,
        );
        assert_eq!(
            got,
            [
                "search_path:public",
                "search_path:-",
                "public.u.id#1=1",
                "public.u.e#1=a\tb",
                "public.u.id#2=2",
                "public.u.e#2=NULL",
                "public.u.id#3=3",
                "public.u.e#3=x\ny",
                "public.u.id#4=4",
                "public.u.e#4=it's",
                "<sql>:SELECT 'q'"
            ]
        );
    }
}
