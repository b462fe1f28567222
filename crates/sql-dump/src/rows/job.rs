//! One row job: rewrites the values of one INSERT tuple or COPY line by their column plans.

use std::borrow::Cow;

use anonymize_core::{
    Anonymizer, EchoSet, PlanNode, Replacement, RowContext, Transform, Value, Written,
};

use super::echo::{EchoRow, RowLiterals, ECHO};
use super::plan::{searched, ColPlan, RowShape};
use crate::array::{Array, Elem};
use crate::ddl::{Column, Exactness, Family};
use crate::dialect::Syntax;
use crate::json::{count_failed_closed, rewrite_json, JsonOutcome};
use crate::lex::tuple::trim_span;
use crate::literal::{
    bytea_value, copy_unescape, has_either, number_value, parse_literal, plain_string,
    value_in_row, value_of, write_replacement, write_written, Ctx, Lit, RowText,
};

/// Everything one row rewrite needs besides the row.
pub(crate) struct RowJob<'p, 'a> {
    /// The rules and key.
    pub(crate) anon: &'a Anonymizer,
    /// One plan per value.
    pub(crate) plans: &'p [ColPlan<'a>],
    /// What the plans decide for every row ([`RowShape::of`] the same plans).
    pub(crate) shape: RowShape,
    /// Where the values are written.
    pub(crate) ctx: Ctx,
    /// The dump's dialect and session settings.
    pub(crate) syntax: Syntax,
    /// 1-based position of the row in its table.
    pub(crate) ordinal: u64,
}

impl RowJob<'_, '_> {
    /// Rewrites the values of `src` at `spans` into `out` (the bytes between and around the
    /// spans are copied as slices; only the values a rule covers are decoded). `scratch` and
    /// `value` are buffers reused from row to row (decoded input, transform output).
    pub(crate) fn rewrite(
        &self,
        src: &[u8],
        spans: &[(usize, usize)],
        scratch: &mut Vec<u8>,
        value: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        ECHO.with(|echo| {
            let mut echo = echo.borrow_mut();
            self.rewrite_row(src, spans, (scratch, value), out, &mut echo);
        });
    }

    /// The columns whose memo entries [`prefetch`](Self::prefetch) brings into the cache,
    /// with where this thread's memo of their rule keeps them ([`Anonymizer::memo_slots`]):
    /// ask once per batch of rows.
    pub(crate) fn prefetch_columns(&self) -> Vec<(usize, anonymize_core::MemoSlots)> {
        let rule_of = |plan: &ColPlan<'_>| plan.node.and_then(|n| n.rule());
        (self.plans.iter().enumerate())
            .filter_map(|(i, plan)| Some((i, self.anon.memo_slots(rule_of(plan)?)?)))
            .collect()
    }

    /// Brings into the CPU's cache the memo entries of the `columns`' values of the row `src`
    /// at `spans`, to be rewritten by [`rewrite`](Self::rewrite) after the current one: a
    /// COPY field, or the body of a `'...'` literal, taken as the value's bytes (a value with
    /// escapes to undo or space around it hashes differently, so its hint is wasted, never
    /// wrong). A hint: outputs do not depend on it.
    pub(crate) fn prefetch(
        &self,
        columns: &[(usize, anonymize_core::MemoSlots)],
        src: &[u8],
        spans: &[(usize, usize)],
    ) {
        for &(i, slots) in columns {
            let Some(field) = spans.get(i).and_then(|&(s, e)| src.get(s..e)) else {
                continue;
            };
            let text = match field {
                _ if self.ctx == Ctx::Copy => field,
                [b'\'', body @ .., b'\''] => body,
                _ => continue,
            };
            slots.prefetch(text);
        }
    }

