//! Name detection for `scan`: first and last names from the `fake` crate's dictionaries
//! (English, French and Brazilian Portuguese), matched case-insensitively.
//!
//! A single value is a name when it has 1 to 3 words (at most 64 characters, letters,
//! apostrophes, hyphens and dots only) and every word is a dictionary name. A field or column is
//! reported as holding names only when at least [`MIN_SHARE_PERCENT`]% of its non-empty string
//! values, and at least [`MIN_MATCHES`] of them, are names: common words that happen to be
//! names ("Will", "Hope", "Green") in free text do not flood the report. Longer text counts
//! when it mentions a full name (a capitalised first name, then a capitalised last name).

use std::collections::HashSet;
use std::sync::OnceLock;

use fake::locales::{Data, EN, FR_FR, PT_BR};

/// Minimum share of a path's non-empty string values that must be names.
pub const MIN_SHARE_PERCENT: u64 = 30;
/// Minimum number of name values at a path.
pub const MIN_MATCHES: u64 = 3;
/// Longest value checked for a name, in bytes.
const MAX_LEN: usize = 64;
/// Most words in a value checked for a name.
const MAX_WORDS: usize = 3;

/// Which dictionary a value's words come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// One word, a first name (possibly also a last name).
    First,
    /// One word, a last name only.
    Last,
    /// Two or three words, all names.
    Full,
    /// Longer text mentioning a full name: a capitalised first name followed by a capitalised
    /// last name (`… thank Mary Smith for …`).
    InText,
}

struct Dictionaries {
    first: HashSet<String>,
    last: HashSet<String>,
}

fn dictionaries() -> &'static Dictionaries {
    static DICT: OnceLock<Dictionaries> = OnceLock::new();
    DICT.get_or_init(|| {
        let lower = |list: &[&[&str]]| -> HashSet<String> {
            list.iter()
                .flat_map(|l| l.iter())
                .map(|n| n.to_lowercase())
                .collect()
        };
        Dictionaries {
            first: lower(&[
                <EN as Data>::NAME_FIRST_NAME,
                <FR_FR as Data>::NAME_FIRST_NAME,
                <PT_BR as Data>::NAME_FIRST_NAME,
            ]),
            last: lower(&[
                <EN as Data>::NAME_LAST_NAME,
                <FR_FR as Data>::NAME_LAST_NAME,
                <PT_BR as Data>::NAME_LAST_NAME,
            ]),
        }
    })
}

/// Whether `s` reads as a name, and of which kind.
pub fn name_kind(s: &str) -> Option<NameKind> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_LEN {
        return None;
    }
    if !s
        .chars()
        .all(|c| c.is_alphabetic() || c.is_whitespace() || matches!(c, '\'' | '-' | '.' | ','))
    {
        return None;
    }
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > MAX_WORDS {
        return None;
    }
    let d = dictionaries();
    let mut first = true;
    let mut last = true;
    for w in &words {
        let w = w.to_lowercase();
        let parts = || w.split('-').filter(|p| !p.is_empty());
        let in_first = d.first.contains(&w) || parts().all(|p| d.first.contains(p));
        let in_last = d.last.contains(&w) || parts().all(|p| d.last.contains(p));
        if !in_first && !in_last {
            return None;
        }
        first &= in_first;
        last &= in_last;
    }
    Some(if words.len() > 1 {
        NameKind::Full
    } else if first {
        NameKind::First
    } else {
        debug_assert!(last);
        NameKind::Last
    })
}

/// Whether longer text mentions a full name: two consecutive words, each capitalised (an
/// upper-case letter then lower-case ones), a dictionary first name then a dictionary last
/// name.
pub fn mentions_full_name(s: &str) -> bool {
    let d = dictionaries();
    let capitalised = |w: &str| {
        let mut c = w.chars();
        c.next().is_some_and(char::is_uppercase) && c.all(|c| c.is_lowercase() || c == '\'')
    };
    let mut prev_first = false;
    for token in s.split(' ') {
        let w = token.trim_end_matches([',', '.', ';', ':', ')', '!', '?']);
        if !capitalised(w) {
            prev_first = false;
            continue;
        }
        let lower = w.to_lowercase();
        if prev_first && d.last.contains(&lower) {
            return true;
        }
        // A first name that ends a sentence or clause is not followed by its last name.
        prev_first = w.len() == token.len() && d.first.contains(&lower);
    }
    false
}

