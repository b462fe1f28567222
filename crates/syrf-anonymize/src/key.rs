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
    let key = Key::from_bytes(&bytes).map_err(|source| KeyLoadError::Invalid { origin, source })?;
    Ok(KeyMode::Keyed(key))
}
