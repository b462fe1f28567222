//! Bounds-checked reading of raw BSON: lengths and elements, no allocation.

/// Largest BSON document mongodump writes or mongorestore reads.
pub const MAX_BSON_SIZE: usize = 16 * 1024 * 1024;

/// BSON element type codes used here.
pub(crate) mod ty {
    pub(crate) const DOUBLE: u8 = 0x01;
    pub(crate) const STRING: u8 = 0x02;
    pub(crate) const DOCUMENT: u8 = 0x03;
    pub(crate) const ARRAY: u8 = 0x04;
    pub(crate) const BINARY: u8 = 0x05;
    pub(crate) const UNDEFINED: u8 = 0x06;
    pub(crate) const OBJECT_ID: u8 = 0x07;
    pub(crate) const BOOL: u8 = 0x08;
    pub(crate) const DATETIME: u8 = 0x09;
    pub(crate) const NULL: u8 = 0x0A;
    pub(crate) const REGEX: u8 = 0x0B;
    pub(crate) const DB_POINTER: u8 = 0x0C;
    pub(crate) const JS_CODE: u8 = 0x0D;
    pub(crate) const SYMBOL: u8 = 0x0E;
    pub(crate) const CODE_W_SCOPE: u8 = 0x0F;
    pub(crate) const INT32: u8 = 0x10;
    pub(crate) const TIMESTAMP: u8 = 0x11;
    pub(crate) const INT64: u8 = 0x12;
    pub(crate) const DECIMAL128: u8 = 0x13;
    pub(crate) const MIN_KEY: u8 = 0xFF;
    pub(crate) const MAX_KEY: u8 = 0x7F;
}

/// A structural problem at a position inside a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawError {
    /// Position in the buffer.
    pub at: usize,
    /// What is wrong.
    pub detail: &'static str,
}

pub(crate) fn err<T>(at: usize, detail: &'static str) -> Result<T, RawError> {
    Err(RawError { at, detail })
}

/// Reads a little-endian i32 at `at`, if in bounds.
#[inline]
pub(crate) fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a little-endian i64 at `at`, if in bounds.
#[inline]
pub(crate) fn read_i64(buf: &[u8], at: usize) -> Option<i64> {
    let b = buf.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(i64::from_le_bytes(a))
}

/// Validates the framing of the embedded document starting at `start` and returns its end
/// (exclusive): length >= 5, inside `limit`, last byte 0.
pub(crate) fn doc_end(buf: &[u8], start: usize, limit: usize) -> Result<usize, RawError> {
    let len = match read_i32(buf, start) {
        Some(l) => l,
        None => return err(start, "document length runs past its container"),
    };
    if len < 5 {
        return err(start, "document length below 5");
    }
    let end = start + len as usize;
    if end > limit || end > buf.len() {
        return err(start, "document length runs past its container");
    }
    if buf[end - 1] != 0 {
        return err(end - 1, "document does not end with a 0 byte");
    }
    Ok(end)
}

/// One element of a document: positions are absolute in the buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elem<'a> {
    /// Type code.
    pub ty: u8,
    /// Field name bytes (no terminating 0).
    pub name: &'a [u8],
    /// Position of the type byte.
    pub start: usize,
    /// Position of the value.
    pub value: usize,
    /// Position after the value.
    pub end: usize,
}

impl<'a> Elem<'a> {
    /// The value's bytes: from after the name to the element's end (a string's length prefix
    /// and final 0 included).
    #[inline]
    pub(crate) fn value_bytes(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.value..self.end]
    }

    /// A string element's contents (without its length prefix and final 0); `None` for
    /// other types.
    #[inline]
    pub(crate) fn str_bytes(&self, buf: &'a [u8]) -> Option<&'a [u8]> {
        (self.ty == ty::STRING).then(|| &buf[self.value + 4..self.end - 1])
    }
}

/// Iterates the elements of the document at `[start, end)` (already framed by [`doc_end`]).
pub(crate) struct Elems<'a> {
    buf: &'a [u8],
    pos: usize,
    last: usize,
    failed: bool,
}