    fn rewrite_row(
        &self,
        src: &[u8],
        spans: &[(usize, usize)],
        (scratch, value): (&mut Vec<u8>, &mut Vec<u8>),
        out: &mut Vec<u8>,
        echo: &mut EchoRow,
    ) {
        let row_ctx = RowContext {
            ordinal: self.ordinal,
        };
        // One UTF-8 check of the whole row instead of one per value.
        let row = RowText::new(src);
        echo.set.configure(self.anon.echo_guard());
        echo.set.set_encoded_spans(true);
        echo.set.clear();
        echo.spans.clear();
        // A row the table's `when:` keeps from the rules: every value copied as it is.
        let skip = self.shape.when
            && super::when::rules_skipped(
                self.plans,
                self.ctx == Ctx::Copy,
                src,
                spans,
                |cond, literal, col| self.when_verdict(cond, literal, col, scratch),
            );
        // Originals are recorded only when the row has a value the guard may search, long
        // enough to hold one.
        let shape_watches = if spans.len() >= self.plans.len() {
            self.shape.watch
        } else {
            // A short row: only its values' plans count.
            RowShape::watches(&self.plans[..spans.len()], self.ctx == Ctx::Copy)
        };
        let watch = shape_watches && {
            let longest = super::echo::longest_searched(self.shape.searched, spans);
            echo.set.set_longest_value(longest);
            longest >= self.anon.echo_guard().min_length
        };
        let mut copied = 0;
        for (i, &span) in spans.iter().enumerate() {
            let Some(plan) = self.plans.get(i) else { break };
            let col = plan.col.as_ref();
            let generated = self.ctx != Ctx::Copy && col.is_some_and(|c| c.generated);
            let Some(node) = plan.node.filter(|_| !generated && !skip) else {
                if generated {
                    // A generated column's dumped value (mariadb-dump writes them) is
                    // computed from the row's original values: the server computes it again
                    // from the rewritten ones.
                    let (s, e) = trim_span(src, span);
                    out.extend_from_slice(&src[copied..s]);
                    out.extend_from_slice(b"DEFAULT");
                    copied = e;
                } else if searched(col) {
                    // Copied verbatim later: it lands at this position of the output.
                    let (s, e) = if self.ctx == Ctx::Copy {
                        span
                    } else {
                        trim_span(src, span)
                    };
                    let at = out.len() + s.saturating_sub(copied);
                    echo.spans.push((i, at, at + (e - s)));
                }
                continue;
            };
            let (s, e) = if self.ctx == Ctx::Copy {
                span
            } else {
                trim_span(src, span)
            };
            let text = &src[s..e];
            out.extend_from_slice(&src[copied..s]);
            copied = e;
            if let Some(rule) = node.rule() {
                self.rule(
                    rule,
                    (text, row),
                    col,
                    (scratch, value),
                    &row_ctx,
                    (out, watch.then_some(&mut echo.set)),
                );
            } else if node.has_children() {
                let at = out.len();
                self.json(text, node, col, scratch, &row_ctx, out);
                if searched(col) {
                    echo.spans.push((i, at, out.len()));
                }
            } else {
                out.extend_from_slice(text);
            }
        }
        out.extend_from_slice(&src[copied..]);
        if !echo.set.is_empty() && !echo.spans.is_empty() {
            echo.guard(out, self.plans, self.anon, self);
        }
    }

