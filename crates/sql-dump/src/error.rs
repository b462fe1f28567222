//! Errors of the SQL dump rewriter. They name the input position and the table, never a value.

use std::io;

/// Why a dump could not be rewritten.
///
/// Messages name the input line, byte offset and table; they never contain row values.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// Reading the input failed.
    #[error("reading the dump failed near byte {offset}: {source}")]
    Read {
        /// Bytes of input read before the failure.
        offset: u64,
        /// The reader's error.
        #[source]
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("writing the output failed: {source}")]
    Write {
        /// The writer's error.
        #[source]
        source: io::Error,
    },
    /// Neither MySQL nor PostgreSQL could be recognised in the dump's first bytes.
    #[error(
        "cannot tell whether the input is a MySQL/MariaDB or a PostgreSQL dump; force the dialect"
    )]
    UnknownDialect,
    /// The dump does not parse where it must (a rewritten or dropped statement).
    #[error("line {line}, byte {offset}{}: {message}", table_suffix(table))]
    Syntax {
        /// 1-based line number.
        line: u64,
        /// Byte offset from the start of the input.
        offset: u64,
        /// The table concerned, when known (`schema.table` or `table`).
        table: Option<String>,
        /// What is wrong (never a value from the dump).
        message: String,
    },
    /// The rules cannot be applied to this dump as written (a rule on a partition key...).
    #[error("table {table}: {message}")]
    Rules {
        /// The table concerned.
        table: String,
        /// What is wrong (never a value from the dump).
        message: String,
    },
    /// One row or statement head is larger than the rewriter holds in memory.
    #[error("line {line}, byte {offset}: a single row or statement exceeds {limit} bytes")]
    TooLarge {
        /// 1-based line number.
        line: u64,
        /// Byte offset.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
    },
}

fn table_suffix(table: &Option<String>) -> String {
    match table {
        Some(t) => format!(" (table {t})"),
        None => String::new(),
    }
}

impl SqlError {
    /// The byte offset in the input where the error is, when known (reading, syntax and size
    /// errors).
    pub fn offset(&self) -> Option<u64> {
        match self {
            SqlError::Read { offset, .. }
            | SqlError::Syntax { offset, .. }
            | SqlError::TooLarge { offset, .. } => Some(*offset),
            SqlError::Write { .. } | SqlError::UnknownDialect | SqlError::Rules { .. } => None,
        }
    }

    /// The 1-based input line where the error is, when known (syntax and size errors).
    pub fn line(&self) -> Option<u64> {
        match self {
            SqlError::Syntax { line, .. } | SqlError::TooLarge { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The table concerned (`schema.table` or `table`), when known.
    pub fn table(&self) -> Option<&str> {
        match self {
            SqlError::Syntax { table, .. } => table.as_deref(),
            SqlError::Rules { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Wraps an output error.
    pub(crate) fn write(source: io::Error) -> SqlError {
        SqlError::Write { source }
    }
}
