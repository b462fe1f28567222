//! The rules file: parsing, validation and errors with file, line and column.

use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::locate::{locate, Step};
pub use crate::parse_ctx::RulesError;
use crate::parse_ctx::{entries, key_path, type_name, unknown_key, Ctx, Params};
use crate::path::{split_path, strict_prefix, PathError};
use crate::suggest::did_you_mean;
use crate::transform::{self, Transform};

/// A parsed and validated rules file.
///
/// ```
/// use anonymize_core::RuleSet;
/// let rules = RuleSet::from_yaml(
///     "rules:\n  users:\n    columns:\n      email: hash_email\n      phone: {transform: digits}\nexclusions: [sessions]\n",
///     "app.yaml",
/// ).unwrap();
/// assert_eq!(rules.tables[0].fields.len(), 2);
/// assert_eq!(rules.exclusions, vec!["sessions".to_string()]);
///
/// let err = RuleSet::from_yaml("rules:\n  users:\n    fields:\n      email: hash_emial\n", "app.yaml").unwrap_err();
/// assert_eq!(err.to_string(), "app.yaml:4:7: unknown transform `hash_emial` (did you mean `hash_email`?)");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    /// Field rules per collection or table, in file order.
    pub tables: Vec<TableRules>,
    /// Collections or tables dropped entirely, structure included.
    pub exclusions: Vec<String>,
    /// Row limits.
    pub size_limits: Vec<SizeLimit>,
    /// When present, only these collections or tables are kept.
    pub collections: Option<Vec<String>>,
    /// SQL tables whose DDL is kept and rows dropped; MongoDB collections whose metadata and
    /// indexes are kept and documents (and oplog writes) dropped.
    pub schema_only: Vec<String>,
    /// SQL: keep the constraints, views, rules, triggers and policies of kept tables that
    /// depend on an excluded table (for targets that keep their own copy of it). By default
    /// they are dropped with it, so that the output restores into an empty database.
    pub keep_dependents: bool,
    /// SQL: what to do with PostgreSQL large objects (`pg_dump -b`), which no field rule can
    /// cover. `None`: not said (they are kept and reported).
    pub large_objects: Option<LargeObjects>,
    /// `echo_guard:`: what happens to copies of covered values in uncovered strings of the
    /// same document or row (see [`crate::EchoGuard`]).
    pub echo_guard: crate::echo::EchoGuard,
    /// MongoDB: declared references between collections (`references:`), kept valid when
    /// limits remove documents.
    pub references: Vec<crate::references::Reference>,
}

/// `large_objects: keep | empty | drop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LargeObjects {
    /// Kept as they are.
    Keep,
    /// Created, but without their data.
    Empty,
    /// Not restored at all.
    Drop,
}

/// The field rules of one collection or table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRules {
    /// The key as written: bare (`users`) or qualified (`app.users`).
    pub name: String,
    /// Its field rules, in file order.
    pub fields: Vec<FieldRule>,
    /// `when:`: the rules apply only to rows or documents for which every condition holds
    /// (or cannot be evaluated); empty: to every row.
    pub when: Vec<crate::conditions::Condition>,
}

/// One field rule: a dotted path and its transform.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    /// Dotted path as written (`FullName.First`, `Authors.0.Email`, a SQL column,
    /// `payload.user.email`); `\.` is a dot inside a field name (`FullName\.First` is the one
    /// field `FullName.First`), `\\` a backslash.
    pub path: String,
    /// The transform and its parameters.
    pub transform: Transform,
}

impl FieldRule {
    /// The path's steps, escapes resolved: `a.b` gives `["a", "b"]`, `a\.b` gives `["a.b"]`.
    /// (A path that is not valid, which [`RuleSet::from_yaml`] rejects, is split at every dot.)
    pub fn steps(&self) -> Vec<String> {
        split_path(&self.path).unwrap_or_else(|_| self.path.split('.').map(str::to_owned).collect())
    }
}

/// `size_limits.<name>.max_documents` (alias `max_rows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLimit {
    /// Collection or table key.
    pub name: String,
    /// Documents or rows kept (the first ones; `u64::MAX` with a `where` and no maximum).
    pub max_rows: u64,
    /// `where`: only rows or documents matching every condition are kept (and counted
    /// towards `max_rows`).
    pub filter: Vec<crate::conditions::Condition>,
}

