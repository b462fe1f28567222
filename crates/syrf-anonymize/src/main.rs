//! `syrf-anonymize`: the command-line front of [`syrf_anonymize::anonymize`]. See
//! `syrf-anonymize --help` and README.md.

mod args;
mod cli;
#[cfg(test)]
mod doc_commands;
mod key;
mod observe_cli;
mod output;
mod pipes;
mod progress;
mod shell;
mod signals;
mod subcommands;

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use clap::Parser;

use anonymize_core::{Anonymizer, KeyMode};
use syrf_anonymize::{anonymize, load_rules, observe, Compression, Error, Options, Summary};

use args::{CompressArg, LayoutArg, OplogArg, RunArgs};
use cli::{Cli, Command};
use output::Destination;
use syrf_anonymize::dump_dir::{looks_like_dump_dir, DirInput, DirOutput};
use syrf_anonymize::exit;

fn main() {
    if cli::has_key_flag(std::env::args_os()) {
        eprintln!(
            "syrf-anonymize: error: there is no --key flag: a key is never given on the command line, \
             where `ps` and shell history would show it; use --key-file PATH or the SYRF_ANONYMIZE_KEY \
             environment variable"
        );
        std::process::exit(exit::USAGE);
    }
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Check {
            rules,
            allow_empty_rules,
        }) => check(&rules, allow_empty_rules),
        Some(Command::Verify(args)) => subcommands::verify_main(&args),
        Some(Command::Inspect(args)) => subcommands::inspect_main(&args),
        Some(Command::Scan(args)) => subcommands::scan_main(&args),
        Some(Command::PreviewConfig(args)) => subcommands::preview_config_main(&args),
        Some(Command::Completions(args)) => shell::completions_main(&args),
        Some(Command::Man(args)) => shell::man_main(&args),
        None => run_command(&cli.run),
    };
    std::process::exit(code);
}

/// `check --rules FILE`: every error of the file, or what it covers.
fn check(rules: &Path, allow_empty: bool) -> i32 {
    let text = match std::fs::read_to_string(rules) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "syrf-anonymize: cannot read the rules file {}: {e}",
                rules.display()
            );
            return exit::USAGE;
        }
    };
    match anonymize_core::RuleSet::from_yaml_all(&text, &rules.display().to_string()) {
        Ok(set) if set.covers_nothing() && !allow_empty => {
            eprintln!("syrf-anonymize: {}", covers_nothing(rules));
            exit::USAGE
        }
        Ok(set) => {
            let fields: usize = set.tables.iter().map(|t| t.fields.len()).sum();
            eprintln!(
                "{}: ok ({} collections/tables with {} field rules, {} exclusions, {} size limits{})",
                rules.display(),
                set.tables.len(),
                fields,
                set.exclusions.len(),
                set.size_limits.len(),
                if set.covers_nothing() {
                    "; covers nothing: a run copies the dump unchanged, with --allow-empty-rules"
                } else {
                    ""
                }
            );
            exit::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("syrf-anonymize: {e}");
            }
            if errors.len() > 1 {
                eprintln!(
                    "syrf-anonymize: {} errors in {}",
                    errors.len(),
                    rules.display()
                );
            }
            exit::USAGE
        }
    }
}

/// The refusal of a rules file that covers nothing.
fn covers_nothing(rules: &Path) -> String {
    format!(
        "{}: the rules cover nothing (no field rule, exclusion, schema_only table or size limit), \
         so a run would copy the whole dump unchanged; add rules, or give --allow-empty-rules \
         if an unchanged copy is meant",
        rules.display()
    )
}

