//! Conditions on a row's or document's own values (`{IsPrivate: false}`,
//! `{email: {ends_with: "@example.org"}}`, `{year: {gte: 2020}}`), compared on the value's
//! decoded text: the row filters of `size_limits.<name>.where` and the per-table rule
//! conditions `rules.<name>.when` ([`crate::When`]). Formats give each value as text (`None`
//! for NULL). [`Condition::evaluate`] says `None` when a condition cannot be evaluated on a
//! value; a `where` then does not keep the row ([`Condition::matches`]), a `when` applies the
//! rules (fail closed).

use serde_yaml_ng::Value as Yaml;

use crate::locate::Step;
use crate::parse_ctx::{key_path, type_name, RulesError};
use crate::path::split_path;

/// A literal of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// Text, compared as written.
    Text(String),
    /// A number (its YAML spelling), compared numerically.
    Number(String),
    /// A boolean: `true`, `t`, `1` (any case) or `false`, `f`, `0`.
    Bool(bool),
}

/// One comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// Equal to the literal.
    Eq(Scalar),
    /// Equal to one of the literals (`{in: [...]}`).
    In(Vec<Scalar>),
    /// NULL or missing (`null`).
    Null,
    /// Present and not NULL (`{not_null: true}`).
    NotNull,
    /// Text starting with (`{starts_with: ...}`).
    StartsWith(String),
    /// Text ending with (`{ends_with: ...}`).
    EndsWith(String),
    /// A range bound (`gte`, `lte`, `gt`, `lt`): numbers numerically, dates (`YYYY-MM-DD`,
    /// optionally with a time) in time order.
    Range(std::cmp::Ordering, bool, Scalar),
    /// The negation of a test (`not`, `not_in`, `not_starts_with`, `not_ends_with`): true
    /// where the test is false, and like it not evaluable on NULL or on a value it cannot
    /// compare.
    Not(Box<Test>),
}

/// A value as a `when:` condition sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand<'v> {
    /// SQL NULL, BSON null or undefined.
    Null,
    /// Text, or a number's text.
    Text(&'v str),
    /// A boolean.
    Bool(bool),
    /// A value no condition compares (binary, ObjectId, a sub-document, text that is not
    /// UTF-8).
    Other,
}

/// A condition on the value at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The path's steps (`["Settings", "IsPublic"]`).
    pub path: Vec<String>,
    /// The comparison.
    pub test: Test,
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A date or date-time's comparable form: `YYYY-MM-DD HH:MM:SS` (the separator `T` or a
/// space, missing time parts as zeros).
fn date(s: &str) -> Option<String> {
    let b = s.trim().as_bytes();
    let is_date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if !is_date {
        return None;
    }
    let mut out = String::from_utf8_lossy(&b[..10]).into_owned();
    let time = if b.len() > 11 && (b[10] == b'T' || b[10] == b' ') {
        String::from_utf8_lossy(&b[11..b.len().min(19)]).into_owned()
    } else {
        String::new()
    };
    out.push(' ');
    out.push_str(&format!("{:0<8}", time).replace(|c: char| !c.is_ascii_digit() && c != ':', "0"));
    Some(out)
}

fn equals(value: &str, lit: &Scalar) -> Option<bool> {
    match lit {
        Scalar::Text(t) => Some(value == t),
        Scalar::Number(n) => Some(number(value)? == number(n)?),
        Scalar::Bool(b) => {
            let v = value.trim().to_ascii_lowercase();
            match v.as_str() {
                "true" | "t" | "1" => Some(*b),
                "false" | "f" | "0" => Some(!*b),
                _ => None,
            }
        }
    }
}

