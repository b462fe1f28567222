//! The rules parser and compiler on arbitrary text: no panic; errors render.
#![no_main]

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RuleSet::from_yaml(text, "fuzz.yaml") {
        Ok(rules) => {
            let key = Key::from_bytes(syrf_anonymize_fuzz::KEY).expect("key");
            match Anonymizer::new(rules, KeyMode::Keyed(key)) {
                Ok(anon) => {
                    let _ = anon.resolve(Some("db"), "users");
                    let _ = anon.resolve(None, "pmInvestigator");
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
