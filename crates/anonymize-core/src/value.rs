//! Borrowed input values and the replacements transforms produce.

/// A value as a dump format sees it, borrowed from the input bytes.
///
/// Format crates map their own types onto this: BSON strings become [`Value::Str`], a SQL string
/// literal that is not UTF-8 becomes [`Value::Bytes`], a SQL numeric literal becomes
/// [`Value::Int64`] when it fits or [`Value::Number`] otherwise.
///
/// ```
/// use anonymize_core::Value;
/// let v = Value::Str("john@example.com");
/// assert!(matches!(v, Value::Str(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// SQL `NULL`, BSON null or undefined.
    Null,
    /// UTF-8 text.
    Str(&'a str),
    /// Text that is not valid UTF-8 (e.g. a latin1 SQL literal).
    Bytes(&'a [u8]),
    /// A 32-bit integer (BSON int32).
    Int32(i32),
    /// A 64-bit integer (BSON int64, SQL integer literal).
    Int64(i64),
    /// A floating point number (BSON double).
    Double(f64),
    /// A numeric literal kept as text (SQL decimals, integers too large for `i64`).
    Number(&'a str),
    /// A boolean.
    Bool(bool),
    /// Binary data with its BSON subtype (SQL blobs use subtype 0).
    Binary {
        /// BSON binary subtype (0 generic, 3 legacy UUID, 4 UUID, ...).
        subtype: u8,
        /// The payload.
        bytes: &'a [u8],
    },
    /// A BSON UTC datetime: milliseconds since the Unix epoch.
    DateTime(i64),
    /// Any other type (ObjectId, embedded document, array, regex, ...): transforms other than
    /// `keep`, `null`, `remove` and `constant` fail closed on it.
    Other,
}

/// What a transform decided for a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Replacement {
    /// Leave the value exactly as it is (`keep`, or null input).
    Unchanged,
    /// Replace with null.
    Null,
    /// Remove the field (MongoDB); SQL formats write `NULL`.
    Remove,
    /// UTF-8 text.
    Str(String),
    /// Raw bytes written as a text literal.
    Bytes(Vec<u8>),
    /// A 32-bit integer.
    Int32(i32),
    /// A 64-bit integer.
    Int64(i64),
    /// A floating point number.
    Double(f64),
    /// A numeric literal as text (SQL formats write it bare; only produced for
    /// [`Value::Number`] input).
    Number(String),
    /// A boolean.
    Bool(bool),
    /// Binary data, same subtype as the input.
    Binary {
        /// BSON binary subtype.
        subtype: u8,
        /// The payload.
        bytes: Vec<u8>,
    },
    /// A BSON UTC datetime in milliseconds since the epoch.
    DateTime(i64),
}
