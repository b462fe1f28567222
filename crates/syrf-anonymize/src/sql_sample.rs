//! `inspect --sample N` for SQL dumps: the first rows' values, read from the start of an
//! `INSERT` line (as much of it as the scanner keeps) or from `COPY` data lines. A tuple cut off
//! by the end of the kept text is not sampled.

use serde_json::Value;

/// Characters kept of one sampled value.
pub const MAX_CHARS: usize = 200;

/// One `INSERT` line: the table name as written, its column list if any, and its complete
/// tuples (at most `max`).
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The table name as written (quotes included).
    pub name: String,
    /// The column list, unquoted.
    pub columns: Option<Vec<String>>,
    /// Complete tuples, values as strings (`null` for NULL).
    pub rows: Vec<Vec<Value>>,
    /// True when the line ends right after `VALUES` (the tuples follow on their own lines).
    pub open: bool,
}

fn cut(s: String) -> Value {
    if s.chars().count() > MAX_CHARS {
        Value::String(s.chars().take(MAX_CHARS).collect::<String>() + "…")
    } else {
        Value::String(s)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.ws();
        let end = self.pos + word.len();
        let ok = self
            .s
            .get(self.pos..end)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && self
                .s
                .get(end)
                .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_');
        if ok {
            self.pos = end;
        }
        ok
    }

    /// A quoted string starting at `pos` (the quote); `None` when it does not end.
    fn string(&mut self, backslash: bool) -> Option<String> {
        let quote = self.s[self.pos];
        self.pos += 1;
        let mut out = Vec::new();
        while self.pos < self.s.len() {
            let c = self.s[self.pos];
            self.pos += 1;
            if c == quote {
                if self.peek() == Some(quote) {
                    out.push(quote);
                    self.pos += 1;
                    continue;
                }
                return Some(String::from_utf8_lossy(&out).into_owned());
            }
            if c == b'\\' && backslash {
                let n = self.peek()?;
                self.pos += 1;
                out.push(match n {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 8,
                    b'Z' => 26,
                    other => other,
                });
                continue;
            }
            out.push(c);
        }
        None
    }

    /// An identifier, quoted or bare, possibly qualified; returned as written.
    fn name(&mut self) -> Option<String> {
        self.ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'`' | b'"' => {
                    self.string(false)?;
                }
                c if c.is_ascii_whitespace() || c == b'(' => break,
                _ => self.pos += 1,
            }
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    /// One value of a tuple; `None` when the text ends first.
    fn value(&mut self, mysql: bool) -> Option<Value> {
        self.ws();
        let c = self.peek()?;
        if c == b'\'' {
            return self.string(mysql).map(cut);
        }
        if (c == b'E' || c == b'e') && self.s.get(self.pos + 1) == Some(&b'\'') {
            self.pos += 1;
            return self.string(true).map(cut);
        }
        if c == b'_' {
            // A character set introducer: `_binary 'x'`, `_utf8mb4'x'`.
            let save = self.pos;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.pos += 1;
            }
            self.ws();
            if self.peek() == Some(b'\'') {
                return self.string(mysql).map(cut);
            }
            self.pos = save;
        }
        let save = self.pos;
        if self.keyword("NULL") {
            self.ws();
            if matches!(self.peek(), Some(b',') | Some(b')')) {
                return Some(Value::Null);
            }
            self.pos = save;
        }
        // Anything else (numbers, hex, function calls): the raw text up to `,` or `)` outside
        // quotes and parentheses.
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'\'' | b'"' => {
                    self.string(mysql)?;
                    continue;
                }
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                b',' if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        self.peek()?;
        let raw = String::from_utf8_lossy(&self.s[start..self.pos])
            .trim()
            .to_owned();
        Some(cut(raw))
    }
}

/// Parses the start of an `INSERT` (or `REPLACE`) line; `mysql` turns on backslash escapes.
pub fn parse_insert(line: &str, mysql: bool, max: usize) -> Option<Insert> {
    let mut c = Cursor {
        s: line.as_bytes(),
        pos: 0,
    };
    if !(c.keyword("INSERT") || c.keyword("REPLACE")) {
        return None;
    }
    c.keyword("IGNORE");
    if !c.keyword("INTO") {
        return None;
    }
    let name = c.name()?;
    c.ws();
    let mut columns = None;
    if c.peek() == Some(b'(') {
        c.pos += 1;
        let start = c.pos;
        while c.peek()? != b')' {
            if matches!(c.peek(), Some(b'`') | Some(b'"')) {
                c.string(false)?;
            } else {
                c.pos += 1;
            }
        }
        let list = String::from_utf8_lossy(&c.s[start..c.pos]).into_owned();
        c.pos += 1;
        columns = Some(
            list.split(',')
                .map(|n| {
                    let n = n.trim();
                    ['`', '"']
                        .iter()
                        .find_map(|q| n.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
                        .unwrap_or(n)
                        .to_owned()
                })
                .collect(),
        );
    }
    if !c.keyword("VALUES") {
        return None;
    }
    c.ws();
    let open = c.peek().is_none();
    let rows = tuples(&mut c, mysql, max);
    Some(Insert {
        name,
        columns,
        rows,
        open,
    })
}

/// The complete tuples of a line that continues an `INSERT` (`(1,'a'),`).
pub fn parse_tuples(line: &str, mysql: bool, max: usize) -> Vec<Vec<Value>> {
    tuples(
        &mut Cursor {
            s: line.as_bytes(),
            pos: 0,
        },
        mysql,
        max,
    )
}

fn tuples(c: &mut Cursor<'_>, mysql: bool, max: usize) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    while rows.len() < max {
        c.ws();
        if c.peek() != Some(b'(') {
            break;
        }
        c.pos += 1;
        let mut row = Vec::new();
        let complete = loop {
            let Some(v) = c.value(mysql) else { break false };
            row.push(v);
            c.ws();
            match c.peek() {
                Some(b',') => c.pos += 1,
                Some(b')') => {
                    c.pos += 1;
                    break true;
                }
                _ => break false,
            }
        };
        if !complete {
            break;
        }
        rows.push(row);
        c.ws();
        if c.peek() == Some(b',') {
            c.pos += 1;
        } else {
            break;
        }
    }
    rows
}

