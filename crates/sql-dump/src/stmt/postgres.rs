//! PostgreSQL statements (`pg_dump`, `pg_dumpall`).

use super::{Derive, Fact, LateKind, LoPart, Owner, Stmt, Toks};
use crate::ddl::name_in_string;
use crate::tokens::{dotted, QName, Tok};

/// A PostgreSQL statement other than `CREATE TABLE`.
pub(super) fn classify(t: &Toks<'_, '_>) -> Stmt {
    if t.is(0, "set") && t.is(1, "standard_conforming_strings") {
        let value = t.get(3).and_then(|x| match &x.tok {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            Tok::Str(s) => Some(s.to_ascii_lowercase()),
            _ => None,
        });
        return match value {
            Some(v) => Stmt::none().with(Fact::StdStrings(
                v.as_slice() != b"off" && v.as_slice() != b"false",
            )),
            None => Stmt::none(),
        };
    }
    if t.is(0, "set") && t.is(1, "client_encoding") {
        let value = t.get(3).and_then(|x| match &x.tok {
            Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
            Tok::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        });
        return match value {
            Some(v) => Stmt::none().with(Fact::Charset(crate::dialect::is_latin1(&v))),
            None => Stmt::none(),
        };
    }
    if t.is(0, "set") && t.is(1, "search_path") {
        let values: Vec<String> = (3..t.len())
            .filter_map(|i| match &t.get(i)?.tok {
                Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
                Tok::Ident(w) | Tok::Str(w) => Some(String::from_utf8_lossy(w).into_owned()),
                _ => None,
            })
            .collect();
        return Stmt::none().with(Fact::SearchPath(first_schema(&values.join(","))));
    }
    if let Some(part) = large_object(t) {
        return Stmt::owned(Owner::LargeObject(part));
    }
    if t.is(0, "select") {
        if let Some(k) = (0..t.len().min(8)).find(|&i| t.is(i, "set_config")) {
            let arg = |n: usize| match t.get(k + n).map(|x| &x.tok) {
                Some(Tok::Str(s)) => Some(String::from_utf8_lossy(s).into_owned()),
                _ => None,
            };
            if arg(2).is_some_and(|a| a.eq_ignore_ascii_case("search_path")) {
                let path = arg(4).unwrap_or_default();
                return Stmt::none().with(Fact::SearchPath(first_schema(&path)));
            }
        }
        if let Some(k) = (0..t.len().min(8)).find(|&i| t.is(i, "setval")) {
            if let Some(Tok::Str(s)) = t.get(k + 2).map(|x| &x.tok) {
                return Stmt::rel(Some(name_in_string(s, t.ds)), false);
            }
        }
        return Stmt::none();
    }
    let role = |i: usize| t.is(i, "role") || t.is(i, "user");
    if (t.is(0, "create") || t.is(0, "alter")) && role(1) {
        return role_passwords(t);
    }
    if (t.is(0, "create") || t.is(0, "alter")) && t.is(1, "subscription") {
        return subscription_password(t);
    }
    if t.is(0, "create") {
        return create(t);
    }
    if t.is(0, "alter") {
        return alter(t);
    }
    if t.is(0, "comment") && t.is(1, "on") {
        return comment(t);
    }
    if t.is(0, "grant") || t.is(0, "revoke") {
        return grant(t);
    }
    if t.is(0, "drop") {
        return drop(t);
    }
    if t.is(0, "security") && t.is(1, "label") {
        if let Some(on) = t.find(2, "on", 6) {
            if t.is(on + 1, "table") {
                return Stmt::rel(t.name(on + 2), true);
            }
        }
        return Stmt::none();
    }
    if t.is(0, "refresh") {
        if let Some(v) = t.find(1, "view", 3) {
            return Stmt::rel(t.name(v + 1), false);
        }
    }
    Stmt::none()
}

