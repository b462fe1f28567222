//! Loading the secret key: from a file or an environment variable, never a flag value.

use std::path::Path;

use anonymize_core::{Key, KeyMode};

/// The environment variable that can hold the key.
pub const KEY_ENV: &str = "SYRF_ANONYMIZE_KEY";

/// Why no usable key was found. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    /// The key file cannot be read.
    #[error("cannot read the key file {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The key is unusable (too short).
    #[error("the key from {origin} is unusable: {source}")]
    Invalid {
        /// `--key-file PATH` or the variable's name.
        origin: String,
        /// Why.
        source: anonymize_core::KeyError,
    },
    /// The key is a public placeholder or example: written in this repository (deploy/'s
    /// Secret, README, scripts) or shaped like one (`replace-with-…`, `changeme`), so anyone
    /// could confirm a guessed value by hashing it.
    #[error("the key from {origin} is a placeholder or example key published with syrf-anonymize (or looks like one): anyone can recompute its hashes; generate a secret one, e.g. `head -c 32 /dev/urandom | base64`")]
    Placeholder {
        /// `--key-file PATH` or the variable's name.
        origin: String,
    },
    /// Neither a key file nor the variable, and no `--unkeyed`.
    #[error("no key: give --key-file PATH or set {KEY_ENV}; to run without a key (plain SHA-256, reversible by guessing) pass --unkeyed")]
    Missing,
    /// A key and `--unkeyed` together.
    #[error("--unkeyed was given but a key is also set ({origin}); use one or the other")]
    Conflict {
        /// Where the key came from.
        origin: String,
    },
}

/// Picks the key: `--key-file` first, then the environment variable, else `--unkeyed`.
pub fn load(key_file: Option<&Path>, unkeyed: bool) -> Result<KeyMode, KeyLoadError> {
    let from_env = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty());
    let (bytes, origin) = match (key_file, from_env) {
        (Some(path), _) => {
            let bytes = std::fs::read(path).map_err(|source| KeyLoadError::Unreadable {
                path: path.display().to_string(),
                source,
            })?;
            (bytes, format!("--key-file {}", path.display()))
        }
        (None, Some(value)) => (value.into_encoded_bytes(), KEY_ENV.to_owned()),
        (None, None) if unkeyed => return Ok(KeyMode::Unkeyed),
        (None, None) => return Err(KeyLoadError::Missing),
    };
    if unkeyed {
        return Err(KeyLoadError::Conflict { origin });
    }
    if is_placeholder(&bytes) {
        return Err(KeyLoadError::Placeholder { origin });
    }
    let key = Key::from_bytes(&bytes).map_err(|source| KeyLoadError::Invalid { origin, source })?;
    Ok(KeyMode::Keyed(key))
}

/// Keys written in this repository's deploy files, README and scripts: public, so never a
/// secret. `tests/integration/ops_deploy.rs` checks that every key the repository's deploy files, docs and
/// scripts show is refused.
const PUBLISHED_KEYS: &[&str] = &[
    "replace-with-at-least-16-random-bytes",
    "demo-key-for-the-shipped-sample",
    "benchmark-key-0123456789abcdef",
];

/// Words that mark a key as a placeholder someone forgot to replace.
const PLACEHOLDER_WORDS: &[&str] = &[
    "replace-with",
    "replace_with",
    "replaceme",
    "replace-me",
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "your-key",
    "your_key",
    "yourkey",
    "example-key",
];

/// True for a published key or one that reads like a placeholder (case-insensitive, surrounding
/// whitespace ignored).
pub fn is_placeholder(bytes: &[u8]) -> bool {
    let key = bytes.trim_ascii().to_ascii_lowercase();
    PUBLISHED_KEYS.iter().any(|k| key == k.as_bytes())
        || PLACEHOLDER_WORDS
            .iter()
            .any(|w| memchr::memmem::find(&key, w.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::is_placeholder;

    #[test]
    fn placeholders_are_recognised_and_random_keys_are_not() {
        assert!(is_placeholder(b"replace-with-at-least-16-random-bytes\n"));
        assert!(is_placeholder(b"  Demo-Key-For-The-Shipped-Sample"));
        assert!(is_placeholder(b"please-CHANGEME-0123456789"));
        assert!(!is_placeholder(b"q8Jz3VxK0m5pR2wN7tY4uB1cE6hL9aDf"));
        assert!(!is_placeholder(b"cli-test-key-0123456789abcdef"));
    }
}
