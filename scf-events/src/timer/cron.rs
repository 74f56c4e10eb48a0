//! SCF's cron grammar: parse a timer trigger's schedule and compute its fire times.
//!
//! SCF recommends **seven fields** and still accepts the legacy **five**:
//!
//! ```text
//! 7 fields:  second minute hour day-of-month month day-of-week year
//! 5 fields:         minute hour day-of-month month day-of-week
//! ```
//!
//! | Field | Values | Also |
//! |---|---|---|
//! | second, minute | 0–59 | |
//! | hour | 0–23 | |
//! | day-of-month | 1–31 | `?`, `L` (last day), `nW` (nearest weekday), `LW` |
//! | month | 1–12 or `JAN`–`DEC` | |
//! | day-of-week | 0–6 or `SUN`–`SAT`, **0 = Sunday** (7 is also Sunday) | `?`, `nL` (last such weekday of the month), `n#k` (k-th such weekday) |
//! | year | 1970–2099 | |
//!
//! Every field takes `*`, lists (`1,3`), inclusive ranges (`9-17`) and steps (`*/5`, `10-40/10`,
//! and the docs' `0/10` = every 10 starting at 0). Names are case-insensitive. When both
//! day-of-month and day-of-week are restricted, a day matches if **either** matches; when one of
//! them is `*` or `?`, only the other counts.
//!
//! Evaluation works in any `chrono` time zone; SCF does not document which zone the platform uses,
//! so UTC is the natural default. Parsing and evaluation run on the
//! [`croner`](https://docs.rs/croner) crate.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use scf_events::timer::cron::Cron;
//!
//! let cron = Cron::parse("0 15 10 * * MON-FRI *").unwrap();
//! // 2024-06-07 is a Friday; the next weekday 10:15 after Friday 11:00 is Monday.
//! let after = Utc.with_ymd_and_hms(2024, 6, 7, 11, 0, 0).unwrap();
//! let next = cron.next_after(&after).unwrap();
//! assert_eq!(next, Utc.with_ymd_and_hms(2024, 6, 10, 10, 15, 0).unwrap());
//! assert_eq!(cron.to_string(), "0 15 10 * * MON-FRI *");
//!
//! let err = Cron::parse("0 61 * * * * *").unwrap_err();
//! assert_eq!(err.field(), Some(scf_events::timer::cron::CronField::Minute));
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone};
use croner::parser::{CronParser, Seconds, Year};

/// A field of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CronField {
    /// Seconds, 0–59 (seven-field form only).
    Second,
    /// Minutes, 0–59.
    Minute,
    /// Hours, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or `JAN`–`DEC`.
    Month,
    /// Day of the week, 0–6 (0 = Sunday) or `SUN`–`SAT`.
    DayOfWeek,
    /// Year, 1970–2099 (seven-field form only).
    Year,
}

impl CronField {
    /// The field's name as used in error messages, e.g. `day-of-month`.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const SEVEN: [CronField; 7] = [
    CronField::Second,
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
    CronField::Year,
];

const FIVE: [CronField; 5] = [
    CronField::Minute,
    CronField::Hour,
    CronField::DayOfMonth,
    CronField::Month,
    CronField::DayOfWeek,
];

/// Which of SCF's two layouts an expression uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CronForm {
    /// `second minute hour day-of-month month day-of-week year` (recommended).
    SevenField,
    /// `minute hour day-of-month month day-of-week` (legacy); fires at second 0, any year.
    FiveField,
}

impl CronForm {
    fn fields(self) -> &'static [CronField] {
        match self {
            CronForm::SevenField => &SEVEN,
            CronForm::FiveField => &FIVE,
        }
    }

    fn parser(self) -> CronParser {
        let (seconds, year) = match self {
            CronForm::SevenField => (Seconds::Required, Year::Required),
            CronForm::FiveField => (Seconds::Disallowed, Year::Disallowed),
        };
        CronParser::builder()
            .seconds(seconds)
            .year(year)
            .sloppy_ranges(true)
            .dom_and_dow(false)
            .alternative_weekdays(false)
            .build()
    }
}

/// Why an expression is not a valid SCF cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    expression: String,
    field: Option<CronField>,
    message: String,
}

impl CronError {
    fn new(expression: &str, field: Option<CronField>, message: impl Into<String>) -> Self {
        Self {
            expression: expression.to_owned(),
            field,
            message: message.into(),
        }
    }

    /// The field that is wrong, when one field is to blame.
    pub fn field(&self) -> Option<CronField> {
        self.field
    }

