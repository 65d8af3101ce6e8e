//! The journal's record decoder on arbitrary payloads: never a panic, and whatever decodes encodes
//! back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    sluice_store::durable::fuzzing::decode_record(payload);
});
