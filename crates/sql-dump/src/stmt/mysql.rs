//! MySQL/MariaDB statements.

use super::{Fact, ModeAssign, Owner, Stmt, Toks};
use crate::dialect::mode_has_ansi_quotes;
use crate::tokens::{Spanned, Tok};

/// The database a single-database dump's header names (`-- Host: localhost    Database: app`),
/// read from one comment line; `None` for other lines and for `--all-databases` dumps (whose
/// header names none and which say `USE` instead).
pub(crate) fn header_database(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("-- Host: ")?;
    let (_, db) = rest.split_once("Database: ")?;
    let db = db.trim();
    (!db.is_empty()).then(|| db.to_owned())
}

/// A MySQL statement other than `CREATE TABLE`.
pub(super) fn classify(t: &Toks<'_, '_>) -> Stmt {
    if t.is(0, "use") {
        let Some(db) = t.get(1).and_then(|x| x.tok.ident()) else {
            return Stmt::none();
        };
        return Stmt::none().with(Fact::Use(String::from_utf8_lossy(db).into_owned()));
    }
    if is_account_statement(t) {
        return Stmt::owned(Owner::Account);
    }
    if t.is(0, "set") {
        return set(t);
    }
    if t.is(0, "drop") && (t.is(1, "table") || t.is(1, "view")) {
        return Stmt::rel(t.name(t.skip_if_exists(2)), true);
    }
    if t.is(0, "lock") && t.is(1, "tables") {
        let q = t.name(2);
        return Stmt::rel(q.clone(), true).with(Fact::Lock(q));
    }
    if t.is(0, "unlock") && t.is(1, "tables") {
        return Stmt::owned(Owner::Locked);
    }
    if (t.is(0, "alter") || t.is(0, "truncate")) && t.is(1, "table") {
        return Stmt::rel(t.name(2), true);
    }
    if t.is(0, "create") {
        if let Some(k) = t.find(1, "trigger", 40) {
            if let Some(on) = t.find(k + 1, "on", 12) {
                return Stmt::rel(t.name(on + 1), true);
            }
        }
        if let Some(v) = t.find(1, "view", 40) {
            let Some((view, next)) = t.name_next(t.skip_if_exists(v + 1)) else {
                return Stmt::none();
            };
            let mut stmt = Stmt::rel(Some(view.clone()), false).with(Fact::View(view));
            stmt.refs = t.all_names(next);
            return stmt;
        }
    }
    Stmt::none()
}

/// Account management (`mariadb-dump --system=users`, `mysqldump` of the `mysql` schema's
/// statements): `CREATE`/`ALTER`/`DROP`/`RENAME USER`, `SET PASSWORD`, `SET DEFAULT ROLE`,
/// `GRANT`/`REVOKE`; not those whose grantee is `CURRENT_USER()` (the dump tool's own
/// import role) nor roles (`CREATE ROLE`, `SET ROLE`), which carry no credentials.
fn is_account_statement(t: &Toks<'_, '_>) -> bool {
    let user = ["create", "alter", "drop", "rename"]
        .iter()
        .any(|kw| t.is(0, kw))
        && (t.is(1, "user") || (t.is(1, "or") && t.is(2, "replace") && t.is(3, "user")));
    let set = t.is(0, "set") && (t.is(1, "password") || (t.is(1, "default") && t.is(2, "role")));
    let grant = (t.is(0, "grant") || t.is(0, "revoke"))
        && !(1..t.len()).any(|i| (t.is(i, "to") || t.is(i, "from")) && t.is(i + 1, "current_user"));
    user || set || grant
}

/// `SET a = x, b = y`: the assignments that involve `sql_mode`; `SET NAMES x`.
fn set(t: &Toks<'_, '_>) -> Stmt {
    let mut stmt = Stmt::none();
    if t.is(1, "names") || (t.is(1, "character") && t.is(2, "set")) {
        let at = if t.is(1, "names") { 2 } else { 3 };
        if let Some(name) = t.get(at).and_then(|x| match &x.tok {
            Tok::Word(w) => Some(String::from_utf8_lossy(w).into_owned()),
            Tok::Str(s) | Tok::Ident(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        }) {
            return stmt.with(Fact::Charset(crate::dialect::is_latin1(&name)));
        }
    }
    let mut depth = 0usize;
    let mut start = 1;
    for i in 1..=t.len() {
        let tok = t.get(i).map(|x| &x.tok);
        match tok {
            Some(Tok::Punct(b'(')) => depth += 1,
            Some(Tok::Punct(b')')) => depth = depth.saturating_sub(1),
            Some(Tok::Punct(b',')) | Some(Tok::Punct(b';')) | None if depth == 0 => {
                if let Some(a) = assignment(&t.toks[start.min(t.len())..i.min(t.len())]) {
                    stmt = stmt.with(Fact::SqlMode(a));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    stmt
}

/// What one `lhs = rhs` assignment does to the SQL mode.
fn assignment(toks: &[Spanned<'_>]) -> Option<ModeAssign> {
    let eq = toks.iter().position(|x| x.tok == Tok::Punct(b'='))?;
    let (lhs, rhs) = (&toks[..eq], &toks[eq + 1..]);
    let is_mode = |side: &[Spanned<'_>]| side.last().is_some_and(|x| x.tok.is("sql_mode"));
    // A user variable: `@name` (a session variable is `@@name` or `@@session.name`).
    let user_var = |side: &[Spanned<'_>]| match side {
        [a, name] if a.tok == Tok::Punct(b'@') => name
            .tok
            .ident()
            .map(|n| String::from_utf8_lossy(n).to_ascii_lowercase()),
        _ => None,
    };
    if is_mode(lhs) && !matches!(lhs, [a, _] if a.tok == Tok::Punct(b'@')) {
        return Some(match rhs {
            [x] => match &x.tok {
                Tok::Str(s) => ModeAssign::Set(mode_has_ansi_quotes(&String::from_utf8_lossy(s))),
                _ => ModeAssign::Other,
            },
            _ => match user_var(rhs) {
                Some(var) => ModeAssign::FromVar(var),
                None => ModeAssign::Other,
            },
        });
    }
    let var = user_var(lhs)?;
    let session_mode = rhs.len() >= 3 && rhs[0].tok == Tok::Punct(b'@') && is_mode(rhs);
    session_mode.then_some(ModeAssign::SaveTo(var))
}
