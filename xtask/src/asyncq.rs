//! Durable async acceptance: events sent through the invoke API with `X-Scf-Invocation-Type:
//! Event`, each `202` answered once the event is on disk (the durable store fsyncs before it
//! acknowledges), then their accept-to-completion times from the store's own records
//! (`GET /async/events`, `created` to `ended`).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};

use crate::load::{Client, Target};
use crate::stats::Samples;

/// Events accepted by one run.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    /// Accepted events per second.
    pub(crate) rate: f64,
    /// The request ids of every `202`.
    pub(crate) ids: Vec<String>,
}

/// `clients` connections sending events back to back for `duration`; every answer must be a `202`.
pub(crate) async fn accept(
    target: &Target,
    clients: usize,
    duration: Duration,
) -> Result<Accepted> {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        connected.push(Client::connect(target).await?);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for mut client in connected {
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                ids.push(client.invoke_async().await?);
            }
            Ok::<_, anyhow::Error>(ids)
        });
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut ids = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        ids.extend(joined.context("an event client panicked")??);
    }
    // The last answers came in after the stop; count them over the time they took.
    let elapsed = started.elapsed();
    Ok(Accepted {
        rate: ids.len() as f64 / elapsed.as_secs_f64(),
        ids,
    })
}

/// Waits until every event in `ids` of `function` finished (within `patience`), then returns
/// their accept-to-completion times, ms, from the store's `created` and `ended`.
pub(crate) async fn completion(
    target: &Target,
    function: &str,
    ids: &[String],
    patience: Duration,
) -> Result<Samples> {
    let mut client = Client::connect(target).await?;
    let deadline = Instant::now() + patience;
    loop {
        let page = client
            .get_json(&format!(
                "/async/events?function={function}&status=RUNNING&limit=1"
            ))
            .await?;
        let running = page["total"]
            .as_u64()
            .ok_or_else(|| anyhow!("/async/events has no total: {page}"))?;
        if running == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{running} accepted events still RUNNING after {patience:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut found = 0usize;
    let mut times = Vec::with_capacity(ids.len());
    let mut offset = 0usize;
    const PAGE: usize = 1000;
    loop {
        let page = client
            .get_json(&format!(
                "/async/events?function={function}&order=asc&offset={offset}&limit={PAGE}"
            ))
            .await?;
        let events = page["events"]
            .as_array()
            .ok_or_else(|| anyhow!("/async/events has no events list"))?;
        for event in events {
            let id = event["request_id"].as_str().unwrap_or_default();
            if !wanted.contains(id) {
                continue;
            }
            found += 1;
            let status = event["status"].as_str().unwrap_or_default();
            if status != "FINISHED" {
                bail!("event {id} ended {status}: {event}");
            }
            let created = event["created"].as_str().and_then(millis_of);
            let ended = event["ended"].as_str().and_then(millis_of);
            match (created, ended) {
                (Some(created), Some(ended)) => times.push((ended - created) as f64),
                _ => bail!("event {id} has no readable created/ended times: {event}"),
            }
        }
        if events.len() < PAGE {
            break;
        }
        offset += PAGE;
    }
    if found != ids.len() {
        bail!(
            "{} of {} acknowledged events are missing from /async/events",
            ids.len() - found,
            ids.len()
        );
    }
    Ok(Samples::new(times))
}

/// Milliseconds since the epoch of a store time, `%Y-%m-%d %H:%M:%S.%f` UTC.
fn millis_of(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    let mut date = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(str::parse::<i64>);
    let (hour, minute, second) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    // The fraction's first three digits are the milliseconds.
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    let millis: i64 = digits.parse().ok()?;
    let days = days_from_civil(year, month, day);
    Some((((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_store_times() {
        assert_eq!(millis_of("1970-01-01 00:00:00.000000"), Some(0));
        assert_eq!(
            millis_of("2023-11-14 22:13:20.250000"),
            Some(1_700_000_000_250)
        );
        // Across midnight and a leap day.
        let before = millis_of("2024-02-29 23:59:59.999000").unwrap();
        let after = millis_of("2024-03-01 00:00:00.001000").unwrap();
        assert_eq!(after - before, 2);
        assert_eq!(millis_of("yesterday"), None);
    }
}
