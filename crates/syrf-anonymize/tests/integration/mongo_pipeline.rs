//! The binary on a gzip mongodump archive with the shipped rules: gzip in, gzip out, the
//! output verified by the independent strict reader, no covered email left.

use std::io::Write;

use crate::common;
use common::{gunzip, run_with_stdin};

use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::verify::verify;

fn anonymize(input: &[u8], key: &str) -> Vec<u8> {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/syrf.yaml");
    let mut command = common::bin();
    command
        .args(["--rules", rules, "--quiet"])
        .env("SYRF_ANONYMIZE_KEY", key);
    let out = run_with_stdin(command, input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Every `"...@...` email-looking string value in the generated archive's people collections.
fn emails_in(archive: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(archive);
    let mut found: Vec<String> = text
        .split(|c: char| c.is_control() || c == '"' || c == ' ')
        .filter(|w| w.contains('@') && w.contains('.') && !w.ends_with("anonymized.syrf.local"))
        .map(|w| w.to_lowercase())
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn gzip_archive_with_shipped_rules_round_trips_and_leaks_no_email() {
    let config = SynthConfig {
        target_bytes: 3 << 20,
        ..SynthConfig::default()
    };
    let original = generate_vec(&config);
    let before = emails_in(&original);
    assert!(
        before.len() > 20,
        "the generator writes emails: {}",
        before.len()
    );

    let output = anonymize(&gzip(&original), "pipeline-test-key-0123456789");
    assert_eq!(&output[..2], &[0x1f, 0x8b], "gzip in, gzip out");
    let plain = gunzip(&output);
    let checked = verify(&plain).expect("the strict reader accepts the output");
    assert!(checked.namespace("syrftest.pmInvestigator").is_some());
    assert!(
        checked.namespace("syrftest.pmAuditLog").is_none(),
        "excluded"
    );
    let text = String::from_utf8_lossy(&plain).to_lowercase();
    for email in &before {
        assert!(!text.contains(email.as_str()), "an original email survived");
    }

    // Same key, same bytes; another key, other pseudonyms.
    assert_eq!(
        gunzip(&anonymize(&gzip(&original), "pipeline-test-key-0123456789")),
        plain
    );
    assert_ne!(
        gunzip(&anonymize(&gzip(&original), "another-key-9876543210abc")),
        plain
    );
}
