//! Truncated and corrupt inputs: always an error with offset (and namespace where there is
//! one), never a panic, never an output that is a complete archive.

use crate::common;

use common::*;
use mongo_archive::{verify, ErrorKind, RewriteOptions};
use proptest::prelude::*;

fn sample() -> Vec<u8> {
    std::fs::read(repo_root().join("samples/syrf-sample.archive")).unwrap()
}

fn anon() -> &'static anonymize_core::Anonymizer {
    static ANON: std::sync::OnceLock<anonymize_core::Anonymizer> = std::sync::OnceLock::new();
    ANON.get_or_init(|| rules("rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n"))
}

fn assert_truncation_fails(name: &str, bytes: &[u8], cut: usize, opts: &RewriteOptions) {
    let (out, r) = run(&bytes[..cut], anon(), opts);
    let err = match r {
        Err(e) => e,
        Ok(_) => panic!("{name}: truncation at {cut} of {} accepted", bytes.len()),
    };
    assert!(
        err.offset <= cut as u64,
        "{name}@{cut}: offset {} past the end",
        err.offset
    );
    assert!(
        verify::verify(&out).is_err(),
        "{name}@{cut}: output is a complete archive"
    );
    assert!(
        !out.ends_with(&[0xff; 4]) || out.len() <= 4,
        "{name}@{cut}: output ends with a terminator"
    );
}

#[test]
fn truncation_at_every_offset_of_small_real_archives() {
    for (name, bytes) in real_archives() {
        // Every offset of the small ones; for the 39 KB ones every 101st offset, plus every
        // offset of the header and prelude region and of the last blocks.
        let step = if bytes.len() < 5000 { 1 } else { 101 };
        for cut in (0..bytes.len()).step_by(step) {
            assert_truncation_fails(&name, &bytes, cut, &keep_all());
        }
        for cut in (0..bytes.len().min(512)).chain(bytes.len().saturating_sub(256)..bytes.len()) {
            assert_truncation_fails(&name, &bytes, cut, &keep_all());
        }
    }
}

#[test]
fn truncation_of_generated_archive_with_rules() {
    let bytes = sample();
    for cut in (0..bytes.len())
        .step_by(997)
        .chain(bytes.len() - 40..bytes.len())
    {
        assert_truncation_fails("sample", &bytes, cut, &RewriteOptions::default());
    }
}

#[test]
fn truncation_inside_a_namespace_names_it() {
    let bytes = sample();
    let (out, r) = run(&bytes[..bytes.len() / 2], &empty(), &keep_all());
    let err = r.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Truncated { .. }), "{err}");
    let ns = err.namespace.clone().expect("a namespace");
    assert!(ns.starts_with("syrftest."), "{ns}");
    assert!(err.to_string().contains(&ns));
    assert!(verify::verify(&out).is_err());
}

/// Offsets of every EOF namespace header's CRC in a valid archive.
fn eof_crc_offsets(bytes: &[u8]) -> Vec<(usize, String)> {
    let v = verify::verify(bytes).unwrap();
    let mut out = Vec::new();
    for ns in &v.namespaces {
        let h = bson::to_vec(&bson::doc! {"db": &ns.db, "collection": &ns.collection, "EOF": true, "CRC": ns.crc as i64}).unwrap();
        let at = memchr::memmem::find(bytes, &h).expect("EOF header present");
        out.push((at + h.len() - 9, ns.name()));
    }
    out
}

#[test]
fn flipped_crc_is_an_error_naming_the_namespace() {
    for (name, bytes) in real_archives()
        .into_iter()
        .chain([("sample".to_owned(), sample())])
    {
        for (at, ns) in eof_crc_offsets(&bytes) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x01;
            let (out, r) = run(&bad, &empty(), &keep_all());
            let err = r.unwrap_err();
            assert!(
                matches!(err.kind, ErrorKind::CrcMismatch { .. }),
                "{name}: {err}"
            );
            assert_eq!(err.namespace.as_deref(), Some(ns.as_str()), "{name}");
            assert!(verify::verify(&out).is_err());
        }
    }
}

