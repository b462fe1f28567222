//! Rewrites a SQL dump file and prints the throughput.
//!
//! `cargo run --release -p sql-dump --example rewrite -- DUMP.sql [RULES.yaml [THREADS]] > out.sql`
//!
//! The output goes to the raw stdout file descriptor, not through `std::io::Stdout` (a
//! `LineWriter` that searches every write for its last newline), so the numbers are the
//! library's own.

use std::fs::File;
use std::io::{BufReader, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .ok_or("usage: rewrite DUMP.sql [RULES.yaml [THREADS]]")?;
    let options = SqlOptions {
        threads: args.get(3).map_or(Ok(1), |t| t.parse())?,
        ..SqlOptions::default()
    };
    let rules = match args.get(2) {
        Some(r) => RuleSet::from_yaml(&std::fs::read_to_string(r)?, r)?,
        None => RuleSet::empty(),
    };
    let anon = Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"bench key of some length")?),
    )?;
    let input = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut stdout = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let start = Instant::now();
    let summary = rewrite_sql(input, &mut stdout, &anon, &options)?;
    let secs = start.elapsed().as_secs_f64();
    stdout.flush()?;
    eprintln!(
        "{} bytes in {:.3} s: {:.0} MB/s",
        summary.bytes_in,
        secs,
        summary.bytes_in as f64 / secs / 1e6
    );
    Ok(())
}
