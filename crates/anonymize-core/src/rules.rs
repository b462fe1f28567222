//! The rules file: parsing, validation and errors with file, line and column.

use std::fmt;

use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::locate::{locate, Step};
use crate::suggest::did_you_mean;
use crate::transform::{
    ConstantValue, FakeKind, FakeLocale, HmacEncoding, Transform, DEFAULT_EMAIL_DOMAIN,
};

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
    /// SQL tables whose DDL is kept and rows dropped.
    pub schema_only: Vec<String>,
    /// SQL: keep the constraints, views, rules, triggers and policies of kept tables that
    /// depend on an excluded table (for targets that keep their own copy of it). By default
    /// they are dropped with it, so that the output restores into an empty database.
    pub keep_dependents: bool,
    /// SQL: what to do with PostgreSQL large objects (`pg_dump -b`), which no field rule can
    /// cover. `None`: not said (they are kept and reported).
    pub large_objects: Option<LargeObjects>,
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
}

/// One field rule: a dotted path and its transform.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRule {
    /// Dotted path (`FullName.First`, `Authors.0.Email`, a SQL column, `payload.user.email`).
    pub path: String,
    /// The transform and its parameters.
    pub transform: Transform,
}

/// `size_limits.<name>.max_documents` (alias `max_rows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLimit {
    /// Collection or table key.
    pub name: String,
    /// Documents or rows kept (the first ones).
    pub max_rows: u64,
}

/// Why a rules file was rejected, with its file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct RulesError {
    /// The file name given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, with a suggestion where one fits.
    pub message: String,
}

const TOP_KEYS: &[&str] = &[
    "rules",
    "exclusions",
    "size_limits",
    "collections",
    "schema_only",
    "keep_dependents",
    "large_objects",
];
const TABLE_KEYS: &[&str] = &["fields", "columns"];
const LIMIT_KEYS: &[&str] = &["max_documents", "max_rows"];

/// Parsing context: the source for locating errors and the current key path.
struct Ctx<'s> {
    source: &'s str,
    file: &'s str,
}

impl Ctx<'_> {
    fn error(&self, path: &[Step], message: impl fmt::Display) -> RulesError {
        let pos = locate(self.source, path);
        RulesError {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.to_string(),
        }
    }
}

fn key_path(path: &[Step], key: &str) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(Step::Key(key.to_owned()));
    p
}

fn type_name(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

/// The string keys of a mapping, rejecting non-string keys.
fn entries<'m>(
    ctx: &Ctx<'_>,
    path: &[Step],
    map: &'m Mapping,
) -> Result<Vec<(&'m str, &'m Yaml)>, RulesError> {
    map.iter()
        .map(|(k, v)| match k {
            Yaml::String(s) => Ok((s.as_str(), v)),
            other => Err(ctx.error(
                path,
                format!("keys here must be strings, found {}", type_name(other)),
            )),
        })
        .collect()
}

fn unknown_key(
    ctx: &Ctx<'_>,
    path: &[Step],
    key: &str,
    allowed: &[&str],
    what: &str,
) -> RulesError {
    ctx.error(
        &key_path(path, key),
        format!(
            "unknown key `{key}` in {what}{}; expected one of: {}",
            did_you_mean(key, allowed),
            allowed.join(", ")
        ),
    )
}

impl RuleSet {
    /// A rule set with no rules: every dump passes through unchanged.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// Parses and validates a rules file. `file` names it in errors.
    pub fn from_yaml(source: &str, file: &str) -> Result<RuleSet, RulesError> {
        let ctx = Ctx { source, file };
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
        for (key, value) in entries(&ctx, &[], top)? {
            let path = [Step::Key(key.to_owned())];
            match key {
                "rules" => rules.tables = parse_tables(&ctx, &path, value)?,
                "exclusions" => rules.exclusions = parse_names(&ctx, &path, value)?,
                "schema_only" => rules.schema_only = parse_names(&ctx, &path, value)?,
                "collections" => rules.collections = Some(parse_names(&ctx, &path, value)?),
                "size_limits" => rules.size_limits = parse_limits(&ctx, &path, value)?,
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
                other => return Err(unknown_key(&ctx, &[], other, TOP_KEYS, "the rules file")),
            }
        }
        rules.check_consistency(&ctx)?;
        Ok(rules)
    }

