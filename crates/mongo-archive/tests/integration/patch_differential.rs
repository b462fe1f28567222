//! Differential property test: the zero-copy patcher against a slow reference that decodes the
//! document with the `bson` crate, applies the same rules to the tree, and encodes it again.
//! Random documents (nested documents and arrays, every common BSON type, names that rule
//! paths hit) and random rule sets (every transform, nested and numeric paths).

use anonymize_core::{
    Anonymizer, Disposition, Key, KeyMode, PlanNode, Replacement, RowContext, RuleSet, Value,
};
use bson::{spec::BinarySubtype, Binary, Bson, Document};
use mongo_archive::Patcher;
use proptest::prelude::*;

const NAMES: [&str; 7] = ["a", "b", "email", "name", "0", "1", "x"];

fn leaf() -> impl Strategy<Value = Bson> {
    prop_oneof![
        "[a-zA-Z0-9 .@+-]{0,20}".prop_map(Bson::String),
        "[a-z]{1,8}@[a-z]{1,6}\\.(org|com)".prop_map(Bson::String),
        "\\PC{0,8}".prop_map(Bson::String),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        (-1e12f64..1e12).prop_map(Bson::Double),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::Null),
        (-2_000_000_000_000i64..4_000_000_000_000)
            .prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
        (
            prop_oneof![Just(0u8), Just(3), Just(4), Just(0x80)],
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(s, bytes)| Bson::Binary(Binary {
                subtype: BinarySubtype::from(s),
                bytes
            })),
        Just(Bson::ObjectId(bson::oid::ObjectId::from_bytes([7; 12]))),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Bson::Array),
            proptest::collection::vec((proptest::sample::select(&NAMES[..]), inner), 0..5)
                .prop_map(|fields| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k, v);
                    }
                    Bson::Document(d)
                }),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    proptest::collection::vec((proptest::sample::select(&NAMES[..]), value()), 0..6).prop_map(
        |fields| {
            let mut d = Document::new();
            for (k, v) in fields {
                d.insert(k, v);
            }
            d
        },
    )
}

const TRANSFORMS: [&str; 16] = [
    "hash",
    "{transform: hash, length: 8}",
    "{transform: hmac, encoding: base64url}",
    "hash_email",
    "sequential",
    "sequential_suffix",
    "{transform: fake, kind: first_name}",
    "{transform: fake, kind: email}",
    "digits",
    "{transform: mask, keep_start: 1, keep_end: 1}",
    "date_shift",
    "null",
    "remove",
    "keep",
    "{transform: constant, value: 42}",
    "{transform: constant, value: redacted}",
];

/// Up to 5 rules on paths of 1-3 steps; paths where one contains the other are dropped.
fn rule_set() -> impl Strategy<Value = String> {
    let path = proptest::collection::vec(proptest::sample::select(&NAMES[..]), 1..4)
        .prop_map(|steps| steps.join("."));
    proptest::collection::vec((path, proptest::sample::select(&TRANSFORMS[..])), 1..6).prop_map(
        |rules| {
            let mut kept: Vec<(String, &str)> = Vec::new();
            for (p, t) in rules {
                let clash = kept.iter().any(|(q, _)| {
                    p == *q || p.starts_with(&format!("{q}.")) || q.starts_with(&format!("{p}."))
                });
                if !clash {
                    kept.push((p, t));
                }
            }
            let mut yaml = String::from("rules:\n  c:\n    fields:\n");
            for (p, t) in kept {
                yaml.push_str(&format!("      \"{p}\": {t}\n"));
            }
            yaml
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The slow reference: a tree walk over the decoded document.

fn to_value(b: &Bson) -> Value<'_> {
    match b {
        Bson::String(s) => Value::Str(s),
        Bson::Int32(v) => Value::Int32(*v),
        Bson::Int64(v) => Value::Int64(*v),
        Bson::Double(v) => Value::Double(*v),
        Bson::Boolean(v) => Value::Bool(*v),
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::DateTime(d) => Value::DateTime(d.timestamp_millis()),
        Bson::Binary(bin) => Value::Binary {
            subtype: u8::from(bin.subtype),
            bytes: &bin.bytes,
        },
        _ => Value::Other,
    }
}

fn from_replacement(r: Replacement) -> Option<Bson> {
    Some(match r {
        Replacement::Unchanged => return None,
        Replacement::Null | Replacement::Remove => Bson::Null,
        Replacement::Str(s) => Bson::String(s),
        Replacement::Bytes(b) => match String::from_utf8(b) {
            Ok(s) => Bson::String(s),
            Err(e) => Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: e.into_bytes(),
            }),
        },
        Replacement::Int32(v) => Bson::Int32(v),
        Replacement::Int64(v) => Bson::Int64(v),
        Replacement::Double(v) => Bson::Double(v),
        Replacement::Number(s) => match (s.parse::<i64>(), s.parse::<f64>()) {
            (Ok(v), _) => Bson::Int64(v),
            (_, Ok(v)) => Bson::Double(v),
            _ => Bson::String(s),
        },
        Replacement::Bool(v) => Bson::Boolean(v),
        Replacement::Binary { subtype, bytes } => Bson::Binary(Binary {
            subtype: BinarySubtype::from(subtype),
            bytes,
        }),
        Replacement::DateTime(ms) => Bson::DateTime(bson::DateTime::from_millis(ms)),
    })
}

