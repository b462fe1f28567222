//! Per-table rule conditions: `rules.<name>.when`. The field rules of a collection or table
//! apply only to the rows or documents for which every condition holds; a row for which
//! some condition is false keeps its original values. Anything a condition cannot evaluate
//! (a missing field or column, another type, an undecodable value, NULL under a comparison)
//! fails closed: the rules apply.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::conditions::Condition;

/// The `when:` of one table's rules, with the count of rows it kept from the rules. Formats
/// find it at the root of a table's plan ([`PlanNode::when`](crate::PlanNode::when)).
///
/// ```
/// use anonymize_core::{Anonymizer, Disposition, KeyMode, RuleSet};
/// let rules = RuleSet::from_yaml(
///     "rules:\n  users:\n    when: {email: {not_ends_with: \"@staff.example\"}}\n    columns: {email: hash_email}\n",
///     "r.yaml",
/// ).unwrap();
/// let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
/// let Disposition::Keep(plan) = anon.resolve(None, "users") else { panic!() };
/// let when = plan.root().unwrap().when().unwrap();
/// let c = &when.conditions()[0];
/// assert!(!when.rules_apply([c.evaluate(Some("ann@staff.example"))]));
/// assert!(when.rules_apply([c.evaluate(Some("bob@mail.example"))]));
/// assert!(when.rules_apply([None])); // cannot evaluate: the rules apply
/// assert_eq!(anon.report().when_skipped[0].rows_skipped, 1);
/// ```
#[derive(Debug)]
pub struct When {
    table: String,
    conditions: Vec<Condition>,
    skipped: AtomicU64,
}

impl When {
    pub(crate) fn new(table: String, conditions: Vec<Condition>) -> When {
        When {
            table,
            conditions,
            skipped: AtomicU64::new(0),
        }
    }

    /// The conditions, all of which must hold for the rules to apply.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The table key as written in the rules file.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Whether the rules apply to a row, given one verdict per condition in order (`None`:
    /// the condition could not be evaluated on the row). The rules are skipped only when
    /// every condition was evaluated and one is false; a skipped row is counted. Fewer
    /// verdicts than conditions (a condition's column not in the row) apply the rules.
    pub fn rules_apply(&self, verdicts: impl IntoIterator<Item = Option<bool>>) -> bool {
        let (mut n, mut any_false) = (0, false);
        for v in verdicts {
            n += 1;
            match v {
                None => return true,
                Some(false) => any_false = true,
                Some(true) => {}
            }
        }
        if n < self.conditions.len() || !any_false {
            return true;
        }
        self.skipped.fetch_add(1, Relaxed);
        false
    }

    /// Rows or documents the condition kept from the rules so far.
    pub fn rows_skipped(&self) -> u64 {
        self.skipped.load(Relaxed)
    }
}

impl PartialEq for When {
    fn eq(&self, other: &When) -> bool {
        self.table == other.table && self.conditions == other.conditions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Test;

    fn when(tests: &[(&str, Test)]) -> When {
        let conditions = tests
            .iter()
            .map(|(p, t)| Condition {
                path: vec![(*p).to_owned()],
                test: t.clone(),
            })
            .collect();
        When::new("users".into(), conditions)
    }

    #[test]
    fn rules_are_skipped_only_when_every_condition_is_evaluated_and_one_fails() {
        let w = when(&[
            (
                "email",
                Test::Not(Box::new(Test::EndsWith("@staff.example".into()))),
            ),
            ("active", Test::Eq(crate::Scalar::Bool(true))),
        ]);
        assert!(w.rules_apply([Some(true), Some(true)]));
        assert!(!w.rules_apply([Some(false), Some(true)]));
        assert!(!w.rules_apply([Some(true), Some(false)]));
        // One condition not evaluable: fail closed, even with the other one false.
        assert!(w.rules_apply([Some(false), None]));
        // A condition's column missing from the row.
        assert!(w.rules_apply([Some(false)]));
        assert!(w.rules_apply(std::iter::empty()));
        assert_eq!(w.rows_skipped(), 2);
    }

    #[test]
    fn conditions_over_several_values_nulls_and_booleans() {
        use crate::conditions::Operand::{Bool, Null, Other, Text};
        let c = Condition {
            path: vec!["Emails".into()],
            test: Test::Not(Box::new(Test::EndsWith("@staff.example".into()))),
        };
        // Missing field, NULL, another type: not evaluable.
        assert_eq!(c.evaluate_all([]), None);
        assert_eq!(c.evaluate_all([Null]), None);
        assert_eq!(c.evaluate_all([Other]), None);
        assert_eq!(
            c.evaluate_all([Text("a@staff.example"), Text("b@staff.example")]),
            Some(false)
        );
        assert_eq!(
            c.evaluate_all([Text("a@staff.example"), Text("b@mail.example")]),
            Some(true)
        );
        assert_eq!(c.evaluate_all([Text("a@staff.example"), Other]), None);
        let null = Condition {
            path: vec!["deleted_at".into()],
            test: Test::Null,
        };
        assert_eq!(null.evaluate_all([Null]), Some(true));
        assert_eq!(null.evaluate_all([Text("2020-01-01")]), Some(false));
        assert_eq!(null.evaluate_all([]), None);
        // Booleans compare with boolean literals only: `t`, `true` and `1` are all spellings.
        let staff = |test: Test| Condition {
            path: vec!["is_staff".into()],
            test,
        };
        let yes = staff(Test::Eq(crate::Scalar::Bool(true)));
        assert_eq!(yes.evaluate_all([Bool(true)]), Some(true));
        assert_eq!(yes.evaluate_all([Bool(false)]), Some(false));
        let not_yes = staff(Test::Not(Box::new(Test::Eq(crate::Scalar::Bool(true)))));
        assert_eq!(not_yes.evaluate_all([Bool(true)]), Some(false));
        let text_t = staff(Test::Eq(crate::Scalar::Text("t".into())));
        assert_eq!(text_t.evaluate_all([Bool(true)]), None);
        assert_eq!(text_t.evaluate_all([Bool(false)]), None);
        assert_eq!(staff(Test::NotNull).evaluate_all([Bool(false)]), Some(true));
    }

    #[test]
    fn a_qualified_key_s_when_wins_and_the_bare_one_applies_otherwise() {
        let anon = |yaml: &str| {
            crate::Anonymizer::new(
                crate::RuleSet::from_yaml(yaml, "r.yaml").unwrap(),
                crate::KeyMode::Unkeyed,
            )
            .unwrap()
        };
        let when_of = |a: &crate::Anonymizer, db: Option<&str>| match a.resolve(db, "users") {
            crate::Disposition::Keep(p) => p
                .root()
                .and_then(|r| r.when())
                .map(|w| w.table().to_owned()),
            _ => None,
        };
        let bare_only = anon(
            "rules:\n  users:\n    when: {a: 1}\n    columns: {email: hash}\n  app.users:\n    columns: {name: hash}\n",
        );
        assert_eq!(when_of(&bare_only, Some("app")).as_deref(), Some("users"));
        assert_eq!(when_of(&bare_only, None).as_deref(), Some("users"));
        let both = anon(
            "rules:\n  users:\n    when: {a: 1}\n    columns: {email: hash}\n  app.users:\n    when: {b: 2}\n    columns: {name: hash}\n",
        );
        assert_eq!(when_of(&both, Some("app")).as_deref(), Some("app.users"));
        assert_eq!(when_of(&both, Some("other")).as_deref(), Some("users"));
        let none = anon("rules:\n  users:\n    columns: {email: hash}\n");
        assert_eq!(when_of(&none, None), None);
    }
}
