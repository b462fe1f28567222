//! Calendar arithmetic for `date_shift` (proleptic Gregorian, days since 1970-01-01).

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date (year, month, day; proleptic Gregorian) of the `days`-th day after
/// 1970-01-01, negative before it (Howard Hinnant's algorithm). Shared by `date_shift`,
/// the archive's date conditions and the audit log's timestamps.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// What a text date looked like.
pub(crate) enum TextDate {
    /// A valid `YYYY-MM-DD` prefix, followed by nothing, a time (`T`/space) or a zone.
    Date { year: i64, month: u32, day: u32 },
    /// MySQL's zero date (`0000-00-00`, month or day 0): not a real date, left alone.
    Zero,
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, &b| acc * 10 + (b - b'0') as u32))
}

/// Parses the `YYYY-MM-DD` start of a date or datetime string.
pub(crate) fn parse_text_date(s: &str) -> Option<TextDate> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if b.len() > 10 && !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if month == 0 || day == 0 {
        return Some(TextDate::Zero);
    }
    if month > 12 || day > days_in_month(year, month) {
        return None;
    }
    Some(TextDate::Date { year, month, day })
}

/// Appends `s` (a `YYYY-MM-DD...` string) shifted by `days` to `out`, keeping everything after
/// the date verbatim. `None` (nothing written) when the result would leave years 0001..=9999.
pub(crate) fn shift_text_date_to(
    s: &str,
    (year, month, day): (i64, u32, u32),
    days: i64,
    out: &mut Vec<u8>,
) -> Option<()> {
    let (y, m, d) = civil_from_days(days_from_civil(year, month, day) + days);
    if !(1..=9999).contains(&y) {
        return None;
    }
    let y = y as u32;
    let two = |n: u32| [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8];
    out.extend_from_slice(&two(y / 100));
    out.extend_from_slice(&two(y % 100));
    out.push(b'-');
    out.extend_from_slice(&two(m));
    out.push(b'-');
    out.extend_from_slice(&two(d));
    out.extend_from_slice(&s.as_bytes()[10..]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_days() {
        for days in [-800_000, -1, 0, 1, 59, 60, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn shifts_across_leap_day_and_keeps_suffix() {
        let s = "2024-02-28 10:11:12.5+02:00";
        let Some(TextDate::Date { year, month, day }) = parse_text_date(s) else {
            panic!()
        };
        let mut out = Vec::new();
        shift_text_date_to(s, (year, month, day), 2, &mut out).unwrap();
        assert_eq!(out, b"2024-03-01 10:11:12.5+02:00");
        out.clear();
        shift_text_date_to("0001-01-02", (1, 1, 2), -1, &mut out).unwrap();
        assert_eq!(out, b"0001-01-01");
        assert!(shift_text_date_to("0001-01-01", (1, 1, 1), -1, &mut out).is_none());
        assert!(parse_text_date("2023-02-29").is_none());
        assert!(matches!(
            parse_text_date("0000-00-00 00:00:00"),
            Some(TextDate::Zero)
        ));
        assert!(parse_text_date("20240101").is_none());
    }
}
