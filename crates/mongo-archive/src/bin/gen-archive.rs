//! `gen-archive --size-mb N [--seed S] [--no-users] [--sample]`: writes a deterministic,
//! realistic SyRF mongodump archive to stdout (see `mongo_archive::synth`).
//! `--sample` reproduces `samples/syrf-sample.archive`.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use mongo_archive::synth::{generate, sample_config, SynthConfig};

fn usage() -> ExitCode {
    eprintln!("usage: gen-archive [--size-mb N] [--seed S] [--no-users] [--sample] > dump.archive");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut cfg = SynthConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--size-mb" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(mb) if mb > 0.0 => cfg.target_bytes = (mb * 1_048_576.0) as u64,
                _ => return usage(),
            },
            "--seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(s) => cfg.seed = s,
                None => return usage(),
            },
            "--no-users" => cfg.with_users = false,
            "--sample" => cfg = sample_config(),
            "--help" | "-h" => {
                println!("usage: gen-archive [--size-mb N] [--seed S] [--no-users] [--sample] > dump.archive");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match generate(&cfg, &mut out).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-archive: {e}");
            ExitCode::FAILURE
        }
    }
}
