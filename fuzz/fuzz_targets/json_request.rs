//! The AWS JSON 1.0 decoder: an `X-Amz-Target` operation and a body, as a client sends them. The first
//! byte picks the operation; the rest is the body. Any input must decode or fail with an error that
//! renders, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_model::Operation;
use sluice_protocol::Protocol;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let operation = Operation::ALL[usize::from(pick) % Operation::ALL.len()];
    if let Err(error) = sluice_protocol::decode_json(operation, body) {
        let _ = sluice_protocol::encode_error(Protocol::Json, &error, "fuzz");
    }
    if let Ok(target) = std::str::from_utf8(body) {
        let _ = sluice_protocol::operation_from_target(target);
    }
});
