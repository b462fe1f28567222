//! `threads_crc`: with `--threads`, the CRC-64s of the namespaces whose documents are all
//! written are computed on the workers in parts and joined by the driver; the output, the
//! summary and the errors (a stored CRC that does not match, in kept and in excluded
//! namespaces) are exactly those of one thread, on generated archives with an oplog, on
//! fully-touched documents, on mongodump directories and on every real archive.

use crate::common;

use anonymize_core::RuleSet;
use bson::{doc, Bson, Document};
use common::*;
use mongo_archive::RewriteOptions;

const KEY: &[u8] = b"threads crc test key, long enough 0123";

fn touched_rules() -> RuleSet {
    let path = repo_root().join("benches/rules/touched.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    RuleSet::from_yaml(&text, "touched.yaml").unwrap()
}

/// Where the prelude's terminator is: after the magic, the header and the prelude entries.
fn prelude_end(archive: &[u8]) -> usize {
    let len_at = |at: usize| i32::from_le_bytes(archive[at..at + 4].try_into().unwrap());
    let mut at = 4;
    at += len_at(at) as usize;
    while len_at(at) != -1 {
        at += len_at(at) as usize;
    }
    at
}

/// `archive` with an oplog namespace added: its prelude entry before the prelude's end, its
/// block (and EOF block, with its CRC) after the last block.
fn with_oplog(archive: &[u8], entries: &[Document]) -> Vec<u8> {
    let end = prelude_end(archive);
    let entry = bson::to_vec(
        &doc! {"db": "", "collection": "oplog", "metadata": "", "size": 0, "type": "collection"},
    )
    .unwrap();
    let mut out = archive[..end].to_vec();
    out.extend_from_slice(&entry);
    out.extend_from_slice(&archive[end..]);
    let header = |eof: bool, crc: u64| {
        bson::to_vec(&doc! {"db": "", "collection": "oplog", "EOF": eof, "CRC": crc as i64})
            .unwrap()
    };
    out.extend(header(false, 0));
    let mut crc = mongo_archive::Crc64::new();
    for e in entries {
        let b = bson::to_vec(e).unwrap();
        crc.update(&b);
        out.extend(&b);
    }
    out.extend([0xff; 4]);
    out.extend(header(true, crc.value()));
    out.extend([0xff; 4]);
    out
}

fn op(op: &str, ns: &str, o: Document) -> Document {
    doc! {"ts": bson::Timestamp { time: 1, increment: 1 }, "t": 1i64, "v": 2, "op": op, "ns": ns, "ui": Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] }), "o2": {"_id": 1}, "o": o}
}

/// The byte offsets of the CRC int64 of every EOF namespace header of `archive`.
fn eof_crc_offsets(archive: &[u8]) -> Vec<usize> {
    let pattern = b"\x08EOF\x00\x01\x12CRC\x00";
    archive
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(i, _)| i + pattern.len())
        .collect()
}

/// Positions of the first byte of the value of every string element named `key`.
fn string_values(input: &[u8], key: &str) -> Vec<usize> {
    let mut pattern = vec![2u8];
    pattern.extend_from_slice(key.as_bytes());
    pattern.push(0);
    input
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern.as_slice())
        .map(|(i, _)| i + pattern.len() + 4)
        .collect()
}

#[test]
fn combine_matches_a_direct_crc_over_random_cuts() {
    let data = generated(3, 1);
    let whole = mongo_archive::crc64(&data);
    for parts in [2usize, 3, 17, 250] {
        let mut crc = 0;
        for chunk in data.chunks(data.len().div_ceil(parts)) {
            crc =
                mongo_archive::crc64_combine(crc, mongo_archive::crc64(chunk), chunk.len() as u64);
        }
        assert_eq!(crc, whole, "{parts} parts");
    }
}

