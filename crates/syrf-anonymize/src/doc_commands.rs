//! Every `syrf-anonymize …` command line written in README.md, docs/, CONTRIBUTING.md, the Dockerfiles and deploy/ is
//! parsed with the real argument parser, so the documentation cannot drift from the CLI.
//!
//! Where commands are looked for: in Markdown, fenced code blocks and inline code spans; in
//! YAML, shell and Dockerfiles, every line that is not a comment, plus comment lines indented
//! as examples (`#   command`) and code spans (`` `command` ``) in other comments. A command
//! ends at an unquoted `|`, `&&`, `;`, redirection, `)` or backtick; `\` continues it on the
//! next line. Synopses (`[--flag]`, `<arg>`, `a|b`) are not commands and are skipped.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::Cli;

const NAME: &str = "syrf-anonymize";

/// One command found: where, and its words after the program name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    place: String,
    words: Vec<String>,
}

/// Lines with `\` continuations joined (a continued comment line loses its `#`).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let piece = match &current {
            Some(_) => line.trim_start().trim_start_matches('#').trim_start(),
            None => line,
        };
        let (start, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        match piece.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                current = Some((start, acc));
            }
            None => {
                acc.push_str(piece);
                out.push((start, acc));
            }
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

/// Backtick-delimited spans of a line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// Splits shell words up to the end of the command; `None` when the text is a synopsis.
fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(q),
                    }
                }
            }
            '|' | ';' | '>' | '<' | ')' | '`' | '&' => break,
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '[' | '{' if !in_word => return None,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    // `2>` and the like: a trailing bare file-descriptor number is not an argument.
    if words
        .last()
        .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        words.pop();
    }
    if words.iter().any(|w| w.contains("...") || w.contains('…')) {
        return None;
    }
    Some(words)
}

/// The commands in one piece of code.
fn commands_in(code: &str, place: &str, out: &mut Vec<Found>) {
    let mut from = 0;
    while let Some(pos) = code[from..].find(NAME) {
        let at = from + pos;
        let end = at + NAME.len();
        from = end;
        let before = code[..at].chars().next_back();
        let after = code[end..].chars().next();
        let starts_word = before.is_none_or(|c| c.is_whitespace() || "|(`\"'$".contains(c));
        let ends_word = after.is_none_or(|c| c.is_whitespace() || c == '`' || c == '|');
        if !starts_word || !ends_word {
            continue;
        }
        let prefix = code[..at].trim_end();
        let rest = if prefix.ends_with("-p") || prefix.ends_with("--package") {
            // `cargo run -p syrf-anonymize -- ARGS`; other cargo commands (`cargo test -p
            // syrf-anonymize -- --include-ignored`) pass their arguments elsewhere.
            if !prefix.contains("cargo run") {
                continue;
            }
            match code[end..].find(" -- ") {
                Some(d) => &code[end + d + 4..],
                None => continue,
            }
        } else if ["install", "--bin", "-t", "--tag"]
            .iter()
            .any(|p| prefix.ends_with(p))
        {
            // `cargo install syrf-anonymize`, `docker build -t syrf-anonymize .`
            continue;
        } else {
            &code[end..]
        };
        if let Some(words) = shell_words(rest) {
            out.push(Found {
                place: place.to_owned(),
                words,
            });
        }
    }
}

/// The commands of a Markdown file.
fn markdown(text: &str, file: &str) -> Vec<Found> {
    let mut out = Vec::new();
    let mut in_fence = false;
    // A ```text block is a picture or output (a layer diagram), not commands.
    let mut in_text = false;
    for (n, line) in logical_lines(text) {
        let place = format!("{file}:{n}");
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            in_text = in_fence && t[3..].trim() == "text";
            continue;
        }
        if in_text {
            continue;
        }
        if in_fence {
            // A shell comment in a code block is prose.
            let code = t.split(" # ").next().unwrap_or(t);
            if !code.starts_with('#') {
                commands_in(code, &place, &mut out);
            }
        } else {
            for span in code_spans(&line) {
                commands_in(span, &place, &mut out);
            }
        }
    }
    out
}

