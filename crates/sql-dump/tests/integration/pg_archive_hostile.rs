//! pg_dump custom archives (two tiny ones made by the real `pg_dump -Fc`, with and without
//! compression, kept in `support/`) rewritten without a server: the covered values are gone,
//! the excluded table's entries dropped; and every single-byte corruption and every truncation
//! of them ends in a result (an error naming what is damaged, or a rewrite), never a panic.

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{rewrite_pg_custom, PgArchiveOptions, SqlOptions};

const Z0: &[u8] = include_bytes!("support/pg_tiny_z0.dump");
const GZIP: &[u8] = include_bytes!("support/pg_tiny_gzip.dump");

fn anon() -> Anonymizer {
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: hash_email\nexclusions:\n  - audit\n",
        "rules.yaml",
    )
    .expect("rules");
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"hostile archive test key").expect("key")),
    )
    .expect("anonymizer")
}

fn rewrite(archive: &[u8], anon: &Anonymizer) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    rewrite_pg_custom(
        archive,
        &mut out,
        anon,
        &SqlOptions::default(),
        &PgArchiveOptions { data_offsets: true },
    )
    .map(|_| out)
    .map_err(|e| e.to_string())
}

#[test]
fn tiny_archives_are_rewritten() {
    let anon = anon();
    for archive in [Z0, GZIP] {
        let out = rewrite(archive, &anon).expect("rewritten");
        assert!(out.starts_with(b"PGDMP"));
        // The uncompressed one shows its rows in the clear: the emails are gone.
        if archive == Z0 {
            assert!(Z0.windows(15).any(|w| w == b"ann@example.com"));
            assert!(!out.windows(15).any(|w| w == b"ann@example.com"));
            assert!(!out.windows(15).any(|w| w == b"bob@example.org"));
            assert!(
                !out.windows(9).any(|w| w == b"audit_who"),
                "the excluded table's index"
            );
        }
        // The output is itself a valid archive: rewriting it again with no rules keeps its
        // rows (the first user's row, pseudonym included, is found again).
        let none = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).expect("anonymizer");
        let again = rewrite(&out, &none).expect("the output reads as an archive");
        if archive == Z0 {
            let end = find(&out, b"\ta\n").expect("the first user's row") + 3;
            let start = out[..end - 3].iter().rposition(|&b| b == 0).expect("chunk") + 1;
            let row = &out[start..end];
            assert!(
                row.starts_with(b"1\t") && row.ends_with(b"\ta\n"),
                "{row:?}"
            );
            assert!(find(&again, row).is_some());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn corrupted_and_truncated_archives_never_panic() {
    let anon = anon();
    for archive in [Z0, GZIP] {
        for cut in 0..archive.len() {
            if let Err(e) = rewrite(&archive[..cut], &anon) {
                assert!(!e.contains("ann@example"), "{e}");
            }
        }
        let mut bad = archive.to_vec();
        for i in 0..bad.len() {
            for flip in [0xff, 0x01, 0x80] {
                bad[i] ^= flip;
                if let Err(e) = rewrite(&bad, &anon) {
                    assert!(!e.contains("ann@example"), "{e}");
                }
                bad[i] ^= flip;
            }
        }
    }
}

/// A tiny real `pg_dump -Ft` archive (`support/pg_tiny.tar`).
const TAR: &[u8] = include_bytes!("support/pg_tiny.tar");

fn rewrite_tar(archive: &[u8], anon: &Anonymizer) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    sql_dump::rewrite_pg_tar(archive, &mut out, anon, &SqlOptions::default())
        .map(|_| out)
        .map_err(|e| e.to_string())
}

#[test]
fn tiny_tar_archive_is_rewritten_and_hostile_names_are_refused() {
    let anon = anon();
    assert!(find(TAR, b"ann@example.com").is_some());
    let out = rewrite_tar(TAR, &anon).expect("rewritten");
    assert!(out.starts_with(b"toc.dat\0"));
    assert!(find(&out, b"ann@example.com").is_none());
    assert!(find(&out, b"bob@example.org").is_none());
    assert!(
        find(&out, b"restore.sql").is_none(),
        "the original's script is left out"
    );
    assert!(
        find(&out, b"audit_who").is_none(),
        "the excluded table's index"
    );
    // A data file name in toc.dat that leaves the directory is refused.
    let toc_end = find(TAR, b"restore.sql").expect("member");
    let at = find(&TAR[..toc_end], b"3345.dat").expect("a data file name in toc.dat");
    let mut evil = TAR.to_vec();
    evil[at..at + 8].copy_from_slice(b"../a.dat");
    let e = rewrite_tar(&evil, &anon).expect_err("refused");
    assert!(e.contains("not a plain file name"), "{e}");
    // A member name that leaves the directory is refused (its header checksum fixed).
    let mut evil = TAR.to_vec();
    let member = (0..evil.len())
        .step_by(512)
        .find(|&i| evil[i..].starts_with(b"3346.dat\0"))
        .expect("member header");
    evil[member..member + 8].copy_from_slice(b"../b.dat");
    let sum: u32 = evil[member..member + 512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    evil[member + 148..member + 156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let e = rewrite_tar(&evil, &anon).expect_err("refused");
    assert!(e.contains("not a plain file name"), "{e}");
}

#[test]
fn corrupted_and_truncated_tar_archives_never_panic() {
    let anon = anon();
    for cut in (0..TAR.len()).step_by(7) {
        let _ = rewrite_tar(&TAR[..cut], &anon);
    }
    let mut bad = TAR.to_vec();
    for i in 0..bad.len() {
        if (bad[i] == 0 && i % 61 != 0) || i % 3 != 0 {
            continue;
        }
        bad[i] ^= 0xff;
        if let Err(e) = rewrite_tar(&bad, &anon) {
            assert!(!e.contains("ann@example"), "{e}");
        }
        bad[i] ^= 0xff;
    }
}
