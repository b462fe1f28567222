//! The rules file's `echo_guard:` settings.

/// What the echo guard does with an uncovered string value that holds a covered original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EchoAction {
    /// Replace each copy by the pseudonym the covered value got, keeping the surrounding
    /// text (the default). When the covered value's result is not text (`null`, `remove`,
    /// a number) or could not be inserted safely, the value is nulled instead.
    #[default]
    Rewrite,
    /// Replace the whole value by null.
    Null,
}

/// The rules file's `echo_guard:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoGuard {
    /// What to do with an echo.
    pub action: EchoAction,
    /// Shortest original (in characters) looked for; shorter ones are not (default 4).
    pub min_length: usize,
}

impl Default for EchoGuard {
    fn default() -> Self {
        EchoGuard {
            action: EchoAction::Rewrite,
            min_length: DEFAULT_MIN_LENGTH,
        }
    }
}

/// Default of `echo_guard.min_length`.
pub(crate) const DEFAULT_MIN_LENGTH: usize = 4;

/// Smallest `min_length` a rules file may set (shorter originals match too much text).
pub(crate) const SMALLEST_MIN_LENGTH: usize = 3;

/// Parses the value of `echo_guard:`. Errors are `(key, message)`, the key being the
/// sub-key the message is about (to locate it).
pub(crate) fn parse(value: &serde_yaml_ng::Value) -> Result<EchoGuard, (Option<String>, String)> {
    use serde_yaml_ng::Value as Yaml;
    let mut guard = EchoGuard::default();
    let map = match value {
        Yaml::Null => return Ok(guard),
        Yaml::Mapping(m) => m,
        _ => {
            return Err((
                None,
                "`echo_guard` is a mapping: `{action: rewrite | null, min_length: N}`".into(),
            ))
        }
    };
    for (k, v) in map {
        let key = k.as_str().unwrap_or_default();
        let err = |m: &str| Err((Some(key.to_owned()), m.to_owned()));
        match key {
            "action" => {
                guard.action = match v {
                    Yaml::String(s) if s == "rewrite" => EchoAction::Rewrite,
                    // `action: null` unquoted is YAML's null.
                    Yaml::Null => EchoAction::Null,
                    Yaml::String(s) if s == "null" => EchoAction::Null,
                    _ => return err("`echo_guard.action` is `rewrite` or `null`"),
                }
            }
            "min_length" => match v.as_u64() {
                Some(n) if n as usize >= SMALLEST_MIN_LENGTH && n <= 1000 => {
                    guard.min_length = n as usize
                }
                _ => return err("`echo_guard.min_length` is a whole number from 3 to 1000"),
            },
            _ => {
                return err(&format!(
                    "unknown key `{key}` in `echo_guard`; expected one of: action, min_length"
                ))
            }
        }
    }
    Ok(guard)
}