/// Writes `--report FILE`: the summary when there is one, plus `error` and `exit_code` for a
/// failed run (messages never hold a value from the dump, nor the key).
fn write_report(
    path: &Path,
    summary: Option<&Summary>,
    error: Option<(&Error, i32)>,
) -> io::Result<()> {
    let mut json = match summary {
        Some(s) => serde_json::to_value(s).map_err(io::Error::other)?,
        None => serde_json::Value::Object(Default::default()),
    };
    if let (Some((e, code)), Some(map)) = (error, json.as_object_mut()) {
        map.insert("error".into(), e.to_string().into());
        map.insert("exit_code".into(), code.into());
    }
    let text = serde_json::to_vec_pretty(&json).map_err(io::Error::other)?;
    std::fs::write(path, text)
}

/// The default command: runs, prints the summary and the error, writes the report, then the
/// metrics and the audit line (`observe_cli`).
fn run_command(args: &RunArgs) -> i32 {
    let mut facts = match observe_cli::Facts::start(&args.observe) {
        Ok(f) => f,
        Err(message) => {
            eprintln!("syrf-anonymize: error: {message}");
            return exit::USAGE;
        }
    };
    let result = run(args, &mut facts);
    let (code, kind) = conclude(args, &result);
    let summary = match &result {
        Ok(s) => Some(s),
        Err(Error::Strict(s)) => Some(&**s),
        Err(_) => None,
    };
    facts.finish(args, summary, code, kind)
}

/// Prints the summary and the error and writes the report (also for a failed run, with the
/// error); returns the exit code and the error kind (`None` on success).
fn conclude(args: &RunArgs, result: &Result<Summary, Error>) -> (i32, Option<&'static str>) {
    let summary = match result {
        Ok(s) => Some(s),
        Err(Error::Strict(s)) => Some(&**s),
        Err(_) => None,
    };
    if let Some(summary) = summary {
        if !args.quiet {
            eprint!("{}", summary.to_text());
        }
    }
    let (code, kind) = match result {
        Ok(_) => (exit::SUCCESS, None),
        // Like a program killed by SIGPIPE: the reader went away, nothing to say.
        Err(e @ Error::BrokenPipe) => (exit::BROKEN_PIPE, Some(e.kind())),
        Err(e) => {
            eprintln!("syrf-anonymize: error: {e}");
            (e.exit_code(), Some(e.kind()))
        }
    };
    if let Some(path) = &args.report {
        let error = result.as_ref().err().map(|e| (e, code));
        if let Err(e) = write_report(path, summary, error) {
            eprintln!(
                "syrf-anonymize: error: cannot write the report {}: {e}",
                path.display()
            );
            if code == exit::SUCCESS {
                return (exit::FAILURE, Some(observe::KIND_REPORT));
            }
        }
    }
    (code, kind)
}

