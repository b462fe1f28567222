//! # mongo-archive
//!
//! Streaming rewriting of mongodump archives (`mongodump --archive`, plain; the caller
//! handles gzip) for syrf-anonymize:
//!
//! - [`reader`]: a validating streaming reader of the framing (magic, header, prelude, blocks,
//!   CRC-64 per namespace), memory bounded by the largest document;
//! - [`Patcher`]: zero-copy BSON walking and patching along an `anonymize-core` plan;
//! - [`rewrite_archive`]: the driver — exclusions, selections, limits, users, oplog, CRCs
//!   recomputed, a failed run never leaving a complete archive behind;
//! - [`oplog_read`], [`namespace_fate`]: oplog entries and namespaces as the rewriter reads and
//!   decides them, for tools that check an archive;
//! - `verify` (feature `testkit`): an independent strict checker built on the `bson` crate,
//!   for tests and tools;
//! - `synth` (feature `testkit`): a deterministic generator of realistic SyRF archives
//!   (`gen-archive` binary).
//!
//! Errors: [`ArchiveError`] (the input byte `offset`, the `namespace` and the [`ErrorKind`];
//! its source is the I/O error or the [`OplogError`]), [`PatchError`] (one document),
//! [`DirError`] (mongodump directories). Messages never contain a document value.
//!
//! ```
//! use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
//! use mongo_archive::{rewrite_archive, verify, RewriteOptions};
//!
//! let rules = RuleSet::from_yaml(
//!     "rules:\n  pmInvestigator:\n    fields:\n      Email: {transform: hash_email}\n",
//!     "inline.yaml",
//! )?;
//! let anon = Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(b"0123456789abcdef0123456789abcdef")?))?;
//! let input = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive"))?;
//! let mut output = Vec::new();
//! let summary = rewrite_archive(&input[..], &mut output, &anon, &RewriteOptions::default())?;
//! let checked = verify::verify(&output)?;
//! assert_eq!(checked.namespaces.len(), summary.namespaces.iter().filter(|n| n.action == mongo_archive::NamespaceAction::Kept).count());
//!
//! // Per collection: documents in and out, and keys that shadow a rule path (`{"a.b": ...}`
//! // beside a rule `a.b`), which no rule reached.
//! let investigators = summary.namespaces.iter().find(|n| n.collection == "pmInvestigator").unwrap();
//! assert_eq!(investigators.docs_out, investigators.docs_in);
//! assert_eq!(investigators.shadowing_keys, 0);
//! assert!(anon.report().unmatched_rules().next().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod crc;
pub mod dir;
mod doc_values;
mod driver;
mod error;
mod json;
mod oplog;
mod oplog_error;
pub mod oplog_read;
mod oplog_walk;
mod parallel;
mod policy;
mod raw;
pub mod reader;
mod rewrite;
pub mod subset;
mod subset_plan;
#[cfg(feature = "testkit")]
pub mod synth;
mod thread_cpu;
#[cfg(feature = "testkit")]
pub mod verify;
mod walk;

pub use crc::{crc64, crc64_combine, Crc64};
pub use dir::DirError;
pub use doc_values::when_rules_apply;
pub use driver::{NamespaceSummary, RewriteSummary, FIELD_SAMPLE_DOCUMENTS, FIELD_SAMPLE_NAMES};
pub use error::{ArchiveError, ErrorKind};
pub use oplog_error::OplogError;
pub use policy::{
    namespace_fate, oplog_target_fate, NamespaceAction, NamespaceFate, OplogMode, RewriteOptions,
};
pub use raw::MAX_BSON_SIZE;
pub use reader::{ArchiveReader, CollectionKind, PreludeEntry};
pub use rewrite::rewrite_archive;
pub use walk::{PatchError, Patcher};
