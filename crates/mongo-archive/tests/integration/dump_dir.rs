//! mongodump's directory layout: archives written out as directories and read back, checked
//! with the independent verifier, on generated archives and the real ones; layout errors.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use mongo_archive::dir::{looks_like_dump_dir, write_archive, write_dump_dir, DirError, DumpDir};
use mongo_archive::verify;

/// Per body namespace (`db.collection`): its documents; per prelude entry: its metadata.
type Contents = (BTreeMap<String, Vec<Vec<u8>>>, BTreeMap<String, String>);

fn contents(archive: &[u8]) -> Contents {
    let v = verify::verify_keep_documents(archive).expect("a valid archive");
    let docs = v
        .namespaces
        .iter()
        .map(|n| (n.name(), n.documents.clone()))
        .collect();
    let meta = v
        .prelude
        .iter()
        .map(|p| (format!("{}.{}", p.db, p.collection), p.metadata.clone()))
        .collect();
    (docs, meta)
}

/// archive → directory → archive.
fn round_trip(archive: &[u8], gzip: bool) -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dump");
    std::fs::create_dir(&root).unwrap();
    write_dump_dir(archive, &root, gzip).unwrap();
    assert!(looks_like_dump_dir(&root));
    let listed = DumpDir::open(&root).unwrap();
    assert_eq!(listed.gzip, gzip);
    let mut back = Vec::new();
    write_archive(&listed, &mut back).unwrap();
    (dir, back)
}

#[test]
fn generated_archives_survive_a_directory_round_trip_plain_and_gzip() {
    let archive = mongo_archive::synth::generate_vec(&mongo_archive::synth::sample_config());
    for gzip in [false, true] {
        let (dir, back) = round_trip(&archive, gzip);
        assert_eq!(contents(&back), contents(&archive), "gzip {gzip}");
        let any = |suffix: &str| {
            walk(dir.path())
                .iter()
                .any(|p| p.to_string_lossy().ends_with(suffix))
        };
        assert_eq!(any(".bson.gz"), gzip);
        assert_eq!(any(".metadata.json.gz"), gzip);
        assert!(any(if gzip {
            "prelude.json.gz"
        } else {
            "prelude.json"
        }));
    }
}

#[test]
fn real_archives_survive_a_directory_round_trip() {
    for (name, archive) in real_archives() {
        let (dir, back) = round_trip(&archive, false);
        assert_eq!(contents(&back), contents(&archive), "{name}");
        let v = verify::verify(&archive).unwrap();
        if v.namespace(".oplog").is_some() {
            assert!(dir.path().join("dump/oplog.bson").is_file(), "{name}");
        }
        for p in v.prelude.iter().filter(|p| p.kind == "view") {
            let view = dir
                .path()
                .join("dump")
                .join(&p.db)
                .join(format!("{}.bson", p.collection));
            assert!(!view.exists(), "{name}: a view gets no documents file");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn small_dump() -> tempfile::TempDir {
    let archive = mongo_archive::synth::generate_vec(&mongo_archive::synth::sample_config());
    let dir = tempfile::tempdir().unwrap();
    write_dump_dir(&archive[..], dir.path(), false).unwrap();
    dir
}

#[test]
fn files_outside_the_layout_are_refused_with_their_name() {
    let dir = small_dump();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let e = DumpDir::open(dir.path()).unwrap_err();
    assert!(matches!(e, DirError::Layout { .. }), "{e}");
    assert!(e.to_string().contains("notes.txt"), "{e}");

    let dir = small_dump();
    let db = walk(dir.path())
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".metadata.json"))
        .unwrap();
    std::fs::remove_file(&db).unwrap();
    let e = DumpDir::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("without its .metadata.json"), "{e}");
}

#[test]
fn a_truncated_documents_file_names_the_file_and_offset() {
    let dir = small_dump();
    let bson = walk(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".bson"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let bytes = std::fs::read(&bson).unwrap();
    std::fs::write(&bson, &bytes[..bytes.len() - 3]).unwrap();
    let listed = DumpDir::open(dir.path()).unwrap();
    let e = write_archive(&listed, &mut Vec::new()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, DirError::Bson { .. }), "{text}");
    assert!(
        text.contains(&*bson.file_name().unwrap().to_string_lossy()) && text.contains("at byte"),
        "{text}"
    );
}

#[test]
fn collection_names_are_escaped_as_mongodump_escapes_them() {
    use bson::doc;
    let archive = build_archive(&[NsDocs::new("app", "$admin.system.users", &[doc! {"a": 1}])]);
    let dir = tempfile::tempdir().unwrap();
    write_dump_dir(&archive[..], dir.path(), false).unwrap();
    assert!(dir.path().join("app/%24admin.system.users.bson").is_file());
    let listed = DumpDir::open(dir.path()).unwrap();
    assert_eq!(listed.collections[0].collection, "$admin.system.users");
}