fn run(args: &RunArgs, facts: &mut observe_cli::Facts) -> Result<Summary, Error> {
    let rules_path = args
        .rules
        .as_deref()
        .ok_or_else(|| Error::Usage("--rules FILE is required (see --help)".into()))?;
    facts.rules(rules_path);
    let mut rules = load_rules(rules_path)?;
    if rules.covers_nothing() && !args.allow_empty_rules {
        return Err(Error::Usage(covers_nothing(rules_path)));
    }
    if let Some(list) = &args.collections {
        // `--collections` narrows what the rules file keeps.
        rules.collections = Some(match rules.collections.take() {
            Some(from_file) => list
                .iter()
                .filter(|c| from_file.contains(c))
                .cloned()
                .collect(),
            None => list.clone(),
        });
    }
    let key_mode = key::load(args.key_file.as_deref(), args.unkeyed)
        .map_err(|e| Error::Usage(e.to_string()))?;
    facts.key(&key_mode);
    if matches!(key_mode, KeyMode::Unkeyed) && !args.quiet {
        eprintln!(
            "syrf-anonymize: warning: running UNKEYED (--unkeyed): hashes are plain SHA-256, and anyone can confirm a guessed email or id by hashing it"
        );
    }
    let anon = Anonymizer::new(rules, key_mode)
        .map_err(|e| Error::Usage(format!("{}: {e}", rules_path.display())))?;

    if sql_dump::is_pg_directory(&args.input) {
        return pg_directory(args, &anon);
    }
    if let Some(summary) = dump_dir_files(args, &anon)? {
        return Ok(summary);
    }
    let (input, size, dir_gzip) = open_input(&args.input)?;
    let input = facts.input(input);
    let cannot_create = |e: io::Error| {
        Error::Output(format!(
            "cannot create the output {}: {e}",
            args.output.display()
        ))
    };
    let directory_out = match args.output_layout {
        LayoutArg::Archive => false,
        LayoutArg::Directory => true,
        LayoutArg::Auto => {
            let name = args.output.to_string_lossy();
            dir_gzip.is_some()
                && args.output != Path::new("-")
                && !name.ends_with(".archive")
                && !name.ends_with(".gz")
        }
    };
    if directory_out && args.output == Path::new("-") {
        return Err(Error::Usage(
            "--output-layout directory needs --output DIR (a directory cannot go to stdout)".into(),
        ));
    }
    // A directory output gets the archive stream uncompressed and gzips each file itself.
    let dir_files_gzip = match args.compress {
        CompressArg::Gzip => true,
        CompressArg::None => false,
        CompressArg::Auto => dir_gzip.unwrap_or(false),
    };
    let mut destination = if directory_out {
        let dir = DirOutput::create(&args.output, dir_files_gzip).map_err(cannot_create)?;
        signals::remove_on_signal(dir.partial_path());
        Output::Directory(dir)
    } else {
        Output::File(Destination::open(&args.output).map_err(cannot_create)?)
    };

    let read = Arc::new(AtomicU64::new(0));
    let current = Arc::new(Mutex::new(String::new()));
    let show_progress = !args.quiet && (args.progress || io::stderr().is_terminal());
    let progress = show_progress.then(|| {
        progress::Progress::start(
            read.clone(),
            args.input_size.or(size),
            args.progress && !io::stderr().is_terminal(),
            current.clone(),
        )
    });
    let options = Options {
        format: args.format.format(),
        compression: match args.compress {
            _ if directory_out => Compression::None,
            // An archive made from a gzip directory is gzip, as an archive input would be.
            CompressArg::Auto if dir_gzip == Some(true) => Compression::Gzip,
            CompressArg::Auto => Compression::Auto,
            CompressArg::Gzip => Compression::Gzip,
            CompressArg::None => Compression::None,
        },
        level: args.level.unwrap_or(6),
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        oplog: match args.oplog {
            OplogArg::Apply => syrf_anonymize::OplogMode::Apply,
            OplogArg::Drop => syrf_anonymize::OplogMode::Drop,
        },
        strict: args.strict,
        input_read: Some(read),
        threads: args
            .threads
            .map_or_else(syrf_anonymize::default_threads, |n| n as usize),
        current_collection: show_progress.then_some(current),
        input_path: (args.input != Path::new("-") && size.is_some()).then(|| args.input.clone()),
        no_spool: args.no_spool,
    };
    let mut writer = facts.output(&mut destination);
    let result = anonymize(input, &mut writer, &anon, &options);
    let written = writer.digest();
    if let Some(p) = progress {
        p.finish();
    }
    match result {
        Ok(summary) => {
            let committed = destination.commit();
            facts.output_done(written, committed.is_ok());
            committed.map_err(|e| {
                Error::Output(format!(
                    "cannot write the output {}: {e}",
                    args.output.display()
                ))
            })?;
            Ok(summary)
        }
        Err(e) => {
            facts.output_done(written, false);
            let refused = destination.refused_binary();
            destination.abandon();
            if refused {
                return Err(Error::Usage(
                    "refusing to write binary output (a mongodump archive or gzip) to a terminal: \
                     pipe it on, redirect it, or use --output FILE"
                        .into(),
                ));
            }
            Err(e)
        }
    }
}

