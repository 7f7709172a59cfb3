//! What the importer shows while it works and when it is done: a progress bar (bytes, points
//! per second, ETA) on a terminal, plain lines every few seconds otherwise (logs, CI), and a
//! one-paragraph summary with human units.

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

/// Seconds between two plain progress lines.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Progress of one file.
pub(crate) struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    total_bytes: u64,
    start: Instant,
    start_bytes: u64,
    last_line: Instant,
}

impl Progress {
    /// `start_bytes` is where a resumed import starts, so rates count this run only.
    pub(crate) fn new(label: &str, total_bytes: u64, start_bytes: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total_bytes),
                ProgressDrawTarget::stderr_with_hz(4),
            );
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30.cyan/blue}] {bytes}/{total_bytes} · {msg} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.set_position(start_bytes);
            bar.reset_eta();
            bar
        });
        let now = Instant::now();
        Progress {
            label: label.to_string(),
            bar,
            total_bytes,
            start: now,
            start_bytes,
            last_line: now,
        }
    }

    /// The acknowledged prefix now ends at `bytes`; `points` were acknowledged this run.
    pub(crate) fn update(&mut self, bytes: u64, points: u64) {
        let elapsed = self.start.elapsed();
        let rate = per_second(points, elapsed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{} points · {}/s", count(points), count_f(rate)));
            }
            None => {
                if self.last_line.elapsed() < PLAIN_EVERY {
                    return;
                }
                self.last_line = Instant::now();
                let done = bytes.saturating_sub(self.start_bytes) as f64;
                let left = self.total_bytes.saturating_sub(bytes) as f64;
                let eta = if done > 0.0 {
                    format!(
                        ", ETA {}",
                        duration(elapsed.mul_f64((left / done).min(1e6)))
                    )
                } else {
                    String::new()
                };
                eprintln!(
                    "{}: {:.0}% ({} of {}), {} points, {} points/s{eta}",
                    self.label,
                    percent(bytes, self.total_bytes),
                    HumanBytes(bytes),
                    HumanBytes(self.total_bytes),
                    count(points),
                    count_f(rate),
                );
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

pub(crate) fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// `1234` → `1,234`; `12_345_678` → `12.3 M`.
pub(crate) fn count(n: u64) -> String {
    count_f(n as f64)
}

fn count_f(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.2} G", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.2} M", n / 1e6)
    } else if n >= 1e4 {
        format!("{:.1} k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// A timestamp in nanoseconds as RFC 3339 UTC.
pub(crate) fn time(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A span of nanoseconds in human units.
pub(crate) fn span(nanos: i64) -> String {
    if nanos < 1_000_000_000 {
        format!("{} ms", nanos.max(0) / 1_000_000)
    } else {
        duration(Duration::from_nanos(nanos as u64))
    }
}

/// `3.25 s`, `4 min 05 s`, `2 h 46 min`, `3 d 4 h`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.2} s", d.as_secs_f64()),
        60..3600 => format!("{} min {:02} s", secs / 60, secs % 60),
        3600..86400 => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(count(999), "999");
        assert_eq!(count(12_345), "12.3 k");
        assert_eq!(count(100_000_000), "100.00 M");
        assert_eq!(time(1_764_624_600_125_000_000), "2025-12-01T21:30:00.125Z");
        assert_eq!(span(250_000_000), "250 ms");
        assert_eq!(span(10_000 * 1_000_000_000), "2 h 46 min");
        assert_eq!(duration(Duration::from_millis(3250)), "3.25 s");
    }
}
