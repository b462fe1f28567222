//! benches/rules/people.myanon.conf (the myanon side of `benches/myanon.sh`) stays the equivalent
//! of benches/rules/people.yaml: the same table and columns, each with a keyed myanon hash, and
//! no `secret` written in the repository (the bench writes a fresh one into a temporary copy).

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

const RULES: &str = include_str!("../rules/people.yaml");
const MYANON: &str = include_str!("../rules/people.myanon.conf");

/// The config's lines without their `#` comments, trimmed, empty ones dropped.
fn config_lines() -> Vec<&'static str> {
    MYANON
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .collect()
}

/// `(table, column, rule)` of each `` `column` = rule `` line inside a `` `table` = { `` block.
fn myanon_rules() -> Vec<(String, String, String)> {
    let mut table = None;
    let mut rules = Vec::new();
    for line in config_lines() {
        let Some((name, rule)) = line.split_once('=') else {
            continue;
        };
        let (name, rule) = (name.trim().trim_matches('`'), rule.trim());
        if rule == "{" {
            table = (name != "tables").then(|| name.to_owned());
        } else if let Some(table) = &table {
            rules.push((table.clone(), name.to_owned(), rule.to_owned()));
        }
    }
    rules
}

#[test]
fn myanon_config_covers_the_columns_of_people_yaml() {
    let rules = RuleSet::from_yaml(RULES, "people.yaml").unwrap();
    let key = Key::from_bytes(b"a test key for the myanon config").unwrap();
    let ours: Vec<(String, String)> = Anonymizer::new(rules, KeyMode::Keyed(key))
        .unwrap()
        .report()
        .rules
        .into_iter()
        .map(|r| (r.table, r.path))
        .collect();
    let theirs = myanon_rules();
    assert_eq!(
        theirs
            .iter()
            .map(|(t, c, _)| (t.clone(), c.clone()))
            .collect::<Vec<_>>(),
        ours,
        "people.myanon.conf rewrites the columns people.yaml covers, in its order"
    );
    for (table, column, rule) in &theirs {
        let transform = rule.split_whitespace().next().unwrap_or_default();
        assert!(
            ["texthash", "emailhash", "inthash"].contains(&transform),
            "{table}.{column} = {rule}: not one of myanon's keyed hashes"
        );
    }
}

#[test]
fn myanon_config_holds_no_secret() {
    assert!(
        config_lines()
            .iter()
            .all(|line| !line.starts_with("secret")),
        "a secret in the repository is public: benches/myanon.sh writes a fresh one"
    );
}
