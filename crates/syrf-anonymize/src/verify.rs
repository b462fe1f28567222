//! Proves that no value a rule covered in the original dump survives anywhere in the
//! anonymized output: the logic of `syrf-anonymize verify --original IN --rules F ANONYMIZED`.
//!
//! Pass 1 reads the original and keeps a keyed 64-bit fingerprint (SipHash with a random
//! per-process key) of every string a rule other than `keep` covered, lower-cased, plus the
//! digits of phone-like values: 8 bytes per distinct value, sorted, so 5 million values take
//! 40 MiB. Pass 2 reads the anonymized output and checks every string in every document and
//! prelude entry: whole values (case-insensitive), and email-like and phone-like tokens inside
//! longer text. Hits are reported by namespace and field path, with counts and the first
//! document's index, never the value. MongoDB archives and MySQL/MariaDB and PostgreSQL dumps,
//! plain or gzip (SQL values are attributed by a reader of its own, independently of the
//! rewriter).
//!
//! ```
//! use anonymize_core::RuleSet;
//! use syrf_anonymize::verify::{verify, VerifyOptions};
//!
//! let rules = RuleSet::from_yaml("rules:\n  pmInvestigator:\n    fields:\n      Email: hash_email\n", "inline.yaml")?;
//! let archive = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive"))?;
//! // The original checked against itself: every covered value is found again.
//! let report = verify(&archive[..], &archive[..], rules, &VerifyOptions::default())?;
//! assert!(!report.hits.is_empty());
//! assert_eq!(report.exit_code(), syrf_anonymize::exit::LEAK);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufReader, Read};

use anonymize_core::{Anonymizer, Disposition, KeyMode, PlanNode, RuleSet, Transform};
use bson::{RawArray, RawBsonRef, RawDocument};
use mongo_archive::reader::{ArchiveReader, BodyNamespace, Item};

use crate::error::{exit, Error};
use crate::formats::{self, Format};
use crate::input;
use crate::verify_sql;

/// Values shorter than this (in characters) are not collected: too common to mean anything.
const MIN_CHARS: usize = 4;
/// Phone-like values and tokens need at least this many digits.
const MIN_PHONE_DIGITS: usize = 7;
/// Deepest nesting followed (as mongo-archive's walker); deeper documents are an error.
const MAX_DEPTH: usize = 200;

/// What `verify` tolerates; `VerifyOptions::default()` tolerates nothing.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Field paths the user knowingly keeps (`field.path`, `collection.field.path` or
    /// `db.collection.field.path`): hits there are not reported.
    pub allow: Vec<String>,
}

/// Where original values were found in the output.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Distinct fingerprints collected from the original.
    pub collected: usize,
    /// Strings checked in the output.
    pub checked: u64,
    /// `(namespace, field path)` -> (hits, index of the first document with one, 1-based).
    pub hits: BTreeMap<(String, String), (u64, u64)>,
}

impl VerifyReport {
    /// The process exit code for this report: [`exit::SUCCESS`], or [`exit::LEAK`] when an
    /// original value was found in the output.
    pub fn exit_code(&self) -> i32 {
        if self.hits.is_empty() {
            exit::SUCCESS
        } else {
            exit::LEAK
        }
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "syrf-anonymize verify: {} distinct covered values in the original, {} strings checked in the output",
            self.collected, self.checked
        )?;
        if self.hits.is_empty() {
            return writeln!(f, "  no covered value found in the output");
        }
        for ((ns, path), (n, first)) in &self.hits {
            writeln!(
                f,
                "  LEAK {ns} {path}: {n} value(s) from the original (first in document #{first})"
            )?;
        }
        Ok(())
    }
}

