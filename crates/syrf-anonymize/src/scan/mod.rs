//! `syrf-anonymize scan`: finds field paths and columns that no rule covers whose string values
//! look like personal data (email addresses, phone numbers, IPv4 and IPv6 addresses, long random
//! tokens, names from the `fake` crate's dictionaries), in a mongodump archive or a
//! MySQL/MariaDB or PostgreSQL dump (gzip or not).
//!
//! MongoDB: a rule covers a path when its steps equal the path or are a prefix of it; numeric
//! steps (array positions) are ignored on both sides. Which collections a run drops, and the
//! rules of the others, come from mongo-archive's policy ([`mongo_archive::namespace_fate`]);
//! oplog entries are read with [`mongo_archive::oplog_read`] and counted at their target
//! collection. Field names that came from the data are reported as `<key>`. SQL: tables resolve as in a run
//! ([`anonymize_core::Anonymizer::resolve`]); excluded and `schema_only` tables are skipped; a
//! column is covered by a rule on it, and JSON inside a column is walked below rules on its
//! paths (the `sql` module). The report holds counts and the first document's or row's
//! position, never a value unless [`ScanOptions::show_values`] is set.
//!
//! ```
//! let archive = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/syrf-sample.archive"))?;
//! let report = syrf_anonymize::scan::scan(&archive[..], None, &Default::default())?;
//! assert!(report.findings.iter().any(|f| f.path == "Email"));
//! let yaml = report.suggest();
//! anonymize_core::RuleSet::from_yaml(&yaml, "suggested.yaml")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::io::Read;

use anonymize_core::{Anonymizer, PlanNode, RuleSet};
use bson::raw::{RawBsonRef, RawDocument};
use mongo_archive::oplog_read::{self, Data, Operation};
use mongo_archive::reader::{ArchiveReader, Item};
use mongo_archive::{CollectionKind, NamespaceFate, OplogError, RewriteOptions};

use crate::formats::Format;
use crate::inspect::InspectError;
use crate::open::open;

mod report;
mod sql;

use report::{anonymizer, shown_path, sort, Tallies};
pub use report::{classify, Finding, Kind, NameKind, ScanOptions, ScanReport};

/// Nesting depth beyond which a document is rejected.
const MAX_DEPTH: usize = 200;

/// Scans a mongodump archive or a MySQL/MariaDB or PostgreSQL dump, gzip or not, against
/// `rules` (`None`: nothing is covered), in one streaming pass. Rules a run would refuse
/// (overlapping paths) are a [`InspectError::Usage`] error for a SQL dump.
pub fn scan(
    input: impl Read + Send,
    rules: Option<&RuleSet>,
    options: &ScanOptions,
) -> Result<ScanReport, InspectError> {
    std::thread::scope(|scope| {
        let opened = open(scope, Box::new(input), "input", None, None)?;
        let (format, reader) = crate::open::readable(opened)?;
        match format {
            Format::Mongo => scan_archive(reader, rules, options),
            f => sql::scan_sql(reader, f == Format::MySql, rules, options),
        }
    })
}

fn is_index(step: &str) -> bool {
    !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit())
}

/// The rule paths below `node` (numeric steps dropped), as `scan` compares them with a
/// document's paths.
fn rule_paths(node: &PlanNode, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if node.rule().is_some() {
        out.push(prefix.clone());
        return;
    }
    for name in node.child_names() {
        let Some(child) = node.child(name) else {
            continue;
        };
        let step = String::from_utf8_lossy(name).into_owned();
        let numeric = is_index(&step);
        if !numeric {
            prefix.push(step);
        }
        rule_paths(child, prefix, out);
        if !numeric {
            prefix.pop();
        }
    }
}

/// What a run does with a namespace, as `scan` needs it: `None` when its documents are not
/// written (excluded, not selected, users and roles, images, `schema_only`), else the rule
/// paths covering it.
fn covering(fate: &NamespaceFate<'_>) -> Option<Vec<Vec<String>>> {
    if !fate.documents_kept() {
        return None;
    }
    let mut out = Vec::new();
    if let Some(root) = fate.plan {
        rule_paths(root, &mut Vec::new(), &mut out);
    }
    Some(out)
}

struct CollState {
    name: String,
    /// `None`: a run drops its documents.
    covered: Option<Vec<Vec<String>>>,
    /// Documents read, and oplog operations routed to it.
    documents: u64,
    tallies: Tallies,
    /// Its documents are oplog entries (never reported as a collection).
    oplog: bool,
}

/// The collections of an archive scan, by body namespace and by oplog target name.
struct Colls<'a> {
    anon: &'a Anonymizer,
    options: RewriteOptions,
    states: Vec<CollState>,
    by_body: Vec<Option<usize>>,
    by_name: HashMap<String, Option<usize>>,
}

