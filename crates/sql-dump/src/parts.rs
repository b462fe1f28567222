//! The parts one rewrite is made of, held together so that the statement driver and the row
//! loops can share them without importing each other.

use std::io::Write;

use anonymize_core::Anonymizer;

use crate::catalog::Catalog;
use crate::emit::Emitter;
use crate::source::Source;
use crate::Dialect;

/// Input, output, catalog and rules of one rewrite.
pub(crate) struct Parts<'a, R, W: Write> {
    /// The input and its lexer.
    pub(crate) src: Source<R>,
    /// The output and what it holds back.
    pub(crate) emit: Emitter<W>,
    /// What is known about relations.
    pub(crate) cat: Catalog<'a>,
    /// The rules and key.
    pub(crate) anon: &'a Anonymizer,
    /// The dump's dialect.
    pub(crate) dialect: Dialect,
}