/// A pg_dump directory archive in (`toc.dat`), a directory archive out.
fn pg_directory(args: &RunArgs, anon: &Anonymizer) -> Result<Summary, Error> {
    if args.output == Path::new("-") {
        return Err(Error::Usage(
            "a pg_dump directory archive is written to a directory: give --output DIR".into(),
        ));
    }
    let options = Options {
        format: None,
        compression: Compression::None,
        level: 6,
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        oplog: syrf_anonymize::OplogMode::Apply,
        strict: args.strict,
        input_read: None,
        threads: args
            .threads
            .map_or_else(syrf_anonymize::default_threads, |n| n as usize),
        current_collection: None,
        input_path: None,
        no_spool: args.no_spool,
    };
    if args.output.exists() {
        return Err(Error::Output(format!(
            "writing the output failed: the output directory {} exists",
            args.output.display()
        )));
    }
    let temp = partial_dir(&args.output)?;
    let inner = temp.join(args.output.file_name().unwrap_or("output".as_ref()));
    let result =
        syrf_anonymize::pg_archive::anonymize_pg_directory(&args.input, &inner, anon, &options)
            .and_then(|summary| {
                std::fs::rename(&inner, &args.output)
                    .map(|()| summary)
                    .map_err(|e| {
                        Error::Output(format!(
                            "cannot write the output {}: {e}",
                            args.output.display()
                        ))
                    })
            });
    let _ = std::fs::remove_dir_all(&temp);
    signals::forget_partial();
    result
}

/// A temporary `.NAME.XXXX.partial` directory beside the output directory `output`, which a
/// signal removes with everything in it until `signals::forget_partial`.
fn partial_dir(output: &Path) -> Result<std::path::PathBuf, Error> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let name = output
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempdir_in(&parent)
        .map_err(|e| {
            Error::Output(format!(
                "cannot create the output {}: {e}",
                output.display()
            ))
        })?
        .keep();
    signals::remove_on_signal(&temp);
    Ok(temp)
}

/// A mongodump directory in and a directory out on several threads: one collection file per
/// worker (`dump_dir::anonymize_dir_files`), written inside a partial directory renamed into
/// place on success. `None` (nothing written) when the run reads the directory as one
/// archive stream instead: one thread, an archive output, a target that is not an empty or
/// missing directory (the stream path reports it), an oplog, subsets.
fn dump_dir_files(args: &RunArgs, anon: &Anonymizer) -> Result<Option<Summary>, Error> {
    let threads = args
        .threads
        .map_or_else(syrf_anonymize::default_threads, |n| n as usize);
    if threads < 2
        || args.output == Path::new("-")
        || !args.input.is_dir()
        || !looks_like_dump_dir(&args.input)
    {
        return Ok(None);
    }
    let name = args.output.to_string_lossy();
    let directory_out = match args.output_layout {
        LayoutArg::Archive => false,
        LayoutArg::Directory => true,
        LayoutArg::Auto => !name.ends_with(".archive") && !name.ends_with(".gz"),
    };
    let target_free = match std::fs::read_dir(&args.output) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    if !directory_out || !target_free {
        return Ok(None);
    }
    let options = Options {
        format: args.format.format(),
        compression: Compression::None,
        level: args.level.unwrap_or(6),
        collections: args.collections.clone(),
        keep_users: args.keep_users,
        oplog: match args.oplog {
            OplogArg::Apply => syrf_anonymize::OplogMode::Apply,
            OplogArg::Drop => syrf_anonymize::OplogMode::Drop,
        },
        strict: args.strict,
        input_read: None,
        threads,
        current_collection: None,
        input_path: None,
        no_spool: args.no_spool,
    };
    let gzip = match args.compress {
        CompressArg::Gzip => Some(true),
        CompressArg::None => Some(false),
        CompressArg::Auto => None,
    };
    // Progress counts the archive bytes every worker reads (no total: they are not the
    // files' sizes).
    let read = Arc::new(AtomicU64::new(0));
    let show_progress = !args.quiet && (args.progress || io::stderr().is_terminal());
    let progress = show_progress.then(|| {
        progress::Progress::start(
            read.clone(),
            None,
            args.progress && !io::stderr().is_terminal(),
            Arc::new(Mutex::new(String::new())),
        )
    });
    let options = Options {
        input_read: Some(read),
        ..options
    };
    let temp = partial_dir(&args.output)?;
    let result =
        syrf_anonymize::dump_dir::anonymize_dir_files(&args.input, &temp, gzip, anon, &options)
            .and_then(|summary| {
                let Some(summary) = summary else {
                    return Ok(None);
                };
                if args.output.is_dir() {
                    let _ = std::fs::remove_dir(&args.output);
                }
                std::fs::rename(&temp, &args.output)
                    .map(|()| Some(summary))
                    .map_err(|e| {
                        Error::Output(format!(
                            "cannot write the output {}: {e}",
                            args.output.display()
                        ))
                    })
            });
    if let Some(p) = progress {
        p.finish();
    }
    let _ = std::fs::remove_dir_all(&temp);
    signals::forget_partial();
    result
}