impl Test {
    /// The test on a value's text: `None` when it cannot be evaluated (a comparison with
    /// NULL other than `null`/`not_null`, a range bound on text that is neither a number nor
    /// a date, a boolean literal against text that is not one).
    fn evaluate(&self, value: Option<&str>) -> Option<bool> {
        let Some(v) = value else {
            return match self {
                Test::Null => Some(true),
                Test::NotNull => Some(false),
                _ => None,
            };
        };
        match self {
            Test::Null => Some(false),
            Test::NotNull => Some(true),
            Test::Eq(lit) => equals(v, lit),
            Test::In(lits) => {
                let results: Vec<Option<bool>> = lits.iter().map(|l| equals(v, l)).collect();
                if results.contains(&Some(true)) {
                    Some(true)
                } else if results.iter().all(Option::is_some) {
                    Some(false)
                } else {
                    None
                }
            }
            Test::StartsWith(p) => Some(v.starts_with(p.as_str())),
            Test::EndsWith(p) => Some(v.ends_with(p.as_str())),
            Test::Range(ord, or_equal, lit) => {
                let c = match lit {
                    Scalar::Number(n) => number(v)
                        .zip(number(n))
                        .and_then(|(a, b)| a.partial_cmp(&b)),
                    Scalar::Text(t) => date(v).zip(date(t)).map(|(a, b)| a.cmp(&b)),
                    Scalar::Bool(_) => None,
                };
                c.map(|c| c == *ord || (*or_equal && c == std::cmp::Ordering::Equal))
            }
            Test::Not(inner) => inner.evaluate(value).map(|b| !b),
        }
    }
}

impl Condition {
    /// Whether `value` (its text; `None`: NULL) passes: `None` when the condition cannot be
    /// evaluated on it (see [`Test`]).
    ///
    /// ```
    /// use anonymize_core::{Condition, Test};
    /// let c = Condition { path: vec!["email".into()], test: Test::Not(Box::new(Test::EndsWith("@staff.example".into()))) };
    /// assert_eq!(c.evaluate(Some("ann@staff.example")), Some(false));
    /// assert_eq!(c.evaluate(Some("bob@mail.example")), Some(true));
    /// assert_eq!(c.evaluate(None), None);
    /// ```
    pub fn evaluate(&self, value: Option<&str>) -> Option<bool> {
        self.test.evaluate(value)
    }

    /// The condition on one value as a format gives it ([`Operand`]): text and NULL as
    /// [`evaluate`](Self::evaluate) does; a boolean only against boolean literals (`true`,
    /// `false`, in an `in` list too) and `null`/`not_null`, as its text has several spellings
    /// (`t`, `true`, `1`): a text comparison on it cannot be evaluated; another type cannot.
    pub fn evaluate_operand(&self, value: Operand<'_>) -> Option<bool> {
        fn on_bool(t: &Test, b: bool) -> Option<bool> {
            match t {
                Test::Null => Some(false),
                Test::NotNull => Some(true),
                Test::Eq(Scalar::Bool(x)) => Some(*x == b),
                Test::In(lits) if lits.iter().all(|l| matches!(l, Scalar::Bool(_))) => {
                    Some(lits.contains(&Scalar::Bool(b)))
                }
                Test::Not(inner) => on_bool(inner, b).map(|r| !r),
                _ => None,
            }
        }
        match value {
            Operand::Null => self.evaluate(None),
            Operand::Text(t) => self.evaluate(Some(t)),
            Operand::Bool(b) => on_bool(&self.test, b),
            Operand::Other => None,
        }
    }

    /// The condition over every value at its path (a MongoDB path through arrays gives
    /// several): true when one value passes, false when every value is evaluated and none
    /// passes; `None` when there is no value (a missing field) or some value cannot be
    /// evaluated and none passes.
    pub fn evaluate_all<'v>(&self, values: impl IntoIterator<Item = Operand<'v>>) -> Option<bool> {
        let (mut any, mut unknown) = (false, false);
        for v in values {
            any = true;
            match self.evaluate_operand(v) {
                Some(true) => return Some(true),
                Some(false) => {}
                None => unknown = true,
            }
        }
        (any && !unknown).then_some(false)
    }

    /// Whether `value` (its text; `None`: NULL or missing) passes; `false` when it cannot be
    /// evaluated (a range bound on text that is neither a number nor a date...): a `where`
    /// keeps only rows that match.
    pub fn matches(&self, value: Option<&str>) -> bool {
        self.evaluate(value).unwrap_or(false)
    }
}

fn scalar(v: &Yaml) -> Option<Scalar> {
    match v {
        Yaml::String(s) => Some(Scalar::Text(s.clone())),
        Yaml::Number(n) => Some(Scalar::Number(n.to_string())),
        Yaml::Bool(b) => Some(Scalar::Bool(*b)),
        _ => None,
    }
}

const OPS: &[&str] = &[
    "in",
    "not_in",
    "not",
    "not_null",
    "starts_with",
    "ends_with",
    "not_starts_with",
    "not_ends_with",
    "gte",
    "lte",
    "gt",
    "lt",
];

