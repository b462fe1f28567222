//! # anonymize-core
//!
//! The rules language and keyed transforms of syrf-anonymize. It knows nothing about dump
//! formats and does no I/O: format crates ask it what to do with a collection or table
//! ([`Anonymizer::resolve`]), walk their documents or rows along a compiled [`PlanNode`] tree
//! (matching field names as bytes, without allocating), and hand the values they find to
//! [`Anonymizer::apply`].
//!
//! ```
//! use anonymize_core::{Anonymizer, Disposition, Key, KeyMode, Replacement, RowContext, RuleSet, Value};
//!
//! let rules = RuleSet::from_yaml(
//!     "rules:\n  users:\n    fields:\n      email: {transform: hash_email}\n",
//!     "inline.yaml",
//! )?;
//! let anon = Anonymizer::new(rules, KeyMode::Keyed(Key::from_bytes(b"a long secret key")?))?;
//! let Disposition::Keep(plan) = anon.resolve(Some("app"), "users") else { unreachable!() };
//! let rule = plan.root().unwrap().child(b"email").unwrap().rule().unwrap();
//! let out = anon.apply(rule, Value::Str("John@Example.com"), &RowContext { ordinal: 1 });
//! let Replacement::Str(pseudonym) = out else { unreachable!() };
//! assert!(pseudonym.ends_with("@anonymized.syrf.local"));
//!
//! // Same key, same value: the same pseudonym, in any collection, table or process.
//! let again = anon.apply(rule, Value::Str("John@Example.com"), &RowContext { ordinal: 9 });
//! assert_eq!(again, Replacement::Str(pseudonym));
//!
//! // What the rules did, for summaries and `--strict` (a rule that never saw a value is
//! // usually a typo that leaks data).
//! let report = anon.report();
//! assert_eq!(report.rules[0].values_seen, 2);
//! assert_eq!(report.unmatched_rules().count(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod anonymizer;
mod conditions;
mod counts;
mod cpu;
mod dates;
mod echo;
mod encoding;
mod key;
mod locate;
mod memo;
mod parse_ctx;
mod path;
mod plan;
mod references;
mod report;
mod rules;
mod suggest;
mod transform;
mod value;
mod when;

pub use anonymizer::{
    Anonymizer, CollectionPlan, ConfigError, Disposition, ExcludeReason, RowContext,
};
pub use conditions::{Condition, Operand, Scalar, Test};
pub use cpu::sha_extensions;
pub use dates::civil_from_days;
pub use echo::{escaped_bytes, EchoAction, EchoGuard, EchoHit, EchoSet};
pub use key::{Key, KeyError, KeyMode, FINGERPRINT_LABEL};
pub use memo::MemoSlots;
pub use plan::{PlanNode, RuleId};
pub use references::Reference;
pub use report::{CollectionUse, EchoReport, Report, RuleReport, WhenReport};
pub use rules::{FieldRule, LargeObjects, RuleSet, RulesError, SizeLimit, TableRules};
pub use transform::{
    ConstantValue, FakeKind, FakeLocale, HashEmailMode, HmacEncoding, Transform, Written,
    DEFAULT_EMAIL_DOMAIN,
};
pub use value::{Replacement, Value};
pub use when::When;
