//! The output stage of a run: optional parallel gzip, the archive terminator held back until
//! success, and the marks a failed run leaves so that nothing downstream restores it by accident.

use std::io::{self, BufWriter, Write};

use crate::formats::Format;
use crate::input::CHUNK;
use crate::pgzip::ParallelGzip;

/// A gzip member header with no data after it: every gzip reader (gunzip, Go's `gzip.Reader`
/// in mongorestore, flate2) reports an unexpected end of stream on it.
const BROKEN_GZIP_MEMBER: [u8; 10] = [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff];

/// Writes at least this long go to the output as they are (after the bytes buffered before
/// them), not copied through the buffer: the format crates write in blocks of 64 KiB and more
/// (the SQL rewriter's output buffer, a batch of rows rewritten on a worker, an archive's
/// output buffer), which a `BufWriter` of [`CHUNK`] would copy once more.
const PASS_THROUGH: usize = 32 << 10;

/// The uncompressed output of a run.
pub(crate) struct Sink<W: Write> {
    stage: Stage<W>,
    /// How many final bytes are held back until [`Sink::commit`] (the archive's terminator).
    hold: usize,
    held: Vec<u8>,
    written: u64,
}

enum Stage<W: Write> {
    Plain(BufWriter<W>),
    Gzip(ParallelGzip<BufWriter<W>>),
}

impl<W: Write> Sink<W> {
    /// A sink over `output`, gzip-compressed at `gzip_level` when given, holding back the last
    /// `hold` bytes until commit.
    pub(crate) fn new(output: W, gzip_level: Option<u32>, hold: usize) -> Sink<W> {
        let buffered = BufWriter::with_capacity(CHUNK, output);
        let stage = match gzip_level {
            None => Stage::Plain(buffered),
            Some(level) => {
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                Stage::Gzip(ParallelGzip::new(buffered, level, threads))
            }
        };
        Sink {
            stage,
            hold,
            held: Vec::with_capacity(hold * 2),
            written: 0,
        }
    }

    /// Uncompressed bytes accepted so far (held-back bytes included).
    pub(crate) fn bytes_written(&self) -> u64 {
        self.written
    }

    fn emit(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(w) if buf.len() >= PASS_THROUGH => {
                if !w.buffer().is_empty() {
                    w.flush()?;
                }
                w.get_mut().write_all(buf)
            }
            Stage::Plain(w) => w.write_all(buf),
            Stage::Gzip(z) => z.write_all(buf),
        }
    }

    /// Writes everything, the held-back bytes too, and ends the gzip stream.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        self.emit(&held)?;
        self.close()
    }

    /// Ends a failed run so that no restore tool takes the output for a complete dump: the
    /// held-back archive terminator is never written; a SQL output ends with a statement that
    /// makes `mysql` and `psql -v ON_ERROR_STOP=1` fail, with a comment saying `why`; a gzip
    /// output ends with a truncated member, so gunzip and mongorestore report an error.
    pub(crate) fn fail(mut self, format: Option<Format>, why: &str) -> io::Result<()> {
        self.held.clear();
        if let Some(format @ (Format::MySql | Format::Postgres)) = format {
            let poison = failure_statement(format, why);
            self.emit(poison.as_bytes())?;
        }
        let gzip = matches!(self.stage, Stage::Gzip(_));
        let mut inner = self.close_inner()?;
        if gzip {
            inner.write_all(&BROKEN_GZIP_MEMBER)?;
        }
        inner.flush()
    }

    fn close(self) -> io::Result<()> {
        self.close_inner()?.flush()
    }

    fn close_inner(self) -> io::Result<BufWriter<W>> {
        match self.stage {
            Stage::Plain(w) => Ok(w),
            Stage::Gzip(z) => z.finish(),
        }
    }
}

