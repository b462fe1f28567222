//! The fuzz targets' rule sets (fuzz/rules/, used by fuzz/src/lib.rs, which is outside the
//! workspace and built only with nightly) still parse and compile: when they did not, every
//! target but `rules_parse` panicked at its first input and fuzzed nothing.

use anonymize_core::{Anonymizer, Disposition, Key, KeyMode, RuleSet};

fn compile(file: &str) -> Anonymizer {
    let path = format!("{}/../../fuzz/rules/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let rules = RuleSet::from_yaml(&text, file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let key = Key::from_bytes(b"fuzzing key, not a secret, 32 bytes").unwrap();
    Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_fuzz_targets_rules_compile() {
    let mongo = compile("mongo.yaml");
    assert!(matches!(
        mongo.resolve(Some("test"), "foo"),
        Disposition::Keep(plan) if plan.root().is_some()
    ));
    let sql = compile("sql.yaml");
    assert!(matches!(
        sql.resolve(None, "customer"),
        Disposition::Keep(plan) if plan.root().is_some()
    ));
}
