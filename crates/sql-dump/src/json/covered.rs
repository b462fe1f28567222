//! Which values of a JSON document a run's rules reach, read without rewriting: the
//! rewriter's own shape rules (the parent module), for `verify` (the covered originals to
//! look for in an output) and `scan` (the values no rule covers, and values of another shape
//! on a covered path).

use anonymize_core::{Anonymizer, PlanNode, Transform};

use super::tree::Json;
use super::{expects_container, MAX_ENCODINGS};

/// How a run treats one value of a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonCoverage {
    /// Below a rule that writes something else (any transform but `keep`).
    Covered,
    /// Below a `keep` rule (reviewed, left as it is).
    Kept,
    /// A scalar where the rules go deeper (a string where `contact.email` expects an object
    /// at `contact`): a run nulls it and counts it as failed closed, so an output holding it
    /// leaks.
    OtherShape,
    /// No rule reaches it.
    Uncovered,
}

/// One string or number of a JSON document.
#[derive(Debug, Clone, Copy)]
pub struct JsonValue<'a> {
    /// The keys from the column down to the value (array levels left out); keys come from
    /// the data.
    pub path: &'a [String],
    /// The string (decoded) or the number's text.
    pub text: &'a str,
    /// Whether it is a number.
    pub number: bool,
    /// How a run treats it.
    pub coverage: JsonCoverage,
}

/// Walks the JSON document `text` of a column whose rules' node is `node` (`None`: no rule
/// reaches into the column) as a run would, calling `visit` for every string and number with
/// how the run treats it. Double-encoded JSON (a string holding a document) where the rules
/// go deeper is decoded and walked, as a run decodes, rewrites and encodes it again. `false`
/// when `text` is not JSON (a run nulls such a value when rules reach into the column).
pub fn walk_json(
    text: &[u8],
    node: Option<&PlanNode>,
    anon: &Anonymizer,
    visit: &mut dyn FnMut(JsonValue<'_>),
) -> bool {
    let Some(doc) = Json::parse(text) else {
        return false;
    };
    let mut w = Reader {
        anon,
        visit,
        path: Vec::new(),
    };
    match node {
        None => w.all(&doc, JsonCoverage::Uncovered),
        Some(n) if n.rule().is_some() => w.visit(&doc, n),
        Some(n) => w.container(&doc, n, false, 0),
    }
    true
}

struct Reader<'a, 'v> {
    anon: &'a Anonymizer,
    visit: &'v mut dyn FnMut(JsonValue<'_>),
    path: Vec<String>,
}

impl Reader<'_, '_> {
    fn emit(&mut self, v: &Json, coverage: JsonCoverage) {
        let (text, number) = match v {
            Json::Str(s) => (s.as_str(), false),
            Json::Num(n) => (n.as_str(), true),
            _ => return,
        };
        (self.visit)(JsonValue {
            path: &self.path,
            text,
            number,
            coverage,
        });
    }

    /// Every string and number of `v`, treated alike.
    fn all(&mut self, v: &Json, coverage: JsonCoverage) {
        match v {
            Json::Obj(members) => {
                for (k, item) in members {
                    self.path.push(k.clone());
                    self.all(item, coverage);
                    self.path.pop();
                }
            }
            Json::Arr(items) => items.iter().for_each(|item| self.all(item, coverage)),
            _ => self.emit(v, coverage),
        }
    }

    /// A value at a place where `node`'s rules go deeper (the rewriter's `container`).
    fn container(&mut self, v: &Json, node: &PlanNode, element: bool, encodings: usize) {
        match v {
            Json::Obj(_) | Json::Arr(_) => self.walk(v, node),
            Json::Null => {}
            Json::Str(s) if encodings < MAX_ENCODINGS => match Json::parse(s.as_bytes()) {
                Some(inner @ (Json::Obj(_) | Json::Arr(_) | Json::Str(_))) => {
                    self.container(&inner, node, element, encodings + 1)
                }
                _ => self.mismatch(v, node, element),
            },
            _ => self.mismatch(v, node, element),
        }
    }

    fn mismatch(&mut self, v: &Json, node: &PlanNode, element: bool) {
        if expects_container(node, element) {
            self.emit(v, JsonCoverage::OtherShape);
        } else {
            self.emit(v, JsonCoverage::Uncovered);
        }
    }