/// The end of a failed SQL output: a comment saying why, and a statement both clients reject.
///
/// It must fail whatever the cut output is inside of. Inside an unterminated string literal,
/// this text stays in the literal and both clients send the incomplete statement at end of
/// input, which the server rejects. MySQL: `DELIMITER ;` first leaves a routine's delimiter.
/// PostgreSQL: outside a COPY data block the first `SELECT` fails; inside one, the lines are
/// data (rejected by the COPY, or at worst loaded), the `\.` line ends the block, and the second
/// `SELECT` fails.
pub(crate) fn failure_statement(format: Format, why: &str) -> String {
    let why: String = why
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    const SELECT: &str = "SELECT syrf_anonymize_run_failed_do_not_restore;\n";
    let (lead, tail) = match format {
        Format::Postgres => ("\n", format!("\\.\n{SELECT}")),
        _ => ("\nDELIMITER ;\n", String::new()),
    };
    format!(
        "{lead}-- syrf-anonymize: this run FAILED and its output must not be restored: {why}\n\
         -- The statement below makes `mysql` and `psql -v ON_ERROR_STOP=1` stop with an error.\n\
         {SELECT}{tail}"
    )
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.hold == 0 {
            self.emit(buf)?;
        } else if buf.len() >= self.hold {
            let held = std::mem::take(&mut self.held);
            self.emit(&held)?;
            let cut = buf.len() - self.hold;
            self.emit(&buf[..cut])?;
            self.held.extend_from_slice(&buf[cut..]);
        } else {
            self.held.extend_from_slice(buf);
            if self.held.len() > self.hold {
                let cut = self.held.len() - self.hold;
                let front: Vec<u8> = self.held.drain(..cut).collect();
                self.emit(&front)?;
            }
        }
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(w) => w.flush(),
            Stage::Gzip(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_the_last_bytes_until_commit() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for piece in [1, 3, 4, 5, 4096] {
            let mut out = Vec::new();
            let mut sink = Sink::new(&mut out, None, 4);
            for part in data.chunks(piece) {
                sink.write_all(part).unwrap();
            }
            sink.flush().unwrap();
            sink.fail(Some(Format::Mongo), "test").unwrap();
            assert_eq!(out, data[..data.len() - 4], "piece {piece}");
            let mut out = Vec::new();
            let mut sink = Sink::new(&mut out, None, 4);
            for part in data.chunks(piece) {
                sink.write_all(part).unwrap();
            }
            assert_eq!(sink.bytes_written(), data.len() as u64);
            sink.commit().unwrap();
            assert_eq!(out, data, "piece {piece}");
        }
    }

    /// Writes of at least `PASS_THROUGH` bytes skip the buffer: whatever the mix of small and
    /// large writes, the output is every byte in order, the held-back tail included.
    #[test]
    fn large_writes_pass_through_in_order() {
        let data: Vec<u8> = (0..=255u8).cycle().take(600_000).collect();
        let sizes = [
            1,
            PASS_THROUGH - 1,
            PASS_THROUGH,
            7,
            3 * PASS_THROUGH,
            100,
            CHUNK + 5,
        ];
        for hold in [0, 4] {
            let mut out = Vec::new();
            let mut sink = Sink::new(&mut out, None, hold);
            let (mut at, mut k) = (0, 0);
            while at < data.len() {
                let n = sizes[k % sizes.len()].min(data.len() - at);
                sink.write_all(&data[at..at + n]).unwrap();
                (at, k) = (at + n, k + 1);
            }
            assert_eq!(sink.bytes_written(), data.len() as u64);
            sink.commit().unwrap();
            assert!(out == data, "hold {hold}: {} bytes out", out.len());
        }
    }

    #[test]
    fn failed_gzip_output_is_an_invalid_gzip_stream() {
        use std::io::Read;
        let mut out = Vec::new();
        let mut sink = Sink::new(&mut out, Some(1), 0);
        sink.write_all(b"-- MySQL dump\nSELECT 1;\n").unwrap();
        sink.fail(Some(Format::MySql), "test").unwrap();
        let mut plain = Vec::new();
        let err = flate2::read::MultiGzDecoder::new(&out[..])
            .read_to_end(&mut plain)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
