//! The values at a field path of a BSON document, and their text for conditions: the
//! `where` of size limits (read by `subset`) and the `when:` of a collection's rules
//! (evaluated by `walk` and `oplog` before a document is patched).

use anonymize_core::{Operand, When};

use crate::raw::{ty, Elems};

/// A value's text for `where` conditions: strings as they are, numbers, booleans
/// (`true`/`false`), dates (`YYYY-MM-DD HH:MM:SS`, UTC); `None` for null and for types a
/// condition cannot compare.
pub(crate) fn text_of(t: u8, v: &[u8]) -> Option<String> {
    match t {
        ty::STRING => v
            .get(4..v.len().saturating_sub(1))
            .map(|s| String::from_utf8_lossy(s).into_owned()),
        ty::INT32 => v.try_into().ok().map(|b| i32::from_le_bytes(b).to_string()),
        ty::INT64 => v.try_into().ok().map(|b| i64::from_le_bytes(b).to_string()),
        ty::DOUBLE => v.try_into().ok().map(|b| f64::from_le_bytes(b).to_string()),
        ty::BOOL => v.first().map(|b| (*b != 0).to_string()),
        ty::DATETIME => v.try_into().ok().map(|b| {
            let ms = i64::from_le_bytes(b);
            let secs = ms.div_euclid(1000);
            let (y, m, d) = anonymize_core::civil_from_days(secs.div_euclid(86_400));
            let s = secs.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
                s / 3600,
                s / 60 % 60,
                s % 60
            )
        }),
        _ => None,
    }
}

/// Calls `visit` with the type and value bytes of every value at `path` in the document at
/// `buf[start..end]`, through arrays (of values at the last step, of sub-documents before).
pub(crate) fn visit_at(
    buf: &[u8],
    start: usize,
    end: usize,
    path: &[String],
    visit: &mut impl FnMut(u8, &[u8]),
) {
    let Some((step, rest)) = path.split_first() else {
        return;
    };
    for e in Elems::new(buf, start, end).map_while(Result::ok) {
        if e.name != step.as_bytes() {
            continue;
        }
        match e.ty {
            ty::ARRAY => {
                for item in Elems::new(buf, e.value, e.end).map_while(Result::ok) {
                    if rest.is_empty() {
                        visit(item.ty, item.value_bytes(buf));
                    } else if item.ty == ty::DOCUMENT {
                        visit_at(buf, item.value, item.end, rest, visit);
                    }
                }
            }
            ty::DOCUMENT if !rest.is_empty() => visit_at(buf, e.value, e.end, rest, visit),
            t if rest.is_empty() => visit(t, e.value_bytes(buf)),
            _ => {}
        }
        return;
    }
}

/// Whether `when`'s rules apply to the document at `buf[start..end]` (counted by `when`
/// when they do not): each condition is evaluated over the values at its path; a missing
/// field, a value of a type a condition cannot compare (ObjectId, binary, a sub-document...)
/// or NULL under a comparison cannot be evaluated, and then the rules apply.
pub(crate) fn rules_apply(when: &When, buf: &[u8], start: usize, end: usize) -> bool {
    // Per value at the path: its type and, for types a condition compares, its text.
    let mut values: Vec<(u8, Option<String>)> = Vec::new();
    when.rules_apply(when.conditions().iter().map(|c| {
        values.clear();
        visit_at(buf, start, end, &c.path, &mut |t, v| {
            values.push((t, text_of(t, v)))
        });
        c.evaluate_all(values.iter().map(|(t, text)| match (*t, text.as_deref()) {
            (ty::NULL | ty::UNDEFINED, _) => Operand::Null,
            (ty::BOOL, Some(b)) => Operand::Bool(b == "true"),
            (_, Some(text)) => Operand::Text(text),
            (_, None) => Operand::Other,
        }))
    }))
}

/// Whether the rules of a collection whose plan has `when` apply to the whole BSON document
/// `doc`, as the rewriter decides (the decision is counted on `when`): for readers that
/// must follow the rewriter, such as `verify` collecting the values rules changed.
pub fn when_rules_apply(when: &When, doc: &[u8]) -> bool {
    rules_apply(when, doc, 0, doc.len())
}

/// Whether `when`'s rules apply to an oplog operation `op` (`i`, `u`, `d`) whose `o` is the
/// document at `buf[start..end]`: evaluated on the document (insert, replacement), on the
/// `$set` of an update with operators, on a delete's document key. A condition field the
/// operation does not carry (an update without `$set`, a `$v: 2` diff) applies the rules.
pub(crate) fn operation_rules_apply(
    when: &When,
    op: &[u8],
    buf: &[u8],
    start: usize,
    end: usize,
) -> bool {
    let operators = Elems::new(buf, start, end)
        .next()
        .and_then(Result::ok)
        .is_some_and(|e| e.name.first() == Some(&b'$'));
    let doc = if op == b"u" && operators {
        sub_document(buf, start, end, b"$set")
    } else {
        Some((start, end))
    };
    doc.is_none_or(|(s, e)| rules_apply(when, buf, s, e))
}

/// The sub-document `name` (`$set` of an update) of the document at `buf[start..end]`, as
/// the bounds of its elements' document.
pub(crate) fn sub_document(
    buf: &[u8],
    start: usize,
    end: usize,
    name: &[u8],
) -> Option<(usize, usize)> {
    Elems::new(buf, start, end)
        .map_while(Result::ok)
        .find(|e| e.name == name && e.ty == ty::DOCUMENT)
        .map(|e| (e.value, e.end))
}
