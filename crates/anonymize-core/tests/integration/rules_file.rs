//! The rules language: the brief's file, qualified names, paths, and errors for broken files.

use anonymize_core::{
    Anonymizer, Disposition, ExcludeReason, KeyMode, RuleSet, SizeLimit, Transform,
};

fn brief_rules() -> RuleSet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/syrf.yaml");
    let src = std::fs::read_to_string(path).unwrap();
    RuleSet::from_yaml(&src, "rules/syrf.yaml").expect("the shipped syrf.yaml parses")
}

#[test]
fn the_briefs_file_parses() {
    let rules = brief_rules();
    let names: Vec<&str> = rules.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["pmInvestigator", "pmProject", "pmStudy"]);
    let inv = &rules.tables[0];
    assert_eq!(inv.fields[0].path, "Email");
    assert!(matches!(
        inv.fields[0].transform,
        Transform::HashEmail {
            local_length: 16,
            ..
        }
    ));
    assert!(matches!(
        inv.fields[3].transform,
        Transform::Hash { length: 16 }
    ));
    assert!(
        rules.tables[2]
            .fields
            .iter()
            .all(|f| f.transform == Transform::Keep),
        "pmStudy's rules only say what is kept on purpose"
    );
    assert_eq!(rules.exclusions, ["asFileListing", "pmAuditLog"]);
    assert_eq!(
        rules.size_limits,
        [
            SizeLimit {
                name: "pmStudy".into(),
                max_rows: 10000,
                filter: Vec::new(),
            },
            SizeLimit {
                name: "pmProject".into(),
                max_rows: 100,
                filter: Vec::new(),
            }
        ]
    );
}

