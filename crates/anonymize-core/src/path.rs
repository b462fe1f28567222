//! Field paths: dotted steps, with `\.` for a dot inside a field name.

/// Why a field path is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// An empty step (`a..b`, a leading or trailing dot, an empty path).
    EmptyStep,
    /// A backslash not followed by `.` or `\`.
    BadEscape,
    /// A positional operator.
    Dollar,
}

/// Splits a rules-file path into its steps: `.` separates steps, `\.` is a dot inside a
/// step's name and `\\` a backslash. `FullName\.First` is the single field `FullName.First`.
pub(crate) fn split_path(path: &str) -> Result<Vec<String>, PathError> {
    if path.contains('$') {
        return Err(PathError::Dollar);
    }
    let mut steps = Vec::new();
    let mut step = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('.' | '\\')) => step.push(e),
                _ => return Err(PathError::BadEscape),
            },
            '.' => {
                if step.is_empty() {
                    return Err(PathError::EmptyStep);
                }
                steps.push(std::mem::take(&mut step));
            }
            other => step.push(other),
        }
    }
    if step.is_empty() {
        return Err(PathError::EmptyStep);
    }
    steps.push(step);
    Ok(steps)
}

/// True when one path is a strict prefix of the other (`a` and `a.b`).
pub(crate) fn strict_prefix(a: &[String], b: &[String]) -> bool {
    a.len() != b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_escapes() {
        assert_eq!(split_path("a.b").unwrap(), ["a", "b"]);
        assert_eq!(split_path(r"FullName\.First").unwrap(), ["FullName.First"]);
        assert_eq!(split_path(r"a\.b.c").unwrap(), ["a.b", "c"]);
        assert_eq!(split_path(r"a\\.b").unwrap(), [r"a\", "b"]);
        assert_eq!(split_path("a..b"), Err(PathError::EmptyStep));
        assert_eq!(split_path(".a"), Err(PathError::EmptyStep));
        assert_eq!(split_path(""), Err(PathError::EmptyStep));
        assert_eq!(split_path(r"a\b"), Err(PathError::BadEscape));
        assert_eq!(split_path(r"a\"), Err(PathError::BadEscape));
        assert_eq!(split_path("a.$.b"), Err(PathError::Dollar));
        let s = |p: &str| split_path(p).unwrap();
        assert!(strict_prefix(&s("a"), &s("a.b")));
        assert!(strict_prefix(&s("a.b"), &s("a")));
        assert!(!strict_prefix(&s("a"), &s("a")));
        assert!(!strict_prefix(&s("a"), &s(r"a\.b")));
        assert!(!strict_prefix(&s("ab"), &s("a.b")));
    }
}
