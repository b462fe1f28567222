//! Observability and audit of a run: the facts of one run ([`RunRecord`]) rendered as
//! Prometheus metrics ([`metrics`], written as a textfile-collector file or pushed to a
//! Pushgateway by [`push`]) and as one audit-log JSON line ([`audit`]). Nothing here ever holds
//! a value from the data or the key: only counts, sizes, digests, names of collections, tables
//! and rules, and the key's fingerprint ([`anonymize_core::Key::fingerprint`]).

pub mod audit;
pub mod digest;
pub mod metrics;
pub mod push;
mod record;
mod time;

pub use digest::{DigestHandle, DigestReader, DigestWriter, StreamDigest};
pub use record::{unix_seconds, RunRecord, KIND_REPORT};
pub use time::rfc3339;