/// Decompresses `raw` when it is gzip (on a thread of `scope`) and detects its format.
fn open_plain<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    raw: impl Read + Send + 'scope,
    what: &str,
) -> Result<(Format, input::Input<'scope>), Error> {
    let read_err = |e: std::io::Error| Error::BadInput(format!("cannot read the {what}: {e}"));
    let peeked = input::peek(Box::new(raw)).map_err(read_err)?;
    if peeked.head.is_empty() {
        return Err(Error::BadInput(format!(
            "the {what} is empty (no bytes were read)"
        )));
    }
    let plain = input::decompressed(scope, peeked)
        .map_err(|e| Error::Output(format!("cannot start the gunzip thread: {e}")))?;
    let peeked = input::peek(plain).map_err(read_err)?;
    match formats::detect(&peeked.head) {
        // A custom archive is read as its SQL text, like a plain dump.
        Some(Format::PgCustom) => Ok((
            Format::Postgres,
            Box::new(
                sql_dump::pg_custom_sql(peeked.reader)
                    .map_err(|e| Error::BadInput(format!("the {what}: {e}")))?,
            ),
        )),
        Some(f) => Ok((f, Box::new(peeked.reader))),
        None => Err(Error::BadInput(format!(
            "the {what} is not a mongodump archive nor a MySQL/MariaDB or PostgreSQL dump (input byte 0)"
        ))),
    }
}

/// Collects the covered values of `original` (under `rules`), then checks `anonymized` for
/// them. Both may be gzip; they must be dumps of the same format. Errors (unreadable or
/// invalid dumps, [`Error::BadInput`]; a format mismatch or bad rules, [`Error::Usage`]) never
/// quote a value from the data.
pub fn verify(
    original: impl Read + Send,
    anonymized: impl Read + Send,
    rules: RuleSet,
    options: &VerifyOptions,
) -> Result<VerifyReport, Error> {
    let anon = Anonymizer::new(rules, KeyMode::Unkeyed).map_err(|e| Error::Usage(e.to_string()))?;
    let hasher = RandomState::new();
    let mut prints = Fingerprints {
        hasher: &hasher,
        values: Vec::new(),
        too_deep: false,
    };
    std::thread::scope(|scope| {
        let (format, original) = open_plain(scope, original, "original")?;
        match format {
            Format::Mongo => collect_mongo(original, &anon, &mut prints)?,
            Format::PgCustom | Format::PgTar => {
                return Err(Error::Usage(crate::pg_archive::NOT_YET.into()))
            }
            Format::MySql | Format::Postgres => {
                collect_sql(original, format == Format::MySql, &anon, &mut prints)?
            }
        }
        prints.values.sort_unstable();
        prints.values.dedup();
        let mut report = VerifyReport {
            collected: prints.values.len(),
            ..VerifyReport::default()
        };
        let (out_format, output) = open_plain(scope, anonymized, "anonymized output")?;
        if out_format != format {
            return Err(Error::Usage(format!(
                "the original is a {} dump but the output a {} dump",
                format.name(),
                out_format.name()
            )));
        }
        let allow = &options.allow;
        match format {
            Format::Mongo => scan_mongo(output, &prints, allow, &mut report)?,
            Format::PgCustom | Format::PgTar => {
                return Err(Error::Usage(crate::pg_archive::NOT_YET.into()))
            }
            Format::MySql | Format::Postgres => {
                scan_sql(output, format == Format::MySql, &prints, allow, &mut report)?
            }
        }
        Ok(report)
    })
}

