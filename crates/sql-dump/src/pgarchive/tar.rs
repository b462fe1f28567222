//! The tar container of pg_dump's tar format (`pg_dump -Ft`): POSIX ustar members, read from
//! a stream into a directory and written from one, with plain member names only.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::toc::Entry;
use super::PgArchiveError;

const BLOCK: usize = 512;

fn format_err(offset: u64, message: impl Into<String>) -> PgArchiveError {
    PgArchiveError::Format {
        offset,
        message: message.into(),
    }
}

/// A tar number: octal digits (with spaces or NULs around), or GNU base-256.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| (b'0'..=b'7').contains(&b))
        .collect();
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&digits).ok()?, 8).ok()
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn read_block<R: Read>(r: &mut R, buf: &mut [u8; BLOCK], at: u64) -> Result<bool, PgArchiveError> {
    let mut got = 0;
    while got < BLOCK {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(format_err(at, "the tar archive ends inside a block")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(PgArchiveError::Read { offset: at, source }),
        }
    }
    Ok(true)
}

/// Unpacks the tar stream `input` into `dir`. The first member must be `toc.dat`; member
/// names must be plain file names; `restore.sql` is skipped.
pub(crate) fn unpack<R: Read>(input: R, dir: &Path) -> Result<(), PgArchiveError> {
    let mut r = BufReader::with_capacity(1 << 16, input);
    let mut at: u64 = 0;
    let mut block = [0u8; BLOCK];
    let mut first = true;
    loop {
        if !read_block(&mut r, &mut block, at)? {
            return Err(format_err(
                at,
                "the tar archive ends without its end blocks",
            ));
        }
        if block.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let stored = number(&block[148..156]);
        let sum: u64 = block
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(b)
                }
            })
            .sum();
        if stored != Some(sum) {
            return Err(format_err(
                at,
                "a tar header's checksum does not match (damaged)",
            ));
        }
        let name_end = block[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&block[..name_end]).into_owned();
        if !plain_name(&name) {
            return Err(format_err(
                at,
                "a tar member whose name is not a plain file name",
            ));
        }
        if first && name != "toc.dat" {
            return Err(format_err(
                at,
                "not a pg_dump tar archive (its first member is not toc.dat)",
            ));
        }
        first = false;
        if !matches!(block[156], b'0' | 0) {
            return Err(format_err(
                at,
                format!("tar member {name} is not a regular file"),
            ));
        }
        let size = number(&block[124..136])
            .ok_or_else(|| format_err(at, format!("tar member {name} has no size")))?;
        at += BLOCK as u64;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let mut body = (&mut r).take(padded);
        if name == "restore.sql" {
            io::copy(&mut body, &mut io::sink())
                .map_err(|source| PgArchiveError::Read { offset: at, source })?;
        } else {
            let path = dir.join(&name);
            if path.exists() {
                return Err(format_err(at, format!("tar member {name} appears twice")));
            }
            let mut f = BufWriter::new(
                File::create(path).map_err(|source| PgArchiveError::Write { source })?,
            );
            let copied = io::copy(&mut (&mut body).take(size), &mut f)
                .map_err(|source| PgArchiveError::Read { offset: at, source })?;
            if copied < size {
                return Err(format_err(
                    at,
                    format!("the tar archive ends inside {name}"),
                ));
            }
            f.flush()
                .map_err(|source| PgArchiveError::Write { source })?;
            io::copy(&mut body, &mut io::sink())
                .map_err(|source| PgArchiveError::Read { offset: at, source })?;
        }
        at += padded;
    }
}

fn header(name: &str, size: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let put = |h: &mut [u8; BLOCK], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000600\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    if size < 1 << 33 {
        put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    } else {
        // GNU base-256 for members of 8 GiB and more.
        h[124] = 0x80;
        for i in 0..8 {
            h[135 - i] = (size >> (8 * i)) as u8;
        }
    }
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    put(&mut h, 136, format!("{mtime:011o}\0").as_bytes());
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Writes the directory archive in `dir` as a tar stream, members in pg_dump's order.
pub(crate) fn pack<W: Write>(dir: &Path, kept: &[Entry], output: W) -> Result<(), PgArchiveError> {
    let werr = |source| PgArchiveError::Write { source };
    let mut out = BufWriter::with_capacity(1 << 16, output);
    let mut member = |name: &str| -> Result<(), PgArchiveError> {
        let path = dir.join(name);
        let mut f = File::open(&path).map_err(werr)?;
        let size = f.metadata().map_err(werr)?.len();
        out.write_all(&header(name, size)).map_err(werr)?;
        let copied = io::copy(&mut f, &mut out).map_err(werr)?;
        if copied != size {
            return Err(werr(io::Error::other(format!(
                "{name} changed while written"
            ))));
        }
        let pad = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
        out.write_all(&[0u8; BLOCK][..pad]).map_err(werr)
    };
    member("toc.dat")?;
    let mut blob_lists = Vec::new();
    for e in kept.iter().filter(|e| e.has_data()) {
        let name = e.file_name()?;
        if e.is("BLOBS") {
            blob_lists.push(super::blob_list_name(dir, e)?);
        } else if dir.join(name).exists() {
            member(name)?;
        }
    }
    for list in blob_lists {
        let text = std::fs::read(dir.join(&list)).map_err(werr)?;
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let name = line
                .iter()
                .position(|&b| b == b' ')
                .and_then(|p| std::str::from_utf8(&line[p + 1..]).ok())
                .filter(|n| plain_name(n))
                .ok_or_else(|| {
                    format_err(0, format!("{list} has a line that is not `oid file`"))
                })?;
            member(name)?;
        }
        member(&list)?;
    }
    out.write_all(&[0u8; 2 * BLOCK]).map_err(werr)?;
    out.flush().map_err(werr)
}
