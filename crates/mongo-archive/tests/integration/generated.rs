//! A generated SyRF archive rewritten with rules/syrf.yaml.

use crate::common;

use std::collections::HashMap;

use bson::{Bson, Document};
use common::*;
use mongo_archive::synth::{generate_vec, sample_config, SynthConfig};
use mongo_archive::verify::{self, VerifiedArchive};
use mongo_archive::{NamespaceAction, RewriteOptions};

const KEY_A: &[u8] = b"key A: a long enough secret for tests";
const KEY_B: &[u8] = b"key B: another secret of enough length";

/// 16 MB: enough projects (> 100) for the size limit to bite.
fn input() -> Vec<u8> {
    static INPUT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    INPUT
        .get_or_init(|| {
            generate_vec(&SynthConfig {
                seed: 3,
                target_bytes: 16_000_000,
                ..SynthConfig::default()
            })
        })
        .clone()
}

fn docs(a: &VerifiedArchive, ns: &str) -> Vec<Document> {
    a.namespace(ns)
        .unwrap_or_else(|| panic!("{ns} missing"))
        .documents
        .iter()
        .map(|d| Document::from_reader(&d[..]).unwrap())
        .collect()
}

/// Every string value anywhere in the archive's documents (recursively).
fn all_strings(a: &VerifiedArchive) -> std::collections::HashSet<String> {
    fn walk(b: &Bson, out: &mut std::collections::HashSet<String>) {
        match b {
            Bson::String(s) => {
                out.insert(s.clone());
            }
            Bson::Document(d) => d.values().for_each(|v| walk(v, out)),
            Bson::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = std::collections::HashSet::new();
    for ns in &a.namespaces {
        for d in &ns.documents {
            walk(
                &Bson::Document(Document::from_reader(&d[..]).unwrap()),
                &mut out,
            );
        }
    }
    out
}

/// Every (lowercased) `local@domain` pair around each `@` in the raw bytes, for every
/// possible start of the local part: a raw byte search for emails, in linear time.
fn raw_email_candidates(bytes: &[u8]) -> std::collections::HashSet<Vec<u8>> {
    let ok = |c: u8| c.is_ascii_alphanumeric() || b".-_+".contains(&c);
    let mut out = std::collections::HashSet::new();
    for at in memchr::memchr_iter(b'@', bytes) {
        let mut end = at + 1;
        while end < bytes.len() && ok(bytes[end]) {
            end += 1;
        }
        let mut start = at;
        while start > 0 && at - start < 80 && ok(bytes[start - 1]) {
            start -= 1;
            for e in at + 1..=end {
                out.insert(bytes[start..e].to_ascii_lowercase());
            }
        }
    }
    out
}

#[test]
fn sample_is_reproducible_by_the_generator() {
    let committed = std::fs::read(repo_root().join("samples/syrf-sample.archive")).unwrap();
    assert!(committed.len() < 1 << 20);
    assert_eq!(generate_vec(&sample_config()), committed);
    let v = verify::verify(&committed).unwrap();
    assert_eq!(v.header.get_i32("concurrent_collections").unwrap(), 4);
    // -j 4 style: several namespaces have more than one segment.
    assert!(v.namespaces.iter().filter(|n| n.segments > 1).count() >= 2);
}

#[test]
fn generator_is_deterministic_and_seed_sensitive() {
    let a = generate_vec(&SynthConfig {
        seed: 9,
        target_bytes: 300_000,
        ..Default::default()
    });
    let b = generate_vec(&SynthConfig {
        seed: 9,
        target_bytes: 300_000,
        ..Default::default()
    });
    let c = generate_vec(&SynthConfig {
        seed: 10,
        target_bytes: 300_000,
        ..Default::default()
    });
    assert_eq!(a, b);
    assert_ne!(a, c);
    let size = generate_vec(&SynthConfig {
        seed: 1,
        target_bytes: 5_000_000,
        ..Default::default()
    })
    .len();
    assert!((4_000_000..6_000_000).contains(&size), "{size}");
}

#[test]
fn syrf_rules_on_generated_archive() {
    let input = input();
    let anon = keyed(syrf_rules(), KEY_A);
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    let summary = r.unwrap();
    let before = verify::verify_keep_documents(&input).unwrap();
    let after = verify::verify_keep_documents(&out).unwrap();

    // Structure: exclusions, users, limits; prelude and body agree (verifier); view kept.
    let names: Vec<String> = after.namespaces.iter().map(|n| n.name()).collect();
    for gone in [
        "syrftest.pmAuditLog",
        "syrftest.asFileListing",
        "admin.system.users",
    ] {
        assert!(!names.contains(&gone.to_owned()), "{gone} still present");
        assert!(!after
            .prelude
            .iter()
            .any(|p| format!("{}.{}", p.db, p.collection) == gone));
    }
    assert!(names.contains(&"syrftest.pmProjectSummary".to_owned()));
    assert_eq!(after.header, before.header);
    let count = |a: &VerifiedArchive, n: &str| a.namespace(n).unwrap().docs;
    assert_eq!(
        count(&after, "syrftest.pmStudy"),
        count(&before, "syrftest.pmStudy").min(10_000)
    );
    assert!(
        count(&before, "syrftest.pmProject") > 100,
        "test needs the limit to bite"
    );
    assert_eq!(count(&after, "syrftest.pmProject"), 100);
    assert_eq!(
        count(&after, "syrftest.pmInvestigator"),
        count(&before, "syrftest.pmInvestigator")
    );
    for ns in &summary.namespaces {
        match after.namespace(&ns.name()) {
            Some(v) => {
                assert_eq!(ns.action, NamespaceAction::Kept);
                assert_eq!(ns.docs_out, v.docs, "{}", ns.name());
            }
            None => assert_ne!(ns.action, NamespaceAction::Kept),
        }
    }
    assert_eq!(summary.bytes_out, out.len() as u64);

    // Uncovered documents are byte-identical (the first N of limited ones).
    for ns in [
        "syrftest.pmStudy",
        "syrftest.pmRiskOfBiasQuestion",
        "syrftest.pmSystemSetting",
        "admin.system.version",
    ] {
        let a = &after.namespace(ns).unwrap().documents;
        let b = &before.namespace(ns).unwrap().documents;
        assert_eq!(a[..], b[..a.len()], "{ns}");
    }

    // No original email, name or Auth0Id of a covered field anywhere in the output.
    let emails_in_output = raw_email_candidates(&out);
    let strings_in_output = all_strings(&after);
    let auth0_in_output: std::collections::HashSet<&[u8]> =
        memchr::memmem::find_iter(&out, b"auth0|")
            .map(|i| &out[i..(i + 30).min(out.len())])
            .collect();
    let inv_in = docs(&before, "syrftest.pmInvestigator");
    let inv_out = docs(&after, "syrftest.pmInvestigator");
    let mut pseudonym: HashMap<String, String> = HashMap::new();
    for (i, (a, b)) in inv_in.iter().zip(&inv_out).enumerate() {
        let email = a.get_str("Email").unwrap();
        assert!(
            !emails_in_output.contains(email.to_ascii_lowercase().as_bytes()),
            "email leaked"
        );
        assert!(
            !auth0_in_output.contains(a.get_str("Auth0Id").unwrap().as_bytes()),
            "Auth0Id leaked"
        );
        let full = a.get_document("FullName").unwrap();
        for name in [
            a.get_str("FirstName").unwrap(),
            a.get_str("LastName").unwrap(),
            full.get_str("Preferred").unwrap(),
        ] {
            assert!(!strings_in_output.contains(name), "name leaked");
        }
        // Values and types as the transforms promise; the rest untouched.
        let new_email = b.get_str("Email").unwrap();
        assert!(new_email.ends_with("@anonymized.syrf.local"));
        assert_eq!(b.get_str("FirstName").unwrap(), format!("User{}", i + 1));
        assert_eq!(
            b.get_document("FullName")
                .unwrap()
                .get_str("First")
                .unwrap(),
            format!("User{}", i + 1)
        );
        assert_eq!(b.get_str("LastName").unwrap(), format!("{}", i + 1));
        assert_ne!(b.get_str("Auth0Id").unwrap(), a.get_str("Auth0Id").unwrap());
        assert_eq!(a.get("_id"), b.get("_id"));
        assert!(
            matches!(b.get("_id"), Some(Bson::Binary(bin)) if bin.subtype == bson::spec::BinarySubtype::UuidOld)
        );
        for k in ["Roles", "CreatedDate", "EmailVerified", "LoginCount"] {
            assert_eq!(a.get(k), b.get(k), "{k}");
        }
        let keys_a: Vec<&String> = a.keys().collect();
        let keys_b: Vec<&String> = b.keys().collect();
        assert_eq!(keys_a, keys_b);
        pseudonym.insert(email.to_ascii_lowercase(), new_email.to_owned());
        // The checks above can fail: the input holds what they look for.
        if i == 0 {
            assert!(raw_email_candidates(&input).contains(email.to_ascii_lowercase().as_bytes()));
            assert!(all_strings(&before).contains(a.get_str("LastName").unwrap()));
        }
    }

    // Same email -> same pseudonym across collections, whatever the letter case.
    let proj_in = docs(&before, "syrftest.pmProject");
    let proj_out = docs(&after, "syrftest.pmProject");
    let mut checked = 0;
    let mut varied_case = 0;
    for (a, b) in proj_in.iter().zip(&proj_out) {
        let orig = a.get_str("ContactEmail").unwrap();
        assert_eq!(
            b.get_str("ContactEmail").unwrap(),
            pseudonym[&orig.to_ascii_lowercase()]
        );
        let regs_a = a.get_array("Registrations").unwrap();
        let regs_b = b.get_array("Registrations").unwrap();
        assert_eq!(regs_a.len(), regs_b.len());
        for (ra, rb) in regs_a.iter().zip(regs_b) {
            let (ra, rb) = (ra.as_document().unwrap(), rb.as_document().unwrap());
            let orig = ra.get_str("Email").unwrap();
            if orig != orig.to_ascii_lowercase() {
                varied_case += 1;
            }
            assert_eq!(
                rb.get_str("Email").unwrap(),
                pseudonym[&orig.to_ascii_lowercase()]
            );
            assert_eq!(ra.get("InvestigatorId"), rb.get("InvestigatorId"));
            assert_eq!(ra.get("Status"), rb.get("Status"));
            checked += 1;
        }
        assert_eq!(a.get("Description"), b.get("Description"));
    }
    assert!(checked > 100 && varied_case > 20, "{checked} {varied_case}");
}

#[test]
fn same_key_same_bytes_other_key_changes_every_keyed_value() {
    let input = input();
    let run_with = |key: &[u8]| {
        let (out, r) = run(
            &input,
            &keyed(syrf_rules(), key),
            &RewriteOptions::default(),
        );
        r.unwrap();
        out
    };
    let a1 = run_with(KEY_A);
    let a2 = run_with(KEY_A);
    let b = run_with(KEY_B);
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
    let va = verify::verify_keep_documents(&a1).unwrap();
    let vb = verify::verify_keep_documents(&b).unwrap();
    for (x, y) in docs(&va, "syrftest.pmInvestigator")
        .iter()
        .zip(docs(&vb, "syrftest.pmInvestigator"))
    {
        assert_ne!(x.get_str("Email").unwrap(), y.get_str("Email").unwrap());
        assert_ne!(x.get_str("Auth0Id").unwrap(), y.get_str("Auth0Id").unwrap());
        // sequential transforms are ordinals, not keyed: equal by design.
        assert_eq!(
            x.get_str("FirstName").unwrap(),
            y.get_str("FirstName").unwrap()
        );
    }
    for (x, y) in docs(&va, "syrftest.pmProject")
        .iter()
        .zip(docs(&vb, "syrftest.pmProject"))
    {
        assert_ne!(
            x.get_str("ContactEmail").unwrap(),
            y.get_str("ContactEmail").unwrap()
        );
        for (rx, ry) in x
            .get_array("Registrations")
            .unwrap()
            .iter()
            .zip(y.get_array("Registrations").unwrap())
        {
            assert_ne!(
                rx.as_document().unwrap().get_str("Email").unwrap(),
                ry.as_document().unwrap().get_str("Email").unwrap()
            );
        }
    }
}

#[test]
fn collections_subset_keeps_only_those() {
    let input = input();
    let opts = RewriteOptions {
        collections: Some(vec![
            "pmInvestigator".into(),
            "syrftest.pmProjectSummary".into(),
        ]),
        ..Default::default()
    };
    let (out, r) = run(&input, &keyed(syrf_rules(), KEY_A), &opts);
    let summary = r.unwrap();
    let v = verify::verify(&out).unwrap();
    let names: Vec<String> = v.namespaces.iter().map(|n| n.name()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"syrftest.pmInvestigator".into()));
    assert!(names.contains(&"syrftest.pmProjectSummary".into()));
    assert_eq!(v.prelude.len(), 2);
    assert!(summary
        .namespaces
        .iter()
        .any(|n| n.action == NamespaceAction::NotSelected));
    // With users kept, the users and what restores them come along.
    let opts = RewriteOptions {
        keep_users: true,
        ..opts
    };
    let (out, r) = run(&input, &keyed(syrf_rules(), KEY_A), &opts);
    r.unwrap();
    let v = verify::verify(&out).unwrap();
    assert!(v.namespace("admin.system.users").is_some());
    assert!(v.namespace("admin.system.version").is_some());
    assert_eq!(v.namespaces.len(), 4);
}

#[test]
fn users_dropped_by_default_kept_on_request() {
    let input = input();
    let anon = empty();
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    let s = r.unwrap();
    assert!(!contains(&out, b"SCRAM-SHA-256"));
    assert!(!contains(&out, b"system.users"));
    assert_eq!(
        s.namespaces
            .iter()
            .find(|n| n.collection == "system.users")
            .unwrap()
            .action,
        NamespaceAction::UsersDropped
    );
    verify::verify(&out).unwrap();
    let (out, r) = run(&input, &anon, &keep_all());
    r.unwrap();
    assert_eq!(out, input);
}

#[test]
fn rules_yaml_collections_list_is_honoured() {
    let input = input();
    let anon = rules("collections:\n  - pmStudy\n");
    let (out, r) = run(&input, &anon, &RewriteOptions::default());
    r.unwrap();
    let v = verify::verify(&out).unwrap();
    let names: Vec<String> = v.namespaces.iter().map(|n| n.name()).collect();
    assert_eq!(names, ["syrftest.pmStudy"]);
}
