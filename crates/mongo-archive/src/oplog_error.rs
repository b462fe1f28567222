//! Why an oplog entry cannot be made safe ([`OplogError`]), below the oplog rewriter
//! (`oplog`), the oplog reader ([`crate::oplog_read`]) and the archive errors (`error`), so
//! that [`crate::ArchiveError`] can carry it without importing the rewriter.

use crate::walk::PatchError;

/// Deepest `applyOps` nesting followed.
pub(crate) const MAX_APPLY_OPS_DEPTH: u32 = 16;

/// Why an oplog entry cannot be made safe. Messages name namespaces and rule paths, never a
/// value or a field name from the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OplogError {
    /// The entry's BSON is malformed.
    #[error("malformed entry at byte {at}: {detail}")]
    Malformed {
        /// Byte position in the entry.
        at: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// The entry's `ns` is not UTF-8.
    #[error("an entry's ns is not UTF-8")]
    NamespaceNotUtf8,
    /// The entry targets a timeseries collection with rules.
    #[error("entry for `{ns}`: rules on a timeseries collection")]
    TimeseriesRules {
        /// Target namespace.
        ns: String,
    },
    /// An insert, update or delete without its `o` document.
    #[error("entry for `{ns}` has no `o` document")]
    MissingDocument {
        /// Target namespace.
        ns: String,
    },
    /// An `op` this tool does not know, on a collection with rules.
    #[error("entry for `{ns}` has op {op}, unknown to this tool")]
    UnknownOp {
        /// Target namespace.
        ns: String,
        /// The op, when it is a short plain word (it comes from the data).
        op: String,
    },
    /// The entry's documents cannot be rewritten.
    #[error("entry for `{ns}`: {error}")]
    Patch {
        /// Target namespace.
        ns: String,
        /// Why.
        #[source]
        error: PatchError,
    },
    /// `applyOps` nested deeper than this tool follows.
    #[error("applyOps nested more than {MAX_APPLY_OPS_DEPTH} levels deep")]
    ApplyOpsTooDeep,
    /// An entry shape mongod never writes (a repeated `o`, `applyOps` not an array of
    /// documents, ...): refused rather than guessed about.
    #[error("an entry shape mongod never writes: {0}")]
    Shape(&'static str),
    /// A `renameCollection` moves documents that passed under one collection's rules into a
    /// collection with other rules (or an excluded one): `$out`'s and cross-database renames'
    /// temporary namespaces, which no rules file can name, are the usual case.
    #[error(
        "entry renames `{from}` into `{to}`, which has other rules (or is dropped by them): \
         the documents it holds passed under the rules of `{from}`"
    )]
    RenameBetweenPlans {
        /// Source namespace.
        from: String,
        /// Target namespace.
        to: String,
    },
}
