//! `threads`: the output, the summary and the rules' counters are the same whatever the number
//! of worker threads (documents patched on a pool, written in input order).

use crate::common;

use anonymize_core::RuleSet;
use common::*;
use mongo_archive::RewriteOptions;

const KEY: &[u8] = b"threads test key, long enough 0123";

/// Sequential transforms (ordinals) and limits that cut collections mid-block.
const SEQUENTIAL: &str = "
rules:
  pmInvestigator:
    fields:
      FirstName: sequential
      LastName: sequential_suffix
      Email: hash_email
      FullName.First: sequential
  pmProject:
    fields:
      ContactEmail: hash_email
      Registrations.Email: hash_email
  pmStudy:
    fields:
      Title: sequential
size_limits:
  pmInvestigator:
    max_documents: 137
  pmStudy:
    max_documents: 1001
  pmProject:
    max_documents: 7
";

#[test]
fn syrf_rules_same_output_with_1_2_4_threads() {
    for seed in [5, 6] {
        let input = generated(seed, 6);
        let (out, r) = same_for_all_thread_counts(
            "syrf rules",
            &input,
            || keyed(syrf_rules(), KEY),
            &RewriteOptions::default(),
        );
        let s = r.unwrap();
        // The rules really rewrote documents (the sequential test has limits that bite).
        let changed: u64 = s.namespaces.iter().map(|n| n.docs_changed).sum();
        assert!(changed > 50, "{changed} documents changed");
        let inv = s
            .namespaces
            .iter()
            .find(|n| n.collection == "pmInvestigator")
            .unwrap();
        assert_eq!(inv.docs_changed, inv.docs_out);
        mongo_archive::verify::verify(&out).unwrap();
    }
}

#[test]
fn sequential_rules_and_limits_same_output_with_1_2_4_threads() {
    let input = generated(11, 6);
    let (out, r) = same_for_all_thread_counts(
        "sequential rules",
        &input,
        || keyed(RuleSet::from_yaml(SEQUENTIAL, "seq.yaml").unwrap(), KEY),
        &keep_all(),
    );
    let s = r.unwrap();
    for (coll, max) in [("pmInvestigator", 137), ("pmStudy", 1001), ("pmProject", 7)] {
        let n = s.namespaces.iter().find(|n| n.collection == coll).unwrap();
        assert!(n.docs_in > max, "{coll}: the limit must bite");
        assert_eq!(n.docs_out, max, "{coll}");
    }
    mongo_archive::verify::verify(&out).unwrap();
}

#[test]
fn real_archives_same_output_and_errors_with_1_2_4_threads() {
    // Oplog entries (patched on the calling thread), views, timeseries, users, and the archive
    // a run refuses: the same bytes and the same result or error.
    for (name, input) in all_real_archives() {
        let _ = same_for_all_thread_counts(&name, &input, || keyed(syrf_rules(), KEY), &keep_all());
        let _ = same_for_all_thread_counts(
            &name,
            &input,
            || keyed(RuleSet::from_yaml(SEQUENTIAL, "seq.yaml").unwrap(), KEY),
            &RewriteOptions::default(),
        );
    }
}

#[test]
fn truncated_input_fails_alike_with_1_and_4_threads() {
    let input = generated(8, 3);
    for cut in [input.len() / 3, input.len() / 2 + 17, input.len() - 3] {
        let (out, r) = same_for_all_thread_counts(
            "truncated",
            &input[..cut],
            || keyed(syrf_rules(), KEY),
            &RewriteOptions::default(),
        );
        assert!(r.is_err());
        assert!(!out.is_empty());
    }
}

/// Positions just after `\x02<key>\x00` (a string element named `key`) in `input`.
fn string_elements(input: &[u8], key: &str) -> Vec<usize> {
    let mut pattern = vec![2u8];
    pattern.extend_from_slice(key.as_bytes());
    pattern.push(0);
    input
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern.as_slice())
        .map(|(i, _)| i)
        .collect()
}

/// With several threads the reader only frames body documents and workers validate them: a
/// document that is framed right but is not valid BSON inside (an unknown element type, a
/// string length past its document) fails at the same offset, with the same message and after
/// the same output bytes as with one thread, in touched and untouched collections alike.
#[test]
fn invalid_documents_fail_alike_with_1_2_4_threads() {
    let input = generated(11, 3);
    let mut cases = 0;
    for key in ["Email", "UserEmail", "UploadedBy", "Title"] {
        let places = string_elements(&input, key);
        let Some(&at) = places.get(places.len() / 2) else {
            continue;
        };
        // An unknown element type.
        let mut bad_type = input.clone();
        bad_type[at] = 0x7e;
        // A string length that runs past the document.
        let mut bad_len = input.clone();
        let len_at = at + key.len() + 2;
        bad_len[len_at..len_at + 4].copy_from_slice(&0x00ff_ffffi32.to_le_bytes());
        for (what, corrupt) in [("element type", bad_type), ("string length", bad_len)] {
            let (out, r) = same_for_all_thread_counts(
                &format!("{key}: {what}"),
                &corrupt,
                || keyed(syrf_rules(), KEY),
                &RewriteOptions::default(),
            );
            let e = r.expect_err("an invalid document fails the run");
            assert!(e.to_string().contains("a document"), "{key}: {e}");
            assert!(!out.is_empty());
            cases += 1;
        }
    }
    assert!(cases >= 6, "only {cases} corruptions placed");
}

/// Input offset and length of the middle body document of each namespace of `input`.
fn middle_documents(input: &[u8]) -> Vec<(usize, usize)> {
    let mut rd = mongo_archive::ArchiveReader::new(input);
    let mut by_ns: Vec<Vec<(usize, usize)>> = Vec::new();
    loop {
        match rd.next_item().expect("a valid archive") {
            mongo_archive::reader::Item::Document {
                ns, raw, offset, ..
            } => {
                if by_ns.len() <= ns {
                    by_ns.resize(ns + 1, Vec::new());
                }
                by_ns[ns].push((offset as usize, raw.len()));
            }
            mongo_archive::reader::Item::End => break,
            _ => {}
        }
    }
    by_ns
        .iter()
        .filter_map(|docs| docs.get(docs.len() / 2).copied())
        .collect()
}

/// With several threads the reader does not read a body document's last byte (the worker
/// validating the document checks it): a document whose last byte is not 0 fails at its first
/// byte, with the reader's message and after the same output bytes as with one thread, in
/// every namespace (touched, untouched and excluded alike).
#[test]
fn a_document_without_its_final_zero_fails_alike_with_1_2_4_threads() {
    let input = generated(11, 3);
    let docs = middle_documents(&input);
    assert!(
        docs.len() >= 5,
        "only {} namespaces with documents",
        docs.len()
    );
    for (offset, len) in docs {
        let mut corrupt = input.clone();
        corrupt[offset + len - 1] = 1;
        let (out, r) = same_for_all_thread_counts(
            &format!("the document at {offset}"),
            &corrupt,
            || keyed(syrf_rules(), KEY),
            &RewriteOptions::default(),
        );
        let e = r.expect_err("a document without its final 0 fails the run");
        assert_eq!(e.offset, offset as u64, "{e}");
        assert!(
            e.to_string()
                .contains("document does not end with a 0 byte"),
            "{e}"
        );
        assert!(!out.is_empty());
    }
}