/// The values of one `COPY ... FROM stdin` text-format data line.
pub fn copy_row(line: &str) -> Vec<Value> {
    line.split('\t')
        .map(|field| {
            if field == "\\N" {
                return Value::Null;
            }
            let mut out = String::new();
            let mut chars = field.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('v') => out.push('\u{b}'),
                    Some(other) => out.push(other),
                    None => {}
                }
            }
            cut(out)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mysql_extended_insert() {
        let i = parse_insert(
            "INSERT INTO `users` VALUES (1,'O\\'Brien','a,b)',NULL,_binary 'x\\0',0x4142,ST_GeomFromText('POINT(1 2)')),(2,'x''y',-1.5e3,'',NULL,X'00',NULL);",
            true,
            10,
        )
        .unwrap();
        assert_eq!(i.name, "`users`");
        assert_eq!(i.columns, None);
        assert_eq!(
            i.rows,
            vec![
                vec![
                    json!("1"),
                    json!("O'Brien"),
                    json!("a,b)"),
                    Value::Null,
                    json!("x\u{0}"),
                    json!("0x4142"),
                    json!("ST_GeomFromText('POINT(1 2)')")
                ],
                vec![
                    json!("2"),
                    json!("x'y"),
                    json!("-1.5e3"),
                    json!(""),
                    Value::Null,
                    json!("X'00'"),
                    Value::Null
                ],
            ]
        );
    }

    #[test]
    fn postgres_column_inserts_and_limits() {
        let i = parse_insert(
            "INSERT INTO public.actor (actor_id, \"first name\") VALUES (1, 'C:\\dir'), (2, E'a\\tb'), (3, 'z');",
            false,
            2,
        )
        .unwrap();
        assert_eq!(i.name, "public.actor");
        assert_eq!(
            i.columns,
            Some(vec!["actor_id".to_owned(), "first name".to_owned()])
        );
        assert_eq!(
            i.rows,
            vec![
                vec![json!("1"), json!("C:\\dir")],
                vec![json!("2"), json!("a\tb")]
            ]
        );
    }

    #[test]
    fn cut_tuples_are_not_sampled() {
        let i = parse_insert("INSERT INTO t VALUES (1,'a'),(2,'unterminat", true, 10).unwrap();
        assert_eq!(i.rows, vec![vec![json!("1"), json!("a")]]);
        let i = parse_insert("INSERT INTO t VALUES (1,NUL", true, 10).unwrap();
        assert!(i.rows.is_empty());
        assert!(parse_insert("INSERTED INTO t VALUES (1)", true, 10).is_none());
        assert!(parse_insert("INSERT INTO t SELECT 1", true, 10).is_none());
    }

    #[test]
    fn one_tuple_per_line() {
        let i = parse_insert("INSERT INTO `actor` VALUES", true, 5).unwrap();
        assert!(i.open && i.rows.is_empty());
        assert!(
            !parse_insert("INSERT INTO t VALUES (1);", true, 5)
                .unwrap()
                .open
        );
        assert_eq!(
            parse_tuples("(1,'PENELOPE'),", true, 5),
            vec![vec![json!("1"), json!("PENELOPE")]]
        );
    }

    /// Arbitrary bytes and cut or mutated statements never panic.
    #[test]
    fn no_panic_on_garbage() {
        let seeds = [
            "INSERT INTO `t` (`a`, `é`) VALUES (1,'x\\'y',_binary 'z',E'\\n',NULL,f((1),')')),(2",
            "INSERT INTO \"s\".\"t\" VALUES ('é''', 0x00, -1)",
            "REPLACE INTO t VALUES ((((",
            "INSERT INTO `é",
        ];
        let alphabet = "`\"'(),\\ NeéL;".as_bytes();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in seeds {
            let bytes = seed.as_bytes();
            for cut in 0..=bytes.len() {
                let text = String::from_utf8_lossy(&bytes[..cut]);
                let _ = parse_insert(&text, true, 3);
                let _ = parse_insert(&text, false, 3);
                let _ = parse_tuples(&text, true, 3);
                let _ = copy_row(&text);
            }
            for _ in 0..500 {
                let mut b = bytes.to_vec();
                for _ in 0..3 {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
                let text = String::from_utf8_lossy(&b);
                let _ = parse_insert(&text, true, 3);
                let _ = parse_tuples(&text, false, 3);
            }
        }
    }

    #[test]
    fn copy_rows() {
        assert_eq!(
            copy_row("1\tO'Brien\\tx\t\\N\t\\\\N"),
            vec![json!("1"), json!("O'Brien\tx"), Value::Null, json!("\\N")]
        );
        let long = "y".repeat(500);
        assert_eq!(
            copy_row(&long)[0].as_str().unwrap().chars().count(),
            MAX_CHARS + 1
        );
    }
}
