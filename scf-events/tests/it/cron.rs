//! `timer::cron`: SCF's 7-field and 5-field cron, checked by hand and against croner itself.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use scf_events::timer::cron::{Cron, CronField, CronForm};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// The first `n` fire times after `start`.
fn next_n(expr: &str, start: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    Cron::parse(expr)
        .unwrap_or_else(|e| panic!("{e}"))
        .iter_after(start)
        .take(n)
        .collect()
}

#[test]
fn every_second() {
    let start = utc(2024, 6, 1, 12, 0, 0) + Duration::milliseconds(500);
    let got = next_n("* * * * * * *", start, 3);
    assert_eq!(
        got,
        [
            utc(2024, 6, 1, 12, 0, 1),
            utc(2024, 6, 1, 12, 0, 2),
            utc(2024, 6, 1, 12, 0, 3)
        ]
    );
}

#[test]
fn next_after_is_strictly_after() {
    let cron = Cron::parse("0 */1 * * * * *").unwrap();
    let on_the_minute = utc(2024, 6, 1, 10, 15, 0);
    assert!(cron.matches(&on_the_minute));
    assert_eq!(
        cron.next_after(&on_the_minute),
        Some(utc(2024, 6, 1, 10, 16, 0))
    );
    assert_eq!(
        next_n("0 */1 * * * * *", utc(2024, 6, 1, 10, 15, 30), 2),
        [utc(2024, 6, 1, 10, 16, 0), utc(2024, 6, 1, 10, 17, 0)]
    );
}

#[test]
fn documented_examples() {
    // every 5 seconds
    assert_eq!(
        next_n("*/5 * * * * * *", utc(2024, 1, 1, 0, 0, 3), 3),
        [
            utc(2024, 1, 1, 0, 0, 5),
            utc(2024, 1, 1, 0, 0, 10),
            utc(2024, 1, 1, 0, 0, 15)
        ]
    );
    // 10:15 on the 1st of each month
    assert_eq!(
        next_n("0 15 10 1 * * *", utc(2024, 1, 1, 10, 15, 0), 2),
        [utc(2024, 2, 1, 10, 15, 0), utc(2024, 3, 1, 10, 15, 0)]
    );
    // 10:15 on weekdays: Friday 2024-06-07 11:00 -> Monday, Tuesday
    assert_eq!(
        next_n("0 15 10 * * MON-FRI *", utc(2024, 6, 7, 11, 0, 0), 2),
        [utc(2024, 6, 10, 10, 15, 0), utc(2024, 6, 11, 10, 15, 0)]
    );
    // 10:00, 14:00, 16:00 every day
    assert_eq!(
        next_n("0 0 10,14,16 * * * *", utc(2024, 6, 1, 10, 0, 0), 3),
        [
            utc(2024, 6, 1, 14, 0, 0),
            utc(2024, 6, 1, 16, 0, 0),
            utc(2024, 6, 2, 10, 0, 0)
        ]
    );
    // every half hour from 9 to 17
    assert_eq!(
        next_n("0 */30 9-17 * * * *", utc(2024, 6, 1, 17, 30, 0), 2),
        [utc(2024, 6, 2, 9, 0, 0), utc(2024, 6, 2, 9, 30, 0)]
    );
    assert_eq!(
        next_n("0 */30 9-17 * * * *", utc(2024, 6, 1, 9, 10, 0), 1),
        [utc(2024, 6, 1, 9, 30, 0)]
    );
    // noon every Wednesday (2024-06-05 is a Wednesday)
    assert_eq!(
        next_n("0 0 12 * * WED *", utc(2024, 6, 5, 12, 0, 0), 2),
        [utc(2024, 6, 12, 12, 0, 0), utc(2024, 6, 19, 12, 0, 0)]
    );
}

#[test]
fn zero_is_sunday() {
    // 2024-06-09 is a Sunday.
    let start = utc(2024, 6, 3, 0, 0, 0);
    for expr in [
        "0 0 0 * * 0 *",
        "0 0 0 * * SUN *",
        "0 0 0 * * sun *",
        "0 0 0 * * 7 *",
        "0 0 * * 0",
    ] {
        assert_eq!(next_n(expr, start, 1), [utc(2024, 6, 9, 0, 0, 0)], "{expr}");
    }
    // 1 = Monday, 6 = Saturday
    assert_eq!(
        next_n("0 0 0 * * 1 *", start, 1),
        [utc(2024, 6, 10, 0, 0, 0)]
    );
    assert_eq!(
        next_n("0 0 0 * * 6 *", start, 1),
        [utc(2024, 6, 8, 0, 0, 0)]
    );
}