impl Colls<'_> {
    /// The state of an oplog entry's target namespace; `None` when a run drops its entries.
    fn target(&mut self, ns: &str) -> Result<Option<usize>, InspectError> {
        if let Some(&i) = self.by_name.get(ns) {
            return Ok(i);
        }
        let fate = mongo_archive::oplog_target_fate(ns, self.anon, &self.options).map_err(|e| {
            InspectError::Usage(format!("mongodump archive: oplog entry for `{ns}`: {e}"))
        })?;
        let i = covering(&fate).map(|covered| {
            self.states.push(CollState {
                name: ns.to_owned(),
                covered: Some(covered),
                documents: 0,
                tallies: Tallies::default(),
                oplog: false,
            });
            self.states.len() - 1
        });
        self.by_name.insert(ns.to_owned(), i);
        Ok(i)
    }
}

fn scan_archive(
    input: impl Read,
    rules: Option<&RuleSet>,
    options: &ScanOptions,
) -> Result<ScanReport, InspectError> {
    let anon = match rules {
        Some(r) => anonymizer(r)?,
        None => anonymizer(&RuleSet::empty())?,
    };
    let mut reader = ArchiveReader::new(input);
    let mut colls = Colls {
        anon: &anon,
        // A run's defaults: users and roles dropped, the oplog applied.
        options: RewriteOptions::default(),
        states: Vec::new(),
        by_body: Vec::new(),
        by_name: HashMap::new(),
    };
    let mut prelude: Vec<(String, String, CollectionKind)> = Vec::new();
    let mut report = ScanReport::default();
    loop {
        let item = reader
            .next_item()
            .map_err(|e| InspectError::BadInput(format!("mongodump archive: {e}")))?;
        match item {
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
                let name = format!("{}.{}", namespace.db, namespace.collection);
                let Some((db, coll, kind)) = prelude.get(namespace.prelude) else {
                    return Err(InspectError::BadInput(format!(
                        "mongodump archive: `{name}` is not in the prelude"
                    )));
                };
                let fate = mongo_archive::namespace_fate(db, coll, kind, &anon, &colls.options)
                    .map_err(|e| {
                        InspectError::Usage(format!("mongodump archive: `{name}`: {e}"))
                    })?;
                let state = CollState {
                    covered: covering(&fate),
                    oplog: fate.oplog,
                    name: name.clone(),
                    documents: 0,
                    tallies: Tallies::default(),
                };
                colls.states.push(state);
                let i = colls.states.len() - 1;
                if colls.by_body.len() <= ns {
                    colls.by_body.resize(ns + 1, None);
                }
                colls.by_body[ns] = Some(i);
                colls.by_name.entry(name).or_insert(Some(i));
            }
            Item::Document {
                ns, raw, offset, ..
            } => {
                let Some(&Some(i)) = colls.by_body.get(ns) else {
                    return Err(InspectError::BadInput(format!(
                        "mongodump archive: offset {offset}: a document before its namespace header"
                    )));
                };
                report.documents += 1;
                let state = &mut colls.states[i];
                state.documents += 1;
                if state.oplog {
                    let at = format!("mongodump archive: offset {offset}, {}", state.name);
                    scan_oplog_entry(raw, &mut colls, options.show_values)
                        .map_err(|m| InspectError::BadInput(format!("{at}: {m}")))?;
                    continue;
                }
                let Some(covered) = &state.covered else {
                    continue;
                };
                let mut walk = Walk {
                    covered,
                    document: state.documents,
                    show_values: options.show_values,
                    tallies: &mut state.tallies,
                    path: Vec::new(),
                };
                let walked = RawDocument::from_bytes(raw)
                    .map_err(|e| e.to_string())
                    .and_then(|doc| walk.doc(doc, 0));
                if let Err(m) = walked {
                    return Err(InspectError::BadInput(format!(
                        "mongodump archive: offset {offset}, {}: {m}",
                        state.name
                    )));
                }
            }
            Item::End => break,
            _ => {}
        }
    }
    for state in colls.states {
        if state.oplog {
            continue;
        }
        if state.covered.is_none() {
            report.excluded.push(state.name);
            continue;
        }
        state.tallies.findings(&state.name, &mut report.findings);
    }
    sort(&mut report.findings);
    Ok(report)
}

