//! MySQL/MariaDB statements.

use super::{Fact, Owner, Stmt, Toks};

/// A MySQL statement other than `CREATE TABLE`.
pub(super) fn classify(t: &Toks<'_, '_>) -> Stmt {
    if t.is(0, "use") {
        let Some(db) = t.get(1).and_then(|x| x.tok.ident()) else {
            return Stmt::none();
        };
        return Stmt::none().with(Fact::Use(String::from_utf8_lossy(db).into_owned()));
    }
    if t.is(0, "drop") && (t.is(1, "table") || t.is(1, "view")) {
        return Stmt::rel(t.name(t.skip_if_exists(2)), true);
    }
    if t.is(0, "lock") && t.is(1, "tables") {
        let q = t.name(2);
        return Stmt::rel(q.clone(), true).with(Fact::Lock(q));
    }
    if t.is(0, "unlock") && t.is(1, "tables") {
        return Stmt {
            owner: Owner::Locked,
            facts: Vec::new(),
        };
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
            return Stmt::rel(t.name(t.skip_if_exists(v + 1)), false);
        }
    }
    Stmt::none()
}
