//! Timer schedules in real time: a trigger every second fires about once a second, each fire an
//! asynchronous invocation carrying the Timer event shape.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use scf_runtime_server::config::{TimerTrigger, TimerTriggerConfig};
use scf_runtime_server::fault::{Fault, InvokeError};
use scf_runtime_server::host::Invoker;
use scf_runtime_server::triggers::TimerSet;
use serde_json::Value;

/// Records every async invocation.
#[derive(Clone, Default)]
struct Recorder {
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Invoker for Recorder {
    async fn invoke(&self, _: &str, _: Bytes) -> Result<Bytes, InvokeError> {
        Err(Fault::Internal.error("timers invoke asynchronously only"))
    }

    async fn invoke_async(&self, function: &str, payload: Bytes) -> Result<String, InvokeError> {
        let event = serde_json::from_slice(&payload).expect("timer events are JSON");
        self.events
            .lock()
            .unwrap()
            .push((function.to_owned(), event));
        Ok("rid".to_owned())
    }
}

#[tokio::test]
async fn a_timer_every_second_fires_n_times_in_n_seconds() {
    let config = TimerTriggerConfig {
        name: "every-second".into(),
        cron: "* * * * * * *".into(),
        message: Some(r#"{"job":"tick"}"#.into()),
        timezone: Some("Asia/Shanghai".into()),
    };
    let trigger = TimerTrigger::new("ticker", &config).unwrap();
    let recorder = Recorder::default();
    let timers = TimerSet::start([trigger], recorder.clone());
    assert_eq!(timers.len(), 1);
    let n = 3;
    tokio::time::sleep(Duration::from_secs(n)).await;
    drop(timers);
    let events = recorder.events.lock().unwrap().clone();
    let fired = events.len() as u64;
    assert!(
        (n - 1..=n + 1).contains(&fired),
        "{fired} fires in {n} s: {events:?}"
    );
    let mut times = Vec::new();
    for (function, event) in &events {
        assert_eq!(function, "ticker");
        let keys: Vec<&String> = event.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4, "{event}");
        assert_eq!(event["Type"], "Timer");
        assert_eq!(event["TriggerName"], "every-second");
        assert_eq!(event["Message"], r#"{"job":"tick"}"#);
        let time = event["Time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.len() == 20, "{time}");
        times.push(chrono::DateTime::parse_from_rfc3339(time).unwrap());
    }
    for pair in times.windows(2) {
        assert_eq!((pair[1] - pair[0]).num_seconds(), 1, "{times:?}");
    }
    // Stopped: no more fires once the set is dropped.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(recorder.events.lock().unwrap().len() as u64, fired);
}