#[test]
fn day_of_month_or_day_of_week() {
    // The 13th OR any Friday. From Saturday 2024-06-01: Fri 7th, Thu 13th, Fri 14th, Fri 21st.
    assert_eq!(
        next_n("0 0 0 13 * 5 *", utc(2024, 6, 1, 0, 0, 0), 4),
        [
            utc(2024, 6, 7, 0, 0, 0),
            utc(2024, 6, 13, 0, 0, 0),
            utc(2024, 6, 14, 0, 0, 0),
            utc(2024, 6, 21, 0, 0, 0)
        ]
    );
    // With one side `*` or `?`, only the other counts.
    assert_eq!(
        next_n("0 0 0 13 * * *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 13, 0, 0, 0)]
    );
    assert_eq!(
        next_n("0 0 0 13 * ? *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 13, 0, 0, 0)]
    );
    assert_eq!(
        next_n("0 0 0 ? * 5 *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 7, 0, 0, 0)]
    );
}

#[test]
fn last_day_nearest_weekday_and_nth_weekday() {
    // Last day of the month, across a leap February.
    assert_eq!(
        next_n("0 0 0 L * ? *", utc(2024, 2, 1, 0, 0, 0), 3),
        [
            utc(2024, 2, 29, 0, 0, 0),
            utc(2024, 3, 31, 0, 0, 0),
            utc(2024, 4, 30, 0, 0, 0)
        ]
    );
    // Last Friday of June 2024 is the 28th.
    assert_eq!(
        next_n("0 0 0 ? * 5L *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 28, 0, 0, 0)]
    );
    // Third Friday of June 2024 is the 21st.
    assert_eq!(
        next_n("0 0 0 ? * 5#3 *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 21, 0, 0, 0)]
    );
    // 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th.
    assert_eq!(
        next_n("0 0 0 15W * ? *", utc(2024, 6, 1, 0, 0, 0), 1),
        [utc(2024, 6, 14, 0, 0, 0)]
    );
}

#[test]
fn year_field() {
    let got = next_n("0 0 0 1 1 * 2030", utc(2024, 6, 1, 0, 0, 0), 5);
    assert_eq!(got, [utc(2030, 1, 1, 0, 0, 0)], "one fire, then none");
    assert_eq!(
        next_n("0 0 0 1 1 * 2025-2027", utc(2024, 6, 1, 0, 0, 0), 5),
        [
            utc(2025, 1, 1, 0, 0, 0),
            utc(2026, 1, 1, 0, 0, 0),
            utc(2027, 1, 1, 0, 0, 0)
        ]
    );
    assert_eq!(
        next_n("0 0 0 1 1 * 2025,2099", utc(2024, 6, 1, 0, 0, 0), 5),
        [utc(2025, 1, 1, 0, 0, 0), utc(2099, 1, 1, 0, 0, 0)]
    );
    // Year steps count from 1970, as in Quartz: even years.
    assert_eq!(
        next_n("0 0 0 1 1 * */2", utc(2024, 6, 1, 0, 0, 0), 2),
        [utc(2026, 1, 1, 0, 0, 0), utc(2028, 1, 1, 0, 0, 0)]
    );
    assert_eq!(
        next_n("0 0 0 1 1 * 2090/5", utc(2024, 6, 1, 0, 0, 0), 5),
        [utc(2090, 1, 1, 0, 0, 0), utc(2095, 1, 1, 0, 0, 0)]
    );
    let cron = Cron::parse("0 0 0 1 1 * 1999").unwrap();
    assert_eq!(cron.next_after(&utc(2024, 1, 1, 0, 0, 0)), None);
}

#[test]
fn sloppy_steps_from_the_docs() {
    // `1/10` in minutes = 1, 11, 21, ...
    assert_eq!(
        next_n("0 1/10 * * * * *", utc(2024, 6, 1, 0, 0, 0), 3),
        [
            utc(2024, 6, 1, 0, 1, 0),
            utc(2024, 6, 1, 0, 11, 0),
            utc(2024, 6, 1, 0, 21, 0)
        ]
    );
    assert_eq!(
        next_n("0/10 * * * * * *", utc(2024, 6, 1, 0, 0, 0), 2),
        [utc(2024, 6, 1, 0, 0, 10), utc(2024, 6, 1, 0, 0, 20)]
    );
    assert_eq!(
        next_n("0 10-40/10 * * * * *", utc(2024, 6, 1, 0, 35, 0), 2),
        [utc(2024, 6, 1, 0, 40, 0), utc(2024, 6, 1, 1, 10, 0)]
    );
}

#[test]
fn legacy_five_fields() {
    let cron = Cron::parse("*/10 * * * *").unwrap();
    assert_eq!(cron.form(), CronForm::FiveField);
    assert_eq!(
        next_n("*/10 * * * *", utc(2024, 6, 1, 0, 0, 30), 2),
        [utc(2024, 6, 1, 0, 10, 0), utc(2024, 6, 1, 0, 20, 0)]
    );
    // 09:00 on weekdays; from Saturday 2024-06-08 -> Monday the 10th.
    assert_eq!(
        next_n("0 9 * * 1-5", utc(2024, 6, 8, 0, 0, 0), 1),
        [utc(2024, 6, 10, 9, 0, 0)]
    );
    assert_eq!(
        next_n("30 8 1 jan *", utc(2024, 6, 8, 0, 0, 0), 1),
        [utc(2025, 1, 1, 8, 30, 0)]
    );
    assert_eq!(
        Cron::parse("0 0 * * * * *").unwrap().form(),
        CronForm::SevenField
    );
}

#[test]
fn month_names_any_case() {
    assert_eq!(
        next_n("0 0 0 1 jan,Jul * *", utc(2024, 2, 1, 0, 0, 0), 2),
        [utc(2024, 7, 1, 0, 0, 0), utc(2025, 1, 1, 0, 0, 0)]
    );
    assert_eq!(
        next_n("0 0 0 1 MAR-APR * *", utc(2024, 3, 1, 0, 0, 0), 1),
        [utc(2024, 4, 1, 0, 0, 0)]
    );
}

#[test]
fn time_zones() {
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let start = cst.with_ymd_and_hms(2024, 6, 1, 10, 0, 0).unwrap();
    let cron = Cron::parse("0 0 9 * * * *").unwrap();
    let next = cron.next_after(&start).unwrap();
    // 09:00 local the next day, i.e. 01:00 UTC.
    assert_eq!(next, cst.with_ymd_and_hms(2024, 6, 2, 9, 0, 0).unwrap());
    assert_eq!(next.with_timezone(&Utc), utc(2024, 6, 2, 1, 0, 0));
    // The same schedule in UTC fires at a different instant.
    assert_eq!(
        cron.next_after(&utc(2024, 6, 1, 2, 0, 0)),
        Some(utc(2024, 6, 1, 9, 0, 0))
    );
    let times: Vec<_> = cron.iter_after(start).take(2).collect();
    assert_eq!(times[1] - times[0], Duration::days(1));
}

#[test]
fn matches_checks_every_field() {
    let cron = Cron::parse("30 15 10 * * MON-FRI 2024").unwrap();
    assert!(cron.matches(&utc(2024, 6, 10, 10, 15, 30)));
    assert!(!cron.matches(&utc(2024, 6, 10, 10, 15, 31)));
    assert!(!cron.matches(&utc(2024, 6, 9, 10, 15, 30)), "Sunday");
    assert!(!cron.matches(&utc(2025, 6, 10, 10, 15, 30)), "year");
}

#[test]
fn errors_are_specific() {
    let e = Cron::parse("0 0 25 * * * *").unwrap_err();
    assert_eq!(e.field(), Some(CronField::Hour));
    let text = e.to_string();
    assert!(
        text.contains("hour") && text.contains("\"25\"") && text.contains("0 0 25 * * * *"),
        "{text}"
    );

    let e = Cron::parse("0 0 * * * * 3000").unwrap_err();
    assert_eq!(e.field(), Some(CronField::Year));
    assert!(e.message().contains("1970 to 2099"), "{e}");

    let e = Cron::parse("0 0 * * *  *").unwrap_err();
    assert!(e.message().contains("found 6"), "{e}");
}

/// Our seven-field parse must schedule exactly like croner's own six-field parse of the same
/// seconds..day-of-week fields (year `*`), over many fire times.
#[test]
fn agrees_with_croner_defaults() {
    use std::str::FromStr;
    let exprs = [
        "*/7 * * * * *",
        "0 */13 * * * *",
        "15 30 9-17/2 * * 1-5",
        "0 0 0 13 * 5",
        "0 0 12 L * *",
        "0 0 6 ? * 0",
        "0 45 23 * 2,8 *",
        "5,10,15 0 0 1,15 * *",
    ];
    let start = utc(2023, 12, 30, 23, 59, 50);
    for six in exprs {
        let ours = Cron::parse(&format!("{six} *")).unwrap();
        let theirs = croner::Cron::from_str(six).unwrap();
        let mine: Vec<_> = ours.iter_after(start).take(50).collect();
        let reference: Vec<_> = theirs.iter_after(start).take(50).collect();
        assert_eq!(mine.len(), 50, "{six}");
        assert_eq!(mine, reference, "{six}");
    }
}
