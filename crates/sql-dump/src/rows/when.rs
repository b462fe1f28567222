//! A table's `when:` (rule conditions) evaluated on one row: the values of the condition
//! columns decoded as the row job decodes covered ones, compared on their text. A condition
//! whose column is not in the row (a column list without it, an `UPDATE` that does not set
//! it), a value that cannot be decoded or compared: the rules apply (fail closed).

use anonymize_core::Condition;

use super::plan::ColPlan;
use crate::ddl::Column;
use crate::lex::tuple::trim_span;

/// True when the row at `spans` of `src` (values described by `plans`; `copy`: COPY
/// fields, not trimmed) is kept from the rules by its table's `when:` (and counted as
/// such); false when the table has none or the rules apply. `verdict` evaluates one
/// condition on one value's literal (`None`: it cannot).
pub(super) fn rules_skipped(
    plans: &[ColPlan<'_>],
    copy: bool,
    src: &[u8],
    spans: &[(usize, usize)],
    mut verdict: impl FnMut(&Condition, &[u8], Option<&Column>) -> Option<bool>,
) -> bool {
    let Some(when) = plans.iter().find_map(|p| p.cond.map(|(w, _)| w)) else {
        return false;
    };
    let verdicts = when.conditions().iter().enumerate().map(|(k, cond)| {
        let i = plans
            .iter()
            .position(|p| p.cond.is_some_and(|(_, c)| c == k))?;
        let span = *spans.get(i)?;
        let (s, e) = if copy { span } else { trim_span(src, span) };
        verdict(cond, src.get(s..e)?, plans[i].col.as_ref())
    });
    !when.rules_apply(verdicts)
}