#[test]
fn generated_archive_with_oplog_same_output_with_1_2_4_threads() {
    let entries = [
        op(
            "i",
            "syrftest.pmInvestigator",
            doc! {"_id": 1, "Email": "ann@example.org", "FirstName": "Ann", "LastName": "Smith"},
        ),
        op(
            "u",
            "syrftest.pmInvestigator",
            doc! {"$v": 2, "diff": {"u": {"Email": "bob@example.org"}}},
        ),
        op("d", "syrftest.pmStudy", doc! {"_id": 1}),
    ];
    for (what, rules) in [("syrf rules", syrf_rules()), ("touched", touched_rules())] {
        let input = with_oplog(&generated(21, 6), &entries);
        mongo_archive::verify::verify(&input).unwrap();
        let (out, r) =
            same_for_all_thread_counts(what, &input, || keyed(rules.clone(), KEY), &keep_all());
        let s = r.unwrap();
        let oplog = s
            .namespaces
            .iter()
            .find(|n| n.collection == "oplog")
            .unwrap();
        assert_eq!(oplog.docs_in, 3, "{what}");
        assert!(
            oplog.docs_changed >= 2,
            "{what}: the inserts and the update are rewritten"
        );
        let changed: u64 = s.namespaces.iter().map(|n| n.docs_changed).sum();
        assert!(changed > 100, "{what}: {changed} documents changed");
        // The output's CRCs (joined from the workers' parts with threads) are the ones a strict
        // reader computes.
        mongo_archive::verify::verify(&out).unwrap();
        assert!(!contains(&out, b"ann@example.org"), "{what}");
    }
}

#[test]
fn fully_touched_documents_same_output_and_crcs_with_1_2_4_threads() {
    for seed in [31, 32] {
        let input = generated(seed, 8);
        let (out, r) = same_for_all_thread_counts(
            "touched",
            &input,
            || keyed(touched_rules(), KEY),
            &RewriteOptions::default(),
        );
        let s = r.unwrap();
        let inv = s
            .namespaces
            .iter()
            .find(|n| n.collection == "pmInvestigator")
            .unwrap();
        assert_eq!(inv.docs_changed, inv.docs_out);
        assert_ne!(out, input);
        mongo_archive::verify::verify(&out).unwrap();
    }
}

/// Partly touched collections: a rule on the studies' screening decisions changes the
/// studies that have some (about three in four) and leaves the others as read, so a
/// segment's part of `pmStudy` mixes unchanged and patched documents in every order (an
/// unchanged one first, the output CRC starting from the input's). Same output and CRCs as
/// one thread, and a valid archive.
#[test]
fn partly_touched_documents_same_output_and_crcs_with_1_2_4_threads() {
    let rules = "rules:\n  pmStudy:\n    fields:\n      ScreeningInfo.Decisions.Decision: {transform: constant, value: x}\n";
    for seed in [33, 34] {
        let input = generated(seed, 8);
        let (out, r) = same_for_all_thread_counts(
            "partly touched",
            &input,
            || keyed(RuleSet::from_yaml(rules, "partly.yaml").unwrap(), KEY),
            &RewriteOptions::default(),
        );
        let s = r.unwrap();
        let study = s
            .namespaces
            .iter()
            .find(|n| n.collection == "pmStudy")
            .unwrap();
        assert!(
            study.docs_changed > study.docs_out / 2 && study.docs_changed < study.docs_out,
            "{} of {} studies changed",
            study.docs_changed,
            study.docs_out
        );
        mongo_archive::verify::verify(&out).unwrap();
    }
}

#[test]
fn a_wrong_stored_crc_fails_alike_with_1_2_4_threads() {
    let input = generated(22, 3);
    let places = eof_crc_offsets(&input);
    assert!(places.len() >= 5, "{} EOF headers", places.len());
    let mut rules_yaml = String::from("exclusions:\n  - pmAuditLog\n");
    rules_yaml.push_str(
        "rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n  pmStudy:\n    fields:\n      Title: hash\n",
    );
    let rules = RuleSet::from_yaml(&rules_yaml, "crc.yaml").unwrap();
    // Every namespace: touched, untouched, excluded.
    for &at in &places {
        let mut bad = input.clone();
        bad[at] ^= 0x01;
        let (out, r) = same_for_all_thread_counts(
            "stored CRC",
            &bad,
            || keyed(rules.clone(), KEY),
            &RewriteOptions::default(),
        );
        let e = r.expect_err("a wrong CRC fails the run");
        assert!(e.to_string().contains("CRC"), "{e}");
        assert!(!out.is_empty());
        assert!(mongo_archive::verify::verify(&out).is_err());
    }
}

#[test]
fn a_changed_document_byte_fails_the_crc_check_alike_with_1_2_4_threads() {
    let input = generated(23, 3);
    let rules = RuleSet::from_yaml(
        "exclusions:\n  - pmAuditLog\nrules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n",
        "crc.yaml",
    )
    .unwrap();
    let mut cases = 0;
    // A text character changed (valid BSON, wrong CRC) in a touched document, an untouched
    // collection and an excluded one.
    for key in ["Email", "Title", "UserEmail"] {
        let places = string_values(&input, key);
        let Some(&at) = places.get(places.len() / 2) else {
            continue;
        };
        let mut bad = input.clone();
        bad[at] = if bad[at] == b'q' { b'z' } else { b'q' };
        let (_, r) = same_for_all_thread_counts(
            key,
            &bad,
            || keyed(rules.clone(), KEY),
            &RewriteOptions::default(),
        );
        let e = r.expect_err("a changed byte fails the CRC check");
        assert!(e.to_string().contains("CRC"), "{key}: {e}");
        cases += 1;
    }
    assert_eq!(cases, 3);
}

