//! pg_dump 16+ archives whose data is LZ4- or Zstandard-compressed (`pg_dump -Z lz4|zstd`).
//! This machine has only PostgreSQL 15, whose pg_dump cannot write them, so the archives are
//! built here: a version 1.15 header and TOC written by this test (the layout of
//! PostgreSQL's `pg_backup_archiver.c`), data blocks of real LZ4 frames (`lz4_flex`) and
//! Zstandard frames (`ruzstd`), as `compress_lz4.c` and `compress_zstd.c` write one frame per
//! block or file. They are read back by the crate's reader and rewritten; a damaged block's
//! error names the table. pg_restore 16+ was not available to check the outputs against.

use std::io::Read;
use std::path::Path;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};
use sql_dump::{
    pg_custom_sql, pg_directory_sql, rewrite_pg_custom, rewrite_pg_directory, PgArchiveOptions,
    PgCompression, SqlOptions,
};

const ROWS: &str = "1\tann@example.com\tfirst\n2\tbob@example.org\tsecond\n\\.\n\n";
const ALGORITHMS: [(u8, PgCompression); 2] = [(2, PgCompression::Lz4), (3, PgCompression::Zstd)];

fn int(out: &mut Vec<u8>, v: i64) {
    out.push(u8::from(v < 0));
    out.extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
}

fn string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => int(out, -1),
        Some(s) => {
            int(out, s.len() as i64);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// A version 1.15 header: 4-byte integers, 8-byte offsets, `format` (1 custom, 5
/// directory), the compression algorithm's byte (0 none, 1 gzip, 2 lz4, 3 zstd).
fn header(format: u8, algorithm: u8) -> Vec<u8> {
    let mut h = b"PGDMP".to_vec();
    h.extend_from_slice(&[1, 15, 0, 4, 8, format, algorithm]);
    for v in [0, 0, 12, 5, 11, 126, 0] {
        int(&mut h, v);
    }
    for s in ["shop", "16.4", "16.4"] {
        string(&mut h, Some(s));
    }
    h
}

/// One TOC entry; `data` is a custom archive's offset state (1 not set, 3 none) or a
/// directory archive's file name.
fn entry(out: &mut Vec<u8>, id: i64, desc: &str, section: i64, defn: &str, copy: &str, data: Data) {
    int(out, id);
    int(out, i64::from(matches!(data, Data::Block | Data::File(_))));
    string(out, Some("0"));
    string(out, Some("0"));
    string(out, Some("users"));
    string(out, Some(desc));
    int(out, section);
    string(out, Some(defn));
    string(out, Some(""));
    string(out, Some(copy));
    string(out, Some(if desc == "ENCODING" { "" } else { "public" }));
    string(out, Some(""));
    string(out, Some(if desc == "TABLE" { "heap" } else { "" }));
    string(out, Some("postgres"));
    string(out, Some("false"));
    if id == 3 {
        string(out, Some("2"));
    }
    string(out, None);
    match data {
        Data::None => out.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 0]),
        Data::Block => out.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]),
        Data::File(name) => string(out, Some(name)),
        Data::NoFile => string(out, None),
    }
}

#[derive(Clone, Copy)]
enum Data {
    None,
    Block,
    File(&'static str),
    NoFile,
}

/// The TOC: encoding, the table, its data (dump id 3).
fn toc(out: &mut Vec<u8>, directory: bool) {
    toc_with(out, directory, false);
}

/// The TOC, with a `BLOBS` entry (dump id 4) when `blobs`.
fn toc_with(out: &mut Vec<u8>, directory: bool, blobs: bool) {
    int(out, if blobs { 4 } else { 3 });
    let none = if directory { Data::NoFile } else { Data::None };
    entry(
        out,
        1,
        "ENCODING",
        2,
        "SET client_encoding = 'UTF8';\n",
        "",
        none,
    );
    entry(
        out,
        2,
        "TABLE",
        2,
        "CREATE TABLE public.users (\n    id integer,\n    email text,\n    note text\n);\n",
        "",
        none,
    );
    let data = if directory {
        Data::File("3.dat")
    } else {
        Data::Block
    };
    entry(
        out,
        3,
        "TABLE DATA",
        3,
        "",
        "COPY public.users (id, email, note) FROM stdin;\n",
        data,
    );
    if blobs {
        entry(out, 4, "BLOBS", 3, "", "", Data::Block);
    }
}

fn compress(algorithm: u8, data: &[u8]) -> Vec<u8> {
    match algorithm {
        2 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
            std::io::Write::write_all(&mut enc, data).unwrap();
            enc.finish().unwrap()
        }
        3 => ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest),
        _ => unreachable!("lz4 or zstd"),
    }
}

