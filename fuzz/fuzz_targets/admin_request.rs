//! What the admin listener reads from a client besides SQS requests: the body of a console action
//! (the first byte picks the action, the rest is the body) and an `Authorization: Basic` header (the
//! whole input as text). Any input must decode or fail with an error that renders, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_protocol::Protocol;

const ACTIONS: [&str; 4] = ["ListQueues", "PeekMessages", "GetQueueHistory", "Unknown"];

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, body)) = data.split_first() {
        let action = ACTIONS[usize::from(pick) % ACTIONS.len()];
        if let Err(error) = sluice_protocol::decode_console(action, body) {
            let _ = sluice_protocol::encode_error(Protocol::Json, &error, "fuzz");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some((access_key_id, _)) = sluice_security::basic_credentials(text) {
            assert!(!access_key_id.contains(':'));
        }
    }
});
