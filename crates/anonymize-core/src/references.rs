//! `references:`: links between collections that MongoDB does not declare, for subsets that
//! keep them (`pmStudy.ProjectId: pmProject._id`; a path through arrays of sub-documents,
//! `pmProject.Memberships.InvestigatorId`, takes every value it reaches).

use serde_yaml_ng::Value as Yaml;

use crate::locate::Step;
use crate::parse_ctx::{key_path, type_name, RulesError};
use crate::path::split_path;

/// One declared reference: documents of `from` whose value at `from_path` is the value at
/// `to_path` of a document of `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The referencing collection (bare `pmStudy` or qualified `syrftest.pmStudy`... written
    /// as its first path step).
    pub from: String,
    /// The referencing field's steps below the collection (`["ProjectId"]`).
    pub from_path: Vec<String>,
    /// The referenced collection.
    pub to: String,
    /// The referenced field's steps (`["_id"]`).
    pub to_path: Vec<String>,
}

impl Reference {
    /// `from.path -> to.path`, for summaries and errors.
    pub fn label(&self) -> String {
        format!(
            "{}.{} -> {}.{}",
            self.from,
            self.from_path.join("."),
            self.to,
            self.to_path.join(".")
        )
    }
}

/// `collection.path` split into the collection and the path's steps.
fn split(s: &str) -> Result<(String, Vec<String>), String> {
    let mut steps = split_path(s).map_err(|_| {
        format!("`{s}` is not `collection.field` (steps separated by dots, `\\.` for a dot in a name, no `$`)")
    })?;
    if steps.len() < 2 {
        return Err(format!(
            "`{s}` names no field: write `collection.field` (e.g. `pmStudy.ProjectId`)"
        ));
    }
    let coll = steps.remove(0);
    Ok((coll, steps))
}

/// Parses the `references:` mapping; `error` locates a message at a YAML path.
pub(crate) fn parse_references(
    path: &[Step],
    value: &Yaml,
    error: &dyn Fn(&[Step], String) -> RulesError,
) -> Result<Vec<Reference>, RulesError> {
    let map = match value {
        Yaml::Null => return Ok(Vec::new()),
        Yaml::Mapping(m) => m,
        other => {
            return Err(error(
                path,
                format!(
                    "expected a mapping `collection.field: collection.field`, found {}",
                    type_name(other)
                ),
            ))
        }
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let Yaml::String(k) = k else {
            return Err(error(path, "keys here must be strings".into()));
        };
        let here = key_path(path, k);
        let (from, from_path) = split(k).map_err(|m| error(&here, m))?;
        let Yaml::String(target) = v else {
            return Err(error(
                &here,
                format!(
                    "expected the referenced `collection.field`, found {}",
                    type_name(v)
                ),
            ));
        };
        let (to, to_path) = split(target).map_err(|m| error(&here, m))?;
        out.push(Reference {
            from,
            from_path,
            to,
            to_path,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::RuleSet;

    #[test]
    fn references_parse_with_paths_through_arrays() {
        let rules = RuleSet::from_yaml(
            "references:\n  pmStudy.ProjectId: pmProject._id\n  pmProject.Memberships.InvestigatorId: pmInvestigator._id\n",
            "r.yaml",
        )
        .unwrap();
        assert_eq!(rules.references.len(), 2);
        let r = &rules.references[1];
        assert_eq!(
            (r.from.as_str(), r.to.as_str()),
            ("pmProject", "pmInvestigator")
        );
        assert_eq!(r.from_path, ["Memberships", "InvestigatorId"]);
        assert_eq!(r.to_path, ["_id"]);
        assert_eq!(
            r.label(),
            "pmProject.Memberships.InvestigatorId -> pmInvestigator._id"
        );
    }

    #[test]
    fn bad_references_are_located_errors() {
        let err = |yaml: &str| RuleSet::from_yaml(yaml, "r.yaml").unwrap_err().to_string();
        let e = err("references:\n  pmStudy: pmProject._id\n");
        assert!(e.starts_with("r.yaml:2:3: `pmStudy` names no field"), "{e}");
        let e = err("references:\n  pmStudy.ProjectId: pmProject\n");
        assert!(
            e.starts_with("r.yaml:2:3: `pmProject` names no field"),
            "{e}"
        );
        let e = err("references:\n  pmStudy.$.ProjectId: pmProject._id\n");
        assert!(e.contains("is not `collection.field`"), "{e}");
        let e = err("references:\n  pmStudy.ProjectId: [pmProject._id]\n");
        assert!(e.contains("found a list"), "{e}");
        let e = err("references: [a.b]\n");
        assert!(e.contains("expected a mapping"), "{e}");
    }
}