/// A custom archive whose one data block is `frame`, cut into chunks of 7 bytes (a frame
/// spans chunks, as pg_dump's writes do).
fn custom(algorithm: u8, frame: &[u8]) -> Vec<u8> {
    let mut a = header(1, algorithm);
    toc(&mut a, false);
    a.push(1);
    int(&mut a, 3);
    for chunk in frame.chunks(7) {
        int(&mut a, chunk.len() as i64);
        a.extend_from_slice(chunk);
    }
    int(&mut a, 0);
    a
}

fn anon() -> Anonymizer {
    let rules = RuleSet::from_yaml(
        "rules:\n  users:\n    fields:\n      email: hash_email\n",
        "rules.yaml",
    )
    .unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"pg24read lz4 zstd test key").unwrap()),
    )
    .unwrap()
}

fn sql_text(mut r: impl Read) -> String {
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn lz4_and_zstd_custom_archives_are_read_and_rewritten() {
    for (algorithm, compression) in ALGORITHMS {
        let archive = custom(algorithm, &compress(algorithm, ROWS.as_bytes()));
        // Read: the rows come out decompressed, as the checks (inspect, scan, verify) see them.
        let text = sql_text(pg_custom_sql(&archive[..]).unwrap());
        assert!(
            text.contains(
                "COPY public.users (id, email, note) FROM stdin;\n1\tann@example.com\tfirst\n"
            ),
            "{text}"
        );
        // Rewritten: the emails are gone; LZ4 stays LZ4, Zstandard becomes gzip (no encoder),
        // and the header says which.
        let mut out = Vec::new();
        let summary = rewrite_pg_custom(
            &archive[..],
            &mut out,
            &anon(),
            &SqlOptions::default(),
            &PgArchiveOptions { data_offsets: true },
        )
        .unwrap();
        assert_eq!(summary.compression, compression);
        let (byte, written) = if compression == PgCompression::Lz4 {
            (2, PgCompression::Lz4)
        } else {
            (1, PgCompression::Gzip)
        };
        assert_eq!(summary.output_compression, written);
        assert_eq!(out[11], byte, "the header's compression byte");
        let back = sql_text(pg_custom_sql(&out[..]).unwrap());
        assert!(
            !back.contains("ann@example.com") && !back.contains("bob@example.org"),
            "{back}"
        );
        assert!(
            back.contains("\tfirst\n") && back.contains("\tsecond\n"),
            "{back}"
        );
        assert_eq!(back.matches("\n\\.\n").count(), 1, "{back}");
    }
}

#[test]
fn a_damaged_lz4_or_zstd_block_names_the_table() {
    for (algorithm, _) in ALGORITHMS {
        let frame = compress(algorithm, ROWS.as_bytes());
        // Cut short: an LZ4 frame without its end mark decodes like a complete one (pg_dump
        // writes no checksum), so the missing `\.` line is what tells.
        let archive = custom(algorithm, &frame[..frame.len() - 9]);
        let err = pg_custom_sql(&archive[..])
            .map(|r| {
                let mut s = Vec::new();
                let mut r = r;
                r.read_to_end(&mut s).map(|_| s)
            })
            .unwrap();
        let err = err.expect_err("a damaged block is an error").to_string();
        assert!(err.contains("TABLE DATA public.users (dump id 3)"), "{err}");
        assert!(!err.contains("example"), "{err}");
        let mut out = Vec::new();
        let err = rewrite_pg_custom(
            &archive[..],
            &mut out,
            &anon(),
            &SqlOptions::default(),
            &PgArchiveOptions::default(),
        )
        .expect_err("a damaged block fails the rewrite")
        .to_string();
        assert!(err.contains("TABLE DATA public.users (dump id 3)"), "{err}");
        assert!(!err.contains("example"), "{err}");
    }
}

#[test]
fn a_flipped_byte_in_an_lz4_output_is_caught_by_its_checksum() {
    let archive = custom(2, &compress(2, ROWS.as_bytes()));
    let mut out = Vec::new();
    rewrite_pg_custom(
        &archive[..],
        &mut out,
        &anon(),
        &SqlOptions::default(),
        &PgArchiveOptions::default(),
    )
    .unwrap();
    // The row of the second user, kept in the clear (small LZ4 blocks are stored).
    let at = out
        .windows(6)
        .position(|w| w == b"second")
        .expect("the note in the output");
    out[at] ^= 0x01;
    let mut s = Vec::new();
    let err = pg_custom_sql(&out[..])
        .unwrap()
        .read_to_end(&mut s)
        .expect_err("the checksum fails")
        .to_string();
    assert!(err.contains("TABLE DATA public.users (dump id 3)"), "{err}");
}

#[test]
fn an_unknown_compression_algorithm_is_refused() {
    let archive = custom(9, b"");
    let err = pg_custom_sql(&archive[..])
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("unknown compression algorithm 9"), "{err}");
}