const TOP_KEYS: &[&str] = &[
    "rules",
    "exclusions",
    "size_limits",
    "collections",
    "schema_only",
    "keep_dependents",
    "large_objects",
    "echo_guard",
    "references",
];
const TABLE_KEYS: &[&str] = &["fields", "columns", "when"];
const LIMIT_KEYS: &[&str] = &["max_documents", "max_rows", "where"];

impl RuleSet {
    /// A rule set with no rules: every dump passes through unchanged.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Parses and validates a rules file. `file` names it in errors. On an invalid file the
    /// error is the first one in file order; [`RuleSet::from_yaml_all`] gives all of them.
    pub fn from_yaml(source: &str, file: &str) -> Result<RuleSet, RulesError> {
        RuleSet::from_yaml_all(source, file).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Like [`RuleSet::from_yaml`], but an invalid file gives every error found (at least one),
    /// in the order they were found: an error in one entry (a top-level key, a collection, a
    /// field rule) skips that entry and parsing goes on with the next one.
    ///
    /// ```
    /// use anonymize_core::RuleSet;
    /// let errors = RuleSet::from_yaml_all(
    ///     "rules:\n  users:\n    fields:\n      email: hash_emial\n      phone: digts\n",
    ///     "app.yaml",
    /// ).unwrap_err();
    /// assert_eq!(errors.len(), 2);
    /// assert_eq!(errors[1].line, 5);
    /// ```
    pub fn from_yaml_all(source: &str, file: &str) -> Result<RuleSet, Vec<RulesError>> {
        let ctx = Ctx {
            source,
            file,
            errors: Default::default(),
        };
        let rules = parse_top(&ctx);
        let mut errors = ctx.errors.into_inner();
        match rules {
            Ok(rules) if errors.is_empty() => Ok(rules),
            Ok(_) => Err(errors),
            Err(e) => {
                errors.push(e);
                Err(errors)
            }
        }
    }

    /// True when the rules change nothing: no field rule, exclusion, `schema_only` table or
    /// size limit (an empty file, comments only, or a file cut short). A run with such rules
    /// would copy the whole dump unchanged, so the command refuses them unless told that a
    /// copy is meant (`--allow-empty-rules`).
    ///
    /// ```
    /// use anonymize_core::RuleSet;
    /// assert!(RuleSet::from_yaml("# nothing yet\n", "a.yaml").unwrap().covers_nothing());
    /// assert!(RuleSet::from_yaml("rules:\n  users:\n", "a.yaml").unwrap().covers_nothing());
    /// assert!(!RuleSet::from_yaml("exclusions: [sessions]\n", "a.yaml").unwrap().covers_nothing());
    /// ```
    pub fn covers_nothing(&self) -> bool {
        self.tables.iter().all(|t| t.fields.is_empty())
            && self.exclusions.is_empty()
            && self.schema_only.is_empty()
            && self.size_limits.is_empty()
    }

    fn check_consistency(&self, ctx: &Ctx<'_>) {
        for (qualified, bare) in self.qualified_pairs() {
            let (q, b) = (&self.tables[qualified], &self.tables[bare]);
            for qf in &q.fields {
                let qs = qf.steps();
                if let Some(bf) = b.fields.iter().find(|bf| strict_prefix(&qs, &bf.steps())) {
                    let other = ctx.field_position(&b.name, &bf.path);
                    ctx.push(ctx.field_error(
                        &q.name,
                        &qf.path,
                        format!(
                            "`{}` in `{}` overlaps `{}` in `{}` (line {}), which also applies \
                             to `{}`: one path contains the other; a qualified key wins over a \
                             bare one only for the same path",
                            qf.path, q.name, bf.path, b.name, other.line, q.name
                        ),
                    ));
                }
            }
        }
        for table in &self.tables {
            if let Some(i) = self.exclusions.iter().position(|e| e == &table.name) {
                ctx.push(ctx.error(
                    &[Step::Key("exclusions".into()), Step::Index(i)],
                    format!(
                        "`{}` is excluded and also has rules; remove one of them",
                        table.name
                    ),
                ));
            }
        }
    }
}

impl RuleSet {
    /// Pairs of table indices `(qualified, bare)` where the first key is the second one
    /// qualified by a database or schema (`app.users` and `users`).
    pub(crate) fn qualified_pairs(&self) -> Vec<(usize, usize)> {
        let mut pairs = Vec::new();
        for (qi, q) in self.tables.iter().enumerate() {
            for (bi, b) in self.tables.iter().enumerate() {
                let is_qualified = q
                    .name
                    .strip_suffix(b.name.as_str())
                    .and_then(|db| db.strip_suffix('.'))
                    .is_some_and(|db| !db.is_empty());
                if is_qualified {
                    pairs.push((qi, bi));
                }
            }
        }
        pairs
    }
}

/// The whole file. Errors in one top-level entry are recorded in `ctx` and the next entry is
/// read; an `Err` is an error that stops everything (invalid YAML, not a mapping).
fn parse_top(ctx: &Ctx<'_>) -> Result<RuleSet, RulesError> {
    let (source, file) = (ctx.source, ctx.file);
    let doc: Yaml = serde_yaml_ng::from_str(source).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        RulesError {
            file: file.to_owned(),
            line,
            column,
            message: format!("invalid YAML: {}", strip_location(&e.to_string())),
        }
    })?;
    let mut rules = RuleSet::default();
    let top = match &doc {
        Yaml::Null => return Ok(rules),
        Yaml::Mapping(m) => m,
        other => {
            return Err(ctx.error(
                &[],
                format!("a rules file is a mapping, found {}", type_name(other)),
            ))
        }
    };
    for (key, value) in entries(ctx, &[], top)? {
        if let Err(e) = parse_top_entry(ctx, &mut rules, key, value) {
            ctx.push(e);
        }
    }
    rules.check_consistency(ctx);
    Ok(rules)
}

