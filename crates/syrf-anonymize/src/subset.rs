//! Subsets that keep references valid need the dump read before it is rewritten (SQL foreign
//! keys: [`sql_dump::plan_subset`], twice; MongoDB declared `references:`:
//! [`mongo_archive::subset::plan_subset`], once): a file input is read again from its path; a pipe is spooled
//! once to an unnamed temporary file in `$TMPDIR` (removed by the system on every exit path,
//! as it has no name), unless [`crate::Options::no_spool`] refuses it. Either way the rewrite
//! reads the same bytes, so a pipe and a file give the same output.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use anonymize_core::Anonymizer;
use flate2::read::MultiGzDecoder;
use mongo_archive::subset::ArchiveSubset;
use sql_dump::SubsetPlan;

use crate::error::{Error, Pass};
use crate::format_base::{mongo_options, sql_options, Format};
use crate::input::CHUNK;
use crate::Options;

/// What a subset removes, per format.
#[derive(Clone)]
pub(crate) enum Plan {
    /// SQL rows.
    Sql(Arc<SubsetPlan>),
    /// Archive documents.
    Mongo(Arc<ArchiveSubset>),
}

impl Plan {
    /// What each foreign key or reference removed, for the summary.
    pub(crate) fn report(&self) -> Vec<String> {
        match self {
            Plan::Sql(p) => p.report().to_vec(),
            Plan::Mongo(p) => p.report().to_vec(),
        }
    }
}

/// The stream the rewrite reads, and the subset's plan when the rules need one.
pub(crate) struct Prepared<'a> {
    /// What the rewrite reads.
    pub(crate) reader: Box<dyn Read + Send + 'a>,
    /// The rows to remove.
    pub(crate) plan: Option<Plan>,
    /// Reading the dump for the subset failed: the rewrite runs without a plan, so that a
    /// broken input fails there as it would without a subset (with the output up to the
    /// error), and this error is returned if it does not.
    pub(crate) failed: Option<Error>,
}

fn show(options: &Options, what: &str) {
    if let Some(current) = &options.current_collection {
        if let Ok(mut c) = current.lock() {
            *c = what.to_owned();
        }
    }
}

/// The input file, decompressed when it is gzip.
fn open_plain(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut file = BufReader::with_capacity(CHUNK, File::open(path)?);
    if crate::input::is_gzip(file.fill_buf()?) {
        return Ok(Box::new(BufReader::with_capacity(
            CHUNK,
            MultiGzDecoder::new(file),
        )));
    }
    Ok(Box::new(file))
}

/// Plans the subset over the dump `open` gives from its start.
fn make_plan<R: BufRead>(
    format: Format,
    mut open: impl FnMut() -> io::Result<R>,
    anon: &Anonymizer,
    options: &Options,
) -> Result<Plan, Error> {
    if format == Format::Mongo {
        let input = open().map_err(|source| Error::Reread {
            spooled: false,
            gzip_input: false,
            source,
        })?;
        let rewrite = mongo_options(options);
        return mongo_archive::subset::plan_subset(input, anon, &rewrite)
            .map(|p| Plan::Mongo(Arc::new(p)))
            .map_err(|source| Error::Archive {
                pass: Pass::Subset,
                gzip_input: false,
                source,
            });
    }
    sql_dump::plan_subset(open, anon, &sql_options(format, options))
        .map(|p| Plan::Sql(Arc::new(p)))
        .map_err(|source| Error::Sql {
            format,
            pass: Pass::Subset,
            gzip_input: false,
            source,
        })
}

/// Whether a run with `options` on a PostgreSQL archive would need a subset (then refused:
/// [`Error::PgArchiveSubset`], as its foreign keys are not followed yet, and a limit without
/// them would give an archive whose constraints fail on restore).
pub(crate) fn pg_archive_needs_subset(anon: &Anonymizer, options: &Options) -> bool {
    sql_dump::subset_needed(anon, &sql_options(Format::Postgres, options))
}

/// Plans the subset when `format` and the rules need one; `input` is the decompressed dump.
pub(crate) fn prepare<'a>(
    format: Format,
    input: impl Read + Send + 'a,
    anon: &Anonymizer,
    options: &Options,
) -> Result<Prepared<'a>, Error> {
    let needed = match format {
        Format::Mongo => mongo_archive::subset::subset_needed(anon),
        _ => sql_dump::subset_needed(anon, &sql_options(format, options)),
    };
    if needed && matches!(format, Format::PgCustom | Format::PgTar) {
        return Err(Error::PgArchiveSubset);
    }
    if !needed {
        return Ok(Prepared {
            reader: Box::new(input),
            plan: None,
            failed: None,
        });
    }
    if let Some(path) = &options.input_path {
        show(
            options,
            "(subset: reading the input file twice for its foreign keys)",
        );
        let plan = make_plan(format, || open_plain(path), anon, options);
        return Ok(planned(Box::new(input), plan));
    }
    if options.no_spool {
        return Err(Error::NoSpool);
    }
    show(
        options,
        "(subset: spooling the input to a temporary file in $TMPDIR)",
    );
    let spool = spool(input).map_err(|source| Error::Spool {
        dir: std::env::temp_dir(),
        source,
    })?;
    let open = || -> io::Result<BufReader<File>> {
        let mut f = spool.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        Ok(BufReader::with_capacity(CHUNK, f))
    };
    show(
        options,
        "(subset: reading the spooled input twice for its foreign keys)",
    );
    let plan = make_plan(format, open, anon, options);
    let reader = open().map_err(|source| Error::Reread {
        spooled: true,
        gzip_input: false,
        source,
    })?;
    Ok(planned(Box::new(reader), plan))
}

fn planned(reader: Box<dyn Read + Send + '_>, plan: Result<Plan, Error>) -> Prepared<'_> {
    match plan {
        Ok(plan) => Prepared {
            reader,
            plan: Some(plan),
            failed: None,
        },
        Err(e) => Prepared {
            reader,
            plan: None,
            failed: Some(e),
        },
    }
}

/// Copies `input` to an unnamed temporary file.
fn spool(mut input: impl Read) -> io::Result<File> {
    let file = tempfile::tempfile()?;
    let mut w = BufWriter::with_capacity(CHUNK, file);
    io::copy(&mut input, &mut w)?;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())
}