/// One oplog entry: the data of each operation counted at its target collection, by the
/// rules of that collection (entries a run drops are skipped).
fn scan_oplog_entry(raw: &[u8], colls: &mut Colls<'_>, show_values: bool) -> Result<(), String> {
    let mut failed: Option<String> = None;
    let mut visit = |op: Operation<'_>| -> Result<(), OplogError> {
        if failed.is_some() {
            return Ok(());
        }
        let i = match colls.target(op.ns) {
            Ok(Some(i)) => i,
            Ok(None) => return Ok(()),
            Err(e) => {
                failed = Some(e.to_string());
                return Ok(());
            }
        };
        let state = &mut colls.states[i];
        let Some(covered) = &state.covered else {
            return Ok(());
        };
        state.documents += 1;
        let mut walk = Walk {
            covered,
            document: state.documents,
            show_values,
            tallies: &mut state.tallies,
            path: Vec::new(),
        };
        op.data(&mut |d| {
            if failed.is_none() {
                if let Err(m) = walk.data(&d) {
                    failed = Some(m);
                }
            }
        })
    };
    oplog_read::operations(raw, &mut visit).map_err(|e| format!("oplog entry: {e}"))?;
    failed.map_or(Ok(()), Err)
}

struct Walk<'a> {
    covered: &'a [Vec<String>],
    document: u64,
    show_values: bool,
    tallies: &'a mut Tallies,
    path: Vec<String>,
}

