//! A strict JSON syntax check for the prelude's collection metadata, which mongorestore parses
//! as Extended JSON: the grammar, plus the string-valued type wrappers (`{"$numberInt": "2"}`,
//! `$numberLong`, `$numberDouble`, `$numberDecimal`, `$oid`: alone in their object, with a
//! string value of the right form). No allocation beyond a reused stack of open brackets.

/// Where and why a text is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte position in the text.
    pub at: usize,
    /// What is wrong.
    pub detail: &'static str,
}

fn fail<T>(at: usize, detail: &'static str) -> Result<T, JsonError> {
    Err(JsonError { at, detail })
}

fn ws(t: &[u8], mut i: usize) -> usize {
    while matches!(t.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end of the string starting with the quote at `i`.
fn string(t: &[u8], mut i: usize) -> Result<usize, JsonError> {
    let start = i;
    i += 1;
    loop {
        match t.get(i) {
            None => return fail(start, "unterminated string"),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match t.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = t.get(i + 2..i + 6).unwrap_or(b"");
                    if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                        return fail(i, "bad \\u escape");
                    }
                    i += 6;
                }
                _ => return fail(i, "bad escape"),
            },
            Some(&c) if c < 0x20 => return fail(i, "control character in a string"),
            Some(_) => i += 1,
        }
    }
}

fn digits(t: &[u8], mut i: usize) -> usize {
    while t.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

fn number(t: &[u8], mut i: usize) -> Result<usize, JsonError> {
    let start = i;
    if t.get(i) == Some(&b'-') {
        i += 1;
    }
    match t.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(t, i),
        _ => return fail(start, "bad number"),
    }
    if t.get(i) == Some(&b'.') {
        let j = digits(t, i + 1);
        if j == i + 1 {
            return fail(start, "bad number");
        }
        i = j;
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(t, i);
        if j == i {
            return fail(start, "bad number");
        }
        i = j;
    }
    Ok(i)
}

/// A member's key and its colon, from `i`; returns the position after the colon and the
/// key's text (between the quotes).
fn key(t: &[u8], i: usize) -> Result<(usize, &[u8]), JsonError> {
    if t.get(i) != Some(&b'"') {
        return fail(i, "expected a quoted key");
    }
    let end = string(t, i)?;
    let name = &t[i + 1..end - 1];
    let i = ws(t, end);
    if t.get(i) != Some(&b':') {
        return fail(i, "expected `:` after a key");
    }
    Ok((i + 1, name))
}

/// An Extended JSON type wrapper whose value is a string.
#[derive(Clone, Copy)]
enum Wrapper {
    Int32,
    Int64,
    Double,
    Decimal,
    ObjectId,
}

fn wrapper(key: &[u8]) -> Option<Wrapper> {
    Some(match key {
        b"$numberInt" => Wrapper::Int32,
        b"$numberLong" => Wrapper::Int64,
        b"$numberDouble" => Wrapper::Double,
        b"$numberDecimal" => Wrapper::Decimal,
        b"$oid" => Wrapper::ObjectId,
        _ => return None,
    })
}

