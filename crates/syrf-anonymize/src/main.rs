//! `syrf-anonymize`: the command-line front of [`syrf_anonymize::anonymize`]. See
//! `syrf-anonymize --help` and README.md.

mod cli;
#[cfg(test)]
mod doc_commands;
mod key;
mod output;
mod progress;
mod shell;
mod subcommands;

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use clap::Parser;

use anonymize_core::{Anonymizer, KeyMode};
use syrf_anonymize::{anonymize, load_rules, Compression, Error, Options, Summary};

use cli::{exit, Cli, Command, CompressArg, LayoutArg, OplogArg, RunArgs};
use output::Destination;
use syrf_anonymize::dump_dir::{looks_like_dump_dir, DirInput, DirOutput};

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Check { rules }) => check(&rules),
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

/// `check --rules FILE`.
fn check(rules: &Path) -> i32 {
    match load_rules(rules) {
        Ok(set) => {
            let fields: usize = set.tables.iter().map(|t| t.fields.len()).sum();
            eprintln!(
                "{}: ok ({} collections/tables with {} field rules, {} exclusions, {} size limits)",
                rules.display(),
                set.tables.len(),
                fields,
                set.exclusions.len(),
                set.size_limits.len()
            );
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("syrf-anonymize: {e}");
            e.exit_code()
        }
    }
}

/// The default command: runs, prints the summary and the error, writes the report.
fn run_command(args: &RunArgs) -> i32 {
    if args.key.is_some() {
        eprintln!(
            "syrf-anonymize: error: there is no --key flag: a key is never given on the command line, \
             where `ps` and shell history would show it; use --key-file PATH or the SYRF_ANONYMIZE_KEY \
             environment variable"
        );
        return exit::USAGE;
    }
    let result = run(args);
    let summary = match &result {
        Ok(s) => Some(s),
        Err(Error::Strict(s)) => Some(&**s),
        Err(_) => None,
    };
    if let Some(summary) = summary {
        if !args.quiet {
            eprint!("{}", summary.to_text());
        }
        if let Some(path) = &args.report {
            let written = serde_json::to_vec_pretty(summary)
                .map_err(io::Error::other)
                .and_then(|json| std::fs::write(path, json));
            if let Err(e) = written {
                eprintln!(
                    "syrf-anonymize: error: cannot write the report {}: {e}",
                    path.display()
                );
                return exit::FAILURE;
            }
        }
    }
    match result {
        Ok(_) => exit::SUCCESS,
        // Like a program killed by SIGPIPE: the reader went away, nothing to say.
        Err(Error::BrokenPipe) => exit::BROKEN_PIPE,
        Err(e) => {
            eprintln!("syrf-anonymize: error: {e}");
            e.exit_code()
        }
    }
}

fn run(args: &RunArgs) -> Result<Summary, Error> {
    let rules_path = args
        .rules
        .as_deref()
        .ok_or_else(|| Error::Usage("--rules FILE is required (see --help)".into()))?;
    let mut rules = load_rules(rules_path)?;
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
    let (input, size, dir_gzip) = open_input(&args.input)?;
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
        Output::Directory(DirOutput::create(&args.output, dir_files_gzip).map_err(cannot_create)?)
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
    };
    let result = anonymize(input, &mut destination, &anon, &options);
    if let Some(p) = progress {
        p.finish();
    }
    match result {
        Ok(summary) => {
            destination.commit().map_err(|e| {
                Error::Output(format!(
                    "cannot write the output {}: {e}",
                    args.output.display()
                ))
            })?;
            Ok(summary)
        }
        Err(e) => {
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
    };
    syrf_anonymize::pg_archive::anonymize_pg_directory(&args.input, &args.output, anon, &options)
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
            Output::Directory(d) => d.commit(),
        }
    }

    fn abandon(self) {
        match self {
            Output::File(d) => d.abandon(),
            Output::Directory(d) => d.abandon(),
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
    if meta.is_dir() {
        if !looks_like_dump_dir(path) {
            return Err(cannot(
                "it is a directory, and not a mongodump directory (no <db>/*.bson, \
                 *.metadata.json, oplog.bson or prelude.json)"
                    .into(),
            ));
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
