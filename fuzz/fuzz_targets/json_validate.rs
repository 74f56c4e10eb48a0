//! `scf_events::json::validate`, the server's check of every event it accepts, gives exactly
//! the verdict of the function side's parse (`serde_json::from_slice::<Value>`), on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let checked = scf_events::json::validate(data);
    let parsed = serde_json::from_slice::<serde_json::Value>(data);
    assert_eq!(
        checked.is_ok(),
        parsed.is_ok(),
        "validate: {checked:?}, parse: {:?}",
        parsed.as_ref().err()
    );
    if let Ok(value) = parsed {
        // What a function may answer with goes through the same check on the way back.
        let text = serde_json::to_vec(&value).expect("a value serialises");
        scf_events::json::validate(&text).expect("a serialised value validates");
    }
});
