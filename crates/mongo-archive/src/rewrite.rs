//! The rewrite entry: reads an archive, applies the rules, writes a restorable archive, feeding
//! the [`Driver`] from one thread or from the parallel reader ([`crate::parallel`]).

use std::io::{Read, Write};

use anonymize_core::Anonymizer;

use crate::driver::{Driver, RewriteSummary};
use crate::error::ArchiveError;
use crate::policy::RewriteOptions;
use crate::reader::ArchiveReader;

/// Rewrites a (decompressed) mongodump archive from `input` to `output` by the rules of `anon`.
///
/// Keeps the header, the prelude entries of kept namespaces and the block structure byte for
/// byte; documents no rule touches are copied as bytes, touched ones patched in place; each
/// kept namespace's CRC is recomputed over the bytes written. With no rules the output equals
/// the input.
///
/// On any error (truncated or corrupt input, a CRC mismatch, an oplog entry that cannot be
/// made safe, a write error) the bytes written so far never form a complete archive: the last
/// terminator is only written once the input has ended cleanly and every check passed.
///
/// ```
/// use anonymize_core::{Anonymizer, KeyMode, RuleSet};
/// use mongo_archive::{rewrite_archive, RewriteOptions};
///
/// let input = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive"))?;
/// let anon = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed)?;
/// let mut output = Vec::new();
/// let summary = rewrite_archive(&input[..], &mut output, &anon, &RewriteOptions { keep_users: true, ..Default::default() })?;
/// assert_eq!(output, input);
/// assert_eq!(summary.bytes_out, input.len() as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rewrite_archive<R: Read, W: Write>(
    input: R,
    output: W,
    anon: &Anonymizer,
    options: &RewriteOptions,
) -> Result<RewriteSummary, ArchiveError> {
    let mut rd = ArchiveReader::new(input);
    let mut driver = Driver::new(output, anon, options);
    let result = if options.threads > 1 {
        crate::parallel::run(&mut rd, &mut driver, options.threads)
    } else {
        (|| loop {
            let at = rd.offset();
            let item = rd.next_item()?;
            if driver.handle(at, item, None)? {
                return Ok(());
            }
        })()
    };
    driver.finish(result, rd.offset())
}
