//! Proves that no value a rule covered in the original dump survives anywhere in the
//! anonymized output: the logic of `syrf-anonymize verify --original IN --rules F ANONYMIZED`.
//!
//! Pass 1 reads the original and keeps a keyed 64-bit fingerprint (SipHash with a random
//! per-process key) of every string a rule other than `keep` covered, lower-cased, plus the
//! digits of phone-like values: 8 bytes per distinct value, sorted, so 5 million values take
//! 40 MiB. Pass 2 reads the anonymized output and checks every string in every document and
//! prelude entry: whole values (case-insensitive), and email-like and phone-like tokens inside
//! longer text. Hits are reported by namespace and field path, with counts and the first
//! document's index, never the value (a field name that came from the data is written `<key>`).
//! MongoDB: which collections' rules apply comes from mongo-archive's policy, and oplog entries
//! are read with [`mongo_archive::oplog_read`]: covered values are collected from each
//! operation by its target collection's rules, and the output's entries are checked under
//! their target (`app.users (oplog)`). SQL dumps are read by sql-dump's reader, as the
//! rewriter reads them; the output is checked in every spelling a dump can give a value: SQL
//! and COPY escapes, octal and hex, JSON `\u` escapes, percent-encoding. Plain or gzip.
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

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::Read;

use anonymize_core::{Anonymizer, KeyMode, PlanNode, RuleSet, Transform};
use bson::{RawArray, RawBsonRef, RawDocument};
use mongo_archive::oplog_read::{self, Data};
use mongo_archive::reader::{ArchiveReader, BodyNamespace, Item};
use mongo_archive::{CollectionKind, NamespaceFate, RewriteOptions};

use crate::error::{exit, Error};
use crate::formats::Format;
use crate::input;
use crate::open::open;

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
        let opened = open(scope, Box::new(original), "original", None, None)?;
        let (format, original) = crate::open::readable(opened)?;
        match format {
            Format::Mongo => collect_mongo(original, &anon, &mut prints)?,
            // pg_dump archives arrive as their SQL text (`readable`).
            _ => collect_sql(original, format == Format::MySql, &anon, &mut prints)?,
        }
        prints.values.sort_unstable();
        prints.values.dedup();
        let mut report = VerifyReport {
            collected: prints.values.len(),
            ..VerifyReport::default()
        };
        let opened = open(scope, Box::new(anonymized), "anonymized output", None, None)?;
        let (out_format, output) = crate::open::readable(opened)?;
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
            _ => scan_sql(output, format == Format::MySql, &prints, allow, &mut report)?,
        }
        Ok(report)
    })
}

/// What a run does with the namespaces of the original: the rewriter's own decisions, with
/// users kept (their covered values are collected too).
fn run_options() -> RewriteOptions {
    RewriteOptions {
        keep_users: true,
        ..RewriteOptions::default()
    }
}

/// True for the namespaces whose documents are oplog entries (`--oplog`, `local.oplog.rs`).
fn is_oplog_ns(db: &str, coll: &str) -> bool {
    (db.is_empty() && coll == "oplog") || (db == "local" && coll == "oplog.rs")
}

