//! The results table: each row a figure for us and (where one exists) the baseline, their
//! ratio, the target and whether it was met.

use std::fmt::Write as _;

use serde::Serialize;

/// What a row's figure must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub(crate) enum Target {
    /// ours / baseline ≤ value.
    RatioAtMost(f64),
    /// ours / baseline ≥ value.
    RatioAtLeast(f64),
    /// ours ≤ value (in the row's unit).
    AtMost(f64),
    /// ours ≥ value (in the row's unit).
    AtLeast(f64),
}

/// Whether a row met its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// The target is met.
    Met,
    /// The target is missed.
    Missed,
    /// A figure without a target.
    Info,
    /// Not measured, with the reason.
    Skipped(String),
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// What is measured.
    pub(crate) name: String,
    /// The unit of `ours` and `baseline`.
    pub(crate) unit: String,
    /// Our figure.
    pub(crate) ours: Option<f64>,
    /// The baseline's figure.
    pub(crate) baseline: Option<f64>,
    /// ours / baseline.
    pub(crate) ratio: Option<f64>,
    /// The target, if the row has one.
    pub(crate) target: Option<Target>,
    /// Met, missed, informational or skipped.
    pub(crate) status: Status,
    /// False when the baseline has no counterpart of this figure (shown as `none`).
    pub(crate) comparable: bool,
}

impl Row {
    /// A measured row; the ratio and the status follow from the figures and the target.
    pub(crate) fn new(
        name: &str,
        unit: &str,
        ours: Option<f64>,
        baseline: Option<f64>,
        target: Option<Target>,
    ) -> Self {
        let ratio = match (ours, baseline) {
            (Some(ours), Some(baseline)) if baseline != 0.0 => Some(ours / baseline),
            _ => None,
        };
        let status = match target {
            None => Status::Info,
            Some(Target::AtMost(limit)) => match ours {
                Some(value) if value <= limit => Status::Met,
                Some(_) => Status::Missed,
                None => Status::Skipped("not measured".to_owned()),
            },
            Some(Target::AtLeast(limit)) => match ours {
                Some(value) if value >= limit => Status::Met,
                Some(_) => Status::Missed,
                None => Status::Skipped("not measured".to_owned()),
            },
            Some(Target::RatioAtMost(limit)) => match ratio {
                Some(r) if r <= limit => Status::Met,
                Some(_) => Status::Missed,
                None => Status::Skipped("no baseline figure".to_owned()),
            },
            Some(Target::RatioAtLeast(limit)) => match ratio {
                Some(r) if r >= limit => Status::Met,
                Some(_) => Status::Missed,
                None => Status::Skipped("no baseline figure".to_owned()),
            },
        };
        Self {
            name: name.to_owned(),
            unit: unit.to_owned(),
            ours,
            baseline,
            ratio,
            target,
            status,
            comparable: true,
        }
    }

    /// A row of ours only: the baseline has nothing that measures the same (its cell says
    /// `none`, not `-`).
    pub(crate) fn ours_only(
        name: &str,
        unit: &str,
        ours: Option<f64>,
        target: Option<Target>,
    ) -> Self {
        Self {
            comparable: false,
            ..Self::new(name, unit, ours, None, target)
        }
    }

    /// A row that could not be measured.
    pub(crate) fn skipped(name: &str, unit: &str, target: Option<Target>, reason: &str) -> Self {
        Self {
            name: name.to_owned(),
            unit: unit.to_owned(),
            ours: None,
            baseline: None,
            ratio: None,
            target,
            status: Status::Skipped(reason.to_owned()),
            comparable: true,
        }
    }

    /// Marks the row skipped when it has no baseline figure, with `reason`, keeping ours.
    pub(crate) fn baseline_missing(mut self, reason: &str) -> Self {
        if self.baseline.is_none() {
            self.status = match self.target {
                Some(Target::AtMost(_) | Target::AtLeast(_)) | None => self.status,
                Some(_) => Status::Skipped(format!("baseline: {reason}")),
            };
        }
        self
    }
}

