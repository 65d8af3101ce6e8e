//! SigV4 reading and verification of a whole request: any method, path, query, headers and body must be
//! verified or refused with an error of authentication, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_security::sigv4::fuzzing::FuzzRequest;
use sluice_security::sigv4::SigningKeys;

fuzz_target!(|data: &[u8]| {
    FuzzRequest::new(data).check(&SigningKeys::default());
});