/// What to do with a field after the reference handled its value.
enum Outcome {
    Keep,
    Remove,
}

struct Reference<'a> {
    anon: &'a Anonymizer,
    ctx: RowContext,
}

impl Reference<'_> {
    /// `nodes`: the plan nodes reaching this value, in the walker's documented order (MongoDB
    /// query semantics: an array element is reached by the array's nodes and their child named
    /// by its index); the last node with a rule is the most specific.
    fn value(&self, v: &mut Bson, nodes: &[&PlanNode], in_array: bool) -> Outcome {
        if let Some(rule) = nodes.iter().filter_map(|n| n.rule()).next_back() {
            if let (Bson::Array(items), false) = (&mut *v, self.anon.applies_to_whole_array(rule)) {
                self.array(items, nodes);
                return Outcome::Keep;
            }
            let r = self.anon.apply(rule, to_value(v), &self.ctx);
            if r == Replacement::Remove && !in_array {
                return Outcome::Remove;
            }
            if let Some(new) = from_replacement(r) {
                *v = new;
            }
            return Outcome::Keep;
        }
        match v {
            Bson::Document(d) => self.doc(d, nodes),
            Bson::Array(items) => self.array(items, nodes),
            Bson::Null | Bson::Undefined => {}
            // A scalar where the rules reach into a sub-document (schema drift) is nulled, fail
            // closed. For an array element only field names count: index children select
            // other elements.
            _ => {
                let is_index = |c: &[u8]| !c.is_empty() && c.iter().all(u8::is_ascii_digit);
                if nodes
                    .iter()
                    .any(|n| n.child_names().any(|c| !in_array || !is_index(c)))
                {
                    *v = Bson::Null;
                }
            }
        }
        Outcome::Keep
    }

    fn doc(&self, d: &mut Document, nodes: &[&PlanNode]) {
        let keys: Vec<String> = d.keys().cloned().collect();
        for k in keys {
            let sub: Vec<&PlanNode> = nodes.iter().filter_map(|n| n.child(k.as_bytes())).collect();
            if sub.is_empty() {
                continue;
            }
            if let Outcome::Remove = self.value(d.get_mut(&k).unwrap(), &sub, false) {
                d.remove(&k);
            }
        }
    }

    fn array(&self, items: &mut [Bson], nodes: &[&PlanNode]) {
        for (i, item) in items.iter_mut().enumerate() {
            let idx = i.to_string();
            let mut sub = Vec::new();
            for n in nodes {
                sub.push(*n);
                if let Some(c) = n.child(idx.as_bytes()) {
                    sub.push(c);
                }
            }
            self.value(item, &sub, true);
        }
    }
}

fn anonymizer(yaml: &str) -> Anonymizer {
    let rules = RuleSet::from_yaml(yaml, "prop.yaml").unwrap();
    Anonymizer::new(
        rules,
        KeyMode::Keyed(Key::from_bytes(b"differential test key 0123456789").unwrap()),
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn zero_copy_patch_equals_decode_modify_encode(doc in document(), yaml in rule_set(), ordinal in 1u64..1000) {
        let anon = anonymizer(&yaml);
        let Disposition::Keep(plan) = anon.resolve(None, "c") else { panic!("c has rules") };
        let root = plan.root().unwrap();
        let input = bson::to_vec(&doc).unwrap();

        let mut patcher = Patcher::new();
        let fast = patcher
            .patch(&input, root, &anon, RowContext { ordinal })
            .unwrap_or_else(|e| panic!("patch failed on a valid document: {e}\n{yaml}\n{doc}"))
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| input.clone());

        let mut slow = doc.clone();
        Reference { anon: &anon, ctx: RowContext { ordinal } }.doc(&mut slow, &[root]);
        let slow = bson::to_vec(&slow).unwrap();
        prop_assert!(fast == slow, "rules:\n{}\ninput: {}\nfast: {:?}\nslow: {:?}", yaml, doc,
            Document::from_reader(&fast[..]).map(|d| d.to_string()), Document::from_reader(&slow[..]).map(|d| d.to_string()));
    }
}