fn parse_top_entry(
    ctx: &Ctx<'_>,
    rules: &mut RuleSet,
    key: &str,
    value: &Yaml,
) -> Result<(), RulesError> {
    let path = [Step::Key(key.to_owned())];
    match key {
        "rules" => rules.tables = parse_tables(ctx, &path, value)?,
        "exclusions" => rules.exclusions = parse_names(ctx, &path, value)?,
        "schema_only" => rules.schema_only = parse_names(ctx, &path, value)?,
        "collections" => rules.collections = Some(parse_names(ctx, &path, value)?),
        "size_limits" => rules.size_limits = parse_limits(ctx, &path, value)?,
        "large_objects" => {
            rules.large_objects = Some(match value {
                Yaml::String(s) if s == "keep" => LargeObjects::Keep,
                Yaml::String(s) if s == "empty" => LargeObjects::Empty,
                Yaml::String(s) if s == "drop" => LargeObjects::Drop,
                _ => {
                    return Err(ctx.error(
                        &path,
                        "`large_objects` is one of keep, empty, drop".to_owned(),
                    ))
                }
            })
        }
        "keep_dependents" => match value {
            Yaml::Bool(b) => rules.keep_dependents = *b,
            other => {
                return Err(ctx.error(
                    &path,
                    format!(
                        "`keep_dependents` is true or false, found {}",
                        type_name(other)
                    ),
                ))
            }
        },
        "references" => {
            rules.references =
                crate::references::parse_references(&path, value, &|p, m| ctx.error(p, m))?
        }
        "echo_guard" => {
            rules.echo_guard = crate::echo::parse(value).map_err(|(key, message)| {
                let at = key.map_or(path.to_vec(), |k| key_path(&path, &k));
                ctx.error(&at, message)
            })?
        }
        other => return Err(unknown_key(ctx, &[], other, TOP_KEYS, "the rules file")),
    }
    Ok(())
}

fn strip_location(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn parse_names(ctx: &Ctx<'_>, path: &[Step], value: &Yaml) -> Result<Vec<String>, RulesError> {
    match value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Yaml::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                other => {
                    let mut p = path.to_vec();
                    p.push(Step::Index(i));
                    Err(ctx.error(
                        &p,
                        format!(
                            "expected a collection or table name, found {}",
                            type_name(other)
                        ),
                    ))
                }
            })
            .collect(),
        other => Err(ctx.error(
            path,
            format!("expected a list of names, found {}", type_name(other)),
        )),
    }
}

