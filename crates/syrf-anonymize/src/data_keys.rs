//! Field names that came from the data: a sub-document used as a map, keyed by e-mail
//! addresses, user ids, ObjectIds, dates or phone numbers. `inspect` and `scan` never print
//! such a name; they group its values under [`PLACEHOLDER`] with a count.
//!
//! The test is a heuristic on the name alone. A name is taken for data when it
//!
//! - is empty or longer than 64 characters;
//! - contains `@`, white space, or any character other than letters, digits, `_`, `$`, `-`
//!   and `.` (`:`, `+`, `/`, `#`, quotes...);
//! - starts with a digit (numeric ids, dates, phone numbers, array-like maps);
//! - is 8 or more hex digits and dashes with at least one digit (ObjectIds, UUIDs, hashes);
//! - has at least 4 digits and no more letters than digits (`u12345`).
//!
//! Schema names (`Email`, `FullName`, `Auth0Id`, `_id`, `address2`, `createdAt`) pass.
//! A name made of letters only (a map keyed by user names) cannot be told from a field name
//! and is printed.

/// What a name from the data is printed as.
pub(crate) const PLACEHOLDER: &str = "<key>";

/// Longest field name printed.
const MAX_CHARS: usize = 64;

/// True when `key` looks like a value from the data rather than a field name (see the
/// module documentation).
pub(crate) fn from_data(key: &str) -> bool {
    if key.is_empty() || key.chars().count() > MAX_CHARS {
        return true;
    }
    let schema_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '$' | '-' | '.');
    if !key.chars().all(schema_char) {
        return true;
    }
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let digits = key.chars().filter(char::is_ascii_digit).count();
    let hex_id =
        key.len() >= 8 && digits > 0 && key.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let letters = key.chars().filter(|c| c.is_alphabetic()).count();
    hex_id || (digits >= 4 && letters <= digits)
}

/// `key`, or [`PLACEHOLDER`] when it came from the data.
pub(crate) fn shown(key: &str) -> &str {
    if from_data(key) {
        PLACEHOLDER
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_are_told_from_field_names() {
        for data in [
            "alice@example.com",
            "12345",
            "0",
            "2024-01-31",
            "+442079460958",
            "507f1f77bcf86cd799439011",
            "123e4567-e89b-12d3-a456-426614174000",
            "u12345",
            "John Smith",
            "192.168.1.1",
            "a:b",
            "",
            &"x".repeat(65),
        ] {
            assert!(from_data(data), "{data}");
        }
        for name in [
            "Email",
            "_id",
            "FullName",
            "Auth0Id",
            "address2",
            "createdAt",
            "$oid",
            "first_name",
            "FullName.First",
            "deadbeef",
            "Straße",
            "t",
        ] {
            assert!(!from_data(name), "{name}");
        }
        assert_eq!(shown("x@y.z"), PLACEHOLDER);
        assert_eq!(shown("Email"), "Email");
    }
}