impl<'a> Elems<'a> {
    /// Elements of the document at `start..end`.
    pub(crate) fn new(buf: &'a [u8], start: usize, end: usize) -> Elems<'a> {
        Elems {
            buf,
            pos: start + 4,
            last: end - 1,
            failed: false,
        }
    }

    /// Frames the document at `start` (bounded by `limit`) and iterates it.
    pub(crate) fn framed(buf: &'a [u8], start: usize, limit: usize) -> Result<Elems<'a>, RawError> {
        let end = doc_end(buf, start, limit)?;
        Ok(Elems::new(buf, start, end))
    }
}

impl<'a> Iterator for Elems<'a> {
    type Item = Result<Elem<'a>, RawError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.last {
            return None;
        }
        let r = parse_elem(self.buf, self.pos, self.last);
        match r {
            Ok(e) => {
                self.pos = e.end;
                Some(Ok(e))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn cstring_end(buf: &[u8], from: usize, limit: usize) -> Result<usize, RawError> {
    match memchr::memchr(0, &buf[from..limit]) {
        Some(i) => Ok(from + i),
        None => err(from, "unterminated name or cstring"),
    }
}

fn string_end(buf: &[u8], at: usize, limit: usize) -> Result<usize, RawError> {
    let len = match read_i32(buf, at) {
        Some(l) if l >= 1 => l as usize,
        _ => return err(at, "bad string length"),
    };
    let end = at + 4 + len;
    if end > limit {
        return err(at, "string runs past its document");
    }
    if buf[end - 1] != 0 {
        return err(end - 1, "string does not end with a 0 byte");
    }
    Ok(end)
}

/// Parses the element at `pos`; `limit` is the position of the document's final 0 byte.
fn parse_elem(buf: &[u8], pos: usize, limit: usize) -> Result<Elem<'_>, RawError> {
    let ty = buf[pos];
    if ty == 0 {
        return err(pos, "0 byte before the end of the document");
    }
    let name_end = cstring_end(buf, pos + 1, limit)?;
    let value = name_end + 1;
    let fixed = |n: usize| -> Result<usize, RawError> {
        if value + n > limit {
            err(value, "value runs past its document")
        } else {
            Ok(value + n)
        }
    };
    let end = match ty {
        ty::DOUBLE | ty::DATETIME | ty::TIMESTAMP | ty::INT64 => fixed(8)?,
        ty::INT32 => fixed(4)?,
        ty::DECIMAL128 => fixed(16)?,
        ty::OBJECT_ID => fixed(12)?,
        ty::BOOL => fixed(1)?,
        ty::UNDEFINED | ty::NULL | ty::MIN_KEY | ty::MAX_KEY => value,
        ty::STRING | ty::JS_CODE | ty::SYMBOL => string_end(buf, value, limit)?,
        ty::DOCUMENT | ty::ARRAY => doc_end(buf, value, limit)?,
        ty::BINARY => {
            let len = match read_i32(buf, value) {
                Some(l) if l >= 0 => l as usize,
                _ => return err(value, "bad binary length"),
            };
            fixed(5 + len)?
        }
        ty::REGEX => {
            let a = cstring_end(buf, value, limit)?;
            cstring_end(buf, a + 1, limit)? + 1
        }
        ty::DB_POINTER => {
            let s = string_end(buf, value, limit)?;
            if s + 12 > limit {
                return err(s, "value runs past its document");
            }
            s + 12
        }
        ty::CODE_W_SCOPE => {
            let len = match read_i32(buf, value) {
                Some(l) if l >= 14 => l as usize,
                _ => return err(value, "bad code-with-scope length"),
            };
            fixed(len)?
        }
        _ => return err(pos, "unknown element type"),
    };
    Ok(Elem {
        ty,
        name: &buf[pos + 1..name_end],
        start: pos,
        value,
        end,
    })
}

/// Checks that the framed document at `start..end` is structurally valid BSON all the way
/// down, as mongorestore's `Raw.Validate` does: every element's type, name and length, every
/// nested document and array, code-with-scope's string and scope. One linear pass without
/// recursion; `stack` (reused between calls) holds the enclosing documents' ends.
pub(crate) fn validate(
    buf: &[u8],
    start: usize,
    end: usize,
    stack: &mut Vec<usize>,
) -> Result<(), RawError> {
    stack.clear();
    let mut pos = start + 4;
    // Position of the current document's final 0 byte.
    let mut last = end - 1;
    loop {
        if pos >= last {
            match stack.pop() {
                None => return Ok(()),
                Some(parent_last) => {
                    pos = last + 1;
                    last = parent_last;
                    continue;
                }
            }
        }
        let e = parse_elem(buf, pos, last)?;
        match e.ty {
            ty::DOCUMENT | ty::ARRAY => {
                stack.push(last);
                last = e.end - 1;
                pos = e.value + 4;
            }
            ty::CODE_W_SCOPE => {
                let code_end = string_end(buf, e.value + 4, e.end)?;
                let scope_end = doc_end(buf, code_end, e.end)?;
                if scope_end != e.end {
                    return err(e.value, "code-with-scope length disagrees with its parts");
                }
                stack.push(last);
                last = scope_end - 1;
                pos = code_end + 4;
            }
            _ => pos = e.end,
        }
    }
}

/// The UTF-8 string value of a string element (without length and final 0).
pub(crate) fn str_value<'a>(buf: &'a [u8], e: &Elem<'a>) -> Option<&'a str> {
    std::str::from_utf8(e.str_bytes(buf)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: &bson::Document) -> Vec<u8> {
        bson::to_vec(v).unwrap()
    }

    #[test]
    fn iterates_every_type() {
        let d = bson::doc! {
            "d": 1.5, "s": "x", "o": {"a": 1}, "a": [1, 2], "b": bson::Binary{subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1,2,3]},
            "oid": bson::oid::ObjectId::from_bytes([1;12]), "t": true, "dt": bson::DateTime::from_millis(5), "n": null,
            "re": bson::Regex{pattern: "a".into(), options: "i".into()}, "i": 5i32, "ts": bson::Timestamp{time: 1, increment: 2}, "l": 7i64,
            "dec": bson::Decimal128::from_bytes([0;16]), "min": bson::Bson::MinKey, "max": bson::Bson::MaxKey,
            "js": bson::Bson::JavaScriptCode("f()".into()),
        };
        let bytes = doc(&d);
        let names: Vec<String> = Elems::framed(&bytes, 0, bytes.len())
            .unwrap()
            .map(|e| String::from_utf8(e.unwrap().name.to_vec()).unwrap())
            .collect();
        let want: Vec<String> = d.keys().cloned().collect();
        assert_eq!(names, want);
    }

    #[test]
    fn validate_walks_every_level() {
        let d = bson::doc! {
            "a": {"b": [1, {"c": "x"}, [2, 3]], "d": null},
            "js": bson::Bson::JavaScriptCodeWithScope(bson::JavaScriptCodeWithScope { code: "f()".into(), scope: bson::doc! {"s": {"t": 1}} }),
            "e": "end",
        };
        let bytes = doc(&d);
        let mut stack = Vec::new();
        assert_eq!(validate(&bytes, 0, bytes.len(), &mut stack), Ok(()));
        // Corrupt the innermost string's length: only a walk into every level finds it.
        let at = memchr::memmem::find(&bytes, b"c\0").unwrap() + 2;
        let mut bad = bytes.clone();
        bad[at] = 0x7f;
        assert!(validate(&bad, 0, bad.len(), &mut stack).is_err());
        // An unknown type code deep inside.
        let mut bad = bytes.clone();
        let t = memchr::memmem::find(&bytes, b"\x10t\0").unwrap();
        bad[t] = 0x42;
        assert!(validate(&bad, 0, bad.len(), &mut stack).is_err());
        // Deep nesting does not recurse.
        let mut bytes = doc(&bson::doc! {"x": 1});
        for _ in 0..100_000 {
            let mut outer = ((bytes.len() + 8) as i32).to_le_bytes().to_vec();
            outer.extend_from_slice(b"\x03n\0");
            outer.extend_from_slice(&bytes);
            outer.push(0);
            bytes = outer;
            if bytes.len() > MAX_BSON_SIZE - 8 {
                break;
            }
        }
        assert_eq!(validate(&bytes, 0, bytes.len(), &mut stack), Ok(()));
    }

    proptest::proptest! {
        /// Flipped bytes never panic, and the walk never rejects what the `bson` crate decodes.
        #[test]
        fn validate_never_rejects_what_bson_decodes(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..4)) {
            let d = bson::doc! {
                "a": {"b": [1, {"c": "x"}, [2.5, 3i64]], "d": null, "t": true},
                "bin": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1, 2, 3] },
                "re": bson::Regex { pattern: "p".into(), options: "i".into() },
                "js": bson::Bson::JavaScriptCodeWithScope(bson::JavaScriptCodeWithScope { code: "f()".into(), scope: bson::doc! {"s": 1} }),
                "e": "end",
            };
            let mut bytes = doc(&d);
            for (at, v) in flips {
                let i = at % bytes.len();
                bytes[i] = v;
            }
            let Ok(end) = doc_end(&bytes, 0, bytes.len()) else {
                return Ok(());
            };
            let ours = validate(&bytes[..end], 0, end, &mut Vec::new());
            if bson::Document::from_reader(&bytes[..end]).is_ok() {
                proptest::prop_assert_eq!(ours, Ok(()));
            }
        }
    }

    #[test]
    fn rejects_bad_framing() {
        let bytes = doc(&bson::doc! {"s": "abc"});
        let mut bad = bytes.clone();
        bad[7] = 100; // string length past end
        let r: Result<Vec<_>, _> = Elems::framed(&bad, 0, bad.len()).unwrap().collect();
        assert!(r.is_err());
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() = 1;
        assert!(doc_end(&bad, 0, bad.len()).is_err());
        assert!(doc_end(&bytes, 0, bytes.len() - 1).is_err());
    }
}
