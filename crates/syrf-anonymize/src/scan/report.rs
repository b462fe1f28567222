//! The scan report and what fills it: [`ScanOptions`], [`Kind`], [`Finding`], [`ScanReport`]
//! (with its suggested rules and its text), the per-path tallies both scans count into, path
//! spelling, and the value detectors ([`classify`]). Imported by the archive scan (the parent
//! module) and the SQL scan (`scan::sql`); it imports neither.

use std::collections::BTreeMap;
use std::fmt;

use anonymize_core::{Anonymizer, Key, KeyMode, RuleSet};

use crate::inspect::InspectError;
pub use crate::scan_names::NameKind;
use crate::scan_names::NameStats;

/// Characters kept of an example value (with `show_values`).
const MAX_EXAMPLE_CHARS: usize = 80;

/// Distinct paths per collection or table whose values are counted for names.
const MAX_NAME_PATHS: usize = 10_000;

/// How to scan; the default shows no value.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Keep the first value of every finding as an example (off by default: values from the
    /// data are never printed without it).
    pub show_values: bool,
}

/// What a value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An email address, anywhere in the text.
    Email,
    /// A phone number: 7 to 15 digits with separators (space, `-`, `.`, `(`, `)`) or a
    /// leading `+`; dates and plain decimal numbers are not counted. In a field or column
    /// whose name says phone (`phone`, `mobile`, `fax`, `tel`, `cell`), 7 to 15 bare digits
    /// count too.
    Phone,
    /// A dotted IPv4 address.
    Ipv4,
    /// An IPv6 address (not `::` nor `::1`).
    Ipv6,
    /// A run of at least 24 characters of `[A-Za-z0-9_-]` mixing letters and digits (API
    /// keys, session ids, password-reset tokens); canonical UUIDs are not counted.
    Token,
    /// First or last names from the `fake` crate's dictionaries, reported for a path only when
    /// enough of its values are names (see [`crate::scan_names`]).
    Name(NameKind),
}

impl Kind {
    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Token => "token",
            Kind::Name(_) => "name",
        }
    }

    /// The transform `--suggest` proposes, as a YAML flow mapping.
    pub fn suggested_transform(self) -> &'static str {
        match self {
            Kind::Email => "{transform: hash_email}",
            Kind::Phone => "{transform: digits}",
            Kind::Ipv4 => "{transform: fake, kind: ipv4}",
            Kind::Ipv6 => "{transform: fake, kind: ipv6}",
            Kind::Token => "{transform: hash}",
            Kind::Name(NameKind::First) => "{transform: fake, kind: first_name}",
            Kind::Name(NameKind::Last) => "{transform: fake, kind: last_name}",
            Kind::Name(NameKind::Full) => "{transform: fake, kind: name}",
            Kind::Name(NameKind::InText) => "{transform: fake, kind: paragraph}",
        }
    }

    /// What a report says after the count: `values`, or for names which names they are.
    fn counted(self) -> &'static str {
        match self {
            Kind::Name(NameKind::First) => "values are first names",
            Kind::Name(NameKind::Last) => "values are last names",
            Kind::Name(NameKind::Full) => "values are full names",
            Kind::Name(NameKind::InText) => "values mention full names",
            _ => "values",
        }
    }
}

/// One kind of personal-looking value found at one uncovered path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `db.collection`, or the SQL table as a rules file names it (`schema.table`,
    /// `db.table` or bare).
    pub collection: String,
    /// The field path, steps joined by `.` (array positions left out; a dot or backslash
    /// inside a field name escaped with `\`, as in a rules file; a field name that came from
    /// the data, such as an e-mail address used as a key, written `<key>`). SQL: the column,
    /// then the path inside its JSON, if any.
    pub path: String,
    /// What the values look like.
    pub kind: Kind,
    /// How many string values at the path looked like it.
    pub count: u64,
    /// How many of those held it inside longer text (a note quoting an address, a log line
    /// with an IP) rather than being one: `--suggest` then proposes a text-level transform.
    pub in_text: u64,
    /// The 1-based position, in its collection or table, of the first document or row holding
    /// one.
    pub first_document: u64,
    /// SQL: the 1-based line of the dump where that row starts.
    pub line: Option<u64>,
    /// The first such value (cut to 80 characters), only with [`ScanOptions::show_values`].
    pub example: Option<String>,
}