/// Name counts of one path: how many non-empty strings, how many of each name kind.
#[derive(Debug, Clone, Default)]
pub struct NameStats {
    /// Non-empty string values seen.
    pub values: u64,
    /// Values that are one first name.
    pub first: u64,
    /// Values that are one last name (not a first name).
    pub last: u64,
    /// Values of two or three name words.
    pub full: u64,
    /// Longer values mentioning a full name.
    pub in_text: u64,
    /// Values shaped like a person's name whether or not the dictionaries know it (1 to 4
    /// capitalised words of letters, apostrophes, hyphens and dots: `García López`,
    /// `O'Connor`), for fields whose name says they hold names.
    pub shaped: u64,
}

impl NameStats {
    /// Counts one string value; returns true when it is a name or shaped like one.
    pub fn add(&mut self, s: &str) -> bool {
        if s.trim().is_empty() {
            return false;
        }
        self.values += 1;
        let shaped = name_shaped(s);
        self.shaped += u64::from(shaped);
        match name_kind(s) {
            Some(NameKind::First) => self.first += 1,
            Some(NameKind::Last) => self.last += 1,
            Some(NameKind::Full) => self.full += 1,
            Some(NameKind::InText) => self.in_text += 1,
            None if mentions_full_name(s) => self.in_text += 1,
            None => return shaped,
        }
        true
    }

    /// Name values counted.
    pub fn matches(&self) -> u64 {
        self.first + self.last + self.full + self.in_text
    }

    /// The kind to report when the path passes the thresholds: full names when they are at
    /// least half of the matches, else the more frequent of first and last names.
    pub fn verdict(&self) -> Option<NameKind> {
        let m = self.matches();
        if m < MIN_MATCHES || m * 100 < self.values * MIN_SHARE_PERCENT {
            return None;
        }
        Some(if self.in_text * 2 >= m {
            NameKind::InText
        } else if self.full * 2 >= m {
            NameKind::Full
        } else if self.first >= self.last {
            NameKind::First
        } else {
            NameKind::Last
        })
    }

    /// The verdict for a field whose own name says it holds people's names (`last_name`,
    /// `surname`, `first_name`, `full_name`, …, or `name` in a table of people such as
    /// `users`), when the dictionaries alone did not decide: at least half of its values are
    /// shaped like names. Names from anywhere in the world count, not only dictionary ones.
    pub fn named_field_verdict(&self, table: &str, path: &str) -> Option<NameKind> {
        let hint = person_name_field(table, path)?;
        (self.shaped > 0 && self.shaped * 2 >= self.values).then_some(hint)
    }
}

/// Fields that hold a person's name by their own name, and which kind.
const NAME_FIELDS: &[(&str, NameKind)] = &[
    ("first_name", NameKind::First),
    ("firstname", NameKind::First),
    ("given_name", NameKind::First),
    ("givenname", NameKind::First),
    ("forename", NameKind::First),
    ("last_name", NameKind::Last),
    ("lastname", NameKind::Last),
    ("surname", NameKind::Last),
    ("family_name", NameKind::Last),
    ("familyname", NameKind::Last),
    ("full_name", NameKind::Full),
    ("fullname", NameKind::Full),
    ("display_name", NameKind::Full),
    ("displayname", NameKind::Full),
    ("contact_name", NameKind::Full),
    ("customer_name", NameKind::Full),
];

/// Tables whose `name` column is a person's name.
const PEOPLE_TABLES: &[&str] = &[
    "users",
    "user",
    "people",
    "person",
    "persons",
    "customers",
    "customer",
    "contacts",
    "contact",
    "members",
    "member",
    "employees",
    "employee",
    "authors",
    "author",
    "accounts",
    "profiles",
    "profile",
    "staff",
    "patients",
    "students",
    "clients",
    "investigators",
];