    fn check_consistency(&self, ctx: &Ctx<'_>) -> Result<(), RulesError> {
        for table in &self.tables {
            if let Some(i) = self.exclusions.iter().position(|e| e == &table.name) {
                return Err(ctx.error(
                    &[Step::Key("exclusions".into()), Step::Index(i)],
                    format!(
                        "`{}` is excluded and also has rules; remove one of them",
                        table.name
                    ),
                ));
            }
        }
        Ok(())
    }
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
        for (k, v) in entries(ctx, &lpath, lmap)? {
            if !LIMIT_KEYS.contains(&k) {
                return Err(unknown_key(ctx, &lpath, k, LIMIT_KEYS, "a size limit"));
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
        let max_rows = max.ok_or_else(|| {
            ctx.error(&lpath, "a size limit needs `max_documents` (or `max_rows`)")
        })?;
        limits.push(SizeLimit {
            name: name.to_owned(),
            max_rows,
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
        let tpath = key_path(path, name);
        let mut fields = Vec::new();
        match body {
            Yaml::Null => {}
            Yaml::Mapping(m) => {
                let mut seen_fields_key: Option<&str> = None;
                for (k, v) in entries(ctx, &tpath, m)? {
                    if !TABLE_KEYS.contains(&k) {
                        return Err(unknown_key(
                            ctx,
                            &tpath,
                            k,
                            TABLE_KEYS,
                            "a collection's rules",
                        ));
                    }
                    if let Some(prev) = seen_fields_key {
                        return Err(ctx.error(
                            &key_path(&tpath, k),
                            format!("`{k}` repeats `{prev}`: they are synonyms, use one"),
                        ));
                    }
                    seen_fields_key = Some(k);
                    fields = parse_fields(ctx, &key_path(&tpath, k), v)?;
                }
            }
            other => {
                return Err(ctx.error(
                    &tpath,
                    format!(
                        "expected `fields:` under `{name}`, found {}",
                        type_name(other)
                    ),
                ))
            }
        }
        tables.push(TableRules {
            name: name.to_owned(),
            fields,
        });
    }
    Ok(tables)
}

fn parse_fields(ctx: &Ctx<'_>, path: &[Step], value: &Yaml) -> Result<Vec<FieldRule>, RulesError> {
    let Some(map) = optional_mapping(ctx, path, value, "a mapping of field paths to transforms")?
    else {
        return Ok(Vec::new());
    };
    let mut fields = Vec::new();
    for (field, spec) in entries(ctx, path, map)? {
        let fpath = key_path(path, field);
        validate_field_path(ctx, &fpath, field)?;
        let transform = parse_transform(ctx, &fpath, field, spec)?;
        fields.push(FieldRule {
            path: field.to_owned(),
            transform,
        });
    }
    Ok(fields)
}

fn validate_field_path(ctx: &Ctx<'_>, path: &[Step], field: &str) -> Result<(), RulesError> {
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(ctx.error(
            path,
            format!("`{field}` is not a valid field path (empty step)"),
        ));
    }
    if field.contains('$') {
        return Err(ctx.error(path, format!("`{field}`: positional operators (`$`) are not supported; a path through an array applies to every element")));
    }
    Ok(())
}

/// Parameters each transform accepts, besides `transform`.
fn allowed_params(name: &str) -> &'static [&'static str] {
    match name {
        "hash" => &["length"],
        "hmac" => &["length", "encoding"],
        "hash_email" => &["local_length", "domain_length", "domain", "case_sensitive"],
        "sequential" => &["prefix"],
        "fake" => &["kind", "locale"],
        "mask" => &["keep_start", "keep_end", "char"],
        "date_shift" => &["max_days"],
        "constant" => &["value"],
        _ => &[],
    }
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
    if !Transform::NAMES.contains(&name.as_str()) {
        return Err(ctx.error(
            &name_path,
            format!(
                "unknown transform `{name}`{}",
                did_you_mean(&name, Transform::NAMES)
            ),
        ));
    }
    let params = Params {
        ctx,
        path,
        map: params,
        transform: &name,
    };
    params.check_known()?;
    let t = match name.as_str() {
        "keep" => Transform::Keep,
        "hash" => Transform::Hash {
            length: params.usize_in("length", 16, 1, 64)?,
        },
        "hmac" => {
            let encoding = match params.string("encoding")? {
                None => HmacEncoding::Hex,
                Some(e) => HmacEncoding::from_name(&e).ok_or_else(|| {
                    params.err(
                        "encoding",
                        format!(
                            "unknown encoding `{e}`{}; expected hex, base32 or base64url",
                            did_you_mean(&e, HmacEncoding::NAMES)
                        ),
                    )
                })?,
            };
            Transform::Hmac {
                length: params.usize_in("length", 32, 1, encoding.max_length())?,
                encoding,
            }
        }
        "hash_email" => Transform::HashEmail {
            local_length: params.usize_in("local_length", 16, 1, 64)?,
            domain_length: params.usize_in("domain_length", 4, 1, 64)?,
            domain: {
                let d = params
                    .string("domain")?
                    .unwrap_or_else(|| DEFAULT_EMAIL_DOMAIN.to_owned());
                if d.is_empty() || d.contains('@') || d.chars().any(char::is_whitespace) {
                    return Err(params.err("domain", format!("`{d}` is not a valid email domain")));
                }
                d
            },
            case_sensitive: params.boolean("case_sensitive", false)?,
        },
        "sequential" => Transform::Sequential {
            prefix: params
                .string("prefix")?
                .unwrap_or_else(|| "User".to_owned()),
        },
        "sequential_suffix" => Transform::SequentialSuffix,
        "fake" => {
            let kind = params.string("kind")?.ok_or_else(|| {
                ctx.error(
                    path,
                    format!(
                        "`fake` needs `kind:`, one of: {}",
                        FakeKind::NAMES.join(", ")
                    ),
                )
            })?;
            let kind = FakeKind::from_name(&kind).ok_or_else(|| {
                params.err(
                    "kind",
                    format!(
                        "unknown fake kind `{kind}`{}; expected one of: {}",
                        did_you_mean(&kind, FakeKind::NAMES),
                        FakeKind::NAMES.join(", ")
                    ),
                )
            })?;
            let locale = match params.string("locale")? {
                None => FakeLocale::En,
                Some(l) => FakeLocale::from_name(&l).ok_or_else(|| {
                    params.err(
                        "locale",
                        format!(
                            "unknown locale `{l}`{}; expected one of: {}",
                            did_you_mean(&l, FakeLocale::NAMES),
                            FakeLocale::NAMES.join(", ")
                        ),
                    )
                })?,
            };
            Transform::Fake { kind, locale }
        }
        "digits" => Transform::Digits,
        "mask" => Transform::Mask {
            keep_start: params.usize_in("keep_start", 0, 0, usize::MAX)?,
            keep_end: params.usize_in("keep_end", 0, 0, usize::MAX)?,
            mask_char: match params.string("char")? {
                None => '*',
                Some(c) if c.chars().count() == 1 => c.chars().next().unwrap_or('*'),
                Some(_) => return Err(params.err("char", "`char` must be exactly one character")),
            },
        },
        "date_shift" => Transform::DateShift {
            max_days: params.usize_in("max_days", 30, 1, 36_500)? as u32,
        },
        "null" => Transform::Null,
        "remove" => Transform::Remove,
        "constant" => {
            let v = params
                .map
                .and_then(|m| m.get("value"))
                .ok_or_else(|| ctx.error(path, "`constant` needs `value:`"))?;
            Transform::Constant(match v {
                Yaml::Null => ConstantValue::Null,
                Yaml::Bool(b) => ConstantValue::Bool(*b),
                Yaml::Number(n) => match n.as_i64() {
                    Some(i) => ConstantValue::Int(i),
                    None => ConstantValue::Float(n.as_f64().unwrap_or(0.0)),
                },
                Yaml::String(s) => ConstantValue::Str(s.clone()),
                other => {
                    return Err(params.err(
                        "value",
                        format!(
                            "`value` must be a string, number, boolean or null, found {}",
                            type_name(other)
                        ),
                    ))
                }
            })
        }
        _ => unreachable!("checked against Transform::NAMES"),
    };
    Ok(t)
}

/// The parameters of one field rule.
struct Params<'a> {
    ctx: &'a Ctx<'a>,
    path: &'a [Step],
    map: Option<&'a Mapping>,
    transform: &'a str,
}

