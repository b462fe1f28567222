//! README's transform table is generated from the specs and checked here, so the documented
//! behaviour and examples cannot drift from the code. To regenerate it after a change:
//! `PRINT_README_TABLE=1 cargo test -p anonymize-core --lib readme -- --nocapture`, and paste.

use super::{Example, SPECS};
use crate::{Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleSet, Value};

/// README's example key.
const README_KEY: &[u8] = b"readme-example-key-0123456789";

/// README's examples of `sequential` are the 7th document.
const ORDINAL: u64 = 7;

fn output(example: &Example) -> Replacement {
    let src = format!("rules:\n  t:\n    fields:\n      f: {}\n", example.rule);
    let rules = RuleSet::from_yaml(&src, "readme.yaml").expect("example rule parses");
    let mode = if example.keyed {
        KeyMode::Keyed(Key::from_bytes(README_KEY).expect("key"))
    } else {
        KeyMode::Unkeyed
    };
    let anon = Anonymizer::new(rules, mode).expect("anonymizer");
    let Disposition::Keep(plan) = anon.resolve(None, "t") else {
        panic!("kept")
    };
    let rule = plan
        .root()
        .and_then(|r| r.child(b"f"))
        .and_then(|n| n.rule());
    anon.apply(
        rule.expect("rule"),
        example.input,
        &RowContext { ordinal: ORDINAL },
    )
}

fn show_value(v: Value<'_>) -> String {
    match v {
        Value::Str(s) => format!("`\"{s}\"`"),
        Value::Int32(i) => format!("`{i}`"),
        Value::Int64(i) => format!("`{i}`"),
        other => format!("`{other:?}`"),
    }
}

fn show_replacement(r: &Replacement, input: Value<'_>) -> String {
    match r {
        Replacement::Unchanged => show_value(input),
        Replacement::Null => "`null`".to_owned(),
        Replacement::Remove => "(removed)".to_owned(),
        Replacement::Str(s) => format!("`\"{s}\"`"),
        Replacement::Int32(i) => format!("`{i}`"),
        Replacement::Int64(i) => format!("`{i}`"),
        other => format!("`{other:?}`"),
    }
}

/// The table's rows as README shows them.
fn rows() -> Vec<String> {
    SPECS
        .iter()
        .map(|spec| {
            let examples: Vec<String> = spec
                .examples
                .iter()
                .map(|e| {
                    let rule = if e.rule == spec.name {
                        String::new()
                    } else {
                        format!("`{}`: ", e.rule)
                    };
                    let unkeyed = if e.keyed { "" } else { " (unkeyed)" };
                    format!(
                        "{rule}{} → {}{unkeyed}",
                        show_value(e.input),
                        show_replacement(&output(e), e.input)
                    )
                })
                .collect();
            let cells = [
                format!("`{}`", spec.name),
                spec.does.to_owned(),
                spec.params_doc.to_owned(),
                examples.join("; "),
            ];
            let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
            format!("| {} |", cells.join(" | "))
                .replace("|  |", "| |")
                .replace("|  |", "| |")
        })
        .collect()
}

#[test]
fn readme_transform_table_matches_the_code() {
    let rows = rows();
    if std::env::var_os("PRINT_README_TABLE").is_some() {
        for row in &rows {
            println!("{row}");
        }
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md beside the workspace");
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| transform | does |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        table, rows,
        "README's transform table differs from the code"
    );
}
