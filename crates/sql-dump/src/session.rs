//! The session settings and relation facts a statement tells, recorded once for both readers
//! of a dump (the rewriter's driver and [`crate::reader`]): the lexer follows
//! `standard_conforming_strings`, the client character set and `ANSI_QUOTES` (saved in and
//! restored from user variables as `mysqldump` does); the catalog learns definitions,
//! ownerships, the current database and the `search_path`.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::lex::Lexer;
use crate::stmt::{Fact, ModeAssign};

/// What a dump's session remembers between statements besides the lexer and the catalog.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// MySQL user variables holding a saved `sql_mode`: whether it had `ANSI_QUOTES`.
    saved_modes: HashMap<String, bool>,
}

impl Session {
    /// Records `fact` in the catalog or the lexer. A [`Fact::Names`] is returned to the
    /// caller, which may have statements waiting for it, after the catalog has recorded it.
    pub(crate) fn record(
        &mut self,
        fact: Fact,
        cat: &mut Catalog<'_>,
        lexer: &mut Lexer,
    ) -> Option<Fact> {
        match fact {
            Fact::CreateTable(create) => cat.define(create),
            Fact::Use(db) => cat.use_db(db),
            Fact::Lock(table) => cat.lock(table),
            Fact::StdStrings(on) => lexer.set_std_strings(on),
            Fact::Derive(d) => cat.derive(d),
            Fact::Names { kind, name, table } => {
                cat.name_owner(kind, name.clone(), table.clone());
                return Some(Fact::Names { kind, name, table });
            }
            Fact::DroppedTable(table) => cat.dropped(table),
            Fact::SearchPath(schema) => cat.set_search_schema(schema),
            Fact::Charset(latin1) => lexer.set_latin1(latin1),
            Fact::View(view) => cat.add_view(view),
            Fact::CompositeType(name, def) => cat.add_type(name, def),
            Fact::ForeignKey(table, fk) => cat.foreign_keys.push((table, fk)),
            Fact::SqlMode(assign) => {
                let ansi = lexer.syntax().ansi_quotes;
                match assign {
                    ModeAssign::Set(on) => lexer.set_ansi_quotes(on),
                    ModeAssign::Other => lexer.set_ansi_quotes(false),
                    ModeAssign::FromVar(var) => {
                        let saved = self.saved_modes.get(&var).copied();
                        lexer.set_ansi_quotes(saved.unwrap_or(false));
                    }
                    ModeAssign::SaveTo(var) => {
                        self.saved_modes.insert(var, ansi);
                    }
                }
            }
        }
        None
    }
}
