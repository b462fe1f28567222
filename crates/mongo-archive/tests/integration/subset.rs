//! Declared references on a generated SyRF archive (`synth`): a limit on `pmProject` drops
//! the studies of dropped projects; a limit on `pmInvestigator` drops the projects with a
//! registration of a dropped investigator (an array of sub-documents) and, transitively, their
//! studies; no declared reference of the output dangles; the same bytes on any thread count;
//! a reference to a collection the archive does not hold is an error.

use std::collections::HashSet;
use std::sync::Arc;

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use bson::{Bson, Document};
use mongo_archive::subset::{plan_subset, subset_needed};
use mongo_archive::synth::{generate_vec, SynthConfig};
use mongo_archive::verify::verify_keep_documents;
use mongo_archive::{rewrite_archive, RewriteOptions};

fn archive() -> Vec<u8> {
    generate_vec(&SynthConfig {
        target_bytes: 3_000_000,
        ..SynthConfig::default()
    })
}

fn run(input: &[u8], yaml: &str, threads: usize) -> (Vec<u8>, Vec<String>) {
    let anon = Anonymizer::new(
        RuleSet::from_yaml(yaml, "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    assert!(subset_needed(&anon));
    let options = RewriteOptions {
        threads,
        ..RewriteOptions::default()
    };
    let plan = plan_subset(input, &anon, &options).unwrap();
    let report = plan.report().to_vec();
    let options = RewriteOptions {
        subset: Some(Arc::new(plan)),
        ..options
    };
    let mut out = Vec::new();
    rewrite_archive(input, &mut out, &anon, &options).unwrap();
    (out, report)
}

fn docs(archive: &[u8], coll: &str) -> Vec<Document> {
    let v = verify_keep_documents(archive).unwrap();
    v.namespace(&format!("syrftest.{coll}"))
        .map(|n| {
            n.documents
                .iter()
                .map(|d| Document::from_reader(&d[..]).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// A value as a comparable string (`Bson` is not `Hash`).
fn k(b: &Bson) -> String {
    format!("{b:?}")
}

fn ids(docs: &[Document]) -> HashSet<String> {
    docs.iter().map(|d| k(d.get("_id").unwrap())).collect()
}

const RULES: &str = "references:\n  pmStudy.ProjectId: pmProject._id\n  \
                     pmProject.Registrations.InvestigatorId: pmInvestigator._id\n";

#[test]
fn a_project_limit_drops_the_studies_of_dropped_projects() {
    let input = archive();
    let yaml = format!("{RULES}size_limits:\n  pmProject: {{max_documents: 5}}\n");
    let (out, report) = run(&input, &yaml, 1);
    let projects = docs(&out, "pmProject");
    assert_eq!(projects.len(), 5);
    let kept = ids(&projects);
    let studies = docs(&out, "pmStudy");
    let before = docs(&input, "pmStudy").len();
    assert!(
        !studies.is_empty() && studies.len() < before,
        "{} of {before}",
        studies.len()
    );
    for s in &studies {
        assert!(
            kept.contains(&k(s.get("ProjectId").unwrap())),
            "a study of a dropped project"
        );
    }
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(
        report[0],
        format!(
            "pmStudy.ProjectId -> pmProject._id: {} documents removed",
            before - studies.len()
        )
    );
    // Investigators are not limited: all stay.
    assert_eq!(
        docs(&out, "pmInvestigator").len(),
        docs(&input, "pmInvestigator").len()
    );
    let (four, _) = run(&input, &yaml, 4);
    assert!(out == four, "the output depends on the thread count");
}

#[test]
fn references_through_arrays_of_sub_documents_and_transitively() {
    let input = archive();
    let all = docs(&input, "pmInvestigator").len();
    let yaml = format!(
        "{RULES}size_limits:\n  pmInvestigator: {{max_documents: {}}}\n",
        all * 9 / 10
    );
    let (out, report) = run(&input, &yaml, 1);
    let investigators = ids(&docs(&out, "pmInvestigator"));
    let projects = docs(&out, "pmProject");
    assert!(projects.len() < docs(&input, "pmProject").len());
    for p in &projects {
        for r in p.get_array("Registrations").unwrap() {
            let id = r.as_document().unwrap().get("InvestigatorId").unwrap();
            assert!(
                investigators.contains(&k(id)),
                "a registration of a dropped investigator"
            );
        }
    }
    let kept = ids(&projects);
    for s in docs(&out, "pmStudy") {
        assert!(kept.contains(&k(s.get("ProjectId").unwrap())));
    }
    assert_eq!(report.len(), 2, "{report:?}");
}

#[test]
fn a_reference_to_a_collection_the_archive_lacks_is_an_error() {
    let input = archive();
    let yaml = "references:\n  pmStudy.ProjectId: pmProjekt._id\nsize_limits:\n  pmProject: {max_documents: 5}\n";
    let anon = Anonymizer::new(
        RuleSet::from_yaml(yaml, "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let err = plan_subset(&input[..], &anon, &RewriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("`pmProjekt`"), "{err}");
}

#[test]
fn where_keeps_the_first_matching_documents_and_feeds_the_references() {
    let input = archive();
    let yaml = format!(
        "{RULES}size_limits:\n  pmProject: {{max_documents: 3, where: {{Settings.IsPublic: true}}}}\n"
    );
    let (out, _) = run(&input, &yaml, 1);
    let projects = docs(&out, "pmProject");
    let public_in = docs(&input, "pmProject")
        .iter()
        .filter(|p| {
            p.get_document("Settings")
                .unwrap()
                .get_bool("IsPublic")
                .unwrap()
        })
        .count();
    assert!(
        public_in > 3,
        "the generated archive has {public_in} public projects"
    );
    assert_eq!(projects.len(), 3);
    for p in &projects {
        assert!(p
            .get_document("Settings")
            .unwrap()
            .get_bool("IsPublic")
            .unwrap());
    }
    let kept = ids(&projects);
    let studies = docs(&out, "pmStudy");
    assert!(!studies.is_empty());
    for s in &studies {
        assert!(kept.contains(&k(s.get("ProjectId").unwrap())));
    }
    let (four, _) = run(&input, &yaml, 4);
    assert!(out == four, "the output depends on the thread count");
}