fn parse_limits(ctx: &Ctx<'_>, path: &[Step], value: &Yaml) -> Result<Vec<SizeLimit>, RulesError> {
    let Some(map) = optional_mapping(ctx, path, value, "a mapping of names to limits")? else {
        return Ok(Vec::new());
    };
    let mut limits = Vec::new();
    for (name, limit) in entries(ctx, path, map)? {
        let lpath = key_path(path, name);
        let lmap = match limit {
            Yaml::Mapping(m) => m,
            other => {
                return Err(ctx.error(
                    &lpath,
                    format!("expected `max_documents: N`, found {}", type_name(other)),
                ))
            }
        };
        let mut max = None;
        let mut filter = Vec::new();
        for (k, v) in entries(ctx, &lpath, lmap)? {
            if !LIMIT_KEYS.contains(&k) {
                return Err(unknown_key(ctx, &lpath, k, LIMIT_KEYS, "a size limit"));
            }
            if k == "where" {
                filter =
                    crate::conditions::parse_conditions(&key_path(&lpath, k), k, v, &|p, m| {
                        ctx.error(p, m)
                    })?;
                continue;
            }
            if max.is_some() {
                return Err(ctx.error(
                    &key_path(&lpath, k),
                    "give either `max_documents` or `max_rows`, not both",
                ));
            }
            max = Some(v.as_u64().ok_or_else(|| {
                ctx.error(
                    &key_path(&lpath, k),
                    format!("`{k}` must be a whole number >= 0"),
                )
            })?);
        }
        let max_rows = match max {
            Some(m) => m,
            None if !filter.is_empty() => u64::MAX,
            None => {
                return Err(ctx.error(
                    &lpath,
                    "a size limit needs `max_documents` (or `max_rows`) or `where`",
                ))
            }
        };
        limits.push(SizeLimit {
            name: name.to_owned(),
            max_rows,
            filter,
        });
    }
    Ok(limits)
}

/// A mapping, or `None` for YAML null (an empty section); anything else is an error saying
/// `expected {what}`.
fn optional_mapping<'v>(
    ctx: &Ctx<'_>,
    path: &[Step],
    value: &'v Yaml,
    what: &str,
) -> Result<Option<&'v Mapping>, RulesError> {
    match value {
        Yaml::Null => Ok(None),
        Yaml::Mapping(m) => Ok(Some(m)),
        other => Err(ctx.error(path, format!("expected {what}, found {}", type_name(other)))),
    }
}

fn parse_tables(ctx: &Ctx<'_>, path: &[Step], value: &Yaml) -> Result<Vec<TableRules>, RulesError> {
    let Some(map) = optional_mapping(ctx, path, value, "a mapping of collections or tables")?
    else {
        return Ok(Vec::new());
    };
    let mut tables = Vec::new();
    for (name, body) in entries(ctx, path, map)? {
        // An error in one collection's rules is recorded; the next collection is read.
        match parse_table(ctx, &key_path(path, name), name, body) {
            Ok((fields, when)) => tables.push(TableRules {
                name: name.to_owned(),
                fields,
                when,
            }),
            Err(e) => ctx.push(e),
        }
    }
    Ok(tables)
}

fn parse_table(
    ctx: &Ctx<'_>,
    tpath: &[Step],
    name: &str,
    body: &Yaml,
) -> Result<(Vec<FieldRule>, Vec<crate::conditions::Condition>), RulesError> {
    let mut fields = Vec::new();
    let mut when = Vec::new();
    match body {
        Yaml::Null => {}
        Yaml::Mapping(m) => {
            let mut seen_fields_key: Option<&str> = None;
            for (k, v) in entries(ctx, tpath, m)? {
                if !TABLE_KEYS.contains(&k) {
                    return Err(unknown_key(
                        ctx,
                        tpath,
                        k,
                        TABLE_KEYS,
                        "a collection's rules",
                    ));
                }
                if k == "when" {
                    when =
                        crate::conditions::parse_conditions(&key_path(tpath, k), k, v, &|p, m| {
                            ctx.error(p, m)
                        })?;
                    continue;
                }
                if let Some(prev) = seen_fields_key {
                    return Err(ctx.error(
                        &key_path(tpath, k),
                        format!("`{k}` repeats `{prev}`: they are synonyms, use one"),
                    ));
                }
                seen_fields_key = Some(k);
                fields = parse_fields(ctx, &key_path(tpath, k), v)?;
            }
        }
        other => {
            return Err(ctx.error(
                tpath,
                format!(
                    "expected `fields:` under `{name}`, found {}",
                    type_name(other)
                ),
            ))
        }
    }
    if !when.is_empty() && fields.is_empty() {
        return Err(ctx.error(
            &key_path(tpath, "when"),
            format!(
                "`when` chooses the rows that `{name}`'s field rules apply to, but it has none"
            ),
        ));
    }
    Ok((fields, when))
}

