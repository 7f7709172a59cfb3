//! The live terminal view of `watch`: a header with the connection status, then per result
//! kind a sparkline (raw numeric), a min/max band (bucketed), bars (ranges), a state strip
//! (enum) or a log tail, with the last value, its unit and a human time. Redrawn in place
//! with ANSI escapes on a terminal; written as plain text lines otherwise.

use sightline_client::merge::Span;
use sightline_client::{ConnectionEvent, Plot, WindowState};
use sightline_wire::scout_compute::Grouping;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WIDTH: usize = 72;
const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// What the view remembers between draws.
pub(crate) struct View {
    title: String,
    window: Duration,
    terminal: bool,
    status: String,
    drawn: bool,
}

pub(crate) fn describe_connection(c: &ConnectionEvent) -> String {
    match c {
        ConnectionEvent::Connected { url } => format!("connected to {url}"),
        ConnectionEvent::Lost { reason } => format!("connection lost ({reason}); reconnecting…"),
        ConnectionEvent::HandedOver { url } => format!("server shutting down; moved to {url}"),
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `14:03:12.345 UTC (1.2 s ago)`.
fn human_time(t: i64) -> String {
    let secs = t.div_euclid(1_000_000_000);
    let millis = t.rem_euclid(1_000_000_000) / 1_000_000;
    let day = secs.rem_euclid(86_400);
    let ago = (now_nanos() - t) as f64 / 1e9;
    format!(
        "{:02}:{:02}:{:02}.{millis:03} UTC ({} ago)",
        day / 3600,
        day % 3600 / 60,
        day % 60,
        human_seconds(ago.max(0.0))
    )
}

/// `850 ms`, `1.2 s`, `3 min 5 s`, `1 min`, `2 h 10 min`.
pub(crate) fn human_seconds(s: f64) -> String {
    let two_units = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        two_units((s / 60.0) as u64, "min", (s % 60.0) as u64, "s")
    } else {
        two_units((s / 3600.0) as u64, "h", (s % 3600.0 / 60.0) as u64, "min")
    }
}

/// `stand=A, rig=2` for a grouping by tags.
fn group_label(g: &Grouping) -> String {
    match g {
        Grouping::TagsWithValues(tags) => tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        Grouping::Unknown(u) => u.type_name.clone(),
    }
}

fn value(v: f64) -> String {
    if v.abs() >= 1e5 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

/// One character per column of the window, from a list of (t, v) points, scaled to their
/// own min and max.
fn sparkline(points: &[(i64, f64)], lo_t: i64, hi_t: i64) -> (String, f64, f64) {
    let (min, max) = points
        .iter()
        .filter(|(_, v)| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, v)| {
            (a.min(*v), b.max(*v))
        });
    (scaled_sparkline(points, lo_t, hi_t, min, max), min, max)
}

/// One character per column of the window, scaled to `[min, max]`.
fn scaled_sparkline(points: &[(i64, f64)], lo_t: i64, hi_t: i64, min: f64, max: f64) -> String {
    let span = (hi_t - lo_t).max(1) as f64;
    let mut cols: Vec<Option<f64>> = vec![None; WIDTH];
    for (t, v) in points {
        let col = (((t - lo_t) as f64 / span) * (WIDTH - 1) as f64).round();
        if (0.0..WIDTH as f64).contains(&col) {
            // The last point of a column wins, so the line ends at the latest value.
            cols[col as usize] = Some(*v);
        }
    }
    cols.iter()
        .map(|c| match c {
            Some(v) if v.is_finite() => {
                let f = if max > min {
                    ((v - min) / (max - min)).clamp(0.0, 1.0)
                } else {
                    0.5
                };
                SPARK[((f * 7.0).round() as usize).min(7)]
            }
            Some(_) => '?',
            None => ' ',
        })
        .collect()
}

fn range_bar(ranges: &[Span], lo_t: i64, hi_t: i64) -> String {
    let span = (hi_t - lo_t).max(1) as f64;
    (0..WIDTH)
        .map(|i| {
            let t = lo_t + (i as f64 / (WIDTH - 1) as f64 * span) as i64;
            let inside = ranges
                .iter()
                .any(|r| r.start.is_none_or(|s| s <= t) && r.end.is_none_or(|e| t <= e));
            if inside {
                '█'
            } else {
                '·'
            }
        })
        .collect()
}

fn lines_of(plot: &Plot, unit: &str, lo: i64, hi: i64) -> Vec<String> {
    let mut out = Vec::new();
    match plot {
        Plot::Numeric(points) => {
            let (line, min, max) = sparkline(points, lo, hi);
            match points.last() {
                Some((t, v)) => {
                    out.push(format!("last {} {unit}  at {}", value(*v), human_time(*t)))
                }
                None => out.push("no points in the window yet".into()),
            }
            out.push(format!("│{line}│"));
            if min.is_finite() {
                out.push(format!(
                    "min {} {unit}  max {} {unit}  {} points",
                    value(min),
                    value(max),
                    points.len()
                ));
            }
        }
        Plot::BucketedNumeric(buckets) => {
            // The min/max band: each bucket's max on the upper row, its min on the lower,
            // on one scale, so the band's width shows the spread within each bucket.
            let highs: Vec<(i64, f64)> = buckets
                .iter()
                .filter_map(|(t, b)| Some((*t, b.max?)))
                .collect();
            let lows: Vec<(i64, f64)> = buckets
                .iter()
                .filter_map(|(t, b)| Some((*t, b.min?)))
                .collect();
            let min = lows.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
            let max = highs
                .iter()
                .map(|(_, v)| *v)
                .fold(f64::NEG_INFINITY, f64::max);
            if let Some((t, b)) = buckets.iter().next_back() {
                let (t, last) = b
                    .last_point
                    .as_ref()
                    .and_then(|p| {
                        Some((
                            sightline_wire::time::timestamp_to_nanos(&p.timestamp).ok()?,
                            p.value,
                        ))
                    })
                    .unwrap_or((*t, b.mean.unwrap_or(f64::NAN)));
                out.push(format!("last {} {unit}  at {}", value(last), human_time(t)));
            }
            out.push(format!(
                "│{}│ max per bucket",
                scaled_sparkline(&highs, lo, hi, min, max)
            ));
            out.push(format!(
                "│{}│ min per bucket",
                scaled_sparkline(&lows, lo, hi, min, max)
            ));
            if min.is_finite() {
                out.push(format!(
                    "band min {} {unit}  max {} {unit}  {} buckets",
                    value(min),
                    value(max),
                    buckets.len()
                ));
            }
        }
        Plot::Enum(points) => {
            let mut names: Vec<&str> = Vec::new();
            let strip: String = {
                let span = (hi - lo).max(1) as f64;
                let mut cols = vec![' '; WIDTH];
                for (t, s) in points {
                    let idx = names.iter().position(|n| n == s).unwrap_or_else(|| {
                        names.push(s);
                        names.len() - 1
                    });
                    let col = (((t - lo) as f64 / span) * (WIDTH - 1) as f64).round();
                    if (0.0..WIDTH as f64).contains(&col) {
                        cols[col as usize] = char::from(b'A' + (idx % 26) as u8);
                    }
                }
                cols.into_iter().collect()
            };
            match points.last() {
                Some((t, s)) => out.push(format!("state {s}  since {}", human_time(*t))),
                None => out.push("no states in the window yet".into()),
            }
            out.push(format!("│{strip}│"));
            let legend: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{}={n}", char::from(b'A' + (i % 26) as u8)))
                .collect();
            out.push(legend.join("  "));
        }
        Plot::Log(lines) => {
            out.push(format!("{} lines in the window", lines.len()));
            for (t, l) in lines.iter().rev().take(10).rev() {
                out.push(format!("{}  {}", human_time(*t), l.message));
            }
        }
        Plot::Ranges(ranges) => {
            out.push(format!("│{}│", range_bar(ranges, lo, hi)));
            out.push(format!("{} ranges in the window", ranges.len()));
            for r in ranges.iter().rev().take(5).rev() {
                let start = r.start.map_or("(before the window)".into(), human_time);
                let len = match (r.start, r.end) {
                    (Some(s), Some(e)) => human_seconds((e - s) as f64 / 1e9),
                    _ => "open".into(),
                };
                out.push(format!("from {start}, lasting {len}"));
            }
        }
        Plot::Grouped(groups) => {
            for (g, p) in groups {
                out.push(format!("── {}", group_label(g)));
                out.extend(lines_of(p, unit, lo, hi));
            }
        }
        other => out.push(format!("{}: {} items", other.kind(), other.len())),
    }
    out
}

impl View {
    pub(crate) fn new(title: &str, window: Duration, terminal: bool) -> Self {
        View {
            title: title.to_string(),
            window,
            terminal,
            status: "connecting…".into(),
            drawn: false,
        }
    }

    pub(crate) fn status(&mut self, c: &ConnectionEvent) {
        self.status = describe_connection(c);
    }

    pub(crate) fn draw(
        &mut self,
        out: &mut impl Write,
        state: &WindowState,
        unit: Option<&str>,
    ) -> std::io::Result<()> {
        let hi = now_nanos();
        let lo = hi - i64::try_from(self.window.as_nanos()).unwrap_or(i64::MAX);
        // Colour only where a person sees it: bold title, status green when connected and
        // yellow otherwise, the plot rows cyan.
        let paint = |code: &str, text: &str| {
            if self.terminal {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let status_colour = if self.status.starts_with("connected") {
            "32"
        } else {
            "33"
        };
        let mut lines = vec![format!(
            "{}  ·  window {}  ·  {}",
            paint("1", &self.title),
            human_seconds(self.window.as_secs_f64()),
            paint(status_colour, &self.status)
        )];
        lines.extend(
            lines_of(&state.plot, unit.unwrap_or(""), lo, hi)
                .into_iter()
                .map(|l| {
                    if l.starts_with('│') {
                        paint("36", &l)
                    } else {
                        l
                    }
                }),
        );
        if self.terminal {
            // Home, clear to the end of the screen, draw; Ctrl-C leaves the last frame.
            write!(out, "\x1b[H\x1b[J")?;
            self.drawn = true;
            for l in lines {
                write!(out, "{l}\r\n")?;
            }
        } else {
            for l in lines {
                writeln!(out, "{l}")?;
            }
        }
        out.flush()
    }

    /// Leaves the terminal tidy.
    pub(crate) fn leave(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        if self.terminal && self.drawn {
            writeln!(out)?;
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_would_say_them() {
        assert_eq!(human_seconds(0.25), "250 ms");
        assert_eq!(human_seconds(1.25), "1.2 s");
        assert_eq!(human_seconds(60.0), "1 min");
        assert_eq!(human_seconds(185.0), "3 min 5 s");
        assert_eq!(human_seconds(7_800.0), "2 h 10 min");
    }

    #[test]
    fn a_sparkline_spans_the_window_and_ends_at_the_latest_value() {
        let points = [(0, 0.0), (50, 5.0), (100, 10.0)];
        let (line, min, max) = sparkline(&points, 0, 100);
        assert_eq!((min, max), (0.0, 10.0));
        assert_eq!(line.chars().count(), WIDTH);
        assert_eq!(line.chars().next(), Some('▁'));
        assert_eq!(line.chars().last(), Some('█'));
    }

    #[test]
    fn ranges_fill_the_columns_they_cover() {
        let inside = Span {
            start: Some(50),
            end: None,
            value: None,
        };
        let bar = range_bar(&[inside], 0, 100);
        assert!(bar.starts_with('·') && bar.ends_with('█'), "{bar}");
    }

    #[test]
    fn groups_are_labelled_by_their_tags() {
        let g = Grouping::TagsWithValues(
            [
                ("rig".to_string(), "2".to_string()),
                ("stand".to_string(), "A".to_string()),
            ]
            .into(),
        );
        assert_eq!(group_label(&g), "rig=2, stand=A");
    }
}