/// The commands of a YAML file, shell script or Dockerfile.
fn config(text: &str, file: &str) -> Vec<Found> {
    let mut out = Vec::new();
    for (n, line) in logical_lines(text) {
        let place = format!("{file}:{n}");
        let t = line.trim_start();
        match t.strip_prefix('#') {
            Some(comment) if comment.starts_with("   ") => {
                commands_in(comment.trim_start(), &place, &mut out)
            }
            Some(comment) => {
                for span in code_spans(comment) {
                    commands_in(span, &place, &mut out);
                }
            }
            None => commands_in(&line, &place, &mut out),
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn parse(words: &[String]) -> Result<(), clap::Error> {
        match Cli::try_parse_from(std::iter::once(NAME.to_owned()).chain(words.iter().cloned())) {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn all_commands() -> Vec<Found> {
        let root = root();
        let mut found = markdown(
            &std::fs::read_to_string(root.join("README.md")).unwrap(),
            "README.md",
        );
        let mut files = vec![root.join("Dockerfile"), root.join("Dockerfile.mongo")];
        files_under(&root.join("deploy"), &mut files);
        files_under(&root.join("docs"), &mut files);
        files.push(root.join("CONTRIBUTING.md"));
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let name = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
            if name.ends_with(".md") {
                found.extend(markdown(&text, &name));
            } else {
                found.extend(config(&text, &name));
            }
        }
        found
    }

    #[test]
    fn every_documented_command_line_parses() {
        let found = all_commands();
        let mut failures = Vec::new();
        for f in &found {
            eprintln!("{}: syrf-anonymize {}", f.place, f.words.join(" "));
            if let Err(e) = parse(&f.words) {
                failures.push(format!(
                    "{}: syrf-anonymize {}\n{}",
                    f.place,
                    f.words.join(" "),
                    e.render()
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let from = |prefix: &str| found.iter().filter(|f| f.place.starts_with(prefix)).count();
        assert!(from("README.md") >= 10, "README: {}", from("README.md"));
        assert!(from("deploy/") >= 8, "deploy/: {}", from("deploy/"));
        assert!(from("Dockerfile") >= 1);
        for sub in ["inspect", "preview-config", "completions", "man", "check"] {
            assert!(
                found
                    .iter()
                    .any(|f| f.words.first().map(String::as_str) == Some(sub)),
                "no documented `syrf-anonymize {sub}`"
            );
        }
        assert!(
            found
                .iter()
                .any(|f| f.place.contains("snapshot") && f.words.iter().any(|w| w == "--strict")),
            "the snapshot job runs --strict"
        );
    }

    #[test]
    fn extraction_finds_commands_and_rejects_drift() {
        let text = "steps:\n  - run: |\n      gsutil cat x | syrf-anonymize --rules r.yaml --strict \\\n        --output o.gz 2>err | cat\n\
                    # `syrf-anonymize inspect DUMP` is prose with code\n# syrf-anonymize in prose is ignored\n\
                    #   syrf-anonymize --rulez x\n  name: syrf-anonymize-rules\n  image: x/syrf-anonymize:1\n\
                    cargo run -p syrf-anonymize -- check --rules r.yaml\n";
        let found = config(text, "t.yaml");
        let words: Vec<String> = found.iter().map(|f| f.words.join(" ")).collect();
        assert_eq!(
            words,
            vec![
                "--rules r.yaml --strict --output o.gz",
                "inspect DUMP",
                "--rulez x",
                "check --rules r.yaml",
            ]
        );
        assert_eq!(found[0].place, "t.yaml:3");
        assert!(parse(&found[0].words).is_ok());
        assert!(parse(&found[1].words).is_ok());
        // A misspelt flag is caught.
        assert!(parse(&found[2].words).is_err());

        let md = "Run `syrf-anonymize completions bash`.\n\n```sh\nsyrf-anonymize [--rules FILE] [--strict]\n\
                  syrf-anonymize inspect --sample 3 dump.gz   # with values\n```\n";
        let words: Vec<String> = markdown(md, "x.md")
            .iter()
            .map(|f| f.words.join(" "))
            .collect();
        assert_eq!(
            words,
            vec!["completions bash", "inspect --sample 3 dump.gz"]
        );
    }
}
