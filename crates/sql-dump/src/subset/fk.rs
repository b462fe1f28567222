//! Foreign keys as dump tools write them: inline in MySQL's `CREATE TABLE`
//! (`CONSTRAINT n FOREIGN KEY (a, b) REFERENCES t (c, d)`) and in pg_dump's
//! `ALTER TABLE [ONLY] t ADD CONSTRAINT n FOREIGN KEY (a) REFERENCES t2(c)` after the data.

use crate::dialect::Syntax;
use crate::tokens::{qname, tokenize, QName, Spanned, Tok};

/// One foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForeignKey {
    /// The constraint's name, when the statement gives one.
    pub(crate) name: Option<String>,
    /// The referencing table.
    pub(crate) child: QName,
    /// Its columns, in order.
    pub(crate) child_cols: Vec<String>,
    /// The referenced table.
    pub(crate) parent: QName,
    /// The referenced columns, in the same order.
    pub(crate) parent_cols: Vec<String>,
}

impl ForeignKey {
    /// `name (child -> parent)`, for summaries.
    pub(crate) fn label(&self) -> String {
        let name = self.name.as_deref().unwrap_or("foreign key");
        format!(
            "{name} ({}({}) -> {}({}))",
            self.child.display(),
            self.child_cols.join(", "),
            self.parent.display(),
            self.parent_cols.join(", ")
        )
    }
}

/// The parenthesised identifier list at `toks[i]`; returns it and the index after `)`.
fn ident_list(toks: &[Spanned<'_>], i: usize) -> Option<(Vec<String>, usize)> {
    if toks.get(i)?.tok != Tok::Punct(b'(') {
        return None;
    }
    let mut names = Vec::new();
    let mut j = i + 1;
    loop {
        let t = &toks.get(j)?.tok;
        match t {
            Tok::Punct(b')') => return Some((names, j + 1)),
            Tok::Punct(b',') => {}
            other => names.push(String::from_utf8_lossy(other.ident()?).into_owned()),
        }
        j += 1;
    }
}

/// The table a `CREATE TABLE` or `ALTER TABLE` statement defines or alters, and the index
/// after its name.
fn subject(toks: &[Spanned<'_>], ds: Option<&str>) -> Option<(QName, usize)> {
    let is = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.tok.is(kw));
    let mut i = if is(0, "create") {
        let mut k = 1;
        while is(k, "temporary") || is(k, "temp") || is(k, "unlogged") || is(k, "global") {
            k += 1;
        }
        k
    } else if is(0, "alter") {
        1
    } else {
        return None;
    };
    if !is(i, "table") {
        return None;
    }
    i += 1;
    if is(i, "if") && is(i + 1, "not") && is(i + 2, "exists") {
        i += 3;
    } else if is(i, "if") && is(i + 1, "exists") {
        i += 2;
    }
    if is(i, "only") {
        i += 1;
    }
    qname(toks, i, ds)
}

/// The foreign keys a complete statement declares (none for any other statement).
pub(crate) fn foreign_keys(body: &[u8], syntax: Syntax, ds: Option<&str>) -> Vec<ForeignKey> {
    let toks = tokenize(body, syntax, usize::MAX);
    let Some((child, next)) = subject(&toks, ds) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut i = next;
    while i + 1 < toks.len() {
        if !(toks[i].tok.is("foreign") && toks[i + 1].tok.is("key")) {
            i += 1;
            continue;
        }
        let name = (i >= 2 && toks[i - 2].tok.is("constraint"))
            .then(|| toks[i - 1].tok.ident())
            .flatten()
            .map(|n| String::from_utf8_lossy(n).into_owned());
        // MySQL allows an index name between KEY and the column list.
        let mut j = i + 2;
        if toks.get(j).is_some_and(|t| t.tok != Tok::Punct(b'(')) {
            j += 1;
        }
        let parsed = ident_list(&toks, j).and_then(|(child_cols, k)| {
            if !toks.get(k)?.tok.is("references") {
                return None;
            }
            let (parent, k) = qname(&toks, k + 1, ds)?;
            let (parent_cols, k) = ident_list(&toks, k)?;
            Some((child_cols, parent, parent_cols, k))
        });
        match parsed {
            Some((child_cols, parent, parent_cols, k))
                if !child_cols.is_empty() && child_cols.len() == parent_cols.len() =>
            {
                out.push(ForeignKey {
                    name,
                    child: child.clone(),
                    child_cols,
                    parent,
                    parent_cols,
                });
                i = k;
            }
            _ => i += 2,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    fn q(schema: Option<&str>, name: &str) -> QName {
        QName {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    #[test]
    fn mysql_inline_keys_composite_and_self_references() {
        let sql = b"CREATE TABLE `payment` (\n  `id` int NOT NULL,\n  `a` int, `b` int, `up` int,\n  \
                    PRIMARY KEY (`id`),\n  KEY `idx` (`a`),\n  \
                    CONSTRAINT `fk_ab` FOREIGN KEY (`a`, `b`) REFERENCES `other` (`x`, `y`) ON UPDATE CASCADE,\n  \
                    CONSTRAINT `fk_up` FOREIGN KEY (`up`) REFERENCES `payment` (`id`)\n) ENGINE=InnoDB;";
        let fks = foreign_keys(sql, Dialect::MySql.into(), Some("db"));
        assert_eq!(fks.len(), 2);
        assert_eq!(fks[0].name.as_deref(), Some("fk_ab"));
        assert_eq!(fks[0].child, q(Some("db"), "payment"));
        assert_eq!(fks[0].child_cols, ["a", "b"]);
        assert_eq!(fks[0].parent, q(Some("db"), "other"));
        assert_eq!(fks[0].parent_cols, ["x", "y"]);
        assert_eq!(fks[1].parent, fks[1].child);
    }

    #[test]
    fn pg_dump_alter_table_after_the_data() {
        let sql = b"ALTER TABLE ONLY public.payment_p2007_01\n    ADD CONSTRAINT payment_p2007_01_customer_id_fkey \
                    FOREIGN KEY (customer_id) REFERENCES public.customer(customer_id);";
        let fks = foreign_keys(sql, Dialect::Postgres.into(), None);
        assert_eq!(fks.len(), 1);
        assert_eq!(fks[0].child, q(Some("public"), "payment_p2007_01"));
        assert_eq!(fks[0].parent, q(Some("public"), "customer"));
        assert_eq!(fks[0].label(), "payment_p2007_01_customer_id_fkey (public.payment_p2007_01(customer_id) -> public.customer(customer_id))");
        // Other statements declare none.
        let other = b"ALTER TABLE ONLY public.customer ADD CONSTRAINT customer_pkey PRIMARY KEY (customer_id);";
        assert!(foreign_keys(other, Dialect::Postgres.into(), None).is_empty());
        assert!(foreign_keys(
            b"SELECT 'FOREIGN KEY (a) REFERENCES b(c)';",
            Dialect::Postgres.into(),
            None
        )
        .is_empty());
    }
}
