//! An archive stream written out as a mongodump directory, read with the crate's one archive
//! reader (so the output is checked as it is split).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{io_error, names, DirError};
use crate::raw::Elems;
use crate::reader::{ArchiveReader, CollectionKind, Item};

/// What [`write_dump_dir`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirSummary {
    /// Files written (metadata, documents, `prelude.json`, `oplog.bson`).
    pub files: u64,
    /// Documents written.
    pub documents: u64,
}

/// One open documents file.
enum Sink {
    Plain(BufWriter<File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl Sink {
    fn create(path: &Path, gzip: bool) -> Result<Sink, DirError> {
        let file = BufWriter::with_capacity(256 << 10, File::create(path).map_err(io_error(path))?);
        Ok(if gzip {
            Sink::Gzip(Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::default(),
            )))
        } else {
            Sink::Plain(file)
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(bytes),
            Sink::Gzip(w) => w.write_all(bytes),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let mut file = match self {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w.finish()?,
        };
        file.flush()?;
        file.get_ref().sync_all()
    }
}

/// Reads the archive on `input` and writes it into the existing, empty directory `root` in
/// mongodump's layout: `prelude.json`, `<db>/<coll>.metadata.json` per prelude entry,
/// `<db>/<coll>.bson` per body namespace (none for views), `oplog.bson`; every file
/// gzip-compressed (names ending in `.gz`, except `oplog.bson`, as mongodump names it) when
/// `gzip`. The archive is validated as it is read; on an error the caller removes `root`.
pub fn write_dump_dir(input: impl Read, root: &Path, gzip: bool) -> Result<DirSummary, DirError> {
    write_dump_dir_files(input, root, gzip, true)
}

/// [`write_dump_dir`] into a directory other writers share (one collection's archive each,
/// on worker threads): the database directories may exist already, and `prelude.json` is
/// written only when `prelude_json` (by one of them).
pub fn write_dump_dir_files(
    input: impl Read,
    root: &Path,
    gzip: bool,
    prelude_json: bool,
) -> Result<DirSummary, DirError> {
    let mut reader = ArchiveReader::new(input);
    let mut summary = DirSummary::default();
    let mut open: HashMap<usize, (PathBuf, Sink)> = HashMap::new();
    // Per prelude entry: whether it is a view (no documents file).
    let mut views: Vec<bool> = Vec::new();
    let gz = |name: String| if gzip { name + ".gz" } else { name };
    loop {
        match reader.next_item()? {
            Item::Header { .. } if !prelude_json => {}
            Item::Header { raw } => {
                let server = string_field(raw, b"server_version").unwrap_or_default();
                let tool = string_field(raw, b"tool_version").unwrap_or_default();
                let json = serde_json::json!({"ServerVersion": server, "ToolVersion": tool});
                write_small(
                    &root.join(gz("prelude.json".into())),
                    json.to_string().as_bytes(),
                    gzip,
                )?;
                summary.files += 1;
            }
            Item::Prelude {
                index, raw, entry, ..
            } => {
                views.resize(views.len().max(index + 1), false);
                views[index] = entry.kind == CollectionKind::View;
                if entry.is_oplog() {
                    continue;
                }
                let dir = root.join(file_component(root, &entry.db)?);
                fs::create_dir_all(&dir).map_err(io_error(&dir))?;
                let metadata = string_field(raw, b"metadata").unwrap_or_default();
                let path = dir.join(gz(format!(
                    "{}.metadata.json",
                    file_component(root, &entry.collection)?
                )));
                write_small(&path, metadata.as_bytes(), gzip)?;
                summary.files += 1;
            }
            Item::BlockHeader {
                ns,
                eof,
                namespace,
                first,
                ..
            } => {
                let is_view = views.get(namespace.prelude).copied().unwrap_or(false);
                if first && !is_view {
                    let path = if namespace.db.is_empty() && namespace.collection == "oplog" {
                        root.join("oplog.bson")
                    } else {
                        let dir = root.join(file_component(root, &namespace.db)?);
                        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
                        dir.join(gz(format!(
                            "{}.bson",
                            file_component(root, &namespace.collection)?
                        )))
                    };
                    let sink = Sink::create(&path, gzip)?;
                    open.insert(ns, (path, sink));
                }
                if eof {
                    if let Some((path, sink)) = open.remove(&ns) {
                        sink.finish().map_err(io_error(&path))?;
                        summary.files += 1;
                    }
                }
            }
            Item::Document { ns, raw, .. } => {
                let Some((path, sink)) = open.get_mut(&ns) else {
                    return Err(DirError::Layout {
                        path: root.to_owned(),
                        detail: "a view's namespace holds documents".into(),
                    });
                };
                sink.write_all(raw).map_err(io_error(path))?;
                summary.documents += 1;
            }
            Item::PreludeEnd | Item::BlockEnd { .. } => {}
            Item::End => return Ok(summary),
        }
    }
}

/// A database or collection name as a file name component (escaped; no `..` or empty name).
fn file_component(root: &Path, name: &str) -> Result<String, DirError> {
    let escaped = names::escape(name);
    if escaped.is_empty() || escaped == "." || escaped == ".." || escaped.len() > 238 {
        return Err(DirError::Layout {
            path: root.to_owned(),
            detail: format!(
                "a name of {} bytes cannot be a file name here (mongodump shortens names over 238 \
                 escaped bytes with a hash; write an archive instead)",
                name.len()
            ),
        });
    }
    Ok(escaped)
}

/// A string field of a small raw BSON document.
fn string_field(raw: &[u8], name: &[u8]) -> Option<String> {
    Elems::framed(raw, 0, raw.len())
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.name == name)
        .and_then(|e| e.str_bytes(raw))
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

fn write_small(path: &Path, bytes: &[u8], gzip: bool) -> Result<(), DirError> {
    let mut sink = Sink::create(path, gzip)?;
    sink.write_all(bytes).map_err(io_error(path))?;
    sink.finish().map_err(io_error(path))
}
