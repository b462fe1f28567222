//! The rules file's `echo_guard:` block (issue 18.9): defaults, both actions, located errors.

use anonymize_core::{EchoAction, EchoGuard, RuleSet};

#[test]
fn defaults_and_settings() {
    let r = RuleSet::from_yaml("rules: {}\n", "r.yaml").unwrap();
    assert_eq!(r.echo_guard, EchoGuard::default());
    assert_eq!(r.echo_guard.action, EchoAction::Rewrite);
    assert_eq!(r.echo_guard.min_length, 4);
    for text in [
        "echo_guard:\n  action: null\n",
        "echo_guard: {action: 'null', min_length: 6}\n",
    ] {
        let r = RuleSet::from_yaml(text, "r.yaml").unwrap();
        assert_eq!(r.echo_guard.action, EchoAction::Null, "{text}");
    }
}

#[test]
fn errors_are_located() {
    let err = RuleSet::from_yaml("rules: {}\necho_guard:\n  action: off\n", "r.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "r.yaml:3:3: `echo_guard.action` is `rewrite` or `null`"
    );
    let err = RuleSet::from_yaml("echo_guard:\n  min_length: 2\n", "r.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("r.yaml:2:3: `echo_guard.min_length`"),
        "{err}"
    );
    let err = RuleSet::from_yaml("echo_guard: yes\n", "r.yaml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("r.yaml:1:1: `echo_guard` is a mapping"),
        "{err}"
    );
}
