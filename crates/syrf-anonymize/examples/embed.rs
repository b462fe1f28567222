//! Embedding syrf-anonymize: anonymize any `Read` (a mongodump archive or a MySQL/MariaDB or
//! PostgreSQL dump, gzip or not) into any `Write`, as the command does.
//!
//! `cargo run --example embed -- RULES.yaml < dump > anonymized` (key from SYRF_ANONYMIZE_KEY).

use std::io::{Read, Write};

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use syrf_anonymize::{anonymize, Error, Options, Summary};

/// The whole embedding: rules and key in, any reader to any writer, one summary or one error.
pub fn anonymize_stream(
    rules_yaml: &str,
    key: &[u8],
    input: impl Read + Send,
    output: impl Write,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let rules = RuleSet::from_yaml(rules_yaml, "rules.yaml")?;
    let anon = Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(key)?))?;
    Ok(anonymize(input, output, &anon, &Options::default())?)
}

#[allow(dead_code)]
fn main() {
    let rules_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rules/syrf.yaml".into());
    let key = std::env::var("SYRF_ANONYMIZE_KEY").unwrap_or_default();
    let result = std::fs::read_to_string(&rules_path)
        .map_err(Into::into)
        .and_then(|rules| {
            anonymize_stream(&rules, key.as_bytes(), std::io::stdin(), std::io::stdout())
        });
    match result {
        Ok(summary) => eprint!("{}", summary.to_text()),
        Err(e) => {
            eprintln!("embed: {e}");
            let code = e.downcast_ref::<Error>().map_or(2, Error::exit_code);
            std::process::exit(code);
        }
    }
}
