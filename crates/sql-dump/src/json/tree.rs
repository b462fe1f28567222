//! A JSON tree that keeps each number's text as written (`12345678901234567890`, `1.10`,
//! `1e400` come back byte for byte), with a parser bounded in depth and a compact writer.

/// Deepest nesting read; deeper documents are refused (no recursion without bound).
const MAX_DEPTH: usize = 256;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// A number, as its text in the document.
    Num(String),
    /// A string (decoded).
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object: members in document order (duplicates kept).
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses a whole JSON text (UTF-8, surrounding whitespace allowed). `None` when it is
    /// not JSON or nests deeper than the parser goes.
    pub(crate) fn parse(text: &[u8]) -> Option<Json> {
        let text = std::str::from_utf8(text).ok()?;
        let mut p = Parser {
            b: text.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        (p.i == p.b.len()).then_some(v)
    }

    /// The compact JSON text of the value.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_str(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Whether `s` is a JSON number's text.
pub(crate) fn is_number(s: &str) -> bool {
    let mut p = Parser {
        b: s.as_bytes(),
        i: 0,
    };
    p.number().is_some() && p.i == s.len()
}

fn write_str(s: &str, out: &mut String) {
    // serde_json's escaping of a string (never fails for a `str`).
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

struct Parser<'b> {
    b: &'b [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &[u8], v: Json) -> Option<Json> {
        self.b[self.i..].starts_with(word).then(|| {
            self.i += word.len();
            v
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'n' => self.lit(b"null", Json::Null),
            b't' => self.lit(b"true", Json::Bool(true)),
            b'f' => self.lit(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match *self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Json::Arr(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Json::Obj(members));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return None;
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    members.push((key, self.value(depth + 1)?));
                    self.ws();
                    match *self.b.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Json::Obj(members));
                        }
                        _ => return None,
                    }
                }
            }
            _ => self.number().map(Json::Num),
        }
    }

    /// A string starting at the opening quote; decoded by serde_json when it has escapes.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        self.i += 1;
        let raw = self.b.get(start..self.i)?;
        if escaped {
            serde_json::from_slice::<String>(raw).ok()
        } else {
            // The input is a `str` and quotes are ASCII: the inside is UTF-8.
            std::str::from_utf8(&raw[1..raw.len() - 1])
                .ok()
                .map(str::to_owned)
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Option<String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let first = *self.b.get(self.i)?;
        let int = self.digits();
        if int == 0 || (first == b'0' && int > 1) {
            return None;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text() {
        let text = r#"{"big":123456789012345678901234567890,"p":1.10,"e":1E400,"n":-0.0,"s":"a\"\u00e9\ud83d\ude00","a":[true,false,null]}"#;
        let v = Json::parse(text.as_bytes()).unwrap();
        assert_eq!(
            v.to_text(),
            r#"{"big":123456789012345678901234567890,"p":1.10,"e":1E400,"n":-0.0,"s":"a\"é😀","a":[true,false,null]}"#
        );
        assert_eq!(Json::parse(b" [ 1 , {} ] ").unwrap().to_text(), "[1,{}]");
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            &b"01"[..],
            b"1.",
            b"-",
            b"{\"a\" 1}",
            b"[1,]",
            b"\"\x01\"",
            b"\"abc",
            b"nul",
            b"{} x",
            b"\"\\",
            b"\xff",
            b"",
        ] {
            assert_eq!(Json::parse(bad), None, "{bad:?}");
        }
        let deep = "[".repeat(100_000);
        assert_eq!(Json::parse(deep.as_bytes()), None);
        assert!(is_number("-1.5e+3") && !is_number("1e") && !is_number("abc"));
    }
}
