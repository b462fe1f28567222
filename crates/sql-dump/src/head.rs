//! The head of an INSERT statement (`INSERT INTO name (columns) VALUES`), found in one pass
//! over its tokens without allocating: only byte ranges are kept, so a run of single-row
//! INSERTs costs one scan of each head.

use std::ops::Range;

use crate::dialect::Syntax;
use crate::tokens::{Spanned, Tok, Tokens};
#[cfg(test)]
use crate::Dialect;

/// Where the parts of an INSERT head are, as byte ranges of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InsertHead {
    /// Just past the `VALUES` (MySQL also `VALUE`) keyword.
    pub(crate) end: usize,
    /// The table name as written, from its first to its last part (`db`.`t`, public."T").
    pub(crate) name: Range<usize>,
    /// The text between the parentheses of the column list, if there is one.
    pub(crate) columns: Option<Range<usize>>,
}

/// What [`scan_insert_head`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadScan {
    /// An INSERT with a `VALUES` list.
    Values(InsertHead),
    /// Not an INSERT ... VALUES this rewriter handles row by row (INSERT ... SELECT,
    /// INSERT ... SET, no INTO, ...): an ordinary statement.
    Other,
    /// `VALUES` is not within `prefix`: look at a longer prefix, unless the input ends.
    NeedMore,
}

/// Progress through the table name after `INTO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    /// `INTO` not seen yet.
    BeforeInto,
    /// After `INTO` or a `.`: a name part comes next.
    Part,
    /// After a name part: a `.` continues the name, anything else ends it.
    AfterPart,
    /// The name is complete.
    Done,
}

/// Scans the head of the INSERT or REPLACE statement at the start of `prefix`.
///
/// ```text
/// INSERT IGNORE INTO `db`.`t` (`a`,`b`) VALUES (1,2);
///                    ^^^^^^^^  ^^^^^^^        ^ end
///                    name      columns
/// ```
pub(crate) fn scan_insert_head(prefix: &[u8], syntax: Syntax) -> HeadScan {
    let mut depth = 0i32;
    let mut name_state = Name::BeforeInto;
    let mut name: Option<Range<usize>> = None;
    let mut columns_start: Option<usize> = None;
    let mut columns: Option<Range<usize>> = None;
    for (k, t) in Tokens::new(prefix, syntax).enumerate() {
        if name_state == Name::AfterPart && t.tok != Tok::Punct(b'.') {
            name_state = Name::Done;
            if t.tok == Tok::Punct(b'(') && depth == 0 {
                columns_start = Some(t.end);
            }
        }
        match name_state {
            Name::Part => match t.tok.ident() {
                Some(_) => {
                    let start = name.as_ref().map_or(t.start, |n| n.start);
                    name = Some(start..t.end);
                    name_state = Name::AfterPart;
                    continue;
                }
                None if name.is_none() => return HeadScan::Other,
                None => name_state = Name::Done,
            },
            Name::AfterPart => {
                // A `.`: another part follows.
                name_state = Name::Part;
                continue;
            }
            _ => {}
        }
        match t.tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth -= 1;
                if depth == 0 && columns.is_none() {
                    if let Some(start) = columns_start {
                        columns = Some(start..t.start);
                    }
                }
            }
            Tok::Punct(b';') if depth == 0 => return HeadScan::Other,
            _ if depth != 0 => {}
            _ if name_state == Name::BeforeInto && t.tok.is("into") => name_state = Name::Part,
            _ if t.end < prefix.len()
                && (t.tok.is("values") || (syntax.value_keyword() && t.tok.is("value"))) =>
            {
                return match (name_state, name) {
                    (Name::Done, Some(name)) => HeadScan::Values(InsertHead {
                        end: t.end,
                        name,
                        columns,
                    }),
                    _ => HeadScan::Other,
                };
            }
            _ if k > 0
                && (t.tok.is("select")
                    || t.tok.is("set")
                    || t.tok.is("with")
                    || t.tok.is("table")) =>
            {
                return HeadScan::Other;
            }
            _ => {}
        }
    }
    HeadScan::NeedMore
}

/// The column names of a column list's inner text (`a`, "b", c).
pub(crate) fn column_names(list: &[u8], syntax: Syntax) -> Vec<String> {
    Tokens::new(list, syntax)
        .filter_map(|t| {
            t.tok
                .ident()
                .map(|id| String::from_utf8_lossy(id).into_owned())
        })
        .collect()
}

/// The column names of a COPY header's list, if it has one.
pub(crate) fn copy_columns(toks: &[Spanned<'_>], next: usize) -> Option<Vec<String>> {
    if toks.get(next).map(|t| &t.tok) != Some(&Tok::Punct(b'(')) {
        return None;
    }
    let mut names = Vec::new();
    let mut j = next + 1;
    while j < toks.len() && toks[j].tok != Tok::Punct(b')') {
        if let Some(id) = toks[j].tok.ident() {
            names.push(String::from_utf8_lossy(id).into_owned());
        }
        j += 1;
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MY: Dialect = Dialect::MySql;
    const PG: Dialect = Dialect::Postgres;

    fn values(sql: &[u8], dialect: Dialect) -> InsertHead {
        match scan_insert_head(sql, dialect.into()) {
            HeadScan::Values(h) => h,
            other => panic!("{other:?} for {}", String::from_utf8_lossy(sql)),
        }
    }

    #[test]
    fn finds_name_columns_and_values() {
        let sql = b"INSERT IGNORE INTO `db`.`t` (`a`,`b``c`) VALUES (1,2);";
        let h = values(sql, MY);
        assert_eq!(&sql[h.name.clone()], b"`db`.`t`");
        assert_eq!(&sql[h.columns.clone().unwrap()], b"`a`,`b``c`");
        assert_eq!(
            column_names(&sql[h.columns.unwrap()], MY.into()),
            ["a", "b`c"]
        );
        assert_eq!(
            &sql[..h.end],
            b"INSERT IGNORE INTO `db`.`t` (`a`,`b``c`) VALUES"
        );

        let sql = b"/*!40000 REPLACE */ INTO t VALUE (1)";
        let h = values(sql, MY);
        assert_eq!((&sql[h.name.clone()], h.columns), (&b"t"[..], None));

        let sql = b"INSERT INTO public.\"My T\" (id, \"Na(me\") OVERRIDING SYSTEM VALUE VALUES (1)";
        let h = values(sql, PG);
        assert_eq!(&sql[h.name.clone()], b"public.\"My T\"");
        assert_eq!(
            column_names(&sql[h.columns.unwrap()], PG.into()),
            ["id", "Na(me"]
        );
    }

    #[test]
    fn other_statements_and_short_prefixes() {
        for sql in [
            &b"INSERT INTO t SELECT * FROM u VALUES"[..],
            b"INSERT INTO t SET a = 1;",
            b"INSERT VALUES (1)",
            b"INSERT INTO (1) VALUES (1)",
            b"INSERT INTO t; VALUES (1)",
        ] {
            assert_eq!(scan_insert_head(sql, MY.into()), HeadScan::Other, "{sql:?}");
        }
        assert_eq!(
            scan_insert_head(b"INSERT INTO t (a, b", MY.into()),
            HeadScan::NeedMore
        );
        // VALUES cut by the end of the prefix might be a longer word.
        assert_eq!(
            scan_insert_head(b"INSERT INTO t VALUES", MY.into()),
            HeadScan::NeedMore
        );
    }
}