/// The result of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Findings, by collection, path and kind.
    pub findings: Vec<Finding>,
    /// Documents or rows read (excluded collections and tables included).
    pub documents: u64,
    /// True for a SQL dump (the report counts rows and names tables).
    pub sql: bool,
    /// SQL: findings at more than 10,000 distinct paths in one table were folded into their
    /// column (JSON documents keyed by data).
    pub folded: bool,
    /// Collections whose documents a run drops, as mongo-archive's policy decides: excluded
    /// by the rules or not in their `collections` list, `schema_only`, users and roles
    /// (`admin.system.users`/`system.roles`, `admin.tempusers`/`temproles`, dropped by a
    /// run unless `--keep-users`), pre/post image collections; SQL tables excluded, not
    /// selected or `schema_only`.
    pub excluded: Vec<String>,
}

impl ScanReport {
    /// A starting rules file covering every finding: per path, the transform of its most
    /// frequent kind (`hash_email`, `digits`, `fake` ipv4/ipv6/first_name/last_name/name,
    /// `hash`). Collections are keyed `db.collection`, tables as [`Finding::collection`]. SQL
    /// values of unknown columns (`?`: no column list and no `CREATE TABLE`) cannot be named
    /// and are listed as comments. [`RuleSet::from_yaml`] accepts it.
    pub fn suggest(&self) -> String {
        // Per path: the most frequent kind, and whether any value held personal data inside
        // longer text (then only a transform of the whole text is safe: `digits` would leave
        // the words around a phone number, `hash_email` would turn a note into an address).
        let mut by_coll: BTreeMap<&str, BTreeMap<&str, (u64, Kind, bool)>> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut keyed = Vec::new();
        for f in &self.findings {
            if f.path == UNKNOWN_COLUMN {
                unknown.push(&f.collection);
                continue;
            }
            if has_data_key(&f.path) {
                keyed.push((&f.collection, &f.path));
                continue;
            }
            let best = by_coll
                .entry(&f.collection)
                .or_default()
                .entry(&f.path)
                .or_insert((0, f.kind, false));
            best.2 |= f.in_text > 0 || f.kind == Kind::Name(NameKind::InText);
            // Most frequent kind; on a tie the earlier kind (email first).
            if f.count > best.0 || (f.count == best.0 && f.kind < best.1) {
                (best.0, best.1) = (f.count, f.kind);
            }
        }
        let mut out = String::new();
        for t in unknown {
            out.push_str(&format!(
                "# {t}: personal-looking values in columns the dump does not name (no column list, no CREATE TABLE): add rules by hand\n"
            ));
        }
        keyed.dedup();
        for (c, p) in keyed {
            out.push_str(&format!(
                "# {c} {p}: personal-looking values below field names taken from the data (`<key>`); a rule names fixed fields: cover the field above them by hand\n"
            ));
        }
        if by_coll.is_empty() {
            out.push_str(
                "# Suggested by `syrf-anonymize scan --suggest`: nothing found.\nrules: {}\n",
            );
            return out;
        }
        out.push_str(
            "# Suggested by `syrf-anonymize scan --suggest`: review every rule before use.\nrules:\n",
        );
        for (coll, paths) in by_coll {
            out.push_str(&format!("  {}:\n    fields:\n", yaml_string(coll)));
            for (path, (_, kind, in_text)) in &paths {
                // A rule on a field covers what lies below it (a field that is text in some
                // documents and a sub-document in others): rules on both would overlap.
                let below = |p: &str| path.strip_prefix(p).is_some_and(|r| r.starts_with('.'));
                if paths.keys().any(|p| below(p)) {
                    continue;
                }
                let transform = if *in_text {
                    TEXT_TRANSFORM
                } else {
                    kind.suggested_transform()
                };
                out.push_str(&format!("      {}: {}\n", yaml_string(path), transform));
            }
        }
        out
    }

    /// The exit code for `--strict`: 4 when anything was found, else 0.
    pub fn strict_exit_code(&self) -> i32 {
        if self.findings.is_empty() {
            crate::exit::SUCCESS
        } else {
            crate::exit::STRICT
        }
    }
}

/// What `--suggest` proposes for free text holding personal data: the whole text replaced.
const TEXT_TRANSFORM: &str = "{transform: fake, kind: paragraph}";

