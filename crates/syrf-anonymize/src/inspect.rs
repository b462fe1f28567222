//! A JSON manifest of a dump (any of the three formats, gzip or not): what
//! `syrf-anonymize inspect DUMP` prints, for the `manifest.json` that a snapshot pipeline
//! writes beside `dump.gz`.
//!
//! The archive part reads with mongo-archive's validating reader (so a manifest is only
//! produced for an archive mongorestore would accept) and walks every document's fields with
//! the `bson` crate; the SQL part reads the dump with sql-dump (row counts) and the DDL lines
//! (columns and types). Values from the data appear only with [`InspectOptions::sample`];
//! field names that came from the data (a sub-document keyed by e-mail addresses, ids,
//! dates) never do: they are grouped as `<key>` with a `distinct_keys` count.
//!
//! ```no_run
//! let dump = std::fs::File::open("dump.gz")?;
//! let manifest = syrf_anonymize::inspect::manifest(dump, &Default::default())?;
//! println!("{}", serde_json::to_string_pretty(&manifest)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::SystemTime;

use bson::raw::{RawBsonRef, RawDocument};
use mongo_archive::reader::{ArchiveReader, Item};
use mongo_archive::CollectionKind;
use serde_json::{json, Map, Value};

use crate::error::exit;
use crate::formats::Format;
use crate::input::CountingReader;
use crate::open::open;

/// The version of the manifest's layout (bumped when a field changes meaning).
pub const MANIFEST_VERSION: u32 = 1;
/// Distinct field paths recorded per collection; beyond it `fields_truncated` is set.
const MAX_PATHS: usize = 10_000;
/// Characters kept of one sampled value.
const MAX_SAMPLE_CHARS: usize = 200;

/// How to inspect; `InspectOptions::default()` detects the format and samples nothing.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// Forces the input format instead of detecting it from the first bytes.
    pub format: Option<Format>,
    /// Also record the first `sample` values of every field or column. 0 (the default): the
    /// manifest holds names, types and counts only, never a value from the data.
    pub sample: usize,
    /// The input file's modification time, recorded as `input_modified` (`null` when `None`).
    pub input_modified: Option<SystemTime>,
}

/// Why inspecting failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The input could not be read or is not a valid dump.
    #[error("{0}")]
    BadInput(String),
    /// The manifest could not be written.
    #[error("{0}")]
    Output(String),
    /// The input could not be opened (as a run: exit 2).
    #[error("{0}")]
    Usage(String),
}

impl From<crate::open::OpenError> for InspectError {
    fn from(e: crate::open::OpenError) -> Self {
        if e.is_bad_input() {
            InspectError::BadInput(e.to_string())
        } else {
            InspectError::Output(e.to_string())
        }
    }
}

impl InspectError {
    /// The process exit code for this error, as for a run: 3 bad input, 1 output, 2 usage.
    pub fn exit_code(&self) -> i32 {
        match self {
            InspectError::BadInput(_) => exit::BAD_INPUT,
            InspectError::Output(_) => exit::FAILURE,
            InspectError::Usage(_) => exit::USAGE,
        }
    }
}

/// Counts of one field path.
#[derive(Debug, Default)]
pub struct FieldStats {
    /// Occurrences per BSON type alias (`string`, `int`, `objectId`...).
    pub types: BTreeMap<&'static str, u64>,
    /// Up to `--sample` values, as relaxed extended JSON.
    pub samples: Vec<Value>,
}

/// The field inventory of one collection.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Path (dotted, array elements at the array's path) to its counts. A field name that
    /// came from the data (a sub-document keyed by e-mail addresses, ids, dates...) is never
    /// recorded: it is written `<key>` (see [`Inventory::data_keys`]).
    pub fields: BTreeMap<String, FieldStats>,
    /// True when more than 10,000 distinct paths (the limit per collection) were seen.
    pub truncated: bool,
    /// Per path ending in `<key>`: the number of distinct names from the data grouped there
    /// (counted up to 100,000).
    pub data_keys: BTreeMap<String, usize>,
    /// Fingerprints of those names (random per process; never printed).
    key_prints: BTreeMap<String, HashSet<u64>>,
    hasher: RandomState,
    sample: usize,
}

/// Distinct names from the data counted per path.
const MAX_DATA_KEYS: usize = 100_000;