    /// The value of one literal (a COPY field or a SQL literal) of the row `row`, typed by its
    /// column; escapes are undone into `scratch` only when there are any.
    #[inline]
    fn value<'b>(
        &self,
        literal: &'b [u8],
        col: Option<&Column>,
        scratch: &'b mut Vec<u8>,
        row: RowText<'b>,
    ) -> Value<'b> {
        if self.ctx == Ctx::Copy {
            copy_value(literal, col, scratch, row)
        } else if let Some(body) = plain_string(literal, col) {
            // A `'...'` string with nothing to undo (nearly every one).
            row.text_value(body, false)
        } else {
            value_in_row(
                parse_literal(literal, self.syntax),
                col,
                scratch,
                self.syntax.dialect,
                row,
            )
        }
    }

    /// One `when:` condition on one value's literal, decoded as a covered value would be
    /// (`None`: it cannot be evaluated).
    fn when_verdict(
        &self,
        cond: &anonymize_core::Condition,
        literal: &[u8],
        col: Option<&Column>,
        scratch: &mut Vec<u8>,
    ) -> Option<bool> {
        let value = self.value(literal, col, scratch, RowText::default());
        let owned;
        let text: &str = match value {
            Value::Null => return cond.evaluate(None),
            Value::Str(s) if self.syntax.latin1 && !s.is_ascii() => {
                owned = from_latin1(s.as_bytes());
                &owned
            }
            Value::Str(s) => s,
            Value::Bytes(b) if self.syntax.latin1 => {
                owned = from_latin1(b);
                &owned
            }
            Value::Bytes(b) => std::str::from_utf8(b).ok()?,
            Value::Number(n) => n,
            Value::Int64(i) => {
                owned = i.to_string();
                &owned
            }
            Value::Int32(i) => {
                owned = i.to_string();
                &owned
            }
            Value::Double(d) => {
                owned = d.to_string();
                &owned
            }
            Value::Bool(b) => return cond.evaluate_operand(anonymize_core::Operand::Bool(b)),
            Value::Binary { .. } | Value::DateTime(_) | Value::Other => return None,
        };
        cond.evaluate(Some(text))
    }

    /// Applies `rule` to one value.
    fn rule<'t>(
        &self,
        rule: anonymize_core::RuleId,
        (text, row): (&'t [u8], RowText<'t>),
        col: Option<&Column>,
        (scratch, buf): (&mut Vec<u8>, &mut Vec<u8>),
        row_ctx: &RowContext,
        (out, echo): (&mut Vec<u8>, Option<&mut EchoSet>),
    ) {
        let value = self.value(text, col, scratch, row);
        let transform = self.anon.transform(rule);
        if let Value::Str(s) = value {
            if text_as_read(self.syntax.latin1, transform, s, col) {
                // Nearly every covered value: the transform gets the text's parts, not a
                // `Value` copied through the stack (docs/performance.md, branch row25).
                return self.apply(
                    rule,
                    (Value::Str(s), false),
                    text,
                    col,
                    buf,
                    row_ctx,
                    (out, echo),
                );
            }
        }
        if matches!(transform, Transform::DateShift { .. }) && is_infinity(&value) {
            // PostgreSQL's `infinity` dates are no one's: shifted they would fail closed
            // to NULL.
            self.anon.record_seen(rule, false);
            out.extend_from_slice(text);
            return;
        }
        // A Latin-1 dump's text, decoded for the transform (and encoded back on writing).
        let decoded = match &value {
            Value::Str(s) if self.syntax.latin1 && !s.is_ascii() => Some(from_latin1(s.as_bytes())),
            Value::Bytes(b) if self.syntax.latin1 => Some(from_latin1(b)),
            _ => None,
        };
        let value = match &decoded {
            Some(d) => Value::Str(d),
            None => value,
        };
        if let (true, Value::Str(s)) = (element_wise(transform, col), &value) {
            return self.array_elements(rule, s, col, buf, row_ctx, out);
        }
        let value = if matches!(transform, Transform::Digits) {
            digits_value(value, text)
        } else {
            (value, false)
        };
        self.apply(rule, value, text, col, buf, row_ctx, (out, echo))
    }

    /// Applies `rule` to `value` (and whether it was read from a string: a number goes back
    /// as one), the value of the literal `text`, and writes the result.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        rule: anonymize_core::RuleId,
        (value, was_str): (Value<'_>, bool),
        text: &[u8],
        col: Option<&Column>,
        buf: &mut Vec<u8>,
        row_ctx: &RowContext,
        (out, echo): (&mut Vec<u8>, Option<&mut EchoSet>),
    ) {
        let transform = self.anon.transform(rule);
        let variant = match (&value, transform) {
            // Only where variants could collide in a unique key declared before the rows, or
            // where the rule asks for it: elsewhere variants keep sharing their pseudonym, so
            // joins on `lower(email)` across tables still match.
            (
                Value::Str(s),
                Transform::HashEmail {
                    case_sensitive,
                    distinct_variants,
                    ..
                },
            ) if *distinct_variants || col.is_some_and(|c| c.unique) => email_variant(
                s,
                *case_sensitive,
                Column::exactness(col, self.syntax.dialect),
            ),
            _ => None,
        };
        let written = self.anon.apply_into(rule, value, row_ctx, buf);
        match (value, echo) {
            (Value::Str(s), Some(echo)) => echo.record(rule, s.as_bytes(), written, buf),
            (Value::Bytes(b), Some(echo)) => echo.record(rule, b, written, buf),
            _ => {}
        }
        match written {
            Written::Unchanged => out.extend_from_slice(text),
            Written::Str if variant.is_some() => {
                let tag = variant.and_then(|v| self.anon.hash_email_variant_tag(rule, &v));
                if let (Some(tag), Some(mut at)) =
                    (tag, buf.iter().position(|b| *b == b'.' || *b == b'@'))
                {
                    // In a length-limited column the tag takes the place of the hash's last
                    // characters (8 are kept) rather than being cut off.
                    let extra = 1 + tag.len();
                    if let Some(max) = col.and_then(|c| c.max_chars) {
                        if buf.len() <= max && buf.len() + extra > max {
                            let cut = (buf.len() + extra - max).min(at.saturating_sub(8));
                            buf.drain(at - cut..at);
                            at -= cut;
                        }
                    }
                    buf.splice(at..at, std::iter::once(b'+').chain(tag.bytes()));
                }
                self.write_written(Written::Str, buf, col, out)
            }
            // A number read from a string goes back as a string.
            Written::Number if was_str => self.write_written(Written::Str, buf, col, out),
            w => self.write_written(w, buf, col, out),
        }
    }

    /// Applies `rule` to each element of the array literal `s` (a PostgreSQL array column);
    /// a literal that cannot be read is nulled and counted as failed closed.
    fn array_elements(
        &self,
        rule: anonymize_core::RuleId,
        s: &str,
        col: Option<&Column>,
        buf: &mut Vec<u8>,
        row_ctx: &RowContext,
        out: &mut Vec<u8>,
    ) {
        let Some(mut array) = Array::parse(s) else {
            self.anon.record_failed_closed(rule);
            return self.write(&Replacement::Null, col, out);
        };
        array.map_text(&mut |e: &str| {
            let (value, _) = if self.anon.transform(rule).name() == "digits" {
                digits_value(Value::Str(e), e.as_bytes())
            } else {
                (Value::Str(e), false)
            };
            match self.anon.apply_into(rule, value, row_ctx, buf) {
                Written::Unchanged => Elem::Text(e.to_owned()),
                Written::Str | Written::Number | Written::Bytes => {
                    Elem::Text(String::from_utf8_lossy(buf).into_owned())
                }
                Written::Int32(i) => Elem::Text(i.to_string()),
                Written::Int64(i) => Elem::Text(i.to_string()),
                Written::Double(f) => Elem::Text(f.to_string()),
                Written::Bool(b) => Elem::Text(if b { "t" } else { "f" }.to_owned()),
                Written::Null | Written::Remove | Written::Binary { .. } | Written::DateTime(_) => {
                    Elem::Null
                }
            }
        });
        let col = col.map(|c| Column {
            max_chars: None,
            ..c.clone()
        });
        self.write(&Replacement::Str(array.to_text()), col.as_ref(), out);
    }

    /// Writes what `apply_into` wrote into `buf`, in the dump's character set.
    fn write_written(&self, w: Written, buf: &[u8], col: Option<&Column>, out: &mut Vec<u8>) {
        if !self.syntax.latin1 {
            return write_written(w, buf, col, self.ctx, out);
        }
        let mut utf8 = Vec::new();
        write_written(w, buf, col, self.ctx, &mut utf8);
        to_latin1(&utf8, out);
    }

    /// Writes a replacement, in the dump's character set.
    fn write(&self, r: &Replacement, col: Option<&Column>, out: &mut Vec<u8>) {
        if !self.syntax.latin1 {
            return write_replacement(r, col, self.ctx, out);
        }
        let mut utf8 = Vec::new();
        write_replacement(r, col, self.ctx, &mut utf8);
        to_latin1(&utf8, out);
    }

    fn json(
        &self,
        text: &[u8],
        node: &PlanNode,
        col: Option<&Column>,
        scratch: &mut Vec<u8>,
        row_ctx: &RowContext,
        out: &mut Vec<u8>,
    ) {
        let doc: Option<&[u8]> = if self.ctx == Ctx::Copy {
            if text == b"\\N" {
                out.extend_from_slice(text);
                return;
            }
            copy_unescape(text, scratch);
            Some(scratch)
        } else {
            match parse_literal(text, self.syntax) {
                Lit::Null => {
                    out.extend_from_slice(text);
                    return;
                }
                // The decoded text is the value's own bytes: a value with nothing to
                // unescape borrows the literal and leaves `scratch` as it was.
                lit @ Lit::Str { .. } => match value_of(lit, None, scratch, self.syntax.dialect) {
                    anonymize_core::Value::Str(s) => Some(s.as_bytes()),
                    anonymize_core::Value::Bytes(b) => Some(b),
                    _ => None,
                },
                _ => None,
            }
        };
        // A dump without `SET NAMES` (`--compatible=...`) may hold Latin-1 text: a document
        // that is not UTF-8 is read as Latin-1 and written back in it.
        let latin1 = self.syntax.latin1
            || doc.is_some_and(|d| !d.is_ascii() && std::str::from_utf8(d).is_err());
        let decoded = doc.filter(|_| latin1).map(from_latin1);
        let outcome = match (doc, &decoded) {
            (_, Some(d)) => rewrite_json(d.as_bytes(), node, self.anon, row_ctx),
            (Some(doc), None) => rewrite_json(doc, node, self.anon, row_ctx),
            (None, None) => JsonOutcome::Invalid,
        };
        let col = col.map(|c| Column {
            max_chars: None,
            ..c.clone()
        });
        match outcome {
            JsonOutcome::Unchanged => out.extend_from_slice(text),
            JsonOutcome::Changed(s) if latin1 && !self.syntax.latin1 => {
                let mut utf8 = Vec::new();
                write_replacement(&Replacement::Str(s), col.as_ref(), self.ctx, &mut utf8);
                to_latin1(&utf8, out);
            }
            JsonOutcome::Changed(s) => self.write(&Replacement::Str(s), col.as_ref(), out),
            JsonOutcome::Invalid => {
                // Not JSON: it may hold what the rules cover.
                count_failed_closed(self.anon, node, false);
                self.write(&Replacement::Null, col.as_ref(), out)
            }
        }
    }
}

