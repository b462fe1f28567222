//! What the rewrite summary records for summaries: sampled top-level field names (bounded,
//! only for collections with field rules), the rules that dotted keys shadow, and the
//! current-namespace hook for progress displays.

use crate::common;
use common::*;

use std::sync::{Arc, Mutex};

use bson::{doc, Document};
use mongo_archive::{RewriteOptions, FIELD_SAMPLE_DOCUMENTS, FIELD_SAMPLE_NAMES};

#[test]
fn field_names_are_sampled_bounded_and_only_with_rules() {
    // Document i has the field `f<i>`: distinct names beyond both bounds.
    let many: Vec<Document> = (0..FIELD_SAMPLE_DOCUMENTS + 50)
        .map(|i| {
            let mut d = doc! {"email": "x@example.com"};
            d.insert(format!("f{i}"), 1);
            d
        })
        .collect();
    let few = vec![doc! {"a": 1, "b": {"c": 2}}, doc! {"a": 3, "d": 4}];
    let input = build_archive(&[
        NsDocs::new("app", "users", &many),
        NsDocs::new("app", "small", &few),
        NsDocs::new("app", "norules", &few),
    ]);
    let anon = rules("rules:\n  users:\n    fields:\n      email: hash_email\n  small:\n    fields:\n      zz: null\n");
    let (_, r) = run(&input, &anon, &keep_all());
    let s = r.unwrap();
    let ns = |c: &str| s.namespaces.iter().find(|n| n.collection == c).unwrap();
    let users = &ns("users").field_names;
    assert_eq!(users.len(), FIELD_SAMPLE_NAMES);
    assert_eq!(users[0], "email");
    assert_eq!(users[1], "f0");
    assert_eq!(ns("small").field_names, ["a", "b", "d"]);
    assert!(ns("norules").field_names.is_empty());

    // Past the first FIELD_SAMPLE_DOCUMENTS documents nothing more is looked at.
    let late: Vec<Document> = (0..FIELD_SAMPLE_DOCUMENTS + 1)
        .map(|i| {
            if i == FIELD_SAMPLE_DOCUMENTS {
                doc! {"late": 1}
            } else {
                doc! {"a": 1}
            }
        })
        .collect();
    let input = build_archive(&[NsDocs::new("app", "small", &late)]);
    let s = run(&input, &anon, &keep_all()).1.unwrap();
    assert_eq!(s.namespaces[0].field_names, ["a"]);
}

#[test]
fn shadowed_rules_name_the_rule_each_key_shadows() {
    let input = build_archive(&[NsDocs::new(
        "app",
        "people",
        &[
            doc! {"FullName.Last": "x", "Contact.Email": "y", "Contact": {"Email": "e"}},
            doc! {"FullName.Last": "x2"},
        ],
    )]);
    let anon = rules("rules:\n  people:\n    fields:\n      FullName.First: null\n      FullName.Last: null\n      Contact.Email: null\n");
    let s = run(&input, &anon, &keep_all()).1.unwrap();
    let people = &s.namespaces[0];
    assert_eq!(people.shadowing_keys, 3);
    assert_eq!(people.shadowed_rules, ["FullName.Last", "Contact.Email"]);
}

#[test]
fn current_namespace_follows_the_blocks() {
    let input = build_archive(&[
        NsDocs::new("app", "one", &[doc! {"a": 1}]),
        NsDocs::new("app", "two", &[doc! {"a": 2}]),
    ]);
    let current = Arc::new(Mutex::new(String::new()));
    let opts = RewriteOptions {
        current_namespace: Some(current.clone()),
        ..keep_all()
    };
    run(&input, &rules("rules: {}\n"), &opts).1.unwrap();
    // The last namespace whose blocks were read.
    assert_eq!(*current.lock().unwrap(), "app.two");
}