    /// An object or array along `node`'s children (the rewriter's `walk`).
    fn walk(&mut self, v: &Json, node: &PlanNode) {
        match v {
            Json::Obj(members) => {
                for (k, item) in members {
                    self.path.push(k.clone());
                    match node.child(k.as_bytes()) {
                        Some(child) => self.visit(item, child),
                        None => self.all(item, JsonCoverage::Uncovered),
                    }
                    self.path.pop();
                }
            }
            Json::Arr(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = node.child(i.to_string().as_bytes());
                    match at {
                        // A rule on this position covers the element whole.
                        Some(c) if c.rule().is_some() => self.visit(item, c),
                        _ => {
                            match item {
                                Json::Obj(_) | Json::Arr(_) => self.walk(item, node),
                                _ => self.container(item, node, true, 0),
                            }
                            if let Some(c) = at {
                                self.visit(item, c);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn visit(&mut self, v: &Json, node: &PlanNode) {
        match node.rule() {
            Some(rule) => {
                let coverage = if matches!(self.anon.transform(rule), Transform::Keep) {
                    JsonCoverage::Kept
                } else {
                    JsonCoverage::Covered
                };
                self.all(v, coverage);
            }
            None => self.container(v, node, false, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::json::{rewrite_json, JsonOutcome};
    use anonymize_core::{Disposition, KeyMode, RowContext, RuleSet};

    const RULES: &str = "rules:\n  t:\n    fields:\n      \
        doc.contact.email: {transform: constant, value: REPL}\n      \
        doc.tags.0: {transform: constant, value: REPL}\n      \
        doc.list.name: {transform: constant, value: REPL}\n      \
        doc.seen: keep\n";

    /// Every string the walk calls covered or of another shape is gone from the rewriter's
    /// output, every one it calls uncovered or kept is still there: the two agree.
    #[test]
    fn agrees_with_the_rewriter() {
        let rules = RuleSet::from_yaml(RULES, "t.yaml").unwrap();
        let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
        let Disposition::Keep(plan) = anon.resolve(None, "t") else {
            panic!()
        };
        let node = plan.root().unwrap().child(b"doc").unwrap();
        let inner = r#"{"contact":{"email":"s01@x.example","other":"s02"},"z":"s03"}"#;
        let docs = [
            r#"{"contact":{"email":"s01@x.example","phone":"s02"},"n":"s03"}"#.to_owned(),
            r#"{"contact":"s01@x.example","n":"s02"}"#.to_owned(),
            r#"{"contact":["s01","s02",{"email":"s03"}],"x":["s04"]}"#.to_owned(),
            r#""s01@x.example""#.to_owned(),
            serde_json::to_string(inner).unwrap(),
            serde_json::to_string(&serde_json::to_string(inner).unwrap()).unwrap(),
            format!(
                r#"{{"contact":{}}}"#,
                serde_json::to_string(r#"{"email":"s01@x.example","other":"s02"}"#).unwrap()
            ),
            r#"{"tags":["s01","s02",["s03"]],"list":[{"name":"s04","k":"s05"},"s06"]}"#.to_owned(),
            r#"{"seen":"s01","contact":{"email":["s02",{"deep":"s03"}]},"contact2":"s04"}"#
                .to_owned(),
            r#"{"contact":12345678901,"tags":"s01"}"#.to_owned(),
        ];
        for doc in docs {
            let mut gone = BTreeSet::new();
            let mut kept = BTreeSet::new();
            assert!(walk_json(doc.as_bytes(), Some(node), &anon, &mut |v| {
                match v.coverage {
                    JsonCoverage::Covered | JsonCoverage::OtherShape => {
                        gone.insert(v.text.to_owned())
                    }
                    JsonCoverage::Kept | JsonCoverage::Uncovered => kept.insert(v.text.to_owned()),
                };
            }));
            let out = match rewrite_json(doc.as_bytes(), node, &anon, &RowContext { ordinal: 1 }) {
                JsonOutcome::Changed(t) => t,
                JsonOutcome::Unchanged => doc.clone(),
                JsonOutcome::Invalid => panic!("{doc}"),
            };
            assert!(!gone.is_empty(), "{doc}");
            for s in &gone {
                assert!(!out.contains(s.as_str()), "{doc}: {s} survived in {out}");
            }
            for s in &kept {
                assert!(out.contains(s.as_str()), "{doc}: {s} was changed: {out}");
            }
        }
        assert!(!walk_json(b"not json", Some(node), &anon, &mut |_| {}));
    }
}
