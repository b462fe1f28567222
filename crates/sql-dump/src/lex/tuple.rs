//! One INSERT tuple `( ... )`, held in memory, split into its values.

#[cfg(target_arch = "x86_64")]
use super::blocks::Blocks;
use super::classes::{first_in, Class};
use super::rules::{quote_at, single_quote_escapes, word_byte};
use super::string_end;
use crate::dialect::Syntax;
#[cfg(test)]
use crate::Dialect;

/// Splits an INSERT tuple `( ... )` into value spans (relative to `t`). False when
/// malformed.
pub(crate) fn split_tuple(t: &[u8], syntax: Syntax, spans: &mut Vec<(usize, usize)>) -> bool {
    spans.clear();
    let n = t.len();
    if n < 2 || t[0] != b'(' || t[n - 1] != b')' {
        return false;
    }
    let mut i = 1;
    let mut start = 1;
    let mut depth = 0usize;
    while i < n - 1 {
        if let Some((q, esc)) = quote_at(syntax, t, i) {
            // The string must close before the tuple's `)`.
            match string_end(&t[..n - 1], i + 1, q, esc, true) {
                Ok(end) => i = end,
                Err(_) => return false,
            }
            continue;
        }
        if t[i] == b'$' && syntax.dialect.dollar_quotes() && (i == 0 || !word_byte(t[i - 1])) {
            // A dollar-quoted string `$tag$ ... $tag$`, as the lexer reads it: it must close
            // before the tuple's `)`, and its commas and parentheses are not the tuple's.
            let mut j = i + 1;
            while j < n - 1 && word_byte(t[j]) && t[j] != b'$' {
                j += 1;
            }
            if j < n - 1 && t[j] == b'$' && (j == i + 1 || !t[i + 1].is_ascii_digit()) {
                let tag = &t[i..=j];
                match t[j + 1..n - 1].windows(tag.len()).position(|w| w == tag) {
                    Some(k) => i = j + 1 + k + tag.len(),
                    None => return false,
                }
                continue;
            }
        }
        match t[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                spans.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    spans.push((start, n - 1));
    true
}

/// Bytes [`scan_split`] stops at outside strings.
const STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let stops = b",()'\"`#$/-;";
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
};

/// One pass over the INSERT tuple `( ... )` at the start of `data`: its end (just past its
/// `)`) and its value spans, as the statement lexer in tuple mode and [`split_tuple`] would
/// find them. `None` when the tuple is not complete in `data` or holds anything beyond plain
/// values and `'...'` strings (a comment, a `"` or backtick quote, a `$`, a `;`, or a
/// statement delimiter other than `;`): the caller then takes the two-pass way, which gives
/// the same result or the error.
pub(crate) fn scan_split(
    data: &[u8],
    syntax: Syntax,
    delimiter: &[u8],
    spans: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        if data.first() != Some(&b'(') || delimiter != b";" {
            return None;
        }
        spans.clear();
        // SAFETY: the CPU has AVX2 (checked just above; the check reads a cached word).
        // Whether every `'...'` string takes backslash escapes (no `E` prefix needed).
        let escapes = single_quote_escapes(syntax, b' ', b' ');
        if let Blocks::Answer(end) = unsafe { super::blocks::scan_split(data, escapes, spans) } {
            return end;
        }
    }
    scan_split_portable(data, syntax, delimiter, spans)
}

/// [`scan_split`] without AVX2: the bytes outside strings one by one (a table of the
/// bytes it stops at), a string's end sixteen bytes at a time ([`string_close`]).
#[inline]
fn scan_split_portable(
    data: &[u8],
    syntax: Syntax,
    delimiter: &[u8],
    spans: &mut Vec<(usize, usize)>,
) -> Option<usize> {
    scan_split_with(data, syntax, delimiter, spans, string_close)
}

/// [`scan_split`] with the function that finds just past a string (`close(data, body start,
/// quote, backslash escapes)`): [`string_close`] in the scan, the byte-wise `string_end` in
/// the test that holds it to its plain definition.
#[inline(always)]
fn scan_split_with(
    data: &[u8],
    syntax: Syntax,
    delimiter: &[u8],
    spans: &mut Vec<(usize, usize)>,
    close: impl Fn(&[u8], usize, u8, bool) -> Option<usize>,
) -> Option<usize> {
    if data.first() != Some(&b'(') || delimiter != b";" {
        return None;
    }
    spans.clear();
    let n = data.len();
    let mut i = 1;
    let mut start = 1;
    let mut depth = 0usize;
    loop {
        while i < n && !STOP[data[i] as usize] {
            i += 1;
        }
        let b = *data.get(i)?;
        match b {
            b'\'' => {
                let (q, esc) = quote_at(syntax, data, i)?;
                i = close(data, i + 1, q, esc)?;
                continue;
            }
            b'(' => depth += 1,
            b')' if depth == 0 => {
                spans.push((start, i));
                return Some(i + 1);
            }
            b')' => depth -= 1,
            b',' if depth == 0 => {
                spans.push((start, i));
                start = i + 1;
            }
            b',' => {}
            // A negative number; `--` may start a comment.
            b'-' if data.get(i + 1).is_some_and(|&c| c != b'-') => {}
            _ => return None,
        }
        i += 1;
    }
}