/// Where a run writes: a file, stdout or device, or a mongodump directory.
enum Output {
    File(Destination),
    Directory(DirOutput),
}

impl io::Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File(d) => d.write(buf),
            Output::Directory(d) => d.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File(d) => d.flush(),
            Output::Directory(d) => d.flush(),
        }
    }
}

impl Output {
    fn commit(self) -> io::Result<()> {
        match self {
            Output::File(d) => d.commit(),
            Output::Directory(d) => {
                let committed = d.commit();
                signals::forget_partial();
                committed
            }
        }
    }

    fn abandon(self) {
        match self {
            Output::File(d) => d.abandon(),
            Output::Directory(d) => {
                d.abandon();
                signals::forget_partial();
            }
        }
    }

    fn refused_binary(&self) -> bool {
        match self {
            Output::File(d) => d.refused_binary(),
            Output::Directory(_) => false,
        }
    }
}

/// Opens the input (`-` is stdin) and tells its size when known (a regular file). A mongodump
/// directory is read as an archive stream; then the third value says whether its files are
/// gzip.
type Input = (Box<dyn Read + Send>, Option<u64>, Option<bool>);

fn open_input(path: &Path) -> Result<Input, Error> {
    if path == Path::new("-") {
        if io::stdin().is_terminal() {
            return Err(Error::Usage(
                "no input: stdin is a terminal; pipe a dump in or give --input PATH".into(),
            ));
        }
        use std::os::fd::AsFd;
        // Standard input as a plain file, without `io::stdin()`'s small buffer and lock.
        let stdin = File::from(
            io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?,
        );
        pipes::grow_pipe(&stdin);
        let size = stdin
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        return Ok((Box::new(stdin), size, None));
    }
    let cannot =
        |why: String| Error::Usage(format!("cannot open the input {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if meta.is_dir() && sql_dump::is_pg_directory(path) {
        // A run rewrites it before this point; the checks read its SQL text.
        let sql = syrf_anonymize::pg_archive::directory_sql(path)?;
        return Ok((Box::new(sql), None, None));
    }
    if meta.is_dir() {
        if !looks_like_dump_dir(path) {
            let advice = syrf_anonymize::lookalike::describe_directory(path);
            return Err(cannot(advice.unwrap_or_else(|| {
                "it is a directory, and not a mongodump directory (no <db>/*.bson, \
                 *.metadata.json, oplog.bson or prelude.json)"
                    .into()
            })));
        }
        let dir = DirInput::open(path)
            .map_err(|e| Error::Usage(format!("bad mongodump directory: {e}")))?;
        let (size, gzip) = (dir.size, dir.gzip);
        // Progress counts archive bytes: the directory's size is only a hint for gzip files.
        return Ok((Box::new(dir), (!gzip).then_some(size), Some(gzip)));
    }
    let file = File::open(path).map_err(|e| cannot(e.to_string()))?;
    Ok((Box::new(file), meta.is_file().then_some(meta.len()), None))
}
