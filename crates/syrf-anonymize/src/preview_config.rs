//! The `#preview-config` block of a pull-request description, as `syrf-anonymize
//! preview-config` reads it.
//!
//! A PR description may hold one fenced YAML block whose first non-blank line starts with
//! `#preview-config`:
//!
//! ````markdown
//! ```yaml
//! #preview-config
//! database:
//!   source: snapshot        # seed (default) | snapshot | staging
//!   snapshotId: 2026-01-09  # latest (default) | YYYY-MM-DD, optionally with a suffix: 2026-01-09-daily
//!   anonymize: true         # must be true for snapshot
//!   collections: [pmProject, pmStudy]
//! ```
//! ````
//!
//! The block is validated (unknown keys are errors, so a misspelt `anonymise: false` cannot
//! slip through) and printed as `key=value` lines for `$GITHUB_OUTPUT`, or as JSON. Errors name
//! the line of the PR description.

use serde_yaml_ng::Value;

/// Where a preview environment's database comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbSource {
    /// The seed data (default).
    Seed,
    /// A production snapshot, anonymized.
    Snapshot,
    /// A copy of staging.
    Staging,
}

impl DbSource {
    /// The name used in the block and the output.
    pub fn name(self) -> &'static str {
        match self {
            DbSource::Seed => "seed",
            DbSource::Snapshot => "snapshot",
            DbSource::Staging => "staging",
        }
    }
}

/// A validated preview configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewConfig {
    /// `database.source`.
    pub source: DbSource,
    /// `database.snapshotId`: `latest` or a date with an optional suffix.
    pub snapshot_id: String,
    /// `database.anonymize`.
    pub anonymize: bool,
    /// `database.collections` (empty: all).
    pub collections: Vec<String>,
    /// 1-based line of the `#preview-config` marker, `None` when there was no block.
    pub line: Option<usize>,
}

impl Default for PreviewConfig {
    fn default() -> Self {
        PreviewConfig {
            source: DbSource::Seed,
            snapshot_id: "latest".to_owned(),
            anonymize: true,
            collections: Vec::new(),
            line: None,
        }
    }
}

/// A problem with the block, at a 1-based line of the PR description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("preview-config: line {line}: {message}")]
pub struct PreviewConfigError {
    /// Line of the PR description.
    pub line: usize,
    /// What is wrong (never more of the description than a key name).
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> PreviewConfigError {
    PreviewConfigError {
        line,
        message: message.into(),
    }
}

/// The fenced block: its marker line and its body lines (after the fence, up to the closing
/// fence), with their 1-based line numbers.
struct Block<'a> {
    marker_line: usize,
    lines: Vec<(usize, &'a str)>,
}

/// A fence opener: three or more backticks or tildes after at most three spaces.
fn fence(line: &str) -> Option<(char, usize, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = rest.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n, indent))
}

fn find_block(text: &str) -> Result<Option<Block<'_>>, PreviewConfigError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut found: Option<Block> = None;
    let mut i = 0;
    while i < lines.len() {
        let Some((c, n, _)) = fence(lines[i]) else {
            i += 1;
            continue;
        };
        let open = i;
        let mut close = None;
        let mut j = i + 1;
        while j < lines.len() {
            if let Some((c2, n2, _)) = fence(lines[j]) {
                if c2 == c && n2 >= n && lines[j].trim().chars().all(|x| x == c) {
                    close = Some(j);
                    break;
                }
            }
            j += 1;
        }
        let end = close.unwrap_or(lines.len());
        let first = (open + 1..end).find(|&k| !lines[k].trim().is_empty());
        let is_config = first.is_some_and(|k| lines[k].trim_start().starts_with("#preview-config"));
        if is_config {
            let k = first.unwrap_or(open);
            if close.is_none() {
                return Err(err(
                    open + 1,
                    "the #preview-config block's code fence is never closed",
                ));
            }
            if let Some(prev) = &found {
                return Err(err(
                    k + 1,
                    format!(
                        "a second #preview-config block (the first is at line {}); keep one",
                        prev.marker_line
                    ),
                ));
            }
            found = Some(Block {
                marker_line: k + 1,
                lines: (k..end).map(|x| (x + 1, lines[x])).collect(),
            });
        }
        i = end + 1;
    }
    Ok(found)
}