impl Walk<'_> {
    /// One place of an oplog operation holding document data.
    fn data(&mut self, d: &Data<'_>) -> Result<(), String> {
        let doc = |b: &[u8]| {
            RawDocument::from_bytes(b)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let steps = |p: &[&[u8]]| -> Vec<String> {
            p.iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .filter(|s| !is_index(s))
                .collect()
        };
        match d {
            Data::Fields { prefix, doc: bytes } => {
                doc(bytes)?;
                self.path = steps(prefix);
                self.doc(
                    RawDocument::from_bytes(bytes).map_err(|e| e.to_string())?,
                    0,
                )?;
            }
            Data::Paths(bytes) => {
                doc(bytes)?;
                for elem in RawDocument::from_bytes(bytes).map_err(|e| e.to_string())? {
                    let (key, value) = elem.map_err(|e| format!("malformed BSON: {e}"))?;
                    self.path = key
                        .split('.')
                        .filter(|s| !is_index(s))
                        .map(str::to_owned)
                        .collect();
                    self.value(value, 0)?;
                }
            }
            Data::Elements { prefix, doc: bytes } => {
                doc(bytes)?;
                for elem in RawDocument::from_bytes(bytes).map_err(|e| e.to_string())? {
                    let (key, value) = elem.map_err(|e| format!("malformed BSON: {e}"))?;
                    if key.strip_prefix('u').is_some_and(is_index) {
                        self.path = steps(prefix);
                        self.value(value, 0)?;
                    }
                }
            }
        }
        self.path.clear();
        Ok(())
    }

    fn doc(&mut self, doc: &RawDocument, depth: usize) -> Result<(), String> {
        for elem in doc {
            let (key, value) = elem.map_err(|e| format!("malformed BSON: {e}"))?;
            let numeric = is_index(key);
            if !numeric {
                self.path.push(key.to_owned());
            }
            let r = self.value(value, depth);
            if !numeric {
                self.path.pop();
            }
            r?;
        }
        Ok(())
    }

    fn is_covered(&self) -> bool {
        self.covered
            .iter()
            .any(|rule| rule.len() <= self.path.len() && self.path[..rule.len()] == rule[..])
    }

    fn value(&mut self, value: RawBsonRef<'_>, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("documents nested deeper than {MAX_DEPTH} levels"));
        }
        if self.is_covered() {
            return Ok(());
        }
        match value {
            RawBsonRef::Document(d) => self.doc(d, depth + 1),
            RawBsonRef::Array(a) => {
                for item in a {
                    let item = item.map_err(|e| format!("malformed BSON array: {e}"))?;
                    self.value(item, depth + 1)?;
                }
                Ok(())
            }
            RawBsonRef::String(s) => {
                let path = shown_path(&self.path, 0);
                self.tallies
                    .string(&path, s, self.document, None, self.show_values);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::report::phone_named;
    use super::*;

    /// `covering` of `db.coll` as a default run decides it.
    fn cov(rules: &RuleSet, db: &str, coll: &str) -> Option<Vec<Vec<String>>> {
        let anon = anonymizer(rules).unwrap();
        let kind = mongo_archive::CollectionKind::Collection;
        let fate =
            mongo_archive::namespace_fate(db, coll, &kind, &anon, &RewriteOptions::default())
                .unwrap();
        covering(&fate)
    }

    #[test]
    fn coverage_ignores_array_positions_and_skips_dropped_collections() {
        let rules = RuleSet::from_yaml(
            "rules:\n  app.users:\n    fields:\n      Authors.0.Email: hash_email\n  \
             other:\n    fields:\n      a: hash\nexclusions: [sessions]\nschema_only: [logs]\n",
            "t.yaml",
        )
        .unwrap();
        let c = cov(&rules, "app", "users").unwrap();
        assert_eq!(c, [vec!["Authors".to_owned(), "Email".to_owned()]]);
        assert!(cov(&rules, "app", "other").unwrap().len() == 1);
        assert!(cov(&rules, "db2", "users").unwrap().is_empty());
        assert!(cov(&rules, "app", "sessions").is_none());
        assert!(cov(&rules, "app", "logs").is_none());
        let none = RuleSet::empty();
        for (db, coll) in [
            ("admin", "system.users"),
            ("admin", "tempusers"),
            ("config", "system.preimages"),
            ("config", "image_collection"),
        ] {
            assert!(cov(&none, db, coll).is_none(), "{db}.{coll}");
        }
        let kept = RuleSet::from_yaml("collections: [users]\n", "k.yaml").unwrap();
        assert!(cov(&kept, "app", "users").is_some());
        assert!(cov(&kept, "app", "logs").is_none());
    }

    #[test]
    fn suggestions_do_not_overlap() {
        let finding = |path: &str, kind| Finding {
            collection: "app.t".to_owned(),
            path: path.to_owned(),
            kind,
            count: 1,
            in_text: 0,
            first_document: 1,
            line: None,
            example: None,
        };
        let report = ScanReport {
            findings: vec![
                finding("Reviewer", Kind::Email),
                finding("Reviewer.Email", Kind::Email),
                finding("Reviewer\\.x", Kind::Phone),
                finding("ReviewerIp", Kind::Ipv4),
            ],
            ..ScanReport::default()
        };
        let yaml = report.suggest();
        let rules = RuleSet::from_yaml(&yaml, "s.yaml").unwrap();
        anonymize_core::Anonymizer::new(rules.clone(), anonymize_core::KeyMode::Unkeyed).unwrap();
        let mut paths: Vec<&str> = rules.tables[0]
            .fields
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        paths.sort_unstable();
        assert_eq!(paths, ["Reviewer", "ReviewerIp", "Reviewer\\.x"], "{yaml}");
    }

    #[test]
    fn bare_digits_are_phones_only_in_phone_named_fields() {
        for path in [
            "phone",
            "address.phone",
            "mobile_no",
            "homePhone",
            "tel",
            "fax_number",
        ] {
            assert!(phone_named(path), "{path}");
        }
        for path in [
            "hotel",
            "id",
            "postal_code",
            "telemetry",
            "phone_id.x",
            "amount",
        ] {
            assert!(!phone_named(path), "{path}");
        }
        let mut t = Tallies::default();
        t.string("phone", "14033335568", 1, None, false);
        t.string("postal_code", "14033335568", 1, None, false);
        t.string("phone", "12", 2, None, false);
        let mut out = Vec::new();
        t.findings("users", &mut out);
        let phones: Vec<_> = out
            .iter()
            .filter(|f| f.kind == Kind::Phone)
            .map(|f| (f.path.as_str(), f.count))
            .collect();
        assert_eq!(phones, [("phone", 1)]);
    }

    #[test]
    fn classifies() {
        assert_eq!(classify("write to a.b@example.org please"), [Kind::Email]);
        assert_eq!(classify("call +44 20 7946 0958"), [Kind::Phone]);
        assert_eq!(classify("(555) 123-4567"), [Kind::Phone]);
        assert!(classify("2020-01-15").is_empty());
        assert!(classify("2006-02-15 04:34:33").is_empty());
        assert!(classify("[\"2022-05-24 22:53:30+00\",\"2022-05-25 22:04:30+00\")").is_empty());
        assert!(classify("2022-01-24 23:06:36.431+00").is_empty());
        assert!(classify("3.14159265").is_empty());
        assert!(classify("12345678").is_empty());
        assert_eq!(classify("from 192.168.1.20 at noon"), [Kind::Ipv4]);
        assert!(classify("featureCompatibilityVersion").is_empty());
        assert!(classify("version 1.2.3.4.5").is_empty());
        assert_eq!(classify("auth0|5f7c1a2b3c4d5e6f7a8b9c0d"), [Kind::Token]);
        assert!(classify("123e4567-e89b-12d3-a456-426614174000").is_empty());
        assert!(classify("a perfectly ordinary sentence about rats").is_empty());
        assert!(classify("abcdefghijklmnopqrstuvwxyz").is_empty());
        assert!(classify("@handle and x@y").is_empty());
        assert_eq!(classify("client 2001:db8::8a2e:370:7334 at"), [Kind::Ipv6]);
        assert_eq!(classify("fe80::1ff:fe23:4567:890a"), [Kind::Ipv6]);
        assert!(classify("12:30:45").is_empty());
        assert!(classify("std::fmt::Display and ::1").is_empty());
    }
}