#[test]
fn resolution_qualified_wins_aspect_by_aspect() {
    let src = "rules:\n  users:\n    fields:\n      email: hash_email\n  app.users:\n    fields:\n      name: sequential\nsize_limits:\n  users: {max_rows: 5}\nexclusions: [other.sessions]\n";
    let anon =
        Anonymizer::new(RuleSet::from_yaml(src, "t.yaml").unwrap(), KeyMode::Unkeyed).unwrap();
    let Disposition::Keep(app) = anon.resolve(Some("app"), "users") else {
        panic!()
    };
    let root = app.root().unwrap();
    // Field sets merge: the bare `email` rule still applies in `app` (issue 7.6).
    assert!(root.child(b"name").is_some() && root.child(b"email").is_some());
    assert_eq!(app.max_rows(), Some(5), "bare size limit still applies");
    let Disposition::Keep(crm) = anon.resolve(Some("crm"), "users") else {
        panic!()
    };
    assert!(crm.root().unwrap().child(b"email").is_some());
    assert!(matches!(
        anon.resolve(Some("other"), "sessions"),
        Disposition::Exclude(ExcludeReason::Excluded)
    ));
    let Disposition::Keep(s) = anon.resolve(Some("app"), "sessions") else {
        panic!()
    };
    assert!(s.root().is_none());
    let report = anon.report();
    assert!(report.unmatched_collections().all(|c| c.matched));
    assert!(anon.may_exclude());
    let plain = Anonymizer::new(
        RuleSet::from_yaml("size_limits: {a: {max_rows: 1}}", "t.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    assert!(!plain.may_exclude());
}

#[test]
fn collections_list_selects_and_schema_only() {
    let src = "collections: [users, orders]\nschema_only: [orders]\n";
    let anon =
        Anonymizer::new(RuleSet::from_yaml(src, "t.yaml").unwrap(), KeyMode::Unkeyed).unwrap();
    assert!(matches!(
        anon.resolve(None, "logs"),
        Disposition::Exclude(ExcludeReason::NotSelected)
    ));
    let Disposition::Keep(orders) = anon.resolve(Some("db"), "orders") else {
        panic!()
    };
    assert!(orders.schema_only());
    let unmatched: Vec<_> = anon
        .report()
        .unmatched_collections()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(unmatched, ["users"]);
}

#[test]
fn paths_compile_through_arrays_and_numeric_steps() {
    let src = "rules:\n  s:\n    fields:\n      Authors.0.Email: hash_email\n      Registrations.Email: hash_email\n";
    let anon =
        Anonymizer::new(RuleSet::from_yaml(src, "t.yaml").unwrap(), KeyMode::Unkeyed).unwrap();
    let Disposition::Keep(p) = anon.resolve(None, "s") else {
        panic!()
    };
    let root = p.root().unwrap();
    assert!(root
        .child(b"Authors")
        .unwrap()
        .child(b"0")
        .unwrap()
        .child(b"Email")
        .unwrap()
        .rule()
        .is_some());
    assert!(root
        .child(b"Registrations")
        .unwrap()
        .child(b"Email")
        .unwrap()
        .rule()
        .is_some());
}

#[test]
fn overlapping_paths_are_rejected_by_the_parser_with_a_location() {
    let src = "rules:\n  s:\n    fields:\n      a: hash\n      a.b: hash\n";
    let err = RuleSet::from_yaml(src, "t.yaml").unwrap_err().to_string();
    assert_eq!(
        err,
        "t.yaml:5:7: the rules `a.b` and `a` (line 4) overlap: one path contains the other"
    );
    let src = "rules:\n  s:\n    columns:\n      x.y.z: hash\n      x.y: hash\n";
    let err = RuleSet::from_yaml(src, "t.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with("t.yaml:5:7: the rules `x.y` and `x.y.z` (line 4)"),
        "{err}"
    );
    // A RuleSet built by hand is still checked when compiled.
    let mut rules =
        RuleSet::from_yaml("rules:\n  s:\n    fields:\n      a: hash\n", "t.yaml").unwrap();
    let mut deeper = rules.tables[0].fields[0].clone();
    deeper.path = "a.b".into();
    rules.tables[0].fields.push(deeper);
    let err = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap_err();
    assert!(err.to_string().contains("overlap"), "{err}");
}

#[test]
fn qualified_and_bare_field_sets_merge_qualified_wins_per_path() {
    let src = "rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n      Auth0Id: hash\n  syrftest.pmInvestigator:\n    fields:\n      Email: {transform: constant, value: x}\n      Phone: digits\n";
    let anon =
        Anonymizer::new(RuleSet::from_yaml(src, "t.yaml").unwrap(), KeyMode::Unkeyed).unwrap();
    let Disposition::Keep(plan) = anon.resolve(Some("syrftest"), "pmInvestigator") else {
        panic!()
    };
    let root = plan.root().unwrap();
    let rule_of = |name: &[u8]| root.child(name).and_then(|n| n.rule());
    let names: Vec<&[u8]> = root.child_names().collect();
    assert_eq!(names.len(), 3, "Email, Phone and the bare Auth0Id");
    // Email: the qualified rule wins.
    let email = anon.transform(rule_of(b"Email").unwrap());
    assert_eq!(email.name(), "constant");
    assert_eq!(anon.transform(rule_of(b"Phone").unwrap()).name(), "digits");
    // Auth0Id: not named by the qualified key, so the bare rule still applies (same counters).
    let auth = rule_of(b"Auth0Id").unwrap();
    assert_eq!(anon.transform(auth).name(), "hash");
    assert_eq!(anon.report().rules[auth.index()].table, "pmInvestigator");
    // Another database sees the bare rules only.
    let Disposition::Keep(other) = anon.resolve(Some("other"), "pmInvestigator") else {
        panic!()
    };
    let other = other.root().unwrap();
    assert_eq!(other.child_names().count(), 2);
    assert_eq!(
        anon.transform(other.child(b"Email").unwrap().rule().unwrap())
            .name(),
        "hash_email"
    );
    // A qualified path inside a bare one (or around it) is ambiguous: refused, located.
    let src = "rules:\n  users:\n    fields:\n      FullName: 'null'\n  app.users:\n    fields:\n      FullName.First: sequential\n";
    let err = RuleSet::from_yaml(src, "t.yaml").unwrap_err().to_string();
    assert!(
        err.starts_with(
            "t.yaml:7:7: `FullName.First` in `app.users` overlaps `FullName` in `users` (line 4)"
        ),
        "{err}"
    );
}

#[test]
fn escaped_dots_name_a_literal_dotted_field() {
    let src = "rules:\n  p:\n    fields:\n      FullName\\.First: hash\n      'a\\.b.c': hash\n      FullName.Last: hash\n";
    let rules = RuleSet::from_yaml(src, "t.yaml").unwrap();
    assert_eq!(rules.tables[0].fields[0].path, "FullName\\.First");
    assert_eq!(rules.tables[0].fields[0].steps(), ["FullName.First"]);
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let Disposition::Keep(plan) = anon.resolve(None, "p") else {
        panic!()
    };
    let root = plan.root().unwrap();
    assert!(root.child(b"FullName.First").unwrap().rule().is_some());
    assert!(root
        .child(b"a.b")
        .unwrap()
        .child(b"c")
        .unwrap()
        .rule()
        .is_some());
    assert!(root
        .child(b"FullName")
        .unwrap()
        .child(b"Last")
        .unwrap()
        .rule()
        .is_some());
    assert!(root.child(b"FullName").unwrap().child(b"First").is_none());
    assert!(root.dotted_name_shadows_rule(b"FullName.Last"));
    assert!(!root.dotted_name_shadows_rule(b"FullName.First"));
    assert_eq!(anon.report().rules[0].path, "FullName\\.First");
    let err = RuleSet::from_yaml("rules:\n  p:\n    fields:\n      'a\\b': hash\n", "t.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("t.yaml:4:7:") && err.contains("backslash"),
        "{err}"
    );
}

/// (file, expected "line:column: message" fragment)
const BROKEN: &[(&str, &str)] = &[
    ("rules:\n  users:\n    fields:\n      email:\n        transform: hash_emial\n", "t.yaml:5:9: unknown transform `hash_emial` (did you mean `hash_email`?)"),
    ("rulez:\n  users: {}\n", "t.yaml:1:1: unknown key `rulez` in the rules file (did you mean `rules`?)"),
    ("rules:\n  users:\n    feilds:\n      email: hash\n", "t.yaml:3:5: unknown key `feilds` in a collection's rules (did you mean `fields`?)"),
    ("rules:\n  users:\n    fields:\n      email: {transform: hash, lenght: 8}\n", "t.yaml:4:32: unknown parameter `lenght` (did you mean `length`?)"),
    ("rules:\n  users:\n    fields:\n      email: {transform: hash, length: 100}\n", "t.yaml:4:32: `length` must be a whole number from 1 to 64"),
    ("rules:\n  users:\n    fields:\n      email: {length: 5}\n", "t.yaml:4:7: field `email` needs a `transform:` key"),
    ("rules:\n  users:\n    fields:\n      bio:\n        transform: fake\n        kind: frist_name\n", "t.yaml:6:9: unknown fake kind `frist_name` (did you mean `first_name`?)"),
    ("rules:\n  users:\n    fields:\n      env: {transform: constant}\n", "t.yaml:4:7: `constant` needs `value:`"),
    ("size_limits:\n  users:\n    max_docs: 5\n", "t.yaml:3:5: unknown key `max_docs` in a size limit"),
    ("size_limits:\n  users:\n    max_documents: -5\n", "t.yaml:3:5: `max_documents` must be a whole number >= 0"),
    ("exclusions: users\n", "t.yaml:1:1: expected a list of names, found a string"),
    ("rules:\n  users:\n    fields:\n      email: [hash]\n", "t.yaml:4:7: expected a transform name or mapping for `email`, found a list"),
    ("rules:\n  users:\n    fields:\n      email: hash\n  users:\n    fields: {}\n", "t.yaml:2:3: invalid YAML: rules: duplicate entry with key \"users\""),
    ("rules:\n  users:\n    fields:\n   email: hash\n", "t.yaml:4:"),
    ("rules:\n  users:\n    fields:\n      email: {transform: mask, char: ab}\n", "`char` must be exactly one character"),
    ("rules:\n  users:\n    fields:\n      a..b: hash\n", "t.yaml:4:7: `a..b` is not a valid field path"),
    ("exclusions: [users]\nrules:\n  users:\n    fields:\n      email: hash\n", "t.yaml:1:"),
    ("rules:\n  users:\n    fields:\n      token: {transform: hmac, encoding: base65}\n", "unknown encoding `base65`"),
];

#[test]
fn broken_files_give_located_errors_with_suggestions() {
    for (src, expected) in BROKEN {
        let err = RuleSet::from_yaml(src, "t.yaml")
            .expect_err(src)
            .to_string();
        assert!(
            err.contains(expected),
            "for\n{src}\nexpected `{expected}`\n     got `{err}`"
        );
    }
}

/// `from_yaml_all` reports every error of a file, each with its own line, and goes on past
/// errors in top-level keys, collections and field rules; `from_yaml` gives the first one.
#[test]
fn every_error_of_a_file_is_reported() {
    let text = "\
rules:
  users:
    fields:
      email: hash_emial
      phone: digits
      name: {transform: mask, keep_frist: 1}
  orders: [not, a, mapping]
  posts:
    fields:
      author: hash
      author.name: mask
exclusions: sessions
size_limit: {logs: {max_rows: 5}}
";
    let errors = RuleSet::from_yaml_all(text, "many.yaml").unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 6, 7, 11, 12, 13], "{errors:#?}");
    assert!(errors[0].message.contains("hash_emial"));
    assert!(errors[4].message.contains("list of names"));
    assert!(errors[5].message.contains("size_limits"));
    let first = RuleSet::from_yaml(text, "many.yaml").unwrap_err();
    assert_eq!(first, errors[0]);
    // A valid file still parses, with every rule.
    let ok = RuleSet::from_yaml_all(
        "rules:\n  u:\n    fields:\n      a: hash\n      b: mask\n",
        "ok.yaml",
    )
    .unwrap();
    assert_eq!(ok.tables[0].fields.len(), 2);
}

/// Files that cover nothing (empty, comments only, cut short, empty sections) say so; any rule,
/// exclusion, schema-only table or size limit covers something.
#[test]
fn rules_that_cover_nothing_are_recognised() {
    for text in [
        "",
        "# only a comment\n",
        "rules:\n",
        "rules:\n  users:\n",
        "rules:\n  users:\n    fields:\n",
        "collections: [users]\nexclusions: []\n",
        "large_objects: keep\n",
    ] {
        let rules = RuleSet::from_yaml(text, "e.yaml").unwrap();
        assert!(rules.covers_nothing(), "{text:?}");
    }
    for text in [
        "rules:\n  users:\n    fields:\n      email: hash_email\n",
        "exclusions: [sessions]\n",
        "schema_only: [logs]\n",
        "size_limits:\n  logs: {max_rows: 10}\n",
    ] {
        let rules = RuleSet::from_yaml(text, "e.yaml").unwrap();
        assert!(!rules.covers_nothing(), "{text:?}");
    }
}
