//! mongodump's directory layout (its default, without `--archive`), in and out.
//!
//! ```text
//! DUMP/prelude.json[.gz]                 {"ServerVersion": …, "ToolVersion": …} (mongodump ≥ 100.12)
//! DUMP/oplog.bson                        with --oplog (gzip-compressed inside with --gzip)
//! DUMP/<db>/<coll>.bson[.gz]             the documents, one after another
//! DUMP/<db>/<coll>.metadata.json[.gz]    the collection's metadata (options, indexes, uuid, type)
//! DUMP/<db>/system.buckets.<ts>.bson     a timeseries collection's buckets (metadata: <ts>.metadata.json)
//! ```
//!
//! Collection names in file names are escaped as Go's `url.QueryEscape` does. A directory is
//! read by turning it into the archive stream mongodump would have written
//! ([`write_archive`]), so the one archive reader, the same policy, oplog handling and
//! validation apply; a rewritten archive is written back as a directory by reading it with the
//! same reader ([`write_dump_dir`]). Whether a file is gzip is told by its first bytes.

mod bson_min;
mod from_archive;
mod names;
mod to_archive;

pub use from_archive::{write_dump_dir, write_dump_dir_files, DirSummary};
pub use to_archive::write_archive;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::ArchiveError;

/// What went wrong with a dump directory. Messages name files, never values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The directory is not laid out as mongodump writes it.
    #[error("{path}: {detail}")]
    Layout {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file's documents are not valid BSON framing.
    #[error("{path}: {detail} at byte {offset}")]
    Bson {
        /// The `.bson` file.
        path: PathBuf,
        /// Offset in the (decompressed) file.
        offset: u64,
        /// What is wrong.
        detail: &'static str,
    },
    /// The archive being written out as a directory is invalid.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DirError + '_ {
    move |source| DirError::Io {
        path: path.to_owned(),
        source,
    }
}

