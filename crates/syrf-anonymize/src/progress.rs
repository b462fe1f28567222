//! Progress on stderr: bytes read, MB/s, the collection being read (MongoDB), and percent and
//! ETA when the input's size is known.
//! Shown when stderr is a terminal or with `--progress`; never with `--quiet`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display fed by a counter of input bytes, redrawn by a thread of its own.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `read` (bytes of the input read so far) against `total` when known.
    /// `forced` draws even when stderr is not a terminal (then one line every few seconds).
    /// `current` names the collection being read (empty: not shown).
    pub fn start(
        read: Arc<AtomicU64>,
        total: Option<u64>,
        forced: bool,
        current: Arc<Mutex<String>>,
    ) -> Progress {
        let target = if forced {
            // indicatif hides itself when stderr is not a terminal; `term_like` would need a
            // terminal too, so a forced display on a pipe is drawn by hand, below.
            None
        } else {
            Some(ProgressDrawTarget::stderr_with_hz(4))
        };
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = thread::Builder::new()
            .name("progress".into())
            .spawn(move || match target {
                Some(target) => draw_bar(target, &read, total, &thread_stop, &current),
                None => draw_lines(&read, total, &thread_stop, &current),
            })
            .ok();
        Progress { stop, thread }
    }

    /// Stops and clears the display.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.end();
    }
}

const TICK: Duration = Duration::from_millis(200);

/// The collection being read, or an empty string.
fn current_name(current: &Mutex<String>) -> String {
    current.lock().map(|n| n.clone()).unwrap_or_default()
}

fn draw_bar(
    target: ProgressDrawTarget,
    read: &AtomicU64,
    total: Option<u64>,
    stop: &AtomicBool,
    current: &Mutex<String>,
) {
    let bar = match total {
        Some(total) => ProgressBar::with_draw_target(Some(total), target).with_style(
            ProgressStyle::with_template(
                "{bar:30} {percent:>3}%  {binary_bytes}/{binary_total_bytes}  {binary_bytes_per_sec}  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, target).with_style(
            ProgressStyle::with_template("{spinner} {binary_bytes} read  {binary_bytes_per_sec}  {elapsed}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    while !stop.load(Relaxed) {
        bar.set_position(read.load(Relaxed));
        bar.set_message(current_name(current));
        thread::sleep(TICK);
    }
    bar.finish_and_clear();
}

/// A plain line every few seconds, and a last one at the end, for a forced display on a pipe
/// or a log.
fn draw_lines(read: &AtomicU64, total: Option<u64>, stop: &AtomicBool, current: &Mutex<String>) {
    let started = std::time::Instant::now();
    let mut last_line = started;
    while !stop.load(Relaxed) {
        thread::sleep(TICK);
        if last_line.elapsed() < Duration::from_secs(2) {
            continue;
        }
        last_line = std::time::Instant::now();
        let name = current_name(current);
        eprintln!(
            "{}",
            line(read.load(Relaxed), total, started.elapsed(), &name)
        );
    }
    let name = current_name(current);
    eprintln!(
        "{}",
        line(read.load(Relaxed), total, started.elapsed(), &name)
    );
}

/// `syrf-anonymize: progress: 120.0 MB read, 85.3 MB/s, 40%, ETA 3 s, in syrftest.pmStudy`.
fn line(read: u64, total: Option<u64>, elapsed: Duration, current: &str) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let rate = read as f64 / seconds;
    let mut s = format!(
        "syrf-anonymize: progress: {:.1} MB read, {:.1} MB/s",
        read as f64 / 1e6,
        rate / 1e6
    );
    if let Some(total) = total.filter(|&t| t > 0) {
        let percent = (read as f64 / total as f64 * 100.0).min(100.0);
        s.push_str(&format!(", {percent:.0}%"));
        if rate > 0.0 && read < total {
            s.push_str(&format!(", ETA {:.0} s", (total - read) as f64 / rate));
        }
    }
    if !current.is_empty() {
        s.push_str(&format!(", in {current}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_percent_and_eta_only_with_a_size() {
        let l = line(50_000_000, Some(100_000_000), Duration::from_secs(1), "");
        assert_eq!(
            l,
            "syrf-anonymize: progress: 50.0 MB read, 50.0 MB/s, 50%, ETA 1 s"
        );
        let l = line(50_000_000, None, Duration::from_secs(2), "app.users");
        assert_eq!(
            l,
            "syrf-anonymize: progress: 50.0 MB read, 25.0 MB/s, in app.users"
        );
        let l = line(50_000_000, None, Duration::from_secs(2), "");
        assert_eq!(l, "syrf-anonymize: progress: 50.0 MB read, 25.0 MB/s");
    }
}