/// Checks a wrapper's string value (the text between the quotes).
fn wrapped_ok(w: Wrapper, v: &[u8]) -> bool {
    let text = std::str::from_utf8(v).unwrap_or("");
    let integer = |t: &str| {
        let digits = t.strip_prefix('-').unwrap_or(t);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    match w {
        Wrapper::Int32 => integer(text) && text.parse::<i32>().is_ok(),
        Wrapper::Int64 => integer(text) && text.parse::<i64>().is_ok(),
        Wrapper::Double => {
            matches!(text, "Infinity" | "-Infinity" | "NaN")
                || (number(v, 0) == Ok(v.len()) && text.parse::<f64>().is_ok())
        }
        Wrapper::Decimal => {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        }
        Wrapper::ObjectId => v.len() == 24 && v.iter().all(u8::is_ascii_hexdigit),
    }
}

/// Checks that `t` is one JSON object (RFC 8259), surrounded by optional whitespace.
pub(crate) fn validate_object(t: &[u8], stack: &mut Vec<u8>) -> Result<(), JsonError> {
    stack.clear();
    let mut i = ws(t, 0);
    if t.get(i) != Some(&b'{') {
        return fail(i, "not a JSON object");
    }
    let mut want_value = true;
    // A type wrapper's key was just read: its string value, then the end of its object.
    let mut pending: Option<Wrapper> = None;
    loop {
        i = ws(t, i);
        if let Some(w) = pending.take() {
            if t.get(i) != Some(&b'"') {
                return fail(i, "an Extended JSON type wrapper needs a string value");
            }
            let end = string(t, i)?;
            if !wrapped_ok(w, &t[i + 1..end - 1]) {
                return fail(i, "bad value in an Extended JSON type wrapper");
            }
            i = ws(t, end);
            if t.get(i) != Some(&b'}') {
                return fail(
                    i,
                    "an Extended JSON type wrapper must be alone in its object",
                );
            }
            stack.pop();
            i += 1;
            want_value = false;
            continue;
        }
        if want_value {
            want_value = false;
            match t.get(i) {
                Some(&open @ (b'{' | b'[')) => {
                    let close = if open == b'{' { b'}' } else { b']' };
                    stack.push(close);
                    i = ws(t, i + 1);
                    if t.get(i) == Some(&close) {
                        stack.pop();
                        i += 1;
                    } else {
                        if open == b'{' {
                            let (after, name) = key(t, i)?;
                            i = after;
                            pending = wrapper(name);
                        }
                        want_value = true;
                    }
                }
                Some(b'"') => i = string(t, i)?,
                Some(b'-' | b'0'..=b'9') => i = number(t, i)?,
                Some(b't') if t[i..].starts_with(b"true") => i += 4,
                Some(b'f') if t[i..].starts_with(b"false") => i += 5,
                Some(b'n') if t[i..].starts_with(b"null") => i += 4,
                _ => return fail(i, "expected a value"),
            }
        } else {
            let Some(&close) = stack.last() else {
                return if i == t.len() {
                    Ok(())
                } else {
                    fail(i, "characters after the JSON value")
                };
            };
            match t.get(i) {
                Some(b',') => {
                    i = ws(t, i + 1);
                    if close == b'}' {
                        // A wrapper key after the first is an ordinary field name.
                        i = key(t, i)?.0;
                    }
                    want_value = true;
                }
                Some(&c) if c == close => {
                    stack.pop();
                    i += 1;
                }
                _ => return fail(i, "expected `,` or a closing bracket"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str) -> bool {
        validate_object(t.as_bytes(), &mut Vec::new()).is_ok()
    }

    #[test]
    fn accepts_json_objects() {
        assert!(ok("{}"));
        assert!(ok(" {\"a\" : [1, -2.5e+3, 0.1, true, false, null, \"x\\n\\u00e9\"], \"b\": {\"c\": {}}, \"d\": []}\n"));
        assert!(ok(
            r#"{"options":{},"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}],"uuid":"a1"}"#
        ));
        assert!(ok(
            r#"{"a":{"$numberLong":"-9223372036854775808"},"b":{"$numberDouble":"-Infinity"},"c":{"$numberDouble":"1.5e3"},"d":{"$numberDecimal":"2"},"e":{"$oid":"5f7c8e9d5f7c8e9d5f7c8e9d"},"f":{"$date":{"$numberLong":"1"}},"g":{"$**":1},"h":{"x":1,"$numberInt":[]}}"#
        ));
    }

    #[test]
    fn rejects_what_is_not_json() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1}}",
            "{\"a\":1} x",
            "{'a':1}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":NaN}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":[1 2]}",
            "{\"a\":tru}",
            r#"{"key":{"{"a":"b"}":{"$numberDouble":"1.0"}}}"#,
            r#"{"v":{"$numberInt":"x"}}"#,
            r#"{"v":{"$numberInt":"2147483648"}}"#,
            r#"{"v":{"$numberInt":2}}"#,
            r#"{"v":{"$numberLong":"1.5"}}"#,
            r#"{"v":{"$numberDouble":"one"}}"#,
            r#"{"v":{"$oid":"abc"}}"#,
            r#"{"v":{"$numberInt":"2","x":1}}"#,
        ] {
            assert!(!ok(bad), "accepted {bad:?}");
        }
    }

    proptest::proptest! {
        /// Agrees with serde_json on texts made of JSON's own characters (and a few others).
        #[test]
        fn agrees_with_serde_json(text in "[{}\\[\\]\"a-c0-9:,. eE+\\-\\\\ntrufls]{0,40}") {
            let ours = validate_object(text.as_bytes(), &mut Vec::new()).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|v| v.is_object());
            proptest::prop_assert_eq!(ours, theirs, "{:?}", text);
        }

        /// Objects serde_json writes are accepted.
        #[test]
        fn accepts_what_serde_json_writes(keys in proptest::collection::vec("\\PC{0,8}", 0..5), n in proptest::num::f64::NORMAL) {
            let mut map = serde_json::Map::new();
            for (i, k) in keys.into_iter().enumerate() {
                map.insert(k, serde_json::json!([i, n, null, true, {"x\u{1}y": "\"\\"}]));
            }
            let text = serde_json::to_string(&serde_json::Value::Object(map)).unwrap();
            proptest::prop_assert!(validate_object(text.as_bytes(), &mut Vec::new()).is_ok(), "{}", text);
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let t = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(ok(&t));
    }
}