fn collect_mongo(
    input: input::Input<'_>,
    anon: &Anonymizer,
    prints: &mut Fingerprints<'_>,
) -> Result<(), Error> {
    let mut reader = ArchiveReader::new(input);
    let mut names: Vec<(String, String)> = Vec::new();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| Error::BadInput(format!("original: {e}")))?;
        match item {
            Item::End => break,
            Item::BlockHeader { ns, namespace, .. } => name_ns(&mut names, ns, namespace),
            Item::Document { ns, raw, .. } => {
                let (db, coll) = &names[ns];
                let Disposition::Keep(plan) = anon.resolve(Some(db), coll) else {
                    continue;
                };
                let Some(root) = plan.root() else { continue };
                let Some(doc) = raw_doc(raw) else { continue };
                prints.collect_doc(doc, root, anon, 0);
                if prints.too_deep {
                    return Err(too_deep("original"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn scan_mongo(
    output: input::Input<'_>,
    prints: &Fingerprints<'_>,
    allow: &[String],
    report: &mut VerifyReport,
) -> Result<(), Error> {
    let mut reader = ArchiveReader::new(output);
    let mut index: BTreeMap<usize, u64> = BTreeMap::new();
    let mut names: Vec<(String, String)> = Vec::new();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| Error::BadInput(format!("anonymized output: {e}")))?;
        let (ns_name, raw, n) = match item {
            Item::End => break,
            Item::BlockHeader { ns, namespace, .. } => {
                name_ns(&mut names, ns, namespace);
                continue;
            }
            Item::Prelude { raw, .. } => ("<prelude>".to_string(), raw, 0),
            Item::Document { ns, raw, .. } => {
                let n = index.entry(ns).or_insert(0);
                *n += 1;
                let (db, coll) = &names[ns];
                (format!("{db}.{coll}"), raw, *n)
            }
            _ => continue,
        };
        let Some(doc) = raw_doc(raw) else { continue };
        let mut scan = Scan {
            prints,
            ns: &ns_name,
            allow,
            doc_index: n,
            report,
            path: Vec::new(),
            too_deep: false,
        };
        scan.doc(doc);
        if scan.too_deep {
            return Err(too_deep("anonymized output"));
        }
    }
    Ok(())
}

fn collect_sql(
    input: input::Input<'_>,
    mysql: bool,
    anon: &Anonymizer,
    prints: &mut Fingerprints<'_>,
) -> Result<(), Error> {
    let reader = BufReader::with_capacity(1 << 16, input);
    verify_sql::walk(reader, mysql, &mut |e| {
        let verify_sql::Event::Cell {
            qualifier,
            table,
            column: Some(column),
            value: Some(value),
            ..
        } = e
        else {
            return;
        };
        let Disposition::Keep(plan) = anon.resolve(qualifier, table) else {
            return;
        };
        let Some(node) = plan.root().and_then(|r| r.child(column.as_bytes())) else {
            return;
        };
        if let Some(rule) = node.rule() {
            if !matches!(anon.transform(rule), Transform::Keep) {
                prints.collect_str(&String::from_utf8_lossy(value));
            }
        } else if let Ok(json) = serde_json::from_slice::<serde_json::Value>(value) {
            prints.collect_json(&json, node, anon, 0);
        }
    })
    .map_err(|e| Error::BadInput(format!("original: {e}")))?;
    if prints.too_deep {
        return Err(too_deep("original"));
    }
    Ok(())
}

fn scan_sql(
    output: input::Input<'_>,
    mysql: bool,
    prints: &Fingerprints<'_>,
    allow: &[String],
    report: &mut VerifyReport,
) -> Result<(), Error> {
    let reader = BufReader::with_capacity(1 << 16, output);
    verify_sql::walk(reader, mysql, &mut |e| {
        let (ns, path, row, bytes) = match e {
            verify_sql::Event::Cell {
                qualifier,
                table,
                column,
                row,
                value: Some(value),
                ..
            } => (
                match qualifier {
                    Some(q) => format!("{q}.{table}"),
                    None => table.to_string(),
                },
                column.unwrap_or("?").to_string(),
                row,
                value,
            ),
            verify_sql::Event::Text { what, bytes } => (what.to_string(), String::new(), 0, bytes),
            _ => return,
        };
        let mut scan = Scan {
            prints,
            ns: &ns,
            allow,
            doc_index: row,
            report: &mut *report,
            path: vec![path],
            too_deep: false,
        };
        scan.string(&String::from_utf8_lossy(bytes));
    })
    .map_err(|e| Error::BadInput(format!("anonymized output: {e}")))
}

fn name_ns(names: &mut Vec<(String, String)>, ns: usize, body: &BodyNamespace) {
    if names.len() <= ns {
        names.resize(ns + 1, (String::new(), String::new()));
    }
    names[ns] = (body.db.clone(), body.collection.clone());
}

fn too_deep(what: &str) -> Error {
    Error::BadInput(format!(
        "{what}: a document nests deeper than {MAX_DEPTH} levels"
    ))
}

fn raw_doc(raw: &[u8]) -> Option<&RawDocument> {
    RawDocument::from_bytes(raw).ok()
}

struct Fingerprints<'h> {
    hasher: &'h RandomState,
    values: Vec<u64>,
    too_deep: bool,
}

impl Fingerprints<'_> {
    fn print(&self, s: &str) -> u64 {
        self.hasher.hash_one(s.to_lowercase())
    }

    fn phone_print(&self, digits: &str) -> u64 {
        self.hasher.hash_one(("tel", digits))
    }

    fn contains(&self, p: u64) -> bool {
        self.values.binary_search(&p).is_ok()
    }

    /// One covered string: its fingerprint, and its digits when it looks like a phone number.
    fn collect_str(&mut self, s: &str) {
        if s.trim().chars().count() >= MIN_CHARS {
            self.values.push(self.print(s.trim()));
        }
        if let Some(d) = phone_digits(s) {
            self.values.push(self.phone_print(&d));
        }
        // Memory follows distinct values, not occurrences: compact when the buffer fills.
        if self.values.len() == self.values.capacity() && self.values.len() >= 1 << 20 {
            self.values.sort_unstable();
            self.values.dedup();
            self.values.reserve(self.values.len());
        }
    }

    /// A JSON column's document along the rules below the column's node.
    fn collect_json(
        &mut self,
        v: &serde_json::Value,
        node: &PlanNode,
        anon: &Anonymizer,
        depth: usize,
    ) {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        if let Some(rule) = node.rule() {
            if !matches!(anon.transform(rule), Transform::Keep) {
                self.collect_json_all(v, depth);
            }
            return;
        }
        match v {
            J::Object(map) => {
                for (k, v) in map {
                    if let Some(c) = node.child(k.as_bytes()) {
                        self.collect_json(v, c, anon, depth + 1);
                    }
                }
            }
            J::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.collect_json(item, node, anon, depth + 1);
                    if let Some(c) = node.child(i.to_string().as_bytes()) {
                        self.collect_json(item, c, anon, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn collect_json_all(&mut self, v: &serde_json::Value, depth: usize) {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        match v {
            J::String(s) => self.collect_str(s),
            J::Object(map) => map
                .values()
                .for_each(|v| self.collect_json_all(v, depth + 1)),
            J::Array(items) => items
                .iter()
                .for_each(|v| self.collect_json_all(v, depth + 1)),
            _ => {}
        }
    }

    fn collect_doc(&mut self, doc: &RawDocument, node: &PlanNode, anon: &Anonymizer, depth: usize) {
        if depth > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        for (name, value) in doc.iter().flatten() {
            if let Some(child) = node.child(name.as_bytes()) {
                self.collect_value(value, child, anon, depth + 1);
            }
        }
    }

    fn collect_value(
        &mut self,
        v: RawBsonRef<'_>,
        node: &PlanNode,
        anon: &Anonymizer,
        depth: usize,
    ) {
        if depth > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        if let Some(rule) = node.rule() {
            if !matches!(anon.transform(rule), Transform::Keep) {
                self.collect_all(v, depth);
            }
            return;
        }
        match v {
            RawBsonRef::Document(d) => self.collect_doc(d, node, anon, depth + 1),
            RawBsonRef::Array(a) => {
                for (i, item) in a.into_iter().flatten().enumerate() {
                    self.collect_value(item, node, anon, depth + 1);
                    if let Some(c) = node.child(i.to_string().as_bytes()) {
                        self.collect_value(item, c, anon, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// Every string in a covered value (a covered sub-document or array counts whole).
    fn collect_all(&mut self, v: RawBsonRef<'_>, depth: usize) {
        if depth > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        match v {
            RawBsonRef::String(s) => self.collect_str(s),
            RawBsonRef::Document(d) => d
                .iter()
                .flatten()
                .for_each(|(_, v)| self.collect_all(v, depth + 1)),
            RawBsonRef::Array(a) => array_items(a).for_each(|v| self.collect_all(v, depth + 1)),
            _ => {}
        }
    }
}

fn array_items(a: &RawArray) -> impl Iterator<Item = RawBsonRef<'_>> {
    a.into_iter().flatten()
}

/// The digits of a phone-like string (only digits, spaces and `+-.()/`, 7+ digits).
fn phone_digits(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
    {
        return None;
    }
    // An ISO date (2020-01-31) is not a phone number.
    let b = s.as_bytes();
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
        return None;
    }
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    (d.len() >= MIN_PHONE_DIGITS).then_some(d)
}

struct Scan<'a, 'h> {
    prints: &'a Fingerprints<'h>,
    ns: &'a str,
    allow: &'a [String],
    doc_index: u64,
    report: &'a mut VerifyReport,
    path: Vec<String>,
    too_deep: bool,
}

impl Scan<'_, '_> {
    fn doc(&mut self, doc: &RawDocument) {
        if self.path.len() > MAX_DEPTH {
            self.too_deep = true;
            return;
        }
        for (name, v) in doc.iter().flatten() {
            self.path.push(name.to_string());
            self.value(v);
            self.path.pop();
        }
    }

    fn value(&mut self, v: RawBsonRef<'_>) {
        match v {
            RawBsonRef::String(s) => self.string(s),
            RawBsonRef::Document(d) => self.doc(d),
            RawBsonRef::Array(a) => {
                self.path.push(String::new());
                if self.path.len() > MAX_DEPTH {
                    self.too_deep = true;
                } else {
                    array_items(a).for_each(|v| self.value(v));
                }
                self.path.pop();
            }
            _ => {}
        }
    }

    fn string(&mut self, s: &str) {
        self.report.checked += 1;
        let p = self.prints;
        let mut hit = p.contains(p.print(s.trim()))
            || phone_digits(s).is_some_and(|d| p.contains(p.phone_print(&d)));
        if !hit && s.len() > MIN_CHARS {
            hit = email_tokens(s).any(|t| p.contains(p.print(t)))
                || phone_tokens(s).any(|d| p.contains(p.phone_print(&d)));
        }
        if hit && !self.allowed() {
            let key = (self.ns.to_string(), self.dotted());
            let e = self.report.hits.entry(key).or_insert((0, self.doc_index));
            e.0 += 1;
        }
    }

    /// The field path, array levels left out (`Registrations.Email`).
    fn dotted(&self) -> String {
        let names: Vec<&str> = self
            .path
            .iter()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
            .collect();
        names.join(".")
    }

    fn allowed(&self) -> bool {
        let path = self.dotted();
        let coll = self.ns.split_once('.').map_or(self.ns, |(_, c)| c);
        self.allow.iter().any(|a| {
            *a == path || *a == format!("{coll}.{path}") || *a == format!("{}.{path}", self.ns)
        })
    }
}

/// Email-like tokens: `local@domain.tld` runs inside longer text.
fn email_tokens(s: &str) -> impl Iterator<Item = &str> {
    let word = |c: char| c.is_alphanumeric() || "._%+-@".contains(c);
    s.split(move |c: char| !word(c)).filter_map(|t| {
        let t = t.trim_matches('.');
        let (local, domain) = t.split_once('@')?;
        (!local.is_empty() && domain.contains('.') && !domain.contains('@')).then_some(t)
    })
}

/// Phone-like tokens: runs of digits and `+-.()/ ` with 7+ digits, as their digits.
fn phone_tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !(c.is_ascii_digit() || " +-.()/".contains(c)))
        .filter_map(phone_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t: Vec<_> = email_tokens("write to John.Doe@Example.org. or x@y").collect();
        assert_eq!(t, ["John.Doe@Example.org"]);
        let p: Vec<_> = phone_tokens("call +44 (20) 7946-0958 now, ref 12").collect();
        assert_eq!(p, ["442079460958"]);
        assert_eq!(phone_digits("2020-01-01"), None);
    }
}
