//! Statements that write data besides `INSERT ... VALUES` and `COPY` (issue 19.3), read from
//! their tokens (no I/O, no rules): which tables they write, and, for the shapes whose
//! values can be attributed to columns (the `SET` lists of single-table `UPDATE`s and of
//! upsert trailers, `WHERE col = literal`), where each literal of a named column is.

use std::ops::Range;

use crate::dialect::Syntax;
use crate::tokens::{dotted, qname, tokenize, QName, Spanned, Tok};

/// What a statement writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataWrite {
    /// Nothing this module knows of.
    None,
    /// A single-table `UPDATE`: its table and the index of the token after `SET`.
    Update {
        /// The table updated.
        table: QName,
        /// Token index just after `SET`.
        set: usize,
    },
    /// A statement that writes rows of `targets` in a shape the rewriter does not read
    /// (`WITH ... INSERT`, `DO $$ ... $$`, `MERGE`, a multi-table `UPDATE`); `dynamic`: it
    /// runs SQL built at run time (`EXECUTE`), whose tables cannot be known.
    Opaque {
        /// Tables written.
        targets: Vec<QName>,
        /// Dynamic SQL.
        dynamic: bool,
    },
}

/// Reads what the statement of `toks` writes.
pub(crate) fn data_write(toks: &[Spanned<'_>], syntax: Syntax, ds: Option<&str>) -> DataWrite {
    let is = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.tok.is(kw));
    if is(0, "update") {
        let mut i = 1;
        while is(i, "low_priority") || is(i, "ignore") || is(i, "only") {
            i += 1;
        }
        let Some((table, mut i)) = qname(toks, i, ds) else {
            return DataWrite::None;
        };
        if toks.get(i).map(|t| &t.tok) == Some(&Tok::Punct(b'*')) {
            i += 1;
        }
        if is(i, "as") {
            i += 1;
        }
        if !is(i, "set") && toks.get(i).and_then(|t| t.tok.ident()).is_some() {
            i += 1; // an alias
        }
        if is(i, "set") {
            return DataWrite::Update { table, set: i + 1 };
        }
        // `UPDATE a, b SET ...`, `UPDATE a JOIN b ON ... SET ...`.
        let mut targets = vec![table];
        targets.extend(names_before_set(toks, i, ds));
        return DataWrite::Opaque {
            targets,
            dynamic: false,
        };
    }
    if is(0, "with") || is(0, "merge") {
        let targets = written_names(toks, ds);
        if targets.is_empty() {
            return DataWrite::None;
        }
        return DataWrite::Opaque {
            targets,
            dynamic: false,
        };
    }
    if is(0, "do") {
        // The tokenizer reads a `$$` body as tokens; a quoted body is tokenized here.
        let mut targets = written_names(toks, ds);
        let mut dynamic = toks.iter().any(|t| t.tok.is("execute"));
        for t in toks {
            if let Tok::Str(body) = &t.tok {
                let inner = tokenize(body, syntax, usize::MAX);
                targets.extend(written_names(&inner, ds));
                dynamic |= inner.iter().any(|t| t.tok.is("execute"));
            }
        }
        if targets.is_empty() && !dynamic {
            return DataWrite::None;
        }
        return DataWrite::Opaque { targets, dynamic };
    }
    DataWrite::None
}

/// Relation names from `from` up to `SET`.
fn names_before_set(toks: &[Spanned<'_>], from: usize, ds: Option<&str>) -> Vec<QName> {
    let mut names = Vec::new();
    let mut i = from;
    while i < toks.len() && !toks[i].tok.is("set") {
        let after_sep =
            i == from || matches!(toks[i - 1].tok, Tok::Punct(b',')) || toks[i - 1].tok.is("join");
        match qname(toks, i, ds) {
            Some((q, next)) if after_sep && toks[i].tok.ident().is_some() => {
                names.push(q);
                i = next;
            }
            _ => i += 1,
        }
    }
    names
}

/// The tables written by `INSERT INTO`, `UPDATE`, `DELETE FROM`, `MERGE INTO` and `COPY ...
/// FROM` anywhere in `toks` (not `ON DUPLICATE KEY UPDATE`, `DO UPDATE`, `FOR UPDATE`).
fn written_names(toks: &[Spanned<'_>], ds: Option<&str>) -> Vec<QName> {
    let mut names = Vec::new();
    for (k, t) in toks.iter().enumerate() {
        let prev = |kw: &str| k > 0 && toks[k - 1].tok.is(kw);
        let next_is = |kw: &str| toks.get(k + 1).is_some_and(|n| n.tok.is(kw));
        let into =
            (t.tok.is("insert") || t.tok.is("replace") || t.tok.is("merge")) && next_is("into");
        let from = t.tok.is("delete") && next_is("from");
        let update = t.tok.is("update") && !prev("key") && !prev("do") && !prev("for");
        let at = if into || from {
            Some(k + 2)
        } else if update || t.tok.is("copy") {
            Some(k + 1)
        } else {
            None
        };
        let Some(mut at) = at else { continue };
        if toks.get(at).is_some_and(|t| t.tok.is("only")) {
            at += 1;
        }
        if let Some((q, _)) = qname(toks, at, ds) {
            names.push(q);
        }
    }
    names
}

/// A literal value of a named column in a `SET` list or `WHERE` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assigned {
    /// The column (last part of the name as written).
    pub(crate) column: String,
    /// The literal's bytes in the statement.
    pub(crate) span: Range<usize>,
}

/// What the value of an item is.
enum ValueKind {
    /// A literal: rewritten when its column is covered.
    Literal,
    /// A column reference (`EXCLUDED.email`, `VALUES(email)`, `new.email`, `email`): the
    /// value is one the rewriter writes itself.
    Reference,
    /// Anything else.
    Expr,
}

fn is_terminator(t: &Tok<'_>) -> bool {
    matches!(t, Tok::Punct(b',' | b';'))
        || ["where", "and", "returning", "limit", "order", "from"]
            .iter()
            .any(|kw| t.is(kw))
}

fn numeric_word(w: &[u8]) -> bool {
    !w.is_empty()
        && w[0].is_ascii_digit()
        && w.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'_')
}