/// Just past the string quoted by `q` whose body starts at `i` (`esc`: backslashes escape
/// in it), as [`string_end`] finds it in a complete input (`None` where it gives an error):
/// the next quote or backslash found sixteen bytes at a time ([`first_in`]), an escaped
/// byte or a doubled quote stepped over.
#[inline]
fn string_close(data: &[u8], mut i: usize, q: u8, esc: bool) -> Option<usize> {
    let class = Class::Either(q, if esc { b'\\' } else { q });
    loop {
        let k = i + first_in(data.get(i..)?, class)?;
        if data[k] != q || *data.get(k + 1)? == q {
            // A backslash escapes the next byte, whatever it is; `''` is one quote.
            i = k + 2;
            continue;
        }
        return Some(k + 1);
    }
}

/// The span without the whitespace around the value.
pub(crate) fn trim_span(src: &[u8], (s, e): (usize, usize)) -> (usize, usize) {
    let mut s = s;
    let mut e = e;
    while s < e && src[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && src[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`scan_split`] as it was before strings' ends were searched sixteen bytes at a time
    /// (by `string_end`): the plain definition the fast one is held to.
    fn scan_split_bytewise(
        data: &[u8],
        syntax: Syntax,
        delimiter: &[u8],
        spans: &mut Vec<(usize, usize)>,
    ) -> Option<usize> {
        scan_split_with(data, syntax, delimiter, spans, |data, i, q, esc| {
            string_end(data, i, q, esc, false).ok()
        })
    }

    proptest::proptest! {
        /// [`string_close`] finds just past a string where `string_end` does (or fails where
        /// it fails), from every start, for both quotes, with and without backslash escapes,
        /// on bodies long enough to take the sixteen-byte steps and their tails.
        #[test]
        fn string_close_is_string_end(
            body in proptest::collection::vec(proptest::sample::select(
                b"a1'\\\",x \xc3\xa9".to_vec()), 0..70),
        ) {
            for start in 0..=body.len() {
                for q in [b'\'', b'"'] {
                    for esc in [true, false] {
                        proptest::prop_assert_eq!(
                            string_close(&body, start, q, esc),
                            string_end(&body, start, q, esc, false).ok(),
                            "{:?} from {}", String::from_utf8_lossy(&body), start
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The scan answers as the one with `string_end` on tuples built from the
        /// bytes that matter (quotes, backslashes, punctuation, comment starts), cut at any
        /// length, in both dialects and string modes.
        #[test]
        fn block_scan_agrees_with_bytewise(
            body in proptest::collection::vec(proptest::sample::select(
                b"a1'\\,()-\"`#$/;.+ E\xc3\xa9".to_vec()), 0..90),
            cut in 0usize..100,
            delimiter_ok in proptest::bool::ANY,
        ) {
            let mut tuple = vec![b'('];
            tuple.extend_from_slice(&body);
            tuple.extend_from_slice(b"),(2)");
            let data = &tuple[..cut.min(tuple.len())];
            let delimiter: &[u8] = if delimiter_ok { b";" } else { b";;" };
            for dialect in [Dialect::MySql, Dialect::Postgres] {
                for std_strings in [true, false] {
                    let syntax = Syntax { std_strings, ..dialect.into() };
                    let (mut fast, mut plain) = (vec![(7, 7)], Vec::new());
                    let got = scan_split(data, syntax, delimiter, &mut fast);
                    let want = scan_split_bytewise(data, syntax, delimiter, &mut plain);
                    proptest::prop_assert_eq!(got, want, "{:?}", String::from_utf8_lossy(data));
                    if got.is_some() {
                        proptest::prop_assert_eq!(&fast, &plain);
                    }
                }
            }
        }
    }

    /// `data` scanned by [`scan_split`], by the portable scan and, where the CPU has AVX2,
    /// by the block scan, each against [`scan_split_bytewise`]: the same end and, where
    /// it ends, the same spans. True when the block scan answered (itself, without the
    /// portable scan).
    fn agrees(data: &[u8], syntax: Syntax, delimiter: &[u8]) -> bool {
        let mut plain = Vec::new();
        let want = scan_split_bytewise(data, syntax, delimiter, &mut plain);
        let shown = String::from_utf8_lossy(data);
        let mut spans = vec![(7, 7)];
        assert_eq!(
            scan_split(data, syntax, delimiter, &mut spans),
            want,
            "{shown:?}"
        );
        if want.is_some() {
            assert_eq!(spans, plain, "{shown:?}");
        }
        let mut spans = vec![(7, 7)];
        let got = scan_split_portable(data, syntax, delimiter, &mut spans);
        assert_eq!(got, want, "portable: {shown:?}");
        if want.is_some() {
            assert_eq!(spans, plain, "portable: {shown:?}");
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && data.first() == Some(&b'(') {
            let mut spans = Vec::new();
            // SAFETY: the CPU has AVX2.
            if let Blocks::Answer(got) = unsafe {
                super::super::blocks::scan_split(
                    data,
                    single_quote_escapes(syntax, b' ', b' '),
                    &mut spans,
                )
            } {
                assert_eq!(got, want, "blocks: {shown:?}");
                if want.is_some() {
                    assert_eq!(spans, plain, "blocks: {shown:?}");
                }
                return true;
            }
        }
        false
    }

    proptest::proptest! {
        /// Long tuples, mostly plain (letters, digits, quotes, commas, `)`, UTF-8) with now
        /// and then a byte that sends them to the portable scan, crossing the 64-byte blocks
        /// with strings, doubled quotes and commas at every offset, cut at any length: every
        /// scan answers as the byte-wise one.
        #[test]
        fn long_tuples_agree_across_blocks(
            body in proptest::collection::vec(proptest::prop_oneof![
                30 => proptest::sample::select(b"ab1 '',,\xc3\xa9".to_vec()),
                3 => proptest::sample::select(b"')".to_vec()),
                3 => proptest::sample::select(b"\\\\'".to_vec()),
                1 => proptest::sample::select(b"\\(-\"`#$/;E".to_vec()),
            ], 0..400),
            cut in 0usize..420,
        ) {
            let mut tuple = vec![b'('];
            tuple.extend_from_slice(&body);
            tuple.extend_from_slice(b"),(2)");
            let data = &tuple[..cut.min(tuple.len())];
            for syntax in Syntax::every() {
                agrees(data, syntax, b";");
            }
        }
    }

    /// Plain rows of three blocks with strings, doubled quotes, an empty string and (in the
    /// second) backslash escapes across the blocks' edges, with every byte value at every
    /// offset (and each row cut there): every scan answers as the byte-wise one; the block
    /// scan answers the plain rows themselves (the second where strings take escapes).
    #[test]
    fn every_byte_at_every_offset() {
        let rows: [&[u8]; 2] = [
            b"(1,'Kr\xc3\xa9thir','O''Brien','krethir.kroulogroutz1@ucl.example',\
            '+44 7780 463556',2186,'',NULL,'a long note, with commas, ''quotes'' and (parentheses)',\
            3.5,'2019-02-12'),(2)",
            b"(1,'O\\'Brien','a\\\\','\\\\\\'',2186,'',NULL,'a long note, with commas, \\'quotes\\' \\\\\\\\ and \\)',\
            3.5,'x\\\\\\\\\\\\\\'\\\\','2019-02-12'),(2)",
        ];
        for row in rows {
            let end = row.len() - 4;
            for syntax in Syntax::every() {
                agrees(row, syntax, b";");
                for cut in 0..row.len() {
                    agrees(&row[..cut], syntax, b";");
                }
                for at in 1..end {
                    for b in 0..=255u8 {
                        let mut changed = row.to_vec();
                        changed[at] = b;
                        agrees(&changed, syntax, b";");
                    }
                }
            }
            assert!(agrees(row, Dialect::MySql.into(), b";"));
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let mut spans = Vec::new();
                // SAFETY: the CPU has AVX2.
                let answer = unsafe { super::super::blocks::scan_split(row, true, &mut spans) };
                assert_eq!(answer, Blocks::Answer(Some(end)));
            }
        }
    }

    /// Runs of one to five backslashes before a quote inside a string, ending at every
    /// offset across three blocks (so that a run and the byte it escapes straddle each
    /// edge): every scan answers as the byte-wise one, and the block scan answers itself
    /// in MySQL where the quote is escaped.
    #[test]
    fn escapes_at_every_offset() {
        for shift in 0..150 {
            for run in 1..=5 {
                let mut row = b"(1,'".to_vec();
                row.extend(std::iter::repeat_n(b'a', shift));
                row.extend(std::iter::repeat_n(b'\\', run));
                row.extend_from_slice(b"',x,y'),(2)");
                for syntax in Syntax::every() {
                    agrees(&row, syntax, b";");
                }
                let answered = agrees(&row, Dialect::MySql.into(), b";");
                assert!(answered || run % 2 == 0, "{shift} {run}");
            }
        }
    }

    fn values(t: &[u8], dialect: Dialect, std: bool) -> Option<Vec<String>> {
        let mut spans = Vec::new();
        let syntax = Syntax {
            std_strings: std,
            ..dialect.into()
        };
        if !split_tuple(t, syntax, &mut spans) {
            return None;
        }
        Some(
            spans
                .iter()
                .map(|&s| {
                    let (a, b) = trim_span(t, s);
                    String::from_utf8_lossy(&t[a..b]).into_owned()
                })
                .collect(),
        )
    }

    #[test]
    fn splits_by_dialect() {
        let my = Dialect::MySql;
        assert_eq!(
            values(b"(1,'a,\\',b', \"c,\",f(1,2),`x,y`)", my, true).unwrap(),
            ["1", "'a,\\',b'", "\"c,\"", "f(1,2)", "`x,y`"]
        );
        let pg = Dialect::Postgres;
        assert_eq!(
            values(b"(1, E'it\\'s', 'a\\', 'b')", pg, true).unwrap(),
            ["1", "E'it\\'s'", "'a\\'", "'b'"]
        );
        assert_eq!(
            values(b"(1, 'a\\', b')", pg, false).unwrap(),
            ["1", "'a\\', b'"]
        );
        assert_eq!(values(b"(1, 'open)", pg, true), None);
        assert_eq!(values(b"1, 2", pg, true), None);
        // Dollar quotes (found by the postgres_rewrite fuzz target): their commas and
        // parentheses belong to the value; one that does not close is malformed.
        assert_eq!(
            values(b"($$\n,$$, $a$ ) $ $a$, f($1), x$y)", pg, true).unwrap(),
            ["$$\n,$$", "$a$ ) $ $a$", "f($1)", "x$y"]
        );
        assert_eq!(values(b"($q$ open, 1)", pg, true), None);
        assert_eq!(values(b"($$,$$)", my, true).unwrap(), ["$$", "$$"]);
    }

    /// `scan_split` agrees with the lexer's tuple end and `split_tuple`'s spans wherever it
    /// answers, and leaves the rest (comments, other quotes, incomplete input) to them.
    #[test]
    fn one_pass_agrees_with_lexer_and_split() {
        use crate::lex::{Lexer, Scan};
        let cases: &[(&[u8], Dialect, bool)] = &[
            (
                b"(1,'a,\\',b', -2, f(1,(2)),'x''y',NULL) ,(2)",
                Dialect::MySql,
                true,
            ),
            (
                b"(1, E'it\\'s', 'a\\', 'b', '2024-01-01')",
                Dialect::Postgres,
                true,
            ),
            (b"(1, 'a\\', b')", Dialect::Postgres, false),
            (b"(1,'x'", Dialect::MySql, true),
            (b"(1,'x')", Dialect::MySql, true),
            (b"(1,\"x\")", Dialect::MySql, true),
            (b"(1 -- c\n)", Dialect::MySql, true),
            (b"(1,/* ) */ 2)", Dialect::MySql, true),
            (b"(1,$$a)$$)", Dialect::Postgres, true),
            (b"(1,2;", Dialect::MySql, true),
            (b"(1,-", Dialect::MySql, true),
            (b"(1,'')", Dialect::MySql, true),
            (b"(1,'''')", Dialect::Postgres, true),
        ];
        for &(t, dialect, std) in cases {
            let syntax = Syntax {
                std_strings: std,
                ..dialect.into()
            };
            let mut spans = Vec::new();
            let Some(end) = scan_split(t, syntax, b";", &mut spans) else {
                continue;
            };
            let mut lexer = Lexer::new(syntax);
            lexer.reset(true);
            assert_eq!(lexer.scan(t, false), Scan::Found(end), "{t:?}");
            let mut split = Vec::new();
            assert!(split_tuple(&t[..end], syntax, &mut split), "{t:?}");
            assert_eq!(spans, split, "{t:?}");
        }
        let answered =
            |t: &[u8], d: Dialect| scan_split(t, d.into(), b";", &mut Vec::new()).is_some();
        assert!(answered(b"(1,'a',-2),", Dialect::MySql));
        assert!(answered(b"(1, E'it\\'s')", Dialect::Postgres));
        for t in [
            &b"(1,'x'"[..],
            b"(1,\"x\")",
            b"(1 -- c\n)",
            b"(1,/* ) */ 2)",
            b"(1,2;",
            b"(1,-",
        ] {
            assert!(!answered(t, Dialect::MySql), "{t:?}");
        }
        assert!(!answered(b"(1,$$a)$$)", Dialect::Postgres));
        assert!(scan_split(b"(1)", Dialect::MySql.into(), b";;", &mut Vec::new()).is_none());
    }
}