/// The line of the first `key:` of the block at or after `from`, or the marker line.
fn line_of(block: &Block, key: &str, from: usize) -> usize {
    block
        .lines
        .iter()
        .filter(|(n, _)| *n >= from)
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
                || t.strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|(n, _)| *n)
        .unwrap_or(block.marker_line)
}

/// True for `latest` or `YYYY-MM-DD` (a real calendar date) optionally followed by
/// `-suffix` (lowercase letters, digits, hyphens; e.g. `-daily`).
pub fn valid_snapshot_id(id: &str) -> bool {
    if id == "latest" {
        return true;
    }
    let b = id.as_bytes();
    if b.len() < 10 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if d == 0 || d > days {
        return false;
    }
    let suffix = &id[10..];
    suffix.is_empty()
        || (suffix.len() > 1
            && suffix.starts_with('-')
            && !suffix.ends_with('-')
            && !suffix.contains("--")
            && suffix[1..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'))
}

/// True for a collection name the restore can select: letters, digits, `_`, `-`, `.`, and not
/// starting with `.` or `system.`.
fn valid_collection(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 120
        && !name.starts_with('.')
        && !name.starts_with("system.")
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Finds and validates the `#preview-config` block of a PR description. No block gives the
/// defaults (`seed`, `latest`, anonymized, all collections).
pub fn parse(description: &str) -> Result<PreviewConfig, PreviewConfigError> {
    let Some(block) = find_block(description)? else {
        return Ok(PreviewConfig::default());
    };
    let mut config = PreviewConfig {
        line: Some(block.marker_line),
        ..PreviewConfig::default()
    };
    let yaml: String = block.lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let value: Value = serde_yaml_ng::from_str(&yaml).map_err(|e| {
        let line = e
            .location()
            .map(|l| block.marker_line + l.line().saturating_sub(1))
            .unwrap_or(block.marker_line);
        // The parser's message may quote the text; keep only its kind of problem.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or("invalid YAML");
        err(line, format!("invalid YAML: {msg}"))
    })?;
    let top = match value {
        Value::Null => return Ok(config),
        Value::Mapping(m) => m,
        other => {
            return Err(err(
                block.marker_line,
                format!("the block must be a mapping, found {}", type_name(&other)),
            ))
        }
    };
    let mut database = None;
    for (k, v) in top {
        match k.as_str() {
            Some("database") => database = Some(v),
            Some(other) => {
                return Err(err(
                    line_of(&block, other, 0),
                    format!("unknown key `{other}` (expected `database`)"),
                ))
            }
            None => return Err(err(block.marker_line, "keys must be strings")),
        }
    }
    let Some(database) = database else {
        return Ok(config);
    };
    let db_line = line_of(&block, "database", 0);
    let db = match database {
        Value::Null => return Ok(config),
        Value::Mapping(m) => m,
        other => {
            return Err(err(
                db_line,
                format!("`database` must be a mapping, found {}", type_name(&other)),
            ))
        }
    };
    let mut anonymize_line = None;
    for (k, v) in db {
        let Some(key) = k.as_str() else {
            return Err(err(db_line, "keys of `database` must be strings"));
        };
        let line = line_of(&block, key, db_line);
        match key {
            "source" => {
                config.source = match v.as_str() {
                    Some("seed") => DbSource::Seed,
                    Some("snapshot") => DbSource::Snapshot,
                    Some("staging") => DbSource::Staging,
                    _ => {
                        return Err(err(
                            line,
                            "`database.source` must be one of seed, snapshot, staging",
                        ))
                    }
                }
            }
            "snapshotId" => {
                match v.as_str() {
                    Some(id) if valid_snapshot_id(id) => config.snapshot_id = id.to_owned(),
                    _ => return Err(err(
                        line,
                        "`database.snapshotId` must be `latest` or a date YYYY-MM-DD, optionally \
                         with a suffix such as -daily",
                    )),
                }
            }
            "anonymize" => match v {
                Value::Bool(b) => {
                    config.anonymize = b;
                    anonymize_line = Some(line);
                }
                other => {
                    return Err(err(
                        line,
                        format!(
                            "`database.anonymize` must be true or false, found {}",
                            type_name(&other)
                        ),
                    ))
                }
            },
            "collections" => {
                let items = match v {
                    Value::Null => Vec::new(),
                    Value::Sequence(s) => s,
                    other => {
                        return Err(err(
                            line,
                            format!(
                                "`database.collections` must be a list, found {}",
                                type_name(&other)
                            ),
                        ))
                    }
                };
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(name) if valid_collection(name) => {
                            if !config.collections.iter().any(|c| c == name) {
                                config.collections.push(name.to_owned());
                            }
                        }
                        _ => {
                            return Err(err(
                                line,
                                format!(
                                    "`database.collections` item {} is not a collection name \
                                     (letters, digits, _ - .)",
                                    i + 1
                                ),
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(err(
                    line,
                    format!(
                        "unknown key `database.{other}` (expected source, snapshotId, anonymize, \
                         collections)"
                    ),
                ))
            }
        }
    }
    if config.source == DbSource::Snapshot && !config.anonymize {
        return Err(err(
            anonymize_line.unwrap_or(db_line),
            "`database.anonymize` must be true when `database.source` is snapshot: production \
             data is only ever restored anonymized",
        ));
    }
    Ok(config)
}

/// A collection added to a preview's list because a listed one references it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The collection added (as the reference names it).
    pub collection: String,
    /// The reference that pulled it in (`pmStudy.ProjectId -> pmProject._id`).
    pub by: String,
}

/// True when list item `item` (bare `pmProject` or qualified `syrftest.pmProject`) names the
/// collection a reference calls `name`.
fn names(item: &str, name: &str) -> bool {
    item == name
        || item
            .strip_suffix(name)
            .is_some_and(|db| db.ends_with('.') && db.len() > 1)
        || name
            .strip_suffix(item)
            .is_some_and(|db| db.ends_with('.') && db.len() > 1)
}

/// Preview subsets by need: adds to `config.collections` every collection that a listed one
/// references through the rules' declared `references:`, transitively (a PR asking for
/// `pmStudy` also gets `pmProject`, and through it `pmInvestigator`), so that no declared
/// reference of the preview points at a collection left out. An empty list (every
/// collection) is left as it is. Returns what was added, in order.
///
/// ```
/// use anonymize_core::RuleSet;
/// use syrf_anonymize::preview_config::{close_over_references, parse};
/// let mut config = parse("```\n#preview-config\ndatabase:\n  collections: [pmStudy]\n```\n").unwrap();
/// let rules = RuleSet::from_yaml(
///     "references:\n  pmStudy.ProjectId: pmProject._id\n  pmProject.Registrations.InvestigatorId: pmInvestigator._id\n",
///     "preview.yaml",
/// ).unwrap();
/// let added = close_over_references(&mut config, &rules.references);
/// assert_eq!(config.collections, ["pmStudy", "pmProject", "pmInvestigator"]);
/// assert_eq!(added[1].by, "pmProject.Registrations.InvestigatorId -> pmInvestigator._id");
/// ```
pub fn close_over_references(
    config: &mut PreviewConfig,
    references: &[anonymize_core::Reference],
) -> Vec<Added> {
    let mut added = Vec::new();
    if config.collections.is_empty() {
        return added;
    }
    let mut i = 0;
    while i < config.collections.len() {
        let from = config.collections[i].clone();
        for r in references.iter().filter(|r| names(&from, &r.from)) {
            if !config.collections.iter().any(|c| names(c, &r.to)) {
                config.collections.push(r.to.clone());
                added.push(Added {
                    collection: r.to.clone(),
                    by: r.label(),
                });
            }
        }
        i += 1;
    }
    added
}

/// The `$GITHUB_OUTPUT` lines.
pub fn to_github_output(config: &PreviewConfig) -> String {
    format!(
        "db_source={}\nsnapshot_id={}\nanonymize={}\ncollections={}\n",
        config.source.name(),
        config.snapshot_id,
        config.anonymize,
        serde_json::Value::from(config.collections.clone())
    )
}

/// The `--json` object.
pub fn to_json(config: &PreviewConfig) -> serde_json::Value {
    serde_json::json!({
        "db_source": config.source.name(),
        "snapshot_id": config.snapshot_id,
        "anonymize": config.anonymize,
        "collections": config.collections,
        "block_line": config.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(block: &str) -> String {
        format!("## Summary\n\nFixes the thing.\n\n```yaml\n{block}```\n\nThanks!\n")
    }

    #[test]
    fn no_block_gives_defaults() {
        let c = parse("Just a PR.\n\n```sh\ncargo test\n```\n").unwrap();
        assert_eq!(c, PreviewConfig::default());
        assert_eq!(
            to_github_output(&c),
            "db_source=seed\nsnapshot_id=latest\nanonymize=true\ncollections=[]\n"
        );
    }

    #[test]
    fn full_block_is_read() {
        let text = pr("#preview-config\ndatabase:\n  source: snapshot\n  snapshotId: 2026-01-09-daily\n  anonymize: true\n  collections: [pmProject, pmStudy]\n");
        let c = parse(&text).unwrap();
        assert_eq!(c.source, DbSource::Snapshot);
        assert_eq!(c.snapshot_id, "2026-01-09-daily");
        assert!(c.anonymize);
        assert_eq!(c.collections, vec!["pmProject", "pmStudy"]);
        assert_eq!(c.line, Some(6));
        assert_eq!(
            to_github_output(&c),
            "db_source=snapshot\nsnapshot_id=2026-01-09-daily\nanonymize=true\ncollections=[\"pmProject\",\"pmStudy\"]\n"
        );
        let j = to_json(&c);
        assert_eq!(j["db_source"], "snapshot");
        assert_eq!(j["collections"][1], "pmStudy");
    }

    #[test]
    fn crlf_tilde_fences_and_block_lists() {
        let text = "Body\r\n~~~\r\n#preview-config: preview\r\ndatabase:\r\n  source: staging\r\n  anonymize: false\r\n  collections:\r\n    - pmInvestigator\r\n~~~\r\n";
        let c = parse(text).unwrap();
        assert_eq!(c.source, DbSource::Staging);
        assert!(!c.anonymize);
        assert_eq!(c.collections, vec!["pmInvestigator"]);
        assert_eq!(c.line, Some(3));
    }

    #[test]
    fn other_fenced_blocks_are_ignored() {
        let text =
            "```yaml\nfoo: bar\n```\n\n```\n#preview-config\ndatabase:\n  source: snapshot\n```\n";
        let c = parse(text).unwrap();
        assert_eq!(c.source, DbSource::Snapshot);
        assert_eq!(c.snapshot_id, "latest");
        assert_eq!(c.line, Some(6));
    }

    #[test]
    fn snapshot_must_be_anonymized() {
        let text = pr("#preview-config\ndatabase:\n  source: snapshot\n  anonymize: false\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(e.message.contains("must be true"), "{e}");
        // Order does not matter.
        let text = pr("#preview-config\ndatabase:\n  anonymize: false\n  source: snapshot\n");
        assert_eq!(parse(&text).unwrap_err().line, 8);
        // A string "false" is not a boolean.
        let text = pr("#preview-config\ndatabase:\n  source: snapshot\n  anonymize: \"no\"\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(e.message.contains("true or false"));
    }

    #[test]
    fn bad_values_are_errors_with_lines() {
        let cases = [
            (
                "#preview-config\ndatabase:\n  source: prod\n",
                8,
                "seed, snapshot, staging",
            ),
            (
                "#preview-config\ndatabase:\n  snapshotId: 2026-02-30\n",
                8,
                "snapshotId",
            ),
            (
                "#preview-config\ndatabase:\n  snapshotId: yesterday\n",
                8,
                "snapshotId",
            ),
            (
                "#preview-config\ndatabase:\n  anonymise: false\n",
                8,
                "unknown key `database.anonymise`",
            ),
            (
                "#preview-config\ndatabse:\n  source: seed\n",
                7,
                "unknown key `databse`",
            ),
            (
                "#preview-config\ndatabase:\n  collections: pmStudy\n",
                8,
                "must be a list",
            ),
            (
                "#preview-config\ndatabase:\n  collections: [\"a b\"]\n",
                8,
                "item 1",
            ),
            ("#preview-config\ndatabase: [1]\n", 7, "must be a mapping"),
            (
                "#preview-config\ndatabase:\n  source: [seed\n",
                9,
                "invalid YAML",
            ),
        ];
        for (block, line, needle) in cases {
            let e = parse(&pr(block)).unwrap_err();
            assert_eq!(e.line, line, "{block:?}: {e}");
            assert!(e.to_string().contains(needle), "{block:?}: {e}");
            assert!(e
                .to_string()
                .starts_with(&format!("preview-config: line {line}: ")));
        }
    }

    #[test]
    fn unclosed_and_duplicate_blocks() {
        let e = parse("text\n```yaml\n#preview-config\ndatabase:\n  source: seed\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("never closed"));
        let two = format!("{}{}", pr("#preview-config\n"), pr("#preview-config\n"));
        let e = parse(&two).unwrap_err();
        assert!(e.message.contains("second"), "{e}");
        assert!(e.message.contains("line 6"), "{e}");
    }

    #[test]
    fn references_pull_in_what_listed_collections_reference() {
        let rules = anonymize_core::RuleSet::from_yaml(
            "references:\n  pmStudy.ProjectId: pmProject._id\n  pmProject.Registrations.InvestigatorId: pmInvestigator._id\n  pmInvestigator.ManagerId: pmInvestigator._id\n",
            "r.yaml",
        )
        .unwrap();
        let close = |list: &str| {
            let mut c = parse(&pr(&format!(
                "#preview-config\ndatabase:\n  collections: {list}\n"
            )))
            .unwrap();
            let added = close_over_references(&mut c, &rules.references);
            (c.collections, added.len())
        };
        assert_eq!(
            close("[pmProject]"),
            (vec!["pmProject".into(), "pmInvestigator".into()], 1)
        );
        assert_eq!(
            close("[syrftest.pmStudy, pmInvestigator]").0,
            ["syrftest.pmStudy", "pmInvestigator", "pmProject"]
        );
        // Nothing referenced, or every collection: unchanged.
        assert_eq!(close("[pmAuditLog]"), (vec!["pmAuditLog".into()], 0));
        assert_eq!(close("[]"), (vec![], 0));
    }

    #[test]
    fn snapshot_ids() {
        for ok in [
            "latest",
            "2026-01-09",
            "2026-01-09-daily",
            "2024-02-29",
            "2026-12-31-a1-b",
        ] {
            assert!(valid_snapshot_id(ok), "{ok}");
        }
        for bad in [
            "",
            "Latest",
            "2026-1-09",
            "2026-13-01",
            "2025-02-29",
            "2026-01-00",
            "2026-01-09-",
            "2026-01-09daily",
            "2026-01-09-Daily",
            "2026-01-09--x",
            "2026-01-09-da ily",
        ] {
            assert!(!valid_snapshot_id(bad), "{bad}");
        }
    }

    #[test]
    fn empty_block_and_empty_database_give_defaults() {
        let c = parse(&pr("#preview-config\n")).unwrap();
        assert_eq!(c.source, DbSource::Seed);
        assert_eq!(c.line, Some(6));
        let c = parse(&pr("#preview-config\ndatabase:\n")).unwrap();
        assert_eq!(c.source, DbSource::Seed);
    }
}