/// The name kind a field's own name promises (case and `_` ignored: `LastName`, `last_name`).
fn person_name_field(table: &str, path: &str) -> Option<NameKind> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], "");
    let step = norm(path.rsplit('.').next().unwrap_or(path));
    if let Some((_, k)) = NAME_FIELDS.iter().find(|(f, _)| norm(f) == step) {
        return Some(*k);
    }
    let table = norm(table.rsplit('.').next().unwrap_or(table));
    let table = table.strip_prefix("pm").unwrap_or(&table);
    (step == "name" && PEOPLE_TABLES.iter().any(|t| norm(t) == table)).then_some(NameKind::Full)
}

/// 1 to 4 capitalised words of letters, apostrophes, hyphens and dots, at most 64 bytes.
fn name_shaped(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_LEN {
        return false;
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    (1..=4).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars()
                    .all(|c| c.is_alphabetic() || matches!(c, '\'' | '-' | '.' | '’'))
        })
}

/// A one-word verdict refined by the field's own name: a last step mentioning `last`,
/// `surname` or `family` means last names, `first`, `given` or `forename` first names (many
/// surnames are also first names in the dictionaries).
pub fn hinted(path: &str, kind: NameKind) -> NameKind {
    if matches!(kind, NameKind::Full | NameKind::InText) {
        return kind;
    }
    let step = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    if ["last", "surname", "family"]
        .iter()
        .any(|w| step.contains(w))
    {
        NameKind::Last
    } else if ["first", "given", "forename"]
        .iter()
        .any(|w| step.contains(w))
    {
        NameKind::First
    } else {
        kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_names_case_insensitive() {
        assert_eq!(name_kind("Mary"), Some(NameKind::First));
        assert_eq!(name_kind("PENELOPE"), Some(NameKind::First));
        assert_eq!(name_kind("Abernathy"), Some(NameKind::Last));
        assert_eq!(name_kind(" mary  smith "), Some(NameKind::Full));
        assert_eq!(name_kind("Smith, Mary"), Some(NameKind::Full));
        assert_eq!(name_kind("Mary-Jane"), Some(NameKind::First));
        assert_eq!(name_kind("ACADEMY DINOSAUR"), None);
        assert_eq!(name_kind("Mary had a little lamb"), None);
        assert_eq!(name_kind("Mary42"), None);
        assert_eq!(name_kind(""), None);
    }

    #[test]
    fn full_names_inside_text() {
        assert!(mentions_full_name("We thank Mary Smith for the rats."));
        assert!(mentions_full_name("Reviewed by Alice Brown, PhD"));
        assert!(!mentions_full_name("we thank mary smith"));
        assert!(!mentions_full_name("Ask Mary. Smith replied"));
        assert!(!mentions_full_name("A review of animal studies in rats"));
        assert!(!mentions_full_name("MARY SMITH"));
        let mut s = NameStats::default();
        for _ in 0..3 {
            s.add("Samples were collected by John Miller at the lab.");
        }
        assert_eq!(s.verdict(), Some(NameKind::InText));
    }

    #[test]
    fn thresholds() {
        let mut s = NameStats::default();
        for v in ["Mary", "John", ""] {
            s.add(v);
        }
        assert_eq!(s.verdict(), None, "below the minimum count");
        s.add("Linda");
        assert_eq!(s.verdict(), Some(NameKind::First));
        for _ in 0..10 {
            s.add("a review of animal studies");
        }
        assert_eq!(s.verdict(), None, "3 of 13 is below 30%");
        let mut full = NameStats::default();
        for v in ["Mary Smith", "John Brown", "Linda"] {
            full.add(v);
        }
        assert_eq!(full.verdict(), Some(NameKind::Full));
        assert_eq!(
            hinted("customer.last_name", NameKind::First),
            NameKind::Last
        );
        assert_eq!(hinted("Surname", NameKind::First), NameKind::Last);
        assert_eq!(hinted("given", NameKind::Last), NameKind::First);
        assert_eq!(hinted("who", NameKind::Last), NameKind::Last);
    }
}
