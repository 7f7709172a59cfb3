//! Any frame a client can send must parse or fail cleanly, and whatever parses must
//! re-serialize and parse again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_wire::persistent_compute::ClientMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = sightline_wire::from_json_slice::<ClientMessage>(data) {
        let json = serde_json::to_string(&message).expect("our types serialize");
        let again: ClientMessage = sightline_wire::from_json(&json).expect("re-parse");
        assert_eq!(
            serde_json::to_value(&again).ok(),
            serde_json::to_value(&message).ok()
        );
    }
});