fn directory(dir: &Path, algorithm: u8) {
    std::fs::create_dir(dir).unwrap();
    let mut t = header(5, algorithm);
    toc(&mut t, true);
    std::fs::write(dir.join("toc.dat"), t).unwrap();
    let suffix = if algorithm == 2 { "lz4" } else { "zst" };
    std::fs::write(
        dir.join(format!("3.dat.{suffix}")),
        compress(algorithm, ROWS.as_bytes()),
    )
    .unwrap();
}

#[test]
fn lz4_and_zstd_directory_archives_are_read_and_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    for (algorithm, compression) in ALGORITHMS {
        let input = tmp.path().join(format!("in{algorithm}"));
        let output = tmp.path().join(format!("out{algorithm}"));
        directory(&input, algorithm);
        let text = sql_text(pg_directory_sql(&input).unwrap());
        assert!(text.contains("1\tann@example.com\tfirst\n"), "{text}");
        let summary =
            rewrite_pg_directory(&input, &output, &anon(), &SqlOptions::default()).unwrap();
        assert_eq!(summary.compression, compression);
        let (file, byte) = if compression == PgCompression::Lz4 {
            ("3.dat.lz4", 2)
        } else {
            ("3.dat.gz", 1)
        };
        assert!(output.join(file).exists(), "{file}");
        assert_eq!(std::fs::read(output.join("toc.dat")).unwrap()[11], byte);
        let back = sql_text(pg_directory_sql(&output).unwrap());
        assert!(
            !back.contains("ann@example.com") && back.contains("\tfirst\n"),
            "{back}"
        );

        // A damaged data file: the error names the table.
        let damaged = tmp.path().join(format!("bad{algorithm}"));
        directory(&damaged, algorithm);
        let suffix = if algorithm == 2 { "lz4" } else { "zst" };
        let path = damaged.join(format!("3.dat.{suffix}"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 9]).unwrap();
        let mut s = Vec::new();
        let err = pg_directory_sql(&damaged)
            .unwrap()
            .read_to_end(&mut s)
            .expect_err("damaged")
            .to_string();
        assert!(err.contains("TABLE DATA public.users (dump id 3)"), "{err}");
    }
}

#[test]
fn every_corruption_and_truncation_of_lz4_and_zstd_archives_ends_in_a_result() {
    let anon = anon();
    for (algorithm, _) in ALGORITHMS {
        let archive = custom(algorithm, &compress(algorithm, ROWS.as_bytes()));
        let mut cases: Vec<Vec<u8>> = (0..archive.len()).map(|n| archive[..n].to_vec()).collect();
        for at in 0..archive.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut a = archive.clone();
                a[at] ^= flip;
                cases.push(a);
            }
        }
        for case in cases {
            // Read as the checks read it, and rewritten: an error or a result, never a panic.
            if let Ok(mut r) = pg_custom_sql(&case[..]) {
                let _ = r.read_to_end(&mut Vec::new());
            }
            let _ = rewrite_pg_custom(
                &case[..],
                &mut Vec::new(),
                &anon,
                &SqlOptions::default(),
                &PgArchiveOptions::default(),
            );
        }
    }
}

#[test]
fn kept_large_objects_of_a_zstd_archive_are_refused() {
    let frame = compress(3, ROWS.as_bytes());
    let mut a = header(1, 3);
    toc_with(&mut a, false, true);
    a.push(1);
    int(&mut a, 3);
    int(&mut a, frame.len() as i64);
    a.extend_from_slice(&frame);
    int(&mut a, 0);
    // A block of large objects: one object (oid 16400) of one chunk, then oid 0.
    a.push(3);
    int(&mut a, 4);
    int(&mut a, 16400);
    let data = compress(3, b"large object bytes");
    int(&mut a, data.len() as i64);
    a.extend_from_slice(&data);
    int(&mut a, 0);
    int(&mut a, 0);
    let err = rewrite_pg_custom(
        &a[..],
        &mut Vec::new(),
        &anon(),
        &SqlOptions::default(),
        &PgArchiveOptions::default(),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("BLOBS") && err.contains("large objects of a Zstandard"),
        "{err}"
    );
    // With `large_objects: drop` the archive is rewritten (as gzip).
    let rules = RuleSet::from_yaml(
        "large_objects: drop\nrules:\n  users:\n    fields:\n      email: hash_email\n",
        "rules.yaml",
    )
    .unwrap();
    let drop = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    let mut out = Vec::new();
    rewrite_pg_custom(
        &a[..],
        &mut out,
        &drop,
        &SqlOptions::default(),
        &PgArchiveOptions::default(),
    )
    .unwrap();
    assert_eq!(out[11], 1);
}