#[test]
fn real_archives_fully_touched_same_output_with_1_2_4_threads() {
    for (name, input) in all_real_archives() {
        let (out, r) =
            same_for_all_thread_counts(&name, &input, || keyed(touched_rules(), KEY), &keep_all());
        if r.is_ok() {
            mongo_archive::verify::verify(&out).unwrap();
        }
    }
}

#[test]
fn dump_directories_use_the_same_driver_with_threads() {
    // A directory is read as the archive stream mongodump would have written and rewritten by
    // the same `rewrite_archive`: the same bytes with 1, 2 and 4 threads.
    let input = generated(24, 3);
    let dir = tempfile::tempdir().unwrap();
    mongo_archive::dir::write_dump_dir(&input[..], dir.path(), false).unwrap();
    let listed = mongo_archive::dir::DumpDir::open(dir.path()).unwrap();
    let mut stream = Vec::new();
    mongo_archive::dir::write_archive(&listed, &mut stream).unwrap();
    let (out, r) = same_for_all_thread_counts(
        "directory",
        &stream,
        || keyed(touched_rules(), KEY),
        &RewriteOptions::default(),
    );
    r.unwrap();
    mongo_archive::verify::verify(&out).unwrap();
}

#[test]
fn documents_larger_than_a_segment_buffer_same_output_with_1_2_4_threads() {
    // The reader's buffers (256 KiB) are handed to the workers whole; a document larger than
    // one is read into a buffer of its own size, between small ones.
    let big = |i: i32, n: usize| doc! {"_id": i, "Email": format!("big{i}@example.org"), "Bio": "x".repeat(n)};
    let small = |i: i32| doc! {"_id": i, "Email": format!("u{i}@example.org"), "Name": "Ann"};
    let mut users: Vec<Document> = (0..3000).map(small).collect();
    users.insert(10, big(100_000, 300 << 10));
    users.insert(2000, big(100_001, 3 << 20));
    users.push(big(100_002, 600 << 10));
    let others: Vec<Document> = (0..500).map(small).collect();
    let input = build_archive(&[
        NsDocs::new("app", "users", &users),
        NsDocs::new("app", "others", &others),
    ]);
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      Email: hash_email\n      Bio: {transform: constant, value: B}\n",
        "big.yaml",
    )
    .unwrap();
    let (out, r) = same_for_all_thread_counts(
        "big documents",
        &input,
        || keyed(rules.clone(), KEY),
        &keep_all(),
    );
    let s = r.unwrap();
    let users = s
        .namespaces
        .iter()
        .find(|n| n.collection == "users")
        .unwrap();
    assert_eq!(users.docs_changed, 3003);
    mongo_archive::verify::verify(&out).unwrap();
    assert!(!contains(&out, b"big100001@example.org"));
    // Truncated inside the largest document: the same error and output with any thread count.
    let cut = input.len() / 2;
    let (_, r) = same_for_all_thread_counts(
        "big, truncated",
        &input[..cut],
        || keyed(rules.clone(), KEY),
        &keep_all(),
    );
    assert!(r.is_err());
}

/// Hands out at most `max` bytes a read, as a slow pipe does.
struct Trickle<'a> {
    data: &'a [u8],
    max: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.max).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_give_the_same_output_with_threads() {
    // Buffers are retired when full, whatever the size of the reads that filled them.
    let input = generated(25, 2);
    let anon = keyed(touched_rules(), KEY);
    let mut serial = Vec::new();
    mongo_archive::rewrite_archive(&input[..], &mut serial, &anon, &RewriteOptions::default())
        .unwrap();
    for (max, threads) in [(7, 2), (4093, 3), (65536, 2)] {
        let anon = keyed(touched_rules(), KEY);
        let mut out = Vec::new();
        let opts = RewriteOptions {
            threads,
            ..RewriteOptions::default()
        };
        mongo_archive::rewrite_archive(Trickle { data: &input, max }, &mut out, &anon, &opts)
            .unwrap();
        assert!(out == serial, "reads of {max} bytes, {threads} threads");
    }
}
