//! The compiled form of a table's field rules: a tree matched by field-name bytes.

/// Identifies one field rule of an [`Anonymizer`](crate::Anonymizer) (for `apply` and counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(pub(crate) u32);

impl RuleId {
    /// The rule's index in [`Report::rules`](crate::Report::rules).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One step of a compiled field path.
///
/// A format crate starts at [`CollectionPlan::root`](crate::CollectionPlan::root) and, for each
/// field of a document or row, asks [`child`](PlanNode::child) with the field's name bytes. A
/// node with a [`rule`](PlanNode::rule) transforms the value found there; a node with children
/// is descended into (sub-documents, array elements, JSON). A node never has both.
///
/// Arrays follow MongoDB query semantics: when the value at node `N` is an array, every
/// element is handled with `N` itself and, if present, with `N.child(b"<index>")`.
///
/// ```
/// use anonymize_core::{Anonymizer, Disposition, KeyMode, RuleSet};
/// let rules = RuleSet::from_yaml(
///     "rules:\n  people:\n    fields:\n      FullName.First: sequential\n",
///     "inline.yaml",
/// ).unwrap();
/// let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
/// let Disposition::Keep(plan) = anon.resolve(None, "people") else { panic!() };
/// let full_name = plan.root().unwrap().child(b"FullName").unwrap();
/// assert!(full_name.has_children() && full_name.rule().is_none());
/// assert!(full_name.child(b"First").unwrap().rule().is_some());
/// assert!(full_name.child(b"Last").is_none());
/// ```
#[derive(Debug, Default, Clone)]
pub struct PlanNode {
    children: Vec<(Box<[u8]>, PlanNode)>,
    rule: Option<RuleId>,
    when: Option<std::sync::Arc<crate::When>>,
}

impl PlanNode {
    /// The node for the field or array index `name`, if any rule goes through it.
    #[inline]
    pub fn child(&self, name: &[u8]) -> Option<&PlanNode> {
        self.children
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, node)| node)
    }

    /// The rule to apply to the value at this node.
    #[inline]
    pub fn rule(&self) -> Option<RuleId> {
        self.rule
    }

    /// At a table's root: the rules' `when:` conditions, if any. A format evaluates them on
    /// each row or document before walking it and leaves the row as it is when
    /// [`When::rules_apply`](crate::When::rules_apply) says no.
    #[inline]
    pub fn when(&self) -> Option<&crate::When> {
        self.when.as_deref()
    }

    pub(crate) fn when_arc(&self) -> Option<std::sync::Arc<crate::When>> {
        self.when.clone()
    }

    pub(crate) fn set_when(&mut self, when: Option<std::sync::Arc<crate::When>>) {
        self.when = when;
    }

    /// True when rules reach below this node.
    #[inline]
    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }

    /// True when `name`, a field name holding dots (legal in MongoDB since 5.0, e.g. a literal
    /// key `"FullName.First"`), reads like a rule path below this node: its dotted steps lead
    /// through at least two levels of the plan. Such a key is not the field the rule names
    /// (that is `FullName` → `First`); a rule reaches it only through the escape
    /// `FullName\.First`. Formats use this to report keys that shadow a rule path.
    ///
    /// ```
    /// use anonymize_core::{Anonymizer, Disposition, KeyMode, RuleSet};
    /// let rules = RuleSet::from_yaml("rules:\n  p:\n    fields:\n      FullName.First: hash\n", "x.yaml").unwrap();
    /// let anon = Anonymizer::new(rules, KeyMode::Unkeyed).unwrap();
    /// let Disposition::Keep(plan) = anon.resolve(None, "p") else { panic!() };
    /// assert!(plan.root().unwrap().dotted_name_shadows_rule(b"FullName.First"));
    /// assert!(!plan.root().unwrap().dotted_name_shadows_rule(b"FullName"));
    /// assert!(!plan.root().unwrap().dotted_name_shadows_rule(b"Other.First"));
    /// ```
    pub fn dotted_name_shadows_rule(&self, name: &[u8]) -> bool {
        let mut steps = name.split(|&b| b == b'.');
        let mut node = self;
        let mut depth = 0;
        for step in steps.by_ref() {
            match node.child(step) {
                Some(next) => {
                    node = next;
                    depth += 1;
                }
                None => break,
            }
        }
        depth >= 2
    }

    /// The names of the fields below this node that rules go through.
    pub fn child_names(&self) -> impl Iterator<Item = &[u8]> {
        self.children.iter().map(|(n, _)| n.as_ref())
    }

    /// Inserts `rule` at `path`. Fails with the conflicting path prefix when a rule already
    /// covers a prefix of `path` or `path` is a prefix of an existing rule.
    pub(crate) fn insert<S: AsRef<str>>(
        &mut self,
        path: &[S],
        rule: RuleId,
    ) -> Result<(), Conflict> {
        let mut node = self;
        for step in path {
            let step = step.as_ref();
            if node.rule.is_some() {
                return Err(Conflict);
            }
            let pos = match node
                .children
                .iter()
                .position(|(n, _)| n.as_ref() == step.as_bytes())
            {
                Some(pos) => pos,
                None => {
                    node.children
                        .push((step.as_bytes().into(), PlanNode::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[pos].1;
        }
        if node.rule.is_some() || node.has_children() {
            return Err(Conflict);
        }
        node.rule = Some(rule);
        Ok(())
    }
}

/// Two rules where one path is a prefix of the other.
#[derive(Debug)]
pub(crate) struct Conflict;
