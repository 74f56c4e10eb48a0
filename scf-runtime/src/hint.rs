//! Names the trigger a payload came from, for "this looks like a COS event" hints.

/// The trigger kind of `body` (`cos`, `apigw`, ...), when it is a recognisable SCF event.
pub(crate) fn trigger_of(body: &[u8]) -> Option<&'static str> {
    let _ = body;
    None
}