fn collect_mongo(
    input: input::Input<'_>,
    anon: &Anonymizer,
    prints: &mut Fingerprints<'_>,
) -> Result<(), Error> {
    let options = run_options();
    let mut reader = ArchiveReader::new(input);
    let mut prelude: Vec<(String, String, CollectionKind)> = Vec::new();
    let mut fates: Vec<Option<NamespaceFate<'_>>> = Vec::new();
    let mut targets: HashMap<String, Option<&PlanNode>> = HashMap::new();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| Error::BadInput(format!("original: {e}")))?;
        match item {
            Item::End => break,
            Item::Prelude { entry, .. } => {
                prelude.push((
                    entry.db.clone(),
                    entry.collection.clone(),
                    entry.kind.clone(),
                ));
            }
            Item::BlockHeader {
                ns,
                namespace,
                first: true,
                ..
            } => {
                let Some((db, coll, kind)) = prelude.get(namespace.prelude) else {
                    continue;
                };
                let fate = mongo_archive::namespace_fate(db, coll, kind, anon, &options)
                    .map_err(|e| Error::Usage(format!("original: `{db}.{coll}`: {e}")))?;
                if fates.len() <= ns {
                    fates.resize(ns + 1, None);
                }
                fates[ns] = Some(fate);
            }
            Item::Document {
                ns, raw, offset, ..
            } => {
                let Some(Some(fate)) = fates.get(ns) else {
                    continue;
                };
                if fate.oplog {
                    collect_oplog(raw, anon, &options, &mut targets, prints).map_err(|e| {
                        Error::BadInput(format!(
                            "original: oplog entry at input byte {offset}: {e}"
                        ))
                    })?;
                } else if let (true, Some(root)) = (fate.documents_kept(), fate.plan) {
                    let Some(doc) = raw_doc(raw) else { continue };
                    // A document the collection's `when:` kept from the rules keeps its
                    // values: they are not the rules' to change.
                    if root
                        .when()
                        .is_none_or(|w| mongo_archive::when_rules_apply(w, raw))
                    {
                        prints.collect_doc(doc, root, anon, 0);
                    }
                }
                if prints.too_deep {
                    return Err(too_deep("original"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The covered values of one oplog entry of the original: each operation's data by the rules
/// of its target namespace, as the rewriter routes it.
fn collect_oplog<'a>(
    raw: &[u8],
    anon: &'a Anonymizer,
    options: &RewriteOptions,
    targets: &mut HashMap<String, Option<&'a PlanNode>>,
    prints: &mut Fingerprints<'_>,
) -> Result<(), String> {
    let mut failed = None;
    oplog_read::operations(raw, &mut |op| {
        let root = match targets.get(op.ns) {
            Some(r) => *r,
            None => {
                let root = match mongo_archive::oplog_target_fate(op.ns, anon, options) {
                    Ok(f) if f.documents_kept() => f.plan,
                    Ok(_) => None,
                    Err(e) => {
                        failed = Some(format!("`{}`: {e}", op.ns));
                        None
                    }
                };
                targets.insert(op.ns.to_owned(), root);
                root
            }
        };
        // An operation the collection's `when:` kept from the rules keeps its values.
        if let Some(root) = root.filter(|r| r.when().is_none_or(|w| op.rules_apply(w))) {
            op.data(&mut |d| prints.collect_data(&d, root, anon))?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    failed.map_or(Ok(()), Err)
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
        let (ns_name, raw, n, oplog) = match item {
            Item::End => break,
            Item::BlockHeader { ns, namespace, .. } => {
                name_ns(&mut names, ns, namespace);
                continue;
            }
            Item::Prelude { raw, .. } => ("<prelude>".to_string(), raw, 0, false),
            Item::Document { ns, raw, .. } => {
                let n = index.entry(ns).or_insert(0);
                *n += 1;
                let (db, coll) = &names[ns];
                (format!("{db}.{coll}"), raw, *n, is_oplog_ns(db, coll))
            }
            _ => continue,
        };
        let Some(doc) = raw_doc(raw) else { continue };
        // An oplog entry: each operation's documents under its target namespace
        // (`app.users (oplog)`), the entry's other fields under the oplog's name. An entry
        // the rewriter would not read is checked whole.
        let parts = if oplog { oplog_parts(raw) } else { None };
        let mut checks: Vec<(&str, &RawDocument, bool)> = Vec::new();
        match &parts {
            Some(parts) => {
                checks.push((&ns_name, doc, true));
                for (target, bytes) in parts {
                    if let Some(d) = raw_doc(bytes) {
                        checks.push((target, d, false));
                    }
                }
            }
            None => checks.push((&ns_name, doc, false)),
        }
        for (ns, d, skip_o) in checks {
            let mut scan = Scan {
                prints,
                ns,
                allow,
                doc_index: n,
                report: &mut *report,
                path: Vec::new(),
                too_deep: false,
                from_schema: 0,
            };
            if skip_o {
                for (name, value) in d.iter().flatten() {
                    if name != "o" && name != "o2" {
                        scan.path.push(name.to_string());
                        scan.value(value);
                        scan.path.pop();
                    }
                }
            } else {
                scan.doc(d);
            }
            if scan.too_deep {
                return Err(too_deep("anonymized output"));
            }
        }
    }
    Ok(())
}

/// The `o` and `o2` documents of each operation of an oplog entry, with the label of its
/// target namespace; `None` when the rewriter would not read the entry.
fn oplog_parts(raw: &[u8]) -> Option<Vec<(String, &[u8])>> {
    let mut parts = Vec::new();
    oplog_read::operations(raw, &mut |op| {
        for d in [op.o, op.o2].into_iter().flatten() {
            parts.push((format!("{} (oplog)", op.ns), d));
        }
        Ok(())
    })
    .ok()?;
    Some(parts)
}

/// The reader options of a dump of `format` (credentials kept: verify looks at everything
/// the output holds).
fn sql_options(mysql: bool) -> sql_dump::SqlOptions {
    sql_dump::SqlOptions {
        dialect: Some(if mysql {
            sql_dump::Dialect::MySql
        } else {
            sql_dump::Dialect::Postgres
        }),
        keep_users: true,
        ..sql_dump::SqlOptions::default()
    }
}

/// Collects the covered values of a SQL dump, read by sql-dump's reader with the rules, so
/// that tables, columns and values are the ones a run rewrites (header databases,
/// `search_path`, partitions under their parents' rules, every string escape decoded).
fn collect_sql(
    input: input::Input<'_>,
    mysql: bool,
    anon: &Anonymizer,
    prints: &mut Fingerprints<'_>,
) -> Result<(), Error> {
    let bad = |e: sql_dump::SqlError| Error::BadInput(format!("original: {e}"));
    let mut reader = sql_dump::SqlReader::new(input, anon, &sql_options(mysql)).map_err(bad)?;
    let mut scratch = Vec::new();
    while let Some(event) = reader.next_event().map_err(bad)? {
        let sql_dump::Event::Row(row) = event else {
            continue;
        };
        let Some(root) = row.rules() else { continue };
        if let Some(when) = root.when() {
            if !sql_when_applies(when, &row, mysql, &mut scratch) {
                continue;
            }
        }
        for cell in row.cells() {
            let Some(node) = cell.column().and_then(|c| {
                sql_dump::column_node(
                    Some(root),
                    c,
                    if mysql {
                        sql_dump::Dialect::MySql
                    } else {
                        sql_dump::Dialect::Postgres
                    },
                )
            }) else {
                continue;
            };
            let Some(value) = cell.decode(&mut scratch) else {
                continue;
            };
            if let Some(rule) = node.rule() {
                if !matches!(anon.transform(rule), Transform::Keep) {
                    prints.collect_str(&String::from_utf8_lossy(value));
                }
            } else {
                // Rules reach into the column: the values a run rewrites or nulls, by
                // sql-dump's own shape rules (another shape on a covered path, double-encoded
                // documents); a value that is not JSON is nulled by a run whole.
                let json = sql_dump::walk_json(value, Some(node), anon, &mut |v| {
                    if matches!(
                        v.coverage,
                        sql_dump::JsonCoverage::Covered | sql_dump::JsonCoverage::OtherShape
                    ) {
                        prints.collect_str(v.text);
                    }
                });
                if !json {
                    prints.collect_str(&String::from_utf8_lossy(value));
                }
            }
        }
    }
    if prints.too_deep {
        return Err(too_deep("original"));
    }
    Ok(())
}

/// Whether a row's table's `when:` applies its rules to the row, as the rewriter decides: a
/// condition on a column the row does not hold, a value that is not UTF-8 text: the rules
/// apply (and the row's covered values are collected).
fn sql_when_applies(
    when: &anonymize_core::When,
    row: &sql_dump::Row<'_, '_>,
    mysql: bool,
    scratch: &mut Vec<u8>,
) -> bool {
    when.rules_apply(when.conditions().iter().map(|c| {
        let [name] = &c.path[..] else { return None };
        let cell = row.cells().find(|cell| {
            cell.column()
                .is_some_and(|col| col == name || (mysql && col.eq_ignore_ascii_case(name)))
        })?;
        match cell.decode(scratch) {
            None => c.evaluate(None),
            Some(v) => c.evaluate(Some(std::str::from_utf8(v).ok()?)),
        }
    }))
}

/// Checks every value, string literal, statement and comment of the output, in every
/// spelling a dump can give a value (see [`spellings`]).
fn scan_sql(
    output: input::Input<'_>,
    mysql: bool,
    prints: &Fingerprints<'_>,
    allow: &[String],
    report: &mut VerifyReport,
) -> Result<(), Error> {
    let bad = |e: sql_dump::SqlError| Error::BadInput(format!("anonymized output: {e}"));
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let mut reader = sql_dump::SqlReader::new(output, &empty, &sql_options(mysql)).map_err(bad)?;
    let mut scratch = Vec::new();
    while let Some(event) = reader.next_event().map_err(bad)? {
        // One check of the texts of one value or statement: one hit at most.
        let mut scan = |ns: &str, path: &str, doc_index: u64, texts: &[&[u8]]| {
            let mut scan = Scan {
                prints,
                ns,
                allow,
                doc_index,
                report: &mut *report,
                path: vec![path.to_owned()],
                too_deep: false,
                from_schema: 1,
            };
            scan.spelled(texts.iter().map(|t| String::from_utf8_lossy(t)));
        };
        match event {
            sql_dump::Event::Row(row) => {
                let ns = row.table().display();
                for cell in row.cells() {
                    if let Some(value) = cell.decode(&mut scratch) {
                        scan(&ns, cell.column().unwrap_or("?"), row.ordinal(), &[value]);
                    }
                }
            }
            sql_dump::Event::Statement(stmt) => {
                let mut texts: Vec<Vec<u8>> = stmt
                    .strings()
                    .map(|l| l.decode(&mut scratch).to_vec())
                    .collect();
                // Values outside literals: dollar-quoted bodies, identifiers.
                texts.push(stmt.text().to_vec());
                let texts: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
                scan("<sql>", "", 0, &texts);
            }
            sql_dump::Event::Comment(c) => scan("<comment>", "", 0, &[c]),
            _ => {}
        }
    }
    Ok(())
}

/// The text of `s` in each spelling a dump can give a value, `s` first: with backslash
/// escapes undone (MySQL and `E'...'` strings, COPY fields, octal `\100` and hex `\x40`,
/// as when a value is escaped twice), JSON `\u0040` escapes undone, percent-encoding
/// (`%40`) undone, and all of them in turn.
fn spellings(s: &str) -> Vec<String> {
    let mut out = vec![s.to_owned()];
    let decoders: [fn(&str) -> Option<String>; 3] =
        [unescape_backslashes, unescape_json_u, percent_decode];
    for d in decoders {
        if let Some(v) = d(s) {
            out.push(v);
        }
    }
    let mut all = s.to_owned();
    for d in decoders {
        if let Some(v) = d(&all) {
            all = v;
        }
    }
    if !out.contains(&all) {
        out.push(all);
    }
    out
}

/// `s` with C-style backslash escapes undone (`\n`, `\'`, octal `\100`, hex `\x40`), or
/// `None` when it holds none.
fn unescape_backslashes(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let digits = |from: usize, radix: u32, max: usize| {
        let n = b[from..]
            .iter()
            .take(max)
            .take_while(|c| (**c as char).is_digit(radix))
            .count();
        let v = std::str::from_utf8(&b[from..from + n])
            .ok()
            .and_then(|t| u32::from_str_radix(t, radix).ok());
        (n, v)
    };
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0'..=b'7' => {
                let (n, v) = digits(i - 1, 8, 3);
                out.push(v.unwrap_or(0) as u8);
                i += n - 1;
            }
            b'x' => match digits(i, 16, 2) {
                (n, Some(v)) if n > 0 => {
                    out.push(v as u8);
                    i += n;
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `s` with JSON `\uXXXX` escapes undone (surrogate pairs joined), or `None`.
fn unescape_json_u(s: &str) -> Option<String> {
    if !s.contains("\\u") {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let hex4 = |t: &str| t.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok());
    while let Some(k) = rest.find("\\u") {
        out.push_str(&rest[..k]);
        let after = &rest[k + 2..];
        match hex4(after) {
            Some(hi @ 0xd800..=0xdbff) => {
                let lo = after[4..].strip_prefix("\\u").and_then(hex4);
                match lo.filter(|lo| (0xdc00..=0xdfff).contains(lo)) {
                    Some(lo) => {
                        let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                        out.extend(char::from_u32(c));
                        rest = &after[10..];
                    }
                    None => {
                        out.push('\u{fffd}');
                        rest = &after[4..];
                    }
                }
            }
            Some(c) => {
                out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                rest = &after[4..];
            }
            None => {
                out.push_str("\\u");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

/// `s` with percent-encoding undone (`%40` -> `@`, `+` kept), or `None`.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
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

    /// One place of an oplog operation holding document data, along the target's plan.
    fn collect_data(&mut self, d: &Data<'_>, root: &PlanNode, anon: &Anonymizer) {
        match d {
            Data::Fields { prefix, doc } => {
                if let (Some(node), Some(doc)) = (descend(root, prefix), raw_doc(doc)) {
                    self.collect_value(RawBsonRef::Document(doc), node, anon, 0);
                }
            }
            Data::Paths(doc) => {
                for (key, value) in raw_doc(doc).into_iter().flatten().flatten() {
                    let steps: Vec<&[u8]> = key.split('.').map(str::as_bytes).collect();
                    if let Some(node) = descend(root, &steps) {
                        self.collect_value(value, node, anon, 0);
                    }
                }
            }
            Data::Elements { prefix, doc } => {
                let Some(node) = descend(root, prefix) else {
                    return;
                };
                for (key, value) in raw_doc(doc).into_iter().flatten().flatten() {
                    let Some(i) = key.strip_prefix('u').filter(|i| is_index(i)) else {
                        continue;
                    };
                    self.collect_value(value, node, anon, 0);
                    if let Some(c) = node.child(i.as_bytes()).filter(|_| node.rule().is_none()) {
                        self.collect_value(value, c, anon, 0);
                    }
                }
            }
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

fn is_index(step: &str) -> bool {
    !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit())
}

/// The plan node a path of field names reaches from `root`, stopping at the first node with a
/// rule (what lies below is covered whole); an array position stays at the array's node unless
/// a rule names it. `None`: no rule below.
fn descend<'p>(root: &'p PlanNode, steps: &[&[u8]]) -> Option<&'p PlanNode> {
    let mut cur = root;
    for step in steps {
        if cur.rule().is_some() {
            return Some(cur);
        }
        cur = match cur.child(step) {
            Some(c) => c,
            None if std::str::from_utf8(step).is_ok_and(is_index) => cur,
            None => return None,
        };
    }
    Some(cur)
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
    /// Leading path steps that come from the schema, never from the data (a SQL column).
    from_schema: usize,
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
        if self.hits(s) {
            self.hit();
        }
    }

    /// The texts of one SQL value or statement: every spelling of each ([`spellings`]) is
    /// checked; one hit at most.
    fn spelled<S: AsRef<str>>(&mut self, texts: impl Iterator<Item = S>) {
        let mut hit = false;
        for s in texts {
            self.report.checked += 1;
            let s = s.as_ref();
            hit = hit
                || self.hits(s)
                || (s.contains(['\\', '%']) && spellings(s).iter().skip(1).any(|v| self.hits(v)));
        }
        if hit {
            self.hit();
        }
    }

    /// Whether `s`, or an email-like or phone-like token in it, is a covered value.
    fn hits(&self, s: &str) -> bool {
        let p = self.prints;
        let mut hit = p.contains(p.print(s.trim()))
            || phone_digits(s).is_some_and(|d| p.contains(p.phone_print(&d)));
        if !hit && s.len() > MIN_CHARS {
            hit = email_tokens(s).any(|t| p.contains(p.print(t)))
                || phone_tokens(s).any(|d| p.contains(p.phone_print(&d)));
        }
        hit
    }

    fn hit(&mut self) {
        if !self.allowed() {
            let key = (self.ns.to_string(), self.dotted());
            let e = self.report.hits.entry(key).or_insert((0, self.doc_index));
            e.0 += 1;
        }
    }

    /// The field path, array levels left out (`Registrations.Email`), a field name that came
    /// from the data written `<key>` (it is printed).
    fn dotted(&self) -> String {
        let names: Vec<&str> = self
            .path
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(i, p)| {
                if i < self.from_schema {
                    p.as_str()
                } else {
                    crate::data_keys::shown(p)
                }
            })
            .collect();
        names.join(".")
    }

    fn allowed(&self) -> bool {
        let path = self.dotted();
        let ns = self.ns.strip_suffix(" (oplog)").unwrap_or(self.ns);
        let coll = ns.split_once('.').map_or(ns, |(_, c)| c);
        self.allow
            .iter()
            .any(|a| *a == path || *a == format!("{coll}.{path}") || *a == format!("{ns}.{path}"))
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

    #[test]
    fn every_spelling_of_a_value_is_decoded() {
        for spelled in [
            "kim\\100example.com",
            "kim\\x40example.com",
            "kim\\u0040example.com",
            "kim%40example.com",
            "{\"to\": \"kim\\\\u0040example.com\"}",
        ] {
            let all = spellings(spelled);
            assert!(
                all.iter().any(|v| v.contains("kim@example.com")),
                "{spelled}: {all:?}"
            );
        }
        assert_eq!(spellings("plain"), ["plain"]);
        assert_eq!(
            unescape_json_u("\\ud83d\\ude00!").as_deref(),
            Some("\u{1f600}!")
        );
        assert_eq!(unescape_json_u("\\u12").as_deref(), Some("\\u12"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
    }

    fn run(original: &str, rules: &str, output: &str) -> VerifyReport {
        let rules = RuleSet::from_yaml(rules, "t.yaml").unwrap();
        verify(
            original.as_bytes(),
            output.as_bytes(),
            rules,
            &VerifyOptions::default(),
        )
        .unwrap()
    }

    /// Issue 17: values planted in the output in the spellings a dump can give them are
    /// found; the database of a plain mysqldump header qualifies tables as in a run.
    #[test]
    fn sql_survivors_are_found_in_every_spelling() {
        let original = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.u (id integer, email text, note text);\n\
                        COPY public.u (id, email, note) FROM stdin;\n1\tkim@example.com\tx\n2\thank@example.com\ty\n\\.\n";
        let rules = "rules:\n  public.u:\n    columns:\n      email: hash_email\n";
        let clean = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE public.u (id integer, email text, note text);\n\
                     COPY public.u (id, email, note) FROM stdin;\n1\tx@anonymized.syrf.local\tx\n\\.\n";
        let report = run(original, rules, clean);
        assert_eq!((report.collected, report.hits.len()), (2, 0), "{report}");
        for planted in [
            "kim\\\\100example.com",
            "kim\\\\x40example.com",
            "{\"a\": \"kim\\\\u0040example.com\"}",
            "https://x.org/?to=kim%40example.com",
        ] {
            let output = clean.replace("\tx\n\\.", &format!("\t{planted}\n\\."));
            let report = run(original, rules, &output);
            assert_eq!(report.exit_code(), exit::LEAK, "{planted}: {report}");
            assert!(
                report
                    .hits
                    .contains_key(&("public.u".into(), "note".into())),
                "{report}"
            );
        }
        // E'' strings and standard_conforming_strings = off in INSERTs, and a comment.
        let output = "--\n-- PostgreSQL database dump\n--\nSET standard_conforming_strings = off;\n\
                      INSERT INTO public.u VALUES (1, 'x', 'hank\\x40example.com'), (2, 'y', E'it\\'s');\n";
        assert_eq!(run(original, rules, output).hits.len(), 1);
        let output = "-- PostgreSQL database dump\n/* from kim@example.com */\n";
        let report = run(original, rules, output);
        assert!(
            report
                .hits
                .contains_key(&("<comment>".into(), String::new())),
            "{report}"
        );

        let my = "-- MySQL dump 10.13\n--\n-- Host: localhost    Database: app\n-- ----\n\
                  CREATE TABLE `users` (`id` int, `email` varchar(80));\n\
                  INSERT INTO `users` VALUES (1,'ann@example.org');\n";
        let report = run(
            my,
            "rules:\n  app.users:\n    columns:\n      email: hash_email\n",
            my,
        );
        assert_eq!(report.collected, 1, "{report}");
        assert_eq!(report.exit_code(), exit::LEAK);
        assert!(
            report
                .hits
                .contains_key(&("app.users".into(), "email".into())),
            "{report}"
        );
    }
}
