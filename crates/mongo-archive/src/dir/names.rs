//! File names of a mongodump directory: collection names are escaped as Go's
//! `url.QueryEscape` escapes them (mongodump's `outputPath`), so `$admin.system.users` is
//! `%24admin.system.users.bson`.

/// Escapes a collection name for a file name: `[A-Za-z0-9-_.~]` stay, a space is `+`, every
/// other byte is `%XX` (upper-case hex).
pub(crate) fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// Reverses [`escape`] (`+` is a space, `%XX` a byte); `None` for a bad escape or a name that
/// is not UTF-8.
pub(crate) fn unescape(file: &str) -> Option<String> {
    let bytes = file.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_go_query_escape() {
        assert_eq!(escape("$admin.system.users"), "%24admin.system.users");
        assert_eq!(escape("a b/c"), "a+b%2Fc");
        assert_eq!(escape("pmStudy"), "pmStudy");
        assert_eq!(escape("é"), "%C3%A9");
        for name in ["$admin.system.users", "a b/c", "é~x", "system.buckets.w"] {
            assert_eq!(unescape(&escape(name)).as_deref(), Some(name));
        }
        assert_eq!(unescape("%2"), None);
        assert_eq!(unescape("%zz"), None);
    }
}