fn number(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else if value.abs() >= 100.0 {
        // Thousands separators for large counts.
        let rounded = value.round() as i64;
        let out = grouped(rounded.unsigned_abs());
        if rounded < 0 { format!("-{out}") } else { out }
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A count with thousands separators (`1,000`).
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn target_text(target: Option<Target>, unit: &str) -> String {
    match target {
        None => "-".to_owned(),
        Some(Target::RatioAtMost(r)) => format!("ratio <= {r}"),
        Some(Target::RatioAtLeast(r)) => format!("ratio >= {r}"),
        Some(Target::AtMost(v)) => format!("<= {} {unit}", number(v)),
        Some(Target::AtLeast(v)) => format!(">= {} {unit}", number(v)),
    }
}

fn baseline_text(row: &Row) -> String {
    match row.baseline {
        Some(value) => number(value),
        None if !row.comparable => "none".to_owned(),
        None => "-".to_owned(),
    }
}

fn status_text(status: &Status) -> String {
    match status {
        Status::Met => "met".to_owned(),
        Status::Missed => "MISSED".to_owned(),
        Status::Info => "-".to_owned(),
        Status::Skipped(reason) => format!("SKIPPED: {reason}"),
    }
}

/// The rows as a fixed-width text table.
pub(crate) fn table(rows: &[Row]) -> String {
    let header = [
        "measurement",
        "unit",
        "ours",
        "baseline",
        "ratio",
        "target",
        "status",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            [
                row.name.clone(),
                row.unit.clone(),
                row.ours.map_or("-".to_owned(), number),
                baseline_text(row),
                row.ratio.map_or("-".to_owned(), |r| format!("{r:.2}x")),
                target_text(row.target, &row.unit),
                status_text(&row.status),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        // The status column is last and not padded.
        for (width, cell) in widths.iter_mut().zip(row.iter()).take(6) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 6 {
                text.push_str(cell);
            } else if (2..=4).contains(&i) {
                let _ = write!(text, "{cell:>width$}  ", width = widths[i]);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(str::to_owned));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(row);
    }
    out
}

/// The rows as Markdown (for BENCHMARKS.md).
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| measurement | unit | ours | baseline | ratio | target | status |\n");
    out.push_str("|---|---|---:|---:|---:|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.unit,
            row.ours.map_or("-".to_owned(), number),
            baseline_text(row),
            row.ratio.map_or("-".to_owned(), |r| format!("{r:.2}x")),
            target_text(row.target, &row.unit),
            status_text(&row.status),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_targets() {
        let row = Row::new(
            "warm p50",
            "µs",
            Some(40.0),
            Some(100.0),
            Some(Target::RatioAtMost(0.5)),
        );
        assert_eq!(row.ratio, Some(0.4));
        assert_eq!(row.status, Status::Met);
        let row = Row::new(
            "tput",
            "inv/s",
            Some(150.0),
            Some(100.0),
            Some(Target::RatioAtLeast(2.0)),
        );
        assert_eq!(row.status, Status::Missed);
        let row = Row::new(
            "tput",
            "inv/s",
            Some(150.0),
            None,
            Some(Target::RatioAtLeast(2.0)),
        );
        assert!(matches!(row.status, Status::Skipped(_)));
    }

    #[test]
    fn absolute_targets_ignore_the_baseline() {
        let row = Row::new("rss", "MB", Some(2.4), None, Some(Target::AtMost(2.5)));
        assert_eq!(row.status, Status::Met);
        let row = Row::new("rss", "MB", Some(2.6), Some(9.0), Some(Target::AtMost(2.5)));
        assert_eq!(row.status, Status::Missed);
        assert_eq!(row.clone().baseline_missing("x").status, Status::Missed);
        let row = Row::new("info", "MB", Some(2.6), None, None);
        assert_eq!(row.status, Status::Info);
    }

    #[test]
    fn at_least_targets_and_rows_without_a_baseline() {
        let row = Row::ours_only(
            "events/s",
            "ev/s",
            Some(12_000.0),
            Some(Target::AtLeast(10_000.0)),
        );
        assert_eq!(row.status, Status::Met);
        let row = Row::ours_only(
            "events/s",
            "ev/s",
            Some(9_000.0),
            Some(Target::AtLeast(10_000.0)),
        );
        assert_eq!(row.status, Status::Missed);
        // A row of ours only says `none` in the baseline column; an unmeasured baseline `-`.
        let text = table(&[row, Row::new("p50", "µs", Some(1.0), None, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].contains(" none "), "{text}");
        assert!(lines[2].contains(">= 10,000 ev/s"), "{text}");
        assert!(!lines[3].contains("none"), "{text}");
        assert!(markdown(&[Row::ours_only("x", "ms", Some(1.0), None)]).contains("| none |"));
    }

    #[test]
    fn table_lists_every_row() {
        let rows = vec![
            Row::new(
                "instructions / invocation",
                "instr",
                Some(61234.0),
                Some(98765.0),
                Some(Target::RatioAtMost(0.7)),
            ),
            Row::skipped(
                "warm p50",
                "µs",
                Some(Target::RatioAtMost(0.5)),
                "server missing",
            ),
        ];
        let text = table(&rows);
        assert!(text.contains("61,234"), "{text}");
        assert!(text.contains("0.62x"), "{text}");
        assert!(text.contains("met"), "{text}");
        assert!(text.contains("SKIPPED: server missing"), "{text}");
        let md = markdown(&rows);
        assert_eq!(md.lines().count(), 4);
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(json[0]["target"]["kind"], "ratio_at_most");
        assert_eq!(json[1]["status"]["skipped"], "server missing");
    }

    #[test]
    fn numbers() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(0.0), "0");
    }
}
