//! Hit rates of the per-thread memo of recent transform results on a real dump: rewrites the
//! dump on stdin on this one thread (output discarded) and prints, per rule, the values looked
//! up in the memo and the share it served.
//!
//! ```sh
//! zcat ../shared/testdata/sql/sakila.sql.gz | cargo run --release -p syrf-benches --bin memo-hits -- sql rules.yaml
//! cargo run --release -p syrf-benches --bin memo-hits -- mongo rules/syrf.yaml < dump.archive
//! ```

use std::io::{self, BufReader};

use anonymize_core::{Anonymizer, KeyMode, RuleSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format, rules] = &args[..] else {
        return Err("usage: memo-hits sql|mongo RULES.yaml < DUMP".into());
    };
    let text = std::fs::read_to_string(rules)?;
    let key = anonymize_core::Key::from_bytes(b"memo-hits-key-0123456789abcdef")?;
    let anon = Anonymizer::new(RuleSet::from_yaml(&text, rules)?, KeyMode::Keyed(key))?;
    let input = BufReader::with_capacity(1 << 20, io::stdin().lock());
    match format.as_str() {
        "sql" => {
            sql_dump::rewrite_sql(input, io::sink(), &anon, &sql_dump::SqlOptions::default())?;
        }
        "mongo" => {
            let options = mongo_archive::RewriteOptions {
                threads: 1,
                ..Default::default()
            };
            mongo_archive::rewrite_archive(input, io::sink(), &anon, &options)?;
        }
        other => return Err(format!("unknown format {other}").into()),
    }
    let report = anon.report();
    for ((table, path, hits, misses), r) in anon
        .memo_counts_this_thread()
        .into_iter()
        .zip(&report.rules)
    {
        let looked = hits + misses;
        if r.values_seen == 0 {
            continue;
        }
        let rate = if looked == 0 {
            0.0
        } else {
            100.0 * hits as f64 / looked as f64
        };
        println!(
            "{:<40} {:<14} seen {:>7}  looked up {:>7}  hit {:>5.1}%",
            format!("{table}.{path}"),
            r.transform,
            r.values_seen,
            looked,
            rate
        );
    }
    Ok(())
}
