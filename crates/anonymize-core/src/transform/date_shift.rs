//! `date_shift`: moves a date by a keyed number of days, keeping its type and format.

use super::{u64_of, Digester, Example, Spec, Transform, Written};
use crate::dates::{parse_text_date, shift_text_date_to, TextDate};
use crate::parse_ctx::Params;
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
           MySQL's zero date `0000-00-00` and the first and last days of years 1-9999 (.NET's \
           `DateTime.MinValue`/`MaxValue` sentinels) stay; a shift that would leave years \
           1-9999 goes the other way",
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

/// BSON milliseconds of 0001-01-01T00:00:00Z (.NET's `DateTime.MinValue`, as the C# driver
/// writes it).
const MIN_MS: i64 = -62_135_596_800_000;
/// BSON milliseconds of 9999-12-31T23:59:59.999Z (.NET's `DateTime.MaxValue`, truncated to
/// milliseconds by the C# driver).
const MAX_MS: i64 = 253_402_300_799_999;
const DAY_MS: i64 = 86_400_000;

/// True for a date on the first or last day drivers can represent (0001-01-01, 9999-12-31):
/// sentinels such as .NET's `DateTime.MinValue` and `MaxValue` (or their `.Date`), never a
/// real person's date; kept unchanged so that readers still recognise them.
fn is_sentinel_day(ms: i64) -> bool {
    (MIN_MS..MIN_MS + DAY_MS).contains(&ms) || (MAX_MS + 1 - DAY_MS..=MAX_MS).contains(&ms)
}

/// `ms` shifted by `days`: the other way when the shift would take a date inside years
/// 1-9999 out of them (or, outside them, overflow).
fn shift_ms(ms: i64, days: i64) -> Option<i64> {
    let by = days * DAY_MS;
    let in_range = |v: i64| (MIN_MS..=MAX_MS).contains(&v);
    match ms.checked_add(by) {
        Some(v) if in_range(v) || !in_range(ms) => Some(v),
        _ => ms.checked_sub(by),
    }
}

/// Applies `date_shift` (`None`: not a date, or a text date outside years 1-9999).
pub(super) fn apply(
    d: &Digester,
    value: Value<'_>,
    max_days: u32,
    out: &mut Vec<u8>,
) -> Option<Written> {
    match value {
        Value::DateTime(ms) if is_sentinel_day(ms) => Some(Written::Unchanged),
        Value::DateTime(ms) => {
            let days = shift_days(d, &ms.to_le_bytes(), max_days);
            Some(Written::DateTime(shift_ms(ms, days)?))
        }
        Value::Str(s) => match parse_text_date(s)? {
            TextDate::Zero => Some(Written::Unchanged),
            TextDate::Date {
                year: 1,
                month: 1,
                day: 1,
            }
            | TextDate::Date {
                year: 9999,
                month: 12,
                day: 31,
            } => Some(Written::Unchanged),
            TextDate::Date { year, month, day } => {
                let days = shift_days(d, &s.as_bytes()[..10], max_days);
                if shift_text_date_to(s, (year, month, day), days, out).is_none() {
                    out.clear();
                    shift_text_date_to(s, (year, month, day), -days, out)?;
                }
                Some(Written::Str)
            }
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_dotnet_sentinels() {
        use crate::dates::days_from_civil;
        assert_eq!(days_from_civil(1, 1, 1) * DAY_MS, MIN_MS);
        assert_eq!((days_from_civil(9999, 12, 31) + 1) * DAY_MS - 1, MAX_MS);
    }

    #[test]
    fn shifts_turn_back_at_the_edges() {
        assert_eq!(shift_ms(MIN_MS + 2 * DAY_MS, -5), Some(MIN_MS + 7 * DAY_MS));
        assert_eq!(shift_ms(MAX_MS - 2 * DAY_MS, 5), Some(MAX_MS - 7 * DAY_MS));
        assert_eq!(shift_ms(0, 5), Some(5 * DAY_MS));
        // Outside years 1-9999 already: shifted as asked, or back when it would overflow.
        assert_eq!(shift_ms(i64::MIN, 1), Some(i64::MIN + DAY_MS));
        assert_eq!(shift_ms(i64::MIN, -1), Some(i64::MIN + DAY_MS));
        assert_eq!(shift_ms(i64::MAX, 1), Some(i64::MAX - DAY_MS));
    }
}
