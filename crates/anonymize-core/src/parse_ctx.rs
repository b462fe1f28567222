//! What every parser of the rules file shares: the located error ([`RulesError`]), the
//! parsing context that locates it ([`Ctx`]), YAML helpers, and the parameters of one field
//! rule ([`Params`]) that the transforms' parsers read. The rules file's own parser
//! (`rules`), the transforms, `where` conditions, `references:` and `echo_guard:` all import
//! this module; it imports none of them.

use std::fmt;

use serde_yaml_ng::{Mapping, Value as Yaml};

use crate::locate::{locate, Step};
use crate::suggest::did_you_mean;

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

/// Parsing context: the source for locating errors and the current key path.
pub(crate) struct Ctx<'s> {
    pub(crate) source: &'s str,
    pub(crate) file: &'s str,
    /// Errors found so far: parsing goes on after an error in one entry, so that `check`
    /// can report every error of a file in one run.
    pub(crate) errors: std::cell::RefCell<Vec<RulesError>>,
}

impl Ctx<'_> {
    /// The YAML path of a field rule (under `fields:` or `columns:`).
    pub(crate) fn field_path(&self, table: &str, field: &str) -> Vec<Step> {
        let key = |k: &str| Step::Key(k.to_owned());
        let fields_key = ["fields", "columns"]
            .into_iter()
            .find(|k| {
                let table_path = [key("rules"), key(table)];
                let fields = [key("rules"), key(table), key(k)];
                locate(self.source, &fields) != locate(self.source, &table_path)
            })
            .unwrap_or("fields");
        vec![key("rules"), key(table), key(fields_key), key(field)]
    }

    pub(crate) fn field_position(&self, table: &str, field: &str) -> crate::locate::Position {
        locate(self.source, &self.field_path(table, field))
    }

    pub(crate) fn field_error(
        &self,
        table: &str,
        field: &str,
        message: impl fmt::Display,
    ) -> RulesError {
        self.error(&self.field_path(table, field), message)
    }

    /// Records an error and goes on with the next entry.
    pub(crate) fn push(&self, error: RulesError) {
        self.errors.borrow_mut().push(error);
    }

    pub(crate) fn error(&self, path: &[Step], message: impl fmt::Display) -> RulesError {
        let pos = locate(self.source, path);
        RulesError {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.to_string(),
        }
    }
}

pub(crate) fn key_path(path: &[Step], key: &str) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(Step::Key(key.to_owned()));
    p
}

/// How a YAML value's type is named in errors.
pub(crate) fn type_name(v: &Yaml) -> &'static str {
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
pub(crate) fn entries<'m>(
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

pub(crate) fn unknown_key(
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

/// The parameters of one field rule, for a transform's parser.
pub(crate) struct Params<'a> {
    pub(crate) ctx: &'a Ctx<'a>,
    pub(crate) path: &'a [Step],
    pub(crate) map: Option<&'a Mapping>,
    pub(crate) transform: &'a str,
    pub(crate) allowed: &'a [&'a str],
}

impl Params<'_> {
    /// An error located at parameter `key`.
    pub(crate) fn err(&self, key: &str, message: impl fmt::Display) -> RulesError {
        self.ctx.error(&key_path(self.path, key), message)
    }

    /// An error located at the field rule itself.
    pub(crate) fn error_here(&self, message: impl fmt::Display) -> RulesError {
        self.ctx.error(self.path, message)
    }

    pub(crate) fn check_known(&self) -> Result<(), RulesError> {
        let Some(map) = self.map else { return Ok(()) };
        let allowed = self.allowed;
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

    pub(crate) fn get(&self, key: &str) -> Option<&Yaml> {
        self.map.and_then(|m| m.get(key))
    }

    pub(crate) fn usize_in(
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

    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, RulesError> {
        match self.get(key) {
            None => Ok(None),
            Some(Yaml::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                key,
                format!("`{key}` must be a string, found {}", type_name(other)),
            )),
        }
    }

    pub(crate) fn boolean(&self, key: &str, default: bool) -> Result<bool, RulesError> {
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