/// The `$type` alias of a BSON element.
pub fn type_alias(v: &RawBsonRef<'_>) -> &'static str {
    match v {
        RawBsonRef::Double(_) => "double",
        RawBsonRef::String(_) => "string",
        RawBsonRef::Document(_) => "object",
        RawBsonRef::Array(_) => "array",
        RawBsonRef::Binary(_) => "binData",
        RawBsonRef::Undefined => "undefined",
        RawBsonRef::ObjectId(_) => "objectId",
        RawBsonRef::Boolean(_) => "bool",
        RawBsonRef::DateTime(_) => "date",
        RawBsonRef::Null => "null",
        RawBsonRef::RegularExpression(_) => "regex",
        RawBsonRef::DbPointer(_) => "dbPointer",
        RawBsonRef::JavaScriptCode(_) => "javascript",
        RawBsonRef::Symbol(_) => "symbol",
        RawBsonRef::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        RawBsonRef::Int32(_) => "int",
        RawBsonRef::Timestamp(_) => "timestamp",
        RawBsonRef::Int64(_) => "long",
        RawBsonRef::Decimal128(_) => "decimal",
        RawBsonRef::MinKey => "minKey",
        RawBsonRef::MaxKey => "maxKey",
    }
}

impl Inventory {
    /// An empty inventory keeping up to `sample` values per path.
    pub fn new(sample: usize) -> Inventory {
        Inventory {
            sample,
            ..Inventory::default()
        }
    }

    /// Adds one document's fields; an error names what is malformed (never a value).
    pub fn add_document(&mut self, doc: &RawDocument) -> Result<(), String> {
        self.walk_doc(doc, "", 0)
    }

    fn walk_doc(&mut self, doc: &RawDocument, prefix: &str, depth: usize) -> Result<(), String> {
        for elem in doc {
            let (key, value) = elem.map_err(|e| format!("malformed BSON: {e}"))?;
            let step = crate::data_keys::shown(key);
            let path = if prefix.is_empty() {
                step.to_owned()
            } else {
                format!("{prefix}.{step}")
            };
            if step != key {
                self.count_data_key(&path, key);
            }
            self.record(&path, value, depth)?;
        }
        Ok(())
    }

    /// Counts the distinct name `key` from the data grouped under `path`.
    fn count_data_key(&mut self, path: &str, key: &str) {
        let print = self.hasher.hash_one(key);
        if !self.key_prints.contains_key(path) && self.key_prints.len() >= MAX_PATHS {
            return;
        }
        let prints = self.key_prints.entry(path.to_owned()).or_default();
        if prints.len() < MAX_DATA_KEYS && prints.insert(print) {
            self.data_keys.insert(path.to_owned(), prints.len());
        }
    }

    fn record(&mut self, path: &str, value: RawBsonRef<'_>, depth: usize) -> Result<(), String> {
        if depth > 200 {
            return Err("documents nested deeper than 200 levels".to_owned());
        }
        let sample = self.sample;
        let limit_reached = self.fields.len() >= MAX_PATHS;
        let stats = match self.fields.get_mut(path) {
            Some(s) => Some(s),
            None if limit_reached => {
                self.truncated = true;
                None
            }
            None => Some(self.fields.entry(path.to_owned()).or_default()),
        };
        if let Some(stats) = stats {
            *stats.types.entry(type_alias(&value)).or_insert(0) += 1;
            if stats.samples.len() < sample {
                if let Some(v) = sample_value(value) {
                    stats.samples.push(v);
                }
            }
        }
        match value {
            RawBsonRef::Document(d) => self.walk_doc(d, path, depth + 1)?,
            RawBsonRef::Array(a) => {
                for item in a {
                    let item = item.map_err(|e| format!("malformed BSON array: {e}"))?;
                    self.record(path, item, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The `fields` array of the manifest.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.fields
                .iter()
                .map(|(path, s)| {
                    let mut o = Map::new();
                    o.insert("path".into(), json!(path));
                    o.insert("count".into(), json!(s.types.values().sum::<u64>()));
                    o.insert("types".into(), json!(s.types));
                    if let Some(n) = self.data_keys.get(path) {
                        o.insert("distinct_keys".into(), json!(n));
                    }
                    if self.sample > 0 {
                        o.insert("samples".into(), Value::Array(s.samples.clone()));
                    }
                    Value::Object(o)
                })
                .collect(),
        )
    }
}

/// A scalar value as relaxed extended JSON, long strings cut; documents and arrays are not
/// sampled (their fields are).
fn sample_value(value: RawBsonRef<'_>) -> Option<Value> {
    if matches!(value, RawBsonRef::Document(_) | RawBsonRef::Array(_)) {
        return None;
    }
    let bson = bson::Bson::try_from(value).ok()?;
    Some(match bson.into_relaxed_extjson() {
        Value::String(s) if s.chars().count() > MAX_SAMPLE_CHARS => {
            Value::String(s.chars().take(MAX_SAMPLE_CHARS).collect::<String>() + "…")
        }
        v => v,
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a system time (UTC).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What every manifest starts with.
fn common(format: Format, gzip: bool, modified: Option<SystemTime>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("manifest_version".into(), json!(MANIFEST_VERSION));
    m.insert("format".into(), json!(format.name()));
    m.insert(
        "compression".into(),
        json!(if gzip { "gzip" } else { "none" }),
    );
    m.insert("timestamp".into(), json!(rfc3339(SystemTime::now())));
    m.insert("input_modified".into(), json!(modified.map(rfc3339)));
    m
}

fn kind_name(kind: &CollectionKind) -> String {
    match kind {
        CollectionKind::Collection => "collection".into(),
        CollectionKind::View => "view".into(),
        CollectionKind::Timeseries => "timeseries".into(),
        CollectionKind::Other(s) => s.clone(),
    }
}

/// Inspects an uncompressed mongodump archive; `manifest` already holds the common fields.
pub fn inspect_archive(
    input: impl Read,
    sample: usize,
    manifest: &mut Map<String, Value>,
) -> Result<(), InspectError> {
    let mut reader = ArchiveReader::new(input);
    let mut header: Option<(Option<String>, Option<String>, Option<String>)> = None;
    let mut inventories: Vec<Inventory> = Vec::new();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| InspectError::BadInput(format!("mongodump archive: {e}")))?;
        let failed = match item {
            Item::Header { raw } => {
                let doc = RawDocument::from_bytes(raw).map_err(|e| {
                    InspectError::BadInput(format!("mongodump archive: header: {e}"))
                })?;
                let s = |k: &str| doc.get_str(k).ok().map(str::to_owned);
                header = Some((s("server_version"), s("version"), s("tool_version")));
                None
            }
            Item::Document {
                ns, raw, offset, ..
            } => {
                if inventories.len() <= ns {
                    inventories.resize_with(ns + 1, || Inventory::new(sample));
                }
                let added = RawDocument::from_bytes(raw)
                    .map_err(|e| e.to_string())
                    .and_then(|doc| inventories[ns].add_document(doc));
                added.err().map(|m| (ns, offset, m))
            }
            Item::End => break,
            _ => None,
        };
        if let Some((ns, offset, m)) = failed {
            let n = reader.namespace(ns);
            return Err(InspectError::BadInput(format!(
                "mongodump archive: offset {offset}, {}.{}: {m}",
                n.db, n.collection
            )));
        }
    }
    let (server, version, tool) = header.unwrap_or_default();
    let mut entries = Vec::new();
    let mut databases: Vec<String> = Vec::new();
    let (mut total_docs, mut total_bytes) = (0u64, 0u64);
    for (pi, entry) in reader.prelude().iter().enumerate() {
        if !entry.db.is_empty() && !databases.contains(&entry.db) {
            databases.push(entry.db.clone());
        }
        let mut o = Map::new();
        o.insert("name".into(), json!(entry.name()));
        o.insert("db".into(), json!(entry.db));
        o.insert("collection".into(), json!(entry.collection));
        let kind = if entry.is_oplog() {
            "oplog".to_owned()
        } else {
            kind_name(&entry.kind)
        };
        o.insert("type".into(), json!(kind));
        let body: Vec<usize> = reader
            .namespaces()
            .iter()
            .enumerate()
            .filter(|(_, n)| n.prelude == pi)
            .map(|(i, _)| i)
            .collect();
        let docs: u64 = body.iter().map(|&i| reader.namespace(i).docs).sum();
        let bytes: u64 = body.iter().map(|&i| reader.namespace(i).bytes).sum();
        total_docs += docs;
        total_bytes += bytes;
        o.insert("documents".into(), json!(docs));
        o.insert("bytes".into(), json!(bytes));
        let crc = body
            .first()
            .map(|&i| format!("{:#018x}", reader.namespace(i).crc.value()));
        o.insert("crc64".into(), json!(crc));
        if let Some(&i) = body.first() {
            let n = reader.namespace(i);
            if n.collection != entry.collection {
                o.insert(
                    "body_namespace".into(),
                    json!(format!("{}.{}", n.db, n.collection)),
                );
            }
        }
        let empty = Inventory::new(sample);
        let inv = body
            .first()
            .and_then(|&i| inventories.get(i))
            .unwrap_or(&empty);
        o.insert("fields".into(), inv.to_json());
        o.insert("fields_truncated".into(), json!(inv.truncated));
        entries.push(Value::Object(o));
    }
    // The application's database: the only one besides MongoDB's own.
    let app: Vec<&String> = databases
        .iter()
        .filter(|d| !matches!(d.as_str(), "admin" | "local" | "config"))
        .collect();
    let source_db = (app.len() == 1).then(|| app[0].clone());
    manifest.insert("source_db".into(), json!(source_db));
    manifest.insert("databases".into(), json!(databases));
    manifest.insert("mongo_version".into(), json!(server));
    manifest.insert("archive_version".into(), json!(version));
    manifest.insert("tool_version".into(), json!(tool));
    manifest.insert("collections".into(), json!(entries.len()));
    manifest.insert("documents".into(), json!(total_docs));
    manifest.insert("document_bytes".into(), json!(total_bytes));
    manifest.insert("namespaces".into(), Value::Array(entries));
    Ok(())
}

/// Builds the manifest of the dump read from `input` (gzip, one or more members, is detected
/// by its magic bytes and decompressed on a thread of its own). Errors are
/// [`InspectError::BadInput`] and name the byte offset and collection or table, never a value.
pub fn manifest(input: impl Read + Send, options: &InspectOptions) -> Result<Value, InspectError> {
    std::thread::scope(|scope| {
        let compressed_count = Arc::new(AtomicU64::new(0));
        let raw = Box::new(CountingReader::new(input, compressed_count.clone()));
        let plain_count = Arc::new(AtomicU64::new(0));
        let opened = open(
            scope,
            raw,
            "input",
            options.format,
            Some(plain_count.clone()),
        )?;
        let archive = matches!(opened.format, Format::PgCustom | Format::PgTar);
        let mut m = common(opened.format, opened.gzip, options.input_modified);
        // pg_dump archives are read as their SQL text, as `scan` and `verify` read them.
        let (format, stream) = crate::open::readable(opened)?;
        match format {
            Format::Mongo => inspect_archive(stream, options.sample, &mut m)?,
            _ => {
                let what = if archive {
                    "postgres archive".to_owned()
                } else {
                    format!("{} dump", format.name())
                };
                crate::inspect_sql::inspect_sql(format, stream, options.sample, &mut m)
                    .map_err(|e| InspectError::BadInput(format!("{what}: {e}")))?;
            }
        }
        m.insert("size_bytes".into(), json!(compressed_count.load(Relaxed)));
        m.insert(
            "uncompressed_bytes".into(),
            json!(plain_count.load(Relaxed)),
        );
        Ok(Value::Object(m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, Binary};

    #[test]
    fn rfc3339_known_instants() {
        let at = |s: u64| rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_767_916_800 + 3661), "2026-01-09T01:01:01Z");
    }

    #[test]
    fn inventory_counts_paths_and_types() {
        let mut inv = Inventory::new(0);
        let docs = [
            doc! {"_id": ObjectId::new(), "Email": "a@b.c", "Tags": ["x", 1],
            "Registrations": [{"Email": "r@s.t"}, {"Email": null}],
            "Bin": Binary { subtype: bson::spec::BinarySubtype::UuidOld, bytes: vec![0; 16] }},
            doc! {"_id": ObjectId::new(), "Email": 5_i64, "Nested": {"Deep": {"X": 1.5}}},
        ];
        for d in &docs {
            let bytes = bson::to_vec(d).unwrap();
            inv.add_document(RawDocument::from_bytes(&bytes).unwrap())
                .unwrap();
        }
        let types = |p: &str| inv.fields[p].types.clone();
        assert_eq!(types("_id"), BTreeMap::from([("objectId", 2)]));
        assert_eq!(types("Email"), BTreeMap::from([("string", 1), ("long", 1)]));
        assert_eq!(
            types("Tags"),
            BTreeMap::from([("array", 1), ("string", 1), ("int", 1)])
        );
        assert_eq!(
            types("Registrations"),
            BTreeMap::from([("array", 1), ("object", 2)])
        );
        assert_eq!(
            types("Registrations.Email"),
            BTreeMap::from([("string", 1), ("null", 1)])
        );
        assert_eq!(types("Nested.Deep.X"), BTreeMap::from([("double", 1)]));
        assert_eq!(types("Bin"), BTreeMap::from([("binData", 1)]));
        let j = inv.to_json();
        let email = j
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "Email")
            .unwrap();
        assert_eq!(email["count"], 2);
        assert!(email.get("samples").is_none(), "no values without --sample");
        assert!(!j.to_string().contains("a@b.c"));
    }

    #[test]
    fn samples_only_when_asked_and_bounded() {
        let mut inv = Inventory::new(2);
        for i in 0..5 {
            let bytes = bson::to_vec(&doc! {"n": i, "s": "v".repeat(500)}).unwrap();
            inv.add_document(RawDocument::from_bytes(&bytes).unwrap())
                .unwrap();
        }
        assert_eq!(inv.fields["n"].samples, vec![json!(0), json!(1)]);
        let s = inv.fields["s"].samples[0].as_str().unwrap();
        assert_eq!(s.chars().count(), MAX_SAMPLE_CHARS + 1);
    }

    #[test]
    fn inventory_is_bounded() {
        let mut inv = Inventory::new(0);
        let mut d = bson::Document::new();
        for i in 0..(MAX_PATHS + 5) {
            // Letters only: `f1234` would be a name from the data.
            let name: String = format!("{i:05}")
                .bytes()
                .map(|b| char::from(b - b'0' + b'a'))
                .collect();
            d.insert(format!("f{name}"), 1);
        }
        let bytes = bson::to_vec(&d).unwrap();
        inv.add_document(RawDocument::from_bytes(&bytes).unwrap())
            .unwrap();
        assert_eq!(inv.fields.len(), MAX_PATHS);
        assert!(inv.truncated);
    }

    #[test]
    fn names_from_the_data_are_grouped_under_a_placeholder() {
        let mut inv = Inventory::new(0);
        for d in [
            doc! {"Votes": {"alice@example.com": {"Score": 1}, "bob@example.org": {"Score": 2}}, "ByDay": {"2024-01-31": 3}},
            doc! {"Votes": {"alice@example.com": {"Score": 5}, "507f1f77bcf86cd799439011": {"Score": 0}}},
        ] {
            let bytes = bson::to_vec(&d).unwrap();
            inv.add_document(RawDocument::from_bytes(&bytes).unwrap())
                .unwrap();
        }
        let paths: Vec<&str> = inv.fields.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "ByDay",
                "ByDay.<key>",
                "Votes",
                "Votes.<key>",
                "Votes.<key>.Score"
            ]
        );
        assert_eq!(inv.fields["Votes.<key>.Score"].types["int"], 4);
        let j = inv.to_json().to_string();
        for data in ["alice", "bob@", "2024-01-31", "507f1f77"] {
            assert!(!j.contains(data), "{data} printed: {j}");
        }
        let votes = inv.to_json();
        let votes = votes
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == "Votes.<key>")
            .unwrap()
            .clone();
        assert_eq!(votes["distinct_keys"], 3);
        assert_eq!(votes["count"], 4);
    }

    #[test]
    fn malformed_bson_is_an_error() {
        // A document whose string element claims more bytes than it has.
        let mut bytes = bson::to_vec(&doc! {"a": "xyz"}).unwrap();
        bytes[7] = 0x7f; // the string length
        let doc = RawDocument::from_bytes(&bytes).unwrap();
        let e = Inventory::new(0).add_document(doc).unwrap_err();
        assert!(e.contains("malformed"), "{e}");
        assert!(!e.contains("xyz"));
    }
}