/// Parses a `where:` or `when:` mapping (`key` names it in errors); `error` locates a
/// message at a YAML path.
pub(crate) fn parse_conditions(
    path: &[Step],
    key: &str,
    value: &Yaml,
    error: &dyn Fn(&[Step], String) -> RulesError,
) -> Result<Vec<Condition>, RulesError> {
    let Yaml::Mapping(map) = value else {
        return Err(error(
            path,
            format!(
                "`{key}` is a mapping of fields to conditions, found {}",
                type_name(value)
            ),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let Yaml::String(field) = k else {
            return Err(error(path, "keys here must be strings".into()));
        };
        let here = key_path(path, field);
        let steps = split_path(field)
            .map_err(|_| error(&here, format!("`{field}` is not a field path (dots between steps, `\\.` for a dot in a name, no `$`)")))?;
        let test = match v {
            Yaml::Null => Test::Null,
            Yaml::Mapping(m) if m.len() == 1 => {
                let (op, arg) = m.iter().next().expect("one entry");
                let Some(op) = op.as_str() else {
                    return Err(error(&here, "a condition's operator must be a string".into()));
                };
                let bad = |what: &str| error(&key_path(&here, op), format!("`{op}` takes {what}, found {}", type_name(arg)));
                match op {
                    "in" | "not_in" => match arg {
                        Yaml::Sequence(items) => {
                            let t = Test::In(
                                items.iter().map(scalar).collect::<Option<Vec<_>>>().ok_or_else(|| bad("a list of strings, numbers or booleans"))?,
                            );
                            if op == "in" { t } else { Test::Not(Box::new(t)) }
                        }
                        _ => return Err(bad("a list")),
                    },
                    "not" => match scalar(arg) {
                        Some(s) => Test::Not(Box::new(Test::Eq(s))),
                        None => return Err(bad("a string, number or boolean")),
                    },
                    "not_null" => match arg {
                        Yaml::Bool(true) => Test::NotNull,
                        _ => return Err(bad("`true`")),
                    },
                    "starts_with" | "ends_with" | "not_starts_with" | "not_ends_with" => {
                        let Yaml::String(s) = arg else { return Err(bad("a string")) };
                        let t = if op.ends_with("starts_with") {
                            Test::StartsWith(s.clone())
                        } else {
                            Test::EndsWith(s.clone())
                        };
                        if op.starts_with("not_") { Test::Not(Box::new(t)) } else { t }
                    }
                    "gte" | "lte" | "gt" | "lt" => {
                        let lit = match arg {
                            Yaml::Number(_) => scalar(arg).expect("a number"),
                            Yaml::String(s) if date(s).is_some() => Scalar::Text(s.clone()),
                            _ => return Err(bad("a number or a date (YYYY-MM-DD[ HH:MM:SS])")),
                        };
                        let ord = if op.starts_with('g') { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less };
                        Test::Range(ord, op.ends_with('e'), lit)
                    }
                    other => {
                        return Err(error(
                            &key_path(&here, other),
                            format!("unknown condition `{other}`{}; expected a value, null, or one of: {}", crate::suggest::did_you_mean(other, OPS), OPS.join(", ")),
                        ))
                    }
                }
            }
            other => match scalar(other) {
                Some(s) => Test::Eq(s),
                None => {
                    return Err(error(
                        &here,
                        format!("a condition is a value, null, or `{{operator: argument}}` with one of: {}; found {}", OPS.join(", "), type_name(other)),
                    ))
                }
            },
        };
        out.push(Condition { path: steps, test });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(test: Test) -> Condition {
        Condition {
            path: vec!["f".into()],
            test,
        }
    }

    #[test]
    fn conditions_compare_decoded_text() {
        assert!(c(Test::Eq(Scalar::Bool(false))).matches(Some("0")));
        assert!(c(Test::Eq(Scalar::Bool(false))).matches(Some("f")));
        assert!(!c(Test::Eq(Scalar::Bool(false))).matches(Some("maybe")));
        assert!(c(Test::Eq(Scalar::Number("2".into()))).matches(Some("2.0")));
        assert!(c(Test::Null).matches(None) && !c(Test::NotNull).matches(None));
        let after = c(Test::Range(
            std::cmp::Ordering::Greater,
            true,
            Scalar::Text("2020-01-01".into()),
        ));
        assert!(
            after.matches(Some("2020-01-01 00:00:00"))
                && after.matches(Some("2021-03-04T05:06:07Z"))
        );
        assert!(!after.matches(Some("2019-12-31")) && !after.matches(Some("soon")));
        let small = c(Test::Range(
            std::cmp::Ordering::Less,
            false,
            Scalar::Number("10".into()),
        ));
        assert!(
            small.matches(Some("9.5")) && !small.matches(Some("10")) && !small.matches(Some("x"))
        );
        assert!(c(Test::In(vec![
            Scalar::Text("a".into()),
            Scalar::Number("3".into())
        ]))
        .matches(Some("3")));
    }

    #[test]
    fn where_parses_and_check_locates_its_errors() {
        let rules = crate::RuleSet::from_yaml(
            "size_limits:\n  pmProject:\n    max_documents: 100\n    where: {IsPrivate: false, Settings.Region: {in: [eu, uk]}, Created: {gte: 2020-01-01}}\n",
            "r.yaml",
        )
        .unwrap();
        let f = &rules.size_limits[0].filter;
        assert_eq!(f.len(), 3);
        assert_eq!(f[1].path, ["Settings", "Region"]);
        let only =
            crate::RuleSet::from_yaml("size_limits:\n  t: {where: {a: null}}\n", "r.yaml").unwrap();
        assert_eq!(only.size_limits[0].max_rows, u64::MAX);
        let err = |yaml: &str| {
            crate::RuleSet::from_yaml(yaml, "r.yaml")
                .unwrap_err()
                .to_string()
        };
        let e = err("size_limits:\n  t:\n    where: {a: {start_with: x}}\n");
        assert!(
            e.starts_with(
                "r.yaml:3:13: unknown condition `start_with` (did you mean `starts_with`?)"
            ),
            "{e}"
        );
        let e = err("size_limits:\n  t:\n    where: {a: {gte: soon}}\n");
        assert!(e.contains("`gte` takes a number or a date"), "{e}");
        let e = err("size_limits:\n  t:\n    where: {a: [1, 2]}\n");
        assert!(e.contains("a condition is a value, null, or"), "{e}");
        let e = err("size_limits:\n  t: {}\n");
        assert!(
            e.contains("needs `max_documents` (or `max_rows`) or `where`"),
            "{e}"
        );
    }

    #[test]
    fn when_parses_negations_and_check_locates_its_errors() {
        let rules = crate::RuleSet::from_yaml(
            "rules:\n  users:\n    when: {email: {not_ends_with: \"@staff.example\"}, role: {not_in: [admin, ops]}, kind: {not: bot}}\n    columns: {email: hash_email}\n",
            "r.yaml",
        )
        .unwrap();
        let when = &rules.tables[0].when;
        assert_eq!(when.len(), 3);
        assert_eq!(when[0].evaluate(Some("a@staff.example")), Some(false));
        assert_eq!(when[1].evaluate(Some("ops")), Some(false));
        assert_eq!(when[1].evaluate(Some("user")), Some(true));
        assert_eq!(when[2].evaluate(Some("bot")), Some(false));
        assert_eq!(when[2].evaluate(None), None);
        // `where` keeps its meaning: a negation does not match NULL.
        assert!(!when[0].matches(None));
        let err = |yaml: &str| {
            crate::RuleSet::from_yaml(yaml, "r.yaml")
                .unwrap_err()
                .to_string()
        };
        let e = err("rules:\n  users:\n    when: {email: {not_end_with: x}}\n    columns: {email: hash_email}\n");
        assert!(
            e.starts_with(
                "r.yaml:3:12: unknown condition `not_end_with` (did you mean `not_ends_with`?)"
            ),
            "{e}"
        );
        let e = err("rules:\n  users:\n    when: [email]\n    columns: {email: hash_email}\n");
        assert!(
            e.starts_with("r.yaml:3:5: `when` is a mapping of fields to conditions"),
            "{e}"
        );
        let e = err("rules:\n  users:\n    when: {email: null}\n");
        assert!(e.starts_with("r.yaml:3:5: `when` chooses the rows"), "{e}");
        let e = err(
            "rules:\n  users:\n    when: {email: {not: [1]}}\n    columns: {email: hash_email}\n",
        );
        assert!(e.contains("`not` takes a string, number or boolean"), "{e}");
    }
}
