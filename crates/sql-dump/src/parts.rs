//! The parts one rewrite is made of, held together so that the statement driver and the row
//! loops can share them without importing each other.

use std::io::Write;
use std::sync::{Arc, Mutex};

use anonymize_core::Anonymizer;

use crate::catalog::Catalog;
use crate::emit::Emitter;
use crate::pipe::Pipe;
use crate::source::Source;
use crate::Dialect;

/// Input, output, catalog and rules of one rewrite.
pub(crate) struct Parts<'a, R, W: Write> {
    /// The input and its lexer.
    pub(crate) src: Source<R>,
    /// The output and what it holds back.
    pub(crate) emit: Emitter<W, Pipe<'a>>,
    /// What is known about relations.
    pub(crate) cat: Catalog<'a>,
    /// The rules and key.
    pub(crate) anon: &'a Anonymizer,
    /// The dump's dialect.
    pub(crate) dialect: Dialect,
    /// Where the table being read is shown ([`crate::SqlOptions::current_table`]).
    pub(crate) current_table: Option<Arc<Mutex<String>>>,
    /// The subset pass this run is ([`crate::subset`]).
    pub(crate) subset: crate::subset::Mode,
}

impl<R, W: Write> Parts<'_, R, W> {
    /// Shows `table` as the one being read, when someone watches.
    pub(crate) fn show_table(&self, table: &crate::tokens::QName) {
        if let Some(current) = &self.current_table {
            if let Ok(mut name) = current.lock() {
                *name = table.display();
            }
        }
    }
}