/// A large object statement of `pg_dump -b`.
fn large_object(t: &Toks<'_, '_>) -> Option<LoPart> {
    if t.is(0, "select") {
        let f = (1..t.len().min(5))
            .find(|&i| t.get(i + 1).map(|x| &x.tok) == Some(&Tok::Punct(b'(')))?;
        return if t.is(f, "lo_create") {
            Some(LoPart::Create)
        } else if ["lo_open", "lowrite", "lo_close"]
            .iter()
            .any(|n| t.is(f, n))
        {
            Some(LoPart::Data)
        } else {
            None
        };
    }
    let on_lo = |from: usize| {
        (from..t.len().min(from + 30)).any(|i| t.is(i, "large") && t.is(i + 1, "object"))
    };
    let meta = (t.is(0, "alter") && t.is(1, "large"))
        || (t.is(0, "comment") && t.is(1, "on") && t.is(2, "large"))
        || ((t.is(0, "grant") || t.is(0, "revoke")) && on_lo(1))
        || (t.is(0, "security") && t.is(1, "label") && on_lo(2));
    meta.then_some(LoPart::Meta)
}

/// `CREATE ROLE`/`ALTER ROLE ... [ENCRYPTED] PASSWORD '...'` (pg_dumpall): the password
/// clauses, to remove.
fn role_passwords(t: &Toks<'_, '_>) -> Stmt {
    let mut stmt = Stmt::none();
    for i in 2..t.len() {
        if !t.is(i, "password") {
            continue;
        }
        let Some(value) = t.get(i + 1).filter(|x| matches!(x.tok, Tok::Str(_))) else {
            continue;
        };
        let first = if t.is(i - 1, "encrypted") || t.is(i - 1, "add") || t.is(i - 1, "set") {
            i - 1
        } else {
            i
        };
        let start = t.get(first).map_or(0, |x| x.start);
        let punct = |k: usize, b: u8| t.get(k).is_some_and(|x| x.tok == Tok::Punct(b));
        let before = first.checked_sub(1);
        let in_options = before.is_some_and(|k| punct(k, b'(') || punct(k, b','));
        let range = match before {
            // `OPTIONS (password '...', "user" '...')`: with the comma after it.
            // From the end of the token before it: no blank line is left.
            Some(k) if in_options && punct(i + 2, b',') => {
                t.get(k).map_or(start, |x| x.end)..t.get(i + 2).map_or(value.end, |x| x.end)
            }
            // `OPTIONS ("user" '...', password '...')`: with the comma before it.
            Some(k) if in_options && punct(k, b',') => {
                t.get(k).map_or(start, |x| x.start)..value.end
            }
            // `OPTIONS (password '...')`: the whole clause.
            Some(k) if in_options && k >= 1 && t.is(k - 1, "options") && punct(i + 2, b')') => {
                t.get(k - 1).map_or(start, |x| x.start)..t.get(i + 2).map_or(value.end, |x| x.end)
            }
            _ => start..value.end,
        };
        stmt.secrets.push(range);
    }
    stmt
}

/// `CREATE`/`ALTER SUBSCRIPTION ... CONNECTION 'host=... password=...'`: the password in the
/// connection string, to remove.
fn subscription_password(t: &Toks<'_, '_>) -> Stmt {
    let mut stmt = Stmt::none();
    let Some(c) = t.find(2, "connection", 4) else {
        return stmt;
    };
    let Some(conn) = t.get(c + 1).filter(|x| matches!(x.tok, Tok::Str(_))) else {
        return stmt;
    };
    let Tok::Str(text) = &conn.tok else {
        return stmt;
    };
    // The token's raw bytes are its text when the string has no doubled quote (pg_dump
    // writes a password with a quote as `''`; such a string's offsets differ: remove the
    // whole connection string's password by taking the raw span from the body instead).
    let raw_start = conn.start + 1;
    if let Some(range) = conninfo_password(text) {
        if !text.contains(&b'\'') {
            stmt.secrets
                .push(raw_start + range.start..raw_start + range.end);
            return stmt;
        }
    }
    if text.windows(8).any(|w| w.eq_ignore_ascii_case(b"password")) {
        // Unusual quoting: drop the whole connection string's content.
        stmt.secrets.push(raw_start..conn.end - 1);
    }
    stmt
}