/// True when `value` is one `kind` as a whole (an address, a number, a token), not text that
/// holds one among other words or structure.
fn is_whole(kind: Kind, value: &str) -> bool {
    let v = value.trim();
    let only = |ok: &dyn Fn(char) -> bool| v.chars().all(ok);
    match kind {
        Kind::Email => {
            v.matches('@').count() == 1 && only(&|c| c.is_alphanumeric() || "._%+-@'".contains(c))
        }
        Kind::Phone => only(&|c| c.is_ascii_digit() || " -.()+/".contains(c)),
        Kind::Ipv4 => only(&|c| c.is_ascii_digit() || c == '.'),
        Kind::Ipv6 => only(&|c| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '%'),
        // API keys, session ids, password hashes (`$2y$12$…`, `$argon2id$v=19$…`).
        Kind::Token => only(&|c| c.is_ascii_alphanumeric() || "_-$./+=,".contains(c)),
        Kind::Name(k) => k != NameKind::InText,
    }
}

/// A double-quoted YAML scalar (JSON string syntax, which YAML accepts).
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (records, record, unit) = if self.sql {
            ("rows", "row", "columns")
        } else {
            ("documents", "document", "fields")
        };
        writeln!(
            f,
            "scan: {} {records} read; {} finding(s) in {unit} no rule covers",
            self.documents,
            self.findings.len()
        )?;
        for c in &self.excluded {
            writeln!(
                f,
                "  {c}: skipped (a run drops its documents: excluded, not kept, schema only, users/roles or pre/post images)"
            )?;
        }
        if self.folded {
            writeln!(
                f,
                "  (some tables have more than 10,000 JSON paths; further findings are counted at their column)"
            )?;
        }
        for x in &self.findings {
            write!(
                f,
                "  {} {}: {} ({} {}, first in {record} {}",
                x.collection,
                x.path,
                x.kind.name(),
                x.count,
                x.kind.counted(),
                x.first_document
            )?;
            if let Some(line) = x.line {
                write!(f, ", line {line}")?;
            }
            write!(f, ")")?;
            if let Some(e) = &x.example {
                write!(f, " e.g. {e:?}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Builds the resolver of namespaces, table names and rule paths (mongo-archive's policy and
/// sql-dump's catalog take an [`Anonymizer`]). No transform runs, so any key does.
pub(crate) fn anonymizer(rules: &RuleSet) -> Result<Anonymizer, InspectError> {
    let key = Key::from_bytes(&[0x5a; 32]).map_err(|e| InspectError::Usage(e.to_string()))?;
    Anonymizer::new(rules.clone(), KeyMode::Keyed(key))
        .map_err(|e| InspectError::Usage(e.to_string()))
}

/// The path of SQL values whose column is not known.
pub(crate) const UNKNOWN_COLUMN: &str = "?";

/// One kind at one path: count and first position.
#[derive(Default)]
struct Tally {
    count: u64,
    in_text: u64,
    first_document: u64,
    line: Option<u64>,
    example: Option<String>,
}

impl Tally {
    fn hit(&mut self, document: u64, line: Option<u64>, value: &str, show_values: bool) {
        if self.count == 0 {
            self.first_document = document;
            self.line = line;
            if show_values {
                self.example = Some(value.chars().take(MAX_EXAMPLE_CHARS).collect());
            }
        }
        self.count += 1;
    }
}

/// The counts of one collection or table, by path.
#[derive(Default)]
pub(crate) struct Tallies {
    kinds: BTreeMap<(String, Kind), Tally>,
    names: BTreeMap<String, (NameStats, Tally)>,
}

impl Tallies {
    /// Distinct paths counted.
    pub(crate) fn paths(&self) -> usize {
        self.names.len()
    }

    /// True when `path` already has counts.
    pub(crate) fn has_path(&self, path: &str) -> bool {
        self.names.contains_key(path)
    }

    /// Counts one string value at `path` of document or row `document` (SQL: at `line`).
    pub(crate) fn string(
        &mut self,
        path: &str,
        value: &str,
        document: u64,
        line: Option<u64>,
        show_values: bool,
    ) {
        if value.trim().is_empty() {
            return;
        }
        let mut kinds = classify(value);
        if !kinds.contains(&Kind::Phone) && is_bare_phone(value) && phone_named(path) {
            kinds.push(Kind::Phone);
        }
        for kind in kinds {
            let tally = self.kinds.entry((path.to_owned(), kind)).or_default();
            tally.hit(document, line, value, show_values);
            if !is_whole(kind, value) {
                tally.in_text += 1;
            }
        }
        // Bounded memory: beyond this many paths, new ones are not checked for names.
        let full = self.names.len() >= MAX_NAME_PATHS;
        let (stats, tally) = match self.names.get_mut(path) {
            Some(e) => e,
            None if full => return,
            None => self.names.entry(path.to_owned()).or_default(),
        };
        if stats.add(value) {
            tally.hit(document, line, value, show_values);
        }
    }

    /// Appends the findings of collection or table `name` to `out`.
    pub(crate) fn findings(self, name: &str, out: &mut Vec<Finding>) {
        for ((path, kind), t) in self.kinds {
            out.push(Finding {
                collection: name.to_owned(),
                path,
                kind,
                count: t.count,
                in_text: t.in_text,
                first_document: t.first_document,
                line: t.line,
                example: t.example,
            });
        }
        for (path, (stats, t)) in self.names {
            let verdict = stats
                .verdict()
                .map(|k| crate::scan_names::hinted(&path, k))
                .or_else(|| stats.named_field_verdict(name, &path));
            if let Some(k) = verdict {
                out.push(Finding {
                    collection: name.to_owned(),
                    path,
                    kind: Kind::Name(k),
                    count: stats.matches().max(stats.shaped),
                    in_text: u64::from(k == NameKind::InText) * stats.in_text,
                    first_document: t.first_document,
                    line: t.line,
                    example: t.example,
                });
            }
        }
    }
}

/// Sorts findings by collection, path and kind.
pub(crate) fn sort(findings: &mut [Finding]) {
    findings
        .sort_by(|a, b| (&a.collection, &a.path, a.kind).cmp(&(&b.collection, &b.path, b.kind)));
}

/// [`join_path`] with every step from `skip` on that came from the data (a sub-document keyed
/// by e-mail addresses, ids, dates: [`crate::data_keys`]) written `<key>`.
pub(crate) fn shown_path<S: AsRef<str>>(steps: &[S], skip: usize) -> String {
    let shown: Vec<&str> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < skip {
                s.as_ref()
            } else {
                crate::data_keys::shown(s.as_ref())
            }
        })
        .collect();
    join_path(&shown)
}

/// True when a reported path has a step from the data (written `<key>`).
fn has_data_key(path: &str) -> bool {
    path.split('.').any(|s| s == crate::data_keys::PLACEHOLDER)
}

/// A path's steps joined by `.`, a dot or backslash inside a step escaped with `\`.
pub(crate) fn join_path<S: AsRef<str>>(steps: &[S]) -> String {
    steps
        .iter()
        .map(|s| s.as_ref().replace('\\', "\\\\").replace('.', "\\."))
        .collect::<Vec<_>>()
        .join(".")
}

/// The kinds of personal data a string looks like (each at most once).
pub fn classify(s: &str) -> Vec<Kind> {
    let mut kinds = Vec::new();
    let email = has_email(s);
    if email {
        kinds.push(Kind::Email);
    }
    if has_phone(s) {
        kinds.push(Kind::Phone);
    }
    if has_ipv4(s) {
        kinds.push(Kind::Ipv4);
    }
    if has_ipv6(s) {
        kinds.push(Kind::Ipv6);
    }
    if !email && has_token(s) {
        kinds.push(Kind::Token);
    }
    kinds
}

/// An e-mail address in `s`, also where its `@` is URL-encoded (`%40`) or a JSON escape
/// (`\u0040`), as in links and in JSON kept as text.
fn has_email(s: &str) -> bool {
    has_plain_email(s)
        || (s.contains("%40") && has_plain_email(&s.replace("%40", "@")))
        || (s.contains("\\u0040") && has_plain_email(&s.replace("\\u0040", "@")))
}

fn has_plain_email(s: &str) -> bool {
    let b = s.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || b"._%+-".contains(&c);
    let domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
    b.iter().enumerate().any(|(i, &c)| {
        if c != b'@' || i == 0 || !local(b[i - 1]) {
            return false;
        }
        let end = b[i + 1..]
            .iter()
            .position(|&c| !domain(c))
            .map_or(b.len(), |p| i + 1 + p);
        let dom = s[i + 1..end].trim_end_matches('.');
        match dom.rsplit_once('.') {
            Some((host, tld)) => {
                !host.is_empty()
                    && !host.starts_with('.')
                    && tld.len() >= 2
                    && tld.bytes().all(|c| c.is_ascii_alphabetic())
            }
            None => false,
        }
    })
}

fn has_phone(s: &str) -> bool {
    let b = s.as_bytes();
    let part = |c: u8| c.is_ascii_digit() || b" -.()+".contains(&c);
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_digit() || b[i] == b'+' || b[i] == b'(') {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && part(b[i]) {
            i += 1;
        }
        // Glued to letters or other digits-ish text (an id, a version, a time, a path): not a
        // phone.
        let glue = |c: u8| c.is_ascii_alphanumeric() || c == b':' || c == b'/';
        let glued = (start > 0 && glue(b[start - 1])) || (i < b.len() && glue(b[i]));
        let run = s[start..i].trim_end_matches([' ', '-', '.', '(']);
        if !glued && looks_like_phone(run) {
            return true;
        }
    }
    false
}

