//! Oplog update operators walked along a plan: `$set`/`$setOnInsert` paths, `$v: 2` diffs,
//! document keys, and the check that other operators leave covered fields alone.

use crate::raw::{ty, Elem, Elems};
use crate::walk::{is_index, Nodes, PatchError, Place, Session};

impl Session<'_, '_> {
    /// The operators of an update's `o` (`$set`, `$v: 2` diffs, ...); returns the change of
    /// `o`'s length.
    pub(crate) fn update_operators(
        &mut self,
        buf: &[u8],
        o: &Elem<'_>,
        root: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, o.value, o.end)? {
            let el = el?;
            match el.name {
                b"$v" | b"$unset" => {}
                b"diff" if el.ty == ty::DOCUMENT => {
                    delta += self.walk_diff(buf, el.value, el.end, root, false)?;
                }
                b"$set" | b"$setOnInsert" if el.ty == ty::DOCUMENT => {
                    delta += self.walk_set(buf, el.value, el.end, root)?;
                }
                name if el.ty == ty::DOCUMENT && name.first() == Some(&b'$') => {
                    self.check_untouched(buf, el.value, el.end, root, name)?;
                }
                _ => {
                    return Err(PatchError::Unsupported(
                        "an update mixes a plain field into its operators".to_owned(),
                    ))
                }
            }
        }
        self.fix_len(buf, o.value, delta)?;
        Ok(delta)
    }

    /// `$set`/`$setOnInsert` of an oplog update: keys are dotted paths from the document root.
    pub(crate) fn walk_set(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        root: Nodes<'_>,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let set = self.resolve_path(root, el.name)?;
            if !set.is_empty() {
                let last = el.name.rsplit(|&b| b == b'.').next().unwrap_or(b"");
                let place = if is_index(last) {
                    Place::Element
                } else {
                    Place::NullOnRemove
                };
                delta += self.value(buf, &el, set, place)?;
            }
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    /// A `$v: 2` update diff (`u`, `i`, `d`, `s<field>`; array diffs `a`, `l`, `u<i>`, `s<i>`).
    pub(crate) fn walk_diff(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
        is_array: bool,
    ) -> Result<i64, PatchError> {
        self.enter()?;
        let r = self.walk_diff_inner(buf, start, limit, nodes, is_array);
        self.depth -= 1;
        r
    }

    fn walk_diff_inner(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        nodes: Nodes<'_>,
        is_array: bool,
    ) -> Result<i64, PatchError> {
        let mut delta = 0;
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let name = el.name;
            match (is_array, name) {
                (_, b"a") | (true, b"l") | (false, b"d") => {}
                (false, b"u") | (false, b"i") => {
                    if el.ty != ty::DOCUMENT {
                        return Err(unsupported_diff());
                    }
                    delta += self.walk_doc(buf, el.value, el.end, nodes, Place::NullOnRemove)?;
                }
                _ if name.first() == Some(&b's') => {
                    let field = &name[1..];
                    let sub = if is_array {
                        nodes.array_elem(field)?
                    } else {
                        nodes.children(field)?
                    };
                    if sub.is_empty() {
                        continue;
                    }
                    if sub.rule().is_some() || el.ty != ty::DOCUMENT {
                        return Err(PatchError::Unsupported(format!(
                            "a $v:2 update diff changes part of the field of the rule {}",
                            self.rule_path(sub)
                        )));
                    }
                    let sub_is_array = diff_is_array(buf, &el)?;
                    delta += self.walk_diff(buf, el.value, el.end, sub, sub_is_array)?;
                }
                _ if is_array && name.first() == Some(&b'u') => {
                    let sub = nodes.array_elem(&name[1..])?;
                    delta += self.value(buf, &el, sub, Place::Element)?;
                }
                _ => return Err(unsupported_diff()),
            }
        }
        self.fix_len(buf, start, delta)?;
        Ok(delta)
    }

    /// Fails when an update operator we do not rewrite (`$inc`, `$push`, ...) touches a
    /// covered field. `$rename` targets (string values) are checked too.
    pub(crate) fn check_untouched(
        &mut self,
        buf: &[u8],
        start: usize,
        limit: usize,
        root: Nodes<'_>,
        op: &[u8],
    ) -> Result<(), PatchError> {
        for el in Elems::framed(buf, start, limit)? {
            let el = el?;
            let mut paths = vec![el.name];
            if let Some(target) = el.str_bytes(buf).filter(|_| op == b"$rename") {
                paths.push(target);
            }
            for path in paths {
                let reached = self.resolve_path(root, path)?;
                if !reached.is_empty() {
                    return Err(PatchError::Unsupported(format!(
                        "update operator {} changes a field of the rule {}",
                        operator_name(op),
                        self.rule_path(reached)
                    )));
                }
            }
        }
        Ok(())
    }
}

impl<'p> Session<'_, '_> {
    /// The nodes a dotted update path (`FullName.First`, `Registrations.3.Email`) reaches.
    /// A path continuing below a rule's field (other than into an array element) is refused.
    pub(crate) fn resolve_path(
        &self,
        root: Nodes<'p>,
        path: &[u8],
    ) -> Result<Nodes<'p>, PatchError> {
        let mut cur = root;
        for step in path.split(|&b| b == b'.') {
            if cur.is_empty() {
                break;
            }
            let numeric = is_index(step);
            let mut next = Nodes::empty();
            for n in cur.iter() {
                if n.rule().is_some() {
                    if !numeric {
                        return Err(PatchError::Unsupported(format!(
                            "an update sets a path inside the field of the rule {}",
                            self.rule_path(Nodes::one(n))
                        )));
                    }
                    next.push(n)?;
                } else {
                    if numeric {
                        next.push(n)?;
                    }
                    if let Some(c) = n.child(step) {
                        next.push(c)?;
                    }
                }
            }
            cur = next;
        }
        Ok(cur)
    }
}

/// An update operator's name for messages: `$inc`, or a neutral phrase when it is not a
/// plain operator name (it comes from the data).
pub(crate) fn operator_name(op: &[u8]) -> String {
    let plain = op.len() <= 32
        && op.first() == Some(&b'$')
        && op[1..].iter().all(u8::is_ascii_alphanumeric);
    if plain {
        format!("`{}`", String::from_utf8_lossy(op))
    } else {
        "(an unknown operator)".to_owned()
    }
}

fn unsupported_diff() -> PatchError {
    PatchError::Unsupported(
        "a $v:2 update diff section this tool does not understand touches covered fields".into(),
    )
}

fn diff_is_array(buf: &[u8], el: &Elem<'_>) -> Result<bool, PatchError> {
    for e in Elems::framed(buf, el.value, el.end)? {
        if e?.name == b"a" {
            return Ok(true);
        }
    }
    Ok(false)
}