fn layout(path: &Path, detail: impl Into<String>) -> DirError {
    DirError::Layout {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

/// One collection of a dump directory.
#[derive(Debug, Clone)]
pub struct DirCollection {
    /// Database name (the directory's name).
    pub db: String,
    /// Collection name (from the metadata file's name, unescaped).
    pub collection: String,
    /// Its `.metadata.json[.gz]` file.
    pub metadata: PathBuf,
    /// Its documents' file: `<coll>.bson[.gz]`, or `system.buckets.<coll>.bson[.gz]` for a
    /// timeseries collection; `None` for a view (mongodump writes no documents for a view).
    pub documents: Option<PathBuf>,
    /// The collection name its documents' namespace has in an archive (`system.buckets.X`
    /// for timeseries `X`).
    pub body_collection: String,
}

/// A mongodump directory, listed and checked (no document read yet).
#[derive(Debug, Clone)]
pub struct DumpDir {
    /// The directory given.
    pub root: PathBuf,
    /// `prelude.json`'s server and tool versions, when there is one.
    pub versions: Option<(String, String)>,
    /// The collections, by database then collection name.
    pub collections: Vec<DirCollection>,
    /// `oplog.bson`, when there is one.
    pub oplog: Option<PathBuf>,
    /// Whether the dump's files are gzip (mongodump `--gzip`).
    pub gzip: bool,
}

/// True when `path` is a directory that looks like a mongodump output: a `prelude.json`, an
/// `oplog.bson`, or a subdirectory or file with `.bson`/`.metadata.json` names.
pub fn looks_like_dump_dir(path: &Path) -> bool {
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    let dump_file = |name: &str| {
        name.ends_with(".bson")
            || name.ends_with(".bson.gz")
            || name.ends_with(".metadata.json")
            || name.ends_with(".metadata.json.gz")
            || name.starts_with("prelude.json")
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if dump_file(&name) {
            return true;
        }
        if entry.path().is_dir() {
            if let Ok(inner) = fs::read_dir(entry.path()) {
                if inner
                    .flatten()
                    .any(|e| dump_file(&e.file_name().to_string_lossy()))
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Reads a whole small file, gunzipping it when it starts with the gzip magic.
fn read_small(path: &Path) -> Result<Vec<u8>, DirError> {
    let raw = fs::read(path).map_err(io_error(path))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io_error(path))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Whether a file starts with the gzip magic.
fn is_gzip(path: &Path) -> Result<bool, DirError> {
    let mut magic = [0u8; 2];
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut got = 0;
    while got < 2 {
        match file.read(&mut magic[got..]).map_err(io_error(path))? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

/// The metadata's `type` (`"collection"`, `"view"`, `"timeseries"`), `""` when absent.
fn metadata_type(json: &[u8], path: &Path) -> Result<String, DirError> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| layout(path, format!("the metadata is not valid JSON ({e})")))?;
    if !value.is_object() {
        return Err(layout(path, "the metadata is not a JSON object"));
    }
    Ok(value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("")
        .to_owned())
}

impl DumpDir {
    /// Lists and checks a mongodump directory: `root` holds database directories (a whole
    /// dump), or is one database's directory (`mongodump --db X` output's `X/`). Any file
    /// that is not part of mongodump's layout is an error: it could hold data no rule sees.
    pub fn open(root: &Path) -> Result<DumpDir, DirError> {
        let mut dir = DumpDir {
            root: root.to_owned(),
            versions: None,
            collections: Vec::new(),
            oplog: None,
            gzip: false,
        };
        let mut db_dirs = Vec::new();
        let mut loose_files = false;
        for entry in sorted_entries(root)? {
            let name = file_name(&entry)?;
            if entry.is_dir() {
                db_dirs.push((name, entry));
            } else if name == "oplog.bson" {
                dir.gzip |= is_gzip(&entry)?;
                dir.oplog = Some(entry);
            } else if name == "prelude.json" || name == "prelude.json.gz" {
                dir.versions = Some(read_versions(&entry)?);
            } else if is_collection_file(&name) {
                loose_files = true;
            } else {
                return Err(layout(
                    &entry,
                    "not part of a mongodump directory (expected <db>/, oplog.bson or prelude.json)",
                ));
            }
        }
        if loose_files {
            // One database's directory: its name is the database.
            if !db_dirs.is_empty() || dir.oplog.is_some() {
                return Err(layout(
                    root,
                    "holds both collection files and database directories",
                ));
            }
            let db = root
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| layout(root, "cannot tell the database name"))?;
            dir.read_db(&db, root)?;
        } else {
            for (db, path) in db_dirs {
                dir.read_db(&db, &path)?;
            }
        }
        if dir.collections.is_empty() && dir.oplog.is_none() {
            return Err(layout(root, "no collection in this mongodump directory"));
        }
        Ok(dir)
    }

    fn read_db(&mut self, db: &str, path: &Path) -> Result<(), DirError> {
        let mut metadata: Vec<(String, PathBuf)> = Vec::new();
        let mut documents: std::collections::BTreeMap<String, PathBuf> = Default::default();
        for entry in sorted_entries(path)? {
            let name = file_name(&entry)?;
            if entry.is_dir() {
                return Err(layout(&entry, "a directory inside a database directory"));
            }
            if name == "prelude.json" || name == "prelude.json.gz" {
                self.versions = Some(read_versions(&entry)?);
                continue;
            }
            let (stem, is_metadata) = if let Some(s) = name
                .strip_suffix(".metadata.json.gz")
                .or_else(|| name.strip_suffix(".metadata.json"))
            {
                (s, true)
            } else if let Some(s) = name
                .strip_suffix(".bson.gz")
                .or_else(|| name.strip_suffix(".bson"))
            {
                (s, false)
            } else {
                return Err(layout(
                    &entry,
                    "not a .bson or .metadata.json file of a mongodump directory",
                ));
            };
            let collection = names::unescape(stem)
                .ok_or_else(|| layout(&entry, "the file name is not an escaped collection name"))?;
            self.gzip |= is_gzip(&entry)?;
            let previous = if is_metadata {
                let dup = metadata.iter().any(|(c, _)| *c == collection);
                metadata.push((collection, entry.clone()));
                dup
            } else {
                documents.insert(collection, entry.clone()).is_some()
            };
            if previous {
                return Err(layout(
                    &entry,
                    "the collection has both a plain and a gzip file",
                ));
            }
        }
        for (collection, meta_path) in metadata {
            let kind = metadata_type(&read_small(&meta_path)?, &meta_path)?;
            let body_collection = if kind == "timeseries" {
                format!("system.buckets.{collection}")
            } else {
                collection.clone()
            };
            let docs = documents
                .remove(&body_collection)
                .or_else(|| documents.remove(&collection));
            if kind == "view" && docs.is_some() {
                return Err(layout(
                    &meta_path,
                    "a view with a documents file (--viewsAsCollections dumps are not read)",
                ));
            }
            self.collections.push(DirCollection {
                db: db.to_owned(),
                collection,
                metadata: meta_path,
                documents: docs,
                body_collection,
            });
        }
        if let Some((collection, path)) = documents.into_iter().next() {
            return Err(layout(
                &path,
                format!(
                    "documents of `{db}.{collection}` without its .metadata.json: the archive \
                     format needs the collection's metadata"
                ),
            ));
        }
        Ok(())
    }
}

fn is_collection_file(name: &str) -> bool {
    name.ends_with(".bson")
        || name.ends_with(".bson.gz")
        || name.ends_with(".metadata.json")
        || name.ends_with(".metadata.json.gz")
}

fn sorted_entries(path: &Path) -> Result<Vec<PathBuf>, DirError> {
    let mut entries = fs::read_dir(path)
        .map_err(io_error(path))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error(path))?;
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> Result<String, DirError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| layout(path, "the file name is not UTF-8"))
}

fn read_versions(path: &Path) -> Result<(String, String), DirError> {
    let value: serde_json::Value = serde_json::from_slice(&read_small(path)?)
        .map_err(|e| layout(path, format!("not valid JSON ({e})")))?;
    let get = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| layout(path, format!("no string `{key}`")))
    };
    Ok((get("ServerVersion")?, get("ToolVersion")?))
}
