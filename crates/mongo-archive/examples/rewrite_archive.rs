//! `rewrite_archive [RULES.yaml]`: rewrites a plain archive from stdin to stdout (keyed with a fixed
//! demo key) and prints the summary to stderr. For measuring; the real tool is syrf-anonymize.

use std::io::{stdin, stdout};

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use mongo_archive::{rewrite_archive, RewriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = match std::env::args().nth(1) {
        Some(path) => RuleSet::from_yaml(&std::fs::read_to_string(&path)?, &path)?,
        None => RuleSet::empty(),
    };
    let anon = Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"demo key for measurements only!!")?),
    )?;
    let start = std::time::Instant::now();
    let summary = rewrite_archive(
        stdin().lock(),
        stdout().lock(),
        &anon,
        &RewriteOptions::default(),
    )?;
    let secs = start.elapsed().as_secs_f64();
    for ns in &summary.namespaces {
        eprintln!(
            "{:<40} {:?} docs {} -> {} (changed {}), bytes {} -> {}",
            ns.name(),
            ns.action,
            ns.docs_in,
            ns.docs_out,
            ns.docs_changed,
            ns.bytes_in,
            ns.bytes_out
        );
    }
    eprintln!(
        "{} -> {} bytes in {:.2}s: {:.0} MB/s",
        summary.bytes_in,
        summary.bytes_out,
        secs,
        summary.bytes_in as f64 / secs / 1e6
    );
    Ok(())
}