impl Params<'_> {
    fn err(&self, key: &str, message: impl fmt::Display) -> RulesError {
        self.ctx.error(&key_path(self.path, key), message)
    }

    fn check_known(&self) -> Result<(), RulesError> {
        let Some(map) = self.map else { return Ok(()) };
        let allowed = allowed_params(self.transform);
        for (k, _) in entries(self.ctx, self.path, map)? {
            if k != "transform" && !allowed.contains(&k) {
                let expected = if allowed.is_empty() {
                    format!("`{}` takes no parameters", self.transform)
                } else {
                    format!("`{}` takes: {}", self.transform, allowed.join(", "))
                };
                return Err(self.err(
                    k,
                    format!(
                        "unknown parameter `{k}`{}; {expected}",
                        did_you_mean(k, allowed)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&Yaml> {
        self.map.and_then(|m| m.get(key))
    }

    fn usize_in(
        &self,
        key: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, RulesError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if (min..=max).contains(&n) => Ok(n),
                _ if max == usize::MAX => {
                    Err(self.err(key, format!("`{key}` must be a whole number >= {min}")))
                }
                _ => Err(self.err(
                    key,
                    format!("`{key}` must be a whole number from {min} to {max}"),
                )),
            },
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>, RulesError> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                key,
                format!("`{key}` must be a string, found {}", type_name(other)),
            )),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, RulesError> {
        match self.get(key) {
            None => Ok(default),
            Some(Yaml::Bool(b)) => Ok(*b),
            Some(other) => Err(self.err(
                key,
                format!("`{key}` must be true or false, found {}", type_name(other)),
            )),
        }
    }
}
