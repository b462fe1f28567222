//! Rules that reach into JSON columns (`payload.user.email`).
//!
//! Same rules as MongoDB documents: a value of another shape where a rule's path goes deeper
//! (a string, number or boolean where an object is expected) is nulled and counted as failed
//! closed; a string that holds a JSON document (double-encoded JSON, as PHP applications
//! store it) is decoded, rewritten and encoded again. Numbers no rule touched keep their text.

mod covered;
mod tree;

pub use covered::{walk_json, JsonCoverage, JsonValue};

use anonymize_core::{Anonymizer, PlanNode, Replacement, RowContext, RuleId, Value};

use tree::{is_number, Json};

/// Deepest chain of JSON documents encoded in strings that is decoded.
const MAX_ENCODINGS: usize = 8;

/// What happened to a JSON text.
#[derive(Debug, PartialEq)]
pub(crate) enum JsonOutcome {
    /// No rule changed anything: keep the original bytes.
    Unchanged,
    /// The rewritten JSON text.
    Changed(String),
    /// The text is not JSON: the caller nulls it and counts it ([`count_failed_closed`]).
    Invalid,
}

/// Applies the rules below `node` (the column's node) to the JSON document in `text`.
pub(crate) fn rewrite_json(
    text: &[u8],
    node: &PlanNode,
    anon: &Anonymizer,
    ctx: &RowContext,
) -> JsonOutcome {
    let Some(mut doc) = Json::parse(text) else {
        return JsonOutcome::Invalid;
    };
    let w = Walker { anon, ctx };
    match w.container(&mut doc, node, false, 0) {
        Visit::Same => JsonOutcome::Unchanged,
        Visit::Changed => JsonOutcome::Changed(doc.to_text()),
        Visit::Remove => JsonOutcome::Changed("null".to_owned()),
    }
}

/// Counts every rule below `node` as failed closed (a value nulled wholesale). With
/// `element`, index children (`tags.0`) are left out: they address array elements, not the
/// element's own members.
pub(crate) fn count_failed_closed(anon: &Anonymizer, node: &PlanNode, element: bool) {
    fn all(anon: &Anonymizer, n: &PlanNode) {
        if let Some(rule) = n.rule() {
            anon.record_failed_closed(rule);
        }
        for c in n.child_names() {
            if let Some(child) = n.child(c) {
                all(anon, child);
            }
        }
    }
    for c in node.child_names() {
        if element && is_index(c) {
            continue;
        }
        if let Some(child) = node.child(c) {
            all(anon, child);
        }
    }
}

fn is_index(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(u8::is_ascii_digit)
}

/// Whether `node`'s rules go below a value (an array element leaves out index children).
fn expects_container(node: &PlanNode, element: bool) -> bool {
    node.child_names().any(|c| !(element && is_index(c)))
}

enum Visit {
    Same,
    Changed,
    Remove,
}

struct Walker<'a, 'c> {
    anon: &'a Anonymizer,
    ctx: &'c RowContext,
}

impl Walker<'_, '_> {
    /// A value at a place where `node`'s rules go deeper.
    fn container(&self, v: &mut Json, node: &PlanNode, element: bool, encodings: usize) -> Visit {
        match v {
            Json::Obj(_) | Json::Arr(_) => self.walk(v, node),
            Json::Null => Visit::Same,
            Json::Str(s) if encodings < MAX_ENCODINGS => match Json::parse(s.as_bytes()) {
                Some(mut inner @ (Json::Obj(_) | Json::Arr(_) | Json::Str(_))) => {
                    match self.container(&mut inner, node, element, encodings + 1) {
                        Visit::Same => Visit::Same,
                        Visit::Changed => {
                            *s = inner.to_text();
                            Visit::Changed
                        }
                        Visit::Remove => {
                            *s = "null".to_owned();
                            Visit::Changed
                        }
                    }
                }
                _ => self.mismatch(v, node, element),
            },
            _ => self.mismatch(v, node, element),
        }
    }

    /// A scalar where the rules expect an object: it may hold what they cover.
    fn mismatch(&self, v: &mut Json, node: &PlanNode, element: bool) -> Visit {
        if !expects_container(node, element) {
            return Visit::Same;
        }
        count_failed_closed(self.anon, node, element);
        *v = Json::Null;
        Visit::Changed
    }