    /// The rejected expression, as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// What was wrong, without the expression.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid cron expression {:?}: ", self.expression)?;
        if let Some(field) = self.field {
            write!(f, "{field} field: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for CronError {}

/// A parsed SCF cron expression.
///
/// Two values are equal when their expressions are the same text (after trimming).
#[derive(Clone)]
pub struct Cron {
    expression: String,
    form: CronForm,
    schedule: croner::Cron,
}

impl Cron {
    /// Parses a seven-field or five-field SCF cron expression.
    ///
    /// The error names the offending field and what was wrong with it.
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let trimmed = expression.trim();
        let parts: Vec<&str> = trimmed.split_whitespace().collect();
        let form = match parts.len() {
            7 => CronForm::SevenField,
            5 => CronForm::FiveField,
            0 => return Err(CronError::new(expression, None, "the expression is empty")),
            n => {
                return Err(CronError::new(
                    expression,
                    None,
                    format!(
                        "expected 7 fields (second minute hour day-of-month month day-of-week year) \
                         or the legacy 5 (minute hour day-of-month month day-of-week), found {n}"
                    ),
                ));
            }
        };
        for (part, &field) in parts.iter().zip(form.fields()) {
            check_field_syntax(expression, field, part)?;
        }
        let parser = form.parser();
        let mut fields: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
        if form == CronForm::SevenField {
            fields[6] = anchor_year_steps(parts[6]);
        }
        let normalized = fields.join(" ");
        let schedule = match parser.parse(&normalized) {
            Ok(schedule) => schedule,
            Err(whole) => return Err(blame_field(expression, form, &parts, whole)),
        };
        Ok(Cron {
            expression: trimmed.to_owned(),
            form,
            schedule,
        })
    }

    /// Which layout the expression uses.
    pub fn form(&self) -> CronForm {
        self.form
    }

    /// The expression as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    /// Whether the schedule fires at `time` (to the second, in `time`'s zone).
    pub fn matches<Tz: TimeZone>(&self, time: &DateTime<Tz>) -> bool {
        self.schedule.is_time_matching(time).unwrap_or(false)
    }

    /// The first fire time strictly after `time`, in `time`'s zone.
    ///
    /// `None` when the schedule never fires again (for example its years are past, or it names a
    /// day that does not exist such as February 30).
    pub fn next_after<Tz: TimeZone>(&self, time: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        self.schedule.find_next_occurrence(time, false).ok()
    }

    /// Fire times strictly after `start`, in order, in `start`'s zone. The iterator ends when the
    /// schedule never fires again.
    pub fn iter_after<Tz: TimeZone>(&self, start: DateTime<Tz>) -> FireTimes<Tz> {
        FireTimes {
            cron: self.clone(),
            last: Some(start),
        }
    }
}

/// Checks the characters SCF allows in `field`, and the year range, before croner sees the field.
fn check_field_syntax(expression: &str, field: CronField, part: &str) -> Result<(), CronError> {
    let fail = |message: String| Err(CronError::new(expression, Some(field), message));
    // croner reads an empty list item as no value at all: a field that never matches, which
    // next_after would search for seconds before giving up.
    if part.split(',').any(str::is_empty) {
        return fail(format!("{part:?}: a list item is empty"));
    }
    if field == CronField::DayOfWeek && part.starts_with('+') {
        return fail(format!(
            "{part:?}: a leading '+' is not part of SCF's cron grammar"
        ));
    }
    if field == CronField::Year {
        if let Some(bad) = part
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/')))
        {
            return fail(format!("{part:?}: unexpected character {bad:?}"));
        }
        for item in part.split(',') {
            let range = item.split_once('/').map_or(item, |(range, _step)| range);
            for bound in range.split('-').filter(|b| !b.is_empty() && *b != "*") {
                match bound.parse::<u32>() {
                    Ok(year) if (1970..=2099).contains(&year) => {}
                    _ => return fail(format!("{bound:?} is not a year from 1970 to 2099")),
                }
            }
        }
    }
    Ok(())
}

/// Makes year steps count from SCF's first year: `*/2` is 1970, 1972, ... (croner alone would count
/// from year 1), and `2020/5` stops at 2099.
fn anchor_year_steps(field: &str) -> String {
    field
        .split(',')
        .map(|item| match item.split_once('/') {
            Some(("*", step)) => format!("1970-2099/{step}"),
            Some((start, step)) if !start.is_empty() && !start.contains('-') => {
                format!("{start}-2099/{step}")
            }
            _ => item.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Finds the field croner rejected by parsing each field alone in an otherwise valid expression.
fn blame_field(
    expression: &str,
    form: CronForm,
    parts: &[&str],
    whole: croner::errors::CronError,
) -> CronError {
    let parser = form.parser();
    let neutral: &[&str] = match form {
        CronForm::SevenField => &["0", "0", "0", "*", "*", "*", "*"],
        CronForm::FiveField => &["0", "0", "*", "*", "*"],
    };
    for (i, (&part, &field)) in parts.iter().zip(form.fields()).enumerate() {
        let mut probe = neutral.to_vec();
        probe[i] = part;
        if let Err(e) = parser.parse(&probe.join(" ")) {
            return CronError::new(
                expression,
                Some(field),
                format!("{part:?}: {}", describe(&e)),
            );
        }
    }
    CronError::new(expression, None, describe(&whole))
}

/// croner's message without its generic prefixes.
fn describe(error: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    match error {
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => m.clone(),
        other => other.to_string(),
    }
}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cron::parse(s)
    }
}

impl fmt::Display for Cron {
    /// Writes the expression back as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cron")
            .field("expression", &self.expression)
            .field("form", &self.form)
            .finish()
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl Eq for Cron {}

impl serde::Serialize for Cron {
    /// Serialises as the expression string.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.expression)
    }
}

impl<'de> serde::Deserialize<'de> for Cron {
    /// Parses an expression string; the error names the offending field.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Cron::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Iterator over a schedule's fire times, from [`Cron::iter_after`].
#[derive(Debug, Clone)]
pub struct FireTimes<Tz: TimeZone> {
    cron: Cron,
    last: Option<DateTime<Tz>>,
}

impl<Tz: TimeZone> Iterator for FireTimes<Tz> {
    type Item = DateTime<Tz>;

    fn next(&mut self) -> Option<DateTime<Tz>> {
        let last = self.last.take()?;
        let next = self.cron.next_after(&last)?;
        self.last = Some(next.clone());
        Some(next)
    }
}

impl<Tz: TimeZone> std::iter::FusedIterator for FireTimes<Tz> {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn an_empty_list_item_is_refused_in_every_field() {
        // "5 , * * * * *" parsed to a schedule without minutes, whose next_after took 13 s.
        for expression in [
            "5 , * * * * *",
            ", * * * * * *",
            "0 0 1,,2 * * * *",
            "0 0 0 ? * MON, *",
            "0 0 0 1 * ? 2030,",
            ", * * * *",
        ] {
            let err = Cron::parse(expression).unwrap_err();
            assert!(
                err.message().contains("a list item is empty"),
                "{expression}: {err}"
            );
            assert!(err.field().is_some(), "{expression}: {err}");
        }
        assert!(Cron::parse("5 1,2 * * * * *").is_ok());
    }

    #[test]
    fn field_count_is_checked() {
        for bad in [
            "",
            "   ",
            "* * * *",
            "* * * * * *",
            "* * * * * * * *",
            "@daily",
        ] {
            let e = Cron::parse(bad).unwrap_err();
            assert_eq!(e.field(), None, "{bad:?}");
        }
        assert!(
            Cron::parse("* * * * * *")
                .unwrap_err()
                .to_string()
                .contains("found 6")
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("60 * * * * * *", CronField::Second),
            ("0 61 * * * * *", CronField::Minute),
            ("0 0 24 * * * *", CronField::Hour),
            ("0 0 0 32 * * *", CronField::DayOfMonth),
            ("0 0 0 0 * * *", CronField::DayOfMonth),
            ("0 0 0 * 13 * *", CronField::Month),
            ("0 0 0 * * 8 *", CronField::DayOfWeek),
            ("0 0 0 * * +1 *", CronField::DayOfWeek),
            ("0 0 0 * * * 1969", CronField::Year),
            ("0 0 0 * * * 2100", CronField::Year),
            ("0 0 0 * * * 2020-2200", CronField::Year),
            ("0 0 0 * * * L", CronField::Year),
            ("0 */0 * * * * *", CronField::Minute),
            ("0 x * * * * *", CronField::Minute),
            ("0 0 0 ? * * W", CronField::Year),
            ("61 * * * *", CronField::Minute),
            ("* * * * FOO", CronField::DayOfWeek),
        ];
        for (expr, field) in cases {
            let e = Cron::parse(expr).unwrap_err();
            assert_eq!(e.field(), Some(field), "{expr}: {e}");
            assert!(e.to_string().contains(field.name()), "{e}");
            assert_eq!(e.expression(), expr);
        }
    }

    #[test]
    fn display_gives_back_the_expression() {
        for expr in [
            "*/5 * * * * * *",
            "0 15 10 * * mon-fri *",
            "0 0 12 * * WED *",
            "*/10 * * * *",
        ] {
            let cron: Cron = expr.parse().unwrap();
            assert_eq!(cron.to_string(), expr);
        }
        assert_eq!(Cron::parse("  0 0 * * *  ").unwrap().as_str(), "0 0 * * *");
    }

    #[test]
    fn serde_as_string() {
        let cron: Cron = serde_json::from_str("\"0 */5 * * * * *\"").unwrap();
        assert_eq!(serde_json::to_string(&cron).unwrap(), "\"0 */5 * * * * *\"");
        let e = serde_json::from_str::<Cron>("\"0 */5 * * * * 1800\"").unwrap_err();
        assert!(e.to_string().contains("year"), "{e}");
    }

    #[test]
    fn impossible_schedules_end() {
        let t = Utc::now();
        assert_eq!(Cron::parse("0 0 0 30 2 * *").unwrap().next_after(&t), None);
        assert_eq!(
            Cron::parse("0 0 0 * * * 1999").unwrap().next_after(&t),
            None
        );
        assert_eq!(
            Cron::parse("0 0 0 * * * 1999")
                .unwrap()
                .iter_after(t)
                .count(),
            0
        );
    }
}