fn parse_fields(ctx: &Ctx<'_>, path: &[Step], value: &Yaml) -> Result<Vec<FieldRule>, RulesError> {
    let Some(map) = optional_mapping(ctx, path, value, "a mapping of field paths to transforms")?
    else {
        return Ok(Vec::new());
    };
    let mut fields: Vec<FieldRule> = Vec::new();
    let mut steps: Vec<(Vec<String>, Vec<Step>)> = Vec::new();
    for (field, spec) in entries(ctx, path, map)? {
        // An error in one field rule is recorded; the next rule is read.
        let fpath = key_path(path, field);
        let parsed = validate_field_path(ctx, &fpath, field)
            .and_then(|these| Ok((these, parse_transform(ctx, &fpath, field, spec)?)));
        let (these, transform) = match parsed {
            Ok(p) => p,
            Err(e) => {
                ctx.push(e);
                continue;
            }
        };
        if let Some(i) = steps
            .iter()
            .position(|(s, _)| *s == these || strict_prefix(s, &these))
        {
            let other = locate(ctx.source, &steps[i].1);
            let message = if steps[i].0 == these {
                format!(
                    "`{field}` names the same field as `{}` (line {})",
                    fields[i].path, other.line
                )
            } else {
                format!(
                    "the rules `{field}` and `{}` (line {}) overlap: one path contains the other",
                    fields[i].path, other.line
                )
            };
            ctx.push(ctx.error(&fpath, message));
            continue;
        }
        steps.push((these, fpath));
        fields.push(FieldRule {
            path: field.to_owned(),
            transform,
        });
    }
    Ok(fields)
}

/// The steps of a valid field path.
fn validate_field_path(
    ctx: &Ctx<'_>,
    path: &[Step],
    field: &str,
) -> Result<Vec<String>, RulesError> {
    split_path(field).map_err(|e| {
        let message = match e {
            PathError::EmptyStep => format!("`{field}` is not a valid field path (empty step)"),
            PathError::BadEscape => format!(
                "`{field}` is not a valid field path: a backslash escapes only `.` (a dot inside \
                 a field name) or another backslash"
            ),
            PathError::Dollar => format!(
                "`{field}`: positional operators (`$`) are not supported; a path through an \
                 array applies to every element"
            ),
        };
        ctx.error(path, message)
    })
}

fn parse_transform(
    ctx: &Ctx<'_>,
    path: &[Step],
    field: &str,
    spec: &Yaml,
) -> Result<Transform, RulesError> {
    let (name, params, name_path): (String, Option<&Mapping>, Vec<Step>) = match spec {
        Yaml::String(s) => (s.clone(), None, path.to_vec()),
        // `field: null` (or an empty `field:`) is the null transform, like `transform: null`.
        Yaml::Null => ("null".to_owned(), None, path.to_vec()),
        Yaml::Mapping(m) => {
            let t = m.get("transform").ok_or_else(|| {
                ctx.error(path, format!("field `{field}` needs a `transform:` key"))
            })?;
            let name = match t {
                Yaml::String(s) => s.clone(),
                // A bare YAML `transform: null` means the null transform.
                Yaml::Null => "null".to_owned(),
                other => {
                    return Err(ctx.error(
                        &key_path(path, "transform"),
                        format!("`transform` must be a name, found {}", type_name(other)),
                    ))
                }
            };
            (name, Some(m), key_path(path, "transform"))
        }
        other => {
            return Err(ctx.error(
                path,
                format!(
                    "expected a transform name or mapping for `{field}`, found {}",
                    type_name(other)
                ),
            ))
        }
    };
    let Some(spec) = transform::spec(&name) else {
        return Err(ctx.error(
            &name_path,
            format!(
                "unknown transform `{name}`{}",
                did_you_mean(&name, Transform::NAMES)
            ),
        ));
    };
    let params = Params {
        ctx,
        path,
        map: params,
        transform: spec.name,
        allowed: spec.params,
    };
    params.check_known()?;
    (spec.parse)(&params)
}