/// The echo guard's view of the row job's literals.
impl RowLiterals for RowJob<'_, '_> {
    fn text<'b>(
        &self,
        literal: &'b [u8],
        col: Option<&Column>,
        scratch: &'b mut Vec<u8>,
    ) -> Option<Cow<'b, [u8]>> {
        match self.value(literal, col, scratch, RowText::default()) {
            Value::Str(s) if self.syntax.latin1 && !s.is_ascii() => {
                Some(Cow::Owned(from_latin1(s.as_bytes()).into_bytes()))
            }
            Value::Bytes(b) if self.syntax.latin1 => Some(Cow::Owned(from_latin1(b).into_bytes())),
            Value::Str(s) => Some(Cow::Borrowed(s.as_bytes())),
            Value::Bytes(b) => Some(Cow::Borrowed(b)),
            _ => None,
        }
    }

    fn write(&self, r: &Replacement, col: Option<&Column>, out: &mut Vec<u8>) {
        RowJob::write(self, r, col, out)
    }
}

/// The value of one COPY field, typed by its column.
pub(crate) fn copy_value<'b>(
    field: &'b [u8],
    col: Option<&Column>,
    scratch: &'b mut Vec<u8>,
    row: RowText<'b>,
) -> anonymize_core::Value<'b> {
    use crate::ddl::ColKind;
    use anonymize_core::Value;
    if field == b"\\N" {
        return Value::Null;
    }
    let kind = col.map(|c| c.kind);
    if kind == Some(ColKind::Binary) {
        copy_unescape(field, scratch);
        return bytea_value(scratch);
    }
    let (scratch, row): (&'b [u8], RowText<'b>) = if !has_either(field, b'\\', b'\\') {
        // No escape to undo (nearly every field): the value borrows the field.
        (field, row)
    } else {
        copy_unescape(field, scratch);
        (scratch, RowText::default())
    };
    match kind {
        Some(ColKind::Integer) | Some(ColKind::Decimal) => match number_value(scratch) {
            Value::Other => row.text_value(scratch, false),
            v => v,
        },
        Some(ColKind::Bool) => match scratch {
            b"t" => Value::Bool(true),
            b"f" => Value::Bool(false),
            _ => row.text_value(scratch, false),
        },
        _ => row.text_value(scratch, false),
    }
}

