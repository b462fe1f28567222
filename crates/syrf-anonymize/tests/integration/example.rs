//! Runs `examples/embed.rs` on every kind of input the command takes: the shipped archive,
//! plain and gzip, and the MariaDB and PostgreSQL fixture dumps made by the real dump tools.

#[path = "../../examples/embed.rs"]
#[allow(dead_code)]
mod embed;
#[path = "example/typed_errors.rs"]
mod typed_errors;

use std::io::{Read, Write};
use std::path::PathBuf;

const KEY: &[u8] = b"embed-example-key-0123456789";

fn repo_file(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn the_example_anonymizes_an_archive_plain_and_gzip() {
    let rules = String::from_utf8(repo_file("rules/syrf.yaml")).unwrap();
    let archive = repo_file("samples/syrf-sample.archive");
    let mut plain = Vec::new();
    let summary = embed::anonymize_stream(&rules, KEY, &archive[..], &mut plain).unwrap();
    assert_eq!(summary.format, "mongo");
    assert!(!summary.input_gzip && !summary.output_gzip);
    assert!(summary.rules.iter().any(|r| r.values_changed > 0));
    assert_ne!(plain, archive);
    mongo_archive::verify::verify(&plain).expect("a valid archive");

    let mut zipped = Vec::new();
    let summary = embed::anonymize_stream(&rules, KEY, &gzip(&archive)[..], &mut zipped).unwrap();
    assert!(summary.input_gzip && summary.output_gzip);
    assert_eq!(gunzip(&zipped), plain, "same bytes through gzip");
}

#[test]
fn the_example_anonymizes_mysql_and_postgres_dumps() {
    for (file, rules, format, needle) in [
        (
            "tests/fixtures/sql/laravel.mariadb.sql",
            "rules/laravel.yaml",
            "mysql",
            "INSERT INTO `users`",
        ),
        (
            "tests/fixtures/sql/rails.pg.sql",
            "rules/rails.yaml",
            "postgres",
            "COPY public.users",
        ),
    ] {
        let dump = repo_file(file);
        let rules = String::from_utf8(repo_file(rules)).unwrap();
        let mut out = Vec::new();
        let summary = embed::anonymize_stream(&rules, KEY, &dump[..], &mut out).unwrap();
        assert_eq!(summary.format, format, "{file}");
        assert_eq!(summary.unit, "table");
        assert!(
            summary.rules.iter().any(|r| r.values_changed > 0),
            "{file}: {summary:?}"
        );
        assert_ne!(out, dump, "{file}");
        assert!(String::from_utf8_lossy(&out).contains(needle), "{file}");
    }
}
