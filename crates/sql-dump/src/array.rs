//! PostgreSQL array literals (`{a,"b c",NULL,{d}}`), read and written so that transforms
//! apply to an array column's elements one by one.

/// Deepest nesting read (PostgreSQL allows 6 dimensions).
const MAX_DEPTH: usize = 8;

/// One element of an array literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    /// `NULL` (unquoted).
    Null,
    /// A text element, unescaped.
    Text(String),
    /// A nested array (a further dimension).
    Sub(Vec<Elem>),
}

/// A parsed array literal: its dimension decoration (`[1:2]=`, kept as written) and
/// elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Array {
    prefix: String,
    /// The top-level elements.
    pub(crate) elems: Vec<Elem>,
}

impl Array {
    /// Parses an array literal's text. `None` when it is not one.
    pub(crate) fn parse(s: &str) -> Option<Array> {
        let (prefix, body) = match s.find('=') {
            Some(eq) if s.starts_with('[') => (&s[..=eq], &s[eq + 1..]),
            _ => ("", s),
        };
        let b = body.trim().as_bytes();
        let mut i = 0;
        let elems = list(b, &mut i, 0)?;
        (i == b.len()).then(|| Array {
            prefix: prefix.to_owned(),
            elems,
        })
    }

    /// The literal's text, every text element quoted.
    pub(crate) fn to_text(&self) -> String {
        let mut out = self.prefix.clone();
        write_list(&self.elems, &mut out);
        out
    }

    /// Applies `f` to every text element (nested ones included).
    pub(crate) fn map_text(&mut self, f: &mut dyn FnMut(&str) -> Elem) {
        fn walk(elems: &mut [Elem], f: &mut dyn FnMut(&str) -> Elem) {
            for e in elems {
                match e {
                    Elem::Text(t) => *e = f(t),
                    Elem::Sub(v) => walk(v, f),
                    Elem::Null => {}
                }
            }
        }
        walk(&mut self.elems, f);
    }
}

fn list(b: &[u8], i: &mut usize, depth: usize) -> Option<Vec<Elem>> {
    if depth > MAX_DEPTH || b.get(*i) != Some(&b'{') {
        return None;
    }
    *i += 1;
    let mut elems = Vec::new();
    skip_ws(b, i);
    if b.get(*i) == Some(&b'}') {
        *i += 1;
        return Some(elems);
    }
    loop {
        skip_ws(b, i);
        elems.push(match *b.get(*i)? {
            b'{' => Elem::Sub(list(b, i, depth + 1)?),
            b'"' => Elem::Text(quoted(b, i)?),
            _ => unquoted(b, i)?,
        });
        skip_ws(b, i);
        match *b.get(*i)? {
            b',' => *i += 1,
            b'}' => {
                *i += 1;
                return Some(elems);
            }
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], i: &mut usize) {
    while b.get(*i).is_some_and(u8::is_ascii_whitespace) {
        *i += 1;
    }
}

fn quoted(b: &[u8], i: &mut usize) -> Option<String> {
    *i += 1;
    let mut out = Vec::new();
    loop {
        match *b.get(*i)? {
            b'"' => {
                *i += 1;
                return String::from_utf8(out).ok();
            }
            b'\\' => {
                out.push(*b.get(*i + 1)?);
                *i += 2;
            }
            c => {
                out.push(c);
                *i += 1;
            }
        }
    }
}

fn unquoted(b: &[u8], i: &mut usize) -> Option<Elem> {
    let mut out = Vec::new();
    while let Some(&c) = b.get(*i) {
        match c {
            b',' | b'}' => break,
            b'{' | b'"' => return None,
            b'\\' => {
                out.push(*b.get(*i + 1)?);
                *i += 2;
            }
            _ => {
                out.push(c);
                *i += 1;
            }
        }
    }
    while out.last().is_some_and(u8::is_ascii_whitespace) {
        out.pop();
    }
    if out.is_empty() {
        return None;
    }
    if out.eq_ignore_ascii_case(b"null") {
        return Some(Elem::Null);
    }
    String::from_utf8(out).ok().map(Elem::Text)
}

fn write_list(elems: &[Elem], out: &mut String) {
    out.push('{');
    for (k, e) in elems.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        match e {
            Elem::Null => out.push_str("NULL"),
            Elem::Sub(v) => write_list(v, out),
            Elem::Text(t) => {
                out.push('"');
                for c in t.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_array_literals() {
        let a = Array::parse(r#"{a, "b \"c\"",NULL,"NULL",{d\,e}}"#).unwrap();
        assert_eq!(
            a.elems,
            [
                Elem::Text("a".into()),
                Elem::Text("b \"c\"".into()),
                Elem::Null,
                Elem::Text("NULL".into()),
                Elem::Sub(vec![Elem::Text("d,e".into())]),
            ]
        );
        assert_eq!(a.to_text(), r#"{"a","b \"c\"",NULL,"NULL",{"d,e"}}"#);
        assert_eq!(
            Array::parse("[0:1]={1,2}").unwrap().to_text(),
            r#"[0:1]={"1","2"}"#
        );
        assert_eq!(Array::parse("{}").unwrap().to_text(), "{}");
        for bad in ["", "{", "{a", "{a,}", "a", "{\"a}", "{a}x", &"{".repeat(50)] {
            assert_eq!(Array::parse(bad), None, "{bad}");
        }
    }
}
