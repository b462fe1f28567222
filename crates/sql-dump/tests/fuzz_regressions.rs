//! Regressions from the `mysql_rewrite` fuzz target (reproducers in `fuzz/regressions/`):
//! malformed dumps that the rewriter once accepted and rewrote into an output its own reader
//! rejected. The invariant: a dump the rewriter accepts with rules or exclusions reads back;
//! refusing the input (fail closed) also keeps it.

use anonymize_core::{Anonymizer, KeyMode, RuleSet};
use sql_dump::{rewrite_sql, SqlOptions};

#[test]
fn output_with_an_excluded_statement_reads_back() {
    // Minimized by `cargo fuzz tmin` from a mysql_rewrite crash: the input is accepted
    // (byte-identical without rules); excluding `payment` keeps the executable comment
    // `/*!)VALUE'*/` after the malformed first statement, where the lexer then reads an
    // unterminated string.
    let input: &[u8] = b"\nINSERT INTO`a`(;INSERT INTO `payment`VALUES(;/*!)VALUE'*/";
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::MySql),
        ..Default::default()
    };
    let mut same = Vec::new();
    rewrite_sql(input, &mut same, &empty, &opts).expect("accepted without rules");
    assert_eq!(same, input);
    let excluding = Anonymizer::new(
        RuleSet::from_yaml("exclusions:\n  - payment\n", "r.yaml").unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let mut out = Vec::new();
    if rewrite_sql(input, &mut out, &excluding, &opts).is_err() {
        // Refused (fail closed): the exclusion cannot be applied to what cannot be read.
        return;
    }
    let mut again = Vec::new();
    let r = rewrite_sql(&out[..], &mut again, &empty, &opts);
    assert!(
        r.is_ok(),
        "{:?} does not read back: {}",
        String::from_utf8_lossy(&out),
        r.unwrap_err()
    );
}

#[test]
fn output_with_a_rewritten_row_reads_back() {
    // Minimized by `cargo fuzz tmin`: a backtick inside an executable comment of a malformed
    // statement pairs with one inside a customer value; rewriting the value moves the pairing,
    // and the output no longer lexes (the statement boundary the rewriter used is not the one
    // its reader finds).
    let input: &[u8] = b"\nINSERT INTO `o` (())))))  ', ') /*!00(((((`*/\n\n`acr`;\n\
INSERT INTO`customer` (`_d`, `d`,`first_name`) VALUES (,,'NI`du');` VALUES(1`";
    let empty = Anonymizer::new(RuleSet::empty(), KeyMode::Unkeyed).unwrap();
    let opts = SqlOptions {
        dialect: Some(sql_dump::Dialect::MySql),
        ..Default::default()
    };
    let mut same = Vec::new();
    rewrite_sql(input, &mut same, &empty, &opts).expect("accepted without rules");
    let rules = Anonymizer::new(
        RuleSet::from_yaml(
            "rules:\n  customer:\n    columns:\n      first_name: {transform: constant, value: x}\n",
            "r.yaml",
        )
        .unwrap(),
        KeyMode::Unkeyed,
    )
    .unwrap();
    let mut out = Vec::new();
    if rewrite_sql(input, &mut out, &rules, &opts).is_err() {
        // Refused (fail closed): the rules cannot be applied to what cannot be read.
        return;
    }
    let mut again = Vec::new();
    let r = rewrite_sql(&out[..], &mut again, &empty, &opts);
    assert!(
        r.is_ok(),
        "{:?} does not read back: {}",
        String::from_utf8_lossy(&out),
        r.unwrap_err()
    );
}
