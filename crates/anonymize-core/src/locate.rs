//! Finds where a key path sits in a YAML source, to give semantic errors a line and column.
//!
//! The YAML parser reports positions only for syntax errors. For errors found afterwards
//! (an unknown transform, a bad parameter) this walks block-style YAML by indentation, and
//! falls back to searching the parent's line for flow-style mappings.

/// One step of a path into the YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

fn content_lines(source: &str) -> Vec<Line<'_>> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let text = raw.trim_start();
            if text.is_empty() || text.starts_with('#') || text == "---" {
                return None;
            }
            Some(Line {
                number: i + 1,
                indent: raw.len() - text.len(),
                text,
            })
        })
        .collect()
}

fn unquote(key: &str) -> &str {
    let k = key.trim();
    if k.len() >= 2
        && ((k.starts_with('"') && k.ends_with('"')) || (k.starts_with('\'') && k.ends_with('\'')))
    {
        &k[1..k.len() - 1]
    } else {
        k
    }
}

/// The key of a `key: value` line (after an optional `- `), with its column offset.
fn key_of(text: &str) -> Option<(&str, usize)> {
    let (offset, rest) = match text.strip_prefix("- ") {
        Some(rest) => (2, rest.trim_start()),
        None => (0, text),
    };
    let colon = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(|r| r.len()))?;
    Some((unquote(&rest[..colon]), offset))
}

/// Best-known position of `path` in `source`: the deepest step that could be found.
pub(crate) fn locate(source: &str, path: &[Step]) -> Position {
    let lines = content_lines(source);
    let mut found = Position { line: 1, column: 1 };
    // The block the current step is searched in: lines[start..end] deeper than `parent_indent`.
    let (mut start, mut end) = (0, lines.len());
    let mut parent_indent: Option<usize> = None;
    for step in path {
        let block = &lines[start..end];
        let child_indent = block
            .iter()
            .map(|l| l.indent)
            .find(|&i| parent_indent.is_none_or(|p| i > p));
        let Some(child_indent) = child_indent else {
            return flow_search(&lines, found, step);
        };
        let mut hit = None;
        let mut index = 0;
        for (i, line) in block.iter().enumerate() {
            if line.indent != child_indent {
                continue;
            }
            let matched = match step {
                Step::Key(k) => key_of(line.text).is_some_and(|(key, _)| key == k),
                Step::Index(n) => {
                    let is_item = line.text.starts_with("- ") || line.text == "-";
                    let m = is_item && index == *n;
                    index += usize::from(is_item);
                    m
                }
            };
            if matched {
                hit = Some(i);
                break;
            }
        }
        let Some(i) = hit else {
            return flow_search(&lines, found, step);
        };
        let line = &block[i];
        found = Position {
            line: line.number,
            column: line.indent + 1,
        };
        let abs = start + i;
        // The step's own block: following lines indented deeper than it. For `- key: v` items the
        // item's contents sit at the item's indent + 2.
        let own_indent = if matches!(step, Step::Index(_)) {
            line.indent + 1
        } else {
            line.indent
        };
        let mut stop = abs + 1;
        while stop < end && lines[stop].indent > line.indent {
            stop += 1;
        }
        if matches!(step, Step::Index(_)) {
            // Sequence item: its inline key (`- key:`) counts as part of its block.
            start = abs;
            parent_indent = Some(own_indent);
            end = stop;
            if key_of(line.text).is_some_and(|(_, offset)| offset > 0) {
                // `- a: 1` puts `a` at indent+2; treat the item line as a deeper line.
                parent_indent = Some(line.indent);
                start = abs + 1;
            }
        } else {
            start = abs + 1;
            end = stop;
            parent_indent = Some(own_indent);
        }
    }
    found
}

/// A key inside a flow mapping on the last found line (`{transform: hash, lenght: 3}`).
fn flow_search(lines: &[Line<'_>], found: Position, step: &Step) -> Position {
    if let Step::Key(k) = step {
        if let Some(line) = lines.iter().find(|l| l.number == found.line) {
            let needle = format!("{k}:");
            if let Some(pos) = line.text.find(&needle) {
                return Position {
                    line: found.line,
                    column: line.indent + pos + 1,
                };
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Step {
        Step::Key(s.to_owned())
    }

    #[test]
    fn finds_nested_block_keys_and_flow_keys() {
        let src = "# comment\nrules:\n  users:\n    fields:\n      email:\n        transform: hash_emial\n      name: {transform: hash, lenght: 3}\nexclusions:\n  - a\n  - b\n";
        let p = locate(
            src,
            &[
                key("rules"),
                key("users"),
                key("fields"),
                key("email"),
                key("transform"),
            ],
        );
        assert_eq!((p.line, p.column), (6, 9));
        let p = locate(
            src,
            &[
                key("rules"),
                key("users"),
                key("fields"),
                key("name"),
                key("lenght"),
            ],
        );
        assert_eq!((p.line, p.column), (7, 31));
        let p = locate(src, &[key("exclusions"), Step::Index(1)]);
        assert_eq!((p.line, p.column), (10, 3));
    }
}
