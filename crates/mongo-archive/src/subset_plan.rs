//! What an archive subset removes ([`crate::subset`] plans it, the rewrite applies it). A
//! module of its own so that the rewrite's options can hold it without importing the
//! planner, which reads the options.

use std::collections::HashMap;

use roaring::RoaringTreemap;

/// The documents a subset removes, by namespace and 1-based ordinal (in archive order), and
/// what each reference removed.
#[derive(Debug, Default)]
pub struct ArchiveSubset {
    removed: HashMap<String, RoaringTreemap>,
    report: Vec<String>,
}

impl ArchiveSubset {
    /// One line per declared reference that removed documents (`pmStudy.ProjectId ->
    /// pmProject._id: N documents removed`); never a value.
    pub fn report(&self) -> &[String] {
        &self.report
    }

    /// The removed ordinals of namespace `db.collection`, if it loses any.
    pub(crate) fn removed_in(&self, namespace: &str) -> Option<&RoaringTreemap> {
        self.removed.get(namespace)
    }

    /// A plan removing `removed` (ordinals by `db.collection`), with its report lines.
    pub(crate) fn new(removed: HashMap<String, RoaringTreemap>, report: Vec<String>) -> Self {
        ArchiveSubset { removed, report }
    }

    /// Documents removed in all (limits' cut-offs included).
    pub fn documents_removed(&self) -> u64 {
        self.removed.values().map(RoaringTreemap::len).sum()
    }
}
