//! Rules that reach into JSON columns (`payload.user.email`).

use anonymize_core::{Anonymizer, PlanNode, Replacement, RowContext, RuleId, Value};
use serde_json::Value as Json;

/// What happened to a JSON text.
#[derive(Debug, PartialEq)]
pub(crate) enum JsonOutcome {
    /// No rule changed anything: keep the original bytes.
    Unchanged,
    /// The rewritten JSON text.
    Changed(String),
    /// The text is not JSON: the caller fails closed.
    Invalid,
}

/// Applies the rules below `node` (the column's node) to the JSON document in `text`.
pub(crate) fn rewrite_json(
    text: &[u8],
    node: &PlanNode,
    anon: &Anonymizer,
    ctx: &RowContext,
) -> JsonOutcome {
    let Ok(mut doc) = serde_json::from_slice::<Json>(text) else {
        return JsonOutcome::Invalid;
    };
    if walk(&mut doc, node, anon, ctx) {
        match serde_json::to_string(&doc) {
            Ok(s) => JsonOutcome::Changed(s),
            Err(_) => JsonOutcome::Invalid,
        }
    } else {
        JsonOutcome::Unchanged
    }
}

/// Descends into `v` along `node`'s children. Returns true when something changed.
fn walk(v: &mut Json, node: &PlanNode, anon: &Anonymizer, ctx: &RowContext) -> bool {
    let mut changed = false;
    match v {
        Json::Object(map) => {
            for name in node.child_names() {
                let Ok(key) = std::str::from_utf8(name) else {
                    continue;
                };
                let Some(child) = node.child(name) else {
                    continue;
                };
                let Some(slot) = map.get_mut(key) else {
                    continue;
                };
                match visit(slot, child, anon, ctx) {
                    Visit::Same => {}
                    Visit::Changed => changed = true,
                    Visit::Remove => {
                        map.shift_remove(key);
                        changed = true;
                    }
                }
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                changed |= walk(item, node, anon, ctx);
                if let Some(child) = node.child(i.to_string().as_bytes()) {
                    match visit(item, child, anon, ctx) {
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
    changed
}

enum Visit {
    Same,
    Changed,
    Remove,
}

fn visit(slot: &mut Json, node: &PlanNode, anon: &Anonymizer, ctx: &RowContext) -> Visit {
    match node.rule() {
        Some(rule) => apply_rule(slot, rule, anon, ctx),
        None => {
            if walk(slot, node, anon, ctx) {
                Visit::Changed
            } else {
                Visit::Same
            }
        }
    }
}

fn apply_rule(slot: &mut Json, rule: RuleId, anon: &Anonymizer, ctx: &RowContext) -> Visit {
    if let Json::Array(items) = slot {
        if !anon.applies_to_whole_array(rule) {
            let mut changed = false;
            for item in items.iter_mut() {
                match apply_rule(item, rule, anon, ctx) {
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
    let number_text;
    let value = match &*slot {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::Str(s),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => {
                number_text = n.to_string();
                Value::Number(&number_text)
            }
        },
        Json::Array(_) | Json::Object(_) => Value::Other,
    };
    let replacement = anon.apply(rule, value, ctx);
    let new = match replacement {
        Replacement::Unchanged => return Visit::Same,
        Replacement::Remove => return Visit::Remove,
        Replacement::Null => Json::Null,
        Replacement::Str(s) => Json::String(s),
        Replacement::Bytes(b) => Json::String(String::from_utf8_lossy(&b).into_owned()),
        Replacement::Int32(i) => Json::from(i),
        Replacement::Int64(i) => Json::from(i),
        Replacement::Double(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Replacement::Number(s) => s
            .parse::<serde_json::Number>()
            .map_or(Json::String(s), Json::Number),
        Replacement::Bool(b) => Json::Bool(b),
        Replacement::Binary { bytes, .. } => {
            Json::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
        }
        Replacement::DateTime(ms) => Json::String(crate::literal::format_datetime(ms)),
    };
    *slot = new;
    Visit::Changed
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
