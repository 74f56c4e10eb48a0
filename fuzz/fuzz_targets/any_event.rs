//! `AnyEvent`: any JSON parses (only non-JSON fails), the kind agrees with `detect`, is one of
//! `KINDS`, and a serialise/parse round trip gives the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_events::{AnyEvent, KINDS, describe_kind, detect_slice};

fuzz_target!(|data: &[u8]| {
    let is_json = serde_json::from_slice::<serde_json::Value>(data).is_ok();
    let event = match AnyEvent::from_slice(data) {
        Ok(event) => event,
        Err(_) => {
            assert!(!is_json, "AnyEvent refused valid JSON");
            assert_eq!(detect_slice(data), None);
            return;
        }
    };
    assert!(is_json, "AnyEvent accepted what serde_json refuses");
    let kind = event.kind();
    assert!(KINDS.contains(&kind), "{kind}");
    assert!(describe_kind(kind).is_some(), "{kind}");
    let detected = detect_slice(data).unwrap_or("custom");
    assert!(
        kind == detected || event.is_custom(),
        "{kind} vs detected {detected}"
    );
    let value = event.to_value().expect("an event serialises");
    let again = AnyEvent::from_value(value.clone());
    assert_eq!(again, event, "changed by a round trip through {value}");
    let text = serde_json::to_vec(&event).expect("an event serialises");
    let reparsed = AnyEvent::from_slice(&text).expect("an event's JSON parses");
    assert_eq!(reparsed.kind(), kind);
});
