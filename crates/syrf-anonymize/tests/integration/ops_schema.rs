//! `rules/schema.json`, the JSON Schema editors use for rules files: it accepts every shipped
//! rule file, rejects misspelt keys, transforms and parameters, agrees with the core's parser on
//! a set of good and bad files, and lists exactly the core's transform names.

use std::path::{Path, PathBuf};

use anonymize_core::{FakeKind, HmacEncoding, RuleSet, Transform};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let text =
        std::fs::read_to_string(root().join("rules/schema.json")).expect("rules/schema.json");
    serde_json::from_str(&text).expect("schema.json is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft7::new(&schema()).expect("a valid draft-07 schema")
}

fn yaml_to_json(text: &str) -> Value {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).expect("YAML");
    serde_json::to_value(yaml).expect("YAML maps to JSON")
}

fn schema_errors(v: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance = yaml_to_json(text);
    v.iter_errors(&instance).map(|e| e.to_string()).collect()
}

#[test]
fn every_shipped_rule_file_is_valid_and_points_at_the_schema() {
    let v = validator();
    let mut count = 0;
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./schema.json\n"),
            "{} does not reference the schema on its first line",
            path.display()
        );
        let errors = schema_errors(&v, &text);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        RuleSet::from_yaml(&text, &path.display().to_string()).expect("the core accepts it");
        count += 1;
    }
    assert!(count >= 4, "only {count} rule files");
}

#[test]
fn schema_lists_exactly_the_core_names() {
    let s = schema();
    let transform = &s["definitions"]["transform"]["oneOf"][1]["enum"];
    let names: Vec<&str> = transform
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(names, Transform::NAMES);
    let branches = s["definitions"]["transform"]["oneOf"][2]["allOf"]
        .as_array()
        .unwrap();
    assert_eq!(branches.len(), Transform::NAMES.len());
    let param = |t: &str, p: &str| -> Value {
        branches
            .iter()
            .find(|b| {
                b["if"]["properties"]["transform"]["const"] == t
                    || (t == "null" && b["if"]["properties"]["transform"]["enum"][0] == "null")
            })
            .unwrap_or_else(|| panic!("no branch for {t}"))["then"]["properties"][p]
            .clone()
    };
    let kinds = param("fake", "kind");
    let kinds: Vec<&str> = kinds["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(kinds, FakeKind::NAMES);
    let encodings = param("hmac", "encoding");
    let encodings: Vec<&str> = encodings["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(encodings, HmacEncoding::NAMES);
}

/// Files both the core and the schema accept.
const GOOD: &[&str] = &[
    "",
    "rules:\n  users:\n    columns:\n      email: hash_email\n      phone: {transform: digits}\nexclusions: [sessions]\n",
    "rules:\n  users:\n    fields:\n      a: null\n      b:\n      c: {transform: null}\n      d: {transform: hmac, length: 26, encoding: base32}\n",
    "rules:\n  users:\n    fields:\n      name: {transform: fake, kind: first_name, locale: fr-FR}\n      ip: {transform: mask, keep_start: 3, char: '#'}\n",
    "rules:\n  app.users:\n    fields:\n      Registrations.Email: {transform: hash_email, domain: example.test, case_sensitive: true}\n",
    "rules:\n  t:\n    fields:\n      env: {transform: constant, value: 3}\n      when: {transform: date_shift, max_days: 10}\n",
    "size_limits:\n  logs: {max_documents: 100}\n  audit: {max_rows: 0}\nschema_only: [cache]\ncollections: [users, logs]\n",
    "rules:\n  empty:\n",
    "rules:\n  users:\n    when: {email: {not_ends_with: \"@staff.example\"}, role: {not_in: [admin]}, kind: {not: bot}}\n    columns: {email: hash_email}\n",
    "size_limits:\n  users: {where: {email: {not_starts_with: test}}}\n",
];

/// Files both reject (misspelt keys, transforms, parameters; bad values).
const BAD: &[&str] = &[
    "rulez:\n  users: {}\n",
    "exclusion: [sessions]\n",
    "rules:\n  users:\n    feilds:\n      email: hash\n",
    "rules:\n  users:\n    fields:\n      email: hash_emial\n",
    "rules:\n  users:\n    fields:\n      email: {transform: hash, lenght: 8}\n",
    "rules:\n  users:\n    fields:\n      email: {transform: hash, length: 100}\n",
    "rules:\n  users:\n    fields:\n      email: {length: 5}\n",
    "rules:\n  users:\n    fields:\n      bio: {transform: fake, kind: frist_name}\n",
    "rules:\n  users:\n    fields:\n      bio: {transform: fake}\n",
    "rules:\n  users:\n    fields:\n      env: {transform: constant}\n",
    "rules:\n  users:\n    fields:\n      x: {transform: keep, length: 3}\n",
    "rules:\n  users:\n    fields:\n      x: {transform: mask, char: '**'}\n",
    "rules:\n  users:\n    fields:\n      x: {transform: hmac, encoding: base16}\n",
    "rules:\n  users:\n    fields:\n      x: {transform: fake, kind: name, locale: xx_yy}\n",
    "rules:\n  users:\n    fields:\n      a..b: hash\n",
    "rules:\n  users:\n    fields:\n      a.$.b: hash\n",
    "rules:\n  users:\n    fields:\n      email: hash\n    columns:\n      email: hash\n",
    "size_limits:\n  users:\n    max_docs: 5\n",
    "size_limits:\n  users:\n    max_documents: -5\n",
    "size_limits:\n  users: {max_documents: 1, max_rows: 2}\n",
    "exclusions: sessions\n",
    "rules: [users]\n",
    "rules:\n  users:\n    when: {email: {not_end_with: x}}\n    columns: {email: hash_email}\n",
    "rules:\n  users:\n    when: {email: {not: [1]}}\n    columns: {email: hash_email}\n",
];

#[test]
fn schema_agrees_with_the_core() {
    let v = validator();
    for text in GOOD {
        let errors = schema_errors(&v, text);
        assert!(errors.is_empty(), "schema rejects {text:?}: {errors:?}");
        RuleSet::from_yaml(text, "good.yaml")
            .unwrap_or_else(|e| panic!("core rejects {text:?}: {e}"));
    }
    for text in BAD {
        assert!(
            !schema_errors(&v, text).is_empty(),
            "schema accepts {text:?}"
        );
        assert!(
            RuleSet::from_yaml(text, "bad.yaml").is_err(),
            "core accepts {text:?}"
        );
    }
}

#[test]
fn a_misspelt_key_in_a_shipped_file_is_rejected() {
    let v = validator();
    let text = std::fs::read_to_string(root().join("rules/syrf.yaml")).unwrap();
    for (from, to) in [
        ("fields:", "feilds:"),
        ("transform: hash_email", "transform: hash_emial"),
        ("exclusions:", "exclusion:"),
    ] {
        assert!(text.contains(from), "{from}");
        let broken = text.replacen(from, to, 1);
        assert!(
            !schema_errors(&v, &broken).is_empty(),
            "schema accepts syrf.yaml with {to}"
        );
    }
}