/// The form of address `s` its column tells apart from what `hash_email` hashes (trimmed,
/// lower-cased unless `case_sensitive`), when they differ: `Bob@x` and ` bob@x` in a
/// PostgreSQL `text` column, ` bob@x` in a case-insensitive MySQL one (which ignores case
/// and trailing spaces). `None` when the column holds no other variant.
fn email_variant(s: &str, case_sensitive: bool, exactness: Exactness) -> Option<String> {
    if s.is_ascii() {
        if let Some(same) = ascii_same_variant(s.as_bytes(), case_sensitive, exactness) {
            return (!same).then(|| s.to_owned());
        }
    }
    any_email_variant(s, case_sensitive, exactness)
}

/// [`email_variant`] by the general way, for any text.
fn any_email_variant(s: &str, case_sensitive: bool, exactness: Exactness) -> Option<String> {
    match exactness {
        Exactness::Exact => {
            let trimmed = s.trim();
            let same =
                trimmed.len() == s.len() && (case_sensitive || !s.chars().any(char::is_uppercase));
            (!same).then(|| s.to_owned())
        }
        Exactness::LeadingSpace => {
            let t = s.trim_end();
            (t.trim_start().len() != t.len()).then(|| t.to_lowercase())
        }
    }
}

/// [`email_variant`] of an ASCII address when its edges are not white space (nearly every
/// address): `Some(true)` when it is the form `hash_email` hashes (no variant), `Some(false)`
/// when it is an `Exact` column's variant (upper case), `None` to take the general way.
fn ascii_same_variant(s: &[u8], case_sensitive: bool, exactness: Exactness) -> Option<bool> {
    // `char::is_whitespace` on ASCII: tab, line feed, vertical tab, form feed, carriage
    // return and space.
    let space = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    if s.first().is_some_and(space) || s.last().is_some_and(space) {
        return None;
    }
    Some(match exactness {
        Exactness::Exact => case_sensitive || !s.iter().any(u8::is_ascii_uppercase),
        // No leading space: the trimmed and lower-cased forms agree.
        Exactness::LeadingSpace => true,
    })
}