    /// Descends into an object or array along `node`'s children.
    fn walk(&self, v: &mut Json, node: &PlanNode) -> Visit {
        let mut changed = false;
        match v {
            Json::Obj(members) => {
                let mut removed = Vec::new();
                for (i, (key, slot)) in members.iter_mut().enumerate() {
                    let Some(child) = node.child(key.as_bytes()) else {
                        continue;
                    };
                    match self.visit(slot, child, false) {
                        Visit::Same => {}
                        Visit::Changed => changed = true,
                        Visit::Remove => removed.push(i),
                    }
                }
                changed |= !removed.is_empty();
                for i in removed.into_iter().rev() {
                    members.remove(i);
                }
            }
            Json::Arr(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    match item {
                        Json::Obj(_) | Json::Arr(_) => {
                            changed |= matches!(self.walk(item, node), Visit::Changed)
                        }
                        _ => {
                            changed |= matches!(self.container(item, node, true, 0), Visit::Changed)
                        }
                    }
                    if let Some(child) = node.child(i.to_string().as_bytes()) {
                        match self.visit(item, child, false) {
                            Visit::Same => {}
                            Visit::Changed => changed = true,
                            Visit::Remove => {
                                *item = Json::Null;
                                changed = true;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if changed {
            Visit::Changed
        } else {
            Visit::Same
        }
    }

    fn visit(&self, slot: &mut Json, node: &PlanNode, element: bool) -> Visit {
        match node.rule() {
            Some(rule) => self.apply_rule(slot, rule),
            None => self.container(slot, node, element, 0),
        }
    }

    fn apply_rule(&self, slot: &mut Json, rule: RuleId) -> Visit {
        let anon = self.anon;
        if let Json::Arr(items) = slot {
            if !anon.applies_to_whole_array(rule) {
                let mut changed = false;
                for item in items.iter_mut() {
                    match self.apply_rule(item, rule) {
                        Visit::Same => {}
                        Visit::Changed => changed = true,
                        Visit::Remove => {
                            *item = Json::Null;
                            changed = true;
                        }
                    }
                }
                return if changed { Visit::Changed } else { Visit::Same };
            }
        }
        let value = match &*slot {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Str(s) => Value::Str(s),
            Json::Num(n) => match n.parse::<i64>() {
                Ok(i) => Value::Int64(i),
                Err(_) => Value::Number(n),
            },
            Json::Arr(_) | Json::Obj(_) => Value::Other,
        };
        let new = match anon.apply(rule, value, self.ctx) {
            Replacement::Unchanged => return Visit::Same,
            Replacement::Remove => return Visit::Remove,
            Replacement::Null => Json::Null,
            Replacement::Str(s) => Json::Str(s),
            Replacement::Bytes(b) => Json::Str(String::from_utf8_lossy(&b).into_owned()),
            Replacement::Int32(i) => Json::Num(i.to_string()),
            Replacement::Int64(i) => Json::Num(i.to_string()),
            Replacement::Double(f) => {
                serde_json::Number::from_f64(f).map_or(Json::Null, |n| Json::Num(n.to_string()))
            }
            Replacement::Number(s) if is_number(&s) => Json::Num(s),
            Replacement::Number(s) => Json::Str(s),
            Replacement::Bool(b) => Json::Bool(b),
            Replacement::Binary { bytes, .. } => {
                Json::Str(bytes.iter().map(|b| format!("{b:02x}")).collect())
            }
            Replacement::DateTime(ms) => Json::Str(crate::literal::format_datetime(ms)),
        };
        *slot = new;
        Visit::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anonymize_core::{Disposition, KeyMode, RuleSet};

    #[test]
    fn rewrites_nested_paths_and_arrays() {
        let rules = RuleSet::from_yaml(
            "rules:\n  t:\n    fields:\n      doc.user.email: {transform: constant, value: x}\n      doc.tags.name: {transform: null}\n      doc.gone: remove\n",
            "t.yaml",
        )
        .unwrap();
        let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
        let Disposition::Keep(plan) = anon.resolve(None, "t") else {
            panic!()
        };
        let node = plan.root().unwrap().child(b"doc").unwrap();
        let ctx = RowContext { ordinal: 1 };
        let out = rewrite_json(
            br#"{"z":1,"user":{"email":"a@b","n":2},"tags":[{"name":"a"},{"name":"b","k":1}],"gone":3}"#,
            node,
            &anon,
            &ctx,
        );
        assert_eq!(
            out,
            JsonOutcome::Changed(
                r#"{"z":1,"user":{"email":"x","n":2},"tags":[{"name":null},{"name":null,"k":1}]}"#
                    .into()
            )
        );
        assert_eq!(
            rewrite_json(br#"{"other":1}"#, node, &anon, &ctx),
            JsonOutcome::Unchanged
        );
        assert_eq!(
            rewrite_json(b"not json", node, &anon, &ctx),
            JsonOutcome::Invalid
        );
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use anonymize_core::{Disposition, KeyMode, RuleSet};

    fn anon() -> Anonymizer {
        let rules = RuleSet::from_yaml(
            "rules:\n  t:\n    fields:\n      doc.contact.email: {transform: constant, value: x}\n      doc.tags.0: {transform: constant, value: first}\n",
            "t.yaml",
        )
        .unwrap();
        Anonymizer::new(rules, KeyMode::Unkeyed).unwrap()
    }

    fn run(anon: &Anonymizer, text: &str) -> JsonOutcome {
        let Disposition::Keep(plan) = anon.resolve(None, "t") else {
            panic!()
        };
        let node = plan.root().unwrap().child(b"doc").unwrap();
        rewrite_json(text.as_bytes(), node, anon, &RowContext { ordinal: 1 })
    }

    fn failed_closed(anon: &Anonymizer) -> u64 {
        anon.report().rules[0].failed_closed
    }

    #[test]
    fn another_shape_on_a_covered_path_is_nulled_and_counted() {
        let a = anon();
        let cases = [
            (
                r#"{"contact":"bob@corp.example","n":1}"#,
                r#"{"contact":null,"n":1}"#,
            ),
            (
                r#"{"contact":["bob@corp.example",{"email":"b@c"}]}"#,
                r#"{"contact":[null,{"email":"x"}]}"#,
            ),
            (r#"{"contact":42}"#, r#"{"contact":null}"#),
            (r#""bob@corp.example""#, "null"),
            ("7", "null"),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(
                run(&a, input),
                JsonOutcome::Changed((*want).into()),
                "{input}"
            );
            assert_eq!(failed_closed(&a), i as u64 + 1, "{input}");
        }
        // Nothing of another shape: nothing counted.
        assert_eq!(
            run(&a, r#"{"contact":null,"tags":["a"]}"#),
            JsonOutcome::Changed(r#"{"contact":null,"tags":["first"]}"#.into())
        );
        assert_eq!(
            run(&a, r#"{"contact":{"phone":"1"}}"#),
            JsonOutcome::Unchanged
        );
        assert_eq!(failed_closed(&a), 5);
    }

    #[test]
    fn double_encoded_documents_are_decoded_rewritten_and_encoded_again() {
        let a = anon();
        let inner = r#"{"contact":{"email":"bob@corp.example"},"n":1.50}"#;
        let once = serde_json::to_string(inner).unwrap();
        let twice = serde_json::to_string(&once).unwrap();
        let want_inner = r#"{"contact":{"email":"x"},"n":1.50}"#;
        assert_eq!(
            run(&a, &once),
            JsonOutcome::Changed(serde_json::to_string(want_inner).unwrap())
        );
        assert_eq!(
            run(&a, &twice),
            JsonOutcome::Changed(
                serde_json::to_string(&serde_json::to_string(want_inner).unwrap()).unwrap()
            )
        );
        let field = format!(
            r#"{{"contact":{}}}"#,
            serde_json::to_string(r#"{"email":"b@c"}"#).unwrap()
        );
        assert_eq!(
            run(&a, &field),
            JsonOutcome::Changed(format!(
                r#"{{"contact":{}}}"#,
                serde_json::to_string(r#"{"email":"x"}"#).unwrap()
            ))
        );
        assert_eq!(failed_closed(&a), 0);
    }

    #[test]
    fn untouched_numbers_keep_their_text() {
        let a = anon();
        assert_eq!(
            run(&a, r#"{"id":123456789012345678901234567890,"amount":0.1000000000000000055511151231257827,"contact":{"email":"e","x":1E+2}}"#),
            JsonOutcome::Changed(r#"{"id":123456789012345678901234567890,"amount":0.1000000000000000055511151231257827,"contact":{"email":"x","x":1E+2}}"#.into())
        );
    }
}
