//! The lines of a PostgreSQL `COPY ... FROM stdin` text block: where the block ends (the
//! `\\.` line) and where one row's tab-separated fields are.

/// Length of the terminator line `\.` at the start of `a` (with its line end), if it
/// is one; `Err(())` when more bytes are needed to tell.
pub(crate) fn terminator(a: &[u8], eof: bool) -> Result<Option<usize>, ()> {
    if a.len() < 2 {
        return if eof || (!a.is_empty() && a[0] != b'\\') {
            Ok(None)
        } else {
            Err(())
        };
    }
    if &a[..2] != b"\\." {
        return Ok(None);
    }
    match a.get(2) {
        None if eof => Ok(Some(2)),
        None => Err(()),
        Some(b'\n') => Ok(Some(3)),
        Some(b'\r') => match a.get(3) {
            Some(b'\n') => Ok(Some(4)),
            None if !eof => Err(()),
            _ => Ok(Some(3)),
        },
        Some(_) => Ok(None),
    }
}

/// The spans of the tab-separated fields of one COPY `line` (ending with `\n` or `\r\n`,
/// which no span includes).
pub(crate) fn split_fields(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    let content = line.len().saturating_sub(1)
        - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
    spans.clear();
    let mut start = 0;
    for k in memchr::memchr_iter(b'\t', &line[..content]) {
        spans.push((start, k));
        start = k + 1;
    }
    spans.push((start, content));
}