/// Whether text `s`, read for a rule of `transform` in column `col` of a dump whose text is
/// Latin-1 (`latin1`) or not, goes to the transform as it was read: the general way of
/// [`RowJob::rule`] would change nothing of it (no Latin-1 decoding, no `infinity` date, no
/// array column, no `digits` number).
#[inline]
fn text_as_read(latin1: bool, transform: &Transform, s: &str, col: Option<&Column>) -> bool {
    let decoded = latin1 && !s.is_ascii();
    let date = matches!(transform, Transform::DateShift { .. });
    let number = matches!(transform, Transform::Digits) && plain_decimal(s);
    !(decoded || date || number || element_wise(transform, col))
}

/// Whether `digits` reads `s` as a plain decimal: one pass over an optional `-`, digits
/// without a leading zero (or `0`), optionally `.` and at least one digit.
fn plain_decimal(s: &str) -> bool {
    let body = s.as_bytes();
    let body = body.strip_prefix(b"-").unwrap_or(body);
    let int = body.iter().take_while(|b| b.is_ascii_digit()).count();
    let frac = match body.get(int..) {
        Some([]) => true,
        Some([b'.', rest @ ..]) => !rest.is_empty() && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    int > 0 && (int == 1 || body[0] != b'0') && frac
}

/// Whether `transform` applies to each element of a value of column `col` (an array
/// column, and a transform that does not replace the whole value).
fn element_wise(transform: &Transform, col: Option<&Column>) -> bool {
    col.is_some_and(|c| c.family == Family::Array)
        && !matches!(transform.name(), "keep" | "null" | "remove" | "constant")
}

/// PostgreSQL's special date/timestamp values `infinity`, `+infinity` and `-infinity`.
fn is_infinity(value: &Value<'_>) -> bool {
    matches!(value, Value::Str(s) if ["infinity", "+infinity", "-infinity"]
        .iter()
        .any(|i| s.eq_ignore_ascii_case(i)))
}

/// `digits` sees a number the same way whether the column's type is known or not (a COPY
/// field of a data-only dump is text, the same field of a full dump a number): a plain
/// decimal (`42`, `-39.62`, no leading zero), quoted or bare, is a `Number`, so the output
/// depends only on the value and never gains a leading zero. Returns the value and whether it
/// was a string.
fn digits_value<'v>(value: Value<'v>, literal: &'v [u8]) -> (Value<'v>, bool) {
    let plain = plain_decimal;
    match value {
        Value::Str(s) if plain(s) => (Value::Number(s), true),
        Value::Int64(_) => match std::str::from_utf8(literal) {
            Ok(text) if plain(text) => (Value::Number(text), false),
            _ => (value, false),
        },
        other => (other, false),
    }
}