#[test]
fn a_changed_document_byte_is_caught_by_the_crc() {
    let bytes = sample();
    let v = verify::verify_keep_documents(&bytes).unwrap();
    let doc = &v.namespace("syrftest.pmStudy").unwrap().documents[3];
    let at = memchr::memmem::find(&bytes, doc).unwrap() + doc.len() / 2;
    let mut bad = bytes.clone();
    bad[at] ^= 0x20;
    let (_, r) = run(&bad, &empty(), &keep_all());
    let err = r.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::CrcMismatch { .. }), "{err}");
    assert_eq!(err.namespace.as_deref(), Some("syrftest.pmStudy"));
}

#[test]
fn lying_lengths_are_errors() {
    let bytes = sample();
    let v = verify::verify_keep_documents(&bytes).unwrap();
    let doc = &v.namespace("syrftest.pmInvestigator").unwrap().documents[0];
    let at = memchr::memmem::find(&bytes, doc).unwrap();
    for lie in [
        doc.len() as i32 + 1,
        doc.len() as i32 - 1,
        doc.len() as i32 + 1000,
        4,
        0,
        -2,
        17 * 1024 * 1024,
    ] {
        let mut bad = bytes.clone();
        bad[at..at + 4].copy_from_slice(&lie.to_le_bytes());
        let (out, r) = run(&bad, &empty(), &keep_all());
        let err = r.unwrap_err();
        assert!(err.offset > 0);
        assert!(verify::verify(&out).is_err(), "lie {lie}");
        let _ = err.to_string();
    }
}

#[test]
fn structural_errors_mongorestore_rejects() {
    let Some(bytes) = real_archive("mongo-tools_test.bar.archive") else {
        return;
    };
    let anon = empty();
    // Trailing bytes after the last terminator.
    let mut t = bytes.clone();
    t.extend_from_slice(&[0xff; 4]);
    assert!(matches!(
        run(&t, &anon, &keep_all()).1.unwrap_err().kind,
        ErrorKind::DoubleTerminator
    ));
    let mut t = bytes.clone();
    t.push(0);
    assert!(run(&t, &anon, &keep_all()).1.is_err());
    // A second copy of the body after the first: header after EOF.
    let v = verify::verify(&bytes).unwrap();
    assert_eq!(v.namespaces.len(), 2);
    let body_start = memchr::memmem::find(
        &bytes,
        &bson::to_vec(
            &bson::doc! {"db": "admin", "collection": "system.version", "EOF": false, "CRC": 0i64},
        )
        .unwrap(),
    )
    .unwrap();
    let mut t = bytes.clone();
    t.extend_from_slice(&bytes[body_start..]);
    assert!(matches!(
        run(&t, &anon, &keep_all()).1.unwrap_err().kind,
        ErrorKind::HeaderAfterEof
    ));
    // Bad magic.
    let mut t = bytes.clone();
    t[0] = 0;
    assert!(matches!(
        run(&t, &anon, &keep_all()).1.unwrap_err().kind,
        ErrorKind::BadMagic
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn random_bit_flips_never_panic(flips in proptest::collection::vec((0usize..1_000_000, 0u8..8), 1..4), cut in proptest::option::of(0usize..1_000_000)) {
        let all = real_archives();
        if all.is_empty() {
            return Ok(());
        }
        let (_, bytes) = &all[flips[0].0 % all.len()];
        let mut bad = bytes.clone();
        for (at, bit) in &flips {
            let i = at % bad.len();
            bad[i] ^= 1 << bit;
        }
        if let Some(c) = cut { bad.truncate(c % (bad.len() + 1)); }
        let anon = rules("rules:\n  foo:\n    fields:\n      a: null\n  bar:\n    fields:\n      a: {transform: hash}\n");
        let (out, r) = run(&bad, &anon, &keep_all());
        if r.is_err() {
            prop_assert!(verify::verify(&out).is_err());
        }
    }

    #[test]
    fn random_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut input = vec![0x6d, 0xe2, 0x99, 0x81];
        input.extend_from_slice(&data);
        let (_, r) = run(&input, &empty(), &keep_all());
        let _ = r;
        let _ = run(&data, &empty(), &keep_all());
    }
}