fn looks_like_phone(run: &str) -> bool {
    let digits = run.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return false;
    }
    let seps: Vec<u8> = run.bytes().filter(|c| !c.is_ascii_digit()).collect();
    if seps.is_empty() {
        return false;
    }
    if run.starts_with('+') {
        return true;
    }
    // A decimal number (one dot) or a date (4-2-2 or 2-2-4 groups) is not a phone.
    let groups: Vec<usize> = run
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    let ipv4 =
        groups.len() == 4 && groups.iter().all(|&g| g <= 3) && seps.iter().all(|&c| c == b'.');
    if seps == b"." || ipv4 || groups.starts_with(&[4, 2, 2]) || groups.starts_with(&[2, 2, 4]) {
        return false;
    }
    groups.len() >= 2
}

/// True when the last step of `path` names a phone number (`phone`, `mobile`, `fax`,
/// `cell`, `tel`, in any case, as a word of a `snake_case`, `kebab-case` or `camelCase`
/// name): there, bare digit strings are phones too.
pub(crate) fn phone_named(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let mut words = Vec::new();
    let mut word = String::new();
    for c in last.chars() {
        let boundary = c == '_' || c == '-' || c == ' ' || c.is_uppercase();
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    words.push(word);
    words.iter().any(|w| {
        w.contains("phone")
            || w.starts_with("mobile")
            || w.starts_with("fax")
            || (w.starts_with("tel") && !w.starts_with("tell") && !w.starts_with("telemetry"))
            || w == "cell"
            || w == "msisdn"
    })
}

/// A phone number written without separators: an optional `+` and 7 to 15 digits.
fn is_bare_phone(s: &str) -> bool {
    let d = s.trim();
    let d = d.strip_prefix('+').unwrap_or(d);
    (7..=15).contains(&d.len()) && d.bytes().all(|c| c.is_ascii_digit())
}

fn has_ipv4(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let glued = i < b.len() && b[i].is_ascii_alphanumeric();
        let run = s[start..i].trim_end_matches('.');
        let parts: Vec<&str> = run.split('.').collect();
        if !glued
            && parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.parse::<u16>().is_ok_and(|n| n <= 255))
        {
            return true;
        }
    }
    false
}

fn has_ipv6(s: &str) -> bool {
    let part = |c: char| c.is_ascii_hexdigit() || c == ':' || c == '.';
    s.split(|c: char| !part(c)).any(|run| {
        let run = run.trim_end_matches('.');
        run.len() >= 6
            && run.matches(':').count() >= 2
            && run.split(':').filter(|g| !g.is_empty()).count() >= 3
            && run
                .parse::<std::net::Ipv6Addr>()
                .is_ok_and(|ip| !ip.is_loopback() && !ip.is_unspecified())
    })
}

fn has_token(s: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    s.split(|c: char| !token(c)).any(|run| {
        if run.len() < 24 || is_uuid(run) {
            return false;
        }
        run.bytes().any(|c| c.is_ascii_alphabetic()) && run.bytes().any(|c| c.is_ascii_digit())
    })
}

fn is_uuid(run: &str) -> bool {
    let groups: Vec<&str> = run.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|c| c.is_ascii_hexdigit()))
}