/// Latin-1 bytes as text (each byte is the code point of the same number).
fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// UTF-8 output as Latin-1: characters above U+00FF become `?`; bytes that are not UTF-8
/// (raw bytes written as they were read) pass unchanged.
fn to_latin1(mut bytes: &[u8], out: &mut Vec<u8>) {
    let push = |s: &str, out: &mut Vec<u8>| {
        out.extend(
            s.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
        );
    };
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => return push(s, out),
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                push(std::str::from_utf8(valid).unwrap_or_default(), out);
                let bad = e.error_len().unwrap_or(rest.len());
                out.extend_from_slice(&rest[..bad]);
                bytes = &rest[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_variants_by_what_the_column_tells_apart() {
        use Exactness::{Exact, LeadingSpace};
        assert_eq!(email_variant("bob@x", false, Exact), None);
        assert_eq!(
            email_variant("Bob@x", false, Exact).as_deref(),
            Some("Bob@x")
        );
        assert_eq!(email_variant("Bob@x", true, Exact), None);
        assert_eq!(
            email_variant(" bob@x", true, Exact).as_deref(),
            Some(" bob@x")
        );
        assert_eq!(email_variant("Bob@x ", false, LeadingSpace), None);
        assert_eq!(
            email_variant(" Bob@x ", false, LeadingSpace).as_deref(),
            Some(" bob@x")
        );
    }

    /// The ASCII fast path of `email_variant` answers as the general way on addresses with
    /// and without case, spaces and other white space at either end.
    #[test]
    fn email_variant_fast_path_agrees() {
        let addresses = [
            "",
            " ",
            "bob@x",
            "Bob@x",
            "bob@X ",
            " bob@x",
            "\tbob@x",
            "bob@x\x0b",
            "\x0cb@x\r",
            "b\u{e9}b@x",
            " B\u{e9}b@x ",
            "\u{a0}bob@x",
            "bob@x\u{3000}",
            "\x1fbob@x",
        ];
        for s in addresses {
            for case_sensitive in [true, false] {
                for exactness in [Exactness::Exact, Exactness::LeadingSpace] {
                    assert_eq!(
                        email_variant(s, case_sensitive, exactness),
                        any_email_variant(s, case_sensitive, exactness),
                        "{s:?} {case_sensitive} {exactness:?}"
                    );
                }
            }
        }
    }

    /// Text that `text_as_read` sends to the transform as it was read is text the general way
    /// of `RowJob::rule` leaves as it is: no `infinity` date to skip, no Latin-1 decoding, no
    /// array elements, no `digits` number; every transform, column family and dump charset.
    #[test]
    fn text_as_read_is_what_the_general_way_leaves() {
        use anonymize_core::{FakeKind, FakeLocale, HashEmailMode};
        let transforms = [
            Transform::Keep,
            Transform::Null,
            Transform::Digits,
            Transform::DateShift { max_days: 3 },
            Transform::Hash { length: 8 },
            Transform::Fake {
                kind: FakeKind::FirstName,
                locale: FakeLocale::En,
            },
            Transform::HashEmail {
                local_length: 16,
                domain_length: 4,
                domain: "x".into(),
                case_sensitive: false,
                mode: HashEmailMode::Address,
                distinct_variants: false,
            },
        ];
        let texts = [
            "",
            "42",
            "-3.5",
            "007",
            "+44 7780 463556",
            "infinity",
            "-Infinity",
            "Jos\u{e9}",
            "{a,b}",
            "bob@x",
            "2024-01-05",
        ];
        let column = |family| Column::for_tests(crate::ddl::ColKind::Other, family, None);
        let cols = [
            None,
            Some(column(Family::Text)),
            Some(column(Family::Array)),
            Some(column(Family::Date)),
        ];
        for latin1 in [false, true] {
            for transform in &transforms {
                for s in texts {
                    for col in &cols {
                        let col = col.as_ref();
                        if !text_as_read(latin1, transform, s, col) {
                            continue;
                        }
                        let why = format!("{latin1} {transform:?} {s:?} {col:?}");
                        let date = matches!(transform, Transform::DateShift { .. });
                        assert!(!(date && is_infinity(&Value::Str(s))), "{why}");
                        assert!(!latin1 || s.is_ascii(), "{why}");
                        assert!(!element_wise(transform, col), "{why}");
                        if matches!(transform, Transform::Digits) {
                            let read = digits_value(Value::Str(s), s.as_bytes());
                            assert_eq!(read, (Value::Str(s), false), "{why}");
                        }
                    }
                }
            }
        }
    }

    /// `prefetch` leaves what rows rewrite to as it was, and takes any spans without a panic
    /// (out of the row, reversed, a lone quote): rows of repeated names rewritten with a
    /// prefetch of the next row before each, and without, give the same bytes.
    #[test]
    fn prefetch_is_only_a_hint() {
        use crate::dialect::{Dialect, Syntax};
        use anonymize_core::{Disposition, Key, KeyMode, RuleSet};
        let yaml = "rules:\n  t:\n    fields:\n      a: {transform: fake, kind: first_name}\n";
        let rules = RuleSet::from_yaml(yaml, "x.yaml").unwrap();
        let key = Key::from_bytes(b"a key for the row job's tests").unwrap();
        let anon = Anonymizer::new(rules, KeyMode::Keyed(key)).unwrap();
        let Disposition::Keep(plan) = anon.resolve(None, "t") else {
            panic!("kept")
        };
        let node = plan.root().and_then(|r| r.child(b"a"));
        let plans = [ColPlan {
            node,
            col: None,
            name: None,
            cond: None,
        }];
        for ctx in [Ctx::MySql, Ctx::Copy] {
            let job = RowJob {
                anon: &anon,
                plans: &plans,
                shape: RowShape::of(&plans, ctx == Ctx::Copy),
                ctx,
                syntax: Syntax::from(Dialect::MySql),
                ordinal: 1,
            };
            let rows: Vec<Vec<u8>> = (0..3000)
                .map(|i| match ctx {
                    Ctx::Copy => format!("n{}", i % 40).into_bytes(),
                    _ => format!("'n{}'", i % 40).into_bytes(),
                })
                .collect();
            let mut bufs = (Vec::new(), Vec::new());
            let (mut plain, mut hinted) = (Vec::new(), Vec::new());
            for row in &rows {
                job.rewrite(row, &[(0, row.len())], &mut bufs.0, &mut bufs.1, &mut plain);
            }
            let columns = job.prefetch_columns();
            assert_eq!(columns.len(), 1, "the name column's table is on");
            for (k, row) in rows.iter().enumerate() {
                if let Some(next) = rows.get(k + 1) {
                    job.prefetch(&columns, next, &[(0, next.len())]);
                }
                let odd: &[(usize, usize)] = &[(5, 2), (0, 10_000), (usize::MAX, 3)];
                job.prefetch(&columns, b"'", &[(0, 1)]);
                job.prefetch(&columns, row, odd);
                job.rewrite(
                    row,
                    &[(0, row.len())],
                    &mut bufs.0,
                    &mut bufs.1,
                    &mut hinted,
                );
            }
            assert_eq!(plain, hinted, "{ctx:?}");
            assert_ne!(&plain[..rows[0].len()], &rows[0][..], "rewritten");
        }
    }

    /// `digits` reads the same values as plain decimals as the two-pass test did.
    #[test]
    fn plain_decimals_as_before() {
        fn before(s: &str) -> bool {
            let body = s.strip_prefix('-').unwrap_or(s);
            let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
            !int.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && (int == "0" || !int.starts_with('0'))
                && !frac.is_empty()
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        let texts = [
            "",
            "-",
            "0",
            "00",
            "01",
            "10",
            "-0",
            "-01",
            "0.5",
            "0.",
            ".5",
            "1.2.3",
            "12.30",
            "+44 7780 463556",
            "42",
            "-39.62",
            "1e5",
            "4a",
            "\u{663}",
            "--1",
            "-.5",
            "9.9a",
        ];
        for s in texts {
            let (value, _) = digits_value(Value::Str(s), s.as_bytes());
            assert_eq!(matches!(value, Value::Number(_)), before(s), "{s:?}");
        }
    }
}
