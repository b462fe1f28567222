//! The secret key that makes hashing and pseudonyms keyed.

use std::fmt;

/// Shortest key accepted, in bytes. Shorter secrets are too easy to guess.
pub(crate) const MIN_KEY_LEN: usize = 16;

/// The fixed label [`Key::fingerprint`] authenticates with the key.
pub const FINGERPRINT_LABEL: &str = "syrf-anonymize key fingerprint v1";

/// The run's secret key. Its bytes never appear in `Debug` output, errors or reports.
///
/// ```
/// use anonymize_core::Key;
/// let key = Key::from_bytes(b"0123456789abcdef-secret").unwrap();
/// assert_eq!(format!("{key:?}"), "Key(<redacted>)");
/// assert!(Key::from_bytes(b"short").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    bytes: Vec<u8>,
}

impl Key {
    /// Makes a key from raw bytes. Surrounding ASCII whitespace (a key file's trailing newline) is
    /// trimmed; what is left must be at least `MIN_KEY_LEN` (16) bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, KeyError> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                len: trimmed.len(),
                min: MIN_KEY_LEN,
            });
        }
        Ok(Key {
            bytes: trimmed.to_vec(),
        })
    }

    /// A fingerprint that tells two keys apart without revealing anything about them: the
    /// first 16 bytes of HMAC-SHA256 keyed with the key over the fixed label
    /// [`FINGERPRINT_LABEL`], as `hmac-sha256:` and 32 lowercase hex digits. The same key
    /// always gives the same fingerprint; finding the key from it is as hard as breaking
    /// HMAC-SHA256.
    ///
    /// ```
    /// use anonymize_core::Key;
    /// let a = Key::from_bytes(b"0123456789abcdef-secret").unwrap();
    /// let b = Key::from_bytes(b"0123456789abcdef-other").unwrap();
    /// assert_eq!(a.fingerprint(), a.clone().fingerprint());
    /// assert_ne!(a.fingerprint(), b.fingerprint());
    /// assert!(a.fingerprint().starts_with("hmac-sha256:"));
    /// assert!(!a.fingerprint().contains("secret"));
    /// ```
    pub fn fingerprint(&self) -> String {
        use hmac::{Hmac, Mac};
        use std::fmt::Write as _;
        // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.bytes) else {
            return String::from("hmac-sha256:unavailable");
        };
        mac.update(FINGERPRINT_LABEL.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut out = String::from("hmac-sha256:");
        for b in &tag[..16] {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // Best effort: do not leave the secret in freed memory.
        for b in self.bytes.iter_mut() {
            // SAFETY-free volatile-ish clear; the compiler may elide it, which is acceptable here.
            *b = 0;
        }
    }
}

/// Whether transforms are keyed (HMAC-SHA256) or, by explicit opt-in, plain SHA-256.
#[derive(Debug, Clone)]
pub enum KeyMode {
    /// Keyed: HMAC-SHA256 with this key and a per-transform domain separator.
    Keyed(Key),
    /// Unkeyed (explicit opt-in): `hash`/`hash_email` are plain SHA-256 of the value, so anyone can
    /// confirm a guess by hashing it. `hmac` refuses to run.
    Unkeyed,
}

/// A key that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The key is shorter than the minimum.
    #[error("the key is {len} bytes long; at least {min} bytes are required")]
    TooShort {
        /// Length after trimming whitespace.
        len: usize,
        /// The minimum.
        min: usize,
    },
}