/// The range of `password=value` (and the spaces after it) in a libpq connection string.
fn conninfo_password(s: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut i = 0;
    while i < s.len() {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let key_start = i;
        while i < s.len() && s[i] != b'=' && !s[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[key_start..i];
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if s.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if s.get(i) == Some(&b'\'') {
            i += 1;
            while i < s.len() && s[i] != b'\'' {
                i += if s[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            while i < s.len() && !s[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        let end = i.min(s.len());
        if key.eq_ignore_ascii_case(b"password") {
            // The space before it goes with it (the driver removes it); the first key
            // takes the spaces after it instead.
            let mut after = end;
            while key_start == 0 && after < s.len() && s[after].is_ascii_whitespace() {
                after += 1;
            }
            return Some(key_start..after);
        }
        i = end;
    }
    None
}

/// The schema unqualified names resolve to under a `search_path` (comma-separated,
/// possibly quoted): its first entry other than `"$user"` and `pg_catalog`.
fn first_schema(path: &str) -> Option<String> {
    path.split(',')
        .map(|s| s.trim().trim_matches('"').trim_matches('\'').trim())
        .find(|s| !s.is_empty() && *s != "$user" && !s.eq_ignore_ascii_case("pg_catalog"))
        .map(str::to_owned)
}

/// `name` with its schema defaulted to its table's.
fn in_schema_of(name: QName, table: &QName) -> QName {
    QName {
        schema: name.schema.or_else(|| table.schema.clone()),
        name: name.name,
    }
}

fn create(t: &Toks<'_, '_>) -> Stmt {
    if let Some(i) = t.find(1, "sequence", 3) {
        return Stmt::rel(t.name(t.skip_if_exists(i + 1)), false);
    }
    if let Some(i) = t.find(1, "index", 4) {
        if let Some(on) = t.find(i + 1, "on", 8) {
            let mut k = on + 1;
            if t.is(k, "only") {
                k += 1;
            }
            let table = t.name(k);
            let mut stmt = Stmt::rel(table.clone(), true);
            if let (Some(table), Some(idx)) = (table, t.name(t.skip_if_exists(i + 1))) {
                if on > i + 1 && !t.is(i + 1, "on") {
                    let name = in_schema_of(idx, &table);
                    stmt = stmt.with(Fact::Names {
                        kind: LateKind::Index,
                        name,
                        table,
                    });
                }
            }
            return stmt;
        }
    }
    if let Some(i) = t.find(1, "trigger", 4) {
        if let Some(on) = t.find(i + 1, "on", 30) {
            let mut stmt = Stmt::rel(t.name(on + 1), true);
            stmt.refs = t.qualified_names(on + 2);
            return stmt;
        }
    }
    if t.is(1, "statistics") {
        // CREATE STATISTICS [IF NOT EXISTS] name [(kinds)] ON columns FROM table
        let stat = t.name(t.skip_if_exists(2));
        let from = (3..t.len()).rev().find(|&k| t.is(k, "from"));
        let table = from.and_then(|f| t.name(f + 1));
        let mut stmt = Stmt::rel(table.clone(), true);
        if let (Some(stat), Some(table)) = (stat, table) {
            stmt = stmt.with(Fact::Names {
                kind: LateKind::Statistics,
                name: in_schema_of(stat, &table),
                table,
            });
        }
        return stmt;
    }
    if let Some(i) = t.find(1, "rule", 4) {
        if let Some(to) = t.find(i + 1, "to", 10) {
            let mut stmt = Stmt::rel(t.name(to + 1), true);
            stmt.refs = t.qualified_names(to + 2);
            return stmt;
        }
    }
    if let Some(i) = t.find(1, "policy", 2) {
        if let Some(on) = t.find(i + 1, "on", 4) {
            let mut stmt = Stmt::rel(t.name(on + 1), true);
            stmt.refs = t.qualified_names(on + 2);
            return stmt;
        }
    }
    if let Some(i) = t.find(1, "view", 4) {
        let Some((view, next)) = t.name_next(t.skip_if_exists(i + 1)) else {
            return Stmt::none();
        };
        let mut stmt = Stmt::rel(Some(view.clone()), false).with(Fact::View(view));
        stmt.refs = t.qualified_names(next);
        return stmt;
    }
    Stmt::none()
}

fn alter(t: &Toks<'_, '_>) -> Stmt {
    if t.is(1, "sequence") {
        let i = t.skip_if_exists(2);
        let seq = t.name(i);
        let mut stmt = Stmt::rel(seq.clone(), false);
        if let (Some(seq), Some(k)) = (seq, t.find(i, "owned", t.len())) {
            if t.is(k + 1, "by") {
                if let Some((mut parts, _)) = dotted(t.toks, k + 2) {
                    if parts.len() >= 2 {
                        parts.pop();
                        let name = parts.pop().unwrap_or_default();
                        let table = QName {
                            schema: parts.pop().or_else(|| t.ds.map(str::to_owned)),
                            name,
                        };
                        // `OWNED BY` names the table: without it the statement fails.
                        stmt.refs.push(table.clone());
                        stmt = stmt.with(Fact::Derive(Derive::SeqOf { seq, table }));
                    }
                }
            }
        }
        return stmt;
    }
    // `ALTER PUBLICATION p ADD TABLE [ONLY] t` (pg_dump writes one table per statement):
    // goes with the table.
    if t.is(1, "publication") {
        if let Some(k) = t.find(2, "table", 3) {
            let at = if t.is(k + 1, "only") { k + 2 } else { k + 1 };
            if let Some((table, next)) = t.name_next(at) {
                let single = t.get(next).is_none_or(|x| x.tok == Tok::Punct(b';'));
                if single {
                    return Stmt::rel(Some(table), true);
                }
                let mut stmt = Stmt::none();
                stmt.refs = t.qualified_names(at);
                return stmt;
            }
        }
        return Stmt::none();
    }
    if t.is(1, "table") {
        return alter_table(t);
    }
    if t.is(1, "index") {
        let (idx, next) = match t.name_next(t.skip_if_exists(2)) {
            Some((idx, next)) => (Some(idx), next),
            None => (None, 0),
        };
        let mut owner = index_owner(idx);
        if let Owner::IndexOf(list) = &mut owner.owner {
            if t.is(next, "attach") && t.is(next + 1, "partition") {
                list.extend(t.name(next + 2));
            }
        }
        return owner;
    }
    Stmt::none()
}

fn alter_table(t: &Toks<'_, '_>) -> Stmt {
    let mut i = t.skip_if_exists(2);
    if t.is(i, "only") {
        i += 1;
    }
    let Some((table, next)) = t.name_next(i) else {
        return Stmt::none();
    };
    let mut stmt = Stmt::rel(Some(table.clone()), false);
    // ADD CONSTRAINT name PRIMARY KEY / UNIQUE / EXCLUDE: an index named `name`.
    if let Some(k) = t.find(next, "constraint", 3) {
        let indexed = ["primary", "unique", "exclude"]
            .iter()
            .any(|kw| t.is(k + 2, kw));
        if t.is(k - 1, "add") && indexed {
            if let Some(idx) = t.name(k + 1) {
                stmt = stmt.with(Fact::Names {
                    kind: LateKind::Index,
                    name: in_schema_of(idx, &table),
                    table: table.clone(),
                });
            }
        }
    }
    if let Some(k) = t.find(next, "references", t.len()) {
        stmt.refs.extend(t.name(k + 1));
    }
    if let Some(k) = t.find(next, "attach", 3) {
        if t.is(k + 1, "partition") {
            if let Some(child) = t.name(k + 2) {
                stmt = stmt.with(Fact::Derive(Derive::PartitionOf {
                    child,
                    parent: table.clone(),
                }));
            }
        }
    }
    if let Some(k) = t.find(next, "identity", t.len()) {
        if let Some(s) = t.find(k, "sequence", 4) {
            if t.is(s + 1, "name") {
                if let Some(seq) = t.name(s + 2) {
                    stmt = stmt.with(Fact::Derive(Derive::SeqOf { seq, table }));
                }
            }
        }
    }
    stmt
}

fn index_owner(idx: Option<QName>) -> Stmt {
    Stmt::owned(idx.map_or(Owner::None, |i| Owner::IndexOf(vec![i])))
}

fn comment(t: &Toks<'_, '_>) -> Stmt {
    let mut i = 2;
    if t.is(i, "materialized") {
        i += 1;
    }
    if t.is(i, "column") {
        return match dotted(t.toks, i + 1) {
            Some((mut parts, _)) if parts.len() >= 2 => {
                parts.pop();
                let name = parts.pop().unwrap_or_default();
                let schema = parts.pop().or_else(|| t.ds.map(str::to_owned));
                Stmt::rel(Some(QName { schema, name }), true)
            }
            _ => Stmt::none(),
        };
    }
    if t.is(i, "table") || t.is(i, "view") || t.is(i, "sequence") {
        return Stmt::rel(t.name(i + 1), t.is(i, "table"));
    }
    if t.is(i, "index") {
        return index_owner(t.name(i + 1));
    }
    if t.is(i, "constraint") || t.is(i, "trigger") || t.is(i, "rule") || t.is(i, "policy") {
        if let Some(on) = t.find(i + 2, "on", 3) {
            let mut k = on + 1;
            if t.is(k, "domain") {
                return Stmt::none();
            }
            if t.is(k, "table") {
                k += 1;
            }
            return Stmt::rel(t.name(k), true);
        }
    }
    Stmt::none()
}

fn grant(t: &Toks<'_, '_>) -> Stmt {
    let Some(on) = t.find(1, "on", 20) else {
        return Stmt::none();
    };
    let mut k = on + 1;
    if t.is(k, "table") || t.is(k, "sequence") {
        k += 1;
    } else if t
        .get(k + 1)
        .is_some_and(|x| x.tok.ident().is_some() && !x.tok.is("to") && !x.tok.is("from"))
    {
        return Stmt::none();
    }
    Stmt::rel(t.name(k), false)
}

fn drop(t: &Toks<'_, '_>) -> Stmt {
    let mut i = 1;
    if t.is(i, "materialized") {
        i += 1;
    }
    if t.is(i, "table") || t.is(i, "sequence") || t.is(i, "view") {
        let name = t.name(t.skip_if_exists(i + 1));
        let is_table = t.is(i, "table");
        let mut stmt = Stmt::rel(name.clone(), is_table);
        if let (true, Some(table)) = (is_table, name) {
            stmt = stmt.with(Fact::DroppedTable(table));
        }
        return stmt;
    }
    let late = if t.is(i, "index") {
        Some(LateKind::Index)
    } else if t.is(i, "statistics") {
        Some(LateKind::Statistics)
    } else {
        None
    };
    if let Some(kind) = late {
        let mut n = i + 1;
        if t.is(n, "concurrently") {
            n += 1;
        }
        let if_exists = t.is(n, "if") && t.is(n + 1, "exists");
        let Some(name) = t.name(t.skip_if_exists(n)) else {
            return Stmt::none();
        };
        let single = !t.toks.iter().any(|x| x.tok == Tok::Punct(b','));
        return Stmt::owned(Owner::Late {
            kind,
            name,
            if_exists,
            single,
        });
    }
    if t.is(i, "trigger") || t.is(i, "rule") || t.is(i, "policy") {
        if let Some(on) = t.find(i + 1, "on", 5) {
            return Stmt::rel(t.name(on + 1), true);
        }
    }
    Stmt::none()
}
