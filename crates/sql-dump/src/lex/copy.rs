//! The lines of a PostgreSQL `COPY ... FROM stdin` text block: where the block ends (the
//! `\\.` line) and where one row's tab-separated fields are.

use super::classes::{mask16, Class};

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
    // Sixteen bytes at a time (a row's fields are short, `memchr` per tab costs more), the
    // last fifteen or fewer eight at a time.
    let (windows, rest) = line[..content].as_chunks::<16>();
    for (w, window) in windows.iter().enumerate() {
        let mut tabs = mask16(window, Class::Either(b'\t', b'\t'));
        while tabs != 0 {
            let k = 16 * w + tabs.trailing_zeros() as usize;
            spans.push((start, k));
            start = k + 1;
            tabs &= tabs - 1;
        }
    }
    let base = 16 * windows.len();
    super::swar::each_equal(rest, b'\t', |k| {
        spans.push((start, base + k));
        start = base + k + 1;
    });
    spans.push((start, content));
}

/// The number of fields [`split_fields`] finds in `line` (a COPY line, with its line end):
/// its tabs and one, counted sixteen bytes at a time without writing spans (the reading
/// thread's width check of a row a worker splits: docs/performance.md, branch row26).
pub(crate) fn field_count(line: &[u8]) -> usize {
    let (windows, rest) = line.as_chunks::<16>();
    let tabs = windows
        .iter()
        .map(|w| mask16(w, Class::Either(b'\t', b'\t')).count_ones() as usize)
        .sum::<usize>();
    let mut tail = 0;
    super::swar::each_equal(rest, b'\t', |_| tail += 1);
    tabs + tail + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a line are what splitting its content at every tab gives.
    #[test]
    fn fields_are_the_tab_separated_parts() {
        let lines: &[&[u8]] = &[
            b"\n",
            b"1\n",
            b"1\t\n",
            b"\t\t\r\n",
            b"12\tK\xc3\xa9thir\tBrown\tkrethir.brown1@ucl.example\t+44 7780 463556\t2186\t1\t2019-02-12\n",
            b"a\\tb\tc\\\td\r\n",
            b"no line end",
        ];
        for line in lines {
            let mut spans = Vec::new();
            split_fields(line, &mut spans);
            let content = line.len().saturating_sub(1)
                - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
            let want: Vec<&[u8]> = line[..content].split(|&b| b == b'\t').collect();
            let got: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            assert_eq!(got, want, "{line:?}");
        }
    }

    proptest::proptest! {
        /// Lines of every length up to 100 bytes (across the sixteen-byte windows and the
        /// tail), rich in tabs and their neighbours: the fields are the tab-separated parts,
        /// and `field_count` counts them.
        #[test]
        fn fields_of_any_line(
            content in proptest::collection::vec(proptest::sample::select(
                vec![b'\t', b'\t', b'a', b'\\', 0x08, 0x0a, 0x89, b'\r', 0xff]), 0..100),
            crlf in proptest::bool::ANY,
        ) {
            let mut line: Vec<u8> = content.into_iter().filter(|&b| b != b'\n').collect();
            line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            let mut spans = Vec::new();
            split_fields(&line, &mut spans);
            // Without its line end: `\n`, or `\r\n` whatever came before.
            let end = line.len() - 1 - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r');
            let content = &line[..end];
            let want: Vec<&[u8]> = content.split(|&b| b == b'\t').collect();
            let got: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            proptest::prop_assert_eq!(got, want);
            // The reading thread's count of fields is the number of spans the split gives.
            proptest::prop_assert_eq!(field_count(&line), spans.len());
        }
    }
}
