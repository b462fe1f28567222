//! `date_shift`: moves a date by a keyed number of days, keeping its type and format.

use super::{u64_of, Digester, Example, Spec, Transform, Written};
use crate::dates::{parse_text_date, shift_text_date_to, TextDate};
use crate::rules::Params;
use crate::value::Value;

pub(super) const SPEC: Spec = Spec {
    name: "date_shift",
    params: &["max_days"],
    parse: |p: &Params<'_>| {
        Ok(Transform::DateShift {
            max_days: p.usize_in("max_days", 30, 1, 36_500)? as u32,
        })
    },
    does: "shifts a date or datetime by a keyed number of days in ±`max_days` (never 0); keeps \
           type and format (BSON dates stay dates, `YYYY-MM-DD…` text keeps its time and zone); \
           MySQL's zero date `0000-00-00` stays",
    params_doc: "`max_days` (30)",
    examples: &[Example {
        rule: "date_shift",
        input: Value::Str("2020-02-15 04:34:33"),
        keyed: true,
    }],
};

/// The keyed shift in days for a value: in `-max..=max`, never 0.
fn shift_days(d: &Digester, value: &[u8], max_days: u32) -> i64 {
    let max = max_days.max(1) as u64;
    let r = (u64_of(&d.digest("date_shift", &[value])) % (2 * max)) as i64;
    if r < max as i64 {
        -(r + 1)
    } else {
        r - max as i64 + 1
    }
}

/// Applies `date_shift` (`None`: not a date).
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    max_days: u32,
    out: &mut Vec<u8>,
) -> Option<Written> {
    match value {
        Value::DateTime(ms) => {
            let days = shift_days(d, &ms.to_le_bytes(), max_days);
            Some(Written::DateTime(ms.saturating_add(days * 86_400_000)))
        }
        Value::Str(s) => match parse_text_date(s)? {
            TextDate::Zero => Some(Written::Unchanged),
            TextDate::Date { year, month, day } => {
                let days = shift_days(d, &s.as_bytes()[..10], max_days);
                shift_text_date_to(s, (year, month, day), days, out)?;
                Some(Written::Str)
            }
        },
        _ => None,
    }
}