fn value_kind(toks: &[Spanned<'_>], body: &[u8]) -> ValueKind {
    match toks {
        [] => ValueKind::Expr,
        [t] if matches!(t.tok, Tok::Str(_)) => ValueKind::Literal,
        [t] if ["null", "true", "false", "default"]
            .iter()
            .any(|k| t.tok.is(k)) =>
        {
            ValueKind::Literal
        }
        // `E'...'`, `_binary '...'`, `N'...'`, `X'...'`.
        [p, s] if matches!(p.tok, Tok::Word(_)) && matches!(s.tok, Tok::Str(_)) => {
            let prefix = &body[p.start..p.end];
            let known = prefix.starts_with(b"_")
                || ["e", "n", "x", "b", "u&"]
                    .iter()
                    .any(|k| prefix.eq_ignore_ascii_case(k.as_bytes()));
            if known {
                ValueKind::Literal
            } else {
                ValueKind::Expr
            }
        }
        _ if toks.iter().all(|t| match &t.tok {
            Tok::Word(w) => numeric_word(w),
            Tok::Punct(b'.' | b'-' | b'+') => true,
            _ => false,
        }) && toks.iter().any(|t| matches!(t.tok, Tok::Word(_))) =>
        {
            ValueKind::Literal
        }
        [v, open, name, close]
            if v.tok.is("values")
                && open.tok == Tok::Punct(b'(')
                && name.tok.ident().is_some()
                && close.tok == Tok::Punct(b')') =>
        {
            ValueKind::Reference
        }
        _ => match dotted(toks, 0) {
            Some((_, next)) if next == toks.len() => ValueKind::Reference,
            _ => ValueKind::Expr,
        },
    }
}

/// Reads the items `col = value` separated by `,`, `WHERE` and `AND` from `toks[from]` to
/// the statement's end (or `RETURNING`, `LIMIT`, `ORDER BY`). Returns the literals assigned
/// to or compared with columns for which `covered` holds; `Err(column)` when a covered
/// column appears in an item of another form (an expression, `LIKE`, `IN`, a subquery...),
/// whose values cannot be attributed.
pub(crate) fn covered_literals(
    toks: &[Spanned<'_>],
    body: &[u8],
    from: usize,
    covered: &dyn Fn(&str) -> bool,
) -> Result<Vec<Assigned>, String> {
    let mut out = Vec::new();
    let mut i = from;
    let mut stop = false;
    while i < toks.len() && !stop {
        // One item: up to a terminator at depth 0.
        let start = i;
        let mut depth = 0usize;
        while i < toks.len() {
            match toks[i].tok {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => depth = depth.saturating_sub(1),
                ref t if depth == 0 && is_terminator(t) => break,
                _ => {}
            }
            i += 1;
        }
        let item = &toks[start..i];
        if let Some(t) = toks.get(i) {
            stop = ["returning", "limit", "order", "from"]
                .iter()
                .any(|kw| t.tok.is(kw))
                || t.tok == Tok::Punct(b';');
            i += 1;
        }
        let mention = item.iter().find_map(|t| {
            let id = t.tok.ident()?;
            let name = String::from_utf8_lossy(id);
            covered(&name).then(|| name.into_owned())
        });
        let Some(column) = mention else {
            continue;
        };
        let eq = item.iter().position(|t| t.tok == Tok::Punct(b'='));
        let read = eq.and_then(|eq| {
            let (lhs, rhs) = (&item[..eq], &item[eq + 1..]);
            let (parts, next) = dotted(lhs, 0)?;
            if next != lhs.len() {
                return None;
            }
            let name = parts.last()?.clone();
            match value_kind(rhs, body) {
                ValueKind::Literal if covered(&name) => Some(Some(Assigned {
                    column: name,
                    span: rhs.first()?.start..rhs.last()?.end,
                })),
                // The column's own value, or a value of a column no rule covers.
                ValueKind::Reference => Some(None),
                ValueKind::Literal | ValueKind::Expr if !covered(&name) => {
                    // `other = <expr>`: fine unless the expression names a covered column.
                    let names_covered = rhs.iter().any(|t| {
                        t.tok
                            .ident()
                            .is_some_and(|id| covered(&String::from_utf8_lossy(id)))
                    });
                    (!names_covered).then_some(None)
                }
                _ => None,
            }
        });
        match read {
            Some(Some(a)) => out.push(a),
            Some(None) => {}
            None => return Err(column),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    fn lits(sql: &str, dialect: Dialect) -> Result<Vec<(String, String)>, String> {
        let toks = tokenize(sql.as_bytes(), dialect, usize::MAX);
        let from = toks
            .iter()
            .position(|t| t.tok.is("set"))
            .or_else(|| toks.iter().rposition(|t| t.tok.is("update")))
            .unwrap()
            + 1;
        let covered = |c: &str| c.eq_ignore_ascii_case("email");
        covered_literals(&toks, sql.as_bytes(), from, &covered).map(|v| {
            v.into_iter()
                .map(|a| (a.column, sql[a.span].to_owned()))
                .collect()
        })
    }

    #[test]
    fn reads_set_lists_and_conditions() {
        let my = Dialect::MySql;
        assert_eq!(
            lits("UPDATE `t` SET `id` = 1, `email` = 'bob@x', n = n + 1 WHERE `t`.`email` = _binary 'b' AND id IN (1,2);", my),
            Ok(vec![("email".into(), "'bob@x'".into()), ("email".into(), "_binary 'b'".into())])
        );
        assert_eq!(
            lits(
                "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE email = VALUES(email), n = 2",
                my
            ),
            Ok(vec![])
        );
        assert_eq!(
            lits("UPDATE t SET email = concat('a', 'b')", my),
            Err("email".into())
        );
        assert_eq!(
            lits("UPDATE t SET n = 1 WHERE email LIKE 'b%'", my),
            Err("email".into())
        );
        // The column's value in the restored row is already rewritten.
        assert_eq!(lits("UPDATE t SET n = email", my), Ok(vec![]));
        let pg = Dialect::Postgres;
        assert_eq!(
            lits("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET email = E'b\\'o', n = EXCLUDED.n RETURNING email;", pg),
            Ok(vec![("email".into(), "E'b\\'o'".into())])
        );
        assert_eq!(
            lits("UPDATE t SET email = EXCLUDED.email, n = -1.5", pg),
            Ok(vec![])
        );
    }

    #[test]
    fn finds_what_other_statements_write() {
        let pg = Syntax::from(Dialect::Postgres);
        let w = |sql: &str| {
            data_write(
                &tokenize(sql.as_bytes(), pg, usize::MAX),
                pg,
                Some("public"),
            )
        };
        assert!(
            matches!(w("UPDATE ONLY public.t SET a = 1;"), DataWrite::Update { table, set: 6 } if table.name == "t")
        );
        let DataWrite::Opaque { targets, dynamic } =
            w("WITH x AS (SELECT 1) INSERT INTO users SELECT * FROM x;")
        else {
            panic!()
        };
        assert_eq!(
            (targets[0].display(), dynamic),
            ("public.users".into(), false)
        );
        let DataWrite::Opaque { targets, dynamic } =
            w("DO $$ BEGIN INSERT INTO public.t VALUES (1); EXECUTE 'x'; END $$;")
        else {
            panic!()
        };
        assert_eq!((targets[0].display(), dynamic), ("public.t".into(), true));
        assert_eq!(w("DO $$ BEGIN PERFORM 1; END $$;"), DataWrite::None);
        assert_eq!(w("SELECT pg_catalog.setval('s', 1);"), DataWrite::None);
        let my = Syntax::from(Dialect::MySql);
        let DataWrite::Opaque { targets, .. } = data_write(
            &tokenize(
                b"UPDATE a JOIN b ON a.id = b.id SET a.x = 1",
                my,
                usize::MAX,
            ),
            my,
            Some("db"),
        ) else {
            panic!()
        };
        assert_eq!(targets.len(), 2);
    }
}
