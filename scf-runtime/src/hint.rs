//! Names the trigger a payload came from, for "this looks like a COS event" hints.

/// A phrase naming the trigger `body` looks like (`a COS event`, `an API Gateway request`,
/// ...), when it is a recognisable SCF event. Only called when an event failed to
/// deserialise, so the second parse it does costs nothing on the normal path.
#[cfg(feature = "hint")]
pub(crate) fn trigger_of(body: &[u8]) -> Option<&'static str> {
    scf_events::detect_slice(body).and_then(scf_events::describe_kind)
}

/// Without the `hint` feature no trigger is ever named.
#[cfg(not(feature = "hint"))]
pub(crate) fn trigger_of(_body: &[u8]) -> Option<&'static str> {
    None
}

#[cfg(all(test, feature = "hint"))]
mod tests {
    use super::trigger_of;

    #[test]
    fn names_recognised_triggers_only() {
        assert_eq!(
            trigger_of(br#"{"Records":[{"cos":{},"event":{}}]}"#),
            Some("a COS event")
        );
        assert_eq!(
            trigger_of(br#"{"Type":"Timer","TriggerName":"t","Time":"x","Message":""}"#),
            Some("a timer event")
        );
        assert_eq!(trigger_of(br#"{"id":1}"#), None);
        assert_eq!(trigger_of(b"[1,2]"), None);
        assert_eq!(trigger_of(b"not json"), None);
    }
}
